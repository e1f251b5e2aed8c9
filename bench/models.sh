#!/bin/sh
# bench/models.sh — each model alone, mien (build/mien) against ONNX Runtime (the reference's
# node binding), one thread each, same fixed inputs and shapes.
#
#   bench/models.sh [--runs N] [--rounds R] [--warmup W] [--threads T] [--isa LEVEL] [--ort-only]
#
# Defaults: 200 runs, 3 rounds, 10 warm-up runs (ORT side), 1 thread. Each round runs
# `build/mien bench models --json --runs N --threads T` and the reference's bin/bench-mien.js
# (set up by scripts/reference-setup) back to back, alternating which goes first; a model's figure
# is the median over rounds of each round's median (the mean for two rounds), because a 2-core
# shared VM is noisy. OMP_WAIT_POLICY=PASSIVE for both.
# --isa LEVEL (c, sse41, avx2, avx512, avx512_bf16, native) caps mien's runs only
# (MIEN_MAX_ISA: its own kernels and oneDNN), so one machine measures what a lesser CPU gets;
# ONNX Runtime still runs natively, with everything the CPU has (a note on stderr says so).
# Without it mien runs at $MIEN_MAX_ISA if set, else natively.
# Output (stdout), one JSON line per model, then a summary line:
#   {"model":"embedderA","mien_ms":6.9,"ort_ms":13.4,"speedup":1.94,"isa":"avx512_bf16"}
#   {"summary":true,"runs":200,"rounds":3,"threads":1,"models":6,"mien_faster":6,"geomean_speedup":…,
#    "isa":"avx512_bf16"}
# speedup = ort_ms / mien_ms; "isa" is the level mien's kernels ran at, as `mien bench models
# --json` reports it (null with --ort-only). Progress goes to stderr. --ort-only skips mien
# (mien_ms and speedup are then null). $MIEN_BIN picks another mien binary; $MIEN_PRECISION
# (f32, bf16, bf16-all) is passed on.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIEN=${MIEN_BIN:-$ROOT/build/mien}
REF=$ROOT/build/reference
RUNS=200 ROUNDS=3 WARMUP=10 THREADS=1 ORT_ONLY=no ISA=${MIEN_MAX_ISA:-}

die() { echo "bench/models.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --isa) [ $# -ge 2 ] || die "--isa needs a level"; ISA=$2; shift 2 ;;
        --ort-only) ORT_ONLY=yes; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
for v in "$RUNS" "$ROUNDS" "$WARMUP" "$THREADS"; do
    case $v in ''|*[!0-9]*) die "numeric argument expected, got '$v'" ;; esac
done
if [ "$RUNS" -lt 1 ] || [ "$ROUNDS" -lt 1 ] || [ "$THREADS" -lt 1 ]; then
    die "--runs, --rounds and --threads must be >= 1"
fi

if [ $ORT_ONLY = no ] && [ ! -x "$MIEN" ]; then
    die "$MIEN not found: build mien first (make, or cmake --build build), or pass --ort-only"
fi
# the cap, checked by mien itself (a bad name fails here, not after the first round)
if [ $ORT_ONLY = no ] && [ -n "$ISA" ]; then
    VERSION=$(MIEN_MAX_ISA=$ISA "$MIEN" --version 2>&1) || die "--isa $ISA: $VERSION"
    CPU_ISA=$(echo "$VERSION" | sed -n 's/^isa-cpu: //p')
    ACTIVE_ISA=$(echo "$VERSION" | sed -n 's/^isa-active: //p')
    if [ "$ACTIVE_ISA" = "$CPU_ISA" ]; then
        echo "bench/models.sh: mien at $ACTIVE_ISA, all this CPU has (MIEN_MAX_ISA=$ISA);" \
             "ONNX Runtime runs natively too" >&2
    else
        echo "bench/models.sh: mien capped at $ACTIVE_ISA (MIEN_MAX_ISA=$ISA); ONNX Runtime runs" \
             "natively (on this $CPU_ISA CPU that is the harder comparison for mien)" >&2
    fi
fi

"$ROOT/scripts/reference-setup" >&2 || die "scripts/reference-setup failed"

export OMP_WAIT_POLICY=PASSIVE
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

