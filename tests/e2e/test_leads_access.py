"""Access that follows the role: every check on a lead uses the roles held
in the lead's project at the time of the request. An agent sees only their
own leads; one whose role in a project was revoked, but who is still an
agent elsewhere, can neither read nor sign that project's leads.
Supervisors list their project's leads with filters and reassign them."""
import json

from conftest import expect_error, expect_ok, unique_phone
from lead_support import (buyer_with_phone, events, new_lead, owner_with_code, project_with_agents, set_stage,
                          submit_lead, touch)

STAFF = "/api/v1/admin/staff"


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_an_agent_revoked_in_one_project_keeps_no_access_to_its_leads(api, factory, db):
    pa, pb = factory.project(), factory.project()
    db.exec("INSERT INTO reward_rules (project_id, kind, amount) VALUES (%s, 'cash', 800000)", (pb,))
    agent, atoken = factory.user(roles=[("agent", pa), ("agent", pb)])
    _, admin = factory.user(roles=[("admin", 0)])
    _, _, _, code = owner_with_code(api, factory, pb)
    _, token, phone = buyer_with_phone(factory)
    assert touch(api, token, code).status_code == 201
    r = submit_lead(api, token, pb, phone, name="钱八")
    assert r.json()["data"]["referral"]["status"] == "locked"
    lead_id = db.scalar("SELECT id FROM leads WHERE project_id = %s AND phone = %s", (pb, phone))
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == agent
    assert api.get(f"/api/v1/leads/{lead_id}", token=atoken).json()["data"]["phone"] == phone
    views = db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'lead.phone_viewed' AND target_id = %s",
                      (lead_id,))

    expect_ok(api.delete(STAFF, token=admin, json={"user_id": agent, "role": "agent", "project_id": pb}))
    assert "agent" in api.get("/api/v1/me", token=atoken).json()["data"]["roles"]  # still an agent in pa

    r = api.get(f"/api/v1/leads/{lead_id}", token=atoken)
    expect_error(r, 404, "NOT_FOUND")
    assert phone not in r.text and "钱八" not in r.text
    expect_error(api.post(f"/api/v1/leads/{lead_id}/stage", token=atoken, json={"stage": "signed"}), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/leads/{lead_id}/followups", token=atoken, json={"kind": "call"}), 404,
                 "NOT_FOUND")
    assert all(x["id"] != lead_id for x in api.get("/api/v1/leads", token=atoken).json()["data"])
    assert api.get("/api/v1/agent/referrals", token=atoken).json()["data"] == []
    assert db.scalar("SELECT stage FROM leads WHERE id = %s", (lead_id,)) == "new"
    assert db.scalar("SELECT COUNT(*) FROM referral_rewards WHERE project_id = %s", (pb,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM lead_followups WHERE lead_id = %s", (lead_id,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'lead.phone_viewed' AND target_id = %s",
                     (lead_id,)) == views
    # Their leads in the project where they are still an agent work as before.
    own = new_lead(api, db, factory.user()[1], pa)
    assert api.get(f"/api/v1/leads/{own}", token=atoken).status_code == 200


def test_an_agent_sees_nothing_of_a_colleagues_leads(api, factory, db):
    pid, [(a1, t1), (a2, t2)], _ = project_with_agents(factory, 2)
    _, _, _, code = owner_with_code(api, factory, pid)
    _, token, phone = buyer_with_phone(factory)
    assert touch(api, token, code).status_code == 201
    submit_lead(api, token, pid, phone, name="孙悟空", note="只想要顶楼")
    lead_id = db.scalar("SELECT id FROM leads WHERE project_id = %s AND phone = %s", (pid, phone))
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == a1
    api.post(f"/api/v1/leads/{lead_id}/followups", token=t1, json={"kind": "call", "note": "客户在外地"})
    for r in (api.get(f"/api/v1/leads/{lead_id}", token=t2),
              api.post(f"/api/v1/leads/{lead_id}/followups", token=t2, json={"kind": "call"}),
              api.post(f"/api/v1/leads/{lead_id}/stage", token=t2, json={"stage": "visited"})):
        expect_error(r, 404, "NOT_FOUND")
        assert "孙悟空" not in r.text and "顶楼" not in r.text and "外地" not in r.text
    listed = api.get("/api/v1/leads", token=t2).json()["data"]
    assert all(x["id"] != lead_id for x in listed)
    r = api.get(f"/api/v1/agent/referrals?project={pid}", token=t2)
    assert r.status_code == 200 and r.json()["data"] == [] and "孙悟空" not in r.text
    # Its own agent still sees all of it.
    mine = api.get(f"/api/v1/agent/referrals?project={pid}", token=t1).json()["data"]
    assert [x["lead_id"] for x in mine] == [lead_id] and mine[0]["referee_name"] == "孙悟空"
    assert db.one("SELECT stage FROM leads WHERE id = %s", (lead_id,)) == {"stage": "new"}
    assert db.scalar("SELECT COUNT(*) FROM lead_followups WHERE lead_id = %s", (lead_id,)) == 1


def test_supervisors_list_their_projects_leads_with_filters(api, factory, db):
    pid, [(a1, t1), (a2, _)], (_, stoken) = project_with_agents(factory, 2, supervisor=True)
    phones = [unique_phone() for _ in range(4)]
    specs = [("张伟", "ad"), ("李娜", "poster"), ("张敏", "ad"), ("王_%", "walk_in")]
    ids = [new_lead(api, db, factory.user()[1], pid, p, name=n, channel=ch) for p, (n, ch) in zip(phones, specs)]
    assert [db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (i,)) for i in ids] == [a1, a2, a1, a2]
    set_stage(api, t1, ids[0], "visited")
    db.exec("UPDATE leads SET agent_user_id = NULL WHERE id = %s", (ids[3],))
    url = f"/api/v1/admin/leads?project_id={pid}"

    def listed(query=""):
        r = api.get(url + query, token=stoken)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["data"]]

    assert listed() == ids[::-1]
    item = api.get(url, token=stoken).json()["data"][-1]
    assert item["name"] == "张伟" and item["phone_masked"] == masked(phones[0]) and phones[0] not in str(item)
    assert item["agent"]["user_id"] == a1 and item["stage"] == "visited" and item["channel"] == "ad"
    assert listed("&stage=visited") == [ids[0]] and listed("&state=visited") == [ids[0]]
    assert listed("&channel=ad") == [ids[2], ids[0]]
    assert listed(f"&agent_user_id={a2}") == [ids[1]]
    assert listed("&agent_user_id=0") == [ids[3]]  # unassigned
    assert listed("&q=%E5%BC%A0") == [ids[2], ids[0]]  # 张
    assert listed(f"&q={phones[1][-8:]}") == [ids[1]]
    assert listed("&q=_%25") == [ids[3]]  # LIKE wildcards are taken literally
    page = api.get(url + "&limit=3", token=stoken).json()
    assert [x["id"] for x in page["data"]] == ids[:0:-1] and page["next_cursor"]  # opaque
    assert listed(f"&limit=3&cursor={page['next_cursor']}") == [ids[0]]
    for query, field in (("&stage=won", "stage"), ("&channel=tv", "channel"), ("&agent_user_id=x", "agent_user_id"),
                         ("&q=" + "长" * 33, "q"), ("&limit=0", "limit")):
        expect_error(api.get(url + query, token=stoken), 400, "INVALID_FIELD", field)
    expect_error(api.get("/api/v1/admin/leads", token=stoken), 400, "MISSING_FIELD", "project_id")
    _, other = factory.user(roles=[("supervisor", factory.project())])
    expect_error(api.get(url, token=other), 403, "FORBIDDEN", "project_id")
    expect_error(api.get("/api/v1/admin/leads?project_id=99999999", token=stoken), 404, "NOT_FOUND", "project_id")
    expect_error(api.get(url, token=t1), 403, "FORBIDDEN")  # an agent is not a supervisor


