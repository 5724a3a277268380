"""Referral integrity and lead privacy at intake: a referral locks only on
a verified phone, so an owner's second account that files leads for other
people's phones locks nothing and blocks nobody; a buyer's submissions are
capped per day; another user's submission never changes a lead; the answer
is the same whether the phone was known or not; a long Chinese project name
survives every message."""
import json

from conftest import expect_error, unique_phone
from lead_support import (buyer_with_phone, events, lead_body, lead_of, new_lead, owner_with_code,
                          project_with_agents, set_stage, submit_lead, touch)

PHONE_API = "/wxa/business/getuserphonenumber"


def phone_code_body(project_id, phone, **extra):
    body = lead_body(project_id, None, **extra)
    del body["phone"]
    body["phone_code"] = f"P_{phone}"
    return body


def test_squatter_locks_nothing_and_the_genuine_referrer_wins(api, factory, db):
    pid, [(_, atoken)], _ = project_with_agents(factory, 1, supervisor=True)
    db.exec("INSERT INTO reward_rules (project_id, kind, amount) VALUES (%s, 'cash', 500000)", (pid,))
    squatter, _, _, squat_code = owner_with_code(api, factory, pid)
    # The owner's second WeChat account (no phone bound) touches the owner's own code...
    _, second = factory.user()
    assert touch(api, second, squat_code).status_code == 201
    # ... and files leads with consent for other people's phones.
    victims = [unique_phone() for _ in range(3)]
    for phone in victims:
        r = submit_lead(api, second, pid, phone, name="某某")
        assert r.json()["data"]["referral"] == {"status": "pending_verification"}
        assert r.json()["data"]["submission"]["phone_verified"] is False
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE referrer_user_id = %s", (squatter,)) == 0
    squatted = {row["phone"]: row for row in db.query(
        "SELECT id, phone, phone_verified, channel FROM leads WHERE project_id = %s AND phone IN %s", (pid, victims))}
    assert sorted(squatted) == sorted(victims)
    assert all(row["phone_verified"] == 0 and row["channel"] == "organic" for row in squatted.values())

    # The real person behind the first phone is referred by a genuine owner:
    # the squatted lead does not make them "already a customer".
    genuine, gtoken, _, code = owner_with_code(api, factory, pid)
    real, real_token = factory.user(phone=victims[0])
    r = touch(api, real_token, code, project_id=pid)
    assert r.status_code == 201, r.text
    r = submit_lead(api, real_token, pid, victims[0], name="李真")
    assert r.json()["data"]["referral"]["status"] == "locked"
    lead_id = lead_of(db, r)
    assert lead_id == squatted[victims[0]]["id"]  # the phone's one open lead, now the holder's
    row = db.one("SELECT name, phone_verified, submitted_by_user_id, user_id, channel FROM leads WHERE id = %s",
                 (lead_id,))
    assert row == {"name": "李真", "phone_verified": 1, "submitted_by_user_id": real, "user_id": real,
                   "channel": "referral"}
    ref = db.one("SELECT id, referrer_user_id, referee_user_id FROM referrals WHERE lead_id = %s", (lead_id,))
    assert (ref["referrer_user_id"], ref["referee_user_id"]) == (genuine, real)
    assert [x["outcome"] for x in db.query("SELECT outcome FROM lead_submissions WHERE lead_id = %s ORDER BY id",
                                           (lead_id,))] == ["created", "updated"]
    # The deal signs: the reward is the genuine referrer's.
    set_stage(api, atoken, lead_id, "signed")
    assert db.one("SELECT referrer_user_id, status FROM referral_rewards WHERE referral_id = %s", (ref["id"],)) == \
        {"referrer_user_id": genuine, "status": "pending"}
    assert [x["id"] for x in api.get("/api/v1/referrals", token=gtoken).json()["data"]] == [ref["id"]]

    # The second phone's holder verifies through getPhoneNumber without being
    # referred: the lead becomes theirs, and still nobody is credited.
    other, other_token = factory.user()
    r = api.post("/api/v1/leads", token=other_token, json=phone_code_body(pid, victims[1], name="周实"))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["referral"] is None and lead_of(db, r) == squatted[victims[1]]["id"]
    assert db.one("SELECT name, phone_verified, submitted_by_user_id FROM leads WHERE id = %s",
                  (squatted[victims[1]]["id"],)) == {"name": "周实", "phone_verified": 1, "submitted_by_user_id": other}
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE referrer_user_id = %s", (squatter,)) == 0


