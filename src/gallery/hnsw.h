/* hnsw.h — a small C face over hnswlib's HierarchicalNSW<float> (Debian's libhnswlib-dev
 * 0.6, header-only C++; Malkov & Yashunin, "Efficient and robust approximate nearest
 * neighbor search using Hierarchical Navigable Small World graphs", TPAMI 2018), used by
 * index.c as the approximate index of a collection.
 *
 * Distance is 1 − dot (hnswlib's InnerProductSpace), computed by the caller's function so
 * that the graph uses mien's runtime-dispatched dot-product kernels instead of whatever
 * instruction set hnswlib's header was compiled for. Labels are the caller's row numbers.
 *
 * Never persisted: hnswlib's saveIndex writes the vectors in plaintext, so this interface
 * has no save. Deletion is not offered either (hnswlib only marks deletions, keeping the
 * vector in memory): the owner drops the graph and builds a new one. gallery_hnsw_free()
 * wipes the graph's copy of the vectors before releasing it.
 *
 * Thread-safety: searches may run in parallel with each other; adds need exclusive access
 * (gallery_hnsw_add spreads one batch over its own threads). */
#ifndef MIEN_GALLERY_HNSW_H
#define MIEN_GALLERY_HNSW_H

#include <stddef.h>

#include "mien.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hnswlib's DISTFUNC: distance between two `*(const size_t *)param`-float vectors. */
typedef float (*gallery_hnsw_dist)(const void *a, const void *b, const void *param);

typedef struct gallery_hnsw gallery_hnsw;

/* A new empty graph of `dim`-float vectors with room for `capacity` (grows on add), degree
 * `m` (hnswlib's M) and build beam `ef_construction`; searches use a beam of at least
 * `ef_search`. *out owned by the caller: gallery_hnsw_free(). MIEN_ERR_NOMEM on failure. */
mien_status gallery_hnsw_new(int dim, size_t capacity, int m, int ef_construction, int ef_search,
                             gallery_hnsw_dist dist, gallery_hnsw **out);

/* Wipes the graph's vectors and frees it; NULL does nothing. */
void gallery_hnsw_free(gallery_hnsw *h);

/* Adds n vectors: vector i is vecs + i·stride (floats) and gets label first_label + i.
 * Runs on `threads` threads (1 = the caller's). MIEN_ERR_NOMEM when growing fails (the
 * vectors added before the failure stay). */
mien_status gallery_hnsw_add(gallery_hnsw *h, const float *vecs, size_t stride, size_t n,
                             size_t first_label, int threads);

/* The approximately nearest min(k, size) vectors to `query`, best (smallest distance)
 * first: labels[0..*n) and distances dist[0..*n) (dist may be NULL). The beam is
 * max(ef, ef_search, k). MIEN_ERR_NOMEM if hnswlib cannot allocate. */
mien_status gallery_hnsw_search(const gallery_hnsw *h, const float *query, size_t k, size_t ef,
                                size_t *labels, float *dist, size_t *n);

/* Sets the smallest search beam (exclusive access: not while searches run). */
void gallery_hnsw_set_ef(gallery_hnsw *h, size_t ef_search);

/* Vectors in the graph. */
size_t gallery_hnsw_size(const gallery_hnsw *h);

/* Bytes the graph holds (vectors, level-0 links, upper-layer links), for reports. */
size_t gallery_hnsw_bytes(const gallery_hnsw *h);

#ifdef __cplusplus
}
#endif

#endif
