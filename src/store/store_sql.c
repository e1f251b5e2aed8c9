/* store_sql.c — the store operations that are the same on every SQL database, written once
 * over the driver of store_sql.h: which statement runs, with which values, and what its result
 * means (no row: not found; nothing written: the id is taken). The backends keep the SQL text
 * and the driver. @test governance/test_keys.c, gallery/test_store.c,
 * gallery/test_store_copy.c, gallery/test_store_postgres.c */
#include "store/store_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "store/tag.h"

const char *const SQL_WHAT[SQL_COUNT] = {
#define SQL_WHAT_TEXT(name, what) [SQL_##name] = what,
    SQL_STMT_MAP(SQL_WHAT_TEXT)
#undef SQL_WHAT_TEXT
};

/* ---- running statements ------------------------------------------------------------------
 * An operation lists its values in a table (statement parameters $1, $2, ... in order) and
 * hands it to one of the runners below, which prepare, bind, step, read and reset. */

typedef struct sql_val {
    char kind;     /* 'i' integer, 't' text, 'b' bytes; text or bytes NULL bind SQL NULL */
    int64_t i;
    const void *p;
    size_t n;      /* bytes */
} sql_val;

#define V_I64(x) {.kind = 'i', .i = (int64_t)(x)}
#define V_TEXT(x) {.kind = 't', .p = (x)}
#define V_BLOB(x, len) {.kind = 'b', .p = (x), .n = (len)}
/* 0 and "" are stored as NULL (imports keep absent values absent). */
#define V_I64_OR_NULL(x) {.kind = (x) != 0 ? 'i' : 't', .i = (int64_t)(x)}
#define V_TEXT_OR_NULL(x) {.kind = 't', .p = (x) != NULL && (x)[0] != '\0' ? (x) : NULL}
#define VALUES(v) (v), sizeof(v) / sizeof((v)[0])

/* Fills one element from the row the statement is on. */
typedef void (*sql_reader)(store_db *s, sql_stmt *q, void *elem);

/* Statement `id` of s prepared and bound with v[n]. */
static mien_status prep(store_db *s, sql_id id, const sql_val *v, size_t n, sql_stmt **q,
                        mien_error *err)
{
    const sql_driver *d = s->driver;
    mien_status status = d->prepare(s, id, q, err);
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        if (v[k].kind == 'i') {
            d->bind_i64(*q, v[k].i);
        } else if (v[k].kind == 't') {
            d->bind_text(*q, v[k].p);
        } else {
            d->bind_blob(*q, v[k].p, v[k].n);
        }
    }
    return status;
}

/* What one run of a statement gives back (run_once). */
typedef struct sql_once {
    sql_reader read; /* may be NULL: the row is not read */
    void *out;       /* read's element */
    bool found;      /* a row came */
    int64_t changed; /* rows written */
    int64_t made;    /* the id an INSERT made */
} sql_once;

/* Runs `id` once, bound with v[n], and steps it once; o says what came back. */
static mien_status run_once(store_db *s, sql_id id, const sql_val *v, size_t n, sql_once *o,
                            mien_error *err)
{
    sql_stmt *q;
    mien_status status = prep(s, id, v, n, &q, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = s->driver->step(q, &o->found, err);
    if (status == MIEN_OK) {
        if (o->found && o->read != NULL) {
            o->read(s, q, o->out);
        }
        o->changed = s->driver->changes(q);
        o->made = s->driver->last_id(q);
    }
    s->driver->reset(q);
    return status;
}

/* Runs `id` once: *found (may be NULL) whether a row came; read (may be NULL) fills out. */
static mien_status query_row(store_db *s, sql_id id, const sql_val *v, size_t n,
                             sql_reader read, void *out, bool *found, mien_error *err)
{
    sql_once o = {.read = read, .out = out};
    mien_status status = run_once(s, id, v, n, &o, err);
    if (found != NULL) {
        *found = status == MIEN_OK && o.found;
    }
    return status;
}

/* Runs the write `id`: *changed (may be NULL) rows written, *made (may be NULL) the new row's
 * id. A uniqueness conflict is MIEN_ERR_EXISTS (the driver's message). */
static mien_status write_rows(store_db *s, sql_id id, const sql_val *v, size_t n,
                              int64_t *changed, int64_t *made, mien_error *err)
{
    sql_once o = {.read = NULL};
    mien_status status = run_once(s, id, v, n, &o, err);
    if (status == MIEN_OK && changed != NULL) {
        *changed = o.changed;
    }
    if (status == MIEN_OK && made != NULL) {
        *made = o.made;
    }
    return status;
}

/* An INSERT that may meet a taken id: MIEN_ERR_EXISTS (message `taken`, naming `name`)
 * whether the database refused the row (a constraint) or skipped it (a conflict clause). */
static mien_status insert(store_db *s, sql_id id, const sql_val *v, size_t n, const char *taken,
                          const char *name, int64_t *made, mien_error *err)
{
    int64_t changed = 0;
    mien_status status = write_rows(s, id, v, n, &changed, made, err);
    if (status == MIEN_ERR_EXISTS || (status == MIEN_OK && changed == 0)) {
        status = base_error_set(err, MIEN_ERR_EXISTS, taken, name);
    }
    return status;
}

/* Runs `id` into a malloc'd array of elem_size elements, one per row, each filled by read.
 * *out (caller frees; NULL when empty) and *n; nothing on failure. */
static mien_status collect(store_db *s, sql_id id, const sql_val *v, size_t nv,
                           size_t elem_size, sql_reader read, void *out, size_t *n,
                           mien_error *err)
{
    sql_stmt *q = NULL;
    char *list = NULL;
    size_t cap = 0;
    bool row = false;
    *(void **)out = NULL;
    *n = 0;
    mien_status status = prep(s, id, v, nv, &q, err);
    while (status == MIEN_OK && (status = s->driver->step(q, &row, err)) == MIEN_OK && row) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            char *grown = realloc(list, cap * elem_size);
            if (grown == NULL) {
                status = base_error_set(err, MIEN_ERR_NOMEM, "%s: out of memory", SQL_WHAT[id]);
                break;
            }
            list = grown;
        }
        read(s, q, list + (*n)++ * elem_size);
    }
    if (q != NULL) {
        s->driver->reset(q);
    }
    if (status != MIEN_OK) {
        free(list);
        list = NULL;
        *n = 0;
    }
    *(void **)out = list;
    return status;
}

