"""dbtrace.py: where a scenario's time goes in MariaDB (BENCH_ANALYZE=1).

For each scenario of the database path, with the gateway's read caches off:

  volume   a wrk run at the scenario's concurrency with performance_schema's
           summaries reset before it: statements by kind and the Com_*
           counters a request (round trips: executes, prepares, text
           statements), rows examined and sent, temporary tables, sort
           merges a request; the text-protocol digests;
  sample   a few dozen requests one at a time with the slow log at
           long_query_time = 0 (log_slow_verbosity = query_plan,explain,
           innodb) and performance_schema's statement history on: every
           statement a request makes, in order, with its time, rows, pages,
           temporary table, filesort and the plan MariaDB executed;
  analyze  ANALYZE FORMAT=JSON of one instance of each statement (writes in
           a transaction that is rolled back): per table the access type,
           key, rows read and time; filesort and temporary tables; and the
           time spent optimising the statement against executing it.

MariaDB 10.11's performance_schema gives binary-protocol executions
(COM_STMT_EXECUTE, which is how the gateway runs every statement) neither
a digest nor a text: events_statements_summary_by_digest holds only the
text-protocol statements (BEGIN, COMMIT, SET). The per-statement figures
are therefore grouped from the slow log, and each statement's
performance_schema event (from events_statements_history_long, matched to
the slow-log entry of the same connection in order, by rows sent and
examined) adds its timer, lock time, sort and scan counters.

The server must run with performance_schema=ON (bench.py starts it so with
BENCH_ANALYZE=1). In MariaDB 10.11 a session takes long_query_time,
log_slow_verbosity, log_slow_filter and whether it logs at all (the session
value of log_slow_query, alias slow_query_log) when it connects; the global
slow_query_log then only gates the sessions that took ON. So prepare()
turns the slow log on before the gateway (re)starts, the gateway opens its
connections under a warm-up, and connected() turns it off again until each
sample window.
"""
import difflib
import json
import os
import re
import subprocess
import time

SAMPLE_REQUESTS = 40
SKIP_EVENTS = ("statement/com/Prepare", "statement/com/Close stmt", "statement/com/Quit", "statement/com/Reset stmt",
               "statement/com/Ping", "statement/com/Sleep", "statement/com/Connect")
STMT_COUNTERS = ("COUNT_STAR", "SUM_TIMER_WAIT", "SUM_LOCK_TIME", "SUM_ROWS_SENT", "SUM_ROWS_EXAMINED",
                 "SUM_ROWS_AFFECTED", "SUM_CREATED_TMP_TABLES", "SUM_CREATED_TMP_DISK_TABLES", "SUM_SORT_MERGE_PASSES",
                 "SUM_SORT_ROWS", "SUM_SELECT_SCAN", "SUM_NO_INDEX_USED")
COM_COUNTERS = ("Questions", "Com_stmt_execute", "Com_stmt_prepare", "Com_stmt_close", "Com_stmt_reset",
                "Com_stmt_fetch", "Com_begin", "Com_commit", "Com_rollback", "Com_set_option", "Com_select",
                "Com_insert", "Com_update", "Com_delete", "Handler_read_key", "Handler_read_next",
                "Handler_read_prev", "Handler_read_rnd_next", "Handler_write", "Handler_update",
                "Created_tmp_tables", "Sort_rows", "Select_scan", "Innodb_rows_read")


def normalize(sql):
    """The statement's shape: literals as ?, IN lists as one ?."""
    s = re.sub(r"'(?:[^'\\]|\\.|'')*'", "?", sql)
    s = re.sub(r"(?<![\w.`])-?\d+(?:\.\d+)?(?![\w`])", "?", s)
    s = re.sub(r"\(\s*\?(?:\s*,\s*\?)+\s*\)", "(?+)", s)
    return re.sub(r"\s+", " ", s).strip().rstrip(";")


def label(sql, width=110):
    s = normalize(sql)
    return s if len(s) <= width else s[:width - 1] + "…"


