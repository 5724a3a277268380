"""CSV exports (POST/GET /api/v1/admin/exports, jobs/export_runner.c): each
kind allowed or refused per role and project, bad kinds and params refused
with nothing written, the CSV's bytes (BOM, header, quoting, formula
escaping, masking), the rows equal to the list route's rows for the same
filters, progress over several pages, the runner's second check of the
requester's access, interrupted exports, expiry, who may download, the
bounds on concurrent exports, and the audit rows."""
import csv
import io
import json
import os
import re
import urllib.parse

from conftest import expect_error, expect_ok, unique_phone, wait_for

EXPORTS = "/api/v1/admin/exports"
HOSTILE = '=HYPERLINK("http://evil.example/?x","点我")'
PAGE_ROWS = 20  # export_page_rows of the test configuration


def start(api, token, kind, params=None, **extra):
    body = {"kind": kind, **extra}
    if params is not None:
        body["params"] = params
    return api.post(EXPORTS, token=token, json=body)


def wait_end(api, token, export_id, seen=None):
    """Polls the export until it is done or failed; records each state seen."""
    def ended():
        e = expect_ok(api.get(f"{EXPORTS}/{export_id}", token=token))
        if seen is not None:
            seen.append(e)
        return e if e["state"] in ("done", "failed") else None
    return wait_for(ended, what=f"export {export_id} to end")


def run_export(api, token, kind, params=None, **extra):
    e = expect_ok(start(api, token, kind, params, **extra), 202)
    assert e["state"] == "queued" and e["kind"] == kind
    return wait_end(api, token, e["id"])


