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

/* Arithmetic of the dense convolutions. NN_PRECISION_BF16 runs each dense convolution
 * that has at least NN_BF16_MIN_CHANNELS input channels and more than one output pixel with
 * bfloat16 activations and weights (round to nearest even) and float32 accumulation, bias
 * and output; everything else (first convolution, depthwise convolutions, the 1×1-pixel
 * embedding head, PReLU, residual adds, pooling, softmax, fully connected layers) stays
 * float32, and the graph's inputs and outputs are float32 either way. On AVX512-BF16
 * (vdpbf16ps) those convolutions run twice as fast; where the CPU lacks it
 * (nn_backend_has_bf16() false) the request is ignored and the plan is float32.
 * docs/precision.md has the measurements. @test nn/test_exec.c */
typedef enum nn_precision {
    NN_PRECISION_F32 = 0,
    NN_PRECISION_BF16 = 1,
} nn_precision;

/* First convolutions (3 input channels: pixels) stay float32 under NN_PRECISION_BF16. */
#define NN_BF16_MIN_CHANNELS 8

typedef struct nn_plan_options {
    int threads;              /* OpenMP threads per run; <= 0: 1 */
    bool input_channels_last; /* as nn_plan_new_layout */
    nn_precision precision;   /* NN_PRECISION_F32 unless asked */
    bool deterministic;       /* take oneDNN's first kernel for each convolution instead of
                                 timing the candidates: bit-identical outputs in every plan
                                 and process, 1–6 % slower. Always on in bfloat16 plans,
                                 where kernels' different summation orders, amplified by the
                                 rounding, would move embeddings by up to 1e-3 per element;
                                 set it on the float32 plans that feed them too. */
    bool profile;             /* time every step of every run (nn_plan_profile); the stream
                                 is waited on around each step, so runs are slower */
} nn_plan_options;

/* nn_plan_new with every option; opt NULL means the defaults (1 thread, NCHW, float32). */
mien_status nn_plan_new_opts(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                             const nn_plan_options *opt, nn_plan **out, mien_error *err);

/* True when the CPU runs bfloat16 convolutions natively (oneDNN's avx512_core_bf16 or
 * better); NN_PRECISION_BF16 is honoured only then. */
bool nn_backend_has_bf16(const nn_backend *b);

/* Number of convolutions of the plan that run in bfloat16 (0 for a float32 plan). */
int nn_plan_bf16_convs(const nn_plan *p);

/* Fills steps[nn_plan_steps(p)] with each step's mean time and description (the strings
 * borrowed from the plan and its graph) and returns the number of runs timed: 0 when the
 * plan was not made with nn_plan_options.profile or never ran. */
long nn_plan_profile(const nn_plan *p, mien_step_time *steps);

/* Steps of the plan (oneDNN primitives and C kernels, reorders included). */
int nn_plan_steps(const nn_plan *p);

/* Steps oneDNN runs on a reference kernel (plain loops, 10-100x slower than its JIT ones);
 * the planner avoids them wherever another layout, primitive or C kernel exists, so at AVX2
 * and above there should be none. When names is not NULL it receives "node (kernel), ..."
 * (truncated to cap). @test nn/test_exec.c (exec_no_reference_kernels) */
int nn_plan_ref_steps(const nn_plan *p, char *names, size_t cap);

/* The ISA oneDNN dispatches to in this process ("avx2", "avx512_core_bf16", ...). */
const char *nn_isa_name(void);

/* Caps oneDNN's ISA for the process (dnnl_set_max_cpu_isa): MIEN_ISA_C and _SSE41 map to
 * its lowest level, SSE4.1; MIEN_ISA_NATIVE lifts nothing. oneDNN takes it only before its
 * first primitive: MIEN_ERR_ARG after. Called through base_isa_set_cap (base/cpu.h). */
mien_status nn_set_max_isa(mien_isa cap, mien_error *err);

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
