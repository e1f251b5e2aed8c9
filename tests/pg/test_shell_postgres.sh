#!/bin/sh
# tests/pg/test_shell_postgres.sh — one of the shell suites again, against PostgreSQL (issue 8:
# "the whole SQLite test suite also passes against the PostgreSQL backend (same tests,
# parameterised by store)"; "tests start their own PostgreSQL ... and tear it down").
#
# Usage: tests/pg/test_shell_postgres.sh SCRIPT PATH/TO/mien BUILD_DIR   (from the repository
# root; CTest's cli_postgres, serve_postgres, accountability_postgres and rekognition_postgres
# run it with SCRIPT = tests/cli/test_cli.sh, tests/server/test_serve.sh,
# tests/server/test_accountability.sh, tests/rekognition/test_rekognition.sh).
#
# Starts a throwaway cluster under BUILD_DIR/pg-shell-NAME (NAME: SCRIPT's base name, so that
# the four can run side by side under ctest -j), runs SCRIPT PATH/TO/mien with $MIEN_TEST_STORE
# pointing at it — tests/pg/store-lib.sh then makes every store the script creates a fresh
# database there, names its key file with $MIEN_KEY_FILE, and prints "skip on postgres: …" for
# the checks that only mean something for a file — and removes the cluster, whatever the
# outcome. Exits with SCRIPT's status; 77 (CTest: skipped) when no PostgreSQL server binaries
# are installed (scripts/setup installs them).
set -eu

[ $# -eq 3 ] || { echo "usage: $0 SCRIPT PATH/TO/mien BUILD_DIR" >&2; exit 2; }
SCRIPT=$1
MIEN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
BUILD=$(cd "$3" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if ! PG_BIN=$("$HERE/pg-cluster.sh" bin 2>/dev/null); then
    echo "skip: no PostgreSQL server binaries (initdb, pg_ctl); run scripts/setup"
    exit 77
fi
NAME=$(basename "$SCRIPT" .sh)
PSQL=$PG_BIN/psql
export PSQL
exec "$HERE/pg-cluster.sh" run "$BUILD/pg-shell-$NAME" "$SCRIPT" "$MIEN"
