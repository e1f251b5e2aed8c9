/* eval_lfw1n.c — `mien eval lfw-1n [--data DIR] [--profile P] [--threads N] [--json]
 * [--enrol K|all] [--rule R|all]`:
 * open-set 1:N identification on LFW through the public gallery API (a temporary SQLite
 * store, mien_enroll, mien_search), with the NIST FRVT 1:N metrics (NISTIR 8271, "FRVT Part
 * 2: Identification", §3: FNIR(N, R, T) and FPIR(N, T)).
 *
 * Protocol (lfw-names.txt gives each person's image count):
 *   gallery   the first image of each of the 1,680 people with >= 2 images, plus the only
 *             image of each of the 4,069 single-image people (distractors): 5,749 subjects;
 *   probes    every other image of the 1,680 people (7,484 images): mated searches.
 * Each image's most prominent face is used (as `eval lfw`); an image without a face is not
 * enrolled (gallery) or fails its searches (probe).
 *
 * Metrics, each probe searched once for the top 10 subjects with no similarity floor
 * (max_fmr = 1):
 *   rank-k    closed-set identification rate: the probe's person at rank <= k (k = 1, 5, 10),
 *             over all probes (probes without a face, or whose person has no gallery face,
 *             count as misses);
 *   unmated   the open-set figures need each probe searched a second time with its own
 *             person removed from the gallery. That search returns exactly the best candidate
 *             of the first search whose subject is not the probe's person: the gallery holds
 *             one face per subject and removing one subject changes no other score, and the
 *             top 2 of the first search always contain that candidate. So the unmated score
 *             is read from the first search, not searched again;
 *   threshold t at FPIR = 1e-2: the (floor(1e-2 · U) + 1)-th highest unmated score (U
 *             unmated searches; a search with no candidate scores −inf), accept score > t,
 *             as `eval lfw`'s TAR@FAR; FPIR(t) = unmated searches with a score > t / U;
 *   FNIR@FPIR=1e-2 = FNIR(N, R = 1, t): mated searches whose mate is not the rank-1
 *             candidate with a similarity > t, over all mated searches (failures to detect
 *             are misses, as NIST counts failures to extract);
 *   search ms  the median wall time of one mien_search call (one thread), which includes
 *             writing the search's audit entry and signing the log's head (mien.h).
 * Enrolment throughput is reported twice: the embedding pass (decode, detect, embed) over
 * all images on --threads workers, and the store's mien_enroll rate (one writer, each
 * enrolment audited).
 *
 * Several photos per person (--enrol K, --rule R; mien.h mien_aggregate): the mated people are
 * the 610 with >= 4 images; each K (1..3) gets its own collection holding every person's
 * first K images (people with fewer hold all theirs: the 5,139 others are distractors, 4,069
 * of them with one face), and the probes are the mated people's images from the 4th on
 * (4,903), the same for every K so that the rows compare. Each rule searches every probe
 * (mien_search_options.aggregate); the unmated score is read as above (removing a subject
 * changes no other subject's aggregate). One embedding pass serves every K and rule.
 *
 * The temporary store has its own key file beside it and a collection declared for the
 * purpose "evaluation" on public benchmark data (consent not needed, no review); every call
 * carries a context with that purpose and the case "eval lfw-1n". */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"

#define TOP_K 10       /* rank-10 identification; >= 2 is what the unmated score needs */
#define FPIR_TARGET 1e-2
#define MULTI_MAX_ENROL 3 /* --enrol K: 1..3; the probes start at image 4 */
#define N_RULES 4         /* MIEN_AGGREGATE_BEST .. MIEN_AGGREGATE_TOP2 */

