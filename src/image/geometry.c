/* geometry.c — pixel buffers and the geometric operations of the face pipeline: bilinear
 * resize (detector input), integer crop, and affine warp (the 112×112 aligned face).
 *
 * Each operation reproduces the reference pipeline (shared/reference/lib/image.js) bit for
 * bit: the same float64 expressions evaluated in the same order, and JavaScript's
 * Math.round (round half up) for the result. Two things keep that true in C:
 *   - no floating-point contraction: the build is ISO C11 (CMAKE_C_EXTENSIONS OFF), where
 *     GCC defaults to -ffp-contract=off, so a*b+c is never fused into an FMA;
 *   - rounding is done as floor(v) + (v - floor(v) >= 0.5), which is exact, instead of
 *     floor(v + 0.5), which rounds 0.49999999999999994 up.
 * The fixture test (tests/image/test_geometry.c, tests/fixtures/geometry/) compares against
 * the JavaScript's own output. Resize and warp also have AVX2 / AVX-512 kernels, chosen at
 * run time, that do the same operations lane by lane; image_geometry_isa_* holds them to the
 * base code's bytes. 250×250 → 320×240 resize 0.39 → 0.12 ms, 112×112 warp 0.23 → 0.05 ms
 * (AVX-512, AMD EPYC, Release, min of 200 runs). */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/error.h"
#include "image/image.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Output columns per block of the resize: its per-sample tables and two cached rows of
 * horizontal results (256 × 3 samples × 32 bytes = 24 KB) stay on the stack and in L1, so
 * the resize never allocates, whatever the picture's width. */
#define RESIZE_TILE 256

mien_status image_alloc(image_rgb *img, int w, int h, mien_error *err)
{
    size_t n;

    img->w = 0;
    img->h = 0;
    img->data = NULL;
    if (w <= 0 || h <= 0) {
        return base_error_set(err, MIEN_ERR_ARG, "image of %d×%d pixels: sides must be > 0", w,
                              h);
    }
    /* Rows are indexed with int arithmetic (x*3, row offsets in size_t): keep w*3 in int. */
    if (w > INT_MAX / 3 || (size_t)h > SIZE_MAX / 3 / (size_t)w) {
        return base_error_set(err, MIEN_ERR_ARG, "image of %d×%d pixels is too large", w, h);
    }
    n = (size_t)w * (size_t)h * 3;
    img->data = calloc(n, 1);
    if (img->data == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for a %d×%d image (%zu bytes)",
                              w, h, n);
    }
    img->w = w;
    img->h = h;
    return MIEN_OK;
}

void image_release(image_rgb *img)
{
    if (img != NULL) {
        free(img->data);
        img->data = NULL;
        img->w = 0;
        img->h = 0;
    }
}

/* Math.round for v >= 0 (the only values these filters produce), clamped to 0..255; NaN
 * gives 0, as a JavaScript Uint8Array store does. Branch-free: on photo noise the rounding
 * direction is a coin toss that a branch predictor cannot learn. */
static inline uint8_t round_u8(double v)
{
    v = v > 0.0 ? v : 0.0; /* NaN compares false */
    v = v < 255.0 ? v : 255.0;
    int r = (int)v;               /* truncation is floor for v >= 0 */
    r += v - (double)r >= 0.5;    /* exact: v - r is representable */
    return (uint8_t)r;
}

#if defined(__SSE2__)
/* round_u8 on two doubles at once (x86-64 always has SSE2): the results in the low two int32
 * lanes. Same operations as round_u8, so the same bits; maxpd returns its second operand
 * when the first is NaN, which makes NaN 0. */
static inline __m128i round2_i32(__m128d v)
{
    v = _mm_max_pd(v, _mm_setzero_pd());
    v = _mm_min_pd(v, _mm_set1_pd(255.0));
    __m128i r = _mm_cvttpd_epi32(v);
    __m128d frac = _mm_sub_pd(v, _mm_cvtepi32_pd(r));
    __m128i up = _mm_castpd_si128(_mm_cmpge_pd(frac, _mm_set1_pd(0.5)));
    up = _mm_shuffle_epi32(up, _MM_SHUFFLE(3, 1, 2, 0)); /* 64-bit masks → lanes 0, 1 */
    return _mm_sub_epi32(r, up);                         /* mask −1 adds one */
}
#endif

/* One axis of the resize (image.js `axis`): for output index i of N over n source pixels,
 * s = max(0, (i + 0.5) * (n / N) - 0.5); first neighbour min(floor(s), n - 1), second
 * min(first + 1, n - 1), weight of the second min(s - first, 1). */
static inline void resize_axis(int n, int N, int i, int *i0, int *i1, double *f)
{
    double s = ((double)i + 0.5) * ((double)n / (double)N) - 0.5;
    if (s < 0.0) {
        s = 0.0;
    }
    int a = (int)s;
    if (a > n - 1) {
        a = n - 1;
    }
    *i0 = a;
    *i1 = a + 1 < n ? a + 1 : n - 1;
    double t = s - (double)a;
    *f = t < 1.0 ? t : 1.0;
}

/* The horizontal tables of one column block of a resize: for output columns xb .. xb+nx-1,
 * each sample's two source offsets (bytes into a row) and their weights. */
