"""The stored view of a repair ticket (schema 033, domain/repairs/repair_view.h)
can never be stale: after every change, a read with the caches off answers
exactly what a fresh render answers (the view deleted, so the read renders
from scratch); a change made where no view is written (an older gateway,
SQL) or a name renamed is noticed by the read and rendered again; and an
owner's cold read is one statement."""
import json
import re

import pymysql
import pytest

from conftest import Api, expect_error, expect_ok
from repairs_support import act, hide_photo, new_ticket, photo, world

DETAIL = "/api/v1/repairs/{}"


@pytest.fixture(scope="module")
def cold(stack):
    """A gateway with both read caches off: every read goes to the database."""
    gw = stack.start_gateway({"auth_cache_ms": 0, "repair_cache_slots": 0}, name="gw_view")
    yield gw
    assert gw.stop() == 0
    stack.extra_gateways.remove(gw)


def view_lookups(api, gw, result):
    text = api.get("/metrics", base=gw.url).text
    m = re.search(r'^gateway_cache_lookups_total\{cache="repair_view",result="%s"\} (\d+)$' % result, text, re.M)
    assert m, text
    return int(m.group(1))


def comparable(data):
    """The detail as text in its own order, with each photo URL's expiry and
    signature cut (they are signed at each read)."""
    return re.sub(r'\?exp=\d+&sig=[0-9a-f]+', '?exp=&sig=', json.dumps(data, ensure_ascii=False))


def read(api, gw, person, tid):
    return expect_ok(api.get(DETAIL.format(tid), token=person.token, base=gw.url))


def assert_current(api, db, gw, person, tid, stored=True):
    """The person's cold read equals a fresh render of the ticket. stored:
    the read found the view the change wrote (a hit), else it noticed the
    view was stale and rendered it (a miss). Returns the detail."""
    hits, misses = view_lookups(api, gw, "hit"), view_lookups(api, gw, "miss")
    got = read(api, gw, person, tid)
    assert (view_lookups(api, gw, "hit"), view_lookups(api, gw, "miss")) == \
        ((hits + 1, misses) if stored else (hits, misses + 1))
    # A read that renders it again (what this read would answer if no view
    # existed) and keeps it: the next read is a hit with the same answer.
    db.exec("DELETE FROM repair_ticket_views WHERE ticket_id = %s", (tid,))
    fresh = read(api, gw, person, tid)
    assert comparable(got) == comparable(fresh)
    assert comparable(read(api, gw, person, tid)) == comparable(fresh)
    assert view_lookups(api, gw, "hit") == hits + (2 if stored else 1)
    return got


def test_every_action_leaves_the_view_current(api, db, factory, stack, cold):
    w = world(factory, db, engineers=2)
    e1, e2 = w.engineers
    photos = [photo(api, stack, w.owner_a) for _ in range(2)]
    t = new_ticket(api, w, photo_ids=photos)  # filed and dispatched to an engineer
    tid = t["id"]
    d = assert_current(api, db, cold, w.owner_a, tid)
    assert d["state"] == "dispatched" and [p["id"] for p in d["photos"]] == photos
    first = d["engineer"]["id"]
    eng, other = (e1, e2) if first == e1.id else (e2, e1)
    # The assigned engineer reads the owner's view too.
    assert comparable(assert_current(api, db, cold, eng, tid)) == comparable(read(api, cold, w.owner_a, tid))

    expect_ok(act(api, eng, tid, "decline", {"reason": "不在片区"}))  # dispatched again, to the other
    d = assert_current(api, db, cold, w.owner_a, tid)
    assert d["engineer"]["id"] == other.id
    expect_ok(act(api, w.supervisor, tid, "assign", {"engineer_id": eng.id}))  # reassigned
    assert assert_current(api, db, cold, w.owner_a, tid)["engineer"]["id"] == eng.id
    expect_ok(act(api, eng, tid, "accept"))
    assert assert_current(api, db, cold, w.owner_a, tid)["state"] == "accepted"
    expect_ok(act(api, eng, tid, "start"))
    assert assert_current(api, db, cold, w.owner_a, tid)["state"] == "in_progress"
    fix = photo(api, stack, eng)
    expect_ok(act(api, eng, tid, "resolve", {"note": "已更换", "photo_ids": [fix]}))
    d = assert_current(api, db, cold, w.owner_a, tid)
    assert d["state"] == "resolved" and [p["id"] for p in d["timeline"][-1]["photos"]] == [fix]
    expect_ok(act(api, w.owner_a, tid, "reopen", {"reason": "还在漏"}))
    assert assert_current(api, db, cold, w.owner_a, tid)["rework_count"] == 1
    expect_ok(act(api, eng, tid, "accept"))
    expect_ok(act(api, eng, tid, "start"))
    expect_ok(act(api, eng, tid, "resolve", {"note": "再次处理"}))
    expect_ok(act(api, w.owner_a, tid, "rating", {"speed": 1, "attitude": 1, "quality": 1, "comment": "不满意"}))
    # (a poor rating opens a follow-up)
    d = assert_current(api, db, cold, w.owner_a, tid)
    assert d["state"] == "closed" and d["rating"]["score"] == 1 and d["rating"]["comment"] == "不满意"
    # The follow-up is staff's: done, the owner's view is still the same.
    fid = db.scalar("SELECT id FROM followups WHERE kind = 'repair' AND subject_id = %s", (tid,))
    expect_ok(api.post(f"/api/v1/admin/repair-followups/{fid}/done", token=w.supervisor.token,
                       json={"note": "已回访"}))
    again = read(api, cold, w.owner_a, tid)
    assert comparable(again) == comparable(d)

    # Cancel, on a ticket of its own.
    t2 = new_ticket(api, w)["id"]
    expect_ok(act(api, w.owner_a, t2, "cancel", {"reason": "自己修好了"}))
    assert assert_current(api, db, cold, w.owner_a, t2)["state"] == "cancelled"


