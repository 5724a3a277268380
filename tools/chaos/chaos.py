#!/usr/bin/python3
"""chaos: do acknowledged writes survive MariaDB and the gateway being killed?

    make chaos
    /usr/bin/python3 tools/chaos/chaos.py --bin build/bin/gateway [--threads 8]
        [--max-requests 30000] [--rounds 3] [--phase-seconds 8] [--keep DIR]

Starts a private stack in a temporary folder (tools/devstack/devstack.py:
MariaDB, the fake WeChat, the gateway, all on loopback), creates a project
with owners, buyers, an engineer and an agent, then files leads (POST
/api/v1/leads, each with its own phone) and repair tickets (POST
/api/v1/repairs with an Idempotency-Key) from several client threads.
Meanwhile it SIGKILLs MariaDB and restarts it, then the gateway, then both at
once (--rounds times), letting the load run --phase-seconds after each
restart. A client retries a request that failed (transport error, 5xx) with
the same Idempotency-Key (repairs) or the same body from the same buyer
(leads: the phone's open lead takes the submission) a bounded number of
times. Every request, its key, and every 2xx response are recorded; a lead
is tracked by the ids of its acknowledged submissions (the intake answers
with a receipt, data.submission, not with the lead).

Afterwards, from the database:
  - lost: a ticket that got a 2xx and is missing, differs from what was
    acknowledged (owner, unit, category, description, contact phone,
    preferred time) or lacks its repair.assigned/repair.dispatched events; an
    acknowledged lead submission whose lead_submissions row is missing, whose
    lead is missing or differs from what was sent (project, name, phone,
    interest, note, channel), lacks its lead.assigned event, or has no
    'created' submission;
  - duplicated: a ticket stored more than once (two with its unique
    description) or a retry or the final replay that answered another id or
    other data; two leads with one phone in the project, or acknowledged
    submissions of one request that point to different leads. More
    submission rows than acknowledgements (a retry of an attempt that
    committed, the replay) are the documented behaviour: counted, not
    duplicates;
  - notification events: after waiting (bounded) for the dispatcher, each is
    final (sent, no_quota, failed, dead) or legitimately pending: 'retrying'
    with next_attempt_at in the future, or 'sending' under a lease that has not
    expired. Anything else ('pending' or 'retrying' overdue, 'sending' with an
    expired lease) is stuck;
  - unexpected: an answer other than 2xx or a retryable 5xx, a lead receipt
    that is not what was sent, a submission that did not update its own
    lead, or a lead whose submission counter is not its number of
    lead_submissions rows.
Prints the counts; exits 1 if anything was lost, duplicated, stuck, or
unexpected, or if MariaDB or the gateway exited without being killed (the
end of its log is printed); 2 if the stack could not be run.

The per-buyer daily lead cap (lead_daily_max_per_submitter) is lifted: it
is a business rule with its own end-to-end tests, and a run files thousands
of leads from a few buyers (retries and the replay add submissions too).
The rate limits are off for the same reason: every client is one address.

Bounded: at most --max-requests requests, --attempts attempts each, and
--rounds x 3 phases of --phase-seconds once the service is back. MariaDB runs with
innodb_flush_log_at_trx_commit=2 (devstack.py): SIGKILL of mariadbd loses no
committed transaction (the log is in the OS's page cache); only a crash of the
OS could, and this does not do that.
"""
import argparse
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter

import pymysql
import requests
import urllib3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "devstack"))
import devstack  # noqa: E402

