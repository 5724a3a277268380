"""The fake WeChat API endpoints (§10.1) and their dispatch.

handle() is the entry point: record the call, apply injected failures and latency,
check method / daily quota / access_token, run the endpoint, finalise the JSON
(rid suffix, quirks). Magic inputs are documented in README.md.
"""

import hashlib
import hmac
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Callable

import fake_push
from fake_core import ERRMSG, Reply, make_rid, wx_error
from fake_rules import scene_error, value_ok

ENV_VERSIONS = ("release", "trial", "develop")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
BROKEN_MEDIA_STATUS = 4294966288  # -1008 as uint32: URL could not be downloaded


# ---- helpers ---------------------------------------------------------------

def _ok(**fields):
    return Reply(obj={"errcode": 0, "errmsg": "ok", **fields})


def _json_body(req):
    """(dict, None) or (None, error Reply): empty -> 44002, not a JSON object -> 47001."""
    if not req.raw_body.strip():
        return None, wx_error(44002)
    if not req.json_ok or not isinstance(req.json, dict):
        return None, wx_error(47001)
    return req.json, None


def _check_app(cfg, appid, secret):
    if not appid:
        return wx_error(41002)
    if appid != cfg.appid:
        return wx_error(40013)
    if not secret:
        return wx_error(41004)
    if secret != cfg.secret:
        return wx_error(40125)
    return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _label(state, label):
    return str(label) if state.config.quirks.get("label_as_string") else label


def _success_errcode(state, obj):
    """token/jscode2session omit errcode on success unless the quirk asks for it."""
    if state.config.quirks.get("errcode_on_success"):
        obj = {"errcode": 0, "errmsg": "ok", **obj}
    return Reply(obj=obj)


# ---- access tokens (§2) ---------------------------------------------------

def _token_reply(state, tok):
    expires_in = max(1, round(tok.expires_at - time.time()))
    return _success_errcode(state, {"access_token": tok.value, "expires_in": expires_in})


def get_token(state, req):
    q = req.query
    if q.get("grant_type") != "client_credential":
        return wx_error(40002)
    err = _check_app(state.config, q.get("appid"), q.get("secret"))
    if err:
        return err
    tok = state.issue_token("token")
    state.supersede_tokens("token", keep=tok.value)
    return _token_reply(state, tok)


def _today():
    return time.strftime("%Y-%m-%d")


def _count_stable_call(state):
    """False (45009) once the day's stable_token calls reach the limit."""
    day, used = state.stable_calls_day
    used = used if day == _today() else 0
    if used >= state.config.stable_daily_limit:
        return False
    state.stable_calls_day = (_today(), used + 1)
    return True


def _force(state, now):
    """'force', 'ignore' (<force_min_gap_s, 30 s, after the previous one) or 'quota'."""
    last = state.stable_forced_at
    if last is not None and now - last < state.config.force_min_gap_s:
        return "ignore"
    day, used = state.stable_forced_day
    used = used if day == _today() else 0
    if used >= state.config.force_daily_limit:
        return "quota"
    state.stable_forced_at = now
    state.stable_forced_day = (_today(), used + 1)
    return "force"


def stable_token(state, req):
    body, err = _json_body(req)
    if err:
        return err
    if body.get("grant_type") != "client_credential":
        return wx_error(40002)
    err = _check_app(state.config, body.get("appid"), body.get("secret"))
    if err:
        return err
    stats = state.stable_stats
    if not _count_stable_call(state):
        stats["quota_refused"] += 1
        return wx_error(45009)
    now = time.time()
    current = state.tokens.get(state.stable_current)
    usable = current is not None and state.check_token(current.value) == 0
    if body.get("force_refresh") is True:
        decision = _force(state, now)
        if decision == "quota":
            stats["quota_refused"] += 1
            return wx_error(45009)
        if decision == "force":
            stats["forced"] += 1
            if current is not None:
                current.revoked = True  # a forced refresh kills the old token at once
            usable = False
        else:
            stats["force_ignored"] += 1
    # Same token while valid; a new one once it nears expiry (the old keeps its own
    # remaining lifetime, which gives the overlap). The margin is the grace window,
    # capped at half the TTL so short test TTLs still reuse tokens.
    margin = min(state.config.grace, state.config.token_ttl / 2)
    if not usable or current.expires_at - now <= margin:
        current = state.issue_token("stable")
        state.stable_current = current.value
    stats["fetches"] += 1
    return _token_reply(state, current)


