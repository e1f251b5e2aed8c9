/* test_ref_exec.c — the reference executor on tiny hand-built graphs whose results were
 * computed by hand (the expected numbers are worked out in the comments). */
#include <stdint.h>

#include "nn/graph.h"
#include "nn/ref_exec.h"
#include "test.h"

/* One operand of a single-node test graph: a constant tensor (data copied). */
typedef struct operand {
    nn_dtype dtype;
    int rank;
    int64_t dims[NN_MAX_RANK];
    const void *data; /* NULL when the optional input is absent */
} operand;

/* Builds a graph with one node `op` over constant operands and evaluates it with
 * nn_ref_eval_node. On MIEN_OK *out (malloc'd) and *shape, *dtype hold output 0. */
static mien_status eval1(nn_op op, const nn_attrs *a, int n_in, const operand *ops,
                         nn_shape *shape, void **out, nn_dtype *dtype, mien_error *err)
{
    nn_graph *g = nn_graph_new();
    int inputs[NN_MAX_NODE_INPUTS], y;
    nn_shape ish[NN_MAX_NODE_INPUTS];
    const void *idata[NN_MAX_NODE_INPUTS];
    mien_status s;
    int64_t none[1] = {0};
    *out = NULL;
    if (g == NULL) {
        return MIEN_ERR_NOMEM;
    }
    for (int k = 0; k < n_in; k++) {
        char name[16];
        size_t bytes = nn_dtype_size(ops[k].dtype);
        void *copy;
        snprintf(name, sizeof(name), "in%d", k);
        inputs[k] = -1;
        idata[k] = NULL;
        if (ops[k].data == NULL) {
            continue;
        }
        for (int d = 0; d < ops[k].rank; d++) {
            bytes *= (size_t)ops[k].dims[d];
        }
        copy = malloc(bytes > 0 ? bytes : 1);
        if (copy == NULL) {
            nn_graph_free(g);
            return MIEN_ERR_NOMEM;
        }
        memcpy(copy, ops[k].data, bytes);
        inputs[k] = nn_graph_add_tensor(g, name, ops[k].dtype, ops[k].rank, ops[k].dims, copy);
        ish[k].rank = ops[k].rank;
        memcpy(ish[k].dims, ops[k].dims, sizeof(ish[k].dims));
        idata[k] = g->tensors[inputs[k]].data;
    }
    y = nn_graph_add_tensor(g, "y", NN_F32, 0, none, NULL);
    nn_graph_add_node(g, op, "the_node", n_in, inputs, 1, &y, a);
    s = nn_ref_eval_node(g, &g->nodes[0], ish, idata, shape, out, dtype, err);
    nn_graph_free(g);
    return s;
}

#define F32_OP(r, ...) {NN_F32, r, __VA_ARGS__}

