/* store_target.h — which store backend a test runs against (issue 8: "the whole SQLite test
 * suite also passes against the PostgreSQL backend (same tests, parameterised by store)").
 *
 * $MIEN_TEST_STORE unset (or "sqlite"): an SQLite file in a fresh mkdtemp() folder, as
 * before. $MIEN_TEST_STORE=postgres://... (or postgresql://): each test_store_make() creates
 * a fresh database on that server (CREATE DATABASE mien_t_<pid>_<n>, the login must be allowed
 * to) and test_store_remove() drops it, so every test starts from an empty store as it does
 * with SQLite. On PostgreSQL it also sets $MIEN_KEY_FILE to the test's key file (there is no
 * database file for test_open_store() to put the key beside) and unsets it at removal.
 * tests/pg/pg-cluster.sh run sets the variable for a throwaway cluster; CTest's
 * "store_postgres" test (tests/pg/test_store_postgres.sh) does that for the store_* and
 * gallery_* tests.
 *
 * Checks that only make sense for one backend (the bytes of an SQLite file, PRAGMAs, a file
 * cut in half) call test_store_sqlite_only(), which prints a visible "skip on postgres" line.
 * Tests are single-threaded; the helpers are not thread-safe. */
#ifndef MIEN_TEST_STORE_TARGET_H
#define MIEN_TEST_STORE_TARGET_H

#include <stdbool.h>

#include "base/keyring.h"

typedef struct test_store {
    char dir[64];        /* mkdtemp() folder: the key file, the SQLite file, the audit head */
    char path[128];      /* SQLite: DIR/g.db; PostgreSQL: "" */
    char uri[640];       /* what store_db_open() / test_open_store() take */
    char key_file[128];  /* DIR/store.key (made by test_store_make) */
    char db[64];         /* PostgreSQL: the database made for this test; "" for SQLite */
    char more[8][64];    /* PostgreSQL: databases made by test_store_make_more */
    int n_more;
    keyring *keys;       /* loaded from key_file; freed by test_store_remove */
} test_store;

/* True when $MIEN_TEST_STORE names a PostgreSQL server. */
bool test_store_is_pg(void);

/* A fresh empty store (see above) and its key file; 0 on success, -1 with the reason
 * printed. */
int test_store_make(test_store *t);

/* Another fresh database on the same server (PostgreSQL) or file in the same folder
 * (SQLite), named `name`, sharing t's key file: its URI into uri[size]. 0 on success. */
int test_store_make_more(test_store *t, const char *name, char *uri, size_t size);

/* Drops the database(s) made for t (closing any session on them), removes the folder and
 * frees the keyring. */
void test_store_remove(test_store *t);

/* On PostgreSQL: prints "  skip on postgres: <what>" and returns true (the caller skips
 * that check); on SQLite: false. */
bool test_store_sqlite_only(const char *what);

/* Runs `sql` (no parameters) on database `db` of the server ($MIEN_TEST_STORE with the
 * database replaced); the first column of the first row, as an integer, into *out (may be
 * NULL). 0 on success, -1 with the server's message printed. PostgreSQL runs only. */
int test_pg_exec(const char *db, const char *sql, long long *out);

/* One integer from t's database behind the store's back (the SQLite file, or the PostgreSQL
 * database): the first column of the first row of `sql`, -1 when there is none or the query
 * fails. For plain SQL both backends understand (count(*), length(), IS NULL). */
long long test_store_query_int(const test_store *t, const char *sql);

/* uri with its database replaced by `db` (PostgreSQL URIs) into out[size]; 0 on success. */
int test_pg_uri(const char *uri, const char *db, char *out, size_t size);

/* test_open_store_with() with what the environment says, as the CLI does (the library reads
 * none): `uri` NULL is $MIEN_STORE, opt->key_file unset is $MIEN_KEY_FILE (test_store_make
 * sets it for a PostgreSQL store), $MIEN_NOW and $MIEN_AUDIT_HEAD fill now and audit_head. opt
 * NULL: create the key file when absent (mien_store_open). */
mien_status test_open_store_with(const char *uri, const mien_store_options *opt,
                                 mien_store **out, mien_error *err);
/* test_open_store_with(uri, NULL, out, err). */
mien_status test_open_store(const char *uri, mien_store **out, mien_error *err);

#endif
