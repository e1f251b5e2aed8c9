/* test_detect_small.c — the small-faces detector (src/face/detect_small.c): MTCNN's input
 * orientation, small faces in a large synthetic picture built from the face-api sample photos
 * (found with --small-faces, missed without), and a large picture without faces. */
#include <limits.h>

#include "face/catalog.h"
#include "face/face.h"
#include "face/session.h"
#include "image/image.h"
#include "test.h"

#define CANVAS_W 2000
#define CANVAS_H 1500
#define GREY 128
#define SMALL_SIDE 28.0 /* target face width in the canvas, pixels */

/* Where a face should be in the canvas (its box centre and width, canvas pixels). */
typedef struct expected {
    float cx, cy, w;
} expected;

/* Builds a grey CANVAS_W×CANVAS_H picture holding sample1.jpg shrunk so that its faces
 * (found by the normal detector in the full photo) are about SMALL_SIDE px wide, at offset
 * (ox, oy). Writes the expected faces to want[*n_want] (at most 8). NULL on failure. */
static mien_image *small_faces_canvas(mien_session *s, int ox, int oy, expected *want,
                                      int *n_want)
{
    mien_image *sample = test_load_sample(1), *canvas = NULL;
    mien_face *faces = NULL;
    size_t n = 0;
    image_rgb small = {0};
    uint8_t *pixels = NULL;
    mien_error err;
    double mean_w = 0, f;
    *n_want = 0;
    if (sample == NULL || mien_detect(s, sample, NULL, &faces, &n, &err) != MIEN_OK || n == 0) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        mean_w += (faces[i].box[2] - faces[i].box[0]) / (double)n;
    }
    f = SMALL_SIDE / mean_w;
    if (image_alloc(&small, (int)(sample->rgb.w * f), (int)(sample->rgb.h * f), NULL) !=
        MIEN_OK) {
        goto done;
    }
    image_resize_bilinear(&sample->rgb, &small);
    pixels = malloc((size_t)CANVAS_W * CANVAS_H * 3);
    if (pixels == NULL) {
        goto done;
    }
    memset(pixels, GREY, (size_t)CANVAS_W * CANVAS_H * 3);
    for (int y = 0; y < small.h; y++) {
        memcpy(pixels + ((size_t)(y + oy) * CANVAS_W + (size_t)ox) * 3,
               small.data + (size_t)y * small.w * 3, (size_t)small.w * 3);
    }
    for (size_t i = 0; i < n && *n_want < 8; i++) {
        const float *b = faces[i].box;
        want[*n_want].cx = (float)(ox + (b[0] + b[2]) / 2 * small.w / sample->rgb.w);
        want[*n_want].cy = (float)(oy + (b[1] + b[3]) / 2 * small.h / sample->rgb.h);
        want[*n_want].w = (float)((b[2] - b[0]) * f);
        (*n_want)++;
    }
    if (mien_image_from_rgb(pixels, CANVAS_W, CANVAS_H, (size_t)CANVAS_W * 3, &canvas, &err) !=
        MIEN_OK) {
        canvas = NULL;
    }
done:
    free(pixels);
    image_release(&small);
    mien_faces_free(faces);
    mien_image_free(sample);
    return canvas;
}

/* Number of expected faces with a detected box whose centre is within half the face's
 * width and whose width is within 2× of it. */
static int found(const expected *want, int n_want, const mien_face *faces, size_t n)
{
    int hits = 0;
    for (int k = 0; k < n_want; k++) {
        for (size_t i = 0; i < n; i++) {
            const float *b = faces[i].box;
            float w = b[2] - b[0], dx = (b[0] + b[2]) / 2 - want[k].cx;
            float dy = (b[1] + b[3]) / 2 - want[k].cy;
            if (sqrtf(dx * dx + dy * dy) < want[k].w / 2 && w < 2 * want[k].w &&
                2 * w > want[k].w) {
                hits++;
                break;
            }
        }
    }
    return hits;
}

/* MTCNN's Caffe weights expect the image transposed (tensor row = image x), like O-Net:
 * P-Net on 12×12 crops of real faces is more confident that way, and its proposals over a
 * whole photo are more often faces. */
TEST(detect_small_pnet_orientation)
{
    test_fixture f;
    mien_error err;
    double sum[2] = {0, 0};
    int faces_seen = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    for (int k = 1; k <= 6; k++) {
        mien_image *img = test_load_sample(k);
        face_box *b = NULL;
        size_t n = 0;
        ASSERT_TRUE(img != NULL);
        ASSERT_OK(face_detect_ultraface(f.session, &img->rgb, 0.5f, &b, &n, &err), &err);
        for (size_t i = 0; i < n; i++) {
            static const int64_t dims[4] = {1, 12, 12, 3};
            image_rgb crop = {0}, patch = {0};
            float side = fmaxf(b[i].box[2] - b[i].box[0], b[i].box[3] - b[i].box[1]);
            float cx = (b[i].box[0] + b[i].box[2]) / 2, cy = (b[i].box[1] + b[i].box[3]) / 2;
            float x[12 * 12 * 3];
            ASSERT_OK(image_alloc(&crop, (int)side, (int)side, &err), &err);
            ASSERT_OK(image_alloc(&patch, 12, 12, &err), &err);
            image_crop(&img->rgb, (int)(cx - side / 2), (int)(cy - side / 2), &crop);
            image_resize_bilinear(&crop, &patch);
            for (int t = 0; t < 2; t++) {
                const float *o0, *o1;
                nn_shape s0;
                for (int py = 0; py < 12; py++) {
                    for (int px = 0; px < 12; px++) {
                        for (int c = 0; c < 3; c++) {
                            int at = t ? (px * 12 + py) * 3 + c : (py * 12 + px) * 3 + c;
                            x[at] = (patch.data[(py * 12 + px) * 3 + c] - 127.5f) / 128.0f;
                        }
                    }
                }
                ASSERT_OK(face_run_model(f.session, FACE_MODEL_PNET, x, dims, 4, &err), &err);
                o0 = face_model_output(f.session, FACE_MODEL_PNET, 0, &s0);
                o1 = face_model_output(f.session, FACE_MODEL_PNET, 1, NULL);
                ASSERT_TRUE(o0 != NULL && o1 != NULL);
                sum[t] += s0.dims[3] == 2 ? o0[1] : o1[1]; /* prob [1,1,1,2], index 1 = face */
            }
            faces_seen++;
            image_release(&crop);
            image_release(&patch);
        }
        free(b);
        mien_image_free(img);
    }
    ASSERT_TRUE(faces_seen >= 12);
    printf("  P-Net face probability on %d faces: upright %.3f, transposed %.3f\n", faces_seen,
           sum[0] / faces_seen, sum[1] / faces_seen);
    /* measured: upright 0.738, transposed 0.899 on 22 faces */
    ASSERT_TRUE(sum[1] / faces_seen > 0.85);
    ASSERT_TRUE(sum[1] / faces_seen > sum[0] / faces_seen + 0.1);
    test_fixture_close(&f);
    return 0;
}

