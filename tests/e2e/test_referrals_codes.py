"""Referral codes: stable per owner; the mini-program code image is fetched
from WeChat once with the code as scene and then served from storage; a
WeChat error is answered as an error and never stored."""
import threading

from conftest import Api


def ok_qr_calls(fake):
    return [r for r in fake.requests("/wxa/getwxacodeunlimit") if r["status"] == 200 and not r["errcode"]]


def test_code_is_stable_and_owner_only(api, factory, db):
    pid = factory.project()
    uid, token, _, _ = factory.owner_user(pid)
    first = api.get("/api/v1/referrals/code", token=token)
    assert first.status_code == 200, first.text
    d = first.json()["data"]
    assert len(d["code"]) == 8 and d["code"].isalnum() and d["code"] == d["code"].upper()
    assert d["scene"] == d["code"] and d["status"] == "active" and d["page"] == "pages/referral/index"
    assert api.get("/api/v1/referrals/code", token=token).json()["data"]["code"] == d["code"]
    assert db.query("SELECT code FROM referral_codes WHERE owner_user_id = %s", (uid,)) == [{"code": d["code"]}]
    _, buyer = factory.user()
    r = api.get("/api/v1/referrals/code", token=buyer)
    assert r.status_code == 403
    assert api.get("/api/v1/referrals/qrcode", token=buyer).status_code == 403


def test_concurrent_first_requests_make_one_code(api, factory, db, stack):
    uid, token, _, _ = factory.owner_user(factory.project())
    codes = []

    def get():
        a = Api(stack.url, stack.ca_cert)
        r = a.get("/api/v1/referrals/code", token=token)
        codes.append(r.json()["data"]["code"] if r.status_code == 200 else r.text)
        a.session.close()

    threads = [threading.Thread(target=get) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(codes)) == 1, codes
    assert db.scalar("SELECT COUNT(*) FROM referral_codes WHERE owner_user_id = %s", (uid,)) == 1


def test_qr_image_is_stored_once_and_a_wechat_error_never(api, factory, db, fake):
    uid, token, _, _ = factory.owner_user(factory.project())
    code = api.get("/api/v1/referrals/code", token=token).json()["data"]["code"]
    # WeChat refuses (daily quota): an error response, nothing stored.
    fake.fail("/wxa/getwxacodeunlimit", 45009)
    r = api.get("/api/v1/referrals/qrcode", token=token)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "RATE_LIMITED"
    assert r.headers["content-type"].startswith("application/json")
    row = db.one("SELECT qr_image, qr_content_type FROM referral_codes WHERE owner_user_id = %s", (uid,))
    assert row == {"qr_image": None, "qr_content_type": None}
    assert ok_qr_calls(fake) == []
    # Then it works: one WeChat call for two GETs, the same bytes both times.
    first = api.get("/api/v1/referrals/qrcode", token=token)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert code.encode() in first.content  # the fake embeds the scene
    second = api.get("/api/v1/referrals/qrcode", token=token)
    assert second.status_code == 200 and second.content == first.content
    calls = ok_qr_calls(fake)
    assert len(calls) == 1
    assert calls[0]["body"]["scene"] == code and calls[0]["body"]["page"] == "pages/referral/index"
    stored = db.one("SELECT qr_image, qr_content_type FROM referral_codes WHERE owner_user_id = %s", (uid,))
    assert stored["qr_image"] == first.content and stored["qr_content_type"] == "image/png"
    assert "private" in second.headers["cache-control"]


def test_qr_transport_trouble_is_not_stored(api, factory, db, fake):
    uid, token, _, _ = factory.owner_user(factory.project())
    fake.fail("/wxa/getwxacodeunlimit", http_status=502, body="<html>bad gateway</html>", count=5)
    r = api.get("/api/v1/referrals/qrcode", token=token)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "WECHAT_UNAVAILABLE"
    assert db.scalar("SELECT qr_image FROM referral_codes WHERE owner_user_id = %s", (uid,)) is None
