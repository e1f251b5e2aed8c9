/* store.h — where galleries live: the store interface (a table of functions), so that the
 * SQLite backend (store_sqlite.c, the embedded default) and the PostgreSQL one
 * (store_postgres.c, several nodes on one database) serve the same callers (seal.h, handle.c,
 * governance/, gallery/) unchanged; governance/store_copy.c copies any store into any other
 * through it (`mien migrate`). The store layer sits below governance and the gallery and
 * includes neither. The operations both SQL backends share are written once in store_sql.c
 * over their drivers (store_sql.h).
 *
 * The database is the source of truth; in-memory indexes are rebuilt from it. Every write
 * that must be atomic runs between begin() and commit() (rollback() undoes it): an
 * enrolment (subject row + face row), an erasure (face rows, crops, subject row). Templates
 * and crops are opaque bytes to the backends: seal.h seals them above this interface and
 * opens them again, so what face_insert receives and the face scans hand over is the sealed
 * blob as stored. The same store
 * keeps the service's API keys (id, hash of the secret, role; governance/keys.c).
 *
 * A store handle belongs to one thread at a time. The callback of a scan (face_scan,
 * face_scan_subject, face_scan_full, audit_scan, review_scan) must not call an operation of the
 * same handle: the PostgreSQL store streams a scan on the handle's one connection
 * (MIEN_ERR_INTERNAL if it is tried); collect what the callback finds and act after the scan. */
#ifndef MIEN_STORE_STORE_H
#define MIEN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/keyring.h"
#include "mien.h"

#define STORE_NAME_MAX 64     /* collection names: [A-Za-z0-9_.-]{1,63} */
#define STORE_SUBJECT_MAX 128 /* external subject ids: printable UTF-8, 1..127 bytes */

typedef struct store_collection {
    int64_t id;
    char name[STORE_NAME_MAX];
    mien_profile profile;
    char model_a[17], model_b[17]; /* model ids locked at creation ("" for b in `fast`) */
    char description[256];
    int64_t created_at; /* unix seconds */
    int64_t subjects, faces;
    /* the policy (schema 3; mien.h mien_collection_policy) */
    char purposes[256];
    char legal_basis[256];
    int consent;            /* mien_consent */
    int64_t retention_s;
    int review;             /* mien_review_mode */
    int verification_only;
    /* the caps on a search (schema: SQLite 4, PostgreSQL 2; mien.h mien_search_caps): the
     * false-match rate in parts per billion, so that the row holds no float (1e-2 is
     * 10000000, 1e-6 is 1000) */
    int64_t max_fmr_ppb;
    int64_t max_candidates;
    uint8_t mac[32];        /* keyed tag (store/tag.h tag_collection); zeros: none stored */
} store_collection;

typedef struct store_subject {
    int64_t id;
    char external_id[STORE_SUBJECT_MAX];
    char display_name[STORE_SUBJECT_MAX];
    int64_t created_at;
    int64_t faces;
    char consent_ref[STORE_SUBJECT_MAX];
    int64_t expires_at;
    uint8_t mac[32];        /* keyed tag (store/tag.h tag_subject) */
} store_subject;

/* A subject whose expiry has passed (subject_expired). */
typedef struct store_expired {
    char collection[STORE_NAME_MAX];
    int64_t collection_id;
    char external_id[STORE_SUBJECT_MAX];
} store_expired;

/* One face row as the scan hands it over (the template sealed, as stored; seal.h opens it);
 * pointers valid during the callback only. */
typedef struct store_face_row {
    int64_t face_id, subject_id;
    const char *external_id;
    const uint8_t *template_bytes;
    size_t template_len;
    bool has_pose;      /* the face's quality was recorded: yaw and pitch (degrees) are its */
    float yaw, pitch;
} store_face_row;

/* A new face: template bytes, optional quality, optional source image digest, optional
 * aligned crop (112×112×3 RGB, stored only when the caller asks for it). The operations take
 * template and crop sealed (seal.h seal_face_insert seals them). */
