/* hnsw.cpp — the C face of hnswlib (see hnsw.h): the only C++ in mien. Every hnswlib call
 * is wrapped in try/catch, since hnswlib reports allocation failures and corrupt state by
 * throwing; no exception crosses into C. */
#include "gallery/hnsw.h"

#include <string.h>

#include <atomic>
#include <new>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
/* hnswlib 0.6's SSE prefetch hints read the link after the last one of a neighbour list
 * (hnswalg.h, searchBaseLayer: *(datal + j + 1)), past an upper layer's malloc'd list: a
 * 4-byte over-read that ASan reports. Sanitizer builds compile the hints out (distances are
 * ours, so nothing else changes); upstream later guarded the read. */
#define NO_MANUAL_VECTORIZATION
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wreorder"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hnswlib/hnswlib.h>
#pragma GCC diagnostic pop

namespace {

/* hnswlib's InnerProductSpace with the distance function supplied by the caller (mien's
 * dispatched kernel): same distance, 1 − dot, whatever instruction set this file was
 * compiled for. */
class DotSpace : public hnswlib::SpaceInterface<float> {
public:
    DotSpace(size_t dim, gallery_hnsw_dist dist) : dim_(dim), dist_(dist) {}
    size_t get_data_size() override { return dim_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return dist_; }
    void *get_dist_func_param() override { return &dim_; }

private:
    size_t dim_; /* floats per vector; hnswlib hands &dim_ to dist_ */
    gallery_hnsw_dist dist_;
};

} // namespace

struct gallery_hnsw {
    DotSpace *space;
    hnswlib::HierarchicalNSW<float> *graph;
    size_t dim;
    size_t ef_search;
};

extern "C" mien_status gallery_hnsw_new(int dim, size_t capacity, int m, int ef_construction,
                                        int ef_search, gallery_hnsw_dist dist,
                                        gallery_hnsw **out)
{
    if (out == nullptr) {
        return MIEN_ERR_ARG;
    }
    *out = nullptr;
    if (dim <= 0 || m < 2 || ef_construction < 1 || ef_search < 1 || dist == nullptr) {
        return MIEN_ERR_ARG;
    }
    gallery_hnsw *h = new (std::nothrow) gallery_hnsw();
    if (h == nullptr) {
        return MIEN_ERR_NOMEM;
    }
    h->dim = (size_t)dim;
    h->ef_search = (size_t)ef_search;
    try {
        h->space = new DotSpace((size_t)dim, dist);
        h->graph = new hnswlib::HierarchicalNSW<float>(h->space, capacity < 1 ? 1 : capacity,
                                                       (size_t)m, (size_t)ef_construction);
        h->graph->setEf((size_t)ef_search);
    } catch (...) {
        delete h->space;
        delete h;
        return MIEN_ERR_NOMEM;
    }
    *out = h;
    return MIEN_OK;
}

extern "C" void gallery_hnsw_free(gallery_hnsw *h)
{
    if (h == nullptr) {
        return;
    }
    if (h->graph != nullptr) {
        /* The level-0 block holds every vector: wipe it so erased faces leave memory. */
        explicit_bzero(h->graph->data_level0_memory_,
                       h->graph->max_elements_ * h->graph->size_data_per_element_);
        delete h->graph;
    }
    delete h->space;
    delete h;
}

extern "C" mien_status gallery_hnsw_add(gallery_hnsw *h, const float *vecs, size_t stride,
                                        size_t n, size_t first_label, int threads)
{
    if (h == nullptr || (vecs == nullptr && n > 0) || stride < h->dim) {
        return MIEN_ERR_ARG;
    }
    hnswlib::HierarchicalNSW<float> *g = h->graph;
    try {
        size_t need = g->cur_element_count + n;
        if (need > g->max_elements_) {
            size_t grow = g->max_elements_ * 2;
            g->resizeIndex(grow > need ? grow : need);
        }
    } catch (...) {
        return MIEN_ERR_NOMEM;
    }
    std::atomic<size_t> next(0);
    std::atomic<bool> failed(false);
    auto work = [&]() {
        for (size_t i = next++; i < n && !failed; i = next++) {
            try {
                g->addPoint(vecs + i * stride, (hnswlib::labeltype)(first_label + i));
            } catch (...) {
                failed = true;
            }
        }
    };
    if (threads < 1) {
        threads = 1;
    }
    std::vector<std::thread> pool;
    try {
        for (int t = 1; t < threads && (size_t)t < n; t++) {
            pool.emplace_back(work);
        }
    } catch (...) {
        /* Could not start a thread: the ones running and this one finish the batch. */
    }
    work();
    for (std::thread &t : pool) {
        t.join();
    }
    return failed ? MIEN_ERR_NOMEM : MIEN_OK;
}

extern "C" mien_status gallery_hnsw_search(const gallery_hnsw *h, const float *query, size_t k,
                                           size_t ef, size_t *labels, float *dist, size_t *n)
{
    if (n == nullptr) {
        return MIEN_ERR_ARG;
    }
    *n = 0;
    if (h == nullptr || query == nullptr || (labels == nullptr && k > 0)) {
        return MIEN_ERR_ARG;
    }
    if (k == 0) {
        return MIEN_OK;
    }
    /* searchKnn's beam is max(ef_, k'): asking for k' = max(k, ef) results and keeping the
     * best k widens the beam without setEf, which would race with parallel searches. */
    size_t want = k;
    if (ef > want) {
        want = ef;
    }
    if (h->ef_search > want) {
        want = h->ef_search;
    }
    try {
        auto top = h->graph->searchKnn(query, want);
        /* A max-heap on distance: pop the surplus, then fill from the back. */
        while (top.size() > k) {
            top.pop();
        }
        size_t m = top.size();
        for (size_t i = m; i-- > 0;) {
            labels[i] = (size_t)top.top().second;
            if (dist != nullptr) {
                dist[i] = top.top().first;
            }
            top.pop();
        }
        *n = m;
    } catch (...) {
        return MIEN_ERR_NOMEM;
    }
    return MIEN_OK;
}

extern "C" void gallery_hnsw_set_ef(gallery_hnsw *h, size_t ef_search)
{
    if (h != nullptr && ef_search > 0) {
        h->ef_search = ef_search;
        h->graph->setEf(ef_search);
    }
}

extern "C" size_t gallery_hnsw_size(const gallery_hnsw *h)
{
    return h == nullptr ? 0 : h->graph->cur_element_count;
}

extern "C" size_t gallery_hnsw_bytes(const gallery_hnsw *h)
{
    if (h == nullptr) {
        return 0;
    }
    const hnswlib::HierarchicalNSW<float> *g = h->graph;
    size_t bytes = g->max_elements_ * g->size_data_per_element_;
    for (size_t i = 0; i < g->cur_element_count; i++) {
        bytes += (size_t)g->element_levels_[i] * g->size_links_per_element_;
    }
    return bytes;
}
