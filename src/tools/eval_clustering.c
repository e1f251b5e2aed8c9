/* eval_clustering.c — `mien eval clustering [--data DIR] [--profile P] [--threads N]
 * [--cache FILE] [--method NAME] [--json]`: grouping all of LFW (13,233 images, 5,749 people)
 * into people with mien_group, scored against LFW's names.
 *
 * Every image's most prominent face is embedded once (eval_embed.c); --cache keeps those
 * templates in a file (serialised, mien_template_serialize) and reuses them while the file
 * matches the image count and profile, so that methods and thresholds can be swept without
 * embedding again. Images without a face are left out of the grouping and reported.
 *
 * Metrics over the grouped faces (the messy group counts as clusters of one):
 *   BCubed (Bagga & Baldwin 1998; Amigó et al. 2009): per face, precision = the share of its
 *     cluster that is its person, recall = the share of its person that is in its cluster;
 *     each averaged over faces, F their harmonic mean;
 *   pairwise: precision = same-person pairs within clusters / pairs within clusters, recall =
 *     same-person pairs within clusters / same-person pairs; F their harmonic mean;
 *   time: mien_group's wall time (kNN graph through the index, clustering), after embedding,
 *     on --threads threads, and the CPU time of all its threads (on a shared machine the wall
 *     time waits for other work; CPU seconds / threads is what idle cores would take).
 * Printed: both methods at the default operating point, then the curve of one method
 * (--method, default: the library's) over the calibrated FMR of an edge. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"

#define CACHE_MAGIC "MIENCLU1"

/* The faces to group: templates (borrowed from the pass or the cache) and their person. */
typedef struct faces {
    mien_template **t; /* n_images entries, NULL for an image without a face; owned */
    size_t *owner;     /* image → person */
    size_t n_images, n_faces;
    const mien_template **grouped; /* the n_faces templates, in image order */
    size_t *grouped_owner;
} faces;

typedef struct scores {
    double bp, br, bf, pp, pr, pf;
    size_t clusters, messy;
    double ms, cpu_s; /* mien_group's wall time, and the CPU time of all its threads */
} scores;

/* ---- the cache ------------------------------------------------------------------------- */

/* Writes the templates to path: magic, profile, count, then per image a length (0: no face)
 * and the serialised template. False (message printed) on failure. */
static bool cache_write(const char *path, mien_profile profile, const faces *f)
{
    FILE *out = fopen(path, "wb");
    uint32_t head[2] = {(uint32_t)profile, (uint32_t)f->n_images};
    bool ok = out != NULL && fwrite(CACHE_MAGIC, 8, 1, out) == 1 &&
              fwrite(head, sizeof(head), 1, out) == 1;
    for (size_t i = 0; ok && i < f->n_images; i++) {
        uint8_t buf[8192];
        size_t len = 0;
        uint32_t len32 = 0;
        if (f->t[i] != NULL &&
            mien_template_serialize(f->t[i], buf, sizeof(buf), &len) != MIEN_OK) {
            ok = false;
            break;
        }
        len32 = (uint32_t)len;
        ok = fwrite(&len32, sizeof(len32), 1, out) == 1 &&
             (len == 0 || fwrite(buf, len, 1, out) == 1);
    }
    if (out == NULL || fclose(out) != 0 || !ok) {
        fprintf(stderr, "mien eval clustering: cannot write the cache %s: %s\n", path,
                strerror(errno));
        return false;
    }
    return true;
}

/* Reads the templates from path when it holds n images of `profile`. False (quietly) when it
 * does not exist or does not match: the pass runs and writes it again. */
static bool cache_read(const char *path, mien_profile profile, faces *f)
{
    FILE *in = fopen(path, "rb");
    char magic[8];
    uint32_t head[2];
    bool ok = in != NULL && fread(magic, 8, 1, in) == 1 && memcmp(magic, CACHE_MAGIC, 8) == 0 &&
              fread(head, sizeof(head), 1, in) == 1 && head[0] == (uint32_t)profile &&
              head[1] == f->n_images;
    for (size_t i = 0; ok && i < f->n_images; i++) {
        uint8_t buf[8192];
        uint32_t len = 0;
        mien_error err;
        ok = fread(&len, sizeof(len), 1, in) == 1 && len <= sizeof(buf);
        if (ok && len > 0) {
            ok = fread(buf, len, 1, in) == 1 &&
                 mien_template_deserialize(buf, len, &f->t[i], &err) == MIEN_OK;
        }
    }
    if (in != NULL) {
        fclose(in);
    }
    if (!ok) {
        for (size_t i = 0; i < f->n_images; i++) {
            mien_template_free(f->t[i]);
            f->t[i] = NULL;
        }
    }
    return ok;
}

