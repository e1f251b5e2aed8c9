/* mien_image.c — the public mien_image_* functions (mien.h "images"): argument checks,
 * reading files under the byte limit, and the handle's accessors.
 *
 * A mien_image is immutable once made, so one may be read by any number of threads. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "image/image.h"

/* Size of the read(2) steps when a file's size is not known in advance (a pipe, /dev/...). */
#define LOAD_CHUNK ((size_t)1 << 16)

/* A live handle: not NULL and carrying the magic (a freed or foreign pointer usually not). */
static bool is_image(const mien_image *image)
{
    return image != NULL && image->magic == IMAGE_MAGIC;
}

mien_image_options mien_image_options_default(void)
{
    mien_image_options opt = {
        .max_bytes = IMAGE_DEFAULT_MAX_BYTES,
        .max_pixels = IMAGE_DEFAULT_MAX_PIXELS,
        .min_side = 0,
        .max_memory = IMAGE_DEFAULT_MAX_MEMORY,
    };
    return opt;
}

/* Checks the options shared by _decode and _load; NULL means the defaults. */
static mien_status check_options(const mien_image_options *opt, mien_error *err)
{
    if (opt != NULL && (opt->max_pixels < 0 || opt->min_side < 0)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "mien_image_options: max_pixels (%lld) and min_side (%d) must "
                              "not be negative",
                              (long long)opt->max_pixels, opt->min_side);
    }
    return MIEN_OK;
}

mien_status mien_image_decode(const void *bytes, size_t size, const mien_image_options *opt,
                              mien_image **out, mien_error *err)
{
    mien_image_options def = mien_image_options_default();
    mien_status s;

    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_decode: out is NULL");
    }
    *out = NULL;
    if (bytes == NULL && size > 0) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_decode: bytes is NULL");
    }
    s = check_options(opt, err);
    if (s != MIEN_OK) {
        return s;
    }
    return image_decode(bytes, size, opt != NULL ? opt : &def, out, err);
}

/* Reads at most cap bytes of f into a new buffer (*bytes, malloc'd, caller frees), *size
 * bytes. *size == cap means the file has at least cap bytes. `hint` is the file's size when
 * known (regular files), else 0. MIEN_ERR_IO with strerror, or MIEN_ERR_NOMEM. */
static mien_status read_capped(FILE *f, const char *path, size_t cap, size_t hint,
                               uint8_t **bytes, size_t *size, mien_error *err)
{
    size_t n = 0;
    size_t alloc = hint > 0 && hint < cap ? hint + 1 : (cap < LOAD_CHUNK ? cap : LOAD_CHUNK);
    uint8_t *buf = malloc(alloc);
    mien_status s;

    *bytes = NULL;
    *size = 0;
    if (buf == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "%s: out of memory for %zu bytes", path,
                              alloc);
    }
    for (;;) {
        size_t got = fread(buf + n, 1, alloc - n, f);
        n += got;
        if (n < alloc) {
            if (ferror(f)) {
                s = base_error_set(err, MIEN_ERR_IO, "%s: cannot read: %s", path,
                                   strerror(errno));
                goto fail;
            }
            break; /* end of file */
        }
        if (n >= cap) {
            break;
        }
        size_t grow = alloc > cap - alloc ? cap : alloc * 2;
        uint8_t *more = realloc(buf, grow);
        if (more == NULL) {
            s = base_error_set(err, MIEN_ERR_NOMEM, "%s: out of memory for %zu bytes", path,
                               grow);
            goto fail;
        }
        buf = more;
        alloc = grow;
    }
    *bytes = buf;
    *size = n;
    return MIEN_OK;

fail:
    free(buf);
    return s;
}