def _check_access_token(state, req):
    token = req.query.get("access_token")
    if not token:
        in_body = req.json_ok and isinstance(req.json, dict) and "access_token" in req.json
        return 47001 if in_body else 41001
    return state.check_token(token)


# ---- login (§1) --------------------------------------------------------------

def _login_identity(code):
    """(openid, unionid) for a js_code that is not a magic failure."""
    if code.startswith("CU_"):
        openid = code[3:]
        return openid, ("U_" + openid) if openid else None
    if code.startswith("C_"):
        return code[2:], None
    return "o" + hashlib.sha1(code.encode()).hexdigest()[:27], None


def jscode2session(state, req):
    q = req.query
    err = _check_app(state.config, q.get("appid"), q.get("secret"))
    if err:
        return err
    if q.get("grant_type") != "authorization_code":
        return wx_error(40002)
    code = q.get("js_code")
    if not code:
        return wx_error(41008)
    if code.startswith("INVALID"):
        return wx_error(40029)
    if code.startswith("USED") or code in state.used_codes:
        return wx_error(40163)
    if code.startswith("RISKY"):
        return wx_error(40226)
    # BUSY/RATE do not consume the code: a real code stays valid after these errors.
    if code.startswith("BUSY"):
        return wx_error(-1)
    if code.startswith("RATE"):
        return wx_error(45011)
    openid, unionid = _login_identity(code)
    if not openid:
        return wx_error(40029)
    state.used_codes.add(code)
    state.known_openids.add(openid)
    obj = {"session_key": state.session_key(openid), "openid": openid}
    if unionid:
        obj["unionid"] = unionid
    return _success_errcode(state, obj)


