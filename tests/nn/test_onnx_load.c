/* test_onnx_load.c — the ONNX loader (nn/onnx_load.c) and nn_load_file (nn/load.c).
 *
 * The two shipped ONNX models are translated and spot-checked against what the files hold
 * (counts and attributes read with protoc-c's decoder); corrupt input (every truncated
 * prefix at a fixed step, bit-flipped copies with a fixed seed) must fail cleanly, which
 * ASan checks; small ModelProtos built here with the protobuf-c structs cover the opset
 * 10–13 input forms and each error path. */
#include <stdint.h>
#include <unistd.h>

#include "nn/load.h"
#include "nn/onnx_load.h"
#include "onnx.pb-c.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static unsigned char *read_model(const char *file, size_t *size)
{
    char path[4300];
    snprintf(path, sizeof(path), "%s/%s", test_models_dir(), file);
    return test_read_file(path, size);
}

static int count_op(const nn_graph *g, nn_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        n += g->nodes[i].op == op;
    }
    return n;
}

static const nn_node *find_node(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (strcmp(g->nodes[i].name, name) == 0) {
            return &g->nodes[i];
        }
    }
    return NULL;
}

/* A tiny ModelProto builder over the protobuf-c structs. Strings and value arrays are
 * borrowed (string literals, static arrays) and must outlive mb_pack(). Attributes go to
 * the most recently added node. */
#define MB_MAX 16
typedef struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto nodes[MB_MAX];
    Onnx__NodeProto *node_ptrs[MB_MAX];
    char *node_io[MB_MAX][2][8];
    Onnx__AttributeProto attrs[2 * MB_MAX];
    Onnx__AttributeProto *attr_ptrs[2 * MB_MAX];
    int n_attrs;
    Onnx__TensorProto inits[MB_MAX];
    Onnx__TensorProto *init_ptrs[MB_MAX];
    int64_t init_dims[MB_MAX][NN_MAX_RANK];
    Onnx__ValueInfoProto vis[8];
    Onnx__ValueInfoProto *in_ptrs[4], *out_ptrs[4];
    Onnx__TypeProto types[8];
    Onnx__TypeProto__Tensor tts[8];
    Onnx__TensorShapeProto shapes[8];
    Onnx__TensorShapeProto__Dimension dims[8][NN_MAX_RANK];
    Onnx__TensorShapeProto__Dimension *dim_ptrs[8][NN_MAX_RANK];
    int n_vis;
} mb;

static mb *mb_new(int64_t opset)
{
    mb *b = calloc(1, sizeof(*b));
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    if (b == NULL) {
        return NULL;
    }
    b->model = m;
    b->graph = g;
    b->opset = o;
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.has_ir_version = 1;
    b->model.ir_version = 7;
    b->model.producer_name = (char *)"mien-test";
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.node = b->node_ptrs;
    b->graph.initializer = b->init_ptrs;
    b->graph.input = b->in_ptrs;
    b->graph.output = b->out_ptrs;
    return b;
}