typedef struct store_face_new {
    const uint8_t *template_bytes;
    size_t template_len;
    const mien_quality *quality;  /* NULL: not recorded */
    const uint8_t *image_sha256;  /* 32 bytes or NULL */
    const uint8_t *crop_rgb;      /* face_chip_bytes() (sealed: + overhead) or NULL */
    size_t crop_len;
} store_face_new;

/* One API key as stored (governance/keys.c; mien.h "API keys and roles"): never the secret,
 * only its hash. */
#define STORE_KEY_HASH_LEN 32 /* crypto_generichash_BYTES: BLAKE2b-256 of the secret */

typedef struct store_key {
    char id[MIEN_KEY_ID_LEN + 1];               /* 12 lowercase hex characters */
    uint8_t secret_hash[STORE_KEY_HASH_LEN];  /* key_list leaves it zeroed */
    mien_role role;
    char label[64];                             /* "" when none */
    int64_t created_at;                         /* unix seconds */
    int64_t revoked_at;                         /* unix seconds; 0 while valid */
    uint8_t mac[32];                            /* keyed tag (store/tag.h tag_key) */
} store_key;

/* One audit entry as stored (governance/audit.c computes the hashes; the store keeps rows).
 * Strings are "" when absent; result is a JSON object as text. */
typedef struct store_audit_row {
    int64_t seq;            /* 1, 2, ... without gaps */
    int64_t time;           /* unix seconds */
    char actor[64];
    char action[32];
    char collection[STORE_NAME_MAX];
    char purpose[64];
    char case_ref[128];
    char input_sha256[65];  /* hex, "" when none */
    char outcome[16];       /* "ok" or "refused" */
    const char *result;     /* insert: borrowed; scan: valid during the callback */
    uint8_t prev_hash[32];
    uint8_t hash[32];
    uint8_t mac[32];        /* keyed tag of hash (governance/audit.h audit_row_mac) */
} store_audit_row;

typedef mien_status (*store_audit_fn)(void *ctx, const store_audit_row *row);

/* A review of one search's candidates (governance/review.c). */
typedef struct store_review {
    char id[33];             /* 32 lowercase hex (16 random bytes) */
    int64_t collection_id;
    char collection[STORE_NAME_MAX];
    int required;
    int confirmations;
    int confirmed_rank;
    char status[16];
    int64_t created_at;
    int64_t search_seq;
    int64_t candidates;
    const char *candidates_json; /* insert: borrowed; get: NULL (review_candidates reads it) */
    uint8_t candidates_sha256[32]; /* get and scan: SHA-256 of the stored candidates_json */
    uint8_t mac[32];             /* keyed tag of the row (governance.h governance_review_mac):
                                    the status cannot be changed behind mien's back */
} store_review;

/* One reviewer's decision. */
typedef struct store_decision {
    char review_id[33];
    char reviewer[64];
    int decision;            /* mien_review_decision */
    int rank;
    char note[256];
    int64_t time;
    int64_t audit_seq;       /* the audit entry that recorded it (0: before schema tags) */
    uint8_t mac[32];         /* keyed tag chained to the review's previous decision
                                (governance.h governance_decision_mac) */
} store_decision;

/* One face with everything the store keeps of it, for copying a store (face_scan_full,
 * store_copy.c). Pointers are valid during the callback only; template and crop are sealed
 * as stored (seal.h seal_face_scan_full opens them for its callback). */
typedef struct store_face_full {
    int64_t face_id, subject_id;
    const uint8_t *template_bytes;
    size_t template_len;
    bool has_quality;               /* false: no quality was recorded (NULL columns) */
    mien_quality quality;
    bool has_image_sha256;
    uint8_t image_sha256[32];
    const uint8_t *crop_rgb;        /* FACE_CHIP bytes, or NULL when the face has no crop */
    size_t crop_len;
    int64_t created_at;             /* unix seconds */
    const char *external_id;        /* its subject's (the seal binds it) */
} store_face_full;

