#!/usr/bin/python3
"""upload_memory: the gateway's resident memory while N uploads of one large
photo run at once.

    bench/upload_memory.py GATEWAY_BIN PHOTO [N ...] [--set key=value ...]

For each N, a fresh gateway process (on one private MariaDB and fake WeChat,
loopback only) is started, N users each upload PHOTO at the same moment, and
the script prints one line: N, the statuses, RSS before, and the peak RSS
(VmHWM, which the kernel keeps) after. --set passes configuration keys to
the gateway (e.g. image_decode_budget_bytes=...). Nothing here fails on a
number: the exit code is non-zero only when the harness could not run.
Make a photo with bench/make_jpeg (e.g. 7000 5700 6: a flat 7000x5700 JPEG
with EXIF orientation 6, which the upload path must turn)."""
import argparse
import collections
import os
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from conftest import Api, Stack  # noqa: E402


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_once(stack, photo, n, extra, name):
    gw = stack.start_gateway(dict(extra, upload_max_bytes=10485760), name=name)
    try:
        api = Api(gw.url, stack.ca_cert)
        tokens = [api.login(f"o_mem_{name}_{i}")[0] for i in range(n)]
        pid = gw.proc.pid
        before = status_kb(pid, "VmRSS")
        results = collections.Counter()
        gate = threading.Barrier(n)

        def one(token):
            a = Api(gw.url, stack.ca_cert)
            gate.wait()
            r = a.post("/api/v1/uploads", token=token, files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=120)
            code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
            results[f"{r.status_code}{' ' + code if code else ''}"] += 1

        threads = [threading.Thread(target=one, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = status_kb(pid, "VmHWM")
        alive = gw.proc.poll() is None
        return before, peak, dict(results), alive
    finally:
        gw.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("photo")
    p.add_argument("counts", nargs="*", type=int, default=[4, 16])
    p.add_argument("--set", action="append", default=[], help="key=value for the gateway")
    args = p.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.set)
    with open(args.photo, "rb") as f:
        photo = f.read()
    with tempfile.TemporaryDirectory(prefix="upload-mem-") as d:
        stack = Stack(d)
        stack.binary = os.path.abspath(args.binary)
        try:
            stack.start()
            for i, n in enumerate(args.counts):
                before, peak, results, alive = run_once(stack, photo, n, extra, f"mem{i}")
                print(f"BENCH_UPLOAD_MEMORY n={n} rss_before_mb={before / 1024:.0f} peak_rss_mb={peak / 1024:.0f} "
                      f"alive={alive} statuses={results}", flush=True)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
