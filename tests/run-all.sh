#!/bin/sh
# Runs every test: the C unit tests, then the end-to-end tests (pytest) over
# real HTTPS against a private MariaDB and the fake WeChat. Ends with one line
# "N passed, N failed" and exits non-zero if anything failed.
# Usage: tests/run-all.sh BUILD_DIR   (build or build-asan)
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
passed=0
failed=0

echo "== unit tests ($BUILD)"
# The WeChat client's unit test talks to a fake WeChat of its own.
fakedir=$(mktemp -d)
/usr/bin/python3 tools/fake_wechat/fake_wechat.py --host 127.0.0.1 --port 0 --port-file "$fakedir/port" --quiet \
    >"$fakedir/log" 2>&1 &
fakepid=$!
trap 'kill $fakepid 2>/dev/null; rm -rf "$fakedir"' EXIT
i=0  # polls for the port file; the 30 s limit only bounds a failure (a loaded machine starts slowly)
while [ ! -s "$fakedir/port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
export FAKE_WECHAT_URL="http://127.0.0.1:$(cat "$fakedir/port" 2>/dev/null)"
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    echo "$out" | grep -v '^unit .*: [0-9]* passed' | sed 's/^/  /'
    line=$(echo "$out" | grep -E '^unit .*: [0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$line" ]; then
        echo "  $t: crashed or printed no summary (exit $rc)"
        failed=$((failed + 1))
        continue
    fi
    echo "  $line"
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
    f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
done

kill $fakepid 2>/dev/null
unset FAKE_WECHAT_URL

echo "== fake WeChat self-test and end-to-end tests"
report=$(mktemp)
GATEWAY_BIN="$ROOT/$BUILD/bin/gateway" /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE \
    --junitxml="$report" tools/fake_wechat tests/e2e
rc=$?
counts=$(/usr/bin/python3 - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f)
PY
)
rm -f "$report"
p=${counts% *}
f=${counts#* }
passed=$((passed + p))
failed=$((failed + f))
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