/* ---- the faces -------------------------------------------------------------------------- */

/* Every image of lfw-names.txt: paths[] (owned) and owners. */
static bool list_images(const char *dir, const eval_person *people, size_t n_people,
                        char ***paths, faces *f)
{
    size_t k = 0;
    for (size_t p = 0; p < n_people; p++) {
        f->n_images += (size_t)people[p].count;
    }
    *paths = calloc(f->n_images, sizeof(**paths));
    f->owner = calloc(f->n_images, sizeof(*f->owner));
    f->t = calloc(f->n_images, sizeof(*f->t));
    if (*paths == NULL || f->owner == NULL || f->t == NULL) {
        return false;
    }
    for (size_t p = 0; p < n_people; p++) {
        for (int i = 1; i <= people[p].count; i++, k++) {
            f->owner[k] = p;
            if (((*paths)[k] = eval_lfw_image(dir, people[p].name, i)) == NULL) {
                return false;
            }
        }
    }
    return true;
}

/* The embedding pass; the templates move from the pass's result into f->t. */
static bool embed(const eval_options *o, char **paths, faces *f)
{
    mien_engine *engine = NULL;
    eval_embed_result r;
    eval_embed_job job = {.paths = (const char *const *)paths,
                          .n = f->n_images,
                          .profile = o->profile,
                          .threads = o->threads,
                          .label = "images"};
    bool ok = eval_open_engine(o, &engine) == MIEN_OK &&
              eval_embed_run(engine, &job, &r) == MIEN_OK;
    if (ok) {
        for (size_t i = 0; i < f->n_images; i++) {
            f->t[i] = r.images[i].t;
            r.images[i].t = NULL;
        }
        fprintf(stderr, "mien eval clustering: embedded %zu images in %.1f s (%zu without a "
                        "face, %zu unreadable)\n",
                r.n, r.wall_s, r.no_face, r.unreadable);
        eval_embed_result_free(&r);
    }
    mien_engine_free(engine);
    return ok;
}

/* The images with a face, in order: what is grouped. */
static bool collect(faces *f)
{
    f->grouped = malloc((f->n_images + 1) * sizeof(*f->grouped));
    f->grouped_owner = malloc((f->n_images + 1) * sizeof(*f->grouped_owner));
    if (f->grouped == NULL || f->grouped_owner == NULL) {
        return false;
    }
    for (size_t i = 0; i < f->n_images; i++) {
        if (f->t[i] != NULL) {
            f->grouped_owner[f->n_faces] = f->owner[i];
            f->grouped[f->n_faces++] = f->t[i];
        }
    }
    return true;
}

static void faces_free(faces *f)
{
    for (size_t i = 0; f->t != NULL && i < f->n_images; i++) {
        mien_template_free(f->t[i]);
    }
    free(f->t);
    free(f->owner);
    free(f->grouped);
    free(f->grouped_owner);
}

/* ---- metrics ----------------------------------------------------------------------------- */

/* A face's cluster (messy faces: a cluster of their own, numbered after the real ones) and
 * person, sorted to count the cells of the contingency table. */
typedef struct cell {
    size_t cluster, person;
} cell;

static int cmp_cell(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    if (x->cluster != y->cluster) {
        return (x->cluster > y->cluster) - (x->cluster < y->cluster);
    }
    return (x->person > y->person) - (x->person < y->person);
}

