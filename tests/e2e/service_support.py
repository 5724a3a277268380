"""Helpers shared by the service-desk tests: a project with owners, a
service-desk member (客服) and the people who must be refused."""
import secrets
from dataclasses import dataclass

from conftest import unique_phone
from repairs_support import Person, named_user, world


@dataclass
class Desk:
    w: object          # repairs_support.World: owners A and B, engineers, a supervisor
    service: Person    # 客服 of the project
    other: Person      # 客服 of another project
    engineer: Person
    agent: Person
    admin: Person
    other_project: int


def desk(factory, db):
    w = world(factory, db)
    other_project = factory.project()
    service = named_user(factory, db, "客服小王", roles=[("service", w.project_id)])
    other = named_user(factory, db, "外项目客服", roles=[("service", other_project)])
    agent = named_user(factory, db, "置业顾问", roles=[("agent", w.project_id)])
    admin = named_user(factory, db, "管理员", roles=[("admin", 0)])
    return Desk(w, service, other, w.engineers[0], agent, admin, other_project)


def phone_of(db, user_id):
    return db.scalar("SELECT phone FROM users WHERE id = %s", (user_id,))


def lookup(api, person, phone, **params):
    return api.get("/api/v1/service/customers", token=person.token, params=dict(phone=phone, **params))


def file_for(api, person, body, key=None):
    return api.post("/api/v1/service/repairs", token=person.token, json=body,
                    headers={"Idempotency-Key": key or secrets.token_hex(12)})


def filing_body(d, user=None, unit=None, channel="hotline", description="厨房水槽下水管漏水，柜子里有积水", **extra):
    body = {"user_id": (user or d.w.owner_a).id, "unit_id": unit or d.w.unit_a, "channel": channel,
            "category": d.w.category, "description": description}
    body.update(extra)
    return body


def lead(db, project_id, phone, name="意向客户", user_id=None):
    return db.exec("INSERT INTO leads (project_id, name, phone, user_id, consent_at) VALUES (%s, %s, %s, %s, NOW(3))",
                   (project_id, name, phone, user_id))


__all__ = ["Desk", "desk", "phone_of", "lookup", "file_for", "filing_body", "lead", "unique_phone"]
