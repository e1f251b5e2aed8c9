/* store_copy.c — copying a whole store into an empty one, across backends and key files:
 * `mien migrate --from sqlite:PATH --to postgres://…` (issue 8: "copies a store
 * (re-encrypting if keys differ), verifying counts and the audit chain afterwards").
 *
 * The copy goes through the store interface (store.h), so any backend copies into any other.
 * It keeps what the rest of mien refers to by number: collection, subject and face ids (audit
 * entries and receipts name faces by id; sealed blobs are bound to their collection id), the
 * times rows were made, the sequences' high-water marks (an id is never handed out twice,
 * also across a migration), and the audit chain row for row, hashes included, so that the
 * copied chain verifies under the same rules and the target's signed head, written after the
 * copy, vouches for all of it. Only each entry's MAC changes: checked under the source's key
 * file, made again under the target's (copy_audit_row). Templates and crops are opened with
 * the source's key file and sealed with the target's: the copy is how a store changes key file
 * as well as backend. API keys cannot follow a change of key file: the store keeps only their
 * hashes, keyed with it (mien.h mien_copy_report.same_key_file).
 *
 * Everything is written in one transaction of the target, so a failure leaves it empty, and
 * read inside one of the source's, which holds the source's write lock: a writer that comes
 * along mid-copy waits (or gives up after the store's lock timeout) rather than changing the
 * source between two reads. Stop the nodes before migrating (docs/deploy.md).
 *
 * Nothing here logs or keeps a template: plaintext lives in the backends' buffers for the
 * length of one callback and is zeroed there. @test gallery/test_store_copy.c */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "face/face.h"
#include "governance/store_copy.h"
#include "store/handle.h"
#include "store/seal.h"
#include "governance/audit.h"
#include "governance/governance.h"


typedef struct copy_ctx {
    store_db *from, *to;
    int64_t collection_id;
    store_counts *n;
    mien_error *err;
    /* review ids, gathered during review_scan: a PostgreSQL source streams the scan on its
     * one connection, so the decisions are read after it */
    char (*reviews)[33];
    size_t n_reviews, cap_reviews;
} copy_ctx;

/* ---- the target must be empty --------------------------------------------------------- */

static mien_status count_review(void *ctx, const store_review *r)
{
    (void)r;
    ++*(int64_t *)ctx;
    return MIEN_OK;
}

/* MIEN_ERR_EXISTS naming what `to` holds, unless it holds nothing a copy would clash with. */
static mien_status check_empty(store_db *to, mien_error *err)
{
    store_collection *cs = NULL;
    store_key *ks = NULL;
    size_t nc = 0, nk = 0;
    int64_t seq = 0, reviews = 0;
    uint8_t hash[32];
    mien_status st = to->ops->audit_last(to, &seq, hash, err);
    if (st == MIEN_OK) {
        st = to->ops->collection_list(to, &cs, &nc, err);
    }
    if (st == MIEN_OK) {
        st = to->ops->key_list(to, &ks, &nk, err);
    }
    if (st == MIEN_OK) {
        st = to->ops->review_scan(to, count_review, &reviews, err);
    }
    free(cs);
    free(ks);
    if (st != MIEN_OK) {
        return st;
    }
    if (seq != 0 || nc != 0 || nk != 0 || reviews != 0) {
        return base_error_set(err, MIEN_ERR_EXISTS,
                              "the target store is not empty (%zu collections, %zu keys, %lld "
                              "reviews, %lld audit entries): a copy goes into an empty store only",
                              nc, nk, (long long)reviews, (long long)seq);
    }
    return MIEN_OK;
}

/* ---- collections, subjects, faces ----------------------------------------------------- */

static mien_status copy_face(void *ctx, const store_face_full *f)
{
    copy_ctx *c = ctx;
    store_face_new nf = {
        .template_bytes = f->template_bytes,
        .template_len = f->template_len,
        .quality = f->has_quality ? &f->quality : NULL,
        .image_sha256 = f->has_image_sha256 ? f->image_sha256 : NULL,
        .crop_rgb = f->crop_rgb,
        .crop_len = f->crop_rgb != NULL ? f->crop_len : 0,
    };
    mien_status st = seal_face_import(c->to, c->collection_id, f->subject_id, f->external_id,
                                      f->face_id, f->created_at, &nf, c->err);
    if (st == MIEN_OK) {
        c->n->faces++;
        c->n->crops += f->crop_rgb != NULL;
    }
    return st;
}

