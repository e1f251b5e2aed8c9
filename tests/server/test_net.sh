#!/bin/sh
# test_net.sh — issue 13 items 6–8 as attacks by someone on the network, against `mien serve`:
#   6. /metrics without a key (401), with a narrow key (403), with an audit or admin key (200);
#   7. a large body with a bad, unknown or revoked key refused on the headers, while the client
#      still holds most of the body (and the body-bytes counter shows it was not read); SigV4
#      with an unknown or revoked key id or a date out of range refused the same way; the
#      N+1-th connection from one address closed; headers trickled slowly cut after
#      --header-timeout;
#   8. a 5xx (the audit head made unreadable; on PostgreSQL also the database refusing
#      connections) answers a generic body with a request id, without paths or hosts, and the
#      server's log has the detail under that id.
# Starts its own servers on 127.0.0.1 (free ports) with a temporary store, and always stops
# them. Usage: tests/server/test_net.sh PATH/TO/mien (from the repository root; MIEN_MODELS
# defaults to ./models). Needs curl and node. Ends with "N passed, N failed".
set -u
MIEN=${1:?usage: test_net.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
unset MIEN_KEY_FILE MIEN_NOW
HERE=$(cd "$(dirname "$0")" && pwd)
command -v curl >/dev/null 2>&1 || { echo "test_net: curl is missing (scripts/setup)"; exit 1; }
command -v node >/dev/null 2>&1 || { echo "test_net: node is missing (scripts/setup)"; exit 1; }
[ -d "$MIEN_MODELS" ] || { echo "test_net: $MIEN_MODELS is missing (run scripts/setup)"; exit 77; }
SUITE=test_net
# shellcheck source=tests/server/serve-lib.sh
. "$HERE/serve-lib.sh"
ADMIN=$(key admin)
# the admin key's AWS secret, for SigV4-signed calls (the same key's; `mien keys create --json`)
ADMIN_JSON=$("$MIEN" keys create --role admin --store "$STORE" --json 2>/dev/null)
SIGNER_ID=$(printf '%s' "$ADMIN_JSON" | sed -n 's/.*"aws_access_key_id":"\([^"]*\)".*/\1/p')
SIGNER_SECRET=$(printf '%s' "$ADMIN_JSON" | sed -n 's/.*"aws_secret_access_key":"\([^"]*\)".*/\1/p')
AUDITOR=$(key audit)
SEARCHER=$(key search)
REVOKED=$(key admin)
[ -n "$ADMIN" ] && [ -n "$AUDITOR" ] && [ -n "$REVOKED" ] || { echo "test_net: cannot create keys"; exit 1; }
"$MIEN" keys revoke "$(echo "$REVOKED" | cut -d_ -f2)" --store "$STORE" >/dev/null 2>&1
AUTH="Authorization: Bearer $ADMIN"

# client NAME WANT_PATTERN MODE ARGS... : node net_client.mjs MODE HOSTPORT ARGS...; its line
# must match WANT_PATTERN (grep -E)
client() {
    name=$1 want=$2
    shift 2
    mode=$1
    shift
    out=$(node "$HERE/net_client.mjs" "$mode" "$HOSTPORT" "$@" 2>&1)
    if printf '%s\n' "$out" | grep -Eq -- "$want"; then ok "$name ($out)"
    else rm -f "$TMP/body"; bad "$name: $out"; fi
}
# body_bytes : the server's mien_request_body_bytes_total
body_bytes() {
    curl -s -H "$AUTH" "$URL/metrics" | sed -n 's/^mien_request_body_bytes_total //p'
}

start --max-client-connections 4
echo "server at $URL"
J='Content-Type: application/json'
POLICY='"purposes":["testing"],"legal_basis":"test data","consent":"not_needed"'
req "create a collection" 201 -H "$AUTH" -H "$J" -d "{\"name\":\"people\",$POLICY}" \
    "$URL/v1/collections"

# --- 6. /metrics ------------------------------------------------------------------------------
req "metrics without a key" 401 "$URL/metrics"
hasnt "metrics without a key: no collection named" 'people'
req "metrics with a search key" 403 -H "Authorization: Bearer $SEARCHER" "$URL/metrics"
req "metrics with a revoked key" 401 -H "Authorization: Bearer $REVOKED" "$URL/metrics"
req "metrics with an audit key" 200 -H "Authorization: Bearer $AUDITOR" "$URL/metrics"
has "metrics: collection counts" 'mien_collection_faces\{collection="people"\} 0'
req "metrics with an admin key" 200 -H "$AUTH" "$URL/metrics"
has "metrics: requests counted" 'mien_requests_total\{method="GET",route="/metrics",status="401"\} [0-9]'

# --- 7. authentication before the body ----------------------------------------------------------
before=$(body_bytes)
# The client declares 8 MiB, sends 64 KiB and waits: an answer can only come from the headers.
client "bad bearer key refused before the body" '^answered 401 .*unknown or revoked' \
    early /v1/detect 10000 "Authorization: Bearer mien_000000000000_nope" "Content-Type: image/jpeg"
client "revoked bearer key refused before the body" '^answered 401 ' \
    early /v1/collections/people/subjects/x/faces 10000 "Authorization: Bearer $REVOKED" \
    "Content-Type: image/jpeg"
client "no key refused before the body" '^answered 401 ' \
    early /v1/detect 10000 "Content-Type: image/jpeg"
client "narrow key refused before the body" '^answered 403 ' \
    early /v1/collections/people/subjects/x/faces 10000 "Authorization: Bearer $SEARCHER" \
    "Content-Type: image/jpeg"
client "unknown route refused before the body" '^answered 404 ' \
    early /v1/nowhere 10000 "Authorization: Bearer $ADMIN"
after=$(body_bytes)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -eq "$before" ]; then
    ok "no body byte read for the refused requests (mien_request_body_bytes_total $after)"
