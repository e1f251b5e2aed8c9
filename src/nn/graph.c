/* graph.c — building the IR, shape inference and model statistics.
 *
 * Shape inference follows the ONNX operator specifications (onnx/docs/Operators.md,
 * opsets 9–13) for the operators in NN_OP_MAP; it is shared by the oneDNN executor (which
 * plans a workspace per input shape) and by the passes. The reference executor computes
 * shapes on its own, so the two are checked against each other by the tests. */
#include "nn/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const char *nn_op_name(nn_op op)
{
    switch (op) {
#define NN_OP_STR(name, str) \
    case NN_OP_##name:       \
        return str;
        NN_OP_MAP(NN_OP_STR)
#undef NN_OP_STR
    case NN_OP_COUNT:
        break;
    }
    return "?";
}

nn_graph *nn_graph_new(void)
{
    nn_graph *g = calloc(1, sizeof(*g));
    return g;
}

void nn_graph_free(nn_graph *g)
{
    if (g == NULL) {
        return;
    }
    for (int i = 0; i < g->n_tensors; i++) {
        free(g->tensors[i].name);
        free(g->tensors[i].data);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].name);
    }
    free(g->tensors);
    free(g->nodes);
    free(g->source);
    free(g);
}

/* The array `items` of n elements of `size` bytes and capacity *cap with room for one more:
 * itself, or grown (doubling, from 64) with *cap updated. NULL when memory runs out, the
 * array then unchanged and still owned by the caller. */
static void *reserve_one(void *items, int *cap, int n, size_t size)
{
    int want;
    void *grown;
    if (n < *cap) {
        return items;
    }
    want = *cap ? 2 * *cap : 64;
    grown = realloc(items, (size_t)want * size);
    if (grown != NULL) {
        *cap = want;
    }
    return grown;
}

int nn_graph_add_tensor(nn_graph *g, const char *name, nn_dtype dtype, int rank,
                        const int64_t *dims, void *data)
{
    nn_tensor *t;
    if (rank < 0 || rank > NN_MAX_RANK) {
        return -1;
    }
    t = reserve_one(g->tensors, &g->cap_tensors, g->n_tensors, sizeof(*t));
    if (t == NULL) {
        return -1;
    }
    g->tensors = t;
    t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name != NULL ? name : "");
    if (t->name == NULL) {
        return -1;
    }
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
    }
    t->data = data;
    return g->n_tensors++;
}

int nn_graph_add_node(nn_graph *g, nn_op op, const char *name, int n_inputs,
                      const int *inputs, int n_outputs, const int *outputs,
                      const nn_attrs *attrs)
{
    nn_node *n;
    if (n_inputs < 0 || n_inputs > NN_MAX_NODE_INPUTS || n_outputs < 0 ||
        n_outputs > NN_MAX_NODE_OUTPUTS) {
        return -1;
    }
    n = reserve_one(g->nodes, &g->cap_nodes, g->n_nodes, sizeof(*n));
    if (n == NULL) {
        return -1;
    }
    g->nodes = n;
    n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    n->name = strdup(name != NULL ? name : "");
    if (n->name == NULL) {
        return -1;
    }
    n->op = op;
    n->n_inputs = n_inputs;
    for (int i = 0; i < n_inputs; i++) {
        n->inputs[i] = inputs[i];
    }
    n->n_outputs = n_outputs;
    for (int i = 0; i < n_outputs; i++) {
        n->outputs[i] = outputs[i];
    }
    if (attrs != NULL) {
        n->a = *attrs;
    }
    return g->n_nodes++;
}

int nn_graph_find_tensor(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->n_tensors; i++) {
        if (strcmp(g->tensors[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

size_t nn_dtype_size(nn_dtype dtype)
{
    switch (dtype) {
    case NN_F32:
        return 4;
    case NN_I64:
        return 8;
    case NN_I32:
        return 4;
    }
    return 0;
}

int64_t nn_tensor_elems(const nn_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) {
            return 0;
        }
        n *= t->dims[i];
    }
    return n;
}

size_t nn_tensor_bytes(const nn_tensor *t)
{
    return (size_t)nn_tensor_elems(t) * nn_dtype_size(t->dtype);
}

bool nn_tensor_is_const(const nn_tensor *t)
{
    return t->data != NULL;
}

int64_t nn_shape_elems(const nn_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        n *= s->dims[i];
    }
    return n;
}

int64_t nn_dims_elems_within(int rank, const int64_t *dims, int64_t limit)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] != 0 && n > limit / dims[i])) {
            return -1;
        }
        n *= dims[i];
    }
    return n;
}

