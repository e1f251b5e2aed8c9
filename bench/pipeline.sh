#!/bin/sh
# bench/pipeline.sh — the whole pipeline per image, mien against the ONNX Runtime reference,
# on the same LFW images in the same run, one thread each.
#
#   bench/pipeline.sh [--data DIR] [--folds K] [--rounds R] [--precision P[,P...]] [--isa LEVEL]
#
# mien: `build/mien eval lfw --profile fast --threads 1 --limit-folds K --json` (decode,
# detect, O-Net, align, embedder A). Reference: build/reference/bin/eval-lfw.js --embedders A
# --limit-folds K (the same stages, ONNX Runtime 1.30, one thread). Each reports the mean
# milliseconds per image summed over its stages; with R rounds (default 2) the two alternate
# and the figure is the median (mean for two) over rounds. Prints one JSON line:
#   {"mien_ms_per_image":…,"ort_ms_per_image":…,"speedup":…,"images":…,"folds":…,"isa":"avx2"}
# and the per-stage figures of both on stderr; "isa" is the level mien's kernels ran at
# (isa-active of `mien --version` under the same cap). --precision runs mien once per round
# for each listed MIEN_PRECISION (f32, bf16, bf16-all: docs/precision.md; `default`: as set
# up), interleaved with the reference, and prints one such line per precision (with
# "precision" added); without it mien runs at its default. --isa LEVEL (c, sse41, avx2,
# avx512, avx512_bf16, native) caps mien only (MIEN_MAX_ISA: its own kernels and oneDNN), as
# on a lesser CPU; the reference's ONNX Runtime still runs natively (a note on stderr says
# so); without it mien runs at $MIEN_MAX_ISA if set, else natively. $MIEN_BIN picks another
# mien binary (default build/mien). Needs LFW under DIR (default $MIEN_DATA, else
# ../shared/data); skips with a message (exit 0) when it is absent.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIEN=${MIEN_BIN:-$ROOT/build/mien}
REF=$ROOT/build/reference
DATA=${MIEN_DATA:-$ROOT/../shared/data}
FOLDS=1 ROUNDS=2 PRECISIONS=default ISA=${MIEN_MAX_ISA:-}

die() { echo "bench/pipeline.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --folds) FOLDS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --precision) PRECISIONS=$(echo "$2" | tr ',' ' '); shift 2 ;;
        --isa) [ $# -ge 2 ] || die "--isa needs a level"; ISA=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -x "$MIEN" ] || die "$MIEN not found: build mien first (make build)"
# the level mien runs at, checked by mien itself (a bad --isa name fails here)
VERSION=$(MIEN_MAX_ISA=$ISA "$MIEN" --version 2>&1) || die "--isa $ISA: $VERSION"
CPU_ISA=$(echo "$VERSION" | sed -n 's/^isa-cpu: //p')
ACTIVE_ISA=$(echo "$VERSION" | sed -n 's/^isa-active: //p')
[ -n "$ACTIVE_ISA" ] || die "cannot read isa-active from \`$MIEN --version\`"
if [ -n "$ISA" ] && [ "$ACTIVE_ISA" != "$CPU_ISA" ]; then
    echo "bench/pipeline.sh: mien capped at $ACTIVE_ISA (MIEN_MAX_ISA=$ISA); ONNX Runtime runs" \
         "natively (on this $CPU_ISA CPU that is the harder comparison for mien)" >&2
elif [ -n "$ISA" ]; then
    echo "bench/pipeline.sh: mien at $ACTIVE_ISA, all this CPU has (MIEN_MAX_ISA=$ISA);" \
         "ONNX Runtime runs natively too" >&2
fi
LFW=$DATA/lfw
[ -f "$LFW/pairs.txt" ] || { echo "bench/pipeline.sh: skip: no LFW at $LFW" >&2; exit 0; }
"$ROOT/scripts/reference-setup" >&2
export OMP_WAIT_POLICY=PASSIVE MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
unset MIEN_MAX_ISA # mien gets $ISA explicitly below, the reference nothing

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for prec in $PRECISIONS; do
        echo "bench/pipeline.sh: round $round: mien ($prec)" >&2
        if [ "$prec" = default ]; then
            MIEN_MAX_ISA=$ISA "$MIEN" eval lfw --data "$DATA" --profile fast --threads 1 \
                --limit-folds "$FOLDS" --json | grep '^{' | tail -n 1 > "$TMP/mien.$prec.$round"
        else
            MIEN_MAX_ISA=$ISA MIEN_PRECISION=$prec "$MIEN" eval lfw --data "$DATA" --profile fast \
                --threads 1 --limit-folds "$FOLDS" --json | grep '^{' | tail -n 1 \
                > "$TMP/mien.$prec.$round"
        fi
    done
    echo "bench/pipeline.sh: round $round: onnxruntime reference" >&2
    (cd "$REF" && MIEN_MODELS=$REF/models node bin/eval-lfw.js --data "$LFW" \
        --limit-folds "$FOLDS" --embedders A) | grep '^{' | tail -n 1 > "$TMP/ort.$round"
    round=$((round + 1))
done

node - "$TMP" "$ROUNDS" "$FOLDS" "$ACTIVE_ISA" $PRECISIONS <<'JS'
const fs = require('fs');
const [dir, rounds, folds, isa, ...precisions] = process.argv.slice(2);
const mid = a => { a = [...a].sort((x, y) => x - y); const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2; };
const o = [];
let images = 0;
for (let r = 1; r <= +rounds; r++) {
  const oj = JSON.parse(fs.readFileSync(`${dir}/ort.${r}`, 'utf8'));
  o.push(oj.ms_mean.total); images = oj.images;
  console.error(`round ${r}: ort  ${JSON.stringify(oj.ms_mean)}`);
}
const ort = mid(o);
for (const p of precisions) {
  const m = [];
  for (let r = 1; r <= +rounds; r++) {
    const mj = JSON.parse(fs.readFileSync(`${dir}/mien.${p}.${r}`, 'utf8'));
    m.push(mj.ms_per_image.total);
    const tag = p === 'default' ? '' : ` (${p})`;
    console.error(`round ${r}: mien${tag} ${JSON.stringify(mj.ms_per_image)}`);
  }
  const mien = mid(m);
  console.log(JSON.stringify({mien_ms_per_image: +mien.toFixed(3), ort_ms_per_image: +ort.toFixed(3),
    speedup: +(ort / mien).toFixed(2), images, folds: +folds,
    ...(p === 'default' ? {} : {precision: p}), isa}));
}
JS
