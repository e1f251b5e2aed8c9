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

/* Checks cx's purpose for `action` on `collection` (mien_check_purpose; the library audits a
 * refusal) and prints a refusal as "mien CMD: refused: ...". Returns the exit code
 * (CLI_EXIT_OK to go on, CLI_EXIT_USAGE for a missing purpose or case reference). */
static int check_purpose(mien_store *store, const char *cmd, const char *collection,
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
    int rc = check_purpose(p->store, cmd, collection, cmd, cx);
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
