/* group.c — grouping faces into people (mien.h "grouping"): mien_group over an array of
 * templates.
 *
 * 1. The kNN graph. Every template's index vector (index.h: the collection's similarity as a
 *    dot product) goes into a gallery index, each face its own "subject", so that the index's
 *    search returns a face's nearest other faces. Above GROUP_APPROX_MIN faces the index
 *    builds its HNSW graph (hnswlib) and every query is a graph search, so the graph costs
 *    n · log n, not the n² of a full similarity matrix; below it the exact scan is as fast.
 *    Each face keeps its `neighbours` nearest faces whose similarity reaches the threshold
 *    (mien_threshold_for_fmr of max_fmr: the calibrated FMR of one comparison); the edges
 *    are made symmetric (i → j or j → i), weighted by the similarity.
 * 2. Clustering on that graph (docs/grouping.md measured the choice on all of LFW):
 *    - Chinese whispers (Biemann 2006; dlib's chinese_whispers, behind face_recognition's
 *      clustering example): every face starts as its own label; in a shuffled order, each
 *      face takes the label whose edges to it weigh most; until nothing changes or
 *      GROUP_CW_ROUNDS rounds. The shuffle is a fixed-seed generator: the same input gives
 *      the same groups.
 *    - connected components (union-find): every chain of edges is one person; simple, but
 *      one false edge merges two people.
 * 3. Clusters of one face are the "messy group" (label -1): faces that match no one. The
 *    others are numbered by size, largest first (ties: the cluster of the earliest face);
 *    each one's representative is the face whose edges within the cluster weigh most (the
 *    most connected, a graph medoid; ties: the earliest).
 *
 * Nothing is stored and nothing audited here: this is arithmetic on the caller's templates.
 * mien_group_faces (gallery.c) is the store's audited entry point. @test
 * gallery/test_group.c */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "gallery/index.h"
#include "governance/governance.h"
#include "store/handle.h"
#include "store/store.h"

#define GROUP_DEFAULT_NEIGHBOURS 20 /* mien.h; measured in docs/grouping.md */
#define GROUP_MAX_NEIGHBOURS 256
#define GROUP_APPROX_MIN 2000        /* faces from which the kNN runs on the HNSW graph */
/* The graph's degree, build beam and search beam: lighter than a collection's (index.c),
 * which must find one face in a million; a face's few nearest neighbours above a threshold
 * are easier. On all of LFW these keep BCubed F within 0.0003 of what the collection's
 * build with a search beam of 128 gave, while the whole grouping costs 1.7 CPU-seconds (fast)
 * and 4.9 (accurate) (docs/grouping.md). */
#define GROUP_HNSW_M 12
#define GROUP_HNSW_EFC 48
#define GROUP_EF 64
#define GROUP_CW_ROUNDS 100          /* dlib's default number of iterations */
#define GROUP_MAX_THREADS 64

/* The default operating point, measured on all of LFW (docs/grouping.md). */
#define GROUP_DEFAULT_FMR 1e-5
#define GROUP_DEFAULT_METHOD MIEN_GROUP_CHINESE_WHISPERS

mien_group_options mien_group_options_default(void)
{
    mien_group_options o = {.max_fmr = GROUP_DEFAULT_FMR,
                            .neighbours = GROUP_DEFAULT_NEIGHBOURS,
                            .method = GROUP_DEFAULT_METHOD,
                            .threads = 0};
    return o;
}

/* One directed kNN edge list: face i's neighbours are nbr[i·k .. i·k + cnt[i]). */
typedef struct knn {
    size_t n, k;
    size_t *nbr;
    float *sim;
    size_t *cnt;
} knn;

/* What the kNN workers share. */
typedef struct knn_job {
    const gallery_index *idx;
    const float *vecs;
    int dim;
    float threshold;
    knn *g;
    size_t next; /* guarded by lock */
    pthread_mutex_t lock;
    mien_status st;
    mien_error err;
} knn_job;

