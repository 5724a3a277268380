"""The caller's load counts the user's ended sessions and reads their ids
only when there are some (gateway/users.c): with a few ended sessions the
user is cached with them and each ended token is refused on a cache hit;
with more than the cache keeps (8) the user is not cached and each request
asks for its own session. In both cases the live session is served."""
import os
import secrets
import time

import session_token
from conftest import expect_error, expect_ok, unique

LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"


def sessions(stack, api, openid, n):
    """A login, and n - 1 more sessions of the same user (other devices),
    signed with the stack's key as gateway/session_token.h describes."""
    token, user = api.login(openid)
    kid, secret = session_token.signing_key(os.path.join(stack.dir, "session_keys"))
    exp = int(time.time()) + 3600
    return [token] + [session_token.mint(kid, secret, user["id"], exp, session_id=secrets.token_hex(8))
                      for _ in range(n - 1)]


def test_a_few_ended_sessions_are_refused_and_the_live_one_served(stack, api, db):
    openid = unique("o_rev_few_")
    live, *ended = sessions(stack, api, openid, 4)
    uid = expect_ok(api.get(ME, token=live))["id"]
    for token in ended:
        assert expect_ok(api.post(LOGOUT, token=token)) == {"logged_out": True}
    # A fresh process loads the user (and the three ended sessions) once and
    # then answers from its cache.
    gw = stack.start_gateway(name="revoked-few")
    try:
        for _ in range(3):
            assert expect_ok(api.get(ME, token=live, base=gw.url))["id"] == uid
            for token in ended:
                expect_error(api.get(ME, token=token, base=gw.url), 401, "TOKEN_REVOKED")
    finally:
        gw.stop()
    assert db.scalar("SELECT COUNT(*) FROM revoked_sessions WHERE user_id = %s", (uid,)) == 3


def test_more_ended_sessions_than_the_cache_keeps(stack, api, db):
    openid = unique("o_rev_many_")
    live, *ended = sessions(stack, api, openid, 11)
    uid = expect_ok(api.get(ME, token=live))["id"]
    for token in ended:
        expect_ok(api.post(LOGOUT, token=token))
    assert db.scalar("SELECT COUNT(*) FROM revoked_sessions WHERE user_id = %s", (uid,)) == 10
    gw = stack.start_gateway(name="revoked-many")
    try:
        for _ in range(2):
            assert expect_ok(api.get(ME, token=live, base=gw.url))["id"] == uid
            for token in ended:
                expect_error(api.get(ME, token=token, base=gw.url), 401, "TOKEN_REVOKED")
    finally:
        gw.stop()
