/* test_index.c — the in-memory search index (src/gallery/index.c): exact f32 top-k against a
 * double-precision reference, int8 against f32, per-subject aggregation, threshold,
 * removal, every instruction set against the others, and HNSW recall against exact. */
#include <stdint.h>

#include "gallery/index.h"
#include "test.h"

/* splitmix64 (Steele et al., OOPSLA 2014): deterministic test data. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float runif(uint64_t *s)
{
    return (float)((double)(rnd(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static void unit_vector(uint64_t *s, float *v, int d)
{
    double ss = 0.0;
    for (int j = 0; j < d; j++) {
        v[j] = runif(s);
        ss += (double)v[j] * v[j];
    }
    for (int j = 0; j < d; j++) {
        v[j] = (float)(v[j] / sqrt(ss));
    }
}

/* normalise(c + noise·u), u uniform in the cube. */
static void near_vector(uint64_t *s, const float *c, float noise, float *v, int d)
{
    double ss = 0.0;
    for (int j = 0; j < d; j++) {
        v[j] = c[j] + noise * runif(s);
        ss += (double)v[j] * v[j];
    }
    for (int j = 0; j < d; j++) {
        v[j] = (float)(v[j] / sqrt(ss));
    }
}

static double dot_ref(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++) {
        s += (double)a[j] * (double)b[j];
    }
    return s;
}

/* An index of n random unit vectors (face i, subject i); vectors kept in *vecs (malloc'd). */
static gallery_index *random_index(int d, size_t n, uint64_t seed, float **vecs)
{
    gallery_index *idx = NULL;
    if (gallery_index_new(d, &idx, NULL) != MIEN_OK) {
        return NULL;
    }
    float *v = malloc((n + 1) * (size_t)d * sizeof(float));
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        unit_vector(&s, v + i * (size_t)d, d);
        if (gallery_index_add(idx, (int64_t)i + 1000, (int64_t)i, v + i * (size_t)d, NULL) !=
            MIEN_OK) {
            gallery_index_free(idx);
            free(v);
            return NULL;
        }
    }
    *vecs = v;
    return idx;
}

/* The reference top-k of subject ids (one face each here) in double precision: rows
 * sorted by similarity, ties by row. */
static size_t reference_topk(const float *vecs, size_t n, int d, const float *q, size_t k,
                             size_t *rows, double *sims)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double s = dot_ref(vecs + i * (size_t)d, q, d);
        size_t pos = m < k ? m : k;
        while (pos > 0 && sims[pos - 1] < s) {
            pos--;
        }
        if (pos >= k) {
            continue;
        }
        size_t last = m < k ? m : k - 1;
        for (size_t t = last; t > pos; t--) {
            rows[t] = rows[t - 1];
            sims[t] = sims[t - 1];
        }
        rows[pos] = i;
        sims[pos] = s;
        if (m < k) {
            m++;
        }
    }
    return m;
}

TEST(index_exact_matches_reference)
{
    static const int dims[] = {1, 7, 31, 192, 512, 704};
    static const size_t sizes[] = {0, 1, 5, 17, 1000};
    uint64_t s = 42;
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            int d = dims[di];
            size_t n = sizes[si];
            float *vecs = NULL;
            gallery_index *idx = random_index(d, n, 7 + di * 100 + si, &vecs);
            ASSERT_TRUE(idx != NULL);
            ASSERT_EQ_INT(gallery_index_size(idx), n);
            ASSERT_EQ_INT(gallery_index_dim(idx), d);
            float *q = malloc((size_t)d * sizeof(float));
            unit_vector(&s, q, d);
            gallery_hit hits[10];
            size_t rows[10], got = 99;
            double sims[10];
            size_t want = reference_topk(vecs, n, d, q, 10, rows, sims);
            mien_error err;
            ASSERT_OK(gallery_index_search(idx, q, 10, -2.0f, GALLERY_SEARCH_EXACT_F32, hits,
                                           &got, &err), &err);
            ASSERT_EQ_INT(got, want);
            for (size_t i = 0; i < got; i++) {
                /* f32 sums may swap near-ties with the double reference: compare
                 * similarities tightly, ids only when the gap is clear. */
                ASSERT_NEAR(hits[i].similarity, sims[i], 1e-5);
                if (i + 1 < got && sims[i] - sims[i + 1] > 1e-5 &&
                    (i == 0 || sims[i - 1] - sims[i] > 1e-5)) {
                    ASSERT_EQ_INT(hits[i].subject_id, (int64_t)rows[i]);
                    ASSERT_EQ_INT(hits[i].face_id, (int64_t)rows[i] + 1000);
                }
            }
            free(q);
            free(vecs);
            gallery_index_free(idx);
        }
    }
    return 0;
}

