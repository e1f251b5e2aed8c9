/* cmd_erase.c — `mien erase COLL --subject ID [--case-ref REF] [--store URI] [--json]`:
 * erases a subject. Its templates and crops leave the store (and the bytes leave the database
 * file: the store scrubs and checkpoints), and the subject row goes, in one transaction with
 * the audit entry. Prints the erasure receipt (mien_erasure): what was deleted, when, the
 * subject's keyed hash (the only name the audit log has for it) and the audit entry's number
 * and hash, so the receipt can be checked against `mien audit export`. --case-ref names the
 * request (e.g. the data subject's erasure request) in the audit entry. Exit 0; 1 when there is
 * no such collection or subject, or the store fails; 2 for bad usage. */
#include <string.h>

#include "cli.h"

int cli_cmd_erase(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *collection = NULL, *subject = NULL, *store_uri = NULL, *case_ref = NULL;
    const char *purpose = NULL;
    cli_context cx;
    char when[32];
    bool bad = false;
    mien_store *store = NULL;
    mien_erasure e;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad) ||
            cli_context_option(argc, argv, &i, &purpose, &case_ref, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--subject") == 0 && i + 1 < argc) {
            subject = argv[++i];
        } else if (argv[i][0] == '-' || collection != NULL) {
            fprintf(stderr, "mien erase: unexpected '%s'\n", argv[i]);
            bad = true;
        } else {
            collection = argv[i];
        }
    }
    if (bad || collection == NULL || subject == NULL) {
        fprintf(stderr, "usage: mien erase COLL --subject ID [--case-ref REF] [--store URI] "
                        "[--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    /* An erasure needs no declared purpose (it is what a data subject may always ask for);
     * --purpose, if given, is recorded. */
    cli_context_init(&cx, purpose, case_ref);
    st = mien_erase_subject(store, collection, subject, &cx.ctx, &e, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("erase", st, &err);
    } else if (c.json) {
        cli_time_iso(e.erased_at, when, sizeof(when));
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"subject\":");
        cli_json_string(stdout, subject);
        printf(",\"faces_deleted\":%lld,\"crops_deleted\":%lld,\"subject_hash\":\"%s\","
               "\"erased_at\":\"%s\",\"erased_at_unix\":%lld,\"audit_seq\":%lld,"
               "\"audit_hash\":\"%s\"}\n",
               (long long)e.faces_deleted, (long long)e.crops_deleted, e.subject_hash, when,
               (long long)e.erased_at, (long long)e.audit_seq, e.audit_hash);
    } else {
        cli_time_iso(e.erased_at, when, sizeof(when));
        printf("erased subject %s from %s: %lld faces (templates), %lld crops deleted\n",
               subject, collection, (long long)e.faces_deleted, (long long)e.crops_deleted);
        printf("receipt: erased at %s; subject hash %s; audit entry %lld, hash %s\n", when,
               e.subject_hash, (long long)e.audit_seq, e.audit_hash);
    }
    mien_store_close(store);
    return rc;
}
