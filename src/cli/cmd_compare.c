/* cmd_compare.c — `mien compare A B [--profile P] [--fmr F] [--purpose P --case-ref REF]
 * [--store URI] [--json]`: are the most prominent faces of two photos the same person? Prints
 * the similarity, the false-match rate at which it would be accepted (calibrated), and the
 * decision at --fmr (default 1e-4).
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
} compare_args;

static const cli_opt opts[] = {
    CLI_OPT_PROFILE(compare_args, profile),
    CLI_OPT_FMR(compare_args, fmr),
    CLI_OPT_WHY(compare_args),
    CLI_OPTS_END_STORE(compare_args),
};
static const cli_command cmd = {
    "compare",
    "compare IMAGE_A IMAGE_B [--profile fast|accurate] [--fmr F] [--purpose P --case-ref REF]\n"
    "       [--store URI] [--json]   (with a store, --store or $MIEN_STORE, the compare is\n"
    "       audited and --purpose is required)",
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

/* With a store (--store or $MIEN_STORE): opens it, reads both images (their digests go into
 * the entry) and checks the purpose (a refusal recorded). Without one, --purpose and
 * --case-ref are refused as bad usage. Returns the exit code. */
static int record_open(const compare_args *o, char **paths, compare_record *rec)
{
    const char *env = getenv("MIEN_STORE");
    memset(rec, 0, sizeof(*rec));
    if (o->store == NULL && (env == NULL || env[0] == '\0')) {
        if (o->purpose != NULL || o->case_ref != NULL) {
            fprintf(stderr, "mien compare: --purpose and --case-ref are recorded in a store's "
                            "audit log: give --store URI or set MIEN_STORE\n");
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    }
    cli_context_init(&rec->cx, o->purpose, o->case_ref);
    if (cli_open_store(o->store, &rec->store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
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
        if (k == 0) {
            cli_context_set_input(&rec->cx, sha);
        }
    }
    if (o->purpose == NULL || o->purpose[0] == '\0') {
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

/* The template of image k: from the bytes already read and hashed when audited (a photo
 * without a face is then a recorded refusal), else from the file. */
static mien_status template_of(const compare_args *o, compare_record *rec, char **paths, int k,
                               mien_session *session, mien_template **t, mien_face *face)
{
    mien_status st;
    if (rec->store == NULL) {
        return cli_template_of(session, paths[k], -1, o->profile, t, face);
    }
    st = cli_template_of_bytes(session, paths[k], rec->bytes[k], rec->size[k], -1, o->profile, t,
                               face, NULL);
    if (st == MIEN_ERR_NOT_FOUND) {
        compare_refused(rec, k == 0 ? "no_face: image a" : "no_face: image b");
    }
    return st;
}

/* Compares the faces of images pos[0] and pos[1] and decides at --fmr. */
static int compare(void *args, char **pos, int n_pos)
{
    const compare_args *o = args;
    compare_record rec;
    double fmr = 1.0;
    float similarity = 0.0f, threshold = 1.0f;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t[2] = {NULL, NULL};
    mien_face faces[2];
    char **paths = pos; /* IMAGE_A and IMAGE_B */
    mien_error err;
    int rc;
    (void)n_pos;
    rc = record_open(o, paths, &rec);
    if (rc == CLI_EXIT_OK && cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        rc = CLI_EXIT_FAIL;
    }
    for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++) {
        if (template_of(o, &rec, paths, k, session, &t[k], &faces[k]) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc == CLI_EXIT_OK && mien_template_compare(t[0], t[1], &similarity, &err) != MIEN_OK) {
        fprintf(stderr, "mien compare: %s\n", err.message);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK) {
        bool calibrated = mien_similarity_fmr(o->profile, similarity, &fmr) == MIEN_OK &&
                          mien_threshold_for_fmr(o->profile, o->fmr, &threshold) == MIEN_OK;
        bool same = calibrated && similarity >= threshold;
        if (!calibrated) {
            fprintf(stderr, "mien compare: profile %s is not calibrated; no decision\n",
                    mien_profile_name(o->profile));
            rc = CLI_EXIT_FAIL;
        }
        if (calibrated && rec.store != NULL) {
            /* No answer without its record (as POST /v1/compare). */
            char result[256];
            snprintf(result, sizeof(result),
                     "\"similarity\":%.6f,\"fmr\":%.3g,\"at_fmr\":%.3g,\"same_person\":%s,"
                     "\"profile\":\"%s\"",
                     similarity, fmr, o->fmr, same ? "true" : "false",
                     mien_profile_name(o->profile));
            if (compare_audit(&rec, "ok", result) != MIEN_OK) {
                rc = CLI_EXIT_FAIL;
                goto done;
            }
        }
        if (o->c.json) {
            printf("{\"a\":");
            cli_json_string(stdout, paths[0]);
            printf(",\"b\":");
            cli_json_string(stdout, paths[1]);
            printf(",\"profile\":\"%s\",\"similarity\":%.6f,\"fmr\":%.3g,\"threshold\":%.6f,"
                   "\"at_fmr\":%.3g,\"same_person\":%s,\"face_a\":",
                   mien_profile_name(o->profile), similarity, fmr, threshold, o->fmr,
                   same ? "true" : "false");
            cli_face_json(stdout, &faces[0]);
            printf(",\"face_b\":");
            cli_face_json(stdout, &faces[1]);
            printf("}\n");
        } else {
            printf("similarity %.4f (profile %s)\n", similarity, mien_profile_name(o->profile));
            float floor_threshold = 1.0f;
            bool beyond = calibrated &&
                          mien_threshold_for_fmr(o->profile, CALIBRATED_FLOOR, &floor_threshold) ==
                              MIEN_OK &&
                          similarity >= floor_threshold;
            if (beyond) {
                printf("accepted at any false-match rate down to %.0e (the calibrated floor: "
                       "no lower rate is claimed)\n",
                       CALIBRATED_FLOOR);
            } else if (calibrated) {
                printf("accepted at a false-match rate of %.2g or more\n", fmr);
            }
            if (calibrated) {
                printf("decision at FMR %.0e (threshold %.4f): %s\n", o->fmr, threshold,
                       CLI_DECISION(same));
            }
        }
    }
done:
    mien_template_free(t[0]);
    mien_template_free(t[1]);
    mien_session_free(session);
    mien_engine_free(engine);
    record_close(&rec);
    return rc;
}

int cli_cmd_compare(int argc, char **argv)
{
    compare_args o = {.c = {.threads = 1}, .profile = MIEN_PROFILE_FAST, .fmr = DEFAULT_FMR};
    return cli_run_parsed(&cmd, argc, argv, &o, compare);
}
