/* record.c — the public face of the audit log (mien.h "the audit log"): entries for actions
 * that happen outside the store (a service's 1:1 compare, a request refused before it reached
 * a collection), verification and export. The chain itself is audit.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "store/handle.h"
#include "store/store.h"
#include "governance/audit.h"
#include "governance/governance.h"

mien_status mien_audit_append(mien_store *store, const mien_audit_event *ev,
                              const mien_context *ctx, int64_t *seq, mien_error *err)
{
    store_db *s = store_db_of(store);
    json_t *result = NULL;
    if (seq != NULL) {
        *seq = 0;
    }
    if (s == NULL || ev == NULL || ev->action == NULL || ev->action[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_append: NULL store or no action");
    }
    if (ev->outcome != NULL && strcmp(ev->outcome, "ok") != 0 &&
        strcmp(ev->outcome, "refused") != 0) {
        return base_error_set(err, MIEN_ERR_ARG, "outcome is \"ok\" or \"refused\"");
    }
    if (ev->result != NULL) {
        json_error_t jerr;
        result = json_loads(ev->result, JSON_REJECT_DUPLICATES, &jerr);
        if (result == NULL || !json_is_object(result)) {
            json_decref(result);
            return base_error_set(err, MIEN_ERR_ARG, "an audit result is a JSON object");
        }
    }
    if (result == NULL) {
        result = json_object();
    }
    return governance_record(s, ctx, ev->action, ev->collection,
                             ctx != NULL ? ctx->input_sha256 : NULL,
                             ev->outcome != NULL ? ev->outcome : "ok", result, seq, err);
}

mien_status mien_audit_verify(mien_store *store, mien_audit_report *out, mien_error *err)
{
    store_db *s = store_db_of(store);
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_verify: NULL argument");
    }
    return audit_verify(s, out, err);
}

mien_status mien_audit_export(mien_store *store, int64_t from, int64_t to, mien_line_fn fn,
                              void *ctx, mien_error *err)
{
    store_db *s = store_db_of(store);
    if (s == NULL || fn == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_export: NULL argument");
    }
    if (from < 0 || to < 0 || (to != 0 && from > to)) {
        return base_error_set(err, MIEN_ERR_ARG, "the export window is from <= to, in unix "
                              "seconds (0: open)");
    }
    return audit_export(s, from, to, fn, ctx, err);
}

/* The check before an operator's act that signs a head (reset-head, join): *r the report,
 * copied to *before (may be NULL). Only the head may be wrong: a chain with a bad entry is
 * evidence, never signed (MIEN_ERR_FORBIDDEN; `act` says what would have signed it). */
static mien_status verify_before_signing(store_db *s, const char *act, mien_audit_report *r,
                                         mien_audit_report *before, mien_error *err)
{
    mien_status st = audit_verify(s, r, err);
    if (before != NULL) {
        *before = *r;
    }
    if (st == MIEN_OK && r->first_bad != 0) {
        st = base_error_set(err, MIEN_ERR_FORBIDDEN, "the log itself is damaged (%s): %s would "
                            "cover that up; keep the files for investigation", r->problem, act);
    }
    return st;
}

/* Records the act (governance_record) with leave to replace a missing or unusable head at its
 * one checkpoint (audit_checkpoint). */
static mien_status record_signing(store_db *s, const mien_context *ctx, const char *action,
                                  json_t *result, mien_error *err)
{
    s->audit_head_reset = 1;
    mien_status st = governance_record(s, ctx, action, NULL, NULL, "ok", result, NULL, err);
    s->audit_head_reset = 0;
    return st;
}

mien_status mien_audit_reset_head(mien_store *store, const mien_context *ctx,
                                  mien_audit_report *before, mien_error *err)
{
    store_db *s = store_db_of(store);
    mien_audit_report r;
    if (before != NULL) {
        memset(before, 0, sizeof(*before));
    }
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_reset_head: NULL store");
    }
    mien_status st = verify_before_signing(s, "a new head", &r, before, err);
    if (st != MIEN_OK || r.ok) {
        return st; /* r.ok: nothing to reset */
    }
    return record_signing(s, ctx, "audit.reset-head",
                          json_pack("{s:s,s:I,s:I}", "previous_head", r.problem, "head_seq",
                                    (json_int_t)r.head_seq, "entries", (json_int_t)r.entries),
                          err);
}

mien_status mien_audit_join(mien_store *store, const mien_context *ctx,
                            mien_audit_report *before, mien_error *err)
{
    store_db *s = store_db_of(store);
    mien_audit_report r;
    if (before != NULL) {
        memset(before, 0, sizeof(*before));
    }
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_join: NULL store");
    }
    mien_status st = verify_before_signing(s, "joining", &r, before, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (audit_head_present(s)) {
        if (r.ok) {
            return base_error_set(err, MIEN_ERR_EXISTS, "this node signs the log already: its "
                                  "head %s names entry %lld", s->audit_head_path,
                                  (long long)r.head_seq);
        }
        /* a node that lost its head is not a new node: that is reset-head, after a look */
        return base_error_set(err, MIEN_ERR_FORBIDDEN, "a head is at %s but it is unusable "
                              "(%s): that is evidence, not a new node; investigate, then `mien "
                              "audit reset-head`", s->audit_head_path, r.problem);
    }
    return record_signing(s, ctx, "audit.join",
                          json_pack("{s:s,s:s,s:I}", "head", s->audit_head_path, "public_key",
                                    r.public_key, "entries", (json_int_t)r.entries),
                          err);
}

mien_status mien_audit_head_read(mien_store *store, mien_audit_head *out, mien_error *err)
{
    store_db *s = store_db_of(store);
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_head_read: NULL argument");
    }
    return audit_head_read(s, out, err);
}

mien_status mien_audit_verify_witness(mien_store *store, const char *head_file,
                                      mien_audit_report *out, mien_error *err)
{
    store_db *s = store_db_of(store);
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || out == NULL || head_file == NULL || head_file[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "mien_audit_verify_witness: NULL argument");
    }
    /* a witness file that is not there is a wrong path, not a finding about the log */
    if (access(head_file, R_OK) != 0) {
        return base_error_set(err, errno == ENOENT ? MIEN_ERR_NOT_FOUND : MIEN_ERR_IO,
                              "no witness head readable at %s: %s", head_file, strerror(errno));
    }
    return audit_verify_at(s, head_file, out, err);
}
