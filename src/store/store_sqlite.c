/* store_sqlite.c — the SQLite store: collections, subjects, faces, crops and API keys, one file.
 *
 * The embedded default behind store.h (DESIGN.md §6: "SQLite in WAL mode ... one file,
 * crash-safe"). Every connection is set up the same way on open:
 *
 *   journal_mode=WAL    readers never block the writer, and a commit is one append to the
 *                       -wal file (https://www.sqlite.org/wal.html).
 *   synchronous=FULL    the WAL is fsync'd at every commit. With NORMAL, "a transaction
 *                       committed in WAL mode ... might roll back following a power loss or
 *                       system crash" (https://www.sqlite.org/pragma.html#pragma_synchronous);
 *                       mien_enroll() promises that a face whose enrolment returned survives,
 *                       so a power loss must not take the last enrolments with it.
 *   foreign_keys=ON     deleting a collection or subject cascades to faces and crops.
 *   secure_delete=ON    deleted content is overwritten with zeros in its page
 *                       (https://www.sqlite.org/pragma.html#pragma_secure_delete); erasure
 *                       adds a VACUUM and a WAL truncation (scrub()).
 *   busy_timeout        BUSY_TIMEOUT_MS, for other processes sharing the file.
 *   application_id      "mien" (STORE_SQLITE_APPLICATION_ID) marks the file as ours;
 *   user_version        the schema version; MIGRATIONS brings older files up to date.
 *
 * Corruption: the header is checked on the first read (SQLITE_NOTADB, or SQLITE_CORRUPT for
 * a file shorter than its header says) and PRAGMA quick_check runs on every open, so damage
 * in any page is found before the gallery loads an index from it (docs/store.md measures the
 * cost). Any SQLITE_CORRUPT later still reads "database is corrupt".
 *
 * Statements are prepared once per handle (stmt()) and kept until close. A handle belongs to
 * one thread at a time (store.h), so the connection runs without SQLite's mutexes.
 *
 * What is here is the SQLite dialect and driver: the statement table (STMT_MAP), the driver
 * store_sql.c runs the shared operations on (store_sql.h), and the operations whose SQLite
 * form differs: transactions (BEGIN IMMEDIATE, savepoints), the scrub after an erase, face
 * writes (face row, then crop row), blob_rewrite, ping, sequence_raise (sqlite_sequence),
 * open, migrations and the test hooks. It needs SQLite 3.35 or newer (RETURNING; Debian 12
 * has 3.40), checked when a store opens. Templates and crops arrive sealed
 * (seal.h): this file never sees plaintext. */
#include "store/store_sqlite.h"
#include "store/store_sql.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/error.h"

/* 5 s: an enrolment holds the write lock for one fsync (milliseconds on disks, ~20 ms on the
 * slowest we target); a checkpoint of a large WAL can take a second. Long enough to ride those
 * out, short enough that a stuck peer shows up as an error rather than a hang. */
#define BUSY_TIMEOUT_MS 5000

#define STORE_MAGIC 0x53514c53u /* "SQLS": checked by assert on every call (STYLE rule 10) */


/* ---- schema and migrations -------------------------------------------------------------
 * Step k brings user_version from k-1 to k, in one transaction with the version bump. Steps
 * are never edited once released: a change is a new step. */
static const sql_migration MIGRATIONS[] = {
    {1,
     /* Collections are locked at creation to a profile and its model ids. */
     "CREATE TABLE collections ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " profile INTEGER NOT NULL CHECK (profile IN (0, 1)),"
     " model_a TEXT NOT NULL,"
     " model_b TEXT NOT NULL,"
     " description TEXT NOT NULL DEFAULT '',"
     " created_at INTEGER NOT NULL);"
     /* AUTOINCREMENT: ids are never reused after an erasure, so a face or subject id seen in
      * an old search result or audit line never names somebody else. */
     "CREATE TABLE subjects ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
     " external_id TEXT NOT NULL,"
     " display_name TEXT,"
     " created_at INTEGER NOT NULL,"
     " UNIQUE (collection_id, external_id));"
     /* Quality columns are NULL when the caller recorded none. */
     "CREATE TABLE faces ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,"
     " template BLOB NOT NULL,"
     " quality_class INTEGER,"
     " interocular_px REAL,"
     " sharpness REAL,"
     " yaw REAL,"
     " pitch REAL,"
     " roll REAL,"
     " detector_score REAL,"
     " landmark_score REAL,"
     " image_sha256 BLOB CHECK (image_sha256 IS NULL OR length(image_sha256) = 32),"
     " created_at INTEGER NOT NULL);"
     /* Serves the cascade from subjects (prefix subject_id) and face_exists (both columns). */
     "CREATE INDEX faces_subject_image ON faces(subject_id, image_sha256);"
     /* Crops apart, so that the index load scan of faces reads no pixels. */
     "CREATE TABLE crops ("
     " face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,"
     " rgb BLOB NOT NULL);"},
    {2,
     /* API keys (governance/keys.c): the id and a hash of the secret, never the secret.
      * role is a mien_role; revoked_at is NULL while the key is valid. No CHECK on role, so
      * that a later role needs no table rebuild. */
     "CREATE TABLE api_keys ("
     " id TEXT PRIMARY KEY,"
     " secret_hash BLOB NOT NULL,"
     " role INTEGER NOT NULL,"
     " label TEXT,"
     " created_at INTEGER,"
     " revoked_at INTEGER);"},
    {3,
     /* Accountability (docs/responsible-use.md). A collection's policy; defaults give files
      * made before it a one-year retention, one reviewer and consent required (their
      * purposes and legal basis are empty: such a collection refuses searches until an
      * operator recreates it with a declared policy). */
     "ALTER TABLE collections ADD COLUMN purposes TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE collections ADD COLUMN legal_basis TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE collections ADD COLUMN consent INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE collections ADD COLUMN retention_s INTEGER NOT NULL DEFAULT 31536000;"
     "ALTER TABLE collections ADD COLUMN review INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE collections ADD COLUMN verification_only INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE subjects ADD COLUMN consent_ref TEXT;"
     "ALTER TABLE subjects ADD COLUMN expires_at INTEGER;"
     "UPDATE subjects SET expires_at = created_at + 31536000;"
     "CREATE INDEX subjects_expiry ON subjects(expires_at);"
     /* The audit chain (governance/audit.c). Triggers make it append-only for every
      * client of the file; someone who edits the file behind SQLite's back is caught by the
      * chain and its signed head instead. */
     "CREATE TABLE audit ("
     " seq INTEGER PRIMARY KEY,"
     " time INTEGER NOT NULL,"
     " actor TEXT NOT NULL,"
     " action TEXT NOT NULL,"
     " collection TEXT NOT NULL,"
     " purpose TEXT NOT NULL,"
     " case_ref TEXT NOT NULL,"
     " input_sha256 TEXT NOT NULL,"
     " outcome TEXT NOT NULL,"
     " result TEXT NOT NULL,"
     " prev_hash BLOB NOT NULL,"
     " hash BLOB NOT NULL,"
     " mac BLOB NOT NULL);"
     "CREATE INDEX audit_time ON audit(time);"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
     /* Reviews outlive their collection (no foreign key): they are governance records and
      * name subjects only by keyed hash. One decision per reviewer (the primary key), which
      * is what two-person review rests on. */
     "CREATE TABLE reviews ("
     " id TEXT PRIMARY KEY,"
     " collection_id INTEGER NOT NULL,"
     " collection TEXT NOT NULL,"
     " required INTEGER NOT NULL,"
     " confirmations INTEGER NOT NULL DEFAULT 0,"
     " confirmed_rank INTEGER NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " search_seq INTEGER NOT NULL,"
     " candidates INTEGER NOT NULL,"
     " candidates_json TEXT NOT NULL,"
     " mac BLOB NOT NULL);"
     "CREATE TABLE review_decisions ("
     " review_id TEXT NOT NULL REFERENCES reviews(id),"
     " reviewer TEXT NOT NULL,"
     " decision INTEGER NOT NULL,"
     " rank INTEGER NOT NULL,"
     " note TEXT NOT NULL,"
     " time INTEGER NOT NULL,"
     " PRIMARY KEY (review_id, reviewer));"},
    {4,
     /* The caps on what one search may return (issue 13 item 5; mien.h mien_search_caps):
      * the loosest false-match rate in parts per billion (1e-2) and the most candidates (50).
      * Existing collections get the defaults: searches that asked for more are refused from
      * now on, which is the point. */
     "ALTER TABLE collections ADD COLUMN max_fmr_ppb INTEGER NOT NULL DEFAULT 10000000;"
     "ALTER TABLE collections ADD COLUMN max_candidates INTEGER NOT NULL DEFAULT 50;"
     /* Row tags (issue 13; store/tag.h): a keyed MAC per collection, subject and API key row,
      * and per decision, chained to the review's previous one with the audit entry that
      * recorded it (audit_seq). row_tags marks a store whose existing rows still need
      * their tags: mien_store_upgrade (governance/upgrade.c) verifies the audit chain, tags
      * them with the key file and records it in the chain. A new file has nothing to tag. */
     "ALTER TABLE collections ADD COLUMN mac BLOB;"
     "ALTER TABLE subjects ADD COLUMN mac BLOB;"
     "ALTER TABLE api_keys ADD COLUMN mac BLOB;"
     "ALTER TABLE review_decisions ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE review_decisions ADD COLUMN mac BLOB;"
     "CREATE TABLE row_tags (pending INTEGER NOT NULL);"
     "INSERT INTO row_tags SELECT 1 WHERE EXISTS (SELECT 1 FROM collections)"
     " OR EXISTS (SELECT 1 FROM api_keys) OR EXISTS (SELECT 1 FROM audit);"},
};

