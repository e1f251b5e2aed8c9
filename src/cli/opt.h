/* opt.h — the options of every `mien` command, as data: one table per command, read by one
 * parser (opt.c) that also prints the command's usage and per-option help. The tables name
 * each option once, with the kind of value it takes and where the value goes (an offset in the
 * command's own argument struct), as curl's tool_getparam.c does with its aliases table; the
 * options several commands share (--models/--threads/--json, --store) are tables that a
 * command's table includes. src/tools/ uses the same parser.
 *
 * A command declares its arguments and its table, sets the defaults, then parses. An entry
 * gives the name, kind, offset and value's name by position and the rest by designator (so
 * that -Wmissing-field-initializers has nothing to say about the fields left out):
 *
 *     typedef struct args { cli_common c; const char *store; int top; } args;
 *     static const cli_opt opts[] = {
 *         {"--top", CLI_OPT_INT, offsetof(args, top), "K", .help = "candidates at most",
 *          .lo = 1, .hi = 10000},
 *         CLI_OPT_COMMON(args, c), CLI_OPT_STORE(args, store), CLI_OPT_END};
 *     static const cli_command cmd = {"search", "search COLL IMAGE [--top K]", opts, 2, 2};
 *     args a = {.c = {.threads = 1}, .top = 10};
 *     int n, rc = cli_parse(&cmd, argc, argv, &a, &n);
 *     if (rc != CLI_PARSED) return rc;   // argv[0..n) are now COLL and IMAGE
 */
#ifndef MIEN_CLI_OPT_H
#define MIEN_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What an option takes and how its destination (at .offset in the argument struct) is
 * typed. Only FLAG and SET take no value. */
typedef enum cli_opt_kind {
    CLI_OPT_FLAG,   /* bool: set to true */
    CLI_OPT_SET,    /* int (or an enum): set to .lo, e.g. --exact picks a search mode */
    CLI_OPT_STRING, /* const char *: the value, borrowed from argv */
    CLI_OPT_INT,    /* int: a whole number in [.lo, .hi] */
    CLI_OPT_DOUBLE, /* double: a number in [.lo, .hi] */
    CLI_OPT_CHOICE, /* int (or an enum): .values[k] (k itself without .values) for the value
                       .choices[k]; .choices ends with NULL */
    CLI_OPT_CALL,   /* anything: .parse(value, destination) checks and stores the value */
} cli_opt_kind;

typedef struct cli_opt cli_opt;
struct cli_opt {
    const char *name;   /* "--top"; a table ends with an entry of NULL name and include */
    cli_opt_kind kind;
    size_t offset;      /* the destination: offsetof() in the command's argument struct */
    const char *value;  /* the value's name in the help ("K"); NULL for FLAG and SET */
    const char *help;   /* one line for `mien CMD --help` */
    double lo, hi;      /* INT and DOUBLE: the range; SET: the value set */
    const char *want;   /* a bad value is told "NAME wants WANT, got 'V'"; NULL: the range
                           ("1..10000") or the choices ("one|two-person|none") */
    const char *const *choices;  /* CHOICE */
    const int *values;           /* CHOICE, or NULL */
    bool (*parse)(const char *value, void *dest); /* CALL */
    const cli_opt *include;      /* set instead of name: this table's options, their
                                    destinations .offset further in */
    bool required;               /* bad usage without it ("--role is required") */
};

#define CLI_OPT_END {.name = NULL}
#define CLI_OPT_INCLUDE(table, off) {.name = NULL, .include = (table), .offset = (off)}

/* The common options, --models DIR, --threads N and --json, into a cli_common (cli.h). */
extern const cli_opt cli_common_opts[];
#define CLI_OPT_COMMON(type, field) CLI_OPT_INCLUDE(cli_common_opts, offsetof(type, field))
/* --store URI into a const char * (borrowed from argv). */
extern const cli_opt cli_store_opts[];
#define CLI_OPT_STORE(type, field) CLI_OPT_INCLUDE(cli_store_opts, offsetof(type, field))

/* Entries several commands share: --profile fast|accurate (a mien_profile), --face N (an int,
 * the face as `mien detect` numbers them), --fmr F (a double, a false-match rate in 1e-6..1). */
bool cli_opt_profile(const char *value, void *dest);
#define CLI_OPT_PROFILE(type, field)                                                    \
    {"--profile", CLI_OPT_CALL, offsetof(type, field), "P", .help = "fast or accurate",        \
     .want = "fast or accurate", .parse = cli_opt_profile}
#define CLI_OPT_FACE(type, field)                                                       \
    {"--face", CLI_OPT_INT, offsetof(type, field), "N",                                 \
     .help = "face N as `mien detect` numbers them (default: the most prominent)",      \
     .lo = 0, .hi = 100000, .want = "a face number"}
