"""The staff console: its login by a mini-program code (tickets, nonce
cookie, redeem once), its cookie sessions (CSRF, idle and absolute expiry,
logout, revocation), and the static files served at /console/
(handlers/identity/console.c, gateway/console_session.c,
gateway/static_files.c; console-api.md)."""
import http.client
import re
import ssl
import threading

import pytest
import requests

from conftest import expect_error, expect_ok, unique, wait_for

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self';"
       " frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


class Browser:
    """A browser as far as cookies go: keeps what the gateway sets (and
    clears), sends it back explicitly, and records each Set-Cookie as sent."""

    def __init__(self, base, ca_cert, user_agent="Mozilla/5.0 (X11; Linux x86_64) ConsoleTest/1.0"):
        self.base, self.ca_cert, self.user_agent = base, ca_cert, user_agent
        self.cookies = {}
        self.set_cookies = []

    def request(self, method, path, headers=None, cookies=None, **kw):
        h = {"User-Agent": self.user_agent, **(headers or {})}
        jar = self.cookies if cookies is None else cookies
        if jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        r = requests.request(method, self.base + path, headers=h, verify=self.ca_cert, timeout=30, **kw)
        for raw in r.raw.headers.getlist("Set-Cookie"):
            self.set_cookies.append(raw)
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in raw:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def cookie_attrs(self, name):
        for raw in reversed(self.set_cookies):
            if raw.startswith(name + "="):
                return [a.strip() for a in raw.split(";")[1:]]
        return None


@pytest.fixture
def browser(stack):
    return Browser(stack.url, stack.ca_cert)


@pytest.fixture
def staff(factory, db):
    """A supervisor of a fresh project with a display name: (user_id, token, project_id)."""
    project = factory.project()
    uid, token = factory.user(roles=[("supervisor", project)])
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("王主管", uid))
    return uid, token, project


def new_ticket(browser):
    r = browser.post("/api/v1/console/tickets")
    d = expect_ok(r, 201)
    return d["ticket"]


def confirmed_ticket(browser, api, token):
    ticket = new_ticket(browser)
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token))
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=token))
    return ticket


def login(browser, api, token):
    """The whole flow up to a session; returns the session's data."""
    ticket = confirmed_ticket(browser, api, token)
    d = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert d["state"] == "confirmed" and d["session"], d
    return d["session"]


