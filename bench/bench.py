#!/usr/bin/python3
"""bench.py: the gateway's benchmarks, driven by `make bench` (bench/run.sh).

Starts a private MariaDB, the fake WeChat and the gateway (tools/devstack),
seeds the dataset, measures the two ceilings of this machine in this run
(the gateway's static /healthz over HTTPS with wrk; sysbench
oltp_point_select on the same MariaDB socket), then each scenario after a
warm-up, and prints one table with every figure beside those ceilings.

    bench.py --build build [--duration 10] [--warmup 3] [--only s1,s6] [--profile] [--analyze]

Load goes to 127.0.0.1 only. Nothing here fails on a timing: the targets are
reported as met or missed; the exit code is non-zero only when the harness
itself could not run. Results: <build>/bench/results.json (and the table).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, os.path.join(ROOT, "tools", "devstack"))
import dbtrace  # noqa: E402
import devstack  # noqa: E402
import gwtrace  # noqa: E402
import peer as peer_mod  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
CONNS = 64            # the targets' concurrency
IDLE_CONNS = 10000    # scenario 5
# glibc tunables that keep big buffers in the heap instead of fresh mmap()s.
REUSE_MALLOC = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456"
READERS = 2000        # owners 1..2000 have 50 tickets each (seed_repairs.sql)
NOTIFY_EVENTS = 10000  # the notify scenario's queued events (seed_notify.sql)
NOTIFY_USER_BASE = 900000000  # its users are NOTIFY_USER_BASE + 1.. (seed_notify.sql)
NOTIFY_LATENCY_MS = 200
NOTIFY_TARGET = 500    # messages a second
SEND_PATH = "/cgi-bin/message/subscribe/send"
BUYERS = 2000         # users 40001..42000 (seed_base.sql)
STAFF_PROJECT = 5     # 200 000 tickets, ~2 000 overdue (seed_staff.sql)
SUPERVISORS = range(32005, 32009)
STAFF_PAGES = 10      # pages of 20 a supervisor goes through
# The gateway's read caches off: every read takes the database path (a
# first read, a read after a change, what staff and lists always get).
COLD_ENV = {"GATEWAY_REPAIR_CACHE_SLOTS": "0", "GATEWAY_AUTH_CACHE_MS": "0"}
# The sweepers' intervals while the seeded data settles (Bench.settle):
# short, so that what they would do over a deployment's first minutes is
# done before anything is measured.
SETTLE_ENV = {"GATEWAY_REPAIR_SWEEP_INTERVAL_MS": "200", "GATEWAY_SLA_SWEEP_INTERVAL_MS": "200"}
# What the background jobs have left to do: open tickets without their
# clocks (the repair sweeper adopts them, 100 a tick), clocks due (the SLA
# sweeper derives them again, 500 tickets a tick) and notifications due.
BACKGROUND_LEFT_SQL = (
    "SELECT (SELECT COUNT(*) FROM repair_tickets t WHERE t.is_open = 1 AND NOT EXISTS"
    " (SELECT 1 FROM sla_clocks c WHERE c.kind = 'repair' AND c.subject_id = t.id AND c.round = t.rework_count)),"
    " (SELECT COUNT(*) FROM sla_clocks WHERE next_at <= NOW(3)),"
    " (SELECT COUNT(*) FROM notification_events WHERE status IN ('pending', 'sending', 'retrying')"
    "  AND next_attempt_at <= NOW(3))")
# The bench's own MariaDB settings, after devstack's: a buffer pool that
# holds the whole dataset (the peer's included), so no scenario waits on
# disk reads.
DB_ARGS = ["--innodb-buffer-pool-size=1G"]
# With BENCH_ANALYZE=1: statement instrumentation for the traces (it costs
# some throughput, so only then).
DB_ANALYZE_ARGS = ["--performance-schema=ON"]

# The gateway runs with its defaults except: the keep-alive idle timeout is
# long enough for scenario 5's idle connections to outlive the measurement,
# media goes to the run's folder, and scenario 3's buyers may leave more
# leads a day than a real buyer (it measures the intake, not its cap).
GATEWAY_CONFIG = {
    "idle_timeout_ms": 300000,
    "log_level": "info",
    # the load comes from one address and a few users: no rate limits
    **{f"rate_{cls}_{key}": "off" for cls in ("login", "leads", "uploads", "referral", "default")
       for key in ("ip", "user")},
    "lead_daily_max_per_submitter": 1000000,
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- process figures ----------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def tree_cpu_seconds(pid):
    """cpu_seconds over a process and its descendants (the Node peer's workers)."""
    total = 0.0
    for p in peer_mod.tree_pids(pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


def tree_rss_mb(pid):
    total = 0.0
    for p in peer_mod.tree_pids(pid):
        try:
            total += rss_mb(p)
        except OSError:
            pass
    return total


def machine_busy_seconds():
    """CPU time the whole machine spent not idle, over all cores."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return (sum(v[:8]) - idle) / CLK_TCK


class Watch:
    """CPU of the gateway, MariaDB and the fake WeChat over a run, the whole
    machine's busy CPU (to see other work on the machine), and the
    gateway's peak RSS. With tree=True the "gateway" is a process and its
    descendants (the Node peer's cluster)."""

    def __init__(self, gw_pid, db_pid, fake_pid=None, questions=None, tree=False):
        self.questions = questions  # callable: the server's statement counter
        self.pids = {"gw": gw_pid, "db": db_pid}
        if fake_pid:
            self.pids["fake"] = fake_pid
        self.gw_pid = gw_pid
        self.tree = tree
        self.peak = 0.0
        self._stop = threading.Event()

    def _cpu(self, key):
        return tree_cpu_seconds(self.pids[key]) if self.tree and key == "gw" else cpu_seconds(self.pids[key])

    def _rss(self):
        return tree_rss_mb(self.gw_pid) if self.tree else rss_mb(self.gw_pid)

    def __enter__(self):
        self.t0 = time.monotonic()
        self.cpu0 = {k: self._cpu(k) for k in self.pids}
        self.busy0 = machine_busy_seconds()
        self.q0 = self.questions() if self.questions else None
        self.rss_before = self._rss()
        self.peak = self.rss_before
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, self._rss())
            except OSError:
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.wall = time.monotonic() - self.t0
        self.cpu = {}
        for k in self.pids:
            try:
                self.cpu[k] = 100.0 * (self._cpu(k) - self.cpu0[k]) / self.wall
            except OSError:  # it died: reported by the caller
                self.cpu[k] = float("nan")
        self.machine_cpu = 100.0 * (machine_busy_seconds() - self.busy0) / self.wall
        # The two status queries themselves count as statements too.
        self.statements = self.questions() - self.q0 - 1 if self.questions else None
        self.gw_cpu, self.db_cpu = self.cpu["gw"], self.cpu["db"]
        try:
            self.rss_after = self._rss()
            self.peak = max(self.peak, self.rss_after)
        except OSError:
            self.rss_after = float("nan")
        return False

    def figures(self, load_cpu):
        """The figures every result row carries; `other` is CPU used by
        processes that are not part of the run (other work on the machine)."""
        ours = sum(v for v in self.cpu.values() if v == v) + load_cpu
        return dict(gw_cpu=self.gw_cpu, db_cpu=self.db_cpu, fake_cpu=self.cpu.get("fake"), load_cpu=load_cpu,
                    machine_cpu=self.machine_cpu, other_cpu=max(0.0, self.machine_cpu - ours),
                    statements=self.statements,
                    rss_before=self.rss_before, rss_peak=self.peak, rss_after=self.rss_after)


# ---- load tools ---------------------------------------------------------------

_run_seq = [10]


def run_wrk(url, script, conns, duration, env=None, threads=2, timeout_s=5, args=None):
    """One wrk run; returns the figures of common.lua's BENCH_JSON line.
    BENCH_RUN_ID / BENCH_RUN_SEQ let scripts make values unique per run;
    `args` go to the script's init()."""
    _run_seq[0] += 1
    env = dict(os.environ, BENCH_LUA=os.path.join(BENCH, "lua"), BENCH_RUN_ID=secrets.token_hex(4),
               BENCH_RUN_SEQ=str(_run_seq[0]), **(env or {}))
    cmd = ["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{duration}s", f"--timeout={timeout_s}s",
           "-s", os.path.join(BENCH, "lua", script), url] + (["--"] + list(args) if args else [])
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    m = re.search(r"^BENCH_JSON (.*)$", out, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
    r = json.loads(m.group(1))
    seconds = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / seconds if seconds else 0.0
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    r["conns"] = conns
    r["wall"] = wall
    return r


def load_cpu_children(before):
    """CPU used by our finished children since `before` (os.times snapshot)."""
    now = os.times()
    return (now.children_user - before.children_user) + (now.children_system - before.children_system)


# ---- the stack ----------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Stack:
    def __init__(self, binary, dir, db_args=None):
        self.binary, self.dir = os.path.abspath(binary), dir
        self.db = devstack.MariaDB(os.path.join(dir, "db"), extra_args=db_args)
        self.fake = devstack.FakeWechat(dir, quiet=True)
        self.gateway = None

    def start(self):
        self.db.start()
        self.fake.start()
        self.port = devstack.free_port()
        extra = dict(GATEWAY_CONFIG, media_dir=os.path.join(self.dir, "media"))
        self.config = devstack.write_config(self.dir, self.db, self.fake.url, self.fake.appid, self.fake.secret,
                                            self.port, extra)
        self.ca = os.path.join(self.dir, "tls.crt")
        self.base_env = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_GATEWAY_ENV", "").split() if "=" in kv)
        self.gateway = devstack.Gateway(self.binary, self.config, self.dir, self.port, env=self.base_env)
        self.gateway.migrate()
        self.url = self.gateway.url
        with open(os.path.join(self.dir, "session_keys")) as f:
            kid, secret = f.read().strip().split(",")[0].split("=", 1)
        self.kid, self.secret = kid, secret.encode()

    def start_gateway(self):
        self.gateway.start()

    def set_gateway_env(self, extra):
        """The environment of the gateway's next start: BENCH_GATEWAY_ENV plus `extra`."""
        self.gateway.env = dict(os.environ, **self.base_env, **(extra or {}))

    def stop(self):
        code = None
        if self.gateway and self.gateway.proc:
            code = self.gateway.stop()
        self.fake.stop()
        self.db.stop()
        return code

    def sql(self, text, database="gateway", capture=False):
        r = subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={self.db.socket}", "-N", "-B",
                            database], input=text, text=True, check=True,
                           stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
        return r.stdout if capture else None

    def has_table(self, table):
        out = self.sql(f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'gateway' "
                       f"AND table_name = '{table}'", capture=True)
        return out.strip() == "1"

    def has_column(self, table, column):
        out = self.sql(f"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'gateway' "
                       f"AND table_name = '{table}' AND column_name = '{column}'", capture=True)
        return out.strip() == "1"

    def questions(self):
        """MariaDB's count of statements clients sent (prepared executions included)."""
        out = self.sql("SHOW GLOBAL STATUS LIKE 'Questions'", database="mysql", capture=True)
        return int(out.split()[1])

    def token(self, user_id, ttl=86400):
        """A session token as gateway/session_token.h defines it."""
        exp = int(time.time()) + ttl
        msg = f"{self.kid}.{user_id}.{exp}.{b64url(secrets.token_bytes(9))}"
        sig = b64url(hmac.new(self.secret, msg.encode(), hashlib.sha256).digest())
        return f"{msg}.{sig}"

    def request(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, verify=self.ca, timeout=30, **kw)


# ---- the benchmark ------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.out_dir = os.path.join(self.build, "bench")
        self.run_dir = os.path.join(self.out_dir, "run")
        self.data_dir = os.path.join(self.out_dir, "data")
        self.stack = None
        self.results = {}
        self.skipped = {}
        self.notes = []
        self.seed_s = {}
        self.mode = "default"   # the gateway's read caches: "default" (on) or "cold" (COLD_ENV)
        self.peer_info = None
        self.traces = []        # sections of the BENCH_PROFILE / BENCH_ANALYZE findings
        self.sample_seq = 0
        self.db_args = DB_ARGS + (DB_ANALYZE_ARGS if args.analyze else [])

    # -- set-up --

    def setup(self):
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.makedirs(self.run_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.stack = Stack(os.path.join(self.build, "bin", "gateway"), self.run_dir, db_args=self.db_args)
        log(f"starting MariaDB and the fake WeChat in {self.run_dir}")
        self.stack.start()
        self.seed()
        self.settle()
        self.analyze()
        log("starting the gateway")
        self.stack.start_gateway()
        self.gw_pid = self.stack.gateway.proc.pid
        self.db_pid = self.stack.db.proc.pid
        self.drain()
        self.write_data_files()

    def settle(self, timeout_s=900):
        """Runs the gateway on the seeded data with short sweep intervals
        until its background jobs have nothing left (BACKGROUND_LEFT_SQL).
        The seeds give no ticket its clocks: without this the sweepers adopt
        and derive them through the first half hour of the run, writing to
        the tickets under whichever scenario comes first."""
        if not self.stack.has_table("sla_clocks"):
            return
        t0 = time.monotonic()
        self.stack.set_gateway_env(SETTLE_ENV)
        self.stack.start_gateway()
        try:
            left = None
            while time.monotonic() - t0 < timeout_s:
                left = [int(x) for x in self.stack.sql(BACKGROUND_LEFT_SQL, capture=True).split()]
                if not any(left):
                    break
                time.sleep(0.5)
            else:
                raise RuntimeError(f"the background jobs still had {left} (clockless open tickets, clocks due, "
                                   f"notifications due) after {timeout_s} s")
        finally:
            code = self.stack.gateway.stop()
            self.stack.set_gateway_env(None)
        if code != 0:
            raise RuntimeError(f"the gateway exited with {code} on SIGTERM after settling the seeded data")
        self.seed_s["settle"] = time.monotonic() - t0
        log(f"settle: the background jobs caught up in {self.seed_s['settle']:.1f}s")

    def analyze(self):
        """Fresh index statistics for every table, once the seeds and the
        sweepers are done writing, so that every run plans on the same
        numbers. Otherwise InnoDB recomputes a table's in the background
        after a tenth of it changed, at a moment of its choosing: the
        likely reason a list's plan once changed under a run ("The desk's
        filings in a join buffer" in RESULTS.md)."""
        tables = self.stack.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gateway'"
                                " AND table_type = 'BASE TABLE'", capture=True).split()
        if tables:
            self.stack.sql("ANALYZE TABLE " + ", ".join(f"`{t}`" for t in tables))

    def seed(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        if only and only <= {"notify"}:
            self.counts = {}
            log("seed: skipped (the notify scenario seeds its own users and events)")
            return
        parts = [("base", "seed_base.sql", None)]
        parts.append(("repairs", "seed_repairs.sql", lambda: self.stack.has_table("repair_timeline_photos")))
        parts.append(("leads", "seed_leads.sql", lambda: self.stack.has_column("leads", "stage")))
        parts.append(("staff", "seed_staff.sql", lambda: self.stack.has_table("repair_escalations")))
        for name, file, ready in parts:
            if ready and not ready():
                log(f"seed {name}: skipped (its migration is not there)")
                continue
            t0 = time.monotonic()
            with open(os.path.join(BENCH, file)) as f:
                self.stack.sql(f.read())
            self.seed_s[name] = time.monotonic() - t0
            log(f"seed {name}: {self.seed_s[name]:.1f}s")
        if self.stack.has_table("repair_overdue"):
            # What the repair sweeper's first run would mark (schema 022).
            self.stack.sql("INSERT IGNORE INTO repair_overdue (project_id, ticket_id)"
                           " SELECT project_id, id FROM repair_tickets WHERE clock_due_at < NOW(3)")
        counts = {}
        for table in ("units", "owners", "repair_tickets", "repair_timeline", "repair_escalations", "leads"):
            if self.stack.has_table(table):
                counts[table] = int(self.stack.sql(f"SELECT COUNT(*) FROM {table}", capture=True))
        self.counts = counts
        log(f"dataset: {counts}")
        # sysbench's own table for the database ceiling, in its own schema.
        self.stack.sql("CREATE DATABASE IF NOT EXISTS sbtest", database="mysql")
        t0 = time.monotonic()
        subprocess.run(self.sysbench_cmd(1) + ["prepare"], check=True, stdout=subprocess.DEVNULL)
        self.seed_s["sysbench"] = time.monotonic() - t0

    def write_data_files(self):
        """Tokens and ids for the wrk scripts (one request's data a line)."""
        s = self.stack
        if s.has_table("repair_tickets"):
            rows = s.sql(f"SELECT user_id, MAX(id) FROM repair_tickets WHERE user_id <= {READERS} GROUP BY user_id",
                         capture=True).split("\n")
            with open(os.path.join(self.data_dir, "tickets.txt"), "w") as f:
                for row in rows:
                    if row.strip():
                        uid, tid = row.split()
                        f.write(f"{s.token(int(uid))} {tid}\n")
        with open(os.path.join(self.data_dir, "owners.txt"), "w") as f:
            for uid in range(1, READERS + 1):
                f.write(f"{s.token(uid)}\n")
        with open(os.path.join(self.data_dir, "buyers.txt"), "w") as f:
            for uid in range(40001, 40001 + BUYERS):
                f.write(f"{s.token(uid)}\n")

    def sysbench_cmd(self, threads):
        return ["sysbench", "oltp_point_select", "--db-driver=mysql", f"--mysql-socket={self.stack.db.socket}",
                "--mysql-user=root", "--mysql-db=sbtest", "--tables=1", "--table-size=100000",
                f"--threads={threads}"]

    # -- measuring --

    def wrk(self, name, script, conns=CONNS, env=None, timeout_s=5, duration=None, warmup=True, url=None,
            watch=None, args=None):
        """A measured wrk run after a warm-up; against the gateway unless
        `url` (and `watch`, the Watch of that server) say otherwise."""
        duration = duration or self.args.duration
        url = url or self.stack.url
        env = dict(env or {}, BENCH_DATA=self.data_dir)
        if warmup and self.args.warmup:
            run_wrk(url, script, conns, self.args.warmup, env, timeout_s=timeout_s, args=args)
        t = os.times()
        with (watch or self.watch()) as w:
            r = run_wrk(url, script, conns, duration, env, timeout_s=timeout_s, args=args)
        r.update(w.figures(100.0 * load_cpu_children(t) / w.wall))
        self.check_alive(name)
        log(f"{name}: {r['rps']:.0f} req/s p50 {r['p50_us'] / 1000:.2f} ms p99 {r['p99_us'] / 1000:.2f} ms "
            f"errors {r['errors']} (CPU %: gateway {r['gw_cpu']:.0f}, db {r['db_cpu']:.0f}, "
            f"load {r['load_cpu']:.0f}, fake {r['fake_cpu'] or 0:.0f}, other {r['other_cpu']:.0f})")
        return r

    def watch(self):
        return Watch(self.gw_pid, self.db_pid, self.stack.fake.proc.pid, self.stack.questions)

    def restart_gateway(self, why, mode="default", wrapper=None, check=True):
        """A fresh gateway process, so a memory figure starts from a clean
        baseline (glibc keeps what an earlier scenario freed); `mode` "cold"
        turns its read caches off (COLD_ENV); `wrapper` runs it under a tool
        (which starts slowly). With check, a bad exit of the old one fails
        the run."""
        code = self.stack.gateway.stop()
        if code != 0 and check:
            raise RuntimeError(f"the gateway exited with {code} on SIGTERM before {why}")
        self.stack.set_gateway_env(COLD_ENV if mode == "cold" else None)
        self.stack.gateway.wrapper = list(wrapper or [])
        try:
            self.stack.gateway.start(wait=False)
            self.stack.gateway.wait_healthy(timeout=300 if wrapper else 60)
        finally:
            self.stack.gateway.wrapper = []
        self.gw_pid = self.stack.gateway.proc.pid
        self.mode = mode
        time.sleep(1)

    def use_mode(self, mode):
        """The gateway with its read caches on ("default") or off ("cold"),
        restarted and warmed only when it is not in that mode already."""
        if self.mode != mode:
            log(f"restarting the gateway with its read caches {'off' if mode == 'cold' else 'on'}")
            self.restart_gateway(f"the {mode} runs", mode=mode)
            self.warm_fresh_gateway()

    def warm_fresh_gateway(self):
        """Scenario 1 for a moment: DB connections open, statements prepared."""
        if os.path.exists(os.path.join(self.data_dir, "tickets.txt")):
            run_wrk(self.stack.url, "read_ticket.lua", CONNS, max(1, self.args.warmup), {"BENCH_DATA": self.data_dir})
        time.sleep(0.5)

    def check_alive(self, name):
        proc = self.stack.gateway.proc
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited ({proc.returncode}) during {name}; see {self.stack.gateway.log}")

    def probe(self, name, method, path, expect, token=None, **kw):
        """One request before a scenario: a missing route skips it."""
        r = self.stack.request(method, path, token=token, **kw)
        if r.status_code == expect:
            return True
        if (r.status_code == 404 and "no such endpoint" in r.text) or r.status_code == 405:
            reason = f"{method} {path} is not there yet"
        else:
            reason = f"{method} {path} answered {r.status_code}: {r.text[:200]}"
        self.skipped[name] = reason
        log(f"{name}: skipped ({reason})")
        return False

    def ceiling_http(self):
        self.results["ceiling_http"] = self.wrk("HTTP ceiling", "healthz.lua")

    def ceiling_db(self):
        cmd = self.sysbench_cmd(CONNS) + [f"--time={self.args.duration}", "--percentile=99", "run"]
        if self.args.warmup:  # sysbench 1.0 has no --warmup-time
            subprocess.run(self.sysbench_cmd(CONNS) + [f"--time={self.args.warmup}", "run"], check=True,
                           stdout=subprocess.DEVNULL)
        t = os.times()
        with self.watch() as w:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        qps = float(re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", out).group(1))
        p99 = float(re.search(r"99th percentile:\s+([\d.]+)", out).group(1))
        avg = float(re.search(r"avg:\s+([\d.]+)", out).group(1))
        errors = int(re.search(r"ignored errors:\s+(\d+)", out).group(1))
        events = int(re.search(r"total number of events:\s+(\d+)", out).group(1))
        r = dict(rps=qps, requests=events, p50_us=avg * 1000, p99_us=p99 * 1000, errors=errors, conns=CONNS,
                 p50_is_avg=True)
        r.update(w.figures(100.0 * load_cpu_children(t) / w.wall))
        log(f"DB ceiling: {qps:.0f} queries/s p99 {p99:.2f} ms (db CPU {w.db_cpu:.0f}%, sysbench {r['load_cpu']:.0f}%)")
        self.results["ceiling_db"] = r

    def s1_read_ticket(self, key="s1", conns=CONNS, warmup=True, duration=None, env=None):
        if not os.path.exists(os.path.join(self.data_dir, "tickets.txt")):
            self.skipped[key] = "no repair tickets (migration 004 missing)"
            return None
        if key in ("s1", "s1cold"):
            line = open(os.path.join(self.data_dir, "tickets.txt")).readline().split()
            if not self.probe(key, "GET", f"/api/v1/repairs/{line[1]}", 200, token=line[0]):
                return None
        elif "s1" in self.skipped:
            return None
        r = self.wrk(key, "read_ticket.lua", conns=conns, warmup=warmup, duration=duration, env=env,
                     timeout_s=10)
        self.results[key] = r
        return r

    def s2_list_tickets(self, key="s2"):
        tok = open(os.path.join(self.data_dir, "owners.txt")).readline().strip()
        if not self.probe(key, "GET", "/api/v1/repairs?limit=20", 200, token=tok):
            return
        if key == "s2":
            r = self.stack.request("GET", "/api/v1/repairs?limit=20", token=tok).json()
            self.notes.append(f"s2: a page holds {len(r.get('data') or [])} tickets")
        self.results[key] = self.wrk(key, "list_tickets.lua")

    def s1_cold(self):
        """s1 with the read caches off: the database path of a ticket read."""
        self.use_mode("cold")
        self.s1_read_ticket(key="s1cold")

    def s2_cold(self):
        """s2 with the read caches off (the caller's roles loaded each time)."""
        self.use_mode("cold")
        self.s2_list_tickets(key="s2cold")

    def staff_overdue(self, key="staff"):
        """A supervisor lists the overdue tickets of a project with 200 000
        tickets, 20 a page, through STAFF_PAGES pages by the API's cursor."""
        if not self.stack.has_table("repair_escalations"):
            self.skipped[key] = "no repair tickets (migration 004 missing)"
            return
        pages = self.staff_pages()
        if pages is None:
            return
        self.results[key] = self.wrk(key, "staff_overdue.lua")

    def staff_pages(self):
        """Follows next_cursor once and writes data/staff_pages.txt (each
        supervisor with each page); None (and the scenario skipped) when the
        route does not answer as it should."""
        path = f"/api/v1/admin/repairs?project={STAFF_PROJECT}&overdue=true&limit=20"
        tokens = [self.stack.token(u) for u in SUPERVISORS]
        if not self.probe("staff", "GET", path, 200, token=tokens[0]):
            return None
        pages, seen, overdue, cursor = [], 0, 0, None
        for _ in range(STAFF_PAGES):
            page = path + (f"&cursor={cursor}" if cursor else "")
            body = self.stack.request("GET", page, token=tokens[0]).json()
            items = body.get("data") or []
            pages.append(page)
            seen += len(items)
            overdue += sum(1 for t in items if t.get("overdue"))
            cursor = body.get("next_cursor")
            if not cursor:
                break
        with open(os.path.join(self.data_dir, "staff_pages.txt"), "w") as f:
            for tok in tokens:
                for page in pages:
                    f.write(f"{tok} {page}\n")
        total = self.stack.sql(f"SELECT COUNT(*), SUM(breached) FROM repair_tickets WHERE project_id = {STAFF_PROJECT}",
                               capture=True).split()
        self.notes.append(f"staff: {len(pages)} pages of the overdue list, {seen} tickets ({overdue} of them overdue) "
                          f"of the {total[1]} overdue among project {STAFF_PROJECT}'s {total[0]} tickets; "
                          f"{len(SUPERVISORS)} supervisors")
        if overdue != seen or seen == 0:
            self.skipped["staff"] = f"the overdue list returned {seen - overdue} tickets that are not overdue"
            log(f"staff: skipped ({self.skipped['staff']})")
            return None
        return pages

    def peer(self):
        """The Node/Express peer's "owner reads a ticket" (bench/peer.py)
        on the same MariaDB, with s1's wrk settings."""
        src = peer_mod.peer_dir(ROOT)
        if not src:
            where = os.environ.get("BENCH_PEER_DIR") or "../shared/peers/node"
            self.skipped["peer"] = f"no peer folder ({where}); ratios to the peer not computed"
            log(f"peer: skipped ({self.skipped['peer']})")
            return
        if not (shutil.which("node") and shutil.which("npm")):
            self.skipped["peer"] = "node or npm is not installed"
            log("peer: skipped (node or npm is not installed)")
            return
        p = peer_mod.Peer(src, self.out_dir, self.stack, log)
        try:
            log(f"peer: copying {src}, npm ci, seeding its database")
            tokens = p.prepare()
            p.start(devstack.free_port(), self.stack.ca, os.path.join(self.run_dir, "tls.key"))
            p.sanity(self.stack.ca)
            self.peer_info = dict(src=src, versions=p.versions(), install_s=p.install_s, seed_s=p.seed_s)
            log(f"peer: {self.peer_info['versions']}; npm ci {p.install_s:.0f}s, seed {p.seed_s:.0f}s")
            watch = Watch(p.proc.pid, self.db_pid, None, self.stack.questions, tree=True)
            env = {"BENCH_PEER_LUA": os.path.join(p.app, "wrk", "tickets.lua")}
            self.results["peer"] = self.wrk("peer", "peer_tickets.lua", env=env, timeout_s=10, url=p.url,
                                            watch=watch, args=[tokens, "/api/v1/repairs/"])
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError, OSError) as e:
            self.skipped["peer"] = f"failed: {e}"
            log(f"peer: {self.skipped['peer']}")
        finally:
            p.cleanup()

    def s3_lead(self):
        tok = open(os.path.join(self.data_dir, "buyers.txt")).readline().strip()
        body = json.loads(lead_probe_body())
        if not self.probe("s3", "POST", "/api/v1/leads", 201, token=tok, json=body):
            return
        self.results["s3"] = self.wrk("s3", "lead.lua")

    def s4_upload(self):
        jpegs = sorted(f for f in os.listdir(self.data_dir) if f.startswith("photo") and f.endswith(".jpg"))
        if not jpegs:
            self.skipped["s4"] = "no test JPEG (bench/run.sh makes them)"
            return
        tok = open(os.path.join(self.data_dir, "owners.txt")).readline().strip()
        with open(os.path.join(self.data_dir, jpegs[0]), "rb") as f:
            files = {"file": ("photo.jpg", f.read(), "image/jpeg")}
        if not self.probe("s4", "POST", "/api/v1/uploads", 201, token=tok, files=files):
            return
        conns = 16
        self.restart_gateway("s4")
        self.warm_fresh_gateway()
        base = rss_mb(self.gw_pid)
        r = self.wrk("s4", "upload.lua", conns=conns, timeout_s=20)
        # Memory after the burst: give the allocator a few idle seconds.
        after = []
        for _ in range(10):
            time.sleep(0.5)
            after.append(rss_mb(self.gw_pid))
        r["rss_base"], r["rss_settled"] = base, after[-1]
        r["jpeg_bytes"] = os.path.getsize(os.path.join(self.data_dir, jpegs[0]))
        r["image"] = self.image_cost(os.path.join(self.data_dir, jpegs[0]))
        log(f"s4: RSS before {base:.1f} MB, peak {r['rss_peak']:.1f} MB, 5 s after {after[-1]:.1f} MB")
        self.results["s4"] = r

    def image_cost(self, photo):
        """The image work of one upload, CPU ms on one core (image_cost.c),
        twice: with glibc's default malloc, where the big buffers of each
        photo come from fresh pages (page faults, dear on this VM), and with
        glibc tunables that keep them in the heap for reuse."""
        tool = os.path.join(self.out_dir, "image_cost")
        if not os.path.exists(tool):
            return None
        img = {}
        for name, env in (("fresh", {}), ("reused", {"GLIBC_TUNABLES": REUSE_MALLOC})):
            out = subprocess.run([tool, photo, "10"], capture_output=True, text=True,
                                 env=dict(os.environ, **env)).stdout
            m = re.search(r"^BENCH_IMAGE (.*)$", out, re.M)
            if not m:
                return None
            img[name] = json.loads(m.group(1))
        f, u = img["fresh"], img["reused"]
        self.notes.append(
            f"s4: image work per photo, CPU ms on one core, fresh pages / reused heap: image_process "
            f"{f['process_ms']:.1f} / {u['process_ms']:.1f}, of which the lossless tjTransform (rotated photos only) "
            f"{f['transform_ms']:.1f} / {u['transform_ms']:.1f} and the 1/8-scale decode for the thumbnail "
            f"{f['thumb_decode_ms']:.1f} / {u['thumb_decode_ms']:.1f}; a marker-level strip takes "
            f"{u['marker_strip_ms']:.2f}. The image work alone caps uploads at {2000 / f['process_ms']:.0f}-"
            f"{2000 / u['process_ms']:.0f}/s on 2 cores")
        return img

    def s5_idle(self):
        if "s1" not in self.results:
            self.skipped["s5"] = "needs scenario 1"
            return
        holder = os.path.join(self.out_dir, "idle_conns")
        self.restart_gateway("s5")
        self.warm_fresh_gateway()
        # Scenario 1 again right before the connections open: the drop is
        # measured against this, not against s1 minutes earlier.
        ref = self.s1_read_ticket(key="s5_ref", warmup=False)
        base = rss_mb(self.gw_pid)
        t0 = time.monotonic()
        proc = subprocess.Popen([holder, "127.0.0.1", str(self.stack.port), str(IDLE_CONNS), self.stack.ca],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            opened = time.monotonic() - t0
            m = re.match(r"ready open=(\d+) failed=(\d+)", line)
            if not m:
                raise RuntimeError(f"idle_conns: {line!r}")
            held = rss_mb(self.gw_pid)
            log(f"s5: {m.group(1)} idle connections open ({m.group(2)} failed) in {opened:.1f}s; "
                f"gateway RSS {base:.1f} -> {held:.1f} MB")
            r = self.wrk("s5", "read_ticket.lua", timeout_s=10)
            proc.send_signal(signal.SIGTERM)
            final = proc.stdout.readline().strip()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        final_open = re.search(r"open=(\d+)", final)
        r.update(ref_rps=ref["rps"], idle_open=int(m.group(1)), idle_failed=int(m.group(2)), idle_open_s=opened,
                 rss_base=base, rss_held=held, idle_final=int(final_open.group(1)) if final_open else -1)
        time.sleep(1)
        r["rss_released"] = rss_mb(self.gw_pid)
        r["kb_per_conn"] = (held - base) * 1024 / max(1, r["idle_open"])
        self.notes.append(f"s5: {r['kb_per_conn']:.1f} KB of gateway RSS per idle TLS connection "
                          f"({base:.0f} MB -> {held:.0f} MB for {r['idle_open']}); opening them took "
                          f"{opened:.1f}s; RSS after they closed: {r['rss_released']:.0f} MB")
        self.results["s5"] = r

    def s6_login(self):
        if not self.probe("s6", "POST", "/api/v1/auth/login", 200, json={"code": "C_bench_probe"}):
            return
        r = self.wrk("s6", "login.lua", conns=32, timeout_s=10)
        self.results["s6"] = r
        self.notes.append(f"s6: the fake WeChat (one Python process) used {r['fake_cpu']:.0f}% CPU")

    def overload(self):
        """Scenario 1 at 16 and 128 connections beside the 64 of s1; the best
        of the three is "the best point". Then, back to back: 5 s at the best
        point (before), 4x its connections (at least 4x 64) with every status
        counted, and 5 s at the best point again at once (after): recovery is
        the after/before rate, so drift of the shared machine cancels out.
        Last, 16x (at least 1024 connections): more than the DB queues hold
        (db_queue_max a loop thread), so the gateway must shed load with 503s,
        again followed by 5 s at the best point."""
        if "s1" not in self.results:
            self.skipped["overload"] = "needs scenario 1"
            return
        points = {CONNS: self.results["s1"]}
        for conns in (16, 128):
            points[conns] = self.s1_read_ticket(key=f"s1_c{conns}", conns=conns)
        best = max(points, key=lambda c: points[c]["rps"])
        over, deep = 4 * max(best, CONNS), 16 * max(best, CONNS)
        count = {"BENCH_COUNT_STATUSES": "1"}
        before = self.s1_read_ticket(key="before", conns=best, warmup=False, duration=5)
        for key, conns in (("overload", over), ("overload_deep", deep)):
            offset = os.path.getsize(self.stack.gateway.log)
            self.s1_read_ticket(key=key, conns=conns, warmup=False, env=count)
            self.results[key]["server_ms"] = self.server_times(offset)
            if key == "overload":
                after = self.s1_read_ticket(key="recovery", conns=best, warmup=False, duration=5)
        after_deep = self.s1_read_ticket(key="recovery_deep", conns=best, warmup=False, duration=5)
        self.overload_info = dict(best=best, over=over, deep=deep, sweep={c: points[c]["rps"] for c in sorted(points)},
                                  before=before["rps"], after=after["rps"], after_deep=after_deep["rps"],
                                  recovery_ratio=after["rps"] / before["rps"],
                                  recovery_deep_ratio=after_deep["rps"] / before["rps"])

    def server_times(self, offset):
        """Per status: count, p50 and p99 of the time the gateway itself took
        (from its request log lines written after `offset`)."""
        times = {}
        with open(self.stack.gateway.log, "rb") as f:
            f.seek(offset)
            for line in f:
                m = re.search(rb"\[http\] rid=\S+ \S+ \S+ (\d{3}) ([\d.]+)ms", line)
                if m:
                    times.setdefault(m.group(1).decode(), []).append(float(m.group(2)))
        out = {}
        for status, v in times.items():
            v.sort()
            out[status] = dict(count=len(v), p50=v[len(v) // 2], p99=v[min(len(v) - 1, int(len(v) * 0.99))],
                               max=v[-1])
        return out

    # -- notifications --

    def notify(self):
        """10 000 queued outbox events delivered through the fake WeChat,
        which answers each subscribe send after 200 ms (an injected delay on
        that path only). The rate runs from the first send the fake received
        to the last (its request log), so the dispatcher's wake-up interval
        does not count; the rows and the fake's records are then checked:
        every event sent, every message received once."""
        s, fake = self.stack, self.stack.fake.url
        if not s.has_table("notification_grants"):
            self.skipped["notify"] = "no notification tables"
            return
        n = NOTIFY_EVENTS
        requests.post(fake + "/__fake/requests/clear", json={}, timeout=10).raise_for_status()
        requests.post(fake + "/__fake/fail", json={"path": SEND_PATH, "delay_ms": NOTIFY_LATENCY_MS, "count": 4 * n},
                      timeout=10).raise_for_status()
        final = "'sent', 'no_quota', 'failed', 'dead'"
        pending = (f"SELECT COUNT(*) FROM notification_events WHERE user_id > {NOTIFY_USER_BASE}"
                   f" AND status NOT IN ({final})")
        t = os.times()
        with self.watch() as w:
            t0 = time.monotonic()
            with open(os.path.join(BENCH, "seed_notify.sql")) as f:
                s.sql(f.read())
            seeded = time.monotonic() - t0
            deadline = time.monotonic() + 600
            while int(s.sql(pending, capture=True)) > 0 and time.monotonic() < deadline:
                self.check_alive("notify")
                time.sleep(0.5)
            wall = time.monotonic() - t0
        requests.post(fake + "/__fake/fail", json={"path": SEND_PATH, "count": 0}, timeout=10).raise_for_status()
        log_reqs = requests.get(fake + "/__fake/requests", params={"path": SEND_PATH}, timeout=60).json()["requests"]
        sends = [r for r in log_reqs if isinstance(r.get("body"), dict)
                 and str(r["body"].get("touser", "")).startswith("o_bench_notify_")]
        accepted = [r for r in sends if r.get("errcode") == 0]
        per_user = {}
        for r in accepted:
            per_user[r["body"]["touser"]] = per_user.get(r["body"]["touser"], 0) + 1
        ts = sorted(r["ts"] for r in sends)
        span = ts[-1] - ts[0] if len(ts) > 1 else 0.0
        rate = (len(ts) - 1) / span if span > 0 else 0.0
        rows = dict(line.split("\t") for line in s.sql(
            f"SELECT status, COUNT(*) FROM notification_events WHERE user_id > {NOTIFY_USER_BASE} GROUP BY status",
            capture=True).strip().split("\n") if line)
        db_span = s.sql("SELECT TIMESTAMPDIFF(MICROSECOND, MIN(sent_at), MAX(sent_at)) FROM notification_events"
                        f" WHERE user_id > {NOTIFY_USER_BASE} AND status = 'sent'", capture=True).strip()
        sent = int(rows.get("sent", 0))
        db_rate = (sent - 1) / (int(db_span) / 1e6) if db_span not in ("", "NULL") and int(db_span) > 0 else 0.0
        r = dict(rps=rate, requests=n, conns=None, wall=wall, seeded_s=seeded, sends=len(sends),
                 accepted=len(accepted), duplicates=sum(v - 1 for v in per_user.values()),
                 users_reached=len(per_user), rows=rows, db_rate=db_rate, first_to_last_s=span)
        r.update(w.figures(100.0 * load_cpu_children(t) / w.wall))
        r["errors"] = n - sent + r["duplicates"] + (len(sends) - len(accepted))
        self.results["notify"] = r
        log(f"notify: {rate:.0f} messages/s from the first send to the last ({len(sends)} sends over {span:.1f} s); "
            f"rows {rows}; {r['duplicates']} duplicate messages")

    # -- where the time goes (BENCH_PROFILE=1: the gateway; BENCH_ANALYZE=1: MariaDB) --

    # The database path's scenarios, traced with the read caches off:
    # (key, wrk script, title).
    TRACED = (("s1", "read_ticket.lua", "s1: an owner reads a ticket"),
              ("s2", "list_tickets.lua", "s2: an owner lists 20 tickets"),
              ("s3", "lead.lua", "s3: a buyer leaves a lead"),
              ("staff", "staff_overdue.lua", "staff: a supervisor pages through the overdue list"))
    CALLGRIND_SECONDS = 10

    def traced(self):
        """The scenarios to trace: all four, or those BENCH_ONLY names
        (as s1 or s1cold)."""
        only = set(self.args.only.split(",")) if self.args.only else None
        out = []
        for key, script, title in self.TRACED:
            if only and key not in only and f"{key}cold" not in only:
                continue
            if key == "s1" and not os.path.exists(os.path.join(self.data_dir, "tickets.txt")):
                continue
            if key == "s3" and not self.stack.has_column("leads", "stage"):
                continue
            if key == "staff" and not os.path.exists(os.path.join(self.data_dir, "staff_pages.txt")):
                if not self.stack.has_table("repair_escalations") or self.staff_pages() is None:
                    continue
            out.append((key, script, title))
        return out

    def trace_load(self, script, conns, duration, timeout_s=10, data_dir=None):
        """A wrk run for a trace (no figures kept but the requests made)."""
        r = run_wrk(self.stack.url, script, conns, duration, {"BENCH_DATA": data_dir or self.data_dir},
                    timeout_s=timeout_s)
        return r["requests"]

    def drain(self, quiet=5, timeout_s=15):
        """Waits until the requests a wrk run left queued in the gateway have
        run: MariaDB's statement counter grows by at most `quiet` (the
        background jobs) in 0.3 s."""
        deadline = time.monotonic() + timeout_s
        last = self.stack.questions()
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.stack.questions()
            if now - last <= quiet + 1:
                return
            last = now

    def traced_load(self, script, conns, duration):
        """A trace's volume run: the load, then its queued tail."""
        n = self.trace_load(script, conns, duration)
        self.drain()
        return n

    def cached_subset(self, n=100):
        """A data folder whose tickets.txt holds the first n owners' tickets:
        few enough for a warm-up under callgrind (a few hundred requests) to
        put every one in the read cache."""
        d = os.path.join(self.data_dir, f"first{n}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.data_dir, "tickets.txt")) as src, open(os.path.join(d, "tickets.txt"), "w") as f:
            for i, line in enumerate(src):
                if i < n:
                    f.write(line)
        return d

    def sample_requests(self, key, n):
        """n requests of scenario `key`, one at a time, as its wrk script
        makes them; returns how many answered as expected."""
        ok = 0
        lines = {"s1": "tickets.txt", "s2": "owners.txt", "s3": "buyers.txt", "staff": "staff_pages.txt"}[key]
        with open(os.path.join(self.data_dir, lines)) as f:
            rows = [line.split() for line in f if line.strip()]
        for i in range(n):
            row = rows[(i * 37) % len(rows)]
            if key == "s1":
                r = self.stack.request("GET", f"/api/v1/repairs/{row[1]}", token=row[0])
            elif key == "s2":
                r = self.stack.request("GET", "/api/v1/repairs?limit=20", token=row[0])
            elif key == "staff":
                r = self.stack.request("GET", row[1], token=row[0])
            else:
                self.sample_seq += 1  # phones 100xxxxxxxx: never made by lead.lua
                body = json.loads(lead_probe_body())
                body.update(project_id=i % 4 + 1, phone=f"100{self.sample_seq:08d}", channel="poster")
                r = self.stack.request("POST", "/api/v1/leads", token=row[0], json=body)
            ok += r.status_code in (200, 201)
        if ok != n:
            self.notes.append(f"trace {key}: {n - ok} of {n} sample requests did not answer 200/201")
        return n

    def traces_step(self):
        """Where the time goes on the database path, the caches off."""
        todo = self.traced()
        if not todo:
            return
        os.makedirs(os.path.join(self.out_dir, "gwtrace"), exist_ok=True)
        gw = {}
        if self.args.profile and any(k == "s1" for k, _, _ in todo):
            self.use_mode("default")
            log("trace: s1 with the caches on (gateway)")
            gw["s1warm"] = self.gw_profile("s1warm", "read_ticket.lua")
        db = None
        if self.args.analyze:
            db = dbtrace.DbTrace(self.stack, self.out_dir, log)
            if db.available():
                db.prepare()
            else:
                self.notes.append("analyze: MariaDB runs without performance_schema; database traces skipped")
                db = None
        # A fresh cold gateway: its connections take the slow-log settings.
        self.restart_gateway("the traces", mode="cold")
        if db:
            db.mark_background()
        self.warm_fresh_gateway()
        if db:
            db.connected()
        dbs = {}
        for key, script, title in todo:
            if db:
                log(f"trace: {key} (database)")
                db.volume(key, lambda: self.traced_load(script, CONNS, max(3, self.args.duration // 2)))
                stmts = db.sample(key, lambda: self.sample_requests(key, dbtrace.SAMPLE_REQUESTS))
                db.analyze(key, stmts)
                dbs[key] = db.report(key, f"{title}, caches off: the database")
            if self.args.profile:
                log(f"trace: {key} (gateway)")
                gw[key] = self.gw_profile(key, script)
        if self.args.profile:
            self.callgrind_all(todo, gw)
        sections = []
        if db:
            sections.append(db.calibration(lambda: subprocess.run(
                self.sysbench_cmd(1) + ["--time=2", "run"], check=True, stdout=subprocess.DEVNULL, timeout=60)))
        for key, script, title in todo:
            if key in dbs:
                sections.append(dbs[key])
            if key in gw:
                sections.append(gwtrace.report(key, f"{title}, caches off: the gateway", gw[key]))
        if "s1warm" in gw:
            sections.append(gwtrace.report("s1warm", "s1 with the caches on: the gateway (for comparison; under "
                                           "callgrind the first 100 owners' tickets, all cached)", gw["s1warm"]))
        self.traces.extend(sections)
        with open(os.path.join(self.out_dir, "where.md"), "w") as f:
            f.write("\n".join(sections))
        with open(os.path.join(self.out_dir, "traces.json"), "w") as f:
            json.dump(dict(gateway=gw, database=db.found if db else None), f, indent=1, default=str)

    def gw_profile(self, key, script):
        found = {}
        d = os.path.join(self.out_dir, "gwtrace")
        if shutil.which("perf"):
            found["perf"] = gwtrace.perf_profile(
                self.gw_pid, self.args.duration, lambda: self.trace_load(script, CONNS, max(2, self.args.duration - 1)),
                os.path.join(d, f"perf-{key}.data"))
            with open(os.path.join(d, f"perf-{key}.txt"), "w") as f:
                f.write(found["perf"].pop("raw"))
        if shutil.which("strace"):
            found["strace"] = gwtrace.strace_count(self.gw_pid, lambda: self.trace_load(script, 8, 4),
                                                   os.path.join(d, f"strace-{key}.txt"))
            found["strace"].pop("raw")
        return found

    def callgrind_all(self, todo, gw):
        """Instructions a request under callgrind, when perf cannot count
        them here: each traced scenario with the caches off, and s1 with
        them on."""
        if gwtrace.hw_instructions():
            self.notes.append("profile: perf counts instructions on this machine; callgrind not run")
            return
        if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
            self.notes.append("profile: no hardware counters and no valgrind; instruction counts not measured")
            return
        runs = [(key, script, "cold", None, 3) for key, script, _ in todo]
        if "s1warm" in gw:
            # The cached path: 100 tickets, all cached by the warm-up.
            runs.append(("s1warm", "read_ticket.lua", "default", self.cached_subset(100), 8))
        for key, script, mode, data, warm_s in runs:
            log(f"trace: {key} under callgrind")
            out = os.path.join(self.out_dir, "gwtrace", f"callgrind-{key}.out")
            for old in os.listdir(os.path.dirname(out)):
                if old.startswith(os.path.basename(out)):
                    os.unlink(os.path.join(os.path.dirname(out), old))
            try:
                self.restart_gateway(f"callgrind {key}", mode=mode, wrapper=gwtrace.callgrind_wrapper(out))
                n, dump = gwtrace.callgrind_measure(
                    self.gw_pid, lambda: self.trace_load(script, 4, warm_s, timeout_s=30, data_dir=data),
                    lambda: self.trace_load(script, 4, self.CALLGRIND_SECONDS, timeout_s=30, data_dir=data), out)
                gw.setdefault(key, {})["callgrind"] = gwtrace.callgrind_summary(dump, n)
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                gw.setdefault(key, {})["callgrind_error"] = str(e)
                log(f"trace: callgrind {key} failed: {e}")
            finally:
                self.restart_gateway("after callgrind", mode=mode, check=False)
                self.warm_fresh_gateway()

    # -- report --

    def table(self):
        http = self.results.get("ceiling_http", {}).get("rps")
        dbq = self.results.get("ceiling_db", {}).get("rps")
        peer = self.results.get("peer", {}).get("rps")
        names = [("ceiling_http", "HTTP ceiling: GET /healthz"), ("ceiling_db", "DB ceiling: sysbench point select"),
                 ("peer", "Node peer: owner reads a ticket"),
                 ("s1", "1 owner reads a ticket"), ("s1cold", "1 cold: caches off"),
                 ("s2", "2 owner lists tickets (20)"), ("s2cold", "2 cold: caches off"),
                 ("s3", "3 buyer leaves a lead"), ("staff", "staff: overdue list, 20 a page"),
                 ("s4", "4 upload 1 MB JPEG"),
                 ("s5_ref", "1 just before 5 (fresh gateway)"), ("s5", "5 = 1 + 10k idle TLS conns"),
                 ("s6", "6 login (fake WeChat)"),
                 ("s1_c16", "1 at 16 conns"), ("s1_c128", "1 at 128 conns"),
                 ("before", "1 at best, just before overload"), ("overload", "overload: 1 at 4x best"),
                 ("recovery", "recovery: 1 at best, at once"), ("overload_deep", "overload: 1 at 16x best"),
                 ("recovery_deep", "recovery: 1 at best, at once")]
        head = ("| scenario | conns | req/s | p50 ms | p99 ms | errors | gw RSS MB | gw CPU % | db CPU % "
                "| load CPU % | other CPU % | gw µs/req | db µs/req | db stmts/req | / HTTP ceil | / DB ceil "
                "| / peer |")
        lines = [head, "|" + "---|" * 17]
        for key, label in names:
            r = self.results.get(key)
            if not r:
                if key in self.skipped:
                    lines.append(f"| {label} | | skipped: {self.skipped[key]} | | | | | | | | | | | | | | |")
                continue
            ours = not key.startswith("ceiling") and key != "peer"
            ratio_h = f"{r['rps'] / http:.1%}" if http and ours else ""
            ratio_d = f"{r['rps'] / dbq:.1%}" if dbq and not key.startswith("ceiling") else ""
            ratio_p = f"{r['rps'] / peer:.2f}x" if peer and ours else ""
            p50 = f"{r['p50_us'] / 1000:.2f}" + (" (avg)" if r.get("p50_is_avg") else "")
            lines.append(f"| {label} | {r['conns']} | {r['rps']:,.0f} | {p50} | {r['p99_us'] / 1000:.2f} | "
                         f"{r['errors']} | {r['rss_peak']:.0f} | {r['gw_cpu']:.0f} | {r['db_cpu']:.0f} | "
                         f"{r['load_cpu']:.0f} | {r['other_cpu']:.0f} | {per_req(r, 'gw_cpu')} | "
                         f"{per_req(r, 'db_cpu')} | {stmts_per_req(r)} | {ratio_h} | {ratio_d} | {ratio_p} |")
        return "\n".join(lines)

    def targets(self):
        """The database-path targets, each a ratio taken in this run."""
        out = []
        res = self.results
        dbq = res.get("ceiling_db", {}).get("rps")
        peer = res.get("peer", {}).get("rps")

        def verdict(ok):
            return "MET" if ok else "MISSED"

        def of_db(key, share, label, extra=""):
            r = res.get(key)
            if not r:
                out.append(f"- {label} >= {share:.0%} of sysbench point select: not measured "
                           f"({self.skipped.get(key, 'not run')})")
                return
            if not dbq:
                out.append(f"- {label} >= {share:.0%} of sysbench point select: no DB ceiling in this run")
                return
            ratio = r["rps"] / dbq
            ok = ratio >= share and (r["errors"] == 0 or not extra)
            errors = f", {r['errors']} errors" if extra else ""
            out.append(f"- {label}: {r['rps']:.0f} req/s = {ratio:.1%} of sysbench point select ({dbq:.0f}/s){errors} "
                       f"(target >= {share:.0%}{extra}): {verdict(ok)}")

        r = res.get("s1cold")
        if r and peer:
            x = r["rps"] / peer
            out.append(f"- s1 caches off: {r['rps']:.0f} req/s = {x:.2f}x the Node peer ({peer:.0f}/s) "
                       f"(target >= 5x): {verdict(x >= 5)}")
        else:
            why = self.skipped.get("peer") if not peer else self.skipped.get("s1cold", "not run")
            out.append(f"- s1 caches off >= 5x the Node peer: not measured ({why})")
        of_db("s1cold", 0.20, "s1 caches off")
        if r:
            out.append(f"- s1 caches off: p99 {r['p99_us'] / 1000:.2f} ms at {r['conns']} conns (target < 10 ms): "
                       f"{verdict(r['p99_us'] < 10000)}")
        of_db("s1", 0.70, "s1 caches on")
        of_db("s2cold", 0.10, "s2 caches off")
        of_db("s3", 0.05, "s3", extra=", zero errors")
        of_db("staff", 0.05, "staff overdue list")
        out.append(self.target_notifications())
        r = res.get("s5")
        if r:
            out.append(f"- s5: gateway RSS peak {r['rss_peak']:.0f} MB with {r['idle_open']} idle TLS connections "
                       f"(target <= 150 MB): {verdict(r['rss_peak'] <= 150)}")
        else:
            out.append(f"- s5 <= 150 MB: not measured ({self.skipped.get('s5', 'not run')})")
        return "\n".join(out)

    def target_notifications(self):
        """Notification delivery against a WeChat that answers each send in
        200 ms: >= 500 messages a second, every event sent exactly once (the
        notify scenario)."""
        r = self.results.get("notify")
        if not r:
            return (f"- notification delivery >= {NOTIFY_TARGET} msg/s ({NOTIFY_LATENCY_MS} ms WeChat): not measured "
                    f"({self.skipped.get('notify', 'not run')})")

        def verdict(ok):
            return "MET" if ok else "MISSED"

        n = r["requests"]
        exact = r["rows"].get("sent") == str(n) and r["accepted"] == n and r["duplicates"] == 0
        msgs = r["accepted"] or 1
        return (f"- notify: {n} queued events, the fake WeChat answering each send in {NOTIFY_LATENCY_MS} ms: "
                f"{r['rps']:.0f} messages/s from the first send to the last ({r['first_to_last_s']:.1f} s; "
                f"{r['db_rate']:.0f}/s by the rows' sent_at) (target >= {NOTIFY_TARGET}): "
                f"{verdict(r['rps'] >= NOTIFY_TARGET)}; rows {r['rows']}, {r['sends']} sends received, "
                f"{r['duplicates']} duplicates (target: every event sent exactly once): {verdict(exact)}; "
                f"gateway CPU {r['gw_cpu']:.0f}%, {r['gw_cpu'] / 100.0 * r['wall'] * 1e6 / msgs:.0f} µs a message, "
                f"MariaDB CPU {r['db_cpu']:.0f}%, {(r['statements'] or 0) / msgs:.1f} statements a message, "
                f"fake WeChat CPU {r['fake_cpu'] or 0:.0f}%, other CPU {r['other_cpu']:.0f}%")

    def other_checks(self):
        """Checks of earlier work that the runs still show."""
        out = []
        res = self.results

        def verdict(ok):
            return "MET" if ok else "MISSED"

        if "s4" in res:
            r = res["s4"]
            grown = r["rss_settled"] - r["rss_base"]
            back = grown <= max(16.0, 0.1 * r["rss_base"])
            out.append(f"- s4: {r['rps']:.1f} uploads/s (target >= 50): {verdict(r['rps'] >= 50)}; RSS "
                       f"{r['rss_base']:.0f} MB before, {r['rss_peak']:.0f} MB peak, {r['rss_settled']:.0f} MB 5 s "
                       f"after (target: back to baseline, within 16 MB or 10%): {verdict(back)}")
        if "s5" in res:
            r = res["s5"]
            drop = 1 - r["rps"] / r["ref_rps"]
            out.append(f"- s5: {r['idle_open']} idle connections held ({r['idle_final']} still open at the end); "
                       f"scenario 1 rate {r['rps']:.0f} vs {r['ref_rps']:.0f} req/s just before, a drop of {drop:.0%} "
                       f"(target < 20%): {verdict(drop < 0.2)}")
        if "overload" in res:
            info = self.overload_info
            ok = True
            out.append(f"- overload: sweep {', '.join(f'{c} conns {v:.0f}/s' for c, v in info['sweep'].items())}; "
                       f"best {info['best']} conns, {info['before']:.0f} req/s just before the overload runs")
            for key, conns, after, ratio in (("overload", info["over"], info["after"], info["recovery_ratio"]),
                                             ("overload_deep", info["deep"], info["after_deep"],
                                              info["recovery_deep_ratio"])):
                r = res[key]
                statuses = r.get("statuses", {})
                bad = {k: v for k, v in statuses.items() if k not in ("200", "503")}
                ra = r.get("retry_after_503", {})
                sockets = r["connect"] + r["read"] + r["write"]
                good = not bad and ra.get("without", 0) == 0 and r["timeout"] == 0 and sockets == 0 and ratio >= 0.8
                ok = ok and good
                server = "; ".join(f"{st}: p50 {t['p50']:.1f} ms, p99 {t['p99']:.1f} ms"
                                   for st, t in sorted(r.get("server_ms", {}).items()))
                out.append(f"  - {conns} conns: statuses {statuses}; 503s with Retry-After {ra.get('with', 0)}, "
                           f"without {ra.get('without', 0)}; timeouts {r['timeout']}, socket errors {sockets}; "
                           f"client p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms; in the gateway "
                           f"({server}); right after it {after:.0f} req/s = {ratio:.0%} of before: {verdict(good)}")
            out.append(f"  - errors only fast 503s with Retry-After, no timeouts or crashes, recovery at once "
                       f"(>= 80% of the rate before); the gateway stayed up (checked after every run): {verdict(ok)}")
        return "\n".join(out)

    def run(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        steps = [("ceiling_http", self.ceiling_http), ("ceiling_db", self.ceiling_db), ("s1", self.s1_read_ticket),
                 ("s2", self.s2_list_tickets), ("s3", self.s3_lead), ("staff", self.staff_overdue),
                 ("s1cold", self.s1_cold), ("s2cold", self.s2_cold), ("peer", self.peer),
                 ("s4", self.s4_upload), ("s5", self.s5_idle), ("s6", self.s6_login), ("overload", self.overload),
                 ("notify", self.notify)]
        t0 = time.monotonic()
        code = None
        try:
            self.setup()
            for name, fn in steps:
                if only and name not in only:
                    continue
                fn()
            if self.args.profile or self.args.analyze:
                self.traces_step()
        finally:
            if self.stack:
                code = self.stack.stop()
        elapsed = time.monotonic() - t0
        machine = machine_line()
        when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        peer = self.peer_info
        text = (f"\nGateway benchmarks, {when}\n{machine}\n"
                f"dataset: {self.counts}; seeding {', '.join(f'{k} {v:.1f}s' for k, v in self.seed_s.items())}\n"
                f"each run: {self.args.warmup}s warm-up, {self.args.duration}s measured; wrk -t2, HTTPS keep-alive, "
                f"HTTP/1.1; the gateway with its defaults (threads = cores, 4 DB connections a thread); "
                f"\"cold\" = {' '.join(f'{k}={v}' for k, v in COLD_ENV.items())}; MariaDB {' '.join(self.db_args)}\n"
                + (f"peer: {peer['versions']} ({peer['src']}), its own data in database estate on the same MariaDB "
                   f"(seeded in {peer['seed_s']:.0f}s), its wrk script with s1's settings\n" if peer else
                   f"peer: skipped ({self.skipped.get('peer', 'not selected')})\n")
                + f"\n{self.table()}\n\nTargets (database path):\n{self.targets()}\n")
        others = self.other_checks()
        if others:
            text += f"\nOther checks:\n{others}\n"
        busy = [k for k, r in self.results.items() if r.get("other_cpu", 0) > 15]
        if busy:
            text += (f"\nWarning: other processes on the machine used more than 15% CPU during {', '.join(busy)}; "
                     f"those rows are not comparable with a quiet run.\n")
        if self.notes:
            text += "\nNotes:\n" + "\n".join(f"- {n}" for n in self.notes) + "\n"
        if self.traces:
            text += "\n## Where the time goes (cold path)\n\n" + "\n".join(self.traces) + "\n"
        text += f"\nThe gateway exited with {code} on SIGTERM; total time {elapsed:.0f}s.\n"
        print(text, flush=True)
        with open(os.path.join(self.out_dir, "results.json"), "w") as f:
            json.dump(dict(when=when, machine=machine, counts=self.counts, seed_s=self.seed_s,
                           results=self.results, skipped=self.skipped, peer=self.peer_info,
                           overload=getattr(self, "overload_info", None), gateway_exit=code), f, indent=1)
        with open(os.path.join(self.out_dir, "results.txt"), "w") as f:
            f.write(text)
        return 0


def per_req(r, key):
    """CPU microseconds a request (a query for the DB ceiling): steadier than
    rates on a shared machine."""
    return f"{r[key] / 100.0 * 1e6 / r['rps']:.0f}" if r.get("rps") and r.get(key) == r.get(key) else ""


def stmts_per_req(r):
    n = r.get("requests") or r.get("rps", 0) * r.get("wall", 0)
    return f"{r['statements'] / n:.1f}" if r.get("statements") is not None and n else ""


def lead_probe_body():
    return json.dumps({"project_id": 1, "name": "基准客户", "phone": "19999999999", "consent": True})


def machine_line():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    osname = platform.freedesktop_os_release().get("PRETTY_NAME", "Linux") if hasattr(
        platform, "freedesktop_os_release") else "Linux"
    return (f"machine: {os.cpu_count()} vCPU {cpu}, {mem:.0f} GiB RAM, {osname}, kernel {platform.release()}; "
            f"load generator, MariaDB and gateway share the cores")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    p.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "3")))
    p.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="comma-separated steps, e.g. s1,s6")
    p.add_argument("--profile", action="store_true", default=os.environ.get("BENCH_PROFILE") == "1",
                   help="the gateway side of the cold path: perf, strace, callgrind")
    p.add_argument("--analyze", action="store_true", default=os.environ.get("BENCH_ANALYZE") == "1",
                   help="the database side of the cold path: slow log, performance_schema, ANALYZE")
    args = p.parse_args()
    try:
        return Bench(args).run()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        log(f"failed: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
