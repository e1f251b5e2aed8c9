/* calibration.h — what a similarity means: for each profile, the impostor score distribution
 * summarised as thresholds at fixed false-match rates, measured on all cross-identity pairs
 * of the images of LFW's peopleDevTrain.txt (never on the test pairs; docs/calibration.md
 * tells how, and `mien eval calibrate` regenerates calibration_table.c). */
#ifndef MIEN_FACE_CALIBRATION_H
#define MIEN_FACE_CALIBRATION_H

#include <stddef.h>

#include "mien.h"

/* Weight of embedder A's cosine in the `accurate` profile's fused similarity
 * (w·cos_A + (1 − w)·cos_B); chosen on LFW's pairsDevTrain.txt (docs/calibration.md). */
#define CALIBRATION_FUSION_WEIGHT_A 0.5f

typedef struct calibration_point {
    double fmr;      /* fraction of impostor pairs scoring >= threshold */
    float threshold; /* similarity */
} calibration_point;

typedef struct calibration_table {
    const calibration_point *points; /* fmr strictly increasing, threshold non-increasing */
    size_t n;
    long impostor_pairs; /* how many pairs the table was measured on */
} calibration_table;

/* The table of `profile` (generated: calibration_table.c), or NULL when not calibrated. */
const calibration_table *calibration_for(mien_profile profile);

/* The rule mien.h's MIEN_AGGREGATE_DEFAULT stands for (measured on LFW 1:N with 2 and 3
 * enrolment photos in both profiles: docs/search.md). */
#define CALIBRATION_AGGREGATE_DEFAULT MIEN_AGGREGATE_DEFAULT_RULE

/* The impostor distribution of a subject's aggregate score under `rule` over `faces` faces
 * (2 .. MIEN_CALIBRATED_FACES; generated with the single-face tables). */
typedef struct calibration_aggregate {
    mien_profile profile;
    mien_aggregate rule;
    int faces;
    calibration_table table;
} calibration_aggregate;

/* The table for `rule` (DEFAULT resolved) over n_faces faces: the single-face table for one
 * face, the measured one for 2 .. MIEN_CALIBRATED_FACES, the MIEN_CALIBRATED_FACES one above.
 * NULL when not calibrated. */
const calibration_table *calibration_for_aggregate(mien_profile profile, mien_aggregate rule,
                                                   size_t n_faces);

#endif
