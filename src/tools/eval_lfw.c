/* eval_lfw.c — `mien eval lfw` and `mien eval pairs`: verification accuracy on labelled pairs.
 *
 * `lfw` runs the official LFW protocol (pairs.txt: 10 folds × 300 same + 300 different
 * pairs, "unrestricted, labeled outside data") exactly as the reference scorer
 * shared/reference/bin/eval-lfw.js; `pairs` takes any list of
 * `path_a<TAB>path_b<TAB>same(0|1)<TAB>fold(0-9)` lines. Both build the same eval_pairs and
 * share everything after that (report()): one embedding pass over the distinct images, the
 * profile's similarity from mien_template_compare, cross-validated accuracy, TAR@FAR. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* Prints one scorer's line, eval-lfw.js style. */
static void print_metrics(const char *name, const eval_metrics *m)
{
    printf("%-8s accuracy %.2f ± %.2f %%   TAR@FAR=1e-3 %.2f %% (%zu/%zu impostors accepted)   "
           "TAR@FAR=1e-2 %.2f %% (%zu/%zu)   mean threshold %.4f\n",
           name, 100 * m->accuracy, 100 * m->std, 100 * m->tar_1e3, m->accepted_1e3,
           m->impostors, 100 * m->tar_1e2, m->accepted_1e2, m->impostors, m->threshold);
}

/* The embedding pass's stages, as eval_embed_result times them. */
#define N_STAGES 5
static const char *const stage[N_STAGES] = {"decode", "detect", "landmarks", "align", "embed"};

/* Mean milliseconds per timed image of each stage into ms[N_STAGES]; returns their sum. */
static double stage_ms(const eval_embed_result *r, double ms[N_STAGES])
{
    double per = r->timed_images > 0 ? 1.0 / (double)r->timed_images : 0, total = 0;
    ms[0] = r->decode_ms * per;
    ms[1] = r->detect_ms * per;
    ms[2] = r->landmarks_ms * per;
    ms[3] = r->align_ms * per;
    ms[4] = r->embed_ms * per;
    for (int k = 0; k < N_STAGES; k++) {
        total += ms[k];
    }
    return total;
}

/* For `accurate`: the metrics of its parts, as the reference reports them (A+B there is the
 * plain sum). */
static void print_parts(const eval_embed_result *r, const eval_pairs *p)
{
    static const struct {
        const char *name;
        double wa, wb;
    } parts[3] = {{"  A", 1, 0}, {"  B", 0, 1}, {"  A+B", 1, 1}};
    double *s2 = malloc((p->n_pairs + 1) * sizeof(*s2));
    for (int k = 0; s2 != NULL && k < 3; k++) {
        eval_metrics mk;
        eval_scores_vectors(r, p, parts[k].wa, parts[k].wb, false, s2);
        if (eval_metrics_compute(s2, p, &mk) == MIEN_OK) {
            print_metrics(parts[k].name, &mk);
        }
    }
    free(s2);
}

/* The results as one JSON line (docs/cli.md). */
static void print_json(mien_profile profile, const eval_pairs *p, const eval_embed_result *r,
                       const eval_metrics *m, const double ms[N_STAGES], double total)
{
    printf("{\"profile\":\"%s\",\"accuracy\":%.6f,\"std\":%.6f,\"tar_at_far_1e-3\":%.6f,"
           "\"tar_at_far_1e-2\":%.6f,\"failures_to_detect\":%zu,\"unreadable\":%zu,"
           "\"ms_per_image\":{",
           mien_profile_name(profile), m->accuracy, m->std, m->tar_1e3, m->tar_1e2,
           r->no_face + r->unreadable, r->unreadable);
    for (int k = 0; k < N_STAGES; k++) {
        printf("\"%s\":%.3f,", stage[k], ms[k]);
    }
    printf("\"total\":%.3f},\"pairs\":%zu,\"images\":%zu,\"folds\":%d,\"threshold\":%.6f,"
           "\"accuracy_per_fold\":[",
           total, p->n_pairs, p->n_paths, m->n_folds, m->threshold);
    for (int k = 0; k < m->n_folds; k++) {
        printf("%s%.6f", k ? "," : "", m->fold_accuracy[k]);
    }
    printf("],\"threads\":%d,\"wall_s\":%.2f}\n", r->threads, r->wall_s);
}

/* Embeds, scores and reports pairs `p` described by `what` (first line of the text). Returns
 * the exit code. */
