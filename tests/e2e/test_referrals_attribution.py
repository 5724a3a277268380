"""Attribution: the first valid touch binds the referee for the protection
period, later touches are recorded without overriding it, an expired binding
gives way, concurrent touches have exactly one winner, rejected touches
change nothing, the referral is locked when the referee leaves a lead with
their own (verified) phone, and staff can reassign it (audited)."""
import json
import threading

from conftest import Api, unique_phone
from lead_support import (buyer_with_phone, events, lead_body, lead_of, owner_with_code, project_with_agents,
                          submit_lead, touch)


def active_bindings(db, referee):
    return db.query("SELECT * FROM referral_bindings WHERE referee_user_id = %s AND status = 'active'", (referee,))


def test_first_touch_binds_and_later_touches_are_recorded(api, factory, db):
    pid = factory.project()
    r1, _, _, code1 = owner_with_code(api, factory, pid)
    r2, _, _, code2 = owner_with_code(api, factory, pid)
    referee, token = factory.user()
    r = touch(api, token, code1.lower())  # codes are case-insensitive
    assert r.status_code == 201, r.text
    d = r.json()["data"]
    assert d["bound"] is True and d["new_binding"] is True and d["referrer_name"] == "业*"
    binding = active_bindings(db, referee)
    assert len(binding) == 1 and binding[0]["referrer_user_id"] == r1
    days = db.scalar("SELECT TIMESTAMPDIFF(DAY, bound_at, expires_at) FROM referral_bindings WHERE id = %s",
                     (binding[0]["id"],))
    assert days == 90 and d["expires_at"] > 0
    # The same referrer again: still bound, nothing new.
    r = touch(api, token, code1)
    assert r.status_code == 200 and r.json()["data"]["new_binding"] is False
    # Another referrer: recorded, the binding holds.
    r = touch(api, token, code2)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "ALREADY_BOUND"
    assert [b["referrer_user_id"] for b in active_bindings(db, referee)] == [r1]
    outcomes = db.query("SELECT referrer_user_id, outcome, binding_id FROM referral_touches"
                        " WHERE referee_user_id = %s ORDER BY id", (referee,))
    assert outcomes == [{"referrer_user_id": r1, "outcome": "bound", "binding_id": binding[0]["id"]},
                        {"referrer_user_id": r1, "outcome": "same_referrer", "binding_id": binding[0]["id"]},
                        {"referrer_user_id": r2, "outcome": "recorded", "binding_id": binding[0]["id"]}]


def test_expired_binding_gives_way_to_the_next_touch(api, factory, db):
    pid = factory.project()
    r1, _, _, code1 = owner_with_code(api, factory, pid)
    r2, _, _, code2 = owner_with_code(api, factory, pid)
    referee, token = factory.user()
    assert touch(api, token, code1).status_code == 201
    old = active_bindings(db, referee)[0]["id"]
    db.exec("UPDATE referral_bindings SET bound_at = NOW(3) - INTERVAL 91 DAY,"
            " expires_at = NOW(3) - INTERVAL 1 DAY WHERE id = %s", (old,))
    # A lead left now is not locked to the expired binding.
    pid2, _, _ = project_with_agents(factory, 1)
    d = submit_lead(api, token, pid2).json()["data"]
    assert d["referral"] is None
    r = touch(api, token, code2)
    assert r.status_code == 201, r.text
    rows = db.query("SELECT id, referrer_user_id, status FROM referral_bindings WHERE referee_user_id = %s ORDER BY id",
                    (referee,))
    assert [(x["referrer_user_id"], x["status"]) for x in rows] == [(r1, "expired"), (r2, "active")]


def test_concurrent_touches_have_exactly_one_winner(api, factory, db, stack):
    pid = factory.project()
    owners = [owner_with_code(api, factory, pid) for _ in range(4)]
    for round_ in range(3):
        referee, token = factory.user()
        results = []
        barrier = threading.Barrier(len(owners))

        def go(code):
            a = Api(stack.url, stack.ca_cert)
            barrier.wait()
            r = a.post("/api/v1/referrals/touch", token=token, json={"code": code})
            results.append((r.status_code, r.json()))
            a.session.close()

        threads = [threading.Thread(target=go, args=(o[3],)) for o in owners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _ in results)
        assert statuses == [201, 409, 409, 409], results
        assert all(b["error"]["code"] == "ALREADY_BOUND" for s, b in results if s == 409)
        bindings = active_bindings(db, referee)
        assert len(bindings) == 1
        assert db.scalar("SELECT COUNT(*) FROM referral_touches WHERE referee_user_id = %s AND outcome = 'bound'",
                         (referee,)) == 1
        assert db.scalar("SELECT COUNT(*) FROM referral_touches WHERE referee_user_id = %s AND outcome = 'recorded'",
                         (referee,)) == 3


