"""The staff's overdue list (GET /api/v1/admin/repairs?overdue=true) reads the
tickets marked overdue (repair_overdue): the repair sweeper marks a ticket
once a running clock has run out, and each state change adds or removes its
ticket's mark in its own transaction. The list checks the clocks on each
marked ticket, so it never shows a ticket that is not overdue, and it pages
through the marks each ticket exactly once."""
import pytest

from conftest import expect_ok, wait_for_runs
from media_support import stop_gateway
from repairs_support import act, new_ticket, wait_for, world


@pytest.fixture(scope="module")
def sweeper(stack):
    """Another gateway on the session's database whose repair sweeper runs
    every 200 ms (the session's gateway sweeps every 30 s)."""
    gw = stack.start_gateway({"repair_sweep_interval_ms": 200}, name="overdue-sweeper")
    yield gw
    stop_gateway(stack, gw)


def overdue_ids(api, w, limit=100, project=True, person=None):
    q = f"project={w.project_id}&" if project else ""
    items = expect_ok(api.get(f"/api/v1/admin/repairs?{q}overdue=true&limit={limit}",
                              token=(person or w.supervisor).token))
    assert all(x["overdue"] is True for x in items), items
    return [x["id"] for x in items]


def marked(db, tid):
    return db.scalar("SELECT COUNT(*) FROM repair_overdue WHERE ticket_id = %s", (tid,)) == 1


def make_late(db, tid, accept=True, arrive=False, resolve=False):
    """Moves the chosen clocks' due times a minute into the past."""
    cols = [c for c, on in (("accept", accept), ("arrive", arrive), ("resolve", resolve)) if on]
    db.exec("UPDATE repair_tickets SET " + ", ".join(f"{c}_due_at = NOW(3) - INTERVAL 1 MINUTE" for c in cols)
            + " WHERE id = %s", (tid,))
    # The clocks' own start too (sla_clocks), from which every change
    # derives the due columns again.
    for c in cols:
        db.exec("UPDATE sla_clocks SET started_at = NOW(3) - INTERVAL budget_s + 60 SECOND,"
                " due_at = NOW(3) - INTERVAL 1 MINUTE WHERE kind = 'repair' AND subject_id = %s AND clock = %s",
                (tid, c))


def test_the_sweeper_lists_a_ticket_once_its_clock_runs_out(api, db, factory, sweeper):
    w = world(factory, db, accept_s=1)
    tid = new_ticket(api, w)["id"]
    assert not marked(db, tid)
    wait_for(lambda: overdue_ids(api, w) == [tid], what="the ticket on the overdue list")
    assert marked(db, tid)
    # Accepting stops the late clock; the others run far ahead: gone at once,
    # in the accept's own transaction.
    expect_ok(act(api, w.engineers[0], tid, "accept"))
    assert not marked(db, tid) and overdue_ids(api, w) == []
    wait_for_runs([sweeper], "repair-sweeper")
    assert not marked(db, tid) and overdue_ids(api, w) == []


