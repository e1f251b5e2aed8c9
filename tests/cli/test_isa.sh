#!/bin/sh
# test_isa.sh — one machine, every ISA level it can run (MIEN_MAX_ISA), each in its own process
# (the cap is process-wide and set once): at AVX2 and above no model step runs on a oneDNN
# reference kernel; at every level the float32 templates of real faces agree with the
# uncapped ones to cosine >= 0.99999 (same arithmetic, other summation orders), both
# embedders; levels above the CPU's are skipped with a visible line.
# Usage: tests/cli/test_isa.sh PATH/TO/mien   (from the repository root). Ends with
# "N passed, N failed, N skipped".
set -u
MIEN=${1:?usage: test_isa.sh PATH/TO/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# It sets its own ISA levels: under the CI's ISA matrix (make test-isa, MIEN_MAX_ISA set) it
# would only repeat the native run, so it runs there once only.
if [ -n "${MIEN_MAX_ISA:-}" ]; then
    echo "$(basename "$0"): skip: MIEN_MAX_ISA=$MIEN_MAX_ISA (the test sets its own levels; it runs in make test)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
fi
export MIEN_PRECISION=f32
unset MIEN_MAX_ISA
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-isa.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "  ok $1"; }
bad() { failed=$((failed + 1)); echo "  FAILED $1"; }

FACES="$MIEN_MODELS/samples/sample1.jpg $MIEN_MODELS/samples/sample2.jpg"
for f in $FACES; do
    [ -f "$f" ] || { echo "test_isa.sh: skip: no sample photo $f (run scripts/setup)"; \
        echo "0 passed, 0 failed, 1 skipped"; exit 77; }
done

rank() { # level -> number, in mien_isa's order
    case $1 in c) echo 1 ;; sse41) echo 2 ;; avx2) echo 3 ;; avx512) echo 4 ;;
        avx512_bf16) echo 5 ;; *) echo 6 ;; esac
}
CPU=$("$MIEN" --version | sed -n 's/^isa-cpu: //p')
[ -n "$CPU" ] || { bad "mien --version names the CPU's ISA"; CPU=c; }
echo "CPU: $CPU"

# embed LEVEL PROFILE OUT : templates of each face, one JSON line each
embed() {
    : >"$3"
    for f in $FACES; do
        MIEN_MAX_ISA=$1 "$MIEN" embed "$f" --profile "$2" --json >>"$3" 2>"$TMP/err" || {
            sed 's/^/    /' "$TMP/err" | head -3; return 1; }
    done
}
for prof in fast accurate; do
    MIEN_MAX_ISA=native embed native $prof "$TMP/native.$prof" || bad "embed uncapped ($prof)"
done

for level in avx512_bf16 avx512 avx2 sse41 c; do
    if [ "$(rank "$level")" -gt "$(rank "$CPU")" ]; then
        skipped=$((skipped + 1))
        echo "  skipped $level: this CPU has $CPU only"
        continue
    fi
    if MIEN_MAX_ISA=$level "$MIEN" models --json >"$TMP/models" 2>"$TMP/err"; then
        ok "$level: models load"
    else
        bad "$level: models load"; sed 's/^/    /' "$TMP/err" | head -3; continue
    fi
    grep -q "\"isa\":\"$level\"" "$TMP/models" && ok "$level: reported as mien's level" \
        || bad "$level: 'isa' is not $level in: $(head -c 300 "$TMP/models")"
    refs=$(sed -n 's/.*"model":"\([^"]*\)".*"ref_steps":\([0-9]*\).*/\1=\2/p' "$TMP/models" \
        | grep -v '=0$' | tr '\n' ' ')
    if [ "$(rank "$level")" -ge 3 ]; then
        [ -z "$refs" ] && ok "$level: no reference kernels" \
            || bad "$level: steps on reference kernels: $refs"
    else
        echo "  ($level: correctness only; reference-kernel steps: ${refs:-none})"
    fi
    for prof in fast accurate; do
        if ! embed "$level" $prof "$TMP/$level.$prof"; then
            bad "$level: embed ($prof)"; continue
        fi
        if node - "$TMP/native.$prof" "$TMP/$level.$prof" <<'JS'
'use strict';
const fs = require('fs');
const read = f => fs.readFileSync(f, 'utf8').trim().split('\n').map(l => JSON.parse(l));
const [a, b] = process.argv.slice(2).map(read);
let worst = 1, n = 0;
for (let i = 0; i < a.length; i++) {
  for (const k of Object.keys(a[i]).filter(k => k.startsWith('embedding_'))) {
    const x = a[i][k], y = b[i][k];
    let dot = 0, nx = 0, ny = 0;
    for (let j = 0; j < x.length; j++) { dot += x[j] * y[j]; nx += x[j] * x[j]; ny += y[j] * y[j]; }
    worst = Math.min(worst, dot / Math.sqrt(nx * ny)); n++;
  }
}
console.log(`    ${n} templates, lowest cosine to uncapped ${worst.toFixed(7)}`);
process.exit(n > 0 && worst >= 0.99999 ? 0 : 1);
JS
        then ok "$level: $prof templates agree with uncapped"
        else bad "$level: $prof templates differ from uncapped"
        fi
    done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
