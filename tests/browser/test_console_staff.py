"""Flow: the staff page. An admin finds an engineer by name (the filter in
the URL), sets their display name and title, grants them the supervisor
role in a project, finds them again by their masked phone; the API's directory shows it all and the audit log has
the rows. The admin then sets their own name from the header menu
(PATCH /api/v1/me). Both lists leave a place for the export button."""
from conftest import expect_ok, unique, unique_phone

from config_support import run_driver, screenshots


def test_staff_search_rename_grant(stack, api, factory, db):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    project = factory.project()
    name = unique("张工")
    phone = unique_phone()
    uid, _ = factory.user(roles=[("engineer", project)], phone=phone)
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", (name, uid))
    new_name = name + "师傅"
    rep = run_driver(stack, "console_staff.mjs", admin, USER_ID=uid, USER_NAME=name, NEW_NAME=new_name,
                     PROJECT_ID=project, MY_NAME="王管理", USER_PHONE_MASKED=phone[:3] + "****" + phone[-4:])

    assert rep["url_q"] == name and rep["found"] == name
    assert rep["renamed"] == new_name and rep["granted"].startswith("主管")
    assert rep["my_name"] == "王管理"
    assert str(uid) in rep["by_phone"]  # (other staff of the test database may share the masked form)
    assert rep["export_slot_staff"] and rep["export_slot_audit"]

    [u] = expect_ok(api.get("/api/v1/admin/staff", params={"q": new_name}, token=admin))
    assert u["user_id"] == uid and u["display_name"] == new_name and u["title"] == "水电工"
    assert sorted((r["role"], r["project"]["id"]) for r in u["roles"]) == [("engineer", project), ("supervisor", project)]
    actions = db.query("SELECT action, actor_user_id, target_id FROM audit_log WHERE actor_user_id = %s"
                       " AND action NOT LIKE 'console.%%' ORDER BY id",
                       (admin_id,))
    assert [(a["action"], a["target_id"]) for a in actions] == [
        ("user.update", uid), ("staff.grant", uid), ("user.update", admin_id)]
    assert db.scalar("SELECT display_name FROM users WHERE id = %s", (admin_id,)) == "王管理"
    screenshots(rep, "staff.png", "staff-tablet.png")
