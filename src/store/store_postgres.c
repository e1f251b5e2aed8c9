/* store_postgres.c — the PostgreSQL store: the same collections, subjects, faces, crops, API
 * keys, audit chain and reviews as store_sqlite.c, in a database that several `mien serve`
 * nodes share (DESIGN.md §6, issue 8).
 *
 * One libpq connection per handle (a handle belongs to one thread at a time, store.h). Every
 * statement is prepared once per connection (PQprepare, on first use) and run with
 * PQexecPrepared: values travel as parameters, never inside the SQL text; integers and
 * bytea go in binary, and results come back in binary. SQL casts every parameter
 * ($1::bigint, $2::bytea, ...), so the server never has to guess a type.
 *
 * Transactions: begin() is BEGIN (READ COMMITTED) plus a transaction-scoped advisory lock, the
 * store's write lock, so that the callers' transactions run one after another across every
 * node, as SQLite's BEGIN IMMEDIATE makes them run one after another across processes. The
 * callers rely on that: a review decision reads the review, then writes its new state (two
 * reviewers on two nodes must not both write "1 confirmation"), and every transaction appends
 * to the audit chain, which must stay one chain with several writers (issue 8: "serialise the
 * append in the database"). Under READ COMMITTED each statement takes a fresh snapshot, so a
 * transaction that waited for the lock sees everything committed before it got it. A caller
 * transaction holds the lock for a few statements and one commit (milliseconds); reads
 * outside transactions never take it. commit/rollback are COMMIT/ROLLBACK.
 *
 * An operation of several statements (an erasure, a re-seal) runs in its own BEGIN..COMMIT
 * when the caller holds no transaction and inside SAVEPOINT mien_op when it does, so it is
 * atomic either way (op_begin/op_end); a face and its crop are one statement. Outcomes the
 * callers expect (a taken name, an unknown id) are found without raising an SQL error (ON
 * CONFLICT DO NOTHING, RETURNING, a look-up first), because in PostgreSQL an error aborts the
 * whole enclosing transaction; SQLite's would stay usable.
 *
 * The audit chain: audit_last and audit_insert run inside a caller transaction, under the
 * write lock, so a second node's append reads the last entry only after the first one's
 * commit. audit_insert also refuses (MIEN_ERR_EXISTS) a seq that is not max(seq) + 1, so even
 * a caller that appends outside a transaction cannot fork the chain.
 *
 * Templates and crops arrive sealed (seal.h, above the store, as for the SQLite store), so
 * that a dump, a replica or a backup holds only ciphertext.
 *
 * Erasure deletes the rows at commit. Unlike the SQLite store, it cannot make the bytes leave
 * the server's files: PostgreSQL keeps dead row versions until VACUUM prunes them, and its
 * WAL, replicas and backups keep copies (docs/deploy.md, "Erasure").
 *
 * A lost connection is re-established at the start of the next operation outside a
 * transaction (PQreset, statements prepared again); a read, or a BEGIN, that finds the
 * connection dead is retried once on the new one. Inside a transaction the transaction is
 * lost and the operation fails (MIEN_ERR_IO).
 *
 * What is here is the PostgreSQL dialect and driver: the statement table (STMT_MAP), the
 * driver store_sql.c runs the shared operations on (store_sql.h; scans stream in single-row
 * mode), and what truly differs: transactions under the advisory write lock, subject_erase
 * (FOR UPDATE), face writes (face and crop in one statement),
 * blob_rewrite (a cursor), ping with reconnection, sequence_raise (setval), schema creation
 * and migration. Templates and crops arrive sealed (seal.h). @test
 * gallery/test_store_postgres.c, and gallery/test_store.c, test_gallery.c,
 * governance/test_keys.c with $MIEN_TEST_STORE */
#include "store/store_postgres.h"
#include "store/store_sql.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/error.h"

#define STORE_MAGIC 0x50475351u /* "PGSQ": checked by assert on every call (STYLE rule 10) */


/* Waiting for a lock (the write lock of begin(), a row another node is writing) gives up
 * after this long: the same 5 s as the SQLite store's busy timeout, for the same reason (a
 * stuck peer shows up as an error rather than a hang). A transaction holds the write lock for
 * a few statements and one commit (milliseconds). */
#define LOCK_TIMEOUT "5s"

/* Advisory lock keys (pg_advisory_xact_lock(int4, int4)): the first half is ASCII "mien"
 * (the write lock of begin()) or "migr" (migrations), the second hashtext(current_schema()),
 * so stores in different schemas of one database do not wait for each other. The keys are
 * written into the SQL below as numbers: 0x6d69656e = 1835623790, 0x6d696772 = 1835624306. */
#define LOCK_WRITE_SQL "SELECT pg_advisory_xact_lock(1835623790, hashtext(current_schema()))"
#define LOCK_MIGRATE_SQL "SELECT pg_advisory_xact_lock(1835624306, hashtext(current_schema()))"

/* Rows fetched per round trip by the cursor of blob_rewrite. */
#define RESEAL_BATCH 512

/* ---- schema and migrations -------------------------------------------------------------
 * Step k brings mien_schema.version from k-1 to k, in one transaction with the version bump,
 * under an advisory lock so that nodes starting together migrate once. Steps are never
 * edited once released: a change is a new step. Version 1 is the whole of the SQLite store's
 * schema 3, in PostgreSQL types:
 *   - ids are identity columns (never reused after an erasure, as SQLite's AUTOINCREMENT),
 *     BY DEFAULT so that `mien migrate` can keep a store's ids;
 *   - REAL is DOUBLE PRECISION (SQLite's REAL is 8 bytes), BLOB is BYTEA, INTEGER BIGINT;
 *   - crops.rgb is STORAGE EXTERNAL: sealed pixels are random bytes that TOAST would try and
 *     fail to compress; templates (under 3 kB sealed) stay in the row.
 * The audit log is append-only through triggers, as in SQLite; TRUNCATE too. */
static const sql_migration MIGRATIONS[] = {
    {1,
     "CREATE TABLE collections ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " profile INTEGER NOT NULL CHECK (profile IN (0, 1)),"
     " model_a TEXT NOT NULL,"
     " model_b TEXT NOT NULL,"
     " description TEXT NOT NULL DEFAULT '',"
     " created_at BIGINT NOT NULL,"
     " purposes TEXT NOT NULL DEFAULT '',"
     " legal_basis TEXT NOT NULL DEFAULT '',"
     " consent INTEGER NOT NULL DEFAULT 0,"
     " retention_s BIGINT NOT NULL DEFAULT 31536000,"
     " review INTEGER NOT NULL DEFAULT 0,"
     " verification_only INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE subjects ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
     " external_id TEXT NOT NULL,"
     " display_name TEXT,"
     " created_at BIGINT NOT NULL,"
     " consent_ref TEXT,"
     " expires_at BIGINT,"
     " UNIQUE (collection_id, external_id));"
     "CREATE INDEX subjects_expiry ON subjects(expires_at);"
     "CREATE TABLE faces ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " subject_id BIGINT NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,"
     " template BYTEA NOT NULL,"
     " quality_class INTEGER,"
     " interocular_px DOUBLE PRECISION,"
     " sharpness DOUBLE PRECISION,"
     " yaw DOUBLE PRECISION,"
     " pitch DOUBLE PRECISION,"
     " roll DOUBLE PRECISION,"
     " detector_score DOUBLE PRECISION,"
     " landmark_score DOUBLE PRECISION,"
     " image_sha256 BYTEA CHECK (image_sha256 IS NULL OR octet_length(image_sha256) = 32),"
     " created_at BIGINT NOT NULL);"
     "CREATE INDEX faces_subject_image ON faces(subject_id, image_sha256);"
     "CREATE TABLE crops ("
     " face_id BIGINT PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,"
     " rgb BYTEA NOT NULL);"
     "ALTER TABLE crops ALTER COLUMN rgb SET STORAGE EXTERNAL;"
     "CREATE TABLE api_keys ("
     " id TEXT PRIMARY KEY,"
     " secret_hash BYTEA NOT NULL,"
     " role INTEGER NOT NULL,"
     " label TEXT,"
     " created_at BIGINT,"
     " revoked_at BIGINT);"
     "CREATE TABLE audit ("
     " seq BIGINT PRIMARY KEY CHECK (seq > 0),"
     " time BIGINT NOT NULL,"
     " actor TEXT NOT NULL,"
     " action TEXT NOT NULL,"
     " collection TEXT NOT NULL,"
     " purpose TEXT NOT NULL,"
     " case_ref TEXT NOT NULL,"
     " input_sha256 TEXT NOT NULL,"
     " outcome TEXT NOT NULL,"
     " result TEXT NOT NULL,"
     " prev_hash BYTEA NOT NULL,"
     " hash BYTEA NOT NULL,"
     " mac BYTEA NOT NULL);"
     "CREATE INDEX audit_time ON audit(time);"
     "CREATE FUNCTION mien_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
     " $f$BEGIN RAISE EXCEPTION 'the audit log is append-only'; END$f$;"
     "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
     " FOR EACH ROW EXECUTE FUNCTION mien_audit_append_only();"
     "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
     " FOR EACH STATEMENT EXECUTE FUNCTION mien_audit_append_only();"
     /* Reviews outlive their collection (no foreign key), as in SQLite. One decision per
      * reviewer (the primary key); seq keeps "oldest first" exact within a second. */
     "CREATE TABLE reviews ("
     " id TEXT PRIMARY KEY,"
     " collection_id BIGINT NOT NULL,"
     " collection TEXT NOT NULL,"
     " required INTEGER NOT NULL,"
     " confirmations INTEGER NOT NULL DEFAULT 0,"
     " confirmed_rank INTEGER NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " search_seq BIGINT NOT NULL,"
     " candidates BIGINT NOT NULL,"
     " candidates_json TEXT NOT NULL,"
     " mac BYTEA NOT NULL);"
     "CREATE TABLE review_decisions ("
     " seq BIGINT GENERATED ALWAYS AS IDENTITY,"
     " review_id TEXT NOT NULL REFERENCES reviews(id),"
     " reviewer TEXT NOT NULL,"
     " decision INTEGER NOT NULL,"
     " rank INTEGER NOT NULL,"
     " note TEXT NOT NULL,"
     " time BIGINT NOT NULL,"
     " PRIMARY KEY (review_id, reviewer));"},
    {2,
     /* The caps on what one search may return, as SQLite's step 4. */
     "ALTER TABLE collections ADD COLUMN max_fmr_ppb BIGINT NOT NULL DEFAULT 10000000;"
     "ALTER TABLE collections ADD COLUMN max_candidates BIGINT NOT NULL DEFAULT 50;"
     /* Row tags, as SQLite's step 4 (store/tag.h; governance/upgrade.c tags existing rows). */
     "ALTER TABLE collections ADD COLUMN mac BYTEA;"
     "ALTER TABLE subjects ADD COLUMN mac BYTEA;"
     "ALTER TABLE api_keys ADD COLUMN mac BYTEA;"
     "ALTER TABLE review_decisions ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE review_decisions ADD COLUMN mac BYTEA;"
     "CREATE TABLE row_tags (pending INTEGER NOT NULL);"
     "INSERT INTO row_tags SELECT 1 WHERE EXISTS (SELECT 1 FROM collections)"
     " OR EXISTS (SELECT 1 FROM api_keys) OR EXISTS (SELECT 1 FROM audit);"},
};

