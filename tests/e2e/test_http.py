"""The HTTP layer: body limits and parsing, keep-alive after errors, 404/405,
request ids, /metrics, /healthz and /readyz, the plain listener behind a
proxy, --check-config and migrate."""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess

import requests

from conftest import expect_error, expect_ok, metric, unique, wait_for

LOGIN = "/api/v1/auth/login"
JSCODE = "/sns/jscode2session"
JSON_MAX_BYTES = 65536  # the gateway's default json_max_bytes
JSON_MAX_DEPTH = 16


def nested(depth):
    """An object whose nesting depth is exactly `depth`."""
    return '{"code":"x","n":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


# ---- bodies --------------------------------------------------------------------

BAD_BODIES = [
    # (body bytes, content type, status, code)
    (json.dumps({"code": "x" * JSON_MAX_BYTES}).encode(), "application/json", 413, "PAYLOAD_TOO_LARGE"),
    (b'{"code": "C_x"', "application/json", 400, "INVALID_JSON"),
    (b'{"code": "C_x"} {"b": 1}', "application/json", 400, "INVALID_JSON"),
    (b'{"code": "C_x"}x', "application/json", 400, "INVALID_JSON"),
    (nested(JSON_MAX_DEPTH + 1).encode(), "application/json", 400, "INVALID_JSON"),
    (b'["C_x"]', "application/json", 400, "INVALID_JSON"),
    (b'"C_x"', "application/json", 400, "INVALID_JSON"),
    (b"null", "application/json", 400, "INVALID_JSON"),
    (b'{"code": "\xed\xa0\x80"}', "application/json", 400, "INVALID_FIELD"),  # a UTF-16 surrogate
    (b'{"code": "\xc0\xafC_x"}', "application/json", 400, "INVALID_FIELD"),  # an overlong '/'

    (b'{"code": "C_x"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"code": "C_x"}', "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"code": "C_x"}', "application/jsonp", 415, "UNSUPPORTED_MEDIA_TYPE"),
]


def test_bad_bodies_are_refused_before_any_work(api, fake, db):
    users = db.scalar("SELECT COUNT(*) FROM users")
    for body, ctype, status, code in BAD_BODIES:
        r = api.post(LOGIN, data=body, headers={"Content-Type": ctype})
        expect_error(r, status, code)
    assert fake.count(JSCODE) == 0
    assert db.scalar("SELECT COUNT(*) FROM users") == users


def test_body_limits_accept_what_is_within_them(api, fake, db):
    openid = unique("o_body_")
    # Deep but within the limit, with a charset parameter and padding up to
    # just under json_max_bytes: accepted.
    body = nested(JSON_MAX_DEPTH).replace('"x"', json.dumps(f"C_{openid}"))
    body = body[:-1] + ',"pad":"' + "p" * (JSON_MAX_BYTES - len(body) - 10) + '"}'
    assert len(body) <= JSON_MAX_BYTES
    r = api.post(LOGIN, data=body.encode(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert expect_ok(r)["user"]["id"] == db.scalar("SELECT id FROM users WHERE openid = %s", (openid,))


def test_keep_alive_survives_error_responses(stack, fake):
    ctx = ssl.create_default_context(cafile=stack.ca_cert)
    host, port = "127.0.0.1", stack.gateway.https_port
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
    try:
        conn.connect()
        sock = conn.sock
        requests_to_send = [(body, {"Content-Type": ctype}, status) for body, ctype, status, _ in BAD_BODIES]
        requests_to_send += [
            (None, {}, 404),
            (None, {}, 405),
            (b"{}", {"Content-Type": "application/json"}, 400),
        ]
        paths = [LOGIN] * len(BAD_BODIES) + ["/api/v1/nope", LOGIN, LOGIN]
        methods = ["POST"] * len(BAD_BODIES) + ["GET", "GET", "POST"]
        seen_ids = set()
        for (body, headers, status), path, method in zip(requests_to_send, paths, methods):
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            payload = r.read()
            assert r.status == status, (path, payload)
            assert r.getheader("Content-Length") == str(len(payload))
            assert (r.getheader("Connection") or "").lower() != "close"
            assert not r.will_close, (status, r.headers)
            rid = r.getheader("X-Request-Id")
            assert json.loads(payload)["request_id"] == rid
            seen_ids.add(rid)
            assert conn.sock is sock, "the gateway closed the connection after %d" % status
        assert len(seen_ids) == len(paths)
        # The connection still serves a normal request.
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["data"] == {"status": "ok"}
        assert conn.sock is sock
    finally:
        conn.close()
    assert fake.count(JSCODE) == 0


# ---- routing -------------------------------------------------------------------

def test_not_found_and_method_not_allowed(api):
    expect_error(api.get("/api/v1/nope"), 404, "NOT_FOUND")
    expect_error(api.get("/"), 404, "NOT_FOUND")
    expect_error(api.get("/api/v1/me/"), 404, "NOT_FOUND")  # no trailing-slash aliasing
    expect_error(api.get("/api/v1/m"), 404, "NOT_FOUND")
    expect_error(api.get("/api/v1/mee"), 404, "NOT_FOUND")

    r = api.get(LOGIN)
    expect_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "POST"
    r = api.delete("/api/v1/me")
    expect_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "GET, PATCH"
    r = api.put("/api/v1/admin/staff", json={})
    expect_error(r, 405, "METHOD_NOT_ALLOWED")
    assert sorted(m.strip() for m in r.headers["allow"].split(",")) == ["DELETE", "GET", "POST"]
    # An unknown route is answered before authentication.
    expect_error(api.get("/api/v1/nope", token="garbage"), 404, "NOT_FOUND")


def test_every_response_has_a_request_id(api):
    ids = set()
    for r in (api.get("/healthz"), api.get("/readyz"), api.get("/api/v1/nope"), api.get(LOGIN),
              api.get("/api/v1/me"), api.post(LOGIN, json={})):
        rid = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{20}", rid), rid
        assert r.json()["request_id"] == rid
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("application/json")
        ids.add(rid)
    r = api.get("/metrics")
    assert re.fullmatch(r"[0-9a-f]{20}", r.headers["x-request-id"])
    ids.add(r.headers["x-request-id"])
    assert len(ids) == 7


# ---- health and metrics ------------------------------------------------------------

def test_healthz_and_readyz(api, db):
    assert expect_ok(api.get("/healthz")) == {"status": "ok"}
    data = expect_ok(api.get("/readyz"))
    assert data["status"] == "ready"
    assert data["schema_version"] == db.scalar("SELECT MAX(version) FROM schema_migrations")
    assert data["schema_version"] == max(int(f.split("_")[0]) for f in os.listdir(os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "schema"))
        if re.match(r"\d+_.*\.sql$", f))


def test_metrics(api, fake, factory):
    before = api.get("/metrics").text
    for _ in range(3):
        api.get("/healthz")
    api.get("/api/v1/nope")
    factory.user()  # one successful jscode2session
    expect_error(api.post(LOGIN, json={"code": unique("INVALID_")}), 401, "WECHAT_CODE_INVALID")
    r = api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text

    def delta(name, **labels):
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("gateway_http_requests_total", method="GET", route="/healthz", status="200") == 3
    assert delta("gateway_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert delta("gateway_http_requests_total", method="POST", route=LOGIN, status="200") >= 1
    assert delta("gateway_http_requests_total", method="POST", route=LOGIN, status="401") >= 1
    assert delta("gateway_http_requests_total", method="GET", route="/metrics", status="200") >= 1
    assert re.search(r'^gateway_http_request_duration_seconds_bucket\{route="/healthz",le="\+Inf"\} \d+$', text, re.M)
    assert delta("gateway_wechat_calls_total", endpoint="jscode2session", result="ok") >= 1
    assert delta("gateway_wechat_calls_total", endpoint="jscode2session", result="errcode_40029") >= 1
    # DB pool gauges, published by each loop thread every second.
    pool_lines = [line for line in text.splitlines() if line.startswith("gateway_db_pool")]
    assert metric(text, "gateway_db_pool_size", thread="0") == 4, pool_lines
    assert metric(text, "gateway_db_pool_size", thread="1") == 4, pool_lines
    assert re.search(r'^gateway_db_pool_busy\{thread="0"\} \d+$', text, re.M)
    assert re.search(r'^gateway_db_queue_length\{thread="0"\} \d+$', text, re.M)
    assert re.search(r"^gateway_db_queue_rejected_total \d+$", text, re.M)
    for name in ("gateway_http_requests_total", "gateway_wechat_calls_total", "gateway_db_pool_size"):
        assert f"# TYPE {name} " in text


# ---- the plain listener behind a proxy ------------------------------------------------

def log_line_for(gw, request_id):
    """The access-log line of one request (the log is written as it answers)."""
    def line():
        with open(gw.log, errors="replace") as f:
            return next((x for x in f if f"rid={request_id} " in x and "[http]" in x), None)
    return wait_for(line, what=f"the log line of {request_id} in {gw.log}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forwarded_for_is_trusted_only_from_configured_proxies(stack, api):
    port_trusting, port_not = free_port(), free_port()
    trusting = stack.start_gateway({"http_port": port_trusting, "trusted_proxies": "127.0.0.1"}, name="gw_xff")
    not_trusting = stack.start_gateway({"http_port": port_not, "trusted_proxies": ""}, name="gw_noxff")
    try:
        def ip_logged(gw, port, xff):
            r = requests.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-For": xff}, timeout=10)
            assert r.status_code == 200 and r.json()["data"] == {"status": "ok"}
            return re.search(r" ip=(\S+) ", log_line_for(gw, r.headers["x-request-id"])).group(1)

        assert ip_logged(trusting, port_trusting, "203.0.113.7") == "203.0.113.7"
        # The rightmost address that is not a trusted proxy is the client.
        assert ip_logged(trusting, port_trusting, "198.51.100.1, 203.0.113.8, 127.0.0.1") == "203.0.113.8"
        # Garbage in the header: the proxy's own address is kept.
        assert ip_logged(trusting, port_trusting, "not-an-ip") == "127.0.0.1"
        assert ip_logged(not_trusting, port_not, "203.0.113.7") == "127.0.0.1"
        # On the HTTPS listener the header is never believed.
        r = api.get("/healthz", base=trusting.url, headers={"X-Forwarded-For": "203.0.113.9"})
        assert re.search(r" ip=(\S+) ", log_line_for(trusting, r.headers["x-request-id"])).group(1) == "127.0.0.1"
    finally:
        assert trusting.stop() == 0
        assert not_trusting.stop() == 0


# ---- command line ---------------------------------------------------------------------

def run_gateway(stack, *args, env=None):
    return subprocess.run([stack.binary, "--config", stack.config_path, *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=60)


def test_check_config(stack, tmp_path):
    ok = run_gateway(stack, "--check-config")
    assert (ok.returncode, ok.stdout.strip()) == (0, "config ok"), ok.stderr

    def bad(expect_key, env=None, config=None):
        args = ["--check-config"]
        cmd = [stack.binary, "--config", config or stack.config_path, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})), timeout=60)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith(f"config: {expect_key}"), lines[0]
        assert "config ok" not in p.stdout

    bad("db_pool_size", env={"GATEWAY_DB_POOL_SIZE": "0"})
    bad("db_pool_size", env={"GATEWAY_DB_POOL_SIZE": "four"})
    bad("http2", env={"GATEWAY_HTTP2": "maybe"})
    bad("log_level", env={"GATEWAY_LOG_LEVEL": "loud"})
    bad("wechat_secret_file", env={"GATEWAY_WECHAT_SECRET_FILE": str(tmp_path / "missing")})
    with open(stack.config_path) as f:
        text = f.read()
    unknown = tmp_path / "unknown.conf"
    unknown.write_text(text + "no_such_key = 1\n")
    bad("no_such_key", config=str(unknown))
    short_keys = tmp_path / "short.conf"
    short_keys.write_text(text + "session_keys = k1=short\n")
    bad("session_keys", config=str(short_keys))
    nine_keys = ",".join(f"k{i}={'s' * 32}" for i in range(1, 10))
    bad("session_keys", env={"GATEWAY_SESSION_KEYS": nine_keys})
    eight = subprocess.run([stack.binary, "--config", stack.config_path, "--check-config"], capture_output=True,
                           text=True, env=dict(os.environ, GATEWAY_SESSION_KEYS=nine_keys.rsplit(",", 1)[0]))
    assert (eight.returncode, eight.stdout.strip()) == (0, "config ok"), eight.stderr
    # The secret never shows up in the messages.
    p = subprocess.run([stack.binary, "--config", str(short_keys), "--check-config"], capture_output=True, text=True)
    assert "short" not in p.stderr


def test_migrate_twice_applies_nothing(stack, db):
    before = db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    p = run_gateway(stack, "migrate")
    assert p.returncode == 0, p.stderr
    assert "0 applied" in p.stdout, p.stdout
    assert db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version") == before
