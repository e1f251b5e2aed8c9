/* seal.c — templates and crops sealed above the store interface (seal.h): the backends store
 * and return opaque bytes, and every seal and open happens here, with the store's keyring.
 *
 * The associated data of a blob (seal_ad, the one function that builds it) binds it to its
 * place: "mien/template" or "mien/crop" (13 bytes, zero-padded), the collection id and the
 * subject id as 8 bytes little-endian each (29 bytes), then the subject's external id (issue
 * 13: a template moved to another name, or a subject renamed behind mien's back, no longer
 * opens). It is part of the on-disk format. Blobs sealed before the external id was bound
 * (the 29-byte form) are bound again once, by seal_rebind_all (mien_store_upgrade).
 * @test gallery/test_store.c, governance/test_integrity.c */
#include "store/seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "face/face.h"

#define SEAL_AD_PLACE 29                             /* kind, collection, subject */
#define SEAL_AD_MAX (SEAL_AD_PLACE + STORE_SUBJECT_MAX) /* and the external id */

/* A blob's place: where seal_ad binds it. external_id NULL: the legacy 29-byte form. */
typedef struct seal_place {
    store_blob kind;
    int64_t collection_id, subject_id;
    const char *external_id;
} seal_place;

/* The associated data of a blob at place p into ad[SEAL_AD_MAX]; returns its length. */
static size_t seal_ad(const seal_place *p, uint8_t ad[SEAL_AD_MAX])
{
    static const char tag[2][14] = {"mien/template", "mien/crop"};
    uint64_t coll = (uint64_t)p->collection_id, subj = (uint64_t)p->subject_id;
    size_t ext = p->external_id != NULL ? strnlen(p->external_id, STORE_SUBJECT_MAX - 1) : 0;
    memset(ad, 0, SEAL_AD_MAX);
    memcpy(ad, tag[p->kind == STORE_BLOB_CROP], strlen(tag[p->kind == STORE_BLOB_CROP]));
    for (int i = 0; i < 8; i++) {
        ad[13 + i] = (uint8_t)(coll >> (8 * i));
        ad[21 + i] = (uint8_t)(subj >> (8 * i));
    }
    memcpy(ad + SEAL_AD_PLACE, p->external_id != NULL ? p->external_id : "", ext);
    return SEAL_AD_PLACE + ext;
}

static mien_status no_key(const store_db *s, mien_error *err)
{
    return base_error_set(err, MIEN_ERR_ARG, "%s: no data key: templates are encrypted at rest "
                          "and this store was opened without its key file", s->where);
}

/* Seals plain[n] for its place with the store's current data key into *out (malloc'd,
 * n + KEYRING_SEAL_OVERHEAD bytes; the caller frees it). */
