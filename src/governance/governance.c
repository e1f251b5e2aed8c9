/* governance.c — purposes, collection policies and audit records for the gallery's actions
 * (governance.h). Reviews are in review.c, the hash chain in audit.c.
 *
 * Why a purpose on every identification: GDPR Art. 5(1)(b) (purpose limitation) and the EU
 * AI Act's logging duty for remote biometric identification (Art. 12) both presuppose that
 * each use can be tied to a declared, lawful purpose; a collection declares the purposes it
 * was built for and nothing else may be done with it. The case reference ties a search to the
 * file that justified it, so an auditor can ask for that file. */
#include "governance/governance.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "governance/audit.h"

/* Audit results and review candidates as stored: compact, keys sorted, reals with 9
 * significant digits (enough for a float's similarity and an FMR; jansson's default 17 prints
 * 1e-6 as 9.9999999999999995e-07). */
#define GOVERNANCE_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9))

#define PURPOSE_MAX 64        /* one purpose: [a-z0-9_.-]{1,63} */
#define PURPOSES_MAX 256      /* the list, commas included */
#define RETENTION_MAX_S (100LL * 365 * 86400)
/* The caps a policy may set (mien.h mien_collection_policy): rates within the calibrated
 * range (docs/calibration.md states 1e-6 .. 1), lists no longer than a search may ask. */
#define CAP_FMR_MIN 1e-6
#define CAP_CANDIDATES_MAX 10000
#define PPB 1e9 /* store_collection.max_fmr_ppb: parts per billion */

static bool purpose_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
           ch == '-';
}

bool governance_purpose_listed(const char *purposes, const char *purpose)
{
    size_t n = purpose != NULL ? strlen(purpose) : 0;
    if (purposes == NULL || n == 0) {
        return false;
    }
    for (const char *p = purposes; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, purpose, n) == 0) {
            return true;
        }
        p += len + (end != NULL);
    }
    return false;
}

/* Normalises a comma-separated purpose list into out[PURPOSES_MAX]: items trimmed of spaces,
 * checked, de-duplicated. */
static mien_status purposes_normalise(const char *in, char out[PURPOSES_MAX], mien_error *err)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = in; *p != '\0';) {
        char item[PURPOSE_MAX];
        size_t len = 0;
        while (*p == ' ' || *p == ',') {
            p++;
        }
        while (*p != '\0' && *p != ',' && *p != ' ') {
            if (!purpose_char(*p) || len + 1 >= sizeof(item)) {
                return base_error_set(err, MIEN_ERR_ARG, "purposes are 1..%d characters of "
                                      "[a-z0-9_.-], separated by commas (\"%s\")",
                                      PURPOSE_MAX - 1, in);
            }
            item[len++] = *p++;
        }
        item[len] = '\0';
        if (len == 0 || governance_purpose_listed(out, item)) {
            continue;
        }
        if (used + len + 2 > PURPOSES_MAX) {
            return base_error_set(err, MIEN_ERR_ARG, "the purpose list is longer than %d bytes",
                                  PURPOSES_MAX - 1);
        }
        used += (size_t)snprintf(out + used, PURPOSES_MAX - used, "%s%s", used ? "," : "", item);
    }
    if (used == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "a collection declares the purposes it may be "
                              "used for (e.g. \"access_control\")");
    }
    return MIEN_OK;
}

