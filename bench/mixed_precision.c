/* mixed_precision.c — bench/mixed_precision.sh's helper: what happens to similarities and to
 * the calibrated thresholds when a template made in one precision is compared with one made
 * in another, as when an AVX-512 node (bfloat16 embedders) and an AVX2 node (float32) serve
 * one store (docs/precision.md, "Mixed nodes").
 *
 * The ISA cap is process-wide and set once (mien_set_max_isa), so the two kinds of node are
 * two processes: `embed` runs once per node and writes every template it made to a file;
 * `compare` reads two such files and scores them against each other.
 *
 *   mien_bench_mixed embed LFW_DIR OUT [MAX_TRAIN]
 *       Honours $MIEN_MAX_ISA, $MIEN_PRECISION and $MIEN_MODELS (as the `mien` binary
 *       does). Embeds, with the `accurate` profile (both embedders, so one pass serves both
 *       profiles), the most prominent face of every image of the people of
 *       peopleDevTrain.txt (4038 people, 9525 images: the calibration set of
 *       `mien eval calibrate`; with MAX_TRAIN, its first people in the file's alphabetical
 *       order, up to that many images) and then of every image of pairsDevTest.txt (LFW View
 *       1 development pairs: 1000 pairs, 1549 images; the set of bench/precision.sh). Writes
 *       OUT: "MIENMIX1", the image count, the ISA level and precision the engine ran at (16
 *       bytes each, NUL-padded), then per image a 32-bit length and the
 *       mien_template_serialize() bytes (length 0: unreadable or no face).
 *
 *   mien_bench_mixed compare LFW_DIR ENROL PROBE [MAX_TRAIN]
 *       ENROL and PROBE are two `embed` outputs of the same LFW_DIR and MAX_TRAIN (say bf16
 *       and float32). Prints one JSON line:
 *       - per image, 1 − cos(ENROL vector, PROBE vector) for each embedder (mean, p99, max);
 *       - per pairsDevTest pair (a, b): the "cross" similarities ENROL[a]·PROBE[b] and
 *         PROBE[a]·ENROL[b] (2 per pair) and the "pure ENROL" similarity ENROL[a]·ENROL[b],
 *         each against the "pure PROBE" one PROBE[a]·PROBE[b]: |Δ| mean, p99, max, for `fast`
 *         (cos A) and `accurate` (mien_template_compare), and how many change side of the
 *         committed thresholds at FMR 1e-3 and 1e-4 (mien_threshold_for_fmr);
 *       - over the impostor pairs of the listed peopleDevTrain images (different people,
 *         both images with a face): pure PROBE (i < j), pure ENROL (i < j) and cross
 *         (ENROL[i]·PROBE[j], every ordered i ≠ j: the same numbers as PROBE[i]·ENROL[j], a
 *         cosine not caring which side was enrolled), per profile the thresholds at FMR
 *         1e-6 .. 1e-1 found from those scores (as `mien eval calibrate` finds them:
 *         histogram of 2^20 bins, exact to one bin, 1.9e-6) and the false-match rate each set
 *         has at the committed thresholds (counted exactly: score >= threshold; the counts
 *         too).
 *       Images without a face in either file are left out of everything.
 *
 * Exit 0, 1 on a failure (named on stderr), 2 on bad usage. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfw_bench.h"
#include "mien.h"

#define MAGIC "MIENMIX1"
#define MAX_PAIRS 2048
#define MAX_TRAIN (LFW_MAX_IMAGES - 2 * MAX_PAIRS) /* room for every pair's two images */
#define HIST_BINS (1u << 20) /* as eval_calibrate.c: bin width 2/2^20 = 1.9e-6 */
#define BLOCK 32             /* columns per block in the impostor scan */
#define N_FMR 6              /* FMR 1e-6 .. 1e-1, one per decade */

static lfw_lists lfw; /* images [0, lfw.n_people_images) are peopleDevTrain's */

/* ---- the image list: the same, in the same order, for `embed` and `compare` ------------- */

/* Lists peopleDevTrain.txt's images (whole people, at most max_train images), then
 * pairsDevTest.txt's pairs and their images (lfw_bench.c). False, with the reason on
 * stderr, when a file is missing or malformed. */