void nn_shape_strides(const nn_shape *s, int64_t *st)
{
    int64_t acc = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s->dims[i];
    }
}

bool nn_shape_equal(const nn_shape *a, const nn_shape *b)
{
    if (a->rank != b->rank) {
        return false;
    }
    for (int i = 0; i < a->rank; i++) {
        if (a->dims[i] != b->dims[i]) {
            return false;
        }
    }
    return true;
}

char *nn_dims_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t used = 0;
    int w = snprintf(buf, size, "[");
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < rank && used < size; i++) {
        w = snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)dims[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < size) {
        snprintf(buf + used, size - used, "]");
    }
    return buf;
}

/* ---- geometry ------------------------------------------------------------------------- */

mien_status nn_conv_geometry(const nn_attrs *a, const int64_t in_hw[2], int64_t pads[4],
                             int64_t out_hw[2])
{
    for (int d = 0; d < 2; d++) {
        int64_t k = a->kernel[d] > 0 ? a->kernel[d] : 1;
        int64_t s = a->stride[d] > 0 ? a->stride[d] : 1;
        int64_t dil = a->dilation[d] > 0 ? a->dilation[d] : 1;
        int64_t ext = (k - 1) * dil + 1; /* effective kernel extent */
        int64_t lo, hi, out;
        switch (a->auto_pad) {
        case NN_PAD_SAME_UPPER:
        case NN_PAD_SAME_LOWER: {
            /* ONNX/TF SAME: out = ceil(in / stride), total pad split with the odd
             * pixel at the end (UPPER, TensorFlow's choice) or at the start. */
            int64_t total;
            out = (in_hw[d] + s - 1) / s;
            total = (out - 1) * s + ext - in_hw[d];
            if (total < 0) {
                total = 0;
            }
            lo = a->auto_pad == NN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            hi = total - lo;
            break;
        }
        case NN_PAD_VALID:
            lo = hi = 0;
            out = in_hw[d] >= ext ? (in_hw[d] - ext) / s + 1 : 0;
            break;
        case NN_PAD_EXPLICIT:
        default:
            lo = a->pads[d];
            hi = a->pads[d + 2];
            if (in_hw[d] + lo + hi < ext) {
                out = 0;
            } else if (a->ceil_mode) {
                out = (in_hw[d] + lo + hi - ext + s - 1) / s + 1;
                /* ONNX: the last window must start inside the input or left padding. */
                if ((out - 1) * s >= in_hw[d] + lo) {
                    out--;
                }
            } else {
                out = (in_hw[d] + lo + hi - ext) / s + 1;
            }
            break;
        }
        if (out <= 0) {
            return MIEN_ERR_SHAPE;
        }
        pads[d] = lo;
        pads[d + 2] = hi;
        out_hw[d] = out;
    }
    return MIEN_OK;
}

/* ---- shape inference -------------------------------------------------------------------- */

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

/* Reads element i of an integer constant (I64 or I32) as int64. */
static int64_t const_int(const nn_tensor *t, int64_t i)
{
    if (t->dtype == NN_I32) {
        return ((const int32_t *)t->data)[i];
    }
    return ((const int64_t *)t->data)[i];
}

static mien_status shape_fail(mien_error *err, const nn_node *n, const char *why)
{
    return base_error_set(err, MIEN_ERR_SHAPE, "node '%s' (%s): %s", n->name, nn_op_name(n->op),
                          why);
}

static mien_status infer_broadcast(const nn_node *n, const nn_shape *x, const nn_shape *y,
                                   nn_shape *out, mien_error *err)
{
    int rank = x->rank > y->rank ? x->rank : y->rank;
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        int ix = i - (rank - x->rank), iy = i - (rank - y->rank);
        int64_t dx = ix >= 0 ? x->dims[ix] : 1, dy = iy >= 0 ? y->dims[iy] : 1;
        if (dx != dy && dx != 1 && dy != 1) {
            return shape_fail(err, n, "operands cannot be broadcast together");
        }
        out->dims[i] = dx == 1 ? dy : dx;
    }
    return MIEN_OK;
}

