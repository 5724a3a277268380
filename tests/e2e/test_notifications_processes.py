"""Several gateway processes on one outbox: no event is sent twice, and a
process killed in the middle of a batch loses nothing (its rows are taken
over once their lease expires; at most what it had on the wire and not yet
recorded is repeated).

Each process keeps at most notification_send_concurrency +
notification_batch_size rows claimed, so the outboxes here are larger than
that: every process then gets a share, whichever wakes first."""
import signal

from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import all_final, emit_many, granted_users, rows_of, successes_by_ref, wait_for


def test_two_processes_never_send_an_event_twice(stack, api, fake, db, factory):
    users, openids = granted_users(factory, db, 6, 100)
    fake.post("/__fake/config", {"latency_ms": 200})  # many sends in flight in both processes
    gw2 = stack.start_gateway({"notification_batch_size": 5, "notification_dispatch_interval_ms": 10})
    try:
        events = emit_many(db, users, 100, 700000000)
        wait_for(lambda: all_final(db, events.values()), timeout=120, what="all 600 events final")
    finally:
        code = gw2.stop()
        fake.post("/__fake/config", {"latency_ms": 0})
    assert code == 0, f"the second gateway exited with {code}; see {gw2.log}"

    rows = rows_of(db, events.values())
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)] * 600
    sent = successes_by_ref(fake, openids)
    assert sorted(sent) == sorted(events) and set(sent.values()) == {1}, \
        {ref: n for ref, n in sent.items() if n != 1}
    assert db.scalar("SELECT SUM(one_time_count) FROM notification_grants WHERE user_id IN (%s)"
                     % ",".join(["%s"] * len(users)), users) == 0
    with open(gw2.log, encoding="utf-8") as f:
        assert ": sent, msgid" in f.read(), "the second process delivered nothing; no contention was tested"


def test_killed_process_mid_batch_loses_nothing(stack, api, fake, db, factory):
    users, openids = granted_users(factory, db, 2, 300)
    fake.post("/__fake/config", {"latency_ms": 150})
    # One send at a time: the victim holds a batch it goes through slowly, and
    # what it can have sent without recording is one message.
    victim = stack.start_gateway({"notification_batch_size": 50, "notification_send_concurrency": 1,
                                  "notification_dispatch_interval_ms": 10})
    owner = f"%:{victim.proc.pid}:%"
    restarted, code = None, None
    try:
        events = emit_many(db, users, 300, 710000000)

        def victim_mid_batch():
            # Frozen while it is looked at: what is seen is what the kill
            # leaves behind, however long the look takes.
            victim.proc.send_signal(signal.SIGSTOP)
            held = db.scalar("SELECT COUNT(*) FROM notification_events WHERE status = 'sending'"
                             " AND lease_owner LIKE %s AND attempts > 0", (owner,))
            if held >= 1 and db.scalar("SELECT COUNT(*) FROM notification_events WHERE status = 'sending'"
                                       " AND lease_owner LIKE %s", (owner,)) >= 2:
                return True
            victim.proc.send_signal(signal.SIGCONT)
            return False
        wait_for(victim_mid_batch, timeout=60, what="the second process in the middle of a batch")
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        victim.proc = None
        held = db.scalar("SELECT COUNT(*) FROM notification_events WHERE status = 'sending' AND lease_owner LIKE %s",
                         (owner,))
        assert held >= 1  # rows the dead process had claimed and not finished
        restarted = stack.start_gateway({"notification_batch_size": 50})
        wait_for(lambda: all_final(db, events.values()), timeout=120, what="all 600 events final after the kill")
    finally:
        if restarted:
            code = restarted.stop()
        fake.post("/__fake/config", {"latency_ms": 0})
    assert code == 0, f"the restarted gateway exited with {code}; see {restarted.log}"

    rows = rows_of(db, events.values())
    assert [r["status"] for r in rows] == ["sent"] * 600
    sent = successes_by_ref(fake, openids)
    assert sorted(sent) == sorted(events), "an event was never delivered"
    repeats = sum(n - 1 for n in sent.values())
    assert repeats <= 1, f"only the message in flight at the kill may repeat: {sent}"
