/* decode.c — bytes to a mien_image: format by content (magic bytes, never the file name),
 * the size limits, the codec, then EXIF orientation.
 *
 * Limits come first because the input is untrusted: the byte count before anything is
 * parsed, then the size the header declares before any pixel memory is allocated, so a
 * 100-byte PNG claiming 100000×100000 pixels costs microseconds, not 30 GB. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"

/* Magic bytes: JPEG SOI + the first marker's 0xFF (ITU-T T.81 §B.1.1.3); PNG signature
 * (PNG spec §5.2); WebP = RIFF container whose form type is "WEBP" (RFC 9649 §2.5). */
static const uint8_t JPEG_MAGIC[3] = {0xFF, 0xD8, 0xFF};
static const uint8_t PNG_MAGIC[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};

mien_status image_check_size(const char *format, uint64_t w, uint64_t h,
                             const image_limits *lim, mien_error *err)
{
    if (w == 0 || h == 0) {
        return base_error_set(err, MIEN_ERR_IMAGE, "%s declares an empty picture (%llu×%llu)",
                              format, (unsigned long long)w, (unsigned long long)h);
    }
    /* w, h < 2^32 for every format here, so the product fits in 64 bits. */
    if (w > UINT32_MAX || h > UINT32_MAX || w * h > (uint64_t)lim->max_pixels) {
        return base_error_set(err, MIEN_ERR_IMAGE,
                              "%s is %llu×%llu pixels, over the limit of %lld pixels "
                              "(mien_image_options.max_pixels)",
                              format, (unsigned long long)w, (unsigned long long)h,
                              (long long)lim->max_pixels);
    }
    return MIEN_OK;
}

mien_status image_decode(const uint8_t *bytes, size_t size, const mien_image_options *opt,
                         mien_image **out, mien_error *err)
{
    image_limits lim;
    image_decoded dec;
    mien_image *img;
    mien_status s;

    *out = NULL;
    lim.max_bytes = opt->max_bytes > 0 ? opt->max_bytes : IMAGE_DEFAULT_MAX_BYTES;
    lim.max_pixels = opt->max_pixels > 0 ? opt->max_pixels : IMAGE_DEFAULT_MAX_PIXELS;
    lim.min_side = opt->min_side > 0 ? opt->min_side : 0;
    lim.max_memory = opt->max_memory > 0 ? opt->max_memory : IMAGE_DEFAULT_MAX_MEMORY;
    if (lim.max_memory > (size_t)LONG_MAX) {
        lim.max_memory = (size_t)LONG_MAX; /* libjpeg's field is a long */
    }
    if (size == 0) {
        return base_error_set(err, MIEN_ERR_IMAGE, "empty image (0 bytes)");
    }
    if (size > lim.max_bytes) {
        return base_error_set(err, MIEN_ERR_IMAGE,
                              "image is %zu bytes, over the limit of %zu bytes "
                              "(mien_image_options.max_bytes)",
                              size, lim.max_bytes);
    }
    if (size >= sizeof(JPEG_MAGIC) && memcmp(bytes, JPEG_MAGIC, sizeof(JPEG_MAGIC)) == 0) {
        s = image_decode_jpeg(bytes, size, &lim, &dec, err);
    } else if (size >= sizeof(PNG_MAGIC) && memcmp(bytes, PNG_MAGIC, sizeof(PNG_MAGIC)) == 0) {
        s = image_decode_png(bytes, size, &lim, &dec, err);
    } else if (size >= 12 && memcmp(bytes, "RIFF", 4) == 0 && memcmp(bytes + 8, "WEBP", 4) == 0) {
        s = image_decode_webp(bytes, size, &lim, &dec, err);
    } else {
        return base_error_set(err, MIEN_ERR_IMAGE,
                              "unsupported image format (not JPEG, PNG or WebP)");
    }
    if (s != MIEN_OK) {
        return s;
    }
    s = image_apply_orientation(&dec.rgb, dec.orientation, err);
    if (s != MIEN_OK) {
        goto fail_orient;
    }
    img = malloc(sizeof(*img));
    if (img == NULL) {
        s = base_error_set(err, MIEN_ERR_NOMEM, "out of memory for an image handle");
        goto fail_orient;
    }
    img->magic = IMAGE_MAGIC;
    img->rgb = dec.rgb;
    img->orig_w = dec.orientation >= 5 ? dec.full_h : dec.full_w;
    img->orig_h = dec.orientation >= 5 ? dec.full_w : dec.full_h;
    img->scale = (float)dec.scale;
    *out = img;
    return MIEN_OK;

fail_orient:
    image_release(&dec.rgb);
    return s;
}
