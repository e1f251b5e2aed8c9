/* onnx_load.c — the ONNX loader: onnx.ModelProto (onnx/onnx.proto, read with the protobuf-c
 * code CMake generates from Debian's onnx.proto) → mien's IR (nn/graph.h).
 *
 * The translation follows the operator specifications of onnx/docs/Operators.md:
 *   - initializers and Constant nodes become constant tensors (FLOAT, INT64, INT32 only);
 *   - graph inputs that are also initializers are constants, not inputs;
 *   - each other node becomes one IR node; its attributes fill nn_attrs, with the ONNX
 *     defaults written out (strides/dilations 1, group 1, keepdims 1, Gemm alpha/beta 1);
 *   - operands that opset 10+ moved from attributes to inputs (Slice starts/ends/axes/
 *     steps, Clip min/max, Unsqueeze/Squeeze/Reduce axes) must be constants and are read
 *     into the attributes; the node keeps only its data input;
 *   - anything whose meaning mien would get wrong (3-D convolutions, Reshape allowzero,
 *     external data, a non-default domain) fails with MIEN_ERR_UNSUPPORTED rather than
 *     being approximated.
 * The loader only translates; the passes (passes.c) fold shape arithmetic and fuse ops.
 * Names are resolved through a hash table built once, so loading is linear in the file.
 */
#include "nn/onnx_load.h"

#include <float.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "onnx.pb-c.h"

/* TensorProto.raw_data is "fixed-width, little-endian" (onnx.proto); we memcpy it. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx_load.c copies TensorProto.raw_data as is and needs a little-endian host"
#endif

/* Operators changed meaning before opset 7 (the `broadcast` attribute of Add/Mul, Slice
 * and Reshape forms); every model mien ships is opset 9 or later. */
#define ONNX_MIN_OPSET 7

/* Names of TensorProto.DataType values (onnx.proto, enum DataType), for messages. */
static const char *const DTYPE_NAMES[] = {
    "UNDEFINED", "FLOAT",  "UINT8",  "INT8",   "UINT16",    "INT16",      "INT32",
    "INT64",     "STRING", "BOOL",   "FLOAT16", "DOUBLE",   "UINT32",     "UINT64",
    "COMPLEX64", "COMPLEX128", "BFLOAT16",
};

/* ONNX op_type of every nn_op, from the one list in graph.h. */
static const char *const OP_TYPES[NN_OP_COUNT] = {
#define OP_TYPE_GEN(name, str) str,
    NN_OP_MAP(OP_TYPE_GEN)
#undef OP_TYPE_GEN
};

/* State of one load. The name map is an open-addressing hash table of tensor indices
 * (-1 = empty slot), sized once to at least twice the number of names the file can
 * define, so it never fills up. */
typedef struct loader {
    nn_graph *g;
    int64_t opset;
    int *map;
    size_t map_cap; /* a power of two */
    mien_error *err;
} loader;

/* One node being translated. */
typedef struct node_ctx {
    const Onnx__NodeProto *p;
    const char *name; /* the file's name, or "<op>_<index>" */
    const char *op;   /* op_type */
    int n_ins;
    int ins[NN_MAX_NODE_INPUTS]; /* tensor indices; -1 = optional input left empty */
} node_ctx;

/* Name of ONNX data type t for messages; never NULL. */
static const char *dtype_name(int32_t t)
{
    if (t >= 0 && (size_t)t < sizeof(DTYPE_NAMES) / sizeof(DTYPE_NAMES[0])) {
        return DTYPE_NAMES[t];
    }
    return "unknown";
}

/* s, or `fallback` when s is NULL or empty (protobuf-c leaves absent strings NULL). */
static const char *str_or(const char *s, const char *fallback)
{
    return s != NULL && s[0] != '\0' ? s : fallback;
}

/* ---- name map ------------------------------------------------------------------------- */

/* FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/). */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Index of the tensor called `name`, or -1. */
static int map_find(const loader *L, const char *name)
{
    size_t mask = L->map_cap - 1;
    for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask) {
        int t = L->map[i];
        if (t < 0) {
            return -1;
        }
        if (strcmp(L->g->tensors[t].name, name) == 0) {
            return t;
        }
    }
}

/* Records tensor t under its name; the caller checked it is not there yet. */
static void map_put(loader *L, int t)
{
    size_t mask = L->map_cap - 1;
    size_t i = (size_t)name_hash(L->g->tensors[t].name) & mask;
    while (L->map[i] >= 0) {
        i = (i + 1) & mask;
    }
    L->map[i] = t;
}

/* Adds tensor `name` to the graph and the map and stores its index in *idx. Takes over
 * `data` (malloc'd), which is freed on failure. Fails with MIEN_ERR_MODEL for an empty or
 * already defined name (ONNX graphs are in SSA form), MIEN_ERR_NOMEM. */
static mien_status add_tensor(loader *L, const char *name, nn_dtype dtype, int rank,
                              const int64_t *dims, void *data, int *idx)
{
    int t;
    if (name == NULL || name[0] == '\0') {
        free(data);
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: a value has an empty name");
    }
    if (map_find(L, name) >= 0) {
        free(data);
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: value '%s' is defined twice",
                              name);
    }
    t = nn_graph_add_tensor(L->g, name, dtype, rank, dims, data);
    if (t < 0) {
        free(data);
        return base_error_set(L->err, MIEN_ERR_NOMEM, "onnx: out of memory adding '%s'", name);
    }
    map_put(L, t);
    *idx = t;
    return MIEN_OK;
}

/* ---- tensors -------------------------------------------------------------------------- */

/* Copies `count` elements of `esize` bytes from a typed repeated field into *data
 * (malloc'd, at least 1 byte so a constant with no elements still has data). Fails with
 * MIEN_ERR_MODEL when the field holds a different number of elements. */
