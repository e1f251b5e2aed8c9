/* detect.c — faces with UltraFace RFB-320 (Linzaer's Ultra-Light-Fast-Generic-Face-Detector,
 * model/fr_detect.onnx of faceplugin-face-recognition-js@0.0.1).
 *
 * Pre-processing follows the reference (shared/reference/lib/detect_ultraface.js): the whole
 * image is resized to 320×240 (cv::resize INTER_LINEAR geometry), RGB, (x − 127)/128, NCHW.
 * The graph decodes its priors itself: `scores` [1,4420,2] (softmax, column 1 = face) and
 * `boxes` [1,4420,4] as corners normalised to 0..1.
 *
 * Close-ups. UltraFace's smallest-to-largest anchors cover faces up to about the frame's
 * height at 320×240; a face that fills the frame (an ID photo, a tight crop a user
 * uploads) is missed or boxed too small (DESIGN.md §4). When the first pass finds nothing,
 * is unsure of its best face, or finds a face spanning most of the frame, a second pass runs
 * on the image centred in a grey border of a third of its size on each side, and the two
 * passes' boxes are merged (NMS, then boxes lying inside a much larger one are dropped).
 * Grey (127) is what the network's normalisation maps to zero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "face/catalog.h"
#include "face/face.h"
#include "face/session.h"

#define DET_W 320         /* input width, fr_detect.onnx [1,3,240,320] */
#define DET_H 240
#define DET_NMS_IOU 0.4f  /* fr_detect.js nms_threshold */
#define PAD_FRACTION 3    /* close-up pass: border of 1/3 of each side */
#define PAD_GREY 127
#define CLOSE_UP_SCORE 0.9f /* best box below this: maybe a partial view of a close-up */
#define CLOSE_UP_SIDE 0.65f /* a box wider than this share of the short side: a close-up */

float face_iou(const float a[4], const float b[4])
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    float inter, uni;
    if (w <= 0.0f || h <= 0.0f) {
        return 0.0f;
    }
    inter = w * h;
    uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0.0f ? inter / uni : 0.0f;
}

/* Insertion sort by descending score: stable (equal scores keep detector order, as the
 * reference's Array.sort does) and fast for the few dozen candidates above threshold. */
static void sort_by_score(face_box *b, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        face_box key = b[i];
        size_t j = i;
        while (j > 0 && b[j - 1].score < key.score) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = key;
    }
}

size_t face_nms(face_box *boxes, size_t n, float iou_max)
{
    size_t kept = 0;
    sort_by_score(boxes, n);
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t k = 0; k < kept && keep; k++) {
            keep = face_iou(boxes[k].box, boxes[i].box) <= iou_max;
        }
        if (keep) {
            boxes[kept++] = boxes[i];
        }
    }
    return kept;
}

/* After the close-up pass: the first pass often boxes parts of a face that fills the frame
 * (an eye region, the lower half), which IoU-based NMS keeps next to the whole face's box
 * because their overlap is small relative to the big box. Drops every box lying mostly
 * (>= 70 % of its area) inside a box at least twice its area. Keeps the order. */
static size_t drop_contained(face_box *b, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        float area = (b[i].box[2] - b[i].box[0]) * (b[i].box[3] - b[i].box[1]);
        bool inside = false;
        for (size_t k = 0; k < n && !inside; k++) {
            float ak = (b[k].box[2] - b[k].box[0]) * (b[k].box[3] - b[k].box[1]);
            float w = fminf(b[i].box[2], b[k].box[2]) - fmaxf(b[i].box[0], b[k].box[0]);
            float h = fminf(b[i].box[3], b[k].box[3]) - fmaxf(b[i].box[1], b[k].box[1]);
            inside = k != i && ak >= 2.0f * area && w > 0 && h > 0 && w * h >= 0.7f * area;
        }
        if (!inside) {
            b[kept++] = b[i];
        }
    }
    return kept;
}

/* One detector pass on `src` seen inside a border of `pad_x`, `pad_y` grey pixels; appends
 * boxes (in src's pixels) with score >= min_score to *list. */
