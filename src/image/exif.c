/* exif.c — the EXIF orientation tag, and turning stored pixels into the displayed picture.
 *
 * Cameras store the sensor's pixels as read out and record how to show them in the EXIF
 * Orientation tag (0x0112, TIFF 6.0 §"Orientation"; CIPA DC-008 "Exif 2.32" §4.6.4): 1 as
 * stored, 2 mirrored left-right, 3 rotated 180°, 4 mirrored top-bottom, 5 transposed, 6 to be
 * rotated 90° clockwise, 7 transversed, 8 to be rotated 90° counter-clockwise. A face
 * detector needs upright faces, so every decoder applies it.
 *
 * The EXIF block comes from the uploaded file: it is read with every offset checked
 * against its length, and anything odd means "no rotation" rather than an error, since the
 * pixels themselves are fine. */
#include <stddef.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"

/* TIFF field types that may carry the orientation (TIFF 6.0 §2: 3 SHORT, 4 LONG). */
#define TIFF_SHORT 3
#define TIFF_LONG 4
#define EXIF_TAG_ORIENTATION 0x0112

static unsigned rd16(const uint8_t *p, bool le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                    (uint32_t)p[3];
}

int image_exif_orientation(const uint8_t *p, size_t n)
{
    bool le;
    uint32_t ifd;
    unsigned count;

    if (p == NULL) {
        return 1;
    }
    /* JPEG's APP1 payload starts "Exif\0\0"; PNG eXIf and WebP EXIF should not, but some
     * writers add it there too. */
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        p += 6;
        n -= 6;
    }
    if (n < 8) {
        return 1;
    }
    if (p[0] == 'I' && p[1] == 'I') {
        le = true;
    } else if (p[0] == 'M' && p[1] == 'M') {
        le = false;
    } else {
        return 1;
    }
    if (rd16(p + 2, le) != 42) {
        return 1;
    }
    ifd = rd32(p + 4, le);
    if (ifd < 8 || ifd > n || n - ifd < 2) {
        return 1;
    }
    count = rd16(p + ifd, le);
    /* Entries are 12 bytes each; a count running past the end is cut to what fits. */
    if (count > (n - ifd - 2) / 12) {
        count = (unsigned)((n - ifd - 2) / 12);
    }
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *e = p + ifd + 2 + (size_t)i * 12;
        if (rd16(e, le) != EXIF_TAG_ORIENTATION) {
            continue;
        }
        unsigned type = rd16(e + 2, le);
        uint32_t cnt = rd32(e + 4, le);
        uint32_t v;
        if (cnt != 1) {
            return 1;
        }
        if (type == TIFF_SHORT) {
            v = rd16(e + 8, le); /* a value of 4 bytes or less sits in the entry itself */
        } else if (type == TIFF_LONG) {
            v = rd32(e + 8, le);
        } else {
            return 1;
        }
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

mien_status image_apply_orientation(image_rgb *img, int orientation, mien_error *err)
{
    image_rgb out;
    mien_status s;
    const int w = img->w, h = img->h;
    const int swap = orientation >= 5;

    if (orientation < 2 || orientation > 8) {
        return MIEN_OK;
    }
    s = image_alloc(&out, swap ? h : w, swap ? w : h, err);
    if (s != MIEN_OK) {
        return s;
    }
    /* Stored pixel (x, y) goes to displayed pixel index start + x*step_x + y*step_y, with
     * the displayed (X, Y) of the definitions above; W is the displayed width. */
    const ptrdiff_t W = out.w, wl = w, hl = h;
    ptrdiff_t start, step_x, step_y;
    switch (orientation) {
    case 2: /* X = w-1-x, Y = y */
        start = wl - 1;
        step_x = -1;
        step_y = W;
        break;
    case 3: /* X = w-1-x, Y = h-1-y */
        start = (hl - 1) * W + wl - 1;
        step_x = -1;
        step_y = -W;
        break;
    case 4: /* X = x, Y = h-1-y */
        start = (hl - 1) * W;
        step_x = 1;
        step_y = -W;
        break;
    case 5: /* X = y, Y = x */
        start = 0;
        step_x = W;
        step_y = 1;
        break;
    case 6: /* X = h-1-y, Y = x */
        start = hl - 1;
        step_x = W;
        step_y = -1;
        break;
    case 7: /* X = h-1-y, Y = w-1-x */
        start = (wl - 1) * W + hl - 1;
        step_x = -W;
        step_y = -1;
        break;
    default: /* 8: X = y, Y = w-1-x */
        start = (wl - 1) * W;
        step_x = -W;
        step_y = 1;
        break;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *src = img->data + (size_t)y * (size_t)w * 3;
        ptrdiff_t idx = start + (ptrdiff_t)y * step_y;
        for (int x = 0; x < w; x++, src += 3, idx += step_x) {
            uint8_t *dst = out.data + idx * 3;
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        }
    }
    image_release(img);
    *img = out;
    return MIEN_OK;
}
