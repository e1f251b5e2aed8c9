/* metrics.c — the service's Prometheus metrics (metrics.h). Label sets are few and bounded
 * (methods × route patterns × statuses, a handful of stages, the collections), so they live
 * in small arrays searched linearly under one mutex; a scrape copies nothing but renders
 * under the same mutex. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "strbuf.h"

/* Latency buckets (seconds): health checks take ~50 µs, a search ~1 ms, detection ~10-50 ms
 * per image on one core, an enrolment of a big photo up to a second or more. */
static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define N_BUCKETS (sizeof(BUCKETS) / sizeof(BUCKETS[0]))

#define MAX_REQUEST_SERIES 512 /* method × route × status; the route table bounds it */
#define MAX_ROUTES 64
#define MAX_STAGES 16
#define MAX_COLLECTIONS 1024

typedef struct histogram {
    char label[96];
    uint64_t counts[N_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    double sum;
} histogram;

typedef struct request_series {
    char method[8], route[80];
    int status;
    uint64_t count;
} request_series;

typedef struct collection_gauge {
    char name[64];
    int64_t faces;
} collection_gauge;

struct server_metrics {
    pthread_mutex_t lock;
    request_series requests[MAX_REQUEST_SERIES];
    size_t n_requests;
    histogram durations[MAX_ROUTES];
    size_t n_durations;
    histogram stages[MAX_STAGES];
    size_t n_stages;
    collection_gauge collections[MAX_COLLECTIONS];
    size_t n_collections;
    int queue_depth;
    uint64_t body_bytes;
    uint64_t slow_headers_cut;
};

server_metrics *srv_metrics_new(void)
{
    server_metrics *m = calloc(1, sizeof(*m));
    if (m != NULL) {
        pthread_mutex_init(&m->lock, NULL);
    }
    return m;
}

void srv_metrics_free(server_metrics *m)
{
    if (m != NULL) {
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
}

static void observe(histogram *h, double seconds)
{
    for (size_t b = 0; b < N_BUCKETS; b++) {
        if (seconds <= BUCKETS[b]) {
            h->counts[b]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

/* The histogram labelled `label` in arr (adding it while there is room); NULL when full. */
static histogram *histogram_for(histogram *arr, size_t *n, size_t max, const char *label)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(arr[i].label, label) == 0) {
            return &arr[i];
        }
    }
    if (*n == max) {
        return NULL;
    }
    memset(&arr[*n], 0, sizeof(arr[*n]));
    snprintf(arr[*n].label, sizeof(arr[*n].label), "%s", label);
    return &arr[(*n)++];
}

void srv_metrics_request(server_metrics *m, const char *method, const char *route, int status,
                         double seconds)
{
    request_series *s = NULL;
    histogram *h;
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_requests; i++) {
        request_series *r = &m->requests[i];
        if (r->status == status && strcmp(r->method, method) == 0 &&
            strcmp(r->route, route) == 0) {
            s = r;
            break;
        }
    }
    if (s == NULL && m->n_requests < MAX_REQUEST_SERIES) {
        s = &m->requests[m->n_requests++];
        snprintf(s->method, sizeof(s->method), "%s", method);
        snprintf(s->route, sizeof(s->route), "%s", route);
        s->status = status;
        s->count = 0;
    }
    if (s != NULL) {
        s->count++;
    }
    h = histogram_for(m->durations, &m->n_durations, MAX_ROUTES, route);
    if (h != NULL) {
        observe(h, seconds);
    }
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_queue_depth(server_metrics *m, int depth)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->queue_depth = depth;
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_inference(server_metrics *m, const char *stage, double seconds)
{
    histogram *h;
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    h = histogram_for(m->stages, &m->n_stages, MAX_STAGES, stage);
    if (h != NULL) {
        observe(h, seconds);
    }
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_collection_faces(server_metrics *m, const char *collection, int64_t faces)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_collections; i++) {
        if (strcmp(m->collections[i].name, collection) == 0) {
            m->collections[i].faces = faces;
            pthread_mutex_unlock(&m->lock);
            return;
        }
    }
    if (m->n_collections < MAX_COLLECTIONS) {
        collection_gauge *g = &m->collections[m->n_collections++];
        snprintf(g->name, sizeof(g->name), "%s", collection);
        g->faces = faces;
    }
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_collections_reset(server_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->n_collections = 0;
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_body_bytes(server_metrics *m, size_t bytes)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->body_bytes += bytes;
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_slow_headers_cut(server_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->slow_headers_cut++;
    pthread_mutex_unlock(&m->lock);
}

/* Appends s as a Prometheus label value: backslash, quote and newline escaped. */
static void sb_label(srv_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            srv_buf_chr(b, '\\');
            srv_buf_chr(b, *s);
        } else if (*s == '\n') {
            srv_buf_str(b, "\\n");
        } else {
            srv_buf_chr(b, *s);
        }
    }
}

static void render_histogram(srv_buf *b, const char *name, const char *label_name,
                             const histogram *h)
{
    uint64_t cum = 0;
    for (size_t k = 0; k < N_BUCKETS; k++) {
        cum += h->counts[k];
        srv_buf_printf(b, "%s_bucket{%s=\"", name, label_name);
        sb_label(b, h->label);
        srv_buf_printf(b, "\",le=\"%g\"} %llu\n", BUCKETS[k], (unsigned long long)cum);
    }
    srv_buf_printf(b, "%s_bucket{%s=\"", name, label_name);
    sb_label(b, h->label);
    srv_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    srv_buf_printf(b, "%s_sum{%s=\"", name, label_name);
    sb_label(b, h->label);
    srv_buf_printf(b, "\"} %.6f\n", h->sum);
    srv_buf_printf(b, "%s_count{%s=\"", name, label_name);
    sb_label(b, h->label);
    srv_buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

char *srv_metrics_render(server_metrics *m, size_t *len)
{
    srv_buf b = {0};
    pthread_mutex_lock(&m->lock);
    srv_buf_printf(&b, "# HELP mien_requests_total HTTP requests by method, route and status.\n"
                  "# TYPE mien_requests_total counter\n");
    for (size_t i = 0; i < m->n_requests; i++) {
        const request_series *r = &m->requests[i];
        srv_buf_printf(&b, "mien_requests_total{method=\"");
        sb_label(&b, r->method);
        srv_buf_printf(&b, "\",route=\"");
        sb_label(&b, r->route);
        srv_buf_printf(&b, "\",status=\"%d\"} %llu\n", r->status, (unsigned long long)r->count);
    }
    srv_buf_printf(&b, "# HELP mien_request_duration_seconds Time from request headers to "
                  "response, by route.\n"
                  "# TYPE mien_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_durations; i++) {
        render_histogram(&b, "mien_request_duration_seconds", "route", &m->durations[i]);
    }
    srv_buf_printf(&b, "# HELP mien_inference_queue_depth Inference jobs waiting for a worker.\n"
                  "# TYPE mien_inference_queue_depth gauge\n"
                  "mien_inference_queue_depth %d\n",
              m->queue_depth);
    srv_buf_printf(&b, "# HELP mien_inference_seconds Time in each inference stage.\n"
                  "# TYPE mien_inference_seconds histogram\n");
    for (size_t i = 0; i < m->n_stages; i++) {
        render_histogram(&b, "mien_inference_seconds", "stage", &m->stages[i]);
    }
    srv_buf_printf(&b, "# HELP mien_request_body_bytes_total Request body bytes read.\n"
                  "# TYPE mien_request_body_bytes_total counter\n"
                  "mien_request_body_bytes_total %llu\n"
                  "# HELP mien_connections_cut_total Connections closed by the server, by "
                  "reason.\n"
                  "# TYPE mien_connections_cut_total counter\n"
                  "mien_connections_cut_total{reason=\"slow_headers\"} %llu\n",
                  (unsigned long long)m->body_bytes, (unsigned long long)m->slow_headers_cut);
    srv_buf_printf(&b, "# HELP mien_collection_faces Faces enrolled, per collection.\n"
                  "# TYPE mien_collection_faces gauge\n");
    for (size_t i = 0; i < m->n_collections; i++) {
        srv_buf_printf(&b, "mien_collection_faces{collection=\"");
        sb_label(&b, m->collections[i].name);
        srv_buf_printf(&b, "\"} %lld\n", (long long)m->collections[i].faces);
    }
    pthread_mutex_unlock(&m->lock);
    return srv_buf_finish(&b, len);
}