mien_status governance_policy_set(const mien_collection_policy *p, store_collection *c,
                                  mien_error *err)
{
    if (p == NULL || p->purposes == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "a collection declares its purposes and legal "
                              "basis (mien_collection_policy)");
    }
    mien_status st = purposes_normalise(p->purposes, c->purposes, err);
    if (st != MIEN_OK) {
        return st;
    }
    size_t basis = p->legal_basis != NULL ? strlen(p->legal_basis) : 0;
    if (basis == 0 || basis >= sizeof(c->legal_basis)) {
        return base_error_set(err, MIEN_ERR_ARG, "a collection declares its legal basis (1..%zu "
                              "bytes, e.g. \"consent, GDPR Art. 9(2)(a)\")",
                              sizeof(c->legal_basis) - 1);
    }
    if ((unsigned)p->consent > MIEN_CONSENT_NOT_NEEDED) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown consent rule %d", (int)p->consent);
    }
    if ((unsigned)p->review > MIEN_REVIEW_NONE) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown review mode %d", (int)p->review);
    }
    if (p->retention_s < 0 || p->retention_s > RETENTION_MAX_S) {
        return base_error_set(err, MIEN_ERR_ARG, "retention must be 0 (one year) .. 100 years");
    }
    double cap_fmr = p->max_fmr != 0 ? p->max_fmr : MIEN_DEFAULT_MAX_FMR;
    if (!(cap_fmr >= CAP_FMR_MIN && cap_fmr <= 1.0)) {
        return base_error_set(err, MIEN_ERR_ARG, "the FMR cap (max_fmr) must be 0 (%g) or in "
                              "%g..1, not %g", MIEN_DEFAULT_MAX_FMR, CAP_FMR_MIN, p->max_fmr);
    }
    if (p->max_candidates < 0 || p->max_candidates > CAP_CANDIDATES_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "the candidate cap (max_candidates) must be 0 "
                              "(%d) or in 1..%d, not %d", MIEN_DEFAULT_MAX_CANDIDATES,
                              CAP_CANDIDATES_MAX, p->max_candidates);
    }
    c->max_fmr_ppb = llround(cap_fmr * PPB);
    c->max_candidates = p->max_candidates != 0 ? p->max_candidates : MIEN_DEFAULT_MAX_CANDIDATES;
    snprintf(c->legal_basis, sizeof(c->legal_basis), "%s", p->legal_basis);
    c->consent = (int)p->consent;
    c->retention_s = p->retention_s != 0 ? p->retention_s : MIEN_DEFAULT_RETENTION_S;
    c->review = (int)p->review;
    c->verification_only = p->verification_only != 0;
    return MIEN_OK;
}

json_t *governance_policy_json(const store_collection *c)
{
    mien_search_caps caps;
    governance_caps(c, &caps);
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:b,s:f,s:i}", "purposes", c->purposes,
                     "legal_basis", c->legal_basis, "consent",
                     mien_consent_name((mien_consent)c->consent), "retention_s",
                     (json_int_t)c->retention_s, "review",
                     mien_review_mode_name((mien_review_mode)c->review), "verification_only",
                     c->verification_only, "max_fmr", caps.max_fmr, "max_candidates",
                     caps.max_candidates);
}

void governance_caps(const store_collection *c, mien_search_caps *out)
{
    /* A value the policy check would not have let through (0, out of range: a row written
     * behind mien's back) reads as the default, so that no row can lift a cap past 1 or 10000.
     * That an in-range value is the one declared is for the row's keyed tag to show. */
    double fmr = (double)c->max_fmr_ppb / PPB;
    out->max_fmr = fmr >= CAP_FMR_MIN && fmr <= 1.0 ? fmr : MIEN_DEFAULT_MAX_FMR;
    out->max_candidates = c->max_candidates >= 1 && c->max_candidates <= CAP_CANDIDATES_MAX
                              ? (int)c->max_candidates
                              : MIEN_DEFAULT_MAX_CANDIDATES;
}