/* A FLOAT value info with dims (-1 → dim_param "N"); rank < 0 declares no shape. */
static Onnx__ValueInfoProto *mb_vi(mb *b, const char *name, int rank, const int64_t *dims)
{
    int k = b->n_vis++;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto sp = ONNX__TENSOR_SHAPE_PROTO__INIT;
    b->vis[k] = vi;
    b->types[k] = tp;
    b->tts[k] = tt;
    b->shapes[k] = sp;
    b->vis[k].name = (char *)name;
    b->vis[k].type = &b->types[k];
    b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->types[k].tensor_type = &b->tts[k];
    b->tts[k].has_elem_type = 1;
    b->tts[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (rank >= 0) {
        b->tts[k].shape = &b->shapes[k];
        b->shapes[k].n_dim = (size_t)rank;
        b->shapes[k].dim = b->dim_ptrs[k];
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension d = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
            b->dims[k][i] = d;
            if (dims[i] >= 0) {
                b->dims[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                b->dims[k][i].dim_value = dims[i];
            } else {
                b->dims[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                b->dims[k][i].dim_param = (char *)"N";
            }
            b->dim_ptrs[k][i] = &b->dims[k][i];
        }
    }
    return &b->vis[k];
}

static void mb_input(mb *b, const char *name, int rank, const int64_t *dims)
{
    b->in_ptrs[b->graph.n_input++] = mb_vi(b, name, rank, dims);
}

static void mb_output(mb *b, const char *name)
{
    b->out_ptrs[b->graph.n_output++] = mb_vi(b, name, -1, NULL);
}

/* An initializer of ONNX data type `dtype`. Values go to the typed field matching the
 * type (float_data, int64_data, int32_data), or to raw_data when raw_len > 0. */
static Onnx__TensorProto *mb_init(mb *b, const char *name, int32_t dtype, int rank,
                                  const int64_t *dims, const void *vals, size_t n_vals,
                                  size_t raw_len)
{
    int k = (int)b->graph.n_initializer++;
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    b->inits[k] = t;
    Onnx__TensorProto *tp = &b->inits[k];
    tp->name = (char *)name;
    tp->has_data_type = 1;
    tp->data_type = dtype;
    tp->n_dims = (size_t)rank;
    tp->dims = b->init_dims[k];
    for (int i = 0; i < rank; i++) {
        b->init_dims[k][i] = dims[i];
    }
    if (raw_len > 0) {
        tp->has_raw_data = 1;
        tp->raw_data.len = raw_len;
        tp->raw_data.data = (uint8_t *)vals;
    } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        tp->n_float_data = n_vals;
        tp->float_data = (float *)vals;
    } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        tp->n_int64_data = n_vals;
        tp->int64_data = (int64_t *)vals;
    } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        tp->n_double_data = n_vals;
        tp->double_data = (double *)vals;
    }
    b->init_ptrs[k] = tp;
    return tp;
}

/* A 1-D INT64 initializer. */
static void mb_i64(mb *b, const char *name, const int64_t *vals, int n)
{
    int64_t d = n;
    mb_init(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &d, vals, (size_t)n, 0);
}

/* A node; ins/outs are NULL-terminated lists (at most 7). */
static Onnx__NodeProto *mb_node(mb *b, const char *op, const char *name, const char *const *ins,
                                const char *const *outs)
{
    int k = (int)b->graph.n_node++;
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    b->nodes[k] = n;
    Onnx__NodeProto *p = &b->nodes[k];
    p->op_type = (char *)op;
    p->name = (char *)name;
    p->input = b->node_io[k][0];
    p->output = b->node_io[k][1];
    for (; ins != NULL && ins[p->n_input] != NULL; p->n_input++) {
        b->node_io[k][0][p->n_input] = (char *)ins[p->n_input];
    }
    for (; outs[p->n_output] != NULL; p->n_output++) {
        b->node_io[k][1][p->n_output] = (char *)outs[p->n_output];
    }
    p->attribute = &b->attr_ptrs[b->n_attrs];
    b->node_ptrs[k] = p;
    return p;
}

static Onnx__AttributeProto *mb_attr(mb *b, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__NodeProto *p = &b->nodes[b->graph.n_node - 1];
    Onnx__AttributeProto *q = &b->attrs[b->n_attrs];
    *q = a;
    q->name = (char *)name;
    q->has_type = 1;
    q->type = t;
    b->attr_ptrs[b->n_attrs++] = q;
    p->n_attribute++;
    return q;
}

static void mb_attr_int(mb *b, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void mb_attr_ints(mb *b, const char *name, const int64_t *v, int n)
{
    Onnx__AttributeProto *a = mb_attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)n;
    a->ints = (int64_t *)v;
}

/* Packs the model into a malloc'd buffer and frees the builder. */
static uint8_t *mb_pack(mb *b, size_t *size)
{
    uint8_t *buf;
    *size = onnx__model_proto__get_packed_size(&b->model);
    buf = malloc(*size > 0 ? *size : 1);
    if (buf != NULL) {
        onnx__model_proto__pack(&b->model, buf);
    }
    free(b);
    return buf;
}

