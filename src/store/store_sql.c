/* store_sql.c — the store operations that are the same on every SQL database, written once
 * over the driver of store_sql.h: which statement runs, with which values, and what its result
 * means (no row: not found; a conflict: the id is taken). The backends keep the SQL text and
 * the driver. @test governance/test_keys.c, gallery/test_store.c, gallery/test_store_copy.c */
#include "store/store_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const char *const SQL_WHAT[SQL_COUNT] = {
#define SQL_WHAT_TEXT(name, what) [SQL_##name] = what,
    SQL_STMT_MAP(SQL_WHAT_TEXT)
#undef SQL_WHAT_TEXT
};

/* Statement `id` of s prepared, for the operation that runs it. */
static mien_status prep(store_db *s, sql_id id, sql_stmt **q, mien_error *err)
{
    return s->driver->prepare(s, id, q, err);
}

/* Steps q once; *row whether a row came. q is reset on failure. */
static mien_status step(store_db *s, sql_stmt *q, bool *row, mien_error *err)
{
    mien_status status = s->driver->step(q, row, err);
    if (status != MIEN_OK) {
        s->driver->reset(q);
    }
    return status;
}

/* Copies text column `col` into dst[size], truncated to fit. */
static void col_text(store_db *s, sql_stmt *q, int col, char *dst, size_t size)
{
    snprintf(dst, size, "%s", s->driver->col_text(q, col));
}

/* Runs an INSERT that may meet a taken id: MIEN_ERR_EXISTS (message `taken`, naming `id`)
 * whether the database refused the row (a constraint) or skipped it (a conflict clause).
 * *made (may be NULL): the new row's id. */
static mien_status insert_id(store_db *s, sql_stmt *q, const char *taken, const char *id,
                             int64_t *made, mien_error *err)
{
    bool row = false;
    mien_status status = s->driver->step(q, &row, err);
    if (status == MIEN_ERR_EXISTS || (status == MIEN_OK && s->driver->changes(q) == 0)) {
        status = base_error_set(err, MIEN_ERR_EXISTS, taken, id);
    }
    if (status == MIEN_OK && made != NULL) {
        *made = s->driver->last_id(q);
    }
    s->driver->reset(q);
    return status;
}

static mien_status insert(store_db *s, sql_stmt *q, const char *taken, const char *id,
                          mien_error *err)
{
    return insert_id(s, q, taken, id, NULL, err);
}

/* Whether statement `id` (KEY_EXISTS, REVIEW_EXISTS), bound with text `key`, finds a row. */
static mien_status exists(store_db *s, sql_id id, const char *key, bool *found,
                          mien_error *err)
{
    sql_stmt *q;
    mien_status status = prep(s, id, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, key);
    status = step(s, q, found, err);
    if (status == MIEN_OK) {
        s->driver->reset(q);
    }
    return status;
}

/* Steps q through every row into a malloc'd array of elem_size elements, each filled by
 * read; q is reset at the end. *out (caller frees) and *n. */
typedef void (*sql_reader)(store_db *s, sql_stmt *q, void *elem);

static mien_status collect(store_db *s, sql_stmt *q, size_t elem_size, sql_reader read,
                           void **out, size_t *n, mien_error *err)
{
    size_t cap = 0;
    bool row = false;
    mien_status status;
    *out = NULL;
    *n = 0;
    while ((status = s->driver->step(q, &row, err)) == MIEN_OK && row) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            void *grown = realloc(*out, cap * elem_size);
            if (grown == NULL) {
                status = base_error_set(err, MIEN_ERR_NOMEM, "out of memory listing rows");
                break;
            }
            *out = grown;
        }
        read(s, q, (char *)*out + *n * elem_size);
        ++*n;
    }
    s->driver->reset(q);
    if (status != MIEN_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return status;
}

/* ---- collections ---------------------------------------------------------------------- */

