/* test_passes.c — the graph passes preserve semantics and leave the expected operators.
 *
 * Each model test runs the reference executor on the loaded graph and again after
 * nn_graph_optimize, on the fixed inputs of test_fixed_input(), and requires every output
 * to agree within 1e-5; then it checks the operator histogram (printed for the record). */
#include <stdint.h>

#include "nn/graph.h"
#include "nn/load.h"
#include "nn/passes.h"
#include "nn/ref_exec.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* An activation tensor of rank `rank` with free dims (rank 0: unknown). */
static int act(nn_graph *g, const char *name, int rank)
{
    int64_t d[NN_MAX_RANK] = {-1, -1, -1, -1, -1, -1, -1, -1};
    return nn_graph_add_tensor(g, name, NN_F32, rank, d, NULL);
}

/* A constant tensor with a copy of vals. */
static int cst(nn_graph *g, const char *name, nn_dtype dt, int rank, const int64_t *dims,
               const void *vals)
{
    size_t bytes = nn_dtype_size(dt);
    void *copy;
    for (int d = 0; d < rank; d++) {
        bytes *= (size_t)dims[d];
    }
    copy = malloc(bytes > 0 ? bytes : 1);
    if (copy == NULL) {
        return -1;
    }
    memcpy(copy, vals, bytes);
    return nn_graph_add_tensor(g, name, dt, rank, dims, copy);
}

static int node(nn_graph *g, nn_op op, const char *name, int n_in, const int *in, int out,
                const nn_attrs *a)
{
    return nn_graph_add_node(g, op, name, n_in, in, 1, &out, a);
}

static int count_op(const nn_graph *g, nn_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        n += g->nodes[i].op == op;
    }
    return n;
}

/* Prints "name: Conv 35, PRelu 33, ..." */
static void print_histogram(const char *name, const nn_graph *g)
{
    printf("  %s: %d nodes, %d tensors:", name, g->n_nodes, g->n_tensors);
    for (int op = 0; op < NN_OP_COUNT; op++) {
        int n = count_op(g, (nn_op)op);
        if (n > 0) {
            printf(" %s %d", nn_op_name((nn_op)op), n);
        }
    }
    printf("\n");
}

/* Runs g on the fixed inputs of shapes in[] and stores outputs in out[]/osh[]. */
static mien_status run_fixed(const nn_graph *g, const nn_shape *in, float **out, nn_shape *osh,
                             mien_error *err)
{
    float *x[NN_MAX_GRAPH_IO] = {NULL};
    const float *cx[NN_MAX_GRAPH_IO];
    mien_status s = MIEN_OK;
    for (int k = 0; k < g->n_inputs; k++) {
        int64_t n = nn_shape_elems(&in[k]);
        x[k] = malloc((size_t)n * sizeof(float));
        if (x[k] == NULL) {
            s = MIEN_ERR_NOMEM;
            goto done;
        }
        test_fixed_input(x[k], (size_t)n);
        cx[k] = x[k];
    }
    s = nn_ref_run(g, cx, in, out, osh, err);
done:
    for (int k = 0; k < g->n_inputs; k++) {
        free(x[k]);
    }
    return s;
}

/* Max |a - b| over two runs' outputs; -1 when the shapes differ. */
static double max_diff(int n_out, float *const *a, const nn_shape *as, float *const *b,
                       const nn_shape *bs)
{
    double worst = 0.0;
    for (int k = 0; k < n_out; k++) {
        int64_t n = nn_shape_elems(&as[k]);
        if (as[k].rank != bs[k].rank || n != nn_shape_elems(&bs[k])) {
            return -1.0;
        }
        for (int d = 0; d < as[k].rank; d++) {
            if (as[k].dims[d] != bs[k].dims[d]) {
                return -1.0;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)a[k][i] - (double)b[k][i]);
            worst = d > worst || d != d ? d : worst;
        }
    }
    return worst;
}

/* Optimises g, checking the outputs on inputs of shapes in[] before and after. */
static int optimize_and_compare(nn_graph *g, const nn_shape *in, const char *name)
{
    float *before[NN_MAX_GRAPH_IO] = {NULL}, *after[NN_MAX_GRAPH_IO] = {NULL};
    nn_shape bs[NN_MAX_GRAPH_IO], as[NN_MAX_GRAPH_IO];
    mien_error err;
    double diff;
    int n_out = g->n_outputs;
    ASSERT_OK(run_fixed(g, in, before, bs, &err), &err);
    print_histogram("loaded   ", g);
    ASSERT_OK(nn_graph_optimize(g, &err), &err);
    print_histogram("optimized", g);
    ASSERT_EQ_INT(g->n_outputs, n_out);
    ASSERT_OK(run_fixed(g, in, after, as, &err), &err);
    diff = max_diff(n_out, before, bs, after, as);
    printf("  %s: max |before - after| = %g\n", name, diff);
    for (int k = 0; k < n_out; k++) {
        free(before[k]);
        free(after[k]);
    }
    ASSERT_TRUE(diff >= 0.0);
    ASSERT_TRUE(diff <= 1e-5);
    return 0;
}