#define MIGRATION_COUNT (sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0]))
_Static_assert(MIGRATION_COUNT == STORE_SQLITE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- cached statements -------------------------------------------------------------- */

/* SUBJECT_UPSERT returns the id it wrote (RETURNING, SQLite 3.35.0). */
#define SQLITE_MIN_VERSION 3035000

#define STMT_MAP(XX)                                                                       \
    XX(BEGIN, "BEGIN IMMEDIATE")                                                          \
    XX(COMMIT, "COMMIT")                                                                  \
    XX(ROLLBACK, "ROLLBACK")                                                              \
    XX(SAVEPOINT, "SAVEPOINT store_op")                                                   \
    XX(RELEASE, "RELEASE store_op")                                                       \
    XX(ROLLBACK_TO, "ROLLBACK TO store_op")                                               \
    XX(COLLECTION_INSERT, "INSERT INTO collections(name, profile, model_a, model_b,"      \
                          " description, created_at, purposes, legal_basis, consent,"    \
                          " retention_s, review, verification_only, max_fmr_ppb,"        \
                          " max_candidates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"  \
                          " ?10, ?11, ?12, ?13, ?14)")                                   \
    XX(COLLECTION_GET, COLLECTION_COLUMNS " WHERE c.name = ?1")                           \
    XX(COLLECTION_LIST, COLLECTION_COLUMNS " ORDER BY c.name")                            \
    XX(COLLECTION_DELETE, "DELETE FROM collections WHERE id = ?1")                        \
    XX(SUBJECT_FIND, "SELECT id FROM subjects WHERE collection_id = ?1 AND external_id = ?2") \
    /* SQLite locks the whole file for a writer: no row lock to take */                      \
    XX(SUBJECT_LOCK, "SELECT id FROM subjects WHERE collection_id = ?1 AND external_id = ?2") \
    /* New subject, or consent_ref / expires_at replaced where given; no row back when it    \
     * exists and nothing is to change, or when the collection does not exist (an upsert  \
     * with RETURNING: SQLite 3.35; the WHERE also settles the parse of INSERT…SELECT…ON). */ \
    XX(SUBJECT_UPSERT, "INSERT INTO subjects(collection_id, external_id, display_name,"   \
                       " created_at, consent_ref, expires_at)"                            \
                       " SELECT ?1, ?2, ?3, ?4, ?5, ?6"                                   \
                       " WHERE EXISTS (SELECT 1 FROM collections WHERE id = ?1)"          \
                       " ON CONFLICT (collection_id, external_id) DO UPDATE SET"          \
                       " consent_ref = coalesce(excluded.consent_ref, consent_ref),"      \
                       " expires_at = coalesce(excluded.expires_at, expires_at)"          \
                       " WHERE excluded.consent_ref IS NOT NULL"                          \
                       " OR excluded.expires_at IS NOT NULL RETURNING id")                \
    /* with the subjects that have no expiry: store_sql.c checks their tags */             \
    XX(SUBJECT_EXPIRED, EXPIRED_COLUMNS " WHERE coalesce(s.expires_at, 0) <= ?1"          \
                        " ORDER BY s.expires_at, s.id")                                   \
    XX(SUBJECT_LIST, SUBJECT_ROW("(SELECT count(*) FROM faces f WHERE f.subject_id = s.id)") \
                     " WHERE s.collection_id = ?1 ORDER BY s.external_id")               \
    XX(SUBJECT_GET, SUBJECT_ROW("0") " WHERE s.collection_id = ?1 AND s.external_id = ?2") \
    XX(SUBJECT_ALL, SUBJECT_ROW("0") " ORDER BY s.id")                                     \
    XX(SUBJECT_TAG, "UPDATE subjects SET mac = ?2 WHERE id = ?1")                          \
    XX(COLLECTION_TAG, "UPDATE collections SET mac = ?2 WHERE id = ?1")                    \
    XX(KEY_TAG, "UPDATE api_keys SET mac = ?2 WHERE id = ?1")                              \
    XX(TAGS_PENDING, "SELECT count(*) FROM row_tags WHERE pending = 1")                    \
    XX(TAGS_DONE, "DELETE FROM row_tags")                                                  \
    XX(DECISION_TAG, "UPDATE review_decisions SET audit_seq = ?3, mac = ?4"                \
                     " WHERE review_id = ?1 AND reviewer = ?2")                            \
    XX(SUBJECT_IN, "SELECT 1 FROM subjects WHERE id = ?1 AND collection_id = ?2")         \
    XX(SUBJECT_COUNTS, "SELECT count(*), count(c.face_id) FROM faces f"                   \
                       " LEFT JOIN crops c ON c.face_id = f.id WHERE f.subject_id = ?1")  \
    XX(SUBJECT_DELETE, "DELETE FROM subjects WHERE id = ?1")                              \
    XX(FACE_BLOBS, "SELECT s.collection_id, f.subject_id, f.template, c.rgb, s.external_id FROM faces f"  \
                   " JOIN subjects s ON s.id = f.subject_id"                              \
                   " LEFT JOIN crops c ON c.face_id = f.id WHERE f.id = ?1")              \
    XX(FACE_MOVE, "UPDATE faces SET subject_id = ?2, template = ?3 WHERE id = ?1")        \
    XX(CROP_MOVE, "UPDATE crops SET rgb = ?2 WHERE face_id = ?1")                         \
    XX(FACE_EXISTS, "SELECT 1 FROM subjects s JOIN faces f ON f.subject_id = s.id"        \
                    " WHERE s.collection_id = ?1 AND s.external_id = ?2"                  \
                    " AND f.image_sha256 = ?3 LIMIT 1")                                   \
    XX(FACE_INSERT, "INSERT INTO faces(subject_id, template, quality_class,"              \
                    " interocular_px, sharpness, yaw, pitch, roll, detector_score,"       \
                    " landmark_score, image_sha256, created_at)"                          \
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")        \
    XX(CROP_INSERT, "INSERT INTO crops(face_id, rgb) VALUES (?1, ?2)")                    \
    XX(FACE_SCAN, "SELECT f.id, f.subject_id, s.external_id, f.template, f.quality_class," \
                  " f.yaw, f.pitch FROM subjects s"                                     \
                  " JOIN faces f ON f.subject_id = s.id WHERE s.collection_id = ?1")    \
    XX(RESEAL_FACES, "SELECT f.id, s.collection_id, f.subject_id, s.external_id FROM faces f" \
                     " JOIN subjects s ON s.id = f.subject_id")                           \
    XX(RESEAL_CROPS, "SELECT c.face_id, s.collection_id, f.subject_id, s.external_id"     \
                     " FROM crops c"                                                       \
                     " JOIN faces f ON f.id = c.face_id JOIN subjects s ON s.id = f.subject_id") \
    XX(FACE_GET_TEMPLATE, "SELECT template FROM faces WHERE id = ?1")                     \
    XX(FACE_SET_TEMPLATE, "UPDATE faces SET template = ?2 WHERE id = ?1")                 \
    XX(CROP_GET_RGB, "SELECT rgb FROM crops WHERE face_id = ?1")                          \
    XX(CROP_SET_RGB, "UPDATE crops SET rgb = ?2 WHERE face_id = ?1")                      \
    XX(AUDIT_LAST, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")               \
    /* Only the next number: no row when ?1 is taken or leaves a gap (store.h). */         \
    XX(AUDIT_INSERT, "INSERT INTO audit(seq, time, actor, action, collection, purpose,"   \
                     " case_ref, input_sha256, outcome, result, prev_hash, hash, mac)"    \
                     " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13"    \
                     " WHERE ?1 = (SELECT coalesce(max(seq), 0) + 1 FROM audit)")        \
    XX(AUDIT_SCAN, AUDIT_COLUMNS " WHERE seq >= ?1 AND (?2 = 0 OR time >= ?2)"            \
                   " AND (?3 = 0 OR time <= ?3) ORDER BY seq")                            \
    XX(REVIEW_INSERT, "INSERT INTO reviews(id, collection_id, collection, required,"      \
                      " confirmations, confirmed_rank, status, created_at, search_seq,"   \
                      " candidates, candidates_json, mac)"                                \
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")      \
    XX(REVIEW_GET, REVIEW_COLUMNS " WHERE id = ?1")                                       \
    XX(REVIEW_EXISTS, "SELECT 1 FROM reviews WHERE id = ?1")                              \
    XX(REVIEW_UPDATE, "UPDATE reviews SET status = ?2, confirmations = ?3, mac = ?5,"     \
                      " confirmed_rank = ?4 WHERE id = ?1")                               \
    XX(DECISION_INSERT, "INSERT INTO review_decisions(review_id, reviewer, decision, rank," \
                        " note, time, audit_seq, mac)"                                    \
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                       \
    XX(DECISION_LIST, "SELECT review_id, reviewer, decision, rank, note, time,"           \
                      " audit_seq, mac"                                                   \
                      " FROM review_decisions WHERE review_id = ?1 ORDER BY time, rowid") \
    XX(FACE_GET, "SELECT f.id, f.subject_id, s.external_id, f.template, f.quality_class," \
                 " f.yaw, f.pitch, s.collection_id"                                       \
                 " FROM subjects s JOIN faces f ON f.subject_id = s.id WHERE f.id = ?1")  \
    XX(FACE_SCAN_SUBJECT, "SELECT f.id, f.subject_id, s.external_id, f.template,"         \
                          " f.quality_class, f.yaw, f.pitch"                              \
                          " FROM subjects s JOIN faces f ON f.subject_id = s.id"          \
                          " WHERE s.collection_id = ?1 AND s.external_id = ?2")           \
    XX(KEY_INSERT, "INSERT INTO api_keys(id, secret_hash, role, label, created_at)"       \
                   " VALUES (?1, ?2, ?3, ?4, ?5)")                                        \
    XX(KEY_GET, KEY_COLUMNS " WHERE id = ?1")                                              \
    XX(KEY_LIST, KEY_COLUMNS " ORDER BY created_at, id")                                   \
    XX(KEY_REVOKE, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1"                    \
                   " AND revoked_at IS NULL")                                             \
    /* copying a store (store_copy.c): rows with their ids and times */                    \
    XX(COLLECTION_IMPORT, "INSERT INTO collections(id, name, profile, model_a, model_b,"  \
                          " description, created_at, purposes, legal_basis, consent,"    \
                          " retention_s, review, verification_only, max_fmr_ppb,"        \
                          " max_candidates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"  \
                          " ?10, ?11, ?12, ?13, ?14, ?15)")                              \
    XX(SUBJECT_IMPORT, "INSERT INTO subjects(id, collection_id, external_id, display_name," \
                       " created_at, consent_ref, expires_at)"                            \
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                            \
    XX(FACE_IMPORT, "INSERT INTO faces(id, subject_id, template, quality_class,"          \
                    " interocular_px, sharpness, yaw, pitch, roll, detector_score,"       \
                    " landmark_score, image_sha256, created_at)"                          \
                    " VALUES (?13, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")   \
    XX(KEY_IMPORT, "INSERT INTO api_keys(id, secret_hash, role, label, created_at,"       \
                   " revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                        \
    XX(FACE_SCAN_FULL, "SELECT f.id, f.subject_id, f.template, f.quality_class,"          \
                       " f.interocular_px, f.sharpness, f.yaw, f.pitch, f.roll,"          \
                       " f.detector_score, f.landmark_score, f.image_sha256,"             \
                       " f.created_at, c.rgb, s.external_id FROM subjects s"              \
                       " JOIN faces f ON f.subject_id = s.id"                             \
                       " LEFT JOIN crops c ON c.face_id = f.id"                           \
                       " WHERE s.collection_id = ?1 ORDER BY f.id")                       \
    XX(REVIEW_SCAN, REVIEW_COLUMNS " ORDER BY created_at, rowid")                         \
    /* a collection's reviews (?2 NULL), or those whose candidates name ?2 (a quoted keyed   \
     * subject hash): erasure takes them and their decisions' notes (review_erase) */        \
    XX(DECISION_ERASE, "DELETE FROM review_decisions WHERE review_id IN (SELECT id FROM"  \
                       " reviews WHERE collection_id = ?1 AND (?2 IS NULL"                \
                       " OR instr(candidates_json, ?2) > 0))")                            \
    XX(REVIEW_ERASE, "DELETE FROM reviews WHERE collection_id = ?1 AND (?2 IS NULL"       \
                     " OR instr(candidates_json, ?2) > 0)")                               \
    /* collections is not AUTOINCREMENT (schema 1): its highest id is its largest */      \
    XX(SEQUENCE_GET, "SELECT (SELECT coalesce(max(id), 0) FROM collections),"             \
                     " max((SELECT coalesce(max(id), 0) FROM subjects),"                  \
                     " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'subjects'), 0)),"\
                     " max((SELECT coalesce(max(id), 0) FROM faces),"                     \
                     " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'faces'), 0))") \
    XX(SEQUENCE_ADD, "INSERT INTO sqlite_sequence(name, seq) SELECT ?1, 0"                \
                     " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)") \
    XX(SEQUENCE_RAISE, "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1")

