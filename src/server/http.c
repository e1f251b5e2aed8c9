/* http.c — the HTTP side of `mien serve` (DESIGN.md §8): a libmicrohttpd daemon (epoll, an
 * internal thread pool), request bodies accumulated across calls with a size bound, route
 * matching, bearer-key authentication, and the life cycle (start, SIGTERM/SIGINT, drain).
 *
 * A request's path through here: the first call (headers) allocates its state, refuses a
 * declared Content-Length above --max-body (413), matches the route and authenticates the
 * key (a bearer key whole; SigV4 as far as the headers allow: rekognition.c), all before any
 * of the body is read — a refusal of a request with a body is sent at once, and MHD closes
 * the connection without reading the body (issue 13 item 7); later calls append the body (413
 * or 408 cut the connection if it grows too large or takes longer than --timeout in all);
 * the final call either answers in this thread or, for inference, suspends the connection
 * and queues a job (503 + Retry-After when the queue is full); the worker builds the answer
 * and resumes the connection, and the next call sends it. Other answers are queued on a call
 * after the first, so keep-alive holds.
 *
 * Before that: MHD refuses a connection beyond --max-client-connections from one address, and
 * the guard (guard.c) closes one whose headers take longer than --header-timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "rekognition.h"
#include "service.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_MAX_BODY (20u << 20) /* 20 MiB: a 24-megapixel JPEG is ~12 MiB */
#define DEFAULT_TIMEOUT_S 30
/* Request headers are a few hundred bytes: 10 s is ample on any link, and bounds what a
 * client that trickles them (slowloris) can hold. */
#define DEFAULT_HEADER_TIMEOUT_S 10
/* Open connections per client address: a browser opens 6, an SDK's pool a few dozen; behind
 * a reverse proxy every client shares its address (docs/deploy.md). */
#define DEFAULT_CLIENT_CONNECTIONS 64
#define CONNECTION_MEMORY 65536      /* per-connection header buffer (MHD's default is 32 KiB) */
#define CONNECTION_LIMIT 1024        /* open connections at most */
#define HTTP_THREADS_MAX 8
#define DRAIN_GRACE_S 60             /* longest wait for in-flight requests at shutdown */

const server_route_info *server_routes(size_t *count)
{
    static server_route_info infos[32];
    size_t n = srv_route_count < 32 ? srv_route_count : 32;
    for (size_t i = 0; i < n; i++) {
        infos[i].method = srv_route_table[i].method;
        infos[i].pattern = srv_route_table[i].pattern;
    }
    *count = n;
    return infos;
}

/* ---- routing ----------------------------------------------------------------------------- */

/* Whether `path` matches `pattern`; path parameters are copied into params[] (at most two).
 * A parameter longer than REQUEST_PARAM_MAX - 1 bytes does not match. */
static bool match(const char *pattern, const char *path, char params[2][REQUEST_PARAM_MAX])
{
    int k = 0;
    const char *p = pattern, *u = path;
    while (*p != '\0') {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(u, "/");
            if (close == NULL || n == 0 || n >= REQUEST_PARAM_MAX || k >= 2) {
                return false;
            }
            memcpy(params[k], u, n);
            params[k][n] = '\0';
            k++;
            u += n;
            p = close + 1;
        } else if (*p++ != *u++) {
            return false;
        }
    }
    return *u == '\0';
}

/* Finds the route for (method, path). NULL with *path_known set when the path exists under
 * another method (405), clear when it does not (404); *allow lists the methods. */
static const route *find_route(const char *method, const char *path,
                               char params[2][REQUEST_PARAM_MAX], bool *path_known,
                               char *allow, size_t allow_cap)
{
    char tmp[2][REQUEST_PARAM_MAX];
    *path_known = false;
    allow[0] = '\0';
    for (size_t i = 0; i < srv_route_count; i++) {
        const route *rt = &srv_route_table[i];
        if (!match(rt->pattern, path, tmp)) {
            continue;
        }
        if (strcmp(rt->method, method) == 0) {
            memcpy(params, tmp, sizeof(tmp));
            return rt;
        }
        *path_known = true;
        if (strstr(allow, rt->method) == NULL) {
            size_t len = strlen(allow);
            snprintf(allow + len, allow_cap - len, "%s%s", len ? ", " : "", rt->method);
        }
    }
    return NULL;
}

