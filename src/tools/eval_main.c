/* eval_main.c — `mien eval lfw|pairs|calibrate|fusion|flip|detection|lfw-1n|clustering|groups`:
 * measuring mien on labelled photos. The evaluations live in src/tools/, apart from the
 * operator's commands in src/cli/, but stay sub-commands of the one `mien` binary (tools.h
 * says why). This file dispatches and parses the options the sub-commands share (one table,
 * filtered per sub-command, read by cli's parser: opt.h); the work is in eval_lfw.c (lfw,
 * pairs), eval_calibrate.c (calibrate), eval_dev.c (fusion, flip), eval_detection.c
 * (detection), eval_lfw1n.c (lfw-1n, 1:N identification), eval_clustering.c (clustering),
 * eval_groups.c (groups), on top of eval_embed.c (the multi-threaded embedding pass),
 * eval_pairs.c (pair lists) and eval_metrics.c (the reference scorer's metrics). docs/cli.md
 * documents the commands, docs/calibration.md the tables. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eval.h"
#include "tools.h"

/* Every option of the eval sub-commands, with the EVAL_OPT_* flag that admits it (0: every
 * sub-command admits it); an entry names its eval_options field. */
#define EVAL_OPT(flag, name, kind, field, value, ...)                                         \
    {(flag), {(name), (kind), offsetof(eval_options, field), (value), __VA_ARGS__}}
static const struct {
    unsigned flag;
    cli_opt opt;
} eval_opts[] = {
    EVAL_OPT(EVAL_OPT_DATA, "--data", CLI_OPT_STRING, data_dir, "DIR",
             .help = "the data folder (default $MIEN_DATA, else ../shared/data)"),
    EVAL_OPT(EVAL_OPT_ROOT, "--root", CLI_OPT_STRING, root, "DIR",
             .help = "the folder the list's paths are relative to (default: the list's)"),
    {EVAL_OPT_PROFILE, CLI_OPT_PROFILE(eval_options, profile)},
    EVAL_OPT(EVAL_OPT_LIMIT_FOLDS, "--limit-folds", CLI_OPT_INT, limit_folds, "K",
             .help = "only the first K folds", .lo = 1, .hi = EVAL_MAX_FOLDS),
    EVAL_OPT(EVAL_OPT_ROC, "--roc", CLI_OPT_STRING, roc, "FILE.svg",
             .help = "also draw the ROC curve"),
    EVAL_OPT(EVAL_OPT_OUT, "--out", CLI_OPT_STRING, out, "FILE",
             .help = "write the tables there (default stdout)"),
    EVAL_OPT(0, "--threads", CLI_OPT_INT, threads, "N",
             .help = "worker threads (default: the online CPUs)", .lo = 1, .hi = 256),
    EVAL_OPT(0, "--models", CLI_OPT_STRING, models_dir, "DIR",
             .help = "the models folder (default $MIEN_MODELS, else ./models)"),
    EVAL_OPT(EVAL_OPT_CACHE, "--cache", CLI_OPT_STRING, cache, "FILE",
             .help = "keep the embeddings in FILE and reuse them (made when absent)"),
    EVAL_OPT(EVAL_OPT_METHOD, "--method", CLI_OPT_STRING, method, "NAME",
             .help = "the clustering method of the curve: chinese_whispers or components"),
    EVAL_OPT(EVAL_OPT_JSON, "--json", CLI_OPT_FLAG, json, NULL,
             .help = "the results as one JSON line"),
    EVAL_OPT(EVAL_OPT_AGGREGATE, "--enrol", CLI_OPT_STRING, enrol, "K",
             .help = "enrol each person's first K photos (1..3, or all: each K in turn)"),
    EVAL_OPT(EVAL_OPT_AGGREGATE, "--rule", CLI_OPT_STRING, rule, "R",
             .help = "how a subject's faces score together: best, mean, quality, top2, "
                     "default, or all"),
};

#define N_EVAL_OPTS (sizeof(eval_opts) / sizeof(eval_opts[0]))

/* The usage line of sub-command `cmd` with the options of its table, into out[cap]. */
static void synopsis(const char *cmd, const cli_opt *table, int n_pos, char *out, size_t cap)
{
    static const char *const pos[3] = {"", " LIST", " PAIRS GROUPS"};
    size_t used = (size_t)snprintf(out, cap, "eval %s%s", cmd, pos[n_pos]);
    for (; table->name != NULL && used < cap; table++) {
        used += (size_t)snprintf(out + used, cap - used, " [%s%s%s]", table->name,
                                 table->value ? " " : "", table->value ? table->value : "");
    }
}

int eval_parse_options(const char *cmd, int argc, char **argv, unsigned allowed,
                       eval_options *o)
{
    cli_opt table[N_EVAL_OPTS + 1];
    char name[64], usage[512];
    size_t n = 0;
    int n_args, rc;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n_pos = (allowed & EVAL_OPT_GROUPS) ? 2 : (allowed & EVAL_OPT_LIST) ? 1 : 0;
    for (size_t k = 0; k < N_EVAL_OPTS; k++) {
        if (eval_opts[k].flag == 0 || (allowed & eval_opts[k].flag)) {
            table[n++] = eval_opts[k].opt;
        }
    }
    table[n] = (cli_opt)CLI_OPT_END;
    snprintf(name, sizeof(name), "eval %s", cmd);
    synopsis(cmd, table, n_pos, usage, sizeof(usage));
    const cli_command command = {name, usage, table, n_pos, n_pos};
    memset(o, 0, sizeof(*o));
    o->profile = MIEN_PROFILE_FAST;
    o->threads = cpus >= 1 ? (cpus > 256 ? 256 : (int)cpus) : 1;
    o->limit_folds = EVAL_MAX_FOLDS;
    rc = cli_parse(&command, argc, argv, o, &n_args);
    if (rc == CLI_PARSED && n_pos > 0) {
        o->list = argv[0];
        o->groups = n_pos > 1 ? argv[1] : NULL;
    }
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool eval_find_lfw(const char *cmd, const char *dir, const char *file, char *out, size_t cap)
{
    const char *base = dir;
    if (base == NULL) {
        base = getenv("MIEN_DATA");
    }
    if (base == NULL || *base == '\0') {
        base = "../shared/data";
    }
    for (int k = 0; k < 2; k++) {
        char probe[4096];
        snprintf(out, cap, k == 0 ? "%s" : "%s/lfw", base);
        snprintf(probe, sizeof(probe), "%s/lfw_deepfunneled", out);
        if (!is_dir(probe)) {
            continue;
        }
        snprintf(probe, sizeof(probe), "%s/%s", out, file);
        if (is_file(probe)) {
            return true;
        }
    }
    fprintf(stderr,
            "mien eval %s: no LFW data: neither %s nor %s/lfw holds lfw_deepfunneled/ and %s "
            "(give --data DIR or set MIEN_DATA)\n",
            cmd, base, base, file);
    out[0] = '\0';
    return false;
}

mien_status eval_open_engine(const eval_options *o, mien_engine **out)
{
    cli_common c = {.models_dir = o->models_dir, .threads = 1};
    return cli_open_engine(&c, out);
}

#define EVAL_ENTRY(name, fn) CLI_ACTION(name, tools_eval_##fn, NULL),

int tools_cmd_eval(int argc, char **argv)
{
    static const cli_action subs[] = {EVAL_COMMANDS(EVAL_ENTRY) CLI_ACTIONS_END};
    return cli_run_action("eval", subs, argc, argv, NULL, 0);
}