CONFIG = {
    "threads": 2,
    "log_level": "info",
    "db_connect_timeout_ms": 1000,
    "db_query_timeout_ms": 3000,
    "db_queue_timeout_ms": 2000,
    "wechat_timeout_ms": 1500,
    "wechat_connect_timeout_ms": 1000,
    "wechat_max_retries": 1,
    "shutdown_timeout_ms": 5000,
    "notification_dispatch_interval_ms": 100,
    "notification_retry_base_ms": 100,
    "notification_retry_max_ms": 1000,
    "notification_max_attempts": 6,
    "notification_lease_ms": 3000,
    # A business cap, not the subject of this run (see the top of the file).
    "lead_daily_max_per_submitter": 1000000,
    # Every client comes from one address and a few users, far faster than a
    # person: no rate limits (tests/e2e/test_limits.py tests them).
    **{f"rate_{cls}_{key}": "off" for cls in ("login", "leads", "uploads", "referral", "default")
       for key in ("ip", "user")},
}
FINAL = {"sent", "no_quota", "failed", "dead"}
RETRYABLE = {500, 502, 503, 504}


def log(msg):
    print(f"chaos: {time.strftime('%H:%M:%S')} {msg}", flush=True)


class Stack:
    def __init__(self, dir, binary):
        self.dir = dir
        self.db = devstack.MariaDB(os.path.join(dir, "db"))
        self.fake = devstack.FakeWechat(dir, quiet=True)
        self.binary = os.path.abspath(binary)
        self.gateway = None

    def start(self):
        self.db.start()
        self.fake.start()
        port = devstack.free_port()
        config = devstack.write_config(self.dir, self.db, self.fake.url, self.fake.appid, self.fake.secret, port,
                                       CONFIG)
        self.gateway = devstack.Gateway(self.binary, config, self.dir, port)
        self.gateway.migrate()
        self.gateway.start()
        self.url = self.gateway.url
        self.ca = os.path.join(self.dir, "tls.crt")

    def connect(self):
        with open(self.db.password_file) as f:
            password = f.read().strip()
        return pymysql.connect(unix_socket=self.db.socket, user=self.db.user, password=password,
                               database=self.db.database, autocommit=True, charset="utf8mb4",
                               cursorclass=pymysql.cursors.DictCursor)

    def died(self):
        """Why MariaDB or the gateway is gone when it should run, or None."""
        for name, proc, log_file in (("mariadbd", self.db.proc, self.db.log),
                                     ("the gateway", self.gateway.proc, self.gateway.log)):
            if proc is not None and proc.poll() is not None:
                with open(log_file, errors="replace") as f:
                    tail = "".join(f.readlines()[-60:])
                return f"{name} exited by itself (status {proc.returncode}); the end of {log_file}:\n{tail}"
        return None

    def kill_db(self):
        self.db.proc.kill()  # SIGKILL
        self.db.proc.wait()
        self.db.proc = None

    def kill_gateway(self):
        self.gateway.proc.kill()  # SIGKILL
        self.gateway.proc.wait()
        self.gateway.proc = None

    def stop(self):
        for step in (lambda: self.gateway and self.gateway.proc and self.gateway.stop(), self.fake.stop,
                     self.db.stop):
            try:
                step()
            except Exception as e:  # stop the rest anyway
                log(f"stop: {e}")


# ---- the data the load writes to -------------------------------------------------

