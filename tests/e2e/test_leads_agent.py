"""Agents working leads: their list (paged, masked), the detail view with the
full phone only for the assigned agent (and an audit row per unmasked view),
follow-ups and the stage progression. Another agent of the project sees
nothing of a colleague's lead."""
import time

from conftest import unique_phone
from lead_support import new_lead, project_with_agents, set_stage


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_my_leads_are_listed_newest_first_with_pages(api, factory, db):
    pid, [(agent, atoken)], _ = project_with_agents(factory, 1)
    _, token = factory.user()
    phones = [unique_phone() for _ in range(5)]
    ids = [new_lead(api, db, token, pid, p) for p in phones]
    r = api.get("/api/v1/leads?limit=2", token=atoken)
    assert r.status_code == 200, r.text
    page1 = r.json()
    assert [x["id"] for x in page1["data"]] == [ids[4], ids[3]]
    assert page1["data"][0]["phone_masked"] == masked(phones[4]) and "phone" not in page1["data"][0]
    assert page1["data"][0]["project"]["id"] == pid and page1["data"][0]["stage"] == "new"
    seen = [x["id"] for x in page1["data"]]
    cursor = page1["next_cursor"]
    while cursor:
        r = api.get(f"/api/v1/leads?limit=2&cursor={cursor}", token=atoken)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["data"]]
        cursor = r.json()["next_cursor"]
    assert seen == ids[::-1]
    set_stage(api, atoken, ids[0], "contacted")
    r = api.get("/api/v1/leads?stage=contacted", token=atoken)
    assert [x["id"] for x in r.json()["data"]] == [ids[0]]
    assert api.get("/api/v1/leads?stage=bogus", token=atoken).json()["error"]["field"] == "stage"
    assert api.get("/api/v1/leads?cursor=abc", token=atoken).json()["error"]["field"] == "cursor"
    # Listing is not an unmasked view: no audit rows.
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'lead.phone_viewed' AND actor_user_id = %s",
                     (agent,)) == 0
    # A buyer is not an agent.
    assert api.get("/api/v1/leads", token=token).status_code == 403


def test_full_phone_only_for_the_assigned_agent_and_audited(api, factory, db):
    pid, [(a1, t1), (a2, t2)], (sup, stoken) = project_with_agents(factory, 2, supervisor=True)
    _, token = factory.user()
    phone = unique_phone()
    lead_id = new_lead(api, db, token, pid, phone)
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) == a1

    def audit_rows():
        return db.query("SELECT actor_user_id, target_id, JSON_VALUE(detail, '$.request_id') AS rid"
                        " FROM audit_log WHERE action = 'lead.phone_viewed' AND target_type = 'lead'"
                        " AND target_id = %s ORDER BY id", (lead_id,))

    # The other agent of the project does not see it at all, and nothing is audited.
    r = api.get(f"/api/v1/leads/{lead_id}", token=t2)
    assert r.status_code == 404, r.text
    assert "王小明" not in r.text and masked(phone) not in r.text
    # The supervisor sees it masked.
    d = api.get(f"/api/v1/leads/{lead_id}", token=stoken).json()["data"]
    assert d["phone"] is None and d["phone_masked"] == masked(phone)
    assert d["agent"]["user_id"] == a1 and d["phone_verified"] is False
    assert audit_rows() == []
    # The assigned agent sees the full phone; each view writes one audit row.
    for _ in range(2):
        r = api.get(f"/api/v1/leads/{lead_id}", token=t1)
        assert r.status_code == 200
        assert r.json()["data"]["phone"] == phone
    rows = audit_rows()
    assert len(rows) == 2 and all(x["actor_user_id"] == a1 for x in rows)
    assert rows[-1]["rid"] == r.json()["request_id"]
    # An agent of another project: not found.
    _, [(_, outsider)], _ = project_with_agents(factory, 1)
    r = api.get(f"/api/v1/leads/{lead_id}", token=outsider)
    assert r.status_code == 404 and "phone" not in r.text
    assert api.get("/api/v1/leads/99999999", token=t1).status_code == 404


