"""A building through the administration API: editing it (name, handover
date) and its units (list, create), by role; bad input refused naming the
field with nothing written; the audit rows (before/after); paging and the
name filter; the owner roster import into buildings and units made here."""
import json

import pytest

from conftest import expect_error, expect_ok, unique, unique_phone

PROJECTS = "/api/v1/admin/projects"
BUILDINGS = "/api/v1/admin/buildings"


def patch(api, path, **kw):
    return api.request("PATCH", path, **kw)


def audits(db, action, target_id):
    rows = db.query("SELECT actor_user_id, project_id, target_type, detail FROM audit_log"
                    " WHERE action = %s AND target_id = %s ORDER BY id", (action, target_id))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def building_row(db, building):
    return db.one("SELECT name, handover_date FROM buildings WHERE id = %s", (building,))


@pytest.fixture
def people(factory):
    """Tokens of every role around a fresh project with a building (and another project)."""
    project, other = factory.project(), factory.project()
    p = {"project": project, "other": other, "building": factory.building(project)}
    p["admin_id"], p["admin"] = factory.user(roles=[("admin", 0)])
    p["sup_id"], p["sup"] = factory.user(roles=[("supervisor", project)])
    _, p["other_sup"] = factory.user(roles=[("supervisor", other)])
    _, p["agent"] = factory.user(roles=[("agent", project)])
    _, p["eng"] = factory.user(roles=[("engineer", project)])
    _, p["owner"], _, _ = factory.owner_user(project)
    return p


def test_patch_building_roles_and_audit(api, db, people):
    building = people["building"]
    url = f"{BUILDINGS}/{building}"
    before = building_row(db, building)
    expect_error(patch(api, url, json={"name": "9栋"}), 401, "UNAUTHENTICATED")
    for who in ("agent", "eng", "owner"):
        expect_error(patch(api, url, json={"name": "9栋"}, token=people[who]), 403, "FORBIDDEN")
    # Another project's supervisor is told it does not exist, as for a building that does not.
    expect_error(patch(api, url, json={"name": "9栋"}, token=people["other_sup"]), 404, "NOT_FOUND")
    expect_error(patch(api, f"{BUILDINGS}/987654321", json={"name": "9栋"}, token=people["admin"]), 404, "NOT_FOUND")
    assert building_row(db, building) == before
    assert audits(db, "building.update", building) == []

    d = expect_ok(patch(api, url, json={"name": " 9栋 ", "handover_date": "2027-03-31"}, token=people["sup"]))
    assert d["changed"] is True
    assert d["building"] == {"id": building, "project_id": people["project"], "name": "9栋",
                             "handover_date": "2027-03-31", "unit_count": 0}
    assert str(building_row(db, building)["handover_date"]) == "2027-03-31"
    [a] = audits(db, "building.update", building)
    assert a["actor_user_id"] == people["sup_id"] and a["project_id"] == people["project"]
    assert a["target_type"] == "building"
    assert a["detail"]["before"] == {"name": before["name"], "handover_date": None}
    assert a["detail"]["after"] == {"name": "9栋", "handover_date": "2027-03-31"}

    # The same again changes nothing and writes no audit row; null clears the date.
    assert expect_ok(patch(api, url, json={"name": "9栋"}, token=people["admin"]))["changed"] is False
    assert len(audits(db, "building.update", building)) == 1
    d = expect_ok(patch(api, url, json={"handover_date": None}, token=people["admin"]))
    assert d["building"]["handover_date"] is None
    [_, a] = audits(db, "building.update", building)
    assert a["detail"] == {"before": {"handover_date": "2027-03-31"}, "after": {"handover_date": None},
                           "project_id": people["project"]}

    # A name taken in the project: 409, nothing written. The same name in another project is fine.
    db.exec("INSERT INTO buildings (project_id, name) VALUES (%s, '10栋')", (people["project"],))
    expect_error(patch(api, url, json={"name": "10栋"}, token=people["sup"]), 409, "DUPLICATE", "name")
    assert building_row(db, building)["name"] == "9栋"
    assert len(audits(db, "building.update", building)) == 2


