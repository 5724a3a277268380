"""gwtrace.py: where a scenario's time goes in the gateway (BENCH_PROFILE=1).

  perf      `perf record -e cpu-clock` sampling (works without hardware
            counters) on the gateway during a wrk run: the share of each
            library (MariaDB client, TLS, JSON, our code, h2o, libc, kernel)
            and the top symbols;
  strace    `strace -f -c` during a short run: system calls a request
            (sendto/recvfrom/poll are the gateway's side of its database
            round trips);
  callgrind when `perf stat -e instructions` is not supported (no hardware
            counters, as in this VM's guest), the gateway runs under
            `valgrind --tool=callgrind` for a counted number of requests:
            instructions a request in total, by library, the top functions by
            their own instructions and selected functions with what they call.
"""
import os
import re
import shutil
import signal
import subprocess
import time

# Library -> the part of the work it stands for.
GROUPS = (("libmariadb", "MariaDB client"), ("libssl", "TLS"), ("libcrypto", "crypto (TLS, HMAC)"),
          ("libcjson", "JSON (cJSON)"), ("libh2o", "HTTP (h2o)"), ("libc.so", "libc (malloc, stdio, string)"),
          ("libc-", "libc (malloc, stdio, string)"), ("kernel", "kernel"), ("vmlinux", "kernel"),
          ("ld-linux", "dynamic loader"), ("libz", "zlib"), ("libcurl", "curl"))

# Functions whose inclusive cost (with what they call) is shown a request.
INCLUSIVE = ("db_query", "db_exec", "mysql_stmt_execute", "mysql_stmt_store_result", "mysql_stmt_fetch",
             "mysql_stmt_prepare", "SSL_read", "SSL_write", "SSL_do_handshake", "HMAC", "EVP_Q_mac",
             "cJSON_PrintUnformatted", "cJSON_Print", "cJSON_Parse", "cJSON_ParseWithLength", "cJSON_Delete",
             "malloc", "free", "snprintf", "vsnprintf", "log_write", "response_send", "h2o_process_request",
             "session_token_verify", "users_auth_step", "media_url_sign", "repair_detail_for_caller",
             "repair_summary_json", "repair_list_respond", "db_rows_json", "db_row_json")


def group_of(obj):
    base = os.path.basename(obj)
    for needle, name in GROUPS:
        if needle in base:
            return name
    if base == "gateway" or obj.endswith("/bin/gateway"):
        return "our code (gateway)"
    return base or "?"


def hw_instructions():
    """True when perf can count instructions here (hardware counters)."""
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"], capture_output=True, text=True)
    return r.returncode == 0 and "not supported" not in r.stderr and "<not" not in r.stderr


# ---- perf --------------------------------------------------------------------

def perf_profile(pid, seconds, run_load, data):
    """cpu-clock samples of `pid` while run_load() runs (it should last
    about `seconds`); shares by library and top symbols."""
    rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid), "-o", data,
                            "--", "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    requests = run_load()
    rec.wait()

    def report(sort, limit):
        return subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", sort, "-g", "none",
                               "--percent-limit", limit], capture_output=True, text=True).stdout

    by_dso, groups = [], {}
    text_dso = report("dso", "0")
    for m in re.finditer(r"^\s+([\d.]+)%\s+(\S.*?)\s*$", text_dso, re.M):
        pct, dso = float(m.group(1)), m.group(2)
        by_dso.append((pct, dso))
        g = group_of(dso)
        groups[g] = groups.get(g, 0.0) + pct
    text_sym = report("dso,sym", "0.5")
    syms = []
    for m in re.finditer(r"^\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*?)\s*$", text_sym, re.M):
        syms.append((float(m.group(1)), m.group(2), m.group(3)))
    return dict(requests=requests, groups=groups, by_dso=by_dso, syms=syms[:20], raw=text_dso + "\n" + text_sym)


# ---- strace ------------------------------------------------------------------

def strace_count(pid, run_load, path):
    """System calls a request while run_load() runs (it returns requests)."""
    st = subprocess.Popen(["strace", "-f", "-c", "-o", path, "-p", str(pid)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1)
    n = run_load()
    time.sleep(0.5)
    st.send_signal(signal.SIGINT)
    st.wait(60)
    calls = {}
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", text, re.M):
        calls[m.group(2)] = int(m.group(1))
    total = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)", text, re.M)
    return dict(requests=n, total=int(total.group(1)) if total else sum(calls.values()), calls=calls, raw=text)


