"""Failures around the gateway: the database going away and coming back,
SIGTERM with a request in flight, and what the logs may never contain."""
import glob
import http.client
import json
import os
import re
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest
import requests

from conftest import expect_error, expect_ok, gateway_metric, unique, wait_for

JSCODE = "/sns/jscode2session"


def test_database_restart_without_gateway_restart(stack, api, db, factory):
    uid, token = factory.user()
    expect_ok(api.get("/api/v1/me", token=token))
    # The auth cache may answer for `token` without the database (for up to
    # auth_cache_ms, or longer if a refresh read the roles just before the
    # outage). This user's roles it has never held: its requests need the
    # database.
    _, uncached = factory.user()
    stack.db.stop()
    try:
        # Everything that needs the database fails fast with 503; several
        # rounds so every DB worker of both loop threads meets the outage.
        for _ in range(12):
            r = api.get("/api/v1/me", token=uncached, timeout=10)
            expect_error(r, 503, "DB_UNAVAILABLE")
            assert int(r.headers["retry-after"]) > 0
            r = api.get("/readyz", timeout=10)
            expect_error(r, 503, "DB_UNAVAILABLE")
            assert int(r.headers["retry-after"]) > 0
        assert expect_ok(api.get("/healthz", timeout=10)) == {"status": "ok"}
        # A login reaches WeChat, then cannot store the user.
        expect_error(api.post("/api/v1/auth/login", json={"code": f"C_{unique('o_dbdown_')}"}, timeout=10),
                     503, "DB_UNAVAILABLE")
    finally:
        stack.db.start()
    db.conn.ping(reconnect=True)

    # Back without restarting the gateway, within the reconnect backoff.
    def recovered():
        return api.get("/readyz", timeout=10).status_code == 200 and \
            api.get("/api/v1/me", token=token, timeout=10).status_code == 200

    wait_for(recovered, what="the gateway to reach the restarted database")
    expect_ok(api.get("/api/v1/me", token=uncached, timeout=10))
    # One worker reconnected, so no other backs off any longer: a run of
    # requests all succeed (/readyz always reads the database; /me may be
    # answered by the auth cache).
    for _ in range(24):
        assert expect_ok(api.get("/api/v1/me", token=token, timeout=10))["id"] == uid
        assert expect_ok(api.get("/readyz", timeout=10))["status"] == "ready"
    assert expect_ok(api.get("/readyz"))["status"] == "ready"
    _, token2 = factory.user()  # a write: login upserts the user
    expect_ok(api.get("/api/v1/me", token=token2))


def test_the_database_back_ends_every_workers_backoff(stack, db):
    """While the database is down every DB worker that gets a job fails to
    connect and then waits out a backoff of its own, growing to 5 s. Once any
    connection of the process has reconnected the server is known to be
    back: no worker may go on answering 503 until its own backoff ends."""
    gw = stack.start_gateway({"threads": 1, "db_pool_size": 8}, name="gw_backoff")

    def burst():  # as many requests at once as there are workers
        with ThreadPoolExecutor(8) as ex:
            return list(ex.map(lambda _: requests.get(gw.url + "/readyz", verify=stack.ca_cert,
                                                      timeout=10).status_code, range(8)))

    def connects(result):
        return gateway_metric(gw, "gateway_db_connects_total", result=result)

    stopping = threading.Event()

    def hammer():  # every worker keeps meeting the outage, so each backs off further
        while not stopping.is_set():
            burst()

    hammering = threading.Thread(target=hammer)
    db_stopped = False
    try:
        assert burst() == [200] * 8
        failed = connects("failed")
        stack.db.stop()
        db_stopped = True
        hammering.start()
        # Seconds of failed attempts (the background jobs make their own):
        # each worker's backoff has grown to seconds.
        wait_for(lambda: connects("failed") >= failed + 60, what="the workers to fail their connects")
        ok = connects("ok")
        stack.db.start()
        db_stopped = False
        stopping.set()
        hammering.join(60)
        # Some connection (a worker, or a background job on its own
        # schedule) is back, while the idle workers still back off.
        wait_for(lambda: connects("ok") > ok, what="a connection of the process back on the database")
        statuses = [s for _ in range(4) for s in burst()]
        assert statuses == [200] * len(statuses)
    finally:
        stopping.set()
        if hammering.ident is not None:
            hammering.join(60)
        if db_stopped:
            stack.db.start()
        db.conn.ping(reconnect=True)
        code = gw.stop()
    assert code == 0, f"gateway exited with {code}; see {gw.log}"


