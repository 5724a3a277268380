"""The leads page of the console (tests/browser/flow_lead_reassign.mjs): a
supervisor finds a new lead of their project (its phone masked), reassigns
it to another agent with a reason, and its detail shows the manual
assignment; the API then answers the new agent and the audit log holds the
reassignment."""
import json

from browser_support import run_flow, screenshots_exist
from lead_support import buyer_with_phone, new_lead, project_with_agents


def test_reassign_a_lead_to_another_agent(stack, api, factory, db):
    pid, agents, (sup, stoken) = project_with_agents(factory, 2, supervisor=True)
    for n, (uid, _) in enumerate(agents):
        db.exec("UPDATE users SET display_name = %s WHERE id = %s", (f"顾问{n}", uid))
    _, token, phone = buyer_with_phone(factory)
    lead = new_lead(api, db, token, pid, phone, name="周八")
    first = db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead,))
    other = next(uid for uid, _ in agents if uid != first)
    names = {uid: f"顾问{n}" for n, (uid, _) in enumerate(agents)}

    report = run_flow(stack, "flow_lead_reassign.mjs", SUP_TOKEN=stoken, LEAD_ID=lead, PROJECT_ID=pid,
                      AGENT_ID=other, AGENT_NAME=names[other], REASON="顾问休假")

    assert report["before"] == names[first] and report["after"] == names[other]
    assert report["detail_agent"] == names[other]
    assert report["phone"] == phone[:3] + "****" + phone[-4:]
    assert any(row[:3] == ["主管转派", names[other], "顾问休假"] for row in report["assignments"]), report["assignments"]
    # Through the API: the new agent, and the manual assignment by the supervisor.
    d = api.get(f"/api/v1/leads/{lead}", token=stoken).json()["data"]
    assert d["agent"]["user_id"] == other
    last = d["assignments"][-1]
    assert (last["method"], last["agent_user_id"], last["from_agent_user_id"], last["actor_user_id"], last["reason"]) \
        == ("manual", other, first, sup, "顾问休假")
    audit = db.one("SELECT actor_user_id, detail FROM audit_log WHERE action = 'lead.reassign' AND target_id = %s",
                   (lead,))
    assert audit["actor_user_id"] == sup
    detail = json.loads(audit["detail"])
    assert (detail["from"], detail["to"], detail["reason"]) == (first, other, "顾问休假")
    screenshots_exist(report, "leads", "leads-reassign", "leads-detail")
