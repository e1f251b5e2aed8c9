/* calibration.c — similarity ↔ false-match rate, by interpolating the generated tables
 * (calibration_table.c) linearly in log10(FMR) between measured points. Outside the
 * measured range the answer is clamped to the table's ends: no FMR below 1/pairs measured
 * is claimed. */
#include <math.h>

#include "face/calibration.h"

extern const calibration_table calibration_table_fast, calibration_table_accurate;

const calibration_table *calibration_for(mien_profile profile)
{
    const calibration_table *t = profile == MIEN_PROFILE_FAST      ? &calibration_table_fast
                                 : profile == MIEN_PROFILE_ACCURATE ? &calibration_table_accurate
                                                                    : NULL;
    return t != NULL && t->n >= 2 ? t : NULL;
}

mien_status mien_similarity_fmr(mien_profile profile, float similarity, double *fmr)
{
    const calibration_table *t = calibration_for(profile);
    if (fmr == NULL) {
        return MIEN_ERR_ARG;
    }
    *fmr = 1.0;
    if (t == NULL) {
        return MIEN_ERR_NOT_FOUND;
    }
    if (!isfinite(similarity)) {
        return MIEN_ERR_ARG;
    }
    if (similarity >= t->points[0].threshold) {
        *fmr = t->points[0].fmr;
        return MIEN_OK;
    }
    for (size_t i = 1; i < t->n; i++) {
        const calibration_point *hi = &t->points[i - 1], *lo = &t->points[i];
        if (similarity >= lo->threshold) {
            double span = (double)hi->threshold - lo->threshold;
            double f = span > 0 ? ((double)similarity - lo->threshold) / span : 0.0;
            *fmr = pow(10.0, log10(lo->fmr) + f * (log10(hi->fmr) - log10(lo->fmr)));
            return MIEN_OK;
        }
    }
    *fmr = t->points[t->n - 1].fmr;
    return MIEN_OK;
}

mien_status mien_threshold_for_fmr(mien_profile profile, double fmr, float *threshold)
{
    const calibration_table *t = calibration_for(profile);
    if (threshold == NULL) {
        return MIEN_ERR_ARG;
    }
    *threshold = 1.0f;
    if (t == NULL) {
        return MIEN_ERR_NOT_FOUND;
    }
    if (!(fmr > 0.0) || fmr > 1.0) {
        return MIEN_ERR_ARG;
    }
    if (fmr <= t->points[0].fmr) {
        *threshold = t->points[0].threshold;
        return MIEN_OK;
    }
    for (size_t i = 1; i < t->n; i++) {
        const calibration_point *hi = &t->points[i - 1], *lo = &t->points[i];
        if (fmr <= lo->fmr) {
            double f = (log10(fmr) - log10(hi->fmr)) / (log10(lo->fmr) - log10(hi->fmr));
            *threshold = (float)(hi->threshold + f * ((double)lo->threshold - hi->threshold));
            return MIEN_OK;
        }
    }
    *threshold = t->points[t->n - 1].threshold;
    return MIEN_OK;
}