/* Packs b, loads it, and returns the status; *g gets the graph (or NULL). */
static mien_status mb_load(mb *b, nn_graph **g, mien_error *err)
{
    size_t size;
    uint8_t *bytes = mb_pack(b, &size);
    mien_status s;
    if (bytes == NULL) {
        return MIEN_ERR_NOMEM;
    }
    s = nn_onnx_load(bytes, size, g, err);
    free(bytes);
    return s;
}

/* ---- the shipped models --------------------------------------------------------------- */

TEST(onnx_load_detector)
{
    char path[4300];
    nn_graph *g = NULL;
    mien_error err;
    const nn_node *n;
    const nn_tensor *t;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    snprintf(path, sizeof(path), "%s/fr_detect.onnx", test_models_dir());
    ASSERT_OK(nn_load_file(path, &g, &err), &err);
    ASSERT_CONTAINS(g->source, "onnx ir 6 opset 9 producer pytorch");

    /* 175 file nodes, of which 14 are Constant (become tensors). */
    ASSERT_EQ_INT(g->n_nodes, 161);
    ASSERT_EQ_INT(count_op(g, NN_OP_CONV), 52);
    ASSERT_EQ_INT(count_op(g, NN_OP_RELU), 37);
    ASSERT_EQ_INT(count_op(g, NN_OP_CONCAT), 13);
    ASSERT_EQ_INT(count_op(g, NN_OP_TRANSPOSE), 8);
    ASSERT_EQ_INT(count_op(g, NN_OP_SHAPE), 8);
    ASSERT_EQ_INT(count_op(g, NN_OP_GATHER), 8);
    ASSERT_EQ_INT(count_op(g, NN_OP_UNSQUEEZE), 8);
    ASSERT_EQ_INT(count_op(g, NN_OP_RESHAPE), 8);
    ASSERT_EQ_INT(count_op(g, NN_OP_SLICE), 6);
    ASSERT_EQ_INT(count_op(g, NN_OP_MUL), 5);
    ASSERT_EQ_INT(count_op(g, NN_OP_ADD), 3);
    ASSERT_EQ_INT(count_op(g, NN_OP_DIV), 2);
    ASSERT_EQ_INT(count_op(g, NN_OP_SUB), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_EXP), 1);
    ASSERT_EQ_INT(count_op(g, NN_OP_SOFTMAX), 1);
    /* 122 initializers + 14 Constant outputs + 1 input + 161 node outputs */
    ASSERT_EQ_INT(g->n_tensors, 298);

    ASSERT_EQ_INT(g->n_inputs, 1);
    t = &g->tensors[g->inputs[0]];
    ASSERT_STR_EQ(t->name, "input");
    ASSERT_EQ_INT(t->rank, 4);
    ASSERT_EQ_INT(t->dims[0], 1);
    ASSERT_EQ_INT(t->dims[1], 3);
    ASSERT_EQ_INT(t->dims[2], 240);
    ASSERT_EQ_INT(t->dims[3], 320);
    ASSERT_EQ_INT(g->n_outputs, 2);
    t = &g->tensors[g->outputs[0]];
    ASSERT_STR_EQ(t->name, "scores");
    ASSERT_EQ_INT(t->rank, 3);
    ASSERT_EQ_INT(t->dims[1], 4420);
    ASSERT_EQ_INT(t->dims[2], 2);
    t = &g->tensors[g->outputs[1]];
    ASSERT_STR_EQ(t->name, "boxes");
    ASSERT_EQ_INT(t->dims[1], 4420);
    ASSERT_EQ_INT(t->dims[2], 4);

    /* The dilation-5 branch of the RFB block. */
    n = find_node(g, "Conv_39");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->op, NN_OP_CONV);
    ASSERT_EQ_INT(n->n_inputs, 3);
    ASSERT_EQ_INT(n->a.kernel[0], 3);
    ASSERT_EQ_INT(n->a.kernel[1], 3);
    ASSERT_EQ_INT(n->a.dilation[0], 5);
    ASSERT_EQ_INT(n->a.dilation[1], 5);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(n->a.pads[i], 5);
    }
    ASSERT_EQ_INT(n->a.stride[0], 1);
    ASSERT_EQ_INT(n->a.group, 1);
    ASSERT_EQ_INT(n->a.auto_pad, NN_PAD_EXPLICIT);
    n = find_node(g, "Conv_2"); /* depthwise */
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.group, 16);
    n = find_node(g, "Conv_0");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.stride[0], 2);
    ASSERT_EQ_INT(n->a.stride[1], 2);
    ASSERT_STR_EQ(g->tensors[n->inputs[0]].name, "input");

    /* Opset-9 Slice: attributes, ends "to the end" kept as INT64_MAX. */
    n = find_node(g, "Slice_159");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    ASSERT_EQ_INT(n->a.axes[0], 2);
    ASSERT_EQ_INT(n->a.starts[0], 2);
    ASSERT_TRUE(n->a.ends[0] == INT64_MAX);
    ASSERT_EQ_INT(n->a.steps[0], 1);
    n = find_node(g, "Slice_152");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.starts[0], 0);
    ASSERT_EQ_INT(n->a.ends[0], 2);

    n = find_node(g, "Softmax_151");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.axis, 2);
    ASSERT_EQ_INT(n->outputs[0], g->outputs[0]);
    n = find_node(g, "Transpose_50");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.n_perm, 4);
    ASSERT_EQ_INT(n->a.perm[1], 2);
    ASSERT_EQ_INT(n->a.perm[3], 1);

    /* The Shape → Gather → Unsqueeze → Concat → Reshape chain stays for the folder. */
    n = find_node(g, "Shape_51");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(g->tensors[n->outputs[0]].dtype, NN_I64);
    n = find_node(g, "Gather_53");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.axis, 0);
    t = &g->tensors[n->inputs[1]]; /* Constant_52: scalar 0 */
    ASSERT_TRUE(nn_tensor_is_const(t));
    ASSERT_EQ_INT(t->dtype, NN_I64);
    ASSERT_EQ_INT(t->rank, 0);
    ASSERT_EQ_INT(((const int64_t *)t->data)[0], 0);
    n = find_node(g, "Unsqueeze_54");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    ASSERT_EQ_INT(n->a.axes[0], 0);
    n = find_node(g, "Reshape_56");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 2);
    ASSERT_STR_EQ(g->tensors[n->inputs[1]].name, "329");
    ASSERT_EQ_INT(g->tensors[n->inputs[1]].dtype, NN_I64);
    ASSERT_TRUE(!nn_tensor_is_const(&g->tensors[n->inputs[1]]));

    /* Constant nodes became constants: the priors of Mul_156. */
    t = &g->tensors[nn_graph_find_tensor(g, "467")];
    ASSERT_TRUE(nn_tensor_is_const(t));
    ASSERT_EQ_INT(t->rank, 3);
    ASSERT_EQ_INT(t->dims[1], 4420);
    ASSERT_EQ_INT(t->dims[2], 2);
    ASSERT_TRUE(find_node(g, "Constant_155") == NULL);
    nn_graph_free(g);
    return 0;
}

