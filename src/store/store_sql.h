/* store_sql.h — the store operations written once (store_sql.c) over a small SQL driver, so
 * that a backend keeps only its dialect (a statement table, its types) and its driver.
 *
 * The model is libuv's uv-common.c over src/unix/ and SQLite's VFS: store_sql.c says what an
 * operation does (which statement, which values, what an empty result or a conflict means);
 * a driver says how one statement is prepared, bound, stepped and read on its database. Each
 * backend maps the shared statement ids below onto its own statement table (the SQL differs:
 * "?1" or "$1::text", INSERT OR a conflict clause), and points its store_db_ops entries for
 * these operations at the sql_* functions. What truly differs stays in the backend: schema
 * creation and migration, transactions and their locks (PostgreSQL's advisory lock), scans
 * streamed on the one connection, the audit chain's append, erasure's scrubbing.
 *
 * A statement belongs to its store: one of each id at a time, prepared, bound in order,
 * stepped, read, and released with reset before the same id is prepared again. @test
 * governance/test_keys.c (both backends), gallery/test_store.c */
#ifndef MIEN_STORE_SQL_H
#define MIEN_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The statements store_sql.c runs, with the operation's name for messages; every SQL
 * backend's table has one of each name. */
#define SQL_STMT_MAP(XX)                                                                       \
    XX(KEY_INSERT, "key_insert")                                                               \
    XX(KEY_GET, "key_get")                                                                     \
    XX(KEY_LIST, "key_list")                                                                   \
    XX(KEY_REVOKE, "key_revoke")                                                               \
    XX(KEY_IMPORT, "key_import")                                                               \
    XX(REVIEW_INSERT, "review_insert")                                                         \
    XX(REVIEW_GET, "review_get")                                                               \
    XX(REVIEW_UPDATE, "review_update")                                                         \
    XX(REVIEW_EXISTS, "decision_insert")                                                       \
    XX(DECISION_INSERT, "decision_insert")                                                     \
    XX(DECISION_LIST, "decision_list")                                                         \
    XX(COLLECTION_INSERT, "collection_create")                                                 \
    XX(COLLECTION_GET, "collection_get")                                                       \
    XX(COLLECTION_LIST, "collection_list")                                                     \
    XX(COLLECTION_IMPORT, "collection_import")                                                 \
    XX(SUBJECT_EXPIRED, "subject_expired")                                                     \
    XX(SUBJECT_LIST, "subject_list")                                                           \
    XX(SUBJECT_IMPORT, "subject_import")                                                       \
    XX(SUBJECT_FIND, "subject lookup")                                                         \
    XX(SUBJECT_UPSERT, "subject_ensure")                                                       \
    XX(SUBJECT_IN, "face_insert: subject")                                                     \
    XX(FACE_EXISTS, "face_exists")                                                             \
    XX(FACE_SCAN, "face_scan")                                                                 \
    XX(FACE_SCAN_SUBJECT, "face_scan_subject")                                                 \
    XX(FACE_GET, "face_get")                                                                   \
    XX(FACE_SCAN_FULL, "face_scan_full")                                                       \
    XX(AUDIT_LAST, "audit_last")                                                               \
    XX(AUDIT_INSERT, "audit_insert")                                                           \
    XX(AUDIT_SCAN, "audit_scan")                                                               \
    XX(REVIEW_SCAN, "review_scan")                                                             \
    XX(COLLECTION_DELETE, "collection_drop")                                                   \
    XX(SEQUENCE_GET, "sequence_get")                                                           \
    XX(SUBJECT_LOCK, "subject_erase")                                                          \
    XX(SUBJECT_COUNTS, "subject_erase: count")                                                 \
    XX(SUBJECT_DELETE, "subject_erase: delete")                                                \
    XX(FACE_BLOBS, "face_move: read")                                                          \
    XX(FACE_MOVE, "face_move")                                                                 \
    XX(CROP_MOVE, "face_move: crop")                                                           \
    XX(DECISION_ERASE, "review_erase: decisions")                                              \
    XX(REVIEW_ERASE, "review_erase")                                                           \
    XX(COLLECTION_TAG, "collection tag")                                                       \
    XX(SUBJECT_GET, "subject_ensure: check")                                                   \
    XX(SUBJECT_TAG, "subject tag")                                                             \
    XX(SUBJECT_ALL, "tag_rows: subjects")                                                      \
    XX(KEY_TAG, "key tag")                                                                     \
    XX(TAGS_PENDING, "tags_pending")                                                           \
    XX(TAGS_DONE, "tag_rows: done")                                                            \
    XX(DECISION_TAG, "decision_tag")

