"""A notification that ended no_quota (the user held no subscription grant)
is delivered after all when the user grants the template again: a new grant
puts the user's recent no_quota events of that template back to pending,
oldest first, one per grant, each once (handlers/notifications/subscriptions.c)."""
from notify_support import (REPAIR_TPL, emit, event, grants, sends_to, sole_dispatcher,  # noqa: F401
                            subscriber, wait_final, wait_for)


def grant(api, token, template=REPAIR_TPL):
    r = api.post("/api/v1/subscriptions", token=token, json={"accepted": [template]})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def delivered(fake, openid):
    """Templates of the sends WeChat accepted (a send refused for its token and
    replayed is one attempt; the refusal is not counted)."""
    return [s["body"]["template_id"] for s in sends_to(fake, openid) if s["errcode"] == 0]


def no_quota_event(db, uid, **kw):
    eid = emit(db, uid, **kw)
    e = wait_final(db, eid)
    assert e["status"] == "no_quota" and e["attempts"] == 0, e
    return eid


def test_new_grant_delivers_recent_no_quota_events_oldest_first(api, fake, db, factory):
    uid, token, openid = subscriber(factory, api, accepted=(), times=0)
    old = no_quota_event(db, uid)
    db.exec("UPDATE notification_events SET created_at = NOW(3) - INTERVAL 73 HOUR WHERE id = %s", (old,))
    first = no_quota_event(db, uid)
    second = no_quota_event(db, uid, kind="repair.accepted")  # another kind of the same template
    other = no_quota_event(db, uid, kind="lead.assigned")     # another template: not touched
    assert sends_to(fake, openid) == []

    # One grant: the oldest recent event, and only it, is sent.
    grant(api, token)
    assert wait_final(db, first)["status"] == "sent"
    assert event(db, first)["requeued_at"] is not None
    assert delivered(fake, openid) == [REPAIR_TPL]
    assert grants(db, uid) == 0
    assert event(db, second)["status"] == "no_quota" and event(db, second)["requeued_at"] is None

    # The next grant: the next one.
    grant(api, token)
    assert wait_final(db, second)["status"] == "sent"
    assert delivered(fake, openid) == [REPAIR_TPL, REPAIR_TPL]
    # Older than notification_regrant_window_s (72 h), or another template's: still no_quota.
    assert event(db, old)["status"] == "no_quota" and event(db, old)["requeued_at"] is None
    assert event(db, other)["status"] == "no_quota"
    grant(api, token)  # nothing left to re-deliver: the grant is kept for the next message
    assert grants(db, uid) == 1


def test_requeued_event_gets_one_second_chance(api, fake, db, factory):
    uid, token, openid = subscriber(factory, api, accepted=(), times=0)
    eid = no_quota_event(db, uid)
    # WeChat itself holds no quota for the user (the user's grant went
    # elsewhere): the re-delivered event ends no_quota again (43101) ...
    fake.post("/__fake/quota", {"openid": openid, "template_id": REPAIR_TPL, "count": 0})
    grant(api, token)
    e = wait_for(lambda: (lambda x: x if x["status"] == "no_quota" and x["attempts"] == 1 else None)(event(db, eid)),
                 what="the re-delivered event to end no_quota")
    assert e["last_errcode"] == 43101 and e["requeued_at"] is not None
    # ... and a further grant does not bring it back a second time.
    fake.post("/__fake/quota", {"openid": openid, "template_id": REPAIR_TPL, "count": None})
    grant(api, token)
    assert grants(db, uid) == 1
    assert event(db, eid)["status"] == "no_quota" and event(db, eid)["attempts"] == 1


def test_waiting_notifications_use_the_grant_first(api, fake, db, factory):
    """A grant re-delivers nothing while a notification that will use it is
    already waiting to be sent."""
    uid, token, openid = subscriber(factory, api, accepted=(), times=0)
    missed = no_quota_event(db, uid)
    waiting = emit(db, uid)  # pending; cannot be sent before the grant...
    db.exec("UPDATE notification_events SET next_attempt_at = NOW(3) + INTERVAL 1 HOUR WHERE id = %s", (waiting,))
    grant(api, token)
    assert event(db, missed)["status"] == "no_quota" and event(db, missed)["requeued_at"] is None
    db.exec("UPDATE notification_events SET next_attempt_at = NOW(3) WHERE id = %s", (waiting,))
    assert wait_final(db, waiting)["status"] == "sent"
