# tests/pg/store-lib.sh — sourced (`. tests/pg/store-lib.sh`) by the shell suites
# (tests/cli/test_cli.sh, tests/server/test_serve.sh, tests/server/test_accountability.sh,
# tests/rekognition/test_rekognition.sh) so that the same tests run against either backend
# (issue 8: "the whole SQLite test suite also passes against the PostgreSQL backend (same
# tests, parameterised by store)").
#
# The backend is chosen as for the unit runner (tests/store_target.c): when $MIEN_TEST_STORE
# names a PostgreSQL server (postgres://… or postgresql://…; tests/pg/pg-cluster.sh run sets
# it, tests/pg/test_shell_postgres.sh wraps it for CTest), every store a script makes is a
# fresh database on that server; otherwise it is the SQLite file the script names.
#
# A script names each store by the SQLite path it would use (PATH, or sqlite:PATH). On
# PostgreSQL the store's key file is PATH.key — the path SQLite puts beside the file — given
# to `mien` through $MIEN_KEY_FILE (a PostgreSQL store has no file to put it beside), and its
# signed audit head is then PATH.key.audit-head (the default beside the key file), one per store.
# POSIX sh.

# test_store_is_pg: true when the stores are PostgreSQL databases
test_store_is_pg() {
    case ${MIEN_TEST_STORE:-} in
    postgres://* | postgresql://*) return 0 ;;
    esac
    return 1
}

# test_store_psql DB ARGS... : psql on the test server's database DB (quiet, stop at an error)
test_store_psql() {
    _db=$1
    shift
    if [ -z "${TEST_STORE_PSQL:-}" ]; then
        TEST_STORE_PSQL=${PSQL:-}
        if [ -z "$TEST_STORE_PSQL" ]; then
            _bin=$("$(dirname "$TEST_STORE_LIB")/pg-cluster.sh" bin 2>/dev/null) || _bin=
            if [ -n "$_bin" ] && [ -x "$_bin/psql" ]; then TEST_STORE_PSQL=$_bin/psql
            else TEST_STORE_PSQL=psql; fi
        fi
    fi
    "$TEST_STORE_PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(test_store_uri "$_db")" "$@"
}

# test_store_uri DB : the URI of database DB on the test server (the query part is kept)
test_store_uri() {
    printf '%s\n' "$MIEN_TEST_STORE" | sed "s#^\(postgres[a-z]*://[^/?]*\)[^?]*#\1/$1#"
}

# test_store_db PATH : the database name that stands for the SQLite path PATH
test_store_db() {
    printf 'mien_sh_%s\n' "$(printf '%s' "${1#sqlite:}" | cksum | cut -d' ' -f1)"
}

# test_store PATH [TEMPLATE_PATH] : prints the store to pass to --store / $MIEN_STORE for the
# store a test would keep in the SQLite file PATH: PATH itself (as given) on SQLite; on
# PostgreSQL the URI of a fresh, empty database (dropped first if it exists, so calling it
# again on the same PATH empties the store), or with TEMPLATE_PATH a copy of that store's
# database (CREATE DATABASE … TEMPLATE: no connection to it may be open). Exit 1 on failure.
test_store() {
    if ! test_store_is_pg; then
        printf '%s\n' "$1"
        return 0
    fi
    _name=$(test_store_db "$1")
    _tmpl=
    [ $# -lt 2 ] || _tmpl=" TEMPLATE \"$(test_store_db "$2")\""
    test_store_psql postgres -c "DROP DATABASE IF EXISTS \"$_name\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$_name\"$_tmpl" 2>/dev/null >/dev/null ||
        { echo "test_store: cannot create database $_name on $MIEN_TEST_STORE" >&2; return 1; }
    test_store_uri "$_name"
}

# test_store_key PATH : on PostgreSQL, exports MIEN_KEY_FILE=PATH.key (this shell and what it
# starts); on SQLite nothing (mien finds PATH.key beside the file itself)
test_store_key() {
    if test_store_is_pg; then
        MIEN_KEY_FILE=${1#sqlite:}.key
        export MIEN_KEY_FILE
    fi
}

# test_store_with PATH COMMAND... : runs COMMAND with PATH's key file (MIEN_KEY_FILE=PATH.key on
# PostgreSQL; as is on SQLite)
test_store_with() {
    _p=${1#sqlite:}
    shift
    if test_store_is_pg; then
        MIEN_KEY_FILE=$_p.key "$@"
    else
        "$@"
    fi
}

# test_store_sql PATH SQL : runs SQL in PATH's PostgreSQL database; prints rows (unaligned)
test_store_sql() {
    test_store_psql "$(test_store_db "$1")" -c "$2"
}

# test_store_dump PATH : prints PATH's PostgreSQL database, schema and rows (pg_dump)
test_store_dump() {
    test_store_psql postgres -c "" # finds psql; pg_dump lives beside it
    _dump=$(dirname "$TEST_STORE_PSQL")/pg_dump
    [ -x "$_dump" ] || _dump=pg_dump
    "$_dump" -d "$(test_store_uri "$(test_store_db "$1")")"
}

# test_store_skip WHAT : on PostgreSQL, prints a visible "skip on postgres: WHAT" and succeeds
# (the caller skips the file-only check); on SQLite fails (the caller runs it)
test_store_skip() {
    if test_store_is_pg; then
        echo "  skip on postgres: $1"
        return 0
    fi
    return 1
}