/* The COLLECTION_COLUMNS of a row into *c. */
static void read_collection(store_db *s, sql_stmt *q, void *elem)
{
    store_collection *c = elem;
    const sql_driver *d = s->driver;
    memset(c, 0, sizeof(*c));
    c->id = d->col_i64(q, 0);
    col_text(s, q, 1, c->name, sizeof(c->name));
    c->profile = (mien_profile)d->col_i64(q, 2);
    col_text(s, q, 3, c->model_a, sizeof(c->model_a));
    col_text(s, q, 4, c->model_b, sizeof(c->model_b));
    col_text(s, q, 5, c->description, sizeof(c->description));
    c->created_at = d->col_i64(q, 6);
    c->subjects = d->col_i64(q, 7);
    c->faces = d->col_i64(q, 8);
    col_text(s, q, 9, c->purposes, sizeof(c->purposes));
    col_text(s, q, 10, c->legal_basis, sizeof(c->legal_basis));
    c->consent = (int)d->col_i64(q, 11);
    c->retention_s = d->col_i64(q, 12);
    c->review = (int)d->col_i64(q, 13);
    c->verification_only = (int)d->col_i64(q, 14);
}

/* The values of COLLECTION_INSERT (and COLLECTION_IMPORT after its id): name, profile,
 * models, description, created_at and the policy. */
static void bind_collection(store_db *s, sql_stmt *q, const store_collection *c,
                            int64_t created_at)
{
    const sql_driver *d = s->driver;
    d->bind_text(q, c->name);
    d->bind_i64(q, (int64_t)c->profile);
    d->bind_text(q, c->model_a);
    d->bind_text(q, c->model_b);
    d->bind_text(q, c->description);
    d->bind_i64(q, created_at);
    d->bind_text(q, c->purposes);
    d->bind_text(q, c->legal_basis);
    d->bind_i64(q, c->consent);
    d->bind_i64(q, c->retention_s);
    d->bind_i64(q, c->review);
    d->bind_i64(q, c->verification_only);
}

mien_status sql_collection_create(store_db *s, store_collection *c, mien_error *err)
{
    sql_stmt *q;
    int64_t id = 0;
    if (c == NULL || c->name[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "collection_create: no name");
    }
    mien_status status = prep(s, SQL_COLLECTION_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    int64_t now = store_db_now(s);
    bind_collection(s, q, c, now);
    status = insert_id(s, q, "collection \"%s\" already exists", c->name, &id, err);
    if (status == MIEN_OK) {
        c->id = id;
        c->created_at = now;
        c->subjects = 0;
        c->faces = 0;
    }
    return status;
}

mien_status sql_collection_import(store_db *s, const store_collection *c, mien_error *err)
{
    sql_stmt *q;
    if (c == NULL || c->id <= 0 || c->name[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "collection_import: no id or name");
    }
    mien_status status = prep(s, SQL_COLLECTION_IMPORT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, c->id);
    bind_collection(s, q, c, c->created_at);
    return insert(s, q, "this collection id or name is taken", c->name, err);
}

mien_status sql_collection_get(store_db *s, const char *name, store_collection *out,
                               mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    if (name == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "collection_get: no name");
    }
    mien_status status = prep(s, SQL_COLLECTION_GET, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, name);
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (row) {
        read_collection(s, q, out);
    } else {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no collection \"%s\"", name);
    }
    s->driver->reset(q);
    return status;
}

mien_status sql_collection_list(store_db *s, store_collection **out, size_t *n,
                                mien_error *err)
{
    sql_stmt *q;
    void *list = NULL;
    *out = NULL;
    *n = 0;
    mien_status status = prep(s, SQL_COLLECTION_LIST, &q, err);
    if (status == MIEN_OK) {
        status = collect(s, q, sizeof(**out), read_collection, &list, n, err);
    }
    *out = list;
    return status;
}

/* ---- subjects and faces --------------------------------------------------------------- */

