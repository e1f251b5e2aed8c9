/* cmd_keys.c — `mien keys create --role R [--label TEXT] | list | revoke ID | rotate-data`,
 * all with [--store URI] [--json]: the API keys of `mien serve` (mien.h "API keys and roles"),
 * and the data key that encrypts templates at rest.
 *
 * `create` prints the whole key once ("key: mien_<id>_<secret>"), with its AWS Signature
 * Version 4 credentials for the Rekognition-compatible API (aws_access_key_id = the key id,
 * aws_secret_access_key derived from the key: mien_key_aws_secret, docs/rekognition.md); the
 * store keeps only a hash of its secret, so a lost key cannot be recovered, only revoked and
 * replaced. `list` shows
 * ids, roles, labels and times, never a secret. `rotate-data` re-encrypts every template and
 * crop under a new data key in the store's key file and then removes the old keys from it
 * (mien_store_rotate_data_key; audited), printing how many blobs were re-encrypted. Exit 0;
 * 1 when the library refuses (no such key, store unreadable); 2 for bad usage. */
#include <string.h>

#include "cli.h"

static void usage(void)
{
    fprintf(stderr, "usage: mien keys create --role admin|enrol|search|review|audit "
                    "[--label TEXT]\n"
                    "       mien keys list\n"
                    "       mien keys revoke ID\n"
                    "       mien keys rotate-data\n"
                    "(each with [--store URI] [--json]; the store defaults to $MIEN_STORE, "
                    "else ./mien.db)\n");
}

static void print_json(const mien_key_info *k)
{
    char when[32];
    printf("{\"id\":\"%s\",\"role\":\"%s\",\"label\":", k->id, mien_role_name(k->role));
    cli_json_string(stdout, k->label);
    cli_time_iso(k->created_at, when, sizeof(when));
    printf(",\"created_at\":\"%s\",\"revoked_at\":", when);
    if (k->revoked_at != 0) {
        cli_time_iso(k->revoked_at, when, sizeof(when));
        printf("\"%s\"}\n", when);
    } else {
        printf("null}\n");
    }
}

static void print_text(const mien_key_info *k)
{
    char created[32], revoked[32];
    cli_time_iso(k->created_at, created, sizeof(created));
    if (k->revoked_at != 0) {
        cli_time_iso(k->revoked_at, revoked, sizeof(revoked));
    } else {
        snprintf(revoked, sizeof(revoked), "-");
    }
    printf("%-12s  %-6s  %-20s  %-20s  %s\n", k->id, mien_role_name(k->role), created, revoked,
           k->label);
}

static int create(mien_store *store, mien_role role, const char *label, bool json)
{
    char key[MIEN_KEY_TEXT_MAX];
    mien_key_info info;
    mien_error err;
    mien_status st = mien_key_create(store, role, label, key, &info, &err);
    if (st != MIEN_OK) {
        return cli_fail("keys create", st, &err);
    }
    /* The AWS SigV4 credentials of the same key, for the Rekognition-compatible API
     * (docs/rekognition.md): derived, so a store without them still has a working key. */
    char aws[MIEN_AWS_SECRET_MAX];
    if (mien_key_aws_secret(store, key, aws, &err) != MIEN_OK) {
        aws[0] = '\0';
    }
    if (json) {
        printf("{\"id\":\"%s\",\"role\":\"%s\",\"label\":", info.id, mien_role_name(info.role));
        cli_json_string(stdout, info.label);
        printf(",\"key\":\"%s\"", key);
        if (aws[0]) {
            printf(",\"aws_access_key_id\":\"%s\",\"aws_secret_access_key\":\"%s\"", info.id,
                   aws);
        }
        printf("}\n");
    } else {
        printf("key id: %s\nrole: %s\n", info.id, mien_role_name(info.role));
        if (info.label[0]) {
            printf("label: %s\n", info.label);
        }
        printf("key: %s\n", key);
        if (aws[0]) {
            printf("aws_access_key_id: %s\naws_secret_access_key: %s\n", info.id, aws);
        }
    }
    fflush(stdout);
    fprintf(stderr, "mien keys create: the key is shown only this once; mien keeps only a hash "
                    "of it. Store it now (send it as \"Authorization: Bearer KEY\"; AWS SDKs "
                    "calling the Rekognition-compatible API sign with aws_access_key_id and "
                    "aws_secret_access_key).\n");
    return CLI_EXIT_OK;
}

