"""Upgrade under load: SIGUSR2 starts the binary now installed at the same
path on the running process's listening sockets; the old process stops
accepting only once the new one accepts, finishes what is in flight and
exits. Clients keep calling throughout; no request may fail."""
import ctypes
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import threading
import time

import pytest

from conftest import unique_phone
from lead_support import lead_body
from ops_support import log_size, own_gateway, wait_log, wait_until

JSCODE = "/sns/jscode2session"
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    """The successor is the old process's child; when the old one exits it
    becomes ours (as it becomes systemd's), so the test can wait for it."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


class Load:
    """Client threads calling until stopped, counting every outcome.

    - fresh: a new TLS connection per request (POST a lead): a refused or
      reset connection is a failure;
    - kept: one keep-alive connection per thread (GET /api/v1/me, /readyz).
      HTTP lets a client resend an idempotent request once when a reused
      connection was closed before any byte of the answer came (RFC 9112
      9.3.1): that is counted as a resend, not a failure. Anything else that
      is not 2xx is a failure."""

    def __init__(self, port, ca, token, project_id, threads=4):
        self.port, self.token, self.project_id = port, token, project_id
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ok = 0
        self.failures = []
        self.resends = 0
        self.leads = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def conn(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=20, context=self.ctx)

    def record(self, ok, what=None):
        with self.lock:
            if ok:
                self.ok += 1
            else:
                self.failures.append(what)

    def fresh_lead(self):
        c = self.conn()
        body = json.dumps(lead_body(self.project_id, unique_phone()))
        try:
            c.request("POST", "/api/v1/leads", body=body,
                      headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status in (200, 201):
                with self.lock:
                    self.leads.append(json.loads(data)["data"]["submission"]["id"])
                self.record(True)
            else:
                self.record(False, f"POST lead: {r.status} {data[:200]!r}")
        except Exception as e:
            self.record(False, f"POST lead on a new connection: {e!r}")
        finally:
            c.close()

    def kept_get(self, state, path):
        for attempt in (1, 2):
            c = state.get("conn")
            reused = c is not None
            if c is None:
                c = state["conn"] = self.conn()
            try:
                c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                r = c.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as e:
                c.close()
                state["conn"] = None
                if reused and attempt == 1:
                    with self.lock:
                        self.resends += 1
                    continue
                self.record(False, f"GET {path}: {e!r} (reused={reused})")
                return
            except Exception as e:
                c.close()
                state["conn"] = None
                self.record(False, f"GET {path}: {e!r}")
                return
            if r.will_close:
                c.close()
                state["conn"] = None
            self.record(r.status == 200, f"GET {path}: {r.status} {data[:200]!r}")
            return

    def run(self, i):
        state = {}
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            if (n + i) % 3 == 0:
                self.fresh_lead()
            else:
                self.kept_get(state, "/api/v1/me" if n % 2 else "/readyz")
        if state.get("conn"):
            state["conn"].close()

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)

    def count(self):
        with self.lock:
            return self.ok


def successor_pid(log, after):
    m = re.search(r"hand-over: started .* as pid (\d+)", log[after:])
    return int(m.group(1)) if m else None


def wait_exit(pid, timeout=60):
    """Waits for a child (ours, or adopted as subreaper) to exit; its exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} did not exit")


def install(src, dst):
    """Installs a binary the way dpkg does: a new file renamed over the old."""
    shutil.copy2(src, dst + ".new")
    os.replace(dst + ".new", dst)


