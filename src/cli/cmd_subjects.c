/* cmd_subjects.c — `mien subjects COLL [--store URI] [--json]`: the subjects of a collection
 * with their face counts, consent reference and expiry (`mien purge` erases them after it).
 * Exit 0; 1 when the collection does not exist or the store fails;
 * 2 for bad usage. */
#include <string.h>

#include "cli.h"

typedef struct subjects_args {
    cli_common c;
    const char *store;
} subjects_args;

static const cli_opt opts[] = {
    CLI_OPTS_END_STORE(subjects_args),
};
static const cli_command cmd = {"subjects", "subjects COLL [--store URI] [--json]", opts, 1, 1};

/* Lists the subjects of collection pos[0]. */
static int list(mien_store *store, void *args, char **pos, int n_pos)
{
    const subjects_args *o = args;
    const char *collection = pos[0];
    mien_subject_info *subs = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    (void)n_pos;
    cli_context cx;
    cli_context_init(&cx, NULL, NULL);
    st = mien_subject_list(store, collection, &cx.ctx, &subs, &n, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("subjects", st, &err);
    }
    for (size_t k = 0; k < n; k++) {
        char when[32], expires[32];
        mien_time_format(subs[k].created_at, when, sizeof(when));
        mien_time_format(subs[k].expires_at, expires, sizeof(expires));
        if (o->c.json) {
            printf("{\"subject\":");
            cli_json_string(stdout, subs[k].subject);
            printf(",\"display_name\":");
            cli_json_string(stdout, subs[k].display_name);
            printf(",\"faces\":%lld,\"created_at\":\"%s\",\"consent_ref\":",
                   (long long)subs[k].faces, when);
            if (subs[k].consent_ref[0]) {
                cli_json_string(stdout, subs[k].consent_ref);
            } else {
                printf("null");
            }
            printf(",\"expires_at\":\"%s\"}\n", expires);
        } else {
            printf("%-40s %4lld face%-1s  created %s  expires %s  consent %s%s%s\n",
                   subs[k].subject, (long long)subs[k].faces, CLI_S(subs[k].faces), when, expires,
                   subs[k].consent_ref[0] ? subs[k].consent_ref : "-",
                   subs[k].display_name[0] ? "  " : "", subs[k].display_name);
        }
    }
    if (st == MIEN_OK && !o->c.json) {
        printf("%zu subject%s in %s\n", n, CLI_S(n), collection);
    }
    mien_free(subs);
    return rc;
}

int cli_cmd_subjects(int argc, char **argv)
{
    subjects_args o = {.c = {.threads = 1}};
    return cli_run_on_store(&cmd, argc, argv, &o, NULL, list);
}
