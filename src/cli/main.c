/* main.c — `mien`: dispatch to one sub-command per file (cmd_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../tools/tools.h"

static void usage(FILE *f)
{
    fprintf(f,
            "mien %s — open, self-hosted face recognition\n"
            "\n"
            "usage: mien COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  models [--json]                          list the models, with provenance\n"
            "  bench models [--runs N] [--threads N] [--json]\n"
            "                                           median latency of each model\n"
            "  detect IMAGE|DIR... [--small-faces] [--min-score S] [--draw OUT] [--json]\n"
            "                                           faces: box, landmarks, quality\n"
            "  embed IMAGE|DIR... [--profile fast|accurate] [--face N] [--json]\n"
            "                                           the template of a face\n"
            "  compare A B [--face-a N] [--face-b N] [--profile P] [--fmr F] [--json]\n"
            "                                           same person? A's face against B's best\n"
            "  group IMAGE|DIR... | --from-dir DIR [--fmr F] [--profile P] [--json | --csv]\n"
            "                                           which faces are the same person\n"
            "  collection create NAME --purpose P[,P...] --legal-basis TEXT\n"
            "             [--consent required|not-needed] [--retention 365d|12h|3600s]\n"
            "             [--review one|two-person|none] [--verification-only]\n"
            "             [--profile P] [--description TEXT]\n"
            "  collection list | info NAME | drop NAME  manage the collections of a store\n"
            "  enroll COLL --subject ID [--face N] [--force] [--crops] IMAGE|DIR...\n"
            "  enroll COLL --from-dir DIR [--force] [--crops] [--threads N]\n"
            "         (both [--consent REF] [--expires DATE|+30d])\n"
            "                                           enrol faces (one folder per subject)\n"
            "  search COLL IMAGE --purpose P --case-ref REF [--top K] [--fmr F] [--json]\n"
            "                                           ranked candidates for review\n"
            "  identify COLL IMAGE|DIR... --purpose P --case-ref REF [--json | --csv]\n"
            "                                           who is in these photos: every face\n"
            "                                           labelled (first candidate or unknown)\n"
            "  verify COLL --subject ID IMAGE --purpose P [--case-ref REF] [--fmr F]\n"
            "                                           1:1 against an enrolled subject\n"
            "  review ID [confirm RANK | reject] [--reviewer NAME] [--note TEXT]\n"
            "                                           show or decide a search's review\n"
            "  subjects COLL [--json]                   the subjects of a collection\n"
            "  erase COLL --subject ID [--json]         erase a subject; prints the receipt\n"
            "  move COLL --face ID --to SUBJECT [--json]\n"
            "                                           give a face to another subject\n"
            "  purge [--json]                           erase the subjects whose retention ended\n"
            "  audit verify [--json] | export [--from T] [--to T]\n"
            "                                           check the audit chain / JSON lines\n"
            "  serve [--listen HOST:PORT] [--workers N] [--queue N] [--max-body BYTES]\n"
            "        [--timeout S] [--web DIR] [--bootstrap-admin] [--key-file PATH]\n"
            "        [--compare-purposes P,P] [--group-purposes P,P] [--purge-interval S]\n"
            "        [--print-routes]\n"
            "                                           the HTTP API and web page\n"
            "  keys create --role admin|enrol|search|review|audit [--label TEXT] | list |\n"
            "       revoke ID                           API keys for mien serve (shown once)\n"
            "  keys aws [KEY|-]                         a key's AWS credentials (the whole key)\n"
            "  keys rotate-data                         re-encrypt templates under a new key\n"
            "  migrate --from URI --to URI [--from-key-file PATH] [--to-key-file PATH]\n"
            "          [--force] [--json]               copy a whole store into an empty one\n"
            "                                           (SQLite to PostgreSQL), then verify it\n"
            "  eval lfw [--data DIR] [--profile P] [--limit-folds K] [--roc FILE.svg] [--json]\n"
            "                                           LFW 10-fold accuracy, TAR@FAR, timings\n"
            "  eval pairs LIST [--root DIR] [--profile P] [--roc FILE.svg] [--json]\n"
            "                                           the same for any pair list\n"
            "  eval calibrate [--data DIR] [--out FILE] FMR calibration tables (C source)\n"
            "  eval fusion|flip [--data DIR]            fusion weight / flip experiments\n"
            "  eval detection [--data DIR] [--small-faces] [--json]\n"
            "                                           detection recall, false positives,\n"
            "                                           landmark error (dlib VOC photos)\n"
            "  eval lfw-1n [--data DIR] [--profile P] [--json]\n"
            "                                           LFW 1:N: rank-1, FNIR@FPIR=1e-2\n"
            "  eval clustering [--data DIR] [--profile P] [--cache FILE] [--method M]\n"
            "                                           grouping all of LFW: BCubed, pairwise F\n"
            "\n"
            "common options: --models DIR (default $MIEN_MODELS, else ./models, else the\n"
            "                installed ones: %s), --threads N,\n"
            "                --json; gallery commands: --store URI (sqlite:PATH, PATH or\n"
            "                postgresql://USER@HOST:PORT/DB; default\n"
            "                $MIEN_STORE, else ./mien.db; its key file: $MIEN_KEY_FILE, else\n"
            "                the database path + .key)\n"
            "\n"
            "exit codes: 0 success, 1 failure, 2 bad usage, 3 refused by a collection's rules\n"
            "            (purpose, mode, consent, review), 4 audit log altered or truncated\n"
            "\n"
            "mien COMMAND --help (or mien help COMMAND [ACTION]): a command's options\n",
            MIEN_VERSION_STRING, cli_installed_models_dir);
}

bool cli_apply_max_isa(mien_isa *level)
{
    const char *name = getenv("MIEN_MAX_ISA");
    mien_isa cap = MIEN_ISA_NATIVE;
    mien_error err;
    *level = MIEN_ISA_NATIVE;
    if (name == NULL || name[0] == '\0') {
        return true;
    }
    if (mien_isa_parse(name, &cap, &err) != MIEN_OK || mien_set_max_isa(cap, &err) != MIEN_OK) {
        fprintf(stderr, "mien: MIEN_MAX_ISA: %s\n", err.message);
        return false;
    }
    *level = cap;
    return true;
}

/* Prints a plan's step timings to stderr ($MIEN_PROFILE set): one line per step with its
 * mean time, operator, input shape, node and kernel. */
