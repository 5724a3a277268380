"""A media URL key rotated by a reload (SIGHUP) signs the very next URL, on
every thread, although each thread keeps a keyed HMAC context: the URLs
handed out before it still verify."""
import hashlib
import hmac
import os
import re
import secrets
import signal
from urllib.parse import parse_qs, urlparse

from conftest import expect_ok, wait_for
from media_support import stop_gateway
from repairs_support import new_ticket, photo, world


def signature_ok(key, url):
    u = urlparse(url)
    upload_id, variant = u.path.split("/")[2:4]
    q = parse_qs(u.query)
    msg = f"{upload_id}/{variant}/{q['exp'][0]}".encode()
    return hmac.compare_digest(hmac.new(key, msg, hashlib.sha256).hexdigest(), q["sig"][0])


def urls(detail):
    return [u for p in detail["photos"] for u in (p["url"], p["thumb_url"])]


def test_a_rotated_key_signs_the_next_url(api, db, factory, stack):
    name = "media-key-rotation"
    gdir = os.path.join(stack.dir, name)
    os.makedirs(gdir, exist_ok=True)
    key_file = os.path.join(gdir, "media_url_key")  # its own, not the session's shared one
    with open(os.path.join(stack.dir, "media_url_key"), "rb") as f:
        old_key = f.read().strip()
    with open(key_file, "wb") as f:
        f.write(old_key)
    # No read cache: every detail is rendered (and its URLs signed) anew.
    gw = stack.start_gateway({"repair_cache_slots": 0, "threads": 2}, name=name)
    try:
        w = world(factory, db)
        tid = new_ticket(api, w, photo_ids=[photo(api, stack, w.owner_a)])["id"]

        def detail():
            return expect_ok(api.get(f"/api/v1/repairs/{tid}", token=w.owner_a.token, base=gw.url))

        # Several reads, so that both threads have keyed their contexts.
        before = [u for _ in range(6) for u in urls(detail())]
        assert before and all(signature_ok(old_key, u) for u in before)

        new_key = secrets.token_hex(32).encode()
        with open(key_file, "wb") as f:
            f.write(new_key)
        with open(gw.log, encoding="utf-8") as f:
            seen = f.read().count("reload: media URL key loaded")
        gw.proc.send_signal(signal.SIGHUP)

        def reloaded():
            with open(gw.log, encoding="utf-8") as f:
                return f.read().count("reload: media URL key loaded") > seen

        wait_for(reloaded, what="the reload's log line")
        after = [u for _ in range(6) for u in urls(detail())]
        assert after and all(signature_ok(new_key, u) for u in after), after
        assert not any(signature_ok(old_key, u) for u in after)
        # A URL handed out before the rotation still verifies (the file is the
        # main gateway's, so this one answers 404 rather than serving it);
        # a tampered one does not.
        old = before[0]
        assert api.get(old, base=gw.url).status_code != 403
        tampered = re.sub(r"sig=([0-9a-f])", lambda m: "sig=" + ("1" if m.group(1) != "1" else "2"), old)
        assert api.get(tampered, base=gw.url).status_code == 403
    finally:
        stop_gateway(stack, gw)
