"""GET /media/:id/:variant (signed URLs), and the photo content check:
submission to WeChat's mediaCheckAsync, the verdict pushed back to
/api/v1/wechat/push (signature, URL verification, risky -> hidden,
duplicates), and the retry of a failed submission."""
import hashlib
import time
import urllib.parse

import pytest
import requests

from conftest import expect_error, expect_ok, wait_for
from repairs_support import new_ticket, world
from media_support import (PUSH_TOKEN, jpeg_size, jpeg_with_exif, png_with_text, push_url, sign,
                           start_media_gateway, stop_gateway, upload, wait_until)


@pytest.fixture(scope="module")
def media_gw(stack):
    # Resubmissions wait an hour: a test reads the state before one, then
    # makes it due itself (make_due) when it wants the retry job to act. A
    # ticket's detail stays in memory for an hour unless its row changes, so
    # that only the cache's poll of the row can drop a hidden photo there.
    gw = start_media_gateway(stack, "gw_media", {"media_check_retry_s": 3600, "repair_cache_max_age_s": 3600})
    yield gw
    stop_gateway(stack, gw)


@pytest.fixture
def gw(media_gw, fake):
    """The gateway, with the (freshly reset) fake WeChat pushing verdicts to it."""
    fake.post("/__fake/config", {"push_url": push_url(media_gw), "push_token": PUSH_TOKEN, "push_delay_ms": 50})
    return media_gw


def fetch(api, gw, path):
    return api.get(path, base=gw.url)


def row(db, upload_id):
    return db.one("SELECT * FROM uploads WHERE id = %s", (upload_id,))


def make_due(db, upload_id):
    """The upload's resubmission, due now (instead of media_check_retry_s later)."""
    db.exec("UPDATE uploads SET check_next_at = NOW(3) WHERE id = %s AND check_status = 'unchecked'", (upload_id,))


def new_upload(api, gw, token, content=None):
    return expect_ok(upload(api, gw, token, content or jpeg_with_exif(1)), 201)


def push(fake, gw, event, **kw):
    """Has the fake WeChat send a signed push now; returns {status, response}."""
    return fake.post("/__fake/push", dict(dict(event=event, url=push_url(gw), token=PUSH_TOKEN), **kw))


def no_automatic_verdicts(fake):
    fake.post("/__fake/config", {"push_url": ""})


# ---- signed URLs ----------------------------------------------------------------------

def test_signed_url_serves_and_tampering_is_403(api, factory, gw):
    _, token = factory.user()
    d = new_upload(api, gw, token)
    r = fetch(api, gw, d["url"])
    assert r.status_code == 200 and jpeg_size(r.content) == (64, 32)

    path, query = d["url"].split("?")
    q = dict(urllib.parse.parse_qsl(query))
    bad_sig = q["sig"][:-1] + ("0" if q["sig"][-1] != "0" else "1")
    for url in (f"{path}?exp={q['exp']}&sig={bad_sig}",                 # signature changed
                f"{path}?exp={int(q['exp']) + 60}&sig={q['sig']}",        # lifetime stretched
                d["url"].replace("/full?", "/thumb?"),                    # other variant, same signature
                f"{path}?exp={q['exp']}",                                 # unsigned
                f"{path}?exp=soon&sig={q['sig']}"):
        expect_error(fetch(api, gw, url), 403, "FORBIDDEN")
    expect_error(fetch(api, gw, f"/media/{d['id']}/original?exp={q['exp']}&sig={q['sig']}"), 404, "NOT_FOUND")


def test_expired_url_is_403(api, factory, gw):
    _, token = factory.user()
    d = new_upload(api, gw, token)
    expired = sign(gw, d["id"], "full", int(time.time()) - 5)
    err = expect_error(fetch(api, gw, expired), 403, "FORBIDDEN")
    assert "expired" in err["message"]
    # the same computation with a future expiry is accepted: the key is right
    r = fetch(api, gw, sign(gw, d["id"], "full", int(time.time()) + 30))
    assert r.status_code == 200
    # <= 31: the gateway's time() reads the kernel's coarse clock, which can
    # still show the previous second for a few ms after Python's clock moved on.
    assert 0 < int(r.headers["cache-control"].split("max-age=")[1]) <= 31


