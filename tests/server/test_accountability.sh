#!/bin/sh
# test_accountability.sh — issue 6 ("Accountability by design") over real HTTP: the key file,
# collection policies, consent, purposes on search / verify / compare (each refusal audited),
# the verification-only mode, two-person review, erasure receipts, purge with the clock moved,
# and the audit log's verify and export routes.
#
# Usage: tests/server/test_accountability.sh PATH/TO/mien   (from the repository root;
# MIEN_MODELS defaults to ./models). Needs curl. Starts its own servers on 127.0.0.1 (free
# ports) on a temporary store and always stops them. Photos: models/samples only. Ends with
# "N passed, N failed"; exit 1 on a failure.
#
#   server 1 (system clock, fresh store, --bootstrap-admin): everything but the moved clock
#   server 2 (MIEN_NOW = now + 40 days, same store): the purge at start erases the subjects
#            of the 30-day collection, keeps the one enrolled with a later expires_at
set -u
MIEN=${1:?usage: test_accountability.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
unset MIEN_KEY_FILE MIEN_NOW
S1=$MIEN_MODELS/samples/sample1.jpg
S2=$MIEN_MODELS/samples/sample2.jpg
S3=$MIEN_MODELS/samples/sample3.jpg
command -v curl >/dev/null 2>&1 || { echo "test_accountability: curl is missing (scripts/setup)"; exit 1; }
[ -f "$S3" ] || { echo "test_accountability: $S3 is missing (run scripts/setup)"; exit 77; }
TMP=$(mktemp -d)
PID=""
stop() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
    fi
    [ -n "$PID" ] && wait "$PID" 2>/dev/null
    PID=""
}
# finish NAME LOG : stops the server with SIGTERM; it must exit 0 (a sanitizer's report, a
# leak included, makes it exit otherwise)
finish() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    rc=$?
    PID=""
    rm -f "$TMP/body"
    if [ "$rc" -eq 0 ]; then ok "$1: clean exit"; else bad "$1: exit $rc"; tail -n 30 "$2"; fi
}
trap 'stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok $1"; }
bad() { failed=$((failed + 1)); echo "  FAILED $1"; [ -f "$TMP/body" ] && head -c 600 "$TMP/body" | sed 's/^/    /' && echo; }