static void print_profile(void *ctx, const mien_plan_profile *p)
{
    double total = 0.0;
    (void)ctx;
    for (int k = 0; k < p->n_steps; k++) {
        total += p->steps[k].ms;
    }
    fprintf(stderr, "profile: %d steps, %ld runs, %.3f ms per run\n", p->n_steps, p->runs,
            total);
    for (int k = 0; k < p->n_steps; k++) {
        const mien_step_time *s = &p->steps[k];
        fprintf(stderr, "  %3d %8.4f ms  %-12s %-24s %-28s %s\n", k, s->ms, s->op, s->dims,
                s->node, s->kernel);
    }
}

const char *cli_models_dir(const char *given)
{
    const char *env = getenv("MIEN_MODELS");
    struct stat sb;
    if (given != NULL) {
        return given;
    }
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    /* the tree's (scripts/setup) wins over an installed copy, as in a source checkout */
    if (stat("models", &sb) == 0 && S_ISDIR(sb.st_mode)) {
        return "models";
    }
    return cli_installed_models_dir;
}

bool cli_engine_options(const cli_common *c, mien_engine_options *opt)
{
    const char *precision = getenv("MIEN_PRECISION");
    mien_error err;
    *opt = mien_engine_options_default();
    opt->models_dir = cli_models_dir(c->models_dir);
    opt->threads = c->threads;
    if (mien_precision_parse(precision, &opt->precision, &err) != MIEN_OK) {
        fprintf(stderr, "mien: MIEN_PRECISION: %s\n", err.message);
        return false;
    }
    if (getenv("MIEN_PROFILE") != NULL) {
        opt->profile = print_profile;
    }
    return true;
}