typedef enum stmt_id {
#define STMT_ENUM(name, sql) STMT_##name,
    STMT_MAP(STMT_ENUM)
#undef STMT_ENUM
        STMT_COUNT
} stmt_id;

static const char *const STMT_SQL[STMT_COUNT] = {
#define STMT_TEXT(name, sql) [STMT_##name] = sql,
    STMT_MAP(STMT_TEXT)
#undef STMT_TEXT
};

/* The SQLite driver's statement (store_sql.h): the prepared statement and the index of the
 * next value to bind. */
struct sql_stmt {
    struct sqlite_store *st;
    sqlite3_stmt *q;
    sql_id id;
    int next;    /* parameters bound so far */
    bool ran;    /* stepped once: the next step moves on */
    int rc;      /* the last step's result */
};

typedef struct sqlite_store {
    store_db base; /* first member: a store_db * is a sqlite_store * */
    uint32_t magic;
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT]; /* prepared on first use, finalized at close */
    sql_stmt sql[SQL_COUNT];         /* store_sql.c's statements, over stmts */
    bool scrub_pending; /* an erasure committed inside the caller's transaction: commit()
                           checkpoints after it */
    bool scrub_owed;    /* an erasure committed but its scrub failed (here, or in another
                           process: the marker file, owed_mark): retried at every later commit
                           until one succeeds */
    bool scrub_failed_here; /* this handle's last scrub failed: tried once more at close */
    char path[];        /* as opened, for messages */
} sqlite_store;