/* The highest id each table has ever handed out (an id is never reused after an erasure:
 * SQLite's AUTOINCREMENT, PostgreSQL's identity sequences), so that a copy of the store goes on
 * where the original stopped (sequence_get / sequence_raise). 0: none handed out. */
typedef struct store_sequences {
    int64_t collections, subjects, faces;
} store_sequences;

typedef struct store_db store_db;

/* The two kinds of sealed blob a store keeps (seal.h). */
typedef enum store_blob { STORE_BLOB_TEMPLATE = 0, STORE_BLOB_CROP = 1 } store_blob;

/* Where one stored blob belongs, for blob_rewrite: its face (a crop's face), and the
 * collection and subject its seal binds it to (seal.h). */
typedef struct store_blob_ref {
    int64_t face_id, collection_id, subject_id;
    char external_id[STORE_SUBJECT_MAX];
} store_blob_ref;

/* What tag_rows tagged (the upgrade of a store made before row tags). */
typedef struct store_tag_counts {
    int64_t collections, subjects, keys;
} store_tag_counts;

/* blob_rewrite's callback: the stored bytes[n] of one blob in, and in *out (malloc'd; the
 * backend frees it) the bytes to store instead, *out_len long, or *out NULL to leave it. */
typedef mien_status (*store_rewrite_fn)(void *ctx, store_blob kind, const store_blob_ref *ref,
                                        const uint8_t *bytes, size_t n, uint8_t **out,
                                        size_t *out_len, mien_error *err);

typedef mien_status (*store_face_fn)(void *ctx, const store_face_row *row);
typedef mien_status (*store_face_full_fn)(void *ctx, const store_face_full *face);
typedef mien_status (*store_review_fn)(void *ctx, const store_review *review);