TEST(onnx_load_feature)
{
    size_t size;
    unsigned char *bytes;
    nn_graph *g = NULL;
    mien_error err;
    const nn_node *n;
    const nn_tensor *t;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    bytes = read_model("fr_feature.onnx", &size);
    ASSERT_TRUE(bytes != NULL);
    ASSERT_OK(nn_onnx_load(bytes, size, &g, &err), &err);
    free(bytes);
    ASSERT_CONTAINS(g->source, "opset 9");
    ASSERT_EQ_INT(g->n_nodes, 96);
    ASSERT_EQ_INT(count_op(g, NN_OP_CONV), 50);
    ASSERT_EQ_INT(count_op(g, NN_OP_PRELU), 33);
    ASSERT_EQ_INT(count_op(g, NN_OP_ADD), 12);
    ASSERT_EQ_INT(count_op(g, NN_OP_RESHAPE), 1);
    ASSERT_EQ_INT(g->n_inputs, 1);
    t = &g->tensors[g->inputs[0]];
    ASSERT_STR_EQ(t->name, "input");
    ASSERT_EQ_INT(t->dims[1], 3);
    ASSERT_EQ_INT(t->dims[2], 112);
    ASSERT_EQ_INT(t->dims[3], 112);
    ASSERT_EQ_INT(g->n_outputs, 1);
    t = &g->tensors[g->outputs[0]];
    ASSERT_STR_EQ(t->name, "output");
    ASSERT_EQ_INT(t->rank, 2);
    ASSERT_EQ_INT(t->dims[0], 1);
    ASSERT_EQ_INT(t->dims[1], 512);
    n = find_node(g, "Reshape_95");
    ASSERT_TRUE(n != NULL);
    t = &g->tensors[n->inputs[1]];
    ASSERT_TRUE(nn_tensor_is_const(t));
    ASSERT_EQ_INT(t->dtype, NN_I64);
    ASSERT_EQ_INT(((const int64_t *)t->data)[0], 1);
    ASSERT_EQ_INT(((const int64_t *)t->data)[1], -1);
    n = find_node(g, "PRelu_1");
    ASSERT_TRUE(n != NULL);
    t = &g->tensors[n->inputs[1]];
    ASSERT_EQ_INT(t->rank, 3);
    ASSERT_EQ_INT(t->dims[0], 64);
    nn_graph_free(g);
    return 0;
}