/* Runs `id`, calling fn on each row (the driver's scan: PostgreSQL streams them). */
static mien_status scan(store_db *s, sql_id id, const sql_val *v, size_t n, sql_row_fn fn,
                        void *ctx, mien_error *err)
{
    sql_stmt *q;
    mien_status status = prep(s, id, v, n, &q, err);
    return status != MIEN_OK ? status : s->driver->scan(q, fn, ctx, err);
}

/* Copies text column `col` into dst[size], truncated to fit. */
static void col_text(store_db *s, sql_stmt *q, int col, char *dst, size_t size)
{
    snprintf(dst, size, "%s", s->driver->col_text(q, col));
}

/* Copies a 32-byte blob column into dst (zeros when it is not 32 bytes: a check then fails). */
static void col_hash(store_db *s, sql_stmt *q, int col, uint8_t dst[32])
{
    size_t n = 0;
    const void *b = s->driver->col_blob(q, col, &n);
    memset(dst, 0, 32);
    if (n == 32) {
        memcpy(dst, b, 32);
    }
}

static void read_i64(store_db *s, sql_stmt *q, void *elem)
{
    *(int64_t *)elem = s->driver->col_i64(q, 0);
}

static void read_pair(store_db *s, sql_stmt *q, void *elem)
{
    int64_t *pair = elem;
    pair[0] = s->driver->col_i64(q, 0);
    pair[1] = s->driver->col_i64(q, 1);
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
    c->max_fmr_ppb = d->col_i64(q, 15);
    c->max_candidates = d->col_i64(q, 16);
    col_hash(s, q, 17, c->mac);
}

/* Writes the tag of `table`'s row `id` (COLLECTION_TAG, SUBJECT_TAG, KEY_TAG: $1 the id). */
static mien_status write_tag(store_db *s, sql_id id, const sql_val *who, const uint8_t mac[32],
                             mien_error *err)
{
    if (s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: rows are tagged with the key file's key, "
                              "and this store was opened without it", s->where);
    }
    const sql_val v[] = {who[0], V_BLOB(mac, 32)};
    return write_rows(s, id, VALUES(v), NULL, NULL, err);
}

static mien_status collection_tag(store_db *s, const store_collection *c, mien_error *err)
{
    uint8_t mac[32];
    const sql_val who[] = {V_I64(c->id)};
    if (s->keys != NULL) {
        tag_collection(s->keys, c, mac);
    }
    return write_tag(s, SQL_COLLECTION_TAG, who, mac, err);
}

/* The collection rows c[n] as read, each checked against its tag. */
static mien_status collection_check(store_db *s, const store_collection *c, size_t n,
                                    mien_error *err)
{
    mien_status status = MIEN_OK;
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        char what[96];
        uint8_t mac[32] = {0};
        snprintf(what, sizeof(what), "collection \"%s\" (row %lld)", c[k].name,
                 (long long)c[k].id);
        if (s->keys != NULL) {
            tag_collection(s->keys, &c[k], mac);
        }
        status = tag_check(s, mac, c[k].mac, what, err);
    }
    return status;
}

/* The values of COLLECTION_IMPORT (COLLECTION_INSERT: without the first, the id). */
#define COLLECTION_VALUES(c, created)                                                          \
    {V_I64((c)->id), V_TEXT((c)->name), V_I64((c)->profile), V_TEXT((c)->model_a),             \
     V_TEXT((c)->model_b), V_TEXT((c)->description), V_I64(created), V_TEXT((c)->purposes),   \
     V_TEXT((c)->legal_basis), V_I64((c)->consent), V_I64((c)->retention_s),                  \
     V_I64((c)->review), V_I64((c)->verification_only), V_I64((c)->max_fmr_ppb),            \
     V_I64((c)->max_candidates)}

mien_status sql_collection_create(store_db *s, store_collection *c, mien_error *err)
{
    int64_t id = 0, now = store_db_now(s);
    if (c == NULL || c->name[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "collection_create: no name");
    }
    const sql_val v[] = COLLECTION_VALUES(c, now);
    mien_status status = insert(s, SQL_COLLECTION_INSERT, v + 1, sizeof(v) / sizeof(v[0]) - 1,
                                "collection \"%s\" already exists", c->name, &id, err);
    if (status == MIEN_OK) {
        c->id = id;
        c->created_at = now;
        c->subjects = 0;
        c->faces = 0;
        status = collection_tag(s, c, err);
    }
    return status;
}

mien_status sql_collection_import(store_db *s, const store_collection *c, mien_error *err)
{
    if (c == NULL || c->id <= 0 || c->name[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "collection_import: no id or name");
    }
    const sql_val v[] = COLLECTION_VALUES(c, c->created_at);
    mien_status status = insert(s, SQL_COLLECTION_IMPORT, VALUES(v),
                                "this collection id or name is taken", c->name, NULL, err);
    return status == MIEN_OK ? collection_tag(s, c, err) : status;
}

mien_status sql_collection_get(store_db *s, const char *name, store_collection *out,
                               mien_error *err)
{
    bool found = false;
    if (name == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "collection_get: no name");
    }
    const sql_val v[] = {V_TEXT(name)};
    mien_status status = query_row(s, SQL_COLLECTION_GET, VALUES(v), read_collection, out,
                                   &found, err);
    if (status == MIEN_OK && !found) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no collection \"%s\"", name);
    }
    return status == MIEN_OK ? collection_check(s, out, 1, err) : status;
}

mien_status sql_collection_list(store_db *s, store_collection **out, size_t *n,
                                mien_error *err)
{
    mien_status status = collect(s, SQL_COLLECTION_LIST, NULL, 0, sizeof(**out),
                                 read_collection, out, n, err);
    if (status == MIEN_OK) {
        status = collection_check(s, *out, *n, err);
    }
    if (status != MIEN_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return status;
}

/* Deletes the collection; the cascade takes subjects, faces and crops with it. */
mien_status sql_collection_drop(store_db *s, int64_t collection_id, mien_error *err)
{
    int64_t changed = 0;
    const sql_val v[] = {V_I64(collection_id)};
    mien_status status = write_rows(s, SQL_COLLECTION_DELETE, VALUES(v), &changed, NULL, err);
    if (status == MIEN_OK && changed == 0) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no collection with id %lld",
                              (long long)collection_id);
    }
    if (status == MIEN_OK && s->driver->erased != NULL) {
        status = s->driver->erased(s, err); /* templates and crops went with it */
    }
    return status;
}

