/* decode_jpeg.c — JPEG to RGB with libjpeg-turbo: colour conversion (grey, YCbCr, RGB,
 * CMYK/YCCK), scaled decode (1/2, 1/4, 1/8 in the IDCT), EXIF orientation from APP1.
 *
 * libjpeg reports errors by calling error_exit, which by default prints and exit()s: a
 * corrupt upload would kill the server. Here error_exit longjmps back to decode_jpeg's
 * guarded section with the formatted message, and output_message prints nothing.
 *
 * Truncated files. libjpeg-turbo does not fail on a file that ends early: its source
 * manager warns (JWRN_JPEG_EOF, "Premature end of JPEG file") and inserts a fake EOI; when
 * the entropy decoder then needs bits that are not there it warns again (JWRN_HIT_MARKER,
 * "premature end of data segment") and the rest of the picture comes out grey. A half-grey
 * face would be embedded as if it were real, so mien refuses it: both warnings together
 * are MIEN_ERR_IMAGE "truncated JPEG", and so is any error after the end of the data (a
 * file cut inside its header). In a file of several scans (progressive) the end of data
 * alone is fatal too: a cut between two scans leaves a complete but blurred or blocky
 * picture, which cannot be told from a finished file that merely lacks its EOI. In a
 * single-scan (baseline) file the end-of-data warning alone is accepted: it means only the
 * final EOI marker is missing (some encoders omit it) and every pixel was decoded, since
 * the Huffman decoder's look-ahead never warns (jdhuff.c asks for 0 bits when it only
 * peeks). Other warnings (extraneous bytes before a marker, a stray marker inside the data)
 * are accepted, as by every browser.
 *
 * Scan limit. A progressive JPEG may hold thousands of tiny scans, each making libjpeg
 * re-read the whole coefficient buffer (CVE-2018-11813-style CPU exhaustion): a progress
 * monitor stops at JPEG_MAX_SCANS, the default scan limit of libjpeg-turbo 3's TurboJPEG
 * (TJPARAM_SCANLIMIT = 500).
 *
 * Memory limit. A picture of several scans (progressive) is decoded by keeping every DCT
 * coefficient of the whole picture: 2 bytes per coefficient, 64 per 8×8 block, so 2 bytes per
 * sample of each component — 6 bytes per pixel at 4:4:4, 240 MB for the 40 million pixels
 * max_pixels admits, whatever scale the output is decoded at, and per worker decoding at once.
 * libjpeg's max_memory_to_use bounds what its memory manager hands out for such whole-picture
 * arrays; above it the manager would spill to a backing store, but libjpeg-turbo has none
 * (jmemnobs.c, also in Debian's libjpeg62-turbo 2.1.5: jpeg_open_backing_store fails with
 * JERR_NO_BACKING_STORE before the array is allocated). That failure is reported here as
 * MIEN_ERR_IMAGE naming the memory the picture needs and the limit
 * (mien_image_options.max_memory). Setting the field also overrides libjpeg's own reading
 * of the JPEGMEM environment variable: the library reads no environment. Measured with
 * `/usr/bin/time -v mien detect` on a 7300×5470 4:4:4 progressive JPEG: 291 MB peak RSS
 * before the limit, refused at 49 MB after (docs/api.md). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "base/error.h"
#include "image/image.h"

#define JPEG_MAX_SCANS 500
/* The EXIF APP1 segment: marker APP0 + 1, payload starting "Exif\0\0" (Exif 2.32 §4.5.4). */
#define JPEG_APP1 (JPEG_APP0 + 1)

/* Everything the guarded section changes lives here, in decode_jpeg's caller frame, so that
 * after a longjmp its values are defined (C11 §7.13.2.1p3 covers only locals of the
 * function that called setjmp). */
typedef struct jpeg_state {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    bool created;        /* jpeg_create_decompress done */
    bool saw_eof;        /* JWRN_JPEG_EOF: the data ended (a fake EOI was inserted) */
    bool header_done;    /* jpeg_read_header returned: jpeg_has_multiple_scans may be asked */
    char message[JMSG_LENGTH_MAX + 64];
    image_decoded dec;   /* the result being built */
    uint8_t *cmyk_row;   /* one CMYK output row (4 bytes per pixel), or NULL */
} jpeg_state;