/* The columns store_sql.c's readers take, in their order; both dialects select with them. */
#define COLLECTION_COLUMNS                                                                 \
    "SELECT c.id, c.name, c.profile, c.model_a, c.model_b, c.description, c.created_at,"  \
    " (SELECT count(*) FROM subjects s WHERE s.collection_id = c.id),"                   \
    " (SELECT count(*) FROM subjects s JOIN faces f ON f.subject_id = s.id"              \
    " WHERE s.collection_id = c.id), c.purposes, c.legal_basis, c.consent,"              \
    " c.retention_s, c.review, c.verification_only, c.max_fmr_ppb, c.max_candidates,"    \
    " c.mac FROM collections c"
/* A subject row as read_subject takes it (column 4, the faces count, is the caller's); SUBJECT_GET
 * puts 0 there. */
#define SUBJECT_ROW(faces)                                                                 \
    "SELECT s.id, s.external_id, s.display_name, s.created_at, " faces ", s.consent_ref,"  \
    " s.expires_at, s.mac, s.collection_id FROM subjects s"
/* KEY_GET and KEY_LIST: the key, its hash and its tag. */
#define KEY_COLUMNS                                                                        \
    "SELECT id, role, label, created_at, revoked_at, secret_hash, mac FROM api_keys"
/* SUBJECT_EXPIRED: where the subject is, then the row as SUBJECT_ROW (from column 2). */
#define EXPIRED_COLUMNS                                                                    \
    "SELECT c.name, c.id, s.id, s.external_id, s.display_name, s.created_at, 0,"           \
    " s.consent_ref, s.expires_at, s.mac, s.collection_id FROM subjects s"                 \
    " JOIN collections c ON c.id = s.collection_id"
#define REVIEW_COLUMNS                                                                     \
    "SELECT id, collection_id, collection, required, confirmations, confirmed_rank,"      \
    " status, created_at, search_seq, candidates, mac, candidates_json FROM reviews"
#define AUDIT_COLUMNS                                                                      \
    "SELECT seq, time, actor, action, collection, purpose, case_ref, input_sha256,"        \
    " outcome, result, prev_hash, hash, mac FROM audit"

typedef enum sql_id {
#define SQL_ID_ENUM(name, what) SQL_##name,
    SQL_STMT_MAP(SQL_ID_ENUM)
#undef SQL_ID_ENUM
        SQL_COUNT
} sql_id;

/* The operation's name of each statement, for messages ("key_get"). */
extern const char *const SQL_WHAT[SQL_COUNT];

typedef struct sql_stmt sql_stmt; /* a driver's statement: bound values, result, current row */

/* A scan's callback: q is on one row (read it with the col_* functions). */
typedef mien_status (*sql_row_fn)(void *ctx, sql_stmt *q);

typedef struct sql_driver {
    /* Statement `id` of s, ready for its values: *out borrowed from the store until reset. */
    mien_status (*prepare)(store_db *s, sql_id id, sql_stmt **out, mien_error *err);
    /* Bind the next parameter ($1, $2, ... in order). NULL text or blob binds SQL NULL. */
    void (*bind_i64)(sql_stmt *q, int64_t v);
    void (*bind_text)(sql_stmt *q, const char *v);
    void (*bind_blob)(sql_stmt *q, const void *v, size_t n);
    /* Runs the statement on the first call, moves to the next row after: *row says whether
     * one is there. A uniqueness conflict is MIEN_ERR_EXISTS; other failures the driver's
     * mapping of its error (MIEN_ERR_IO for a lost connection, MIEN_ERR_STORE, ...). */
    mien_status (*step)(sql_stmt *q, bool *row, mien_error *err);
    /* Rows the statement inserted, updated or deleted (after step). */
    int64_t (*changes)(sql_stmt *q);
    /* The id the INSERT just made (SQLite: the rowid; PostgreSQL: its RETURNING id). */
    int64_t (*last_id)(sql_stmt *q);
    /* Columns of the current row: 0, "" or NULL (size 0) for SQL NULL. */
    int64_t (*col_i64)(sql_stmt *q, int col);
    double (*col_f64)(sql_stmt *q, int col);
    const char *(*col_text)(sql_stmt *q, int col);
    const void *(*col_blob)(sql_stmt *q, int col, size_t *n);
    bool (*col_null)(sql_stmt *q, int col);
    /* Done with the statement: its result is released and its values unbound. */
    void (*reset)(sql_stmt *q);
    /* Runs the bound statement and calls fn on each row, stopping at fn's first error; the
     * statement is reset after. PostgreSQL streams the rows on the store's one connection
     * (single-row mode): fn must not run a statement of the same store (MIEN_ERR_INTERNAL). */
    mien_status (*scan)(sql_stmt *q, sql_row_fn fn, void *ctx, mien_error *err);
    /* An operation of several statements made atomic whether or not the caller holds a
     * transaction (its own BEGIN..COMMIT, or a savepoint); op_end commits or releases on
     * MIEN_OK and undoes the operation otherwise, returning the outcome. Not nested. */
    mien_status (*op_begin)(store_db *s, mien_error *err);
    mien_status (*op_end)(store_db *s, mien_status status, mien_error *err);
    /* After rows holding templates or crops were deleted: makes their bytes leave the files
     * where the database can (SQLite: VACUUM and a WAL checkpoint, now or at the caller's
     * commit); NULL where it cannot (PostgreSQL: docs/deploy.md "Erasure"). */
    mien_status (*erased)(store_db *s, mien_error *err);
} sql_driver;

