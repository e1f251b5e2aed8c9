/* precision.c — bench/precision.sh's helper: how far bfloat16 convolutions move mien's
 * similarities from float32 on real faces (docs/precision.md).
 *
 * Three engines are opened on the same models ($MIEN_MODELS, else ./models), with the
 * precisions f32, bf16 and bf16-all (mien_engine_options.precision). Every image of an LFW
 * pair list is decoded once; its most prominent face is detected and embedded (`accurate` profile: both
 * embedders) by each engine's own pipeline:
 *   f32      — the float32 pipeline (the one calibration_table.c was made with);
 *   bf16     — float32 detection and landmarks, bfloat16 embedders (the embedders'
 *              rounding alone);
 *   bf16-all — every model in bfloat16 (detector, O-Net, embedders).
 * Per image it reports cos(f32 vector, bf16 vector) for each embedder; per pair the
 * difference of the `fast` similarity (cos A) and the `accurate` one (mien_template_compare),
 * max, mean and 99th percentile of |Δ|, and how many pairs change side of the calibrated
 * thresholds at FMR 1e-3 and 1e-4 (mien_threshold_for_fmr). One JSON line on stdout.
 *
 * Usage: mien_bench_precision LFW_DIR PAIRS_FILE [MAX_PAIRS]
 *   LFW_DIR holds lfw_deepfunneled/; PAIRS_FILE is in LFW's format (pairs.txt,
 *   pairsDevTest.txt: a header line, then "name i j" or "name1 i name2 j" lines; read by
 *   bench/lfw_bench.c, compiled in beside this file). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lfw_bench.h"
#include "mien.h"

enum { V_F32, V_BF16, V_BF16_ALL, V_COUNT };

typedef struct image {
    bool ok;
    mien_template *t[V_COUNT]; /* accurate templates, owned */
} image;

static lfw_lists lfw;
static image images[LFW_MAX_IMAGES]; /* images[i]: what became of lfw.images[i] */

static mien_status open_engine(const char *precision, mien_engine **e, mien_session **s,
                               mien_error *err)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_status st;
    opt.models_dir = getenv("MIEN_MODELS");
    st = mien_precision_parse(precision, &opt.precision, err);
    if (st == MIEN_OK) {
        st = mien_engine_new(&opt, e, err);
    }
    if (st == MIEN_OK) {
        st = mien_session_new(*e, s, err);
    }
    return st;
}