mien_status sql_check_external_id(const char *external_id, mien_error *err)
{
    size_t len = external_id != NULL ? strlen(external_id) : 0;
    if (len == 0 || len >= STORE_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "subject id must be 1..%d bytes",
                              STORE_SUBJECT_MAX - 1);
    }
    return MIEN_OK;
}

/* Runs statement `id`, bound with one integer `v`, into a malloc'd array (collect). */
static mien_status collect_by(store_db *s, sql_id id, int64_t v, size_t elem_size,
                              sql_reader read, void **out, size_t *n, mien_error *err)
{
    sql_stmt *q;
    *out = NULL;
    *n = 0;
    mien_status status = prep(s, id, &q, err);
    if (status == MIEN_OK) {
        s->driver->bind_i64(q, v);
        status = collect(s, q, elem_size, read, out, n, err);
    }
    return status;
}

static void read_expired(store_db *s, sql_stmt *q, void *elem)
{
    store_expired *e = elem;
    memset(e, 0, sizeof(*e));
    col_text(s, q, 0, e->collection, sizeof(e->collection));
    e->collection_id = s->driver->col_i64(q, 1);
    col_text(s, q, 2, e->external_id, sizeof(e->external_id));
}

mien_status sql_subject_expired(store_db *s, int64_t now, store_expired **out, size_t *n,
                                mien_error *err)
{
    void *list = NULL;
    mien_status status = collect_by(s, SQL_SUBJECT_EXPIRED, now, sizeof(**out), read_expired,
                                    &list, n, err);
    *out = list;
    return status;
}

static void read_subject(store_db *s, sql_stmt *q, void *elem)
{
    store_subject *g = elem;
    memset(g, 0, sizeof(*g));
    g->id = s->driver->col_i64(q, 0);
    col_text(s, q, 1, g->external_id, sizeof(g->external_id));
    col_text(s, q, 2, g->display_name, sizeof(g->display_name));
    g->created_at = s->driver->col_i64(q, 3);
    g->faces = s->driver->col_i64(q, 4);
    col_text(s, q, 5, g->consent_ref, sizeof(g->consent_ref));
    g->expires_at = s->driver->col_i64(q, 6);
}

mien_status sql_subject_list(store_db *s, int64_t collection_id, store_subject **out,
                             size_t *n, mien_error *err)
{
    void *list = NULL;
    mien_status status = collect_by(s, SQL_SUBJECT_LIST, collection_id, sizeof(**out),
                                    read_subject, &list, n, err);
    *out = list;
    return status;
}

/* "" binds NULL, as the import keeps absent values absent. */
static void bind_text_or_null(store_db *s, sql_stmt *q, const char *text)
{
    s->driver->bind_text(q, text != NULL && text[0] != '\0' ? text : NULL);
}

mien_status sql_subject_import(store_db *s, int64_t collection_id, const store_subject *g,
                               mien_error *err)
{
    sql_stmt *q;
    if (g == NULL || g->id <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "subject_import: no id");
    }
    mien_status status = sql_check_external_id(g->external_id, err);
    if (status == MIEN_OK) {
        status = prep(s, SQL_SUBJECT_IMPORT, &q, err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, g->id);
    s->driver->bind_i64(q, collection_id);
    s->driver->bind_text(q, g->external_id);
    bind_text_or_null(s, q, g->display_name);
    s->driver->bind_i64(q, g->created_at);
    bind_text_or_null(s, q, g->consent_ref);
    if (g->expires_at != 0) {
        s->driver->bind_i64(q, g->expires_at);
    } else {
        s->driver->bind_text(q, NULL);
    }
    return insert(s, q, "this subject id is taken, or its collection is missing",
                  g->external_id, err);
}

