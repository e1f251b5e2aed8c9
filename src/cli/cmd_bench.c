/* cmd_bench.c — `mien bench models`: median latency of each model alone, on the fixed
 * pseudo-random inputs of the reference's bin/bench.js (so both time the same work):
 * element k is s_(k+1)/2^30 - 1 with s_0 = 1, s_i = (1103515245 s_(i-1) + 12345) mod 2^31. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static void fixed_input(float *x, size_t n)
{
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = (1103515245u * s + 12345u) & 0x7fffffffu;
        x[i] = (float)(s / 1073741824.0 - 1.0);
    }
}

/* Times one model: warmup runs, then `runs` timed ones; writes median and min in ms. */
static mien_status time_model(mien_session *s, const mien_model_info *m, int warmup, int runs,
                              double *median, double *min)
{
    size_t n = 1;
    float *x;
    double *t = malloc((size_t)runs * sizeof(*t));
    mien_error err;
    mien_status st = MIEN_OK;
    for (int i = 0; i < m->bench_rank; i++) {
        n *= (size_t)m->bench_dims[i];
    }
    x = malloc(n * sizeof(*x));
    if (x == NULL || t == NULL) {
        free(x);
        free(t);
        return MIEN_ERR_NOMEM;
    }
    fixed_input(x, n);
    for (int i = 0; i < warmup + runs && st == MIEN_OK; i++) {
        double t0 = mien_now_ms();
        st = mien_session_run_model(s, m->name, x, m->bench_dims, m->bench_rank, &err);
        if (i >= warmup) {
            t[i - warmup] = mien_now_ms() - t0;
        }
    }
    if (st != MIEN_OK) {
        fprintf(stderr, "mien bench: %s: %s\n", m->name, err.message);
    } else {
        qsort(t, (size_t)runs, sizeof(*t), cmp_double);
        *median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
        *min = t[0];
    }
    free(x);
    free(t);
    return st;
}

typedef struct bench_args {
    cli_common c;
    int runs, warmup;
    const char *only;
} bench_args;

static const cli_opt opts[] = {
    {"--runs", CLI_OPT_INT, offsetof(bench_args, runs), "N", .help = "timed runs (default 50)",
     .lo = 1, .hi = 1000000, .want = "a number"},
    {"--warmup", CLI_OPT_INT, offsetof(bench_args, warmup), "N",
     .help = "untimed runs first (default 10)", .lo = 0, .hi = 1000000, .want = "a number"},
    {"--model", CLI_OPT_STRING, offsetof(bench_args, only), "NAME",
     .help = "only this model (mien models lists them)"},
    CLI_OPTS_END_COMMON(bench_args),
};
static const cli_command models_cmd = {
    "bench models", "bench models [--runs N] [--warmup N] [--threads N] [--model NAME] [--json]",
    opts, 0, 0};

/* `bench models`: the median latency of each model on a fixed input. */
static int run_models(int argc, char **argv)
{
    bench_args o = {.c = {.threads = 1}, .runs = 50, .warmup = 10};
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    int n_args, rc = cli_parse(&models_cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = CLI_EXIT_OK;
    if (cli_open_session(&o.c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (!o.c.json) {
        printf("%-10s %-16s %10s %10s %6s %8s\n", "model", "input", "median ms", "min ms",
               "runs", "threads");
    }
    for (size_t i = 0; i < mien_engine_model_count(engine); i++) {
        mien_model_info m;
        double median = 0, min = 0;
        if (mien_engine_model_info(engine, i, &m) != MIEN_OK ||
            (o.only != NULL && strcmp(o.only, m.name) != 0)) {
            continue;
        }
        if (time_model(session, &m, o.warmup, o.runs, &median, &min) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        if (o.c.json) {
            printf("{\"model\":\"%s\",\"ms_median\":%.4f,\"ms_min\":%.4f,\"runs\":%d,"
                   "\"threads\":%d,\"precision\":\"%s\",",
                   m.name, median, min, o.runs, o.c.threads,
                   mien_precision_name(mien_engine_precision(engine)));
            cli_kernels_json(stdout, &m);
            printf("}\n");
        } else {
            char shape[64];
            int used = 0;
            for (int d = 0; d < m.bench_rank; d++) {
                used += snprintf(shape + used, sizeof(shape) - (size_t)used, "%s%lld",
                                 d ? "x" : "", (long long)m.bench_dims[d]);
            }
            printf("%-10s %-16s %10.3f %10.3f %6d %8d\n", m.name, shape, median, min, o.runs,
                   o.c.threads);
        }
        fflush(stdout);
    }
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}

int cli_cmd_bench(int argc, char **argv)
{
    static const cli_action actions[] = {
        CLI_ACTION("models", run_models, &models_cmd),
        CLI_ACTIONS_END,
    };
    return cli_run_action("bench", actions, argc, argv, NULL, 0);
}
