"""The staff console in headless Chromium (Debian's chromium driven by
puppeteer-core, tests/browser/console_login.mjs): the login through the
ticket flow, confirmed through the API as the mini-program would; the layout
with the user's name; no console error and no Content-Security-Policy
violation; the dashboard's chart drawn from the statistics API. Screenshots
go to $BROWSER_ARTIFACTS (default <build>/browser-artifacts)."""
import json
import os
import subprocess

from repairs_support import new_ticket, world

from config_support import artifacts_dir

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_login_layout_and_chart(stack, api, factory, db):
    w = world(factory, db)
    for _ in range(3):
        new_ticket(api, w)
    stats = api.get("/api/v1/admin/repairs/stats", token=w.supervisor.token).json()["data"]
    assert stats["total"] == 3
    out = artifacts_dir(stack)
    env = dict(os.environ, GATEWAY_URL=stack.url, NODE_EXTRA_CA_CERTS=stack.ca_cert, STAFF_TOKEN=w.supervisor.token,
               STAFF_NAME="主管", STATS_TOTAL=str(stats["total"]), ARTIFACTS=out,
               CHROMIUM=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    p = subprocess.run(["node", os.path.join(HERE, "console_login.mjs")], env=env, cwd=HERE,
                       capture_output=True, text=True, timeout=300)
    print(p.stdout)
    print(p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["user_name"] == "主管"
    assert report["chart_total"] == "3" and report["canvas"] is True
    assert report["console_errors"] == [] and report["csp_violations"] == []
    for shot in ("login.png", "dashboard.png", "dashboard-tablet.png"):
        assert os.path.getsize(os.path.join(out, shot)) > 1000
    # the browser's session is a row, made by the ticket the page showed
    assert db.scalar("SELECT user_id FROM console_sessions WHERE ticket_id = %s", (report["ticket"],)) == w.supervisor.id
    print(f"browser: screenshots in {out}")
