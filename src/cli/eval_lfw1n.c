/* eval_lfw1n.c — `mien eval lfw-1n [--data DIR] [--profile P] [--threads N] [--json]`:
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

typedef struct person {
    char name[128];
    int count; /* images */
} person;

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

/* Reads lfw-names.txt ("Name<TAB>count" lines) into *out (*n people); prints the problem
 * and returns false when malformed or unreadable. */
static bool read_names(const char *path, person **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[512];
    person *ps = NULL;
    size_t cap = 0, lineno = 0;
    *out = NULL;
    *n = 0;
    if (f == NULL) {
        fprintf(stderr, "mien eval lfw-1n: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        person p;
        lineno++;
        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (sscanf(line, "%127s %d", p.name, &p.count) != 2 || p.count < 1) {
            fprintf(stderr, "mien eval lfw-1n: %s:%zu: expected 'Name count'\n", path, lineno);
            free(ps);
            fclose(f);
            return false;
        }
        if (*n == cap) {
            person *grown;
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

int cli_eval_lfw1n(int argc, char **argv)
{
    eval_options o;
    char dir[4096], names_path[4200], db_path[] = "/tmp/mien-lfw1n-XXXXXX.db", uri[64];
    char key_path[sizeof(db_path) + 8];
    cli_context cx;
    person *people = NULL;
    size_t n_people = 0, n_images = 0, n_gallery_people = 0, n_probes = 0, k_img = 0;
    char **paths = NULL;
    size_t *owner = NULL; /* image → person */
    bool *is_gallery = NULL;
    eval_embed_result r;
    mien_engine *engine = NULL;
    mien_store *store = NULL;
    mien_error err;
    mien_status st;
    double *unmated = NULL, *mated_score = NULL, *search_ms = NULL;
    int *mate_rank = NULL;
    size_t enrolled = 0, not_enrolled = 0, searched = 0;
    double enrol_ms = 0, t0;
    int rc = CLI_EXIT_FAIL, fd;
    bool made_db = false;
    memset(&r, 0, sizeof(r));
    cli_context_init(&cx, "evaluation", "eval lfw-1n");
    if (!eval_parse_options("lfw-1n", argc, argv, EVAL_OPT_DATA | EVAL_OPT_PROFILE | EVAL_OPT_JSON,
                            &o)) {
        fprintf(stderr, "usage: mien eval lfw-1n [--data DIR] [--profile fast|accurate] "
                        "[--threads N] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (!eval_find_lfw("lfw-1n", o.data_dir, "lfw-names.txt", dir, sizeof(dir))) {
        return CLI_EXIT_FAIL;
    }
    snprintf(names_path, sizeof(names_path), "%s/lfw-names.txt", dir);
    if (!read_names(names_path, &people, &n_people)) {
        return CLI_EXIT_FAIL;
    }
    for (size_t p = 0; p < n_people; p++) {
        n_images += (size_t)people[p].count;
        n_gallery_people += people[p].count >= 2;
    }
    paths = calloc(n_images, sizeof(*paths));
    owner = calloc(n_images, sizeof(*owner));
    is_gallery = calloc(n_images, sizeof(*is_gallery));
    if (paths == NULL || owner == NULL || is_gallery == NULL) {
        fprintf(stderr, "mien eval lfw-1n: out of memory\n");
        goto done;
    }
    for (size_t p = 0; p < n_people; p++) {
        for (int i = 1; i <= people[p].count; i++) {
            size_t len = strlen(dir) + 2 * strlen(people[p].name) + 40;
            paths[k_img] = malloc(len);
            if (paths[k_img] == NULL) {
                fprintf(stderr, "mien eval lfw-1n: out of memory\n");
                goto done;
            }
            snprintf(paths[k_img], len, "%s/lfw_deepfunneled/%s/%s_%04d.jpg", dir,
                     people[p].name, people[p].name, i);
            owner[k_img] = p;
            is_gallery[k_img] = i == 1;
            n_probes += i > 1;
            k_img++;
        }
    }
    fprintf(stderr,
            "mien eval lfw-1n: %zu people, %zu images: gallery %zu (%zu mated + %zu "
            "distractors), %zu probes, profile %s, %d threads\n",
            n_people, n_images, n_people, n_gallery_people, n_people - n_gallery_people,
            n_probes, cli_profile_name(o.profile), o.threads);
    if (eval_open_engine(&o, &engine) != MIEN_OK) {
        goto done;
    }
    {
        eval_embed_job job = {.paths = (const char *const *)paths,
                              .n = n_images,
                              .profile = o.profile,
                              .threads = o.threads,
                              .label = "images"};
        if (eval_embed_run(engine, &job, &r) != MIEN_OK) {
            goto done;
        }
    }
    /* The gallery: a temporary store, only the public API. */
    fd = mkstemps(db_path, 3);
    if (fd < 0) {
        fprintf(stderr, "mien eval lfw-1n: cannot create a temporary store: %s\n",
                strerror(errno));
        goto done;
    }
    close(fd);
    made_db = true;
    snprintf(uri, sizeof(uri), "sqlite:%s", db_path);
    /* Its own key file beside it (never $MIEN_KEY_FILE: that is an operator's store's), a
     * policy for evaluation on public benchmark data (no consent to record, no review: the
     * candidates are scored, not acted on), and a context naming the run. Every enrolment
     * and search is still audited, so "search ms" includes the audit entry's commit. */
    snprintf(key_path, sizeof(key_path), "%s.key", db_path);
    mien_store_options so_open = {.key_file = key_path, .create_key = 1};
    st = cli_store_open_with(uri, &so_open, &store, &err);
    if (st == MIEN_OK) {
        mien_collection_policy policy = {.purposes = "evaluation",
                                         .legal_basis = "evaluation on public benchmark data "
                                                        "(LFW)",
                                         .consent = MIEN_CONSENT_NOT_NEEDED,
                                         .review = MIEN_REVIEW_NONE};
        st = mien_collection_create(store, "lfw", o.profile, engine,
                                    "LFW 1:N (mien eval lfw-1n)", &policy, &cx.ctx, &err);
    }
    if (st != MIEN_OK) {
        fprintf(stderr, "mien eval lfw-1n: %s (%s)\n", err.message, mien_strerror(st));
        goto done;
    }
    t0 = eval_now_ms();
    for (size_t i = 0; i < n_images; i++) {
        mien_enrollment e;
        if (!is_gallery[i]) {
            continue;
        }
        if (r.images[i].status != EVAL_IMAGE_OK) {
            not_enrolled++;
            continue;
        }
        memset(&e, 0, sizeof(e));
        e.subject = people[owner[i]].name;
        e.template_ = r.images[i].t;
        st = mien_enroll(store, "lfw", &e, &cx.ctx, NULL, &err);
        if (st != MIEN_OK) {
            fprintf(stderr, "mien eval lfw-1n: enrol %s: %s (%s)\n", paths[i], err.message,
                    mien_strerror(st));
            goto done;
        }
        enrolled++;
    }
    enrol_ms = eval_now_ms() - t0;
    unmated = malloc((n_probes + 1) * sizeof(*unmated));
    mated_score = malloc((n_probes + 1) * sizeof(*mated_score));
    search_ms = malloc((n_probes + 1) * sizeof(*search_ms));
    mate_rank = calloc(n_probes + 1, sizeof(*mate_rank));
    if (unmated == NULL || mated_score == NULL || search_ms == NULL || mate_rank == NULL) {
        fprintf(stderr, "mien eval lfw-1n: out of memory\n");
        goto done;
    }
    {
        size_t q = 0;
        mien_search_options so = mien_search_options_default();
        so.top_k = TOP_K;
        so.max_fmr = 1.0; /* no floor: every candidate, whatever its similarity */
        for (size_t i = 0; i < n_images; i++) {
            mien_search_result res;
            const mien_candidate *cands;
            size_t n;
            const char *who;
            double ms;
            if (is_gallery[i]) {
                continue;
            }
            who = people[owner[i]].name;
            unmated[q] = -INFINITY;
            mated_score[q] = -INFINITY;
            mate_rank[q] = 0;
            if (r.images[i].status != EVAL_IMAGE_OK) {
                q++;
                continue;
            }
            t0 = eval_now_ms();
            st = mien_search(store, "lfw", r.images[i].t, &so, &cx.ctx, &res, &err);
            ms = eval_now_ms() - t0;
            cands = res.candidates;
            n = res.count;
            if (st != MIEN_OK) {
                fprintf(stderr, "mien eval lfw-1n: search %s: %s (%s)\n", paths[i], err.message,
                        mien_strerror(st));
                goto done;
            }
            search_ms[searched++] = ms;
            for (size_t k = 0; k < n; k++) {
                if (strcmp(cands[k].subject, who) == 0) {
                    if (mate_rank[q] == 0) {
                        mate_rank[q] = (int)k + 1;
                        mated_score[q] = cands[k].similarity;
                    }
                } else if (unmated[q] == -INFINITY) {
                    unmated[q] = cands[k].similarity;
                }
            }
            mien_search_result_free(&res);
            q++;
        }
    }
    {
        size_t hit1 = 0, hit5 = 0, hit10 = 0, fn = 0, fp = 0, idx;
        double *sorted = malloc((n_probes + 1) * sizeof(*sorted)), t, med_ms = 0, fpir;
        double fnir, embed_rate = r.wall_s > 0 ? (double)r.n / r.wall_s : 0;
        double enrol_rate = enrol_ms > 0 ? (double)enrolled / (enrol_ms / 1e3) : 0;
        if (sorted == NULL) {
            fprintf(stderr, "mien eval lfw-1n: out of memory\n");
            goto done;
        }
        for (size_t q = 0; q < n_probes; q++) {
            hit1 += mate_rank[q] == 1;
            hit5 += mate_rank[q] >= 1 && mate_rank[q] <= 5;
            hit10 += mate_rank[q] >= 1 && mate_rank[q] <= 10;
        }
        memcpy(sorted, unmated, n_probes * sizeof(*sorted));
        qsort(sorted, n_probes, sizeof(*sorted), cmp_double_desc);
        idx = (size_t)floor(FPIR_TARGET * (double)n_probes);
        t = idx < n_probes ? sorted[idx] : -INFINITY;
        for (size_t q = 0; q < n_probes; q++) {
            fp += unmated[q] > t;
            fn += !(mate_rank[q] == 1 && mated_score[q] > t);
        }
        fpir = n_probes ? (double)fp / (double)n_probes : 0;
        fnir = n_probes ? (double)fn / (double)n_probes : 0;
        if (searched > 0) {
            qsort(search_ms, searched, sizeof(*search_ms), cmp_double);
            med_ms = searched % 2 ? search_ms[searched / 2]
                                  : 0.5 * (search_ms[searched / 2 - 1] + search_ms[searched / 2]);
        }
        free(sorted);
        printf("LFW 1:N (open set), profile %s: gallery %zu subjects (%zu mated, %zu distractors; "
               "%zu gallery images without a face), %zu mated probes (%zu without a face)\n",
               cli_profile_name(o.profile), enrolled, n_gallery_people,
               n_people - n_gallery_people, not_enrolled, n_probes, n_probes - searched);
        printf("rank-1 %.2f %%   rank-5 %.2f %%   rank-10 %.2f %%\n", 100.0 * hit1 / n_probes,
               100.0 * hit5 / n_probes, 100.0 * hit10 / n_probes);
        printf("FNIR@FPIR=1e-2 %.2f %% (threshold %.4f: %zu/%zu unmated searches above it, "
               "FPIR %.4f; %zu/%zu mated searches missed)\n",
               100.0 * fnir, t, fp, n_probes, fpir, fn, n_probes);
        printf("search: median %.3f ms per probe (%zu searches, one thread, top %d)\n", med_ms,
               searched, TOP_K);
        printf("enrolment: embedding pass %.1f images/s from JPEG with %d threads (%zu images, "
               "%.1f s); store %.0f faces/s (mien_enroll, %zu faces, %.2f s)\n",
               embed_rate, r.threads, r.n, r.wall_s, enrol_rate, enrolled, enrol_ms / 1e3);
        if (o.json) {
            printf("{\"profile\":\"%s\",\"gallery_subjects\":%zu,\"mated_subjects\":%zu,"
                   "\"distractors\":%zu,\"gallery_no_face\":%zu,\"probes\":%zu,"
                   "\"probes_no_face\":%zu,\"rank1\":%.6f,\"rank5\":%.6f,\"rank10\":%.6f,"
                   "\"fnir_at_fpir_1e-2\":%.6f,\"threshold\":%.6f,\"fpir\":%.6f,"
                   "\"search_ms_median\":%.4f,\"embed_images_per_s\":%.2f,"
                   "\"enrol_faces_per_s\":%.1f,\"threads\":%d,\"embed_wall_s\":%.2f}\n",
                   cli_profile_name(o.profile), enrolled, n_gallery_people,
                   n_people - n_gallery_people, not_enrolled, n_probes, n_probes - searched,
                   (double)hit1 / n_probes, (double)hit5 / n_probes, (double)hit10 / n_probes,
                   fnir, t, fpir, med_ms, embed_rate, enrol_rate, r.threads, r.wall_s);
        }
    }
    rc = CLI_EXIT_OK;
done:
    mien_store_close(store);
    if (made_db) {
        static const char *const sides[] = {"-wal", "-shm", ".key", ".audit-head",
                                            ".audit-head.lock"};
        char side[sizeof(db_path) + 24];
        unlink(db_path);
        for (size_t k = 0; k < sizeof(sides) / sizeof(sides[0]); k++) {
            snprintf(side, sizeof(side), "%s%s", db_path, sides[k]);
            unlink(side);
        }
    }
    eval_embed_result_free(&r);
    mien_engine_free(engine);
    for (size_t i = 0; paths != NULL && i < n_images; i++) {
        free(paths[i]);
    }
    free(paths);
    free(owner);
    free(is_gallery);
    free(people);
    free(unmated);
    free(mated_score);
    free(search_ms);
    free(mate_rank);
    return rc;
}
