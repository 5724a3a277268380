"""Two transitions racing on one ticket: exactly one wins, the other gets
409, and the timeline holds one row for the winner."""
import threading

import requests

from conftest import expect_ok
from repairs_support import act, new_ticket, ticket_row, timeline, world


def race(stack, calls):
    """Runs (token, path, body) calls at the same moment; returns the responses."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, token, path, body):
        s = requests.Session()
        barrier.wait()
        results[i] = s.post(stack.url + path, json=body, verify=stack.ca_cert, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
        s.close()

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_start_racing_cancel_has_one_winner(api, db, factory, stack):
    """Either order excludes the other: work started cannot be cancelled,
    a cancelled ticket cannot be started."""
    w = world(factory, db)
    eng = w.engineers[0]
    for _ in range(5):
        tid = new_ticket(api, w)["id"]
        expect_ok(act(api, eng, tid, "accept"))
        start, cancel = race(stack, [(eng.token, f"/api/v1/repairs/{tid}/start", {}),
                                     (w.owner_a.token, f"/api/v1/repairs/{tid}/cancel", {})])
        assert sorted([start.status_code, cancel.status_code]) == [200, 409], (start.text, cancel.text)
        winner = "in_progress" if start.status_code == 200 else "cancelled"
        loser = cancel if start.status_code == 200 else start
        assert loser.json()["error"]["code"] == "CONFLICT"
        assert winner in loser.json()["error"]["message"]
        assert ticket_row(db, tid)["state"] == winner
        rows = timeline(db, tid)
        assert len(rows) == 4 and rows[-1]["to_state"] == winner


def test_double_accept_has_one_winner(api, db, factory, stack):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    results = race(stack, [(eng.token, f"/api/v1/repairs/{tid}/accept", {})] * 4)
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    assert [r["action"] for r in timeline(db, tid)] == ["submit", "dispatch", "accept"]
    assert db.scalar("SELECT COUNT(*) FROM notification_events WHERE ref_type = 'repair' AND ref_id = %s"
                     " AND kind = 'repair.accepted'", (tid,)) == 1


def test_start_racing_reassignment_has_one_winner(api, db, factory, stack):
    """The engineer starts while the supervisor gives the ticket to someone
    else: one of them wins. The loser gets 409, or 404 when the engineer
    lost the ticket before even reading it."""
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    for _ in range(3):
        tid = new_ticket(api, w)["id"]
        db.exec("UPDATE repair_tickets SET engineer_id = %s WHERE id = %s", (e0.id, tid))
        expect_ok(act(api, e0, tid, "accept"))
        start, assign = race(stack, [(e0.token, f"/api/v1/repairs/{tid}/start", {}),
                                     (w.supervisor.token, f"/api/v1/repairs/{tid}/assign", {"engineer_id": e1.id})])
        codes = sorted([start.status_code, assign.status_code])
        assert codes in ([200, 404], [200, 409]), (start.text, assign.text)
        row = ticket_row(db, tid)
        if start.status_code == 200:
            assert assign.status_code == 409
            assert row["state"] == "in_progress" and row["engineer_id"] == e0.id
        else:
            assert row["state"] == "dispatched" and row["engineer_id"] == e1.id
        assert len(timeline(db, tid)) == 4
