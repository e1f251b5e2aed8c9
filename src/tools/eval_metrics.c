/* eval_metrics.c — verification metrics over scored pairs, reproducing the reference scorer
 * shared/reference/bin/eval-lfw.js line for line so that mien's figures and the reference's
 * are comparable:
 *   - bestThreshold: scores sorted ascending, accept `score > thr`; walking up, the
 *     threshold moves past each group of equal scores and is the midpoint to the next score
 *     (below everything: lowest − 1e-6; above: highest + 1e-6); a strictly better accuracy
 *     is needed to move, so ties keep the lowest threshold;
 *   - crossValidate: each fold scored with the threshold fitted on the other folds (with one
 *     fold, on itself: optimistic), mean and POPULATION standard deviation;
 *   - tarAtFar: threshold = the (floor(FAR · impostors) + 1)-th highest impostor score,
 *     TAR = genuine pairs scoring strictly above it.
 * Also the ROC curve as a hand-written SVG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

typedef struct scored {
    double s;
    bool same;
} scored;

static int cmp_ascending(const void *x, const void *y)
{
    double a = ((const scored *)x)->s, b = ((const scored *)y)->s;
    return a < b ? -1 : (a > b ? 1 : 0);
}

static int cmp_descending_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a > b ? -1 : (a < b ? 1 : 0);
}

double eval_best_threshold(const double *scores, const eval_pairs *p, const size_t *idx,
                           size_t n, double *accuracy)
{
    scored *a = malloc((n > 0 ? n : 1) * sizeof(*a));
    long correct = 0, best;
    double thr;
    if (accuracy != NULL) {
        *accuracy = 0;
    }
    if (a == NULL || n == 0) {
        free(a);
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        a[k].s = scores[idx[k]];
        a[k].same = p->pairs[idx[k]].same;
        correct += a[k].same;
    }
    /* The order inside a group of equal scores does not matter: the walk only compares
     * after the last of a group. */
    qsort(a, n, sizeof(*a), cmp_ascending);
    best = correct;
    thr = a[0].s - 1e-6;
    for (size_t i = 0; i < n; i++) {
        correct += a[i].same ? -1 : 1;
        if (i + 1 < n && a[i + 1].s == a[i].s) {
            continue;
        }
        if (correct > best) {
            best = correct;
            thr = i + 1 < n ? (a[i].s + a[i + 1].s) / 2 : a[i].s + 1e-6;
        }
    }
    if (accuracy != NULL) {
        *accuracy = (double)best / (double)n;
    }
    free(a);
    return thr;
}

double eval_tar_at_far(const double *scores, const eval_pairs *p, double far, size_t *accepted,
                       double *threshold)
{
    size_t ni = 0, ng = 0, k, tar = 0, acc = 0;
    double *imp = malloc((p->n_pairs > 0 ? p->n_pairs : 1) * sizeof(*imp)), t;
    *accepted = 0;
    if (threshold != NULL) {
        *threshold = 0;
    }
    if (imp == NULL) {
        return 0;
    }
    for (size_t i = 0; i < p->n_pairs; i++) {
        if (!p->pairs[i].same) {
            imp[ni++] = scores[i];
        }
    }
    if (ni == 0) {
        free(imp);
        return 0;
    }
    qsort(imp, ni, sizeof(*imp), cmp_descending_double);
    k = (size_t)floor(far * (double)ni);
    t = imp[k < ni ? k : ni - 1];
    for (size_t i = 0; i < p->n_pairs; i++) {
        if (p->pairs[i].same) {
            ng++;
            tar += scores[i] > t;
        } else {
            acc += scores[i] > t;
        }
    }
    free(imp);
    *accepted = acc;
    if (threshold != NULL) {
        *threshold = t;
    }
    return ng > 0 ? (double)tar / (double)ng : 0;
}

mien_status eval_metrics_compute(const double *scores, const eval_pairs *p, eval_metrics *m)
{
    size_t *train = NULL, *test = NULL;
    int folds[EVAL_MAX_FOLDS], nf = 0;
    bool present[EVAL_MAX_FOLDS] = {false};
    double sum = 0, sq = 0, thr_sum = 0;
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < p->n_pairs; i++) {
        present[p->pairs[i].fold] = true;
        if (p->pairs[i].same) {
            m->genuine++;
        } else {
            m->impostors++;
        }
    }
    if (m->genuine == 0 || m->impostors == 0) {
        return MIEN_ERR_ARG;
    }
    for (int f = 0; f < EVAL_MAX_FOLDS; f++) {
        if (present[f]) {
            folds[nf++] = f;
        }
    }
    train = malloc(p->n_pairs * sizeof(*train));
    test = malloc(p->n_pairs * sizeof(*test));
    if (train == NULL || test == NULL) {
        free(train);
        free(test);
        return MIEN_ERR_NOMEM;
    }
    m->n_folds = nf;
    for (int k = 0; k < nf; k++) {
        size_t ntr = 0, nte = 0, right = 0;
        double t;
        for (size_t i = 0; i < p->n_pairs; i++) {
            if (p->pairs[i].fold == folds[k]) {
                test[nte++] = i;
            }
            if (nf == 1 || p->pairs[i].fold != folds[k]) {
                train[ntr++] = i;
            }
        }
        t = eval_best_threshold(scores, p, train, ntr, NULL);
        for (size_t j = 0; j < nte; j++) {
            right += (scores[test[j]] > t) == p->pairs[test[j]].same;
        }
        m->fold_accuracy[k] = (double)right / (double)nte;
        sum += m->fold_accuracy[k];
        thr_sum += t;
    }
    m->accuracy = sum / nf;
    for (int k = 0; k < nf; k++) {
        sq += (m->fold_accuracy[k] - m->accuracy) * (m->fold_accuracy[k] - m->accuracy);
    }
    m->std = sqrt(sq / nf);
    m->threshold = thr_sum / nf;
    m->tar_1e3 = eval_tar_at_far(scores, p, 1e-3, &m->accepted_1e3, NULL);
    m->tar_1e2 = eval_tar_at_far(scores, p, 1e-2, &m->accepted_1e2, NULL);
    free(train);
    free(test);
    return MIEN_OK;
}

