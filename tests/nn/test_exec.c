/* test_exec.c — the oneDNN executor against the reference executor (the oracle), model by
 * model, on the reference bench's fixed inputs; and its bad-input paths. */
#include <limits.h>

#include "face/catalog.h"
#include "nn/exec.h"
#include "nn/load.h"
#include "nn/passes.h"
#include "nn/ref_exec.h"
#include "test.h"

/* max |a-b| ≤ 1e-4, or relative 1e-3 for |values| above 1 (the criterion) */
static int compare_outputs(const char *model, int index, const float *got, const float *want,
                           int64_t n)
{
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double mag = fabs((double)want[i]);
        double excess = mag > 1.0 ? d / mag / 1e-3 : d / 1e-4;
        if (excess > worst) {
            worst = excess;
            at = i;
        }
    }
    if (worst > 1.0) {
        fprintf(stderr, "  %s output %d: element %lld: got %.7g want %.7g (%.2fx the tolerance)\n",
                model, index, (long long)at, got[at], want[at], worst);
        return 1;
    }
    return 0;
}

/* Loads and optimises catalogue model `name`; NULL with a printed reason on failure. */
static nn_graph *load_optimised(const char *name)
{
    const face_model_spec *spec = &face_catalog()[face_catalog_find(name)];
    char path[PATH_MAX];
    nn_graph *g = NULL;
    mien_error err;
    snprintf(path, sizeof(path), "%s/%s", test_models_dir(), spec->file);
    if (nn_load_file(path, &g, &err) != MIEN_OK || nn_graph_optimize(g, &err) != MIEN_OK) {
        fprintf(stderr, "  %s: %s\n", path, err.message);
        nn_graph_free(g);
        return NULL;
    }
    return g;
}

static int check_model(const char *name, const int64_t *dims, int rank)
{
    nn_graph *g = load_optimised(name);
    nn_backend *b = NULL;
    nn_plan *plan = NULL;
    nn_shape in = {.rank = rank}, ref_shapes[NN_MAX_GRAPH_IO];
    float *ref_out[NN_MAX_GRAPH_IO] = {NULL};
    float *x;
    mien_error err;
    int rc = 1;
    for (int i = 0; i < rank; i++) {
        in.dims[i] = dims[i];
    }
    x = malloc((size_t)nn_shape_elems(&in) * sizeof(float));
    if (g == NULL || x == NULL) {
        goto done;
    }
    test_fixed_input(x, (size_t)nn_shape_elems(&in));
    const float *inputs[1] = {x};
    if (nn_ref_run(g, inputs, &in, ref_out, ref_shapes, &err) != MIEN_OK ||
        nn_backend_new(&b, &err) != MIEN_OK || nn_plan_new(b, g, &in, 1, &plan, &err) != MIEN_OK) {
        fprintf(stderr, "  %s: %s\n", name, err.message);
        goto done;
    }
    rc = 0;
    for (int run = 0; run < 2 && rc == 0; run++) { /* twice: a second run must not drift */
        if (nn_plan_run(plan, inputs, &err) != MIEN_OK) {
            fprintf(stderr, "  %s: %s\n", name, err.message);
            rc = 1;
            break;
        }
        for (int o = 0; o < g->n_outputs && rc == 0; o++) {
            nn_shape s;
            const float *got = nn_plan_output(plan, o, &s);
            if (nn_shape_elems(&s) != nn_shape_elems(&ref_shapes[o])) {
                fprintf(stderr, "  %s output %d: size differs\n", name, o);
                rc = 1;
                break;
            }
            rc = compare_outputs(name, o, got, ref_out[o], nn_shape_elems(&s));
        }
    }
done:
    for (int o = 0; o < NN_MAX_GRAPH_IO; o++) {
        free(ref_out[o]);
    }
    nn_plan_free(plan);
    nn_backend_free(b);
    nn_graph_free(g);
    free(x);
    return rc;
}

TEST(exec_matches_ref_detector)
{
    static const int64_t dims[4] = {1, 3, 240, 320};
    return test_models_missing() ? TEST_SKIP : check_model("detector", dims, 4);
}

TEST(exec_matches_ref_onet)
{
    static const int64_t dims[4] = {3, 48, 48, 3}; /* batch of 3 patches */
    return test_models_missing() ? TEST_SKIP : check_model("onet", dims, 4);
}

TEST(exec_matches_ref_rnet)
{
    static const int64_t dims[4] = {5, 24, 24, 3};
    return test_models_missing() ? TEST_SKIP : check_model("rnet", dims, 4);
}

