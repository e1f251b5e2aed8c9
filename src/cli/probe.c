/* probe.c — the first half of an identification command (`mien search`, `mien verify`): the
 * store and collection, the probe image's bytes and digest, the purpose check, then the
 * probe's template (cli.h cli_probe_open).
 *
 * The order is the point: the image's digest is taken before the purpose is checked, so that
 * even a refusal records what was presented; the purpose is checked before the models load,
 * so a refused request costs no inference. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_check_purpose(mien_store *store, const char *cmd, const char *collection,
                      const char *action, const cli_context *cx)
{
    mien_error err;
    mien_status st = mien_check_purpose(store, collection, action, &cx->ctx, &err);
    if (st == MIEN_OK) {
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "mien %s: refused: %s (%s)\n", cmd, err.message, mien_strerror(st));
    if (st == MIEN_ERR_ARG) {
        fprintf(stderr, "mien %s: give --purpose P%s (the refusal is in the audit log)\n", cmd,
                strcmp(action, "search") == 0 ? " and --case-ref REF" : "");
        return CLI_EXIT_USAGE;
    }
    return cli_exit_code(st);
}

const cli_opt cli_probe_opts[] = {
    CLI_OPT_WHY(cli_probe_args),
    CLI_OPT_FACE(cli_probe_args, face),
    CLI_OPTS_END_STORE(cli_probe_args),
};

const cli_opt cli_search_opts[] = {
    {"--top", CLI_OPT_INT, offsetof(mien_search_options, top_k), "K",
     .help = "list K candidates at most (default 10; at most the collection's cap)",
     .lo = 1, .hi = 10000},
    {"--fmr", CLI_OPT_DOUBLE, offsetof(mien_search_options, max_fmr), "F",
     .help = "list the candidates accepted at this false-match rate (default 1e-3; at "
             "most the collection's cap)",
     .lo = 1e-6, .hi = 1.0, .want = "a rate in 1e-6..1"},
    {"--exact", CLI_OPT_SET, offsetof(mien_search_options, mode), NULL,
     .help = "scan every template", .lo = MIEN_SEARCH_EXACT},
    {"--approximate", CLI_OPT_SET, offsetof(mien_search_options, mode), NULL,
     .help = "search the approximate (HNSW) index", .lo = MIEN_SEARCH_APPROXIMATE},
    {"--aggregate", CLI_OPT_CALL, offsetof(mien_search_options, aggregate), "R",
     .help = "how a subject's faces score together: best, mean, quality, top2 (default: mean)",
     .parse = cli_opt_aggregate, .want = "best, mean, quality, top2 or default"},
    CLI_OPT_END,
};

int cli_probe_open(cli_probe *p, const cli_probe_args *a, const char *cmd,
                   const char *collection, const char *subject, const char *path,
                   cli_context *cx)
{
    mien_error err;
    mien_status st;
    memset(p, 0, sizeof(*p));
    /* A missing --purpose or --case-ref is not caught here: the library refuses it, and the
     * refusal goes into the audit log like any other (check_purpose). */
    cli_context_init(cx, a->purpose, a->case_ref);
    if (cli_open_store_to_read(a->store, &p->store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    st = mien_collection_get(p->store, collection, &p->info, &err);
    if (st != MIEN_OK) {
        return cli_fail(cmd, st, &err);
    }
    if (cli_read_file(path, &p->bytes, &p->size) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    mien_sha256(p->bytes, p->size, p->sha);
    cli_context_set_input(cx, p->sha);
    int rc = cli_check_purpose(p->store, cmd, collection, cmd, cx);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (cli_open_session(&a->c, &p->engine, &p->session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    size_t faces = 0;
    st = cli_template_of_bytes(p->session, path, p->bytes, p->size, a->face, p->info.profile,
                               &p->t, &p->face, &faces);
    if (st == MIEN_ERR_NOT_FOUND) {
        /* No face (or no face N): refused after the library's purpose check, so recorded
         * here (mien_record_refusal), as the HTTP API records it. */
        st = mien_record_refusal(p->store, collection, cmd, subject, MIEN_REFUSAL_NO_FACE, faces,
                                 &cx->ctx, NULL, &err);
        if (st != MIEN_OK) {
            fprintf(stderr, "mien %s: the refusal could not be audited: %s\n", cmd, err.message);
        }
        return CLI_EXIT_FAIL;
    }
    return st == MIEN_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

void cli_probe_close(cli_probe *p)
{
    free(p->bytes);
    mien_template_free(p->t);
    mien_session_free(p->session);
    mien_engine_free(p->engine);
    mien_store_close(p->store);
    memset(p, 0, sizeof(*p));
}

void cli_candidates_json(FILE *f, const mien_search_result *res)
{
    fprintf(f, "\"candidates\":[");
    for (size_t k = 0; k < res->count; k++) {
        const mien_candidate *c = &res->candidates[k];
        fprintf(f, "%s{\"rank\":%zu,\"subject\":", k ? "," : "", k + 1);
        cli_json_string(f, c->subject);
        fprintf(f, ",\"similarity\":%.6f,\"fmr\":%.3g,\"face_id\":%lld,\"faces\":[",
                c->similarity, c->fmr, (long long)c->face_id);
        for (size_t j = 0; j < c->n_faces; j++) {
            fprintf(f, "%s{\"face_id\":%lld,\"similarity\":%.6f}", j ? "," : "",
                    (long long)c->faces[j].face_id, c->faces[j].similarity);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "],\"review_id\":");
    if (res->review_id[0]) {
        fprintf(f, "\"%s\"", res->review_id);
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"reviews_required\":%d,\"audit_seq\":%lld", res->reviews_required,
            (long long)res->audit_seq);
}