def test_state_changes_keep_the_list_exact(api, db, factory, sweeper):
    w = world(factory, db, engineers=2)
    eng, other = w.engineers
    tid = new_ticket(api, w)["id"]
    assigned = db.scalar("SELECT engineer_id FROM repair_tickets WHERE id = %s", (tid,))
    first, second = (eng, other) if assigned == eng.id else (other, eng)
    expect_ok(act(api, first, tid, "accept"))
    # Late on the accept clock only, which no longer runs: never listed.
    make_late(db, tid, accept=True)
    wait_for_runs([sweeper], "repair-sweeper")
    assert not marked(db, tid) and overdue_ids(api, w) == []
    # Reassigned: back to dispatched, the accept clock runs again and is
    # late: listed at once.
    expect_ok(act(api, w.supervisor, tid, "assign", {"engineer_id": second.id}))
    assert marked(db, tid) and overdue_ids(api, w) == [tid]
    # Accepted again: off the list at once.
    expect_ok(act(api, second, tid, "accept"))
    assert overdue_ids(api, w) == []
    # The resolve clock runs out: the sweeper lists it; starting keeps it
    # (the resolve clock still runs), resolving takes it off.
    make_late(db, tid, accept=False, resolve=True)
    wait_for(lambda: overdue_ids(api, w) == [tid], what="the late resolve clock on the list")
    expect_ok(act(api, second, tid, "start"))
    assert marked(db, tid) and overdue_ids(api, w) == [tid]
    expect_ok(act(api, second, tid, "resolve", {"note": "修好了"}))
    assert not marked(db, tid) and overdue_ids(api, w) == []
    # Reopened: the clocks restart from now, nothing is late.
    expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "又漏了"}))
    wait_for_runs([sweeper], "repair-sweeper")
    assert not marked(db, tid) and overdue_ids(api, w) == []


def test_a_stale_mark_never_lists_a_ticket_and_the_sweeper_removes_it(api, db, factory, sweeper):
    """A mark whose ticket is on time (as a gateway from before the marks
    leaves one) is filtered out by the clocks, then removed."""
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    db.exec("INSERT INTO repair_overdue (project_id, ticket_id) VALUES (%s, %s)", (w.project_id, tid))
    assert overdue_ids(api, w) == []
    wait_for(lambda: not marked(db, tid), what="the stale mark removed")


def test_paging_shows_each_overdue_ticket_once(api, db, factory, sweeper):
    w = world(factory, db)
    tids = [new_ticket(api, w, owner=w.owner_a if i % 2 else w.owner_b)["id"] for i in range(7)]
    late = [t for i, t in enumerate(tids) if i != 3]  # one stays on time, between the others
    for tid in late:
        make_late(db, tid)
    wait_for(lambda: all(marked(db, t) for t in late), what="every late ticket marked")
    assert not marked(db, tids[3])
    for project in (True, False):
        seen, cursor = [], None
        for _ in range(10):
            q = f"project={w.project_id}&" if project else ""
            r = api.get(f"/api/v1/admin/repairs?{q}overdue=true&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                        token=w.supervisor.token)
            seen += [x["id"] for x in expect_ok(r)]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == late[::-1] and cursor is None, (project, seen)
    # The state filter applies on top.
    expect_ok(act(api, w.engineers[0], late[0], "accept"))
    make_late(db, late[0], accept=False, arrive=True)
    wait_for(lambda: marked(db, late[0]), what="the accepted ticket marked again")
    items = expect_ok(api.get(f"/api/v1/admin/repairs?project={w.project_id}&overdue=true&state=accepted",
                              token=w.supervisor.token))
    assert [x["id"] for x in items] == [late[0]]


def test_the_overdue_list_keeps_to_the_callers_projects(api, db, factory, sweeper):
    mine, theirs = world(factory, db), world(factory, db)
    a, b = new_ticket(api, mine)["id"], new_ticket(api, theirs)["id"]
    make_late(db, a)
    make_late(db, b)
    wait_for(lambda: marked(db, a) and marked(db, b), what="both marked")
    # Without ?project=, a supervisor's list is their projects' tickets only.
    assert a in overdue_ids(api, mine, project=False) and b not in overdue_ids(api, mine, project=False)
    # Another project's list: 403, even though it has overdue tickets.
    r = api.get(f"/api/v1/admin/repairs?project={theirs.project_id}&overdue=true", token=mine.supervisor.token)
    assert r.status_code == 403 and r.json()["error"]["field"] == "project", r.text
    # An admin sees both.
    admin_id, admin_token = factory.user(roles=[("admin", 0)])
    ids = expect_ok(api.get("/api/v1/admin/repairs?overdue=true&limit=100", token=admin_token))
    ids = [x["id"] for x in ids]
    assert a in ids and b in ids