def test_followups_record_first_contact(api, factory, db):
    pid, [(a1, t1), (_, t2)], _ = project_with_agents(factory, 2)
    _, token = factory.user()
    lead_id = new_lead(api, db, token, pid)
    next_at = int(time.time()) + 86400
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=t1,
                 json={"kind": "call", "note": "客户周六到访", "next_at": next_at})
    assert r.status_code == 201, r.text
    d = r.json()["data"]
    assert d["followup"]["kind"] == "call" and d["followup"]["next_at"] == next_at
    row = db.one("SELECT first_contacted_at, stage FROM leads WHERE id = %s", (lead_id,))
    assert row["first_contacted_at"] is not None and row["stage"] == "new"
    first = row["first_contacted_at"]
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=t1, json={"kind": "wechat"})
    assert r.status_code == 201
    assert db.scalar("SELECT first_contacted_at FROM leads WHERE id = %s", (lead_id,)) == first
    assert db.scalar("SELECT COUNT(*) FROM lead_followups WHERE lead_id = %s", (lead_id,)) == 2
    detail = api.get(f"/api/v1/leads/{lead_id}", token=t1).json()["data"]
    assert [f["kind"] for f in detail["followups"]] == ["wechat", "call"]
    listed = api.get("/api/v1/leads", token=t1).json()["data"]
    assert next(x for x in listed if x["id"] == lead_id)["next_followup_at"] is None  # the latest has none
    # Bad input and the wrong agent change nothing.
    for body, field in (({"kind": "sms"}, "kind"), ({}, "kind"), ({"kind": "call", "next_at": 5}, "next_at"),
                        ({"kind": "call", "note": "x" * 501}, "note")):
        r = api.post(f"/api/v1/leads/{lead_id}/followups", token=t1, json=body)
        assert r.status_code == 400 and r.json()["error"]["field"] == field, r.text
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=t2, json={"kind": "call"})
    assert r.status_code == 404
    assert db.scalar("SELECT COUNT(*) FROM lead_followups WHERE lead_id = %s", (lead_id,)) == 2
    set_stage(api, t1, lead_id, "lost", reason="预算不足")
    r = api.post(f"/api/v1/leads/{lead_id}/followups", token=t1, json={"kind": "call"})
    assert r.status_code == 409 and "lost" in r.json()["error"]["message"]


def test_stage_progression(api, factory, db):
    pid, [(a1, t1), (_, t2)], (sup, stoken) = project_with_agents(factory, 2, supervisor=True)
    _, token = factory.user()
    lead_id = new_lead(api, db, token, pid)
    d = set_stage(api, t1, lead_id, "contacted")
    assert d["data"]["changed"] is True and d["data"]["lead"]["stage"] == "contacted"
    assert db.scalar("SELECT first_contacted_at FROM leads WHERE id = %s", (lead_id,)) is not None
    # Backwards and closing stages without a reason are refused.
    r = set_stage(api, t1, lead_id, "new", expect=400)
    assert r["error"]["field"] == "stage"
    r = set_stage(api, t1, lead_id, "lost", expect=400)
    assert r["error"]["field"] == "reason"
    r = set_stage(api, t1, lead_id, "cancelled", reason="x", expect=409)
    assert "contacted" in r["error"]["message"]
    # Skipping forward is allowed (a walk-in visit), by the supervisor too.
    set_stage(api, stoken, lead_id, "visited")
    r = set_stage(api, t1, lead_id, "contacted", expect=409)
    assert "visited" in r["error"]["message"]
    # Another agent of the project can neither see nor move it.
    set_stage(api, t2, lead_id, "subscribed", expect=404)
    set_stage(api, t1, lead_id, "subscribed")
    set_stage(api, t1, lead_id, "signed")
    again = set_stage(api, t1, lead_id, "signed")
    assert again["data"]["changed"] is False
    set_stage(api, t1, lead_id, "lost", reason="x", expect=409)
    set_stage(api, t1, lead_id, "cancelled", reason="客户退房")
    set_stage(api, t1, lead_id, "signed", expect=409)
    row = db.one("SELECT stage, furthest_stage, stage_reason, signed_at FROM leads WHERE id = %s", (lead_id,))
    assert row["stage"] == "cancelled" and row["furthest_stage"] == 4 and row["stage_reason"] == "客户退房"
    assert row["signed_at"] is not None
    hist = db.query("SELECT from_stage, to_stage, actor_user_id FROM lead_stage_history WHERE lead_id = %s ORDER BY id",
                    (lead_id,))
    assert [(h["from_stage"], h["to_stage"]) for h in hist] == [
        (None, "new"), ("new", "contacted"), ("contacted", "visited"), ("visited", "subscribed"),
        ("subscribed", "signed"), ("signed", "cancelled")]
    assert hist[2]["actor_user_id"] == sup
    detail = api.get(f"/api/v1/leads/{lead_id}", token=t1).json()["data"]
    assert [h["to"] for h in detail["stage_history"]][-1] == "cancelled"
    # Strangers get 404, not 403.
    _, [(_, outsider)], _ = project_with_agents(factory, 1)
    set_stage(api, outsider, lead_id, "visited", expect=404)