/* One collection: its row, its subjects, their faces. */
static mien_status copy_collection(store_db *from, copy_ctx *c, const store_collection *col)
{
    store_subject *subs = NULL;
    size_t n = 0;
    mien_status st = c->to->ops->collection_import(c->to, col, c->err);
    if (st == MIEN_OK) {
        st = from->ops->subject_list(from, col->id, &subs, &n, c->err);
    }
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        st = c->to->ops->subject_import(c->to, col->id, &subs[k], c->err);
    }
    free(subs);
    if (st != MIEN_OK) {
        return st;
    }
    c->n->collections++;
    c->n->subjects += (int64_t)n;
    c->collection_id = col->id;
    return seal_face_scan_full(from, col->id, copy_face, c, c->err);
}

/* ---- keys, reviews, decisions, the audit chain ----------------------------------------- */

static mien_status copy_keys(store_db *from, copy_ctx *c)
{
    store_key *list = NULL;
    size_t n = 0;
    mien_status st = from->ops->key_list(from, &list, &n, c->err);
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        store_key key; /* key_list leaves the hash out: read each key whole */
        st = from->ops->key_get(from, list[k].id, &key, c->err);
        if (st == MIEN_OK) {
            st = c->to->ops->key_import(c->to, &key, c->err);
        }
        c->n->keys += st == MIEN_OK;
    }
    free(list);
    return st;
}

/* Appends review `id` to c->reviews (decisions are copied after the scan: store.h, a scan's
 * callback runs no statement). MIEN_ERR_NOMEM (message naming `what`) leaves the list as it
 * was. */
static mien_status keep_review_id(copy_ctx *c, const char *id, const char *what)
{
    if (c->n_reviews == c->cap_reviews) {
        size_t cap = c->cap_reviews ? 2 * c->cap_reviews : 64;
        char(*grown)[33] = realloc(c->reviews, cap * sizeof(*grown));
        if (grown == NULL) {
            return base_error_set(c->err, MIEN_ERR_NOMEM, "%s: out of memory", what);
        }
        c->reviews = grown;
        c->cap_reviews = cap;
    }
    memcpy(c->reviews[c->n_reviews++], id, sizeof(c->reviews[0]));
    return MIEN_OK;
}

/* Copied as it is; copy_reviews checks it under the source's key file and tags it again
 * under the target's once its decisions are in (a scan's callback runs no statement). */
static mien_status copy_review(void *ctx, const store_review *r)
{
    copy_ctx *c = ctx;
    mien_status st = c->to->ops->review_insert(c->to, r, c->err);
    if (st == MIEN_OK) {
        st = keep_review_id(c, r->id, "copying reviews");
    }
    if (st == MIEN_OK) {
        c->n->reviews++;
    }
    return st;
}

/* Review `id`: checked in the source with its decisions (governance_review_read), the
 * decisions copied with their tags chained again under the target's key file, then the
 * review's own tag. Like an audit entry, a review altered in the source is not copied. */
static mien_status copy_one_review(store_db *from, copy_ctx *c, const char *id)
{
    store_review r;
    store_decision *ds = NULL;
    size_t n = 0;
    uint8_t chain[32] = {0};
    mien_status st = governance_review_read(from, id, &r, NULL, c->err);
    if (st == MIEN_OK) {
        st = from->ops->decision_list(from, id, &ds, &n, c->err);
    }
    for (size_t i = 0; st == MIEN_OK && i < n; i++) {
        governance_decision_mac(c->to->keys, &ds[i], chain, ds[i].mac);
        memcpy(chain, ds[i].mac, 32);
        st = c->to->ops->decision_insert(c->to, &ds[i], c->err); /* keeps d->time */
    }
    if (st == MIEN_OK) {
        governance_review_mac(c->to->keys, &r, chain, r.mac);
        st = c->to->ops->review_update(c->to, &r, c->err);
    }
    c->n->decisions += st == MIEN_OK ? (int64_t)n : 0;
    free(ds);
    return st;
}

static mien_status copy_reviews(store_db *from, copy_ctx *c)
{
    mien_status st = from->ops->review_scan(from, copy_review, c, c->err);
    for (size_t k = 0; st == MIEN_OK && k < c->n_reviews; k++) {
        st = copy_one_review(from, c, c->reviews[k]);
    }
    return st;
}

/* One entry, verbatim but for its MAC (governance/audit.h audit_row_mac): the MAC says "written
 * by a holder of this store's key file", so an entry whose MAC the source's key file does not
 * confirm is refused (someone inserted it behind mien's back), and each copied entry gets the
 * MAC of the target's key file, whose holder is making the copy. The hash chain, which does not
 * cover the MAC, is copied as it is. */