class World:
    def __init__(self, stack, owners):
        self.stack = stack
        self.db = stack.connect()
        self.session = requests.Session()
        self.project_name = "混沌测试项目"
        self.project = self.exec("INSERT INTO projects (code, name, open_for_leads) VALUES (%s, %s, 1)",
                                 (f"CHAOS{secrets.token_hex(4)}", self.project_name))
        building = self.exec("INSERT INTO buildings (project_id, name) VALUES (%s, '1栋')", (self.project,))
        self.category = f"chaos_{secrets.token_hex(4)}"
        self.category_id = self.exec("INSERT INTO repair_categories (code, name, sort_order) VALUES (%s, '混沌', 100)",
                                     (self.category,))
        self.engineer = self.user("engineer")
        self.agent = self.user("agent")
        group = self.exec("INSERT INTO repair_engineer_groups (project_id, name) VALUES (%s, '维修组')", (self.project,))
        self.exec("INSERT INTO repair_engineer_group_members (group_id, user_id) VALUES (%s, %s)",
                  (group, self.engineer[0]))
        self.exec("INSERT INTO repair_dispatch_rules (project_id, building_id, category_id, group_id)"
                  " VALUES (%s, 0, 0, %s)", (self.project, group))
        self.buyers = [self.user(None) for _ in range(8)]  # (user id, token)
        self.owners = []  # (user id, token, unit id)
        for i in range(owners):
            unit = self.exec("INSERT INTO units (building_id, name) VALUES (%s, %s)", (building, f"{i + 1:02d}01"))
            phone = f"1390000{i:04d}"
            self.exec("INSERT INTO owners (unit_id, name, phone) VALUES (%s, '业主', %s)", (unit, phone))
            uid, token = self.user(None, phone)
            self.owners.append((uid, token, unit))
        # Grants, so that most events are really sent through the fake WeChat.
        for uid in [self.engineer[0], self.agent[0]] + [o[0] for o in self.owners]:
            for tpl in ("TPL_REPAIR_STATUS", "TPL_LEAD_ASSIGNED"):
                self.exec("INSERT INTO notification_grants (user_id, template_id, one_time_count) VALUES (%s, %s, 100000)",
                          (uid, tpl))

    def exec(self, sql, args=None):
        with self.db.cursor() as c:
            c.execute(sql, args)
            return c.lastrowid

    def query(self, sql, args=None):
        with self.db.cursor() as c:
            c.execute(sql, args)
            return list(c.fetchall())

    def user(self, role, phone=None):
        openid = f"o_chaos_{secrets.token_hex(6)}"
        r = self.session.post(self.stack.url + "/api/v1/auth/login", json={"code": f"C_{openid}"},
                              verify=self.stack.ca, timeout=30)
        r.raise_for_status()
        d = r.json()["data"]
        uid = d["user"]["id"]
        if role:
            self.exec("INSERT INTO staff_roles (user_id, role, project_id) VALUES (%s, %s, %s)",
                      (uid, role, self.project))
        if phone:
            self.exec("UPDATE users SET phone = %s WHERE id = %s", (phone, uid))
            self.exec("UPDATE owners SET user_id = %s WHERE phone = %s", (uid, phone))
        return uid, d["token"]


# ---- the load ---------------------------------------------------------------------

class Request:
    """One logical write and everything that happened to it."""

    def __init__(self, kind, token, body, key=None, owner=None):
        """owner: (user id, unit id) of a ticket's owner, (user id, None) of
        a lead's buyer."""
        self.kind, self.token, self.body, self.key, self.owner = kind, token, body, key, owner
        self.attempts = []   # status code, or the exception's class name
        self.acks = []       # (status, data) of every 2xx, the final replay's included
        self.unexpected = None

    @property
    def acked(self):
        return bool(self.acks)

    def ids(self):
        """The acknowledged ids: the ticket's (one, however often it was
        answered), or the lead submissions' (one per acknowledgement)."""
        return {self.id_of(d) for _, d in self.acks}

    def id_of(self, data):
        return data["submission"]["id"] if self.kind == "lead" else data["id"]


class Died(Exception):
    """MariaDB or the gateway exited without being killed."""


