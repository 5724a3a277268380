"""Helpers shared by the notification tests: subscribers, outbox rows written
directly (the outbox must work whatever feature wrote the row), waiting for
the dispatcher, and what the fake WeChat received."""
import json
import secrets

import pytest

from conftest import metric as metric_in
from conftest import unique, wait_for

SEND = "/cgi-bin/message/subscribe/send"
TOKEN = "/cgi-bin/stable_token"
REPAIR_TPL = "TPL_REPAIR_STATUS"
FINAL = ("sent", "no_quota", "failed", "dead")

REPAIR_PAYLOAD = {
    "ticket_no": "R20250601-0001",
    "category": "水电维修",
    "state_label": "已派单",
    "engineer_name": "王师傅",
    "time": "2025-06-01 14:05",
}


@pytest.fixture(scope="module", autouse=True)
def sole_dispatcher(stack):
    """Makes the session's main gateway the only process dispatching the
    outbox (autouse in every module that imports it): extra gateways that earlier test modules left running share the
    database and would take this module's events, so counts of one process's
    token fetches or metrics would miss them. Tests that want more processes
    start their own."""
    for gw in stack.extra_gateways:
        if gw.proc is not None:
            gw.stop()
    yield


def subscriber(factory, api, accepted=(REPAIR_TPL,), times=1):
    """A logged-in user who accepted `accepted` `times` times: (id, token, openid)."""
    openid = unique("o_n_")
    uid, token = factory.user(openid=openid)
    for _ in range(times):
        r = api.post("/api/v1/subscriptions", token=token, json={"accepted": list(accepted)})
        assert r.status_code == 200, r.text
    return uid, token, openid


def emit(db, user_id, kind="repair.dispatched", payload=None, ref_type="repair", ref_id=None):
    """An outbox row as a business transaction would write it; returns its id."""
    ref_id = ref_id or secrets.randbelow(10 ** 9) + 1
    body = REPAIR_PAYLOAD if payload is None else payload
    return db.exec("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload)"
                   " VALUES (%s, %s, %s, %s, %s)",
                   (kind, user_id, ref_type, ref_id, json.dumps(body, ensure_ascii=False)))


def event(db, event_id):
    return db.one("SELECT * FROM notification_events WHERE id = %s", (event_id,))


def wait_final(db, event_id):
    def final():
        e = event(db, event_id)
        return e if e["status"] in FINAL else None
    return wait_for(final, what=f"event {event_id} in a final state")


def grants(db, user_id, template_id=REPAIR_TPL):
    return db.scalar("SELECT one_time_count FROM notification_grants WHERE user_id = %s AND template_id = %s",
                     (user_id, template_id))


def sends_to(fake, openid):
    """Every subscribe send the fake received for openid, oldest first."""
    return [r for r in fake.requests(SEND) if isinstance(r["body"], dict) and r["body"].get("touser") == openid]


def metric(api, outcome):
    """gateway_notifications_total{outcome=...} of the main gateway, 0 when absent."""
    return metric_in(api.get("/metrics").text, "gateway_notifications_total", outcome=outcome)


def seed_grants(db, user_id, count, template_id=REPAIR_TPL):
    """count one-time grants of template_id for user_id, written directly (as
    many acceptances would leave them)."""
    db.exec("INSERT INTO notification_grants (user_id, template_id, one_time_count, last_accepted_at)"
            " VALUES (%s, %s, %s, NOW(3)) ON DUPLICATE KEY UPDATE one_time_count = VALUES(one_time_count)",
            (user_id, template_id, count))


def granted_users(factory, db, n, grants_each, prefix="o_n_many_"):
    """n users holding grants_each grants each: ([ids], {openids})."""
    ids, openids = [], set()
    for _ in range(n):
        openid = unique(prefix)
        uid, _ = factory.user(openid=openid)
        seed_grants(db, uid, grants_each)
        ids.append(uid)
        openids.add(openid)
    return ids, openids


def emit_many(db, users, per_user, first_ref):
    """per_user events for each user, in one transaction (so a dispatcher
    claims them together); returns {ref_id: event id}."""
    rows, ref = [], first_ref
    for uid in users:
        for _ in range(per_user):
            rows.append(("repair.dispatched", uid, "repair", ref, '{"category": "水电维修", "ticket_no": "R1"}'))
            ref += 1
    with db.conn.cursor() as cur:
        db.conn.begin()
        cur.executemany("INSERT INTO notification_events (kind, user_id, ref_type, ref_id, payload)"
                        " VALUES (%s, %s, %s, %s, %s)", rows)
        db.conn.commit()
    ids = db.query("SELECT id, ref_id FROM notification_events WHERE ref_type = 'repair' AND ref_id >= %s"
                   " AND ref_id < %s", (first_ref, ref))
    return {r["ref_id"]: r["id"] for r in ids}


def successes_by_ref(fake, openids):
    """ref_id -> how many sends WeChat accepted for it."""
    import collections
    count = collections.Counter()
    for r in fake.requests(SEND):
        body = r["body"] if isinstance(r["body"], dict) else {}
        if r["errcode"] == 0 and body.get("touser") in openids:
            count[int(body["page"].split("id=")[1])] += 1
    return count


def all_final(db, ids):
    ids = list(ids)
    rows = db.query("SELECT status FROM notification_events WHERE id IN (%s)" % ",".join(["%s"] * len(ids)), ids)
    return len(rows) == len(ids) and all(r["status"] in FINAL for r in rows)


def rows_of(db, ids, columns="id, status, attempts, msgid, last_errcode, last_error"):
    ids = list(ids)
    return db.query(f"SELECT {columns} FROM notification_events WHERE id IN (%s) ORDER BY id"
                    % ",".join(["%s"] * len(ids)), ids)


def metric_value(api, line_prefix):
    """The value of the first /metrics line starting with line_prefix + ' ', or None."""
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line[len(line_prefix) + 1:])
    return None
