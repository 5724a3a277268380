"""Outbox delivery: rows written straight into notification_events are sent by
the dispatcher as WeChat subscribe messages, and every row ends in a known
state. Checked against the database and the fake WeChat's request log."""
import json

from conftest import unique
from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import (REPAIR_PAYLOAD, REPAIR_TPL, SEND, TOKEN, emit, grants, metric, sends_to, subscriber,
                            wait_final, wait_for)


def test_send_consumes_one_grant_and_keeps_the_exact_msgid(api, fake, db, factory):
    # a msgid above 2^53, which a double cannot hold exactly
    fake.post("/__fake/config", {"msgid_base": 9007199254740992})  # the next is 2^53 + 1
    uid, token, openid = subscriber(factory, api, times=2)
    assert grants(db, uid) == 2
    sent_before = metric(api, "sent")
    eid = emit(db, uid, ref_id=4242)

    e = wait_final(db, eid)
    assert e["status"] == "sent", e
    assert e["attempts"] == 1
    assert e["msgid"] == "9007199254740993"
    assert e["template_id"] == REPAIR_TPL
    assert e["sent_at"] is not None and e["lease_owner"] is None
    assert grants(db, uid) == 1
    reqs = sends_to(fake, openid)
    assert [r["errcode"] for r in reqs][-1] == 0
    body = reqs[-1]["body"]
    assert body["template_id"] == REPAIR_TPL
    assert body["page"] == "pages/repair/detail?id=4242"
    assert body["data"] == {
        "thing1": {"value": "水电维修"},
        "character_string2": {"value": "R20250601-0001"},
        "phrase3": {"value": "已派单"},
        "time4": {"value": "2025-06-01 14:05"},
        "thing5": {"value": "王师傅将联系您上门"},
    }
    # counted just after the row is recorded
    wait_for(lambda: metric(api, "sent") >= sent_before + 1, what="the send counted")
    assert metric(api, "sent") == sent_before + 1

    r = api.get("/api/v1/notifications", token=token)
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["id"] == eid and item["status"] == "sent" and item["delivery"] == "sent"
    assert item["title"] == "报修已派单"
    assert item["summary"] == "您的水电维修报修已派给王师傅，工单号R20250601-0001"
    assert item["page"] == "pages/repair/detail?id=4242"


def test_no_grant_gives_no_quota_without_calling_wechat(api, fake, db, factory):
    openid = "o_n_nogrant_" + str(id(db))
    uid, token = factory.user(openid=openid)
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "no_quota", e
    assert e["attempts"] == 0
    assert e["last_errcode"] is None
    assert "no subscription grant" in e["last_error"]
    assert sends_to(fake, openid) == []
    r = api.get("/api/v1/notifications", token=token)
    assert r.json()["data"][0]["delivery"] == "not_sent"
    r = api.get("/api/v1/subscriptions", token=token)
    assert REPAIR_TPL in r.json()["data"]["ask_again"]


def test_43101_gives_no_quota_and_clears_the_grant(api, fake, db, factory):
    uid, token, openid = subscriber(factory, api, times=2)
    fake.post("/__fake/quota", {"openid": openid, "template_id": REPAIR_TPL, "count": 0})
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "no_quota", e
    assert e["last_errcode"] == 43101
    assert e["attempts"] == 1
    assert [r["errcode"] for r in sends_to(fake, openid)][-1] == 43101
    # WeChat holds nothing for this user: ask again
    assert grants(db, uid) == 0
    r = api.get("/api/v1/subscriptions", token=token)
    assert REPAIR_TPL in r.json()["data"]["ask_again"]