#define MIGRATION_COUNT (sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0]))
_Static_assert(MIGRATION_COUNT == STORE_POSTGRES_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements -----------------------------------------------------------------------
 * XX(name, read_only, sql). read_only statements are retried once on a fresh connection when
 * the old one turns out dead outside a transaction (the file comment). Sort orders use
 * COLLATE "C" so that lists come in byte order, as SQLite's BINARY collation gives them,
 * whatever the database's locale. */

/* The highest id table T has handed out: its identity sequence's last value (NULL before the
 * first nextval) or its largest id (rows imported with explicit ids do not move the
 * sequence). SEQ_RAISE sets the sequence to at least that and the parameter P, skipping 0
 * (setval refuses values below the sequence's minimum, 1). */
#define SEQ_HIGH(T)                                                                        \
    "greatest(coalesce(pg_sequence_last_value(pg_get_serial_sequence('" T "', 'id')"       \
    "::regclass), 0), (SELECT coalesce(max(id), 0) FROM " T "))"
#define SEQ_RAISE(T, P)                                                                    \
    "(SELECT setval(pg_get_serial_sequence('" T "', 'id'), v) FROM (SELECT greatest("      \
    P "::bigint, " SEQ_HIGH(T) ") AS v) x WHERE v > 0)"

#define STMT_MAP(XX)                                                                       \
    XX(COLLECTION_INSERT, 0,                                                               \
       "INSERT INTO collections(name, profile, model_a, model_b, description, created_at," \
       " purposes, legal_basis, consent, retention_s, review, verification_only,"          \
       " max_fmr_ppb, max_candidates)"                                                     \
       " VALUES ($1::text, $2::bigint, $3::text, $4::text, $5::text, $6::bigint,"          \
       " $7::text, $8::text, $9::bigint, $10::bigint, $11::bigint, $12::bigint,"           \
       " $13::bigint, $14::bigint)"                                                        \
       " ON CONFLICT (name) DO NOTHING RETURNING id")                                      \
    XX(COLLECTION_GET, 1, COLLECTION_COLUMNS " WHERE c.name = $1::text")                   \
    XX(COLLECTION_LIST, 1, COLLECTION_COLUMNS " ORDER BY c.name COLLATE \"C\"")            \
    XX(COLLECTION_DELETE, 0, "DELETE FROM collections WHERE id = $1::bigint RETURNING id") \
    XX(SUBJECT_FIND, 1,                                                                    \
       "SELECT id FROM subjects WHERE collection_id = $1::bigint AND external_id = $2::text") \
    XX(SUBJECT_LOCK, 0,                                                                    \
       "SELECT id FROM subjects WHERE collection_id = $1::bigint AND external_id = $2::text" \
       " FOR UPDATE")                                                                      \
    /* New subject, or consent_ref / expires_at replaced where given; no row back when it  \
     * exists and nothing is to change, or when the collection does not exist. */         \
    XX(SUBJECT_UPSERT, 0,                                                                  \
       "INSERT INTO subjects(collection_id, external_id, display_name, created_at,"         \
       " consent_ref, expires_at) SELECT $1::bigint, $2::text, $3::text, $4::bigint,"      \
       " $5::text, $6::bigint WHERE EXISTS (SELECT 1 FROM collections WHERE id = $1::bigint)" \
       " ON CONFLICT (collection_id, external_id) DO UPDATE SET"                          \
       " consent_ref = coalesce(EXCLUDED.consent_ref, subjects.consent_ref),"             \
       " expires_at = coalesce(EXCLUDED.expires_at, subjects.expires_at)"                 \
       " WHERE EXCLUDED.consent_ref IS NOT NULL OR EXCLUDED.expires_at IS NOT NULL"        \
       " RETURNING id")                                                                    \
    /* with the subjects that have no expiry: store_sql.c checks their tags */             \
    XX(SUBJECT_EXPIRED, 1,                                                                 \
       EXPIRED_COLUMNS " WHERE coalesce(s.expires_at, 0) <= $1::bigint"                    \
       " ORDER BY s.expires_at, s.id")                                                     \
    XX(SUBJECT_LIST, 1,                                                                    \
       SUBJECT_ROW("(SELECT count(*) FROM faces f WHERE f.subject_id = s.id)")             \
       " WHERE s.collection_id = $1::bigint ORDER BY s.external_id COLLATE \"C\"")         \
    XX(SUBJECT_GET, 1,                                                                     \
       SUBJECT_ROW("0") " WHERE s.collection_id = $1::bigint AND s.external_id = $2::text") \
    XX(SUBJECT_ALL, 1, SUBJECT_ROW("0") " ORDER BY s.id")                                  \
    XX(SUBJECT_TAG, 0, "UPDATE subjects SET mac = $2::bytea WHERE id = $1::bigint")        \
    XX(COLLECTION_TAG, 0, "UPDATE collections SET mac = $2::bytea WHERE id = $1::bigint")  \
    XX(KEY_TAG, 0, "UPDATE api_keys SET mac = $2::bytea WHERE id = $1::text")              \
    XX(TAGS_PENDING, 1, "SELECT count(*) FROM row_tags WHERE pending = 1")                 \
    XX(TAGS_DONE, 0, "DELETE FROM row_tags")                                               \
    XX(DECISION_TAG, 0,                                                                    \
       "UPDATE review_decisions SET audit_seq = $3::bigint, mac = $4::bytea"               \
       " WHERE review_id = $1::text AND reviewer = $2::text")                              \
    XX(SUBJECT_COUNTS, 1,                                                                  \
       "SELECT count(*), count(c.face_id) FROM faces f"                                   \
       " LEFT JOIN crops c ON c.face_id = f.id WHERE f.subject_id = $1::bigint")           \
    XX(SUBJECT_DELETE, 0, "DELETE FROM subjects WHERE id = $1::bigint")                    \
    XX(FACE_BLOBS, 0,                                                                      \
       "SELECT s.collection_id, f.subject_id, f.template, c.rgb, s.external_id FROM faces f"             \
       " JOIN subjects s ON s.id = f.subject_id LEFT JOIN crops c ON c.face_id = f.id"     \
       " WHERE f.id = $1::bigint FOR UPDATE OF f")                                         \
    XX(FACE_MOVE, 0,                                                                       \
       "UPDATE faces SET subject_id = $2::bigint, template = $3::bytea WHERE id = $1::bigint") \
    XX(CROP_MOVE, 0, "UPDATE crops SET rgb = $2::bytea WHERE face_id = $1::bigint")        \
    XX(FACE_EXISTS, 1,                                                                     \
       "SELECT 1 FROM subjects s JOIN faces f ON f.subject_id = s.id"                     \
       " WHERE s.collection_id = $1::bigint AND s.external_id = $2::text"                  \
       " AND f.image_sha256 = $3::bytea LIMIT 1")                                          \
    /* The face and its crop ($14, NULL for none) in one statement, so atomic without a    \
     * savepoint; no row back when subject $1 is not in collection $13. */                 \
    XX(FACE_INSERT, 0,                                                                     \
       "WITH s AS (SELECT id FROM subjects WHERE id = $1::bigint"                          \
       " AND collection_id = $13::bigint),"                                                \
       " f AS (INSERT INTO faces(subject_id, template, quality_class, interocular_px,"     \
       " sharpness, yaw, pitch, roll, detector_score, landmark_score, image_sha256,"       \
       " created_at) SELECT s.id, $2::bytea, $3::bigint, $4::float8, $5::float8,"          \
       " $6::float8, $7::float8, $8::float8, $9::float8, $10::float8, $11::bytea,"         \
       " $12::bigint FROM s RETURNING id),"                                                \
       " c AS (INSERT INTO crops(face_id, rgb) SELECT f.id, $14::bytea FROM f"             \
       " WHERE $14::bytea IS NOT NULL)"                                                    \
       " SELECT id FROM f")                                                                \
    XX(FACE_SCAN, 1,                                                                       \
       "SELECT f.id, f.subject_id, s.external_id, f.template, f.quality_class, f.yaw,"    \
       " f.pitch FROM subjects s"                                                          \
       " JOIN faces f ON f.subject_id = s.id WHERE s.collection_id = $1::bigint")          \
    XX(FACE_GET, 1,                                                                        \
       "SELECT f.id, f.subject_id, s.external_id, f.template, f.quality_class, f.yaw,"    \
       " f.pitch, s.collection_id"                                                         \
       " FROM subjects s JOIN faces f ON f.subject_id = s.id WHERE f.id = $1::bigint")     \
    XX(FACE_SCAN_SUBJECT, 1,                                                               \
       "SELECT f.id, f.subject_id, s.external_id, f.template, f.quality_class, f.yaw,"    \
       " f.pitch FROM subjects s"                                                          \
       " JOIN faces f ON f.subject_id = s.id WHERE s.collection_id = $1::bigint"           \
       " AND s.external_id = $2::text")                                                    \
    XX(FACE_SET_TEMPLATE, 0, "UPDATE faces SET template = $2::bytea WHERE id = $1::bigint") \
    XX(CROP_SET_RGB, 0, "UPDATE crops SET rgb = $2::bytea WHERE face_id = $1::bigint")    \
    XX(AUDIT_LAST, 1, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")             \
    XX(AUDIT_INSERT, 0,                                                                    \
       "INSERT INTO audit(seq, time, actor, action, collection, purpose, case_ref,"        \
       " input_sha256, outcome, result, prev_hash, hash, mac)"                             \
       " SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::text," \
       " $8::text, $9::text, $10::text, $11::bytea, $12::bytea, $13::bytea"                \
       " WHERE $1::bigint = (SELECT coalesce(max(seq), 0) + 1 FROM audit)"                 \
       " ON CONFLICT (seq) DO NOTHING RETURNING seq")                                      \
    XX(AUDIT_SCAN, 1,                                                                      \
       AUDIT_COLUMNS " WHERE seq >= $1::bigint"                                            \
       " AND ($2::bigint = 0 OR time >= $2::bigint)"                                       \
       " AND ($3::bigint = 0 OR time <= $3::bigint) ORDER BY seq")                         \
    XX(REVIEW_INSERT, 0,                                                                   \
       "INSERT INTO reviews(id, collection_id, collection, required, confirmations,"       \
       " confirmed_rank, status, created_at, search_seq, candidates, candidates_json, mac)" \
       " VALUES ($1::text, $2::bigint, $3::text, $4::bigint, $5::bigint, $6::bigint,"      \
       " $7::text, $8::bigint, $9::bigint, $10::bigint, $11::text, $12::bytea)"            \
       " ON CONFLICT (id) DO NOTHING RETURNING id")                                        \
    XX(REVIEW_GET, 1, REVIEW_COLUMNS " WHERE id = $1::text")                               \
    XX(REVIEW_UPDATE, 0,                                                                   \
       "UPDATE reviews SET status = $2::text, confirmations = $3::bigint,"                 \
       " confirmed_rank = $4::bigint, mac = $5::bytea WHERE id = $1::text RETURNING id")   \
    /* The review must exist (a foreign key error would abort the caller's transaction). */ \
    XX(DECISION_INSERT, 0,                                                                 \
       "INSERT INTO review_decisions(review_id, reviewer, decision, rank, note, time,"      \
       " audit_seq, mac) SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::text,"     \
       " $6::bigint, $7::bigint, $8::bytea"                                                \
       " WHERE EXISTS (SELECT 1 FROM reviews WHERE id = $1::text)"                         \
       " ON CONFLICT (review_id, reviewer) DO NOTHING RETURNING 1")                        \
    XX(DECISION_LIST, 1,                                                                   \
       "SELECT review_id, reviewer, decision, rank, note, time, audit_seq, mac"           \
       " FROM review_decisions"                                                            \
       " WHERE review_id = $1::text ORDER BY time, seq")                                   \
    XX(REVIEW_EXISTS, 1, "SELECT 1 FROM reviews WHERE id = $1::text")                      \
    XX(KEY_INSERT, 0,                                                                      \
       "INSERT INTO api_keys(id, secret_hash, role, label, created_at)"                    \
       " VALUES ($1::text, $2::bytea, $3::bigint, $4::text, $5::bigint)"                   \
       " ON CONFLICT (id) DO NOTHING RETURNING id")                                        \
    XX(KEY_GET, 1, KEY_COLUMNS " WHERE id = $1::text")                                     \
    XX(KEY_LIST, 1, KEY_COLUMNS " ORDER BY created_at, id COLLATE \"C\"")                 \
    XX(KEY_REVOKE, 0,                                                                      \
       "UPDATE api_keys SET revoked_at = $2::bigint WHERE id = $1::text"                   \
       " AND revoked_at IS NULL")                                                          \
    XX(SCHEMA_VERSION, 1, "SELECT application, version FROM mien_schema")                 \
    XX(PING, 1, "SELECT 1")                                                                \
    XX(SUBJECT_IN, 1,                                                                      \
       "SELECT id FROM subjects WHERE id = $1::bigint AND collection_id = $2::bigint")      \
    /* copying a store (store_copy.c): rows with their ids and times; ON CONFLICT so that  \
     * a taken id or name is MIEN_ERR_EXISTS without aborting the transaction */           \
    XX(COLLECTION_IMPORT, 0,                                                               \
       "INSERT INTO collections(id, name, profile, model_a, model_b, description,"         \
       " created_at, purposes, legal_basis, consent, retention_s, review,"                 \
       " verification_only, max_fmr_ppb, max_candidates) VALUES ($1::bigint, $2::text,"   \
       " $3::bigint, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text,"        \
       " $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint, $15::bigint)"    \
       " ON CONFLICT DO NOTHING RETURNING id")                                             \
    XX(SUBJECT_IMPORT, 0,                                                                  \
       "INSERT INTO subjects(id, collection_id, external_id, display_name, created_at,"     \
       " consent_ref, expires_at) SELECT $1::bigint, $2::bigint, $3::text, $4::text,"      \
       " $5::bigint, $6::text, $7::bigint"                                                 \
       " WHERE EXISTS (SELECT 1 FROM collections WHERE id = $2::bigint)"                   \
       " ON CONFLICT DO NOTHING RETURNING id")                                             \
    /* FACE_INSERT with the id ($15) and time ($12) given */                               \
    XX(FACE_IMPORT, 0,                                                                     \
       "WITH s AS (SELECT id FROM subjects WHERE id = $1::bigint"                          \
       " AND collection_id = $13::bigint),"                                                \
       " f AS (INSERT INTO faces(id, subject_id, template, quality_class, interocular_px," \
       " sharpness, yaw, pitch, roll, detector_score, landmark_score, image_sha256,"       \
       " created_at) SELECT $15::bigint, s.id, $2::bytea, $3::bigint, $4::float8,"         \
       " $5::float8, $6::float8, $7::float8, $8::float8, $9::float8, $10::float8,"         \
       " $11::bytea, $12::bigint FROM s ON CONFLICT DO NOTHING RETURNING id),"             \
       " c AS (INSERT INTO crops(face_id, rgb) SELECT f.id, $14::bytea FROM f"             \
       " WHERE $14::bytea IS NOT NULL)"                                                    \
       " SELECT id FROM f")                                                                \
    XX(KEY_IMPORT, 0,                                                                      \
       "INSERT INTO api_keys(id, secret_hash, role, label, created_at, revoked_at)"        \
       " VALUES ($1::text, $2::bytea, $3::bigint, $4::text, $5::bigint, $6::bigint)"       \
       " ON CONFLICT (id) DO NOTHING RETURNING id")                                        \
    XX(FACE_SCAN_FULL, 1,                                                                  \
       "SELECT f.id, f.subject_id, f.template, f.quality_class, f.interocular_px,"         \
       " f.sharpness, f.yaw, f.pitch, f.roll, f.detector_score, f.landmark_score,"         \
       " f.image_sha256, f.created_at, c.rgb, s.external_id FROM subjects s"               \
       " JOIN faces f ON f.subject_id = s.id LEFT JOIN crops c ON c.face_id = f.id"        \
       " WHERE s.collection_id = $1::bigint ORDER BY f.id")                                \
    XX(REVIEW_SCAN, 1, REVIEW_COLUMNS " ORDER BY created_at, id COLLATE \"C\"")            \
    /* a collection's reviews ($2 NULL), or those whose candidates name $2 (review_erase) */ \
    XX(DECISION_ERASE, 0,                                                                  \
       "DELETE FROM review_decisions WHERE review_id IN (SELECT id FROM reviews"           \
       " WHERE collection_id = $1::bigint AND ($2::text IS NULL"                           \
       " OR strpos(candidates_json, $2::text) > 0))")                                      \
    XX(REVIEW_ERASE, 0,                                                                    \
       "DELETE FROM reviews WHERE collection_id = $1::bigint AND ($2::text IS NULL"        \
       " OR strpos(candidates_json, $2::text) > 0)")                                       \
    XX(SEQUENCE_GET, 1,                                                                    \
       "SELECT " SEQ_HIGH("collections") ", " SEQ_HIGH("subjects") ", " SEQ_HIGH("faces")) \
    XX(SEQUENCE_RAISE, 0,                                                                  \
       "SELECT " SEQ_RAISE("collections", "$1") ", " SEQ_RAISE("subjects", "$2") ", "      \
       SEQ_RAISE("faces", "$3"))

typedef enum stmt_id {
#define STMT_ENUM(name, ro, sql) STMT_##name,
    STMT_MAP(STMT_ENUM)
#undef STMT_ENUM
        STMT_COUNT
} stmt_id;

typedef struct stmt_def {
    const char *name; /* the prepared statement's name on the server, and for messages */
    bool read_only;
    const char *sql;
} stmt_def;

static const stmt_def STMTS[STMT_COUNT] = {
#define STMT_DEF(n, ro, s) [STMT_##n] = {"mien_" #n, ro, s},
    STMT_MAP(STMT_DEF)
#undef STMT_DEF
};

typedef struct pg_store {
    store_db base; /* first member: a store_db * is a pg_store * */
    uint32_t magic;
    PGconn *conn;
    bool in_tx;                    /* between the caller's begin() and commit()/rollback() */
    bool in_op;                    /* inside an operation's own BEGIN..COMMIT (op_begin) */
    bool streaming;                /* a scan is handing rows to its callback (stream) */
    bool prepared[STMT_COUNT];     /* on the current connection */
    char sqlstate[6];              /* of the last failed statement ("" when none) */
    char where[256];               /* "postgres USER@HOST:PORT/DB", for messages */
    struct sql_stmt *sql;          /* store_sql.c's statements, SQL_COUNT of them (owned) */
    bool op_own;                   /* drv_op_begin's scope began with our own BEGIN */
} pg_store;

static const store_db_ops POSTGRES_OPS;

static pg_store *as_pg(store_db *s)
{
    pg_store *st = (pg_store *)s;
    assert(st != NULL && st->magic == STORE_MAGIC);
    return st;
}

/* ---- parameters -------------------------------------------------------------------------
 * Up to PARAMS_MAX values per statement: integers and doubles as 8 bytes big-endian (binary
 * format), bytea as raw bytes (binary), text as C strings (text format); NULL as NULL. */
#define PARAMS_MAX 16

typedef struct pq_params {
    int n;
    const char *values[PARAMS_MAX];
    int lengths[PARAMS_MAX];
    int formats[PARAMS_MAX];
    char ints[PARAMS_MAX][8];
} pq_params;

static void put_be64(char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (char)(uint8_t)(v >> (56 - 8 * i));
    }
}

