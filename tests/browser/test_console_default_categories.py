"""Flow: an admin edits a default repair category's clocks in the console's
settings page (默认报修类别). The API then lists the default with the new
clock; a project created afterwards through the API uses it, and its first
change copies it with that clock; the change is audited. A supervisor is
offered no such view, and the API refuses a supervisor's change of a
default (403)."""
import json

from conftest import expect_error, expect_ok, unique

from config_support import run_driver, screenshots

CODE = "other"


def defaults(api, token):
    return {c["code"]: c for c in expect_ok(api.get("/api/v1/admin/repair-categories?limit=100", token=token))}


def test_admin_edits_default_category_clocks(stack, api, factory, db):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    before = defaults(api, admin)[CODE]
    new_accept = 45 if before["accept_minutes"] != 45 else 50
    try:
        rep = run_driver(stack, "console_default_categories.mjs", admin, ROLE="admin", CATEGORY_CODE=CODE,
                         ACCEPT_MINUTES=new_accept)
        clocks = f"{before['accept_minutes']} / {before['arrive_minutes']} / {before['resolve_minutes']}"
        assert rep["clocks_before"] == clocks and "view=defaults" in rep["url"] and rep["inherited_notice"] == 0
        assert rep["clocks_after"] == f"{new_accept} / {before['arrive_minutes']} / {before['resolve_minutes']}"

        # the API holds the new default itself (same id, project 0)
        after = defaults(api, admin)[CODE]
        assert after["id"] == before["id"] and after["project_id"] == 0 and after["accept_minutes"] == new_accept
        assert rep["default_after"]["accept_minutes"] == new_accept
        assert db.scalar("SELECT accept_within_s FROM repair_categories WHERE id = %s", (before["id"],)) == new_accept * 60

        # audited once, by the admin, with the clock before and after
        rows = db.query("SELECT actor_user_id, detail FROM audit_log WHERE action = 'repair_category.update'"
                        " AND target_id = %s AND actor_user_id = %s", (before["id"], admin_id))
        assert len(rows) == 1
        d = json.loads(rows[0]["detail"])
        assert d["before"]["accept_minutes"] == before["accept_minutes"] and d["after"]["accept_minutes"] == new_accept
        assert not d.get("copied_defaults")

        # a project created afterwards uses the new default, and its first change copies it
        code = unique("P").upper().replace("_", "-")[:16]
        p = expect_ok(api.post("/api/v1/admin/projects", token=admin, json={"name": "默认类别项目", "code": code}), 201)
        pid = (p.get("project") or p)["id"]
        listed = {c["code"]: c for c in expect_ok(api.get(f"/api/v1/admin/repair-categories?project={pid}&limit=100",
                                                          token=admin))}
        assert listed[CODE]["inherited"] is True and listed[CODE]["accept_minutes"] == new_accept
        copy = expect_ok(api.request("PATCH", f"/api/v1/admin/repair-categories/{before['id']}?project={pid}",
                                     token=admin, json={"sort_order": before["sort_order"] + 1}))
        assert copy["project_id"] == pid and copy["id"] != before["id"] and copy["accept_minutes"] == new_accept

        # a supervisor: no defaults view, and the API refuses the change
        sup_id, sup = factory.user(roles=[("supervisor", pid)])
        srep = run_driver(stack, "console_default_categories.mjs", sup, ROLE="supervisor")
        assert srep["view_tabs"] == 0 and srep["defaults_shown"] == 0
        expect_error(api.request("PATCH", f"/api/v1/admin/repair-categories/{before['id']}", token=sup,
                                 json={"accept_minutes": 1}), 403, "FORBIDDEN")
        assert defaults(api, admin)[CODE]["accept_minutes"] == new_accept
        screenshots(rep, "default-categories.png", "default-categories-tablet.png")
    finally:
        # the defaults are shared by the stack's other tests: put the clock back
        expect_ok(api.request("PATCH", f"/api/v1/admin/repair-categories/{before['id']}", token=admin,
                              json={"accept_minutes": before["accept_minutes"]}))