def parse(content):
    """The CSV's rows, after checking its BOM and line ends."""
    assert content.startswith(b"\xef\xbb\xbf"), content[:10]
    text = content[3:].decode("utf-8")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def download(api, token, e):
    r = api.get(e["download_url"], token=token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    return r


def mask_name(name):
    return (name[:1] + "*") if name else name


def list_all(api, token, path):
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = api.get(f"{path}{sep}limit=100" + (f"&cursor={cursor}" if cursor else ""), token=token).json()
        items += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def exports_of(db, user_id):
    return db.scalar("SELECT COUNT(*) FROM exports WHERE requester_user_id = %s", (user_id,))


def add_leads(db, project, n, names=()):
    ids = []
    for i in range(n):
        name = names[i] if i < len(names) else f"客户{i}"
        ids.append(db.exec("INSERT INTO leads (project_id, name, phone, channel) VALUES (%s, %s, %s, 'poster')",
                           (project, name, unique_phone())))
    return ids


def test_leads_csv_bytes_progress_and_rows_equal_the_list(api, db, factory, stack):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    names = [HOSTILE, '张,"三"', "李\n四", "+86王", "-刘", "@赵"]
    add_leads(db, project, 50, names)

    e = expect_ok(start(api, sup, "leads", {"project_id": project, "channel": "poster"}), 202)
    assert e["masked"] is True and e["params"] == {"project_id": project, "channel": "poster"}
    seen = []
    e = wait_end(api, sup, e["id"], seen)
    assert e["state"] == "done", e
    # More than one page (20 rows each): the progress was saved as it went.
    assert e["rows_done"] == 50 and e["rows_total"] == 50 and e["progress"] == 1
    done_counts = [s["rows_done"] for s in seen]
    assert done_counts == sorted(done_counts)
    assert e["expires_at"] > e["finished_at"] and e["size_bytes"] > 0

    r = download(api, sup, e)
    disp = r.headers["content-disposition"]
    assert disp.startswith(f'attachment; filename="export-{e["id"]}-leads.csv"; filename*=UTF-8\'\'')
    assert urllib.parse.unquote(disp.split("''", 1)[1]) == f"线索-{e['id']}.csv"
    assert r.headers["cache-control"] == "no-store"
    assert len(r.content) == e["size_bytes"]
    raw = r.content
    # CRLF ends rows; a newline inside a cell is quoted.
    assert b"\r\n" in raw and raw.count(b"\r\n") == 51
    rows = parse(raw)
    header = rows[0]
    assert header[:4] == ["编号", "项目", "姓名", "电话"]
    body = rows[1:]
    assert len(body) == 50
    # Masked: names as 张*, phones as the list shows them; formula starts escaped.
    by_id = {int(row[0]): row for row in body}
    assert by_id[min(by_id)][2] == "'=*"  # the hostile name, masked, still escaped
    assert by_id[min(by_id) + 4][2] == "'-*"
    assert b"HYPERLINK" not in raw
    # The rows are the list route's rows for the same filters, in its order.
    items = list_all(api, sup, f"/api/v1/admin/leads?project_id={project}&channel=poster")
    assert [int(row[0]) for row in body] == [i["id"] for i in items]
    for row, item in zip(body, items):
        assert row[1] == item["project"]["name"]
        assert row[2] == ("'" if item["name"][0] in "=+-@" else "") + mask_name(item["name"])
        assert row[3] == item["phone_masked"] and re.fullmatch(r"\d{3}\*{4}\d{4}", row[3])
        assert row[header.index("渠道")] == item["channel"] == "poster"
    # The file is where export_dir says, complete; no half file is left.
    files = os.listdir(os.path.join(stack.dir, "exports"))
    assert f"export-{e['id']}.csv" in files and not any(f.startswith(f"export-{e['id']}.") and
                                                         f.endswith(".part") for f in files)
    # Audited: the request, then the download.
    audit = db.query("SELECT actor_user_id, action, detail, project_id FROM audit_log"
                     " WHERE target_type = 'export' AND target_id = %s ORDER BY id", (e["id"],))
    assert [a["action"] for a in audit] == ["export.request", "export.download"]
    assert all(a["actor_user_id"] == sup_id and a["project_id"] == project for a in audit)
    detail = json.loads(audit[0]["detail"])
    assert detail == {"kind": "leads", "params": {"project_id": project, "channel": "poster"}, "masked": True}


def test_unmasked_is_for_admins_and_escapes_the_whole_value(api, db, factory):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    admin_id, admin = factory.user(roles=[("admin", 0)])
    phone = unique_phone()
    db.exec("INSERT INTO leads (project_id, name, phone) VALUES (%s, %s, %s)", (project, HOSTILE, phone))

    expect_error(start(api, sup, "leads", {"project_id": project}, unmasked=True), 403, "FORBIDDEN", "unmasked")
    assert exports_of(db, sup_id) == 0
    e = run_export(api, admin, "leads", {"project_id": project}, unmasked=True)
    assert e["state"] == "done" and e["masked"] is False
    r = download(api, admin, e)
    assert b'"\'=HYPERLINK(""http://evil.example/?x"",""\xe7\x82\xb9\xe6\x88\x91"")"' in r.content
    rows = parse(r.content)
    assert rows[1][2] == "'" + HOSTILE and rows[1][3] == phone
    audit = db.one("SELECT detail FROM audit_log WHERE target_type = 'export' AND target_id = %s"
                   " AND action = 'export.request'", (e["id"],))
    assert json.loads(audit["detail"])["masked"] is False


KINDS = {
    "repairs": "project",
    "repair_followups": "project",
    "leads": "project_id",
    "rewards": "project",
    "referrals": "project",
    "notifications": "project",
    "audit": "project",
}


# Lists that filter another project's rows out rather than refuse it.
SCOPED_ONLY = ("rewards", "referrals", "notifications")
LIST_PATHS = {
    "repairs": "/api/v1/admin/repairs",
    "repair_followups": "/api/v1/admin/repair-followups",
    "leads": "/api/v1/admin/leads",
    "rewards": "/api/v1/admin/rewards",
    "referrals": "/api/v1/admin/referrals",
    "notifications": "/api/v1/admin/notifications",
    "audit": "/api/v1/admin/audit",
}


def test_each_kind_allowed_and_refused_per_role_and_project(api, db, factory):
    project, other = factory.project(), factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    other_id, other_sup = factory.user(roles=[("supervisor", other)])
    _, admin = factory.user(roles=[("admin", 0)])
    agent_id, agent = factory.user(roles=[("agent", project)])
    eng_id, eng = factory.user(roles=[("engineer", project)])
    owner_id, owner, _, _ = factory.owner_user(project)
    for kind, key in KINDS.items():
        params = {key: project}
        expect_error(start(api, None, kind, params), 401, "UNAUTHENTICATED")
        for token in (agent, eng, owner):
            expect_error(start(api, token, kind, params), 403, "FORBIDDEN")
        if kind in SCOPED_ONLY:
            # The list shows another project's supervisor none of its rows
            # (no 403): neither does the export.
            e = run_export(api, other_sup, kind, params)
            assert len(parse(download(api, other_sup, e).content)) == 1, kind
            assert expect_ok(api.get(f"{LIST_PATHS[kind]}?{key}={project}", token=other_sup)) == []
        else:
            # Another project's supervisor: the list's own check, named in params.
            err = expect_error(start(api, other_sup, kind, params), 403, "FORBIDDEN", f"params.{key}")
            assert err["message"]
            expect_error(api.get(f"{LIST_PATHS[kind]}?{key}={project}", token=other_sup), 403, "FORBIDDEN", key)
        for token in (sup, admin):
            e = run_export(api, token, kind, params)
            assert e["state"] == "done", (kind, e)
            rows = parse(download(api, token, e).content)
            assert rows[0][0] == "编号", (kind, rows[0])
    assert exports_of(db, other_id) == len(SCOPED_ONLY)
    for uid in (agent_id, eng_id, owner_id):
        assert exports_of(db, uid) == 0


def test_bad_kind_and_params_name_the_field_and_write_nothing(api, db, factory):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    before = db.scalar("SELECT COUNT(*) FROM exports")
    cases = [
        ({}, 400, "MISSING_FIELD", "kind"),
        ({"kind": "nope"}, 400, "INVALID_FIELD", "kind"),
        ({"kind": 3}, 400, "INVALID_FIELD", "kind"),
        ({"kind": "repairs", "params": [1]}, 400, "INVALID_FIELD", "params"),
        ({"kind": "repairs", "params": {"state": "bogus"}}, 400, "INVALID_FIELD", "params.state"),
        ({"kind": "repairs", "params": {"overdue": "maybe"}}, 400, "INVALID_FIELD", "params.overdue"),
        ({"kind": "repairs", "params": {"project": {"id": 1}}}, 400, "INVALID_FIELD", "params.project"),
        ({"kind": "repairs", "params": {"Bad-Name": 1}}, 400, "INVALID_FIELD", "params"),
        ({"kind": "leads", "params": {}}, 400, "MISSING_FIELD", "params.project_id"),
        ({"kind": "leads", "params": {"project_id": project, "stage": "x"}}, 400, "INVALID_FIELD", "params.stage"),
        ({"kind": "audit", "params": {"from": -1}}, 400, "INVALID_FIELD", "params.from"),
        ({"kind": "repairs", "unmasked": "yes"}, 400, "INVALID_FIELD", "unmasked"),
        ({"kind": "repairs", "extra": 1}, 400, "INVALID_FIELD", "extra"),
    ]
    for body, status, code, field in cases:
        expect_error(api.post(EXPORTS, token=sup, json=body), status, code, field)
    assert db.scalar("SELECT COUNT(*) FROM exports") == before
    assert db.scalar("SELECT COUNT(*) FROM audit_log WHERE actor_user_id = %s AND action = 'export.request'",
                     (sup_id,)) == 0


def test_audit_export_equals_the_audit_list(api, db, factory):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    for city in ("杭州", "上海", "-北京"):
        expect_ok(api.request("PATCH", f"/api/v1/admin/projects/{project}", json={"city": city}, token=sup))
    e = run_export(api, sup, "audit", {"project": project, "action": "project.update"})
    rows = parse(download(api, sup, e).content)
    items = list_all(api, sup, f"/api/v1/admin/audit?project={project}&action=project.update")
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items] and len(items) == 3
    detail_col = rows[0].index("详情")
    for row, item in zip(rows[1:], items):
        assert json.loads(row[detail_col]) == item["detail"]
        assert row[rows[0].index("操作")] == "project.update"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[1])