/* The prominent face of img found by session s (false if none), in *face. */
static bool detect(mien_session *s, const mien_image *img, mien_face *face)
{
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    int pick;
    if (mien_detect(s, img, NULL, &faces, &n, &err) != MIEN_OK) {
        return false;
    }
    pick = mien_faces_prominent(faces, n, img);
    if (pick >= 0) {
        *face = faces[pick];
    }
    mien_faces_free(faces);
    return pick >= 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Prints "name":{"max":…,"mean":…,"p99":…} of v[n] (sorted in place). */
static void print_stats(const char *name, double *v, int n, bool last)
{
    double sum = 0.0;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    for (int i = 0; i < n; i++) {
        sum += v[i];
    }
    printf("\"%s\":{\"max\":%.3g,\"mean\":%.3g,\"p99\":%.3g}%s", name, n ? v[n - 1] : 0.0,
           n ? sum / n : 0.0, n ? v[(int)(0.99 * (n - 1))] : 0.0, last ? "" : ",");
}

int main(int argc, char **argv)
{
    static const char *precisions[V_COUNT] = {"f32", "bf16", "bf16-all"};
    mien_engine *e[V_COUNT] = {NULL};
    mien_session *s[V_COUNT] = {NULL};
    mien_error err;
    int max_pairs = argc > 3 ? atoi(argv[3]) : LFW_MAX_PAIRS;
    if (argc < 3 || max_pairs <= 0) {
        fprintf(stderr, "usage: mien_bench_precision LFW_DIR PAIRS_FILE [MAX_PAIRS]\n");
        return 2;
    }
    if (max_pairs > LFW_MAX_PAIRS) {
        max_pairs = LFW_MAX_PAIRS;
    }
    if (!lfw_read_pairs(&lfw, argv[1], argv[2], max_pairs) || lfw.n_pairs == 0) {
        fprintf(stderr, "mien_bench_precision: cannot read pairs from %s\n", argv[2]);
        return 1;
    }
    for (int v = 0; v < V_COUNT; v++) {
        if (open_engine(precisions[v], &e[v], &s[v], &err) != MIEN_OK) {
            fprintf(stderr, "mien_bench_precision: %s\n", err.message);
            return 1;
        }
    }
    /* per image: templates three ways, and cos(f32, bf16) per embedder */
    double *cos_img[2][2]; /* [bf16|bf16-all][part] → 1 - cos */
    int n_cos[2] = {0, 0};
    for (int v = 0; v < 2; v++) {
        for (int part = 0; part < 2; part++) {
            cos_img[v][part] = calloc((size_t)lfw.n_images, sizeof(double));
            if (cos_img[v][part] == NULL) {
                return 1;
            }
        }
    }
    for (int i = 0; i < lfw.n_images; i++) {
        image *im = &images[i];
        const char *path = lfw.images[i].path;
        mien_image *img = NULL;
        mien_face face;
        if (mien_image_load(path, NULL, &img, &err) != MIEN_OK) {
            fprintf(stderr, "mien_bench_precision: %s: %s\n", path, err.message);
            continue;
        }
        im->ok = true;
        for (int v = 0; v < V_COUNT && im->ok; v++) {
            im->ok = detect(s[v], img, &face) &&
                     mien_embed(s[v], img, &face, MIEN_PROFILE_ACCURATE, &im->t[v], &err) ==
                         MIEN_OK;
        }
        mien_image_free(img);
        if (!im->ok) {
            continue;
        }
        for (int v = 0; v < 2; v++) {
            for (int part = 0; part < 2; part++) {
                cos_img[v][part][n_cos[v]] =
                    1.0 - lfw_cosine_part(im->t[V_F32], im->t[v + 1], part);
            }
            n_cos[v]++;
        }
    }
    /* per pair: |Δ similarity| and decision flips at calibrated thresholds */
    double *d[2][2]; /* [bf16|bf16-all][fast|accurate] */
    int n_d = 0, flips[2][2][2] = {{{0}}}; /* [variant][profile][fmr 1e-3|1e-4] */
    float thr[2][2];
    static const double fmrs[2] = {1e-3, 1e-4};
    for (int prof = 0; prof < 2; prof++) {
        for (int k = 0; k < 2; k++) {
            mien_threshold_for_fmr((mien_profile)prof, fmrs[k], &thr[prof][k]);
        }
    }
    for (int v = 0; v < 2; v++) {
        for (int prof = 0; prof < 2; prof++) {
            d[v][prof] = calloc((size_t)lfw.n_pairs, sizeof(double));
            if (d[v][prof] == NULL) {
                return 1;
            }
        }
    }
    for (int k = 0; k < lfw.n_pairs; k++) {
        const image *a = &images[lfw.pairs[k].a], *b = &images[lfw.pairs[k].b];
        float base[2], got;
        if (!a->ok || !b->ok) {
            continue;
        }
        base[0] = (float)lfw_cosine_part(a->t[V_F32], b->t[V_F32], 0);
        mien_template_compare(a->t[V_F32], b->t[V_F32], &base[1], &err);
        for (int v = 0; v < 2; v++) {
            for (int prof = 0; prof < 2; prof++) {
                if (prof == 0) {
                    got = (float)lfw_cosine_part(a->t[v + 1], b->t[v + 1], 0);
                } else {
                    mien_template_compare(a->t[v + 1], b->t[v + 1], &got, &err);
                }
                d[v][prof][n_d] = fabs((double)got - base[prof]);
                for (int f = 0; f < 2; f++) {
                    flips[v][prof][f] += (got >= thr[prof][f]) != (base[prof] >= thr[prof][f]);
                }
            }
        }
        n_d++;
    }
    printf("{\"pairs\":%d,\"images\":%d,\"images_embedded\":%d,", n_d, lfw.n_images,
           n_cos[0]);
    for (int v = 0; v < 2; v++) {
        printf("\"%s\":{", precisions[v + 1]);
        print_stats("one_minus_cos_A", cos_img[v][0], n_cos[v], false);
        print_stats("one_minus_cos_B", cos_img[v][1], n_cos[v], false);
        print_stats("abs_dsim_fast", d[v][0], n_d, false);
        print_stats("abs_dsim_accurate", d[v][1], n_d, false);
        printf("\"flips_fast\":{\"fmr1e-3\":%d,\"fmr1e-4\":%d},", flips[v][0][0], flips[v][0][1]);
        printf("\"flips_accurate\":{\"fmr1e-3\":%d,\"fmr1e-4\":%d}}%s", flips[v][1][0],
               flips[v][1][1], v == 0 ? "," : "");
    }
    printf("}\n");
    for (int i = 0; i < lfw.n_images; i++) {
        for (int v = 0; v < V_COUNT; v++) {
            mien_template_free(images[i].t[v]);
        }
    }
    for (int v = 0; v < 2; v++) {
        for (int p = 0; p < 2; p++) {
            free(cos_img[v][p]);
            free(d[v][p]);
        }
    }
    for (int v = 0; v < V_COUNT; v++) {
        mien_session_free(s[v]);
        mien_engine_free(e[v]);
    }
    return 0;
}
