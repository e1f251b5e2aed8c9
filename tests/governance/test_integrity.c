/* test_integrity.c — issue 13 items 1 and 2: a database writer without the key file (sqlite3
 * on the file, SQL on the PostgreSQL database) edits governance rows behind mien's back, and
 * mien refuses the edited row, naming it (store/tag.h; governance.c review chain), with an
 * audit entry where the refusal is an act (a key presented, a purge, a review decision).
 *
 * Each test runs on the store of tests/store_target.h: an SQLite file, or a fresh PostgreSQL
 * database with $MIEN_TEST_STORE (CTest's store_postgres runs every acct_ test there). The
 * store is closed before each edit and opened again after it, as a writer who waits for a
 * restart would. */
#include "acct.h"

/* The writer's edit (acct_tamper) with the store closed first and opened again after, the
 * clock kept. 0 when all of it worked. */
static int tamper(acct_env *a, const char *sql)
{
    int64_t now = mien_store_now(a->s);
    mien_store_close(a->s);
    a->s = NULL;
    if (acct_tamper(a, sql) != 0 || test_open_store(a->uri, &a->s, NULL) != MIEN_OK) {
        return -1;
    }
    mien_store_set_clock(a->s, now);
    return 0;
}

static mien_status enrol(acct_env *a, const char *coll, const char *subject, int k,
                         mien_error *err)
{
    return acct_enrol(a, coll, subject, k, "form-1", err);
}

static bool audited(acct_env *a, const char *what, const char *also)
{
    return acct_audited(a, what, also) > 0;
}

/* Collection "c" with policy p (TEST_POLICY with this review mode and retention), ann
 * enrolled and, when `bob`, bob. */
static mien_status make_c(acct_env *a, mien_review_mode review, int64_t retention_s, bool bob,
                          mien_error *err)
{
    mien_collection_policy p = TEST_POLICY;
    p.review = review;
    p.retention_s = retention_s;
    mien_status st = mien_collection_create(a->s, "c", MIEN_PROFILE_FAST, a->f.engine, NULL, &p,
                                            &TEST_CTX, err);
    if (st == MIEN_OK) {
        st = enrol(a, "c", "ann", 0, err);
    }
    return st == MIEN_OK && bob ? enrol(a, "c", "bob", 1, err) : st;
}