static void p_i64(pq_params *p, int64_t v)
{
    assert(p->n < PARAMS_MAX);
    put_be64(p->ints[p->n], (uint64_t)v);
    p->values[p->n] = p->ints[p->n];
    p->lengths[p->n] = 8;
    p->formats[p->n] = 1;
    p->n++;
}

static void p_f64(pq_params *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    p_i64(p, (int64_t)bits);
}

/* Text (NULL: SQL NULL). The string must stay valid until the statement has run. */
static void p_text(pq_params *p, const char *s)
{
    assert(p->n < PARAMS_MAX);
    p->values[p->n] = s;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 0;
    p->n++;
}

/* Bytes (NULL: SQL NULL), sent as they are (binary bytea). */
static void p_bytes(pq_params *p, const void *b, size_t n)
{
    assert(p->n < PARAMS_MAX);
    p->values[p->n] = b;
    p->lengths[p->n] = (int)n;
    p->formats[p->n] = 1;
    p->n++;
}

static void p_null(pq_params *p)
{
    p_bytes(p, NULL, 0);
}

/* ---- binary result columns ----------------------------------------------------------- */

static uint64_t get_be(const char *v, int len)
{
    uint64_t x = 0;
    for (int i = 0; i < len; i++) {
        x = (x << 8) | (uint8_t)v[i];
    }
    return x;
}