TEST(exec_matches_ref_pnet)
{
    static const int64_t a[4] = {1, 240, 320, 3}, b[4] = {1, 37, 53, 3}, c[4] = {1, 12, 12, 3};
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    /* any input size: a frame, an odd pyramid level, the 12×12 minimum */
    return check_model("pnet", a, 4) || check_model("pnet", b, 4) || check_model("pnet", c, 4);
}

TEST(exec_matches_ref_embedder_a)
{
    static const int64_t dims[4] = {2, 112, 112, 3}; /* batch is free */
    return test_models_missing() ? TEST_SKIP : check_model("embedderA", dims, 4);
}

TEST(exec_matches_ref_embedder_b)
{
    static const int64_t dims[4] = {1, 3, 112, 112};
    return test_models_missing() ? TEST_SKIP : check_model("embedderB", dims, 4);
}

TEST(exec_rejects_bad_shapes)
{
    nn_graph *g;
    nn_backend *b = NULL;
    nn_plan *plan = NULL;
    mien_error err;
    nn_shape wrong = {.rank = 4, .dims = {1, 3, 100, 100}}; /* detector wants 240×320 */
    nn_shape tiny = {.rank = 4, .dims = {1, 5, 5, 3}};       /* smaller than P-Net's field */
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    g = load_optimised("detector");
    ASSERT_TRUE(g != NULL);
    ASSERT_OK(nn_backend_new(&b, &err), &err);
    ASSERT_STATUS(nn_plan_new(b, g, &wrong, 1, &plan, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_CONTAINS(err.message, "expects [1,3,240,320]");
    ASSERT_TRUE(plan == NULL);
    nn_graph_free(g);
    g = load_optimised("pnet");
    ASSERT_TRUE(g != NULL);
    ASSERT_STATUS(nn_plan_new(b, g, &tiny, 1, &plan, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_TRUE(plan == NULL);
    nn_graph_free(g);
    nn_backend_free(b);
    return 0;
}

/* No step may land on oneDNN's reference kernels at AVX2 and above (DESIGN.md §3: a PReLU
 * post-op, a first convolution in the wrong layout for the ISA, a broadcast Mul or a mixed
 * concat send them to `ref:any`, 10-250× slower), in float32 or bfloat16, whatever the
 * ISA cap (MIEN_MAX_ISA: the CI runs this natively and at avx2); below AVX2 they are
 * allowed and only counted. With native bfloat16, a bf16 plan's bf16 convolutions use the native kernels
 * ("avx512_core_bf16", or "amx" on CPUs with AMX), not an emulation. */
TEST(exec_no_reference_kernels)
{
    static const char *models[] = {"detector", "onet", "pnet", "rnet", "embedderA", "embedderB"};
    nn_backend *b = NULL;
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_OK(nn_backend_new(&b, &err), &err);
    for (int prec = NN_PRECISION_F32; prec <= NN_PRECISION_BF16; prec++) {
        for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
            const face_model_spec *spec = &face_catalog()[face_catalog_find(models[m])];
            nn_shape in = {.rank = spec->bench_rank};
            nn_graph *g = load_optimised(models[m]);
            nn_plan *plan = NULL;
            nn_plan_options opt = {.threads = 1, .precision = (nn_precision)prec};
            int bf16_impls = 0, n_ref;
            char names[512];
            ASSERT_TRUE(g != NULL);
            memcpy(in.dims, spec->bench_dims, sizeof(spec->bench_dims));
            ASSERT_OK(nn_plan_new_opts(b, g, &in, &opt, &plan, &err), &err);
            n_ref = nn_plan_ref_steps(plan, names, sizeof(names));
            if (n_ref > 0 && mien_isa_active() >= MIEN_ISA_AVX2) {
                fprintf(stderr, "  %s at %s: %d steps on reference kernels: %s\n", models[m],
                        nn_isa_name(), n_ref, names);
                return 1;
            }
            if (n_ref > 0) { /* below AVX2: correctness only, reference kernels allowed */
                printf("  %s at %s: %d reference-kernel steps (allowed below avx2)\n",
                       models[m], nn_isa_name(), n_ref);
            }
            for (int i = 0; i < g->n_nodes; i++) {
                const char *impl = nn_plan_impl(plan, i);
                bf16_impls += impl != NULL && g->nodes[i].op == NN_OP_CONV &&
                              (strstr(impl, "bf16") != NULL || strstr(impl, "amx") != NULL);
            }
            ASSERT_EQ_INT(bf16_impls, nn_plan_bf16_convs(plan));
            if (prec == NN_PRECISION_F32 || !nn_backend_has_bf16(b)) {
                ASSERT_EQ_INT(nn_plan_bf16_convs(plan), 0);
            }
            nn_plan_free(plan);
            nn_graph_free(g);
        }
    }
    nn_backend_free(b);
    return 0;
}

/* A plan told its NCHW input arrives channels-last gives the same outputs as the NCHW plan
 * given the same values (the detector is fed this way by the pipeline). */
TEST(exec_channels_last_input)
{
    static const int64_t dims[4] = {1, 3, 240, 320};
    nn_graph *g;
    nn_backend *b = NULL;
    nn_plan *nchw = NULL, *nhwc = NULL;
    nn_shape in = {.rank = 4, .dims = {1, 3, 240, 320}}, s1, s2;
    float *x, *y;
    mien_error err;
    const int64_t hw = dims[2] * dims[3];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    g = load_optimised("detector");
    x = malloc((size_t)(3 * hw) * sizeof(float));
    y = malloc((size_t)(3 * hw) * sizeof(float));
    ASSERT_TRUE(g != NULL && x != NULL && y != NULL);
    test_fixed_input(x, (size_t)(3 * hw));
    for (int64_t i = 0; i < hw; i++) { /* the same tensor, channels-last */
        for (int c = 0; c < 3; c++) {
            y[i * 3 + c] = x[c * hw + i];
        }
    }
    ASSERT_OK(nn_backend_new(&b, &err), &err);
    ASSERT_OK(nn_plan_new(b, g, &in, 1, &nchw, &err), &err);
    ASSERT_OK(nn_plan_new_layout(b, g, &in, 1, true, &nhwc, &err), &err);
    const float *xs[1] = {x}, *ys[1] = {y};
    ASSERT_OK(nn_plan_run(nchw, xs, &err), &err);
    ASSERT_OK(nn_plan_run(nhwc, ys, &err), &err);
    for (int o = 0; o < g->n_outputs; o++) {
        const float *a = nn_plan_output(nchw, o, &s1), *c = nn_plan_output(nhwc, o, &s2);
        ASSERT_EQ_INT(nn_shape_elems(&s1), nn_shape_elems(&s2));
        for (int64_t i = 0; i < nn_shape_elems(&s1); i++) {
            ASSERT_NEAR(a[i], c[i], 1e-6);
        }
    }
    nn_plan_free(nchw);
    nn_plan_free(nhwc);
    nn_backend_free(b);
    nn_graph_free(g);
    free(x);
    free(y);
    return 0;
}

/* ---- bfloat16 convolutions (nn_precision) ------------------------------------------------ */

/* Runs `name` at `dims` in bfloat16 and checks each output against the reference executor:
 * the largest error relative to the output's scale (max |got − want| / max |want|) must stay
 * within tol[o], and an output that is an embedding (tol < 0 for it) must keep cosine ≥
 * 1 + tol[o] with the reference. Prints what it measured. When the CPU lacks native
 * bfloat16 the plan must be float32 (no bf16 convolution), and that is checked instead. */
static int check_model_bf16(const char *name, const int64_t *dims, int rank, const double *tol)
{
    nn_graph *g = load_optimised(name);
    nn_backend *b = NULL;
    nn_plan *plan = NULL;
    nn_shape in = {.rank = rank}, ref_shapes[NN_MAX_GRAPH_IO];
    float *ref_out[NN_MAX_GRAPH_IO] = {NULL};
    nn_plan_options opt = {.threads = 1, .precision = NN_PRECISION_BF16};
    float *x;
    mien_error err;
    int rc = 1;
    for (int i = 0; i < rank; i++) {
        in.dims[i] = dims[i];
    }
    x = malloc((size_t)nn_shape_elems(&in) * sizeof(float));
    if (g == NULL || x == NULL) {
        goto done;
    }
    test_fixed_input(x, (size_t)nn_shape_elems(&in));
    const float *inputs[1] = {x};
    if (nn_ref_run(g, inputs, &in, ref_out, ref_shapes, &err) != MIEN_OK ||
        nn_backend_new(&b, &err) != MIEN_OK ||
        nn_plan_new_opts(b, g, &in, &opt, &plan, &err) != MIEN_OK ||
        nn_plan_run(plan, inputs, &err) != MIEN_OK) {
        fprintf(stderr, "  %s: %s\n", name, err.message);
        goto done;
    }
    if (!nn_backend_has_bf16(b)) {
        printf("  %s: no native bfloat16 on this CPU: the plan stays float32\n", name);
        rc = nn_plan_bf16_convs(plan) != 0;
        goto done;
    }
    rc = nn_plan_bf16_convs(plan) > 0 ? 0 : 1;
    printf("  %s: %d bf16 convolutions;", name, nn_plan_bf16_convs(plan));
    for (int o = 0; o < g->n_outputs; o++) {
        nn_shape s;
        const float *got = nn_plan_output(plan, o, &s);
        int64_t n = nn_shape_elems(&s);
        double scale = 0.0, worst = 0.0, dot = 0.0, gg = 0.0, ww = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - ref_out[o][i]);
            scale = fabs(ref_out[o][i]) > scale ? fabs(ref_out[o][i]) : scale;
            worst = d > worst ? d : worst;
            dot += (double)got[i] * ref_out[o][i];
            gg += (double)got[i] * got[i];
            ww += (double)ref_out[o][i] * ref_out[o][i];
        }
        if (tol[o] < 0.0) {
            double cosine = dot / sqrt(gg * ww);
            printf(" output %d: 1 - cosine %.2e (limit %.0e)", o, 1.0 - cosine, -tol[o]);
            rc |= !(cosine >= 1.0 + tol[o]);
        } else {
            printf(" output %d: error %.2e of scale %.3g (limit %.0e)", o, worst / scale, scale,
                   tol[o]);
            rc |= !(worst <= tol[o] * scale);
        }
    }
    printf("\n");
done:
    for (int o = 0; o < NN_MAX_GRAPH_IO; o++) {
        free(ref_out[o]);
    }
    nn_plan_free(plan);
    nn_backend_free(b);
    nn_graph_free(g);
    free(x);
    return rc;
}

/* Every model in bfloat16 against the float64 reference, on the fixed inputs. The limits
 * are looser than float32's 1e-4 by design: bfloat16 keeps 8 significant bits (each rounded
 * value is off by up to 2^-9 ≈ 2e-3 relative) and the errors of 10–50 layers add up.
 * Measured with oneDNN 2.6 on AVX512-BF16 (Zen 4): detector 5.3e-3 / 2.0e-3 of scale,
 * O-Net ≤ 7.0e-3, P-Net 2.1e-2 / 1.6e-2, R-Net ≤ 5.5e-3; embeddings 1 − cosine 2.4e-5 (A)
 * and 1.0e-4 (B). The limits, 5e-2 of scale and 1 − cosine ≤ 1e-3, leave 2.5–10× room for
 * another CPU's summation order while still catching real faults (a wrong layout, a missed
 * conversion or a bf16 graph input give errors of order 1). docs/precision.md has what
 * this does to similarities on real faces. */
TEST(exec_bf16_close_to_ref)
{
    static const int64_t det[4] = {1, 3, 240, 320}, onet[4] = {3, 48, 48, 3};
    static const int64_t pnet[4] = {1, 240, 320, 3}, rnet[4] = {5, 24, 24, 3};
    static const int64_t emb_a[4] = {2, 112, 112, 3}, emb_b[4] = {1, 3, 112, 112};
    static const double tol_det[2] = {5e-2, 5e-2}, tol_onet[3] = {5e-2, 5e-2, 5e-2};
    static const double tol_pnet[2] = {5e-2, 5e-2}, tol_rnet[2] = {5e-2, 5e-2};
    static const double tol_emb[1] = {-1e-3};
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    return check_model_bf16("detector", det, 4, tol_det) |
           check_model_bf16("onet", onet, 4, tol_onet) |
           check_model_bf16("pnet", pnet, 4, tol_pnet) |
           check_model_bf16("rnet", rnet, 4, tol_rnet) |
           check_model_bf16("embedderA", emb_a, 4, tol_emb) |
           check_model_bf16("embedderB", emb_b, 4, tol_emb);
}

/* Deterministic plans (every bfloat16 plan; nn_plan_options.deterministic) give bit-identical
 * outputs on separate backends, even when one backend's kernel-timing cache already holds
 * timed choices for the same convolutions (from a float32 plan made first): timed choices
 * depend on a race and would make templates differ from run to run (docs/precision.md). */
TEST(exec_deterministic_plans_reproducible)
{
    static const char *models[] = {"embedderA", "detector"};
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
        const face_model_spec *spec = &face_catalog()[face_catalog_find(models[m])];
        nn_shape in = {.rank = spec->bench_rank};
        nn_graph *g = load_optimised(models[m]);
        nn_backend *b1 = NULL, *b2 = NULL;
        nn_plan *timed = NULL, *p1 = NULL, *p2 = NULL;
        float *x;
        ASSERT_TRUE(g != NULL);
        memcpy(in.dims, spec->bench_dims, sizeof(spec->bench_dims));
        x = malloc((size_t)nn_shape_elems(&in) * sizeof(float));
        ASSERT_TRUE(x != NULL);
        test_fixed_input(x, (size_t)nn_shape_elems(&in));
        const float *inputs[1] = {x};
        for (int prec = NN_PRECISION_F32; prec <= NN_PRECISION_BF16; prec++) {
            nn_plan_options det = {.threads = 1, .precision = (nn_precision)prec,
                                   .deterministic = true};
            ASSERT_OK(nn_backend_new(&b1, &err), &err);
            ASSERT_OK(nn_backend_new(&b2, &err), &err);
            ASSERT_OK(nn_plan_new(b1, g, &in, 1, &timed, &err), &err); /* fills b1's cache */
            ASSERT_OK(nn_plan_new_opts(b1, g, &in, &det, &p1, &err), &err);
            ASSERT_OK(nn_plan_new_opts(b2, g, &in, &det, &p2, &err), &err);
            ASSERT_OK(nn_plan_run(p1, inputs, &err), &err);
            ASSERT_OK(nn_plan_run(p2, inputs, &err), &err);
            for (int o = 0; o < g->n_outputs; o++) {
                nn_shape s1, s2;
                const float *y1 = nn_plan_output(p1, o, &s1), *y2 = nn_plan_output(p2, o, &s2);
                ASSERT_EQ_INT(nn_shape_elems(&s1), nn_shape_elems(&s2));
                for (int64_t i = 0; i < nn_shape_elems(&s1); i++) {
                    ASSERT_NEAR(y1[i], y2[i], 0.0);
                }
            }
            nn_plan_free(timed);
            nn_plan_free(p1);
            nn_plan_free(p2);
            nn_backend_free(b1);
            nn_backend_free(b2);
        }
        free(x);
        nn_graph_free(g);
    }
    return 0;
}

