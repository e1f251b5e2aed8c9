/* cmd_search.c — `mien search COLL IMAGE [--top K] [--fmr F] [--face N] [--exact |
 * --approximate] [--store URI] [--models DIR] [--json]`: 1:N search. The most prominent face
 * of IMAGE (or face N) is embedded with the collection's profile and searched; the answer is
 * a ranked list of *candidates* for a person to review (subject, similarity, calibrated
 * false-match rate), never a verdict. Only candidates accepted at --fmr (default 1e-3) are
 * listed. Exit 0 (with or without candidates); 1 when the library fails (no such collection,
 * no face, unreadable image); 2 for bad usage. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-3 /* mien_search_options_default() */

int cli_cmd_search(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    mien_search_options so = mien_search_options_default();
    const char *collection = NULL, *path = NULL, *store_uri = NULL;
    int face_index = -1;
    bool bad = false;
    mien_store *store = NULL;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t = NULL;
    mien_candidate *cands = NULL;
    mien_collection_info info;
    mien_face face;
    size_t n = 0;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_FAIL;
    so.max_fmr = DEFAULT_FMR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (strcmp(a, "--top") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 1, 10000, &so.top_k)) {
                fprintf(stderr, "mien search: --top wants 1..10000, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (strcmp(a, "--fmr") == 0 && i + 1 < argc) {
            char *end = NULL;
            so.max_fmr = strtod(argv[++i], &end);
            if (*end != '\0' || !(so.max_fmr >= 1e-6 && so.max_fmr <= 1.0)) {
                fprintf(stderr, "mien search: --fmr wants a rate in 1e-6..1, got '%s'\n",
                        argv[i]);
                bad = true;
            }
        } else if (strcmp(a, "--face") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 0, 100000, &face_index)) {
                fprintf(stderr, "mien search: --face wants a face number, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (strcmp(a, "--exact") == 0) {
            so.mode = MIEN_SEARCH_EXACT;
        } else if (strcmp(a, "--approximate") == 0) {
            so.mode = MIEN_SEARCH_APPROXIMATE;
        } else if (a[0] == '-' || path != NULL) {
            fprintf(stderr, "mien search: unexpected '%s'\n", a);
            bad = true;
        } else if (collection == NULL) {
            collection = a;
        } else {
            path = a;
        }
    }
    if (bad || path == NULL) {
        fprintf(stderr, "usage: mien search COLL IMAGE [--top K] [--fmr F] [--face N] "
                        "[--exact|--approximate] [--store URI] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    st = mien_collection_get(store, collection, &info, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("search", st, &err);
        goto done;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK) {
        goto done;
    }
    st = mien_session_new(engine, &session, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("search", st, &err);
        goto done;
    }
    if (cli_template_of(session, path, face_index, info.profile, &t, &face) != MIEN_OK) {
        goto done;
    }
    st = mien_search(store, collection, t, &so, &cands, &n, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("search", st, &err);
        goto done;
    }
    rc = CLI_EXIT_OK;
    if (c.json) {
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"image\":");
        cli_json_string(stdout, path);
        printf(",\"profile\":\"%s\",\"max_fmr\":%.3g,\"top\":%d,\"face\":",
               cli_profile_name(info.profile), so.max_fmr, so.top_k);
        cli_face_json(stdout, &face);
        printf(",\"candidates\":[");
        for (size_t k = 0; k < n; k++) {
            printf("%s{\"rank\":%zu,\"subject\":", k ? "," : "", k + 1);
            cli_json_string(stdout, cands[k].subject);
            printf(",\"similarity\":%.6f,\"fmr\":%.3g,\"face_id\":%lld}", cands[k].similarity,
                   cands[k].fmr, (long long)cands[k].face_id);
        }
        printf("]}\n");
    } else if (n == 0) {
        printf("no candidate at FMR %.0e in %s (%lld subjects)\n", so.max_fmr, collection,
               (long long)info.subjects);
    } else {
        printf("candidates for review (FMR <= %.0e, %s, %lld subjects):\n", so.max_fmr,
               collection, (long long)info.subjects);
        printf("%4s  %-32s %10s %10s\n", "rank", "subject", "similarity", "fmr");
        for (size_t k = 0; k < n; k++) {
            printf("%4zu  %-32s %10.4f %10.2g\n", k + 1, cands[k].subject, cands[k].similarity,
                   cands[k].fmr);
        }
    }
done:
    mien_free(cands);
    mien_template_free(t);
    mien_session_free(session);
    mien_engine_free(engine);
    mien_store_close(store);
    return rc;
}
