"""Control API under /__fake/ for tests (§10.3). Not recorded in the request log.

Replies are plain JSON: {"ok": true, ...} or HTTP 400 {"ok": false, "error": "..."}.
"""

import copy
import json

import fake_push
from fake_core import DEFAULT_QUIRKS, Failure, Reply
from fake_rules import normalize_template

CONTROL_PREFIX = "/__fake/"


class BadRequest(Exception):
    pass


def _reply(obj, status=200):
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status=status, body=body, content_type="application/json; charset=utf-8")


def _body(req):
    if not req.raw_body.strip():
        return {}
    if not req.json_ok or not isinstance(req.json, dict):
        raise BadRequest("body must be a JSON object")
    return req.json


def _int(body, key, default=None, minimum=None):
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{key} must be an integer")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{key} must be >= {minimum}")
    return value


def _number(body, key, minimum):
    value = body[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
        raise BadRequest(f"{key} must be a number >= {minimum}")
    return value


def _str(body, key, required=True):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadRequest(f"{key} must be a non-empty string")
    return value


# ---- handlers (called with state.lock held, except push) ----------------------

def fail(state, req):
    body = _body(req)
    path = _str(body, "path")
    count = _int(body, "count", 1)
    if count <= 0:  # count 0 clears what is queued for the path
        state.failures.pop(path, None)
        return {"ok": True, "queued": 0}
    errcode = body.get("errcode")
    if errcode is not None and not isinstance(errcode, (int, str)):
        raise BadRequest("errcode must be an integer (or a string, sent as-is)")
    match = body.get("match")
    if match is not None and not (isinstance(match, dict) and match
                                  and all(isinstance(v, (str, int, float, bool)) for v in match.values())):
        raise BadRequest("match must be a non-empty object of plain values")
    raw = body.get("body")
    if raw is not None and not isinstance(raw, str):
        raw = json.dumps(raw, ensure_ascii=False)  # objects are sent as their JSON text
    failure = Failure(
        count=count,
        errcode=errcode,
        errmsg=_str(body, "errmsg", required=False),
        http_status=_int(body, "http_status", minimum=100),
        delay_ms=_int(body, "delay_ms", 0, minimum=0),
        body=raw.encode() if raw is not None else None,
        content_type=body.get("content_type") or "text/plain; charset=utf-8",
        match=match,
    )
    state.failures.setdefault(path, []).append(failure)
    return {"ok": True, "queued": sum(f.count for f in state.failures[path])}


def tokens_expire(state, req):
    state.expire_tokens()
    return {"ok": True}


def tokens_revoke(state, req):
    """Every token, or only {"access_token": ...} (WeChat rejecting that one: 40001)."""
    value = _str(_body(req), "access_token", required=False)
    if not state.revoke_tokens(value):
        raise BadRequest("unknown access_token")
    return {"ok": True}


def tokens_list(state, req):
    return {"ok": True, "stable": dict(state.stable_stats, current=state.stable_current),
            "tokens": [
                {"access_token": t.value, "kind": t.kind, "issued_at": t.issued_at,
                 "expires_at": t.expires_at, "usable": state.check_token(t.value) == 0}
                for t in state.tokens.values()]}


def quota(state, req):
    body = _body(req)
    key = (_str(body, "openid"), _str(body, "template_id"))
    count = _int(body, "count")
    if count is None:  # null: back to unlimited
        state.quotas.pop(key, None)
    else:
        state.quotas[key] = count
    return {"ok": True}


def daily_quota(state, req):
    body = _body(req)
    path = _str(body, "path")
    remain = _int(body, "remain")
    if remain is None or remain < 0:  # null / negative: unlimited again
        state.daily_quota.pop(path, None)
    else:
        state.daily_quota[path] = remain
    return {"ok": True}


def session_key_set(state, req):
    body = _body(req)
    state.session_keys[_str(body, "openid")] = _str(body, "session_key")
    return {"ok": True}


def session_key_get(state, req):
    openid = req.query.get("openid")
    if not openid:
        raise BadRequest("?openid= is required")
    return {"ok": True, "openid": openid, "session_key": state.session_key(openid)}


def requests_list(state, req):
    only = req.query.get("path")
    entries = [e for e in state.requests if only is None or e["path"] == only]
    return {"requests": [dict(e) for e in entries], "counts": dict(state.counts)}


def requests_clear(state, req):
    state.requests.clear()
    state.counts.clear()
    return {"ok": True}


def reset(state, req):
    state.reset()
    return {"ok": True}


def config_get(state, req):
    return {"ok": True, "config": state.config.public()}


def config_set(state, req):
    """Validate everything on a copy first, so a bad key changes nothing."""
    body = _body(req)
    cfg = copy.deepcopy(state.config)
    for key in body:
        if key == "force_min_gap_s":
            cfg.force_min_gap_s = _number(body, key, 0)
        elif key in ("token_ttl", "grace"):
            setattr(cfg, key, _number(body, key, 0.001 if key == "token_ttl" else 0))
        elif key in ("latency_ms", "push_delay_ms", "stable_daily_limit", "force_daily_limit"):
            setattr(cfg, key, _int(body, key, minimum=0))
        elif key == "msgid_base":
            cfg.msgid_base = _int(body, key, minimum=0)
        elif key in ("appid", "secret", "push_token", "original_id"):
            setattr(cfg, key, _str(body, key))
        elif key == "push_aes_key":
            value = _str(body, key, required=False) or ""
            if value:
                try:
                    fake_push.aes_key_bytes(value)
                except ValueError as exc:
                    raise BadRequest(f"push_aes_key: {exc}") from exc
            cfg.push_aes_key = value
        elif key == "push_url":
            cfg.push_url = _str(body, key, required=False) or ""
        elif key == "pages":
            pages = body[key]
            if not (isinstance(pages, list) and pages and all(isinstance(p, str) for p in pages)):
                raise BadRequest("pages must be a non-empty list of strings")
            cfg.pages = list(pages)
        elif key == "quirks":
            quirks = body[key]
            if not isinstance(quirks, dict) or not set(quirks) <= set(DEFAULT_QUIRKS):
                raise BadRequest(f"quirks: known keys are {sorted(DEFAULT_QUIRKS)}")
            cfg.quirks.update(quirks)
        else:
            raise BadRequest(f"unknown config key {key!r}")
    state.config = cfg
    if "msgid_base" in body:
        state.msgid = cfg.msgid_base
    return {"ok": True, "config": cfg.public()}


def templates_set(state, req):
    body = _body(req)
    try:
        updates = {tid: None if spec is None else normalize_template(spec)
                   for tid, spec in body.items()}
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    for tid, spec in updates.items():
        if spec is None:  # null deletes a template
            state.config.templates.pop(tid, None)
        else:
            state.config.templates[tid] = spec
    return {"ok": True, "templates": state.config.templates}


def templates_get(state, req):
    return {"ok": True, "templates": state.config.templates}


def pushes_list(state, req):
    return {"ok": True, "pushes": list(state.pushes)}


# Keys of POST /__fake/push that shape one push (see fake_push.push_event).
PUSH_FLAGS = ("tamper", "tamper_resigned", "bad_msg_signature")


def push(state, req):
    """Send an arbitrary event (or a URL verification GET) to the push URL, synchronously.

    Safe mode follows the configuration unless "safe" says otherwise (true needs an
    "aes_key" here or in the configuration). "appid" changes the appid inside the
    ciphertext; "timestamp" and "nonce" pin those query values."""
    body = _body(req)
    with state.lock:
        cfg = state.config
        url = body.get("url") or cfg.push_url
        token = body.get("token") or cfg.push_token
        opts = {"aes_key": body.get("aes_key") or cfg.push_aes_key, "appid": cfg.appid,
                "original_id": cfg.original_id}
    if not url:
        raise BadRequest("no push_url configured (give \"url\" or set it via /__fake/config)")
    safe = body.get("safe")
    if safe is False:
        opts["aes_key"] = ""
    elif safe is True and not opts["aes_key"]:
        raise BadRequest("safe: no aes_key given or configured")
    if opts["aes_key"]:
        try:
            fake_push.aes_key_bytes(opts["aes_key"])
        except ValueError as exc:
            raise BadRequest(f"aes_key: {exc}") from exc
    if "appid" in body:
        opts["appid"] = _str(body, "appid", required=False) or ""
    for key in ("timestamp", "nonce"):
        if key in body:
            if not isinstance(body[key], (int, str)) or isinstance(body[key], bool):
                raise BadRequest(f"{key} must be an integer or a string")
            opts[key] = body[key]
    for key in PUSH_FLAGS:
        opts[key] = body.get(key) is True
    bad = body.get("bad_signature") is True
    if body.get("verify"):
        echostr = str(body.get("echostr", "fakeechostr"))
        entry = fake_push.verify_url(state, url, token, echostr, bad, opts)
    else:
        event = body.get("event")
        if not isinstance(event, (dict, list)):
            raise BadRequest("event must be a JSON object")
        entry = fake_push.push_event(state, url, token, event, body.get("openid"), bad, opts)
    return {"ok": entry["error"] is None, **entry}


# (method, path) -> (handler, holds_lock). push does network I/O so runs unlocked.
ROUTES = {
    ("GET", "health"): (lambda state, req: {"ok": True}, True),
    ("POST", "fail"): (fail, True),
    ("POST", "tokens/expire"): (tokens_expire, True),
    ("POST", "tokens/revoke"): (tokens_revoke, True),
    ("GET", "tokens"): (tokens_list, True),
    ("POST", "quota"): (quota, True),
    ("POST", "daily_quota"): (daily_quota, True),
    ("POST", "session_key"): (session_key_set, True),
    ("GET", "session_key"): (session_key_get, True),
    ("GET", "requests"): (requests_list, True),
    ("POST", "requests/clear"): (requests_clear, True),
    ("POST", "reset"): (reset, True),
    ("GET", "config"): (config_get, True),
    ("POST", "config"): (config_set, True),
    ("GET", "templates"): (templates_get, True),
    ("POST", "templates"): (templates_set, True),
    ("GET", "pushes"): (pushes_list, True),
    ("POST", "push"): (push, False),
}


def handle(state, req):
    name = req.path[len(CONTROL_PREFIX):].rstrip("/")
    route = ROUTES.get((req.method, name))
    if route is None:
        known = any(n == name for _, n in ROUTES)
        return _reply({"ok": False, "error": f"{req.method} {req.path} not supported"},
                      405 if known else 404)
    func, locked = route
    try:
        if locked:
            with state.lock:
                return _reply(func(state, req))
        return _reply(func(state, req))
    except BadRequest as exc:
        return _reply({"ok": False, "error": str(exc)}, 400)
