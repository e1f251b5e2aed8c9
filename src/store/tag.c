/* tag.c — the keyed tags of collections, subjects and API keys (tag.h).
 *
 * A tag is keyring_mac("<table>/v1", text) where text lists the row's fields in a fixed order,
 * each as "<length>:<bytes>\n" (numbers in decimal), so that no two rows share a text (a field
 * cannot borrow bytes from its neighbour). The tagged fields are listed once per table below:
 * a column added to a table is one more line in its list (and a schema step that tags the
 * rows again). */
#include "store/tag.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"

/* A tag's text; long enough for the largest row (a collection: 4 texts of 256 bytes). */
typedef struct tag_text {
    char buf[2048];
    size_t used;
} tag_text;

static void add_bytes(tag_text *t, const char *p, size_t n)
{
    int k = snprintf(t->buf + t->used, sizeof(t->buf) - t->used, "%zu:", n);
    if (k > 0 && (size_t)k < sizeof(t->buf) - t->used) {
        t->used += (size_t)k;
    }
    if (n < sizeof(t->buf) - t->used - 1) {
        memcpy(t->buf + t->used, p, n);
        t->used += n;
        t->buf[t->used++] = '\n';
    }
}

static void add_text(tag_text *t, const char *s)
{
    add_bytes(t, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static void add_i64(tag_text *t, int64_t v)
{
    char num[24];
    add_text(t, (snprintf(num, sizeof(num), "%" PRId64, v), num));
}

static void add_f64(tag_text *t, double v)
{
    char num[32];
    add_text(t, (snprintf(num, sizeof(num), "%.17g", v), num));
}

static void tag_of(const keyring *k, const char *context, const tag_text *t, uint8_t out[32])
{
    keyring_mac(k, context, (const uint8_t *)t->buf, t->used, out);
}

/* A collection's tagged fields, in order: I integer, S text, F real. A new policy field (a
 * cap on fmr, on candidates) is one line here. */
#define COLLECTION_TAGGED(I, S, F)                                                         \
    I(id) S(name) I(profile) S(model_a) S(model_b) S(description) I(created_at)            \
    S(purposes) S(legal_basis) I(consent) I(retention_s) I(review) I(verification_only)    \
    I(max_fmr_ppb) I(max_candidates)

void tag_collection(const keyring *k, const store_collection *c, uint8_t out[32])
{
    tag_text t = {.used = 0};
#define TAG_I(f) add_i64(&t, (int64_t)c->f);
#define TAG_S(f) add_text(&t, c->f);
#define TAG_F(f) add_f64(&t, (double)c->f);
    COLLECTION_TAGGED(TAG_I, TAG_S, TAG_F)
#undef TAG_I
#undef TAG_S
#undef TAG_F
    (void)add_f64; /* for TAG_F, which no field uses yet */
    tag_of(k, "collection/v1", &t, out);
}

void tag_subject(const keyring *k, int64_t collection_id, const store_subject *g,
                 uint8_t out[32])
{
    tag_text t = {.used = 0};
    add_i64(&t, g->id);
    add_i64(&t, collection_id);
    add_text(&t, g->external_id);
    add_text(&t, g->display_name);
    add_i64(&t, g->created_at);
    add_text(&t, g->consent_ref);
    add_i64(&t, g->expires_at);
    tag_of(k, "subject/v1", &t, out);
}

void tag_key(const keyring *k, const store_key *key, uint8_t out[32])
{
    tag_text t = {.used = 0};
    add_text(&t, key->id);
    add_bytes(&t, (const char *)key->secret_hash, STORE_KEY_HASH_LEN);
    add_i64(&t, (int64_t)key->role);
    add_text(&t, key->label);
    add_i64(&t, key->created_at);
    add_i64(&t, key->revoked_at);
    tag_of(k, "api-key/v1", &t, out);
}

mien_status tag_check(const store_db *s, const uint8_t want[32], const uint8_t have[32],
                      const char *what, mien_error *err)
{
    static const uint8_t none[32] = {0};
    bool untagged = sodium_memcmp(have, none, 32) == 0;
    if (s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: %s cannot be checked without the key "
                              "file", s->where, what);
    }
    if (untagged && s->tagging) {
        return MIEN_OK;
    }
    if (untagged) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s has no tag: a row written outside "
                              "mien, or a store made before row tags that was not upgraded "
                              "(mien_store_upgrade; the mien commands upgrade at open)", s->where,
                              what);
    }
    if (sodium_memcmp(want, have, 32) != 0) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: %s was changed outside mien (its tag "
                              "does not match): refused; the audit log has its true history",
                              s->where, what);
    }
    return MIEN_OK;
}