void governance_subject_hash(const store_db *s, const char *collection, const char *subject,
                             char out[65])
{
    uint8_t h[KEYRING_HASH_BYTES];
    if (s->keys == NULL) {
        snprintf(out, 65, "%s", "");
        return;
    }
    keyring_subject_hash(s->keys, collection, subject, h);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* ---- audit records -------------------------------------------------------------------- */

mien_status governance_record_tx(store_db *s, const mien_context *ctx, const char *action,
                                 const char *collection, const uint8_t *input_sha256,
                                 const char *outcome, json_t *result, int64_t *seq,
                                 uint8_t hash[32], mien_error *err)
{
    /* NULL is what json_pack returns for a value it cannot represent (a NaN score): an action
     * whose summary cannot be written is not recorded with an empty one. */
    if (result == NULL) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "audit: the %s summary could not be built",
                              action != NULL ? action : "action");
    }
    char *text = json_dumps(result, GOVERNANCE_JSON_FLAGS);
    json_decref(result);
    if (text == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "audit: serialising the result");
    }
    audit_entry e = {
        .actor = ctx != NULL && ctx->actor != NULL && ctx->actor[0] ? ctx->actor : "unknown",
        .action = action,
        .collection = collection,
        .purpose = ctx != NULL ? ctx->purpose : NULL,
        .case_ref = ctx != NULL ? ctx->case_ref : NULL,
        .input_sha256 = input_sha256,
        .outcome = outcome,
        .result_json = text,
    };
    mien_status st = audit_append(s, store_db_now(s), &e, seq, hash, err);
    free(text);
    return st;
}

bool governance_entry_authentic(const store_db *s, const store_audit_row *row)
{
    uint8_t h[32], mac[32];
    if (s->keys == NULL) {
        return false;
    }
    audit_row_hash(row, h);
    audit_row_mac(s->keys, row, mac);
    return sodium_memcmp(h, row->hash, 32) == 0 && sodium_memcmp(mac, row->mac, 32) == 0;
}

mien_status governance_after_commit(store_db *s, mien_error *err)
{
    /* The action has committed; what can fail here is signing the head (a full disk, or a
     * head file that no longer fits the chain: audit.c refuses to paper over a truncation).
     * The caller must hear of it, and must not think the action was undone. */
    mien_status st = audit_checkpoint(s, err);
    if (st != MIEN_OK && err != NULL) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof(err->message) - used,
                 " (the action itself was committed; run `mien audit verify`)");
    }
    /* An erasure whose bytes could not be scrubbed from the files is reported, never left
     * silently (the store retries it at later commits). */
    if (st == MIEN_OK && s->scrub_failed) {
        st = base_error_set(err, s->scrub_error.code, "%.440s (the erasure itself was committed)",
                            s->scrub_error.message);
    }
    s->scrub_failed = 0;
    return st;
}

mien_status governance_record(store_db *s, const mien_context *ctx, const char *action,
                              const char *collection, const uint8_t *input_sha256,
                              const char *outcome, json_t *result, int64_t *seq,
                              mien_error *err)
{
    mien_status st = s->ops->begin(s, err);
    if (st != MIEN_OK) {
        json_decref(result);
        return st;
    }
    st = governance_record_tx(s, ctx, action, collection, input_sha256, outcome, result, seq,
                              NULL, err);
    st = governance_tx_end(s, st, err);
    return st == MIEN_OK ? governance_after_commit(s, err) : st;
}

mien_status governance_tx_end(store_db *s, mien_status st, mien_error *err)
{
    if (st == MIEN_OK) {
        st = s->ops->commit(s, err);
    }
    if (st != MIEN_OK) {
        s->ops->rollback(s);
    }
    return st;
}

/* ---- purpose checks ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 when it is not one
 * (RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                                       : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F)) {
        return 0;
    }
    return n;
}

/* Copies text into dst[size] as valid UTF-8 without control characters: a bad byte becomes
 * '?', and a cut never splits a character. A request refused for what it sent must still be
 * recordable, and the audit accepts only clean text. */
static void text_clean(char *dst, size_t size, const char *text)
{
    const unsigned char *p = (const unsigned char *)(text != NULL ? text : "");
    size_t used = 0;
    while (*p != '\0') {
        size_t n = utf8_len(p);
        const unsigned char *from = n > 0 && *p >= 0x20 && *p != 0x7f ? p : (const unsigned char *)"?";
        size_t take = n > 0 && from == p ? n : 1;
        if (used + take >= size) {
            break;
        }
        memcpy(dst + used, from, take);
        used += take;
        p += n > 0 ? n : 1;
    }
    dst[used] = '\0';
}