const char *nn_reshape_resolve(const nn_shape *x, const int64_t *spec, int n, nn_shape *out)
{
    int64_t known = 1, total = nn_shape_elems(x);
    int infer_at = -1;
    out->rank = n;
    for (int i = 0; i < n; i++) {
        int64_t d = spec[i];
        if (d == 0) {
            if (i >= x->rank) {
                return "0 in shape copies a dimension the input lacks";
            }
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer_at >= 0) {
                return "more than one -1 in shape";
            }
            infer_at = i;
            d = 1;
        } else if (d < 0) {
            return "negative dimension in shape";
        }
        out->dims[i] = d;
        if (d != 0 && known > INT64_MAX / d) {
            return "shape is too large";
        }
        known *= d;
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0) {
            return "cannot infer the -1 dimension";
        }
        out->dims[infer_at] = total / known;
    } else if (known != total) {
        return "element count changes";
    }
    return NULL;
}

static mien_status infer_reshape(const nn_graph *g, const nn_node *n, const nn_shape *x,
                                 nn_shape *out, mien_error *err)
{
    const nn_tensor *spec;
    int64_t dims[NN_MAX_RANK];
    const char *why;
    if (n->n_inputs < 2 || n->inputs[1] < 0 || !nn_tensor_is_const(&g->tensors[n->inputs[1]])) {
        return shape_fail(err, n, "shape input is not a constant (not folded)");
    }
    spec = &g->tensors[n->inputs[1]];
    if (spec->rank != 1 || spec->dims[0] > NN_MAX_RANK || spec->dtype == NN_F32) {
        return shape_fail(err, n, "shape input must be a 1-D integer constant");
    }
    for (int i = 0; i < spec->dims[0]; i++) {
        dims[i] = const_int(spec, i);
    }
    why = nn_reshape_resolve(x, dims, (int)spec->dims[0], out);
    return why != NULL ? shape_fail(err, n, why) : MIEN_OK;
}

static mien_status infer_reduce(const nn_node *n, const nn_shape *x, nn_shape *out,
                                mien_error *err)
{
    bool reduced[NN_MAX_RANK] = {false};
    if (n->a.n_axes == 0) {
        for (int i = 0; i < x->rank; i++) {
            reduced[i] = true; /* ONNX: no axes means all axes */
        }
    }
    for (int i = 0; i < n->a.n_axes; i++) {
        int ax = norm_axis(n->a.axes[i], x->rank);
        if (ax < 0 || ax >= x->rank) {
            return shape_fail(err, n, "axis out of range");
        }
        reduced[ax] = true;
    }
    out->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!reduced[i]) {
            out->dims[out->rank++] = x->dims[i];
        } else if (n->a.keepdims) {
            out->dims[out->rank++] = 1;
        }
    }
    return MIEN_OK;
}

static mien_status infer_slice(const nn_node *n, const nn_shape *x, nn_shape *out,
                               mien_error *err)
{
    *out = *x;
    for (int i = 0; i < n->a.n_axes; i++) {
        int ax = norm_axis(n->a.axes[i], x->rank);
        int64_t dim, start, end, step = n->a.steps[i] ? n->a.steps[i] : 1;
        if (ax < 0 || ax >= x->rank) {
            return shape_fail(err, n, "axis out of range");
        }
        dim = x->dims[ax];
        start = n->a.starts[i];
        end = n->a.ends[i];
        /* ONNX Slice: negative indices count from the end, then clamp. */
        if (start < 0) {
            start += dim;
        }
        if (end < 0) {
            end += dim;
        }
        if (step > 0) {
            start = start < 0 ? 0 : (start > dim ? dim : start);
            end = end < 0 ? 0 : (end > dim ? dim : end);
            out->dims[ax] = end > start ? (end - start + step - 1) / step : 0;
        } else {
            start = start < 0 ? -1 : (start > dim - 1 ? dim - 1 : start);
            end = end < -1 ? -1 : (end > dim - 1 ? dim - 1 : end);
            out->dims[ax] = start > end ? (start - end - step - 1) / (-step) : 0;
        }
    }
    return MIEN_OK;
}

