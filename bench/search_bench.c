/* search_bench.c — mien_bench_search, the program behind bench/search.sh: exact (f32, int8)
 * and approximate (HNSW) search of gallery/index.c on synthetic galleries shaped like real
 * ones, against the memory-bandwidth floor, in one run.
 *
 * Data: `ids` identity centres uniformly on the unit sphere (normalised Gaussian vectors),
 * `per` samples each: sample = normalise(c + σ·g/√d), g ~ N(0, I), with σ² drawn per
 * identity uniformly in [0.25, 2/3], so that two samples of one identity have cosine
 * 1 / (1 + σ²) ∈ [0.6, 0.8] (ArcFace-like genuine scores); subject = identity. Queries are
 * fresh samples of enrolled identities.
 *
 * Per dimension it prints one JSON line per case (f32, int8, hnsw): "isa", the level mien's
 * kernels ran at (the CPU's best, or $MIEN_MAX_ISA's cap, which bench/search.sh --isa sets);
 * the floor (the fastest of several read loops over the same number of bytes: scalar, AVX2
 * with 4 or 8 accumulators and with prefetch, AVX-512 plain and with prefetch, those the ISA
 * level allows; each loop reads once before each query; the best loop's median: GB/s and ms,
 * and "floor_loop", which loop it was), the median query latency (top-10 subjects, no
 * threshold), ratio_to_floor (ms / floor_ms), recall_at_10 (fraction of the exact f32
 * top-10 subjects found), and bytes per template; and a "mean-D" line: the int8 search of
 * 30 subjects followed by their re-scoring under the mean rule (gallery_index_subject), the
 * cost of aggregating at search time (docs/search.md).
 *
 *   mien_bench_search [--n N] [--per P] [--dims 192,512] [--queries Q] [--hnsw-n D:N,...]
 *                     [--m M] [--efc EF] [--ef EF,EF,...] [--seed S]
 *
 * $MIEN_MAX_ISA (bench/search.sh --isa) caps the ISA level, as in the test runner.
 * --hnsw-n 512:200000 builds the 512-d graph over the first 200 000 faces only (its own
 * exact ground truth), 0 skips it; --dims resets every graph to 0 (none), so that
 * `--dims 192` alone runs the exact cases only. --ef lists search beams: the first is
 * reported as the `hnsw-D` case, the others as `hnsw-D-efE` lines (for choosing the
 * default). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gallery/index.h"

#define MAX_DIMS 4
#define MAX_EF 8

typedef struct opts {
    size_t n, per, queries;
    int dims[MAX_DIMS], ndims;
    size_t hnsw_n[MAX_DIMS]; /* per dims[i]: faces in the graph (0: none) */
    int m, efc, ef[MAX_EF], nef;
    uint64_t seed;
} opts;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* splitmix64: a small, fast, seedable generator (Steele et al., OOPSLA 2014). */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Fills x[0..n) with N(0, 1) samples (Box–Muller). */
static void gauss(uint64_t *s, float *x, int n)
{
    for (int i = 0; i < n; i += 2) {
        double r = sqrt(-2.0 * log(rng_unit(s))), t = 6.283185307179586 * rng_unit(s);
        x[i] = (float)(r * cos(t));
        if (i + 1 < n) {
            x[i + 1] = (float)(r * sin(t));
        }
    }
}

static void normalise(float *x, int d)
{
    double ss = 0.0;
    for (int j = 0; j < d; j++) {
        ss += (double)x[j] * x[j];
    }
    float inv = (float)(1.0 / sqrt(ss));
    for (int j = 0; j < d; j++) {
        x[j] *= inv;
    }
}

/* One sample of identity `id` (centre c, noise sigma) into out, from stream `stream`. */
static void sample(const float *c, float sigma, int d, uint64_t seed, uint64_t stream, float *out)
{
    uint64_t s = seed ^ (stream * 0xd1342543de82ef95ull);
    gauss(&s, out, d);
    float f = sigma / sqrtf((float)d);
    for (int j = 0; j < d; j++) {
        out[j] = c[j] + f * out[j];
    }
    normalise(out, d);
}

/* Memory the floor loops read (the f32 matrix doubles as the f32 floor's buffer): on
 * transparent huge pages, as the index's scan arrays are (src/gallery/index.c,
 * alloc_scan_array), so that the floor reads as fast as memory allows and the scans cannot
 * beat it by having the better pages. Rounded up to 2 MiB. */
