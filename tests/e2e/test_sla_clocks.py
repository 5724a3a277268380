"""The service-level clocks of repair tickets on the stored engine
(domain/sla/sla_store.h): business time with China's 2026 holidays and
make-up days, pauses (by hand and with an agreed visit time), the ladder
re-derived after a reassignment without sending a step twice, and the
pause routes' roles.

Instants are made deterministic by moving a clock's stored start in
sla_clocks and then making a change that recomputes it (a reassignment):
the due time depends only on start, budget, pauses and the calendar."""
import datetime as dt
import json

import pytest

from conftest import expect_error, expect_ok, gateway_metric, wait_for_runs
from media_support import stop_gateway
from repairs_support import act, events, new_ticket, ticket_row, timeline, wait_for, world

CST = dt.timezone(dt.timedelta(hours=8))
DAY = 86400


def clock(db, tid, name="accept"):
    return db.one("SELECT * FROM sla_clocks WHERE kind = 'repair' AND subject_id = %s AND clock = %s"
                  " ORDER BY round DESC LIMIT 1", (tid, name))


def utc(y, mo, d, h, mi=0):
    """A China time as the naive UTC datetime the database holds."""
    return dt.datetime(y, mo, d, h, mi, tzinfo=CST).astimezone(dt.timezone.utc).replace(tzinfo=None)


def business_world(factory, db, engineers=2, **clocks):
    w = world(factory, db, engineers=engineers, **clocks)
    db.exec("UPDATE repair_categories SET business_hours = 1 WHERE id = %s", (w.category_id,))
    return w


def restart_at(api, db, w, tid, start):
    """Moves the ticket's clocks to start at `start` (UTC), then reassigns it,
    which recomputes them; returns the ticket row after."""
    db.exec("UPDATE sla_clocks SET started_at = %s WHERE kind = 'repair' AND subject_id = %s", (start, tid))
    current = ticket_row(db, tid)["engineer_id"]
    other = next(e for e in w.engineers if e.id != current)
    expect_ok(act(api, w.supervisor, tid, "assign", {"engineer_id": other.id}))
    return ticket_row(db, tid)


@pytest.mark.parametrize("start,due,why", [
    # Friday 10:00 + one working day: the weekend does not count.
    (utc(2026, 12, 11, 10), utc(2026, 12, 14, 10), "weekend"),
    # Wednesday 30 September + one working day: 1-7 October (国庆) do not count.
    (utc(2026, 9, 30, 10), utc(2026, 10, 8, 10), "national day holiday"),
    # Friday 9 October + one working day: Saturday 10 October is a make-up working day (调休).
    (utc(2026, 10, 9, 10), utc(2026, 10, 10, 10), "make-up Saturday"),
    # Thursday 31 December + one working day: 1-3 January 2026 (元旦) are off and the 4th (Sunday) is worked.
    (utc(2025, 12, 31, 10), utc(2026, 1, 4, 10), "new year with its make-up Sunday"),
])
def test_business_hours_count_the_calendar(api, db, factory, start, due, why):
    w = business_world(factory, db, accept_s=DAY, arrive_s=2 * DAY, resolve_s=3 * DAY)
    tid = new_ticket(api, w)["id"]
    assert clock(db, tid)["mode"] == "business"
    row = restart_at(api, db, w, tid, start)
    assert clock(db, tid)["due_at"] == due, why
    assert row["accept_due_at"] == due, why  # mirrored into the ticket's column


def test_natural_category_counts_every_second(api, db, factory):
    w = world(factory, db, engineers=2, accept_s=DAY)
    tid = new_ticket(api, w)["id"]
    assert clock(db, tid)["mode"] == "natural"
    start = utc(2026, 9, 30, 10)
    row = restart_at(api, db, w, tid, start)
    assert row["accept_due_at"] == start + dt.timedelta(days=1)


