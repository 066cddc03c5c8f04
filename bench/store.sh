#!/usr/bin/env bash
# Accounts and designs through the gateway on both store backends, side by side in one run,
# with wrk (keep-alive, --latency): signup (argon2id at the configured cost, reported),
# login, save of a design with a 500 KB image (a new image each time), and listing 10
# designs (small images, and 500 KB ones). SQLite runs with synchronous=FULL, PostgreSQL
# in a throw-away cluster (tests/store/pg_cluster.sh) with fsync on: both make every
# acknowledged write durable.
# Usage: bench/store.sh [BUILD_DIR] [SECONDS]   (default build, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-10}
command -v wrk >/dev/null || { echo "bench/store.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/artistry-pg.XXXXXX") # its own: the server's user must reach it
gw_pid=""
cleanup() {
    [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
    tests/store/pg_cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
port=18200
base=http://127.0.0.1:$port
nonce=$RANDOM$RANDOM

python3 - "$tmp" <<'PY'
import base64, os, sys
d = sys.argv[1]
open(f"{d}/image500k.b64", "w").write(base64.b64encode(os.urandom(500 * 1024)).decode())
open(f"{d}/image2k.b64", "w").write(base64.b64encode(os.urandom(2 * 1024)).decode())
PY

cat >"$tmp/signup.lua" <<'LUA'
local n, nonce = 0, ""
-- setup runs in the main state; tid becomes a global of each thread's own state
function setup(thread) _G.threads = (_G.threads or 0) + 1; thread:set("tid", _G.threads) end
function init(args) nonce = args[1] end
function request()
    n = n + 1
    local body = string.format(
        '{"email":"b%s_%d_%d@bench.example.com","password":"bench password","name":"Bench"}',
        nonce, tid, n)
    return wrk.format("POST", "/auth/signup", {["Content-Type"] = "application/json"}, body)
end
LUA
cat >"$tmp/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@bench.example.com","password":"bench password"}'
LUA
# A different image every request: the first 16 base64 characters carry a counter.
cat >"$tmp/save.lua" <<LUA
local f = io.open("$tmp/image500k.b64", "r")
local img = f:read("*a"):sub(17)
f:close()
local n, token = 0, ""
-- setup runs in the main state; tid becomes a global of each thread's own state
function setup(thread) _G.threads = (_G.threads or 0) + 1; thread:set("tid", _G.threads) end
function init(args) token = args[1] end
function request()
    n = n + 1
    local body = '{"user_id":"x","original_image_b64":"' .. string.format("%08d%08d", tid, n) .. img ..
        '","generated_image_b64":"g","detected_objects":["bed","lamp"],"budget":"medium",' ..
        '"design_tips":"Warm minimalism","total_cost_inr":32500,"metadata":{"room_type":"bedroom"}}'
    return wrk.format("POST", "/designs/save",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
LUA
cat >"$tmp/list.lua" <<'LUA'
function init(args) wrk.headers["Authorization"] = "Bearer " .. args[1] end
LUA

summary() { # name, wrk output
    local rps p50 p99 bad
    rps=$(awk '/Requests\/sec/ {print $2}' "$2")
    p50=$(awk '$1 == "50%" {print $2}' "$2")
    p99=$(awk '$1 == "99%" {print $2}' "$2")
    bad=$(awk '/Non-2xx/ {print $5}' "$2")
    printf '  %-40s %9s req/s   p50 %-9s p99 %-9s%s\n' "$1" "$rps" "$p50" "$p99" \
        "${bad:+   non-2xx: $bad}"
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

run_backend() { # name, DATABASE_URL
    local name=$1 url=$2
    DATABASE_URL=$url ACCESS_LOG=false ARTISTRY_CONFIG_DIR=/nonexistent ARTISTRY_DATA_DIR=$tmp/var \
        "$build/artistry" serve gateway --port $port 2>"$tmp/gw-$name.log" &
    gw_pid=$!
    for _ in $(seq 200); do curl -sf "$base/health" >/dev/null && break; sleep 0.05; done
    echo "$name: $(curl -s "$base/health")"
    local token small_token small_uid uid
    token=$(curl -s -H 'Content-Type: application/json' "$base/auth/signup" \
        -d '{"email":"bench@bench.example.com","password":"bench password","name":"Bench"}' | json '["token"]')
    uid=$(curl -s "$base/auth/verify?token=$token" | json '["user_id"]')
    local small r
    small=$(cat "$tmp/image2k.b64")
    curl -s -o /dev/null -H 'Content-Type: application/json' "$base/auth/signup" \
        -d '{"email":"small@bench.example.com","password":"bench password","name":"Small"}'
    r=$(curl -s -H 'Content-Type: application/json' "$base/auth/login" \
        -d '{"email":"small@bench.example.com","password":"bench password"}')
    small_token=$(echo "$r" | json '["token"]')
    small_uid=$(echo "$r" | json '["user_id"]')
    for i in $(seq 10); do
        curl -s -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $small_token" \
            "$base/designs/save" -d "{\"user_id\":\"x\",\"original_image_b64\":\"$small\",
            \"generated_image_b64\":\"$small\",\"detected_objects\":[\"bed\"],\"budget\":\"low\",
            \"design_tips\":\"t$i\",\"total_cost_inr\":$i}"
    done

    wrk -t2 -c4 -d"${secs}s" --latency -s "$tmp/signup.lua" "$base" -- "$nonce$name" >"$tmp/signup-$name.txt"
    wrk -t2 -c4 -d"${secs}s" --latency -s "$tmp/login.lua" "$base/auth/login" >"$tmp/login-$name.txt"
    wrk -t2 -c8 -d"${secs}s" --latency -s "$tmp/save.lua" "$base" -- "$token" >"$tmp/save-$name.txt"
    wrk -t2 -c8 -d"${secs}s" --latency -s "$tmp/list.lua" "$base/designs/user/$small_uid?limit=10" \
        -- "$small_token" >"$tmp/list-$name.txt"
    wrk -t2 -c8 -d"${secs}s" --latency -s "$tmp/list.lua" "$base/designs/user/$uid?limit=10" \
        -- "$token" >"$tmp/listbig-$name.txt"
    local rss
    rss=$(awk '/VmHWM/ {print $2 / 1024 " MB"}' /proc/$gw_pid/status)
    summary "POST /auth/signup (4 conns)" "$tmp/signup-$name.txt"
    summary "POST /auth/login (4 conns)" "$tmp/login-$name.txt"
    summary "POST /designs/save, 500 KB image (8)" "$tmp/save-$name.txt"
    summary "GET /designs/user 10 x 2 KB (8)" "$tmp/list-$name.txt"
    summary "GET /designs/user 10 x 500 KB (8)" "$tmp/listbig-$name.txt"
    echo "  gateway peak RSS $rss; saved designs $(curl -s -H "Authorization: Bearer $token" \
        "$base/designs/user/$uid?limit=1" | json '["total_count"]')"
    kill "$gw_pid"
    wait "$gw_pid" 2>/dev/null || true
    gw_pid=""
}

echo "argon2id cost: opslimit ${PASSWORD_HASH_OPSLIMIT:-2 (default)}, memlimit ${PASSWORD_HASH_MEMLIMIT:-64 MiB (default)}," \
    "at most ${PASSWORD_HASH_CONCURRENCY:-$(nproc)} at once; $(nproc) CPUs; ${secs}s per row"
echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
run_backend sqlite "sqlite://$tmp/var/artistry.db"
pgurl=$(PG_CLUSTER_FSYNC=on tests/store/pg_cluster.sh start "$pgdir")
run_backend postgresql "$pgurl"
echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"