static void read_sequences(store_db *s, sql_stmt *q, void *elem)
{
    store_sequences *out = elem;
    out->collections = s->driver->col_i64(q, 0);
    out->subjects = s->driver->col_i64(q, 1);
    out->faces = s->driver->col_i64(q, 2);
}

mien_status sql_sequence_get(store_db *s, store_sequences *out, mien_error *err)
{
    memset(out, 0, sizeof(*out));
    return query_row(s, SQL_SEQUENCE_GET, NULL, 0, read_sequences, out, NULL, err);
}

/* ---- subjects and faces --------------------------------------------------------------- */

/* MIEN_ERR_ARG unless external_id is 1..STORE_SUBJECT_MAX-1 bytes. */
static mien_status sql_check_external_id(const char *external_id, mien_error *err)
{
    size_t len = external_id != NULL ? strlen(external_id) : 0;
    if (len == 0 || len >= STORE_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "subject id must be 1..%d bytes",
                              STORE_SUBJECT_MAX - 1);
    }
    return MIEN_OK;
}

/* *id the id of subject `external_id` of the collection, or 0 when there is none. */
static mien_status sql_subject_find(store_db *s, int64_t collection_id, const char *external_id,
                                    int64_t *id, mien_error *err)
{
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id)};
    *id = 0;
    return query_row(s, SQL_SUBJECT_FIND, VALUES(v), read_i64, id, NULL, err);
}

mien_status sql_subject_in(store_db *s, int64_t subject_id, int64_t collection_id, bool *found,
                           mien_error *err)
{
    const sql_val v[] = {V_I64(subject_id), V_I64(collection_id)};
    return query_row(s, SQL_SUBJECT_IN, VALUES(v), NULL, NULL, found, err);
}

/* One upsert (SUBJECT_UPSERT: a new subject, or consent_ref / expires_at replaced where
 * given, RETURNING its id), then a look-up when it returned nothing: the subject exists and
 * nothing was to change, or the collection does not exist (the statement inserts only where
 * it does). One statement, so two PostgreSQL nodes ensuring the same new subject at once get
 * the same id (ON CONFLICT), and SQLite needs no transaction around it. */
static void read_subject(store_db *s, sql_stmt *q, void *elem);

/* Checks subject rows g[n] of collection `collection_id` (0: each row's own, column 8)
 * against their tags. */
static mien_status subject_check(store_db *s, const store_subject *g, const int64_t *coll,
                                 size_t n, mien_error *err)
{
    mien_status status = MIEN_OK;
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        char what[200];
        uint8_t mac[32] = {0};
        snprintf(what, sizeof(what), "subject \"%.127s\" (row %lld)", g[k].external_id,
                 (long long)g[k].id);
        if (s->keys != NULL) {
            tag_subject(s->keys, coll[k], &g[k], mac);
        }
        status = tag_check(s, mac, g[k].mac, what, err);
    }
    return status;
}

/* A subject row as read with its collection (SUBJECT_ROW's last column). */
typedef struct subject_at {
    store_subject g;
    int64_t collection_id;
} subject_at;

static void read_subject_at(store_db *s, sql_stmt *q, void *elem)
{
    subject_at *a = elem;
    read_subject(s, q, &a->g);
    a->collection_id = s->driver->col_i64(q, 8);
}

/* Subject `external_id` of the collection, checked, into *g; *found whether it exists. */
static mien_status subject_get(store_db *s, int64_t collection_id, const char *external_id,
                               store_subject *g, bool *found, mien_error *err)
{
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id)};
    subject_at a;
    mien_status status = query_row(s, SQL_SUBJECT_GET, VALUES(v), read_subject_at, &a, found,
                                   err);
    if (status == MIEN_OK && *found) {
        *g = a.g;
        status = subject_check(s, g, &collection_id, 1, err);
    }
    return status;
}

/* Tags subject `external_id` of the collection as it now is. */
static mien_status subject_retag(store_db *s, int64_t collection_id, const char *external_id,
                                 mien_error *err)
{
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id)};
    subject_at a;
    bool found = false;
    uint8_t mac[32];
    mien_status status = query_row(s, SQL_SUBJECT_GET, VALUES(v), read_subject_at, &a, &found,
                                   err);
    if (status != MIEN_OK || !found) {
        return status;
    }
    const sql_val who[] = {V_I64(a.g.id)};
    if (s->keys != NULL) {
        tag_subject(s->keys, collection_id, &a.g, mac);
    }
    return write_tag(s, SQL_SUBJECT_TAG, who, mac, err);
}

mien_status sql_subject_ensure(store_db *s, int64_t collection_id, const char *external_id,
                               const char *display_name, const char *consent_ref,
                               int64_t expires_at, int64_t *subject_id, mien_error *err)
{
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id), V_TEXT(display_name),
                         V_I64(store_db_now(s)), V_TEXT(consent_ref),
                         V_I64_OR_NULL(expires_at)};
    int64_t id = 0;
    store_subject before;
    bool found = false;
    *subject_id = 0;
    mien_status status = sql_check_external_id(external_id, err);
    if (status == MIEN_OK) {
        /* an existing row is checked before it is written: re-tagging it would launder an
         * edit made behind mien's back */
        status = subject_get(s, collection_id, external_id, &before, &found, err);
    }
    if (status == MIEN_OK) {
        status = query_row(s, SQL_SUBJECT_UPSERT, VALUES(v), read_i64, &id, NULL, err);
    }
    if (status == MIEN_OK && id != 0) {
        status = subject_retag(s, collection_id, external_id, err);
    }
    if (status == MIEN_OK && id == 0) {
        status = sql_subject_find(s, collection_id, external_id, &id, err);
    }
    if (status == MIEN_OK && id == 0) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no collection with id %lld",
                                (long long)collection_id);
    }
    *subject_id = status == MIEN_OK ? id : 0;
    return status;
}

