/* tflite_load.c — the TFLite loader: a bounds-checked FlatBuffer reader and the
 * NHWC → NCHW translation of TFLite operators into mien's IR (see tflite_load.h).
 *
 * FlatBuffers binary format (google.github.io/flatbuffers/flatbuffers_internals.html):
 * the file starts with a uoffset (u32) to the root table, then the 4-byte identifier
 * ("TFL3"). A table starts with an soffset (i32) back to its vtable; the vtable holds
 * its own length (u16), the table's inline length (u16), then one u16 offset per field
 * (0 = absent, the default applies). Offsets to sub-tables, vectors and strings are
 * uoffsets relative to where they are stored; a vector or string is a u32 length then
 * the elements. All values are little-endian. Field ids are those of
 * tensorflow/lite/schema/schema.fbs version 3 (also used by
 * reference/bin/tflite2onnx.js).
 *
 * Every read goes through fb_check(): a position outside the buffer records
 * MIEN_ERR_MODEL ("tflite: offset N out of bounds") in the reader, and every later read
 * returns 0, so the decoding code checks the reader's status once per step rather than
 * after each field. Nothing is ever read outside bytes[0, size).
 */
#include "nn/tflite_load.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* ---- FlatBuffer reader ------------------------------------------------------------------ */

/* The buffer and the first failure (sticky: once st != MIEN_OK every read returns 0). */
typedef struct fb_reader {
    const uint8_t *b;
    size_t size;    /* bytes */
    mien_status st;
    mien_error *err; /* may be NULL */
} fb_reader;

/* A validated table; pos == 0 means "absent" (position 0 holds the root offset, so no
 * table can live there). vt_len and obj_len come from the vtable, in bytes. */
typedef struct fb_table {
    size_t pos;
    size_t vt;
    size_t vt_len;
    size_t obj_len;
} fb_table;

/* A validated vector: len elements starting at position start (all inside the buffer). */
typedef struct fb_vec {
    size_t len;
    size_t start;
} fb_vec;

/* Little-endian loads from memory the caller has already bounds-checked. */
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Records the first failure of the reader (later ones are consequences). */
static bool fb_fail(fb_reader *r, mien_status code, const char *fmt, ...) BASE_PRINTF(3, 4);
static bool fb_fail(fb_reader *r, mien_status code, const char *fmt, ...)
{
    if (r->st == MIEN_OK) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        r->st = base_error_set(r->err, code, "tflite: %s", msg);
    }
    return false;
}

/* True when bytes [off, off + n) lie inside the buffer and no failure happened yet. */
static bool fb_check(fb_reader *r, size_t off, size_t n)
{
    if (r->st != MIEN_OK) {
        return false;
    }
    if (off > r->size || n > r->size - off) {
        return fb_fail(r, MIEN_ERR_MODEL, "offset %zu out of bounds", off);
    }
    return true;
}

/* The u32 at `off`, or 0 (failure recorded) when it does not fit in the buffer. */
static uint32_t fb_u32(fb_reader *r, size_t off)
{
    return fb_check(r, off, 4) ? get_u32(r->b + off) : 0;
}

/* Follows the uoffset stored at `off` and returns the position it points to (always
 * after `off` and inside the buffer), or 0 on failure. */
static size_t fb_deref(fb_reader *r, size_t off)
{
    uint32_t rel = fb_u32(r, off);
    if (r->st != MIEN_OK) {
        return 0;
    }
    if (rel == 0 || rel >= r->size - off) {
        fb_fail(r, MIEN_ERR_MODEL, "offset %zu out of bounds", off + (size_t)rel);
        return 0;
    }
    return off + rel;
}

/* Validates the table at `pos`: its vtable and its inline part must lie in the buffer. */
static fb_table fb_table_at(fb_reader *r, size_t pos)
{
    fb_table t = {0, 0, 0, 0};
    int64_t vt;
    size_t vt_len, obj_len;
    if (!fb_check(r, pos, 4)) {
        return t;
    }
    vt = (int64_t)pos - (int32_t)get_u32(r->b + pos);
    if (vt < 0 || (uint64_t)vt > (uint64_t)r->size - 4) {
        fb_fail(r, MIEN_ERR_MODEL, "offset %lld out of bounds (vtable of table at %zu)",
                (long long)vt, pos);
        return t;
    }
    vt_len = get_u16(r->b + vt);
    obj_len = get_u16(r->b + vt + 2);
    if (vt_len < 4 || vt_len % 2 != 0 || obj_len < 4) {
        fb_fail(r, MIEN_ERR_MODEL, "malformed vtable at offset %lld", (long long)vt);
        return t;
    }
    if (!fb_check(r, (size_t)vt, vt_len) || !fb_check(r, pos, obj_len)) {
        return t;
    }
    t.pos = pos;
    t.vt = (size_t)vt;
    t.vt_len = vt_len;
    t.obj_len = obj_len;
    return t;
}

/* Position of field `id` (width bytes, inside the table) of table t, or 0 when the table
 * or the field is absent. */
static size_t fb_field(fb_reader *r, fb_table t, int id, size_t width)
{
    size_t slot = 4 + 2 * (size_t)id, off;
    if (t.pos == 0 || r->st != MIEN_OK || slot + 2 > t.vt_len) {
        return 0;
    }
    off = get_u16(r->b + t.vt + slot);
    if (off == 0) {
        return 0;
    }
    if (off < 4 || off + width > t.obj_len) {
        fb_fail(r, MIEN_ERR_MODEL, "offset %zu out of bounds (field %d of table at %zu)",
                t.pos + off, id, t.pos);
        return 0;
    }
    return t.pos + off;
}

/* Scalar field `id` of t as int32 / int8 (bool and ubyte fields read as int8), or `def`
 * when the table or the field is absent. */
static int32_t fb_i32(fb_reader *r, fb_table t, int id, int32_t def)
{
    size_t f = fb_field(r, t, id, 4);
    return f ? (int32_t)get_u32(r->b + f) : def;
}

static int fb_i8(fb_reader *r, fb_table t, int id, int def)
{
    size_t f = fb_field(r, t, id, 1);
    return f ? (int)(int8_t)r->b[f] : def;
}

/* The sub-table in field `id` of t (pos 0 when absent or on failure). */
static fb_table fb_sub(fb_reader *r, fb_table t, int id)
{
    fb_table none = {0, 0, 0, 0};
    size_t f = fb_field(r, t, id, 4);
    return f ? fb_table_at(r, fb_deref(r, f)) : none;
}

/* The vector in field `id` of t, with elements of elem_size bytes; len 0 when absent. */
static fb_vec fb_vector(fb_reader *r, fb_table t, int id, size_t elem_size)
{
    fb_vec v = {0, 0};
    size_t f = fb_field(r, t, id, 4), pos;
    uint32_t len;
    if (f == 0) {
        return v;
    }
    pos = fb_deref(r, f);
    len = fb_u32(r, pos);
    if (r->st != MIEN_OK) {
        return v;
    }
    if ((uint64_t)len > (uint64_t)(r->size - pos - 4) / elem_size) {
        fb_fail(r, MIEN_ERR_MODEL, "offset %zu out of bounds (vector of %u elements at %zu)",
                pos + 4 + (size_t)len * elem_size, len, pos);
        return v;
    }
    v.len = len;
    v.start = pos + 4;
    return v;
}

