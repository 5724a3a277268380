#!/usr/bin/python3
"""devstack: a private MariaDB, the fake WeChat and the gateway, in one folder.

Used by `make run` (folder var/, runs until Ctrl-C or `make stop`) and by the
end-to-end tests (a temporary folder with free ports). Nothing here touches the
system MariaDB: the database has its own datadir and unix socket.

    devstack.py run  --dir var --bin build/bin/gateway
    devstack.py stop --dir var

A real WeChat is used instead of the fake when WECHAT_API_BASE, WECHAT_APPID
and WECHAT_SECRET are all set in the environment.
"""
import argparse
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def stop_pid(pid, timeout=20):
    """SIGTERM, wait, then SIGKILL. Returns the exit code when it was our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    return None


class MariaDB:
    """A private mariadbd: datadir and socket under `dir`, no TCP.
    `extra_args` go after the defaults, so they can override them (the
    benchmarks' larger buffer pool, performance_schema)."""

    def __init__(self, dir, extra_args=None):
        self.dir = os.path.abspath(dir)
        self.extra_args = list(extra_args or [])
        self.datadir = os.path.join(self.dir, "mysql")
        self.socket = os.path.join(self.dir, "mysql.sock")
        self.pidfile = os.path.join(self.dir, "mysql.pid")
        self.log = os.path.join(self.dir, "mysql.log")
        self.tmpdir = os.path.join(self.dir, "tmp")
        self.proc = None
        self.database = "gateway"
        self.user = "gateway"
        self.password_file = os.path.join(self.dir, "db_password")

    def _client(self, sql, database=None):
        cmd = ["mariadb", "--no-defaults", "-uroot", f"--socket={self.socket}", "-e", sql]
        if database:
            cmd.insert(4, database)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        fresh = not os.path.isdir(os.path.join(self.datadir, "mysql"))
        # A temporary folder of its own: mariadbd names its on-disk temporary
        # tables in a way that collides between servers sharing /tmp, and
        # one of them then crashes (seen with several bootstraps at once).
        os.makedirs(self.tmpdir, exist_ok=True)
        if fresh:
            out = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=root",
                                  "--auth-root-authentication-method=normal", "--skip-test-db"],
                                 env=dict(os.environ, TMPDIR=self.tmpdir),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed ({out.returncode}):\n{out.stdout[-4000:]}")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--pid-file={self.pidfile}", f"--log-error={self.log}", f"--tmpdir={self.tmpdir}",
             "--skip-networking", "--user=root",
             "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=500",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"] + self.extra_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: self._ping(), 60, "MariaDB to accept connections")
        if fresh or not os.path.exists(self.password_file):
            password = secrets.token_hex(16)
            self._client(f"CREATE DATABASE IF NOT EXISTS {self.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
                         f"CREATE USER IF NOT EXISTS '{self.user}'@'localhost' IDENTIFIED BY '{password}';"
                         f"ALTER USER '{self.user}'@'localhost' IDENTIFIED BY '{password}';"
                         f"GRANT ALL ON {self.database}.* TO '{self.user}'@'localhost';")
            with open(self.password_file, "w") as f:
                f.write(password)
            os.chmod(self.password_file, 0o600)

    def _ping(self):
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError(f"mariadbd exited; see {self.log}")
        return subprocess.run(["mariadb-admin", "--no-defaults", "-uroot", f"--socket={self.socket}", "ping"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def load_sql_file(self, path):
        with open(path, "rb") as f:
            subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={self.socket}", self.database],
                           stdin=f, check=True)


class FakeWechat:
    def __init__(self, dir, appid="wxfakeappid", secret="fakesecret", token_ttl=7200, quiet=False):
        self.dir = os.path.abspath(dir)
        self.quiet = quiet  # no per-request log line (benchmarks)
        self.appid, self.secret, self.token_ttl = appid, secret, token_ttl
        self.proc = None
        self.url = None
        self.port_file = os.path.join(self.dir, "fake_wechat.port")
        self.log = os.path.join(self.dir, "fake_wechat.log")

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(ROOT, "tools/fake_wechat/fake_wechat.py"), "--host", "127.0.0.1", "--port", "0",
             "--port-file", self.port_file, "--appid", self.appid, "--secret", self.secret,
             "--token-ttl", str(self.token_ttl)] + (["--quiet"] if self.quiet else []),
            stdout=logf, stderr=logf, start_new_session=True)
        logf.close()

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"fake WeChat exited; see {self.log}")
            return os.path.exists(self.port_file)

        wait_for(ready, 30, "the fake WeChat")
        with open(self.port_file) as f:
            self.url = f"http://127.0.0.1:{int(f.read().strip())}"

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def make_certificate(dir):
    """A self-signed certificate for 127.0.0.1 and localhost; reused if present."""
    cert, key = os.path.join(dir, "tls.crt"), os.path.join(dir, "tls.key")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "825", "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o600)
    return cert, key