/* An EXPIRED_COLUMNS row: where, and the subject row to check. */
typedef struct expired_row {
    store_expired e;
    store_subject g;
} expired_row;

static void read_subject_from(store_db *s, sql_stmt *q, int at, store_subject *g);

static void read_expired(store_db *s, sql_stmt *q, void *elem)
{
    expired_row *r = elem;
    memset(&r->e, 0, sizeof(r->e));
    col_text(s, q, 0, r->e.collection, sizeof(r->e.collection));
    r->e.collection_id = s->driver->col_i64(q, 1);
    read_subject_from(s, q, 2, &r->g);
    snprintf(r->e.external_id, sizeof(r->e.external_id), "%s", r->g.external_id);
}

/* The statement returns the subjects with expires_at <= now and those with none (0 or
 * NULL): every candidate's tag is checked, so that an expiry set to 0 behind mien's back
 * (a subject kept past its retention) stops the purge naming the subject, instead of
 * escaping it. */
mien_status sql_subject_expired(store_db *s, int64_t now, store_expired **out, size_t *n,
                                mien_error *err)
{
    const sql_val v[] = {V_I64(now)};
    expired_row *rows = NULL;
    size_t nr = 0, kept = 0;
    *out = NULL;
    *n = 0;
    mien_status status = collect(s, SQL_SUBJECT_EXPIRED, VALUES(v), sizeof(*rows),
                                 read_expired, &rows, &nr, err);
    for (size_t k = 0; status == MIEN_OK && k < nr; k++) {
        status = subject_check(s, &rows[k].g, &rows[k].e.collection_id, 1, err);
    }
    store_expired *list = status == MIEN_OK && nr > 0 ? malloc(nr * sizeof(*list)) : NULL;
    if (status == MIEN_OK && nr > 0 && list == NULL) {
        status = base_error_set(err, MIEN_ERR_NOMEM, "subject_expired: out of memory");
    }
    for (size_t k = 0; status == MIEN_OK && k < nr; k++) {
        if (rows[k].g.expires_at > 0) {
            list[kept++] = rows[k].e;
        }
    }
    free(rows);
    if (status != MIEN_OK) {
        free(list);
        return status;
    }
    *out = list;
    *n = kept;
    return MIEN_OK;
}

/* A SUBJECT_ROW starting at column `at` into *g. */
static void read_subject_from(store_db *s, sql_stmt *q, int at, store_subject *g)
{
    memset(g, 0, sizeof(*g));
    g->id = s->driver->col_i64(q, at);
    col_text(s, q, at + 1, g->external_id, sizeof(g->external_id));
    col_text(s, q, at + 2, g->display_name, sizeof(g->display_name));
    g->created_at = s->driver->col_i64(q, at + 3);
    g->faces = s->driver->col_i64(q, at + 4);
    col_text(s, q, at + 5, g->consent_ref, sizeof(g->consent_ref));
    g->expires_at = s->driver->col_i64(q, at + 6);
    col_hash(s, q, at + 7, g->mac);
}

static void read_subject(store_db *s, sql_stmt *q, void *elem)
{
    read_subject_from(s, q, 0, elem);
}

mien_status sql_subject_list(store_db *s, int64_t collection_id, store_subject **out,
                             size_t *n, mien_error *err)
{
    const sql_val v[] = {V_I64(collection_id)};
    mien_status status = collect(s, SQL_SUBJECT_LIST, VALUES(v), sizeof(**out), read_subject,
                                 out, n, err);
    for (size_t k = 0; status == MIEN_OK && k < *n; k++) {
        status = subject_check(s, &(*out)[k], &collection_id, 1, err);
    }
    if (status != MIEN_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return status;
}

mien_status sql_subject_import(store_db *s, int64_t collection_id, const store_subject *g,
                               mien_error *err)
{
    if (g == NULL || g->id <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "subject_import: no id");
    }
    mien_status status = sql_check_external_id(g->external_id, err);
    if (status != MIEN_OK) {
        return status;
    }
    const sql_val v[] = {V_I64(g->id),         V_I64(collection_id),
                         V_TEXT(g->external_id), V_TEXT_OR_NULL(g->display_name),
                         V_I64(g->created_at), V_TEXT_OR_NULL(g->consent_ref),
                         V_I64_OR_NULL(g->expires_at)};
    status = insert(s, SQL_SUBJECT_IMPORT, VALUES(v),
                    "this subject id is taken, or its collection is missing", g->external_id,
                    NULL, err);
    return status == MIEN_OK ? subject_retag(s, collection_id, g->external_id, err) : status;
}

mien_status sql_face_exists(store_db *s, int64_t collection_id, const char *external_id,
                            const uint8_t image_sha256[32], bool *found, mien_error *err)
{
    *found = false;
    if (external_id == NULL || image_sha256 == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "face_exists: subject and digest required");
    }
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id), V_BLOB(image_sha256, 32)};
    return query_row(s, SQL_FACE_EXISTS, VALUES(v), NULL, NULL, found, err);
}

/* The subject's rows deleted (the cascade takes faces and crops), counted first: counts[0]
 * faces, counts[1] crops. SUBJECT_LOCK holds the subject's row until the end, so that no
 * other node adds a face between the count and the deletion (PostgreSQL's FOR UPDATE). */
static mien_status erase_rows(store_db *s, int64_t collection_id, const char *external_id,
                              int64_t counts[2], mien_error *err)
{
    int64_t id = 0;
    bool found = false;
    const sql_val who[] = {V_I64(collection_id), V_TEXT(external_id)};
    mien_status status = query_row(s, SQL_SUBJECT_LOCK, VALUES(who), read_i64, &id, &found, err);
    if (status == MIEN_OK && !found) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no subject \"%s\" in collection %lld",
                              external_id, (long long)collection_id);
    }
    const sql_val v[] = {V_I64(id)};
    if (status == MIEN_OK) {
        status = query_row(s, SQL_SUBJECT_COUNTS, VALUES(v), read_pair, counts, NULL, err);
    }
    return status == MIEN_OK ? write_rows(s, SQL_SUBJECT_DELETE, VALUES(v), NULL, NULL, err)
                             : status;
}

/* Erasure: the rows go in one operation; where the database can, their bytes leave its files
 * too (the driver's erased: SQLite scrubs now or at the caller's commit). */
