/* test_tflite_load.c — the TFLite loader on the four model files (structure, names,
 * dims, op counts), on a small model built here byte by byte (every translation rule
 * checked value by value), and on truncated, bit-flipped and unsupported inputs, which
 * must fail with a status and never crash or over-read (the suite runs under ASan). */
#include <stdbool.h>
#include <stdint.h>

#include "nn/graph.h"
#include "nn/tflite_load.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Loads models/<file> into *g; returns 0, TEST_SKIP or 1 (message printed). */
static int load_model(const char *file, nn_graph **g)
{
    char path[4200];
    size_t size = 0;
    unsigned char *bytes;
    mien_error err = {0};
    mien_status st;
    *g = NULL;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    snprintf(path, sizeof(path), "%s/%s", test_models_dir(), file);
    bytes = test_read_file(path, &size);
    if (bytes == NULL) {
        fprintf(stderr, "  cannot read %s\n", path);
        return 1;
    }
    st = nn_tflite_load(bytes, size, g, &err);
    free(bytes);
    if (st != MIEN_OK) {
        fprintf(stderr, "  %s: %s: %s\n", file, mien_strerror(st), err.message);
        return 1;
    }
    return 0;
}

static int count_op(const nn_graph *g, nn_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        n += g->nodes[i].op == op;
    }
    return n;
}

/* True when tensor `t` has exactly the dims given (rank entries). */
static bool dims_are(const nn_tensor *t, int rank, const int64_t *dims)
{
    if (t->rank != rank) {
        return false;
    }
    for (int i = 0; i < rank; i++) {
        if (t->dims[i] != dims[i]) {
            return false;
        }
    }
    return true;
}