@pytest.mark.parametrize("body, code_, field", [
    ({"name": ""}, "INVALID_FIELD", "name"),
    ({"name": "   "}, "INVALID_FIELD", "name"),
    ({"name": "栋" * 51}, "INVALID_FIELD", "name"),
    ({"name": 9}, "INVALID_FIELD", "name"),
    ({"name": None}, "INVALID_FIELD", "name"),
    ({"handover_date": "2027-02-30"}, "INVALID_FIELD", "handover_date"),
    ({"handover_date": "soon"}, "INVALID_FIELD", "handover_date"),
    ({"floors": 3}, "INVALID_FIELD", "floors"),
])
def test_patch_building_bad_input(api, db, people, body, code_, field):
    before, audit = building_row(db, people["building"]), db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(patch(api, f"{BUILDINGS}/{people['building']}", json=body, token=people["admin"]), 400, code_, field)
    assert building_row(db, people["building"]) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audit


def test_create_units_with_default_handover_date(api, db, people):
    building = people["building"]
    url = f"{BUILDINGS}/{building}/units"
    expect_ok(patch(api, f"{BUILDINGS}/{building}", json={"handover_date": "2026-09-30"}, token=people["admin"]))
    count = db.scalar("SELECT COUNT(*) FROM units WHERE building_id = %s", (building,))
    expect_error(api.post(url, json={"name": "101"}), 401, "UNAUTHENTICATED")
    for who in ("agent", "eng", "owner"):
        expect_error(api.post(url, json={"name": "101"}, token=people[who]), 403, "FORBIDDEN")
    expect_error(api.post(url, json={"name": "101"}, token=people["other_sup"]), 404, "NOT_FOUND")
    expect_error(api.post(f"{BUILDINGS}/987654321/units", json={"name": "101"}, token=people["admin"]), 404,
                 "NOT_FOUND")
    assert db.scalar("SELECT COUNT(*) FROM units WHERE building_id = %s", (building,)) == count

    u = expect_ok(api.post(url, json={"name": " 101 "}, token=people["sup"]), 201)["unit"]
    assert u == {"id": u["id"], "building_id": building, "project_id": people["project"], "name": "101",
                 "handover_date": "2026-09-30"}
    u2 = expect_ok(api.post(url, json={"name": "102", "handover_date": "2025-01-15"}, token=people["admin"]),
                   201)["unit"]
    assert u2["handover_date"] == "2025-01-15"
    u3 = expect_ok(api.post(url, json={"name": "103", "handover_date": None}, token=people["admin"]), 201)["unit"]
    assert u3["handover_date"] is None
    assert str(db.scalar("SELECT handover_date FROM units WHERE id = %s", (u["id"],))) == "2026-09-30"
    [a] = audits(db, "unit.create", u["id"])
    assert a["actor_user_id"] == people["sup_id"] and a["project_id"] == people["project"]
    assert a["target_type"] == "unit" and a["detail"]["before"] is None
    assert a["detail"]["after"] == u

    # A name taken in the building: 409, nothing written.
    expect_error(api.post(url, json={"name": "101"}, token=people["sup"]), 409, "DUPLICATE", "name")
    assert db.scalar("SELECT COUNT(*) FROM units WHERE building_id = %s", (building,)) == count + 3
    # The building now counts them.
    d = expect_ok(patch(api, f"{BUILDINGS}/{building}", json={}, token=people["sup"]))
    assert d["changed"] is False and d["building"]["unit_count"] == count + 3


@pytest.mark.parametrize("body, code_, field", [
    ({}, "MISSING_FIELD", "name"),
    ({"name": None}, "INVALID_FIELD", "name"),
    ({"name": " "}, "INVALID_FIELD", "name"),
    ({"name": "室" * 51}, "INVALID_FIELD", "name"),
    ({"name": "101", "handover_date": "2026-13-01"}, "INVALID_FIELD", "handover_date"),
    ({"name": "101", "handover_date": 20260101}, "INVALID_FIELD", "handover_date"),
    ({"name": "101", "floor": 1}, "INVALID_FIELD", "floor"),
])
def test_create_unit_bad_input(api, db, people, body, code_, field):
    count, audit = db.scalar("SELECT COUNT(*) FROM units"), db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(api.post(f"{BUILDINGS}/{people['building']}/units", json=body, token=people["sup"]), 400, code_,
                 field)
    assert db.scalar("SELECT COUNT(*) FROM units") == count
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audit


