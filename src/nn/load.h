/* load.h — loading a model file of either format mien reads (ONNX, TFLite) into the IR.
 *
 * The format is told by content, not by the file name: a TFLite flatbuffer carries the
 * file identifier "TFL3" at bytes 4..7 (tensorflow/lite/schema/schema.fbs,
 * `file_identifier "TFL3"`); anything else is parsed as an ONNX ModelProto.
 */
#ifndef MIEN_NN_LOAD_H
#define MIEN_NN_LOAD_H

#include "mien.h"
#include "nn/graph.h"

/* Largest model file nn_load_file() reads. The six catalogue models are 1–5 MB
 * (DESIGN.md §4); 512 MB leaves room for any face model while refusing to slurp a
 * mistaken path (a disk image, a video) into memory. */
#define NN_MAX_MODEL_FILE_BYTES ((size_t)512 << 20)

/* Reads the model file at `path` and translates it with nn_onnx_load() or
 * nn_tflite_load(). On success *out is a new graph owned by the caller (nn_graph_free()).
 * On failure *out is NULL and err's message starts with the path:
 *   MIEN_ERR_IO     the file cannot be opened or read (the message has strerror), or is
 *                   not a regular file;
 *   MIEN_ERR_MODEL  empty, larger than NN_MAX_MODEL_FILE_BYTES, or not a valid model;
 *   others          as the format's loader returns them.
 * Thread-safe. @test nn/test_onnx_load.c */
mien_status nn_load_file(const char *path, nn_graph **out, mien_error *err);

#endif /* MIEN_NN_LOAD_H */
