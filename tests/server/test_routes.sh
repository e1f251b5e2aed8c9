#!/bin/sh
# tests/server/test_routes.sh — route coverage: openapi.yaml and `mien serve` must agree.
#
# Usage: tests/server/test_routes.sh PATH-TO-MIEN   (run from the repository root; ctest does)
#
# Reads every "METHOD PATH" of openapi.yaml's `paths:` with awk (each path at two spaces of
# indent, each method at four: the file's stated layout) and compares the set with what
# `mien serve --print-routes` prints (one "METHOD PATTERN" line per served route). Every
# served route must be documented and every documented route served; one check per route.
# Path parameters are compared by position, not name ({c} and {collection} are the same
# route: the name is not visible over HTTP). When the binary has no --print-routes (exit
# status not 0) the test is skipped (exit 0). Ends with "N passed, N failed"; exit 1 on a
# failure.
set -u

MIEN=${1:?usage: test_routes.sh PATH-TO-MIEN}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SPEC=$ROOT/openapi.yaml
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-routes.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# "METHOD PATH" per line, parameters renamed to {} for the comparison.
norm() { sed -e 's/{[^}]*}/{}/g' | LC_ALL=C sort -u; }

awk '
    /^paths:[[:space:]]*$/ { inp = 1; next }
    inp && /^[^[:space:]#]/ { inp = 0 }
    !inp { next }
    /^  [^[:space:]#]/ {
        path = $1
        sub(/:$/, "", path)
        gsub(/["\047]/, "", path)
        next
    }
    /^    (get|put|post|delete|patch|head|options|trace):/ {
        m = $1
        sub(/:.*/, "", m)
        print toupper(m), path
    }
' "$SPEC" > "$TMP/spec.raw"
norm < "$TMP/spec.raw" > "$TMP/spec"
if [ -s "$TMP/spec" ]; then
    ok
else
    bad "no routes read from $SPEC"
fi

if ! "$MIEN" serve --print-routes > "$TMP/served.out" 2> "$TMP/served.err"; then
    echo "skip: mien serve --print-routes not available"
    echo "0 passed, 0 failed (skipped)"
    exit 0
fi
grep -E '^[A-Z]+ /' "$TMP/served.out" | awk '{ print $1, $2 }' > "$TMP/served.raw"
norm < "$TMP/served.raw" > "$TMP/served"
if [ -s "$TMP/served" ]; then
    ok
else
    bad "mien serve --print-routes printed no \"METHOD /PATTERN\" line"
fi

# The original spellings, for the messages.
orig() { # normalised-line raw-file
    while read -r m p; do
        [ "$m $(echo "$p" | sed -e 's/{[^}]*}/{}/g')" = "$1" ] && { echo "$m $p"; return; }
    done < "$2"
    echo "$1"
}

LC_ALL=C comm -23 "$TMP/served" "$TMP/spec" > "$TMP/undocumented"
LC_ALL=C comm -13 "$TMP/served" "$TMP/spec" > "$TMP/unserved"
LC_ALL=C comm -12 "$TMP/served" "$TMP/spec" > "$TMP/both"
while read -r line; do ok; done < "$TMP/both"
while read -r line; do
    bad "served but not in openapi.yaml: $(orig "$line" "$TMP/served.raw")"
done < "$TMP/undocumented"
while read -r line; do
    bad "in openapi.yaml but not served: $(orig "$line" "$TMP/spec.raw")"
done < "$TMP/unserved"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
