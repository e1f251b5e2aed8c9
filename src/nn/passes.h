/* passes.h — graph passes that simplify a freshly loaded IR graph before execution.
 *
 * Loaders only translate (graph.h); these passes turn what the files spell out into what
 * the executors run fast, and each one preserves the graph's semantics exactly (the tests
 * run the reference executor on all six models before and after, within 1e-5):
 *   - constant folding: a node whose inputs are all constants, and Shape of an activation
 *     whose shape is known statically, become constants (UltraFace's
 *     Shape→Gather→Unsqueeze→Concat chains feeding Reshape fold away);
 *   - PReLU recovery: the forms TFLite converters write PReLU in become one PRelu;
 *   - softmax recovery: ReduceMax/Sub/Exp/ReduceSum/Div over one axis becomes Softmax;
 *   - activation fusion: Relu/Clip after a Conv, Gemm or Add becomes the producer's act;
 *   - identity removal: Identity, Transpose pairs that cancel, Reshape to the same shape;
 *   - dead-node removal: nodes and tensors that reach no graph output are dropped and
 *     the tensor and node arrays compacted.
 *
 * Every pass keeps the nodes in topological order and the graph inputs and outputs (their
 * tensors' names and dims) as they were. Each takes `changed` (may be NULL), which receives
 * the number of rewrites it made. On failure (MIEN_ERR_NOMEM, or an error evaluating a
 * constant subgraph, naming the node) the graph is still a valid graph with the same
 * semantics, possibly partly simplified. Not thread-safe on one graph: passes run once,
 * at load, before the graph is shared.
 */
#ifndef MIEN_NN_PASSES_H
#define MIEN_NN_PASSES_H

#include "mien.h"
#include "nn/graph.h"

/* Runs the passes (fold_constants, remove_identity, fuse_prelu, fuse_softmax,
 * fuse_activation, remove_dead) in rounds until a round changes nothing; the catalogue
 * models settle in two or three rounds. @test nn/test_passes.c */
mien_status nn_graph_optimize(nn_graph *g, mien_error *err);

/* Evaluates (nn_ref_eval_node) every node whose inputs are all constants and makes its
 * output a constant; folds Shape(x) when x's full shape is known statically (every graph
 * input dim declared, propagated by nn_graph_infer_shapes). Graph outputs are never made
 * constants. @test nn/test_passes.c */
mien_status nn_pass_fold_constants(nn_graph *g, int *changed, mien_error *err);

/* Replaces PReLU written out by TFLite converters with one PRelu node. Its slope is the
 * file's per-channel constant (the loader makes it [1,C,1,1] for 4-D), padded with leading
 * 1s to x's rank ([C] after a FULLY_CONNECTED becomes [1,C]):
 *   MTCNN (P/R/O-Net):  Add(Relu(x), Mul(alpha, Neg(Relu(Neg(x)))))   slope = alpha
 *   MobileFaceNet:      Add(Relu(x), Mul(alpha, Sub(x, Abs(x))))        slope = 2·alpha
 * (operands of Add and Mul in either order). Fuses only when every intermediate has no
 * other consumer. @test nn/test_passes.c */
mien_status nn_pass_fuse_prelu(nn_graph *g, int *changed, mien_error *err);

/* Replaces Div(e, ReduceSum(e)) with e = Exp(Sub(x, ReduceMax(x))), both reductions over
 * the same single axis with keepdims, by Softmax(x) over that axis. @test nn/test_passes.c */
mien_status nn_pass_fuse_softmax(nn_graph *g, int *changed, mien_error *err);

/* Folds Relu, or Clip with attribute bounds, into the Conv, Gemm or Add producing its
 * input when that input has no other consumer. @test nn/test_passes.c */
mien_status nn_pass_fuse_activation(nn_graph *g, int *changed, mien_error *err);

/* Removes Identity nodes, Transpose pairs whose permutations cancel, and Reshapes whose
 * output shape equals their input's (known statically). @test nn/test_passes.c */
mien_status nn_pass_remove_identity(nn_graph *g, int *changed, mien_error *err);

/* Drops nodes whose outputs reach no graph output and tensors no node or graph
 * input/output refers to, compacting both arrays and rewriting every index.
 * @test nn/test_passes.c */
mien_status nn_pass_remove_dead(nn_graph *g, int *changed, mien_error *err);

#endif /* MIEN_NN_PASSES_H */