mien_status sql_face_exists(store_db *s, int64_t collection_id, const char *external_id,
                            const uint8_t image_sha256[32], bool *found, mien_error *err)
{
    sql_stmt *q;
    *found = false;
    if (external_id == NULL || image_sha256 == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "face_exists: subject and digest required");
    }
    mien_status status = prep(s, SQL_FACE_EXISTS, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, collection_id);
    s->driver->bind_text(q, external_id);
    s->driver->bind_blob(q, image_sha256, 32);
    status = step(s, q, found, err);
    if (status == MIEN_OK) {
        s->driver->reset(q);
    }
    return status;
}

/* ---- API keys (governance/keys.c): the id and a hash of the secret, never the secret ---- */

/* Columns id, role, label, created_at, revoked_at of KEY_GET / KEY_LIST into *k (hash
 * zeroed). */
static void read_key(store_db *s, sql_stmt *q, void *elem)
{
    store_key *k = elem;
    memset(k, 0, sizeof(*k));
    col_text(s, q, 0, k->id, sizeof(k->id));
    k->role = (mien_role)s->driver->col_i64(q, 1);
    col_text(s, q, 2, k->label, sizeof(k->label));
    k->created_at = s->driver->col_i64(q, 3);
    k->revoked_at = s->driver->col_i64(q, 4);
}

/* The values of KEY_INSERT and KEY_IMPORT: id, secret_hash, role, label, created_at. */
static void bind_key(store_db *s, sql_stmt *q, const store_key *k, int64_t created_at)
{
    s->driver->bind_text(q, k->id);
    s->driver->bind_blob(q, k->secret_hash, STORE_KEY_HASH_LEN);
    s->driver->bind_i64(q, (int64_t)k->role);
    s->driver->bind_text(q, k->label[0] != '\0' ? k->label : NULL);
    s->driver->bind_i64(q, created_at);
}

mien_status sql_key_insert(store_db *s, store_key *k, mien_error *err)
{
    sql_stmt *q;
    if (k == NULL || k->id[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "key_insert: no key id");
    }
    mien_status status = prep(s, SQL_KEY_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    int64_t now = store_db_now(s);
    bind_key(s, q, k, now);
    status = insert(s, q, "key %s already exists", k->id, err);
    if (status == MIEN_OK) {
        k->created_at = now;
        k->revoked_at = 0;
    }
    return status;
}

mien_status sql_key_import(store_db *s, const store_key *k, mien_error *err)
{
    sql_stmt *q;
    if (k == NULL || k->id[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "key_import: no key id");
    }
    mien_status status = prep(s, SQL_KEY_IMPORT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    bind_key(s, q, k, k->created_at);
    if (k->revoked_at != 0) {
        s->driver->bind_i64(q, k->revoked_at);
    } else {
        s->driver->bind_text(q, NULL);
    }
    return insert(s, q, "this key id is taken", k->id, err);
}

mien_status sql_key_get(store_db *s, const char *id, store_key *out, mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    memset(out, 0, sizeof(*out));
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "key_get: no key id");
    }
    mien_status status = prep(s, SQL_KEY_GET, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, id);
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    size_t n = 0;
    const void *hash = row ? s->driver->col_blob(q, 5, &n) : NULL;
    if (!row) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no key %s", id);
    } else if (n != STORE_KEY_HASH_LEN) {
        status = base_error_set(err, MIEN_ERR_STORE, "%s: key %s has a %zu-byte hash, want %d",
                                s->where, id, n, STORE_KEY_HASH_LEN);
    } else {
        read_key(s, q, out);
        memcpy(out->secret_hash, hash, STORE_KEY_HASH_LEN);
    }
    s->driver->reset(q);
    return status;
}

mien_status sql_key_list(store_db *s, store_key **out, size_t *n, mien_error *err)
{
    sql_stmt *q;
    void *list = NULL;
    *out = NULL;
    *n = 0;
    mien_status status = prep(s, SQL_KEY_LIST, &q, err);
    if (status == MIEN_OK) {
        status = collect(s, q, sizeof(**out), read_key, &list, n, err);
    }
    *out = list;
    return status;
}

