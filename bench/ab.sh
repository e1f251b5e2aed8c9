#!/bin/sh
# bench/ab.sh — two mien binaries against each other, interleaved in one run: did a change
# make the pipeline or the service slower?
#
#   bench/ab.sh OLD NEW [--rounds R] [--folds K] [--only pipeline|serve]
#
# OLD and NEW are `mien` executables (each with its mien_bench_photo beside it, as in a build
# folder). Each round runs bench/pipeline.sh (--folds K, one round, MIEN_BIN set) for OLD then
# NEW, and bench/serve.sh for OLD then NEW (the order flips every round so that neither always
# runs second on a warm or a tired machine). Per figure it prints one JSON line with the
# median over rounds of each binary and new/old:
#   {"figure":"pipeline_ms_per_image","old":…,"new":…,"new_over_old":…,"better":"lower"}
# Figures: pipeline_ms_per_image (bench/pipeline.sh), http_detect_requests_per_s,
# http_detect_p50_ms, http_search_p50_ms, search_stage_mean_ms (bench/serve.sh; SEARCH_COUNT
# and SECONDS_RUN are passed through). Default 3 rounds, 1 fold. Needs what those two need
# (LFW under $MIEN_DATA, wrk, the ONNX Runtime reference for pipeline.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench/ab.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: bench/ab.sh OLD NEW [--rounds R] [--folds K] [--only pipeline|serve]"
OLD=$1 NEW=$2
shift 2
ROUNDS=3 FOLDS=1 ONLY=""
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --folds) FOLDS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done
for b in "$OLD" "$NEW"; do [ -x "$b" ] || die "$b is not an executable"; done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run_one WHICH BIN ROUND: appends "figure value" lines to $TMP/WHICH
run_one() {
    which=$1 bin=$2 round=$3
    if [ "$ONLY" != serve ]; then
        echo "bench/ab.sh: round $round: pipeline, $which ($bin)" >&2
        line=$(MIEN_BIN=$bin "$ROOT/bench/pipeline.sh" --folds "$FOLDS" --rounds 1 | tail -n 1)
        echo "pipeline_ms_per_image $(echo "$line" | sed -n 's/.*"mien_ms_per_image":\([0-9.]*\).*/\1/p')" \
            >>"$TMP/$which"
    fi
    if [ "$ONLY" != pipeline ]; then
        echo "bench/ab.sh: round $round: serve, $which ($bin)" >&2
        "$ROOT/bench/serve.sh" "$bin" >"$TMP/serve.out"
        sed "s/^/bench\/ab.sh: round $round: $which: /" "$TMP/serve.out" >&2
        get() { grep "\"case\":\"$1\"" "$TMP/serve.out" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"; }
        {
            echo "http_detect_requests_per_s $(get http_detect requests_per_s)"
            echo "http_detect_p50_ms $(get http_detect p50_ms)"
            echo "http_search_p50_ms $(get http_search p50_ms)"
            echo "search_stage_mean_ms $(get http_search search_stage_mean_ms)"
        } >>"$TMP/$which"
    fi
}

round=1
while [ "$round" -le "$ROUNDS" ]; do
    if [ $((round % 2)) -eq 1 ]; then
        run_one old "$OLD" "$round"; run_one new "$NEW" "$round"
    else
        run_one new "$NEW" "$round"; run_one old "$OLD" "$round"
    fi
    round=$((round + 1))
done

node - "$TMP" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const read = w => { const m = {}; for (const l of fs.readFileSync(`${dir}/${w}`, 'utf8').trim().split('\n')) {
  const [k, v] = l.split(' '); if (v !== undefined && v !== '') (m[k] = m[k] || []).push(+v); } return m; };
const mid = a => { a = [...a].sort((x, y) => x - y); const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2; };
const o = read('old'), n = read('new');
for (const k of Object.keys(o)) {
  if (!n[k]) continue;
  const a = mid(o[k]), b = mid(n[k]);
  console.log(JSON.stringify({figure: k, old: +a.toFixed(3), new: +b.toFixed(3),
    new_over_old: +(b / a).toFixed(3), better: k.endsWith('_per_s') ? 'higher' : 'lower',
    rounds: o[k].length}));
}
JS