def test_pause_and_resume_move_the_due_time_by_the_pause(api, db, factory):
    w = world(factory, db, accept_s=36000, arrive_s=72000, resolve_s=108000)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    before = ticket_row(db, tid)
    # Waiting on the owner, no visit time yet: no due time while paused.
    d = expect_ok(act(api, eng, tid, "pause", {"reason": "业主出差，回来后再约"}))
    assert d["paused"] is True and d["until"] is None and d["due"]["accept_by"] is None
    row = ticket_row(db, tid)
    # (the columns hold the far future: never past, shown as null)
    assert row["accept_due_at"] == row["resolve_due_at"] == dt.datetime(9999, 12, 31)
    assert clock(db, tid)["next_at"] is None
    expect_error(act(api, eng, tid, "pause", {"reason": "again"}), 409, "CONFLICT")
    # Paused for two hours so far (its start moved back: the clock too).
    db.exec("UPDATE sla_clocks SET started_at = started_at - INTERVAL 3 HOUR WHERE subject_id = %s"
            " AND kind = 'repair'", (tid,))
    db.exec("UPDATE sla_pauses SET started_at = started_at - INTERVAL 2 HOUR WHERE subject_id = %s"
            " AND kind = 'repair'", (tid,))
    d = expect_ok(act(api, eng, tid, "resume"))
    assert d["paused"] is False
    p = db.one("SELECT * FROM sla_pauses WHERE kind = 'repair' AND subject_id = %s", (tid,))
    c = clock(db, tid)
    length = (p["ended_at"] - p["started_at"]).total_seconds()
    expected = c["started_at"] + dt.timedelta(seconds=36000 + length)
    assert abs((c["due_at"] - expected).total_seconds()) < 1.0
    row = ticket_row(db, tid)
    assert row["accept_due_at"] == c["due_at"]
    # Against the due time before the pause: moved by the pause, less the 3 h the start moved back.
    moved = (row["accept_due_at"] - before["accept_due_at"]).total_seconds()
    assert abs(moved - (length - 3 * 3600)) < 1.0
    expect_error(act(api, eng, tid, "resume"), 409, "CONFLICT")
    actions = [(t["action"], t["note"]) for t in timeline(db, tid)]
    assert ("pause", "业主出差，回来后再约") in actions and ("resume", None) in actions


def test_a_pause_until_a_visit_time_moves_the_due_time_at_once(api, db, factory):
    w = world(factory, db, accept_s=36000, arrive_s=72000, resolve_s=108000)
    tid = new_ticket(api, w)["id"]
    before = ticket_row(db, tid)
    until = int(db.scalar("SELECT UNIX_TIMESTAMP(NOW())")) + 2 * 3600
    d = expect_ok(act(api, w.supervisor, tid, "pause", {"reason": "约定上门时间", "until": until}))
    assert d["paused"] is True and d["until"] == until
    p = db.one("SELECT * FROM sla_pauses WHERE kind = 'repair' AND subject_id = %s", (tid,))
    length = (p["planned_end_at"] - p["started_at"]).total_seconds()
    row = ticket_row(db, tid)
    for col in ("accept_due_at", "arrive_due_at", "resolve_due_at"):
        assert abs((row[col] - before[col]).total_seconds() - length) < 1.0, col
    assert d["due"]["accept_by"] == int(row["accept_due_at"].replace(tzinfo=dt.timezone.utc).timestamp())
    assert "约定" in timeline(db, tid)[-1]["note"]
    # Work starting on site ends the pause early: the rest of it does not count.
    eng = w.engineers[0]
    expect_ok(act(api, eng, tid, "accept"))
    expect_ok(act(api, eng, tid, "start"))
    p = db.one("SELECT * FROM sla_pauses WHERE kind = 'repair' AND subject_id = %s", (tid,))
    assert p["ended_at"] is not None and p["ended_at"] < p["planned_end_at"]
    row = ticket_row(db, tid)
    short = (p["ended_at"] - p["started_at"]).total_seconds()
    assert abs((row["resolve_due_at"] - before["resolve_due_at"]).total_seconds() - short) < 1.0