mien_status sql_key_revoke(store_db *s, const char *id, mien_error *err)
{
    sql_stmt *q;
    bool row = false, found = false;
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "key_revoke: no key id");
    }
    mien_status status = prep(s, SQL_KEY_REVOKE, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, id);
    s->driver->bind_i64(q, store_db_now(s));
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    int64_t changed = s->driver->changes(q);
    s->driver->reset(q);
    if (changed > 0) {
        return MIEN_OK;
    }
    /* Nothing changed: an unknown id, or a key revoked before (left as it was). */
    status = exists(s, SQL_KEY_EXISTS, id, &found, err);
    if (status == MIEN_OK && !found) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no key %s", id);
    }
    return status;
}

mien_status sql_key_count_valid(store_db *s, int64_t *count, mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    *count = 0;
    mien_status status = prep(s, SQL_KEY_COUNT_VALID, &q, err);
    if (status == MIEN_OK) {
        status = step(s, q, &row, err);
    }
    if (status == MIEN_OK) {
        *count = row ? s->driver->col_i64(q, 0) : 0;
        s->driver->reset(q);
    }
    return status;
}

/* ---- reviews and their decisions (governance/review.c) ------------------------------------ */

/* Copies a 32-byte blob column into dst (zeros when it is not 32 bytes). */
static void col_hash(store_db *s, sql_stmt *q, int col, uint8_t dst[32])
{
    size_t n = 0;
    const void *b = s->driver->col_blob(q, col, &n);
    memset(dst, 0, 32);
    if (n == 32) {
        memcpy(dst, b, 32);
    }
}

/* The REVIEW_GET columns into *r (candidates_json not handed out: store.h). */
static void read_review(store_db *s, sql_stmt *q, store_review *r)
{
    memset(r, 0, sizeof(*r));
    col_text(s, q, 0, r->id, sizeof(r->id));
    r->collection_id = s->driver->col_i64(q, 1);
    col_text(s, q, 2, r->collection, sizeof(r->collection));
    r->required = (int)s->driver->col_i64(q, 3);
    r->confirmations = (int)s->driver->col_i64(q, 4);
    r->confirmed_rank = (int)s->driver->col_i64(q, 5);
    col_text(s, q, 6, r->status, sizeof(r->status));
    r->created_at = s->driver->col_i64(q, 7);
    r->search_seq = s->driver->col_i64(q, 8);
    r->candidates = s->driver->col_i64(q, 9);
    col_hash(s, q, 10, r->mac);
}

mien_status sql_review_insert(store_db *s, const store_review *r, mien_error *err)
{
    sql_stmt *q;
    mien_status status = prep(s, SQL_REVIEW_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    const sql_driver *d = s->driver;
    d->bind_text(q, r->id);
    d->bind_i64(q, r->collection_id);
    d->bind_text(q, r->collection);
    d->bind_i64(q, r->required);
    d->bind_i64(q, r->confirmations);
    d->bind_i64(q, r->confirmed_rank);
    d->bind_text(q, r->status);
    d->bind_i64(q, r->created_at);
    d->bind_i64(q, r->search_seq);
    d->bind_i64(q, r->candidates);
    d->bind_text(q, r->candidates_json != NULL ? r->candidates_json : "[]");
    d->bind_blob(q, r->mac, 32);
    return insert(s, q, "review %s already exists", r->id, err);
}

mien_status sql_review_get(store_db *s, const char *id, store_review *out, mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "review_get: no review id");
    }
    mien_status status = prep(s, SQL_REVIEW_GET, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, id);
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (row) {
        read_review(s, q, out);
    } else {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no review \"%s\"", id);
    }
    s->driver->reset(q);
    return status;
}