static void resize_tables(int w, int W, int xb, int nx, int *off0, int *off1, double *u0,
                          double *u1)
{
    for (int x = 0; x < nx; x++) {
        int i0, i1;
        double f;
        resize_axis(w, W, xb + x, &i0, &i1, &f);
        for (int k = 0; k < 3; k++) {
            off0[x * 3 + k] = i0 * 3 + k;
            off1[x * 3 + k] = i1 * 3 + k;
            u0[x * 3 + k] = 1.0 - f;
            u1[x * 3 + k] = f;
        }
    }
}

/* Horizontal pass of the resize for source row `row`: for every output sample e of the
 * block, h[e] = row[off0[e]] * u0[e] + row[off1[e]] * u1[e] — image.js's `top` (or
 * `bottom`), the same expression in the same order. */
static void resize_row(const uint8_t *row, const int *off0, const int *off1, const double *u0,
                       const double *u1, int n, double *h)
{
    for (int e = 0; e < n; e++) {
        h[e] = (double)row[off0[e]] * u0[e] + (double)row[off1[e]] * u1[e];
    }
}

/* The resize at IMAGE_ISA_BASE: per block of output columns, tables of offsets and weights,
 * a scalar horizontal pass and an SSE2 vertical blend. The reference for the fast paths. */
static void resize_base(const image_rgb *src, image_rgb *dst)
{
    const int w = src->w, h = src->h, W = dst->w, H = dst->h;
    const uint8_t *s = src->data;
    /* Per output sample (pixel × channel) of the current block: byte offsets of both
     * neighbours within a source row, and their weights (1 − f, f). */
    int off0[RESIZE_TILE * 3], off1[RESIZE_TILE * 3];
    double u0[RESIZE_TILE * 3], u1[RESIZE_TILE * 3];
    /* Horizontal results of two source rows; tag = which row each holds (-1: none).
     * Consecutive output rows mostly share a source row, so each is filtered once. */
    double rows[2][RESIZE_TILE * 3];
    double *slot[2] = {rows[0], rows[1]};
    int tag[2];

    if (w <= 0 || h <= 0 || W <= 0 || H <= 0 || s == NULL || dst->data == NULL) {
        return;
    }
    for (int xb = 0; xb < W; xb += RESIZE_TILE) {
        const int nx = W - xb < RESIZE_TILE ? W - xb : RESIZE_TILE, n = nx * 3;
        resize_tables(w, W, xb, nx, off0, off1, u0, u1);
        tag[0] = tag[1] = -1;
        for (int y = 0; y < H; y++) {
            int j0, j1;
            double wy;
            resize_axis(h, H, y, &j0, &j1, &wy);
            /* Bring row j0 into slot 0 (reusing slot 1 when it has it), then j1 into 1. */
            if (tag[0] != j0) {
                if (tag[1] == j0) {
                    double *p = slot[0];
                    int t = tag[0];
                    slot[0] = slot[1];
                    tag[0] = tag[1];
                    slot[1] = p;
                    tag[1] = t;
                } else {
                    resize_row(s + (size_t)j0 * (size_t)w * 3, off0, off1, u0, u1, n, slot[0]);
                    tag[0] = j0;
                }
            }
            const double *top = slot[0], *bottom = slot[0];
            if (j1 != j0) {
                if (tag[1] != j1) {
                    resize_row(s + (size_t)j1 * (size_t)w * 3, off0, off1, u0, u1, n, slot[1]);
                    tag[1] = j1;
                }
                bottom = slot[1];
            }
            const double wy0 = 1.0 - wy;
            uint8_t *o = dst->data + ((size_t)y * (size_t)W + (size_t)xb) * 3;
            int e = 0;
#if defined(__SSE2__)
            const __m128d a0 = _mm_set1_pd(wy0), a1 = _mm_set1_pd(wy);
            for (; e + 4 <= n; e += 4) {
                __m128d v0 = _mm_add_pd(_mm_mul_pd(_mm_loadu_pd(top + e), a0),
                                        _mm_mul_pd(_mm_loadu_pd(bottom + e), a1));
                __m128d v1 = _mm_add_pd(_mm_mul_pd(_mm_loadu_pd(top + e + 2), a0),
                                        _mm_mul_pd(_mm_loadu_pd(bottom + e + 2), a1));
                __m128i r = _mm_unpacklo_epi64(round2_i32(v0), round2_i32(v1));
                r = _mm_packs_epi32(r, r);
                r = _mm_packus_epi16(r, r);
                int32_t four = _mm_cvtsi128_si32(r);
                memcpy(o + e, &four, 4);
            }
#endif
            for (; e < n; e++) {
                o[e] = round_u8(top[e] * wy0 + bottom[e] * wy);
            }
        }
    }
}

