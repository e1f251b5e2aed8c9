/* image.h — the image layer: decoded RGB pictures and the geometric operations the face
 * pipeline needs, each with the exact semantics of the reference pipeline
 * (shared/reference/lib/image.js), so that mien and the reference see the same pixels.
 *
 * An image_rgb is 8-bit RGB, row-major, interleaved (HWC), width*3 bytes per row. */
#ifndef MIEN_IMAGE_IMAGE_H
#define MIEN_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mien.h"

typedef struct image_rgb {
    int w, h;        /* pixels */
    uint8_t *data;   /* w*h*3 bytes, owned (malloc) */
} image_rgb;

/* The public mien_image: the pixels plus where they came from. */
struct mien_image {
    uint32_t magic;
    image_rgb rgb;
    int orig_w, orig_h; /* the picture's size after EXIF orientation, before any scaled decode */
    float scale;        /* original pixels per decoded pixel (1, 2, 4 or 8) */
};

/* Allocates w*h*3 bytes (zeroed). MIEN_ERR_NOMEM / MIEN_ERR_ARG. */
mien_status image_alloc(image_rgb *img, int w, int h, mien_error *err);
void image_release(image_rgb *img);

/* Bilinear resize with cv::resize(INTER_LINEAR) geometry: half-pixel centres
 * (src = (dst + 0.5) * w/W - 0.5), clamped to the edge; float weights; rounded.
 * dst must be allocated W×H by the caller. @test image/test_geometry.c */
void image_resize_bilinear(const image_rgb *src, image_rgb *dst);

/* Integer crop of dst->w × dst->h starting at (x, y) of src; outside pixels are black. */
void image_crop(const image_rgb *src, int x, int y, image_rgb *dst);

/* cv::warpAffine(INTER_LINEAR, BORDER_CONSTANT 0): M = [a, b, tx, d, e, ty] maps source to
 * destination; each destination pixel samples the source at M^-1(x, y) bilinearly; source
 * neighbours outside the image contribute 0; result rounded and clamped. dst preallocated. */
void image_warp_affine(const image_rgb *src, const double M[6], image_rgb *dst);

/* Instruction-set levels of the resize and warp kernels (geometry.c). Every level gives the
 * same bytes (the same IEEE double operations in the same order, never fused); they differ
 * only in speed. IMAGE_ISA_BASE is the SSE2/scalar code that the others are tested against;
 * IMAGE_ISA_AUTO picks the best the CPU has (what image_resize_bilinear and
 * image_warp_affine use). @test image/test_geometry.c (image_geometry_isa_*) */
typedef enum image_isa {
    IMAGE_ISA_BASE = 0,   /* SSE2 where compiled in, else scalar */
    IMAGE_ISA_AVX2 = 1,   /* 4 doubles per vector */
    IMAGE_ISA_AVX512 = 2, /* 8 doubles per vector (AVX-512 F, BW, DQ, VL) */
    IMAGE_ISA_AUTO = 3
} image_isa;

/* The best level this CPU runs under the process's ISA cap (base/cpu.h, MIEN_MAX_ISA): at a
 * cap of avx2, never IMAGE_ISA_AVX512. Never IMAGE_ISA_AUTO. Thread-safe. */
image_isa image_isa_best(void);

/* image_resize_bilinear / image_warp_affine at a chosen level; a level above
 * image_isa_best() runs at image_isa_best(). For tests and benchmarks. */
void image_resize_bilinear_isa(const image_rgb *src, image_rgb *dst, image_isa isa);
void image_warp_affine_isa(const image_rgb *src, const double M[6], image_rgb *dst,
                           image_isa isa);

/* Decoders (decode.c). Each checks the declared size against opt before decoding and
 * applies EXIF orientation; bytes are not retained. */
mien_status image_decode(const uint8_t *bytes, size_t size, const mien_image_options *opt,
                         mien_image **out, mien_error *err);

/* ---- additions by the image layer (below the lead's contract) ------------------------- */

/* Handle tag of a live mien_image ("MIMG"); cleared by mien_image_free. */
#define IMAGE_MAGIC 0x4D494D47u

/* Defaults of mien_image_options (mien.h): 64 MiB of input, 40 million pixels (a 7300×5500
 * picture, larger than any phone camera's; 120 MB of RGB). */
#define IMAGE_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define IMAGE_DEFAULT_MAX_PIXELS ((int64_t)40000000)
/* Default of mien_image_options.max_memory: 96 MiB holds the coefficients of a progressive
 * picture of 16 million pixels at 4:4:4 (6 bytes per pixel) or 33 million at 4:2:0 (3 bytes),
 * more than a phone camera's 12 MP; the 240 MB a 40 MP 4:4:4 one would take is refused. */
#define IMAGE_DEFAULT_MAX_MEMORY ((size_t)96 << 20)

/* What a codec hands back to image_decode: the pixels as stored in the file (EXIF
 * orientation not yet applied), possibly at a reduced scale. */
typedef struct image_decoded {
    image_rgb rgb;        /* decoded pixels, owned */
    int full_w, full_h;   /* the stored picture's size before any scaled decode (pixels) */
    int scale;            /* 1, 2, 4 or 8: full size = decoded size × scale (rounded up) */
    int orientation;      /* EXIF orientation 1..8 (1 when absent or unreadable) */
} image_decoded;

/* Options with 0 replaced by the defaults, as every codec sees them. */
typedef struct image_limits {
    size_t max_bytes;
    int64_t max_pixels;
    int min_side;
    size_t max_memory; /* libjpeg's max_memory_to_use (decode_jpeg.c), bytes */
} image_limits;

/* Refuses a declared size before any pixel memory is allocated: a zero side, or w*h over
 * lim->max_pixels → MIEN_ERR_IMAGE naming `format` and the limit. */
mien_status image_check_size(const char *format, uint64_t w, uint64_t h,
                             const image_limits *lim, mien_error *err);

/* Codecs (decode_jpeg.c, decode_png.c, decode_webp.c). On success *out is filled and owns
 * its pixels; on failure *out is zeroed and nothing is allocated. Codec errors never abort:
 * they become MIEN_ERR_IMAGE with the codec's own message. */
mien_status image_decode_jpeg(const uint8_t *bytes, size_t size, const image_limits *lim,
                              image_decoded *out, mien_error *err);
mien_status image_decode_png(const uint8_t *bytes, size_t size, const image_limits *lim,
                             image_decoded *out, mien_error *err);
mien_status image_decode_webp(const uint8_t *bytes, size_t size, const image_limits *lim,
                              image_decoded *out, mien_error *err);

/* EXIF (exif.c). image_exif_orientation reads tag 0x0112 of IFD0 from an EXIF block (a TIFF
 * header, optionally preceded by "Exif\0\0"); the block is untrusted: every offset is
 * bounds-checked and anything malformed yields 1 (no rotation). @test image/test_decode.c */
int image_exif_orientation(const uint8_t *p, size_t n);

/* Turns img (pixels as stored) into the picture as displayed for EXIF orientation 2..8
 * (1 or an invalid value: no change). Replaces img->data with a new buffer; on
 * MIEN_ERR_NOMEM img is unchanged. */
mien_status image_apply_orientation(image_rgb *img, int orientation, mien_error *err);

#endif
