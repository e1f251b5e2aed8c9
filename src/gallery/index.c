/* index.c — the in-memory search index of one collection (see index.h).
 *
 * Layout: one row per face in parallel arrays. `vec` is the f32 matrix, row-major, each row
 * padded with zeros to a multiple of 16 floats (64 bytes) and the block 64-byte aligned, so
 * that the SIMD kernels need no tail loops. `q8` is an int8 copy (per-row scale: with
 * s = max|v|, q = round(v / s · 127), kept as scale = s / 127 so that v ≈ q · scale), rows
 * padded to 64 bytes; `q8_sum` keeps each row's Σq for the VNNI kernel's unsigned-offset
 * correction. Face and subject ids are parallel int64 arrays.
 *
 * Search is a scan at memory bandwidth (DESIGN.md §6: one core reads ~17.5 GB/s; the cost
 * is the bytes scanned): dot products of the query with every row, one row after another,
 * by AVX-512 / AVX2+FMA kernels chosen once per search by the process's ISA level
 * (base_isa_active(): the CPU's best under MIEN_MAX_ISA; scalar C otherwise), into a small
 * min-heap of the best faces. The int8 scan quantises the query the same way and uses
 * integer dot products (AVX-512 VNNI vpdpbusd, or AVX2 vpmaddubsw with the sign trick),
 * keeps a shortlist and re-ranks it exactly in f32, so returned similarities are always
 * exact f32 dot products. Faces are then aggregated per subject (a subject's
 * score is its best face's); the face heap is widened until k distinct subjects are found
 * or every face was kept.
 *
 * Erasure: removing a subject compacts the arrays and wipes the vacated rows; every buffer
 * that held vectors is wiped before it is freed; the HNSW graph, which can only mark
 * deletions, is dropped whole. @test gallery/test_index.c */
#include "gallery/index.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/error.h"
#include "face/calibration.h"
#include "gallery/aggregate.h"
#include "gallery/hnsw.h"

#define INDEX_MAGIC 0x78646e49u /* "Indx": checked on every entry point (STYLE.md rule 10) */

/* Faces kept per wanted subject before aggregation: templates per subject are few (a
 * handful of enrolment photos), so 4k faces usually hold k subjects; the search widens ×4
 * when they do not. */
#define FACES_PER_SUBJECT 4
/* The int8 shortlist re-ranked in f32: max(2 · faces kept, 64). Re-ranking 64 rows costs
 * ~1 µs; on the synthetic 1 M galleries of bench/search.sh it gives the same top-10 as the
 * f32 scan (recall_at_10 1.0000 at 192-d and 512-d, docs/search.md). */
#define INT8_SHORTLIST_FACTOR 2
#define INT8_SHORTLIST_MIN 64
/* Rows scored per kernel call before the heap sees them (16 KiB of scores on the stack). */
#define SCAN_BLOCK 4096
/* How far ahead of the row being scored the int8 kernels and the AVX-512 f32 one ask for the
 * next rows (bytes; about ten 192-d int8 rows). An int8 row is 4× shorter than an f32 one
 * but costs as many instructions per byte loaded as four, so the out-of-order window reaches
 * fewer bytes ahead than the hardware prefetcher needs: without it the AVX2 scan of
 * 1 M × 192 ran at 8.5 GB/s, 1.9× the read floor; with it (a throw-away loop at 512-8192
 * bytes, 2048 best) about 1.4× faster. The AVX-512 f32 kernel, with half the loop trips of
 * the AVX2 one, went from 1.34 to 1.06× of the floor with it (docs/search.md). */
#define SCAN_PREFETCH 2048
/* Arrays the scans read from this size on live on transparent huge pages (alloc_scan_array). */
#define SCAN_HUGE_PAGE ((size_t)2 << 20)

/* HNSW parameters, chosen with bench/search.sh on 1 M synthetic faces (docs/search.md):
 * M = 16, ef_construction = 100 build 1 M × 192 in 44 s on 16 threads (M = 32 /
 * ef_construction = 200: 164 s, for +0.15 raw recall at equal ef); ef_search = 512 finds
 * every exact top-10 hit above the FMR 1e-4 threshold at 192-d (0.99 at 512-d), 20× (35×)
 * faster than the exact f32 scan. Raw recall@10 with no threshold is low on that data
 * (0.37): the hits past the first are random impostors at cosine ~0.3 (docs/search.md). */
#define HNSW_M 16
#define HNSW_EF_CONSTRUCTION 100
#define HNSW_EF_SEARCH 512
#define HNSW_MAX_THREADS 16

/* A subject's rows, for the aggregate rules (aggregate.h): a chain through `next` from
 * `head`, `count` rows long. count 0: an empty slot. */
typedef struct subject_slot {
    int64_t id;
    size_t head, count;
} subject_slot;

#define SUBJECT_END SIZE_MAX

struct gallery_index {
    uint32_t magic;
    int dim;           /* floats per vector */
    size_t stride;     /* floats per `vec` row: dim rounded up to 16 */
    size_t stride8;    /* bytes per `q8` row: dim rounded up to 64 */
    size_t n;          /* faces held */
    size_t cap;        /* rows allocated */
    float *vec;        /* cap × stride f32, row-major, 64-byte aligned, padding zero */
    int8_t *q8;        /* cap × stride8 int8 copies, 64-byte aligned, padding zero */
    float *q8_scale;   /* per row: max|v| / 127 (v ≈ q8 · scale) */
    int32_t *q8_sum;   /* per row: Σ q8 */
    int64_t *face_id;  /* per row */
    int64_t *subject_id;
    float *weight;     /* per row: the face's weight under MIEN_AGGREGATE_QUALITY */
    size_t *next;      /* per row: the subject's next row (SUBJECT_END: none) */
    float q8_scale_max; /* largest q8_scale ever added (bounds the int8 error) */
    gallery_hnsw *hnsw; /* approximate graph over rows 0..n, or NULL */
    subject_slot *slots; /* open-addressing table of the subjects, slot_cap entries */
    size_t slot_cap, n_subjects;
    gallery_parts parts; /* how the aggregate rules split a vector (aggregate.h) */
};

