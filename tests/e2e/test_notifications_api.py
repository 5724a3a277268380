"""The notification endpoints: subscriptions, the user's inbox, and the
staff view of the outbox with its retry."""
import json
import os
import subprocess

import devstack
from conftest import expect_error, expect_ok
from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import REPAIR_TPL, emit, event, grants, sends_to, subscriber, wait_final

REWARD_TPL = "TPL_REWARD"


def by_id(templates):
    return {t["template_id"]: t for t in templates}


# ---- subscriptions -----------------------------------------------------------

def test_accepting_counts_one_time_grants(api, db, factory):
    uid, token = factory.user()
    d = expect_ok(api.get("/api/v1/subscriptions", token=token))
    assert set(d["ask_again"]) == {"TPL_REPAIR_STATUS", "TPL_LEAD_ASSIGNED", "TPL_REFERRAL_STAGE", "TPL_REWARD",
                                   "TPL_COMPLAINT_STATUS"}
    repair = by_id(d["templates"])[REPAIR_TPL]
    assert repair["one_time_grants"] == 0 and repair["ask_again"] is True and repair["long_term"] is False
    assert "repair.dispatched" in repair["kinds"] and "repair.resolved" in repair["kinds"]

    r = api.post("/api/v1/subscriptions", token=token,
                 json={"accepted": [REPAIR_TPL, REWARD_TPL, REPAIR_TPL], "rejected": ["TPL_LEAD_ASSIGNED"]})
    d = expect_ok(r)
    assert by_id(d["templates"])[REPAIR_TPL]["one_time_grants"] == 1  # one popup, one grant
    assert REPAIR_TPL not in d["ask_again"] and "TPL_LEAD_ASSIGNED" in d["ask_again"]
    expect_ok(api.post("/api/v1/subscriptions", token=token, json={"accepted": [REPAIR_TPL]}))
    assert grants(db, uid) == 2
    assert grants(db, uid, REWARD_TPL) == 1
    row = db.one("SELECT * FROM notification_grants WHERE user_id = %s AND template_id = 'TPL_LEAD_ASSIGNED'",
                 (uid,))
    assert row["one_time_count"] == 0 and row["last_rejected_at"] is not None
    d = expect_ok(api.get("/api/v1/subscriptions", token=token))
    assert by_id(d["templates"])[REPAIR_TPL]["one_time_grants"] == 2


def test_rejecting_keeps_one_time_grants(api, db, factory):
    uid, token, _ = subscriber(factory, api)
    expect_ok(api.post("/api/v1/subscriptions", token=token, json={"rejected": [REPAIR_TPL]}))
    assert grants(db, uid) == 1


def test_subscriptions_bad_input_is_400_and_writes_nothing(api, db, factory):
    uid, token = factory.user()
    err = expect_error(api.post("/api/v1/subscriptions", token=token,
                                json={"accepted": [REPAIR_TPL, "TPL_NOPE", "TPL_GONE"]}), 400, "INVALID_FIELD",
                       "accepted")
    assert "TPL_NOPE" in err["message"] and "TPL_GONE" in err["message"]
    err = expect_error(api.post("/api/v1/subscriptions", token=token, json={"rejected": ["TPL_X"]}), 400,
                       "INVALID_FIELD", "rejected")
    assert "TPL_X" in err["message"]
    expect_error(api.post("/api/v1/subscriptions", token=token, json={"accepted": REPAIR_TPL}), 400,
                 "INVALID_FIELD", "accepted")
    expect_error(api.post("/api/v1/subscriptions", token=token, json={"accepted": [7]}), 400, "INVALID_FIELD",
                 "accepted")
    expect_error(api.post("/api/v1/subscriptions", token=token, json={"accepted": [REPAIR_TPL] * 21}), 400,
                 "INVALID_FIELD", "accepted")
    expect_error(api.post("/api/v1/subscriptions", token=token, json={}), 400, "MISSING_FIELD", "accepted")
    expect_error(api.post("/api/v1/subscriptions", token=token,
                          json={"accepted": [REPAIR_TPL], "rejected": [REPAIR_TPL]}), 400, "INVALID_FIELD", "rejected")
    assert db.scalar("SELECT COUNT(*) FROM notification_grants WHERE user_id = %s", (uid,)) == 0
    expect_error(api.get("/api/v1/subscriptions"), 401, "UNAUTHENTICATED")


# ---- the inbox -----------------------------------------------------------------

