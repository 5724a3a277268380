"""Login, phone binding and session tokens, end to end: the real gateway over
HTTPS, the real MariaDB and the fake WeChat (its magic codes: C_<openid>,
CU_<openid> with a unionid, INVALID*, P_<digits>)."""
import os
import threading
import time

import requests

import devstack
import session_token
from conftest import Fake, expect_error, expect_ok, unique, unique_phone

LOGIN = "/api/v1/auth/login"
PHONE = "/api/v1/auth/phone"
JSCODE = "/sns/jscode2session"
GETPHONE = "/wxa/business/getuserphonenumber"
TOKEN = "/cgi-bin/stable_token"


def session_key_of(fake, openid):
    return fake.get(f"/__fake/session_key?openid={openid}")["session_key"]


def signing_key(stack):
    """The first (signing) kid and secret of the test stack's session_keys."""
    return session_token.signing_key(os.path.join(stack.dir, "session_keys"))


def sign(kid, secret, user_id, expires_at, nonce="bm9uY2Vub25j"):
    """A session token in the format of gateway/session_token.h (a 12-character nonce: the earlier form)."""
    return session_token.mint(kid, secret, user_id, expires_at, session_id=nonce)


# ---- login -------------------------------------------------------------------

def test_login_creates_user_and_does_not_keep_the_session_key(api, fake, db):
    openid = unique("o_login_")
    r = api.post(LOGIN, json={"code": f"CU_{openid}"})
    data = expect_ok(r)
    key = session_key_of(fake, openid)
    assert key not in r.text
    assert "session_key" not in r.text
    assert data["token"] and data["expires_in"] > 0 and data["expires_at"] > time.time()
    user = data["user"]
    assert user["roles"] == ["buyer"]
    assert user["phone_bound"] is False and user["phone_masked"] is None

    row = db.one("SELECT id, openid, unionid, phone, last_login_at FROM users WHERE openid = %s", (openid,))
    assert row["id"] == user["id"]
    assert row["unionid"] == f"U_{openid}"
    assert row["phone"] is None and row["last_login_at"] is not None
    # No feature needs WeChat's session_key: it is neither returned nor stored.
    assert db.scalar("SELECT COUNT(*) FROM wechat_sessions WHERE user_id = %s", (user["id"],)) == 0
    assert fake.count(JSCODE) == 1

    # The token works.
    me = expect_ok(api.get("/api/v1/me", token=data["token"]))
    assert me["id"] == user["id"]

    # The same openid again (a code without unionid): the same user, the
    # unionid kept, one row.
    data2 = expect_ok(api.post(LOGIN, json={"code": f"C_{openid}"}))
    assert data2["user"]["id"] == user["id"]
    assert db.scalar("SELECT COUNT(*) FROM users WHERE openid = %s", (openid,)) == 1
    assert db.scalar("SELECT unionid FROM users WHERE id = %s", (user["id"],)) == f"U_{openid}"
    assert db.scalar("SELECT COUNT(*) FROM wechat_sessions WHERE user_id = %s", (user["id"],)) == 0


def test_login_invalid_code(api, fake, db):
    users = db.scalar("SELECT COUNT(*) FROM users")
    r = api.post(LOGIN, json={"code": unique("INVALID_")})
    expect_error(r, 401, "WECHAT_CODE_INVALID", "code")
    assert db.scalar("SELECT COUNT(*) FROM users") == users
    assert fake.count(JSCODE) == 1  # never retried


def test_login_used_code(api, fake, db):
    openid = unique("o_used_")
    code = f"C_{openid}"
    first = expect_ok(api.post(LOGIN, json={"code": code}))
    r = api.post(LOGIN, json={"code": code})
    expect_error(r, 401, "WECHAT_CODE_USED", "code")
    assert db.scalar("SELECT COUNT(*) FROM users WHERE openid = %s", (openid,)) == 1
    assert db.scalar("SELECT id FROM users WHERE openid = %s", (openid,)) == first["user"]["id"]
    assert fake.count(JSCODE) == 2


def test_login_missing_code(api, fake, db):
    users = db.scalar("SELECT COUNT(*) FROM users")
    expect_error(api.post(LOGIN, json={}), 400, "MISSING_FIELD", "code")
    expect_error(api.post(LOGIN, json={"code": None}), 400, "MISSING_FIELD", "code")
    expect_error(api.post(LOGIN), 400, "MISSING_FIELD", "code")  # no body at all
    assert fake.count(JSCODE) == 0
    assert db.scalar("SELECT COUNT(*) FROM users") == users


def test_login_wrong_type_or_length(api, fake, db):
    users = db.scalar("SELECT COUNT(*) FROM users")
    for bad in (123, True, ["C_x"], {"c": 1}, "", "x" * 129):
        expect_error(api.post(LOGIN, json={"code": bad}), 400, "INVALID_FIELD", "code")
    assert fake.count(JSCODE) == 0
    assert db.scalar("SELECT COUNT(*) FROM users") == users