void image_crop(const image_rgb *src, int x, int y, image_rgb *dst)
{
    const int W = dst->w, H = dst->h;
    const size_t drow = (size_t)W * 3;

    if (W <= 0 || H <= 0 || dst->data == NULL) {
        return;
    }
    /* Columns i of dst with 0 <= x + i < src->w, computed in 64 bits (x may be any int). */
    long long i_lo = x < 0 ? -(long long)x : 0;
    long long i_hi = src->data == NULL ? 0 : (long long)src->w - x;
    if (i_hi > W) {
        i_hi = W;
    }
    if (i_lo > W) {
        i_lo = W;
    }
    /* Each byte written once: a row memcpy inside, zeros around it. */
    for (int j = 0; j < H; j++) {
        uint8_t *d = dst->data + (size_t)j * drow;
        long long sy = (long long)y + j;
        if (i_lo >= i_hi || sy < 0 || sy >= src->h) {
            memset(d, 0, drow);
            continue;
        }
        memset(d, 0, (size_t)i_lo * 3);
        memcpy(d + (size_t)i_lo * 3,
               src->data + ((size_t)sy * (size_t)src->w + (size_t)(x + i_lo)) * 3,
               (size_t)(i_hi - i_lo) * 3);
        memset(d + (size_t)i_hi * 3, 0, (size_t)(W - i_hi) * 3);
    }
}

/* The inverse map of a warp and the source it samples; computed once per call. */
typedef struct warp_map {
    const uint8_t *s; /* source pixels (HWC RGB), never NULL here */
    int w, h;         /* source size (pixels) */
    size_t row;       /* source bytes per row */
    double ia, ib, itx, id, ie, ity;
} warp_map;

/* One destination pixel o[0..2] of the warp from its source position (sx, sy): image.js's
 * bilinear sample, neighbours outside contributing nothing. */
static inline void warp_pixel(const warp_map *m, double sx, double sy, uint8_t *o)
{
    const uint8_t *s = m->s;
    const int w = m->w, h = m->h;
    const size_t row = m->row;

    /* No neighbour inside (or NaN from a singular M): black, as the reference. */
    if (!(sx >= -1.0 && sx < (double)w && sy >= -1.0 && sy < (double)h)) {
        o[0] = o[1] = o[2] = 0;
        return;
    }
    int x0 = (int)sx, y0 = (int)sy;
    x0 -= (double)x0 > sx; /* floor */
    y0 -= (double)y0 > sy;
    const double fx = sx - (double)x0, fy = sy - (double)y0;
    const double w00 = (1.0 - fx) * (1.0 - fy), w10 = fx * (1.0 - fy);
    const double w01 = (1.0 - fx) * fy, w11 = fx * fy;
    if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        /* All four neighbours inside: no checks. */
        const uint8_t *p = s + (size_t)y0 * row + (size_t)x0 * 3;
        const uint8_t *q = p + row;
#if defined(__SSE2__)
        /* Channels 0, 1 in one vector and 2 in another: the same sums, in order. */
        const __m128d v00 = _mm_set1_pd(w00), v10 = _mm_set1_pd(w10);
        const __m128d v01 = _mm_set1_pd(w01), v11 = _mm_set1_pd(w11);
        __m128d c01 = _mm_mul_pd(v00, _mm_set_pd(p[1], p[0]));
        __m128d c2 = _mm_mul_pd(v00, _mm_set_pd(0.0, p[2]));
        c01 = _mm_add_pd(c01, _mm_mul_pd(v10, _mm_set_pd(p[4], p[3])));
        c2 = _mm_add_pd(c2, _mm_mul_pd(v10, _mm_set_pd(0.0, p[5])));
        c01 = _mm_add_pd(c01, _mm_mul_pd(v01, _mm_set_pd(q[1], q[0])));
        c2 = _mm_add_pd(c2, _mm_mul_pd(v01, _mm_set_pd(0.0, q[2])));
        c01 = _mm_add_pd(c01, _mm_mul_pd(v11, _mm_set_pd(q[4], q[3])));
        c2 = _mm_add_pd(c2, _mm_mul_pd(v11, _mm_set_pd(0.0, q[5])));
        __m128i r = _mm_unpacklo_epi64(round2_i32(c01), round2_i32(c2));
        r = _mm_packs_epi32(r, r);
        r = _mm_packus_epi16(r, r);
        uint32_t rgbx = (uint32_t)_mm_cvtsi128_si32(r);
        o[0] = (uint8_t)rgbx;
        o[1] = (uint8_t)(rgbx >> 8);
        o[2] = (uint8_t)(rgbx >> 16);
#else
        for (int k = 0; k < 3; k++) {
            double acc = w00 * p[k];
            acc += w10 * p[3 + k];
            acc += w01 * q[k];
            acc += w11 * q[3 + k];
            o[k] = round_u8(acc);
        }
#endif
        return;
    }
    /* On the border: neighbours outside contribute nothing (adding +0 to a sum of
     * non-negative terms changes nothing, so skipping them equals image.js). */
    const int in_x0 = x0 >= 0, in_x1 = x0 + 1 < w;
    const int in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
    for (int k = 0; k < 3; k++) {
        double acc = 0.0;
        if (in_y0 && in_x0) {
            acc += w00 * s[(size_t)y0 * row + (size_t)x0 * 3 + k];
        }
        if (in_y0 && in_x1) {
            acc += w10 * s[(size_t)y0 * row + (size_t)(x0 + 1) * 3 + k];
        }
        if (in_y1 && in_x0) {
            acc += w01 * s[(size_t)(y0 + 1) * row + (size_t)x0 * 3 + k];
        }
        if (in_y1 && in_x1) {
            acc += w11 * s[(size_t)(y0 + 1) * row + (size_t)(x0 + 1) * 3 + k];
        }
        o[k] = round_u8(acc);
    }
}

/* Destination pixels x0 .. x1-1 of row y, one at a time, with the reference's expression for
 * the source position: sx = ia*x + ib*y + itx, evaluated left to right. */
