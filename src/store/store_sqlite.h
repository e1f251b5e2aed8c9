/* store_sqlite.h — the SQLite store (store_sqlite.c): the embedded default behind store.h.
 *
 * store_db_open() reaches it for "sqlite:PATH" and bare paths; the other functions here
 * exist for tests (tests/gallery/test_store.c) and diagnostics, and refuse (MIEN_ERR_ARG) a
 * store that is not an SQLite one. The schema, durability setting, migrations and erasure
 * are described in docs/store.md. */
#ifndef MIEN_STORE_STORE_SQLITE_H
#define MIEN_STORE_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The application_id written into every mien database (bytes 68..71 of the file header,
 * https://www.sqlite.org/fileformat2.html#application_id): ASCII "mien". */
#define STORE_SQLITE_APPLICATION_ID 0x6d69656e
/* The schema version this build writes (PRAGMA user_version); see MIGRATIONS. */
#define STORE_SQLITE_SCHEMA_VERSION 4

/* Opens (creating and migrating as needed) the SQLite database at `path`. The backend never
 * seals: templates and crops go in and come out as the opaque bytes seal.h made (a schema-2
 * file's plaintext templates stay plaintext until store_db_open seals them). On success *out
 * is owned by the caller: (*out)->ops->close(*out). MIEN_ERR_IO when the file cannot be
 * opened or created; MIEN_ERR_STORE for a corrupt file ("database is corrupt"), a foreign
 * database (another application_id, or tables without ours), a newer schema, or a
 * filesystem that refuses WAL. @test gallery/test_store.c */
mien_status store_sqlite_open(const char *path, store_db **out, mien_error *err);

/* Test hook: store_sqlite_open() that migrates a new or older file only up to schema
 * `version` (1..STORE_SQLITE_SCHEMA_VERSION), so that tests can make the files an older
 * build wrote and check that the current one upgrades them. The store functions of tables
 * that version lacks fail with MIEN_ERR_STORE. A file already past `version` is left as it
 * is. @test governance/test_keys.c (keys_schema_migration) */
mien_status store_sqlite_open_version(const char *path, int version, store_db **out,
                                      mien_error *err);

/* Test hook: caps the database at `pages` pages (PRAGMA max_page_count; SQLite never sets it
 * below the current size) so that tests can reach SQLITE_FULL without filling a disk.
 * *applied (may be NULL) receives the cap SQLite applied. */
mien_status store_sqlite_set_max_pages(store_db *s, int64_t pages, int64_t *applied,
                                         mien_error *err);

/* Runs PRAGMA integrity_check and writes its first line ("ok" when sound) into out[size].
 * MIEN_OK when the check ran, whatever it found. */
mien_status store_sqlite_integrity(store_db *s, char *out, size_t size, mien_error *err);

#endif
