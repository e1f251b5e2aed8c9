/* catalog.h — the models mien runs: file, role, bench shape, provenance and licence notes.
 *
 * One static table (DESIGN.md §4). The engine loads every entry; `mien models` prints it. */
#ifndef MIEN_FACE_CATALOG_H
#define MIEN_FACE_CATALOG_H

#include <stdint.h>

typedef struct face_model_spec {
    const char *name;       /* catalogue name: what the API and the bench call it */
    const char *file;       /* file inside the models folder (scripts/setup puts it there) */
    const char *role;
    const char *package;    /* npm package@version it is extracted from */
    const char *provenance; /* upstream, training data, licence */
    const char *in_layout;  /* layout of the model's input: "NCHW" or "NHWC" */
    int bench_rank;         /* the input shape the pipeline feeds; `mien bench` times it */
    int64_t bench_dims[4];
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

#endif
