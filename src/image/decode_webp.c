/* decode_webp.c — WebP to RGB with libwebp (lossy and lossless; alpha dropped, the stored
 * colour kept), EXIF orientation from the extended format's EXIF chunk via libwebpdemux.
 *
 * Animated WebP is refused: which frame is "the" picture is not defined. libwebp reports
 * errors by status (it never aborts); the header's canvas size is checked against the pixel
 * limit before allocating. WebP readers disagree on whether EXIF orientation applies (the
 * container specification, RFC 9649, leaves metadata to the reader); mien applies it, as
 * browsers do for every format (CSS image-orientation: from-image). */
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "base/error.h"
#include "image/image.h"

static const char *vp8_status_name(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OK:
        return "ok";
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
        return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
        return "suspended";
    case VP8_STATUS_USER_ABORT:
        return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "not enough data (truncated?)";
    }
    return "unknown error";
}

/* EXIF orientation of a WebP file (1 when it has no EXIF chunk or no demuxer can parse it). */
static int webp_orientation(const uint8_t *bytes, size_t size)
{
    WebPData data = {bytes, size};
    WebPChunkIterator it;
    int orientation = 1;
    WebPDemuxer *dmx = WebPDemux(&data);

    if (dmx == NULL) {
        return 1;
    }
    if ((WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG) != 0 &&
        WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
        orientation = image_exif_orientation(it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmx);
    return orientation;
}

mien_status image_decode_webp(const uint8_t *bytes, size_t size, const image_limits *lim,
                              image_decoded *out, mien_error *err)
{
    WebPBitstreamFeatures f;
    VP8StatusCode st;
    mien_status s;

    memset(out, 0, sizeof(*out));
    st = WebPGetFeatures(bytes, size, &f);
    if (st != VP8_STATUS_OK) {
        return base_error_set(err, MIEN_ERR_IMAGE, "corrupt WebP: header: %s",
                              vp8_status_name(st));
    }
    if (f.has_animation) {
        return base_error_set(err, MIEN_ERR_IMAGE, "animated WebP is not supported");
    }
    s = image_check_size("WebP", (uint64_t)(f.width > 0 ? f.width : 0),
                         (uint64_t)(f.height > 0 ? f.height : 0), lim, err);
    if (s != MIEN_OK) {
        return s;
    }
    s = image_alloc(&out->rgb, f.width, f.height, err);
    if (s != MIEN_OK) {
        return s;
    }
    size_t len = (size_t)f.width * (size_t)f.height * 3;
    if (WebPDecodeRGBInto(bytes, size, out->rgb.data, len, f.width * 3) == NULL) {
        /* The decoder gives no reason; the header parsed, so the data is bad or short. */
        image_release(&out->rgb);
        return base_error_set(err, MIEN_ERR_IMAGE,
                              "corrupt WebP: the image data cannot be decoded (damaged or "
                              "truncated)");
    }
    out->full_w = f.width;
    out->full_h = f.height;
    out->scale = 1;
    out->orientation = webp_orientation(bytes, size);
    return MIEN_OK;
}