def test_another_users_upload_with_a_tampered_signature_is_403(api, factory, gw):
    _, token_a = factory.user()
    _, token_b = factory.user()
    mine = new_upload(api, gw, token_a)
    theirs = new_upload(api, gw, token_b, png_with_text())
    forged = mine["url"].replace(f"/media/{mine['id']}/", f"/media/{theirs['id']}/")
    expect_error(fetch(api, gw, forged), 403, "FORBIDDEN")
    assert fetch(api, gw, theirs["url"]).headers["content-type"] == "image/png"


def test_hidden_or_missing_photo_is_404(api, db, factory, gw):
    _, token = factory.user()
    d = new_upload(api, gw, token)
    db.exec("UPDATE uploads SET hidden = 1 WHERE id = %s", (d["id"],))
    expect_error(fetch(api, gw, d["url"]), 404, "NOT_FOUND")
    expect_error(fetch(api, gw, d["thumb_url"]), 404, "NOT_FOUND")
    missing = db.scalar("SELECT COALESCE(MAX(id), 0) + 1000 FROM uploads")
    expect_error(fetch(api, gw, sign(gw, missing, "full", int(time.time()) + 60)), 404, "NOT_FOUND")


# ---- the push endpoint --------------------------------------------------------------------

def test_url_verification_echoes_echostr(gw, fake):
    r = push(fake, gw, None, verify=True, echostr="8127394551234")
    assert (r["status"], r["response"]) == (200, "8127394551234")
    r = push(fake, gw, None, verify=True, echostr="1", bad_signature=True)
    assert r["status"] == 403 and '"FORBIDDEN"' in r["response"]


