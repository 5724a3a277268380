"""Flow: an admin creates a project and a building with a unit in the
console's settings page; the API lists them as the page showed them, and the
audit page shows the three creations with their values after (and nothing
before)."""
from conftest import expect_ok, unique

from config_support import run_driver, screenshots


def test_admin_creates_project_building_unit(stack, api, factory, db):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    db.exec("UPDATE users SET display_name = '管理员' WHERE id = %s", (admin_id,))
    code = unique("P").upper().replace("_", "-")[:16]
    rep = run_driver(stack, "console_project_setup.mjs", admin, PROJECT_CODE=code)

    # what the page showed is what the API holds
    [p] = expect_ok(api.get(f"/api/v1/admin/projects?q={code}", token=admin))
    assert p["id"] == rep["project_id"] and p["code"] == code and p["city"] == "杭州"
    [b] = expect_ok(api.get(f"/api/v1/admin/projects/{p['id']}/buildings", token=admin))
    assert b["name"] == "1栋" == rep["building_name"]
    [u] = expect_ok(api.get(f"/api/v1/admin/buildings/{b['id']}/units", token=admin))
    assert u["name"] == "1-101" == rep["unit_name"] and u["handover_date"] == "2027-06-30"

    # the audit page: newest first, each a creation with its values after
    actions = [a["action"] for a in rep["audit"]]
    assert actions == ["unit.create", "building.create", "project.create"]
    unit_row, building_row, project_row = rep["audit"]
    assert unit_row["after"]["name"] == "1-101" and unit_row["after"]["handover_date"] == "2027-06-30"
    assert building_row["after"]["name"] == "1栋"
    assert project_row["after"]["code"] == code and project_row["after"]["city"] == "杭州"
    assert all(v == "—" for row in rep["audit"] for v in row["before"])
    # and the same rows in the database, by the admin
    rows = db.query("SELECT action, actor_user_id FROM audit_log WHERE project_id = %s ORDER BY id", (p["id"],))
    assert [(r["action"], r["actor_user_id"]) for r in rows] == [
        ("project.create", admin_id), ("building.create", admin_id), ("unit.create", admin_id)]
    screenshots(rep, "settings-buildings.png", "settings-buildings-tablet.png", "audit.png", "audit-tablet.png")