#define ASSERT_DIMS(tensor, ...)                                                       \
    do {                                                                               \
        const int64_t want_[] = {__VA_ARGS__};                                         \
        char got_[128];                                                                \
        const nn_tensor *t_ = (tensor);                                                \
        if (!dims_are(t_, (int)(sizeof(want_) / sizeof(want_[0])), want_)) {           \
            TEST_FAIL_("%s '%s' has dims %s, want [%s]", #tensor, t_->name,            \
                       nn_dims_str(t_->rank, t_->dims, got_, sizeof(got_)), #__VA_ARGS__); \
        }                                                                              \
    } while (0)

/* The node writing tensor `name`, or NULL. */
static const nn_node *producer(const nn_graph *g, const char *name)
{
    int t = nn_graph_find_tensor(g, name);
    for (int i = 0; t >= 0 && i < g->n_nodes; i++) {
        if (g->nodes[i].outputs[0] == t) {
            return &g->nodes[i];
        }
    }
    return NULL;
}

/* Loads bytes[size] through an exact-size copy (so ASan sees any read past the end);
 * any status is fine, a crash is not. Returns the status. */
static mien_status load_copy(const uint8_t *bytes, size_t size)
{
    uint8_t *copy = malloc(size > 0 ? size : 1);
    nn_graph *g = NULL;
    mien_error err = {0};
    mien_status st;
    if (copy == NULL) {
        return MIEN_ERR_NOMEM;
    }
    memcpy(copy, bytes, size);
    st = nn_tflite_load(copy, size, &g, &err);
    if (st == MIEN_OK) {
        nn_graph_free(g);
    } else if (g != NULL || err.code != st || err.message[0] == '\0') {
        st = MIEN_ERR_INTERNAL; /* failure must leave *out NULL and say why */
    }
    free(copy);
    return st;
}

/* ---- a FlatBuffer writer for hand-made models ---------------------------------------------
 * Objects are appended front to back, so a parent is written before its children and
 * each uoffset (always forward) is patched in when the child is written. Every table
 * field takes 4 bytes; int8 fields use the low byte (little-endian). */

#define FBB_CAP 8192
#define FBB_NONE INT32_MIN /* an absent table field */

typedef struct fbb {
    uint8_t b[FBB_CAP];
    size_t n;
} fbb;

static void fbb_put_u32(fbb *f, size_t at, uint32_t v)
{
    f->b[at] = (uint8_t)v;
    f->b[at + 1] = (uint8_t)(v >> 8);
    f->b[at + 2] = (uint8_t)(v >> 16);
    f->b[at + 3] = (uint8_t)(v >> 24);
}

static size_t fbb_align(fbb *f)
{
    while (f->n % 4 != 0) {
        f->b[f->n++] = 0;
    }
    return f->n;
}

static size_t fbb_u32(fbb *f, uint32_t v)
{
    size_t at = fbb_align(f);
    fbb_put_u32(f, at, v);
    f->n += 4;
    return at;
}

/* Appends a vtable and a table of n fields (vals[i] == FBB_NONE: absent); returns the
 * table's position. Field i lives at pos + 4 + 4 * i. */
static size_t fbb_table(fbb *f, int n, const int32_t *vals)
{
    size_t vt = fbb_align(f), pos;
    f->b[vt] = (uint8_t)(4 + 2 * n);
    f->b[vt + 1] = 0;
    f->b[vt + 2] = (uint8_t)(4 + 4 * n);
    f->b[vt + 3] = 0;
    for (int i = 0; i < n; i++) {
        int off = vals[i] == FBB_NONE ? 0 : 4 + 4 * i;
        f->b[vt + 4 + 2 * i] = (uint8_t)off;
        f->b[vt + 5 + 2 * i] = 0;
    }
    f->n = vt + 4 + 2 * (size_t)n;
    pos = fbb_align(f);
    fbb_put_u32(f, pos, (uint32_t)(pos - vt)); /* soffset: the vtable is before */
    for (int i = 0; i < n; i++) {
        fbb_put_u32(f, pos + 4 + 4 * (size_t)i, vals[i] == FBB_NONE ? 0 : (uint32_t)vals[i]);
    }
    f->n = pos + 4 + 4 * (size_t)n;
    return pos;
}

/* Points the uoffset field `id` of the table at `table` to position `target`. */
static void fbb_link(fbb *f, size_t table, int id, size_t target)
{
    size_t slot = table + 4 + 4 * (size_t)id;
    fbb_put_u32(f, slot, (uint32_t)(target - slot));
}

/* Appends a vector of n int32; returns its position (the length word). */
static size_t fbb_ints(fbb *f, int n, const int32_t *v)
{
    size_t at = fbb_u32(f, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        fbb_u32(f, (uint32_t)v[i]);
    }
    return at;
}

static size_t fbb_bytes(fbb *f, size_t n, const void *p)
{
    size_t at = fbb_u32(f, (uint32_t)n);
    memcpy(f->b + f->n, p, n);
    f->n += n;
    return at;
}

static size_t fbb_string(fbb *f, const char *s)
{
    size_t at = fbb_bytes(f, strlen(s) + 1, s);
    fbb_put_u32(f, at, (uint32_t)strlen(s)); /* the NUL is stored but not counted */
    return at;
}

/* Appends a vector of n table offsets, returns its position; slot k at pos + 4 + 4k. */
static size_t fbb_slots(fbb *f, int n)
{
    size_t at = fbb_u32(f, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        fbb_u32(f, 0);
    }
    return at;
}

static void fbb_link_slot(fbb *f, size_t vec, int k, size_t target)
{
    size_t slot = vec + 4 + 4 * (size_t)k;
    fbb_put_u32(f, slot, (uint32_t)(target - slot));
}

/* A tensor of a hand-made model: type 0 FLOAT32 / 2 INT32; data: n_data values (floats
 * or int32 by type), none for activations. */
typedef struct mk_tensor {
    const char *name;
    int rank;
    int32_t shape[4];
    int type;
    int n_data;
    const float *f;
    const int32_t *i;
} mk_tensor;

/* An operator: builtin code, tensor indices, options table fields (FBB_NONE absent). */
typedef struct mk_op {
    int32_t code;
    int n_in;
    int32_t in[3];
    int32_t out;
    int n_opt;
    int32_t opt[8];
} mk_op;

/* Writes a TFLite model with one OperatorCode per operator into f. */
static void build_model(fbb *f, int n_t, const mk_tensor *ts, int n_op, const mk_op *ops,
                        int n_in, const int32_t *ins, int n_out, const int32_t *outs)
{
    const int32_t model_vals[5] = {3, 0, 0, 0, 0};
    size_t model, codes, subs, bufs, sg, tens, opv, v;
    f->n = 0;
    fbb_u32(f, 0); /* root offset, patched below */
    memcpy(f->b + 4, "TFL3", 4);
    f->n = 8;
    model = fbb_table(f, 5, model_vals);
    fbb_put_u32(f, 0, (uint32_t)model);
    fbb_link(f, model, 3, fbb_string(f, "hand-made"));

    codes = fbb_slots(f, n_op);
    fbb_link(f, model, 1, codes);
    for (int k = 0; k < n_op; k++) {
        int32_t vals[4] = {ops[k].code < 127 ? ops[k].code : 127, FBB_NONE, FBB_NONE,
                           ops[k].code};
        fbb_link_slot(f, codes, k, fbb_table(f, 4, vals));
    }

    bufs = fbb_slots(f, n_t + 1); /* buffer 0 is the empty one; tensor k uses k + 1 */
    fbb_link(f, model, 4, bufs);
    for (int k = 0; k <= n_t; k++) {
        const mk_tensor *t = k > 0 ? &ts[k - 1] : NULL;
        int32_t vals[1] = {t != NULL && t->n_data > 0 ? 0 : FBB_NONE};
        size_t bt = fbb_table(f, 1, vals);
        fbb_link_slot(f, bufs, k, bt);
        if (vals[0] != FBB_NONE) {
            fbb_link(f, bt, 0, fbb_bytes(f, 4 * (size_t)t->n_data,
                                         t->type == 0 ? (const void *)t->f : (const void *)t->i));
        }
    }

    subs = fbb_slots(f, 1);
    fbb_link(f, model, 2, subs);
    {
        int32_t vals[4] = {0, 0, 0, 0};
        sg = fbb_table(f, 4, vals);
    }
    fbb_link_slot(f, subs, 0, sg);
    fbb_link(f, sg, 1, fbb_ints(f, n_in, ins));
    fbb_link(f, sg, 2, fbb_ints(f, n_out, outs));
    tens = fbb_slots(f, n_t);
    fbb_link(f, sg, 0, tens);
    for (int k = 0; k < n_t; k++) {
        int32_t vals[4] = {0, ts[k].type, ts[k].n_data > 0 ? k + 1 : 0, 0};
        size_t t = fbb_table(f, 4, vals);
        fbb_link_slot(f, tens, k, t);
        fbb_link(f, t, 0, fbb_ints(f, ts[k].rank, ts[k].shape));
        fbb_link(f, t, 3, fbb_string(f, ts[k].name));
    }
    opv = fbb_slots(f, n_op);
    fbb_link(f, sg, 3, opv);
    for (int k = 0; k < n_op; k++) {
        int32_t vals[5] = {k, 0, 0, FBB_NONE, ops[k].n_opt > 0 ? 0 : FBB_NONE};
        size_t t = fbb_table(f, 5, vals);
        fbb_link_slot(f, opv, k, t);
        fbb_link(f, t, 1, fbb_ints(f, ops[k].n_in, ops[k].in));
        fbb_link(f, t, 2, fbb_ints(f, 1, &ops[k].out));
        if (ops[k].n_opt > 0) {
            v = fbb_table(f, ops[k].n_opt, ops[k].opt);
            fbb_link(f, t, 4, v);
        }
    }
}

/* The small model of tflite_load_rules (and the byte-flip sweep):
 *   in[1,4,4,2] -CONV_2D(w[3,2,2,2] OHWI, b, VALID, RELU6)-> conv[1,3,3,3]
 *   -DEPTHWISE(w[1,2,2,6], multiplier 2, no bias, RELU)-> dw[1,2,2,6]
 *   -ADD c[6]-> add -MUL(m[1,2,2,6] first)-> mul[1,2,2,6]
 *   mul -REDUCE_MAX axes (1,2)-> max[1,6];  mul -SUM axis -2-> sum[1,2,6]
 *   mul -RESHAPE-> flat[1,24] -RESHAPE-> back[1,2,2,6];  mul -FULLY_CONNECTED-> fc[1,5]
 * Outputs fc, back, sum, max. `code0` replaces the first operator's code. */
static void build_rules_model(fbb *f, int32_t code0, int act0, int in_type)
{
    static float w[24], dw[24], c[6], m[24], fc_w[120], b[3] = {0.5f, 1.5f, 2.5f}, fc_b[5];
    static const int32_t axes[2] = {1, 2}, axis2[1] = {-2}, shape1[2] = {1, 24},
                         shape2[4] = {1, 2, 2, 6};
    for (int i = 0; i < 24; i++) {
        w[i] = (float)i;
        dw[i] = (float)(100 + i);
        m[i] = (float)(200 + i);
    }
    for (int i = 0; i < 6; i++) {
        c[i] = (float)(10 + i);
    }
    for (int i = 0; i < 120; i++) {
        fc_w[i] = (float)i / 100.0f;
    }
    const mk_tensor ts[] = {
        {"in", 4, {1, 4, 4, 2}, in_type, 0, NULL, NULL},     /* 0 */
        {"w", 4, {3, 2, 2, 2}, 0, 24, w, NULL},              /* 1 */
        {"b", 1, {3}, 0, 3, b, NULL},                        /* 2 */
        {"conv", 4, {1, 3, 3, 3}, 0, 0, NULL, NULL},         /* 3 */
        {"dw_w", 4, {1, 2, 2, 6}, 0, 24, dw, NULL},          /* 4 */
        {"dw", 4, {1, 2, 2, 6}, 0, 0, NULL, NULL},           /* 5 */
        {"c", 1, {6}, 0, 6, c, NULL},                        /* 6 */
        {"add", 4, {1, 2, 2, 6}, 0, 0, NULL, NULL},          /* 7 */
        {"m", 4, {1, 2, 2, 6}, 0, 24, m, NULL},              /* 8 */
        {"mul", 4, {1, 2, 2, 6}, 0, 0, NULL, NULL},          /* 9 */
        {"axes", 1, {2}, 2, 2, NULL, axes},                  /* 10 */
        {"max", 2, {1, 6}, 0, 0, NULL, NULL},                /* 11 */
        {"axis2", 0, {0}, 2, 1, NULL, axis2},                /* 12 */
        {"sum", 3, {1, 2, 6}, 0, 0, NULL, NULL},             /* 13 */
        {"shape1", 1, {2}, 2, 2, NULL, shape1},              /* 14 */
        {"flat", 2, {1, 24}, 0, 0, NULL, NULL},              /* 15 */
        {"fc_w", 2, {5, 24}, 0, 120, fc_w, NULL},            /* 16 */
        {"fc_b", 1, {5}, 0, 5, fc_b, NULL},                  /* 17 */
        {"fc", 2, {1, 5}, 0, 0, NULL, NULL},                 /* 18 */
        {"shape2", 1, {4}, 2, 4, NULL, shape2},              /* 19 */
        {"back", 4, {1, 2, 2, 6}, 0, 0, NULL, NULL},         /* 20 */
    };
    const mk_op ops[] = {
        {code0, 3, {0, 1, 2}, 3, 4, {1, 1, 1, act0}},                  /* CONV_2D */
        {4, 3, {3, 4, -1}, 5, 5, {1, 1, 1, 2, 1}},                     /* DEPTHWISE */
        {0, 2, {5, 6}, 7, 0, {0}},                                     /* ADD */
        {18, 2, {8, 7}, 9, 0, {0}},                                    /* MUL */
        {82, 2, {9, 10}, 11, 1, {0}},                                  /* REDUCE_MAX */
        {74, 2, {9, 12}, 13, 1, {0}},                                  /* SUM */
        {22, 2, {9, 14}, 15, 0, {0}},                                  /* RESHAPE */
        {9, 3, {9, 16, 17}, 18, 1, {0}},                               /* FULLY_CONNECTED */
        {22, 2, {15, 19}, 20, 0, {0}},                                 /* RESHAPE */
    };
    const int32_t ins[1] = {0}, outs[4] = {18, 20, 13, 11};
    build_model(f, (int)(sizeof(ts) / sizeof(ts[0])), ts, (int)(sizeof(ops) / sizeof(ops[0])),
                ops, 1, ins, 4, outs);
}

/* ---- the model files ---------------------------------------------------------------------- */

TEST(tflite_load_mobilefacenet)
{
    nn_graph *g;
    int rc = load_model("MobileFaceNet.tflite", &g);
    if (rc != 0) {
        return rc;
    }
    ASSERT_CONTAINS(g->source, "tflite v3");
    ASSERT_EQ_INT(g->n_inputs, 1);
    ASSERT_EQ_INT(g->n_outputs, 1);
    ASSERT_STR_EQ(g->tensors[g->inputs[0]].name, "input");
    ASSERT_DIMS(&g->tensors[g->inputs[0]], -1, 112, 112, 3);
    ASSERT_STR_EQ(g->tensors[g->outputs[0]].name, "embeddings");
    ASSERT_DIMS(&g->tensors[g->outputs[0]], -1, 192);
    /* 230 operators + the input Transpose + the Transpose before the final Reshape */
    ASSERT_EQ_INT(g->n_nodes, 232);
    ASSERT_EQ_INT(count_op(g, NN_OP_CONV), 35 + 17);
    ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_ABS), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_SUB), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_MUL), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_ADD), 45);
    ASSERT_EQ_INT(count_op(g, NN_OP_TRANSPOSE), 2);
    ASSERT_EQ_INT(count_op(g, NN_OP_RESHAPE), 1);
    ASSERT_EQ_INT(g->nodes[0].op, NN_OP_TRANSPOSE);
    ASSERT_EQ_INT(g->nodes[0].a.perm[1], 3);
    {
        /* the first depthwise conv: 64 groups, weights [64,1,3,3], TF SAME */
        const nn_node *n = producer(g, "MobileFaceNet/MobileFaceNet/SeparableConv2d/"
                                       "BatchNorm/FusedBatchNorm");
        ASSERT_TRUE(n != NULL && n->op == NN_OP_CONV);
        ASSERT_EQ_INT(n->a.group, 64);
        ASSERT_EQ_INT(n->a.auto_pad, NN_PAD_SAME_UPPER);
        ASSERT_DIMS(&g->tensors[n->inputs[1]], 64, 1, 3, 3);
        ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 64, 56, 56);
        /* the PReLU slope is re-laid [64] -> [1,64,1,1] */
        n = producer(g, "MobileFaceNet/MobileFaceNet/Conv2d_0/mul_1");
        ASSERT_TRUE(n != NULL && n->op == NN_OP_MUL);
        ASSERT_DIMS(&g->tensors[n->inputs[0]], 1, 64, 1, 1);
    }
    {
        mien_error err;
        nn_shape in = {4, {3, 112, 112, 3}}, *shapes = calloc((size_t)g->n_tensors,
                                                               sizeof(*shapes));
        ASSERT_TRUE(shapes != NULL);
        ASSERT_OK(nn_graph_infer_shapes(g, &in, shapes, &err), &err);
        ASSERT_EQ_INT(shapes[g->outputs[0]].rank, 2);
        ASSERT_EQ_INT(shapes[g->outputs[0]].dims[0], 3);
        ASSERT_EQ_INT(shapes[g->outputs[0]].dims[1], 192);
        free(shapes);
    }
    nn_graph_free(g);
    return 0;
}