/* Loads models/<file>; NULL (and prints why) when it cannot. */
static nn_graph *load_model(const char *file)
{
    char path[4300];
    nn_graph *g = NULL;
    mien_error err;
    snprintf(path, sizeof(path), "%s/%s", test_models_dir(), file);
    if (nn_load_file(path, &g, &err) != MIEN_OK) {
        fprintf(stderr, "  cannot load %s: %s\n", path, err.message);
        return NULL;
    }
    return g;
}

/* The declared input shapes with free dims filled: batch 1, any other free dim `fill`. */
static void input_shapes(const nn_graph *g, int64_t fill_h, int64_t fill_w, nn_shape *in)
{
    for (int k = 0; k < g->n_inputs; k++) {
        const nn_tensor *t = &g->tensors[g->inputs[k]];
        in[k].rank = t->rank;
        for (int d = 0; d < t->rank; d++) {
            in[k].dims[d] = t->dims[d] >= 0 ? t->dims[d] : (d == 0 ? 1 : (d == 1 ? fill_h
                                                                                : fill_w));
        }
    }
}

/* True when every PRelu's slope has its input's rank and, for 4-D, the form [1,C,1,1]. */
static bool prelu_slopes_ok(const nn_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        const nn_tensor *x, *sl;
        if (n->op != NN_OP_PRELU) {
            continue;
        }
        x = &g->tensors[n->inputs[0]];
        sl = &g->tensors[n->inputs[1]];
        if (!nn_tensor_is_const(sl) || sl->rank != x->rank) {
            return false;
        }
        if (sl->rank == 4 && (sl->dims[0] != 1 || sl->dims[2] != 1 || sl->dims[3] != 1)) {
            return false;
        }
    }
    return true;
}

/* ---- hand-built graphs ------------------------------------------------------------------ */

/* x[1,2,3,3] → Conv → PReLU (MTCNN form) → Identity → Transpose pair → PReLU
 * (MobileFaceNet form, operands swapped) → softmax over channels (axes 1 and -3) → Conv →
 * Relu → Reshape to [Shape(z)[0], -1], plus a dead Neg branch. */
