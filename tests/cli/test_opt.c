/* test_opt.c — src/cli/opt.c, the one option parser of the `mien` commands: values of every
 * kind land where the table says (included tables too), bad usage is refused with exit 2,
 * positional arguments are moved to the front of argv, --help exits 0, and actions dispatch.
 * The messages themselves are checked by tests/cli/test_cli.sh against the real commands. */
#include "cli/cli.h"
#include "test.h"

/* opt.c's store actions go through store.c (not linked here; test_cli.sh runs them). */
int cli_run_on_store(const cli_command *cmd, int argc, char **argv, void *args,
                     bool (*check)(const void *args), cli_store_run run)
{
    (void)cmd, (void)argc, (void)argv, (void)args, (void)check, (void)run;
    return CLI_EXIT_FAIL;
}

typedef struct args {
    cli_common c;
    const char *store, *name;
    int top, mode, level;
    double fmr;
    bool force;
    mien_profile profile;
} args;

static const char *const levels[] = {"low", "high", NULL};
static const int level_values[] = {10, 20};

static const cli_opt opts[] = {
    {"--top", CLI_OPT_INT, offsetof(args, top), "K", .help = "top", .lo = 1, .hi = 100},
    {"--name", CLI_OPT_STRING, offsetof(args, name), "N", .help = "name", .required = true},
    {"--exact", CLI_OPT_SET, offsetof(args, mode), NULL, .help = "exact", .lo = 7},
    {"--level", CLI_OPT_CHOICE, offsetof(args, level), "L", .help = "level",
     .choices = levels, .values = level_values},
    {"--force", CLI_OPT_FLAG, offsetof(args, force), NULL, .help = "force"},
    CLI_OPT_FMR(args, fmr),
    CLI_OPT_PROFILE(args, profile),
    CLI_OPT_STORE(args, store),
    CLI_OPT_COMMON(args, c),
    CLI_OPT_END,
};
static const cli_command cmd = {"test", "test A [B] --name N", opts, 1, 2};

/* Parses the NULL-terminated words (after a command name) into *a; returns cli_parse's
 * answer and the positionals in out[]. */
static int parse(args *a, char **words, int *n, char ***out)
{
    static char *argv[32];
    int argc = 1;
    argv[0] = "test";
    for (; words[argc - 1] != NULL; argc++) {
        argv[argc] = words[argc - 1];
    }
    memset(a, 0, sizeof(*a));
    a->c.threads = 1;
    *out = argv;
    return cli_parse(&cmd, argc, argv, a, n);
}

TEST(cli_opt_values)
{
    char *w[] = {"--top",   "42",       "A",    "--name", "x",      "--exact", "--level",
                 "high",    "--force",  "--fmr", "1e-3",  "--profile", "accurate",
                 "--store", "sqlite:s", "--models", "m",  "--threads", "3",   "--json", NULL};
    args a;
    char **pos;
    int n;
    ASSERT_EQ_INT(parse(&a, w, &n, &pos), CLI_PARSED);
    ASSERT_EQ_INT(a.top, 42);
    ASSERT_STR_EQ(a.name, "x");
    ASSERT_EQ_INT(a.mode, 7);
    ASSERT_EQ_INT(a.level, 20);
    ASSERT_TRUE(a.force);
    ASSERT_NEAR(a.fmr, 1e-3, 1e-12);
    ASSERT_EQ_INT(a.profile, MIEN_PROFILE_ACCURATE);
    ASSERT_STR_EQ(a.store, "sqlite:s");
    ASSERT_STR_EQ(a.c.models_dir, "m");
    ASSERT_EQ_INT(a.c.threads, 3);
    ASSERT_TRUE(a.c.json);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STR_EQ(pos[0], "A");
    return 0;
}