run_mien() { # round
    echo "bench/models.sh: round $1: mien" >&2
    if [ -n "$ISA" ]; then
        (cd "$ROOT" && MIEN_MAX_ISA=$ISA "$MIEN" bench models --json --runs "$RUNS" \
            --threads "$THREADS") > "$TMP/mien.$1" || die "build/mien bench models failed"
    else
        (cd "$ROOT" && "$MIEN" bench models --json --runs "$RUNS" --threads "$THREADS") \
            > "$TMP/mien.$1" || die "build/mien bench models failed"
    fi
}
run_ort() { # round
    echo "bench/models.sh: round $1: onnxruntime" >&2
    # the reference reads MIEN_MODELS too, with its own layout: point it at its models dir
    (cd "$REF" && MIEN_MODELS="$REF/models" env -u MIEN_MAX_ISA node bin/bench-mien.js --runs "$RUNS" --warmup "$WARMUP" \
        --threads "$THREADS") > "$TMP/ort.$1" || die "onnxruntime bench (build/reference/bin/bench-mien.js) failed"
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $ORT_ONLY = yes ]; then run_ort $r
    elif [ $((r % 2)) -eq 1 ]; then run_mien $r; run_ort $r
    else run_ort $r; run_mien $r
    fi
    r=$((r + 1))
done

node - "$TMP" "$ROUNDS" "$RUNS" "$THREADS" "$ORT_ONLY" <<'EOF'
'use strict';
const fs = require('fs');
const [dir, rounds, runs, threads, ortOnly] = process.argv.slice(2);
const ORDER = ['detector', 'onet', 'pnet', 'rnet', 'embedderA', 'embedderB'];
const isaOf = {}; // model → the level mien's kernels ran at ("isa" of mien bench models --json)
const read = f => { // {model: ms_median} from one round's JSON lines; other lines are ignored
  const out = {};
  if (!fs.existsSync(f)) return out;
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let j; try { j = JSON.parse(line); } catch { continue; }
    if (j.model && typeof j.ms_median === 'number') out[j.model] = j.ms_median;
    if (j.model && typeof j.isa === 'string') isaOf[j.model] = j.isa;
  }
  return out;
};
const median = a => { const s = [...a].sort((x, y) => x - y), n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const R = +rounds, mien = [], ort = [];
for (let r = 1; r <= R; r++) { mien.push(read(`${dir}/mien.${r}`)); ort.push(read(`${dir}/ort.${r}`)); }
const names = [...new Set([...ORDER, ...mien.flatMap(Object.keys), ...ort.flatMap(Object.keys)])]
  .filter(m => mien.some(x => m in x) || ort.some(x => m in x));
const round3 = x => x === null ? null : +x.toFixed(3);
let logSum = 0, nBoth = 0, faster = 0, mienTotal = 0, ortTotal = 0, ortAll = 0; // totals: compared models
for (const model of names) {
  const m = median(mien.filter(x => model in x).map(x => x[model]));
  const o = median(ort.filter(x => model in x).map(x => x[model]));
  const speedup = m !== null && o !== null && m > 0 ? o / m : null;
  if (o !== null) ortAll += o;
  if (speedup !== null) { logSum += Math.log(speedup); nBoth++; faster += speedup > 1; mienTotal += m; ortTotal += o; }
  console.log(JSON.stringify({model, mien_ms: round3(m), ort_ms: round3(o), speedup: speedup === null ? null : +speedup.toFixed(2),
    isa: isaOf[model] ?? null}));
}
const isas = [...new Set(Object.values(isaOf))]; // one level unless the binary disagrees with itself
console.log(JSON.stringify({summary: true, runs: +runs, rounds: R, threads: +threads, models: names.length,
  compared: nBoth, mien_faster: ortOnly === 'yes' ? null : faster,
  geomean_speedup: nBoth ? +Math.exp(logSum / nBoth).toFixed(2) : null,
  mien_total_ms: nBoth ? round3(mienTotal) : null, ort_total_ms: round3(nBoth ? ortTotal : ortAll),
  isa: isas.length ? isas.join(',') : null}));
if (ortOnly !== 'yes') {
  const missing = ORDER.filter(m => !mien.some(x => m in x));
  if (missing.length) console.error(`bench/models.sh: mien printed no figure for: ${missing.join(', ')}`);
}
EOF
