"""Referral stages and rewards: the referral follows its lead, a reward is
created exactly once at signed (even under concurrent posts), moves pending
-> approved -> paid by two different people, and a deal cancelled after
signing (退房) cancels an unpaid reward or marks a paid one for clawback."""
import json
import threading

from conftest import Api, expect_error
from lead_support import buyer_with_phone, events, new_lead, owner_with_code, project_with_agents, set_stage


def referred_lead(api, factory, db, rule=("cash", 500000)):
    """A project (agent + supervisor + reward rule) and a referred lead.
    Returns a dict of the ids and tokens."""
    pid, [(agent, atoken)], (sup, stoken) = project_with_agents(factory, 1, supervisor=True)
    if rule:
        db.exec("INSERT INTO reward_rules (project_id, kind, amount) VALUES (%s, %s, %s)", (pid, *rule))
    referrer, rtoken, _, code = owner_with_code(api, factory, pid)
    _, token, phone = buyer_with_phone(factory)
    assert api.post("/api/v1/referrals/touch", token=token, json={"code": code}).status_code == 201
    lead_id = new_lead(api, db, token, pid, phone, name="孙七")
    ref_id = db.scalar("SELECT id FROM referrals WHERE lead_id = %s", (lead_id,))
    return dict(pid=pid, agent=agent, atoken=atoken, sup=sup, stoken=stoken, referrer=referrer, rtoken=rtoken,
                lead=lead_id, ref=ref_id)


def test_referral_follows_the_lead_and_tells_the_referrer(api, factory, db):
    x = referred_lead(api, factory, db)
    for stage in ("contacted", "visited", "subscribed"):
        d = set_stage(api, x["atoken"], x["lead"], stage)
        assert d["data"]["referral_id"] == x["ref"]
        assert db.scalar("SELECT stage FROM referrals WHERE id = %s", (x["ref"],)) == stage
    ev = events(db, "referral.stage_changed", ref_id=x["ref"], user_id=x["referrer"])
    payloads = [json.loads(e["payload"]) for e in ev]
    assert [p["stage"] for p in payloads] == ["new", "contacted", "visited", "subscribed"]
    assert payloads[2]["stage_label"] == "已到访" and payloads[2]["referee_name"] == "孙*"
    assert db.scalar("SELECT COUNT(*) FROM referral_rewards WHERE referral_id = %s", (x["ref"],)) == 0
    item = next(i for i in api.get("/api/v1/referrals", token=x["rtoken"]).json()["data"] if i["id"] == x["ref"])
    assert item["stage"] == "subscribed" and item["stage_label"] == "已认购"


