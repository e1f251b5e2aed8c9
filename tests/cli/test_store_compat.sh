#!/bin/sh
# test_store_compat.sh — a store written by an earlier mien opens, reads and verifies under this
# one: the on-disk format (schema, sealed templates and crops, audit chain, signed head, API
# key rows) is a promise to the people who run mien, and a refactoring must not break it.
#
# tests/fixtures/store-0.1/ is an SQLite store made by mien 0.1.0 as it was before the store
# layer moved to src/store (commit 0407914; the commands are in tests/fixtures/README.md):
# collection "people" (review one, consent not needed), alice (sample1.jpg, face 1) and bob
# (sample3.jpg, face 0) enrolled with their crops, one search, one `enrol` key; the clock was
# MIEN_NOW=1796000000. This test works on a copy: it verifies the audit log, lists the
# subjects, finds alice again from her photo (her sealed template opens and matches), lists
# the key, erases bob, verifies the grown log, and copies the store with `mien migrate`
# (every template and crop opened and re-sealed under a new key file).
# Usage: tests/cli/test_store_compat.sh PATH/TO/mien (from the repository root). Ends with
# "N passed, N failed".
set -u
MIEN=${1:?usage: test_store_compat.sh PATH/TO/mien}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MIEN_MODELS=${MIEN_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export MIEN_NOW=1796000100 # just after the fixture was made: alice and bob have not expired
unset MIEN_STORE MIEN_KEY_FILE MIEN_AUDIT_HEAD
PHOTO=$MIEN_MODELS/samples/sample1.jpg
[ -f "$PHOTO" ] || { echo "test_store_compat.sh: skip: no $PHOTO (run scripts/setup)"; \
    echo "0 passed, 0 failed, 1 skipped"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mien-compat.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok $1"; }
bad() { failed=$((failed + 1)); echo "  FAILED $1"; sed 's/^/    /' "$TMP/out" | head -5; }
check() { # name command...: passes when the command exits 0
    name=$1; shift
    if "$@" >"$TMP/out" 2>&1; then ok "$name"; else bad "$name"; fi
}
has() { grep -q -- "$1" "$TMP/out"; }

# A copy whose chain was tampered with first (the search's purpose edited, with the file's own
# trigger out of the way): the rows are not tagged, so nothing reads until it is restored.
mkdir "$TMP/broken"
cp "$ROOT"/tests/fixtures/store-0.1/store.db* "$TMP/broken/"
chmod 600 "$TMP"/broken/store.db.key "$TMP"/broken/store.db.audit-head
sqlite3 "$TMP/broken/store.db" "DROP TRIGGER audit_no_update;
    UPDATE audit SET purpose = 'curiosity' WHERE seq = 4;" \
    >"$TMP/out" 2>&1 || bad "tamper with the broken copy"
if "$MIEN" subjects people --store "sqlite:$TMP/broken/store.db" >"$TMP/out" 2>&1; then
    bad "a broken chain is not tagged"
else
    has "audit chain does not verify" && ok "a broken chain is not tagged" ||
        bad "a broken chain is not tagged"
fi
[ "$(sqlite3 "$TMP/broken/store.db" 'SELECT count(*) FROM subjects WHERE mac IS NOT NULL')" = 0 ] \
    && ok "no row tagged" || bad "no row tagged"

cp "$ROOT"/tests/fixtures/store-0.1/store.db* "$TMP/"
chmod 600 "$TMP"/store.db.key "$TMP"/store.db.audit-head
ST=sqlite:$TMP/store.db

check "audit verify" "$MIEN" audit verify --store "$ST"
has "tagged 5 rows" && ok "the 0.1 rows tagged at the first open" || bad "the 0.1 rows tagged"
has "intact: 6 entries" && ok "5 entries and the tagging, signed head" ||
    bad "5 entries and the tagging, signed head"
check "audit export" "$MIEN" audit export --store "$ST"
has '"seq":6,.*"action":"store.tag",.*"schema_version":4' && ok "the tagging recorded" ||
    bad "the tagging recorded"
check "tagged once" "$MIEN" audit verify --store "$ST"
has "intact: 6 entries" && ! has "tagged" && ok "tagged once" || bad "tagged once"
check "subjects" "$MIEN" subjects people --store "$ST"
has "^alice " && has "^bob " && has "2 subjects" && ok "alice and bob listed" || bad "alice and bob listed"
check "search" "$MIEN" search people "$PHOTO" --purpose investigation --case-ref compat \
    --store "$ST" --json
# alice's sealed template opened and matched her photo (same models; precision and ISA may
# differ from the fixture's, so a similarity near 1 rather than exactly 1)
if node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")
    .find(l => l.startsWith("{")));
  const c = r.candidates[0];
  process.exit(c && c.subject === "alice" && c.similarity > 0.95 ? 0 : 1);' "$TMP/out" 2>/dev/null
then ok "alice found at rank 1"; else bad "alice found at rank 1"; fi
check "collection info" "$MIEN" collection info people --store "$ST"
has "at most 50 candidates, at FMR <= 0.01" && ok "the 0.1 collection gets the default caps" ||
    bad "the 0.1 collection gets the default caps"
check "search over the default cap" sh -c '! "$@"' sh "$MIEN" search people "$PHOTO" \
    --purpose investigation --case-ref compat --top 51 --store "$ST"
has "at most 50 candidates" && ok "refused: more than 50 candidates" ||
    bad "refused: more than 50 candidates"
check "keys list" "$MIEN" keys list --store "$ST"
has " enrol " && has "fixture" && ok "the 0.1 key row reads" || bad "the 0.1 key row reads"
check "erase bob" "$MIEN" erase people --subject bob --store "$ST" --json
has '"faces_deleted":1' && has '"crops_deleted":1' && ok "bob's face and crop erased" ||
    bad "bob's face and crop erased"
check "audit verify after" "$MIEN" audit verify --store "$ST"
# + the tagging, subjects.list, search, the refused search, erase
has "intact: 10 entries" && ok "10 entries" || bad "10 entries"
check "migrate" "$MIEN" migrate --from "$ST" --to "sqlite:$TMP/copy.db" --json
check "copy verifies" "$MIEN" audit verify --store "sqlite:$TMP/copy.db"
check "copy searches" "$MIEN" search people "$PHOTO" --purpose investigation --case-ref copy \
    --store "sqlite:$TMP/copy.db"
has "alice" && ok "alice in the copy" || bad "alice in the copy"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