/* Conv, MaxPool, AveragePool: NCHW in and out, the window's geometry per nn_conv_geometry. */
static mien_status infer_window(const nn_node *n, const nn_shape *x, const nn_shape *shapes,
                                nn_shape *out, mien_error *err)
{
    int64_t pads[4], hw[2];
    int64_t in_hw[2];
    nn_attrs a = n->a;
    if (x->rank != 4) {
        return shape_fail(err, n, "input must be 4-D NCHW");
    }
    in_hw[0] = x->dims[2];
    in_hw[1] = x->dims[3];
    if (n->op == NN_OP_CONV) {
        const nn_shape *w = &shapes[n->inputs[1]];
        int64_t group = a.group > 0 ? a.group : 1;
        if (w->rank != 4 || w->dims[1] * group != x->dims[1]) {
            return shape_fail(err, n, "weights do not fit the input channels");
        }
        a.kernel[0] = w->dims[2];
        a.kernel[1] = w->dims[3];
    }
    if (nn_conv_geometry(&a, in_hw, pads, hw) != MIEN_OK) {
        return shape_fail(err, n, "input is smaller than the kernel");
    }
    out->rank = 4;
    out->dims[0] = x->dims[0];
    out->dims[1] = n->op == NN_OP_CONV ? shapes[n->inputs[1]].dims[0] : x->dims[1];
    out->dims[2] = hw[0];
    out->dims[3] = hw[1];
    return MIEN_OK;
}

/* Gemm: [M,K]·[K,N] (either operand transposed by its attribute) is [M,N]. */
static mien_status infer_gemm(const nn_node *n, const nn_shape *x, const nn_shape *b, nn_shape *out,
                              mien_error *err)
{
    int64_t k_a, k_b;
    if (x->rank != 2 || b->rank != 2) {
        return shape_fail(err, n, "Gemm operands must be 2-D");
    }
    k_a = n->a.trans_a ? x->dims[0] : x->dims[1];
    k_b = n->a.trans_b ? b->dims[1] : b->dims[0];
    if (k_a != k_b) {
        return shape_fail(err, n, "inner dimensions differ");
    }
    out->rank = 2;
    out->dims[0] = n->a.trans_a ? x->dims[1] : x->dims[0];
    out->dims[1] = n->a.trans_b ? b->dims[0] : b->dims[1];
    return MIEN_OK;
}

/* Flatten: the dims before `axis` multiplied into rows, the rest into columns. */
static mien_status infer_flatten(const nn_node *n, const nn_shape *x, nn_shape *out,
                                 mien_error *err)
{
    int ax = norm_axis(n->a.axis, x->rank);
    int64_t lead = 1;
    if (ax < 0 || ax > x->rank) {
        return shape_fail(err, n, "axis out of range");
    }
    for (int i = 0; i < ax; i++) {
        lead *= x->dims[i];
    }
    out->rank = 2;
    out->dims[0] = lead;
    out->dims[1] = lead ? nn_shape_elems(x) / lead : 0;
    return MIEN_OK;
}

/* Concat: the inputs agree off the axis; along it their sizes add up. */
static mien_status infer_concat(const nn_node *n, const nn_shape *x, const nn_shape *shapes,
                                nn_shape *out, mien_error *err)
{
    int ax = norm_axis(n->a.axis, x->rank);
    if (ax < 0 || ax >= x->rank) {
        return shape_fail(err, n, "axis out of range");
    }
    *out = *x;
    out->dims[ax] = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const nn_shape *s = &shapes[n->inputs[i]];
        if (s->rank != x->rank) {
            return shape_fail(err, n, "inputs differ in rank");
        }
        for (int d = 0; d < x->rank; d++) {
            if (d != ax && s->dims[d] != x->dims[d]) {
                return shape_fail(err, n, "inputs differ off the concat axis");
            }
        }
        out->dims[ax] += s->dims[ax];
    }
    return MIEN_OK;
}

