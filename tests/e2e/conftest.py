"""End-to-end fixtures: a private MariaDB, the fake WeChat and the real
gateway binary over HTTPS, started once per test session in a temporary
folder with free ports (tools/devstack/devstack.py does the work).

Fixtures
  stack    the running set-up: .url, .ca_cert, .fake_url, .dir, .db (MariaDB),
           .gateway (Gateway), .config_path, .binary, .start_gateway(extra)
  api      HTTPS client: api.get/post/put/delete(path, token=, json=, headers=, ...)
  fake     fake WeChat control: reset(), fail(), requests(), counts(), ...
  db       SQL on the test database: query(), one(), scalar(), exec()
  factory  creates projects, units, roster rows and users with roles

Waiting
  wait_for(predicate, timeout, what)  polls an observable state (a row, a
           metric, a log line, a fake-WeChat record) until it holds
  metric(text, name, **labels), gateway_metric(gw, name, **labels)
  wait_for_runs(gateways, job)  until each gateway has run a background job
           whole after the call began (gateway_background_runs_total)
"""
import os
import re
import secrets
import shutil
import sys
import tempfile
import time

import pymysql
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "devstack"))
sys.path.insert(0, os.path.join(ROOT, "tools"))  # session_token: the one token minter
import devstack  # noqa: E402

GATEWAY_BIN = os.environ.get("GATEWAY_BIN", os.path.join(ROOT, "build", "bin", "gateway"))

# Short limits so failure paths finish quickly in tests.
TEST_CONFIG = {
    "threads": 2,
    "wechat_timeout_ms": 1500,
    "wechat_connect_timeout_ms": 1000,
    "wechat_max_retries": 2,
    "db_connect_timeout_ms": 1000,
    "db_query_timeout_ms": 3000,
    "db_queue_timeout_ms": 2000,
    "shutdown_timeout_ms": 10000,
    "log_level": "info",
    # notification outbox: fast dispatch, short backoff. The lease stays
    # long enough that a gateway starved of CPU on a loaded machine still
    # renews it in time (renewal every third of it): a lapsed lease lets
    # another process send the same message again, which the tests count.
    "notification_dispatch_interval_ms": 100,
    "notification_retry_base_ms": 100,
    "notification_retry_max_ms": 400,
    "notification_max_attempts": 4,
    "notification_lease_ms": 15000,
    "notification_outbox_age_interval_ms": 100,
    # CSV exports: picked up at once, in small pages (an export of 50 rows
    # spans several pages)
    "export_interval_ms": 100,
    "export_page_rows": 20,
    # The whole suite comes from one address and a few users: no rate limits
    # here. test_limits.py starts gateways of its own with small limits.
    **{f"rate_{cls}_{key}": "off" for cls in ("login", "leads", "uploads", "referral", "default", "console", "exports")
       for key in ("ip", "user")},
    # the console built beside the binary (make console: $(BUILD)/console)
    "console_dir": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(GATEWAY_BIN))), "console"),
}


class Stack:
    def __init__(self, dir):
        self.dir = dir
        self.binary = GATEWAY_BIN
        self.db = devstack.MariaDB(os.path.join(dir, "db"))
        self.fake = devstack.FakeWechat(dir)
        self.extra_gateways = []

    def start(self):
        self.db.start()
        self.fake.start()
        self.fake_url = self.fake.url
        self.https_port = devstack.free_port()
        self.config_path = devstack.write_config(self.dir, self.db, self.fake.url, self.fake.appid,
                                                 self.fake.secret, self.https_port, TEST_CONFIG)
        self.ca_cert = os.path.join(self.dir, "tls.crt")
        self.gateway = devstack.Gateway(self.binary, self.config_path, self.dir, self.https_port)
        self.gateway.migrate()
        self.gateway.start()
        self.url = self.gateway.url

    def start_gateway(self, extra=None, name=None):
        """Another gateway process on the same database (own port, own folder)."""
        name = name or f"gw{len(self.extra_gateways) + 2}"
        gdir = os.path.join(self.dir, name)
        os.makedirs(gdir, exist_ok=True)
        for f in ("tls.crt", "tls.key", "session_keys", "media_url_key"):
            src, dst = os.path.join(self.dir, f), os.path.join(gdir, f)
            if not os.path.exists(dst):
                os.symlink(src, dst)
        port = devstack.free_port()
        # Every process on one database shares the export files' folder.
        cfg = dict(TEST_CONFIG, export_dir=os.path.join(self.dir, "exports"), **(extra or {}))
        path = devstack.write_config(gdir, self.db, self.fake.url, self.fake.appid, self.fake.secret, port, cfg)
        gw = devstack.Gateway(self.binary, path, gdir, port)
        gw.start()
        self.extra_gateways.append(gw)
        return gw

    def stop(self):
        try:
            gateways = list(self.extra_gateways)
            if self.gateway and self.gateway.proc:  # None when start-up failed before the gateway ran
                gateways.append(self.gateway)
            failed = []
            for gw in gateways:
                code = gw.stop()  # None: a test already stopped it
                if code not in (0, None):
                    failed.append((gw.log, code))
            assert not failed, f"gateways exited non-zero on SIGTERM (log, code): {failed}"
        finally:  # MariaDB and the fake stop even when the gateway failed
            self.fake.stop()
            self.db.stop()