/* CPU seconds this process has used, all threads. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double harmonic(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

/* BCubed and pairwise figures of g against the faces' persons. */
static bool score(const faces *f, size_t n_people, const mien_grouping *g, scores *s)
{
    size_t n = f->n_faces;
    cell *c = malloc(n * sizeof(*c));
    size_t *csize = calloc(n + 1, sizeof(*csize)), *psize = calloc(n_people, sizeof(*psize));
    double pairs_in = 0, pairs_true = 0, pairs_tp = 0;
    memset(s, 0, sizeof(*s));
    if (c == NULL || csize == NULL || psize == NULL) {
        free(c);
        free(csize);
        free(psize);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        c[i].cluster = g->labels[i] >= 0 ? (size_t)g->labels[i] : g->clusters + i;
        c[i].person = f->grouped_owner[i];
        psize[c[i].person]++;
    }
    qsort(c, n, sizeof(*c), cmp_cell);
    for (size_t a = 0, b; a < n; a = b) { /* cluster sizes: runs of one cluster */
        for (b = a; b < n && c[b].cluster == c[a].cluster; b++) {
        }
        csize[a] = b - a;
        pairs_in += 0.5 * (double)(b - a) * (double)(b - a - 1);
        for (size_t k = a; k < b; k++) {
            csize[k] = b - a;
        }
    }
    for (size_t a = 0, b; a < n; a = b) { /* cells: runs of one (cluster, person) */
        double m;
        for (b = a; b < n && c[b].cluster == c[a].cluster && c[b].person == c[a].person; b++) {
        }
        m = (double)(b - a);
        s->bp += m * m / (double)csize[a];
        s->br += m * m / (double)psize[c[a].person];
        pairs_tp += 0.5 * m * (m - 1);
    }
    for (size_t p = 0; p < n_people; p++) {
        pairs_true += 0.5 * (double)psize[p] * (double)(psize[p] > 0 ? psize[p] - 1 : 0);
    }
    s->bp /= (double)n;
    s->br /= (double)n;
    s->bf = harmonic(s->bp, s->br);
    s->pp = pairs_in > 0 ? pairs_tp / pairs_in : 1;
    s->pr = pairs_true > 0 ? pairs_tp / pairs_true : 1;
    s->pf = harmonic(s->pp, s->pr);
    s->clusters = g->clusters;
    s->messy = g->messy;
    s->ms = g->ms;
    free(c);
    free(csize);
    free(psize);
    return true;
}

/* Groups the faces with `method` at `fmr` and scores the result. */
static bool run_one(const eval_options *o, const faces *f, size_t n_people,
                    mien_group_method method, double fmr, scores *s)
{
    mien_group_options go = mien_group_options_default();
    mien_grouping g;
    mien_error err;
    bool ok;
    go.method = method;
    go.max_fmr = fmr;
    go.threads = o->threads;
    double cpu0 = cpu_seconds();
    if (mien_group(f->grouped, f->n_faces, &go, &g, &err) != MIEN_OK) {
        fprintf(stderr, "mien eval clustering: %s\n", err.message);
        return false;
    }
    double cpu = cpu_seconds() - cpu0;
    ok = score(f, n_people, &g, s);
    s->cpu_s = cpu;
    mien_grouping_free(&g);
    return ok;
}

static void print_row(const char *method, double fmr, float thr, const scores *s)
{
    printf("%-17s %8.0e %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f %6zu %6zu %8.2f %8.2f\n",
           method, fmr, thr, s->bp, s->br, s->bf, s->pp, s->pr, s->pf, s->clusters, s->messy,
           s->ms / 1e3, s->cpu_s);
}

static void print_json(const char *kind, const char *method, double fmr, const scores *s)
{
    printf("{\"kind\":\"%s\",\"method\":\"%s\",\"max_fmr\":%g,\"bcubed_precision\":%.6f,"
           "\"bcubed_recall\":%.6f,\"bcubed_f\":%.6f,\"pairwise_precision\":%.6f,"
           "\"pairwise_recall\":%.6f,\"pairwise_f\":%.6f,\"clusters\":%zu,\"messy\":%zu,"
           "\"seconds\":%.3f,\"cpu_seconds\":%.3f}\n",
           kind, method, fmr, s->bp, s->br, s->bf, s->pp, s->pr, s->pf, s->clusters, s->messy,
           s->ms / 1e3, s->cpu_s);
}