static void warp_span(const warp_map *m, int y, int x0, int x1, uint8_t *o)
{
    const double yd = (double)y;
    for (int x = x0; x < x1; x++, o += 3) {
        const double xd = (double)x;
        const double sx = m->ia * xd + m->ib * yd + m->itx;
        const double sy = m->id * xd + m->ie * yd + m->ity;
        warp_pixel(m, sx, sy, o);
    }
}

/* The inverse map of M with image.js's exact expressions. */
static void warp_map_init(warp_map *m, const image_rgb *src, const double M[6])
{
    const double a = M[0], b = M[1], tx = M[2], d = M[3], e = M[4], ty = M[5];
    const double det = a * e - b * d;
    m->s = src->data;
    m->w = src->w;
    m->h = src->h;
    m->row = (size_t)src->w * 3;
    m->ia = e / det;
    m->ib = -b / det;
    m->id = -d / det;
    m->ie = a / det;
    m->itx = -(m->ia * tx + m->ib * ty);
    m->ity = -(m->id * tx + m->ie * ty);
}

/* ---- AVX2 and AVX-512 kernels ------------------------------------------------------------
 * Each lane performs the scalar code's IEEE double operations in the scalar code's order:
 * a separate multiply and add for every `a*b + c` (never an FMA intrinsic; and the ISO C11
 * build's -ffp-contract=off keeps GCC from fusing the vector operators behind the mul/add
 * intrinsics), floor as an exact rounding to -infinity, integers converted exactly, and
 * round_u8's clamp / truncate / (v - r >= 0.5) rounding. So each lane's bits equal the
 * scalar's, and image_geometry_isa_* checks that on random sizes and maps. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define GEO_AVX2 __attribute__((target("avx2")))
#define GEO_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512dq,avx512vl")))

/* Horizontal pass from the quad tables (see resize_fast): quad g covers samples 4g..4g+3;
 * qbase[g] is the byte offset of a 16-byte window of the row holding all their neighbours,
 * qctl[g] the pshufb control picking the first neighbours (bytes 0-3) and the second
 * (bytes 4-7) from it. h[e] = row[off0] * u0 + row[off1] * u1, as resize_row. */
GEO_AVX2 static void hrow_avx2(const uint8_t *row, const int *qbase, const uint8_t *qctl,
                               const double *u0, const double *u1, int n, double *h)
{
    int e = 0;
    for (; e + 4 <= n; e += 4) {
        const int g = e / 4;
        __m128i win = _mm_loadu_si128((const __m128i *)(row + qbase[g]));
        __m128i b = _mm_shuffle_epi8(win, _mm_loadu_si128((const __m128i *)(qctl + g * 16)));
        __m256d v0 = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(b));
        __m256d v1 = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_srli_si128(b, 4)));
        __m256d r = _mm256_add_pd(_mm256_mul_pd(v0, _mm256_loadu_pd(u0 + e)),
                                  _mm256_mul_pd(v1, _mm256_loadu_pd(u1 + e)));
        _mm256_storeu_pd(h + e, r);
    }
    for (; e < n; e++) {
        const int g = e / 4, j = e % 4;
        h[e] = (double)row[qbase[g] + qctl[g * 16 + j]] * u0[e] +
               (double)row[qbase[g] + qctl[g * 16 + 4 + j]] * u1[e];
    }
}

GEO_AVX512 static void hrow_avx512(const uint8_t *row, const int *qbase, const uint8_t *qctl,
                                   const double *u0, const double *u1, int n, double *h)
{
    /* Two quads per step: their windows in the two 128-bit lanes, one shuffle, then the
     * dwords reordered so bytes 0-7 are the 8 first neighbours and 8-15 the 8 second. */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 3, 6, 7);
    int e = 0;
    for (; e + 8 <= n; e += 8) {
        const int g = e / 4;
        __m256i win = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row + qbase[g]))),
            _mm_loadu_si128((const __m128i *)(row + qbase[g + 1])), 1);
        __m256i b = _mm256_shuffle_epi8(win, _mm256_loadu_si256((const __m256i *)(qctl + g * 16)));
        __m128i c = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, order));
        __m512d v0 = _mm512_cvtepi32_pd(_mm256_cvtepu8_epi32(c));
        __m512d v1 = _mm512_cvtepi32_pd(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));
        __m512d r = _mm512_add_pd(_mm512_mul_pd(v0, _mm512_loadu_pd(u0 + e)),
                                  _mm512_mul_pd(v1, _mm512_loadu_pd(u1 + e)));
        _mm512_storeu_pd(h + e, r);
    }
    for (; e < n; e++) {
        const int g = e / 4, j = e % 4;
        h[e] = (double)row[qbase[g] + qctl[g * 16 + j]] * u0[e] +
               (double)row[qbase[g] + qctl[g * 16 + 4 + j]] * u1[e];
    }
}

/* round_u8 on 4 doubles: clamp (maxpd makes NaN 0), truncate, add 1 where v - r >= 0.5
 * (in doubles: r + 1 is exact), then to int32. */