def test_pause_bad_input_and_roles(api, db, factory):
    w = world(factory, db, engineers=2)
    tid = new_ticket(api, w)["id"]
    assigned = ticket_row(db, tid)["engineer_id"]
    eng = next(e for e in w.engineers if e.id == assigned)
    other_eng = next(e for e in w.engineers if e.id != assigned)

    def nothing_written():
        assert db.scalar("SELECT COUNT(*) FROM sla_pauses WHERE kind = 'repair' AND subject_id = %s", (tid,)) == 0
        assert [t["action"] for t in timeline(db, tid)] == ["submit", "dispatch"]

    expect_error(act(api, eng, tid, "pause", {}), 400, "MISSING_FIELD", "reason")
    expect_error(act(api, eng, tid, "pause", {"reason": "x" * 201}), 400, "INVALID_FIELD", "reason")
    expect_error(act(api, eng, tid, "pause", {"reason": "x", "until": 5}), 400, "INVALID_FIELD", "until")
    expect_error(act(api, eng, tid, "pause", {"reason": "x", "until": "tomorrow"}), 400, "INVALID_FIELD", "until")
    far = int(db.scalar("SELECT UNIX_TIMESTAMP(NOW())")) + 31 * DAY
    expect_error(act(api, eng, tid, "pause", {"reason": "x", "until": far}), 400, "INVALID_FIELD", "until")
    expect_error(act(api, eng, tid, "pause", {"reason": "x", "why": 1}), 400, "INVALID_FIELD", "why")
    nothing_written()
    # The owner, an engineer not assigned, a supervisor of another project.
    expect_error(act(api, w.owner_a, tid, "pause", {"reason": "x"}), 403, "FORBIDDEN")
    expect_error(act(api, w.owner_a, tid, "resume"), 403, "FORBIDDEN")
    r = act(api, other_eng, tid, "pause", {"reason": "x"})
    assert r.status_code in (403, 404), r.text
    other = world(factory, db)
    expect_error(act(api, other.supervisor, tid, "pause", {"reason": "x"}), 404, "NOT_FOUND")
    nothing_written()
    # Allowed: the assigned engineer, the project's supervisor, an admin.
    _, admin_token = factory.user(roles=[("admin", 0)])
    for person, token in ((eng, eng.token), (w.supervisor, w.supervisor.token), (None, admin_token)):
        r = api.post(f"/api/v1/repairs/{tid}/pause", token=token, json={"reason": "等业主"})
        assert expect_ok(r)["paused"] is True
        assert expect_ok(api.post(f"/api/v1/repairs/{tid}/resume", token=token, json={}))["paused"] is False
    assert db.scalar("SELECT COUNT(*) FROM sla_pauses WHERE kind = 'repair' AND subject_id = %s", (tid,)) == 3
    # A cancelled ticket has no clock to pause.
    expect_ok(act(api, w.owner_a, tid, "cancel", {}))
    expect_error(act(api, w.supervisor, tid, "pause", {"reason": "x"}), 409, "CONFLICT")


FAST = {
    "sla_sweep_interval_ms": 200,
    "repair_sweep_interval_ms": 200,
    "repair_reminder_percent": 10,
    "repair_escalate_engineer_after_s": 0,
    "repair_escalate_supervisor_after_s": 1,
    "repair_escalate_manager_after_s": 2,
}


@pytest.fixture(scope="module")
def sweepers(stack):
    gws = [stack.start_gateway(FAST, name=f"sla-sweeper-{i}") for i in range(2)]
    yield gws
    for gw in gws:
        stop_gateway(stack, gw)


def assign_on(api, gw, w, tid, engineer_id):
    """A supervisor's reassignment, made on a gateway with the fast ladder:
    the change recomputes the next step with the ladder of the process that
    makes it (every process of a deployment shares its configuration)."""
    return api.post(f"/api/v1/repairs/{tid}/assign", token=w.supervisor.token, json={"engineer_id": engineer_id},
                    base=gw.url)


