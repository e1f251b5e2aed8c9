/* test_caps.c — the caps of a collection's policy on what one search may return (issue 13
 * item 5; mien.h mien_search_caps, src/governance/governance.c governance_search_limits): a
 * search key cannot list a gallery by asking for FMR 1 and 10000 candidates. Sixty subjects
 * enrolled with one template all match a probe of that template, so a search that were not
 * capped would return all sixty. Checked: the defaults (1e-2, 50), an explicit over-ask refused
 * and audited, clamping, defaults lowered to a tighter cap, the policy's bounds, and two-person
 * collections (candidate ids shown, two confirmations still needed). Needs the models (one
 * face of sample 1). Runs on the store of tests/store_target.h (SQLite, or PostgreSQL in
 * CTest's store_postgres). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_target.h"
#include "test.h"

#define N_SUBJECTS 60 /* more than the default cap of 50 */
#define LINE_MAX_BYTES (1 << 15) /* an audit line with 50 candidates: about 7 KB */

typedef struct caps_env {
    test_fixture f;
    test_store ts;
    mien_store *s;
    mien_template *t;
} caps_env;

static int caps_open(caps_env *a)
{
    memset(a, 0, sizeof(*a));
    if (test_fixture_open(&a->f) != 0 ||
        test_sample_templates(&a->f, 1, MIEN_PROFILE_FAST, 1, &a->t, NULL) != 1 ||
        test_store_make(&a->ts) != 0) {
        return -1;
    }
    return test_open_store(a->ts.uri, &a->s, NULL) == MIEN_OK ? 0 : -1;
}

static void caps_close(caps_env *a)
{
    mien_store_close(a->s);
    mien_template_free(a->t);
    test_fixture_close(&a->f);
    test_store_remove(&a->ts);
}

/* Collection `name` with TEST_POLICY's rules but the given caps and review mode (0: the
 * defaults), holding N_SUBJECTS subjects "p00".."p59" of one template. */
static mien_status make_gallery(caps_env *a, const char *name, double max_fmr, int max_cands,
                                mien_review_mode review, mien_error *err)
{
    mien_collection_policy p = TEST_POLICY;
    mien_enrollment e[N_SUBJECTS];
    char who[N_SUBJECTS][8];
    p.max_fmr = max_fmr;
    p.max_candidates = max_cands;
    p.review = review;
    mien_status st = mien_collection_create(a->s, name, MIEN_PROFILE_FAST, a->f.engine, NULL, &p,
                                            &TEST_CTX, err);
    memset(e, 0, sizeof(e));
    for (int k = 0; k < N_SUBJECTS; k++) {
        snprintf(who[k], sizeof(who[k]), "p%02d", k);
        e[k].subject = who[k];
        e[k].template_ = a->t;
    }
    return st == MIEN_OK ? mien_enroll_batch(a->s, name, e, N_SUBJECTS, &TEST_CTX, NULL, err)
                         : st;
}

/* The newest audit line into out[LINE_MAX_BYTES]. */
static int last_line(void *ctx, const char *line)
{
    snprintf((char *)ctx, LINE_MAX_BYTES, "%s", line);
    return 0;
}

static void newest_audit(mien_store *s, char out[LINE_MAX_BYTES])
{
    out[0] = '\0';
    mien_audit_export(s, 0, 0, last_line, out, NULL);
}

/* The audit line that created collection "tight" into ctx (LINE_MAX_BYTES). */
static int find_create(void *ctx, const char *line)
{
    if (strstr(line, "\"collection.create\"") != NULL &&
        strstr(line, "\"collection\":\"tight\"") != NULL) {
        snprintf((char *)ctx, LINE_MAX_BYTES, "%s", line);
    }
    return 0;
}

