"""The dashboard in headless Chromium (tests/browser/dashboard.mjs): after the
login through the ticket flow, every one of the thirteen charts is drawn (a
canvas, the rendered flag) and carries exactly the numbers of
GET /api/v1/admin/stats for the period and project the page shows: a custom
period that cuts through a known history, the default period, all projects,
and the 7-day preset picked with the period picker. Screenshots at 1280×800
and at a tablet's 820 px go to $BROWSER_ARTIFACTS."""
import json
import os
import subprocess

from test_console_browser import artifacts_dir
from test_stats_history import B, CUT, D, FULL, history  # noqa: F401  (the fixture)

HERE = os.path.dirname(os.path.abspath(__file__))

STATS = ("repairs_volume", "repair_handling_times", "repair_sla", "engineer_satisfaction", "lead_funnel",
         "referral_signings", "rewards_waiting", "survey_results", "satisfaction_dimensions", "followup_completion")
# The complaint charts (console/src/pages/dashboard/ComplaintCharts.vue).
COMPLAINT_STATS = ("complaints_volume", "complaint_handling_times", "complaint_sla")


def pick(rows, *keys):
    return [{k: r[k] for k in keys} for r in rows]


def plotted(d):
    """What each chart plots, from the API's answer: the page's data-values."""
    ref = d["referral_signings"][0]
    return {
        "repairs_volume": pick(d["repairs_volume"], "category_code", "state", "tickets"),
        "repair_handling_times": pick(d["repair_handling_times"], "measure", "tickets", "avg_s", "p90_s"),
        "repair_sla": pick(d["repair_sla"], "clock", "clocks", "breached", "breach_rate"),
        "engineer_satisfaction": pick(d["engineer_satisfaction"], "engineer_id", "ratings", "avg_score", "resolved",
                                      "reworked", "rework_rate"),
        "lead_funnel": pick(d["lead_funnel"], "channel", "leads", "contacted", "visited", "subscribed", "signed"),
        "referral_signings": {k: ref[k] for k in ("signed", "from_referrals", "share")},
        "rewards_waiting": pick(d["rewards_waiting"], "status", "rewards", "cash_fen", "points"),
        "survey_results": pick(d["survey_results"], "survey_id", "recipients", "responses", "response_rate", "nps"),
        "complaints_volume": pick(d["complaints_volume"], "category_code", "building", "complaints"),
        "complaint_handling_times": pick(d["complaint_handling_times"], "measure", "complaints", "avg_s", "p90_s"),
        "complaint_sla": {"sla": pick(d["complaint_sla"], "clock", "clocks", "breached"),
                          "reopen": d["complaint_reopen_rate"][0],
                          "incidents": pick(d["complaint_incidents"], "kind", "incidents")},
        "satisfaction_dimensions": pick(d["satisfaction_dimensions"], "engineer_id", "ratings", "avg_speed",
                                        "avg_attitude", "avg_quality", "closed_unrated", "unrated_share"),
        "followup_completion": pick(d["followup_completion"], "reason", "opened", "done", "done_on_time", "overdue"),
    }


def api_stats(api, token, frm, to, project=None):
    q = f"from={frm}&to={to}" + (f"&project={project}" if project else "")
    r = api.get(f"/api/v1/admin/stats?{q}", token=token)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def assert_view_matches(api, token, view):
    assert set(view["charts"]) == set(STATS) | set(COMPLAINT_STATS)
    for name, c in view["charts"].items():
        assert c["canvas"] is True and c["rendered"] == "1", name
    d = api_stats(api, token, view["from"], view["to"], view["project"])
    want = plotted(d)
    for name in STATS + COMPLAINT_STATS:
        assert view["charts"][name]["values"] == want[name], name
    assert view["charts"]["repairs_volume"]["total"] == str(sum(r["tickets"] for r in d["repairs_volume"]))
    return d


def test_dashboard_charts_show_the_statistics_api_numbers(stack, api, db, history):  # noqa: F811
    w = history["w"]
    pid = w.project_id
    out = artifacts_dir(stack)
    urls = [f"/console/dashboard?range=custom&from=2026-01-01&to=2026-01-02&project={pid}",
            f"/console/dashboard?range=custom&from=2026-01-01&to=2026-01-10&project={pid}",
            "/console/dashboard"]
    env = dict(os.environ, GATEWAY_URL=stack.url, NODE_EXTRA_CA_CERTS=stack.ca_cert, STAFF_TOKEN=w.supervisor.token,
               DASHBOARD_URLS=json.dumps(urls), ARTIFACTS=out,
               CHROMIUM=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    p = subprocess.run(["node", os.path.join(HERE, "dashboard.mjs")], env=env, cwd=HERE, capture_output=True,
                       text=True, timeout=600)
    print(p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["errors"] == [] and report["csp_violations"] == []
    cut, full, default = report["views"]
    # The custom periods are whole Shanghai days, the last one included.
    assert (cut["from"], cut["to"], cut["project"]) == (*CUT, pid)
    assert (full["from"], full["to"], full["project"]) == (*FULL, pid)
    assert "2026-01-01 至 2026-01-02" in cut["period_text"]
    d = assert_view_matches(api, w.supervisor.token, cut)
    # The known history as it stood at the end of day 2 (test_stats_history).
    assert sum(r["tickets"] for r in d["repairs_volume"]) == 4
    assert cut["charts"]["rewards_waiting"]["values"][0] == {"status": "pending", "rewards": 1, "cash_fen": 500000,
                                                             "points": 0}
    assert cut["charts"]["referral_signings"]["values"] == {"signed": 1, "from_referrals": 1, "share": 1}
    assert full["charts"]["referral_signings"]["values"] == {"signed": 2, "from_referrals": 1, "share": 0.5}
    assert_view_matches(api, w.supervisor.token, full)
    # The default: the last 30 days, every project of the supervisor.
    assert default["project"] is None and default["to"] - default["from"] == 30 * D
    assert_view_matches(api, w.supervisor.token, default)
    # The 7-day preset, picked in the page, is in the URL and loaded.
    week = report["week"]
    assert "range=7" in week["url"] and week["to"] - week["from"] == 7 * D
    assert_view_matches(api, w.supervisor.token, week)
    # A tablet: the same numbers, nothing wider than the screen.
    assert_view_matches(api, w.supervisor.token, report["tablet"])
    assert report["tablet_overflow"] is False
    for shot in ("dashboard-0.png", "dashboard-1.png", "dashboard-2.png", "dashboard-tablet-820.png"):
        assert os.path.getsize(os.path.join(out, shot)) > 1000
    print(f"browser: screenshots in {out}")
