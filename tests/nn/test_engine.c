/* test_engine.c — the public engine/session API: loading, errors a user can cause, the
 * embedders against ONNX Runtime on real aligned faces, and no allocation per inference. */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static mien_engine *open_engine(const char *dir, mien_error *err)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *e = NULL;
    opt.models_dir = dir;
    if (mien_engine_new(&opt, &e, err) != MIEN_OK) {
        return NULL;
    }
    return e;
}

TEST(engine_catalogue)
{
    mien_error err;
    mien_engine *e;
    mien_model_info m;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    e = open_engine(test_models_dir(), &err);
    if (e == NULL) {
        TEST_FAIL_("engine: %s", err.message);
    }
    ASSERT_EQ_INT(mien_engine_model_count(e), 6);
    ASSERT_OK(mien_engine_model_info(e, 0, &m), NULL);
    ASSERT_STR_EQ(m.name, "detector");
    ASSERT_STR_EQ(m.sha256, "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854");
    /* DESIGN.md §4: UltraFace 100 M MACs, O-Net 12.9 M, A 234 M, B 221 M */
    ASSERT_NEAR((double)m.macs / 1e6, 100.4, 1.0);
    ASSERT_OK(mien_engine_model_info(e, 4, &m), NULL);
    ASSERT_STR_EQ(m.name, "embedderA");
    ASSERT_NEAR((double)m.macs / 1e6, 234.1, 1.0);
    ASSERT_EQ_INT(m.inputs[0].dims[0], -1); /* batch is free */
    ASSERT_EQ_INT(m.outputs[0].dims[1], 192);
    ASSERT_STATUS(mien_engine_model_info(e, 6, &m), MIEN_ERR_ARG, NULL);
    ASSERT_TRUE(m.name == NULL);
    mien_engine_free(e);
    mien_engine_free(NULL);
    return 0;
}