/* The state owning cinfo (cinfo is its first member). */
static jpeg_state *state_of(j_common_ptr cinfo)
{
    return (jpeg_state *)(void *)cinfo;
}

/* Bytes of the whole-picture coefficient arrays a multi-scan decode keeps (see the file
 * comment): 128 bytes per 8×8 block of each component. */
static uint64_t coefficient_bytes(j_decompress_ptr cinfo)
{
    uint64_t total = 0;
    for (int k = 0; k < cinfo->num_components; k++) {
        const jpeg_component_info *c = &cinfo->comp_info[k];
        total += (uint64_t)c->width_in_blocks * c->height_in_blocks * DCTSIZE2 * sizeof(JCOEF);
    }
    return total;
}

/* error_exit: keep libjpeg's message and leave the guarded section. A refusal of the memory
 * manager (no backing store to spill to, or an allocation over the limit) is the memory
 * limit, said as such. */
static void on_error(j_common_ptr cinfo)
{
    jpeg_state *st = state_of(cinfo);
    char buf[JMSG_LENGTH_MAX];
    int code = cinfo->err->msg_code;
    if ((code == JERR_NO_BACKING_STORE || code == JERR_OUT_OF_MEMORY) && st->header_done) {
        snprintf(st->message, sizeof(st->message),
                 "JPEG of %u×%u pixels needs %llu MiB of decoder memory (%s), over the limit "
                 "of %llu MiB (mien_image_options.max_memory)",
                 st->cinfo.image_width, st->cinfo.image_height,
                 (unsigned long long)(coefficient_bytes(&st->cinfo) >> 20),
                 jpeg_has_multiple_scans(&st->cinfo) ? "progressive: every coefficient is kept"
                                                     : "its buffers",
                 (unsigned long long)(cinfo->mem->max_memory_to_use >> 20));
        longjmp(st->jump, 1);
    }
    cinfo->err->format_message(cinfo, buf);
    snprintf(st->message, sizeof(st->message), "%s JPEG: %s",
             st->saw_eof ? "truncated" : "corrupt", buf);
    longjmp(st->jump, 1);
}

/* emit_message: count warnings silently; data missing where the decoder needed it is fatal
 * (see the file comment). Trace messages (level >= 0) are ignored. */
static void on_message(j_common_ptr cinfo, int msg_level)
{
    jpeg_state *st = state_of(cinfo);
    if (msg_level >= 0) {
        return;
    }
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        st->saw_eof = true;
    }
    if ((cinfo->err->msg_code == JWRN_JPEG_EOF && st->header_done &&
         jpeg_has_multiple_scans(&st->cinfo)) ||
        (cinfo->err->msg_code == JWRN_HIT_MARKER && st->saw_eof)) {
        snprintf(st->message, sizeof(st->message),
                 "truncated JPEG: the data ends before the picture is complete");
        longjmp(st->jump, 1);
    }
}

/* output_message: libjpeg must never write to stderr from a library. */
static void on_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    jpeg_state *st = state_of(cinfo);
    if (st->cinfo.input_scan_number > JPEG_MAX_SCANS) {
        snprintf(st->message, sizeof(st->message),
                 "corrupt JPEG: more than %d scans (a progressive-scan bomb?)", JPEG_MAX_SCANS);
        longjmp(st->jump, 1);
    }
}

/* EXIF orientation from the first APP1 "Exif" marker saved by jpeg_save_markers. */
static int jpeg_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            return image_exif_orientation(m->data, m->data_length);
        }
    }
    return 1;
}

/* CMYK (4 bytes per pixel) to RGB. Adobe applications write CMYK JPEGs inverted (0 = full
 * ink) and mark them with an APP14 "Adobe" segment; libjpeg's own CMYK writer does the same.
 * Then R = C·K/255. Without the marker the values are plain ink: R = (255−C)(255−K)/255. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int n, bool inverted)
{
    for (int i = 0; i < n; i++, cmyk += 4, rgb += 3) {
        unsigned c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        rgb[0] = (uint8_t)((c * k + 127) / 255);
        rgb[1] = (uint8_t)((m * k + 127) / 255);
        rgb[2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* The guarded section: every libjpeg call happens here. Returns MIEN_OK, or a failure with
 * st->message set (codec errors) or err set (limits, memory). Allocations are recorded in
 * st, which the caller frees on failure. */