TEST(index_int8_matches_f32)
{
    /* Well separated: 300 random centres, the query near one of them. */
    static const int dims[] = {192, 704, 100};
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
        int d = dims[di];
        float *vecs = NULL;
        gallery_index *idx = random_index(d, 300, 99 + di, &vecs);
        ASSERT_TRUE(idx != NULL);
        uint64_t s = 5;
        float *q = malloc((size_t)d * sizeof(float));
        for (int t = 0; t < 20; t++) {
            near_vector(&s, vecs + (size_t)(t * 13) * (size_t)d, 0.3f, q, d);
            gallery_hit a[5], b[5];
            size_t na = 0, nb = 0;
            ASSERT_OK(gallery_index_search(idx, q, 5, -2.0f, GALLERY_SEARCH_EXACT_F32, a, &na,
                                           NULL), NULL);
            ASSERT_OK(gallery_index_search(idx, q, 5, -2.0f, GALLERY_SEARCH_EXACT_INT8, b, &nb,
                                           NULL), NULL);
            ASSERT_EQ_INT(na, 5);
            ASSERT_EQ_INT(nb, 5);
            ASSERT_EQ_INT(a[0].subject_id, t * 13);
            for (size_t i = 0; i < 5; i++) {
                ASSERT_EQ_INT(b[i].subject_id, a[i].subject_id);
                /* Re-ranked: the exact f32 value, bit for bit. */
                ASSERT_TRUE(b[i].similarity == a[i].similarity);
            }
            /* AUTO without a graph is int8 + re-rank. */
            ASSERT_OK(gallery_index_search(idx, q, 5, -2.0f, GALLERY_SEARCH_AUTO, b, &nb, NULL),
                      NULL);
            ASSERT_TRUE(b[0].similarity == a[0].similarity);
        }
        free(q);
        free(vecs);
        gallery_index_free(idx);
    }
    return 0;
}

TEST(index_aggregates_subjects)
{
    const int d = 64;
    uint64_t s = 11;
    float c[64], v[64], q[64];
    gallery_index *idx = NULL;
    ASSERT_OK(gallery_index_new(d, &idx, NULL), NULL);
    float *noise = malloc(200 * (size_t)d * sizeof(float));
    for (int i = 0; i < 200; i++) {
        unit_vector(&s, noise + (size_t)i * d, d);
        ASSERT_OK(gallery_index_add(idx, 100 + i, 1000 + i, noise + (size_t)i * d, NULL), NULL);
    }
    /* Subject 7: three faces near c, face 3 the nearest to q. */
    unit_vector(&s, c, d);
    memcpy(q, c, sizeof(q));
    near_vector(&s, c, 0.2f, v, d);
    ASSERT_OK(gallery_index_add(idx, 1, 7, v, NULL), NULL);
    near_vector(&s, c, 0.1f, v, d);
    ASSERT_OK(gallery_index_add(idx, 2, 7, v, NULL), NULL);
    ASSERT_OK(gallery_index_add(idx, 3, 7, c, NULL), NULL);
    gallery_search_mode modes[] = {GALLERY_SEARCH_EXACT_F32, GALLERY_SEARCH_EXACT_INT8};
    for (int m = 0; m < 2; m++) {
        gallery_hit hits[4];
        size_t n = 0;
        ASSERT_OK(gallery_index_search(idx, q, 4, -2.0f, modes[m], hits, &n, NULL), NULL);
        ASSERT_EQ_INT(n, 4);
        ASSERT_EQ_INT(hits[0].subject_id, 7);
        ASSERT_EQ_INT(hits[0].face_id, 3);
        ASSERT_NEAR(hits[0].similarity, 1.0, 1e-5);
        for (int i = 1; i < 4; i++) {
            ASSERT_TRUE(hits[i].subject_id != 7);
            ASSERT_TRUE(hits[i].similarity <= hits[i - 1].similarity);
        }
    }
    /* One subject owning more faces than the first candidate list (4k): the search widens
     * until it has k distinct subjects. */
    for (int i = 0; i < 30; i++) {
        near_vector(&s, c, 0.05f, v, d);
        ASSERT_OK(gallery_index_add(idx, 500 + i, 8, v, NULL), NULL);
    }
    gallery_hit hits[3];
    size_t n = 0;
    ASSERT_OK(gallery_index_search(idx, q, 3, -2.0f, GALLERY_SEARCH_EXACT_F32, hits, &n, NULL),
              NULL);
    ASSERT_EQ_INT(n, 3);
    ASSERT_TRUE(hits[0].subject_id == 7 || hits[0].subject_id == 8);
    ASSERT_TRUE(hits[1].subject_id == 7 || hits[1].subject_id == 8);
    ASSERT_TRUE(hits[2].subject_id >= 1000);
    free(noise);
    gallery_index_free(idx);
    return 0;
}