/* Static method name for metrics labels (bounded cardinality). */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD",
                                        "OPTIONS"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(m, known[i]) == 0) {
            return known[i];
        }
    }
    return "OTHER";
}

/* ---- sending -------------------------------------------------------------------------------- */

static enum MHD_Result send_reply(request *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (r->resp_fd >= 0) {
        resp = MHD_create_response_from_fd64(r->resp_fd_size, r->resp_fd);
        if (resp != NULL) {
            r->resp_fd = -1; /* MHD closes it */
        }
    } else {
        if (r->resp == NULL) {
            srv_reply_error(r, 500, "internal", "no response");
        }
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
        if (resp != NULL) {
            r->resp = NULL; /* MHD frees it */
        }
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->resp_type != NULL ? r->resp_type : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->route == NULL || r->route->action != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    for (int i = 0; i < 2; i++) {
        if (r->hdr_name[i] != NULL) {
            MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
        }
    }
    ret = MHD_queue_response(r->conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- authentication -------------------------------------------------------------------------- */

/* Checks the bearer key against the route's action; replies 401/403/500 and returns false
 * when the request may not proceed. The key's id becomes the request's actor. */
static bool authenticate(request *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    char key[MIEN_KEY_TEXT_MAX];
    mien_key_info info;
    mien_error err;
    mien_status st;
    size_t n;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        srv_reply_error(r, 401, "unauthorized", "send an API key: Authorization: Bearer <key>");
        return false;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    n = strcspn(h, " \t");
    if (n == 0 || n >= sizeof(key)) {
        srv_reply_error(r, 401, "unauthorized", "unknown or revoked API key");
        return false;
    }
    memcpy(key, h, n);
    key[n] = '\0';
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_key_verify(r->srv->store, key, &info, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st == MIEN_ERR_NOT_FOUND || st == MIEN_ERR_ARG) {
        srv_reply_error(r, 401, "unauthorized", "unknown or revoked API key");
        return false;
    }
    if (st != MIEN_OK) {
        srv_reply_status(r, st, &err);
        return false;
    }
    if (!mien_role_allows(info.role, r->route->action)) {
        srv_reply_error(r, 403, "forbidden", "role %s may not %s", mien_role_name(info.role),
                        r->route->action);
        return false;
    }
    snprintf(r->actor, sizeof(r->actor), "%s", info.id);
    r->role = info.role;
    return true;
}

/* ---- the access handler ----------------------------------------------------------------------- */

const char *const srv_query_names[Q_COUNT] = {
    [Q_SMALL_FACES] = "small_faces", [Q_MIN_SCORE] = "min_score",
    [Q_PROFILE] = "profile",         [Q_FMR] = "fmr",
    [Q_TOP] = "top",                 [Q_FACE] = "face",
    [Q_FORCE] = "force",             [Q_DISPLAY_NAME] = "display_name",
    [Q_CROP] = "crop",               [Q_PURPOSE] = "purpose",
    [Q_CASE_REF] = "case_ref",       [Q_CONSENT_REF] = "consent_ref",
    [Q_EXPIRES_AT] = "expires_at",   [Q_FROM] = "from",
    [Q_TO] = "to",                   [Q_METHOD] = "method",
    [Q_AGGREGATE] = "aggregate",     [Q_STATUS] = "status",
    [Q_COLLECTION] = "collection",
};

static void copy_request_values(request *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    snprintf(r->content_type, sizeof(r->content_type), "%s", ct != NULL ? ct : "");
    for (int k = 0; k < Q_COUNT; k++) {
        const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                    srv_query_names[k]);
        r->has_query[k] = v != NULL;
        snprintf(r->query[k], sizeof(r->query[k]), "%s", v != NULL ? v : "");
    }
}

static void suspend_cb(void *arg)
{
    request *r = arg;
    r->state = REQ_QUEUED;
    MHD_suspend_connection(r->conn);
}

/* A random version-4 UUID (RFC 9562 §5.4) into out[37]: the request's id. */
static void random_request_id(char out[37])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* The first call's checks, on the headers alone: the route (404, 405) and the key. False
 * when the request is answered already. */
static bool check_headers(request *r, const char *method, const char *url)
{
    bool path_known;
    if (srv_rekognition_is_call(r->conn, method, url)) { /* AWS JSON 1.1 (docs/rekognition.md) */
        return srv_rekognition_begin(r);
    }
    r->route = find_route(method, url, r->params, &path_known, r->allow, sizeof(r->allow));
    if (r->route == NULL) {
        if (path_known) {
            srv_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                            method, url, r->allow);
            r->hdr_name[0] = "Allow";
            r->hdr_value[0] = r->allow; /* copied by MHD_add_response_header */
            return false;
        }
        srv_reply_error(r, 404, "not_found", "no route for %s", url);
        return false;
    }
    return r->route->action == NULL || authenticate(r);
}

/* Whether the request announces a body (Content-Length above 0, or chunked). */
static bool has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl != NULL && strtoull(cl, NULL, 10) > 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* The final call (the body is in, the headers were accepted): answers, or queues the job. */
static enum MHD_Result dispatch(request *r)
{
    if (r->rek != NULL) { /* a Rekognition call: the signature over the body, then the rest */
        if (!srv_rekognition_prepare(r)) {
            return send_reply(r);
        }
        if (!srv_pool_submit(r->srv->pool, &r->job, suspend_cb, r)) {
            srv_rekognition_reply_throttled(r);
            return send_reply(r);
        }
        return MHD_YES;
    }
    copy_request_values(r);
    if (r->route->run != NULL) {
        r->route->run(r);
        return send_reply(r);
    }
    if (!r->route->prepare(r)) {
        return send_reply(r);
    }
    r->job.fn = r->route->job;
    r->job.arg = r;
    if (!srv_pool_submit(r->srv->pool, &r->job, suspend_cb, r)) {
        srv_reply_error(r, 503, "overloaded", "the inference queue is full; retry in a second");
        return send_reply(r);
    }
    return MHD_YES;
}

/* The first call of a request: its state, then every check the headers allow. */
static enum MHD_Result begin_request(server *srv, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls)
{
    const char *cl;
    request *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return MHD_NO;
    }
    r->srv = srv;
    r->conn = conn;
    r->t0 = srv_now_s();
    r->resp_fd = -1;
    r->method = method_label(method);
    random_request_id(r->request_id);
    atomic_fetch_add(&srv->in_flight, 1);
    *con_cls = r;
    srv_guard_request_started(srv->guard, conn);
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && strtoull(cl, NULL, 10) > srv->cfg.max_body) {
        srv_reply_error(r, 413, "payload_too_large", "the body is larger than %zu bytes",
                        srv->cfg.max_body);
        r->state = REQ_READY;
        return send_reply(r); /* MHD closes the connection: the body is not read */
    }
    if (check_headers(r, method, url)) {
        return MHD_YES; /* read the body */
    }
    r->state = REQ_READY;
    /* Refused: with a body, answer now (MHD then closes the connection without reading it);
     * without one, on the final call, so that keep-alive holds. */
    return has_body(conn) ? send_reply(r) : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    server *srv = cls;
    request *r = *con_cls;
    (void)version;
    if (r == NULL) { /* first call: headers only */
        return begin_request(srv, conn, url, method, con_cls);
    }
    if (*upload_data_size > 0) { /* a piece of the body */
        size_t n = *upload_data_size;
        if (r->state != REQ_NEW) { /* answered already: discard */
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (srv_now_s() - r->t0 > (double)srv->cfg.timeout_s) {
            r->status = 408; /* for metrics; the connection is cut */
            return MHD_NO;
        }
        if (r->body_len + n > srv->cfg.max_body) {
            r->status = 413;
            return MHD_NO;
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 16384;
            while (cap < r->body_len + n) {
                cap *= 2;
            }
            if (cap > srv->cfg.max_body) {
                cap = srv->cfg.max_body;
            }
            uint8_t *p = realloc(r->body, cap);
            if (p == NULL) {
                return MHD_NO;
            }
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        srv_metrics_body_bytes(srv->metrics, n);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (r->state) {
    case REQ_NEW:
        return dispatch(r);
    case REQ_READY:
        return send_reply(r);
    case REQ_QUEUED:
    default:
        return MHD_YES; /* not reached: suspended connections get no calls */
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *srv = cls;
    request *r = *con_cls;
    if (r == NULL) {
        return;
    }
    srv_guard_request_ended(srv->guard, conn);
    int status = r->status;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && status == 0) {
        status = 408;
    } else if (status == 0) {
        status = 499; /* the client went away before an answer (nginx's convention) */
    }
    srv_metrics_request(srv->metrics, r->method, r->route != NULL ? r->route->pattern : "unmatched",
                        status, srv_now_s() - r->t0);
    if (r->resp_fd >= 0) {
        close(r->resp_fd);
    }
    free(r->resp);
    free(r->body);
    free(r->image_owned[0]);
    free(r->image_owned[1]);
    json_decref(r->json);
    srv_rekognition_call_free(r->rek);
    srv_group_call_free(r->group);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

/* Decodes %XX escapes in place like MHD's default, except %00, which stays as it is so that no
 * NUL byte can hide the rest of a path or value. Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    (void)cls;
    (void)conn;
    for (const char *p = s; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] != '\0' && p[2] != '\0') {
            char hex[3] = {p[1], p[2], '\0'};
            char *end = NULL;
            unsigned long v = strtoul(hex, &end, 16);
            if (end == hex + 2 && v != 0) {
                *w++ = (char)v;
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* ---- life cycle --------------------------------------------------------------------------------- */

/* Parses "HOST:PORT" / "[V6]:PORT" into *addr; *loopback tells whether it is a loopback
 * address. False (message printed) when it cannot be resolved. */
static bool parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                         bool *loopback, char *host_out, size_t host_cap, int *port_out)
{
    char host[256];
    const char *colon, *h = listen;
    size_t hlen;
    struct addrinfo hints = {0}, *res = NULL;
    int port, rc;
    char *end = NULL;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':') {
            fprintf(stderr, "mien serve: --listen wants HOST:PORT or [V6]:PORT, got '%s'\n",
                    listen);
            return false;
        }
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL) {
            fprintf(stderr, "mien serve: --listen wants HOST:PORT, got '%s'\n", listen);
            return false;
        }
        hlen = (size_t)(colon - listen);
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        fprintf(stderr, "mien serve: --listen: no host in '%s'\n", listen);
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    port = (int)strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "mien serve: --listen: bad port in '%s'\n", listen);
        return false;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "mien serve: --listen: cannot resolve '%s': %s\n", host,
                gai_strerror(rc));
        return false;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (addr->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        a->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
        a->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    snprintf(host_out, host_cap, "%s%s%s", addr->ss_family == AF_INET6 ? "[" : "", host,
             addr->ss_family == AF_INET6 ? "]" : "");
    *port_out = port;
    return true;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* --web, else web/ beside the executable's folder (build/mien → web/), else ./web, else the
 * installed page (`fallback`, share/mien/web). */
static void find_web_dir(const char *configured, const char *fallback, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n;
    out[0] = '\0';
    if (configured != NULL) {
        if (is_dir(configured)) {
            snprintf(out, cap, "%s", configured);
        } else {
            fprintf(stderr, "mien serve: --web %s is not a folder; the web page is off\n",
                    configured);
        }
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            char cand[PATH_MAX + 16];
            *slash = '\0';
            snprintf(cand, sizeof(cand), "%s/../web", exe);
            if (is_dir(cand) && realpath(cand, out) != NULL) {
                return;
            }
        }
    }
    if (is_dir("web") && realpath("web", out) != NULL) {
        return;
    }
    if (fallback != NULL && is_dir(fallback) && realpath(fallback, out) != NULL) {
        return;
    }
    out[0] = '\0';
}