/* The report: both methods at the default FMR, then the curve of `curve`. */
static bool report(const eval_options *o, const faces *f, size_t n_people,
                   mien_group_method curve)
{
    static const double FMRS[] = {1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3};
    static const mien_group_method METHODS[] = {MIEN_GROUP_CHINESE_WHISPERS,
                                                MIEN_GROUP_COMPONENTS};
    mien_group_options def = mien_group_options_default();
    const char *header = "method            max_fmr   thres  BCub-P  BCub-R  BCub-F  pair-P  "
                         "pair-R  pair-F  clust  messy  seconds  cpu-s";
    scores s;
    float thr = 0;
    printf("LFW grouping, profile %s: %zu faces of %zu images, %zu people; %d neighbours, %d "
           "threads\n\nat the default (max_fmr %g, method %s):\n%s\n",
           mien_profile_name(o->profile), f->n_faces, f->n_images, n_people, def.neighbours,
           o->threads, def.max_fmr, mien_group_method_name(def.method), header);
    for (size_t m = 0; m < sizeof(METHODS) / sizeof(METHODS[0]); m++) {
        mien_threshold_for_fmr(o->profile, def.max_fmr, &thr);
        if (!run_one(o, f, n_people, METHODS[m], def.max_fmr, &s)) {
            return false;
        }
        print_row(mien_group_method_name(METHODS[m]), def.max_fmr, thr, &s);
        if (o->json) {
            print_json("default", mien_group_method_name(METHODS[m]), def.max_fmr, &s);
        }
    }
    printf("\nthe curve over the edge's FMR (%s):\n%s\n", mien_group_method_name(curve),
           header);
    for (size_t k = 0; k < sizeof(FMRS) / sizeof(FMRS[0]); k++) {
        mien_threshold_for_fmr(o->profile, FMRS[k], &thr);
        if (!run_one(o, f, n_people, curve, FMRS[k], &s)) {
            return false;
        }
        print_row(mien_group_method_name(curve), FMRS[k], thr, &s);
        if (o->json) {
            print_json("curve", mien_group_method_name(curve), FMRS[k], &s);
        }
        fflush(stdout);
    }
    return true;
}

int tools_eval_clustering(int argc, char **argv)
{
    eval_options o;
    eval_person *people = NULL;
    size_t n_people = 0;
    char dir[4096], names[4200], **paths = NULL;
    faces f;
    mien_group_method curve = MIEN_GROUP_AUTO;
    int rc = CLI_EXIT_FAIL;
    int parsed = eval_parse_options("clustering", argc, argv,
                                    EVAL_OPT_DATA | EVAL_OPT_PROFILE | EVAL_OPT_JSON |
                                        EVAL_OPT_CACHE | EVAL_OPT_METHOD,
                                    &o);
    memset(&f, 0, sizeof(f));
    if (parsed != CLI_PARSED) {
        return parsed;
    }
    if (o.method != NULL && (mien_group_method_parse(o.method, &curve) != MIEN_OK)) {
        fprintf(stderr, "mien eval clustering: --method is chinese_whispers or components, "
                        "not '%s'\n",
                o.method);
        return CLI_EXIT_USAGE;
    }
    curve = curve == MIEN_GROUP_AUTO ? mien_group_options_default().method : curve;
    if (!eval_find_lfw("clustering", o.data_dir, "lfw-names.txt", dir, sizeof(dir))) {
        return CLI_EXIT_FAIL;
    }
    snprintf(names, sizeof(names), "%s/lfw-names.txt", dir);
    if (!eval_read_lfw_names(names, &people, &n_people)) {
        return CLI_EXIT_FAIL;
    }
    if (!list_images(dir, people, n_people, &paths, &f)) {
        fprintf(stderr, "mien eval clustering: out of memory\n");
    } else if ((o.cache != NULL && cache_read(o.cache, o.profile, &f)) ||
               (embed(&o, paths, &f) && (o.cache == NULL || cache_write(o.cache, o.profile, &f)))) {
        if (!collect(&f)) {
            fprintf(stderr, "mien eval clustering: out of memory\n");
        } else if (report(&o, &f, n_people, curve)) {
            rc = CLI_EXIT_OK;
        }
    }
    for (size_t i = 0; paths != NULL && i < f.n_images; i++) {
        free(paths[i]);
    }
    free(paths);
    faces_free(&f);
    free(people);
    return rc;
}
