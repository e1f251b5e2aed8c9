/* synthetic.c — `mien collection import-synthetic NAME --count N [--seed S] [--store URI]
 * [--models DIR]`: FOR BENCHMARKS ONLY (bench/serve.sh). Fills collection NAME (which must
 * exist) with N synthetic subjects "synthetic-0000001"… each with one template of random unit
 * vectors, in the collection's profile and models. No photo is involved: the templates are
 * made by replacing the vectors of one real template (embedded from models/samples/sample1.jpg
 * to learn the byte layout) and read back with mien_template_deserialize. Synthetic faces
 * look like nobody (cosines near 0), so searches over them cost what a real gallery of that
 * size costs but return no candidates. Each enrolment is audited like any other, with the
 * purpose "evaluation" and the case "import-synthetic"; in a collection whose policy requires
 * consent the consent reference reads "synthetic: no person" (there is nobody to ask). Exit 0;
 * 1 on failure; 2 for bad usage. */
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

int tools_cmd_import_synthetic(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    const char *name = NULL, *store_uri = NULL;
    int count = 0, seed = 1;
    bool bad = false;
    mien_store *store = NULL;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t0 = NULL;
    mien_collection_info info;
    mien_face face;
    mien_error err;
    uint8_t *buf = NULL;
    size_t len = 0, offset[2] = {0, 0};
    int dims[2] = {0, 0}, parts = 0, rc = CLI_EXIT_FAIL;
    char sample[4096];
    cli_context cx;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad) ||
            cli_store_option(argc, argv, &i, &store_uri, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            bad |= !cli_parse_int(argv[++i], 1, 100000000, &count);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            bad |= !cli_parse_int(argv[++i], 1, 2000000000, &seed);
        } else if (argv[i][0] == '-' || name != NULL) {
            bad = true;
        } else {
            name = argv[i];
        }
    }
    if (bad || name == NULL || count == 0) {
        fprintf(stderr, "usage: mien collection import-synthetic NAME --count N [--seed S] "
                        "[--store URI] [--models DIR]   (for benchmarks only)\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_store(store_uri, &store) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    cli_context_init(&cx, "evaluation", "import-synthetic");
    mien_status st = mien_collection_get(store, name, &info, &err);
    if (st != MIEN_OK) {
        rc = cli_fail("collection import-synthetic", st, &err);
        goto done;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK ||
        mien_session_new(engine, &session, &err) != MIEN_OK) {
        goto done;
    }
    {
        const char *dir = c.models_dir != NULL ? c.models_dir : getenv("MIEN_MODELS");
        snprintf(sample, sizeof(sample), "%s/%s", dir != NULL && *dir ? dir : "models", SAMPLE);
    }
    if (cli_template_of(session, sample, -1, info.profile, &t0, &face) != MIEN_OK ||
        mien_template_serialize(t0, NULL, 0, &len) != MIEN_OK || (buf = malloc(len)) == NULL ||
        mien_template_serialize(t0, buf, len, &len) != MIEN_OK) {
        fprintf(stderr, "mien collection import-synthetic: cannot make a model template\n");
        goto done;
    }
    /* Where each part's vector lies in the serialised bytes. */
    for (; parts < 2; parts++) {
        const float *v;
        uint8_t *at;
        if (mien_template_vector(t0, parts, &v, &dims[parts]) != MIEN_OK) {
            break;
        }
        at = memmem(buf, len, v, (size_t)dims[parts] * sizeof(float));
        if (at == NULL) {
            fprintf(stderr, "mien collection import-synthetic: template layout not understood\n");
            goto done;
        }
        offset[parts] = (size_t)(at - buf);
    }
    uint64_t s = (uint64_t)seed * 0x9E3779B97F4A7C15ull;
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
            for (int p = 0; p < parts; p++) {
                float v[1024];
                double norm = 0;
                for (int d = 0; d < dims[p] && d < 1024; d++) {
                    v[d] = next_gauss(&s);
                    norm += (double)v[d] * v[d];
                }
                for (int d = 0; d < dims[p] && d < 1024; d++) {
                    v[d] = (float)(v[d] / sqrt(norm));
                }
                memcpy(buf + offset[p], v, (size_t)dims[p] * sizeof(float));
            }
            snprintf(subjects[n], sizeof(subjects[n]), "synthetic-%07d", k + 1);
            batch[n] = (mien_enrollment){.subject = subjects[n],
                                         .consent_ref = info.consent == MIEN_CONSENT_REQUIRED
                                                            ? "synthetic: no person"
                                                            : NULL};
            made[n] = NULL;
            st = mien_template_deserialize(buf, len, &made[n], &err);
            batch[n].template_ = made[n];
            if (st != MIEN_OK) {
                n++;
                break;
            }
        }
        if (st == MIEN_OK) {
            st = mien_enroll_batch(store, name, batch, (size_t)n, &cx.ctx, NULL, &err);
        }
        for (int j = 0; j < n; j++) {
            mien_template_free(made[j]);
        }
        if (st != MIEN_OK) {
            rc = cli_fail("collection import-synthetic", st, &err);
            goto done;
        }
    }
    printf("{\"collection\":\"%s\",\"imported\":%d,\"cpu_seconds\":%.1f}\n", name, count,
           (double)(clock() - t_start) / CLOCKS_PER_SEC);
    rc = CLI_EXIT_OK;
done:
    free(buf);
    mien_template_free(t0);
    mien_session_free(session);
    mien_engine_free(engine);
    mien_store_close(store);
    return rc;
}