typedef struct store_db_ops {
    void (*close)(store_db *s);
    mien_status (*begin)(store_db *s, mien_error *err);
    mien_status (*commit)(store_db *s, mien_error *err);
    void (*rollback)(store_db *s);

    /* MIEN_ERR_EXISTS when the name is taken; fills c->id and c->created_at. */
    mien_status (*collection_create)(store_db *s, store_collection *c, mien_error *err);
    /* MIEN_ERR_NOT_FOUND when absent. Fills counts. */
    mien_status (*collection_get)(store_db *s, const char *name, store_collection *out,
                                  mien_error *err);
    /* *out malloc'd array (caller frees), *n entries. */
    mien_status (*collection_list)(store_db *s, store_collection **out, size_t *n,
                                   mien_error *err);
    /* Deletes the collection with its subjects, faces and crops. */
    mien_status (*collection_drop)(store_db *s, int64_t collection_id, mien_error *err);

    /* The subject's id, creating it (with display_name, consent_ref: may be NULL) when new.
     * An existing subject's consent_ref is replaced when one is given; expires_at is set
     * when non-zero. */
    mien_status (*subject_ensure)(store_db *s, int64_t collection_id,
                                  const char *external_id, const char *display_name,
                                  const char *consent_ref, int64_t expires_at,
                                  int64_t *subject_id, mien_error *err);
    /* Subjects (all collections) with 0 < expires_at <= now. *out malloc'd (caller frees).
     * The subjects without an expiry are read too and every row's tag checked (store/tag.h):
     * MIEN_ERR_STORE naming a subject whose expiry was cleared behind mien's back. */
    mien_status (*subject_expired)(store_db *s, int64_t now, store_expired **out,
                                   size_t *n, mien_error *err);
    mien_status (*subject_list)(store_db *s, int64_t collection_id, store_subject **out,
                                size_t *n, mien_error *err);
    /* True (*found) when the subject already has a face from an image with this digest
     * (resumable enrolment skips it). */
    mien_status (*face_exists)(store_db *s, int64_t collection_id, const char *external_id,
                               const uint8_t image_sha256[32], bool *found, mien_error *err);
    mien_status (*face_insert)(store_db *s, int64_t collection_id, int64_t subject_id,
                               const store_face_new *face, int64_t *face_id, mien_error *err);
    /* Calls fn for every face of the collection (any order); stops at fn's first error. */
    mien_status (*face_scan)(store_db *s, int64_t collection_id, store_face_fn fn,
                             void *ctx, mien_error *err);
    /* Calls fn once with face `face_id` and *collection_id its collection (set before fn is
     * called); MIEN_ERR_NOT_FOUND when there is no such face (erased since). For following
     * changes another handle or node made (gallery.c). */
    mien_status (*face_get)(store_db *s, int64_t face_id, int64_t *collection_id,
                            store_face_fn fn, void *ctx, mien_error *err);
    /* face_scan restricted to subject `external_id` (1:1 verification). */
    mien_status (*face_scan_subject)(store_db *s, int64_t collection_id,
                                     const char *external_id, store_face_fn fn, void *ctx,
                                     mien_error *err);
    /* Deletes the subject, its faces and crops; *faces_deleted, *crops_deleted say how many;
     * MIEN_ERR_NOT_FOUND when there is no such subject. The bytes leave the file too
     * (secure_delete, VACUUM, and the WAL is checkpointed and truncated; inside the caller's
     * transaction this happens at commit). Not from inside a face_scan callback. */
    mien_status (*subject_erase)(store_db *s, int64_t collection_id,
                                 const char *external_id, int64_t *faces_deleted,
                                 int64_t *crops_deleted, mien_error *err);

    /* Calls fn with every stored blob of `kind` (templates, or crops) and writes back what fn
     * returns, in the caller's transaction or, without one, in its own; adds the blobs written
     * to *count (may be NULL). The bytes a rewrite replaces leave the file as an erasure's do (SQLite:
     * at commit). fn must not call operations of this handle. seal.h seal_rewrite_all. */
    mien_status (*blob_rewrite)(store_db *s, store_blob kind, store_rewrite_fn fn, void *ctx,
                                int64_t *count, mien_error *err);
    /* Moves face `face_id` to subject `subject_id` (the caller checks that it is of the same
     * collection), its blobs re-sealed for the new place: fn gets the template, then the crop
     * when the face has one, each with its current place (ref), and returns the bytes to store
     * instead (blob_rewrite's callback; *out NULL keeps the stored bytes). The row and its
     * blobs change in one operation (the caller's transaction, or its own). The bytes replaced
     * leave the file as an erasure's do. MIEN_ERR_NOT_FOUND when there is no such face. seal.h
     * seal_face_move. */
    mien_status (*face_move)(store_db *s, int64_t face_id, int64_t subject_id,
                             store_rewrite_fn fn, void *ctx, mien_error *err);

    /* ---- audit chain (schema version 3) ---- */
    /* The last entry's seq and hash (0 and zeros when the log is empty). */
    mien_status (*audit_last)(store_db *s, int64_t *seq, uint8_t hash[32], mien_error *err);
    /* Appends row as given, hashes included (governance/audit.c computes them; `mien migrate`
     * copies rows verbatim). row->seq must be the last entry's seq + 1 (1 for an empty log):
     * MIEN_ERR_EXISTS otherwise, a taken number as well as a gap, so that no caller can fork
     * the chain or leave a hole in it. */
    mien_status (*audit_insert)(store_db *s, const store_audit_row *row, mien_error *err);
    /* Calls fn for entries with from_seq <= seq, ascending, and time in [t0, t1] (0: open). */
    mien_status (*audit_scan)(store_db *s, int64_t from_seq, int64_t t0, int64_t t1,
                              store_audit_fn fn, void *ctx, mien_error *err);

    /* ---- reviews (schema version 3) ---- */
    mien_status (*review_insert)(store_db *s, const store_review *r, mien_error *err);
    /* MIEN_ERR_NOT_FOUND when absent. */
    mien_status (*review_get)(store_db *s, const char *id, store_review *out,
                              mien_error *err);
    /* Writes status, confirmations and confirmed_rank. */
    mien_status (*review_update)(store_db *s, const store_review *r, mien_error *err);
    mien_status (*decision_insert)(store_db *s, const store_decision *d, mien_error *err);
    /* The decisions on review `id`, oldest first; *out malloc'd (caller frees). */
    mien_status (*decision_list)(store_db *s, const char *id, store_decision **out,
                                 size_t *n, mien_error *err);

    /* ---- API keys (schema version 2) ---- */
    /* Stores k (id, secret_hash, role, label) and fills k->created_at (now) and
     * k->revoked_at (0). MIEN_ERR_EXISTS when the id is taken. */
    mien_status (*key_insert)(store_db *s, store_key *k, mien_error *err);
    /* The key `id`, hash included. MIEN_ERR_NOT_FOUND when absent. */
    mien_status (*key_get)(store_db *s, const char *id, store_key *out, mien_error *err);
    /* Every key, revoked ones included, oldest first, each checked against its tag
     * (store/tag.h: a key, its hash included, whose tag fails is MIEN_ERR_STORE naming it;
     * key_get likewise); secret_hash is not handed out (zeroed).
     * *out malloc'd array (caller frees), *n entries. */
    mien_status (*key_list)(store_db *s, store_key **out, size_t *n, mien_error *err);
    /* Marks the key revoked now; a key revoked before keeps its first revocation time.
     * MIEN_ERR_NOT_FOUND when absent. */
    mien_status (*key_revoke)(store_db *s, const char *id, mien_error *err);
    /* The number of keys not revoked. */
    mien_status (*key_count_valid)(store_db *s, int64_t *count, mien_error *err);

    /* ---- row tags (store/tag.h; governance/upgrade.c) ---- */
    /* Whether the schema step that added the tag columns found rows to tag (a store made
     * before them), and they have not been tagged since. */
    mien_status (*tags_pending)(store_db *s, bool *pending, mien_error *err);
    /* Tags every collection, subject and API key row with the store's keys and clears the
     * pending mark, in the caller's transaction; rows already tagged must verify. Only while
     * s->tagging is set (untagged rows are refused otherwise). */
    mien_status (*tag_rows)(store_db *s, store_tag_counts *out, mien_error *err);
    /* Writes a decision's audit_seq and mac (the upgrade chains decisions made before). */
    mien_status (*decision_tag)(store_db *s, const store_decision *d, mien_error *err);

    /* ---- liveness ---- */
    /* MIEN_OK when the database answers now. SQLite: the file is open, MIEN_OK. PostgreSQL:
     * one `SELECT 1`, re-establishing a lost connection first (MIEN_ERR_IO "cannot reach the
     * database" while the server is away). Not inside a transaction. */
    mien_status (*ping)(store_db *s, mien_error *err);

    /* ---- copying a whole store (store_copy.c, `mien migrate`) ----
     * The *_import operations write rows with the ids and times they had in the source store,
     * inside the caller's transaction; they do not write audit entries (the source's chain is
     * copied verbatim with audit_insert). MIEN_ERR_EXISTS when the id or name is taken. */
    /* Collection c as it is: c->id, c->created_at, the policy (counts ignored). */
    mien_status (*collection_import)(store_db *s, const store_collection *c,
                                     mien_error *err);
    /* Subject g (g->id, external_id, display_name, created_at, consent_ref, expires_at; "" and
     * 0 are stored as NULL) in collection `collection_id`. */
    mien_status (*subject_import)(store_db *s, int64_t collection_id,
                                  const store_subject *g, mien_error *err);
    /* Face `face_id` of subject `subject_id` (in `collection_id`, whose id seals it), made at
     * `created_at`: face_insert's face with the given id and time. */
    mien_status (*face_import)(store_db *s, int64_t collection_id, int64_t subject_id,
                               int64_t face_id, int64_t created_at, const store_face_new *face,
                               mien_error *err);
    /* Key k as it is: id, secret_hash, role, label, created_at, revoked_at. */
    mien_status (*key_import)(store_db *s, const store_key *k, mien_error *err);
    /* Calls fn for every face of the collection, ascending id, with its quality, digest, crop
     * and time; stops at fn's first error. */
    mien_status (*face_scan_full)(store_db *s, int64_t collection_id,
                                  store_face_full_fn fn, void *ctx, mien_error *err);
    /* Deletes collection `collection_id`'s reviews and their decisions (notes included): all
     * of them when subject_hash is NULL (a dropped collection), else those whose candidates
     * name that keyed subject hash (an erased subject, 64 hex). *deleted: reviews deleted.
     * In the caller's transaction; scrubbed from the files as an erasure is. */
    mien_status (*review_erase)(store_db *s, int64_t collection_id, const char *subject_hash,
                                int64_t *deleted, mien_error *err);
    /* Calls fn for every review, oldest first, candidates_json included (valid during the
     * callback). Decisions: decision_list; they are copied with decision_insert, which keeps
     * their time. */
    mien_status (*review_scan)(store_db *s, store_review_fn fn, void *ctx,
                               mien_error *err);
    /* The highest ids ever handed out (store_sequences). */
    mien_status (*sequence_get)(store_db *s, store_sequences *out, mien_error *err);
    /* Makes the next ids handed out larger than those of `at_least` and than every id present
     * (after imports with explicit ids); never lowers a sequence. In the caller's transaction. */
    mien_status (*sequence_raise)(store_db *s, const store_sequences *at_least,
                                  mien_error *err);
} store_db_ops;

