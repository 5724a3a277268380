#!/bin/sh
# Runs the browser tests of the staff console (tests/browser/): headless
# Chromium (Debian's chromium) driven by puppeteer-core from npm, against
# the same private stack as the end-to-end tests, with the console built in
# BUILD_DIR/console (make console). Screenshots go to
# BUILD_DIR/browser-artifacts (or $BROWSER_ARTIFACTS). `npm ci` runs in
# tests/browser when node_modules is missing or package-lock.json changed.
# Usage: tests/run-browser.sh BUILD_DIR [pytest args]
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/tests/browser"
if [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error || exit 1
    touch node_modules/.package-lock.json
fi
cd "$ROOT"
export BROWSER_ARTIFACTS="${BROWSER_ARTIFACTS:-$ROOT/$BUILD/browser-artifacts}"
echo "browser tests: screenshots in $BROWSER_ARTIFACTS"
[ $# -eq 0 ] && set -- tests/browser
GATEWAY_BIN="$ROOT/$BUILD/bin/gateway" exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE "$@"
