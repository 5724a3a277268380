"""The Debian package on this machine, as an operator installs it: built with
dpkg-buildpackage, installed with apt, run against Debian's own MariaDB
service with the documented least-privilege users, started the way the
systemd unit starts it (as the service user, with the installed
configuration), ready on /readyz and reporting READY=1 to sd_notify.

It changes the system (a package, a system user, Debian's MariaDB started
if it was not running, a database), so it runs as root only: in CI, or on a
machine meant for it. Everything it starts it stops; the package is purged."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest

from ops_support import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "property-gateway"
ETC = f"/etc/{NAME}"
SYS_SOCKET = "/run/mysqld/mysqld.sock"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs a package and starts Debian's MariaDB: root only")


def sh(*cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def mariadb_up():
    return sh("mariadb-admin", f"--socket={SYS_SOCKET}", "ping", check=False).returncode == 0


@pytest.fixture(scope="module")
def deb():
    """Builds the package from a copy of the tree (dpkg-buildpackage writes
    beside the source folder)."""
    work = tempfile.mkdtemp(prefix="gw-deb-")
    src = os.path.join(work, "src")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "build-*", "var", "tmp",
                                                              "__pycache__", ".pytest_cache"))
    sh("dpkg-buildpackage", "-us", "-uc", "-b", cwd=src)
    path = os.path.join(work, f"{NAME}_1.0.0_{sh('dpkg', '--print-architecture').stdout.strip()}.deb")
    assert os.path.exists(path), os.listdir(work)
    yield path
    shutil.rmtree(work, ignore_errors=True)


def test_package_contents(deb):
    files = sh("dpkg-deb", "-c", deb).stdout
    for f in (f"./usr/sbin/{NAME}", f"./lib/systemd/system/{NAME}.service", f"./etc/{NAME}/gateway.conf",
              f"./usr/share/{NAME}/schema/001_foundation.sql", f"./usr/share/{NAME}/db-users.sql",
              f"./usr/share/doc/{NAME}/RUNBOOK.md"):
        assert f in files, f
    # Development tools stay out of production.
    for f in ("fake_wechat", "devstack", "tests/", "bench/"):
        assert f not in files, f
    depends = sh("dpkg-deb", "-f", deb, "Depends").stdout
    assert "python3" not in depends and "mariadb-client" in depends


@pytest.fixture(scope="module")
def installed(deb):
    started_mariadb = False
    sh("apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "--no-install-recommends", deb,
       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    try:
        if not mariadb_up():
            # Debian's own service, through its init script (no systemd as PID 1 here).
            sh("service", "mariadb", "start")
            started_mariadb = True
        wait_until(mariadb_up, 60, "Debian's MariaDB")
        yield
    finally:
        sh("mariadb", "-e", "DROP DATABASE IF EXISTS gateway; DROP USER IF EXISTS 'gateway'@'localhost';"
                            " DROP USER IF EXISTS 'gateway_migrate'@'localhost';", check=False)
        if started_mariadb:
            sh("service", "mariadb", "stop", check=False)
        sh("apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", NAME,
           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
        shutil.rmtree(f"/var/lib/{NAME}", ignore_errors=True)
        shutil.rmtree(f"/var/backups/{NAME}", ignore_errors=True)
        sh("deluser", "--system", NAME, check=False)


def test_installed_layout_and_permissions(installed):
    import grp
    import pwd
    user = pwd.getpwnam(NAME)
    assert user.pw_shell.endswith("nologin")
    gid = grp.getgrnam(NAME).gr_gid
    st = os.stat(ETC)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, gid, 0o750)
    for f in ("session-keys", "media-url-key", "db-password", "wechat-secret", "tls/key.pem"):
        st = os.stat(f"{ETC}/{f}")
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, gid, 0o640), f
    st = os.stat(f"{ETC}/db-migrate-password")  # the service never reads it
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)
    st = os.stat(f"/var/lib/{NAME}/media")
    assert st.st_uid == user.pw_uid and st.st_mode & 0o777 == 0o750
    assert os.access(f"/usr/sbin/{NAME}", os.X_OK)


def test_unit_file_verifies(installed):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    r = sh("systemd-analyze", "verify", f"/lib/systemd/system/{NAME}.service", check=False)
    # Offline (no systemd as PID 1) it may only warn about the missing manager.
    bad = [line for line in (r.stdout + r.stderr).splitlines()
           if NAME in line and ("Unknown" in line or "Invalid" in line or "bad" in line.lower())]
    assert not bad, r.stdout + r.stderr


def notify_socket(dir):
    path = os.path.join(dir, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(30)
    return s, path


def test_service_against_debians_mariadb(installed):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The operator's steps (README, "Production"): the mini-program's appid
    # and secret, the database users, the migrations as the migration user.
    conf = open(f"{ETC}/gateway.conf").read().replace("wechat_appid =\n", "wechat_appid = wxpackagetest\n")
    with open(f"{ETC}/gateway.conf", "w") as f:
        f.write(conf)
    with open(f"{ETC}/wechat-secret", "w") as f:
        f.write("package-test-secret")
    r = sh(f"/usr/lib/{NAME}/create-db-users")
    assert "users gateway (rows) and gateway_migrate (schema)" in r.stdout
    sh(f"/usr/sbin/{NAME}", "--config", f"{ETC}/gateway.conf", "--check-config")
    r = sh(f"/usr/sbin/{NAME}", "--config", f"{ETC}/gateway.conf", "migrate")
    assert "schema at version" in r.stdout

    # The serving user may change rows, not the schema.
    password = open(f"{ETC}/db-password").read().strip()
    r = sh("mariadb", "-ugateway", f"-p{password}", f"--socket={SYS_SOCKET}", "gateway", "-e",
           "CREATE TABLE should_fail (i INT)", check=False)
    assert r.returncode != 0 and "denied" in r.stderr, r.stderr
    sh("mariadb", "-ugateway", f"-p{password}", f"--socket={SYS_SOCKET}", "gateway", "-e",
       "SELECT COUNT(*) FROM schema_migrations")

    # Started as the unit's ExecStart would: the service user, no new
    # privileges, the installed configuration; free ports instead of 443/8443.
    run_dir = tempfile.mkdtemp(prefix="gw-pkg-")
    os.chmod(run_dir, 0o755)
    notify, notify_path = notify_socket(run_dir)
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    port, upload_port = ports
    log = open(os.path.join(run_dir, "gateway.log"), "w+")
    proc = subprocess.Popen(
        ["setpriv", f"--reuid={NAME}", f"--regid={NAME}", "--init-groups", "--no-new-privs", "--",
         f"/usr/sbin/{NAME}", "--config", f"{ETC}/gateway.conf", "serve"],
        env=dict(env, GATEWAY_HTTPS_PORT=str(port), GATEWAY_UPLOAD_HTTPS_PORT=str(upload_port),
                 GATEWAY_LISTEN_HOST="127.0.0.1", NOTIFY_SOCKET=notify_path),
        stdout=log, stderr=log, start_new_session=True)
    try:
        try:
            msg = notify.recv(4096).decode()
        except TimeoutError:
            log.seek(0)
            raise AssertionError(f"no READY=1 from the gateway (exit {proc.poll()}): {log.read()[-3000:]}")
        assert "READY=1" in msg and f"MAINPID={proc.pid}" in msg, msg
        ctx = ssl.create_default_context(cafile=f"{ETC}/tls/cert.pem")
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=10) as r:
            body = r.read().decode()
            assert r.status == 200 and '"status":"ready"' in body, body
        # A reload (systemctl reload) as the service user: certificate and secrets.
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "RELOADING=1" in notify.recv(4096).decode(), 30, "RELOADING=1")
        assert "READY=1" in notify.recv(4096).decode()
        # A backup of the live service as root, with the migration user.
        dest = f"/var/backups/{NAME}/package-test"
        r = sh(f"/usr/sbin/{NAME}", "--config", f"{ETC}/gateway.conf", "backup", dest)
        assert "rows in" in r.stdout and os.path.exists(f"{dest}/manifest.json")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        notify.close()
        log.seek(0)
        text = log.read()
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    assert code == 0, text
    assert "stopped" in text
