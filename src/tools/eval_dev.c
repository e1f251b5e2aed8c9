/* eval_dev.c — `mien eval fusion` and `mien eval flip`: design experiments on LFW's
 * development lists (View 1: pairsDevTrain.txt, 1100 + 1100 pairs, and pairsDevTest.txt,
 * 500 + 500 pairs, people disjoint from each other), never on the test pairs of pairs.txt.
 *
 * fusion: the weight w of embedder A in the `accurate` similarity w·cos A + (1 − w)·cos B,
 *   for w = 0.30 .. 0.70 step 0.05: best-threshold accuracy and TAR@FAR=1e-3 on DevTrain,
 *   and DevTest accuracy at DevTrain's threshold. CALIBRATION_FUSION_WEIGHT_A is chosen
 *   from this table (docs/calibration.md).
 * flip: the same scorers with and without horizontal-flip averaging of the templates
 *   (eval_embed.c mirrors the picture and the face, embeds both, averages, renormalises).
 * Both embed DevTrain's and DevTest's images in one pass with the `accurate` profile. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* The development lists and their embeddings. `r` holds DevTrain's images then DevTest's;
 * test_view is a borrowed view of r from DevTest's first image. */
typedef struct dev_data {
    eval_pairs train, test;
    eval_embed_result r, test_view;
    double *st, *se; /* measure()'s scratch: DevTrain's and DevTest's scores */
    size_t *idx;     /* and pair indices */
} dev_data;

static void dev_free(dev_data *d)
{
    free(d->st);
    free(d->se);
    free(d->idx);
    eval_embed_result_free(&d->r);
    eval_pairs_free(&d->train);
    eval_pairs_free(&d->test);
}

/* Reads both lists and embeds their images (with flip when asked). Returns the exit code. */
static int dev_load(const char *cmd, const eval_options *o, bool flip, dev_data *d)
{
    char dir[4096];
    const char **paths = NULL;
    mien_engine *engine = NULL;
    eval_embed_job job;
    int folds, rc = CLI_EXIT_FAIL;
    memset(d, 0, sizeof(*d));
    if (!eval_find_lfw(cmd, o->data_dir, "pairsDevTrain.txt", dir, sizeof(dir)) ||
        !eval_read_lfw_pairs(dir, "pairsDevTrain.txt", 0, &d->train, &folds) ||
        !eval_read_lfw_pairs(dir, "pairsDevTest.txt", 0, &d->test, &folds)) {
        return CLI_EXIT_FAIL;
    }
    paths = malloc((d->train.n_paths + d->test.n_paths) * sizeof(*paths));
    if (paths == NULL) {
        fprintf(stderr, "mien eval %s: out of memory\n", cmd);
        goto done;
    }
    for (size_t i = 0; i < d->train.n_paths; i++) {
        paths[i] = d->train.paths[i];
    }
    for (size_t i = 0; i < d->test.n_paths; i++) {
        paths[d->train.n_paths + i] = d->test.paths[i];
    }
    if (eval_open_engine(o, &engine) != MIEN_OK) {
        goto done;
    }
    fprintf(stderr, "mien eval %s: DevTrain %zu pairs, DevTest %zu pairs, %zu images%s, %d "
                    "threads\n",
            cmd, d->train.n_pairs, d->test.n_pairs, d->train.n_paths + d->test.n_paths,
            flip ? " (and their mirror images)" : "", o->threads);
    job = (eval_embed_job){.paths = paths,
                           .n = d->train.n_paths + d->test.n_paths,
                           .profile = MIEN_PROFILE_ACCURATE,
                           .flip = flip,
                           .threads = o->threads,
                           .label = "embedded"};
    if (eval_embed_run(engine, &job, &d->r) != MIEN_OK) {
        goto done;
    }
    d->test_view = d->r;
    d->test_view.images = d->r.images + d->train.n_paths;
    d->test_view.n = d->test.n_paths;
    printf("LFW View 1: DevTrain %zu pairs, DevTest %zu pairs, %zu images, %zu without a face, "
           "%zu unreadable; %.1f s with %d threads\n",
           d->train.n_pairs, d->test.n_pairs, d->r.n, d->r.no_face, d->r.unreadable,
           d->r.wall_s, d->r.threads);
    rc = CLI_EXIT_OK;
done:
    free(paths);
    mien_engine_free(engine);
    if (rc != CLI_EXIT_OK) {
        dev_free(d);
    }
    return rc;
}

/* One scorer's figures on the development lists. */
typedef struct dev_figures {
    double train_acc, thr, train_tar, test_acc, test_best;
} dev_figures;

static dev_figures measure(const dev_data *d, double wa, double wb, bool flip, double *st,
                           double *se, size_t *idx)
{
    dev_figures f;
    size_t acc = 0, right = 0;
    eval_scores_vectors(&d->r, &d->train, wa, wb, flip, st);
    eval_scores_vectors(&d->test_view, &d->test, wa, wb, flip, se);
    for (size_t i = 0; i < d->train.n_pairs || i < d->test.n_pairs; i++) {
        idx[i] = i;
    }
    f.thr = eval_best_threshold(st, &d->train, idx, d->train.n_pairs, &f.train_acc);
    f.train_tar = eval_tar_at_far(st, &d->train, 1e-3, &acc, NULL);
    for (size_t i = 0; i < d->test.n_pairs; i++) {
        right += (se[i] > f.thr) == d->test.pairs[i].same;
    }
    f.test_acc = (double)right / (double)d->test.n_pairs;
    eval_best_threshold(se, &d->test, idx, d->test.n_pairs, &f.test_best);
    return f;
}

