/* face_list.c — the faces of a collection one by one (mien.h mien_face_list,
 * mien_face_template): what the Rekognition-compatible API needs for ListFaces, DeleteFaces
 * (which faces a subject has) and SearchFaces (search with a stored face's template), where
 * the rest of the library speaks of subjects.
 *
 * The list reads the store through its face scan (store.h face_scan: the collection's faces
 * with their subject and opened template), the template one face by id (face_get), under the
 * caller's handle; neither changes anything, and
 * neither is audited (listing ids is what mien_subject_list does too; a search made with a
 * stored template is audited by mien_search). A store handle belongs to one thread at a time.
 * @test gallery/test_face_list.c, tests/rekognition/test_rekognition.sh */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "store/handle.h"
#include "store/seal.h"
#include "store/store.h"

/* Looks collection `name` up; MIEN_ERR_NOT_FOUND naming it when absent. */
/* Expired subjects are purged before their faces are listed or read (as gallery.c does before
 * every answer: mien_purge_expired is one indexed query when nothing expired). */
static mien_status purge_first(mien_store *store, mien_error *err)
{
    static const mien_context purge = {.actor = "purge"};
    return mien_purge_expired(store, &purge, NULL, err);
}

static mien_status lookup(store_db *gs, const char *name, store_collection *c,
                          mien_error *err)
{
    mien_status st;
    if (name == NULL || name[0] == '\0' || strlen(name) >= STORE_NAME_MAX) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "collection name must be 1..63 characters of [A-Za-z0-9_.-]");
    }
    st = gs->ops->collection_get(gs, name, c, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        return base_error_set(err, st, "no collection '%s'", name);
    }
    return st;
}

typedef struct list_ctx {
    mien_face_record *rows;
    size_t n, cap;
    mien_error *err;
} list_ctx;

static mien_status list_row(void *ctx, const store_face_row *row)
{
    list_ctx *lc = ctx;
    if (lc->n == lc->cap) {
        size_t cap = lc->cap ? 2 * lc->cap : 64;
        mien_face_record *grown = realloc(lc->rows, cap * sizeof(*grown));
        if (grown == NULL) {
            return base_error_set(lc->err, MIEN_ERR_NOMEM, "out of memory listing faces");
        }
        lc->rows = grown;
        lc->cap = cap;
    }
    mien_face_record *r = &lc->rows[lc->n++];
    memset(r, 0, sizeof(*r));
    r->face_id = row->face_id;
    snprintf(r->subject, sizeof(r->subject), "%s",
             row->external_id != NULL ? row->external_id : "");
    return MIEN_OK;
}

static int by_face_id(const void *a, const void *b)
{
    const mien_face_record *x = a, *y = b;
    return (x->face_id > y->face_id) - (x->face_id < y->face_id);
}

/* Expired subjects purged first (their faces must not be listed), then collection
 * `collection` looked up. */
static mien_status purge_then_lookup(mien_store *store, store_db *gs, const char *collection,
                                     store_collection *c, mien_error *err)
{
    mien_status st = purge_first(store, err);
    return st == MIEN_OK ? lookup(gs, collection, c, err) : st;
}

/* @test gallery/test_face_list.c (face_list_and_template) */
mien_status mien_face_list(mien_store *store, const char *collection, mien_face_record **out,
                           size_t *count, mien_error *err)
{
    store_db *gs = store_db_of(store);
    store_collection c;
    list_ctx lc = {.err = err};
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (gs == NULL || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_face_list: no store or output");
    }
    st = purge_then_lookup(store, gs, collection, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = seal_face_scan(gs, c.id, list_row, &lc, err);
    if (st != MIEN_OK) {
        free(lc.rows);
        return st;
    }
    if (lc.n > 1) {
        qsort(lc.rows, lc.n, sizeof(*lc.rows), by_face_id);
    }
    *out = lc.rows;
    *count = lc.n;
    return MIEN_OK;
}

typedef struct find_ctx {
    int64_t face_id;
    mien_face_record *rec;
    mien_template *t;
    bool found;
    mien_error *err;
} find_ctx;

static mien_status find_row(void *ctx, const store_face_row *row)
{
    find_ctx *fc = ctx;
    mien_status st;
    if (row->face_id != fc->face_id || fc->found) {
        return MIEN_OK;
    }
    fc->found = true;
    fc->rec->face_id = row->face_id;
    snprintf(fc->rec->subject, sizeof(fc->rec->subject), "%s",
             row->external_id != NULL ? row->external_id : "");
    st = mien_template_deserialize(row->template_bytes, row->template_len, &fc->t, NULL);
    if (st != MIEN_OK) {
        return base_error_set(fc->err, MIEN_ERR_STORE, "face %lld has a malformed template",
                              (long long)row->face_id);
    }
    return MIEN_OK;
}

/* @test gallery/test_face_list.c (face_list_and_template) */
mien_status mien_face_template(mien_store *store, const char *collection, int64_t face_id,
                               mien_face_record *rec, mien_template **out, mien_error *err)
{
    store_db *gs = store_db_of(store);
    store_collection c;
    mien_face_record tmp = {0};
    find_ctx fc = {.face_id = face_id, .rec = rec != NULL ? rec : &tmp, .err = err};
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (rec != NULL) {
        memset(rec, 0, sizeof(*rec));
    }
    if (gs == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_face_template: no store or output");
    }
    st = purge_then_lookup(store, gs, collection, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    /* One face by id (store.h face_get), not a scan of the collection. */
    int64_t in_collection = 0;
    st = seal_face_get(gs, face_id, &in_collection, find_row, &fc, err);
    if (st == MIEN_ERR_NOT_FOUND || (st == MIEN_OK && in_collection != c.id)) {
        mien_template_free(fc.t);
        fc.t = NULL;
        fc.found = false;
        st = MIEN_OK;
    }
    if (st != MIEN_OK) {
        mien_template_free(fc.t);
        memset(fc.rec, 0, sizeof(*fc.rec));
        return st;
    }
    if (!fc.found) {
        memset(fc.rec, 0, sizeof(*fc.rec));
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "collection '%s' has no face %lld",
                              collection, (long long)face_id);
    }
    *out = fc.t;
    return MIEN_OK;
}