def test_whole_flow(browser, api, staff, db, fake):
    uid, token, project = staff
    fake.reset()
    r = browser.post("/api/v1/console/tickets")
    d = expect_ok(r, 201)
    ticket = d["ticket"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", ticket)
    assert d["state"] == "waiting" and d["expires_in"] == 120
    assert d["qrcode_url"] == f"/api/v1/console/tickets/{ticket}/qrcode"
    assert d["page"] == "pages/console-login/index"
    attrs = browser.cookie_attrs("console_ticket")
    assert set(attrs) >= {"Path=/api/v1/console", "Max-Age=120", "HttpOnly", "Secure", "SameSite=Strict"}, attrs
    nonce = browser.cookies["console_ticket"]
    row = db.one("SELECT state, nonce_hash, user_agent FROM console_tickets WHERE id = %s", (ticket,))
    assert row["state"] == "waiting" and row["user_agent"].startswith("Mozilla/5.0")
    assert nonce not in row["nonce_hash"] and len(row["nonce_hash"]) == 64  # only the hash is stored

    # the code image, from getwxacodeunlimit with the ticket as its scene
    r = browser.get(d["qrcode_url"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text[:200]
    assert r.content.startswith(b"\x89PNG")
    sent = fake.requests("/wxa/getwxacodeunlimit")[-1]["body"]
    assert sent["scene"] == ticket and sent["page"] == "pages/console-login/index" and sent["check_path"] is False

    poll = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert poll["state"] == "waiting" and poll["session"] is None and poll["scanned_by"] is None

    # the mini-program: scan shows the browser, confirm logs it in
    scan = expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token))
    assert scan["state"] == "scanned" and scan["ticket"] == ticket
    assert scan["browser"]["ip_masked"] == "127.0.0.*"
    assert scan["browser"]["user_agent"] == browser.user_agent
    assert "ip" not in scan["browser"]
    poll = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert poll["state"] == "scanned" and poll["scanned_by"] == {"display_name": "王主管"}
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=token))

    poll = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert poll["state"] == "confirmed" and poll["redeemed"] is True
    session = poll["session"]
    assert session["user"]["id"] == uid and session["user"]["display_name"] == "王主管"
    assert "supervisor" in session["user"]["roles"]
    assert {"project_id": project, "role": "supervisor"}.items() <= session["projects"][0].items()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session["csrf_token"])
    attrs = browser.cookie_attrs("console_session")
    assert set(attrs) >= {"Path=/", "HttpOnly", "Secure", "SameSite=Strict"}, attrs
    assert "console_ticket" not in browser.cookies  # cleared with the redeem
    secret = browser.cookies["console_session"]
    row = db.one("SELECT token_hash, user_id, ended_at, ticket_id FROM console_sessions WHERE ticket_id = %s",
                 (ticket,))
    assert row["user_id"] == uid and row["ended_at"] is None and secret not in row["token_hash"]
    assert db.scalar("SELECT state FROM console_tickets WHERE id = %s", (ticket,)) == "redeemed"
    audit = db.one("SELECT actor_user_id, target_type, JSON_VALUE(detail, '$.ticket') AS ticket FROM audit_log"
                   " WHERE action = 'console.login' AND JSON_VALUE(detail, '$.ticket') = %s", (ticket,))
    assert audit["actor_user_id"] == uid and audit["target_type"] == "console_session"

    # the cookie is a session for the console's routes and every other route
    who = expect_ok(browser.get("/api/v1/console/session"))
    assert who["user"]["id"] == uid and who["csrf_token"] == session["csrf_token"]
    assert expect_ok(browser.get("/api/v1/me"))["id"] == uid
    expect_ok(browser.get(f"/api/v1/admin/repairs/stats?project={project}"))

    # polled again with the nonce (cleared by the redeem, kept by another tab): confirmed, no second session
    expect_error(browser.get(f"/api/v1/console/tickets/{ticket}", cookies={}), 403, "TICKET_NOT_YOURS")
    again = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}", cookies={"console_ticket": nonce}))
    assert again["state"] == "confirmed" and again["session"] is None
    assert db.scalar("SELECT COUNT(*) FROM console_sessions WHERE ticket_id = %s", (ticket,)) == 1


def test_a_poll_without_the_nonce_never_gets_a_session(browser, stack, api, staff, db):
    uid, token, _ = staff
    ticket = new_ticket(browser)
    thief = Browser(stack.url, stack.ca_cert)  # photographed the code: knows the ticket, not the nonce
    expect_error(thief.get(f"/api/v1/console/tickets/{ticket}"), 403, "TICKET_NOT_YOURS")
    expect_error(thief.get(f"/api/v1/console/tickets/{ticket}/qrcode"), 403, "TICKET_NOT_YOURS")
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token))
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=token))
    for cookies in ({}, {"console_ticket": "A" * 43}, {"console_ticket": browser.cookies["console_ticket"][:-1] + "x"}):
        r = thief.get(f"/api/v1/console/tickets/{ticket}", cookies=cookies)
        expect_error(r, 403, "TICKET_NOT_YOURS")
        assert "console_session" not in thief.cookies
    assert db.scalar("SELECT COUNT(*) FROM console_sessions WHERE ticket_id = %s", (ticket,)) == 0
    assert db.scalar("SELECT state FROM console_tickets WHERE id = %s", (ticket,)) == "confirmed"
    # the browser that asked still can
    assert expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))["session"]
    expect_error(thief.get("/api/v1/console/tickets/AAAAAAAAAAAAAAAA"), 404, "NOT_FOUND")
    expect_error(thief.get("/api/v1/console/tickets/short"), 404, "NOT_FOUND")