static mien_status copy_audit_row(void *ctx, const store_audit_row *row)
{
    copy_ctx *c = ctx;
    store_audit_row copy = *row;
    uint8_t mac[32];
    audit_row_mac(c->from->keys, row, mac);
    if (sodium_memcmp(mac, row->mac, sizeof(mac)) != 0) {
        return base_error_set(c->err, MIEN_ERR_STORE, "audit entry %lld of the source was not "
                              "written by a holder of its key file (its MAC does not match): "
                              "`mien audit verify` on the source names it", (long long)row->seq);
    }
    audit_row_mac(c->to->keys, &copy, copy.mac);
    mien_status st = c->to->ops->audit_insert(c->to, &copy, c->err);
    c->n->audit_entries += st == MIEN_OK;
    return st;
}

mien_status store_db_copy(store_db *from, store_db *to, store_counts *copied,
                               mien_error *err)
{
    store_counts n;
    store_collection *cs = NULL;
    store_sequences seqs;
    size_t nc = 0;
    memset(&n, 0, sizeof(n));
    if (copied != NULL) {
        memset(copied, 0, sizeof(*copied));
    }
    if (from == NULL || to == NULL || from == to) {
        return base_error_set(err, MIEN_ERR_ARG, "store_db_copy: two different stores");
    }
    mien_status st = check_empty(to, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = from->ops->begin(from, err);
    if (st != MIEN_OK) {
        return st;
    }
    copy_ctx c = {.from = from, .to = to, .n = &n, .err = err};
    st = from->ops->collection_list(from, &cs, &nc, err);
    for (size_t k = 0; st == MIEN_OK && k < nc; k++) {
        st = copy_collection(from, &c, &cs[k]);
    }
    free(cs);
    if (st == MIEN_OK) {
        st = copy_keys(from, &c);
    }
    if (st == MIEN_OK) {
        st = copy_reviews(from, &c);
    }
    free(c.reviews);
    if (st == MIEN_OK) {
        st = from->ops->audit_scan(from, 1, 0, 0, copy_audit_row, &c, err);
    }
    if (st == MIEN_OK) {
        st = from->ops->sequence_get(from, &seqs, err);
    }
    if (st == MIEN_OK) {
        st = to->ops->sequence_raise(to, &seqs, err);
    }
    from->ops->rollback(from); /* read only: nothing to keep, and the write lock goes */
    if (st == MIEN_OK && copied != NULL) {
        *copied = n;
    }
    return st;
}

/* ---- counting (the check after a copy) ------------------------------------------------- */

typedef struct count_ctx {
    store_counts *n;
} count_ctx;

static mien_status count_face(void *ctx, const store_face_full *f)
{
    count_ctx *c = ctx;
    c->n->faces++;
    c->n->crops += f->crop_rgb != NULL && f->crop_len == face_chip_bytes();
    return MIEN_OK;
}

static mien_status count_decisions(store_db *s, const char *id, int64_t *n,
                                   mien_error *err)
{
    store_decision *ds = NULL;
    size_t k = 0;
    mien_status st = s->ops->decision_list(s, id, &ds, &k, err);
    free(ds);
    *n += (int64_t)k;
    return st;
}

static mien_status gather_review(void *ctx, const store_review *r)
{
    return keep_review_id(ctx, r->id, "counting reviews");
}

mien_status store_db_count(store_db *s, store_counts *out, mien_error *err)
{
    store_collection *cs = NULL;
    store_key *ks = NULL;
    size_t nc = 0, nk = 0;
    store_counts n;
    memset(&n, 0, sizeof(n));
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "store_db_count: NULL argument");
    }
    count_ctx cc = {&n};
    mien_status st = s->ops->collection_list(s, &cs, &nc, err);
    for (size_t k = 0; st == MIEN_OK && k < nc; k++) {
        n.collections++;
        n.subjects += cs[k].subjects;
        st = seal_face_scan_full(s, cs[k].id, count_face, &cc, err);
    }
    free(cs);
    if (st == MIEN_OK) {
        st = s->ops->key_list(s, &ks, &nk, err);
        n.keys = (int64_t)nk;
        free(ks);
    }
    copy_ctx rc = {.err = err};
    if (st == MIEN_OK) {
        st = s->ops->review_scan(s, gather_review, &rc, err);
    }
    n.reviews = (int64_t)rc.n_reviews;
    for (size_t k = 0; st == MIEN_OK && k < rc.n_reviews; k++) {
        st = count_decisions(s, rc.reviews[k], &n.decisions, err);
    }
    free(rc.reviews);
    if (st == MIEN_OK) {
        /* seq numbers run 1, 2, ... without gaps (audit_insert refuses any other): the last
         * one is the count; audit_verify checks the chain itself. */
        uint8_t hash[32];
        st = s->ops->audit_last(s, &n.audit_entries, hash, err);
    }
    if (st == MIEN_OK) {
        *out = n;
    }
    return st;
}