/* Element i of a vector of tables. */
static fb_table fb_vec_table(fb_reader *r, fb_vec v, size_t i)
{
    fb_table none = {0, 0, 0, 0};
    if (i >= v.len) {
        fb_fail(r, MIEN_ERR_MODEL, "vector index %zu out of bounds", i);
        return none;
    }
    return fb_table_at(r, fb_deref(r, v.start + 4 * i));
}

/* Element i of a vector of int32 (already inside the buffer by fb_vector()). */
static int32_t fb_vec_i32(const fb_reader *r, fb_vec v, size_t i)
{
    return i < v.len ? (int32_t)get_u32(r->b + v.start + 4 * i) : 0;
}

/* A malloc'd, NUL-terminated copy of the string in field `id` of t ("" when absent; a
 * NUL inside the string ends it). NULL on failure (bounds or memory; r->st says which). */
static char *fb_string(fb_reader *r, fb_table t, int id)
{
    fb_vec v = fb_vector(r, t, id, 1);
    char *s;
    if (r->st != MIEN_OK) {
        return NULL;
    }
    s = malloc(v.len + 1);
    if (s == NULL) {
        fb_fail(r, MIEN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (v.len > 0) {
        memcpy(s, r->b + v.start, v.len);
    }
    s[v.len] = '\0';
    return s;
}

/* ---- schema.fbs names ------------------------------------------------------------------- */

/* BuiltinOperator codes 0..150, schema.fbs (TensorFlow 2.x); for messages. */
static const char *const BUILTIN_NAMES[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
    "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF",
    "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE",
    "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST",
    "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER",
    "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
    "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
    "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
    "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
    "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
    "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
    "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
    "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE",
    "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
};

/* The builtin operators this loader translates (schema.fbs enum BuiltinOperator). */
enum {
    TFL_ADD = 0,
    TFL_AVERAGE_POOL_2D = 1,
    TFL_CONV_2D = 3,
    TFL_DEPTHWISE_CONV_2D = 4,
    TFL_FULLY_CONNECTED = 9,
    TFL_MAX_POOL_2D = 17,
    TFL_MUL = 18,
    TFL_RELU = 19,
    TFL_RESHAPE = 22,
    TFL_SUB = 41,
    TFL_DIV = 42,
    TFL_EXP = 47,
    TFL_NEG = 59,
    TFL_SUM = 74,
    TFL_REDUCE_MAX = 82,
    TFL_ABS = 101,
};

/* The schema name of a BuiltinOperator code ("unknown" past the table); never NULL. */
static const char *builtin_name(int32_t code)
{
    if (code >= 0 && (size_t)code < sizeof(BUILTIN_NAMES) / sizeof(BUILTIN_NAMES[0])) {
        return BUILTIN_NAMES[code];
    }
    return "unknown";
}

/* TensorType, schema.fbs. */
enum { TFL_FLOAT32 = 0, TFL_INT32 = 2 };

static const char *const TYPE_NAMES[] = {
    "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
    "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32",
    "UINT16", "INT4",
};

/* The schema name of a TensorType ("unknown" past the table); never NULL. */
static const char *type_name(int type)
{
    if (type >= 0 && (size_t)type < sizeof(TYPE_NAMES) / sizeof(TYPE_NAMES[0])) {
        return TYPE_NAMES[type];
    }
    return "unknown";
}

/* ActivationFunctionType, schema.fbs. */
static const char *const ACT_NAMES[] = {"NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH",
                                        "SIGN_BIT"};

/* ---- decoded model ---------------------------------------------------------------------- */

/* One tensor of the subgraph as the file declares it. */
typedef struct tfl_tensor {
    char *name;                 /* owned copy ("" when the file has none) */
    int type;                   /* TensorType */
    int rank;
    int64_t dims[NN_MAX_RANK];  /* declared shape; NHWC for 4-D activations */
    const uint8_t *data;        /* constant payload inside the file; NULL: an activation */
    size_t data_len;            /* bytes */
} tfl_tensor;

/* One operator, decoded while it is translated. */
typedef struct tfl_op {
    int index;     /* position in the subgraph's operator list (the "node" of messages) */
    int32_t code;  /* BuiltinOperator */
    int n_in, n_out;
    int in[NN_MAX_NODE_INPUTS];   /* tensor indices; -1 = optional input absent */
    int out[NN_MAX_NODE_OUTPUTS];
    fb_table opts; /* builtin_options (pos 0 when absent: all defaults) */
} tfl_op;

/* Loader state. The per-tensor maps are indexed by TFLite tensor index. */
typedef struct loader {
    fb_reader r;
    nn_graph *g;
    int32_t *opcodes; /* builtin code of each OperatorCode */
    int n_opcodes;
    tfl_tensor *tt;
    int n_tt;
    int *ir;          /* IR tensor read for it: activation (NCHW if 4-D) or plain constant */
    int *nchw;        /* constants re-laid for NCHW broadcasting, or -1 */
    int *ext;         /* 4-D graph outputs: the NHWC IR tensor the final Transpose writes */
    bool *produced;   /* activations written so far (graph inputs count as written) */
    bool free_hw;     /* fully convolutional: H and W of 4-D activations are free */
    const tfl_op *op; /* operator being translated (for messages), or NULL */
} loader;

/* Fails the load with `code` and a message naming the current operator, if any. */
static mien_status fail(loader *L, mien_status code, const char *fmt, ...) BASE_PRINTF(3, 4);
static mien_status fail(loader *L, mien_status code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    if (L->r.st != MIEN_OK) {
        return L->r.st;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (L->op != NULL && L->op->n_out > 0 && L->op->out[0] >= 0 && L->op->out[0] < L->n_tt) {
        fb_fail(&L->r, code, "node %d (%s, output tensor '%s'): %s", L->op->index,
                builtin_name(L->op->code), L->tt[L->op->out[0]].name, msg);
    } else if (L->op != NULL) {
        fb_fail(&L->r, code, "node %d (%s): %s", L->op->index, builtin_name(L->op->code), msg);
    } else {
        fb_fail(&L->r, code, "%s", msg);
    }
    return L->r.st;
}

/* Records MIEN_ERR_NOMEM (unless a failure is already recorded) and returns the status. */
static mien_status nomem(loader *L)
{
    return fail(L, MIEN_ERR_NOMEM, "out of memory");
}

/* Elements of a declared shape, or -1 when a dim is negative or the count exceeds
 * `limit` (the caller's bound, so nothing overflows). */
static int64_t shape_elems(const tfl_tensor *t, int64_t limit)
{
    return nn_dims_elems_within(t->rank, t->dims, limit);
}

/* Decodes tensor i of the subgraph (table t) into L->tt[i]. */
static mien_status decode_tensor(loader *L, fb_table t, fb_vec buffers, int i)
{
    tfl_tensor *x = &L->tt[i];
    fb_vec shape = fb_vector(&L->r, t, 0, 4);
    uint32_t buf;
    x->type = fb_i8(&L->r, t, 1, 0);
    buf = (uint32_t)fb_i32(&L->r, t, 2, 0);
    x->name = fb_string(&L->r, t, 3);
    if (L->r.st != MIEN_OK) {
        return L->r.st;
    }
    if (shape.len > NN_MAX_RANK) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "tensor %d '%s' has rank %zu (at most %d)", i,
                    x->name, shape.len, NN_MAX_RANK);
    }
    x->rank = (int)shape.len;
    for (int d = 0; d < x->rank; d++) {
        x->dims[d] = fb_vec_i32(&L->r, shape, (size_t)d);
        if (x->dims[d] < -1) {
            return fail(L, MIEN_ERR_MODEL, "tensor %d '%s' has dimension %lld", i, x->name,
                        (long long)x->dims[d]);
        }
    }
    if (buf >= buffers.len) {
        return fail(L, MIEN_ERR_MODEL, "tensor %d '%s' refers to buffer %u of %zu", i,
                    x->name, buf, buffers.len);
    }
    {
        fb_table b = fb_vec_table(&L->r, buffers, buf);
        fb_vec data = fb_vector(&L->r, b, 0, 1);
        if (L->r.st != MIEN_OK) {
            return L->r.st;
        }
        if (data.len > 0) {
            x->data = L->r.b + data.start;
            x->data_len = data.len;
        }
    }
    if (x->data != NULL) {
        int64_t n = shape_elems(x, (int64_t)(x->data_len / 4));
        if (x->type != TFL_FLOAT32 && x->type != TFL_INT32) {
            return fail(L, MIEN_ERR_UNSUPPORTED, "constant tensor '%s' has type %d (%s)",
                        x->name, x->type, type_name(x->type));
        }
        if (n < 0 || (size_t)n * 4 != x->data_len) {
            return fail(L, MIEN_ERR_MODEL, "constant tensor '%s': %zu bytes of data do not "
                        "fit its shape", x->name, x->data_len);
        }
    }
    return MIEN_OK;
}

/* Decodes operator `index` (table t) into *op, checking its tensor indices. */
static mien_status decode_op(loader *L, fb_table t, int index, tfl_op *op)
{
    fb_vec in = fb_vector(&L->r, t, 1, 4), out = fb_vector(&L->r, t, 2, 4);
    int32_t oc = fb_i32(&L->r, t, 0, 0);
    memset(op, 0, sizeof(*op));
    op->index = index;
    op->opts = fb_sub(&L->r, t, 4);
    if (L->r.st != MIEN_OK) {
        return L->r.st;
    }
    if (oc < 0 || oc >= L->n_opcodes) {
        return fail(L, MIEN_ERR_MODEL, "node %d uses operator code %d of %d", index, oc,
                    L->n_opcodes);
    }
    op->code = L->opcodes[oc];
    if (in.len > NN_MAX_NODE_INPUTS || out.len > NN_MAX_NODE_OUTPUTS || out.len == 0) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "node %d (%s) has %zu inputs and %zu outputs",
                    index, builtin_name(op->code), in.len, out.len);
    }
    op->n_in = (int)in.len;
    op->n_out = (int)out.len;
    for (int i = 0; i < op->n_in; i++) {
        op->in[i] = fb_vec_i32(&L->r, in, (size_t)i);
        if (op->in[i] < -1 || op->in[i] >= L->n_tt) {
            return fail(L, MIEN_ERR_MODEL, "node %d reads tensor %d of %d", index, op->in[i],
                        L->n_tt);
        }
    }
    for (int i = 0; i < op->n_out; i++) {
        op->out[i] = fb_vec_i32(&L->r, out, (size_t)i);
        if (op->out[i] < 0 || op->out[i] >= L->n_tt) {
            return fail(L, MIEN_ERR_MODEL, "node %d writes tensor %d of %d", index,
                        op->out[i], L->n_tt);
        }
    }
    return MIEN_OK;
}

