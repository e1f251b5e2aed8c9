#!/bin/sh
# tests/pg/test_mixed_isa.sh — nodes on different CPUs share one store (ISA levels, item 5): an
# AVX-512 node, whose embedders run in bfloat16 (MIEN_PRECISION's default where the CPU has
# AVX512-BF16), and an AVX2 node, whose embedders run in float32, serve one PostgreSQL
# database. Templates enrolled by either must be found by the other's searches, with the
# calibrated thresholds still true (docs/precision.md, "Mixed nodes").
#
# Usage: tests/pg/test_mixed_isa.sh PATH/TO/mien BUILD_DIR   (from the repository root; CTest's
# "mixed_isa" runs it). Both kinds of node are the same `mien` binary on this machine: the
# "high" node as the CPU allows (native ISA, default precision), the "low" node under
# MIEN_MAX_ISA=avx2 (process-wide ISA cap: AVX2 kernels, float32 embedders). For each run
# STORE:PROFILE of MIXED_ISA_RUNS (default "postgres:fast postgres:accurate sqlite:fast"; the
# PostgreSQL store is one throwaway cluster under BUILD_DIR/mixed-isa-PID, tests/pg/pg-cluster.sh,
# the SQLite store a file beside it):
#   - the high node enrols every person into collection hi_PROFILE, the low node into lo_PROFILE;
#   - each person's other photo is searched in both collections by both nodes (--fmr 1: every
#     enrolled person is a candidate, with its similarity);
#   - the enrolled person must be rank 1 every time;
#   - the similarity of each (probe, enrolled face) pair, against the all-float32 one (low node
#     searching lo_PROFILE), must move less than MIXED_ISA_BOUND (default 5e-3, see below);
#   - the decisions at search's default FMR 1e-3 (similarity >= the calibrated threshold, as
#     mien_search applies it) must be the same in all four combinations, for every pair.
# When the high node also runs float32 (no AVX512-BF16 on this CPU; or MIXED_ISA_HIGH=avx512,
# which caps it too, to try that case on a CPU that has bf16) the test says so and checks the
# two ISAs, both float32, only.
#
# The bound: on LFW's pairsDevTest (1000 pairs), bench/precision.sh measured |Δ similarity|
# between bf16 and float32 templates at max 3.8e-3 (fast) and 2.5e-3 (accurate) with both
# sides bf16; with one side bf16 (enrolled on one node, searched on the other)
# bench/mixed_precision.sh measured max 3.0e-3 (fast) and 2.0e-3 (accurate) on the same
# pairs. 5e-3 is above every one of those 1000 pairs, and under a tenth of the gap between
# the thresholds at FMR 1e-3 and 1e-4 (0.086 accurate, 0.091 fast), so a similarity moved by
# more is a fault (a wrong layout, a missed conversion, another model), not rounding.
#
# People: models/samples (scripts/setup): sample1.jpg's face 2 and sample3.jpg's face 1 are one
# person in two photos (cosine 0.77); the most prominent face of each sample photo is enrolled
# as one more person and probed with a half-size copy of its photo (mien_bench_photo: another
# decode, detection and alignment, other pixels). When $MIEN_DATA (default ../shared/data) holds
# galleries/face_recognition_examples, its five people with two photos each are added.
# Runtime: about 30 s of CPU per run, most of it the AVX2 node's float32 engine timing its
# kernels at start-up (0.6 s for each of its 36 commands). Exit 77 (CTest: skipped) when the
# models are missing, and when PostgreSQL's server binaries are missing (after the SQLite
# runs, which go ahead).
set -u