/* ---- the public copy (mien.h) ----------------------------------------------------------- */

static void report_from(const store_counts *n, mien_copy_report *out)
{
    out->collections = n->collections;
    out->subjects = n->subjects;
    out->faces = n->faces;
    out->crops = n->crops;
    out->keys = n->keys;
    out->reviews = n->reviews;
    out->decisions = n->decisions;
    out->audit_entries = n->audit_entries;
}

/* Which count of `found` differs from `want`, or NULL. */
static const char *count_differs(const store_counts *want, const store_counts *found,
                                 int64_t *w, int64_t *f)
{
    static const char *const names[] = {"collections", "subjects", "faces", "crops",
                                        "keys", "reviews", "decisions", "audit entries"};
    const int64_t a[] = {want->collections, want->subjects, want->faces, want->crops,
                         want->keys, want->reviews, want->decisions, want->audit_entries};
    const int64_t b[] = {found->collections, found->subjects, found->faces, found->crops,
                         found->keys, found->reviews, found->decisions, found->audit_entries};
    for (size_t k = 0; k < sizeof(a) / sizeof(a[0]); k++) {
        if (a[k] != b[k]) {
            *w = a[k];
            *f = b[k];
            return names[k];
        }
    }
    return NULL;
}

/* Whether two key files share the key that makes keyed tags and subject hashes (keyring_mac,
 * keyring_subject_hash): compared through one tag of a fixed message, never the keys. */
static bool same_mac_key(const keyring *a, const keyring *b)
{
    uint8_t x[KEYRING_HASH_BYTES], y[KEYRING_HASH_BYTES];
    if (a == NULL || b == NULL) {
        return false;
    }
    keyring_mac(a, "store-copy/probe", NULL, 0, x);
    keyring_mac(b, "store-copy/probe", NULL, 0, y);
    return sodium_memcmp(x, y, sizeof(x)) == 0;
}

mien_status mien_store_copy(mien_store *from, mien_store *to, const mien_context *ctx,
                            mien_copy_report *out, mien_error *err)
{
    store_db *f = store_db_of(from), *t = store_db_of(to);
    store_counts copied, found;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (f == NULL || t == NULL || f == t) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_copy: two different open stores");
    }
    if (strcmp(f->audit_head_path, t->audit_head_path) == 0) {
        /* One head file for two logs: the copy's head would overwrite the source's, and the
         * source would then look truncated. */
        return base_error_set(err, MIEN_ERR_ARG, "both stores would sign their audit log into "
                              "%s: give the target its own head (another key file path, or "
                              "MIEN_AUDIT_HEAD)", t->audit_head_path);
    }
    mien_status st = t->ops->begin(t, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store_db_copy(f, t, &copied, err);
    if (st == MIEN_OK) {
        /* The copy is on the record of the store it made: who, when, how much (never the
         * source's URI, which may hold a password). */
        json_t *result = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "collections", (json_int_t)copied.collections,
            "subjects", (json_int_t)copied.subjects, "faces", (json_int_t)copied.faces, "crops",
            (json_int_t)copied.crops, "keys", (json_int_t)copied.keys, "reviews",
            (json_int_t)copied.reviews, "decisions", (json_int_t)copied.decisions,
            "audit_entries", (json_int_t)copied.audit_entries);
        st = governance_record_tx(t, ctx, "store.migrate", NULL, NULL, "ok", result, NULL, NULL,
                                  err);
    }
    st = governance_tx_end(t, st, err);
    if (st != MIEN_OK) {
        return st;
    }
    /* The target's signed head now covers the copied chain and the migration entry. The
     * target was empty and the whole log is this audited copy's: it signs the first head
     * (a missing head is otherwise never re-created unasked: audit.c). */
    t->audit_head_reset = 1;
    st = governance_after_commit(t, err);
    t->audit_head_reset = 0;
    if (st == MIEN_OK) {
        st = store_db_count(t, &found, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    copied.audit_entries++; /* store.migrate */
    int64_t want = 0, got = 0;
    const char *what = count_differs(&copied, &found, &want, &got);
    if (what != NULL) {
        return base_error_set(err, MIEN_ERR_STORE, "the copy holds %lld %s where %lld were "
                              "copied", (long long)got, what, (long long)want);
    }
    if (out != NULL) {
        report_from(&found, out);
        out->same_key_file = same_mac_key(f->keys, t->keys);
    }
    return MIEN_OK;
}