def test_list_units_paged_and_filtered(api, db, factory, people):
    building = people["building"]
    url = f"{BUILDINGS}/{building}/units"
    ids = [expect_ok(api.post(url, json={"name": n}, token=people["sup"]), 201)["unit"]["id"]
           for n in ("1-101", "1-102", "2-201")]
    factory.owner(ids[0])
    factory.owner(ids[0])
    for who in ("agent", "eng", "owner"):
        expect_error(api.get(url, token=people[who]), 403, "FORBIDDEN")
    expect_error(api.get(url), 401, "UNAUTHENTICATED")
    expect_error(api.get(url, token=people["other_sup"]), 404, "NOT_FOUND")
    page = api.get(url + "?limit=2", token=people["sup"]).json()
    assert [u["id"] for u in page["data"]] == ids[:2] and page["next_cursor"]
    assert page["data"][0]["owner_count"] == 2 and page["data"][1]["owner_count"] == 0
    assert page["data"][0]["project_id"] == people["project"] and page["data"][0]["building_id"] == building
    rest = api.get(url + "?limit=2&cursor=" + page["next_cursor"], token=people["admin"]).json()
    assert [u["id"] for u in rest["data"]] == ids[2:] and rest["next_cursor"] is None
    assert [u["id"] for u in expect_ok(api.get(url + "?q=1-1", token=people["sup"]))] == ids[:2]
    assert expect_ok(api.get(url + "?q=9-9", token=people["sup"])) == []
    expect_error(api.get(url + "?cursor=zz", token=people["sup"]), 400, "INVALID_FIELD", "cursor")
    expect_error(api.get(url + "?limit=101", token=people["sup"]), 400, "INVALID_FIELD", "limit")
    expect_error(api.get(url + "?q=" + "x" * 51, token=people["sup"]), 400, "INVALID_FIELD", "q")


def test_owner_import_into_buildings_and_units_made_here(api, db, people):
    """The roster import finds the project by code, the building and the unit
    by the names given here, and creates nothing new."""
    project = people["project"]
    code = db.scalar("SELECT code FROM projects WHERE id = %s", (project,))
    b = expect_ok(api.post(f"{PROJECTS}/{project}/buildings", json={"name": "望江1栋"}, token=people["sup"]),
                  201)["building"]
    u = expect_ok(api.post(f"{BUILDINGS}/{b['id']}/units", json={"name": "0801", "handover_date": "2024-05-01"},
                           token=people["sup"]), 201)["unit"]
    phone = unique_phone()
    counts = [db.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("projects", "buildings", "units")]
    rows = [{"project": code, "building": "望江1栋", "unit": "0801", "name": unique("业主"), "phone": phone}]
    d = expect_ok(api.post("/api/v1/admin/owners/import", token=people["admin"], json={"rows": rows}))
    assert d["projects_created"] == d["buildings_created"] == d["units_created"] == 0 and d["owners_created"] == 1
    assert [db.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("projects", "buildings", "units")] == counts
    assert db.scalar("SELECT unit_id FROM owners WHERE phone = %s", (phone,)) == u["id"]
    listed = expect_ok(api.get(f"{BUILDINGS}/{b['id']}/units", token=people["sup"]))
    assert [(x["id"], x["owner_count"], x["handover_date"]) for x in listed] == [(u["id"], 1, "2024-05-01")]
    # Renamed here, the unit is found by its new name, and the old name makes a new unit.
    expect_ok(patch(api, f"/api/v1/admin/units/{u['id']}", json={"name": "0802"}, token=people["sup"]))
    rows[0]["unit"] = "0802"
    d = expect_ok(api.post("/api/v1/admin/owners/import", token=people["admin"], json={"rows": rows}))
    assert d["units_created"] == 0 and d["owners_created"] == 0
