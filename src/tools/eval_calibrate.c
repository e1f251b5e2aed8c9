/* eval_calibrate.c — `mien eval calibrate`: measures what a similarity means. Every image of
 * the people of LFW's peopleDevTrain.txt (4038 people, 9525 images: never the test pairs) is
 * embedded once with the `accurate` profile, whose templates hold both embedders' vectors
 * (mien_template_vector), so one pass serves both profiles. Then every cross-identity pair
 * (about 45 million) is scored for `fast` (cos A) and `accurate` (w·cos A + (1 − w)·cos B)
 * and the impostor distributions are summarised as thresholds at false-match rates 1e-6 .. 1,
 * ten levels per decade, written as the C source of src/face/calibration_table.c.
 *
 * Order statistics without storing 45 M scores: a histogram of 2^20 bins over [-1, 1] per
 * profile (bin width 1.9e-6). For FMR f over N pairs the threshold is the lower edge of the
 * bin that holds the ceil(f·N)-th highest score, so at least a fraction f of the impostors
 * score >= it and the exact order statistic is at most one bin (1.9e-6) higher.
 *
 * The pair scores are a blocked matrix product (rows of 32 images against column blocks of
 * 32, the column block transposed so the inner loop is a vectorisable multiply-add over 32
 * accumulators), about 32 G multiply-adds, spread over N threads by an atomic row-block
 * index. Accumulation is in float; mien_template_compare accumulates in double: the two
 * differ by ~1e-7, below the bin width. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"

#define HIST_BITS 20
#define HIST_BINS (1u << HIST_BITS)
#define BLOCK 32              /* rows and columns per block (32 float accumulators) */
#define LEVELS_PER_DECADE 10  /* FMR levels 1e-6 · 10^(k/10) */
#define FMR_DECADES 6         /* from 1e-6 to 1 */

/* The embedded images, packed. */
typedef struct calib_data {
    size_t n;       /* images with a face */
    int da, db;     /* 192, 512 */
    const int *pid; /* person of each image */
    float *ta, *tb; /* column blocks transposed: block c at c·d·BLOCK, [d][BLOCK], zero-padded */
    float *xa, *xb; /* rows: image i at i·d */
    float w;        /* fusion weight of A */
    size_t n_blocks;
    atomic_size_t next_block;
} calib_data;

typedef struct calib_worker {
    calib_data *d;
    uint32_t *hist_fast, *hist_acc; /* HIST_BINS each; 45 M pairs fit in 32 bits */
    uint64_t pairs;
} calib_worker;

static inline uint32_t bin_of(float s)
{
    long b = (long)((s + 1.0f) * (float)(HIST_BINS / 2));
    return b < 0 ? 0 : (b >= (long)HIST_BINS ? HIST_BINS - 1 : (uint32_t)b);
}

/* acc[0..BLOCK) = x · t[d][BLOCK] (one row against one transposed column block). */
static void row_block(const float *x, const float *t, int dim, float *acc)
{
    float a[BLOCK] = {0};
    for (int k = 0; k < dim; k++) {
        const float xv = x[k];
        const float *tk = t + (size_t)k * BLOCK;
        for (int j = 0; j < BLOCK; j++) {
            a[j] += xv * tk[j];
        }
    }
    memcpy(acc, a, sizeof(a));
}

static void *calib_main(void *arg)
{
    calib_worker *w = arg;
    calib_data *d = w->d;
    float ca[BLOCK], cb[BLOCK];
    for (;;) {
        size_t r = atomic_fetch_add(&d->next_block, 1);
        if (r >= d->n_blocks) {
            break;
        }
        for (size_t c = r; c < d->n_blocks; c++) {
            const float *ta = d->ta + c * (size_t)d->da * BLOCK;
            const float *tb = d->tb + c * (size_t)d->db * BLOCK;
            for (size_t i = r * BLOCK; i < (r + 1) * BLOCK && i < d->n; i++) {
                size_t j0 = c * BLOCK;
                row_block(d->xa + i * (size_t)d->da, ta, d->da, ca);
                row_block(d->xb + i * (size_t)d->db, tb, d->db, cb);
                for (size_t j = 0; j < BLOCK && j0 + j < d->n; j++) {
                    if (j0 + j <= i || d->pid[i] == d->pid[j0 + j]) {
                        continue;
                    }
                    w->hist_fast[bin_of(ca[j])]++;
                    w->hist_acc[bin_of(d->w * ca[j] + (1.0f - d->w) * cb[j])]++;
                    w->pairs++;
                }
            }
        }
    }
    return NULL;
}

