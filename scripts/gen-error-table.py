#!/usr/bin/python3
"""Rewrites the error table in miniprogram-api.md from gateway/errors.def,
so the document and the code cannot drift apart (tests/e2e/test_api_doc.py
checks they agree)."""
import os
import re
import sys

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


def main():
    path = os.path.join(ROOT, "miniprogram-api.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = re.sub(r"<!-- errors:begin -->.*?<!-- errors:end -->",
                 "<!-- errors:begin -->\n" + table() + "\n<!-- errors:end -->", text, flags=re.S)
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