def test_login_retries_wechat_busy(api, fake, db):
    openid = unique("o_busy_")
    fake.fail(JSCODE, -1, count=2)
    data = expect_ok(api.post(LOGIN, json={"code": f"C_{openid}"}))
    assert fake.count(JSCODE) == 3
    assert [q["errcode"] for q in fake.requests(JSCODE)][:2] == [-1, -1]
    assert db.scalar("SELECT id FROM users WHERE openid = %s", (openid,)) == data["user"]["id"]


def test_login_wechat_busy_beyond_retries(api, fake, db):
    openid = unique("o_down_")
    fake.fail(JSCODE, -1, count=3)
    r = api.post(LOGIN, json={"code": f"C_{openid}"})
    expect_error(r, 503, "WECHAT_UNAVAILABLE")
    assert int(r.headers["retry-after"]) > 0
    assert fake.count(JSCODE) == 3  # the first attempt and wechat_max_retries = 2
    assert db.scalar("SELECT COUNT(*) FROM users WHERE openid = %s", (openid,)) == 0


def test_login_wechat_blocked_and_rate_limited(api, fake, db):
    users = db.scalar("SELECT COUNT(*) FROM users")
    expect_error(api.post(LOGIN, json={"code": unique("RISKY_")}), 403, "WECHAT_USER_BLOCKED")
    r = api.post(LOGIN, json={"code": unique("RATE_")})
    expect_error(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) > 0
    assert fake.count(JSCODE) == 2
    assert db.scalar("SELECT COUNT(*) FROM users") == users


# ---- phone binding and the access token ----------------------------------------

def bind(api, token, phone):
    return api.post(PHONE, token=token, json={"code": f"P_{phone}"})


def phone_calls(fake):
    return [q for q in fake.requests(GETPHONE)]


def test_bind_phone_links_roster_and_leads(api, fake, db, factory):
    project = factory.project()
    unit = factory.unit(project)
    phone = unique_phone()
    factory.owner(unit, phone=phone)
    lead = db.exec("INSERT INTO leads (project_id, name, phone) VALUES (%s, %s, %s)", (project, "客户", phone))
    uid, token = factory.user()
    assert expect_ok(api.get("/api/v1/me", token=token))["roles"] == ["buyer"]

    data = expect_ok(bind(api, token, phone))
    masked = phone[:3] + "****" + phone[-4:]
    assert data["user"]["id"] == uid
    assert data["user"]["roles"] == ["buyer", "owner"]
    assert data["user"]["phone_bound"] is True
    assert data["user"]["phone_masked"] == masked
    assert data["linked"] == {"owner_units": 1, "leads": 1}
    assert phone not in api.get("/api/v1/me", token=token).text

    assert db.scalar("SELECT phone FROM users WHERE id = %s", (uid,)) == phone
    assert db.scalar("SELECT user_id FROM owners WHERE unit_id = %s", (unit,)) == uid
    assert db.scalar("SELECT user_id FROM leads WHERE id = %s", (lead,)) == uid

    me = expect_ok(api.get("/api/v1/me", token=token))
    assert me["roles"] == ["buyer", "owner"]
    assert me["phone_bound"] is True and me["phone_masked"] == masked


def test_bind_phone_bad_code_changes_nothing(api, fake, db, factory):
    unit = factory.unit()
    phone = unique_phone()
    factory.owner(unit, phone=phone)
    uid, token = factory.user()
    r = api.post(PHONE, token=token, json={"code": unique("INVALID_")})
    expect_error(r, 401, "WECHAT_CODE_INVALID", "code")
    assert db.scalar("SELECT phone FROM users WHERE id = %s", (uid,)) is None
    assert db.scalar("SELECT user_id FROM owners WHERE unit_id = %s", (unit,)) is None
    me = expect_ok(api.get("/api/v1/me", token=token))
    assert me["roles"] == ["buyer"] and me["phone_bound"] is False


def test_bind_phone_needs_login_and_code(api, fake, factory):
    expect_error(api.post(PHONE, json={"code": "P_13900000000"}), 401, "UNAUTHENTICATED")
    uid, token = factory.user()
    expect_error(api.post(PHONE, token=token, json={}), 400, "MISSING_FIELD", "code")
    expect_error(api.post(PHONE, token=token, json={"code": 5}), 400, "INVALID_FIELD", "code")
    assert fake.count(GETPHONE) == 0