mien_status sql_review_update(store_db *s, const store_review *r, mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    mien_status status = prep(s, SQL_REVIEW_UPDATE, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, r->id);
    s->driver->bind_text(q, r->status);
    s->driver->bind_i64(q, r->confirmations);
    s->driver->bind_i64(q, r->confirmed_rank);
    s->driver->bind_blob(q, r->mac, 32);
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (s->driver->changes(q) == 0) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no review \"%s\"", r->id);
    }
    s->driver->reset(q);
    return status;
}

/* MIEN_ERR_EXISTS when this reviewer already decided, MIEN_ERR_STORE for an unknown review;
 * neither aborts the caller's transaction (PostgreSQL's statement checks the review first). */
mien_status sql_decision_insert(store_db *s, const store_decision *d, mien_error *err)
{
    sql_stmt *q;
    bool found = false;
    mien_status status = prep(s, SQL_DECISION_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_text(q, d->review_id);
    s->driver->bind_text(q, d->reviewer);
    s->driver->bind_i64(q, d->decision);
    s->driver->bind_i64(q, d->rank);
    s->driver->bind_text(q, d->note);
    s->driver->bind_i64(q, d->time);
    status = insert(s, q, "reviewer %s already decided", d->reviewer, err);
    if (status != MIEN_ERR_EXISTS) {
        return status;
    }
    status = exists(s, SQL_REVIEW_EXISTS, d->review_id, &found, err);
    if (status == MIEN_OK && !found) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: decision_insert: no review \"%s\"",
                              s->where, d->review_id);
    }
    return status != MIEN_OK ? status
                             : base_error_set(err, MIEN_ERR_EXISTS, "reviewer \"%s\" already "
                                              "decided on review %s", d->reviewer,
                                              d->review_id);
}

static void read_decision(store_db *s, sql_stmt *q, void *elem)
{
    store_decision *d = elem;
    memset(d, 0, sizeof(*d));
    col_text(s, q, 0, d->review_id, sizeof(d->review_id));
    col_text(s, q, 1, d->reviewer, sizeof(d->reviewer));
    d->decision = (int)s->driver->col_i64(q, 2);
    d->rank = (int)s->driver->col_i64(q, 3);
    col_text(s, q, 4, d->note, sizeof(d->note));
    d->time = s->driver->col_i64(q, 5);
}

mien_status sql_decision_list(store_db *s, const char *id, store_decision **out, size_t *n,
                              mien_error *err)
{
    sql_stmt *q;
    void *list = NULL;
    *out = NULL;
    *n = 0;
    mien_status status = prep(s, SQL_DECISION_LIST, &q, err);
    if (status == MIEN_OK) {
        s->driver->bind_text(q, id);
        status = collect(s, q, sizeof(**out), read_decision, &list, n, err);
    }
    *out = list;
    return status;
}

/* ---- scans: the rows handed to the caller's callback, one at a time ---------------------- */

/* What a scan's row callback needs: the store and the caller's callback. */
typedef struct scan_ctx {
    store_db *s;
    store_face_fn fn;
    store_face_full_fn full_fn;
    store_audit_fn audit_fn;
    store_review_fn review_fn;
    void *ctx;
} scan_ctx;

/* A FACE_SCAN-shaped row (id, subject id, external id, template as stored) to fn. */
static mien_status face_row(void *ctx, sql_stmt *q)
{
    scan_ctx *f = ctx;
    size_t n = 0;
    store_face_row row = {
        .face_id = f->s->driver->col_i64(q, 0),
        .subject_id = f->s->driver->col_i64(q, 1),
        .external_id = f->s->driver->col_text(q, 2),
    };
    row.template_bytes = f->s->driver->col_blob(q, 3, &n);
    row.template_len = n;
    return f->fn(f->ctx, &row);
}

mien_status sql_face_scan(store_db *s, int64_t collection_id, store_face_fn fn, void *ctx,
                          mien_error *err)
{
    sql_stmt *q;
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx};
    mien_status status = prep(s, SQL_FACE_SCAN, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, collection_id);
    return s->driver->scan(q, face_row, &f, err);
}

