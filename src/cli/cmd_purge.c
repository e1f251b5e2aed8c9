/* cmd_purge.c — `mien purge [--case-ref REF] [--store URI] [--json]`: erases every subject
 * whose retention has run out (expires_at at or before the store's clock), in every
 * collection, each erasure with its own audit entry (action "purge"), exactly as `mien erase`
 * would. Run it from cron, or let `mien serve`'s periodic job do it.
 *
 * The clock is the system's, or $MIEN_NOW (unix seconds) when set: a test hook that lets a
 * test move time past an expiry, never for production (mien.h mien_store_set_clock). The
 * audit entries carry the purpose "retention" and --case-ref if given. Exit 0 (whether or not
 * anything expired); 1 when the store fails; 2 for bad usage. */
#include <string.h>

#include "cli.h"

typedef struct purge_args {
    cli_common c;
    const char *store, *case_ref;
} purge_args;

static const cli_opt opts[] = {
    CLI_OPT_CASE_REF(purge_args, case_ref),
    CLI_OPTS_END_STORE(purge_args),
};
static const cli_command cmd = {"purge", "purge [--case-ref REF] [--store URI] [--json]", opts, 0,
                                0};

/* Erases the expired subjects and prints how many. */
static int purge(mien_store *store, void *args, char **pos, int n_pos)
{
    const purge_args *o = args;
    cli_context cx;
    int64_t purged = 0;
    char now[32];
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    (void)pos;
    (void)n_pos;
    cli_context_init(&cx, "retention", o->case_ref);
    mien_time_format(mien_store_now(store), now, sizeof(now));
    st = mien_purge_expired(store, &cx.ctx, &purged, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("purge", st, &err);
    } else if (o->c.json) {
        printf("{\"purged\":%lld,\"now\":\"%s\"}\n", (long long)purged, now);
    } else {
        printf("purged %lld expired subject%s (clock %s)\n", (long long)purged,
               purged == 1 ? "" : "s", now);
    }
    return rc;
}

int cli_cmd_purge(int argc, char **argv)
{
    purge_args o = {.c = {.threads = 1}};
    return cli_run_on_store(&cmd, argc, argv, &o, NULL, purge);
}