/* Item 1: a revoked key revived, a search key made admin. */
TEST(acct_integrity_key_rows)
{
    acct_env a;
    mien_error err;
    mien_key_info info, gone;
    char admin[MIEN_KEY_TEXT_MAX], search[MIEN_KEY_TEXT_MAX], old[MIEN_KEY_TEXT_MAX];
    char sql[160], named[64];
    ASSERT_TRUE(acct_open(&a) == 0);
    ASSERT_OK(mien_key_create(a.s, MIEN_ROLE_ADMIN, "ops", admin, NULL, &err), &err);
    ASSERT_OK(mien_key_create(a.s, MIEN_ROLE_SEARCH, "desk", search, &info, &err), &err);
    ASSERT_OK(mien_key_create(a.s, MIEN_ROLE_ENROLL, "gone", old, &gone, &err), &err);
    ASSERT_OK(mien_key_revoke(a.s, gone.id, &err), &err);
    ASSERT_STATUS(mien_key_verify(a.s, old, NULL, &err), MIEN_ERR_NOT_FOUND, &err);

    /* the revoked key revived */
    snprintf(sql, sizeof(sql), "UPDATE api_keys SET revoked_at = NULL WHERE id = '%s'", gone.id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_key_verify(a.s, old, NULL, &err), MIEN_ERR_STORE, &err);
    snprintf(named, sizeof(named), "API key %s", gone.id);
    ASSERT_CONTAINS(err.message, named);
    ASSERT_CONTAINS(err.message, "changed outside mien");
    ASSERT_TRUE(audited(&a, "\"action\":\"key.verify\"", gone.id));
    mien_key_info *list = NULL;
    size_t n = 0;
    ASSERT_STATUS(mien_key_list(a.s, &list, &n, &err), MIEN_ERR_STORE, &err);
    int64_t valid = 0;
    ASSERT_STATUS(mien_key_count_valid(a.s, &valid, &err), MIEN_ERR_STORE, &err);
    snprintf(sql, sizeof(sql), "DELETE FROM api_keys WHERE id = '%s'", gone.id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);

    /* the search key made admin */
    snprintf(sql, sizeof(sql), "UPDATE api_keys SET role = %d WHERE id = '%s'",
             (int)MIEN_ROLE_ADMIN, info.id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_key_verify(a.s, search, NULL, &err), MIEN_ERR_STORE, &err);
    snprintf(named, sizeof(named), "API key %s", info.id);
    ASSERT_CONTAINS(err.message, named);
    ASSERT_OK(mien_key_verify(a.s, admin, NULL, &err), &err); /* the others still work */
    /* its tag set to zeros, as if it had never had one: refused too */
    snprintf(sql, sizeof(sql), "UPDATE api_keys SET mac = NULL WHERE id = '%s'", info.id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_key_verify(a.s, search, NULL, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "has no tag");
    acct_close(&a);
    return 0;
}

/* Item 1: a collection's review mode, purposes, consent rule, verification-only flag. */
TEST(acct_integrity_collection_rows)
{
    static const char *const edits[] = {
        "UPDATE collections SET review = 2",
        "UPDATE collections SET purposes = 'test,marketing'",
        "UPDATE collections SET consent = 0",
        "UPDATE collections SET verification_only = 0",
        "UPDATE collections SET retention_s = 3153600000",
    };
    acct_env a;
    mien_error err;
    mien_collection_info info;
    mien_search_result r;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(acct_open(&a) == 0);
    mien_collection_policy p = TEST_POLICY;
    p.review = MIEN_REVIEW_TWO_PERSON;
    p.verification_only = 1;
    ASSERT_OK(mien_collection_create(a.s, "door", MIEN_PROFILE_FAST, a.f.engine, NULL, &p,
                                     &TEST_CTX, &err), &err);
    ASSERT_OK(enrol(&a, "door", "ann", 0, &err), &err);
    ASSERT_EQ_INT(tamper(&a, "CREATE TABLE saved AS SELECT * FROM collections"), 0);
    for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++) {
        ASSERT_EQ_INT(tamper(&a, edits[k]), 0);
        ASSERT_STATUS(mien_collection_get(a.s, "door", &info, &err), MIEN_ERR_STORE, &err);
        ASSERT_CONTAINS(err.message, "collection \"door\" (row 1) was changed outside mien");
        ASSERT_STATUS(mien_search(a.s, "door", a.t[0], NULL, &TEST_CTX, &r, &err),
                      MIEN_ERR_STORE, &err);
        ASSERT_STATUS(enrol(&a, "door", "bob", 1, &err), MIEN_ERR_STORE, &err);
        /* the row as mien wrote it again: everything works as before */
        ASSERT_EQ_INT(tamper(&a, "UPDATE collections SET review = (SELECT review FROM saved),"
                                 " purposes = (SELECT purposes FROM saved),"
                                 " consent = (SELECT consent FROM saved),"
                                 " verification_only = (SELECT verification_only FROM saved),"
                                 " retention_s = (SELECT retention_s FROM saved)"),
                      0);
        ASSERT_OK(mien_collection_get(a.s, "door", &info, &err), &err);
    }
    ASSERT_STATUS(mien_search(a.s, "door", a.t[0], NULL, &TEST_CTX, &r, &err),
                  MIEN_ERR_FORBIDDEN, &err); /* verification-only, as declared */
    acct_close(&a);
    return 0;
}