mien_status sql_face_scan_subject(store_db *s, int64_t collection_id, const char *external_id,
                                  store_face_fn fn, void *ctx, mien_error *err)
{
    sql_stmt *q;
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx};
    if (external_id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "face_scan_subject: no subject id");
    }
    mien_status status = prep(s, SQL_FACE_SCAN_SUBJECT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, collection_id);
    s->driver->bind_text(q, external_id);
    return s->driver->scan(q, face_row, &f, err);
}

/* One face by id, for following another handle's or node's enrolment (gallery.c): its
 * collection comes from the row (column 4). */
mien_status sql_face_get(store_db *s, int64_t face_id, int64_t *collection_id,
                         store_face_fn fn, void *ctx, mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx};
    *collection_id = 0;
    mien_status status = prep(s, SQL_FACE_GET, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, face_id);
    status = step(s, q, &row, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (row) {
        *collection_id = s->driver->col_i64(q, 4);
        status = face_row(&f, q);
    } else {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no face %lld", (long long)face_id);
    }
    s->driver->reset(q);
    return status;
}

/* The quality columns 3..10 of a FACE_SCAN_FULL row (class NULL: none recorded). */
static void read_quality(store_db *s, sql_stmt *q, store_face_full *f)
{
    const sql_driver *d = s->driver;
    if (d->col_null(q, 3)) {
        return;
    }
    f->has_quality = true;
    f->quality.klass = (mien_quality_class)d->col_i64(q, 3);
    f->quality.interocular_px = (float)d->col_f64(q, 4);
    f->quality.sharpness = (float)d->col_f64(q, 5);
    f->quality.yaw = (float)d->col_f64(q, 6);
    f->quality.pitch = (float)d->col_f64(q, 7);
    f->quality.roll = (float)d->col_f64(q, 8);
    f->quality.detector_score = (float)d->col_f64(q, 9);
    f->quality.landmark_score = (float)d->col_f64(q, 10);
}

/* A FACE_SCAN_FULL row (template and crop as stored) to fn. */
static mien_status full_row(void *ctx, sql_stmt *q)
{
    scan_ctx *fs = ctx;
    const sql_driver *d = fs->s->driver;
    store_face_full f;
    size_t n = 0;
    memset(&f, 0, sizeof(f));
    f.face_id = d->col_i64(q, 0);
    f.subject_id = d->col_i64(q, 1);
    f.template_bytes = d->col_blob(q, 2, &f.template_len);
    read_quality(fs->s, q, &f);
    const void *sha = d->col_blob(q, 11, &n);
    if (n == 32) {
        f.has_image_sha256 = true;
        memcpy(f.image_sha256, sha, 32);
    }
    f.created_at = d->col_i64(q, 12);
    if (!d->col_null(q, 13)) {
        f.crop_rgb = d->col_blob(q, 13, &f.crop_len);
    }
    return fs->full_fn(fs->ctx, &f);
}

mien_status sql_face_scan_full(store_db *s, int64_t collection_id, store_face_full_fn fn,
                               void *ctx, mien_error *err)
{
    sql_stmt *q;
    scan_ctx f = {.s = s, .full_fn = fn, .ctx = ctx};
    mien_status status = prep(s, SQL_FACE_SCAN_FULL, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, collection_id);
    return s->driver->scan(q, full_row, &f, err);
}

/* ---- the audit chain's rows (governance/audit.c computes the hashes) --------------------- */

