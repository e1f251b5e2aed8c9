/* test_graph.c — IR building and shape inference on a small hand-built graph. */
#include "nn/graph.h"
#include "test.h"

TEST(graph_build_and_shapes)
{
    nn_graph *g = nn_graph_new();
    mien_error err;
    int64_t in_dims[4] = {-1, 3, -1, -1}, w_dims[4] = {8, 3, 3, 3}, shape_dims[1] = {2};
    float *w = calloc(8 * 3 * 3 * 3, sizeof(float));
    int64_t *spec = malloc(2 * sizeof(int64_t));
    nn_attrs conv = {.stride = {2, 2}, .dilation = {1, 1}, .auto_pad = NN_PAD_SAME_UPPER,
                     .group = 1};
    nn_shape in, shapes[8];
    ASSERT_TRUE(g != NULL && w != NULL && spec != NULL);
    spec[0] = 0;
    spec[1] = -1;
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, in_dims, NULL);
    int wt = nn_graph_add_tensor(g, "w", NN_F32, 4, w_dims, w);
    int y = nn_graph_add_tensor(g, "y", NN_F32, 4, in_dims, NULL);
    int sp = nn_graph_add_tensor(g, "spec", NN_I64, 1, shape_dims, spec);
    int z = nn_graph_add_tensor(g, "z", NN_F32, 2, in_dims, NULL);
    int conv_in[2] = {x, wt}, resh_in[2] = {y, sp};
    ASSERT_TRUE(nn_graph_add_node(g, NN_OP_CONV, "conv", 2, conv_in, 1, &y, &conv) == 0);
    ASSERT_TRUE(nn_graph_add_node(g, NN_OP_RESHAPE, "flat", 2, resh_in, 1, &z, NULL) == 1);
    g->n_inputs = 1;
    g->inputs[0] = x;
    g->n_outputs = 1;
    g->outputs[0] = z;
    ASSERT_EQ_INT(nn_graph_find_tensor(g, "spec"), sp);

    in.rank = 4;
    in.dims[0] = 2; in.dims[1] = 3; in.dims[2] = 25; in.dims[3] = 30;
    ASSERT_OK(nn_graph_infer_shapes(g, &in, shapes, &err), &err);
    /* TF SAME, stride 2: ceil(25/2) = 13, ceil(30/2) = 15 */
    ASSERT_EQ_INT(shapes[y].dims[2], 13);
    ASSERT_EQ_INT(shapes[y].dims[3], 15);
    ASSERT_EQ_INT(shapes[z].rank, 2);
    ASSERT_EQ_INT(shapes[z].dims[0], 2);
    ASSERT_EQ_INT(shapes[z].dims[1], 8 * 13 * 15);
    ASSERT_EQ_INT(nn_graph_macs(g, shapes), 2LL * 8 * 13 * 15 * 27);
    ASSERT_EQ_INT(nn_graph_parameters(g), 8 * 27);

    in.dims[1] = 4; /* wrong channel count for a fixed dim */
    ASSERT_STATUS(nn_graph_infer_shapes(g, &in, shapes, &err), MIEN_ERR_SHAPE, &err);
    ASSERT_CONTAINS(err.message, "input 'x' expects [-1,3,-1,-1]");
    in.dims[1] = 3;
    in.dims[2] = 0;
    ASSERT_STATUS(nn_graph_infer_shapes(g, &in, shapes, &err), MIEN_ERR_SHAPE, &err);
    nn_graph_free(g);
    nn_graph_free(NULL);
    return 0;
}