# ---- callgrind ---------------------------------------------------------------

def callgrind_wrapper(out_file):
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}"]


def callgrind_control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)


def callgrind_measure(pid, warm, run_load, out_file):
    """Instruments the running gateway, warms it, zeroes the counters, runs
    the load and dumps: instructions of exactly that load."""
    callgrind_control(pid, "-i", "on")
    warm()
    callgrind_control(pid, "-z")
    n = run_load()
    callgrind_control(pid, "-d")
    dumps = sorted((f for f in os.listdir(os.path.dirname(out_file)) if f.startswith(os.path.basename(out_file) + ".")),
                   key=lambda f: os.path.getmtime(os.path.join(os.path.dirname(out_file), f)))
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    return n, os.path.join(os.path.dirname(out_file), dumps[-1])


def callgrind_summary(dump, requests):
    """Instructions a request: total, by library, top functions (self) and
    selected functions (inclusive)."""
    def annotate(inclusive):
        return subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100",
                               "--auto=no", dump], capture_output=True, text=True, timeout=300).stdout

    line_re = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[(.*)\])?\s*$")
    total, by_obj, top = 0, {}, []
    for line in annotate(False).split("\n"):
        m = line_re.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if m.group(2) == "PROGRAM TOTALS":
            total = ir
            continue
        # glibc's own sources ("./malloc/...") sometimes come without their object.
        obj = m.group(3) or ("libc.so.6" if m.group(2).startswith("./") else "?")
        by_obj[obj] = by_obj.get(obj, 0) + ir
        fn = m.group(2).split(":", 1)[-1]
        top.append((ir, fn, os.path.basename(obj)))
    groups = {}
    for obj, ir in by_obj.items():
        g = group_of(obj)
        groups[g] = groups.get(g, 0) + ir
    incl = {}
    for line in annotate(True).split("\n"):
        m = line_re.match(line)
        if not m or not m.group(3):
            continue
        fn = m.group(2).split(":", 1)[-1]
        fn = re.sub(r"'\d+$", "", fn)  # recursion levels
        if fn in INCLUSIVE:
            incl[fn] = max(incl.get(fn, 0), int(m.group(1).replace(",", "")))
    n = max(1, requests)
    return dict(requests=requests, per_request=total / n, groups={g: v / n for g, v in groups.items()},
                top=[(ir / n, fn, obj) for ir, fn, obj in sorted(top, reverse=True)[:20]],
                inclusive={fn: v / n for fn, v in incl.items()}, dump=dump)


# ---- report ------------------------------------------------------------------

def report(key, title, found):
    out = [f"### {title}", ""]
    p = found.get("perf")
    if p:
        groups = ", ".join(f"{g} {v:.1f}%" for g, v in sorted(p["groups"].items(), key=lambda x: -x[1]) if v >= 0.5)
        out.append(f"perf (cpu-clock samples of the gateway, {p['requests']} requests): {groups}.")
        out.append("Top symbols (self): " + "; ".join(f"{pct:.1f}% {sym} ({dso})" for pct, dso, sym in p["syms"][:12])
                   + ".")
        out.append("")
    s = found.get("strace")
    if s and s["requests"]:
        n = s["requests"]
        calls = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(s["calls"].items(), key=lambda x: -x[1])[:9])
        out.append(f"System calls a request (strace -c, {n} requests at 8 connections): {s['total'] / n:.1f} "
                   f"({calls}).")
        out.append("")
    c = found.get("callgrind")
    if c:
        groups = ", ".join(f"{g} {v / 1000:.0f}k ({v / c['per_request']:.0%})"
                           for g, v in sorted(c["groups"].items(), key=lambda x: -x[1]) if v / c["per_request"] >= 0.005)
        out.append(f"callgrind: {c['per_request'] / 1000:.0f}k instructions a request ({c['requests']} requests, "
                   f"background jobs included): {groups}.")
        out.append("Top functions (own instructions a request): " +
                   "; ".join(f"{ir / 1000:.1f}k {fn} ({obj})" for ir, fn, obj in c["top"][:12]) + ".")
        out.append("With what they call, a request: " +
                   "; ".join(f"{fn} {v / 1000:.0f}k ({v / c['per_request']:.0%})"
                             for fn, v in sorted(c["inclusive"].items(), key=lambda x: -x[1])) + ".")
        out.append("")
    if c is None and found.get("callgrind_error"):
        out.append(f"callgrind: {found['callgrind_error']}")
        out.append("")
    return "\n".join(out)