static nn_graph *build_patterns(void)
{
    nn_graph *g = nn_graph_new();
    static const float w1[4] = {1, -0.5f, 0.25f, 2}, b1[2] = {0.1f, -0.2f};
    static const float alpha[2] = {0.25f, -0.5f}, alpha2[2] = {0.125f, 3};
    static const float w2[6] = {1, 2, -1, 0.5f, 0.5f, -3}, zero_b[3] = {0, 0, -0.1f};
    static const int64_t idx0 = 0, minus1[1] = {-1};
    int64_t d4[4] = {1, 2, 3, 3}, dw1[4] = {2, 2, 1, 1}, da[4] = {1, 2, 1, 1},
            dw2[4] = {3, 2, 1, 1}, d1[1] = {1}, d2[1] = {2}, d3[1] = {3};
    nn_attrs conv = {.group = 1}, t1 = {.n_perm = 4, .perm = {0, 2, 3, 1}},
             t2 = {.n_perm = 4, .perm = {0, 3, 1, 2}};
    nn_attrs rmax = {.n_axes = 1, .axes = {1}, .keepdims = true};
    nn_attrs rsum = {.n_axes = 1, .axes = {-3}, .keepdims = true};
    nn_attrs unsq = {.n_axes = 1, .axes = {0}}, cat = {.axis = 0};
    if (g == NULL) {
        return NULL;
    }
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, d4, NULL);
    int W1 = cst(g, "w1", NN_F32, 4, dw1, w1), B1 = cst(g, "b1", NN_F32, 1, d2, b1);
    int A1 = cst(g, "alpha1", NN_F32, 4, da, alpha), A2 = cst(g, "alpha2", NN_F32, 4, da, alpha2);
    int W2 = cst(g, "w2", NN_F32, 4, dw2, w2), B2 = cst(g, "b2", NN_F32, 1, d3, zero_b);
    int I0 = cst(g, "idx0", NN_I64, 0, d1, &idx0), M1 = cst(g, "m1", NN_I64, 1, d1, minus1);
    int c = act(g, "c", 4), r1 = act(g, "r1", 4), n1 = act(g, "n1", 4), r2 = act(g, "r2", 4);
    int n2 = act(g, "n2", 4), m = act(g, "m", 4), p = act(g, "p", 4), i1 = act(g, "i1", 4);
    int q1 = act(g, "q1", 4), q2 = act(g, "q2", 4), ab = act(g, "ab", 4), s = act(g, "s", 4);
    int m2 = act(g, "m2", 4), r3 = act(g, "r3", 4), p2 = act(g, "p2", 4), mx = act(g, "mx", 4);
    int d = act(g, "d", 4), e = act(g, "e", 4), sm = act(g, "sm", 4), y = act(g, "y", 4);
    int c2 = act(g, "c2", 4), z = act(g, "z", 4), dead = act(g, "dead", 4);
    int shp = act(g, "shp", 1), g0 = act(g, "g0", 0), u = act(g, "u", 1);
    int spec = act(g, "spec", 1), out = act(g, "out", 2);
    node(g, NN_OP_CONV, "conv1", 3, (int[]){x, W1, B1}, c, &conv);
    node(g, NN_OP_RELU, "relu1", 1, &c, r1, NULL);
    node(g, NN_OP_NEG, "neg1", 1, &c, n1, NULL);
    node(g, NN_OP_RELU, "relu2", 1, &n1, r2, NULL);
    node(g, NN_OP_NEG, "neg2", 1, &r2, n2, NULL);
    node(g, NN_OP_MUL, "mul1", 2, (int[]){A1, n2}, m, NULL);
    node(g, NN_OP_ADD, "add1", 2, (int[]){r1, m}, p, NULL);
    node(g, NN_OP_NEG, "dead", 1, &x, dead, NULL);
    node(g, NN_OP_IDENTITY, "id", 1, &p, i1, NULL);
    node(g, NN_OP_TRANSPOSE, "to_nhwc", 1, &i1, q1, &t1);
    node(g, NN_OP_TRANSPOSE, "to_nchw", 1, &q1, q2, &t2);
    node(g, NN_OP_ABS, "abs", 1, &q2, ab, NULL);
    node(g, NN_OP_SUB, "sub", 2, (int[]){q2, ab}, s, NULL);
    node(g, NN_OP_MUL, "mul2", 2, (int[]){s, A2}, m2, NULL);
    node(g, NN_OP_RELU, "relu3", 1, &q2, r3, NULL);
    node(g, NN_OP_ADD, "add2", 2, (int[]){m2, r3}, p2, NULL);
    node(g, NN_OP_REDUCE_MAX, "rmax", 1, &p2, mx, &rmax);
    node(g, NN_OP_SUB, "sub2", 2, (int[]){p2, mx}, d, NULL);
    node(g, NN_OP_EXP, "exp", 1, &d, e, NULL);
    node(g, NN_OP_REDUCE_SUM, "rsum", 1, &e, sm, &rsum);
    node(g, NN_OP_DIV, "div", 2, (int[]){e, sm}, y, NULL);
    node(g, NN_OP_CONV, "conv2", 3, (int[]){y, W2, B2}, c2, &conv);
    node(g, NN_OP_RELU, "relu4", 1, &c2, z, NULL);
    node(g, NN_OP_SHAPE, "shape", 1, &z, shp, NULL);
    node(g, NN_OP_GATHER, "gather", 2, (int[]){shp, I0}, g0, &cat);
    node(g, NN_OP_UNSQUEEZE, "unsq", 1, &g0, u, &unsq);
    node(g, NN_OP_CONCAT, "concat", 2, (int[]){u, M1}, spec, &cat);
    node(g, NN_OP_RESHAPE, "flat", 2, (int[]){z, spec}, out, NULL);
    g->n_inputs = 1;
    g->inputs[0] = x;
    g->n_outputs = 1;
    g->outputs[0] = out;
    return g;
}

