/* aggregate.h — how a subject's several faces combine into one score (mien.h mien_aggregate):
 * pure functions over index vectors (index.h), used by the index's search and by verify.
 * @test gallery/test_aggregate.c */
#ifndef MIEN_GALLERY_AGGREGATE_H
#define MIEN_GALLERY_AGGREGATE_H

#include <stddef.h>

#include "mien.h"

/* The parts of an index vector, each an embedding scaled so that the dot product of two
 * index vectors is the profile's similarity: `fast` is one part (A, scale 1); `accurate` is
 * √w·A followed by √(1 − w)·B. The mean rules renormalise each part on its own, so that the
 * mean of `accurate` templates is the fused score of the two embedders' mean templates. */
#define GALLERY_PARTS_MAX 2
typedef struct gallery_parts {
    int n;                         /* parts, 1 or 2 */
    int len[GALLERY_PARTS_MAX];    /* floats per part, in order */
    float scale[GALLERY_PARTS_MAX];
} gallery_parts;

/* The parts of template t's index vector (gallery_index_vector's layout). */
mien_status gallery_parts_of(const mien_template *t, gallery_parts *out);

/* DEFAULT → the measured default (face/calibration.h CALIBRATION_AGGREGATE_DEFAULT, with its
 * tables); other values unchanged. */
mien_aggregate gallery_aggregate_rule(mien_aggregate rule);

/* The aggregate score of probe `q` against one subject's n >= 1 faces: faces[i] their index
 * vectors (parts p), sims[i] their similarities to q (q · faces[i]), weights[i] their
 * weights (used by QUALITY only; may be NULL otherwise). Every rule gives one face its own
 * similarity. */
float gallery_aggregate_score(mien_aggregate rule, const gallery_parts *p, const float *q,
                              const float *const *faces, const float *sims,
                              const float *weights, size_t n);

#endif
