#!/bin/sh
# bench/serve.sh — `mien serve` under load, on loopback only, bounded in time (~2-3 min).
#   1. throughput: POST /v1/detect with one 640×480 photo (sample1.jpg resized, made here,
#      not committed) at --workers 2, against the same decode + detect run in-process on 2
#      threads (`mien serve --selftest-throughput`); the ratio must be >= 0.9; p50/p99.
#   2. overload: 16 connections against 2 workers and a queue of 2: 503s (with Retry-After),
#      no crash, the server's peak RSS (VmHWM).
#   3. search: a collection of SEARCH_COUNT (default 100 000) synthetic faces
#      (`mien collection import-synthetic`, for benchmarks only); POST .../search p50/p99 over
#      HTTP (detect + embed + search), and the search stage alone from /metrics.
# Prints JSON lines. Usage: bench/serve.sh [PATH/TO/mien] (default build/mien). Needs wrk.
set -eu
MIEN=${1:-build/mien}
export MIEN_MODELS=${MIEN_MODELS:-$(pwd)/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
SECONDS_RUN=${SECONDS_RUN:-10}
SEARCH_COUNT=${SEARCH_COUNT:-100000}
command -v wrk >/dev/null 2>&1 || { echo "bench/serve.sh: wrk is missing (scripts/setup)" >&2; exit 1; }
TMP=$(mktemp -d)
PID=""
stop() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
}
trap 'stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# The photo: 640×480 from sample1.jpg, made by mien_bench_photo (bench/photo_resize.c).
PHOTO=$TMP/photo.jpg
"$(dirname "$MIEN")/mien_bench_photo" "$MIEN_MODELS/samples/sample1.jpg" "$PHOTO" 640 480
SIZE=640x480
STORE=sqlite:$TMP/store.db
KEY=$("$MIEN" keys create --role admin --store "$STORE" 2>/dev/null | grep -o 'mien_[A-Za-z0-9_-]*' | head -n 1)
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
local f = assert(io.open("$PHOTO", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA

start() { # ARGS... : sets PID and URL
    "$MIEN" serve --listen 127.0.0.1:0 --store "$STORE" "$@" >"$TMP/log" 2>&1 &
    PID=$!
    URL=""
    for _ in $(seq 1 100); do
        URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/log" | head -n 1 || true)
        [ -n "$URL" ] && break
        sleep 0.1
    done
    [ -n "$URL" ] || { cat "$TMP/log" >&2; exit 1; }
}

# wrk_json CASE FILE : the wrk --latency report as one JSON object's fields
ms() { # "12.34ms" / "850.00us" / "1.20s" → milliseconds
    echo "$1" | awk '/us$/ {sub("us",""); print $0/1000; next} /ms$/ {sub("ms",""); print $0+0; next}
                     /s$/ {sub("s",""); print $0*1000; next} {print $0+0}'
}
wrk_fields() {
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$1")
    p50=$(ms "$(awk '$1=="50%" {print $2}' "$1")")
    p99=$(ms "$(awk '$1=="99%" {print $2}' "$1")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$1")
    total=$(awk '/requests in/ {print $1}' "$1")
    errors=$(awk '/Socket errors:/ {gsub(",",""); print $4+$6+$8+$10}' "$1")
    printf '"requests":%s,"requests_per_s":%s,"p50_ms":%s,"p99_ms":%s,"non_2xx":%s,"socket_errors":%s' \
        "${total:-0}" "${rps:-0}" "${p50:-0}" "${p99:-0}" "${non2xx:-0}" "${errors:-0}"
}
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# 1. throughput
inproc=$("$MIEN" serve --selftest-throughput "$PHOTO" --workers 2 --seconds "$SECONDS_RUN")
echo "$inproc"
ips=$(echo "$inproc" | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/')
start --workers 2
curl -s -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: image/jpeg' \
    --data-binary "@$PHOTO" "$URL/v1/detect" # warm-up: plans each worker's shapes
curl -s -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: image/jpeg' \
    --data-binary "@$PHOTO" "$URL/v1/detect"
wrk -t2 -c4 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/post.lua" "$URL/v1/detect" >"$TMP/wrk1"
fields=$(wrk_fields "$TMP/wrk1")
rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk1")
ratio=$(awk -v a="$rps" -v b="$ips" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
pass=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.9) ? "true" : "false"}')
echo "{\"case\":\"http_detect\",\"photo\":\"$SIZE\",\"workers\":2,\"connections\":4,$fields,\"in_process_images_per_s\":$ips,\"ratio\":$ratio,\"ratio_ok\":$pass,\"peak_rss_kib\":$(hwm "$PID")}"
stop

# 2. overload: 4× what the pool holds (2 running + 2 queued) → 503 + Retry-After
start --workers 2 --queue 2
wrk -t2 -c16 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/post.lua" "$URL/v1/detect" >"$TMP/wrk2"
fields=$(wrk_fields "$TMP/wrk2")
alive=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
echo "{\"case\":\"http_detect_overload\",\"workers\":2,\"queue\":2,\"connections\":16,$fields,\"healthz_after\":$alive,\"peak_rss_kib\":$(hwm "$PID")}"
stop

# 3. search over a big synthetic collection
"$MIEN" collection create big --store "$STORE" --purpose evaluation \
    --legal-basis "benchmark on synthetic templates (no person)" --consent not-needed \
    --review none >/dev/null
imp=$("$MIEN" collection import-synthetic big --count "$SEARCH_COUNT" --store "$STORE")
echo "$imp"
start --workers 2
sed -e 's#^wrk.method.*#wrk.method = "POST"#' "$TMP/post.lua" >"$TMP/search.lua"
curl -s -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: image/jpeg' \
    --data-binary "@$PHOTO" "$URL/v1/collections/big/search?purpose=evaluation&case_ref=bench" # loads the index
wrk -t1 -c2 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$TMP/search.lua" \
    "$URL/v1/collections/big/search?purpose=evaluation&case_ref=bench" >"$TMP/wrk3"
fields=$(wrk_fields "$TMP/wrk3")
curl -s -H "Authorization: Bearer $KEY" "$URL/metrics" >"$TMP/metrics"
stage=$(awk '/^mien_inference_seconds_sum\{stage="search"\}/ {s=$2} /^mien_inference_seconds_count\{stage="search"\}/ {c=$2}
             END {printf "%.3f", (c > 0 ? s / c * 1000 : 0)}' "$TMP/metrics")
echo "{\"case\":\"http_search\",\"faces\":$SEARCH_COUNT,\"connections\":2,$fields,\"search_stage_mean_ms\":$stage,\"peak_rss_kib\":$(hwm "$PID")}"
stop
