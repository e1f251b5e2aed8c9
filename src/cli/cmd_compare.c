/* cmd_compare.c — `mien compare A B [--face-a N] [--face-b N] [--profile P] [--fmr F]
 * [--purpose P --case-ref REF] [--store URI] [--json]`: is the face of photo A the person in
 * photo B? Prints the similarity, the false-match rate at which it would be accepted
 * (calibrated), and the decision at --fmr (default 1e-4).
 *
 * Which faces. Faces are numbered as `mien detect` numbers them (detection order, from 0).
 * A's face is --face-a N, else its most prominent one (mien_faces_prominent); B's is
 * --face-b N, else every face of B is compared with A's and the most similar is reported, as
 * Rekognition's CompareFaces does with its target (so a group photo finds the person wherever
 * they stand). A bare --face is refused: with two photos it would have to guess which.
 *
 * Audit. As POST /v1/compare, a compare is one audit entry whenever there is a store to
 * write it to (--store, or $MIEN_STORE): the purpose is then required (a compare without one
 * is refused, and the refusal is an entry too), and so is each photo without a face; the
 * entry holds both images' digests and the result, never the images. The answer is given
 * only once its entry is written. There is no collection, hence no declared purposes to
 * check the purpose against: the operator's declaration is recorded as given (the server
 * checks its --compare-purposes list). Without any store the compare is a local measurement
 * on two files, recorded nowhere; --purpose or --case-ref there is bad usage, since it would
 * promise a record that is not kept.
 *
 * Exit 0 with a decision either way; 1 when a photo cannot be read or has no face, or the
 * entry cannot be written; 2 bad usage (no purpose with a store). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-4
#define CALIBRATED_FLOOR 1e-6 /* the lowest FMR the calibration tables measure */

typedef struct compare_args {
    cli_common c;
    mien_profile profile;
    double fmr;
    const char *store, *purpose, *case_ref; /* borrowed from argv; NULL when not given */
    int face[2]; /* --face-a, --face-b; -1: A's most prominent face, every face of B */
    int face_either; /* --face, refused: -1 unless given */
} compare_args;

static const cli_opt opts[] = {
    {"--face-a", CLI_OPT_INT, offsetof(compare_args, face[0]), "N",
     .help = "face N of IMAGE_A as `mien detect` numbers them (default: the most prominent)",
     .lo = 0, .hi = 100000, .want = "a face number"},
    {"--face-b", CLI_OPT_INT, offsetof(compare_args, face[1]), "N",
     .help = "face N of IMAGE_B (default: each face of IMAGE_B, the most similar reported)",
     .lo = 0, .hi = 100000, .want = "a face number"},
    {"--face", CLI_OPT_INT, offsetof(compare_args, face_either), "N",
     .help = "refused: say which photo, --face-a N or --face-b N", .lo = 0, .hi = 100000,
     .want = "a face number"},
    CLI_OPT_PROFILE(compare_args, profile),
    CLI_OPT_FMR(compare_args, fmr),
    CLI_OPT_WHY(compare_args),
    CLI_OPTS_END_STORE(compare_args),
};
static const cli_command cmd = {
    "compare",
    "compare IMAGE_A IMAGE_B [--face-a N] [--face-b N] [--profile fast|accurate] [--fmr F]\n"
    "       [--purpose P --case-ref REF] [--store URI] [--json]   (A's most prominent face\n"
    "       against each of B's unless --face-b; with a store, --store or $MIEN_STORE, the\n"
    "       compare is audited and --purpose is required)",
    opts, 2, 2};

/* Where a compare's entry goes: the store open (NULL without one), the two images' bytes
 * and digests, who asks and why. */
typedef struct compare_record {
    mien_store *store;
    uint8_t *bytes[2];
    size_t size[2];
    char sha_hex[2][65];
    cli_context cx;
} compare_record;

/* Appends the compare's audit entry: `outcome` "ok" or "refused", `result` a JSON object's
 * members without braces (may be empty), the digests added. Prints why it failed. */