static mien_status seal_blob(const store_db *s, const seal_place *p, const uint8_t *plain,
                             size_t n, uint8_t **out, mien_error *err)
{
    uint8_t ad[SEAL_AD_MAX];
    *out = NULL;
    if (s->keys == NULL) {
        return no_key(s, err);
    }
    uint8_t *sealed = malloc(n + KEYRING_SEAL_OVERHEAD);
    if (sealed == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "sealing %zu bytes", n);
    }
    size_t ad_len = seal_ad(p, ad);
    mien_status status = keyring_seal(s->keys, plain, n, ad, ad_len, sealed, err);
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
static mien_status open_blob(const store_db *s, const seal_place *p, const uint8_t *sealed,
                             size_t n, uint8_t **buf, size_t *cap, size_t *plain_len,
                             mien_error *err)
{
    uint8_t ad[SEAL_AD_MAX];
    if (s->keys == NULL) {
        return no_key(s, err);
    }
    if (!keyring_is_sealed(sealed, n, NULL)) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: a stored %s is not sealed (damaged row?)",
                              s->where, p->kind == STORE_BLOB_CROP ? "crop" : "template");
    }
    mien_status status = reserve(buf, cap, n - KEYRING_SEAL_OVERHEAD, err);
    if (status != MIEN_OK) {
        return status;
    }
    size_t ad_len = seal_ad(p, ad);
    *plain_len = n - KEYRING_SEAL_OVERHEAD;
    status = keyring_open(s->keys, sealed, n, ad, ad_len, *buf, err);
    if (status == MIEN_ERR_STORE && p->external_id != NULL && err != NULL) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof(err->message) - used, " (a %s of subject \"%s\", "
                 "row %lld: altered, or moved to another subject or renamed outside mien)",
                 p->kind == STORE_BLOB_CROP ? "crop" : "template", p->external_id,
                 (long long)p->subject_id);
    }
    return status;
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
                             const char *external_id, const store_face_new *face,
                             store_face_new *out, uint8_t **t, uint8_t **c, mien_error *err)
{
    seal_place tp = {STORE_BLOB_TEMPLATE, collection_id, subject_id, external_id};
    seal_place cp = {STORE_BLOB_CROP, collection_id, subject_id, external_id};
    *t = *c = NULL;
    if (face == NULL || face->template_bytes == NULL || face->template_len == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: no template bytes");
    }
    if (face->crop_rgb != NULL && face->crop_len != face_chip_bytes()) {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: crop is %zu bytes, want %zu",
                              face->crop_len, face_chip_bytes());
    }
    *out = *face;
    if (external_id == NULL || external_id[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "face_insert: no subject id to bind");
    }
    mien_status status = seal_blob(s, &tp, face->template_bytes, face->template_len, t, err);
    if (status == MIEN_OK && face->crop_rgb != NULL) {
        status = seal_blob(s, &cp, face->crop_rgb, face->crop_len, c, err);
    }
    out->template_bytes = *t;
    out->template_len = face->template_len + KEYRING_SEAL_OVERHEAD;
    out->crop_rgb = *c;
    out->crop_len = *c != NULL ? face->crop_len + KEYRING_SEAL_OVERHEAD : 0;
    return status;
}

mien_status seal_face_insert(store_db *s, int64_t collection_id, int64_t subject_id,
                             const char *external_id, const store_face_new *face,
                             int64_t *face_id, mien_error *err)
{
    store_face_new sealed;
    uint8_t *t, *c;
    *face_id = 0;
    mien_status status = seal_face(s, collection_id, subject_id, external_id, face, &sealed, &t,
                                   &c, err);
    if (status == MIEN_OK) {
        status = s->ops->face_insert(s, collection_id, subject_id, &sealed, face_id, err);
    }
    free(t);
    free(c);
    return status;
}