GEO_AVX2 static inline __m128i round4_i32(__m256d v)
{
    v = _mm256_max_pd(v, _mm256_setzero_pd());
    v = _mm256_min_pd(v, _mm256_set1_pd(255.0));
    __m256d r = _mm256_cvtepi32_pd(_mm256_cvttpd_epi32(v));
    __m256d up = _mm256_cmp_pd(_mm256_sub_pd(v, r), _mm256_set1_pd(0.5), _CMP_GE_OQ);
    r = _mm256_add_pd(r, _mm256_and_pd(up, _mm256_set1_pd(1.0)));
    return _mm256_cvttpd_epi32(r);
}

/* round_u8 on 8 doubles, as int32 lanes. */
GEO_AVX512 static inline __m256i round8_i32(__m512d v)
{
    v = _mm512_max_pd(v, _mm512_setzero_pd());
    v = _mm512_min_pd(v, _mm512_set1_pd(255.0));
    __m256i r = _mm512_cvttpd_epi32(v);
    __m512d frac = _mm512_sub_pd(v, _mm512_cvtepi32_pd(r));
    __mmask8 up = _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0.5), _CMP_GE_OQ);
    return _mm256_mask_add_epi32(r, up, r, _mm256_set1_epi32(1));
}

/* Vertical blend: o[e] = round_u8(top[e] * wy0 + bottom[e] * wy). */
GEO_AVX2 static void vrow_avx2(const double *top, const double *bottom, double wy0, double wy,
                               int n, uint8_t *o)
{
    const __m256d a0 = _mm256_set1_pd(wy0), a1 = _mm256_set1_pd(wy);
    int e = 0;
    for (; e + 8 <= n; e += 8) {
        __m256d v0 = _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(top + e), a0),
                                   _mm256_mul_pd(_mm256_loadu_pd(bottom + e), a1));
        __m256d v1 = _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(top + e + 4), a0),
                                   _mm256_mul_pd(_mm256_loadu_pd(bottom + e + 4), a1));
        __m128i r = _mm_packs_epi32(round4_i32(v0), round4_i32(v1));
        _mm_storel_epi64((__m128i *)(o + e), _mm_packus_epi16(r, r));
    }
    for (; e < n; e++) {
        o[e] = round_u8(top[e] * wy0 + bottom[e] * wy);
    }
}

/* round_u8 for the resize's blend, whose values are never negative or NaN (sums of products
 * of bytes and weights in [0, 1]) and stay below 255.5 (at most 255 times a sum of weights
 * that exceeds 1 by a few ulps): there the clamp to [0, 255] changes nothing that the
 * saturating pack to bytes (255 for anything above) does not also do, so it is left out. */
GEO_AVX512 static inline __m256i round8_pos_i32(__m512d v)
{
    __m256i r = _mm512_cvttpd_epi32(v);
    __m512d frac = _mm512_sub_pd(v, _mm512_cvtepi32_pd(r));
    __mmask8 up = _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0.5), _CMP_GE_OQ);
    return _mm256_mask_add_epi32(r, up, r, _mm256_set1_epi32(1));
}

GEO_AVX512 static void vrow_avx512(const double *top, const double *bottom, double wy0,
                                   double wy, int n, uint8_t *o)
{
    const __m512d a0 = _mm512_set1_pd(wy0), a1 = _mm512_set1_pd(wy);
    int e = 0;
    for (; e + 16 <= n; e += 16) {
        __m512d v0 = _mm512_add_pd(_mm512_mul_pd(_mm512_loadu_pd(top + e), a0),
                                   _mm512_mul_pd(_mm512_loadu_pd(bottom + e), a1));
        __m512d v1 = _mm512_add_pd(_mm512_mul_pd(_mm512_loadu_pd(top + e + 8), a0),
                                   _mm512_mul_pd(_mm512_loadu_pd(bottom + e + 8), a1));
        __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(round8_pos_i32(v0)),
                                       round8_pos_i32(v1), 1);
        _mm_storeu_si128((__m128i *)(o + e), _mm512_cvtusepi32_epi8(r));
    }
    for (; e < n; e++) {
        o[e] = round_u8(top[e] * wy0 + bottom[e] * wy);
    }
}

/* Warp, all-inside fast path: for destination pixels x .. x+3 (x+7) of row y, lane by lane
 * the scalar code's sx, sy, floor, weights and neighbour sums. Returns false (nothing
 * written) when some lane is not inside (or NaN): the caller then uses warp_span. The
 * neighbours come from two 8-byte gathers per pixel: bytes 0-5 at p (the row y0 is not the
 * last, so p + 8 stays in the picture) and bytes 2-7 at q - 2 (q is in row >= 1). */
