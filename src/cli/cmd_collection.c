/* cmd_collection.c — managing the collections of a store:
 *
 *   mien collection create NAME --purpose P[,P...] --legal-basis TEXT
 *        [--consent required|not-needed] [--retention 365d|12h|3600s]
 *        [--review one|two-person|none] [--verification-only]
 *        [--max-fmr F] [--max-candidates N]
 *        [--profile fast|accurate] [--description TEXT] [--case-ref REF]
 *   mien collection list | info NAME | drop NAME [--case-ref REF]
 *   (each with [--store URI] [--models DIR] [--json])
 *
 * A collection is locked at creation to a profile and to the models of the engine that
 * creates it (so `create` loads the models), and declares its policy (mien.h
 * mien_collection_policy): the purposes it may be used for and the legal basis are required
 * (there is no default purpose: what a gallery of faces is for is always chosen, never
 * implied); consent, retention and review default to the library's (consent required, one
 * year, one reviewer), and so do the caps on what one search may return (--max-fmr 1e-2,
 * --max-candidates 50: asking a search for more is refused). The policy is fixed afterwards and is in the audit log. create and drop
 * are audited with the CLI's actor. Exit 0; 1 when the library refuses (name taken, no such
 * collection, store unreadable); 2 for bad usage (a missing purpose or legal basis included). */
#include <string.h>

#include "cli.h"
#include "../tools/tools.h"

#define PURPOSES_MAX 256 /* mien.h: the purpose list, commas included */

/* Appends one --purpose value to the comma-separated list purposes[PURPOSES_MAX]. */
static bool add_purposes(char *purposes, const char *more)
{
    size_t used = strlen(purposes);
    int n = snprintf(purposes + used, PURPOSES_MAX - used, "%s%s", used ? "," : "", more);
    return n >= 0 && (size_t)n < PURPOSES_MAX - used;
}

/* A collection and its policy as text. */
static void print_text(const mien_collection_info *c)
{
    char when[32];
    mien_time_format(c->created_at, when, sizeof(when));
    printf("%-24s %-8s %8lld subject%-1s %8lld face%-1s  models %s%s%s  created %s\n", c->name,
           mien_profile_name(c->profile), (long long)c->subjects, CLI_S(c->subjects),
           (long long)c->faces, CLI_S(c->faces), c->model_a, c->model_b[0] ? "+" : "", c->model_b, when);
    if (c->description[0]) {
        printf("  %s\n", c->description);
    }
    char retention[32];
    cli_duration_text(c->retention_s, retention, sizeof(retention));
    printf("  purposes %s; legal basis: %s\n", c->purposes[0] ? c->purposes : "(none declared)",
           c->legal_basis[0] ? c->legal_basis : "(none declared)");
    printf("  consent %s; retention %s; review %s%s\n",
           c->consent == MIEN_CONSENT_NOT_NEEDED ? "not needed" : "required", retention,
           c->review == MIEN_REVIEW_TWO_PERSON ? "two-person"
                                                : mien_review_mode_name(c->review),
           c->verification_only ? "; verification only (no 1:N search)" : "");
    printf("  a search returns at most %d candidates, at FMR <= %g\n", c->max_candidates,
           c->max_fmr);
}

/* The arguments of every action; each action's table takes its own. */
typedef struct collection_args {
    cli_common c;
    const char *store, *case_ref, *description, *legal_basis;
    char purposes[PURPOSES_MAX]; /* every --purpose, comma-separated */
    mien_collection_policy policy;
    mien_profile profile;
} collection_args;

/* --purpose, repeatable: each value is appended to the list at dest. */
static bool opt_purpose(const char *v, void *dest)
{
    return add_purposes(dest, v);
}

