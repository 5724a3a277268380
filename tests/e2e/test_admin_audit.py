"""The audit log: admins read every row, a supervisor only their projects'
rows; the filters (actor, object, project, action, time) and paging, newest
first; rows written through the administration API carry their project."""
import time

from conftest import expect_error, expect_ok

AUDIT = "/api/v1/admin/audit"


def test_audit_log_by_role_filters_and_paging(api, db, factory):
    project, other = factory.project(), factory.project()
    admin_id, admin = factory.user(roles=[("admin", 0)])
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    _, other_sup = factory.user(roles=[("supervisor", other)])
    _, agent = factory.user(roles=[("agent", project)])
    _, eng = factory.user(roles=[("engineer", project)])
    _, owner, _, _ = factory.owner_user(project)
    # Three changes: two in the project (by its supervisor), one in the other project.
    for city in ("杭州", "上海"):
        expect_ok(api.request("PATCH", f"/api/v1/admin/projects/{project}", json={"city": city}, token=sup))
    expect_ok(api.request("PATCH", f"/api/v1/admin/projects/{other}", json={"city": "北京"}, token=admin))

    expect_error(api.get(AUDIT), 401, "UNAUTHENTICATED")
    for t in (agent, eng, owner):
        expect_error(api.get(AUDIT, token=t), 403, "FORBIDDEN")

    mine = expect_ok(api.get(f"{AUDIT}?object_type=project&object_id={project}", token=sup))
    assert [r["detail"]["after"]["city"] for r in mine] == ["上海", "杭州"]  # newest first
    row = mine[0]
    assert row["action"] == "project.update" and row["project_id"] == project
    assert row["object"] == {"type": "project", "id": project} and row["actor"]["user_id"] == sup_id
    assert row["detail"]["before"] == {"city": "杭州"}
    # A supervisor never sees another project's rows, nor global ones.
    assert expect_ok(api.get(f"{AUDIT}?object_type=project&object_id={other}", token=sup)) == []
    assert all(r["project_id"] == project for r in expect_ok(api.get(f"{AUDIT}?limit=100", token=sup)))
    expect_error(api.get(f"{AUDIT}?project={other}", token=sup), 403, "FORBIDDEN", "project")
    assert expect_ok(api.get(f"{AUDIT}?project={other}", token=other_sup))[0]["project_id"] == other
    # The admin reads everything; filters by actor, action, project and time.
    assert [r["object"]["id"] for r in expect_ok(api.get(f"{AUDIT}?actor={admin_id}&action=project.update",
                                                        token=admin))] == [other]
    assert len(expect_ok(api.get(f"{AUDIT}?project={project}", token=admin))) == 2
    now = int(time.time())
    assert expect_ok(api.get(f"{AUDIT}?project={project}&to={now - 3600}", token=admin)) == []
    assert len(expect_ok(api.get(f"{AUDIT}?project={project}&from={now - 3600}", token=admin))) == 2
    page = api.get(f"{AUDIT}?project={project}&limit=1", token=admin).json()
    assert len(page["data"]) == 1 and page["next_cursor"]
    rest = expect_ok(api.get(f"{AUDIT}?project={project}&limit=1&cursor={page['next_cursor']}", token=admin))
    assert rest[0]["id"] < page["data"][0]["id"]
    for q, field in (("actor=x", "actor"), ("from=-1", "from"), ("limit=101", "limit"), ("cursor=abc", "cursor"),
                     ("object_type=" + "x" * 33, "object_type")):
        expect_error(api.get(f"{AUDIT}?{q}", token=admin), 400, "INVALID_FIELD", field)


def test_staff_grant_rows_carry_the_project(api, db, factory):
    project = factory.project()
    _, admin = factory.user(roles=[("admin", 0)])
    _, sup = factory.user(roles=[("supervisor", project)])
    uid, _ = factory.user()
    expect_ok(api.post("/api/v1/admin/staff", token=admin,
                       json={"user_id": uid, "role": "agent", "project_id": project}), 201)
    rows = expect_ok(api.get(f"{AUDIT}?object_type=user&object_id={uid}", token=sup))
    assert [(r["action"], r["project_id"]) for r in rows] == [("staff.grant", project)]