/* sample1.jpg's faces at about 28 px in a 2000×1500 picture: the normal pass sees them at
 * 4–5 detector pixels and misses them; --small-faces finds them all. */
TEST(detect_small_finds_small_faces)
{
    test_fixture f;
    mien_error err;
    expected want[8];
    int n_want = 0;
    mien_image *canvas;
    mien_detect_options opt = mien_detect_options_default();
    mien_face *faces = NULL;
    size_t n = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    canvas = small_faces_canvas(f.session, 1100, 700, want, &n_want);
    ASSERT_TRUE(canvas != NULL);
    ASSERT_TRUE(n_want >= 3);
    ASSERT_OK(mien_detect(f.session, canvas, &opt, &faces, &n, &err), &err);
    printf("  default: %zu faces, %d of %d small ones\n", n, found(want, n_want, faces, n),
           n_want);
    ASSERT_EQ_INT(found(want, n_want, faces, n), 0);
    mien_faces_free(faces);
    opt.small_faces = true;
    ASSERT_OK(mien_detect(f.session, canvas, &opt, &faces, &n, &err), &err);
    printf("  --small-faces: %zu faces, %d of %d small ones\n", n,
           found(want, n_want, faces, n), n_want);
    ASSERT_EQ_INT(found(want, n_want, faces, n), n_want);
    ASSERT_EQ_INT(n, n_want); /* and nothing in the grey */
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(faces[i].quality.landmark_score >= 0.5f); /* O-Net confirmed */
        ASSERT_TRUE(faces[i].landmarks[0][0] < faces[i].landmarks[1][0]);
        ASSERT_TRUE(faces[i].landmarks[0][1] < faces[i].landmarks[3][1]);
        ASSERT_TRUE(i == 0 || faces[i].score <= faces[i - 1].score); /* best first */
    }
    mien_faces_free(faces);
    {
        /* the measured alternative (docs/detection.md): tiled UltraFace finds them too */
        face_box *b = NULL;
        size_t nb = 0;
        int hits = 0;
        ASSERT_OK(face_detect_tiles(f.session, &canvas->rgb, 0.5f, &b, &nb, &err), &err);
        for (int k = 0; k < n_want; k++) {
            for (size_t i = 0; i < nb; i++) {
                float dx = (b[i].box[0] + b[i].box[2]) / 2 - want[k].cx;
                float dy = (b[i].box[1] + b[i].box[3]) / 2 - want[k].cy;
                if (sqrtf(dx * dx + dy * dy) < want[k].w / 2) {
                    hits++;
                    break;
                }
            }
        }
        free(b);
        ASSERT_EQ_INT(hits, n_want);
    }
    mien_image_free(canvas);
    test_fixture_close(&f);
    return 0;
}

/* A large picture with no face (smooth gradients and stripes, like dogs.jpg's fur and
 * grass it has texture but no face): nothing in small-faces mode. */
TEST(detect_small_no_face)
{
    test_fixture f;
    mien_error err;
    mien_image *img = NULL;
    mien_detect_options opt = mien_detect_options_default();
    mien_face *faces = NULL;
    size_t n = 0;
    uint8_t *pixels;
    uint32_t seed = 1;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    pixels = malloc((size_t)CANVAS_W * CANVAS_H * 3);
    ASSERT_TRUE(pixels != NULL);
    for (int y = 0; y < CANVAS_H; y++) {
        for (int x = 0; x < CANVAS_W; x++) {
            uint8_t *p = pixels + ((size_t)y * CANVAS_W + x) * 3;
            seed = seed * 1103515245u + 12345u;
            p[0] = (uint8_t)(x * 255 / CANVAS_W);
            p[1] = (uint8_t)(((x / 40 + y / 40) % 2) ? 180 : 70);
            p[2] = (uint8_t)(y * 255 / CANVAS_H / 2 + ((seed >> 16) & 63));
        }
    }
    ASSERT_OK(mien_image_from_rgb(pixels, CANVAS_W, CANVAS_H, (size_t)CANVAS_W * 3, &img, &err),
              &err);
    free(pixels);
    opt.small_faces = true;
    ASSERT_OK(mien_detect(f.session, img, &opt, &faces, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    ASSERT_TRUE(faces == NULL);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}
