#!/bin/sh
# Runs the operations tests (tests/ops/): certificate and secret reload,
# upgrades under load, backup and restore, and (as root) the Debian package
# against Debian's MariaDB service. Ends with one line "N passed, N failed".
# Usage: tests/ops/run.sh BUILD_DIR
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
report=$(mktemp)
GATEWAY_BIN="$ROOT/$BUILD/bin/gateway" /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfEs \
    --junitxml="$report" tests/ops
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
print(t - f - sk, f, sk)
PY
)
rm -f "$report"
set -- $counts
passed=$1 failed=$2 skipped=$3
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "ops: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