/* Every prefix at a prime step, and the file less its last byte: each loads or fails
 * cleanly, never crashes or leaks (ASan). */
TEST(onnx_load_truncated)
{
    static const char *const files[] = {"fr_detect.onnx", "fr_feature.onnx"};
    int failed = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    for (int f = 0; f < 2; f++) {
        size_t size;
        unsigned char *bytes = read_model(files[f], &size);
        ASSERT_TRUE(bytes != NULL && size > 1);
        size_t step = f == 0 ? 9973 : 49999;
        for (size_t len = 0; len <= size; len = len == size - 1 ? size + 1
                                                : (len + step < size ? len + step : size - 1)) {
            nn_graph *g = NULL;
            mien_error err;
            /* a fresh copy of exactly len bytes so ASan sees any over-read */
            unsigned char *part = malloc(len > 0 ? len : 1);
            ASSERT_TRUE(part != NULL);
            memcpy(part, bytes, len);
            mien_status s = nn_onnx_load(part, len, &g, &err);
            free(part);
            if (s == MIEN_OK) {
                ASSERT_TRUE(g != NULL);
                nn_graph_free(g);
            } else {
                ASSERT_TRUE(g == NULL);
                ASSERT_TRUE(err.message[0] != '\0');
                failed++;
            }
        }
        free(bytes);
    }
    ASSERT_TRUE(failed > 0);
    return 0;
}

/* 200 copies of the detector with 1–8 bits flipped (fixed LCG seed), half of them
 * within the first 64 KB where the nodes are: OK or an error, never a crash. */
TEST(onnx_load_bitflip)
{
    size_t size;
    unsigned char *bytes;
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    bytes = read_model("fr_detect.onnx", &size);
    ASSERT_TRUE(bytes != NULL);
    unsigned char *copy = malloc(size);
    ASSERT_TRUE(copy != NULL);
    for (int iter = 0; iter < 200; iter++) {
        nn_graph *g = NULL;
        mien_error err;
        size_t span = iter % 2 == 0 && size > 65536 ? 65536 : size;
        memcpy(copy, bytes, size);
        seed = seed * 1103515245u + 12345u;
        int flips = 1 + (int)((seed >> 16) % 8);
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = ((size_t)(seed >> 8)) % span;
            copy[pos] ^= (unsigned char)(1u << ((seed >> 4) & 7));
        }
        mien_status s = nn_onnx_load(copy, size, &g, &err);
        if (s == MIEN_OK) {
            ASSERT_TRUE(g != NULL);
            nn_graph_free(g);
            ok++;
        } else {
            ASSERT_TRUE(g == NULL);
            bad++;
        }
    }
    printf("  bit flips: %d loaded, %d rejected\n", ok, bad);
    free(copy);
    free(bytes);
    return 0;
}

