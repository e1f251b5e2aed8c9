#!/bin/sh
# bench/scale.sh — search throughput with one `mien serve` node against two, on the same
# PostgreSQL database and the same collection of SCALE_FACES (default 100 000) synthetic faces
# (issue 8: "search throughput with one node vs two nodes on the same 100 k-face collection
# (loopback, bounded time): report both and the ratio"). Loopback only, about 2 minutes.
#
#   1. A throwaway cluster (tests/pg/pg-cluster.sh, under the build folder; PostgreSQL's
#      durable defaults unless PG_DURABLE=0), a key file, an admin key, collection "big" filled
#      with `mien collection import-synthetic` (benchmarks only; timed).
#   2. One node, --workers 2: one warm-up search (it loads the index: the load is timed), then
#      wrk, 4 connections for SECONDS_RUN (default 15) s, POST /v1/collections/big/search with
#      the 640×480 photo of bench/serve.sh and the purpose and case reference the collection
#      needs. Then the same with --workers 4, the workers two nodes have together.
#   3. Two nodes, --workers 2 each (the same configuration on every node, as a deployment runs
#      them), each warmed up, then two wrk at once, 2 connections each (4 in all, as before).
#   4. JSON lines: each run's requests/s, p50/p99, the CPU time per search of the nodes and of
#      PostgreSQL (/proc/PID/stat of those processes only), the share of the whole machine's CPU
#      time that was busy (every process: on a shared machine others' work shows too), and the
#      ratios two nodes / one node (2 workers) and two nodes / one node (4 workers).
#
# Why the ratio cannot reach 2 here: every search is CPU work (JPEG decode, detection, O-Net,
# the embedder, the scan of the index: about 12 ms of one core in the node at this photo size,
# and about 1 ms in PostgreSQL for the audit commit; the JSON lines measure both), so 2 cores
# serve at most about 150 searches/s. One node with 2 workers already keeps both cores busy
# (docs/deploy.md has a run); a second node on the same machine adds workers but no cores,
# and both nodes, the database and wrk share those 2 cores. What a second node buys is a second
# machine's cores; this run shows that two nodes sharing one database do not lose throughput to
# each other (the store's write lock, taken by each search's audit commit, is held for one short
# transaction: docs/deploy.md works out its share). Usage: bench/scale.sh [PATH/TO/mien]
# (default build/mien). Needs wrk and the PostgreSQL server binaries (scripts/setup).
set -eu
MIEN=${1:-build/mien}
MIEN=$(cd "$(dirname "$MIEN")" && pwd)/$(basename "$MIEN")
BUILD=$(dirname "$MIEN")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export PG_DURABLE=${PG_DURABLE:-1}
unset MIEN_STORE MIEN_NOW MIEN_AUDIT_HEAD
SECONDS_RUN=${SECONDS_RUN:-15}
SCALE_FACES=${SCALE_FACES:-100000}
command -v wrk >/dev/null 2>&1 || { echo "bench/scale.sh: wrk is missing (scripts/setup)" >&2; exit 1; }
"$ROOT/tests/pg/pg-cluster.sh" bin >/dev/null ||
    { echo "bench/scale.sh: no PostgreSQL server binaries (scripts/setup)" >&2; exit 1; }