static int list(mien_store *store, bool json)
{
    mien_key_info *keys = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st = mien_key_list(store, &keys, &n, &err);
    if (st != MIEN_OK) {
        return cli_fail("keys list", st, &err);
    }
    if (!json && n > 0) {
        printf("%-12s  %-6s  %-20s  %-20s  %s\n", "ID", "ROLE", "CREATED", "REVOKED", "LABEL");
    }
    for (size_t k = 0; k < n; k++) {
        if (json) {
            print_json(&keys[k]);
        } else {
            print_text(&keys[k]);
        }
    }
    if (n == 0 && !json) {
        printf("no keys\n");
    }
    mien_free(keys);
    return CLI_EXIT_OK;
}

/* `keys rotate-data`; returns the exit code. */
static int rotate_data(mien_store *store, bool json)
{
    mien_error err;
    int64_t n = 0;
    cli_context cx;
    cli_context_init(&cx, NULL, NULL);
    mien_status st = mien_store_rotate_data_key(store, &cx.ctx, &n, &err);
    if (st != MIEN_OK) {
        return cli_fail("keys rotate-data", st, &err);
    }
    if (json) {
        printf("{\"resealed\":%lld,\"key_file\":", (long long)n);
        cli_json_string(stdout, mien_store_key_file(store));
        printf("}\n");
    } else {
        printf("re-encrypted %lld templates and crops under a new data key; the old data keys "
               "are gone from %s\n",
               (long long)n, mien_store_key_file(store));
    }
    fflush(stdout);
    fprintf(stderr, "mien keys rotate-data: back up %s again: copies made before now cannot "
                    "read the templates\n",
            mien_store_key_file(store));
    return CLI_EXIT_OK;
}

static int revoke(mien_store *store, const char *id, bool json)
{
    mien_error err;
    mien_status st = mien_key_revoke(store, id, &err);
    if (st != MIEN_OK) {
        return cli_fail("keys revoke", st, &err);
    }
    if (json) {
        printf("{\"revoked\":");
        cli_json_string(stdout, id);
        printf("}\n");
    } else {
        printf("revoked key %s\n", id);
    }
    return CLI_EXIT_OK;
}

int cli_cmd_keys(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *verb = argc >= 2 ? argv[1] : NULL, *id = NULL, *store_uri = NULL;
    const char *label = NULL, *role_text = NULL;
    mien_role role = MIEN_ROLE_SEARCH;
    bool bad = false;
    mien_store *store = NULL;
    int rc;
    if (verb == NULL || (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 &&
                         strcmp(verb, "revoke") != 0 && strcmp(verb, "rotate-data") != 0)) {
        if (verb != NULL) {
            fprintf(stderr, "mien keys: unknown action '%s'\n", verb);
        }
        usage();
        return CLI_EXIT_USAGE;
    }
    bool is_create = strcmp(verb, "create") == 0, is_revoke = strcmp(verb, "revoke") == 0;
    bool is_rotate = strcmp(verb, "rotate-data") == 0;
    for (int i = 2; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (is_create && strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role_text = argv[++i];
        } else if (is_create && strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
            label = argv[++i];
        } else if (argv[i][0] == '-' || !is_revoke || id != NULL) {
            fprintf(stderr, "mien keys %s: unexpected '%s'\n", verb, argv[i]);
            bad = true;
        } else {
            id = argv[i];
        }
    }
    if (!bad && is_create) {
        /* No default role: a key's power is chosen, never implied. */
        if (role_text == NULL) {
            fprintf(stderr, "mien keys create: --role is required\n");
            bad = true;
        } else if (mien_role_parse(role_text, &role) != MIEN_OK) {
            fprintf(stderr, "mien keys create: --role is admin, enrol, search, review or audit "
                            "(got '%s')\n", role_text);
            bad = true;
        }
    }
    if (!bad && is_revoke && id == NULL) {
        fprintf(stderr, "mien keys revoke: which key? (an id from mien keys list)\n");
        bad = true;
    }
    if (bad) {
        usage();
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (is_create) {
        rc = create(store, role, label, c.json);
    } else if (is_revoke) {
        rc = revoke(store, id, c.json);
    } else if (is_rotate) {
        rc = rotate_data(store, c.json);
    } else {
        rc = list(store, c.json);
    }
    mien_store_close(store);
    return rc;
}
