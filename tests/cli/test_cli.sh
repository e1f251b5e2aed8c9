#!/bin/sh
# test_cli.sh — the `mien` command line as a person uses it: exit codes, messages, JSON.
# Usage: tests/cli/test_cli.sh PATH/TO/mien     (run from the repository root; MIEN_MODELS
# defaults to ./models). Ends with "N passed, N failed".
set -u
MIEN=${1:?usage: test_cli.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
OUT=$(mktemp) ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT
passed=0 failed=0

# check NAME WANT_EXIT COMMAND... : runs the command, compares its exit status
check() {
    name=$1 want=$2
    shift 2
    "$@" >"$OUT" 2>"$ERR"
    got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
        echo "  ok $name"
        return 0
    fi
    failed=$((failed + 1))
    echo "  FAILED $name: exit $got, want $want"
    sed 's/^/    stderr: /' "$ERR" | head -5
    return 1
}

# expect NAME FILE PATTERN : FILE (stdout or stderr of the last check) matches PATTERN
expect() {
    if grep -q -- "$3" "$2"; then
        passed=$((passed + 1))
        echo "  ok $1"
    else
        failed=$((failed + 1))
        echo "  FAILED $1: no '$3' in:"
        head -5 "$2" | sed 's/^/    /'
    fi
}

check "help" 0 "$MIEN" --help
expect "help lists models" "$OUT" "models"
check "no command" 2 "$MIEN"
check "unknown command" 2 "$MIEN" frobnicate
expect "unknown command named" "$ERR" "frobnicate"
check "unknown option" 2 "$MIEN" models --bogus
check "bad --threads" 2 "$MIEN" models --threads zero
check "missing models folder" 1 "$MIEN" models --models /nonexistent/models
expect "missing folder message" "$ERR" "/nonexistent/models"

if [ -f "$MIEN_MODELS/MobileFaceNet.tflite" ]; then
    check "models" 0 "$MIEN" models
    expect "models shows provenance" "$OUT" "sirius-ai/MobileFaceNet_TF"
    check "models --json" 0 "$MIEN" models --json
    lines=$(grep -c '^{"model":' "$OUT")
    if [ "$lines" -eq 6 ]; then passed=$((passed + 1)); echo "  ok six models"; else
        failed=$((failed + 1)); echo "  FAILED six models: $lines lines"; fi
    expect "sha256 of embedder B" "$OUT" '"sha256":"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"'
    check "bench --json" 0 "$MIEN" bench models --runs 3 --warmup 1 --json
    lines=$(grep -c '^{"model":"[a-zA-Z]*","ms_median":[0-9.]*,"ms_min":[0-9.]*,"runs":3,"threads":1}$' "$OUT")
    if [ "$lines" -eq 6 ]; then passed=$((passed + 1)); echo "  ok bench lines"; else
        failed=$((failed + 1)); echo "  FAILED bench lines: $lines"; cat "$OUT"; fi
    check "bench one model" 0 "$MIEN" bench models --model rnet --runs 2
    expect "bench table" "$OUT" "rnet"
    check "bench bad --runs" 2 "$MIEN" bench models --runs abc
    check "bench without models" 2 "$MIEN" bench
else
    echo "  skip: models not found in $MIEN_MODELS (run scripts/setup)"
fi

# mien eval: a tiny pair list written here from the sample photos (no LFW data needed).
check "eval without a sub-command" 2 "$MIEN" eval
check "eval unknown sub-command" 2 "$MIEN" eval frobnicate
check "eval lfw without data" 1 "$MIEN" eval lfw --data /nonexistent/data
expect "eval lfw names the folder" "$ERR" "/nonexistent/data"
check "eval lfw bad --limit-folds" 2 "$MIEN" eval lfw --limit-folds 11
if [ -f "$MIEN_MODELS/samples/sample2.jpg" ]; then
    EVAL_DIR=$(mktemp -d)
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tsample2.jpg\t0\t0\n' >"$EVAL_DIR/list.tsv"
    check "eval pairs" 0 "$MIEN" eval pairs "$EVAL_DIR/list.tsv" --root "$MIEN_MODELS/samples" \
        --threads 2 --json --roc "$EVAL_DIR/roc.svg"
    expect "eval pairs accuracy" "$OUT" '^{"profile":"fast","accuracy":1.000000,'
    for key in std tar_at_far_1e-3 tar_at_far_1e-2 failures_to_detect ms_per_image pairs threads; do
        expect "eval pairs JSON has $key" "$OUT" "\"$key\":"
    done
    expect "eval pairs ROC written" "$EVAL_DIR/roc.svg" "<polyline"
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tsample2.jpg\tmaybe\t0\n' >"$EVAL_DIR/bad.tsv"
    check "eval pairs bad line" 2 "$MIEN" eval pairs "$EVAL_DIR/bad.tsv"
    expect "eval pairs bad line number" "$ERR" "bad.tsv:2:"
    printf 'sample1.jpg\tsample1.jpg\t1\t0\nsample1.jpg\tmissing.jpg\t0\t0\n' >"$EVAL_DIR/gone.tsv"
    check "eval pairs unreadable image" 0 "$MIEN" eval pairs "$EVAL_DIR/gone.tsv" \
        --root "$MIEN_MODELS/samples" --json
    expect "eval pairs counts the unreadable image" "$OUT" '"unreadable":1'
    expect "eval pairs names the unreadable image" "$ERR" "missing.jpg"
    check "eval pairs missing list" 1 "$MIEN" eval pairs "$EVAL_DIR/none.tsv"
    rm -rf "$EVAL_DIR"
else
    echo "  skip: eval pairs needs $MIEN_MODELS/samples (run scripts/setup)"
fi

# small faces (src/face/detect_small.c)
if [ -f "$MIEN_MODELS/pnet.tflite" ] && [ -f "$MIEN_MODELS/samples/sample1.jpg" ]; then
    check "detect --small-faces" 0 "$MIEN" detect --small-faces "$MIEN_MODELS/samples/sample1.jpg"
    expect "detect --small-faces finds faces" "$OUT" "faces"
else
    echo "  skip: models or samples not found in $MIEN_MODELS (run scripts/setup)"
fi

# galleries: collection, enroll, search, subjects, erase on a temporary store
check "collection without an action" 2 "$MIEN" collection
check "enroll without a collection" 2 "$MIEN" enroll
check "search without an image" 2 "$MIEN" search people
check "erase without --subject" 2 "$MIEN" erase people
check "enroll bad --face" 2 "$MIEN" enroll people --subject A --face x some.jpg
if [ -f "$MIEN_MODELS/samples/sample2.jpg" ]; then
    GAL_DIR=$(mktemp -d)
    STORE="sqlite:$GAL_DIR/g.db"
    S1="$MIEN_MODELS/samples/sample1.jpg"
    check "collection create" 0 "$MIEN" collection create people --store "$STORE" \
        --description "CLI test"
    expect "collection create names it" "$OUT" "people"
    check "collection create twice" 1 "$MIEN" collection create people --store "$STORE"
    expect "collection exists message" "$ERR" "already exists"
    check "collection list --json" 0 "$MIEN" collection list --store "$STORE" --json
    expect "collection list JSON" "$OUT" '"collection":"people","profile":"fast"'
    check "enroll refuses a group photo" 1 "$MIEN" enroll people --subject A "$S1" --store "$STORE"
    expect "enroll says why" "$ERR" "faces: say which with --face N"
    check "enroll --force" 0 "$MIEN" enroll people --subject A --force "$S1" --store "$STORE"
    check "enroll the same image again" 1 "$MIEN" enroll people --subject A --force "$S1" \
        --store "$STORE"
    expect "enroll again says already enrolled" "$ERR" "already enrolled"
    check "enroll unknown collection" 1 "$MIEN" enroll nope --subject A --force "$S1" \
        --store "$STORE"
    expect "enroll names the collection" "$ERR" "no collection 'nope'"
    check "search" 0 "$MIEN" search people "$S1" --store "$STORE" --json
    expect "search finds A at rank 1" "$OUT" '"candidates":\[{"rank":1,"subject":"A","similarity":'
    check "search text" 0 "$MIEN" search people "$S1" --top 3 --fmr 1e-4 --store "$STORE"
    expect "search text rank 1" "$OUT" "   1  A "
    check "search unknown collection" 1 "$MIEN" search nope "$S1" --store "$STORE"
    check "search bad --fmr" 2 "$MIEN" search people "$S1" --fmr 7 --store "$STORE"
    check "subjects" 0 "$MIEN" subjects people --store "$STORE" --json
    expect "subjects lists A" "$OUT" '{"subject":"A","display_name":"","faces":1,'
    check "subjects unknown collection" 1 "$MIEN" subjects nope --store "$STORE"
    check "erase" 0 "$MIEN" erase people --subject A --store "$STORE" --json
    expect "erase counts" "$OUT" '"faces_deleted":1,"crops_deleted":0'
    check "search after erase" 0 "$MIEN" search people "$S1" --store "$STORE" --json
    expect "no candidates after erase" "$OUT" '"candidates":\[\]'
    check "erase again" 1 "$MIEN" erase people --subject A --store "$STORE"
    # --from-dir: one folder per subject, JSON lines when not on a terminal, resumable
    mkdir -p "$GAL_DIR/in/B" "$GAL_DIR/in/C"
    cp "$S1" "$GAL_DIR/in/B/one.jpg"
    cp "$MIEN_MODELS/samples/sample2.jpg" "$GAL_DIR/in/C/two.jpg"
    printf 'not an image' >"$GAL_DIR/in/C/junk.jpg"
    check "enroll --from-dir (a junk file fails the run)" 1 "$MIEN" enroll people \
        --from-dir "$GAL_DIR/in" --force --threads 2 --store "$STORE"
    expect "from-dir JSON line" "$OUT" '"subject":"B",.*"status":"enrolled"'
    expect "from-dir summary" "$OUT" '"summary":{"collection":"people","images":3,"enrolled":2,'
    rm "$GAL_DIR/in/C/junk.jpg"
    check "enroll --from-dir again" 0 "$MIEN" enroll people --from-dir "$GAL_DIR/in" --force \
        --store "$STORE"
    expect "from-dir resumes" "$OUT" '"enrolled":0,"skipped":2,'
    check "collection info" 0 "$MIEN" collection info people --store "$STORE" --json
    expect "collection info counts" "$OUT" '"subjects":2,"faces":2}'
    check "MIEN_STORE" 0 env MIEN_STORE="$STORE" "$MIEN" subjects people
    expect "MIEN_STORE is used" "$OUT" "2 subjects in people"
    check "collection drop" 0 "$MIEN" collection drop people --store "$STORE"
    check "collection info after drop" 1 "$MIEN" collection info people --store "$STORE"
    printf 'this is not a database, not at all, not even close...................' \
        >"$GAL_DIR/bad.db"
    check "corrupt store" 1 "$MIEN" collection list --store "$GAL_DIR/bad.db"
    rm -rf "$GAL_DIR"
else
    echo "  skip: galleries need $MIEN_MODELS/samples (run scripts/setup)"
fi
check "eval lfw-1n without data" 1 "$MIEN" eval lfw-1n --data /nonexistent/data

# keys: API keys for mien serve (no models needed)
KEY_DIR=$(mktemp -d)
KSTORE="$KEY_DIR/keys.db"
check "keys list (none)" 0 "$MIEN" keys list --store "$KSTORE"
expect "keys list says none" "$OUT" "no keys"
check "keys create" 0 "$MIEN" keys create --role admin --label "ops laptop" --store "$KSTORE"
expect "keys create prints the id" "$OUT" '^key id: [0-9a-f]\{12\}$'
expect "keys create prints the role" "$OUT" '^role: admin$'
expect "keys create prints the key" "$OUT" '^key: mien_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}$'
expect "keys create warns: shown once" "$ERR" "shown only this once"
ADMIN_KEY=$(sed -n 's/^key: //p' "$OUT")
check "keys create --json" 0 "$MIEN" keys create --role search --store "$KSTORE" --json
expect "keys create JSON" "$OUT" '^{"id":"[0-9a-f]\{12\}","role":"search","label":"","key":"mien_'
SEARCH_ID=$(sed 's/^{"id":"\([0-9a-f]*\)".*/\1/' "$OUT")
check "keys list" 0 "$MIEN" keys list --store "$KSTORE"
expect "keys list shows the label" "$OUT" "admin .*ops laptop"
check "keys list --json" 0 "$MIEN" keys list --store "$KSTORE" --json
expect "keys list JSON" "$OUT" "{\"id\":\"$SEARCH_ID\",\"role\":\"search\",\"label\":\"\",\"created_at\":\"[0-9T:Z-]*\",\"revoked_at\":null}"
if grep -q -- "${ADMIN_KEY#mien_????????????_}" "$OUT"; then
    failed=$((failed + 1)); echo "  FAILED keys list shows a secret"
else
    passed=$((passed + 1)); echo "  ok keys list shows no secret"
fi
check "keys revoke" 0 "$MIEN" keys revoke "$SEARCH_ID" --store "$KSTORE"
expect "keys revoke says so" "$OUT" "revoked key $SEARCH_ID"
check "keys list after revoke" 0 "$MIEN" keys list --store "$KSTORE" --json
expect "revoked key has a time" "$OUT" "\"$SEARCH_ID\".*\"revoked_at\":\"[0-9]"
check "keys revoke unknown id" 1 "$MIEN" keys revoke 000000000000 --store "$KSTORE"
expect "keys revoke unknown says no key" "$ERR" "no key"
check "keys create without --role" 2 "$MIEN" keys create --store "$KSTORE"
check "keys create bad role" 2 "$MIEN" keys create --role root --store "$KSTORE"
expect "bad role named" "$ERR" "root"
check "keys revoke without id" 2 "$MIEN" keys revoke --store "$KSTORE"
check "keys unknown action" 2 "$MIEN" keys rotate --store "$KSTORE"
if grep -q -a -- "${ADMIN_KEY#mien_????????????_}" "$KSTORE"*; then
    failed=$((failed + 1)); echo "  FAILED the store file holds a secret"
else
    passed=$((passed + 1)); echo "  ok the store file holds no secret"
fi
rm -rf "$KEY_DIR"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