def test_projects_export_is_the_callers_projects(api, db, factory):
    project, other = factory.project(), factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    _, agent = factory.user(roles=[("agent", project)])
    expect_error(start(api, agent, "projects"), 403, "FORBIDDEN")
    e = run_export(api, sup, "projects", {"open_for_leads": True})
    rows = parse(download(api, sup, e).content)
    items = list_all(api, sup, "/api/v1/admin/projects?open_for_leads=true")
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items] == [project]
    assert rows[1][rows[0].index("开放留资")] == "是"
    expect_error(start(api, sup, "projects", {"open_for_leads": "maybe"}), 400, "INVALID_FIELD",
                 "params.open_for_leads")


def test_buildings_and_units_exports_are_their_lists_oldest_first(api, db, factory):
    project, other = factory.project(), factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    _, other_sup = factory.user(roles=[("supervisor", other)])
    b1, b2 = factory.building(project, "1号楼"), factory.building(project, "=2号楼")
    units = [factory.unit(building_id=b1, name=f"{i}01") for i in range(1, 4)]
    e = run_export(api, sup, "buildings", {"project": project})
    rows = parse(download(api, sup, e).content)
    items = list_all(api, sup, f"/api/v1/admin/projects/{project}/buildings")
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items] == [b1, b2]
    assert rows[2][2] == "'=2号楼" and rows[1][4] == "3"
    e = run_export(api, sup, "units", {"building": b1})
    rows = parse(download(api, sup, e).content)
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in list_all(api, sup, f"/api/v1/admin/buildings/{b1}/units")]
    assert [int(r[0]) for r in rows[1:]] == units
    # The parent is required, and checked as the list checks it.
    expect_error(start(api, sup, "units", {}), 400, "MISSING_FIELD", "params.building")
    expect_error(start(api, sup, "buildings", {}), 400, "MISSING_FIELD", "params.project")
    expect_error(start(api, other_sup, "units", {"building": b1}), 404, "NOT_FOUND")
    expect_error(start(api, other_sup, "buildings", {"project": project}), 403, "FORBIDDEN", "params.project")


