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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