/* ---- building the IR -------------------------------------------------------------------- */

/* Appends an IR tensor named base+suffix (made unique with "_2", "_3", ...). Takes over
 * `data` (freed on failure). Returns the index, or -1 with the failure recorded. */
static int add_tensor(loader *L, const char *base, const char *suffix, nn_dtype dtype,
                      int rank, const int64_t *dims, void *data)
{
    size_t len = strlen(base) + strlen(suffix) + 16;
    char *name = malloc(len);
    int idx = -1;
    if (L->r.st != MIEN_OK) {
        free(name);
        free(data);
        return -1;
    }
    if (name == NULL) {
        goto fail_name;
    }
    snprintf(name, len, "%s%s", base, suffix);
    for (int k = 2; nn_graph_find_tensor(L->g, name) >= 0; k++) {
        snprintf(name, len, "%s%s_%d", base, suffix, k);
    }
    idx = nn_graph_add_tensor(L->g, name, dtype, rank, dims, data);
    if (idx < 0) {
        goto fail_add;
    }
    free(name);
    return idx;

fail_add:
    free(name);
fail_name:
    free(data);
    nomem(L);
    return -1;
}

/* Appends a node with one output; the node is named after its output tensor. */
static bool add_node(loader *L, nn_op op, int n_in, const int *in, int out, const nn_attrs *a)
{
    if (L->r.st != MIEN_OK) {
        return false;
    }
    if (nn_graph_add_node(L->g, op, L->g->tensors[out].name, n_in, in, 1, &out, a) < 0) {
        nomem(L);
        return false;
    }
    return true;
}

static const int64_t PERM_TO_NCHW[4] = {0, 3, 1, 2};
static const int64_t PERM_TO_NHWC[4] = {0, 2, 3, 1};

/* Appends a Transpose of IR tensor x (rank 4) by perm into a new tensor named
 * base+suffix. Returns the new tensor, or -1. */
static int add_transpose(loader *L, int x, const int64_t perm[4], const char *base,
                         const char *suffix)
{
    nn_attrs a = {0};
    int64_t dims[4];
    int y;
    if (x < 0 || L->r.st != MIEN_OK) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        dims[i] = L->g->tensors[x].dims[perm[i]];
        a.perm[i] = perm[i];
    }
    a.n_perm = 4;
    y = add_tensor(L, base, suffix, NN_F32, 4, dims, NULL);
    if (y < 0 || !add_node(L, NN_OP_TRANSPOSE, 1, &x, y, &a)) {
        return -1;
    }
    return y;
}

/* Appends a Reshape of IR tensor x to `shape` (rank entries, -1 inferred) into a new
 * tensor named base+suffix whose declared dims are `dims`. Returns it, or -1. */
static int add_reshape(loader *L, int x, int rank, const int64_t *shape, const int64_t *dims,
                       const char *base, const char *suffix)
{
    int64_t *data = malloc((size_t)rank * sizeof(*data));
    int64_t n = rank;
    int in[2], y;
    if (x < 0 || L->r.st != MIEN_OK || data == NULL) {
        free(data);
        if (L->r.st == MIEN_OK) {
            nomem(L);
        }
        return -1;
    }
    memcpy(data, shape, (size_t)rank * sizeof(*data));
    in[0] = x;
    in[1] = add_tensor(L, base, ":shape", NN_I64, 1, &n, data);
    if (in[1] < 0) {
        return -1;
    }
    y = add_tensor(L, base, suffix, NN_F32, rank, dims, NULL);
    if (y < 0 || !add_node(L, NN_OP_RESHAPE, 2, in, y, NULL)) {
        return -1;
    }
    return y;
}