/* ---- kernels -------------------------------------------------------------------------------
 * dots_f32: out[i] = Σ_j rows[i·stride + j] · q[j] for i < nrows, j < stride.
 * dots_i8:  out[i] = (Σ_j rows8[i·stride8 + j] · q8[j]) · qscale · scale[i]; qu = q8 + 128
 *           (as unsigned bytes) for the VNNI kernel, sum[i] = Σ_j rows8[i·stride8 + j]. */

typedef struct i8_query {
    const int8_t *q8;  /* stride8 bytes, values in [-127, 127] */
    const uint8_t *qu; /* q8 + 128 */
    float qscale;      /* max|q| / 127 */
} i8_query;

static void dots_f32_plain(const float *rows, size_t stride, size_t nrows, const float *q,
                           float *out)
{
    for (size_t i = 0; i < nrows; i++) {
        const float *r = rows + i * stride;
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        size_t j = 0;
        for (; j + 4 <= stride; j += 4) {
            acc[0] += r[j] * q[j];
            acc[1] += r[j + 1] * q[j + 1];
            acc[2] += r[j + 2] * q[j + 2];
            acc[3] += r[j + 3] * q[j + 3];
        }
        for (; j < stride; j++) {
            acc[0] += r[j] * q[j];
        }
        out[i] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
}

static void dots_i8_plain(const int8_t *rows, size_t stride8, size_t nrows, const i8_query *q,
                          const int32_t *sum, const float *scale, float *out)
{
    (void)sum;
    for (size_t i = 0; i < nrows; i++) {
        const int8_t *r = rows + i * stride8;
        int32_t acc = 0;
        for (size_t j = 0; j < stride8; j++) {
            acc += (int32_t)r[j] * (int32_t)q->q8[j];
        }
        out[i] = (float)acc * q->qscale * scale[i];
    }
}

static float dist_plain(const void *a, const void *b, const void *param)
{
    float d;
    dots_f32_plain(a, *(const size_t *)param, 1, b, &d);
    return 1.0f - d;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define INDEX_X86 1

/* The SIMD kernels read one row after another, each with two accumulators: a single
 * sequential stream, which the hardware prefetcher follows at full speed. Interleaving four
 * rows (four short streams 768 bytes apart) ran at half the read floor on the dev EPYC
 * (1 M × 192 f32: 76 ms against a 34 ms floor; row by row 35 ms; docs/search.md). */

__attribute__((target("avx512f"))) static void dots_f32_avx512(const float *rows, size_t stride,
                                                                size_t nrows, const float *q,
                                                                float *out)
{
    for (size_t i = 0; i < nrows; i++) {
        const float *r = rows + i * stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 32 <= stride; j += 32) {
            _mm_prefetch((const char *)(r + j) + SCAN_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(r + j) + SCAN_PREFETCH + 64, _MM_HINT_T0);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + j), _mm512_loadu_ps(q + j), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r + j + 16), _mm512_loadu_ps(q + j + 16), a1);
        }
        if (j < stride) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + j), _mm512_loadu_ps(q + j), a0);
        }
        out[i] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
}

/* Horizontal sum of 8 floats. */
__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static void dots_f32_avx2(const float *rows, size_t stride,
                                                               size_t nrows, const float *q,
                                                               float *out)
{
    for (size_t i = 0; i < nrows; i++) {
        const float *r = rows + i * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t j = 0; j < stride; j += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + j), _mm256_loadu_ps(q + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r + j + 8), _mm256_loadu_ps(q + j + 8), a1);
        }
        out[i] = hsum256(_mm256_add_ps(a0, a1));
    }
}

/* vpdpbusd multiplies unsigned by signed bytes: with qu = q + 128,
 * Σ qu·x = Σ q·x + 128 · Σ x, and Σ x is kept per row. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
dots_i8_vnni(const int8_t *rows, size_t stride8, size_t nrows, const i8_query *q,
             const int32_t *sum, const float *scale, float *out)
{
    for (size_t i = 0; i < nrows; i++) {
        const int8_t *r = rows + i * stride8;
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
        size_t j = 0;
        for (; j + 128 <= stride8; j += 128) {
            _mm_prefetch((const char *)(r + j + SCAN_PREFETCH), _MM_HINT_T0);
            _mm_prefetch((const char *)(r + j + SCAN_PREFETCH + 64), _MM_HINT_T0);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(q->qu + j), _mm512_loadu_si512(r + j));
            a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(q->qu + j + 64),
                                     _mm512_loadu_si512(r + j + 64));
        }
        if (j < stride8) {
            _mm_prefetch((const char *)(r + j + SCAN_PREFETCH), _MM_HINT_T0);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(q->qu + j), _mm512_loadu_si512(r + j));
        }
        int32_t dot = _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1)) - 128 * sum[i];
        out[i] = (float)dot * q->qscale * scale[i];
    }
}

/* vpmaddubsw multiplies unsigned by signed bytes into saturating int16 pairs: feed it |x|
 * and q·sign(x); with |q|, |x| <= 127 a pair is at most 2·127² = 32258, so never saturates. */