/* One step of a backend's schema, in its dialect: `sql` brings the schema from version - 1
 * to `version`. A backend's table has one step per schema version, in order. */
typedef struct sql_migration {
    int version;
    const char *sql;
} sql_migration;

/* The store_db_ops entries store_sql.c fills: a backend's table starts with these and adds
 * its own with SQL_BACKEND_OPS (transactions, face writes, blob_rewrite, ping, sequence_raise,
 * close). */
#define SQL_STORE_OPS                                                                              \
    .collection_create = sql_collection_create, .collection_get = sql_collection_get,          \
    .collection_list = sql_collection_list, .collection_import = sql_collection_import,        \
    .subject_expired = sql_subject_expired, .subject_list = sql_subject_list,                  \
    .subject_import = sql_subject_import, .face_exists = sql_face_exists,                      \
    .face_scan = sql_face_scan, .face_scan_subject = sql_face_scan_subject,                    \
    .face_get = sql_face_get, .face_scan_full = sql_face_scan_full,                            \
    .audit_last = sql_audit_last, .audit_insert = sql_audit_insert,                            \
    .audit_scan = sql_audit_scan, .review_insert = sql_review_insert,                          \
    .review_get = sql_review_get, .review_update = sql_review_update,                          \
    .decision_insert = sql_decision_insert, .decision_list = sql_decision_list,                \
    .review_scan = sql_review_scan, .key_insert = sql_key_insert, .key_get = sql_key_get,      \
    .key_list = sql_key_list, .key_revoke = sql_key_revoke,                                    \
    .key_count_valid = sql_key_count_valid, .key_import = sql_key_import,                      \
    .collection_drop = sql_collection_drop, .sequence_get = sql_sequence_get,                  \
    .subject_erase = sql_subject_erase, .subject_ensure = sql_subject_ensure,                  \
    .face_move = sql_face_move, .review_erase = sql_review_erase,                            \
    .tags_pending = sql_tags_pending, .tag_rows = sql_tag_rows,                                \
    .decision_tag = sql_decision_tag,

/* The store_db_ops entries an SQL backend adds to SQL_STORE_OPS: what truly differs between
 * databases. Every backend names them <p>_<member> (sq_close, pg_close, ...), so that its table
 * is {SQL_STORE_OPS SQL_BACKEND_OPS(p)} and none can be left NULL. */
#define SQL_BACKEND_OPS(p)                                                                     \
    .close = p##_close, .begin = p##_begin, .commit = p##_commit, .rollback = p##_rollback,    \
    .face_insert = p##_face_insert, .face_import = p##_face_import,                            \
    .blob_rewrite = p##_blob_rewrite, .ping = p##_ping,        \
    .sequence_raise = p##_sequence_raise,

/* A dialect's table from shared ids to its own statements: every dialect names its statement
 * ids STMT_<name> (static const stmt_id SQL_STMTS[SQL_COUNT] = {SQL_STMT_MAP(SQL_STMT_OF)}). */
#define SQL_STMT_OF(name, what) [SQL_##name] = STMT_##name,

/* Every driver names its functions drv_<member> and fills its table with this. */
#define SQL_DRIVER_INIT                                                                        \
    {                                                                                          \
        .prepare = drv_prepare, .bind_i64 = drv_bind_i64, .bind_text = drv_bind_text,         \
        .bind_blob = drv_bind_blob, .step = drv_step, .changes = drv_changes,                  \
        .last_id = drv_last_id, .col_i64 = drv_col_i64, .col_f64 = drv_col_f64,                \
        .col_text = drv_col_text, .col_blob = drv_col_blob, .col_null = drv_col_null,          \
        .reset = drv_reset, .scan = drv_scan, .op_begin = drv_op_begin,                        \
        .op_end = drv_op_end, .erased = drv_erased,                                            \
    }