TEST(passes_patterns)
{
    nn_graph *g = build_patterns();
    nn_shape in = {4, {1, 2, 3, 3}};
    const nn_node *rs;
    ASSERT_TRUE(g != NULL && g->n_nodes == 28);
    if (optimize_and_compare(g, &in, "patterns") != 0) {
        nn_graph_free(g);
        return 1;
    }
    /* Conv, PRelu, PRelu, Softmax, Conv+Relu, Reshape(const) */
    ASSERT_EQ_INT(g->n_nodes, 6);
    ASSERT_EQ_INT(count_op(g, NN_OP_PRELU), 2);
    ASSERT_EQ_INT(count_op(g, NN_OP_SOFTMAX), 1);
    ASSERT_EQ_INT(g->nodes[3].a.axis, 1);
    ASSERT_EQ_INT(g->nodes[4].op, NN_OP_CONV);
    ASSERT_EQ_INT(g->nodes[4].a.act, NN_ACT_RELU);
    rs = &g->nodes[5];
    ASSERT_EQ_INT(rs->op, NN_OP_RESHAPE);
    ASSERT_TRUE(nn_tensor_is_const(&g->tensors[rs->inputs[1]]));
    ASSERT_EQ_INT(((const int64_t *)g->tensors[rs->inputs[1]].data)[0], 1);
    /* the MobileFaceNet form's slope is doubled: 2 · (0.125, 3) */
    ASSERT_NEAR(((const float *)g->tensors[g->nodes[2].inputs[1]].data)[1], 6, 0);
    /* names of graph inputs and outputs survive the compaction */
    ASSERT_STR_EQ(g->tensors[g->inputs[0]].name, "x");
    ASSERT_STR_EQ(g->tensors[g->outputs[0]].name, "out");
    nn_graph_free(g);
    return 0;
}

TEST(passes_keep_shared)
{
    /* The PReLU pattern, but neg2's output is also a graph output: nothing may fuse,
     * and Relu on a Conv output read twice stays a separate node. */
    nn_graph *g = nn_graph_new();
    static const float w[1] = {2}, alpha[1] = {0.5f};
    int64_t d4[4] = {1, 1, 2, 2}, dw[4] = {1, 1, 1, 1};
    nn_attrs conv = {.group = 1};
    mien_error err;
    ASSERT_TRUE(g != NULL);
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, d4, NULL);
    int W = cst(g, "w", NN_F32, 4, dw, w), A = cst(g, "a", NN_F32, 4, dw, alpha);
    int c = act(g, "c", 4), r1 = act(g, "r1", 4), n1 = act(g, "n1", 4), r2 = act(g, "r2", 4);
    int n2 = act(g, "n2", 4), m = act(g, "m", 4), p = act(g, "p", 4);
    node(g, NN_OP_CONV, "conv", 2, (int[]){x, W}, c, &conv);
    node(g, NN_OP_RELU, "relu1", 1, &c, r1, NULL);
    node(g, NN_OP_NEG, "neg1", 1, &c, n1, NULL);
    node(g, NN_OP_RELU, "relu2", 1, &n1, r2, NULL);
    node(g, NN_OP_NEG, "neg2", 1, &r2, n2, NULL);
    node(g, NN_OP_MUL, "mul", 2, (int[]){A, n2}, m, NULL);
    node(g, NN_OP_ADD, "add", 2, (int[]){r1, m}, p, NULL);
    g->n_inputs = 1;
    g->inputs[0] = x;
    g->n_outputs = 2;
    g->outputs[0] = p;
    g->outputs[1] = n2;
    ASSERT_OK(nn_graph_optimize(g, &err), &err);
    ASSERT_EQ_INT(g->n_nodes, 7);
    ASSERT_EQ_INT(count_op(g, NN_OP_PRELU), 0);
    ASSERT_EQ_INT(g->nodes[0].a.act, NN_ACT_NONE);
    nn_graph_free(g);
    return 0;
}

