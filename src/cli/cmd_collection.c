/* cmd_collection.c — managing the collections of a store:
 *
 *   mien collection create NAME --purpose P[,P...] --legal-basis TEXT
 *        [--consent required|not-needed] [--retention 365d|12h|3600s]
 *        [--review one|two-person|none] [--verification-only]
 *        [--profile fast|accurate] [--description TEXT] [--case-ref REF]
 *   mien collection list | info NAME | drop NAME [--case-ref REF]
 *   (each with [--store URI] [--models DIR] [--json])
 *
 * A collection is locked at creation to a profile and to the models of the engine that
 * creates it (so `create` loads the models), and declares its policy (mien.h
 * mien_collection_policy): the purposes it may be used for and the legal basis are required
 * (there is no default purpose: what a gallery of faces is for is always chosen, never
 * implied); consent, retention and review default to the library's (consent required, one
 * year, one reviewer). The policy is fixed afterwards and is in the audit log. create and drop
 * are audited with the CLI's actor. Exit 0; 1 when the library refuses (name taken, no such
 * collection, store unreadable); 2 for bad usage (a missing purpose or legal basis included). */
#include <string.h>

#include "cli.h"
#include "../tools/tools.h"

#define PURPOSES_MAX 256 /* mien.h: the purpose list, commas included */

static void usage(void)
{
    fprintf(stderr, "usage: mien collection create NAME --purpose P[,P...] --legal-basis TEXT\n"
                    "            [--consent required|not-needed] [--retention 365d|12h|3600s]\n"
                    "            [--review one|two-person|none] [--verification-only]\n"
                    "            [--profile fast|accurate] [--description TEXT] [--case-ref REF]\n"
                    "       mien collection list\n"
                    "       mien collection info NAME\n"
                    "       mien collection drop NAME [--case-ref REF]\n"
                    "(each with [--store URI] [--models DIR] [--json]; the store defaults to "
                    "$MIEN_STORE, else ./mien.db)\n");
}

/* --consent: "required" or "not-needed" (also the JSON spelling "not_needed"). */
static bool parse_consent(const char *s, mien_consent *out)
{
    if (strcmp(s, "required") == 0) {
        *out = MIEN_CONSENT_REQUIRED;
    } else if (strcmp(s, "not-needed") == 0 || strcmp(s, "not_needed") == 0) {
        *out = MIEN_CONSENT_NOT_NEEDED;
    } else {
        return false;
    }
    return true;
}

/* --review: "one", "two-person" (also "two_person") or "none". */
static bool parse_review(const char *s, mien_review_mode *out)
{
    if (strcmp(s, "one") == 0) {
        *out = MIEN_REVIEW_ONE;
    } else if (strcmp(s, "two-person") == 0 || strcmp(s, "two_person") == 0) {
        *out = MIEN_REVIEW_TWO_PERSON;
    } else if (strcmp(s, "none") == 0) {
        *out = MIEN_REVIEW_NONE;
    } else {
        return false;
    }
    return true;
}

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
    cli_time_iso(c->created_at, when, sizeof(when));
    printf("%-24s %-8s %8lld subjects %8lld faces  models %s%s%s  created %s\n", c->name,
           cli_profile_name(c->profile), (long long)c->subjects, (long long)c->faces,
           c->model_a, c->model_b[0] ? "+" : "", c->model_b, when);
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
                                                : cli_review_name(c->review),
           c->verification_only ? "; verification only (no 1:N search)" : "");
}

