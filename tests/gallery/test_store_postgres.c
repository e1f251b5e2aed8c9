/* test_store_postgres.c — the store operations of schema 3 (policy, consent and expiry, the
 * audit chain, reviews, re-sealing, API keys) run the same on both backends, and what only the
 * PostgreSQL store has to get right: several processes appending to one audit chain and
 * enrolling the same subjects at once, a connection that dies under it, schemas that are not
 * ours, and templates sealed in the server's tables.
 *
 * The store_backend_* tests run against whatever store_target.h picks ($MIEN_TEST_STORE): SQLite
 * in the default run, PostgreSQL in CTest's store_postgres run. The store_pg_* tests need
 * PostgreSQL and skip without it. Templates are synthetic bytes (no models needed). */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/seal.h"
#include "store/store.h"
#include "store/store_postgres.h"
#include "store_target.h"
#include "test.h"

#define TEMPLATE_LEN (44 + 192 * 4) /* the size of a `fast` template's bytes */
#define CHIP_LEN (112 * 112 * 3)

/* ---- helpers ----------------------------------------------------------------------------- */

/* A template whose first 4 bytes carry k, the rest a fixed function of k. */
static void make_template(uint8_t *buf, uint32_t k)
{
    uint32_t s = k * 2654435761u + 1u;
    for (size_t i = 0; i < TEMPLATE_LEN; i++) {
        s = s * 1103515245u + 12345u;
        buf[i] = (uint8_t)(s >> 16);
    }
    memcpy(buf, &k, sizeof(k));
}

static mien_status make_collection(store_db *s, const char *name, int64_t *id,
                                   mien_error *err)
{
    store_collection c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.profile = MIEN_PROFILE_FAST;
    snprintf(c.model_a, sizeof(c.model_a), "mfn-test-1");
    snprintf(c.purposes, sizeof(c.purposes), "access_control,lost_child");
    snprintf(c.legal_basis, sizeof(c.legal_basis), "consent, GDPR Art. 9(2)(a)");
    c.consent = MIEN_CONSENT_REQUIRED;
    c.retention_s = 86400;
    c.review = MIEN_REVIEW_TWO_PERSON;
    c.verification_only = 1;
    mien_status st = s->ops->collection_create(s, &c, err);
    *id = c.id;
    return st;
}

/* begin, subject, face, commit (rollback on failure), as mien_enroll does. */
static mien_status enrol(store_db *s, int64_t coll, const char *subject, uint32_t k,
                         const uint8_t *crop, int64_t *face_id, mien_error *err)
{
    uint8_t tpl[TEMPLATE_LEN], digest[32];
    int64_t sid;
    make_template(tpl, k);
    mien_sha256(tpl, sizeof(tpl), digest);
    store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl),
                          .image_sha256 = digest, .crop_rgb = crop,
                          .crop_len = crop != NULL ? CHIP_LEN : 0};
    mien_status st = s->ops->begin(s, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = s->ops->subject_ensure(s, coll, subject, NULL, "consent-test", 0, &sid, err);
    if (st == MIEN_OK) {
        st = seal_face_insert(s, coll, sid, subject, &f, face_id, err);
    }
    if (st == MIEN_OK) {
        st = s->ops->commit(s, err);
    }
    if (st != MIEN_OK) {
        s->ops->rollback(s);
    }
    return st;
}

typedef struct face_log {
    size_t n, bad;
    uint32_t ks[512];
} face_log;

static mien_status log_face(void *ctx, const store_face_row *row)
{
    face_log *log = ctx;
    uint8_t want[TEMPLATE_LEN];
    uint32_t k;
    if (row->template_len != TEMPLATE_LEN || log->n >= 512) {
        log->bad++;
        return MIEN_OK;
    }
    memcpy(&k, row->template_bytes, sizeof(k));
    make_template(want, k);
    log->bad += memcmp(want, row->template_bytes, TEMPLATE_LEN) != 0;
    log->ks[log->n++] = k;
    return MIEN_OK;
}

static mien_status subject_of(store_db *s, int64_t coll, const char *id,
                              store_subject *out, mien_error *err)
{
    store_subject *list = NULL;
    size_t n = 0;
    mien_status st = s->ops->subject_list(s, coll, &list, &n, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = MIEN_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].external_id, id) == 0) {
            *out = list[i];
            st = MIEN_OK;
        }
    }
    free(list);
    return st;
}

/* One audit row chained to (prev_seq, prev_hash): hash = SHA-256(prev_hash || seq || actor). The
 * real chain (governance/audit.c) hashes more; the store only keeps rows. */
