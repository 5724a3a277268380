"""A complaint's clocks on the service-level engine: two clocks per round
(first response, resolution) with the category's budget for the level; the
first reply stops the first, a proposed resolution both; a level change
moves the due times; a rejection starts a new round; a clock that runs out
escalates handler -> supervisors -> project managers, each step once, and
the complaint shows as overdue."""
import json

import pytest

from complaints_support import cworld, events, new_complaint, owner_act, row, staff, timeline
from conftest import expect_ok, wait_for, wait_for_runs


@pytest.fixture(scope="module")
def sweeper(stack):
    """A gateway whose service-level sweeper runs every 200 ms, every
    escalation step due at the breach."""
    return stack.start_gateway({"sla_sweep_interval_ms": 200, "complaint_escalate_supervisor_after_s": 0,
                                "complaint_escalate_manager_after_s": 0}, name="complaint-clocks")


def clocks(db, cid):
    return db.query("SELECT * FROM sla_clocks WHERE kind = 'complaint' AND subject_id = %s ORDER BY round, clock_no",
                    (cid,))


def seconds(db, sql, cid):
    return db.scalar(sql, (cid,))


def test_rounds_budgets_and_stops(api, db, factory):
    cw = cworld(factory, db)
    cid = new_complaint(api, cw)["id"]
    c = clocks(db, cid)
    assert [(x["round"], x["clock"], x["state"], x["budget_s"], x["mode"]) for x in c] == [
        (0, "respond", "running", 86400, "natural"), (0, "resolve", "running", 604800, "natural")]
    assert abs(seconds(db, "SELECT TIMESTAMPDIFF(SECOND, created_at, respond_due_at) FROM complaints WHERE id = %s",
                       cid) - 86400) <= 2
    d = expect_ok(api.get(f"/api/v1/complaints/{cid}", token=cw.w.owner_a.token))
    assert d["due"]["respond_by"] and d["due"]["resolve_by"]
    # Major: the category's major budgets.
    expect_ok(staff(api, cw.w.supervisor, cid, "level", {"level": "major"}))
    assert [x["budget_s"] for x in clocks(db, cid)] == [3600, 86400]
    assert abs(seconds(db, "SELECT TIMESTAMPDIFF(SECOND, created_at, respond_due_at) FROM complaints WHERE id = %s",
                       cid) - 3600) <= 2
    # The first reply meets the first-response clock.
    expect_ok(staff(api, cw.w.supervisor, cid, "reply", {"text": "收到"}))
    assert [x["state"] for x in clocks(db, cid)] == ["met", "running"]
    assert row(db, cid)["respond_due_at"] is None and row(db, cid)["resolve_due_at"] is not None
    # A proposed resolution meets the other; a rejection starts round 1.
    expect_ok(staff(api, cw.w.supervisor, cid, "resolve", {"resolution": "已处理"}))
    assert [x["state"] for x in clocks(db, cid)] == ["met", "met"]
    assert row(db, cid)["resolve_due_at"] is None
    expect_ok(owner_act(api, cw.w.owner_a, cid, "reject", {"reason": "没解决"}))
    c = clocks(db, cid)
    assert [(x["round"], x["state"]) for x in c] == [(0, "met"), (0, "met"), (1, "running"), (1, "running")]
    assert [x["budget_s"] for x in c[2:]] == [3600, 86400]
    # Closing stops every clock.
    expect_ok(staff(api, cw.w.supervisor, cid, "resolve", {"resolution": "再处理"}))
    expect_ok(owner_act(api, cw.w.owner_a, cid, "accept"))
    assert all(x["state"] != "running" for x in clocks(db, cid))


def test_business_hours_category_counts_business_time(api, db, factory):
    cw = cworld(factory, db)
    items = expect_ok(api.get(f"/api/v1/admin/complaint-categories?project={cw.w.project_id}",
                              token=cw.w.supervisor.token))
    noise = next(c for c in items if c["code"] == "noise")
    expect_ok(api.request("PATCH", f"/api/v1/admin/complaint-categories/{noise['id']}", token=cw.w.supervisor.token,
                          json={"business_hours": True}))
    cid = new_complaint(api, cw)["id"]
    assert [x["mode"] for x in clocks(db, cid)] == ["business", "business"]


def make_late(db, cid, clock_no=0):
    db.exec("UPDATE sla_clocks SET started_at = NOW(3) - INTERVAL budget_s + 60 SECOND,"
            " due_at = NOW(3) - INTERVAL 1 MINUTE, next_at = NOW(3) - INTERVAL 1 MINUTE"
            " WHERE kind = 'complaint' AND subject_id = %s AND clock_no = %s AND state = 'running'", (cid, clock_no))


def test_escalation_ladder_fires_each_step_once(api, db, factory, sweeper):
    cw = cworld(factory, db)
    w = cw.w
    eng = w.engineers[0]
    cid = new_complaint(api, cw)["id"]
    expect_ok(staff(api, cw.service, cid, "assign", {"handler_id": eng.id}))
    make_late(db, cid, 0)
    wait_for(lambda: len(events(db, cid, "complaint.escalated")) >= 3, what="escalations")
    wait_for_runs([sweeper], "sla-sweeper")
    esc = events(db, cid, "complaint.escalated")
    by_user = sorted(e["user_id"] for e in esc)
    # handler; supervisors (the supervisor and the manager); managers (the manager)
    assert by_user == sorted([eng.id, w.supervisor.id, w.manager.id, w.manager.id]), by_user
    assert {json.loads(e["payload"])["clock"] for e in esc} == {"respond"}
    assert row(db, cid)["breached"] == 1
    assert [t["action"] for t in timeline(db, cid)].count("escalate") == 3
    listed = expect_ok(api.get(f"/api/v1/admin/complaints?project={w.project_id}&overdue=true",
                               token=w.supervisor.token))
    assert [x["id"] for x in listed] == [cid] and listed[0]["overdue"] is True
    # The reply meets the clock: no longer overdue, nothing fires again.
    expect_ok(staff(api, eng, cid, "reply", {"text": "马上处理"}))
    wait_for_runs([sweeper], "sla-sweeper")
    assert len(events(db, cid, "complaint.escalated")) == 4
    assert expect_ok(api.get(f"/api/v1/admin/complaints?project={w.project_id}&overdue=true",
                             token=w.supervisor.token)) == []


def test_unassigned_escalation_goes_to_supervisors(api, db, factory, sweeper):
    cw = cworld(factory, db)
    w = cw.w
    cid = new_complaint(api, cw)["id"]
    make_late(db, cid, 1)
    wait_for(lambda: len(events(db, cid, "complaint.escalated")) >= 5, what="escalations")
    wait_for_runs([sweeper], "sla-sweeper")
    by_user = sorted(e["user_id"] for e in events(db, cid, "complaint.escalated"))
    # step 0 without a handler and step 1: the supervisors twice; step 2: the manager
    assert by_user == sorted([w.supervisor.id, w.manager.id] * 2 + [w.manager.id]), by_user