/* IR dims of activation t: the declared shape with batch free, permuted to NCHW when
 * 4-D and `nchw`, with H and W free in a fully convolutional graph. */
static void act_dims(const loader *L, const tfl_tensor *t, bool nchw, int64_t *dims)
{
    for (int i = 0; i < t->rank; i++) {
        dims[i] = t->dims[i];
    }
    if (t->rank >= 1) {
        dims[0] = -1;
    }
    if (t->rank == 4 && L->free_hw) {
        dims[1] = -1;
        dims[2] = -1;
    }
    if (t->rank == 4 && nchw) {
        int64_t c = dims[3];
        dims[3] = dims[2];
        dims[2] = dims[1];
        dims[1] = c;
    }
}

/* The constant values of tensor t as floats (malloc'd, *n elements), or NULL. */
static float *const_f32(loader *L, int t, int64_t *n)
{
    const tfl_tensor *x = &L->tt[t];
    float *v;
    if (x->data == NULL || x->type != TFL_FLOAT32) {
        fail(L, MIEN_ERR_UNSUPPORTED, "tensor '%s' must be a FLOAT32 constant", x->name);
        return NULL;
    }
    *n = (int64_t)(x->data_len / 4);
    v = malloc(x->data_len > 0 ? x->data_len : 1);
    if (v == NULL) {
        nomem(L);
        return NULL;
    }
    for (int64_t i = 0; i < *n; i++) {
        uint32_t u = get_u32(x->data + 4 * i); /* little-endian in the file; memcpy: aligned */
        memcpy(&v[i], &u, 4);
    }
    return v;
}

/* The IR tensor for TFLite tensor t in the file's layout: a produced activation, or a
 * constant (FLOAT32 → F32, INT32 → I32) created on first use. -1 on failure. */
static int plain_in(loader *L, int t)
{
    const tfl_tensor *x;
    if (L->r.st != MIEN_OK) {
        return -1;
    }
    if (t < 0) {
        fail(L, MIEN_ERR_MODEL, "a required input is absent");
        return -1;
    }
    x = &L->tt[t];
    if (x->data == NULL) {
        if (!L->produced[t]) {
            fail(L, MIEN_ERR_MODEL, "tensor %d '%s' is read before any operator writes it", t,
                 x->name);
            return -1;
        }
        return L->ir[t];
    }
    if (L->ir[t] < 0) {
        int64_t n = 0;
        void *data;
        nn_dtype dt = x->type == TFL_FLOAT32 ? NN_F32 : NN_I32;
        if (x->type == TFL_FLOAT32) {
            data = const_f32(L, t, &n);
        } else {
            data = malloc(x->data_len > 0 ? x->data_len : 1);
            if (data == NULL) {
                nomem(L);
            } else {
                for (size_t i = 0; i < x->data_len / 4; i++) {
                    int32_t v = (int32_t)get_u32(x->data + 4 * i);
                    memcpy((uint8_t *)data + 4 * i, &v, 4);
                }
            }
        }
        if (data == NULL) {
            return -1;
        }
        L->ir[t] = add_tensor(L, x->name, "", dt, x->rank, x->dims, data);
    }
    return L->ir[t];
}

/* Constant t re-laid for NCHW: its shape is padded with leading 1s to rank 4 (numpy
 * broadcasting aligns trailing dims, so that is the NHWC shape it broadcasts as) and
 * permuted [a,b,c,d] → [a,d,b,c] with its data. Created once per tensor; -1 on failure. */
static int nchw_const(loader *L, int t)
{
    const tfl_tensor *x = &L->tt[t];
    int64_t d[4] = {1, 1, 1, 1}, dims[4], n = 0;
    float *src, *dst;
    if (L->r.st != MIEN_OK) {
        return -1;
    }
    if (L->nchw[t] >= 0) {
        return L->nchw[t];
    }
    if (x->rank > 4) {
        fail(L, MIEN_ERR_UNSUPPORTED, "constant '%s' of rank %d against a 4-D tensor",
             x->name, x->rank);
        return -1;
    }
    for (int i = 0; i < x->rank; i++) {
        d[4 - x->rank + i] = x->dims[i];
    }
    src = const_f32(L, t, &n);
    if (src == NULL) {
        return -1;
    }
    dst = malloc((size_t)(n > 0 ? n : 1) * sizeof(*dst));
    if (dst == NULL) {
        free(src);
        nomem(L);
        return -1;
    }
    for (int64_t a = 0; a < d[0]; a++) {
        for (int64_t b = 0; b < d[1]; b++) {
            for (int64_t c = 0; c < d[2]; c++) {
                for (int64_t e = 0; e < d[3]; e++) {
                    dst[((a * d[3] + e) * d[1] + b) * d[2] + c] =
                        src[((a * d[1] + b) * d[2] + c) * d[3] + e];
                }
            }
        }
    }
    free(src);
    dims[0] = d[0];
    dims[1] = d[3];
    dims[2] = d[1];
    dims[3] = d[2];
    L->nchw[t] = add_tensor(L, x->name, ":nchw", NN_F32, 4, dims, dst);
    return L->nchw[t];
}

/* The IR tensor an operator reads as its data input: like plain_in(), except that a 4-D
 * constant is re-laid to NCHW like the activations. */
static int act_in(loader *L, int t)
{
    if (t >= 0 && L->tt[t].data != NULL && L->tt[t].rank == 4) {
        return nchw_const(L, t);
    }
    return plain_in(L, t);
}

/* The IR tensor for output t of the current operator (NCHW when 4-D), created here. */
static int act_out(loader *L, int t)
{
    const tfl_tensor *x = &L->tt[t];
    if (L->r.st != MIEN_OK) {
        return -1;
    }
    if (x->data != NULL || L->produced[t]) {
        fail(L, MIEN_ERR_MODEL, "tensor %d '%s' is written twice or is a constant", t,
             x->name);
        return -1;
    }
    if (x->type != TFL_FLOAT32) {
        fail(L, MIEN_ERR_UNSUPPORTED, "tensor '%s' has type %d (%s); only FLOAT32 "
             "activations are supported", x->name, x->type, type_name(x->type));
        return -1;
    }
    L->produced[t] = true;
    if (L->ir[t] < 0) { /* graph outputs of rank != 4 were made up front */
        int64_t dims[NN_MAX_RANK];
        act_dims(L, x, true, dims);
        L->ir[t] = add_tensor(L, x->name, L->ext[t] >= 0 ? ":nchw" : "", NN_F32, x->rank,
                              dims, NULL);
    }
    return L->ir[t];
}

/* Adds the current op's node: `kind` over in[n_in], writing the op's first output (an
 * activation, act_out). Returns L->r.st. */
static mien_status emit_op(loader *L, nn_op kind, int n_in, const int *in, const nn_attrs *a)
{
    int y = act_out(L, L->op->out[0]);
    if (L->r.st == MIEN_OK) {
        add_node(L, kind, n_in, in, y, a);
    }
    return L->r.st;
}

/* Appends the op's optional third input (a bias) to in[n_in] when it has one; returns the
 * new count. */
static int with_bias(loader *L, int *in, int n_in)
{
    const tfl_op *op = L->op;
    if (op->n_in > 2 && op->in[2] >= 0) {
        in[n_in++] = plain_in(L, op->in[2]);
    }
    return n_in;
}