/* Faces i's neighbours from the index, itself left out. */
static mien_status knn_one(knn_job *j, size_t i, gallery_hit *hits, mien_error *err)
{
    size_t n = 0, kept = 0;
    knn *g = j->g;
    mien_status st = gallery_index_search(j->idx, j->vecs + i * (size_t)j->dim, (int)g->k + 1,
                                          j->threshold, GALLERY_SEARCH_AUTO, hits, &n, err);
    for (size_t h = 0; st == MIEN_OK && h < n && kept < g->k; h++) {
        if ((size_t)hits[h].face_id != i) {
            g->nbr[i * g->k + kept] = (size_t)hits[h].face_id;
            g->sim[i * g->k + kept] = hits[h].similarity;
            kept++;
        }
    }
    g->cnt[i] = kept;
    return st;
}

/* A worker: takes faces in chunks until none is left or one fails. */
static void *knn_worker(void *arg)
{
    knn_job *j = arg;
    gallery_hit *hits = malloc((j->g->k + 1) * sizeof(*hits));
    mien_error err;
    mien_status st = hits == NULL ? base_error_set(&err, MIEN_ERR_NOMEM, "out of memory")
                                  : MIEN_OK;
    for (;;) {
        size_t from, to;
        pthread_mutex_lock(&j->lock);
        if (st != MIEN_OK && j->st == MIEN_OK) {
            j->st = st;
            j->err = err;
        }
        from = j->st == MIEN_OK ? j->next : j->g->n;
        to = from + 64 < j->g->n ? from + 64 : j->g->n;
        j->next = to;
        pthread_mutex_unlock(&j->lock);
        if (from >= to) {
            break;
        }
        for (size_t i = from; i < to && st == MIEN_OK; i++) {
            st = knn_one(j, i, hits, &err);
        }
    }
    free(hits);
    return NULL;
}

static int thread_count(int asked, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int t = asked > 0 ? asked : (cpus > 0 ? (int)cpus : 1);
    t = t > GROUP_MAX_THREADS ? GROUP_MAX_THREADS : t;
    return (size_t)t > n / 64 + 1 ? (int)(n / 64 + 1) : t;
}

/* Runs the kNN queries on `threads` threads (the caller's thread is one of them). */
static mien_status knn_run(knn_job *j, int threads, mien_error *err)
{
    pthread_t tid[GROUP_MAX_THREADS];
    int started = 0;
    pthread_mutex_init(&j->lock, NULL);
    j->st = MIEN_OK;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, knn_worker, j) == 0) {
            started++;
        }
    }
    knn_worker(j);
    for (int t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
    }
    pthread_mutex_destroy(&j->lock);
    if (j->st != MIEN_OK && err != NULL) {
        *err = j->err;
    }
    return j->st;
}

/* Every face in an index of its own (face id = subject id = position), vectors in vecs. */
static mien_status index_faces(const mien_template *const *t, size_t n, float *vecs, int *dim,
                               gallery_index **out, mien_error *err)
{
    gallery_index *idx = NULL;
    mien_status st = MIEN_OK;
    for (size_t i = 0; st == MIEN_OK && i < n; i++) {
        int d = 0;
        if (gallery_index_vector(t[i], vecs + i * GALLERY_INDEX_DIM_MAX, &d) != MIEN_OK) {
            return base_error_set(err, MIEN_ERR_ARG, "template %zu has no index vector", i);
        }
        if (i == 0) {
            *dim = d;
            st = gallery_index_new(d, &idx, err);
        }
    }
    /* Pack the vectors to the common dimension (they were written GALLERY_INDEX_DIM_MAX
     * apart) and add them. */
    for (size_t i = 0; st == MIEN_OK && i < n; i++) {
        memmove(vecs + i * (size_t)*dim, vecs + i * GALLERY_INDEX_DIM_MAX,
                (size_t)*dim * sizeof(*vecs));
        st = gallery_index_add(idx, (int64_t)i, (int64_t)i, vecs + i * (size_t)*dim, err);
    }
    if (st == MIEN_OK && n >= GROUP_APPROX_MIN) {
        gallery_approx_params p = {.m = GROUP_HNSW_M, .ef_construction = GROUP_HNSW_EFC,
                                   .ef_search = GROUP_EF};
        st = gallery_index_build_approx_with(idx, &p, err);
    }
    if (st != MIEN_OK) {
        gallery_index_free(idx);
        return st;
    }
    *out = idx;
    return MIEN_OK;
}