mien_status sql_subject_erase(store_db *s, int64_t collection_id, const char *external_id,
                              int64_t *faces_deleted, int64_t *crops_deleted, mien_error *err)
{
    int64_t counts[2] = {0, 0};
    *faces_deleted = 0;
    *crops_deleted = 0;
    mien_status status = sql_check_external_id(external_id, err);
    if (status == MIEN_OK) {
        status = s->driver->op_begin(s, err);
    }
    if (status != MIEN_OK) {
        return status;
    }
    status = s->driver->op_end(s, erase_rows(s, collection_id, external_id, counts, err), err);
    if (status == MIEN_OK && s->driver->erased != NULL) {
        status = s->driver->erased(s, err);
    }
    if (status == MIEN_OK) {
        *faces_deleted = counts[0];
        *crops_deleted = counts[1];
    }
    return status;
}

/* ---- moving a face to another subject (seal.h seal_face_move) ------------------------- */

/* A face's place and its blobs as stored, copied out of FACE_BLOBS' row (the statement is
 * reset before fn runs). */
typedef struct face_blobs {
    store_blob_ref ref;
    uint8_t *blob[2];   /* template, crop (NULL: none); malloc'd */
    size_t len[2];
    bool nomem;
} face_blobs;

static void read_face_blobs(store_db *s, sql_stmt *q, void *elem)
{
    face_blobs *f = elem;
    f->ref.collection_id = s->driver->col_i64(q, 0);
    f->ref.subject_id = s->driver->col_i64(q, 1);
    col_text(s, q, 4, f->ref.external_id, sizeof(f->ref.external_id)); /* the seal's name */
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        const void *b = s->driver->col_blob(q, 2 + k, &n);
        if (b == NULL || n == 0) {
            continue;
        }
        f->blob[k] = malloc(n);
        f->nomem = f->nomem || f->blob[k] == NULL;
        if (f->blob[k] != NULL) {
            memcpy(f->blob[k], b, n);
            f->len[k] = n;
        }
    }
}

/* The face's row and crop rewritten with what fn makes of each blob. */
static mien_status move_rows(store_db *s, int64_t face_id, int64_t subject_id,
                             store_rewrite_fn fn, void *ctx, mien_error *err)
{
    face_blobs f = {.ref = {.face_id = face_id}};
    uint8_t *out[2] = {NULL, NULL};
    size_t out_len[2] = {0, 0};
    bool found = false;
    const sql_val who[] = {V_I64(face_id)};
    mien_status status = query_row(s, SQL_FACE_BLOBS, VALUES(who), read_face_blobs, &f, &found,
                                   err);
    if (status == MIEN_OK && !found) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no face %lld", (long long)face_id);
    }
    if (status == MIEN_OK && (f.nomem || f.blob[0] == NULL)) {
        status = base_error_set(err, f.nomem ? MIEN_ERR_NOMEM : MIEN_ERR_STORE,
                                "face_move: face %lld: %s", (long long)face_id,
                                f.nomem ? "out of memory" : "no template");
    }
    for (int k = 0; status == MIEN_OK && k < 2; k++) {
        if (f.blob[k] != NULL) {
            status = fn(ctx, k == 0 ? STORE_BLOB_TEMPLATE : STORE_BLOB_CROP, &f.ref, f.blob[k],
                        f.len[k], &out[k], &out_len[k], err);
        }
    }
    if (status == MIEN_OK) {
        const uint8_t *t = out[0] != NULL ? out[0] : f.blob[0];
        const sql_val v[] = {V_I64(face_id), V_I64(subject_id),
                             V_BLOB(t, out[0] != NULL ? out_len[0] : f.len[0])};
        status = write_rows(s, SQL_FACE_MOVE, VALUES(v), NULL, NULL, err);
    }
    if (status == MIEN_OK && out[1] != NULL) {
        const sql_val v[] = {V_I64(face_id), V_BLOB(out[1], out_len[1])};
        status = write_rows(s, SQL_CROP_MOVE, VALUES(v), NULL, NULL, err);
    }
    for (int k = 0; k < 2; k++) {
        free(f.blob[k]);
        free(out[k]);
    }
    return status;
}

/* One operation: the row, its template and its crop move together; the old bytes leave the
 * file where the database can (the driver's erased, as after an erasure). */