static mien_status detect_pass(mien_session *s, const image_rgb *src, int pad_x, int pad_y,
                               float min_score, face_box **list, size_t *n, size_t *cap,
                               mien_error *err)
{
    static const int64_t dims[4] = {1, 3, DET_H, DET_W};
    image_rgb padded = {0}, small = {0};
    const image_rgb *from = src;
    float *x = NULL;
    const float *scores, *boxes;
    nn_shape shape;
    mien_status st;
    int fw = src->w + 2 * pad_x, fh = src->h + 2 * pad_y;
    if (pad_x > 0 || pad_y > 0) {
        if ((st = image_alloc(&padded, fw, fh, err)) != MIEN_OK) {
            return st;
        }
        memset(padded.data, PAD_GREY, (size_t)fw * (size_t)fh * 3);
        for (int y = 0; y < src->h; y++) {
            memcpy(padded.data + ((size_t)(y + pad_y) * (size_t)fw + (size_t)pad_x) * 3,
                   src->data + (size_t)y * (size_t)src->w * 3, (size_t)src->w * 3);
        }
        from = &padded;
    }
    if ((st = image_alloc(&small, DET_W, DET_H, err)) != MIEN_OK) {
        goto done;
    }
    image_resize_bilinear(from, &small);
    x = malloc((size_t)DET_W * DET_H * 3 * sizeof(*x));
    if (x == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* The model is NCHW; the pixels go in channels-last as they are, which is also what its
     * first convolution wants (face_run_model_nhwc): no transposition anywhere. */
    face_input_tensor(FACE_MODEL_DETECTOR, &small, FACE_LAYOUT_HWC, x);
    if ((st = face_run_model_nhwc(s, FACE_MODEL_DETECTOR, x, dims, err)) != MIEN_OK) {
        goto done;
    }
    scores = face_model_output(s, FACE_MODEL_DETECTOR, 0, &shape);
    boxes = face_model_output(s, FACE_MODEL_DETECTOR, 1, NULL);
    for (int64_t i = 0; scores != NULL && boxes != NULL && i < shape.dims[1]; i++) {
        face_box *b;
        if (scores[2 * i + 1] < min_score) {
            continue;
        }
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 32;
            face_box *grown = realloc(*list, c * sizeof(*grown));
            if (grown == NULL) {
                st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
                goto done;
            }
            *list = grown;
            *cap = c;
        }
        b = &(*list)[(*n)++];
        b->score = scores[2 * i + 1];
        b->box[0] = boxes[4 * i] * (float)fw - (float)pad_x;
        b->box[1] = boxes[4 * i + 1] * (float)fh - (float)pad_y;
        b->box[2] = boxes[4 * i + 2] * (float)fw - (float)pad_x;
        b->box[3] = boxes[4 * i + 3] * (float)fh - (float)pad_y;
    }
done:
    free(x);
    image_release(&small);
    image_release(&padded);
    return st;
}

mien_status face_detect_ultraface(mien_session *s, const image_rgb *img, float min_score,
                                  face_box **out, size_t *n, mien_error *err)
{
    face_box *list = NULL;
    size_t count = 0, cap = 0;
    mien_status st;
    *out = NULL;
    *n = 0;
    st = detect_pass(s, img, 0, 0, min_score, &list, &count, &cap, err);
    if (st == MIEN_OK) {
        count = face_nms(list, count, DET_NMS_IOU);
        /* Close-up signs: nothing found; the best box is unsure (partial views of a face
         * that fills the frame score 0.6–0.75, LFW's centred faces >= 0.99); or a box
         * already spans most of the frame. On LFW (250×250, faces 100–150 px) this fires
         * for about 5 % of the images. */
        bool close_up = count == 0 || list[0].score < CLOSE_UP_SCORE;
        float short_side = (float)(img->w < img->h ? img->w : img->h);
        for (size_t i = 0; i < count && !close_up; i++) {
            float w = list[i].box[2] - list[i].box[0], h = list[i].box[3] - list[i].box[1];
            close_up = fmaxf(w, h) > CLOSE_UP_SIDE * short_side;
        }
        if (close_up) {
            st = detect_pass(s, img, img->w / PAD_FRACTION, img->h / PAD_FRACTION, min_score,
                             &list, &count, &cap, err);
            count = face_nms(list, count, DET_NMS_IOU);
            count = drop_contained(list, count);
        }
    }
    if (st != MIEN_OK) {
        free(list);
        return st;
    }
    if (count == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = count;
    return MIEN_OK;
}
