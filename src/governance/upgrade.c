/* upgrade.c — mien_store_upgrade(): the migration that gives the rows of a store made before
 * row tags their tags (mien.h; issue 13 "Existing stores").
 *
 * The schema step (SQLite 4, PostgreSQL 2) only adds the columns and marks the store as
 * pending (row_tags) when it already held data: tags need the key file, which the backends
 * never read. This runs above them, in one transaction: it verifies the whole audit chain
 * first and refuses a broken one, since tags written over rows someone already changed would
 * vouch for the change; checks each review's old tag (review/v1) before tagging it anew;
 * chains the old, untagged decisions; binds every template and crop to its subject's external
 * id (seal.h seal_rebind_all); and records "store.tag" with the schema version and the counts
 * in the chain, so that a second tagging (the pending mark set again by a database writer) is
 * refused: the chain says it was done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "governance/audit.h"
#include "governance/governance.h"
#include "store/handle.h"
#include "store/seal.h"

/* The review tag before schema tags (review/v1: no candidates, no chain). */
static void review_mac_v1(const keyring *keys, const store_review *r, uint8_t out[32])
{
    char text[512];
    int n = snprintf(text, sizeof(text), "%s\n%lld\n%s\n%d\n%d\n%d\n%s\n%lld\n%lld\n%lld", r->id,
                     (long long)r->collection_id, r->collection, r->required, r->confirmations,
                     r->confirmed_rank, r->status, (long long)r->created_at,
                     (long long)r->search_seq, (long long)r->candidates);
    keyring_mac(keys, "review/v1", (const uint8_t *)text,
                n > 0 ? ((size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1) : 0, out);
}

/* The reviews' ids, each checked under its old tag during the scan. */
typedef struct review_ids {
    const keyring *keys;
    char (*id)[33];
    size_t n, cap;
    char bad[33];  /* the first review whose old tag fails */
} review_ids;

static mien_status take_review(void *ctx, const store_review *r)
{
    review_ids *l = ctx;
    uint8_t mac[32];
    review_mac_v1(l->keys, r, mac);
    if (sodium_memcmp(mac, r->mac, 32) != 0) {
        snprintf(l->bad, sizeof(l->bad), "%s", r->id);
        return MIEN_ERR_STORE;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char(*grown)[33] = realloc(l->id, cap * sizeof(*grown));
        if (grown == NULL) {
            return MIEN_ERR_NOMEM;
        }
        l->id = grown;
        l->cap = cap;
    }
    memcpy(l->id[l->n++], r->id, 33);
    return MIEN_OK;
}

/* Review `id` tagged anew: its decisions chained (audit_seq 0: recorded before tags), then
 * the review's review/v2 tag over the chain. *decisions += how many. */
static mien_status retag_review(store_db *s, const char *id, int64_t *decisions,
                                mien_error *err)
{
    store_review r;
    store_decision *d = NULL;
    size_t n = 0;
    uint8_t chain[32] = {0};
    mien_status st = s->ops->review_get(s, id, &r, err);
    if (st == MIEN_OK) {
        st = s->ops->decision_list(s, id, &d, &n, err);
    }
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        governance_decision_mac(s->keys, &d[k], chain, d[k].mac);
        memcpy(chain, d[k].mac, 32);
        st = s->ops->decision_tag(s, &d[k], err);
    }
    if (st == MIEN_OK) {
        governance_review_mac(s->keys, &r, chain, r.mac);
        st = s->ops->review_update(s, &r, err);
    }
    *decisions += st == MIEN_OK ? (int64_t)n : 0;
    free(d);
    return st;
}

static mien_status retag_reviews(store_db *s, int64_t *reviews, int64_t *decisions,
                                 mien_error *err)
{
    review_ids l = {.keys = s->keys};
    mien_status st = s->ops->review_scan(s, take_review, &l, err);
    if (st == MIEN_ERR_STORE && l.bad[0] != '\0') {
        st = base_error_set(err, MIEN_ERR_STORE, "review %s was changed outside mien (its "
                            "tag does not match): not tagged again", l.bad);
    } else if (st == MIEN_ERR_NOMEM) {
        st = base_error_set(err, st, "upgrade: out of memory");
    }
    for (size_t k = 0; st == MIEN_OK && k < l.n; k++) {
        st = retag_review(s, l.id[k], decisions, err);
    }
    *reviews = st == MIEN_OK ? (int64_t)l.n : 0;
    free(l.id);
    return st;
}

