"""Shared by the administration API tests: the seven callers of a project,
PATCH, and the audit rows of an object."""
import json
from dataclasses import dataclass


@dataclass
class Callers:
    project: int
    other_project: int
    admin: str
    supervisor: str
    other_supervisor: str
    agent: str
    engineer: str
    owner: str
    admin_id: int
    supervisor_id: int


def callers(factory):
    """A project, another one, and a caller of each kind: admin, the
    project's supervisor, another project's supervisor, an agent and an
    engineer of the project, an owner of one of its units."""
    project, other = factory.project(), factory.project()
    admin_id, admin = factory.user(roles=[("admin", 0)])
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    _, other_sup = factory.user(roles=[("supervisor", other)])
    _, agent = factory.user(roles=[("agent", project)])
    _, engineer = factory.user(roles=[("engineer", project)])
    _, owner, _, _ = factory.owner_user(project)
    return Callers(project, other, admin, sup, other_sup, agent, engineer, owner, admin_id, sup_id)


def refused(api, k, requests):
    """Each (method, path, body) is 401 without a login and 403 for the
    project's agent, engineer and owner (the route is for supervisors and
    admins)."""
    for method, path, body in requests:
        r = api.request(method, path, json=body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHENTICATED", (method, path, r.text)
        for token in (k.agent, k.engineer, k.owner):
            r = api.request(method, path, json=body, token=token)
            assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN", (method, path, r.text)


def patch(api, path, **kw):
    return api.request("PATCH", path, **kw)


def audit_rows(db, target_type, target_id):
    rows = db.query("SELECT actor_user_id, action, detail FROM audit_log WHERE target_type = %s AND target_id = %s"
                    " ORDER BY id", (target_type, target_id))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def table_rows(db, sql, args=None):
    """A table's rows as a comparable list (to check nothing was written)."""
    return [tuple(sorted(r.items())) for r in db.query(sql, args)]
