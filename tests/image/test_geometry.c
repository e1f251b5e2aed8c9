/* test_geometry.c — resize, crop and affine warp (src/image/geometry.c) against hand-worked
 * values, against a literal port of the reference's JavaScript (per pixel, no tables, no
 * fast paths: the oracle), and against the JavaScript's own output on a synthetic picture
 * (tests/fixtures/geometry/, made by tests/fixtures/gen-geometry.js). All must match to
 * the bit: mien and the reference pipeline must see the same pixels. */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "image/image.h"
#include "test.h"

/* ---- the oracle: image.js transcribed, one pixel at a time ------------------------------- */

/* Math.round (ECMA-262: the closest integer, ties toward +infinity). */
static double js_round(double v)
{
    double r = floor(v);
    return v - r >= 0.5 ? r + 1.0 : r;
}

/* Uint8Array element store of a Number: NaN → 0, else truncated modulo 256. */
static uint8_t js_u8(double v)
{
    if (isnan(v) || isinf(v)) {
        return 0;
    }
    double t = fmod(trunc(v), 256.0);
    return (uint8_t)(int)(t < 0 ? t + 256.0 : t);
}

static void js_axis(int n, int N, int i, int *i0, int *i1, double *f)
{
    double s = fmax(0.0, (i + 0.5) * ((double)n / N) - 0.5);
    *i0 = (int)fmin(floor(s), n - 1);
    *i1 = (int)fmin(*i0 + 1, n - 1);
    *f = fmin(s - *i0, 1.0);
}

static void js_resize(const image_rgb *img, image_rgb *out)
{
    const int w = img->w, W = out->w, H = out->h;
    for (int y = 0; y < H; y++) {
        int y0, y1, x0, x1;
        double wy, wx;
        js_axis(img->h, H, y, &y0, &y1, &wy);
        for (int x = 0; x < W; x++) {
            js_axis(w, W, x, &x0, &x1, &wx);
            int a = (y0 * w + x0) * 3, b = (y0 * w + x1) * 3;
            int d = (y1 * w + x0) * 3, e = (y1 * w + x1) * 3;
            for (int k = 0; k < 3; k++) {
                const uint8_t *s = img->data;
                double top = s[a + k] * (1 - wx) + s[b + k] * wx;
                double bottom = s[d + k] * (1 - wx) + s[e + k] * wx;
                out->data[(y * W + x) * 3 + k] = js_u8(js_round(top * (1 - wy) + bottom * wy));
            }
        }
    }
}

static void js_add_pixel(double *acc, const image_rgb *img, double x, double y, double weight)
{
    if (weight == 0 || x < 0 || y < 0 || x >= img->w || y >= img->h) {
        return;
    }
    for (int k = 0; k < 3; k++) {
        acc[k] += weight * img->data[((size_t)y * img->w + (size_t)x) * 3 + k];
    }
}

