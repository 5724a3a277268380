"""The core's contracts over HTTPS: the per-call deadline (a slow WeChat
no longer holds a login for its whole retry budget), and the one paging
contract on a list that uses it (GET /api/v1/notifications)."""
import base64
import re
import struct

from conftest import expect_error, expect_ok, unique
from notify_support import emit, wait_for

LOGIN = "/api/v1/auth/login"
JSCODE = "/sns/jscode2session"
INBOX = "/api/v1/notifications"


def metric(api, base, name):
    text = api.get("/metrics", base=base).text
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def test_a_slow_wechat_login_ends_at_the_deadline_with_503(stack, api, fake, db):
    # WeChat's production timeout, and a deadline well inside it: the code
    # exchange is cut at the deadline instead of waiting for WeChat.
    gw = stack.start_gateway({"call_deadline_ms": 1000, "wechat_timeout_ms": 5000, "notification_lease_ms": 10000},
                             name="gw_deadline")
    try:
        openid = unique("o_deadline_")
        before = fake.count(JSCODE)
        fake.fail(JSCODE, delay_ms=3000)  # delay only: the answer would be a good one
        r = api.post(LOGIN, json={"code": f"C_{openid}"}, base=gw.url)
        expect_error(r, 503, "DEADLINE_EXCEEDED")
        assert int(r.headers["Retry-After"]) >= 1
        assert "WeChat -1005" in r.json()["error"]["message"]
        # One attempt, no retry after the deadline, and no user stored.
        assert fake.count(JSCODE) == before + 1
        assert db.scalar("SELECT COUNT(*) FROM users WHERE openid = %s", (openid,)) == 0
        assert metric(api, gw.url, "gateway_call_deadline_exceeded_total") is not None

        # Without the delay the same gateway logs in as usual.
        token = expect_ok(api.post(LOGIN, json={"code": f"C_{openid}"}, base=gw.url))["token"]
        assert token
    finally:
        assert gw.stop() == 0


def raw_cursor(*keys):
    """A cursor of the documented format, made by hand (for the refusal tests only)."""
    return base64.urlsafe_b64encode(bytes([1, len(keys)]) + b"".join(struct.pack(">q", k) for k in keys)) \
        .rstrip(b"=").decode()


def test_the_inbox_follows_the_paging_contract(api, db, factory):
    uid, token = factory.user()
    ids = [emit(db, uid) for _ in range(5)]

    page1 = api.get(f"{INBOX}?limit=2", token=token)
    assert [x["id"] for x in expect_ok(page1)] == [ids[4], ids[3]]
    cursor = page1.json()["next_cursor"]
    assert cursor and not cursor.isdigit()  # opaque, no longer the raw id

    # A new event between two pages does not shift the pages: nothing twice.
    newer = emit(db, uid)
    seen, n = [ids[4], ids[3]], 0
    while cursor:
        r = api.get(f"{INBOX}?limit=2&cursor={cursor}", token=token)
        seen += [x["id"] for x in expect_ok(r)]
        cursor = r.json()["next_cursor"]
        n += 1
        assert n < 10
    assert seen == [ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert expect_ok(api.get(f"{INBOX}?limit=1", token=token))[0]["id"] == newer

    # One maximum, 100, for every list; the default is 20.
    assert len(expect_ok(api.get(f"{INBOX}?limit=100", token=token))) == 6
    for bad in ("0", "101", "-1", "ten", "2.5", "1" * 30):
        expect_error(api.get(f"{INBOX}?limit={bad}", token=token), 400, "INVALID_FIELD", "limit")

    # Only cursors the list wrote: a raw id (the old form), another list's
    # number of keys, another version, or garbage are refused.
    for bad in (str(ids[2]), raw_cursor(ids[2], 1), "AgEAAAAAAAAAew", "abc", "%00", "A" * 200):
        r = api.get(f"{INBOX}?cursor={bad}", token=token)
        expect_error(r, 400, "INVALID_FIELD", "cursor")
    assert [x["id"] for x in expect_ok(api.get(f"{INBOX}?cursor={raw_cursor(ids[2])}", token=token))] == \
        [ids[1], ids[0]]