mien_status cli_open_engine(const cli_common *c, mien_engine **out)
{
    mien_engine_options opt;
    mien_error err;
    mien_status st;
    if (!cli_engine_options(c, &opt)) {
        return MIEN_ERR_ARG;
    }
    st = mien_engine_new(&opt, out, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien: cannot load the models: %s (%s)\n", err.message,
                mien_strerror(st));
    }
    return st;
}

void cli_kernels_json(FILE *f, const mien_model_info *m)
{
    fprintf(f, "\"isa\":\"%s\",\"backend_isa\":\"%s\",\"steps\":%d,\"ref_steps\":%d,"
               "\"ref_kernels\":",
            mien_isa_name(mien_isa_active()), m->backend_isa, m->steps, m->ref_steps);
    cli_json_string(f, m->ref_kernels);
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            fputc(ch, f);
        }
    }
    fputc('"', f);
}

/* `mien --version [--json]`: the version and the ISA levels. The ISA lines (or --json) tell
 * scripts which levels this CPU can run: make test-isa skips a level above "isa-cpu". The cap
 * is applied first, so "active" is what a command run with the same environment gets;
 * "isa-cap" is $MIEN_MAX_ISA's level by its canonical name ("native" when unset). */
static int print_version(bool json, mien_isa level)
{
    const char *cap = getenv("MIEN_MAX_ISA");
    bool capped = cap != NULL && cap[0] != '\0';
    if (json) {
        printf("{\"version\":\"%s\",\"isa_cpu\":\"%s\",\"isa_active\":\"%s\","
               "\"isa_cap\":\"%s\",\"max_isa\":",
               MIEN_VERSION_STRING, mien_isa_name(mien_isa_cpu()),
               mien_isa_name(mien_isa_active()), mien_isa_name(level));
        if (capped) {
            cli_json_string(stdout, cap);
        } else {
            printf("null");
        }
        printf("}\n");
        return CLI_EXIT_OK;
    }
    printf("mien %s\n", MIEN_VERSION_STRING);
    printf("ISA: CPU %s, active %s (%s%s); oneDNN %s (its ISA per model: mien models)\n",
           mien_isa_name(mien_isa_cpu()), mien_isa_name(mien_isa_active()),
           capped ? "MIEN_MAX_ISA=" : "no MIEN_MAX_ISA", capped ? cap : "",
           level == MIEN_ISA_NATIVE ? "uncapped, AMX included where present"
           : level == MIEN_ISA_C    ? "capped at sse41, its lowest"
                                    : "capped at the same level");
    printf("isa-cpu: %s\nisa-active: %s\nisa-cap: %s\n", mien_isa_name(mien_isa_cpu()),
           mien_isa_name(mien_isa_active()), mien_isa_name(level));
    return CLI_EXIT_OK;
}

#define COMMAND_ENTRY(name) CLI_ACTION(#name, cli_cmd_##name, NULL),
static const cli_action commands[] = {
    CLI_COMMANDS(COMMAND_ENTRY) CLI_ACTION("eval", tools_cmd_eval, NULL),
    CLI_ACTIONS_END,
};

/* Whether a command's errors should come as JSON: --json among its arguments, for any
 * command but `serve` (a server logs to stderr while it runs) and `eval` (hours of progress
 * on stderr, which run_json would hold back until the end). */
static bool json_errors(int argc, char **argv)
{
    if (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "eval") == 0) {
        return false;
    }
    for (int k = 2; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0) {
            return true;
        }
    }
    return false;
}

/* The first line of `text` that says what went wrong: not a usage line, not the note about a
 * created key file; without its "mien CMD: " prefix. Into out[cap]. */
