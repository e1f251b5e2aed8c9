/* exec.h — the production executor: a graph planned once per input shape on oneDNN.
 *
 * A plan (nn_plan) belongs to one thread. Planning infers every tensor's shape, picks a
 * oneDNN primitive per node (convolution, PReLU, binary, eltwise, pooling, inner product,
 * reorder) with the layouts oneDNN prefers, reorders the weights once into those layouts,
 * lays out every activation in one workspace by liveness, and creates the primitives
 * (JIT) — all up front. Running a plan then only executes: no allocation, no JIT.
 * Operators oneDNN lacks or that are too small to matter (softmax, concat, slice, the
 * detector's prior decoding) run as plain C loops on row-major data.
 *
 * Threads: oneDNN here uses OpenMP; a plan runs with `threads` OpenMP threads in the
 * calling thread (DESIGN.md §3: one thread per inference and parallel requests is the
 * better use of 2 shared cores). */
#ifndef MIEN_NN_EXEC_H
#define MIEN_NN_EXEC_H

#include "nn/graph.h"

typedef struct nn_backend nn_backend; /* oneDNN engine + stream: one per thread */
typedef struct nn_plan nn_plan;

/* Opens the CPU engine and a stream. Free with nn_backend_free(). */
mien_status nn_backend_new(nn_backend **out, mien_error *err);
void nn_backend_free(nn_backend *b);

/* Plans `g` (which must outlive the plan) for the concrete input shapes in_shapes[g->n_inputs]
 * on backend `b` with `threads` OpenMP threads (≤ 0: 1). Fails with MIEN_ERR_SHAPE for
 * shapes the graph cannot take, MIEN_ERR_UNSUPPORTED / MIEN_ERR_BACKEND otherwise, with the
 * node named in the message. @test nn/test_exec.c */
mien_status nn_plan_new(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                        int threads, nn_plan **out, mien_error *err);
/* As nn_plan_new, but a 4-D input that is logically NCHW may be handed over channels-last
 * (NHWC bytes, `input_channels_last` true): the first convolution then reads it as it is,
 * with no transposition by the caller nor a reorder in the plan (the detector's input,
 * made from an RGB image, is naturally NHWC). */
mien_status nn_plan_new_layout(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                               int threads, bool input_channels_last, nn_plan **out,
                               mien_error *err);
void nn_plan_free(nn_plan *p);

/* Runs the plan on inputs[g->n_inputs] (row-major float32 at the planned shapes; only read).
 * Allocates nothing. */
mien_status nn_plan_run(nn_plan *p, const float *const *inputs, mien_error *err);

/* Output i of the last run: row-major float32, borrowed (valid until the next run or
 * nn_plan_free), and its shape. NULL when i is out of range. */
const float *nn_plan_output(const nn_plan *p, int i, nn_shape *shape);

/* Bytes of the activation workspace (after liveness sharing) and of the reordered
 * weights, for reports and tests. */
size_t nn_plan_workspace_bytes(const nn_plan *p);

/* The oneDNN implementation chosen for node `node_index` (e.g. "jit:avx2"), or NULL when
 * the node runs in C or was folded into another primitive. For tests that catch a slow
 * reference kernel (DESIGN.md §3). */
const char *nn_plan_impl(const nn_plan *p, int node_index);

#endif