def test_rejected_touches_change_nothing(api, factory, db):
    pid = factory.project()
    owner, otoken, ophone, code = owner_with_code(api, factory, pid)
    before = (db.scalar("SELECT COUNT(*) FROM referral_touches"), db.scalar("SELECT COUNT(*) FROM referral_bindings"))
    # Self-referral: the same user, or another account with the same phone.
    r = touch(api, otoken, code)
    assert r.status_code == 422 and r.json()["error"]["code"] == "SELF_REFERRAL"
    _, twin = factory.user(phone=ophone)
    r = touch(api, twin, code)
    assert r.status_code == 422 and r.json()["error"]["code"] == "SELF_REFERRAL"
    # Unknown, malformed or disabled codes.
    _, token = factory.user()
    for bad in ("ZZZZZZZZ", "not-a-code", "A" * 64):
        r = touch(api, token, bad)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "REFERRAL_CODE_UNKNOWN" and r.json()["error"]["field"] == "code"
    db.exec("UPDATE referral_codes SET status = 'disabled' WHERE code = %s", (code,))
    assert touch(api, token, code).json()["error"]["code"] == "REFERRAL_CODE_UNKNOWN"
    db.exec("UPDATE referral_codes SET status = 'active' WHERE code = %s", (code,))
    # Already a customer of the named project: in its roster, or an open lead there.
    unit = factory.unit(pid)
    cust_phone = factory.owner(unit)
    _, cust = factory.user(phone=cust_phone)
    r = touch(api, cust, code, project_id=pid)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_CUSTOMER"
    lead_phone = unique_phone()
    _, prospect = factory.user(phone=lead_phone)
    submit_lead(api, prospect, pid, lead_phone)
    r = touch(api, prospect, code, project_id=pid)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_CUSTOMER"
    r = touch(api, token, code, project_id=99999999)
    assert r.status_code == 404 and r.json()["error"]["field"] == "project_id"
    assert touch(api, token, None).status_code == 400
    assert (db.scalar("SELECT COUNT(*) FROM referral_touches"),
            db.scalar("SELECT COUNT(*) FROM referral_bindings")) == before


def test_lead_locks_the_referral(api, factory, db):
    pid, [(agent, agent_token)], _ = project_with_agents(factory, 1)
    referrer, rtoken, _, code = owner_with_code(api, factory, pid)
    referee, token, phone = buyer_with_phone(factory)
    assert touch(api, token, code, project_id=pid).status_code == 201
    r = submit_lead(api, token, pid, phone, name="赵六")
    d = r.json()["data"]
    lead_id = lead_of(db, r)
    assert d["referral"]["status"] == "locked" and d["submission"]["phone_verified"] is True
    assert db.scalar("SELECT channel FROM leads WHERE id = %s", (lead_id,)) == "referral"
    ref = db.one("SELECT * FROM referrals WHERE lead_id = %s", (lead_id,))
    binding = active_bindings(db, referee)[0]
    assert (ref["referrer_user_id"], ref["referee_user_id"], ref["project_id"], ref["stage"]) == \
        (referrer, referee, pid, "new")
    assert ref["binding_id"] == binding["id"] and ref["protection_expires_at"] == binding["expires_at"]
    assert d["referral"]["referral_id"] == ref["id"]
    ev = events(db, "referral.stage_changed", ref_id=ref["id"])
    assert len(ev) == 1 and ev[0]["user_id"] == referrer
    assert json.loads(ev[0]["payload"])["referee_name"] == "赵*"
    # Submitting again keeps the one referral.
    again = submit_lead(api, token, pid, phone, name="赵六").json()["data"]
    assert again["referral"]["status"] == "existing" and again["referral"]["referral_id"] == ref["id"]
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE lead_id = %s", (lead_id,)) == 1
    # The referrer sees the referee masked.
    r = api.get("/api/v1/referrals", token=rtoken)
    assert r.status_code == 200
    item = next(x for x in r.json()["data"] if x["id"] == ref["id"])
    assert item["referee_name"] == "赵*" and item["referee_phone"] == phone[:3] + "****" + phone[-4:]
    assert item["stage"] == "new" and item["reward"] is None and item["protection_expires_at"] > 0
    assert phone not in r.text
    # The lead's agent sees it; another agent of the project, or of another project, does not.
    r = api.get(f"/api/v1/agent/referrals?project={pid}", token=agent_token)
    assert [x["id"] for x in r.json()["data"]] == [ref["id"]]
    assert r.json()["data"][0]["referrer"]["user_id"] == referrer and r.json()["data"][0]["assigned_to_me"] is True
    _, colleague = factory.user(roles=[("agent", pid)])
    assert api.get(f"/api/v1/agent/referrals?project={pid}", token=colleague).json()["data"] == []
    _, [(_, outsider)], _ = project_with_agents(factory, 1)
    assert api.get("/api/v1/agent/referrals", token=outsider).json()["data"] == []


