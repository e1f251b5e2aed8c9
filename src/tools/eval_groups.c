/* eval_groups.c — `mien eval groups PAIRS GROUPS`: false-match and false-non-match rates per
 * group of people, at the calibrated thresholds, each with its ratio to the overall rate and a
 * 95 % confidence interval (docs/responsible-use.md, "Measuring differences between groups").
 *
 * PAIRS is either an LFW pairs file (pairs.txt, pairsDevTest.txt: a header "N" or "FOLDS N",
 * the images in lfw_deepfunneled/ beside the file) or a pair list as `mien eval pairs` reads
 * it (path_a<TAB>path_b<TAB>same 0|1<TAB>fold, paths relative to --root, default the list's
 * folder). GROUPS is the user's file: one "KEY LABEL" per line (whitespace between; '#'
 * comments), KEY naming an image by its file name ("Ann_Bee_0001.jpg") or a person by the
 * folder their images are in, LFW's layout ("Ann_Bee"); an image's own line wins. mien never
 * infers a group: a pair whose images have no line is counted in the overall rates only.
 *
 * Which pairs count for group g: a genuine pair whose images both belong to g (its FNMR); an
 * impostor pair whose images both belong to g (its FMR: the false matches people of a group
 * suffer among themselves, as NIST FRVT part 3 counts them). Impostor pairs across two groups
 * count in the overall FMR only, and are reported. An image without a face scores the lowest
 * similarity (eval_scores_templates), so a genuine pair with one is a false non-match, as in
 * `mien eval lfw`.
 *
 * Thresholds: mien_threshold_for_fmr of the profile at the service's defaults, 1e-3 (search)
 * and 1e-4 (verify, compare); a pair is accepted when its similarity is at least the
 * threshold (mien compare's rule). Intervals: Wilson score, z = 1.959964 (95 %), which stays
 * inside [0, 1] and says something for 0 errors out of n (Brown, Cai & DasGupta 2001). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

#define Z95 1.959964 /* the standard normal's 97.5th percentile */
#define N_TARGETS 2
static const double TARGETS[N_TARGETS] = {1e-3, 1e-4};
static const char *const TARGET_USE[N_TARGETS] = {"search default", "verify/compare default"};

/* The user's labels: key → label index. */
typedef struct group_map {
    char **keys;
    int *label;
    size_t n, cap;
    char **labels; /* distinct labels, in order of first appearance */
    size_t n_labels;
} group_map;

static void group_map_free(group_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
    }
    for (size_t i = 0; i < m->n_labels; i++) {
        free(m->labels[i]);
    }
    free(m->keys);
    free(m->label);
    free(m->labels);
    memset(m, 0, sizeof(*m));
}

/* The index of `label`, added when new; -1 when out of memory. */
static int label_index(group_map *m, const char *label)
{
    for (size_t i = 0; i < m->n_labels; i++) {
        if (strcmp(m->labels[i], label) == 0) {
            return (int)i;
        }
    }
    char **nl = realloc(m->labels, (m->n_labels + 1) * sizeof(*nl));
    if (nl == NULL) {
        return -1;
    }
    m->labels = nl;
    if ((m->labels[m->n_labels] = strdup(label)) == NULL) {
        return -1;
    }
    return (int)m->n_labels++;
}

/* Reads GROUPS into *m. Returns the exit code: 2 for a malformed line (named), 1 when the file
 * cannot be read or memory runs out. */