TEST(ref_conv_pad_stride)
{
    /* x = 0..15 as 4×4, w = all ones 3×3, bias 1, pads 1, stride 2 → 2×2 output:
     * (0,0) = 0+1+4+5 = 10; (0,1) = 1+2+3+5+6+7 = 24; (1,0) = 4+5+8+9+12+13 = 51;
     * (1,1) = 5+6+7+9+10+11+13+14+15 = 90; each plus the bias. */
    float x[16], w[9], b[1] = {1.0f};
    nn_attrs a = {.stride = {2, 2}, .pads = {1, 1, 1, 1}, .group = 1};
    operand ops[3] = {F32_OP(4, {1, 1, 4, 4}, x), F32_OP(4, {1, 1, 3, 3}, w),
                      F32_OP(1, {1}, b)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    for (int i = 0; i < 16; i++) {
        x[i] = (float)i;
    }
    for (int i = 0; i < 9; i++) {
        w[i] = 1.0f;
    }
    ASSERT_OK(eval1(NN_OP_CONV, &a, 3, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 4);
    ASSERT_EQ_INT(s.dims[2], 2);
    ASSERT_EQ_INT(s.dims[3], 2);
    ASSERT_NEAR(y[0], 11, 0);
    ASSERT_NEAR(y[1], 25, 0);
    ASSERT_NEAR(y[2], 52, 0);
    ASSERT_NEAR(y[3], 91, 0);
    free(y);

    /* TF SAME (upper), stride 2 on 4×4: out 2×2, total pad 1 at the end only:
     * (0,0) = rows 0..2, cols 0..2 = 0+1+2+4+5+6+8+9+10 = 45 */
    a.auto_pad = NN_PAD_SAME_UPPER;
    memset(a.pads, 0, sizeof(a.pads));
    ASSERT_OK(eval1(NN_OP_CONV, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[2], 2);
    ASSERT_NEAR(y[0], 45, 0);
    /* (1,1) = rows 2..3, cols 2..3 = 10+11+14+15 = 50 */
    ASSERT_NEAR(y[3], 50, 0);
    free(y);

    /* a fused Clip clamps; weights that do not fit the channels are a shape error */
    a.act = NN_ACT_CLIP;
    a.act_min = 0.0f;
    a.act_max = 46.0f;
    ASSERT_OK(eval1(NN_OP_CONV, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[0], 45, 0);
    ASSERT_NEAR(y[3], 46, 0);
    free(y);
    a.group = 2; /* 1 input channel cannot split into 2 groups */
    ASSERT_STATUS(eval1(NN_OP_CONV, &a, 2, ops, &s, (void **)&y, &dt, &err), MIEN_ERR_SHAPE,
                  &err);
    ASSERT_TRUE(y == NULL);
    ASSERT_CONTAINS(err.message, "the_node");
    return 0;
}

TEST(ref_depthwise_conv)
{
    /* two channels, group 2: channel 0 all ones with weights 1,2,3,4 → 10 everywhere;
     * channel 1 = 0..8 with weights [1,0;0,-1] → x[i][j] - x[i+1][j+1] = -4. */
    float x[18], w[8] = {1, 2, 3, 4, 1, 0, 0, -1};
    nn_attrs a = {.group = 2};
    operand ops[2] = {F32_OP(4, {1, 2, 3, 3}, x), F32_OP(4, {2, 1, 2, 2}, w)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    for (int i = 0; i < 9; i++) {
        x[i] = 1.0f;
        x[9 + i] = (float)i;
    }
    ASSERT_OK(eval1(NN_OP_CONV, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[1], 2);
    ASSERT_EQ_INT(s.dims[2], 2);
    ASSERT_EQ_INT(s.dims[3], 2);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(y[i], 10, 0);
        ASSERT_NEAR(y[4 + i], -4, 0);
    }
    free(y);
    /* dilation 2: one output, channel 1 = x[0][0] - x[2][2] = -8 */
    a.dilation[0] = a.dilation[1] = 2;
    ASSERT_OK(eval1(NN_OP_CONV, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[2], 1);
    ASSERT_EQ_INT(s.dims[3], 1);
    ASSERT_NEAR(y[0], 10, 0);
    ASSERT_NEAR(y[1], -8, 0);
    free(y);
    return 0;
}

TEST(ref_pool_same)
{
    /* x = 0..8 as 3×3, kernel 2, stride 2, SAME_UPPER: pad 1 at the end.
     * windows {0,1,3,4} {2,5} {6,7} {8}: max 4 5 7 8, mean over valid 2 3.5 6.5 8 */
    float x[9];
    nn_attrs a = {.kernel = {2, 2}, .stride = {2, 2}, .auto_pad = NN_PAD_SAME_UPPER};
    operand ops[1] = {F32_OP(4, {1, 1, 3, 3}, x)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    const float want_max[4] = {4, 5, 7, 8}, want_avg[4] = {2, 3.5f, 6.5f, 8};
    for (int i = 0; i < 9; i++) {
        x[i] = (float)i;
    }
    ASSERT_OK(eval1(NN_OP_MAXPOOL, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[2], 2);
    ASSERT_EQ_INT(s.dims[3], 2);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(y[i], want_max[i], 0);
    }
    free(y);
    ASSERT_OK(eval1(NN_OP_AVGPOOL, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(y[i], want_avg[i], 1e-6);
    }
    free(y);
    /* explicit, no padding, ceil_mode: same windows, same 2×2 result */
    a.auto_pad = NN_PAD_EXPLICIT;
    a.ceil_mode = true;
    ASSERT_OK(eval1(NN_OP_MAXPOOL, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[2], 2);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(y[i], want_max[i], 0);
    }
    free(y);
    /* count_include_pad with pads 1 at the end: (1,1) = 8 / 4 */
    a.ceil_mode = false;
    a.pads[2] = a.pads[3] = 1;
    a.count_include_pad = true;
    ASSERT_OK(eval1(NN_OP_AVGPOOL, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[3], 2, 1e-6);
    free(y);
    return 0;
}

TEST(ref_softmax)
{
    /* softmax(1,2,3) = e^k / (e + e^2 + e^3) = 0.0900306, 0.2447285, 0.6652410 */
    float x[6] = {1, 2, 3, 0, 0, 0};
    nn_attrs a = {.axis = -1};
    operand ops[1] = {F32_OP(2, {2, 3}, x)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    ASSERT_OK(eval1(NN_OP_SOFTMAX, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[0], 0.0900306, 1e-6);
    ASSERT_NEAR(y[1], 0.2447285, 1e-6);
    ASSERT_NEAR(y[2], 0.6652410, 1e-6);
    ASSERT_NEAR(y[4], 1.0 / 3.0, 1e-6);
    free(y);
    /* axis 0: column (1, 0) → 1/(1+e^-1) = 0.7310586, 0.2689414 */
    a.axis = 0;
    ASSERT_OK(eval1(NN_OP_SOFTMAX, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[0], 0.7310586, 1e-6);
    ASSERT_NEAR(y[3], 0.2689414, 1e-6);
    free(y);
    a.axis = 2;
    ASSERT_STATUS(eval1(NN_OP_SOFTMAX, &a, 1, ops, &s, (void **)&y, &dt, &err), MIEN_ERR_SHAPE,
                  &err);
    return 0;
}

TEST(ref_broadcast_add)
{
    /* a[2,1,3] = 0..5, b[4,1] = -10,0,10,100 → y[2,4,3], y[i][j][k] = a[i][k] + b[j],
     * with a fused ReLU: y[0][0][k] = max(k - 10, 0) = 0, y[1][3][2] = 5 + 100 */
    float av[6] = {0, 1, 2, 3, 4, 5}, bv[4] = {-10, 0, 10, 100};
    nn_attrs a = {.act = NN_ACT_RELU};
    operand ops[2] = {F32_OP(3, {2, 1, 3}, av), F32_OP(2, {4, 1}, bv)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    ASSERT_OK(eval1(NN_OP_ADD, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 3);
    ASSERT_EQ_INT(s.dims[0], 2);
    ASSERT_EQ_INT(s.dims[1], 4);
    ASSERT_EQ_INT(s.dims[2], 3);
    ASSERT_NEAR(y[0], 0, 0);
    ASSERT_NEAR(y[1 * 3 + 2], 2, 0);        /* [0][1][2] = 2 + 0 */
    ASSERT_NEAR(y[(1 * 4 + 2) * 3 + 1], 14, 0); /* [1][2][1] = 4 + 10 */
    ASSERT_NEAR(y[(1 * 4 + 3) * 3 + 2], 105, 0);
    free(y);
    /* Sub and PRelu use the same broadcast; [2,1,3] and [4,2] do not broadcast */
    ops[1].dims[1] = 1;
    ops[1].rank = 1;
    ops[1].dims[0] = 3; /* b = -10, 0, 10 along the last axis */
    ASSERT_OK(eval1(NN_OP_SUB, NULL, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[5], 5 - 10, 0);
    free(y);
    ops[1].rank = 2;
    ops[1].dims[0] = 2;
    ops[1].dims[1] = 2;
    ASSERT_STATUS(eval1(NN_OP_ADD, NULL, 2, ops, &s, (void **)&y, &dt, &err), MIEN_ERR_SHAPE,
                  &err);
    return 0;
}

TEST(ref_slice_negative)
{
    /* x = 0..11 as 3×4. axis 1, start 1, end -1 → columns 1..2: 1 2 / 5 6 / 9 10 */
    float x[12];
    nn_attrs a = {.n_axes = 1, .axes = {1}, .starts = {1}, .ends = {-1}, .steps = {1}};
    operand ops[1] = {F32_OP(2, {3, 4}, x)};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    for (int i = 0; i < 12; i++) {
        x[i] = (float)i;
    }
    ASSERT_OK(eval1(NN_OP_SLICE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[0], 3);
    ASSERT_EQ_INT(s.dims[1], 2);
    ASSERT_NEAR(y[0], 1, 0);
    ASSERT_NEAR(y[1], 2, 0);
    ASSERT_NEAR(y[5], 10, 0);
    free(y);
    /* axis -2 reversed (start -1, end INT64_MIN clamps to -1, step -1), and axis 1 from 2
     * to INT64_MAX (clamps to 4): rows 2,1,0 × columns 2,3 */
    a.n_axes = 2;
    a.axes[0] = -2, a.starts[0] = -1, a.ends[0] = INT64_MIN, a.steps[0] = -1;
    a.axes[1] = 1, a.starts[1] = 2, a.ends[1] = INT64_MAX, a.steps[1] = 1;
    ASSERT_OK(eval1(NN_OP_SLICE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[0], 3);
    ASSERT_EQ_INT(s.dims[1], 2);
    ASSERT_NEAR(y[0], 10, 0);
    ASSERT_NEAR(y[1], 11, 0);
    ASSERT_NEAR(y[4], 2, 0);
    ASSERT_NEAR(y[5], 3, 0);
    free(y);
    /* step 2 over 0..3 → columns 0, 2; empty when start ≥ end */
    a.n_axes = 1;
    a.axes[0] = 1, a.starts[0] = 0, a.ends[0] = 4, a.steps[0] = 2;
    ASSERT_OK(eval1(NN_OP_SLICE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[1], 2);
    ASSERT_NEAR(y[3], 6, 0);
    free(y);
    a.starts[0] = 3, a.ends[0] = 1, a.steps[0] = 1;
    ASSERT_OK(eval1(NN_OP_SLICE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[1], 0);
    free(y);
    return 0;
}

TEST(ref_reshape_zero_minus_one)
{
    float x[24] = {0};
    int64_t spec64[2] = {0, -1}, bad[2] = {5, -1};
    int32_t spec32[2] = {-1, 4};
    operand ops[2] = {F32_OP(3, {2, 3, 4}, x), {NN_I64, 1, {2}, spec64}};
    nn_shape s;
    nn_dtype dt;
    float *y;
    mien_error err;
    x[23] = 7.0f;
    ASSERT_OK(eval1(NN_OP_RESHAPE, NULL, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 2);
    ASSERT_EQ_INT(s.dims[0], 2);
    ASSERT_EQ_INT(s.dims[1], 12);
    ASSERT_NEAR(y[23], 7, 0);
    free(y);
    ops[1].dtype = NN_I32;
    ops[1].data = spec32;
    ASSERT_OK(eval1(NN_OP_RESHAPE, NULL, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[0], 6);
    ASSERT_EQ_INT(s.dims[1], 4);
    free(y);
    ops[1].dtype = NN_I64;
    ops[1].data = bad; /* 24 is not a multiple of 5 */
    ASSERT_STATUS(eval1(NN_OP_RESHAPE, NULL, 2, ops, &s, (void **)&y, &dt, &err),
                  MIEN_ERR_SHAPE, &err);
    ASSERT_CONTAINS(err.message, "Reshape");
    return 0;
}

TEST(ref_gather_scalar)
{
    /* Gather(shape [1,3,240,320], -1) with a 0-D index: a 0-D result 320 */
    int64_t shape[4] = {1, 3, 240, 320}, idx = -1, *y;
    int32_t idx2[2] = {2, 0};
    float m[6] = {0, 1, 2, 3, 4, 5}, *fy;
    int32_t col = 2;
    operand ops[2] = {{NN_I64, 1, {4}, shape}, {NN_I64, 0, {0}, &idx}};
    nn_attrs a = {.axis = 0};
    nn_shape s;
    nn_dtype dt;
    mien_error err;
    ASSERT_OK(eval1(NN_OP_GATHER, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(dt, NN_I64);
    ASSERT_EQ_INT(s.rank, 0);
    ASSERT_EQ_INT(y[0], 320);
    free(y);
    ops[1] = (operand){NN_I32, 1, {2}, idx2};
    ASSERT_OK(eval1(NN_OP_GATHER, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 1);
    ASSERT_EQ_INT(y[0], 240);
    ASSERT_EQ_INT(y[1], 1);
    free(y);
    /* float [2,3], axis 1, scalar index 2 → [2]: 2, 5 */
    ops[0] = (operand)F32_OP(2, {2, 3}, m);
    ops[1] = (operand){NN_I32, 0, {0}, &col};
    a.axis = 1;
    ASSERT_OK(eval1(NN_OP_GATHER, &a, 2, ops, &s, (void **)&fy, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 1);
    ASSERT_EQ_INT(s.dims[0], 2);
    ASSERT_NEAR(fy[0], 2, 0);
    ASSERT_NEAR(fy[1], 5, 0);
    free(fy);
    col = 3;
    ASSERT_STATUS(eval1(NN_OP_GATHER, &a, 2, ops, &s, (void **)&fy, &dt, &err),
                  MIEN_ERR_SHAPE, &err);
    return 0;
}

TEST(ref_concat_i64)
{
    int64_t a1[1] = {1}, a2[2] = {-1, 4420}, *y;
    float f1[4] = {1, 2, 3, 4}, f2[2] = {5, 6}, *fy;
    operand ops[2] = {{NN_I64, 1, {1}, a1}, {NN_I64, 1, {2}, a2}};
    nn_attrs a = {.axis = 0};
    nn_shape s;
    nn_dtype dt;
    mien_error err;
    ASSERT_OK(eval1(NN_OP_CONCAT, &a, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(dt, NN_I64);
    ASSERT_EQ_INT(s.dims[0], 3);
    ASSERT_EQ_INT(y[0], 1);
    ASSERT_EQ_INT(y[1], -1);
    ASSERT_EQ_INT(y[2], 4420);
    free(y);
    /* float [2,2] ++ [2,1] on axis -1 → rows 1 2 5 / 3 4 6 */
    ops[0] = (operand)F32_OP(2, {2, 2}, f1);
    ops[1] = (operand)F32_OP(2, {2, 1}, f2);
    a.axis = -1;
    ASSERT_OK(eval1(NN_OP_CONCAT, &a, 2, ops, &s, (void **)&fy, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[1], 3);
    ASSERT_NEAR(fy[2], 5, 0);
    ASSERT_NEAR(fy[3], 3, 0);
    ASSERT_NEAR(fy[5], 6, 0);
    free(fy);
    a.axis = 0; /* [2,2] and [2,1] differ off axis 0 */
    ASSERT_STATUS(eval1(NN_OP_CONCAT, &a, 2, ops, &s, (void **)&fy, &dt, &err),
                  MIEN_ERR_SHAPE, &err);
    return 0;
}

TEST(ref_misc_ops)
{
    /* x = [[1,-2,3],[-4,5,-6]] */
    float x[6] = {1, -2, 3, -4, 5, -6}, slope[3] = {0.5f, 0.25f, 2}, *y;
    float scale[2] = {2, 1}, bias[2] = {1, 0}, mean[2] = {1, -1}, var[2] = {4, 0};
    operand ops[5] = {F32_OP(2, {2, 3}, x), F32_OP(1, {3}, slope)};
    nn_attrs a = {0};
    nn_shape s;
    nn_dtype dt;
    mien_error err;
    /* PRelu with a per-column slope: -2·0.25, -4·0.5, -6·2 */
    ASSERT_OK(eval1(NN_OP_PRELU, NULL, 2, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[0], 1, 0);
    ASSERT_NEAR(y[1], -0.5, 0);
    ASSERT_NEAR(y[3], -2, 0);
    ASSERT_NEAR(y[5], -12, 0);
    free(y);
    /* ReduceSum over axis 1 keepdims: 2, -5; ReduceMax over axis 0 no keepdims: 1 5 3 */
    a.n_axes = 1;
    a.axes[0] = 1;
    a.keepdims = true;
    ASSERT_OK(eval1(NN_OP_REDUCE_SUM, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 2);
    ASSERT_EQ_INT(s.dims[1], 1);
    ASSERT_NEAR(y[0], 2, 0);
    ASSERT_NEAR(y[1], -5, 0);
    free(y);
    a.axes[0] = 0;
    a.keepdims = false;
    ASSERT_OK(eval1(NN_OP_REDUCE_MAX, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 1);
    ASSERT_NEAR(y[1], 5, 0);
    ASSERT_NEAR(y[2], 3, 0);
    free(y);
    /* Transpose [2,3] → [3,2]: 1 -4 / -2 5 / 3 -6 */
    a = (nn_attrs){.n_perm = 2, .perm = {1, 0}};
    ASSERT_OK(eval1(NN_OP_TRANSPOSE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[0], 3);
    ASSERT_NEAR(y[1], -4, 0);
    ASSERT_NEAR(y[2], -2, 0);
    free(y);
    /* BatchNormalization on [1,2,1,3] (channel = row), eps 1: (x - mean)/sqrt(var + eps)
     * ·scale + bias; channel 0: (x-1)·2/sqrt(5) + 1; channel 1: (x+1)/1·1 + 0 = x + 1 */
    ops[0].rank = 4;
    ops[0].dims[0] = 1, ops[0].dims[1] = 2, ops[0].dims[2] = 1, ops[0].dims[3] = 3;
    ops[1] = (operand)F32_OP(1, {2}, scale);
    ops[2] = (operand)F32_OP(1, {2}, bias);
    ops[3] = (operand)F32_OP(1, {2}, mean);
    ops[4] = (operand)F32_OP(1, {2}, var);
    a = (nn_attrs){.epsilon = 1.0f};
    ASSERT_OK(eval1(NN_OP_BATCHNORM, &a, 5, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_NEAR(y[0], 2.0 * 0 / sqrt(5.0) + 1, 1e-6);
    ASSERT_NEAR(y[2], 2.0 * 2 / sqrt(5.0) + 1, 1e-6);
    ASSERT_NEAR(y[4], 6, 1e-6); /* (5 + 1) / 1 · 1 + 0 */
    free(y);
    /* Unsqueeze axes [0, -1] on [1,2,1,3] → [1,1,2,1,3,1]; Squeeze all ones → [2,3] */
    a = (nn_attrs){.n_axes = 2, .axes = {0, -1}};
    ASSERT_OK(eval1(NN_OP_UNSQUEEZE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 6);
    ASSERT_EQ_INT(s.dims[2], 2);
    ASSERT_EQ_INT(s.dims[5], 1);
    free(y);
    a = (nn_attrs){0};
    ASSERT_OK(eval1(NN_OP_SQUEEZE, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.rank, 2);
    ASSERT_EQ_INT(s.dims[1], 3);
    free(y);
    a = (nn_attrs){.n_axes = 1, .axes = {1}};
    ASSERT_STATUS(eval1(NN_OP_SQUEEZE, &a, 1, ops, &s, (void **)&y, &dt, &err),
                  MIEN_ERR_SHAPE, &err);
    /* Flatten axis 2: [1,2,1,3] → [2,3]; Shape → int64 [1,2,1,3] */
    a = (nn_attrs){.axis = 2};
    ASSERT_OK(eval1(NN_OP_FLATTEN, &a, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(s.dims[0], 2);
    ASSERT_EQ_INT(s.dims[1], 3);
    free(y);
    ASSERT_OK(eval1(NN_OP_SHAPE, NULL, 1, ops, &s, (void **)&y, &dt, &err), &err);
    ASSERT_EQ_INT(dt, NN_I64);
    ASSERT_EQ_INT(((int64_t *)(void *)y)[3], 3);
    free(y);
    return 0;
}

TEST(ref_run_graph)
{
    /* x[1,2] → Gemm(W[3,2] transposed, bias, alpha 2) → Softmax.
     * x = (1, 2), W rows (1,0) (0,1) (1,1), bias (0, 0, -3):
     * logits 2·(1, 2, 3) + (0, 0, -3) = (2, 4, 3) → softmax 0.0900306 0.6652410 0.2447285 */
    nn_graph *g = nn_graph_new();
    mien_error err;
    int64_t xd[2] = {-1, 2}, wd[2] = {3, 2}, bd[1] = {3};
    float *w = malloc(6 * sizeof(float)), *b = malloc(3 * sizeof(float));
    float x[2] = {1, 2}, *out[1];
    const float *ins[1] = {x};
    nn_shape in = {2, {1, 2}}, out_shape[1];
    nn_attrs gemm = {.trans_b = true, .alpha = 2.0f, .beta = 1.0f}, sm = {.axis = 1};
    ASSERT_TRUE(g != NULL && w != NULL && b != NULL);
    memcpy(w, (float[6]){1, 0, 0, 1, 1, 1}, sizeof(float) * 6);
    memcpy(b, (float[3]){0, 0, -3}, sizeof(float) * 3);
    int tx = nn_graph_add_tensor(g, "x", NN_F32, 2, xd, NULL);
    int tw = nn_graph_add_tensor(g, "w", NN_F32, 2, wd, w);
    int tb = nn_graph_add_tensor(g, "b", NN_F32, 1, bd, b);
    int tl = nn_graph_add_tensor(g, "logits", NN_F32, 2, xd, NULL);
    int tp = nn_graph_add_tensor(g, "prob", NN_F32, 2, xd, NULL);
    int gin[3] = {tx, tw, tb};
    ASSERT_TRUE(nn_graph_add_node(g, NN_OP_GEMM, "fc", 3, gin, 1, &tl, &gemm) == 0);
    ASSERT_TRUE(nn_graph_add_node(g, NN_OP_SOFTMAX, "sm", 1, &tl, 1, &tp, &sm) == 1);
    g->n_inputs = 1;
    g->inputs[0] = tx;
    g->n_outputs = 1;
    g->outputs[0] = tp;
    ASSERT_OK(nn_ref_run(g, ins, &in, out, out_shape, &err), &err);
    ASSERT_EQ_INT(out_shape[0].rank, 2);
    ASSERT_EQ_INT(out_shape[0].dims[1], 3);
    ASSERT_NEAR(out[0][0], 0.0900306, 1e-6);
    ASSERT_NEAR(out[0][1], 0.6652410, 1e-6);
    ASSERT_NEAR(out[0][2], 0.2447285, 1e-6);
    free(out[0]);
    /* an input of the wrong width fails before running anything */
    in.dims[1] = 3;
    ASSERT_STATUS(nn_ref_run(g, ins, &in, out, out_shape, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_TRUE(out[0] == NULL);
    ASSERT_CONTAINS(err.message, "input 'x'");
    nn_graph_free(g);
    return 0;
}

TEST(ref_bad_shapes_no_crash)
{
    /* Every op on operands of mismatched ranks and sizes (including empty and 0-D ones)
     * and odd attributes: each call returns a status, never crashes (ASan builds check
     * the memory accesses), and any output it returns is freed. */
    static const nn_shape shapes[] = {
        {0, {0}}, {1, {0}}, {1, {3}}, {2, {2, 3}}, {4, {1, 2, 3, 3}}, {4, {1, 1, 1, 1}},
        {3, {2, 1, 3}}, {4, {2, 0, 2, 2}},
    };
    static const nn_dtype dtypes[] = {NN_F32, NN_I64, NN_I32};
    static float data[64];
    uint32_t seed = 12345;
    int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0])), calls = 0;
    for (int i = 0; i < 64; i++) {
        data[i] = (float)(i % 5) - 1.0f; /* also small valid integers when read as int32 */
    }
    for (int op = 0; op < NN_OP_COUNT; op++) {
        for (int trial = 0; trial < 200; trial++) {
            operand ops[5];
            nn_attrs a = {0};
            nn_shape s;
            nn_dtype dt;
            void *y = NULL;
            int n_in;
            seed = seed * 1103515245u + 12345u;
            n_in = 1 + (int)((seed >> 16) % 5);
            for (int k = 0; k < n_in; k++) {
                const nn_shape *sh;
                seed = seed * 1103515245u + 12345u;
                sh = &shapes[(seed >> 16) % (uint32_t)n_shapes];
                ops[k].dtype = k == 0 || (seed >> 8) % 4 ? NN_F32 : dtypes[(seed >> 4) % 3];
                if (k == 1 && (op == NN_OP_GATHER || op == NN_OP_RESHAPE)) {
                    ops[k].dtype = dtypes[1 + (seed >> 12) % 2];
                }
                ops[k].rank = sh->rank;
                memcpy(ops[k].dims, sh->dims, sizeof(sh->dims));
                ops[k].data = (seed >> 24) % 7 == 0 && k > 0 ? NULL : data;
            }
            seed = seed * 1103515245u + 12345u;
            a.axis = (int64_t)((seed >> 16) % 9) - 4;
            a.n_axes = (int)((seed >> 20) % 3);
            a.axes[0] = (int64_t)((seed >> 8) % 9) - 4;
            a.axes[1] = (int64_t)((seed >> 12) % 5) - 2;
            a.starts[0] = (int64_t)((seed >> 4) % 7) - 3;
            a.ends[0] = (seed >> 24) % 2 ? INT64_MAX : -1;
            a.steps[0] = (seed >> 25) % 2 ? -1 : 2;
            a.kernel[0] = a.kernel[1] = 1 + (int64_t)((seed >> 26) % 3);
            a.stride[0] = a.stride[1] = 1 + (int64_t)((seed >> 28) % 2);
            a.auto_pad = (nn_auto_pad)((seed >> 29) % 4);
            a.pads[2] = (int64_t)((seed >> 5) % 2);
            a.group = 1 + (int64_t)((seed >> 9) % 2);
            a.n_perm = (int)((seed >> 13) % 5);
            for (int d = 0; d < a.n_perm; d++) {
                a.perm[d] = (int64_t)(((seed >> (d + 3)) + (uint32_t)d) % 4);
            }
            a.keepdims = (seed >> 30) % 2;
            a.trans_b = (seed >> 31) % 2;
            a.alpha = a.beta = 1.0f;
            /* the operands' data buffer holds 64 elements: skip shapes that need more */
            {
                bool fits = true;
                for (int k = 0; k < n_in; k++) {
                    int64_t m = 1;
                    for (int d = 0; d < ops[k].rank; d++) {
                        m *= ops[k].dims[d];
                    }
                    fits = fits && m * (int64_t)nn_dtype_size(ops[k].dtype) <= 64 * 4;
                }
                if (!fits) {
                    continue;
                }
            }
            if (eval1((nn_op)op, &a, n_in, ops, &s, &y, &dt, NULL) == MIEN_OK) {
                ASSERT_TRUE(y != NULL);
                free(y);
            } else {
                ASSERT_TRUE(y == NULL);
            }
            calls++;
        }
    }
    ASSERT_TRUE(calls > 1000);
    return 0;
}
