#!/bin/sh
# tests/pg/test_store_postgres.sh — the store-backed unit tests again, against PostgreSQL
# (issue 8: "the whole SQLite test suite also passes against the PostgreSQL backend (same tests,
# parameterised by store)"; "tests start their own PostgreSQL ... and tear it down").
#
# Usage: tests/pg/test_store_postgres.sh PATH/TO/mien_tests BUILD_DIR   (from the repository root)
#
# Starts a throwaway cluster under BUILD_DIR/pg-test (tests/pg/pg-cluster.sh), runs every test
# of tests/test_list.h that opens a store — the names starting with store_, gallery_, keys_,
# acct_, migrate_, face_list_ or sigv4_ (the tests that open their stores through
# tests/store_target.h: one fresh database per test; sigv4_ also takes the server's SigV4 tests,
# which open none and run as in the unit run) — with $MIEN_TEST_STORE pointing at it, and
# removes the cluster, whatever the outcome. The other tests of the runner open no store (the
# audit_ tests use an in-memory fake), so this is the whole store-backed suite. Exit 77 (CTest:
# skipped) when no PostgreSQL server binaries are installed; scripts/setup installs them.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 PATH/TO/mien_tests BUILD_DIR" >&2; exit 2; }
TESTS=$1
BUILD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if ! "$HERE/pg-cluster.sh" bin >/dev/null 2>&1; then
    echo "skip: no PostgreSQL server binaries (initdb, pg_ctl); run scripts/setup"
    exit 77
fi
NAMES=$(sed -n 's/^ *XX(\(\(store\|gallery\|keys\|acct\|migrate\|face_list\|sigv4\)_[a-z0-9_]*\)).*/\1/p' \
    "$ROOT/tests/test_list.h")
[ -n "$NAMES" ] || { echo "no store tests found in tests/test_list.h" >&2; exit 1; }
# shellcheck disable=SC2086
exec "$HERE/pg-cluster.sh" run "$BUILD/pg-test" "$TESTS" $NAMES
