/* test_list.h — every test of the runner, by name. Each section belongs to one file
 * (or group of files); add a line in your section: XX(name) runs test_name(). */
#define TEST_LIST(XX)                                                                  \
    /* base */                                                                         \
    XX(error_strings)                                                                  \
    /* nn: graph and shapes (tests/nn/test_graph.c) */                                 \
    XX(graph_build_and_shapes)                                                         \
    /* nn: TFLite loader (tests/nn/test_tflite_load.c) */                              \
    /* nn: ONNX loader (tests/nn/test_onnx_load.c) */                                  \
    XX(onnx_load_detector)                                                             \
    XX(onnx_load_feature)                                                              \
    XX(onnx_load_truncated)                                                            \
    XX(onnx_load_bitflip)                                                              \
    XX(onnx_load_unknown_op)                                                           \
    XX(onnx_load_empty)                                                                \
    XX(onnx_load_opset13)                                                              \
    XX(onnx_load_errors)                                                               \
    XX(nn_load_file_errors)                                                            \
    /* nn: reference executor and passes (tests/nn/test_ref_exec.c, test_passes.c) */  \
    /* nn: oneDNN executor, engine, session (tests/nn/test_exec.c, test_engine.c) */ \
    XX(exec_matches_ref_detector)                                                      \
    XX(exec_matches_ref_onet)                                                          \
    XX(exec_matches_ref_rnet)                                                          \
    XX(exec_matches_ref_pnet)                                                          \
    XX(exec_matches_ref_embedder_a)                                                    \
    XX(exec_matches_ref_embedder_b)                                                    \
    XX(exec_rejects_bad_shapes)                                                        \
    XX(exec_no_reference_kernels)