static mien_status copy_typed(loader *L, const char *name, const void *src, size_t have,
                              size_t count, size_t esize, void **data)
{
    if (have != count) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: tensor '%s' holds %zu values, its dims need %zu", name,
                              have, count);
    }
    *data = malloc(count * esize > 0 ? count * esize : 1);
    if (*data == NULL) {
        return base_error_set(L->err, MIEN_ERR_NOMEM, "onnx: out of memory for tensor '%s'",
                              name);
    }
    if (count > 0) {
        memcpy(*data, src, count * esize);
    }
    return MIEN_OK;
}

/* Translates TensorProto `tp` into a new constant tensor called `name` (the initializer's
 * own name, or a Constant node's output) and stores its index in *idx. Fails with
 * MIEN_ERR_UNSUPPORTED for a data type other than FLOAT/INT64/INT32, external or
 * segmented data, or rank above NN_MAX_RANK; MIEN_ERR_MODEL when the data does not fit
 * the dims. The element count is checked against the data actually present before any
 * allocation, so a corrupt dim cannot make us allocate more than the file holds. */
static mien_status add_constant(loader *L, const Onnx__TensorProto *tp, const char *name,
                                int *idx)
{
    int64_t dims[NN_MAX_RANK];
    int64_t count = 1;
    size_t esize;
    nn_dtype dtype;
    void *data = NULL;
    mien_status s;
    int32_t dt = tp->has_data_type ? tp->data_type : 0;

    if (name == NULL || name[0] == '\0') {
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: a constant tensor has no name");
    }
    if (tp->n_dims > NN_MAX_RANK) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: tensor '%s' has rank %zu (mien supports up to %d)", name,
                              tp->n_dims, NN_MAX_RANK);
    }
    for (size_t i = 0; i < tp->n_dims; i++) {
        int64_t d = tp->dims[i];
        if (d < 0 || (d > 0 && count > INT64_MAX / 16 / d)) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: tensor '%s' has an invalid dim %lld", name,
                                  (long long)d);
        }
        dims[i] = d;
        count *= d;
    }
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        dtype = NN_F32;
        esize = 4;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        dtype = NN_I64;
        esize = 8;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        dtype = NN_I32;
        esize = 4;
        break;
    default:
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: tensor '%s' has data type %s, which mien does not "
                              "support (FLOAT, INT64 and INT32 only)",
                              name, dtype_name(dt));
    }
    if (tp->n_external_data > 0 ||
        (tp->has_data_location &&
         tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: tensor '%s' is stored in an external file, which mien "
                              "does not support",
                              name);
    }
    if (tp->segment != NULL) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: tensor '%s' is split into segments, which mien does not "
                              "support",
                              name);
    }
    if (tp->has_raw_data) {
        if (tp->raw_data.len / esize != (uint64_t)count || tp->raw_data.len % esize != 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: tensor '%s' has %zu bytes of data, its dims need %lld",
                                  name, tp->raw_data.len, (long long)count * (long long)esize);
        }
        s = copy_typed(L, name, tp->raw_data.data, (size_t)count, (size_t)count, esize, &data);
    } else if (dtype == NN_F32) {
        s = copy_typed(L, name, tp->float_data, tp->n_float_data, (size_t)count, esize, &data);
    } else if (dtype == NN_I64) {
        s = copy_typed(L, name, tp->int64_data, tp->n_int64_data, (size_t)count, esize, &data);
    } else {
        s = copy_typed(L, name, tp->int32_data, tp->n_int32_data, (size_t)count, esize, &data);
    }
    if (s != MIEN_OK) {
        return s;
    }
    return add_tensor(L, name, dtype, (int)tp->n_dims, dims, data, idx);
}

/* Reads the declared element type and dims of a graph input or output. *rank = -1 when
 * the file declares no shape; a dim given by name (dim_param) or not at all is -1.
 * Fails with MIEN_ERR_UNSUPPORTED when the value is not a tensor or its rank is above
 * NN_MAX_RANK, MIEN_ERR_MODEL for a negative dim. */
static mien_status value_info_shape(loader *L, const Onnx__ValueInfoProto *vi,
                                    int32_t *elem_type, int *rank, int64_t dims[NN_MAX_RANK])
{
    const char *name = str_or(vi->name, "?");
    const Onnx__TypeProto__Tensor *tt;
    *rank = -1;
    *elem_type = 0;
    if (vi->type == NULL) {
        return MIEN_OK; /* optional for values other than graph inputs and outputs */
    }
    if (vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        vi->type->tensor_type == NULL) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: value '%s' is not a tensor (sequence, map or optional), "
                              "which mien does not support",
                              name);
    }
    tt = vi->type->tensor_type;
    *elem_type = tt->has_elem_type ? tt->elem_type : 0;
    if (tt->shape == NULL) {
        return MIEN_OK;
    }
    if (tt->shape->n_dim > NN_MAX_RANK) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: value '%s' has rank %zu (mien supports up to %d)", name,
                              tt->shape->n_dim, NN_MAX_RANK);
    }
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0) {
                return base_error_set(L->err, MIEN_ERR_MODEL,
                                      "onnx: value '%s' declares dim %zu as %lld", name, i,
                                      (long long)d->dim_value);
            }
            dims[i] = d->dim_value;
        }
    }
    *rank = (int)tt->shape->n_dim;
    return MIEN_OK;
}

/* ---- attributes ----------------------------------------------------------------------- */