def test_supervisor_reassigns_a_lead(api, factory, db):
    pid, [(a1, t1), (a2, t2)], (sup, stoken) = project_with_agents(factory, 2, supervisor=True)
    phone = unique_phone()
    lead_id = new_lead(api, db, factory.user()[1], pid, phone, name="吴九")
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == a1
    db.exec("UPDATE leads SET first_contact_due_at = NOW(3) - INTERVAL 1 HOUR, contact_overdue_at = NOW(3)"
            " WHERE id = %s", (lead_id,))
    url = f"/api/v1/admin/leads/{lead_id}/reassign"
    outsider_id, _ = factory.user(roles=[("agent", factory.project())])
    _, other_sup = factory.user(roles=[("supervisor", factory.project())])
    expect_error(api.post(url, token=stoken, json={"agent_user_id": a2}), 400, "MISSING_FIELD", "reason")
    expect_error(api.post(url, token=stoken, json={"agent_user_id": a1, "reason": "x"}), 409, "CONFLICT",
                 "agent_user_id")
    expect_error(api.post(url, token=stoken, json={"agent_user_id": outsider_id, "reason": "x"}), 422,
                 "UNPROCESSABLE", "agent_user_id")
    expect_error(api.post(url, token=stoken, json={"agent_user_id": sup, "reason": "x"}), 422, "UNPROCESSABLE",
                 "agent_user_id")
    expect_error(api.post(url, token=other_sup, json={"agent_user_id": a2, "reason": "x"}), 404, "NOT_FOUND")
    expect_error(api.post(url, token=t1, json={"agent_user_id": a2, "reason": "x"}), 403, "FORBIDDEN")
    assert db.scalar("SELECT COUNT(*) FROM lead_assignments WHERE lead_id = %s", (lead_id,)) == 1

    r = api.post(url, token=stoken, json={"agent_user_id": a2, "reason": "陈顾问休假"})
    assert expect_ok(r) == {"lead": {"id": lead_id, "agent_user_id": a2, "previous_agent_user_id": a1,
                                     "reason": "陈顾问休假"}}
    row = db.one("SELECT agent_user_id, contact_overdue_at, first_contact_due_at > NOW(3) AS fresh FROM leads"
                 " WHERE id = %s", (lead_id,))
    assert row == {"agent_user_id": a2, "contact_overdue_at": None, "fresh": 1}
    timeline = db.query("SELECT agent_user_id, method, from_agent_user_id, actor_user_id, reason FROM lead_assignments"
                        " WHERE lead_id = %s ORDER BY id", (lead_id,))
    assert timeline[-1] == {"agent_user_id": a2, "method": "manual", "from_agent_user_id": a1, "actor_user_id": sup,
                            "reason": "陈顾问休假"}
    audit = db.one("SELECT actor_user_id, JSON_VALUE(detail, '$.from') AS f, JSON_VALUE(detail, '$.to') AS t,"
                   " JSON_VALUE(detail, '$.reason') AS reason FROM audit_log"
                   " WHERE action = 'lead.reassign' AND target_id = %s", (lead_id,))
    assert audit == {"actor_user_id": sup, "f": str(a1), "t": str(a2), "reason": "陈顾问休假"}
    ev = events(db, "lead.assigned", ref_id=lead_id)
    assert [e["user_id"] for e in ev] == [a1, a2]
    assert json.loads(ev[-1]["payload"])["customer_name"] == "吴*"
    # The new agent has it (with the phone); the previous one no longer sees it.
    assert api.get(f"/api/v1/leads/{lead_id}", token=t2).json()["data"]["phone"] == phone
    detail = api.get(f"/api/v1/leads/{lead_id}", token=stoken).json()["data"]
    assert [a["method"] for a in detail["assignments"]] == ["round_robin", "manual"]
    expect_error(api.get(f"/api/v1/leads/{lead_id}", token=t1), 404, "NOT_FOUND")
    # A closed lead stays where it is.
    set_stage(api, t2, lead_id, "lost", reason="不买了")
    expect_error(api.post(url, token=stoken, json={"agent_user_id": a1, "reason": "x"}), 409, "CONFLICT")
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == a2
