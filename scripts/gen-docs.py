#!/usr/bin/python3
"""Rewrites the generated tables of the documents from the code, so they
cannot drift apart (tests/e2e/test_api_doc.py checks they agree):
  - the error table in miniprogram-api.md, from gateway/errors.def;
  - the route index in miniprogram-api.md, from `gateway --print-routes`
    (the route tables as the handlers register them);
  - the configuration table in README.md, from `gateway --print-config-keys`.
Usage: scripts/gen-docs.py [path to the gateway binary, default build/bin/gateway]"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r'^X\(\s*(\w+)\s*,\s*(\d+)\s*,\s*"([A-Z_0-9]+)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')


def error_rows():
    rows = []
    with open(os.path.join(ROOT, "gateway/errors.def"), encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.strip())
            if m:
                rows.append((int(m.group(2)), m.group(3), m.group(4)))
    return rows


def table():
    out = ["| HTTP | code | meaning |", "| --- | --- | --- |"]
    out += [f"| {status} | `{code}` | {msg} |" for status, code, msg in error_rows()]
    return "\n".join(out)


def config_table(binary):
    return subprocess.run([binary, "--print-config-keys"], check=True, capture_output=True,
                          text=True).stdout.strip()


def route_index(binary):
    """`gateway --print-routes` registers the handlers as serving does, so it
    runs with a minimal valid configuration of its own (no listener is
    opened; photos would go to a temporary folder)."""
    with tempfile.TemporaryDirectory() as media:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update({
            "GATEWAY_HTTPS_PORT": "0", "GATEWAY_HTTP_PORT": "1",
            "GATEWAY_WECHAT_APPID": "wxdocs", "GATEWAY_WECHAT_SECRET": "docs",
            "GATEWAY_SESSION_KEYS": "docs=" + "d" * 32, "GATEWAY_MEDIA_URL_KEY": "m" * 32,
            "GATEWAY_MEDIA_DIR": media, "GATEWAY_LOG_LEVEL": "error",
            "ASAN_OPTIONS": "detect_leaks=0",
        })
        return subprocess.run([binary, "--print-routes"], check=True, capture_output=True, text=True,
                              cwd=ROOT, env=env).stdout.strip()


def block(text, name):
    """The generated block `name` of a document's text, or None."""
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    return m.group(1) if m else None


def replace_block(path, name, content):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = re.sub(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->",
                 lambda _: f"<!-- {name}:begin -->\n{content}\n<!-- {name}:end -->", text, flags=re.S)
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/bin/gateway")
    replace_block(os.path.join(ROOT, "miniprogram-api.md"), "errors", table())
    replace_block(os.path.join(ROOT, "miniprogram-api.md"), "routes", route_index(binary))
    replace_block(os.path.join(ROOT, "README.md"), "config", config_table(binary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
