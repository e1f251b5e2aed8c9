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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