def test_a_renamed_category_unit_or_engineer_shows_at_once(api, db, factory, stack, cold):
    w = world(factory, db)
    eng = w.engineers[0]
    tid = new_ticket(api, w)["id"]
    expect_ok(act(api, eng, tid, "accept"))
    assert_current(api, db, cold, w.owner_a, tid)

    # The first change of a default category copies the defaults into the
    # project (its tickets move to the copies); the second renames the copy
    # alone: no ticket row changes, the names' epoch does.
    for name in ("新的类别名", "再改的类别名"):
        expect_ok(api.request("PATCH", f"/api/v1/admin/repair-categories/{w.category_id}?project={w.project_id}",
                              token=w.supervisor.token, json={"name": name}))
        d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
        assert d["category"]["name"] == name

    expect_ok(api.request("PATCH", f"/api/v1/admin/units/{w.unit_a}", token=w.supervisor.token,
                          json={"name": "改名-0801"}))
    d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
    assert d["unit"]["name"] == "改名-0801"

    expect_ok(api.request("PATCH", "/api/v1/me", token=eng.token, json={"display_name": "李师傅"}))
    d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
    assert d["engineer"]["name"] == "李师傅"
    assert [e["actor"]["name"] for e in d["timeline"] if e["action"] == "accept"] == ["李师傅"]


def test_a_change_that_writes_no_view_is_noticed(api, db, factory, stack, cold):
    """An older gateway (or SQL) changes the ticket without writing its view;
    the content check hides a photo outside any ticket transaction, writing
    the ticket's row (its push: test_media.py)."""
    w = world(factory, db)
    photos = [photo(api, stack, w.owner_a) for _ in range(2)]
    tid = new_ticket(api, w, photo_ids=photos)["id"]
    assert_current(api, db, cold, w.owner_a, tid)

    db.exec("UPDATE repair_tickets SET description = '旧版本网关改的描述' WHERE id = %s", (tid,))
    d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
    assert d["description"] == "旧版本网关改的描述"

    hide_photo(db, photos[0])
    d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
    assert [p["id"] for p in d["photos"]] == [photos[1]]

    # A state change by an older gateway: the clock's `overdue` and the state
    # come from the ticket's row, the rest from the render.
    db.exec("UPDATE repair_tickets SET accept_due_at = NOW(3) - INTERVAL 1 MINUTE WHERE id = %s", (tid,))
    d = assert_current(api, db, cold, w.owner_a, tid, stored=False)
    assert d["overdue"] is True


def test_overdue_turns_at_read_time_on_a_stored_view(api, db, factory, stack, cold):
    """`overdue` is not stored: a view stored before the due time reads
    overdue after it, without a render."""
    w = world(factory, db, accept_s=1)
    tid = new_ticket(api, w)["id"]
    db.exec("DELETE FROM repair_ticket_views WHERE ticket_id = %s", (tid,))
    # Stored while not yet due (the due time moved ahead in the view's row
    # and the ticket's alike: the view is current).
    db.exec("UPDATE repair_tickets SET accept_due_at = NOW(3) + INTERVAL 1 HOUR WHERE id = %s", (tid,))
    assert read(api, cold, w.owner_a, tid)["overdue"] is False
    # Due now, changed the way the clock changes it: by time alone. The
    # ticket row is not written, so the stored view stays current.
    db.exec("UPDATE repair_ticket_views v JOIN repair_tickets t ON t.id = v.ticket_id"
            " SET t.accept_due_at = NOW(3) - INTERVAL 1 MINUTE, t.updated_at = v.ticket_updated_at"
            " WHERE t.id = %s", (tid,))
    hits = view_lookups(api, cold, "hit")
    d = read(api, cold, w.owner_a, tid)
    assert view_lookups(api, cold, "hit") == hits + 1
    assert d["overdue"] is True