static void *floor_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    bytes = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, bytes);
    if (p != NULL) {
        (void)madvise(p, bytes, MADV_HUGEPAGE);
    }
    return p;
}

/* ---- the floor: the fastest of several read loops -------------------------------------------
 * A kernel that beat its floor would show the floor was not one, so the floor is the best
 * of several ways to read the same bytes: scalar, AVX2 with 4 or 8 independent accumulators,
 * AVX2 with software prefetch, and AVX-512 (plain and with prefetch) where the process's ISA
 * level allows (MIEN_MAX_ISA: at a cap of avx2 the floor is what an AVX2 machine reads).
 * Each adds the 64-bit words it reads, so nothing can be optimised away. Buffers are 64-byte
 * aligned and hold a multiple of 256 bytes. */

/* Bytes ahead of the loads that the prefetching loops ask for: 32 cache lines, about the
 * latency of DRAM at one core's read rate (~90 ns × ~20 GB/s ≈ 1.8 KB). */
#define PREFETCH_AHEAD 2048

/* Plain C, four accumulators (the compiler may vectorise it with the baseline SSE2). */
static uint64_t read_c(const void *p, size_t bytes)
{
    const uint64_t *v = p;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = 0; i + 4 <= bytes / 8; i += 4) {
        a0 += v[i];
        a1 += v[i + 1];
        a2 += v[i + 2];
        a3 += v[i + 3];
    }
    return (a0 + a1) + (a2 + a3);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static uint64_t hsum_epi64(__m256i a)
{
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}

/* AVX2 loads, 4 accumulators: 128 bytes an iteration. */
__attribute__((target("avx2"))) static uint64_t read_avx2_4(const void *p, size_t bytes)
{
    const __m256i *v = p;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 4 <= bytes / 32; i += 4) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + i));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + i + 1));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + i + 2));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + i + 3));
    }
    return hsum_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
}

/* AVX2 loads, 8 independent accumulators: 256 bytes an iteration, 4 cache lines in flight;
 * with `prefetch`, a prefetch of each cache line PREFETCH_AHEAD bytes before its loads.
 * Always inlined with a constant `prefetch`, so each caller is its own loop, without the
 * test. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t
avx2_8acc(const void *p, size_t bytes, bool prefetch)
{
    const __m256i *v = p;
    const char *c = p;
    __m256i a[8];
    for (int k = 0; k < 8; k++) {
        a[k] = _mm256_setzero_si256();
    }
    for (size_t i = 0; i + 8 <= bytes / 32; i += 8) {
        for (int k = 0; prefetch && k < 4; k++) { /* prefetch never faults past the end */
            _mm_prefetch(c + i * 32 + PREFETCH_AHEAD + 64 * k, _MM_HINT_T0);
        }
        for (int k = 0; k < 8; k++) {
            a[k] = _mm256_add_epi64(a[k], _mm256_load_si256(v + i + k));
        }
    }
    for (int k = 1; k < 8; k++) {
        a[0] = _mm256_add_epi64(a[0], a[k]);
    }
    return hsum_epi64(a[0]);
}

__attribute__((target("avx2"))) static uint64_t read_avx2_8(const void *p, size_t bytes)
{
    return avx2_8acc(p, bytes, false);
}

__attribute__((target("avx2"))) static uint64_t read_avx2_pf(const void *p, size_t bytes)
{
    return avx2_8acc(p, bytes, true);
}

/* AVX-512 loads, 4 accumulators: 256 bytes an iteration; with `prefetch`, a prefetch of each
 * cache line PREFETCH_AHEAD bytes before its load. Inlined as avx2_8acc is. */
__attribute__((target("avx512f"), always_inline)) static inline uint64_t
avx512_4acc(const void *p, size_t bytes, bool prefetch)
{
    const __m512i *v = p;
    const char *c = p;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 4 <= bytes / 64; i += 4) {
        for (int k = 0; prefetch && k < 4; k++) {
            _mm_prefetch(c + i * 64 + PREFETCH_AHEAD + 64 * k, _MM_HINT_T0);
        }
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(v + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(v + i + 1));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(v + i + 2));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(v + i + 3));
    }
    a0 = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
    return (uint64_t)_mm512_reduce_add_epi64(a0);
}

