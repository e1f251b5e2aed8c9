/* seal.c — templates and crops sealed above the store interface (seal.h): the backends store
 * and return opaque bytes, and every seal and open happens here, with the store's keyring.
 *
 * The associated data of a blob (seal_ad) binds it to its place: "mien/template" or
 * "mien/crop" (13 bytes, zero-padded), the collection id and the subject id as 8 bytes
 * little-endian each, 29 bytes. It is part of the on-disk format: stores sealed before the
 * store layer existed open under it unchanged. @test gallery/test_store.c */
#include "store/seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "face/face.h"

#define SEAL_AD_LEN 29

static void seal_ad(store_blob kind, int64_t collection_id, int64_t subject_id,
                    uint8_t ad[SEAL_AD_LEN])
{
    static const char tag[2][14] = {"mien/template", "mien/crop"};
    uint64_t coll = (uint64_t)collection_id, subj = (uint64_t)subject_id;
    memset(ad, 0, SEAL_AD_LEN);
    memcpy(ad, tag[kind == STORE_BLOB_CROP], strlen(tag[kind == STORE_BLOB_CROP]));
    for (int i = 0; i < 8; i++) {
        ad[13 + i] = (uint8_t)(coll >> (8 * i));
        ad[21 + i] = (uint8_t)(subj >> (8 * i));
    }
}

static mien_status no_key(const store_db *s, mien_error *err)
{
    return base_error_set(err, MIEN_ERR_ARG, "%s: no data key: templates are encrypted at rest "
                          "and this store was opened without its key file", s->where);
}

/* Seals plain[n] for its place with the store's current data key into *out (malloc'd,
 * n + KEYRING_SEAL_OVERHEAD bytes; the caller frees it). */
static mien_status seal_blob(const store_db *s, store_blob kind, int64_t collection_id,
                             int64_t subject_id, const uint8_t *plain, size_t n, uint8_t **out,
                             mien_error *err)
{
    uint8_t ad[SEAL_AD_LEN];
    *out = NULL;
    if (s->keys == NULL) {
        return no_key(s, err);
    }
    uint8_t *sealed = malloc(n + KEYRING_SEAL_OVERHEAD);
    if (sealed == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "sealing %zu bytes", n);
    }
    seal_ad(kind, collection_id, subject_id, ad);
    mien_status status = keyring_seal(s->keys, plain, n, ad, sizeof(ad), sealed, err);
    if (status != MIEN_OK) {
        free(sealed);
        return status;
    }
    *out = sealed;
    return MIEN_OK;
}

/* Grows *buf (*cap bytes, plaintext: zeroed before it is given up) to hold n bytes. */
static mien_status reserve(uint8_t **buf, size_t *cap, size_t n, mien_error *err)
{
    if (n <= *cap) {
        return MIEN_OK;
    }
    uint8_t *more = malloc(n);
    if (more == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "opening %zu bytes", n);
    }
    if (*buf != NULL) {
        sodium_memzero(*buf, *cap);
        free(*buf);
    }
    *buf = more;
    *cap = n;
    return MIEN_OK;
}

/* Opens sealed[n] from its place into *buf (grown as needed, *cap bytes); *plain_len its
 * length. A blob that is not sealed at all is a damaged row (MIEN_ERR_STORE). */
static mien_status open_blob(const store_db *s, store_blob kind, int64_t collection_id,
                             int64_t subject_id, const uint8_t *sealed, size_t n, uint8_t **buf,
                             size_t *cap, size_t *plain_len, mien_error *err)
{
    uint8_t ad[SEAL_AD_LEN];
    if (s->keys == NULL) {
        return no_key(s, err);
    }
    if (!keyring_is_sealed(sealed, n, NULL)) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: a stored %s is not sealed (damaged row?)",
                              s->where, kind == STORE_BLOB_CROP ? "crop" : "template");
    }
    mien_status status = reserve(buf, cap, n - KEYRING_SEAL_OVERHEAD, err);
    if (status != MIEN_OK) {
        return status;
    }
    seal_ad(kind, collection_id, subject_id, ad);
    *plain_len = n - KEYRING_SEAL_OVERHEAD;
    return keyring_open(s->keys, sealed, n, ad, sizeof(ad), *buf, err);
}

static void free_plain(uint8_t *buf, size_t cap)
{
    if (buf != NULL) {
        sodium_memzero(buf, cap);
        free(buf);
    }
}