def test_submissions_per_user_are_capped_per_day(api, factory, db, fake):
    pid, _, _ = project_with_agents(factory, 1)
    uid, token = factory.user()
    phones = [unique_phone() for _ in range(5)]
    for phone in phones:
        submit_lead(api, token, pid, phone)

    def counts():
        return (db.scalar("SELECT COUNT(*) FROM leads WHERE project_id = %s", (pid,)),
                db.scalar("SELECT COUNT(*) FROM lead_submissions WHERE user_id = %s", (uid,)),
                db.scalar("SELECT SUM(submissions) FROM leads WHERE project_id = %s", (pid,)),
                db.scalar("SELECT COUNT(*) FROM lead_stage_history h JOIN leads l ON l.id = h.lead_id"
                          " WHERE l.project_id = %s", (pid,)))

    before = counts()
    # The sixth in 24 hours, a new phone or a known one: 429, nothing written.
    for phone in (unique_phone(), phones[0]):
        r = api.post("/api/v1/leads", token=token, json=lead_body(pid, phone))
        err = expect_error(r, 429, "RATE_LIMITED")
        assert "5 lead submissions in 24 hours" in err["message"]
        assert 86000 < int(r.headers["retry-after"]) <= 86400
    # With a phone code the cap is checked before WeChat is asked.
    asked = fake.count(PHONE_API)
    r = api.post("/api/v1/leads", token=token, json=phone_code_body(pid, unique_phone()))
    expect_error(r, 429, "RATE_LIMITED")
    assert fake.count(PHONE_API) == asked
    assert counts() == before and before[:2] == (5, 5)
    # Another buyer is not affected.
    submit_lead(api, factory.user()[1], pid)
    # A day later the window has moved on.
    db.exec("UPDATE lead_submissions SET created_at = created_at - INTERVAL 25 HOUR WHERE user_id = %s", (uid,))
    submit_lead(api, token, pid)


def test_another_submitter_never_changes_a_lead(api, factory, db):
    pid, [(agent, _)], _ = project_with_agents(factory, 1)
    first, token = factory.user()
    phone = unique_phone()
    lead_id = new_lead(api, db, token, pid, phone, name="张三", note="原始备注", channel="poster",
                       interest={"layout": "两室", "area": "80", "budget": "200万"})
    cols = ("name, note, interest_layout, interest_area, interest_budget, consent_at, privacy_notice_version,"
            " submitted_by_user_id, user_id, channel, agent_user_id, phone_verified, stage")
    before = db.one(f"SELECT {cols} FROM leads WHERE id = %s", (lead_id,))
    assert before["name"] == "张三" and before["submitted_by_user_id"] == first
    second, other = factory.user()
    r = submit_lead(api, other, pid, phone, name="李四", note="篡改的备注", channel="ad",
                    interest={"layout": "别墅", "area": "300", "budget": "1亿"})
    assert db.one(f"SELECT {cols} FROM leads WHERE id = %s", (lead_id,)) == before
    assert r.status_code == 201
    assert r.json()["data"]["submission"]["name"] == "李四"  # the receipt echoes what was sent
    assert db.scalar("SELECT submissions FROM leads WHERE id = %s", (lead_id,)) == 2
    assert db.one("SELECT lead_id, outcome, phone_verified FROM lead_submissions WHERE user_id = %s", (second,)) == \
        {"lead_id": lead_id, "outcome": "recorded", "phone_verified": 0}
    assert db.scalar("SELECT COUNT(*) FROM leads WHERE project_id = %s AND phone = %s", (pid, phone)) == 1
    assert db.scalar("SELECT COUNT(*) FROM lead_assignments WHERE lead_id = %s", (lead_id,)) == 1
    # The second submitter does not get the lead either.
    assert api.get("/api/v1/me/leads", token=other).json()["data"] == []


