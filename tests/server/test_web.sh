#!/bin/sh
# tests/server/test_web.sh — the web page end to end: a real `mien serve` on a temporary
# store, driven by headless chromium (tests/server/web_test.js).
#
# Usage: tests/server/test_web.sh PATH-TO-MIEN   (run from the repository root; ctest does)
#
# Creates an admin key with `mien keys create`, starts `mien serve` on 127.0.0.1 and a free
# port, waits for /readyz, then has web_test.js type the key, pick models/samples/sample1.jpg
# in the Detect panel and wait for the faces to be drawn. With curl, it also makes a collection
# "web" (purpose web_test) with a face of the sample, and web_test.js checks the Compare and
# Search panels; and a collection "desk" (consent required, two-person review) with two
# review keys, for the panels a person works in: enrol, the review queue (two reviewers),
# erasure and its receipt, the audit log (verify, export). The Group panel (the sample twice:
# one row of crops per person) always. The screenshots of every panel go to
# build/web-artifacts/ (web_test.js prints their paths). Skipped (exit 0, a "skip: …" line) when chromium, node,
# playwright-core (scripts/web-test-setup), the sample photo or the serve/keys commands are
# missing. Ends with "N passed, N failed"; exit 1 on a failure.
set -u

MIEN=${1:?usage: test_web.sh PATH-TO-MIEN}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODELS=${MIEN_MODELS:-$ROOT/models}
IMAGE=$MODELS/samples/sample1.jpg
SHOT=$ROOT/build/web-artifacts/web-detect.png
CHROMIUM=${MIEN_CHROMIUM:-/usr/bin/chromium}
READY_TIMEOUT_S=120 # model loading takes well under 5 s; generous for sanitizer builds

skip() {
    echo "skip: $*"
    echo "0 passed, 0 failed (skipped)"
    exit 0
}
failed() {
    echo "FAIL: web detect: $*"
    echo "0 passed, 1 failed"
    exit 1
}

[ -x "$CHROMIUM" ] || skip "chromium not found at $CHROMIUM (scripts/setup installs it)"
command -v node >/dev/null 2>&1 || skip "node not found"
"$ROOT/scripts/web-test-setup" >&2 || skip "playwright-core unavailable (scripts/web-test-setup failed)"
[ -f "$IMAGE" ] || skip "no $IMAGE (run scripts/setup)"
# A command is listed in `mien --help` as an indented line starting with its name.
has_command() { "$MIEN" --help 2>&1 | grep -qE "^[[:space:]]+$1([[:space:]]|\$)"; }
has_command serve || skip "mien has no serve command"
has_command keys || skip "mien has no keys command"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-web.XXXXXX") || exit 1
PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
STORE=sqlite:$TMP/mien.db

# GET URL → prints the HTTP status (000 when nothing answers).
http_status() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null
    else
        node -e 'fetch(process.argv[1]).then(r => console.log(r.status), () => console.log("000"))' "$1"
    fi
}

KEY=$("$MIEN" keys create --role admin --store "$STORE" 2>"$TMP/keys.err" \
      | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
[ -n "$KEY" ] || failed "mien keys create printed no key: $(cat "$TMP/keys.err")"

# A free port near 18000 + pid % 1000 (nothing must answer there yet).
PORT=$((18000 + $$ % 1000))
tries=0
while [ "$(http_status "http://127.0.0.1:$PORT/")" != "000" ]; do
    tries=$((tries + 1))
    [ $tries -lt 20 ] || failed "no free port found near 18000"
    PORT=$((18000 + ($$ + tries * 37) % 1000))
done
URL=http://127.0.0.1:$PORT

"$MIEN" serve --listen "127.0.0.1:$PORT" --store "$STORE" --models "$MODELS" \
    >"$TMP/serve.log" 2>&1 &
PID=$!

waited=0
while [ "$(http_status "$URL/readyz")" != "200" ]; do
    kill -0 "$PID" 2>/dev/null || { PID=""; failed "mien serve exited: $(tail -n 5 "$TMP/serve.log")"; }
    waited=$((waited + 1))
    [ $waited -le $((READY_TIMEOUT_S * 4)) ] || failed "/readyz not 200 after ${READY_TIMEOUT_S} s"
    sleep 0.25
done

COLLECTION=""
if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"name":"web","purposes":["web_test"],"legal_basis":"test","consent":"not_needed"}' \
        "$URL/v1/collections"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: image/jpeg' --data-binary "@$IMAGE" \
        "$URL/v1/collections/web/subjects/someone/faces?force=1")
    [ "$code" = "201" ] || failed "enrolling the sample for the Search panel: HTTP $code"
    COLLECTION=web
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' \
        -d '{"name":"desk","purposes":["web_test"],"legal_basis":"consent","consent":"required","review":"two_person"}' \
        "$URL/v1/collections")
    [ "$code" = "201" ] || failed "creating the two-person collection \"desk\": HTTP $code"
    REVIEWERS=""
    for _ in 1 2; do
        k=$("$MIEN" keys create --role review --store "$STORE" 2>>"$TMP/keys.err" \
            | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
        [ -n "$k" ] || failed "mien keys create --role review printed no key"
        REVIEWERS="$REVIEWERS $k"
    done
fi

mkdir -p "$(dirname "$SHOT")"
rm -f "$(dirname "$SHOT")/web-failure.png" # only a failure of this run leaves one
MIEN_TEST_KEY=$KEY MIEN_TEST_COLLECTION=$COLLECTION MIEN_CHROMIUM=$CHROMIUM \
    MIEN_TEST_REVIEWERS=${REVIEWERS:-} \
    MIEN_PLAYWRIGHT=${MIEN_PLAYWRIGHT:-$ROOT/build/node/node_modules/playwright-core} \
    node "$ROOT/tests/server/web_test.js" "$URL/" "$IMAGE" "$SHOT"
rc=$?
[ $rc -eq 0 ] || { echo "mien serve log (last lines):"; tail -n 20 "$TMP/serve.log"; }
exit $rc