def test_a_ticket_redeems_once(browser, stack, api, staff, db):
    uid, token, _ = staff
    ticket = confirmed_ticket(browser, api, token)
    results, barrier = [], threading.Barrier(4)

    def poll():
        b = Browser(stack.url, stack.ca_cert)
        b.cookies = dict(browser.cookies)
        barrier.wait()
        results.append(b.get(f"/api/v1/console/tickets/{ticket}"))

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    datas = [expect_ok(r) for r in results]
    assert all(d["state"] == "confirmed" for d in datas)
    assert sum(1 for d in datas if d["session"]) == 1, datas
    assert sum(1 for r in results if r.raw.headers.getlist("Set-Cookie")) == 1
    assert db.scalar("SELECT COUNT(*) FROM console_sessions WHERE ticket_id = %s", (ticket,)) == 1
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'console.login'"
                     " AND JSON_VALUE(detail, '$.ticket') = %s", (ticket,)) == 1


def test_an_expired_ticket_cannot_be_used(browser, api, staff, db):
    uid, token, _ = staff
    ticket = new_ticket(browser)
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token))
    # the ticket's clock is the database's: age the row past its lifetime
    db.exec("UPDATE console_tickets SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (ticket,))
    assert expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))["state"] == "expired"
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=token), 410, "TICKET_EXPIRED")
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token), 410, "TICKET_EXPIRED")
    expect_error(browser.get(f"/api/v1/console/tickets/{ticket}/qrcode"), 410, "TICKET_EXPIRED")

    # confirmed, then expired before the poll: no session
    ticket = confirmed_ticket(browser, api, token)
    db.exec("UPDATE console_tickets SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (ticket,))
    d = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert d["state"] == "expired" and d["session"] is None
    assert db.scalar("SELECT COUNT(*) FROM console_sessions WHERE ticket_id = %s", (ticket,)) == 0


def test_only_enabled_staff_can_confirm(browser, api, factory, db, staff):
    ticket = new_ticket(browser)
    _, owner_token = factory.user()  # a customer: no staff role
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=owner_token), 403, "FORBIDDEN")
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=owner_token), 403, "FORBIDDEN")
    assert db.scalar("SELECT state FROM console_tickets WHERE id = %s", (ticket,)) == "waiting"

    engineer, engineer_token = factory.user(roles=[("engineer", factory.project())])
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=engineer_token))
    _, admin_token = factory.user(roles=[("admin", 0)])
    expect_ok(api.post(f"/api/v1/admin/users/{engineer}/disable", token=admin_token, json={"reason": "left the company"}))
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=engineer_token), 403, "USER_DISABLED")
    assert db.scalar("SELECT state FROM console_tickets WHERE id = %s", (ticket,)) == "scanned"

    # another staff member cannot take over a code someone else scanned
    _, other_token, _ = staff
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=other_token), 409, "CONFLICT")
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=other_token), 409, "CONFLICT")
    # and confirming needs a scan first
    ticket2 = new_ticket(browser)
    expect_error(api.post(f"/api/v1/console/tickets/{ticket2}/confirm", token=other_token), 409, "CONFLICT")


def test_reject(browser, api, staff, db):
    uid, token, _ = staff
    ticket = new_ticket(browser)
    expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/scan", token=token))
    d = expect_ok(api.post(f"/api/v1/console/tickets/{ticket}/reject", token=token))
    assert d["state"] == "rejected"
    poll = expect_ok(browser.get(f"/api/v1/console/tickets/{ticket}"))
    assert poll["state"] == "rejected" and poll["session"] is None
    expect_error(api.post(f"/api/v1/console/tickets/{ticket}/confirm", token=token), 409, "CONFLICT")
    assert db.scalar("SELECT actor_user_id FROM audit_log WHERE action = 'console.login_rejected'"
                     " AND JSON_VALUE(detail, '$.ticket') = %s", (ticket,)) == uid
    assert db.scalar("SELECT COUNT(*) FROM console_sessions WHERE ticket_id = %s", (ticket,)) == 0


