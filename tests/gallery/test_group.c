/* test_group.c — grouping faces into people (src/gallery/group.c): synthetic people (unit
 * vectors with noise, written into a real template's bytes as synthetic.c does) come back one
 * cluster each with the loners in the messy group, by both methods, on the exact path and on
 * the HNSW path (2,000 faces); bad input is refused with a reason; mien_group_faces over
 * enrolled faces checks the purpose and is audited. Needs the models (sample 1's face gives
 * the template layout). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_target.h"
#include "test.h"

#define DIM 192 /* the fast profile's vector */

/* A fast template's bytes, where its vector lies in them, and a generator. */
typedef struct maker {
    uint8_t *buf;
    size_t len, at;
    uint64_t seed;
} maker;

static double gauss(maker *m)
{
    double u1, u2;
    m->seed = m->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    u1 = ((double)(m->seed >> 11) + 1.0) / 9007199254740993.0;
    m->seed = m->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    u2 = (double)(m->seed >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void normalise(float *v)
{
    double n2 = 0;
    for (int k = 0; k < DIM; k++) {
        n2 += (double)v[k] * v[k];
    }
    for (int k = 0; k < DIM; k++) {
        v[k] = (float)(v[k] / sqrt(n2));
    }
}

/* A template whose vector is normalise(centre + noise·g). */
static mien_template *make(maker *m, const float *centre, double noise)
{
    float v[DIM];
    mien_template *t = NULL;
    mien_error err;
    for (int k = 0; k < DIM; k++) {
        v[k] = centre[k] + (float)(noise * gauss(m));
    }
    normalise(v);
    memcpy(m->buf + m->at, v, sizeof(v));
    return mien_template_deserialize(m->buf, m->len, &t, &err) == MIEN_OK ? t : NULL;
}

/* The layout from sample 1's first face. 0 on success. */
static int maker_open(test_fixture *f, maker *m)
{
    mien_template *t0 = NULL;
    const float *v;
    int dim;
    uint8_t *at;
    memset(m, 0, sizeof(*m));
    m->seed = 42;
    if (test_sample_templates(f, 1, MIEN_PROFILE_FAST, 1, &t0, NULL) != 1 ||
        mien_template_serialize(t0, NULL, 0, &m->len) != MIEN_OK ||
        (m->buf = malloc(m->len)) == NULL ||
        mien_template_serialize(t0, m->buf, m->len, &m->len) != MIEN_OK ||
        mien_template_vector(t0, 0, &v, &dim) != MIEN_OK || dim != DIM ||
        (at = memmem(m->buf, m->len, v, DIM * sizeof(float))) == NULL) {
        mien_template_free(t0);
        return -1;
    }
    m->at = (size_t)(at - m->buf);
    mien_template_free(t0);
    return 0;
}

/* people × per faces around random centres, then `loners` faces of their own: t[i] is
 * person i / per (loners after). */
static int make_people(maker *m, size_t people, size_t per, size_t loners, mien_template **t)
{
    float c[DIM];
    size_t n = 0;
    for (size_t p = 0; p < people + loners; p++) {
        for (int k = 0; k < DIM; k++) {
            c[k] = (float)gauss(m);
        }
        normalise(c);
        for (size_t j = 0; j < (p < people ? per : 1); j++) {
            if ((t[n++] = make(m, c, 0.03)) == NULL) {
                return -1;
            }
        }
    }
    return 0;
}

static void free_all(mien_template **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mien_template_free(t[i]);
    }
}

/* Each person one cluster of its own, loners messy, representatives inside their cluster. */
static int check_people(const mien_grouping *g, size_t people, size_t per, size_t loners)
{
    ASSERT_EQ_INT(g->n, people * per + loners);
    ASSERT_EQ_INT(g->clusters, people);
    ASSERT_EQ_INT(g->messy, loners);
    for (size_t i = 0; i < people * per; i++) {
        ASSERT_TRUE(g->labels[i] >= 0);
        ASSERT_EQ_INT(g->labels[i], g->labels[(i / per) * per]);
    }
    for (size_t p = 1; p < people; p++) {
        ASSERT_TRUE(g->labels[p * per] != g->labels[(p - 1) * per]);
    }
    for (size_t i = people * per; i < g->n; i++) {
        ASSERT_EQ_INT(g->labels[i], -1);
    }
    for (size_t c = 0; c < g->clusters; c++) {
        ASSERT_EQ_INT(g->sizes[c], per);
        ASSERT_EQ_INT(g->labels[g->representatives[c]], (long)c);
    }
    return 0;
}

/* @test group.c mien_group (exact path, both methods, determinism) */
TEST(group_synthetic_people)
{
    enum { PEOPLE = 5, PER = 4, LONERS = 3, N = PEOPLE * PER + LONERS };
    test_fixture f;
    maker m;
    mien_template *t[N];
    mien_grouping g, again;
    mien_group_options o = {0};
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(maker_open(&f, &m), 0);
    ASSERT_EQ_INT(make_people(&m, PEOPLE, PER, LONERS, t), 0);
    for (int method = MIEN_GROUP_AUTO; method <= MIEN_GROUP_COMPONENTS; method++) {
        o.method = (mien_group_method)method;
        ASSERT_OK(mien_group((const mien_template *const *)t, N, &o, &g, &err), &err);
        ASSERT_EQ_INT(check_people(&g, PEOPLE, PER, LONERS), 0);
        ASSERT_TRUE(g.method != MIEN_GROUP_AUTO);
        ASSERT_NEAR(g.max_fmr, 1e-5, 1e-12);
        ASSERT_OK(mien_group((const mien_template *const *)t, N, &o, &again, &err), &err);
        ASSERT_TRUE(memcmp(g.labels, again.labels, N * sizeof(*g.labels)) == 0);
        mien_grouping_free(&again);
        mien_grouping_free(&g);
    }
    free_all(t, N);
    free(m.buf);
    test_fixture_close(&f);
    return 0;
}

/* @test group.c mien_group on the HNSW path (2,000 faces and more) */
TEST(group_many_faces_hnsw)
{
    enum { PEOPLE = 500, PER = 4, LONERS = 100, N = PEOPLE * PER + LONERS };
    test_fixture f;
    maker m;
    mien_template **t = calloc(N, sizeof(*t));
    mien_grouping g;
    mien_error err;
    if (test_models_missing()) {
        free(t);
        return TEST_SKIP;
    }
    ASSERT_TRUE(t != NULL);
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(maker_open(&f, &m), 0);
    ASSERT_EQ_INT(make_people(&m, PEOPLE, PER, LONERS, t), 0);
    ASSERT_OK(mien_group((const mien_template *const *)t, N, NULL, &g, &err), &err);
    ASSERT_EQ_INT(check_people(&g, PEOPLE, PER, LONERS), 0);
    mien_grouping_free(&g);
    free_all(t, N);
    free(t);
    free(m.buf);
    test_fixture_close(&f);
    return 0;
}

/* @test group.c mien_group's refusals */
TEST(group_bad_input)
{
    test_fixture f;
    maker m;
    mien_template *t[3] = {NULL, NULL, NULL};
    mien_grouping g;
    mien_group_options o = {0};
    mien_group_method method;
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(maker_open(&f, &m), 0);
    ASSERT_EQ_INT(make_people(&m, 1, 2, 0, t), 0);
    ASSERT_STATUS(mien_group(NULL, 0, NULL, &g, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "at least two faces (0 given)");
    ASSERT_STATUS(mien_group((const mien_template *const *)t, 1, NULL, &g, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_CONTAINS(err.message, "(1 given)");
    ASSERT_TRUE(g.labels == NULL);
    o.max_fmr = 2;
    ASSERT_STATUS(mien_group((const mien_template *const *)t, 2, &o, &g, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_CONTAINS(err.message, "max_fmr");
    o.max_fmr = 0;
    o.neighbours = 1000;
    ASSERT_STATUS(mien_group((const mien_template *const *)t, 2, &o, &g, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_CONTAINS(err.message, "neighbours");
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_ACCURATE, 1, &t[2], NULL), 1);
    ASSERT_STATUS(mien_group((const mien_template *const *)t, 3, NULL, &g, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_CONTAINS(err.message, "template 2");
    ASSERT_OK(mien_group_method_parse("chinese-whispers", &method), NULL);
    ASSERT_EQ_INT(method, MIEN_GROUP_CHINESE_WHISPERS);
    ASSERT_STR_EQ(mien_group_method_name(MIEN_GROUP_COMPONENTS), "components");
    ASSERT_TRUE(mien_group_method_parse("kmeans", &method) == MIEN_ERR_ARG);
    free_all(t, 3);
    free(m.buf);
    test_fixture_close(&f);
    return 0;
}

/* Counts audit lines that contain `needle` (mien_audit_export). */
typedef struct count_ctx {
    const char *needle;
    int n;
} count_ctx;

static int count_line(void *ctx, const char *line)
{
    count_ctx *c = ctx;
    c->n += strstr(line, c->needle) != NULL;
    return 0;
}

/* @test group.c mien_group_faces: enrolled faces, the purpose, the audit */
/* The collection's caps bind a grouping of enrolled faces (issue 13 item 5): more faces than
 * max_candidates, or a link rate looser than max_fmr, is refused and audited. */
static int group_over_caps(mien_store *s, mien_engine *engine, mien_template *const *t)
{
    mien_collection_policy tight = TEST_POLICY;
    mien_group_options o = mien_group_options_default();
    count_ctx refused = {"\"refused\"", 0};
    int64_t ids[4];
    mien_grouping g;
    mien_error err;
    tight.max_candidates = 3;
    tight.max_fmr = 1e-4;
    ASSERT_OK(mien_collection_create(s, "tight", MIEN_PROFILE_FAST, engine, NULL, &tight,
                                     &TEST_CTX, &err), &err);
    for (int k = 0; k < 4; k++) {
        char who[16];
        snprintf(who, sizeof(who), "face%d", k);
        mien_enrollment en = {.subject = who, .template_ = t[k]};
        ASSERT_OK(mien_enroll(s, "tight", &en, &TEST_CTX, &ids[k], &err), &err);
    }
    ASSERT_OK(mien_group_faces(s, "tight", ids, 3, NULL, &TEST_CTX, &g, &err), &err);
    mien_grouping_free(&g);
    ASSERT_STATUS(mien_group_faces(s, "tight", ids, 4, NULL, &TEST_CTX, &g, &err),
                  MIEN_ERR_FORBIDDEN, &err);
    o.max_fmr = 1e-3;
    ASSERT_STATUS(mien_group_faces(s, "tight", ids, 3, &o, &TEST_CTX, &g, &err),
                  MIEN_ERR_FORBIDDEN, &err);
    ASSERT_OK(mien_audit_export(s, 0, 0, count_line, &refused, &err), &err);
    ASSERT_EQ_INT(refused.n, 4); /* group_enrolled_faces' two, and these two */
    return 0;
}

TEST(group_enrolled_faces)
{
    enum { N = 6 };
    test_fixture f;
    maker m;
    mien_template *t[N];
    int64_t ids[N], bad[2];
    test_store ts;
    mien_store *s = NULL;
    mien_grouping g;
    mien_error err;
    count_ctx groups = {"\"action\":\"group\"", 0}, refused = {"\"refused\"", 0};
    count_ctx all_groups = {"\"action\":\"group\"", 0};
    mien_context wrong = TEST_CTX, no_case = TEST_CTX;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    wrong.purpose = "marketing";
    no_case.case_ref = NULL;
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(maker_open(&f, &m), 0);
    ASSERT_EQ_INT(make_people(&m, 2, 3, 0, t), 0);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "people", MIEN_PROFILE_FAST, f.engine, NULL,
                                     &TEST_POLICY, &TEST_CTX, &err), &err);
    for (int k = 0; k < N; k++) {
        char who[16];
        snprintf(who, sizeof(who), "face%d", k); /* one subject per face: nobody known */
        mien_enrollment en = {.subject = who, .template_ = t[k]};
        ASSERT_OK(mien_enroll(s, "people", &en, &TEST_CTX, &ids[k], &err), &err);
    }
    ASSERT_OK(mien_group_faces(s, "people", ids, N, NULL, &TEST_CTX, &g, &err), &err);
    ASSERT_EQ_INT(check_people(&g, 2, 3, 0), 0);
    mien_grouping_free(&g);
    ASSERT_OK(mien_audit_export(s, 0, 0, count_line, &groups, &err), &err);
    ASSERT_EQ_INT(groups.n, 1);
    ASSERT_STATUS(mien_group_faces(s, "people", ids, N, NULL, &wrong, &g, &err),
                  MIEN_ERR_FORBIDDEN, &err);
    ASSERT_STATUS(mien_group_faces(s, "people", ids, N, NULL, &no_case, &g, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_OK(mien_audit_export(s, 0, 0, count_line, &refused, &err), &err);
    ASSERT_EQ_INT(refused.n, 2);
    ASSERT_OK(mien_audit_export(s, 0, 0, count_line, &all_groups, &err), &err);
    ASSERT_EQ_INT(all_groups.n, 3); /* the grouping and both refusals, as "group" */
    bad[0] = ids[0];
    bad[1] = ids[N - 1] + 100;
    ASSERT_STATUS(mien_group_faces(s, "people", bad, 2, NULL, &TEST_CTX, &g, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_group_faces(s, "people", ids, 1, NULL, &TEST_CTX, &g, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_group_faces(s, "nobody", ids, N, NULL, &TEST_CTX, &g, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_EQ_INT(group_over_caps(s, f.engine, t), 0);
    mien_store_close(s);
    test_store_remove(&ts);
    free_all(t, N);
    free(m.buf);
    test_fixture_close(&f);
    return 0;
}
