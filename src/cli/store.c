/* store.c — what the gallery sub-commands (collection, enroll, search, verify, subjects,
 * erase, purge, review, audit, keys) share: the --store option, opening the store (and saying
 * so when that created its key file), who acts and why (mien_context), times and durations,
 * printing a collection and its policy. Public API only. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DURATION_MAX_S (100LL * 365 * 86400) /* mien.h: retention at most 100 years */

/* The store commands that only read: on a store that does not exist they say so and create
 * nothing (cli_open_store_to_read). search, verify and review open theirs themselves. */
static const char *const READERS[] = {"subjects",        "audit verify",    "audit export",
                                      "audit head",      "collection list", "collection info",
                                      "keys aws",        NULL};

static bool only_reads(const cli_command *cmd)
{
    for (int k = 0; READERS[k] != NULL; k++) {
        if (strcmp(cmd->name, READERS[k]) == 0) {
            return true;
        }
    }
    return false;
}

int cli_parse_open_store(const cli_command *cmd, int argc, char **argv, void *args,
                         bool (*check)(const void *args), int *n_args, mien_store **store)
{
    size_t offset;
    int rc = cli_parse(cmd, argc, argv, args, n_args);
    *store = NULL;
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (check != NULL && !check(args)) {
        return cli_bad_usage(cmd);
    }
    if (!cli_opt_offset(cmd, "--store", &offset)) {
        assert(!"a store command without --store");
        return CLI_EXIT_USAGE;
    }
    const char *uri = *(const char **)((char *)args + offset);
    mien_status st = only_reads(cmd) ? cli_open_store_to_read(uri, store)
                                     : cli_open_store(uri, store);
    return st == MIEN_OK ? CLI_PARSED : CLI_EXIT_FAIL;
}

int cli_run_on_store(const cli_command *cmd, int argc, char **argv, void *args,
                     bool (*check)(const void *args), cli_store_run run)
{
    mien_store *store = NULL;
    int n_args, rc = cli_parse_open_store(cmd, argc, argv, args, check, &n_args, &store);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = run(store, args, argv, n_args);
    mien_store_close(store);
    return rc;
}

/* $NAME when set and not empty, else NULL. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

mien_status cli_store_env(const char **uri, mien_store_options *o, mien_error *err)
{
    const char *now = env_value("MIEN_NOW");
    if (now != NULL) {
        char *end = NULL;
        long long t = strtoll(now, &end, 10);
        if (end == now || *end != '\0' || t <= 0) {
            err->code = MIEN_ERR_ARG;
            snprintf(err->message, sizeof(err->message),
                     "MIEN_NOW is '%s', not unix seconds (it is a test hook: unset it)", now);
            return MIEN_ERR_ARG;
        }
        o->now = (int64_t)t;
    }
    if (o->key_file == NULL || o->key_file[0] == '\0') {
        o->key_file = env_value("MIEN_KEY_FILE");
    }
    o->audit_head = env_value("MIEN_AUDIT_HEAD");
    if (*uri == NULL) {
        *uri = env_value("MIEN_STORE");
    }
    return MIEN_OK;
}

mien_status cli_store_open_with(const char *uri, mien_store_options *o, mien_store **out,
                                mien_error *err)
{
    mien_status st = cli_store_env(&uri, o, err);
    if (st != MIEN_OK) {
        *out = NULL;
        return st;
    }
    st = mien_store_open_with(uri, o, out, err);
    if (st == MIEN_OK) {
        /* a store made before row tags gets them now, once (mien.h mien_store_upgrade) */
        int64_t tagged = 0;
        st = mien_store_upgrade(*out, NULL, &tagged, err);
        if (st != MIEN_OK) {
            mien_store_close(*out);
            *out = NULL;
        } else if (tagged > 0) {
            fprintf(stderr, "mien: tagged %lld rows of this store made by an earlier mien "
                            "(recorded in its audit log)\n", (long long)tagged);
        }
    }
    return st;
}

/* cli_open_store, or with `read` cli_open_store_to_read. */
static mien_status open_store(const char *uri, bool read, mien_store **out)
{
    mien_error err;
    mien_store_options o = {.create_key = !read, .must_exist = read};
    mien_status st = cli_store_open_with(uri, &o, out, &err);
    if (st != MIEN_OK) {
        const char *name = uri != NULL ? uri : getenv("MIEN_STORE");
        cli_note_status(st);
        fprintf(stderr, "mien: cannot open the store %s: %s (%s)\n",
                name != NULL && *name ? name : "./mien.db", err.message, mien_strerror(st));
        return st;
    }
    if (mien_store_key_created(*out)) {
        fprintf(stderr, "mien: created key file %s (mode 0600): back it up; without it the "
                        "templates cannot be read\n",
                mien_store_key_file(*out));
    }
    return st;
}

