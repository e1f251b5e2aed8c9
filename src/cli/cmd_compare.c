/* cmd_compare.c — `mien compare A B [--profile P] [--fmr F] [--json]`: are the most prominent
 * faces of two photos the same person? Prints the similarity, the false-match rate at which
 * it would be accepted (calibrated), and the decision at --fmr (default 1e-4). Exit 0 with a
 * decision either way; 1 when a photo cannot be read or has no face. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-4
#define CALIBRATED_FLOOR 1e-6 /* the lowest FMR the calibration tables measure */

typedef struct compare_args {
    cli_common c;
    mien_profile profile;
    double fmr;
} compare_args;

static const cli_opt opts[] = {
    CLI_OPT_PROFILE(compare_args, profile),
    CLI_OPT_FMR(compare_args, fmr),
    CLI_OPTS_END_COMMON(compare_args),
};
static const cli_command cmd = {
    "compare", "compare IMAGE_A IMAGE_B [--profile fast|accurate] [--fmr F] [--json]", opts, 2,
    2};

/* Compares the faces of images pos[0] and pos[1] and decides at --fmr. */
static int compare(void *args, char **pos, int n_pos)
{
    const compare_args *o = args;
    double fmr = 1.0;
    float similarity = 0.0f, threshold = 1.0f;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t[2] = {NULL, NULL};
    mien_face faces[2];
    char **paths = pos; /* IMAGE_A and IMAGE_B */
    mien_error err;
    int rc = CLI_EXIT_OK;
    (void)n_pos;
    if (cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++) {
        if (cli_template_of(session, paths[k], -1, o->profile, &t[k], &faces[k]) != MIEN_OK) {
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
                       same ? "same person" : "different people");
            }
        }
    }
    mien_template_free(t[0]);
    mien_template_free(t[1]);
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}

int cli_cmd_compare(int argc, char **argv)
{
    compare_args o = {.c = {.threads = 1}, .profile = MIEN_PROFILE_FAST, .fmr = DEFAULT_FMR};
    return cli_run_parsed(&cmd, argc, argv, &o, compare);
}
