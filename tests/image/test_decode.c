/* test_decode.c — decoding JPEG, PNG and WebP (src/image/decode*.c, exif.c, mien_image.c).
 *
 * Inputs are the face-api sample photos (skipped when absent) and pictures made here with
 * the codecs' own encoders (libspng, libjpeg, libwebp), so every colour type, EXIF
 * orientation and damage case has a known answer. Bad input must give MIEN_ERR_IMAGE (or
 * _IO) with a message saying why, never a crash: the suite runs under ASan/UBSan. */
#include <stdint.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <spng.h>
#include <webp/encode.h>

#include "image/image.h"
#include "test.h"

/* ---- helpers: encoders ----------------------------------------------------------------- */

/* PNG of w×h with the given IHDR colour type and depth; `img` in libspng's SPNG_FMT_PNG
 * layout (16-bit samples in host order). Optional palette (n entries of RGB) and EXIF
 * block. Returns a malloc'd buffer (free()) of *len bytes, or NULL. */
static uint8_t *make_png(int w, int h, int color_type, int depth, const void *img, size_t n,
                         const uint8_t *plte, int plte_n, const uint8_t *exif, size_t exif_n,
                         size_t *len)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, (uint8_t)depth, (uint8_t)color_type,
                             0, 0, 0};
    uint8_t *out = NULL;
    int error = 0;

    *len = 0;
    if (ctx == NULL) {
        return NULL;
    }
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (spng_set_ihdr(ctx, &ihdr) != 0) {
        goto done;
    }
    if (plte != NULL) {
        struct spng_plte p;
        memset(&p, 0, sizeof(p));
        p.n_entries = (uint32_t)plte_n;
        for (int i = 0; i < plte_n; i++) {
            p.entries[i].red = plte[3 * i];
            p.entries[i].green = plte[3 * i + 1];
            p.entries[i].blue = plte[3 * i + 2];
            p.entries[i].alpha = 255;
        }
        if (spng_set_plte(ctx, &p) != 0) {
            goto done;
        }
    }
    if (exif != NULL) {
        struct spng_exif e = {exif_n, (char *)exif};
        if (spng_set_exif(ctx, &e) != 0) {
            goto done;
        }
    }
    if (spng_encode_image(ctx, img, n, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) != 0) {
        goto done;
    }
    out = spng_get_png_buffer(ctx, len, &error);
    if (error != 0) {
        free(out);
        out = NULL;
    }
done:
    spng_ctx_free(ctx);
    return out;
}

static void put16(uint8_t *p, unsigned v, int le)
{
    p[le ? 0 : 1] = (uint8_t)v;
    p[le ? 1 : 0] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v, int le)
{
    put16(p + (le ? 0 : 2), v & 0xFFFFu, le);
    put16(p + (le ? 2 : 0), v >> 16, le);
}

/* A TIFF block with IFD0 = { Orientation (SHORT) = o }, little- or big-endian, optionally
 * preceded by "Exif\0\0". Returns its length; buf needs 32 bytes. */
static size_t make_exif(uint8_t *buf, int o, int le, int prefix)
{
    size_t n = 0;
    if (prefix) {
        memcpy(buf, "Exif\0\0", 6);
        n = 6;
    }
    uint8_t *t = buf + n;
    memset(t, 0, 26);
    t[0] = t[1] = le ? 'I' : 'M';
    put16(t + 2, 42, le);
    put32(t + 4, 8, le);           /* IFD0 right after the header */
    put16(t + 8, 1, le);           /* one entry: */
    put16(t + 10, 0x0112, le);     /* Orientation */
    put16(t + 12, 3, le);          /* SHORT */
    put32(t + 14, 1, le);          /* count 1 */
    put16(t + 18, (unsigned)o, le); /* value, in the entry; next-IFD offset 22..25 = 0 */
    return n + 26;
}

/* JPEG of w×h from `px` (components per pixel as in_cs needs), 4:4:4, quality 95, with an
 * APP1 EXIF block when exif != NULL, baseline or progressive. Returns a malloc'd buffer
 * (free()) of *len bytes. */