GEO_AVX2 static void warp_row_avx2(const warp_map *m, int y, int W, uint8_t *o)
{
    const double yd = (double)y;
    const __m256d ia = _mm256_set1_pd(m->ia), id = _mm256_set1_pd(m->id);
    const __m256d byd = _mm256_set1_pd(m->ib * yd), eyd = _mm256_set1_pd(m->ie * yd);
    const __m256d itx = _mm256_set1_pd(m->itx), ity = _mm256_set1_pd(m->ity);
    const __m256d iota = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0), one = _mm256_set1_pd(1.0);
    const __m256d zero = _mm256_setzero_pd();
    const __m256d xlim = _mm256_set1_pd((double)(m->w - 1)), ylim = _mm256_set1_pd(m->h - 1);
    const __m128i rowb = _mm_set1_epi32((int)m->row), three = _mm_set1_epi32(3);
    const __m256i ff = _mm256_set1_epi64x(0xff);
    /* 2^52 as bits: or-ing a byte k into its mantissa makes 2^52 + k, exactly. */
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
    const __m256d magicd = _mm256_set1_pd(4503599627370496.0);
    const __m128i pack = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    const long long *ps = (const long long *)(const void *)m->s;
    const long long *qs = (const long long *)(const void *)(m->s + m->row - 2);
    int x = 0;
    for (; x + 4 <= W; x += 4) {
        const __m256d xd = _mm256_add_pd(_mm256_set1_pd((double)x), iota);
        const __m256d sx = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(ia, xd), byd), itx);
        const __m256d sy = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(id, xd), eyd), ity);
        const __m256d x0 = _mm256_floor_pd(sx), y0 = _mm256_floor_pd(sy);
        __m256d in = _mm256_and_pd(_mm256_cmp_pd(x0, zero, _CMP_GE_OQ),
                                   _mm256_cmp_pd(x0, xlim, _CMP_LT_OQ));
        in = _mm256_and_pd(in, _mm256_and_pd(_mm256_cmp_pd(y0, zero, _CMP_GE_OQ),
                                             _mm256_cmp_pd(y0, ylim, _CMP_LT_OQ)));
        if (_mm256_movemask_pd(in) != 0xf) {
            warp_span(m, y, x, x + 4, o + (size_t)x * 3);
            continue;
        }
        const __m256d fx = _mm256_sub_pd(sx, x0), fy = _mm256_sub_pd(sy, y0);
        const __m256d gx = _mm256_sub_pd(one, fx), gy = _mm256_sub_pd(one, fy);
        const __m256d w00 = _mm256_mul_pd(gx, gy), w10 = _mm256_mul_pd(fx, gy);
        const __m256d w01 = _mm256_mul_pd(gx, fy), w11 = _mm256_mul_pd(fx, fy);
        const __m128i idx = _mm_add_epi32(_mm_mullo_epi32(_mm256_cvttpd_epi32(y0), rowb),
                                          _mm_mullo_epi32(_mm256_cvttpd_epi32(x0), three));
        const __m256i P = _mm256_i32gather_epi64(ps, idx, 1);
        const __m256i Q = _mm256_i32gather_epi64(qs, idx, 1);
#define GEO_BYTE4(V, k)                                                                    \
    _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(                                     \
                      _mm256_and_si256(_mm256_srli_epi64(V, 8 * (k)), ff), magic)),         \
                  magicd)
#define GEO_CHANNEL4(k)                                                                    \
    _mm256_add_pd(                                                                         \
        _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(w00, GEO_BYTE4(P, k)),                   \
                                    _mm256_mul_pd(w10, GEO_BYTE4(P, (k) + 3))),            \
                      _mm256_mul_pd(w01, GEO_BYTE4(Q, (k) + 2))),                          \
        _mm256_mul_pd(w11, GEO_BYTE4(Q, (k) + 5)))
        __m128i r = round4_i32(GEO_CHANNEL4(0));
        r = _mm_or_si128(r, _mm_slli_epi32(round4_i32(GEO_CHANNEL4(1)), 8));
        r = _mm_or_si128(r, _mm_slli_epi32(round4_i32(GEO_CHANNEL4(2)), 16));
#undef GEO_CHANNEL4
#undef GEO_BYTE4
        r = _mm_shuffle_epi8(r, pack);
        uint8_t *d = o + (size_t)x * 3;
        _mm_storel_epi64((__m128i *)d, r);
        uint32_t last = (uint32_t)_mm_extract_epi32(r, 2);
        memcpy(d + 8, &last, 4);
    }
    warp_span(m, y, x, W, o + (size_t)x * 3);
}