/* Records a refusal of `action` with the reason in err's message, then returns `code`. The
 * context's strings are cut to the audit's field sizes first: an overlong purpose is itself a
 * reason to refuse, and must not stop the refusal from being recorded. */
static mien_status refuse(store_db *s, const store_collection *c, const char *action,
                          const mien_context *ctx, mien_status code, mien_error *err)
{
    char actor[64], purpose[64], case_ref[128];
    text_clean(actor, sizeof(actor), ctx != NULL ? ctx->actor : NULL);
    text_clean(purpose, sizeof(purpose), ctx != NULL ? ctx->purpose : NULL);
    text_clean(case_ref, sizeof(case_ref), ctx != NULL ? ctx->case_ref : NULL);
    mien_context cut = {actor, purpose, case_ref, ctx != NULL ? ctx->input_sha256 : NULL};
    mien_error rec;
    const char *reason = err != NULL ? err->message : mien_strerror(code);
    if (governance_record(s, &cut, action, c->name, cut.input_sha256, "refused",
                          json_pack("{s:s}", "reason", reason), NULL, &rec) != MIEN_OK) {
        /* The refusal stands; say that its record is missing. */
        if (err != NULL) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof(err->message) - used,
                     " (and the refusal could not be audited: %s)", rec.message);
        }
    }
    return code;
}

mien_status governance_check(store_db *s, const store_collection *c, const char *action,
                             const mien_context *ctx, mien_error *err)
{
    /* A grouping of enrolled faces is 1:N processing too: the search rules apply. */
    bool search = strcmp(action, "search") == 0 || strcmp(action, "group") == 0;
    const char *purpose = ctx != NULL ? ctx->purpose : NULL;
    const char *case_ref = ctx != NULL ? ctx->case_ref : NULL;
    if (search && c->verification_only) {
        base_error_set(err, MIEN_ERR_FORBIDDEN, "collection '%s' is verification-only: 1:N "
                       "search is refused (use 1:1 verification against a named subject)",
                       c->name);
        return refuse(s, c, action, ctx, MIEN_ERR_FORBIDDEN, err);
    }
    if (purpose == NULL || purpose[0] == '\0') {
        base_error_set(err, MIEN_ERR_ARG, "a %s declares its purpose (collection '%s' allows: "
                       "%s)", action, c->name, c->purposes[0] ? c->purposes : "nothing");
        return refuse(s, c, action, ctx, MIEN_ERR_ARG, err);
    }
    if (search && (case_ref == NULL || case_ref[0] == '\0')) {
        base_error_set(err, MIEN_ERR_ARG, "a %s names the case it is done for (case_ref)",
                       action);
        return refuse(s, c, action, ctx, MIEN_ERR_ARG, err);
    }
    if (strlen(purpose) >= PURPOSE_MAX || (case_ref != NULL && strlen(case_ref) >= 128)) {
        base_error_set(err, MIEN_ERR_ARG, "purpose is at most %d bytes, case_ref at most 127",
                       PURPOSE_MAX - 1);
        return refuse(s, c, action, ctx, MIEN_ERR_ARG, err);
    }
    if (!governance_purpose_listed(c->purposes, purpose)) {
        char shown[PURPOSE_MAX];
        text_clean(shown, sizeof(shown), purpose); /* the message may become JSON */
        base_error_set(err, MIEN_ERR_FORBIDDEN, "purpose '%s' is not one collection '%s' was "
                       "declared for (%s)", shown, c->name,
                       c->purposes[0] ? c->purposes : "none declared");
        return refuse(s, c, action, ctx, MIEN_ERR_FORBIDDEN, err);
    }
    return MIEN_OK;
}