/* Attribute `name` of node n, or NULL. */
static const Onnx__AttributeProto *find_attr(const node_ctx *n, const char *name)
{
    for (size_t i = 0; i < n->p->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->p->attribute[i];
        if (a->name != NULL && strcmp(a->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

/* Attribute `name` of node n into *a when present (NULL when absent). MIEN_ERR_MODEL
 * naming `want` ("an integer") when it has a type other than `type`. */
static mien_status attr_typed(loader *L, const node_ctx *n, const char *name,
                              Onnx__AttributeProto__AttributeType type, const char *want,
                              const Onnx__AttributeProto **a)
{
    *a = find_attr(n, name);
    if (*a != NULL && (*a)->type != type) {
        *a = NULL;
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (%s): attribute '%s' should be %s", n->name,
                              n->op, name, want);
    }
    return MIEN_OK;
}

/* attr_int and attr_float: scalar attribute `name` of node n into *v, or `def` when absent.
 * MIEN_ERR_MODEL for a wrong type. One body, for the attribute type and the proto's field. */
#define ATTR_SCALAR(fn, ctype, proto_type, what, field)                                       \
    static mien_status fn(loader *L, const node_ctx *n, const char *name, ctype def, ctype *v) \
    {                                                                                         \
        const Onnx__AttributeProto *a;                                                        \
        mien_status s = attr_typed(L, n, name, proto_type, what, &a);                         \
        *v = a != NULL ? a->field : def;                                                      \
        return s;                                                                             \
    }

ATTR_SCALAR(attr_int, int64_t, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an integer", i)
ATTR_SCALAR(attr_float, float, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float", f)

/* Integer-list attribute `name` of node n into v[max]; *count = -1 when absent.
 * MIEN_ERR_MODEL for a wrong type, MIEN_ERR_UNSUPPORTED for more than max entries. */
static mien_status attr_ints(loader *L, const node_ctx *n, const char *name, int max,
                             int *count, int64_t *v)
{
    const Onnx__AttributeProto *a;
    mien_status s = attr_typed(L, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                               "a list of integers", &a);
    *count = -1;
    if (a == NULL) {
        return s;
    }
    if (a->n_ints > (size_t)max) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): attribute '%s' has %zu entries (mien "
                              "supports up to %d)",
                              n->name, n->op, name, a->n_ints, max);
    }
    for (size_t i = 0; i < a->n_ints; i++) {
        v[i] = a->ints[i];
    }
    *count = (int)a->n_ints;
    return MIEN_OK;
}

/* String attribute `name` of node n into buf[size] (truncated), or `def` when absent.
 * MIEN_ERR_MODEL for a wrong type. */
static mien_status attr_string(loader *L, const node_ctx *n, const char *name, const char *def,
                               char *buf, size_t size)
{
    const Onnx__AttributeProto *a;
    mien_status s = attr_typed(L, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
                               "a string", &a);
    size_t len;
    if (a == NULL) {
        snprintf(buf, size, "%s", def);
        return s;
    }
    len = a->s.len < size - 1 ? a->s.len : size - 1;
    if (len > 0) {
        memcpy(buf, a->s.data, len);
    }
    buf[len] = '\0';
    return MIEN_OK;
}

/* ---- constant inputs ------------------------------------------------------------------ */

/* Reads input `slot` of node n, which must be a constant INT64/INT32 tensor of at most
 * `max` elements, into v; *count = -1 when the input is absent or left empty.
 * MIEN_ERR_UNSUPPORTED when it is computed at run time or too long. */
static mien_status const_ints(loader *L, const node_ctx *n, int slot, const char *what, int max,
                              int *count, int64_t *v)
{
    const nn_tensor *t;
    int64_t elems;
    *count = -1;
    if (slot >= n->n_ins || n->ins[slot] < 0) {
        return MIEN_OK;
    }
    t = &L->g->tensors[n->ins[slot]];
    if (!nn_tensor_is_const(t) || t->dtype == NN_F32) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): %s ('%s') must be a constant integer "
                              "tensor",
                              n->name, n->op, what, t->name);
    }
    elems = nn_tensor_elems(t);
    if (elems > max) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): %s has %lld entries (mien supports up to "
                              "%d)",
                              n->name, n->op, what, (long long)elems, max);
    }
    for (int64_t i = 0; i < elems; i++) {
        v[i] = t->dtype == NN_I64 ? ((const int64_t *)t->data)[i]
                                  : (int64_t)((const int32_t *)t->data)[i];
    }
    *count = (int)elems;
    return MIEN_OK;
}

/* Reads input `slot` of node n, a constant FLOAT tensor of one element, into *v; leaves
 * *v alone when the input is absent. MIEN_ERR_UNSUPPORTED when not such a constant. */
static mien_status const_scalar(loader *L, const node_ctx *n, int slot, const char *what,
                                float *v)
{
    const nn_tensor *t;
    if (slot >= n->n_ins || n->ins[slot] < 0) {
        return MIEN_OK;
    }
    t = &L->g->tensors[n->ins[slot]];
    if (!nn_tensor_is_const(t) || t->dtype != NN_F32 || nn_tensor_elems(t) != 1) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): %s ('%s') must be a constant float "
                              "scalar",
                              n->name, n->op, what, t->name);
    }
    *v = *(const float *)t->data;
    return MIEN_OK;
}

/* ---- operators ------------------------------------------------------------------------ */

/* Reads a two-entry spatial attribute (strides, dilations, kernel_shape) into v[2] with
 * default `def`; entries must be positive. MIEN_ERR_UNSUPPORTED for another length (not
 * a 2-D op), MIEN_ERR_MODEL for a non-positive entry. *present tells if it was there. */
static mien_status attr_hw(loader *L, const node_ctx *n, const char *name, int64_t def,
                           int64_t v[2], bool *present)
{
    int64_t buf[NN_MAX_RANK];
    int count;
    mien_status s = attr_ints(L, n, name, NN_MAX_RANK, &count, buf);
    if (s != MIEN_OK) {
        return s;
    }
    v[0] = def;
    v[1] = def;
    if (present != NULL) {
        *present = count >= 0;
    }
    if (count < 0) {
        return MIEN_OK;
    }
    if (count != 2) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): attribute '%s' has %d entries; mien "
                              "supports 2-D (NCHW) operators only",
                              n->name, n->op, name, count);
    }
    if (buf[0] <= 0 || buf[1] <= 0) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (%s): attribute '%s' must be positive", n->name,
                              n->op, name);
    }
    v[0] = buf[0];
    v[1] = buf[1];
    return MIEN_OK;
}

