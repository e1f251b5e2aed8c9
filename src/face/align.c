/* align.c — the 112×112 face chip both embedders take: a least-squares similarity transform
 * from the five landmarks to the ArcFace template, then a bilinear warp.
 *
 * Template: insightface python-package/insightface/utils/face_align.py `arcface_dst` (the
 * SphereFace 96×112 template plus 8 px in x), in the longer float spellings the reference's
 * LFW figures were measured with (they differ from the 4-decimal ones by < 2e-6 px). */
#include "face/face.h"

static const double ARCFACE_112[5][2] = {
    {38.29459953, 51.69630051}, /* left eye (image left) */
    {73.53179932, 51.50139999}, /* right eye */
    {56.02519989, 71.73660278}, /* nose tip */
    {41.54930115, 92.3655014},  /* left mouth corner */
    {70.72990036, 92.20410156}, /* right mouth corner */
};

/* Umeyama (1991) in 2-D, as skimage SimilarityTransform.estimate: with centred points s, d
 * taken as complex numbers, scale·e^{iθ} = Σ conj(s)·d / Σ |s|². */
void face_similarity(const double src[][2], const double dst[][2], int n, double M[6])
{
    double mx = 0, my = 0, ux = 0, uy = 0, re = 0, im = 0, v = 0, a, b;
    for (int i = 0; i < n; i++) {
        mx += src[i][0] / n;
        my += src[i][1] / n;
        ux += dst[i][0] / n;
        uy += dst[i][1] / n;
    }
    for (int i = 0; i < n; i++) {
        double sx = src[i][0] - mx, sy = src[i][1] - my;
        double dx = dst[i][0] - ux, dy = dst[i][1] - uy;
        re += sx * dx + sy * dy;
        im += sx * dy - sy * dx;
        v += sx * sx + sy * sy;
    }
    a = v > 0 ? re / v : 1.0;
    b = v > 0 ? im / v : 0.0;
    M[0] = a;
    M[1] = -b;
    M[2] = ux - (a * mx - b * my);
    M[3] = b;
    M[4] = a;
    M[5] = uy - (b * mx + a * my);
}

void face_align_chip(const image_rgb *img, const float points[5][2], image_rgb *chip)
{
    double src[5][2], M[6];
    for (int i = 0; i < 5; i++) {
        src[i][0] = points[i][0];
        src[i][1] = points[i][1];
    }
    face_similarity((const double(*)[2])src, ARCFACE_112, 5, M);
    image_warp_affine(img, M, chip);
}