/* Opens the store with its key file. Outside loopback the key file must be named (--key-file
 * or $MIEN_KEY_FILE) and exist: the templates are sealed with its keys, and a key file made
 * in passing would be the only copy. On loopback a missing one is created (mode 0600) with a
 * warning. False (message printed) when the store cannot be opened. */
static bool open_store(server *srv, bool loopback)
{
    mien_store_options so = {.key_file = srv->cfg.key_file,
                             .create_key = loopback,
                             .now = srv->cfg.now,
                             .audit_head = srv->cfg.audit_head};
    mien_error err;
    if (!loopback && so.key_file == NULL) {
        fprintf(stderr,
                "mien serve: refusing to listen on %s without a key file: templates are "
                "encrypted with the data key in it, so outside loopback name it with "
                "--key-file PATH (or $MIEN_KEY_FILE), and keep a copy; a `mien` command on "
                "this store (e.g. `MIEN_KEY_FILE=PATH mien keys create --role admin`) creates "
                "it\n",
                srv->cfg.listen);
        return false;
    }
    if (!loopback && so.now != 0) {
        /* A frozen clock stops expiry and back-dates the audit log: a test hook only. */
        fprintf(stderr, "mien serve: refusing to listen on %s with MIEN_NOW set (a test hook "
                        "that freezes the clock: nothing would expire)\n", srv->cfg.listen);
        return false;
    }
    if (mien_store_open_with(srv->cfg.store_uri, &so, &srv->store, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot open the store: %s\n", err.message);
        return false;
    }
    /* a store made before row tags gets them now, once (mien.h mien_store_upgrade) */
    if (mien_store_upgrade(srv->store, NULL, NULL, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot upgrade the store: %s\n", err.message);
        return false;
    }
    if (mien_store_key_created(srv->store)) {
        fprintf(stderr,
                "mien serve: warning: created the key file %s (mode 0600): it holds the keys "
                "that encrypt this store's templates and sign its audit log; back it up, "
                "without it every template is lost. A non-loopback address needs it named "
                "with --key-file\n",
                mien_store_key_file(srv->store));
    }
    return true;
}

static long online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* The configuration's unset fields get their defaults. */
static void config_defaults(server_config *c)
{
    if (c->listen == NULL) {
        c->listen = DEFAULT_LISTEN;
    }
    if (c->workers <= 0) {
        c->workers = (int)online_cpus();
    }
    if (c->queue <= 0) {
        c->queue = 4 * c->workers;
    }
    if (c->http_threads <= 0) {
        long n = online_cpus();
        c->http_threads = (int)(n < 2 ? 2 : n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX : n);
    }
    if (c->max_body == 0) {
        c->max_body = DEFAULT_MAX_BODY;
    }
    if (c->timeout_s <= 0) {
        c->timeout_s = DEFAULT_TIMEOUT_S;
    }
    if (c->header_timeout_s <= 0) {
        c->header_timeout_s = DEFAULT_HEADER_TIMEOUT_S;
    }
    if (c->max_client_connections == 0) {
        c->max_client_connections = DEFAULT_CLIENT_CONNECTIONS;
    }
}

/* Whether the service can be used: the store has a valid API key (the first admin key is
 * made with --bootstrap-admin), or it listens on loopback only (with a warning). False, with
 * a message on stderr, when it would listen elsewhere with no key. */
static bool keys_ready(server *srv, bool loopback)
{
    const server_config *c = &srv->cfg;
    int64_t keys = 0;
    mien_error err;
    if (mien_key_count_valid(srv->store, &keys, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot read the API keys: %s\n", err.message);
        return false;
    }
    if (keys == 0 && c->bootstrap_admin) {
        char key[MIEN_KEY_TEXT_MAX];
        if (mien_key_create(srv->store, MIEN_ROLE_ADMIN, "bootstrap", key, NULL, &err) !=
            MIEN_OK) {
            fprintf(stderr, "mien serve: cannot create the first admin key: %s\n", err.message);
            return false;
        }
        keys = 1;
        printf("first start: admin key %s\n", key);
        /* the same key's credentials for AWS SDKs (docs/rekognition.md), shown with it */
        char aws[MIEN_AWS_SECRET_MAX];
        mien_key_info info;
        if (mien_key_verify(srv->store, key, &info, &err) == MIEN_OK &&
            mien_key_aws_secret(srv->store, key, aws, &err) == MIEN_OK) {
            printf("  aws_access_key_id: %s\n  aws_secret_access_key: %s\n", info.id, aws);
        }
        printf("  (shown once: keep it; it is the only admin key of this store. Make others "
               "with `mien keys create --role ROLE`; `mien keys aws KEY` prints the AWS "
               "credentials again)\n");
    }
    if (keys == 0 && !loopback) {
        fprintf(stderr,
                "mien serve: refusing to listen on %s: the store has no valid API key, so "
                "nobody could use the service; create one first with "
                "`mien keys create --role admin`\n",
                c->listen);
        return false;
    }
    if (keys == 0) {
        printf("mien serve: the store has no API key yet: every /v1 call will get 401; create "
               "one with `mien keys create --role admin` (or start with --bootstrap-admin)\n");
    }
    return true;
}

/* Loads the models, starts the metrics and the inference pool. False, with a message on
 * stderr, on failure (what was started is freed by server_run). */
static bool start_inference(server *srv)
{
    mien_engine_options eo = mien_engine_options_default();
    mien_error err;
    eo.models_dir = srv->cfg.models_dir;
    eo.precision = srv->cfg.precision;
    eo.profile = srv->cfg.profile;
    eo.threads = 1; /* one thread per inference: the pool runs W of them at once */
    if (mien_engine_new(&eo, &srv->engine, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot load the models: %s (%s)\n", err.message,
                mien_strerror(err.code));
        return false;
    }
    srv->metrics = srv_metrics_new();
    if (srv->metrics == NULL) {
        fprintf(stderr, "mien serve: out of memory\n");
        return false;
    }
    srv->guard = srv_guard_new(srv->cfg.header_timeout_s, srv->metrics);
    if (srv->guard == NULL) {
        fprintf(stderr, "mien serve: cannot start the header-timeout guard\n");
        return false;
    }
    srv->pool = srv_pool_new(srv->engine, srv->cfg.workers, srv->cfg.queue, srv->metrics, &err);
    if (srv->pool == NULL) {
        fprintf(stderr, "mien serve: cannot start the inference pool: %s\n", err.message);
        return false;
    }
    return true;
}

/* Starts libmicrohttpd on addr; *port becomes the port bound (when 0 asked for any). False,
 * with a message on stderr, when it cannot listen. */
static bool start_daemon(server *srv, const struct sockaddr_storage *addr, int *port)
{
    const server_config *c = &srv->cfg;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME;
    if (addr->ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)*port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)c->http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)(c->max_client_connections > 0 ? c->max_client_connections : 0),
        MHD_OPTION_NOTIFY_CONNECTION, srv_guard_notify, srv->guard,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        fprintf(stderr, "mien serve: cannot listen on %s: %s\n", c->listen,
                errno ? strerror(errno) : "libmicrohttpd refused the settings");
        return false;
    }
    if (*port == 0) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon,
                                                             MHD_DAEMON_INFO_BIND_PORT);
        if (di != NULL) {
            *port = di->port;
        }
    }
    return true;
}

