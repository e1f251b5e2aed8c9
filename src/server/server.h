/* server.h — `mien serve`: the HTTP service (libmicrohttpd + jansson) over the public mien
 * API. One call, server_run(), loads the models, opens the store, starts the inference pool
 * and the HTTP daemon, and returns when SIGTERM or SIGINT arrives (after in-flight requests
 * finished). Routes, bodies and statuses: openapi.yaml and docs/api.md. */
#ifndef MIEN_SERVER_H
#define MIEN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mien.h"

typedef struct server_config {
    const char *listen;     /* "HOST:PORT" ("[::1]:PORT" for IPv6); NULL: 127.0.0.1:8080; port
                               0 picks a free one (printed) */
    const char *store_uri;  /* NULL: ./mien.db (`mien serve` passes $MIEN_STORE) */
    const char *models_dir; /* NULL: ./models (`mien serve` passes $MIEN_MODELS) */
    mien_precision precision; /* AUTO: the engine's default (`mien serve`: $MIEN_PRECISION) */
    mien_profile_fn profile;  /* NULL: none; else the engine's (`mien serve`: $MIEN_PROFILE) */
    const char *web_dir;    /* NULL: web/ beside the executable's ../, else ./web, else
                               web_fallback */
    const char *web_fallback; /* the installed web page (NULL: none) */
    int workers;            /* inference threads; 0: online CPUs */
    int queue;              /* inference jobs waiting at most; 0: 4 × workers */
    int http_threads;       /* HTTP threads (MHD thread pool); 0: min(online CPUs, 8), >= 2 */
    size_t max_body;        /* bytes; 0: 20 MiB */
    int timeout_s;          /* seconds a client may take to send its request; 0: 30 */
    int header_timeout_s;   /* seconds a connection may take to send a request's headers
                               (from its accept, or from the end of its previous request):
                               then it is closed without an answer; 0: 10 */
    int max_client_connections; /* open connections from one client address at most; further
                                   ones are closed at once; 0: 64, < 0: no limit */
    bool bootstrap_admin;   /* create and print an admin key when the store has none */
    const char *key_file;   /* the store's key file (data keys, audit signing key); NULL: the
                               database path + ".key" (`mien serve` passes --key-file, else
                               $MIEN_KEY_FILE). Required on a non-loopback address */
    int64_t now;            /* non-zero: the store's clock, a test hook refused off loopback
                               (`mien serve` passes $MIEN_NOW) */
    const char *audit_head; /* PostgreSQL: where this node keeps the signed audit head; NULL:
                               beside the key file (`mien serve` passes $MIEN_AUDIT_HEAD) */
    const char *compare_purposes; /* comma-separated purposes POST /v1/compare accepts; NULL:
                                     "identity_verification" */
    const char *group_purposes; /* comma-separated purposes POST /v1/group accepts for photos;
                                   NULL: "photo_organisation" */
    int purge_interval_s;   /* seconds between purges of expired subjects; 0: 3600; < 0: only
                               the one at start (and POST /v1/purge) */
} server_config;

/* One route of the API ("GET", "/v1/collections/{c}"), for --print-routes. */
typedef struct server_route_info {
    const char *method;
    const char *pattern;
} server_route_info;

/* The routes, in the order openapi.yaml lists them; *count receives their number. */
const server_route_info *server_routes(size_t *count);

/* Runs the service until SIGTERM/SIGINT. Returns 0 after a clean shutdown, 1 when it could
 * not start (message on stderr: models, store, key file, address, or a non-loopback address
 * without an explicit key file or without any valid API key). */
int server_run(const server_config *config);

#endif
