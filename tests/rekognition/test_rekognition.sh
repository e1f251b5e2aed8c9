#!/bin/sh
# test_rekognition.sh — the Rekognition-compatible API end to end: the real AWS SDK for
# JavaScript v3 (@aws-sdk/client-rekognition, pinned in tests/rekognition/package-lock.json)
# against `mien serve` on a temporary store (tests/rekognition/rekognition_test.mjs).
#
# Usage: tests/rekognition/test_rekognition.sh PATH-TO-MIEN   (from the repository root; ctest
# does). Creates an admin and a search key with `mien keys create --json` (their AWS
# credentials), starts `mien serve` on 127.0.0.1 and a free port, runs the SDK test, checks
# that the server is still up and that the audit log holds the searches with their purpose and
# case. Skipped (exit 0, a "skip: …" line) only when node, npm or the npm registry is missing
# (scripts/rekognition-test-setup) or the sample photos are absent (scripts/setup). Ends with
# "N passed, N failed"; exit 1 on a failure.
set -u

MIEN=${1:?usage: test_rekognition.sh PATH-TO-MIEN}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PREFIX=${MIEN_REKOGNITION_PREFIX:-$ROOT/build/rekognition}

skip() {
    echo "skip: $*"
    echo "0 passed, 0 failed (skipped)"
    exit 0
}
command -v node >/dev/null 2>&1 || skip "node not found (scripts/setup installs it)"
for k in 1 2 3 4; do
    [ -f "$MIEN_MODELS/samples/sample$k.jpg" ] || skip "no $MIEN_MODELS/samples (run scripts/setup)"
done
MIEN_REKOGNITION_PREFIX=$PREFIX "$ROOT/scripts/rekognition-test-setup" >&2 ||
    skip "the AWS SDK could not be installed (scripts/rekognition-test-setup: npm or the registry is unavailable)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-rek.XXXXXX") || exit 1
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
bad() { failed=$((failed + 1)); echo "  FAILED $1"; }

# the store: an SQLite file, or a fresh PostgreSQL database when $MIEN_TEST_STORE names a server
# (tests/pg/store-lib.sh; its key file is $TMP/store.db.key either way)
TEST_STORE_LIB=$(dirname "$0")/../pg/store-lib.sh
# shellcheck source=tests/pg/store-lib.sh
. "$TEST_STORE_LIB"
unset MIEN_AUDIT_HEAD MIEN_STORE
STORE=$(test_store "sqlite:$TMP/store.db") || exit 1
test_store_key "$TMP/store.db"
# key ROLE FILE: creates a key, its JSON (with the AWS credentials) into FILE
key() {
    "$MIEN" keys create --role "$1" --label "rekognition test" --store "$STORE" --json \
        >"$2" 2>"$TMP/keys.err" || { echo "test_rekognition: keys create failed:"; cat "$TMP/keys.err"; exit 1; }
}
key admin "$TMP/admin.json"
key search "$TMP/search.json"
grep -q '"aws_secret_access_key"' "$TMP/admin.json" && ok "keys create prints AWS credentials" ||
    bad "keys create prints AWS credentials: $(cat "$TMP/admin.json")"

# one worker and a queue of one, so that a burst of requests meets ThrottlingException
"$MIEN" serve --listen 127.0.0.1:0 --store "$STORE" --workers 1 --queue 1 >"$TMP/log" 2>&1 &
PID=$!
URL=""
# up to 120 s: loading the models takes well under 1 s natively; generous for sanitizer builds
# and slow machines (the loop ends at once if the server exits)
for _ in $(seq 1 1200); do
    URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/log" 2>/dev/null | head -n 1)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$URL" ] || { echo "test_rekognition: the server did not start:"; cat "$TMP/log"; exit 1; }
echo "server at $URL"

NODE_NO_WARNINGS=1 MIEN_URL=$URL MIEN_ADMIN_JSON=$TMP/admin.json MIEN_SEARCH_JSON=$TMP/search.json \
    MIEN_SAMPLES=$MIEN_MODELS/samples MIEN_NODE_MODULES=$PREFIX/node_modules \
    node "$ROOT/tests/rekognition/rekognition_test.mjs" >"$TMP/node.out" 2>&1
rc=$?
cat "$TMP/node.out"
# the node test's own tally
np=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p' "$TMP/node.out" | tail -n 1)
nf=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p' "$TMP/node.out" | tail -n 1)
if [ $rc -ne 0 ] && [ -z "$nf" ]; then nf=1; fi
passed=$((passed + ${np:-0}))
failed=$((failed + ${nf:-0}))

# the server survived everything the SDK sent
if command -v curl >/dev/null 2>&1; then
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz")
else
    code=$(node -e 'fetch(process.argv[1]).then(r => console.log(r.status), () => console.log("000"))' "$URL/healthz")