/* Item 1: a subject's expiry cleared (it would escape the purge), its name changed. */
TEST(acct_integrity_subject_rows)
{
    acct_env a;
    mien_error err;
    mien_subject_info *subs = NULL;
    size_t n = 0;
    int64_t purged = -1;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(acct_open(&a) == 0);
    const int64_t t0 = 1800000000;
    mien_store_set_clock(a.s, t0);
    ASSERT_OK(make_c(&a, TEST_POLICY.review, 86400, true, &err), &err);
    ASSERT_EQ_INT(tamper(&a, "UPDATE subjects SET expires_at = 0 WHERE external_id = 'ann'"),
                  0);
    mien_store_set_clock(a.s, t0 + 2 * 86400);
    ASSERT_STATUS(mien_purge_expired(a.s, &TEST_CTX, &purged, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "subject \"ann\"");
    ASSERT_CONTAINS(err.message, "changed outside mien");
    ASSERT_EQ_INT(purged, 0);
    ASSERT_TRUE(audited(&a, "\"action\":\"purge\"", "\"outcome\":\"refused\""));
    ASSERT_STATUS(mien_subject_list(a.s, "c", &TEST_CTX, &subs, &n, &err), MIEN_ERR_STORE, &err);
    /* restored (expiry as enrolled), the purge goes through */
    ASSERT_EQ_INT(tamper(&a, "UPDATE subjects SET expires_at = 1800086400"
                             " WHERE external_id = 'ann'"), 0);
    mien_store_set_clock(a.s, t0 + 2 * 86400);
    ASSERT_OK(mien_purge_expired(a.s, &TEST_CTX, &purged, &err), &err);
    ASSERT_EQ_INT(purged, 2);
    acct_close(&a);
    return 0;
}

/* Item 1: a template moved to another name — the subject renamed, or the face moved. */
TEST(acct_integrity_template_name)
{
    acct_env a;
    mien_error err;
    mien_search_result r;
    mien_subject_info *subs = NULL;
    size_t n = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(acct_open(&a) == 0);
    ASSERT_OK(make_c(&a, MIEN_REVIEW_NONE, 0, false, &err), &err);
    ASSERT_OK(mien_search(a.s, "c", a.t[0], NULL, &TEST_CTX, &r, &err), &err);
    mien_search_result_free(&r);
    /* ann's row renamed "zed", its tag recomputed by nobody: the template no longer opens */
    ASSERT_EQ_INT(tamper(&a, "UPDATE subjects SET external_id = 'zed'"), 0);
    ASSERT_STATUS(mien_search(a.s, "c", a.t[0], NULL, &TEST_CTX, &r, &err), MIEN_ERR_STORE,
                  &err);
    ASSERT_CONTAINS(err.message, "subject \"zed\"");
    ASSERT_STATUS(mien_subject_list(a.s, "c", &TEST_CTX, &subs, &n, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "subject \"zed\"");
    acct_close(&a);
    return 0;
}

/* A pending two-person review of ann's search; its id into id[33]. */
static int review_open(acct_env *a, char id[33])
{
    mien_error err;
    mien_search_result r;
    if (make_c(a, MIEN_REVIEW_TWO_PERSON, 0, true, &err) != MIEN_OK ||
        mien_search(a->s, "c", a->t[0], NULL, &TEST_CTX, &r, &err) != MIEN_OK) {
        return -1;
    }
    snprintf(id, 33, "%s", r.review_id);
    mien_search_result_free(&r);
    return 0;
}

/* Item 2: an older review row restored, a decision deleted, the candidates edited, a
 * decision's reviewer edited, and "alice" then "Alice". */
TEST(acct_integrity_review_chain)
{
    acct_env a;
    mien_error err;
    mien_review_info info;
    char id[33];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(acct_open(&a) == 0);
    ASSERT_EQ_INT(review_open(&a, id), 0);
    ASSERT_EQ_INT(tamper(&a, "CREATE TABLE saved AS SELECT * FROM reviews"), 0);
    ASSERT_OK(mien_review_decide(a.s, id, "alice", MIEN_DECISION_CONFIRM, 1, NULL, &info, &err),
              &err);
    ASSERT_EQ_INT(info.confirmations, 1);
    /* "Alice" is alice */
    ASSERT_STATUS(mien_review_decide(a.s, id, " Alice ", MIEN_DECISION_CONFIRM, 1, NULL, &info,
                                     &err),
                  MIEN_ERR_FORBIDDEN, &err);
    ASSERT_CONTAINS(err.message, "already decided");

    /* the older row (pending, no confirmation, validly tagged then) restored */
    ASSERT_EQ_INT(tamper(&a, "CREATE TABLE newer AS SELECT * FROM reviews"), 0);
    ASSERT_EQ_INT(tamper(&a, "UPDATE reviews SET confirmations = 0, confirmed_rank = 0,"
                             " status = (SELECT status FROM saved), mac = (SELECT mac FROM saved)"),
                  0);
    ASSERT_STATUS(mien_review_get(a.s, id, &info, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "changed outside mien");
    /* ... and alice's decision deleted with it, to confirm a second time */
    ASSERT_EQ_INT(tamper(&a, "DELETE FROM review_decisions"), 0);
    ASSERT_STATUS(mien_review_decide(a.s, id, "alice", MIEN_DECISION_CONFIRM, 1, NULL, &info,
                                     &err),
                  MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "the audit log records 1 decisions");
    ASSERT_TRUE(audited(&a, "\"action\":\"review\"", "records 1 decisions on it"));

    /* a fresh review: the decision row deleted alone */
    ASSERT_EQ_INT(tamper(&a, "DROP TABLE saved"), 0);
    ASSERT_EQ_INT(tamper(&a, "DROP TABLE newer"), 0);
    mien_search_result r;
    ASSERT_OK(mien_search(a.s, "c", a.t[0], NULL, &TEST_CTX, &r, &err), &err);
    snprintf(id, sizeof(id), "%s", r.review_id);
    mien_search_result_free(&r);
    ASSERT_OK(mien_review_decide(a.s, id, "alice", MIEN_DECISION_CONFIRM, 1, NULL, &info, &err),
              &err);
    char sql[200];
    snprintf(sql, sizeof(sql), "CREATE TABLE saved AS SELECT * FROM review_decisions"
             " WHERE review_id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM review_decisions WHERE review_id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_review_decide(a.s, id, "alice", MIEN_DECISION_CONFIRM, 1, NULL, &info,
                                     &err),
                  MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, id);

    /* a third review: alice's decision edited */
    ASSERT_OK(mien_search(a.s, "c", a.t[0], NULL, &TEST_CTX, &r, &err), &err);
    snprintf(id, sizeof(id), "%s", r.review_id);
    mien_search_result_free(&r);
    ASSERT_OK(mien_review_decide(a.s, id, "alice", MIEN_DECISION_CONFIRM, 1, NULL, &info, &err),
              &err);
    ASSERT_OK(mien_review_get(a.s, id, &info, &err), &err);
    /* the decision's reviewer edited */
    snprintf(sql, sizeof(sql), "UPDATE review_decisions SET reviewer = 'mallory'"
             " WHERE review_id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_review_get(a.s, id, &info, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "decision of reviewer 'mallory'");
    snprintf(sql, sizeof(sql), "UPDATE review_decisions SET reviewer = 'cli:alice'"
             " WHERE review_id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_review_get(a.s, id, &info, &err), MIEN_ERR_STORE, &err);
    snprintf(sql, sizeof(sql), "UPDATE review_decisions SET reviewer = 'alice'"
             " WHERE review_id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_OK(mien_review_get(a.s, id, &info, &err), &err);

    /* the candidates edited (another subject hash at rank 1) */
    snprintf(sql, sizeof(sql), "UPDATE reviews SET candidates_json = replace(candidates_json,"
             " '\"rank\":1', '\"rank\":7') WHERE id = '%s'", id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_STATUS(mien_review_decide(a.s, id, "bob", MIEN_DECISION_CONFIRM, 1, NULL, &info,
                                     &err),
                  MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "candidates");
    acct_close(&a);
    return 0;
}

/* Existing stores: rows without tags (as the schema step leaves a store made before them,
 * marked pending) are refused until mien_store_upgrade tags them, once, recorded in the chain;
 * a pending mark set again by the writer, over a row edited meanwhile, is refused. (The
 * SQLite store of the previous release, and a broken chain: tests/cli/test_store_compat.sh.) */
TEST(acct_integrity_upgrade)
{
    acct_env a;
    mien_error err;
    mien_collection_info info;
    mien_key_info k;
    mien_search_result r;
    char key[MIEN_KEY_TEXT_MAX], sql[160];
    int64_t tagged = -1;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(acct_open(&a) == 0);
    ASSERT_OK(make_c(&a, MIEN_REVIEW_NONE, 0, false, &err), &err);
    ASSERT_OK(mien_key_create(a.s, MIEN_ROLE_SEARCH, NULL, key, &k, &err), &err);
    ASSERT_OK(mien_store_upgrade(a.s, NULL, &tagged, &err), &err); /* nothing pending */
    ASSERT_EQ_INT(tagged, 0);
    ASSERT_EQ_INT(tamper(&a, "UPDATE collections SET mac = NULL"), 0);
    ASSERT_EQ_INT(tamper(&a, "UPDATE subjects SET mac = NULL"), 0);
    ASSERT_EQ_INT(tamper(&a, "UPDATE api_keys SET mac = NULL"), 0);
    ASSERT_EQ_INT(tamper(&a, "INSERT INTO row_tags VALUES (1)"), 0);
    ASSERT_STATUS(mien_collection_get(a.s, "c", &info, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "has no tag");
    ASSERT_OK(mien_store_upgrade(a.s, NULL, &tagged, &err), &err);
    ASSERT_EQ_INT(tagged, 3);
    ASSERT_OK(mien_collection_get(a.s, "c", &info, &err), &err);
    ASSERT_OK(mien_key_verify(a.s, key, NULL, &err), &err);
    ASSERT_OK(mien_search(a.s, "c", a.t[0], NULL, &TEST_CTX, &r, &err), &err);
    mien_search_result_free(&r);
    ASSERT_TRUE(audited(&a, "\"action\":\"store.tag\"", "\"schema_version\":"));
    mien_audit_report rep;
    ASSERT_OK(mien_audit_verify(a.s, &rep, &err), &err);
    ASSERT_TRUE(rep.ok);

    /* the mark set again over a key made admin and its tag cleared: not tagged again */
    snprintf(sql, sizeof(sql), "UPDATE api_keys SET role = 0, mac = NULL WHERE id = '%s'", k.id);
    ASSERT_EQ_INT(tamper(&a, sql), 0);
    ASSERT_EQ_INT(tamper(&a, "INSERT INTO row_tags VALUES (1)"), 0);
    ASSERT_STATUS(mien_store_upgrade(a.s, NULL, &tagged, &err), MIEN_ERR_FORBIDDEN, &err);
    ASSERT_CONTAINS(err.message, "tagged before");
    ASSERT_STATUS(mien_key_verify(a.s, key, NULL, &err), MIEN_ERR_STORE, &err);
    acct_close(&a);
    return 0;
}
