"""The message push endpoint's defences: stale timestamps and replayed
nonces are refused (across processes: the nonces are in the database), and
safe mode (AES, msg_signature) is accepted and checked, with plaintext
refused while it is on. Pushes are sent by the fake WeChat (fake_push.py)."""
import hashlib
import os
import subprocess
import time

import pytest
import requests

from conftest import expect_error
from media_support import PUSH_TOKEN, push_url, start_media_gateway, stop_gateway

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@pytest.fixture(scope="module")
def plain_gws(stack):
    """Two processes in plaintext mode on one database."""
    gws = [start_media_gateway(stack, f"gw_push_plain{i}") for i in (1, 2)]
    yield gws
    for gw in gws:
        stop_gateway(stack, gw)


@pytest.fixture(scope="module")
def safe_gw(stack):
    gw = start_media_gateway(stack, "gw_push_safe", {"wechat_push_aes_key": AES_KEY})
    yield gw
    stop_gateway(stack, gw)


def verdict_event(trace, suggest="pass", label=100):
    return {"ToUserName": "gh_fakeoriginal", "FromUserName": "o_push", "CreateTime": int(time.time()),
            "MsgType": "event", "Event": "wxa_media_check", "appid": "wxfakeappid", "trace_id": trace,
            "version": 2, "result": {"suggest": suggest, "label": label}}


def push(fake, gw, event, **kw):
    return fake.post("/__fake/push", dict(event=event, url=push_url(gw), token=PUSH_TOKEN, **kw))


def verdict(db, trace):
    return db.one("SELECT suggest, label FROM media_check_results WHERE trace_id = %s", (trace,))


def results(gw, result):
    text = requests.get(gw.http_base + "/metrics", timeout=10).text
    key = f'gateway_wechat_pushes_total{{result="{result}"}} '
    return next(float(line[len(key):]) for line in text.splitlines() if line.startswith(key))


def refused(r, field):
    assert r["status"] == 403, r
    assert '"FORBIDDEN"' in r["response"] and f'"field":"{field}"' in r["response"], r


def unique_trace(name):
    return f"t-{name}-{time.time_ns()}"


def test_replayed_push_is_refused_by_every_process(db, fake, plain_gws):
    gw1, gw2 = plain_gws
    trace = unique_trace("replay")
    nonce, ts = str(time.time_ns()), int(time.time())
    r = push(fake, gw1, verdict_event(trace), nonce=nonce, timestamp=ts)
    assert (r["status"], r["response"]) == (200, "success")
    assert verdict(db, trace) == {"suggest": "pass", "label": "100"}
    assert db.scalar("SELECT push_ts FROM wechat_push_nonces WHERE nonce = %s", (nonce,)) == ts
    replayed_before = results(gw2, "replayed")

    # The captured push again, to the same process and to another one, even
    # with another body: refused, and the first verdict stands.
    for gw in (gw1, gw2):
        refused(push(fake, gw, verdict_event(trace, "risky", 20002), nonce=nonce, timestamp=ts), "nonce")
    assert verdict(db, trace) == {"suggest": "pass", "label": "100"}
    assert db.scalar("SELECT COUNT(*) FROM media_check_results WHERE trace_id = %s", (trace,)) == 1
    assert results(gw2, "replayed") == replayed_before + 1


def test_stale_or_future_timestamp_is_refused(db, fake, plain_gws):
    gw = plain_gws[0]
    now = int(time.time())
    for ts in (now - 600, now + 600):
        trace = unique_trace("stale")
        refused(push(fake, gw, verdict_event(trace), timestamp=ts), "timestamp")
        assert verdict(db, trace) is None
    # the URL check too
    r = push(fake, gw, None, verify=True, echostr="42", timestamp=now - 600)
    refused(r, "timestamp")
    # a bad signature is reported as such, whatever the timestamp
    refused(push(fake, gw, verdict_event(unique_trace("sig")), timestamp=now - 600, bad_signature=True), "signature")


def test_failed_processing_leaves_the_nonce_for_the_retry(db, fake, plain_gws):
    """The nonce is stored with the event's effect: an event refused as
    invalid (here: no trace_id) consumes nothing, so a retry can still land."""
    gw = plain_gws[0]
    nonce, ts = str(time.time_ns()), int(time.time())
    bad = dict(verdict_event("x"), trace_id="")
    r = push(fake, gw, bad, nonce=nonce, timestamp=ts)
    assert r["status"] == 400 and '"field":"trace_id"' in r["response"]
    assert db.scalar("SELECT COUNT(*) FROM wechat_push_nonces WHERE nonce = %s", (nonce,)) == 0
    trace = unique_trace("retry")
    assert push(fake, gw, verdict_event(trace), nonce=nonce, timestamp=ts)["status"] == 200
    assert verdict(db, trace) == {"suggest": "pass", "label": "100"}