/* Gather: x's `axis` replaced by the indices' dims. */
static mien_status infer_gather(const nn_node *n, const nn_shape *x, const nn_shape *idx,
                                nn_shape *out, mien_error *err)
{
    int ax = norm_axis(n->a.axis, x->rank);
    if (ax < 0 || ax >= x->rank || x->rank - 1 + idx->rank > NN_MAX_RANK) {
        return shape_fail(err, n, "axis out of range");
    }
    out->rank = 0;
    for (int i = 0; i < ax; i++) {
        out->dims[out->rank++] = x->dims[i];
    }
    for (int i = 0; i < idx->rank; i++) {
        out->dims[out->rank++] = idx->dims[i];
    }
    for (int i = ax + 1; i < x->rank; i++) {
        out->dims[out->rank++] = x->dims[i];
    }
    return MIEN_OK;
}

/* Unsqueeze: a 1 inserted at each axis (counted in the output's rank). */
static mien_status infer_unsqueeze(const nn_node *n, const nn_shape *x, nn_shape *out,
                                   mien_error *err)
{
    int rank = x->rank + n->a.n_axes, src = 0;
    bool ins[NN_MAX_RANK] = {false};
    if (rank > NN_MAX_RANK) {
        return shape_fail(err, n, "rank too large");
    }
    for (int i = 0; i < n->a.n_axes; i++) {
        int ax = norm_axis(n->a.axes[i], rank);
        if (ax < 0 || ax >= rank) {
            return shape_fail(err, n, "axis out of range");
        }
        ins[ax] = true;
    }
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        out->dims[i] = ins[i] ? 1 : x->dims[src++];
    }
    return MIEN_OK;
}

/* Squeeze: the listed axes of size 1 dropped, or every axis of size 1 when none is listed. */
static mien_status infer_squeeze(const nn_node *n, const nn_shape *x, nn_shape *out,
                                 mien_error *err)
{
    bool drop[NN_MAX_RANK] = {false};
    for (int i = 0; i < n->a.n_axes; i++) {
        int ax = norm_axis(n->a.axes[i], x->rank);
        if (ax < 0 || ax >= x->rank || x->dims[ax] != 1) {
            return shape_fail(err, n, "squeezed axis is not of size 1");
        }
        drop[ax] = true;
    }
    out->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (n->a.n_axes == 0 ? x->dims[i] != 1 : !drop[i]) {
            out->dims[out->rank++] = x->dims[i];
        }
    }
    return MIEN_OK;
}

static mien_status infer_node(const nn_graph *g, const nn_node *n, nn_shape *shapes,
                              mien_error *err)
{
    const nn_shape *x = n->n_inputs > 0 && n->inputs[0] >= 0 ? &shapes[n->inputs[0]] : NULL;
    nn_shape *out = &shapes[n->outputs[0]];
    if (x == NULL) {
        return shape_fail(err, n, "missing first input");
    }
    switch (n->op) {
    case NN_OP_CONV:
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        return infer_window(n, x, shapes, out, err);
    case NN_OP_GEMM:
        return infer_gemm(n, x, &shapes[n->inputs[1]], out, err);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
        return infer_broadcast(n, x, &shapes[n->inputs[1]], out, err);
    case NN_OP_PRELU: {
        nn_shape tmp;
        mien_status s = infer_broadcast(n, x, &shapes[n->inputs[1]], &tmp, err);
        if (s == MIEN_OK && nn_shape_elems(&tmp) != nn_shape_elems(x)) {
            return shape_fail(err, n, "slope does not broadcast to the input");
        }
        *out = *x;
        return s;
    }
    case NN_OP_RELU:
    case NN_OP_CLIP:
    case NN_OP_NEG:
    case NN_OP_ABS:
    case NN_OP_EXP:
    case NN_OP_IDENTITY:
    case NN_OP_BATCHNORM:
        *out = *x;
        return MIEN_OK;
    case NN_OP_SOFTMAX: {
        int ax = norm_axis(n->a.axis, x->rank);
        if (ax < 0 || ax >= x->rank) {
            return shape_fail(err, n, "axis out of range");
        }
        *out = *x;
        return MIEN_OK;
    }
    case NN_OP_REDUCE_MAX:
    case NN_OP_REDUCE_SUM:
        return infer_reduce(n, x, out, err);
    case NN_OP_RESHAPE:
        return infer_reshape(g, n, x, out, err);
    case NN_OP_FLATTEN:
        return infer_flatten(n, x, out, err);
    case NN_OP_TRANSPOSE:
        if (n->a.n_perm != x->rank) {
            return shape_fail(err, n, "perm length differs from the input rank");
        }
        out->rank = x->rank;
        for (int i = 0; i < x->rank; i++) {
            if (n->a.perm[i] < 0 || n->a.perm[i] >= x->rank) {
                return shape_fail(err, n, "perm entry out of range");
            }
            out->dims[i] = x->dims[n->a.perm[i]];
        }
        return MIEN_OK;
    case NN_OP_CONCAT:
        return infer_concat(n, x, shapes, out, err);
    case NN_OP_SLICE:
        return infer_slice(n, x, out, err);
    case NN_OP_SHAPE:
        out->rank = 1;
        out->dims[0] = x->rank;
        return MIEN_OK;
    case NN_OP_GATHER:
        return infer_gather(n, x, &shapes[n->inputs[1]], out, err);
    case NN_OP_UNSQUEEZE:
        return infer_unsqueeze(n, x, out, err);
    case NN_OP_SQUEEZE:
        return infer_squeeze(n, x, out, err);
    case NN_OP_COUNT:
        break;
    }
    return shape_fail(err, n, "operator has no shape rule");
}

