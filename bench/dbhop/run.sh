#!/bin/sh
# bench/dbhop/run.sh BUILD [run.py options]: runs the database-hop probe's
# measurements (bench/dbhop/README.md). `make dbhop` builds BUILD (the
# gateway, which applies the schema, and BUILD/bench/dbhop/dbhop) first.
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.."
WITH_BENCH=1 scripts/install-deps.sh
exec /usr/bin/python3 bench/dbhop/run.py --build "$BUILD" "$@"
