/* cmd_verify.c — `mien verify COLL --subject ID IMAGE --purpose P [--case-ref REF] [--fmr F]
 * [--face N] [--store URI] [--models DIR] [--json]`: 1:1 verification. Is the most prominent
 * face of IMAGE (or face N) the enrolled subject ID? The subject's aggregate score over its
 * faces (mien.h mien_aggregate: the default rule), its calibrated false-match rate, and the
 * decision at --fmr (default 1e-4, as `mien compare`). Allowed on verification-only
 * collections (which refuse 1:N search).
 *
 * As for search, the purpose (one the collection was declared for) is checked before the
 * models load, the refusal is audited, and the audit entry carries the SHA-256 of the image
 * file's bytes; --case-ref is optional here.
 *
 * Exit 0 with a decision either way; 1 when the library fails (no such collection or subject,
 * no face, unreadable image); 2 for bad usage or a missing --purpose; 3 when the collection's
 * rules refuse the purpose. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_FMR 1e-4 /* mien_verify's default, and `mien compare`'s */

typedef struct verify_args {
    cli_probe_args p;
    const char *subject;
    double fmr;
} verify_args;

static const cli_opt opts[] = {
    {"--subject", CLI_OPT_STRING, offsetof(verify_args, subject), "ID",
     .help = "the enrolled subject to verify against", .required = true},
    CLI_OPT_FMR(verify_args, fmr),
    CLI_OPTS_END_PROBE(verify_args, p),
};
static const cli_command cmd = {"verify",
                                "verify COLL --subject ID IMAGE --purpose P [--case-ref REF] "
                                "[--fmr F] [--face N] [--store URI] [--json]",
                                opts, 2, 2};

/* Verifies the face in image pos[1] against subject --subject of collection pos[0]. */
static int verify(void *args, char **pos, int n_pos)
{
    const verify_args *o = args;
    const char *collection = pos[0], *path = pos[1], *subject = o->subject;
    cli_probe p;
    mien_verification v;
    cli_context cx;
    mien_error err;
    mien_status st;
    int rc;
    (void)n_pos;
    rc = cli_probe_open(&p, &o->p, "verify", collection, subject, path, &cx);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    st = mien_verify(p.store, collection, subject, p.t, o->fmr, &cx.ctx, &v, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("verify", st, &err);
        goto done;
    }
    if (o->p.c.json) {
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"subject\":");
        cli_json_string(stdout, subject);
        printf(",\"image\":");
        cli_json_string(stdout, path);
        printf(",\"profile\":\"%s\",\"purpose\":", mien_profile_name(p.info.profile));
        cli_json_string(stdout, o->p.purpose);
        printf(",\"case_ref\":");
        cli_json_string(stdout, o->p.case_ref);
        printf(",\"similarity\":%.6f,\"fmr\":%.3g,\"at_fmr\":%.3g,\"accepted\":%s,"
               "\"faces\":%zu,\"audit_seq\":%lld,\"face\":",
               v.similarity, v.fmr, o->fmr, v.accepted ? "true" : "false", v.n_faces,
               (long long)v.audit_seq);
        cli_face_json(stdout, &p.face);
        printf("}\n");
    } else {
        printf("similarity %.4f to subject %s of %s (%s of its %zu face%s), accepted at a "
               "false-match rate of %.2g or more\n",
               v.similarity, subject, collection,
               mien_aggregate_name(MIEN_AGGREGATE_DEFAULT_RULE), v.n_faces,
               CLI_S(v.n_faces), v.fmr);
        printf("decision at FMR %.0e: %s\n", o->fmr, CLI_DECISION(v.accepted));
        printf("audit entry %lld\n", (long long)v.audit_seq);
    }
done:
    cli_probe_close(&p);
    return rc;
}

int cli_cmd_verify(int argc, char **argv)
{
    verify_args o = {.p = CLI_PROBE_ARGS_DEFAULT, .fmr = DEFAULT_FMR};
    return cli_run_parsed(&cmd, argc, argv, &o, verify);
}
