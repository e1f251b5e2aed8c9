/* aggregate.c — a subject's aggregate score (aggregate.h). The mean rules compute the
 * subject's mean template at search time from its faces' vectors (a few per subject: a few
 * hundred multiply-adds per face) rather than keeping one per subject in the index, which
 * would add a vector per subject to the index's memory and to every enrolment and erasure.
 * @test gallery/test_aggregate.c */
#include "gallery/aggregate.h"

#include <math.h>

#include "face/calibration.h"

mien_status gallery_parts_of(const mien_template *t, gallery_parts *out)
{
    const float *v = NULL;
    int da = 0, db = 0;
    mien_status st = mien_template_vector(t, 0, &v, &da);
    if (st != MIEN_OK) {
        return st;
    }
    if (mien_template_profile(t) == MIEN_PROFILE_FAST) {
        *out = (gallery_parts){1, {da, 0}, {1.0f, 0.0f}};
        return MIEN_OK;
    }
    st = mien_template_vector(t, 1, &v, &db);
    if (st == MIEN_OK) {
        *out = (gallery_parts){2,
                               {da, db},
                               {sqrtf(CALIBRATION_FUSION_WEIGHT_A),
                                sqrtf(1.0f - CALIBRATION_FUSION_WEIGHT_A)}};
    }
    return st;
}

mien_aggregate gallery_aggregate_rule(mien_aggregate rule)
{
    return rule == MIEN_AGGREGATE_DEFAULT ? CALIBRATION_AGGREGATE_DEFAULT : rule;
}

float mien_aggregate_weight(const mien_quality *q)
{
    const float deg = 3.14159265f / 180.0f;
    if (q == NULL) {
        return 1.0f;
    }
    float w = cosf(q->yaw * deg) * cosf(q->pitch * deg);
    return isfinite(w) && w > 0.05f ? w : 0.05f;
}

/* q · normalise(Σ w_i faces_i), part by part, each part's cosine times its scale (see
 * gallery_parts: part j of an index vector is scale_j times a unit vector, so scale_j times
 * the part's cosine is its share of the similarity). */
static float mean_score(const gallery_parts *p, const float *q, const float *const *faces,
                        const float *weights, size_t n)
{
    float score = 0.0f;
    int off = 0;
    for (int j = 0; j < p->n; off += p->len[j], j++) {
        double dot = 0.0, norm2 = 0.0;
        for (int d = off; d < off + p->len[j]; d++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++) {
                s += (double)(weights != NULL ? weights[i] : 1.0f) * faces[i][d];
            }
            dot += s * q[d];
            norm2 += s * s;
        }
        if (norm2 > 0.0) {
            score += p->scale[j] * (float)(dot / sqrt(norm2));
        }
    }
    return score;
}

float gallery_aggregate_score(mien_aggregate rule, const gallery_parts *p, const float *q,
                              const float *const *faces, const float *sims,
                              const float *weights, size_t n)
{
    float best = -INFINITY, second = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (sims[i] > best) {
            second = best;
            best = sims[i];
        } else if (sims[i] > second) {
            second = sims[i];
        }
    }
    if (n <= 1) {
        return n == 1 ? sims[0] : -INFINITY;
    }
    switch (gallery_aggregate_rule(rule)) {
    case MIEN_AGGREGATE_MEAN:
        return mean_score(p, q, faces, NULL, n);
    case MIEN_AGGREGATE_QUALITY:
        return mean_score(p, q, faces, weights, n);
    case MIEN_AGGREGATE_TOP2:
        return 0.5f * (best + second);
    default:
        return best;
    }
}
