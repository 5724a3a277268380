"""SIGHUP: the TLS certificate and key, the session-token keys and the media
URL key are read again while connections stay open; what is unusable is
refused with a log line and the one in use stays."""
import hashlib
import http.client
import json
import os
import secrets
import signal
import ssl

import pytest
import requests

from ops_support import log_size, make_cert, own_gateway, wait_log
from media_support import base_jpeg


def fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def context(*cafiles):
    ctx = ssl.create_default_context()
    for f in cafiles:
        ctx.load_verify_locations(cafile=f)
    return ctx


def get(conn, path, token=None):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    r = conn.getresponse()
    return r.status, r.read()


def pem_fingerprint(cert):
    der = ssl.PEM_cert_to_DER_cert(open(cert).read())
    return hashlib.sha256(der).hexdigest()


def hup(gw, expect):
    """SIGHUP, then wait for the reload's log line naming the outcome."""
    at = log_size(gw.log)
    gw.proc.send_signal(signal.SIGHUP)
    log = wait_log(gw.log, "reload done" if expect == "done" else "reload partly refused", after=at)
    return log[at:]


@pytest.fixture
def gw(stack):
    g = own_gateway(stack, "gw_reload")
    g.start()
    yield g
    assert g.stop() == 0, f"see {g.log}"


