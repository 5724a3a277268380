"""`gateway backup DIR` while owners file repairs with photos and buyers
leave leads, then `gateway restore DIR` into a fresh database and media
folder, and a gateway serving the restored data."""
import hashlib
import json
import os
import secrets
import subprocess
import threading
import time

import pytest
import requests

from conftest import Api, Db
from lead_support import lead_body
from media_support import base_jpeg, upload
from ops_support import own_gateway, wait_until
from repairs_support import file_ticket, ticket_body, world


class Filers:
    """Threads filing leads and repairs with a photo until stopped; each
    success is recorded with the monotonic time its answer arrived."""

    def __init__(self, stack, w, lead_project, lead_token, threads=3):
        self.stack, self.w, self.lead_project, self.lead_token = stack, w, lead_project, lead_token
        self.repairs, self.leads, self.errors = [], [], []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def run(self, i):
        api = Api(self.stack.url, self.stack.ca_cert)
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            try:
                if (n + i) % 2:
                    content = base_jpeg() + secrets.token_bytes(16)  # a photo of its own: its own file
                    r = upload(api, self.stack.gateway, self.w.owner_a.token, content)
                    assert r.status_code == 201, r.text
                    photo_id = r.json()["data"]["id"]
                    r = file_ticket(api, self.w.owner_a.token, ticket_body(self.w, photo_ids=[photo_id]))
                    assert r.status_code == 201, r.text
                    with self.lock:
                        self.repairs.append((time.monotonic(), r.json()["data"]["id"], photo_id))
                else:
                    r = api.post("/api/v1/leads", token=self.lead_token, json=lead_body(self.lead_project))
                    assert r.status_code == 201, r.text
                    with self.lock:
                        self.leads.append((time.monotonic(), r.json()["data"]["submission"]["id"]))
            except Exception as e:  # reported by the test
                with self.lock:
                    self.errors.append(repr(e))
        api.session.close()

    def count(self):
        with self.lock:
            return len(self.repairs) + len(self.leads)


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})), timeout=300)


