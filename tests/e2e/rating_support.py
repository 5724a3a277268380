"""Helpers shared by the rating and follow-up tests: a resolved ticket,
rating bodies, the sample's hash as the gateway computes it, and gateways
that sweep satisfaction fast."""
import pytest

from conftest import expect_ok, wait_for  # noqa: F401
from repairs_support import act, file_ticket, new_ticket, ticket_body, world  # noqa: F401

FAST = {"satisfaction_sweep_interval_ms": 100}
SEED = 12345


def rating(speed=5, attitude=5, quality=5, **extra):
    body = {"speed": speed, "attitude": attitude, "quality": quality}
    body.update(extra)
    return body


def resolve(api, w, tid, engineer=None):
    eng = engineer or w.engineers[0]
    for step, body in (("accept", None), ("start", None), ("resolve", {"note": "已修好"})):
        expect_ok(act(api, eng, tid, step, body))


def resolved_ticket(api, w, owner=None, base=None):
    tid = new_ticket(api, w, owner=owner)["id"]
    resolve(api, w, tid)
    return tid


def fnv_sampled(seed, kind, subject_id, percent):
    """followup_sampled() of domain/followups/followups.c."""
    h = 14695981039346656037
    for b in f"{seed}:{kind}:{subject_id}".encode():
        h ^= b
        h = (h * 1099511628211) % (1 << 64)
    return h % 100 < percent


def start_gateways(stack, extra, names):
    return [stack.start_gateway(dict(FAST, **extra), name=n) for n in names]


def stop_gateways(stack, gws):
    for gw in gws:
        if gw in stack.extra_gateways:
            stack.extra_gateways.remove(gw)
        assert gw.stop() in (0, None), f"gateway exited badly; see {gw.log}"


def service_member(factory, db, project_id, name="客服"):
    from repairs_support import named_user
    return named_user(factory, db, name, roles=[("service", project_id)])


def followup_of(db, tid):
    return db.one("SELECT * FROM followups WHERE kind = 'repair' AND subject_id = %s ORDER BY round DESC LIMIT 1",
                  (tid,))