def write_config(dir, db, wechat_base, appid, secret, https_port, extra=None):
    """gateway.conf plus secret files beside it; returns the config path."""
    dir = os.path.abspath(dir)
    cert, key = make_certificate(dir)
    keys_file = os.path.join(dir, "session_keys")
    if not os.path.exists(keys_file):
        with open(keys_file, "w") as f:
            f.write(f"k1={secrets.token_hex(32)}")
        os.chmod(keys_file, 0o600)
    media_key_file = os.path.join(dir, "media_url_key")
    if not os.path.exists(media_key_file):
        with open(media_key_file, "w") as f:
            f.write(secrets.token_hex(32))
        os.chmod(media_key_file, 0o600)
    secret_file = os.path.join(dir, "wechat_secret")
    with open(secret_file, "w") as f:
        f.write(secret)
    os.chmod(secret_file, 0o600)
    values = {
        "listen_host": "127.0.0.1",
        "https_port": https_port,
        "tls_cert_file": cert,
        "tls_key_file": key,
        "db_socket": db.socket,
        "db_user": db.user,
        "db_password_file": db.password_file,
        "db_name": db.database,
        "schema_dir": os.path.join(ROOT, "schema"),
        "wechat_api_base": wechat_base,
        "wechat_appid": appid,
        "wechat_secret_file": secret_file,
        "session_keys_file": keys_file,
        "media_dir": os.path.join(dir, "media"),
        "export_dir": os.path.join(dir, "exports"),
        "notification_templates_file": os.path.join(ROOT, "config", "notification-templates.json"),
        "media_url_key_file": media_key_file,
    }
    values.update(extra or {})
    path = os.path.join(dir, "gateway.conf")
    with open(path, "w") as f:
        f.write("# Written by tools/devstack/devstack.py\n")
        for k, v in values.items():
            f.write(f"{k} = {v}\n")
    return path


class Gateway:
    """`wrapper`: a command the gateway runs under (the benchmarks' valgrind)."""

    def __init__(self, binary, config, dir, https_port, env=None, wrapper=None):
        self.binary, self.config, self.dir, self.https_port = binary, config, os.path.abspath(dir), https_port
        self.wrapper = list(wrapper or [])
        self.proc = None
        self.log = os.path.join(self.dir, "gateway.log")
        self.env = dict(os.environ, **(env or {}))

    @property
    def url(self):
        return f"https://127.0.0.1:{self.https_port}"

    def migrate(self):
        subprocess.run([self.binary, "--config", self.config, "migrate"], check=True, env=self.env,
                       stdout=subprocess.DEVNULL)

    def start(self, wait=True):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.wrapper + [self.binary, "--config", self.config, "serve"], stdout=logf, stderr=logf,
                                     env=self.env, start_new_session=True)
        logf.close()
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=60):
        ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "tls.crt"))

        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(healthy, timeout, "the gateway's /healthz")

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code


def real_wechat():
    base, appid, secret = (os.environ.get(k) for k in ("WECHAT_API_BASE", "WECHAT_APPID", "WECHAT_SECRET"))
    return (base, appid, secret) if base and appid and secret else None


def cmd_run(args):
    dir = os.path.abspath(args.dir)
    os.makedirs(dir, exist_ok=True)
    pidfile = os.path.join(dir, "devstack.pid")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            old = int(f.read().strip() or 0)
        if old and pid_alive(old):
            print(f"devstack: already running (pid {old}); `make stop` first", file=sys.stderr)
            return 1
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))

    db = MariaDB(dir)
    fake = None
    gw = None
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        db.start()
        real = real_wechat()
        if real:
            base, appid, secret = real
        else:
            fake = FakeWechat(dir)
            fake.start()
            base, appid, secret = fake.url, fake.appid, fake.secret
        port = int(os.environ.get("GATEWAY_HTTPS_PORT", "8443"))
        # the console built beside the binary (make console: $(BUILD)/console)
        console_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.bin))), "console")
        config = write_config(dir, db, base, appid, secret, port, {"console_dir": console_dir})
        gw = Gateway(os.path.abspath(args.bin), config, dir, port)
        gw.migrate()
        demo_marker = os.path.join(dir, "demo-loaded")
        if not os.path.exists(demo_marker):
            db.load_sql_file(os.path.join(ROOT, "schema/demo/demo-data.sql"))
            open(demo_marker, "w").close()
        gw.start()
        with open(os.path.join(dir, "run.env"), "w") as f:
            f.write(f"GATEWAY_URL={gw.url}\nCA_CERT={os.path.join(dir, 'tls.crt')}\n"
                    f"FAKE_WECHAT_URL={fake.url if fake else ''}\n")
        print(f"""
gateway:      {gw.url}   (try: curl --cacert {dir}/tls.crt {gw.url}/healthz)
CA cert:      {dir}/tls.crt
fake WeChat:  {fake.url if fake else '(real WeChat: ' + base + ')'}
settings:     {dir}/run.env     logs: {dir}/gateway.log
staff console: {gw.url}/console/   (confirm its login code: tools/console_confirm.py, see README)
Log in as the demo admin:  curl --cacert {dir}/tls.crt -H 'Content-Type: application/json' \\
                           -d '{{"code":"C_o_demo_admin"}}' {gw.url}/api/v1/auth/login
Ctrl-C or `make stop` stops everything.
""", flush=True)
        while not stopping:
            if gw.proc.poll() is not None:
                print(f"devstack: the gateway exited ({gw.proc.returncode}); see {gw.log}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        if gw:
            gw.stop()
        if fake:
            fake.stop()
        db.stop()
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        print("devstack: stopped", flush=True)


def cmd_stop(args):
    pidfile = os.path.join(os.path.abspath(args.dir), "devstack.pid")
    if not os.path.exists(pidfile):
        print("devstack: not running")
        return 0
    with open(pidfile) as f:
        pid = int(f.read().strip() or 0)
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), 90, "devstack to stop")
    print("devstack: stopped")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", default="var")
    r.add_argument("--bin", default="build/bin/gateway")
    s = sub.add_parser("stop")
    s.add_argument("--dir", default="var")
    args = p.parse_args()
    return cmd_run(args) if args.command == "run" else cmd_stop(args)


if __name__ == "__main__":
    sys.exit(main())
