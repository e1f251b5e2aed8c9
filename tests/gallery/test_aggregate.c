/* test_aggregate.c — how a subject's several faces score together (src/gallery/aggregate.c,
 * index.c gallery_index_subject, gallery.c's search and verify): each rule on hand-made
 * vectors, the index's per-subject faces surviving an erasure, and a search whose ranking the
 * rule changes, with its candidates listing their faces. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gallery/aggregate.h"
#include "gallery/index.h"
#include "store_target.h"
#include "test.h"

#define D 192 /* the fast profile's vector */

static void basis(float *v, int d, int k)
{
    memset(v, 0, (size_t)d * sizeof(float));
    v[k] = 1.0f;
}

/* Each rule on two orthogonal faces and a probe between them: best and top-2 see 0.7071,
 * the mean template sees the probe itself (1); quality weights pull it towards the heavier
 * face; one face is its own similarity under every rule. */
TEST(aggregate_rules)
{
    float e1[4] = {1, 0, 0, 0}, e2[4] = {0, 1, 0, 0};
    float q[4] = {(float)M_SQRT1_2, (float)M_SQRT1_2, 0, 0};
    const float *faces[2] = {e1, e2};
    float sims[2] = {(float)M_SQRT1_2, (float)M_SQRT1_2}, w[2] = {1.0f, 0.05f};
    gallery_parts p = {1, {4, 0}, {1.0f, 0.0f}};
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_BEST, &p, q, faces, sims, NULL, 2),
                M_SQRT1_2, 1e-6);
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_TOP2, &p, q, faces, sims, NULL, 2),
                M_SQRT1_2, 1e-6);
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_MEAN, &p, q, faces, sims, NULL, 2), 1.0,
                1e-6);
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_DEFAULT, &p, q, faces, sims, NULL, 2),
                1.0, 1e-6);
    /* (1, 0.05) / |(1, 0.05)| · q = 1.05 / sqrt(1.0025) / sqrt(2) */
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_QUALITY, &p, q, faces, sims, w, 2),
                1.05 / sqrt(1.0025) * M_SQRT1_2, 1e-6);
    for (int r = MIEN_AGGREGATE_DEFAULT; r <= MIEN_AGGREGATE_TOP2; r++) {
        ASSERT_NEAR(gallery_aggregate_score((mien_aggregate)r, &p, q, faces, sims, w, 1),
                    M_SQRT1_2, 1e-6);
    }
    /* top-2 is the mean of the two best of three, whatever their order */
    float s3[3] = {0.1f, 0.9f, 0.5f};
    const float *f3[3] = {e1, e2, e1};
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_TOP2, &p, q, f3, s3, NULL, 3), 0.7, 1e-6);
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_BEST, &p, q, f3, s3, NULL, 3), 0.9, 1e-6);
    return 0;
}

/* `accurate`'s two parts are renormalised apart: A's faces differ (cosine of the mean with the
 * probe 0.7071), B's agree (1), so the fused mean is 0.5 · 0.7071 + 0.5 · 1. */
TEST(aggregate_mean_per_embedder)
{
    const float h = (float)M_SQRT1_2;
    float f1[4] = {h, 0, h, 0}, f2[4] = {0, h, h, 0}, q[4] = {h, 0, h, 0};
    const float *faces[2] = {f1, f2};
    float sims[2] = {1.0f, 0.5f};
    gallery_parts p = {2, {2, 2}, {h, h}};
    ASSERT_NEAR(gallery_aggregate_score(MIEN_AGGREGATE_MEAN, &p, q, faces, sims, NULL, 2),
                0.5 * M_SQRT1_2 + 0.5, 1e-6);
    return 0;
}

TEST(aggregate_weight)
{
    mien_quality q = {.yaw = 60.0f, .pitch = 0.0f};
    ASSERT_NEAR(mien_aggregate_weight(NULL), 1.0, 1e-6);
    ASSERT_NEAR(mien_aggregate_weight(&q), 0.5, 1e-5);
    q.yaw = 90.0f;
    ASSERT_NEAR(mien_aggregate_weight(&q), 0.05, 1e-6); /* a profile view still counts a bit */
    return 0;
}

/* The index's faces of a subject: every one, best first, with the rule's aggregate; still
 * right after another subject's erasure moved the rows; unknown subject → NOT_FOUND. */
