#!/bin/sh
# bench/precision.sh — how far bfloat16 moves mien's similarities from float32 on real faces
# (docs/precision.md): builds bench/precision.c against the library and runs it.
#
#   bench/precision.sh [--data DIR] [--pairs FILE] [--max N] [--build DIR]
#
# Defaults: LFW under $MIEN_DATA (else ../shared/data), the pair list lfw/pairsDevTest.txt
# (LFW View 1, 500 + 500 pairs: development data, never the reported test folds), all pairs,
# build dir build/ (it needs libmien.so there). Prints one JSON line (stdout): per precision
# ("bf16": embedders only, "bf16-all": every model) 1 − cos between the float32 and bfloat16
# vectors of each embedder over the images, |Δ similarity| over the pairs for both profiles
# (max, mean, 99th percentile), and how many pairs change side of the calibrated thresholds
# at FMR 1e-3 and 1e-4. Skips (exit 0) when LFW is absent.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${MIEN_DATA:-$ROOT/../shared/data}
BUILD=$ROOT/build PAIRS= MAX=8192

die() { echo "bench/precision.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --pairs) PAIRS=$2; shift 2 ;;
        --max) MAX=$2; shift 2 ;;
        --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
LFW=$DATA/lfw
PAIRS=${PAIRS:-$LFW/pairsDevTest.txt}
[ -f "$PAIRS" ] || { echo "bench/precision.sh: skip: no pair list at $PAIRS" >&2; exit 0; }
[ -f "$BUILD/libmien.so" ] || die "$BUILD/libmien.so not found: build mien first"
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -I"$ROOT/include" \
    "$ROOT/bench/precision.c" "$ROOT/bench/lfw_bench.c" -o "$BUILD/mien_bench_precision" \
    -L"$BUILD" -lmien -Wl,-rpath,"$BUILD" -lm || die "cannot build bench/precision.c"
export OMP_WAIT_POLICY=PASSIVE MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
"$BUILD/mien_bench_precision" "$LFW" "$PAIRS" "$MAX"