TEST(tflite_load_pnet)
{
    nn_graph *g;
    mien_error err;
    nn_shape in = {4, {1, 100, 120, 3}}, *shapes;
    int rc = load_model("pnet.tflite", &g);
    if (rc != 0) {
        return rc;
    }
    ASSERT_EQ_INT(g->n_inputs, 1);
    ASSERT_EQ_INT(g->n_outputs, 2);
    ASSERT_STR_EQ(g->tensors[g->inputs[0]].name, "pnet/input");
    ASSERT_DIMS(&g->tensors[g->inputs[0]], -1, -1, -1, 3);
    ASSERT_STR_EQ(g->tensors[g->outputs[0]].name, "pnet/prob1");
    ASSERT_DIMS(&g->tensors[g->outputs[0]], -1, -1, -1, 2);
    ASSERT_STR_EQ(g->tensors[g->outputs[1]].name, "pnet/conv4-2/BiasAdd");
    ASSERT_DIMS(&g->tensors[g->outputs[1]], -1, -1, -1, 4);
    /* 29 operators + 1 input and 2 output Transposes */
    ASSERT_EQ_INT(g->n_nodes, 32);
    ASSERT_EQ_INT(count_op(g, NN_OP_CONV), 5);
    ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 6);
    ASSERT_EQ_INT(count_op(g, NN_OP_NEG), 6);
    ASSERT_EQ_INT(count_op(g, NN_OP_MUL), 3);
    ASSERT_EQ_INT(count_op(g, NN_OP_ADD), 3);
    ASSERT_EQ_INT(count_op(g, NN_OP_MAXPOOL), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_REDUCE_MAX), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_REDUCE_SUM), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_EXP), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_DIV), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_TRANSPOSE), 3);
    {
        /* softmax over channels: NHWC axis 3 -> NCHW axis 1, dims kept */
        const nn_node *n = producer(g, "pnet/Max");
        ASSERT_TRUE(n != NULL && n->op == NN_OP_REDUCE_MAX);
        ASSERT_EQ_INT(n->a.n_axes, 1);
        ASSERT_EQ_INT(n->a.axes[0], 1);
        ASSERT_TRUE(n->a.keepdims);
        n = producer(g, "pnet/conv1/BiasAdd");
        ASSERT_TRUE(n != NULL && n->op == NN_OP_CONV);
        ASSERT_EQ_INT(n->a.auto_pad, NN_PAD_VALID);
        n = producer(g, "pnet/pool1");
        ASSERT_TRUE(n != NULL && n->op == NN_OP_MAXPOOL);
        ASSERT_EQ_INT(n->a.auto_pad, NN_PAD_SAME_UPPER);
        ASSERT_EQ_INT(n->a.kernel[0], 2);
        ASSERT_EQ_INT(n->a.stride[1], 2);
    }
    /* any H, W: 100x120 -> conv 98x118 -> pool 49x59 -> conv 47x57 -> conv 45x55 */
    shapes = calloc((size_t)g->n_tensors, sizeof(*shapes));
    ASSERT_TRUE(shapes != NULL);
    ASSERT_OK(nn_graph_infer_shapes(g, &in, shapes, &err), &err);
    ASSERT_EQ_INT(shapes[g->outputs[0]].rank, 4);
    ASSERT_EQ_INT(shapes[g->outputs[0]].dims[1], 45);
    ASSERT_EQ_INT(shapes[g->outputs[0]].dims[2], 55);
    ASSERT_EQ_INT(shapes[g->outputs[0]].dims[3], 2);
    ASSERT_EQ_INT(shapes[g->outputs[1]].dims[3], 4);
    free(shapes);
    nn_graph_free(g);
    return 0;
}

