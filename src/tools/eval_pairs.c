/* eval_pairs.c — pair lists for `mien eval`: the distinct images of a list (each embedded
 * once), LFW's pairs files (Huang et al. 2007, README "3c. pairs.txt file format"), and the
 * scores of every pair, from the embedders' vectors or from mien_template_compare. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static size_t find_path(char *const *paths, size_t n, const char *s)
{
    char *const *hit = bsearch(&s, paths, n, sizeof(*paths), cmp_str);
    return (size_t)(hit - paths);
}

mien_status eval_pairs_build(const char *const *path_a, const char *const *path_b,
                             const bool *same, const int *fold, size_t n, eval_pairs *out)
{
    const char **all = malloc((2 * n + 1) * sizeof(*all));
    size_t m = 0;
    memset(out, 0, sizeof(*out));
    out->pairs = malloc((n + 1) * sizeof(*out->pairs));
    out->paths = malloc((2 * n + 1) * sizeof(*out->paths));
    if (all == NULL || out->pairs == NULL || out->paths == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        all[2 * i] = path_a[i];
        all[2 * i + 1] = path_b[i];
    }
    qsort(all, 2 * n, sizeof(*all), cmp_str);
    for (size_t i = 0; i < 2 * n; i++) {
        if (m > 0 && strcmp(all[i], out->paths[m - 1]) == 0) {
            continue;
        }
        out->paths[m] = strdup(all[i]);
        if (out->paths[m] == NULL) {
            goto fail;
        }
        out->n_paths = ++m;
    }
    for (size_t i = 0; i < n; i++) {
        out->pairs[i].a = find_path(out->paths, m, path_a[i]);
        out->pairs[i].b = find_path(out->paths, m, path_b[i]);
        out->pairs[i].same = same[i];
        out->pairs[i].fold = fold[i];
    }
    out->n_pairs = n;
    free(all);
    return MIEN_OK;
fail:
    free(all);
    eval_pairs_free(out);
    return MIEN_ERR_NOMEM;
}

void eval_pairs_free(eval_pairs *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; p->paths != NULL && i < p->n_paths; i++) {
        free(p->paths[i]);
    }
    free(p->paths);
    free(p->pairs);
    memset(p, 0, sizeof(*p));
}

/* Grows l to hold at least one more pair. */
static bool grow(eval_pair_lines *l)
{
    size_t nc = l->cap ? 2 * l->cap : 256;
    char **na = realloc(l->pa, nc * sizeof(*na)), **nb;
    bool *ns;
    int *nf;
    if (na != NULL) {
        l->pa = na;
    }
    nb = realloc(l->pb, nc * sizeof(*nb));
    if (nb != NULL) {
        l->pb = nb;
    }
    ns = realloc(l->same, nc * sizeof(*ns));
    if (ns != NULL) {
        l->same = ns;
    }
    nf = realloc(l->fold, nc * sizeof(*nf));
    if (nf != NULL) {
        l->fold = nf;
    }
    if (na == NULL || nb == NULL || ns == NULL || nf == NULL) {
        return false;
    }
    l->cap = nc;
    return true;
}

bool eval_pair_lines_add(eval_pair_lines *l, char *a, char *b, bool same, int fold)
{
    if (a == NULL || b == NULL || (l->n == l->cap && !grow(l))) {
        free(a);
        free(b);
        return false;
    }
    l->pa[l->n] = a;
    l->pb[l->n] = b;
    l->same[l->n] = same;
    l->fold[l->n] = fold;
    l->n++;
    return true;
}

bool eval_pair_lines_finish(eval_pair_lines *l, size_t n, const char *who, eval_pairs *out)
{
    mien_status st = eval_pairs_build((const char *const *)l->pa, (const char *const *)l->pb,
                                      l->same, l->fold, n, out);
    eval_pair_lines_free(l);
    if (st != MIEN_OK) {
        fprintf(stderr, "%s: out of memory\n", who);
    }
    return st == MIEN_OK;
}

void eval_pair_lines_free(eval_pair_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->pa[i]);
        free(l->pb[i]);
    }
    free(l->pa);
    free(l->pb);
    free(l->same);
    free(l->fold);
    memset(l, 0, sizeof(*l));
}

char *eval_lfw_image(const char *lfw_dir, const char *name, int num)
{
    size_t cap = strlen(lfw_dir) + 2 * strlen(name) + 48;
    char *s = malloc(cap);
    if (s != NULL) {
        snprintf(s, cap, "%s/lfw_deepfunneled/%s/%s_%04d.jpg", lfw_dir, name, name, num);
    }
    return s;
}