/* Reads the window attributes shared by Conv, MaxPool and AveragePool: kernel_shape (for
 * Conv, from the weight dims when absent), strides, dilations, pads (ONNX order
 * [top, left, bottom, right] = nn_attrs.pads order) and auto_pad. */
static mien_status read_window(loader *L, const node_ctx *n, bool is_conv, nn_attrs *a)
{
    int64_t pads[NN_MAX_RANK];
    int n_pads;
    char auto_pad[32] = "NOTSET";
    bool has_kernel;
    mien_status s;

    s = attr_hw(L, n, "kernel_shape", 1, a->kernel, &has_kernel);
    if (s == MIEN_OK && is_conv) {
        const nn_tensor *w = &L->g->tensors[n->ins[1]];
        /* The weights' rank tells a 1-D or 3-D Conv apart even when kernel_shape is given. */
        if (nn_tensor_is_const(w) && w->rank != 4) {
            return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                  "onnx: node '%s' (Conv): weights '%s' have rank %d; mien "
                                  "supports 2-D convolution only",
                                  n->name, w->name, w->rank);
        }
        if (!has_kernel) {
            if (!nn_tensor_is_const(w)) {
                return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                      "onnx: node '%s' (Conv): no kernel_shape and the "
                                      "weights are not constant",
                                      n->name);
            }
            a->kernel[0] = w->dims[2];
            a->kernel[1] = w->dims[3];
        }
    } else if (s == MIEN_OK && !has_kernel) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (%s) has no kernel_shape", n->name, n->op);
    }
    if (s == MIEN_OK) {
        s = attr_hw(L, n, "strides", 1, a->stride, NULL);
    }
    if (s == MIEN_OK) {
        s = attr_hw(L, n, "dilations", 1, a->dilation, NULL);
    }
    if (s == MIEN_OK) {
        s = attr_ints(L, n, "pads", NN_MAX_RANK, &n_pads, pads);
    }
    if (s == MIEN_OK) {
        s = attr_string(L, n, "auto_pad", "NOTSET", auto_pad, sizeof(auto_pad));
    }
    if (s != MIEN_OK) {
        return s;
    }
    if (n_pads >= 0 && n_pads != 4) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): pads has %d entries; mien supports 2-D "
                              "(NCHW) operators only",
                              n->name, n->op, n_pads);
    }
    for (int i = 0; i < 4 && n_pads == 4; i++) {
        if (pads[i] < 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: node '%s' (%s): negative pads", n->name, n->op);
        }
        a->pads[i] = pads[i];
    }
    if (strcmp(auto_pad, "NOTSET") == 0 || auto_pad[0] == '\0') {
        a->auto_pad = NN_PAD_EXPLICIT;
    } else if (strcmp(auto_pad, "VALID") == 0) {
        a->auto_pad = NN_PAD_VALID;
    } else if (strcmp(auto_pad, "SAME_UPPER") == 0) {
        a->auto_pad = NN_PAD_SAME_UPPER;
    } else if (strcmp(auto_pad, "SAME_LOWER") == 0) {
        a->auto_pad = NN_PAD_SAME_LOWER;
    } else {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (%s): unknown auto_pad '%s'", n->name, n->op,
                              auto_pad);
    }
    return MIEN_OK;
}

/* Conv: window attributes and group (default 1). */
static mien_status read_conv(loader *L, const node_ctx *n, nn_attrs *a)
{
    mien_status s = read_window(L, n, true, a);
    if (s == MIEN_OK) {
        s = attr_int(L, n, "group", 1, &a->group);
    }
    if (s == MIEN_OK && a->group <= 0) {
        s = base_error_set(L->err, MIEN_ERR_MODEL, "onnx: node '%s' (Conv): group %lld",
                           n->name, (long long)a->group);
    }
    return s;
}

/* MaxPool / AveragePool: window attributes, ceil_mode, count_include_pad. Dilated pooling
 * and MaxPool's column-major indices output are not implemented. */
static mien_status read_pool(loader *L, const node_ctx *n, nn_op op, nn_attrs *a)
{
    int64_t ceil_mode = 0, include_pad = 0;
    mien_status s = read_window(L, n, false, a);
    if (s == MIEN_OK) {
        s = attr_int(L, n, "ceil_mode", 0, &ceil_mode);
    }
    if (s == MIEN_OK && op == NN_OP_AVGPOOL) {
        s = attr_int(L, n, "count_include_pad", 0, &include_pad);
    }
    if (s != MIEN_OK) {
        return s;
    }
    if (a->dilation[0] != 1 || a->dilation[1] != 1) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): dilated pooling is not supported",
                              n->name, n->op);
    }
    a->ceil_mode = ceil_mode != 0;
    a->count_include_pad = include_pad != 0;
    return MIEN_OK;
}

/* Slice: opset < 10 takes starts/ends/axes as attributes, opset >= 10 as constant inputs
 * 1..4 (with steps). Axes default to 0..n-1 and steps to 1; ends such as INT64_MAX
 * ("to the end") are stored as given and clamped against the shape later. */
