/* opt.c — the one option parser of the `mien` commands (opt.h): it walks a command's table
 * (and the tables it includes) for each argument, stores the value where the table says,
 * and prints the usage and the per-option help from the same table, so the help never lists
 * an option the command does not take. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"

const cli_opt cli_common_opts[] = {
    {"--models", CLI_OPT_STRING, offsetof(cli_common, models_dir), "DIR",
     .help = "the models folder (default $MIEN_MODELS, ./models, else the installed ones)"},
    {"--threads", CLI_OPT_INT, offsetof(cli_common, threads), "N",
     .help = "inference threads per model run", .lo = 1, .hi = 256},
    {"--json", CLI_OPT_FLAG, offsetof(cli_common, json), NULL,
     .help = "machine-readable output, one JSON object per line"},
    CLI_OPT_END,
};

const cli_opt cli_store_opts[] = {
    {"--store", CLI_OPT_STRING, 0, "URI",
     .help = "sqlite:PATH, PATH or postgresql://... (default $MIEN_STORE)"},
    CLI_OPT_END,
};

bool cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v;
    if (s == NULL || *s == '\0') {
        return false;
    }
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* One CALL parser per library parser (opt.h): the library decides what it takes, the table
 * entry says what to print when it refuses. */
#define OPT_OVER_LIB(name, call)                                                              \
    bool cli_opt_##name(const char *value, void *dest)                                        \
    {                                                                                         \
        return (call) == MIEN_OK;                                                             \
    }

OPT_OVER_LIB(profile, mien_profile_parse(value, dest))
OPT_OVER_LIB(consent, mien_consent_parse(value, dest))
OPT_OVER_LIB(review, mien_review_mode_parse(value, dest))
OPT_OVER_LIB(aggregate, mien_aggregate_parse(value, dest))
OPT_OVER_LIB(role, mien_role_parse(value, dest))
OPT_OVER_LIB(duration, mien_duration_parse(value, dest))
OPT_OVER_LIB(time_from, mien_time_parse(value, false, dest))
OPT_OVER_LIB(time_to, mien_time_parse(value, true, dest))

bool cli_is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

const cli_action *cli_action_find(const cli_action *actions, const char *name)
{
    for (; name != NULL && actions->name != NULL; actions++) {
        if (strcmp(actions->name, name) == 0) {
            return actions;
        }
    }
    return NULL;
}

int cli_run_action(const char *name, const cli_action *actions, int argc, char **argv,
                   void *args, size_t args_size)
{
    const cli_action *act = cli_action_find(actions, argc >= 2 ? argv[1] : NULL);
    bool help = argc >= 2 && cli_is_help(argv[1]);
    FILE *f = help ? stdout : stderr;
    if (act != NULL && act->run != NULL) {
        return act->run(argc - 1, argv + 1);
    }
    if (act != NULL) {
        assert(args != NULL && act->cmd != NULL);
        memset(args, 0, args_size);
        return cli_run_on_store(act->cmd, argc - 1, argv + 1, args, act->check, act->on_store);
    }
    if (argc >= 2 && !help) {
        fprintf(stderr, "mien %s: unknown action '%s'\n", name, argv[1]);
    }
    for (act = actions; act->name != NULL; act++) {
        fprintf(f, "%s mien ", act == actions ? "usage:" : "      ");
        if (act->cmd != NULL) {
            fprintf(f, "%s\n", act->cmd->synopsis);
        } else {
            fprintf(f, "%s %s [options] (mien %s %s --help)\n", name, act->name, name,
                    act->name);
        }
    }
    return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static bool at_end(const cli_opt *o)
{
    return o->name == NULL && o->include == NULL;
}

/* The entry of `name` in table t or a table it includes; *offset gets the destination's
 * offset in the argument struct. NULL when the command has no such option. */
static const cli_opt *find(const cli_opt *t, const char *name, size_t *offset)
{
    for (; !at_end(t); t++) {
        if (t->include != NULL) {
            size_t inner = 0;
            const cli_opt *o = find(t->include, name, &inner);
            if (o != NULL) {
                *offset = t->offset + inner;
                return o;
            }
        } else if (strcmp(t->name, name) == 0) {
            *offset = t->offset;
            return t;
        }
    }
    return NULL;
}

int cli_run_parsed(const cli_command *cmd, int argc, char **argv, void *args, cli_run run)
{
    int n_args, rc = cli_parse(cmd, argc, argv, args, &n_args);
    return rc == CLI_PARSED ? run(args, argv, n_args) : rc;
}

bool cli_opt_offset(const cli_command *cmd, const char *name, size_t *offset)
{
    return find(cmd->opts, name, offset) != NULL;
}

/* Whether every required option of table t is among seen[0..n); names the first missing. */
static bool has_required(const cli_command *cmd, const cli_opt *t, const cli_opt *const *seen,
                         int n)
{
    for (; !at_end(t); t++) {
        bool found = false;
        if (t->include != NULL) {
            if (!has_required(cmd, t->include, seen, n)) {
                return false;
            }
            continue;
        }
        for (int k = 0; k < n && !found; k++) {
            found = seen[k] == t;
        }
        if (t->required && !found) {
            fprintf(stderr, "mien %s: %s is required\n", cmd->name, t->name);
            return false;
        }
    }
    return true;
}

static bool takes_value(const cli_opt *o)
{
    return o->kind != CLI_OPT_FLAG && o->kind != CLI_OPT_SET;
}

static bool parse_double(const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (v[0] == '\0' || *end != '\0' || !(x >= lo && x <= hi)) {
        return false;
    }
    *out = x;
    return true;
}

static bool parse_choice(const cli_opt *o, const char *v, int *out)
{
    for (int k = 0; o->choices[k] != NULL; k++) {
        if (strcmp(o->choices[k], v) == 0) {
            *out = o->values != NULL ? o->values[k] : k;
            return true;
        }
    }
    return false;
}

/* Stores the value v (NULL for FLAG and SET) of option o at dest; false when v is not
 * acceptable. The switch has no default, so -Wswitch names a kind left out. */
static bool store(const cli_opt *o, const char *v, void *dest)
{
    switch (o->kind) {
    case CLI_OPT_FLAG:
        *(bool *)dest = true;
        return true;
    case CLI_OPT_SET:
        *(int *)dest = (int)o->lo;
        return true;
    case CLI_OPT_STRING:
        *(const char **)dest = v;
        return true;
    case CLI_OPT_INT:
        return cli_parse_int(v, (int)o->lo, (int)o->hi, (int *)dest);
    case CLI_OPT_DOUBLE:
        return parse_double(v, o->lo, o->hi, (double *)dest);
    case CLI_OPT_CHOICE:
        return parse_choice(o, v, (int *)dest);
    case CLI_OPT_CALL:
        return o->parse(v, dest);
    }
    return false;
}

/* What a bad value of o should have been, into out[cap]. */
static const char *wanted(const cli_opt *o, char *out, size_t cap)
{
    if (o->want != NULL) {
        return o->want;
    }
    if (o->kind == CLI_OPT_CHOICE) {
        size_t used = 0;
        out[0] = '\0';
        for (int k = 0; o->choices[k] != NULL && used < cap; k++) {
            used += (size_t)snprintf(out + used, cap - used, "%s%s", k ? "|" : "",
                                     o->choices[k]);
        }
        return out;
    }
    snprintf(out, cap, "%g..%g", o->lo, o->hi);
    return out;
}

/* Consumes the option at argv[*i] (and its value); returns its entry, or NULL, with the
 * problem printed, when it is unknown or its value is missing or bad. */
static const cli_opt *option(const cli_command *cmd, int argc, char **argv, int *i, char *args)
{
    const char *a = argv[*i], *v = NULL;
    size_t offset = 0;
    const cli_opt *o = find(cmd->opts, a, &offset);
    if (o == NULL) {
        fprintf(stderr, "mien %s: unexpected '%s'\n", cmd->name, a);
        return NULL;
    }
    if (takes_value(o)) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "mien %s: %s needs a value\n", cmd->name, a);
            return NULL;
        }
        v = argv[++(*i)];
    }
    if (!store(o, v, args + offset)) {
        char want[256];
        fprintf(stderr, "mien %s: %s wants %s, got '%s'\n", cmd->name, a,
                wanted(o, want, sizeof(want)), v);
        return NULL;
    }
    return o;
}

