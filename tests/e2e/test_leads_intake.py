"""Lead intake: the public project list, POST /leads validation, consent,
the phone_code path, one open lead per phone (also under concurrency),
round-robin and per-channel assignment with the lead.assigned event."""
import json
import threading

from conftest import unique_phone
from lead_support import events, lead_body, lead_of, new_lead, project_with_agents, submit_lead


def test_projects_list_is_public_and_only_open_projects(api, factory):
    open_id = factory.project(name="开放项目")
    closed_id = factory.project(name="关闭项目", open_for_leads=0)
    r = api.get("/api/v1/projects")
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [p["id"] for p in body["data"]]
    assert open_id in ids and closed_id not in ids
    item = next(p for p in body["data"] if p["id"] == open_id)
    assert item["name"] == "开放项目"
    assert item["privacy_notice_version"]
    assert body["next_cursor"] is None


def test_lead_is_created_with_consent_and_history(api, factory, db):
    pid, [(agent, _)], _ = project_with_agents(factory, 1)
    buyer, token = factory.user()
    phone = unique_phone()
    r = submit_lead(api, token, pid, phone, note="周末看房", channel="poster", expect=(201,))
    d = r.json()["data"]
    assert d["referral"] is None
    s = d["submission"]
    assert s["phone_masked"] == phone[:3] + "****" + phone[-4:] and s["phone_verified"] is False
    assert (s["project_id"], s["name"]) == (pid, "王小明") and s["submitted_at"] > 0
    row = db.one("SELECT * FROM leads WHERE id = %s", (lead_of(db, r),))
    assert row["channel"] == "poster" and row["phone_verified"] == 0
    assert row["phone"] == phone and row["project_id"] == pid and row["stage"] == "new"
    assert row["submitted_by_user_id"] == buyer and row["agent_user_id"] == agent
    assert row["consent_at"] is not None and row["privacy_notice_version"] == "2025-01"
    assert row["interest_layout"] == "三室两厅" and row["note"] == "周末看房"
    assert row["first_contact_due_at"] > row["created_at"]
    hist = db.query("SELECT from_stage, to_stage FROM lead_stage_history WHERE lead_id = %s", (row["id"],))
    assert hist == [{"from_stage": None, "to_stage": "new"}]
    sub = db.one("SELECT * FROM lead_submissions WHERE id = %s", (s["id"],))
    assert (sub["lead_id"], sub["user_id"], sub["outcome"], sub["phone_verified"]) == (row["id"], buyer, "created", 0)


def test_bad_input_is_rejected_and_changes_nothing(api, factory, db):
    pid, _, _ = project_with_agents(factory, 1)
    _, token = factory.user()
    before = (db.scalar("SELECT COUNT(*) FROM leads"), db.scalar("SELECT COUNT(*) FROM lead_submissions"))
    cases = [
        (dict(phone="1380000000"), 400, "INVALID_FIELD", "phone"),
        (dict(phone="23800000001"), 400, "INVALID_FIELD", "phone"),
        (dict(phone="+8613800000001"), 400, "INVALID_FIELD", "phone"),
        (dict(phone=None), 400, "MISSING_FIELD", "phone"),
        (dict(name=""), 400, "INVALID_FIELD", "name"),
        (dict(channel="tv"), 400, "INVALID_FIELD", "channel"),
        (dict(interest={"layout": "x" * 33}), 400, "INVALID_FIELD", "interest.layout"),
        (dict(interest="big"), 400, "INVALID_FIELD", "interest"),
        (dict(consent=False), 422, "CONSENT_REQUIRED", "consent"),
        (dict(consent=None), 422, "CONSENT_REQUIRED", "consent"),
        (dict(consent="yes"), 400, "INVALID_FIELD", "consent"),
        (dict(project_id=99999999), 404, "NOT_FOUND", "project_id"),
    ]
    for change, status, code, field in cases:
        body = lead_body(pid)
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        r = api.post("/api/v1/leads", token=token, json=body)
        assert r.status_code == status, (change, r.text)
        err = r.json()["error"]
        assert err["code"] == code and err["field"] == field, (change, err)
    closed = factory.project(open_for_leads=0)
    r = api.post("/api/v1/leads", token=token, json=lead_body(closed))
    assert r.status_code == 404 and r.json()["error"]["field"] == "project_id"
    r = api.post("/api/v1/leads", json=lead_body(pid))
    assert r.status_code == 401
    assert (db.scalar("SELECT COUNT(*) FROM leads"), db.scalar("SELECT COUNT(*) FROM lead_submissions")) == before