__attribute__((target("avx2"))) static inline __m256i dot32_i8(__m256i acc, __m256i x, __m256i q)
{
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(q, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

__attribute__((target("avx2"))) static inline int32_t hsum256_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) static void dots_i8_avx2(const int8_t *rows, size_t stride8,
                                                          size_t nrows, const i8_query *q,
                                                          const int32_t *sum,
                                                          const float *scale, float *out)
{
    (void)sum;
    for (size_t i = 0; i < nrows; i++) {
        const int8_t *r = rows + i * stride8;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        for (size_t j = 0; j < stride8; j += 64) {
            _mm_prefetch((const char *)(r + j + SCAN_PREFETCH), _MM_HINT_T0);
            a0 = dot32_i8(a0, _mm256_loadu_si256((const __m256i *)(r + j)),
                          _mm256_loadu_si256((const __m256i *)(q->q8 + j)));
            a1 = dot32_i8(a1, _mm256_loadu_si256((const __m256i *)(r + j + 32)),
                          _mm256_loadu_si256((const __m256i *)(q->q8 + j + 32)));
        }
        out[i] = (float)hsum256_epi32(_mm256_add_epi32(a0, a1)) * q->qscale * scale[i];
    }
}

static float dist_avx512(const void *a, const void *b, const void *param)
{
    float d;
    dots_f32_avx512(a, *(const size_t *)param, 1, b, &d);
    return 1.0f - d;
}

static float dist_avx2(const void *a, const void *b, const void *param)
{
    float d;
    dots_f32_avx2(a, *(const size_t *)param, 1, b, &d);
    return 1.0f - d;
}
#endif

typedef void (*dots_f32_fn)(const float *, size_t, size_t, const float *, float *);
typedef void (*dots_i8_fn)(const int8_t *, size_t, size_t, const i8_query *, const int32_t *,
                           const float *, float *);

typedef struct kernels {
    dots_f32_fn f32;
    dots_i8_fn i8;
    gallery_hnsw_dist dist;
} kernels;

#ifdef INDEX_X86
/* The level `want` asks for as mien_isa (GALLERY_ISA_BEST: no limit of its own). */
static mien_isa wanted_level(gallery_isa want)
{
    switch (want) {
    case GALLERY_ISA_SCALAR:
        return MIEN_ISA_C;
    case GALLERY_ISA_AVX2:
        return MIEN_ISA_AVX2;
    case GALLERY_ISA_AVX512:
        return MIEN_ISA_AVX512;
    case GALLERY_ISA_BEST:
        break;
    }
    return MIEN_ISA_NATIVE;
}
#endif

/* The level of `want`, lowered to the process's (base/cpu.h: the CPU's best under
 * MIEN_MAX_ISA), so that a cap keeps the scans off AVX-512 on a machine that has it. There
 * are no SSE4.1 kernels: MIEN_ISA_SSE41, like MIEN_ISA_C, scans in plain C. */
gallery_isa gallery_index_isa(gallery_isa want)
{
#ifdef INDEX_X86
    mien_isa level = base_isa_level(wanted_level(want));
    if (level >= MIEN_ISA_AVX512) {
        return GALLERY_ISA_AVX512;
    }
    if (level >= MIEN_ISA_AVX2) {
        return GALLERY_ISA_AVX2;
    }
#else
    (void)want;
#endif
    return GALLERY_ISA_SCALAR;
}

/* The kernels of gallery_index_isa(want). MIEN_ISA_AVX2 holds FMA and MIEN_ISA_AVX512 holds
 * BW; VNNI, which MIEN_ISA_AVX512 does not imply, is checked here (cheap:
 * __builtin_cpu_supports reads a table filled at start-up). */
static kernels kernels_for(gallery_isa want)
{
    kernels k = {dots_f32_plain, dots_i8_plain, dist_plain};
#ifdef INDEX_X86
    gallery_isa level = gallery_index_isa(want);
    if (level >= GALLERY_ISA_AVX2) {
        k.f32 = dots_f32_avx2;
        k.i8 = dots_i8_avx2;
        k.dist = dist_avx2;
    }
    if (level >= GALLERY_ISA_AVX512) {
        k.f32 = dots_f32_avx512;
        k.dist = dist_avx512;
        if (__builtin_cpu_supports("avx512vnni")) {
            k.i8 = dots_i8_vnni;
        }
    }
#else
    (void)want;
#endif
    return k;
}

/* ---- storage ------------------------------------------------------------------------------- */

static size_t round_up(size_t x, size_t m)
{
    return (x + m - 1) / m * m;
}

/* Frees p after wiping its `bytes` (vectors must not linger in freed memory). */
static void wipe_free(void *p, size_t bytes)
{
    if (p != NULL) {
        explicit_bzero(p, bytes);
        free(p);
    }
}

/* An array the scans stream through: 64-byte aligned, and from 2 MiB on, aligned to 2 MiB,
 * rounded up to it and marked for transparent huge pages. A scan of 1 M × 192 int8 rows
 * touches 47,000 4-KiB pages; on Debian's default (THP "madvise") every one costs a TLB
 * miss and a page walk, and the scan ran 1.5× its read floor; on 2-MiB pages (a throw-away
 * loop: 10.6 ms read floor, 11.4 ms scan, against 16.8 and 19.5 ms on 4-KiB pages) it runs
 * near it. madvise is a hint: where THP is off, nothing changes. */
static void *alloc_scan_array(size_t bytes)
{
    if (bytes < SCAN_HUGE_PAGE) {
        return aligned_alloc(64, round_up(bytes > 0 ? bytes : 64, 64));
    }
    bytes = round_up(bytes, SCAN_HUGE_PAGE);
    void *p = aligned_alloc(SCAN_HUGE_PAGE, bytes);
#ifdef MADV_HUGEPAGE
    if (p != NULL) {
        (void)madvise(p, bytes, MADV_HUGEPAGE);
    }
#endif
    return p;
}

/* Frees the row arrays of idx (cap rows each), the vectors wiped first (wipe_free); the
 * pointers are left dangling: the caller replaces them or frees idx. */
static void free_rows(gallery_index *idx)
{
    wipe_free(idx->vec, idx->cap * idx->stride * sizeof(float));
    wipe_free(idx->q8, idx->cap * idx->stride8);
    free(idx->q8_scale);
    free(idx->q8_sum);
    free(idx->face_id);
    free(idx->subject_id);
    free(idx->weight);
    free(idx->next);
}

/* Moves the rows to arrays of `cap` rows (cap >= n); the old arrays are wiped and freed.
 * MIEN_ERR_NOMEM leaves the index unchanged. */
static mien_status resize(gallery_index *idx, size_t cap)
{
    size_t n = idx->n;
    float *vec = alloc_scan_array(cap * idx->stride * sizeof(float));
    int8_t *q8 = alloc_scan_array(cap * idx->stride8);
    float *scale = alloc_scan_array(cap * sizeof(float));
    int32_t *sum = alloc_scan_array(cap * sizeof(int32_t));
    int64_t *face = malloc(cap * sizeof(int64_t));
    int64_t *subject = malloc(cap * sizeof(int64_t));
    float *weight = malloc(cap * sizeof(float));
    size_t *next = malloc(cap * sizeof(size_t));
    if (vec == NULL || q8 == NULL || scale == NULL || sum == NULL || face == NULL ||
        subject == NULL || weight == NULL || next == NULL) {
        free(vec);
        free(q8);
        free(scale);
        free(sum);
        free(face);
        free(subject);
        free(weight);
        free(next);
        return MIEN_ERR_NOMEM;
    }
    if (n > 0) {
        memcpy(vec, idx->vec, n * idx->stride * sizeof(float));
        memcpy(q8, idx->q8, n * idx->stride8);
        memcpy(scale, idx->q8_scale, n * sizeof(float));
        memcpy(sum, idx->q8_sum, n * sizeof(int32_t));
        memcpy(face, idx->face_id, n * sizeof(int64_t));
        memcpy(subject, idx->subject_id, n * sizeof(int64_t));
        memcpy(weight, idx->weight, n * sizeof(float));
        memcpy(next, idx->next, n * sizeof(size_t));
    }
    free_rows(idx);
    idx->vec = vec;
    idx->q8 = q8;
    idx->q8_scale = scale;
    idx->q8_sum = sum;
    idx->face_id = face;
    idx->subject_id = subject;
    idx->weight = weight;
    idx->next = next;
    idx->cap = cap;
    return MIEN_OK;
}

/* Quantises v[0..dim) into q[0..stride8) (zero padding): q = round(v / max|v| · 127).
 * Writes max|v| / 127 to *scale and Σq to *sum. */
static void quantise(const float *v, int dim, size_t stride8, int8_t *q, float *scale,
                     int32_t *sum)
{
    float m = 0.0f;
    for (int j = 0; j < dim; j++) {
        float a = fabsf(v[j]);
        m = a > m ? a : m;
    }
    int32_t s = 0;
    float inv = m > 0.0f ? 127.0f / m : 0.0f;
    for (int j = 0; j < dim; j++) {
        long r = lrintf(v[j] * inv);
        r = r > 127 ? 127 : (r < -127 ? -127 : r);
        q[j] = (int8_t)r;
        s += (int32_t)r;
    }
    memset(q + dim, 0, stride8 - (size_t)dim);
    *scale = m / 127.0f;
    *sum = s;
}

static bool index_ok(const gallery_index *idx);

/* ---- subjects: their rows, for the aggregate rules ----------------------------------- */

static size_t slot_hash(int64_t id, size_t cap)
{
    return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15u) >> 17) & (cap - 1);
}