/* An integer column (int2, int4, int8 or bool in binary); 0 for NULL. */
static int64_t col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return 0;
    }
    const char *v = PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    uint64_t x = get_be(v, len);
    switch (len) {
    case 1:
        return (int64_t)(int8_t)x;
    case 2:
        return (int64_t)(int16_t)x;
    case 4:
        return (int64_t)(int32_t)x;
    default:
        return (int64_t)x;
    }
}

/* A text column into dst[size] ("" for NULL), truncated to fit. */
static void col_text(char *dst, size_t size, const PGresult *r, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* ---- errors ----------------------------------------------------------------------------- */

/* Copies libpq's message as one line: its line breaks and tabs ("server closed the connection
 * unexpectedly\n\tThis probably means ...") become single spaces, the trailing ones go. */
static void trim_message(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    bool space = false;
    for (const char *p = msg != NULL ? msg : ""; *p != '\0' && n + 1 < size; p++) {
        bool blank = *p == '\n' || *p == '\r' || *p == '\t' || *p == ' ';
        if (blank) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size) {
            dst[n++] = ' ';
        }
        space = false;
        dst[n++] = *p;
    }
    dst[n] = '\0';
}

/* Maps a failed result (or, when r is NULL, the connection's state) for operation `what` to a
 * status, with the store, the operation and the server's message. SQLSTATE classes
 * (https://www.postgresql.org/docs/15/errcodes-appendix.html): 08 connection, 53100 disk
 * full, 53200 out of memory, XX001/XX002 corruption, 22021 bad UTF-8 (an argument), 55P03
 * lock timeout, 40P01 deadlock. Remembers the SQLSTATE in st->sqlstate. */
static mien_status fail(pg_store *st, const PGresult *r, const char *what, mien_error *err)
{
    char msg[300];
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", state != NULL ? state : "");
    trim_message(msg, sizeof(msg), primary != NULL ? primary : PQerrorMessage(st->conn));
    if (PQstatus(st->conn) == CONNECTION_BAD || strncmp(st->sqlstate, "08", 2) == 0) {
        return base_error_set(err, MIEN_ERR_IO, "%s: %s: connection to the database lost (%s)",
                              st->where, what, msg);
    }
    if (strcmp(st->sqlstate, "53100") == 0) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s: disk full (%s)", st->where, what,
                              msg);
    }
    if (strcmp(st->sqlstate, "53200") == 0) {
        return base_error_set(err, MIEN_ERR_NOMEM, "%s: %s: %s", st->where, what, msg);
    }
    if (strcmp(st->sqlstate, "XX001") == 0 || strcmp(st->sqlstate, "XX002") == 0) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s: database is corrupt (%s)",
                              st->where, what, msg);
    }
    if (strcmp(st->sqlstate, "22021") == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: text is not valid UTF-8 (%s)", what, msg);
    }
    if (strcmp(st->sqlstate, "55P03") == 0) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s: gave up waiting for a lock after "
                              "%s (%s)", st->where, what, LOCK_TIMEOUT, msg);
    }
    return base_error_set(err, MIEN_ERR_STORE, "%s: %s: %s", st->where, what, msg);
}

