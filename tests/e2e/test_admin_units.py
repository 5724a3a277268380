"""PATCH /api/v1/admin/units/{id}: a unit's name and handover date, by role
(another project's staff told it does not exist); bad input refused naming
the field with nothing written; the audit row (before/after); a name taken
in the building is 409 DUPLICATE."""
import json

import pytest

from conftest import expect_error, expect_ok

UNITS = "/api/v1/admin/units"


def patch(api, path, **kw):
    return api.request("PATCH", path, **kw)


def audits(db, unit):
    rows = db.query("SELECT actor_user_id, project_id, target_type, detail FROM audit_log"
                    " WHERE action = 'unit.update' AND target_id = %s ORDER BY id", (unit,))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def unit_row(db, unit):
    row = db.one("SELECT name, handover_date FROM units WHERE id = %s", (unit,))
    return {"name": row["name"], "handover_date": row["handover_date"] and str(row["handover_date"])}


@pytest.fixture
def people(factory):
    project, other = factory.project(), factory.project()
    building = factory.building(project)
    p = {"project": project, "building": building,
         "unit": factory.unit(building_id=building, name="1-101", handover_date="2024-06-30")}
    p["admin_id"], p["admin"] = factory.user(roles=[("admin", 0)])
    p["sup_id"], p["sup"] = factory.user(roles=[("supervisor", project)])
    _, p["other_sup"] = factory.user(roles=[("supervisor", other)])
    _, p["agent"] = factory.user(roles=[("agent", project)])
    _, p["eng"] = factory.user(roles=[("engineer", project)])
    _, p["owner"], _, _ = factory.owner_user(project)
    return p


def test_patch_unit_roles_and_audit(api, db, factory, people):
    unit = people["unit"]
    url = f"{UNITS}/{unit}"
    before = unit_row(db, unit)
    expect_error(patch(api, url, json={"name": "1-102"}), 401, "UNAUTHENTICATED")
    for who in ("agent", "eng", "owner"):
        expect_error(patch(api, url, json={"name": "1-102"}, token=people[who]), 403, "FORBIDDEN")
    expect_error(patch(api, url, json={"name": "1-102"}, token=people["other_sup"]), 404, "NOT_FOUND")
    expect_error(patch(api, f"{UNITS}/987654321", json={"name": "1-102"}, token=people["admin"]), 404, "NOT_FOUND")
    assert unit_row(db, unit) == before and audits(db, unit) == []

    d = expect_ok(patch(api, url, json={"name": " 1-109 ", "handover_date": "2024-07-01"}, token=people["sup"]))
    assert d == {"unit": {"id": unit, "building_id": people["building"], "project_id": people["project"],
                          "name": "1-109", "handover_date": "2024-07-01"}, "changed": True}
    assert unit_row(db, unit) == {"name": "1-109", "handover_date": "2024-07-01"}
    [a] = audits(db, unit)
    assert a["actor_user_id"] == people["sup_id"] and a["project_id"] == people["project"]
    assert a["target_type"] == "unit"
    assert a["detail"]["before"] == {"name": "1-101", "handover_date": "2024-06-30"}
    assert a["detail"]["after"] == {"name": "1-109", "handover_date": "2024-07-01"}

    # Nothing changed: no write, no audit row. The admin clears the date.
    assert expect_ok(patch(api, url, json={"name": "1-109"}, token=people["sup"]))["changed"] is False
    assert len(audits(db, unit)) == 1
    d = expect_ok(patch(api, url, json={"handover_date": None}, token=people["admin"]))
    assert d["unit"]["handover_date"] is None and unit_row(db, unit)["handover_date"] is None
    assert audits(db, unit)[1]["detail"]["after"] == {"handover_date": None}

    # A name taken in the same building: 409; the same name in another building is fine.
    factory.unit(building_id=people["building"], name="1-110")
    expect_error(patch(api, url, json={"name": "1-110"}, token=people["sup"]), 409, "DUPLICATE", "name")
    assert unit_row(db, unit)["name"] == "1-109" and len(audits(db, unit)) == 2
    other_building = factory.building(people["project"])
    other_unit = factory.unit(building_id=other_building, name="1-109")
    assert expect_ok(patch(api, f"{UNITS}/{other_unit}", json={"name": "1-109"}, token=people["sup"]))["changed"] \
        is False


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "　"}, "name"),  # the ideographic space is trimmed too
    ({"name": None}, "name"),
    ({"name": "室" * 51}, "name"),
    ({"name": ["1"]}, "name"),
    ({"handover_date": "2024-6-30"}, "handover_date"),
    ({"handover_date": True}, "handover_date"),
    ({"building_id": 1}, "building_id"),
])
def test_patch_unit_bad_input(api, db, people, body, field):
    before, audit = unit_row(db, people["unit"]), db.scalar("SELECT COUNT(*) FROM audit_log")
    expect_error(patch(api, f"{UNITS}/{people['unit']}", json=body, token=people["sup"]), 400, "INVALID_FIELD", field)
    assert unit_row(db, people["unit"]) == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log") == audit
