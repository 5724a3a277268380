#!/bin/sh
# Runs libFuzzer drivers one at a time, each for SECONDS, from its seed
# corpus, and prints one line per driver and a results table.
#   tests/fuzz/run.sh FUZZ_BUILD SECONDS DRIVER...     (make fuzz calls it)
#
# Per driver: the checked-in seeds (tests/fuzz/corpus/<driver>, read only) and
# the dictionary tests/fuzz/dict/<driver>.dict if there is one; what libFuzzer
# finds goes to FUZZ_BUILD/corpus/<driver> (kept between runs, never checked
# in). A crash, a leak, a timeout, running out of memory or any sanitizer
# report fails the driver; its input is written to FUZZ_BUILD/artifacts/ and
# copied to tests/fuzz/regressions/<driver>/, where `make test` replays it
# (commit it with the fix). Exits non-zero if any driver failed.
set -u
BUILD=$1
SECONDS_EACH=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

# Per input: 25 s (the slowest legitimate image is far below) and 2 GiB.
TIMEOUT=25
RSS_MB=2048
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The code fuzzed: the commit, marked when gateway/, handlers/ or tests/fuzz/
# differ from it.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- gateway handlers tests/fuzz 2>/dev/null || commit="$commit+changes"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
failed=0
for d in "$@"; do
    bin="$BUILD/fuzz/$d"
    seeds="tests/fuzz/corpus/$d"
    work="$BUILD/corpus/$d"
    art="$BUILD/artifacts/$d"
    log="$BUILD/logs/$d.log"
    mkdir -p "$work" "$art" "$(dirname "$log")"
    rm -f "$art"/*
    dict=""
    [ -f "tests/fuzz/dict/$d.dict" ] && dict="-dict=tests/fuzz/dict/$d.dict"
    echo "== fuzz $d: ${SECONDS_EACH}s"
    # shellcheck disable=SC2086  # $dict is one word or none
    "$bin" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -print_final_stats=1 -artifact_prefix="$art/" $dict "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
    crashes=$(find "$art" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
    leaks=$(find "$art" -name 'leak-*' | wc -l)
    reports=$(grep -cE '^==[0-9]+==ERROR: |runtime error: ' "$log")
    result=ok
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$leaks" -ne 0 ] || [ "$reports" -ne 0 ]; then
        result=FAILED
        failed=$((failed + 1))
        mkdir -p "tests/fuzz/regressions/$d"
        for a in "$art"/*; do
            [ -f "$a" ] || continue
            cp "$a" "tests/fuzz/regressions/$d/"
            echo "   input: $a -> tests/fuzz/regressions/$d/$(basename "$a")"
        done
        grep -E -m 5 'ERROR: |runtime error: |property violated|SUMMARY: ' "$log" | sed 's/^/   /'
        echo "   log: $log"
    fi
    echo "   executions ${execs:-?}, ${speed:-?} exec/s, coverage ${cov:-?} edges / ${ft:-?} features," \
         "corpus ${corp:-?}, crashes $crashes, leaks $leaks, sanitizer reports $reports: $result"
    printf '| %s | %s | %s | %s | %s / %s | %s | %s | %s | %s |\n' "$d" "${execs:-?}" "${speed:-?}" \
        "${corp:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$leaks" "$reports" "$result" >>"$results"
done

echo
echo "| driver | executions | exec/s | corpus | coverage (edges / features) | crashes | leaks | sanitizer reports | result |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
cat "$results"
echo
echo "$commit, $(date -u +%Y-%m-%d), ${SECONDS_EACH}s per driver: $failed failed"
[ "$failed" -eq 0 ]