#define CLI_OPT_FMR(type, field)                                                        \
    {"--fmr", CLI_OPT_DOUBLE, offsetof(type, field), "F",                               \
     .help = "the false-match rate to decide at", .lo = 1e-6, .hi = 1.0,                \
     .want = "a rate in 1e-6..1"}

/* Why a store command acts (cli_context): --purpose P and --case-ref REF, each a const char *
 * borrowed from argv. */
#define CLI_OPT_PURPOSE(type, field)                                                    \
    {"--purpose", CLI_OPT_STRING, offsetof(type, field), "P",                           \
     .help = "why: one of the purposes the collection was declared for"}
#define CLI_OPT_CASE_REF(type, field)                                                   \
    {"--case-ref", CLI_OPT_STRING, offsetof(type, field), "REF",                        \
     .help = "the case or request this is done for (in the audit log)"}

/* A command (or one action of a command) as the parser sees it. */
typedef struct cli_command {
    const char *name;     /* "search", "collection create": messages begin "mien NAME: " */
    const char *synopsis; /* what follows "usage: mien "; may hold newlines */
    const cli_opt *opts;
    int min_args, max_args; /* how many positional arguments (CLI_ARGS_ANY: no limit) */
} cli_command;

#define CLI_ARGS_ANY 0x7fffffff

/* cli_parse's answer when the command should go on and run. */
#define CLI_PARSED (-1)

/* Parses argv[1..argc) (argv[0] names the command) against cmd's table, into `args` (the
 * command's argument struct, its defaults already set). The positional arguments, in order,
 * are moved to argv[0..*n_args): argv's strings are not copied. An argument that begins with
 * '-' (a lone "-" excepted) is an option; "--help" or "-h" prints the usage and the options to
 * stdout. Returns CLI_PARSED when the command should run; otherwise the exit code:
 * CLI_EXIT_OK after the help, CLI_EXIT_USAGE after bad usage (an unknown option, a missing or
 * bad value, too few or too many arguments), the problem and the usage printed to stderr.
 * @test cli/test_opt.c, cli/test_cli.sh */
int cli_parse(const cli_command *cmd, int argc, char **argv, void *args, int *n_args);

/* Where option `name` of cmd's table stores its value (an offset in the argument struct);
 * false when cmd has no such option. */
bool cli_opt_offset(const cli_command *cmd, const char *name, size_t *offset);

/* Prints "usage: mien SYNOPSIS" to f. */
void cli_usage(const cli_command *cmd, FILE *f);
/* Prints the usage to stderr and returns CLI_EXIT_USAGE: for the checks a table cannot make
 * (an option that is required, or two that exclude each other). */
int cli_bad_usage(const cli_command *cmd);

struct mien_store;

/* What a store command does once its arguments are parsed into `args` and its store is
 * open; pos[0..n_pos) are its positional arguments. Returns the exit code. */
typedef int (*cli_store_run)(struct mien_store *store, void *args, char **pos, int n_pos);

/* A command's actions (`collection create|list|info|drop`), or `mien`'s commands. An action
 * is either a function that runs it, with its argv starting at the action's name, or, for an
 * action on a store, `on_store` run by cli_run_on_store (cli.h) with cmd's table and `check`
 * (may be NULL). cmd gives the usage (NULL: the usage shows "mien COMMAND NAME [options]").
 * Write the entries with the macros below; the table ends with CLI_ACTIONS_END. */
typedef struct cli_action {
    const char *name;
    int (*run)(int argc, char **argv);
    const cli_command *cmd;
    cli_store_run on_store;
    bool (*check)(const void *args);
} cli_action;

#define CLI_ACTION(name, run, cmd) {(name), (run), (cmd), NULL, NULL}
#define CLI_STORE_ACTION(name, cmd, on_store, check) {(name), NULL, (cmd), (on_store), (check)}
#define CLI_ACTIONS_END {NULL, NULL, NULL, NULL, NULL}

/* The action named `name` in `actions`, or NULL (also for a NULL name). */
const cli_action *cli_action_find(const cli_action *actions, const char *name);

/* Runs the action of command `name` that argv[1] names, with argv + 1, and returns its exit
 * code; a store action parses into args[args_size] (zeroed first; NULL when no action is a
 * store action). Without an action, or with an unknown one (named in a message), prints
 * every action's usage to stderr and returns CLI_EXIT_USAGE; "--help" prints it to stdout
 * (exit CLI_EXIT_OK). */
int cli_run_action(const char *name, const cli_action *actions, int argc, char **argv,
                   void *args, size_t args_size);

/* Whether `s` asks for help: "--help" or "-h". */
bool cli_is_help(const char *s);

#endif