TEST(aggregate_index_subject)
{
    gallery_index *idx = NULL;
    float v[D], q[D];
    mien_face_match *m = NULL;
    size_t n = 0, removed = 0;
    float score = 0.0f;
    ASSERT_OK(gallery_index_new(D, &idx, NULL), NULL);
    basis(v, D, 0);
    ASSERT_OK(gallery_index_add(idx, 1, 7, v, NULL), NULL);   /* subject 7: e0, e1, e2 */
    basis(v, D, 3);
    ASSERT_OK(gallery_index_add(idx, 2, 8, v, NULL), NULL);   /* subject 8: e3 */
    basis(v, D, 1);
    ASSERT_OK(gallery_index_add(idx, 3, 7, v, NULL), NULL);
    basis(v, D, 2);
    ASSERT_OK(gallery_index_add(idx, 4, 7, v, NULL), NULL);
    memset(q, 0, sizeof(q));
    q[0] = 0.8f;
    q[1] = 0.6f;
    ASSERT_OK(gallery_index_subject(idx, q, 7, MIEN_AGGREGATE_BEST, &score, &m, &n, NULL), NULL);
    ASSERT_EQ_INT(n, 3);
    ASSERT_NEAR(score, 0.8, 1e-6);
    ASSERT_EQ_INT(m[0].face_id, 1);
    ASSERT_EQ_INT(m[1].face_id, 3);
    ASSERT_NEAR(m[1].similarity, 0.6, 1e-6);
    ASSERT_EQ_INT(m[2].face_id, 4);
    free(m);
    ASSERT_OK(gallery_index_subject(idx, q, 7, MIEN_AGGREGATE_MEAN, &score, &m, &n, NULL), NULL);
    ASSERT_NEAR(score, 1.4 / sqrt(3.0), 1e-6); /* q · (e0 + e1 + e2) / sqrt(3) */
    free(m);
    ASSERT_OK(gallery_index_remove_subject(idx, 8, &removed, NULL), NULL);
    ASSERT_EQ_INT(removed, 1);
    ASSERT_OK(gallery_index_subject(idx, q, 7, MIEN_AGGREGATE_TOP2, &score, &m, &n, NULL), NULL);
    ASSERT_EQ_INT(n, 3);
    ASSERT_NEAR(score, 0.7, 1e-6);
    free(m);
    ASSERT_STATUS(gallery_index_subject(idx, q, 8, MIEN_AGGREGATE_BEST, &score, &m, &n, NULL),
                  MIEN_ERR_NOT_FOUND, NULL);
    ASSERT_TRUE(m == NULL && n == 0);
    gallery_index_free(idx);
    return 0;
}

/* The calibration of aggregates: one face reads the single-face table under every rule;
 * several faces have their own tables; more than MIEN_CALIBRATED_FACES read the last. */
TEST(aggregate_calibration)
{
    double one = 0, agg1 = 0, two = 0, four = 0, nine = 0;
    float t1 = 0, t2 = 0;
    ASSERT_OK(mien_similarity_fmr(MIEN_PROFILE_FAST, 0.4f, &one), NULL);
    for (int r = MIEN_AGGREGATE_DEFAULT; r <= MIEN_AGGREGATE_TOP2; r++) {
        ASSERT_OK(mien_aggregate_fmr(MIEN_PROFILE_FAST, (mien_aggregate)r, 1, 0.4f, &agg1), NULL);
        ASSERT_NEAR(agg1, one, 1e-12);
        ASSERT_OK(mien_aggregate_fmr(MIEN_PROFILE_ACCURATE, (mien_aggregate)r, 2, 0.4f, &two),
                  NULL);
        ASSERT_OK(mien_aggregate_fmr(MIEN_PROFILE_ACCURATE, (mien_aggregate)r, 4, 0.4f, &four),
                  NULL);
        ASSERT_OK(mien_aggregate_fmr(MIEN_PROFILE_ACCURATE, (mien_aggregate)r, 9, 0.4f, &nine),
                  NULL);
        ASSERT_NEAR(nine, four, 1e-12);
    }
    /* best of two faces passes more impostors than one face at the same threshold */
    ASSERT_OK(mien_threshold_for_fmr(MIEN_PROFILE_FAST, 1e-3, &t1), NULL);
    ASSERT_OK(mien_aggregate_threshold(MIEN_PROFILE_FAST, MIEN_AGGREGATE_BEST, 2, 1e-3, &t2),
              NULL);
    ASSERT_TRUE(t2 > t1);
    ASSERT_STATUS(mien_aggregate_fmr(MIEN_PROFILE_FAST, MIEN_AGGREGATE_MEAN, 0, 0.4f, &two),
                  MIEN_ERR_ARG, NULL);
    return 0;
}

/* A synthetic fast template with vector v: a real template's bytes with v written over its
 * vector (the layout found by looking for the vector in the bytes). */
