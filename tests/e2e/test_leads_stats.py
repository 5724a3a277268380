"""GET /admin/leads/stats: channels, the funnel with conversion rates, the
share of signed deals from referrals, median time to first contact and
per-agent conversion, for one project and a time range."""
import time

import pytest

from lead_support import buyer_with_phone, new_lead, owner_with_code, project_with_agents, set_stage


def test_stats_of_a_project(api, factory, db):
    pid, [(a1, t1), (a2, t2)], (sup, stoken) = project_with_agents(factory, 2, supervisor=True)
    _, owner_token, _, code = owner_with_code(api, factory, pid)
    referee, rtoken, rphone = buyer_with_phone(factory)
    assert api.post("/api/v1/referrals/touch", token=rtoken, json={"code": code}).status_code == 201
    _, token = factory.user()
    # Round robin: leads 0, 2, 4 go to a1; 1, 3 to a2.
    leads = [new_lead(api, db, token, pid, channel=ch) for ch in ("ad", "ad", "poster", "walk_in")]
    leads.append(new_lead(api, db, rtoken, pid, rphone))  # a verified referral, to a1
    agent_token = {a1: t1, a2: t2}
    owner = {i: db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (i,)) for i in leads}
    assert [owner[i] for i in leads] == [a1, a2, a1, a2, a1]

    def move(i, *stages):
        for s in stages:
            set_stage(api, agent_token[owner[i]], i, s, reason="x" if s == "lost" else None)

    move(leads[0], "contacted", "visited", "signed")
    move(leads[1], "contacted", "lost")
    move(leads[2], "visited")
    move(leads[4], "contacted", "visited", "subscribed", "signed")
    # Known first-contact delays: 60 s, 120 s and 300 s (median 120 s).
    for i, delay in ((leads[0], 60), (leads[1], 120), (leads[2], 300)):
        db.exec("UPDATE leads SET first_contacted_at = created_at + INTERVAL %s SECOND WHERE id = %s", (delay, i))

    r = api.get(f"/api/v1/admin/leads/stats?project={pid}", token=stoken)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["project"]["id"] == pid and d["total"] == 5
    assert {c["channel"]: (c["leads"], c["signed"]) for c in d["by_channel"]} == \
        {"ad": (2, 1), "poster": (1, 0), "walk_in": (1, 0), "referral": (1, 1)}
    funnel = {f["stage"]: f for f in d["funnel"]}
    # Reached: a skipped stage counts as passed (leads[0] went visited -> signed).
    assert [f["count"] for f in d["funnel"]] == [5, 4, 3, 2, 2]
    assert funnel["new"]["rate_from_previous"] is None
    assert funnel["visited"]["rate_from_previous"] == pytest.approx(3 / 4)
    assert funnel["signed"]["rate_from_previous"] == pytest.approx(1.0)
    assert funnel["signed"]["rate_from_new"] == pytest.approx(2 / 5)
    assert d["lost"] == 1 and d["cancelled"] == 0
    assert d["referrals"] == {"signed": 2, "signed_from_referrals": 1, "share": 0.5}
    assert d["first_contact"]["contacted"] == 4
    # The fourth contacted lead (leads[4]) was contacted at once: 0, 60, 120, 300 -> (60 + 120) / 2.
    assert d["first_contact"]["median_seconds"] == pytest.approx(90, abs=1)
    agents = {a["user_id"]: a for a in d["agents"]}
    assert (agents[a1]["leads"], agents[a1]["signed"], agents[a1]["conversion"]) == (3, 2, pytest.approx(2 / 3))
    assert (agents[a2]["leads"], agents[a2]["contacted"], agents[a2]["signed"]) == (2, 1, 0)

    # A range before the leads is empty; bad ranges are refused.
    r = api.get(f"/api/v1/admin/leads/stats?project={pid}&from=1000&to=2000", token=stoken)
    assert r.json()["data"]["total"] == 0 and r.json()["data"]["referrals"]["share"] is None
    assert r.json()["data"]["first_contact"]["median_seconds"] is None
    now = int(time.time())
    r = api.get(f"/api/v1/admin/leads/stats?project={pid}&from={now}&to={now - 10}", token=stoken)
    assert r.status_code == 400 and r.json()["error"]["field"] == "from"
    assert api.get("/api/v1/admin/leads/stats", token=stoken).json()["error"]["field"] == "project"
    # Only the project's supervisors and admins.
    _, other = factory.user(roles=[("supervisor", factory.project())])
    assert api.get(f"/api/v1/admin/leads/stats?project={pid}", token=other).status_code == 403
    assert api.get(f"/api/v1/admin/leads/stats?project={pid}", token=t1).status_code == 403
    assert api.get("/api/v1/admin/leads/stats?project=99999999", token=stoken).status_code == 404