/* Thresholds at the FMR levels from a histogram of n pairs: thr[k] for level k, or NAN where
 * f·n < 1. */
static void thresholds(const uint64_t *hist, uint64_t n, double *thr, int levels)
{
    uint64_t cum = 0;
    int k = 0;
    for (int l = 0; l < levels; l++) {
        thr[l] = NAN;
    }
    while (k < levels) {
        double f = pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE);
        if (f * (double)n >= 1.0) {
            break;
        }
        k++;
    }
    for (long b = HIST_BINS - 1; b >= 0 && k < levels; b--) {
        cum += hist[b];
        for (;;) {
            double f = pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE);
            uint64_t rank = (uint64_t)ceil(f * (double)n - 1e-9);
            if (k >= levels || rank > cum) {
                break;
            }
            thr[k] = -1.0 + (double)b * 2.0 / HIST_BINS;
            k++;
        }
    }
}

static void write_table(FILE *f, const char *name, const double *thr, int levels,
                        uint64_t pairs)
{
    fprintf(f, "static const calibration_point %s_points[] = {\n", name);
    for (int k = 0; k < levels; k++) {
        if (!isnan(thr[k])) {
            fprintf(f, "    {%.6g, %.7ff},\n",
                    pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE), thr[k]);
        }
    }
    fprintf(f,
            "};\nconst calibration_table calibration_table_%s = {\n    %s_points, "
            "sizeof(%s_points) / sizeof(%s_points[0]), %llu};\n",
            name, name, name, name, (unsigned long long)pairs);
}

/* Reads peopleDevTrain.txt ("N" then "name<TAB>count" lines) into image paths and person
 * ids (malloc'd). Prints the problem and returns false when malformed. */
static bool read_people(const char *dir, char ***paths, int **pid, size_t *n, int *people)
{
    char path[4200], line[1024];
    FILE *f;
    size_t cap = 0;
    int declared = 0, lineno = 1;
    bool ok = false;
    *paths = NULL;
    *pid = NULL;
    *n = 0;
    *people = 0;
    snprintf(path, sizeof(path), "%s/peopleDevTrain.txt", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "mien eval calibrate: cannot read %s\n", path);
        return false;
    }
    if (fgets(line, sizeof(line), f) == NULL || sscanf(line, "%d", &declared) != 1) {
        fprintf(stderr, "mien eval calibrate: %s:1: want the number of people\n", path);
        goto done;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[256];
        int count;
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0') {
            continue;
        }
        if (sscanf(line, "%255s %d", name, &count) != 2 || count < 1 || count > 10000) {
            fprintf(stderr, "mien eval calibrate: %s:%d: want \"name count\"\n", path, lineno);
            goto done;
        }
        for (int k = 1; k <= count; k++) {
            if (*n == cap) {
                size_t nc = cap ? 2 * cap : 4096;
                char **np = realloc(*paths, nc * sizeof(**paths));
                int *ni;
                if (np == NULL) {
                    goto nomem;
                }
                *paths = np;
                ni = realloc(*pid, nc * sizeof(**pid));
                if (ni == NULL) {
                    goto nomem;
                }
                *pid = ni;
                cap = nc;
            }
            (*paths)[*n] = eval_lfw_image(dir, name, k);
            if ((*paths)[*n] == NULL) {
                goto nomem;
            }
            (*pid)[*n] = *people;
            (*n)++;
        }
        (*people)++;
    }
    if (*people != declared) {
        fprintf(stderr, "mien eval calibrate: %s: header says %d people, found %d\n", path,
                declared, *people);
        goto done;
    }
    ok = true;
    goto done;
nomem:
    fprintf(stderr, "mien eval calibrate: out of memory\n");
done:
    fclose(f);
    return ok;
}

enum { LEVELS = FMR_DECADES * LEVELS_PER_DECADE + 1 };

/* The thresholds and what they were measured on, for the generated source. */
typedef struct calib_table {
    double fast[LEVELS], accurate[LEVELS];
    uint64_t pairs;            /* impostor pairs scored */
    int people;                /* in peopleDevTrain.txt */
    size_t images, embedded;   /* listed, and with a face */
    size_t no_face, unreadable;
    double w;                  /* the library's fusion weight of A */
} calib_table;

/* Packs the images of r that have a vector into d (rows, and transposed zero-padded column
 * blocks) with their person from pid (*pid_ok, malloc'd, the caller frees, as d's arrays).
 * False when out of memory. */
