"""The export button on the console's pages, in headless Chromium
(tests/browser/flow_export_csv.mjs):
- on the dashboard, a statistic picked in the export menu is exported with
  the dashboard's period and project; the downloaded CSV holds the numbers
  the chart plots (its data-values) and GET /api/v1/admin/stats gives for
  that period and project;
- on the leads page with filters in the URL, the export holds the rows the
  leads list API gives for the same filters, and the export row keeps those
  filters."""
import base64
import csv
import io
import json

from browser_support import run_flow, screenshots_exist
from test_stats_history import FULL, history  # noqa: F401  (the fixture)


def csv_rows(report):
    f = report["file"]
    assert f["status"] == 200 and f["type"] == "text/csv; charset=utf-8"
    raw = base64.b64decode(f["base64"])
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def number(cell):
    return None if cell == "" else (int(cell) if cell.lstrip("-").isdigit() else float(cell))


def test_dashboard_exports_a_statistic_with_its_period_and_project(stack, api, db, history):  # noqa: F811
    w = history["w"]
    pid = w.project_id
    report = run_flow(stack, "flow_export_csv.mjs", FLOW="dashboard", SUP_TOKEN=w.supervisor.token, STAT="lead_funnel",
                      DASH_PATH=f"/dashboard?range=custom&from=2026-01-01&to=2026-01-10&project={pid}")
    view = report["view"]
    assert (view["from"], view["to"], view["project"]) == (*FULL, pid)
    e = api.get(f"/api/v1/admin/exports/{report['export_id']}", token=w.supervisor.token).json()["data"]
    assert e["kind"] == "stats.lead_funnel" and e["state"] == "done"
    assert e["params"] == {"from": FULL[0], "to": FULL[1], "project": pid}
    rows = csv_rows(report)
    d = api.get(f"/api/v1/admin/stats?from={FULL[0]}&to={FULL[1]}&project={pid}", token=w.supervisor.token).json()["data"]
    definition = next(x for x in d["definitions"] if x["name"] == "lead_funnel")
    names = [c["name"] for c in definition["columns"]]
    assert rows[0] == [c["header"] for c in definition["columns"]]
    as_dicts = [{n: (cell if n == "channel" else number(cell)) for n, cell in zip(names, row)} for row in rows[1:]]
    # The CSV is the API's rows ...
    assert as_dicts == d["lead_funnel"] and len(as_dicts) == 4
    # ... and the chart plots the same numbers.
    plotted = [{k: r[k] for k in ("channel", "leads", "contacted", "visited", "subscribed", "signed")}
               for r in as_dicts]
    assert view["values"] == plotted
    screenshots_exist(report, "dashboard-export")


def test_leads_page_exports_its_filtered_list(stack, api, db, factory):
    project = factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project)])
    for i in range(12):
        db.exec("INSERT INTO leads (project_id, name, phone, channel) VALUES (%s, %s, %s, %s)",
                (project, f"客户{i}", f"1390001{i:04d}", "poster" if i % 3 else "ad"))
    report = run_flow(stack, "flow_export_csv.mjs", FLOW="list", SUP_TOKEN=sup, KIND="leads", LIST_TEST="leads-list",
                      LIST_PATH=f"/leads?project_id={project}&channel=poster")
    rows = csv_rows(report)
    items = api.get(f"/api/v1/admin/leads?project_id={project}&channel=poster&limit=100", token=sup).json()["data"]
    assert len(items) == 8
    assert rows[0][:4] == ["编号", "项目", "姓名", "电话"]
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items]
    assert [r[3] for r in rows[1:]] == [i["phone_masked"] for i in items]
    e = db.one("SELECT kind, params, masked, requester_user_id FROM exports WHERE id = %s", (report["export_id"],))
    assert e["kind"] == "leads" and e["masked"] == 1 and e["requester_user_id"] == sup_id
    assert json.loads(e["params"]) == {"project_id": project, "channel": "poster"}
    screenshots_exist(report, "list-export-leads")
