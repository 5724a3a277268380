"""Helpers shared by the repair-ticket tests: a project with its people and
a category of its own, filing tickets, photos through POST /api/v1/uploads,
and reading events and timeline rows back."""
import secrets
from dataclasses import dataclass, field

from conftest import unique
from conftest import wait_for  # noqa: F401  (the shared poller, for the repair tests)
from media_support import base_jpeg, upload


@dataclass
class Person:
    id: int
    token: str


@dataclass
class World:
    """A fresh project: two owners on two units, engineers in the dispatch
    group, a supervisor, a project manager and a category with its clocks."""
    project_id: int
    building_id: int
    category_id: int
    category: str
    owner_a: Person
    unit_a: int
    owner_b: Person
    unit_b: int
    engineers: list
    supervisor: Person
    manager: Person
    group_id: int
    extra: dict = field(default_factory=dict)


def category(db, accept_s=7200, arrive_s=86400, resolve_s=259200, warranty_months=24, name=None):
    """A category of its own (code, id), so a test's clocks are its own."""
    code = unique("cat_")[:32]
    cid = db.exec("INSERT INTO repair_categories (code, name, sort_order, warranty_months, accept_within_s,"
                  " arrive_within_s, resolve_within_s) VALUES (%s, %s, 100, %s, %s, %s, %s)",
                  (code, name or f"类{code[-6:]}", warranty_months, accept_s, arrive_s, resolve_s))
    return code, cid


def named_user(factory, db, name, roles=()):
    uid, token = factory.user(roles=roles)
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", (name, uid))
    return Person(uid, token)


def world(factory, db, engineers=1, handover_date="2024-06-30", rule=True, **clocks):
    pid = factory.project()
    bid = factory.building(pid)
    code, cid = category(db, **clocks)
    owners = []
    for _ in range(2):
        unit = factory.unit(building_id=bid, handover_date=handover_date)
        phone = factory.owner(unit)
        uid, token = factory.user(phone=phone)
        owners.append((Person(uid, token), unit))
    engs = [named_user(factory, db, f"师傅{i}", roles=[("engineer", pid)]) for i in range(engineers)]
    sup = named_user(factory, db, "主管", roles=[("supervisor", pid)])
    mgr = named_user(factory, db, "经理", roles=[("supervisor", pid)])
    db.exec("INSERT INTO project_managers (project_id, user_id) VALUES (%s, %s)", (pid, mgr.id))
    gid = db.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, %s)", (pid, unique("组")))
    for e in engs:
        db.exec("INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (%s, %s)", (gid, e.id))
    if rule:
        db.exec("INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id)"
                " VALUES (%s, 0, 0, %s)", (pid, gid))
    return World(pid, bid, cid, code, owners[0][0], owners[0][1], owners[1][0], owners[1][1], engs, sup, mgr, gid)


def ticket_body(w, unit=None, description="卫生间地漏反水，楼下天花板有水渍", photo_ids=(), **extra):
    body = {"unit_id": unit or w.unit_a, "category": w.category, "description": description,
            "photo_ids": list(photo_ids)}
    body.update(extra)
    return body


def file_ticket(api, token, body, key=None, base=None):
    return api.post("/api/v1/repairs", token=token, json=body, base=base,
                    headers={"Idempotency-Key": key or secrets.token_hex(12)})


def new_ticket(api, w, owner=None, **kw):
    """Files a ticket for owner A (or owner) and returns its data."""
    owner = owner or w.owner_a
    unit = w.unit_a if owner is w.owner_a else w.unit_b
    r = file_ticket(api, owner.token, ticket_body(w, unit=unit, **kw))
    assert r.status_code == 201, r.text
    return r.json()["data"]


def photo(api, stack, person):
    """A real upload through POST /api/v1/uploads; returns its id."""
    r = upload(api, stack.gateway, person.token, base_jpeg())
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def hide_photo(db, upload_id):
    """What a risky verdict of the content check does to a ticket's photo
    (gateway/media_check.c, tested through the push in test_media.py): the
    upload hidden, and its ticket's row written with it."""
    db.exec("UPDATE uploads u LEFT JOIN repair_tickets t ON t.id = u.ticket_id SET u.hidden = 1,"
            " t.updated_at = GREATEST(NOW(3), t.updated_at + INTERVAL 1000 MICROSECOND) WHERE u.id = %s",
            (upload_id,))


def act(api, person, ticket_id, action, body=None):
    return api.post(f"/api/v1/repairs/{ticket_id}/{action}", token=person.token, json=body or {})


def events(db, ticket_id, kind=None, user_id=None):
    sql = "SELECT * FROM notification_events WHERE ref_type = 'repair' AND ref_id = %s"
    args = [ticket_id]
    if kind:
        sql += " AND kind = %s"
        args.append(kind)
    if user_id:
        sql += " AND user_id = %s"
        args.append(user_id)
    return db.query(sql + " ORDER BY id", args)


def timeline(db, ticket_id):
    return db.query("SELECT * FROM repair_timeline WHERE ticket_id = %s ORDER BY id", (ticket_id,))


def ticket_row(db, ticket_id):
    return db.one("SELECT * FROM repair_tickets WHERE id = %s", (ticket_id,))