mien_status nn_graph_infer_shapes(const nn_graph *g, const nn_shape *in_shapes,
                                  nn_shape *shapes, mien_error *err)
{
    char want[96], got[96];
    for (int i = 0; i < g->n_tensors; i++) {
        const nn_tensor *t = &g->tensors[i];
        shapes[i].rank = t->rank;
        memcpy(shapes[i].dims, t->dims, sizeof(t->dims));
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const nn_tensor *t = &g->tensors[g->inputs[i]];
        const nn_shape *s = &in_shapes[i];
        bool fits = s->rank == t->rank;
        for (int d = 0; fits && d < t->rank; d++) {
            fits = s->dims[d] > 0 && (t->dims[d] < 0 || t->dims[d] == s->dims[d]);
        }
        if (!fits) {
            return base_error_set(err, MIEN_ERR_SHAPE, "input '%s' expects %s, got %s", t->name,
                                  nn_dims_str(t->rank, t->dims, want, sizeof(want)),
                                  nn_dims_str(s->rank, s->dims, got, sizeof(got)));
        }
        shapes[g->inputs[i]] = *s;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        mien_status s = infer_node(g, &g->nodes[i], shapes, err);
        if (s != MIEN_OK) {
            return s;
        }
        for (int d = 0; d < shapes[g->nodes[i].outputs[0]].rank; d++) {
            if (shapes[g->nodes[i].outputs[0]].dims[d] < 0) {
                return shape_fail(err, &g->nodes[i], "negative output dimension");
            }
        }
    }
    return MIEN_OK;
}

/* ---- statistics --------------------------------------------------------------------------- */

int64_t nn_graph_parameters(const nn_graph *g)
{
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        bool compute = n->op == NN_OP_CONV || n->op == NN_OP_GEMM || n->op == NN_OP_PRELU ||
                       n->op == NN_OP_BATCHNORM || n->op == NN_OP_ADD || n->op == NN_OP_MUL;
        for (int k = 0; compute && k < n->n_inputs; k++) {
            const nn_tensor *t = n->inputs[k] >= 0 ? &g->tensors[n->inputs[k]] : NULL;
            if (t != NULL && nn_tensor_is_const(t) && t->dtype == NN_F32) {
                total += nn_tensor_elems(t);
            }
        }
    }
    return total;
}

int64_t nn_graph_macs(const nn_graph *g, const nn_shape *shapes)
{
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (n->op == NN_OP_CONV) {
            const nn_shape *w = &shapes[n->inputs[1]];
            /* per output element: (I/group) * kh * kw multiply-adds */
            total += nn_shape_elems(&shapes[n->outputs[0]]) * w->dims[1] * w->dims[2] *
                     w->dims[3];
        } else if (n->op == NN_OP_GEMM) {
            const nn_shape *a = &shapes[n->inputs[0]];
            int64_t k = n->a.trans_a ? a->dims[0] : a->dims[1];
            total += nn_shape_elems(&shapes[n->outputs[0]]) * k;
        }
    }
    return total;
}
