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
 * The reviewer, as "cli:NAME@unix:LOGIN" (reviewer_identity), is the actor of the decision's
 * audit entry: NAME normalised by the library (alice and Alice are one person), LOGIN the
 * account that ran the command, so that one account cannot confirm twice under two names and
 * the search's own author cannot be one of the two: there is no default, every
 * decision names who made it. Prints the review's state afterwards.
 *
 * Exit 0; 1 for an unknown review, a review already closed, a bad rank or a store failure;
 * 2 for bad usage; 3 when this reviewer already decided on the review. */
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct review_args {
    cli_common c;
    const char *store, *reviewer, *note;
} review_args;

static const cli_opt opts[] = {
    {"--reviewer", CLI_OPT_STRING, offsetof(review_args, reviewer), "NAME",
     .help = "who decides (required with confirm or reject; the audit's actor cli:NAME)"},
    {"--note", CLI_OPT_STRING, offsetof(review_args, note), "TEXT",
     .help = "a note kept with the decision"},
    CLI_OPTS_END_STORE(review_args),
};
static const cli_command cmd = {"review",
                                "review ID\n"
                                "       mien review ID confirm RANK --reviewer NAME [--note TEXT]\n"
                                "       mien review ID reject --reviewer NAME [--note TEXT]\n"
                                "(each with [--store URI] [--json])",
                                opts, 1, 3};

/* The decision the positional arguments after ID ask for (words[0..n)): none (*verb NULL),
 * "confirm RANK" or "reject". False, with the problem printed, for anything else. */
static bool parse_decision(char **words, int n, const char **verb, int *rank)
{
    *verb = NULL;
    *rank = 0;
    if (n == 0) {
        return true;
    }
    if (strcmp(words[0], "confirm") == 0) {
        if (n != 2 || !cli_parse_int(words[1], 1, 100000, rank)) {
            fprintf(stderr, "mien review: confirm wants the candidate's rank (1, 2, ...)\n");
            return false;
        }
    } else if (strcmp(words[0], "reject") != 0 || n != 1) {
        fprintf(stderr, "mien review: unexpected '%s' (confirm RANK or reject)\n",
                words[n - 1]);
        return false;
    }
    *verb = words[0];
    return true;
}

/* The reviewer's identity into out[64]: "cli:NAME@unix:LOGIN", NAME as given (the library
 * normalises it: "Alice" is "alice") and LOGIN the account running the command, from the
 * password database by uid (not $USER, which the caller sets at will). "cli:" so that a name
 * given on the command line never passes for an API key id (the service's reviewers); the
 * account so that one account cannot be two reviewers under two names (review.c). */
static void reviewer_identity(const char *name, char out[64])
{
    char login[32];
    const struct passwd *pw = getpwuid(getuid());
    if (pw != NULL && pw->pw_name != NULL && strlen(pw->pw_name) < sizeof(login)) {
        snprintf(login, sizeof(login), "%s", pw->pw_name);
    } else {
        snprintf(login, sizeof(login), "uid%lu", (unsigned long)getuid());
    }
    while (*name == ' ' || *name == '\t') {
        name++; /* the ends trimmed here; the library normalises the rest */
    }
    int len = (int)strlen(name);
    while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t')) {
        len--;
    }
    int room = 64 - (int)strlen(login) - (int)strlen("cli:@unix:") - 1;
    snprintf(out, 64, "cli:%.*s@unix:%s", len < room ? len : (room > 0 ? room : 0), name, login);
}

/* Whether --reviewer and --note go with the decision: a decision names its reviewer, and
 * without one they mean nothing. Prints why not. */
static bool reviewer_fits(const review_args *o, const char *verb)
{
    if (verb != NULL && (o->reviewer == NULL || o->reviewer[0] == '\0')) {
        fprintf(stderr, "mien review: a decision names its reviewer: --reviewer NAME\n");
        return false;
    }
    if (verb == NULL && (o->reviewer != NULL || o->note != NULL)) {
        fprintf(stderr, "mien review: --reviewer and --note go with confirm RANK or reject\n");
        return false;
    }
    return true;
}

/* Prints a review's state: one JSON line, or two lines of text. */
static void print_review(const mien_review_info *r, bool json)
{
    char when[32];
    mien_time_format(r->created_at, when, sizeof(when));
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
    review_args o = {.c = {.threads = 1}};
    const char *id, *verb;
    int rank, n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    mien_store *store = NULL;
    mien_review_info info;
    mien_error err;
    mien_status st;
    if (rc != CLI_PARSED) {
        return rc;
    }
    id = argv[0];
    if (!parse_decision(argv + 1, n_args - 1, &verb, &rank) || !reviewer_fits(&o, verb)) {
        return cli_bad_usage(&cmd);
    }
    if (cli_open_store_to_read(o.store, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_OK;
    if (verb == NULL) {
        st = mien_review_get(store, id, &info, &err);
    } else {
        mien_review_decision d = MIEN_DECISION_REJECT;
        mien_decision_parse(verb, &d); /* "confirm" or "reject": checked above */
        char actor[64];
        reviewer_identity(o.reviewer, actor);
        st = mien_review_decide(store, id, actor, d, rank, o.note, &info, &err);
    }
    if (st != MIEN_OK) {
        rc = cli_fail("review", st, &err);
    } else {
        if (verb != NULL && !o.c.json) {
            printf("recorded: %s %s", o.reviewer, verb);
            if (rank > 0) {
                printf(" rank %d", rank);
            }
            printf("\n");
        }
        print_review(&info, o.c.json);
    }
    mien_store_close(store);
    return rc;
}
