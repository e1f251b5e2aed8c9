#!/bin/sh
# bench/mixed_precision.sh — templates of an AVX-512 node (bfloat16 embedders) against those
# of an AVX2 node (float32) on one store: how far cross-precision similarities move, and
# where the calibrated thresholds land (docs/precision.md, "Mixed nodes"). Builds
# bench/mixed_precision.c against the library and runs it.
#
#   bench/mixed_precision.sh [--data DIR] [--build DIR] [--out DIR] [--train N] [--low ISA]
#                            [--no-isa-only]
#
# Embeds LFW's peopleDevTrain (the calibration set, 9525 images; --train N: its first people
# up to N images, for the impostor pairs) and pairsDevTest (1549 images) three times, one
# process each: native ISA at the default precision (bf16 where the CPU has AVX512-BF16),
# MIEN_MAX_ISA=avx2 (--low: float32), and native with MIEN_PRECISION=f32 (the ISA's effect
# alone; --no-isa-only leaves it out). Two run at a time: the low node, and the two native
# ones one after the other. The templates stay in --out (default BUILD/mixed-precision) and
# are reused when there: delete them after changing the models, the library or --train.
# Prints two JSON lines (stdout; bench/mixed_precision.c tells what they hold): native
# default against low-ISA float32, then native float32 against low-ISA float32. With
# --train 4000 about 10 minutes on 2 cores. Skips (exit 0) when LFW is absent.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${MIEN_DATA:-$ROOT/../shared/data}
BUILD=$ROOT/build OUT='' LOW=avx2 ISA_ONLY=1 TRAIN=12288

die() { echo "bench/mixed_precision.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --train) TRAIN=$2; shift 2 ;;
        --low) LOW=$2; shift 2 ;;
        --no-isa-only) ISA_ONLY=0; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
LFW=$DATA/lfw
[ -d "$DATA/lfw" ] || LFW=$DATA # DIR may be the lfw folder itself
if [ ! -f "$LFW/peopleDevTrain.txt" ] || [ ! -f "$LFW/pairsDevTest.txt" ]; then
    echo "bench/mixed_precision.sh: skip: no LFW lists under $DATA" >&2
    exit 0
fi
[ -f "$BUILD/libmien.so" ] || die "$BUILD/libmien.so not found: build mien first"
OUT=${OUT:-$BUILD/mixed-precision}
mkdir -p "$OUT"
BIN=$BUILD/mien_bench_mixed
${CC:-cc} -O3 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
    -I"$ROOT/include" "$ROOT/bench/mixed_precision.c" "$ROOT/bench/lfw_bench.c" -o "$BIN" \
    -L"$BUILD" -lmien -Wl,-rpath,"$BUILD" -lm || die "cannot build bench/mixed_precision.c"
export OMP_WAIT_POLICY=PASSIVE MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
unset MIEN_MAX_ISA MIEN_PRECISION

# embed NAME ENV... : the templates of one kind of node into OUT/NAME.bin, unless there
embed() {
    name=$1
    shift
    [ -s "$OUT/$name.bin" ] && return 0
    env "$@" "$BIN" embed "$LFW" "$OUT/$name.tmp" "$TRAIN" &&
        mv "$OUT/$name.tmp" "$OUT/$name.bin"
}
embed "$LOW-f32" MIEN_MAX_ISA="$LOW" &
low=$!
embed native || die "embedding at the native ISA failed"
if [ "$ISA_ONLY" = 1 ]; then
    embed native-f32 MIEN_PRECISION=f32 || die "embedding native float32 failed"
fi
wait $low || die "embedding at $LOW failed"
"$BIN" compare "$LFW" "$OUT/native.bin" "$OUT/$LOW-f32.bin" "$TRAIN"
if [ "$ISA_ONLY" = 1 ]; then
    "$BIN" compare "$LFW" "$OUT/native-f32.bin" "$OUT/$LOW-f32.bin" "$TRAIN"
fi
