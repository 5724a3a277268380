"""A real business change end to end: an owner who subscribed files a repair,
it is dispatched, and the dispatcher delivers the repair.dispatched event
that the repair transaction wrote; the engineer, who never subscribed, gets
an inbox entry but no WeChat message."""
from conftest import expect_ok
from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import REPAIR_TPL, grants, sends_to, wait_final
from repairs_support import events, new_ticket, world


def test_dispatched_repair_reaches_the_owner(api, fake, db, factory):
    w = world(factory, db)
    owner, engineer = w.owner_a, w.engineers[0]
    expect_ok(api.post("/api/v1/subscriptions", token=owner.token, json={"accepted": [REPAIR_TPL]}))
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (owner.id,))

    t = new_ticket(api, w)
    dispatched = events(db, t["id"], "repair.dispatched", owner.id)
    assert len(dispatched) == 1
    e = wait_final(db, dispatched[0]["id"])
    assert e["status"] == "sent", e
    assert grants(db, owner.id) == 0

    body = sends_to(fake, openid)[-1]["body"]
    assert body["template_id"] == REPAIR_TPL
    assert body["page"] == f"pages/repair/detail?id={t['id']}"
    assert body["data"]["character_string2"]["value"] == t["ticket_no"]
    assert body["data"]["phrase3"]["value"] == "已派单"
    assert body["data"]["thing5"]["value"] == "师傅0将联系您上门"

    inbox = expect_ok(api.get("/api/v1/notifications", token=owner.token))
    assert inbox[0]["id"] == e["id"] and inbox[0]["delivery"] == "sent"
    assert inbox[0]["page"] == f"pages/repair/detail?id={t['id']}"

    assigned = events(db, t["id"], "repair.assigned", engineer.id)
    assert wait_final(db, assigned[0]["id"])["status"] == "no_quota"
    engineer_openid = db.scalar("SELECT openid FROM users WHERE id = %s", (engineer.id,))
    assert sends_to(fake, engineer_openid) == []
    inbox = expect_ok(api.get("/api/v1/notifications", token=engineer.token))
    assert inbox[0]["kind"] == "repair.assigned" and inbox[0]["delivery"] == "not_sent"