/* All templates of one profile and the same models as the first (MIEN_ERR_ARG naming the
 * first that is not). */
static mien_status same_models(const mien_template *const *t, size_t n, mien_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] == NULL) {
            return base_error_set(err, MIEN_ERR_ARG, "mien_group: template %zu is NULL", i);
        }
        if (mien_template_profile(t[i]) != mien_template_profile(t[0]) ||
            strcmp(mien_template_model(t[i], 0), mien_template_model(t[0], 0)) != 0 ||
            strcmp(mien_template_model(t[i], 1), mien_template_model(t[0], 1)) != 0) {
            return base_error_set(err, MIEN_ERR_ARG,
                                  "mien_group: template %zu was made by other models or "
                                  "another profile than template 0",
                                  i);
        }
    }
    return MIEN_OK;
}

/* The kNN graph of the templates at `threshold`. */
static mien_status knn_graph(const mien_template *const *t, size_t n, size_t k, float threshold,
                             int threads, knn *g, mien_error *err)
{
    float *vecs = malloc(n * GALLERY_INDEX_DIM_MAX * sizeof(*vecs));
    gallery_index *idx = NULL;
    int dim = 0;
    mien_status st;
    g->n = n;
    g->k = k;
    g->nbr = malloc(n * k * sizeof(*g->nbr));
    g->sim = malloc(n * k * sizeof(*g->sim));
    g->cnt = calloc(n, sizeof(*g->cnt));
    if (vecs == NULL || g->nbr == NULL || g->sim == NULL || g->cnt == NULL) {
        free(vecs);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    st = index_faces(t, n, vecs, &dim, &idx, err);
    if (st == MIEN_OK) {
        knn_job j = {.idx = idx, .vecs = vecs, .dim = dim, .threshold = threshold, .g = g};
        st = knn_run(&j, thread_count(threads, n), err);
    }
    gallery_index_free(idx);
    free(vecs);
    return st;
}

/* ---- the undirected graph -------------------------------------------------------------- */

/* Adjacency in compressed rows: face i's edges are adj[off[i] .. off[i + 1]). */
typedef struct graph {
    size_t n;
    size_t *off, *adj;
    float *w;
} graph;

/* The kNN lists made symmetric: an edge i–j when either lists the other (the larger
 * similarity if both do, which are equal up to the index's rounding). */
static mien_status graph_build(const knn *g, graph *u, mien_error *err)
{
    size_t n = g->n, total = 0;
    size_t *fill = calloc(n + 1, sizeof(*fill));
    u->n = n;
    u->off = calloc(n + 1, sizeof(*u->off));
    for (size_t i = 0; i < n; i++) {
        total += 2 * g->cnt[i];
    }
    u->adj = malloc((total + 1) * sizeof(*u->adj));
    u->w = malloc((total + 1) * sizeof(*u->w));
    if (fill == NULL || u->off == NULL || u->adj == NULL || u->w == NULL) {
        free(fill);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t e = 0; e < g->cnt[i]; e++) {
            u->off[i + 1]++;
            u->off[g->nbr[i * g->k + e] + 1]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        u->off[i + 1] += u->off[i];
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t e = 0; e < g->cnt[i]; e++) {
            size_t j = g->nbr[i * g->k + e];
            float s = g->sim[i * g->k + e];
            u->adj[u->off[i] + fill[i]] = j;
            u->w[u->off[i] + fill[i]++] = s;
            u->adj[u->off[j] + fill[j]] = i;
            u->w[u->off[j] + fill[j]++] = s;
        }
    }
    free(fill);
    /* Duplicates (i lists j and j lists i) are harmless to both methods but would count an
     * edge twice in Chinese whispers' weights: keep one of each. */
    for (size_t i = 0; i < n; i++) {
        for (size_t a = u->off[i]; a < u->off[i + 1]; a++) {
            for (size_t b = a + 1; b < u->off[i + 1]; b++) {
                if (u->adj[b] == u->adj[a]) {
                    u->w[a] = u->w[a] > u->w[b] ? u->w[a] : u->w[b];
                    u->w[b] = 0; /* a zero weight adds nothing to any label */
                }
            }
        }
    }
    return MIEN_OK;
}