/* ---- ROC as SVG -------------------------------------------------------------------------- */

/* Plot geometry in SVG user units (pixels). */
#define SVG_W 800
#define SVG_H 480
#define SVG_LEFT 72
#define SVG_RIGHT 24
#define SVG_TOP 48
#define SVG_BOTTOM 64
#define ROC_LOG_FAR_MIN (-4.0) /* the x axis starts at FAR = 1e-4 */

static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') {
            fputs("&amp;", f);
        } else if (*s == '<') {
            fputs("&lt;", f);
        } else if (*s == '>') {
            fputs("&gt;", f);
        } else {
            fputc(*s, f);
        }
    }
}

bool eval_write_roc_svg(const char *path, const char *title, const double *scores,
                        const eval_pairs *p)
{
    double *gen = malloc((p->n_pairs + 1) * sizeof(*gen));
    double *imp = malloc((p->n_pairs + 1) * sizeof(*imp));
    double pw = SVG_W - SVG_LEFT - SVG_RIGHT, ph = SVG_H - SVG_TOP - SVG_BOTTOM;
    double ymin = 1.0, step;
    size_t ng = 0, ni = 0, gi = 0, ii = 0;
    FILE *f = NULL;
    bool ok = false;
    if (gen == NULL || imp == NULL) {
        goto done;
    }
    for (size_t i = 0; i < p->n_pairs; i++) {
        if (p->pairs[i].same) {
            gen[ng++] = scores[i];
        } else {
            imp[ni++] = scores[i];
        }
    }
    if (ng == 0 || ni == 0) {
        fprintf(stderr, "mien eval: no ROC without genuine and impostor pairs\n");
        goto done;
    }
    qsort(gen, ng, sizeof(*gen), cmp_descending_double);
    qsort(imp, ni, sizeof(*imp), cmp_descending_double);
    /* Lowest TAR inside the plotted FAR range sets the y axis: [0.9, 1] unless worse. */
    for (size_t k = 0; k < ni; k++) {
        if ((double)(k + 1) / (double)ni >= pow(10.0, ROC_LOG_FAR_MIN)) {
            size_t t = 0;
            while (t < ng && gen[t] >= imp[k]) {
                t++;
            }
            ymin = (double)t / (double)ng;
            break;
        }
    }
    ymin = floor(ymin * 10.0) / 10.0;
    if (ymin > 0.9) {
        ymin = 0.9;
    }
    step = ymin >= 0.9 ? 0.01 : 0.1;
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "mien eval: cannot write %s\n", path);
        goto done;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">",
            SVG_W, SVG_H, SVG_W, SVG_H, SVG_W / 2);
    svg_text(f, title);
    fprintf(f, "</text>\n");
    for (int d = 0; d <= 4; d++) { /* decades 1e-4 .. 1 */
        double x = SVG_LEFT + pw * d / 4.0;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">1e%d</text>\n",
                x, SVG_TOP, x, SVG_TOP + ph, x, SVG_TOP + ph + 18, d - 4);
    }
    for (int k = 0; ymin + k * step <= 1.0 + 1e-9; k++) {
        double v = ymin + k * step, y = SVG_TOP + ph * (1.0 - (v - ymin) / (1.0 - ymin));
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                SVG_LEFT, y, SVG_LEFT + pw, y, SVG_LEFT - 6, y + 4, v);
    }
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
            "stroke=\"black\"/>\n"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">false accept rate (FAR, log "
            "scale)</text>\n"
            "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
            "true accept rate (TAR)</text>\n"
            "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"",
            SVG_LEFT, SVG_TOP, pw, ph, SVG_LEFT + pw / 2, SVG_H - 18, SVG_TOP + ph / 2,
            SVG_TOP + ph / 2);
    /* One point per distinct score, highest first: accept score >= s. */
    while (gi < ng || ii < ni) {
        double s = gi < ng && (ii >= ni || gen[gi] >= imp[ii]) ? gen[gi] : imp[ii];
        double far, tar, x, y;
        while (gi < ng && gen[gi] >= s) {
            gi++;
        }
        while (ii < ni && imp[ii] >= s) {
            ii++;
        }
        far = (double)ii / (double)ni;
        tar = (double)gi / (double)ng;
        x = SVG_LEFT + pw * (fmax(log10(fmax(far, 1e-12)), ROC_LOG_FAR_MIN) - ROC_LOG_FAR_MIN) /
                           -ROC_LOG_FAR_MIN;
        y = SVG_TOP + ph * (1.0 - (fmax(tar, ymin) - ymin) / (1.0 - ymin));
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fprintf(f, "\"/>\n</svg>\n");
    ok = fclose(f) == 0;
    if (!ok) {
        fprintf(stderr, "mien eval: cannot write %s\n", path);
    }
done:
    free(gen);
    free(imp);
    return ok;
}