def parse_slow_log(text):
    """Entries of a MariaDB slow log: dict(user, conn, fields, explain, sql)."""
    out = []
    parts = re.split(r"^# User@Host: (\w*)\[.*$", text, flags=re.M)
    for user, block in zip(parts[1::2], parts[2::2]):
        fields, explain, sql = {}, [], []
        for line in block.split("\n"):
            if line.startswith("# explain: "):
                explain.append(line[len("# explain: "):].split("\t"))
            elif line.startswith("# Time:"):
                continue
            elif line.startswith("# "):
                for k, v in re.findall(r"(\w+): (\S+)", line):
                    fields[k] = v
            elif line.startswith("#") or not line.strip():
                continue
            elif re.match(r"^(use `?\w+`?|SET timestamp=\d+);$", line):
                continue
            else:
                sql.append(line)
        if not sql:
            continue
        text_sql = "\n".join(sql).strip()
        if "Thread_id" not in fields:
            continue
        out.append(dict(user=user, conn=int(fields["Thread_id"]), fields=fields, sql=text_sql,
                        explain=[dict(zip(explain[0], row)) for row in explain[1:]] if explain else []))
    return out


def fnum(v, default=0.0):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def walk_plan(node, out, flags):
    """Per-table lines and filesort/temporary marks of an ANALYZE FORMAT=JSON tree."""
    if isinstance(node, dict):
        if "table_name" in node:
            out.append(dict(table=node.get("table_name"), access=node.get("access_type"), key=node.get("key"),
                            rows=node.get("rows"), r_rows=node.get("r_rows"), r_loops=node.get("r_loops"),
                            r_filtered=node.get("r_filtered"), using_index=node.get("using_index", False),
                            ms=(node.get("r_table_time_ms") or 0) + (node.get("r_other_time_ms") or 0),
                            pages=(node.get("r_engine_stats") or {}).get("pages_accessed")))
        for k, v in node.items():
            if k == "filesort":
                flags.append(f"filesort of {v.get('r_output_rows', '?')} rows"
                             f"{' (priority queue)' if v.get('r_used_priority_queue') else ''}")
            elif k in ("temporary_table", "read_sorted_file") and k not in flags:
                flags.append("temporary table" if k == "temporary_table" else "read sorted file")
            elif k == "materialized":
                flags.append("materialized subquery")
            walk_plan(v, out, flags)
    elif isinstance(node, list):
        for v in node:
            walk_plan(v, out, flags)


