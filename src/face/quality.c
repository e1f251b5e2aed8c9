/* quality.c — how usable a face is: size, sharpness, pose, the two networks' confidence,
 * and a class (low / medium / high) that enrolment and search policies act on.
 *
 * Pose is estimated from the five landmarks alone (no 3-D model), so it is approximate:
 *   roll  = angle of the eye line;
 *   yaw   = asin of the nose's offset from the eyes' midpoint along the eye line, in units
 *           of half the inter-ocular distance (0 for a frontal face, ±90° when the nose
 *           reaches an eye);
 *   pitch = asin of twice the nose's departure from its frontal position between the eye
 *           line and the mouth line (at 0.495 of the way in the ArcFace template).
 * Sharpness is the variance of the Laplacian (Pech-Pacheco et al. 2000) of the aligned
 * 112×112 grey chip, so it is comparable across image sizes.
 *
 * Classes (thresholds set on LFW's distribution, docs/quality.md):
 *   low    inter-ocular < 20 px, or |yaw| > 45°, or |pitch| > 35°, or O-Net < 0.5,
 *          or sharpness < 15;
 *   high   inter-ocular >= 40 px, |yaw| <= 20°, |pitch| <= 20°, sharpness >= 60,
 *          detector >= 0.9 and O-Net >= 0.9;
 *   medium otherwise. */
#include <math.h>
#include <stdint.h>

#include "face/face.h"

#define RAD2DEG 57.29577951308232
#define FRONTAL_NOSE_T 0.495 /* (71.74 - 51.60) / (92.28 - 51.60) in the ArcFace template */

static double clamp1(double v)
{
    return v < -1.0 ? -1.0 : (v > 1.0 ? 1.0 : v);
}

/* Variance of the 4-neighbour Laplacian of the chip's luma, luma in integers with BT.601
 * weights (77, 150, 29)/256, so the whole measure is exact integer arithmetic. */
static float laplacian_variance(const image_rgb *chip)
{
    enum { MAX_SIDE = 128 };
    int16_t luma[MAX_SIDE * MAX_SIDE];
    int w = chip->w, h = chip->h;
    int64_t sum = 0, sum2 = 0, n = 0;
    if (w > MAX_SIDE || h > MAX_SIDE || w < 3 || h < 3) {
        return 0.0f;
    }
    for (int i = 0; i < w * h; i++) {
        const uint8_t *p = chip->data + i * 3;
        luma[i] = (int16_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
    }
    for (int y = 1; y + 1 < h; y++) {
        const int16_t *row = luma + y * w;
        for (int x = 1; x + 1 < w; x++) {
            int64_t l = row[x - 1] + row[x + 1] + row[x - w] + row[x + w] - 4 * row[x];
            sum += l;
            sum2 += l * l;
        }
        n += w - 2;
    }
    double mean = (double)sum / (double)n;
    return (float)((double)sum2 / (double)n - mean * mean);
}

void face_quality(const float p[5][2], float scale, const image_rgb *chip, float detector_score,
                  float landmark_score, mien_quality *q)
{
    double ex = (double)p[1][0] - p[0][0], ey = (double)p[1][1] - p[0][1];
    double iod = sqrt(ex * ex + ey * ey);
    double mx = ((double)p[0][0] + p[1][0]) / 2, my = ((double)p[0][1] + p[1][1]) / 2;
    double ux = iod > 0 ? ex / iod : 1.0, uy = iod > 0 ? ey / iod : 0.0; /* along the eyes */
    double nx = -uy, ny = ux;                                             /* downwards */
    double nose_u = ((double)p[2][0] - mx) * ux + ((double)p[2][1] - my) * uy;
    double nose_n = ((double)p[2][0] - mx) * nx + ((double)p[2][1] - my) * ny;
    double mouth_n = (((double)p[3][0] + p[4][0]) / 2 - mx) * nx +
                     (((double)p[3][1] + p[4][1]) / 2 - my) * ny;
    double t = mouth_n > 0 ? nose_n / mouth_n : FRONTAL_NOSE_T;

    q->interocular_px = (float)(iod * scale);
    q->roll = (float)(atan2(ey, ex) * RAD2DEG);
    q->yaw = iod > 0 ? (float)(asin(clamp1(nose_u / (iod / 2))) * RAD2DEG) : 0.0f;
    q->pitch = (float)(asin(clamp1(2.0 * (t - FRONTAL_NOSE_T))) * RAD2DEG);
    q->sharpness = chip != NULL ? laplacian_variance(chip) : 0.0f;
    q->detector_score = detector_score;
    q->landmark_score = landmark_score;

    if (q->interocular_px < 20.0f || fabsf(q->yaw) > 45.0f || fabsf(q->pitch) > 35.0f ||
        landmark_score < 0.5f || q->sharpness < 15.0f) {
        q->klass = MIEN_QUALITY_LOW;
    } else if (q->interocular_px >= 40.0f && fabsf(q->yaw) <= 20.0f &&
               fabsf(q->pitch) <= 20.0f && q->sharpness >= 60.0f && detector_score >= 0.9f &&
               landmark_score >= 0.9f) {
        q->klass = MIEN_QUALITY_HIGH;
    } else {
        q->klass = MIEN_QUALITY_MEDIUM;
    }
}
