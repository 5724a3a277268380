"""peer.py: the Node/Express peer beside the gateway, in the same bench run.

The peer (`../shared/peers/node` next to the repository, or BENCH_PEER_DIR)
serves the same "owner reads a ticket" endpoint on Node 20 + Express +
mysql2. Its folder is read-only: it is copied to a temporary folder, its
packages installed there (`npm ci`), and it runs against the bench's own
MariaDB, the way its README and bench.sh describe reusing its pieces on
another server:

  - `seed.sh SOCKET estate`: its schema and data (20 000 owners, 200 000
    tickets, 600 000 timeline rows) in a database of its own, `estate`;
  - an application user with SELECT/INSERT/UPDATE/DELETE on `estate` (its
    lib/db.sh db_users);
  - `bench.sh tokens 1000` (with BENCH_DIR/env.sh naming our socket): 1 000
    random owners and their tickets, with tokens signed by its token.js;
  - `node server.js` on a free loopback port, with the bench's own TLS
    certificate (the same ECDSA P-256 key as the gateway's);
  - its own wrk script (wrk/tickets.lua) under the same wrk settings as s1
    (threads, connections, warm-up, duration, timeout), wrapped by
    lua/peer_tickets.lua for the figures the bench reads.

Afterwards the peer is stopped and the `estate` database dropped, so the
scenarios that follow see the bench's dataset only.
"""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import requests

NPM_TIMEOUT_S = 600
SEED_TIMEOUT_S = 600
PEER_OWNERS = 1000
PEER_DB = "estate"
PEER_USER = "peer"


def peer_dir(root):
    """The peer's folder: BENCH_PEER_DIR, else ../shared/peers/node (both
    relative to the repository's root; in a git worktree, also relative to
    the main checkout's root); None when it is not there."""
    rel = os.environ.get("BENCH_PEER_DIR") or "../shared/peers/node"
    roots = [root]
    try:
        common = subprocess.run(["git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        if common and os.path.basename(common) == ".git":
            roots.append(os.path.dirname(common))
    except (OSError, subprocess.SubprocessError):
        pass
    for r in roots:
        d = os.path.abspath(os.path.join(r, rel))
        if os.path.isfile(os.path.join(d, "server.js")):
            return d
    return None


def tree_pids(pid):
    """pid and all its descendants (node:cluster workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


class Peer:
    def __init__(self, src, work_root, stack, log):
        self.src, self.stack, self.log = src, stack, log
        self.dir = tempfile.mkdtemp(prefix="bench-peer-", dir=work_root)
        self.app = os.path.join(self.dir, "app")
        self.bench_dir = os.path.join(self.dir, "work")
        self.proc = None
        self.password = secrets.token_hex(12)
        self.session_key = secrets.token_hex(32)
        self.port = None

    def env(self, **extra):
        return dict(os.environ, BENCH_DIR=self.bench_dir, **extra)

    def prepare(self):
        """Copy, install, seed, user, tokens. Returns the tokens file."""
        shutil.copytree(self.src, self.app, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", ".bench", "results", "*.log", "*.tsv"))
        for root, dirs, files in os.walk(self.app):  # the source is read-only
            os.chmod(root, 0o755)
            for f in files:
                p = os.path.join(root, f)
                os.chmod(p, os.stat(p).st_mode | 0o200)
        os.makedirs(self.bench_dir)
        t0 = time.monotonic()
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=self.app, check=True,
                       stdout=subprocess.DEVNULL, timeout=NPM_TIMEOUT_S)
        self.install_s = time.monotonic() - t0
        t0 = time.monotonic()
        subprocess.run(["bash", os.path.join(self.app, "seed.sh"), self.stack.db.socket, PEER_DB], check=True,
                       stdout=subprocess.DEVNULL, timeout=SEED_TIMEOUT_S)
        self.seed_s = time.monotonic() - t0
        self.stack.sql(f"CREATE USER IF NOT EXISTS '{PEER_USER}'@'localhost' IDENTIFIED BY '{self.password}';"
                       f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{PEER_DB}`.* TO '{PEER_USER}'@'localhost';",
                       database="mysql")
        # bench.sh's reusable pieces read the database's whereabouts from here.
        with open(os.path.join(self.bench_dir, "env.sh"), "w") as f:
            f.write(f"export BENCH_DIR='{self.bench_dir}' DB_SOCK='{self.stack.db.socket}' DB_PORT='' DB_PID=''"
                    f" DB_NAME='{PEER_DB}'\nexport DB_APP_USER='{PEER_USER}' DB_APP_PASSWORD='{self.password}'\n")
        tokens = os.path.join(self.bench_dir, "tokens.tsv")
        with open(tokens, "w") as f:
            subprocess.run(["bash", os.path.join(self.app, "bench.sh"), "tokens", str(PEER_OWNERS)], check=True,
                           stdout=f, env=self.env(SESSION_KEY=self.session_key), timeout=120)
        self.tokens = tokens
        return tokens

    def start(self, port, cert, key):
        self.port = port
        logf = open(os.path.join(self.bench_dir, "node.log"), "ab")
        self.proc = subprocess.Popen(
            ["node", os.path.join(self.app, "server.js")], cwd=self.app, stdout=logf, stderr=logf,
            start_new_session=True,
            env=self.env(PORT=str(port), HOST="127.0.0.1", TLS_KEY=key, TLS_CERT=cert,
                         SESSION_KEY=self.session_key, DB_SOCKET=self.stack.db.socket, DB_USER=PEER_USER,
                         DB_PASSWORD=self.password, DB_NAME=PEER_DB))
        logf.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the peer exited ({self.proc.returncode}); see {self.bench_dir}/node.log")
            try:
                if requests.get(self.url + "/healthz", verify=cert, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.25)
        else:
            raise RuntimeError("the peer did not answer /healthz within 60 s")
        # Every worker listening (the primary forks one a core).
        workers = os.cpu_count() or 1
        deadline = time.monotonic() + 30
        while len(tree_pids(self.proc.pid)) < 1 + workers and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(1)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def sanity(self, cert):
        """As its bench.sh: own ticket 200, someone else's 404, no token 401."""
        with open(self.tokens) as f:
            a, b = (line.rstrip("\n").split("\t") for line in (f.readline(), f.readline()))
        own, other = a[1].split(",")[0], b[1].split(",")[0]
        get = lambda tid, tok: requests.get(f"{self.url}/api/v1/repairs/{tid}", verify=cert, timeout=10,  # noqa
                                            headers={"Authorization": f"Bearer {tok}"} if tok else {}).status_code
        codes = (get(own, a[0]), get(other, a[0]), get(own, None))
        if codes != (200, 404, 401):
            raise RuntimeError(f"peer sanity check failed: own {codes[0]}, foreign {codes[1]}, no token {codes[2]}")

    def versions(self):
        def pkg(name):
            try:
                out = subprocess.run(["node", "-p", f"require('{self.app}/node_modules/{name}/package.json').version"],
                                     capture_output=True, text=True, timeout=30).stdout.strip()
                return out or "?"
            except (OSError, subprocess.SubprocessError):
                return "?"
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        return f"node {node}, express {pkg('express')}, mysql2 {pkg('mysql2')}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                for p in tree_pids(self.proc.pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        try:
            self.stack.sql(f"DROP DATABASE IF EXISTS `{PEER_DB}`; DROP USER IF EXISTS '{PEER_USER}'@'localhost';",
                           database="mysql")
        except (subprocess.CalledProcessError, OSError) as e:
            self.log(f"peer: cleanup of its database failed: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)
