"""The lead intake is one CALL (schema/023_lead_intake.sql): what that one
statement must hold under concurrency, what a failing call leaves behind
(nothing), and how many statements a request costs."""
import os
import secrets
import threading

import pymysql

from conftest import Api, expect_error, unique_phone
from lead_support import (buyer_with_phone, events, lead_body, owner_with_code, project_with_agents,
                          touch)


def root_db(stack):
    """MariaDB's root over the test server's socket: grants, triggers, the
    general log."""
    return pymysql.connect(unix_socket=stack.db.socket, user="root", password="", database=stack.db.database,
                           autocommit=True, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor)


def all_at_once(stack, calls):
    """Runs each (token, body) POST /leads in its own thread, released
    together; returns the responses in the calls' order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, token, body):
        a = Api(stack.url, stack.ca_cert)
        try:
            barrier.wait(30)
            results[i] = a.post("/api/v1/leads", token=token, json=body)
        finally:
            a.session.close()

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in results), "a request did not complete"
    return results


def test_two_buyers_leave_the_same_new_phone_at_once(factory, db, stack):
    pid, agents, _ = project_with_agents(factory, 2)
    agent_ids = {a for a, _ in agents}
    for _ in range(4):  # a few rounds: each is a fresh race for the phone's first lead
        (u1, t1), (u2, t2) = factory.user(), factory.user()
        phone = unique_phone()
        results = all_at_once(stack, [(t1, lead_body(pid, phone)), (t2, lead_body(pid, phone))])
        assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
        leads = db.query("SELECT id, submissions, agent_user_id FROM leads WHERE project_id = %s AND phone = %s",
                         (pid, phone))
        assert len(leads) == 1, leads
        lead = leads[0]
        assert lead["submissions"] == 2 and lead["agent_user_id"] in agent_ids
        subs = db.query("SELECT user_id, outcome FROM lead_submissions WHERE lead_id = %s ORDER BY id", (lead["id"],))
        assert {s["user_id"] for s in subs} == {u1, u2}
        assert [s["outcome"] for s in subs] == ["created", "recorded"]
        assert db.scalar("SELECT COUNT(*) FROM lead_assignments WHERE lead_id = %s", (lead["id"],)) == 1
        assert db.scalar("SELECT COUNT(*) FROM lead_stage_history WHERE lead_id = %s", (lead["id"],)) == 1
        ev = events(db, "lead.assigned", ref_id=lead["id"])
        assert len(ev) == 1 and ev[0]["user_id"] == lead["agent_user_id"]
        # Each receipt is its own submission's.
        assert sorted(r.json()["data"]["submission"]["id"] for r in results) == \
            sorted(s["id"] for s in db.query("SELECT id FROM lead_submissions WHERE lead_id = %s", (lead["id"],)))


def test_the_daily_cap_is_exact_under_concurrency(factory, db, stack):
    cap = 5  # lead_daily_max_per_submitter's default
    pid, _, _ = project_with_agents(factory, 1)
    uid, token = factory.user()
    results = all_at_once(stack, [(token, lead_body(pid)) for _ in range(cap + 3)])
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * cap + [429] * 3, [r.text for r in results]
    for r in results:
        if r.status_code == 429:
            expect_error(r, 429, "RATE_LIMITED")
            assert 1 <= int(r.headers["Retry-After"]) <= 86400
    assert db.scalar("SELECT COUNT(*) FROM lead_submissions WHERE user_id = %s", (uid,)) == cap
    assert db.scalar("SELECT COUNT(*) FROM leads WHERE submitted_by_user_id = %s", (uid,)) == cap
    # And the next one, alone, is refused too.
    r = Api(stack.url, stack.ca_cert).post("/api/v1/leads", token=token, json=lead_body(pid))
    expect_error(r, 429, "RATE_LIMITED")


def test_round_robin_stays_in_order_under_concurrency(factory, db, stack):
    pid, agents, _ = project_with_agents(factory, 3)
    agent_ids = [a for a, _ in agents]
    calls = [(factory.user()[1], lead_body(pid)) for _ in range(12)]
    results = all_at_once(stack, calls)
    assert [r.status_code for r in results] == [201] * 12, [r.text for r in results]
    # The cursor is locked from the choice to the commit, and the assignment
    # row is written under it: in the rows' order, the agents take turns.
    rows = db.query("SELECT a.agent_user_id, a.method FROM lead_assignments a JOIN leads l ON l.id = a.lead_id"
                    " WHERE l.project_id = %s ORDER BY a.id", (pid,))
    assert [r["agent_user_id"] for r in rows] == [agent_ids[k % 3] for k in range(12)]
    assert {r["method"] for r in rows} == {"round_robin"}
    assert db.scalar("SELECT last_agent_user_id FROM lead_assignment_cursors WHERE project_id = %s", (pid,)) == \
        agent_ids[11 % 3]


def nothing_written(db, pid, uid, phone):
    assert db.scalar("SELECT COUNT(*) FROM leads WHERE project_id = %s AND phone = %s", (pid, phone)) == 0
    assert db.scalar("SELECT COUNT(*) FROM lead_submissions WHERE user_id = %s", (uid,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM leads l JOIN lead_stage_history h ON h.lead_id = l.id"
                     " WHERE l.project_id = %s", (pid,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM notification_events WHERE project_id = %s", (pid,)) == 0
    assert db.scalar("SELECT last_agent_user_id FROM lead_assignment_cursors WHERE project_id = %s", (pid,)) is None


def test_a_procedure_error_after_the_writes_leaves_nothing(api, factory, db, stack):
    pid, [(agent, _)], _ = project_with_agents(factory, 1)
    uid, token = factory.user()
    phone = unique_phone()
    trigger = f"t_fail_{secrets.token_hex(4)}"
    root = root_db(stack)
    try:
        # Fails the intake's assignment row for this project only: the lead,
        # its stage row, the submission and the cursor are written by then.
        with root.cursor() as c:
            c.execute(f"CREATE TRIGGER {trigger} BEFORE INSERT ON lead_assignments FOR EACH ROW"
                      f" IF (SELECT project_id FROM leads WHERE id = NEW.lead_id) = {int(pid)} THEN"
                      f" SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'forced by the test'; END IF")
        r = api.post("/api/v1/leads", token=token, json=lead_body(pid, phone))
        expect_error(r, 500, "INTERNAL")
        assert "forced" not in r.text
        nothing_written(db, pid, uid, phone)
    finally:
        with root.cursor() as c:
            c.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        root.close()
    # The connection was left without a transaction: the same submission
    # now goes through, on whichever connection takes it.
    for _ in range(3):
        r = api.post("/api/v1/leads", token=token, json=lead_body(pid, phone))
        assert r.status_code == 201, r.text
    assert db.scalar("SELECT agent_user_id FROM leads WHERE project_id = %s AND phone = %s", (pid, phone)) == agent


def test_a_gateway_user_without_execute_gets_a_clean_5xx(factory, db, stack):
    pid, _, _ = project_with_agents(factory, 1)
    uid, token = factory.user()
    phone = unique_phone()
    user, password = f"noexec{secrets.token_hex(3)}", secrets.token_hex(12)
    pw_file = os.path.join(stack.dir, f"{user}.password")
    with open(pw_file, "w") as f:
        f.write(password)
    os.chmod(pw_file, 0o600)
    root = root_db(stack)
    gw = None
    try:
        with root.cursor() as c:
            c.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'")
            # what the service had before the routines: rows only
            c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {stack.db.database}.* TO '{user}'@'localhost'")
        gw = stack.start_gateway({"db_user": user, "db_password_file": pw_file}, name=f"gw_{user}")
        r = Api(gw.url, stack.ca_cert).post("/api/v1/leads", token=token, json=lead_body(pid, phone))
        expect_error(r, 500, "INTERNAL")
        nothing_written(db, pid, uid, phone)
    finally:
        if gw:
            assert gw.stop() == 0
            stack.extra_gateways.remove(gw)
        with root.cursor() as c:
            c.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")
        root.close()


# The statement gateway/db.c sends on every new connection.
SESSION_SETUP = "SET SESSION innodb_lock_wait_timeout"


def statements_of_one_intake(root, post):
    """post() sends one intake while MariaDB's general log is on; returns
    the statements (Query, Execute) of the connection that ran its CALL,
    in the request's time, and every command of that connection."""
    with root.cursor() as c:
        c.execute("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = 1")
        c.execute("SELECT NOW(6) AS t")
        t0 = c.fetchone()["t"]
    try:
        post()
    finally:
        with root.cursor() as c:
            c.execute("SELECT NOW(6) AS t")
            t1 = c.fetchone()["t"]
            c.execute("SET GLOBAL general_log = 0")
    with root.cursor() as c:
        c.execute("SELECT thread_id FROM mysql.general_log WHERE event_time BETWEEN %s AND %s"
                  " AND command_type = 'Execute' AND argument LIKE 'CALL lead\\_intake(%%'", (t0, t1))
        threads = [row["thread_id"] for row in c.fetchall()]
        assert len(threads) == 1, threads
        c.execute("SELECT command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log"
                  " WHERE thread_id = %s AND event_time BETWEEN %s AND %s ORDER BY event_time",
                  (threads[0], t0, t1))
        rows = c.fetchall()
        c.execute("TRUNCATE TABLE mysql.general_log")
    # A pooled connection may be opened during the request (its first use,
    # or a reconnect): its Connect and the session settings db.c sends then
    # are the connection's set-up, made once for every later request, not
    # the request's statements.
    connected = any(row["command_type"] == "Connect" for row in rows)
    return [row for row in rows if row["command_type"] in ("Query", "Execute")
            and not (connected and row["argument"].startswith(SESSION_SETUP))], rows