/* ---- writing faces ---------------------------------------------------------------------- */

/* *out: face with its template and crop sealed (*t, *c malloc'd; the caller frees them). */
static mien_status seal_face(store_db *s, int64_t collection_id, int64_t subject_id,
                             const store_face_new *face, store_face_new *out, uint8_t **t,
                             uint8_t **c, mien_error *err)
{
    *t = *c = NULL;
    if (face == NULL || face->template_bytes == NULL || face->template_len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: no template bytes");
    }
    if (face->crop_rgb != NULL && face->crop_len != face_chip_bytes()) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: crop is %zu bytes, want %zu",
                              face->crop_len, face_chip_bytes());
    }
    *out = *face;
    mien_status status = seal_blob(s, STORE_BLOB_TEMPLATE, collection_id, subject_id,
                                   face->template_bytes, face->template_len, t, err);
    if (status == MIEN_OK && face->crop_rgb != NULL) {
        status = seal_blob(s, STORE_BLOB_CROP, collection_id, subject_id, face->crop_rgb,
                           face->crop_len, c, err);
    }
    out->template_bytes = *t;
    out->template_len = face->template_len + KEYRING_SEAL_OVERHEAD;
    out->crop_rgb = *c;
    out->crop_len = *c != NULL ? face->crop_len + KEYRING_SEAL_OVERHEAD : 0;
    return status;
}

mien_status seal_face_insert(store_db *s, int64_t collection_id, int64_t subject_id,
                             const store_face_new *face, int64_t *face_id, mien_error *err)
{
    store_face_new sealed;
    uint8_t *t, *c;
    *face_id = 0;
    mien_status status = seal_face(s, collection_id, subject_id, face, &sealed, &t, &c, err);
    if (status == MIEN_OK) {
        status = s->ops->face_insert(s, collection_id, subject_id, &sealed, face_id, err);
    }
    free(t);
    free(c);
    return status;
}

mien_status seal_face_import(store_db *s, int64_t collection_id, int64_t subject_id,
                             int64_t face_id, int64_t created_at, const store_face_new *face,
                             mien_error *err)
{
    store_face_new sealed;
    uint8_t *t, *c;
    mien_status status = seal_face(s, collection_id, subject_id, face, &sealed, &t, &c, err);
    if (status == MIEN_OK) {
        status = s->ops->face_import(s, collection_id, subject_id, face_id, created_at, &sealed,
                                     err);
    }
    free(t);
    free(c);
    return status;
}

/* ---- reading faces: each scan's callback sees its rows opened ---------------------------- */

typedef struct open_ctx {
    const store_db *s;
    int64_t collection_id;        /* the scan's collection */
    const int64_t *collection_of; /* face_get: where the backend writes the face's collection */
    store_face_fn fn;
    store_face_full_fn full_fn;
    void *ctx;
    uint8_t *plain, *crop;        /* plaintext buffers, zeroed when freed */
    size_t cap, crop_cap;
    mien_error *err;
} open_ctx;

static mien_status open_row(void *ctx, const store_face_row *row)
{
    open_ctx *o = ctx;
    int64_t coll = o->collection_of != NULL ? *o->collection_of : o->collection_id;
    store_face_row plain = *row;
    mien_status status = open_blob(o->s, STORE_BLOB_TEMPLATE, coll, row->subject_id,
                                   row->template_bytes, row->template_len, &o->plain, &o->cap,
                                   &plain.template_len, o->err);
    if (status != MIEN_OK) {
        return status;
    }
    plain.template_bytes = o->plain;
    return o->fn(o->ctx, &plain);
}

static mien_status open_full(void *ctx, const store_face_full *face)
{
    open_ctx *o = ctx;
    store_face_full plain = *face;
    mien_status status = open_blob(o->s, STORE_BLOB_TEMPLATE, o->collection_id, face->subject_id,
                                   face->template_bytes, face->template_len, &o->plain, &o->cap,
                                   &plain.template_len, o->err);
    if (status == MIEN_OK && face->crop_rgb != NULL) {
        status = open_blob(o->s, STORE_BLOB_CROP, o->collection_id, face->subject_id,
                           face->crop_rgb, face->crop_len, &o->crop, &o->crop_cap,
                           &plain.crop_len, o->err);
        plain.crop_rgb = o->crop;
    }
    if (status != MIEN_OK) {
        return status;
    }
    plain.template_bytes = o->plain;
    return o->full_fn(o->ctx, &plain);
}