def test_inbox_lists_own_events_newest_first_with_cursor(api, db, factory):
    uid, token = factory.user()
    other, _ = factory.user()
    ids = [emit(db, uid, kind="referral.stage_changed", ref_type="referral", ref_id=9,
                payload={"referee_name": "李*", "stage_label": "已到访", "project_name": f"云湖{i}号"})
           for i in range(3)]
    emit(db, other)
    for i in ids:
        wait_final(db, i)  # no grant: no_quota, still listed

    d1 = api.get("/api/v1/notifications?limit=2", token=token)
    page1 = expect_ok(d1)
    assert [x["id"] for x in page1] == [ids[2], ids[1]]
    cursor = d1.json()["next_cursor"]
    assert cursor
    d2 = api.get(f"/api/v1/notifications?limit=2&cursor={cursor}", token=token)
    page2 = expect_ok(d2)
    assert [x["id"] for x in page2] == [ids[0]]
    assert d2.json()["next_cursor"] is None
    item = page2[0]
    assert item["title"] == "推荐进度更新"
    assert item["summary"] == "您推荐的李*在云湖0号的进度：已到访"
    assert item["page"] == "pages/referral/index"
    assert item["status"] == "no_quota" and item["delivery"] == "not_sent"
    assert item["ref_type"] == "referral" and item["ref_id"] == 9 and item["sent_at"] is None
    assert isinstance(item["created_at"], int)
    expect_error(api.get("/api/v1/notifications?limit=0", token=token), 400, "INVALID_FIELD", "limit")
    expect_error(api.get("/api/v1/notifications?cursor=abc", token=token), 400, "INVALID_FIELD", "cursor")


# ---- staff view -------------------------------------------------------------------

def test_admin_list_filters_and_pages(api, db, factory):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user()
    first = emit(db, uid, kind="lead.assigned", ref_type="lead")
    second = emit(db, uid, kind="lead.assigned", ref_type="lead")
    wait_final(db, first)
    wait_final(db, second)

    q = f"/api/v1/admin/notifications?user={uid}&kind=lead.assigned&status=no_quota&limit=1"
    r = api.get(q, token=admin)
    page = expect_ok(r)
    assert [x["id"] for x in page] == [second]
    row = page[0]
    assert row["user_id"] == uid and row["status"] == "no_quota" and row["attempts"] == 0
    assert row["template_id"] is None and row["msgid"] is None and "no subscription grant" in row["last_error"]
    r2 = api.get(q + f"&cursor={r.json()['next_cursor']}", token=admin)
    assert [x["id"] for x in expect_ok(r2)] == [first]
    assert expect_ok(api.get(f"/api/v1/admin/notifications?user={uid}&status=sent", token=admin)) == []
    expect_error(api.get("/api/v1/admin/notifications?status=lost", token=admin), 400, "INVALID_FIELD", "status")
    expect_error(api.get("/api/v1/admin/notifications?user=x", token=admin), 400, "INVALID_FIELD", "user")


def test_admin_list_follows_the_one_paging_contract(api, db, factory):
    """The list's cursor is opaque (it was the last id): an id made into a
    cursor is refused, and limit is 1-100 as everywhere."""
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user()
    ids = [emit(db, uid, kind="lead.assigned", ref_type="lead") for _ in range(3)]
    for eid in ids:
        wait_final(db, eid)
    q = f"/api/v1/admin/notifications?user={uid}"
    r = api.get(q + "&limit=2", token=admin)
    assert [x["id"] for x in expect_ok(r)] == ids[:0:-1]
    cursor = r.json()["next_cursor"]
    assert cursor and cursor != str(ids[1])
    r2 = api.get(q + f"&limit=2&cursor={cursor}", token=admin)
    assert [x["id"] for x in expect_ok(r2)] == [ids[0]] and r2.json()["next_cursor"] is None
    assert [x["id"] for x in expect_ok(api.get(q, token=admin))] == ids[::-1]  # default 20
    expect_error(api.get(q + f"&cursor={ids[1]}", token=admin), 400, "INVALID_FIELD", "cursor")
    expect_error(api.get(q + "&limit=101", token=admin), 400, "INVALID_FIELD", "limit")
    expect_error(api.get(q + "&limit=0", token=admin), 400, "INVALID_FIELD", "limit")
    expect_error(api.get(q + "&project=0", token=admin), 400, "INVALID_FIELD", "project")
    expect_error(api.get(q + "&kind=" + "k" * 49, token=admin), 400, "INVALID_FIELD", "kind")


