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


def console_doc():
    with open(os.path.join(ROOT, "console-api.md"), encoding="utf-8") as f:
        return f.read()


def is_console(pattern):
    return pattern.startswith("/api/v1/console/")


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
    console = console_doc()
    missing = []
    for method, pattern in sorted(routes):
        documented = re.sub(r":(\w+)", r"{\1}", pattern)
        if f"{method} {documented}" not in (console if is_console(pattern) else text):
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
    console = console_doc()
    missing = [f"{m} {p}" for m, p, *_ in rows
               if (f"### {m} {p}" not in console if is_console(p) else
                   f"### {m} {p}" not in body and f"{m} {p}" not in body)]
    assert not missing, "routes missing from the body of miniprogram-api.md: " + ", ".join(missing)


# README, "From a URL to its file, in one step": the audiences a path may
# start with after /api/v1/.
AUDIENCES = ("admin", "agent", "work", "me", "service")


def rule_file(path):
    """The file name the URL rule gives an /api/v1 path."""
    parts = path[len("/api/v1/"):].split("/")
    audience = None
    if parts[0] in AUDIENCES and len(parts) > 1:
        audience, parts = parts[0], parts[1:]
    resource = parts[0].replace("-", "_")
    return f"{resource}_{audience}.c" if audience else f"{resource}.c"


# Routes that came in outside the rule's file, to be moved into it (the
# service-level clocks' routes); a new route is never added here.
OUTSIDE_THE_RULE = {
    ("GET", "/api/v1/admin/calendar/{year}"), ("PUT", "/api/v1/admin/calendar/{year}"),
    ("POST", "/api/v1/repairs/{id}/pause"), ("POST", "/api/v1/repairs/{id}/resume"),
}


def test_every_route_is_in_the_file_the_url_rule_names():
    rows = [r for r in index_rows(gen.route_index(binary())) if (r[0], r[1]) not in OUTSIDE_THE_RULE]
    assert rule_file("/api/v1/service/customers/{id}") == "customers_service.c"
    assert rule_file("/api/v1/service/repairs") == "repairs_service.c"
    wrong = [f"{m} {p} is in {f}, the rule says {rule_file(p)}" for m, p, _, _, f in rows
             if p.startswith("/api/v1/") and os.path.basename(f) != rule_file(p)]
    assert not wrong, "routes outside the file README's URL rule names: " + "; ".join(wrong)


def test_console_doc_covers_its_routes_and_errors():
    """console-api.md (the staff console's contract) has a section for every
    /api/v1/console route, and every error code it or the console's code
    names is a row of the one error table."""
    text = console_doc()
    console_routes = {(m, re.sub(r":(\w+)", r"{\1}", p)) for m, p in registered_routes() if is_console(p)}
    assert ("POST", "/api/v1/console/tickets") in console_routes
    missing = [f"{m} {p}" for m, p in sorted(console_routes) if f"### {m} {p} " not in text]
    assert not missing, "console routes missing from console-api.md: " + ", ".join(missing)
    codes = {code for _, code, _ in gen.error_rows()}
    named = set(re.findall(r"`([A-Z][A-Z_]{3,})`", text))
    unknown = sorted(n for n in named - {"GET", "HEAD", "POST"} if n not in codes)
    assert not unknown, "console-api.md names error codes that are not in gateway/errors.def: " + ", ".join(unknown)
    sources = ""
    for path in ("handlers/identity/console.c", "gateway/console_session.c"):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            sources += f.read()
    raised = set(re.findall(r"\b(ERR_[A-Z_]+)\b", sources)) - {"ERR_NONE", "ERR_INTERNAL", "ERR_OVERLOADED"}
    enum_to_code = {}
    with open(os.path.join(ROOT, "gateway", "errors.def"), encoding="utf-8") as f:
        for enum, code in re.findall(r'X\((ERR_\w+),\s*\d+,\s*"(\w+)"', f.read()):
            enum_to_code[enum] = code
    undocumented = sorted(enum_to_code[e] for e in raised if f"`{enum_to_code[e]}`" not in text)
    assert not undocumented, "errors the console raises but console-api.md does not name: " + ", ".join(undocumented)