TEST(cli_opt_bad_usage)
{
    static char *cases[][6] = {
        {"A", "--name", "x", "--top", "0", NULL},        /* below the range */
        {"A", "--name", "x", "--top", "3x", NULL},       /* not a number */
        {"A", "--name", "x", "--fmr", "2", NULL},        /* above the range */
        {"A", "--name", "x", "--level", "mid", NULL},    /* not a choice */
        {"A", "--name", "x", "--profile", "slow", NULL}, /* refused by the callback */
        {"A", "--name", "x", "--bogus", NULL},           /* unknown */
        {"A", "--name", "x", "--top", NULL},             /* missing value */
        {"A", "--top", "3", NULL},                       /* required option missing */
        {"--name", "x", NULL},                           /* too few arguments */
        {"A", "B", "C", "--name", "x", NULL},            /* too many */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        args a;
        char **pos;
        int n = -1;
        ASSERT_EQ_INT(parse(&a, cases[k], &n, &pos), CLI_EXIT_USAGE);
        ASSERT_EQ_INT(n, 0);
    }
    return 0;
}

TEST(cli_opt_positionals)
{
    char *w[] = {"--name", "--x", "A", "-", "--top", "5", NULL};
    args a;
    char **pos;
    int n;
    ASSERT_EQ_INT(parse(&a, w, &n, &pos), CLI_PARSED);
    ASSERT_STR_EQ(a.name, "--x"); /* a value is taken as it is, even one like an option */
    ASSERT_EQ_INT(n, 2);
    ASSERT_STR_EQ(pos[0], "A");
    ASSERT_STR_EQ(pos[1], "-"); /* a lone "-" is an argument */
    ASSERT_EQ_INT(a.top, 5);
    return 0;
}

static int ran;

static int run_one(int argc, char **argv)
{
    ran = argc;
    return strcmp(argv[0], "one") == 0 ? 5 : 6;
}

TEST(cli_opt_help_and_actions)
{
    static const cli_action actions[] = {CLI_ACTION("one", run_one, &cmd), CLI_ACTIONS_END};
    char *help[] = {"--name", "x", "-h", NULL};
    char *argv_one[] = {"top", "one", "more", NULL};
    char *argv_bad[] = {"top", "two", NULL};
    char *argv_help[] = {"top", "--help", NULL};
    args a;
    char **pos;
    int n;
    size_t offset = 0;
    ASSERT_EQ_INT(parse(&a, help, &n, &pos), CLI_EXIT_OK);
    ASSERT_TRUE(cli_opt_offset(&cmd, "--store", &offset));
    ASSERT_EQ_INT(offset, offsetof(args, store));
    ASSERT_TRUE(cli_opt_offset(&cmd, "--threads", &offset));
    ASSERT_EQ_INT(offset, offsetof(args, c) + offsetof(cli_common, threads));
    ASSERT_TRUE(!cli_opt_offset(&cmd, "--bogus", &offset));
    ASSERT_EQ_INT(cli_run_action("top", actions, 3, argv_one, NULL, 0), 5);
    ASSERT_EQ_INT(ran, 2);
    ASSERT_EQ_INT(cli_run_action("top", actions, 2, argv_bad, NULL, 0), CLI_EXIT_USAGE);
    ASSERT_EQ_INT(cli_run_action("top", actions, 1, argv_bad, NULL, 0), CLI_EXIT_USAGE);
    ASSERT_EQ_INT(cli_run_action("top", actions, 2, argv_help, NULL, 0), CLI_EXIT_OK);
    return 0;
}

/* cli_run_parsed's run: the positionals and the parsed arguments arrive. */
static int run_parsed(void *v, char **pos, int n_pos)
{
    const args *a = v;
    return n_pos == 2 && strcmp(pos[0], "A") == 0 && strcmp(pos[1], "B") == 0 && a->top == 9
               ? 7
               : 8;
}

TEST(cli_opt_run_parsed)
{
    char *good[] = {"test", "A", "--top", "9", "B", "--name", "x", NULL};
    char *bad[] = {"test", "A", "--top", "0", "--name", "x", NULL};
    args a = {.top = 1};
    ASSERT_EQ_INT(cli_run_parsed(&cmd, 7, good, &a, run_parsed), 7);
    ASSERT_EQ_INT(cli_run_parsed(&cmd, 6, bad, &a, run_parsed), CLI_EXIT_USAGE);
    return 0;
}
