#!/bin/sh
# tests/pg/test_two_nodes.sh — two `mien serve` nodes on one PostgreSQL database (issue 8's
# acceptance): propagation of 1,000 enrolments from node A to node B's searches (p50/p99
# delay), an erasure on B leaving A's answers, A killed with SIGKILL mid-enrolment and
# restarted (nothing lost, nothing duplicated), PostgreSQL restarted under both nodes (/readyz
# 503, then 200 by itself; changes made meanwhile caught up), and `mien audit verify` against
# each node's signed head (each node joined the log with `mien audit join` first).
# tests/pg/two_nodes.mjs drives it; this script sets up and tears
# down.
#
# Usage: tests/pg/test_two_nodes.sh PATH/TO/mien BUILD_DIR   (from the repository root; CTest's
# "two_nodes" runs it as part of `make test`). Starts a throwaway cluster under
# BUILD_DIR/two-nodes (tests/pg/pg-cluster.sh) and removes it whatever the outcome. Exit 77
# (CTest: skipped, with the reason printed) when PostgreSQL's server binaries, node or the
# models are missing; scripts/setup installs them.
#
# Why the enrolments go through A's HTTP API with a real photo: the acceptance is about a face
# enrolled *through node A*, and B must find it with a real search. A 320×240 photo keeps one
# enrolment or search at about 11 ms of CPU (decode, detect, O-Net, embed), so 1,000 of them
# plus B's searches fit in well under a minute on 2 cores; every face is the same person, and
# B searches with top=1000, so each of B's answers names every face it has caught up with.
# TWO_NODES_FACES and TWO_NODES_KILL_FACES shrink the run for quick checks. There is no fixed
# deadline: two_nodes.mjs fails only when no step completes for a multiple of the time its
# first requests took (at least TWO_NODES_STALL_S, default 60 s), so a slower machine or a
# capped ISA (make test-isa) passes as long as it makes progress.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 PATH/TO/mien BUILD_DIR" >&2; exit 2; }
MIEN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BUILD=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
unset MIEN_STORE MIEN_NOW MIEN_AUDIT_HEAD

if ! PG_BIN=$("$HERE/pg-cluster.sh" bin 2>/dev/null); then
    echo "skip: no PostgreSQL server binaries (initdb, pg_ctl); run scripts/setup"
    exit 77
fi
command -v node >/dev/null 2>&1 || { echo "skip: node is missing; run scripts/setup"; exit 77; }
[ -f "$MIEN_MODELS/samples/sample1.jpg" ] || { echo "skip: no models; run scripts/setup"; exit 77; }

TMP=$BUILD/two-nodes
CLUSTER=$TMP/pg
rm -rf "$TMP"
mkdir -p "$TMP"
cleanup() {
    "$HERE/pg-cluster.sh" stop "$CLUSTER" || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

STORE=$("$HERE/pg-cluster.sh" start "$CLUSTER")
export MIEN_KEY_FILE=$TMP/store.key # the same key file for both nodes (docs/deploy.md)
PHOTO=$TMP/photo.jpg
"$(dirname "$MIEN")/mien_bench_photo" "$MIEN_MODELS/samples/sample1.jpg" "$PHOTO" 320 240
ADMIN_KEY=$("$MIEN" keys create --role admin --label two-nodes --store "$STORE" 2>/dev/null |
    grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
[ -n "$ADMIN_KEY" ] || { echo "cannot create a key" >&2; exit 1; }
# --max-candidates 10000: B's searches (top=1000) must list every face caught up with; the
# default cap (50 per search) would refuse them
"$MIEN" collection create people --store "$STORE" --purpose test \
    --legal-basis "acceptance test on sample photos" --consent not-needed --review none \
    --max-candidates 10000 >/dev/null

# Each node keeps its own signed head (MIEN_AUDIT_HEAD, two_nodes.mjs) and signs only after
# it has joined the shared log: an explicit act, verified and recorded in the chain (a head
# that is simply absent is never taken for a new node: issue 13 item 3).
for node in a b; do
    MIEN_AUDIT_HEAD=$TMP/$node.audit-head "$MIEN" audit join --store "$STORE" >/dev/null
done

MIEN=$MIEN STORE=$STORE TMP=$TMP PHOTO=$PHOTO CLUSTER=$CLUSTER PG_CLUSTER=$HERE/pg-cluster.sh \
    PSQL=$PG_BIN/psql ADMIN_KEY=$ADMIN_KEY node "$HERE/two_nodes.mjs"
