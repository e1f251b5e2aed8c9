/* draw.c — annotated pictures (`mien detect --draw`, `mien identify --draw`): each face's box,
 * its five points and a label drawn on a copy of the picture, written as JPEG or PNG by the
 * output's extension (mien_image_save). Text uses a built-in 5×7 ASCII font, scaled with the
 * picture so a label stays readable on a 12-megapixel photo. Public API only. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* The classic 5×7 LCD font, printable ASCII (32..126): five columns per glyph, bit 0 the top
 * row. An immutable table; anything outside ASCII is drawn as '?'. */
static const uint8_t FONT5X7[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00}, {0x00, 0x07, 0x00, 0x07, 0x00},
    {0x14, 0x7F, 0x14, 0x7F, 0x14}, {0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62},
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, {0x00, 0x1C, 0x22, 0x41, 0x00},
    {0x00, 0x41, 0x22, 0x1C, 0x00}, {0x08, 0x2A, 0x1C, 0x2A, 0x08}, {0x08, 0x08, 0x3E, 0x08, 0x08},
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x60, 0x60, 0x00, 0x00},
    {0x20, 0x10, 0x08, 0x04, 0x02}, {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00},
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31}, {0x18, 0x14, 0x12, 0x7F, 0x10},
    {0x27, 0x45, 0x45, 0x45, 0x39}, {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03},
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E}, {0x00, 0x36, 0x36, 0x00, 0x00},
    {0x00, 0x56, 0x36, 0x00, 0x00}, {0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14},
    {0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06}, {0x32, 0x49, 0x79, 0x41, 0x3E},
    {0x7E, 0x11, 0x11, 0x11, 0x7E}, {0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22},
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41}, {0x7F, 0x09, 0x09, 0x01, 0x01},
    {0x3E, 0x41, 0x41, 0x51, 0x32}, {0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00},
    {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41}, {0x7F, 0x40, 0x40, 0x40, 0x40},
    {0x7F, 0x02, 0x04, 0x02, 0x7F}, {0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E},
    {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E}, {0x7F, 0x09, 0x19, 0x29, 0x46},
    {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F},
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x7F, 0x20, 0x18, 0x20, 0x7F}, {0x63, 0x14, 0x08, 0x14, 0x63},
    {0x03, 0x04, 0x78, 0x04, 0x03}, {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7F, 0x41, 0x41, 0x00},
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7F, 0x00}, {0x04, 0x02, 0x01, 0x02, 0x04},
    {0x40, 0x40, 0x40, 0x40, 0x40}, {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78},
    {0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, {0x38, 0x44, 0x44, 0x48, 0x7F},
    {0x38, 0x54, 0x54, 0x54, 0x18}, {0x08, 0x7E, 0x09, 0x01, 0x02}, {0x0C, 0x52, 0x52, 0x52, 0x3E},
    {0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00}, {0x20, 0x40, 0x44, 0x3D, 0x00},
    {0x7F, 0x10, 0x28, 0x44, 0x00}, {0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78},
    {0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, {0x7C, 0x14, 0x14, 0x14, 0x08},
    {0x08, 0x14, 0x14, 0x18, 0x7C}, {0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20},
    {0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C}, {0x1C, 0x20, 0x40, 0x20, 0x1C},
    {0x3C, 0x40, 0x30, 0x40, 0x3C}, {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C},
    {0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, {0x00, 0x00, 0x7F, 0x00, 0x00},
    {0x00, 0x41, 0x36, 0x08, 0x00}, {0x10, 0x08, 0x08, 0x10, 0x08},
};

/* A glyph cell is 6×8 font pixels: the 5×7 glyph and one blank column and row. */
enum { CELL_W = 6, CELL_H = 8 };

typedef struct canvas {
    uint8_t *px;
    int w, h;
} canvas;

static const uint8_t BOX_KNOWN[3] = {40, 220, 60};   /* green: a face, or a candidate */
static const uint8_t BOX_UNKNOWN[3] = {235, 60, 40}; /* red: "unknown" */
static const uint8_t POINTS[3] = {0, 200, 255};      /* cyan: the five landmarks */
static const uint8_t TEXT[3] = {0, 0, 0};

static void fill(canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > c->w ? c->w : x1;
    y1 = y1 > c->h ? c->h : y1;
    for (int y = y0; y < y1; y++) {
        uint8_t *row = c->px + ((size_t)y * (size_t)c->w + (size_t)x0) * 3;
        for (int x = x0; x < x1; x++, row += 3) {
            memcpy(row, rgb, 3);
        }
    }
}

/* The outline of [x0,x1)×[y0,y1), `t` pixels thick, inside the rectangle. */
static void outline(canvas *c, int x0, int y0, int x1, int y1, int t, const uint8_t rgb[3])
{
    fill(c, x0, y0, x1, y0 + t, rgb);
    fill(c, x0, y1 - t, x1, y1, rgb);
    fill(c, x0, y0, x0 + t, y1, rgb);
    fill(c, x1 - t, y0, x1, y1, rgb);
}

static int text_width(const char *s, int scale)
{
    return (int)strlen(s) * CELL_W * scale;
}

static void text(canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3])
{
    for (; *s != '\0'; s++, x += CELL_W * scale) {
        unsigned ch = (unsigned char)*s;
        const uint8_t *g = FONT5X7[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        for (int col = 0; col < 5; col++) {
            for (int row = 0; row < 7; row++) {
                if (g[col] >> row & 1) {
                    fill(c, x + col * scale, y + row * scale, x + (col + 1) * scale,
                         y + (row + 1) * scale, rgb);
                }
            }
        }
    }
}

/* A label on a filled band in the box's colour: above the box, or inside its top edge when
 * the box touches the top of the picture; shifted left to stay in the picture. */
static void label(canvas *c, int bx, int by, const char *s, int scale, const uint8_t bg[3])
{
    int pad = scale, w = text_width(s, scale) + 2 * pad, h = CELL_H * scale + pad;
    int x = bx + w > c->w ? c->w - w : bx, y = by - h >= 0 ? by - h : by;
    x = x < 0 ? 0 : x;
    fill(c, x, y, x + w, y + h, bg);
    text(c, x + pad, y + pad, s, scale, TEXT);
}

/* Sets err (code and message) and returns its code. */
static mien_status fail(mien_error *err, mien_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

static bool is_unknown(const char *s)
{
    return s != NULL && strncmp(s, "unknown", 7) == 0;
}

mien_status cli_draw_faces(const mien_image *img, const mien_face *faces, size_t n,
                           const char *const *labels, const char *path, mien_error *err)
{
    int w = mien_image_width(img), h = mien_image_height(img);
    int side = w < h ? w : h;
    /* decoded pixels per original pixel: faces are in the original picture's coordinates */
    double k = (double)w / (double)mien_image_original_width(img);
    int t = side / 320 + 2, scale = side / 360 + 1, r = t + 1;
    size_t bytes = (size_t)w * (size_t)h * 3;
    canvas c = {malloc(bytes), w, h};
    mien_image *out = NULL;
    mien_status st;
    mien_image_format format;
    if ((st = mien_image_format_of_path(path, &format, err)) != MIEN_OK) {
        free(c.px);
        return st;
    }
    if (c.px == NULL) {
        return fail(err, MIEN_ERR_NOMEM, "out of memory for the picture");
    }
    memcpy(c.px, mien_image_pixels(img), bytes);
    for (size_t i = 0; i < n; i++) {
        const mien_face *f = &faces[i];
        const char *l = labels != NULL ? labels[i] : NULL;
        const uint8_t *colour = is_unknown(l) ? BOX_UNKNOWN : BOX_KNOWN;
        int x0 = (int)(f->box[0] * k), y0 = (int)(f->box[1] * k);
        int x1 = (int)(f->box[2] * k + 0.5), y1 = (int)(f->box[3] * k + 0.5);
        outline(&c, x0, y0, x1, y1, t, colour);
        for (int j = 0; j < 5; j++) {
            int px = (int)(f->landmarks[j][0] * k), py = (int)(f->landmarks[j][1] * k);
            fill(&c, px - r, py - r, px + r + 1, py + r + 1, POINTS);
        }
        if (l != NULL && l[0] != '\0') {
            label(&c, x0, y0, l, scale, colour);
        }
    }
    st = mien_image_from_rgb(c.px, w, h, (size_t)w * 3, &out, err);
    free(c.px);
    if (st == MIEN_OK) {
        st = mien_image_save(out, path, err);
    }
    mien_image_free(out);
    return st;
}

mien_status cli_draw_faces_full(const char *input, const mien_image *img,
                                const mien_face *faces, size_t n, const char *const *labels,
                                const char *path, mien_error *err)
{
    mien_image_options opt = mien_image_options_faces();
    mien_image *full = NULL;
    mien_status st;
    if (mien_image_width(img) == mien_image_original_width(img)) {
        return cli_draw_faces(img, faces, n, labels, path, err);
    }
    opt.min_side = 0; /* the whole picture: same limits, no scaled decode */
    st = mien_image_load(input, &opt, &full, err);
    if (st == MIEN_OK) {
        st = cli_draw_faces(full, faces, n, labels, path, err);
    }
    mien_image_free(full);
    return st;
}

/* ---- where the pictures go ------------------------------------------------------------- */

mien_status cli_draw_target_open(cli_draw_target *d, const char *arg, size_t n_inputs,
                                 mien_error *err)
{
    size_t len = strlen(arg);
    mien_image_format format;
    *d = (cli_draw_target){.arg = arg};
    d->dir = (len > 0 && arg[len - 1] == '/') || cli_is_dir(arg);
    if (!d->dir) {
        if (n_inputs > 1) {
            return fail(err, MIEN_ERR_ARG, "--draw %s: one file for %zu images; give a folder (--draw DIR/) for one "
                     "picture per image",
                     arg, n_inputs);
        }
        return mien_image_format_of_path(arg, &format, err); /* before any work is done */
    }
    if (mkdir(arg, 0755) != 0 && errno != EEXIST) {
        return fail(err, MIEN_ERR_IO, "--draw %s: cannot create the folder: %s",
                 arg, strerror(errno));
    }
    if (!cli_is_dir(arg)) {
        return fail(err, MIEN_ERR_ARG, "--draw %s: not a folder", arg);
    }
    return MIEN_OK;
}

/* Whether d wrote `name` already in this run. */
static bool used(const cli_draw_target *d, const char *name)
{
    for (size_t k = 0; k < d->written.n; k++) {
        if (strcmp(d->written.p[k], name) == 0) {
            return true;
        }
    }
    return false;
}

mien_status cli_draw_target_path(cli_draw_target *d, const char *input, char *out, size_t cap,
                                 mien_error *err)
{
    const char *base = strrchr(input, '/'), *dot;
    char stem[1024], ext[8] = ".jpg";
    size_t len = strlen(d->arg);
    mien_image_format format;
    if (!d->dir) {
        snprintf(out, cap, "%s", d->arg);
        return MIEN_OK;
    }
    base = base != NULL ? base + 1 : input;
    dot = strrchr(base, '.');
    snprintf(stem, sizeof(stem), "%.*s", dot != NULL ? (int)(dot - base) : (int)strlen(base),
             base);
    /* the input's own format where mien writes it (a WebP comes out as JPEG) */
    if (dot != NULL && strlen(dot) < sizeof(ext) &&
        mien_image_format_of_path(base, &format, err) == MIEN_OK) {
        snprintf(ext, sizeof(ext), "%s", dot);
    }
    /* inputs of the same name in different folders: photo.jpg, photo-2.jpg, ... */
    for (int k = 1;; k++) {
        char suffix[16] = "";
        if (k > 1) {
            snprintf(suffix, sizeof(suffix), "-%d", k);
        }
        if (snprintf(out, cap, "%s%s%s%s%s", d->arg, len && d->arg[len - 1] == '/' ? "" : "/",
                     stem, suffix, ext) >= (int)cap) {
            return fail(err, MIEN_ERR_ARG, "--draw %s: path too long for %s",
                     d->arg, input);
        }
        if (!used(d, out)) {
            break;
        }
    }
    if (!cli_paths_add(&d->written, out)) {
        return fail(err, MIEN_ERR_NOMEM, "out of memory");
    }
    return MIEN_OK;
}

void cli_draw_target_close(cli_draw_target *d)
{
    cli_paths_free(&d->written);
}