def test_upgrade_under_load_fails_no_request(stack, factory, fake, db):
    bindir = os.path.join(stack.dir, f"bin-{secrets.token_hex(3)}")
    os.makedirs(bindir)
    binary = os.path.join(bindir, "gateway")
    install(stack.binary, binary)
    gw = own_gateway(stack, "gw_upgrade", {"wechat_timeout_ms": 2000}, binary=binary)
    gw.start()
    pids = [gw.proc.pid]
    load = None
    try:
        project_id = factory.project()
        _, token = factory.user()
        load = Load(gw.https_port, gw.ca, token, project_id)
        load.start()
        wait_until(lambda: load.count() >= 40, 60, "the load to run")

        for round in (1, 2):  # the new process is upgraded in turn
            # A slow request in flight while the old process hands over.
            fake.fail(JSCODE, delay_ms=1500, count=1)
            slow = {}

            def login():
                c = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=30,
                                                context=ssl.create_default_context(cafile=gw.ca))
                c.request("POST", "/api/v1/auth/login", body=json.dumps({"code": f"C_o_up_{secrets.token_hex(4)}"}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                slow["status"] = r.status
                slow["body"] = r.read()

            before_login = fake.count(JSCODE)
            t = threading.Thread(target=login)
            t.start()
            wait_until(lambda: fake.count(JSCODE) > before_login, 10, "the slow login to reach WeChat")

            install(stack.binary, binary)  # the "new version"
            at = log_size(gw.log)
            old = pids[-1]
            os.kill(old, signal.SIGUSR2)
            log = wait_log(gw.log, "this process stops accepting and drains", after=at)
            new = successor_pid(log, at)
            assert new and new != old
            pids.append(new)
            code = gw.proc.wait(60) if round == 1 else wait_exit(old)
            assert code == 0, f"the old process exited with {code}; see {gw.log}"
            t.join(30)
            assert slow.get("status") == 200, slow
            # The new process carries the load on its own for a while.
            served = load.count()
            wait_until(lambda: load.count() >= served + 60, 60, "requests served by the new process")
        load.stop()
        assert load.failures == [], f"{len(load.failures)} failed of {load.ok + len(load.failures)}: " \
                                    f"{load.failures[:5]}"
        assert load.ok > 200
        print(f"upgrade under load: {load.ok} requests answered, {load.resends} resent after a keep-alive close, 0 failed")
        # Every lead the clients were told was saved is saved, once: one
        # submission each (its receipt's id) and one lead each (own phones).
        rows = db.query("SELECT s.id FROM lead_submissions s JOIN leads l ON l.id = s.lead_id "
                        "WHERE l.project_id = %s", (project_id,))
        assert sorted(r["id"] for r in rows) == sorted(load.leads)
        leads = db.query("SELECT COUNT(*) AS n FROM leads WHERE project_id = %s", (project_id,))
        assert leads[0]["n"] == len(load.leads)
        log = open(gw.log).read()
        assert log.count("took over from the previous process") == 2
    finally:
        if load:
            load.stop()
        last = pids[-1]
        if last != gw.proc.pid:
            try:
                os.kill(last, signal.SIGTERM)
                assert wait_exit(last) == 0, f"see {gw.log}"
            except ProcessLookupError:
                pass
        else:
            gw.stop()


def test_failed_successor_leaves_the_old_process_serving(stack):
    bindir = os.path.join(stack.dir, f"bin-{secrets.token_hex(3)}")
    os.makedirs(bindir)
    binary = os.path.join(bindir, "gateway")
    install(stack.binary, binary)
    gw = own_gateway(stack, "gw_badup", binary=binary)
    gw.start()
    try:
        # A broken "new version": it exits at once.
        with open(binary + ".new", "w") as f:
            f.write("#!/bin/sh\nexit 3\n")
        os.chmod(binary + ".new", 0o755)
        os.replace(binary + ".new", binary)
        at = log_size(gw.log)
        gw.proc.send_signal(signal.SIGUSR2)
        log = wait_log(gw.log, "hand-over failed", after=at)
        assert "this one keeps serving" in log[at:]
        assert gw.proc.poll() is None
        c = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=10,
                                        context=ssl.create_default_context(cafile=gw.ca))
        c.request("GET", "/readyz")
        assert c.getresponse().status == 200
        c.close()
    finally:
        assert gw.stop() == 0, f"see {gw.log}"