static mien_status read_slice(loader *L, const node_ctx *n, nn_attrs *a, int *keep)
{
    int n_starts, n_ends, n_axes, n_steps = -1;
    mien_status s;
    if (L->opset < 10) {
        s = attr_ints(L, n, "starts", NN_MAX_RANK, &n_starts, a->starts);
        if (s == MIEN_OK) {
            s = attr_ints(L, n, "ends", NN_MAX_RANK, &n_ends, a->ends);
        }
        if (s == MIEN_OK) {
            s = attr_ints(L, n, "axes", NN_MAX_RANK, &n_axes, a->axes);
        }
    } else {
        s = const_ints(L, n, 1, "starts", NN_MAX_RANK, &n_starts, a->starts);
        if (s == MIEN_OK) {
            s = const_ints(L, n, 2, "ends", NN_MAX_RANK, &n_ends, a->ends);
        }
        if (s == MIEN_OK) {
            s = const_ints(L, n, 3, "axes", NN_MAX_RANK, &n_axes, a->axes);
        }
        if (s == MIEN_OK) {
            s = const_ints(L, n, 4, "steps", NN_MAX_RANK, &n_steps, a->steps);
        }
    }
    if (s != MIEN_OK) {
        return s;
    }
    *keep = 1;
    if (n_starts < 0 || n_ends != n_starts || (n_axes >= 0 && n_axes != n_starts) ||
        (n_steps >= 0 && n_steps != n_starts)) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (Slice): starts, ends, axes and steps are "
                              "missing or differ in length",
                              n->name);
    }
    for (int i = 0; i < n_starts; i++) {
        if (n_axes < 0) {
            a->axes[i] = i;
        }
        if (n_steps < 0) {
            a->steps[i] = 1;
        } else if (a->steps[i] == 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: node '%s' (Slice): a step is 0", n->name);
        }
    }
    a->n_axes = n_starts;
    return MIEN_OK;
}

/* Clip: bounds from attributes min/max (opset < 11) or constant inputs 1 and 2 (opset
 * >= 11); an absent bound is ±FLT_MAX (ONNX: numeric_limits lowest/max). */
static mien_status read_clip(loader *L, const node_ctx *n, nn_attrs *a, int *keep)
{
    mien_status s;
    a->clip_min = -FLT_MAX;
    a->clip_max = FLT_MAX;
    if (L->opset < 11) {
        s = attr_float(L, n, "min", -FLT_MAX, &a->clip_min);
        if (s == MIEN_OK) {
            s = attr_float(L, n, "max", FLT_MAX, &a->clip_max);
        }
        return s;
    }
    *keep = 1;
    s = const_scalar(L, n, 1, "min", &a->clip_min);
    if (s == MIEN_OK) {
        s = const_scalar(L, n, 2, "max", &a->clip_max);
    }
    return s;
}

/* Axes of Unsqueeze, Squeeze, ReduceMax, ReduceSum: the `axes` attribute, or else constant
 * input 1 (opset 13 moved them there; ReduceMax in opset 18). *count = -1 when absent. */
static mien_status read_axes(loader *L, const node_ctx *n, nn_attrs *a, int *count, int *keep)
{
    mien_status s = attr_ints(L, n, "axes", NN_MAX_RANK, count, a->axes);
    if (s == MIEN_OK && *count < 0) {
        s = const_ints(L, n, 1, "axes", NN_MAX_RANK, count, a->axes);
    }
    *keep = 1;
    a->n_axes = *count > 0 ? *count : 0;
    return s;
}

/* ReduceMax / ReduceSum: axes (absent = all), keepdims (default 1). noop_with_empty_axes
 * (opset 13+) turns an axis-free reduction into Identity, which the IR cannot express. */
static mien_status read_reduce(loader *L, const node_ctx *n, nn_attrs *a, int *keep)
{
    int64_t keepdims, noop;
    int count;
    mien_status s = read_axes(L, n, a, &count, keep);
    if (s == MIEN_OK) {
        s = attr_int(L, n, "keepdims", 1, &keepdims);
    }
    if (s == MIEN_OK) {
        s = attr_int(L, n, "noop_with_empty_axes", 0, &noop);
    }
    if (s != MIEN_OK) {
        return s;
    }
    if (noop != 0 && count <= 0) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (%s): noop_with_empty_axes is not supported",
                              n->name, n->op);
    }
    a->keepdims = keepdims != 0;
    return MIEN_OK;
}

/* Transpose: perm, or the reversed axes (ONNX default) when the input's rank is known at
 * load time (a graph input or a constant). */
static mien_status read_transpose(loader *L, const node_ctx *n, nn_attrs *a)
{
    int count;
    const nn_tensor *x = &L->g->tensors[n->ins[0]];
    bool rank_known = nn_tensor_is_const(x);
    mien_status s = attr_ints(L, n, "perm", NN_MAX_RANK, &count, a->perm);
    if (s != MIEN_OK) {
        return s;
    }
    if (count >= 0) {
        a->n_perm = count;
        return MIEN_OK;
    }
    for (int i = 0; i < L->g->n_inputs; i++) {
        rank_known = rank_known || L->g->inputs[i] == n->ins[0];
    }
    if (!rank_known) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (Transpose) has no perm and its input's rank "
                              "is not known when loading",
                              n->name);
    }
    a->n_perm = x->rank;
    for (int i = 0; i < x->rank; i++) {
        a->perm[i] = x->rank - 1 - i;
    }
    return MIEN_OK;
}

/* Fills the attributes of node n (op `op`) and sets *keep to the number of leading inputs
 * the IR node keeps (the rest were constant operands read into attributes). */