def test_csrf_on_writes_made_with_the_cookie(browser, api, staff, db):
    uid, token, _ = staff
    session = login(browser, api, token)
    # no token, a wrong token: refused before the route runs
    expect_error(browser.post("/api/v1/console/logout"), 403, "CSRF_INVALID")
    expect_error(browser.post("/api/v1/console/logout", headers={"X-CSRF-Token": "A" * 43}), 403, "CSRF_INVALID")
    expect_error(browser.post("/api/v1/auth/logout"), 403, "CSRF_INVALID")  # an existing route: the same rule
    expect_error(browser.post("/api/v1/admin/repair-followups/999999999/done", json={"note": "x"}),
                 403, "CSRF_INVALID")
    assert db.scalar("SELECT ended_at FROM console_sessions WHERE user_id = %s AND ended_at IS NULL LIMIT 1",
                     (uid,)) is None
    expect_ok(browser.get("/api/v1/console/session"))  # still signed in
    # with the token the write reaches the route
    r = browser.post("/api/v1/admin/repair-followups/999999999/done", json={"note": "x"},
                     headers={"X-CSRF-Token": session["csrf_token"]})
    expect_error(r, 404, "NOT_FOUND")
    # the bearer token needs no CSRF token (the mini-program)
    expect_error(api.post("/api/v1/admin/repair-followups/999999999/done", token=token, json={"note": "x"}),
                 404, "NOT_FOUND")


def test_logout_ends_the_session(browser, api, staff, db):
    uid, token, _ = staff
    session = login(browser, api, token)
    cookie = dict(browser.cookies)
    d = expect_ok(browser.post("/api/v1/console/logout", headers={"X-CSRF-Token": session["csrf_token"]}))
    assert d == {"logged_out": True}
    assert "console_session" not in browser.cookies
    assert "Max-Age=0" in browser.cookie_attrs("console_session")
    expect_error(browser.get("/api/v1/console/session", cookies=cookie), 401, "TOKEN_REVOKED")
    expect_error(browser.get("/api/v1/me", cookies=cookie), 401, "TOKEN_REVOKED")
    sid = db.scalar("SELECT session_id FROM console_sessions WHERE user_id = %s AND end_reason = 'logout'", (uid,))
    assert sid
    assert db.scalar("SELECT actor_user_id FROM audit_log WHERE action = 'console.logout'"
                     " AND JSON_VALUE(detail, '$.session_id') = %s", (sid,)) == uid
    # the bearer token of the same user is untouched
    expect_ok(api.get("/api/v1/me", token=token))


def test_session_routes_want_the_cookie(api, staff, browser):
    uid, token, _ = staff
    expect_error(api.get("/api/v1/console/session", token=token), 401, "UNAUTHENTICATED")
    expect_error(api.post("/api/v1/console/logout", token=token), 401, "UNAUTHENTICATED")
    expect_error(browser.get("/api/v1/console/session"), 401, "UNAUTHENTICATED")
    expect_error(browser.get("/api/v1/console/session", cookies={"console_session": "A" * 43}), 401, "TOKEN_INVALID")


def test_idle_and_absolute_expiry(browser, api, staff, db):
    uid, token, _ = staff
    login(browser, api, token)
    sid = db.scalar("SELECT session_id FROM console_sessions WHERE user_id = %s ORDER BY id DESC LIMIT 1", (uid,))
    expect_ok(browser.get("/api/v1/console/session"))
    # a request renews last_seen_at; one idle longer than console_session_idle_s (1800) ends the session
    db.exec("UPDATE console_sessions SET last_seen_at = NOW(3) - INTERVAL 1801 SECOND WHERE session_id = %s", (sid,))
    expect_error(browser.get("/api/v1/console/session"), 401, "TOKEN_EXPIRED")
    row = db.one("SELECT ended_at, end_reason FROM console_sessions WHERE session_id = %s", (sid,))
    assert row["ended_at"] is not None and row["end_reason"] == "idle"
    expect_error(browser.get("/api/v1/me"), 401, "TOKEN_REVOKED")  # ended for good

    browser.cookies.clear()
    login(browser, api, token)
    sid = db.scalar("SELECT session_id FROM console_sessions WHERE user_id = %s ORDER BY id DESC LIMIT 1", (uid,))
    db.exec("UPDATE console_sessions SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE session_id = %s", (sid,))
    expect_error(browser.get("/api/v1/me"), 401, "TOKEN_EXPIRED")
    assert db.scalar("SELECT end_reason FROM console_sessions WHERE session_id = %s", (sid,)) == "expired"