def shape(value):
    """The JSON's structure: keys and value types, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


def test_the_answer_is_the_same_whether_the_phone_is_known_or_not(api, factory, db):
    pid, _, _ = project_with_agents(factory, 1)
    # A known prospect (another user's lead) and an owner of the project.
    prospect = unique_phone()
    new_lead(api, db, factory.user()[1], pid, prospect, name="老客户")
    owner_phone = factory.owner(factory.unit(pid))
    _, _, _, code = owner_with_code(api, factory, pid)
    for bound in (False, True):
        _, token = factory.user()
        if bound:
            assert touch(api, token, code).status_code == 201
        answers = []
        for phone in (unique_phone(), prospect, owner_phone):
            r = api.post("/api/v1/leads", token=token, json=lead_body(pid, phone, name="王五"))
            answers.append(r)
        assert [r.status_code for r in answers] == [201, 201, 201]
        bodies = [r.json()["data"] for r in answers]
        assert [shape(b) for b in bodies[1:]] == [shape(bodies[0])] * 2
        for b, r in zip(bodies, answers):
            assert set(b) == {"submission", "referral"}
            assert b["referral"] == ({"status": "pending_verification"} if bound else None)
            assert b["submission"]["name"] == "王五" and b["submission"]["phone_verified"] is False
            assert "deduplicated" not in r.text and "ALREADY_CUSTOMER" not in r.text and "老客户" not in r.text
        # Receipt ids are fresh submission ids, not the lead's.
        ids = [b["submission"]["id"] for b in bodies]
        assert len(set(ids)) == 3
    assert db.scalar("SELECT name FROM leads WHERE project_id = %s AND phone = %s", (pid, prospect)) == "老客户"


def test_a_long_chinese_project_name_survives_every_message(api, factory, db):
    name = "天空之城" * 25  # 100 characters, 300 bytes: more than the old 128-byte buffers
    pid = factory.project(name=name)
    agent, atoken = factory.user(roles=[("agent", pid)])
    sup, stoken = factory.user(roles=[("supervisor", pid)])
    _, admin = factory.user(roles=[("admin", 0)])
    db.exec("INSERT INTO reward_rules (project_id, kind, amount) VALUES (%s, 'cash', 100)", (pid,))
    _, _, _, code = owner_with_code(api, factory, pid)
    _, token, phone = buyer_with_phone(factory)
    assert touch(api, token, code).status_code == 201
    r = submit_lead(api, token, pid, phone)
    assert r.json()["data"]["submission"]["project_name"] == name
    assert r.json()["data"]["referral"]["status"] == "locked"
    lead_id = lead_of(db, r)
    assert json.loads(events(db, "lead.assigned", ref_id=lead_id)[0]["payload"])["project_name"] == name
    assert api.get(f"/api/v1/leads/{lead_id}", token=atoken).json()["data"]["project"]["name"] == name
    assert api.get("/api/v1/leads", token=atoken).json()["data"][0]["project"]["name"] == name
    set_stage(api, atoken, lead_id, "signed")
    ref_id = db.scalar("SELECT id FROM referrals WHERE lead_id = %s", (lead_id,))
    payloads = [json.loads(e["payload"]) for e in events(db, "referral.stage_changed", ref_id=ref_id)]
    assert [p["project_name"] for p in payloads] == [name, name]
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (ref_id,))
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=stoken).status_code == 200
    assert json.loads(events(db, "reward.approved", ref_id=rid)[0]["payload"])["project_name"] == name
    assert api.post(f"/api/v1/admin/rewards/{rid}/pay", token=admin).status_code == 200
    r = api.get(f"/api/v1/admin/leads?project_id={pid}", token=stoken)
    assert r.status_code == 200 and r.json()["data"][0]["project"]["name"] == name