static mien_status read_attrs(loader *L, const node_ctx *n, nn_op op, nn_attrs *a, int *keep)
{
    mien_status s = MIEN_OK;
    int64_t v, v2;
    int count;
    *keep = n->n_ins;
    switch (op) {
    case NN_OP_CONV:
        return read_conv(L, n, a);
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        return read_pool(L, n, op, a);
    case NN_OP_GEMM:
        s = attr_int(L, n, "transA", 0, &v);
        a->trans_a = v != 0;
        if (s == MIEN_OK) {
            s = attr_int(L, n, "transB", 0, &v);
            a->trans_b = v != 0;
        }
        if (s == MIEN_OK) {
            s = attr_float(L, n, "alpha", 1.0f, &a->alpha);
        }
        if (s == MIEN_OK) {
            s = attr_float(L, n, "beta", 1.0f, &a->beta);
        }
        return s;
    case NN_OP_CLIP:
        return read_clip(L, n, a, keep);
    case NN_OP_SOFTMAX:
        /* Opset < 13 default 1 ("flatten from axis"), >= 13 default -1 (one axis); the
         * two agree whenever axis is the last one, as in every model mien ships. */
        return attr_int(L, n, "axis", L->opset < 13 ? 1 : -1, &a->axis);
    case NN_OP_REDUCE_MAX:
    case NN_OP_REDUCE_SUM:
        return read_reduce(L, n, a, keep);
    case NN_OP_RESHAPE:
        s = attr_int(L, n, "allowzero", 0, &v);
        if (s == MIEN_OK && v != 0) {
            s = base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                               "onnx: node '%s' (Reshape): allowzero=1 is not supported",
                               n->name);
        }
        return s;
    case NN_OP_FLATTEN:
        return attr_int(L, n, "axis", 1, &a->axis);
    case NN_OP_TRANSPOSE:
        return read_transpose(L, n, a);
    case NN_OP_CONCAT:
        if (find_attr(n, "axis") == NULL) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: node '%s' (Concat) has no axis", n->name);
        }
        return attr_int(L, n, "axis", 0, &a->axis);
    case NN_OP_SLICE:
        return read_slice(L, n, a, keep);
    case NN_OP_SHAPE:
        s = attr_int(L, n, "start", 0, &v);
        if (s == MIEN_OK) {
            s = attr_int(L, n, "end", INT64_MAX, &v2);
        }
        if (s == MIEN_OK && (v != 0 || v2 != INT64_MAX)) {
            s = base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                               "onnx: node '%s' (Shape): start/end are not supported",
                               n->name);
        }
        return s;
    case NN_OP_GATHER:
        return attr_int(L, n, "axis", 0, &a->axis);
    case NN_OP_UNSQUEEZE:
        s = read_axes(L, n, a, &count, keep);
        if (s == MIEN_OK && count <= 0) {
            s = base_error_set(L->err, MIEN_ERR_MODEL,
                               "onnx: node '%s' (Unsqueeze) has no axes", n->name);
        }
        return s;
    case NN_OP_SQUEEZE:
        return read_axes(L, n, a, &count, keep);
    case NN_OP_BATCHNORM:
        s = attr_float(L, n, "epsilon", 1e-5f, &a->epsilon);
        if (s == MIEN_OK) {
            s = attr_int(L, n, "spatial", 1, &v);
        }
        if (s == MIEN_OK) {
            s = attr_int(L, n, "training_mode", 0, &v2);
        }
        if (s == MIEN_OK && (v != 1 || v2 != 0)) {
            s = base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                               "onnx: node '%s' (BatchNormalization): spatial=0 or "
                               "training_mode=1 is not supported",
                               n->name);
        }
        return s;
    case NN_OP_RELU:
    case NN_OP_PRELU:
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
    case NN_OP_NEG:
    case NN_OP_ABS:
    case NN_OP_EXP:
    case NN_OP_IDENTITY:
    case NN_OP_COUNT:
        break;
    }
    return s;
}

/* Inputs each op takes in the file: [min, max] (optional trailing inputs included).
 * Every input below `min` must be present. From the ONNX operator specifications. */
static void op_arity(nn_op op, int *min, int *max)
{
    *min = 1;
    *max = 1;
    switch (op) {
    case NN_OP_CONV:
    case NN_OP_GEMM:
        *min = 2;
        *max = 3;
        break;
    case NN_OP_CLIP:
        *max = 3;
        break;
    case NN_OP_PRELU:
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
    case NN_OP_RESHAPE:
    case NN_OP_GATHER:
        *min = 2;
        *max = 2;
        break;
    case NN_OP_REDUCE_MAX:
    case NN_OP_REDUCE_SUM:
    case NN_OP_UNSQUEEZE:
    case NN_OP_SQUEEZE:
        *max = 2;
        break;
    case NN_OP_CONCAT:
        *max = NN_MAX_NODE_INPUTS;
        break;
    case NN_OP_SLICE:
        *max = 5;
        break;
    case NN_OP_BATCHNORM:
        *min = 5;
        *max = 5;
        break;
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
    case NN_OP_RELU:
    case NN_OP_NEG:
    case NN_OP_ABS:
    case NN_OP_EXP:
    case NN_OP_SOFTMAX:
    case NN_OP_FLATTEN:
    case NN_OP_TRANSPOSE:
    case NN_OP_SHAPE:
    case NN_OP_IDENTITY:
    case NN_OP_COUNT:
        break;
    }
}

/* ---- nodes ---------------------------------------------------------------------------- */

/* Constant node: its `value` (or value_float/value_int/value_floats/value_ints, opset 12)
 * becomes a constant tensor named after the node's output; no IR node is made. */
static mien_status add_constant_node(loader *L, const node_ctx *n)
{
    const Onnx__AttributeProto *a = n->p->n_attribute == 1 ? n->p->attribute[0] : NULL;
    const char *out = n->p->n_output == 1 ? n->p->output[0] : NULL;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t one = 1;
    int idx;
    if (a == NULL || out == NULL || a->name == NULL) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: node '%s' (Constant) needs one value and one output",
                              n->name);
    }
    if (strcmp(a->name, "value") == 0 && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR &&
        a->t != NULL) {
        return add_constant(L, a->t, out, &idx);
    }
    /* The scalar and list forms: build a TensorProto view over the attribute's data. */
    tp.has_data_type = 1;
    if (strcmp(a->name, "value_float") == 0 &&
        a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
        tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        tp.n_float_data = 1;
        tp.float_data = (float *)&a->f;
    } else if (strcmp(a->name, "value_int") == 0 &&
               a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
        tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        tp.n_int64_data = 1;
        tp.int64_data = (int64_t *)&a->i;
    } else if (strcmp(a->name, "value_floats") == 0 &&
               a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
        one = (int64_t)a->n_floats;
        tp.n_dims = 1;
        tp.dims = &one;
        tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        tp.n_float_data = a->n_floats;
        tp.float_data = a->floats;
    } else if (strcmp(a->name, "value_ints") == 0 &&
               a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
        one = (int64_t)a->n_ints;
        tp.n_dims = 1;
        tp.dims = &one;
        tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        tp.n_int64_data = a->n_ints;
        tp.int64_data = a->ints;
    } else {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' (Constant): value attribute '%s' is not "
                              "supported",
                              n->name, a->name);
    }
    return add_constant(L, &tp, out, &idx);
}