TEST(index_threshold)
{
    float *vecs = NULL;
    gallery_index *idx = random_index(32, 500, 3, &vecs);
    ASSERT_TRUE(idx != NULL);
    const float *q = vecs + 10 * 32;
    gallery_hit hits[10];
    size_t n = 0;
    /* Only the face itself is above 0.99. */
    gallery_search_mode modes[] = {GALLERY_SEARCH_EXACT_F32, GALLERY_SEARCH_EXACT_INT8};
    for (int m = 0; m < 2; m++) {
        ASSERT_OK(gallery_index_search(idx, q, 10, 0.99f, modes[m], hits, &n, NULL), NULL);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_INT(hits[0].subject_id, 10);
        ASSERT_OK(gallery_index_search(idx, q, 10, 1.5f, modes[m], hits, &n, NULL), NULL);
        ASSERT_EQ_INT(n, 0);
        /* A middling threshold: every hit at or above it, and every face above it found. */
        ASSERT_OK(gallery_index_search(idx, q, 10, 0.3f, modes[m], hits, &n, NULL), NULL);
        size_t above = 0;
        for (size_t i = 0; i < 500; i++) {
            float s = 0.0f;
            for (int j = 0; j < 32; j++) {
                s += vecs[i * 32 + j] * q[j];
            }
            above += s >= 0.3f + 1e-5f;
        }
        for (size_t i = 0; i < n; i++) {
            ASSERT_TRUE(hits[i].similarity >= 0.3f);
        }
        ASSERT_EQ_INT(n, above < 10 ? above : 10);
    }
    /* Bad arguments. */
    mien_error err;
    ASSERT_STATUS(gallery_index_search(idx, q, 0, 0.0f, GALLERY_SEARCH_AUTO, hits, &n, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(gallery_index_search(idx, NULL, 1, 0.0f, GALLERY_SEARCH_AUTO, hits, &n, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(gallery_index_search(idx, q, 1, 0.0f, GALLERY_SEARCH_APPROX, hits, &n, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(gallery_index_new(0, NULL, &err), MIEN_ERR_ARG, &err);
    gallery_index *bad = (gallery_index *)1;
    ASSERT_STATUS(gallery_index_new(GALLERY_INDEX_DIM_MAX + 1, &bad, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(bad == NULL);
    float inf[32];
    memcpy(inf, q, sizeof(inf));
    inf[3] = INFINITY;
    ASSERT_STATUS(gallery_index_add(idx, 1, 1, inf, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(gallery_index_size(idx), 500);
    gallery_index_free(NULL);
    free(vecs);
    gallery_index_free(idx);
    return 0;
}

TEST(index_remove_subject)
{
    const int d = 192;
    gallery_index *idx = NULL;
    ASSERT_OK(gallery_index_new(d, &idx, NULL), NULL);
    uint64_t s = 8;
    float *v = malloc(3000 * (size_t)d * sizeof(float));
    for (int i = 0; i < 3000; i++) {
        unit_vector(&s, v + (size_t)i * d, d);
        /* Subject i % 3: 0 and 1 hold 2000 faces together, 2 holds 1000. */
        ASSERT_OK(gallery_index_add(idx, i, i % 3, v + (size_t)i * d, NULL), NULL);
    }
    ASSERT_OK(gallery_index_build_approx(idx, NULL), NULL);
    ASSERT_TRUE(gallery_index_has_approx(idx));
    size_t bytes = gallery_index_bytes(idx), removed = 0;
    ASSERT_OK(gallery_index_remove_subject(idx, 0, &removed, NULL), NULL);
    ASSERT_EQ_INT(removed, 1000);
    ASSERT_OK(gallery_index_remove_subject(idx, 1, &removed, NULL), NULL);
    ASSERT_EQ_INT(removed, 1000);
    ASSERT_OK(gallery_index_remove_subject(idx, 12345, &removed, NULL), NULL);
    ASSERT_EQ_INT(removed, 0);
    ASSERT_EQ_INT(gallery_index_size(idx), 1000);
    /* The graph is dropped (it could only mark deletions) and the arrays shrank. */
    ASSERT_TRUE(!gallery_index_has_approx(idx));
    ASSERT_TRUE(gallery_index_bytes(idx) < bytes / 2);
    gallery_search_mode modes[] = {GALLERY_SEARCH_EXACT_F32, GALLERY_SEARCH_EXACT_INT8,
                                   GALLERY_SEARCH_AUTO};
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < 30; i++) {
            gallery_hit hits[3];
            size_t n = 0;
            ASSERT_OK(gallery_index_search(idx, v + (size_t)i * d, 3, -2.0f, modes[m], hits, &n,
                                           NULL), NULL);
            ASSERT_EQ_INT(n, 1); /* only subject 2 is left */
            ASSERT_EQ_INT(hits[0].subject_id, 2);
            if (i % 3 == 2) {
                ASSERT_EQ_INT(hits[0].face_id, i);
                ASSERT_NEAR(hits[0].similarity, 1.0, 1e-5);
            }
        }
    }
    /* Rebuilt graph over the survivors: a removed face is never returned. */
    ASSERT_OK(gallery_index_build_approx(idx, NULL), NULL);
    for (int i = 0; i < 30; i++) {
        gallery_hit hits[1];
        size_t n = 0;
        ASSERT_OK(gallery_index_search(idx, v + (size_t)i * d, 1, -2.0f, GALLERY_SEARCH_APPROX,
                                       hits, &n, NULL), NULL);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_INT(hits[0].subject_id, 2);
    }
    /* Adds after the build join the graph. */
    ASSERT_OK(gallery_index_add(idx, 77777, 9, v, NULL), NULL);
    gallery_hit hit;
    size_t n = 0;
    ASSERT_OK(gallery_index_search(idx, v, 1, -2.0f, GALLERY_SEARCH_APPROX, &hit, &n, NULL),
              NULL);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(hit.face_id, 77777);
    ASSERT_OK(gallery_index_remove_subject(idx, 2, &removed, NULL), NULL);
    ASSERT_OK(gallery_index_remove_subject(idx, 9, &removed, NULL), NULL);
    ASSERT_EQ_INT(gallery_index_size(idx), 0);
    ASSERT_OK(gallery_index_search(idx, v, 1, -2.0f, GALLERY_SEARCH_AUTO, &hit, &n, NULL), NULL);
    ASSERT_EQ_INT(n, 0);
    free(v);
    gallery_index_free(idx);
    return 0;
}

TEST(index_isa_paths_agree)
{
    static const int dims[] = {192, 704, 45};
    static const gallery_isa isas[] = {GALLERY_ISA_SCALAR, GALLERY_ISA_AVX2,
                                       GALLERY_ISA_AVX512};
    for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
        int d = dims[di];
        float *vecs = NULL;
        gallery_index *idx = random_index(d, 1003, 500 + di, &vecs);
        ASSERT_TRUE(idx != NULL);
        uint64_t s = 77;
        float *q = malloc((size_t)d * sizeof(float));
        for (int t = 0; t < 5; t++) {
            unit_vector(&s, q, d);
            for (int mode = GALLERY_SEARCH_EXACT_F32; mode <= GALLERY_SEARCH_EXACT_INT8;
                 mode++) {
                gallery_hit best[8];
                size_t nb = 0;
                ASSERT_OK(gallery_index_search_isa(idx, q, 8, -2.0f, mode, GALLERY_ISA_BEST,
                                                   best, &nb, NULL), NULL);
                ASSERT_EQ_INT(nb, 8);
                for (size_t k = 0; k < sizeof(isas) / sizeof(isas[0]); k++) {
                    gallery_hit h[8];
                    size_t nh = 0;
                    ASSERT_OK(gallery_index_search_isa(idx, q, 8, -2.0f, mode, isas[k], h, &nh,
                                                       NULL), NULL);
                    ASSERT_EQ_INT(nh, nb);
                    for (size_t i = 0; i < nh; i++) {
                        /* Sums differ only in rounding order. */
                        ASSERT_NEAR(h[i].similarity, best[i].similarity, 1e-5);
                        if ((i == 0 || best[i - 1].similarity - best[i].similarity > 1e-5) &&
                            (i + 1 == nh || best[i].similarity - best[i + 1].similarity > 1e-5)) {
                            ASSERT_EQ_INT(h[i].face_id, best[i].face_id);
                        }
                    }
                }
            }
        }
        free(q);
        free(vecs);
        gallery_index_free(idx);
    }
    return 0;
}

TEST(index_hnsw_recall)
{
    /* 20 000 vectors in 4 000 clusters of 5 (like enrolment photos of one person). */
    const int d = 64, per = 5;
    const size_t n = 20000, queries = 200;
    gallery_index *idx = NULL;
    ASSERT_OK(gallery_index_new(d, &idx, NULL), NULL);
    uint64_t s = 2024;
    float *centres = malloc(n / per * (size_t)d * sizeof(float));
    float v[64];
    for (size_t c = 0; c < n / per; c++) {
        unit_vector(&s, centres + c * (size_t)d, d);
        for (int i = 0; i < per; i++) {
            near_vector(&s, centres + c * (size_t)d, 0.1f, v, d);
            ASSERT_OK(gallery_index_add(idx, (int64_t)(c * per + (size_t)i), (int64_t)c, v,
                                        NULL), NULL);
        }
    }
    mien_error err;
    ASSERT_OK(gallery_index_build_approx(idx, &err), &err);
    size_t found = 0, total = 0;
    for (size_t t = 0; t < queries; t++) {
        near_vector(&s, centres + (rnd(&s) % (n / per)) * (size_t)d, 0.1f, v, d);
        gallery_hit exact[10], approx[10];
        size_t ne = 0, na = 0;
        ASSERT_OK(gallery_index_search(idx, v, 10, -2.0f, GALLERY_SEARCH_EXACT_F32, exact, &ne,
                                       NULL), NULL);
        ASSERT_OK(gallery_index_search(idx, v, 10, -2.0f, GALLERY_SEARCH_AUTO, approx, &na,
                                       NULL), NULL);
        ASSERT_EQ_INT(ne, 10);
        ASSERT_TRUE(approx[0].subject_id == exact[0].subject_id);
        for (size_t i = 0; i < ne; i++) {
            for (size_t j = 0; j < na; j++) {
                if (approx[j].subject_id == exact[i].subject_id) {
                    found++;
                    /* Similarities are exact f32 values whichever path found the face. */
                    ASSERT_NEAR(approx[j].similarity, exact[i].similarity, 1e-6);
                    break;
                }
            }
        }
        total += ne;
    }
    double recall = (double)found / (double)total;
    printf("  HNSW recall@10 on %zu clustered %d-d vectors: %.4f\n", n, d, recall);
    ASSERT_TRUE(recall >= 0.95);
    free(centres);
    gallery_index_free(idx);
    return 0;
}
