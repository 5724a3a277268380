"""The repair flow's notifications that were missing, delivered through the
outbox to the fake WeChat: the engineer hears when the owner cancels, the
previous engineer when a ticket is reassigned away from them, the owner
when a follow-up visit is done and when asked to rate."""
from conftest import expect_ok, wait_for
from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import REPAIR_TPL, sends_to, wait_final
from rating_support import followup_of, rating, resolved_ticket, service_member
from repairs_support import act, events, new_ticket, world


def subscribe(api, db, person, times=10):
    """One-time grants enough for every message of the flow (each earlier
    event of the ticket takes one too)."""
    for _ in range(times):
        expect_ok(api.post("/api/v1/subscriptions", token=person.token, json={"accepted": [REPAIR_TPL]}))
    return db.scalar("SELECT openid FROM users WHERE id = %s", (person.id,))


def delivered(api, fake, db, event_row, openid, phrase):
    e = wait_final(db, event_row["id"])
    assert e["status"] == "sent", e
    body = wait_for(lambda: [s["body"] for s in sends_to(fake, openid)
                             if s["body"]["data"]["phrase3"]["value"] == phrase], what=f"a {phrase} message")[-1]
    assert body["template_id"] == REPAIR_TPL
    return body


def test_engineer_hears_of_a_cancel(api, fake, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    openid = subscribe(api, db, eng)
    t = new_ticket(api, w)
    expect_ok(act(api, w.owner_a, t["id"], "cancel", {"reason": "自己修好了"}))
    ev = events(db, t["id"], "repair.cancelled", eng.id)
    assert len(ev) == 1
    body = delivered(api, fake, db, ev[0], openid, "已取消")
    assert body["data"]["character_string2"]["value"] == t["ticket_no"]
    assert body["data"]["thing5"]["value"] == "自己修好了"


def test_previous_engineer_hears_of_a_reassignment(api, fake, db, factory):
    w = world(factory, db, engineers=2)
    t = new_ticket(api, w)
    first = db.scalar("SELECT engineer_id FROM repair_tickets WHERE id = %s", (t["id"],))
    prev = next(e for e in w.engineers if e.id == first)
    nxt = next(e for e in w.engineers if e.id != first)
    openid = subscribe(api, db, prev)
    expect_ok(act(api, w.supervisor, t["id"], "assign", {"engineer_id": nxt.id}))
    ev = events(db, t["id"], "repair.reassigned", prev.id)
    assert len(ev) == 1 and events(db, t["id"], "repair.reassigned", nxt.id) == []
    delivered(api, fake, db, ev[0], openid, "已改派")


def test_owner_is_asked_to_rate_and_told_the_follow_up_is_done(api, fake, db, factory):
    w = world(factory, db)
    desk = service_member(factory, db, w.project_id)
    openid = subscribe(api, db, w.owner_a)
    tid = resolved_ticket(api, w)
    ev = events(db, tid, "repair.rate_reminder", w.owner_a.id)
    assert len(ev) == 1
    delivered(api, fake, db, ev[0], openid, "待评价")
    expect_ok(act(api, w.owner_a, tid, "rating", rating(3, 2, 3)))
    f = followup_of(db, tid)
    expect_ok(api.post(f"/api/v1/service/followups/{f['id']}/result", token=desk.token,
                       json={"contact": "reached", "satisfied": True}))
    ev = events(db, tid, "followup.done", w.owner_a.id)
    assert len(ev) == 1
    body = delivered(api, fake, db, ev[0], openid, "回访完成")
    assert body["data"]["thing5"]["value"] == "满意"
    assert body["page"] == f"pages/repair/detail?id={tid}"  # pages/complaint/... for a complaint's visit