GEO_AVX512 static void warp_row_avx512(const warp_map *m, int y, int W, uint8_t *o)
{
    const double yd = (double)y;
    const __m512d ia = _mm512_set1_pd(m->ia), id = _mm512_set1_pd(m->id);
    const __m512d byd = _mm512_set1_pd(m->ib * yd), eyd = _mm512_set1_pd(m->ie * yd);
    const __m512d itx = _mm512_set1_pd(m->itx), ity = _mm512_set1_pd(m->ity);
    const __m512d iota = _mm512_setr_pd(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    const __m512d xlim = _mm512_set1_pd((double)(m->w - 1)), ylim = _mm512_set1_pd(m->h - 1);
    const __m256i rowb = _mm256_set1_epi32((int)m->row), three = _mm256_set1_epi32(3);
    const __m512i ff = _mm512_set1_epi64(0xff);
    const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                          0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    const __m256i order = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
    const uint8_t *ps = m->s, *qs = m->s + m->row - 2;
    int x = 0;
    for (; x + 8 <= W; x += 8) {
        const __m512d xd = _mm512_add_pd(_mm512_set1_pd((double)x), iota);
        const __m512d sx = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(ia, xd), byd), itx);
        const __m512d sy = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(id, xd), eyd), ity);
        const __m512d x0 = _mm512_roundscale_pd(sx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        const __m512d y0 = _mm512_roundscale_pd(sy, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __mmask8 in = _mm512_cmp_pd_mask(x0, zero, _CMP_GE_OQ);
        in = _mm512_mask_cmp_pd_mask(in, x0, xlim, _CMP_LT_OQ);
        in = _mm512_mask_cmp_pd_mask(in, y0, zero, _CMP_GE_OQ);
        in = _mm512_mask_cmp_pd_mask(in, y0, ylim, _CMP_LT_OQ);
        if (in != 0xff) {
            warp_span(m, y, x, x + 8, o + (size_t)x * 3);
            continue;
        }
        const __m512d fx = _mm512_sub_pd(sx, x0), fy = _mm512_sub_pd(sy, y0);
        const __m512d gx = _mm512_sub_pd(one, fx), gy = _mm512_sub_pd(one, fy);
        const __m512d w00 = _mm512_mul_pd(gx, gy), w10 = _mm512_mul_pd(fx, gy);
        const __m512d w01 = _mm512_mul_pd(gx, fy), w11 = _mm512_mul_pd(fx, fy);
        const __m256i idx = _mm256_add_epi32(_mm256_mullo_epi32(_mm512_cvttpd_epi32(y0), rowb),
                                             _mm256_mullo_epi32(_mm512_cvttpd_epi32(x0), three));
        const __m512i P = _mm512_i32gather_epi64(idx, (const void *)ps, 1);
        const __m512i Q = _mm512_i32gather_epi64(idx, (const void *)qs, 1);
#define GEO_BYTE8(V, k) _mm512_cvtepi64_pd(_mm512_and_si512(_mm512_srli_epi64(V, 8 * (k)), ff))
#define GEO_CHANNEL8(k)                                                                    \
    _mm512_add_pd(                                                                         \
        _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(w00, GEO_BYTE8(P, k)),                   \
                                    _mm512_mul_pd(w10, GEO_BYTE8(P, (k) + 3))),            \
                      _mm512_mul_pd(w01, GEO_BYTE8(Q, (k) + 2))),                          \
        _mm512_mul_pd(w11, GEO_BYTE8(Q, (k) + 5)))
        __m256i r = round8_i32(GEO_CHANNEL8(0));
        r = _mm256_or_si256(r, _mm256_slli_epi32(round8_i32(GEO_CHANNEL8(1)), 8));
        r = _mm256_or_si256(r, _mm256_slli_epi32(round8_i32(GEO_CHANNEL8(2)), 16));
#undef GEO_CHANNEL8
#undef GEO_BYTE8
        r = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(r, pack), order);
        uint8_t *d = o + (size_t)x * 3;
        _mm_storeu_si128((__m128i *)d, _mm256_castsi256_si128(r));
        _mm_storel_epi64((__m128i *)(d + 16), _mm256_extracti128_si256(r, 1));
    }
    warp_span(m, y, x, W, o + (size_t)x * 3);
}
#endif /* x86-64 */

/* ---- dispatch ---------------------------------------------------------------------------- */

/* The process's level (base/cpu.h: the CPU's best, lowered by MIEN_MAX_ISA) decides, so that
 * a cap keeps these kernels off AVX-512 (or off AVX2) on a machine that has it. MIEN_ISA_AVX512
 * holds the F, BW, DQ and VL the AVX-512 kernels use. There are no SSE4.1 kernels: at
 * MIEN_ISA_SSE41 and MIEN_ISA_C the base code runs, SSE2 on x86-64 being that architecture's
 * baseline, which its plain C compiles to anyway. */
image_isa image_isa_best(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (base_isa_allows(MIEN_ISA_AVX512)) {
        return IMAGE_ISA_AVX512;
    }
    if (base_isa_allows(MIEN_ISA_AVX2)) {
        return IMAGE_ISA_AVX2;
    }
#endif
    return IMAGE_ISA_BASE;
}

