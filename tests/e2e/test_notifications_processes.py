"""Several gateway processes on one outbox: no event is sent twice at the same
time, and a process killed in the middle of a batch loses nothing (its
rows are taken over once their lease expires; at most the one message in
flight is repeated)."""
import collections
import signal

from notify_support import sole_dispatcher  # noqa: F401  (autouse)
from notify_support import REPAIR_TPL, SEND, subscriber, wait_for

FINAL = ("sent", "no_quota", "failed", "dead")


def emit_many(db, users, per_user, first_ref):
    """per_user events for each user, in one transaction; returns {ref_id: event id}."""
    rows, ref = [], first_ref
    for uid in users:
        for _ in range(per_user):
            rows.append(("repair.dispatched", uid, "repair", ref, '{"category": "水电维修", "ticket_no": "R1"}'))
            ref += 1
    with db.conn.cursor() as cur:
        db.conn.begin()
        cur.executemany("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload)"
                        " VALUES (%s, %s, %s, %s, %s)", rows)
        db.conn.commit()
    ids = db.query("SELECT id, ref_id FROM notification_events WHERE ref_type = 'repair' AND ref_id >= %s"
                   " AND ref_id < %s", (first_ref, ref))
    return {r["ref_id"]: r["id"] for r in ids}


def successes_by_ref(fake, openids):
    """ref_id -> how many sends WeChat accepted for it."""
    count = collections.Counter()
    for r in fake.requests(SEND):
        body = r["body"] if isinstance(r["body"], dict) else {}
        if r["errcode"] == 0 and body.get("touser") in openids:
            count[int(body["page"].split("id=")[1])] += 1
    return count


def all_final(db, ids):
    rows = db.query("SELECT status FROM notification_events WHERE id IN (%s)" % ",".join(["%s"] * len(ids)),
                    list(ids))
    return len(rows) == len(ids) and all(r["status"] in FINAL for r in rows)


def subscribers(factory, api, n, grants_each):
    people = [subscriber(factory, api, accepted=(REPAIR_TPL,), times=grants_each) for _ in range(n)]
    return [p[0] for p in people], {p[2] for p in people}


def test_two_processes_never_send_an_event_twice(stack, api, fake, db, factory):
    users, openids = subscribers(factory, api, 4, 10)
    fake.post("/__fake/config", {"latency_ms": 20})  # sends overlap across processes
    gw2 = stack.start_gateway({"notification_batch_size": 5})
    try:
        events = emit_many(db, users, 10, 700000000)
        wait_for(lambda: all_final(db, events.values()), what="all 40 events final")
    finally:
        code = gw2.stop()
        fake.post("/__fake/config", {"latency_ms": 0})
    assert code == 0, f"the second gateway exited with {code}; see {gw2.log}"

    rows = db.query("SELECT status, attempts FROM notification_events WHERE id IN (%s)"
                    % ",".join(["%s"] * len(events)), list(events.values()))
    assert [r["status"] for r in rows] == ["sent"] * 40
    sent = successes_by_ref(fake, openids)
    assert sorted(sent) == sorted(events) and set(sent.values()) == {1}, sent
    assert db.scalar("SELECT SUM(one_time_count) FROM notification_grants WHERE user_id IN (%s, %s, %s, %s)",
                     users) == 0
    with open(gw2.log, encoding="utf-8") as f:
        assert ": sent, msgid" in f.read(), "the second process delivered nothing; no contention was tested"


def test_killed_process_mid_batch_loses_nothing(stack, api, fake, db, factory):
    users, openids = subscribers(factory, api, 2, 15)
    fake.post("/__fake/config", {"latency_ms": 150})
    victim = stack.start_gateway({"notification_batch_size": 50})
    owner = f"%:{victim.proc.pid}:%"
    restarted, code = None, None
    try:
        events = emit_many(db, users, 15, 710000000)

        def victim_mid_batch():
            # Frozen while it is looked at: what is seen is what the kill
            # leaves behind, however long the look takes.
            victim.proc.send_signal(signal.SIGSTOP)
            held = db.scalar("SELECT COUNT(*) FROM notification_events WHERE status = 'sending'"
                             " AND lease_owner LIKE %s", (owner,))
            if held >= 2 and sum(successes_by_ref(fake, openids).values()) >= 1:
                return True
            victim.proc.send_signal(signal.SIGCONT)
            return False
        wait_for(victim_mid_batch, what="the second process in the middle of a batch")
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        victim.proc = None
        held = db.scalar("SELECT COUNT(*) FROM notification_events WHERE status = 'sending' AND lease_owner LIKE %s",
                         (owner,))
        assert held >= 1  # rows the dead process had claimed and not finished
        restarted = stack.start_gateway({"notification_batch_size": 50})
        wait_for(lambda: all_final(db, events.values()), what="all 30 events final after the kill")
    finally:
        if restarted:
            code = restarted.stop()
        fake.post("/__fake/config", {"latency_ms": 0})
    assert code == 0, f"the restarted gateway exited with {code}; see {restarted.log}"

    rows = db.query("SELECT status FROM notification_events WHERE id IN (%s)" % ",".join(["%s"] * len(events)),
                    list(events.values()))
    assert [r["status"] for r in rows] == ["sent"] * 30
    sent = successes_by_ref(fake, openids)
    assert sorted(sent) == sorted(events), "an event was never delivered"
    repeats = sum(n - 1 for n in sent.values())
    assert repeats <= 1, f"only the message in flight at the kill may repeat: {sent}"
