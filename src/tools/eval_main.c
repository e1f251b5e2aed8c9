/* eval_main.c — `mien eval lfw|pairs|calibrate|fusion|flip`: measuring mien on labelled face
 * pairs. This file dispatches and parses the options the sub-commands share; the work is in
 * eval_lfw.c (lfw, pairs), eval_calibrate.c (calibrate), eval_dev.c (fusion, flip), on top of
 * eval_embed.c (the multi-threaded embedding pass) and eval_metrics.c (the reference
 * scorer's metrics); eval_lfw1n.c runs lfw-1n (1:N identification). docs/cli.md documents
 * the commands, docs/calibration.md the tables. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eval.h"
#include "tools.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mien eval lfw [--data DIR] [--profile fast|accurate] [--threads N]\n"
            "                     [--limit-folds K] [--roc FILE.svg] [--json]\n"
            "       mien eval pairs LIST [--root DIR] [--profile P] [--threads N] [--roc FILE]"
            " [--json]\n"
            "       mien eval calibrate [--data DIR] [--threads N] [--out FILE]\n"
            "       mien eval fusion [--data DIR] [--threads N]\n"
            "       mien eval flip [--data DIR] [--threads N]\n"
            "       mien eval detection [--data DIR] [--small-faces] [--json]\n"
            "       mien eval lfw-1n [--data DIR] [--profile P] [--threads N] [--json]\n"
            "(--models DIR everywhere; --threads defaults to the number of online CPUs)\n");
}

double eval_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool eval_parse_options(const char *cmd, int argc, char **argv, unsigned allowed,
                        eval_options *o)
{
    static const struct {
        const char *name;
        unsigned flag;
    } valued[] = {
        {"--data", EVAL_OPT_DATA},        {"--root", EVAL_OPT_ROOT},
        {"--roc", EVAL_OPT_ROC},          {"--out", EVAL_OPT_OUT},
        {"--profile", EVAL_OPT_PROFILE},  {"--limit-folds", EVAL_OPT_LIMIT_FOLDS},
        {"--models", ~0u},                {"--threads", ~0u},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    bool ok = true;
    memset(o, 0, sizeof(*o));
    o->profile = MIEN_PROFILE_FAST;
    o->threads = cpus >= 1 ? (cpus > 256 ? 256 : (int)cpus) : 1;
    o->limit_folds = EVAL_MAX_FOLDS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        unsigned flag = 0;
        for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
            if (strcmp(a, valued[k].name) == 0) {
                flag = valued[k].flag;
            }
        }
        if (flag != 0) {
            if (!(allowed & flag)) {
                fprintf(stderr, "mien eval %s: %s is not an option of this command\n", cmd, a);
                ok = false;
                i += i + 1 < argc ? 1 : 0;
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "mien eval %s: %s needs a value\n", cmd, a);
                ok = false;
                continue;
            }
            v = argv[++i];
        }
        if (strcmp(a, "--json") == 0 && (allowed & EVAL_OPT_JSON)) {
            o->json = true;
        } else if (strcmp(a, "--models") == 0) {
            o->models_dir = v;
        } else if (strcmp(a, "--threads") == 0) {
            if (!cli_parse_int(v, 1, 256, &o->threads)) {
                fprintf(stderr, "mien eval %s: --threads wants 1..256, got '%s'\n", cmd, v);
                ok = false;
            }
        } else if (strcmp(a, "--data") == 0 && v != NULL) {
            o->data_dir = v;
        } else if (strcmp(a, "--root") == 0 && v != NULL) {
            o->root = v;
        } else if (strcmp(a, "--roc") == 0 && v != NULL) {
            o->roc = v;
        } else if (strcmp(a, "--out") == 0 && v != NULL) {
            o->out = v;
        } else if (strcmp(a, "--profile") == 0 && v != NULL) {
            if (!cli_parse_profile(v, &o->profile)) {
                fprintf(stderr, "mien eval %s: --profile is fast or accurate, not '%s'\n", cmd,
                        v);
                ok = false;
            }
        } else if (strcmp(a, "--limit-folds") == 0 && v != NULL) {
            if (!cli_parse_int(v, 1, EVAL_MAX_FOLDS, &o->limit_folds)) {
                fprintf(stderr, "mien eval %s: --limit-folds wants 1..%d, got '%s'\n", cmd,
                        EVAL_MAX_FOLDS, v);
                ok = false;
            }
        } else if (flag == 0 && a[0] != '-' && (allowed & EVAL_OPT_LIST) && o->list == NULL) {
            o->list = a;
        } else if (flag == 0) {
            fprintf(stderr, "mien eval %s: unexpected '%s'\n", cmd, a);
            ok = false;
        }
    }
    if (ok && (allowed & EVAL_OPT_LIST) && o->list == NULL) {
        fprintf(stderr, "mien eval %s: which pair list?\n", cmd);
        ok = false;
    }
    return ok;
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

int tools_cmd_eval(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } subs[] = {
        {"lfw", tools_eval_lfw},       {"pairs", tools_eval_pairs}, {"calibrate", tools_eval_calibrate},
        {"fusion", tools_eval_fusion}, {"flip", tools_eval_flip},
        {"detection", tools_eval_detection}, {"lfw-1n", tools_eval_lfw1n},
    };
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
        if (strcmp(argv[1], subs[k].name) == 0) {
            return subs[k].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "mien eval: unknown evaluation '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
