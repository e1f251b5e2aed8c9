/* cmd_verify.c — `mien verify COLL --subject ID IMAGE --purpose P [--case-ref REF] [--fmr F]
 * [--face N] [--store URI] [--models DIR] [--json]`: 1:1 verification. Is the most prominent
 * face of IMAGE (or face N) the enrolled subject ID? The best similarity over the subject's
 * faces, its calibrated false-match rate, and the decision at --fmr (default 1e-4, as
 * `mien compare`). Allowed on verification-only collections (which refuse 1:N search).
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

int cli_cmd_verify(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *collection = NULL, *subject = NULL, *path = NULL, *store_uri = NULL;
    const char *purpose = NULL, *case_ref = NULL;
    double max_fmr = DEFAULT_FMR;
    int face_index = -1, rc = CLI_EXIT_FAIL;
    bool bad = false;
    cli_probe p;
    mien_verification v;
    cli_context cx;
    mien_error err;
    mien_status st;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad) ||
            cli_context_option(argc, argv, &i, &purpose, &case_ref, &bad)) {
            continue;
        }
        if (strcmp(a, "--subject") == 0 && i + 1 < argc) {
            subject = argv[++i];
        } else if (strcmp(a, "--fmr") == 0 && i + 1 < argc) {
            char *end = NULL;
            max_fmr = strtod(argv[++i], &end);
            if (*end != '\0' || !(max_fmr >= 1e-6 && max_fmr <= 1.0)) {
                fprintf(stderr, "mien verify: --fmr wants a rate in 1e-6..1, got '%s'\n",
                        argv[i]);
                bad = true;
            }
        } else if (strcmp(a, "--face") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 0, 100000, &face_index)) {
                fprintf(stderr, "mien verify: --face wants a face number, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (a[0] == '-' || path != NULL) {
            fprintf(stderr, "mien verify: unexpected '%s'\n", a);
            bad = true;
        } else if (collection == NULL) {
            collection = a;
        } else {
            path = a;
        }
    }
    if (bad || path == NULL || subject == NULL) {
        fprintf(stderr, "usage: mien verify COLL --subject ID IMAGE --purpose P [--case-ref REF] "
                        "[--fmr F] [--face N] [--store URI] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    cli_context_init(&cx, purpose, case_ref);
    rc = cli_probe_open(&p, &c, store_uri, "verify", collection, path, face_index, &cx);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    st = mien_verify(p.store, collection, subject, p.t, max_fmr, &cx.ctx, &v, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("verify", st, &err);
        goto done;
    }
    if (c.json) {
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"subject\":");
        cli_json_string(stdout, subject);
        printf(",\"image\":");
        cli_json_string(stdout, path);
        printf(",\"profile\":\"%s\",\"purpose\":", cli_profile_name(p.info.profile));
        cli_json_string(stdout, purpose);
        printf(",\"case_ref\":");
        cli_json_string(stdout, case_ref);
        printf(",\"similarity\":%.6f,\"fmr\":%.3g,\"max_fmr\":%.3g,\"accepted\":%s,"
               "\"audit_seq\":%lld,\"face\":",
               v.similarity, v.fmr, max_fmr, v.accepted ? "true" : "false",
               (long long)v.audit_seq);
        cli_face_json(stdout, &p.face);
        printf("}\n");
    } else {
        printf("similarity %.4f to subject %s of %s (best of its faces), accepted at a "
               "false-match rate of %.2g or more\n",
               v.similarity, subject, collection, v.fmr);
        printf("decision at FMR %.0e: %s\n", max_fmr,
               v.accepted ? "same person" : "not verified");
        printf("audit entry %lld\n", (long long)v.audit_seq);
    }
done:
    cli_probe_close(&p);
    return rc;
}