/* The column the help of an option starts at, and the width it is wrapped to (STYLE.md's
 * 100 columns, as the source). */
#define HELP_COLUMN 26
#define HELP_WIDTH 100

/* Prints `text` from column HELP_COLUMN, wrapped at spaces to HELP_WIDTH columns. */
static void print_wrapped(FILE *f, const char *text)
{
    int col = HELP_COLUMN;
    while (*text != '\0') {
        int word = (int)strcspn(text, " ");
        if (col > HELP_COLUMN && col + 1 + word > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        } else if (col > HELP_COLUMN) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", word, text);
        col += word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

/* Prints the options of table t, one a line (or more, wrapped). */
static void print_options(FILE *f, const cli_opt *t)
{
    for (; !at_end(t); t++) {
        char left[64];
        if (t->include != NULL) {
            print_options(f, t->include);
            continue;
        }
        snprintf(left, sizeof(left), "  %s%s%s", t->name, t->value ? " " : "",
                 t->value ? t->value : "");
        if (strlen(left) + 2 > HELP_COLUMN) {
            fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
        } else {
            fprintf(f, "%-*s", HELP_COLUMN, left);
        }
        print_wrapped(f, t->help != NULL ? t->help : "");
    }
}

void cli_usage(const cli_command *cmd, FILE *f)
{
    fprintf(f, "usage: mien %s\n", cmd->synopsis);
}

int cli_bad_usage(const cli_command *cmd)
{
    cli_usage(cmd, stderr);
    return CLI_EXIT_USAGE;
}

/* The most options one command line is checked for `required` against (more are parsed but
 * not remembered: no table requires that many). */
#define SEEN_MAX 64

int cli_parse(const cli_command *cmd, int argc, char **argv, void *args, int *n_args)
{
    const cli_opt *seen[SEEN_MAX];
    bool bad = false;
    int n = 0, n_seen = 0;
    *n_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            cli_usage(cmd, stdout);
            fprintf(stdout, "\noptions:\n");
            print_options(stdout, cmd->opts);
            return CLI_EXIT_OK;
        }
        if (a[0] == '-' && a[1] != '\0') {
            const cli_opt *o = option(cmd, argc, argv, &i, args);
            bad |= o == NULL;
            if (o != NULL && n_seen < SEEN_MAX) {
                seen[n_seen++] = o;
            }
        } else if (n == cmd->max_args) {
            fprintf(stderr, "mien %s: unexpected '%s'\n", cmd->name, a);
            bad = true;
        } else {
            argv[n++] = argv[i]; /* n < i: only arguments already read are overwritten */
        }
    }
    if (bad || n < cmd->min_args || !has_required(cmd, cmd->opts, seen, n_seen)) {
        return cli_bad_usage(cmd);
    }
    *n_args = n;
    return CLI_PARSED;
}