/* ---- hand-built models ------------------------------------------------------------------ */

TEST(onnx_load_unknown_op)
{
    static const int64_t dims[2] = {1, 3};
    static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
    nn_graph *g = NULL;
    mien_error err;
    mb *b = mb_new(13);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "FancyOp", "fancy_node", in, out);
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_CONTAINS(err.message, "FancyOp");
    ASSERT_CONTAINS(err.message, "fancy_node");
    ASSERT_CONTAINS(err.message, "does not support");

    /* A known op_type in a foreign domain is not ours either. */
    b = mb_new(13);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "Relu", "", in, out)->domain = (char *)"com.microsoft";
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "com.microsoft");
    ASSERT_CONTAINS(err.message, "Relu_0"); /* made-up name of an unnamed node */
    return 0;
}

TEST(onnx_load_empty)
{
    static const uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    nn_graph *g = (nn_graph *)1;
    mien_error err;
    ASSERT_STATUS(nn_onnx_load(junk, 0, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_STATUS(nn_onnx_load(NULL, 0, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_STATUS(nn_onnx_load(junk, sizeof(junk), &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "cannot parse protobuf");
    ASSERT_STATUS(nn_onnx_load(NULL, 5, &g, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(nn_onnx_load(junk, sizeof(junk), NULL, &err), MIEN_ERR_ARG, &err);
    /* A valid but empty ModelProto: one byte-less field is not a model. */
    mb *b = mb_new(13);
    ASSERT_TRUE(b != NULL);
    b->model.graph = NULL;
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "no graph");
    return 0;
}

/* Opset 13 forms: Slice/Unsqueeze/Squeeze/ReduceSum operands and Clip bounds as constant
 * inputs, Softmax's -1 default, Transpose's reversed default, Conv without kernel_shape,
 * int64_data/float_data initializers, a dim_param input dim. */
TEST(onnx_load_opset13)
{
    static const int64_t x_dims[4] = {1, 3, -1, 8}, w_dims[4] = {4, 3, 3, 3};
    static const int64_t starts[1] = {1}, ends[1] = {INT64_MAX}, axes[1] = {3}, steps[1] = {2};
    static const int64_t ax0[1] = {0}, ax1[1] = {1};
    static float w[4 * 3 * 3 * 3];
    static const float lo = 0.0f, hi = 6.0f;
    static const char *const slice_in[] = {"x", "starts", "ends", "axes", "steps", NULL};
    static const char *const slice_out[] = {"s", NULL};
    static const char *const unsq_in[] = {"s", "ax0", NULL}, *const unsq_out[] = {"u", NULL};
    static const char *const sq_in[] = {"u", "ax0", NULL}, *const sq_out[] = {"q", NULL};
    static const char *const clip_in[] = {"q", "lo", "hi", NULL}, *const clip_out[] = {"c", NULL};
    static const char *const red_in[] = {"c", "ax1", NULL}, *const red_out[] = {"r", NULL};
    static const char *const sm_in[] = {"r", NULL}, *const sm_out[] = {"sm", NULL};
    static const char *const tr_in[] = {"x", NULL}, *const tr_out[] = {"t", NULL};
    static const char *const conv_in[] = {"x", "w", "", NULL}, *const conv_out[] = {"cv", NULL};
    nn_graph *g = NULL;
    mien_error err;
    const nn_node *n;
    mb *b = mb_new(13);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 4, x_dims);
    mb_i64(b, "starts", starts, 1);
    mb_i64(b, "ends", ends, 1);
    mb_i64(b, "axes", axes, 1);
    mb_i64(b, "steps", steps, 1);
    mb_i64(b, "ax0", ax0, 1);
    mb_i64(b, "ax1", ax1, 1);
    mb_init(b, "lo", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &lo, 1, 0);
    mb_init(b, "hi", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &hi, 1, 0);
    mb_init(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, w_dims, w, 4 * 3 * 3 * 3, 0);
    mb_node(b, "Slice", "slice", slice_in, slice_out);
    mb_node(b, "Unsqueeze", "unsq", unsq_in, unsq_out);
    mb_node(b, "Squeeze", "sq", sq_in, sq_out);
    mb_node(b, "Clip", "clip", clip_in, clip_out);
    mb_node(b, "ReduceSum", "red", red_in, red_out);
    mb_attr_int(b, "keepdims", 0);
    mb_node(b, "Softmax", "sm", sm_in, sm_out);
    mb_node(b, "Transpose", "tr", tr_in, tr_out);
    mb_node(b, "Conv", NULL, conv_in, conv_out);
    mb_attr_int(b, "group", 1);
    mb_output(b, "sm");
    mb_output(b, "t");
    mb_output(b, "cv");
    ASSERT_OK(mb_load(b, &g, &err), &err);
    ASSERT_CONTAINS(g->source, "opset 13 producer mien-test");
    ASSERT_EQ_INT(g->n_nodes, 8);
    ASSERT_EQ_INT(g->n_inputs, 1);
    ASSERT_EQ_INT(g->tensors[g->inputs[0]].dims[2], -1);
    ASSERT_EQ_INT(g->tensors[g->inputs[0]].dims[3], 8);
    ASSERT_EQ_INT(g->n_outputs, 3);

    n = find_node(g, "slice");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    ASSERT_EQ_INT(n->a.axes[0], 3);
    ASSERT_EQ_INT(n->a.starts[0], 1);
    ASSERT_TRUE(n->a.ends[0] == INT64_MAX);
    ASSERT_EQ_INT(n->a.steps[0], 2);
    n = find_node(g, "unsq");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    ASSERT_EQ_INT(n->a.axes[0], 0);
    n = find_node(g, "sq");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    n = find_node(g, "clip");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_NEAR(n->a.clip_min, 0.0, 0.0);
    ASSERT_NEAR(n->a.clip_max, 6.0, 0.0);
    n = find_node(g, "red");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 1);
    ASSERT_EQ_INT(n->a.n_axes, 1);
    ASSERT_EQ_INT(n->a.axes[0], 1);
    ASSERT_TRUE(!n->a.keepdims);
    n = find_node(g, "sm");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.axis, -1);
    n = find_node(g, "tr");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->a.n_perm, 4);
    ASSERT_EQ_INT(n->a.perm[0], 3);
    ASSERT_EQ_INT(n->a.perm[3], 0);
    n = find_node(g, "Conv_7");
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ_INT(n->n_inputs, 3);
    ASSERT_EQ_INT(n->inputs[2], -1);
    ASSERT_EQ_INT(n->a.kernel[0], 3);
    ASSERT_EQ_INT(n->a.kernel[1], 3);
    ASSERT_EQ_INT(n->a.stride[0], 1);
    ASSERT_EQ_INT(n->a.dilation[1], 1);
    ASSERT_EQ_INT(n->a.group, 1);
    ASSERT_EQ_INT(n->a.pads[2], 0);
    nn_graph_free(g);
    return 0;
}

/* Malformed and unsupported graphs, each with the right code and a message that names
 * the culprit. */
TEST(onnx_load_errors)
{
    static const int64_t dims[2] = {1, 4}, k3[3] = {3, 3, 3};
    static const double dbl[4] = {1, 2, 3, 4};
    static const float raw[3] = {1, 2, 3};
    static const char *const a_in[] = {"y", NULL}, *const a_out[] = {"z", NULL};
    static const char *const b_in[] = {"x", NULL}, *const b_out[] = {"y", NULL};
    static const char *const add_in[] = {"x", "c", NULL};
    static const char *const conv_in[] = {"x", "x", NULL};
    nn_graph *g = NULL;
    mien_error err;
    mb *b;

    /* Not topologically sorted: node 0 reads what node 1 makes. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "Relu", "first", a_in, a_out);
    mb_node(b, "Relu", "second", b_in, b_out);
    mb_output(b, "z");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "first");
    ASSERT_CONTAINS(err.message, "'y'");

    /* A DOUBLE initializer. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_init(b, "c", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 2, dims, dbl, 4, 0);
    mb_node(b, "Add", "add", add_in, b_out);
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "'c'");
    ASSERT_CONTAINS(err.message, "DOUBLE");

    /* raw_data shorter than the dims need. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_init(b, "c", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, dims, raw, 0, sizeof(raw));
    mb_node(b, "Add", "add", add_in, b_out);
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "'c'");

    /* A 3-D convolution. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "Conv", "conv3d", conv_in, b_out);
    mb_attr_ints(b, "kernel_shape", k3, 3);
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "conv3d");

    /* An output nothing produces. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "Relu", "r", b_in, b_out);
    mb_output(b, "nowhere");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "nowhere");

    /* A value defined twice. */
    b = mb_new(9);
    ASSERT_TRUE(b != NULL);
    mb_input(b, "x", 2, dims);
    mb_node(b, "Relu", "r1", b_in, b_out);
    mb_node(b, "Relu", "r2", b_in, b_out);
    mb_output(b, "y");
    ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_MODEL, &err);
    ASSERT_CONTAINS(err.message, "twice");

    /* Opset 10+ Slice whose starts are computed at run time. */
    {
        static const char *const sh_in[] = {"x", NULL}, *const sh_out[] = {"shp", NULL};
        static const char *const sl_in[] = {"x", "shp", "shp", NULL};
        b = mb_new(11);
        ASSERT_TRUE(b != NULL);
        mb_input(b, "x", 2, dims);
        mb_node(b, "Shape", "shape", sh_in, sh_out);
        mb_node(b, "Slice", "dyn_slice", sl_in, b_out);
        mb_output(b, "y");
        ASSERT_STATUS(mb_load(b, &g, &err), MIEN_ERR_UNSUPPORTED, &err);
        ASSERT_CONTAINS(err.message, "dyn_slice");
    }
    ASSERT_TRUE(g == NULL);
    return 0;
}

TEST(nn_load_file_errors)
{
    char path[] = "/tmp/mien_onnx_textXXXXXX";
    static const char text[] = "this is a text file, not a model\n";
    nn_graph *g = (nn_graph *)1;
    mien_error err;
    int fd;

    ASSERT_STATUS(nn_load_file("/nonexistent/dir/model.onnx", &g, &err), MIEN_ERR_IO, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_CONTAINS(err.message, "/nonexistent/dir/model.onnx");
    ASSERT_CONTAINS(err.message, "No such file");

    ASSERT_STATUS(nn_load_file("/tmp", &g, &err), MIEN_ERR_IO, &err);

    fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_TRUE(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
    close(fd);
    mien_status s = nn_load_file(path, &g, &err);
    unlink(path);
    ASSERT_STATUS(s, MIEN_ERR_MODEL, &err);
    ASSERT_TRUE(g == NULL);
    ASSERT_CONTAINS(err.message, path);
    return 0;
}

/* A packed ONNX model with one node of the unknown op "FancyOp" (named "fancy_node"), for
 * tests of the layers above the loader (test.h). Caller frees. */
unsigned char *test_onnx_unknown_op_model(size_t *size)
{
    static const int64_t dims[2] = {1, 4};
    static const char *const in[] = {"x", NULL}, *const out[] = {"y", NULL};
    mb *b = mb_new(13);
    if (b == NULL) {
        return NULL;
    }
    mb_input(b, "x", 2, dims);
    mb_node(b, "FancyOp", "fancy_node", in, out);
    mb_output(b, "y");
    return mb_pack(b, size);
}