static int read_groups(const char *path, group_map *m)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;
    memset(m, 0, sizeof(*m));
    if (f == NULL) {
        fprintf(stderr, "mien eval groups: cannot read %s: %s\n", path, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *save = NULL, *key, *label, *rest;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        key = strtok_r(line, " \t", &save);
        if (key == NULL || key[0] == '#') {
            continue;
        }
        label = strtok_r(NULL, " \t", &save);
        rest = strtok_r(NULL, " \t", &save);
        if (label == NULL || rest != NULL) {
            fprintf(stderr, "mien eval groups: %s:%d: want KEY LABEL (an image file name or a "
                            "person's folder, then the group)\n", path, lineno);
            fclose(f);
            return CLI_EXIT_USAGE;
        }
        if (m->n == m->cap) {
            size_t nc = m->cap ? 2 * m->cap : 256;
            char **nk = realloc(m->keys, nc * sizeof(*nk));
            int *nv = nk != NULL ? realloc(m->label, nc * sizeof(*nv)) : NULL;
            if (nk != NULL) {
                m->keys = nk;
            }
            if (nv == NULL) {
                fclose(f);
                fprintf(stderr, "mien eval groups: out of memory\n");
                return CLI_EXIT_FAIL;
            }
            m->label = nv;
            m->cap = nc;
        }
        int li = label_index(m, label);
        if (li < 0 || (m->keys[m->n] = strdup(key)) == NULL) {
            fclose(f);
            fprintf(stderr, "mien eval groups: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        m->label[m->n++] = li;
    }
    fclose(f);
    if (m->n_labels == 0) {
        fprintf(stderr, "mien eval groups: %s: no groups\n", path);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int find_key(const group_map *m, const char *key, size_t len)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strlen(m->keys[i]) == len && strncmp(m->keys[i], key, len) == 0) {
            return m->label[i];
        }
    }
    return -1;
}

/* The group of image `path`: its file name's line, else its folder's; -1 when neither. */
static int group_of(const group_map *m, const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dir_end = base;
    int g;
    base = base != NULL ? base + 1 : path;
    if ((g = find_key(m, base, strlen(base))) >= 0 || dir_end == NULL) {
        return g;
    }
    const char *dir = dir_end;
    while (dir > path && dir[-1] != '/') {
        dir--;
    }
    return find_key(m, dir, (size_t)(dir_end - dir));
}

/* Errors k among n trials, with the rate and its Wilson interval. */
typedef struct rate {
    size_t n, k;
    double p, lo, hi;
} rate;

static rate wilson(size_t k, size_t n)
{
    rate r = {n, k, 0, 0, 1};
    if (n == 0) {
        return r;
    }
    double p = (double)k / (double)n, z2 = Z95 * Z95, nn = (double)n;
    double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    double half = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
    r.p = p;
    r.lo = k == 0 ? 0 : fmax(0, centre - half);
    r.hi = k == n ? 1 : fmin(1, centre + half);
    return r;
}

/* One row: FNMR over genuine pairs, FMR over impostor pairs. */
typedef struct group_row {
    rate fnmr, fmr;
} group_row;

/* Rows for the overall rates (row 0) and each group (1 + g) at `threshold`. */
static void count_rows(const eval_pairs *p, const double *scores, const int *ga, const int *gb,
                       double threshold, size_t n_groups, group_row *rows)
{
    size_t *gen = calloc(2 * (n_groups + 1), sizeof(*gen));
    size_t *imp = calloc(2 * (n_groups + 1), sizeof(*imp));
    if (gen == NULL || imp == NULL) {
        free(gen);
        free(imp);
        return;
    }
    for (size_t i = 0; i < p->n_pairs; i++) {
        bool accepted = scores[i] >= threshold;
        size_t *c = p->pairs[i].same ? gen : imp;
        bool error = p->pairs[i].same ? !accepted : accepted;
        c[0]++;
        c[1] += error;
        if (ga[i] >= 0 && ga[i] == gb[i]) {
            c[2 * (1 + (size_t)ga[i])]++;
            c[2 * (1 + (size_t)ga[i]) + 1] += error;
        }
    }
    for (size_t g = 0; g <= n_groups; g++) {
        rows[g].fnmr = wilson(gen[2 * g + 1], gen[2 * g]);
        rows[g].fmr = wilson(imp[2 * g + 1], imp[2 * g]);
    }
    free(gen);
    free(imp);
}

static double ratio(const rate *r, const rate *all)
{
    return r->n > 0 && all->p > 0 ? r->p / all->p : NAN;
}

static void json_rate(const char *name, const rate *r, const rate *all)
{
    double q = ratio(r, all);
    printf("\"%s\":{\"trials\":%zu,\"errors\":%zu,\"rate\":%.6g,\"ci95\":[%.6g,%.6g],"
           "\"ratio\":",
           name, r->n, r->k, r->p, r->lo, r->hi);
    if (isnan(q)) {
        printf("null}");
    } else {
        printf("%.4g}", q);
    }
}

/* One rate in the table: trials, rate, interval, ratio to `all` ("-" where undefined). */
static void text_rate(int width, const rate *r, const rate *all)
{
    double q = ratio(r, all);
    char ci[48];
    if (r->n == 0) {
        printf("  %*s %8s %-18s %6s", width, "0", "-", "", "-");
        return;
    }
    snprintf(ci, sizeof(ci), "[%.4f, %.4f]", r->lo, r->hi);
    printf("  %*zu %8.4f %-18s ", width, r->n, r->p, ci);
    if (isnan(q)) {
        printf("%6s", "-");
    } else {
        printf("%6.2f", q);
    }
}

/* The table at threshold target t: rows[0] overall, rows[1 + g] group g. */
static void print_table(int t, float thr, const group_row *rows, const group_map *m)
{
    printf("\nat FMR %g (%s), threshold %.4f:\n", TARGETS[t], TARGET_USE[t], thr);
    printf("%-16s  %7s %8s %-18s %6s  %9s %8s %-18s %6s\n", "group", "genuine", "FNMR",
           "95% CI", "ratio", "impostors", "FMR", "95% CI", "ratio");
    for (size_t g = 0; g <= m->n_labels; g++) {
        printf("%-16.16s", g == 0 ? "overall" : m->labels[g - 1]);
        text_rate(7, &rows[g].fnmr, &rows[0].fnmr);
        text_rate(9, &rows[g].fmr, &rows[0].fmr);
        printf("\n");
    }
}

/* Target t's member of the JSON line's "thresholds" array. */
static void print_json_target(int t, float thr, const group_row *rows, const group_map *m)
{
    printf("%s{\"at_fmr\":%g,\"threshold\":%.6f,\"overall\":{", t ? "," : "", TARGETS[t], thr);
    json_rate("fnmr", &rows[0].fnmr, &rows[0].fnmr);
    printf(",");
    json_rate("fmr", &rows[0].fmr, &rows[0].fmr);
    printf("},\"groups\":[");
    for (size_t g = 0; g < m->n_labels; g++) {
        printf("%s{\"group\":", g ? "," : "");
        cli_json_string(stdout, m->labels[g]);
        printf(",");
        json_rate("fnmr", &rows[1 + g].fnmr, &rows[0].fnmr);
        printf(",");
        json_rate("fmr", &rows[1 + g].fmr, &rows[0].fmr);
        printf("}");
    }
    printf("]}");
}

/* Prints the table for every target, then (--json) the whole as one JSON line. */
static void print_results(const eval_options *o, const eval_pairs *p, const double *scores,
                          const int *ga, const int *gb, const group_map *m, size_t cross,
                          size_t unlabelled, size_t no_face)
{
    group_row *rows = calloc(N_TARGETS * (m->n_labels + 1), sizeof(*rows));
    float thr[N_TARGETS];
    if (rows == NULL) {
        fprintf(stderr, "mien eval groups: out of memory\n");
        return;
    }
    for (int t = 0; t < N_TARGETS; t++) {
        group_row *at = rows + (size_t)t * (m->n_labels + 1);
        thr[t] = 1.0f;
        mien_threshold_for_fmr(o->profile, TARGETS[t], &thr[t]);
        count_rows(p, scores, ga, gb, thr[t], m->n_labels, at);
        print_table(t, thr[t], at, m);
    }
    if (o->json) {
        printf("{\"profile\":\"%s\",\"pairs\":%zu,\"images_without_face\":%zu,"
               "\"unlabelled_pairs\":%zu,\"cross_group_impostors\":%zu,\"thresholds\":[",
               mien_profile_name(o->profile), p->n_pairs, no_face, unlabelled, cross);
        for (int t = 0; t < N_TARGETS; t++) {
            print_json_target(t, thr[t], rows + (size_t)t * (m->n_labels + 1), m);
        }
        printf("]}\n");
    }
    free(rows);
}

/* PAIRS as an LFW pairs file (first line numbers only) or a pair list. */
static int load_pairs(const eval_options *o, eval_pairs *p)
{
    FILE *f = fopen(o->list, "r");
    char first[256] = "";
    if (f == NULL) {
        fprintf(stderr, "mien eval groups: cannot read %s: %s\n", o->list, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (fgets(first, sizeof(first), f) == NULL) {
        first[0] = '\0';
    }
    fclose(f);
    bool lfw = first[0] != '\0' && strspn(first, "0123456789 \t\r\n") == strlen(first);
    char dir[4096];
    const char *slash = strrchr(o->list, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - o->list) : 1,
             slash ? o->list : ".");
    if (lfw) {
        int folds = 0;
        return eval_read_lfw_pairs(dir, slash ? slash + 1 : o->list, 0, p, &folds)
                   ? CLI_EXIT_OK
                   : CLI_EXIT_FAIL;
    }
    return eval_read_pair_list(o->list, o->root != NULL ? o->root : dir, p);
}

int tools_eval_groups(int argc, char **argv)
{
    eval_options o;
    eval_pairs p;
    group_map m;
    eval_embed_result r;
    mien_engine *engine = NULL;
    double *scores = NULL;
    int *ga = NULL, *gb = NULL;
    size_t cross = 0, unlabelled = 0;
    int rc = eval_parse_options("groups", argc, argv,
                                EVAL_OPT_GROUPS | EVAL_OPT_ROOT | EVAL_OPT_PROFILE | EVAL_OPT_JSON,
                                &o);
    if (rc != CLI_PARSED) {
        return rc;
    }
    memset(&r, 0, sizeof(r));
    if ((rc = read_groups(o.groups, &m)) != CLI_EXIT_OK) {
        return rc;
    }
    if ((rc = load_pairs(&o, &p)) != CLI_EXIT_OK) {
        group_map_free(&m);
        return rc;
    }
    rc = CLI_EXIT_FAIL;
    scores = malloc((p.n_pairs + 1) * sizeof(*scores));
    ga = malloc((p.n_pairs + 1) * sizeof(*ga));
    gb = malloc((p.n_pairs + 1) * sizeof(*gb));
    if (scores == NULL || ga == NULL || gb == NULL) {
        fprintf(stderr, "mien eval groups: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < p.n_pairs; i++) {
        ga[i] = group_of(&m, p.paths[p.pairs[i].a]);
        gb[i] = group_of(&m, p.paths[p.pairs[i].b]);
        unlabelled += ga[i] < 0 || gb[i] < 0;
        cross += !p.pairs[i].same && ga[i] >= 0 && gb[i] >= 0 && ga[i] != gb[i];
    }
    eval_embed_job job = {.paths = (const char *const *)p.paths,
                          .n = p.n_paths,
                          .profile = o.profile,
                          .threads = o.threads,
                          .label = "images"};
    if (eval_open_engine(&o, &engine) != MIEN_OK || eval_embed_run(engine, &job, &r) != MIEN_OK ||
        eval_scores_templates(&r, &p, scores) != MIEN_OK) {
        goto done;
    }
    printf("%s: %zu pairs, %zu images (%zu without a face, %zu unreadable), profile %s; "
           "groups from %s (%zu groups; %zu pairs unlabelled, %zu impostor pairs across two "
           "groups: overall rates only)\n",
           o.list, p.n_pairs, p.n_paths, r.no_face, r.unreadable, mien_profile_name(o.profile),
           o.groups, m.n_labels, unlabelled, cross);
    print_results(&o, &p, scores, ga, gb, &m, cross, unlabelled, r.no_face + r.unreadable);
    rc = CLI_EXIT_OK;
done:
    free(scores);
    free(ga);
    free(gb);
    eval_embed_result_free(&r);
    mien_engine_free(engine);
    eval_pairs_free(&p);
    group_map_free(&m);
    return rc;
}