/* The subject check of both backends' face writes: *found whether subject `subject_id` is in
 * collection `collection_id`. */
mien_status sql_subject_in(store_db *s, int64_t subject_id, int64_t collection_id, bool *found,
                           mien_error *err);

/* The operations written once; a backend puts them in its store_db_ops (store.h documents
 * each). s->driver must be set. */
mien_status sql_key_insert(store_db *s, store_key *k, mien_error *err);
mien_status sql_key_get(store_db *s, const char *id, store_key *out, mien_error *err);
mien_status sql_key_list(store_db *s, store_key **out, size_t *n, mien_error *err);
mien_status sql_key_revoke(store_db *s, const char *id, mien_error *err);
mien_status sql_key_count_valid(store_db *s, int64_t *count, mien_error *err);
mien_status sql_key_import(store_db *s, const store_key *k, mien_error *err);
mien_status sql_collection_create(store_db *s, store_collection *c, mien_error *err);
mien_status sql_collection_get(store_db *s, const char *name, store_collection *out,
                               mien_error *err);
mien_status sql_collection_list(store_db *s, store_collection **out, size_t *n,
                                mien_error *err);
mien_status sql_collection_import(store_db *s, const store_collection *c, mien_error *err);
mien_status sql_subject_expired(store_db *s, int64_t now, store_expired **out, size_t *n,
                                mien_error *err);
mien_status sql_subject_ensure(store_db *s, int64_t collection_id, const char *external_id,
                               const char *display_name, const char *consent_ref,
                               int64_t expires_at, int64_t *subject_id, mien_error *err);
mien_status sql_subject_list(store_db *s, int64_t collection_id, store_subject **out,
                             size_t *n, mien_error *err);
mien_status sql_subject_import(store_db *s, int64_t collection_id, const store_subject *g,
                               mien_error *err);
mien_status sql_face_exists(store_db *s, int64_t collection_id, const char *external_id,
                            const uint8_t image_sha256[32], bool *found, mien_error *err);
mien_status sql_face_scan(store_db *s, int64_t collection_id, store_face_fn fn, void *ctx,
                          mien_error *err);
mien_status sql_face_scan_subject(store_db *s, int64_t collection_id, const char *external_id,
                                  store_face_fn fn, void *ctx, mien_error *err);
mien_status sql_face_get(store_db *s, int64_t face_id, int64_t *collection_id,
                         store_face_fn fn, void *ctx, mien_error *err);
mien_status sql_face_scan_full(store_db *s, int64_t collection_id, store_face_full_fn fn,
                               void *ctx, mien_error *err);
mien_status sql_audit_last(store_db *s, int64_t *seq, uint8_t hash[32], mien_error *err);
mien_status sql_audit_insert(store_db *s, const store_audit_row *row, mien_error *err);
mien_status sql_audit_scan(store_db *s, int64_t from_seq, int64_t t0, int64_t t1,
                           store_audit_fn fn, void *ctx, mien_error *err);
mien_status sql_review_scan(store_db *s, store_review_fn fn, void *ctx, mien_error *err);
mien_status sql_collection_drop(store_db *s, int64_t collection_id, mien_error *err);
mien_status sql_sequence_get(store_db *s, store_sequences *out, mien_error *err);
mien_status sql_review_erase(store_db *s, int64_t collection_id, const char *subject_hash,
                            int64_t *deleted, mien_error *err);
mien_status sql_subject_erase(store_db *s, int64_t collection_id, const char *external_id,
                              int64_t *faces_deleted, int64_t *crops_deleted, mien_error *err);
mien_status sql_face_move(store_db *s, int64_t face_id, int64_t subject_id, store_rewrite_fn fn,
                          void *ctx, mien_error *err);
mien_status sql_tags_pending(store_db *s, bool *pending, mien_error *err);
mien_status sql_tag_rows(store_db *s, store_tag_counts *out, mien_error *err);
mien_status sql_decision_tag(store_db *s, const store_decision *d, mien_error *err);
mien_status sql_review_insert(store_db *s, const store_review *r, mien_error *err);
mien_status sql_review_get(store_db *s, const char *id, store_review *out, mien_error *err);
mien_status sql_review_update(store_db *s, const store_review *r, mien_error *err);
mien_status sql_decision_insert(store_db *s, const store_decision *d, mien_error *err);
mien_status sql_decision_list(store_db *s, const char *id, store_decision **out, size_t *n,
                              mien_error *err);

#endif