TEST(engine_missing_models_dir)
{
    mien_error err;
    mien_engine *e = (mien_engine *)1;
    mien_engine_options opt = mien_engine_options_default();
    opt.models_dir = "/nonexistent/mien-models";
    ASSERT_STATUS(mien_engine_new(&opt, &e, &err), MIEN_ERR_IO, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_CONTAINS(err.message, "/nonexistent/mien-models");
    ASSERT_STATUS(mien_engine_new(&opt, NULL, &err), MIEN_ERR_ARG, &err);
    opt.threads = -3;
    ASSERT_STATUS(mien_engine_new(&opt, &e, &err), MIEN_ERR_ARG, &err);
    return 0;
}

/* A models folder of links to the real files, with `file` replaced by `bytes`. */
static int make_models_dir(char *dir, size_t size, const char *file, const void *bytes,
                           size_t n)
{
    static const char *files[] = {"fr_detect.onnx", "fr_feature.onnx", "onet.tflite",
                                  "pnet.tflite",    "rnet.tflite",     "MobileFaceNet.tflite"};
    char src[PATH_MAX], real[PATH_MAX], dst[PATH_MAX + 64];
    snprintf(dir, size, "/tmp/mien-test-models-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
        if (strcmp(files[i], file) == 0) {
            FILE *f = fopen(dst, "wb");
            if (f == NULL || fwrite(bytes, 1, n, f) != n) {
                if (f != NULL) {
                    fclose(f);
                }
                return -1;
            }
            fclose(f);
        } else {
            snprintf(src, sizeof(src), "%s/%s", test_models_dir(), files[i]);
            if (realpath(src, real) == NULL || symlink(real, dst) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static void remove_models_dir(const char *dir)
{
    static const char *files[] = {"fr_detect.onnx", "fr_feature.onnx", "onet.tflite",
                                  "pnet.tflite",    "rnet.tflite",     "MobileFaceNet.tflite"};
    char p[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

TEST(engine_bad_model_files)
{
    char dir[64], path[PATH_MAX];
    unsigned char *bytes, *fancy;
    size_t size, fancy_size;
    mien_error err;
    mien_engine *e;
    static const char text[] = "this is not a model\n";
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    snprintf(path, sizeof(path), "%s/fr_feature.onnx", test_models_dir());
    bytes = test_read_file(path, &size);
    ASSERT_TRUE(bytes != NULL);

    /* truncated */
    ASSERT_TRUE(make_models_dir(dir, sizeof(dir), "fr_feature.onnx", bytes, size / 2) == 0);
    e = open_engine(dir, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_MODEL);
    ASSERT_CONTAINS(err.message, "fr_feature.onnx");
    remove_models_dir(dir);

    /* a text file where a TFLite model should be */
    ASSERT_TRUE(make_models_dir(dir, sizeof(dir), "onet.tflite", text, sizeof(text) - 1) == 0);
    e = open_engine(dir, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_MODEL);
    ASSERT_CONTAINS(err.message, "onet.tflite");
    remove_models_dir(dir);

    /* an operator mien does not know */
    fancy = test_onnx_unknown_op_model(&fancy_size);
    ASSERT_TRUE(fancy != NULL);
    ASSERT_TRUE(make_models_dir(dir, sizeof(dir), "fr_detect.onnx", fancy, fancy_size) == 0);
    e = open_engine(dir, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.message, "FancyOp");
    ASSERT_CONTAINS(err.message, "fancy_node");
    remove_models_dir(dir);

    /* a missing file */
    ASSERT_TRUE(make_models_dir(dir, sizeof(dir), "rnet.tflite", "", 0) == 0);
    snprintf(path, sizeof(path), "%s/rnet.tflite", dir);
    unlink(path);
    e = open_engine(dir, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_IO);
    ASSERT_CONTAINS(err.message, "rnet.tflite");
    remove_models_dir(dir);
    free(fancy);
    free(bytes);
    return 0;
}

TEST(session_bad_calls)
{
    mien_error err;
    mien_engine *e;
    mien_session *s = NULL;
    const float *out = (const float *)1;
    static float x[1 * 100 * 100 * 3];
    static const int64_t wrong[4] = {1, 100, 100, 3}, zero[4] = {1, 0, 112, 3};
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    e = open_engine(test_models_dir(), &err);
    ASSERT_TRUE(e != NULL);
    ASSERT_OK(mien_session_new(e, &s, &err), &err);
    ASSERT_STATUS(mien_session_output(s, "embedderA", 0, &out, NULL, &err), MIEN_ERR_NOT_FOUND,
                  &err);
    ASSERT_TRUE(out == NULL);
    ASSERT_STATUS(mien_session_run_model(s, "embedderA", x, wrong, 4, &err), MIEN_ERR_SHAPE,
                  &err);
    ASSERT_CONTAINS(err.message, "[-1,112,112,3]");
    ASSERT_STATUS(mien_session_run_model(s, "embedderA", x, zero, 4, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_STATUS(mien_session_run_model(s, "embedderA", x, wrong, 3, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_STATUS(mien_session_run_model(s, "nosuchmodel", x, wrong, 4, &err), MIEN_ERR_NOT_FOUND,
                  &err);
    ASSERT_STATUS(mien_session_run_model(s, "embedderA", NULL, wrong, 4, &err), MIEN_ERR_ARG,
                  &err);
    mien_session_free(s);
    ASSERT_STATUS(mien_session_new(NULL, &s, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(s == NULL);
    mien_session_free(NULL);
    mien_engine_free(e);
    return 0;
}

/* Reads a binary P6 PPM of 112×112 into rgb[112*112*3]. */
static int read_chip(const char *path, unsigned char *rgb)
{
    size_t size;
    unsigned char *b = test_read_file(path, &size);
    int w = 0, h = 0, max = 0, used = 0, ok;
    if (b == NULL) {
        return -1;
    }
    ok = sscanf((const char *)b, "P6 %d %d %d%n", &w, &h, &max, &used) == 3 && w == 112 &&
         h == 112 && max == 255 && (size_t)used + 1 + 112 * 112 * 3 <= size;
    if (ok) {
        memcpy(rgb, b + used + 1, 112 * 112 * 3);
    }
    free(b);
    return ok ? 0 : -1;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* Opens an engine at `precision` ("f32", "bf16"), parsed as the CLI parses
 * $MIEN_PRECISION. */
static mien_engine *open_engine_at(const char *precision, mien_error *err)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *e = NULL;
    opt.models_dir = test_models_dir();
    if (mien_precision_parse(precision, &opt.precision, err) != MIEN_OK ||
        mien_engine_new(&opt, &e, err) != MIEN_OK) {
        return NULL;
    }
    return e;
}

/* mien_precision_parse takes f32, bf16, bf16-all and ""/NULL (AUTO); anything else is
 * MIEN_ERR_ARG naming it. The engine says what it runs; an unknown enum value is refused. */
TEST(engine_precision_option)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *e = NULL;
    mien_precision p = MIEN_PRECISION_F32;
    mien_error err;
    ASSERT_STATUS(mien_precision_parse("fp8", &p, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(p, MIEN_PRECISION_AUTO);
    ASSERT_CONTAINS(err.message, "fp8");
    ASSERT_CONTAINS(err.message, "bf16-all");
    ASSERT_OK(mien_precision_parse("", &p, &err), &err);
    ASSERT_EQ_INT(p, MIEN_PRECISION_AUTO);
    ASSERT_OK(mien_precision_parse(NULL, &p, &err), &err);
    ASSERT_EQ_INT(p, MIEN_PRECISION_AUTO);
    ASSERT_OK(mien_precision_parse("bf16-all", &p, &err), &err);
    ASSERT_EQ_INT(p, MIEN_PRECISION_BF16_ALL);
    ASSERT_STATUS(mien_precision_parse("f32", NULL, &err), MIEN_ERR_ARG, &err);
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    e = open_engine_at("bf16", &err);
    ASSERT_TRUE(e != NULL);
    mien_engine_free(e);
    e = open_engine_at("bf16-all", &err);
    ASSERT_TRUE(e != NULL);
    mien_engine_free(e);
    opt.models_dir = test_models_dir();
    opt.precision = MIEN_PRECISION_F32;
    ASSERT_OK(mien_engine_new(&opt, &e, &err), &err);
    ASSERT_EQ_INT(mien_engine_precision(e), MIEN_PRECISION_F32);
    mien_engine_free(e);
    opt.precision = (mien_precision)9;
    ASSERT_STATUS(mien_engine_new(&opt, &e, &err), MIEN_ERR_ARG, &err);
    return 0;
}

typedef struct profile_seen {
    int plans;
    long runs;
    int steps;
    double ms;
    char model[32];
} profile_seen;

static void note_profile(void *ctx, const mien_plan_profile *p)
{
    profile_seen *seen = ctx;
    seen->plans++;
    seen->runs = p->runs;
    seen->steps = p->n_steps;
    snprintf(seen->model, sizeof(seen->model), "%s", p->model);
    for (int k = 0; k < p->n_steps; k++) {
        seen->ms += p->steps[k].ms;
    }
}

/* With a profile callback, a session hands over each plan's step timings when it frees the
 * plan; without one nothing is timed. */
TEST(engine_profile_callback)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *e = NULL;
    mien_session *s = NULL;
    profile_seen seen = {0};
    int64_t dims[4] = {1, 112, 112, 3};
    float *x = malloc(112 * 112 * 3 * sizeof(*x));
    mien_error err;
    if (test_models_missing()) {
        free(x);
        return TEST_SKIP;
    }
    ASSERT_TRUE(x != NULL);
    test_fixed_input(x, 112 * 112 * 3);
    opt.models_dir = test_models_dir();
    opt.profile = note_profile;
    opt.profile_ctx = &seen;
    ASSERT_OK(mien_engine_new(&opt, &e, &err), &err);
    ASSERT_OK(mien_session_new(e, &s, &err), &err);
    for (int r = 0; r < 2; r++) {
        ASSERT_OK(mien_session_run_model(s, "embedderA", x, dims, 4, &err), &err);
    }
    ASSERT_EQ_INT(seen.plans, 0);
    mien_session_free(s);
    free(x);
    mien_engine_free(e);
    ASSERT_EQ_INT(seen.plans, 1);
    ASSERT_EQ_INT(seen.runs, 2);
    ASSERT_TRUE(seen.steps > 10);
    ASSERT_TRUE(seen.ms > 0.0);
    ASSERT_STR_EQ(seen.model, "embedderA");
    return 0;
}

/* The two embedders of an engine at `precision` against ONNX Runtime's float32 outputs on
 * three real aligned faces (tests/fixtures/README.md): cosine ≥ min_cosine. */
static int embedders_vs_onnxruntime(const char *precision, double min_cosine)
{
    static const int64_t dims_a[4] = {1, 112, 112, 3}, dims_b[4] = {1, 3, 112, 112};
    static unsigned char rgb[112 * 112 * 3];
    static float xa[112 * 112 * 3], xb[3 * 112 * 112];
    mien_error err;
    mien_engine *e;
    mien_session *s = NULL;
    e = open_engine_at(precision, &err);
    ASSERT_TRUE(e != NULL);
    ASSERT_OK(mien_session_new(e, &s, &err), &err);
    for (int c = 1; c <= 3; c++) {
        char path[PATH_MAX], rel[64];
        size_t na, nb;
        const float *out;
        mien_tensor_info info;
        float *want_a, *want_b;
        snprintf(rel, sizeof(rel), "tests/fixtures/chip%d.ppm", c);
        ASSERT_TRUE(read_chip(test_path(path, sizeof(path), rel), rgb) == 0);
        for (int i = 0; i < 112 * 112; i++) {
            for (int ch = 0; ch < 3; ch++) {
                float v = rgb[i * 3 + ch];
                xa[i * 3 + ch] = (v - 127.5f) / 128.0f;    /* A: NHWC, (x-127.5)/128 */
                xb[ch * 112 * 112 + i] = (v - 127.0f) / 128.0f; /* B: NCHW, (x-127)/128 */
            }
        }
        snprintf(rel, sizeof(rel), "tests/fixtures/chip%d.embA.f32", c);
        want_a = (float *)test_read_file(test_path(path, sizeof(path), rel), &na);
        snprintf(rel, sizeof(rel), "tests/fixtures/chip%d.embB.f32", c);
        want_b = (float *)test_read_file(test_path(path, sizeof(path), rel), &nb);
        ASSERT_TRUE(want_a != NULL && na == 192 * 4 && want_b != NULL && nb == 512 * 4);

        ASSERT_OK(mien_session_run_model(s, "embedderA", xa, dims_a, 4, &err), &err);
        ASSERT_OK(mien_session_output(s, "embedderA", 0, &out, &info, &err), &err);
        ASSERT_EQ_INT(info.dims[1], 192);
        printf("  %s chip%d: A cosine %.8f", precision, c, cosine(out, want_a, 192));
        ASSERT_TRUE(cosine(out, want_a, 192) >= min_cosine);

        ASSERT_OK(mien_session_run_model(s, "embedderB", xb, dims_b, 4, &err), &err);
        ASSERT_OK(mien_session_output(s, "embedderB", 0, &out, &info, &err), &err);
        ASSERT_EQ_INT(info.dims[1], 512);
        printf(", B cosine %.8f\n", cosine(out, want_b, 512));
        ASSERT_TRUE(cosine(out, want_b, 512) >= min_cosine);
        free(want_a);
        free(want_b);
    }
    mien_session_free(s);
    mien_engine_free(e);
    return 0;
}

/* float32 matches ONNX Runtime to 1e-5 in cosine. */
TEST(session_embedders_match_onnxruntime)
{
    return test_models_missing() ? TEST_SKIP : embedders_vs_onnxruntime("f32", 0.99999);
}

/* bfloat16 stays within 1e-3 of ONNX Runtime in cosine (measured on these chips: at most
 * 2.2e-5 for A and 1.1e-4 for B; on 1549 LFW faces at most 4.9e-5 and 1.3e-4 from float32:
 * docs/precision.md), which keeps LFW pair similarities within 4e-3 of float32's. */
TEST(session_bf16_embedders_close_to_onnxruntime)
{
    return test_models_missing() ? TEST_SKIP : embedders_vs_onnxruntime("bf16", 0.999);
}

/* After warm-up, running a model makes no heap allocation in mien's code: the workspace,
 * weights and primitives are planned once. oneDNN 2.6's dnnl_primitive_execute() itself
 * builds a small std::unordered_map of its arguments on every call (a few 32–104-byte
 * blocks per primitive, freed before it returns); those are counted apart and reported,
 * and must stay constant from run to run. Counted by tests/alloc_count.c. */
TEST(session_no_allocation_after_warmup)
{
    static const char *models[] = {"detector", "onet", "pnet", "rnet", "embedderA", "embedderB"};
    mien_error err;
    mien_engine *e;
    mien_session *s = NULL;
    if (test_alloc_count() < 0) {
        printf("  skip: allocation counting is off in sanitizer builds\n");
        return TEST_SKIP;
    }
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    e = open_engine(test_models_dir(), &err);
    ASSERT_TRUE(e != NULL);
    ASSERT_OK(mien_session_new(e, &s, &err), &err);
    for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
        mien_model_info info;
        size_t n = 1;
        float *x;
        long total[2], onednn[2];
        ASSERT_OK(mien_engine_model_info(e, m, &info), NULL);
        ASSERT_STR_EQ(info.name, models[m]);
        for (int i = 0; i < info.bench_rank; i++) {
            n *= (size_t)info.bench_dims[i];
        }
        x = calloc(n, sizeof(float));
        ASSERT_TRUE(x != NULL);
        for (int i = 0; i < 2; i++) { /* warm-up: plans, JIT */
            ASSERT_OK(mien_session_run_model(s, info.name, x, info.bench_dims, info.bench_rank,
                                             &err), &err);
        }
        for (int round = 0; round < 2; round++) {
            long t0, d0;
            test_alloc_attribute(1);
            t0 = test_alloc_count();
            d0 = test_alloc_count_in_onednn();
            for (int i = 0; i < 3; i++) {
                ASSERT_OK(mien_session_run_model(s, info.name, x, info.bench_dims,
                                                 info.bench_rank, &err), &err);
            }
            test_alloc_attribute(0);
            total[round] = test_alloc_count() - t0;
            onednn[round] = test_alloc_count_in_onednn() - d0;
        }
        printf("  %-10s per run: %ld allocations by mien, %ld inside oneDNN's execute\n",
               info.name, (total[0] - onednn[0]) / 3, onednn[0] / 3);
        free(x);
        ASSERT_EQ_INT(total[0] - onednn[0], 0);
        ASSERT_EQ_INT(total[1] - onednn[1], 0);
        ASSERT_EQ_INT(onednn[0], onednn[1]);
    }
    mien_session_free(s);
    mien_engine_free(e);
    return 0;
}

/* The ISA cap as an engine option (mien_isa): process-wide and set once. Once oneDNN has run,
 * another level is refused with a message and the cap stays as it was; the level in force
 * is accepted; bfloat16 asked below AVX512-BF16 falls back to float32. Runs under every
 * level of the CI's matrix (MIEN_MAX_ISA), so it checks whichever cap the runner set. */
TEST(engine_isa_option)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *e = NULL;
    mien_error err;
    mien_isa before, other, parsed;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    opt.models_dir = test_models_dir();
    ASSERT_OK(mien_engine_new(&opt, &e, &err), &err); /* oneDNN has run now */
    mien_engine_free(e);
    before = mien_isa_active();
    ASSERT_TRUE(before <= mien_isa_cpu());
    other = before == MIEN_ISA_C ? MIEN_ISA_AVX2 : MIEN_ISA_C;
    opt.max_isa = other;
    ASSERT_STATUS(mien_engine_new(&opt, &e, &err), MIEN_ERR_ARG, &err);
    ASSERT_TRUE(e == NULL);
    ASSERT_CONTAINS(err.message, mien_isa_name(other));
    ASSERT_EQ_INT(mien_isa_active(), before);
    /* unknown names and levels */
    ASSERT_STATUS(mien_isa_parse("avx1024", &parsed, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "avx1024");
    opt.max_isa = (mien_isa)42;
    ASSERT_STATUS(mien_engine_new(&opt, &e, &err), MIEN_ERR_ARG, &err);
    /* bf16 below AVX512-BF16 runs float32 */
    opt.max_isa = MIEN_ISA_AUTO;
    opt.precision = MIEN_PRECISION_BF16;
    ASSERT_OK(mien_engine_new(&opt, &e, &err), &err);
    if (mien_isa_active() < MIEN_ISA_AVX512_BF16) {
        ASSERT_EQ_INT(mien_engine_precision(e), MIEN_PRECISION_F32);
    }
    mien_engine_free(e);
    return 0;
}
