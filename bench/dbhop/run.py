#!/usr/bin/python3
"""run.py: the database-hop probe's measurements (bench/dbhop/README.md).

Starts a private MariaDB (and the fake WeChat, unused) through bench.py's
Stack, which applies the schema and writes the gateway's configuration
file; seeds scenario 1's dataset (bench/seed_base.sql, seed_repairs.sql);
checks that every mode answers the same bodies; then runs the probe
(`dbhop`) in every configuration, several rounds, the order rotated from
round to round (A B C, B C A, ...) so that a burst of other work on a shared
machine does not land on one configuration only. Each run is a fresh probe,
a warm-up, then a measured wrk run (64 connections, 2 threads) during which
the CPU time and the context switches of the probe and of MariaDB, and the
machine's busy CPU, are read from /proc. Prints one table of medians (with
the spread of req/s) and writes every run to <build>/bench/dbhop/results.json.

    run.py --build build [--rounds 3] [--duration 10] [--warmup 3]
           [--modes worker,coro,async] [--conns 2,4,8] [--worker-conns 4]
           [--loops 1,2] [--read detail|view] [--reuse] [--callgrind] [--binary PATH]

The worker mode runs with --worker-conns threads per loop (default: the
gateway's db_pool_size default); the non-blocking modes with each of
--conns connections per loop. Loopback only. Nothing fails on a timing: the
exit code is non-zero only when the harness could not run or the modes
answered differently.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
import bench  # noqa: E402
import devstack  # noqa: E402  (bench.py put tools/devstack on the path)
import gwtrace  # noqa: E402

CONNS = 64
MODES = ("worker", "coro", "async")
GATEWAY_POOL_SIZE = 4  # gateway/config.c: db_pool_size's default


def log(msg):
    print(f"dbhop: {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def ctx_switches(pid):
    """Voluntary + involuntary context switches of every thread of a process
    that is still there (MariaDB's threads of a previous probe's connections
    may end during a run and take their counts with them: perf's count,
    PerfStat, is the one reported when perf is there)."""
    total = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:  # a thread that ended meanwhile
            pass
    return total


class PerfStat:
    """System calls and context switches of a running process (every
    thread), counted by perf's software events over a run; None without perf."""

    EVENTS = ("raw_syscalls:sys_enter", "context-switches")

    def __init__(self, pid):
        self.pid = pid
        self.proc = None
        self.counts = None

    def __enter__(self):
        if not shutil.which("perf"):
            return self
        fd, self.out = tempfile.mkstemp(prefix="dbhop-perf-")
        os.close(fd)
        self.proc = subprocess.Popen(["perf", "stat", "-x,", "-o", self.out, "-e", ",".join(self.EVENTS),
                                      "-p", str(self.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached to every thread before the load starts
        return self

    def __exit__(self, *exc):
        if not self.proc:
            return False
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        counts = {}
        with open(self.out) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[2] in self.EVENTS and parts[0].isdigit():
                    counts[parts[2]] = int(parts[0])
        os.unlink(self.out)
        self.counts = counts if len(counts) == len(self.EVENTS) else None
        return False


class Probe:
    """One dbhop process in one configuration."""

    read = "detail"  # --read: the statement every mode runs (set from the arguments)

    def __init__(self, binary, stack, mode, loops, conns, wrapper=None):
        self.port = devstack.free_port()
        self.cmd = list(wrapper or []) + [binary, "--config", stack.config, "--mode", mode, "--loops", str(loops),
                                          "--conns", str(conns), "--port", str(self.port), "--read", Probe.read]
        self.url = f"https://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # valgrind's own output goes to stderr
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"dbhop did not start ({self.proc.wait()}): {' '.join(self.cmd)}")
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(30)
        return False


def normalized(body):
    """A body without what differs from one second to the next: the signed
    media URLs' expiry and signature."""
    return re.sub(r"([?&](exp|sig)=)[^&\"]*", r"\1", body)


class Run:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.out = os.path.join(self.build, "bench", "dbhop")
        self.binary = os.path.abspath(args.binary) if args.binary else os.path.join(self.out, "dbhop")
        self.data = os.path.join(self.out, "data")
        self.stack = None
        self.runs = []
        self.counts_cg = []  # mode, instructions a request (--callgrind)

    def setup(self):
        run_dir = os.path.join(self.out, "run")
        if not self.args.reuse:
            subprocess.run(["rm", "-rf", run_dir], check=True)
        os.makedirs(run_dir, exist_ok=True)
        os.makedirs(self.data, exist_ok=True)
        self.stack = bench.Stack(os.path.join(self.build, "bin", "gateway"), run_dir, db_args=bench.DB_ARGS)
        log(f"starting MariaDB in {run_dir}")
        self.stack.start()
        seeded = self.stack.sql("SELECT COUNT(*) FROM repair_tickets", capture=True).strip() != "0"
        for name in () if seeded else ("seed_base.sql", "seed_repairs.sql"):
            t0 = time.monotonic()
            with open(os.path.join(BENCH, name)) as f:
                self.stack.sql(f.read())
            log(f"{name}: {time.monotonic() - t0:.1f}s")
        self.counts = {t: int(self.stack.sql(f"SELECT COUNT(*) FROM {t}", capture=True))
                       for t in ("repair_tickets", "repair_timeline", "repair_timeline_photos")}
        log(f"dataset: {self.counts}")
        rows = self.stack.sql(f"SELECT user_id, MAX(id) FROM repair_tickets WHERE user_id <= {bench.READERS}"
                              " GROUP BY user_id", capture=True).split("\n")
        self.tickets = [r.split() for r in rows if r.strip()]
        with open(os.path.join(self.data, "dbhop_tickets.txt"), "w") as f:
            for uid, tid in self.tickets:
                f.write(f"{uid} {tid}\n")
        self.db_pid = self.stack.db.proc.pid

    def check_modes(self):
        """Every mode answers the same bodies: a ticket of the caller's own,
        and another owner's (404)."""
        (uid, tid), (other, _) = self.tickets[0], self.tickets[1]
        seen = {}
        for mode in self.args.modes:
            with Probe(self.binary, self.stack, mode, 1, 2) as p:
                own = requests.get(f"{p.url}/r/{uid}/{tid}", verify=self.stack.ca, timeout=10)
                theirs = requests.get(f"{p.url}/r/{other}/{tid}", verify=self.stack.ca, timeout=10)
            if own.status_code != 200 or theirs.status_code != 404 or not own.json()["data"]["timeline"]:
                raise RuntimeError(f"{mode}: {own.status_code} {own.text[:300]} / {theirs.status_code}")
            seen[mode] = normalized(own.text) + normalized(theirs.text)
        if len(set(seen.values())) != 1:
            raise RuntimeError(f"the modes answer differently: {seen}")
        self.sample = own.text
        log(f"every mode answers the same ({len(own.text)} bytes for ticket {tid}, 404 for another owner)")

    def measure(self, mode, loops, conns):
        env = {"BENCH_DATA": self.data}
        with Probe(self.binary, self.stack, mode, loops, conns) as p:
            if self.args.warmup:
                bench.run_wrk(p.url, "../dbhop/read.lua", CONNS, self.args.warmup, env, timeout_s=10)
            load0 = loadavg()
            t = os.times()
            cs0 = ctx_switches(p.proc.pid), ctx_switches(self.db_pid)
            with PerfStat(p.proc.pid) as pp, PerfStat(self.db_pid) as pd:
                with bench.Watch(p.proc.pid, self.db_pid, questions=self.stack.questions) as w:
                    r = bench.run_wrk(p.url, "../dbhop/read.lua", CONNS, self.args.duration, env, timeout_s=10)
            cs1 = ctx_switches(p.proc.pid), ctx_switches(self.db_pid)
            r.update(w.figures(100.0 * bench.load_cpu_children(t) / w.wall))
        n = r["requests"] or None
        r.update(mode=mode, loops=loops, conns_per_loop=conns, loadavg=(load0 + loadavg()) / 2,
                 gw_us=r["gw_cpu"] / 100.0 * 1e6 / r["rps"] if r["rps"] else None,
                 db_us=r["db_cpu"] / 100.0 * 1e6 / r["rps"] if r["rps"] else None,
                 gw_cs=(cs1[0] - cs0[0]) / n if n else None, db_cs=(cs1[1] - cs0[1]) / n if n else None,
                 stmts=r["statements"] / n if n else None)
        # perf counts from just before to just after the wrk run: a little more than its requests
        for key, ps in (("gw", pp), ("db", pd)):
            if ps.counts and n:
                r[f"{key}_syscalls"] = ps.counts["raw_syscalls:sys_enter"] / n
                r[f"{key}_perf_cs"] = ps.counts["context-switches"] / n
        log(f"{mode} loops={loops} conns={conns}: {r['rps']:.0f} req/s p50 {r['p50_us'] / 1000:.2f} ms "
            f"p99 {r['p99_us'] / 1000:.2f} ms errors {r['errors']}; µs/req probe {r['gw_us'] or 0:.0f} "
            f"db {r['db_us'] or 0:.0f}; cs/req probe {r['gw_cs'] or 0:.2f} db {r['db_cs'] or 0:.2f}; "
            f"syscalls/req probe {r.get('gw_syscalls') or 0:.1f} db {r.get('db_syscalls') or 0:.1f}; "
            f"perf cs/req probe {r.get('gw_perf_cs') or 0:.2f} db {r.get('db_perf_cs') or 0:.2f}; "
            f"other CPU {r['other_cpu']:.0f}%, load {r['loadavg']:.1f}")
        return r

    def callgrind(self, mode, conns):
        """User-space instructions a request of the probe (callgrind: this
        machine has no hardware counters), 1 loop, 4 wrk connections."""
        out_dir = os.path.join(self.out, "callgrind")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, f"callgrind-{mode}.out")
        for old in os.listdir(out_dir):
            if old.startswith(os.path.basename(out)):
                os.unlink(os.path.join(out_dir, old))
        env = {"BENCH_DATA": self.data}

        def load(seconds):
            return bench.run_wrk(p.url, "../dbhop/read.lua", 4, seconds, env, timeout_s=30)["requests"]

        with Probe(self.binary, self.stack, mode, 1, conns, wrapper=gwtrace.callgrind_wrapper(out)) as p:
            n, dump = gwtrace.callgrind_measure(p.proc.pid, lambda: load(3), lambda: load(8), out)
        s = gwtrace.callgrind_summary(dump, n)
        log(f"callgrind {mode}/{conns}: {s['per_request']:,.0f} instructions a request over {n} requests")
        return dict(mode=mode, conns=conns, requests=n, per_request=s["per_request"], groups=s["groups"],
                    top=s["top"][:12])

    def configs(self):
        out = []
        for loops in self.args.loops:
            for mode in self.args.modes:
                for conns in self.args.worker_conns if mode == "worker" else self.args.conns:
                    out.append((mode, loops, conns))
        return out

    def run(self):
        t0 = time.monotonic()
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        try:
            self.setup()
            self.check_modes()
            if self.args.callgrind and shutil.which("callgrind_control"):
                for mode in self.args.modes:
                    self.counts_cg.append(self.callgrind(mode, GATEWAY_POOL_SIZE))
            configs = self.configs()
            for rnd in range(self.args.rounds):
                k = rnd * len(configs) // self.args.rounds
                for mode, loops, conns in configs[k:] + configs[:k]:
                    r = self.measure(mode, loops, conns)
                    r["round"] = rnd
                    self.runs.append(r)
                    self.save(when)
        finally:
            if self.stack:
                self.stack.stop()
        text = (f"\nDatabase hop, {when}\n{bench.machine_line()}\ndataset: {self.counts}\n"
                f"{self.args.rounds} rounds, order rotated; each run {self.args.warmup}s warm-up, "
                f"{self.args.duration}s measured; wrk -t2 -c{CONNS}, HTTPS keep-alive, HTTP/1.1; medians\n\n"
                f"{self.table()}\n\n{self.cg_table()}\ntotal time {time.monotonic() - t0:.0f}s\n")
        print(text, flush=True)
        with open(os.path.join(self.out, "results.txt"), "w") as f:
            f.write(text)
        return 0

    def save(self, when):
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(dict(when=when, machine=bench.machine_line(), args=vars(self.args), callgrind=self.counts_cg,
                           runs=self.runs), f, indent=1)

    def cg_table(self):
        if not self.counts_cg:
            return ""
        lines = ["| mode (1 loop, 4 connections) | requests | probe instructions a request (callgrind) |",
                 "|---|---|---|"]
        for c in self.counts_cg:
            lines.append(f"| {c['mode']} | {c['requests']} | {c['per_request']:,.0f} |")
        return "\n".join(lines) + "\n"

    def table(self):
        lines = ["| loops | mode | conns/loop | req/s median (min–max) | p50 ms | p99 ms (min–max) | errors "
                 "| probe µs/req | MariaDB µs/req | probe cs/req | MariaDB cs/req | probe syscalls/req "
                 "| MariaDB syscalls/req | stmts/req | other CPU % median (min–max) | load avg | vs worker |",
                 "|" + "---|" * 17]
        med = statistics.median
        by = {}
        for r in self.runs:
            by.setdefault((r["loops"], r["mode"], r["conns_per_loop"]), []).append(r)
        order = {m: i for i, m in enumerate(MODES)}
        for (loops, mode, conns), rs in sorted(by.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
            rps = [r["rps"] for r in rs]
            p99 = [r["p99_us"] / 1000 for r in rs]
            base = [r["rps"] for (lo, m, _), v in by.items() if lo == loops and m == "worker" for r in v]
            ratio = f"{med(rps) / med(base):.2f}" if base and mode != "worker" else ""
            other = [r["other_cpu"] for r in rs]

            def opt(key, fmt="{:.1f}"):
                v = [r[key] for r in rs if r.get(key) is not None]
                return fmt.format(med(v)) if v else ""

            def cs(who):
                """perf's count; else /proc's, which misses the threads that ended during the run."""
                return opt(f"{who}_perf_cs", "{:.2f}") or opt(f"{who}_cs", "{:.2f}")
            lines.append(
                f"| {loops} | {mode} | {conns} | {med(rps):,.0f} ({min(rps):,.0f}–{max(rps):,.0f}) | "
                f"{med([r['p50_us'] for r in rs]) / 1000:.2f} | {med(p99):.2f} ({min(p99):.2f}–{max(p99):.2f}) | "
                f"{sum(r['errors'] for r in rs)} | {med([r['gw_us'] for r in rs]):.0f} | "
                f"{med([r['db_us'] for r in rs]):.0f} | {cs('gw')} | {cs('db')} | "
                f"{opt('gw_syscalls')} | {opt('db_syscalls')} | "
                f"{med([r['stmts'] for r in rs]):.2f} | {med(other):.0f} ({min(other):.0f}–{max(other):.0f}) | "
                f"{med([r['loadavg'] for r in rs]):.1f} | {ratio} |")
        return "\n".join(lines)


def ints(s):
    return [int(x) for x in s.split(",") if x]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("DBHOP_ROUNDS", "3")))
    p.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    p.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "3")))
    p.add_argument("--modes", default=os.environ.get("DBHOP_MODES", ",".join(MODES)))
    p.add_argument("--conns", default=os.environ.get("DBHOP_CONNS", "2,4,8"))
    p.add_argument("--worker-conns", default=os.environ.get("DBHOP_WORKER_CONNS", str(GATEWAY_POOL_SIZE)))
    p.add_argument("--loops", default=os.environ.get("DBHOP_LOOPS", "1,2"))
    p.add_argument("--read", choices=("detail", "view"), default=os.environ.get("DBHOP_READ", "detail"),
                   help="the live detail (repair_detail_for_caller), or the gateway's read since the stored views"
                        " (repair_view_read: worker and coro modes only)")
    p.add_argument("--reuse", action="store_true", help="keep the seeded database of the last run")
    p.add_argument("--binary", help="the probe to run (default: <build>/bench/dbhop/dbhop), e.g. an ASan build's")
    p.add_argument("--callgrind", action="store_true", default=os.environ.get("DBHOP_CALLGRIND") == "1",
                   help="first count each mode's instructions a request under callgrind")
    args = p.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    Probe.read = args.read
    if args.read == "view" and "async" in args.modes:
        p.error("--read view runs in the worker and coro modes only")
    if set(args.modes) - set(MODES):
        p.error(f"--modes: one or more of {','.join(MODES)}")
    args.conns, args.worker_conns, args.loops = ints(args.conns), ints(args.worker_conns), ints(args.loops)
    try:
        return Run(args).run()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        log(f"failed: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