[ $# -eq 2 ] || { echo "usage: $0 PATH/TO/mien BUILD_DIR" >&2; exit 2; }
MIEN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BUILD=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
DATA=${MIEN_DATA:-$ROOT/../shared/data}
LOW=${MIXED_ISA_LOW:-avx2}
HIGH=${MIXED_ISA_HIGH:-}
BOUND=${MIXED_ISA_BOUND:-5e-3}
RUNS=${MIXED_ISA_RUNS:-postgres:fast postgres:accurate sqlite:fast}
# The high node runs as this machine allows by default; what the environment says about ISA
# and precision would make it another node.
# It sets its own ISA levels: under the CI's ISA matrix (make test-isa, MIEN_MAX_ISA set) it
# would only repeat the native run, so it runs there once only.
if [ -n "${MIEN_MAX_ISA:-}" ]; then
    echo "$(basename "$0"): skip: MIEN_MAX_ISA=$MIEN_MAX_ISA (the test sets its own levels; it runs in make test)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
fi
unset MIEN_STORE MIEN_NOW MIEN_AUDIT_HEAD MIEN_KEY_FILE MIEN_MAX_ISA MIEN_PRECISION

SAMPLES=$MIEN_MODELS/samples
[ -f "$SAMPLES/sample6.jpg" ] || { echo "skip: no models or samples; run scripts/setup"; exit 77; }
PHOTO_TOOL=$(dirname "$MIEN")/mien_bench_photo
[ -x "$PHOTO_TOOL" ] || { echo "skip: $PHOTO_TOOL not built"; exit 77; }

TMP=$BUILD/mixed-isa-$$ # per process: two runs side by side do not meet
CLUSTER=$TMP/pg
rm -rf "$TMP"
mkdir -p "$TMP"
cleanup() {
    [ ! -d "$CLUSTER" ] || "$HERE/pg-cluster.sh" stop "$CLUSTER" || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok $*"; }
fail() { failed=$((failed + 1)); echo "  FAILED $*"; }

# node hi|lo ARGS... : `mien ARGS` as the high (native, or MIEN_MAX_ISA=HIGH) or the low
# (MIEN_MAX_ISA=LOW) node
node() {
    if [ "$1" = lo ]; then
        shift
        MIEN_MAX_ISA=$LOW "$MIEN" "$@"
    elif [ -n "$HIGH" ]; then
        shift
        MIEN_MAX_ISA=$HIGH "$MIEN" "$@"
    else
        shift
        "$MIEN" "$@"
    fi
}

# json_field NAME FILE : the value of "NAME" in FILE's first line that has it (the last one on
# that line; a string's quotes removed)
json_field() {
    sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$2" | head -n 1
}

# What each node runs: ISA level and embedder precision (mien bench models --json).
for side in hi lo; do
    if ! node $side bench models --model embedderA --runs 1 --warmup 0 --json \
        >"$TMP/bench-$side.json" 2>"$TMP/err"; then
        echo "cannot run the $side node:" >&2
        cat "$TMP/err" >&2
        exit 1
    fi
done
HI_ISA=$(json_field isa "$TMP/bench-hi.json") HI_PREC=$(json_field precision "$TMP/bench-hi.json")
LO_ISA=$(json_field isa "$TMP/bench-lo.json") LO_PREC=$(json_field precision "$TMP/bench-lo.json")
echo "high node: ISA $HI_ISA (oneDNN $(json_field backend_isa "$TMP/bench-hi.json")),"\
    "embedders $HI_PREC"
echo "low node:  ISA $LO_ISA (oneDNN $(json_field backend_isa "$TMP/bench-lo.json")),"\
    "embedders $LO_PREC (MIEN_MAX_ISA=$LOW)"
if [ "$LO_PREC" = f32 ]; then
    ok "the $LOW node runs float32 embedders"
else
    fail "the $LOW node runs $LO_PREC embedders, want f32"
fi
if [ "$HI_PREC" = f32 ]; then
    echo "NOTE: bf16 is not available here (the high node runs float32: no AVX512-BF16 at"
    echo "      ISA $HI_ISA); only ISA $LOW against $HI_ISA, both float32, is tested"
fi
[ "$HI_ISA" != "$LO_ISA" ] || echo "NOTE: this CPU has nothing above $LO_ISA: both nodes are alike"

# The people: "SUBJECT ENROL_IMAGE ENROL_FACE PROBE_IMAGE PROBE_FACE" (face "-": the most
# prominent one, as `enroll --force` and `search` pick it).
PEOPLE=$TMP/people
echo "pair $SAMPLES/sample1.jpg 2 $SAMPLES/sample3.jpg 1" >"$PEOPLE"
for k in 1 2 3 4 5 6; do
    img=$SAMPLES/sample$k.jpg
    node hi detect "$img" --json >"$TMP/det.json" 2>/dev/null ||
        { echo "cannot detect $img" >&2; exit 1; }
    w=$(json_field width "$TMP/det.json") h=$(json_field height "$TMP/det.json")
    "$PHOTO_TOOL" "$img" "$TMP/half$k.jpg" $((w / 2)) $((h / 2)) ||
        { echo "cannot resize $img" >&2; exit 1; }
    echo "sample$k $img - $TMP/half$k.jpg -" >>"$PEOPLE"
done
GAL=$DATA/galleries/face_recognition_examples/examples/knn_examples
if [ -d "$GAL/train" ]; then
    cat >>"$PEOPLE" <<EOF
kit_harington $GAL/train/kit_harington/john1.jpeg - $GAL/train/kit_harington/john2.jpeg -
rose_leslie $GAL/train/rose_leslie/img1.jpg - $GAL/train/rose_leslie/img2.jpg -
obama $GAL/train/obama/obama.jpg - $GAL/train/obama/obama2.jpg -
biden $GAL/train/biden/biden.jpg - $GAL/train/biden/biden2.jpg -
alex_lacamoire $GAL/train/alex_lacamoire/img1.jpg - $GAL/test/alex_lacamoire1.jpg -
EOF
else
    echo "  note: no $GAL (MIEN_DATA): the sample photos only"
fi
echo "$(wc -l <"$PEOPLE") people, each enrolled from one photo and searched with another"

# threshold PROFILE : the calibrated threshold search applies at its default FMR 1e-3 (read
# with `mien compare`, which prints it: the calibration table is compiled in, the same on
# every node)
threshold() {
    node lo compare "$SAMPLES/sample1.jpg" "$SAMPLES/sample2.jpg" --profile "$1" --fmr 1e-3 \
        --json 2>/dev/null >"$TMP/cmp.json"
    json_field threshold "$TMP/cmp.json"
}

CANDIDATE='^"rank":[0-9]*,"subject":"\([^"]*\)","similarity":\([-0-9.]*\),.*'

# run_store KIND STORE PROFILE : the whole check on one store, for one profile
run_store() {
    kind=$1 store=$2 prof=$3
    echo "== $kind, profile $prof"
    res=$TMP/res-$kind-$prof
    : >"$res"
    for side in hi lo; do
        # --max-fmr 1 --max-candidates 100: the searches below list every enrolled person
        # (--fmr 1 --top 100), beyond the default caps (1e-2, 50)
        if ! node $side collection create "${side}_$prof" --profile "$prof" --store "$store" \
            --purpose test --legal-basis "acceptance test on sample photos" \
            --consent not-needed --review none --max-fmr 1 --max-candidates 100 \
            >/dev/null 2>"$TMP/err"; then
            fail "$kind: collection ${side}_$prof"
            sed 's/^/    /' "$TMP/err"
            return
        fi
        while read -r subj img face probe pface; do
            if [ "$face" = - ]; then pick=--force; else pick="--face $face"; fi
            # shellcheck disable=SC2086 # $pick is one or two words
            node $side enroll "${side}_$prof" --subject "$subj" $pick "$img" \
                --store "$store" </dev/null >/dev/null 2>"$TMP/err" ||
                { fail "$kind: $side node enrols $subj"; sed 's/^/    /' "$TMP/err"; }
        done <"$PEOPLE"
    done
    node lo collection info "lo_$prof" --store "$store" --json >"$TMP/info-lo" 2>/dev/null
    node hi collection info "hi_$prof" --store "$store" --json >"$TMP/info-hi" 2>/dev/null
    if [ "$(json_field model_a "$TMP/info-hi")/$(json_field model_b "$TMP/info-hi")" = \
        "$(json_field model_a "$TMP/info-lo")/$(json_field model_b "$TMP/info-lo")" ]; then
        ok "$kind $prof: both collections carry the same model ids"
    else
        fail "$kind $prof: the collections carry different model ids"
    fi
    # every probe: both collections, both nodes; lines "GALLERY NODE PROBE CANDIDATE SIM"
    while read -r subj img face probe pface; do
        if [ "$pface" = - ]; then pick=; else pick="--face $pface"; fi
        for g in hi lo; do
            for s in hi lo; do
                # shellcheck disable=SC2086
                if ! node $s search "${g}_$prof" "$probe" $pick --purpose test \
                    --case-ref mixed --fmr 1 --top 100 --json --store "$store" \
                    </dev/null >"$TMP/out" 2>"$TMP/err"; then
                    fail "$kind $prof: $s node searching ${g}_$prof for $subj"
                    sed 's/^/    /' "$TMP/err"
                    continue
                fi
                # one candidate per line: "rank":R,"subject":"S","similarity":X,...
                tr '{' '\n' <"$TMP/out" | sed -n "s/$CANDIDATE/$g $s $subj \1 \2/p" >>"$res"
            done
        done
    done <"$PEOPLE"
    check_results "$kind $prof" "$res" "$(threshold "$prof")"
}

# check_results LABEL FILE THRESHOLD : rank 1, |Δ similarity| and decisions at THRESHOLD from
# run_store's file
check_results() {
    label=$1 res=$2
    # rank 1: the first candidate of each search is the probe's own subject
    wrong=$(awk '!seen[$1 " " $2 " " $3]++ && $3 != $4 {print $1 "/" $2 ": " $3 " -> " $4}' "$res")
    n=$(awk '!seen[$1 " " $2 " " $3]++' "$res" | wc -l)
    want=$(($(wc -l <"$PEOPLE") * 4))
    if [ -z "$wrong" ] && [ "$n" -eq "$want" ]; then
        ok "$label: the right person at rank 1 in all $n searches" \
            "(each person enrolled on either node, searched from either)"
    else
        fail "$label: rank 1 wrong or missing ($n of $want searches):"
        echo "$wrong" | sed 's/^/    /'
    fi
    # |Δ similarity| of each (probe, enrolled subject) pair against the all-float32 one
    if awk -v bound="$BOUND" -v hi="$HI_PREC" '
        { sim[$1 " " $2 " " $3 " " $4] = $5; pair[$3 " " $4] = 1 }
        END {
            split("hi lo|lo hi|hi hi", combos, "|")
            for (p in pair) {
                base = "lo lo " p
                if (!(base in sim)) { missing++; continue }
                for (c = 1; c <= 3; c++) {
                    k = combos[c] " " p
                    if (!(k in sim)) { missing++; continue }
                    d = sim[k] - sim[base]; if (d < 0) d = -d
                    kind = c < 3 ? "cross" : "pure"
                    n[kind]++; sum[kind] += d
                    if (d > max[kind]) { max[kind] = d; at[kind] = p }
                    if (d >= bound) {
                        bad++
                        print "    " combos[c] " " p ": " sim[k] " vs " sim[base]
                    }
                }
            }
            printf "  |d sim| %s x f32 (one node enrolled, the other searched): mean %.2g," \
                " max %.2g (%s), %d pairs\n", hi, n["cross"] ? sum["cross"] / n["cross"] : 0,
                max["cross"], at["cross"], n["cross"]
            printf "  |d sim| %s x %s against f32 x f32 (one node alone): mean %.2g," \
                " max %.2g, %d pairs\n", hi, hi, n["pure"] ? sum["pure"] / n["pure"] : 0,
                max["pure"], n["pure"]
            if (hi != "f32" && max["cross"] < 1e-5) {
                print "    the nodes give the same similarities: is MIEN_MAX_ISA ignored?"
                bad++
            }
            exit (bad > 0 || missing > 0 || n["cross"] == 0) ? 1 : 0
        }' "$res"; then
        ok "$label: every similarity within $BOUND of the float32 one"
    else
        fail "$label: similarities moved by $BOUND or more (or are missing)"
    fi
    # decisions at search's default FMR (1e-3): a candidate is accepted when its similarity is
    # at least the threshold (what mien_search does with max_fmr); the same in all four
    # combinations, for every (probe, enrolled subject) pair
    if awk -v t="$3" -v bound="$BOUND" '
        { k = $3 " " $4; acc = ($5 >= t); pair[k] = 1
          if ($1 == "lo" && $2 == "lo") base[k] = acc; else other[$1 " " $2 " " k] = acc
          m = $5 - t; if (m < 0) m = -m
          if (!(nearest != "") || m < near) { near = m; nearest = $1 " " $2 " " k " " $5 } }
        END {
            for (k in pair) {
                split(k, f, " ")
                if (base[k] && f[1] == f[2]) own++
                if (base[k] && f[1] != f[2]) { imp++; imps = imps " " f[1] "->" f[2] }
                for (c in other) if (substr(c, 7) == k && other[c] != base[k]) {
                    bad++; print "    " c ": accepted " other[c] ", all-float32 " base[k] }
            }
            printf "  at FMR 1e-3 (threshold %s): %d probes accept their own person, %d other" \
                " pairs accepted%s\n", t, own, imp, imp ? " (" substr(imps, 2) ")" : ""
            printf "  closest to the threshold: %s (%.2g away)%s\n", nearest, near,
                near < bound ? ": closer than the bound, the decisions agreeing is luck" : ""
            exit bad > 0
        }' "$res"; then
        ok "$label: the same decisions at FMR 1e-3 in all four combinations"
    else
        fail "$label: decisions at FMR 1e-3 differ between the nodes"
    fi
}

pg_missing=0 pg_uri=
for run in $RUNS; do
    kind=${run%%:*} prof=${run#*:}
    case $prof in fast | accurate) ;; *)
        echo "bad run '$run' in MIXED_ISA_RUNS (STORE:PROFILE, profile fast or accurate)" >&2
        exit 2 ;;
    esac
    case $kind in
    sqlite)
        run_store sqlite "sqlite:$TMP/mixed.db" "$prof"
        ;;
    postgres)
        if [ -z "$pg_uri" ] && [ "$pg_missing" = 0 ]; then
            if ! "$HERE/pg-cluster.sh" bin >/dev/null 2>&1; then
                echo "skip: no PostgreSQL server binaries (initdb, pg_ctl); run scripts/setup"
                pg_missing=1
            elif pg_uri=$("$HERE/pg-cluster.sh" start "$CLUSTER"); then
                echo "PostgreSQL: $pg_uri"
            else
                fail "cannot start PostgreSQL"
                pg_missing=2
            fi
        fi
        [ -n "$pg_uri" ] || continue
        # the same key file on both nodes (docs/deploy.md); SQLite keeps its own beside the file
        MIEN_KEY_FILE=$TMP/pg.key
        export MIEN_KEY_FILE
        run_store postgres "$pg_uri" "$prof"
        unset MIEN_KEY_FILE
        ;;
    *)
        echo "bad run '$run' in MIXED_ISA_RUNS (store postgres or sqlite)" >&2
        exit 2
        ;;
    esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$pg_missing" -ne 1 ] || exit 77
exit 0