static void graph_free(graph *u)
{
    free(u->off);
    free(u->adj);
    free(u->w);
}

/* ---- clustering ------------------------------------------------------------------------- */

/* xorshift64*: a fixed-seed shuffle, so the same faces give the same groups. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Chinese whispers into label[n] (labels are face indices). */
static mien_status chinese_whispers(const graph *u, size_t *label, mien_error *err)
{
    size_t n = u->n;
    size_t *order = malloc((n + 1) * sizeof(*order));
    float *score = calloc(n + 1, sizeof(*score)); /* per label, reset after each face */
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    if (order == NULL || score == NULL) {
        free(order);
        free(score);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        label[i] = i;
        order[i] = i;
    }
    for (int round = 0; round < GROUP_CW_ROUNDS; round++) {
        size_t changed = 0;
        for (size_t i = n; i > 1; i--) {
            size_t r = (size_t)(next_random(&seed) % i), tmp = order[i - 1];
            order[i - 1] = order[r];
            order[r] = tmp;
        }
        for (size_t o = 0; o < n; o++) {
            size_t i = order[o], best = label[i];
            float best_w = 0;
            for (size_t e = u->off[i]; e < u->off[i + 1]; e++) {
                score[label[u->adj[e]]] += u->w[e];
            }
            for (size_t e = u->off[i]; e < u->off[i + 1]; e++) {
                size_t l = label[u->adj[e]];
                if (score[l] > best_w || (score[l] == best_w && l < best && best_w > 0)) {
                    best_w = score[l];
                    best = l;
                }
            }
            for (size_t e = u->off[i]; e < u->off[i + 1]; e++) {
                score[label[u->adj[e]]] = 0;
            }
            changed += best != label[i];
            label[i] = best;
        }
        if (changed == 0) {
            break;
        }
    }
    free(order);
    free(score);
    return MIEN_OK;
}

