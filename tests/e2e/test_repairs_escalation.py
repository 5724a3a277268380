"""Time limits: reminders before a clock runs out, the escalation ladder
after (engineer, supervisor, project manager, each after its own delay),
once only with two gateway processes sweeping the same database; and the
sweeper's other jobs (dispatch retries, text re-checks)."""
import json

import pytest

from conftest import expect_ok, wait_for_runs
from media_support import stop_gateway
from repairs_support import act, events, new_ticket, ticket_row, wait_for, world

FAST = {
    "repair_sweep_interval_ms": 200,
    "sla_sweep_interval_ms": 200,
    "repair_reminder_percent": 50,
    "repair_escalate_engineer_after_s": 0,
    "repair_escalate_supervisor_after_s": 1,
    "repair_escalate_manager_after_s": 2,
    "repair_recheck_interval_ms": 1000,
}


@pytest.fixture(scope="module")
def sweepers(stack):
    """Two more gateway processes on the session's database, sweeping fast."""
    gws = [stack.start_gateway(FAST, name=f"repairs-sweeper-{i}") for i in range(2)]
    yield gws
    for gw in gws:
        stop_gateway(stack, gw)


def escalation_rows(db, tid, clock="accept"):
    return db.query("SELECT * FROM repair_escalations WHERE ticket_id = %s AND clock = %s ORDER BY kind, step",
                    (tid, clock))


def steps_of(rows):
    return [(r["kind"], r["step"], r["level"]) for r in rows]


def escalated_to(db, tid, user_id):
    return [json.loads(e["payload"]) for e in events(db, tid, "repair.escalated", user_id)]


ALL_STEPS = [("reminder", 0, "engineer"), ("escalation", 1, "engineer"), ("escalation", 2, "supervisor"),
             ("escalation", 3, "manager")]


def test_accept_clock_reminds_then_climbs_the_ladder(api, db, factory, sweepers):
    w = world(factory, db, accept_s=2)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    wait_for(lambda: len(escalation_rows(db, tid)) == 4, what="reminder and three escalation steps")
    rows = escalation_rows(db, tid)
    assert steps_of(rows) == ALL_STEPS
    assert all(r["round"] == 0 for r in rows)
    # Each step after its own delay past the due time.
    due = ticket_row(db, tid)["accept_due_at"]
    by_step = {r["step"]: r for r in rows if r["kind"] == "escalation"}
    assert by_step[1]["created_at"] >= due
    assert (by_step[2]["created_at"] - due).total_seconds() >= 1
    assert (by_step[3]["created_at"] - due).total_seconds() >= 2

    reminders = events(db, tid, "repair.reminder")
    assert [e["user_id"] for e in reminders] == [eng.id]
    r = json.loads(reminders[0]["payload"])
    assert r["clock"] == "accept" and r["clock_label"] == "响应" and r["due_time"] and r["ticket_no"]
    assert [(p["level"], p["clock"]) for p in escalated_to(db, tid, eng.id)] == [("engineer", "accept")]
    assert [p["level"] for p in escalated_to(db, tid, w.supervisor.id)] == ["supervisor"]
    # The manager is also a supervisor of the project: told at steps 2 and 3.
    assert sorted(p["step"] for p in escalated_to(db, tid, w.manager.id)) == [2, 3]
    owner_told = escalated_to(db, tid, w.owner_a.id)
    assert len(owner_told) == 1 and owner_told[0]["state_label"] == "已派单"
    assert by_step[2]["notified"] == 3  # supervisor + manager + owner
    assert ticket_row(db, tid)["breached"] == 1

    # Staff see it overdue, with the escalations on the ticket.
    d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.supervisor.token))
    assert d["overdue"] is True and d["breached"] is True
    assert [(e["kind"], e["step"]) for e in d["escalations"]] == [(k, s) for k, s, _ in ALL_STEPS]

    # Accepting stops the accept clock; the other clocks are far away.
    expect_ok(act(api, eng, tid, "accept"))
    count = len(db.query("SELECT id FROM repair_escalations WHERE ticket_id = %s", (tid,)))
    wait_for_runs(sweepers, "sla-sweeper")  # a whole sweep of each fast gateway since
    assert len(db.query("SELECT id FROM repair_escalations WHERE ticket_id = %s", (tid,))) == count


def test_two_processes_escalate_each_step_once(api, db, factory, stack, sweepers):
    w = world(factory, db, engineers=2, accept_s=1)
    tids = [new_ticket(api, w)["id"] for _ in range(4)]
    for tid in tids:
        wait_for(lambda: len(escalation_rows(db, tid)) == 4, what=f"all steps of ticket {tid}")
    for tid in tids:
        assert steps_of(escalation_rows(db, tid)) == ALL_STEPS
        eng = ticket_row(db, tid)["engineer_id"]
        assert len(events(db, tid, "repair.reminder", eng)) == 1
        assert len(escalated_to(db, tid, eng)) == 1
        assert len(escalated_to(db, tid, w.supervisor.id)) == 1
        assert len(escalated_to(db, tid, w.manager.id)) == 2
        assert len(escalated_to(db, tid, w.owner_a.id)) == 1
    # Each process logs the steps it did, just after committing them: across
    # all of them, each step once.
    def logs():
        out = []
        for gw in [stack.gateway] + sweepers:
            with open(gw.log, encoding="utf-8") as f:
                out.append(f.read())
        return out

    def logged(tid):
        return sum(log.count(f"ticket {tid}: accept clock") for log in logs())

    for tid in tids:
        wait_for(lambda: logged(tid) >= 4, what=f"the log lines of ticket {tid}'s steps")
        assert logged(tid) == 4


def test_reopen_starts_a_new_round(api, db, factory, sweepers):
    w = world(factory, db, accept_s=1)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    wait_for(lambda: len(escalation_rows(db, tid)) == 4, what="first round")
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "ok"})):
        expect_ok(act(api, eng, tid, step, body))
    expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "又漏了"}))
    wait_for(lambda: len(escalation_rows(db, tid)) == 8, what="second round")
    assert sorted({r["round"] for r in escalation_rows(db, tid)}) == [0, 1]


def test_submitted_ticket_is_dispatched_once_an_engineer_exists(api, db, factory, sweepers):
    w = world(factory, db, engineers=0)
    tid = new_ticket(api, w)["id"]
    assert ticket_row(db, tid)["state"] == "submitted"
    eng_id, eng_token = factory.user(roles=[("engineer", w.project_id)])
    wait_for(lambda: ticket_row(db, tid)["state"] == "dispatched", what="dispatch retry")
    assert ticket_row(db, tid)["engineer_id"] == eng_id
    assert len(events(db, tid, "repair.assigned", eng_id)) == 1
    assert len(events(db, tid, "repair.dispatched", w.owner_a.id)) == 1


def test_unchecked_text_is_checked_again(api, db, factory, fake, sweepers):
    w = world(factory, db)
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (w.owner_a.id,))
    # WeChat down for this owner's checks (the first try, both retries, and
    # any re-check meanwhile) until the test has seen the ticket unchecked;
    # other tickets' re-checks pass the injection by.
    fake.fail("/wxa/msg_sec_check", errcode=-1, count=1000, match={"openid": openid})
    tid = new_ticket(api, w)["id"]
    assert ticket_row(db, tid)["content_check"] == "unchecked"
    fake.fail("/wxa/msg_sec_check", count=0)  # WeChat is back
    wait_for(lambda: ticket_row(db, tid)["content_check"] == "pass", what="the re-check")
    assert ticket_row(db, tid)["content_trace_id"]