/* Plans at the shapes the pipeline really uses, beyond the bench shapes above: the detector
 * fed channels-last (detect.c), P-Net over a pyramid of sizes down to 12 px and transposed
 * ones (detect_small.c), R-Net in batches of 32, embedder A on several faces at once. At
 * AVX2 and above none may run a reference kernel (which layout has a JIT kernel depends on
 * the shape as well as the ISA). */
TEST(exec_no_reference_kernels_pipeline_shapes)
{
    static const struct {
        const char *model;
        bool channels_last;
        int64_t dims[4];
    } cases[] = {
        {"detector", true, {1, 3, 240, 320}},  {"pnet", false, {1, 170, 227, 3}},
        {"pnet", false, {1, 427, 320, 3}},     {"pnet", false, {1, 61, 81, 3}},
        {"pnet", false, {1, 12, 17, 3}},       {"pnet", false, {1, 13, 12, 3}},
        {"rnet", false, {32, 24, 24, 3}},      {"onet", false, {4, 48, 48, 3}},
        {"embedderA", false, {8, 112, 112, 3}}, /* embedder B's file fixes its batch at 1 */
    };
    nn_backend *b = NULL;
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_OK(nn_backend_new(&b, &err), &err);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        nn_graph *g = load_optimised(cases[c].model);
        nn_shape in = {.rank = 4};
        nn_plan *plan = NULL;
        nn_plan_options opt = {.threads = 1, .input_channels_last = cases[c].channels_last};
        char names[512];
        int n_ref;
        ASSERT_TRUE(g != NULL);
        memcpy(in.dims, cases[c].dims, sizeof(cases[c].dims));
        ASSERT_OK(nn_plan_new_opts(b, g, &in, &opt, &plan, &err), &err);
        n_ref = nn_plan_ref_steps(plan, names, sizeof(names));
        if (n_ref > 0 && mien_isa_active() >= MIEN_ISA_AVX2) {
            fprintf(stderr, "  %s %lldx%lldx%lldx%lld at %s: %d reference steps: %s\n",
                    cases[c].model, (long long)in.dims[0], (long long)in.dims[1],
                    (long long)in.dims[2], (long long)in.dims[3], nn_isa_name(), n_ref, names);
            return 1;
        }
        nn_plan_free(plan);
        nn_graph_free(g);
    }
    nn_backend_free(b);
    return 0;
}