mien_status sql_face_move(store_db *s, int64_t face_id, int64_t subject_id, store_rewrite_fn fn,
                          void *ctx, mien_error *err)
{
    mien_status status = s->driver->op_begin(s, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = s->driver->op_end(s, move_rows(s, face_id, subject_id, fn, ctx, err), err);
    if (status == MIEN_OK && s->driver->erased != NULL) {
        status = s->driver->erased(s, err);
    }
    return status;
}

/* A collection's reviews, or (subject_hash not NULL: 64 hex) those whose candidates name that
 * subject, deleted with their decisions (whose notes are free text that may name people);
 * *deleted counts the reviews. The hash is matched quoted, as the candidates' JSON holds it. */
mien_status sql_review_erase(store_db *s, int64_t collection_id, const char *subject_hash,
                             int64_t *deleted, mien_error *err)
{
    char quoted[70];
    *deleted = 0;
    if (subject_hash != NULL && strlen(subject_hash) != 64) {
        return base_error_set(err, MIEN_ERR_ARG, "review_erase: a subject hash is 64 hex");
    }
    if (subject_hash != NULL) {
        snprintf(quoted, sizeof(quoted), "\"%s\"", subject_hash);
    }
    const sql_val v[] = {V_I64(collection_id), V_TEXT(subject_hash != NULL ? quoted : NULL)};
    mien_status status = s->driver->op_begin(s, err);
    if (status != MIEN_OK) {
        return status;
    }
    status = write_rows(s, SQL_DECISION_ERASE, VALUES(v), NULL, NULL, err);
    if (status == MIEN_OK) {
        status = write_rows(s, SQL_REVIEW_ERASE, VALUES(v), deleted, NULL, err);
    }
    status = s->driver->op_end(s, status, err);
    if (status == MIEN_OK && *deleted > 0 && s->driver->erased != NULL) {
        status = s->driver->erased(s, err); /* the notes leave the files too */
    }
    if (status != MIEN_OK) {
        *deleted = 0;
    }
    return status;
}

/* ---- API keys (governance/keys.c): the id and a hash of the secret, never the secret ---- */

/* KEY_COLUMNS into *k: id, role, label, created_at, revoked_at, tag (the hash: read_key_hash). */
static void read_key(store_db *s, sql_stmt *q, void *elem)
{
    store_key *k = elem;
    memset(k, 0, sizeof(*k));
    col_text(s, q, 0, k->id, sizeof(k->id));
    k->role = (mien_role)s->driver->col_i64(q, 1);
    col_text(s, q, 2, k->label, sizeof(k->label));
    k->created_at = s->driver->col_i64(q, 3);
    k->revoked_at = s->driver->col_i64(q, 4);
    col_hash(s, q, 6, k->mac);
}

/* Checks key k (hash included) against its tag. */
static mien_status key_check(store_db *s, const store_key *k, mien_error *err)
{
    char what[64];
    uint8_t mac[32] = {0};
    snprintf(what, sizeof(what), "API key %s", k->id);
    if (s->keys != NULL) {
        tag_key(s->keys, k, mac);
    }
    return tag_check(s, mac, k->mac, what, err);
}

static mien_status key_tag(store_db *s, const store_key *k, mien_error *err)
{
    uint8_t mac[32];
    const sql_val who[] = {V_TEXT(k->id)};
    if (s->keys != NULL) {
        tag_key(s->keys, k, mac);
    }
    return write_tag(s, SQL_KEY_TAG, who, mac, err);
}

/* The values of KEY_IMPORT (KEY_INSERT: the first five). */
#define KEY_VALUES(k, created)                                                                 \
    {V_TEXT((k)->id), V_BLOB((k)->secret_hash, STORE_KEY_HASH_LEN), V_I64((k)->role),          \
     V_TEXT_OR_NULL((k)->label), V_I64(created), V_I64_OR_NULL((k)->revoked_at)}

mien_status sql_key_insert(store_db *s, store_key *k, mien_error *err)
{
    int64_t now = store_db_now(s);
    if (k == NULL || k->id[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "key_insert: no key id");
    }
    const sql_val v[] = KEY_VALUES(k, now);
    mien_status status = insert(s, SQL_KEY_INSERT, v, 5, "key %s already exists", k->id, NULL,
                                err);
    if (status == MIEN_OK) {
        k->created_at = now;
        k->revoked_at = 0;
        status = key_tag(s, k, err);
    }
    return status;
}

mien_status sql_key_import(store_db *s, const store_key *k, mien_error *err)
{
    if (k == NULL || k->id[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "key_import: no key id");
    }
    const sql_val v[] = KEY_VALUES(k, k->created_at);
    mien_status status = insert(s, SQL_KEY_IMPORT, VALUES(v), "this key id is taken", k->id,
                                NULL, err);
    return status == MIEN_OK ? key_tag(s, k, err) : status;
}

/* A key with its hash (KEY_GET); hash_len the stored hash's length. */
typedef struct key_hash {
    store_key key;
    size_t hash_len;
} key_hash;

static void read_key_hash(store_db *s, sql_stmt *q, void *elem)
{
    key_hash *kh = elem;
    read_key(s, q, &kh->key);
    const void *hash = s->driver->col_blob(q, 5, &kh->hash_len);
    if (kh->hash_len == STORE_KEY_HASH_LEN) {
        memcpy(kh->key.secret_hash, hash, STORE_KEY_HASH_LEN);
    }
}

mien_status sql_key_get(store_db *s, const char *id, store_key *out, mien_error *err)
{
    key_hash kh = {.hash_len = 0};
    bool found = false;
    memset(out, 0, sizeof(*out));
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "key_get: no key id");
    }
    const sql_val v[] = {V_TEXT(id)};
    mien_status status = query_row(s, SQL_KEY_GET, VALUES(v), read_key_hash, &kh, &found, err);
    if (status != MIEN_OK) {
        return status;
    }
    if (!found) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no key %s", id);
    }
    if (kh.hash_len != STORE_KEY_HASH_LEN) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: key %s has a %zu-byte hash, want %d",
                              s->where, id, kh.hash_len, STORE_KEY_HASH_LEN);
    }
    status = key_check(s, &kh.key, err);
    if (status == MIEN_OK) {
        *out = kh.key;
    }
    return status;
}

mien_status sql_key_list(store_db *s, store_key **out, size_t *n, mien_error *err)
{
    key_hash *rows = NULL;
    size_t nr = 0;
    *out = NULL;
    *n = 0;
    mien_status status = collect(s, SQL_KEY_LIST, NULL, 0, sizeof(*rows), read_key_hash, &rows,
                                 &nr, err);
    store_key *list = status == MIEN_OK && nr > 0 ? calloc(nr, sizeof(*list)) : NULL;
    if (status == MIEN_OK && nr > 0 && list == NULL) {
        status = base_error_set(err, MIEN_ERR_NOMEM, "key_list: out of memory");
    }
    for (size_t k = 0; status == MIEN_OK && k < nr; k++) {
        status = key_check(s, &rows[k].key, err);
        list[k] = rows[k].key;
        memset(list[k].secret_hash, 0, sizeof(list[k].secret_hash)); /* store.h: not handed out */
    }
    free(rows);
    if (status != MIEN_OK) {
        free(list);
        return status;
    }
    *out = list;
    *n = nr;
    return MIEN_OK;
}

/* The key is checked first (a revocation must not re-tag a row edited behind mien's back);
 * a key revoked before keeps its first revocation time. */
mien_status sql_key_revoke(store_db *s, const char *id, mien_error *err)
{
    store_key k;
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "key_revoke: no key id");
    }
    mien_status status = sql_key_get(s, id, &k, err);
    if (status != MIEN_OK || k.revoked_at != 0) {
        return status;
    }
    k.revoked_at = store_db_now(s);
    const sql_val v[] = {V_TEXT(id), V_I64(k.revoked_at)};
    status = write_rows(s, SQL_KEY_REVOKE, VALUES(v), NULL, NULL, err);
    return status == MIEN_OK ? key_tag(s, &k, err) : status;
}

/* Counted over the checked list: a revocation cleared behind mien's back must not count. */
mien_status sql_key_count_valid(store_db *s, int64_t *count, mien_error *err)
{
    store_key *keys = NULL;
    size_t n = 0;
    *count = 0;
    mien_status status = sql_key_list(s, &keys, &n, err);
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        *count += keys[k].revoked_at == 0;
    }
    free(keys);
    return status;
}

