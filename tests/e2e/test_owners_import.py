"""POST /api/v1/admin/owners/import: creates what is missing, links users
by phone, is idempotent, and is all or nothing with per-row errors."""
from conftest import expect_error, expect_ok, unique, unique_phone
from repairs_support import named_user


def admin(factory, db):
    return named_user(factory, db, "管理员", roles=[("admin", 0)])


def counts(db):
    return tuple(db.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("projects", "buildings", "units", "owners"))


def test_import_creates_links_and_is_idempotent(api, db, factory):
    boss = admin(factory, db)
    existing = factory.project()
    existing_code = db.scalar("SELECT code FROM projects WHERE id = %s", (existing,))
    new_name = unique("新项目")
    bound_phone = unique_phone()
    bound_user, bound_token = factory.user(phone=bound_phone)
    rows = [
        {"project": existing_code, "building": "1栋", "unit": "1-101", "name": "张三", "phone": bound_phone,
         "handover_date": "2024-06-30"},
        {"project": existing_code, "building": "1栋", "unit": "1-102", "name": "李四", "phone": unique_phone()},
        {"project": new_name, "building": "A座", "unit": "0301", "name": "王五", "phone": "+86 " + unique_phone()},
        {"project": new_name, "building": "A座", "unit": "0301", "name": "赵六", "phone": "+85291234567"},
    ]
    d = expect_ok(api.post("/api/v1/admin/owners/import", token=boss.token, json={"rows": rows}))
    assert d == {"rows": 4, "projects_created": 1, "buildings_created": 2, "units_created": 3, "units_updated": 0,
                 "owners_created": 4, "owners_updated": 0, "users_linked": 1}
    created = db.one("SELECT * FROM projects WHERE name = %s", (new_name,))
    assert created["code"].startswith("PRJ-")
    unit = db.one("SELECT u.* FROM units u JOIN buildings b ON b.id = u.building_id"
                  " WHERE b.project_id = %s AND b.name = '1栋' AND u.name = '1-101'", (existing,))
    assert str(unit["handover_date"]) == "2024-06-30"
    assert db.scalar("SELECT user_id FROM owners WHERE unit_id = %s", (unit["id"],)) == bound_user
    # "+86 ..." is stored as the 11 digits phone binding uses.
    assert db.scalar("SELECT COUNT(*) FROM owners WHERE phone = %s", (rows[2]["phone"][4:],)) == 1
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'owners.import' AND actor_user_id = %s",
                     (boss.id,)) == 1

    # The linked user now owns the unit.
    units = expect_ok(api.get("/api/v1/units", token=bound_token))
    assert [(u["id"], u["name"], u["building"]["name"], u["project"]["id"], u["handover_date"]) for u in units] == [
        (unit["id"], "1-101", "1栋", existing, "2024-06-30")]

    # Again: nothing changes. By name, the created project is found too.
    before = counts(db)
    d = expect_ok(api.post("/api/v1/admin/owners/import", token=boss.token, json={"rows": rows}))
    assert d["projects_created"] == d["buildings_created"] == d["units_created"] == d["owners_created"] == 0
    assert d["units_updated"] == d["owners_updated"] == d["users_linked"] == 0
    assert counts(db) == before

    # A new handover date and a renamed owner update in place.
    rows[0]["handover_date"] = "2024-07-01"
    rows[1]["name"] = "李四四"
    d = expect_ok(api.post("/api/v1/admin/owners/import", token=boss.token, json={"rows": rows}))
    assert d["units_updated"] == 1 and d["owners_updated"] == 1 and counts(db) == before
    assert str(db.scalar("SELECT handover_date FROM units WHERE id = %s", (unit["id"],))) == "2024-07-01"


def test_bad_rows_are_listed_and_nothing_is_applied(api, db, factory):
    boss = admin(factory, db)
    before = counts(db)
    project = unique("导入")
    rows = [
        {"project": project, "building": "1栋", "unit": "101", "name": "甲", "phone": unique_phone()},
        {"project": project, "building": "1栋", "unit": "102", "name": "乙", "phone": "12345"},
        {"project": project, "building": "", "unit": "103", "name": "丙", "phone": unique_phone(),
         "handover_date": "2024-02-30"},
        "not an object",
    ]
    err = expect_error(api.post("/api/v1/admin/owners/import", token=boss.token, json={"rows": rows}), 422,
                       "UNPROCESSABLE", "rows")
    assert [(e["row"], e["field"]) for e in err["details"]] == [
        (2, "phone"), (3, "building"), (3, "handover_date"), (4, "row")]
    assert all(e["message"] for e in err["details"])
    assert counts(db) == before
    assert db.scalar("SELECT COUNT(*) FROM projects WHERE name = %s", (project,)) == 0


def test_import_needs_rows_and_an_admin(api, db, factory):
    boss = admin(factory, db)
    expect_error(api.post("/api/v1/admin/owners/import", token=boss.token, json={}), 400, "MISSING_FIELD", "rows")
    expect_error(api.post("/api/v1/admin/owners/import", token=boss.token, json={"rows": []}), 400, "INVALID_FIELD",
                 "rows")
    pid = factory.project()
    sup = named_user(factory, db, "主管", roles=[("supervisor", pid)])
    row = {"project": "X", "building": "1", "unit": "1", "name": "a", "phone": unique_phone()}
    before = counts(db)
    expect_error(api.post("/api/v1/admin/owners/import", token=sup.token, json={"rows": [row]}), 403, "FORBIDDEN")
    assert counts(db) == before


def test_units_lists_only_the_callers(api, db, factory):
    uid, token, unit, _ = factory.owner_user()
    _, other_token, other_unit, _ = factory.owner_user()
    assert [u["id"] for u in expect_ok(api.get("/api/v1/units", token=token))] == [unit]
    assert [u["id"] for u in expect_ok(api.get("/api/v1/units", token=other_token))] == [other_unit]
    _, buyer = factory.user()
    r = api.get("/api/v1/units", token=buyer)
    assert expect_ok(r) == [] and r.json()["next_cursor"] is None
