"""TLS to a MariaDB on another host (db_tls): a MariaDB reachable over TCP
only with TLS; the gateway migrates and serves through it when it trusts the
server's CA, and refuses the connection when the certificate is not the one
it trusts."""
import os
import secrets
import shutil
import subprocess
import tempfile

import pytest
import requests

import devstack
from ops_support import own_gateway, read_log, wait_until


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca_and_server_cert(dir, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={name} CA",
            "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.crt", cwd=dir)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f"{name}-server.key",
            "-out", f"{name}-server.csr", cwd=dir)
    with open(os.path.join(dir, f"{name}-ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}-server.csr", "-CA", f"{name}-ca.crt", "-CAkey", f"{name}-ca.key",
            "-CAcreateserial", "-days", "30", "-extfile", f"{name}-ext.cnf", "-out", f"{name}-server.crt", cwd=dir)
    return (os.path.join(dir, f"{name}-ca.crt"), os.path.join(dir, f"{name}-server.crt"),
            os.path.join(dir, f"{name}-server.key"))


@pytest.fixture(scope="module")
def tls_mariadb():
    """A private mariadbd on a loopback TCP port that requires TLS."""
    d = tempfile.mkdtemp(prefix="gw-dbtls-")
    ca, cert, key = make_ca_and_server_cert(d, "db")
    other_ca, _, _ = make_ca_and_server_cert(d, "other")
    datadir, sock, port = os.path.join(d, "data"), os.path.join(d, "mysql.sock"), devstack.free_port()
    tmpdir = os.path.join(d, "tmp")  # its own: see devstack.MariaDB.start
    os.makedirs(tmpdir)
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   env=dict(os.environ, TMPDIR=tmpdir), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={sock}", "--user=root",
         f"--log-error={d}/mysql.log", f"--tmpdir={tmpdir}", "--bind-address=127.0.0.1", f"--port={port}", f"--ssl-ca={ca}",
         f"--ssl-cert={cert}", f"--ssl-key={key}", "--require-secure-transport=ON",
         "--innodb-buffer-pool-size=64M", "--character-set-server=utf8mb4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def ping():
        assert proc.poll() is None, open(f"{d}/mysql.log").read()[-2000:]
        return subprocess.run(["mariadb-admin", "--no-defaults", "-uroot", f"--socket={sock}", "ping"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    wait_until(ping, 60, "the TLS MariaDB")
    password, migrate_password = secrets.token_hex(12), secrets.token_hex(12)
    sql = open(os.path.join(os.path.dirname(__file__), "..", "..", "ops", "db-users.sql")).read()
    for k, v in {"@DB_NAME@": "gateway", "@DB_USER@": "gateway", "@DB_PASSWORD@": password,
                 "@MIGRATE_USER@": "gateway_migrate", "@MIGRATE_PASSWORD@": migrate_password}.items():
        sql = sql.replace(k, v)
    sql = sql.replace("'localhost'", "'127.0.0.1'")  # "another host": the gateway's address
    subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={sock}"], input=sql.encode(), check=True)
    with open(os.path.join(d, "db-password"), "w") as f:
        f.write(password)
    with open(os.path.join(d, "db-migrate-password"), "w") as f:
        f.write(migrate_password)
    yield {"dir": d, "port": port, "ca": ca, "other_ca": other_ca}
    proc.terminate()
    proc.wait(60)
    shutil.rmtree(d, ignore_errors=True)


def gateway_config(t, ca):
    return {"db_socket": "", "db_host": "127.0.0.1", "db_port": t["port"], "db_tls": "true",
            "db_tls_ca_file": ca, "db_user": "gateway", "db_password_file": os.path.join(t["dir"], "db-password"),
            "migrate_db_user": "gateway_migrate",
            "migrate_db_password_file": os.path.join(t["dir"], "db-migrate-password")}


def test_gateway_over_tls_to_the_database(stack, tls_mariadb):
    gw = own_gateway(stack, "gw_dbtls", gateway_config(tls_mariadb, tls_mariadb["ca"]))
    m = subprocess.run([gw.binary, "--config", gw.config, "migrate"], capture_output=True, text=True)
    assert m.returncode == 0, m.stderr
    gw.start()
    try:
        r = requests.get(gw.url + "/readyz", verify=gw.ca, timeout=10)
        assert r.status_code == 200, r.text
        # backup (mariadb-dump as the migration user) goes over TLS too.
        b = subprocess.run([gw.binary, "--config", gw.config, "backup", os.path.join(gw.dir, "backup")],
                           capture_output=True, text=True)
        assert b.returncode == 0, b.stderr
    finally:
        assert gw.stop() == 0


def test_a_database_certificate_from_another_ca_is_refused(stack, tls_mariadb):
    gw = own_gateway(stack, "gw_dbtls_bad", gateway_config(tls_mariadb, tls_mariadb["other_ca"]))
    m = subprocess.run([gw.binary, "--config", gw.config, "migrate"], capture_output=True, text=True)
    assert m.returncode == 1 and "cannot connect" in m.stderr, m.stderr
    gw.start()
    try:
        r = requests.get(gw.url + "/readyz", verify=gw.ca, timeout=10)
        assert r.status_code == 503 and r.json()["error"]["code"] == "DB_UNAVAILABLE", r.text
        assert "connect failed" in wait_until(lambda: (lambda s: s if "connect failed" in s else None)(
            read_log(gw.log)), 10, "the refused connection in the log")
    finally:
        assert gw.stop() == 0
