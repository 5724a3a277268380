#!/usr/bin/python3
"""idle_memory: the gateway's resident memory with N idle keep-alive TLS
connections open, per variant, each on a fresh gateway process.

    bench/idle_memory.py GATEWAY_BIN IDLE_CONNS_BIN [--conns 10000] [--repeat 1]
        [--variant NAME:key=value,KEY=value ...] [--wrap 'heaptrack -o DIR/%s']

One private MariaDB and fake WeChat (loopback only) serve every gateway. A
variant names gateway settings (lower-case keys, as in gateway.conf) and
environment variables (upper-case, e.g. LD_PRELOAD or GLIBC_TUNABLES); the
variant "base" has none. For each run the script starts a fresh gateway,
makes a few requests so its loops and DB connections are up, reads its RSS,
opens the connections with bench/idle_conns (one GET /healthz each, then
idle), reads the RSS again and prints one line:

    BENCH_IDLE variant=base conns=10000 failed=0 rss_base_mb=.. rss_held_mb=.. kb_per_conn=..
        anon_base_mb=.. anon_held_mb=.. rss_closed_mb=..

anon_*_mb is the resident anonymous memory (smaps_rollup: the heap, stacks,
the part the connections take; the rest of the RSS is mapped files, mostly
shared libraries). rss_closed_mb is read 3 s after the connections closed,
once the gateway's memory trim has run. --wrap runs the gateway under a command (%s is
the variant's name), e.g. heaptrack, for a breakdown by call site. Nothing
here fails on a number; the exit code is non-zero only when the harness
could not run.
"""
import argparse
import os
import re
import resource
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from conftest import Stack  # noqa: E402


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def anon_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    return 0


def gateway_pid(proc, binary):
    """The gateway's own pid: proc itself, or the process under a --wrap
    command (heaptrack runs its own reader beside it) that runs binary."""
    todo, seen = [proc.pid], []
    while todo:
        pid = todo.pop(0)
        seen.append(pid)
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(binary):
                return pid
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo += [int(k) for k in f.read().split()]
        except OSError:
            pass
    raise RuntimeError(f"no process runs {binary} under {seen}")


def parse_variant(text):
    name, _, rest = text.partition(":")
    settings, env = {}, {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        (env if k.isupper() else settings)[k] = v
    return name, settings, env


def run_once(stack, holder, conns, name, settings, env, wrap, tag):
    binary = stack.binary
    if wrap:
        script = os.path.join(stack.dir, f"wrap-{tag}.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nexec {wrap % name} {binary} \"$@\"\n")
        os.chmod(script, os.stat(script).st_mode | stat.S_IXUSR)
        stack.binary = script
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        gw = stack.start_gateway(dict(settings, idle_timeout_ms=300000), name=tag)
    finally:
        stack.binary = binary
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        pid = gateway_pid(gw.proc, binary)
        ctx = ssl.create_default_context(cafile=stack.ca_cert)
        for _ in range(50):
            with urllib.request.urlopen(gw.url + "/readyz", context=ctx, timeout=10) as r:
                r.read()
        time.sleep(1.5)
        base, base_anon = status_kb(pid, "VmRSS"), anon_kb(pid)
        proc = subprocess.Popen([holder, "127.0.0.1", str(gw.https_port), str(conns), stack.ca_cert],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            m = re.match(r"ready open=(\d+) failed=(\d+)", line)
            if not m:
                raise RuntimeError(f"idle_conns: {line!r}")
            time.sleep(0.5)
            held, held_anon = status_kb(pid, "VmRSS"), anon_kb(pid)
            opened = int(m.group(1))
            proc.send_signal(signal.SIGTERM)
            proc.stdout.readline()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        time.sleep(3)  # the memory trim runs once the loops have been quiet 1.5 s
        closed = status_kb(pid, "VmRSS")
        print(f"BENCH_IDLE variant={name} conns={opened} failed={m.group(2)} rss_base_mb={base / 1024:.1f} "
              f"rss_held_mb={held / 1024:.1f} kb_per_conn={(held - base) / max(1, opened):.2f} "
              f"anon_base_mb={base_anon / 1024:.1f} anon_held_mb={held_anon / 1024:.1f} "
              f"rss_closed_mb={closed / 1024:.1f}", flush=True)
    finally:
        gw.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("holder")
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--variant", action="append", default=[])
    p.add_argument("--wrap", default="")
    args = p.parse_args()
    variants = [parse_variant(v) for v in (args.variant or ["base"])]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory(prefix="idle-mem-") as d:
        stack = Stack(d)
        stack.binary = os.path.abspath(args.binary)
        try:
            stack.start()
            n = 0
            for _ in range(args.repeat):
                for name, settings, env in variants:
                    n += 1
                    run_once(stack, os.path.abspath(args.holder), args.conns, name, settings, env, args.wrap,
                             f"run{n}")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