static void make_audit_row(store_audit_row *r, int64_t seq, const uint8_t prev[32],
                           const char *actor, int64_t time_s)
{
    uint8_t buf[32 + 8 + 64];
    memset(r, 0, sizeof(*r));
    r->seq = seq;
    r->time = time_s;
    snprintf(r->actor, sizeof(r->actor), "%s", actor);
    snprintf(r->action, sizeof(r->action), "search");
    snprintf(r->collection, sizeof(r->collection), "people");
    snprintf(r->purpose, sizeof(r->purpose), "lost_child");
    snprintf(r->case_ref, sizeof(r->case_ref), "case-%lld", (long long)seq);
    snprintf(r->outcome, sizeof(r->outcome), "ok");
    r->result = "{\"candidates\":3,\"note\":\"\\u00e9t\\u00e9 \xc3\xa9t\xc3\xa9\"}";
    memcpy(r->prev_hash, prev, 32);
    memset(buf, 0, sizeof(buf));
    memcpy(buf, prev, 32);
    memcpy(buf + 32, &seq, 8);
    memcpy(buf + 40, r->actor, strlen(r->actor));
    mien_sha256(buf, sizeof(buf), r->hash);
}

typedef struct audit_log {
    size_t n;
    int64_t seqs[1024];
    char actors[1024][16];
    int broken;          /* rows whose prev_hash is not the previous row's hash */
    uint8_t last[32];
    int bad_result;
} audit_log;

static mien_status log_audit(void *ctx, const store_audit_row *r)
{
    audit_log *log = ctx;
    if (log->n >= 1024) {
        return MIEN_ERR_INTERNAL;
    }
    if (log->n > 0 && memcmp(r->prev_hash, log->last, 32) != 0) {
        log->broken++;
    }
    memcpy(log->last, r->hash, 32);
    log->seqs[log->n] = r->seq;
    size_t len = strnlen(r->actor, sizeof(log->actors[0]) - 1);
    memcpy(log->actors[log->n], r->actor, len);
    log->actors[log->n][len] = '\0';
    log->bad_result += strstr(r->result, "\xc3\xa9t\xc3\xa9") == NULL;
    log->n++;
    return MIEN_OK;
}

