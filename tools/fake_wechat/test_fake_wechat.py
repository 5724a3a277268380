"""Self-test of the fake WeChat server: /usr/bin/python3 -m pytest tools/fake_wechat -q

The fake runs as a real subprocess (CLI, --port 0, --port-file) and is driven over HTTP.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_push  # noqa: E402  (safe-mode crypto)
import fake_rules  # noqa: E402  (unit tests of the value rules)

PYTHON = "/usr/bin/python3"
SCRIPT = os.path.join(HERE, "fake_wechat.py")
APPID, SECRET = "wxfakeappid", "fakesecret"
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


# ---- harness -------------------------------------------------------------------

# Waits end as soon as their condition holds; the limit only bounds a failure,
# so it is generous (the machine may be loaded).
WAIT_S = 30


def wait_for(predicate, what, timeout=WAIT_S):
    """Polls predicate until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        time.sleep(0.02)


def start_fake(tmp_path, *args, env=None):
    port_file = tmp_path / f"port.{time.monotonic_ns()}"
    log = open(tmp_path / "fake.log", "ab")
    proc = subprocess.Popen([PYTHON, SCRIPT, "--port", "0", "--port-file", str(port_file), *args],
                            stdout=log, stderr=log, env={**os.environ, **(env or {})})

    def started():
        if proc.poll() is not None:
            raise RuntimeError("fake exited; see " + str(tmp_path / "fake.log"))
        return port_file.exists()

    try:
        wait_for(started, "the fake's port file")
    except BaseException:
        proc.kill()
        raise
    return proc, int(port_file.read_text()), port_file


class Fake:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, query=None, body=None, raw=None, headers=None):
        """-> (status, headers, parsed JSON or bytes)"""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, url, body=data, headers=headers or {})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        if resp.getheader("Content-Type", "").startswith("application/json"):
            payload = json.loads(payload)
        return resp.status, resp, payload

    def get(self, path, **query):
        return self.call("GET", path, query)

    def post(self, path, body=None, **query):
        return self.call("POST", path, query, body)

    def control(self, name, body=None, method="POST"):
        status, _, obj = self.call(method, "/__fake/" + name, body=body)
        assert status == 200, obj
        return obj

    def token(self):
        status, _, obj = self.get("/cgi-bin/token", grant_type="client_credential",
                                  appid=APPID, secret=SECRET)
        assert status == 200, obj
        return obj["access_token"]

    def login(self, code):
        return self.get("/sns/jscode2session", appid=APPID, secret=SECRET, js_code=code,
                        grant_type="authorization_code")[2]

    def api(self, path, body, token=None):
        """POST a token-protected API; -> parsed JSON (or bytes)."""
        return self.post(path, body, access_token=token or self.token())[2]


def errcode_of(obj):
    assert RID.search(obj["errmsg"]), obj
    return obj["errcode"]


@pytest.fixture(scope="module")
def fake_proc(tmp_path_factory):
    proc, port, _ = start_fake(tmp_path_factory.mktemp("fake"))
    yield Fake(port)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def fake(fake_proc):
    fake_proc.control("reset")
    return fake_proc


