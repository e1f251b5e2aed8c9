/* graph.h — mien's one neural-network IR, shared by the ONNX and TFLite loaders, the
 * graph passes and both executors (oneDNN and the reference).
 *
 * Semantics are ONNX's (opset 9–13): 4-D activations are logically NCHW, broadcasting is
 * numpy's, Conv weights are [O, I/group, kH, kW]. The TFLite loader translates NHWC
 * models into this form (it permutes 4-D shapes and axes, inserts a Transpose after a
 * 4-D graph input and before a 4-D graph output so the model's external layout stays the
 * one its file declares). Loaders only translate; passes (passes.c) simplify.
 *
 * Ownership: a graph owns its tensors' names and constant data and its nodes' names;
 * nn_graph_free() releases everything. Tensors and nodes are referred to by index.
 * A graph is immutable once loaded and passed (shared read-only by an engine).
 */
#ifndef MIEN_NN_GRAPH_H
#define MIEN_NN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mien.h"

#define NN_MAX_RANK 8
#define NN_MAX_NODE_INPUTS 16 /* UltraFace's Concat of box heads has 4; room to spare */
#define NN_MAX_NODE_OUTPUTS 2
#define NN_MAX_GRAPH_IO 4

typedef enum nn_dtype {
    NN_F32 = 0,
    NN_I64 = 1, /* shapes, indices, axes: only on constants */
    NN_I32 = 2, /* TFLite shape/axes constants; loaders may keep or widen them */
} nn_dtype;

/* The operators of the six models (DESIGN.md §4). The X-macro gives the enum and names. */
#define NN_OP_MAP(XX)                                                                   \
    XX(CONV, "Conv")                   /* X, W[O,I/g,kh,kw], B? ; conv attrs, act */    \
    XX(GEMM, "Gemm")                   /* A[M,K], B, C? ; trans_a/b, alpha, beta, act */ \
    XX(MAXPOOL, "MaxPool")             /* X ; kernel, stride, pads/auto_pad */           \
    XX(AVGPOOL, "AveragePool")         /* X ; count_include_pad */                       \
    XX(RELU, "Relu")                   /* X */                                          \
    XX(CLIP, "Clip")                   /* X ; clip_min, clip_max */                     \
    XX(PRELU, "PRelu")                 /* X, slope (broadcast to X) */                  \
    XX(ADD, "Add")                     /* A, B numpy broadcast ; act */                 \
    XX(SUB, "Sub")                                                                      \
    XX(MUL, "Mul")                                                                      \
    XX(DIV, "Div")                                                                      \
    XX(NEG, "Neg")                                                                      \
    XX(ABS, "Abs")                                                                      \
    XX(EXP, "Exp")                                                                      \
    XX(SOFTMAX, "Softmax")             /* X ; axis (opset 13 meaning: one axis) */      \
    XX(REDUCE_MAX, "ReduceMax")        /* X ; axes, keepdims */                         \
    XX(REDUCE_SUM, "ReduceSum")        /* X ; axes, keepdims */                         \
    XX(RESHAPE, "Reshape")             /* X, shape(I64 const) ; 0 copies, -1 infers */  \
    XX(FLATTEN, "Flatten")             /* X ; axis */                                   \
    XX(TRANSPOSE, "Transpose")         /* X ; perm */                                   \
    XX(CONCAT, "Concat")               /* X0..Xn ; axis */                              \
    XX(SLICE, "Slice")                 /* X ; starts, ends, axes, steps (attrs) */      \
    XX(SHAPE, "Shape")                 /* X -> I64[rank] (folded away) */               \
    XX(GATHER, "Gather")               /* X, indices ; axis (folded on constants) */    \
    XX(UNSQUEEZE, "Unsqueeze")         /* X ; axes */                                   \
    XX(SQUEEZE, "Squeeze")             /* X ; axes */                                   \
    XX(IDENTITY, "Identity")           /* X */                                          \
    XX(BATCHNORM, "BatchNormalization") /* X, scale, bias, mean, var ; epsilon */

