/* cmd_review.c — human review of 1:N candidate lists (mien.h "human review"):
 *
 *   mien review ID                                    show a review
 *   mien review ID confirm RANK --reviewer NAME [--note TEXT]
 *   mien review ID reject --reviewer NAME [--note TEXT]
 *   (each with [--store URI] [--json])
 *
 * A search opens a review (its id is in the search's answer) unless its collection opted out.
 * `confirm RANK` says candidate RANK (1-based, as the search listed them) is the person
 * searched for; `reject` says none of them is. In two-person mode two different reviewers must
 * confirm the same rank (EU AI Act Art. 14(5)); the same reviewer deciding twice is refused.
 * The reviewer's name, as "cli:NAME", is the actor of the decision's audit entry (so that it
 * never passes for a service key id; in two-person mode the search's own author, "cli:$USER",
 * cannot be one of the two): there is no default, every
 * decision names who made it. Prints the review's state afterwards.
 *
 * Exit 0; 1 for an unknown review, a review already closed, a bad rank or a store failure;
 * 2 for bad usage; 3 when this reviewer already decided on the review. */
#include <string.h>

#include "cli.h"

static void usage(void)
{
    fprintf(stderr, "usage: mien review ID\n"
                    "       mien review ID confirm RANK --reviewer NAME [--note TEXT]\n"
                    "       mien review ID reject --reviewer NAME [--note TEXT]\n"
                    "(each with [--store URI] [--json])\n");
}

/* Prints a review's state: one JSON line, or two lines of text. */
static void print_review(const mien_review_info *r, bool json)
{
    char when[32];
    cli_time_iso(r->created_at, when, sizeof(when));
    if (json) {
        printf("{\"review\":\"%s\",\"collection\":", r->id);
        cli_json_string(stdout, r->collection);
        printf(",\"status\":\"%s\",\"required\":%d,\"confirmations\":%d,\"confirmed_rank\":%d,"
               "\"candidates\":%zu,\"created_at\":\"%s\",\"search_seq\":%lld}\n",
               r->status, r->required, r->confirmations, r->confirmed_rank, r->candidates, when,
               (long long)r->search_seq);
        return;
    }
    printf("review %s (collection %s, search audit entry %lld, %zu candidates, opened %s)\n",
           r->id, r->collection, (long long)r->search_seq, r->candidates, when);
    printf("status %s: %d of %d confirmation%s", r->status, r->confirmations, r->required,
           r->required == 1 ? "" : "s");
    if (r->confirmed_rank > 0) {
        printf(", rank %d confirmed", r->confirmed_rank);
    }
    printf("\n");
}

int cli_cmd_review(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *id = NULL, *store_uri = NULL, *reviewer = NULL, *note = NULL, *verb = NULL;
    int rank = 0, rc = CLI_EXIT_OK;
    bool bad = false;
    mien_store *store = NULL;
    mien_review_info info;
    mien_error err;
    mien_status st;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if ((strcmp(a, "--reviewer") == 0 || strcmp(a, "--note") == 0) && i + 1 >= argc) {
            fprintf(stderr, "mien review: %s needs a value\n", a);
            bad = true;
        } else if (strcmp(a, "--reviewer") == 0) {
            reviewer = argv[++i];
        } else if (strcmp(a, "--note") == 0) {
            note = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "mien review: unexpected '%s'\n", a);
            bad = true;
        } else if (id == NULL) {
            id = a;
        } else if (verb == NULL && (strcmp(a, "confirm") == 0 || strcmp(a, "reject") == 0)) {
            verb = a;
            if (strcmp(a, "confirm") == 0) {
                if (i + 1 >= argc || !cli_parse_int(argv[++i], 1, 100000, &rank)) {
                    fprintf(stderr, "mien review: confirm wants the candidate's rank (1, 2, ...)"
                                    "\n");
                    bad = true;
                }
            }
        } else {
            fprintf(stderr, "mien review: unexpected '%s' (confirm RANK or reject)\n", a);
            bad = true;
        }
    }
    if (!bad && id == NULL) {
        fprintf(stderr, "mien review: which review? (the id a search printed)\n");
        bad = true;
    }
    if (!bad && verb != NULL && (reviewer == NULL || reviewer[0] == '\0')) {
        fprintf(stderr, "mien review: a decision names its reviewer: --reviewer NAME\n");
        bad = true;
    }
    if (!bad && verb == NULL && (reviewer != NULL || note != NULL)) {
        fprintf(stderr, "mien review: --reviewer and --note go with confirm RANK or reject\n");
        bad = true;
    }
    if (bad) {
        usage();
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (verb == NULL) {
        st = mien_review_get(store, id, &info, &err);
    } else {
        mien_review_decision d = MIEN_DECISION_REJECT;
        mien_decision_parse(verb, &d); /* "confirm" or "reject": checked above */
        /* "cli:NAME": a name given on the command line is not an API key id, and must not
         * pass for one (the service's reviewers are key ids). */
        char actor[64];
        snprintf(actor, sizeof(actor), "cli:%s", reviewer);
        st = mien_review_decide(store, id, actor, d, rank, note, &info, &err);
    }
    if (st != MIEN_OK) {
        rc = cli_fail("review", st, &err);
    } else {
        if (verb != NULL && !c.json) {
            printf("recorded: %s %s", reviewer, verb);
            if (rank > 0) {
                printf(" rank %d", rank);
            }
            printf("\n");
        }
        print_review(&info, c.json);
    }
    mien_store_close(store);
    return rc;
}