static mien_status audit_append(store_db *s, const char *actor, int64_t time_s,
                                int64_t *seq_out, mien_error *err)
{
    store_audit_row r;
    int64_t seq;
    uint8_t prev[32];
    mien_status st = s->ops->begin(s, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = s->ops->audit_last(s, &seq, prev, err);
    if (st == MIEN_OK) {
        make_audit_row(&r, seq + 1, prev, actor, time_s);
        st = s->ops->audit_insert(s, &r, err);
    }
    if (st == MIEN_OK) {
        st = s->ops->commit(s, err);
    }
    if (st != MIEN_OK) {
        s->ops->rollback(s);
    } else if (seq_out != NULL) {
        *seq_out = seq + 1;
    }
    return st;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- both backends ---------------------------------------------------------------------- */

/* Policy columns, consent and expiry, subject_expired, the audit chain's storage, reviews and
 * decisions, re-sealing after a key rotation, API keys. */
TEST(store_backend_ops)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t coll, ann, ann2, bob, fid, n64, seq;
    store_collection c;
    store_subject g;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    s->clock = 1700000000;
    /* every operation of store.h is there */
    {
        typedef void (*any_fn)(void);
        any_fn fns[sizeof(store_db_ops) / sizeof(any_fn)];
        _Static_assert(sizeof(store_db_ops) % sizeof(any_fn) == 0, "only pointers");
        memcpy(fns, s->ops, sizeof(fns));
        for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
            if (fns[i] == NULL) {
                TEST_FAIL_("operation %zu of store_db_ops is missing", i);
            }
        }
    }

    /* the policy round trip */
    ASSERT_OK(make_collection(s, "people", &coll, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
    ASSERT_EQ_INT(c.created_at, 1700000000);
    ASSERT_STR_EQ(c.purposes, "access_control,lost_child");
    ASSERT_STR_EQ(c.legal_basis, "consent, GDPR Art. 9(2)(a)");
    ASSERT_EQ_INT(c.retention_s, 86400);
    ASSERT_EQ_INT(c.review, MIEN_REVIEW_TWO_PERSON);
    ASSERT_EQ_INT(c.verification_only, 1);

    /* consent_ref and expires_at: set when new, replaced only where given */
    ASSERT_OK(s->ops->subject_ensure(s, coll, "ann", "Ann", "consent-1", 1000, &ann, &err), &err);
    ASSERT_OK(s->ops->subject_ensure(s, coll, "ann", "ignored", NULL, 0, &ann2, &err), &err);
    ASSERT_EQ_INT(ann2, ann);
    ASSERT_OK(subject_of(s, coll, "ann", &g, &err), &err);
    ASSERT_STR_EQ(g.display_name, "Ann");
    ASSERT_STR_EQ(g.consent_ref, "consent-1");
    ASSERT_EQ_INT(g.expires_at, 1000);
    ASSERT_EQ_INT(g.created_at, 1700000000);
    ASSERT_OK(s->ops->subject_ensure(s, coll, "ann", NULL, "consent-2", 0, &ann2, &err), &err);
    ASSERT_OK(subject_of(s, coll, "ann", &g, &err), &err);
    ASSERT_STR_EQ(g.consent_ref, "consent-2");
    ASSERT_EQ_INT(g.expires_at, 1000);
    ASSERT_OK(s->ops->subject_ensure(s, coll, "ann", NULL, NULL, 2000, &ann2, &err), &err);
    ASSERT_EQ_INT(ann2, ann);
    ASSERT_OK(subject_of(s, coll, "ann", &g, &err), &err);
    ASSERT_STR_EQ(g.consent_ref, "consent-2");
    ASSERT_EQ_INT(g.expires_at, 2000);
    ASSERT_OK(s->ops->subject_ensure(s, coll, "bob", NULL, NULL, 0, &bob, &err), &err);
    ASSERT_OK(subject_of(s, coll, "bob", &g, &err), &err);
    ASSERT_STR_EQ(g.consent_ref, "");
    ASSERT_EQ_INT(g.expires_at, 0);
    ASSERT_STATUS(s->ops->subject_ensure(s, 999999, "x", NULL, NULL, 0, &bob, &err),
                  MIEN_ERR_NOT_FOUND, &err);

    store_expired *ex = NULL;
    size_t n = 0;
    ASSERT_OK(s->ops->subject_expired(s, 1999, &ex, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    free(ex);
    ASSERT_OK(s->ops->subject_expired(s, 2000, &ex, &n, &err), &err);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STR_EQ(ex[0].collection, "people");
    ASSERT_EQ_INT(ex[0].collection_id, coll);
    ASSERT_STR_EQ(ex[0].external_id, "ann");
    free(ex);

    /* the audit chain's rows: ascending scans, time windows, a taken seq or a gap refused */
    uint8_t zero[32] = {0}, h[32];
    ASSERT_OK(s->ops->audit_last(s, &seq, h, &err), &err);
    ASSERT_EQ_INT(seq, 0);
    ASSERT_TRUE(memcmp(h, zero, 32) == 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(audit_append(s, "cli:test", 100 * (i + 1), &seq, &err), &err);
        ASSERT_EQ_INT(seq, i + 1);
    }
    {
        store_audit_row r;
        make_audit_row(&r, 2, zero, "again", 1);
        ASSERT_STATUS(s->ops->audit_insert(s, &r, &err), MIEN_ERR_EXISTS, &err);
        /* a gap is refused as well: the chain stays 1..N on both backends (store.h) */
        make_audit_row(&r, 5, zero, "gap", 1);
        ASSERT_STATUS(s->ops->audit_insert(s, &r, &err), MIEN_ERR_EXISTS, &err);
    }
    static audit_log log;
    memset(&log, 0, sizeof(log));
    ASSERT_OK(s->ops->audit_scan(s, 1, 0, 0, log_audit, &log, &err), &err);
    ASSERT_EQ_INT(log.n, 3);
    ASSERT_EQ_INT(log.broken, 0);
    ASSERT_EQ_INT(log.bad_result, 0);
    ASSERT_EQ_INT(log.seqs[2], 3);
    ASSERT_OK(s->ops->audit_last(s, &seq, h, &err), &err);
    ASSERT_EQ_INT(seq, 3);
    ASSERT_TRUE(memcmp(h, log.last, 32) == 0);
    memset(&log, 0, sizeof(log));
    ASSERT_OK(s->ops->audit_scan(s, 2, 0, 0, log_audit, &log, &err), &err);
    ASSERT_EQ_INT(log.n, 2);
    memset(&log, 0, sizeof(log));
    ASSERT_OK(s->ops->audit_scan(s, 1, 150, 250, log_audit, &log, &err), &err);
    ASSERT_EQ_INT(log.n, 1);
    ASSERT_EQ_INT(log.seqs[0], 2);

    /* reviews and decisions */
    store_review rv, got;
    memset(&rv, 0, sizeof(rv));
    snprintf(rv.id, sizeof(rv.id), "0123456789abcdef0123456789abcdef");
    rv.collection_id = coll;
    snprintf(rv.collection, sizeof(rv.collection), "people");
    rv.required = 2;
    snprintf(rv.status, sizeof(rv.status), "pending");
    rv.created_at = 1700000001;
    rv.search_seq = 3;
    rv.candidates = 4;
    rv.candidates_json = "[{\"rank\":1}]";
    ASSERT_OK(s->ops->review_insert(s, &rv, &err), &err);
    ASSERT_STATUS(s->ops->review_insert(s, &rv, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_OK(s->ops->review_get(s, rv.id, &got, &err), &err);
    ASSERT_STR_EQ(got.collection, "people");
    ASSERT_EQ_INT(got.collection_id, coll);
    ASSERT_EQ_INT(got.required, 2);
    ASSERT_EQ_INT(got.confirmations, 0);
    ASSERT_STR_EQ(got.status, "pending");
    ASSERT_EQ_INT(got.search_seq, 3);
    ASSERT_EQ_INT(got.candidates, 4);
    ASSERT_TRUE(got.candidates_json == NULL);
    ASSERT_STATUS(s->ops->review_get(s, "ffffffffffffffffffffffffffffffff", &got, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    rv.confirmations = 1;
    rv.confirmed_rank = 2;
    snprintf(rv.status, sizeof(rv.status), "confirmed");
    ASSERT_OK(s->ops->review_update(s, &rv, &err), &err);
    ASSERT_OK(s->ops->review_get(s, rv.id, &got, &err), &err);
    ASSERT_EQ_INT(got.confirmations, 1);
    ASSERT_EQ_INT(got.confirmed_rank, 2);
    ASSERT_STR_EQ(got.status, "confirmed");
    {
        store_review other = rv;
        snprintf(other.id, sizeof(other.id), "ffffffffffffffffffffffffffffffff");
        ASSERT_STATUS(s->ops->review_update(s, &other, &err), MIEN_ERR_NOT_FOUND, &err);
    }
    store_decision d;
    memset(&d, 0, sizeof(d));
    snprintf(d.review_id, sizeof(d.review_id), "%s", rv.id);
    snprintf(d.reviewer, sizeof(d.reviewer), "zoe");
    d.decision = MIEN_DECISION_CONFIRM;
    d.rank = 2;
    snprintf(d.note, sizeof(d.note), "looks right");
    d.time = 50;
    ASSERT_OK(s->ops->decision_insert(s, &d, &err), &err);
    ASSERT_STATUS(s->ops->decision_insert(s, &d, &err), MIEN_ERR_EXISTS, &err);
    snprintf(d.reviewer, sizeof(d.reviewer), "adam");
    d.decision = MIEN_DECISION_REJECT;
    d.rank = 0;
    d.time = 60;
    ASSERT_OK(s->ops->decision_insert(s, &d, &err), &err);
    snprintf(d.review_id, sizeof(d.review_id), "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    ASSERT_STATUS(s->ops->decision_insert(s, &d, &err), MIEN_ERR_STORE, &err);
    store_decision *ds = NULL;
    ASSERT_OK(s->ops->decision_list(s, rv.id, &ds, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    ASSERT_STR_EQ(ds[0].reviewer, "zoe");
    ASSERT_STR_EQ(ds[0].note, "looks right");
    ASSERT_EQ_INT(ds[0].rank, 2);
    ASSERT_STR_EQ(ds[1].reviewer, "adam");
    ASSERT_EQ_INT(ds[1].decision, MIEN_DECISION_REJECT);
    free(ds);

    /* re-sealing: 3 templates and 1 crop, before and after a new data key */
    static uint8_t crop[CHIP_LEN];
    memset(crop, 0x5a, sizeof(crop));
    for (uint32_t k = 0; k < 3; k++) {
        ASSERT_OK(enrol(s, coll, k == 0 ? "ann" : "carl", k, k == 0 ? crop : NULL, &fid, &err),
                  &err);
    }
    ASSERT_OK(seal_rewrite_all(s, false, &n64, &err), &err);
    ASSERT_EQ_INT(n64, 4);
    ASSERT_OK(keyring_add_data_key(ts.keys, NULL, &err), &err);
    ASSERT_OK(s->ops->begin(s, &err), &err);
    ASSERT_OK(seal_rewrite_all(s, false, &n64, &err), &err);
    ASSERT_OK(s->ops->commit(s, &err), &err);
    ASSERT_EQ_INT(n64, 4);
    ASSERT_OK(keyring_retire_data_keys(ts.keys, &err), &err);
    static face_log fl;
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(seal_face_scan(s, coll, log_face, &fl, &err), &err);
    ASSERT_EQ_INT(fl.n, 3);
    ASSERT_EQ_INT(fl.bad, 0);
    /* one subject's faces; one face by id (what following another node's enrolment reads) */
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(seal_face_scan_subject(s, coll, "carl", log_face, &fl, &err), &err);
    ASSERT_EQ_INT(fl.n, 2);
    ASSERT_EQ_INT(fl.bad, 0);
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(seal_face_scan_subject(s, coll, "nobody", log_face, &fl, &err), &err);
    ASSERT_EQ_INT(fl.n, 0);
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(seal_face_get(s, fid, &n64, log_face, &fl, &err), &err);
    ASSERT_EQ_INT(n64, coll);
    ASSERT_EQ_INT(fl.n, 1);
    ASSERT_EQ_INT(fl.ks[0], 2);
    ASSERT_EQ_INT(fl.bad, 0);
    ASSERT_STATUS(seal_face_get(s, fid + 1000, &n64, log_face, &fl, &err), MIEN_ERR_NOT_FOUND,
                  &err);
    ASSERT_EQ_INT(n64, 0);
    if (test_store_is_pg()) {
        long long v = 0;
        ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM faces WHERE"
                                        " substring(template from 5 for 4) = '\\x02000000'",
                                 &v) == 0);
        ASSERT_EQ_INT(v, 3);
        ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM crops WHERE"
                                        " substring(rgb from 5 for 4) = '\\x02000000'",
                                 &v) == 0);
        ASSERT_EQ_INT(v, 1);
    }

    /* API keys */
    store_key k, kg;
    memset(&k, 0, sizeof(k));
    snprintf(k.id, sizeof(k.id), "0123456789ab");
    memset(k.secret_hash, 0xab, sizeof(k.secret_hash));
    k.role = MIEN_ROLE_REVIEW;
    snprintf(k.label, sizeof(k.label), "reviewer laptop");
    ASSERT_OK(s->ops->key_insert(s, &k, &err), &err);
    ASSERT_EQ_INT(k.created_at, 1700000000);
    ASSERT_STATUS(s->ops->key_insert(s, &k, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_OK(s->ops->key_get(s, k.id, &kg, &err), &err);
    ASSERT_EQ_INT(kg.role, MIEN_ROLE_REVIEW);
    ASSERT_STR_EQ(kg.label, "reviewer laptop");
    ASSERT_TRUE(memcmp(kg.secret_hash, k.secret_hash, 32) == 0);
    ASSERT_OK(s->ops->key_count_valid(s, &n64, &err), &err);
    ASSERT_EQ_INT(n64, 1);
    s->clock = 1700000100;
    ASSERT_OK(s->ops->key_revoke(s, k.id, &err), &err);
    s->clock = 1700000200;
    ASSERT_OK(s->ops->key_revoke(s, k.id, &err), &err);
    ASSERT_STATUS(s->ops->key_revoke(s, "nope00000000", &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(s->ops->key_get(s, k.id, &kg, &err), &err);
    ASSERT_EQ_INT(kg.revoked_at, 1700000100);
    ASSERT_OK(s->ops->key_count_valid(s, &n64, &err), &err);
    ASSERT_EQ_INT(n64, 0);
    store_key *keys = NULL;
    ASSERT_OK(s->ops->key_list(s, &keys, &n, &err), &err);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STR_EQ(keys[0].label, "reviewer laptop");
    free(keys);

    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}

/* Refusals the callers expect (a taken name, an unknown id, a repeated decision) leave the
 * caller's transaction usable: in PostgreSQL an SQL error would abort it, so the store must
 * find these without one. */
TEST(store_backend_tx_survives_refusals)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t a, b, sid, fid, faces, crops;
    store_collection c;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(make_collection(s, "a", &a, &err), &err);
    ASSERT_OK(s->ops->subject_ensure(s, a, "ann", NULL, NULL, 0, &sid, &err), &err);
    store_key k;
    memset(&k, 0, sizeof(k));
    snprintf(k.id, sizeof(k.id), "aaaaaaaaaaaa");
    ASSERT_OK(s->ops->key_insert(s, &k, &err), &err);

    ASSERT_OK(s->ops->begin(s, &err), &err);
    ASSERT_STATUS(make_collection(s, "a", &b, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_STATUS(s->ops->key_insert(s, &k, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_STATUS(s->ops->subject_erase(s, a, "nobody", &faces, &crops, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(s->ops->collection_drop(s, 424242, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(s->ops->subject_ensure(s, 424242, "x", NULL, NULL, 0, &fid, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    {
        uint8_t tpl[TEMPLATE_LEN];
        make_template(tpl, 7);
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl)};
        ASSERT_STATUS(seal_face_insert(s, a, sid + 1000, "ann", &f, &fid, &err), MIEN_ERR_NOT_FOUND,
                      &err);
        ASSERT_OK(seal_face_insert(s, a, sid, "ann", &f, &fid, &err), &err);
    }
    store_review rv;
    ASSERT_STATUS(s->ops->review_get(s, "00000000000000000000000000000000", &rv, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(s->ops->key_revoke(s, "bbbbbbbbbbbb", &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(make_collection(s, "b", &b, &err), &err);
    ASSERT_OK(s->ops->commit(s, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "b", &c, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "a", &c, &err), &err);
    ASSERT_EQ_INT(c.faces, 1);

    /* A rolled-back transaction leaves nothing, its erasure included. */
    ASSERT_OK(s->ops->begin(s, &err), &err);
    ASSERT_OK(s->ops->subject_erase(s, a, "ann", &faces, &crops, &err), &err);
    ASSERT_EQ_INT(faces, 1);
    ASSERT_OK(s->ops->collection_drop(s, b, &err), &err);
    s->ops->rollback(s);
    ASSERT_OK(s->ops->collection_get(s, "a", &c, &err), &err);
    ASSERT_EQ_INT(c.faces, 1);
    ASSERT_OK(s->ops->collection_get(s, "b", &c, &err), &err);
    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}

/* ---- PostgreSQL only --------------------------------------------------------------------- */

#define NEED_PG()                                                                          \
    do {                                                                                   \
        if (!test_store_is_pg()) {                                                         \
            printf("  skip: needs PostgreSQL ($MIEN_TEST_STORE=postgres://...; CTest's "      \
                   "store_postgres runs it)\n");                                           \
            return TEST_SKIP;                                                              \
        }                                                                                  \
    } while (0)

/* Schemas that are not ours are refused untouched; a newer schema is refused; two stores in
 * two schemas of one database (search_path) are independent; messages carry no password. */
TEST(store_pg_identity)
{
    test_store ts;
    store_db *s = (store_db *)&s, *s2 = NULL;
    mien_error err;
    char uri[700], other[700];
    int64_t id, version;
    long long v;
    store_collection c;
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);

    /* someone else's table in the public schema */
    ASSERT_TRUE(test_pg_exec(ts.db, "CREATE TABLE t(x int); INSERT INTO t VALUES (42)", NULL)
                == 0);
    ASSERT_STATUS(store_db_open(ts.uri, ts.keys, &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_TRUE(s == NULL);
    ASSERT_CONTAINS(err.message, "not a mien store");
    ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                             &v) == 0);
    ASSERT_EQ_INT(v, 1);

    /* the same database, our own schema via search_path */
    ASSERT_TRUE(test_pg_exec(ts.db, "CREATE SCHEMA galleries; CREATE SCHEMA second", NULL) == 0);
    snprintf(uri, sizeof(uri), "%s?options=-csearch_path%%3Dgalleries", ts.uri);
    ASSERT_OK(store_db_open(uri, ts.keys, &s, &err), &err);
    ASSERT_OK(store_postgres_schema_version(s, &version, &err), &err);
    ASSERT_EQ_INT(version, STORE_POSTGRES_SCHEMA_VERSION);
    ASSERT_OK(make_collection(s, "people", &id, &err), &err);
    snprintf(other, sizeof(other), "%s?options=-csearch_path%%3Dsecond", ts.uri);
    ASSERT_OK(store_db_open(other, ts.keys, &s2, &err), &err);
    ASSERT_STATUS(s2->ops->collection_get(s2, "people", &c, &err), MIEN_ERR_NOT_FOUND, &err);
    s2->ops->close(s2);
    s->ops->close(s);
    /* reopening migrates nothing and keeps the data */
    ASSERT_OK(store_db_open(uri, ts.keys, &s, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
    ASSERT_EQ_INT(c.id, id);
    s->ops->close(s);
    ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM galleries.mien_schema", &v) == 0);
    ASSERT_EQ_INT(v, 1);

    /* a newer mien wrote it */
    ASSERT_TRUE(test_pg_exec(ts.db, "UPDATE galleries.mien_schema SET version = 99", NULL) == 0);
    ASSERT_STATUS(store_db_open(uri, ts.keys, &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "newer");
    /* another application's mien_schema */
    ASSERT_TRUE(test_pg_exec(ts.db, "UPDATE galleries.mien_schema SET application = 'other',"
                                    " version = 1", NULL) == 0);
    ASSERT_STATUS(store_db_open(uri, ts.keys, &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "not a mien store");
    /* no schema of the search_path exists */
    snprintf(uri, sizeof(uri), "%s?options=-csearch_path%%3Dmissing", ts.uri);
    ASSERT_STATUS(store_db_open(uri, ts.keys, &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "no schema");

    /* unreachable server, password in the URI: IO, and the password is not echoed */
    ASSERT_STATUS(store_db_open("postgresql://mien:hunter2secret@127.0.0.1:1/x"
                                     "?connect_timeout=2",
                                     ts.keys, &s, &err),
                  MIEN_ERR_IO, &err);
    ASSERT_TRUE(strstr(err.message, "hunter2secret") == NULL);
    /* the audit log refuses changes to the server's other clients too */
    ASSERT_TRUE(test_pg_exec(ts.db, "SET search_path = galleries;"
                                    " INSERT INTO audit VALUES (1, 1, 'a', 'b', '', '', '', '',"
                                    " 'ok', '{}', '\\x00', '\\x00', '\\x00')", NULL) == 0);
    printf("  (an error line about the append-only audit log is expected next)\n");
    ASSERT_TRUE(test_pg_exec(ts.db, "DELETE FROM galleries.audit", NULL) != 0);
    ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM galleries.audit", &v) == 0);
    ASSERT_EQ_INT(v, 1);
    test_store_remove(&ts);
    return 0;
}

#define WRITERS 4
#define APPENDS 50

/* Several processes (as several nodes) append to the audit chain at once, each append in its
 * own transaction (audit_last, then audit_insert): the result is one chain, 1..N without gaps,
 * each entry linked to the one before, every writer's entries all there. */
TEST(store_pg_audit_writers)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    pid_t pids[WRITERS];
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    s->ops->close(s);
    double t0 = now_s();
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        ASSERT_TRUE(pids[w] >= 0);
        if (pids[w] == 0) {
            char actor[16];
            store_db *cs;
            snprintf(actor, sizeof(actor), "w%d", w);
            if (store_db_open(ts.uri, ts.keys, &cs, &err) != MIEN_OK) {
                _exit(2);
            }
            for (int i = 0; i < APPENDS; i++) {
                if (audit_append(cs, actor, 1000 + i, NULL, &err) != MIEN_OK) {
                    fprintf(stderr, "  writer %d: %s\n", w, err.message);
                    _exit(3);
                }
            }
            cs->ops->close(cs);
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        ASSERT_TRUE(waitpid(pids[w], &status, 0) == pids[w]);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    double dt = now_s() - t0;
    printf("  %d writers x %d appends: %.0f appends/s\n", WRITERS, APPENDS,
           WRITERS * APPENDS / dt);
    static audit_log log;
    int per[WRITERS] = {0};
    memset(&log, 0, sizeof(log));
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(s->ops->audit_scan(s, 1, 0, 0, log_audit, &log, &err), &err);
    s->ops->close(s);
    ASSERT_EQ_INT(log.n, WRITERS * APPENDS);
    ASSERT_EQ_INT(log.broken, 0);
    for (size_t i = 0; i < log.n; i++) {
        ASSERT_EQ_INT(log.seqs[i], (int64_t)i + 1);
        int w = log.actors[i][1] - '0';
        ASSERT_TRUE(w >= 0 && w < WRITERS);
        per[w]++;
    }
    for (int w = 0; w < WRITERS; w++) {
        ASSERT_EQ_INT(per[w], APPENDS);
    }
    test_store_remove(&ts);
    return 0;
}

#define ENROLLERS 3
#define ENROL_SUBJECTS 20
#define ENROL_FACES 4

/* Several processes enrol faces of the same subjects at once: one subject row each, every
 * face there. */
TEST(store_pg_concurrent_enrol)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t coll;
    pid_t pids[ENROLLERS];
    store_collection c;
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(make_collection(s, "people", &coll, &err), &err);
    s->ops->close(s);
    fflush(stdout);
    fflush(stderr);
    double t0 = now_s();
    for (int w = 0; w < ENROLLERS; w++) {
        pids[w] = fork();
        ASSERT_TRUE(pids[w] >= 0);
        if (pids[w] == 0) {
            store_db *cs;
            char subject[32];
            int64_t fid;
            if (store_db_open(ts.uri, ts.keys, &cs, &err) != MIEN_OK) {
                _exit(2);
            }
            for (int f = 0; f < ENROL_FACES; f++) {
                for (int i = 0; i < ENROL_SUBJECTS; i++) {
                    uint32_t k = (uint32_t)(w * 10000 + i * 100 + f);
                    snprintf(subject, sizeof(subject), "subject-%02d", i);
                    if (enrol(cs, coll, subject, k, NULL, &fid, &err) != MIEN_OK) {
                        fprintf(stderr, "  enroller %d: %s\n", w, err.message);
                        _exit(3);
                    }
                }
            }
            cs->ops->close(cs);
            _exit(0);
        }
    }
    for (int w = 0; w < ENROLLERS; w++) {
        int status;
        ASSERT_TRUE(waitpid(pids[w], &status, 0) == pids[w]);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    double dt = now_s() - t0;
    printf("  %d processes x %d enrolments: %.0f enrolments/s\n", ENROLLERS,
           ENROL_SUBJECTS * ENROL_FACES, ENROLLERS * ENROL_SUBJECTS * ENROL_FACES / dt);
    static face_log fl;
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
    ASSERT_EQ_INT(c.subjects, ENROL_SUBJECTS);
    ASSERT_EQ_INT(c.faces, ENROLLERS * ENROL_SUBJECTS * ENROL_FACES);
    ASSERT_OK(seal_face_scan(s, coll, log_face, &fl, &err), &err);
    ASSERT_EQ_INT(fl.n, ENROLLERS * ENROL_SUBJECTS * ENROL_FACES);
    ASSERT_EQ_INT(fl.bad, 0);
    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}

#define BUMPERS 4
#define BUMPS 40

/* Transactions run one after another across processes, as SQLite's BEGIN IMMEDIATE makes them:
 * several processes each read a review and write back its confirmations + 1, inside
 * begin/commit; no update is lost (governance/review.c decides on what it read). */
TEST(store_pg_serialised_transactions)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    store_review rv;
    pid_t pids[BUMPERS];
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    memset(&rv, 0, sizeof(rv));
    snprintf(rv.id, sizeof(rv.id), "0123456789abcdef0123456789abcdef");
    snprintf(rv.collection, sizeof(rv.collection), "people");
    snprintf(rv.status, sizeof(rv.status), "pending");
    rv.candidates_json = "[]";
    ASSERT_OK(s->ops->review_insert(s, &rv, &err), &err);
    s->ops->close(s);
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < BUMPERS; w++) {
        pids[w] = fork();
        ASSERT_TRUE(pids[w] >= 0);
        if (pids[w] == 0) {
            store_db *cs;
            store_review r;
            if (store_db_open(ts.uri, ts.keys, &cs, &err) != MIEN_OK) {
                _exit(2);
            }
            for (int i = 0; i < BUMPS; i++) {
                mien_status st = cs->ops->begin(cs, &err);
                if (st == MIEN_OK) {
                    st = cs->ops->review_get(cs, rv.id, &r, &err);
                }
                if (st == MIEN_OK) {
                    r.confirmations++;
                    st = cs->ops->review_update(cs, &r, &err);
                }
                if (st == MIEN_OK) {
                    st = cs->ops->commit(cs, &err);
                }
                if (st != MIEN_OK) {
                    fprintf(stderr, "  process %d: %s\n", w, err.message);
                    _exit(3);
                }
            }
            cs->ops->close(cs);
            _exit(0);
        }
    }
    for (int w = 0; w < BUMPERS; w++) {
        int status;
        ASSERT_TRUE(waitpid(pids[w], &status, 0) == pids[w]);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(s->ops->review_get(s, rv.id, &rv, &err), &err);
    ASSERT_EQ_INT(rv.confirmations, BUMPERS * BUMPS);
    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}

/* Ends every other session on database `db` (what a server restart or a network cut does to
 * the store's connection). */
static int kill_sessions(const char *db)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE datname = '%s' AND pid <> pg_backend_pid()", db);
    return test_pg_exec("postgres", sql, NULL);
}

/* The store's connection dies: a read outside a transaction is retried on a new connection;
 * an open transaction is lost (MIEN_ERR_IO) and the next operation reconnects. */
TEST(store_pg_reconnect)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t coll, fid;
    store_collection c;
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(make_collection(s, "people", &coll, &err), &err);
    ASSERT_OK(enrol(s, coll, "ann", 1, NULL, &fid, &err), &err);

    ASSERT_TRUE(kill_sessions(ts.db) == 0);
    ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
    ASSERT_EQ_INT(c.faces, 1);
    /* ping (/readyz) reconnects as a read does */
    ASSERT_OK(s->ops->ping(s, &err), &err);
    ASSERT_TRUE(kill_sessions(ts.db) == 0);
    ASSERT_OK(s->ops->ping(s, &err), &err);

    ASSERT_OK(s->ops->begin(s, &err), &err);
    ASSERT_TRUE(kill_sessions(ts.db) == 0);
    ASSERT_STATUS(make_collection(s, "lost", &fid, &err), MIEN_ERR_IO, &err);
    ASSERT_CONTAINS(err.message, "connection");
    s->ops->rollback(s);
    ASSERT_OK(enrol(s, coll, "bob", 2, NULL, &fid, &err), &err);
    ASSERT_STATUS(s->ops->collection_get(s, "lost", &c, &err), MIEN_ERR_NOT_FOUND, &err);

    /* a write outside a transaction after the cut: fails once (it may or may not have run), then
     * the store is back */
    ASSERT_TRUE(kill_sessions(ts.db) == 0);
    mien_status st = make_collection(s, "later", &fid, &err);
    ASSERT_TRUE(st == MIEN_OK || st == MIEN_ERR_IO);
    if (st != MIEN_OK) {
        ASSERT_OK(make_collection(s, "later", &fid, &err), &err);
    }
    ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
    ASSERT_EQ_INT(c.faces, 2);
    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}

/* Templates and crops in the server's tables are sealed: no plaintext template or crop pattern
 * in a raw read of the table (what pg_dump or a replica would hold). */
TEST(store_pg_sealed_at_rest)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t coll, fid;
    long long v;
    char sql[512];
    uint8_t tpl[TEMPLATE_LEN];
    static uint8_t crop[CHIP_LEN];
    NEED_PG();
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(make_collection(s, "people", &coll, &err), &err);
    memset(crop, 0x77, sizeof(crop));
    ASSERT_OK(enrol(s, coll, "ann", 42, crop, &fid, &err), &err);
    s->ops->close(s);
    make_template(tpl, 42);
    /* a 16-byte piece of the template, as hex */
    char hex[40];
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", tpl[100 + i]);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM faces WHERE position('\\x%s'::bytea in"
             " template) > 0", hex);
    ASSERT_TRUE(test_pg_exec(ts.db, sql, &v) == 0);
    ASSERT_EQ_INT(v, 0);
    ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM faces WHERE octet_length(template) = "
                                    "812 + 48 AND substring(template from 1 for 4) = 'mEk1'",
                             &v) == 0);
    ASSERT_EQ_INT(v, 1);
    ASSERT_TRUE(test_pg_exec(ts.db, "SELECT count(*) FROM crops WHERE position("
                                    "'\\x77777777777777777777777777777777'::bytea in rgb) > 0",
                             &v) == 0);
    ASSERT_EQ_INT(v, 0);
    /* A blob moved to another collection does not open there (associated data). */
    int64_t other;
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_OK(make_collection(s, "other", &other, &err), &err);
    s->ops->close(s);
    snprintf(sql, sizeof(sql), "UPDATE subjects SET collection_id = %lld", (long long)other);
    ASSERT_TRUE(test_pg_exec(ts.db, sql, NULL) == 0);
    static face_log fl;
    memset(&fl, 0, sizeof(fl));
    ASSERT_OK(store_db_open(ts.uri, ts.keys, &s, &err), &err);
    ASSERT_STATUS(seal_face_scan(s, other, log_face, &fl, &err), MIEN_ERR_STORE, &err);
    ASSERT_EQ_INT(fl.n, 0);
    s->ops->close(s);
    test_store_remove(&ts);
    return 0;
}
