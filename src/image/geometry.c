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
 * the JavaScript's own output. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

void image_resize_bilinear(const image_rgb *src, image_rgb *dst)
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

    if (W <= 0 || H <= 0 || dst->data == NULL) {
        return;
    }
    memset(dst->data, 0, (size_t)W * (size_t)H * 3);
    if (src->data == NULL) {
        return;
    }
    /* Columns i of dst with 0 <= x + i < src->w, computed in 64 bits (x may be any int). */
    long long i_lo = x < 0 ? -(long long)x : 0;
    long long i_hi = (long long)src->w - x;
    if (i_hi > W) {
        i_hi = W;
    }
    if (i_lo >= i_hi) {
        return;
    }
    for (int j = 0; j < H; j++) {
        long long sy = (long long)y + j;
        if (sy < 0 || sy >= src->h) {
            continue;
        }
        memcpy(dst->data + ((size_t)j * (size_t)W + (size_t)i_lo) * 3,
               src->data + ((size_t)sy * (size_t)src->w + (size_t)(x + i_lo)) * 3,
               (size_t)(i_hi - i_lo) * 3);
    }
}

void image_warp_affine(const image_rgb *src, const double M[6], image_rgb *dst)
{
    const int w = src->w, h = src->h, W = dst->w, H = dst->h;
    const uint8_t *s = src->data;
    const size_t row = (size_t)w * 3;
    /* The inverse map, with image.js's exact expressions. */
    const double a = M[0], b = M[1], tx = M[2], d = M[3], e = M[4], ty = M[5];
    const double det = a * e - b * d;
    const double ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
    const double itx = -(ia * tx + ib * ty), ity = -(id * tx + ie * ty);
    const double xmax = (double)w, ymax = (double)h;

    if (W <= 0 || H <= 0 || dst->data == NULL) {
        return;
    }
    for (int y = 0; y < H; y++) {
        uint8_t *o = dst->data + (size_t)y * (size_t)W * 3;
        const double yd = (double)y;
        for (int x = 0; x < W; x++, o += 3) {
            const double xd = (double)x;
            const double sx = ia * xd + ib * yd + itx, sy = id * xd + ie * yd + ity;
            /* No neighbour inside (or NaN from a singular M): black, as the reference. */
            if (!(sx >= -1.0 && sx < xmax && sy >= -1.0 && sy < ymax) || s == NULL) {
                o[0] = o[1] = o[2] = 0;
                continue;
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
                continue;
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
    }
}