TEST(passes_identity_output)
{
    /* x → Conv → Identity → y (graph output) and x → Reshape(to the same [1,1,2,2]) → r
     * → Relu → z: the Conv writes y itself and the Relu reads x (then fuses nowhere). */
    nn_graph *g = nn_graph_new();
    static const float w[1] = {2};
    static const int64_t same[4] = {1, 1, 2, 2};
    int64_t d4[4] = {1, 1, 2, 2}, dw[4] = {1, 1, 1, 1}, ds[1] = {4};
    nn_attrs conv = {.group = 1};
    nn_shape in = {4, {1, 1, 2, 2}};
    ASSERT_TRUE(g != NULL);
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, d4, NULL);
    int W = cst(g, "w", NN_F32, 4, dw, w), S = cst(g, "same", NN_I64, 1, ds, same);
    int c = act(g, "c", 4), y = act(g, "y", 4), r = act(g, "r", 4), z = act(g, "z", 4);
    node(g, NN_OP_CONV, "conv", 2, (int[]){x, W}, c, &conv);
    node(g, NN_OP_IDENTITY, "id", 1, &c, y, NULL);
    node(g, NN_OP_RESHAPE, "resh", 2, (int[]){x, S}, r, NULL);
    node(g, NN_OP_RELU, "relu", 1, &r, z, NULL);
    g->n_inputs = 1;
    g->inputs[0] = x;
    g->n_outputs = 2;
    g->outputs[0] = y;
    g->outputs[1] = z;
    if (optimize_and_compare(g, &in, "identity") != 0) {
        nn_graph_free(g);
        return 1;
    }
    ASSERT_EQ_INT(g->n_nodes, 2);
    ASSERT_EQ_INT(g->nodes[0].op, NN_OP_CONV);
    ASSERT_STR_EQ(g->tensors[g->nodes[0].outputs[0]].name, "y");
    ASSERT_EQ_INT(g->nodes[1].op, NN_OP_RELU);
    ASSERT_EQ_INT(g->nodes[1].inputs[0], g->inputs[0]);
    ASSERT_STR_EQ(g->tensors[g->outputs[1]].name, "z");
    nn_graph_free(g);
    return 0;
}

/* ---- the six models --------------------------------------------------------------------- */

/* Loads `file`, checks semantics across nn_graph_optimize at the declared input shape
 * (free H/W set to h×w), and returns the optimised graph (NULL on any failure). */
static nn_graph *model_optimized(const char *file, int64_t h, int64_t w, int *rc)
{
    nn_graph *g;
    nn_shape in[NN_MAX_GRAPH_IO];
    *rc = 0;
    if (test_models_missing()) {
        *rc = TEST_SKIP;
        return NULL;
    }
    g = load_model(file);
    if (g == NULL) {
        *rc = 1;
        return NULL;
    }
    input_shapes(g, h, w, in);
    if (optimize_and_compare(g, in, file) != 0) {
        nn_graph_free(g);
        *rc = 1;
        return NULL;
    }
    return g;
}

TEST(passes_model_detector)
{
    int rc;
    nn_graph *g = model_optimized("fr_detect.onnx", 240, 320, &rc);
    if (g == NULL) {
        return rc;
    }
    ASSERT_EQ_INT(count_op(g, NN_OP_SHAPE), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_GATHER), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_UNSQUEEZE), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_IDENTITY), 0);
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == NN_OP_RESHAPE) {
            ASSERT_TRUE(nn_tensor_is_const(&g->tensors[g->nodes[i].inputs[1]]));
        }
    }
    nn_graph_free(g);
    return 0;
}

TEST(passes_model_feature)
{
    int rc;
    nn_graph *g = model_optimized("fr_feature.onnx", 112, 112, &rc);
    if (g == NULL) {
        return rc;
    }
    ASSERT_EQ_INT(count_op(g, NN_OP_IDENTITY), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_SHAPE), 0);
    nn_graph_free(g);
    return 0;
}

TEST(passes_model_mobilefacenet)
{
    int rc;
    nn_graph *g = model_optimized("MobileFaceNet.tflite", 112, 112, &rc);
    if (g == NULL) {
        return rc;
    }
    ASSERT_EQ_INT(count_op(g, NN_OP_PRELU), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_ABS), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_SUB), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_MUL), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 0);
    ASSERT_TRUE(prelu_slopes_ok(g));
    nn_graph_free(g);
    return 0;
}

/* The MTCNN nets: every PReLU and the softmax recovered. */
static int check_mtcnn(const char *file, int64_t h, int64_t w, int prelus)
{
    int rc;
    nn_graph *g = model_optimized(file, h, w, &rc);
    if (g == NULL) {
        return rc;
    }
    ASSERT_EQ_INT(count_op(g, NN_OP_NEG), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_MUL), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_EXP), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_REDUCE_MAX), 0);
    ASSERT_EQ_INT(count_op(g, NN_OP_SOFTMAX), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_PRELU), prelus);
    ASSERT_TRUE(prelu_slopes_ok(g));
    nn_graph_free(g);
    return 0;
}

TEST(passes_model_pnet)
{
    return check_mtcnn("pnet.tflite", 97, 131, 3); /* free H, W: an odd size */
}

TEST(passes_model_rnet)
{
    return check_mtcnn("rnet.tflite", 24, 24, 4);
}

TEST(passes_model_onet)
{
    return check_mtcnn("onet.tflite", 48, 48, 5);
}