def test_idle_connections_are_replaced_after_a_database_restart(stack, api, db, factory):
    """A restart while the gateway is idle leaves every pooled connection
    dead; the next requests must not pay for that with 503s."""
    uid, token = factory.user()

    def burst():
        with ThreadPoolExecutor(16) as ex:
            return list(ex.map(lambda _: requests.get(stack.url + "/api/v1/me", verify=stack.ca_cert, timeout=10,
                                                      headers={"Authorization": f"Bearer {token}"}).status_code,
                               range(32)))

    assert burst() == [200] * 32  # every DB worker holds a connection now
    stack.db.stop()
    stack.db.start()
    db.conn.ping(reconnect=True)
    statuses = [api.get("/api/v1/me", token=token, timeout=10).status_code for _ in range(24)]
    statuses += burst()
    assert statuses == [200] * len(statuses)


def lock_connection(stack):
    """A second database session (as the gateway's user) to hold row locks."""
    with open(stack.db.password_file) as f:
        password = f.read().strip()
    return pymysql.connect(unix_socket=stack.db.socket, user=stack.db.user, password=password,
                           database=stack.db.database, autocommit=False)


def test_query_outliving_its_timeout(stack, api, db, factory):
    """A row lock held longer than db_query_timeout_ms (3 s in the tests,
    below InnoDB's 5 s lock wait): the statement times out while its rows are
    read, the connection is dropped, the caller gets a 503, and the gateway
    keeps serving."""
    admin_id, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user(roles=[("admin", 0)])
    locker = lock_connection(stack)
    try:
        with locker.cursor() as cur:
            cur.execute("SELECT user_id FROM staff_roles WHERE role = 'admin' FOR UPDATE")
        r = api.delete("/api/v1/admin/staff", token=admin, json={"user_id": uid, "role": "admin"}, timeout=30)
        expect_error(r, 503, "DB_UNAVAILABLE")
    finally:
        locker.rollback()
        locker.close()
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s AND role = 'admin'", (uid,)) == 1
    r = api.delete("/api/v1/admin/staff", token=admin, json={"user_id": uid, "role": "admin"})
    assert expect_ok(r)["removed"] is True
    assert stack.gateway.proc.poll() is None


def test_full_database_queue_answers_503_at_once(stack, db, factory):
    """One loop thread with one DB connection and room for one waiting job:
    while the connection is stuck on a row lock and a job waits, the next
    request is refused at once with 503 OVERLOADED, and the others finish
    once the lock goes."""
    gw = stack.start_gateway({"threads": 1, "db_pool_size": 1, "db_queue_max": 1, "db_queue_timeout_ms": 20000,
                              "db_query_timeout_ms": 20000}, name="gw_small_pool")
    admin_id, admin = factory.user(roles=[("admin", 0)])
    uid, _ = factory.user(roles=[("admin", 0)])
    locker = lock_connection(stack)
    results = {}

    def call(name, method, path, **kw):
        try:
            r = requests.request(method, gw.url + path, verify=stack.ca_cert, timeout=30, **kw)
            results[name] = (r.status_code, r.json())
        except Exception as e:  # reported below
            results[name] = (None, repr(e))

    def lock_waits():  # the gateway's statement, still running (same database user, so visible)
        return db.scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep'"
                         " AND INFO LIKE '%%staff_roles%%FOR UPDATE%%' AND ID <> CONNECTION_ID()")

    threads = []
    try:
        with locker.cursor() as cur:
            cur.execute("SELECT user_id FROM staff_roles WHERE role = 'admin' FOR UPDATE")
        rejected_before = gateway_metric(gw, "gateway_db_queue_rejected_total")
        # 1: holds the only connection, waiting for the lock.
        threads.append(threading.Thread(target=call, args=("stuck", "DELETE", "/api/v1/admin/staff"), kwargs={
            "json": {"user_id": uid, "role": "admin"}, "headers": {"Authorization": f"Bearer {admin}"}}))
        threads[-1].start()
        wait_for(lambda: lock_waits() >= 1, what="the revocation to wait for the lock")
        # 2: waits in the queue (the gauge is published every second).
        threads.append(threading.Thread(target=call, args=("queued", "GET", "/readyz")))
        threads[-1].start()
        wait_for(lambda: gateway_metric(gw, "gateway_db_queue_length", thread="0") == 1, what="a job in the queue")
        # 3: no room left.
        r = requests.get(gw.url + "/readyz", verify=stack.ca_cert, timeout=10)
        expect_error(r, 503, "OVERLOADED")
        assert int(r.headers["retry-after"]) > 0
        assert all(t.is_alive() for t in threads)
        assert gateway_metric(gw, "gateway_db_queue_rejected_total") == rejected_before + 1
    finally:
        locker.rollback()
        locker.close()
        for t in threads:
            t.join(30)
        code = gw.stop()
    assert results["stuck"][0] == 200 and results["stuck"][1]["data"]["removed"] is True, results
    assert results["queued"][0] == 200 and results["queued"][1]["data"]["status"] == "ready", results
    assert db.scalar("SELECT COUNT(*) FROM staff_roles WHERE user_id = %s AND role = 'admin'", (uid,)) == 0
    assert code == 0