def test_staff_export_is_the_directory_with_masked_phones(api, db, factory):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    _, admin = factory.user(roles=[("admin", 0)])
    phone = unique_phone()
    eng_id, _ = factory.user(roles=[("engineer", project)], phone=phone)
    db.exec("UPDATE users SET display_name = %s WHERE id = %s", ("@工程师", eng_id))
    e = run_export(api, sup, "staff", {"project": project})
    rows = parse(download(api, sup, e).content)
    items = list_all(api, sup, f"/api/v1/admin/staff?project={project}")
    assert [int(r[0]) for r in rows[1:]] == [i["user_id"] for i in items] == [sup_id, eng_id]
    eng = rows[2]
    assert eng[1] == "'@工程师" and eng[3] == items[1]["phone_masked"] == phone[:3] + "****" + phone[-4:]
    assert json.loads(eng[rows[0].index("角色")]) == items[1]["roles"]
    # Unmasked (an admin): the whole phone.
    e = run_export(api, admin, "staff", {"project": project}, unmasked=True)
    assert parse(download(api, admin, e).content)[2][3] == phone
    # A phone searched for is kept masked in the audit row (supervisors read it).
    e = run_export(api, sup, "staff", {"project": project, "phone": phone})
    assert [int(r[0]) for r in parse(download(api, sup, e).content)[1:]] == [eng_id]
    detail = json.loads(db.scalar("SELECT detail FROM audit_log WHERE target_type = 'export' AND target_id = %s"
                                  " AND action = 'export.request'", (e["id"],)))
    assert detail["params"]["phone"] == phone[:3] + "****" + phone[-4:] and phone not in json.dumps(detail)


