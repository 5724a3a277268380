"""Runs one of the configuration pages' browser drivers (a .mjs next to this
file, built on config_support.mjs) against the test stack and returns its
report (the JSON line it prints last)."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def artifacts_dir(stack):
    d = os.environ.get("BROWSER_ARTIFACTS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(stack.binary))), "browser-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def run_driver(stack, script, token, **env):
    out = artifacts_dir(stack)
    e = dict(os.environ, GATEWAY_URL=stack.url, NODE_EXTRA_CA_CERTS=stack.ca_cert, STAFF_TOKEN=token, ARTIFACTS=out,
             CHROMIUM=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    e.update({k: str(v) for k, v in env.items()})
    p = subprocess.run(["node", os.path.join(HERE, script)], env=e, cwd=HERE, capture_output=True, text=True,
                       timeout=300)
    print(p.stdout)
    print(p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["console_errors"] == [] and report["csp_violations"] == []
    report["artifacts"] = out
    return report


def screenshots(report, *names):
    for n in names:
        assert os.path.getsize(os.path.join(report["artifacts"], n)) > 1000, n