TMP=$BUILD/scale
rm -rf "$TMP"
mkdir -p "$TMP"
PIDS=""
stop_nodes() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $PIDS; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=""
}
cleanup() {
    stop_nodes
    "$ROOT/tests/pg/pg-cluster.sh" stop "$TMP/pg" || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

STORE=$("$ROOT/tests/pg/pg-cluster.sh" start "$TMP/pg")
export MIEN_KEY_FILE=$TMP/store.key
PHOTO=$TMP/photo.jpg
"$BUILD/mien_bench_photo" "$MIEN_MODELS/samples/sample1.jpg" "$PHOTO" 640 480
KEY=$("$MIEN" keys create --role admin --store "$STORE" 2>/dev/null | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
"$MIEN" collection create big --store "$STORE" --purpose evaluation \
    --legal-basis "benchmark on synthetic templates (no person)" --consent not-needed \
    --review none >/dev/null
t0=$(date +%s.%N)
imp=$("$MIEN" collection import-synthetic big --count "$SCALE_FACES" --store "$STORE")
t1=$(date +%s.%N)
echo "{\"case\":\"scale_import\",\"faces\":$SCALE_FACES,\"seconds\":$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}'),\"durable\":$PG_DURABLE,\"import\":$imp}"
cat >"$TMP/search.lua" <<LUA
wrk.method = "POST"
local f = assert(io.open("$PHOTO", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
SEARCH=/v1/collections/big/search?purpose=evaluation\&case_ref=bench

# node NAME WORKERS : starts one node (its own audit head); sets URL (not in a subshell: PIDS
# must keep the process id for stop_nodes)
node() {
    MIEN_AUDIT_HEAD=$TMP/$1.audit-head "$MIEN" serve --listen 127.0.0.1:0 --store "$STORE" \
        --workers "$2" >"$TMP/$1.log" 2>&1 &
    PIDS="$PIDS $!"
    url=""
    for _ in $(seq 1 200); do
        url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/$1.log" | head -n 1 || true)
        [ -n "$url" ] && break
        sleep 0.05
    done
    [ -n "$url" ] || { cat "$TMP/$1.log" >&2; exit 1; }
    URL=$url
}
# warm URL : the first search loads the collection's index; prints the seconds it took
warm() {
    curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: image/jpeg' --data-binary "@$PHOTO" "$1$SEARCH"
}
ms() { # "12.34ms" / "850.00us" / "1.20s" → milliseconds
    echo "$1" | awk '/us$/ {sub("us",""); print $0/1000; next} /ms$/ {sub("ms",""); print $0+0; next}
                     /s$/ {sub("s",""); print $0*1000; next} {print $0+0}'
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# cpu_ticks : "busy total" jiffies of all cores so far (/proc/stat; idle and iowait are idle)
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# busy BEFORE AFTER : the share of the machine's CPU time that was busy in between
busy() { echo "$1 $2" | awk '{printf "%.2f", ($4 > $2 ? ($3 - $1) / ($4 - $2) : 0)}'; }
# proc_ticks PID... : user + system jiffies of these processes so far (0 for one that is gone)
proc_ticks() {
    t=0
    for p in "$@"; do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
# pg_pids : the cluster's postmaster and its children (backends of the nodes' connections)
pg_pids() {
    pm=$(head -n 1 "$TMP/pg/data/postmaster.pid")
    echo "$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
}
HZ=$(getconf CLK_TCK)
# per_search TICKS REQUESTS : milliseconds of CPU per search
per_search() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN {printf "%.1f", (n > 0 ? t * 1000 / hz / n : 0)}'; }
requests() { awk '/requests in/ {print $1}' "$1"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF}' "$1" | grep . || echo 0; }
pct() { ms "$(awk -v p="$2" '$1==p {print $2}' "$1")"; }

# one_node WORKERS CASE : one node alone, warmed up, under wrk; prints a JSON line, sets RPS
one_node() {
    node one "$1"
    load=$(warm "$URL")
    pgp=$(pg_pids)
    c0=$(cpu_ticks)
    n0=$(proc_ticks $PIDS)
    p0=$(proc_ticks $pgp)
    wrk -t2 -c4 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/search.lua" "$URL$SEARCH" \
        >"$TMP/wrk1"
    n1=$(proc_ticks $PIDS)
    p1=$(proc_ticks $pgp)
    c1=$(cpu_ticks)
    RPS=$(rps "$TMP/wrk1")
    n=$(requests "$TMP/wrk1")
    echo "{\"case\":\"$2\",\"faces\":$SCALE_FACES,\"workers\":$1,\"connections\":4,\"requests_per_s\":$RPS,\"p50_ms\":$(pct "$TMP/wrk1" 50%),\"p99_ms\":$(pct "$TMP/wrk1" 99%),\"non_2xx\":$(non2xx "$TMP/wrk1"),\"node_cpu_ms_per_search\":$(per_search $((n1 - n0)) "$n"),\"postgres_cpu_ms_per_search\":$(per_search $((p1 - p0)) "$n"),\"machine_cpu_busy\":$(busy "$c0" "$c1"),\"first_search_s\":$load}"
    stop_nodes
}

# 2. one node, 2 workers; then, to tell "more nodes" from "more workers", one node with as
#    many workers as the two nodes have together
one_node 2 scale_one_node
one=$RPS
one_node 4 scale_one_node_4_workers
four=$RPS

# 3. two nodes, 2 workers each
node a 2
A=$URL
load_a=$(warm "$A")
node b 2
B=$URL
load_b=$(warm "$B")
warm "$A" >/dev/null
pgp=$(pg_pids)
c0=$(cpu_ticks)
n0=$(proc_ticks $PIDS)
p0=$(proc_ticks $pgp)
wrk -t1 -c2 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/search.lua" "$A$SEARCH" >"$TMP/wrk2a" &
wa=$!
wrk -t1 -c2 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/search.lua" "$B$SEARCH" >"$TMP/wrk2b"
wait "$wa"
n1=$(proc_ticks $PIDS)
p1=$(proc_ticks $pgp)
c1=$(cpu_ticks)
n=$(( $(requests "$TMP/wrk2a") + $(requests "$TMP/wrk2b") ))
ra=$(rps "$TMP/wrk2a")
rb=$(rps "$TMP/wrk2b")
two=$(awk -v a="$ra" -v b="$rb" 'BEGIN {printf "%.2f", a + b}')
ratio=$(awk -v a="$two" -v b="$one" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
echo "{\"case\":\"scale_two_nodes\",\"faces\":$SCALE_FACES,\"workers_per_node\":2,\"connections\":4,\"requests_per_s\":$two,\"node_a\":{\"requests_per_s\":$ra,\"first_search_s\":$load_a,\"p50_ms\":$(pct "$TMP/wrk2a" 50%),\"p99_ms\":$(pct "$TMP/wrk2a" 99%),\"non_2xx\":$(non2xx "$TMP/wrk2a")},\"node_b\":{\"requests_per_s\":$rb,\"p50_ms\":$(pct "$TMP/wrk2b" 50%),\"p99_ms\":$(pct "$TMP/wrk2b" 99%),\"non_2xx\":$(non2xx "$TMP/wrk2b"),\"first_search_s\":$load_b},\"node_cpu_ms_per_search\":$(per_search $((n1 - n0)) "$n"),\"postgres_cpu_ms_per_search\":$(per_search $((p1 - p0)) "$n"),\"machine_cpu_busy\":$(busy "$c0" "$c1")}"
ratio4=$(awk -v a="$two" -v b="$four" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
echo "{\"case\":\"scale_ratio\",\"two_over_one\":$ratio,\"two_over_one_4_workers\":$ratio4,\"cores\":$(nproc),\"why\":\"both nodes, PostgreSQL and wrk share this machine's cores; one node with 2 workers already uses them all\"}"