static image_isa isa_clamp(image_isa isa)
{
    image_isa best = image_isa_best();
    return isa > best ? best : isa;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The resize at AVX2 / AVX-512: resize_base's blocks, tables, row cache and expressions,
 * with the horizontal pass reading each group of 4 samples' neighbours from one 16-byte
 * window of the row (a shuffle instead of 8 loads) and the vertical blend 4 or 8 wide.
 * A block whose groups do not fit a window (downscaling by about 3 or more, a row under 16
 * bytes) keeps resize_row for its horizontal pass. */
static void resize_fast(const image_rgb *src, image_rgb *dst, image_isa isa)
{
    const int w = src->w, h = src->h, W = dst->w, H = dst->h;
    const uint8_t *s = src->data;
    const int rowlen = w * 3; /* bytes; image_alloc keeps it in int */
    int off0[RESIZE_TILE * 3], off1[RESIZE_TILE * 3];
    /* 64-byte aligned: the 8-double loads and stores then never straddle cache lines. */
    _Alignas(64) double u0[RESIZE_TILE * 3];
    _Alignas(64) double u1[RESIZE_TILE * 3];
    /* Per group of 4 samples: window offset (bytes) and a 16-byte pshufb control. */
    int qbase[RESIZE_TILE * 3 / 4];
    uint8_t qctl[RESIZE_TILE * 3 / 4 * 16];
    _Alignas(64) double rows[2][RESIZE_TILE * 3];
    double *slot[2] = {rows[0], rows[1]};
    int tag[2];

    if (w <= 0 || h <= 0 || W <= 0 || H <= 0 || s == NULL || dst->data == NULL) {
        return;
    }
    for (int xb = 0; xb < W; xb += RESIZE_TILE) {
        const int nx = W - xb < RESIZE_TILE ? W - xb : RESIZE_TILE, n = nx * 3;
        resize_tables(w, W, xb, nx, off0, off1, u0, u1);
        /* A group's neighbours lie in min(off0) .. max(off1) of its 4 samples (not first
         * and last: the channel restarts at each pixel, 3 → 0). */
        bool windows = rowlen >= 16;
        for (int g = 0; windows && g < n / 4; g++) {
            int base = off0[4 * g], top = off1[4 * g];
            for (int j = 1; j < 4; j++) {
                base = off0[4 * g + j] < base ? off0[4 * g + j] : base;
                top = off1[4 * g + j] > top ? off1[4 * g + j] : top;
            }
            if (base > rowlen - 16) {
                base = rowlen - 16;
            }
            if (top - base > 15) {
                windows = false;
                break;
            }
            qbase[g] = base;
            for (int j = 0; j < 4; j++) {
                qctl[g * 16 + j] = (uint8_t)(off0[4 * g + j] - base);
                qctl[g * 16 + 4 + j] = (uint8_t)(off1[4 * g + j] - base);
            }
            memset(qctl + g * 16 + 8, 0x80, 8);
        }
        /* The last partial group (n % 4 samples) goes through resize_row. */
        const int nv = windows ? n / 4 * 4 : 0;
        tag[0] = tag[1] = -1;
        for (int y = 0; y < H; y++) {
            int j[2];
            double wy;
            resize_axis(h, H, y, &j[0], &j[1], &wy);
            if (tag[0] != j[0] && tag[1] == j[0]) {
                double *p = slot[0];
                int t = tag[0];
                slot[0] = slot[1];
                tag[0] = tag[1];
                slot[1] = p;
                tag[1] = t;
            }
            for (int r = 0; r < 2; r++) {
                if (tag[r] == j[r] || (r == 1 && j[1] == j[0])) {
                    continue;
                }
                const uint8_t *sr = s + (size_t)j[r] * (size_t)rowlen;
                if (isa == IMAGE_ISA_AVX512) {
                    hrow_avx512(sr, qbase, qctl, u0, u1, nv, slot[r]);
                } else {
                    hrow_avx2(sr, qbase, qctl, u0, u1, nv, slot[r]);
                }
                resize_row(sr, off0 + nv, off1 + nv, u0 + nv, u1 + nv, n - nv, slot[r] + nv);
                tag[r] = j[r];
            }
            const double *top = slot[0], *bottom = j[1] != j[0] ? slot[1] : slot[0];
            uint8_t *o = dst->data + ((size_t)y * (size_t)W + (size_t)xb) * 3;
            if (isa == IMAGE_ISA_AVX512) {
                vrow_avx512(top, bottom, 1.0 - wy, wy, n, o);
            } else {
                vrow_avx2(top, bottom, 1.0 - wy, wy, n, o);
            }
        }
    }
}

/* The warp at AVX2 / AVX-512: row by row, the all-inside fast path where a whole vector of
 * pixels is inside, warp_span elsewhere. Falls back to per-pixel when the picture is too
 * small to have an inside (w or h < 2) or too large for 32-bit gather offsets. */
static void warp_fast(const warp_map *m, image_rgb *dst, image_isa isa)
{
    const int W = dst->w, H = dst->h;
    const bool vec = m->w >= 2 && m->h >= 2 && (size_t)m->h * m->row <= (size_t)INT_MAX - 16;
    for (int y = 0; y < H; y++) {
        uint8_t *o = dst->data + (size_t)y * (size_t)W * 3;
        if (!vec) {
            warp_span(m, y, 0, W, o);
        } else if (isa == IMAGE_ISA_AVX512) {
            warp_row_avx512(m, y, W, o);
        } else {
            warp_row_avx2(m, y, W, o);
        }
    }
}
#endif

void image_resize_bilinear_isa(const image_rgb *src, image_rgb *dst, image_isa isa)
{
    isa = isa_clamp(isa);
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa != IMAGE_ISA_BASE) {
        resize_fast(src, dst, isa);
        return;
    }
#endif
    resize_base(src, dst);
}

void image_resize_bilinear(const image_rgb *src, image_rgb *dst)
{
    image_resize_bilinear_isa(src, dst, IMAGE_ISA_AUTO);
}

void image_warp_affine_isa(const image_rgb *src, const double M[6], image_rgb *dst,
                           image_isa isa)
{
    const int W = dst->w, H = dst->h;
    warp_map m;

    if (W <= 0 || H <= 0 || dst->data == NULL) {
        return;
    }
    if (src->data == NULL || src->w <= 0 || src->h <= 0) {
        memset(dst->data, 0, (size_t)W * (size_t)H * 3); /* no neighbour inside: black */
        return;
    }
    warp_map_init(&m, src, M);
    isa = isa_clamp(isa);
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa != IMAGE_ISA_BASE) {
        warp_fast(&m, dst, isa);
        return;
    }
#endif
    for (int y = 0; y < H; y++) {
        warp_span(&m, y, 0, W, dst->data + (size_t)y * (size_t)W * 3);
    }
}

void image_warp_affine(const image_rgb *src, const double M[6], image_rgb *dst)
{
    image_warp_affine_isa(src, M, dst, IMAGE_ISA_AUTO);
}