/* ---- running statements ------------------------------------------------------------- */

/* A store operation called from inside a scan's callback: the scan streams its rows on this
 * connection, and libpq would end it silently to run the new statement (PQexecStart reads and
 * drops the rest of the running one), so the scan would seem to have no more rows. A bug in
 * the caller (store.h: scans' callbacks must not call the store), refused loudly. */
static mien_status refuse_nested(const pg_store *st, const char *what, mien_error *err)
{
    return base_error_set(err, MIEN_ERR_INTERNAL, "%s: %s inside a scan's callback (the store "
                          "cannot run a statement while it streams a scan)", st->where, what);
}

/* Makes sure the connection is up: outside a transaction a dead one is reset (and the
 * statements must be prepared again); inside one, the transaction is gone and this fails. */
static mien_status ensure_conn(pg_store *st, mien_error *err)
{
    if (PQstatus(st->conn) == CONNECTION_OK) {
        return MIEN_OK;
    }
    if (st->in_tx || st->in_op) {
        return base_error_set(err, MIEN_ERR_IO, "%s: connection to the database lost; the "
                              "transaction was rolled back", st->where);
    }
    PQreset(st->conn);
    memset(st->prepared, 0, sizeof(st->prepared));
    if (PQstatus(st->conn) != CONNECTION_OK) {
        char msg[300];
        trim_message(msg, sizeof(msg), PQerrorMessage(st->conn));
        return base_error_set(err, MIEN_ERR_IO, "%s: cannot reach the database (%s)",
                              st->where, msg);
    }
    return MIEN_OK;
}

/* The operation's name for messages: the statement's name without "mien_", in lower case
 * ("collection_get"), into buf. */
static const char *op_name(stmt_id id, char buf[48])
{
    const char *n = STMTS[id].name + 5;
    size_t i = 0;
    for (; i < 47 && n[i] != '\0'; i++) {
        buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
    }
    buf[i] = '\0';
    return buf;
}

/* Prepares statement `id` on the current connection unless it already is. NULL when it is
 * ready; else the failed result (the caller reports and clears it). */
static PGresult *prepare(pg_store *st, stmt_id id)
{
    if (st->prepared[id]) {
        return NULL;
    }
    PGresult *r = PQprepare(st->conn, STMTS[id].name, STMTS[id].sql, 0, NULL);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        st->prepared[id] = true;
        return NULL;
    }
    return r;
}

/* Whether a read that just failed may run again on a fresh connection: the first attempt of a
 * read-only statement, outside any transaction, on a connection that is now dead. */
static bool may_retry(const pg_store *st, stmt_id id, int attempt)
{
    return attempt == 0 && STMTS[id].read_only && !st->in_tx && !st->in_op &&
           PQstatus(st->conn) == CONNECTION_BAD;
}

/* Runs statement `id` with parameters p (NULL: none). On success *out (may be NULL: the
 * result is dropped) holds the result, which the caller PQclear()s; on failure *out is NULL
 * and the status says why. A read-only statement that meets a dead connection outside a
 * transaction is retried once on a fresh one (may_retry). */
static mien_status run(pg_store *st, stmt_id id, const pq_params *p, PGresult **out,
                       mien_error *err)
{
    char what[48];
    if (out != NULL) {
        *out = NULL;
    }
    if (st->streaming) {
        return refuse_nested(st, op_name(id, what), err);
    }
    st->sqlstate[0] = '\0';
    for (int attempt = 0;; attempt++) {
        mien_status status = ensure_conn(st, err);
        if (status != MIEN_OK) {
            return status;
        }
        PGresult *r = prepare(st, id);
        if (r == NULL) {
            r = PQexecPrepared(st->conn, STMTS[id].name, p != NULL ? p->n : 0,
                               p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
                               p != NULL ? p->formats : NULL, 1);
        }
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            if (out != NULL) {
                *out = r;
            } else {
                PQclear(r);
            }
            return MIEN_OK;
        }
        if (!may_retry(st, id, attempt)) {
            status = fail(st, r, op_name(id, what), err);
            PQclear(r);
            return status;
        }
        PQclear(r);
    }
}

/* One parameterless command of the simple protocol (BEGIN, SAVEPOINT, SET, a migration
 * step); *tag (may be NULL) receives its command tag ("COMMIT", "ROLLBACK", ...). */
static mien_status exec(pg_store *st, const char *sql, const char *what, char *tag,
                        size_t tag_size, mien_error *err)
{
    if (st->streaming) {
        return refuse_nested(st, what, err);
    }
    PGresult *r = PQexec(st->conn, sql);
    ExecStatusType rs = PQresultStatus(r);
    mien_status status = MIEN_OK;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        status = fail(st, r, what, err);
    } else if (tag != NULL) {
        snprintf(tag, tag_size, "%s", PQcmdStatus(r));
    }
    PQclear(r);
    return status;
}

/* ---- operation scopes: atomic whether or not the caller holds a transaction ------------- */

typedef struct op_scope {
    bool own; /* BEGIN was ours (no caller transaction); else a savepoint */
} op_scope;

static mien_status op_begin(pg_store *st, op_scope *op, mien_error *err)
{
    mien_status status = ensure_conn(st, err);
    if (status != MIEN_OK) {
        return status;
    }
    op->own = !st->in_tx;
    status = exec(st, op->own ? "BEGIN" : "SAVEPOINT mien_op", "savepoint", NULL, 0, err);
    st->in_op = op->own && status == MIEN_OK;
    return status;
}

/* Ends the scope: on success COMMIT (own) or RELEASE; on failure ROLLBACK or ROLLBACK TO, so
 * that the caller's transaction stays usable. Returns `status`, or the commit's failure. */
static mien_status op_end(pg_store *st, op_scope *op, mien_status status, mien_error *err)
{
    st->in_op = false;
    if (status == MIEN_OK) {
        char tag[32] = "";
        status = exec(st, op->own ? "COMMIT" : "RELEASE SAVEPOINT mien_op", "commit", tag,
                      sizeof(tag), err);
        if (status == MIEN_OK && op->own && strcmp(tag, "COMMIT") != 0) {
            /* COMMIT of a transaction that an error aborted answers "ROLLBACK". */
            status = base_error_set(err, MIEN_ERR_STORE, "%s: the operation was rolled back",
                                    st->where);
        }
        if (status == MIEN_OK || op->own) {
            return status;
        }
    }
    if (PQstatus(st->conn) == CONNECTION_OK) {
        if (op->own) {
            exec(st, "ROLLBACK", "rollback", NULL, 0, NULL);
        } else {
            exec(st, "ROLLBACK TO SAVEPOINT mien_op; RELEASE SAVEPOINT mien_op", "rollback to",
                 NULL, 0, NULL);
        }
    }
    return status;
}

/* ---- transactions ---------------------------------------------------------------------- */

static mien_status pg_begin(store_db *s, mien_error *err)
{
    pg_store *st = as_pg(s);
    if (st->in_tx) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: begin: a transaction is already open",
                              st->where);
    }
    mien_status status = MIEN_OK;
    /* A connection found dead at BEGIN (the server restarted since the last operation) is
     * replaced and BEGIN tried once more: nothing had started on it. */
    for (int attempt = 0; attempt < 2; attempt++) {
        status = ensure_conn(st, err);
        if (status != MIEN_OK) {
            break;
        }
        /* One round trip: the simple protocol runs both; a failure of either is returned. */
        status = exec(st, "BEGIN; " LOCK_WRITE_SQL, "begin", NULL, 0, err);
        if (status == MIEN_OK) {
            break;
        }
        if (PQstatus(st->conn) != CONNECTION_OK) {
            continue; /* dead: ensure_conn replaces it */
        }
        if (PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
            exec(st, "ROLLBACK", "rollback", NULL, 0, NULL);
        }
        break;
    }
    if (status == MIEN_OK) {
        st->in_tx = true;
    }
    return status;
}

static void pg_rollback(store_db *s)
{
    pg_store *st = as_pg(s);
    if (st->in_tx && PQstatus(st->conn) == CONNECTION_OK &&
        PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
        exec(st, "ROLLBACK", "rollback", NULL, 0, NULL);
    }
    st->in_tx = false;
}