def test_certificate_renewed_while_a_connection_stays_open(stack, gw):
    old_cert = os.path.join(gw.dir, "tls.crt")
    old_fp = pem_fingerprint(old_cert)
    new_cert, new_key = make_cert(gw.dir, "renewed")
    both = context(old_cert, new_cert)

    # A client keeps a connection open across the renewal.
    kept = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=10, context=both)
    assert get(kept, "/healthz")[0] == 200
    kept_sock = kept.sock
    assert fingerprint(kept_sock) == old_fp

    # The renewal: new files in place (as certbot's deploy hook would), then SIGHUP.
    os.replace(new_key, os.path.join(gw.dir, "tls.key"))
    os.replace(new_cert, os.path.join(gw.dir, "tls.crt"))
    new_fp = pem_fingerprint(os.path.join(gw.dir, "tls.crt"))
    log = hup(gw, "done")
    assert "new connections use the certificate" in log

    # The open connection was not dropped: same socket, old certificate, still answered.
    assert get(kept, "/readyz")[0] == 200
    assert kept.sock is kept_sock and fingerprint(kept.sock) == old_fp

    # A new connection gets the renewed certificate.
    fresh = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=10, context=both)
    assert get(fresh, "/healthz")[0] == 200
    assert fingerprint(fresh.sock) == new_fp
    fresh.close()

    # A bad renewal: a key that does not belong to the certificate. Refused
    # with a log line; the renewed certificate stays in use.
    other_cert, other_key = make_cert(gw.dir, "other")
    os.replace(other_key, os.path.join(gw.dir, "tls.key"))
    log = hup(gw, "refused")
    assert "does not match the certificate" in log and "the certificate in use stays" in log
    assert gw.proc.poll() is None
    again = http.client.HTTPSConnection("127.0.0.1", gw.https_port, timeout=10, context=both)
    assert get(again, "/healthz")[0] == 200
    assert fingerprint(again.sock) == new_fp
    again.close()

    # Not a certificate at all: refused the same way.
    with open(os.path.join(gw.dir, "tls.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    log = hup(gw, "refused")
    assert "cannot load" in log
    assert get(kept, "/healthz")[0] == 200 and kept.sock is kept_sock
    kept.close()


def test_session_keys_rotate_by_key_id(stack, gw, api):
    old_keys = open(os.path.join(gw.dir, "session_keys")).read().strip()
    old_token, user = api.login(f"o_rot_{secrets.token_hex(4)}")  # signed by k1 elsewhere; same keys here
    assert old_token.startswith("k1.")
    r = api.get("/api/v1/me", token=old_token, base=gw.url, verify=gw.ca)
    assert r.status_code == 200, r.text

    # Step 1 of a rotation: k2 signs, k1 still verifies.
    with open(os.path.join(gw.dir, "session_keys.new"), "w") as f:
        f.write(f"k2={secrets.token_hex(32)},{old_keys}")
    os.replace(os.path.join(gw.dir, "session_keys.new"), os.path.join(gw.dir, "session_keys"))
    hup(gw, "done")
    r = api.post("/api/v1/auth/login", json={"code": f"C_o_rot_{secrets.token_hex(4)}"}, base=gw.url, verify=gw.ca)
    assert r.status_code == 200, r.text
    new_token = r.json()["data"]["token"]
    assert new_token.startswith("k2."), new_token
    assert api.get("/api/v1/me", token=old_token, base=gw.url, verify=gw.ca).status_code == 200
    assert api.get("/api/v1/me", token=new_token, base=gw.url, verify=gw.ca).status_code == 200

    # A bad file is refused as a whole; both keys stay.
    keys_now = open(os.path.join(gw.dir, "session_keys")).read()
    with open(os.path.join(gw.dir, "session_keys"), "w") as f:
        f.write("k3=short")
    log = hup(gw, "refused")
    assert "session_keys" in log
    assert api.get("/api/v1/me", token=old_token, base=gw.url, verify=gw.ca).status_code == 200
    assert api.get("/api/v1/me", token=new_token, base=gw.url, verify=gw.ca).status_code == 200
    with open(os.path.join(gw.dir, "session_keys"), "w") as f:
        f.write(keys_now)

    # Step 2, once old tokens have expired: k1 retired.
    with open(os.path.join(gw.dir, "session_keys"), "w") as f:
        f.write(keys_now.split(",")[0])
    hup(gw, "done")
    r = api.get("/api/v1/me", token=old_token, base=gw.url, verify=gw.ca)
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_INVALID", r.text
    assert api.get("/api/v1/me", token=new_token, base=gw.url, verify=gw.ca).status_code == 200


def test_media_url_key_rotation_keeps_handed_out_urls(stack, gw, api, factory):
    _, token = factory.user()
    r = api.post("/api/v1/uploads", base=gw.url, token=token, files={"file": ("p.jpg", base_jpeg(), "image/jpeg")},
                 data={"purpose": "repair"}, verify=gw.ca)
    assert r.status_code == 201, r.text
    photo_url = r.json()["data"]["url"]
    path = photo_url[photo_url.index("/media/"):]
    assert requests.get(gw.url + path, verify=gw.ca, timeout=10).status_code == 200

    key_file = os.path.join(gw.dir, "media_url_key")
    with open(key_file + ".new", "w") as f:
        f.write(secrets.token_hex(32))
    os.replace(key_file + ".new", key_file)
    hup(gw, "done")
    # Handed out before the rotation: still served until it expires.
    assert requests.get(gw.url + path, verify=gw.ca, timeout=10).status_code == 200
    # Handed out after it: signed with the new key, served.
    r = api.post("/api/v1/uploads", base=gw.url, token=token, files={"file": ("p.jpg", base_jpeg(), "image/jpeg")},
                 data={"purpose": "repair"}, verify=gw.ca)
    assert r.status_code == 201, r.text
    new_url = r.json()["data"]["url"]
    assert requests.get(gw.url + new_url[new_url.index("/media/"):], verify=gw.ca,
                        timeout=10).status_code == 200
    # A second rotation retires the first key: the old URL is refused.
    with open(key_file + ".new", "w") as f:
        f.write(secrets.token_hex(32))
    os.replace(key_file + ".new", key_file)
    hup(gw, "done")
    r = requests.get(gw.url + path, verify=gw.ca, timeout=10)
    assert r.status_code in (403, 404), r.text
    assert json.loads(r.text)["error"]["code"], r.text
