/* catalog.h — the models mien runs: file, role, bench shape, provenance and licence notes.
 *
 * One static table (DESIGN.md §4). The engine loads every entry; `mien models` prints it. */
#ifndef MIEN_FACE_CATALOG_H
#define MIEN_FACE_CATALOG_H

#include <stdint.h>

#include "image/image.h"

/* How pixels go into a model's input tensor (face_input_tensor); img is w × h RGB. */
typedef enum face_layout {
    FACE_LAYOUT_HWC = 0, /* NHWC: x[(y * w + x) * 3 + c] */
    FACE_LAYOUT_CHW = 1, /* NCHW: x[c * h * w + y * w + x] */
    FACE_LAYOUT_WHC = 2  /* NHWC of the transposed image, x[(x * h + y) * 3 + c]: MTCNN's Caffe
                            weights were trained on column-major (MATLAB) images */
} face_layout;

/* A model's input conventions (DESIGN.md §4, the reference's lib/ scripts). */
typedef struct face_input {
    face_layout layout; /* the tensor the pipeline feeds it */
    float mean, std;    /* each channel (RGB) becomes (x - mean) / std */
    int width, height;  /* pixels; 0: any size (fully convolutional) */
} face_input;

typedef struct face_model_spec {
    const char *name;       /* catalogue name: what the API and the bench call it */
    const char *file;       /* file inside the models folder (scripts/setup puts it there) */
    const char *role;
    const char *package;    /* npm package@version it is extracted from */
    const char *provenance; /* upstream, training data, licence */
    const char *in_layout;  /* layout of the model's input: "NCHW" or "NHWC" */
    int bench_rank;         /* the input shape the pipeline feeds; `mien bench` times it */
    int64_t bench_dims[4];
    face_input input;       /* layout, normalisation and size of the input */
} face_model_spec;

#define FACE_MODEL_COUNT 6

/* Catalogue indices (the order of the table in catalog.c). */
enum {
    FACE_MODEL_DETECTOR = 0,
    FACE_MODEL_ONET = 1,
    FACE_MODEL_PNET = 2,
    FACE_MODEL_RNET = 3,
    FACE_MODEL_EMBEDDER_A = 4,
    FACE_MODEL_EMBEDDER_B = 5,
};

/* The catalogue: FACE_MODEL_COUNT entries, static and immutable. */
const face_model_spec *face_catalog(void);

/* Index of the model called `name`, or -1. */
int face_catalog_find(const char *name);

/* The input tensor of catalogue model `model` for img (w × h × 3 floats into x, caller
 * allocated), normalised with the model's mean and std and laid out as `layout`: the model's
 * own (face_catalog()[model].input.layout) or, for a model whose first convolution takes
 * either, the other one (UltraFace is fed channels-last, face_run_model_nhwc). Every input
 * of the pipeline is built here. @test face/test_embed_face.c */
void face_input_tensor(int model, const image_rgb *img, face_layout layout, float *x);

#endif
