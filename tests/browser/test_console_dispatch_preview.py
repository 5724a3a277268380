"""Flow: the dispatch preview in the console. With no rule, the preview
names the project's least-loaded engineer (the lowest id on a tie); a rule
made in the page (this building × this category → a group holding only the
other engineer) makes the page answer that engineer, as the API does, and
the rule is stored and audited."""
from conftest import expect_ok, unique
from repairs_support import world

from config_support import run_driver, screenshots


def test_dispatch_preview_follows_rule(stack, api, factory, db):
    w = world(factory, db, engineers=2, rule=False)
    first, second = sorted(w.engineers, key=lambda p: p.id)
    gid = db.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, %s)", (w.project_id, unique("二组")))
    db.exec("INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (%s, %s)", (gid, second.id))
    rep = run_driver(stack, "console_dispatch_preview.mjs", w.supervisor.token, PROJECT_ID=w.project_id,
                     BUILDING_ID=w.building_id, UNIT_ID=w.unit_a, CATEGORY_ID=w.category_id, GROUP_ID=gid)

    api_preview = expect_ok(api.get(f"/api/v1/admin/dispatch-preview?unit={w.unit_a}&category={w.category_id}",
                                    token=w.supervisor.token))
    assert rep["before"]["engineer"] == first.id and rep["before"]["reason"] == "no_rule"
    assert rep["after"]["engineer"] == second.id and rep["after"]["reason"] == "rule_group"
    assert api_preview["engineer"]["id"] == second.id == rep["after"]["engineer"]
    [rule] = expect_ok(api.get(f"/api/v1/admin/dispatch-rules?project={w.project_id}", token=w.supervisor.token))
    assert rule["building"]["id"] == w.building_id and rule["category"]["id"] == w.category_id
    assert rule["group"]["id"] == gid
    assert db.scalar("SELECT actor_user_id FROM audit_log WHERE action = 'dispatch_rule.create' AND target_id = %s",
                     (rule["id"],)) == w.supervisor.id
    screenshots(rep, "dispatch.png", "dispatch-tablet.png")