static size_t find_root(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Connected components into label[n] (each the smallest face index of its component). */
static void components(const graph *u, size_t *label)
{
    for (size_t i = 0; i < u->n; i++) {
        label[i] = i;
    }
    for (size_t i = 0; i < u->n; i++) {
        for (size_t e = u->off[i]; e < u->off[i + 1]; e++) {
            size_t a = find_root(label, i), b = find_root(label, u->adj[e]);
            if (a != b) {
                label[a > b ? a : b] = a < b ? a : b;
            }
        }
    }
    for (size_t i = 0; i < u->n; i++) {
        label[i] = find_root(label, i);
    }
}

/* ---- numbering and representatives ------------------------------------------------------ */

/* A raw cluster: its label, size and earliest face, for sorting. */
typedef struct raw_cluster {
    size_t label, size, first;
} raw_cluster;

static int cmp_cluster(const void *a, const void *b)
{
    const raw_cluster *x = a, *y = b;
    if (x->size != y->size) {
        return x->size < y->size ? 1 : -1;
    }
    return (x->first > y->first) - (x->first < y->first);
}

/* From raw labels (face indices) to out: clusters of two or more numbered by size, the
 * others -1; representatives the most connected face of each cluster. */
static mien_status number_clusters(const graph *u, const size_t *raw, mien_grouping *out,
                                   mien_error *err)
{
    size_t n = u->n, nc = 0;
    size_t *size = calloc(n, sizeof(*size)), *first = malloc(n * sizeof(*first));
    size_t *rank = malloc(n * sizeof(*rank));
    raw_cluster *cl = malloc(n * sizeof(*cl));
    double *strength = calloc(n, sizeof(*strength));
    mien_status st = MIEN_OK;
    if (size == NULL || first == NULL || rank == NULL || cl == NULL || strength == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = n; i-- > 0;) {
        size[raw[i]]++;
        first[raw[i]] = i;
    }
    for (size_t l = 0; l < n; l++) {
        if (size[l] >= 2) {
            cl[nc++] = (raw_cluster){l, size[l], first[l]};
        }
    }
    qsort(cl, nc, sizeof(*cl), cmp_cluster);
    for (size_t c = 0; c < nc; c++) {
        rank[cl[c].label] = c;
    }
    out->labels = malloc(n * sizeof(*out->labels));
    out->sizes = malloc((nc + 1) * sizeof(*out->sizes));
    out->representatives = malloc((nc + 1) * sizeof(*out->representatives));
    if (out->labels == NULL || out->sizes == NULL || out->representatives == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        goto done;
    }
    out->n = n;
    out->clusters = nc;
    for (size_t c = 0; c < nc; c++) {
        out->sizes[c] = cl[c].size;
        out->representatives[c] = cl[c].first;
    }
    for (size_t i = 0; i < n; i++) {
        out->labels[i] = size[raw[i]] >= 2 ? (long)rank[raw[i]] : -1;
        out->messy += size[raw[i]] < 2;
        for (size_t e = u->off[i]; e < u->off[i + 1]; e++) {
            strength[i] += raw[u->adj[e]] == raw[i] ? u->w[e] : 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        long c = out->labels[i];
        if (c >= 0 && strength[i] > strength[out->representatives[c]]) {
            out->representatives[c] = i;
        }
    }
done:
    free(size);
    free(first);
    free(rank);
    free(cl);
    free(strength);
    return st;
}

/* Checks the options and fills in their defaults. */
static mien_status group_options(const mien_group_options *opt, mien_profile profile,
                                 mien_group_options *o, float *threshold, mien_error *err)
{
    *o = mien_group_options_default();
    if (opt != NULL) {
        o->max_fmr = opt->max_fmr != 0 ? opt->max_fmr : o->max_fmr;
        o->neighbours = opt->neighbours != 0 ? opt->neighbours : o->neighbours;
        o->method = opt->method != MIEN_GROUP_AUTO ? opt->method : o->method;
        o->threads = opt->threads;
    }
    if (o->neighbours < 1 || o->neighbours > GROUP_MAX_NEIGHBOURS) {
        return base_error_set(err, MIEN_ERR_ARG, "neighbours must be 1..%d, not %d",
                              GROUP_MAX_NEIGHBOURS, o->neighbours);
    }
    if (o->method != MIEN_GROUP_CHINESE_WHISPERS && o->method != MIEN_GROUP_COMPONENTS) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown grouping method %d", (int)o->method);
    }
    if (!(o->max_fmr > 0 && o->max_fmr <= 1) ||
        mien_threshold_for_fmr(profile, o->max_fmr, threshold) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "max_fmr %g is outside the calibrated range of profile %s",
                              o->max_fmr, mien_profile_name(profile));
    }
    return MIEN_OK;
}