def test_admin_list_is_for_admins_and_supervisors(api, db, factory):
    pid = factory.project()
    _, supervisor = factory.user(roles=[("supervisor", pid)])
    _, engineer = factory.user(roles=[("engineer", pid)])
    _, buyer = factory.user()
    expect_ok(api.get("/api/v1/admin/notifications", token=supervisor))
    expect_error(api.get("/api/v1/admin/notifications", token=engineer), 403, "FORBIDDEN")
    expect_error(api.get("/api/v1/admin/notifications", token=buyer), 403, "FORBIDDEN")
    expect_error(api.post("/api/v1/admin/notifications/1/retry", token=buyer), 403, "FORBIDDEN")


def test_retry_of_a_sent_row_is_409(api, db, factory):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _, _ = subscriber(factory, api)
    eid = emit(db, uid)
    assert wait_final(db, eid)["status"] == "sent"
    err = expect_error(api.post(f"/api/v1/admin/notifications/{eid}/retry", token=admin), 409, "CONFLICT")
    assert "sent" in err["message"]
    assert event(db, eid)["status"] == "sent"
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'notification.retry' AND target_id = %s",
                     (eid,)) == 0


def test_retry_of_a_pending_row_names_its_status(api, db, factory):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user()
    eid = db.exec("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload, next_attempt_at)"
                  " VALUES ('repair.dispatched', %s, 'repair', 1, '{}', NOW(3) + INTERVAL 1 HOUR)", (uid,))
    err = expect_error(api.post(f"/api/v1/admin/notifications/{eid}/retry", token=admin), 409, "CONFLICT")
    assert "pending" in err["message"]
    expect_error(api.post("/api/v1/admin/notifications/999999999/retry", token=admin), 404, "NOT_FOUND")
    db.exec("UPDATE notification_events SET status = 'failed' WHERE id = %s", (eid,))  # leave it final


def test_retry_sends_a_failed_row_again(api, fake, db, factory):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    uid, _, openid = subscriber(factory, api)
    fake.fail("/cgi-bin/message/subscribe/send", errcode=41030, count=1, match={"touser": openid})
    eid = emit(db, uid)
    assert wait_final(db, eid)["status"] == "failed"

    d = expect_ok(api.post(f"/api/v1/admin/notifications/{eid}/retry", token=admin))
    assert d["id"] == eid and d["status"] in ("pending", "sending", "sent") and d["last_errcode"] == 41030
    audit = db.one("SELECT * FROM audit_log WHERE action = 'notification.retry' AND target_id = %s", (eid,))
    assert audit["actor_user_id"] == admin_id
    assert json.loads(audit["detail"]) == {"previous_status": "failed", "previous_attempts": 1}
    e = wait_final(db, eid)
    assert e["status"] == "sent" and e["attempts"] == 1
    assert [r["errcode"] for r in sends_to(fake, openid)][-1] == 0
    assert grants(db, uid) == 0


def test_retry_of_no_quota_after_a_new_grant(api, db, factory):
    _, admin = factory.user(roles=[("admin", 0)])
    uid, token = factory.user()
    eid = emit(db, uid)
    assert wait_final(db, eid)["status"] == "no_quota"
    # Older than notification_regrant_window_s: a new grant does not resend
    # it by itself (test_notifications_regrant.py covers the recent ones).
    db.exec("UPDATE notification_events SET created_at = NOW(3) - INTERVAL 73 HOUR WHERE id = %s", (eid,))
    expect_ok(api.post("/api/v1/subscriptions", token=token, json={"accepted": [REPAIR_TPL]}))
    assert event(db, eid)["status"] == "no_quota"

    expect_ok(api.post(f"/api/v1/admin/notifications/{eid}/retry", token=admin))
    assert wait_final(db, eid)["status"] == "sent"
    assert grants(db, uid) == 0


# ---- configuration -------------------------------------------------------------

def test_a_bad_template_file_stops_the_start(stack, tmp_path):
    bad = tmp_path / "templates.json"
    bad.write_text(json.dumps({"templates": {"T": {}}, "kinds": {"repair.dispatched": {
        "template_id": "T", "title": "t", "data": {"enum1": "{category}"}}}}))
    for path, reason in ((str(bad), "kinds.repair.dispatched.data.enum1"), (str(tmp_path / "none.json"), "cannot open")):
        env = dict(os.environ, GATEWAY_NOTIFICATION_TEMPLATES_FILE=path, GATEWAY_HTTPS_PORT="0",
                   GATEWAY_HTTP_PORT=str(devstack.free_port()))
        r = subprocess.run([stack.binary, "--config", stack.config_path, "serve"], env=env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2, r
        assert "config: notification_templates_file: " in r.stderr and reason in r.stderr, r.stderr