def checksession(state, req):
    q = req.query
    openid = q.get("openid")
    if not openid:
        return wx_error(40003)
    signature = q.get("signature")
    if not signature or q.get("sig_method") != "hmac_sha256":
        return wx_error(40097)
    # key = the base64 session_key text itself (not decoded), message = ""
    expected = hmac.new(state.session_key(openid).encode(), b"", hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        return wx_error(87009)
    return _ok()


# ---- phone number (§3) -------------------------------------------------------

_PHONE_CODE = re.compile(r"P_(\d{1,20})(_S)?")


def phone_number(state, req):
    body, err = _json_body(req)
    if err:
        return err
    code = body.get("code")
    if isinstance(code, str) and code.startswith("BUSY"):
        return wx_error(-1)  # not consumed
    if isinstance(code, str) and code.startswith("RATE"):
        return wx_error(45011)
    match = _PHONE_CODE.fullmatch(code) if isinstance(code, str) else None
    if not match or code in state.used_phone_codes:
        return wx_error(40029)
    state.used_phone_codes.add(code)
    digits = match.group(1)
    as_string = match.group(2) or state.config.quirks.get("country_code_as_string")
    return _ok(phone_info={
        "phoneNumber": digits,
        "purePhoneNumber": digits,
        "countryCode": "86" if as_string else 86,
        "watermark": {"timestamp": int(time.time()), "appid": state.config.appid},
    })


# ---- subscribe messages (§4) -------------------------------------------------

def _page_released(state, page, allow_query):
    if allow_query:
        page = page.split("?", 1)[0].lstrip("/")
    return page in state.config.pages


def _value_error(key, entry, spec):
    """47003 errmsg for a bad data entry, or None."""
    value = entry.get("value") if isinstance(entry, dict) else None
    if value is None or value == "":
        return f"argument invalid! data.{key}.value is emtpy"  # sic, as WeChat spells it
    if not isinstance(value, str) or not value_ok(spec, value):
        return f"argument invalid! data.{key}.value invalid"
    return None


def subscribe_send(state, req):
    body, err = _json_body(req)
    if err:
        return err
    touser = body.get("touser")
    template_id = body.get("template_id")
    if not isinstance(touser, str) or not touser:
        return wx_error(40003)
    template = state.config.templates.get(template_id) if isinstance(template_id, str) else None
    if template is None:
        return wx_error(40037)
    if touser.startswith("NOQUOTA"):
        return wx_error(43101)
    if not touser.startswith("o") and touser not in state.known_openids:
        return wx_error(40003)
    page = body.get("page")
    if page not in (None, ""):  # no page: the card simply has no jump
        if not isinstance(page, str) or not _page_released(state, page, True):
            return wx_error(41030)
    if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
        return wx_error(47003, "argument invalid! miniprogram_state invalid")
    if body.get("lang", "zh_CN") not in LANGS:
        return wx_error(47003, "argument invalid! lang invalid")
    data = body.get("data")
    if not isinstance(data, dict):
        return wx_error(47003, "argument invalid! data is empty")
    for key, spec in template.items():  # keys not in the template are ignored
        msg = _value_error(key, data.get(key), spec)
        if msg:
            return wx_error(47003, msg)
    quota_key = (touser, template_id)
    if quota_key in state.quotas:
        if state.quotas[quota_key] <= 0:
            return wx_error(43101)
        state.quotas[quota_key] -= 1
    return _ok(msgid=state.next_msgid())


# ---- QR code (§5) ------------------------------------------------------------

def make_png(scene, text):
    """An 8x8 8-bit grayscale PNG whose pattern derives from the scene, with tEXt chunks."""
    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    bits = int.from_bytes(hashlib.sha1(scene.encode()).digest()[:8], "big")
    rows = b"".join(
        b"\x00" + bytes(0 if bits >> (y * 8 + x) & 1 else 255 for x in range(8))
        for y in range(8))  # filter byte 0 + 8 pixels per row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
    for key, value in text.items():
        png += chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace"))
    return png + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def qrcode_unlimited(state, req):
    body, err = _json_body(req)
    if err:
        return err
    scene = body.get("scene")
    errcode = scene_error(scene)
    if errcode:
        return wx_error(errcode)
    env_version = body.get("env_version", "release")
    width = body.get("width", 430)
    if env_version not in ENV_VERSIONS or not _is_int(width) or not 280 <= width <= 1280:
        return wx_error(40097)
    page = body.get("page") or state.config.pages[0]  # absent/empty: the home page
    # no leading '/', no query, ever; existence only checked with check_path (default true)
    if not isinstance(page, str) or page.startswith("/") or "?" in page:
        return wx_error(41030)
    if body.get("check_path", True) is not False and not _page_released(state, page, False):
        return wx_error(41030)
    png = make_png(scene, {"scene": scene, "page": page, "env_version": env_version,
                           "width": str(width)})
    return Reply(body=png, content_type=state.config.quirks.get("qr_content_type", "image/png"),
                 headers={"X-Fake-Scene": scene, "X-Fake-Page": page})


# ---- content security (§6) ---------------------------------------------------

def _check_user_scene(body):
    """Shared v2 checks: version 2, openid (STALE* -> 61010), scene 1..4."""
    if body.get("version") != 2:
        return wx_error(40097)
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid:
        return wx_error(40003)
    if openid.startswith("STALE"):
        return wx_error(61010)
    scene = body.get("scene")
    if not _is_int(scene) or not 1 <= scene <= 4:
        return wx_error(40129)
    return None


def msg_sec_check(state, req):
    body, err = _json_body(req)
    if err:
        return err
    content = body.get("content")
    if not isinstance(content, str) or not content:
        return wx_error(44002)
    err = _check_user_scene(body)
    if err:
        return err
    text = " ".join(str(body.get(k, "")) for k in ("content", "title", "nickname", "signature"))
    if "RISKY" in text:
        suggest, label = "risky", 20006
    elif "REVIEW" in text:
        suggest, label = "review", 20001
    else:
        suggest, label = "pass", 100
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
               "label": _label(state, label), "prob": 90 if label != 100 else 0}]
    if suggest != "pass":
        detail.append({"strategy": "keyword", "errcode": 0, "suggest": suggest,
                       "label": _label(state, label), "level": 20,
                       "keyword": "RISKY" if suggest == "risky" else "REVIEW"})
    return _ok(trace_id=make_rid(), result={"suggest": suggest, "label": _label(state, label)},
               detail=detail)


def _media_event(state, openid, trace_id, media_url):
    quirks = state.config.quirks
    now = int(time.time())
    event = {
        "ToUserName": state.config.original_id,
        "FromUserName": openid,
        "CreateTime": str(now) if quirks.get("create_time_as_string") else now,
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": state.config.appid,
        "trace_id": trace_id,
    }
    if "broken" in media_url:  # v1-style: the URL could not be downloaded
        event.update(isrisky=0, extra_info_json="", status_code=BROKEN_MEDIA_STATUS)
        return event
    suggest, label = ("risky", 20002) if "risky" in media_url else ("pass", 100)
    event.update(version=2, result={"suggest": suggest, "label": _label(state, label)},
                 detail=[{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                          "label": _label(state, label), "prob": 90 if label != 100 else 0}])
    return event


def push_options(cfg):
    """How pushes are sent under this configuration (safe mode when an AES key is set)."""
    return {"aes_key": cfg.push_aes_key, "appid": cfg.appid, "original_id": cfg.original_id}