def escalation_steps(db, tid, clock_name="accept"):
    return [(r["kind"], r["step"]) for r in db.query(
        "SELECT kind, step FROM repair_escalations WHERE ticket_id = %s AND clock = %s ORDER BY kind, step",
        (tid, clock_name))]


def test_a_reminder_held_for_want_of_an_engineer_comes_once_one_is_assigned(api, db, factory, sweepers):
    # Nobody to dispatch to: the reminder (at 10 % = 3 s) cannot be sent and waits.
    w = world(factory, db, engineers=0, accept_s=30, arrive_s=3600, resolve_s=7200)
    tid = new_ticket(api, w)["id"]
    assert ticket_row(db, tid)["state"] == "submitted"
    started = clock(db, tid)["started_at"]
    # Held: the sweepers looked past it, to the escalation at the due time.
    wait_for(lambda: (clock(db, tid)["next_at"] or started) >= started + dt.timedelta(seconds=29),
             what="the reminder held and the next step moved to the due time")
    assert escalation_steps(db, tid) == [] and clock(db, tid)["fired"] == 0
    # An engineer assigned: the change re-derives the next step, and the
    # reminder is due at once (the clock is not due yet).
    eng_id, _ = factory.user(roles=[("engineer", w.project_id)])
    r = assign_on(api, sweepers[1], w, tid, eng_id)
    # (or the dispatch retry of a repair sweeper gave it to them first, or
    # meanwhile: a transition too, which syncs the clocks the same way)
    if r.status_code != 200:
        expect_error(r, 409, "CONFLICT")
        wait_for(lambda: ticket_row(db, tid)["engineer_id"] == eng_id, what="the dispatch retry")
    assert ticket_row(db, tid)["engineer_id"] == eng_id
    wait_for(lambda: events(db, tid, "repair.reminder", eng_id), what="the reminder to the new engineer")
    assert escalation_steps(db, tid) == [("reminder", 0)]
    assert clock(db, tid)["fired"] == 1


def test_reassignment_never_sends_a_fired_step_again(api, db, factory, sweepers):
    w = world(factory, db, engineers=2, accept_s=2, arrive_s=3600, resolve_s=7200)
    tid = new_ticket(api, w)["id"]
    first = ticket_row(db, tid)["engineer_id"]
    wait_for(lambda: ("escalation", 1) in escalation_steps(db, tid), what="the engineer step")
    second = next(e for e in w.engineers if e.id != first)
    expect_ok(assign_on(api, sweepers[0], w, tid, second.id))
    # The accept clock runs on (dispatched again) with its round's fired steps.
    wait_for(lambda: len(escalation_steps(db, tid)) == 4, what="every step of the round")
    wait_for_runs(sweepers, "sla-sweeper")
    assert escalation_steps(db, tid) == [("reminder", 0), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    assert clock(db, tid)["fired"] == 0b1111
    # The new engineer is never reminded nor told of step 1 for this round.
    assert events(db, tid, "repair.reminder", second.id) == []
    assert [json.loads(e["payload"])["step"] for e in events(db, tid, "repair.escalated", second.id)] == []
    assert len(events(db, tid, "repair.reminder", first)) == 1
    assert len(events(db, tid, "repair.escalated", first)) == 1
    assert len(events(db, tid, "repair.escalated", w.supervisor.id)) == 1


def test_reopen_sends_every_step_again(api, db, factory, stack, sweepers):
    w = world(factory, db, accept_s=1, arrive_s=3600, resolve_s=7200)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    wait_for(lambda: len(escalation_steps(db, tid)) == 4, what="first round")
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "ok"})):
        expect_ok(act(api, eng, tid, step, body))
    assert clock(db, tid)["state"] == "met"
    expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "又坏了"}))
    c = clock(db, tid)
    assert c["round"] == 1 and c["fired"] == 0 and c["state"] == "running"
    wait_for(lambda: clock(db, tid)["fired"] == 0b1111, what="second round")
    rounds = db.query("SELECT round, COUNT(*) AS n FROM repair_escalations WHERE ticket_id = %s AND clock = 'accept'"
                      " GROUP BY round ORDER BY round", (tid,))
    assert [(r["round"], r["n"]) for r in rounds] == [(0, 4), (1, 4)]
    assert len(events(db, tid, "repair.reminder", eng.id)) == 2
    # Counted by the processes that fired them (this ticket's eight at least).
    assert sum(gateway_metric(gw, "gateway_sla_steps_fired_total") for gw in [stack.gateway] + sweepers) >= 8