def test_one_intake_is_one_statement(api, factory, db, stack):
    """Counted on the connection that ran the CALL, from MariaDB's general
    log, for requests whose caller's roles are cached (auth_cache_ms): the
    request's own statements, whatever the background jobs do on theirs.
    This test alone sends leads while the log is on (the log does not show a
    CALL's parameters), and each lead is checked after. Paths: a new phone,
    the phone's open lead again, a bound buyer's verified lead that locks
    its referral."""
    gw = stack.start_gateway({"auth_cache_ms": 60000}, name="gw_count")
    root = root_db(stack)
    try:
        pid, _, _ = project_with_agents(factory, 2)
        referrer, _, _, code = owner_with_code(api, factory, pid)
        buyer, token, phone = buyer_with_phone(factory)
        assert touch(api, token, code).status_code == 201
        _, other_token = factory.user()
        a = Api(gw.url, stack.ca_cert)
        # Warm: the roles cached, the statement prepared on the connections.
        for t in (token, other_token):
            for _ in range(2):
                r = a.post("/api/v1/leads", token=t, json=lead_body(pid))
                assert r.status_code == 201, r.text
        new_phone = unique_phone()
        answers = []

        def post(t, body):
            def run():
                answers.append(a.post("/api/v1/leads", token=t, json=body))
            return run

        counted = {}
        for path, t, body in (("new phone", other_token, lead_body(pid, new_phone)),
                              ("existing open lead", token, lead_body(pid, new_phone)),
                              ("referral locked", token, lead_body(pid, phone))):
            statements, rows = statements_of_one_intake(root, post(t, body))
            assert answers[-1].status_code == 201, answers[-1].text
            assert len(statements) <= 4, (path, rows)
            assert len(statements) == 1 and statements[0]["argument"].startswith("CALL lead_intake("), (path, rows)
            counted[path] = len(statements)
        assert counted == {"new phone": 1, "existing open lead": 1, "referral locked": 1}
        lead = db.one("SELECT id, agent_user_id, submissions FROM leads WHERE project_id = %s AND phone = %s",
                      (pid, new_phone))
        assert lead["agent_user_id"] and lead["submissions"] == 2
        assert len(events(db, "lead.assigned", ref_id=lead["id"])) == 1
        assert answers[-1].json()["data"]["referral"]["status"] == "locked"
        referral = db.one("SELECT id, referee_user_id FROM referrals WHERE referrer_user_id = %s", (referrer,))
        assert referral["referee_user_id"] == buyer
        assert len(events(db, "referral.stage_changed", ref_id=referral["id"], user_id=referrer)) == 1
    finally:
        with root.cursor() as c:
            c.execute("SET GLOBAL general_log = 0")
            c.execute("TRUNCATE TABLE mysql.general_log")
        root.close()
        assert gw.stop() == 0
        stack.extra_gateways.remove(gw)
