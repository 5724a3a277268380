"""Dispatch groups through the administration API: the roles, members that
must be engineers of the group's project, bad input refused with nothing
written, the audit rows, paging and filters, and dispatch using the members
written here."""
from admin_support import audit_rows, callers, patch, refused, table_rows
from conftest import expect_error, expect_ok, unique
from repairs_support import new_ticket, ticket_row, world

GROUPS = "/api/v1/admin/dispatch-groups"


def groups_of(db, project):
    return table_rows(db, "SELECT g.id, g.name, m.user_id FROM repair_engineer_groups g"
                          " LEFT JOIN repair_engineer_group_members m ON m.group_id = g.id"
                          " WHERE g.project_id = %s ORDER BY g.id, m.user_id", (project,))


def test_roles_create_rename_members_and_audit(api, factory, db):
    k = callers(factory)
    e1, _ = factory.user(roles=[("engineer", k.project)])
    e2, _ = factory.user(roles=[("engineer", k.project)])
    body = {"project_id": k.project, "name": "水电组"}
    refused(api, k, [("POST", GROUPS, body), ("GET", GROUPS, None), ("PATCH", f"{GROUPS}/1", {"name": "x"}),
                     ("PUT", f"{GROUPS}/1/members", {"user_ids": []})])
    expect_error(api.post(GROUPS, json=body, token=k.other_supervisor), 403, "FORBIDDEN", "project_id")
    assert groups_of(db, k.project) == []

    g = expect_ok(api.post(GROUPS, json={**body, "name": " 水电组 "}, token=k.supervisor), 201)
    assert g == {"id": g["id"], "project_id": k.project, "name": "水电组", "members": [], "rules": 0}
    gid = g["id"]
    [a] = audit_rows(db, "dispatch_group", gid)
    assert a["action"] == "dispatch_group.create" and a["actor_user_id"] == k.supervisor_id
    assert a["detail"]["before"] is None and a["detail"]["after"]["name"] == "水电组"

    for token in (k.other_supervisor,):
        expect_error(patch(api, f"{GROUPS}/{gid}", json={"name": "x"}, token=token), 404, "NOT_FOUND")
        expect_error(api.put(f"{GROUPS}/{gid}/members", json={"user_ids": [e1]}, token=token), 404, "NOT_FOUND")
    assert expect_ok(api.get(GROUPS, params={"project": k.project}, token=k.admin))[0]["id"] == gid

    d = expect_ok(patch(api, f"{GROUPS}/{gid}", json={"name": "维修一组"}, token=k.admin))
    assert d["name"] == "维修一组"
    d = expect_ok(api.put(f"{GROUPS}/{gid}/members", json={"user_ids": [e2, e1]}, token=k.supervisor))
    assert [m["id"] for m in d["members"]] == sorted([e1, e2]) and all(m["engineer"] for m in d["members"])
    d = expect_ok(api.put(f"{GROUPS}/{gid}/members", json={"user_ids": [e2]}, token=k.supervisor))
    assert [m["id"] for m in d["members"]] == [e2]
    rows = audit_rows(db, "dispatch_group", gid)
    assert [r["action"] for r in rows] == ["dispatch_group.create", "dispatch_group.update",
                                           "dispatch_group.members", "dispatch_group.members"]
    assert rows[1]["detail"]["before"] == {"name": "水电组"} and rows[1]["detail"]["after"] == {"name": "维修一组"}
    assert rows[2]["detail"]["before"] == {"members": []}
    assert [m["id"] for m in rows[2]["detail"]["after"]["members"]] == sorted([e1, e2])
    assert [m["id"] for m in rows[3]["detail"]["after"]["members"]] == [e2]
    assert rows[3]["detail"]["project_id"] == k.project
    # A member who loses the role shows as such.
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND role = 'engineer'", (e2,))
    [g] = expect_ok(api.get(GROUPS, params={"project": k.project}, token=k.supervisor))
    assert g["members"] == [{"id": e2, "name": None, "engineer": False}]


def test_bad_input_names_the_field_and_writes_nothing(api, factory, db):
    k = callers(factory)
    eng, _ = factory.user(roles=[("engineer", k.project)])
    foreign, _ = factory.user(roles=[("engineer", k.other_project)])
    gid = expect_ok(api.post(GROUPS, json={"project_id": k.project, "name": "甲组"}, token=k.admin), 201)["id"]
    expect_ok(api.post(GROUPS, json={"project_id": k.project, "name": "乙组"}, token=k.admin), 201)
    before = groups_of(db, k.project)
    audits = db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'dispatch_group'")
    for body, status, code, field in [
        ({"project_id": k.project, "name": "甲组"}, 409, "DUPLICATE", "name"),
        ({"project_id": k.project, "name": ""}, 400, "INVALID_FIELD", "name"),
        ({"project_id": k.project, "name": "组" * 65}, 400, "INVALID_FIELD", "name"),
        ({"project_id": k.project}, 400, "MISSING_FIELD", "name"),
        ({"name": "丙组"}, 400, "MISSING_FIELD", "project_id"),
        ({"project_id": k.project, "name": "丙组", "members": []}, 400, "INVALID_FIELD", "members"),
        ({"project_id": 999999999, "name": "丙组"}, 404, "NOT_FOUND", "project_id"),
    ]:
        expect_error(api.post(GROUPS, json=body, token=k.admin), status, code, field)
    expect_error(patch(api, f"{GROUPS}/{gid}", json={"name": "乙组"}, token=k.admin), 409, "DUPLICATE", "name")
    expect_error(patch(api, f"{GROUPS}/{gid}", json={"project_id": 1}, token=k.admin), 400, "INVALID_FIELD",
                 "project_id")
    for body, status, code in [
        ({"user_ids": [eng, foreign]}, 422, "UNPROCESSABLE"),
        ({"user_ids": [k.supervisor_id]}, 422, "UNPROCESSABLE"),
        ({"user_ids": [eng, eng]}, 400, "INVALID_FIELD"),
        ({"user_ids": ["x"]}, 400, "INVALID_FIELD"),
        ({"user_ids": list(range(1, 102))}, 400, "INVALID_FIELD"),
        ({}, 400, "MISSING_FIELD"),
    ]:
        expect_error(api.put(f"{GROUPS}/{gid}/members", json=body, token=k.admin), status, code, "user_ids")
    expect_error(api.put(f"{GROUPS}/999999999/members", json={"user_ids": []}, token=k.admin), 404, "NOT_FOUND")
    assert groups_of(db, k.project) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'dispatch_group'") == audits


