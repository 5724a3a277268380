"""Rewards in the console, approved and paid by two different people
(tests/browser/flow_reward_two_people.mjs): a referral reaches signing
through the API (its reward is created pending); supervisor A approves it
in the console, after which A's pay button is disabled and the API refuses
A's payment (403 FORBIDDEN); admin B, in a browser context and a login of
their own, pays it. The page names the approver and the payer; the
reward's row, the API's list and the audit log agree."""
import json

from browser_support import run_flow, screenshots_exist
from lead_support import set_stage
from test_rewards import referred_lead


def test_approve_and_pay_a_reward_as_two_people(stack, api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    admin, btoken = factory.user(roles=[("admin", 0)])
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("甲主管", x["sup"]))
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("乙管理员", admin))

    report = run_flow(stack, "flow_reward_two_people.mjs", A_TOKEN=x["stoken"], B_TOKEN=btoken, REWARD_ID=rid,
                      PROJECT_ID=x["pid"])

    assert report["approver_shown"] == "甲主管" and report["approver_seen_by_b"] == "甲主管"
    assert report["pay_for_a"] == {"disabled": True, "blocked": "approver"}
    assert report["refused"] == {"status": 403, "code": "FORBIDDEN"}
    assert report["payer_shown"] == "乙管理员" and report["payer_seen_by_a"] == "乙管理员"
    row = db.one("SELECT status, approved_by, paid_by FROM referral_rewards WHERE id = %s", (rid,))
    assert row == {"status": "paid", "approved_by": x["sup"], "paid_by": admin}
    item = next(i for i in api.get(f"/api/v1/admin/rewards?project={x['pid']}", token=btoken).json()["data"]
                if i["id"] == rid)
    assert (item["status"], item["approved_by"], item["paid_by"]) == ("paid", x["sup"], admin)
    audit = db.query("SELECT actor_user_id, action, detail FROM audit_log WHERE target_type = 'reward'"
                     " AND target_id = %s ORDER BY id", (rid,))
    assert [(a["actor_user_id"], a["action"]) for a in audit] == [(x["sup"], "reward.approve"), (admin, "reward.pay")]
    assert json.loads(audit[1]["detail"]).get("approved_by") == x["sup"]
    # The refused payment wrote nothing.
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'reward.pay' AND target_id = %s", (rid,)) == 1
    screenshots_exist(report, "rewards-pending", "rewards-approved-by-a", "rewards-paid-by-b")