static int report(const char *cmd, const eval_options *o, const eval_pairs *p, const char *what)
{
    eval_embed_job job = {.paths = (const char *const *)p->paths,
                          .n = p->n_paths,
                          .profile = o->profile,
                          .threads = o->threads,
                          .label = "images"};
    eval_embed_result r;
    eval_metrics m;
    mien_engine *engine = NULL;
    double *scores = NULL, ms[N_STAGES], total;
    int rc = CLI_EXIT_FAIL;
    mien_status st;
    memset(&r, 0, sizeof(r));
    scores = malloc((p->n_pairs + 1) * sizeof(*scores));
    if (scores == NULL) {
        fprintf(stderr, "mien eval %s: out of memory\n", cmd);
        return CLI_EXIT_FAIL;
    }
    if (eval_open_engine(o, &engine) != MIEN_OK) {
        goto done;
    }
    fprintf(stderr, "mien eval %s: %zu pairs, %zu images, profile %s, precision %s, %d threads\n",
            cmd, p->n_pairs, p->n_paths, mien_profile_name(o->profile),
            mien_precision_name(mien_engine_precision(engine)), o->threads);
    if (eval_embed_run(engine, &job, &r) != MIEN_OK ||
        eval_scores_templates(&r, p, scores) != MIEN_OK) {
        goto done;
    }
    st = eval_metrics_compute(scores, p, &m);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien eval %s: %s\n", cmd,
                st == MIEN_ERR_ARG ? "the list needs same-person and different-person pairs"
                                   : mien_strerror(st));
        goto done;
    }
    printf("%s: %zu pairs, %zu images, %zu without a face, %zu unreadable\n", what, p->n_pairs,
           p->n_paths, r.no_face, r.unreadable);
    if (m.n_folds == 1) {
        printf("(one fold: the threshold is fitted on the test fold itself, so accuracy is "
               "optimistic)\n");
    }
    print_metrics(mien_profile_name(o->profile), &m);
    if (o->profile == MIEN_PROFILE_ACCURATE) {
        print_parts(&r, p);
    }
    printf("per fold:");
    for (int k = 0; k < m.n_folds; k++) {
        printf(" %.2f", 100 * m.fold_accuracy[k]);
    }
    printf(" %%\n");
    total = stage_ms(&r, ms);
    printf("mean ms per image (%zu images timed, summed over %d threads):", r.timed_images,
           r.threads);
    for (int k = 0; k < N_STAGES; k++) {
        printf(" %s %.2f,", stage[k], ms[k]);
    }
    printf(" total %.2f\n", total);
    printf("wall time %.1f s (%.1f images/s with %d threads)\n", r.wall_s,
           r.wall_s > 0 ? (double)r.n / r.wall_s : 0.0, r.threads);
    if (o->json) {
        print_json(o->profile, p, &r, &m, ms, total);
    }
    fflush(stdout);
    rc = CLI_EXIT_OK;
    if (o->roc != NULL) {
        char title[256];
        snprintf(title, sizeof(title), "%.160s, profile %s: accuracy %.2f ± %.2f %%, TAR@FAR=1e-3 "
                                       "%.2f %%",
                 what, mien_profile_name(o->profile), 100 * m.accuracy, 100 * m.std,
                 100 * m.tar_1e3);
        if (!eval_write_roc_svg(o->roc, title, scores, p)) {
            rc = CLI_EXIT_FAIL;
        }
    }
done:
    free(scores);
    eval_embed_result_free(&r);
    mien_engine_free(engine);
    return rc;
}

/* How a sub-command reads its pairs: into *p, their description into what[cap]. Returns the
 * exit code (a failure printed). */
typedef int (*pairs_loader)(const eval_options *o, eval_pairs *p, char *what, size_t cap);

/* The whole of `mien eval lfw` and `mien eval pairs`: parse the options `allowed`, load the
 * pairs, report on them. Returns the exit code. */
static int run(const char *cmd, int argc, char **argv, unsigned allowed, pairs_loader load)
{
    eval_options o;
    eval_pairs p;
    char what[4200];
    int rc = eval_parse_options(cmd, argc, argv, allowed, &o);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = load(&o, &p, what, sizeof(what));
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    rc = report(cmd, &o, &p, what);
    eval_pairs_free(&p);
    return rc;
}