/* Sets a->act from a TFLite fused activation code. */
static bool set_act(loader *L, int code, nn_attrs *a)
{
    switch (code) {
    case 0:
        a->act = NN_ACT_NONE;
        return true;
    case 1:
        a->act = NN_ACT_RELU;
        return true;
    case 3: /* RELU6 */
        a->act = NN_ACT_CLIP;
        a->act_min = 0.0f;
        a->act_max = 6.0f;
        return true;
    default:
        fail(L, MIEN_ERR_UNSUPPORTED, "fused activation %d (%s) is not supported", code,
             code >= 0 && code < 6 ? ACT_NAMES[code] : "unknown");
        return false;
    }
}

/* Sets a->auto_pad from a TFLite Padding (0 SAME: TF puts the odd pixel at the end). */
static bool set_padding(loader *L, int padding, nn_attrs *a)
{
    if (padding != 0 && padding != 1) {
        fail(L, MIEN_ERR_MODEL, "padding %d is neither SAME nor VALID", padding);
        return false;
    }
    a->auto_pad = padding == 0 ? NN_PAD_SAME_UPPER : NN_PAD_VALID;
    return true;
}

/* Checks that TFLite tensor t is 4-D (an NHWC image tensor). */
static bool need_4d(loader *L, int t)
{
    if (t < 0 || L->tt[t].rank != 4) {
        fail(L, MIEN_ERR_UNSUPPORTED, "input '%s' is not 4-D", t < 0 ? "" : L->tt[t].name);
        return false;
    }
    return true;
}

/* Reads a window (stride, dilation, kernel) option that must be positive; an absent or
 * zero value means 1 as in reference/bin/tflite2onnx.js. */
static bool window_opt(loader *L, int id, int64_t *v)
{
    int32_t x = fb_i32(&L->r, L->op->opts, id, 1);
    if (x == 0) {
        x = 1;
    }
    if (x < 0) {
        fail(L, MIEN_ERR_MODEL, "option %d is %d", id, x);
        return false;
    }
    *v = x;
    return L->r.st == MIEN_OK;
}

/* CONV_2D and DEPTHWISE_CONV_2D → Conv. Conv2DOptions: padding 0, stride_w 1,
 * stride_h 2, fused_activation 3, dilation_w 4, dilation_h 5; DepthwiseConv2DOptions:
 * the same with depth_multiplier at 3, so activation 4 and dilations 5, 6. */
static mien_status conv(loader *L, bool dw)
{
    const tfl_op *op = L->op;
    const tfl_tensor *w;
    nn_attrs a = {0};
    int in[3], n_in = 2;
    int64_t n = 0, dims[4], kh, kw, cout, cin;
    float *src, *dst;
    if (op->n_in < 2 || op->in[1] < 0 || !need_4d(L, op->in[0])) {
        return fail(L, MIEN_ERR_MODEL, "needs an input and weights");
    }
    w = &L->tt[op->in[1]];
    if (w->rank != 4 || w->data == NULL) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "weights '%s' are not a 4-D constant", w->name);
    }
    if (!set_padding(L, fb_i8(&L->r, op->opts, 0, 0), &a) ||
        !window_opt(L, 2, &a.stride[0]) || !window_opt(L, 1, &a.stride[1]) ||
        !window_opt(L, dw ? 6 : 5, &a.dilation[0]) ||
        !window_opt(L, dw ? 5 : 4, &a.dilation[1]) ||
        !set_act(L, fb_i8(&L->r, op->opts, dw ? 4 : 3, 0), &a)) {
        return L->r.st;
    }
    kh = w->dims[1];
    kw = w->dims[2];
    if (dw) { /* [1, kh, kw, C*mult] -> [C*mult, 1, kh, kw], one group per input channel */
        cout = w->dims[3];
        cin = 1;
        a.group = L->tt[op->in[0]].dims[3];
        if (w->dims[0] != 1 || a.group <= 0 || cout % a.group != 0) {
            return fail(L, MIEN_ERR_MODEL, "depthwise weights '%s' do not fit %lld channels",
                        w->name, (long long)a.group);
        }
    } else { /* OHWI -> OIHW */
        cout = w->dims[0];
        cin = w->dims[3];
        a.group = 1;
    }
    a.kernel[0] = kh;
    a.kernel[1] = kw;
    src = const_f32(L, op->in[1], &n);
    if (src == NULL) {
        return L->r.st;
    }
    if (n != cout * cin * kh * kw) { /* defensive: decode_tensor() checked the size */
        free(src);
        return fail(L, MIEN_ERR_MODEL, "weights '%s' do not fit their shape", w->name);
    }
    dst = malloc((size_t)(n > 0 ? n : 1) * sizeof(*dst));
    if (dst == NULL) {
        free(src);
        return nomem(L);
    }
    for (int64_t i = 0; i < n; i++) { /* i walks the file's layout */
        if (dw) { /* src [kh*kw][cout] -> dst [cout][kh*kw] */
            dst[(i % cout) * kh * kw + i / cout] = src[i];
        } else { /* src [cout][kh*kw][cin] -> dst [cout][cin][kh*kw] */
            int64_t o = i / (kh * kw * cin), yx = i / cin % (kh * kw), c = i % cin;
            dst[(o * cin + c) * kh * kw + yx] = src[i];
        }
    }
    free(src);
    dims[0] = cout;
    dims[1] = cin;
    dims[2] = kh;
    dims[3] = kw;
    in[0] = act_in(L, op->in[0]);
    in[1] = add_tensor(L, w->name, ":oihw", NN_F32, 4, dims, dst);
    n_in = with_bias(L, in, n_in);
    return emit_op(L, NN_OP_CONV, n_in, in, &a);
}

/* MAX_POOL_2D, AVERAGE_POOL_2D → MaxPool, AveragePool. Pool2DOptions: padding 0,
 * stride_w 1, stride_h 2, filter_w 3, filter_h 4, fused_activation 5. TF's average pool
 * divides by the pixels inside the image, so count_include_pad stays false. */
static mien_status pool(loader *L, bool max)
{
    const tfl_op *op = L->op;
    nn_attrs a = {0};
    int x;
    if (op->n_in < 1 || !need_4d(L, op->in[0])) {
        return L->r.st;
    }
    if (!set_padding(L, fb_i8(&L->r, op->opts, 0, 0), &a) ||
        !window_opt(L, 2, &a.stride[0]) || !window_opt(L, 1, &a.stride[1]) ||
        !window_opt(L, 4, &a.kernel[0]) || !window_opt(L, 3, &a.kernel[1]) ||
        !set_act(L, fb_i8(&L->r, op->opts, 5, 0), &a)) {
        return L->r.st;
    }
    a.dilation[0] = 1;
    a.dilation[1] = 1;
    x = act_in(L, op->in[0]);
    return emit_op(L, max ? NN_OP_MAXPOOL : NN_OP_AVGPOOL, 1, &x, &a);
}

/* FULLY_CONNECTED → Gemm(x, W[out,in], b?) with trans_b. FullyConnectedOptions:
 * fused_activation 0, weights_format 1 (0 DEFAULT only), keep_num_dims 2. TFLite
 * flattens the input to [-1, in] in NHWC order, so a 4-D input is transposed back to
 * NHWC and reshaped first. */
