/* decode_png.c — PNG to RGB with libspng: every colour type and bit depth (grey, grey+alpha,
 * palette, RGB, RGBA; 1 to 16 bits) through SPNG_FMT_RGB8, which scales 16-bit samples to 8
 * and drops alpha (the stored colour is kept, as the reference's pngjs decode does; no
 * gamma correction). EXIF orientation comes from the eXIf chunk (PNG 3rd edition §11.3.6).
 *
 * libspng returns error codes (it never aborts or longjmps); each becomes MIEN_ERR_IMAGE
 * with spng_strerror's text. CRC errors fail the decode (libspng's default), the file must
 * be whole up to IEND (eXIf may come after the pixels), and the size the IHDR declares is
 * checked against the pixel limit before any allocation. */
#include <string.h>

#include <spng.h>

#include "base/error.h"
#include "image/image.h"

/* Cap on the memory libspng may spend on cached ancillary chunks (text, ICC profiles, EXIF),
 * decompressed: 16 MiB is far above any camera's metadata (EXIF is limited to 64 KB by its
 * JPEG carrier; ICC profiles are a few hundred KB) and stops zTXt/iCCP zip bombs. */
#define PNG_CHUNK_CACHE_BYTES ((size_t)16 << 20)
/* libspng's own per-side ceiling (PNG allows 2^31 − 1); our pixel limit is the real one. */
#define PNG_MAX_SIDE 0x7FFFFFFFu

static mien_status spng_fail(mien_error *err, const char *what, int rc)
{
    return base_error_set(err, MIEN_ERR_IMAGE, "corrupt PNG: %s: %s", what, spng_strerror(rc));
}

mien_status image_decode_png(const uint8_t *bytes, size_t size, const image_limits *lim,
                             image_decoded *out, mien_error *err)
{
    spng_ctx *ctx;
    struct spng_ihdr ihdr;
    struct spng_exif exif;
    size_t len;
    int rc;
    mien_status s;

    memset(out, 0, sizeof(*out));
    ctx = spng_ctx_new(0);
    if (ctx == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for a PNG decoder");
    }
    /* A single chunk cannot be longer than the input, which is already within max_bytes. */
    size_t chunk_max = size < PNG_MAX_SIDE ? size : PNG_MAX_SIDE;
    if ((rc = spng_set_png_buffer(ctx, bytes, size)) != 0 ||
        (rc = spng_set_image_limits(ctx, PNG_MAX_SIDE, PNG_MAX_SIDE)) != 0 ||
        (rc = spng_set_chunk_limits(ctx, chunk_max, PNG_CHUNK_CACHE_BYTES)) != 0) {
        s = spng_fail(err, "setting up the decoder", rc);
        goto fail_ctx;
    }
    rc = spng_get_ihdr(ctx, &ihdr);
    if (rc != 0) {
        s = spng_fail(err, "header", rc);
        goto fail_ctx;
    }
    s = image_check_size("PNG", ihdr.width, ihdr.height, lim, err);
    if (s != MIEN_OK) {
        goto fail_ctx;
    }
    rc = spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &len);
    if (rc != 0) {
        s = spng_fail(err, "header", rc);
        goto fail_ctx;
    }
    s = image_alloc(&out->rgb, (int)ihdr.width, (int)ihdr.height, err);
    if (s != MIEN_OK) {
        goto fail_ctx;
    }
    if (len != (size_t)out->rgb.w * (size_t)out->rgb.h * 3) {
        s = base_error_set(err, MIEN_ERR_INTERNAL, "libspng wants %zu bytes for %d×%d RGB", len,
                           out->rgb.w, out->rgb.h);
        goto fail_pixels;
    }
    rc = spng_decode_image(ctx, out->rgb.data, len, SPNG_FMT_RGB8, 0);
    if (rc != 0) {
        s = spng_fail(err, "image data", rc);
        goto fail_pixels;
    }
    /* eXIf may follow the image data: read the trailing chunks too, up to IEND. A damaged
     * or missing tail fails the decode even though the pixels are complete: the picture's
     * orientation could be in the part that is missing. */
    rc = spng_decode_chunks(ctx);
    if (rc != 0) {
        s = spng_fail(err, "after the image data (truncated?)", rc);
        goto fail_pixels;
    }
    out->orientation = 1;
    if (spng_get_exif(ctx, &exif) == 0) {
        out->orientation = image_exif_orientation((const uint8_t *)exif.data, exif.length);
    }
    out->full_w = out->rgb.w;
    out->full_h = out->rgb.h;
    out->scale = 1;
    spng_ctx_free(ctx);
    return MIEN_OK;

fail_pixels:
    image_release(&out->rgb);
fail_ctx:
    spng_ctx_free(ctx);
    return s;
}