def test_paging_and_filters(api, factory, db):
    k = callers(factory)
    ids = [expect_ok(api.post(GROUPS, json={"project_id": k.project, "name": unique("组")}, token=k.supervisor),
                     201)["id"] for _ in range(3)]
    other = expect_ok(api.post(GROUPS, json={"project_id": k.other_project, "name": "外组"}, token=k.admin), 201)["id"]
    r = api.get(GROUPS, params={"limit": 2}, token=k.supervisor).json()
    assert [g["id"] for g in r["data"]] == ids[::-1][:2] and r["next_cursor"]
    r2 = api.get(GROUPS, params={"limit": 2, "cursor": r["next_cursor"]}, token=k.supervisor).json()
    assert [g["id"] for g in r2["data"]] == [ids[0]] and r2["next_cursor"] is None
    assert [g["id"] for g in expect_ok(api.get(GROUPS, params={"project": k.other_project}, token=k.admin))] == [other]
    expect_error(api.get(GROUPS, params={"project": k.other_project}, token=k.supervisor), 403, "FORBIDDEN", "project")
    expect_error(api.get(GROUPS, params={"project": "x"}, token=k.admin), 400, "INVALID_FIELD", "project")


def test_dispatch_uses_the_members_written_here(api, factory, db):
    w = world(factory, db, engineers=2)
    first, second = w.engineers
    # Only the second engineer is in the rule's group now.
    expect_ok(api.put(f"{GROUPS}/{w.group_id}/members", json={"user_ids": [second.id]}, token=w.supervisor.token))
    t = new_ticket(api, w)
    assert ticket_row(db, t["id"])["engineer_id"] == second.id
    assert first


def test_delete_group_roles_rules_first_and_audit(api, factory, db):
    k = callers(factory)
    e1, _ = factory.user(roles=[("engineer", k.project)])
    gid = expect_ok(api.post(GROUPS, json={"project_id": k.project, "name": unique("组")}, token=k.supervisor), 201)["id"]
    expect_ok(api.put(f"{GROUPS}/{gid}/members", json={"user_ids": [e1]}, token=k.supervisor))
    rule = expect_ok(api.post("/api/v1/admin/dispatch-rules", json={"project_id": k.project, "group_id": gid},
                              token=k.supervisor), 201)
    refused(api, k, [("DELETE", f"{GROUPS}/{gid}", None)])
    before = groups_of(db, k.project)

    # another project's supervisor: as if it did not exist; a missing group: 404
    expect_error(api.delete(f"{GROUPS}/{gid}", token=k.other_supervisor), 404, "NOT_FOUND")
    expect_error(api.delete(f"{GROUPS}/999999999", token=k.admin), 404, "NOT_FOUND")
    # a rule still names it: 409, nothing deleted, nothing audited
    expect_error(api.delete(f"{GROUPS}/{gid}", token=k.supervisor), 409, "CONFLICT")
    assert groups_of(db, k.project) == before
    assert [r["action"] for r in audit_rows(db, "dispatch_group", gid)] == [
        "dispatch_group.create", "dispatch_group.members"]

    # the rule deleted, the group goes with its members, audited with the group as it was
    expect_ok(api.delete(f"/api/v1/admin/dispatch-rules/{rule['id']}", token=k.supervisor))
    gone = expect_ok(api.delete(f"{GROUPS}/{gid}", token=k.supervisor))
    assert gone["id"] == gid and [m["id"] for m in gone["members"]] == [e1] and gone["rules"] == 0
    assert groups_of(db, k.project) == []
    assert db.scalar("SELECT COUNT(*) FROM repair_engineer_group_members WHERE group_id = %s", (gid,)) == 0
    a = audit_rows(db, "dispatch_group", gid)[-1]
    assert a["action"] == "dispatch_group.delete" and a["actor_user_id"] == k.supervisor_id
    assert a["detail"]["after"] is None and a["detail"]["before"]["id"] == gid
    assert a["detail"]["project_id"] == k.project
    expect_error(api.delete(f"{GROUPS}/{gid}", token=k.supervisor), 404, "NOT_FOUND")

    # an admin deletes any project's group
    g2 = expect_ok(api.post(GROUPS, json={"project_id": k.other_project, "name": unique("组")}, token=k.admin), 201)["id"]
    assert expect_ok(api.delete(f"{GROUPS}/{g2}", token=k.admin))["id"] == g2
    assert groups_of(db, k.other_project) == []
