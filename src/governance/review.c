/* review.c — human review of 1:N candidate lists (mien.h "human review of candidate lists").
 *
 * A search never says "match": it returns candidates and opens a review (governance.c,
 * governance_review_open). Reviewers then record decisions here. In two-person mode a
 * candidate counts as identified only when two different reviewers confirmed the same rank:
 * the EU AI Act, Art. 14(5), asks that no action be taken on a remote biometric
 * identification "unless that identification has been separately verified and confirmed by
 * at least two natural persons". The store's primary key (review, reviewer) makes the second
 * decision of one reviewer impossible, not just unlikely; reviewers are normalised names
 * (reviewer_normalise: "alice" and "Alice" are one person), and the decisions' tags, chained
 * to each other, to the review's tag and to the audit log (governance.c review_check), make a
 * deleted decision or a restored review row an error rather than a second chance.
 *
 * States: pending → confirmed (enough confirmations of one rank) | rejected (a reviewer says
 * none of the candidates is the person) | disputed (two reviewers confirmed different ranks).
 * Every decision, and every refused attempt, is an audit entry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "store/handle.h"
#include "store/store.h"
#include "governance/governance.h"

static void review_to_info(const store_review *r, mien_review_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", r->id);
    snprintf(out->collection, sizeof(out->collection), "%s", r->collection);
    out->required = r->required;
    out->confirmations = r->confirmations;
    out->confirmed_rank = r->confirmed_rank;
    snprintf(out->status, sizeof(out->status), "%s", r->status);
    out->created_at = r->created_at;
    out->search_seq = r->search_seq;
    out->candidates = (size_t)r->candidates;
}

mien_status mien_review_get(mien_store *store, const char *id, mien_review_info *out,
                            mien_error *err)
{
    store_db *s = store_db_of(store);
    store_review r;
    if (s == NULL || id == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_review_get: NULL argument");
    }
    mien_status st = governance_review_read(s, id, &r, NULL, err);
    if (st == MIEN_OK) {
        review_to_info(&r, out);
    }
    return st;
}

/* A reviewer's name as it is compared and stored into out[64]: spaces at the ends dropped,
 * runs of white space one space, ASCII letters lower-case, so that "alice", "Alice" and
 * " alice " are one person. MIEN_ERR_ARG when nothing is left. */
static mien_status reviewer_normalise(const char *in, char out[64], mien_error *err)
{
    size_t used = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (blank) {
            space = used > 0;
            continue;
        }
        if (space && used + 1 < 63) {
            out[used++] = ' ';
        }
        space = false;
        if (used + 1 < 64) {
            out[used++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
    }
    out[used] = '\0';
    return used > 0 ? MIEN_OK
                    : base_error_set(err, MIEN_ERR_ARG, "a decision names its reviewer");
}

/* The length of reviewer's name: up to the "@unix:LOGIN" a CLI reviewer carries
 * (cmd_review.c), which records the account but is not part of who the person is. */
static size_t name_length(const char *reviewer)
{
    const char *at = strstr(reviewer, "@unix:");
    return strncmp(reviewer, "cli:", 4) == 0 && at != NULL ? (size_t)(at - reviewer)
                                                            : strlen(reviewer);
}

/* Whether two normalised reviewers are one person: the same name, whatever account each
 * decision was recorded with. */
static bool same_person(const char *a, const char *b)
{
    size_t n = name_length(a);
    return n == name_length(b) && strncmp(a, b, n) == 0;
}

/* Whether `reviewer` already decided on review `id`. */
static mien_status already_decided(store_db *s, const char *id, const char *reviewer,
                                   bool *decided, mien_error *err)
{
    store_decision *d = NULL;
    size_t n = 0;
    *decided = false;
    mien_status st = s->ops->decision_list(s, id, &d, &n, err);
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        char who[64];
        *decided = *decided || (reviewer_normalise(d[k].reviewer, who, NULL) == MIEN_OK &&
                                same_person(who, reviewer));
    }
    free(d);
    return st;
}

/* The review's next state after one more decision. */
static void apply_decision(store_review *r, mien_review_decision decision, int rank)
{
    if (decision == MIEN_DECISION_REJECT) {
        snprintf(r->status, sizeof(r->status), "%s", "rejected");
        return;
    }
    r->confirmations++;
    if (r->confirmed_rank != 0 && r->confirmed_rank != rank) {
        snprintf(r->status, sizeof(r->status), "%s", "disputed");
        return;
    }
    r->confirmed_rank = rank;
    if (r->confirmations >= r->required) {
        snprintf(r->status, sizeof(r->status), "%s", "confirmed");
    }
}

/* The actor of audit entry `seq` (the search under review) into actor[64]; "" if absent. */
typedef struct actor_of {
    int64_t seq;
    char actor[64];
} actor_of;

static mien_status take_actor(void *ctx, const store_audit_row *row)
{
    actor_of *a = ctx;
    if (row->seq == a->seq) {
        snprintf(a->actor, sizeof(a->actor), "%s", row->actor);
    }
    return MIEN_ERR_NOT_FOUND; /* one row is enough: stop the scan */
}