typedef enum nn_op {
#define NN_OP_GEN(name, str) NN_OP_##name,
    NN_OP_MAP(NN_OP_GEN)
#undef NN_OP_GEN
        NN_OP_COUNT
} nn_op;

/* Returns the ONNX-style name of `op` ("Conv"); never NULL. */
const char *nn_op_name(nn_op op);

/* How a Conv/Pool computes its padding. EXPLICIT uses pads[]; the others are resolved
 * against the actual input shape (P-Net runs at many sizes), see nn_conv_pads(). */
typedef enum nn_auto_pad {
    NN_PAD_EXPLICIT = 0,
    NN_PAD_VALID = 1,      /* no padding */
    NN_PAD_SAME_UPPER = 2, /* output = ceil(in/stride), odd pixel at the end (TF SAME) */
    NN_PAD_SAME_LOWER = 3, /* odd pixel at the start */
} nn_auto_pad;

/* A fused activation applied to an op's output (passes fuse Relu/Clip into Conv/Gemm/Add). */
typedef enum nn_act {
    NN_ACT_NONE = 0,
    NN_ACT_RELU = 1,
    NN_ACT_CLIP = 2, /* clamp to [act_min, act_max] (Relu6 is CLIP 0..6) */
} nn_act;

/* Attributes of every op in one plain struct (unused fields stay zero). Spatial
 * fields are [h, w]; pads are [top, left, bottom, right] in pixels. */
typedef struct nn_attrs {
    int64_t kernel[2];
    int64_t stride[2];
    int64_t dilation[2];
    int64_t pads[4];
    nn_auto_pad auto_pad;
    int64_t group;
    bool ceil_mode;         /* pools: output size rounds up */
    bool count_include_pad; /* AveragePool */

    int64_t axis;                 /* Softmax, Concat, Gather, Flatten (may be negative) */
    int n_axes;                   /* Reduce*, Unsqueeze, Squeeze, Slice */
    int64_t axes[NN_MAX_RANK];
    bool keepdims;                /* Reduce* (ONNX default 1: loaders set it) */
    int n_perm;                   /* Transpose */
    int64_t perm[NN_MAX_RANK];
    int64_t starts[NN_MAX_RANK];  /* Slice, one per axes[] entry (clamped like ONNX) */
    int64_t ends[NN_MAX_RANK];
    int64_t steps[NN_MAX_RANK];

    bool trans_a, trans_b; /* Gemm */
    float alpha, beta;     /* Gemm (loaders default both to 1) */
    float clip_min, clip_max; /* Clip */
    float epsilon;            /* BatchNormalization */

    nn_act act; /* fused activation on the output */
    float act_min, act_max;
} nn_attrs;

/* A tensor: a graph input, an intermediate activation, or a constant (data != NULL).
 * dims as declared by the file; -1 marks a free dimension (batch, P-Net's H and W). */
typedef struct nn_tensor {
    char *name;   /* owned; unique in the graph */
    nn_dtype dtype;
    int rank;
    int64_t dims[NN_MAX_RANK];
    void *data;   /* owned, row-major, NULL unless constant */
} nn_tensor;

typedef struct nn_node {
    nn_op op;
    char *name; /* owned; the file's node name, or one the loader made up (for messages) */
    int n_inputs;
    int inputs[NN_MAX_NODE_INPUTS]; /* tensor indices; -1 = optional input absent */
    int n_outputs;
    int outputs[NN_MAX_NODE_OUTPUTS];
    nn_attrs a;
} nn_node;

typedef struct nn_graph {
    nn_tensor *tensors;
    int n_tensors, cap_tensors;
    nn_node *nodes; /* in topological order (loaders guarantee it; passes keep it) */
    int n_nodes, cap_nodes;
    int n_inputs;
    int inputs[NN_MAX_GRAPH_IO];  /* tensor indices of the graph inputs */
    int n_outputs;
    int outputs[NN_MAX_GRAPH_IO]; /* tensor indices of the graph outputs */
    char *source;                 /* "onnx" / "tflite" and producer, for `mien models` */
} nn_graph;

/* ---- building (loaders, passes) ------------------------------------------------------- */