def test_downloads_are_for_the_requester_and_admins(api, db, factory):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    _, sup2 = factory.user(roles=[("supervisor", project)])
    _, admin = factory.user(roles=[("admin", 0)])
    e = run_export(api, sup, "repairs", {"project": project})
    for path in (f"{EXPORTS}/{e['id']}", f"{EXPORTS}/{e['id']}/file"):
        expect_error(api.get(path, token=sup2), 404, "NOT_FOUND")
    assert all(x["id"] != e["id"] for x in expect_ok(api.get(EXPORTS, token=sup2)))
    download(api, admin, e)
    # The list: the caller's own; admins everyone's unless mine=true.
    assert expect_ok(api.get(EXPORTS, token=sup))[0]["id"] == e["id"]
    assert any(x["id"] == e["id"] for x in list_all(api, admin, EXPORTS))
    assert all(x["id"] != e["id"] for x in list_all(api, admin, f"{EXPORTS}?mine=true"))
    expect_error(api.get(f"{EXPORTS}/999999999/file", token=admin), 404, "NOT_FOUND")


def test_expired_export_is_410_and_its_file_is_deleted(api, db, factory, stack):
    project = factory.project()
    _, sup = factory.user(roles=[("supervisor", project)])
    e = run_export(api, sup, "repairs", {"project": project})
    path = os.path.join(stack.dir, "exports", f"export-{e['id']}.csv")
    assert os.path.exists(path)
    db.exec("UPDATE exports SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (e["id"],))
    expect_error(api.get(e["download_url"], token=sup), 410, "EXPORT_EXPIRED")
    wait_for(lambda: db.scalar("SELECT state FROM exports WHERE id = %s", (e["id"],)) == "expired",
             what="the expiry sweep")
    assert not os.path.exists(path)
    got = expect_ok(api.get(f"{EXPORTS}/{e['id']}", token=sup))
    assert got["state"] == "expired" and got["download_url"] is None
    expect_error(api.get(f"{EXPORTS}/{e['id']}/file", token=sup), 410, "EXPORT_EXPIRED")


def queue_directly(db, user_id, kind, params, **cols):
    """An export as the route would have queued it (the runner's checks are
    tested without racing it)."""
    names = ["requester_user_id", "kind", "params"] + list(cols)
    values = [user_id, kind, json.dumps(params)] + list(cols.values())
    return db.exec(f"INSERT INTO exports ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})", values)


def test_the_runner_checks_the_requester_again(api, db, factory):
    project, other = factory.project(), factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project), ("supervisor", other)])
    # The role on the project was revoked after the request: the list's own
    # check fails the export, with its message.
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND project_id = %s", (sup_id, project))
    x = queue_directly(db, sup_id, "repairs", {"project": project})
    e = wait_end(api, sup, x)
    assert e["state"] == "failed" and "no longer" in e["error"] and str(project) in e["error"], e
    assert e["download_url"] is None
    expect_error(api.get(f"{EXPORTS}/{x}/file", token=sup), 409, "CONFLICT")
    # Every staff role gone: failed before any row is read.
    db.exec("DELETE FROM staff_roles WHERE user_id = %s", (sup_id,))
    x = queue_directly(db, sup_id, "audit", {})
    wait_for(lambda: db.one("SELECT state, error FROM exports WHERE id = %s AND state = 'failed'", (x,)),
             what="the export to fail")
    assert "no longer holds a role" in db.scalar("SELECT error FROM exports WHERE id = %s", (x,))


