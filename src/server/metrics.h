/* metrics.h — the service's Prometheus metrics: counters of requests by route and status,
 * latency histograms by route, the inference queue depth, inference time, faces per
 * collection, body bytes read, connections cut for slow headers. Thread-safe (atomics and one mutex for the label table); rendered as the
 * Prometheus text exposition format (version 0.0.4) by srv_metrics_render. */
#ifndef MIEN_SERVER_METRICS_H
#define MIEN_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct server_metrics server_metrics;

server_metrics *srv_metrics_new(void);
void srv_metrics_free(server_metrics *m);

/* One finished request: `route` is the route pattern ("/v1/collections/{c}/search"), not the
 * raw path, so label cardinality stays bounded. */
void srv_metrics_request(server_metrics *m, const char *method, const char *route, int status,
                         double seconds);
/* Queue depth now (set by the worker pool), and one inference's duration. */
void srv_metrics_queue_depth(server_metrics *m, int depth);
void srv_metrics_inference(server_metrics *m, const char *stage, double seconds);
/* Faces per collection, refreshed by the caller (e.g. on each scrape). */
void srv_metrics_collection_faces(server_metrics *m, const char *collection, int64_t faces);
/* Forgets every collection gauge (before a refresh, so that dropped collections vanish). */
void srv_metrics_collections_reset(server_metrics *m);

/* Bytes of request bodies handed to the routes, and connections closed because their
 * headers came too slowly (guard.c): the evidence that a refused request's body was not read
 * and that slow clients are cut. */
void srv_metrics_body_bytes(server_metrics *m, size_t bytes);
void srv_metrics_slow_headers_cut(server_metrics *m);

/* Renders everything into a malloc'd NUL-terminated string (caller frees); NULL on OOM. */
char *srv_metrics_render(server_metrics *m, size_t *len);

#endif