mien_status sql_audit_last(store_db *s, int64_t *seq, uint8_t hash[32], mien_error *err)
{
    sql_stmt *q;
    bool row = false;
    *seq = 0;
    memset(hash, 0, 32);
    mien_status status = prep(s, SQL_AUDIT_LAST, &q, err);
    if (status == MIEN_OK) {
        status = step(s, q, &row, err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    if (row) {
        *seq = s->driver->col_i64(q, 0);
        col_hash(s, q, 1, hash);
    }
    s->driver->reset(q);
    return MIEN_OK;
}

/* The statement adds the row only when row->seq is the next number (store.h). */
mien_status sql_audit_insert(store_db *s, const store_audit_row *row, mien_error *err)
{
    sql_stmt *q;
    bool done = false;
    mien_status status = prep(s, SQL_AUDIT_INSERT, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    const sql_driver *d = s->driver;
    d->bind_i64(q, row->seq);
    d->bind_i64(q, row->time);
    d->bind_text(q, row->actor);
    d->bind_text(q, row->action);
    d->bind_text(q, row->collection);
    d->bind_text(q, row->purpose);
    d->bind_text(q, row->case_ref);
    d->bind_text(q, row->input_sha256);
    d->bind_text(q, row->outcome);
    d->bind_text(q, row->result != NULL ? row->result : "{}");
    d->bind_blob(q, row->prev_hash, 32);
    d->bind_blob(q, row->hash, 32);
    d->bind_blob(q, row->mac, 32);
    status = step(s, q, &done, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (d->changes(q) == 0) {
        status = base_error_set(err, MIEN_ERR_EXISTS, "audit entry %lld already exists (or is "
                                "not the next one)", (long long)row->seq);
    }
    d->reset(q);
    return status;
}

static mien_status audit_row(void *ctx, sql_stmt *q)
{
    scan_ctx *f = ctx;
    store_audit_row r;
    memset(&r, 0, sizeof(r));
    r.seq = f->s->driver->col_i64(q, 0);
    r.time = f->s->driver->col_i64(q, 1);
    col_text(f->s, q, 2, r.actor, sizeof(r.actor));
    col_text(f->s, q, 3, r.action, sizeof(r.action));
    col_text(f->s, q, 4, r.collection, sizeof(r.collection));
    col_text(f->s, q, 5, r.purpose, sizeof(r.purpose));
    col_text(f->s, q, 6, r.case_ref, sizeof(r.case_ref));
    col_text(f->s, q, 7, r.input_sha256, sizeof(r.input_sha256));
    col_text(f->s, q, 8, r.outcome, sizeof(r.outcome));
    r.result = f->s->driver->col_text(q, 9);
    col_hash(f->s, q, 10, r.prev_hash);
    col_hash(f->s, q, 11, r.hash);
    col_hash(f->s, q, 12, r.mac);
    return f->audit_fn(f->ctx, &r);
}

mien_status sql_audit_scan(store_db *s, int64_t from_seq, int64_t t0, int64_t t1,
                           store_audit_fn fn, void *ctx, mien_error *err)
{
    sql_stmt *q;
    scan_ctx f = {.s = s, .audit_fn = fn, .ctx = ctx};
    mien_status status = prep(s, SQL_AUDIT_SCAN, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    s->driver->bind_i64(q, from_seq);
    s->driver->bind_i64(q, t0);
    s->driver->bind_i64(q, t1);
    return s->driver->scan(q, audit_row, &f, err);
}

/* A REVIEW_COLUMNS row, candidates_json included ("[]" when NULL), to fn. */
static mien_status review_row(void *ctx, sql_stmt *q)
{
    scan_ctx *f = ctx;
    store_review r;
    read_review(f->s, q, &r);
    r.candidates_json = f->s->driver->col_null(q, 11) ? "[]" : f->s->driver->col_text(q, 11);
    return f->review_fn(f->ctx, &r);
}

mien_status sql_review_scan(store_db *s, store_review_fn fn, void *ctx, mien_error *err)
{
    sql_stmt *q;
    scan_ctx f = {.s = s, .review_fn = fn, .ctx = ctx};
    mien_status status = prep(s, SQL_REVIEW_SCAN, &q, err);
    return status != MIEN_OK ? status : s->driver->scan(q, review_row, &f, err);
}
