"""Flow: a supervisor edits a repair category's clocks in the console. A bad
value shows the error in Chinese on that field (its label, the API's English
beside) and writes nothing (the category
still inherited, no audit row); a good value saves (the project's own copy
has the new clock) and is audited with the clock before and after."""
import json

from conftest import expect_ok
from repairs_support import world

from config_support import run_driver, screenshots


def test_supervisor_edits_category_clocks(stack, api, factory, db):
    w = world(factory, db, accept_s=7200, arrive_s=86400, resolve_s=259200)
    rep = run_driver(stack, "console_category_clocks.mjs", w.supervisor.token, PROJECT_ID=w.project_id,
                     CATEGORY_ID=w.category_id, CATEGORY_CODE=w.category)
    assert rep["clocks_before"] == "120 / 1440 / 4320"

    # the bad value: its field named by the form's label in Chinese, the
    # API's English message and code kept beside it, nothing written
    assert rep["failures_seen"] == [f"400 /api/v1/admin/repair-categories/{w.category_id}"]
    assert rep["field_error"] == "「响应时限（分钟）」不是有效的值" and rep["other_errors"] == 0
    assert rep["error_detail"].startswith("INVALID_FIELD · accept_minutes: ") and "请求 ID" in rep["error_detail"]
    assert rep["after_bad"]["inherited"] is True and rep["after_bad"]["accept_minutes"] == 120

    # the good value: the project's own copy, audited once, by the supervisor
    assert rep["clocks_after"] == "60 / 1440 / 4320"
    cats = expect_ok(api.get(f"/api/v1/admin/repair-categories?project={w.project_id}&limit=100",
                             token=w.supervisor.token))
    [mine] = [c for c in cats if c["code"] == w.category]
    assert mine["project_id"] == w.project_id and mine["inherited"] is False and mine["accept_minutes"] == 60
    assert db.scalar("SELECT accept_within_s FROM repair_categories WHERE id = %s", (w.category_id,)) == 7200
    rows = db.query("SELECT actor_user_id, detail FROM audit_log WHERE action = 'repair_category.update'"
                    " AND project_id = %s", (w.project_id,))
    assert len(rows) == 1 and rows[0]["actor_user_id"] == w.supervisor.id
    d = json.loads(rows[0]["detail"])
    assert d["after"]["accept_minutes"] == 60 and d.get("copied_defaults") is True
    screenshots(rep, "category-bad-value.png", "categories.png", "categories-tablet.png")
