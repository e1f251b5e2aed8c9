/* ref_exec.h — the reference executor: every operator of NN_OP_MAP in plain C loops.
 *
 * It is the tests' oracle (STYLE.md rule 13: kernels are checked against it) and the
 * evaluator the constant-folding pass uses. Semantics are ONNX's (graph.h): NCHW,
 * numpy broadcasting, Conv/Gemm/reductions accumulated in double. It computes every
 * shape itself (independent of nn_graph_infer_shapes, so the two check each other) and
 * returns MIEN_ERR_SHAPE, naming the node, for any shape an operator cannot take: bad
 * input never crashes it. Slow but not absurd: MobileFaceNet at 112×112 runs in a
 * fraction of a second (optimised build).
 *
 * Thread-safe: both functions read the graph only and keep no state.
 */
#ifndef MIEN_NN_REF_EXEC_H
#define MIEN_NN_REF_EXEC_H

#include "mien.h"
#include "nn/graph.h"

/* Evaluates node `n` of graph `g` on the given inputs, in any dtype the op allows
 * (shape ops on I64/I32, data movement on any dtype, compute ops on F32; Add/Sub/Mul/Div
 * also on integers). The dtype of each input is the tensor's own for constants and graph
 * inputs (F32), otherwise what its producer makes (Shape → I64, data movement keeps its
 * input's dtype, everything else F32).
 *
 *   in_shapes[n->n_inputs], in_data[n->n_inputs]: per node input, row-major; in_data[i]
 *       is NULL (and in_shapes[i] ignored) for an absent optional input (inputs[i] < 0).
 *   out_shapes, out_data, out_dtypes [n->n_outputs]: filled for output 0 (every op has
 *       one); further outputs are set to NULL data / rank 0.
 *
 * On success each out_data[k] is malloc'd and owned by the caller (free()). On failure
 * every out_data[k] is NULL, nothing is leaked and err names the node: MIEN_ERR_SHAPE
 * (shapes the op cannot take, an index out of range), MIEN_ERR_UNSUPPORTED (a dtype the
 * op does not take), MIEN_ERR_NOMEM. @test nn/test_ref_exec.c */
mien_status nn_ref_eval_node(const nn_graph *g, const nn_node *n, const nn_shape *in_shapes,
                             const void *const *in_data, nn_shape *out_shapes, void **out_data,
                             nn_dtype *out_dtypes, mien_error *err);

/* Runs the whole graph. inputs[g->n_inputs] are F32 row-major tensors of shapes
 * in_shapes[g->n_inputs], which must fit the declared dims (-1 is free). Intermediate
 * tensors are freed after their last use.
 *
 * On success outputs[g->n_outputs] are malloc'd F32 tensors owned by the caller (free()
 * each) of shapes out_shapes[g->n_outputs]. On failure every outputs[k] is NULL, nothing
 * is leaked and err says what failed (as nn_ref_eval_node; MIEN_ERR_SHAPE for an input
 * that does not fit, MIEN_ERR_MODEL for a node reading a value never produced).
 * @test nn/test_ref_exec.c, nn/test_passes.c */
mien_status nn_ref_run(const nn_graph *g, const float *const *inputs, const nn_shape *in_shapes,
                       float **outputs, nn_shape *out_shapes, mien_error *err);

#endif /* MIEN_NN_REF_EXEC_H */