def connect_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def test_sigterm_finishes_requests_in_flight(stack, fake, db):
    # A WeChat timeout above the injected delay: the slow call succeeds. The
    # delay is what keeps the request in flight while the test watches the
    # drain, so it is long enough for a loaded machine, and well within
    # shutdown_timeout_ms (10 s).
    gw = stack.start_gateway({"wechat_timeout_ms": 9000, "notification_lease_ms": 20000}, name="gw_sigterm")
    openid = unique("o_term_")
    fake.fail(JSCODE, delay_ms=5000, count=1, match={"js_code": f"C_{openid}"})
    result = {}

    def login():
        try:
            r = requests.post(gw.url + "/api/v1/auth/login", json={"code": f"C_{openid}"},
                              verify=stack.ca_cert, timeout=30)
            result["status"], result["body"] = r.status_code, r.json()
        except Exception as e:  # reported below
            result["error"] = repr(e)

    # An idle keep-alive connection, opened before the signal.
    idle = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=30,
                                       context=ssl.create_default_context(cafile=stack.ca_cert))
    idle.request("GET", "/healthz")
    assert idle.getresponse().read()
    t = threading.Thread(target=login)
    t.start()
    try:
        wait_for(lambda: fake.count(JSCODE) == 1, what="the login to reach WeChat")
        gw.proc.send_signal(15)
        # The listeners close at once while the request is still running.
        wait_for(lambda: connect_refused(gw.https_port), what="the listener to close")
        assert t.is_alive(), "the slow login finished before the drain could be observed"
        # A new request on a connection that was already open is turned away.
        idle.request("GET", "/healthz")
        r = idle.getresponse()
        body = json.loads(r.read())
        assert r.status == 503 and body["error"]["code"] == "SHUTTING_DOWN", body
        assert int(r.getheader("Retry-After")) > 0
        assert r.will_close, "a draining gateway keeps connections alive"
    finally:
        t.join(30)
        idle.close()
        code = gw.stop()
    assert result.get("status") == 200, result
    assert result["body"]["data"]["user"]["id"] == db.scalar("SELECT id FROM users WHERE openid = %s", (openid,))
    assert code == 0, f"exit code {code}; see {gw.log}"
    assert connect_refused(gw.https_port)
    with open(gw.log) as f:
        log = f.read()
    assert "draining" in log and "stopped" in log


# ---- log hygiene (after every other test) ----------------------------------------------

def gateway_logs(stack):
    paths = {stack.gateway.log} | {gw.log for gw in stack.extra_gateways}
    paths |= set(glob.glob(os.path.join(stack.dir, "*", "gateway.log")))
    return {p: open(p, errors="replace").read() for p in sorted(paths) if os.path.exists(p)}


@pytest.mark.run_last
def test_logs_hold_no_personal_data_or_secrets(stack, api, fake, db, factory):
    # Make sure this session used an access token and a phone, even alone.
    uid, token = factory.user()
    phone = "139" + str(uid % 10 ** 8).zfill(8)
    expect_ok(api.post("/api/v1/auth/phone", token=token, json={"code": f"P_{phone}"}))
    access_tokens = [t["access_token"] for t in fake.get("/__fake/tokens")["tokens"]]
    logs = gateway_logs(stack)
    assert logs and "phone bound" in logs[stack.gateway.log]

    phones = {r["phone"] for r in db.query("SELECT phone FROM users WHERE phone IS NOT NULL"
                                           " UNION SELECT phone FROM owners UNION SELECT phone FROM leads WHERE phone IS NOT NULL")}
    openids = {r["openid"] for r in db.query("SELECT openid FROM users")}
    # The gateway no longer stores WeChat's session_key: take them from the fake.
    session_keys = {fake.get(f"/__fake/session_key?openid={o}")["session_key"] for o in sorted(openids)[-20:]}
    with open(os.path.join(stack.dir, "wechat_secret")) as f:
        app_secret = f.read().strip()
    with open(os.path.join(stack.dir, "session_keys")) as f:
        signing_secrets = [kv.split("=", 1)[1] for kv in f.read().strip().split(",")]
    with open(stack.db.password_file) as f:
        db_password = f.read().strip()
    assert phone in phones and access_tokens

    for path, text in logs.items():
        for p in phones:
            assert p not in text, f"{path} holds a full phone number"
        for o in openids:
            assert o not in text, f"{path} holds a full openid"
        for k in session_keys:
            assert k not in text, f"{path} holds a session_key"
        for secret in [app_secret, db_password, *signing_secrets, *access_tokens]:
            assert secret not in text, f"{path} holds a secret"
        assert not re.search(r"access_token=\w", text), f"{path} holds an access_token"
        assert not re.search(r"\b1[3-9]\d{9}\b", text), f"{path} holds something like a phone number"
