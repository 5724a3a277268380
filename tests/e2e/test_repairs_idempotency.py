"""POST /api/v1/repairs with an Idempotency-Key: a retry gets the same
ticket, a changed body with the same key is refused, and concurrent retries
create one ticket."""
import secrets
import threading

import requests

from conftest import expect_error, expect_ok
from repairs_support import file_ticket, photo, ticket_body, world


def count_tickets(db, user_id):
    return db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (user_id,))


def test_retry_returns_the_same_ticket(api, db, factory, stack):
    w = world(factory, db)
    key = secrets.token_hex(16)
    body = ticket_body(w, photo_ids=[photo(api, stack, w.owner_a)])
    first = file_ticket(api, w.owner_a.token, body, key=key)
    created = expect_ok(first, 201)
    again = file_ticket(api, w.owner_a.token, body, key=key)
    assert expect_ok(again, 200) == created
    assert count_tickets(db, w.owner_a.id) == 1
    stored = db.one("SELECT * FROM idempotency_keys WHERE user_id = %s AND idem_key = %s", (w.owner_a.id, key))
    assert stored["scope"] == "repairs.create" and stored["ref_id"] == created["id"] and stored["status"] == 201
    # The same key from another user is another request.
    r = file_ticket(api, w.owner_b.token, ticket_body(w, unit=w.unit_b), key=key)
    assert expect_ok(r, 201)["id"] != created["id"]


def test_same_key_with_another_body_is_refused(api, db, factory):
    w = world(factory, db)
    key = secrets.token_hex(16)
    expect_ok(file_ticket(api, w.owner_a.token, ticket_body(w), key=key), 201)
    r = file_ticket(api, w.owner_a.token, ticket_body(w, description="另一件事"), key=key)
    expect_error(r, 422, "UNPROCESSABLE", "Idempotency-Key")
    assert count_tickets(db, w.owner_a.id) == 1


def test_key_is_required_and_checked(api, db, factory):
    w = world(factory, db)
    r = api.post("/api/v1/repairs", token=w.owner_a.token, json=ticket_body(w))
    expect_error(r, 400, "MISSING_FIELD", "Idempotency-Key")
    r = file_ticket(api, w.owner_a.token, ticket_body(w), key="x" * 129)
    expect_error(r, 400, "INVALID_FIELD", "Idempotency-Key")
    assert count_tickets(db, w.owner_a.id) == 0


def test_failed_request_does_not_burn_the_key(api, db, factory):
    w = world(factory, db)
    key = secrets.token_hex(16)
    expect_error(file_ticket(api, w.owner_a.token, ticket_body(w, category="nope"), key=key), 400, "INVALID_FIELD",
                 "category")
    assert db.scalar("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = %s", (key,)) == 0
    expect_ok(file_ticket(api, w.owner_a.token, ticket_body(w), key=key), 201)


def test_concurrent_retries_create_one_ticket(api, db, factory, stack):
    w = world(factory, db)
    key = secrets.token_hex(16)
    body = ticket_body(w)
    results = [None] * 8
    barrier = threading.Barrier(len(results))

    def attempt(i):
        s = requests.Session()  # one connection per thread
        barrier.wait()
        results[i] = s.post(stack.url + "/api/v1/repairs", json=body, verify=stack.ca_cert, timeout=30,
                            headers={"Authorization": f"Bearer {w.owner_a.token}", "Idempotency-Key": key})
        s.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 7 + [201], [r.text for r in results]
    datas = [r.json()["data"] for r in results]
    assert all(d == datas[0] for d in datas), datas
    assert count_tickets(db, w.owner_a.id) == 1
    tid = results[0].json()["data"]["id"]
    assert db.scalar("SELECT COUNT(*) FROM repair_timeline WHERE ticket_id = %s AND action = 'submit'", (tid,)) == 1
    assert db.scalar("SELECT COUNT(*) FROM notification_events WHERE ref_type = 'repair' AND ref_id = %s"
                     " AND kind = 'repair.dispatched'", (tid,)) == 1