static const store_db_ops SQLITE_OPS;

static sqlite_store *as_sqlite(store_db *s)
{
    sqlite_store *st = (sqlite_store *)s;
    assert(st != NULL && st->magic == STORE_MAGIC);
    return st;
}

/* ---- errors --------------------------------------------------------------------------- */

/* Maps SQLite's result `rc` (extended) for operation `what` to a status, with the file and
 * sqlite3_errmsg in the message. Corruption and a full disk get their own words because the
 * operator acts on them differently. */
static mien_status fail(sqlite_store *st, int rc, const char *what, mien_error *err)
{
    int primary = rc & 0xff;
    const char *msg = st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s: database is corrupt (%s)",
                              st->path, what, msg);
    }
    int sys = st->db != NULL ? sqlite3_system_errno(st->db) : 0;
    if (primary == SQLITE_FULL ||
        (primary == SQLITE_IOERR && (sys == ENOSPC || sys == EFBIG || sys == EDQUOT))) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s: disk full (%s)", st->path, what,
                              msg);
    }
    if (primary == SQLITE_NOMEM) {
        return base_error_set(err, MIEN_ERR_NOMEM, "%s: %s: %s", st->path, what, msg);
    }
    if (primary == SQLITE_CANTOPEN) {
        return base_error_set(err, MIEN_ERR_IO, "%s: %s: %s", st->path, what, msg);
    }
    return base_error_set(err, MIEN_ERR_STORE, "%s: %s: %s", st->path, what, msg);
}

/* The cached statement `id`, reset and unbound, in *out; prepares it on first use. */
static mien_status stmt(sqlite_store *st, stmt_id id, sqlite3_stmt **out, mien_error *err)
{
    if (st->stmts[id] == NULL) {
        int rc = sqlite3_prepare_v3(st->db, STMT_SQL[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            *out = NULL;
            return fail(st, rc, "prepare", err);
        }
    } else {
        sqlite3_reset(st->stmts[id]);
        sqlite3_clear_bindings(st->stmts[id]);
    }
    *out = st->stmts[id];
    return MIEN_OK;
}

/* Steps `s` to completion (a statement without rows) and resets it. */
static mien_status run(sqlite_store *st, sqlite3_stmt *s, const char *what, mien_error *err)
{
    int rc = sqlite3_step(s);
    mien_status status = MIEN_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        status = fail(st, rc, what, err);
    }
    sqlite3_reset(s);
    return status;
}

/* Runs the cached statement `id`, which takes no parameters and returns no rows. */
static mien_status run_id(sqlite_store *st, stmt_id id, const char *what, mien_error *err)
{
    sqlite3_stmt *s;
    mien_status status = stmt(st, id, &s, err);
    if (status != MIEN_OK) {
        return status;
    }
    return run(st, s, what, err);
}

/* Steps an INSERT to completion and resets it: a primary-key or unique clash is
 * MIEN_ERR_EXISTS with `exists_msg`, any other failure names `what`. */
static mien_status run_insert(sqlite_store *st, sqlite3_stmt *q, const char *what,
                              const char *exists_msg, mien_error *err)
{
    int rc = sqlite3_step(q);
    mien_status status = MIEN_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        status = base_error_set(err, MIEN_ERR_EXISTS, "%s", exists_msg);
    } else if (rc != SQLITE_DONE) {
        status = fail(st, rc, what, err);
    }
    sqlite3_reset(q);
    return status;
}

/* One uncached statement (pragmas, migrations) with sqlite3_exec. */
static mien_status exec(sqlite_store *st, const char *sql, const char *what, mien_error *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MIEN_OK : fail(st, rc, what, err);
}

/* The first column of the first row of `sql`, as an integer (*out) or text (text[size]). */
static mien_status query_one(sqlite_store *st, const char *sql, int64_t *out, char *text,
                             size_t size, mien_error *err)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) {
        return fail(st, rc, sql, err);
    }
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        mien_status status = rc == SQLITE_DONE
                                 ? base_error_set(err, MIEN_ERR_STORE, "%s: %s returned no row",
                                                  st->path, sql)
                                 : fail(st, rc, sql, err);
        sqlite3_finalize(s);
        return status;
    }
    if (out != NULL) {
        *out = sqlite3_column_int64(s, 0);
    }
    if (text != NULL) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(text, size, "%s", t != NULL ? (const char *)t : "");
    }
    sqlite3_finalize(s);
    return MIEN_OK;
}

/* ---- the driver of store_sql.c (store_sql.h) --------------------------------------------- */

