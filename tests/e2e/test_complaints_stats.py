"""The complaint statistics of GET /api/v1/admin/stats (volume by category
and building, handling times, clocks breached, resolutions rejected,
incidents), computed from the history, and the complaints CSV export: the
rows of the staff list for the same filters."""
import csv
import io

from complaints_support import cworld, new_complaint, owner_act, staff
from conftest import expect_error, expect_ok, wait_for


def test_complaint_figures(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    a = new_complaint(api, cw)["id"]
    b = new_complaint(api, cw, owner=w.owner_b)["id"]
    new_complaint(api, cw, type="suggestion", category="property_service")
    # a: replied after 10 minutes, resolved after an hour, rejected, resolved again.
    expect_ok(staff(api, w.supervisor, a, "reply", {"text": "收到"}))
    expect_ok(staff(api, w.supervisor, a, "resolve", {"resolution": "一"}))
    expect_ok(owner_act(api, w.owner_a, a, "reject", {"reason": "不行"}))
    expect_ok(staff(api, w.supervisor, a, "resolve", {"resolution": "二"}))
    # b: resolved straight away after two hours.
    expect_ok(staff(api, w.supervisor, b, "resolve", {"resolution": "三"}))
    db.exec("UPDATE complaints SET created_at = created_at - INTERVAL 1 DAY WHERE id IN (%s, %s)", (a, b))
    db.exec("UPDATE complaint_timeline SET created_at = created_at - INTERVAL 1 DAY WHERE complaint_id IN (%s, %s)"
            " AND action = 'submit'", (a, b))
    db.exec("UPDATE complaint_timeline SET created_at = (SELECT created_at FROM complaints WHERE id = %s)"
            " + INTERVAL 600 SECOND WHERE complaint_id = %s AND action = 'reply'", (a, a))
    rows = db.query("SELECT id FROM complaint_timeline WHERE complaint_id = %s AND action = 'resolve' ORDER BY id", (a,))
    db.exec("UPDATE complaint_timeline SET created_at = (SELECT created_at FROM complaints WHERE id = %s)"
            " + INTERVAL 3600 SECOND WHERE id = %s", (a, rows[0]["id"]))
    db.exec("UPDATE complaint_timeline SET created_at = (SELECT created_at FROM complaints WHERE id = %s)"
            " + INTERVAL 7200 SECOND WHERE complaint_id = %s AND action = 'resolve'", (b, b))
    now = db.scalar("SELECT UNIX_TIMESTAMP()")
    period = (int(now) - 3 * 86400, int(now) + 60)
    q = f"/api/v1/admin/stats?project={w.project_id}&from={period[0]}&to={period[1]}"
    d = expect_ok(api.get(q, token=w.supervisor.token))
    vol = {(r["category_code"], r["building"]): r["complaints"] for r in d["complaints_volume"]}
    bname = db.scalar("SELECT name FROM buildings WHERE id = %s", (w.building_id,))
    assert vol == {("noise", bname): 2, ("property_service", bname): 1}
    ht = {r["measure"]: r for r in d["complaint_handling_times"]}
    assert ht["respond"]["complaints"] == 2 and ht["respond"]["avg_s"] == (600 + 7200 + 1) // 2
    assert ht["respond"]["p90_s"] == 7200
    assert ht["resolve"]["avg_s"] == (3600 + 7200 + 1) // 2
    assert d["complaint_reopen_rate"] == [{"resolutions": 3, "rejected": 1, "reopen_rate": 0.3333}]
    sla = {r["clock"]: r for r in d["complaint_sla"]}
    assert sla["respond"]["clocks"] == 4 and sla["respond"]["breached"] == 0  # 3 filings + 1 rejection round
    inc = {r["kind"]: r for r in d["complaint_incidents"]}
    assert inc["detected"]["incidents"] == 0 and inc["manual"]["incidents"] == 0
    # A supervisor of another project may not name this one.
    expect_error(api.get(q, token=cw.other_supervisor.token), 403, "FORBIDDEN", "project")


def test_complaints_export_holds_the_list_rows(api, db, factory):
    cw = cworld(factory, db)
    w = cw.w
    ids = [new_complaint(api, cw)["id"], new_complaint(api, cw, owner=w.owner_b, type="praise",
                                                       category="property_service")["id"]]
    listed = expect_ok(api.get(f"/api/v1/admin/complaints?project={w.project_id}&type=praise",
                               token=w.supervisor.token))
    e = expect_ok(api.post("/api/v1/admin/exports", token=w.supervisor.token,
                           json={"kind": "complaints", "params": {"project": w.project_id, "type": "praise"}}), 202)

    def done():
        x = expect_ok(api.get(f"/api/v1/admin/exports/{e['id']}", token=w.supervisor.token))
        return x if x["state"] in ("done", "failed") else None
    x = wait_for(done, what="complaints export")
    assert x["state"] == "done", x
    r = api.get(x["download_url"], token=w.supervisor.token)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content[3:].decode("utf-8"), newline="")))
    assert rows[0][:3] == ["编号", "投诉编号", "类型"]
    assert [int(x[0]) for x in rows[1:]] == [i["id"] for i in listed] == [ids[1]]
    assert rows[1][2] == "表扬"
    expect_error(api.post("/api/v1/admin/exports", token=cw.other_supervisor.token,
                          json={"kind": "complaints", "params": {"project": w.project_id}}), 403, "FORBIDDEN")