static mien_status fully_connected(loader *L)
{
    const tfl_op *op = L->op;
    const tfl_tensor *x, *w;
    nn_attrs a = {0};
    int in[3], n_in = 2;
    if (op->n_in < 2 || op->in[0] < 0 || op->in[1] < 0) {
        return fail(L, MIEN_ERR_MODEL, "needs an input and weights");
    }
    x = &L->tt[op->in[0]];
    w = &L->tt[op->in[1]];
    if (w->rank != 2 || w->dims[1] <= 0) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "weights '%s' are not [out, in]", w->name);
    }
    if (fb_i8(&L->r, op->opts, 1, 0) != 0) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "weights format %d is not supported",
                    fb_i8(&L->r, op->opts, 1, 0));
    }
    if (fb_i8(&L->r, op->opts, 2, 0) != 0 && x->rank != 2) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "keep_num_dims is not supported");
    }
    if (!set_act(L, fb_i8(&L->r, op->opts, 0, 0), &a)) {
        return L->r.st;
    }
    a.trans_b = true;
    a.alpha = 1.0f;
    a.beta = 1.0f;
    in[0] = act_in(L, op->in[0]);
    if (in[0] >= 0 && x->rank != 2) {
        const char *base = L->tt[op->out[0]].name;
        if (x->rank == 4) {
            in[0] = add_transpose(L, in[0], PERM_TO_NHWC, base, ":nhwc");
        }
        if (in[0] >= 0) {
            const int64_t shape[2] = {-1, w->dims[1]};
            in[0] = add_reshape(L, in[0], 2, shape, shape, base, ":flat");
        }
    }
    in[1] = plain_in(L, op->in[1]);
    n_in = with_bias(L, in, n_in);
    return emit_op(L, NN_OP_GEMM, n_in, in, &a);
}

/* ADD, SUB, MUL, DIV → numpy-broadcast Add/Sub/Mul/Div; options: fused_activation 0.
 * When the result is 4-D (NCHW here), constant operands with more than one element are
 * re-laid for NCHW broadcasting ([C] → [1,C,1,1], [1,H,W,C] → [1,C,H,W]); scalars stay. */
static mien_status binary(loader *L, nn_op kind)
{
    const tfl_op *op = L->op;
    nn_attrs a = {0};
    int in[2];
    bool out4 = L->tt[op->out[0]].rank == 4;
    if (op->n_in != 2) {
        return fail(L, MIEN_ERR_MODEL, "needs two inputs");
    }
    if (!set_act(L, fb_i8(&L->r, op->opts, 0, 0), &a)) {
        return L->r.st;
    }
    for (int i = 0; i < 2; i++) {
        int t = op->in[i];
        const tfl_tensor *x;
        if (t < 0) {
            return fail(L, MIEN_ERR_MODEL, "input %d is absent", i);
        }
        x = &L->tt[t];
        if (!out4 || shape_elems(x, 2) == 1) {
            in[i] = plain_in(L, t);
        } else if (x->data != NULL) {
            in[i] = nchw_const(L, t);
        } else if (x->rank == 4) {
            in[i] = plain_in(L, t);
        } else {
            return fail(L, MIEN_ERR_UNSUPPORTED, "broadcasting the rank-%d activation '%s' "
                        "against a 4-D one", x->rank, x->name);
        }
    }
    return emit_op(L, kind, 2, in, &a);
}

/* RELU, NEG, ABS, EXP → Relu, Neg, Abs, Exp. */
static mien_status unary(loader *L, nn_op kind)
{
    int x, y;
    if (L->op->n_in != 1) {
        return fail(L, MIEN_ERR_MODEL, "needs one input");
    }
    x = act_in(L, L->op->in[0]);
    y = act_out(L, L->op->out[0]);
    if (L->r.st == MIEN_OK) {
        add_node(L, kind, 1, &x, y, NULL);
    }
    return L->r.st;
}

/* REDUCE_MAX, SUM → ReduceMax, ReduceSum; axes from the constant INT32 second input,
 * ReducerOptions: keep_dims 0. On a 4-D input the NHWC axes map to NCHW (0→0, 1→2, 2→3,
 * 3→1). Without keep_dims, when the kept axes would come out in another order than
 * TFLite's (C kept with H or W), the input is transposed back to NHWC and reduced there. */
static mien_status reduce(loader *L, nn_op kind)
{
    static const int64_t TO_NCHW_AXIS[4] = {0, 2, 3, 1};
    const tfl_op *op = L->op;
    const tfl_tensor *x, *ax;
    nn_attrs a = {0};
    bool kept[4] = {true, true, true, true};
    int xi, rank;
    if (op->n_in != 2 || op->in[0] < 0 || op->in[1] < 0) {
        return fail(L, MIEN_ERR_MODEL, "needs an input and axes");
    }
    x = &L->tt[op->in[0]];
    ax = &L->tt[op->in[1]];
    rank = x->rank;
    if (ax->data == NULL || ax->type != TFL_INT32 || ax->rank > 1 ||
        ax->data_len / 4 > NN_MAX_RANK || ax->data_len == 0) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "axes '%s' are not 1 to %d INT32 constants",
                    ax->name, NN_MAX_RANK);
    }
    a.keepdims = fb_i8(&L->r, op->opts, 0, 0) != 0;
    a.n_axes = (int)(ax->data_len / 4);
    for (int i = 0; i < a.n_axes; i++) {
        int64_t v = (int32_t)get_u32(ax->data + 4 * i);
        if (v < 0) {
            v += rank;
        }
        if (v < 0 || v >= rank) {
            return fail(L, MIEN_ERR_MODEL, "axis %lld out of range for rank %d",
                        (long long)v, rank);
        }
        a.axes[i] = v;
        if (rank == 4) {
            kept[v] = false;
        }
    }
    xi = act_in(L, op->in[0]);
    if (xi >= 0 && rank == 4) {
        if (!a.keepdims && kept[3] && (kept[1] || kept[2])) {
            xi = add_transpose(L, xi, PERM_TO_NHWC, L->tt[op->out[0]].name, ":nhwc");
        } else {
            for (int i = 0; i < a.n_axes; i++) {
                a.axes[i] = TO_NCHW_AXIS[a.axes[i]];
            }
        }
    }
    return emit_op(L, kind, 1, &xi, &a);
}

/* RESHAPE → Reshape to the output tensor's declared shape with the batch free (-1); the
 * second input and ReshapeOptions are not read. A 4-D input is transposed back to NHWC
 * first and a 4-D output transposed to NCHW after, so elements move in TFLite order. */