/* Waits for SIGTERM or SIGINT, then stops accepting connections and waits (at most
 * DRAIN_GRACE_S) for the requests in flight. */
static void wait_and_drain(server *srv, const sigset_t *sigs)
{
    int sig = 0;
    MHD_socket ls;
    double until;
    while (sigwait(sigs, &sig) != 0) {
    }
    printf("mien serve: %s: stopping (finishing requests in flight)\n",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    ls = MHD_quiesce_daemon(srv->daemon);
    until = srv_now_s() + DRAIN_GRACE_S;
    if (ls != MHD_INVALID_SOCKET) {
        close(ls);
    }
    while (atomic_load(&srv->in_flight) > 0 && srv_now_s() < until) {
        usleep(10000);
    }
}

int server_run(const server_config *config)
{
    server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    bool loopback = false;
    char host[300];
    int port = 0, rc = 1;
    sigset_t sigs, old;
    if (srv == NULL) {
        fprintf(stderr, "mien serve: out of memory\n");
        return 1;
    }
    srv->cfg = *config;
    server_config *c = &srv->cfg;
    config_defaults(c);
    pthread_mutex_init(&srv->store_lock, NULL);
    atomic_init(&srv->in_flight, 0);
    /* Every thread started from here on inherits the blocked signals; the main thread takes
     * them with sigwait. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);

    if (!parse_listen(c->listen, &addr, &addr_len, &loopback, host, sizeof(host), &port) ||
        !open_store(srv, loopback) || !keys_ready(srv, loopback) ||
        !srv_governance_start(srv) || !start_inference(srv)) {
        goto done;
    }
    find_web_dir(c->web_dir, c->web_fallback, srv->web_dir, sizeof(srv->web_dir));
    if (!start_daemon(srv, &addr, &port)) {
        goto done;
    }
    printf("mien serve: listening on http://%s:%d/ (%d inference workers, queue %d, %d HTTP "
           "threads, web %s)\n",
           host, port, c->workers, c->queue, c->http_threads,
           srv->web_dir[0] ? srv->web_dir : "off");
    fflush(stdout);
    wait_and_drain(srv, &sigs);
    rc = 0;
done:
    srv_governance_stop(srv);
    srv_pool_free(srv->pool); /* runs what is still queued; then nothing is suspended */
    if (srv->daemon != NULL) {
        MHD_stop_daemon(srv->daemon);
    }
    srv_guard_free(srv->guard); /* after the daemon: no connection is left to notify it */
    srv_metrics_free(srv->metrics);
    mien_engine_free(srv->engine);
    mien_store_close(srv->store);
    pthread_mutex_destroy(&srv->store_lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        printf("mien serve: stopped\n");
    }
    free(srv);
    return rc;
}