TEST(tflite_load_rnet_onet)
{
    static const struct {
        const char *file, *input, *out[3];
        int64_t side, out_dim[3];
        int n_out, nodes, conv, pool, gemm, prelu;
    } M[2] = {
        {"rnet.tflite", "rnet/input", {"rnet/prob1", "rnet/conv5-2/conv5-2", NULL}, 24,
         {2, 4, 0}, 2, 40, 3, 2, 3, 4},
        {"onet.tflite", "onet/input",
         {"onet/prob1", "onet/conv6-2/conv6-2", "onet/conv6-3/conv6-3"}, 48, {2, 4, 10}, 3,
         49, 4, 3, 4, 5},
    };
    for (int m = 0; m < 2; m++) {
        nn_graph *g;
        const nn_node *n;
        int rc = load_model(M[m].file, &g);
        if (rc != 0) {
            return rc;
        }
        ASSERT_EQ_INT(g->n_inputs, 1);
        ASSERT_STR_EQ(g->tensors[g->inputs[0]].name, M[m].input);
        ASSERT_DIMS(&g->tensors[g->inputs[0]], -1, M[m].side, M[m].side, 3);
        ASSERT_EQ_INT(g->n_outputs, M[m].n_out);
        for (int i = 0; i < M[m].n_out; i++) {
            ASSERT_STR_EQ(g->tensors[g->outputs[i]].name, M[m].out[i]);
            ASSERT_DIMS(&g->tensors[g->outputs[i]], -1, M[m].out_dim[i]);
        }
        ASSERT_EQ_INT(g->n_nodes, M[m].nodes);
        ASSERT_EQ_INT(count_op(g, NN_OP_CONV), M[m].conv);
        ASSERT_EQ_INT(count_op(g, NN_OP_MAXPOOL), M[m].pool);
        ASSERT_EQ_INT(count_op(g, NN_OP_GEMM), M[m].gemm);
        ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 2 * M[m].prelu);
        ASSERT_EQ_INT(count_op(g, NN_OP_NEG), 2 * M[m].prelu);
        ASSERT_EQ_INT(count_op(g, NN_OP_MUL), M[m].prelu);
        ASSERT_EQ_INT(count_op(g, NN_OP_ADD), M[m].prelu);
        /* the input Transpose and the NHWC Transpose before the first FC's flatten */
        ASSERT_EQ_INT(count_op(g, NN_OP_TRANSPOSE), 2);
        ASSERT_EQ_INT(count_op(g, NN_OP_RESHAPE), 1);
        ASSERT_EQ_INT(count_op(g, NN_OP_REDUCE_MAX), 1);
        ASSERT_EQ_INT(count_op(g, NN_OP_REDUCE_SUM), 1);
        /* the 2-D softmax: axis 1 stays 1 */
        n = producer(g, m == 0 ? "rnet/Max" : "onet/Max");
        ASSERT_TRUE(n != NULL && n->a.axes[0] == 1 && n->a.keepdims);
        n = producer(g, M[m].out[0]);
        ASSERT_TRUE(n != NULL && n->op == NN_OP_DIV);
        nn_graph_free(g);
    }
    return 0;
}

