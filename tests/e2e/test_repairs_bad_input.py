"""What bad input to the repair routes gets: 400 naming the field, 404 for
what is not the caller's, 409 in the wrong state, 422 for too many photos or
risky text, and nothing stored in any of these cases."""
import pytest

from conftest import expect_error, expect_ok
from repairs_support import act, file_ticket, new_ticket, photo, ticket_body, ticket_row, timeline, world


def counts(db):
    return (db.scalar("SELECT COUNT(*) FROM repair_tickets"), db.scalar("SELECT COUNT(*) FROM repair_timeline"),
            db.scalar("SELECT COUNT(*) FROM idempotency_keys"))


@pytest.mark.parametrize("field", ["unit_id", "category", "description"])
def test_missing_field_is_named(api, db, factory, field):
    w = world(factory, db)
    body = ticket_body(w)
    del body[field]
    before = counts(db)
    expect_error(file_ticket(api, w.owner_a.token, body), 400, "MISSING_FIELD", field)
    assert counts(db) == before


@pytest.mark.parametrize("field,value", [
    ("description", ""), ("description", "长" * 501), ("unit_id", "12"), ("photo_ids", "1"),
    ("photo_ids", [1, 1]), ("contact_phone", "call me"), ("category", "no_such_category"),
])
def test_invalid_field_is_named(api, db, factory, field, value):
    w = world(factory, db)
    body = ticket_body(w)
    body[field] = value
    before = counts(db)
    expect_error(file_ticket(api, w.owner_a.token, body), 400, "INVALID_FIELD", field)
    assert counts(db) == before


def test_description_of_500_characters_is_fine(api, db, factory):
    w = world(factory, db)
    t = new_ticket(api, w, description="漏" * 500)
    assert len(ticket_row(db, t["id"])["description"]) == 500


def test_too_many_photos(api, db, factory, stack):
    w = world(factory, db)
    ids = [photo(api, stack, w.owner_a) for _ in range(10)]
    before = counts(db)
    expect_error(file_ticket(api, w.owner_a.token, ticket_body(w, photo_ids=ids)), 422, "UNPROCESSABLE", "photo_ids")
    assert counts(db) == before
    assert db.scalar("SELECT COUNT(*) FROM uploads WHERE id IN %s AND ticket_id IS NOT NULL", (ids,)) == 0
    # Nine is the limit, and fine.
    t = new_ticket(api, w, photo_ids=ids[:9])
    assert db.scalar("SELECT COUNT(*) FROM uploads WHERE ticket_id = %s", (t["id"],)) == 9


def test_risky_text_is_refused_with_nothing_stored(api, db, factory, stack, fake):
    w = world(factory, db)
    pid = photo(api, stack, w.owner_a)
    before = counts(db)
    r = file_ticket(api, w.owner_a.token, ticket_body(w, description="RISKY 内容", photo_ids=[pid]))
    expect_error(r, 422, "CONTENT_RISKY", "description")
    assert counts(db) == before
    assert db.scalar("SELECT ticket_id FROM uploads WHERE id = %s", (pid,)) is None
    checks = fake.requests("/wxa/msg_sec_check")
    assert checks and checks[-1]["body"]["scene"] == 2 and checks[-1]["body"]["version"] == 2


def test_buyer_without_units_cannot_file(api, db, factory):
    w = world(factory, db)
    _, token = factory.user()
    expect_error(file_ticket(api, token, ticket_body(w)), 403, "FORBIDDEN")


def test_wrong_state_is_409_with_the_current_state(api, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    err = expect_error(act(api, eng, tid, "start"), 409, "CONFLICT")
    assert "dispatched" in err["message"]
    err = expect_error(act(api, eng, tid, "resolve", {"note": "done"}), 409, "CONFLICT")
    assert "dispatched" in err["message"]
    expect_error(act(api, w.owner_a, tid, "rating", {"speed": 5, "attitude": 5, "quality": 5}), 409, "CONFLICT")
    expect_error(act(api, w.owner_a, tid, "reopen", {"reason": "x"}), 409, "CONFLICT")
    assert ticket_row(db, tid)["state"] == "dispatched" and len(timeline(db, tid)) == 2


def test_action_bodies_are_checked(api, db, factory):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    expect_error(act(api, eng, tid, "decline", {}), 400, "MISSING_FIELD", "reason")
    assert ticket_row(db, tid)["state"] == "dispatched"
    expect_ok(act(api, eng, tid, "accept"))
    expect_ok(act(api, eng, tid, "start"))
    expect_error(act(api, eng, tid, "resolve", {}), 400, "MISSING_FIELD", "note")
    expect_error(act(api, eng, tid, "resolve", {"note": "ok", "photo_ids": list(range(1, 11))}), 422,
                 "UNPROCESSABLE", "photo_ids")
    assert ticket_row(db, tid)["state"] == "in_progress"
    expect_ok(act(api, eng, tid, "resolve", {"note": "ok"}))
    expect_error(act(api, w.owner_a, tid, "rating", {"speed": 6, "attitude": 5, "quality": 5}), 400, "INVALID_FIELD", "speed")
    expect_error(act(api, w.owner_a, tid, "rating", {}), 400, "MISSING_FIELD", "speed")
    assert ticket_row(db, tid)["state"] == "resolved"
    expect_error(api.post("/api/v1/repairs/abc/accept", token=eng.token, json={}), 404, "NOT_FOUND")


def test_another_owners_ticket_is_404(api, db, factory):
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    for action, body in (("cancel", {}), ("reopen", {"reason": "x"}), ("rating", {"speed": 1, "attitude": 1, "quality": 1})):
        expect_error(act(api, w.owner_b, tid, action, body), 404, "NOT_FOUND")
    expect_error(api.get(f"/api/v1/repairs/{tid}", token=w.owner_b.token), 404, "NOT_FOUND")
    assert ticket_row(db, tid)["state"] == "dispatched"
