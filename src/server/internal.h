/* internal.h — what http.c (libmicrohttpd, routing, auth, limits, lifecycle), api.c (the
 * route handlers and inference jobs), rekognition.c and service.c (the timed library calls
 * both APIs make) share: the server's state and one request's state. Every name they export
 * starts with srv_ (server_run and server_routes, server.h, are the CLI's entry points). */
#ifndef MIEN_SERVER_INTERNAL_H
#define MIEN_SERVER_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "guard.h"
#include "metrics.h"
#include "mien.h"
#include "pool.h"
#include "server.h"

/* The whole service. Created by server_run, shared by every thread. */
typedef struct server {
    server_config cfg;            /* with defaults filled in */
    mien_engine *engine;          /* read-only, shared */
    mien_store *store;            /* ONE handle: only under store_lock */
    pthread_mutex_t store_lock;
    bool store_down;              /* under store_lock: the last /readyz ping failed (logged once
                                     per outage, api.c h_readyz) */
    server_pool *pool;
    server_metrics *metrics;
    struct MHD_Daemon *daemon;
    srv_guard *guard;             /* closes connections whose headers come too slowly */
    char web_dir[PATH_MAX];       /* "" when there is none */
    atomic_int in_flight;         /* requests between their first call and completion */
    char compare_purposes[256];   /* the purposes compare accepts, comma-separated (checked) */
    char group_purposes[256];     /* the purposes grouping photos accepts (checked) */
    /* the periodic purge of expired subjects (api.c srv_governance_start/stop) */
    pthread_t purge_thread;
    bool purge_started;
    bool purge_stop;              /* under purge_mu */
    pthread_mutex_t purge_mu;
    pthread_cond_t purge_cv;      /* CLOCK_MONOTONIC */
} server;

/* Query parameters the routes read (copied out of MHD before a request is queued). */
typedef enum query_key {
    Q_SMALL_FACES, Q_MIN_SCORE, Q_PROFILE, Q_FMR, Q_TOP, Q_FACE, Q_FORCE, Q_DISPLAY_NAME,
    Q_CROP, Q_PURPOSE, Q_CASE_REF, Q_CONSENT_REF, Q_EXPIRES_AT, Q_FROM, Q_TO, Q_METHOD,
    Q_AGGREGATE, Q_STATUS, Q_COLLECTION, Q_COUNT
} query_key;

/* The parameter names of query_key (http.c): in the query string and, for the routes that
 * read them from the body too, JSON members or multipart fields. */
extern const char *const srv_query_names[Q_COUNT];

#define REQUEST_PARAM_MAX 256 /* bytes of one path parameter ({c}, {s}, {file}), NUL included */

typedef enum request_state {
    REQ_NEW = 0, /* reading headers and body */
    REQ_QUEUED,  /* suspended, waiting for / running on an inference worker */
    REQ_READY,   /* the response is built; send it on the next call */
} request_state;

struct route;

/* One request, from its first call to MHD's completion notice. */
typedef struct request {
    server *srv;
    struct MHD_Connection *conn;
    const struct route *route; /* NULL: no route (404/405 decided in http.c) */
    const char *method;        /* static string ("GET", ...) for metrics */
    char request_id[37];       /* a random UUID: in the X-Request-Id header of the answer, in
                                  every error body, and in the log line of a 5xx */
    char actor[MIEN_KEY_ID_LEN + 1]; /* the API key's id ("" on routes without a key): the
                                        actor of every audit entry the request makes */
    mien_role role;            /* that key's role */
    char params[2][REQUEST_PARAM_MAX];
    char query[Q_COUNT][REQUEST_PARAM_MAX];
    bool has_query[Q_COUNT];
    char content_type[256];
    double t0;                 /* monotonic seconds at the first call */
    request_state state;
    /* the body, accumulated across calls; at most cfg.max_body bytes */
    uint8_t *body;
    size_t body_len, body_cap;
    /* images found in the body (borrowed from body, or owned when base64-decoded) */
    const uint8_t *image[2];
    size_t image_len[2];
    uint8_t *image_owned[2];
    uint8_t image_sha256[2][32]; /* SHA-256 of image[k]'s bytes (set by the routes that audit) */
    json_t *json;              /* a JSON body, when it was one */
    /* values the MHD thread resolved before queueing */
    mien_profile profile;
    /* the response */
    int status;
    char *resp;                /* malloc'd body */
    size_t resp_len;
    const char *resp_type;     /* static Content-Type */
    int resp_fd;               /* static file (>= 0), sent with MHD_create_response_from_fd */
    uint64_t resp_fd_size;
    const char *hdr_name[2], *hdr_value[2]; /* extra headers (static, or the request's) */
    char allow[64];            /* a 405's Allow header */
    pool_job job;
    struct rek_call *rek;      /* a Rekognition-compatible call's state (rekognition.c), freed
                                  at completion; NULL for the native routes */
    struct group_call *group;  /* POST /v1/group's images or face ids (api.c), freed at
                                  completion; NULL for the other routes */
} request;

typedef void (*inline_handler)(request *r);
typedef void (*job_handler)(mien_session *session, void *request);
typedef bool (*prepare_handler)(request *r); /* MHD thread, before queueing; false: replied */

typedef struct route {
    const char *method;
    const char *pattern; /* "/v1/collections/{c}": "{x}" is one non-empty segment */
    const char *action;  /* mien_role_allows action; NULL: no authentication */
    inline_handler run;  /* answers in the MHD thread, or */
    prepare_handler prepare;
    job_handler job;     /* runs on an inference worker after prepare() */
} route;

extern const route srv_route_table[];
extern const size_t srv_route_count;

/* ---- replies (api.c) ---- */
/* Sets the response to `obj` (stolen) serialised as compact JSON (reals to 7 significant
 * digits: more than the models resolve) with `status` and Content-Type `type` (static);
 * oom_body (static), with 500, when it cannot be serialised. */
void srv_reply_serialised(request *r, int status, json_t *obj, const char *type,
                          const char *oom_body);
/* Sets the response to `obj` (stolen) serialised as JSON with `status`. */
void srv_reply_json(request *r, int status, json_t *obj);
/* Sets {"error":{"code","message","request_id"}} with `status`. A 5xx other than 503 says
 * only that the server failed: the message, which may name the database's host or a file
 * (the store's words), goes to the server's log with the request id instead. */
void srv_reply_error(request *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes a failure's detail to the server's log (stderr), under the request's id; the client
 * gets SRV_FAILED_MESSAGE (a printf format for that id) instead. */
#define SRV_FAILED_MESSAGE "the server failed; its log has the detail under request id %s"
void srv_log_failure(const request *r, int status, const char *code, const char *detail);
/* The error reply a library status maps to (404 not_found, 409 conflict, 400, 403 forbidden,
 * 422 bad_image, 500 internal: logged, generic body), with err's message. */
void srv_reply_status(request *r, mien_status st, const mien_error *err);

/* ---- governance (api.c) ---- */
/* Checks cfg.compare_purposes into srv->compare_purposes, purges expired subjects once and
 * starts the periodic purge (every cfg.purge_interval_s). False, with a message on stderr,
 * when the purpose list is malformed or the first purge fails. Call with the store open and
 * before the daemon starts. */
bool srv_governance_start(server *srv);
/* Frees POST /v1/group's state (NULL: nothing). */
void srv_group_call_free(struct group_call *g);
/* Stops and joins the periodic purge; a no-op when it was not started. */
void srv_governance_stop(server *srv);

#endif
