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

int cli_cmd_purge(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *store_uri = NULL, *purpose = "retention", *case_ref = NULL;
    bool bad = false;
    mien_store *store = NULL;
    cli_context cx;
    int64_t purged = 0;
    char now[32];
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--case-ref") == 0 && i + 1 < argc) {
            case_ref = argv[++i];
        } else {
            fprintf(stderr, "mien purge: unexpected '%s'\n", argv[i]);
            bad = true;
        }
    }
    if (bad) {
        fprintf(stderr, "usage: mien purge [--case-ref REF] [--store URI] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    cli_context_init(&cx, purpose, case_ref);
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    cli_time_iso(mien_store_now(store), now, sizeof(now));
    st = mien_purge_expired(store, &cx.ctx, &purged, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("purge", st, &err);
    } else if (c.json) {
        printf("{\"purged\":%lld,\"now\":\"%s\"}\n", (long long)purged, now);
    } else {
        printf("purged %lld expired subject%s (clock %s)\n", (long long)purged,
               purged == 1 ? "" : "s", now);
    }
    mien_store_close(store);
    return rc;
}