/* A new empty graph, or NULL when out of memory. Free with nn_graph_free(). */
nn_graph *nn_graph_new(void);
/* Frees the graph and everything it owns; NULL is a no-op. */
void nn_graph_free(nn_graph *g);

/* Appends a tensor named `name` (copied) and returns its index, or -1 when out of memory.
 * `data`, when not NULL, is taken over by the graph (malloc'd, nn_tensor_bytes() long). */
int nn_graph_add_tensor(nn_graph *g, const char *name, nn_dtype dtype, int rank,
                        const int64_t *dims, void *data);
/* Appends a node (name copied) and returns its index, or -1 when out of memory.
 * The inputs/outputs arrays are copied; attrs may be NULL (all zero). */
int nn_graph_add_node(nn_graph *g, nn_op op, const char *name, int n_inputs,
                      const int *inputs, int n_outputs, const int *outputs,
                      const nn_attrs *attrs);
/* Index of the tensor called `name`, or -1. Linear search: loaders keep their own map. */
int nn_graph_find_tensor(const nn_graph *g, const char *name);

/* Number of elements of a tensor with all dims known (any -1 → 0). */
int64_t nn_tensor_elems(const nn_tensor *t);
/* Bytes of the constant payload: elements × dtype size. */
size_t nn_tensor_bytes(const nn_tensor *t);
size_t nn_dtype_size(nn_dtype dtype);
/* True when the tensor is a constant (has data). */
bool nn_tensor_is_const(const nn_tensor *t);

/* ---- shapes --------------------------------------------------------------------------- */

/* Shapes of every tensor for one concrete set of input shapes. */
typedef struct nn_shape {
    int rank;
    int64_t dims[NN_MAX_RANK];
} nn_shape;

/* Infers the shape of every tensor of `g` (shapes[n_tensors], caller-allocated) given
 * the concrete shapes of the graph inputs (in_shapes[g->n_inputs]). Constants take their
 * own dims. Fails with MIEN_ERR_SHAPE (message naming the node) when an input does not
 * fit the declared dims (a fixed dim differs) or an op cannot take the shapes it gets.
 * @test nn/test_graph.c */
mien_status nn_graph_infer_shapes(const nn_graph *g, const nn_shape *in_shapes,
                                  nn_shape *shapes, mien_error *err);

/* Resolved padding [top, left, bottom, right] and output size [h, w] of a Conv or Pool
 * node for input spatial size in_hw, honouring auto_pad and ceil_mode. Fails with
 * MIEN_ERR_SHAPE when the output would be empty. */
mien_status nn_conv_geometry(const nn_attrs *a, const int64_t in_hw[2], int64_t pads[4],
                             int64_t out_hw[2]);

/* Elements of a shape. */
int64_t nn_shape_elems(const nn_shape *s);

/* Elements of dims[rank], or -1 when a dimension is negative or the count exceeds `limit`
 * (the caller's bound; INT64_MAX at most, so nothing overflows). */
int64_t nn_dims_elems_within(int rank, const int64_t *dims, int64_t limit);

/* Row-major element strides of s into st[s->rank]. */
void nn_shape_strides(const nn_shape *s, int64_t *st);

/* The output shape *out of an ONNX Reshape of an input shaped x to spec[n] (0 copies the
 * input's dimension, one -1 takes what is left). NULL, or why the reshape is impossible. */
const char *nn_reshape_resolve(const nn_shape *x, const int64_t *spec, int n, nn_shape *out);

/* True when a and b have the same rank and dimensions. */
bool nn_shape_equal(const nn_shape *a, const nn_shape *b);

/* Writes a readable form of dims ("[1,3,240,320]") into buf; returns buf. */
char *nn_dims_str(int rank, const int64_t *dims, char *buf, size_t size);

/* ---- statistics (for `mien models`) ------------------------------------------------------ */

/* Number of float parameters (constant F32 elements used by compute ops). */
int64_t nn_graph_parameters(const nn_graph *g);
/* Multiply-adds of Conv and Gemm nodes at the given shapes (from nn_graph_infer_shapes). */
int64_t nn_graph_macs(const nn_graph *g, const nn_shape *shapes);

#endif /* MIEN_NN_GRAPH_H */