fi
[ "$code" = "200" ] && ok "server still up" || bad "server still up (healthz $code)"
kill -0 "$PID" 2>/dev/null && ok "server process alive" || bad "server process alive"
stop
# a sanitizer build reports what it found in the log (at exit for leaks)
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/log"; then
    bad "sanitizer reports: $(grep -E 'ERROR: |runtime error:' "$TMP/log" | head -n 5)"
fi

# the searches are in the audit log with the collection's purpose, the case header and the key
if "$MIEN" --help 2>&1 | grep -qE '^[[:space:]]+audit([[:space:]]|$)'; then
    "$MIEN" audit export --store "$STORE" >"$TMP/audit.jsonl" 2>"$TMP/audit.err"
    if grep '"search"' "$TMP/audit.jsonl" | grep -q '"rek-case-42"'; then
        ok "audit: search with X-Mien-Case-Ref"
    else
        bad "audit: search with X-Mien-Case-Ref: $(head -c 600 "$TMP/audit.jsonl") $(cat "$TMP/audit.err")"
    fi
    if grep '"search"' "$TMP/audit.jsonl" | grep -q '"access_control"'; then
        ok "audit: search with X-Mien-Purpose"
    else
        bad "audit: search with X-Mien-Purpose"
    fi
    if grep '"action":"search"' "$TMP/audit.jsonl" | grep '"outcome":"refused"' |
        grep -q 'declares its purpose'; then
        ok "audit: a search without X-Mien-Purpose is a refusal on the record"
    else
        bad "audit: a search without X-Mien-Purpose is a refusal on the record"
    fi
    if grep '"action":"faces.list"' "$TMP/audit.jsonl" | grep -q '"faces":6'; then
        ok "audit: ListFaces"
    else
        bad "audit: ListFaces: $(grep -c faces.list "$TMP/audit.jsonl") entries"
    fi
    if grep '"action":"search","collection":"rek-capped"' "$TMP/audit.jsonl" |
        grep '"capped":true' | grep -Eq '"top_k":2[,}]'; then
        ok "audit: a capped search says so"
    else
        bad "audit: a capped search says so"
    fi
    if grep '"compare"' "$TMP/audit.jsonl" | grep -q '"rekognition"'; then
        ok "audit: CompareFaces"
    else
        bad "audit: CompareFaces"
    fi
    for action in subject.create face.move; do
        if grep "\"$action\"" "$TMP/audit.jsonl" | grep -q '"rek-users"'; then
            ok "audit: $action (users API)"
        else
            bad "audit: $action (users API)"
        fi
    done
    if grep '"search"' "$TMP/audit.jsonl" | grep '"rek-users"' | grep -q '"rek-case-42"'; then
        ok "audit: SearchUsers with X-Mien-Case-Ref"
    else
        bad "audit: SearchUsers with X-Mien-Case-Ref"
    fi
    # every refused IndexFaces is one entry (issue 13 item 12)
    n=$(grep '"action":"enrol"' "$TMP/audit.jsonl" | grep '"outcome":"refused"' |
        grep -c '"reason":"no consent reference"')
    if [ "$n" -eq 1 ]; then ok "audit: IndexFaces without consent, one entry"
    else bad "audit: IndexFaces without consent: $n entries, want 1"; fi
    n=$(grep '"action":"enrol"' "$TMP/audit.jsonl" | grep '"outcome":"refused"' |
        grep '"faces":0' | grep -c '"reason":"no_face"')
    if [ "$n" -eq 1 ]; then ok "audit: IndexFaces without a face, one entry"
    else bad "audit: IndexFaces without a face: $n entries, want 1"; fi
    n=$(grep '"action":"search"' "$TMP/audit.jsonl" | grep '"outcome":"refused"' |
        grep -c '"reason":"no_face"')
    # two searches without a face: the blank picture and the "no face" side-by-side one
    if [ "$n" -eq 2 ]; then ok "audit: SearchFacesByImage without a face, one entry each"
    else bad "audit: SearchFacesByImage without a face: $n entries, want 2"; fi
    n=$(grep '"action":"compare"' "$TMP/audit.jsonl" | grep '"outcome":"refused"' |
        grep -c '"reason":"no_face: source"')
    if [ "$n" -eq 1 ]; then ok "audit: CompareFaces without a face, one entry"
    else bad "audit: CompareFaces without a face: $n entries, want 1"; fi
    "$MIEN" audit verify --store "$STORE" >"$TMP/verify.out" 2>&1 && ok "audit chain verifies" ||
        bad "audit chain verifies: $(cat "$TMP/verify.out")"
else
    echo "  skip audit checks: this mien has no audit command"
fi

[ $failed -eq 0 ] || { echo "mien serve log (last lines):"; tail -n 20 "$TMP/log"; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
