#!/bin/sh
# bench/search.sh — exact (f32, int8) and approximate (HNSW) search of the in-memory index
# (src/gallery/index.c) on synthetic galleries, against the memory-bandwidth floor, in one run.
#
#   bench/search.sh [--full] [--isa LEVEL] [mien_bench_search options]
#
# Data (bench/search_bench.c): 1 M templates at 192-d and at 512-d, 200 k identity centres
# uniformly on the unit sphere, 5 noisy samples each (same-identity cosine 0.6–0.8); queries
# are fresh samples of enrolled identities. Prints one JSON line per case (f32-D, int8-D,
# hnsw-D, hnsw-D-efE for the other beams) with isa, floor_loop, floor_gbps, floor_ms, ms,
# ratio_to_floor, recall_at_10 (and recall_at_10_fmr1e-4 for HNSW), bytes_per_template;
# progress on stderr. The floor is the fastest of several read loops over the same bytes.
#
# --isa LEVEL (c, sse41, avx2, avx512, avx512_bf16, native) caps the instruction set of
# mien's kernels and of the floor's loops, through $MIEN_MAX_ISA: an AVX-512 machine then
# measures what an AVX2 server would. "isa" in each line is the level that ran.
#
# Building the HNSW graph of 1 M faces takes minutes on 2 cores (44 s for 192-d, 84 s for
# 512-d on 16), so by default the graph covers 1 M faces at 192-d only when --full is given,
# else 200 k faces at 192-d and 100 k at 512-d (the exact cases are always 1 M); --full builds
# both at 1 M. Uses build/mien_bench_search (cmake --build build), or $MIEN_BENCH_SEARCH.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${MIEN_BENCH_SEARCH:-$ROOT/build/mien_bench_search}
HNSW="--hnsw-n 192:200000,512:100000"
while [ $# -gt 0 ]; do
    case "$1" in
        --full) HNSW="--hnsw-n 192:1000000,512:1000000"; shift ;;
        --isa)
            [ $# -ge 2 ] || { echo "bench/search.sh: --isa needs a level" >&2; exit 2; }
            MIEN_MAX_ISA=$2; export MIEN_MAX_ISA; shift 2 ;;
        --isa=*) MIEN_MAX_ISA=${1#--isa=}; export MIEN_MAX_ISA; shift ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
[ -x "$BIN" ] || { echo "bench/search.sh: $BIN not built (cmake --build build)" >&2; exit 1; }
exec "$BIN" --dims 192,512 $HNSW --ef 512,256,1024 "$@"