mien_status mien_image_load(const char *path, const mien_image_options *opt, mien_image **out,
                            mien_error *err)
{
    mien_image_options def = mien_image_options_default();
    struct stat st;
    uint8_t *bytes;
    size_t size, max_bytes, hint = 0;
    mien_status s;
    FILE *f;

    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_load: out is NULL");
    }
    *out = NULL;
    if (path == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_load: path is NULL");
    }
    s = check_options(opt, err);
    if (s != MIEN_OK) {
        return s;
    }
    if (opt == NULL) {
        opt = &def;
    }
    max_bytes = opt->max_bytes > 0 ? opt->max_bytes : IMAGE_DEFAULT_MAX_BYTES;
    f = fopen(path, "rb");
    if (f == NULL) {
        return base_error_set(err, MIEN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail_open;
    }
    if (S_ISDIR(st.st_mode)) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot read: %s", path, strerror(EISDIR));
        goto fail_open;
    }
    if (S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > max_bytes) {
            s = base_error_set(err, MIEN_ERR_IMAGE,
                               "%s: image is %lld bytes, over the limit of %zu bytes "
                               "(mien_image_options.max_bytes)",
                               path, (long long)st.st_size, max_bytes);
            goto fail_open;
        }
        hint = (size_t)st.st_size;
    }
    /* One byte more than the limit: a file that fills it is over the limit (a pipe or a
     * file that grew since fstat), and is refused without reading the rest. */
    s = read_capped(f, path, max_bytes < SIZE_MAX ? max_bytes + 1 : max_bytes, hint, &bytes,
                    &size, err);
    if (s != MIEN_OK) {
        goto fail_open;
    }
    fclose(f);
    s = image_decode(bytes, size, opt, out, err);
    free(bytes);
    if (s != MIEN_OK && err != NULL && s == MIEN_ERR_IMAGE) {
        /* Name the file: "x.jpg: truncated JPEG: ...". */
        char msg[sizeof(err->message)];
        snprintf(msg, sizeof(msg), "%s", err->message);
        base_error_set(err, s, "%s: %s", path, msg);
    }
    return s;

fail_open:
    fclose(f);
    return s;
}

mien_status mien_image_from_rgb(const uint8_t *rgb, int width, int height, size_t stride,
                                mien_image **out, mien_error *err)
{
    mien_image *img;
    mien_status s;

    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_from_rgb: out is NULL");
    }
    *out = NULL;
    if (rgb == NULL || width <= 0 || height <= 0) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "mien_image_from_rgb: need pixels and sides > 0 (got %d×%d)",
                              width, height);
    }
    if (stride / 3 < (size_t)width) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "mien_image_from_rgb: stride %zu is less than width × 3 = %lld",
                              stride, (long long)width * 3);
    }
    img = malloc(sizeof(*img));
    if (img == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for an image handle");
    }
    s = image_alloc(&img->rgb, width, height, err);
    if (s != MIEN_OK) {
        goto fail_pixels;
    }
    for (int y = 0; y < height; y++) {
        memcpy(img->rgb.data + (size_t)y * (size_t)width * 3, rgb + (size_t)y * stride,
               (size_t)width * 3);
    }
    img->magic = IMAGE_MAGIC;
    img->orig_w = width;
    img->orig_h = height;
    img->scale = 1.0f;
    *out = img;
    return MIEN_OK;

fail_pixels:
    free(img);
    return s;
}

void mien_image_free(mien_image *image)
{
    if (image == NULL) {
        return;
    }
    if (image->magic != IMAGE_MAGIC) {
        return; /* not ours, or freed already: leaking beats a double free */
    }
    image->magic = 0;
    image_release(&image->rgb);
    free(image);
}

int mien_image_width(const mien_image *image)
{
    return is_image(image) ? image->rgb.w : 0;
}

int mien_image_height(const mien_image *image)
{
    return is_image(image) ? image->rgb.h : 0;
}

int mien_image_original_width(const mien_image *image)
{
    return is_image(image) ? image->orig_w : 0;
}

int mien_image_original_height(const mien_image *image)
{
    return is_image(image) ? image->orig_h : 0;
}

const uint8_t *mien_image_pixels(const mien_image *image)
{
    return is_image(image) ? image->rgb.data : NULL;
}
