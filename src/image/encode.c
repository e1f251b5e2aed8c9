/* encode.c — RGB to JPEG (libjpeg-turbo) or PNG (libspng), in memory or to a file: what a
 * front end needs to hand back a picture it annotated (`mien detect --draw`). The codecs are
 * those the decoders already link; nothing new is needed.
 *
 * libjpeg's default error_exit prints and exit()s; as in decode_jpeg.c it longjmps back here
 * instead, with the formatted message. The only errors the compressor can raise on an
 * in-memory destination are out-of-memory and internal ones. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jpeglib.h>
#include <spng.h>

#include "base/error.h"
#include "base/io.h"
#include "image/image.h"

/* The compressor's state, kept in a struct so its values are defined after the longjmp. */
typedef struct jpeg_out {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    unsigned char *buf;
    unsigned long size;
} jpeg_out;

static void jpeg_out_error(j_common_ptr cinfo)
{
    jpeg_out *o = (jpeg_out *)cinfo->client_data;
    cinfo->err->format_message(cinfo, o->message);
    longjmp(o->jump, 1);
}

static void jpeg_out_silent(j_common_ptr cinfo)
{
    (void)cinfo;
}

static mien_status encode_jpeg(const image_rgb *img, int quality, uint8_t **out, size_t *size,
                               mien_error *err)
{
    jpeg_out *o = calloc(1, sizeof(*o));
    volatile mien_status s = MIEN_OK; /* set after the longjmp */
    if (o == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory encoding a JPEG");
    }
    o->cinfo.err = jpeg_std_error(&o->jerr);
    o->jerr.error_exit = jpeg_out_error;
    o->jerr.output_message = jpeg_out_silent;
    o->cinfo.client_data = o;
    if (setjmp(o->jump) != 0) {
        s = base_error_set(err, MIEN_ERR_IMAGE, "cannot encode the JPEG: %s", o->message);
        goto done;
    }
    jpeg_create_compress(&o->cinfo);
    jpeg_mem_dest(&o->cinfo, &o->buf, &o->size);
    o->cinfo.image_width = (JDIMENSION)img->w;
    o->cinfo.image_height = (JDIMENSION)img->h;
    o->cinfo.input_components = 3;
    o->cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&o->cinfo);
    jpeg_set_quality(&o->cinfo, quality, TRUE);
    jpeg_start_compress(&o->cinfo, TRUE);
    while (o->cinfo.next_scanline < o->cinfo.image_height) {
        JSAMPROW row = img->data + (size_t)o->cinfo.next_scanline * (size_t)img->w * 3;
        jpeg_write_scanlines(&o->cinfo, &row, 1);
    }
    jpeg_finish_compress(&o->cinfo);
    /* jpeg_mem_dest's buffer is malloc'd (libjpeg-turbo's jdatadst.c): ours to hand on. */
    *out = o->buf;
    *size = o->size;
    o->buf = NULL;
done:
    jpeg_destroy_compress(&o->cinfo);
    free(o->buf);
    free(o);
    return s;
}

static mien_status encode_png(const image_rgb *img, uint8_t **out, size_t *size, mien_error *err)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = (uint32_t)img->w, .height = (uint32_t)img->h,
                             .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
    int rc;
    if (ctx == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory encoding a PNG");
    }
    if ((rc = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1)) != 0 ||
        (rc = spng_set_ihdr(ctx, &ihdr)) != 0 ||
        (rc = spng_encode_image(ctx, img->data, (size_t)img->w * (size_t)img->h * 3,
                                SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE)) != 0) {
        spng_ctx_free(ctx);
        return base_error_set(err, MIEN_ERR_IMAGE, "cannot encode the PNG: %s",
                              spng_strerror(rc));
    }
    *out = spng_get_png_buffer(ctx, size, &rc); /* malloc'd, now ours */
    spng_ctx_free(ctx);
    if (*out == NULL) {
        return base_error_set(err, MIEN_ERR_IMAGE, "cannot encode the PNG: %s",
                              spng_strerror(rc));
    }
    return MIEN_OK;
}

mien_status mien_image_encode(const mien_image *image, mien_image_format format, int quality,
                              uint8_t **out, size_t *size, mien_error *err)
{
    if (out == NULL || size == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_encode: out or size is NULL");
    }
    *out = NULL;
    *size = 0;
    if (image == NULL || image->magic != IMAGE_MAGIC) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_image_encode: not an image");
    }
    if (format == MIEN_IMAGE_JPEG) {
        if (quality < 1 || quality > 100) {
            return base_error_set(err, MIEN_ERR_ARG, "JPEG quality %d is not in 1..100",
                                  quality);
        }
        return encode_jpeg(&image->rgb, quality, out, size, err);
    }
    if (format == MIEN_IMAGE_PNG) {
        return encode_png(&image->rgb, out, size, err);
    }
    return base_error_set(err, MIEN_ERR_ARG, "mien_image_encode: unknown format %d",
                          (int)format);
}

mien_status mien_image_format_of_path(const char *path, mien_image_format *format,
                                      mien_error *err)
{
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    const char *dot = path != NULL ? strrchr(slash != NULL ? slash : path, '.') : NULL;
    if (dot != NULL && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)) {
        *format = MIEN_IMAGE_JPEG;
        return MIEN_OK;
    }
    if (dot != NULL && strcasecmp(dot, ".png") == 0) {
        *format = MIEN_IMAGE_PNG;
        return MIEN_OK;
    }
    return base_error_set(err, MIEN_ERR_ARG,
                          "%s: the picture's format comes from its extension: .jpg, .jpeg or "
                          ".png",
                          path != NULL ? path : "(null)");
}

mien_status mien_image_save(const mien_image *image, const char *path, mien_error *err)
{
    mien_image_format format;
    uint8_t *bytes = NULL;
    size_t size = 0;
    int fd;
    mien_status s = mien_image_format_of_path(path, &format, err);
    if (s != MIEN_OK) {
        return s;
    }
    s = mien_image_encode(image, format, MIEN_IMAGE_JPEG_QUALITY, &bytes, &size, err);
    if (s != MIEN_OK) {
        return s;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    } else if (!base_write_all(fd, bytes, size)) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
    } else if (close(fd) != 0) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    free(bytes);
    return s;
}