mien_status cli_open_store(const char *uri, mien_store **out)
{
    return open_store(uri, false, out);
}

mien_status cli_open_store_to_read(const char *uri, mien_store **out)
{
    return open_store(uri, true, out);
}

int cli_exit_code(mien_status st)
{
    cli_note_status(st);
    if (st == MIEN_OK) {
        return CLI_EXIT_OK;
    }
    return st == MIEN_ERR_FORBIDDEN ? CLI_EXIT_FORBIDDEN : CLI_EXIT_FAIL;
}

int cli_fail(const char *cmd, mien_status st, const mien_error *err)
{
    char text[sizeof(err->message) + 256];
    cli_error_text(NULL, err->message[0] ? err->message : mien_strerror(st), text, sizeof(text));
    fprintf(stderr, "mien %s: %s (%s)\n", cmd, text, mien_strerror(st));
    return cli_exit_code(st);
}

/* ---- who acts and why ------------------------------------------------------------------ */

/* Whether $USER is a plain account name worth recording (not empty, short, no spaces or
 * control characters): anything else is replaced by the uid. */
static bool plain_name(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 64) {
        return false;
    }
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.' && *s != '@') {
            return false;
        }
    }
    return true;
}

void cli_context_init(cli_context *c, const char *purpose, const char *case_ref)
{
    const char *user = getenv("USER");
    memset(c, 0, sizeof(*c));
    if (plain_name(user)) {
        snprintf(c->actor, sizeof(c->actor), "cli:%s", user);
    } else {
        snprintf(c->actor, sizeof(c->actor), "cli:uid%lu", (unsigned long)getuid());
    }
    c->ctx.actor = c->actor;
    c->ctx.purpose = purpose;
    c->ctx.case_ref = case_ref;
}

void cli_context_set_input(cli_context *c, const uint8_t sha256[32])
{
    memcpy(c->input_sha256, sha256, sizeof(c->input_sha256));
    c->ctx.input_sha256 = c->input_sha256;
}

/* ---- times and durations ---------------------------------------------------------------- */

void cli_duration_text(int64_t seconds, char *out, size_t cap)
{
    if (seconds > 0 && seconds % 86400 == 0) {
        snprintf(out, cap, "%lldd", (long long)(seconds / 86400));
    } else if (seconds > 0 && seconds % 3600 == 0) {
        snprintf(out, cap, "%lldh", (long long)(seconds / 3600));
    } else {
        snprintf(out, cap, "%llds", (long long)seconds);
    }
}

/* ---- collections and their policy ------------------------------------------------------ */

void cli_collection_json(FILE *f, const mien_collection_info *c)
{
    char when[32];
    mien_time_format(c->created_at, when, sizeof(when));
    fprintf(f, "{\"collection\":");
    cli_json_string(f, c->name);
    fprintf(f, ",\"profile\":\"%s\",\"model_a\":", mien_profile_name(c->profile));
    cli_json_string(f, c->model_a);
    fprintf(f, ",\"model_b\":");
    cli_json_string(f, c->model_b);
    fprintf(f, ",\"description\":");
    cli_json_string(f, c->description);
    fprintf(f, ",\"created_at\":\"%s\",\"policy\":{\"purposes\":[", when);
    /* The store keeps the purposes normalised: comma-separated, no spaces, no empties. */
    for (const char *p = c->purposes; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char item[256];
        snprintf(item, sizeof(item), "%.*s", (int)len, p);
        fprintf(f, "%s", p == c->purposes ? "" : ",");
        cli_json_string(f, item);
        p += len + (p[len] == ',');
    }
    fprintf(f, "],\"legal_basis\":");
    cli_json_string(f, c->legal_basis);
    fprintf(f, ",\"consent\":\"%s\",\"retention_s\":%lld,\"review\":\"%s\","
               "\"verification_only\":%s,\"max_fmr\":%g,\"max_candidates\":%d},"
               "\"subjects\":%lld,\"faces\":%lld}",
            mien_consent_name(c->consent), (long long)c->retention_s,
            mien_review_mode_name(c->review), c->verification_only ? "true" : "false",
            c->max_fmr, c->max_candidates, (long long)c->subjects, (long long)c->faces);
}