static bool pack(const eval_embed_result *r, const int *pid, calib_data *d, int **pid_ok)
{
    for (size_t i = 0; i < r->n; i++) {
        d->n += r->images[i].vec != NULL;
    }
    d->n_blocks = (d->n + BLOCK - 1) / BLOCK;
    d->xa = malloc(d->n * (size_t)d->da * sizeof(float));
    d->xb = malloc(d->n * (size_t)d->db * sizeof(float));
    d->ta = calloc(d->n_blocks * BLOCK * (size_t)d->da, sizeof(float));
    d->tb = calloc(d->n_blocks * BLOCK * (size_t)d->db, sizeof(float));
    *pid_ok = malloc((d->n + 1) * sizeof(**pid_ok));
    if (d->xa == NULL || d->xb == NULL || d->ta == NULL || d->tb == NULL || *pid_ok == NULL) {
        return false;
    }
    for (size_t i = 0, m = 0; i < r->n; i++) {
        const float *v = r->images[i].vec;
        size_t c = m / BLOCK, j = m % BLOCK;
        if (v == NULL) {
            continue;
        }
        memcpy(d->xa + m * (size_t)d->da, v, (size_t)d->da * sizeof(float));
        memcpy(d->xb + m * (size_t)d->db, v + d->da, (size_t)d->db * sizeof(float));
        for (int k = 0; k < d->da; k++) {
            d->ta[(c * (size_t)d->da + (size_t)k) * BLOCK + j] = v[k];
        }
        for (int k = 0; k < d->db; k++) {
            d->tb[(c * (size_t)d->db + (size_t)k) * BLOCK + j] = v[d->da + k];
        }
        (*pid_ok)[m++] = pid[i];
    }
    d->pid = *pid_ok;
    return true;
}

/* Scores every impostor pair of d on `threads` workers into the histograms hf and ha
 * (HIST_BINS each, fast and accurate); *pairs gets their number. False, with a message, when
 * no worker could start or out of memory. */
static bool score_impostors(calib_data *d, int threads, uint64_t *hf, uint64_t *ha,
                            uint64_t *pairs)
{
    calib_worker *ws = calloc((size_t)threads, sizeof(*ws));
    pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
    int started = 0;
    double t0 = mien_now_ms();
    if (ws == NULL || tids == NULL) {
        fprintf(stderr, "mien eval calibrate: out of memory\n");
        free(ws);
        free(tids);
        return false;
    }
    atomic_init(&d->next_block, 0);
    for (started = 0; started < threads; started++) {
        ws[started].d = d;
        ws[started].hist_fast = calloc(HIST_BINS, sizeof(uint32_t));
        ws[started].hist_acc = calloc(HIST_BINS, sizeof(uint32_t));
        if (ws[started].hist_fast == NULL || ws[started].hist_acc == NULL ||
            pthread_create(&tids[started], NULL, calib_main, &ws[started]) != 0) {
            free(ws[started].hist_fast);
            free(ws[started].hist_acc);
            break;
        }
    }
    if (started == 0) {
        fprintf(stderr, "mien eval calibrate: cannot start a worker thread\n");
    }
    for (int k = 0; k < started; k++) {
        pthread_join(tids[k], NULL);
        for (uint32_t b = 0; b < HIST_BINS; b++) {
            hf[b] += ws[k].hist_fast[b];
            ha[b] += ws[k].hist_acc[b];
        }
        *pairs += ws[k].pairs;
        free(ws[k].hist_fast);
        free(ws[k].hist_acc);
    }
    if (started > 0) {
        fprintf(stderr, "mien eval calibrate: %llu impostor pairs scored in %.1f s (%d threads)\n",
                (unsigned long long)*pairs, (mien_now_ms() - t0) / 1e3, started);
    }
    free(ws);
    free(tids);
    return started > 0;
}

/* Measures the thresholds of both profiles on the embedded images r (pid: each one's person)
 * into *t, printing one level a decade. False, with a message, on failure. */
static bool measure(const eval_embed_result *r, const int *pid, int threads, calib_table *t)
{
    calib_data d;
    int *pid_ok = NULL;
    uint64_t *hf = calloc(HIST_BINS, sizeof(*hf)), *ha = calloc(HIST_BINS, sizeof(*ha));
    bool ok = false;
    memset(&d, 0, sizeof(d));
    d.da = r->dim_a;
    d.db = r->dim_b;
    d.w = (float)t->w;
    if (hf == NULL || ha == NULL || !pack(r, pid, &d, &pid_ok)) {
        fprintf(stderr, "mien eval calibrate: out of memory\n");
    } else if (score_impostors(&d, threads, hf, ha, &t->pairs)) {
        thresholds(hf, t->pairs, t->fast, LEVELS);
        thresholds(ha, t->pairs, t->accurate, LEVELS);
        for (int k = 0; k < LEVELS; k += LEVELS_PER_DECADE) {
            fprintf(stderr, "  FMR %-6.0e fast %.4f   accurate %.4f\n",
                    pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE), t->fast[k],
                    t->accurate[k]);
        }
        ok = true;
    }
    t->embedded = d.n;
    free(hf);
    free(ha);
    free(pid_ok);
    free(d.tb);
    free(d.ta);
    free(d.xb);
    free(d.xa);
    return ok;
}

