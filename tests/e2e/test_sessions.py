"""Sessions that can be ended: logout revokes the presented token in every
gateway process and across restarts; an admin disables and re-enables a
user. Other processes see a change made elsewhere within auth_cache_ms: the
tests poll for the observable answer with a deadline."""
import json
import os
import time

import session_token
from conftest import expect_error, expect_ok, unique, wait_for

LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"


def poll_status(api, token, base, status, timeout=20.0):
    """GET /me on base until it answers `status`; returns the response."""
    last = {}

    def answered():
        last["r"] = api.get(ME, token=token, base=base)
        return last["r"].status_code == status

    wait_for(answered, timeout, f"{base} to answer {status}")
    return last["r"]


def parts(token):
    kid, uid, exp, sid, _sig = token.split(".")
    return kid, int(uid), int(exp), sid


def revoked_row(db, sid):
    return db.one("SELECT user_id, UNIX_TIMESTAMP(expires_at) AS exp FROM revoked_sessions WHERE session_id = %s",
                  (sid,))


def test_logout_revokes_the_token_everywhere_and_across_restarts(stack, api, db):
    openid = unique("o_logout_")
    token, user = api.login(openid)
    r = api.post("/api/v1/auth/login", json={"code": f"CU_{openid}"})  # a second device of the same user
    other = expect_ok(r)["token"]
    _kid, uid, exp, sid = parts(token)
    assert uid == user["id"] and len(sid) == 16  # 96-bit session id
    gw2 = stack.start_gateway()
    try:
        for base in (stack.url, gw2.url):  # both processes have the user cached
            assert expect_ok(api.get(ME, token=token, base=base))["id"] == uid

        assert expect_ok(api.post(LOGOUT, token=token)) == {"logged_out": True}
        row = revoked_row(db, sid)
        assert (row["user_id"], int(row["exp"])) == (uid, exp)

        # This process: at once.
        expect_error(api.get(ME, token=token), 401, "TOKEN_REVOKED")
        expect_error(api.post(LOGOUT, token=token), 401, "TOKEN_REVOKED")
        # Another process: within its auth cache period.
        expect_error(poll_status(api, token, gw2.url, 401), 401, "TOKEN_REVOKED")
        # The other session is untouched, on both.
        for base in (stack.url, gw2.url):
            assert expect_ok(api.get(ME, token=other, base=base))["id"] == uid

        # A restarted process reads the revocation from the database.
        assert gw2.stop() == 0
        gw2.start()
        expect_error(api.get(ME, token=token, base=gw2.url), 401, "TOKEN_REVOKED")
        assert expect_ok(api.get(ME, token=other, base=gw2.url))["id"] == uid
    finally:
        gw2.stop()
    assert db.scalar("SELECT COUNT(*) FROM revoked_sessions WHERE user_id = %s", (uid,)) == 1


def sign(stack, user_id, exp, sid):
    """A token signed with the stack's signing key, as gateway/session_token.h describes."""
    kid, secret = session_token.signing_key(os.path.join(stack.dir, "session_keys"))
    return session_token.mint(kid, secret, user_id, exp, session_id=sid)


def test_tokens_of_the_earlier_format_still_work_and_can_be_ended(stack, api, db):
    token, user = api.login(unique("o_oldtok_"))
    exp = int(time.time()) + 600
    old = sign(stack, user["id"], exp, "AbCdEfGhIjKl")  # a 12-character nonce, as tokens had before
    assert expect_ok(api.get(ME, token=old))["id"] == user["id"]
    expect_ok(api.post(LOGOUT, token=old))
    expect_error(api.get(ME, token=old), 401, "TOKEN_REVOKED")
    assert int(revoked_row(db, "AbCdEfGhIjKl")["exp"]) == exp
    assert expect_ok(api.get(ME, token=token))["id"] == user["id"]


def test_expired_revocations_are_purged(api, db):
    token, user = api.login(unique("o_purge_"))
    db.exec("INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES (%s, %s, NOW(3) - INTERVAL 1 DAY)",
            ("expiredXXXXXXXXX", user["id"]))
    expect_ok(api.post(LOGOUT, token=token))
    assert db.scalar("SELECT COUNT(*) FROM revoked_sessions WHERE expires_at < NOW(3)") == 0
    assert revoked_row(db, parts(token)[3])["user_id"] == user["id"]