static mien_template *with_vector(const mien_template *t0, const float *v)
{
    uint8_t buf[8192];
    size_t len = 0;
    const float *a = NULL;
    int da = 0;
    mien_template *t = NULL;
    if (mien_template_serialize(t0, buf, sizeof(buf), &len) != MIEN_OK ||
        mien_template_vector(t0, 0, &a, &da) != MIEN_OK || da != D) {
        return NULL;
    }
    uint8_t *at = memmem(buf, len, a, D * sizeof(float));
    if (at == NULL) {
        return NULL;
    }
    memcpy(at, v, D * sizeof(float));
    return mien_template_deserialize(buf, len, &t, NULL) == MIEN_OK ? t : NULL;
}

/* Search ranks by the rule: "two" has two photos on either side of the probe (0.7071 each,
 * their mean 1), "one" one photo at 0.8. Best face and top-2 put "one" first, the mean
 * (the default) "two"; each candidate lists its faces, best first. Verify compares with the
 * default rule's aggregate. */
TEST(aggregate_search_ranks)
{
    test_fixture f;
    test_store ts;
    mien_store *s = NULL;
    mien_template *t0 = NULL, *tp = NULL, *tf[3] = {NULL, NULL, NULL};
    mien_error err;
    float v[D];
    int64_t ids[3];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 1, &t0, NULL), 1);
    basis(v, D, 0);
    tf[0] = with_vector(t0, v);
    basis(v, D, 1);
    tf[1] = with_vector(t0, v);
    memset(v, 0, sizeof(v));
    v[0] = v[1] = 0.8f * (float)M_SQRT1_2;
    v[2] = 0.6f;
    tf[2] = with_vector(t0, v);
    basis(v, D, 0);
    v[0] = v[1] = (float)M_SQRT1_2;
    tp = with_vector(t0, v);
    ASSERT_TRUE(tf[0] != NULL && tf[1] != NULL && tf[2] != NULL && tp != NULL);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "c", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY,
                                     &TEST_CTX, &err),
              &err);
    static const char *const who[3] = {"two", "two", "one"};
    for (int i = 0; i < 3; i++) {
        mien_enrollment e = {.subject = who[i], .template_ = tf[i]};
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, &ids[i], &err), &err);
    }
    static const struct {
        mien_aggregate rule;
        const char *first;
        float score;
    } cases[] = {{MIEN_AGGREGATE_BEST, "one", 0.8f},
                 {MIEN_AGGREGATE_TOP2, "one", 0.8f},
                 {MIEN_AGGREGATE_MEAN, "two", 1.0f},
                 {MIEN_AGGREGATE_DEFAULT, "two", 1.0f}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        mien_search_options so = mien_search_options_default();
        mien_search_result r;
        so.max_fmr = 1.0;
        so.aggregate = cases[k].rule;
        ASSERT_OK(mien_search(s, "c", tp, &so, &TEST_CTX, &r, &err), &err);
        ASSERT_EQ_INT(r.count, 2);
        ASSERT_STR_EQ(r.candidates[0].subject, cases[k].first);
        ASSERT_NEAR(r.candidates[0].similarity, cases[k].score, 1e-5);
        const mien_candidate *two = &r.candidates[strcmp(cases[k].first, "two") == 0 ? 0 : 1];
        ASSERT_EQ_INT(two->n_faces, 2);
        ASSERT_TRUE(two->faces != NULL);
        ASSERT_TRUE(two->faces[0].face_id == ids[0] || two->faces[0].face_id == ids[1]);
        ASSERT_NEAR(two->faces[1].similarity, M_SQRT1_2, 1e-5);
        ASSERT_EQ_INT(two->face_id, two->faces[0].face_id);
        mien_search_result_free(&r);
    }
    mien_search_options bad = mien_search_options_default();
    mien_search_result r;
    bad.aggregate = (mien_aggregate)9;
    ASSERT_STATUS(mien_search(s, "c", tp, &bad, &TEST_CTX, &r, &err), MIEN_ERR_ARG, &err);
    mien_verification ver;
    ASSERT_OK(mien_verify(s, "c", "two", tp, 1e-4, &TEST_CTX, &ver, &err), &err);
    ASSERT_NEAR(ver.similarity, 1.0, 1e-5);
    ASSERT_EQ_INT(ver.n_faces, 2);
    ASSERT_TRUE(ver.accepted);
    mien_store_close(s);
    for (int i = 0; i < 3; i++) {
        mien_template_free(tf[i]);
    }
    mien_template_free(tp);
    mien_template_free(t0);
    test_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}