static void search_actor(store_db *s, int64_t seq, char actor[64])
{
    actor_of a = {.seq = seq, .actor = ""};
    s->ops->audit_scan(s, seq, 0, 0, take_actor, &a, NULL);
    snprintf(actor, 64, "%s", a.actor);
}

/* Checks the decision against the review inside the transaction; the first rule broken sets
 * err and its status. */
static mien_status decision_allowed(store_db *s, const store_review *r,
                                    const char *reviewer, mien_review_decision decision, int rank,
                                    mien_error *err)
{
    bool decided = false;
    if (strcmp(r->status, "pending") != 0) {
        return base_error_set(err, MIEN_ERR_EXISTS, "review %s is already closed (%s)", r->id,
                              r->status);
    }
    if (decision == MIEN_DECISION_CONFIRM && (rank < 1 || rank > r->candidates)) {
        return base_error_set(err, MIEN_ERR_ARG, "rank must be 1..%lld (the candidates of the "
                              "search)", (long long)r->candidates);
    }
    if (r->required > 1) {
        /* Two-person review means two people besides the one who searched: the search's
         * author confirming their own candidate is not a separate verification. */
        char searcher[64], who[64];
        search_actor(s, r->search_seq, searcher);
        if (reviewer_normalise(searcher, who, NULL) == MIEN_OK && same_person(who, reviewer)) {
            return base_error_set(err, MIEN_ERR_FORBIDDEN, "'%s' ran the search under review %s: "
                                  "in two-person review its two reviewers are other people",
                                  reviewer, r->id);
        }
    }
    mien_status st = already_decided(s, r->id, reviewer, &decided, err);
    if (st == MIEN_OK && decided) {
        st = base_error_set(err, MIEN_ERR_FORBIDDEN, "reviewer '%s' already decided on review "
                            "%s%s", reviewer, r->id,
                            r->required > 1 ? ": two-person review needs a second, different "
                                              "reviewer" : "");
    }
    return st;
}

static json_t *decision_json(const store_review *r, mien_review_decision decision, int rank,
                             const char *note)
{
    return json_pack("{s:s,s:s,s:i,s:s,s:i,s:i,s:I,s:s}", "review", r->id, "decision",
                     decision == MIEN_DECISION_CONFIRM ? "confirm" : "reject", "rank",
                     decision == MIEN_DECISION_CONFIRM ? rank : 0, "status", r->status,
                     "confirmations", r->confirmations, "required", r->required, "search_seq",
                     (json_int_t)r->search_seq, "note",
                     /* the note's text stays with the decision, not in the immutable log:
                      * a reviewer may have written a name in it */
                     note != NULL && note[0] != '\0' ? "recorded" : "");
}

mien_status mien_review_decide(mien_store *store, const char *id, const char *reviewer,
                               mien_review_decision decision, int rank, const char *note,
                               mien_review_info *out, mien_error *err)
{
    store_db *s = store_db_of(store);
    store_review r;
    memset(&r, 0, sizeof(r));
    if (s == NULL || id == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_review_decide: NULL store or id");
    }
    if (reviewer == NULL || reviewer[0] == '\0' || strlen(reviewer) >= 64) {
        return base_error_set(err, MIEN_ERR_ARG, "a decision names its reviewer (1..63 bytes)");
    }
    if (decision != MIEN_DECISION_CONFIRM && decision != MIEN_DECISION_REJECT) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown decision %d", (int)decision);
    }
    if (note != NULL && strlen(note) >= 256) {
        return base_error_set(err, MIEN_ERR_ARG, "a note is at most 255 bytes");
    }
    char who[64];
    mien_status st = reviewer_normalise(reviewer, who, err);
    if (st != MIEN_OK) {
        return st;
    }
    reviewer = who;
    mien_context ctx = {.actor = reviewer};
    uint8_t chain[32];
    store_decision d;
    memset(&d, 0, sizeof(d));
    st = s->ops->begin(s, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = governance_review_read(s, id, &r, chain, err);
    if (st == MIEN_OK) {
        st = decision_allowed(s, &r, reviewer, decision, rank, err);
    }
    if (st == MIEN_OK) {
        apply_decision(&r, decision, rank);
        /* the entry first: the decision's tag covers the entry's number */
        st = governance_record_tx(s, &ctx, "review", r.collection, NULL, "ok",
                                  decision_json(&r, decision, rank, note), &d.audit_seq, NULL,
                                  err);
    }
    if (st == MIEN_OK) {
        snprintf(d.review_id, sizeof(d.review_id), "%s", id);
        snprintf(d.reviewer, sizeof(d.reviewer), "%s", reviewer);
        d.decision = (int)decision;
        d.rank = decision == MIEN_DECISION_CONFIRM ? rank : 0;
        snprintf(d.note, sizeof(d.note), "%s", note != NULL ? note : "");
        d.time = store_db_now(s);
        governance_decision_mac(s->keys, &d, chain, d.mac);
        st = s->ops->decision_insert(s, &d, err);
    }
    if (st == MIEN_OK) {
        governance_review_mac(s->keys, &r, d.mac, r.mac);
        st = s->ops->review_update(s, &r, err);
    }
    if (st == MIEN_OK) {
        st = s->ops->commit(s, err);
    }
    if (st != MIEN_OK) {
        s->ops->rollback(s);
        if (st == MIEN_ERR_FORBIDDEN || st == MIEN_ERR_EXISTS || st == MIEN_ERR_STORE) {
            /* A refused decision is a fact worth keeping too (who tried what, when), and so
             * is a review found altered behind mien's back. */
            governance_record(s, &ctx, "review", r.collection, NULL, "refused",
                              json_pack("{s:s,s:s}", "review", id, "reason",
                                        err != NULL ? err->message : mien_strerror(st)),
                              NULL, NULL);
        }
        return st;
    }
    if (out != NULL) {
        review_to_info(&r, out);
    }
    return governance_after_commit(s, err);
}

