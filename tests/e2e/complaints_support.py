"""Helpers shared by the complaint tests: a project with its people (from
repairs_support.world, plus a service-desk member, an agent and staff of
another project), filing complaints and reading rows back."""
import secrets
from dataclasses import dataclass

from repairs_support import Person, named_user, world


@dataclass
class CWorld:
    w: object            # repairs_support.World: owners, engineers, supervisor, manager
    service: Person      # 客服 of the project
    agent: Person        # agent of the project
    other_service: Person     # 客服 of another project
    other_supervisor: Person  # supervisor of another project
    admin: Person
    other_project: int


def cworld(factory, db):
    w = world(factory, db)
    other = factory.project()
    return CWorld(
        w=w,
        service=named_user(factory, db, "客服", roles=[("service", w.project_id)]),
        agent=named_user(factory, db, "顾问", roles=[("agent", w.project_id)]),
        other_service=named_user(factory, db, "别的客服", roles=[("service", other)]),
        other_supervisor=named_user(factory, db, "别的主管", roles=[("supervisor", other)]),
        admin=named_user(factory, db, "管理员", roles=[("admin", 0)]),
        other_project=other,
    )


def file_complaint(api, token, body, key=None):
    return api.post("/api/v1/complaints", token=token, json=body,
                    headers={"Idempotency-Key": key or secrets.token_hex(12)})


def body(cw, unit=None, type="complaint", category="noise", content="楼上每晚装修到十一点，影响休息", **extra):
    b = {"type": type, "category": category, "content": content}
    if unit != 0:  # 0: no unit (project_id names the project)
        b["unit_id"] = unit or cw.w.unit_a
    b.update(extra)
    return b


def new_complaint(api, cw, owner=None, unit=None, **kw):
    owner = owner or cw.w.owner_a
    if unit is None:
        unit = cw.w.unit_a if owner is cw.w.owner_a else cw.w.unit_b
    r = file_complaint(api, owner.token, body(cw, unit=unit, **kw))
    assert r.status_code == 201, r.text
    return r.json()["data"]


def staff(api, person, cid, action, payload=None):
    return api.post(f"/api/v1/admin/complaints/{cid}/{action}", token=person.token, json=payload or {})


def owner_act(api, person, cid, action, payload=None):
    return api.post(f"/api/v1/complaints/{cid}/{action}", token=person.token, json=payload or {})


def row(db, cid):
    return db.one("SELECT * FROM complaints WHERE id = %s", (cid,))


def timeline(db, cid):
    return db.query("SELECT * FROM complaint_timeline WHERE complaint_id = %s ORDER BY id", (cid,))


def events(db, cid, kind=None, user_id=None):
    sql = "SELECT * FROM notification_events WHERE ref_type = 'complaint' AND ref_id = %s"
    args = [cid]
    if kind:
        sql += " AND kind = %s"
        args.append(kind)
    if user_id:
        sql += " AND user_id = %s"
        args.append(user_id)
    return db.query(sql + " ORDER BY id", args)


def count(db, table="complaints", where="1", args=()):
    return db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", args)