int cli_cmd_collection(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *verb = argc >= 2 ? argv[1] : NULL, *name = NULL, *store_uri = NULL;
    const char *description = NULL, *case_ref = NULL, *legal_basis = NULL;
    char purposes[PURPOSES_MAX] = "";
    mien_collection_policy policy = {.consent = MIEN_CONSENT_REQUIRED,
                                     .review = MIEN_REVIEW_ONE};
    mien_profile profile = MIEN_PROFILE_FAST;
    cli_context cx;
    bool bad = false, needs_name, is_create;
    mien_store *store = NULL;
    if (verb != NULL && strcmp(verb, "import-synthetic") == 0) { /* benchmarks only */
        return tools_cmd_import_synthetic(argc - 1, argv + 1);
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
    is_create = strcmp(verb, "create") == 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool takes_value = strcmp(a, "--profile") == 0 || strcmp(a, "--description") == 0 ||
                           strcmp(a, "--purpose") == 0 || strcmp(a, "--legal-basis") == 0 ||
                           strcmp(a, "--consent") == 0 || strcmp(a, "--retention") == 0 ||
                           strcmp(a, "--review") == 0 || strcmp(a, "--case-ref") == 0;
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (takes_value && i + 1 >= argc) {
            fprintf(stderr, "mien collection %s: %s needs a value\n", verb, a);
            bad = true;
        } else if ((is_create || strcmp(verb, "drop") == 0) && strcmp(a, "--case-ref") == 0) {
            case_ref = argv[++i];
        } else if (is_create && strcmp(a, "--profile") == 0) {
            if (!cli_parse_profile(argv[++i], &profile)) {
                fprintf(stderr, "mien collection: --profile is fast or accurate\n");
                bad = true;
            }
        } else if (is_create && strcmp(a, "--description") == 0) {
            description = argv[++i];
        } else if (is_create && strcmp(a, "--purpose") == 0) {
            if (!add_purposes(purposes, argv[++i])) {
                fprintf(stderr, "mien collection create: the purposes are longer than %d "
                                "bytes\n", PURPOSES_MAX - 1);
                bad = true;
            }
        } else if (is_create && strcmp(a, "--legal-basis") == 0) {
            legal_basis = argv[++i];
        } else if (is_create && strcmp(a, "--consent") == 0) {
            if (!parse_consent(argv[++i], &policy.consent)) {
                fprintf(stderr, "mien collection create: --consent is required or not-needed, "
                                "not '%s'\n", argv[i]);
                bad = true;
            }
        } else if (is_create && strcmp(a, "--retention") == 0) {
            if (!cli_parse_duration(argv[++i], &policy.retention_s)) {
                fprintf(stderr, "mien collection create: --retention is a duration such as "
                                "365d, 12h or 3600s (at most 100 years), not '%s'\n", argv[i]);
                bad = true;
            }
        } else if (is_create && strcmp(a, "--review") == 0) {
            if (!parse_review(argv[++i], &policy.review)) {
                fprintf(stderr, "mien collection create: --review is one, two-person or none, "
                                "not '%s'\n", argv[i]);
                bad = true;
            }
        } else if (is_create && strcmp(a, "--verification-only") == 0) {
            policy.verification_only = 1;
        } else if (a[0] == '-' || !needs_name || name != NULL) {
            fprintf(stderr, "mien collection %s: unexpected '%s'\n", verb, argv[i]);
            bad = true;
        } else {
            name = argv[i];
        }
    }
    if (!bad && needs_name && name == NULL) {
        fprintf(stderr, "mien collection %s: which collection?\n", verb);
        bad = true;
    }
    /* No default purpose or legal basis: what a collection of faces is for is declared. */
    if (!bad && is_create && purposes[0] == '\0') {
        fprintf(stderr, "mien collection create: declare what the collection is for with "
                        "--purpose P[,P...] (e.g. access_control); searches must name one of "
                        "these purposes\n");
        bad = true;
    }
    if (!bad && is_create && (legal_basis == NULL || legal_basis[0] == '\0')) {
        fprintf(stderr, "mien collection create: declare the legal basis with --legal-basis "
                        "TEXT (e.g. \"consent, GDPR Art. 9(2)(a)\")\n");
        bad = true;
    }
    if (bad) {
        usage();
        return CLI_EXIT_USAGE;
    }
    policy.purposes = purposes;
    policy.legal_basis = legal_basis;
    cli_context_init(&cx, NULL, case_ref);
    if (is_create && cli_open_engine(&c, &engine) != MIEN_OK) {
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
            st = mien_collection_drop(store, name, &cx.ctx, &err);
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
        if (is_create) {
            st = mien_collection_create(store, name, profile, engine, description, &policy,
                                        &cx.ctx, &err);
        }
        if (st == MIEN_OK) {
            st = mien_collection_get(store, name, &info, &err);
        }
        if (st != MIEN_OK) {
            rc = cli_fail(is_create ? "collection create" : "collection info", st, &err);
        } else if (c.json) {
            cli_collection_json(stdout, &info);
            printf("\n");
        } else {
            if (is_create) {
                printf("created ");
            }
            print_text(&info);
        }
    }
    mien_store_close(store);
    mien_engine_free(engine);
    return rc;
}
