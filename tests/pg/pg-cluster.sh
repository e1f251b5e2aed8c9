#!/bin/bash
# tests/pg/pg-cluster.sh — a throwaway PostgreSQL cluster for the PostgreSQL store tests
# (issue 8: "tests start their own PostgreSQL ... and tear it down").
#
#   pg-cluster.sh start DIR         initdb DIR/data, start it on 127.0.0.1 and a free port,
#                                   print the URI (postgresql://mien@127.0.0.1:PORT/mien)
#   pg-cluster.sh stop DIR          stop it and remove DIR
#   pg-cluster.sh restart DIR [S]   stop the server (fast shutdown: open connections are cut),
#                                   wait S seconds (default 0), start it again on the same port
#                                   and data; returns once it accepts connections
#   pg-cluster.sh bin               print the folder of the server binaries (exit 1: none)
#   pg-cluster.sh run DIR CMD...    start, run CMD with $MIEN_TEST_STORE set to the URI, stop;
#                                   exits with CMD's status (the cluster goes even on failure)
#
# The cluster belongs to nobody else: its data and its log live in DIR (the tests put DIR
# under the build folder), it listens on TCP loopback only (no Unix socket, so no path length
# limit on DIR), and the one role
# "mien" (superuser, so that tests can CREATE DATABASE) logs in by trust, without a password.
# Nothing of Debian's own cluster service (pg_ctlcluster, /etc/postgresql) is used.
#
# initdb refuses to run as root ("cannot be run as root"). As root, every server command
# runs as the `postgres` system user (made by Debian's postgresql package), or $PG_USER, via
# runuser; DIR is handed to that user. Binaries: $PG_BIN, else `pg_config --bindir`, else
# the newest /usr/lib/postgresql/*/bin.
#
# Durability is off (fsync=off, no initdb sync): a crash of this machine loses a throwaway
# cluster, nothing else. The store's own crash test kills clients, not the server, so it
# does not depend on the server's fsync. PG_DURABLE=1 keeps PostgreSQL's defaults (fsync on),
# for timings that mean something.
set -eu

die() { echo "pg-cluster: $*" >&2; exit 1; }

find_bin() {
    if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then
        echo "$PG_BIN"; return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        b=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$b" ] && [ -x "$b/initdb" ]; then echo "$b"; return 0; fi
    fi
    for b in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -n -r); do
        if [ -x "$b/initdb" ]; then echo "$b"; return 0; fi
    done
    return 1
}

# Runs "$@" as the cluster's owner: ourselves, or (as root) $PG_USER / postgres.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

# A TCP port on 127.0.0.1 that nothing answers on (the server's own bind is the real test).
free_port() {
    p=$(( 20000 + ($$ * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 40000 ))
    i=0
    while [ $i -lt 200 ]; do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            if ! command -v ss >/dev/null 2>&1 || ! ss -ltn "sport = :$p" | grep -q ":$p"; then
                echo "$p"; return 0
            fi
        fi
        p=$(( p + 1 )); [ $p -lt 60000 ] || p=20000
        i=$(( i + 1 ))
    done
    return 1
}

start() {
    dir=$1
    BIN=$(find_bin) ||
        die "no PostgreSQL server binaries (initdb); run scripts/setup (Debian package postgresql)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -e "$dir/data/postmaster.pid" ] || die "$dir holds a running cluster (stop it first)"
    rm -rf "$dir/data"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$OWNER" "$dir"
    fi
    (cd "$dir" && as_owner "$BIN/initdb" -D "$dir/data" -U mien -A trust -E UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1) \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    tries=0
    while :; do
        port=$(free_port) || die "no free port on 127.0.0.1"
        opts="-c listen_addresses=127.0.0.1 -c port=$port"
        opts="$opts -c unix_socket_directories='' -c max_connections=60"
        if [ "${PG_DURABLE:-0}" = 0 ]; then
            opts="$opts -c fsync=off -c full_page_writes=off"
        fi
        if (cd "$dir" && as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
                -o "$opts" start >"$dir/pg_ctl.log" 2>&1); then
            printf '%s\n' "$opts" >"$dir/opts"
            break
        fi
        tries=$(( tries + 1 ))
        if [ $tries -ge 5 ]; then
            cat "$dir/server.log" >&2 2>/dev/null || true
            die "pg_ctl start failed"
        fi
    done
    "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U mien -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE mien" >/dev/null || die "CREATE DATABASE failed"
    uri="postgresql://mien@127.0.0.1:$port/mien"
    echo "$uri" >"$dir/uri"
    echo "$uri"
}

stop() {
    dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    BIN=$(find_bin) || die "no PostgreSQL server binaries"
    if [ -f "$dir/data/postmaster.pid" ]; then
        (cd "$dir" && as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
            >/dev/null 2>&1) || echo "pg-cluster: pg_ctl stop failed in $dir" >&2
    fi
    rm -rf "$dir"
}

restart() {
    dir=$(cd "$1" && pwd)
    pause=${2:-0}
    BIN=$(find_bin) || die "no PostgreSQL server binaries"
    [ -f "$dir/opts" ] || die "$dir holds no cluster started by this script"
    opts=$(cat "$dir/opts")
    (cd "$dir" && as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
        >>"$dir/pg_ctl.log" 2>&1) || die "pg_ctl stop failed"
    sleep "$pause"
    (cd "$dir" && as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "$opts" start >>"$dir/pg_ctl.log" 2>&1) || die "pg_ctl start failed"
}

OWNER=${PG_USER:-postgres}
if [ "$(id -u)" -eq 0 ]; then
    id "$OWNER" >/dev/null 2>&1 || OWNER=nobody
fi

if [ "${1:-}" = bin ]; then
    find_bin || exit 1
    exit 0
fi
[ $# -ge 2 ] || die "usage: pg-cluster.sh start|stop DIR | restart DIR [S] | run DIR CMD... | bin"
cmd=$1 dir=$2
shift 2
case $cmd in
start) start "$dir" ;;
stop) stop "$dir" ;;
restart) restart "$dir" "${1:-0}" ;;
run)
    [ $# -ge 1 ] || die "run: no command"
    uri=$(start "$dir")
    trap 'stop "$dir"' EXIT INT TERM
    echo "pg-cluster: $uri (in $dir)" >&2
    rc=0
    MIEN_TEST_STORE=$uri "$@" || rc=$?
    exit $rc
    ;;
*) die "unknown command $cmd" ;;
esac