static bool read_lists(const char *root, int max_train)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/peopleDevTrain.txt", root);
    if (!lfw_read_people(&lfw, root, path, max_train)) {
        fprintf(stderr, "mien_bench_mixed: %s\n", lfw.error);
        return false;
    }
    snprintf(path, sizeof(path), "%s/pairsDevTest.txt", root);
    if (!lfw_read_pairs(&lfw, root, path, MAX_PAIRS)) {
        fprintf(stderr, "mien_bench_mixed: %s\n", lfw.error);
        return false;
    }
    if (lfw.n_people_images == 0 || lfw.n_pairs == 0) {
        fprintf(stderr, "mien_bench_mixed: no images or no pairs under %s\n", root);
        return false;
    }
    return true;
}

/* ---- embed ------------------------------------------------------------------------------- */

/* Writes the template of img's most prominent face to f (length, bytes; length 0 when there
 * is no face or embedding fails). False only when writing fails. */
static bool embed_one(mien_session *s, const mien_image *img, FILE *f)
{
    mien_face *faces = NULL;
    mien_template *t = NULL;
    mien_error err;
    size_t n = 0, len = 0;
    uint32_t len32 = 0;
    uint8_t *buf = NULL;
    int pick = -1;
    bool ok;
    if (img != NULL && mien_detect(s, img, NULL, &faces, &n, &err) == MIEN_OK) {
        pick = mien_faces_prominent(faces, n, img);
        if (pick >= 0 &&
            mien_embed(s, img, &faces[pick], MIEN_PROFILE_ACCURATE, &t, &err) == MIEN_OK &&
            mien_template_serialize(t, NULL, 0, &len) == MIEN_OK && len > 0 &&
            (buf = malloc(len)) != NULL &&
            mien_template_serialize(t, buf, len, &len) == MIEN_OK) {
            len32 = (uint32_t)len;
        }
    }
    mien_faces_free(faces);
    mien_template_free(t);
    ok = fwrite(&len32, sizeof(len32), 1, f) == 1 &&
         (len32 == 0 || fwrite(buf, 1, len32, f) == len32);
    free(buf);
    return ok;
}

static int cmd_embed(const char *out)
{
    const char *cap_name = getenv("MIEN_MAX_ISA");
    mien_engine *e = NULL;
    mien_session *s = NULL;
    mien_error err;
    mien_isa cap;
    char isa[16] = {0}, prec[16] = {0};
    uint32_t n = (uint32_t)lfw.n_images;
    int faces = 0, rc = 1;
    FILE *f = NULL;
    if (cap_name != NULL && cap_name[0] != '\0' &&
        (mien_isa_parse(cap_name, &cap, &err) != MIEN_OK ||
         mien_set_max_isa(cap, &err) != MIEN_OK)) {
        fprintf(stderr, "mien_bench_mixed: MIEN_MAX_ISA: %s\n", err.message);
        return 1;
    }
    mien_engine_options opt = mien_engine_options_default();
    opt.models_dir = getenv("MIEN_MODELS");
    if (mien_precision_parse(getenv("MIEN_PRECISION"), &opt.precision, &err) != MIEN_OK ||
        mien_engine_new(&opt, &e, &err) != MIEN_OK || mien_session_new(e, &s, &err) != MIEN_OK) {
        fprintf(stderr, "mien_bench_mixed: %s\n", err.message);
        goto done;
    }
    snprintf(isa, sizeof(isa), "%s", mien_isa_name(mien_isa_active()));
    snprintf(prec, sizeof(prec), "%s", mien_precision_name(mien_engine_precision(e)));
    fprintf(stderr, "mien_bench_mixed: embedding %d images at ISA %s, precision %s\n", lfw.n_images,
            isa, prec);
    f = fopen(out, "wb");
    if (f == NULL || fwrite(MAGIC, 8, 1, f) != 1 || fwrite(&n, sizeof(n), 1, f) != 1 ||
        fwrite(isa, sizeof(isa), 1, f) != 1 || fwrite(prec, sizeof(prec), 1, f) != 1) {
        fprintf(stderr, "mien_bench_mixed: cannot write %s\n", out);
        goto done;
    }
    for (int i = 0; i < lfw.n_images; i++) {
        mien_image *img = NULL;
        long before = ftell(f);
        if (mien_image_load(lfw.images[i].path, NULL, &img, &err) != MIEN_OK) {
            fprintf(stderr, "mien_bench_mixed: %s: %s\n", lfw.images[i].path, err.message);
        }
        if (!embed_one(s, img, f)) {
            fprintf(stderr, "mien_bench_mixed: cannot write %s\n", out);
            mien_image_free(img);
            goto done;
        }
        faces += ftell(f) - before > 4;
        mien_image_free(img);
        if ((i + 1) % 1000 == 0) {
            fprintf(stderr, "mien_bench_mixed: %d of %d (%s)\n", i + 1, lfw.n_images, prec);
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "mien_bench_mixed: cannot write %s\n", out);
        goto done;
    }
    f = NULL;
    fprintf(stderr, "mien_bench_mixed: %d of %d images embedded into %s\n", faces, lfw.n_images,
            out);
    rc = 0;
done:
    if (f != NULL) {
        fclose(f);
    }
    mien_session_free(s);
    mien_engine_free(e);
    return rc;
}

