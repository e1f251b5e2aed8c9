/* tflite_load.h — translating a TensorFlow Lite model (a FlatBuffer with file identifier
 * "TFL3", tensorflow/lite/schema/schema.fbs version 3) into mien's IR (nn/graph.h).
 *
 * The loader reads the FlatBuffer directly through a small bounds-checked reader: no
 * generated code and no FlatBuffers library. Every offset, vtable and vector is checked
 * against the buffer, so a truncated or corrupt file is an error, never an over-read.
 *
 * TFLite is NHWC; the IR is ONNX-semantic NCHW. The loader permutes every 4-D activation
 * to NCHW, re-lays Conv weights (OHWI → OIHW, depthwise [1,kh,kw,C·m] → [C·m,1,kh,kw]) and
 * NHWC-broadcast constants, maps reduction axes, and keeps the model's external layout:
 * a 4-D graph input keeps its NHWC dims and is followed by a Transpose (0,3,1,2); a 4-D
 * graph output is produced by a Transpose (0,2,3,1) from the internal NCHW tensor (which
 * is renamed "<name>:nchw"). FULLY_CONNECTED and RESHAPE on 4-D tensors flatten in
 * TFLite (NHWC) order through an inserted Transpose. Dim 0 (batch) of every activation
 * is free (-1); in a fully convolutional graph (no RESHAPE or FULLY_CONNECTED, as
 * MTCNN's P-Net) H and W are free too.
 *
 * Supported operators: the float32 CNNs of MTCNN (P/R/O-Net) and MobileFaceNet:
 * ADD, SUB, MUL, DIV, CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D,
 * FULLY_CONNECTED, RELU, NEG, ABS, EXP, RESHAPE, REDUCE_MAX, SUM; fused activations NONE,
 * RELU and RELU6. PReLU and softmax stay decomposed as in the file: the passes fuse them.
 */
#ifndef MIEN_NN_TFLITE_LOAD_H
#define MIEN_NN_TFLITE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mien.h"
#include "nn/graph.h"

/* Parses a TFLite flatbuffer (bytes[size], not retained) into a new IR graph.
 *
 * On success *out is a new graph owned by the caller (free it with nn_graph_free()); its
 * nodes are in the file's (topological) order plus the inserted Transpose/Reshape nodes,
 * tensors keep the file's names (made unique), and g->source reads "tflite v3" plus the
 * file's description. Only the first subgraph is read. On failure *out is NULL and err
 * (when not NULL) names what failed:
 *   MIEN_ERR_ARG          out is NULL, or bytes is NULL with size > 0;
 *   MIEN_ERR_MODEL        not a TFLite file (empty, short, no "TFL3"), an offset, vtable
 *                         or vector out of bounds ("tflite: offset 1234 out of bounds"),
 *                         or a malformed graph (bad tensor index, constant data that
 *                         does not fit its shape, a tensor read before it is produced);
 *   MIEN_ERR_UNSUPPORTED  an operator, fused activation, tensor type or layout mien does
 *                         not implement (the message names the operator, node and tensor);
 *   MIEN_ERR_NOMEM        out of memory.
 * Thread-safe: it touches no shared state. @test nn/test_tflite_load.c */
mien_status nn_tflite_load(const uint8_t *bytes, size_t size, nn_graph **out, mien_error *err);

#endif /* MIEN_NN_TFLITE_LOAD_H */