class Load:
    def __init__(self, world, threads, max_requests, attempts):
        self.world, self.threads, self.max_requests, self.max_attempts = world, threads, max_requests, attempts
        self.requests = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.died = threading.Event()  # stops every client at once
        self.counter = 0

    def acked_count(self):
        with self.lock:
            return sum(1 for r in self.requests if r.acked)

    def next_request(self):
        with self.lock:
            if self.counter >= self.max_requests:
                return None
            self.counter += 1
            n = self.counter
        marker = f"chaos-{n}-{secrets.token_hex(4)}"
        if n % 2:
            uid, token, unit = random.choice(self.world.owners)
            body = {"unit_id": unit, "category": self.world.category, "description": f"卫生间漏水 {marker}",
                    "contact_phone": f"139{n:08d}"[-11:], "preferred_time": "周六上午"}
            req = Request("repair", token, body, key=marker, owner=(uid, unit))
        else:
            body = {"project_id": self.world.project, "name": f"王{n}", "phone": f"13{n:09d}"[-11:],
                    "consent": True, "interest": {"layout": "三室两厅", "area": "90-110", "budget": "300万"},
                    "note": marker, "channel": "poster"}
            uid, token = random.choice(self.world.buyers)
            req = Request("lead", token, body, owner=(uid, None))
        with self.lock:
            self.requests.append(req)
        return req

    def send(self, session, req):
        """One attempt. Returns the status, or None on a transport error."""
        headers = {"Authorization": f"Bearer {req.token}"}
        if req.key:
            headers["Idempotency-Key"] = req.key
        path = "/api/v1/repairs" if req.kind == "repair" else "/api/v1/leads"
        try:
            r = session.post(self.world.stack.url + path, json=req.body, headers=headers,
                             verify=self.world.stack.ca, timeout=10)
        except requests.RequestException as e:
            req.attempts.append(type(e).__name__)
            return None
        req.attempts.append(r.status_code)
        if 200 <= r.status_code < 300:
            req.acks.append((r.status_code, r.json()["data"]))
        elif r.status_code not in RETRYABLE:
            req.unexpected = f"{r.status_code} {r.text[:200]}"
        return r.status_code

    def run_one(self, session, req):
        delay = 0.1
        for _ in range(self.max_attempts):
            if self.died.is_set():
                return
            status = self.send(session, req)
            if status is not None and status not in RETRYABLE:
                return
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 1.0)

    def worker(self):
        session = requests.Session()
        while not self.stop.is_set():
            req = self.next_request()
            if not req:
                return
            self.run_one(session, req)

    def replay_acknowledged(self):
        """Every acknowledged request once more, as a client whose response
        was lost would: the same id and the same data must come back."""
        todo = [r for r in self.requests if r.acked]
        lock = threading.Lock()

        def worker():
            session = requests.Session()
            while not self.died.is_set():
                with lock:
                    if not todo:
                        return
                    req = todo.pop()
                self.run_one(session, req)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for t in threads:
            t.start()
        return threads


# ---- the checks -------------------------------------------------------------------

def same_lead(req, row):
    """The lead holds what the intake stores for a new phone."""
    b = req.body
    return (row["project_id"] == b["project_id"] and row["name"] == b["name"] and row["phone"] == b["phone"]
            and row["note"] == b["note"] and row["interest_layout"] == b["interest"]["layout"]
            and row["interest_area"] == b["interest"]["area"] and row["interest_budget"] == b["interest"]["budget"]
            and row["channel"] == b["channel"])


def receipt_differs(req, data, project_name):
    """Why a lead's 2xx answer is not the receipt of what was sent, or None."""
    b, s = req.body, data.get("submission") or {}
    masked = b["phone"][:3] + "****" + b["phone"][7:]
    want = {"project_id": b["project_id"], "project_name": project_name, "name": b["name"],
            "phone_masked": masked, "phone_verified": False}
    got = {k: s.get(k) for k in want}
    if got != want or not isinstance(s.get("id"), int) or data.get("referral") is not None:
        return f"receipt {data} is not the receipt of what was sent"
    return None


def same_ticket(req, row, category_id):
    b = req.body
    return (row["user_id"] == req.owner[0] and row["unit_id"] == b["unit_id"] and row["category_id"] == category_id
            and row["description"] == b["description"] and row["contact_phone"] == b["contact_phone"]
            and row["preferred_time"] == b["preferred_time"])


class Findings:
    def __init__(self):
        self.lost, self.duplicated, self.problems = [], [], []
        self.recovered = []        # requests whose first answer was for an attempt that had committed before
        self.lead_submissions = Counter()  # rows of the run's leads by outcome
        self.unacknowledged_submissions = 0  # committed, answer lost to a kill (a retry then answered)


