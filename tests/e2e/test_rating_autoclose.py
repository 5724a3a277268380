"""A resolved ticket the owner never rates closes as "closed without
rating" repair_rating_days (3) after its resolution, by the satisfaction
sweeper of any gateway process; the owner is reminded once more before;
an owner rating at the same moment as the sweep either wins or gets 409,
never both; the owner may still reopen within repair_reopen_days."""
import threading
import time

import pytest

from conftest import expect_error, expect_ok, wait_for, wait_for_runs
from rating_support import rating, resolved_ticket, start_gateways, stop_gateways
from repairs_support import act, events, ticket_row, timeline, world

JOB = "satisfaction-sweeper"


@pytest.fixture(scope="module")
def sweepers(stack):
    gws = start_gateways(stack, {}, ["gw-sat-a", "gw-sat-b"])
    yield gws
    stop_gateways(stack, gws)


def age(db, tid, sql_interval):
    db.exec(f"UPDATE repair_tickets SET resolved_at = NOW(3) - INTERVAL {sql_interval} WHERE id = %s", (tid,))


def test_unrated_ticket_closes_without_rating(api, db, factory, sweepers):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    age(db, tid, "3 DAY - INTERVAL 0 SECOND - INTERVAL 1 MINUTE")
    wait_for(lambda: ticket_row(db, tid)["state"] == "closed", what="the auto-close")
    row = ticket_row(db, tid)
    assert row["rating_score"] is None and row["rated_at"] is None and row["closed_at"]
    tl = timeline(db, tid)[-1]
    assert (tl["action"], tl["from_state"], tl["to_state"], tl["actor_role"]) == ("autoclose", "resolved", "closed",
                                                                                  "system")
    assert tl["actor_user_id"] is None and "未评价" in tl["note"]
    uc = db.one("SELECT * FROM repair_unrated_closes WHERE ticket_id = %s", (tid,))
    assert uc["round"] == 0 and uc["engineer_id"] == w.engineers[0].id
    d = wait_for(lambda: (lambda d: d if d["state"] == "closed" else None)(
        expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token))), what="the owner's view")
    assert d["close_reason"] == "unrated" and d["rating"] is None
    assert d["timeline"][-1]["action"] == "autoclose"
    # Statistics count it apart: never a rating.
    now = int(time.time())
    st = expect_ok(api.get(f"/api/v1/admin/stats?project={w.project_id}&from={now - 86400}&to={now + 86400}",
                           token=w.supervisor.token))
    dims = {r["engineer_id"]: r for r in st["satisfaction_dimensions"]}[w.engineers[0].id]
    assert (dims["ratings"], dims["closed_unrated"], dims["unrated_share"], dims["avg_quality"]) == (0, 1, 1, None)
    assert all(r["ratings"] == 0 for r in st["engineer_satisfaction"])
    # Too late to rate; still in time to reopen (resolved 3 days ago, the window is 7).
    expect_error(act(api, w.owner_a, tid, "rating", rating()), 409, "CONFLICT")
    assert db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,)) == 0
    d = expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "又漏水了"}))
    assert d["state"] == "dispatched" and ticket_row(db, tid)["rework_count"] == 1
    assert len(events(db, tid, "repair.assigned", w.engineers[0].id)) == 2


def test_a_rated_or_recent_ticket_is_left_alone(api, db, factory, sweepers):
    w = world(factory, db)
    recent = resolved_ticket(api, w)
    age(db, recent, "2 DAY")
    rated = resolved_ticket(api, w, owner=w.owner_b)
    expect_ok(act(api, w.owner_b, rated, "rating", rating()))
    age(db, rated, "10 DAY")
    wait_for_runs(sweepers, JOB)
    assert ticket_row(db, recent)["state"] == "resolved"
    assert db.scalar("SELECT COUNT(*) FROM repair_unrated_closes WHERE ticket_id IN (%s, %s)", (recent, rated)) == 0
    # A closed, rated ticket does not reopen.
    expect_error(act(api, w.owner_b, rated, "reopen", {"reason": "x"}), 409, "CONFLICT")


def test_reopen_after_auto_close_keeps_the_reopen_window(api, db, factory, sweepers):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    age(db, tid, "8 DAY")
    wait_for(lambda: ticket_row(db, tid)["state"] == "closed", what="the auto-close")
    expect_error(act(api, w.owner_a, tid, "reopen", {"reason": "又坏了"}), 409, "CONFLICT")
    assert ticket_row(db, tid)["state"] == "closed"


def test_second_reminder_to_rate_goes_out_once(api, db, factory, sweepers):
    w = world(factory, db)
    tid = resolved_ticket(api, w)
    first = events(db, tid, "repair.rate_reminder", w.owner_a.id)
    assert len(first) == 1  # at the resolve, in its transaction
    # 24 hours before the auto-close (3 days): 2 days and 1 minute after the resolve.
    age(db, tid, "2 DAY - INTERVAL 0 SECOND - INTERVAL 1 MINUTE")
    wait_for(lambda: len(events(db, tid, "repair.rate_reminder", w.owner_a.id)) == 2, what="the second reminder")
    wait_for_runs(sweepers, JOB)
    assert len(events(db, tid, "repair.rate_reminder", w.owner_a.id)) == 2
    steps = db.query("SELECT step FROM repair_rating_reminders WHERE ticket_id = %s ORDER BY step", (tid,))
    assert [s["step"] for s in steps] == [1, 2]
    assert ticket_row(db, tid)["state"] == "resolved"


def test_rating_and_auto_close_at_the_same_moment_have_one_winner(api, db, factory, sweepers):
    w = world(factory, db)
    tickets = [resolved_ticket(api, w) for _ in range(6)]
    results = {}

    def rate(tid):
        results[tid] = act(api, w.owner_a, tid, "rating", rating(3, 3, 3))

    threads = []
    for tid in tickets:
        age(db, tid, "3 DAY")
        t = threading.Thread(target=rate, args=(tid,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    for tid in tickets:
        r = results[tid]
        assert r.status_code in (200, 409), r.text
        row = ticket_row(db, tid)
        assert row["state"] == "closed"
        rated = db.scalar("SELECT COUNT(*) FROM repair_ratings WHERE ticket_id = %s", (tid,))
        unrated = db.scalar("SELECT COUNT(*) FROM repair_unrated_closes WHERE ticket_id = %s", (tid,))
        closes = [x["action"] for x in timeline(db, tid) if x["to_state"] == "closed"]
        if r.status_code == 200:
            assert (rated, unrated, closes, row["rating_score"]) == (1, 0, ["rate"], 3)
        else:
            assert r.json()["error"]["code"] == "CONFLICT"
            assert (rated, unrated, closes, row["rating_score"]) == (0, 1, ["autoclose"], None)