/* ---- compare ----------------------------------------------------------------------------- */

/* One `embed` output: its header and its templates (t[i] NULL: no face), owned. */
typedef struct dump {
    char isa[16], precision[16];
    mien_template *t[LFW_MAX_IMAGES];
} dump;

/* Reads `path` into d. False, with the reason on stderr, when it is not a dump of lfw.n_images
 * images. */
static bool read_dump(const char *path, dump *d)
{
    char magic[8];
    uint32_t n, len;
    uint8_t *buf = NULL;
    mien_error err;
    bool ok = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL || fread(magic, 8, 1, f) != 1 || memcmp(magic, MAGIC, 8) != 0 ||
        fread(&n, sizeof(n), 1, f) != 1 || fread(d->isa, 16, 1, f) != 1 ||
        fread(d->precision, 16, 1, f) != 1) {
        fprintf(stderr, "mien_bench_mixed: %s is not a mien_bench_mixed embed output\n", path);
        goto done;
    }
    d->isa[15] = d->precision[15] = '\0';
    if (n != (uint32_t)lfw.n_images) {
        fprintf(stderr, "mien_bench_mixed: %s holds %u images, the lists %d\n", path, n,
                lfw.n_images);
        goto done;
    }
    for (int i = 0; i < lfw.n_images; i++) {
        d->t[i] = NULL;
        if (fread(&len, sizeof(len), 1, f) != 1 || len > (1u << 20)) {
            fprintf(stderr, "mien_bench_mixed: %s: truncated at image %d\n", path, i);
            goto done;
        }
        if (len == 0) {
            continue;
        }
        free(buf);
        buf = malloc(len);
        if (buf == NULL || fread(buf, 1, len, f) != len ||
            mien_template_deserialize(buf, len, &d->t[i], &err) != MIEN_OK) {
            fprintf(stderr, "mien_bench_mixed: %s: bad template at image %d\n", path, i);
            goto done;
        }
    }
    ok = true;
done:
    free(buf);
    if (f != NULL) {
        fclose(f);
    }
    return ok;
}