@pytest.fixture(scope="session")
def stack():
    with tempfile.TemporaryDirectory(prefix="gw-e2e-") as d:
        s = Stack(d)
        s.gateway = None
        try:
            s.start()
            yield s
        finally:
            try:
                s.stop()
            finally:
                if os.environ.get("KEEP_E2E_LOGS"):
                    shutil.copytree(d, os.path.join(os.environ["KEEP_E2E_LOGS"], os.path.basename(d)),
                                    ignore=shutil.ignore_patterns("mysql", "*.sock"), symlinks=True)


class Api:
    def __init__(self, base, ca_cert):
        self.base = base
        self.ca_cert = ca_cert
        self.session = requests.Session()

    def request(self, method, path, token=None, headers=None, base=None, **kw):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 30)
        kw.setdefault("verify", self.ca_cert)  # per request: REQUESTS_CA_BUNDLE would override a session's
        return self.session.request(method, (base or self.base) + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, openid):
        """Logs in through the fake's magic code C_<openid>; returns (token, user)."""
        r = self.post("/api/v1/auth/login", json={"code": f"C_{openid}"})
        assert r.status_code == 200, r.text
        d = r.json()["data"]
        return d["token"], d["user"]


@pytest.fixture
def api(stack):
    a = Api(stack.url, stack.ca_cert)
    yield a
    a.session.close()