struct store_db {
    const store_db_ops *ops;
    const keyring *keys;        /* borrowed from the opener, for seal.h (the backends never read
                                   it); NULL: templates can be neither written nor read */
    const struct sql_driver *driver; /* SQL backends: the driver store_sql.c runs on */
    const char *where;          /* the store's name in messages (a path, "postgres U@H:P/D");
                                   set by the backend, never the URI (it may hold a password) */
    int64_t clock;              /* unix seconds every time stamp uses; 0: the system clock
                                   (mien_store_set_clock) */
    char audit_head_path[4096]; /* the signed chain head, kept outside the database */
    int audit_head_reset;       /* set by mien_audit_reset_head and mien_audit_join for their
                                   one checkpoint: a missing or unusable head may be replaced
                                   (governance/audit.c) */
    int audit_genesis;          /* this handle appended entry 1 of the log (audit_append): its
                                   first checkpoint may write the first head */
    uint8_t audit_genesis_hash[32]; /* that entry's hash, checked again at the checkpoint */
    int scrub_failed;           /* the last commit's erasure was committed but its bytes could
                                   not be scrubbed from the files (SQLite: VACUUM, WAL
                                   truncation): governance_after_commit reports scrub_error */
    mien_error scrub_error;
    int schema_version;         /* set by the backend at open (its own numbering) */
    bool tagging;               /* set by mien_store_upgrade while it tags rows made before
                                   row tags: an untagged row (no mac) reads; never otherwise */
};

/* The store's notion of now (store_db.clock, else time()). */
int64_t store_db_now(const store_db *s);

/* Opens (creating and migrating if needed) the store named by `uri`: "sqlite:PATH" or a bare
 * path (store_sqlite.c), "postgres://..." or "postgresql://..." (store_postgres.c), with
 * `keys` (borrowed; must outlive the store) for seal.h. An SQLite file of schema 2 has its
 * plaintext templates sealed here (seal_rewrite_all) after the migration to schema 3. MIEN_ERR_IO when the file or server cannot
 * be reached, MIEN_ERR_STORE for a corrupt or foreign database or a newer schema,
 * MIEN_ERR_UNSUPPORTED for another scheme. @test gallery/test_store.c */
mien_status store_db_open(const char *uri, const keyring *keys, store_db **out,
                              mien_error *err);

/* The SQLite file a URI names ("sqlite:PATH", "sqlite://PATH" or a bare path), pointing
 * into `uri`; NULL for other schemes. */
const char *store_db_file(const char *uri);

#endif