bool eval_read_lfw_pairs(const char *lfw_dir, const char *file, int max_folds, eval_pairs *out,
                         int *n_folds)
{
    char path[4096], line[1024];
    FILE *f;
    int folds = 0, per = 0, lineno = 1;
    size_t expected;
    eval_pair_lines l = {0};
    bool ok = false;
    memset(out, 0, sizeof(*out));
    *n_folds = 0;
    snprintf(path, sizeof(path), "%s/%s", lfw_dir, file);
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "mien eval: cannot read %s\n", path);
        return false;
    }
    if (fgets(line, sizeof(line), f) == NULL) {
        fprintf(stderr, "mien eval: %s: empty\n", path);
        goto done;
    }
    if (sscanf(line, "%d %d", &folds, &per) != 2) {
        folds = 1; /* pairsDev*.txt: "N" alone */
        if (sscanf(line, "%d", &per) != 1) {
            per = 0;
        }
    }
    if (folds < 1 || folds > EVAL_MAX_FOLDS || per < 1 || per > 100000) {
        fprintf(stderr, "mien eval: %s:1: header wants \"FOLDS N\" or \"N\"\n", path);
        goto done;
    }
    if (max_folds > 0 && max_folds < folds) {
        *n_folds = max_folds;
    } else {
        *n_folds = folds;
    }
    expected = (size_t)folds * 2 * (size_t)per;
    while (fgets(line, sizeof(line), f) != NULL) {
        char n1[256], n2[256];
        int i1, i2, k;
        bool same;
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0') {
            continue;
        }
        if (l.n == expected) {
            fprintf(stderr, "mien eval: %s:%d: more pairs than the header's %zu\n", path, lineno,
                    expected);
            goto done;
        }
        k = sscanf(line, "%255s %d %255s %d", n1, &i1, n2, &i2);
        if (k == 3 && sscanf(line, "%255s %d %d", n1, &i1, &i2) == 3) {
            strcpy(n2, n1);
            same = true;
        } else if (k == 4) {
            same = false;
        } else {
            fprintf(stderr, "mien eval: %s:%d: want \"name i j\" or \"name i name2 j\"\n", path,
                    lineno);
            goto done;
        }
        if (!eval_pair_lines_add(&l, eval_lfw_image(lfw_dir, n1, i1),
                                 eval_lfw_image(lfw_dir, n2, i2), same,
                                 (int)(l.n / (2 * (size_t)per)))) {
            fprintf(stderr, "mien eval: out of memory\n");
            goto done;
        }
    }
    if (l.n != expected) {
        fprintf(stderr, "mien eval: %s: expected %zu pairs, found %zu\n", path, expected, l.n);
        goto done;
    }
    /* Keep the first *n_folds folds (pairs are in fold order). */
    ok = eval_pair_lines_finish(&l, (size_t)*n_folds * 2 * (size_t)per, "mien eval", out);
done:
    eval_pair_lines_free(&l);
    fclose(f);
    return ok;
}

static double dot(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

void eval_scores_vectors(const eval_embed_result *r, const eval_pairs *p, double wa, double wb,
                         bool flip, double *scores)
{
    for (size_t i = 0; i < p->n_pairs; i++) {
        const eval_image *a = &r->images[p->pairs[i].a], *b = &r->images[p->pairs[i].b];
        const float *va = flip ? a->flip : a->vec, *vb = flip ? b->flip : b->vec;
        double s = -(wa + wb);
        if (va != NULL && vb != NULL) {
            s = 0;
            if (wa != 0) {
                s += wa * dot(va, vb, r->dim_a);
            }
            if (wb != 0 && r->dim_b > 0) {
                s += wb * dot(va + r->dim_a, vb + r->dim_a, r->dim_b);
            }
        }
        scores[i] = s;
    }
}

mien_status eval_scores_templates(const eval_embed_result *r, const eval_pairs *p,
                                  double *scores)
{
    for (size_t i = 0; i < p->n_pairs; i++) {
        const eval_image *a = &r->images[p->pairs[i].a], *b = &r->images[p->pairs[i].b];
        float s = -1.0f;
        mien_error err;
        if (a->t != NULL && b->t != NULL) {
            mien_status st = mien_template_compare(a->t, b->t, &s, &err);
            if (st != MIEN_OK) {
                fprintf(stderr, "mien eval: %s\n", err.message);
                return st;
            }
        }
        scores[i] = s;
    }
    return MIEN_OK;
}

/* The weight of A the library's `accurate` similarity uses, read back through the public
 * API: for two templates, compare = w·cosA + (1 − w)·cosB, so
 * w = (compare − cosB)/(cosA − cosB). Rounded to 1e-4 (it is a float constant like 0.5f or
 * 0.55f). -1 when no pair tells. */
double eval_library_weight(const eval_embed_result *r)
{
    const eval_image *first = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const eval_image *im = &r->images[i];
        double ca = 0, cb = 0;
        float s;
        if (im->t == NULL) {
            continue;
        }
        if (first == NULL) {
            first = im;
            continue;
        }
        for (int k = 0; k < r->dim_a; k++) {
            ca += (double)first->vec[k] * im->vec[k];
        }
        for (int k = 0; k < r->dim_b; k++) {
            cb += (double)first->vec[r->dim_a + k] * im->vec[r->dim_a + k];
        }
        if (fabs(ca - cb) > 0.1 && mien_template_compare(first->t, im->t, &s, NULL) == MIEN_OK) {
            return round((s - cb) / (ca - cb) * 1e4) / 1e4;
        }
    }
    return -1;
}
