/* store_postgres.h — the PostgreSQL store (store_postgres.c): the store several `mien serve`
 * nodes share (DESIGN.md §6, issue 8), behind the same store.h interface as the SQLite one.
 *
 * store_db_open() reaches it for "postgres://" and "postgresql://" URIs (libpq
 * connection URIs: https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING).
 * The tables live in the connection's current schema (the first existing schema of its
 * search_path, "public" by default; `?options=-csearch_path%3Dname` picks another), so that
 * several stores can share one database. docs/deploy.md ("The PostgreSQL store") describes
 * the schema, the transactions, the write lock and what erasure means there. */
#ifndef MIEN_STORE_STORE_POSTGRES_H
#define MIEN_STORE_STORE_POSTGRES_H

#include "store/store.h"

/* The schema version this build writes (table mien_schema); see MIGRATIONS. Independent of
 * the SQLite store's user_version: version 1 holds everything SQLite's version 3 does. */
#define STORE_POSTGRES_SCHEMA_VERSION 2

/* The application name in mien_schema: a schema whose mien_schema names another is refused. */
#define STORE_POSTGRES_APPLICATION "mien"

/* Opens (creating the tables and migrating as needed) the store at libpq URI `uri`; `keys`
 * (may be NULL) only names the default audit head file (the backend never seals: seal.h). On success *out is
 * owned by the caller: (*out)->ops->close(*out). Messages never echo the URI (it may carry a
 * password): they name the store as "postgres USER@HOST:PORT/DB".
 *
 * MIEN_ERR_IO when the server cannot be reached or refuses the login; MIEN_ERR_STORE for a
 * schema that holds other tables without mien_schema ("not a mien store"), another
 * application's mien_schema, a schema newer than this build, or no schema to create tables
 * in; MIEN_ERR_ARG for NULL arguments. audit_head_path: the key file's path with
 * ".audit-head" appended (each node signs the heads it commits beside its own key file;
 * mien_store_options.audit_head replaces it).
 * @test gallery/test_store.c (with $MIEN_TEST_STORE=postgres://...) */
mien_status store_postgres_open(const char *uri, const keyring *keys, store_db **out,
                                  mien_error *err);

/* Test hook: the open store's schema version (mien_schema.version). MIEN_ERR_ARG for a store
 * that is not a PostgreSQL one. */
mien_status store_postgres_schema_version(store_db *s, int64_t *version,
                                            mien_error *err);

#endif
