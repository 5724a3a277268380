"""Running one of the console's browser flows (a flow_*.mjs driver, see
console_driver.mjs) against the test stack and reading its report."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def artifacts_dir(stack):
    d = os.environ.get("BROWSER_ARTIFACTS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(stack.binary))), "browser-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def run_flow(stack, script, **env):
    """Runs tests/browser/<script> with env (values made strings) and
    returns its report (the last line of its output, JSON). Fails the test
    when the driver fails or the page logged an error or a CSP violation."""
    out = artifacts_dir(stack)
    full = dict(os.environ, GATEWAY_URL=stack.url, NODE_EXTRA_CA_CERTS=stack.ca_cert, ARTIFACTS=out,
                CHROMIUM=os.environ.get("CHROMIUM", "/usr/bin/chromium"), **{k: str(v) for k, v in env.items()})
    p = subprocess.run(["node", os.path.join(HERE, script)], env=full, cwd=HERE, capture_output=True, text=True,
                       timeout=300)
    print(p.stdout)
    print(p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    for name, problems in report.get("problems", {}).items():
        assert problems == {"errors": [], "csp": []}, (name, problems)
    report["artifacts"] = out
    return report


def screenshots_exist(report, *names):
    for name in names:
        for suffix in ("", "-tablet"):
            path = os.path.join(report["artifacts"], f"{name}{suffix}.png")
            assert os.path.getsize(path) > 1000, path
