/* face.h — the face pipeline's internal steps: detection (UltraFace + NMS), five landmarks
 * (MTCNN O-Net), alignment (similarity to the ArcFace template), quality, and templates.
 *
 * Internally every coordinate is in pixels of the decoded image (image_rgb); the public
 * functions (pipeline.c) convert to and from pixels of the original picture, which differ
 * only after a scaled JPEG decode (mien_image.scale). */
#ifndef MIEN_FACE_FACE_H
#define MIEN_FACE_FACE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "mien.h"

/* A detection before landmarks: corners x1, y1, x2, y2 (decoded pixels, not clipped). */
typedef struct face_box {
    float box[4];
    float score;
} face_box;

/* ---- detect.c ---- */

/* UltraFace RFB-320 (DESIGN.md §4) on `img`: boxes with score >= min_score after greedy NMS
 * (IoU 0.4), best first. *out is malloc'd (caller frees), *n its length (0: *out NULL).
 * A close-up (a face filling the frame, as ID photos and tight crops are) is found by a
 * second pass on the image padded with grey (detect.c says when and why). @test
 * face/test_pipeline.c */
mien_status face_detect_ultraface(mien_session *s, const image_rgb *img, float min_score,
                                  face_box **out, size_t *n, mien_error *err);

/* Greedy non-maximum suppression, in place: sorts by score (descending, stable) and drops
 * every box whose IoU with a kept one exceeds iou_max; returns the number kept. */
size_t face_nms(face_box *boxes, size_t n, float iou_max);
float face_iou(const float a[4], const float b[4]);

/* ---- landmarks.c ---- */

/* MTCNN O-Net on the square around `box` (side max(w, h), corners rounded, crop side+1
 * pixels, black outside, bilinear to 48×48, the patch transposed: the Caffe weights were
 * trained on column-major images). Writes the 5 points (decoded pixels) and O-Net's face
 * probability. */
mien_status face_landmarks_onet(mien_session *s, const image_rgb *img, const float box[4],
                                float points[5][2], float *score, mien_error *err);

/* ---- align.c ---- */

#define FACE_CHIP_SIZE 112

/* Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping
 * src[i] to dst[i] (Umeyama 1991, 2-D), as M = [a, -b, tx, b, a, ty]. */
void face_similarity(const double src[][2], const double dst[][2], int n, double M[6]);

/* The 112×112 RGB chip of a face: similarity from its 5 points to the ArcFace template
 * (insightface face_align.arcface_dst), bilinear warp, black border. chip is allocated by
 * the caller (112×112). */
void face_align_chip(const image_rgb *img, const float points[5][2], image_rgb *chip);
/* Bytes of one aligned chip, mien_face_chip_side()² × 3 (RGB): what a stored crop holds. */
size_t face_chip_bytes(void);

/* ---- quality.c ---- */

/* Fills q from the landmarks (decoded pixels; `scale` converts to original pixels), the
 * aligned chip and the two scores, and classifies it (rules in quality.c). */
void face_quality(const float points[5][2], float scale, const image_rgb *chip,
                  float detector_score, float landmark_score, mien_quality *q);

/* ---- detect_small.c (small faces: mien_detect_options.small_faces) ---- */

/* Faces down to about 20 px in large pictures, to add to face_detect_ultraface's boxes
 * (detect_small.c says how and docs/detection.md why: the MTCNN cascade). Runs it on img
 * and merges its boxes into *boxes (malloc'd, *n entries, as face_detect_ultraface returns
 * them; may be reallocated): a new box is added only where it duplicates no existing one
 * (IoU > 0.4, or half of the smaller inside the larger); the list ends sorted best first.
 * On failure *boxes and *n stay valid (the caller frees *boxes). @test
 * face/test_detect_small.c */
mien_status face_detect_small(mien_session *s, const image_rgb *img, face_box **boxes, size_t *n,
                              mien_error *err);

/* The two small-face detectors measured, each with face_detect_ultraface's contract (*out
 * malloc'd, best first, NULL when none); both bound their input to about 3 Mpx.
 * mtcnn (used): P-Net over a 0.709 pyramid (min face 20 px) + R-Net, squared boxes, score
 * = R-Net probability. tiles (the alternative, kept for re-measuring; not used by
 * mien_detect): UltraFace over overlapping 320×240 tiles of a pyramid from native (2× for
 * small pictures) resolution, boxes with score >= min_score. */
mien_status face_detect_tiles(mien_session *s, const image_rgb *img, float min_score,
                              face_box **out, size_t *n, mien_error *err);
mien_status face_detect_mtcnn(mien_session *s, const image_rgb *img, face_box **out, size_t *n,
                              mien_error *err);
/* P-Net alone (MTCNN's first stage): squared candidates after NMS. `transposed` feeds the
 * pyramid levels transposed (the Caffe convention, the right one; false only for the test
 * that checks it). */
mien_status face_detect_pnet(mien_session *s, const image_rgb *img, bool transposed,
                             face_box **out, size_t *n, mien_error *err);

#endif
