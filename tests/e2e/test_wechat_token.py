"""One WeChat access token for several gateway processes: every process
fetches the stable token (the same one), and when WeChat rejects it the
processes force one refresh between them, coordinated through the database
(schema/012, gateway/wechat_token_gate.c). Asserted on the fake WeChat's
records: the token each call carried, and its stable_token counters."""
import threading

import pytest
import requests

from conftest import unique_phone

PHONE = "/api/v1/auth/phone"
GETPHONE = "/wxa/business/getuserphonenumber"
STABLE = "/cgi-bin/stable_token"


@pytest.fixture
def two_gateways(stack, fake, db):
    """Two fresh processes (no token cached) on the session's database and
    fake. The fake honours every forced refresh (no 30 s gap of its own), so
    what is counted is the gateways' own coordination."""
    fake.post("/__fake/config", {"force_min_gap_s": 0})
    gws = [stack.start_gateway(name=f"gw_token_{c}") for c in "ab"]
    yield gws
    for gw in gws:
        assert gw.stop() == 0
        stack.extra_gateways.remove(gw)


def stable_stats(fake):
    return fake.get("/__fake/tokens")["stable"]


def bind_all(stack, gw_users):
    """Binds a fresh phone for every (gateway, user token) at once; returns
    the phone codes in order and asserts every bind succeeded."""
    codes = [f"P_{unique_phone()}" for _ in gw_users]
    results = [None] * len(gw_users)
    start = threading.Barrier(len(gw_users))

    def one(i):
        gw, token = gw_users[i]
        start.wait()
        try:
            r = requests.post(gw.url + PHONE, json={"code": codes[i]}, headers={"Authorization": f"Bearer {token}"},
                              verify=stack.ca_cert, timeout=30)
            results[i] = (r.status_code, r.text)
        except Exception as e:  # reported below
            results[i] = (None, repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(gw_users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r[0] for r in results] == [200] * len(gw_users), results
    return codes


def calls_for(fake, code):
    """(access_token, errcode) of every getuserphonenumber call for one code."""
    return [(q["query"].get("access_token"), q["errcode"]) for q in fake.requests(GETPHONE)
            if isinstance(q["body"], dict) and q["body"].get("code") == code]


def gateway_metric(stack, gw, name):
    text = requests.get(gw.url + "/metrics", verify=stack.ca_cert, timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def test_two_processes_share_one_token_and_force_one_refresh(stack, fake, db, factory, two_gateways):
    a, b = two_gateways
    users = [factory.user()[1] for _ in range(6)]

    # Both processes fetch the stable token normally: the same token.
    warm = bind_all(stack, [(a, users[0]), (b, users[1])])
    t1 = calls_for(fake, warm[0])[-1][0]
    assert calls_for(fake, warm[0]) == [(t1, 0)] and calls_for(fake, warm[1]) == [(t1, 0)]
    assert t1 == stable_stats(fake)["current"]

    # No forced refresh recorded yet (another process of the session may
    # have forced one within the interval).
    db.exec("UPDATE wechat_token_refresh SET forced_at = NULL, retired_fp = NULL WHERE id = 1")
    before = stable_stats(fake)
    forced_before = [gateway_metric(stack, gw, "gateway_wechat_token_forced_total") for gw in (a, b)]

    # WeChat rejects the shared token; both processes hit it at once.
    fake.post("/__fake/tokens/revoke", {"access_token": t1})
    pairs = [(a, users[2]), (b, users[3]), (a, users[4]), (b, users[5])]
    codes = bind_all(stack, pairs)

    after = stable_stats(fake)
    assert after["forced"] - before["forced"] == 1, (before, after)
    assert after["force_ignored"] == before["force_ignored"]
    t2 = after["current"]
    assert t2 != t1
    # Every call carried t1 (rejected) or t2, and each ended with t2.
    for code in codes:
        seen = calls_for(fake, code)
        assert seen[-1] == (t2, 0), seen
        assert all(tok in (t1, t2) for tok, _ in seen), seen
        assert [e for _, e in seen[:-1]] in ([], [40001]), seen
    forced_after = [gateway_metric(stack, gw, "gateway_wechat_token_forced_total") for gw in (a, b)]
    assert sum(forced_after) - sum(forced_before) == 1
    row = db.one("SELECT retired_fp, forced_at FROM wechat_token_refresh WHERE id = 1")
    assert row["forced_at"] is not None and len(row["retired_fp"]) == 64 and t1 not in row["retired_fp"]

    # Both keep using t2: no further token fetches.
    fetches = after["fetches"]
    more = bind_all(stack, [(a, users[2]), (b, users[3])])
    assert [calls_for(fake, c) for c in more] == [[(t2, 0)], [(t2, 0)]]
    assert stable_stats(fake)["fetches"] == fetches

    # Rejected again within wechat_token_force_interval_s: nobody forces;
    # the process fetches the stable token normally (the fake issues a new
    # one, since the current one is revoked).
    fake.post("/__fake/tokens/revoke", {"access_token": t2})
    again = bind_all(stack, [(a, users[4])])
    final = stable_stats(fake)
    assert final["forced"] == after["forced"]
    assert calls_for(fake, again[0]) == [(t2, 40001), (final["current"], 0)]