def check_ticket(world, req, rows, events, f):
    ids = req.ids()
    if len(ids) > 1:
        f.duplicated.append((req, f"answered ids {sorted(ids)}"))
    if len({json.dumps(d, sort_keys=True) for _, d in req.acks}) > 1:
        f.duplicated.append((req, "a retry answered other data"))
    row = next((r for r in rows if r["id"] in ids), None)
    if not row:
        f.lost.append((req, "no ticket with the acknowledged id"))
    elif not same_ticket(req, row, world.category_id):
        f.lost.append((req, f"ticket {row['id']} differs from what was acknowledged"))
    elif not {"repair.assigned", "repair.dispatched"} <= events.get(("repair", row["id"]), set()):
        f.lost.append((req, f"ticket {row['id']} lacks its dispatch events: {events.get(('repair', row['id']))}"))
    # A ticket's replay is a 200 with the stored answer.
    if req.load_attempts > 1 and req.acks[0][0] == 200:
        f.recovered.append(req)


def check_lead(world, req, leads_by_id, subs_by_id, subs_by_lead, events, f):
    for _, data in req.acks:
        why = receipt_differs(req, data, world.project_name)
        if why:
            f.problems.append((req, why))
    acked = [subs_by_id.get(i) for i in req.ids()]
    if None in acked:
        f.lost.append((req, f"acknowledged submissions {sorted(i for i in req.ids() if i not in subs_by_id)}"
                            " have no lead_submissions row"))
    acked = sorted((s for s in acked if s), key=lambda s: s["id"])
    if not acked:
        return
    lead_ids = {s["lead_id"] for s in acked}
    if len(lead_ids) > 1:
        f.duplicated.append((req, f"its acknowledged submissions point to leads {sorted(lead_ids)}"))
    for s in acked:
        if s["user_id"] != req.owner[0] or s["phone_verified"] != 0 or s["outcome"] == "recorded":
            f.problems.append((req, f"submission {s['id']} is {s}, not an update of the buyer's own lead"))
    lead = leads_by_id.get(acked[0]["lead_id"])
    subs = subs_by_lead.get(acked[0]["lead_id"], [])
    if not lead:
        f.lost.append((req, f"lead {acked[0]['lead_id']} of submission {acked[0]['id']} is missing"))
        return
    if not same_lead(req, lead):
        f.lost.append((req, f"lead {lead['id']} differs from what was acknowledged"))
    elif "lead.assigned" not in events.get(("lead", lead["id"]), set()):
        f.lost.append((req, f"lead {lead['id']} lacks its lead.assigned event"))
    elif [s["outcome"] for s in subs].count("created") != 1:
        f.lost.append((req, f"lead {lead['id']} has not exactly one 'created' submission: {subs}"))
    if lead["submissions"] != len(subs):
        f.problems.append((req, f"lead {lead['id']} counts {lead['submissions']} submissions, "
                                f"lead_submissions holds {len(subs)}"))
    f.unacknowledged_submissions += len({s["id"] for s in subs} - req.ids())
    # The first answer was for a submission that found the lead already
    # there: an earlier attempt had committed and its answer was lost.
    first = subs_by_id.get(req.id_of(req.acks[0][1]))
    if req.load_attempts > 1 and first and first["outcome"] != "created":
        f.recovered.append(req)