def media_check_async(state, req):
    body, err = _json_body(req)
    if err:
        return err
    media_url = body.get("media_url")
    if not isinstance(media_url, str) or not media_url or body.get("media_type") not in (1, 2):
        return wx_error(40097)
    err = _check_user_scene(body)
    if err:
        return err
    trace_id = make_rid()
    cfg = state.config
    if cfg.push_url:
        event = _media_event(state, body["openid"], trace_id, media_url)
        fake_push.push_later(state, cfg.push_delay_ms, cfg.push_url, cfg.push_token, event,
                             openid=body["openid"], opts=push_options(cfg))
    return _ok(trace_id=trace_id)


# ---- routing -------------------------------------------------------------------

@dataclass
class Route:
    method: str  # "GET", "POST" or None (any)
    needs_token: bool
    func: Callable


def _retired(errcode):
    return lambda state, req: wx_error(errcode)


ROUTES = {
    "/cgi-bin/token": Route("GET", False, get_token),
    "/cgi-bin/stable_token": Route("POST", False, stable_token),
    "/sns/jscode2session": Route("GET", False, jscode2session),
    "/wxa/checksession": Route("GET", True, checksession),
    "/wxa/business/getuserphonenumber": Route("POST", True, phone_number),
    "/cgi-bin/message/subscribe/send": Route("POST", True, subscribe_send),
    "/wxa/getwxacodeunlimit": Route("POST", True, qrcode_unlimited),
    "/wxa/msg_sec_check": Route("POST", True, msg_sec_check),
    "/wxa/media_check_async": Route("POST", True, media_check_async),
    "/cgi-bin/message/wxopen/template/uniform_send": Route(None, False, _retired(45109)),
    "/cgi-bin/message/wxopen/template/send": Route(None, False, _retired(45103)),
}


def _dispatch(state, req):
    route = ROUTES.get(req.path)
    if route is None:
        return wx_error(40066)
    if route.method and req.method != route.method:
        return wx_error(43001 if route.method == "GET" else 43002)
    remain = state.daily_quota.get(req.path)
    if remain is not None:
        if remain <= 0:
            return wx_error(45009)
        state.daily_quota[req.path] = remain - 1
    if route.needs_token:
        errcode = _check_access_token(state, req)
        if errcode:
            return wx_error(errcode)
    return route.func(state, req)


def _injected(failure):
    if failure.body is not None:
        return Reply(status=failure.http_status or 200, body=failure.body,
                     content_type=failure.content_type)
    errcode = -1 if failure.errcode is None else failure.errcode
    errmsg = failure.errmsg or ERRMSG.get(errcode, "fake injected error")
    return Reply(status=failure.http_status or 200, obj={"errcode": errcode, "errmsg": errmsg})


def _take_failure(state, req):
    """The first injection queued for the path that applies to this call
    (one with `match` passes over other callers' calls), used once."""
    queue = state.failures.get(req.path) or []
    for i, failure in enumerate(queue):
        if failure.applies_to(req):
            failure.count -= 1
            if failure.count <= 0:
                del queue[i]
            return failure
    return None


def finalize(state, reply):
    """Serialise a JSON reply: rid suffix on errmsg, quirks, extra unknown field."""
    if reply.obj is None:
        return reply
    quirks = state.config.quirks
    obj = dict(reply.obj)
    if isinstance(obj.get("errmsg"), str):
        obj["errmsg"] = f"{obj['errmsg']} rid: {make_rid()}"
    if not obj.get("errcode") and quirks.get("extra_fields"):
        obj["_fake"] = True  # parsers must ignore unknown fields
    if "errcode" in obj and quirks.get("errcode_as_string"):
        obj["errcode"] = str(obj["errcode"])
    reply.body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return reply


def handle(state, req):
    """Answer one WeChat API call (anything outside /__fake/)."""
    with state.lock:
        entry = state.record(req)
        failure = _take_failure(state, req)
        delay_ms = state.config.latency_ms + (failure.delay_ms if failure else 0)
    if delay_ms > 0:
        time.sleep(delay_ms / 1000.0)  # outside the lock: other calls keep flowing
    with state.lock:
        if failure is not None and not failure.delay_only:
            reply = _injected(failure)
        else:
            reply = _dispatch(state, req)
        errcode = reply.obj.get("errcode") if reply.obj else None
        reply = finalize(state, reply)
        entry["status"] = reply.status
        entry["errcode"] = errcode
    return reply
