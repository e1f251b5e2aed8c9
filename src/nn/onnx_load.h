/* onnx_load.h — translating an ONNX model (a serialized onnx.ModelProto, onnx/onnx.proto,
 * opsets 7 and later) into mien's IR (nn/graph.h).
 *
 * The loader only translates: initializers and Constant nodes become constant tensors,
 * every other node becomes one IR node, and operands that later opsets pass as constant
 * inputs (Slice starts/ends/axes/steps, Clip min/max, Unsqueeze/Squeeze/Reduce axes) are
 * read into the node's attributes. Shape arithmetic such as UltraFace's
 * Shape→Gather→Unsqueeze→Concat→Reshape chains is kept as nodes for the passes to fold.
 */
#ifndef MIEN_NN_ONNX_LOAD_H
#define MIEN_NN_ONNX_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mien.h"
#include "nn/graph.h"

/* Parses an ONNX ModelProto (bytes[size], not retained) into a new IR graph.
 *
 * On success *out is a new graph owned by the caller (free it with nn_graph_free()); its
 * nodes are in the file's (topological) order and g->source names the IR version, opset
 * and producer. On failure *out is NULL and err (when not NULL) names what failed:
 *   MIEN_ERR_ARG          out is NULL, or bytes is NULL with size > 0;
 *   MIEN_ERR_MODEL        the bytes are not a ModelProto (empty, truncated, corrupt), or
 *                         the graph is malformed (a node reads a value no earlier node
 *                         produced, duplicate names, tensor data that does not fit its
 *                         dims, a required attribute missing);
 *   MIEN_ERR_UNSUPPORTED  an operator, domain, data type or attribute mien does not
 *                         implement (the message names the node or tensor);
 *   MIEN_ERR_NOMEM        out of memory.
 * Thread-safe: it touches no shared state. @test nn/test_onnx_load.c */
mien_status nn_onnx_load(const uint8_t *bytes, size_t size, nn_graph **out, mien_error *err);

#endif /* MIEN_NN_ONNX_LOAD_H */