class DbTrace:
    def __init__(self, stack, out_dir, log):
        self.stack, self.log = stack, log
        self.dir = os.path.join(out_dir, "dbtrace")
        os.makedirs(self.dir, exist_ok=True)
        self.found = {}

    def sql(self, text, database="mysql"):
        return self.stack.sql(text, database=database, capture=True)

    def available(self):
        return self.sql("SELECT @@performance_schema").strip() == "1"

    def prepare(self):
        """Session defaults the gateway's connections take at connect: call
        before the gateway starts, then connected() once it has connected."""
        self.connect_log = os.path.join(self.dir, "slow-connect.log")
        self.sql("SET GLOBAL long_query_time = 0, log_slow_verbosity = 'query_plan,explain,innodb',"
                 " log_slow_filter = '', log_slow_rate_limit = 1, log_slow_min_examined_row_limit = 0;"
                 f"SET GLOBAL slow_query_log_file = '{self.connect_log}'; SET GLOBAL slow_query_log = 1")

    def mark_background(self, idle_s=2.0):
        """Call on a fresh gateway before any request: the connections it
        has then are its background jobs' (each job connects as it starts);
        the request workers connect on first use."""
        time.sleep(idle_s)
        self.background = {int(x) for x in self.sql(
            f"SELECT ID FROM information_schema.processlist WHERE USER = '{self.stack.db.user}'").split()}

    def connected(self):
        """The gateway's connections are open (and log): logging off until
        a sample."""
        self.sql("SET GLOBAL slow_query_log = 0")
        if os.path.exists(self.connect_log):
            os.unlink(self.connect_log)

    def status(self):
        rows = self.sql("SHOW GLOBAL STATUS")
        v = {}
        for line in rows.split("\n"):
            if "\t" in line:
                k, val = line.split("\t", 1)
                if k in COM_COUNTERS:
                    v[k] = fnum(val)
        return v

    def by_event(self):
        cols = ", ".join(STMT_COUNTERS)
        out = {}
        for line in self.sql(f"SELECT EVENT_NAME, {cols} FROM performance_schema.events_statements_summary_global_by_"
                             f"event_name WHERE COUNT_STAR > 0").split("\n"):
            if line.strip():
                f = line.split("\t")
                out[f[0]] = dict(zip(STMT_COUNTERS, (fnum(x) for x in f[1:])))
        return out

    # -- volume --

    def volume(self, key, run_load):
        """run_load() -> requests; performance_schema and Com_* a request."""
        self.sql("TRUNCATE performance_schema.events_statements_summary_global_by_event_name;"
                 "TRUNCATE performance_schema.events_statements_summary_by_digest")
        before = self.status()
        n = run_load()
        after = self.status()
        ev = self.by_event()
        digests = []
        for line in self.sql("SELECT COUNT_STAR, SUM_TIMER_WAIT, SUM_ROWS_EXAMINED, SUM_ROWS_SENT, "
                             "SUM_CREATED_TMP_TABLES, SUM_SORT_MERGE_PASSES, LEFT(DIGEST_TEXT, 200) "
                             "FROM performance_schema.events_statements_summary_by_digest "
                             "WHERE SCHEMA_NAME = 'gateway' ORDER BY SUM_TIMER_WAIT DESC LIMIT 10").split("\n"):
            if line.strip():
                f = line.split("\t")
                digests.append(dict(count=fnum(f[0]), timer_ps=fnum(f[1]), examined=fnum(f[2]), sent=fnum(f[3]),
                                    tmp=fnum(f[4]), merges=fnum(f[5]), text=f[6]))
        com = {k: (after.get(k, 0) - before.get(k, 0)) / max(1, n) for k in COM_COUNTERS}
        com["Questions"] -= 1.0 / max(1, n)  # our own SHOW STATUS
        v = dict(requests=n, com=com, events={k: {c: x / max(1, n) for c, x in e.items()} for k, e in ev.items()},
                 digests=digests)
        self.found.setdefault(key, {})["volume"] = v
        return v

    # -- sample --

    def sample(self, key, do_requests, settle_s=0.3):
        """do_requests() -> requests made (one at a time); every statement
        in the slow log and the statement history meanwhile."""
        path = os.path.join(self.dir, f"slow-{key}.log")
        if os.path.exists(path):
            os.unlink(path)
        # The history needs the "current" consumer above it.
        self.sql("UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' "
                 "WHERE NAME IN ('events_statements_current', 'events_statements_history_long');"
                 "TRUNCATE performance_schema.events_statements_history_long;"
                 f"SET GLOBAL slow_query_log_file = '{path}'; SET GLOBAL slow_query_log = 1")
        try:
            n = do_requests()
            time.sleep(settle_s)
        finally:
            self.sql("SET GLOBAL slow_query_log = 0;"
                     "UPDATE performance_schema.setup_consumers SET ENABLED = 'NO' "
                     "WHERE NAME IN ('events_statements_current', 'events_statements_history_long')")
        with open(path, errors="replace") as f:
            entries = [e for e in parse_slow_log(f.read()) if e["user"] == self.stack.db.user]
        self.match_events(entries)
        groups = {}
        for e in entries:
            g = groups.setdefault(normalize(e["sql"]), dict(n=0, sample=e, f={}, ps={}, ps_n=0, conns=set()))
            g["n"] += 1
            g["conns"].add(e["conn"])
            for k in ("Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Rows_affected", "Pages_accessed",
                      "Tmp_tables", "Tmp_disk_tables", "Merge_passes", "Engine_time"):
                g["f"][k] = g["f"].get(k, 0.0) + fnum(e["fields"].get(k))
            for k in ("Filesort", "Tmp_table", "Full_scan", "Full_join"):
                if e["fields"].get(k) == "Yes":
                    g["f"][k] = g["f"].get(k, 0) + 1
            if e.get("ps"):
                g["ps_n"] += 1
                for k, v in e["ps"].items():
                    g["ps"][k] = g["ps"].get(k, 0.0) + v
        # The request path: statements on the request workers' connections;
        # "background": the jobs' (the notification dispatcher delivering
        # what the requests queued, the sweepers) during the window.
        background = getattr(self, "background", set())
        for g in groups.values():
            g["path"] = "background" if g["conns"] & background else "request"
            g["conns"] = sorted(g["conns"])
        stmts = sorted(groups.values(), key=lambda g: (g["path"] != "request", -g["f"]["Query_time"]))
        self.found.setdefault(key, {})["sample"] = dict(requests=n, statements=stmts, entries=len(entries),
                                                        matched=self.matched, unlogged=self.unlogged)
        return stmts

    def match_events(self, entries):
        """Each slow-log entry's performance_schema event: same connection,
        same order, same rows sent and examined."""
        rows = self.sql("SELECT t.PROCESSLIST_ID, h.EVENT_ID, h.EVENT_NAME, h.ROWS_SENT, h.ROWS_EXAMINED, "
                        "h.TIMER_WAIT, h.LOCK_TIME, h.CREATED_TMP_TABLES, h.CREATED_TMP_DISK_TABLES, "
                        "h.SORT_MERGE_PASSES, h.SORT_ROWS, h.SELECT_SCAN, h.NO_INDEX_USED "
                        "FROM performance_schema.events_statements_history_long h "
                        "JOIN performance_schema.threads t USING (THREAD_ID) "
                        f"WHERE t.PROCESSLIST_USER = '{self.stack.db.user}' ORDER BY t.PROCESSLIST_ID, h.EVENT_ID")
        events = {}
        for line in rows.split("\n"):
            f = line.split("\t")
            if len(f) < 13 or f[2] in SKIP_EVENTS:
                continue
            events.setdefault(int(f[0]), []).append(dict(
                key=(int(fnum(f[3])), int(fnum(f[4]))),
                ps=dict(timer_us=fnum(f[5]) / 1e6, lock_us=fnum(f[6]) / 1e6, tmp=fnum(f[7]), tmp_disk=fnum(f[8]),
                        merges=fnum(f[9]), sort_rows=fnum(f[10]), scans=fnum(f[11]), no_index=fnum(f[12]))))
        by_conn = {}
        for e in entries:
            by_conn.setdefault(e["conn"], []).append(e)
        self.matched = self.unmatched = 0
        # Statements of connections that wrote nothing to the slow log (a
        # session that kept an older long_query_time): counted, not hidden.
        self.unlogged = sum(len(ev) for conn, ev in events.items() if conn not in by_conn)
        for conn, es in by_conn.items():
            ev = events.get(conn, [])
            a = [(int(fnum(e["fields"].get("Rows_sent"))), int(fnum(e["fields"].get("Rows_examined")))) for e in es]
            b = [x["key"] for x in ev]
            sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
            for blk in sm.get_matching_blocks():
                for i in range(blk.size):
                    es[blk.a + i]["ps"] = ev[blk.b + i]["ps"]
                    self.matched += 1
            self.unmatched += sum(1 for e in es if "ps" not in e)

    # -- analyze --

    def analyze(self, key, stmts):
        """ANALYZE FORMAT=JSON of one instance of each statement."""
        for i, g in enumerate(stmts):
            sql = g["sample"]["sql"].rstrip().rstrip(";")
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if head not in ("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"):
                continue
            write = head != "SELECT" and head != "WITH" or " FOR UPDATE" in sql.upper()
            text = ("SET SESSION tx_isolation = 'READ-COMMITTED', time_zone = '+00:00';" +
                    ("START TRANSACTION;" if write else "") + f"ANALYZE FORMAT=JSON {sql};" +
                    ("ROLLBACK;" if write else ""))
            r = subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={self.stack.db.socket}", "-N", "-B",
                                "-r", "gateway"], input=text, capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or not r.stdout.strip():
                g["analyze_error"] = (r.stderr.strip() or "no output").splitlines()[-1][:200]
                continue
            try:
                plan = json.loads(r.stdout)
            except ValueError:
                g["analyze_error"] = "unreadable output"
                continue
            with open(os.path.join(self.dir, f"analyze-{key}-{i + 1:02d}.json"), "w") as f:
                f.write(f"-- {sql}\n")
                json.dump(plan, f, indent=1)
            tables, flags = [], []
            walk_plan(plan.get("query_block", plan), tables, flags)
            g["analyze"] = dict(tables=tables, flags=flags,
                                optimize_ms=(plan.get("query_optimization") or {}).get("r_total_time_ms"),
                                execute_ms=(plan.get("query_block") or {}).get("r_total_time_ms"),
                                file=f"analyze-{key}-{i + 1:02d}.json")

    def calibration(self, run_sysbench=None):
        """The yardstick: sysbench's point select, analysed the same way
        (and, with run_sysbench, timed in the slow log over a short run of
        one sysbench thread)."""
        logged = ""
        if run_sysbench:
            path = os.path.join(self.dir, "slow-sysbench.log")
            self.sql(f"SET GLOBAL slow_query_log_file = '{path}'; SET GLOBAL slow_query_log = 1")
            try:
                run_sysbench()
            finally:
                self.sql("SET GLOBAL slow_query_log = 0")
            with open(path, errors="replace") as f:
                qs = [fnum(e["fields"].get("Query_time")) for e in parse_slow_log(f.read())
                      if e["sql"].startswith("SELECT c FROM sbtest1 WHERE id")]
            if qs:
                qs.sort()
                logged = (f" In the slow log, over {len(qs)} of them made one at a time by one sysbench thread: "
                          f"{sum(qs) / len(qs) * 1e6:.0f} µs on average, median {qs[len(qs) // 2] * 1e6:.0f} µs "
                          f"(the figure to hold the statements below against).")
        sql = "SELECT c FROM sbtest1 WHERE id = 4242"
        times = []
        for _ in range(5):
            r = subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={self.stack.db.socket}", "-N", "-B",
                                "-r", "sbtest"], input=f"ANALYZE FORMAT=JSON {sql}", capture_output=True, text=True,
                               timeout=60)
            try:
                plan = json.loads(r.stdout)
            except ValueError:
                return "### Yardstick\n\nsysbench's table is not there: no ANALYZE of its point select.\n"
            times.append(((plan.get("query_optimization") or {}).get("r_total_time_ms") or 0,
                          (plan.get("query_block") or {}).get("r_total_time_ms") or 0))
        opt = sorted(t[0] for t in times)[2]
        exe = sorted(t[1] for t in times)[2]
        return ("### Yardstick\n\n"
                f"sysbench's point select (`{sql}`), ANALYZE FORMAT=JSON, median of 5: optimise {opt:.3f} ms, "
                f"execute {exe:.3f} ms. MariaDB reads a table it finds by a constant primary or unique key (`const`) "
                f"while it optimises, so for such tables the row read is in the first figure.{logged}\n")

    # -- report --

    def report(self, key, title):
        found = self.found.get(key, {})
        v, smp = found.get("volume"), found.get("sample")
        out = [f"### {title}", ""]
        if v:
            c = v["com"]
            ex = v["events"].get("statement/com/Execute", {})
            text_stmts = sum(e.get("COUNT_STAR", 0) for k, e in v["events"].items() if k.startswith("statement/sql/"))
            all_ev = [e for k, e in v["events"].items() if k not in SKIP_EVENTS]
            tot = lambda col: sum(e.get(col, 0) for e in all_ev)  # noqa: E731
            out.append(f"Volume run ({v['requests']} requests, performance_schema and status counters a request): "
                       f"Questions {c['Questions']:.2f}; round trips {c['Com_stmt_execute'] + text_stmts + c['Com_stmt_prepare']:.2f} "
                       f"(executes {c['Com_stmt_execute']:.2f}, text statements {text_stmts:.2f} "
                       f"[BEGIN {c['Com_begin']:.2f}, COMMIT {c['Com_commit']:.2f}, ROLLBACK {c['Com_rollback']:.2f}], "
                       f"prepares {c['Com_stmt_prepare']:.3f}); rows examined {tot('SUM_ROWS_EXAMINED'):.1f}, "
                       f"sent {tot('SUM_ROWS_SENT'):.1f}; temporary tables {tot('SUM_CREATED_TMP_TABLES'):.2f} "
                       f"(on disk {tot('SUM_CREATED_TMP_DISK_TABLES'):.2f}); sort rows {tot('SUM_SORT_ROWS'):.1f}, "
                       f"sort merge passes {tot('SUM_SORT_MERGE_PASSES'):.2f}; full scans {tot('SUM_SELECT_SCAN'):.2f}; "
                       f"wall time of the statements in the server under this load {tot('SUM_TIMER_WAIT') / 1e6:.0f} µs (executes "
                       f"{ex.get('SUM_TIMER_WAIT', 0) / 1e6:.0f} µs); InnoDB rows read {c['Innodb_rows_read']:.1f}, "
                       f"handler reads: key {c['Handler_read_key']:.1f}, next {c['Handler_read_next']:.1f}, "
                       f"prev {c['Handler_read_prev']:.1f}, rnd_next {c['Handler_read_rnd_next']:.1f}.")
            if v["digests"]:
                out.append("Text-protocol digests (events_statements_summary_by_digest), a request: " + "; ".join(
                    f"`{d['text'][:60]}` {d['count'] / v['requests']:.2f}× {d['timer_ps'] / max(1, d['count']) / 1e6:.0f} µs"
                    for d in v["digests"][:4]))
            out.append("")
        if smp:
            n = smp["requests"]
            out.append(f"Statements of {n} requests made one at a time (slow log at long_query_time = 0; "
                       f"{smp['matched']} of {smp['entries']} entries matched to their performance_schema event"
                       f"{'; ' + str(smp['unlogged']) + ' statements of the gateway missing from the slow log' if smp['unlogged'] else ''}"
                       f"), by total time:")
            out.append("")
            out.append("| # | path | statement | a request | avg µs | P_S µs | rows exam./sent | pages | tmp | filesort "
                       "| optimise / execute ms (ANALYZE) | plan (ANALYZE: table access key r_rows) |")
            out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for i, g in enumerate(smp["statements"], 1):
                f, cnt = g["f"], g["n"]
                ps = f"{g['ps']['timer_us'] / g['ps_n']:.0f}" if g["ps_n"] else ""
                a = g.get("analyze")
                if a:
                    plan = "; ".join(f"{t['table']} {t['access']} {t['key'] or '-'} {fmt_rows(t)}" for t in a["tables"])
                    if a["flags"]:
                        plan += " — " + ", ".join(a["flags"])
                    times = f"{a['optimize_ms'] or 0:.3f} / {a['execute_ms'] or 0:.3f}"
                else:
                    plan = explain_line(g["sample"]["explain"]) or g.get("analyze_error", "")
                    times = ""
                out.append(f"| {i} | {g['path']} | `{label(g['sample']['sql'])}` | {cnt / n:.2f} | "
                           f"{f['Query_time'] / cnt * 1e6:.0f} | {ps} | "
                           f"{f['Rows_examined'] / cnt:.1f} / {f['Rows_sent'] / cnt:.1f} | "
                           f"{f['Pages_accessed'] / cnt:.0f} | {f.get('Tmp_tables', 0) / cnt:.1f} | "
                           f"{f.get('Filesort', 0) / cnt:.1f} | {times} | {plan} |")
            for path, what in (("request", "On the request path"),
                               ("background", "In the background jobs meanwhile (per request made)")):
                gs = [g for g in smp["statements"] if g["path"] == path]
                if gs:
                    out.append(f"{what}: {sum(g['n'] for g in gs) / n:.2f} statements, "
                               f"{sum(g['f']['Query_time'] for g in gs) / n * 1e6:.0f} µs of statement time in the "
                               f"server, {sum(g['f']['Rows_examined'] for g in gs) / n:.1f} rows examined for "
                               f"{sum(g['f']['Rows_sent'] for g in gs) / n:.1f} sent.")
            out.append("")
        return "\n".join(out)


def fmt_rows(t):
    r = t.get("r_rows")
    loops = t.get("r_loops")
    if r is None:
        return "const"
    if loops and loops != 1:
        return f"{r:g}×{loops}"
    return f"{r:g}"


def explain_line(rows):
    return "; ".join(f"{r.get('table')} {r.get('type')} {r.get('key')} {r.get('r_rows')}"
                     f"{' ' + r.get('Extra') if r.get('Extra') else ''}" for r in rows)