/* One limit of a search against its cap: *asked 0 takes def, lowered to the cap; above the
 * cap it is lowered when clamp (and *capped set); false when it must be refused. */
static bool limit_within(double *asked, double def, double cap, bool clamp, bool *capped)
{
    if (*asked == 0) {
        *asked = def < cap ? def : cap;
        return true;
    }
    if (*asked <= cap) {
        return true;
    }
    if (clamp) {
        *asked = cap;
        *capped = true;
        return true;
    }
    return false;
}

mien_status governance_search_limits(store_db *s, const store_collection *c,
                                     const governance_limits *defaults, bool clamp,
                                     governance_limits *asked, bool *capped,
                                     const mien_context *ctx, mien_error *err)
{
    mien_search_caps caps;
    double top = asked->top_k;
    governance_caps(c, &caps);
    *capped = false;
    if (!limit_within(&top, defaults->top_k, caps.max_candidates, clamp, capped)) {
        base_error_set(err, MIEN_ERR_FORBIDDEN, "collection '%s' returns at most %d candidates "
                       "per search (its policy's max_candidates); %d were asked for", c->name,
                       caps.max_candidates, asked->top_k);
        return refuse(s, c, "search", ctx, MIEN_ERR_FORBIDDEN, err);
    }
    if (!limit_within(&asked->max_fmr, defaults->max_fmr, caps.max_fmr, clamp, capped)) {
        base_error_set(err, MIEN_ERR_FORBIDDEN, "collection '%s' searches at a false-match rate "
                       "of at most %g (its policy's max_fmr); %g was asked for", c->name,
                       caps.max_fmr, asked->max_fmr);
        return refuse(s, c, "search", ctx, MIEN_ERR_FORBIDDEN, err);
    }
    asked->top_k = (int)top;
    return MIEN_OK;
}

/* ---- reviews: opening one (decisions are in review.c) ----------------------------------- */