def test_who_may_read_is_checked_in_the_same_statement(api, db, factory, stack, cold):
    """With the auth cache off the read checks the caller itself: another
    owner gets 404, a disabled caller 403, an ended session 401, a user who
    no longer exists 401; staff get their own parts."""
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    read(api, cold, w.owner_a, tid)
    expect_error(api.get(DETAIL.format(tid), token=w.owner_b.token, base=cold.url), 404, "NOT_FOUND")
    staff = read(api, cold, w.supervisor, tid)
    assert "escalations" in staff and "content_check" in staff
    assert "escalations" not in read(api, cold, w.owner_a, tid)

    expect_error(api.get(DETAIL.format("12abc"), token=w.owner_a.token, base=cold.url), 404, "NOT_FOUND")
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (w.owner_b.id,))
    expect_error(api.get(DETAIL.format(tid), token=w.owner_b.token, base=cold.url), 403, "USER_DISABLED")
    # The caller is checked before the path, as on every route.
    expect_error(api.get(DETAIL.format("12abc"), token=w.owner_b.token, base=cold.url), 403, "USER_DISABLED")
    expect_ok(api.post("/api/v1/auth/logout", token=w.owner_a.token, base=cold.url))
    expect_error(api.get(DETAIL.format(tid), token=w.owner_a.token, base=cold.url), 401, "TOKEN_REVOKED")
    # A role the caller lost takes effect at once: the engineer's relation.
    eng = w.engineers[0]
    read(api, cold, eng, tid)
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND role = 'engineer'", (eng.id,))
    expect_error(api.get(DETAIL.format(tid), token=eng.token, base=cold.url), 404, "NOT_FOUND")


def root_db(stack):
    return pymysql.connect(unix_socket=stack.db.socket, user="root", password="", database=stack.db.database,
                           autocommit=True, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor)


SESSION_SETUP = "SET SESSION innodb_lock_wait_timeout"


def statements_of_one_read(root, get):
    """The statements (Query, Execute) of the connection that read the
    view, from MariaDB's general log, while get() sends one read."""
    with root.cursor() as c:
        c.execute("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = 1")
        c.execute("SELECT NOW(6) AS t")
        t0 = c.fetchone()["t"]
    try:
        get()
    finally:
        with root.cursor() as c:
            c.execute("SELECT NOW(6) AS t")
            t1 = c.fetchone()["t"]
            c.execute("SET GLOBAL general_log = 0")
    with root.cursor() as c:
        c.execute("SELECT thread_id FROM mysql.general_log WHERE event_time BETWEEN %s AND %s"
                  " AND command_type = 'Execute' AND argument LIKE '%%repair\\_ticket\\_views v%%'", (t0, t1))
        threads = [row["thread_id"] for row in c.fetchall()]
        assert len(threads) == 1, threads
        c.execute("SELECT command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log"
                  " WHERE thread_id = %s AND event_time BETWEEN %s AND %s ORDER BY event_time",
                  (threads[0], t0, t1))
        rows = c.fetchall()
        c.execute("TRUNCATE TABLE mysql.general_log")
    connected = any(row["command_type"] == "Connect" for row in rows)
    return [row for row in rows if row["command_type"] in ("Query", "Execute")
            and not (connected and row["argument"].startswith(SESSION_SETUP))]


def test_an_owners_cold_read_is_one_statement(api, db, factory, stack, cold):
    w = world(factory, db)
    tid = new_ticket(api, w)["id"]
    a = Api(cold.url, stack.ca_cert)
    root = root_db(stack)
    try:
        for _ in range(3):  # the statement prepared on the connections
            read(a, cold, w.owner_a, tid)
        answers = []
        statements = statements_of_one_read(
            root, lambda: answers.append(a.get(DETAIL.format(tid), token=w.owner_a.token)))
        assert answers[0].status_code == 200, answers[0].text
        assert len(statements) == 1, statements
        assert "FROM users cu" in statements[0]["argument"]
    finally:
        with root.cursor() as c:
            c.execute("SET GLOBAL general_log = 0")
            c.execute("TRUNCATE TABLE mysql.general_log")
        root.close()
        a.session.close()