/* Translates node `index` of the graph: resolves its inputs (each must be a graph input,
 * a constant or the output of an earlier node, else MIEN_ERR_MODEL), maps its op_type,
 * reads its attributes and appends one IR node with a new output tensor. */
static mien_status add_node(loader *L, const Onnx__NodeProto *p, size_t index)
{
    char made_up[96];
    node_ctx n = {.p = p};
    nn_attrs a;
    nn_op op = NN_OP_COUNT;
    int keep, min_in, max_in, out_idx, node_idx;
    nn_dtype out_dtype;
    const char *domain = p->domain != NULL ? p->domain : "";
    bool default_domain = domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
    mien_status s;

    n.op = p->op_type != NULL ? p->op_type : "";
    if (p->name != NULL && p->name[0] != '\0') {
        n.name = p->name;
    } else {
        snprintf(made_up, sizeof(made_up), "%.60s_%zu", n.op, index);
        n.name = made_up;
    }
    if (n.op[0] == '\0') {
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: node '%s' has no op_type", n.name);
    }
    if (default_domain) {
        for (int i = 0; i < NN_OP_COUNT; i++) {
            if (strcmp(OP_TYPES[i], n.op) == 0) {
                op = (nn_op)i;
            }
        }
    }
    if (op == NN_OP_COUNT && default_domain && strcmp(n.op, "Constant") == 0) {
        return add_constant_node(L, &n);
    }
    if (op == NN_OP_COUNT) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: node '%s' uses operator '%s' (domain '%s'), which mien "
                              "does not support",
                              n.name, n.op, domain[0] != '\0' ? domain : "ai.onnx");
    }

    op_arity(op, &min_in, &max_in);
    if (p->n_input < (size_t)min_in || p->n_input > (size_t)max_in) {
        /* A Concat of more than NN_MAX_NODE_INPUTS values is valid ONNX we cannot hold. */
        s = p->n_input > NN_MAX_NODE_INPUTS ? MIEN_ERR_UNSUPPORTED : MIEN_ERR_MODEL;
        return base_error_set(L->err, s, "onnx: node '%s' (%s) has %zu inputs, expected %d to %d",
                              n.name, n.op, p->n_input, min_in, max_in);
    }
    n.n_ins = (int)p->n_input;
    for (int i = 0; i < n.n_ins; i++) {
        const char *in = p->input[i];
        n.ins[i] = in[0] != '\0' ? map_find(L, in) : -1;
        if (in[0] != '\0' && n.ins[i] < 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: node '%s' (%s) reads '%s', which no earlier node, "
                                  "initializer or graph input defines (graph not "
                                  "topologically sorted?)",
                                  n.name, n.op, in);
        }
        if (i < min_in && n.ins[i] < 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: node '%s' (%s): required input %d is empty", n.name,
                                  n.op, i);
        }
    }
    if (p->n_output < 1 || p->output[0][0] == '\0') {
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: node '%s' (%s) has no output",
                              n.name, n.op);
    }
    for (size_t i = 1; i < p->n_output; i++) {
        if (p->output[i][0] != '\0') {
            return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                  "onnx: node '%s' (%s): optional output '%s' is not supported",
                                  n.name, n.op, p->output[i]);
        }
    }

    memset(&a, 0, sizeof(a));
    s = read_attrs(L, &n, op, &a, &keep);
    if (s != MIEN_OK) {
        return s;
    }
    /* Shape yields INT64; shape arithmetic (Gather, Unsqueeze, Concat of its result) keeps
     * the type of its data input so the folding pass can tell it from activations. */
    out_dtype = op == NN_OP_SHAPE ? NN_I64 : L->g->tensors[n.ins[0]].dtype;
    s = add_tensor(L, p->output[0], out_dtype, 0, NULL, NULL, &out_idx);
    if (s != MIEN_OK) {
        return s;
    }
    node_idx = nn_graph_add_node(L->g, op, n.name, keep, n.ins, 1, &out_idx, &a);
    if (node_idx < 0) {
        return base_error_set(L->err, MIEN_ERR_NOMEM, "onnx: out of memory adding node '%s'",
                              n.name);
    }
    return MIEN_OK;
}

/* ---- graph ---------------------------------------------------------------------------- */

/* Graph inputs that are not initializers become IR inputs with their declared dims. */
static mien_status add_inputs(loader *L, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        int64_t dims[NN_MAX_RANK];
        int32_t elem;
        int rank;
        int t = vi->name != NULL ? map_find(L, vi->name) : -1;
        mien_status s;
        if (t >= 0 && nn_tensor_is_const(&L->g->tensors[t])) {
            continue; /* an initializer listed as input (IR < 4 style): a constant */
        }
        s = value_info_shape(L, vi, &elem, &rank, dims);
        if (s != MIEN_OK) {
            return s;
        }
        if (rank < 0) {
            return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                  "onnx: graph input '%s' declares no shape",
                                  str_or(vi->name, "?"));
        }
        if (elem != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                  "onnx: graph input '%s' has data type %s; mien models take "
                                  "FLOAT inputs",
                                  str_or(vi->name, "?"), dtype_name(elem));
        }
        if (L->g->n_inputs == NN_MAX_GRAPH_IO) {
            return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                                  "onnx: the graph has more than %d inputs", NN_MAX_GRAPH_IO);
        }
        s = add_tensor(L, vi->name, NN_F32, rank, dims, NULL, &t);
        if (s != MIEN_OK) {
            return s;
        }
        L->g->inputs[L->g->n_inputs++] = t;
    }
    return MIEN_OK;
}

