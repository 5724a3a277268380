"""Pushes to the gateway's message server (§7), plaintext mode.

The query carries signature = sha1(sorted [Token, timestamp, nonce] joined), exactly
what WeChat sends, so the gateway's verifier runs for real. Safe (AES) mode is not
implemented: the standard library has no AES.
"""

import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PUSH_TIMEOUT_S = 5  # WeChat itself gives the message server 5 s


def signature(token, timestamp, nonce):
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def signed_query(token, extra=None, bad_signature=False):
    timestamp = str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    sig = signature(token, timestamp, nonce)
    if bad_signature:
        sig = "0" * 40
    query = {"signature": sig, "timestamp": timestamp, "nonce": nonce}
    query.update(extra or {})
    return query


def _with_query(url, query):
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(query)


def send(url, method, query, body=None):
    """One HTTP call to the push URL. Returns {status, response, error}; never raises."""
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(_with_query(url, query), data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_S) as resp:
            return {"status": resp.status, "response": resp.read().decode("utf-8", "replace"),
                    "error": None}
    except urllib.error.HTTPError as exc:  # non-2xx: still an answer from the gateway
        return {"status": exc.code, "response": exc.read().decode("utf-8", "replace"),
                "error": None}
    except (OSError, ValueError) as exc:
        return {"status": None, "response": None, "error": str(exc)}


def push_event(state, url, token, event, openid=None, bad_signature=False):
    """POST one JSON event now; the outcome is appended to state.pushes and returned."""
    extra = {"openid": openid} if openid else {}
    query = signed_query(token, extra, bad_signature)
    outcome = send(url, "POST", query, event)
    if outcome["error"] or outcome["status"] != 200:
        print(f"[fake_wechat] push to {url} failed: status={outcome['status']} "
              f"error={outcome['error']}", file=sys.stderr, flush=True)
    entry = {"ts": time.time(), "method": "POST", "url": url, "query": query, "body": event,
             **outcome}
    with state.lock:
        state.pushes.append(entry)
    return entry


def verify_url(state, url, token, echostr, bad_signature=False):
    """The GET ?signature&timestamp&nonce&echostr check WeChat does when the URL is saved."""
    query = signed_query(token, {"echostr": echostr}, bad_signature)
    outcome = send(url, "GET", query)
    entry = {"ts": time.time(), "method": "GET", "url": url, "query": query, "body": None,
             **outcome}
    with state.lock:
        state.pushes.append(entry)
    return entry


def push_later(state, delay_ms, url, token, event, openid=None):
    """Deliver in a background thread, like WeChat's asynchronous result push."""
    def run():
        time.sleep(delay_ms / 1000.0)
        push_event(state, url, token, event, openid)

    threading.Thread(target=run, name="fake-wechat-push", daemon=True).start()