class Fake:
    def __init__(self, url):
        self.url = url

    def post(self, path, json=None):
        r = requests.post(self.url + path, json=json if json is not None else {}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def get(self, path):
        r = requests.get(self.url + path, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def reset(self):
        return self.post("/__fake/reset")

    def fail(self, path, errcode=None, count=1, **kw):
        body = dict(path=path, count=count, **kw)
        if errcode is not None:
            body["errcode"] = errcode
        return self.post("/__fake/fail", body)

    def requests(self, path=None):
        return self.get("/__fake/requests" + (f"?path={path}" if path else ""))["requests"]

    def counts(self):
        return self.get("/__fake/requests")["counts"]

    def count(self, path):
        return self.counts().get(path, 0)

    def expire_tokens(self):
        return self.post("/__fake/tokens/expire")

    def revoke_tokens(self):
        return self.post("/__fake/tokens/revoke")


@pytest.fixture
def fake(stack):
    f = Fake(stack.fake_url)
    f.reset()
    yield f


class Db:
    def __init__(self, socket, user, password, database):
        self.conn = pymysql.connect(unix_socket=socket, user=user, password=password, database=database,
                                    autocommit=True, charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor)

    def query(self, sql, args=None):
        with self.conn.cursor() as c:
            c.execute(sql, args)
            return list(c.fetchall())

    def one(self, sql, args=None):
        rows = self.query(sql, args)
        assert len(rows) <= 1, f"expected at most one row, got {len(rows)}"
        return rows[0] if rows else None

    def scalar(self, sql, args=None):
        row = self.one(sql, args)
        return None if row is None else next(iter(row.values()))

    def exec(self, sql, args=None):
        with self.conn.cursor() as c:
            c.execute(sql, args)
            return c.lastrowid

    def close(self):
        self.conn.close()


@pytest.fixture
def db(stack):
    with open(stack.db.password_file) as f:
        password = f.read().strip()
    d = Db(stack.db.socket, stack.db.user, password, stack.db.database)
    yield d
    d.close()


def unique(prefix):
    return f"{prefix}{secrets.token_hex(6)}"


def unique_phone():
    return "139" + str(secrets.randbelow(10 ** 8)).zfill(8)


class Factory:
    """Creates isolated test data, so tests never depend on each other."""

    def __init__(self, db, api):
        self.db, self.api = db, api

    def project(self, name=None, open_for_leads=1):
        code = unique("P")[:32]
        return self.db.exec("INSERT INTO projects (code, name, open_for_leads) VALUES (%s, %s, %s)",
                            (code, name or f"项目{code}", open_for_leads))

    def building(self, project_id, name=None):
        return self.db.exec("INSERT INTO buildings (project_id, name) VALUES (%s, %s)",
                            (project_id, name or unique("B")))

    def unit(self, project_id=None, building_id=None, name=None, handover_date=None):
        if building_id is None:
            building_id = self.building(project_id or self.project())
        return self.db.exec("INSERT INTO units (building_id, name, handover_date) VALUES (%s, %s, %s)",
                            (building_id, name or unique("U"), handover_date))

    def owner(self, unit_id, phone=None, name="业主", user_id=None):
        phone = phone or unique_phone()
        self.db.exec("INSERT INTO owners (unit_id, name, phone, user_id) VALUES (%s, %s, %s, %s)",
                     (unit_id, name, phone, user_id))
        return phone

    def user(self, roles=(), phone=None, openid=None):
        """Logs a new user in; grants (role, project_id) pairs; binds a phone
        directly in the database if given. Returns (user_id, token)."""
        openid = openid or unique("o_t_")
        token, user = self.api.login(openid)
        uid = user["id"]
        for role, project_id in roles:
            self.db.exec("INSERT INTO staff_roles (user_id, role, project_id) VALUES (%s, %s, %s)",
                         (uid, role, project_id or 0))
        if phone:
            self.db.exec("UPDATE users SET phone = %s WHERE id = %s", (phone, uid))
            self.db.exec("UPDATE owners SET user_id = %s WHERE phone = %s AND user_id IS NULL", (uid, phone))
        return uid, token

    def owner_user(self, project_id=None):
        """A logged-in owner of a fresh unit: returns (user_id, token, unit_id, phone)."""
        unit_id = self.unit(project_id)
        phone = self.owner(unit_id)
        uid, token = self.user(phone=phone)
        return uid, token, unit_id, phone


@pytest.fixture
def factory(db, api):
    return Factory(db, api)


# ---- waiting -------------------------------------------------------------------
# A test never sleeps for a state: it polls for it with wait_for, which ends as
# soon as the state holds. The limit only bounds a failure, so it is generous:
# the machine running the tests may be loaded.

WAIT_S = 60.0


def wait_for(predicate, timeout=WAIT_S, what="condition", interval=0.05):
    """Calls predicate until it returns something truthy and returns that;
    fails naming `what` once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:g} s"
        time.sleep(interval)


def metric(text, name, **labels):
    """The value of one series in a /metrics text (labels in the order the
    gateway writes them), 0 when the series is absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(r"^" + re.escape(name + ("{" + want + "}" if want else "")) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def gateway_metric(gw, name, **labels):
    """One series of a gateway process's /metrics (see metric)."""
    r = requests.get(gw.url + "/metrics", verify=os.path.join(gw.dir, "tls.crt"), timeout=30)
    assert r.status_code == 200, r.text
    return metric(r.text, name, **labels)


def background_runs(gw, job):
    return gateway_metric(gw, "gateway_background_runs_total", job=job)


def wait_for_runs(gateways, job, runs=2):
    """Waits until each gateway has finished `runs` more runs of the
    background job than when called. Runs are counted as they end, so with
    two, each gateway has run the job whole after this call began: whatever
    was committed before it, that run has seen."""
    start = [background_runs(gw, job) for gw in gateways]
    for gw, n in zip(gateways, start):
        wait_for(lambda: background_runs(gw, job) >= n + runs,
                 what=f"{runs} runs of {job} in {os.path.basename(gw.dir)}")


# ---- ordering ---------------------------------------------------------------
# @pytest.mark.run_last moves a test after every other collected test (used by
# checks over what the whole session left behind, such as the gateway logs).

def pytest_configure(config):
    config.addinivalue_line("markers", "run_last: run after every other test of the session")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)  # stable sort


# ---- assertions on the envelope ----------------------------------------------

def expect_error(r, status, code, field=None):
    """Asserts an error envelope: HTTP status, error.code, error.field (when
    given) and X-Request-Id equal to the body's request_id. Returns error."""
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text}"
    body = r.json()
    assert "data" not in body, body
    err = body["error"]
    assert err["code"] == code, body
    assert err["message"], body
    if field is not None:
        assert err.get("field") == field, body
    assert body["request_id"] == r.headers["x-request-id"], (body, dict(r.headers))
    return err


def expect_ok(r, status=200):
    """Asserts a success envelope and returns its data."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert "error" not in body, body
    assert body["request_id"] == r.headers["x-request-id"], (body, dict(r.headers))
    return body["data"]


# The service desk's lookup has its own rate class (rate_customers_*): off
# here like the others; test_service_customers.py starts a gateway of its own
# with a small limit.
TEST_CONFIG.update({f"rate_customers_{key}": "off" for key in ("ip", "user")})