# the store: an SQLite file, or a fresh PostgreSQL database when $MIEN_TEST_STORE names a server
# (tests/pg/store-lib.sh; its key file is $TMP/store.db.key either way)
TEST_STORE_LIB=$(dirname "$0")/../pg/store-lib.sh
# shellcheck source=tests/pg/store-lib.sh
. "$TEST_STORE_LIB"
unset MIEN_AUDIT_HEAD MIEN_STORE
STORE=$(test_store "sqlite:$TMP/store.db") || exit 1
test_store_key "$TMP/store.db"
# start LOG ARGS... : starts a server on a free port; sets PID and URL
start() {
    log=$1
    shift
    "$MIEN" serve --listen 127.0.0.1:0 --store "$STORE" --workers 2 "$@" >"$log" 2>&1 &
    PID=$!
    URL=""
    # up to 120 s: loading the models takes well under 1 s natively; generous for sanitizer
    # builds and slow machines (the loop ends at once if the server exits)
    for _ in $(seq 1 1200); do
        URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1)
        [ -n "$URL" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "test_accountability: the server did not start:"; cat "$log"; exit 1; }
}
# req NAME WANT_STATUS CURL_ARGS... : one request; the body lands in $TMP/body
# (sets $took: the request's seconds, as curl measured them)
req() {
    name=$1 want=$2
    shift 2
    rm -f "$TMP/body"
    got=$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' --max-time 120 "$@")
    took=${got#* }
    got=${got%% *}
    if [ "$got" = "$want" ]; then ok "$name"; else bad "$name: HTTP $got, want $want"; fi
}
# has NAME PATTERN / hasnt NAME PATTERN : the last body matches (does not match) PATTERN
has() { if grep -Eq -- "$2" "$TMP/body"; then ok "$1"; else bad "$1: no '$2'"; fi; }
hasnt() { if grep -Eq -- "$2" "$TMP/body"; then bad "$1: found '$2'"; else ok "$1"; fi; }
# lines FILE PATTERN... : the number of lines of FILE that match every grep -E PATTERN
lines() {
    f=$1
    shift
    cp "$f" "$TMP/sel"
    for p in "$@"; do grep -E -- "$p" "$TMP/sel" >"$TMP/sel2"; mv "$TMP/sel2" "$TMP/sel"; done
    wc -l <"$TMP/sel" | tr -d ' '
}
J='Content-Type: application/json'
JPG='Content-Type: image/jpeg'

# --- server 1: a fresh store on loopback gets a key file (0600) and a warning --------------------
start "$TMP/log1" --bootstrap-admin --compare-purposes identity_verification,onboarding
echo "server 1 at $URL"
if grep -q "warning: created the key file $TMP/store.db.key" "$TMP/log1"; then
    ok "loopback: key file created with a warning"
else
    bad "loopback: key file created with a warning"; cat "$TMP/log1"
fi
mode=$(stat -c %a "$TMP/store.db.key" 2>/dev/null)
if [ "$mode" = "600" ]; then ok "key file mode 0600"; else bad "key file mode: '$mode'"; fi
ADMIN=$(grep -o 'mien_[A-Za-z0-9_-]*' "$TMP/log1" | head -n 1)
key() { # ROLE → prints the key (the CLI finds the key file beside the store)
    "$MIEN" keys create --role "$1" --store "$STORE" 2>/dev/null | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1
}
SEARCHER=$(key search)
REVIEWER1=$(key review)
REVIEWER2=$(key review)
AUDITOR=$(key audit)
ENROLLER=$(key enrol)
for k in "$ADMIN" "$SEARCHER" "$REVIEWER1" "$REVIEWER2" "$AUDITOR" "$ENROLLER"; do
    [ -n "$k" ] || { echo "test_accountability: cannot create keys"; cat "$TMP/log1"; exit 1; }
done
id_of() { echo "$1" | cut -d_ -f2; }
# the bootstrap key comes with its AWS credentials, the same that `mien keys aws KEY` derives
BOOT_AWS=$(sed -n 's/^  aws_secret_access_key: //p' "$TMP/log1")
if grep -q "^  aws_access_key_id: $(id_of "$ADMIN")$" "$TMP/log1" && [ -n "$BOOT_AWS" ] &&
    "$MIEN" keys aws "$ADMIN" --store "$STORE" 2>/dev/null | grep -qx "aws_secret_access_key: $BOOT_AWS"; then
    ok "bootstrap admin key printed with its AWS credentials"
else
    bad "bootstrap admin key printed with its AWS credentials"; head -5 "$TMP/log1"
fi
A="Authorization: Bearer $ADMIN"
SE="Authorization: Bearer $SEARCHER"
R1="Authorization: Bearer $REVIEWER1"
R2="Authorization: Bearer $REVIEWER2"
AU="Authorization: Bearer $AUDITOR"
EN="Authorization: Bearer $ENROLLER"

# --- collection policies ------------------------------------------------------------------------
req "no purposes → 400" 400 -H "$A" -H "$J" -d '{"name":"x","legal_basis":"consent"}' \
    "$URL/v1/collections"
req "no legal basis → 400" 400 -H "$A" -H "$J" -d '{"name":"x","purposes":["a"]}' \
    "$URL/v1/collections"
req "bad review mode → 400" 400 -H "$A" -H "$J" \
    -d '{"name":"x","purposes":"a","legal_basis":"b","review":"maybe"}' "$URL/v1/collections"
req "bad retention → 400" 400 -H "$A" -H "$J" \
    -d '{"name":"x","purposes":"a","legal_basis":"b","retention":"soon"}' "$URL/v1/collections"
req "bad purpose text → 400" 400 -H "$A" -H "$J" \
    -d '{"name":"x","purposes":["Not Allowed!"],"legal_basis":"b"}' "$URL/v1/collections"
req "create watch (two-person, 30 d, consent)" 201 -H "$A" -H "$J" \
    -d '{"name":"watch","purposes":["lost_child","fraud"],"legal_basis":"consent, GDPR Art. 9(2)(a)","consent":"required","retention":"30d","review":"two_person"}' \
    "$URL/v1/collections"
has "policy in the answer" '"purposes":\["lost_child","fraud"\],"legal_basis":"consent, GDPR Art. 9\(2\)\(a\)","consent":"required","retention_s":2592000,"review":"two_person","verification_only":false'
req "create door (verification only)" 201 -H "$A" -H "$J" \
    -d '{"name":"door","purposes":"access_control","legal_basis":"contract","consent":"not_needed","verification_only":true}' \
    "$URL/v1/collections"
req "create open (review opted out)" 201 -H "$A" -H "$J" \
    -d '{"name":"open","purposes":"research","legal_basis":"consent","consent":"not_needed","review":"none","retention":86400}' \
    "$URL/v1/collections"
req "get door" 200 -H "$SE" "$URL/v1/collections/door"
has "door policy" '"purposes":\["access_control"\],.*"consent":"not_needed","retention_s":31536000,"review":"one","verification_only":true'

# --- consent -----------------------------------------------------------------------------------
req "enrol without consent → 403" 403 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/watch/subjects/bob/faces?force=1"
has "consent 403 shape" '"code":"forbidden".*consent'
req "enrol with consent_ref (query)" 201 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/watch/subjects/bob/faces?force=1&consent_ref=C-1"
req "enrol with consent_ref (multipart)" 201 -H "$EN" -F "image=@$S2" -F consent_ref=C-2 \
    "$URL/v1/collections/watch/subjects/alice/faces?force=1"
printf '{"image":"%s","consent_ref":"C-3","expires_at":"2100-01-01T00:00:00Z"}' \
    "$(base64 -w0 "$S3")" >"$TMP/dave.json"
req "enrol with consent_ref + expires_at (JSON)" 201 -H "$EN" -H "$J" \
    --data-binary "@$TMP/dave.json" "$URL/v1/collections/watch/subjects/dave/faces?force=1"
req "expires_at in the past → 400" 400 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/watch/subjects/eve/faces?force=1&consent_ref=C-4&expires_at=2001-01-01"
req "bad expires_at → 400" 400 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/watch/subjects/eve/faces?force=1&consent_ref=C-4&expires_at=soon"
req "subjects" 200 -H "$EN" "$URL/v1/collections/watch/subjects"
has "subject consent and expiry" '"subject":"dave",.*"expires_at":"2100-01-01T00:00:00Z","consent_ref":"C-3"'
req "enrol door (no consent needed)" 201 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/door/subjects/erin/faces?force=1"

# --- search: purpose, case, mode; every refusal audited ----------------------------------------
SEARCH=$URL/v1/collections/watch/search
req "search without purpose → 400" 400 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$SEARCH?case_ref=K-1"
req "search with a purpose not allowed → 403" 403 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$SEARCH?purpose=marketing&case_ref=K-2"
has "403 names the purpose" '"code":"forbidden".*marketing'
req "search without case_ref → 400" 400 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$SEARCH?purpose=fraud"
req "search on verification-only → 403" 403 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/door/search?purpose=access_control&case_ref=K-3"
has "verification-only named" 'verification-only'
req "search (purpose in multipart fields)" 200 -H "$SE" -F "image=@$S1" -F purpose=lost_child \
    -F case_ref=K-4 "$SEARCH"
has "candidates, bob first" '"candidates":\[\{"rank":1,"subject":"bob"'
has "two-person review opened" '"review":\{"id":"[0-9a-f]{32}","required":2,"status":"pending"\}'
hasnt "no matches in a search answer" '[Mm]atch'
REVIEW=$(grep -o '"review":{"id":"[0-9a-f]*"' "$TMP/body" | grep -o '[0-9a-f]\{32\}')
req "search with the query" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$SEARCH?purpose=fraud&case_ref=K-5"

# --- review ---------------------------------------------------------------------------------------
RV=$URL/v1/reviews/$REVIEW
req "review: search key may not decide" 403 -H "$SE" -H "$J" -d '{"decision":"reject"}' "$RV"
req "review: bad decision → 400" 400 -H "$R1" -H "$J" -d '{"decision":"maybe"}' "$RV"
req "review: confirm without rank → 400" 400 -H "$R1" -H "$J" -d '{"decision":"confirm"}' "$RV"
req "review: rank beyond the candidates → 400" 400 -H "$R1" -H "$J" \
    -d '{"decision":"confirm","rank":99}' "$RV"
req "review: first reviewer confirms" 200 -H "$R1" -H "$J" \
    -d '{"decision":"confirm","rank":1,"note":"same person, checked the crop"}' "$RV"
has "one of two" '"status":"pending","required":2,"confirmations":1,"confirmed_rank":1'
has "one of two: who confirmed" "\"decisions\":\[\{\"reviewer\":\"$(id_of "$REVIEWER1")\",\"decision\":\"confirm\",\"rank\":1,\"note\":\"same person, checked the crop\""
req "review queue: pending" 200 -H "$R1" "$URL/v1/reviews?collection=watch"
has "review queue lists the review with its first confirmation" "^\{\"reviews\":\[\{\"id\":\"$REVIEW\",\"collection\":\"watch\",\"status\":\"pending\",\"required\":2,\"confirmations\":1,.*\"reviewer\":\"$(id_of "$REVIEWER1")\""
req "review queue: another collection's is empty" 200 -H "$R1" "$URL/v1/reviews?collection=door"
has "review queue: empty" '^\{"reviews":\[\]\}$'
req "review queue: bad status → 400" 400 -H "$R1" "$URL/v1/reviews?status=open"
req "review queue: search key → 403" 403 -H "$SE" "$URL/v1/reviews"
req "review: same reviewer again → 403" 403 -H "$R1" -H "$J" -d '{"decision":"confirm","rank":1}' "$RV"
has "two-person refusal says why" 'two-person'
req "review: second reviewer confirms" 200 -H "$R2" -H "$J" -d '{"decision":"confirm","rank":1}' "$RV"
has "confirmed by two" '"status":"confirmed","required":2,"confirmations":2,"confirmed_rank":1'
req "review queue: no longer pending" 200 -H "$R2" "$URL/v1/reviews?collection=watch"
hasnt "review queue: the confirmed review left it" "$REVIEW"
req "review queue: confirmed" 200 -H "$R2" "$URL/v1/reviews?status=confirmed"
has "review queue: both reviewers named" "\"id\":\"$REVIEW\".*\"reviewer\":\"$(id_of "$REVIEWER1")\".*\"reviewer\":\"$(id_of "$REVIEWER2")\""
req "review: closed → 409" 409 -H "$A" -H "$J" -d '{"decision":"reject"}' "$RV"
req "review: get" 200 -H "$R1" "$RV"
has "review state" "\"id\":\"$REVIEW\",\"collection\":\"watch\",\"status\":\"confirmed\""
req "review: unknown → 404" 404 -H "$R1" "$URL/v1/reviews/00000000000000000000000000000000"

# --- review opt-out -------------------------------------------------------------------------------
req "enrol open" 201 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/subjects/gina/faces?force=1"
ENROL_S=$took # one enrolment of S1 on this machine (frank's expiry below follows it)
req "search open" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/search?purpose=research&case_ref=R-1"
has "opted out: review null" '"candidates":\[\{"rank":1,"subject":"gina".*"review":null'

# --- caps on what one search returns (issue 13 item 5) ----------------------------------------------
req "get door: the default caps" 200 -H "$SE" "$URL/v1/collections/door"
has "door caps" '"verification_only":true,"max_fmr":0\.01,"max_candidates":50'
req "a cap out of range → 400" 400 -H "$A" -H "$J" \
    -d '{"name":"x","purposes":"a","legal_basis":"b","max_fmr":2}' "$URL/v1/collections"
req "a candidate cap out of range → 400" 400 -H "$A" -H "$J" \
    -d '{"name":"x","purposes":"a","legal_basis":"b","max_candidates":0}' "$URL/v1/collections"
req "create crowd (FMR cap 1, 50 candidates)" 201 -H "$A" -H "$J" \
    -d '{"name":"crowd","purposes":"research","legal_basis":"consent","consent":"not_needed","review":"none","max_fmr":1}' \
    "$URL/v1/collections"
has "crowd caps" '"max_fmr":1(\.0)?,"max_candidates":50'
# 80 synthetic subjects: against a real face they score about 0, so at FMR 1 all of them match
if "$MIEN" collection import-synthetic crowd --count 80 --store "$STORE" >"$TMP/synth" 2>&1; then
    ok "80 synthetic subjects in crowd"
else
    rm -f "$TMP/body"; bad "import-synthetic: $(cat "$TMP/synth")"
fi
CROWD=$URL/v1/collections/crowd/search
req "the enumeration: fmr=1, top=10000 with a search key → 403" 403 -H "$SE" -H "$JPG" \
    --data-binary "@$S1" "$CROWD?purpose=research&case_ref=E-1&fmr=1&top=10000"
has "the refusal names the cap" '"code":"forbidden".*at most 50 candidates'
req "fmr=1, top=50 (the cap)" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$CROWD?purpose=research&case_ref=E-2&fmr=1&top=50"
n=$(grep -o '"rank":' "$TMP/body" | wc -l)
if [ "$n" -eq 50 ]; then ok "at most the cap: 50 candidates"; else bad "at most the cap: $n candidates"; fi
has "the limits in the answer" '"top":50,"fmr":1'
req "no top, no fmr: the defaults" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$CROWD?purpose=research&case_ref=E-3"
has "defaults 10 at 1e-3" '"top":10,"fmr":0\.001'
req "watch (default caps): fmr=0.05 → 403" 403 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$SEARCH?purpose=fraud&case_ref=E-4&fmr=0.05"
has "the refusal names the rate cap" 'false-match rate of at most 0\.01'

# --- verify (1:1) ---------------------------------------------------------------------------------
VER=$URL/v1/collections/door/subjects/erin/verify
req "verify without purpose → 400" 400 -H "$SE" -H "$JPG" --data-binary "@$S1" "$VER"
req "verify with a purpose not allowed → 403" 403 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$VER?purpose=fraud"
req "verify on verification-only" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$VER?purpose=access_control&case_ref=gate-7"
has "verify accepted" '"subject":"erin","similarity":(1\.0|0\.99)[0-9]*,"fmr":[0-9.e-]+,"at_fmr":0\.0001,"accepted":true'
req "verify another face" 200 -H "$SE" -H "$JPG" --data-binary "@$S2" \
    "$VER?purpose=access_control"
has "verify not accepted" '"accepted":false'
req "verify unknown subject → 404" 404 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/door/subjects/nobody/verify?purpose=access_control"

# --- compare: the server's purpose list -----------------------------------------------------------
req "compare without purpose → 400" 400 -H "$SE" -F "a=@$S1" -F "b=@$S1" "$URL/v1/compare"
req "compare, purpose not listed → 403" 403 -H "$SE" -F "a=@$S1" -F "b=@$S1" \
    "$URL/v1/compare?purpose=marketing"
printf '{"a":"%s","b":"%s","purpose":"onboarding","case_ref":"O-1"}' \
    "$(base64 -w0 "$S1")" "$(base64 -w0 "$S1")" >"$TMP/compare.json"
req "compare, listed purpose (JSON field)" 200 -H "$SE" -H "$J" \
    --data-binary "@$TMP/compare.json" "$URL/v1/compare"
has "compare audited" '"same_person":true,.*"audit_seq":[1-9]'

# --- grouping (POST /v1/group): photos under the server's purposes, enrolled faces under the
# collection's; every grouping and every refusal audited ----------------------------------------
BLANK=$(dirname "$0")/../fixtures/blank.png
req "group without purpose → 400" 400 -H "$SE" -F "image=@$S1" -F "image=@$S1" "$URL/v1/group"
has "group names the server's purposes" 'declares its purpose.*photo_organisation'
req "group, purpose not listed → 403" 403 -H "$SE" -F "image=@$S1" -F "image=@$S1" \
    "$URL/v1/group?purpose=marketing"
req "group: enrol key refused" 403 -H "$EN" -F "image=@$S1" -F "image=@$S1" \
    "$URL/v1/group?purpose=photo_organisation"
req "group: no photos → 400" 400 -H "$SE" -H "$J" -d '{"images":[],"purpose":"photo_organisation"}' \
    "$URL/v1/group"
req "group: a non-image → 422" 422 -H "$SE" -F "image=@$S1" -F "image=@$0" \
    "$URL/v1/group?purpose=photo_organisation"
has "group names the bad photo" '"code":"bad_image","message":"photo 2: '
req "group: no faces → 422" 422 -H "$SE" -F "image=@$BLANK" -F "image=@$BLANK" \
    "$URL/v1/group?purpose=photo_organisation"
has "group says no face" '"code":"no_face",.*at least two faces; 0 found in 2 photos'
req "group: bad fmr → 400" 400 -H "$SE" -F "image=@$S1" -F "image=@$S1" \
    "$URL/v1/group?purpose=photo_organisation&fmr=7"
req "group sample 1 twice" 200 -H "$SE" -F "image=@$S1" -F "image=@$S1" -F case_ref=G-1 \
    "$URL/v1/group?purpose=photo_organisation"
# sample 1 shows three people: each becomes one person of two faces (one per copy)
has "group: three people of two faces" '"people":\[\{"person":1,"size":2,.*\{"person":3,"size":2,.*"messy":\[\],"faces":6'
hasnt "group: no fourth person" '"person":4'
has "group: representative with photo and box" '"representative":\{"image":[01],"face":[0-9],"box":\['
has "group audited" '"audit_seq":[1-9]'
req "enrol open: jo" 201 -H "$EN" -H "$JPG" --data-binary "@$MIEN_MODELS/samples/sample3.jpg" \
    "$URL/v1/collections/open/subjects/jo/faces?force=1&expires_at=2100-01-01"
JO=$(grep -o '"face_id":[0-9]*' "$TMP/body" | cut -d: -f2)
req "enrol open: ivan" 201 -H "$EN" -H "$JPG" --data-binary "@$S2" \
    "$URL/v1/collections/open/subjects/ivan/faces?force=1&expires_at=2100-01-01"
IVAN=$(grep -o '"face_id":[0-9]*' "$TMP/body" | cut -d: -f2)
req "group enrolled faces, purpose not allowed → 403" 403 -H "$SE" -H "$J" \
    -d "{\"collection\":\"open\",\"face_ids\":[$JO,$IVAN],\"purpose\":\"marketing\",\"case_ref\":\"G-2\"}" \
    "$URL/v1/group"
req "group enrolled faces, unknown face → 404" 404 -H "$SE" -H "$J" \
    -d "{\"collection\":\"open\",\"face_ids\":[$JO,999999],\"purpose\":\"research\",\"case_ref\":\"G-3\"}" \
    "$URL/v1/group"
req "group enrolled faces" 200 -H "$SE" -H "$J" \
    -d "{\"collection\":\"open\",\"face_ids\":[$JO,$IVAN],\"purpose\":\"research\",\"case_ref\":\"G-4\"}" \
    "$URL/v1/group"
has "group enrolled: face ids in the answer" "\"face_id\":$JO"
has "group enrolled: the collection named" '"collection":"open"'
# --- refusals before the library (issue 13 item 12): each is one audit entry ---------------------
# a picture without a face: a 1×1 grey PNG
BLANK=$TMP/blank.png
echo "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==" |
    base64 -d >"$BLANK"
req "enrol, several faces → 422" 422 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/subjects/hank/faces"
has "several_faces code" '"code":"several_faces"'
req "enrol, no face 99 → 422" 422 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/subjects/hank/faces?face=99"
has "no_face code" '"code":"no_face"'
req "enrol, no face at all → 422" 422 -H "$EN" -H "Content-Type: image/png" \
    --data-binary "@$BLANK" "$URL/v1/collections/open/subjects/hank/faces"
req "search, no face → 422" 422 -H "$SE" -H "Content-Type: image/png" --data-binary "@$BLANK" \
    "$URL/v1/collections/open/search?purpose=research&case_ref=R-9"
req "verify, no face → 422" 422 -H "$SE" -H "Content-Type: image/png" --data-binary "@$BLANK" \
    "$VER?purpose=access_control&case_ref=gate-9"
req "compare, no face → 422" 422 -H "$SE" -F "a=@$S1" -F "b=@$BLANK" \
    "$URL/v1/compare?purpose=onboarding&case_ref=O-9"

# --- erasure receipt -------------------------------------------------------------------------------
req "erase alice" 200 -X DELETE -H "$EN" "$URL/v1/collections/watch/subjects/alice"
has "receipt fields" '"subject":"alice","faces_deleted":1,"crops_deleted":0,"reviews_deleted":0,"collection":"watch","subject_hash":"[0-9a-f]{64}","erased_at":"[0-9T:-]+Z","audit_seq":[0-9]+,"audit_hash":"[0-9a-f]{64}"'
ERASE_HASH=$(grep -o '"audit_hash":"[0-9a-f]*"' "$TMP/body" | cut -d'"' -f4)
SUBJECT_HASH=$(grep -o '"subject_hash":"[0-9a-f]*"' "$TMP/body" | cut -d'"' -f4)

# --- purge now (POST /v1/purge) ---------------------------------------------------------------------
# frank expires 2 s from now plus 4 times what an enrolment of S1 took above, so that his own
# enrolment (the same work) ends before his expiry on a slow machine too (a sanitizer build,
# a capped ISA): the whole seconds of `date` leave it 1 to 2 s plus that margin
margin=$(awk -v t="${ENROL_S:-0}" 'BEGIN { printf "%d", 4 * t }')
soon=$(( $(date +%s) + 2 + margin ))
req "enrol frank expiring in $((2 + margin)) s" 201 -H "$EN" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/subjects/frank/faces?force=1&expires_at=$soon"
req "search finds frank" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/search?purpose=research&case_ref=R-2"
has "frank a candidate" '"subject":"frank"'
while [ "$(date +%s)" -le "$soon" ]; do sleep 0.2; done
req "purge: admin only" 403 -X POST -H "$EN" "$URL/v1/purge"
req "purge now" 200 -X POST -H "$A" "$URL/v1/purge"
has "purged one" '"purged":1'
req "frank gone from subjects" 200 -H "$EN" "$URL/v1/collections/open/subjects"
hasnt "frank not listed" '"subject":"frank"'
has "gina still listed" '"subject":"gina"'
req "frank gone from search" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/open/search?purpose=research&case_ref=R-3"
hasnt "frank no candidate" '"subject":"frank"'

# --- the audit log ------------------------------------------------------------------------------------
req "audit: search key refused" 403 -H "$SE" "$URL/v1/audit/export"
req "audit verify" 200 -H "$AU" "$URL/v1/audit/verify"
has "chain intact" '"ok":true,"entries":[1-9][0-9]*,"first_bad":0'
req "audit export" 200 -H "$AU" "$URL/v1/audit/export"
cp "$TMP/body" "$TMP/audit1"
SID=$(id_of "$SEARCHER")
check_lines() { # NAME WANT PATTERN... : WANT lines at least, or exactly N when WANT is "=N"
    name=$1 want=${2#=}
    op=-ge
    [ "$2" != "$want" ] && op=-eq
    shift 2
    n=$(lines "$TMP/audit1" "$@")
    if [ "$n" "$op" "$want" ]; then ok "$name ($n)"; else rm -f "$TMP/body"; bad "$name: $n lines, want $op $want"; fi
}
check_lines "audited: search without purpose" 1 "\"actor\":\"$SID\"" '"action":"search","collection":"watch","purpose":"","case_ref":"K-1"' '"outcome":"refused"'
check_lines "audited: search, purpose not allowed" 1 "\"actor\":\"$SID\"" '"action":"search","collection":"watch","purpose":"marketing","case_ref":"K-2","input_sha256":"[0-9a-f]{64}","outcome":"refused"'
check_lines "audited: search without case_ref" 1 '"action":"search","collection":"watch","purpose":"fraud","case_ref":""' '"outcome":"refused"'
check_lines "audited: verification-only search" 1 '"action":"search","collection":"door"' '"outcome":"refused"' 'verification-only'
check_lines "audited: searches that ran" 2 "\"actor\":\"$SID\"" '"action":"search","collection":"watch"' '"outcome":"ok"' '"reviews_required":2'
check_lines "audited: verify refusals" 2 '"action":"verify","collection":"door"' '"outcome":"refused"'
check_lines "audited: verify" 2 '"action":"verify","collection":"door","purpose":"access_control"' '"outcome":"ok"'
check_lines "audited: compare refusals" 2 '"action":"compare"' '"outcome":"refused"' '"a_sha256":"[0-9a-f]{64}"'
check_lines "audited: compare with digests and score" 1 '"action":"compare","collection":"","purpose":"onboarding","case_ref":"O-1"' '"outcome":"ok"' '"similarity":' '"a_sha256":"[0-9a-f]{64}"' '"b_sha256":"[0-9a-f]{64}"'
check_lines "audited: group refusals" 2 '"action":"group","collection":"","purpose":"(|marketing)"' '"outcome":"refused"'
check_lines "audited: group of photos" 1 "\"actor\":\"$SID\"" '"action":"group","collection":"","purpose":"photo_organisation","case_ref":"G-1","input_sha256":"[0-9a-f]{64}"' '"outcome":"ok"' '"clusters":3,"faces":6,"images":2,"max_fmr":1e-5,"messy":0'
check_lines "audited: group of enrolled faces" 1 '"action":"group","collection":"open","purpose":"research","case_ref":"G-4"' '"outcome":"ok"' '"faces":2'
check_lines "audited: group of enrolled faces refused" 1 '"action":"group","collection":"open","purpose":"marketing","case_ref":"G-2"' '"outcome":"refused"'
# exactly one entry per refusal (issue 13 item 12): WANT "=N"
check_lines "audited once: enrol without consent" =1 '"action":"enrol","collection":"watch"' '"outcome":"refused"' '"reason":"no consent reference"'
check_lines "audited once: enrol, several faces" =1 '"action":"enrol","collection":"open"' '"outcome":"refused"' '"faces":[2-9]' '"reason":"several_faces"' '"subject":"[0-9a-f]{64}"'
check_lines "audited once each: enrol, no face (N)" =2 '"action":"enrol","collection":"open"' '"input_sha256":"[0-9a-f]{64}","outcome":"refused"' '"reason":"no_face"'
check_lines "audited once: search, no face" =1 '"action":"search","collection":"open","purpose":"research","case_ref":"R-9"' '"outcome":"refused"' '"faces":0' '"reason":"no_face"'
check_lines "audited once: verify, no face" =1 '"action":"verify","collection":"door","purpose":"access_control","case_ref":"gate-9"' '"outcome":"refused"' '"reason":"no_face"'
check_lines "audited once: compare, no face" =1 '"action":"compare"' '"case_ref":"O-9"' '"outcome":"refused"' '"reason":"image b: no face found"'
check_lines "audited: review decisions by key" 2 '"action":"review"' '"outcome":"ok"' "\"actor\":\"($(id_of "$REVIEWER1")|$(id_of "$REVIEWER2"))\""
check_lines "audited: the refused second decision" 1 '"action":"review"' '"outcome":"refused"' "\"actor\":\"$(id_of "$REVIEWER1")\""
check_lines "audited: erase, receipt hash in the chain" 1 '"action":"erase"' "\"subject\":\"$SUBJECT_HASH\"" "\"hash\":\"$ERASE_HASH\""
check_lines "audited: purge by the admin key" 1 '"action":"purge","collection":"open"' "\"actor\":\"$(id_of "$ADMIN")\""
check_lines "audited: the enumeration refused" 1 "\"actor\":\"$SID\"" '"action":"search","collection":"crowd","purpose":"research","case_ref":"E-1"' '"outcome":"refused"' 'max_candidates'
check_lines "audited: the caps at creation" 1 '"action":"collection.create","collection":"crowd"' '"max_candidates":50' '"max_fmr":1'
check_lines "audited: the opt-out at creation" 1 '"action":"collection.create","collection":"open"' '"review":"none"'
for who in alice bob dave erin frank gina; do
    if grep -q "\"$who\"" "$TMP/audit1"; then rm -f "$TMP/body"; bad "audit names subject $who"; else ok "audit never names $who"; fi
done
req "audit export, empty window" 200 -H "$AU" "$URL/v1/audit/export?from=2000-01-01&to=2000-01-02"
if [ ! -s "$TMP/body" ]; then ok "empty window, empty body"; else bad "empty window, empty body"; fi
req "audit export, bad time → 400" 400 -H "$AU" "$URL/v1/audit/export?from=yesterday"
[ -n "${KEEP_AUDIT:-}" ] && cp "$TMP/audit1" "$KEEP_AUDIT"
finish "server 1" "$TMP/log1"

# --- server 2: the clock moved 40 days on; the purge at start erases watch's expired subjects --------
now40=$(( $(date +%s) + 40 * 86400 ))
MIEN_NOW=$now40 start "$TMP/log2"
echo "server 2 at $URL (MIEN_NOW=$now40)"
# bob (watch, 30 days) and gina (open, 1 day); dave has expires_at 2100, erin door's year
if grep -q "purged 2 expired subjects" "$TMP/log2"; then ok "purge at start"; else rm -f "$TMP/body"; bad "purge at start: $(cat "$TMP/log2")"; fi
req "bob gone, dave (expires 2100) kept" 200 -H "$EN" "$URL/v1/collections/watch/subjects"
hasnt "bob not listed" '"subject":"bob"'
has "dave listed" '"subject":"dave"'
req "bob gone from search" 200 -H "$SE" -H "$JPG" --data-binary "@$S1" \
    "$URL/v1/collections/watch/search?purpose=lost_child&case_ref=K-6"
hasnt "bob no candidate" '"subject":"bob"'
req "door (1 year) untouched" 200 -H "$EN" "$URL/v1/collections/door/subjects"
has "erin listed" '"subject":"erin"'
req "audit export after purge" 200 -H "$AU" "$URL/v1/audit/export?from=$now40"
cp "$TMP/body" "$TMP/audit2"
n=$(lines "$TMP/audit2" '"actor":"purge","action":"purge","collection":"(watch|open)"' '"outcome":"ok"')
if [ "$n" -eq 2 ]; then ok "audit shows the purge"; else bad "audit shows the purge: $n"; fi
req "audit verify after restart" 200 -H "$AU" "$URL/v1/audit/verify"
has "chain still intact" '"ok":true'
finish "server 2" "$TMP/log2"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
