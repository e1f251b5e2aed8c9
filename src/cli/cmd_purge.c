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
    CLI_OPT_STORE(purge_args, store),
    CLI_OPT_COMMON(purge_args, c),
    CLI_OPT_END,
};
static const cli_command cmd = {"purge", "purge [--case-ref REF] [--store URI] [--json]", opts, 0,
                                0};

int cli_cmd_purge(int argc, char **argv)
{
    purge_args o = {.c = {.threads = 1}};
    mien_store *store = NULL;
    cli_context cx;
    int64_t purged = 0;
    char now[32];
    mien_error err;
    mien_status st;
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = CLI_EXIT_OK;
    cli_context_init(&cx, "retention", o.case_ref);
    if (cli_open_store(o.store, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    cli_time_iso(mien_store_now(store), now, sizeof(now));
    st = mien_purge_expired(store, &cx.ctx, &purged, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("purge", st, &err);
    } else if (o.c.json) {
        printf("{\"purged\":%lld,\"now\":\"%s\"}\n", (long long)purged, now);
    } else {
        printf("purged %lld expired subject%s (clock %s)\n", (long long)purged,
               purged == 1 ? "" : "s", now);
    }
    mien_store_close(store);
    return rc;
}