/* The statement of this dialect for each shared id. */
static const stmt_id SQL_STMTS[SQL_COUNT] = {SQL_STMT_MAP(SQL_STMT_OF)};

static mien_status drv_prepare(store_db *s, sql_id id, sql_stmt **out, mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    sql_stmt *q = &st->sql[id];
    mien_status status = stmt(st, SQL_STMTS[id], &q->q, err);
    if (status != MIEN_OK) {
        return status;
    }
    q->st = st;
    q->id = id;
    q->next = 0;
    q->ran = false;
    *out = q;
    return MIEN_OK;
}

static void drv_bind_i64(sql_stmt *q, int64_t v)
{
    sqlite3_bind_int64(q->q, ++q->next, v);
}

static void drv_bind_text(sql_stmt *q, const char *v)
{
    if (v == NULL) {
        sqlite3_bind_null(q->q, ++q->next);
    } else {
        sqlite3_bind_text(q->q, ++q->next, v, -1, SQLITE_STATIC);
    }
}

static void drv_bind_blob(sql_stmt *q, const void *v, size_t n)
{
    if (v == NULL) {
        sqlite3_bind_null(q->q, ++q->next);
    } else {
        sqlite3_bind_blob64(q->q, ++q->next, v, n, SQLITE_STATIC);
    }
}

static mien_status drv_step(sql_stmt *q, bool *row, mien_error *err)
{
    q->ran = true;
    q->rc = sqlite3_step(q->q);
    *row = q->rc == SQLITE_ROW;
    if (q->rc == SQLITE_ROW || q->rc == SQLITE_DONE) {
        return MIEN_OK;
    }
    if (q->rc == SQLITE_CONSTRAINT_PRIMARYKEY || q->rc == SQLITE_CONSTRAINT_UNIQUE) {
        return base_error_set(err, MIEN_ERR_EXISTS, "%s: the id is taken", SQL_WHAT[q->id]);
    }
    return fail(q->st, q->rc, SQL_WHAT[q->id], err);
}

static int64_t drv_changes(sql_stmt *q)
{
    return sqlite3_changes(q->st->db);
}

static int64_t drv_last_id(sql_stmt *q)
{
    return sqlite3_last_insert_rowid(q->st->db);
}

static int64_t drv_col_i64(sql_stmt *q, int col)
{
    return sqlite3_column_int64(q->q, col);
}

static const char *drv_col_text(sql_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q->q, col);
    return t != NULL ? (const char *)t : "";
}

static const void *drv_col_blob(sql_stmt *q, int col, size_t *n)
{
    const void *b = sqlite3_column_blob(q->q, col);
    *n = b != NULL ? (size_t)sqlite3_column_bytes(q->q, col) : 0;
    return b;
}

static bool drv_col_null(sql_stmt *q, int col)
{
    return sqlite3_column_type(q->q, col) == SQLITE_NULL;
}

static double drv_col_f64(sql_stmt *q, int col)
{
    return sqlite3_column_double(q->q, col);
}

static void drv_reset(sql_stmt *q)
{
    sqlite3_reset(q->q);
    sqlite3_clear_bindings(q->q);
    q->next = 0;
}

static mien_status scrub(sqlite_store *st, mien_error *err);
static mien_status op_begin(sqlite_store *st, mien_error *err);
static mien_status op_end(sqlite_store *st, mien_status status, mien_error *err);

static mien_status drv_op_begin(store_db *s, mien_error *err)
{
    return op_begin(as_sqlite(s), err);
}

static mien_status drv_op_end(store_db *s, mien_status status, mien_error *err)
{
    return op_end(as_sqlite(s), status, err);
}

/* Erased rows leave the files: scrub now, or at the caller's commit. */
static mien_status drv_erased(store_db *s, mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    if (sqlite3_get_autocommit(st->db)) {
        return scrub(st, err);
    }
    st->scrub_pending = true;
    return MIEN_OK;
}

/* Steps through every row, calling fn on each; reset after. */
static mien_status drv_scan(sql_stmt *q, sql_row_fn fn, void *ctx, mien_error *err)
{
    mien_status status = MIEN_OK;
    int rc;
    while ((rc = sqlite3_step(q->q)) == SQLITE_ROW) {
        status = fn(ctx, q);
        if (status != MIEN_OK) {
            break;
        }
    }
    if (status == MIEN_OK && rc != SQLITE_DONE) {
        status = fail(q->st, rc, SQL_WHAT[q->id], err);
    }
    drv_reset(q);
    return status;
}

static const sql_driver SQLITE_DRIVER = SQL_DRIVER_INIT;

/* ---- savepoints: make a multi-statement operation atomic whether or not the caller holds
 * a transaction. op_end() releases on success and undoes the operation on failure; when
 * SQLite has already rolled the whole transaction back (it may, on SQLITE_FULL), there is
 * nothing left to undo. */
static mien_status op_begin(sqlite_store *st, mien_error *err)
{
    return run_id(st, STMT_SAVEPOINT, "savepoint", err);
}

static mien_status op_end(sqlite_store *st, mien_status status, mien_error *err)
{
    if (status == MIEN_OK) {
        status = run_id(st, STMT_RELEASE, "release", err);
        if (status == MIEN_OK) {
            return MIEN_OK;
        }
    }
    if (!sqlite3_get_autocommit(st->db)) {
        run_id(st, STMT_ROLLBACK_TO, "rollback to", NULL);
        run_id(st, STMT_RELEASE, "release", NULL);
    }
    return status;
}

/* After an erasure has committed, makes the erased bytes leave the files:
 *
 *   1. VACUUM rebuilds every page. secure_delete zeroes the deleted cells and freed pages,
 *      but not older copies of a cell left in the unallocated gap of a page that SQLite's
 *      b-tree balancing rebuilt earlier: tests/gallery/test_store.c found the erased
 *      subject id in such a gap of a live index page. A rebuilt file has no stale gaps.
 *      Cost: a rewrite of the whole database (docs/store.md gives the measurement).
 *   2. wal_checkpoint(TRUNCATE) copies the WAL (which VACUUM filled with the new images and
 *      which still held the old ones) into the main file and truncates it to zero bytes.
 *
 * Fails when another connection keeps reading an old snapshot past the busy timeout, or when
 * the disk has no room for the rebuilt copy; the rows are deleted either way and the message
 * says so. A failure is never left behind silently (issue 13 item 10): the scrub stays owed
 * (scrub_owed) and is tried again at every later commit of this handle and at its close, and
 * the erasure's caller hears of it (sq_commit, governance_after_commit). VACUUM refuses while
 * a statement of this connection is in progress, so an erasure must not run from inside a
 * face_scan callback. */
/* Records (owed) or clears the debt of a scrub in "<path>.scrub-owed", beside the file, so
 * that a process that ends before a retry succeeds leaves it to the next one that opens the
 * store (open_at). Best effort: the failure itself was reported to the eraser. */
static void owed_mark(const sqlite_store *st, bool owed)
{
    char marker[PATH_MAX];
    if (strcmp(st->path, ":memory:") == 0 ||
        (size_t)snprintf(marker, sizeof(marker), "%s.scrub-owed", st->path) >= sizeof(marker)) {
        return;
    }
    if (!owed) {
        unlink(marker);
        return;
    }
    int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
    }
}