/* Writes src/face/calibration_table.c's source for *t to `path` (NULL: stdout). False, with
 * a message, when it cannot be written. */
static bool write_source(const char *path, const calib_table *t)
{
    char date[32];
    time_t now = time(NULL);
    FILE *out = path != NULL ? fopen(path, "w") : stdout;
    if (out == NULL) {
        fprintf(stderr, "mien eval calibrate: cannot write %s\n", path);
        return false;
    }
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(out,
            "/* calibration_table.c — GENERATED by `mien eval calibrate`; do not edit by hand.\n"
            " *\n"
            " * Command: mien eval calibrate --out src/face/calibration_table.c (mien %s)\n"
            " * Date:    %s\n"
            " * Data:    LFW deep-funneled, peopleDevTrain.txt: %d people, %zu images (%zu "
            "without a\n"
            " *          face, %zu unreadable, left out); all %llu cross-identity (impostor) "
            "pairs\n"
            " *          of the %zu embedded images.\n"
            " * Scores:  fast = cos A; accurate = %.4g * cos A + %.4g * cos B (the library's\n"
            " *          CALIBRATION_FUSION_WEIGHT_A, read back through mien_template_compare).\n"
            " * Method:  per profile a histogram of 2^%d bins over [-1, 1] (bin %.2g); the "
            "threshold\n"
            " *          at FMR f is the lower edge of the bin holding the ceil(f*N)-th highest\n"
            " *          impostor score (exact to one bin); 10 levels per decade from 1e-6 to "
            "1.\n"
            " *          docs/calibration.md tells more. */\n"
            "#include \"face/calibration.h\"\n\n",
            MIEN_VERSION_STRING, date, t->people, t->images, t->no_face, t->unreadable,
            (unsigned long long)t->pairs, t->embedded, t->w, 1.0 - t->w, HIST_BITS,
            2.0 / HIST_BINS);
    write_table(out, "fast", t->fast, LEVELS, t->pairs);
    fprintf(out, "\n");
    write_table(out, "accurate", t->accurate, LEVELS, t->pairs);
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "mien eval calibrate: cannot write %s\n", path);
        return false;
    }
    fflush(stdout);
    return true;
}

int tools_eval_calibrate(int argc, char **argv)
{
    eval_options o;
    eval_embed_result r;
    eval_embed_job job;
    calib_table t;
    mien_engine *engine = NULL;
    char dir[4096], **paths = NULL;
    int *pid = NULL, rc = CLI_EXIT_FAIL;
    size_t n = 0;
    memset(&r, 0, sizeof(r));
    memset(&t, 0, sizeof(t));
    int parsed = eval_parse_options("calibrate", argc, argv, EVAL_OPT_DATA | EVAL_OPT_OUT, &o);
    if (parsed != CLI_PARSED) {
        return parsed;
    }
    if (!eval_find_lfw("calibrate", o.data_dir, "peopleDevTrain.txt", dir, sizeof(dir)) ||
        !read_people(dir, &paths, &pid, &n, &t.people) ||
        eval_open_engine(&o, &engine) != MIEN_OK) {
        goto done;
    }
    fprintf(stderr, "mien eval calibrate: %d people, %zu images, %d threads\n", t.people, n,
            o.threads);
    job = (eval_embed_job){.paths = (const char *const *)paths,
                           .n = n,
                           .profile = MIEN_PROFILE_ACCURATE,
                           .threads = o.threads,
                           .label = "embedded"};
    if (eval_embed_run(engine, &job, &r) != MIEN_OK) {
        goto done;
    }
    t.w = eval_library_weight(&r);
    if (t.w < 0 || r.dim_a == 0 || r.dim_b == 0) {
        fprintf(stderr, "mien eval calibrate: cannot read the fusion weight back\n");
        goto done;
    }
    t.images = n;
    t.no_face = r.no_face;
    t.unreadable = r.unreadable;
    if (measure(&r, pid, o.threads, &t) && write_source(o.out, &t)) {
        rc = CLI_EXIT_OK;
    }
done:
    eval_embed_result_free(&r);
    mien_engine_free(engine);
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
    }
    free(paths);
    free(pid);
    return rc;
}
