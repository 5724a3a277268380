"""Limits for a public launch: rate limits per client address and per user
(429 RATE_LIMITED with Retry-After), the WeChat pool's shares per class of
work (a login flood never starves repairs or QR codes), repairs stored
"unchecked" when their text check cannot start in time, per-route body
limits, and authentication before the body is looked at.

The rate-limit tests run against a gateway of their own whose buckets do
not refill within a test (1 token an hour), so the counts are exact; each
test sends from its own forwarded address on the plain listener (the
gateway trusts 127.0.0.1 as its proxy), so buckets never carry over."""
import itertools
import json
import secrets
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests

from conftest import expect_error, expect_ok, unique
from media_support import (PUSH_TOKEN, base_jpeg, free_port, jpeg_with_exif, push_url, start_media_gateway,
                           stop_gateway, upload, wait_until)
from repairs_support import file_ticket, ticket_body, world
from test_http import metric

LOGIN = "/api/v1/auth/login"
JSCODE = "/sns/jscode2session"
SECCHECK = "/wxa/msg_sec_check"
QRCODE = "/wxa/getwxacodeunlimit"
JSON_MAX_BYTES = 65536  # the gateway's default json_max_bytes


_addresses = itertools.count(1)


def fresh_address():
    """A client address no other request of this module uses."""
    n = next(_addresses)
    return f"10.77.{n // 250}.{n % 250 + 1}"