/* Whether an earlier process left a scrub owed (owed_mark). */
static bool owed_marked(const sqlite_store *st)
{
    char marker[PATH_MAX];
    return strcmp(st->path, ":memory:") != 0 &&
           (size_t)snprintf(marker, sizeof(marker), "%s.scrub-owed", st->path) < sizeof(marker) &&
           access(marker, F_OK) == 0;
}

static mien_status scrub(sqlite_store *st, mien_error *err)
{
    st->scrub_pending = false;
    const char *step = "VACUUM";
    int rc = sqlite3_exec(st->db, "VACUUM", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        step = "wal_checkpoint(TRUNCATE)";
        rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    st->scrub_owed = rc != SQLITE_OK;
    st->scrub_failed_here = rc != SQLITE_OK;
    owed_mark(st, rc != SQLITE_OK);
    if (rc != SQLITE_OK) {
        mien_status status = fail(st, rc, step, err);
        return base_error_set(err, status == MIEN_ERR_NOMEM ? MIEN_ERR_NOMEM : MIEN_ERR_STORE,
                              "%s: the rows are deleted, but their bytes may remain in the "
                              "files (%s failed: %s); mien tries again at the next write to "
                              "the store (%s.scrub-owed marks the debt until then)",
                              st->path, step, sqlite3_errmsg(st->db), st->path);
    }
    return MIEN_OK;
}

/* ---- transactions ---------------------------------------------------------------------- */

static mien_status sq_begin(store_db *s, mien_error *err)
{
    /* IMMEDIATE: take the write lock now (waiting up to the busy timeout), not at the first
     * write, where a lock upgrade can fail with SQLITE_BUSY and no retry helps. */
    return run_id(as_sqlite(s), STMT_BEGIN, "begin", err);
}

static void sq_rollback(store_db *s)
{
    sqlite_store *st = as_sqlite(s);
    st->scrub_pending = false;
    if (!sqlite3_get_autocommit(st->db)) {
        run_id(st, STMT_ROLLBACK, "rollback", NULL);
    }
}

static mien_status sq_commit(store_db *s, mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    mien_status status = run_id(st, STMT_COMMIT, "commit", err);
    if (status != MIEN_OK) {
        /* A failed COMMIT (disk full writing the WAL) may leave the transaction open. */
        sq_rollback(s);
        return status;
    }
    bool erased_now = st->scrub_pending;
    if (!erased_now && !st->scrub_owed) {
        return MIEN_OK;
    }
    /* The commit stands whatever the scrub does: the caller still signs the audit head and
     * updates its caches, then governance_after_commit reports a failed scrub of this
     * erasure. An owed scrub retried after some other write stays owed, unreported there. */
    mien_error scrub_err;
    if (scrub(st, &scrub_err) != MIEN_OK && erased_now) {
        s->scrub_failed = 1;
        s->scrub_error = scrub_err;
    }
    return MIEN_OK;
}

/* ---- collections ---------------------------------------------------------------------- */

/* Steps the prepared, bound statement q to its end, collecting one element of elem_size
 * bytes per row, filled by read(). *out (malloc'd, caller frees) and *n on success; nothing
 * on failure (`what` names the operation in the message). */
typedef void (*row_reader)(sqlite3_stmt *q, void *elem);

static mien_status collect_bound(sqlite_store *st, sqlite3_stmt *q, size_t elem_size,
                                 row_reader read, const char *what, void **out, size_t *n,
                                 mien_error *err)
{
    char *list = NULL;
    size_t count = 0, cap = 0;
    int rc;
    mien_status status;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t grown = cap == 0 ? 8 : cap * 2;
            char *more = realloc(list, grown * elem_size);
            if (more == NULL) {
                status = base_error_set(err, MIEN_ERR_NOMEM, "%s", what);
                goto fail_rows;
            }
            list = more;
            cap = grown;
        }
        read(q, list + count++ * elem_size);
    }
    if (rc != SQLITE_DONE) {
        status = fail(st, rc, what, err);
        goto fail_rows;
    }
    sqlite3_reset(q);
    *out = list;
    *n = count;
    return MIEN_OK;

fail_rows:
    sqlite3_reset(q);
    free(list);
    return status;
}

/* ---- faces ---------------------------------------------------------------------------- */

/* The face row and its crop, inside op_begin/op_end: a new id and now (face_insert), or
 * `import_id` and `created_at` as given (face_import, import_id > 0). */
