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

typedef struct erase_args {
    cli_common c;
    const char *store, *subject, *purpose, *case_ref;
} erase_args;

static const cli_opt opts[] = {
    {"--subject", CLI_OPT_STRING, offsetof(erase_args, subject), "ID",
     .help = "the subject to erase", .required = true},
    CLI_OPT_WHY(erase_args),
    CLI_OPTS_END_STORE(erase_args),
};
static const cli_command cmd = {
    "erase", "erase COLL --subject ID [--case-ref REF] [--store URI] [--json]", opts, 1, 1};

/* Erases subject --subject of collection pos[0] and prints the receipt. */
static int erase(mien_store *store, void *args, char **pos, int n_pos)
{
    const erase_args *o = args;
    const char *collection = pos[0], *subject = o->subject;
    cli_context cx;
    char when[32];
    mien_erasure e;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    (void)n_pos;
    /* An erasure needs no declared purpose (it is what a data subject may always ask for);
     * --purpose, if given, is recorded. */
    cli_context_init(&cx, o->purpose, o->case_ref);
    st = mien_erase_subject(store, collection, subject, &cx.ctx, &e, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("erase", st, &err);
    } else if (o->c.json) {
        mien_time_format(e.erased_at, when, sizeof(when));
        printf("{\"collection\":");
        cli_json_string(stdout, collection);
        printf(",\"subject\":");
        cli_json_string(stdout, subject);
        printf(",\"faces_deleted\":%lld,\"crops_deleted\":%lld,\"reviews_deleted\":%lld,"
               "\"subject_hash\":\"%s\",\"erased_at\":\"%s\",\"erased_at_unix\":%lld,"
               "\"audit_seq\":%lld,\"audit_hash\":\"%s\"}\n",
               (long long)e.faces_deleted, (long long)e.crops_deleted,
               (long long)e.reviews_deleted, e.subject_hash, when, (long long)e.erased_at,
               (long long)e.audit_seq, e.audit_hash);
    } else {
        mien_time_format(e.erased_at, when, sizeof(when));
        printf("erased subject %s from %s: %lld face%s (templates), %lld crop%s, %lld review%s "
               "deleted\n", subject, collection, (long long)e.faces_deleted,
               CLI_S(e.faces_deleted), (long long)e.crops_deleted, CLI_S(e.crops_deleted),
               (long long)e.reviews_deleted, CLI_S(e.reviews_deleted));
        printf("receipt: erased at %s; subject hash %s; audit entry %lld, hash %s\n", when,
               e.subject_hash, (long long)e.audit_seq, e.audit_hash);
    }
    return rc;
}

int cli_cmd_erase(int argc, char **argv)
{
    erase_args o = {.c = {.threads = 1}};
    return cli_run_on_store(&cmd, argc, argv, &o, NULL, erase);
}
