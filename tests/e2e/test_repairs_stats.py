"""GET /api/v1/admin/repairs/stats: counts by category and state, time to
accept and to resolve (average, p90), breach rate, satisfaction per engineer,
from the tickets' timeline (test_stats_history.py has the periods that cut
through a history)."""
import time

from conftest import expect_error, expect_ok
from repairs_support import act, category, named_user, new_ticket, world


def finish(api, w, eng, tid, score):
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "ok"})):
        expect_ok(act(api, eng, tid, step, body))
    expect_ok(act(api, w.owner_a, tid, "rating", {"speed": score, "attitude": score, "quality": score}))


def test_stats_of_a_project(api, db, factory):
    w = world(factory, db, engineers=2)
    e0, e1 = w.engineers
    other_code, _ = category(db, name="另一类")
    tickets = [new_ticket(api, w)["id"] for _ in range(3)] + [new_ticket(api, w, category=other_code)["id"]]
    # e0 gets tickets 0 and 2, e1 tickets 1 and 3 (least loaded).
    finish(api, w, e0, tickets[0], 5)
    finish(api, w, e1, tickets[1], 2)
    expect_ok(act(api, w.owner_a, tickets[2], "cancel"))
    # Known durations: accepted after 60 s and 600 s, resolved after 3600 s and
    # 7200 s (filed earlier, so all of it lies before now).
    for tid, accept_s, resolve_s in ((tickets[0], 60, 3600), (tickets[1], 600, 7200)):
        db.exec("UPDATE repair_tickets SET created_at = created_at - INTERVAL 8000 SECOND WHERE id = %s", (tid,))
        for action, after in (("accept", accept_s), ("resolve", resolve_s)):
            db.exec("UPDATE repair_timeline h JOIN repair_tickets t ON t.id = h.ticket_id"
                    " SET h.created_at = t.created_at + INTERVAL %s SECOND WHERE h.ticket_id = %s AND h.action = %s",
                    (after, tid, action))
    # The sweeper's record of a clock run past due (test_repairs_escalation).
    db.exec("INSERT INTO repair_escalations (ticket_id, clock, round, kind, step, level, due_at)"
            " VALUES (%s, 'resolve', 0, 'escalation', 1, 'engineer', NOW(3))", (tickets[1],))

    d = expect_ok(api.get(f"/api/v1/admin/repairs/stats?project={w.project_id}", token=w.supervisor.token))
    assert d["project_id"] == w.project_id and d["total"] == 4
    assert {c["code"]: c["count"] for c in d["by_category"]} == {w.category: 3, other_code: 1}
    states = {s["state"]: s["count"] for s in d["by_state"]}
    assert states == {"submitted": 0, "dispatched": 1, "accepted": 0, "in_progress": 0, "resolved": 0, "closed": 2,
                      "cancelled": 1}
    assert [s["label"] for s in d["by_state"]][:2] == ["已受理", "已派单"]
    assert d["time_to_accept"] == {"count": 2, "avg_s": 330, "p90_s": 600}
    assert d["time_to_resolve"] == {"count": 2, "avg_s": 5400, "p90_s": 7200}
    # Four tickets filed: 12 clocks started, one escalated.
    assert d["clocks"] == 12 and d["breached"] == 1 and d["breach_rate"] == 1 / 12
    sat = {s["engineer_id"]: s for s in d["satisfaction"]}
    assert sat[e0.id]["avg_score"] == 5 and sat[e0.id]["ratings"] == 1 and sat[e0.id]["engineer_name"] == "师傅0"
    assert sat[e1.id]["avg_score"] == 2 and sat[e1.id]["poor"] == 1

    # A window before the tickets holds none of them.
    early = expect_ok(api.get(f"/api/v1/admin/repairs/stats?project={w.project_id}&from=1000&to=2000",
                              token=w.supervisor.token))
    assert early["total"] == 0 and early["time_to_accept"] == {"count": 0, "avg_s": None, "p90_s": None}
    assert early["breach_rate"] == 0


def test_stats_access_and_parameters(api, db, factory):
    w = world(factory, db)
    other = factory.project()
    expect_error(api.get(f"/api/v1/admin/repairs/stats?project={other}", token=w.supervisor.token), 403,
                 "FORBIDDEN", "project")
    expect_error(api.get("/api/v1/admin/repairs/stats", token=w.owner_a.token), 403, "FORBIDDEN")
    now = int(time.time())
    expect_error(api.get(f"/api/v1/admin/repairs/stats?from={now}&to={now - 10}", token=w.supervisor.token), 400,
                 "INVALID_FIELD", "from")
    expect_error(api.get("/api/v1/admin/repairs/stats?to=soon", token=w.supervisor.token), 400, "INVALID_FIELD", "to")
    # Without ?project= a supervisor's numbers cover only their projects.
    new_ticket(api, w)
    mine = expect_ok(api.get("/api/v1/admin/repairs/stats", token=w.supervisor.token))
    assert mine["project_id"] is None and mine["total"] == 1
    boss = named_user(factory, db, "管理员", roles=[("admin", 0)])
    everything = expect_ok(api.get("/api/v1/admin/repairs/stats", token=boss.token))
    assert everything["total"] >= 1