static mien_status compare_audit(compare_record *rec, const char *outcome, const char *result)
{
    char text[1024];
    mien_error err;
    snprintf(text, sizeof(text), "{%s%s\"a_sha256\":\"%s\",\"b_sha256\":\"%s\"}", result,
             result[0] ? "," : "", rec->sha_hex[0], rec->sha_hex[1]);
    mien_audit_event ev = {.action = "compare", .collection = NULL, .outcome = outcome,
                           .result = text};
    mien_status st = mien_audit_append(rec->store, &ev, &rec->cx.ctx, NULL, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien compare: the audit entry could not be written, no answer: %s\n",
                err.message);
    }
    return st;
}

/* A refusal with its reason (a JSON string's text, no quotes needed escaping: mien's own
 * words), recorded. */
static void compare_refused(compare_record *rec, const char *reason)
{
    char result[256];
    snprintf(result, sizeof(result), "\"reason\":\"%s\"", reason);
    compare_audit(rec, "refused", result);
}

/* Reads both images (their digests go into the entry); with a store (--store or
 * $MIEN_STORE) opens it first and checks the purpose (a refusal recorded). Without one,
 * --purpose and --case-ref are refused as bad usage. Returns the exit code. */
static int record_open(const compare_args *o, char **paths, compare_record *rec)
{
    const char *env = getenv("MIEN_STORE");
    bool audited = o->store != NULL || (env != NULL && env[0] != '\0');
    memset(rec, 0, sizeof(*rec));
    if (!audited && (o->purpose != NULL || o->case_ref != NULL)) {
        fprintf(stderr, "mien compare: --purpose and --case-ref are recorded in a store's "
                        "audit log: give --store URI or set MIEN_STORE\n");
        return CLI_EXIT_USAGE;
    }
    if (audited) {
        cli_context_init(&rec->cx, o->purpose, o->case_ref);
        if (cli_open_store(o->store, &rec->store) != MIEN_OK) {
            return CLI_EXIT_FAIL;
        }
    }
    for (int k = 0; k < 2; k++) {
        uint8_t sha[32];
        if (cli_read_file(paths[k], &rec->bytes[k], &rec->size[k]) != MIEN_OK) {
            return CLI_EXIT_FAIL;
        }
        mien_sha256(rec->bytes[k], rec->size[k], sha);
        for (int j = 0; j < 32; j++) {
            snprintf(rec->sha_hex[k] + 2 * j, 3, "%02x", sha[j]);
        }
        if (k == 0 && audited) {
            cli_context_set_input(&rec->cx, sha);
        }
    }
    if (audited && (o->purpose == NULL || o->purpose[0] == '\0')) {
        compare_refused(rec, "a compare declares its purpose");
        fprintf(stderr, "mien compare: refused: a compare recorded in a store declares its "
                        "purpose: give --purpose P (the refusal is in the audit log)\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void record_close(compare_record *rec)
{
    free(rec->bytes[0]);
    free(rec->bytes[1]);
    mien_store_close(rec->store);
}

/* ---- the faces ----------------------------------------------------------------------------- */

/* One photo and its faces, in `mien detect`'s numbering (mien_detect's default options). */
typedef struct photo {
    mien_image *img;
    mien_face *faces;
    size_t n;
    int used;          /* the face compared: the one asked for, or B's most similar */
    float *similarity; /* B compared face by face: each face's similarity to A's; else NULL */
} photo;

static void photo_free(photo *p)
{
    mien_image_free(p->img);
    mien_faces_free(p->faces);
    free(p->similarity);
}

/* Decodes image k of rec and detects its faces into *p; then, unless B is to be searched face
 * by face (choice -1 for B), picks face `choice` (A's -1: the most prominent) into p->used.
 * A photo without that face is a refusal recorded when audited. Prints what went wrong. */
static mien_status photo_open(mien_session *s, compare_record *rec, char **paths, int k,
                              int choice, photo *p)
{
    mien_image_options io = mien_image_options_faces();
    mien_detect_options dopt = mien_detect_options_default();
    mien_error err;
    mien_status st = mien_image_decode(rec->bytes[k], rec->size[k], &io, &p->img, &err);
    if (st == MIEN_OK) {
        st = mien_detect(s, p->img, &dopt, &p->faces, &p->n, &err);
    }
    if (st != MIEN_OK) {
        cli_error("compare", paths[k], st, &err);
        return st;
    }
    p->used = k == 1 && choice < 0 ? (p->n > 0 ? 0 : -1)
                                   : mien_faces_choose(p->faces, p->n, p->img,
                                                       choice < 0 ? MIEN_FACE_PROMINENT : choice);
    if (p->used >= 0) {
        return MIEN_OK;
    }
    if (p->n == 0) {
        fprintf(stderr, "mien compare: %s: no face found\n", paths[k]);
    } else {
        fprintf(stderr, "mien compare: %s: no face %d: %zu found, numbered 0 to %zu as `mien "
                        "detect` lists them\n",
                paths[k], choice, p->n, p->n - 1);
    }
    if (rec->store != NULL) {
        compare_refused(rec, k == 0 ? "no_face: image a" : "no_face: image b");
    }
    return MIEN_ERR_NOT_FOUND;
}

/* The similarity of A's face to B's, or to each face of B (b->similarity filled, b->used the
 * most similar) when `each`. Prints what went wrong. */
static mien_status compare_faces(mien_session *s, mien_profile profile, photo *a, photo *b,
                                 bool each, float *similarity)
{
    mien_template *ta = NULL, *tb = NULL;
    mien_error err;
    size_t first = each ? 0 : (size_t)b->used, end = each ? b->n : first + 1;
    mien_status st;
    if (each && (b->similarity = calloc(b->n, sizeof(float))) == NULL) {
        fprintf(stderr, "mien compare: out of memory\n");
        return MIEN_ERR_NOMEM;
    }
    st = mien_embed(s, a->img, &a->faces[a->used], profile, &ta, &err);
    for (size_t i = first; st == MIEN_OK && i < end; i++) {
        float sim = 0.0f;
        st = mien_embed(s, b->img, &b->faces[i], profile, &tb, &err);
        if (st == MIEN_OK) {
            st = mien_template_compare(ta, tb, &sim, &err);
        }
        mien_template_free(tb);
        tb = NULL;
        if (each && st == MIEN_OK) {
            b->similarity[i] = sim;
        }
        if (st == MIEN_OK && (i == first || sim > *similarity)) {
            *similarity = sim;
            b->used = (int)i;
        }
    }
    if (st != MIEN_OK) {
        cli_error("compare", NULL, st, &err);
    }
    mien_template_free(ta);
    return st;
}

/* ---- the answer ---------------------------------------------------------------------------- */

/* Which faces were compared, when either photo has more than one: a person sees that the
 * choice was made, and how to make another. */
static void print_faces_text(const photo p[2])
{
    if (p[0].n < 2 && p[1].n < 2) {
        return;
    }
    printf("faces: A's face %d of %zu%s; B's face %d of %zu", p[0].used, p[0].n,
           p[0].n > 1 ? " (--face-a N picks another)" : "", p[1].used, p[1].n);
    if (p[1].similarity != NULL && p[1].n > 1) {
        printf(", the most similar (");
        for (size_t i = 0; i < p[1].n; i++) {
            printf("%s%zu: %.4f", i ? ", " : "", i, p[1].similarity[i]);
        }
        printf("; --face-b N picks one)");
    }
    printf("\n");
}

static void print_json(const compare_args *o, char **paths, const photo p[2], float similarity,
                       double fmr, float threshold, bool same)
{
    printf("{\"a\":");
    cli_json_string(stdout, paths[0]);
    printf(",\"b\":");
    cli_json_string(stdout, paths[1]);
    printf(",\"profile\":\"%s\",\"similarity\":%.6f,\"fmr\":%.3g,\"threshold\":%.6f,"
           "\"at_fmr\":%.3g,\"same_person\":%s,\"face_a\":",
           mien_profile_name(o->profile), similarity, fmr, threshold, o->fmr,
           same ? "true" : "false");
    cli_face_json(stdout, &p[0].faces[p[0].used]);
    printf(",\"face_b\":");
    cli_face_json(stdout, &p[1].faces[p[1].used]);
    printf(",\"a_index\":%d,\"a_faces\":%zu,\"b_index\":%d,\"b_faces\":%zu", p[0].used, p[0].n,
           p[1].used, p[1].n);
    if (p[1].similarity != NULL) {
        printf(",\"b_similarities\":[");
        for (size_t i = 0; i < p[1].n; i++) {
            printf("%s%.6f", i ? "," : "", p[1].similarity[i]);
        }
        printf("]");
    }
    printf("}\n");
}

static void print_text(const compare_args *o, const photo p[2], float similarity, double fmr,
                       float threshold, bool same)
{
    float floor_threshold = 1.0f;
    printf("similarity %.4f (profile %s)\n", similarity, mien_profile_name(o->profile));
    print_faces_text(p);
    if (mien_threshold_for_fmr(o->profile, CALIBRATED_FLOOR, &floor_threshold) == MIEN_OK &&
        similarity >= floor_threshold) {
        printf("accepted at any false-match rate down to %.0e (the calibrated floor: no lower "
               "rate is claimed)\n",
               CALIBRATED_FLOOR);
    } else {
        printf("accepted at a false-match rate of %.2g or more\n", fmr);
    }
    printf("decision at FMR %.0e (threshold %.4f): %s\n", o->fmr, threshold,
           CLI_DECISION(same));
}

/* Decides on the similarity at --fmr, records the answer when audited, then prints it.
 * Returns the exit code. */
static int answer(const compare_args *o, compare_record *rec, char **paths, const photo p[2],
                  float similarity)
{
    double fmr = 1.0;
    float threshold = 1.0f;
    bool same;
    if (mien_similarity_fmr(o->profile, similarity, &fmr) != MIEN_OK ||
        mien_threshold_for_fmr(o->profile, o->fmr, &threshold) != MIEN_OK) {
        fprintf(stderr, "mien compare: profile %s is not calibrated; no decision\n",
                mien_profile_name(o->profile));
        return CLI_EXIT_FAIL;
    }
    same = similarity >= threshold;
    if (rec->store != NULL) {
        /* No answer without its record (as POST /v1/compare). */
        char result[320];
        snprintf(result, sizeof(result),
                 "\"similarity\":%.6f,\"fmr\":%.3g,\"at_fmr\":%.3g,\"same_person\":%s,"
                 "\"profile\":\"%s\",\"a_face\":%d,\"b_face\":%d,\"b_faces\":%zu",
                 similarity, fmr, o->fmr, same ? "true" : "false", mien_profile_name(o->profile),
                 p[0].used, p[1].used, p[1].n);
        if (compare_audit(rec, "ok", result) != MIEN_OK) {
            return CLI_EXIT_FAIL;
        }
    }
    if (o->c.json) {
        print_json(o, paths, p, similarity, fmr, threshold, same);
    } else {
        print_text(o, p, similarity, fmr, threshold, same);
    }
    return CLI_EXIT_OK;
}

/* Compares the faces of images pos[0] and pos[1] and decides at --fmr. */
static int compare(void *args, char **pos, int n_pos)
{
    const compare_args *o = args;
    compare_record rec;
    float similarity = 0.0f;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    photo p[2];
    char **paths = pos; /* IMAGE_A and IMAGE_B */
    int rc;
    (void)n_pos;
    if (o->face_either >= 0) {
        fprintf(stderr, "mien compare: --face: which photo? --face-a N for IMAGE_A, --face-b N "
                        "for IMAGE_B (without --face-b, each face of IMAGE_B is compared)\n");
        return cli_bad_usage(&cmd);
    }
    memset(p, 0, sizeof(p));
    rc = record_open(o, paths, &rec);
    if (rc == CLI_EXIT_OK && cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        rc = CLI_EXIT_FAIL;
    }
    for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++) {
        if (photo_open(session, &rec, paths, k, o->face[k], &p[k]) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc == CLI_EXIT_OK &&
        compare_faces(session, o->profile, &p[0], &p[1], o->face[1] < 0, &similarity) != MIEN_OK) {
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK) {
        rc = answer(o, &rec, paths, p, similarity);
    }
    photo_free(&p[0]);
    photo_free(&p[1]);
    mien_session_free(session);
    mien_engine_free(engine);
    record_close(&rec);
    return rc;
}

int cli_cmd_compare(int argc, char **argv)
{
    compare_args o = {.c = {.threads = 1}, .profile = MIEN_PROFILE_FAST, .fmr = DEFAULT_FMR,
                      .face = {-1, -1}, .face_either = -1};
    return cli_run_parsed(&cmd, argc, argv, &o, compare);
}