static const cli_opt create_opts[] = {
    {"--purpose", CLI_OPT_CALL, offsetof(collection_args, purposes), "P[,P...]",
     .help = "what it may be used for (required; repeatable)", .parse = opt_purpose,
     .want = "purposes of at most 255 bytes in all"},
    {"--legal-basis", CLI_OPT_STRING, offsetof(collection_args, legal_basis), "TEXT",
     .help = "the legal basis of the processing (required)"},
    {"--consent", CLI_OPT_CALL, offsetof(collection_args, policy.consent), "C",
     .help = "required (default) or not-needed", .parse = cli_opt_consent,
     .want = "required or not-needed"},
    {"--retention", CLI_OPT_CALL, offsetof(collection_args, policy.retention_s), "D",
     .help = "how long a subject is kept: 365d, 12h or 3600s", .parse = cli_opt_duration,
     .want = "a duration such as 365d, 12h or 3600s (at most 100 years)"},
    {"--review", CLI_OPT_CALL, offsetof(collection_args, policy.review), "R",
     .help = "one (default), two-person or none", .parse = cli_opt_review,
     .want = "one, two-person or none"},
    {"--verification-only", CLI_OPT_SET, offsetof(collection_args, policy.verification_only),
     NULL, .help = "1:1 verification only, no 1:N search", .lo = 1},
    {"--max-fmr", CLI_OPT_DOUBLE, offsetof(collection_args, policy.max_fmr), "F",
     .help = "the loosest false-match rate a search may ask (default 1e-2)", .lo = 1e-6,
     .hi = 1.0, .want = "a rate in 1e-6..1"},
    {"--max-candidates", CLI_OPT_INT, offsetof(collection_args, policy.max_candidates), "N",
     .help = "the most candidates one search may return (default 50)", .lo = 1, .hi = 10000},
    CLI_OPT_PROFILE(collection_args, profile),
    {"--description", CLI_OPT_STRING, offsetof(collection_args, description), "TEXT",
     .help = "a description for people"},
    CLI_OPT_CASE_REF(collection_args, case_ref),
    CLI_OPTS_END_STORE(collection_args),
};
static const cli_opt drop_opts[] = {CLI_OPT_CASE_REF(collection_args, case_ref),
                                    CLI_OPTS_END_STORE(collection_args)};
static const cli_opt plain_opts[] = {CLI_OPTS_END_STORE(collection_args)};

static const cli_command create_cmd = {
    "collection create",
    "collection create NAME --purpose P[,P...] --legal-basis TEXT\n"
    "            [--consent required|not-needed] [--retention 365d|12h|3600s]\n"
    "            [--review one|two-person|none] [--verification-only]\n"
    "            [--max-fmr F] [--max-candidates N]\n"
    "            [--profile fast|accurate] [--description TEXT] [--case-ref REF]\n"
    "            [--store URI] [--models DIR] [--json]",
    create_opts, 1, 1};
static const cli_command list_cmd = {"collection list", "collection list [--store URI] [--json]",
                                     plain_opts, 0, 0};
static const cli_command info_cmd = {
    "collection info", "collection info NAME [--store URI] [--json]", plain_opts, 1, 1};
static const cli_command drop_cmd = {"collection drop",
                                     "collection drop NAME [--case-ref REF] [--store URI] [--json]",
                                     drop_opts, 1, 1};

/* Prints collection `name`, after "created " when `created`. Returns the exit code (`verb`
 * names the action in a failure). */
static int show(mien_store *store, const char *name, bool json, const char *verb, bool created)
{
    mien_collection_info info;
    mien_error err;
    mien_status st = mien_collection_get(store, name, &info, &err);
    if (st != MIEN_OK) {
        return cli_fail(verb, st, &err);
    }
    if (json) {
        cli_collection_json(stdout, &info);
        printf("\n");
        return CLI_EXIT_OK;
    }
    if (created) {
        printf("created ");
    }
    print_text(&info);
    return CLI_EXIT_OK;
}

/* No default purpose or legal basis: what a collection of faces is for is declared. False,
 * with the reason printed, when `args` leaves either out. */
static bool declares_why(const void *args)
{
    const collection_args *o = args;
    if (o->purposes[0] == '\0') {
        fprintf(stderr, "mien collection create: declare what the collection is for with "
                        "--purpose P[,P...] (e.g. access_control); searches must name one of "
                        "these purposes\n");
        return false;
    }
    if (o->legal_basis == NULL || o->legal_basis[0] == '\0') {
        fprintf(stderr, "mien collection create: declare the legal basis with --legal-basis "
                        "TEXT (e.g. \"consent, GDPR Art. 9(2)(a)\")\n");
        return false;
    }
    return true;
}

/* `create NAME`: the collection, its profile and its policy. It locks the collection to the
 * models of the engine that creates it, so it loads them, before the store opens. */
