"""miniprogram-api.md is the contract with the mini-program's developers: it
must list every error code in gateway/errors.def and every route the handlers
register. (No gateway needed: these read the sources.)"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("gen_docs", os.path.join(ROOT, "scripts/gen-docs.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"(/[^"]*)"')


def doc():
    with open(os.path.join(ROOT, "miniprogram-api.md"), encoding="utf-8") as f:
        return f.read()


def registered_routes():
    routes = set()
    for path in glob.glob(os.path.join(ROOT, "handlers", "*.c")):
        with open(path, encoding="utf-8") as f:
            routes.update(ROUTE.findall(f.read()))
    return routes


def test_error_table_matches_errors_def():
    text = doc()
    m = re.search(r"<!-- errors:begin -->\n(.*?)\n<!-- errors:end -->", text, re.S)
    assert m, "miniprogram-api.md has no error table markers"
    assert m.group(1) == gen.table(), "error table is stale: run scripts/gen-docs.py"


def test_every_route_is_documented():
    text = doc()
    routes = registered_routes()
    assert ("POST", "/api/v1/auth/login") in routes
    missing = []
    for method, pattern in sorted(routes):
        documented = re.sub(r":(\w+)", r"{\1}", pattern)
        if f"{method} {documented}" not in text:
            missing.append(f"{method} {documented}")
    assert not missing, "routes missing from miniprogram-api.md: " + ", ".join(missing)


def test_readme_config_table_matches_the_binary():
    binary = os.environ.get("GATEWAY_BIN", os.path.join(ROOT, "build", "bin", "gateway"))
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- config:begin -->\n(.*?)\n<!-- config:end -->", text, re.S)
    assert m, "README.md has no config table markers"
    assert m.group(1) == gen.config_table(binary), "README config table is stale: run scripts/gen-docs.py"