def test_reward_is_created_exactly_once_under_concurrent_signed(api, factory, db, stack):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "subscribed")
    results = []
    barrier = threading.Barrier(6)

    def sign(token):
        a = Api(stack.url, stack.ca_cert)
        barrier.wait()
        r = a.post(f"/api/v1/leads/{x['lead']}/stage", token=token, json={"stage": "signed"})
        results.append((r.status_code, r.json()))
        a.session.close()

    tokens = [x["atoken"], x["stoken"]] * 3
    threads = [threading.Thread(target=sign, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 6, results
    assert sorted(b["data"]["changed"] for _, b in results) == [False] * 5 + [True]
    rewards = db.query("SELECT * FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    assert len(rewards) == 1
    w = rewards[0]
    assert (w["status"], w["kind"], w["amount"], w["referrer_user_id"], w["project_id"]) == \
        ("pending", "cash", 500000, x["referrer"], x["pid"])
    signed_events = [e for e in events(db, "referral.stage_changed", ref_id=x["ref"], user_id=x["referrer"])
                     if json.loads(e["payload"])["stage"] == "signed"]
    assert len(signed_events) == 1
    assert db.scalar("SELECT COUNT(*) FROM lead_stage_history WHERE lead_id = %s AND to_stage = 'signed'",
                     (x["lead"],)) == 1
    item = next(i for i in api.get("/api/v1/referrals", token=x["rtoken"]).json()["data"] if i["id"] == x["ref"])
    assert item["reward"] == {"status": "pending", "kind": "cash", "amount": 500000, "amount_display": "¥5000.00"}


def test_reward_approve_pay_and_clawback(api, factory, db):
    x = referred_lead(api, factory, db, rule=("points", 300))
    set_stage(api, x["atoken"], x["lead"], "signed")
    reward = db.one("SELECT id, status FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    rid = reward["id"]
    # Listed for the project's supervisor, not for another project's.
    r = api.get(f"/api/v1/admin/rewards?status=pending&project={x['pid']}", token=x["stoken"])
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["data"]] == [rid]
    assert r.json()["data"][0]["amount_display"] == "300积分"
    _, other = factory.user(roles=[("supervisor", factory.project())])
    assert all(i["id"] != rid for i in api.get("/api/v1/admin/rewards", token=other).json()["data"])
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=other).status_code == 404
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["atoken"]).status_code == 403
    # Pay before approval is refused; approve tells the referrer.
    r = api.post(f"/api/v1/admin/rewards/{rid}/pay", token=x["stoken"])
    assert r.status_code == 409 and "pending" in r.json()["error"]["message"]
    r = api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["stoken"])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["reward"]["status"] == "approved"
    ev = events(db, "reward.approved", ref_id=rid)
    assert len(ev) == 1 and ev[0]["user_id"] == x["referrer"]
    payload = json.loads(ev[0]["payload"])
    assert (payload["amount"], payload["amount_display"], payload["reward_name"]) == ("300", "300积分", "推荐奖励300积分")
    assert payload["reward_id"] == rid and payload["approved_at"] > 0
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["stoken"]).status_code == 409
    assert len(events(db, "reward.approved", ref_id=rid)) == 1
    # The payment is recorded by a second person.
    sup2, s2token = factory.user(roles=[("supervisor", x["pid"])])
    r = api.post(f"/api/v1/admin/rewards/{rid}/pay", token=s2token)
    assert r.status_code == 200, r.text
    row = db.one("SELECT status, approved_by, paid_by FROM referral_rewards WHERE id = %s", (rid,))
    assert row == {"status": "paid", "approved_by": x["sup"], "paid_by": sup2}
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE target_type = 'reward' AND target_id = %s", (rid,)) == 2
    # 退房 after payment: marked for clawback with the reason.
    set_stage(api, x["atoken"], x["lead"], "cancelled", reason="客户退房")
    row = db.one("SELECT status, cancel_reason FROM referral_rewards WHERE id = %s", (rid,))
    assert row == {"status": "clawback", "cancel_reason": "客户退房"}
    assert db.scalar("SELECT stage FROM referrals WHERE id = %s", (x["ref"],)) == "cancelled"
    last = events(db, "referral.stage_changed", ref_id=x["ref"], user_id=x["referrer"])[-1]
    assert json.loads(last["payload"])["stage"] == "cancelled" and json.loads(last["payload"])["reason"] == "客户退房"
    # A reward paid (now in clawback) cannot move to another referrer (after signing, only an admin may try).
    r2, _, _, _ = owner_with_code(api, factory, x["pid"])
    _, admin = factory.user(roles=[("admin", 0)])
    r = api.post(f"/api/v1/admin/referrals/{x['ref']}/reassign", token=admin,
                 json={"referrer_user_id": r2, "reason": "x"})
    assert r.status_code == 409 and "clawback" in r.json()["error"]["message"]


def test_cancel_before_payment_cancels_the_reward(api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["stoken"]).status_code == 200
    set_stage(api, x["atoken"], x["lead"], "cancelled", reason="贷款未批")
    row = db.one("SELECT status, cancel_reason, cancelled_at FROM referral_rewards WHERE id = %s", (rid,))
    assert row["status"] == "cancelled" and row["cancel_reason"] == "贷款未批" and row["cancelled_at"]
    r = api.post(f"/api/v1/admin/rewards/{rid}/pay", token=x["stoken"])
    assert r.status_code == 409 and "cancelled" in r.json()["error"]["message"]


