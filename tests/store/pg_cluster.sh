#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on loopback for tests and benchmarks.
#
#   tests/store/pg_cluster.sh run -- CMD [ARGS...]
#       initdb in a fresh temporary directory, start the server on 127.0.0.1 at a free port
#       (its unix socket stays in that directory), export
#       ARTISTRY_TEST_PG_URL=postgresql://artistry@127.0.0.1:PORT/postgres and
#       ARTISTRY_TEST_PG_DATA (its data directory, for tests that read the raw files), run
#       CMD, then stop the server and delete everything. Exits with CMD's status.
#   tests/store/pg_cluster.sh start DIR     start one in DIR (created), print its URL
#   tests/store/pg_cluster.sh stop DIR      stop it and delete DIR
#
# Needs Debian's postgresql package (deploy/packages.txt). As root the server runs as the
# `postgres` user (or `nobody` when there is none): PostgreSQL refuses to run as root.
# PG_CLUSTER_FSYNC=on keeps fsync on (benchmarks); tests run with it off for speed, which
# loses nothing unless the machine itself crashes.
set -euo pipefail

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then bindir=$d; break; fi
    done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg_cluster: initdb not found (install Debian's postgresql, or set PG_BINDIR)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

pick_owner() {
    owner=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1
    pick_owner
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U artistry -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1 || {
        echo "pg_cluster: initdb failed:" >&2
        cat "$dir/initdb.log" >&2
        return 1
    }
    local fsync=${PG_CLUSTER_FSYNC:-off} port
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
                -c fsync=$fsync -c max_connections=200 -c shared_buffers=64MB" >/dev/null; then
            echo "postgresql://artistry@127.0.0.1:$port/postgres" >"$dir/url"
            cat "$dir/url"
            return 0
        fi
    done
    echo "pg_cluster: the server did not start:" >&2
    tail -20 "$dir/server.log" >&2
    return 1
}

stop() {
    local dir=$1
    pick_owner
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
    start "$2"
    ;;
stop)
    [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop "$2"
    ;;
run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || { echo "usage: $0 run -- CMD [ARGS...]" >&2; exit 2; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/artistry-pg.XXXXXX")
    trap 'stop "$dir"' EXIT
    trap 'exit 130' INT TERM
    url=$(start "$dir")
    export ARTISTRY_TEST_PG_URL=$url ARTISTRY_TEST_PG_DATA=$dir/data
    set +e
    "$@"
    rc=$?
    set -e
    exit $rc
    ;;
*)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
