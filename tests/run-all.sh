#!/bin/sh
# Runs every test: the C unit tests (tests/run-unit.sh), then the fake
# WeChat's self-test and the end-to-end tests (tests/run-e2e.sh), then the
# staff console's browser tests (tests/run-browser.sh). Ends with one line
# "unit: PASS|FAIL, end-to-end: PASS|FAIL, browser: PASS|FAIL" and exits
# non-zero if anything failed.
# Usage: tests/run-all.sh BUILD_DIR   (build or build-asan)
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

echo "== unit tests ($BUILD)"
tests/run-unit.sh "$BUILD" && unit=PASS || unit=FAIL
echo "== fake WeChat self-test and end-to-end tests ($BUILD)"
tests/run-e2e.sh "$BUILD" && e2e=PASS || e2e=FAIL
echo "== browser tests of the staff console ($BUILD)"
tests/run-browser.sh "$BUILD" && browser=PASS || browser=FAIL
echo "unit: $unit, end-to-end: $e2e, browser: $browser"
[ "$unit" = PASS ] && [ "$e2e" = PASS ] && [ "$browser" = PASS ]