__attribute__((target("avx512f"))) static uint64_t read_avx512_4(const void *p, size_t bytes)
{
    return avx512_4acc(p, bytes, false);
}

__attribute__((target("avx512f"))) static uint64_t read_avx512_pf(const void *p, size_t bytes)
{
    return avx512_4acc(p, bytes, true);
}
#endif

typedef struct floor_loop {
    const char *name; /* as "floor_loop" reports it */
    mien_isa level;   /* the ISA level it needs */
    uint64_t (*read)(const void *p, size_t bytes);
} floor_loop;

static const floor_loop FLOOR_LOOPS[] = {
    {"c", MIEN_ISA_C, read_c},
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx2", MIEN_ISA_AVX2, read_avx2_4},
    {"avx2-8acc", MIEN_ISA_AVX2, read_avx2_8},
    {"avx2-8acc-prefetch", MIEN_ISA_AVX2, read_avx2_pf},
    {"avx512", MIEN_ISA_AVX512, read_avx512_4},
    {"avx512-prefetch", MIEN_ISA_AVX512, read_avx512_pf},
#endif
};
#define N_FLOOR_LOOPS (sizeof(FLOOR_LOOPS) / sizeof(FLOOR_LOOPS[0]))

/* Time (ms) of one read of `bytes` at p by `loop`. */
static double read_ms(const floor_loop *loop, const void *p, size_t bytes)
{
    static volatile uint64_t sink;
    double t0 = now_ms();
    sink += loop->read(p, bytes);
    return now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static double median(double *x, size_t n)
{
    qsort(x, n, sizeof(*x), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* The floor of one case: the best loop's median time, and which loop that was. */
typedef struct floor_result {
    double ms;
    const char *loop;
} floor_result;

/* Runs every query in `mode`: median latency (ms) and top-10 hits into res[q·10..]. When
 * floor_buf is not NULL, each query is preceded by one read of floor_bytes by every floor
 * loop the ISA level allows (in an order rotated per query, so that none always reads right
 * after the search); *floor gets the fastest loop's median. Floor and search see the same
 * machine load (the bench may share its cores). */
static double run_queries(const gallery_index *idx, const float *qs, size_t nq, int d,
                          gallery_search_mode mode, gallery_hit *res, size_t *nres,
                          const void *floor_buf, size_t floor_bytes, floor_result *floor)
{
    double *t = malloc(nq * sizeof(*t)), *f = malloc(nq * N_FLOOR_LOOPS * sizeof(*f));
    mien_error err;
    if (t == NULL || f == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t q = 0; q < nq; q++) {
        for (size_t k = 0; floor_buf != NULL && k < N_FLOOR_LOOPS; k++) {
            size_t l = (q + k) % N_FLOOR_LOOPS;
            if (FLOOR_LOOPS[l].level <= mien_isa_active()) {
                f[l * nq + q] = read_ms(&FLOOR_LOOPS[l], floor_buf, floor_bytes);
            }
        }
        double t0 = now_ms();
        if (gallery_index_search(idx, qs + q * (size_t)d, 10, -2.0f, mode, res + q * 10,
                                 &nres[q], &err) != MIEN_OK) {
            fprintf(stderr, "search failed: %s\n", err.message);
            exit(1);
        }
        t[q] = now_ms() - t0;
    }
    double m = median(t, nq);
    for (size_t l = 0; floor_buf != NULL && l < N_FLOOR_LOOPS; l++) {
        if (FLOOR_LOOPS[l].level <= mien_isa_active()) {
            double ms = median(f + l * nq, nq);
            fprintf(stderr, "  floor loop %-20s %8.2f ms\n", FLOOR_LOOPS[l].name, ms);
            if (floor->loop == NULL || ms < floor->ms) {
                floor->ms = ms;
                floor->loop = FLOOR_LOOPS[l].name;
            }
        }
    }
    free(t);
    free(f);
    return m;
}

/* Fraction of the reference top-10 subjects with similarity >= min_sim found in `got`
 * (returned similarities are exact, so a threshold is a filter of the top-10 lists). */
static double recall_at(const gallery_hit *ref, const size_t *nref, const gallery_hit *got,
                        const size_t *ngot, size_t nq, float min_sim)
{
    size_t found = 0, total = 0;
    for (size_t q = 0; q < nq; q++) {
        for (size_t i = 0; i < nref[q]; i++) {
            if (ref[q * 10 + i].similarity < min_sim) {
                continue;
            }
            total++;
            for (size_t j = 0; j < ngot[q]; j++) {
                if (got[q * 10 + j].subject_id == ref[q * 10 + i].subject_id) {
                    found++;
                    break;
                }
            }
        }
    }
    return total ? (double)found / (double)total : 1.0;
}

static double recall(const gallery_hit *ref, const size_t *nref, const gallery_hit *got,
                     const size_t *ngot, size_t nq)
{
    return recall_at(ref, nref, got, ngot, nq, -2.0f);
}

static void parse_list(const char *s, int *out, int *n, int max)
{
    *n = 0;
    while (*s && *n < max) {
        out[(*n)++] = atoi(s);
        const char *c = strchr(s, ',');
        if (c == NULL) {
            break;
        }
        s = c + 1;
    }
}

/* Builds and measures the HNSW graph over the first `n` faces of `data` (ground truth: the
 * exact f32 scan of the same faces). */
static void bench_hnsw(const opts *o, const float *data, const int64_t *subject, size_t n,
                       int d, const float *qs, size_t nq, const floor_result *floor32)
{
    mien_error err;
    gallery_index *idx = NULL;
    if (gallery_index_new(d, &idx, &err) != MIEN_OK) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        gallery_index_add(idx, (int64_t)i, subject[i], data + i * (size_t)d, NULL);
    }
    gallery_hit *ref = malloc(nq * 10 * sizeof(*ref)), *got = malloc(nq * 10 * sizeof(*got));
    size_t *nref = malloc(nq * sizeof(*nref)), *ngot = malloc(nq * sizeof(*ngot));
    double f32_ms = run_queries(idx, qs, nq, d, GALLERY_SEARCH_EXACT_F32, ref, nref, NULL, 0, NULL);
    gallery_approx_params p = gallery_approx_params_default();
    if (o->m > 0) {
        p.m = o->m;
    }
    if (o->efc > 0) {
        p.ef_construction = o->efc;
    }
    if (o->nef > 0) {
        p.ef_search = o->ef[0];
    }
    size_t before = gallery_index_bytes(idx);
    double t0 = now_ms();
    if (gallery_index_build_approx_with(idx, &p, &err) != MIEN_OK) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    double build_s = (now_ms() - t0) / 1e3;
    /* The fast profile's calibrated threshold at FMR 1e-4: the hits a caller would keep. */
    float thr = 0.0f;
    mien_threshold_for_fmr(MIEN_PROFILE_FAST, 1e-4, &thr);
    double graph_bytes = (double)(gallery_index_bytes(idx) - before) / (double)n;
    int nef = o->nef > 0 ? o->nef : 1;
    for (int e = 0; e < nef; e++) {
        int ef = o->nef > 0 ? o->ef[e] : p.ef_search;
        gallery_index_set_approx_ef(idx, ef, NULL);
        double ms = run_queries(idx, qs, nq, d, GALLERY_SEARCH_APPROX, got, ngot, NULL, 0, NULL);
        char name[64];
        if (e == 0) {
            snprintf(name, sizeof(name), "hnsw-%d", d);
        } else {
            snprintf(name, sizeof(name), "hnsw-%d-ef%d", d, ef);
        }
        printf("{\"case\":\"%s\",\"isa\":\"%s\",\"n\":%zu,\"dim\":%d,\"queries\":%zu,"
               "\"m\":%d,\"ef_construction\":%d,\"ef_search\":%d,\"build_s\":%.1f,"
               "\"floor_loop\":\"%s\",\"floor_ms\":%.2f,\"ms\":%.3f,\"ratio_to_floor\":%.3f,"
               "\"exact_f32_ms\":%.2f,\"speedup_vs_f32\":%.1f,\"recall_at_10\":%.4f,"
               "\"recall_at_10_fmr1e-4\":%.4f,\"bytes_per_template\":%.0f}\n",
               name, mien_isa_name(mien_isa_active()), n, d, nq, p.m, p.ef_construction, ef,
               build_s, floor32->loop, floor32->ms, ms, ms / floor32->ms, f32_ms, f32_ms / ms,
               recall(ref, nref, got, ngot, nq),
               recall_at(ref, nref, got, ngot, nq, thr), graph_bytes);
        fflush(stdout);
    }
    free(ref);
    free(got);
    free(nref);
    free(ngot);
    gallery_index_free(idx);
}

/* The cost of scoring subjects by an aggregate at search time (gallery.c's search): the int8
 * scan proposes 2·10 + 10 subjects, then each is re-scored from its faces under the mean
 * rule (gallery_index_subject). Prints the median of the whole and of the re-scoring. */
static void bench_aggregate(const gallery_index *idx, const float *qs, size_t nq, int d,
                            size_t per)
{
    enum { PROPOSE = 30 };
    double *t = malloc(nq * sizeof(*t)), *r = malloc(nq * sizeof(*r));
    gallery_hit hits[PROPOSE];
    mien_error err;
    if (t == NULL || r == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t q = 0; q < nq; q++) {
        size_t n = 0;
        double t0 = now_ms();
        if (gallery_index_search(idx, qs + q * (size_t)d, PROPOSE, -2.0f,
                                 GALLERY_SEARCH_EXACT_INT8, hits, &n, &err) != MIEN_OK) {
            fprintf(stderr, "search failed: %s\n", err.message);
            exit(1);
        }
        double t1 = now_ms();
        for (size_t k = 0; k < n; k++) {
            mien_face_match *m = NULL;
            size_t nm = 0;
            float score;
            if (gallery_index_subject(idx, qs + q * (size_t)d, hits[k].subject_id,
                                      MIEN_AGGREGATE_MEAN, &score, &m, &nm, &err) != MIEN_OK) {
                fprintf(stderr, "aggregate failed: %s\n", err.message);
                exit(1);
            }
            free(m);
        }
        t[q] = now_ms() - t0;
        r[q] = now_ms() - t1;
    }
    printf("{\"case\":\"mean-%d\",\"isa\":\"%s\",\"n\":%zu,\"faces_per_subject\":%zu,"
           "\"dim\":%d,\"queries\":%zu,\"subjects_rescored\":%d,\"ms\":%.3f,"
           "\"rescore_ms\":%.4f}\n",
           d, mien_isa_name(mien_isa_active()), gallery_index_size(idx), per, d, nq, PROPOSE,
           median(t, nq), median(r, nq));
    fflush(stdout);
    free(t);
    free(r);
}

static void bench_dim(const opts *o, int d, size_t hnsw_n)
{
    size_t n = o->n, ids = (o->n + o->per - 1) / o->per, nq = o->queries;
    float *centre = malloc(ids * (size_t)d * sizeof(float));
    float *sigma = malloc(ids * sizeof(float));
    float *data = floor_alloc(n * (size_t)d * sizeof(float));
    int64_t *subject = malloc(n * sizeof(int64_t));
    float *qs = malloc(nq * (size_t)d * sizeof(float));
    if (!centre || !sigma || !data || !subject || !qs) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    double t0 = now_ms();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < ids; i++) {
        uint64_t s = o->seed * 1000003u + i * 0x9e3779b97f4a7c15ull + (uint64_t)d;
        gauss(&s, centre + i * (size_t)d, d);
        normalise(centre + i * (size_t)d, d);
        sigma[i] = sqrtf(0.25f + (float)rng_unit(&s) * (2.0f / 3.0f - 0.25f));
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        sample(centre + (i / o->per) * (size_t)d, sigma[i / o->per], d, o->seed + 1, i,
               data + i * (size_t)d);
        subject[i] = (int64_t)(i / o->per);
    }
    /* Queries: fresh samples of identities spread over the whole gallery. */
    uint64_t qsd = o->seed + 7;
    size_t *qid = malloc(nq * sizeof(size_t));
    for (size_t q = 0; q < nq; q++) {
        qid[q] = (size_t)(rng_next(&qsd) % ids);
        sample(centre + qid[q] * (size_t)d, sigma[qid[q]], d, o->seed + 2, q, qs + q * (size_t)d);
    }
    double genuine = 0.0;
    for (size_t q = 0; q < nq; q++) {
        const float *a = qs + q * (size_t)d, *b = data + qid[q] * o->per * (size_t)d;
        double dot = 0.0;
        for (int j = 0; j < d; j++) {
            dot += (double)a[j] * b[j];
        }
        genuine += dot / (double)nq;
    }
    fprintf(stderr, "dim %d: %zu faces of %zu identities generated in %.1f s; mean genuine "
            "cosine %.3f\n", d, n, ids, (now_ms() - t0) / 1e3, genuine);

    mien_error err;
    gallery_index *idx = NULL;
    if (gallery_index_new(d, &idx, &err) != MIEN_OK) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    t0 = now_ms();
    for (size_t i = 0; i < n; i++) {
        if (gallery_index_add(idx, (int64_t)i, subject[i], data + i * (size_t)d, &err) !=
            MIEN_OK) {
            fprintf(stderr, "%s\n", err.message);
            exit(1);
        }
    }
    fprintf(stderr, "dim %d: index filled in %.1f s (%.0f bytes per face resident)\n", d,
            (now_ms() - t0) / 1e3, (double)gallery_index_bytes(idx) / (double)n);

    /* Floors: the same numbers of bytes as each scan reads (f32 matrix; int8 rows plus the
     * per-row scale and sum), read by a plain loop, interleaved with the queries. */
    size_t b32 = n * (size_t)d * sizeof(float), b8 = n * ((size_t)d + 8);
    int8_t *buf8 = floor_alloc(b8);
    memset(buf8, 1, (b8 + 255) / 256 * 256);
    floor_result f32_floor = {0.0, NULL}, i8_floor = {0.0, NULL};

    gallery_hit *ref = malloc(nq * 10 * sizeof(*ref)), *got = malloc(nq * 10 * sizeof(*got));
    size_t *nref = malloc(nq * sizeof(*nref)), *ngot = malloc(nq * sizeof(*ngot));
    double f32_ms = run_queries(idx, qs, nq, d, GALLERY_SEARCH_EXACT_F32, ref, nref, data,
                                b32 / 256 * 256, &f32_floor);
    size_t top1 = 0;
    for (size_t q = 0; q < nq; q++) {
        top1 += nref[q] > 0 && ref[q * 10].subject_id == (int64_t)qid[q];
    }
    printf("{\"case\":\"f32-%d\",\"isa\":\"%s\",\"n\":%zu,\"dim\":%d,\"queries\":%zu,"
           "\"floor_loop\":\"%s\",\"floor_gbps\":%.2f,\"floor_ms\":%.2f,\"ms\":%.2f,"
           "\"ratio_to_floor\":%.3f,\"recall_at_10\":1.0,\"top1_identity\":%.3f,"
           "\"bytes_per_template\":%d}\n",
           d, mien_isa_name(mien_isa_active()), n, d, nq, f32_floor.loop,
           b32 / f32_floor.ms / 1e6, f32_floor.ms, f32_ms, f32_ms / f32_floor.ms,
           (double)top1 / (double)nq, d * 4);
    fflush(stdout);
    double i8_ms = run_queries(idx, qs, nq, d, GALLERY_SEARCH_EXACT_INT8, got, ngot, buf8,
                               b8 / 256 * 256, &i8_floor);
    free(buf8);
    printf("{\"case\":\"int8-%d\",\"isa\":\"%s\",\"n\":%zu,\"dim\":%d,\"queries\":%zu,"
           "\"floor_loop\":\"%s\",\"floor_gbps\":%.2f,\"floor_ms\":%.2f,\"ms\":%.2f,"
           "\"ratio_to_floor\":%.3f,\"recall_at_10\":%.4f,\"bytes_per_template\":%d}\n",
           d, mien_isa_name(mien_isa_active()), n, d, nq, i8_floor.loop,
           b8 / i8_floor.ms / 1e6, i8_floor.ms, i8_ms, i8_ms / i8_floor.ms,
           recall(ref, nref, got, ngot, nq), d + 8);
    fflush(stdout);
    bench_aggregate(idx, qs, nq, d, o->per);
    free(ref);
    free(got);
    free(nref);
    free(ngot);
    gallery_index_free(idx);

    if (hnsw_n > 0) {
        /* Queries of identities inside the first hnsw_n faces when the graph is partial. */
        if (hnsw_n < n) {
            size_t hids = (hnsw_n + o->per - 1) / o->per;
            for (size_t q = 0; q < nq; q++) {
                size_t id = qid[q] % hids;
                sample(centre + id * (size_t)d, sigma[id], d, o->seed + 3, q, qs + q * (size_t)d);
            }
        }
        floor_result floor_n = {f32_floor.ms * (double)hnsw_n / (double)n, f32_floor.loop};
        bench_hnsw(o, data, subject, hnsw_n < n ? hnsw_n : n, d, qs, nq, &floor_n);
    }
    free(qid);
    free(centre);
    free(sigma);
    free(data);
    free(subject);
    free(qs);
}

/* Caps the ISA level at $MIEN_MAX_ISA when set (bench/search.sh --isa), as the test runner
 * does, before any kernel runs; 0, or 2 with the reason printed. */
static int cap_isa_from_env(void)
{
    const char *isa = getenv("MIEN_MAX_ISA");
    mien_isa cap;
    mien_error err;
    if (isa != NULL && isa[0] != '\0' &&
        (mien_isa_parse(isa, &cap, &err) != MIEN_OK || mien_set_max_isa(cap, &err) != MIEN_OK)) {
        fprintf(stderr, "mien_bench_search: MIEN_MAX_ISA: %s\n", err.message);
        return 2;
    }
    fprintf(stderr, "ISA: mien's kernels at %s (CPU: %s, cap: %s)\n",
            mien_isa_name(mien_isa_active()), mien_isa_name(mien_isa_cpu()),
            isa != NULL && isa[0] ? isa : "none");
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.n = 1000000, .per = 5, .queries = 100, .dims = {192, 512}, .ndims = 2,
              .hnsw_n = {1000000, 200000}, .seed = 1};
    if (argc % 2 == 0) { /* options come in pairs: a lone word is --help or a mistake */
        bool help = strcmp(argv[argc - 1], "--help") == 0 || strcmp(argv[argc - 1], "-h") == 0;
        fprintf(help ? stdout : stderr,
                "usage: mien_bench_search [--n N] [--per P] [--dims 192,512] [--queries Q]\n"
                "                         [--hnsw-n D:N,...] [--m M] [--efc EF] [--ef EF,...]"
                " [--seed S]\n(bench/search.sh runs it; $MIEN_MAX_ISA caps the ISA)\n");
        return help ? 0 : 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--n") == 0) {
            o.n = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--per") == 0) {
            o.per = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--queries") == 0) {
            o.queries = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--dims") == 0) {
            parse_list(v, o.dims, &o.ndims, MAX_DIMS);
            for (int j = 0; j < o.ndims; j++) {
                o.hnsw_n[j] = 0;
            }
        } else if (strcmp(a, "--hnsw-n") == 0) {
            for (const char *s = v; s != NULL && *s;) {
                int dd = atoi(s);
                const char *c = strchr(s, ':');
                size_t hn = c ? strtoull(c + 1, NULL, 10) : 0;
                for (int j = 0; j < o.ndims; j++) {
                    if (o.dims[j] == dd) {
                        o.hnsw_n[j] = hn;
                    }
                }
                s = strchr(s, ',');
                s = s ? s + 1 : NULL;
            }
        } else if (strcmp(a, "--m") == 0) {
            o.m = atoi(v);
        } else if (strcmp(a, "--efc") == 0) {
            o.efc = atoi(v);
        } else if (strcmp(a, "--ef") == 0) {
            parse_list(v, o.ef, &o.nef, MAX_EF);
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = strtoull(v, NULL, 10);
        } else {
            fprintf(stderr, "mien_bench_search: unknown option %s (see bench/search.sh)\n", a);
            return 2;
        }
    }
    if (o.n < 1 || o.per < 1 || o.queries < 1 || o.ndims < 1) {
        fprintf(stderr, "mien_bench_search: --n, --per, --queries, --dims must be positive\n");
        return 2;
    }
    if (cap_isa_from_env() != 0) {
        return 2;
    }
    for (int j = 0; j < o.ndims; j++) {
        if (o.dims[j] < 1 || o.dims[j] > GALLERY_INDEX_DIM_MAX) {
            fprintf(stderr, "mien_bench_search: dimension %d not in 1..%d\n", o.dims[j],
                    GALLERY_INDEX_DIM_MAX);
            return 2;
        }
        bench_dim(&o, o.dims[j], o.hnsw_n[j] > o.n ? o.n : o.hnsw_n[j]);
    }
    return 0;
}
