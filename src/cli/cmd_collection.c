/* cmd_collection.c — `mien collection create NAME [--profile fast|accurate] [--description
 * TEXT] | list | info NAME | drop NAME`, all with [--store URI] [--models DIR] [--json]:
 * managing the collections of a store. A collection is locked at creation to a profile and
 * to the models of the engine that creates it (so `create` loads the models). Exit 0; 1 when
 * the library refuses (name taken, no such collection, store unreadable); 2 for bad usage. */
#include <string.h>

#include "cli.h"

static void usage(void)
{
    fprintf(stderr, "usage: mien collection create NAME [--profile fast|accurate] "
                    "[--description TEXT]\n"
                    "       mien collection list\n"
                    "       mien collection info NAME\n"
                    "       mien collection drop NAME\n"
                    "(each with [--store URI] [--models DIR] [--json]; the store defaults to "
                    "$MIEN_STORE, else ./mien.db)\n");
}

static void print_text(const mien_collection_info *c)
{
    char when[32];
    cli_time_iso(c->created_at, when, sizeof(when));
    printf("%-24s %-8s %8lld subjects %8lld faces  models %s%s%s  created %s\n", c->name,
           cli_profile_name(c->profile), (long long)c->subjects, (long long)c->faces,
           c->model_a, c->model_b[0] ? "+" : "", c->model_b, when);
    if (c->description[0]) {
        printf("  %s\n", c->description);
    }
}

int cli_cmd_collection(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *verb = argc >= 2 ? argv[1] : NULL, *name = NULL, *store_uri = NULL;
    const char *description = NULL;
    mien_profile profile = MIEN_PROFILE_FAST;
    bool bad = false, needs_name;
    mien_store *store = NULL;
    if (verb != NULL && strcmp(verb, "import-synthetic") == 0) { /* benchmarks only */
        return cli_cmd_import_synthetic(argc - 1, argv + 1);
    }
    mien_engine *engine = NULL;
    mien_error err;
    mien_status st;
    int rc = CLI_EXIT_OK;
    if (verb == NULL || (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 &&
                         strcmp(verb, "info") != 0 && strcmp(verb, "drop") != 0)) {
        if (verb != NULL) {
            fprintf(stderr, "mien collection: unknown action '%s'\n", verb);
        }
        usage();
        return CLI_EXIT_USAGE;
    }
    needs_name = strcmp(verb, "list") != 0;
    for (int i = 2; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (strcmp(verb, "create") == 0 && strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (!cli_parse_profile(argv[++i], &profile)) {
                fprintf(stderr, "mien collection: --profile is fast or accurate\n");
                bad = true;
            }
        } else if (strcmp(verb, "create") == 0 && strcmp(argv[i], "--description") == 0 &&
                   i + 1 < argc) {
            description = argv[++i];
        } else if (argv[i][0] == '-' || !needs_name || name != NULL) {
            fprintf(stderr, "mien collection %s: unexpected '%s'\n", verb, argv[i]);
            bad = true;
        } else {
            name = argv[i];
        }
    }
    if (bad || (needs_name && name == NULL)) {
        if (!bad) {
            fprintf(stderr, "mien collection %s: which collection?\n", verb);
        }
        usage();
        return CLI_EXIT_USAGE;
    }
    if (strcmp(verb, "create") == 0 && cli_open_engine(&c, &engine) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        mien_engine_free(engine);
        return CLI_EXIT_FAIL;
    }
    if (strcmp(verb, "list") == 0) {
        mien_collection_info *cs = NULL;
        size_t n = 0;
        st = mien_collection_list(store, &cs, &n, &err);
        if (st != MIEN_OK) {
            rc = cli_fail("collection list", st, &err);
        }
        for (size_t k = 0; k < n; k++) {
            if (c.json) {
                cli_collection_json(stdout, &cs[k]);
                printf("\n");
            } else {
                print_text(&cs[k]);
            }
        }
        if (st == MIEN_OK && n == 0 && !c.json) {
            printf("no collections\n");
        }
        mien_free(cs);
    } else if (strcmp(verb, "drop") == 0) {
        mien_collection_info info;
        st = mien_collection_get(store, name, &info, &err);
        if (st == MIEN_OK) {
            st = mien_collection_drop(store, name, &err);
        }
        if (st != MIEN_OK) {
            rc = cli_fail("collection drop", st, &err);
        } else if (c.json) {
            printf("{\"dropped\":");
            cli_json_string(stdout, name);
            printf(",\"subjects\":%lld,\"faces\":%lld}\n", (long long)info.subjects,
                   (long long)info.faces);
        } else {
            printf("dropped collection %s (%lld subjects, %lld faces)\n", name,
                   (long long)info.subjects, (long long)info.faces);
        }
    } else {
        mien_collection_info info;
        st = MIEN_OK;
        if (strcmp(verb, "create") == 0) {
            st = mien_collection_create(store, name, profile, engine, description, &err);
        }
        if (st == MIEN_OK) {
            st = mien_collection_get(store, name, &info, &err);
        }
        if (st != MIEN_OK) {
            rc = cli_fail(strcmp(verb, "create") == 0 ? "collection create" : "collection info",
                          st, &err);
        } else if (c.json) {
            cli_collection_json(stdout, &info);
            printf("\n");
        } else {
            if (strcmp(verb, "create") == 0) {
                printf("created ");
            }
            print_text(&info);
        }
    }
    mien_store_close(store);
    mien_engine_free(engine);
    return rc;
}