/* ---- the review queue ------------------------------------------------------------------ */

/* The ids of the reviews that pass the filter, collected during review_scan (whose callback
 * may not call the store: each is read and checked afterwards). */
typedef struct queue_ids {
    const char *collection, *status;
    char (*ids)[33];
    size_t n, cap;
} queue_ids;

static mien_status take_review(void *ctx, const store_review *r)
{
    queue_ids *q = ctx;
    if ((q->collection != NULL && strcmp(q->collection, r->collection) != 0) ||
        (q->status != NULL && strcmp(q->status, r->status) != 0)) {
        return MIEN_OK;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        char(*grown)[33] = realloc(q->ids, cap * sizeof(*grown));
        if (grown == NULL) {
            return MIEN_ERR_NOMEM;
        }
        q->ids = grown;
        q->cap = cap;
    }
    snprintf(q->ids[q->n++], 33, "%s", r->id);
    return MIEN_OK;
}

/* Oldest first by the audit entry of the search: the backends' scans order reviews of one
 * second differently (SQLite by row, PostgreSQL by id). */
static int by_search_seq(const void *a, const void *b)
{
    const mien_review_info *x = a, *y = b;
    return (x->search_seq > y->search_seq) - (x->search_seq < y->search_seq);
}

mien_status mien_review_list(mien_store *store, const char *collection, const char *status,
                             mien_review_info **out, size_t *count, mien_error *err)
{
    store_db *s = store_db_of(store);
    queue_ids q = {.collection = collection, .status = status};
    if (s == NULL || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_review_list: NULL argument");
    }
    *out = NULL;
    *count = 0;
    mien_status st = s->ops->review_scan(s, take_review, &q, err);
    if (st == MIEN_ERR_NOMEM) {
        base_error_set(err, st, "mien_review_list: out of memory");
    }
    mien_review_info *list = q.n > 0 ? calloc(q.n, sizeof(*list)) : NULL;
    if (st == MIEN_OK && q.n > 0 && list == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "mien_review_list: out of memory");
    }
    for (size_t k = 0; st == MIEN_OK && k < q.n; k++) {
        store_review r;
        st = governance_review_read(s, q.ids[k], &r, NULL, err);
        if (st == MIEN_OK) {
            review_to_info(&r, &list[k]);
        }
    }
    free(q.ids);
    if (st != MIEN_OK) {
        free(list);
        return st;
    }
    if (q.n > 1) {
        qsort(list, q.n, sizeof(*list), by_search_seq);
    }
    *out = list;
    *count = q.n;
    return MIEN_OK;
}

mien_status mien_review_decisions(mien_store *store, const char *id,
                                  mien_review_decision_info **out, size_t *count,
                                  mien_error *err)
{
    store_db *s = store_db_of(store);
    store_review r;
    store_decision *d = NULL;
    size_t n = 0;
    if (s == NULL || id == NULL || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_review_decisions: NULL argument");
    }
    *out = NULL;
    *count = 0;
    /* the review and its chain of decisions verified first: a list read past a deleted
     * decision would show one reviewer fewer than decided */
    mien_status st = governance_review_read(s, id, &r, NULL, err);
    if (st == MIEN_OK) {
        st = s->ops->decision_list(s, id, &d, &n, err);
    }
    mien_review_decision_info *list = n > 0 ? calloc(n, sizeof(*list)) : NULL;
    if (st == MIEN_OK && n > 0 && list == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "mien_review_decisions: out of memory");
    }
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        snprintf(list[k].reviewer, sizeof(list[k].reviewer), "%s", d[k].reviewer);
        list[k].decision = (mien_review_decision)d[k].decision;
        list[k].rank = d[k].rank;
        snprintf(list[k].note, sizeof(list[k].note), "%s", d[k].note);
        list[k].time = d[k].time;
        list[k].audit_seq = d[k].audit_seq;
    }
    free(d);
    if (st != MIEN_OK) {
        free(list);
        return st;
    }
    *out = list;
    *count = n;
    return MIEN_OK;
}