else
    bad "body bytes read for refused requests: $before -> $after"
fi
# with a valid key the same client gets no answer: the server waits for the body it declared
client "valid key: the body is awaited" '^no answer within' \
    early /v1/detect 2000 "$AUTH" "Content-Type: image/jpeg"
after=$(body_bytes)
if [ -n "$after" ] && [ "$after" -gt "$before" ]; then ok "valid key: its body is read"
else bad "valid key: its body is read ($before -> $after)"; fi
ADMIN_ID=$(echo "$ADMIN" | cut -d_ -f2)
REVOKED_ID=$(echo "$REVOKED" | cut -d_ -f2)
client "SigV4 unknown key id refused on the headers" '^answered 400 .*AccessDeniedException' \
    sigv4 10000 000000000000 0
client "SigV4 revoked key refused on the headers" '^answered 400 .*AccessDeniedException' \
    sigv4 10000 "$REVOKED_ID" 0
client "SigV4 date an hour old refused on the headers" '^answered 400 .*InvalidSignatureException' \
    sigv4 10000 "$ADMIN_ID" -3600
client "SigV4 date an hour ahead refused on the headers" '^answered 400 .*InvalidSignatureException' \
    sigv4 10000 "$ADMIN_ID" 3600
# a valid key id and date pass the header checks: the signature waits for the body
client "SigV4 valid key id: the body is awaited" '^no answer within' sigv4 2000 "$ADMIN_ID" 0
# a whole signed call passes both halves (headers, then the signature over the body)
client "SigV4 signed call served" '^answered 200 .*collection/people"' \
    signed "$SIGNER_ID" "$SIGNER_SECRET" DescribeCollection '{"CollectionId":"people"}'
# 4 connections from 127.0.0.1 are served, the 5th is closed; 127.0.0.2 is another client
client "connection cap per address" '^refused$' cap 4
req "served after the cap test" 200 "$URL/healthz"

