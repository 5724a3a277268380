"""miniprogram-api.md is the contract with the mini-program's developers: it
must list every error code in gateway/errors.def and every route the handlers
register, and its generated tables (errors, route index; the README's
configuration table) must be current. (No running gateway needed: these read
the sources and ask the binary to print its tables.)"""
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


def binary():
    return os.environ.get("GATEWAY_BIN", os.path.join(ROOT, "build", "bin", "gateway"))


def registered_routes():
    """(method, pattern) of every route table in the handlers' sources."""
    routes = set()
    for path in glob.glob(os.path.join(ROOT, "handlers", "**", "*.c"), recursive=True):
        with open(path, encoding="utf-8") as f:
            routes.update(ROUTE.findall(f.read()))
    return routes


INDEX_ROW = re.compile(r"^\| `(\w+)` \| `([^`]+)` \| ([^|]+) \| (\w+) \| `([^`]+)` \|$")


def index_rows(index):
    rows = [INDEX_ROW.match(line) for line in index.splitlines()[2:]]
    assert all(rows), "a route index row is not in the expected form"
    return [m.groups() for m in rows]


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
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- config:begin -->\n(.*?)\n<!-- config:end -->", text, re.S)
    assert m, "README.md has no config table markers"
    assert m.group(1) == gen.config_table(binary()), "README config table is stale: run scripts/gen-docs.py"


def test_route_index_is_current_and_every_route_in_it_is_documented():
    text = doc()
    current = gen.block(text, "routes")
    assert current is not None, "miniprogram-api.md has no route index markers"
    index = gen.route_index(binary())
    assert current == index, "the route index is stale: run scripts/gen-docs.py"
    rows = index_rows(index)
    # Every registered route is in it, with the file that declares it.
    assert {(m, re.sub(r"\{(\w+)\}", r":\1", p)) for m, p, *_ in rows} >= registered_routes()
    assert ("POST", "/api/v1/auth/login", "public", "login", "handlers/identity/auth.c") in rows
    for _, _, _, _, file in rows:
        assert os.path.isfile(os.path.join(ROOT, file)), f"the route index names a missing file {file}"
    # ... and documented in the body, outside the generated index.
    body = text.replace(current, "")
    missing = [f"{m} {p}" for m, p, *_ in rows if f"### {m} {p}" not in body and f"{m} {p}" not in body]
    assert not missing, "routes missing from the body of miniprogram-api.md: " + ", ".join(missing)
