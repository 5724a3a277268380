#!/bin/sh
# bench/run.sh BUILD: the benchmarks (`make bench` builds BUILD first).
# Installs wrk, h2load and sysbench if missing, builds the helpers (the
# idle-connection holder, the TLS connection-cost probe, the JPEG maker, the
# image-cost timer) into BUILD/bench, makes the test photos, raises the
# open-file limit for 10 000 idle connections, and runs bench/bench.py, which
# prints the table.
# Environment: BENCH_DURATION and BENCH_WARMUP (seconds a run), BENCH_ONLY
# (e.g. ceiling_http,s1,s6), BENCH_PROFILE=1 and BENCH_ANALYZE=1 (where the
# time goes on the cold path: the gateway, the database), BENCH_PEER_DIR
# (the Node peer, default ../shared/peers/node): see bench/README.md.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."

# Node and npm only for the peer, and only if missing (a node from another
# source brings its own npm); perf, strace and valgrind only for profiles.
# The peer is looked for from the repository's root and, in a git worktree,
# from the main checkout's root (as bench/peer.py does).
peer=${BENCH_PEER_DIR:-../shared/peers/node}
main=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null | sed -n 's#/\.git$##p')
with_peer=0
if { [ -f "$peer/server.js" ] || { [ -n "$main" ] && [ -f "$main/$peer/server.js" ]; }; } &&
    ! command -v npm >/dev/null 2>&1; then
    with_peer=1
fi
WITH_BENCH=1 WITH_PEER=$with_peer WITH_PROFILE=${BENCH_PROFILE:-0} scripts/install-deps.sh

OUT="$BUILD/bench"
mkdir -p "$OUT/data"
CC=${CC:-gcc}
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror"
$CC $CFLAGS bench/idle_conns.c -o "$OUT/idle_conns" $(pkg-config --cflags --libs openssl)
# OpenSSL's heap per idle server connection, by call site (run by hand).
$CC $CFLAGS bench/tls_conn_cost.c -o "$OUT/tls_conn_cost" $(pkg-config --cflags --libs openssl)
$CC $CFLAGS bench/make_jpeg.c -o "$OUT/make_jpeg" $(pkg-config --cflags --libs libturbojpeg)
# The image work of an upload, timed on the gateway's own code.
PKGS="libh2o-evloop openssl libcurl libcjson libmariadb libturbojpeg libpng"
$CC $CFLAGS -D_GNU_SOURCE -DH2O_USE_LIBUV=0 $(pkg-config --cflags $PKGS) bench/image_cost.c "$BUILD/libgateway.a" \
    $(pkg-config --libs $PKGS) -lm -lpthread -o "$OUT/image_cost"
for seed in $(seq 1 32); do
    [ -s "$OUT/data/photo$seed.jpg" ] || "$OUT/make_jpeg" "$OUT/data/photo$seed.jpg" 1048576 "$seed" >/dev/null
done

# 10 000 idle connections need as many descriptors in the gateway and the
# holder (each also raises its own soft limit to the hard one).
want=65536
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    ulimit -Hn "$want" 2>/dev/null || want=$hard
fi
ulimit -n "$want" 2>/dev/null || true

exec /usr/bin/python3 bench/bench.py --build "$BUILD"
