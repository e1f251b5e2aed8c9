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
 * differ by ~1e-7, below the bin width.
 *
 * Aggregate scores (mien.h mien_aggregate): a subject enrolled with n = 2 .. 4 photos is each
 * person of the list with at least n images, its first n images; its impostors are every
 * image of every other person. For each rule and n the aggregate impostor scores get their
 * own table (calibration_aggregates[]): best face and top-2 from the n faces' similarities,
 * the mean rules from the subject's mean template (each embedder's mean renormalised; the
 * quality rule weighting each face by mien_aggregate_weight) — the gallery's definitions
 * (gallery/aggregate.c), restated here over the packed vectors. Their histograms have 2^18
 * bins (bin 7.6e-6): 24 of them per worker. */
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

/* Thresholds at the FMR levels from a histogram of n pairs in `bins` bins over [-1, 1]:
 * thr[k] for level k, or NAN where f·n < 1. */
static void thresholds_in(const uint64_t *hist, uint32_t bins, uint64_t n, double *thr,
                          int levels)
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
    for (long b = (long)bins - 1; b >= 0 && k < levels; b--) {
        cum += hist[b];
        for (;;) {
            double f = pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE);
            uint64_t rank = (uint64_t)ceil(f * (double)n - 1e-9);
            if (k >= levels || rank > cum) {
                break;
            }
            thr[k] = -1.0 + (double)b * 2.0 / bins;
            k++;
        }
    }
}

static void thresholds(const uint64_t *hist, uint64_t n, double *thr, int levels)
{
    thresholds_in(hist, HIST_BINS, n, thr, levels);
}

/* The points of one table, as a static array NAME_points. */
static void write_points(FILE *f, const char *name, const double *thr, int levels)
{
    fprintf(f, "static const calibration_point %s_points[] = {\n", name);
    for (int k = 0; k < levels; k++) {
        if (!isnan(thr[k])) {
            fprintf(f, "    {%.6g, %.7ff},\n",
                    pow(10.0, -FMR_DECADES + (double)k / LEVELS_PER_DECADE), thr[k]);
        }
    }
    fprintf(f, "};\n");
}