static void first_problem(const char *text, char *out, size_t cap)
{
    out[0] = '\0';
    while (*text != '\0') {
        size_t len = strcspn(text, "\n");
        const char *colon = memchr(text, ':', len);
        bool ours = strncmp(text, "mien", 4) == 0 && colon != NULL;
        if (ours && strncmp(text, "mien: created key file", 22) != 0) {
            const char *m = colon + 1 + (colon[1] == ' ');
            snprintf(out, cap, "%.*s", (int)(len - (size_t)(m - text)), m);
            return;
        }
        if (out[0] == '\0' && strncmp(text, "usage:", 6) != 0 && len > 0) {
            snprintf(out, cap, "%.*s", (int)len, text);
        }
        text += len + (text[len] == '\n');
    }
}

/* Runs cmd with its stderr kept in a temporary file; once it has run, copies that to the real
 * stderr (a person watching still reads it) and, when it failed, prints one JSON object on
 * stdout: {"error":{"status":HTTP,"code":"...","message":"...","exit":N}}, the status and code
 * those of the HTTP API for the same failure (mien_http_status; bad usage is 400). */
static int run_json(const cli_action *cmd, int argc, char **argv)
{
    FILE *log = tmpfile();
    int saved = log != NULL ? dup(STDERR_FILENO) : -1;
    int rc, status;
    const char *code = NULL;
    char *text = NULL, message[1024];
    long n;
    if (saved < 0 || dup2(fileno(log), STDERR_FILENO) < 0) {
        if (log != NULL) {
            fclose(log);
        }
        return cmd->run(argc - 1, argv + 1); /* no temporary file: errors stay text */
    }
    rc = cmd->run(argc - 1, argv + 1);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = ftell(log);
    text = n >= 0 ? calloc((size_t)n + 1, 1) : NULL;
    rewind(log);
    if (text != NULL && fread(text, 1, (size_t)n, log) == (size_t)n) {
        fputs(text, stderr);
    }
    fclose(log);
    if (rc != CLI_EXIT_OK && rc != CLI_EXIT_TAMPERED) { /* a broken chain is a --json answer */
        mien_status st = cli_last_status();
        status = rc == CLI_EXIT_USAGE       ? mien_http_status(MIEN_ERR_ARG, &code)
                 : rc == CLI_EXIT_FORBIDDEN ? mien_http_status(MIEN_ERR_FORBIDDEN, &code)
                 : st != MIEN_OK            ? mien_http_status(st, &code)
                                            : mien_http_status(MIEN_ERR_INTERNAL, &code);
        first_problem(text != NULL ? text : "", message, sizeof(message));
        printf("{\"error\":{\"status\":%d,\"code\":\"%s\",\"message\":", status, code);
        cli_json_string(stdout, message[0] ? message : mien_strerror(st));
        printf(",\"exit\":%d}}\n", rc);
    }
    free(text);
    return rc;
}

/* `mien help COMMAND [ACTION]` is `mien COMMAND [ACTION] --help`. */
static int help_of(int argc, char **argv)
{
    char *args[4] = {argv[2], argc > 3 ? argv[3] : "--help", "--help", NULL};
    const cli_action *cmd = cli_action_find(commands, argv[2]);
    if (cmd == NULL) {
        fprintf(stderr, "mien: unknown command '%s' (try mien --help)\n", argv[2]);
        return CLI_EXIT_USAGE;
    }
    return cmd->run(argc > 3 ? 3 : 2, args);
}

int main(int argc, char **argv)
{
    const cli_action *cmd;
    mien_isa level;
    if (argc >= 3 && strcmp(argv[1], "help") == 0) {
        return help_of(argc, argv);
    }
    if (argc < 2 || cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!cli_apply_max_isa(&level)) {
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        return print_version(argc > 2 && strcmp(argv[2], "--json") == 0, level);
    }
    cmd = cli_action_find(commands, argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "mien: unknown command '%s' (try mien --help)\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return json_errors(argc, argv) ? run_json(cmd, argc, argv) : cmd->run(argc - 1, argv + 1);
}
