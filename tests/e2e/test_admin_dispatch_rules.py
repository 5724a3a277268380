"""Dispatch rules through the administration API: the roles, a building,
category and group that must be the project's, one rule per case, bad input
refused with nothing written, the audit rows, paging and filters, and
dispatch following a rule written here."""
from admin_support import audit_rows, callers, refused, table_rows
from conftest import expect_error, expect_ok, unique
from repairs_support import category, new_ticket, ticket_row, world

RULES = "/api/v1/admin/dispatch-rules"


def rules_of(db, project):
    return table_rows(db, "SELECT * FROM repair_dispatch_rules WHERE project_id = %s ORDER BY id", (project,))


def group(db, project):
    return db.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, %s)", (project, unique("组")))


def test_roles_create_delete_and_audit(api, factory, db):
    k = callers(factory)
    b = factory.building(k.project)
    g = group(db, k.project)
    _, cid = category(db)
    body = {"project_id": k.project, "building_id": b, "category_id": cid, "group_id": g}
    refused(api, k, [("POST", RULES, body), ("GET", RULES, None), ("DELETE", f"{RULES}/1", None)])
    expect_error(api.post(RULES, json=body, token=k.other_supervisor), 403, "FORBIDDEN", "project_id")
    assert rules_of(db, k.project) == []

    r = expect_ok(api.post(RULES, json=body, token=k.supervisor), 201)
    assert r["project_id"] == k.project and r["building"]["id"] == b and r["category"]["id"] == cid
    assert r["group"]["id"] == g
    rid = r["id"]
    any_rule = expect_ok(api.post(RULES, json={"project_id": k.project, "group_id": g}, token=k.admin), 201)
    assert any_rule["building"] is None and any_rule["category"] is None
    [a] = audit_rows(db, "dispatch_rule", rid)
    assert a["action"] == "dispatch_rule.create" and a["actor_user_id"] == k.supervisor_id
    assert a["detail"]["before"] is None and a["detail"]["after"]["group"]["id"] == g
    assert a["detail"]["project_id"] == k.project

    expect_error(api.delete(f"{RULES}/{rid}", token=k.other_supervisor), 404, "NOT_FOUND")
    assert expect_ok(api.get(RULES, token=k.other_supervisor)) == []
    d = expect_ok(api.delete(f"{RULES}/{rid}", token=k.supervisor))
    assert d["id"] == rid
    assert [x["id"] for x in expect_ok(api.get(RULES, params={"project": k.project}, token=k.supervisor))] == \
        [any_rule["id"]]
    [_, dele] = audit_rows(db, "dispatch_rule", rid)
    assert dele["action"] == "dispatch_rule.delete" and dele["detail"]["after"] is None
    assert dele["detail"]["before"]["building"]["id"] == b
    expect_error(api.delete(f"{RULES}/{rid}", token=k.admin), 404, "NOT_FOUND")


def test_bad_input_names_the_field_and_writes_nothing(api, factory, db):
    k = callers(factory)
    b = factory.building(k.project)
    other_b = factory.building(k.other_project)
    g = group(db, k.project)
    other_g = group(db, k.other_project)
    _, cid = category(db)
    # A category of another project (which owns its categories) is not this project's.
    foreign_cat = db.exec("INSERT INTO repair_categories (project_id, code, name) VALUES (%s, %s, '外')",
                          (k.other_project, unique("f_")[:20]))
    good = {"project_id": k.project, "building_id": b, "category_id": cid, "group_id": g}
    expect_ok(api.post(RULES, json=good, token=k.admin), 201)
    before = rules_of(db, k.project)
    audits = db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'dispatch_rule'")
    for body, status, code, field in [
        (good, 409, "DUPLICATE", "category_id"),
        ({**good, "building_id": other_b}, 422, "UNPROCESSABLE", "building_id"),
        ({**good, "category_id": foreign_cat}, 422, "UNPROCESSABLE", "category_id"),
        ({**good, "group_id": other_g}, 422, "UNPROCESSABLE", "group_id"),
        ({**good, "group_id": None}, 400, "MISSING_FIELD", "group_id"),
        ({**good, "building_id": -1}, 400, "INVALID_FIELD", "building_id"),
        ({**good, "category_id": "x"}, 400, "INVALID_FIELD", "category_id"),
        ({**good, "unit_id": 1}, 400, "INVALID_FIELD", "unit_id"),
        ({**good, "project_id": 999999999}, 404, "NOT_FOUND", "project_id"),
    ]:
        expect_error(api.post(RULES, json=body, token=k.admin), status, code, field)
    assert rules_of(db, k.project) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'dispatch_rule'") == audits


def test_paging_and_filters(api, factory, db):
    k = callers(factory)
    g1, g2 = group(db, k.project), group(db, k.project)
    bs = [factory.building(k.project) for _ in range(3)]
    ids = [expect_ok(api.post(RULES, json={"project_id": k.project, "building_id": b, "group_id": g},
                              token=k.supervisor), 201)["id"] for b, g in zip(bs, (g1, g1, g2))]
    r = api.get(RULES, params={"limit": 2}, token=k.supervisor).json()
    assert [x["id"] for x in r["data"]] == ids[::-1][:2] and r["next_cursor"]
    r2 = api.get(RULES, params={"limit": 2, "cursor": r["next_cursor"]}, token=k.supervisor).json()
    assert [x["id"] for x in r2["data"]] == [ids[0]]
    assert [x["id"] for x in expect_ok(api.get(RULES, params={"group": g1}, token=k.supervisor))] == ids[1::-1]
    assert [x["id"] for x in expect_ok(api.get(RULES, params={"building": bs[2]}, token=k.admin))] == [ids[2]]
    expect_error(api.get(RULES, params={"project": k.project}, token=k.other_supervisor), 403, "FORBIDDEN", "project")
    expect_error(api.get(RULES, params={"category": "x"}, token=k.admin), 400, "INVALID_FIELD", "category")


def test_dispatch_follows_a_rule_written_here(api, factory, db):
    w = world(factory, db, engineers=2, rule=False)
    first, second = w.engineers
    g = group(db, w.project_id)
    db.exec("INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (%s, %s)", (g, second.id))
    expect_ok(api.post(RULES, json={"project_id": w.project_id, "building_id": w.building_id,
                                    "category_id": w.category_id, "group_id": g}, token=w.supervisor.token), 201)
    t = new_ticket(api, w)
    assert ticket_row(db, t["id"])["engineer_id"] == second.id
    assert first