def test_an_interrupted_export_runs_again_and_fails_after_three_attempts(api, db, factory, stack):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    add_leads(db, project, 3)
    folder = os.path.join(stack.dir, "exports")
    os.makedirs(folder, exist_ok=True)
    # A process died during attempt 1: its lease ran out, its half file is there.
    x = queue_directly(db, sup_id, "leads", {"project_id": project}, state="running", attempt=1)
    half = os.path.join(folder, f"export-{x}.1.part")
    with open(half, "wb") as f:
        f.write(b"\xef\xbb\xbfhalf")
    db.exec("UPDATE exports SET lease_until = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (x,))
    e = wait_end(api, sup, x)
    assert e["state"] == "done" and e["rows_done"] == 3
    assert db.scalar("SELECT attempt FROM exports WHERE id = %s", (x,)) == 2
    assert not os.path.exists(half)
    assert len(parse(download(api, sup, e).content)) == 4
    # Interrupted a third time: failed, not run again.
    y = queue_directly(db, sup_id, "leads", {"project_id": project}, state="running", attempt=3)
    db.exec("UPDATE exports SET lease_until = NOW(3) - INTERVAL 1 SECOND WHERE id = %s", (y,))
    e = wait_end(api, sup, y)
    assert e["state"] == "failed" and "interrupted" in e["error"]
    # A running export whose lease has not run out is left to its process.
    z = queue_directly(db, sup_id, "leads", {"project_id": project}, state="running", attempt=1)
    db.exec("UPDATE exports SET lease_until = NOW(3) + INTERVAL 1 HOUR WHERE id = %s", (z,))
    w = run_export(api, sup, "leads", {"project_id": project})  # the runner has run since
    assert w["state"] == "done"
    assert db.scalar("SELECT state FROM exports WHERE id = %s", (z,)) == "running"
    db.exec("DELETE FROM exports WHERE id = %s", (z,))


def test_concurrent_exports_are_bounded_per_user_and_in_total(api, db, factory):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    other_id, other = factory.user(roles=[("supervisor", project)])
    held = []
    try:
        # Three running for this user (export_per_user): the fourth is 429.
        for _ in range(3):
            held.append(queue_directly(db, sup_id, "repairs", {}, state="running", attempt=1))
        db.exec("UPDATE exports SET lease_until = NOW(3) + INTERVAL 1 HOUR WHERE id IN (%s, %s, %s)", held)
        n = exports_of(db, sup_id)
        r = start(api, sup, "repairs", {"project": project})
        expect_error(r, 429, "EXPORT_LIMIT")
        assert int(r.headers["retry-after"]) > 0 and exports_of(db, sup_id) == n
        # Twenty queued or running in all (export_total): 503 for everyone.
        busy = db.scalar("SELECT COUNT(*) FROM exports WHERE state IN ('queued', 'running')")
        for _ in range(20 - busy):
            x = queue_directly(db, other_id, "repairs", {}, state="running", attempt=1)
            db.exec("UPDATE exports SET lease_until = NOW(3) + INTERVAL 1 HOUR WHERE id = %s", (x,))
            held.append(x)
        _, third = factory.user(roles=[("supervisor", project)])
        expect_error(start(api, third, "repairs", {"project": project}), 503, "EXPORTS_BUSY")
    finally:
        if held:
            db.exec(f"DELETE FROM exports WHERE id IN ({', '.join(['%s'] * len(held))})", held)
    assert run_export(api, sup, "repairs", {"project": project})["state"] == "done"


def test_starting_exports_is_rate_limited_per_user(api, db, factory, stack):
    """The exports class on a gateway of its own with a small limit (the
    suite's gateway has the limits off)."""
    gw = stack.start_gateway(extra={"rate_exports_user": "1/min burst 1"}, name="gw-exports-rate")
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    expect_ok(api.post(EXPORTS, token=sup, base=gw.url, json={"kind": "repairs", "params": {"project": project}}), 202)
    n = exports_of(db, sup_id)
    r = api.post(EXPORTS, token=sup, base=gw.url, json={"kind": "repairs", "params": {"project": project}})
    expect_error(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) > 0 and exports_of(db, sup_id) == n
    # Reading is not the exports class.
    expect_ok(api.get(EXPORTS, token=sup, base=gw.url))