mien_status seal_face_import(store_db *s, int64_t collection_id, int64_t subject_id,
                             const char *external_id, int64_t face_id, int64_t created_at,
                             const store_face_new *face, mien_error *err)
{
    store_face_new sealed;
    uint8_t *t, *c;
    mien_status status = seal_face(s, collection_id, subject_id, external_id, face, &sealed, &t,
                                   &c, err);
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
    seal_place p = {STORE_BLOB_TEMPLATE, coll, row->subject_id, row->external_id};
    mien_status status = open_blob(o->s, &p, row->template_bytes, row->template_len, &o->plain,
                                   &o->cap, &plain.template_len, o->err);
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
    seal_place tp = {STORE_BLOB_TEMPLATE, o->collection_id, face->subject_id, face->external_id};
    seal_place cp = {STORE_BLOB_CROP, o->collection_id, face->subject_id, face->external_id};
    mien_status status = open_blob(o->s, &tp, face->template_bytes, face->template_len,
                                   &o->plain, &o->cap, &plain.template_len, o->err);
    if (status == MIEN_OK && face->crop_rgb != NULL) {
        status = open_blob(o->s, &cp, face->crop_rgb, face->crop_len, &o->crop, &o->crop_cap,
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
    bool rebind;      /* seal_rebind_all: legacy blobs in, bound to the external id out */
    int64_t to_subject; /* > 0: seal for this subject (a face moving), else the blob's own */
    const char *to_external_id; /* that subject's external id */
    uint8_t *plain;
    size_t cap;
} rewrite_ctx;

/* Opens a blob for rebinding: under the legacy place (no external id), or, when that fails,
 * under the bound one (a blob sealed since; rebinding it again leaves it as it is). *bound
 * says which. A blob that opens under neither is refused. */
static mien_status open_legacy(rewrite_ctx *r, const seal_place *bound, const uint8_t *bytes,
                               size_t n, size_t *len, bool *was_bound, mien_error *err)
{
    seal_place legacy = *bound;
    legacy.external_id = NULL;
    *was_bound = false;
    mien_status status = open_blob(r->s, &legacy, bytes, n, &r->plain, &r->cap, len, err);
    if (status == MIEN_ERR_STORE) {
        status = open_blob(r->s, bound, bytes, n, &r->plain, &r->cap, len, err);
        *was_bound = status == MIEN_OK;
    }
    return status;
}

/* One blob opened (or taken as it is, when still plaintext) and sealed again with the current
 * data key for the same place, or for r->to_subject in the same collection. */
static mien_status reseal_blob(void *ctx, store_blob kind, const store_blob_ref *ref,
                               const uint8_t *bytes, size_t n, uint8_t **out, size_t *out_len,
                               mien_error *err)
{
    rewrite_ctx *r = ctx;
    size_t len = n;
    mien_status status;
    bool was_bound = false;
    seal_place p = {kind, ref->collection_id, ref->subject_id, ref->external_id};
    *out = NULL;
    bool was_sealed = keyring_is_sealed(bytes, n, NULL);
    if (r->only_plain && was_sealed) {
        return MIEN_OK;
    }
    if (was_sealed && r->rebind) {
        status = open_legacy(r, &p, bytes, n, &len, &was_bound, err);
        if (status == MIEN_OK && was_bound) {
            return MIEN_OK;
        }
    } else if (was_sealed) {
        status = open_blob(r->s, &p, bytes, n, &r->plain, &r->cap, &len, err);
    } else {
        status = reserve(&r->plain, &r->cap, n, err);
        if (status == MIEN_OK && n > 0) {
            memcpy(r->plain, bytes, n);
        }
    }
    if (status == MIEN_OK) {
        if (r->to_subject > 0) { /* a face moving: bound to its new subject and name */
            p.subject_id = r->to_subject;
            p.external_id = r->to_external_id;
        }
        status = seal_blob(r->s, &p, r->plain, len, out, err);
    }
    *out_len = len + KEYRING_SEAL_OVERHEAD;
    return status;
}

/* Every template and crop through reseal_blob with r's mode. */
static mien_status rewrite_every(store_db *s, rewrite_ctx r, int64_t *count, mien_error *err)
{
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

mien_status seal_face_move(store_db *s, int64_t face_id, int64_t to_subject_id,
                           const char *to_external_id, mien_error *err)
{
    rewrite_ctx r = {.s = s, .to_subject = to_subject_id, .to_external_id = to_external_id};
    if (to_subject_id <= 0 || to_external_id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "seal_face_move: no subject");
    }
    mien_status status = s->ops->face_move(s, face_id, to_subject_id, reseal_blob, &r, err);
    free_plain(r.plain, r.cap);
    return status;
}

mien_status seal_rewrite_all(store_db *s, bool only_plain, int64_t *count, mien_error *err)
{
    rewrite_ctx r = {.s = s, .only_plain = only_plain};
    return rewrite_every(s, r, count, err);
}

mien_status seal_rebind_all(store_db *s, int64_t *count, mien_error *err)
{
    rewrite_ctx r = {.s = s, .rebind = true};
    return rewrite_every(s, r, count, err);
}