def test_no_rule_no_reward_and_rules_are_set_by_admin(api, factory, db):
    x = referred_lead(api, factory, db, rule=None)
    set_stage(api, x["atoken"], x["lead"], "signed")
    assert db.scalar("SELECT COUNT(*) FROM referral_rewards WHERE referral_id = %s", (x["ref"],)) == 0
    admin, atoken = factory.user(roles=[("admin", 0)])
    url = f"/api/v1/admin/projects/{x['pid']}/reward-rule"
    r = api.put(url, token=atoken, json={"kind": "cash", "amount": 200000, "description": "老带新"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["rule"]["amount_display"] == "¥2000.00"
    r = api.put(url, token=atoken, json={"kind": "points", "amount": 50, "active": False})
    assert r.status_code == 200
    assert db.one("SELECT kind, amount, active FROM reward_rules WHERE project_id = %s", (x["pid"],)) == \
        {"kind": "points", "amount": 50, "active": 0}
    assert api.put(url, token=atoken, json={"kind": "gold", "amount": 1}).json()["error"]["field"] == "kind"
    assert api.put(url, token=atoken, json={"kind": "cash", "amount": 0}).json()["error"]["field"] == "amount"
    assert api.put(url, token=x["stoken"], json={"kind": "cash", "amount": 1}).status_code == 403
    assert api.put("/api/v1/admin/projects/99999999/reward-rule", token=atoken,
                   json={"kind": "cash", "amount": 1}).status_code == 404
    # The rule applies to deals signed after it.
    api.put(url, token=atoken, json={"kind": "cash", "amount": 200000})
    y_lead = new_lead(api, db, factory.user()[1], x["pid"])
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE lead_id = %s", (y_lead,)) == 0  # not referred
    set_stage(api, x["atoken"], y_lead, "signed")
    assert db.scalar("SELECT COUNT(*) FROM referral_rewards WHERE project_id = %s", (x["pid"],)) == 0


def test_one_supervisor_cannot_approve_and_pay(api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    assert api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["stoken"]).status_code == 200
    r = api.post(f"/api/v1/admin/rewards/{rid}/pay", token=x["stoken"])
    err = expect_error(r, 403, "FORBIDDEN")
    assert "approved" in err["message"] and "another" in err["message"]
    assert db.one("SELECT status, paid_by, paid_at FROM referral_rewards WHERE id = %s", (rid,)) == \
        {"status": "approved", "paid_by": None, "paid_at": None}
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'reward.pay' AND target_id = %s", (rid,)) == 0
    # An admin is a second person.
    admin, atoken = factory.user(roles=[("admin", 0)])
    r = api.post(f"/api/v1/admin/rewards/{rid}/pay", token=atoken)
    assert r.status_code == 200, r.text
    assert db.one("SELECT status, approved_by, paid_by FROM referral_rewards WHERE id = %s", (rid,)) == \
        {"status": "paid", "approved_by": x["sup"], "paid_by": admin}
    listed = api.get(f"/api/v1/admin/rewards?project={x['pid']}", token=x["stoken"]).json()["data"]
    assert (listed[0]["approved_by"], listed[0]["paid_by"]) == (x["sup"], admin)


def test_nobody_approves_their_own_reward(api, factory, db):
    x = referred_lead(api, factory, db)
    set_stage(api, x["atoken"], x["lead"], "signed")
    rid = db.scalar("SELECT id FROM referral_rewards WHERE referral_id = %s", (x["ref"],))
    # The referrer is made a supervisor of the project (through the API, so it applies at once).
    _, admin = factory.user(roles=[("admin", 0)])
    r = api.post("/api/v1/admin/staff", token=admin,
                 json={"user_id": x["referrer"], "role": "supervisor", "project_id": x["pid"]})
    assert r.status_code == 201, r.text
    err = expect_error(api.post(f"/api/v1/admin/rewards/{rid}/approve", token=x["rtoken"]), 403, "FORBIDDEN")
    assert "your own" in err["message"]
    assert db.scalar("SELECT status FROM referral_rewards WHERE id = %s", (rid,)) == "pending"
    assert events(db, "reward.approved", ref_id=rid) == []


def test_after_signing_only_an_admin_reassigns_the_referral(api, factory, db):
    x = referred_lead(api, factory, db)
    r2, _, _, _ = owner_with_code(api, factory, x["pid"])
    set_stage(api, x["atoken"], x["lead"], "signed")
    url = f"/api/v1/admin/referrals/{x['ref']}/reassign"
    r = api.post(url, token=x["stoken"], json={"referrer_user_id": r2, "reason": "补录"})
    err = expect_error(r, 403, "FORBIDDEN")
    assert "admin" in err["message"]
    assert db.scalar("SELECT referrer_user_id FROM referrals WHERE id = %s", (x["ref"],)) == x["referrer"]
    assert db.scalar("SELECT referrer_user_id FROM referral_rewards WHERE referral_id = %s", (x["ref"],)) == \
        x["referrer"]
    admin, atoken = factory.user(roles=[("admin", 0)])
    r = api.post(url, token=atoken, json={"referrer_user_id": r2, "reason": "补录"})
    assert r.status_code == 200, r.text
    assert db.one("SELECT referrer_user_id, status FROM referral_rewards WHERE referral_id = %s", (x["ref"],)) == \
        {"referrer_user_id": r2, "status": "pending"}
    assert db.scalar("SELECT actor_user_id FROM audit_log WHERE action = 'referral.reassign' AND target_id = %s",
                     (x["ref"],)) == admin


def test_a_referral_goes_only_to_an_owner_of_its_project_and_a_refusal_reveals_nothing(api, factory, db):
    x = referred_lead(api, factory, db)
    url = f"/api/v1/admin/referrals/{x['ref']}/reassign"
    elsewhere, _, _, _ = owner_with_code(api, factory, factory.project())
    buyer, _ = factory.user()
    referee = db.scalar("SELECT referee_user_id FROM referrals WHERE id = %s", (x["ref"],))
    errors = []
    for target in (elsewhere, buyer, 99999999, referee):
        r = api.post(url, token=x["stoken"], json={"referrer_user_id": target, "reason": "x"})
        errors.append(expect_error(r, 422, "UNPROCESSABLE", "referrer_user_id"))
    assert all(e == errors[0] for e in errors), errors
    assert db.scalar("SELECT referrer_user_id FROM referrals WHERE id = %s", (x["ref"],)) == x["referrer"]
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.reassign' AND target_id = %s",
                     (x["ref"],)) == 0
    same_project, _, _, _ = owner_with_code(api, factory, x["pid"])
    r = api.post(url, token=x["stoken"], json={"referrer_user_id": same_project, "reason": "业主确认"})
    assert r.status_code == 200, r.text