mien_status mien_group(const mien_template *const *templates, size_t n,
                       const mien_group_options *opt, mien_grouping *out, mien_error *err)
{
    mien_group_options o;
    knn g = {0};
    graph u = {0};
    size_t *raw = NULL;
    float threshold = 1.0f;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (out == NULL || (templates == NULL && n > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_group: NULL argument");
    }
    if (n < 2) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "grouping needs at least two faces (%zu given)", n);
    }
    st = same_models(templates, n, err);
    if (st == MIEN_OK) {
        st = group_options(opt, mien_template_profile(templates[0]), &o, &threshold, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    double t0 = mien_now_ms();
    st = knn_graph(templates, n, (size_t)o.neighbours, threshold, o.threads, &g, err);
    if (st == MIEN_OK) {
        st = graph_build(&g, &u, err);
    }
    if (st == MIEN_OK && (raw = malloc(n * sizeof(*raw))) == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (st == MIEN_OK) {
        if (o.method == MIEN_GROUP_COMPONENTS) {
            components(&u, raw);
        } else {
            st = chinese_whispers(&u, raw, err);
        }
    }
    if (st == MIEN_OK) {
        st = number_clusters(&u, raw, out, err);
    }
    out->threshold = threshold;
    out->method = o.method;
    out->max_fmr = o.max_fmr;
    out->ms = mien_now_ms() - t0;
    free(raw);
    free(g.nbr);
    free(g.sim);
    free(g.cnt);
    graph_free(&u);
    if (st != MIEN_OK) {
        mien_grouping_free(out);
    }
    return st;
}

void mien_grouping_free(mien_grouping *g)
{
    if (g != NULL) {
        free(g->labels);
        free(g->sizes);
        free(g->representatives);
        memset(g, 0, sizeof(*g));
    }
}

/* ---- enrolled faces, for a purpose ------------------------------------------------------- */

/* The audit entry of a grouping of enrolled faces: counts and the operating point, never
 * subjects or face ids (the entry says that a grouping ran, not whom it found). */
static mien_status group_record(store_db *g, const store_collection *c, const mien_grouping *r,
                                const mien_context *ctx, mien_error *err)
{
    json_t *result = json_pack("{s:I,s:I,s:I,s:f,s:s}", "faces", (json_int_t)r->n, "clusters",
                               (json_int_t)r->clusters, "messy", (json_int_t)r->messy,
                               "max_fmr", r->max_fmr, "method",
                               mien_group_method_name(r->method));
    return governance_record(g, ctx, "group", c->name, NULL, "ok", result, NULL, err);
}

/* The templates of face_ids[n] in the collection, into t[n] (the caller frees them). */
static mien_status load_faces(mien_store *store, const char *collection, const int64_t *ids,
                              size_t n, mien_template **t, mien_error *err)
{
    mien_status st = MIEN_OK;
    for (size_t i = 0; st == MIEN_OK && i < n; i++) {
        st = mien_face_template(store, collection, ids[i], NULL, &t[i], err);
    }
    return st;
}

/* The collection's caps on returned people bound a grouping of its faces as they bound a
 * search (issue 13 item 5): the faces grouped count as the candidates handed out and the link
 * rate as the search's false-match rate. An ask above a cap is refused and audited, never
 * clamped: the caller chose both numbers. */
static mien_status group_limits(store_db *g, const store_collection *c, size_t n,
                                const mien_group_options *opt, const mien_context *ctx,
                                mien_error *err)
{
    double fmr = opt != NULL && opt->max_fmr > 0 ? opt->max_fmr
                                                 : mien_group_options_default().max_fmr;
    governance_limits asked = {n < (size_t)INT_MAX ? (int)n : INT_MAX, fmr};
    const governance_limits defaults = asked;
    bool capped = false;
    return governance_search_limits(g, c, &defaults, false, &asked, &capped, ctx, err);
}

mien_status mien_group_faces(mien_store *store, const char *collection, const int64_t *face_ids,
                             size_t n, const mien_group_options *opt, const mien_context *ctx,
                             mien_grouping *out, mien_error *err)
{
    store_db *g = store_db_of(store);
    store_collection c;
    mien_template **t = NULL;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (g == NULL || out == NULL || collection == NULL || (face_ids == NULL && n > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_group_faces: NULL argument");
    }
    st = g->ops->collection_get(g, collection, &c, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        return base_error_set(err, st, "no collection '%s'", collection);
    }
    /* The purpose is checked (and a refusal audited) before any template is opened. */
    if (st == MIEN_OK) {
        st = governance_check(g, &c, "group", ctx, err);
    }
    if (st == MIEN_OK) {
        st = group_limits(g, &c, n, opt, ctx, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    if (n < 2) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "grouping needs at least two faces (%zu given)", n);
    }
    if ((t = calloc(n, sizeof(*t))) == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    st = load_faces(store, collection, face_ids, n, t, err);
    if (st == MIEN_OK) {
        st = mien_group((const mien_template *const *)t, n, opt, out, err);
    }
    if (st == MIEN_OK) {
        st = group_record(g, &c, out, ctx, err);
    }
    for (size_t i = 0; i < n; i++) {
        mien_template_free(t[i]);
    }
    free(t);
    if (st != MIEN_OK) {
        mien_grouping_free(out);
    }
    return st;
}