/* The slot of subject `id`, or the empty slot where it would go (count 0); NULL only when
 * the table has no room at all. */
static subject_slot *slot_at(const gallery_index *idx, int64_t id)
{
    if (idx->slot_cap == 0) {
        return NULL;
    }
    for (size_t i = slot_hash(id, idx->slot_cap), probes = 0; probes < idx->slot_cap;
         i = (i + 1) & (idx->slot_cap - 1), probes++) {
        subject_slot *sl = &idx->slots[i];
        if (sl->count == 0 || sl->id == id) {
            return sl;
        }
    }
    return NULL;
}

/* Chains row r into its subject's slot (the table has room: slots_reserve). */
static void slot_link(gallery_index *idx, size_t r)
{
    subject_slot *sl = slot_at(idx, idx->subject_id[r]);
    if (sl->count == 0) {
        sl->id = idx->subject_id[r];
        sl->head = SUBJECT_END;
        idx->n_subjects++;
    }
    idx->next[r] = sl->head;
    sl->head = r;
    sl->count++;
}

/* Rebuilds the table for rows 0..n with room for `subjects` subjects at most half full
 * (after a compaction, or to grow). MIEN_ERR_NOMEM leaves the old table. */
static mien_status slots_rebuild(gallery_index *idx, size_t subjects)
{
    size_t cap = 16;
    while (cap < 2 * subjects) {
        cap *= 2;
    }
    subject_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return MIEN_ERR_NOMEM;
    }
    free(idx->slots);
    idx->slots = slots;
    idx->slot_cap = cap;
    idx->n_subjects = 0;
    for (size_t r = 0; r < idx->n; r++) {
        slot_link(idx, r);
    }
    return MIEN_OK;
}

void gallery_index_set_parts(gallery_index *idx, const gallery_parts *p)
{
    int len = 0;
    for (int j = 0; p != NULL && j < p->n && j < GALLERY_PARTS_MAX; j++) {
        len += p->len[j];
    }
    if (index_ok(idx) && p != NULL && p->n >= 1 && p->n <= GALLERY_PARTS_MAX &&
        len == idx->dim) {
        idx->parts = *p;
    }
}