static mien_status pg_commit(store_db *s, mien_error *err)
{
    pg_store *st = as_pg(s);
    char tag[32] = "";
    if (!st->in_tx) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: commit: no transaction is open",
                              st->where);
    }
    mien_status status = exec(st, "COMMIT", "commit", tag, sizeof(tag), err);
    if (status == MIEN_OK && strcmp(tag, "COMMIT") != 0) {
        status = base_error_set(err, MIEN_ERR_STORE, "%s: commit: the transaction had failed "
                                "and was rolled back", st->where);
    }
    if (status != MIEN_OK) {
        pg_rollback(s);
        return status;
    }
    st->in_tx = false;
    return MIEN_OK;
}

/* ---- collections ------------------------------------------------------------------------ */


/* ---- subjects ------------------------------------------------------------------------- */

/* ---- faces ---------------------------------------------------------------------------- */

/* One statement (FACE_INSERT, or FACE_IMPORT with `import_id` > 0 and `created_at`) writes
 * the face and its crop (both sealed by the caller, seal.h). A subject erased by another
 * node between the statement's snapshot and its insert fails on the foreign key (23503) and
 * reads as NOT_FOUND too; an imported id that is taken is MIEN_ERR_EXISTS. */
static mien_status face_write(pg_store *st, int64_t collection_id, int64_t subject_id,
                              const store_face_new *f, int64_t import_id, int64_t created_at,
                              int64_t *face_id, mien_error *err)
{
    pq_params p = {0};
    PGresult *r;
    *face_id = 0;
    if (f == NULL || f->template_bytes == NULL || f->template_len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: no template bytes");
    }
    p_i64(&p, subject_id);
    p_bytes(&p, f->template_bytes, f->template_len);
    if (f->quality != NULL) {
        const mien_quality *k = f->quality;
        p_i64(&p, (int64_t)k->klass);
        p_f64(&p, k->interocular_px);
        p_f64(&p, k->sharpness);
        p_f64(&p, k->yaw);
        p_f64(&p, k->pitch);
        p_f64(&p, k->roll);
        p_f64(&p, k->detector_score);
        p_f64(&p, k->landmark_score);
    } else {
        for (int i = 0; i < 8; i++) {
            p_null(&p);
        }
    }
    p_bytes(&p, f->image_sha256, 32);
    p_i64(&p, import_id > 0 ? created_at : store_db_now(&st->base));
    p_i64(&p, collection_id);
    p_bytes(&p, f->crop_rgb, f->crop_rgb != NULL ? f->crop_len : 0);
    if (import_id > 0) {
        p_i64(&p, import_id);
    }
    mien_status status = run(st, import_id > 0 ? STMT_FACE_IMPORT : STMT_FACE_INSERT, &p, &r,
                             err);
    if (status != MIEN_OK) {
        if (strcmp(st->sqlstate, "23503") == 0) {
            return base_error_set(err, MIEN_ERR_NOT_FOUND, "no subject %lld in collection "
                                  "%lld", (long long)subject_id, (long long)collection_id);
        }
        return status;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        if (import_id > 0) {
            /* The subject check of FACE_IMPORT, or ON CONFLICT: tell which. */
            bool found = false;
            status = sql_subject_in(&st->base, subject_id, collection_id, &found, err);
            if (status == MIEN_OK && found) {
                return base_error_set(err, MIEN_ERR_EXISTS, "face %lld already exists",
                                      (long long)import_id);
            }
            if (status != MIEN_OK) {
                return status;
            }
        }
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no subject %lld in collection %lld",
                              (long long)subject_id, (long long)collection_id);
    }
    *face_id = col_i64(r, 0, 0);
    PQclear(r);
    return MIEN_OK;
}

static mien_status pg_face_insert(store_db *s, int64_t collection_id, int64_t subject_id,
                                  const store_face_new *f, int64_t *face_id, mien_error *err)
{
    return face_write(as_pg(s), collection_id, subject_id, f, 0, 0, face_id, err);
}

/* ---- streaming scans: rows one at a time (libpq single-row mode), so that a scan of a
 * million faces never holds them all in memory. ------------------------------------------ */

typedef mien_status (*stream_fn)(pg_store *st, const PGresult *r, void *ctx, mien_error *err);

/* Runs statement `id` and calls fn for each row; stops at fn's first error (the rest of the
 * result is read and dropped, so that the connection is ready for the next statement). */
static mien_status stream(pg_store *st, stmt_id id, const pq_params *p, stream_fn fn, void *ctx,
                          mien_error *err)
{
    char what[48];
    op_name(id, what);
    if (st->streaming) {
        return refuse_nested(st, what, err);
    }
    for (int attempt = 0;; attempt++) {
        bool rows = false, retry = false;
        mien_status status = ensure_conn(st, err);
        if (status != MIEN_OK) {
            return status;
        }
        PGresult *r = prepare(st, id);
        if (r != NULL) {
            retry = may_retry(st, id, attempt);
            status = retry ? MIEN_OK : fail(st, r, what, err);
            PQclear(r);
            if (retry) {
                continue;
            }
            return status;
        }
        if (!PQsendQueryPrepared(st->conn, STMTS[id].name, p->n, p->values, p->lengths,
                                 p->formats, 1)) {
            if (may_retry(st, id, attempt)) {
                continue;
            }
            return fail(st, NULL, what, err);
        }
        if (!PQsetSingleRowMode(st->conn)) {
            status = fail(st, NULL, what, err);
        }
        while ((r = PQgetResult(st->conn)) != NULL) {
            ExecStatusType rs = PQresultStatus(r);
            if (status == MIEN_OK && !retry) {
                if (rs == PGRES_SINGLE_TUPLE) {
                    rows = true;
                    st->streaming = true;
                    status = fn(st, r, ctx, err);
                    st->streaming = false;
                } else if (rs != PGRES_TUPLES_OK) {
                    /* Nothing was handed over yet: a dead connection may be retried. */
                    retry = !rows && may_retry(st, id, attempt);
                    if (!retry) {
                        status = fail(st, r, what, err);
                    }
                }
            }
            PQclear(r);
        }
        if (!retry) {
            return status;
        }
    }
}

/* ---- the driver of store_sql.c (store_sql.h) ---------------------------------------------
 * A statement runs at its first step (run(): prepared on first use, retried on a fresh
 * connection when that is safe); the steps after walk the rows of its result. */

struct sql_stmt {
    pg_store *st;
    sql_id id;
    pq_params p;
    PGresult *r;   /* after the first step; NULL before */
    int row;       /* the current row of r */
};

/* The statement of this dialect for each shared id. */
static const stmt_id SQL_STMTS[SQL_COUNT] = {SQL_STMT_MAP(SQL_STMT_OF)};

static mien_status drv_prepare(store_db *s, sql_id id, sql_stmt **out, mien_error *err)
{
    pg_store *st = as_pg(s);
    sql_stmt *q = &st->sql[id];
    (void)err;
    PQclear(q->r);
    memset(q, 0, sizeof(*q));
    q->st = st;
    q->id = id;
    *out = q;
    return MIEN_OK;
}

static void drv_bind_i64(sql_stmt *q, int64_t v)
{
    p_i64(&q->p, v);
}

static void drv_bind_text(sql_stmt *q, const char *v)
{
    p_text(&q->p, v);
}

static void drv_bind_blob(sql_stmt *q, const void *v, size_t n)
{
    p_bytes(&q->p, v, v != NULL ? n : 0);
}

static mien_status drv_step(sql_stmt *q, bool *row, mien_error *err)
{
    *row = false;
    if (q->r == NULL) {
        mien_status status = run(q->st, SQL_STMTS[q->id], &q->p, &q->r, err);
        if (status != MIEN_OK) {
            /* unique_violation: the statements without a conflict clause */
            return strcmp(q->st->sqlstate, "23505") == 0 ? MIEN_ERR_EXISTS : status;
        }
        q->row = 0;
    } else {
        q->row++;
    }
    *row = q->row < PQntuples(q->r);
    return MIEN_OK;
}

static int64_t drv_changes(sql_stmt *q)
{
    return q->r != NULL ? strtoll(PQcmdTuples(q->r), NULL, 10) : 0;
}

/* The first column of the INSERT's RETURNING row. */
static int64_t drv_last_id(sql_stmt *q)
{
    return q->r != NULL && PQntuples(q->r) > 0 ? col_i64(q->r, 0, 0) : 0;
}

static int64_t drv_col_i64(sql_stmt *q, int col)
{
    return col_i64(q->r, q->row, col);
}

static const char *drv_col_text(sql_stmt *q, int col)
{
    return PQgetisnull(q->r, q->row, col) ? "" : PQgetvalue(q->r, q->row, col);
}