def _token_refresh_after(api, fake, factory, spoil):
    """Binds once (so a token is cached), spoils the fake's tokens, binds
    again: the gateway must fetch exactly one new token and replay once."""
    uid, token = factory.user()
    expect_ok(bind(api, token, unique_phone()))
    tokens_before, phone_before = fake.count(TOKEN), fake.count(GETPHONE)
    spoil()
    phone = unique_phone()
    data = expect_ok(bind(api, token, phone))
    assert data["user"]["phone_bound"] is True
    assert fake.count(TOKEN) == tokens_before + 1
    assert fake.count(GETPHONE) == phone_before + 2
    last_two = phone_calls(fake)[-2:]
    assert [q["body"]["code"] for q in last_two] == [f"P_{phone}"] * 2
    assert last_two[1]["errcode"] in (0, None)
    # The replay used the new token, not the rejected one.
    assert last_two[0]["query"]["access_token"] != last_two[1]["query"]["access_token"]
    return last_two[0]["errcode"]


def test_expired_access_token_is_refreshed_once(api, fake, factory, db):
    assert _token_refresh_after(api, fake, factory, fake.expire_tokens) == 42001


def test_revoked_access_token_is_refreshed_once(api, fake, factory):
    assert _token_refresh_after(api, fake, factory, fake.revoke_tokens) == 40001


def test_one_token_fetch_for_50_concurrent_requests(stack, api, fake, factory, db, tmp_path):
    # A fresh process (no token cached) with a WeChat of its own, so every
    # token fetch counted is this process's: another process's background
    # work cannot add one. Its notification dispatcher may fetch the token
    # first (events left by earlier tests), and then the 50 requests must
    # use that one.
    own = devstack.FakeWechat(str(tmp_path))
    own.start()
    own_fake = Fake(own.url)
    tokens_before = own_fake.count(TOKEN)
    # Its phone share takes all 50 at once: with the default 2 threads + 32
    # queued, how many are refused (503) depends on how the machine's load
    # spreads the arrivals, and the shares have tests of their own.
    gw = stack.start_gateway({"wechat_api_base": own.url, "wechat_share_phone": "8/64"}, name="gw_tokens")
    try:
        users = [factory.user() for _ in range(50)]
        phones = [unique_phone() for _ in users]
        results = [None] * len(users)
        start = threading.Barrier(len(users))

        def one(i):
            start.wait()
            try:
                r = requests.post(gw.url + PHONE, json={"code": f"P_{phones[i]}"},
                                  headers={"Authorization": f"Bearer {users[i][1]}"},
                                  verify=stack.ca_cert, timeout=30)
                results[i] = (r.status_code, r.text)
            except Exception as e:  # reported below
                results[i] = (None, repr(e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(users))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [r[0] for r in results] == [200] * len(users), [r for r in results if r[0] != 200][:3]
        assert own_fake.count(TOKEN) == tokens_before + 1
        for (uid, _), phone in zip(users, phones):
            assert db.scalar("SELECT phone FROM users WHERE id = %s", (uid,)) == phone
    finally:
        try:
            assert gw.stop() == 0
        finally:
            own.stop()


# ---- session tokens ---------------------------------------------------------------

def test_session_token_tampered_expired_foreign_missing(api, stack, factory):
    uid, token = factory.user()
    expect_ok(api.get("/api/v1/me", token=token))

    # Flip one character of the signature.
    last = token[-5]
    tampered = token[:-5] + ("A" if last != "A" else "B") + token[-4:]
    expect_error(api.get("/api/v1/me", token=tampered), 401, "TOKEN_INVALID")
    # Another user id under the same signature.
    parts = token.split(".")
    parts[1] = str(uid + 1)
    expect_error(api.get("/api/v1/me", token=".".join(parts)), 401, "TOKEN_INVALID")

    kid, secret = signing_key(stack)
    now = int(time.time())
    # A token signed here with the real key is accepted (so the next one is
    # refused for its expiry alone).
    assert expect_ok(api.get("/api/v1/me", token=sign(kid, secret, uid, now + 600)))["id"] == uid
    expect_error(api.get("/api/v1/me", token=sign(kid, secret, uid, now - 1)), 401, "TOKEN_EXPIRED")
    expect_error(api.get("/api/v1/me", token=sign("k9", secret, uid, now + 600)), 401, "TOKEN_INVALID")
    expect_error(api.get("/api/v1/me", token=sign(kid, "x" * 64, uid, now + 600)), 401, "TOKEN_INVALID")
    expect_error(api.get("/api/v1/me", token=sign(kid, secret, 987654321, now + 600)), 401, "TOKEN_INVALID")
    expect_error(api.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    expect_error(api.get("/api/v1/me", headers={"Authorization": f"Basic {token}"}), 401, "TOKEN_INVALID")
    expect_error(api.get("/api/v1/me", headers={"Authorization": "Bearer "}), 401, "TOKEN_INVALID")
    for garbage in ("abc", "a.b.c.d.e", "." * 4, token + ".x", "x" * 300):
        expect_error(api.get("/api/v1/me", token=garbage), 401, "TOKEN_INVALID")


def test_disabled_user_token_is_refused(api, db, factory):
    uid, token = factory.user()
    db.exec("UPDATE users SET disabled = 1 WHERE id = %s", (uid,))
    expect_error(api.get("/api/v1/me", token=token), 403, "USER_DISABLED")
