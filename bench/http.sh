#!/usr/bin/env bash
# HTTP core throughput and latency with wrk (Debian), 2 threads, keep-alive:
#   1. GET /health on the gateway, as fast as it goes;
#   2. GET /health paced at about 1,000 requests/s (p99 matters here);
#   3. POST of a 1 MB JSON body parsed and validated by a route (the test echo server).
# Usage: bench/http.sh [BUILD_DIR] [SECONDS]   (default build, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-10}
command -v wrk >/dev/null || { echo "bench/http.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
gw_port=18100
echo_port=18101
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
pids=()
trap cleanup EXIT

ACCESS_LOG=false ARTISTRY_CONFIG_DIR=/nonexistent "$build/artistry" serve gateway --port $gw_port \
    2>"$tmp/gw.log" & pids+=($!)
ACCESS_LOG=false HTTP_MAX_BODY=4M "$build/tests/http/http-echo-server" $echo_port \
    2>"$tmp/echo.log" & pids+=($!)
for port in $gw_port $echo_port; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
done

python3 - "$tmp/body.json" <<'PY'
import json, sys
tags = ["tag-%05d" % i for i in range(80000)]
body = {"name": "bench", "count": 1, "ratio": 0.5, "tags": tags, "meta": {"k": "v"}}
text = json.dumps(body)
open(sys.argv[1], "w").write(text)
print(f"body: {len(text)} bytes")
PY
cat > "$tmp/post.lua" <<LUA
local f = io.open("$tmp/body.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA
# 10 connections each waiting 10 ms between requests: about 1,000 requests/s in all
cat > "$tmp/paced.lua" <<'LUA'
function delay() return 10 end
LUA

summary() { # name, wrk output file
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$2")
    p50=$(awk '$1 == "50%" {print $2}' "$2")
    p99=$(awk '$1 == "99%" {print $2}' "$2")
    printf '%-34s %12s req/s   p50 %-9s p99 %s\n' "$1" "$rps" "$p50" "$p99"
}

wrk -t2 -c64 -d"${secs}s" --latency "http://127.0.0.1:$gw_port/health" >"$tmp/health.txt"
wrk -t2 -c10 -d"${secs}s" --latency -s "$tmp/paced.lua" "http://127.0.0.1:$gw_port/health" \
    >"$tmp/paced.txt"
wrk -t2 -c8 -d"${secs}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$echo_port/echo/json" \
    >"$tmp/post.txt"
ok=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$tmp/body.json" "http://127.0.0.1:$echo_port/echo/json")
echo "1 MB body answered with HTTP $ok"
echo
summary "GET /health (64 conns, max rate)" "$tmp/health.txt"
summary "GET /health (paced ~1,000 req/s)" "$tmp/paced.txt"
summary "POST 1 MB JSON (8 conns)" "$tmp/post.txt"
grep -h 'Non-2xx' "$tmp"/*.txt || true
