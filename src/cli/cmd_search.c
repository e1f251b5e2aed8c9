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
 * purpose the collection does not allow or a verification-only collection → exit 3. --top and
 * --fmr above the collection's caps (mien collection create --max-candidates, --max-fmr) are
 * refused by the search itself, audited, exit 3; left out, they default to 10 and 1e-3, lowered
 * to the caps where those are tighter.
 *
 * Exit 0 (with or without candidates); 1 when the library fails (no such collection, no face,
 * unreadable image); 2 for bad usage; 3 refused by the collection's rules. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The answer as one JSON line (docs/cli.md). */
static void print_json(const char *collection, const char *path, const char *sha_hex,
                       const mien_collection_info *info, const cli_context *cx, const mien_face *face,
                       const mien_search_result *res)
{
    printf("{\"collection\":");
    cli_json_string(stdout, collection);
    printf(",\"image\":");
    cli_json_string(stdout, path);
    printf(",\"image_sha256\":\"%s\",\"profile\":\"%s\",\"purpose\":", sha_hex,
           mien_profile_name(info->profile));
    cli_json_string(stdout, cx->ctx.purpose);
    printf(",\"case_ref\":");
    cli_json_string(stdout, cx->ctx.case_ref);
    printf(",\"max_fmr\":%.3g,\"top\":%d,\"face\":", res->max_fmr, res->top_k);
    cli_face_json(stdout, face);
    printf(",");
    cli_candidates_json(stdout, res);
    printf("}\n");
}

/* The answer as a table of candidates, the review to do and the audit entry. */
static void print_text(const char *collection, const mien_collection_info *info,
                       const mien_search_result *res)
{
    if (res->count == 0) {
        printf("no candidate at FMR %.0e in %s (%lld subjects)\n", res->max_fmr, collection,
               (long long)info->subjects);
    } else {
        printf("candidates for review (FMR <= %.0e, %s, %lld subjects):\n", res->max_fmr,
               collection, (long long)info->subjects);
        printf("%4s  %-32s %10s %10s  %s\n", "rank", "subject", "similarity", "fmr",
               "faces (id: similarity)");
        for (size_t k = 0; k < res->count; k++) {
            const mien_candidate *c = &res->candidates[k];
            printf("%4zu  %-32s %10.4f %10.2g ", k + 1, c->subject, c->similarity, c->fmr);
            for (size_t j = 0; j < c->n_faces; j++) {
                printf(" %lld: %.4f", (long long)c->faces[j].face_id, c->faces[j].similarity);
            }
            printf("\n");
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

typedef struct search_args {
    cli_probe_args p;
    mien_search_options so;
} search_args;

static const cli_opt opts[] = {
    CLI_OPT_INCLUDE(cli_search_opts, offsetof(search_args, so)),
    CLI_OPTS_END_PROBE(search_args, p),
};
static const cli_command cmd = {"search",
                                "search COLL IMAGE --purpose P --case-ref REF [--top K] [--fmr F] "
                                "[--face N] [--exact|--approximate] [--aggregate R] "
                                "[--store URI] [--json]",
                                opts, 2, 2};

/* Searches collection pos[0] for the face in image pos[1]. */
static int search(void *args, char **pos, int n_pos)
{
    const search_args *o = args;
    const char *collection = pos[0], *path = pos[1];
    cli_probe p;
    mien_search_result res;
    cli_context cx;
    char sha_hex[65];
    mien_error err;
    mien_status st;
    int rc;
    (void)n_pos;
    memset(&res, 0, sizeof(res));
    rc = cli_probe_open(&p, &o->p, "search", collection, NULL, path, &cx);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    for (int k = 0; k < 32; k++) {
        snprintf(sha_hex + 2 * k, 3, "%02x", p.sha[k]);
    }
    st = mien_search(p.store, collection, p.t, &o->so, &cx.ctx, &res, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("search", st, &err);
        goto done;
    }
    if (o->p.c.json) {
        print_json(collection, path, sha_hex, &p.info, &cx, &p.face, &res);
    } else {
        print_text(collection, &p.info, &res);
    }
done:
    mien_search_result_free(&res);
    cli_probe_close(&p);
    return rc;
}

int cli_cmd_search(int argc, char **argv)
{
    search_args o = {.p = CLI_PROBE_ARGS_DEFAULT, .so = mien_search_options_default()};
    return cli_run_parsed(&cmd, argc, argv, &o, search);
}
