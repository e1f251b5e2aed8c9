/* audit.h — the audit log: an append-only hash chain in the store, with its head signed and
 * kept outside the database (issue "Accountability by design", DESIGN.md §7).
 *
 * Every entry records who (actor), what (action, outcome, a result summary), where
 * (collection), why (purpose, case_ref), on what (SHA-256 of the input image bytes, never the
 * image), and links to the previous entry: hash = SHA-256 of a canonical serialisation of all
 * of its fields and the previous entry's hash (audit.c documents the exact bytes, so that
 * anyone can re-verify an export offline). Subjects appear in results only as keyed hashes
 * (keyring_subject_hash), so an erasure leaves no id behind.
 *
 * audit_append() runs inside the caller's store transaction, so an action and its record
 * commit together or not at all. After the commit the caller calls audit_checkpoint(), which
 * signs (Ed25519, the keyring's signing key) the head (seq, hash) and writes it to
 * store->audit_head_path atomically: deleting the newest rows from the database then shows
 * as a head newer than the chain. @test governance/test_audit.c */
#ifndef MIEN_GOVERNANCE_AUDIT_H
#define MIEN_GOVERNANCE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "mien.h"

/* One entry to append. NULL strings are stored as "". */
typedef struct audit_entry {
    const char *actor;
    const char *action;      /* "search", "enrol", "erase", "purge", "collection.create", ... */
    const char *collection;
    const char *purpose;
    const char *case_ref;
    const uint8_t *input_sha256; /* 32 bytes or NULL */
    const char *outcome;     /* "ok" or "refused"; NULL → "ok" */
    const char *result_json; /* a JSON object as compact text; NULL → "{}" */
} audit_entry;

/* Appends e at time `now` (unix seconds, 0 .. 9999-12-31) inside the caller's open
 * transaction (s->ops->begin ... commit). *seq and hash (each may be NULL) receive the new
 * entry's number and hash; 0 and zeros on failure. MIEN_ERR_ARG, before the store is touched,
 * when action is missing, a text does not fit its store_audit_row field (actor 63 bytes,
 * action 31, collection 63, purpose 63, case_ref 127; the message names the field and its
 * limit) or is not UTF-8, outcome is neither "ok" nor "refused", or result_json is not one
 * JSON object (no duplicate keys, at most 1 MiB). The result is stored as given (compacted
 * only when it spans lines). Store failures are passed on. */
mien_status audit_append(store_db *s, int64_t now, const audit_entry *e, int64_t *seq,
                         uint8_t hash[32], mien_error *err);

/* After a commit that appended: signs the chain's head (the last entry's seq and hash, and
 * the time) with s->keys and writes it to s->audit_head_path atomically, mode 0600, under an
 * flock on "<path>.lock". An empty log writes nothing. It never moves the head backwards or
 * onto a fork: when a valid head names an entry the log no longer has, or one whose hash
 * changed, the head is kept and MIEN_ERR_STORE says so (the evidence of removed or rewritten
 * entries survives until someone looks). A missing, malformed or foreign head is written only
 * by the handle that appended entry 1 (a new log) or when s->audit_head_reset is set (the
 * audited operator acts mien_audit_reset_head and mien_audit_join); otherwise MIEN_ERR_STORE,
 * whether or not "<path>.lock" exists (deleting the newest rows, the head and its lock must
 * not get the shortened chain signed).
 * MIEN_ERR_ARG without a keyring or head path; MIEN_ERR_IO when the file cannot be read or
 * written. */
mien_status audit_checkpoint(store_db *s, mien_error *err);

/* The entry's MAC: keyring_mac(keys, "audit-entry/v1", hash). The hash chain and the signed
 * head let anyone with the public key check the log offline; the MAC, which only the key
 * file's holder can make, shows that each entry was written by mien and not inserted into the
 * database by someone without the key (whose rows the next signed head would otherwise cover). */
void audit_row_mac(const keyring *keys, const store_audit_row *row, uint8_t out[32]);

/* The hash of a row as audit_append computes it (from every field but `hash`). */
void audit_row_hash(const store_audit_row *row, uint8_t out[32]);

/* mien_audit_verify over a backend store: MIEN_OK whenever the check ran (out says whether
 * the log is intact; its problem names the first fault); a store failure is passed on and
 * *out is zeroed. MIEN_ERR_ARG without a keyring.
 * mien_audit_export over a backend store: one line per entry with from <= time <= to (0: open
 * end), in the format audit.c documents; MIEN_OK also when fn stopped it. MIEN_ERR_ARG for a
 * NULL fn or a negative time. */
mien_status audit_verify(store_db *s, mien_audit_report *out, mien_error *err);
/* audit_verify against the head file at `path` instead of the store's own (a witness's copy:
 * mien_audit_verify_witness). */
mien_status audit_verify_at(store_db *s, const char *path, mien_audit_report *out,
                            mien_error *err);

/* Whether anything (a head, valid or not) is at s->audit_head_path: mien_audit_join is for a
 * node that has none. */
bool audit_head_present(const store_db *s);

/* The signed head at s->audit_head_path, checked against the keyring's key (mien_audit_head_read
 * says what each failure means). */
mien_status audit_head_read(store_db *s, mien_audit_head *out, mien_error *err);
mien_status audit_export(store_db *s, int64_t from, int64_t to, mien_line_fn fn,
                         void *ctx, mien_error *err);

#endif