static mien_status run(jpeg_state *st, const uint8_t *bytes, size_t size,
                       const image_limits *lim, mien_error *err)
{
    j_decompress_ptr cinfo = &st->cinfo;
    mien_status s;

    if (setjmp(st->jump) != 0) {
        return base_error_set(err, MIEN_ERR_IMAGE, "%s", st->message);
    }
    jpeg_create_decompress(cinfo);
    st->created = true;
    cinfo->mem->max_memory_to_use = (long)lim->max_memory;
    cinfo->progress = &st->progress;
    jpeg_mem_src(cinfo, bytes, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    st->header_done = true;

    s = image_check_size("JPEG", cinfo->image_width, cinfo->image_height, lim, err);
    if (s != MIEN_OK) {
        return s;
    }
    st->dec.full_w = (int)cinfo->image_width;
    st->dec.full_h = (int)cinfo->image_height;
    st->dec.orientation = jpeg_orientation(cinfo);

    switch (cinfo->jpeg_color_space) {
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        break;
    default: /* grey, YCbCr, RGB: libjpeg converts; anything else fails in start */
        cinfo->out_color_space = JCS_RGB;
        break;
    }

    /* Scaled decode: the largest 1/d keeping both sides >= min_side. */
    st->dec.scale = 1;
    if (lim->min_side > 0) {
        static const int denoms[3] = {8, 4, 2};
        for (int i = 0; i < 3; i++) {
            cinfo->scale_num = 1;
            cinfo->scale_denom = (unsigned)denoms[i];
            jpeg_calc_output_dimensions(cinfo);
            if (cinfo->output_width >= (JDIMENSION)lim->min_side &&
                cinfo->output_height >= (JDIMENSION)lim->min_side) {
                st->dec.scale = denoms[i];
                break;
            }
        }
        cinfo->scale_num = 1;
        cinfo->scale_denom = (unsigned)st->dec.scale;
    }

    jpeg_start_decompress(cinfo);
    s = image_alloc(&st->dec.rgb, (int)cinfo->output_width, (int)cinfo->output_height, err);
    if (s != MIEN_OK) {
        return s;
    }
    if (cinfo->out_color_space == JCS_CMYK) {
        st->cmyk_row = malloc((size_t)cinfo->output_width * 4);
        if (st->cmyk_row == NULL) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for a JPEG row");
        }
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = st->dec.rgb.data + (size_t)cinfo->output_scanline * st->dec.rgb.w * 3;
        JSAMPROW row = st->cmyk_row != NULL ? st->cmyk_row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            return base_error_set(err, MIEN_ERR_IMAGE, "corrupt JPEG: no data for row %u",
                                  cinfo->output_scanline);
        }
        if (st->cmyk_row != NULL) {
            cmyk_to_rgb(st->cmyk_row, dst, st->dec.rgb.w, cinfo->saw_Adobe_marker != 0);
        }
    }
    jpeg_finish_decompress(cinfo);
    return MIEN_OK;
}

mien_status image_decode_jpeg(const uint8_t *bytes, size_t size, const image_limits *lim,
                              image_decoded *out, mien_error *err)
{
    jpeg_state *st;
    mien_status s;

    memset(out, 0, sizeof(*out));
    /* On the heap: jmp_buf and cinfo are large, and the state must outlive a longjmp. */
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for a JPEG decoder");
    }
    st->cinfo.err = jpeg_std_error(&st->jerr);
    st->jerr.error_exit = on_error;
    st->jerr.emit_message = on_message;
    st->jerr.output_message = on_output;
    st->progress.progress_monitor = on_progress;

    s = run(st, bytes, size, lim, err);
    if (st->created) {
        jpeg_destroy_decompress(&st->cinfo);
    }
    free(st->cmyk_row);
    if (s != MIEN_OK) {
        image_release(&st->dec.rgb);
    } else {
        *out = st->dec;
    }
    free(st);
    return s;
}
