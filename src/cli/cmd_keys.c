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
 * (mien_store_rotate_data_key; audited), printing how many blobs were re-encrypted. `aws KEY`
 * (KEY "-" or left out: read from stdin, so that it stays out of the shell's history) prints
 * the AWS credentials of an existing key again: it takes the whole key, not its id, since only
 * the key's holder may learn its secret access key (mien_key_aws_secret). Exit 0;
 * 1 when the library refuses (no such key, store unreadable); 2 for bad usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The arguments of every action; each action's table takes its own. */
typedef struct keys_args {
    cli_common c;
    const char *store, *label;
    mien_role role; /* no default: a key's power is chosen (--role is required) */
} keys_args;

static const cli_opt create_opts[] = {
    {"--role", CLI_OPT_CALL, offsetof(keys_args, role), "R",
     .help = "admin, enrol, search, review or audit", .parse = cli_opt_role,
     .want = "admin, enrol, search, review or audit", .required = true},
    {"--label", CLI_OPT_STRING, offsetof(keys_args, label), "TEXT",
     .help = "what the key is for, for people"},
    CLI_OPTS_END_STORE(keys_args),
};
static const cli_opt plain_opts[] = {CLI_OPTS_END_STORE(keys_args)};

static const cli_command create_cmd = {
    "keys create",
    "keys create --role admin|enrol|search|review|audit [--label TEXT] [--store URI] [--json]",
    create_opts, 0, 0};
static const cli_command list_cmd = {"keys list", "keys list [--store URI] [--json]",
                                     plain_opts, 0, 0};
static const cli_command revoke_cmd = {"keys revoke", "keys revoke ID [--store URI] [--json]",
                                       plain_opts, 1, 1};
static const cli_command aws_cmd = {"keys aws", "keys aws [KEY|-] [--store URI] [--json]",
                                    plain_opts, 0, 1};
static const cli_command rotate_cmd = {
    "keys rotate-data", "keys rotate-data [--store URI] [--json]", plain_opts, 0, 0};

static void print_json(const mien_key_info *k)
{
    char when[32];
    printf("{\"id\":\"%s\",\"role\":\"%s\",\"label\":", k->id, mien_role_name(k->role));
    cli_json_string(stdout, k->label);
    mien_time_format(k->created_at, when, sizeof(when));
    printf(",\"created_at\":\"%s\",\"revoked_at\":", when);
    if (k->revoked_at != 0) {
        mien_time_format(k->revoked_at, when, sizeof(when));
        printf("\"%s\"}\n", when);
    } else {
        printf("null}\n");
    }
}

static void print_text(const mien_key_info *k)
{
    char created[32], revoked[32];
    mien_time_format(k->created_at, created, sizeof(created));
    if (k->revoked_at != 0) {
        mien_time_format(k->revoked_at, revoked, sizeof(revoked));
    } else {
        snprintf(revoked, sizeof(revoked), "-");
    }
    printf("%-12s  %-6s  %-20s  %-20s  %s\n", k->id, mien_role_name(k->role), created, revoked,
           k->label);
}

static int create(mien_store *store, void *args, char **pos, int n_pos)
{
    const keys_args *o = args;
    mien_role role = o->role;
    const char *label = o->label;
    bool json = o->c.json;
    (void)pos;
    (void)n_pos;
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

static int list(mien_store *store, void *args, char **pos, int n_pos)
{
    const keys_args *o = args;
    bool json = o->c.json;
    (void)pos;
    (void)n_pos;
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
static int rotate_data(mien_store *store, void *args, char **pos, int n_pos)
{
    const keys_args *o = args;
    bool json = o->c.json;
    (void)pos;
    (void)n_pos;
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

static int revoke(mien_store *store, void *args, char **pos, int n_pos)
{
    const keys_args *o = args;
    const char *id = pos[0];
    (void)n_pos;
    bool json = o->c.json;
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

/* Prints the AWS SigV4 credentials of `key` (text or JSON); the id is the key's own. */
static void print_aws(const char *id, const char *secret, bool json)
{
    if (json) {
        printf("{\"aws_access_key_id\":\"%s\",\"aws_secret_access_key\":\"%s\"}\n", id,
               secret);
    } else {
        printf("aws_access_key_id: %s\naws_secret_access_key: %s\n", id, secret);
    }
}

/* The key of `keys aws`: pos[0], or one line of stdin for "-" or none; into key[cap]. */
static bool key_argument(char **pos, int n_pos, char *key, size_t cap)
{
    if (n_pos == 1 && strcmp(pos[0], "-") != 0) {
        snprintf(key, cap, "%s", pos[0]);
        return true;
    }
    if (fgets(key, (int)cap, stdin) == NULL) {
        return false;
    }
    key[strcspn(key, "\r\n")] = '\0';
    return key[0] != '\0';
}

/* `keys aws KEY`; returns the exit code. */
static int aws(mien_store *store, void *args, char **pos, int n_pos)
{
    const keys_args *o = args;
    char key[MIEN_KEY_TEXT_MAX + 2], secret[MIEN_AWS_SECRET_MAX];
    mien_key_info info;
    mien_error err;
    mien_status st;
    if (!key_argument(pos, n_pos, key, sizeof(key))) {
        fprintf(stderr, "mien keys aws: give the whole key (mien_<id>_<secret>, as `mien keys "
                        "create` printed it) as the argument or on stdin; its id alone is not "
                        "enough\n");
        return cli_bad_usage(&aws_cmd);
    }
    st = mien_key_verify(store, key, &info, &err);
    if (st == MIEN_OK) {
        st = mien_key_aws_secret(store, key, secret, &err);
    }
    if (st != MIEN_OK) {
        return cli_fail("keys aws", st, &err);
    }
    print_aws(info.id, secret, o->c.json);
    return CLI_EXIT_OK;
}

CLI_ACTIONS_COMMAND(cli_cmd_keys, "keys", keys_args,
                    CLI_STORE_ACTION("create", &create_cmd, create, NULL),
                    CLI_STORE_ACTION("list", &list_cmd, list, NULL),
                    CLI_STORE_ACTION("revoke", &revoke_cmd, revoke, NULL),
                    CLI_STORE_ACTION("aws", &aws_cmd, aws, NULL),
                    CLI_STORE_ACTION("rotate-data", &rotate_cmd, rotate_data, NULL))
