/* cmd_compare.c — `mien compare A B [--profile P] [--fmr F] [--json]`: are the most prominent
 * faces of two photos the same person? Prints the similarity, the false-match rate at which
 * it would be accepted (calibrated), and the decision at --fmr (default 1e-4). Exit 0 with a
 * decision either way; 1 when a photo cannot be read or has no face. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-4
#define CALIBRATED_FLOOR 1e-6 /* the lowest FMR the calibration tables measure */

int cli_cmd_compare(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    mien_profile profile = MIEN_PROFILE_FAST;
    const char *paths[2] = {NULL, NULL};
    double fmr_target = DEFAULT_FMR, fmr = 1.0;
    float similarity = 0.0f, threshold = 1.0f;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t[2] = {NULL, NULL};
    mien_face faces[2];
    mien_error err;
    bool bad = false;
    int rc = CLI_EXIT_OK, n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (!cli_parse_profile(argv[++i], &profile)) {
                fprintf(stderr, "mien compare: --profile is fast or accurate\n");
                bad = true;
            }
        } else if (strcmp(argv[i], "--fmr") == 0 && i + 1 < argc) {
            char *end = NULL;
            fmr_target = strtod(argv[++i], &end);
            if (*end != '\0' || !(fmr_target >= 1e-6 && fmr_target <= 1.0)) {
                fprintf(stderr, "mien compare: --fmr wants a rate in 1e-6..1, got '%s'\n",
                        argv[i]);
                bad = true;
            }
        } else if (argv[i][0] == '-' || n_paths == 2) {
            fprintf(stderr, "mien compare: unexpected '%s'\n", argv[i]);
            bad = true;
        } else {
            paths[n_paths++] = argv[i];
        }
    }
    if (bad || n_paths != 2) {
        fprintf(stderr, "usage: mien compare IMAGE_A IMAGE_B [--profile fast|accurate] "
                        "[--fmr F] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK ||
        mien_session_new(engine, &session, &err) != MIEN_OK) {
        mien_engine_free(engine);
        return CLI_EXIT_FAIL;
    }
    for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++) {
        if (cli_template_of(session, paths[k], -1, profile, &t[k], &faces[k]) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc == CLI_EXIT_OK && mien_template_compare(t[0], t[1], &similarity, &err) != MIEN_OK) {
        fprintf(stderr, "mien compare: %s\n", err.message);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK) {
        bool calibrated = mien_similarity_fmr(profile, similarity, &fmr) == MIEN_OK &&
                          mien_threshold_for_fmr(profile, fmr_target, &threshold) == MIEN_OK;
        bool same = calibrated && similarity >= threshold;
        if (!calibrated) {
            fprintf(stderr, "mien compare: profile %s is not calibrated; no decision\n",
                    cli_profile_name(profile));
            rc = CLI_EXIT_FAIL;
        }
        if (c.json) {
            printf("{\"a\":");
            cli_json_string(stdout, paths[0]);
            printf(",\"b\":");
            cli_json_string(stdout, paths[1]);
            printf(",\"profile\":\"%s\",\"similarity\":%.6f,\"fmr\":%.3g,\"threshold\":%.6f,"
                   "\"at_fmr\":%.3g,\"same_person\":%s,\"face_a\":",
                   cli_profile_name(profile), similarity, fmr, threshold, fmr_target,
                   same ? "true" : "false");
            cli_face_json(stdout, &faces[0]);
            printf(",\"face_b\":");
            cli_face_json(stdout, &faces[1]);
            printf("}\n");
        } else {
            printf("similarity %.4f (profile %s)\n", similarity, cli_profile_name(profile));
            float floor_threshold = 1.0f;
            bool beyond = calibrated &&
                          mien_threshold_for_fmr(profile, CALIBRATED_FLOOR, &floor_threshold) ==
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
                printf("decision at FMR %.0e (threshold %.4f): %s\n", fmr_target, threshold,
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
