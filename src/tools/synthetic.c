/* synthetic.c — `mien collection import-synthetic NAME --count N [--seed S] [--store URI]
 * [--models DIR]`: FOR BENCHMARKS ONLY (bench/serve.sh), hence in src/tools/ (tools.h).
 * Fills collection NAME (which must exist) with N synthetic subjects "synthetic-0000001"…
 * each with one template of random unit vectors, in the collection's profile and models. No
 * photo is involved: the templates are made by replacing the vectors of one real template
 * (embedded from models/samples/sample1.jpg to learn the byte layout) and read back with
 * mien_template_deserialize. Synthetic faces look like nobody (cosines near 0), so searches
 * over them cost what a real gallery of that size costs but return no candidates. Each
 * enrolment is audited like any other, with the purpose "evaluation" and the case
 * "import-synthetic"; in a collection whose policy requires consent the consent reference
 * reads "synthetic: no person" (there is nobody to ask). Exit 0; 1 on failure; 2 for bad
 * usage. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cli/cli.h"
#include "tools.h"

#define SAMPLE "samples/sample1.jpg" /* inside the models folder (scripts/setup) */

/* xorshift64*: reproducible random numbers for a given --seed. */
static uint64_t next_u64(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static float next_gauss(uint64_t *s)
{
    double u1 = ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(next_u64(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

typedef struct synthetic_args {
    cli_common c;
    const char *store;
    int count, seed;
} synthetic_args;

static const cli_opt opts[] = {
    {"--count", CLI_OPT_INT, offsetof(synthetic_args, count), "N",
     .help = "how many synthetic subjects", .lo = 1, .hi = 100000000, .required = true},
    {"--seed", CLI_OPT_INT, offsetof(synthetic_args, seed), "S",
     .help = "the random seed (default 1)", .lo = 1, .hi = 2000000000},
    CLI_OPTS_END_STORE(synthetic_args),
};
static const cli_command cmd = {"collection import-synthetic",
                                "collection import-synthetic NAME --count N [--seed S] "
                                "[--store URI] [--models DIR]   (for benchmarks only)",
                                opts, 1, 1};

/* A real template's serialised bytes and where each part's vector lies in them. */
typedef struct layout {
    uint8_t *buf; /* owned */
    size_t len;
    size_t offset[2];
    int dims[2], parts;
} layout;

/* Embeds the models folder's sample photo with `profile` and finds its vectors in the
 * serialised template. Returns MIEN_OK with *l filled (l->buf for the caller to free), or
 * a failure, printed. */
static mien_status learn_layout(const cli_common *c, mien_profile profile, layout *l)
{
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t0 = NULL;
    mien_face face;
    char sample[4096];
    mien_status st = MIEN_ERR_IO;
    memset(l, 0, sizeof(*l));
    if (cli_open_session(c, &engine, &session) != MIEN_OK) {
        goto done;
    }
    {
        snprintf(sample, sizeof(sample), "%s/%s", cli_models_dir(c->models_dir), SAMPLE);
    }
    if (cli_template_of(session, sample, -1, profile, &t0, &face) != MIEN_OK ||
        mien_template_serialize(t0, NULL, 0, &l->len) != MIEN_OK ||
        (l->buf = malloc(l->len)) == NULL ||
        mien_template_serialize(t0, l->buf, l->len, &l->len) != MIEN_OK) {
        fprintf(stderr, "mien collection import-synthetic: cannot make a model template\n");
        goto done;
    }
    /* Where each part's vector lies in the serialised bytes. */
    for (; l->parts < 2; l->parts++) {
        const float *v;
        uint8_t *at;
        if (mien_template_vector(t0, l->parts, &v, &l->dims[l->parts]) != MIEN_OK) {
            break;
        }
        at = memmem(l->buf, l->len, v, (size_t)l->dims[l->parts] * sizeof(float));
        if (at == NULL) {
            fprintf(stderr, "mien collection import-synthetic: template layout not understood\n");
            goto done;
        }
        l->offset[l->parts] = (size_t)(at - l->buf);
    }
    st = MIEN_OK;
done:
    mien_template_free(t0);
    mien_session_free(session);
    mien_engine_free(engine);
    return st;
}

/* Writes random unit vectors into each part of the template bytes l->buf. */
static void randomise(layout *l, uint64_t *s)
{
    for (int p = 0; p < l->parts; p++) {
        float v[1024];
        double norm = 0;
        int dims = l->dims[p] < 1024 ? l->dims[p] : 1024; /* today's embedders: 192, 512 */
        for (int d = 0; d < dims; d++) {
            v[d] = next_gauss(s);
            norm += (double)v[d] * v[d];
        }
        for (int d = 0; d < dims; d++) {
            v[d] = (float)(v[d] / sqrt(norm));
        }
        memcpy(l->buf + l->offset[p], v, (size_t)dims * sizeof(float));
    }
}

/* Enrols `count` synthetic subjects into collection `name` (described by *info). Returns the
 * exit code (a failure printed). */
static int import(mien_store *store, const char *name, const mien_collection_info *info,
                  layout *l, int count, int seed, const mien_context *ctx)
{
    uint64_t s = (uint64_t)seed * 0x9E3779B97F4A7C15ull;
    mien_status st = MIEN_OK;
    mien_error err;
    clock_t t_start = clock();
    /* Batches of BATCH enrolments per transaction: a commit per face would cost a disk sync
     * each (mien_enroll_batch). */
    enum { BATCH = 1000 };
    static char subjects[BATCH][32];
    static mien_enrollment batch[BATCH];
    static mien_template *made[BATCH];
    for (int k = 0; k < count;) {
        int n = 0;
        for (; n < BATCH && k < count; n++, k++) {
            randomise(l, &s);
            snprintf(subjects[n], sizeof(subjects[n]), "synthetic-%07d", k + 1);
            batch[n] = (mien_enrollment){.subject = subjects[n],
                                         .consent_ref = info->consent == MIEN_CONSENT_REQUIRED
                                                            ? "synthetic: no person"
                                                            : NULL};
            made[n] = NULL;
            st = mien_template_deserialize(l->buf, l->len, &made[n], &err);
            batch[n].template_ = made[n];
            if (st != MIEN_OK) {
                n++;
                break;
            }
        }
        if (st == MIEN_OK) {
            st = mien_enroll_batch(store, name, batch, (size_t)n, ctx, NULL, &err);
        }
        for (int j = 0; j < n; j++) {
            mien_template_free(made[j]);
        }
        if (st != MIEN_OK) {
            return cli_fail("collection import-synthetic", st, &err);
        }
    }
    printf("{\"collection\":\"%s\",\"imported\":%d,\"cpu_seconds\":%.1f}\n", name, count,
           (double)(clock() - t_start) / CLOCKS_PER_SEC);
    return CLI_EXIT_OK;
}

int tools_cmd_import_synthetic(int argc, char **argv)
{
    synthetic_args o = {.c = {.threads = 1}, .seed = 1};
    mien_store *store = NULL;
    mien_collection_info info;
    mien_error err;
    layout l = {0};
    cli_context cx;
    int n_args, rc = cli_parse_open_store(&cmd, argc, argv, &o, NULL, &n_args, &store);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = CLI_EXIT_FAIL;
    cli_context_init(&cx, "evaluation", "import-synthetic");
    mien_status st = mien_collection_get(store, argv[0], &info, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("collection import-synthetic", st, &err);
    } else if (learn_layout(&o.c, info.profile, &l) == MIEN_OK) {
        rc = import(store, argv[0], &info, &l, o.count, o.seed, &cx.ctx);
    }
    free(l.buf);
    mien_store_close(store);
    return rc;
}
