/* governance.h — the rules every use of personal data passes through, for the layer that runs
 * the actions (gallery.c): declared purposes, collection policies, audit records in the
 * action's own transaction, and reviews of candidate lists (issue "Accountability by design";
 * docs/responsible-use.md explains each rule in plain words).
 *
 * The gallery opens a store transaction, does the action, calls governance_record_tx() with a
 * summary of what happened, commits, and then calls governance_after_commit(), which signs the
 * audit chain's new head (audit.h). A refusal has no action to share a transaction with:
 * governance_record() writes it in its own. */
#ifndef MIEN_GOVERNANCE_H
#define MIEN_GOVERNANCE_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "mien.h"

/* Checks `p` and copies it into c's policy fields (purposes normalised: no spaces, no empty
 * items, no duplicates). MIEN_ERR_ARG naming what is missing or malformed. */
mien_status governance_policy_set(const mien_collection_policy *p, store_collection *c,
                                  mien_error *err);

/* The policy of c as JSON (for the audit entry of its creation and for listings). */
json_t *governance_policy_json(const store_collection *c);

/* The effective caps of c's policy (mien.h mien_collection_caps): the row's values, the
 * defaults for a value out of range. */
void governance_caps(const store_collection *c, mien_search_caps *out);

/* A search's limits: how many candidates and at which false-match rate. */
typedef struct governance_limits {
    int top_k;
    double max_fmr;
} governance_limits;

/* Applies c's caps to the limits a search asked for (*asked: 0 takes `defaults`, lowered to a
 * cap below them). An ask above a cap is lowered to it when clamp (*capped then true), else
 * refused: MIEN_ERR_FORBIDDEN naming the cap, audited like every refusal. */
mien_status governance_search_limits(store_db *s, const store_collection *c,
                                     const governance_limits *defaults, bool clamp,
                                     governance_limits *asked, bool *capped,
                                     const mien_context *ctx, mien_error *err);

/* Whether `purpose` is one of the comma-separated `purposes`. */
bool governance_purpose_listed(const char *purposes, const char *purpose);

/* Whether `action` ("search" or "verify") may run on collection c for ctx: no purpose or no
 * case reference → MIEN_ERR_ARG; a purpose c does not declare, or a search on a
 * verification-only collection → MIEN_ERR_FORBIDDEN. A refusal is audited (its own
 * transaction) before it is returned. */
mien_status governance_check(store_db *s, const store_collection *c, const char *action,
                             const mien_context *ctx, mien_error *err);

/* Appends an audit entry inside the caller's open transaction; `result` is stolen (may be
 * NULL: "{}"). `collection` may be NULL. *seq, hash (may be NULL) receive the entry's number
 * and hash. */
mien_status governance_record_tx(store_db *s, const mien_context *ctx, const char *action,
                                 const char *collection, const uint8_t *input_sha256,
                                 const char *outcome, json_t *result, int64_t *seq,
                                 uint8_t hash[32], mien_error *err);

/* The same in a transaction of its own, committed and signed before it returns. */
mien_status governance_record(store_db *s, const mien_context *ctx, const char *action,
                              const char *collection, const uint8_t *input_sha256,
                              const char *outcome, json_t *result, int64_t *seq,
                              mien_error *err);

/* Whether an audit row is what mien wrote: its hash matches its contents and its MAC the key
 * file's key (audit.h). Rows that fail are never acted upon (the gallery's change feed). */
bool governance_entry_authentic(const store_db *s, const store_audit_row *row);

/* Ends the caller's transaction: commits when st is MIEN_OK, rolls back otherwise (and when
 * the commit fails). Returns the outcome. */
mien_status governance_tx_end(store_db *s, mien_status st, mien_error *err);

/* After a commit that recorded entries: signs and writes the chain's head. */
mien_status governance_after_commit(store_db *s, mien_error *err);

/* Hex keyed hash of a subject (keyring_subject_hash) into out[65]: the only way the audit
 * log, reviews and receipts name a person. */
void governance_subject_hash(const store_db *s, const char *collection, const char *subject,
                             char out[65]);

/* The review row's keyed tag (keyring_mac "review/v2"): its fields, the SHA-256 of its
 * candidates_json, and `chain`, the tag of its latest decision (zeros before the first): set
 * whenever a row is written, checked whenever one is read, so that a status changed in the
 * database, candidates edited, an older row restored or a decision deleted is caught. */
void governance_review_mac(const keyring *keys, const store_review *r, const uint8_t chain[32],
                           uint8_t out[32]);
/* The tag of decision d (keyring_mac "decision/v1"): its fields, the audit entry that recorded
 * it, and `prev`, the tag of the review's decision before it (zeros for the first). */
void governance_decision_mac(const keyring *keys, const store_decision *d,
                             const uint8_t prev[32], uint8_t out[32]);
/* Reads review `id` and checks it with its decisions: every decision's tag chained from the
 * first, the review's tag over the last, and no decision of it in the audit log after the
 * last one stored (an older row and a shorter chain restored together). MIEN_ERR_STORE naming
 * the row when something was altered. chain (may be NULL): the last decision's tag. */
mien_status governance_review_read(store_db *s, const char *id, store_review *out,
                                   uint8_t chain[32], mien_error *err);

/* Confirmations a search with n candidates in c needs: 0 when c opted out of review
 * (MIEN_REVIEW_NONE) or there is nothing to review, else 1, or 2 in two-person mode. */
int governance_review_required(const store_collection *c, size_t n);
/* A fresh review id (32 hex characters from 16 random bytes) into id[33]. */
void governance_review_new_id(char id[33]);
/* Stores review `id` of the search recorded as audit entry `search_seq`, inside the caller's
 * transaction: `candidates` (a JSON array of {rank, subject hash, similarity}, stolen) awaits
 * c's reviewers. Only when governance_review_required() is non-zero. */
mien_status governance_review_open(store_db *s, const store_collection *c, const char *id,
                                   int64_t search_seq, json_t *candidates, size_t n,
                                   mien_error *err);

#endif