static const void *drv_col_blob(sql_stmt *q, int col, size_t *n)
{
    bool null = PQgetisnull(q->r, q->row, col);
    *n = null ? 0 : (size_t)PQgetlength(q->r, q->row, col);
    return null ? NULL : PQgetvalue(q->r, q->row, col);
}

static bool drv_col_null(sql_stmt *q, int col)
{
    return PQgetisnull(q->r, q->row, col);
}

static double drv_col_f64(sql_stmt *q, int col)
{
    uint64_t bits = (uint64_t)col_i64(q->r, q->row, col); /* float8, binary */
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

typedef struct scan_ctx {
    sql_stmt *q;
    sql_row_fn fn;
    void *ctx;
} scan_ctx;

/* One streamed row handed to the scan's callback through the statement. */
static mien_status scan_row(pg_store *st, const PGresult *r, void *ctx, mien_error *err)
{
    scan_ctx *sc = ctx;
    (void)st;
    (void)err;
    sc->q->r = (PGresult *)r; /* stream() owns and clears it */
    sc->q->row = 0;
    mien_status status = sc->fn(sc->ctx, sc->q);
    sc->q->r = NULL;
    return status;
}

/* Streams the rows (stream(): single-row mode on the one connection). */
static mien_status drv_scan(sql_stmt *q, sql_row_fn fn, void *ctx, mien_error *err)
{
    scan_ctx sc = {.q = q, .fn = fn, .ctx = ctx};
    mien_status status = stream(q->st, SQL_STMTS[q->id], &q->p, scan_row, &sc, err);
    q->p.n = 0;
    return status;
}

static void drv_reset(sql_stmt *q)
{
    PQclear(q->r);
    q->r = NULL;
    q->p.n = 0;
}

static mien_status drv_op_begin(store_db *s, mien_error *err)
{
    pg_store *st = as_pg(s);
    op_scope op = {.own = false};
    mien_status status = op_begin(st, &op, err);
    st->op_own = op.own;
    return status;
}

static mien_status drv_op_end(store_db *s, mien_status status, mien_error *err)
{
    pg_store *st = as_pg(s);
    op_scope op = {.own = st->op_own};
    return op_end(st, &op, status, err);
}

/* Deleted rows stay in the server's files until VACUUM (docs/deploy.md "Erasure"). */
#define drv_erased NULL

static const sql_driver POSTGRES_DRIVER = SQL_DRIVER_INIT;


/* ---- rewriting blobs (seal.h: key rotation) ----------------------------------------------
 * A cursor (DECLARE, then FETCH RESEAL_BATCH rows at a time) walks the table inside the
 * operation's transaction; its snapshot was taken at DECLARE, so the updates it makes are
 * not seen again. */

/* Row i of a fetched batch through fn, and what fn returns written with `set`. */
static mien_status rewrite_row(pg_store *st, const PGresult *r, int i, stmt_id set,
                               store_blob kind, store_rewrite_fn fn, void *ctx, int64_t *count,
                               mien_error *err)
{
    store_blob_ref ref = {.face_id = col_i64(r, i, 0), .collection_id = col_i64(r, i, 1),
                          .subject_id = col_i64(r, i, 3)};
    col_text(ref.external_id, sizeof(ref.external_id), r, i, 4);
    uint8_t *out = NULL;
    size_t out_len = 0;
    pq_params p = {0};
    mien_status status = fn(ctx, kind, &ref, (const uint8_t *)PQgetvalue(r, i, 2),
                            (size_t)PQgetlength(r, i, 2), &out, &out_len, err);
    if (status == MIEN_OK && out != NULL) {
        p_i64(&p, ref.face_id);
        p_bytes(&p, out, out_len);
        status = run(st, set, &p, NULL, err);
        ++*count;
    }
    free(out);
    return status;
}

static mien_status rewrite_table(pg_store *st, const char *declare, stmt_id set,
                                 store_blob kind, store_rewrite_fn fn, void *ctx,
                                 int64_t *count, mien_error *err)
{
    char fetch[64];
    mien_status status = exec(st, declare, "rewrite: declare", NULL, 0, err);
    if (status != MIEN_OK) {
        return status;
    }
    snprintf(fetch, sizeof(fetch), "FETCH %d FROM mien_reseal", RESEAL_BATCH);
    for (;;) {
        PGresult *r = PQexecParams(st->conn, fetch, 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            status = fail(st, r, "rewrite: fetch", err);
            PQclear(r);
            break;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows && status == MIEN_OK; i++) {
            status = rewrite_row(st, r, i, set, kind, fn, ctx, count, err);
        }
        PQclear(r);
        if (status != MIEN_OK || rows < RESEAL_BATCH) {
            break;
        }
    }
    if (status == MIEN_OK) {
        status = exec(st, "CLOSE mien_reseal", "rewrite: close", NULL, 0, err);
    }
    return status;
}

static mien_status pg_blob_rewrite(store_db *s, store_blob kind, store_rewrite_fn fn, void *ctx,
                                   int64_t *count, mien_error *err)
{
    static const char *const DECLARE[2] = {
        "DECLARE mien_reseal NO SCROLL CURSOR FOR SELECT f.id, s.collection_id,"
        " f.template, f.subject_id, s.external_id FROM faces f"
        " JOIN subjects s ON s.id = f.subject_id",
        "DECLARE mien_reseal NO SCROLL CURSOR FOR SELECT c.face_id, s.collection_id, c.rgb,"
        " f.subject_id, s.external_id FROM crops c JOIN faces f ON f.id = c.face_id"
        " JOIN subjects s ON s.id = f.subject_id",
    };
    pg_store *st = as_pg(s);
    bool crops = kind == STORE_BLOB_CROP;
    op_scope op;
    int64_t n = 0;
    mien_status status = op_begin(st, &op, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = rewrite_table(st, DECLARE[crops], crops ? STMT_CROP_SET_RGB : STMT_FACE_SET_TEMPLATE,
                           kind, fn, ctx, &n, err);
    status = op_end(st, &op, status, err);
    if (count != NULL && status == MIEN_OK) {
        *count += n;
    }
    return status;
}

/* ---- liveness ---------------------------------------------------------------------------- */

/* SELECT 1: run() re-establishes a connection found dead and retries once, so a server that
 * came back answers the first ping after it did (/readyz, docs/deploy.md). */
static mien_status pg_ping(store_db *s, mien_error *err)
{
    pg_store *st = as_pg(s);
    if (st->in_tx) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: ping inside a transaction", st->where);
    }
    return run(st, STMT_PING, NULL, NULL, err);
}

/* ---- copying a store (store.h "copying a whole store"; store_copy.c) -------------------- */

static mien_status pg_face_import(store_db *s, int64_t collection_id, int64_t subject_id,
                                  int64_t face_id, int64_t created_at,
                                  const store_face_new *face, mien_error *err)
{
    int64_t id = 0;
    if (face_id <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_import: no id");
    }
    return face_write(as_pg(s), collection_id, subject_id, face, face_id, created_at, &id, err);
}

/* Identity columns do not move their sequence when a row brings its own id, so that after an
 * import the next nextval() would hand out an id that exists: setval() past it. */
static mien_status pg_sequence_raise(store_db *s, const store_sequences *at_least,
                                     mien_error *err)
{
    pq_params p = {0};
    p_i64(&p, at_least->collections);
    p_i64(&p, at_least->subjects);
    p_i64(&p, at_least->faces);
    return run(as_pg(s), STMT_SEQUENCE_RAISE, &p, NULL, err);
}

/* ---- open and close ------------------------------------------------------------------- */

static void pg_close(store_db *s)
{
    if (s == NULL) {
        return;
    }
    pg_store *st = as_pg(s);
    PQfinish(st->conn);
    st->magic = 0;
    free(st->sql);
    free(st);
}

/* libpq prints server notices (e.g. "relation already exists, skipping") on stderr by
 * default; a library must not. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* One row of one column of a parameterless query, as text (text[size]) and integer (*out). */
static mien_status query_one(pg_store *st, const char *sql, const char *what, bool *null,
                             int64_t *out, char *text, size_t size, mien_error *err)
{
    PGresult *r = PQexec(st->conn, sql);
    mien_status status = MIEN_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        status = fail(st, r, what, err);
    } else if (PQntuples(r) != 1) {
        status = base_error_set(err, MIEN_ERR_STORE, "%s: %s returned %d rows", st->where, what,
                                PQntuples(r));
    } else {
        const char *v = PQgetvalue(r, 0, 0);
        if (null != NULL) {
            *null = PQgetisnull(r, 0, 0);
        }
        if (out != NULL) {
            *out = strtoll(v, NULL, 10);
        }
        if (text != NULL) {
            snprintf(text, size, "%s", v);
        }
    }
    PQclear(r);
    return status;
}

