/* store.c — what the gallery sub-commands (collection, enroll, search, subjects, erase)
 * share: the --store option, opening the store, printing a collection. Public API only. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool cli_store_option(int argc, char **argv, int *i, const char **uri, bool *bad)
{
    if (strcmp(argv[*i], "--store") != 0) {
        return false;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "mien: --store needs a value (sqlite:PATH or PATH)\n");
        *bad = true;
        return true;
    }
    *uri = argv[++(*i)];
    return true;
}

mien_status cli_open_store(const char *uri, mien_store **out)
{
    mien_error err;
    mien_status st = mien_store_open(uri, out, &err);
    if (st != MIEN_OK) {
        const char *name = uri != NULL ? uri : getenv("MIEN_STORE");
        fprintf(stderr, "mien: cannot open the store %s: %s (%s)\n",
                name != NULL && *name ? name : "./mien.db", err.message, mien_strerror(st));
    }
    return st;
}

int cli_fail(const char *cmd, mien_status st, const mien_error *err)
{
    fprintf(stderr, "mien %s: %s (%s)\n", cmd, err->message[0] ? err->message : mien_strerror(st),
            mien_strerror(st));
    return CLI_EXIT_FAIL;
}

void cli_time_iso(int64_t unix_s, char *out, size_t cap)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld", (long long)unix_s);
    }
}

void cli_collection_json(FILE *f, const mien_collection_info *c)
{
    char when[32];
    cli_time_iso(c->created_at, when, sizeof(when));
    fprintf(f, "{\"collection\":");
    cli_json_string(f, c->name);
    fprintf(f, ",\"profile\":\"%s\",\"model_a\":", cli_profile_name(c->profile));
    cli_json_string(f, c->model_a);
    fprintf(f, ",\"model_b\":");
    cli_json_string(f, c->model_b);
    fprintf(f, ",\"description\":");
    cli_json_string(f, c->description);
    fprintf(f, ",\"created_at\":\"%s\",\"subjects\":%lld,\"faces\":%lld}", when,
            (long long)c->subjects, (long long)c->faces);
}