class PushReceiver:
    """A stand-in for the gateway's message-push endpoint."""

    def __init__(self):
        self.received = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, text):
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                received.put(("GET", query, None))
                self._answer(query.get("echostr", ""))

            def do_POST(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.put(("POST", query, body))
                self._answer("success")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wx/push"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.close()


def wx_signature(token, timestamp, nonce):
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


# ---- process / HTTP ----------------------------------------------------------------

def test_port_file_env_config_and_sigterm(tmp_path):
    proc, port, port_file = start_fake(tmp_path, env={"FAKE_WECHAT_APPID": "wxenvappid",
                                                     "FAKE_WECHAT_SECRET": "envsecret",
                                                     "FAKE_WECHAT_TOKEN_TTL": "3"})
    try:
        assert port_file.read_text() == f"{port}\n"
        status, _, obj = Fake(port).get("/cgi-bin/token", grant_type="client_credential",
                                        appid="wxenvappid", secret="envsecret")
        assert status == 200 and obj["expires_in"] == 3 and "errcode" not in obj
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not port_file.exists()


def test_sigint_exits_cleanly(tmp_path):
    proc, _, _ = start_fake(tmp_path, "--quiet")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def test_keep_alive_and_content_length(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    for _ in range(3):  # same connection each time
        conn.request("GET", "/nope")
        resp = conn.getresponse()
        body = resp.read()
        assert resp.version == 11 and resp.status == 200
        assert int(resp.getheader("Content-Length")) == len(body)
        assert resp.getheader("Content-Type") == "application/json; encoding=utf-8"
    conn.close()


def test_unknown_path_wrong_method_and_retired_endpoints(fake):
    assert errcode_of(fake.get("/sns/jsCode2Session")[2]) == 40066  # paths are case-sensitive
    assert errcode_of(fake.get("/cgi-bin/message/subscribe/send")[2]) == 43002
    assert errcode_of(fake.post("/cgi-bin/token", {})[2]) == 43001
    assert errcode_of(fake.post("/cgi-bin/message/wxopen/template/uniform_send", {})[2]) == 45109
    assert errcode_of(fake.post("/cgi-bin/message/wxopen/template/send", {})[2]) == 45103


# ---- access token ------------------------------------------------------------------

def test_token_success_and_validation(fake):
    status, _, obj = fake.get("/cgi-bin/token", grant_type="client_credential",
                              appid=APPID, secret=SECRET)
    assert status == 200
    assert set(obj) == {"access_token", "expires_in", "_fake"}
    assert obj["expires_in"] == 7200 and len(obj["access_token"]) > 100
    bad = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    for change, code in (({"grant_type": "x"}, 40002), ({"appid": "wxother"}, 40013),
                         ({"secret": "wrong"}, 40125), ({"appid": ""}, 41002)):
        status, _, obj = fake.get("/cgi-bin/token", **{**bad, **change})
        assert status == 200 and errcode_of(obj) == code


def test_token_rotation_grace_and_expiry(fake):
    first, second = fake.token(), fake.token()
    assert first != second
    ok = {"version": 2, "openid": "oUser", "scene": 1, "content": "hi"}
    assert fake.api("/wxa/msg_sec_check", ok, first)["errcode"] == 0  # within grace
    fake.control("config", {"grace": 0})
    fake.token()  # supersedes second with no grace; first was already superseded
    assert errcode_of(fake.api("/wxa/msg_sec_check", ok, second)) == 40001
    # A lifetime long enough for the first call even on a loaded machine; the
    # expiry is then waited for, not slept for.
    fake.control("config", {"token_ttl": 3, "grace": 300})
    short = fake.token()
    assert fake.api("/wxa/msg_sec_check", ok, short)["errcode"] == 0
    def refused():
        obj = fake.api("/wxa/msg_sec_check", ok, short)
        return obj if obj["errcode"] else None

    assert errcode_of(wait_for(refused, "the token's expiry")) == 42001


def test_token_errors_on_protected_endpoints(fake):
    body = {"version": 2, "openid": "oUser", "scene": 1, "content": "hi"}
    assert errcode_of(fake.post("/wxa/msg_sec_check", body)[2]) == 41001
    assert errcode_of(fake.api("/wxa/msg_sec_check", body, "bogus")) == 40001
    token = fake.token()
    assert errcode_of(fake.post("/wxa/msg_sec_check", {**body, "access_token": token})[2]) == 47001
    fake.control("tokens/expire")
    assert errcode_of(fake.api("/wxa/msg_sec_check", body, token)) == 42001
    token = fake.token()
    fake.control("tokens/revoke")
    assert errcode_of(fake.api("/wxa/msg_sec_check", body, token)) == 40001
    assert fake.api("/wxa/msg_sec_check", body)["errcode"] == 0  # a fresh token works


def test_stable_token(fake):
    req = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    a = fake.post("/cgi-bin/stable_token", req)[2]
    b = fake.post("/cgi-bin/stable_token", req)[2]
    assert a["access_token"] == b["access_token"] and "errcode" not in a
    forced = fake.post("/cgi-bin/stable_token", {**req, "force_refresh": True})[2]
    assert forced["access_token"] != a["access_token"]
    body = {"version": 2, "openid": "oUser", "scene": 1, "content": "hi"}
    assert errcode_of(fake.api("/wxa/msg_sec_check", body, a["access_token"])) == 40001
    again = fake.post("/cgi-bin/stable_token", {**req, "force_refresh": True})[2]
    assert again["access_token"] == forced["access_token"]  # <30 s apart: ignored
    assert errcode_of(fake.get("/cgi-bin/stable_token")[2]) == 43002
    form = fake.call("POST", "/cgi-bin/stable_token", raw=b"grant_type=client_credential")[2]
    assert errcode_of(form) == 47001


def stable(fake, force=False):
    req = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    if force:
        req["force_refresh"] = True
    return fake.post("/cgi-bin/stable_token", req)[2]


def test_stable_token_counts_and_rejection_of_one_token(fake):
    a = stable(fake)["access_token"]
    fake.control("tokens/revoke", {"access_token": a})  # WeChat rejects that token: 40001
    body = {"version": 2, "openid": "oUser", "scene": 1, "content": "hi"}
    assert errcode_of(fake.api("/wxa/msg_sec_check", body, a)) == 40001
    b = stable(fake)["access_token"]  # a normal fetch no longer hands out the rejected token
    assert b != a
    forced = stable(fake, force=True)["access_token"]
    assert forced != b and errcode_of(fake.api("/wxa/msg_sec_check", body, b)) == 40001
    assert stable(fake, force=True)["access_token"] == forced  # <30 s apart: ignored
    assert stable(fake)["access_token"] == forced
    stats = fake.control("tokens", method="GET")["stable"]
    assert (stats["fetches"], stats["forced"], stats["force_ignored"], stats["current"]) == (5, 1, 1, forced)
    fake.control("config", {"force_min_gap_s": 0})  # tests of the caller's own coordination
    assert stable(fake, force=True)["access_token"] != forced
    status, _, obj = fake.call("POST", "/__fake/tokens/revoke", body={"access_token": "nope"})
    assert status == 400 and "unknown" in obj["error"]


def test_stable_token_daily_limits(fake):
    fake.control("config", {"force_daily_limit": 0})
    assert errcode_of(stable(fake, force=True)) == 45009
    fake.control("config", {"stable_daily_limit": 2})
    assert "errcode" not in stable(fake)  # the refused forced call was the day's first
    assert errcode_of(stable(fake)) == 45009
    stats = fake.control("tokens", method="GET")["stable"]
    assert (stats["fetches"], stats["quota_refused"]) == (1, 2)
    # /cgi-bin/token is a separate quota and keeps working
    assert fake.token()
    fake.control("config", {"stable_daily_limit": 500000, "force_daily_limit": 20})


# ---- login / session ---------------------------------------------------------------

def test_jscode2session_magic_codes(fake):
    obj = fake.login("C_oAlice")
    assert obj["openid"] == "oAlice" and "unionid" not in obj and "errcode" not in obj
    assert len(base64.b64decode(obj["session_key"])) == 16
    obj = fake.login("CU_oBob")
    assert obj["openid"] == "oBob" and obj["unionid"] == "U_oBob"
    assert errcode_of(fake.login("C_oAlice")) == 40163  # single use
    plain = fake.login("071abcDEF")
    assert plain["openid"] == "o" + hashlib.sha1(b"071abcDEF").hexdigest()[:27]
    assert len(plain["openid"]) == 28
    for code, errcode, msg in (("INVALID_x", 40029, "invalid code"),
                               ("USED_x", 40163, "code been used"),
                               ("RISKY_x", 40226, "code blocked"),
                               ("BUSY_x", -1, "system error"),
                               ("RATE_x", 45011, "api minute-quota")):
        obj = fake.login(code)
        assert errcode_of(obj) == errcode and obj["errmsg"].startswith(msg)
    assert errcode_of(fake.login("BUSY_x")) == -1  # BUSY is not consumed


def test_session_key_fixed_per_openid_and_rotation(fake):
    first = fake.login("C_oDave")["session_key"]
    fake.control("reset")  # forgets used codes, not the derivation
    assert fake.login("C_oDave")["session_key"] == first
    assert fake.control("session_key?openid=oDave", method="GET")["session_key"] == first
    token = fake.token()
    sig = hmac.new(first.encode(), b"", hashlib.sha256).hexdigest()
    query = {"access_token": token, "openid": "oDave", "signature": sig,
             "sig_method": "hmac_sha256"}
    assert errcode_of(fake.get("/wxa/checksession", **query)[2]) == 0
    fake.control("session_key", {"openid": "oDave", "session_key": "o0q0otL8aEzpcZL/FT9WsQ=="})
    assert errcode_of(fake.get("/wxa/checksession", **query)[2]) == 87009
    assert fake.login("CU_oDave")["session_key"] == "o0q0otL8aEzpcZL/FT9WsQ=="  # same openid


# ---- phone number ------------------------------------------------------------------

PHONE = "/wxa/business/getuserphonenumber"


def test_phone_number(fake):
    token = fake.token()
    obj = fake.api("/wxa/business/getuserphonenumber", {"code": "P_13800138000"}, token)
    assert errcode_of(obj) == 0
    info = obj["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == 86 and info["watermark"]["appid"] == APPID
    assert isinstance(info["watermark"]["timestamp"], int)
    obj = fake.api("/wxa/business/getuserphonenumber", {"code": "P_13900139000_S"}, token)
    assert obj["phone_info"]["countryCode"] == "86"
    for code in ("P_13800138000", "INVALID_1", "garbage"):  # reused / invalid
        assert errcode_of(fake.api(PHONE, {"code": code}, token)) == 40029
    for _ in range(2):
        assert errcode_of(fake.api(PHONE, {"code": "BUSY_1"}, token)) == -1


# ---- subscribe messages --------------------------------------------------------------

REPAIR = {"thing1": {"value": "厨房水龙头漏水"}, "character_string2": {"value": "WO-2024-0001"},
          "phrase3": {"value": "处理中"}, "time4": {"value": "2024年10月1日 15:01"},
          "thing5": {"value": "师傅已出发"}}


def send(fake, token, touser="oUser", template_id="TPL_REPAIR_STATUS", data=None, **extra):
    body = {"touser": touser, "template_id": template_id, "data": data or REPAIR, **extra}
    return fake.api("/cgi-bin/message/subscribe/send", body, token)


def test_subscribe_send_success_and_msgid(fake):
    token = fake.token()
    a = send(fake, token, page="pages/repair/detail?id=42")
    b = send(fake, token)
    assert errcode_of(a) == 0 and a["errmsg"].startswith("ok") and a["_fake"] is True
    assert isinstance(a["msgid"], int) and b["msgid"] == a["msgid"] + 1


def test_subscribe_send_errors(fake):
    token = fake.token()
    assert errcode_of(send(fake, token, touser="NOQUOTA_1")) == 43101
    assert errcode_of(send(fake, token, touser="stranger")) == 40003
    fake.login("C_stranger")  # a login makes the openid known
    assert errcode_of(send(fake, token, touser="stranger")) == 0
    assert errcode_of(send(fake, token, template_id="TPL_NOPE")) == 40037
    assert errcode_of(send(fake, token, page="pages/secret/page")) == 41030
    cases = {
        "thing1": "一" * 21,
        "phrase3": "处理中处理中",
        "character_string2": "工单1",
        "time4": "25:00",
    }
    for key, value in cases.items():
        obj = send(fake, token, data={**REPAIR, key: {"value": value}})
        assert errcode_of(obj) == 47003
        assert obj["errmsg"].startswith(f"argument invalid! data.{key}.value invalid")
    obj = send(fake, token, data={**REPAIR, "thing5": {"value": ""}})
    assert errcode_of(obj) == 47003 and "data.thing5.value" in obj["errmsg"]
    assert errcode_of(send(fake, token, data={**REPAIR, "thing1": {"value": "一" * 20}})) == 0


def test_subscribe_quota_and_templates(fake):
    token = fake.token()
    fake.control("quota", {"openid": "oUser", "template_id": "TPL_REPAIR_STATUS", "count": 1})
    assert errcode_of(send(fake, token)) == 0
    assert errcode_of(send(fake, token)) == 43101
    assert errcode_of(send(fake, token, touser="oOther")) == 0  # per (openid, template)
    fake.control("templates", {"TPL_CUSTOM": {"number1": "number", "enum2": ["A", "B"]}})
    data = {"number1": {"value": "12.5"}, "enum2": {"value": "B"}}
    assert errcode_of(send(fake, token, template_id="TPL_CUSTOM", data=data)) == 0
    data["enum2"] = {"value": "C"}
    assert errcode_of(send(fake, token, template_id="TPL_CUSTOM", data=data)) == 47003
    fake.control("reset")
    assert "TPL_CUSTOM" not in fake.control("templates", method="GET")["templates"]


@pytest.mark.parametrize("kind,value,ok", [
    ("thing", "a" * 20, True), ("thing", "a" * 21, False), ("thing", "报修：漏水 #3", True),
    ("number", "12345.67", True), ("number", "12a", False), ("number", "1" * 33, False),
    ("letter", "abcXYZ", True), ("letter", "abc1", False),
    ("symbol", "#$%", True), ("symbol", "#a", False), ("symbol", "!!!!!!", False),
    ("character_string", "WO-2024/0001", True), ("character_string", "WO一", False),
    ("character_string", "a" * 33, False),
    ("time", "15:01", True), ("time", "2019年10月1日 15:01", True),
    ("time", "2024-01-02 08:00~2024-01-02 09:30", True), ("time", "tomorrow", False),
    ("date", "2019年10月1日", True), ("date", "2024-02-03 10:00", True), ("date", "15:01", False),
    ("amount", "¥100.00", True), ("amount", "100元", True), ("amount", "abc", False),
    ("amount", "12345678901", False),
    ("phone_number", "+86-0766-66888866", True), ("phone_number", "1" * 18, False),
    ("phone_number", "138abc", False),
    ("car_number", "粤A12345", True), ("car_number", "粤A1234567", False),
    ("name", "张三", True), ("name", "张" * 11, False), ("name", "John Smith", True),
    ("name", "a" * 21, False),
    ("phrase", "已完成", True), ("phrase", "已完成已完成", False), ("phrase", "done", False),
])
def test_keyword_value_rules(kind, value, ok):
    assert fake_rules.value_ok(kind, value) is ok


# ---- QR code -----------------------------------------------------------------------

def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + payload) & 0xFFFFFFFF
        chunks.append((tag, payload))
        pos += 12 + length
    return chunks


def test_qrcode_success_is_png_with_scene(fake):
    token = fake.token()
    scene = "r=Ab1!#$&'()*+,/:;=?@-._~"
    status, resp, data = fake.post("/wxa/getwxacodeunlimit",
                                   {"scene": scene, "page": "pages/referral/index"},
                                   access_token=token)
    assert status == 200 and resp.getheader("Content-Type") == "image/png"
    assert resp.getheader("X-Fake-Scene") == scene
    chunks = dict(png_chunks(data)[:1])
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (8, 8)
    texts = dict(p.split(b"\x00", 1) for t, p in png_chunks(data) if t == b"tEXt")
    assert texts[b"scene"].decode() == scene
    idat = b"".join(p for t, p in png_chunks(data) if t == b"IDAT")
    assert len(zlib.decompress(idat)) == 8 * 9


def test_qrcode_errors(fake):
    token = fake.token()
    cases = [
        ({"scene": "a" * 33}, 40169),
        ({"scene": ""}, 40169),
        ({"scene": "a%20b"}, 40129),
        ({"scene": "中文"}, 40129),
        ({"scene": "x", "page": "pages/not/released"}, 41030),
        ({"scene": "x", "page": "/pages/index/index"}, 41030),
        ({"scene": "x", "width": 279}, 40097),
        ({"scene": "x", "width": 1281}, 40097),
        ({"scene": "x", "env_version": "beta"}, 40097),
    ]
    for body, errcode in cases:
        status, resp, obj = fake.post("/wxa/getwxacodeunlimit", body, access_token=token)
        assert status == 200, body
        assert resp.getheader("Content-Type") == "application/json; encoding=utf-8"
        assert errcode_of(obj) == errcode, body
    status, resp, _ = fake.post("/wxa/getwxacodeunlimit", {
        "scene": "a" * 32, "page": "pages/new/page", "check_path": False, "width": 1280,
        "env_version": "develop"}, access_token=token)
    assert resp.getheader("Content-Type") == "image/png"


# ---- content security ------------------------------------------------------------------

def test_msg_sec_check(fake):
    token = fake.token()
    base = {"version": 2, "openid": "oUser", "scene": 2}
    for content, suggest, label in (("hello", "pass", 100), ("REVIEW me", "review", 20001),
                                    ("so RISKY", "risky", 20006)):
        obj = fake.api("/wxa/msg_sec_check", {**base, "content": content}, token)
        assert errcode_of(obj) == 0 and obj["trace_id"]
        assert obj["result"] == {"suggest": suggest, "label": label}
        assert obj["detail"] and obj["detail"][0]["errcode"] == 0
    assert errcode_of(fake.api("/wxa/msg_sec_check", {**base, "openid": "STALE_1",
                                                      "content": "x"}, token)) == 61010
    assert errcode_of(fake.api("/wxa/msg_sec_check", {**base, "scene": 5, "content": "x"},
                               token)) == 40129
    assert errcode_of(fake.api("/wxa/msg_sec_check", base, token)) == 44002


def test_media_check_async_pushes_signed_results(fake, receiver):
    fake.control("config", {"push_url": receiver.url, "push_token": "AAAAA"})
    token = fake.token()
    expected = {}
    for url in ("https://cdn.example.com/ok.png", "https://cdn.example.com/risky.png",
                "https://cdn.example.com/broken.png"):
        obj = fake.api("/wxa/media_check_async", {"version": 2, "openid": "oUser", "scene": 3,
                                                  "media_type": 2, "media_url": url}, token)
        assert errcode_of(obj) == 0 and set(obj) == {"errcode", "errmsg", "trace_id", "_fake"}
        expected[obj["trace_id"]] = url
    for _ in range(3):
        method, query, event = receiver.received.get(timeout=WAIT_S)
        assert method == "POST"
        assert query["signature"] == wx_signature("AAAAA", query["timestamp"], query["nonce"])
        assert query["openid"] == "oUser"
        assert event["Event"] == "wxa_media_check" and event["MsgType"] == "event"
        assert event["appid"] == APPID
        url = expected.pop(event["trace_id"])
        if "broken" in url:
            assert event["status_code"] == 4294966288 and "result" not in event
        elif "risky" in url:
            assert event["result"] == {"suggest": "risky", "label": 20002}
        else:
            assert event["result"] == {"suggest": "pass", "label": 100} and event["version"] == 2
    assert not expected
    # The fake records a push with its outcome after the receiver has answered,
    # so the record may trail the delivery the receiver just saw.
    wait_for(lambda: len(fake.control("pushes", method="GET")["pushes"]) >= 3, "three recorded pushes")
    assert len(fake.control("pushes", method="GET")["pushes"]) == 3


def test_control_push_event_and_url_verification(fake, receiver):
    fake.control("config", {"push_url": receiver.url})
    got = fake.control("push", {"verify": True, "echostr": "hello123"})
    assert got["status"] == 200 and got["response"] == "hello123"
    method, query, _ = receiver.received.get(timeout=WAIT_S)
    assert method == "GET" and query["signature"] == wx_signature(
        "fakepushtoken", query["timestamp"], query["nonce"])
    event = {"ToUserName": "gh_x", "Event": "subscribe_msg_popup_event", "CreateTime": "1700000000",
             "List": {"TemplateId": "TPL_REWARD", "SubscribeStatusString": "accept"}}
    got = fake.control("push", {"event": event, "openid": "oUser", "bad_signature": True})
    assert got["status"] == 200 and got["response"] == "success"
    _, query, body = receiver.received.get(timeout=WAIT_S)
    assert body == event and query["signature"] == "0" * 40


# WeChat's published example (the WXBizMsgCrypt sample): Token spamtest, this key and
# appid, and a message pushed at 1409735669 with nonce 1320562132.
WX_SAMPLE = {
    "key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "token": "spamtest", "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669", "nonce": "1320562132", "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2"
               "LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIb"
               "gU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/H"
               "TnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyV"
               "WQLCzpu9GhglF2PE=",
}
PUSH_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def test_safe_mode_crypto_matches_wechats_example():
    s = WX_SAMPLE
    message, appid = fake_push.decrypt(s["key"], s["encrypt"])
    assert appid == s["appid"] and b"<Content><![CDATA[abcdteT]]></Content>" in message
    assert fake_push.signature(s["token"], s["timestamp"], s["nonce"], s["encrypt"]) == s["msg_signature"]
    # the same random prefix gives WeChat's ciphertext back
    assert fake_push.encrypt(s["key"], s["appid"], message, random16=_sample_random()) == s["encrypt"]
    with pytest.raises(ValueError):
        fake_push.aes_key_bytes("short")


def _sample_random():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = fake_push.aes_key_bytes(WX_SAMPLE["key"])
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return (dec.update(base64.b64decode(WX_SAMPLE["encrypt"])) + dec.finalize())[:16]


def test_safe_mode_pushes(fake, receiver):
    fake.control("config", {"push_url": receiver.url, "push_token": "AAAAA", "push_aes_key": PUSH_KEY})
    event = {"ToUserName": "gh_x", "MsgType": "event", "Event": "wxa_media_check", "trace_id": "t1"}
    got = fake.control("push", {"event": event, "openid": "oUser", "timestamp": 1700000000, "nonce": "42"})
    assert got["status"] == 200
    method, query, body = receiver.received.get(timeout=5)
    assert method == "POST" and (query["timestamp"], query["nonce"], query["encrypt_type"]) == ("1700000000", "42", "aes")
    assert query["signature"] == wx_signature("AAAAA", "1700000000", "42")
    assert query["msg_signature"] == fake_push.signature("AAAAA", "1700000000", "42", body["Encrypt"])
    assert body["ToUserName"] == "gh_fakeoriginal" and set(body) == {"ToUserName", "Encrypt"}
    message, appid = fake_push.decrypt(PUSH_KEY, body["Encrypt"])
    assert json.loads(message) == event and appid == APPID
    # spoiled pushes: each breaks exactly one thing
    fake.control("push", {"event": event, "tamper": True})
    _, query, body = receiver.received.get(timeout=5)
    assert query["msg_signature"] != fake_push.signature("AAAAA", query["timestamp"], query["nonce"], body["Encrypt"])
    fake.control("push", {"event": event, "bad_msg_signature": True})
    assert receiver.received.get(timeout=5)[1]["msg_signature"] == "0" * 40
    fake.control("push", {"event": event, "appid": "wxother"})
    assert fake_push.decrypt(PUSH_KEY, receiver.received.get(timeout=5)[2]["Encrypt"])[1] == "wxother"
    fake.control("push", {"event": event, "safe": False})
    assert receiver.received.get(timeout=5)[2] == event
    # the URL check in safe mode: echostr encrypted, signed with msg_signature
    fake.control("push", {"verify": True, "echostr": "hello123"})
    method, query, _ = receiver.received.get(timeout=5)
    assert method == "GET" and fake_push.decrypt(PUSH_KEY, query["echostr"]) == (b"hello123", APPID)
    assert query["msg_signature"] == fake_push.signature("AAAAA", query["timestamp"], query["nonce"],
                                                         query["echostr"])
    status, _, obj = fake.call("POST", "/__fake/config", body={"push_aes_key": "tooshort"})
    assert status == 400 and "43" in obj["error"]


# ---- control API -----------------------------------------------------------------------

def test_fail_injection(fake):
    fake.control("fail", {"path": "/cgi-bin/token", "errcode": -1, "count": 2})
    for _ in range(2):
        status, _, obj = fake.get("/cgi-bin/token", grant_type="client_credential",
                                  appid=APPID, secret=SECRET)
        assert status == 200 and errcode_of(obj) == -1 and obj["errmsg"].startswith("system error")
    assert fake.token()  # back to normal

    fake.control("fail", {"path": "/sns/jscode2session", "http_status": 502,
                          "body": "<html>Bad Gateway</html>"})
    status, resp, data = fake.get("/sns/jscode2session", js_code="x")
    assert status == 502 and data == b"<html>Bad Gateway</html>"

    fake.control("fail", {"path": "/sns/jscode2session", "errcode": 40164,
                          "errmsg": "invalid ip", "http_status": 503})
    status, _, obj = fake.get("/sns/jscode2session", js_code="x")
    assert status == 503 and errcode_of(obj) == 40164 and obj["errmsg"].startswith("invalid ip")

    fake.control("fail", {"path": "/cgi-bin/token", "delay_ms": 400})  # delay only
    started = time.monotonic()
    assert fake.token()
    assert time.monotonic() - started >= 0.4


def test_fail_injection_for_matching_calls_only(fake):
    token = fake.token()

    def check(openid):
        return errcode_of(fake.api("/wxa/msg_sec_check", {"version": 2, "openid": openid, "scene": 1,
                                                          "content": "hi"}, token))

    fake.control("fail", {"path": "/wxa/msg_sec_check", "errcode": -1, "count": 2,
                          "match": {"openid": "oMine"}})
    fake.control("fail", {"path": "/wxa/msg_sec_check", "errcode": 61010, "count": 1})
    # Another caller's call passes the first injection by and takes the next.
    assert check("oOther") == 61010
    assert check("oOther") == 0
    assert check("oMine") == -1
    assert check("oMine") == -1
    assert check("oMine") == 0
    # The query counts too (GET endpoints carry their arguments there).
    fake.control("fail", {"path": "/sns/jscode2session", "errcode": 40029, "match": {"js_code": "C_oQ9"}})
    assert "openid" in fake.login("C_oQ8")
    assert errcode_of(fake.login("C_oQ9")) == 40029
    assert "openid" in fake.login("C_oQ9")
    for bad in ({}, [], {"openid": {"x": 1}}):
        status, _, obj = fake.call("POST", "/__fake/fail", body={"path": "/x", "match": bad})
        assert status == 400 and obj["ok"] is False


def test_daily_quota(fake):
    fake.control("daily_quota", {"path": "/sns/jscode2session", "remain": 1})
    assert "openid" in fake.login("C_oQ1")
    assert errcode_of(fake.login("C_oQ2")) == 45009
    fake.control("daily_quota", {"path": "/sns/jscode2session", "remain": None})
    assert "openid" in fake.login("C_oQ2")


def test_request_log(fake):
    token = fake.token()
    body = {"version": 2, "openid": "oU", "scene": 1, "content": "x"}
    fake.api("/wxa/msg_sec_check", body, token)
    fake.call("POST", "/wxa/msg_sec_check", {"access_token": token}, raw=b"not json")
    fake.control("config", method="GET")  # control calls are not logged
    log = fake.control("requests", method="GET")
    assert log["counts"] == {"/cgi-bin/token": 1, "/wxa/msg_sec_check": 2}
    assert [r["path"] for r in log["requests"]] == ["/cgi-bin/token", "/wxa/msg_sec_check",
                                                     "/wxa/msg_sec_check"]
    entry = log["requests"][1]
    assert entry["method"] == "POST" and entry["query"] == {"access_token": token}
    assert entry["body"]["content"] == "x" and entry["status"] == 200 and entry["errcode"] == 0
    assert isinstance(entry["ts"], float) and "Host" in entry["headers"]
    assert log["requests"][2]["body"] == "not json"
    only = fake.call("GET", "/__fake/requests", {"path": "/cgi-bin/token"})[2]
    assert len(only["requests"]) == 1


def test_concurrent_requests_are_logged_exactly_and_codes_used_once(fake):
    def login(code):
        return fake.login(code)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(login, [f"CONC_{i}" for i in range(50)]))
    assert len({r["openid"] for r in results}) == 50
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(login, ["SAME_CODE"] * 50))
    assert sum("openid" in r for r in results) == 1
    assert sum(r.get("errcode") == 40163 for r in results) == 49
    log = fake.control("requests", method="GET")
    assert log["counts"] == {"/sns/jscode2session": 100} and len(log["requests"]) == 100


def test_quirks(fake):
    fake.control("config", {"quirks": {"errcode_as_string": True, "country_code_as_string": True,
                                       "errcode_on_success": True, "extra_fields": False}})
    assert fake.login("INVALID")["errcode"] == "40029"
    ok = fake.login("C_oQuirk")
    assert ok["errcode"] == "0" and "_fake" not in ok
    obj = fake.api("/wxa/business/getuserphonenumber", {"code": "P_13800138000"})
    assert obj["phone_info"]["countryCode"] == "86"
    fake.control("reset")
    assert fake.login("INVALID")["errcode"] == 40029


def test_control_rejects_bad_input(fake):
    status, _, obj = fake.call("POST", "/__fake/config", body={"nope": 1})
    assert status == 400 and obj["ok"] is False
    status, _, obj = fake.call("POST", "/__fake/templates", body={"T": {"x1": "weird"}})
    assert status == 400
    assert fake.call("GET", "/__fake/nothing")[0] == 404
