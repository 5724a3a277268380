"""Statistics, referrals and rewards as export kinds (POST /api/v1/admin/
exports with kind stats.<name>, referrals, rewards).

For the known history of test_stats_history.py, each statistic's CSV holds
the rows GET /api/v1/admin/stats gives for the same period and project (the
chart, its CSV and the API agree), whole and for a period that cuts the
history; its period and project are read and checked as the statistics route
reads them, when the export is asked for and again when it runs. The
referrals export holds the referrals list's rows (masked unless an admin
asks otherwise), and the rewards export names who approved and who paid.
miniprogram-api.md lists every kind."""
import os
import re

import pytest

from conftest import expect_error
from repairs_support import named_user
from test_exports import download, list_all, mask_name, parse, queue_directly, run_export, start, wait_end
from test_stats_history import CUT, FULL, history, stats  # noqa: F401 (history is a fixture)


def cell_equals(cell, value):
    """A CSV cell holds the API's value: null as empty, numbers as numbers."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell in ("1", "0") and (cell == "1") == value
    if isinstance(value, (int, float)):
        return float(cell) == float(value)
    return cell == value


def stat_csv(api, token, name, period, project=None):
    params = {"from": period[0], "to": period[1]}
    if project:
        params["project"] = project
    e = run_export(api, token, f"stats.{name}", params)
    assert e["state"] == "done", e
    assert e["file_name"].endswith(f"-{e['id']}.csv")
    return e, parse(download(api, token, e).content)


def assert_csv_is_the_api(rows, d, name):
    definition = next(x for x in d["definitions"] if x["name"] == name)
    assert rows[0] == [c["header"] for c in definition["columns"]], name
    api_rows = d[name]
    assert len(rows) - 1 == len(api_rows), (name, rows, api_rows)
    for row, item in zip(rows[1:], api_rows):
        for cell, col in zip(row, definition["columns"]):
            assert cell_equals(cell, item[col["name"]]), (name, col["name"], cell, item[col["name"]])
            if isinstance(item[col["name"]], (int, float)) and not isinstance(item[col["name"]], bool):
                assert not cell.startswith("'"), (name, cell)  # a number is written as a number


def test_each_statistic_csv_equals_the_stats_api(api, db, history):
    w = history["w"]
    sup = w.supervisor.token
    names = None
    for period in (FULL, CUT):
        for project in (w.project_id, None):
            d = stats(api, sup, period, project)
            names = [x["name"] for x in d["definitions"]]
            assert len(names) == 15  # 7 repair and lead figures, 5 of complaints, 1 of surveys, 2 of satisfaction
            for name in names:
                e, rows = stat_csv(api, sup, name, period, project)
                assert e["rows_done"] == len(rows) - 1
                assert_csv_is_the_api(rows, d, name)
    # The history makes every repair, lead and complaint statistic hold rows
    # with figures (it has no complaints and no surveys: their volume and
    # results are empty; test_complaints_stats.py and test_surveys_answers.py
    # have them).
    d = stats(api, sup, FULL, w.project_id)
    assert all(d[n] for n in names if n not in ("complaints_volume", "survey_results"))


def test_statistic_export_is_scoped_like_the_stats_api(api, db, factory, history):
    w = history["w"]
    boss = named_user(factory, db, "管理员", roles=[("admin", 0)])
    d = stats(api, boss.token, FULL, w.project_id)
    _, rows = stat_csv(api, boss.token, "repairs_volume", FULL, w.project_id)
    assert_csv_is_the_api(rows, d, "repairs_volume")
    assert_csv_is_the_api(rows, stats(api, w.supervisor.token, FULL, w.project_id), "repairs_volume")
    # Another project's supervisor: refused for this project, nothing queued.
    other_id, other = factory.user(roles=[("supervisor", factory.project())])
    before = db.scalar("SELECT COUNT(*) FROM exports")
    for name in ("repairs_volume", "lead_funnel", "rewards_waiting"):
        expect_error(start(api, other, f"stats.{name}", {"project": w.project_id, "from": FULL[0], "to": FULL[1]}),
                     403, "FORBIDDEN", "params.project")
    # Without a project they see none of it, as on the dashboard.
    _, rows = stat_csv(api, other, "repairs_volume", FULL)
    assert rows == [rows[0]] and stats(api, other, FULL)["repairs_volume"] == []
    assert db.scalar("SELECT COUNT(*) FROM exports") == before + 1
    # Owners, engineers: 403 on the kind.
    expect_error(start(api, w.owner_a.token, "stats.repairs_volume", {}), 403, "FORBIDDEN")
    expect_error(start(api, w.engineers[0].token, "stats.repairs_volume", {}), 403, "FORBIDDEN")


@pytest.mark.parametrize("params, field", [
    ({"from": "soon"}, "params.from"), ({"to": "2026-01-01"}, "params.to"), ({"from": 2000, "to": 1000}, "params.from"),
    ({"from": 1000, "to": 1000}, "params.from"), ({"to": 99999999999}, "params.to"),
    ({"project": "abc"}, "params.project"), ({"project": -3}, "params.project"),
])
def test_bad_period_or_project_names_the_parameter(api, db, factory, params, field):
    uid, token = factory.user(roles=[("supervisor", factory.project())])
    expect_error(start(api, token, "stats.repair_sla", params), 400, "INVALID_FIELD", field)
    assert db.scalar("SELECT COUNT(*) FROM exports WHERE requester_user_id = %s", (uid,)) == 0


def test_the_runner_reads_the_scope_again(api, db, factory):
    project, other = factory.project(), factory.project()
    sup_id, sup = factory.user(roles=[("supervisor", project), ("supervisor", other)])
    # Queued as the route would have, then the role on the project is gone:
    # the statistic's own check fails the export when it runs.
    db.exec("DELETE FROM staff_roles WHERE user_id = %s AND project_id = %s", (sup_id, project))
    x = queue_directly(db, sup_id, "stats.lead_funnel", {"project": project})
    e = wait_end(api, sup, x)
    assert e["state"] == "failed" and "no longer" in e["error"], e
    # A period stored bad (not through the route) fails with the parameter's message.
    x = queue_directly(db, sup_id, "stats.lead_funnel", {"from": 2000, "to": 1000})
    e = wait_end(api, sup, x)
    assert e["state"] == "failed" and "from must be before to" in e["error"], e


def test_referrals_export_equals_the_referrals_list(api, db, factory, history):
    w = history["w"]
    sup = w.supervisor.token
    path = f"/api/v1/admin/referrals?project={w.project_id}"
    items = list_all(api, sup, path)
    assert items and all(i["referee_phone"] and "*" in i["referee_phone"] for i in items)
    e = run_export(api, sup, "referrals", {"project": w.project_id})
    assert e["state"] == "done" and e["masked"] is True, e
    rows = parse(download(api, sup, e).content)
    h = rows[0]
    assert h[:5] == ["编号", "项目", "线索编号", "被推荐人", "被推荐人电话"]
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items]
    for row, item in zip(rows[1:], items):
        cell = dict(zip(h, row))
        assert cell["项目"] == item["project"]["name"]
        assert int(cell["线索编号"]) == item["lead_id"]
        assert cell["被推荐人"] == mask_name(item["referee_name"])
        assert cell["被推荐人电话"] == item["referee_phone"]
        assert cell["推荐人"] == mask_name(item["referrer"]["name"])
        assert cell["推荐人电话"] == item["referrer"]["phone_masked"]
        assert cell["阶段"] == item["stage"] and cell["渠道"] == (item["channel"] or "")
        assert cell["已签约"] == ("是" if item["lead_signed"] else "否")
        assert cell["奖励状态"] == item["reward"]["status"]
        assert cell["奖励"] == item["reward"]["amount_display"]
    # A stage filter: the same rows as the list with it.
    e = run_export(api, sup, "referrals", {"project": w.project_id, "stage": "new"})
    rows = parse(download(api, sup, e).content)
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in list_all(api, sup, f"{path}&stage=new")]
    expect_error(start(api, sup, "referrals", {"stage": "bogus"}), 400, "INVALID_FIELD", "params.stage")
    # Unmasked: admins only; then the whole phones.
    expect_error(start(api, sup, "referrals", {"project": w.project_id}, unmasked=True), 403, "FORBIDDEN",
                 "unmasked")
    boss = named_user(factory, db, "管理员", roles=[("admin", 0)])
    e = run_export(api, boss.token, "referrals", {"project": w.project_id}, unmasked=True)
    rows = parse(download(api, boss.token, e).content)
    for row in rows[1:]:
        cell = dict(zip(h, row))
        whole = db.one("SELECT l.name, l.phone, ru.phone AS referrer_phone FROM referrals r JOIN leads l"
                       " ON l.id = r.lead_id JOIN users ru ON ru.id = r.referrer_user_id WHERE r.id = %s",
                       (int(row[0]),))
        assert cell["被推荐人电话"] == whole["phone"] and cell["推荐人电话"] == (whole["referrer_phone"] or "")
        assert cell["被推荐人"] == whole["name"]


def test_rewards_export_names_who_approved_and_paid(api, db, history):
    w = history["w"]
    sup = w.supervisor.token
    items = list_all(api, sup, f"/api/v1/admin/rewards?project={w.project_id}")
    reward = next(i for i in items if i["id"] == history["reward"])
    assert reward["approved_by_name"] == "主管" and reward["paid_by_name"] == "主管二"
    e = run_export(api, sup, "rewards", {"project": w.project_id})
    rows = parse(download(api, sup, e).content)
    h = rows[0]
    row = dict(zip(h, next(r for r in rows[1:] if int(r[0]) == history["reward"])))
    assert row["审批人"] == "主管" and row["发放人"] == "主管二"
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in items]


def test_the_documented_kinds_are_the_kinds(api, factory):
    """miniprogram-api.md's CSV exports section lists every kind: each
    statistic of the stats API, and no kind the API does not know."""
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "miniprogram-api.md"), encoding="utf-8").read()
    section = doc[doc.index("## CSV exports"):doc.index("**The file.**")]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", section, re.M)) - {"kind"}
    _, admin = factory.user(roles=[("admin", 0)])
    d = stats(api, admin, FULL)
    assert {f"stats.{x['name']}" for x in d["definitions"]} <= documented
    assert {"referrals", "rewards", "leads", "repairs", "audit", "staff"} <= documented
    for kind in sorted(documented):
        r = start(api, admin, kind, {"from": "x"} if kind.startswith("stats.") else {"bogus_filter_name": "x" * 300})
        assert r.status_code == 400 and r.json()["error"]["field"] != "kind", (kind, r.text)
