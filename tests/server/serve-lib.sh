# tests/server/serve-lib.sh — sourced (`. "$(dirname "$0")/serve-lib.sh"`) by the HTTP shell
# suites (tests/server/test_serve.sh, tests/server/test_net.sh): a temporary folder removed at
# exit, the store (tests/pg/store-lib.sh: an SQLite file, or a fresh PostgreSQL database when
# $MIEN_TEST_STORE names a server; its key file is $TMP/store.db.key either way), a `mien
# serve` started on a free port and always stopped, and the checks. Set MIEN (the binary) and
# SUITE (the script's name, for messages) first. POSIX sh.
TMP=$(mktemp -d)
PID=""
stop() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$PID" 2>/dev/null
    fi
    PID=""
}
trap 'stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok $1"; }
bad() { failed=$((failed + 1)); echo "  FAILED $1"; [ -f "$TMP/body" ] && head -c 400 "$TMP/body" | sed 's/^/    /' && echo; }
# finish NAME : stops the server with SIGTERM; it must exit 0 (a sanitizer's report, a leak
# included, makes it exit otherwise)
finish() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    rc=$?
    PID=""
    rm -f "$TMP/body"
    if [ "$rc" -eq 0 ]; then ok "$1: clean exit"; else bad "$1: exit $rc"; tail -n 30 "$TMP/log"; fi
}
# suite_end : the summary line; the suite's exit status
suite_end() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

TEST_STORE_LIB=$(dirname "$0")/../pg/store-lib.sh
# shellcheck source=tests/pg/store-lib.sh
. "$TEST_STORE_LIB"
unset MIEN_AUDIT_HEAD MIEN_STORE
STORE=$(test_store "sqlite:$TMP/store.db") || exit 1
test_store_key "$TMP/store.db"
key() { # ROLE → prints a new key of that role
    "$MIEN" keys create --role "$1" --store "$STORE" 2>/dev/null | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1
}

# start ARGS... : starts the server on a free port (2 workers, log $TMP/log); sets PID, URL
# and HOSTPORT
start() {
    "$MIEN" serve --listen 127.0.0.1:0 --store "$STORE" --workers 2 "$@" >"$TMP/log" 2>&1 &
    PID=$!
    URL=""
    # up to 120 s: loading the models takes well under 1 s natively; generous for sanitizer
    # builds and slow machines (the loop ends at once if the server exits)
    for _ in $(seq 1 1200); do
        URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/log" | head -n 1)
        [ -n "$URL" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "$SUITE: the server did not start:"; cat "$TMP/log"; exit 1; }
    HOSTPORT=${URL#http://}
}

# req NAME WANT_STATUS CURL_ARGS... : one request; the body lands in $TMP/body, the headers in
# $TMP/headers
req() {
    name=$1 want=$2
    shift 2
    rm -f "$TMP/body"
    got=$(curl -s -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' --max-time 120 "$@") # a hang guard
    if [ "$got" = "$want" ]; then ok "$name"; else bad "$name: HTTP $got, want $want"; fi
}
# has NAME PATTERN : the last body matches PATTERN (grep -E); hasnt: it does not
has() {
    if grep -Eq -- "$2" "$TMP/body"; then ok "$1"; else bad "$1: no '$2'"; fi
}
hasnt() {
    if grep -Eq -- "$2" "$TMP/body"; then bad "$1: '$2' in the body"; else ok "$1"; fi
}