mien_status gallery_index_new(int dim, gallery_index **out, mien_error *err)
{
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_new: out is NULL");
    }
    *out = NULL;
    if (dim <= 0 || dim > GALLERY_INDEX_DIM_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_new: dimension %d not in 1..%d",
                              dim, GALLERY_INDEX_DIM_MAX);
    }
    gallery_index *idx = calloc(1, sizeof(*idx));
    if (idx == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_new: out of memory");
    }
    idx->magic = INDEX_MAGIC;
    idx->dim = dim;
    idx->stride = round_up((size_t)dim, 16);
    idx->stride8 = round_up((size_t)dim, 64);
    idx->parts = (gallery_parts){1, {dim, 0}, {1.0f, 0.0f}};
    *out = idx;
    return MIEN_OK;
}

void gallery_index_free(gallery_index *idx)
{
    if (idx == NULL) {
        return;
    }
    gallery_hnsw_free(idx->hnsw);
    free_rows(idx);
    free(idx->slots);
    idx->magic = 0;
    free(idx);
}

static bool index_ok(const gallery_index *idx)
{
    return idx != NULL && idx->magic == INDEX_MAGIC;
}

static int hnsw_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : (cpus > HNSW_MAX_THREADS ? HNSW_MAX_THREADS : (int)cpus);
}

mien_status gallery_index_add(gallery_index *idx, int64_t face_id, int64_t subject_id,
                              const float *vec, mien_error *err)
{
    return gallery_index_add_weighted(idx, face_id, subject_id, vec, 1.0f, err);
}

mien_status gallery_index_add_weighted(gallery_index *idx, int64_t face_id, int64_t subject_id,
                                       const float *vec, float weight, mien_error *err)
{
    if (!index_ok(idx) || vec == NULL || !(weight > 0.0f)) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_add: NULL index or vector");
    }
    for (int j = 0; j < idx->dim; j++) {
        if (!isfinite(vec[j])) {
            return base_error_set(err, MIEN_ERR_ARG, "gallery_index_add: component %d of face "
                                  "%lld is not finite", j, (long long)face_id);
        }
    }
    if (idx->n == idx->cap) {
        size_t cap = idx->cap < 16 ? 16 : idx->cap * 2;
        if (resize(idx, cap) != MIEN_OK) {
            return base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_add: no memory for %zu "
                                  "faces of %d floats", cap, idx->dim);
        }
    }
    if (2 * (idx->n_subjects + 1) > idx->slot_cap &&
        slots_rebuild(idx, idx->n_subjects + 1 > 8 ? 2 * idx->n_subjects : 8) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_add: out of memory");
    }
    size_t r = idx->n;
    float *row = idx->vec + r * idx->stride;
    memcpy(row, vec, (size_t)idx->dim * sizeof(float));
    memset(row + idx->dim, 0, (idx->stride - (size_t)idx->dim) * sizeof(float));
    quantise(vec, idx->dim, idx->stride8, idx->q8 + r * idx->stride8, &idx->q8_scale[r],
             &idx->q8_sum[r]);
    if (idx->q8_scale[r] > idx->q8_scale_max) {
        idx->q8_scale_max = idx->q8_scale[r];
    }
    idx->face_id[r] = face_id;
    idx->subject_id[r] = subject_id;
    idx->weight[r] = weight;
    slot_link(idx, r);
    idx->n++;
    if (idx->hnsw != NULL && gallery_hnsw_add(idx->hnsw, row, idx->stride, 1, r, 1) != MIEN_OK) {
        /* The graph could not grow: drop it (AUTO searches go exact) rather than fail. */
        gallery_hnsw_free(idx->hnsw);
        idx->hnsw = NULL;
    }
    return MIEN_OK;
}

mien_status gallery_index_remove_subject(gallery_index *idx, int64_t subject_id,
                                         size_t *removed, mien_error *err)
{
    if (removed != NULL) {
        *removed = 0;
    }
    if (!index_ok(idx)) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_remove_subject: NULL index");
    }
    size_t w = 0;
    for (size_t r = 0; r < idx->n; r++) {
        if (idx->subject_id[r] == subject_id) {
            continue;
        }
        if (w != r) {
            memcpy(idx->vec + w * idx->stride, idx->vec + r * idx->stride,
                   idx->stride * sizeof(float));
            memcpy(idx->q8 + w * idx->stride8, idx->q8 + r * idx->stride8, idx->stride8);
            idx->q8_scale[w] = idx->q8_scale[r];
            idx->q8_sum[w] = idx->q8_sum[r];
            idx->face_id[w] = idx->face_id[r];
            idx->subject_id[w] = idx->subject_id[r];
            idx->weight[w] = idx->weight[r];
        }
        w++;
    }
    size_t gone = idx->n - w;
    if (gone > 0) {
        explicit_bzero(idx->vec + w * idx->stride, gone * idx->stride * sizeof(float));
        explicit_bzero(idx->q8 + w * idx->stride8, gone * idx->stride8);
        idx->n = w;
        /* Labels are row numbers and hnswlib only marks deletions: drop the graph; it is
         * rebuilt by the next gallery_index_build_approx(). */
        gallery_hnsw_free(idx->hnsw);
        idx->hnsw = NULL;
        /* Give memory back when three quarters of the rows are free (keeps amortised O(1)
         * adds); failing to shrink is harmless. */
        if (idx->cap > 16 && idx->n <= idx->cap / 4) {
            (void)resize(idx, idx->n * 2 < 16 ? 16 : idx->n * 2);
        }
        /* The rows moved: chain them again (the table only shrinks, so it cannot fail for
         * want of room; without memory for a new one the old one is cleared and reused). */
        if (slots_rebuild(idx, idx->n_subjects) != MIEN_OK) {
            memset(idx->slots, 0, idx->slot_cap * sizeof(*idx->slots));
            idx->n_subjects = 0;
            for (size_t r = 0; r < idx->n; r++) {
                slot_link(idx, r);
            }
        }
    }
    if (removed != NULL) {
        *removed = gone;
    }
    return MIEN_OK;
}

