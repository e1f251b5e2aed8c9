/* calibration.c — similarity ↔ false-match rate, by interpolating the generated tables
 * (calibration_table.c) linearly in log10(FMR) between measured points. Outside the
 * measured range the answer is clamped to the table's ends: no FMR below 1/pairs measured
 * is claimed. */
#include <math.h>
#include <stdbool.h>

#include "face/calibration.h"

extern const calibration_table calibration_table_fast, calibration_table_accurate;
extern const calibration_aggregate calibration_aggregates[];
extern const size_t calibration_aggregates_n;

const calibration_table *calibration_for(mien_profile profile)
{
    const calibration_table *t = profile == MIEN_PROFILE_FAST      ? &calibration_table_fast
                                 : profile == MIEN_PROFILE_ACCURATE ? &calibration_table_accurate
                                                                    : NULL;
    return t != NULL && t->n >= 2 ? t : NULL;
}

const calibration_table *calibration_for_aggregate(mien_profile profile, mien_aggregate rule,
                                                   size_t n_faces)
{
    rule = rule == MIEN_AGGREGATE_DEFAULT ? CALIBRATION_AGGREGATE_DEFAULT : rule;
    n_faces = n_faces > MIEN_CALIBRATED_FACES ? MIEN_CALIBRATED_FACES : n_faces;
    if (n_faces <= 1) {
        return calibration_for(profile); /* every rule gives one face its own similarity */
    }
    for (size_t i = 0; i < calibration_aggregates_n; i++) {
        const calibration_aggregate *a = &calibration_aggregates[i];
        if (a->profile == profile && a->rule == rule && (size_t)a->faces == n_faces) {
            return a->table.n >= 2 ? &a->table : NULL;
        }
    }
    return NULL;
}

/* The common checks of both look-ups: MIEN_ERR_ARG without an output (`has_out` false),
 * MIEN_ERR_NOT_FOUND without a table `t`, MIEN_ERR_ARG for a query out of range (`valid`
 * false). */
static mien_status lookup_checks(const calibration_table *t, bool has_out, bool valid)
{
    if (!has_out) {
        return MIEN_ERR_ARG;
    }
    if (t == NULL) {
        return MIEN_ERR_NOT_FOUND;
    }
    return valid ? MIEN_OK : MIEN_ERR_ARG;
}

/* Follows t's curve from `q`, a similarity (`by_fmr` false: the answer is its FMR) or an FMR
 * (`by_fmr`: the answer is its threshold). The points run from the highest threshold and
 * lowest FMR down; between two the curve is linear in log10(FMR), and outside them it is
 * clamped to the end reached. */
static double lookup(const calibration_table *t, bool by_fmr, double q)
{
    const calibration_point *hi, *lo;
    size_t i = 0;
    while (i < t->n && (by_fmr ? q > t->points[i].fmr : q < t->points[i].threshold)) {
        i++;
    }
    if (i == 0 || i == t->n) {
        hi = &t->points[i == 0 ? 0 : t->n - 1];
        return by_fmr ? hi->threshold : hi->fmr;
    }
    hi = &t->points[i - 1];
    lo = &t->points[i];
    if (by_fmr) {
        double f = (log10(q) - log10(hi->fmr)) / (log10(lo->fmr) - log10(hi->fmr));
        return hi->threshold + f * ((double)lo->threshold - hi->threshold);
    }
    double span = (double)hi->threshold - lo->threshold;
    double f = span > 0 ? (q - lo->threshold) / span : 0.0;
    return pow(10.0, log10(lo->fmr) + f * (log10(hi->fmr) - log10(lo->fmr)));
}

mien_status mien_similarity_fmr(mien_profile profile, float similarity, double *fmr)
{
    const calibration_table *t = calibration_for(profile);
    mien_status st = lookup_checks(t, fmr != NULL, isfinite(similarity));
    if (fmr != NULL) {
        *fmr = st == MIEN_OK ? lookup(t, false, similarity) : 1.0;
    }
    return st;
}

mien_status mien_threshold_for_fmr(mien_profile profile, double fmr, float *threshold)
{
    const calibration_table *t = calibration_for(profile);
    mien_status st = lookup_checks(t, threshold != NULL, fmr > 0.0 && fmr <= 1.0);
    if (threshold != NULL) {
        *threshold = st == MIEN_OK ? (float)lookup(t, true, fmr) : 1.0f;
    }
    return st;
}

mien_status mien_aggregate_fmr(mien_profile profile, mien_aggregate rule, size_t n_faces,
                               float similarity, double *fmr)
{
    const calibration_table *t = calibration_for_aggregate(profile, rule, n_faces);
    mien_status st = lookup_checks(t, fmr != NULL, isfinite(similarity) && n_faces >= 1);
    if (fmr != NULL) {
        *fmr = st == MIEN_OK ? lookup(t, false, similarity) : 1.0;
    }
    return st;
}

mien_status mien_aggregate_threshold(mien_profile profile, mien_aggregate rule, size_t n_faces,
                                     double fmr, float *threshold)
{
    const calibration_table *t = calibration_for_aggregate(profile, rule, n_faces);
    mien_status st = lookup_checks(t, threshold != NULL,
                                   fmr > 0.0 && fmr <= 1.0 && n_faces >= 1);
    if (threshold != NULL) {
        *threshold = st == MIEN_OK ? (float)lookup(t, true, fmr) : 1.0f;
    }
    return st;
}