static mien_status reshape(loader *L)
{
    const tfl_op *op = L->op;
    const tfl_tensor *x, *o;
    int64_t shape[NN_MAX_RANK], dims[NN_MAX_RANK];
    int xi, y;
    if (op->n_in < 1 || op->in[0] < 0) {
        return fail(L, MIEN_ERR_MODEL, "needs an input");
    }
    x = &L->tt[op->in[0]];
    o = &L->tt[op->out[0]];
    if (o->rank < 1) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "reshape to a scalar");
    }
    for (int i = 0; i < o->rank; i++) {
        shape[i] = i == 0 ? -1 : o->dims[i];
        if (shape[i] == 0 || shape[i] < -1 || (i > 0 && shape[i] < 0)) {
            return fail(L, MIEN_ERR_UNSUPPORTED, "output shape has unknown dimension %d", i);
        }
    }
    xi = act_in(L, op->in[0]);
    if (xi >= 0 && x->rank == 4) {
        xi = add_transpose(L, xi, PERM_TO_NHWC, o->name, ":nhwc");
    }
    if (xi < 0) {
        return L->r.st;
    }
    if (o->rank != 4) {
        y = act_out(L, op->out[0]);
        if (L->r.st == MIEN_OK) {
            int in[2];
            int64_t n = o->rank;
            int64_t *data = malloc((size_t)n * sizeof(*data));
            if (data == NULL) {
                return nomem(L);
            }
            memcpy(data, shape, (size_t)n * sizeof(*data));
            in[0] = xi;
            in[1] = add_tensor(L, L->g->tensors[y].name, ":shape", NN_I64, 1, &n, data);
            if (in[1] >= 0) {
                add_node(L, NN_OP_RESHAPE, 2, in, y, NULL);
            }
        }
        return L->r.st;
    }
    act_dims(L, o, false, dims);
    xi = add_reshape(L, xi, 4, shape, dims, o->name, ":nhwc");
    y = act_out(L, op->out[0]);
    if (xi >= 0 && y >= 0) {
        nn_attrs a = {0};
        a.n_perm = 4;
        for (int i = 0; i < 4; i++) {
            a.perm[i] = PERM_TO_NCHW[i];
        }
        add_node(L, NN_OP_TRANSPOSE, 1, &xi, y, &a);
    }
    return L->r.st;
}

/* Translates one decoded operator. */
static mien_status translate(loader *L)
{
    switch (L->op->code) {
    case TFL_CONV_2D:
        return conv(L, false);
    case TFL_DEPTHWISE_CONV_2D:
        return conv(L, true);
    case TFL_MAX_POOL_2D:
        return pool(L, true);
    case TFL_AVERAGE_POOL_2D:
        return pool(L, false);
    case TFL_FULLY_CONNECTED:
        return fully_connected(L);
    case TFL_ADD:
        return binary(L, NN_OP_ADD);
    case TFL_SUB:
        return binary(L, NN_OP_SUB);
    case TFL_MUL:
        return binary(L, NN_OP_MUL);
    case TFL_DIV:
        return binary(L, NN_OP_DIV);
    case TFL_RELU:
        return unary(L, NN_OP_RELU);
    case TFL_NEG:
        return unary(L, NN_OP_NEG);
    case TFL_ABS:
        return unary(L, NN_OP_ABS);
    case TFL_EXP:
        return unary(L, NN_OP_EXP);
    case TFL_REDUCE_MAX:
        return reduce(L, NN_OP_REDUCE_MAX);
    case TFL_SUM:
        return reduce(L, NN_OP_REDUCE_SUM);
    case TFL_RESHAPE:
        return reshape(L);
    default: {
        const tfl_op *op = L->op;
        L->op = NULL; /* the message names the node itself */
        return fail(L, MIEN_ERR_UNSUPPORTED,
                    "operator %d (%s) at node %d (output tensor '%s') is not supported",
                    (int)op->code, builtin_name(op->code), op->index, L->tt[op->out[0]].name);
    }
    }
}

/* ---- the model -------------------------------------------------------------------------- */

/* Decodes the OperatorCode table: builtin code = max(deprecated_builtin_code (field 0,
 * int8), builtin_code (field 3, int32)), as schema.fbs version 3a prescribes. */
static mien_status decode_opcodes(loader *L, fb_table model)
{
    fb_vec v = fb_vector(&L->r, model, 1, 4);
    if (L->r.st != MIEN_OK) {
        return L->r.st;
    }
    if (v.len > (size_t)INT32_MAX) {
        return fail(L, MIEN_ERR_MODEL, "%zu operator codes", v.len);
    }
    L->opcodes = malloc((v.len > 0 ? v.len : 1) * sizeof(*L->opcodes));
    if (L->opcodes == NULL) {
        return nomem(L);
    }
    for (size_t i = 0; i < v.len && L->r.st == MIEN_OK; i++) {
        fb_table oc = fb_vec_table(&L->r, v, i);
        int32_t dep = fb_i8(&L->r, oc, 0, 0), code = fb_i32(&L->r, oc, 3, 0);
        L->opcodes[i] = dep > code ? dep : code;
    }
    L->n_opcodes = (int)v.len;
    return L->r.st;
}

/* True when the graph has no operator that fixes H and W (RESHAPE, FULLY_CONNECTED). */
static bool fully_convolutional(loader *L, fb_vec ops)
{
    for (size_t i = 0; i < ops.len && L->r.st == MIEN_OK; i++) {
        fb_table t = fb_vec_table(&L->r, ops, i);
        int32_t oc = fb_i32(&L->r, t, 0, 0);
        if (oc >= 0 && oc < L->n_opcodes &&
            (L->opcodes[oc] == TFL_RESHAPE || L->opcodes[oc] == TFL_FULLY_CONNECTED)) {
            return false;
        }
    }
    return true;
}

/* Adds the graph's tensor for the file's graph input or output tt: its name and declared
 * (NHWC) dims. Its index, or -1 when out of memory. */
static int graph_io_tensor(loader *L, const tfl_tensor *tt)
{
    int64_t dims[NN_MAX_RANK];
    act_dims(L, tt, false, dims);
    return add_tensor(L, tt->name, "", NN_F32, tt->rank, dims, NULL);
}

/* Makes the file's tensor t a graph input: the NHWC tensor with the file's name and, for a
 * 4-D input, a Transpose to the NCHW tensor "<name>:nchw" the operators read. */
static void make_input(loader *L, int t)
{
    const tfl_tensor *tt = &L->tt[t];
    int x;
    if (tt->data != NULL || L->produced[t] || tt->type != TFL_FLOAT32) {
        fail(L, MIEN_ERR_UNSUPPORTED, "graph input '%s' is a constant, repeated, or not FLOAT32",
             tt->name);
        return;
    }
    if ((x = graph_io_tensor(L, tt)) < 0) {
        return;
    }
    L->g->inputs[L->g->n_inputs++] = x;
    if (tt->rank == 4) {
        x = add_transpose(L, x, PERM_TO_NCHW, tt->name, ":nchw");
    }
    L->ir[t] = x;
    L->produced[t] = true;
}

/* Makes the file's tensor t a graph output tensor with the file's name: a 4-D one keeps its
 * NHWC dims (the Transpose into it is added at the end); others are the operators' own
 * outputs. */
static void make_output(loader *L, int t)
{
    const tfl_tensor *tt = &L->tt[t];
    int x;
    if (tt->data != NULL || L->produced[t] || L->ir[t] >= 0 || L->ext[t] >= 0) {
        fail(L, MIEN_ERR_UNSUPPORTED, "graph output '%s' is a constant, a graph input, or "
             "repeated", tt->name);
        return;
    }
    if ((x = graph_io_tensor(L, tt)) < 0) {
        return;
    }
    L->g->outputs[L->g->n_outputs++] = x;
    if (tt->rank == 4) {
        L->ext[t] = x;
    } else {
        L->ir[t] = x;
    }
}