/* ---- the translation rules, value by value ------------------------------------------------ */

TEST(tflite_load_rules)
{
    static fbb f;
    nn_graph *g = NULL;
    mien_error err;
    const nn_node *n;
    const nn_tensor *t;
    const float *v;
    build_rules_model(&f, 3, 3, 0);
    ASSERT_OK(nn_tflite_load(f.b, f.n, &g, &err), &err);
    ASSERT_STR_EQ(g->source, "tflite v3, hand-made");

    /* graph input: NHWC dims kept, then Transpose (0,3,1,2) */
    ASSERT_EQ_INT(g->n_inputs, 1);
    ASSERT_STR_EQ(g->tensors[g->inputs[0]].name, "in");
    ASSERT_DIMS(&g->tensors[g->inputs[0]], -1, 4, 4, 2);
    n = &g->nodes[0];
    ASSERT_EQ_INT(n->op, NN_OP_TRANSPOSE);
    ASSERT_EQ_INT(n->inputs[0], g->inputs[0]);
    ASSERT_EQ_INT(n->a.n_perm, 4);
    ASSERT_TRUE(n->a.perm[0] == 0 && n->a.perm[1] == 3 && n->a.perm[2] == 1 &&
                n->a.perm[3] == 2);
    ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 2, 4, 4);

    /* CONV_2D: OHWI -> OIHW, VALID, RELU6 -> CLIP 0..6 */
    n = producer(g, "conv");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_CONV && n->n_inputs == 3);
    ASSERT_EQ_INT(n->inputs[0], g->nodes[0].outputs[0]);
    t = &g->tensors[n->inputs[1]];
    ASSERT_DIMS(t, 3, 2, 2, 2);
    v = t->data;
    for (int o = 0; o < 3; o++) {
        for (int i = 0; i < 2; i++) {
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 2; x++) {
                    ASSERT_NEAR(v[((o * 2 + i) * 2 + y) * 2 + x], ((o * 2 + y) * 2 + x) * 2 + i,
                                0);
                }
            }
        }
    }
    ASSERT_STR_EQ(g->tensors[n->inputs[2]].name, "b");
    ASSERT_NEAR(((const float *)g->tensors[n->inputs[2]].data)[2], 2.5, 0);
    ASSERT_EQ_INT(n->a.auto_pad, NN_PAD_VALID);
    ASSERT_EQ_INT(n->a.group, 1);
    ASSERT_TRUE(n->a.kernel[0] == 2 && n->a.kernel[1] == 2 && n->a.stride[0] == 1 &&
                n->a.dilation[1] == 1);
    ASSERT_EQ_INT(n->a.act, NN_ACT_CLIP);
    ASSERT_NEAR(n->a.act_min, 0, 0);
    ASSERT_NEAR(n->a.act_max, 6, 0);
    ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 3, 3, 3);

    /* DEPTHWISE_CONV_2D: [1,kh,kw,6] -> [6,1,kh,kw], group = 3 input channels, no bias */
    n = producer(g, "dw");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_CONV && n->n_inputs == 2);
    t = &g->tensors[n->inputs[1]];
    ASSERT_DIMS(t, 6, 1, 2, 2);
    v = t->data;
    for (int o = 0; o < 6; o++) {
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 2; x++) {
                ASSERT_NEAR(v[(o * 2 + y) * 2 + x], 100 + (y * 2 + x) * 6 + o, 0);
            }
        }
    }
    ASSERT_EQ_INT(n->a.group, 3);
    ASSERT_EQ_INT(n->a.act, NN_ACT_RELU);

    /* ADD with [6] -> [1,6,1,1]; MUL with [1,2,2,6] (first operand) -> [1,6,2,2] */
    n = producer(g, "add");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_ADD);
    t = &g->tensors[n->inputs[1]];
    ASSERT_DIMS(t, 1, 6, 1, 1);
    ASSERT_NEAR(((const float *)t->data)[5], 15, 0);
    n = producer(g, "mul");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_MUL);
    t = &g->tensors[n->inputs[0]];
    ASSERT_DIMS(t, 1, 6, 2, 2);
    v = t->data;
    for (int c = 0; c < 6; c++) {
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 2; x++) {
                ASSERT_NEAR(v[(c * 2 + y) * 2 + x], 200 + (y * 2 + x) * 6 + c, 0);
            }
        }
    }
    ASSERT_STR_EQ(g->tensors[n->inputs[1]].name, "add");

    /* REDUCE_MAX over H, W without keep_dims: NCHW axes 2, 3 give [N, C] directly */
    n = producer(g, "max");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_REDUCE_MAX);
    ASSERT_STR_EQ(g->tensors[n->inputs[0]].name, "mul");
    ASSERT_TRUE(n->a.n_axes == 2 && n->a.axes[0] == 2 && n->a.axes[1] == 3 && !n->a.keepdims);
    /* SUM over W (-2) without keep_dims keeps H and C: reduced in NHWC after a Transpose */
    n = producer(g, "sum");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_REDUCE_SUM);
    ASSERT_TRUE(n->a.n_axes == 1 && n->a.axes[0] == 2 && !n->a.keepdims);
    ASSERT_DIMS(&g->tensors[n->inputs[0]], -1, 2, 2, 6);
    ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 2, 6);

    /* RESHAPE of a 4-D tensor: Transpose to NHWC, then Reshape to [-1, 24] */
    n = producer(g, "flat");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_RESHAPE);
    t = &g->tensors[n->inputs[1]];
    ASSERT_TRUE(t->dtype == NN_I64 && t->rank == 1 && t->dims[0] == 2);
    ASSERT_TRUE(((const int64_t *)t->data)[0] == -1 && ((const int64_t *)t->data)[1] == 24);
    ASSERT_DIMS(&g->tensors[n->inputs[0]], -1, 2, 2, 6);
    ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 24);

    /* FULLY_CONNECTED on a 4-D input: Transpose, Reshape [-1,24], Gemm(trans_b) */
    n = producer(g, "fc");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_GEMM && n->n_inputs == 3);
    ASSERT_TRUE(n->a.trans_b && !n->a.trans_a);
    ASSERT_NEAR(n->a.alpha, 1, 0);
    ASSERT_NEAR(n->a.beta, 1, 0);
    ASSERT_STR_EQ(g->tensors[n->inputs[1]].name, "fc_w");
    ASSERT_DIMS(&g->tensors[n->inputs[1]], 5, 24);
    ASSERT_DIMS(&g->tensors[n->inputs[0]], -1, 24);
    ASSERT_DIMS(&g->tensors[n->outputs[0]], -1, 5);
    {
        const nn_node *r = producer(g, g->tensors[n->inputs[0]].name);
        ASSERT_TRUE(r != NULL && r->op == NN_OP_RESHAPE);
        r = producer(g, g->tensors[r->inputs[0]].name);
        ASSERT_TRUE(r != NULL && r->op == NN_OP_TRANSPOSE && r->a.perm[1] == 2 &&
                    r->a.perm[3] == 1);
    }

    /* RESHAPE to a 4-D graph output: Reshape to NHWC [-1,2,2,6], Transpose to NCHW
     * "back:nchw", and the final Transpose back into "back" [-1,2,2,6] */
    ASSERT_EQ_INT(g->n_outputs, 4);
    ASSERT_STR_EQ(g->tensors[g->outputs[0]].name, "fc");
    ASSERT_STR_EQ(g->tensors[g->outputs[1]].name, "back");
    ASSERT_DIMS(&g->tensors[g->outputs[1]], -1, 2, 2, 6);
    ASSERT_STR_EQ(g->tensors[g->outputs[2]].name, "sum");
    ASSERT_STR_EQ(g->tensors[g->outputs[3]].name, "max");
    ASSERT_DIMS(&g->tensors[g->outputs[3]], -1, 6);
    n = producer(g, "back");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_TRANSPOSE && n->a.perm[1] == 2);
    ASSERT_STR_EQ(g->tensors[n->inputs[0]].name, "back:nchw");
    ASSERT_DIMS(&g->tensors[n->inputs[0]], -1, 6, 2, 2);
    n = producer(g, "back:nchw");
    ASSERT_TRUE(n != NULL && n->op == NN_OP_TRANSPOSE && n->a.perm[1] == 3);
    n = producer(g, g->tensors[n->inputs[0]].name);
    ASSERT_TRUE(n != NULL && n->op == NN_OP_RESHAPE);
    t = &g->tensors[n->inputs[1]];
    ASSERT_TRUE(t->rank == 1 && t->dims[0] == 4 && ((const int64_t *)t->data)[0] == -1 &&
                ((const int64_t *)t->data)[3] == 6);

    /* topological order and shapes at batch 3 */
    {
        nn_shape in = {4, {3, 4, 4, 2}}, shapes[64];
        ASSERT_TRUE(g->n_tensors <= 64);
        ASSERT_OK(nn_graph_infer_shapes(g, &in, shapes, &err), &err);
        ASSERT_TRUE(shapes[g->outputs[0]].dims[0] == 3 && shapes[g->outputs[0]].dims[1] == 5);
        ASSERT_TRUE(shapes[g->outputs[1]].rank == 4 && shapes[g->outputs[1]].dims[3] == 6);
        ASSERT_TRUE(shapes[g->outputs[2]].rank == 3 && shapes[g->outputs[2]].dims[1] == 2 &&
                    shapes[g->outputs[2]].dims[2] == 6);
        ASSERT_TRUE(shapes[g->outputs[3]].rank == 2 && shapes[g->outputs[3]].dims[1] == 6);
    }
    nn_graph_free(g);
    return 0;
}

