"""The repair lists' statements, as a gateway runs them, read one range of an
index in the list's order and stop at the page: no sort, no temporary table
of the rows, no table scanned into a join buffer, and only the page's rows
and their lookups examined, on a project with a few thousand open, overdue
tickets. Every shape of the lists is run, two pages each.

It guards the plans' shape at this size. It does not reproduce the plan
that once went wrong on the bench's data (MariaDB scanned the nearly empty
repair_filings into a join buffer and sorted the whole range for a page,
depending on index statistics InnoDB recomputes in the background:
bench/RESULTS.md, "The desk's filings in a join buffer"); that join is
forced to its primary key since.

MariaDB's slow log at long_query_time = 0 with log_slow_verbosity =
query_plan,explain records each statement with its plan. The global
settings reach only connections opened after they are set, so a gateway of
this test's own, started then, is the one whose statements are logged; the
session's gateways keep their settings and log nothing."""
import os
import re

import pymysql
import pytest

from conftest import unique, wait_for
from media_support import stop_gateway
from repairs_support import world

TICKETS = 3000


@pytest.fixture
def root(stack):
    conn = pymysql.connect(unix_socket=stack.db.socket, user="root", password="", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def plans(stack, root):
    """A gateway whose statements go to a slow log of their own; yields
    (gateway, a function that reads the log's entries)."""
    path = os.path.join(stack.dir, unique("plans_") + ".log")
    with root.cursor() as c:
        c.execute("SELECT @@GLOBAL.long_query_time, @@GLOBAL.log_slow_verbosity, @@GLOBAL.slow_query_log_file,"
                  " @@GLOBAL.log_output")
        saved = c.fetchone()
        # (other tests read the general log from a table)
        c.execute("SET GLOBAL log_output = 'FILE', slow_query_log_file = %s", (path,))
        c.execute("SET GLOBAL long_query_time = 0, log_slow_verbosity = 'query_plan,explain', slow_query_log = 1")
    gw = None
    try:
        # No sweeper of its own during the test: only the lists' statements.
        gw = stack.start_gateway({"repair_sweep_interval_ms": 3600000, "sla_sweep_interval_ms": 3600000},
                                 name=unique("plans-"))

        def entries():
            with root.cursor() as c:
                c.execute("FLUSH SLOW LOGS")
            with open(path, encoding="utf-8", errors="replace") as f:
                return slow_log_entries(f.read())

        yield gw, entries
    finally:
        with root.cursor() as c:
            c.execute("SET GLOBAL slow_query_log = 0")
            c.execute("SET GLOBAL long_query_time = %s, log_slow_verbosity = %s, slow_query_log_file = %s,"
                      " log_output = %s", saved)
        if gw:
            stop_gateway(stack, gw)


def slow_log_entries(text):
    """Each statement of a slow log as {"sql", "flags": {name: value}, "explain": [rows]}."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("# Time:") or line.startswith("# User@Host:"):
            if cur is None or cur["sql"]:
                cur = {"sql": "", "flags": {}, "explain": []}
                out.append(cur)
        elif cur is None:
            continue
        elif line.startswith("# explain: "):
            cur["explain"].append(line[len("# explain: "):])
        elif line.startswith("#"):
            cur["flags"].update(re.findall(r"(\w+): (\S+)", line))
        elif line.strip() and not line.startswith(("SET timestamp", "use ")):
            cur["sql"] += " " + line
    return [e for e in out if e["sql"]]


def many_overdue_tickets(db, w, n):
    """n open tickets of owner A, dispatched to the engineer, every clock
    past due and marked overdue (repair_overdue) as the sweeper leaves them,
    with fresh index statistics."""
    tag = unique("PL")
    db.exec("INSERT INTO repair_tickets (ticket_no, user_id, unit_id, building_id, project_id, category_id,"
            " description, state, engineer_id, content_check, clock_started_at, accept_due_at, arrive_due_at,"
            " resolve_due_at, breached, created_at)"
            " SELECT CONCAT(%s, seq), %s, %s, %s, %s, %s, '楼道灯不亮', 'dispatched', %s, 'pass',"
            " NOW(3) - INTERVAL 3 DAY, NOW(3) - INTERVAL 2 DAY, NOW(3) - INTERVAL 2 DAY, NOW(3) - INTERVAL 1 DAY, 1,"
            " NOW(3) - INTERVAL 3 DAY FROM seq_1_to_" + str(int(n)),
            (tag, w.owner_a.id, w.unit_a, w.building_id, w.project_id, w.category_id, w.engineers[0].id))
    ids = [r["id"] for r in db.query("SELECT id FROM repair_tickets WHERE project_id = %s ORDER BY id",
                                     (w.project_id,))]
    assert len(ids) == n
    db.exec("INSERT INTO repair_overdue (project_id, ticket_id) SELECT project_id, id FROM repair_tickets"
            " WHERE project_id = %s", (w.project_id,))
    # Clocks of their own, stopped: no sweeper adopts them or escalates, so
    # no other test receives their notifications.
    db.exec("INSERT INTO sla_clocks (kind, subject_id, round, clock_no, clock, project_id, started_at, budget_s,"
            " state, stopped_at, due_at, next_at)"
            " SELECT 'repair', t.id, 0, k.no, k.name, t.project_id, t.clock_started_at, 3600, 'stopped', NOW(3),"
            " t.accept_due_at, NULL FROM repair_tickets t"
            " JOIN (SELECT 0 AS no, 'accept' AS name UNION ALL SELECT 1, 'arrive' UNION ALL SELECT 2, 'resolve') k"
            " WHERE t.project_id = %s", (w.project_id,))
    db.query("ANALYZE TABLE repair_tickets, repair_overdue")
    return ids


def close_them(db, project_id):
    """Out of every other test's lists: closed and unmarked."""
    db.exec("DELETE FROM repair_overdue WHERE project_id = %s", (project_id,))
    db.exec("UPDATE repair_tickets SET state = 'closed', closed_at = NOW(3) WHERE project_id = %s", (project_id,))


def test_the_repair_lists_read_a_range_in_order_and_stop_at_the_page(stack, api, db, factory, plans):
    gw, entries = plans
    w = world(factory, db)
    ids = many_overdue_tickets(db, w, TICKETS)
    newest = ids[::-1]
    try:
        lists = {
            "the owner's list": ("/api/v1/repairs?limit=20", w.owner_a),
            "the engineer's work": ("/api/v1/work/repairs?limit=20", w.engineers[0]),
            "a project's tickets": (f"/api/v1/admin/repairs?project={w.project_id}&limit=20", w.supervisor),
            "a project's overdue tickets":
                (f"/api/v1/admin/repairs?project={w.project_id}&overdue=true&limit=20", w.supervisor),
            "the overdue tickets of the caller's projects": ("/api/v1/admin/repairs?overdue=true&limit=20",
                                                             w.supervisor),
            "an engineer's tickets in a project":
                (f"/api/v1/admin/repairs?project={w.project_id}&engineer={w.engineers[0].id}&limit=20",
                 w.supervisor),
        }
        for name, (path, person) in lists.items():
            cursor = None
            for page in range(2):
                r = api.get(path + (f"&cursor={cursor}" if cursor else ""), token=person.token, base=gw.url)
                assert r.status_code == 200, (name, r.text)
                body = r.json()
                assert [t["id"] for t in body["data"]] == newest[20 * page:20 * page + 20], name
                cursor = body["next_cursor"]
                assert cursor, name
        # MariaDB writes a statement's entry just after its answer has left,
        # so the last may still be on its way: waited for, not assumed.
        def lists_logged():
            found = [e for e in entries() if "repair_filings rf" in e["sql"]]
            return found if len(found) >= 2 * len(lists) else None

        logged = wait_for(lists_logged, what="the lists' statements in the slow log")
        assert len(logged) == 2 * len(lists), [e["sql"][:120] for e in logged]
        for e in logged:
            where = e["sql"][:160]
            # The explain's Extra column, and the flags MariaDB writes only
            # when one of them is set.
            assert len(e["explain"]) > 1, where
            for bad in ("join buffer", "Using filesort", "Using temporary"):
                assert not any(bad in row for row in e["explain"]), (where, bad, e["explain"])
            # (Tmp_table is left out: MariaDB's cache of a correlated
            # subquery's results is a temporary table of its own.)
            for flag in ("Filesort", "Full_join", "Full_scan"):
                assert e["flags"].get(flag, "No") == "No", (where, flag, e["flags"], e["explain"])
            # the page's rows and their lookups, not the range's
            assert int(e["flags"]["Rows_examined"]) < TICKETS, (where, e["flags"], e["explain"])
    finally:
        close_them(db, w.project_id)
