/* cmd_search.c — `mien search COLL IMAGE --purpose P --case-ref REF [--top K] [--fmr F]
 * [--face N] [--exact | --approximate] [--store URI] [--models DIR] [--json]`: 1:N search.
 *
 * The most prominent face of IMAGE (or face N) is embedded with the collection's profile and
 * searched; the answer is a ranked list of *candidates* for a person to review (subject,
 * similarity, calibrated false-match rate), never a verdict, with the review it opens (its
 * id and how many confirmations it needs: `mien review`). Only candidates accepted at --fmr
 * (default 1e-3) are listed.
 *
 * Every search declares why (mien_context): --purpose, one the collection was declared for,
 * and --case-ref, the case it is done for; the SHA-256 of the image file's bytes (never the
 * image) goes into the audit entry. The rules are checked before the models are loaded
 * (mien_check_purpose), and a refusal is itself audited: missing purpose or case → exit 2, a
 * purpose the collection does not allow or a verification-only collection → exit 3.
 *
 * Exit 0 (with or without candidates); 1 when the library fails (no such collection, no face,
 * unreadable image); 2 for bad usage; 3 refused by the collection's rules. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-3 /* mien_search_options_default() */

static void usage(void)
{
    fprintf(stderr, "usage: mien search COLL IMAGE --purpose P --case-ref REF [--top K] [--fmr F] "
                    "[--face N] [--exact|--approximate] [--store URI] [--json]\n");
}

/* The answer as one JSON line (docs/cli.md). */
static void print_json(const char *collection, const char *path, const char *sha_hex,
                       const mien_collection_info *info, const mien_search_options *so,
                       const cli_context *cx, const mien_face *face,
                       const mien_search_result *res)
{
    printf("{\"collection\":");
    cli_json_string(stdout, collection);
    printf(",\"image\":");
    cli_json_string(stdout, path);
    printf(",\"image_sha256\":\"%s\",\"profile\":\"%s\",\"purpose\":", sha_hex,
           cli_profile_name(info->profile));
    cli_json_string(stdout, cx->ctx.purpose);
    printf(",\"case_ref\":");
    cli_json_string(stdout, cx->ctx.case_ref);
    printf(",\"max_fmr\":%.3g,\"top\":%d,\"face\":", so->max_fmr, so->top_k);
    cli_face_json(stdout, face);
    printf(",\"candidates\":[");
    for (size_t k = 0; k < res->count; k++) {
        const mien_candidate *c = &res->candidates[k];
        printf("%s{\"rank\":%zu,\"subject\":", k ? "," : "", k + 1);
        cli_json_string(stdout, c->subject);
        printf(",\"similarity\":%.6f,\"fmr\":%.3g,\"face_id\":%lld}", c->similarity, c->fmr,
               (long long)c->face_id);
    }
    printf("],\"review_id\":");
    if (res->review_id[0]) {
        printf("\"%s\"", res->review_id);
    } else {
        printf("null");
    }
    printf(",\"reviews_required\":%d,\"audit_seq\":%lld}\n", res->reviews_required,
           (long long)res->audit_seq);
}

/* The answer as a table of candidates, the review to do and the audit entry. */
static void print_text(const char *collection, const mien_collection_info *info,
                       const mien_search_options *so, const mien_search_result *res)
{
    if (res->count == 0) {
        printf("no candidate at FMR %.0e in %s (%lld subjects)\n", so->max_fmr, collection,
               (long long)info->subjects);
    } else {
        printf("candidates for review (FMR <= %.0e, %s, %lld subjects):\n", so->max_fmr,
               collection, (long long)info->subjects);
        printf("%4s  %-32s %10s %10s\n", "rank", "subject", "similarity", "fmr");
        for (size_t k = 0; k < res->count; k++) {
            printf("%4zu  %-32s %10.4f %10.2g\n", k + 1, res->candidates[k].subject,
                   res->candidates[k].similarity, res->candidates[k].fmr);
        }
        if (res->review_id[0]) {
            printf("review %s: needs %d confirmation%s by %s before anyone acts on a "
                   "candidate\n  (mien review %s confirm RANK --reviewer NAME, or reject)\n",
                   res->review_id, res->reviews_required, res->reviews_required == 1 ? "" : "s",
                   res->reviews_required > 1 ? "two different reviewers" : "a reviewer",
                   res->review_id);
        } else {
            printf("review: none (collection %s opted out of review; that choice is in the "
                   "audit log)\n", collection);
        }
    }
    printf("audit entry %lld\n", (long long)res->audit_seq);
}

int cli_cmd_search(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    mien_search_options so = mien_search_options_default();
    const char *collection = NULL, *path = NULL, *store_uri = NULL;
    const char *purpose = NULL, *case_ref = NULL;
    int face_index = -1;
    bool bad = false;
    cli_probe p;
    mien_search_result res;
    cli_context cx;
    char sha_hex[65];
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_FAIL;
    memset(&res, 0, sizeof(res));
    so.max_fmr = DEFAULT_FMR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad) ||
            cli_context_option(argc, argv, &i, &purpose, &case_ref, &bad)) {
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
        usage();
        return CLI_EXIT_USAGE;
    }
    /* A missing --purpose or --case-ref is not caught here: the library refuses it, and the
     * refusal goes into the audit log like any other (cli_probe_open). */
    cli_context_init(&cx, purpose, case_ref);
    rc = cli_probe_open(&p, &c, store_uri, "search", collection, path, face_index, &cx);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    for (int k = 0; k < 32; k++) {
        snprintf(sha_hex + 2 * k, 3, "%02x", p.sha[k]);
    }
    st = mien_search(p.store, collection, p.t, &so, &cx.ctx, &res, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("search", st, &err);
        goto done;
    }
    if (c.json) {
        print_json(collection, path, sha_hex, &p.info, &so, &cx, &p.face, &res);
    } else {
        print_text(collection, &p.info, &so, &res);
    }
done:
    mien_search_result_free(&res);
    cli_probe_close(&p);
    return rc;
}