# --- 8. a 5xx says nothing about the store ------------------------------------------------------
# the signed audit head made unreadable (a folder in its place): every audited write fails
HEAD=$TMP/store.db.audit-head
test_store_is_pg && HEAD=$TMP/store.db.key.audit-head
# check_5xx NAME : the last answer is a 500 whose body is generic, carries the X-Request-Id of
# the answer, and whose detail (matching $2) is in the log under that id
check_5xx() {
    id=$(sed -n 's/^X-Request-Id: *\([0-9a-f-]*\).*/\1/Ip' "$TMP/headers" | tr -d '\r')
    if [ -n "$id" ] && grep -q "\"request_id\":\"$id\"" "$TMP/body"; then
        ok "$1: request id $id in the body"; else bad "$1: request id '$id' not in the body"; fi
    hasnt "$1: no path in the body" "$TMP|/tmp|audit-head|\\.db"
    hasnt "$1: no database in the body" 'postgres|@|127\.0\.0\.1|sqlite'
    if grep "request $id" "$TMP/log" | grep -Eq -- "$2"; then ok "$1: detail in the log under $id"
    else bad "$1: no '$2' in the log under $id"; grep "request " "$TMP/log" | tail -n 3; fi
}
if test_store_is_pg; then
    # the database refuses connections (as if stopped): the store's error names user@host:port/db
    DB=$(test_store_db "$TMP/store.db")
    test_store_psql postgres -c "ALTER DATABASE \"$DB\" ALLOW_CONNECTIONS false" \
        -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$DB'" \
        >/dev/null
    req "database down: 500" 500 -H "$AUTH" "$URL/v1/collections"
    check_5xx "database down" 'postgres [^ ]*@'
    test_store_psql postgres -c "ALTER DATABASE \"$DB\" ALLOW_CONNECTIONS true" >/dev/null
    for _ in $(seq 1 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && break
        sleep 0.2
    done
    req "database back" 200 -H "$AUTH" "$URL/v1/collections"
fi
rm -f "$HEAD"
mkdir "$HEAD"
req "audit head unreadable: 500" 500 -H "$AUTH" -H "$J" -d "{\"name\":\"more\",$POLICY}" \
    "$URL/v1/collections"
check_5xx "audit head unreadable" "$HEAD"
# the same through the Rekognition API: InternalServerError, generic, with x-amzn-RequestId
out=$(node "$HERE/net_client.mjs" signed "$HOSTPORT" "$SIGNER_ID" "$SIGNER_SECRET" \
      CreateCollection '{"CollectionId":"rek-more"}' "X-Mien-Purposes: testing" \
      "X-Mien-Legal-Basis: test data" "X-Mien-Consent: not_needed" 2>&1)
id=$(printf '%s\n' "$out" | sed -n 's/^answered 500 id \([0-9a-f-]*\): .*InternalServerError.*/\1/p')
if [ -n "$id" ] && printf '%s\n' "$out" | grep -q "request id $id" &&
   ! printf '%s\n' "$out" | grep -Eq "$TMP|audit-head|postgres"; then
    ok "Rekognition 500: generic, request id $id"
else
    rm -f "$TMP/body"; bad "Rekognition 500: $out"
fi
if [ -n "$id" ] && grep "request $id" "$TMP/log" | grep -q -- "$HEAD"; then
    ok "Rekognition 500: detail in the log under $id"
else
    rm -f "$TMP/body"; bad "Rekognition 500: no detail in the log under '$id'"
fi
finish "first server"

# --- 7. slow headers -------------------------------------------------------------------------------
# One header line every 200 ms keeps MHD's idle timeout (--timeout, 30 s) from firing: only the
# header deadline cuts it, after 1 s (the guard looks 4 times a second); 15 s is the hang guard.
start --header-timeout 1
out=$(node "$HERE/net_client.mjs" slow "$HOSTPORT" 15000 2>&1)
ms=$(printf '%s\n' "$out" | sed -n 's/^cut \([0-9]*\)$/\1/p')
if [ -n "$ms" ] && [ "$ms" -ge 900 ]; then ok "slow headers cut after --header-timeout ($out)"
else rm -f "$TMP/body"; bad "slow headers cut after --header-timeout 1: $out"; fi
req "served while a client trickles headers" 200 "$URL/healthz"
req "metrics after the cut" 200 -H "$AUTH" "$URL/metrics"
has "cut counted" 'mien_connections_cut_total\{reason="slow_headers"\} [1-9]'
finish "second server"

suite_end