/* Frees o's buffers and passes status on. */
static mien_status open_done(open_ctx *o, mien_status status)
{
    free_plain(o->plain, o->cap);
    free_plain(o->crop, o->crop_cap);
    return status;
}

mien_status seal_face_scan(store_db *s, int64_t collection_id, store_face_fn fn, void *ctx,
                           mien_error *err)
{
    open_ctx o = {.s = s, .collection_id = collection_id, .fn = fn, .ctx = ctx, .err = err};
    return open_done(&o, s->ops->face_scan(s, collection_id, open_row, &o, err));
}

mien_status seal_face_scan_subject(store_db *s, int64_t collection_id, const char *external_id,
                                   store_face_fn fn, void *ctx, mien_error *err)
{
    open_ctx o = {.s = s, .collection_id = collection_id, .fn = fn, .ctx = ctx, .err = err};
    return open_done(&o, s->ops->face_scan_subject(s, collection_id, external_id, open_row, &o,
                                                   err));
}

mien_status seal_face_get(store_db *s, int64_t face_id, int64_t *collection_id,
                          store_face_fn fn, void *ctx, mien_error *err)
{
    open_ctx o = {.s = s, .collection_of = collection_id, .fn = fn, .ctx = ctx, .err = err};
    return open_done(&o, s->ops->face_get(s, face_id, collection_id, open_row, &o, err));
}

mien_status seal_face_scan_full(store_db *s, int64_t collection_id, store_face_full_fn fn,
                                void *ctx, mien_error *err)
{
    open_ctx o = {.s = s, .collection_id = collection_id, .full_fn = fn, .ctx = ctx,
                  .err = err};
    return open_done(&o, s->ops->face_scan_full(s, collection_id, open_full, &o, err));
}

/* ---- re-sealing ---------------------------------------------------------------------------- */

typedef struct rewrite_ctx {
    const store_db *s;
    bool only_plain;
    int64_t to_subject; /* > 0: seal for this subject (a face moving), else the blob's own */
    uint8_t *plain;
    size_t cap;
} rewrite_ctx;

/* One blob opened (or taken as it is, when still plaintext) and sealed again with the current
 * data key for the same place, or for r->to_subject in the same collection. */
static mien_status reseal_blob(void *ctx, store_blob kind, const store_blob_ref *ref,
                               const uint8_t *bytes, size_t n, uint8_t **out, size_t *out_len,
                               mien_error *err)
{
    rewrite_ctx *r = ctx;
    size_t len = n;
    mien_status status;
    *out = NULL;
    bool was_sealed = keyring_is_sealed(bytes, n, NULL);
    if (r->only_plain && was_sealed) {
        return MIEN_OK;
    }
    if (was_sealed) {
        status = open_blob(r->s, kind, ref->collection_id, ref->subject_id, bytes, n, &r->plain,
                           &r->cap, &len, err);
    } else {
        status = reserve(&r->plain, &r->cap, n, err);
        if (status == MIEN_OK && n > 0) {
            memcpy(r->plain, bytes, n);
        }
    }
    if (status == MIEN_OK) {
        status = seal_blob(r->s, kind, ref->collection_id,
                           r->to_subject > 0 ? r->to_subject : ref->subject_id, r->plain, len,
                           out, err);
    }
    *out_len = len + KEYRING_SEAL_OVERHEAD;
    return status;
}

mien_status seal_rewrite_all(store_db *s, bool only_plain, int64_t *count, mien_error *err)
{
    rewrite_ctx r = {.s = s, .only_plain = only_plain};
    int64_t n = 0;
    mien_status status = s->ops->blob_rewrite(s, STORE_BLOB_TEMPLATE, reseal_blob, &r, &n, err);
    if (status == MIEN_OK) {
        status = s->ops->blob_rewrite(s, STORE_BLOB_CROP, reseal_blob, &r, &n, err);
    }
    free_plain(r.plain, r.cap);
    if (count != NULL) {
        *count = status == MIEN_OK ? n : 0;
    }
    return status;
}

mien_status seal_face_move(store_db *s, int64_t face_id, int64_t to_subject_id, mien_error *err)
{
    rewrite_ctx r = {.s = s, .to_subject = to_subject_id};
    if (to_subject_id <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "seal_face_move: no subject");
    }
    mien_status status = s->ops->face_move(s, face_id, to_subject_id, reseal_blob, &r, err);
    free_plain(r.plain, r.cap);
    return status;
}