def check(world, load):
    f = Findings()
    tickets = {}
    for row in world.query("SELECT * FROM repair_tickets WHERE project_id = %s", (world.project,)):
        tickets.setdefault(row["description"], []).append(row)
    leads_by_phone, leads_by_id = {}, {}
    for row in world.query("SELECT * FROM leads WHERE project_id = %s", (world.project,)):
        leads_by_phone.setdefault(row["phone"], []).append(row)
        leads_by_id[row["id"]] = row
    # Every submission, the project's or not: an acknowledged one filed
    # under another project's lead is lost too.
    subs_by_id, subs_by_lead = {}, {}
    for row in world.query("SELECT id, lead_id, user_id, phone_verified, outcome FROM lead_submissions ORDER BY id"):
        subs_by_id[row["id"]] = row
        subs_by_lead.setdefault(row["lead_id"], []).append(row)
        if row["lead_id"] in leads_by_id:
            f.lead_submissions[row["outcome"]] += 1
    events = {}
    for row in world.query("SELECT kind, ref_type, ref_id FROM notification_events"):
        events.setdefault((row["ref_type"], row["ref_id"]), set()).add(row["kind"])

    for req in load.requests:
        if req.kind == "repair":
            rows = tickets.get(req.body["description"], [])
            if len(rows) > 1:
                f.duplicated.append((req, f"{len(rows)} tickets with its description"))
        else:
            rows = leads_by_phone.get(req.body["phone"], [])
            if len(rows) > 1:
                f.duplicated.append((req, f"{len(rows)} leads with its phone"))
        if req.unexpected:
            f.problems.append((req, f"unexpected answer {req.unexpected}"))
        if not req.acked:
            continue
        if req.kind == "repair":
            check_ticket(world, req, rows, events, f)
        else:
            check_lead(world, req, leads_by_id, subs_by_id, subs_by_lead, events, f)
    return f


def stuck_events(world):
    return world.query(
        "SELECT id, kind, status, attempts, next_attempt_at, lease_until, NOW(3) AS now FROM notification_events"
        " WHERE NOT (status IN ('sent', 'no_quota', 'failed', 'dead')"
        "  OR (status = 'retrying' AND next_attempt_at > NOW(3))"
        "  OR (status = 'sending' AND lease_until > NOW(3)))")


