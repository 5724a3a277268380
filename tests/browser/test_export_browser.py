"""CSV export from the console (导出记录, ExportButton) in headless Chromium
(tests/browser/console_export.mjs): a supervisor starts an export of a
project's leads on the Exports page, waits for it to be done, downloads the
file through the page's link, and the parsed CSV is compared with the leads
list API; the export and its download are rows in the database."""
import base64
import csv
import io
import json
import os
import subprocess

from test_console_browser import HERE, artifacts_dir

HOSTILE = '=HYPERLINK("http://evil.example/","x")'


def test_export_from_the_exports_page(stack, api, factory, db):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    db.exec("UPDATE users SET display_name = '主管' WHERE id = %s", (sup_id,))
    for i in range(30):
        db.exec("INSERT INTO leads (project_id, name, phone) VALUES (%s, %s, %s)",
                (project, HOSTILE if i == 0 else f"客户{i}", f"1390000{i:04d}"))
    out = artifacts_dir(stack)
    env = dict(os.environ, GATEWAY_URL=stack.url, NODE_EXTRA_CA_CERTS=stack.ca_cert, STAFF_TOKEN=sup, ARTIFACTS=out,
               KIND="leads", PROJECT=str(project), CHROMIUM=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    p = subprocess.run(["node", os.path.join(HERE, "console_export.mjs")], env=env, cwd=HERE,
                       capture_output=True, text=True, timeout=300)
    print(p.stdout)
    print(p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["console_errors"] == [] and report["csp_violations"] == []
    export_id = report["export_id"]
    assert report["row_state"] == "已完成"
    assert report["link"]["href"] == f"/api/v1/admin/exports/{export_id}/file"
    f = report["file"]
    assert f["status"] == 200 and f["type"] == "text/csv; charset=utf-8"
    assert f["disposition"].startswith("attachment; filename=")
    raw = base64.b64decode(f["base64"])
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["编号", "项目", "姓名", "电话"]
    # The same rows as the list API, masked as it masks them.
    items = api.get(f"/api/v1/admin/leads?project_id={project}&limit=100", token=sup).json()["data"]
    assert [int(r[0]) for r in body] == [i["id"] for i in items] and len(body) == 30
    assert [r[3] for r in body] == [i["phone_masked"] for i in items]
    assert body[-1][2] == "'=*"  # the hostile name, masked and escaped
    # The API's view of the export, and the database's.
    e = api.get(f"/api/v1/admin/exports/{export_id}", token=sup).json()["data"]
    assert e["state"] == "done" and e["rows_done"] == 30 and e["kind"] == "leads" and e["masked"] is True
    assert e["params"] == {"project_id": project} and e["size_bytes"] == len(raw)
    assert db.scalar("SELECT requester_user_id FROM exports WHERE id = %s", (export_id,)) == sup_id
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log WHERE target_type = 'export'"
                                              " AND target_id = %s ORDER BY id", (export_id,))]
    assert actions == ["export.request", "export.download"]
    for shot in ("exports.png", "exports-tablet.png"):
        assert os.path.getsize(os.path.join(out, shot)) > 1000