bool gallery_index_move_face(gallery_index *idx, int64_t face_id, int64_t subject_id)
{
    for (size_t r = 0; index_ok(idx) && r < idx->n; r++) {
        if (idx->face_id[r] == face_id) {
            /* the subjects' row lists (the aggregate rules read them) are rebuilt: moves are
             * rare, and a rebuild is one pass over the rows */
            idx->subject_id[r] = subject_id;
            return slots_rebuild(idx, idx->n_subjects + 1) == MIEN_OK;
        }
    }
    return false;
}

bool gallery_index_has_face(const gallery_index *idx, int64_t face_id)
{
    for (size_t r = 0; index_ok(idx) && r < idx->n; r++) {
        if (idx->face_id[r] == face_id) {
            return true;
        }
    }
    return false;
}

size_t gallery_index_size(const gallery_index *idx)
{
    return index_ok(idx) ? idx->n : 0;
}

int gallery_index_dim(const gallery_index *idx)
{
    return index_ok(idx) ? idx->dim : 0;
}

size_t gallery_index_bytes(const gallery_index *idx)
{
    if (!index_ok(idx)) {
        return 0;
    }
    size_t row = idx->stride * sizeof(float) + idx->stride8 + 2 * sizeof(float) +
                 sizeof(int32_t) + 2 * sizeof(int64_t) + sizeof(size_t);
    return sizeof(*idx) + idx->cap * row + idx->slot_cap * sizeof(subject_slot) +
           gallery_hnsw_bytes(idx->hnsw);
}

bool gallery_index_has_approx(const gallery_index *idx)
{
    return index_ok(idx) && idx->hnsw != NULL;
}

gallery_approx_params gallery_approx_params_default(void)
{
    gallery_approx_params p = {HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH};
    return p;
}

mien_status gallery_index_build_approx_with(gallery_index *idx, const gallery_approx_params *p,
                                            mien_error *err)
{
    if (!index_ok(idx) || p == NULL || p->m < 2 || p->ef_construction < 1 || p->ef_search < 1) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_build_approx: NULL index or "
                              "bad parameters");
    }
    gallery_hnsw_free(idx->hnsw);
    idx->hnsw = NULL;
    gallery_hnsw *h = NULL;
    /* The graph holds padded rows (stride floats), so its distance kernel needs no tail. */
    mien_status st = gallery_hnsw_new((int)idx->stride, idx->n, p->m, p->ef_construction,
                                      p->ef_search, kernels_for(GALLERY_ISA_BEST).dist, &h);
    if (st == MIEN_OK) {
        st = gallery_hnsw_add(h, idx->vec, idx->stride, idx->n, 0, hnsw_threads());
    }
    if (st != MIEN_OK) {
        gallery_hnsw_free(h);
        return base_error_set(err, st, "gallery_index_build_approx: building the HNSW graph "
                              "of %zu faces failed", idx->n);
    }
    idx->hnsw = h;
    return MIEN_OK;
}

mien_status gallery_index_build_approx(gallery_index *idx, mien_error *err)
{
    gallery_approx_params p = gallery_approx_params_default();
    return gallery_index_build_approx_with(idx, &p, err);
}

mien_status gallery_index_set_approx_ef(gallery_index *idx, int ef_search, mien_error *err)
{
    if (!index_ok(idx) || ef_search < 1) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_set_approx_ef: bad arguments");
    }
    if (idx->hnsw == NULL) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "gallery_index_set_approx_ef: the "
                              "approximate index is not built");
    }
    gallery_hnsw_set_ef(idx->hnsw, (size_t)ef_search);
    return MIEN_OK;
}

/* ---- search -------------------------------------------------------------------------------- */

typedef struct cand {
    float score; /* similarity (int8 estimate before re-ranking) */
    size_t row;
} cand;

/* Better: higher score; ties go to the earlier row (deterministic, like a stable sort). */
static bool better(float s, size_t row, const cand *c)
{
    return s > c->score || (s == c->score && row < c->row);
}

/* A min-heap (worst candidate on top) of at most `cap` candidates. */
typedef struct heap {
    cand *c;
    size_t n, cap;
} heap;

static void heap_sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && better(h->c[m].score, h->c[m].row, &h->c[l])) {
            m = l;
        }
        if (l + 1 < h->n && better(h->c[m].score, h->c[m].row, &h->c[l + 1])) {
            m = l + 1;
        }
        if (m == i) {
            return;
        }
        cand t = h->c[i];
        h->c[i] = h->c[m];
        h->c[m] = t;
        i = m;
    }
}

static void heap_push(heap *h, float s, size_t row)
{
    if (h->n < h->cap) {
        size_t i = h->n++;
        h->c[i].score = s;
        h->c[i].row = row;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!better(h->c[p].score, h->c[p].row, &h->c[i])) {
                break;
            }
            cand t = h->c[i];
            h->c[i] = h->c[p];
            h->c[p] = t;
            i = p;
        }
    } else if (better(s, row, &h->c[0])) {
        h->c[0].score = s;
        h->c[0].row = row;
        heap_sift_down(h, 0);
    }
}

/* Scores every row with the f32 kernel; pushes into h those >= floor. */
static void scan_f32(const gallery_index *idx, const kernels *k, const float *q, float floor,
                     heap *h)
{
    float s[SCAN_BLOCK];
    for (size_t r0 = 0; r0 < idx->n; r0 += SCAN_BLOCK) {
        size_t m = idx->n - r0 < SCAN_BLOCK ? idx->n - r0 : SCAN_BLOCK;
        k->f32(idx->vec + r0 * idx->stride, idx->stride, m, q, s);
        for (size_t i = 0; i < m; i++) {
            if (s[i] >= floor && (h->n < h->cap || s[i] > h->c[0].score)) {
                heap_push(h, s[i], r0 + i);
            }
        }
    }
}