static uint8_t *make_jpeg_ex(int w, int h, J_COLOR_SPACE in_cs, int comps, const uint8_t *px,
                             const uint8_t *exif, size_t exif_n, int progressive, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long size = 0;

    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = in_cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    for (int i = 0; i < c.num_components; i++) {
        c.comp_info[i].h_samp_factor = 1;
        c.comp_info[i].v_samp_factor = 1;
    }
    if (progressive) {
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    if (exif != NULL) {
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, (unsigned)exif_n);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * (size_t)w * (size_t)comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = size;
    return out;
}

static uint8_t *make_jpeg(int w, int h, J_COLOR_SPACE in_cs, int comps, const uint8_t *px,
                          const uint8_t *exif, size_t exif_n, size_t *len)
{
    return make_jpeg_ex(w, h, in_cs, comps, px, exif, exif_n, 0, len);
}

/* Pixel (x, y) of a decoded image is within tol of (r, g, b). */
static int near_rgb(const mien_image *img, int x, int y, int r, int g, int b, int tol)
{
    const uint8_t *p = mien_image_pixels(img) + ((size_t)y * mien_image_width(img) + x) * 3;
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

#define ASSERT_PIXEL(img, x, y, r, g, b, tol)                                                \
    do {                                                                                   \
        if (!near_rgb(img, x, y, r, g, b, tol)) {                                          \
            const uint8_t *q_ = mien_image_pixels(img) +                                   \
                                ((size_t)(y) * mien_image_width(img) + (x)) * 3;           \
            TEST_FAIL_("pixel (%d, %d) = (%d, %d, %d), want (%d, %d, %d) ± %d", (int)(x),    \
                       (int)(y), q_[0], q_[1], q_[2], r, g, b, tol);                       \
        }                                                                                  \
    } while (0)

static uint8_t *read_sample(int k, size_t *size)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/samples/sample%d.jpg", test_models_dir(), k);
    return test_read_file(path, size);
}

/* Pseudo-random bytes for test data (an LCG's bits 16..23). */
static unsigned lcg_byte(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 255u;
}

/* CRC-32 of the PNG spec (§5.5, ISO 3309 polynomial), for crafting chunks by hand. */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return c ^ 0xFFFFFFFFu;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- the sample photos ----------------------------------------------------------------- */

TEST(image_decode_samples)
{
    mien_error err;
    mien_image *img = NULL;
    size_t size;
    uint8_t *bytes = read_sample(1, &size);
    if (bytes == NULL) {
        printf("  skip: %s/samples/sample1.jpg not found (run scripts/setup)\n",
               test_models_dir());
        return TEST_SKIP;
    }
    ASSERT_OK(mien_image_decode(bytes, size, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), 1920);
    ASSERT_EQ_INT(mien_image_height(img), 1280);
    ASSERT_EQ_INT(mien_image_original_width(img), 1920);
    ASSERT_EQ_INT(mien_image_original_height(img), 1280);
    ASSERT_TRUE(img->scale == 1.0f);
    /* A photo, not a grey fill: the pixel values spread. */
    const uint8_t *p = mien_image_pixels(img);
    int lo = 255, hi = 0;
    for (size_t i = 0; i < (size_t)1920 * 1280 * 3; i += 997) {
        lo = p[i] < lo ? p[i] : lo;
        hi = p[i] > hi ? p[i] : hi;
    }
    ASSERT_TRUE(hi - lo > 150);
    mien_image_free(img);
    free(bytes);

    /* All six decode, each by file. */
    for (int k = 1; k <= 6; k++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/samples/sample%d.jpg", test_models_dir(), k);
        ASSERT_OK(mien_image_load(path, NULL, &img, &err), &err);
        ASSERT_EQ_INT(mien_image_width(img), 1920);
        ASSERT_TRUE(mien_image_height(img) > 1000);
        mien_image_free(img);
    }
    return 0;
}

TEST(image_decode_scaled)
{
    mien_error err;
    mien_image *full = NULL, *img = NULL;
    size_t size;
    uint8_t *bytes = read_sample(1, &size);
    if (bytes == NULL) {
        printf("  skip: sample1.jpg not found\n");
        return TEST_SKIP;
    }
    ASSERT_OK(mien_image_decode(bytes, size, NULL, &full, &err), &err);
    const int W = mien_image_width(full), H = mien_image_height(full);
    static const struct {
        int min_side, scale;
    } cases[] = {{100, 8}, {160, 8}, {161, 4}, {200, 4}, {320, 4}, {321, 2},
                 {640, 2}, {641, 1}, {100000, 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mien_image_options opt = mien_image_options_default();
        opt.min_side = cases[i].min_side;
        ASSERT_OK(mien_image_decode(bytes, size, &opt, &img, &err), &err);
        const int d = cases[i].scale;
        ASSERT_TRUE(img->scale == (float)d);
        ASSERT_EQ_INT(mien_image_width(img), (W + d - 1) / d);
        ASSERT_EQ_INT(mien_image_height(img), (H + d - 1) / d);
        ASSERT_EQ_INT(mien_image_original_width(img), W);
        ASSERT_EQ_INT(mien_image_original_height(img), H);
        /* The scaled picture is the same picture: compare a mid pixel's neighbourhood. */
        int x = mien_image_width(img) / 2, y = mien_image_height(img) / 2;
        const uint8_t *ps = mien_image_pixels(img) + ((size_t)y * mien_image_width(img) + x) * 3;
        const uint8_t *pf = mien_image_pixels(full) + ((size_t)(y * d) * W + x * d) * 3;
        ASSERT_TRUE(abs(ps[1] - pf[1]) < 60);
        mien_image_free(img);
    }
    mien_image_free(full);
    free(bytes);
    return 0;
}

/* ---- PNG -------------------------------------------------------------------------------- */

TEST(image_decode_png_formats)
{
    enum { W = 4, H = 3, N = W * H };
    uint8_t rgb[N * 3], rgba[N * 4], grey[N], ga[N * 2], idx[N], want[N * 3];
    uint16_t rgb16[N * 3];
    uint8_t plte[4 * 3] = {10, 20, 30, 200, 100, 0, 0, 255, 7, 90, 90, 90};
    mien_error err;
    mien_image *img;
    uint8_t *png;
    size_t len;

    for (int i = 0; i < N; i++) {
        uint8_t r = (uint8_t)(i * 20), g = (uint8_t)(255 - i * 20), b = (uint8_t)(i * 7 + 3);
        rgb[3 * i] = r;
        rgb[3 * i + 1] = g;
        rgb[3 * i + 2] = b;
        rgba[4 * i] = r;
        rgba[4 * i + 1] = g;
        rgba[4 * i + 2] = b;
        rgba[4 * i + 3] = (uint8_t)(i * 23); /* includes 0: alpha is dropped, not applied */
        rgb16[3 * i] = (uint16_t)(r * 257);
        rgb16[3 * i + 1] = (uint16_t)(g * 257);
        rgb16[3 * i + 2] = (uint16_t)(b * 257);
        grey[i] = (uint8_t)(i * 21);
        ga[2 * i] = grey[i];
        ga[2 * i + 1] = (uint8_t)(255 - i * 21);
        idx[i] = (uint8_t)(i % 4);
    }
    static const struct {
        const char *name;
        int ctype, depth;
    } kinds[] = {
        {"rgb8", SPNG_COLOR_TYPE_TRUECOLOR, 8},
        {"rgb16", SPNG_COLOR_TYPE_TRUECOLOR, 16},
        {"grey8", SPNG_COLOR_TYPE_GRAYSCALE, 8},
        {"palette8", SPNG_COLOR_TYPE_INDEXED, 8},
        {"grey+alpha8", SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8},
        {"rgba8", SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const void *srcs[6] = {rgb, rgb16, grey, idx, ga, rgba};
        const size_t ns[6] = {sizeof(rgb), sizeof(rgb16), sizeof(grey),
                              sizeof(idx), sizeof(ga),    sizeof(rgba)};
        const void *src = srcs[k];
        const size_t n = ns[k];
        for (int i = 0; i < N; i++) {
            for (int c = 0; c < 3; c++) {
                want[3 * i + c] = k == 2 || k == 4 ? grey[i]
                                  : k == 3         ? plte[3 * idx[i] + c]
                                                   : rgb[3 * i + c];
            }
        }
        png = make_png(W, H, kinds[k].ctype, kinds[k].depth, src, n, k == 3 ? plte : NULL, 4,
                       NULL, 0, &len);
        ASSERT_TRUE(png != NULL);
        err.message[0] = '\0';
        if (mien_image_decode(png, len, NULL, &img, &err) != MIEN_OK) {
            free(png);
            TEST_FAIL_("%s: %s", kinds[k].name, err.message);
        }
        ASSERT_EQ_INT(mien_image_width(img), W);
        ASSERT_EQ_INT(mien_image_height(img), H);
        if (memcmp(mien_image_pixels(img), want, sizeof(want)) != 0) {
            const uint8_t *p = mien_image_pixels(img);
            for (int i = 0; i < N * 3; i++) {
                if (p[i] != want[i]) {
                    int got = p[i];
                    mien_image_free(img);
                    free(png);
                    TEST_FAIL_("%s: byte %d = %d, want %d", kinds[k].name, i, got, want[i]);
                }
            }
        }
        mien_image_free(img);
        free(png);
    }

    /* eXIf orientation 6 (rotate 90° clockwise): 4×3 stored → 3×4 shown, and the stored
     * top-left pixel ends at the top-right. */
    uint8_t exif[32];
    size_t en = make_exif(exif, 6, 0, 0);
    png = make_png(W, H, SPNG_COLOR_TYPE_TRUECOLOR, 8, rgb, sizeof(rgb), NULL, 0, exif, en,
                   &len);
    ASSERT_TRUE(png != NULL);
    ASSERT_OK(mien_image_decode(png, len, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), H);
    ASSERT_EQ_INT(mien_image_height(img), W);
    ASSERT_EQ_INT(mien_image_original_width(img), H);
    ASSERT_PIXEL(img, H - 1, 0, rgb[0], rgb[1], rgb[2], 0);
    mien_image_free(img);
    free(png);
    return 0;
}

/* A PNG whose IHDR declares 100000×100000 pixels and has no image data: refused from the
 * header (no 30 GB allocation, no time spent), with the limit in the message. */
TEST(image_decode_png_bomb)
{
    uint8_t png[8 + 25];
    mien_error err;
    mien_image dummy;
    mien_image *img = &dummy; /* must be reset to NULL */
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    be32(png + 8, 13);
    memcpy(png + 12, "IHDR", 4);
    be32(png + 16, 100000);
    be32(png + 20, 100000);
    png[24] = 8; /* depth */
    png[25] = 2; /* truecolour */
    png[26] = png[27] = png[28] = 0;
    be32(png + 29, crc32_png(png + 12, 17));
    clock_t t0 = clock();
    ASSERT_STATUS(mien_image_decode(png, sizeof(png), NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ASSERT_TRUE(img == NULL);
    ASSERT_CONTAINS(err.message, "100000×100000");
    ASSERT_CONTAINS(err.message, "limit");
    ASSERT_TRUE(secs < 0.05);

    /* A lower limit set by the caller applies the same way; zero sides too. */
    mien_image_options opt = mien_image_options_default();
    opt.max_pixels = 1000;
    be32(png + 16, 100);
    be32(png + 20, 11);
    be32(png + 29, crc32_png(png + 12, 17));
    ASSERT_STATUS(mien_image_decode(png, sizeof(png), &opt, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "max_pixels");
    be32(png + 16, 0);
    be32(png + 29, crc32_png(png + 12, 17));
    ASSERT_STATUS(mien_image_decode(png, sizeof(png), NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    return 0;
}

TEST(image_decode_png_corrupt)
{
    enum { W = 16, H = 16 };
    uint8_t rgb[W * H * 3];
    mien_error err;
    mien_image *img = NULL;
    size_t len;
    for (size_t i = 0; i < sizeof(rgb); i++) {
        rgb[i] = (uint8_t)(i * 131 + (i >> 5));
    }
    uint8_t *png = make_png(W, H, SPNG_COLOR_TYPE_TRUECOLOR, 8, rgb, sizeof(rgb), NULL, 0, NULL,
                            0, &len);
    ASSERT_TRUE(png != NULL);
    ASSERT_OK(mien_image_decode(png, len, NULL, &img, &err), &err);
    ASSERT_TRUE(memcmp(mien_image_pixels(img), rgb, sizeof(rgb)) == 0);
    mien_image_free(img);

    /* Corrupt IHDR CRC (bytes 29..32). */
    png[30] ^= 0x55;
    ASSERT_STATUS(mien_image_decode(png, len, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "PNG");
    png[30] ^= 0x55;

    /* Garbage in IDAT, with its CRC made right again: the zlib stream is what fails. */
    size_t off = 8;
    while (off + 12 <= len && memcmp(png + off + 4, "IDAT", 4) != 0) {
        off += 12 + ((size_t)png[off] << 24 | (size_t)png[off + 1] << 16 |
                     (size_t)png[off + 2] << 8 | png[off + 3]);
    }
    ASSERT_TRUE(off + 12 <= len);
    size_t n = (size_t)png[off] << 24 | (size_t)png[off + 1] << 16 |
               (size_t)png[off + 2] << 8 | png[off + 3];
    for (size_t i = 0; i < n; i++) {
        png[off + 8 + i] = (uint8_t)(0xA5 ^ i * 7);
    }
    be32(png + off + 8 + n, crc32_png(png + off + 4, n + 4));
    ASSERT_STATUS(mien_image_decode(png, len, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "corrupt PNG");
    ASSERT_TRUE(img == NULL);

    /* Cut short inside IDAT. */
    ASSERT_STATUS(mien_image_decode(png, off + 20, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    free(png);
    return 0;
}

/* ---- JPEG ------------------------------------------------------------------------------- */

TEST(image_decode_jpeg_colour)
{
    enum { W = 16, H = 16 };
    uint8_t grey[W * H], cmyk[W * H * 4];
    mien_error err;
    mien_image *img = NULL;
    size_t len;

    memset(grey, 100, sizeof(grey));
    uint8_t *jpg = make_jpeg(W, H, JCS_GRAYSCALE, 1, grey, NULL, 0, &len);
    ASSERT_TRUE(jpg != NULL);
    ASSERT_OK(mien_image_decode(jpg, len, NULL, &img, &err), &err);
    ASSERT_PIXEL(img, 5, 5, 100, 100, 100, 1);
    mien_image_free(img);
    free(jpg);

    /* CMYK as Adobe writes it (inverted: 255 = no ink). Left half red (C=0 M=Y=255 K=0 in
     * ink), right half 50 % black (K=128 in ink). */
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = cmyk + (y * W + x) * 4;
            if (x < W / 2) {
                p[0] = 255;
                p[1] = 0;
                p[2] = 0;
                p[3] = 255;
            } else {
                p[0] = p[1] = p[2] = 255;
                p[3] = 127;
            }
        }
    }
    jpg = make_jpeg(W, H, JCS_CMYK, 4, cmyk, NULL, 0, &len);
    ASSERT_TRUE(jpg != NULL);
    ASSERT_OK(mien_image_decode(jpg, len, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), W);
    ASSERT_PIXEL(img, 2, 8, 255, 0, 0, 6);
    ASSERT_PIXEL(img, 13, 8, 127, 127, 127, 6);
    mien_image_free(img);
    free(jpg);
    return 0;
}

/* EXIF orientations 1..8 (both byte orders): the stored picture has a red top-left and a
 * green top-right 8×8 corner on blue. Where each corner must show up follows the EXIF
 * definition of "0th row / 0th column" (CIPA DC-008 Table 12), not the implementation. */
TEST(image_decode_exif_orientation)
{
    enum { W = 32, H = 16 };
    /* Displayed corner of the stored top-left / top-right: 0 TL, 1 TR, 2 BL, 3 BR. */
    static const int tl_at[9] = {0, 0, 1, 3, 2, 0, 1, 3, 2};
    static const int tr_at[9] = {0, 1, 0, 2, 3, 2, 3, 1, 0};
    uint8_t px[W * H * 3], exif[32];
    mien_error err;
    mien_image *img = NULL;
    size_t len;

    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + (y * W + x) * 3;
            int red = x < 8 && y < 8, green = x >= W - 8 && y < 8;
            p[0] = red ? 255 : 0;
            p[1] = green ? 255 : 0;
            p[2] = red || green ? 0 : 255;
        }
    }
    for (int o = 1; o <= 8; o++) {
        size_t en = make_exif(exif, o, o % 2, 1);
        uint8_t *jpg = make_jpeg(W, H, JCS_RGB, 3, px, exif, en, &len);
        ASSERT_TRUE(jpg != NULL);
        ASSERT_OK(mien_image_decode(jpg, len, NULL, &img, &err), &err);
        free(jpg);
        const int dw = o >= 5 ? H : W, dh = o >= 5 ? W : H;
        ASSERT_EQ_INT(mien_image_width(img), dw);
        ASSERT_EQ_INT(mien_image_height(img), dh);
        ASSERT_EQ_INT(mien_image_original_width(img), dw);
        ASSERT_EQ_INT(mien_image_original_height(img), dh);
        const int cx[4] = {2, dw - 3, 2, dw - 3}, cy[4] = {2, 2, dh - 3, dh - 3};
        for (int c = 0; c < 4; c++) {
            /* Red, green, or (the other two corners) blue. */
            int r = c == tl_at[o] ? 255 : 0, g = c == tr_at[o] ? 255 : 0;
            int b = r == 0 && g == 0 ? 255 : 0;
            if (!near_rgb(img, cx[c], cy[c], r, g, b, 40)) {
                TEST_FAIL_("orientation %d: corner %d (0 TL, 1 TR, 2 BL, 3 BR) is not (%d, %d, %d)",
                           o, c, r, g, b);
            }
        }
        mien_image_free(img);
    }

    /* With scaled decode the orientation applies to the original size as well. */
    {
        enum { BW = 64, BH = 32 };
        static uint8_t big[BW * BH * 3];
        memset(big, 128, sizeof(big));
        size_t en = make_exif(exif, 6, 1, 1);
        uint8_t *jpg = make_jpeg(BW, BH, JCS_RGB, 3, big, exif, en, &len);
        mien_image_options opt = mien_image_options_default();
        opt.min_side = 8;
        ASSERT_OK(mien_image_decode(jpg, len, &opt, &img, &err), &err);
        free(jpg);
        ASSERT_TRUE(img->scale == 4.0f);
        ASSERT_EQ_INT(mien_image_width(img), BH / 4);
        ASSERT_EQ_INT(mien_image_height(img), BW / 4);
        ASSERT_EQ_INT(mien_image_original_width(img), BH);
        ASSERT_EQ_INT(mien_image_original_height(img), BW);
        mien_image_free(img);
    }
    return 0;
}

/* Malformed EXIF blocks never crash and mean "no rotation". */
TEST(image_exif_bad_blocks)
{
    uint8_t good[32], b[64];
    size_t n = make_exif(good, 6, 1, 1);
    ASSERT_EQ_INT(image_exif_orientation(good, n), 6);
    ASSERT_EQ_INT(image_exif_orientation(good + 6, n - 6), 6); /* without the prefix */
    n = make_exif(good, 8, 0, 0);
    ASSERT_EQ_INT(image_exif_orientation(good, n), 8);
    ASSERT_EQ_INT(image_exif_orientation(NULL, 10), 1);

    /* Every truncation of a valid block: only the complete one is read. */
    n = make_exif(good, 3, 1, 0);
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k > 0 ? k : 1); /* exact size, so ASan sees any overread */
        memcpy(cut, good, k);
        int o = image_exif_orientation(cut, k);
        free(cut);
        ASSERT_TRUE(o == 1 || (o == 3 && k >= 20));
    }
    /* IFD offset pointing outside (huge, and just past the end). */
    memcpy(b, good, n);
    le32(b + 4, 0xFFFFFF00u);
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    le32(b + 4, (uint32_t)n - 1);
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    le32(b + 4, 4); /* inside the header */
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    /* An entry count far larger than the block. */
    memcpy(b, good, n);
    b[8] = 0xFF;
    b[9] = 0xFF;
    ASSERT_EQ_INT(image_exif_orientation(b, n), 3);
    /* Wrong type, wrong count, out-of-range value, bad magic. */
    memcpy(b, good, n);
    b[12] = 2; /* ASCII */
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    memcpy(b, good, n);
    b[14] = 2;
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    memcpy(b, good, n);
    b[18] = 9;
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    memcpy(b, good, n);
    b[2] = 43;
    ASSERT_EQ_INT(image_exif_orientation(b, n), 1);
    /* Random bytes after a valid header: no crash (ASan watches). */
    uint32_t s = 12345;
    for (int t = 0; t < 2000; t++) {
        size_t m = 8 + (size_t)(t % 40);
        uint8_t *r = malloc(m);
        memcpy(r, good, 8);
        for (size_t i = 8; i < m; i++) {
            s = s * 1103515245u + 12345u;
            r[i] = (uint8_t)(s >> 16);
        }
        if (t % 3 == 0) {
            r[4] = 8;
            r[5] = r[6] = r[7] = 0;
        }
        int o = image_exif_orientation(r, m);
        free(r);
        ASSERT_TRUE(o >= 1 && o <= 8);
    }

    /* The same bad block inside a JPEG: decodes, upright. */
    {
        uint8_t px[16 * 8 * 3];
        mien_error err;
        mien_image *img = NULL;
        size_t len;
        memset(px, 77, sizeof(px));
        uint8_t ex[40];
        size_t en = make_exif(ex, 6, 0, 1);
        be32(ex + 6 + 4, 0x7FFFFFF0u); /* big-endian block: IFD offset far outside */
        uint8_t *jpg = make_jpeg(16, 8, JCS_RGB, 3, px, ex, en, &len);
        ASSERT_OK(mien_image_decode(jpg, len, NULL, &img, &err), &err);
        ASSERT_EQ_INT(mien_image_width(img), 16);
        ASSERT_EQ_INT(mien_image_height(img), 8);
        mien_image_free(img);
        free(jpg);
    }
    return 0;
}

TEST(image_decode_truncated_jpeg)
{
    mien_error err;
    mien_image *img = NULL;
    size_t size;
    uint8_t *bytes = read_sample(1, &size);
    if (bytes == NULL) {
        printf("  skip: sample1.jpg not found\n");
        return TEST_SKIP;
    }
    ASSERT_STATUS(mien_image_decode(bytes, size * 6 / 10, NULL, &img, &err), MIEN_ERR_IMAGE,
                  &err);
    ASSERT_CONTAINS(err.message, "truncated JPEG");
    ASSERT_TRUE(img == NULL);
    /* Cut inside the header, and just after SOI. */
    ASSERT_STATUS(mien_image_decode(bytes, 300, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "truncated JPEG");
    ASSERT_STATUS(mien_image_decode(bytes, 4, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    /* Only the final EOI missing: every pixel is there, accepted. */
    ASSERT_TRUE(bytes[size - 2] == 0xFF && bytes[size - 1] == 0xD9);
    ASSERT_OK(mien_image_decode(bytes, size - 2, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), 1920);
    mien_image_free(img);
    /* Garbage entropy data after a valid header: an error or a picture, never a crash. */
    for (size_t i = size / 3; i < size - 2; i += 7) {
        bytes[i] = (uint8_t)(i * 31);
    }
    mien_status s = mien_image_decode(bytes, size, NULL, &img, &err);
    ASSERT_TRUE(s == MIEN_OK || s == MIEN_ERR_IMAGE);
    mien_image_free(img);
    free(bytes);
    return 0;
}

/* A progressive JPEG's decoder keeps every coefficient of the picture (decode_jpeg.c): a tiny
 * file whose frame header claims 7300×5470 pixels (under max_pixels) would make libjpeg take
 * 240 MB before it finds the data missing. The memory limit refuses it with a clear error
 * instead, as it does a real progressive picture over a small limit; a baseline picture,
 * decoded row by row, is not affected. (Under ASan: no leak, no crash on the refusal.) */
TEST(image_decode_progressive_memory)
{
    enum { W = 512, H = 512 };
    mien_error err;
    mien_image *img = NULL;
    mien_image_options opt = mien_image_options_default();
    size_t n_prog, n_base, n_small;
    uint8_t *px = malloc((size_t)W * H * 3);
    ASSERT_TRUE(px != NULL);
    for (size_t i = 0; i < (size_t)W * H * 3; i++) {
        px[i] = (uint8_t)(i * 7 / 3);
    }
    uint8_t *prog = make_jpeg_ex(W, H, JCS_RGB, 3, px, NULL, 0, 1, &n_prog);
    uint8_t *base = make_jpeg_ex(W, H, JCS_RGB, 3, px, NULL, 0, 0, &n_base);
    uint8_t *small = make_jpeg_ex(16, 16, JCS_RGB, 3, px, NULL, 0, 1, &n_small);
    /* The crafted file: the 16×16 picture's SOF2 (FF C2, length, precision, height, width)
     * made to claim 7300×5470; its scans cover 16×16 pixels only. */
    size_t sof = 2;
    while (sof + 9 < n_small && !(small[sof] == 0xFF && small[sof + 1] == 0xC2)) {
        sof++;
    }
    ASSERT_TRUE(sof + 9 < n_small);
    put16(small + sof + 5, 5470, 0);
    put16(small + sof + 7, 7300, 0);
    ASSERT_STATUS(mien_image_decode(small, n_small, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "7300×5470");
    ASSERT_CONTAINS(err.message, "228 MiB of decoder memory");
    ASSERT_CONTAINS(err.message, "over the limit of 96 MiB (mien_image_options.max_memory)");
    ASSERT_TRUE(img == NULL);
    opt.min_side = 1200; /* a scaled decode keeps every coefficient all the same */
    ASSERT_STATUS(mien_image_decode(small, n_small, &opt, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "decoder memory");
    opt.min_side = 0;
    /* A real progressive picture: 512×512×6 bytes = 1.5 MiB of coefficients. */
    ASSERT_OK(mien_image_decode(prog, n_prog, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), W);
    mien_image_free(img);
    img = NULL;
    opt.max_memory = 1 << 20;
    ASSERT_STATUS(mien_image_decode(prog, n_prog, &opt, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "JPEG of 512×512 pixels needs 1 MiB of decoder memory");
    ASSERT_TRUE(img == NULL);
    ASSERT_OK(mien_image_decode(base, n_base, &opt, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_height(img), H);
    mien_image_free(img);
    free(px);
    free(prog);
    free(base);
    free(small);
    return 0;
}

/* ---- WebP ------------------------------------------------------------------------------- */

/* Wraps a simple WebP (RIFF/WEBP/VP8) into the extended format with an EXIF chunk. */
static uint8_t *webp_add_exif(const uint8_t *webp, size_t n, int w, int h, const uint8_t *exif,
                              size_t en, size_t *len)
{
    size_t body = n - 12, epad = en + (en & 1);
    size_t total = 12 + 18 + body + 8 + epad;
    uint8_t *out = calloc(1, total);
    uint8_t *p = out;
    memcpy(p, "RIFF", 4);
    le32(p + 4, (uint32_t)(total - 8));
    memcpy(p + 8, "WEBP", 4);
    p += 12;
    memcpy(p, "VP8X", 4);
    le32(p + 4, 10);
    p[8] = 0x08; /* EXIF flag (WebP container spec, VP8X chunk) */
    p[12] = (uint8_t)(w - 1);
    p[13] = (uint8_t)((w - 1) >> 8);
    p[15] = (uint8_t)(h - 1);
    p[16] = (uint8_t)((h - 1) >> 8);
    p += 18;
    memcpy(p, webp + 12, body);
    p += body;
    memcpy(p, "EXIF", 4);
    le32(p + 4, (uint32_t)en);
    memcpy(p + 8, exif, en);
    *len = total;
    return out;
}

TEST(image_decode_webp)
{
    enum { W = 32, H = 16 };
    uint8_t px[W * H * 3], exif[32];
    uint8_t *webp = NULL;
    mien_error err;
    mien_image *img = NULL;
    char dir[] = "/tmp/mien-image-test-XXXXXX", path[64];

    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + (y * W + x) * 3;
            p[0] = x < 8 && y < 8 ? 250 : 20;
            p[1] = 40;
            p[2] = x < 8 && y < 8 ? 20 : 220;
        }
    }
    size_t n = WebPEncodeRGB(px, W, H, W * 3, 95.0f, &webp);
    ASSERT_TRUE(n > 0);
    ASSERT_OK(mien_image_decode(webp, n, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), W);
    ASSERT_EQ_INT(mien_image_height(img), H);
    ASSERT_PIXEL(img, 2, 2, 250, 40, 20, 30);
    ASSERT_PIXEL(img, 20, 10, 20, 40, 220, 30);
    mien_image_free(img);

    /* Format by content: WebP bytes in a file called x.jpg. */
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/x.jpg", dir);
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(fwrite(webp, 1, n, f) == n);
    fclose(f);
    mien_status s = mien_image_load(path, NULL, &img, &err);
    unlink(path);
    rmdir(dir);
    ASSERT_STATUS(s, MIEN_OK, &err);
    ASSERT_EQ_INT(mien_image_width(img), W);
    mien_image_free(img);

    /* Extended format with EXIF orientation 8 (rotate 90° counter-clockwise): the stored
     * top-left corner is shown bottom-left. */
    size_t en = make_exif(exif, 8, 1, 0), xn;
    uint8_t *xw = webp_add_exif(webp, n, W, H, exif, en, &xn);
    ASSERT_OK(mien_image_decode(xw, xn, NULL, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), H);
    ASSERT_EQ_INT(mien_image_height(img), W);
    ASSERT_PIXEL(img, 2, W - 3, 250, 40, 20, 30);
    mien_image_free(img);
    free(xw);

    /* Truncated WebP. */
    ASSERT_STATUS(mien_image_decode(webp, n / 2, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "WebP");
    ASSERT_STATUS(mien_image_decode(webp, 14, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    WebPFree(webp);
    return 0;
}

/* ---- bad input and the public API -------------------------------------------------------- */

TEST(image_decode_bad_input)
{
    static const char text[] = "this is not a picture, just a line of text\n";
    static const uint8_t one[1] = {0xFF};
    static const uint8_t jpeg_junk[16] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F',
                                          'I', 'F', 0x00, 0x01, 0x02, 0x03, 0x04, 0x05};
    mien_error err;
    mien_image *img = NULL;

    ASSERT_STATUS(mien_image_decode(one, 0, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "empty");
    ASSERT_STATUS(mien_image_decode(NULL, 0, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_STATUS(mien_image_decode(one, 1, NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "unsupported image format (not JPEG, PNG or WebP)");
    ASSERT_STATUS(mien_image_decode(text, sizeof(text) - 1, NULL, &img, &err), MIEN_ERR_IMAGE,
                  &err);
    ASSERT_CONTAINS(err.message, "unsupported image format");
    ASSERT_STATUS(mien_image_decode(jpeg_junk, sizeof(jpeg_junk), NULL, &img, &err),
                  MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "JPEG");
    ASSERT_STATUS(mien_image_decode("RIFF\0\0\0\0WEBPVP8 ", 16, NULL, &img, &err),
                  MIEN_ERR_IMAGE, &err);
    ASSERT_TRUE(img == NULL);

    /* Argument errors. */
    ASSERT_STATUS(mien_image_decode(one, 1, NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_decode(NULL, 5, NULL, &img, &err), MIEN_ERR_ARG, &err);
    mien_image_options opt = mien_image_options_default();
    opt.min_side = -1;
    ASSERT_STATUS(mien_image_decode(one, 1, &opt, &img, &err), MIEN_ERR_ARG, &err);

    /* Over max_bytes: refused before looking at the content. */
    size_t size;
    uint8_t *bytes = read_sample(1, &size);
    if (bytes != NULL) {
        opt = mien_image_options_default();
        opt.max_bytes = size - 1;
        ASSERT_STATUS(mien_image_decode(bytes, size, &opt, &img, &err), MIEN_ERR_IMAGE, &err);
        ASSERT_CONTAINS(err.message, "max_bytes");
        opt.max_bytes = size;
        ASSERT_OK(mien_image_decode(bytes, size, &opt, &img, &err), &err);
        mien_image_free(img);
        /* The pixel limit stops a real photo too (1920×1280 = 2457600). */
        opt.max_pixels = 2457599;
        ASSERT_STATUS(mien_image_decode(bytes, size, &opt, &img, &err), MIEN_ERR_IMAGE, &err);
        ASSERT_CONTAINS(err.message, "1920×1280");
        free(bytes);
    }
    return 0;
}

TEST(image_load_errors)
{
    mien_error err;
    mien_image dummy;
    mien_image *img = &dummy;
    char path[4200];

    ASSERT_STATUS(mien_image_load("/nonexistent/dir/face.jpg", NULL, &img, &err), MIEN_ERR_IO,
                  &err);
    ASSERT_TRUE(img == NULL);
    ASSERT_CONTAINS(err.message, "/nonexistent/dir/face.jpg");
    ASSERT_CONTAINS(err.message, "No such file");
    ASSERT_STATUS(mien_image_load("/tmp", NULL, &img, &err), MIEN_ERR_IO, &err);
    ASSERT_STATUS(mien_image_load(NULL, NULL, &img, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_load("/tmp", NULL, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_load("/dev/null", NULL, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "empty");

    /* A file over max_bytes is refused by its size, naming the path. */
    snprintf(path, sizeof(path), "%s/samples/sample1.jpg", test_models_dir());
    if (access(path, R_OK) == 0) {
        mien_image_options opt = mien_image_options_default();
        opt.max_bytes = 1000;
        ASSERT_STATUS(mien_image_load(path, &opt, &img, &err), MIEN_ERR_IMAGE, &err);
        ASSERT_CONTAINS(err.message, "max_bytes");
        ASSERT_CONTAINS(err.message, "sample1.jpg");
    }
    /* A stream with no size (a character device) is read only up to the cap. */
    mien_image_options opt = mien_image_options_default();
    opt.max_bytes = 100000;
    ASSERT_STATUS(mien_image_load("/dev/zero", &opt, &img, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "max_bytes");
    return 0;
}

TEST(image_from_rgb_and_accessors)
{
    uint8_t px[2 * 5]; /* 1×2 pixels, rows 5 bytes apart */
    mien_error err;
    mien_image *img = NULL;
    for (int i = 0; i < 10; i++) {
        px[i] = (uint8_t)(i + 1);
    }
    ASSERT_OK(mien_image_from_rgb(px, 1, 2, 5, &img, &err), &err);
    ASSERT_EQ_INT(mien_image_width(img), 1);
    ASSERT_EQ_INT(mien_image_height(img), 2);
    ASSERT_EQ_INT(mien_image_original_width(img), 1);
    ASSERT_EQ_INT(mien_image_original_height(img), 2);
    const uint8_t *p = mien_image_pixels(img);
    ASSERT_EQ_INT(p[0], 1);
    ASSERT_EQ_INT(p[2], 3);
    ASSERT_EQ_INT(p[3], 6); /* second row starts at byte 5 of the input */
    ASSERT_EQ_INT(p[5], 8);
    mien_image_free(img);

    ASSERT_STATUS(mien_image_from_rgb(px, 2, 2, 5, &img, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_from_rgb(NULL, 1, 1, 3, &img, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_from_rgb(px, 0, 1, 3, &img, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_from_rgb(px, 1, 1, 3, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(mien_image_width(NULL), 0);
    ASSERT_EQ_INT(mien_image_height(NULL), 0);
    ASSERT_EQ_INT(mien_image_original_width(NULL), 0);
    ASSERT_EQ_INT(mien_image_original_height(NULL), 0);
    ASSERT_TRUE(mien_image_pixels(NULL) == NULL);
    mien_image_free(NULL);
    mien_image_options opt = mien_image_options_default();
    ASSERT_EQ_INT(opt.max_bytes, 64 << 20);
    ASSERT_EQ_INT(opt.max_pixels, 40000000);
    ASSERT_EQ_INT(opt.min_side, 0);
    return 0;
}

/* Every prefix and many single-byte corruptions of small JPEG (baseline and progressive),
 * PNG and WebP files: each decode returns OK or MIEN_ERR_IMAGE, never crashes, never
 * leaks (ASan/LSan builds watch), and a cut JPEG or PNG is never accepted. */
TEST(image_decode_damaged_files)
{
    enum { W = 24, H = 16 };
    uint8_t px[W * H * 3], exif[32];
    uint8_t *files[4];
    size_t lens[4];
    uint32_t seed = 7;
    static const char *const names[4] = {"baseline JPEG", "progressive JPEG", "PNG", "WebP"};

    for (size_t i = 0; i < sizeof(px); i++) {
        px[i] = (uint8_t)(lcg_byte(&seed));
    }
    size_t en = make_exif(exif, 6, 1, 1);
    files[0] = make_jpeg_ex(W, H, JCS_RGB, 3, px, exif, en, 0, &lens[0]);
    files[1] = make_jpeg_ex(W, H, JCS_RGB, 3, px, exif, en, 1, &lens[1]);
    files[2] = make_png(W, H, SPNG_COLOR_TYPE_TRUECOLOR, 8, px, sizeof(px), NULL, 0, exif + 6,
                        en - 6, &lens[2]);
    uint8_t *webp = NULL;
    lens[3] = WebPEncodeRGB(px, W, H, W * 3, 80.0f, &webp);
    files[3] = webp;
    for (int f = 0; f < 4; f++) {
        ASSERT_TRUE(files[f] != NULL && lens[f] > 0);
    }
    for (int f = 0; f < 4; f++) {
        mien_error err;
        mien_image *img = NULL, *full = NULL;
        ASSERT_OK(mien_image_decode(files[f], lens[f], NULL, &full, &err), &err);
        for (size_t n = 0; n < lens[f]; n++) {
            /* An exact-size copy, so that ASan sees any read past the end. */
            uint8_t *cut = malloc(n > 0 ? n : 1);
            memcpy(cut, files[f], n);
            err.message[0] = '\0';
            mien_status s = mien_image_decode(cut, n, NULL, &img, &err);
            free(cut);
            /* A cut file is refused, or (only trailing bytes missing: a JPEG's EOI, a PNG's
             * IEND) gives exactly the whole picture. */
            int same = s == MIEN_OK && mien_image_width(img) == mien_image_width(full) &&
                       mien_image_height(img) == mien_image_height(full) &&
                       memcmp(mien_image_pixels(img), mien_image_pixels(full),
                              (size_t)W * H * 3) == 0;
            mien_image_free(img);
            if (!(s == MIEN_ERR_IMAGE || same)) {
                mien_image_free(full);
                TEST_FAIL_("%s cut to %zu of %zu bytes: %s%s (%s)", names[f], n, lens[f],
                           mien_strerror(s), s == MIEN_OK ? " with other pixels" : "",
                           err.message);
            }
        }
        mien_image_free(full);
        uint8_t *copy = malloc(lens[f]);
        for (int t = 0; t < 400; t++) {
            memcpy(copy, files[f], lens[f]);
            size_t at = lcg_byte(&seed) * 256u + lcg_byte(&seed);
            copy[at % lens[f]] ^= (uint8_t)(1 + lcg_byte(&seed) % 255);
            mien_status s = mien_image_decode(copy, lens[f], NULL, &img, &err);
            mien_image_free(img);
            if (s != MIEN_OK && s != MIEN_ERR_IMAGE) {
                free(copy);
                TEST_FAIL_("%s with byte %zu changed: %s (%s)", names[f], at % lens[f],
                           mien_strerror(s), err.message);
            }
        }
        free(copy);
    }
    free(files[0]);
    free(files[1]);
    free(files[2]);
    WebPFree(files[3]);
    return 0;
}

/* ---- the bad-input list, end to end (decode, then detect) --------------------------
 * empty file, truncated JPEG, PNG with huge declared dimensions, a text file, WebP disguised
 * as .jpg, a photo with no face, a 16-bit PNG, a CMYK JPEG: each gives the right result (the
 * faces of sample1) or a clear MIEN_ERR_IMAGE, never a crash; the suite runs it under ASan. */

/* Writes bytes to dir/name and returns the path in buf. */
static const char *write_temp(const char *dir, const char *name, const void *bytes, size_t n,
                              char *buf, size_t size)
{
    FILE *f;
    snprintf(buf, size, "%s/%s", dir, name);
    f = fopen(buf, "wb");
    if (f == NULL) {
        return NULL;
    }
    if (n > 0 && fwrite(bytes, 1, n, f) != n) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    return buf;
}

/* Decodes path and detects; returns the status and the face count in *faces. */
static mien_status detect_file(test_fixture *fx, const char *path, size_t *faces,
                               mien_error *err)
{
    mien_image *img = NULL;
    mien_face *found = NULL;
    mien_status st = mien_image_load(path, NULL, &img, err);
    *faces = 0;
    if (st == MIEN_OK) {
        st = mien_detect(fx->session, img, NULL, &found, faces, err);
        mien_faces_free(found);
    }
    mien_image_free(img);
    return st;
}

TEST(pipeline_bad_inputs)
{
    test_fixture fx;
    mien_image *sample;
    mien_error err;
    char dir[] = "/tmp/mien-bad-inputs-XXXXXX", path[512];
    uint8_t *px16 = NULL, *cmyk = NULL, *bytes, *webp = NULL;
    size_t n, faces, len;
    int w, h;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_TRUE(test_fixture_open(&fx) == 0);
    sample = test_load_sample(1);
    ASSERT_TRUE(sample != NULL);
    w = mien_image_width(sample);
    h = mien_image_height(sample);

    /* empty file, text file */
    ASSERT_STATUS(detect_file(&fx, write_temp(dir, "empty.jpg", "", 0, path, sizeof(path)),
                              &faces, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_STATUS(detect_file(&fx, write_temp(dir, "notes.jpg", "not an image\n", 13, path,
                                              sizeof(path)), &faces, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "unsupported image format");
    /* truncated JPEG: the first 60 % of sample1.jpg */
    bytes = read_sample(1, &n);
    ASSERT_TRUE(bytes != NULL);
    ASSERT_STATUS(detect_file(&fx, write_temp(dir, "cut.jpg", bytes, n * 6 / 10, path,
                                              sizeof(path)), &faces, &err), MIEN_ERR_IMAGE, &err);
    ASSERT_CONTAINS(err.message, "truncated");
    free(bytes);
    /* PNG declaring 100000×100000: refused from the header */
    {
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        uint8_t png[33];
        memcpy(png, sig, 8);
        be32(png + 8, 13);
        memcpy(png + 12, "IHDR", 4);
        be32(png + 16, 100000);
        be32(png + 20, 100000);
        png[24] = 8;
        png[25] = 2;
        png[26] = png[27] = png[28] = 0;
        be32(png + 29, crc32_png(png + 12, 17));
        ASSERT_STATUS(detect_file(&fx, write_temp(dir, "huge.png", png, sizeof(png), path,
                                                  sizeof(path)), &faces, &err),
                      MIEN_ERR_IMAGE, &err);
    }
    /* WebP disguised as .jpg: read by content, faces found */
    len = WebPEncodeRGB(mien_image_pixels(sample), w, h, w * 3, 90.0f, &webp);
    ASSERT_TRUE(len > 0);
    ASSERT_OK(detect_file(&fx, write_temp(dir, "photo.jpg", webp, len, path, sizeof(path)),
                          &faces, &err), &err);
    ASSERT_EQ_INT(faces, 3);
    WebPFree(webp);
    /* 16-bit PNG of the same photo */
    px16 = malloc((size_t)w * h * 6);
    ASSERT_TRUE(px16 != NULL);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        uint16_t v = (uint16_t)(mien_image_pixels(sample)[i] * 257u);
        memcpy(px16 + 2 * i, &v, 2); /* host order, as libspng's SPNG_FMT_PNG wants */
    }
    bytes = make_png(w, h, 2, 16, px16, (size_t)w * h * 6, NULL, 0, NULL, 0, &len);
    ASSERT_TRUE(bytes != NULL);
    ASSERT_OK(detect_file(&fx, write_temp(dir, "deep.png", bytes, len, path, sizeof(path)),
                          &faces, &err), &err);
    ASSERT_EQ_INT(faces, 3);
    free(bytes);
    /* CMYK JPEG of the same photo (Adobe-style inverted CMYK, as Photoshop writes it) */
    cmyk = malloc((size_t)w * h * 4);
    ASSERT_TRUE(cmyk != NULL);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = mien_image_pixels(sample) + 3 * i;
        uint8_t k = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
        /* inverted: C' = 255 - C etc.; with K' = max(R,G,B), C' = R·255/K' */
        cmyk[4 * i] = k ? (uint8_t)(p[0] * 255 / k) : 0;
        cmyk[4 * i + 1] = k ? (uint8_t)(p[1] * 255 / k) : 0;
        cmyk[4 * i + 2] = k ? (uint8_t)(p[2] * 255 / k) : 0;
        cmyk[4 * i + 3] = k;
    }
    bytes = make_jpeg(w, h, JCS_CMYK, 4, cmyk, NULL, 0, &len);
    ASSERT_TRUE(bytes != NULL);
    ASSERT_OK(detect_file(&fx, write_temp(dir, "print.jpg", bytes, len, path, sizeof(path)),
                          &faces, &err), &err);
    ASSERT_EQ_INT(faces, 3);
    free(bytes);
    /* a photo with no face: a smooth synthetic gradient, as a PNG */
    for (size_t i = 0; i < (size_t)w * h; i++) {
        px16[3 * i] = (uint8_t)(i % (size_t)w * 255 / (size_t)w);
        px16[3 * i + 1] = (uint8_t)(i / (size_t)w * 255 / (size_t)h);
        px16[3 * i + 2] = 90;
    }
    bytes = make_png(w, h, 2, 8, px16, (size_t)w * h * 3, NULL, 0, NULL, 0, &len);
    ASSERT_TRUE(bytes != NULL);
    ASSERT_OK(detect_file(&fx, write_temp(dir, "sky.png", bytes, len, path, sizeof(path)),
                          &faces, &err), &err);
    ASSERT_EQ_INT(faces, 0);
    free(bytes);

    free(px16);
    free(cmyk);
    mien_image_free(sample);
    test_fixture_close(&fx);
    {
        static const char *names[] = {"empty.jpg", "notes.jpg", "cut.jpg", "huge.png",
                                      "photo.jpg", "deep.png",  "print.jpg", "sky.png"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return 0;
}