/* Similarity of x and y for profile prof: cos A (fast) or mien_template_compare (accurate). */
static double similarity(const mien_template *x, const mien_template *y, int prof)
{
    float s;
    mien_error err;
    if (prof == MIEN_PROFILE_FAST) {
        return lfw_cosine_part(x, y, 0);
    }
    return mien_template_compare(x, y, &s, &err) == MIEN_OK ? s : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Prints "name":{"mean":…,"p99":…,"max":…} of v[n] (sorted in place), then `sep`. */
static void print_stats(const char *name, double *v, int n, const char *sep)
{
    double sum = 0.0;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    for (int i = 0; i < n; i++) {
        sum += v[i];
    }
    printf("\"%s\":{\"mean\":%.3g,\"p99\":%.3g,\"max\":%.3g}%s", name, n ? sum / n : 0.0,
           n ? v[(int)(0.99 * (n - 1))] : 0.0, n ? v[n - 1] : 0.0, sep);
}

/* The impostor scan's data: per set (pure PROBE, pure ENROL, cross) and profile a histogram
 * and counts at the committed thresholds. */
enum { S_PROBE, S_ENROL, S_CROSS, S_COUNT };

typedef struct scan {
    int n, da, db;       /* images with a face in both dumps; dimensions */
    const int *person;   /* [n] */
    float *x[2], *t[2];  /* per dump (0: ENROL, 1: PROBE): rows [n][da+db], and column
                            blocks transposed: block c at c·(da+db)·BLOCK, [da+db][BLOCK] */
    float w;             /* the library's fusion weight of A (accurate) */
    float thr[2][N_FMR]; /* committed thresholds, [profile][decade] */
    uint64_t *hist[S_COUNT][2];
    uint64_t above[S_COUNT][2][N_FMR], pairs[S_COUNT];
} scan;

static inline uint32_t bin_of(float s)
{
    long b = (long)((s + 1.0f) * (float)(HIST_BINS / 2));
    return b < 0 ? 0 : (b >= (long)HIST_BINS ? HIST_BINS - 1 : (uint32_t)b);
}

static void score(scan *sc, int set, float ca, float cb)
{
    float s[2] = {ca, sc->w * ca + (1.0f - sc->w) * cb};
    for (int p = 0; p < 2; p++) {
        sc->hist[set][p][bin_of(s[p])]++;
        for (int k = 0; k < N_FMR; k++) {
            sc->above[set][p][k] += s[p] >= sc->thr[p][k];
        }
    }
    sc->pairs[set]++;
}

/* acc[j] = row · column j of the block, for the parts [0, da) and [da, da+db) apart. */
static void row_block(const float *row, const float *blk, int da, int db, float *acc_a,
                      float *acc_b)
{
    float a[BLOCK] = {0}, b[BLOCK] = {0};
    for (int k = 0; k < da; k++) {
        const float v = row[k], *col = blk + (size_t)k * BLOCK;
        for (int j = 0; j < BLOCK; j++) {
            a[j] += v * col[j];
        }
    }
    for (int k = da; k < da + db; k++) {
        const float v = row[k], *col = blk + (size_t)k * BLOCK;
        for (int j = 0; j < BLOCK; j++) {
            b[j] += v * col[j];
        }
    }
    memcpy(acc_a, a, sizeof(a));
    memcpy(acc_b, b, sizeof(b));
}

/* Scores every impostor pair three ways (see the file comment). */
static void scan_run(scan *sc)
{
    const int d = sc->da + sc->db, nb = (sc->n + BLOCK - 1) / BLOCK;
    float ca[BLOCK], cb[BLOCK];
    for (int i = 0; i < sc->n; i++) {
        const float *xe = sc->x[0] + (size_t)i * d, *xp = sc->x[1] + (size_t)i * d;
        for (int c = 0; c < nb; c++) {
            const int j0 = c * BLOCK;
            const float *te = sc->t[0] + (size_t)c * d * BLOCK;
            const float *tp = sc->t[1] + (size_t)c * d * BLOCK;
            row_block(xe, tp, sc->da, sc->db, ca, cb); /* ENROL[i] · PROBE[j], every j */
            for (int j = 0; j < BLOCK && j0 + j < sc->n; j++) {
                if (sc->person[i] != sc->person[j0 + j]) {
                    score(sc, S_CROSS, ca[j], cb[j]);
                }
            }
            if (j0 + BLOCK <= i + 1) {
                continue; /* no j > i in this block */
            }
            row_block(xp, tp, sc->da, sc->db, ca, cb);
            for (int j = 0; j < BLOCK && j0 + j < sc->n; j++) {
                if (j0 + j > i && sc->person[i] != sc->person[j0 + j]) {
                    score(sc, S_PROBE, ca[j], cb[j]);
                }
            }
            row_block(xe, te, sc->da, sc->db, ca, cb);
            for (int j = 0; j < BLOCK && j0 + j < sc->n; j++) {
                if (j0 + j > i && sc->person[i] != sc->person[j0 + j]) {
                    score(sc, S_ENROL, ca[j], cb[j]);
                }
            }
        }
    }
}

/* Threshold at FMR f over n pairs from hist: the lower edge of the bin holding the
 * ceil(f·n)-th highest score (as eval_calibrate.c); NAN when f·n < 1. */
static double hist_threshold(const uint64_t *hist, uint64_t n, double f)
{
    uint64_t rank = (uint64_t)ceil(f * (double)n - 1e-9), cum = 0;
    if (f * (double)n < 1.0) {
        return NAN;
    }
    for (long b = HIST_BINS - 1; b >= 0; b--) {
        cum += hist[b];
        if (cum >= rank) {
            return -1.0 + (double)b * 2.0 / HIST_BINS;
        }
    }
    return -1.0;
}

/* Fills sc's rows and blocks from the two dumps (images with a face in both, of
 * peopleDevTrain). False when out of memory or the templates are not `accurate` ones. */
static bool scan_fill(scan *sc, dump *const dumps[2], int *person)
{
    int d, nb;
    sc->n = 0;
    for (int i = 0; i < lfw.n_people_images; i++) {
        if (dumps[0]->t[i] != NULL && dumps[1]->t[i] != NULL) {
            person[sc->n++] = lfw.images[i].person;
        }
    }
    if (sc->n < 2) {
        return false;
    }
    for (int i = 0; i < lfw.n_people_images; i++) {
        const float *v;
        if (dumps[0]->t[i] == NULL) {
            continue;
        }
        if (mien_template_vector(dumps[0]->t[i], 0, &v, &sc->da) != MIEN_OK ||
            mien_template_vector(dumps[0]->t[i], 1, &v, &sc->db) != MIEN_OK) {
            return false;
        }
        break;
    }
    d = sc->da + sc->db;
    nb = (sc->n + BLOCK - 1) / BLOCK;
    for (int k = 0; k < 2; k++) {
        sc->x[k] = malloc((size_t)sc->n * d * sizeof(float));
        sc->t[k] = calloc((size_t)nb * d * BLOCK, sizeof(float));
        if (sc->x[k] == NULL || sc->t[k] == NULL) {
            return false;
        }
        for (int i = 0, m = 0; i < lfw.n_people_images; i++) {
            const float *a, *b;
            int da, db;
            if (dumps[0]->t[i] == NULL || dumps[1]->t[i] == NULL) {
                continue;
            }
            if (mien_template_vector(dumps[k]->t[i], 0, &a, &da) != MIEN_OK ||
                mien_template_vector(dumps[k]->t[i], 1, &b, &db) != MIEN_OK || da != sc->da ||
                db != sc->db) {
                return false;
            }
            memcpy(sc->x[k] + (size_t)m * d, a, (size_t)da * sizeof(float));
            memcpy(sc->x[k] + (size_t)m * d + da, b, (size_t)db * sizeof(float));
            for (int q = 0; q < d; q++) {
                sc->t[k][((size_t)(m / BLOCK) * d + q) * BLOCK + m % BLOCK] = q < da ? a[q]
                                                                                    : b[q - da];
            }
            m++;
        }
    }
    return true;
}

/* The fusion weight of A that mien_template_compare uses, read back from two templates whose
 * cosines differ (as eval_library_weight); -1 when none are found. */
static double library_weight(dump *d)
{
    const mien_template *first = NULL;
    for (int i = 0; i < lfw.n_people_images; i++) {
        double ca, cb;
        float s;
        if (d->t[i] == NULL) {
            continue;
        }
        if (first == NULL) {
            first = d->t[i];
            continue;
        }
        ca = lfw_cosine_part(first, d->t[i], 0);
        cb = lfw_cosine_part(first, d->t[i], 1);
        if (fabs(ca - cb) > 0.1 && mien_template_compare(first, d->t[i], &s, NULL) == MIEN_OK) {
            return round((s - cb) / (ca - cb) * 1e4) / 1e4;
        }
    }
    return -1;
}

static int cmd_compare(const char *enrol_path, const char *probe_path)
{
    static const char *set_names[S_COUNT] = {"pure_probe", "pure_enrol", "cross"};
    static const char *prof_names[2] = {"fast", "accurate"};
    static const double pair_fmr[2] = {1e-3, 1e-4};
    dump *dumps[2] = {calloc(1, sizeof(dump)), calloc(1, sizeof(dump))};
    double *one_minus_cos[2] = {NULL, NULL}, *dx[2] = {NULL, NULL}, *de[2] = {NULL, NULL};
    int n_both = 0, n_dx = 0, n_de = 0, flips_x[2][2] = {{0}}, flips_e[2][2] = {{0}}, rc = 1;
    int *person = NULL;
    float pthr[2][2];
    scan sc;
    memset(&sc, 0, sizeof(sc));
    if (dumps[0] == NULL || dumps[1] == NULL || !read_dump(enrol_path, dumps[0]) ||
        !read_dump(probe_path, dumps[1])) {
        goto done;
    }
    for (int p = 0; p < 2; p++) {
        one_minus_cos[p] = calloc((size_t)lfw.n_images, sizeof(double));
        dx[p] = calloc(2 * (size_t)lfw.n_pairs, sizeof(double));
        de[p] = calloc((size_t)lfw.n_pairs, sizeof(double));
        if (one_minus_cos[p] == NULL || dx[p] == NULL || de[p] == NULL) {
            goto nomem;
        }
        for (int k = 0; k < 2; k++) {
            mien_threshold_for_fmr((mien_profile)p, pair_fmr[k], &pthr[p][k]);
        }
    }
    /* per image: how far the two precisions put the same face */
    for (int i = 0; i < lfw.n_images; i++) {
        if (dumps[0]->t[i] == NULL || dumps[1]->t[i] == NULL) {
            continue;
        }
        for (int part = 0; part < 2; part++) {
            one_minus_cos[part][n_both] =
                1.0 - lfw_cosine_part(dumps[0]->t[i], dumps[1]->t[i], part);
        }
        n_both++;
    }
    /* pairsDevTest: cross and pure-ENROL similarities against pure PROBE */
    for (int k = 0; k < lfw.n_pairs; k++) {
        const int a = lfw.pairs[k].a, b = lfw.pairs[k].b;
        if (dumps[0]->t[a] == NULL || dumps[1]->t[a] == NULL || dumps[0]->t[b] == NULL ||
            dumps[1]->t[b] == NULL) {
            continue;
        }
        for (int p = 0; p < 2; p++) {
            const double base = similarity(dumps[1]->t[a], dumps[1]->t[b], p);
            const double cross[2] = {similarity(dumps[0]->t[a], dumps[1]->t[b], p),
                                     similarity(dumps[1]->t[a], dumps[0]->t[b], p)};
            const double pure = similarity(dumps[0]->t[a], dumps[0]->t[b], p);
            for (int c = 0; c < 2; c++) {
                dx[p][n_dx + c] = fabs(cross[c] - base);
                for (int f = 0; f < 2; f++) {
                    flips_x[p][f] += (cross[c] >= pthr[p][f]) != (base >= pthr[p][f]);
                }
            }
            de[p][n_de] = fabs(pure - base);
            for (int f = 0; f < 2; f++) {
                flips_e[p][f] += (pure >= pthr[p][f]) != (base >= pthr[p][f]);
            }
        }
        n_dx += 2;
        n_de++;
    }
    /* peopleDevTrain impostors, three ways */
    person = malloc((size_t)lfw.n_people_images * sizeof(*person));
    if (person == NULL) {
        goto nomem;
    }
    sc.person = person;
    sc.w = (float)library_weight(dumps[1]);
    for (int p = 0; p < 2; p++) {
        for (int k = 0; k < N_FMR; k++) {
            mien_threshold_for_fmr((mien_profile)p, pow(10.0, k - 6), &sc.thr[p][k]);
        }
        for (int s = 0; s < S_COUNT; s++) {
            sc.hist[s][p] = calloc(HIST_BINS, sizeof(uint64_t));
            if (sc.hist[s][p] == NULL) {
                goto nomem;
            }
        }
    }
    if (sc.w < 0 || !scan_fill(&sc, dumps, person)) {
        fprintf(stderr, "mien_bench_mixed: cannot pack the peopleDevTrain templates\n");
        goto done;
    }
    fprintf(stderr, "mien_bench_mixed: scoring the impostor pairs of %d images\n", sc.n);
    scan_run(&sc);

    printf("{\"enrol\":{\"isa\":\"%s\",\"precision\":\"%s\"},"
           "\"probe\":{\"isa\":\"%s\",\"precision\":\"%s\"},\"images_both\":%d,",
           dumps[0]->isa, dumps[0]->precision, dumps[1]->isa, dumps[1]->precision, n_both);
    print_stats("one_minus_cos_A", one_minus_cos[0], n_both, ",");
    print_stats("one_minus_cos_B", one_minus_cos[1], n_both, ",");
    printf("\"dev_test_pairs\":%d,", n_de);
    for (int p = 0; p < 2; p++) {
        char name[64];
        snprintf(name, sizeof(name), "cross_abs_dsim_%s", prof_names[p]);
        print_stats(name, dx[p], n_dx, ",");
        snprintf(name, sizeof(name), "pure_enrol_abs_dsim_%s", prof_names[p]);
        print_stats(name, de[p], n_de, ",");
        printf("\"flips_%s\":{\"cross\":{\"fmr1e-3\":%d,\"fmr1e-4\":%d},"
               "\"pure_enrol\":{\"fmr1e-3\":%d,\"fmr1e-4\":%d}},",
               prof_names[p], flips_x[p][0], flips_x[p][1], flips_e[p][0], flips_e[p][1]);
    }
    printf("\"fusion_weight_a\":%.4g,\"impostors\":{\"images\":%d", sc.w, sc.n);
    for (int s = 0; s < S_COUNT; s++) {
        printf(",\"%s\":{\"pairs\":%llu", set_names[s], (unsigned long long)sc.pairs[s]);
        for (int p = 0; p < 2; p++) {
            printf(",\"%s\":{\"thresholds\":[", prof_names[p]);
            for (int k = 0; k < N_FMR; k++) {
                double t = hist_threshold(sc.hist[s][p], sc.pairs[s], pow(10.0, k - 6));
                if (isnan(t)) {
                    printf("%snull", k ? "," : ""); /* fewer than 1/FMR pairs */
                } else {
                    printf("%s%.4f", k ? "," : "", t);
                }
            }
            printf("],\"fmr_at_committed\":[");
            for (int k = 0; k < N_FMR; k++) {
                printf("%s%.4g", k ? "," : "",
                       sc.pairs[s] ? (double)sc.above[s][p][k] / (double)sc.pairs[s] : 0.0);
            }
            printf("],\"pairs_at_committed\":[");
            for (int k = 0; k < N_FMR; k++) {
                printf("%s%llu", k ? "," : "", (unsigned long long)sc.above[s][p][k]);
            }
            printf("]}");
        }
        printf("}");
    }
    printf("},\"committed\":{\"fmr\":[1e-6,1e-5,1e-4,1e-3,1e-2,1e-1]");
    for (int p = 0; p < 2; p++) {
        printf(",\"%s\":[", prof_names[p]);
        for (int k = 0; k < N_FMR; k++) {
            printf("%s%.4f", k ? "," : "", sc.thr[p][k]);
        }
        printf("]");
    }
    printf("}}\n");
    rc = 0;
    goto done;
nomem:
    fprintf(stderr, "mien_bench_mixed: out of memory\n");
done:
    for (int s = 0; s < S_COUNT; s++) {
        for (int p = 0; p < 2; p++) {
            free(sc.hist[s][p]);
        }
    }
    for (int k = 0; k < 2; k++) {
        free(sc.x[k]);
        free(sc.t[k]);
        free(one_minus_cos[k]);
        free(dx[k]);
        free(de[k]);
        if (dumps[k] != NULL) {
            for (int i = 0; i < lfw.n_images; i++) {
                mien_template_free(dumps[k]->t[i]);
            }
            free(dumps[k]);
        }
    }
    free(person);
    return rc;
}

int main(int argc, char **argv)
{
    int max_train = MAX_TRAIN;
    if ((argc == 5 && strcmp(argv[1], "embed") == 0) ||
        (argc == 6 && strcmp(argv[1], "compare") == 0)) {
        max_train = atoi(argv[argc - 1]);
        argc--;
    }
    if (max_train > 0 && max_train <= MAX_TRAIN) {
        if (argc == 4 && strcmp(argv[1], "embed") == 0) {
            return read_lists(argv[2], max_train) ? cmd_embed(argv[3]) : 1;
        }
        if (argc == 5 && strcmp(argv[1], "compare") == 0) {
            return read_lists(argv[2], max_train) ? cmd_compare(argv[3], argv[4]) : 1;
        }
    }
    fprintf(stderr, "usage: mien_bench_mixed embed LFW_DIR OUT [MAX_TRAIN]\n"
                    "       mien_bench_mixed compare LFW_DIR ENROL PROBE [MAX_TRAIN]\n"
                    "       (MAX_TRAIN: 1..%d peopleDevTrain images, default all)\n",
            MAX_TRAIN);
    return 2;
}
