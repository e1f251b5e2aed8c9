#!/bin/sh
# test_serve.sh — `mien serve` over real HTTP: health, authentication and roles, limits (body
# size, slow clients), errors, static files, detection, enrolment and search, concurrent
# enrol/erase. Starts its own server on 127.0.0.1 (a free port) with a temporary store, and
# always stops it. Usage: tests/server/test_serve.sh PATH/TO/mien (from the repository root;
# MIEN_MODELS defaults to ./models). Needs curl and node. Ends with "N passed, N failed".
set -u
MIEN=${1:?usage: test_serve.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
unset MIEN_KEY_FILE MIEN_NOW # the store's key file is STORE.key; the clock is the system's
SAMPLE=$MIEN_MODELS/samples/sample1.jpg
command -v curl >/dev/null 2>&1 || { echo "test_serve: curl is missing (scripts/setup)"; exit 1; }
[ -f "$SAMPLE" ] || { echo "test_serve: $SAMPLE is missing (run scripts/setup)"; exit 77; }
SUITE=test_serve
# shellcheck source=tests/server/serve-lib.sh
. "$(dirname "$0")/serve-lib.sh"
ADMIN=$(key admin)
SEARCHER=$(key search)
REVOKED=$(key enrol)
[ -n "$ADMIN" ] && [ -n "$SEARCHER" ] || { echo "test_serve: cannot create keys"; exit 1; }

AUTH="Authorization: Bearer $ADMIN"

# --- refusal to listen publicly without a key file or without API keys ------------------------
EMPTY=$(test_store "sqlite:$TMP/empty.db") || exit 1 # no key file: named explicitly below
env -u MIEN_KEY_FILE "$MIEN" serve --listen 0.0.0.0:0 --store "$EMPTY" >"$TMP/out" 2>&1
if [ $? -eq 1 ] && grep -q -- "--key-file" "$TMP/out" && [ ! -e "$TMP/empty.db.key" ]; then
    ok "no key file: non-loopback refused"
else
    bad "no key file: non-loopback refused"; cat "$TMP/out"
fi
env -u MIEN_KEY_FILE "$MIEN" serve --listen 0.0.0.0:0 --store "$EMPTY" \
    --key-file "$TMP/missing.key" >"$TMP/out" 2>&1
if [ $? -eq 1 ] && grep -q "missing.key" "$TMP/out" && [ ! -e "$TMP/missing.key" ]; then
    ok "missing key file: non-loopback refused, nothing created"
else
    bad "missing key file: non-loopback refused"; cat "$TMP/out"
fi
# the test clock: never off loopback, and unix seconds or nothing
MIEN_NOW=1796000000 "$MIEN" serve --listen 0.0.0.0:0 --store "$EMPTY" \
    --key-file "$TMP/empty.db.key" >"$TMP/out" 2>&1
if [ $? -eq 1 ] && grep -q "with MIEN_NOW set" "$TMP/out"; then
    ok "MIEN_NOW: non-loopback refused"
else
    bad "MIEN_NOW: non-loopback refused"; cat "$TMP/out"
fi
MIEN_NOW=soon "$MIEN" serve --listen 127.0.0.1:0 --store "$EMPTY" >"$TMP/out" 2>&1
if [ $? -eq 1 ] && grep -q "MIEN_NOW is 'soon', not unix seconds" "$TMP/out"; then
    ok "MIEN_NOW not unix seconds: refused"
else
    bad "MIEN_NOW not unix seconds: refused"; cat "$TMP/out"
fi
# a key file (made by `mien keys create`) but no valid API key: still refused
LONE=$(MIEN_KEY_FILE=$TMP/empty.db.key "$MIEN" keys create --role admin --store "$EMPTY" 2>/dev/null |
       grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
MIEN_KEY_FILE=$TMP/empty.db.key "$MIEN" keys revoke "$(echo "$LONE" | cut -d_ -f2)" --store "$EMPTY" \
    >/dev/null 2>&1
MIEN_KEY_FILE=$TMP/empty.db.key "$MIEN" serve --listen 0.0.0.0:0 \
    --store "$EMPTY" >"$TMP/out" 2>&1
if [ $? -eq 1 ] && grep -q "mien keys create --role admin" "$TMP/out"; then
    ok "no API key: non-loopback refused"
else
    bad "no API key: non-loopback refused"; cat "$TMP/out"
fi

start --timeout 2 --max-body 1000000
echo "server at $URL"

# --- service routes -----------------------------------------------------------------------
req "healthz" 200 "$URL/healthz"
has "healthz body" '"status":"ok"'
req "readyz" 200 "$URL/readyz"
has "readyz body" '"models":true'
req "metrics" 200 -H "$AUTH" "$URL/metrics"
has "metrics requests_total" 'mien_requests_total\{method="GET",route="/healthz",status="200"\}'
req "unknown path" 404 "$URL/nope"
has "404 shape" '"error":\{"code":"not_found"'
req "wrong method" 405 -X PUT "$URL/healthz"
has "405 shape" '"code":"method_not_allowed"'

# --- authentication and roles ---------------------------------------------------------------
req "no key" 401 "$URL/v1/collections"
has "401 shape" '"code":"unauthorized"'
curl -s -D "$TMP/headers" -o /dev/null "$URL/v1/collections"
if grep -qi '^WWW-Authenticate: Bearer' "$TMP/headers"; then ok "WWW-Authenticate"; else bad "WWW-Authenticate"; fi
req "wrong key" 401 -H "Authorization: Bearer mien_000000000000_nope" "$URL/v1/collections"
req "garbage key" 401 -H "Authorization: Bearer x" "$URL/v1/collections"
req "search key may read" 200 -H "Authorization: Bearer $SEARCHER" "$URL/v1/collections"
req "search key may not create" 403 -H "Authorization: Bearer $SEARCHER" \
    -H 'Content-Type: application/json' -d '{"name":"nope"}' "$URL/v1/collections"
has "403 shape" '"code":"forbidden"'
req "enrol key before revocation" 200 -H "Authorization: Bearer $REVOKED" "$URL/v1/collections"
"$MIEN" keys revoke "$(echo "$REVOKED" | cut -d_ -f2)" --store "$STORE" >/dev/null 2>&1
req "revoked key" 401 -H "Authorization: Bearer $REVOKED" "$URL/v1/collections"

# --- bodies ----------------------------------------------------------------------------------
head -c 1500000 /dev/zero >"$TMP/big"
req "oversize body" 413 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$TMP/big" \
    "$URL/v1/detect"
has "413 shape" '"code":"payload_too_large"'
req "malformed JSON" 400 -H "$AUTH" -H 'Content-Type: application/json' -d '{"name":' \
    "$URL/v1/collections"
has "400 shape" '"code":"bad_request"'
req "not an image" 422 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary 'hello, world' \
    "$URL/v1/detect"
has "422 bad_image" '"code":"bad_image"'
req "unsupported type" 415 -H "$AUTH" -H 'Content-Type: text/plain' --data-binary 'hello' \
    "$URL/v1/detect"
req "bad base64" 400 -H "$AUTH" -H 'Content-Type: application/json' -d '{"image":"***"}' \
    "$URL/v1/detect"
req "bad query" 400 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/detect?min_score=abc"

# --- static files ----------------------------------------------------------------------------
req "dotdot static" 404 "$URL/static/..%2F..%2FCMakeLists.txt"
req "dotdot static 2" 404 "$URL/static/%2E%2E%2Fopenapi.yaml"
req "NUL static" 404 "$URL/static/index.html%00.css"
if [ -f web/index.html ]; then
    curl -s -D "$TMP/headers" -o /dev/null "$URL/"
    if grep -qi '^Content-Type: text/html' "$TMP/headers"; then ok "index html"; else bad "index html"; fi
fi

# --- a slow client is cut off while others are served ------------------------------------------
if command -v node >/dev/null 2>&1; then
    node -e '
const net = require("net");
const [host, port] = process.argv[1].split(":");
const s = net.connect(+port, host, () => {
  s.write("POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n" +
          "Authorization: Bearer " + process.argv[2] + "\r\nContent-Length: 100\r\n\r\n");
  let n = 0;
  const t = setInterval(() => { if (n++ < 100) s.write("x"); }, 300);
  const t0 = Date.now();
  s.on("close", () => { clearInterval(t); console.log("cut " + (Date.now() - t0)); process.exit(0); });
  s.on("error", () => {});
  setTimeout(() => { console.log("not cut"); process.exit(1); }, 12000);
});' "$HOSTPORT" "$ADMIN" >"$TMP/slow" 2>&1 &
    SLOW=$!
    sleep 1
    req "served during a slow upload" 200 "$URL/healthz"
    wait "$SLOW"
    if grep -q '^cut' "$TMP/slow"; then ok "slow upload cut off ($(cat "$TMP/slow"))"; else bad "slow upload cut off: $(cat "$TMP/slow")"; fi
else
    echo "  skip slow client (no node)"
fi

# --- detection --------------------------------------------------------------------------------
req "detect raw" 200 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/detect"
n=$(grep -o '"box"' "$TMP/body" | wc -l)
if [ "$n" -eq 3 ]; then ok "detect: 3 faces"; else bad "detect: $n faces, want 3"; fi
has "detect shape" '"width":1920,"height":1280'
req "detect multipart" 200 -H "$AUTH" -F "image=@$SAMPLE" "$URL/v1/detect"
has "multipart faces" '"landmarks"'
printf '{"image":"%s"}' "$(base64 -w0 "$SAMPLE")" >"$TMP/b64.json"
req "detect base64" 200 -H "$AUTH" -H 'Content-Type: application/json' \
    --data-binary "@$TMP/b64.json" "$URL/v1/detect"
req "compare" 200 -H "$AUTH" -F "a=@$SAMPLE" -F "b=@$SAMPLE" \
    "$URL/v1/compare?purpose=identity_verification"
has "compare same" '"same_person":true'
req "compare needs b" 400 -H "$AUTH" -F "a=@$SAMPLE" "$URL/v1/compare"

# --- collections, enrolment, search --------------------------------------------------------------
J='Content-Type: application/json'
POLICY='"purposes":["testing"],"legal_basis":"test data","consent":"not_needed"'
req "create collection" 201 -H "$AUTH" -H "$J" \
    -d "{\"name\":\"people\",\"description\":\"test\",$POLICY}" "$URL/v1/collections"
has "collection shape" '"name":"people","profile":"fast"'
has "collection policy" '"purposes":\["testing"\],"legal_basis":"test data"'
req "create again" 409 -H "$AUTH" -H "$J" -d "{\"name\":\"people\",$POLICY}" "$URL/v1/collections"
req "get collection" 200 -H "$AUTH" "$URL/v1/collections/people"
req "missing collection" 404 -H "$AUTH" "$URL/v1/collections/nobody"
req "several faces refused" 422 -H "$AUTH" -H 'Content-Type: image/jpeg' \
    --data-binary "@$SAMPLE" "$URL/v1/collections/people/subjects/alice/faces"
has "several_faces code" '"code":"several_faces"'
req "enrol face 2" 201 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/people/subjects/alice/faces?face=2&display_name=Alice&crop=1"
has "enrol shape" '"subject":"alice","face_id":[0-9]+'
req "enrol face 0" 201 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/people/subjects/bob/faces?face=0&force=1"
req "enrol face 1" 201 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/people/subjects/dave/faces?face=1&force=1"
cp "$TMP/body" "$TMP/dave.json"
req "enrol into missing" 404 -H "$AUTH" -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/nobody/subjects/x/faces?face=0"
req "subjects" 200 -H "$AUTH" "$URL/v1/collections/people/subjects"
has "subjects list" '"subject":"alice","display_name":"Alice","faces":1'
req "search" 200 -H "Authorization: Bearer $SEARCHER" -H 'Content-Type: image/jpeg' \
    --data-binary "@$SAMPLE" "$URL/v1/collections/people/search?top=5&purpose=testing&case_ref=T-1"
has "search candidate" '"candidates":\[\{"rank":1,"subject":"(alice|bob|dave)","similarity":(1\.0|0\.99)'
has "search review" '"review":\{"id":"[0-9a-f]{32}","required":1,"status":"pending"\}'
has "search candidate faces" '"faces":\[\{"face_id":[0-9]+,"similarity":'
has "search names its rule" '"aggregate":"mean"'
req "search aggregate=bogus → 400" 400 -H "Authorization: Bearer $SEARCHER" \
    -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/people/search?aggregate=bogus&purpose=testing&case_ref=T-1"
# a face moved to another subject (re-sealed for it): found under its new name
dave_face=$(sed -n 's/.*"subject":"dave","face_id":\([0-9]*\).*/\1/p' "$TMP/dave.json")
req "move dave's face to erin" 200 -X POST -H "$AUTH" \
    "$URL/v1/collections/people/faces/$dave_face/move?to=erin&case_ref=T-2"
has "move shape" "\"face_id\":$dave_face,\"subject\":\"erin\",\"faces_left\":0"
req "move needs to=" 400 -X POST -H "$AUTH" "$URL/v1/collections/people/faces/$dave_face/move"
req "move an unknown face" 404 -X POST -H "$AUTH" \
    "$URL/v1/collections/people/faces/999999/move?to=erin"
req "search key may not move" 403 -X POST -H "Authorization: Bearer $SEARCHER" \
    "$URL/v1/collections/people/faces/$dave_face/move?to=eve"
req "subjects after the move" 200 -H "$AUTH" "$URL/v1/collections/people/subjects"
has "erin has dave's face" '"subject":"erin","display_name":"","faces":1'
req "search key may not enrol" 403 -H "Authorization: Bearer $SEARCHER" \
    -H 'Content-Type: image/jpeg' --data-binary "@$SAMPLE" \
    "$URL/v1/collections/people/subjects/eve/faces?face=0"

# --- concurrent enrol and erase of one subject ------------------------------------------------------
# Four enrolments (four photos) and four erasures of "carol" at once: the store serialises
# them, so each gets a plain answer (201; 200 or 404) and the subject ends up either absent or
# with the faces enrolled after the last erasure.
pids=""
for i in 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code}\n' -H "$AUTH" -H 'Content-Type: image/jpeg' \
        --data-binary "@$MIEN_MODELS/samples/sample$i.jpg" \
        "$URL/v1/collections/people/subjects/carol/faces?force=1" >"$TMP/enrol.$i" &
    pids="$pids $!"
    (sleep "0.0$((i * 3))"; curl -s -o /dev/null -w '%{http_code}\n' -X DELETE -H "$AUTH" \
        "$URL/v1/collections/people/subjects/carol" >"$TMP/erase.$i") &
    pids="$pids $!"
done
for p in $pids; do wait "$p"; done # not a bare wait: the server is a child too
consistent=1
for f in "$TMP"/enrol.*; do grep -qx '201' "$f" || consistent=0; done
for f in "$TMP"/erase.*; do grep -Eqx '200|404' "$f" || consistent=0; done
if [ $consistent -eq 1 ]; then ok "concurrent enrol/erase statuses"; else
    rm -f "$TMP/body"
    bad "concurrent enrol/erase statuses: $(cat "$TMP"/enrol.* "$TMP"/erase.* | tr '\n' ' ')"; fi
req "subjects after the race" 200 -H "$AUTH" "$URL/v1/collections/people/subjects"
# carol is either absent or has as many faces as the enrolments that came after the last erase
if grep -q '"subject":"carol"' "$TMP/body"; then
    has "carol consistent" '"subject":"carol","display_name":"","faces":[1-4]'
else
    ok "carol consistent (erased last)"
fi
req "still up" 200 "$URL/healthz"
req "erase" 200 -X DELETE -H "$AUTH" "$URL/v1/collections/people/subjects/alice"
has "erase shape" '"subject":"alice","faces_deleted":1'
has "erasure receipt" '"subject_hash":"[0-9a-f]{64}",.*"audit_hash":"[0-9a-f]{64}"'
req "erase again" 404 -X DELETE -H "$AUTH" "$URL/v1/collections/people/subjects/alice"
req "metrics after" 200 -H "$AUTH" "$URL/metrics"
has "collection gauge" 'mien_collection_faces\{collection="people"\} [0-9]'
has "inference histogram" 'mien_inference_seconds_bucket\{stage="detect"'
req "drop" 200 -X DELETE -H "$AUTH" "$URL/v1/collections/people"
has "drop shape" '"dropped":"people"'

# --- graceful stop ---------------------------------------------------------------------------------
kill -TERM "$PID"
for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
rm -f "$TMP/body"
if ! kill -0 "$PID" 2>/dev/null && wait "$PID"; then ok "SIGTERM: clean exit"; else bad "SIGTERM: clean exit"; fi
PID=""
grep -q "stopped" "$TMP/log" && ok "stop message" || bad "stop message"

suite_end