/* @test gallery.c mien_search (caps), mien_collection_caps */
TEST(caps_search_key_cannot_list_the_gallery)
{
    caps_env a;
    mien_search_caps caps;
    mien_collection_info info;
    mien_search_result res;
    mien_search_options so;
    mien_error err;
    static char line[LINE_MAX_BYTES];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(caps_open(&a), 0);
    ASSERT_OK(make_gallery(&a, "g", 0, 0, MIEN_REVIEW_ONE, &err), &err);
    ASSERT_OK(mien_collection_caps(a.s, "g", &caps, &err), &err);
    ASSERT_NEAR(caps.max_fmr, 1e-2, 1e-12);
    ASSERT_EQ_INT(caps.max_candidates, 50);
    ASSERT_OK(mien_collection_get(a.s, "g", &info, &err), &err);
    ASSERT_NEAR(info.max_fmr, 1e-2, 1e-12);
    ASSERT_EQ_INT(info.max_candidates, 50);
    ASSERT_STATUS(mien_collection_caps(a.s, "nobody", &caps, &err), MIEN_ERR_NOT_FOUND, &err);

    /* the attack: FMR 1 and 10000 candidates — refused, and the refusal is on the record */
    so = mien_search_options_default();
    so.top_k = 10000;
    so.max_fmr = 1.0;
    ASSERT_STATUS(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), MIEN_ERR_FORBIDDEN,
                  &err);
    ASSERT_TRUE(strstr(err.message, "at most 50 candidates") != NULL);
    ASSERT_EQ_INT(res.count, 0);
    newest_audit(a.s, line);
    ASSERT_TRUE(strstr(line, "\"action\":\"search\"") != NULL);
    ASSERT_TRUE(strstr(line, "\"outcome\":\"refused\"") != NULL);
    ASSERT_TRUE(strstr(line, "max_candidates") != NULL);
    /* each cap on its own */
    so.top_k = 50;
    ASSERT_STATUS(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), MIEN_ERR_FORBIDDEN,
                  &err);
    ASSERT_TRUE(strstr(err.message, "false-match rate of at most 0.01") != NULL);
    so.top_k = 51;
    so.max_fmr = 1e-2;
    ASSERT_STATUS(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), MIEN_ERR_FORBIDDEN,
                  &err);
    /* at the caps: allowed, and all fifty come back */
    so.top_k = 50;
    ASSERT_OK(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 50);
    ASSERT_TRUE(!res.capped);
    mien_search_result_free(&res);

    /* clamping (what the Rekognition API asks for): lowered to the caps, and recorded */
    so.top_k = 10000;
    so.max_fmr = 1.0;
    so.clamp = true;
    ASSERT_OK(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 50);
    ASSERT_EQ_INT(res.top_k, 50);
    ASSERT_NEAR(res.max_fmr, 1e-2, 1e-12);
    ASSERT_TRUE(res.capped);
    for (size_t k = 0; k < res.count; k++) {
        ASSERT_TRUE(res.candidates[k].fmr <= 1e-2);
    }
    mien_search_result_free(&res);
    newest_audit(a.s, line);
    ASSERT_TRUE(strstr(line, "\"capped\":true") != NULL);
    ASSERT_TRUE(strstr(line, "\"top_k\":50") != NULL);

    /* not asked: the library's defaults (10 at 1e-3), under the caps */
    so = mien_search_options_default();
    ASSERT_OK(mien_search(a.s, "g", a.t, &so, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 10);
    ASSERT_EQ_INT(res.top_k, 10);
    ASSERT_NEAR(res.max_fmr, 1e-3, 1e-15);
    ASSERT_TRUE(!res.capped);
    mien_search_result_free(&res);
    ASSERT_OK(mien_search(a.s, "g", a.t, NULL, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 10);
    mien_search_result_free(&res);
    caps_close(&a);
    return 0;
}

/* @test governance.c governance_policy_set (caps), governance_search_limits */
TEST(caps_policy_bounds_and_tighter_caps)
{
    caps_env a;
    mien_search_result res;
    mien_search_options so = mien_search_options_default();
    mien_collection_policy p = TEST_POLICY;
    mien_error err;
    static char line[LINE_MAX_BYTES];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(caps_open(&a), 0);
    /* a policy's caps stay within the calibration and the longest list a search may ask */
    static const struct {
        double max_fmr;
        int max_candidates;
    } bad[] = {{2.0, 0}, {1e-9, 0}, {-1e-2, 0}, {0, 10001}, {0, -1}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        p.max_fmr = bad[k].max_fmr;
        p.max_candidates = bad[k].max_candidates;
        ASSERT_STATUS(mien_collection_create(a.s, "x", MIEN_PROFILE_FAST, a.f.engine, NULL, &p,
                                             &TEST_CTX, &err), MIEN_ERR_ARG, &err);
    }

    /* tighter than the defaults: the defaults are lowered to them, not refused */
    ASSERT_OK(make_gallery(&a, "tight", 1e-4, 5, MIEN_REVIEW_ONE, &err), &err);
    ASSERT_OK(mien_search(a.s, "tight", a.t, &so, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 5);
    ASSERT_EQ_INT(res.top_k, 5);
    ASSERT_NEAR(res.max_fmr, 1e-4, 1e-15);
    ASSERT_TRUE(!res.capped);
    mien_search_result_free(&res);
    so.top_k = 6;
    ASSERT_STATUS(mien_search(a.s, "tight", a.t, &so, &TEST_CTX, &res, &err),
                  MIEN_ERR_FORBIDDEN, &err);
    so.top_k = 0;
    so.max_fmr = 1e-3;
    ASSERT_STATUS(mien_search(a.s, "tight", a.t, &so, &TEST_CTX, &res, &err),
                  MIEN_ERR_FORBIDDEN, &err);

    /* the caps are part of the policy on the record, and survive reopening the store */
    mien_store_close(a.s);
    a.s = NULL;
    ASSERT_OK(test_open_store(a.ts.uri, &a.s, &err), &err);
    mien_search_caps caps;
    ASSERT_OK(mien_collection_caps(a.s, "tight", &caps, &err), &err);
    ASSERT_NEAR(caps.max_fmr, 1e-4, 1e-15);
    ASSERT_EQ_INT(caps.max_candidates, 5);
    line[0] = '\0';
    mien_audit_export(a.s, 0, 0, find_create, line, NULL);
    ASSERT_TRUE(strstr(line, "\"max_candidates\":5") != NULL);
    ASSERT_TRUE(strstr(line, "\"max_fmr\":0.0001") != NULL);
    caps_close(&a);
    return 0;
}

/* Two-person collections show the candidates' ids at once (mien.h mien_search): the two
 * reviewers must see who they are asked to confirm, and the search routes stay usable; what
 * two-person mode withholds is the confirmation, which one reviewer cannot give alone. The caps
 * bound what the one searcher learns meanwhile.
 * @test gallery.c mien_search (two_person), review.c mien_review_decide */
TEST(caps_two_person_shows_capped_candidates)
{
    caps_env a;
    mien_search_result res;
    mien_search_options so = mien_search_options_default();
    mien_review_info info;
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(caps_open(&a), 0);
    ASSERT_OK(make_gallery(&a, "two", 0, 0, MIEN_REVIEW_TWO_PERSON, &err), &err);
    so.top_k = 10000;
    so.max_fmr = 1.0;
    ASSERT_STATUS(mien_search(a.s, "two", a.t, &so, &TEST_CTX, &res, &err), MIEN_ERR_FORBIDDEN,
                  &err);
    so.clamp = true;
    ASSERT_OK(mien_search(a.s, "two", a.t, &so, &TEST_CTX, &res, &err), &err);
    ASSERT_EQ_INT(res.count, 50);
    ASSERT_EQ_INT(res.reviews_required, 2);
    ASSERT_EQ_INT(strlen(res.review_id), 32);
    for (size_t k = 0; k < res.count; k++) {
        ASSERT_TRUE(res.candidates[k].subject[0] == 'p' && res.candidates[k].face_id > 0);
    }
    ASSERT_OK(mien_review_decide(a.s, res.review_id, "alice", MIEN_DECISION_CONFIRM, 1, NULL,
                                 &info, &err), &err);
    ASSERT_STR_EQ(info.status, "pending");
    ASSERT_EQ_INT(info.candidates, 50);
    ASSERT_OK(mien_review_decide(a.s, res.review_id, "bob", MIEN_DECISION_CONFIRM, 1, NULL,
                                 &info, &err), &err);
    ASSERT_STR_EQ(info.status, "confirmed");
    mien_search_result_free(&res);
    caps_close(&a);
    return 0;
}