def test_categories_carry_business_hours(api, db, factory):
    w = world(factory, db)
    base = "/api/v1/admin/repair-categories"
    body = {"project_id": w.project_id, "code": "sla_bh", "name": "工作日类", "accept_minutes": 60,
            "arrive_minutes": 600, "resolve_minutes": 2880}
    expect_error(api.post(base, token=w.supervisor.token, json=dict(body, business_hours="yes")), 400,
                 "INVALID_FIELD", "business_hours")
    assert db.scalar("SELECT COUNT(*) FROM repair_categories WHERE project_id = %s AND code = 'sla_bh'",
                     (w.project_id,)) == 0
    c = expect_ok(api.post(base, token=w.supervisor.token, json=dict(body, business_hours=True)), 201)
    assert c["business_hours"] is True
    listed = expect_ok(api.get(f"{base}?project={w.project_id}&limit=100", token=w.supervisor.token))
    assert [x["business_hours"] for x in listed if x["code"] in ("sla_bh", "plumbing_electric")] in ([True, False],
                                                                                                  [False, True])
    # Filed under it: business clocks.
    tid = new_ticket(api, w, category="sla_bh")["id"]
    assert clock(db, tid)["mode"] == "business"
    d = expect_ok(api.request("PATCH", f"{base}/{c['id']}", token=w.supervisor.token, json={"business_hours": False}))
    assert d["business_hours"] is False
    audit = db.one("SELECT detail FROM audit_log WHERE action = 'repair_category.update' AND target_id = %s"
                   " ORDER BY id DESC LIMIT 1", (c["id"],))
    detail = json.loads(audit["detail"])
    assert detail["before"]["business_hours"] is True and detail["after"]["business_hours"] is False
    expect_error(api.request("PATCH", f"{base}/{c['id']}", token=w.supervisor.token, json={"business_hours": 1}), 400,
                 "INVALID_FIELD", "business_hours")
    # The ticket filed before keeps its clocks; a new one counts natural time.
    assert clock(db, tid)["mode"] == "business"
    assert clock(db, new_ticket(api, w, category="sla_bh")["id"])["mode"] == "natural"


def test_a_ticket_without_clocks_is_adopted_from_its_due_times(api, db, factory, sweepers):
    """A ticket filed by a gateway from before the engine has due columns and
    no clocks: a repair sweeper gives it clocks and the steps come."""
    w = world(factory, db, accept_s=3600, arrive_s=7200, resolve_s=10800)
    tid = new_ticket(api, w)["id"]
    db.exec("DELETE FROM sla_clocks WHERE kind = 'repair' AND subject_id = %s", (tid,))
    db.exec("UPDATE repair_tickets SET clock_started_at = NOW(3) - INTERVAL 3601 SECOND,"
            " accept_due_at = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (tid,))
    wait_for(lambda: clock(db, tid), what="the clocks adopted")
    c = clock(db, tid)
    assert c["budget_s"] == 3600 and c["mode"] == "natural" and c["round"] == 0
    wait_for(lambda: len(escalation_steps(db, tid)) == 3, what="the late clock's escalation steps")
    # The reminder lapsed at the due time (it warns before a breach only).
    assert escalation_steps(db, tid) == [("escalation", 1), ("escalation", 2), ("escalation", 3)]