def test_safe_mode_push_is_decrypted_and_processed(db, fake, safe_gw):
    fake.post("/__fake/config", {"push_aes_key": AES_KEY})
    trace = unique_trace("safe")
    r = push(fake, safe_gw, verdict_event(trace, "review", "20001"))
    assert (r["status"], r["response"]) == (200, "success"), r
    assert r["query"]["encrypt_type"] == "aes" and "Encrypt" in r["sent_body"]
    assert verdict(db, trace) == {"suggest": "review", "label": "20001"}
    # the same nonce again: refused in safe mode too
    again = push(fake, safe_gw, verdict_event(trace), nonce=r["query"]["nonce"], timestamp=r["query"]["timestamp"])
    refused(again, "nonce")
    # URL verification in safe mode: the decrypted echostr comes back
    r = push(fake, safe_gw, None, verify=True, echostr="8127394551234")
    assert (r["status"], r["response"]) == (200, "8127394551234")
    assert r["query"]["echostr"] != "8127394551234"


@pytest.mark.parametrize("spoil,field", [
    ({"tamper": True}, "msg_signature"),            # ciphertext changed after signing
    ({"bad_msg_signature": True}, "msg_signature"),
    ({"tamper_resigned": True}, "Encrypt"),         # re-signed: only decryption tells
    ({"appid": "wxsomeoneelse"}, "Encrypt"),        # encrypted for another app
    ({"safe": False}, "encrypt_type"),              # plaintext while safe mode is on
])
def test_safe_mode_refuses_spoiled_pushes(db, fake, safe_gw, spoil, field):
    fake.post("/__fake/config", {"push_aes_key": AES_KEY})
    trace = unique_trace("spoiled")
    r = push(fake, safe_gw, verdict_event(trace), **spoil)
    refused(r, field)
    assert verdict(db, trace) is None
    assert db.scalar("SELECT COUNT(*) FROM wechat_push_nonces WHERE nonce = %s", (r["query"]["nonce"],)) == 0


def test_safe_mode_push_to_a_plaintext_gateway_is_refused(db, fake, plain_gws):
    trace = unique_trace("mode")
    r = push(fake, plain_gws[0], verdict_event(trace), safe=True, aes_key=AES_KEY)
    assert r["status"] == 400 and '"field":"encrypt_type"' in r["response"] and "wechat_push_aes_key" in r["response"]
    assert verdict(db, trace) is None


def test_bad_aes_key_is_refused_at_start(stack):
    env = dict(os.environ, GATEWAY_WECHAT_PUSH_AES_KEY="not-an-EncodingAESKey")
    r = subprocess.run([stack.binary, "--config", stack.config_path, "--check-config"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "config: wechat_push_aes_key:" in r.stderr, r


def signed(timestamp=None, nonce=None):
    """The query of a push signed by the test itself, as WeChat signs it."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = str(time.time_ns()) if nonce is None else nonce
    sig = hashlib.sha1("".join(sorted([PUSH_TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": timestamp, "nonce": nonce}


def test_query_parameters_keep_their_contract(db, plain_gws):
    """Every defect of a signed parameter is refused as such (403 naming it,
    counted in the push metrics), never as a 400 that would tell more; the
    other parameters follow the query contract (400 naming them, an empty
    value counts as absent)."""
    gw = plain_gws[0]
    url = push_url(gw)
    for encrypt_type in ("raw", ""):  # both mean plaintext
        trace = unique_trace("plain")
        r = requests.post(url, params=dict(signed(), encrypt_type=encrypt_type), json=verdict_event(trace), timeout=10)
        assert (r.status_code, r.text) == (200, "success")
        assert verdict(db, trace) == {"suggest": "pass", "label": "100"}
    q = dict(signed(), encrypt_type="des")
    expect_error(requests.post(url, params=q, json=verdict_event(unique_trace("des")), timeout=10),
                 400, "INVALID_FIELD", "encrypt_type")
    assert db.scalar("SELECT COUNT(*) FROM wechat_push_nonces WHERE nonce = %s", (q["nonce"],)) == 0

    stale = results(gw, "stale")
    for timestamp in ("12abc", "-5", "1" * 19):  # signed, but not a number of seconds
        expect_error(requests.post(url, params=signed(timestamp=timestamp), json=verdict_event("x"), timeout=10),
                     403, "FORBIDDEN", "timestamp")
    assert results(gw, "stale") == stale + 3
    bad = results(gw, "bad_signature")
    expect_error(requests.post(url, params=signed(nonce="n" * 65), json=verdict_event("x"), timeout=10),
                 403, "FORBIDDEN", "nonce")
    assert results(gw, "bad_signature") == bad + 1

    expect_error(requests.get(url, params=dict(signed(), echostr="e" * 513), timeout=10),
                 400, "INVALID_FIELD", "echostr")
    expect_error(requests.get(url, params=dict(signed(), echostr=""), timeout=10), 400, "MISSING_FIELD", "echostr")
    r = requests.get(url, params=dict(signed(), echostr="e" * 512), timeout=10)
    assert (r.status_code, r.text) == (200, "e" * 512)