def test_unverified_lead_of_a_referee_waits_for_verification(api, factory, db):
    pid, _, _ = project_with_agents(factory, 1)
    referrer, _, _, code = owner_with_code(api, factory, pid)
    referee, token = factory.user()  # no bound phone
    assert touch(api, token, code).status_code == 201
    phone = unique_phone()
    r = submit_lead(api, token, pid, phone)
    lead_id = lead_of(db, r)
    assert r.json()["data"]["referral"] == {"status": "pending_verification"}
    assert db.one("SELECT phone_verified, channel FROM leads WHERE id = %s", (lead_id,)) == \
        {"phone_verified": 0, "channel": "organic"}
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE lead_id = %s", (lead_id,)) == 0
    # The same referee proves the phone (getPhoneNumber): the referral locks on the same lead.
    body = lead_body(pid, None)
    del body["phone"]
    body["phone_code"] = f"P_{phone}"
    r = api.post("/api/v1/leads", token=token, json=body)
    assert r.status_code == 201, r.text
    assert lead_of(db, r) == lead_id and r.json()["data"]["referral"]["status"] == "locked"
    assert db.one("SELECT referrer_user_id, referee_user_id FROM referrals WHERE lead_id = %s", (lead_id,)) == \
        {"referrer_user_id": referrer, "referee_user_id": referee}
    assert db.one("SELECT phone_verified, channel FROM leads WHERE id = %s", (lead_id,)) == \
        {"phone_verified": 1, "channel": "referral"}


def test_lead_for_an_existing_customer_is_not_locked(api, factory, db):
    pid, _, _ = project_with_agents(factory, 1)
    referrer, _, rphone, code = owner_with_code(api, factory, pid)
    # The phone is an owner of the project.
    owner_phone = factory.owner(factory.unit(pid))
    _, owner_token = factory.user(phone=owner_phone)
    assert touch(api, owner_token, code).status_code == 201  # no project named: bound
    d = submit_lead(api, owner_token, pid, owner_phone).json()["data"]
    assert d["referral"] == {"status": "rejected", "reason": "ALREADY_CUSTOMER"}
    # The phone's holder had left a lead before they were bound.
    _, walk_in, walk_in_phone = buyer_with_phone(factory)
    submit_lead(api, walk_in, pid, walk_in_phone)
    assert touch(api, walk_in, code).status_code == 201
    d = submit_lead(api, walk_in, pid, walk_in_phone).json()["data"]
    assert d["referral"] == {"status": "rejected", "reason": "ALREADY_CUSTOMER"}
    # The referrer's own phone, proven by another WeChat account.
    _, twin = factory.user()
    assert touch(api, twin, code).status_code == 201
    body = lead_body(pid, None)
    del body["phone"]
    body["phone_code"] = f"P_{rphone}"
    r = api.post("/api/v1/leads", token=twin, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["referral"] == {"status": "rejected", "reason": "SELF_REFERRAL"}
    assert db.scalar("SELECT COUNT(*) FROM referrals WHERE referrer_user_id = %s", (referrer,)) == 0


def test_staff_reassign_is_audited(api, factory, db):
    pid, _, (sup, stoken) = project_with_agents(factory, 1, supervisor=True)
    r1, _, _, code = owner_with_code(api, factory, pid)
    r2, _, _, _ = owner_with_code(api, factory, pid)
    referee, token, phone = buyer_with_phone(factory)
    touch(api, token, code)
    lead_id = lead_of(db, submit_lead(api, token, pid, phone))
    ref_id = db.scalar("SELECT id FROM referrals WHERE lead_id = %s", (lead_id,))
    url = f"/api/v1/admin/referrals/{ref_id}/reassign"
    # Bad input and rule violations change nothing.
    assert api.post(url, token=stoken, json={"referrer_user_id": r2}).json()["error"]["field"] == "reason"
    r = api.post(url, token=stoken, json={"referrer_user_id": referee, "reason": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "UNPROCESSABLE"
    buyer, _ = factory.user()
    r = api.post(url, token=stoken, json={"referrer_user_id": buyer, "reason": "x"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "referrer_user_id"
    r = api.post(url, token=stoken, json={"referrer_user_id": r1, "reason": "x"})
    assert r.status_code == 409
    _, other_sup = factory.user(roles=[("supervisor", factory.project())])
    assert api.post(url, token=other_sup, json={"referrer_user_id": r2, "reason": "x"}).status_code == 404
    assert db.scalar("SELECT referrer_user_id FROM referrals WHERE id = %s", (ref_id,)) == r1
    r = api.post(url, token=stoken, json={"referrer_user_id": r2, "reason": "业主提供了聊天记录"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["referral"]["previous_referrer_user_id"] == r1
    assert db.scalar("SELECT referrer_user_id FROM referrals WHERE id = %s", (ref_id,)) == r2
    audit = db.one("SELECT actor_user_id, JSON_VALUE(detail, '$.from') AS f, JSON_VALUE(detail, '$.to') AS t,"
                   " JSON_VALUE(detail, '$.reason') AS reason FROM audit_log"
                   " WHERE action = 'referral.reassign' AND target_id = %s", (ref_id,))
    assert audit == {"actor_user_id": sup, "f": str(r1), "t": str(r2), "reason": "业主提供了聊天记录"}