static void write_table(FILE *f, const char *name, const double *thr, int levels,
                        uint64_t pairs)
{
    write_points(f, name, thr, levels);
    fprintf(f,
            "const calibration_table calibration_table_%s = {\n    %s_points, "
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

#define AGG_BITS 18
#define AGG_BINS (1u << AGG_BITS)
#define AGG_MAX_FACES MIEN_CALIBRATED_FACES
#define AGG_NS (AGG_MAX_FACES - 1)  /* n = 2 .. AGG_MAX_FACES */
#define AGG_RULES 4                 /* MIEN_AGGREGATE_BEST .. MIEN_AGGREGATE_TOP2 */
#define AGG_HISTS (2 * AGG_RULES * AGG_NS)
#define AGG_HIST(profile, rule, n) ((((profile) * AGG_RULES + (int)(rule) - 1) * AGG_NS + (n) - 2))

/* The thresholds and what they were measured on, for the generated source. */
typedef struct calib_table {
    double fast[LEVELS], accurate[LEVELS];
    uint64_t pairs;            /* impostor pairs scored */
    int people;                /* in peopleDevTrain.txt */
    size_t images, embedded;   /* listed, and with a face */
    size_t no_face, unreadable;
    double w;                  /* the library's fusion weight of A */
    double agg[AGG_HISTS][LEVELS]; /* aggregate tables, by AGG_HIST */
    uint64_t agg_pairs[AGG_NS];    /* impostor pairs per number of faces */
    size_t agg_subjects[AGG_NS];   /* subjects with that many faces */
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

/* ---- aggregate scores: subjects of 2 .. AGG_MAX_FACES faces ------------------------------ */

/* One subject of the aggregate calibration: its columns in the gallery matrix. */
typedef struct agg_subject {
    int pid;
    int faces; /* min(images, AGG_MAX_FACES), >= 2 */
    size_t face_col[AGG_MAX_FACES];
    size_t mean_col[AGG_NS], quality_col[AGG_NS]; /* by n − 2, n <= faces */
} agg_subject;

/* The probes (calib_data's rows) against the gallery: every subject's faces and its mean
 * templates, as transposed column blocks. */
typedef struct agg_data {
    const calib_data *d;
    size_t n_cols, n_blocks;
    float *ta, *tb; /* as calib_data's: block c at c·dim·BLOCK, [dim][BLOCK] */
    agg_subject *subjects;
    size_t n_subjects;
    atomic_size_t next_probe;
} agg_data;

typedef struct agg_worker {
    agg_data *a;
    uint32_t *hist; /* AGG_HISTS × AGG_BINS */
    uint64_t pairs[AGG_NS];
} agg_worker;

static inline uint32_t agg_bin(float s)
{
    long b = (long)((s + 1.0f) * (float)(AGG_BINS / 2));
    return b < 0 ? 0 : (b >= (long)AGG_BINS ? AGG_BINS - 1 : (uint32_t)b);
}

/* Writes vector v (dim floats) as column `col` of the transposed blocks t. */
static void agg_put(float *t, int dim, size_t col, const float *v)
{
    size_t c = col / BLOCK, j = col % BLOCK;
    for (int k = 0; k < dim; k++) {
        t[(c * (size_t)dim + (size_t)k) * BLOCK + j] = v[k];
    }
}

/* out = normalise(Σ_k<n w_k · x[rows[k]]) over dim floats (w NULL: all 1). */
static void agg_mean(const float *x, int dim, const size_t *rows, const float *w, int n,
                     float *out)
{
    double norm = 0.0;
    for (int j = 0; j < dim; j++) {
        double s = 0.0;
        for (int k = 0; k < n; k++) {
            s += (w != NULL ? w[k] : 1.0f) * x[rows[k] * (size_t)dim + (size_t)j];
        }
        out[j] = (float)s;
        norm += s * s;
    }
    norm = norm > 0 ? sqrt(norm) : 1.0;
    for (int j = 0; j < dim; j++) {
        out[j] = (float)(out[j] / norm);
    }
}

/* The subjects of d (each person's first images, packed rows in order) and their columns:
 * faces, then means and quality-weighted means for n = 2 .. faces. q[i]: packed row i's
 * quality. False when out of memory. */
static bool agg_build(agg_data *a, const calib_data *d, const mien_quality *q)
{
    size_t cap = 0, col = 0;
    a->d = d;
    for (size_t i = 0; i < d->n;) {
        size_t j = i;
        while (j < d->n && d->pid[j] == d->pid[i]) {
            j++;
        }
        if (j - i >= 2) {
            if (a->n_subjects == cap) {
                cap = cap ? 2 * cap : 1024;
                agg_subject *grown = realloc(a->subjects, cap * sizeof(*grown));
                if (grown == NULL) {
                    return false;
                }
                a->subjects = grown;
            }
            agg_subject *sb = &a->subjects[a->n_subjects++];
            sb->pid = d->pid[i];
            sb->faces = j - i > AGG_MAX_FACES ? AGG_MAX_FACES : (int)(j - i);
            for (int k = 0; k < sb->faces; k++) {
                sb->face_col[k] = i + (size_t)k; /* a face column is its packed row (below) */
            }
        }
        i = j;
    }
    /* columns: first every packed row's own vector (so a face's column is its row), then the
     * means */
    col = d->n;
    for (size_t s = 0; s < a->n_subjects; s++) {
        for (int n = 2; n <= a->subjects[s].faces; n++) {
            a->subjects[s].mean_col[n - 2] = col++;
            a->subjects[s].quality_col[n - 2] = col++;
        }
    }
    a->n_cols = col;
    a->n_blocks = (col + BLOCK - 1) / BLOCK;
    a->ta = calloc(a->n_blocks * BLOCK * (size_t)d->da, sizeof(float));
    a->tb = calloc(a->n_blocks * BLOCK * (size_t)d->db, sizeof(float));
    if (a->ta == NULL || a->tb == NULL) {
        return false;
    }
    for (size_t i = 0; i < d->n; i++) {
        agg_put(a->ta, d->da, i, d->xa + i * (size_t)d->da);
        agg_put(a->tb, d->db, i, d->xb + i * (size_t)d->db);
    }
    float va[1024], vb[1024], w[AGG_MAX_FACES];
    if (d->da > 1024 || d->db > 1024) {
        return false;
    }
    for (size_t s = 0; s < a->n_subjects; s++) {
        const agg_subject *sb = &a->subjects[s];
        for (int k = 0; k < sb->faces; k++) {
            w[k] = mien_aggregate_weight(&q[sb->face_col[k]]);
        }
        for (int n = 2; n <= sb->faces; n++) {
            for (int weighted = 0; weighted < 2; weighted++) {
                size_t c = weighted ? sb->quality_col[n - 2] : sb->mean_col[n - 2];
                agg_mean(d->xa, d->da, sb->face_col, weighted ? w : NULL, n, va);
                agg_mean(d->xb, d->db, sb->face_col, weighted ? w : NULL, n, vb);
                agg_put(a->ta, d->da, c, va);
                agg_put(a->tb, d->db, c, vb);
            }
        }
    }
    return true;
}

/* Probe i's impostor aggregates against every subject of another person, into w's
 * histograms. ca, cb: room for a->n_blocks · BLOCK scores. */
static void agg_probe(agg_worker *w, size_t i, float *ca, float *cb)
{
    const agg_data *a = w->a;
    const calib_data *d = a->d;
    for (size_t c = 0; c < a->n_blocks; c++) {
        row_block(d->xa + i * (size_t)d->da, a->ta + c * (size_t)d->da * BLOCK, d->da,
                  ca + c * BLOCK);
        row_block(d->xb + i * (size_t)d->db, a->tb + c * (size_t)d->db * BLOCK, d->db,
                  cb + c * BLOCK);
    }
    for (size_t s = 0; s < a->n_subjects; s++) {
        const agg_subject *sb = &a->subjects[s];
        if (sb->pid == d->pid[i]) {
            continue;
        }
        for (int profile = 0; profile < 2; profile++) {
            float wa = profile == MIEN_PROFILE_FAST ? 1.0f : d->w;
            float wb = profile == MIEN_PROFILE_FAST ? 0.0f : 1.0f - d->w;
            float best = -INFINITY, second = -INFINITY;
            for (int k = 0; k < sb->faces; k++) {
                size_t f = sb->face_col[k];
                float sim = wa * ca[f] + wb * cb[f];
                second = sim > best ? best : (sim > second ? sim : second);
                best = sim > best ? sim : best;
                if (k == 0) {
                    continue;
                }
                int n = k + 1;
                size_t m = sb->mean_col[n - 2], qc = sb->quality_col[n - 2];
                uint32_t *h = w->hist;
                h[(size_t)AGG_HIST(profile, MIEN_AGGREGATE_BEST, n) * AGG_BINS + agg_bin(best)]++;
                h[(size_t)AGG_HIST(profile, MIEN_AGGREGATE_TOP2, n) * AGG_BINS +
                  agg_bin(0.5f * (best + second))]++;
                h[(size_t)AGG_HIST(profile, MIEN_AGGREGATE_MEAN, n) * AGG_BINS +
                  agg_bin(wa * ca[m] + wb * cb[m])]++;
                h[(size_t)AGG_HIST(profile, MIEN_AGGREGATE_QUALITY, n) * AGG_BINS +
                  agg_bin(wa * ca[qc] + wb * cb[qc])]++;
                w->pairs[n - 2] += profile == 0;
            }
        }
    }
}

static void *agg_main(void *arg)
{
    agg_worker *w = arg;
    size_t cols = w->a->n_blocks * BLOCK;
    float *ca = malloc(cols * sizeof(float)), *cb = malloc(cols * sizeof(float));
    for (;;) {
        size_t i = atomic_fetch_add(&w->a->next_probe, 1);
        if (ca == NULL || cb == NULL || i >= w->a->d->n) {
            break;
        }
        agg_probe(w, i, ca, cb);
    }
    free(ca);
    free(cb);
    return NULL;
}

/* The aggregate tables of *t from d (q: packed rows' quality), on `threads` workers. False,
 * with a message, when out of memory or no worker started. */
static bool measure_aggregates(const calib_data *d, const mien_quality *q, int threads,
                               calib_table *t)
{
    agg_data a;
    agg_worker *ws = calloc((size_t)threads, sizeof(*ws));
    pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
    uint64_t *sum = calloc(AGG_BINS, sizeof(*sum));
    int started = 0;
    bool ok = false;
    double t0 = mien_now_ms();
    memset(&a, 0, sizeof(a));
    if (ws == NULL || tids == NULL || sum == NULL || !agg_build(&a, d, q)) {
        fprintf(stderr, "mien eval calibrate: out of memory\n");
        goto done;
    }
    atomic_init(&a.next_probe, 0);
    for (started = 0; started < threads; started++) {
        ws[started].a = &a;
        ws[started].hist = calloc((size_t)AGG_HISTS * AGG_BINS, sizeof(uint32_t));
        if (ws[started].hist == NULL ||
            pthread_create(&tids[started], NULL, agg_main, &ws[started]) != 0) {
            free(ws[started].hist);
            break;
        }
    }
    for (int k = 0; k < started; k++) {
        pthread_join(tids[k], NULL);
        for (int n = 0; n < AGG_NS; n++) {
            t->agg_pairs[n] += ws[k].pairs[n];
        }
    }
    for (size_t s = 0; s < a.n_subjects; s++) {
        for (int n = 2; n <= a.subjects[s].faces; n++) {
            t->agg_subjects[n - 2]++;
        }
    }
    for (int h = 0; started > 0 && h < AGG_HISTS; h++) {
        for (uint32_t b = 0; b < AGG_BINS; b++) {
            sum[b] = 0;
            for (int k = 0; k < started; k++) {
                sum[b] += ws[k].hist[(size_t)h * AGG_BINS + b];
            }
        }
        thresholds_in(sum, AGG_BINS, t->agg_pairs[h % AGG_NS], t->agg[h], LEVELS);
    }
    for (int k = 0; k < started; k++) {
        free(ws[k].hist);
    }
    ok = started > 0;
    if (ok) {
        fprintf(stderr, "mien eval calibrate: aggregates of %zu subjects scored in %.1f s\n",
                a.n_subjects, (mien_now_ms() - t0) / 1e3);
        for (int r = 1; r <= AGG_RULES; r++) {
            for (int n = 2; n <= AGG_MAX_FACES; n++) {
                fprintf(stderr, "  %-7s %d faces: FMR 1e-3 fast %.4f accurate %.4f (%llu pairs)\n",
                        mien_aggregate_name((mien_aggregate)r), n,
                        t->agg[AGG_HIST(0, r, n)][3 * LEVELS_PER_DECADE],
                        t->agg[AGG_HIST(1, r, n)][3 * LEVELS_PER_DECADE],
                        (unsigned long long)t->agg_pairs[n - 2]);
            }
        }
    } else {
        fprintf(stderr, "mien eval calibrate: cannot start a worker thread\n");
    }
done:
    free(sum);
    free(ws);
    free(tids);
    free(a.subjects);
    free(a.ta);
    free(a.tb);
    return ok;
}

/* The aggregate tables' source: their points, then calibration_aggregates[]. */
static void write_aggregates(FILE *out, const calib_table *t)
{
    static const char *const profiles[2] = {"fast", "accurate"};
    static const char *const enums[2] = {"MIEN_PROFILE_FAST", "MIEN_PROFILE_ACCURATE"};
    static const char *const rules[AGG_RULES + 1] = {
        NULL, "MIEN_AGGREGATE_BEST", "MIEN_AGGREGATE_MEAN", "MIEN_AGGREGATE_QUALITY",
        "MIEN_AGGREGATE_TOP2"};
    char name[64];
    fprintf(out, "\n/* Aggregate scores (mien_aggregate) of subjects enrolled with n = 2 .. %d of "
                 "their images:\n * %zu, %zu and %zu subjects; %llu, %llu and %llu impostor "
                 "pairs\n * (histograms of 2^%d bins). */\n",
            AGG_MAX_FACES, t->agg_subjects[0], t->agg_subjects[1], t->agg_subjects[2],
            (unsigned long long)t->agg_pairs[0], (unsigned long long)t->agg_pairs[1],
            (unsigned long long)t->agg_pairs[2], AGG_BITS);
    for (int p = 0; p < 2; p++) {
        for (int r = 1; r <= AGG_RULES; r++) {
            for (int n = 2; n <= AGG_MAX_FACES; n++) {
                snprintf(name, sizeof(name), "%s_%s_%d", profiles[p],
                         mien_aggregate_name((mien_aggregate)r), n);
                write_points(out, name, t->agg[AGG_HIST(p, r, n)], LEVELS);
            }
        }
    }
    fprintf(out, "\n#define POINTS(p) p, sizeof(p) / sizeof((p)[0])\n"
                 "const calibration_aggregate calibration_aggregates[] = {\n");
    for (int p = 0; p < 2; p++) {
        for (int r = 1; r <= AGG_RULES; r++) {
            for (int n = 2; n <= AGG_MAX_FACES; n++) {
                snprintf(name, sizeof(name), "%s_%s_%d", profiles[p],
                         mien_aggregate_name((mien_aggregate)r), n);
                fprintf(out, "    {%s, %s, %d, {POINTS(%s_points), %llu}},\n", enums[p],
                        rules[r], n, name, (unsigned long long)t->agg_pairs[n - 2]);
            }
        }
    }
    fprintf(out, "};\nconst size_t calibration_aggregates_n =\n    sizeof(calibration_aggregates) "
                 "/ sizeof(calibration_aggregates[0]);\n");
}

/* The quality of each image of r that has a vector, in pack()'s order (*q malloc'd). */
static bool pack_quality(const eval_embed_result *r, mien_quality **q)
{
    size_t m = 0;
    *q = malloc((r->n + 1) * sizeof(**q));
    for (size_t i = 0; *q != NULL && i < r->n; i++) {
        if (r->images[i].vec != NULL) {
            (*q)[m++] = r->images[i].quality;
        }
    }
    if (*q == NULL) {
        fprintf(stderr, "mien eval calibrate: out of memory\n");
    }
    return *q != NULL;
}

/* Measures the thresholds of both profiles on the embedded images r (pid: each one's person)
 * into *t, printing one level a decade. False, with a message, on failure. */
static bool measure(const eval_embed_result *r, const int *pid, int threads, calib_table *t)
{
    calib_data d;
    int *pid_ok = NULL;
    uint64_t *hf = calloc(HIST_BINS, sizeof(*hf)), *ha = calloc(HIST_BINS, sizeof(*ha));
    mien_quality *q = NULL;
    bool ok = false;
    memset(&d, 0, sizeof(d));
    d.da = r->dim_a;
    d.db = r->dim_b;
    d.w = (float)t->w;
    if (hf == NULL || ha == NULL || !pack(r, pid, &d, &pid_ok)) {
        fprintf(stderr, "mien eval calibrate: out of memory\n");
    } else if (score_impostors(&d, threads, hf, ha, &t->pairs) &&
               pack_quality(r, &q) && measure_aggregates(&d, q, threads, t)) {
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
    free(q);
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
    write_aggregates(out, t);
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