class Plain:
    """Requests through the gateway's plain listener, as a trusted proxy
    forwarding for `address` (None: the proxy's own request)."""

    def __init__(self, gw, address):
        self.base, self.address = gw.http_base, address

    def request(self, method, path, token=None, headers=None, **kw):
        h = {"X-Forwarded-For": self.address} if self.address else {}
        h.update(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=h, timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def metrics_of(gw):
    """/metrics of that gateway, from an address of its own (so reading the
    metrics never uses a bucket a test counts on)."""
    r = Plain(gw, fresh_address()).get("/metrics")
    assert r.status_code == 200, r.text
    return r.text


@pytest.fixture(scope="module")
def limited(stack):
    port = free_port()
    gw = stack.start_gateway({
        "http_port": port,
        "trusted_proxies": "127.0.0.1",
        "rate_login_ip": "1/h burst 3",
        "rate_login_user": "1/h burst 2",
        "rate_default_ip": "1/h burst 4",
        "rate_default_user": "1/h burst 2",
        "rate_leads_user": "1/h burst 1",
    }, name="gw_limits")
    gw.http_base = f"http://127.0.0.1:{port}"
    yield gw
    stop_gateway(stack, gw)


def expect_rate_limited(r, kind):
    err = expect_error(r, 429, "RATE_LIMITED")
    assert kind in err["message"], err
    retry = int(r.headers["retry-after"])
    assert 3000 < retry <= 3600, retry  # one token an hour, just used up
    return err


# ---- rate limits ---------------------------------------------------------------------

def test_login_flood_from_one_address_stops_at_its_burst(limited, fake, db):
    client = Plain(limited, fresh_address())
    openids = [unique("o_rl_") for _ in range(4)]
    before = metrics_of(limited)
    for openid in openids[:3]:
        expect_ok(client.post(LOGIN, json={"code": f"C_{openid}"}))
    r = client.post(LOGIN, json={"code": f"C_{openids[3]}"})
    expect_rate_limited(r, "address")
    # Refused before any work: WeChat was asked three times, no fourth user.
    assert fake.count(JSCODE) == 3
    assert db.scalar("SELECT COUNT(*) FROM users WHERE openid = %s", (openids[3],)) == 0
    # Another class from the same address is not affected.
    expect_ok(client.get("/healthz"))
    after = metrics_of(limited)
    assert metric(after, "gateway_rate_limited_total", **{"class": "login", "key": "ip"}) - \
        metric(before, "gateway_rate_limited_total", **{"class": "login", "key": "ip"}) == 1


def test_per_user_and_per_address_buckets(limited, factory):
    _, alice = factory.user()  # logged in on the session's gateway: tokens work on every process
    _, bob = factory.user()
    office = Plain(limited, fresh_address())
    before = metrics_of(limited)
    # Alice: her user bucket (2) runs out first.
    expect_ok(office.get("/api/v1/me", token=alice))
    expect_ok(office.get("/api/v1/me", token=alice))
    expect_rate_limited(office.get("/api/v1/me", token=alice), "user")
    # Bob, same address: his own user bucket, the address bucket shared (4).
    expect_ok(office.get("/api/v1/me", token=bob))
    expect_rate_limited(office.get("/api/v1/me", token=bob), "address")
    # Bob elsewhere: the address refusal did not cost him a user token.
    expect_ok(Plain(limited, fresh_address()).get("/api/v1/me", token=bob))
    expect_rate_limited(Plain(limited, fresh_address()).get("/api/v1/me", token=bob), "user")
    after = metrics_of(limited)

    def delta(cls, key):
        labels = {"class": cls, "key": key}
        return metric(after, "gateway_rate_limited_total", **labels) - \
            metric(before, "gateway_rate_limited_total", **labels)

    assert delta("default", "user") == 2
    assert delta("default", "ip") == 1
    assert "# TYPE gateway_rate_limited_total counter" in after


def test_forwarded_addresses_have_separate_buckets(limited, api):
    def healthz(address):
        return Plain(limited, address).get("/healthz")

    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(4):
            expect_ok(healthz(address))
    expect_rate_limited(healthz("203.0.113.1"), "address")
    expect_rate_limited(healthz("203.0.113.2"), "address")
    # IPv6: one bucket per /64.
    for _ in range(4):
        expect_ok(healthz("2001:db8::1"))
    expect_rate_limited(healthz("2001:db8::2"), "address")
    expect_ok(healthz("2001:db8:0:1::1"))
    # The proxy's own requests (no header) are its own address.
    expect_ok(Plain(limited, None).get("/healthz"))
    # On the HTTPS listener the header is never believed: this is 127.0.0.1.
    expect_ok(api.get("/healthz", base=limited.url, headers={"X-Forwarded-For": "203.0.113.1"}))


def test_authenticated_class_limits_apply_per_user(limited, factory, db):
    _, token = factory.user()
    client = Plain(limited, fresh_address())
    # Lead intake allows one per user here; the second is refused before the
    # body is even read (an empty body would be a 400).
    r = client.post("/api/v1/leads", token=token, json={})
    expect_error(r, 400, "MISSING_FIELD")
    expect_rate_limited(client.post("/api/v1/leads", token=token, json={}), "user")


# ---- authentication before the body ------------------------------------------------------

BAD_BODIES = [
    # (body, content type, the answer a logged-in caller gets)
    (b'{"unit_id": 1, "pad": "' + b"x" * JSON_MAX_BYTES + b'"}', "application/json", 413, "PAYLOAD_TOO_LARGE"),
    (b'{"unit_id": 1', "application/json", 400, "INVALID_JSON"),
    (b'{"unit_id": 1}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
]


def test_anonymous_or_bad_token_gets_401_whatever_the_body(api, fake, db):
    tickets = db.scalar("SELECT COUNT(*) FROM repair_tickets")
    for body, ctype, _, _ in BAD_BODIES:
        r = api.post("/api/v1/repairs", data=body, headers={"Content-Type": ctype, "Idempotency-Key": "k1"})
        expect_error(r, 401, "UNAUTHENTICATED")
        r = api.post("/api/v1/repairs", data=body, token="k1.1.1.garbage",
                     headers={"Content-Type": ctype, "Idempotency-Key": "k1"})
        expect_error(r, 401, "TOKEN_INVALID")
    # A route without a body: a large one is not read for an anonymous caller either.
    expect_error(api.get("/api/v1/me", data=b"x" * (JSON_MAX_BYTES + 1)), 401, "UNAUTHENTICATED")
    assert fake.count(SECCHECK) == 0
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets") == tickets


def test_a_logged_in_caller_still_gets_its_400_413_415(api, factory, db, fake):
    w = world(factory, db)
    for body, ctype, status, code in BAD_BODIES:
        r = api.post("/api/v1/repairs", data=body, token=w.owner_a.token,
                     headers={"Content-Type": ctype, "Idempotency-Key": secrets.token_hex(8)})
        expect_error(r, status, code)
    # Just over the JSON limit: refused, nothing written, WeChat not asked.
    body = ticket_body(w)
    body["pad"] = ""
    text = json.dumps(body)
    body["pad"] = "x" * (JSON_MAX_BYTES + 1 - len(text.encode()))
    data = json.dumps(body).encode()
    assert len(data) == JSON_MAX_BYTES + 1
    r = api.post("/api/v1/repairs", data=data, token=w.owner_a.token,
                 headers={"Content-Type": "application/json", "Idempotency-Key": secrets.token_hex(8)})
    err = expect_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert str(JSON_MAX_BYTES) in err["message"]
    assert db.scalar("SELECT COUNT(*) FROM repair_tickets WHERE user_id = %s", (w.owner_a.id,)) == 0
    assert fake.count(SECCHECK) == 0
    # A route without a body refuses a large one too.
    expect_error(api.get("/api/v1/me", data=b"x" * (JSON_MAX_BYTES + 1), token=w.owner_a.token),
                 413, "PAYLOAD_TOO_LARGE")
    # The upload route takes bodies past the JSON limit (this one is no photo).
    junk = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + b"x" * (JSON_MAX_BYTES * 2) + b"\r\n--b--\r\n"
    r = api.post("/api/v1/uploads", data=junk, token=w.owner_a.token,
                 headers={"Content-Type": "multipart/form-data; boundary=b"})
    expect_error(r, 400, "MISSING_FIELD")


def test_a_disabled_user_is_refused_before_its_body_is_judged(limited, factory, db):
    uid, token = factory.user()
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (uid,))
    # A process that never saw this user (no cached roles): the user is
    # loaded first, and the broken body never judged. A disabled user gets
    # 403 USER_DISABLED (see Sessions in miniprogram-api.md).
    client = Plain(limited, fresh_address())
    r = client.post("/api/v1/auth/phone", token=token, data=b'{"code": ', headers={"Content-Type": "application/json"})
    expect_error(r, 403, "USER_DISABLED")


API_MAX_BODY_BYTES = 131072


def head_only(gw, port, path, length):
    """Sends a request head announcing a body of `length` bytes, and no body;
    returns the server's answer (it must come without the body)."""
    ctx = ssl.create_default_context(cafile=gw.dir + "/tls.crt")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {length}\r\n\r\n".encode())
            return s.recv(4096)


def test_upload_listener_lets_the_api_listener_refuse_large_bodies_unread(stack, api, factory, db):
    """h2o reads a whole body before any handler runs and limits bodies per
    listener only. With uploads on listeners of their own, the API listener
    refuses a large declared body before reading a byte of it."""
    upload_port = free_port()
    gw = stack.start_gateway({"upload_https_port": upload_port, "api_max_body_bytes": API_MAX_BODY_BYTES},
                             name="gw_upload_listener")
    uploads = SimpleNamespace(url=f"https://127.0.0.1:{upload_port}")
    try:
        # Over the API listener's limit: 413 from h2o at once, the body never sent.
        answer = head_only(gw, gw.https_port, "/api/v1/repairs", API_MAX_BODY_BYTES + 1)
        assert answer.startswith(b"HTTP/1.1 413 "), answer
        # Within it: read, and judged after authentication like everywhere.
        big = b'{"pad": "' + b"x" * (API_MAX_BODY_BYTES - 20) + b'"}'
        expect_error(api.post("/api/v1/repairs", base=gw.url, data=big, headers={"Content-Type": "application/json"}),
                     401, "UNAUTHENTICATED")
        # The upload listener reads a large body, then the route's limit applies
        # after authentication.
        larger = big + b" " * 100
        expect_error(api.post("/api/v1/leads", base=uploads.url, data=larger, headers={"Content-Type": "application/json"}),
                     401, "UNAUTHENTICATED")
        uid, token = factory.user()
        expect_error(api.post("/api/v1/leads", base=uploads.url, data=larger, token=token,
                              headers={"Content-Type": "application/json"}),
                     413, "PAYLOAD_TOO_LARGE")
        # Photos go there.
        r = upload(api, uploads, token, base_jpeg())
        data = expect_ok(r, 201)
        assert db.scalar("SELECT user_id FROM uploads WHERE id = %s", (data["id"],)) == uid
    finally:
        stop_gateway(stack, gw)


# ---- the WeChat pool's shares ---------------------------------------------------------------

def test_a_login_flood_cannot_starve_repairs_or_qr_codes(stack, api, factory, db, fake):
    """Junk logins from many addresses (no address limit here) against a
    slow WeChat: the login class fills its share of the pool and the rest of
    the flood is refused at once, while an owner's repair is checked and
    stored and a referral QR code is made on the threads logins may not use."""
    w = world(factory, db)  # every login of the set-up before WeChat slows down
    gw = stack.start_gateway({
        "wechat_share_login": "2/8",
        "wechat_timeout_ms": 5000,
        "notification_lease_ms": 10000,
        "repair_check_max_wait_ms": 10000,  # the check must run: never skipped for a slow machine
    }, name="gw_flood")
    try:
        logins_before = fake.count(JSCODE)  # the set-up's
        fake.fail(JSCODE, count=500, delay_ms=1000)  # slow, then answered normally

        def junk_login(i):
            r = requests.post(gw.url + LOGIN, json={"code": f"INVALID_flood_{i}"}, verify=stack.ca_cert, timeout=60)
            return r.status_code, r.json(), r.headers.get("retry-after")

        with ThreadPoolExecutor(max_workers=60) as pool:
            flood = [pool.submit(junk_login, i) for i in range(60)]
            # The login share is full: two running at WeChat, refusals counted.
            wait_until(lambda: fake.count(JSCODE) >= logins_before + 2 and metric(
                requests.get(gw.url + "/metrics", verify=stack.ca_cert, timeout=30).text,
                "gateway_wechat_pool_rejected_total", **{"class": "login"}) >= 1,
                timeout=30, what="the login share to fill")
            r = file_ticket(api, w.owner_a.token, ticket_body(w, description="阳台漏水 flood"), base=gw.url)
            ticket = expect_ok(r, 201)
            qr = requests.get(gw.url + "/api/v1/referrals/qrcode", verify=stack.ca_cert, timeout=30,
                              headers={"Authorization": f"Bearer {w.owner_a.token}"})
            results = [f.result() for f in flood]
        # The repair was checked by WeChat and stored with its verdict.
        row = db.one("SELECT content_check, description FROM repair_tickets WHERE id = %s", (ticket["id"],))
        assert row == {"content_check": "pass", "description": "阳台漏水 flood"}
        assert [q["body"]["content"] for q in fake.requests(SECCHECK)] == ["阳台漏水 flood"]
        # The QR code came back from WeChat.
        assert qr.status_code == 200, qr.text
        assert qr.headers["content-type"] == "image/png" and qr.content.startswith(b"\x89PNG")
        assert len(fake.requests(QRCODE)) == 1
        # The flood: refused at once (503 OVERLOADED) or answered by WeChat.
        statuses = [s for s, _, _ in results]
        assert set(statuses) <= {401, 503}, statuses
        refused = [(body, ra) for s, body, ra in results if s == 503]
        assert len(refused) >= 30, statuses
        for body, retry_after in refused:
            assert body["error"]["code"] == "OVERLOADED" and int(retry_after) >= 1, body
        # WeChat saw no more of it than the login share let through.
        assert fake.count(JSCODE) - logins_before == statuses.count(401)
        text = requests.get(gw.url + "/metrics", verify=stack.ca_cert, timeout=30).text
        assert metric(text, "gateway_wechat_pool_rejected_total", **{"class": "login"}) == len(refused)
        assert metric(text, "gateway_wechat_pool_rejected_total", **{"class": "text_check"}) == 0
    finally:
        fake.fail(JSCODE, count=0)
        stop_gateway(stack, gw)


def test_repair_is_stored_unchecked_when_its_check_cannot_start(stack, api, factory, db, fake):
    """One text-check thread and one queue slot: while WeChat holds the
    first check, the next repair waits past repair_check_max_wait_ms and the
    one after it finds the class full. Both are filed (201) "unchecked" on
    the database pool, and the recheck job checks them later."""
    w = world(factory, db)
    gw = stack.start_gateway({
        "wechat_share_text_check": "1/1",
        "repair_check_max_wait_ms": 100,
        "repair_recheck_interval_ms": 1000,
        "wechat_timeout_ms": 5000,
        "notification_lease_ms": 10000,
    }, name="gw_unchecked")
    try:
        fake.fail(SECCHECK, count=1, delay_ms=3000)
        with ThreadPoolExecutor(max_workers=3) as pool:
            first = pool.submit(file_ticket, api, w.owner_a.token, ticket_body(w, description="first 厨房"),
                                None, gw.url)
            wait_until(lambda: fake.count(SECCHECK) == 1, what="the first check to reach WeChat")
            later = [pool.submit(file_ticket, api, w.owner_a.token, ticket_body(w, description=f"later {i} 厨房"),
                                 None, gw.url) for i in range(2)]
            later_tickets = [expect_ok(f.result(), 201) for f in later]
            first_ticket = expect_ok(first.result(), 201)

        def check_of(ticket):
            return db.one("SELECT content_check, content_check_attempts FROM repair_tickets WHERE id = %s",
                          (ticket["id"],))

        # The first was checked while it was filed.
        assert check_of(first_ticket) == {"content_check": "pass", "content_check_attempts": 0}
        text = requests.get(gw.url + "/metrics", verify=stack.ca_cert, timeout=30).text
        assert metric(text, "gateway_repair_check_skipped_total") == 2
        assert metric(text, "gateway_wechat_pool_rejected_total", **{"class": "text_check"}) == 1
        # The other two were stored unchecked; the recheck job (every second
        # here, so it may already have run) asks WeChat later.
        wait_until(lambda: all(check_of(t) == {"content_check": "pass", "content_check_attempts": 1}
                               for t in later_tickets), timeout=30, what="the recheck of the unchecked tickets")
        assert {"later 0 厨房", "later 1 厨房"} <= {q["body"]["content"] for q in fake.requests(SECCHECK)}
    finally:
        stop_gateway(stack, gw)


def test_a_stored_photo_is_not_failed_when_its_check_cannot_be_submitted(stack, api, factory, db, fake):
    """The photo is stored before its content check is submitted: when the
    photo checks are at their share of the WeChat pool, the upload still
    answers 201 and the retry job submits it later."""
    gw = start_media_gateway(stack, "gw_media_share", {
        "wechat_share_media_check": "1/0", "wechat_timeout_ms": 5000, "notification_lease_ms": 10000})
    try:
        fake.post("/__fake/config", {"push_url": push_url(gw), "push_token": PUSH_TOKEN, "push_delay_ms": 50})
        fake.fail("/wxa/media_check_async", count=1, delay_ms=3000)
        _, token = factory.user()
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(upload, api, gw, token, jpeg_with_exif(1))
            wait_until(lambda: fake.count("/wxa/media_check_async") == 1, what="the first submission")
            second = expect_ok(upload(api, gw, token, jpeg_with_exif(2)), 201)
            expect_ok(first.result(), 201)
        text = requests.get(gw.url + "/metrics", verify=stack.ca_cert, timeout=30).text
        assert metric(text, "gateway_wechat_pool_rejected_total", **{"class": "media_check"}) == 1
        done = wait_until(lambda: db.one("SELECT check_status, check_attempts FROM uploads WHERE id = %s",
                                         (second["id"],)) == {"check_status": "pass", "check_attempts": 2},
                          timeout=30, what="the retry job to submit the second photo")
        assert done
    finally:
        fake.post("/__fake/config", {"push_url": ""})
        stop_gateway(stack, gw)