/* The same with the int8 kernel. */
static void scan_i8(const gallery_index *idx, const kernels *k, const i8_query *q, float floor,
                    heap *h)
{
    float s[SCAN_BLOCK];
    for (size_t r0 = 0; r0 < idx->n; r0 += SCAN_BLOCK) {
        size_t m = idx->n - r0 < SCAN_BLOCK ? idx->n - r0 : SCAN_BLOCK;
        k->i8(idx->q8 + r0 * idx->stride8, idx->stride8, m, q, idx->q8_sum + r0,
              idx->q8_scale + r0, s);
        for (size_t i = 0; i < m; i++) {
            if (s[i] >= floor && (h->n < h->cap || s[i] > h->c[0].score)) {
                heap_push(h, s[i], r0 + i);
            }
        }
    }
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->row < y->row ? -1 : (x->row > y->row ? 1 : 0);
}

/* Sorts c[0..n) best first and writes the best face of up to k distinct subjects. */
static size_t aggregate(const gallery_index *idx, cand *c, size_t n, size_t k, gallery_hit *hits)
{
    qsort(c, n, sizeof(*c), cand_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n && m < k; i++) {
        int64_t subject = idx->subject_id[c[i].row];
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++) {
            seen = hits[j].subject_id == subject;
        }
        if (!seen) {
            hits[m].face_id = idx->face_id[c[i].row];
            hits[m].subject_id = subject;
            hits[m].similarity = c[i].score;
            m++;
        }
    }
    return m;
}

/* Exact f32 similarity of the query with row r. */
static float exact(const gallery_index *idx, const kernels *k, const float *q, size_t r)
{
    float s;
    k->f32(idx->vec + r * idx->stride, idx->stride, 1, q, &s);
    return s;
}

/* Re-scores c[0..n) exactly, drops those below min_similarity; returns how many remain. */
static size_t rerank(const gallery_index *idx, const kernels *k, const float *q, cand *c,
                     size_t n, float min_similarity)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float s = exact(idx, k, q, c[i].row);
        if (s >= min_similarity) {
            c[m].score = s;
            c[m].row = c[i].row;
            m++;
        }
    }
    return m;
}

mien_status gallery_index_search_isa(const gallery_index *idx, const float *query, int k,
                                     float min_similarity, gallery_search_mode mode,
                                     gallery_isa isa, gallery_hit *hits, size_t *n,
                                     mien_error *err)
{
    if (n == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_search: n is NULL");
    }
    *n = 0;
    if (!index_ok(idx) || query == NULL || hits == NULL || k < 1 || isnan(min_similarity)) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_search: NULL index, query or "
                              "hits, k < 1 or NaN threshold");
    }
    if (mode < GALLERY_SEARCH_AUTO || mode > GALLERY_SEARCH_APPROX) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_search: unknown mode %d",
                              (int)mode);
    }
    if (mode == GALLERY_SEARCH_APPROX && idx->hnsw == NULL) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "gallery_index_search: the approximate "
                              "index is not built");
    }
    if (mode == GALLERY_SEARCH_AUTO) {
        mode = idx->hnsw != NULL ? GALLERY_SEARCH_APPROX : GALLERY_SEARCH_EXACT_INT8;
    }
    if (idx->n == 0) {
        return MIEN_OK;
    }
    kernels kern = kernels_for(isa);
    size_t stride = idx->stride, stride8 = idx->stride8;
    float *q = aligned_alloc(64, stride * sizeof(float));
    int8_t *q8 = aligned_alloc(64, 2 * stride8);
    if (q == NULL || q8 == NULL) {
        free(q);
        free(q8);
        return base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_search: out of memory");
    }
    memcpy(q, query, (size_t)idx->dim * sizeof(float));
    memset(q + idx->dim, 0, (stride - (size_t)idx->dim) * sizeof(float));
    i8_query iq = {q8, (const uint8_t *)(q8 + stride8), 0.0f};
    float int8_floor = min_similarity;
    if (mode == GALLERY_SEARCH_EXACT_INT8) {
        int32_t unused;
        quantise(q, idx->dim, stride8, q8, &iq.qscale, &unused);
        for (size_t j = 0; j < stride8; j++) {
            ((uint8_t *)(q8 + stride8))[j] = (uint8_t)(q8[j] + 128);
        }
        /* Quantisation moves a unit vector by at most sqrt(dim)/2 quanta: |e_x| <=
         * sqrt(d)·scale_x/2, and |x·q − x̂·q̂| <= |e_x| + |e_q| + |e_x||e_q|, so rows that
         * score below min_similarity − bound in int8 are below min_similarity exactly. */
        float ex = sqrtf((float)idx->dim) * idx->q8_scale_max / 2.0f;
        float eq = sqrtf((float)idx->dim) * iq.qscale / 2.0f;
        int8_floor = min_similarity - 1.01f * (ex + eq + ex * eq);
    }

    mien_status st = MIEN_OK;
    size_t want = (size_t)k;
    size_t faces = want * FACES_PER_SUBJECT;
    cand *c = NULL;
    for (;;) {
        if (faces > idx->n) {
            faces = idx->n;
        }
        size_t keep = faces;
        if (mode == GALLERY_SEARCH_EXACT_INT8) {
            keep = faces * INT8_SHORTLIST_FACTOR;
            keep = keep < INT8_SHORTLIST_MIN ? INT8_SHORTLIST_MIN : keep;
            keep = keep > idx->n ? idx->n : keep;
        }
        free(c);
        c = malloc(keep * sizeof(*c));
        size_t *labels = NULL;
        if (mode == GALLERY_SEARCH_APPROX) {
            labels = malloc(keep * sizeof(*labels));
        }
        if (c == NULL || (mode == GALLERY_SEARCH_APPROX && labels == NULL)) {
            free(labels);
            st = base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_search: out of memory");
            break;
        }
        heap h = {c, 0, keep};
        size_t got = 0;
        if (mode == GALLERY_SEARCH_EXACT_F32) {
            scan_f32(idx, &kern, q, min_similarity, &h);
            got = h.n;
        } else if (mode == GALLERY_SEARCH_EXACT_INT8) {
            scan_i8(idx, &kern, &iq, int8_floor, &h);
            got = h.n;
            h.n = rerank(idx, &kern, q, c, h.n, min_similarity);
        } else {
            st = gallery_hnsw_search(idx->hnsw, q, keep, 0, labels, NULL, &got);
            for (size_t i = 0; i < got; i++) {
                c[i].row = labels[i];
            }
            h.n = st == MIEN_OK ? rerank(idx, &kern, q, c, got, min_similarity) : 0;
        }
        free(labels);
        if (st != MIEN_OK) {
            st = base_error_set(err, st, "gallery_index_search: HNSW search failed");
            break;
        }
        size_t m = aggregate(idx, c, h.n, want, hits);
        /* Fewer than k subjects although every candidate kept passed the threshold: some
         * subject took several places, and more may pass further down; widen (×4) unless every
         * face was already a candidate. When the threshold cut the list, nothing further down
         * can pass it: widening then would only turn an HNSW search into an exhaustive one. */
        if (m < want && got == keep && h.n == keep && keep < idx->n) {
            faces *= 4;
            continue;
        }
        *n = m;
        break;
    }
    free(c);
    free(q);
    free(q8);
    return st;
}

