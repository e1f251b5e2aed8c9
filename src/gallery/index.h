/* index.h — the in-memory search index of one collection: every face's vector, searched
 * exactly (a scan at memory bandwidth, f32 or int8) or approximately (hnswlib's HNSW graph),
 * with per-subject aggregation: the scan ranks subjects by their best face;
 * gallery_index_subject() gives a subject's aggregate under any rule (aggregate.h).
 *
 * Vectors are what makes the collection's similarity a plain dot product: for `fast` the
 * 192-d embedding A; for `accurate` A scaled by sqrt(w) followed by B scaled by sqrt(1 − w)
 * (704-d), so that the dot product is w·cos A + (1 − w)·cos B (calibration.h's weight).
 * gallery_index_vector() builds it from a template.
 *
 * Ownership: the index copies what it is given. Thread-safety: searches may run in parallel
 * with each other (read-only); adds and removals need exclusive access (the caller's lock).
 * Erased faces leave memory: removal compacts the arrays and rebuilds the approximate
 * graph (hnswlib can only mark deletions, which would keep the vectors in memory). */
#ifndef MIEN_GALLERY_INDEX_H
#define MIEN_GALLERY_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gallery/aggregate.h"
#include "mien.h"

typedef enum gallery_search_mode {
    GALLERY_SEARCH_AUTO = 0,     /* HNSW when built, else exact int8 + f32 re-rank */
    GALLERY_SEARCH_EXACT_F32 = 1,
    GALLERY_SEARCH_EXACT_INT8 = 2, /* int8 shortlist (per-vector scale), re-ranked in f32 */
    GALLERY_SEARCH_APPROX = 3,     /* HNSW (MIEN_ERR_NOT_FOUND if not built) */
} gallery_search_mode;

typedef struct gallery_hit {
    int64_t face_id;
    int64_t subject_id;
    float similarity;
} gallery_hit;

typedef struct gallery_index gallery_index;

/* Longest vector: the `accurate` profile's 192 + 512 floats. */
#define GALLERY_INDEX_DIM_MAX 704

/* A new empty index of `dim`-float vectors. */
mien_status gallery_index_new(int dim, gallery_index **out, mien_error *err);
void gallery_index_free(gallery_index *idx);

/* Adds one face (vector copied; L2 norm expected 1). */
mien_status gallery_index_add(gallery_index *idx, int64_t face_id, int64_t subject_id,
                              const float *vec, mien_error *err);
/* The same with the face's weight under MIEN_AGGREGATE_QUALITY (> 0; gallery_index_add: 1). */
mien_status gallery_index_add_weighted(gallery_index *idx, int64_t face_id, int64_t subject_id,
                                       const float *vec, float weight, mien_error *err);
/* How the aggregate rules split this index's vectors into embedders (aggregate.h; a new
 * index has one part). Ignored unless the parts add up to the index's dimension. */
void gallery_index_set_parts(gallery_index *idx, const gallery_parts *p);
/* Removes every face of subject_id; returns how many were removed in *removed. */
mien_status gallery_index_remove_subject(gallery_index *idx, int64_t subject_id,
                                         size_t *removed, mien_error *err);
size_t gallery_index_size(const gallery_index *idx);
/* Whether face_id is in the index (a linear scan: for replaying changes another handle made,
 * where a face may already have been loaded). */
bool gallery_index_has_face(const gallery_index *idx, int64_t face_id);
/* Gives face_id (when indexed) to subject_id, its vector unchanged: a face moved to another
 * subject (the HNSW graph labels rows, so it stays valid; the subjects' row lists are rebuilt).
 * False when the face is not there, or out of memory (the caller reloads). Exclusive access. */
bool gallery_index_move_face(gallery_index *idx, int64_t face_id, int64_t subject_id);
int gallery_index_dim(const gallery_index *idx);

/* Bytes the index holds (vectors, int8 copies, ids, the HNSW graph), for reports. */
size_t gallery_index_bytes(const gallery_index *idx);

/* Builds (or rebuilds) the approximate HNSW graph over the current faces (hnswlib; M,
 * ef_construction and ef_search measured with bench/search.sh: index.c, docs/search.md),
 * on up to one thread per CPU. Exclusive access. AUTO searches use it once built; later
 * adds join it; gallery_index_remove_subject() drops it (hnswlib can only mark deletions),
 * so AUTO searches are exact until it is built again. The graph is never written to disk. */
mien_status gallery_index_build_approx(gallery_index *idx, mien_error *err);
/* Whether the approximate graph is built. */
bool gallery_index_has_approx(const gallery_index *idx);

/* The best `k` subjects (each with its best face) whose similarity >= min_similarity, best
 * first, written to hits[0..*n). `hits` has room for k. @test gallery/test_index.c */
mien_status gallery_index_search(const gallery_index *idx, const float *query, int k,
                                 float min_similarity, gallery_search_mode mode,
                                 gallery_hit *hits, size_t *n, mien_error *err);

/* Every face of subject_id with its similarity to `query` (dim floats), best first, in
 * *faces (malloc'd, *n_faces of them; the caller frees), and the subject's aggregate score
 * under `rule` in *score. MIEN_ERR_NOT_FOUND when the index has no such subject. Costs one
 * dot product per face of the subject (plus, for the mean rules, one pass over them).
 * @test gallery/test_aggregate.c */
mien_status gallery_index_subject(const gallery_index *idx, const float *query,
                                  int64_t subject_id, mien_aggregate rule, float *score,
                                  mien_face_match **faces, size_t *n_faces, mien_error *err);

/* Tuning hooks (bench/search.sh measures the defaults with them). The HNSW parameters:
 * hnswlib's M (graph degree), ef_construction (build beam) and ef_search (search beam). */
typedef struct gallery_approx_params {
    int m;
    int ef_construction;
    int ef_search;
} gallery_approx_params;
/* The measured defaults that gallery_index_build_approx() uses. */
gallery_approx_params gallery_approx_params_default(void);
/* gallery_index_build_approx() with other parameters. Exclusive access. */
mien_status gallery_index_build_approx_with(gallery_index *idx, const gallery_approx_params *p,
                                            mien_error *err);
/* Changes the built graph's search beam (MIEN_ERR_NOT_FOUND if not built). Exclusive access. */
mien_status gallery_index_set_approx_ef(gallery_index *idx, int ef_search, mien_error *err);

/* Test hook: gallery_index_search with the exact kernels forced to one instruction set
 * (never above what the CPU has or the process's ISA cap allows, base/cpu.h: a level above
 * runs as the next below), so that tests can check each path against the others. AVX512
 * means AVX-512F for f32 and AVX-512 VNNI for int8 (AVX2's int8 kernel without VNNI).
 * gallery_index_isa(want) is the level a search at `want` runs at (never BEST).
 * @test gallery/test_index.c */
typedef enum gallery_isa {
    GALLERY_ISA_BEST = 0,
    GALLERY_ISA_SCALAR = 1,
    GALLERY_ISA_AVX2 = 2, /* AVX2 + FMA */
    GALLERY_ISA_AVX512 = 3,
} gallery_isa;
mien_status gallery_index_search_isa(const gallery_index *idx, const float *query, int k,
                                     float min_similarity, gallery_search_mode mode,
                                     gallery_isa isa, gallery_hit *hits, size_t *n,
                                     mien_error *err);
gallery_isa gallery_index_isa(gallery_isa want);

/* The index vector of a template for its profile (see above): dim floats written to out
 * (room for 704); returns the dimension in *dim. */
mien_status gallery_index_vector(const mien_template *t, float *out, int *dim);

#endif