def test_disabled_user_is_refused_everywhere_and_enable_restores_access(stack, api, db, factory):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    openid = unique("o_disable_")
    uid = db.exec("INSERT INTO users (openid) VALUES (%s)", (openid,))
    token = sign(stack, uid, int(time.time()) + 600, "disableTestSid01")
    gw2 = stack.start_gateway()
    try:
        assert expect_ok(api.get(ME, token=token, base=gw2.url))["id"] == uid  # cached there

        d = expect_ok(api.post(f"/api/v1/admin/users/{uid}/disable", token=admin, json={"reason": "离职"}))
        assert d == {"user_id": uid, "disabled": True, "reason": "离职", "changed": True}
        row = db.one("SELECT disabled, disabled_reason, disabled_at FROM users WHERE id = %s", (uid,))
        assert (row["disabled"], row["disabled_reason"]) == (1, "离职") and row["disabled_at"] is not None
        audit = db.query("SELECT actor_user_id, detail FROM audit_log WHERE action = 'user.disable'"
                         " AND target_type = 'user' AND target_id = %s", (uid,))
        assert [(r["actor_user_id"], json.loads(r["detail"])) for r in audit] == [(admin_id, {"reason": "离职"})]

        expect_error(api.get(ME, token=token), 403, "USER_DISABLED")
        expect_error(poll_status(api, token, gw2.url, 403), 403, "USER_DISABLED")
        expect_error(api.post("/api/v1/auth/login", json={"code": f"CU_{openid}"}), 403, "USER_DISABLED")
        # Disabling again changes nothing and writes no second audit row.
        d = expect_ok(api.post(f"/api/v1/admin/users/{uid}/disable", token=admin, json={"reason": "again"}))
        assert d["changed"] is False
        assert db.scalar("SELECT disabled_reason FROM users WHERE id = %s", (uid,)) == "离职"

        d = expect_ok(api.post(f"/api/v1/admin/users/{uid}/enable", token=admin))
        assert d == {"user_id": uid, "disabled": False, "reason": None, "changed": True}
        assert db.one("SELECT disabled, disabled_reason FROM users WHERE id = %s", (uid,)) == \
            {"disabled": 0, "disabled_reason": None}
        assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.enable' AND target_id = %s"
                         " AND actor_user_id = %s", (uid, admin_id)) == 1
        assert expect_ok(api.get(ME, token=token))["id"] == uid
        assert expect_ok(poll_status(api, token, gw2.url, 200))["id"] == uid
        new_token, _ = api.login(openid)
        assert expect_ok(api.get(ME, token=new_token))["id"] == uid
    finally:
        gw2.stop()


def test_disable_is_refused_for_oneself_and_checked(api, db, factory):
    admin_id, admin = factory.user(roles=[("admin", 0)])
    uid, token = factory.user()
    err = expect_error(api.post(f"/api/v1/admin/users/{admin_id}/disable", token=admin, json={"reason": "x"}),
                       409, "CONFLICT")
    assert "own account" in err["message"]
    expect_error(api.post(f"/api/v1/admin/users/{uid}/disable", token=admin, json={}), 400, "MISSING_FIELD", "reason")
    expect_error(api.post(f"/api/v1/admin/users/{uid}/disable", token=admin, json={"reason": "x" * 256}),
                 400, "INVALID_FIELD", "reason")
    expect_error(api.post("/api/v1/admin/users/987654321/disable", token=admin, json={"reason": "x"}),
                 404, "NOT_FOUND")
    expect_error(api.post("/api/v1/admin/users/987654321/enable", token=admin), 404, "NOT_FOUND")
    expect_error(api.post(f"/api/v1/admin/users/{admin_id}/disable", token=token, json={"reason": "x"}),
                 403, "FORBIDDEN")
    assert db.scalar("SELECT disabled FROM users WHERE id = %s", (admin_id,)) == 0
    assert db.scalar("SELECT disabled FROM users WHERE id = %s", (uid,)) == 0
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.disable' AND target_id IN (%s, %s)",
                     (admin_id, uid)) == 0
