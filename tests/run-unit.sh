#!/bin/sh
# Runs the C unit tests (TAP, tests/unit/test.h) with prove: no database, no
# network beyond loopback. The WeChat client's test talks to a fake WeChat of
# its own, started here on a free port. Prints prove's report (failed checks
# with their "# FAIL" lines) and exits non-zero if any test failed.
# Usage: tests/run-unit.sh BUILD_DIR
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

fakedir=$(mktemp -d)
/usr/bin/python3 tools/fake_wechat/fake_wechat.py --host 127.0.0.1 --port 0 --port-file "$fakedir/port" --quiet \
    >"$fakedir/log" 2>&1 &
fakepid=$!
trap 'kill $fakepid 2>/dev/null; rm -rf "$fakedir"' EXIT
i=0
# polls for the port file; the 30 s limit only bounds a failure (a loaded machine starts slowly)
while [ ! -s "$fakedir/port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$fakedir/port" ]; then
    echo "run-unit: the fake WeChat did not start:" >&2
    cat "$fakedir/log" >&2
    exit 1
fi
export FAKE_WECHAT_URL="http://127.0.0.1:$(cat "$fakedir/port")"

# The binaries' log lines (stderr) are kept apart and shown only on failure.
if prove --exec '' --failures --comments "$BUILD"/tests/test_* 2>"$fakedir/stderr"; then
    exit 0
fi
echo "run-unit: the tests' log output:" >&2
cat "$fakedir/stderr" >&2
exit 1