static void js_warp(const image_rgb *img, const double *M, image_rgb *out)
{
    const double a = M[0], b = M[1], tx = M[2], d = M[3], e = M[4], ty = M[5];
    const double det = a * e - b * d;
    const double ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
    const double itx = -(ia * tx + ib * ty), ity = -(id * tx + ie * ty);
    for (int y = 0; y < out->h; y++) {
        for (int x = 0; x < out->w; x++) {
            double acc[3] = {0, 0, 0};
            const double sx = ia * x + ib * y + itx, sy = id * x + ie * y + ity;
            const double x0 = floor(sx), y0 = floor(sy), fx = sx - x0, fy = sy - y0;
            if (isnan(sx) || isnan(sy)) {
                acc[0] = acc[1] = acc[2] = NAN; /* img.data[NaN] is undefined */
            } else {
                js_add_pixel(acc, img, x0, y0, (1 - fx) * (1 - fy));
                js_add_pixel(acc, img, x0 + 1, y0, fx * (1 - fy));
                js_add_pixel(acc, img, x0, y0 + 1, (1 - fx) * fy);
                js_add_pixel(acc, img, x0 + 1, y0 + 1, fx * fy);
            }
            for (int k = 0; k < 3; k++) {
                double v = js_round(acc[k]);
                v = isnan(v) ? v : fmax(0, fmin(255, v));
                out->data[((size_t)y * out->w + x) * 3 + k] = js_u8(v);
            }
        }
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* w×h of noise mixed with gradients (so both smooth areas and every rounding case occur). */
static int make_pattern(image_rgb *img, int w, int h, uint32_t seed)
{
    if (image_alloc(img, w, h, NULL) != MIEN_OK) {
        return 1;
    }
    for (int i = 0; i < w * h * 3; i++) {
        int x = (i / 3) % w, y = (i / 3) / w;
        img->data[i] = (uint8_t)((i % 2) ? lcg(&seed) : (x * 255 / w + y * 97 / h) & 255);
    }
    return 0;
}

/* First differing byte of two equal-sized images, or -1. */
static long first_diff(const image_rgb *a, const image_rgb *b)
{
    for (long i = 0; i < (long)a->w * a->h * 3; i++) {
        if (a->data[i] != b->data[i]) {
            return i;
        }
    }
    return -1;
}

#define ASSERT_SAME_IMAGE(got, want, what)                                                   \
    do {                                                                                   \
        long i_ = first_diff(got, want);                                                   \
        if (i_ >= 0) {                                                                     \
            TEST_FAIL_("%s: byte %ld (pixel %ld, %ld) = %d, want %d", what, i_,              \
                       i_ / 3 % (got)->w, i_ / 3 / (got)->w, (got)->data[i_],              \
                       (want)->data[i_]);                                                  \
        }                                                                                  \
    } while (0)

/* ---- resize -------------------------------------------------------------------------------- */

TEST(image_resize_hand)
{
    image_rgb src, dst;
    /* 2×2 grey-ish (all channels equal): 0 100 / 200 40, to 4×4. Per axis (n/N = 0.5):
     * i = 0..3 → s = 0, 0.25, 0.75, 1.25 → (i0, i1, f) = (0,1,0) (0,1,.25) (0,1,.75) (1,1,.25). */
    static const uint8_t v[4] = {0, 100, 200, 40};
    ASSERT_OK(image_alloc(&src, 2, 2, NULL), NULL);
    ASSERT_OK(image_alloc(&dst, 4, 4, NULL), NULL);
    for (int i = 0; i < 12; i++) {
        src.data[i] = v[i / 3];
    }
    image_resize_bilinear(&src, &dst);
#define PX(x, y) dst.data[((y) * 4 + (x)) * 3]
    ASSERT_EQ_INT(PX(0, 0), 0);
    ASSERT_EQ_INT(PX(1, 0), 25);  /* 0·.75 + 100·.25 */
    ASSERT_EQ_INT(PX(1, 1), 59);  /* 25·.75 + (200·.75 + 40·.25 = 160)·.25 = 58.75 */
    ASSERT_EQ_INT(PX(2, 2), 79);  /* 75·.25 + 80·.75 = 78.75 */
    ASSERT_EQ_INT(PX(3, 3), 40);  /* both rows and columns clamp to pixel (1, 1) */
    ASSERT_EQ_INT(PX(3, 0), 100);
    ASSERT_EQ_INT(PX(0, 3), 200);
#undef PX
    image_release(&src);
    image_release(&dst);

    /* Ties round up (Math.round), not to even: 1 3 → 4 wide gives 1, 1.5→2, 2.5→3, 3. */
    ASSERT_OK(image_alloc(&src, 2, 1, NULL), NULL);
    ASSERT_OK(image_alloc(&dst, 4, 1, NULL), NULL);
    memset(src.data, 1, 3);
    memset(src.data + 3, 3, 3);
    image_resize_bilinear(&src, &dst);
    ASSERT_EQ_INT(dst.data[0], 1);
    ASSERT_EQ_INT(dst.data[3], 2);
    ASSERT_EQ_INT(dst.data[6], 3);
    ASSERT_EQ_INT(dst.data[9], 3);
    image_release(&src);
    image_release(&dst);
    return 0;
}

TEST(image_resize_matches_oracle)
{
    static const int sizes[][4] = {
        {250, 250, 320, 240}, {61, 47, 150, 97}, {61, 47, 23, 17}, {1, 1, 3, 3},
        {5, 1, 1, 7},         {3, 4, 3, 4},      {7, 3, 2500, 2},  {2000, 3, 1500, 5},
        {640, 480, 320, 240}, {33, 65, 112, 112},
    };
    for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
        image_rgb src, got, want;
        ASSERT_TRUE(make_pattern(&src, sizes[t][0], sizes[t][1], (uint32_t)t + 1) == 0);
        ASSERT_OK(image_alloc(&got, sizes[t][2], sizes[t][3], NULL), NULL);
        ASSERT_OK(image_alloc(&want, sizes[t][2], sizes[t][3], NULL), NULL);
        image_resize_bilinear(&src, &got);
        js_resize(&src, &want);
        char what[64];
        snprintf(what, sizeof(what), "resize %dx%d -> %dx%d", sizes[t][0], sizes[t][1],
                 sizes[t][2], sizes[t][3]);
        ASSERT_SAME_IMAGE(&got, &want, what);
        image_release(&src);
        image_release(&got);
        image_release(&want);
    }
    return 0;
}

/* ---- crop ---------------------------------------------------------------------------------- */

TEST(image_crop_edges)
{
    image_rgb src, dst;
    ASSERT_TRUE(make_pattern(&src, 10, 6, 7) == 0);
    ASSERT_OK(image_alloc(&dst, 4, 3, NULL), NULL);
    static const int offs[][2] = {{0, 0},   {3, 2},   {-2, -1},       {8, 4},       {-4, 0},
                                  {10, 0},  {0, 6},   {-100, -100},   {INT_MAX, 0}, {INT_MIN, 3},
                                  {2, INT_MIN}, {9, 5}};
    for (size_t t = 0; t < sizeof(offs) / sizeof(offs[0]); t++) {
        const int x = offs[t][0], y = offs[t][1];
        memset(dst.data, 0xAB, 4 * 3 * 3);
        image_crop(&src, x, y, &dst);
        for (int j = 0; j < 3; j++) {
            for (int i = 0; i < 4; i++) {
                long long sx = (long long)x + i, sy = (long long)y + j;
                int inside = sx >= 0 && sy >= 0 && sx < 10 && sy < 6;
                for (int k = 0; k < 3; k++) {
                    int want = inside ? src.data[(sy * 10 + sx) * 3 + k] : 0;
                    if (dst.data[(j * 4 + i) * 3 + k] != want) {
                        TEST_FAIL_("crop at (%d, %d): pixel (%d, %d) = %d, want %d", x, y, i, j,
                                   dst.data[(j * 4 + i) * 3 + k], want);
                    }
                }
            }
        }
    }
    image_release(&src);
    image_release(&dst);
    return 0;
}

/* ---- warp ---------------------------------------------------------------------------------- */

TEST(image_warp_hand)
{
    image_rgb src, dst;
    static const double identity[6] = {1, 0, 0, 0, 1, 0};
    static const double far_away[6] = {1, 0, 5000, 0, 1, -5000};
    static const double singular[6] = {0, 0, 0, 0, 0, 0};
    static const double half[6] = {1, 0, 0.5, 0, 1, 0};
    static const double shift2[6] = {1, 0, 2, 0, 1, 0};

    ASSERT_TRUE(make_pattern(&src, 9, 7, 3) == 0);
    ASSERT_OK(image_alloc(&dst, 9, 7, NULL), NULL);
    image_warp_affine(&src, identity, &dst);
    ASSERT_SAME_IMAGE(&dst, &src, "identity warp");
    image_warp_affine(&src, far_away, &dst);
    for (int i = 0; i < 9 * 7 * 3; i++) {
        ASSERT_EQ_INT(dst.data[i], 0);
    }
    memset(dst.data, 7, 9 * 7 * 3);
    image_warp_affine(&src, singular, &dst);
    for (int i = 0; i < 9 * 7 * 3; i++) {
        ASSERT_EQ_INT(dst.data[i], 0);
    }
    /* Shift right by 2: columns 0, 1 black, the rest the source moved. */
    image_warp_affine(&src, shift2, &dst);
    for (int y = 0; y < 7; y++) {
        for (int x = 0; x < 9; x++) {
            int want = x < 2 ? 0 : src.data[(y * 9 + x - 2) * 3 + 1];
            ASSERT_EQ_INT(dst.data[(y * 9 + x) * 3 + 1], want);
        }
    }
    image_release(&src);
    image_release(&dst);

    /* Half a pixel: 1 and 2 average to 1.5, rounded up to 2; the first column reads
     * x = -0.5: half of pixel 0 and half of nothing (black outside) = 0.5 → 1. */
    ASSERT_OK(image_alloc(&src, 2, 1, NULL), NULL);
    ASSERT_OK(image_alloc(&dst, 2, 1, NULL), NULL);
    memset(src.data, 1, 3);
    memset(src.data + 3, 2, 3);
    image_warp_affine(&src, half, &dst);
    ASSERT_EQ_INT(dst.data[0], 1);
    ASSERT_EQ_INT(dst.data[3], 2);
    image_release(&src);
    image_release(&dst);
    return 0;
}

TEST(image_warp_matches_oracle)
{
    image_rgb src, got, want;
    uint32_t seed = 99;
    ASSERT_TRUE(make_pattern(&src, 250, 250, 11) == 0);
    ASSERT_OK(image_alloc(&got, 112, 112, NULL), NULL);
    ASSERT_OK(image_alloc(&want, 112, 112, NULL), NULL);
    for (int t = 0; t < 60; t++) {
        /* A similarity (the alignment's kind) and then some general affine maps, placed so
         * the output covers inside, edges and outside of the source. */
        double ang = (lcg(&seed) / 65536.0 - 0.5) * 2.0, sc = 0.2 + 3.0 * lcg(&seed) / 65536.0;
        double M[6] = {sc * cos(ang), -sc * sin(ang), 0, sc * sin(ang), sc * cos(ang), 0};
        if (t % 2 == 1) {
            M[1] += (lcg(&seed) / 65536.0 - 0.5);
            M[3] += (lcg(&seed) / 65536.0 - 0.5);
        }
        M[2] = -(lcg(&seed) / 65536.0) * 250.0 * sc + 56;
        M[5] = -(lcg(&seed) / 65536.0) * 250.0 * sc + 56;
        if (t == 0) { /* integer translation: samples fall on pixel centres exactly */
            M[0] = 1;
            M[1] = 0;
            M[2] = -100;
            M[3] = 0;
            M[4] = 1;
            M[5] = -3;
        }
        image_warp_affine(&src, M, &got);
        js_warp(&src, M, &want);
        char what[96];
        snprintf(what, sizeof(what), "warp %d [%g %g %g %g %g %g]", t, M[0], M[1], M[2], M[3],
                 M[4], M[5]);
        ASSERT_SAME_IMAGE(&got, &want, what);
    }
    image_release(&src);
    image_release(&got);
    image_release(&want);
    return 0;
}

/* ---- against the JavaScript's own output ----------------------------------------------- */

/* Reads a binary PPM (P6, maxval 255) as written by gen-geometry.js. */
static int read_ppm(const char *rel, image_rgb *img)
{
    char path[4200];
    size_t size;
    int w, h, maxval, off = 0;
    unsigned char *b = test_read_file(test_path(path, sizeof(path), rel), &size);
    if (b == NULL) {
        return 1;
    }
    b[size] = '\0'; /* test_read_file leaves room for it */
    if (sscanf((char *)b, "P6 %d %d %d%n", &w, &h, &maxval, &off) != 3 || maxval != 255 ||
        image_alloc(img, w, h, NULL) != MIEN_OK || size < (size_t)off + 1 + (size_t)w * h * 3) {
        free(b);
        return 1;
    }
    memcpy(img->data, b + off + 1, (size_t)w * h * 3);
    free(b);
    return 0;
}

TEST(image_geometry_fixture)
{
    /* Keep in step with tests/fixtures/gen-geometry.js. */
    static const double warp1[6] = {1.7 * 0.95533648912560598, -1.7 * 0.29552020666133955,
                                    30.0, 1.7 * 0.29552020666133955,
                                    1.7 * 0.95533648912560598, -20.0};
    static const double warp2[6] = {0.61, 0.13, 40.5, -0.21, 0.58, 71.25};
    image_rgb in, want, got;
    static const char *const files[4] = {"tests/fixtures/geometry/resize-150x97.ppm",
                                         "tests/fixtures/geometry/resize-23x17.ppm",
                                         "tests/fixtures/geometry/warp1-112.ppm",
                                         "tests/fixtures/geometry/warp2-112.ppm"};
    if (read_ppm("tests/fixtures/geometry/input-61x47.ppm", &in) != 0) {
        TEST_FAIL_("%s", "cannot read tests/fixtures/geometry/input-61x47.ppm");
    }
    for (int t = 0; t < 4; t++) {
        if (read_ppm(files[t], &want) != 0) {
            TEST_FAIL_("cannot read %s", files[t]);
        }
        ASSERT_OK(image_alloc(&got, want.w, want.h, NULL), NULL);
        if (t < 2) {
            image_resize_bilinear(&in, &got);
        } else {
            image_warp_affine(&in, t == 2 ? warp1 : warp2, &got);
        }
        ASSERT_SAME_IMAGE(&got, &want, files[t]);
        image_release(&got);
        image_release(&want);
    }
    image_release(&in);
    return 0;
}

/* ---- vector kernels against the base code ------------------------------------------------ */

/* Every level above IMAGE_ISA_BASE that this CPU runs must give the base code's bytes: the
 * fast paths claim the same IEEE operations in the same order, and these tests hold them to
 * it on random sizes (tile tails, rows under 16 bytes, downscales past the shuffle windows,
 * several column blocks) and random maps (inside, edges, outside, degenerate). */

static double urand(uint32_t *seed)
{
    return (double)lcg(seed) / 65536.0;
}

TEST(image_geometry_isa_resize)
{
    const image_isa best = image_isa_best();
    uint32_t seed = 2024;
    if (best == IMAGE_ISA_BASE) {
        fprintf(stderr, "  no AVX2 at this ISA level (CPU or MIEN_MAX_ISA): nothing to compare\n");
        return TEST_SKIP;
    }
    for (int t = 0; t < 300; t++) {
        int w, h, W, H;
        if (t == 0) { /* the detector's case */
            w = 250, h = 250, W = 320, H = 240;
        } else if (t % 10 == 1) { /* tiny: rows of fewer than 16 bytes */
            w = 1 + (int)(lcg(&seed) % 6), h = 1 + (int)(lcg(&seed) % 6);
            W = 1 + (int)(lcg(&seed) % 40), H = 1 + (int)(lcg(&seed) % 40);
        } else if (t % 10 == 2) { /* strong downscale: windows do not fit */
            w = 100 + (int)(lcg(&seed) % 900), h = 1 + (int)(lcg(&seed) % 50);
            W = 1 + (int)(lcg(&seed) % 60), H = 1 + (int)(lcg(&seed) % 30);
        } else if (t % 10 == 3) { /* several column blocks (RESIZE_TILE is 256) */
            w = 50 + (int)(lcg(&seed) % 700), h = 1 + (int)(lcg(&seed) % 20);
            W = 257 + (int)(lcg(&seed) % 600), H = 1 + (int)(lcg(&seed) % 20);
        } else {
            w = 1 + (int)(lcg(&seed) % 300), h = 1 + (int)(lcg(&seed) % 300);
            W = 1 + (int)(lcg(&seed) % 330), H = 1 + (int)(lcg(&seed) % 250);
        }
        image_rgb src, want, got;
        ASSERT_TRUE(make_pattern(&src, w, h, seed) == 0);
        if (t % 7 == 0) { /* saturated pixels: blends at 255 exactly */
            memset(src.data, 255, (size_t)w * h * 3 / 2);
        }
        ASSERT_OK(image_alloc(&want, W, H, NULL), NULL);
        ASSERT_OK(image_alloc(&got, W, H, NULL), NULL);
        image_resize_bilinear_isa(&src, &want, IMAGE_ISA_BASE);
        for (int isa = IMAGE_ISA_AVX2; isa <= (int)IMAGE_ISA_AUTO; isa++) {
            if (isa != IMAGE_ISA_AUTO && isa > (int)best) {
                continue;
            }
            memset(got.data, 0xA5, (size_t)W * H * 3);
            image_resize_bilinear_isa(&src, &got, (image_isa)isa);
            char what[96];
            snprintf(what, sizeof(what), "resize isa %d %dx%d -> %dx%d", isa, w, h, W, H);
            ASSERT_SAME_IMAGE(&got, &want, what);
        }
        image_release(&src);
        image_release(&want);
        image_release(&got);
    }
    return 0;
}

/* A random map of one of several kinds, in the output's frame (W×H) over a w×h source. */
static void random_map(uint32_t *seed, int t, int w, int h, int W, int H, double M[6])
{
    const double ang = (urand(seed) - 0.5) * 6.3, sc = 0.1 + 4.0 * urand(seed);
    M[0] = sc * cos(ang);
    M[1] = -sc * sin(ang);
    M[3] = sc * sin(ang);
    M[4] = sc * cos(ang);
    if (t % 3 == 1) { /* general affine */
        M[1] += urand(seed) - 0.5;
        M[3] += urand(seed) - 0.5;
    }
    /* Source centre near a random point of the output, so output covers inside, border
     * and outside. */
    const double cx = w * (urand(seed) * 1.4 - 0.2), cy = h * (urand(seed) * 1.4 - 0.2);
    M[2] = W * urand(seed) - (M[0] * cx + M[1] * cy);
    M[5] = H * urand(seed) - (M[3] * cx + M[4] * cy);
    switch (t % 11) {
    case 2: /* pure translation by whole pixels: samples on pixel centres, x0 = w - 2 etc. */
        M[0] = M[4] = 1.0;
        M[1] = M[3] = 0.0;
        M[2] = (double)((int)(lcg(seed) % 9) - 4);
        M[5] = (double)((int)(lcg(seed) % 9) - 4);
        break;
    case 5: /* half-pixel translation: weights of exactly 0.5 (rounding ties) */
        M[0] = M[4] = 1.0;
        M[1] = M[3] = 0.0;
        M[2] = 0.5 * (double)((int)(lcg(seed) % 9) - 4);
        M[5] = 0.5 * (double)((int)(lcg(seed) % 9) - 4);
        break;
    case 7: /* the output entirely outside */
        M[2] += 1e4;
        break;
    case 8: /* singular, or not finite: NaN positions */
        M[0] = (t % 2) ? 0.0 : NAN;
        M[3] = 0.0;
        M[1] = M[4] = (t % 4 == 0) ? 0.0 : INFINITY;
        break;
    default:
        break;
    }
}

TEST(image_geometry_isa_warp)
{
    const image_isa best = image_isa_best();
    uint32_t seed = 777;
    if (best == IMAGE_ISA_BASE) {
        fprintf(stderr, "  no AVX2 at this ISA level (CPU or MIEN_MAX_ISA): nothing to compare\n");
        return TEST_SKIP;
    }
    for (int t = 0; t < 600; t++) {
        int w, h, W, H;
        if (t % 5 == 0) { /* the aligner's case */
            w = 250, h = 250, W = 112, H = 112;
        } else if (t % 5 == 1) { /* small sources: 1 or 2 pixels across, exact sizes */
            w = 1 + (int)(lcg(&seed) % 4), h = 1 + (int)(lcg(&seed) % 4);
            W = 1 + (int)(lcg(&seed) % 30), H = 1 + (int)(lcg(&seed) % 30);
        } else {
            w = 1 + (int)(lcg(&seed) % 200), h = 1 + (int)(lcg(&seed) % 200);
            W = 1 + (int)(lcg(&seed) % 130), H = 1 + (int)(lcg(&seed) % 130);
        }
        double M[6];
        random_map(&seed, t, w, h, W, H, M);
        image_rgb src, want, got;
        ASSERT_TRUE(make_pattern(&src, w, h, seed) == 0);
        ASSERT_OK(image_alloc(&want, W, H, NULL), NULL);
        ASSERT_OK(image_alloc(&got, W, H, NULL), NULL);
        image_warp_affine_isa(&src, M, &want, IMAGE_ISA_BASE);
        for (int isa = IMAGE_ISA_AVX2; isa <= (int)IMAGE_ISA_AUTO; isa++) {
            if (isa != IMAGE_ISA_AUTO && isa > (int)best) {
                continue;
            }
            memset(got.data, 0xA5, (size_t)W * H * 3);
            image_warp_affine_isa(&src, M, &got, (image_isa)isa);
            char what[160];
            snprintf(what, sizeof(what), "warp %d isa %d %dx%d -> %dx%d [%g %g %g %g %g %g]", t,
                     isa, w, h, W, H, M[0], M[1], M[2], M[3], M[4], M[5]);
            ASSERT_SAME_IMAGE(&got, &want, what);
        }
        if (t % 50 == 0) { /* and the base code still equals the oracle */
            js_warp(&src, M, &got);
            ASSERT_SAME_IMAGE(&want, &got, "base warp vs oracle");
        }
        image_release(&src);
        image_release(&want);
        image_release(&got);
    }
    return 0;
}