/* Whether the chain already records a tagging (seq of it in *seq). */
static mien_status find_tagging(void *ctx, const store_audit_row *row)
{
    int64_t *seq = ctx;
    if (*seq == 0 && strcmp(row->action, "store.tag") == 0) {
        *seq = row->seq;
    }
    return MIEN_OK;
}

/* Refuses unless the chain verifies and records no tagging before. */
static mien_status chain_allows(store_db *s, mien_error *err)
{
    mien_audit_report rep;
    int64_t done = 0;
    mien_status st = audit_verify(s, &rep, err);
    if (st == MIEN_OK && !rep.ok) {
        return base_error_set(err, MIEN_ERR_FORBIDDEN, "%s: the audit chain does not verify "
                              "(%s): its rows are not tagged, since tags would vouch for "
                              "whatever was changed (run `mien audit verify`)", s->where,
                              rep.problem);
    }
    if (st == MIEN_OK) {
        st = s->ops->audit_scan(s, 1, 0, 0, find_tagging, &done, err);
    }
    if (st == MIEN_OK && done != 0) {
        st = base_error_set(err, MIEN_ERR_FORBIDDEN, "%s: the rows were tagged before (audit "
                            "entry %lld), yet the store asks for it again: the mark was set "
                            "outside mien; not tagged again", s->where, (long long)done);
    }
    return st;
}

/* Everything tagged and the tagging recorded, inside the caller's transaction. */
static mien_status tag_all(store_db *s, const mien_context *ctx, int64_t *tagged,
                           mien_error *err)
{
    store_tag_counts n;
    int64_t reviews = 0, decisions = 0, blobs = 0;
    mien_status st = s->ops->tag_rows(s, &n, err);
    if (st == MIEN_OK) {
        st = retag_reviews(s, &reviews, &decisions, err);
    }
    if (st == MIEN_OK) {
        st = seal_rebind_all(s, &blobs, err);
    }
    if (st == MIEN_OK) {
        mien_context who = {.actor = ctx != NULL && ctx->actor != NULL ? ctx->actor : "mien"};
        st = governance_record_tx(s, &who, "store.tag", NULL, NULL, "ok",
                                  json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "schema_version",
                                            s->schema_version, "collections",
                                            (json_int_t)n.collections, "subjects",
                                            (json_int_t)n.subjects, "keys", (json_int_t)n.keys,
                                            "reviews", (json_int_t)reviews, "decisions",
                                            (json_int_t)decisions, "blobs_bound",
                                            (json_int_t)blobs),
                                  NULL, NULL, err);
    }
    *tagged = n.collections + n.subjects + n.keys + reviews + decisions;
    return st;
}

mien_status mien_store_upgrade(mien_store *store, const mien_context *ctx, int64_t *tagged,
                               mien_error *err)
{
    store_db *s = store_db_of(store);
    bool pending = false;
    int64_t n = 0;
    if (tagged != NULL) {
        *tagged = 0;
    }
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_upgrade: NULL store");
    }
    mien_status st = s->ops->tags_pending(s, &pending, err);
    if (st != MIEN_OK || !pending) {
        return st;
    }
    if (s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: its rows are tagged with the key file's "
                              "key, and it was opened without one", s->where);
    }
    st = chain_allows(s, err);
    if (st == MIEN_OK) {
        st = s->ops->begin(s, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    s->tagging = true;
    st = tag_all(s, ctx, &n, err);
    s->tagging = false;
    st = governance_tx_end(s, st, err);
    if (st == MIEN_OK && tagged != NULL) {
        *tagged = n;
    }
    return st == MIEN_OK ? governance_after_commit(s, err) : st;
}