/* Refuses schemas that are not ours before anything is written: tables without mien_schema,
 * another application's mien_schema, a newer version. *version: the schema's version (0 for
 * an empty schema). */
static mien_status check_identity(pg_store *st, int64_t *version, mien_error *err)
{
    char schema[128];
    bool null = false;
    int64_t tables = 0, ours = 0;
    *version = 0;
    mien_status status = query_one(st, "SELECT current_schema()", "current_schema", &null, NULL,
                                   schema, sizeof(schema), err);
    if (status != MIEN_OK) {
        return status;
    }
    if (null) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: no schema to create the tables in (no "
                              "schema of the search_path exists)", st->where);
    }
    status = query_one(st, "SELECT count(*) FROM pg_catalog.pg_tables"
                           " WHERE schemaname = current_schema()",
                       "identity", NULL, &tables, NULL, 0, err);
    if (status == MIEN_OK) {
        status = query_one(st, "SELECT count(*) FROM pg_catalog.pg_tables"
                               " WHERE schemaname = current_schema() AND tablename = 'mien_schema'",
                           "identity", NULL, &ours, NULL, 0, err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    if (ours == 0) {
        if (tables != 0) {
            return base_error_set(err, MIEN_ERR_STORE, "%s: not a mien store (schema \"%s\" "
                                  "holds %lld tables but no mien_schema); refusing to touch it",
                                  st->where, schema, (long long)tables);
        }
        return MIEN_OK;
    }
    PGresult *r;
    status = run(st, STMT_SCHEMA_VERSION, NULL, &r, err);
    if (status != MIEN_OK) {
        return status;
    }
    char app[64] = "";
    if (PQntuples(r) == 1) {
        col_text(app, sizeof(app), r, 0, 0);
        *version = col_i64(r, 0, 1);
    }
    int rows = PQntuples(r);
    PQclear(r);
    if (rows != 1 || strcmp(app, STORE_POSTGRES_APPLICATION) != 0) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: not a mien store (mien_schema of schema "
                              "\"%s\" names \"%s\"); refusing to touch it", st->where, schema,
                              app);
    }
    if (*version > STORE_POSTGRES_SCHEMA_VERSION) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: schema version %lld is newer than this "
                              "build of mien (%d); upgrade mien", st->where, (long long)*version,
                              STORE_POSTGRES_SCHEMA_VERSION);
    }
    return MIEN_OK;
}

/* Applies the steps after `version`, each in its own transaction under the migration lock,
 * re-reading the version under the lock (another node may have migrated meanwhile). */
static mien_status migrate(pg_store *st, int64_t version, mien_error *err)
{
    char sql[160];
    for (size_t i = (size_t)version; i < MIGRATION_COUNT; i++) {
        const sql_migration *m = &MIGRATIONS[i];
        int64_t now = 0;
        mien_status status = exec(st, "BEGIN", "migration: begin", NULL, 0, err);
        if (status != MIEN_OK) {
            return status;
        }
        status = exec(st, LOCK_MIGRATE_SQL, "migration: lock", NULL, 0, err);
        if (status == MIEN_OK) {
            status = exec(st, "CREATE TABLE IF NOT EXISTS mien_schema ("
                              " application TEXT NOT NULL, version INTEGER NOT NULL);",
                          "migration: version table", NULL, 0, err);
        }
        if (status == MIEN_OK) {
            snprintf(sql, sizeof(sql), "INSERT INTO mien_schema SELECT '%s', 0"
                     " WHERE NOT EXISTS (SELECT 1 FROM mien_schema)", STORE_POSTGRES_APPLICATION);
            status = exec(st, sql, "migration: version row", NULL, 0, err);
        }
        if (status == MIEN_OK) {
            status = query_one(st, "SELECT version FROM mien_schema", "migration: version",
                               NULL, &now, NULL, 0, err);
        }
        if (status == MIEN_OK && now < m->version) {
            status = exec(st, m->sql, "migration", NULL, 0, err);
            if (status == MIEN_OK) {
                snprintf(sql, sizeof(sql), "UPDATE mien_schema SET version = %d", m->version);
                status = exec(st, sql, "migration: version", NULL, 0, err);
            }
        }
        if (status == MIEN_OK) {
            status = exec(st, "COMMIT", "migration: commit", NULL, 0, err);
        }
        if (status != MIEN_OK) {
            exec(st, "ROLLBACK", "migration: rollback", NULL, 0, NULL);
            return status;
        }
    }
    return MIEN_OK;
}

/* "postgres USER@HOST:PORT/DB" from the live connection (never the password). */
static void describe(pg_store *st)
{
    const char *host = PQhost(st->conn);
    snprintf(st->where, sizeof(st->where), "postgres %s@%s:%s/%s", PQuser(st->conn),
             host != NULL && host[0] != '\0' ? host : "localhost", PQport(st->conn),
             PQdb(st->conn));
}

/* The signed audit head's file: the key file's path + ".audit-head" (the head lives outside
 * the database, on the node; store_postgres.h). mien_store_options.audit_head replaces it
 * after the open (store/handle.c). */
static mien_status head_path(pg_store *st, const keyring *keys, mien_error *err)
{
    int n;
    if (keys == NULL) {
        st->base.audit_head_path[0] = '\0';
        return MIEN_OK;
    }
    n = snprintf(st->base.audit_head_path, sizeof(st->base.audit_head_path), "%s.audit-head",
                 keyring_path(keys));
    if (n < 0 || (size_t)n >= sizeof(st->base.audit_head_path)) {
        return base_error_set(err, MIEN_ERR_ARG, "audit head path is too long");
    }
    return MIEN_OK;
}

mien_status store_postgres_open(const char *uri, const keyring *keys, store_db **out,
                                  mien_error *err)
{
    char msg[300], sql[96];
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "store_postgres_open: out is NULL");
    }
    *out = NULL;
    if (uri == NULL || uri[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "store URI is empty");
    }
    pg_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "opening a PostgreSQL store");
    }
    st->base.ops = &POSTGRES_OPS;
    st->base.where = st->where;
    st->base.driver = &POSTGRES_DRIVER;
    st->magic = STORE_MAGIC;
    st->sql = calloc(SQL_COUNT, sizeof(*st->sql));
    mien_status status = st->sql != NULL
                             ? head_path(st, keys, err)
                             : base_error_set(err, MIEN_ERR_NOMEM, "opening a PostgreSQL store");
    if (status != MIEN_OK) {
        goto fail_alloc;
    }

    st->conn = PQconnectdb(uri);
    if (st->conn == NULL) {
        status = base_error_set(err, MIEN_ERR_NOMEM, "opening a PostgreSQL store");
        goto fail_alloc;
    }
    if (PQstatus(st->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, not the password. */
        trim_message(msg, sizeof(msg), PQerrorMessage(st->conn));
        status = base_error_set(err, MIEN_ERR_IO, "cannot open PostgreSQL store: %s", msg);
        goto fail_conn;
    }
    describe(st);
    PQsetNoticeProcessor(st->conn, quiet_notice, NULL);
    if (PQsetClientEncoding(st->conn, "UTF8") != 0) {
        status = fail(st, NULL, "client_encoding", err);
        goto fail_conn;
    }
    snprintf(sql, sizeof(sql), "SET lock_timeout = '%s'", LOCK_TIMEOUT);
    status = exec(st, sql, "settings", NULL, 0, err);
    int64_t version = 0;
    if (status == MIEN_OK) {
        status = check_identity(st, &version, err);
    }
    if (status == MIEN_OK) {
        status = migrate(st, version, err);
    }
    if (status != MIEN_OK) {
        goto fail_conn;
    }
    st->base.schema_version = STORE_POSTGRES_SCHEMA_VERSION;
    *out = &st->base;
    return MIEN_OK;

fail_conn:
    PQfinish(st->conn);
fail_alloc:
    free(st->sql);
    free(st);
    return status;
}

mien_status store_postgres_schema_version(store_db *s, int64_t *version, mien_error *err)
{
    if (s == NULL || s->ops != &POSTGRES_OPS || version == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "store_postgres_schema_version: not a "
                              "PostgreSQL store");
    }
    pg_store *st = as_pg(s);
    PGresult *r;
    *version = 0;
    mien_status status = run(st, STMT_SCHEMA_VERSION, NULL, &r, err);
    if (status == MIEN_OK) {
        *version = PQntuples(r) > 0 ? col_i64(r, 0, 1) : 0;
        PQclear(r);
    }
    return status;
}

static const store_db_ops POSTGRES_OPS = {SQL_STORE_OPS SQL_BACKEND_OPS(pg)};