def signed_params(token=PUSH_TOKEN, timestamp=None, nonce=None):
    """A fresh timestamp and an unused nonce: the endpoint refuses stale and replayed ones."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = str(time.time_ns()) if nonce is None else nonce
    sig = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": timestamp, "nonce": nonce}


def test_push_signature_and_mode_checks(db, gw, fake):
    trace = f"t-unknown-{time.time_ns()}"
    event = {"MsgType": "event", "Event": "wxa_media_check", "trace_id": trace, "version": 2,
             "result": {"suggest": "pass", "label": 100}}
    r = push(fake, gw, event, bad_signature=True)
    assert r["status"] == 403 and '"FORBIDDEN"' in r["response"]
    r = push(fake, gw, event, token="some-other-token")
    assert r["status"] == 403
    expect_error(requests.post(push_url(gw), json=event, timeout=10), 403, "FORBIDDEN")  # unsigned
    assert db.scalar("SELECT COUNT(*) FROM media_check_results WHERE trace_id = %s", (trace,)) == 0
    # a correctly signed request straight from the test is accepted; the
    # verdict is kept for its trace (no upload carries it yet)
    r = requests.post(push_url(gw), params=signed_params(), json=event, timeout=10)
    assert (r.status_code, r.text) == (200, "success")
    assert db.one("SELECT suggest, label FROM media_check_results WHERE trace_id = %s", (trace,)) == \
        {"suggest": "pass", "label": "100"}
    assert db.scalar("SELECT COUNT(*) FROM uploads WHERE check_trace_id = %s", (trace,)) == 0
    # safe (AES) mode is refused with a message saying what to configure
    r = requests.post(push_url(gw), params=dict(signed_params(), encrypt_type="aes", msg_signature="x"),
                      json={"ToUserName": "gh_x", "Encrypt": "abc"}, timeout=10)
    err = expect_error(r, 400, "INVALID_FIELD", field="encrypt_type")
    assert "plaintext" in err["message"]
    # XML format is refused; other events are acknowledged and ignored
    r = requests.post(push_url(gw), params=signed_params(), data=b"<xml><MsgType>event</MsgType></xml>",
                      headers={"Content-Type": "text/xml"}, timeout=10)
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = push(fake, gw, {"MsgType": "event", "Event": "subscribe_msg_popup_event", "List": []})
    assert (r["status"], r["response"]) == (200, "success")


# ---- the content check --------------------------------------------------------------------

def submission(fake, upload_id):
    for req in fake.requests("/wxa/media_check_async"):
        if f"/media/{upload_id}/full?" in req["body"]["media_url"]:
            return req["body"]
    return None


def test_upload_is_submitted_and_the_verdict_recorded(api, db, factory, gw, fake):
    uid, token = factory.user()
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (uid,))
    d = new_upload(api, gw, token)
    body = submission(fake, d["id"])
    assert body and (body["media_type"], body["version"], body["scene"], body["openid"]) == (2, 2, 3, openid)
    assert body["media_url"].startswith(gw.http_base + f"/media/{d['id']}/full?exp=")
    # the URL handed to WeChat is fetchable under the public base and long-lived
    r = requests.get(body["media_url"], timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    exp = int(dict(urllib.parse.parse_qsl(body["media_url"].split("?")[1]))["exp"])
    assert exp > time.time() + 3600
    trace = row(db, d["id"])["check_trace_id"]
    assert trace  # recorded before the 201
    # the fake pushes pass/100 shortly after
    got = wait_until(lambda: row(db, d["id"])["check_status"] == "pass" and row(db, d["id"]), what="the verdict")
    assert (got["check_label"], got["hidden"], got["check_trace_id"]) == ("100", 0, trace)
    assert got["checked_at"] is not None
    assert db.one("SELECT suggest, label FROM media_check_results WHERE trace_id = %s", (trace,)) == \
        {"suggest": "pass", "label": "100"}
    assert fetch(api, gw, d["url"]).status_code == 200


def test_risky_verdict_hides_the_photo_and_duplicates_are_harmless(api, db, factory, gw, fake):
    no_automatic_verdicts(fake)
    _, token = factory.user()
    d = new_upload(api, gw, token)
    pending = row(db, d["id"])
    assert pending["check_status"] == "pending" and pending["check_trace_id"]
    trace = pending["check_trace_id"]
    event = {"ToUserName": "gh_fake", "FromUserName": "o_x", "CreateTime": int(time.time()), "MsgType": "event",
             "Event": "wxa_media_check", "appid": "wxfakeappid", "trace_id": trace, "version": 2,
             "result": {"suggest": "risky", "label": "20002"},
             "detail": [{"strategy": "content_model", "errcode": 0, "suggest": "risky", "label": 20002,
                         "prob": 90}]}
    # a forged verdict changes nothing
    assert push(fake, gw, event, bad_signature=True)["status"] == 403
    assert row(db, d["id"])["check_status"] == "pending"

    r = push(fake, gw, event)
    assert (r["status"], r["response"]) == (200, "success")
    got = row(db, d["id"])
    assert (got["check_status"], got["hidden"], got["check_label"]) == ("risky", 1, "20002")
    expect_error(fetch(api, gw, d["url"]), 404, "NOT_FOUND")
    expect_error(fetch(api, gw, d["thumb_url"]), 404, "NOT_FOUND")

    # WeChat retries: the same push again, then a contradicting one, change nothing
    assert push(fake, gw, event)["response"] == "success"
    assert push(fake, gw, dict(event, result={"suggest": "pass", "label": 100}))["response"] == "success"
    again = row(db, d["id"])
    assert (again["check_status"], again["hidden"], again["checked_at"]) == ("risky", 1, got["checked_at"])
    assert db.one("SELECT suggest, label FROM media_check_results WHERE trace_id = %s", (trace,)) == \
        {"suggest": "risky", "label": "20002"}


def test_risky_verdict_on_a_tickets_photo_takes_it_out_of_the_owners_detail(api, db, factory, gw, fake):
    """The verdict writes the ticket's row with the upload, so that the
    owner's detail kept in memory is dropped by the cache's poll of the row
    and the ticket's stored view is rendered again (domain/repairs/
    repair_view.h, rule 3): the owner's next reads list the other photo
    only."""
    no_automatic_verdicts(fake)
    w = world(factory, db)
    kept, risky = (new_upload(api, gw, w.owner_a.token)["id"] for _ in range(2))
    tid = new_ticket(api, w, photo_ids=[kept, risky])["id"]
    view = "SELECT t.updated_at AS ticket, v.ticket_updated_at AS viewed FROM repair_tickets t" \
        " JOIN repair_ticket_views v ON v.ticket_id = t.id WHERE t.id = %s"
    before = db.one(view, (tid,))
    assert before["ticket"] == before["viewed"]

    def photos():
        d = expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token, base=gw.url))
        assert [p["id"] for p in d["photos"]] == [p["id"] for p in d["timeline"][0]["photos"]]
        return [p["id"] for p in d["photos"]]

    assert photos() == [kept, risky]  # now in the gateway's memory, for an hour
    assert db.one(view, (tid,)) == before
    event = {"MsgType": "event", "Event": "wxa_media_check", "trace_id": row(db, risky)["check_trace_id"],
             "version": 2, "result": {"suggest": "risky", "label": 20002}}
    assert push(fake, gw, event)["response"] == "success"
    assert (row(db, risky)["hidden"], row(db, kept)["hidden"]) == (1, 0)
    after = db.one(view, (tid,))
    assert after["ticket"] > before["ticket"] and after["viewed"] == before["viewed"]

    wait_for(lambda: photos() == [kept], what="the owner's detail without the hidden photo")
    assert photos() == [kept]
    rendered = db.one(view, (tid,))
    assert rendered["viewed"] == rendered["ticket"] == after["ticket"]


def test_verdict_for_an_attached_photo_only_touches_the_upload(api, db, factory, gw, fake):
    no_automatic_verdicts(fake)
    _, token = factory.user()
    d = new_upload(api, gw, token)
    db.exec("UPDATE uploads SET ticket_id = 424242 WHERE id = %s", (d["id"],))
    trace = row(db, d["id"])["check_trace_id"]
    event = {"MsgType": "event", "Event": "wxa_media_check", "trace_id": trace, "version": 2,
             "result": {"suggest": "review", "label": 20001}}
    assert push(fake, gw, event)["response"] == "success"
    got = row(db, d["id"])
    assert (got["check_status"], got["hidden"], got["ticket_id"]) == ("review", 0, 424242)


def test_undownloadable_verdict_is_resubmitted(api, db, factory, gw, fake):
    no_automatic_verdicts(fake)
    _, token = factory.user()
    d = new_upload(api, gw, token)
    first = row(db, d["id"])["check_trace_id"]
    fake.post("/__fake/config", {"push_url": push_url(gw)})
    event = {"MsgType": "event", "Event": "wxa_media_check", "trace_id": first, "isrisky": 0,
             "extra_info_json": "", "status_code": 4294966288}
    assert push(fake, gw, event)["response"] == "success"
    # back to unchecked, resubmitted by the retry job under a new trace, passed by the fake
    assert row(db, d["id"])["check_status"] == "unchecked"
    make_due(db, d["id"])
    done = wait_until(lambda: row(db, d["id"])["check_status"] == "pass" and row(db, d["id"]),
                      what="the resubmission's verdict")
    assert done["check_trace_id"] != first and done["check_attempts"] == 2


def test_failed_submission_still_uploads_and_is_retried(api, db, factory, gw, fake):
    uid, token = factory.user()
    openid = db.scalar("SELECT openid FROM users WHERE id = %s", (uid,))
    # the first call and its 2 retries (this user's only: the retry job may be
    # submitting other uploads meanwhile)
    fake.fail("/wxa/media_check_async", errcode=-1, count=3, match={"openid": openid})
    d = new_upload(api, gw, token)
    got = row(db, d["id"])
    assert (got["check_status"], got["check_trace_id"], got["check_attempts"]) == ("unchecked", None, 1)
    assert fetch(api, gw, d["url"]).status_code == 200
    make_due(db, d["id"])
    done = wait_until(lambda: row(db, d["id"])["check_status"] == "pass" and row(db, d["id"]),
                      what="the retry job to resubmit")
    assert done["check_attempts"] == 2 and done["check_trace_id"]