/* ---- reviews and their decisions (governance/review.c) ------------------------------------ */

/* The REVIEW_COLUMNS of a row into *r (candidates_json not handed out: store.h). */
static void read_review(store_db *s, sql_stmt *q, void *elem)
{
    store_review *r = elem;
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
    const char *json = s->driver->col_text(q, 11);
    mien_sha256(json, strlen(json), r->candidates_sha256);
}

mien_status sql_review_insert(store_db *s, const store_review *r, mien_error *err)
{
    const char *json = r->candidates_json != NULL ? r->candidates_json : "[]";
    const sql_val v[] = {V_TEXT(r->id),          V_I64(r->collection_id),
                         V_TEXT(r->collection),  V_I64(r->required),
                         V_I64(r->confirmations), V_I64(r->confirmed_rank),
                         V_TEXT(r->status),      V_I64(r->created_at),
                         V_I64(r->search_seq),   V_I64(r->candidates),
                         V_TEXT(json),           V_BLOB(r->mac, 32)};
    return insert(s, SQL_REVIEW_INSERT, VALUES(v), "review %s already exists", r->id, NULL,
                  err);
}

mien_status sql_review_get(store_db *s, const char *id, store_review *out, mien_error *err)
{
    bool found = false;
    if (id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "review_get: no review id");
    }
    const sql_val v[] = {V_TEXT(id)};
    mien_status status = query_row(s, SQL_REVIEW_GET, VALUES(v), read_review, out, &found,
                                   err);
    if (status == MIEN_OK && !found) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no review \"%s\"", id);
    }
    return status;
}

mien_status sql_review_update(store_db *s, const store_review *r, mien_error *err)
{
    int64_t changed = 0;
    const sql_val v[] = {V_TEXT(r->id), V_TEXT(r->status), V_I64(r->confirmations),
                         V_I64(r->confirmed_rank), V_BLOB(r->mac, 32)};
    mien_status status = write_rows(s, SQL_REVIEW_UPDATE, VALUES(v), &changed, NULL, err);
    if (status == MIEN_OK && changed == 0) {
        status = base_error_set(err, MIEN_ERR_NOT_FOUND, "no review \"%s\"", r->id);
    }
    return status;
}

/* MIEN_ERR_EXISTS when this reviewer already decided, MIEN_ERR_STORE for an unknown review;
 * neither aborts the caller's transaction (PostgreSQL's statement checks the review first). */
mien_status sql_decision_insert(store_db *s, const store_decision *d, mien_error *err)
{
    bool found = false;
    const sql_val v[] = {V_TEXT(d->review_id), V_TEXT(d->reviewer), V_I64(d->decision),
                         V_I64(d->rank),       V_TEXT(d->note),     V_I64(d->time),
                         V_I64(d->audit_seq),  V_BLOB(d->mac, 32)};
    mien_status status = insert(s, SQL_DECISION_INSERT, VALUES(v), "reviewer %s already decided",
                                d->reviewer, NULL, err);
    if (status != MIEN_ERR_EXISTS) {
        return status;
    }
    status = query_row(s, SQL_REVIEW_EXISTS, v, 1, NULL, NULL, &found, err);
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
    d->audit_seq = s->driver->col_i64(q, 6);
    col_hash(s, q, 7, d->mac);
}

mien_status sql_decision_list(store_db *s, const char *id, store_decision **out, size_t *n,
                              mien_error *err)
{
    const sql_val v[] = {V_TEXT(id)};
    return collect(s, SQL_DECISION_LIST, VALUES(v), sizeof(**out), read_decision, out, n, err);
}

mien_status sql_decision_tag(store_db *s, const store_decision *d, mien_error *err)
{
    const sql_val v[] = {V_TEXT(d->review_id), V_TEXT(d->reviewer), V_I64(d->audit_seq),
                         V_BLOB(d->mac, 32)};
    return write_rows(s, SQL_DECISION_TAG, VALUES(v), NULL, NULL, err);
}

/* ---- tagging the rows of a store made before row tags (governance/upgrade.c) -------------- */

mien_status sql_tags_pending(store_db *s, bool *pending, mien_error *err)
{
    int64_t n = 0;
    mien_status status = query_row(s, SQL_TAGS_PENDING, NULL, 0, read_i64, &n, NULL, err);
    *pending = status == MIEN_OK && n > 0;
    return status;
}

static mien_status tag_collections(store_db *s, int64_t *count, mien_error *err)
{
    store_collection *cs = NULL;
    size_t n = 0;
    mien_status status = sql_collection_list(s, &cs, &n, err);
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        status = collection_tag(s, &cs[k], err);
    }
    *count = status == MIEN_OK ? (int64_t)n : 0;
    free(cs);
    return status;
}

static mien_status tag_subjects(store_db *s, int64_t *count, mien_error *err)
{
    subject_at *all = NULL;
    size_t n = 0;
    mien_status status = collect(s, SQL_SUBJECT_ALL, NULL, 0, sizeof(*all), read_subject_at,
                                 &all, &n, err);
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        status = subject_check(s, &all[k].g, &all[k].collection_id, 1, err);
        uint8_t mac[32];
        const sql_val who[] = {V_I64(all[k].g.id)};
        if (status == MIEN_OK) {
            tag_subject(s->keys, all[k].collection_id, &all[k].g, mac);
            status = write_tag(s, SQL_SUBJECT_TAG, who, mac, err);
        }
    }
    *count = status == MIEN_OK ? (int64_t)n : 0;
    free(all);
    return status;
}

static mien_status tag_keys(store_db *s, int64_t *count, mien_error *err)
{
    key_hash *rows = NULL;
    size_t n = 0;
    mien_status status = collect(s, SQL_KEY_LIST, NULL, 0, sizeof(*rows), read_key_hash, &rows,
                                 &n, err);
    for (size_t k = 0; status == MIEN_OK && k < n; k++) {
        status = key_check(s, &rows[k].key, err);
        if (status == MIEN_OK) {
            status = key_tag(s, &rows[k].key, err);
        }
    }
    *count = status == MIEN_OK ? (int64_t)n : 0;
    free(rows);
    return status;
}

