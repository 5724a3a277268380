"""Helpers of the operations tests: certificates, log waits, a gateway of the
test's own (its own folder and port, on the session's database)."""
import os
import subprocess
import tempfile

import devstack


def wait_until(predicate, timeout=30, what="condition"):
    """The e2e suite's one polling helper (conftest.wait_for), with the
    operations tests' shorter default."""
    import conftest
    return conftest.wait_for(predicate, timeout, what)


def read_log(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_log(path, text, after=0, timeout=30):
    """Waits for text to appear in the log past offset `after`; returns the log."""
    return wait_until(lambda: (lambda s: s if text in s[after:] else None)(read_log(path)), timeout,
                      f"{text!r} in {path}")


def log_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def make_cert(dir, name, cn="localhost", key_type="ec"):
    """A self-signed certificate for 127.0.0.1 in dir/name.crt and .key."""
    cert, key = os.path.join(dir, f"{name}.crt"), os.path.join(dir, f"{name}.key")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec" else \
        ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "30", "-subj", f"/CN={cn}",
                    "-keyout", key, "-out", cert, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


def own_gateway(stack, name, extra=None, binary=None):
    """A gateway process of the test's own (real files, no links to the
    session's secrets, so the test may replace them): returns the Gateway,
    not started."""
    gdir = tempfile.mkdtemp(prefix=name + "-", dir=stack.dir)
    for f in ("session_keys", "media_url_key"):
        with open(os.path.join(stack.dir, f)) as src, open(os.path.join(gdir, f), "w") as dst:
            dst.write(src.read())
        os.chmod(os.path.join(gdir, f), 0o600)
    port = devstack.free_port()
    cfg = dict(TEST_CONFIG(), **(extra or {}))
    path = devstack.write_config(gdir, stack.db, stack.fake.url, stack.fake.appid, stack.fake.secret, port, cfg)
    gw = devstack.Gateway(binary or stack.binary, path, gdir, port)
    gw.ca = os.path.join(gdir, "tls.crt")
    return gw


def TEST_CONFIG():
    import conftest
    return dict(conftest.TEST_CONFIG)