mien_status gallery_index_search(const gallery_index *idx, const float *query, int k,
                                 float min_similarity, gallery_search_mode mode,
                                 gallery_hit *hits, size_t *n, mien_error *err)
{
    return gallery_index_search_isa(idx, query, k, min_similarity, mode, GALLERY_ISA_BEST,
                                    hits, n, err);
}

/* Face i before face j: higher similarity, then the lower face id. */
static int face_cmp(const void *a, const void *b)
{
    const mien_face_match *x = a, *y = b;
    if (x->similarity != y->similarity) {
        return x->similarity > y->similarity ? -1 : 1;
    }
    return x->face_id < y->face_id ? -1 : (x->face_id > y->face_id ? 1 : 0);
}

mien_status gallery_index_subject(const gallery_index *idx, const float *query,
                                  int64_t subject_id, mien_aggregate rule, float *score,
                                  mien_face_match **faces, size_t *n_faces, mien_error *err)
{
    *faces = NULL;
    *n_faces = 0;
    if (!index_ok(idx) || query == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_index_subject: NULL index or query");
    }
    const subject_slot *sl = slot_at(idx, subject_id);
    if (sl == NULL || sl->count == 0) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "gallery_index_subject: no subject %lld",
                              (long long)subject_id);
    }
    size_t n = sl->count;
    mien_face_match *m = malloc(n * sizeof(*m));
    const float **rows = malloc(n * sizeof(*rows));
    float *sims = malloc(n * sizeof(*sims)), *weights = malloc(n * sizeof(*weights));
    if (m == NULL || rows == NULL || sims == NULL || weights == NULL) {
        free(m);
        free(rows);
        free(sims);
        free(weights);
        return base_error_set(err, MIEN_ERR_NOMEM, "gallery_index_subject: out of memory");
    }
    size_t i = 0;
    for (size_t r = sl->head; r != SUBJECT_END && i < n; r = idx->next[r], i++) {
        rows[i] = idx->vec + r * idx->stride;
        float s = 0.0f;
        for (int j = 0; j < idx->dim; j++) {
            s += rows[i][j] * query[j];
        }
        sims[i] = s;
        weights[i] = idx->weight[r];
        m[i].face_id = idx->face_id[r];
        m[i].similarity = s;
    }
    *score = gallery_aggregate_score(rule, &idx->parts, query, rows, sims, weights, i);
    qsort(m, i, sizeof(*m), face_cmp);
    free(rows);
    free(sims);
    free(weights);
    *faces = m;
    *n_faces = i;
    return MIEN_OK;
}

mien_status gallery_index_vector(const mien_template *t, float *out, int *dim)
{
    if (dim != NULL) {
        *dim = 0;
    }
    if (t == NULL || out == NULL || dim == NULL) {
        return MIEN_ERR_ARG;
    }
    const float *a = NULL, *b = NULL;
    int da = 0, db = 0;
    mien_status st = mien_template_vector(t, 0, &a, &da);
    if (st != MIEN_OK) {
        return st;
    }
    if (mien_template_profile(t) == MIEN_PROFILE_FAST) {
        if (da > GALLERY_INDEX_DIM_MAX) {
            return MIEN_ERR_INTERNAL;
        }
        memcpy(out, a, (size_t)da * sizeof(float));
        *dim = da;
        return MIEN_OK;
    }
    st = mien_template_vector(t, 1, &b, &db);
    if (st != MIEN_OK) {
        return st;
    }
    if (da + db > GALLERY_INDEX_DIM_MAX) {
        return MIEN_ERR_INTERNAL;
    }
    /* (√w·a ++ √(1−w)·b)·(√w·a' ++ √(1−w)·b') = w·a·a' + (1 − w)·b·b': the fused score. */
    float wa = sqrtf(CALIBRATION_FUSION_WEIGHT_A), wb = sqrtf(1.0f - CALIBRATION_FUSION_WEIGHT_A);
    for (int j = 0; j < da; j++) {
        out[j] = wa * a[j];
    }
    for (int j = 0; j < db; j++) {
        out[da + j] = wb * b[j];
    }
    *dim = da + db;
    return MIEN_OK;
}
