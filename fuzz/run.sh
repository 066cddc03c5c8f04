#!/usr/bin/env bash
# A long fuzzing session of one target: fuzz/run.sh NAME SECONDS [BUILD]. New inputs that
# raise coverage stay in a scratch corpus (.cache/fuzz/NAME); crashes, timeouts and slow
# units in .cache/fuzz/NAME-artifacts.
set -euo pipefail
name=$1
secs=${2:-300}
build=${3:-build-fuzz}
cd "$(dirname "$0")/.."
mkdir -p ".cache/fuzz/$name" ".cache/fuzz/$name-artifacts"
# -timeout: a unit slower than this is reported as a hang. 30 s, because the sanitizers
# slow the engine's reference loops ~80x (fuzz_onnx also bounds its activations to 1 MB).
exec "$build/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix=".cache/fuzz/$name-artifacts/" -print_final_stats=1 ".cache/fuzz/$name" \
    "fuzz/corpus/$name"