def wait_for_dispatcher(world, timeout):
    """Until no event is stuck (see stuck_events), at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        stuck = stuck_events(world)
        if not stuck or time.monotonic() > deadline:
            return stuck
        time.sleep(0.5)


# ---- the run ----------------------------------------------------------------------

def watch(stack, load):
    """Raises Died (and stops the clients) if MariaDB or the gateway exited
    on its own."""
    why = stack.died()
    if why:
        load.died.set()
        raise Died(why)


def load_for(stack, load, seconds):
    """Lets the load run for `seconds`; returns how many requests were
    acknowledged meanwhile."""
    before = load.acked_count()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watch(stack, load)
        time.sleep(0.1)
    return load.acked_count() - before


def join_watching(stack, load, threads):
    for t in threads:
        while t.is_alive():
            watch(stack, load)
            t.join(0.2)


def run(args, dir):
    started = time.monotonic()
    stack = Stack(dir, args.bin)
    try:
        log(f"starting MariaDB, the fake WeChat and the gateway in {dir}")
        stack.start()
        world = World(stack, owners=8)
        load = Load(world, args.threads, args.max_requests, args.attempts)
        threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(args.threads)]
        for t in threads:
            t.start()
        log(f"load: {args.threads} client threads, at most {args.max_requests} requests")
        phases = [("warm-up", load_for(stack, load, args.phase_seconds))]
        for round in range(1, args.rounds + 1):
            for what in ("mariadb", "gateway", "both"):
                log(f"round {round}: SIGKILL {what}")
                if what in ("gateway", "both"):
                    stack.kill_gateway()
                if what in ("mariadb", "both"):
                    stack.kill_db()
                time.sleep(random.uniform(0.2, 1.5))  # down for a moment, under load
                if what in ("mariadb", "both"):
                    stack.db.start()
                if what in ("gateway", "both"):
                    stack.gateway.start()
                log(f"round {round}: {what} restarted")
                phases.append((f"{what} #{round}", load_for(stack, load, args.phase_seconds)))

        load.stop.set()
        join_watching(stack, load, threads)
        for req in load.requests:
            req.load_attempts = len(req.attempts)
        log(f"load stopped; replaying the {load.acked_count()} acknowledged requests once more")
        world.db.ping(reconnect=True)
        join_watching(stack, load, load.replay_acknowledged())

        log("waiting for the notification dispatcher, then checking the database")
        stuck = wait_for_dispatcher(world, args.dispatch_wait)
        f = check(world, load)
        statuses = Counter(r["status"] for r in world.query("SELECT status FROM notification_events"))

        reqs = load.requests
        acked = [r for r in reqs if r.acked]
        retried = [r for r in reqs if r.load_attempts > 1]
        by_kind = Counter(r.kind for r in acked)
        errors = Counter(a for r in reqs for a in r.attempts[:r.load_attempts]
                         if not (isinstance(a, int) and 200 <= a < 300))
        replayed = sum(1 for r in acked if r.kind == "lead" and len(r.acks) > 1)
        print()
        print("acknowledged after each kill (SIGKILL, restart, then load for --phase-seconds): " +
              ", ".join(f"{name} {n}" for name, n in phases))
        print(f"requests: {len(reqs)} ({Counter(r.kind for r in reqs)['repair']} repairs, "
              f"{Counter(r.kind for r in reqs)['lead']} leads); attempts during the load "
              f"{sum(r.load_attempts for r in reqs)}; requests retried {len(retried)}")
        print(f"failed attempts: {dict(errors)}")
        print(f"acknowledged: {len(acked)} ({by_kind['repair']} repairs, {by_kind['lead']} leads); "
              f"not acknowledged after {args.attempts} attempts: {len(reqs) - len(acked)}")
        print(f"committed, answer lost to a kill, then answered by a retry (ticket: the stored answer; "
              f"lead: a second submission of the same lead): {len(f.recovered)} "
              f"({Counter(r.kind for r in f.recovered)['repair']} repairs, "
              f"{Counter(r.kind for r in f.recovered)['lead']} leads)")
        print(f"lead submissions: {dict(f.lead_submissions)} (one 'created' per lead; 'updated': {replayed} by the "
              f"replay, {f.unacknowledged_submissions} committed whose answer was lost to a kill)")
        print(f"notification events: {dict(statuses)}; stuck: {len(stuck)}")
        for req, why in (f.lost + f.duplicated + f.problems)[:20]:
            print(f"  {req.kind} {req.key or req.body.get('phone')}: {why}; attempts {req.attempts}")
        for e in stuck[:10]:
            print(f"  stuck event: {e}")
        print(f"lost: {len(f.lost)}, duplicated: {len(f.duplicated)}, unexpected: {len(f.problems)}, "
              f"stuck events: {len(stuck)}")
        ok = not f.lost and not f.duplicated and not f.problems and not stuck and acked
        print(f"chaos: {'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s")
        return 0 if ok else 1
    except Died as e:
        print(f"\nchaos: FAIL: {e}")
        return 1
    finally:
        stack.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin", "gateway"))
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--max-requests", type=int, default=30000)
    p.add_argument("--rounds", type=int, default=3, help="rounds of the three kills")
    p.add_argument("--attempts", type=int, default=30, help="attempts per request before giving up")
    p.add_argument("--phase-seconds", type=float, default=8.0, help="load after each restart, in seconds")
    p.add_argument("--dispatch-wait", type=float, default=60.0, help="longest wait for the notification dispatcher")
    p.add_argument("--keep", help="copy the stack's logs to this folder")
    args = p.parse_args()
    urllib3.disable_warnings()
    dir = tempfile.mkdtemp(prefix="gw-chaos-")
    try:
        return run(args, dir)
    except Exception as e:
        traceback.print_exc()
        log(f"error: {e}")
        return 2
    finally:
        if args.keep:
            shutil.copytree(dir, os.path.join(args.keep, os.path.basename(dir)),
                            ignore=shutil.ignore_patterns("mysql", "*.sock"), symlinks=True)
        shutil.rmtree(dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
