#!/usr/bin/env bash
# Smoke run of every fuzz target: each seed once, then a few seconds of fuzzing from the
# seeds (SMOKE_SECONDS, default 3). Long runs: fuzz/run.sh NAME SECONDS.
set -euo pipefail
build=${1:-build-fuzz}
secs=${SMOKE_SECONDS:-3}
cd "$(dirname "$0")/.."
status=0
for exe in "$build"/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=${exe##*/fuzz_}
    corpus=fuzz/corpus/$name
    work=$(mktemp -d)
    if ! "$exe" -runs=0 "$corpus" >"$work/seeds.log" 2>&1; then
        echo "fuzz smoke: $name failed on its seed corpus"; tail -30 "$work/seeds.log"; status=1
    elif ! "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 "$work" "$corpus" \
            >"$work/fuzz.log" 2>&1; then
        echo "fuzz smoke: $name crashed"; tail -40 "$work/fuzz.log"; status=1
    else
        runs=$(grep -o 'Done [0-9]* runs' "$work/fuzz.log" | tail -1 || true)
        echo "fuzz smoke: $name ok (${runs:-?})"
    fi
    rm -rf "$work"
done
exit $status