def test_backup_while_filing_then_restore_into_a_fresh_instance(stack, factory, db):
    w = world(factory, db)
    lead_project = factory.project()
    _, lead_token = factory.user()
    filers = Filers(stack, w, lead_project, lead_token)
    for t in filers.threads:
        t.start()
    backup_dir = os.path.join(stack.dir, f"backup-{secrets.token_hex(3)}")
    try:
        wait_until(lambda: filers.count() >= 12, 60, "filing to be under way")
        # Everything answered before this moment was committed before the
        # dump's consistent point, which comes later.
        started = time.monotonic()
        at_start = filers.count()
        b = run([stack.binary, "--config", stack.config_path, "backup", backup_dir])
        assert b.returncode == 0, b.stderr
        during = filers.count() - at_start
        wait_until(lambda: filers.count() >= at_start + during + 4, 60, "filing after the backup")
    finally:
        filers.stop_flag.set()
        for t in filers.threads:
            t.join(60)
    assert filers.errors == [], filers.errors[:3]
    assert "backup:" in b.stdout and "photos" in b.stdout

    manifest = json.load(open(os.path.join(backup_dir, "manifest.json")))
    assert manifest["database"]["tables"]["repair_tickets"] >= 1
    assert manifest["media"]["files"] >= 1
    # The photo list checks out with the standard tool.
    check = subprocess.run(["sha256sum", "--quiet", "-c", "media.sha256"], cwd=backup_dir, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # A fresh instance: an empty database and an empty media folder.
    name = f"gw_restore_{secrets.token_hex(4)}"
    stack.db._client(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
                     f"GRANT ALL ON {name}.* TO '{stack.db.user}'@'localhost';")
    gw = own_gateway(stack, "gw_restored", {"db_name": name})
    r = run([gw.binary, "--config", gw.config, "restore", backup_dir])
    assert r.returncode == 0, r.stderr
    assert f"{manifest['database']['rows']} rows" in r.stdout, r.stdout
    # Restoring again over it is refused, and changes nothing.
    again = run([gw.binary, "--config", gw.config, "restore", backup_dir])
    assert again.returncode == 1 and "restore into an empty database" in again.stderr, again.stderr

    password = open(stack.db.password_file).read().strip()
    restored = Db(stack.db.socket, stack.db.user, password, name)
    try:
        # Every row answered before the backup began is there.
        early_repairs = [x for x in filers.repairs if x[0] < started]
        early_leads = [x for x in filers.leads if x[0] < started]
        assert early_repairs and early_leads
        have = {r["id"] for r in restored.query("SELECT id FROM repair_tickets")}
        assert {t for _, t, _ in early_repairs} <= have
        have = {r["id"] for r in restored.query("SELECT id FROM lead_submissions")}
        assert {lead for _, lead in early_leads} <= have
        # Nothing half: every photo a restored row references is there, with its checksum.
        media = os.path.join(gw.dir, "media")
        rows = restored.query("SELECT id, sha256, thumb_sha256 FROM uploads")
        assert len(rows) >= len(early_repairs)
        for row in rows:
            for key in (row["sha256"], row["thumb_sha256"]):
                with open(os.path.join(media, key[:2], key[2:4], key), "rb") as f:
                    assert hashlib.sha256(f.read()).hexdigest() == key, row
        # The counts of the manifest are the restored database's.
        for table, n in manifest["database"]["tables"].items():
            assert restored.scalar(f"SELECT COUNT(*) FROM `{table}`") == n, table
    finally:
        restored.close()

    # The restored gateway serves them: the owner reads a ticket filed
    # before the backup and fetches its photo, byte for byte the original.
    gw.start()
    try:
        api = Api(gw.url, gw.ca)
        _, ticket_id, photo_id = early_repairs[0]
        r = api.get(f"/api/v1/repairs/{ticket_id}", token=w.owner_a.token)
        assert r.status_code == 200, r.text
        photos = r.json()["data"]["photos"]
        assert [p["id"] for p in photos] == [photo_id]
        restored_bytes = requests.get(gw.url + photos[0]["url"], verify=gw.ca, timeout=10).content
        live = Api(stack.url, stack.ca_cert).get(f"/api/v1/repairs/{ticket_id}", token=w.owner_a.token)
        live_bytes = requests.get(stack.url + live.json()["data"]["photos"][0]["url"], verify=stack.ca_cert,
                                  timeout=10).content
        assert restored_bytes == live_bytes and len(restored_bytes) > 100
        assert api.get("/readyz").status_code == 200
    finally:
        assert gw.stop() == 0, f"see {gw.log}"


def test_restore_refuses_a_damaged_backup(stack):
    backup_dir = os.path.join(stack.dir, f"backup-{secrets.token_hex(3)}")
    b = run([stack.binary, "--config", stack.config_path, "backup", backup_dir])
    assert b.returncode == 0, b.stderr
    # A backup into a folder that is not empty is refused.
    again = run([stack.binary, "--config", stack.config_path, "backup", backup_dir])
    assert again.returncode == 1 and "not empty" in again.stderr
    with open(os.path.join(backup_dir, "database.sql"), "a") as f:
        f.write("-- changed\n")
    name = f"gw_damaged_{secrets.token_hex(4)}"
    stack.db._client(f"CREATE DATABASE {name}; GRANT ALL ON {name}.* TO '{stack.db.user}'@'localhost';")
    gw = own_gateway(stack, "gw_damaged", {"db_name": name})
    r = run([gw.binary, "--config", gw.config, "restore", backup_dir])
    assert r.returncode == 1 and "does not match the manifest's checksum" in r.stderr, r.stderr
    password = open(stack.db.password_file).read().strip()
    target = Db(stack.db.socket, stack.db.user, password, name)
    try:
        assert target.scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (name,)) == 0
    finally:
        target.close()
    assert not os.path.exists(os.path.join(gw.dir, "media")) or not os.listdir(os.path.join(gw.dir, "media"))