/* LFW's own pairs.txt in the data folder, its first --limit-folds folds. */
static int load_lfw(const eval_options *o, eval_pairs *p, char *what, size_t cap)
{
    char dir[4096];
    int n_folds = 0;
    if (!eval_find_lfw("lfw", o->data_dir, "pairs.txt", dir, sizeof(dir)) ||
        !eval_read_lfw_pairs(dir, "pairs.txt", o->limit_folds, p, &n_folds)) {
        return CLI_EXIT_FAIL;
    }
    snprintf(what, cap, "LFW deep-funneled, folds 1-%d", n_folds);
    return CLI_EXIT_OK;
}

int tools_eval_lfw(int argc, char **argv)
{
    return run("lfw", argc, argv,
               EVAL_OPT_DATA | EVAL_OPT_PROFILE | EVAL_OPT_LIMIT_FOLDS | EVAL_OPT_ROC |
                   EVAL_OPT_JSON,
               load_lfw);
}

/* Joins root and a list path (absolute paths are kept); malloc'd or NULL. */
static char *join(const char *root, const char *path)
{
    size_t cap = strlen(root) + strlen(path) + 2;
    char *s = malloc(cap);
    if (s != NULL) {
        if (path[0] == '/') {
            snprintf(s, cap, "%s", path);
        } else {
            snprintf(s, cap, "%s/%s", root, path);
        }
    }
    return s;
}

/* Reads a pair list (see the file comment). Blank lines and lines starting with '#' are
 * skipped. Returns the exit code: 0 with *out filled, 2 for a malformed line (line number
 * printed), 1 when the list cannot be read. */
int eval_read_pair_list(const char *list, const char *root, eval_pairs *out)
{
    FILE *f = fopen(list, "r");
    char line[8192];
    eval_pair_lines l = {0};
    int lineno = 0, rc = CLI_EXIT_FAIL;
    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        fprintf(stderr, "mien eval pairs: cannot read %s: %s\n", list, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *field[5] = {NULL}, *save = NULL, *end = NULL;
        int nf = 0;
        long sv, fv;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[strspn(line, " \t")] == '\0' || line[0] == '#') {
            continue;
        }
        for (char *tok = strtok_r(line, "\t", &save); tok != NULL && nf < 5;
             tok = strtok_r(NULL, "\t", &save)) {
            field[nf++] = tok;
        }
        sv = nf == 4 ? strtol(field[2], &end, 10) : -1;
        if (nf != 4 || *end != '\0' || (sv != 0 && sv != 1)) {
            fprintf(stderr,
                    "mien eval pairs: %s:%d: want path_a<TAB>path_b<TAB>same (0|1)<TAB>fold "
                    "(0-9)\n",
                    list, lineno);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        fv = strtol(field[3], &end, 10);
        if (*end != '\0' || field[3][0] == '\0' || fv < 0 || fv >= EVAL_MAX_FOLDS) {
            fprintf(stderr, "mien eval pairs: %s:%d: fold must be 0-9, got '%s'\n", list,
                    lineno, field[3]);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        if (!eval_pair_lines_add(&l, join(root, field[0]), join(root, field[1]), sv == 1,
                                 (int)fv)) {
            fprintf(stderr, "mien eval pairs: out of memory\n");
            goto done;
        }
    }
    if (l.n == 0) {
        fprintf(stderr, "mien eval pairs: %s: no pairs\n", list);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    rc = eval_pair_lines_finish(&l, l.n, "mien eval pairs", out) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    eval_pair_lines_free(&l);
    fclose(f);
    return rc;
}

/* The pair list LIST, its paths relative to --root (default: LIST's folder). */
static int load_list(const eval_options *o, eval_pairs *p, char *what, size_t cap)
{
    char root[4096];
    int rc;
    if (o->root != NULL) {
        snprintf(root, sizeof(root), "%s", o->root);
    } else {
        const char *slash = strrchr(o->list, '/');
        if (slash == NULL) {
            snprintf(root, sizeof(root), ".");
        } else {
            snprintf(root, sizeof(root), "%.*s", (int)(slash - o->list), o->list);
            if (root[0] == '\0') {
                snprintf(root, sizeof(root), "/");
            }
        }
    }
    rc = eval_read_pair_list(o->list, root, p);
    if (rc == CLI_EXIT_OK) {
        snprintf(what, cap, "%s", o->list);
    }
    return rc;
}

int tools_eval_pairs(int argc, char **argv)
{
    return run("pairs", argc, argv,
               EVAL_OPT_LIST | EVAL_OPT_ROOT | EVAL_OPT_PROFILE | EVAL_OPT_ROC | EVAL_OPT_JSON,
               load_list);
}