def test_busy_twice_then_success_is_sent_after_three_attempts(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    fake.fail(SEND, errcode=-1, count=2, match={"touser": openid})
    retrying_before = metric(api, "retrying")
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "sent", e
    assert e["attempts"] == 3
    assert e["last_errcode"] == -1  # the last failure stays visible
    codes = [r["errcode"] for r in sends_to(fake, openid)]
    assert codes.count(-1) == 2 and codes[-1] == 0, codes
    assert grants(db, uid) == 0
    assert metric(api, "retrying") == retrying_before + 2


def test_transient_errors_end_dead_after_max_attempts(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    fake.fail(SEND, errcode=-1, count=4, match={"touser": openid})  # notification_max_attempts = 4 in the tests
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "dead", e
    assert e["attempts"] == 4
    assert e["last_errcode"] == -1
    assert [r["errcode"] for r in sends_to(fake, openid)].count(-1) == 4
    assert grants(db, uid) == 1  # nothing was delivered, nothing consumed


def test_http_502_is_retried(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    fake.fail(SEND, count=1, http_status=502, body="bad gateway", match={"touser": openid})
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "sent", e
    assert e["attempts"] == 2
    assert e["last_error"].startswith("WeChat -1003")


def test_permanent_error_is_failed_with_wechat_errmsg(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    fake.fail(SEND, errcode=47003, errmsg="argument invalid! data.thing1.value invalid", count=1,
              match={"touser": openid})
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "failed", e
    assert e["attempts"] == 1
    assert e["last_errcode"] == 47003
    assert "argument invalid! data.thing1.value invalid" in e["last_error"]
    assert len(sends_to(fake, openid)) >= 1
    assert grants(db, uid) == 1


def test_rejected_template_is_reported_with_its_kind(stack, api, fake, db, factory):
    uid, _, _ = subscriber(factory, api)
    fake.post("/__fake/templates", {REPAIR_TPL: None})  # WeChat no longer knows it: 40037
    before = metric(api, "template_rejected:repair.accepted")
    eid = emit(db, uid, kind="repair.accepted")

    e = wait_final(db, eid)
    assert e["status"] == "failed", e
    assert e["last_errcode"] == 40037
    assert "repair.accepted" in e["last_error"] and REPAIR_TPL in e["last_error"]
    assert metric(api, "template_rejected:repair.accepted") == before + 1
    with open(stack.gateway.log, encoding="utf-8") as f:
        log = f.read()
    assert "configured for kind repair.accepted was rejected by WeChat (40037)" in log


def test_expired_token_is_refreshed_once(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api, times=2)
    warm = emit(db, uid)  # after the fake's reset the gateway needs a token first
    assert wait_final(db, warm)["status"] == "sent"
    fake.expire_tokens()
    fake.post("/__fake/requests/clear")
    eid = emit(db, uid)

    e = wait_final(db, eid)
    assert e["status"] == "sent", e
    assert e["attempts"] == 1  # the refresh and replay are part of one attempt
    assert fake.count(TOKEN) == 1
    assert [r["errcode"] for r in sends_to(fake, openid)] == [42001, 0]


def test_long_and_multibyte_values_are_cut_on_character_boundaries(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    category = "卫生间地漏反水导致楼下天花板渗水发霉需要尽快处理谢谢"  # 27 characters, 3 bytes each
    payload = dict(REPAIR_PAYLOAD,
                   category=category,
                   ticket_no="R" + "0123456789" * 4,
                   state_label="处理中处理中",
                   engineer_name="abcdefghijklm😀工程师",
                   time="2025-06-01T14:05:30+08:00")
    eid = emit(db, uid, payload=payload)

    e = wait_final(db, eid)
    assert e["status"] == "sent", e  # the fake checks every value against WeChat's rules
    data = sends_to(fake, openid)[-1]["body"]["data"]
    assert data["thing1"]["value"] == category[:20]  # Python slices code points
    assert data["character_string2"]["value"] == ("R" + "0123456789" * 4)[:32]
    assert data["phrase3"]["value"] == "处理中处理"
    assert data["time4"]["value"] == "2025-06-01 14:05"
    # 13 letters, an emoji (4 bytes), 3 CJK and the pattern's 6: cut to 20 characters
    assert data["thing5"]["value"] == "abcdefghijklm😀工程师将联系您上门"[:20]


def test_missing_payload_keys_become_placeholders(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    eid = emit(db, uid, payload={})

    e = wait_final(db, eid)
    assert e["status"] == "sent", e
    data = sends_to(fake, openid)[-1]["body"]["data"]
    created = db.scalar("SELECT DATE_FORMAT(created_at, '%%Y-%%m-%%d %%H:%%i') FROM notification_events"
                        " WHERE id = %s", (eid,))
    assert data == {"thing1": {"value": "-"}, "character_string2": {"value": "-"},
                    "phrase3": {"value": "已派单"}, "time4": {"value": created},
                    "thing5": {"value": "工程师将联系您上门"}}


def test_unknown_kind_fails_without_calling_wechat(api, fake, db, factory):
    uid, _, openid = subscriber(factory, api)
    eid = emit(db, uid, kind="repair.unheard_of")

    e = wait_final(db, eid)
    assert e["status"] == "failed", e
    assert e["attempts"] == 0
    assert e["last_error"] == "no template configured for kind repair.unheard_of"
    assert sends_to(fake, openid) == []
    assert grants(db, uid) == 1


def test_events_claimed_together_each_follow_their_own_grant(api, fake, db, factory):
    # Written in one statement, so the dispatcher claims them together: one
    # user holds a single one-time grant and has two events of its template;
    # another user holds nothing, for two templates.
    uid, _, openid = subscriber(factory, api, times=1)
    other_openid = unique("o_n_batch_")
    other, _ = factory.user(openid=other_openid)
    payload = json.dumps(REPAIR_PAYLOAD, ensure_ascii=False)
    rows = [(uid, "repair.dispatched"), (uid, "repair.dispatched"), (other, "repair.dispatched"),
            (other, "lead.assigned")]
    db.exec("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload) VALUES "
            + ", ".join(["(%s, %s, 'repair', 1, %s)"] * len(rows)),
            tuple(v for user, kind in rows for v in (kind, user, payload)))
    ids = [r["id"] for r in db.query("SELECT id FROM notification_events WHERE user_id IN (%s, %s) ORDER BY id",
                                     (uid, other))]
    assert len(ids) == 4
    mine, theirs = [wait_final(db, i) for i in ids[:2]], [wait_final(db, i) for i in ids[2:]]

    # the grant covers one send; the other event finds none left
    assert sorted(e["status"] for e in mine) == ["no_quota", "sent"], mine
    unsent = next(e for e in mine if e["status"] == "no_quota")
    assert unsent["attempts"] == 0 and unsent["last_errcode"] is None
    assert unsent["last_error"] == f"no subscription grant for template {REPAIR_TPL}; not sent"
    assert grants(db, uid) == 0
    # (an access token a previous test expired may cost one 40001 first)
    assert [r["errcode"] for r in sends_to(fake, openid)].count(0) == 1
    # each no_quota names its own template, and nothing went to WeChat
    assert [(e["status"], e["last_error"], e["lease_owner"]) for e in theirs] == [
        ("no_quota", f"no subscription grant for template {REPAIR_TPL}; not sent", None),
        ("no_quota", "no subscription grant for template TPL_LEAD_ASSIGNED; not sent", None),
    ]
    assert sends_to(fake, other_openid) == []