/* Graph outputs: each must name a defined value; a computed output takes the dims the
 * file declares for it (when it declares any). */
static mien_status add_outputs(loader *L, const Onnx__GraphProto *gp)
{
    if (gp->n_output == 0) {
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: the graph has no outputs");
    }
    if (gp->n_output > NN_MAX_GRAPH_IO) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: the graph has %zu outputs (mien supports up to %d)",
                              gp->n_output, NN_MAX_GRAPH_IO);
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int64_t dims[NN_MAX_RANK];
        int32_t elem;
        int rank;
        int t = vi->name != NULL ? map_find(L, vi->name) : -1;
        mien_status s;
        nn_tensor *x;
        if (t < 0) {
            return base_error_set(L->err, MIEN_ERR_MODEL,
                                  "onnx: graph output '%s' is not produced by any node",
                                  str_or(vi->name, "?"));
        }
        s = value_info_shape(L, vi, &elem, &rank, dims);
        if (s != MIEN_OK) {
            return s;
        }
        x = &L->g->tensors[t];
        if (rank >= 0 && !nn_tensor_is_const(x) && x->rank == 0) {
            x->rank = rank;
            memcpy(x->dims, dims, (size_t)rank * sizeof(dims[0]));
        }
        L->g->outputs[L->g->n_outputs++] = t;
    }
    return MIEN_OK;
}

/* Sizes the name map for every name the graph can define. */
static mien_status alloc_map(loader *L, const Onnx__GraphProto *gp)
{
    size_t names = gp->n_initializer + gp->n_input + 1;
    for (size_t i = 0; i < gp->n_node; i++) {
        names += gp->node[i]->n_output;
    }
    if (names > (size_t)(INT32_MAX / 4)) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED, "onnx: the graph is too large");
    }
    L->map_cap = 16;
    while (L->map_cap < 2 * names) {
        L->map_cap *= 2;
    }
    L->map = malloc(L->map_cap * sizeof(*L->map));
    if (L->map == NULL) {
        return base_error_set(L->err, MIEN_ERR_NOMEM, "onnx: out of memory");
    }
    memset(L->map, 0xff, L->map_cap * sizeof(*L->map)); /* every slot -1 */
    return MIEN_OK;
}

/* Translates an unpacked model into L->g (already allocated). */
static mien_status translate(loader *L, const Onnx__ModelProto *m)
{
    const Onnx__GraphProto *gp = m->graph;
    char source[160];
    bool has_opset = false;
    mien_status s;

    if (gp == NULL) {
        return base_error_set(L->err, MIEN_ERR_MODEL, "onnx: the model has no graph");
    }
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if (d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0) {
            L->opset = m->opset_import[i]->version;
            has_opset = true;
        }
    }
    if (!has_opset) {
        return base_error_set(L->err, MIEN_ERR_MODEL,
                              "onnx: the model imports no ai.onnx operator set");
    }
    if (L->opset < ONNX_MIN_OPSET) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: opset %lld is older than %d, the oldest mien supports",
                              (long long)L->opset, ONNX_MIN_OPSET);
    }
    snprintf(source, sizeof(source), "onnx ir %lld opset %lld producer %.40s %.40s",
             (long long)m->ir_version, (long long)L->opset, str_or(m->producer_name, "unknown"),
             str_or(m->producer_version, ""));
    L->g->source = strdup(source);
    if (L->g->source == NULL) {
        return base_error_set(L->err, MIEN_ERR_NOMEM, "onnx: out of memory");
    }
    if (gp->n_sparse_initializer > 0) {
        return base_error_set(L->err, MIEN_ERR_UNSUPPORTED,
                              "onnx: sparse initializers are not supported");
    }
    s = alloc_map(L, gp);
    for (size_t i = 0; s == MIEN_OK && i < gp->n_initializer; i++) {
        int idx;
        s = add_constant(L, gp->initializer[i], gp->initializer[i]->name, &idx);
    }
    if (s == MIEN_OK) {
        s = add_inputs(L, gp);
    }
    for (size_t i = 0; s == MIEN_OK && i < gp->n_node; i++) {
        s = add_node(L, gp->node[i], i);
    }
    if (s == MIEN_OK) {
        s = add_outputs(L, gp);
    }
    return s;
}

mien_status nn_onnx_load(const uint8_t *bytes, size_t size, nn_graph **out, mien_error *err)
{
    loader L = {.err = err};
    Onnx__ModelProto *m;
    mien_status s;

    if (out == NULL || (bytes == NULL && size > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "onnx: no buffer or no output pointer");
    }
    *out = NULL;
    if (size == 0) {
        return base_error_set(err, MIEN_ERR_MODEL, "onnx: the file is empty");
    }
    m = onnx__model_proto__unpack(NULL, size, bytes);
    if (m == NULL) {
        return base_error_set(err, MIEN_ERR_MODEL,
                              "onnx: cannot parse protobuf (corrupt or truncated file)");
    }
    L.g = nn_graph_new();
    if (L.g == NULL) {
        s = base_error_set(err, MIEN_ERR_NOMEM, "onnx: out of memory");
        goto fail_graph;
    }
    s = translate(&L, m);
    if (s != MIEN_OK) {
        goto fail_translate;
    }
    free(L.map);
    onnx__model_proto__free_unpacked(m, NULL);
    *out = L.g;
    return MIEN_OK;

fail_translate:
    free(L.map);
    nn_graph_free(L.g);
fail_graph:
    onnx__model_proto__free_unpacked(m, NULL);
    return s;
}