def test_disabled_user_and_revoked_role_end_the_session(browser, stack, api, factory, db):
    project = factory.project()
    uid, token = factory.user(roles=[("supervisor", project)])
    login(browser, api, token)
    _, admin_token = factory.user(roles=[("admin", 0)])
    expect_ok(api.post(f"/api/v1/admin/users/{uid}/disable", token=admin_token, json={"reason": "left the company"}))
    expect_error(browser.get("/api/v1/console/session"), 403, "USER_DISABLED")
    assert db.scalar("SELECT end_reason FROM console_sessions WHERE user_id = %s ORDER BY id DESC LIMIT 1",
                     (uid,)) == "disabled"

    uid2, token2 = factory.user(roles=[("agent", project)])
    b2 = Browser(stack.url, stack.ca_cert)
    login(b2, api, token2)
    db.exec("DELETE FROM staff_roles WHERE user_id = %s", (uid2,))
    expect_error(b2.get("/api/v1/me"), 401, "TOKEN_REVOKED")
    assert db.scalar("SELECT end_reason FROM console_sessions WHERE user_id = %s", (uid2,)) == "role_revoked"


def test_rate_limits(stack, factory):
    gw = stack.start_gateway({"rate_console_ip": "3/min burst 3"}, name="gw_console_rate")
    b = Browser(gw.url, stack.ca_cert)
    for _ in range(2):
        expect_ok(b.post("/api/v1/console/tickets"), 201)
    ticket = b.post("/api/v1/console/tickets").json()["data"]["ticket"]
    r = b.post("/api/v1/console/tickets")
    expect_error(r, 429, "RATE_LIMITED")
    assert int(r.headers["Retry-After"]) >= 1
    expect_error(b.get(f"/api/v1/console/tickets/{ticket}"), 429, "RATE_LIMITED")  # polls share the bucket
    gw.stop()


# ---- the static files ----------------------------------------------------------

def test_console_index_and_headers(api):
    for path in ("/console/", "/console", "/console/dashboard", "/console/repairs/12"):
        r = api.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["Content-Security-Policy"] == CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert '<div id="app">' in r.text
        # no inline script: every <script> has a src
        for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", r.text, re.S):
            assert "src=" in attrs and not body.strip()
    index = api.get("/console/").text
    assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', index)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for a in assets:
        r = api.get(a)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert r.headers["Content-Type"] == ("text/javascript; charset=utf-8" if a.endswith(".js")
                                             else "text/css; charset=utf-8")
        assert r.headers["Content-Security-Policy"] == CSP


def test_console_missing_and_methods(api):
    r = api.get("/console/assets/missing-abc123.js")
    assert r.status_code == 404
    assert r.headers["Content-Security-Policy"] == CSP
    assert api.post("/console/").status_code == 405


def raw_get(stack, path):
    """GET with the path sent exactly as written (no client-side normalising)."""
    ctx = ssl.create_default_context(cafile=stack.ca_cert)
    host, port = stack.url.split("//")[1].split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.mark.parametrize("path", [
    "/console/../../../../etc/passwd",
    "/console/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/console/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/console/assets/..%2f..%2f..%2fgateway.conf",
    "/console/assets/%2e%2e/%2e%2e/gateway.conf",
    "/console/..%5c..%5cgateway.conf",
    "/console/.%2e/.%2e/tls.key",
])
def test_console_no_traversal(stack, path):
    status, body = raw_get(stack, path)
    assert b"root:" not in body and b"PRIVATE KEY" not in body and b"db_password" not in body
    assert b"db_socket" not in body
    assert status in (200, 404)
    if status == 200:  # only ever index.html (a client-side route)
        assert b'<div id="app">' in body
