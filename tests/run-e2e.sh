#!/bin/sh
# Runs the fake WeChat's self-test and the end-to-end tests (pytest) over
# real HTTPS against a private MariaDB and the fake WeChat, both started in a
# temporary folder. Extra arguments go to pytest (e.g. -k name, a file).
# Usage: tests/run-e2e.sh BUILD_DIR [pytest args]
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[ $# -eq 0 ] && set -- tools/fake_wechat tests/e2e
GATEWAY_BIN="$ROOT/$BUILD/bin/gateway" exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE "$@"