static int cmp_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bool eval_read_lfw_names(const char *path, eval_person **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[512];
    eval_person *ps = NULL;
    size_t cap = 0, lineno = 0;
    *out = NULL;
    *n = 0;
    if (f == NULL) {
        fprintf(stderr, "mien eval: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        eval_person p;
        lineno++;
        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (sscanf(line, "%127s %d", p.name, &p.count) != 2 || p.count < 1) {
            fprintf(stderr, "mien eval: %s:%zu: expected 'Name count'\n", path, lineno);
            free(ps);
            fclose(f);
            return false;
        }
        if (*n == cap) {
            eval_person *grown;
            cap = cap ? 2 * cap : 1024;
            grown = realloc(ps, cap * sizeof(*grown));
            if (grown == NULL) {
                free(ps);
                fclose(f);
                fprintf(stderr, "mien eval lfw-1n: out of memory\n");
                return false;
            }
            ps = grown;
        }
        ps[(*n)++] = p;
    }
    fclose(f);
    *out = ps;
    return true;
}

/* One run: the image lists, the embedding pass, the temporary gallery, each probe's
 * outcome. Everything is owned and released by run_free(). */
typedef struct run {
    eval_options o;
    cli_context cx;
    eval_person *people;
    size_t n_people, n_gallery_people; /* people, and the mated ones (>= mated_min images) */
    char **paths;                      /* n_images image paths, owned */
    size_t *owner;                     /* image → person */
    int *num;                          /* image → its number in the person's folder, 1.. */
    size_t n_images, n_probes;
    bool multi;                        /* --enrol or --rule: several photos per person */
    int enrol;                         /* photos enrolled per person (K) */
    int mated_min, probe_from;         /* mated: >= mated_min images; probes from this one */
    mien_aggregate rule;               /* the rule searched with */
    eval_embed_result r;
    mien_engine *engine;
    char db_path[32]; /* the temporary store, made when made_db */
    bool made_db;
    mien_store *store;
    size_t enrolled, not_enrolled, searched;
    double enrol_ms;
    /* per probe, in image order: */
    double *unmated;     /* best non-mate similarity, -inf without one */
    double *mated_score; /* the mate's similarity, -inf when not found */
    int *mate_rank;      /* 1-based, 0: not in the top TOP_K */
    double *search_ms;   /* per search done (searched of them) */
} run;

/* Whether image i is enrolled (its person's first K) or a probe (a mated person's image from
 * probe_from on). In the classic protocol (K = 1, mated 2, probes from 2) these are the first
 * image of everyone and every other image. */
static bool is_gallery(const run *u, size_t i)
{
    return u->num[i] <= u->enrol;
}

static bool is_probe(const run *u, size_t i)
{
    return u->people[u->owner[i]].count >= u->mated_min && u->num[i] >= u->probe_from;
}

/* Lists every image of the people of lfw-names.txt in LFW folder `dir`: paths, owner and
 * number, and counts the mated people and the probes. False, with a message, when out of
 * memory. */
static bool list_images(run *u, const char *dir)
{
    size_t k_img = 0;
    for (size_t p = 0; p < u->n_people; p++) {
        u->n_images += (size_t)u->people[p].count;
        u->n_gallery_people += u->people[p].count >= u->mated_min;
    }
    u->paths = calloc(u->n_images, sizeof(*u->paths));
    u->owner = calloc(u->n_images, sizeof(*u->owner));
    u->num = calloc(u->n_images, sizeof(*u->num));
    if (u->paths == NULL || u->owner == NULL || u->num == NULL) {
        fprintf(stderr, "mien eval lfw-1n: out of memory\n");
        return false;
    }
    for (size_t p = 0; p < u->n_people; p++) {
        const char *name = u->people[p].name;
        for (int i = 1; i <= u->people[p].count; i++) {
            u->paths[k_img] = eval_lfw_image(dir, name, i);
            if (u->paths[k_img] == NULL) {
                fprintf(stderr, "mien eval lfw-1n: out of memory\n");
                return false;
            }
            u->owner[k_img] = p;
            u->num[k_img] = i;
            u->n_probes += is_probe(u, k_img);
            k_img++;
        }
    }
    return true;
}

/* The gallery: a temporary store, only the public API, with its own key file beside it
 * (never $MIEN_KEY_FILE: that is an operator's store's), a policy for evaluation on public
 * benchmark data (no consent to record, no review: the candidates are scored, not acted on),
 * and a context naming the run. Every enrolment and search is still audited, so "search ms"
 * includes the audit entry's commit. False, with a message, on failure. */
static bool open_gallery(run *u)
{
    char uri[64], key_path[sizeof(u->db_path) + 8];
    mien_error err;
    mien_status st;
    int fd;
    snprintf(u->db_path, sizeof(u->db_path), "/tmp/mien-lfw1n-XXXXXX.db");
    fd = mkstemps(u->db_path, 3);
    if (fd < 0) {
        fprintf(stderr, "mien eval lfw-1n: cannot create a temporary store: %s\n",
                strerror(errno));
        return false;
    }
    close(fd);
    u->made_db = true;
    snprintf(uri, sizeof(uri), "sqlite:%s", u->db_path);
    snprintf(key_path, sizeof(key_path), "%s.key", u->db_path);
    mien_store_options so_open = {.key_file = key_path, .create_key = true};
    st = cli_store_open_with(uri, &so_open, &u->store, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien eval lfw-1n: %s (%s)\n", err.message, mien_strerror(st));
        return false;
    }
    return true;
}

/* The collection `name` for this run's evaluation (see open_gallery). */
static bool make_collection(run *u, const char *name)
{
    mien_error err;
    mien_collection_policy policy = {.purposes = "evaluation",
                                     .legal_basis = "evaluation on public benchmark data (LFW)",
                                     .consent = MIEN_CONSENT_NOT_NEEDED,
                                     .review = MIEN_REVIEW_NONE,
                                     /* the measurement wants every rank-TOP_K candidate,
                                      * whatever its score */
                                     .max_fmr = 1.0,
                                     .max_candidates = TOP_K};
    mien_status st = mien_collection_create(u->store, name, u->o.profile, u->engine,
                                            "LFW 1:N (mien eval lfw-1n)", &policy, &u->cx.ctx,
                                            &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien eval lfw-1n: %s (%s)\n", err.message, mien_strerror(st));
    }
    return st == MIEN_OK;
}

/* Enrols each gallery image that has a face (with its quality, for the quality rule) into
 * `collection`; times the whole. False on a store failure. */
static bool enrol_gallery(run *u, const char *collection)
{
    mien_error err;
    double t0 = mien_now_ms();
    u->enrolled = u->not_enrolled = 0;
    if (!make_collection(u, collection)) {
        return false;
    }
    for (size_t i = 0; i < u->n_images; i++) {
        mien_enrollment e;
        mien_status st;
        if (!is_gallery(u, i)) {
            continue;
        }
        if (u->r.images[i].status != EVAL_IMAGE_OK) {
            u->not_enrolled++;
            continue;
        }
        memset(&e, 0, sizeof(e));
        e.subject = u->people[u->owner[i]].name;
        e.template_ = u->r.images[i].t;
        e.quality = &u->r.images[i].quality;
        st = mien_enroll(u->store, collection, &e, &u->cx.ctx, NULL, &err);
        if (st != MIEN_OK) {
            fprintf(stderr, "mien eval lfw-1n: enrol %s: %s (%s)\n", u->paths[i], err.message,
                    mien_strerror(st));
            return false;
        }
        u->enrolled++;
    }
    u->enrol_ms = mien_now_ms() - t0;
    return true;
}

/* Probe q's outcome from its candidates: the mate's rank and score, and the best non-mate
 * score (the unmated search's, see the file's comment). */
static void score_probe(run *u, size_t q, const char *who, const mien_search_result *res)
{
    for (size_t k = 0; k < res->count; k++) {
        const mien_candidate *c = &res->candidates[k];
        if (strcmp(c->subject, who) == 0) {
            if (u->mate_rank[q] == 0) {
                u->mate_rank[q] = (int)k + 1;
                u->mated_score[q] = c->similarity;
            }
        } else if (u->unmated[q] == -INFINITY) {
            u->unmated[q] = c->similarity;
        }
    }
}

/* Searches each probe that has a face once in `collection` under u->rule, for the top
 * TOP_K with no similarity floor. False on a library failure or out of memory. */
static bool search_probes(run *u, const char *collection)
{
    size_t q = 0, n = u->n_probes + 1;
    mien_search_options so = mien_search_options_default();
    mien_error err;
    so.top_k = TOP_K;
    so.max_fmr = 1.0; /* no floor: every candidate, whatever its similarity */
    so.aggregate = u->rule;
    u->searched = 0;
    if (u->unmated == NULL) {
        u->unmated = malloc(n * sizeof(*u->unmated));
        u->mated_score = malloc(n * sizeof(*u->mated_score));
        u->search_ms = malloc(n * sizeof(*u->search_ms));
        u->mate_rank = calloc(n, sizeof(*u->mate_rank));
    }
    if (u->unmated == NULL || u->mated_score == NULL || u->search_ms == NULL ||
        u->mate_rank == NULL) {
        fprintf(stderr, "mien eval lfw-1n: out of memory\n");
        return false;
    }
    for (size_t i = 0; i < u->n_images; i++) {
        mien_search_result res;
        if (!is_probe(u, i)) {
            continue;
        }
        u->unmated[q] = -INFINITY;
        u->mated_score[q] = -INFINITY;
        u->mate_rank[q] = 0;
        if (u->r.images[i].status == EVAL_IMAGE_OK) {
            double t0 = mien_now_ms();
            mien_status st = mien_search(u->store, collection, u->r.images[i].t, &so,
                                         &u->cx.ctx, &res, &err);
            if (st != MIEN_OK) {
                fprintf(stderr, "mien eval lfw-1n: search %s: %s (%s)\n", u->paths[i],
                        err.message, mien_strerror(st));
                return false;
            }
            u->search_ms[u->searched++] = mien_now_ms() - t0;
            score_probe(u, q, u->people[u->owner[i]].name, &res);
            mien_search_result_free(&res);
        }
        q++;
    }
    return true;
}

/* The figures of a run (the file's comment defines them). */
typedef struct figures {
    size_t hit1, hit5, hit10, fn, fp;
    double threshold, fpir, fnir, median_ms, embed_rate, enrol_rate;
} figures;

/* Computes the figures; false when out of memory. */
static bool compute(run *u, figures *f)
{
    size_t n = u->n_probes, idx;
    double *sorted = malloc((n + 1) * sizeof(*sorted));
    memset(f, 0, sizeof(*f));
    if (sorted == NULL) {
        fprintf(stderr, "mien eval lfw-1n: out of memory\n");
        return false;
    }
    for (size_t q = 0; q < n; q++) {
        f->hit1 += u->mate_rank[q] == 1;
        f->hit5 += u->mate_rank[q] >= 1 && u->mate_rank[q] <= 5;
        f->hit10 += u->mate_rank[q] >= 1 && u->mate_rank[q] <= 10;
    }
    memcpy(sorted, u->unmated, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_double_desc);
    idx = (size_t)floor(FPIR_TARGET * (double)n);
    f->threshold = idx < n ? sorted[idx] : -INFINITY;
    free(sorted);
    for (size_t q = 0; q < n; q++) {
        f->fp += u->unmated[q] > f->threshold;
        f->fn += !(u->mate_rank[q] == 1 && u->mated_score[q] > f->threshold);
    }
    f->fpir = n ? (double)f->fp / (double)n : 0;
    f->fnir = n ? (double)f->fn / (double)n : 0;
    if (u->searched > 0) {
        size_t m = u->searched;
        qsort(u->search_ms, m, sizeof(*u->search_ms), cmp_double);
        f->median_ms = m % 2 ? u->search_ms[m / 2]
                             : 0.5 * (u->search_ms[m / 2 - 1] + u->search_ms[m / 2]);
    }
    f->embed_rate = u->r.wall_s > 0 ? (double)u->r.n / u->r.wall_s : 0;
    f->enrol_rate = u->enrol_ms > 0 ? (double)u->enrolled / (u->enrol_ms / 1e3) : 0;
    return true;
}

/* The report: text, then with --json one JSON line. */
static void print_figures(const run *u, const figures *f)
{
    size_t n = u->n_probes, distractors = u->n_people - u->n_gallery_people;
    const char *profile = mien_profile_name(u->o.profile);
    printf("LFW 1:N (open set), profile %s: gallery %zu subjects (%zu mated, %zu distractors; "
           "%zu gallery images without a face), %zu mated probes (%zu without a face)\n",
           profile, u->enrolled, u->n_gallery_people, distractors, u->not_enrolled, n,
           n - u->searched);
    printf("rank-1 %.2f %%   rank-5 %.2f %%   rank-10 %.2f %%\n", 100.0 * f->hit1 / n,
           100.0 * f->hit5 / n, 100.0 * f->hit10 / n);
    printf("FNIR@FPIR=1e-2 %.2f %% (threshold %.4f: %zu/%zu unmated searches above it, "
           "FPIR %.4f; %zu/%zu mated searches missed)\n",
           100.0 * f->fnir, f->threshold, f->fp, n, f->fpir, f->fn, n);
    printf("search: median %.3f ms per probe (%zu searches, one thread, top %d)\n",
           f->median_ms, u->searched, TOP_K);
    printf("enrolment: embedding pass %.1f images/s from JPEG with %d threads (%zu images, "
           "%.1f s); store %.0f faces/s (mien_enroll, %zu faces, %.2f s)\n",
           f->embed_rate, u->r.threads, u->r.n, u->r.wall_s, f->enrol_rate, u->enrolled,
           u->enrol_ms / 1e3);
    if (u->o.json) {
        printf("{\"profile\":\"%s\",\"gallery_subjects\":%zu,\"mated_subjects\":%zu,"
               "\"distractors\":%zu,\"gallery_no_face\":%zu,\"probes\":%zu,"
               "\"probes_no_face\":%zu,\"rank1\":%.6f,\"rank5\":%.6f,\"rank10\":%.6f,"
               "\"fnir_at_fpir_1e-2\":%.6f,\"threshold\":%.6f,\"fpir\":%.6f,"
               "\"search_ms_median\":%.4f,\"embed_images_per_s\":%.2f,"
               "\"enrol_faces_per_s\":%.1f,\"threads\":%d,\"embed_wall_s\":%.2f}\n",
               profile, u->enrolled, u->n_gallery_people, distractors, u->not_enrolled, n,
               n - u->searched, (double)f->hit1 / n, (double)f->hit5 / n,
               (double)f->hit10 / n, f->fnir, f->threshold, f->fpir, f->median_ms,
               f->embed_rate, f->enrol_rate, u->r.threads, u->r.wall_s);
    }
}

/* Closes the store, removes the temporary one and its side files, frees the rest. */
static void run_free(run *u)
{
    mien_store_close(u->store);
    if (u->made_db) {
        static const char *const sides[] = {"-wal", "-shm", ".key", ".audit-head",
                                            ".audit-head.lock"};
        char side[sizeof(u->db_path) + 24];
        unlink(u->db_path);
        for (size_t k = 0; k < sizeof(sides) / sizeof(sides[0]); k++) {
            snprintf(side, sizeof(side), "%s%s", u->db_path, sides[k]);
            unlink(side);
        }
    }
    eval_embed_result_free(&u->r);
    mien_engine_free(u->engine);
    for (size_t i = 0; u->paths != NULL && i < u->n_images; i++) {
        free(u->paths[i]);
    }
    free(u->paths);
    free(u->owner);
    free(u->num);
    free(u->people);
    free(u->unmated);
    free(u->mated_score);
    free(u->search_ms);
    free(u->mate_rank);
}

/* The embedding pass over every image (gallery and probes), on o.threads workers. */
static bool embed_all(run *u)
{
    eval_embed_job job = {.paths = (const char *const *)u->paths,
                          .n = u->n_images,
                          .profile = u->o.profile,
                          .threads = u->o.threads,
                          .label = "images"};
    return eval_open_engine(&u->o, &u->engine) == MIEN_OK &&
           eval_embed_run(u->engine, &job, &u->r) == MIEN_OK;
}

/* One row of the several-photos table: K, the rule, the figures (text, then with --json one
 * JSON line). */
static void print_row(const run *u, const figures *f)
{
    size_t n = u->n_probes;
    const char *rule = mien_aggregate_name(u->rule);
    printf("K=%d %-7s rank-1 %6.2f %%  rank-5 %6.2f %%  rank-10 %6.2f %%  FNIR@FPIR=1e-2 %6.2f %% "
           "(threshold %.4f)  search %.3f ms\n",
           u->enrol, rule, 100.0 * f->hit1 / n, 100.0 * f->hit5 / n, 100.0 * f->hit10 / n,
           100.0 * f->fnir, f->threshold, f->median_ms);
    if (u->o.json) {
        printf("{\"profile\":\"%s\",\"enrol\":%d,\"rule\":\"%s\",\"gallery_subjects\":%zu,"
               "\"gallery_faces\":%zu,\"probes\":%zu,\"probes_no_face\":%zu,\"rank1\":%.6f,"
               "\"rank5\":%.6f,\"rank10\":%.6f,\"fnir_at_fpir_1e-2\":%.6f,\"threshold\":%.6f,"
               "\"fpir\":%.6f,\"search_ms_median\":%.4f}\n",
               mien_profile_name(u->o.profile), u->enrol, rule, u->n_people, u->enrolled, n,
               n - u->searched, (double)f->hit1 / n, (double)f->hit5 / n,
               (double)f->hit10 / n, f->fnir, f->threshold, f->fpir, f->median_ms);
    }
}

/* --enrol and --rule: the Ks (*lo..*hi) and rules (rules[0..*n_rules)). False, with a
 * message, for anything else. */
static bool parse_multi(const eval_options *o, int *lo, int *hi, mien_aggregate *rules,
                        int *n_rules)
{
    *lo = 1;
    *hi = MULTI_MAX_ENROL;
    *n_rules = 1;
    rules[0] = MIEN_AGGREGATE_DEFAULT;
    if (o->enrol != NULL && strcmp(o->enrol, "all") != 0) {
        char *end = NULL;
        long k = strtol(o->enrol, &end, 10);
        if (end == o->enrol || *end != '\0' || k < 1 || k > MULTI_MAX_ENROL) {
            fprintf(stderr, "mien eval lfw-1n: --enrol takes 1..%d or all, not '%s'\n",
                    MULTI_MAX_ENROL, o->enrol);
            return false;
        }
        *lo = *hi = (int)k;
    }
    if (o->rule != NULL && strcmp(o->rule, "all") == 0) {
        *n_rules = N_RULES;
        for (int r = 0; r < N_RULES; r++) {
            rules[r] = (mien_aggregate)(MIEN_AGGREGATE_BEST + r);
        }
    } else if (o->rule != NULL && mien_aggregate_parse(o->rule, &rules[0]) != MIEN_OK) {
        fprintf(stderr, "mien eval lfw-1n: --rule takes best, mean, quality, top2, default or "
                        "all, not '%s'\n", o->rule);
        return false;
    }
    return true;
}

/* The several-photos evaluation: for each K a collection, for each rule a pass of searches.
 * False on a failure (reported). */
static bool run_multi(run *u, int lo, int hi, const mien_aggregate *rules, int n_rules)
{
    figures f;
    printf("LFW 1:N (open set), several photos per person, profile %s: %zu mated people (>= 4 "
           "images), %zu distractors, %zu probes (each mated person's images from the 4th)\n",
           mien_profile_name(u->o.profile), u->n_gallery_people,
           u->n_people - u->n_gallery_people, u->n_probes);
    for (int k = lo; k <= hi; k++) {
        char name[16];
        snprintf(name, sizeof(name), "lfw-k%d", k);
        u->enrol = k;
        if (!enrol_gallery(u, name)) {
            return false;
        }
        printf("K=%d: %zu faces enrolled (%zu gallery images without a face), %.0f faces/s\n",
               k, u->enrolled, u->not_enrolled,
               u->enrol_ms > 0 ? (double)u->enrolled / (u->enrol_ms / 1e3) : 0.0);
        for (int r = 0; r < n_rules; r++) {
            u->rule = rules[r];
            if (!search_probes(u, name) || !compute(u, &f)) {
                return false;
            }
            print_row(u, &f);
            fflush(stdout);
        }
    }
    return true;
}

int tools_eval_lfw1n(int argc, char **argv)
{
    run u;
    figures f;
    char dir[4096], names_path[4200];
    int rc = CLI_EXIT_FAIL, lo = 1, hi = 1, n_rules = 1;
    mien_aggregate rules[N_RULES];
    memset(&u, 0, sizeof(u));
    cli_context_init(&u.cx, "evaluation", "eval lfw-1n");
    int parsed = eval_parse_options("lfw-1n", argc, argv,
                                    EVAL_OPT_DATA | EVAL_OPT_PROFILE | EVAL_OPT_JSON |
                                        EVAL_OPT_AGGREGATE,
                                    &u.o);
    if (parsed != CLI_PARSED) {
        return parsed;
    }
    u.multi = u.o.enrol != NULL || u.o.rule != NULL;
    if (u.multi && !parse_multi(&u.o, &lo, &hi, rules, &n_rules)) {
        return CLI_EXIT_USAGE;
    }
    u.enrol = 1;
    u.mated_min = u.probe_from = u.multi ? MULTI_MAX_ENROL + 1 : 2;
    if (!eval_find_lfw("lfw-1n", u.o.data_dir, "lfw-names.txt", dir, sizeof(dir))) {
        return CLI_EXIT_FAIL;
    }
    snprintf(names_path, sizeof(names_path), "%s/lfw-names.txt", dir);
    if (!eval_read_lfw_names(names_path, &u.people, &u.n_people)) {
        return CLI_EXIT_FAIL;
    }
    if (list_images(&u, dir)) {
        fprintf(stderr,
                "mien eval lfw-1n: %zu people, %zu images: %zu mated + %zu distractors, %zu "
                "probes, profile %s, %d threads\n",
                u.n_people, u.n_images, u.n_gallery_people, u.n_people - u.n_gallery_people,
                u.n_probes, mien_profile_name(u.o.profile), u.o.threads);
        if (embed_all(&u) && open_gallery(&u)) {
            if (u.multi) {
                rc = run_multi(&u, lo, hi, rules, n_rules) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
            } else if (enrol_gallery(&u, "lfw") && search_probes(&u, "lfw") &&
                       compute(&u, &f)) {
                print_figures(&u, &f);
                rc = CLI_EXIT_OK;
            }
        }
    }
    run_free(&u);
    return rc;
}