static int create(void *args, char **pos, int n_pos)
{
    collection_args *o = args; /* its policy gets the purposes and the legal basis */
    mien_store *store = NULL;
    mien_engine *engine = NULL;
    cli_context cx;
    mien_error err;
    (void)n_pos;
    if (!declares_why(o)) {
        return cli_bad_usage(&create_cmd);
    }
    if (cli_open_engine(&o->c, &engine) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (cli_open_store(o->store, &store) != MIEN_OK) {
        mien_engine_free(engine);
        return CLI_EXIT_FAIL;
    }
    o->policy.purposes = o->purposes;
    o->policy.legal_basis = o->legal_basis;
    cli_context_init(&cx, NULL, o->case_ref);
    mien_status st = mien_collection_create(store, pos[0], o->profile, engine, o->description,
                                            &o->policy, &cx.ctx, &err);
    int rc = st != MIEN_OK ? cli_fail("collection create", st, &err)
                           : show(store, pos[0], o->c.json, "collection create", true);
    mien_store_close(store);
    mien_engine_free(engine);
    return rc;
}

/* Its defaults: consent required, one reviewer, the fast profile. */
static int run_create(int argc, char **argv)
{
    collection_args o = {.c = {.threads = 1},
                         .policy = {.consent = MIEN_CONSENT_REQUIRED, .review = MIEN_REVIEW_ONE},
                         .profile = MIEN_PROFILE_FAST};
    return cli_run_parsed(&create_cmd, argc, argv, &o, create);
}

/* `info NAME`: the collection and its policy. */
static int run_info(mien_store *store, void *args, char **pos, int n_pos)
{
    const collection_args *o = args;
    (void)n_pos;
    return show(store, pos[0], o->c.json, "collection info", false);
}

/* `list`: every collection of the store. */
static int run_list(mien_store *store, void *args, char **pos, int n_pos)
{
    const collection_args *o = args;
    mien_collection_info *cs = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st = mien_collection_list(store, &cs, &n, &err);
    int rc = st != MIEN_OK ? cli_fail("collection list", st, &err) : CLI_EXIT_OK;
    (void)pos;
    (void)n_pos;
    for (size_t k = 0; k < n; k++) {
        if (o->c.json) {
            cli_collection_json(stdout, &cs[k]);
            printf("\n");
        } else {
            print_text(&cs[k]);
        }
    }
    if (st == MIEN_OK && n == 0 && !o->c.json) {
        printf("no collections\n");
    }
    mien_free(cs);
    return rc;
}

/* `drop NAME`: the collection goes, with its subjects and faces (audited). */
static int run_drop(mien_store *store, void *args, char **pos, int n_pos)
{
    const collection_args *o = args;
    const char *name = pos[0];
    mien_collection_info info;
    cli_context cx;
    mien_error err;
    mien_status st;
    (void)n_pos;
    cli_context_init(&cx, NULL, o->case_ref);
    st = mien_collection_get(store, name, &info, &err);
    if (st == MIEN_OK) {
        st = mien_collection_drop(store, name, &cx.ctx, &err);
    }
    if (st != MIEN_OK) {
        return cli_fail("collection drop", st, &err);
    }
    if (o->c.json) {
        printf("{\"dropped\":");
        cli_json_string(stdout, name);
        printf(",\"subjects\":%lld,\"faces\":%lld}\n", (long long)info.subjects,
               (long long)info.faces);
    } else {
        printf("dropped collection %s (%lld subject%s, %lld face%s)\n", name,
               (long long)info.subjects, CLI_S(info.subjects), (long long)info.faces,
               CLI_S(info.faces));
    }
    return CLI_EXIT_OK;
}

/* import-synthetic is for the benchmarks only (src/tools/synthetic.c). */
CLI_ACTIONS_COMMAND(cli_cmd_collection, "collection", collection_args,
                    CLI_ACTION("create", run_create, &create_cmd),
                    CLI_STORE_ACTION("list", &list_cmd, run_list, NULL),
                    CLI_STORE_ACTION("info", &info_cmd, run_info, NULL),
                    CLI_STORE_ACTION("drop", &drop_cmd, run_drop, NULL),
                    CLI_ACTION("import-synthetic", tools_cmd_import_synthetic, NULL))