def test_phone_code_goes_through_wechat(api, factory, db, fake):
    pid, _, _ = project_with_agents(factory, 1)
    _, token = factory.user()
    phone = unique_phone()
    body = lead_body(pid)
    del body["phone"]
    body["phone_code"] = f"P_{phone}"
    r = api.post("/api/v1/leads", token=token, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["submission"]["phone_verified"] is True
    assert db.one("SELECT phone, phone_verified FROM leads WHERE id = %s", (lead_of(db, r),)) == \
        {"phone": phone, "phone_verified": 1}
    # One successful exchange (a token refresh may add a replayed attempt).
    ok = [q for q in fake.requests("/wxa/business/getuserphonenumber") if q["status"] == 200 and not q["errcode"]]
    assert len(ok) == 1 and ok[0]["body"]["code"] == f"P_{phone}"
    # The code is single use: WeChat says 40029, nothing is written.
    before = db.scalar("SELECT COUNT(*) FROM leads")
    r = api.post("/api/v1/leads", token=token, json=body)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "WECHAT_CODE_INVALID" and r.json()["error"]["field"] == "phone_code"
    # A foreign number is not a mainland mobile.
    body["phone_code"] = "P_2125550100"
    r = api.post("/api/v1/leads", token=token, json=body)
    assert r.status_code == 400 and r.json()["error"]["field"] == "phone_code"
    # phone and phone_code together are ambiguous.
    body["phone"] = unique_phone()
    r = api.post("/api/v1/leads", token=token, json=body)
    assert r.status_code == 400 and r.json()["error"]["field"] == "phone"
    assert db.scalar("SELECT COUNT(*) FROM leads") == before


def test_same_submitter_and_phone_updates_the_open_lead(api, factory, db):
    pid, [(agent, _)], _ = project_with_agents(factory, 1)
    other_pid, _, _ = project_with_agents(factory, 1)
    _, token = factory.user()
    phone = unique_phone()
    first = lead_of(db, submit_lead(api, token, pid, phone))
    r = submit_lead(api, token, pid, phone, name="王大明", note="想要大户型", interest={"budget": "500万"})
    assert lead_of(db, r) == first
    assert r.json()["data"]["submission"]["name"] == "王大明"
    rows = db.query("SELECT * FROM leads WHERE phone = %s AND project_id = %s", (phone, pid))
    assert len(rows) == 1
    row = rows[0]
    assert row["submissions"] == 2 and row["name"] == "王大明" and row["note"] == "想要大户型"
    assert row["interest_budget"] == "500万" and row["interest_layout"] == "三室两厅"  # kept
    assert row["agent_user_id"] == agent
    assert [x["outcome"] for x in db.query("SELECT outcome FROM lead_submissions WHERE lead_id = %s ORDER BY id",
                                           (first,))] == ["created", "updated"]
    # Assigned once: one assignment row, one event.
    assert db.scalar("SELECT COUNT(*) FROM lead_assignments WHERE lead_id = %s", (row["id"],)) == 1
    assert len(events(db, "lead.assigned", ref_id=row["id"])) == 1
    # Another project is another lead.
    third = new_lead(api, db, token, other_pid, phone)
    assert third != first
    # A closed (lost) lead does not absorb a new submission.
    db.exec("UPDATE leads SET stage = 'lost' WHERE id = %s", (row["id"],))
    fourth = lead_of(db, submit_lead(api, token, pid, phone))
    assert fourth != row["id"]
    assert db.scalar("SELECT outcome FROM lead_submissions WHERE lead_id = %s", (fourth,)) == "created"


def test_concurrent_first_submissions_make_one_lead(api, factory, db, stack):
    from conftest import Api
    pid, _, _ = project_with_agents(factory, 2)
    tokens = [factory.user()[1] for _ in range(6)]
    phone = unique_phone()
    results = []

    def post(token):
        a = Api(stack.url, stack.ca_cert)
        r = a.post("/api/v1/leads", token=token, json=lead_body(pid, phone))
        results.append((r.status_code, r.json()))
        a.session.close()

    threads = [threading.Thread(target=post, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * 6, results
    # Every submitter gets the same answer, whoever came first.
    assert {json.dumps(sorted(b["data"]["submission"].keys())) for _, b in results} == \
        {json.dumps(["id", "name", "phone_masked", "phone_verified", "project_id", "project_name", "submitted_at"])}
    row = db.one("SELECT id, submissions FROM leads WHERE phone = %s AND project_id = %s", (phone, pid))
    assert row["submissions"] == 6
    outcomes = sorted(x["outcome"] for x in db.query("SELECT outcome FROM lead_submissions WHERE lead_id = %s",
                                                     (row["id"],)))
    assert outcomes == ["created"] + ["recorded"] * 5
    assert db.scalar("SELECT COUNT(*) FROM lead_assignments WHERE lead_id = %s", (row["id"],)) == 1


def test_round_robin_takes_turns_and_emits_lead_assigned(api, factory, db):
    pid, agents, _ = project_with_agents(factory, 3)
    agent_ids = [a for a, _ in agents]
    # A disabled agent is skipped; a non-agent of the project never gets one.
    disabled, _ = factory.user(roles=[("agent", pid)])
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (disabled,))
    # One buyer each: a buyer may leave lead_daily_max_per_submitter (5) a day.
    lead_ids = [new_lead(api, db, factory.user()[1], pid) for _ in range(7)]
    got = [db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (i,)) for i in lead_ids]
    assert got == [agent_ids[k % 3] for k in range(7)]
    for lead_id, agent in zip(lead_ids, got):
        assert db.one("SELECT method, agent_user_id FROM lead_assignments WHERE lead_id = %s", (lead_id,)) == \
            {"method": "round_robin", "agent_user_id": agent}
        ev = events(db, "lead.assigned", ref_id=lead_id)
        assert len(ev) == 1 and ev[0]["user_id"] == agent and ev[0]["ref_type"] == "lead"
        payload = json.loads(ev[0]["payload"])
        assert payload["lead_id"] == lead_id and payload["project_id"] == pid
        assert "****" in payload["phone_masked"] and payload["customer_name"] == "王*"


def test_concurrent_leads_are_spread_evenly(api, factory, db, stack):
    from conftest import Api
    pid, agents, _ = project_with_agents(factory, 3)
    tokens = [factory.user()[1] for _ in range(9)]
    errors = []

    def post(token):
        a = Api(stack.url, stack.ca_cert)
        r = a.post("/api/v1/leads", token=token, json=lead_body(pid))
        if r.status_code != 201:
            errors.append(r.text)
        a.session.close()

    threads = [threading.Thread(target=post, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counts = db.query("SELECT agent_user_id, COUNT(*) AS n FROM leads WHERE project_id = %s GROUP BY agent_user_id",
                      (pid,))
    assert sorted(r["n"] for r in counts) == [3, 3, 3]
    assert {r["agent_user_id"] for r in counts} == {a for a, _ in agents}


def test_channel_rule_sends_a_channel_to_one_agent(api, factory, db):
    pid, [(a1, _), (a2, _)], _ = project_with_agents(factory, 2)
    db.exec("INSERT INTO lead_channel_rules (project_id, channel, agent_user_id) VALUES (%s, 'walk_in', %s)",
            (pid, a2))
    _, token = factory.user()
    ids = [new_lead(api, db, token, pid, channel="walk_in") for _ in range(3)]
    rows = db.query("SELECT l.agent_user_id, a.method FROM leads l JOIN lead_assignments a ON a.lead_id = l.id"
                    " WHERE l.id IN %s", (ids,))
    assert rows == [{"agent_user_id": a2, "method": "channel_rule"}] * 3
    # Other channels still take turns from the start.
    other = new_lead(api, db, token, pid, channel="ad")
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (other,)) == a1


def test_project_without_agents_keeps_the_lead_unassigned(api, factory, db):
    pid = factory.project()
    _, token = factory.user()
    lead_id = new_lead(api, db, token, pid)
    assert db.scalar("SELECT agent_user_id FROM leads WHERE id = %s", (lead_id,)) is None
    assert events(db, "lead.assigned", ref_id=lead_id) == []