void governance_review_mac(const keyring *keys, const store_review *r, const uint8_t chain[32],
                           uint8_t out[32])
{
    char text[640], cand[65], last[65];
    sodium_bin2hex(cand, sizeof(cand), r->candidates_sha256, 32);
    sodium_bin2hex(last, sizeof(last), chain, 32);
    int n = snprintf(text, sizeof(text), "%s\n%lld\n%s\n%d\n%d\n%d\n%s\n%lld\n%lld\n%lld\n%s\n%s",
                     r->id, (long long)r->collection_id, r->collection, r->required,
                     r->confirmations, r->confirmed_rank, r->status, (long long)r->created_at,
                     (long long)r->search_seq, (long long)r->candidates, cand, last);
    keyring_mac(keys, "review/v2", (const uint8_t *)text,
                n > 0 ? ((size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1) : 0, out);
}

void governance_decision_mac(const keyring *keys, const store_decision *d,
                             const uint8_t prev[32], uint8_t out[32])
{
    char text[640], before[65];
    sodium_bin2hex(before, sizeof(before), prev, 32);
    int n = snprintf(text, sizeof(text), "%s\n%zu:%s\n%d\n%d\n%zu:%s\n%lld\n%lld\n%s",
                     d->review_id, strlen(d->reviewer), d->reviewer, d->decision, d->rank,
                     strlen(d->note), d->note, (long long)d->time, (long long)d->audit_seq,
                     before);
    keyring_mac(keys, "decision/v1", (const uint8_t *)text,
                n > 0 ? ((size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1) : 0, out);
}

/* Decisions on one review that the audit log recorded after its search. */
typedef struct review_entries {
    char needle[48]; /* "review":"<id>" as decision_json writes it */
    int64_t count;
} review_entries;

static mien_status count_decided(void *ctx, const store_audit_row *row)
{
    review_entries *e = ctx;
    if (strcmp(row->action, "review") == 0 && strcmp(row->outcome, "ok") == 0 &&
        row->result != NULL && strstr(row->result, e->needle) != NULL) {
        e->count++;
    }
    return MIEN_OK;
}

/* Checks r's decisions d[n]: each tag chained from the first, r's tag over the last, and as
 * many as the audit log recorded. *chain the last tag. */
static mien_status review_check(store_db *s, const store_review *r, const store_decision *d,
                                size_t n, uint8_t chain[32], mien_error *err)
{
    uint8_t mac[32];
    memset(chain, 0, 32);
    for (size_t k = 0; k < n; k++) {
        governance_decision_mac(s->keys, &d[k], chain, mac);
        if (sodium_memcmp(mac, d[k].mac, 32) != 0) {
            return base_error_set(err, MIEN_ERR_STORE, "review %s: the decision of reviewer "
                                  "'%s' was changed outside mien (its tag does not match)",
                                  r->id, d[k].reviewer);
        }
        memcpy(chain, mac, 32);
    }
    governance_review_mac(s->keys, r, chain, mac);
    if (sodium_memcmp(mac, r->mac, 32) != 0) {
        return base_error_set(err, MIEN_ERR_STORE, "review %s was changed outside mien (its "
                              "tag does not match its row, candidates and decisions: an edit, "
                              "an older row restored or a decision deleted): the audit log has "
                              "its true decisions", r->id);
    }
    review_entries e = {.count = 0};
    snprintf(e.needle, sizeof(e.needle), "\"review\":\"%s\"", r->id);
    mien_status st = s->ops->audit_scan(s, r->search_seq + 1, 0, 0, count_decided, &e, err);
    if (st == MIEN_OK && e.count != (int64_t)n) {
        st = base_error_set(err, MIEN_ERR_STORE, "review %s: the audit log records %lld "
                            "decisions on it, the store holds %zu: rows were removed or "
                            "restored outside mien", r->id, (long long)e.count, n);
    }
    return st;
}

mien_status governance_review_read(store_db *s, const char *id, store_review *out,
                                   uint8_t chain[32], mien_error *err)
{
    uint8_t last[32];
    store_decision *d = NULL;
    size_t n = 0;
    mien_status st = s->ops->review_get(s, id, out, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (s->keys == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "review %s: no key file to check it with", id);
    }
    st = s->ops->decision_list(s, id, &d, &n, err);
    if (st == MIEN_OK) {
        st = review_check(s, out, d, n, last, err);
    }
    free(d);
    if (st == MIEN_OK && chain != NULL) {
        memcpy(chain, last, 32);
    }
    return st;
}

int governance_review_required(const store_collection *c, size_t n)
{
    if (c->review == MIEN_REVIEW_NONE || n == 0) {
        return 0;
    }
    return c->review == MIEN_REVIEW_TWO_PERSON ? 2 : 1;
}

void governance_review_new_id(char id[33])
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(id, 33, raw, sizeof(raw));
}

mien_status governance_review_open(store_db *s, const store_collection *c, const char *id,
                                   int64_t search_seq, json_t *candidates, size_t n,
                                   mien_error *err)
{
    char *text = json_dumps(candidates, GOVERNANCE_JSON_FLAGS);
    json_decref(candidates);
    if (text == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "review: serialising candidates");
    }
    store_review r;
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.collection_id = c->id;
    snprintf(r.collection, sizeof(r.collection), "%s", c->name);
    r.required = governance_review_required(c, n);
    snprintf(r.status, sizeof(r.status), "%s", "pending");
    r.created_at = store_db_now(s);
    r.search_seq = search_seq;
    r.candidates = (int64_t)n;
    r.candidates_json = text;
    mien_sha256(text, strlen(text), r.candidates_sha256);
    if (s->keys != NULL) {
        static const uint8_t no_decision[32] = {0};
        governance_review_mac(s->keys, &r, no_decision, r.mac);
    }
    mien_status st = s->ops->review_insert(s, &r, err);
    free(text);
    return st;
}