/* Scratch arrays for measure(); false when out of memory (what was allocated is left for the
 * caller to free: dev_free). */
static bool scratch(const dev_data *d, double **st, double **se, size_t **idx)
{
    size_t n = d->train.n_pairs > d->test.n_pairs ? d->train.n_pairs : d->test.n_pairs;
    *st = malloc((d->train.n_pairs + 1) * sizeof(**st));
    *se = malloc((d->test.n_pairs + 1) * sizeof(**se));
    *idx = malloc((n + 1) * sizeof(**idx));
    if (*st == NULL || *se == NULL || *idx == NULL) {
        fprintf(stderr, "mien eval: out of memory\n");
        return false;
    }
    return true;
}

/* Parses sub-command `cmd`'s options, reads both lists, embeds their images (with flip when
 * asked) and makes the scratch arrays. Returns CLI_PARSED with *d for dev_free(), or the
 * exit code. */
static int dev_open(const char *cmd, int argc, char **argv, bool flip, dev_data *d)
{
    eval_options o;
    int rc = eval_parse_options(cmd, argc, argv, EVAL_OPT_DATA, &o);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = dev_load(cmd, &o, flip, d);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (!scratch(d, &d->st, &d->se, &d->idx)) {
        dev_free(d);
        return CLI_EXIT_FAIL;
    }
    return CLI_PARSED;
}

int tools_eval_fusion(int argc, char **argv)
{
    dev_data d;
    double best_w = 0.5;
    dev_figures best = {0};
    int rc = dev_open("fusion", argc, argv, false, &d);
    if (rc != CLI_PARSED) {
        return rc;
    }
    printf("score = w·cos A + (1 − w)·cos B; threshold fitted on DevTrain\n");
    printf("  w     DevTrain acc   TAR@FAR=1e-3   threshold   DevTest acc   DevTest best\n");
    for (int k = 0; k <= 8; k++) {
        double w = 0.30 + 0.05 * k;
        dev_figures f = measure(&d, w, 1.0 - w, false, d.st, d.se, d.idx);
        printf("  %.2f  %8.2f %%     %8.2f %%     %.4f    %7.2f %%     %7.2f %%\n", w,
               100 * f.train_acc, 100 * f.train_tar, f.thr, 100 * f.test_acc,
               100 * f.test_best);
        /* Best DevTrain accuracy; then TAR; then the weight closer to 0.5. */
        if (k == 0 || f.train_acc > best.train_acc ||
            (f.train_acc == best.train_acc &&
             (f.train_tar > best.train_tar ||
              (f.train_tar == best.train_tar && fabs(w - 0.5) < fabs(best_w - 0.5))))) {
            best = f;
            best_w = w;
        }
    }
    for (int k = 0; k < 2; k++) {
        dev_figures f = measure(&d, k == 0, k == 1, false, d.st, d.se, d.idx);
        printf("  %s alone: DevTrain %.2f %%, TAR@FAR=1e-3 %.2f %%, DevTest %.2f %%\n",
               k == 0 ? "A" : "B", 100 * f.train_acc, 100 * f.train_tar, 100 * f.test_acc);
    }
    printf("best on DevTrain: w = %.2f (accuracy %.2f %%, TAR@FAR=1e-3 %.2f %%); the library "
           "uses w = %.4g\n",
           best_w, 100 * best.train_acc, 100 * best.train_tar, eval_library_weight(&d.r));
    dev_free(&d);
    return CLI_EXIT_OK;
}

int tools_eval_flip(int argc, char **argv)
{
    dev_data d;
    double w;
    int rc = dev_open("flip", argc, argv, true, &d);
    if (rc != CLI_PARSED) {
        return rc;
    }
    w = eval_library_weight(&d.r);
    printf("flip averaging: mean of the embeddings of the picture and its mirror image, "
           "renormalised\n");
    printf("  scorer        flip  DevTrain acc   TAR@FAR=1e-3   DevTest acc (DevTrain thr)   "
           "DevTest best\n");
    for (int k = 0; k < 3; k++) {
        static const char *const names[3] = {"A", "B", "accurate"};
        double wa = k == 0 ? 1 : (k == 1 ? 0 : w), wb = k == 0 ? 0 : (k == 1 ? 1 : 1 - w);
        for (int flip = 0; flip < 2; flip++) {
            dev_figures f = measure(&d, wa, wb, flip == 1, d.st, d.se, d.idx);
            printf("  %-12s  %-4s  %8.2f %%     %8.2f %%       %8.2f %%                 "
                   "%7.2f %%\n",
                   names[k], flip ? "yes" : "no", 100 * f.train_acc, 100 * f.train_tar,
                   100 * f.test_acc, 100 * f.test_best);
        }
    }
    printf("(accurate: w = %.4g, the library's weight)\n", w);
    dev_free(&d);
    return CLI_EXIT_OK;
}