/* ---- failures ----------------------------------------------------------------------------- */

TEST(tflite_load_unsupported)
{
    static fbb f;
    nn_graph dummy, *g = &dummy; /* must come back NULL */
    mien_error err;

    /* an operator mien does not implement, named by its builtin name */
    build_rules_model(&f, 11, 0, 0);
    ASSERT_STATUS(nn_tflite_load(f.b, f.n, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.message, "operator 11 (L2_NORMALIZATION) at node 0");
    ASSERT_CONTAINS(err.message, "'conv'");

    /* a fused TANH */
    build_rules_model(&f, 3, 4, 0);
    ASSERT_STATUS(nn_tflite_load(f.b, f.n, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "TANH");

    /* an INT8 graph input */
    build_rules_model(&f, 3, 0, 9);
    ASSERT_STATUS(nn_tflite_load(f.b, f.n, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "'in'");
    ASSERT_TRUE(g == NULL);
    return 0;
}

TEST(tflite_load_bad_input)
{
    static fbb f;
    nn_graph *g = NULL;
    mien_error err;
    static const uint8_t not_tflite[16] = {0x10, 0, 0, 0, 'O', 'N', 'N', 'X'};
    ASSERT_STATUS(nn_tflite_load(NULL, 0, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "tflite");
    ASSERT_STATUS(nn_tflite_load(not_tflite, 0, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_STATUS(nn_tflite_load(not_tflite, sizeof(not_tflite), &g, &err), MIEN_ERR_MODEL,
                  &err);
    ASSERT_CONTAINS(err.message, "TFL3");
    ASSERT_STATUS(nn_tflite_load(not_tflite, sizeof(not_tflite), NULL, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_STATUS(nn_tflite_load(NULL, 10, &g, NULL), MIEN_ERR_ARG, NULL);
    ASSERT_TRUE(g == NULL);

    /* the root offset points past the end */
    build_rules_model(&f, 3, 0, 0);
    f.b[1] = 0x7f;
    ASSERT_STATUS(nn_tflite_load(f.b, f.n, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "out of bounds");
    ASSERT_TRUE(g == NULL);
    return 0;
}

/* Every prefix of the hand-made model (each must fail) and of onet.tflite (stride 997,
 * plus size - 1, whose missing byte is padding, so it may load), each from an exact-size
 * copy: an error status or a graph, never a crash or over-read. */
TEST(tflite_load_truncated)
{
    static fbb f;
    char path[4200];
    size_t size = 0;
    unsigned char *bytes;
    build_rules_model(&f, 3, 0, 0);
    ASSERT_EQ_INT(load_copy(f.b, f.n), MIEN_OK);
    for (size_t n = 0; n < f.n; n++) {
        mien_status st = load_copy(f.b, n);
        ASSERT_TRUE(st == MIEN_ERR_MODEL || st == MIEN_ERR_UNSUPPORTED);
    }
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    snprintf(path, sizeof(path), "%s/onet.tflite", test_models_dir());
    bytes = test_read_file(path, &size);
    ASSERT_TRUE(bytes != NULL && size > 1000);
    for (size_t n = 0; n < size + 997; n += 997) {
        size_t len = n < size ? n : size - 1;
        mien_status st = load_copy(bytes, len);
        if (st != MIEN_OK && st != MIEN_ERR_MODEL && st != MIEN_ERR_UNSUPPORTED) {
            free(bytes);
            TEST_FAIL_("prefix of %zu bytes: status %d", len, (int)st);
        }
    }
    free(bytes);
    return 0;
}

/* Random byte corruptions (fixed seed): every single-bit flip of the hand-made model,
 * then 200 copies each of pnet.tflite and onet.tflite with 1 to 4 random bits flipped,
 * three in four of them inside the tables (the first 1 KiB and the last 8 KiB; TOCO puts
 * the weights in between). Any status is fine; ASan and UBSan catch the rest. */
TEST(tflite_load_bitflip)
{
    static fbb f;
    static const char *const files[2] = {"pnet.tflite", "onet.tflite"};
    uint32_t s = 12345;
    int ok = 0, failed = 0;
    build_rules_model(&f, 3, 0, 0);
    for (size_t bit = 0; bit < 8 * f.n; bit++) {
        mien_status st;
        f.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        st = load_copy(f.b, f.n);
        f.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ASSERT_TRUE(st != MIEN_ERR_INTERNAL && st != MIEN_ERR_ARG);
        ok += st == MIEN_OK;
        failed += st != MIEN_OK;
    }
    ASSERT_TRUE(ok > 0 && failed > 0);
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    for (int m = 0; m < 2; m++) {
        char path[4200];
        size_t size = 0;
        unsigned char *bytes;
        snprintf(path, sizeof(path), "%s/%s", test_models_dir(), files[m]);
        bytes = test_read_file(path, &size);
        ASSERT_TRUE(bytes != NULL && size > 16384);
        for (int k = 0; k < 200; k++) {
            size_t pos[4];
            uint8_t mask[4];
            int n_flips;
            mien_status st;
            s = 1103515245u * s + 12345u;
            n_flips = 1 + (int)((s >> 16) % 4);
            for (int j = 0; j < n_flips; j++) {
                size_t r;
                s = 1103515245u * s + 12345u;
                r = (s >> 8) % (1024 + 8192);
                if ((s >> 28) % 4 == 0) {
                    pos[j] = (s >> 4) % size; /* anywhere */
                } else {
                    pos[j] = r < 1024 ? r : size - 8192 + (r - 1024);
                }
                mask[j] = (uint8_t)(1u << ((s >> 1) % 8));
                bytes[pos[j]] ^= mask[j];
            }
            st = load_copy(bytes, size);
            for (int j = n_flips - 1; j >= 0; j--) {
                bytes[pos[j]] ^= mask[j];
            }
            if (st == MIEN_ERR_INTERNAL || st == MIEN_ERR_ARG) {
                free(bytes);
                TEST_FAIL_("%s, mutation %d: status %d", files[m], k, (int)st);
            }
        }
        free(bytes);
    }
    return 0;
}
