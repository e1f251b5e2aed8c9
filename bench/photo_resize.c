/* photo_resize.c — bench/serve.sh's helper: decodes an image with mien, resizes it
 * (bilinear) to W×H and writes it as a JPEG (libjpeg-turbo, quality 90). So the benchmark
 * photo is made at bench time from the face-api sample, never committed.
 * Usage: mien_bench_photo IN OUT.jpg W H */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* after stdio.h: it needs size_t and FILE */

#include "mien.h"

int main(int argc, char **argv)
{
    mien_image *img = NULL;
    mien_error err;
    if (argc != 5) {
        fprintf(stderr, "usage: mien_bench_photo IN OUT.jpg W H\n");
        return 2;
    }
    int w = atoi(argv[3]), h = atoi(argv[4]);
    if (w < 16 || h < 16 || w > 8192 || h > 8192 ||
        mien_image_load(argv[1], NULL, &img, &err) != MIEN_OK) {
        fprintf(stderr, "mien_bench_photo: cannot read %s or bad size\n", argv[1]);
        return 1;
    }
    int sw = mien_image_width(img), sh = mien_image_height(img);
    const uint8_t *src = mien_image_pixels(img);
    uint8_t *dst = malloc((size_t)w * h * 3);
    if (dst == NULL) {
        return 1;
    }
    for (int y = 0; y < h; y++) {
        double fy = (y + 0.5) * sh / h - 0.5;
        int y0 = fy < 0 ? 0 : (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ay = fy - y0 < 0 ? 0 : fy - y0;
        for (int x = 0; x < w; x++) {
            double fx = (x + 0.5) * sw / w - 0.5;
            int x0 = fx < 0 ? 0 : (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double ax = fx - x0 < 0 ? 0 : fx - x0;
            for (int c = 0; c < 3; c++) {
                double v = (1 - ay) * ((1 - ax) * src[((size_t)y0 * sw + x0) * 3 + c] +
                                       ax * src[((size_t)y0 * sw + x1) * 3 + c]) +
                           ay * ((1 - ax) * src[((size_t)y1 * sw + x0) * 3 + c] +
                                 ax * src[((size_t)y1 * sw + x1) * 3 + c]);
                dst[((size_t)y * w + x) * 3 + c] = (uint8_t)(v + 0.5);
            }
        }
    }
    FILE *f = fopen(argv[2], "wb");
    if (f == NULL) {
        fprintf(stderr, "mien_bench_photo: cannot write %s\n", argv[2]);
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = dst + (size_t)cinfo.next_scanline * w * 3;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
    free(dst);
    mien_image_free(img);
    return 0;
}