/* Rows already tagged are checked on the way (tag_check lets only untagged ones pass while
 * s->tagging): the upgrade tags what was never tagged, it does not re-tag what was changed. */
mien_status sql_tag_rows(store_db *s, store_tag_counts *out, mien_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!s->tagging || s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "tag_rows: only during the upgrade, "
                              "with the key file");
    }
    mien_status status = tag_collections(s, &out->collections, err);
    if (status == MIEN_OK) {
        status = tag_subjects(s, &out->subjects, err);
    }
    if (status == MIEN_OK) {
        status = tag_keys(s, &out->keys, err);
    }
    if (status == MIEN_OK) {
        status = write_rows(s, SQL_TAGS_DONE, NULL, 0, NULL, NULL, err);
    }
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
    int64_t *collection_id; /* face_get: the face's collection (column 4) */
    mien_status status;     /* face_get: fn's */
} scan_ctx;

/* A FACE_SCAN-shaped row (id, subject id, external id, template as stored, quality class,
 * yaw, pitch) to fn. */
static mien_status face_row(void *ctx, sql_stmt *q)
{
    scan_ctx *f = ctx;
    const sql_driver *d = f->s->driver;
    store_face_row row = {
        .face_id = d->col_i64(q, 0),
        .subject_id = d->col_i64(q, 1),
        .external_id = d->col_text(q, 2),
        .has_pose = !d->col_null(q, 4),
    };
    row.template_bytes = d->col_blob(q, 3, &row.template_len);
    if (row.has_pose) {
        row.yaw = (float)d->col_f64(q, 5);
        row.pitch = (float)d->col_f64(q, 6);
    }
    return f->fn(f->ctx, &row);
}

mien_status sql_face_scan(store_db *s, int64_t collection_id, store_face_fn fn, void *ctx,
                          mien_error *err)
{
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx};
    const sql_val v[] = {V_I64(collection_id)};
    return scan(s, SQL_FACE_SCAN, VALUES(v), face_row, &f, err);
}

mien_status sql_face_scan_subject(store_db *s, int64_t collection_id, const char *external_id,
                                  store_face_fn fn, void *ctx, mien_error *err)
{
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx};
    if (external_id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "face_scan_subject: no subject id");
    }
    const sql_val v[] = {V_I64(collection_id), V_TEXT(external_id)};
    return scan(s, SQL_FACE_SCAN_SUBJECT, VALUES(v), face_row, &f, err);
}

/* FACE_GET's row: the collection first (the caller's fn may need it), then fn. */
static void read_face_get(store_db *s, sql_stmt *q, void *elem)
{
    scan_ctx *f = elem;
    *f->collection_id = s->driver->col_i64(q, 7);
    f->status = face_row(f, q);
}

/* One face by id, for following another handle's or node's enrolment (gallery.c). */
mien_status sql_face_get(store_db *s, int64_t face_id, int64_t *collection_id,
                         store_face_fn fn, void *ctx, mien_error *err)
{
    scan_ctx f = {.s = s, .fn = fn, .ctx = ctx, .collection_id = collection_id};
    bool found = false;
    *collection_id = 0;
    const sql_val v[] = {V_I64(face_id)};
    mien_status status = query_row(s, SQL_FACE_GET, VALUES(v), read_face_get, &f, &found, err);
    if (status == MIEN_OK && !found) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no face %lld", (long long)face_id);
    }
    return status != MIEN_OK ? status : f.status;
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
    f.external_id = d->col_text(q, 14);
    return fs->full_fn(fs->ctx, &f);
}

mien_status sql_face_scan_full(store_db *s, int64_t collection_id, store_face_full_fn fn,
                               void *ctx, mien_error *err)
{
    scan_ctx f = {.s = s, .full_fn = fn, .ctx = ctx};
    const sql_val v[] = {V_I64(collection_id)};
    return scan(s, SQL_FACE_SCAN_FULL, VALUES(v), full_row, &f, err);
}

/* ---- the audit chain's rows (governance/audit.c computes the hashes) --------------------- */

typedef struct audit_head {
    int64_t *seq;
    uint8_t *hash;
} audit_head;

static void read_audit_head(store_db *s, sql_stmt *q, void *elem)
{
    audit_head *h = elem;
    *h->seq = s->driver->col_i64(q, 0);
    col_hash(s, q, 1, h->hash);
}

mien_status sql_audit_last(store_db *s, int64_t *seq, uint8_t hash[32], mien_error *err)
{
    audit_head h = {seq, hash};
    *seq = 0;
    memset(hash, 0, 32);
    return query_row(s, SQL_AUDIT_LAST, NULL, 0, read_audit_head, &h, NULL, err);
}

/* The statement adds the row only when row->seq is the next number (store.h). */
mien_status sql_audit_insert(store_db *s, const store_audit_row *row, mien_error *err)
{
    int64_t changed = 0;
    const char *result = row->result != NULL ? row->result : "{}";
    const sql_val v[] = {V_I64(row->seq),          V_I64(row->time),
                         V_TEXT(row->actor),        V_TEXT(row->action),
                         V_TEXT(row->collection),   V_TEXT(row->purpose),
                         V_TEXT(row->case_ref),     V_TEXT(row->input_sha256),
                         V_TEXT(row->outcome),      V_TEXT(result),
                         V_BLOB(row->prev_hash, 32), V_BLOB(row->hash, 32),
                         V_BLOB(row->mac, 32)};
    mien_status status = write_rows(s, SQL_AUDIT_INSERT, VALUES(v), &changed, NULL, err);
    if (status == MIEN_OK && changed == 0) {
        status = base_error_set(err, MIEN_ERR_EXISTS, "audit entry %lld already exists (or is "
                                "not the next one)", (long long)row->seq);
    }
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
    scan_ctx f = {.s = s, .audit_fn = fn, .ctx = ctx};
    const sql_val v[] = {V_I64(from_seq), V_I64(t0), V_I64(t1)};
    return scan(s, SQL_AUDIT_SCAN, VALUES(v), audit_row, &f, err);
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
    scan_ctx f = {.s = s, .review_fn = fn, .ctx = ctx};
    return scan(s, SQL_REVIEW_SCAN, NULL, 0, review_row, &f, err);
}