/* Creates the graph's inputs (`outputs` false) or outputs from the file's list v. */
static mien_status make_io(loader *L, fb_vec v, bool outputs)
{
    const char *what = outputs ? "output" : "input";
    if (v.len > NN_MAX_GRAPH_IO) {
        return fail(L, MIEN_ERR_UNSUPPORTED, "%zu graph %ss (at most %d)", v.len, what,
                    NN_MAX_GRAPH_IO);
    }
    for (size_t i = 0; i < v.len && L->r.st == MIEN_OK; i++) {
        int t = fb_vec_i32(&L->r, v, i);
        if (t < 0 || t >= L->n_tt) {
            return fail(L, MIEN_ERR_MODEL, "graph %s %zu is tensor %d of %d", what, i, t,
                        L->n_tt);
        }
        if (outputs) {
            make_output(L, t);
        } else {
            make_input(L, t);
        }
    }
    return L->r.st;
}

/* Adds the Transposes into the 4-D graph outputs and checks every output was written. */
static mien_status finish_outputs(loader *L, fb_vec v)
{
    for (size_t i = 0; i < v.len; i++) {
        int t = fb_vec_i32(&L->r, v, i);
        if (!L->produced[t]) {
            return fail(L, MIEN_ERR_MODEL, "graph output '%s' is never written",
                        L->tt[t].name);
        }
        if (L->ext[t] >= 0) {
            nn_attrs a = {0};
            a.n_perm = 4;
            for (int k = 0; k < 4; k++) {
                a.perm[k] = PERM_TO_NHWC[k];
            }
            if (!add_node(L, NN_OP_TRANSPOSE, 1, &L->ir[t], L->ext[t], &a)) {
                return L->r.st;
            }
        }
    }
    return L->r.st;
}

/* Sets g->source to "tflite v<version>" plus the file's description (printable ASCII,
 * at most 64 characters). */
static mien_status make_source(loader *L, fb_table model)
{
    char desc[65];
    char *s = fb_string(&L->r, model, 3);
    uint32_t version = (uint32_t)fb_i32(&L->r, model, 0, 0);
    size_t n = 0;
    if (s == NULL) {
        return L->r.st;
    }
    for (size_t i = 0; s[i] != '\0' && n < sizeof(desc) - 1; i++) {
        desc[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    }
    desc[n] = '\0';
    free(s);
    L->g->source = malloc(sizeof(desc) + 32);
    if (L->g->source == NULL) {
        return nomem(L);
    }
    snprintf(L->g->source, sizeof(desc) + 32, "tflite v%u%s%s", version, n ? ", " : "",
             desc);
    return L->r.st;
}

/* Allocates the per-tensor maps and decodes every tensor of the subgraph. */
static mien_status decode_tensors(loader *L, fb_table sg, fb_vec buffers)
{
    fb_vec v = fb_vector(&L->r, sg, 0, 4);
    size_t n = v.len > 0 ? v.len : 1;
    if (L->r.st != MIEN_OK) {
        return L->r.st;
    }
    if (v.len > (size_t)INT32_MAX / 2) {
        return fail(L, MIEN_ERR_MODEL, "%zu tensors", v.len);
    }
    L->tt = calloc(n, sizeof(*L->tt));
    L->ir = malloc(n * sizeof(*L->ir));
    L->nchw = malloc(n * sizeof(*L->nchw));
    L->ext = malloc(n * sizeof(*L->ext));
    L->produced = calloc(n, sizeof(*L->produced));
    if (L->tt == NULL || L->ir == NULL || L->nchw == NULL || L->ext == NULL ||
        L->produced == NULL) {
        return nomem(L);
    }
    L->n_tt = (int)v.len;
    for (size_t i = 0; i < n; i++) {
        L->ir[i] = -1;
        L->nchw[i] = -1;
        L->ext[i] = -1;
    }
    for (size_t i = 0; i < v.len && L->r.st == MIEN_OK; i++) {
        decode_tensor(L, fb_vec_table(&L->r, v, i), buffers, (int)i);
    }
    return L->r.st;
}

/* Frees the loader's decoded tables and maps (not the graph). */
static void loader_release(loader *L)
{
    for (int i = 0; L->tt != NULL && i < L->n_tt; i++) {
        free(L->tt[i].name);
    }
    free(L->tt);
    free(L->ir);
    free(L->nchw);
    free(L->ext);
    free(L->produced);
    free(L->opcodes);
}

mien_status nn_tflite_load(const uint8_t *bytes, size_t size, nn_graph **out, mien_error *err)
{
    loader L;
    fb_table model, sg;
    fb_vec buffers, subgraphs, ops, gin, gout;
    if (out == NULL || (bytes == NULL && size > 0)) {
        if (out != NULL) {
            *out = NULL;
        }
        return base_error_set(err, MIEN_ERR_ARG, "tflite: no output pointer or no bytes");
    }
    *out = NULL;
    if (size < 8 || memcmp(bytes + 4, "TFL3", 4) != 0) {
        return base_error_set(err, MIEN_ERR_MODEL, "tflite: not a TFLite file (%zu bytes, "
                              "no \"TFL3\" identifier at bytes 4..7)", size);
    }
    memset(&L, 0, sizeof(L));
    L.r.b = bytes;
    L.r.size = size;
    L.r.err = err;
    L.g = nn_graph_new();
    if (L.g == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "tflite: out of memory");
    }

    model = fb_table_at(&L.r, fb_deref(&L.r, 0));
    if (decode_opcodes(&L, model) != MIEN_OK || make_source(&L, model) != MIEN_OK) {
        goto fail;
    }
    buffers = fb_vector(&L.r, model, 4, 4);
    subgraphs = fb_vector(&L.r, model, 2, 4);
    if (L.r.st == MIEN_OK && subgraphs.len == 0) {
        fail(&L, MIEN_ERR_MODEL, "the model has no subgraph");
    }
    sg = fb_vec_table(&L.r, subgraphs, 0);
    if (decode_tensors(&L, sg, buffers) != MIEN_OK) {
        goto fail;
    }
    gin = fb_vector(&L.r, sg, 1, 4);
    gout = fb_vector(&L.r, sg, 2, 4);
    ops = fb_vector(&L.r, sg, 3, 4);
    L.free_hw = fully_convolutional(&L, ops);
    if (L.r.st != MIEN_OK || make_io(&L, gin, false) != MIEN_OK ||
        make_io(&L, gout, true) != MIEN_OK) {
        goto fail;
    }
    for (size_t i = 0; i < ops.len; i++) {
        tfl_op op;
        if (ops.len > (size_t)INT32_MAX ||
            decode_op(&L, fb_vec_table(&L.r, ops, i), (int)i, &op) != MIEN_OK) {
            goto fail;
        }
        L.op = &op;
        if (translate(&L) != MIEN_OK) {
            goto fail;
        }
        L.op = NULL;
    }
    if (finish_outputs(&L, gout) != MIEN_OK) {
        goto fail;
    }
    loader_release(&L);
    *out = L.g;
    return MIEN_OK;

fail:
    loader_release(&L);
    nn_graph_free(L.g);
    return L.r.st != MIEN_OK ? L.r.st : base_error_set(err, MIEN_ERR_INTERNAL, "tflite: ?");
}