static mien_status insert_face(sqlite_store *st, int64_t collection_id, int64_t subject_id,
                               const store_face_new *f, int64_t import_id, int64_t created_at,
                               int64_t *face_id, mien_error *err)
{
    sqlite3_stmt *q;
    bool found = false;
    mien_status status = sql_subject_in(&st->base, subject_id, collection_id, &found, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (!found) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no subject %lld in collection %lld",
                              (long long)subject_id, (long long)collection_id);
    }

    status = stmt(st, import_id > 0 ? STMT_FACE_IMPORT : STMT_FACE_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (import_id > 0) {
        sqlite3_bind_int64(q, 13, import_id);
    }
    sqlite3_bind_int64(q, 1, subject_id);
    sqlite3_bind_blob64(q, 2, f->template_bytes, f->template_len, SQLITE_STATIC);
    if (f->quality != NULL) {
        const mien_quality *k = f->quality;
        sqlite3_bind_int(q, 3, (int)k->klass);
        sqlite3_bind_double(q, 4, k->interocular_px);
        sqlite3_bind_double(q, 5, k->sharpness);
        sqlite3_bind_double(q, 6, k->yaw);
        sqlite3_bind_double(q, 7, k->pitch);
        sqlite3_bind_double(q, 8, k->roll);
        sqlite3_bind_double(q, 9, k->detector_score);
        sqlite3_bind_double(q, 10, k->landmark_score);
    }
    if (f->image_sha256 != NULL) {
        sqlite3_bind_blob(q, 11, f->image_sha256, 32, SQLITE_STATIC);
    }
    sqlite3_bind_int64(q, 12, import_id > 0 ? created_at : store_db_now(&st->base));
    if (import_id > 0) {
        status = run_insert(st, q, "face_import", "this face id is taken", err);
    } else {
        status = run(st, q, "face_insert", err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    int64_t id = sqlite3_last_insert_rowid(st->db);
    if (f->crop_rgb != NULL) {
        status = stmt(st, STMT_CROP_INSERT, &q, err);
        if (status != MIEN_OK) {
            return status;
        }
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_blob64(q, 2, f->crop_rgb, f->crop_len, SQLITE_STATIC);
        status = run(st, q, "face_insert: crop", err);
        if (status != MIEN_OK) {
            return status;
        }
    }
    *face_id = id;
    return MIEN_OK;
}

static mien_status sq_face_insert(store_db *s, int64_t collection_id, int64_t subject_id,
                                  const store_face_new *face, int64_t *face_id,
                                  mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    int64_t id = 0;
    *face_id = 0;
    if (face == NULL || face->template_bytes == NULL || face->template_len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: no template bytes");
    }
    mien_status status = op_begin(st, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = op_end(st, insert_face(st, collection_id, subject_id, face, 0, 0, &id, err), err);
    if (status == MIEN_OK) {
        *face_id = id;
    }
    return status;
}

/* ---- rewriting blobs (seal.h: key rotation, sealing a schema-2 file) ------------------- */

static void read_blob_ref(sqlite3_stmt *q, void *elem)
{
    store_blob_ref *r = elem;
    r->face_id = sqlite3_column_int64(q, 0);
    r->collection_id = sqlite3_column_int64(q, 1);
    r->subject_id = sqlite3_column_int64(q, 2);
    const unsigned char *ext = sqlite3_column_text(q, 3);
    snprintf(r->external_id, sizeof(r->external_id), "%s", ext != NULL ? (const char *)ext : "");
}

/* Hands blob `ref` (read with `get`) to fn and writes what fn returns with `set`. */
static mien_status rewrite_one(sqlite_store *st, stmt_id get, stmt_id set, store_blob kind,
                               const store_blob_ref *ref, store_rewrite_fn fn, void *ctx,
                               int64_t *count, mien_error *err)
{
    sqlite3_stmt *q;
    uint8_t *out = NULL;
    size_t out_len = 0;
    mien_status status = stmt(st, get, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    sqlite3_bind_int64(q, 1, ref->face_id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        status = fail(st, rc, "rewrite: read", err);
    } else {
        status = fn(ctx, kind, ref, sqlite3_column_blob(q, 0),
                    (size_t)sqlite3_column_bytes(q, 0), &out, &out_len, err);
    }
    sqlite3_reset(q);
    if (status != MIEN_OK || out == NULL) {
        free(out);
        return status;
    }
    status = stmt(st, set, &q, err);
    if (status != MIEN_OK) {
        free(out);
        return status;
    }
    sqlite3_bind_int64(q, 1, ref->face_id);
    sqlite3_bind_blob64(q, 2, out, out_len, free);
    ++*count;
    return run(st, q, "rewrite: write", err);
}

/* Every blob of `kind` through fn. Ids are collected first: SQLite does not promise what a
 * running SELECT sees of the rows its own connection updates. */
static mien_status rewrite_table(sqlite_store *st, store_blob kind, store_rewrite_fn fn,
                                 void *ctx, int64_t *count, mien_error *err)
{
    bool crops = kind == STORE_BLOB_CROP;
    sqlite3_stmt *q;
    void *refs = NULL;
    size_t n = 0;
    mien_status status = stmt(st, crops ? STMT_RESEAL_CROPS : STMT_RESEAL_FACES, &q, err);
    if (status == MIEN_OK) {
        status = collect_bound(st, q, sizeof(store_blob_ref), read_blob_ref, "rewrite", &refs,
                               &n, err);
    }
    for (size_t i = 0; status == MIEN_OK && i < n; i++) {
        status = rewrite_one(st, crops ? STMT_CROP_GET_RGB : STMT_FACE_GET_TEMPLATE,
                             crops ? STMT_CROP_SET_RGB : STMT_FACE_SET_TEMPLATE, kind,
                             (const store_blob_ref *)refs + i, fn, ctx, count, err);
    }
    free(refs);
    return status;
}

static mien_status sq_blob_rewrite(store_db *s, store_blob kind, store_rewrite_fn fn, void *ctx,
                                   int64_t *count, mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    int64_t n = 0;
    mien_status status = op_begin(st, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = op_end(st, rewrite_table(st, kind, fn, ctx, &n, err), err);
    if (count != NULL && status == MIEN_OK) {
        *count += n;
    }
    /* The old (or plaintext) blobs were overwritten in place (secure_delete), but copies
     * may survive in the WAL and in page gaps: scrub as an erasure does. */
    if (status == MIEN_OK && n > 0) {
        status = drv_erased(s, err);
    }
    return status;
}

/* ---- liveness ---------------------------------------------------------------------------- */

/* An open SQLite file is always there to answer: a disk that fails shows in the operations
 * themselves. */
static mien_status sq_ping(store_db *s, mien_error *err)
{
    (void)as_sqlite(s);
    (void)err;
    return MIEN_OK;
}

/* ---- copying a store (store.h "copying a whole store"; store_copy.c) -------------------- */

static mien_status sq_face_import(store_db *s, int64_t collection_id, int64_t subject_id,
                                  int64_t face_id, int64_t created_at,
                                  const store_face_new *face, mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    int64_t id = 0;
    if (face_id <= 0 || face == NULL || face->template_bytes == NULL ||
        face->template_len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_import: no id or template bytes");
    }
    mien_status status = op_begin(st, err);
    if (status != MIEN_OK) {
        return status;
    }
    return op_end(st, insert_face(st, collection_id, subject_id, face, face_id, created_at, &id,
                                  err),
                  err);
}

/* AUTOINCREMENT keeps each table's high-water mark in sqlite_sequence, which ordinary
 * statements may change (https://www.sqlite.org/autoinc.html); an insert with an explicit id
 * already raised it to that id. collections has no AUTOINCREMENT: nothing to raise. */
static mien_status sq_sequence_raise(store_db *s, const store_sequences *at_least,
                                     mien_error *err)
{
    sqlite_store *st = as_sqlite(s);
    static const char *const table[2] = {"subjects", "faces"};
    const int64_t value[2] = {at_least->subjects, at_least->faces};
    sqlite3_stmt *q;
    mien_status status = MIEN_OK;
    for (int i = 0; i < 2 && status == MIEN_OK; i++) {
        if (value[i] <= 0) {
            continue;
        }
        status = stmt(st, STMT_SEQUENCE_ADD, &q, err);
        if (status == MIEN_OK) {
            sqlite3_bind_text(q, 1, table[i], -1, SQLITE_STATIC);
            status = run(st, q, "sequence_raise", err);
        }
        if (status == MIEN_OK) {
            status = stmt(st, STMT_SEQUENCE_RAISE, &q, err);
        }
        if (status == MIEN_OK) {
            sqlite3_bind_text(q, 1, table[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, value[i]);
            status = run(st, q, "sequence_raise", err);
        }
    }
    return status;
}

/* ---- open and close ------------------------------------------------------------------- */

static void sq_close(store_db *s)
{
    if (s == NULL) {
        return;
    }
    sqlite_store *st = as_sqlite(s);
    for (int i = 0; i < STMT_COUNT; i++) {
        sqlite3_finalize(st->stmts[i]);
        st->stmts[i] = NULL;
    }
    if (st->scrub_failed_here) {
        /* one more try; the failure was reported when it happened, and the marker file
         * carries the debt to the next process if this one fails too */
        scrub(st, NULL);
    }
    sqlite3_close(st->db);
    st->magic = 0;
    free(st);
}

/* Refuses files that are not ours before anything is written to them: another application's
 * id, or tables in a file without ours; and schemas newer than this build. *version receives
 * the file's schema version (0 for a new file). */
static mien_status check_identity(sqlite_store *st, int64_t *version, mien_error *err)
{
    int64_t app, tables;
    /* The first read of the file: a non-database fails here with SQLITE_NOTADB. */
    mien_status status = query_one(st, "PRAGMA application_id", &app, NULL, 0, err);
    if (status == MIEN_OK) {
        status = query_one(st, "PRAGMA user_version", version, NULL, 0, err);
    }
    if (status == MIEN_OK) {
        status = query_one(st, "SELECT count(*) FROM sqlite_master", &tables, NULL, 0, err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    if (app != STORE_SQLITE_APPLICATION_ID && (app != 0 || tables != 0)) {
        return base_error_set(err, MIEN_ERR_STORE,
                              "%s: not a mien store (application_id 0x%08llx, %lld schema "
                              "objects); refusing to touch it",
                              st->path, (unsigned long long)(uint32_t)app, (long long)tables);
    }
    if (*version > STORE_SQLITE_SCHEMA_VERSION) {
        return base_error_set(err, MIEN_ERR_STORE,
                              "%s: schema version %lld is newer than this build of mien (%d); "
                              "upgrade mien",
                              st->path, (long long)*version, STORE_SQLITE_SCHEMA_VERSION);
    }
    return MIEN_OK;
}

/* Applies the migration steps after `version` up to `target`, each in its own transaction
 * with its user_version bump (so a crash leaves the file at a whole step). The version is
 * re-read under the write lock: another process may have migrated meanwhile. */
static mien_status migrate(sqlite_store *st, int64_t version, int target, mien_error *err)
{
    char bump[96];
    for (size_t i = (size_t)version; i < (size_t)target; i++) {
        const sql_migration *m = &MIGRATIONS[i];
        int64_t now;
        mien_status status = exec(st, "BEGIN IMMEDIATE", "migration: begin", err);
        if (status != MIEN_OK) {
            return status;
        }
        status = query_one(st, "PRAGMA user_version", &now, NULL, 0, err);
        if (status == MIEN_OK && now < m->version) {
            status = exec(st, m->sql, "migration", err);
            if (status == MIEN_OK) {
                snprintf(bump, sizeof(bump), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                         STORE_SQLITE_APPLICATION_ID, m->version);
                status = exec(st, bump, "migration: version", err);
            }
        }
        if (status == MIEN_OK) {
            status = exec(st, "COMMIT", "migration: commit", err);
        }
        if (status != MIEN_OK) {
            if (!sqlite3_get_autocommit(st->db)) {
                exec(st, "ROLLBACK", "migration: rollback", NULL);
            }
            return status;
        }
    }
    return MIEN_OK;
}

/* Connection settings, identity check, corruption check and migrations up to schema version
 * `target` (file comment). */
static mien_status configure(sqlite_store *st, int target, mien_error *err)
{
    char text[128];
    int64_t version;
    mien_status status = exec(st, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON",
                              "settings", err);
    if (status == MIEN_OK) {
        status = check_identity(st, &version, err);
    }
    if (status == MIEN_OK) {
        status = query_one(st, "PRAGMA journal_mode = WAL", NULL, text, sizeof(text), err);
    }
    if (status == MIEN_OK && strcmp(text, "wal") != 0 && strcmp(st->path, ":memory:") != 0) {
        return base_error_set(err, MIEN_ERR_STORE,
                              "%s: cannot use write-ahead logging (journal_mode stays \"%s\")",
                              st->path, text);
    }
    if (status == MIEN_OK) {
        status = exec(st, "PRAGMA synchronous = FULL", "settings", err);
    }
    if (status == MIEN_OK) {
        status = query_one(st, "PRAGMA quick_check(1)", NULL, text, sizeof(text), err);
        if (status == MIEN_OK && strcmp(text, "ok") != 0) {
            return base_error_set(err, MIEN_ERR_STORE, "%s: database is corrupt (quick_check: %s)",
                                  st->path, text);
        }
    }
    if (status == MIEN_OK) {
        status = migrate(st, version, target, err);
    }
    return status;
}

/* store_sqlite_open() for schema version `target` (store_sqlite_open_version()). */
static mien_status open_at(const char *path, int target, store_db **out, mien_error *err)
{
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "store_sqlite_open: out is NULL");
    }
    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "store path is empty");
    }
    if (sqlite3_libversion_number() < SQLITE_MIN_VERSION) {
        return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                              "SQLite %s is too old for the store: 3.35 or newer is needed "
                              "(INSERT … RETURNING)", sqlite3_libversion());
    }
    size_t len = strlen(path);
    sqlite_store *st = calloc(1, sizeof(*st) + len + 1);
    if (st == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "opening store %s", path);
    }
    memcpy(st->path, path, len + 1);
    st->base.ops = &SQLITE_OPS;
    st->base.where = st->path;
    st->base.driver = &SQLITE_DRIVER;
    st->magic = STORE_MAGIC;
    /* The signed audit head lives beside the file, not in it (governance/audit.h). */
    if ((size_t)snprintf(st->base.audit_head_path, sizeof(st->base.audit_head_path),
                         "%s.audit-head", path) >= sizeof(st->base.audit_head_path)) {
        free(st);
        return base_error_set(err, MIEN_ERR_ARG, "store path is too long");
    }

    mien_status status;
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        status = st->db == NULL ? base_error_set(err, MIEN_ERR_NOMEM, "opening store %s", path)
                                : base_error_set(err, MIEN_ERR_IO, "cannot open store %s: %s",
                                                 path, sqlite3_errmsg(st->db));
        goto fail_db;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    status = configure(st, target, err);
    if (status != MIEN_OK) {
        goto fail_db;
    }
    st->scrub_owed = owed_marked(st); /* retried at this handle's first commit */
    st->base.schema_version = target;
    *out = &st->base;
    return MIEN_OK;

fail_db:
    sqlite3_close(st->db);
    free(st);
    return status;
}

mien_status store_sqlite_open(const char *path, store_db **out, mien_error *err)
{
    return open_at(path, STORE_SQLITE_SCHEMA_VERSION, out, err);
}

mien_status store_sqlite_open_version(const char *path, int version, store_db **out,
                                      mien_error *err)
{
    if (version < 1 || version > STORE_SQLITE_SCHEMA_VERSION) {
        if (out != NULL) {
            *out = NULL;
        }
        return base_error_set(err, MIEN_ERR_ARG, "store_sqlite_open_version: no schema "
                              "version %d (1..%d)", version, STORE_SQLITE_SCHEMA_VERSION);
    }
    return open_at(path, version, out, err);
}

/* ---- test hooks (store_sqlite.h) ------------------------------------------------------ */

static sqlite_store *sqlite_or_null(store_db *s)
{
    return s != NULL && s->ops == &SQLITE_OPS ? as_sqlite(s) : NULL;
}

mien_status store_sqlite_set_max_pages(store_db *s, int64_t pages, int64_t *applied,
                                         mien_error *err)
{
    sqlite_store *st = sqlite_or_null(s);
    char sql[64];
    int64_t got = 0;
    if (st == NULL || pages <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "store_sqlite_set_max_pages: bad arguments");
    }
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
    mien_status status = query_one(st, sql, &got, NULL, 0, err);
    if (status == MIEN_OK && applied != NULL) {
        *applied = got;
    }
    return status;
}

mien_status store_sqlite_integrity(store_db *s, char *out, size_t size, mien_error *err)
{
    sqlite_store *st = sqlite_or_null(s);
    if (st == NULL || out == NULL || size == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "store_sqlite_integrity: bad arguments");
    }
    return query_one(st, "PRAGMA integrity_check(1)", NULL, out, size, err);
}

static const store_db_ops SQLITE_OPS = {SQL_STORE_OPS SQL_BACKEND_OPS(sq)};
