/* api.c — the routes of `mien serve` (openapi.yaml): what each one reads, what it answers.
 * Handlers that need no inference answer in the HTTP thread (store calls under the store
 * mutex are short); detect, compare, enrol and search are checked in the HTTP thread
 * (`prepare`: parameters, body, collection) and then run as a job on an inference worker
 * with that worker's session (`job`), which ends by resuming the suspended connection. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "internal.h"

/* Decoding keeps at least this many pixels on the short side of a JPEG (the CLI's
 * CLI_DECODE_MIN_SIDE): detection runs at 320×240, and found faces keep enough pixels. */
#define DECODE_MIN_SIDE 1200
#define CHIP_BYTES (112 * 112 * 3) /* mien_face_chip */
#define DEFAULT_SEARCH_FMR 1e-3    /* mien_search_options_default() */
#define DEFAULT_COMPARE_FMR 1e-4   /* the CLI's compare default */
/* Reals in JSON answers: 7 significant digits are more than the models resolve. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- replies ------------------------------------------------------------------------ */

void reply_json(request *r, int status, json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_FLAGS) : NULL;
    json_decref(obj);
    free(r->resp);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        r->resp = strdup(oom);
        r->resp_len = r->resp != NULL ? strlen(oom) : 0;
        r->status = 500;
    } else {
        r->resp = text;
        r->resp_len = strlen(text);
        r->status = status;
    }
    r->resp_type = "application/json";
}

void reply_error(request *r, int status, const char *code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    if (status == 503) {
        r->hdr_name[0] = "Retry-After";
        r->hdr_value[0] = "1";
    } else if (status == 401) {
        r->hdr_name[0] = "WWW-Authenticate";
        r->hdr_value[0] = "Bearer realm=\"mien\"";
    }
}

void reply_status(request *r, mien_status st, const mien_error *err)
{
    const char *msg = err != NULL && err->message[0] ? err->message : mien_strerror(st);
    switch (st) {
    case MIEN_ERR_NOT_FOUND:
        reply_error(r, 404, "not_found", "%s", msg);
        break;
    case MIEN_ERR_EXISTS:
        reply_error(r, 409, "conflict", "%s", msg);
        break;
    case MIEN_ERR_ARG:
        reply_error(r, 400, "bad_request", "%s", msg);
        break;
    case MIEN_ERR_IMAGE:
        reply_error(r, 422, "bad_image", "%s", msg);
        break;
    default:
        fprintf(stderr, "mien serve: %s %s: %s (%s)\n", r->method,
                r->route != NULL ? r->route->pattern : "?", msg, mien_strerror(st));
        reply_error(r, 500, "internal", "%s (%s)", msg, mien_strerror(st));
        break;
    }
}

/* ---- JSON shapes -------------------------------------------------------------------- */

/* Rounds to one decimal (pixels, degrees), as the CLI prints them. */
static json_t *real1(double v)
{
    return json_real(round(v * 10.0) / 10.0);
}

static json_t *real4(double v)
{
    return json_real(round(v * 1e4) / 1e4);
}

/* FACE (src/cli/faces.c cli_face_json). */
static json_t *face_json(const mien_face *f)
{
    static const char *const classes[] = {"low", "medium", "high"};
    const mien_quality *q = &f->quality;
    json_t *lm = json_array();
    for (int j = 0; j < 5; j++) {
        json_array_append_new(lm, json_pack("[oo]", real1(f->landmarks[j][0]),
                                            real1(f->landmarks[j][1])));
    }
    return json_pack("{s:[oooo],s:o,s:o,s:{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}}", "box",
                     real1(f->box[0]), real1(f->box[1]), real1(f->box[2]), real1(f->box[3]),
                     "score", real4(f->score), "landmarks", lm, "quality", "class",
                     classes[q->klass <= MIEN_QUALITY_HIGH ? q->klass : 0], "interocular_px",
                     real1(q->interocular_px), "sharpness", real1(q->sharpness), "yaw",
                     real1(q->yaw), "pitch", real1(q->pitch), "roll", real1(q->roll),
                     "detector_score", real4(q->detector_score), "landmark_score",
                     real4(q->landmark_score));
}

static const char *profile_name(mien_profile p)
{
    return p == MIEN_PROFILE_ACCURATE ? "accurate" : "fast";
}

static bool parse_profile(const char *s, mien_profile *out)
{
    if (strcmp(s, "fast") == 0) {
        *out = MIEN_PROFILE_FAST;
    } else if (strcmp(s, "accurate") == 0) {
        *out = MIEN_PROFILE_ACCURATE;
    } else {
        return false;
    }
    return true;
}

static json_t *time_json(int64_t unix_s)
{
    char out[32];
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, sizeof(out), "%lld", (long long)unix_s);
    }
    return json_string(out);
}

/* COLLECTION. */
static json_t *collection_json(const mien_collection_info *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:I}", "name", c->name, "profile",
                     profile_name(c->profile), "model_a", c->model_a, "model_b", c->model_b,
                     "description", c->description, "created_at", time_json(c->created_at),
                     "subjects", (json_int_t)c->subjects, "faces", (json_int_t)c->faces);
}

/* ---- parameters --------------------------------------------------------------------- */

static const char *query(const request *r, query_key k)
{
    return r->has_query[k] ? r->query[k] : NULL;
}

/* A boolean flag: absent → false; "1", "true", "yes", "" → true; "0", "false", "no" → false;
 * anything else → *bad. */
static bool query_flag(const request *r, query_key k, bool *bad)
{
    const char *v = query(r, k);
    if (v == NULL) {
        return false;
    }
    if (*v == '\0' || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
        strcasecmp(v, "yes") == 0) {
        return true;
    }
    if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) {
        return false;
    }
    *bad = true;
    return false;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v;
    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !(v >= lo && v <= hi)) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end = NULL;
    long v;
    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* Whether the Content-Type `ct` is `type` (case-insensitive, parameters ignored). */
static bool media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses a JSON body into r->json (once); replies 400/415 and returns false otherwise. */
static bool body_json(request *r)
{
    json_error_t jerr;
    if (r->json != NULL) {
        return true;
    }
    if (!media_is(r->content_type, "application/json")) {
        reply_error(r, 415, "unsupported_media_type",
                    "send JSON with Content-Type: application/json (got '%s')",
                    r->content_type[0] ? r->content_type : "none");
        return false;
    }
    r->json = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->json == NULL) {
        reply_error(r, 400, "bad_request", "malformed JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
        return false;
    }
    if (!json_is_object(r->json)) {
        reply_error(r, 400, "bad_request", "the JSON body must be an object");
        return false;
    }
    return true;
}

/* Finds the images `names` (n of them: {"image"} or {"a","b"}) in the body: raw bytes,
 * multipart fields or base64 JSON members. Replies 400/415 and returns false when absent. */
static bool body_images(request *r, const char *const *names, int n)
{
    const char *ct = r->content_type;
    if (r->body_len == 0 && ct[0] == '\0') {
        reply_error(r, 400, "bad_request", "no image in the request body");
        return false;
    }
    if (strncasecmp(ct, "image/", 6) == 0 || media_is(ct, "application/octet-stream")) {
        if (n != 1) {
            reply_error(r, 415, "unsupported_media_type",
                        "two images are needed: send multipart/form-data fields a and b, or "
                        "JSON {\"a\":\"<base64>\",\"b\":\"<base64>\"}");
            return false;
        }
        if (r->body_len == 0) {
            reply_error(r, 400, "bad_request", "the request body is empty");
            return false;
        }
        r->image[0] = r->body;
        r->image_len[0] = r->body_len;
        return true;
    }
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        char boundary[80];
        if (!multipart_boundary(ct, boundary, sizeof(boundary))) {
            reply_error(r, 400, "bad_request", "multipart/form-data without a usable boundary");
            return false;
        }
        for (int k = 0; k < n; k++) {
            if (!multipart_field(r->body, r->body_len, boundary, names[k], &r->image[k],
                                 &r->image_len[k]) ||
                r->image_len[k] == 0) {
                reply_error(r, 400, "bad_request", "no (non-empty) multipart field '%s'",
                            names[k]);
                return false;
            }
        }
        return true;
    }
    if (media_is(ct, "application/json")) {
        if (!body_json(r)) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            json_t *v = json_object_get(r->json, names[k]);
            if (!json_is_string(v)) {
                reply_error(r, 400, "bad_request", "JSON member '%s' (a base64 string) is missing",
                            names[k]);
                return false;
            }
            if (!base64_decode(json_string_value(v), json_string_length(v), &r->image_owned[k],
                               &r->image_len[k]) ||
                r->image_len[k] == 0) {
                reply_error(r, 400, "bad_request", "JSON member '%s' is not valid base64",
                            names[k]);
                return false;
            }
            r->image[k] = r->image_owned[k];
        }
        return true;
    }
    reply_error(r, 415, "unsupported_media_type",
                "send an image as image/*, application/octet-stream, multipart/form-data or "
                "JSON with base64 (got '%s')",
                ct[0] ? ct : "no Content-Type");
    return false;
}

/* ---- the end of a job ------------------------------------------------------------------- */

/* Marks the response ready and wakes the connection; r may be freed as soon as this runs. */
static void job_done(request *r)
{
    r->state = REQ_READY;
    MHD_resume_connection(r->conn);
}

/* Decodes image k (timed as "decode"); replies 422 bad_image and returns NULL on failure. */
static mien_image *decode_image(request *r, int k, const char *which)
{
    mien_image_options io = mien_image_options_default();
    mien_image *img = NULL;
    mien_error err;
    double t = now_s();
    mien_status st;
    io.min_side = DECODE_MIN_SIDE;
    io.max_bytes = r->srv->cfg.max_body;
    st = mien_image_decode(r->image[k], r->image_len[k], &io, &img, &err);
    metrics_inference(r->srv->metrics, "decode", now_s() - t);
    if (st != MIEN_OK) {
        if (st == MIEN_ERR_IMAGE) {
            reply_error(r, 422, "bad_image", "%s%s%s", which, which[0] ? ": " : "",
                        err.message);
        } else {
            reply_status(r, st, &err);
        }
        return NULL;
    }
    return img;
}

static mien_status detect_timed(request *r, mien_session *s, mien_image *img,
                                const mien_detect_options *o, mien_face **faces, size_t *n,
                                mien_error *err)
{
    double t = now_s();
    mien_status st = mien_detect(s, img, o, faces, n, err);
    metrics_inference(r->srv->metrics, "detect", now_s() - t);
    return st;
}

static mien_status embed_timed(request *r, mien_session *s, mien_image *img,
                               const mien_face *face, mien_profile p, mien_template **t,
                               mien_error *err)
{
    double t0 = now_s();
    mien_status st = mien_embed(s, img, face, p, t, err);
    metrics_inference(r->srv->metrics, "embed", now_s() - t0);
    return st;
}

/* ---- service routes ------------------------------------------------------------------------ */

static void h_healthz(request *r)
{
    reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_readyz(request *r)
{
    bool models = r->srv->engine != NULL, store = r->srv->store != NULL;
    bool ready = models && store && r->srv->pool != NULL;
    reply_json(r, ready ? 200 : 503,
               json_pack("{s:s,s:b,s:b}", "status", ready ? "ready" : "not ready", "models",
                         models, "store", store));
}

static void h_metrics(request *r)
{
    server *srv = r->srv;
    mien_collection_info *cs = NULL;
    size_t n = 0;
    mien_error err;
    pthread_mutex_lock(&srv->store_lock);
    if (mien_collection_list(srv->store, &cs, &n, &err) == MIEN_OK) {
        metrics_collections_reset(srv->metrics);
        for (size_t i = 0; i < n; i++) {
            metrics_collection_faces(srv->metrics, cs[i].name, cs[i].faces);
        }
    }
    pthread_mutex_unlock(&srv->store_lock);
    mien_free(cs);
    free(r->resp);
    r->resp = metrics_render(srv->metrics, &r->resp_len);
    if (r->resp == NULL) {
        reply_error(r, 500, "internal", "out of memory");
        return;
    }
    r->status = 200;
    r->resp_type = "text/plain; version=0.0.4";
}

/* Content-Type by file extension. */
static const char *mime_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".jpg", "image/jpeg"},                {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},               {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"}, {".woff2", "font/woff2"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot, types[i].ext) == 0) {
                return types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

/* Serves web_dir/name: a plain file name, no "..", no absolute path, no control bytes. */
static void serve_file(request *r, const char *name)
{
    char path[PATH_MAX + REQUEST_PARAM_MAX];
    struct stat sb;
    int fd;
    if (r->srv->web_dir[0] == '\0' || name[0] == '\0' || name[0] == '/' ||
        strstr(name, "..") != NULL || strchr(name, '\\') != NULL) {
        reply_error(r, 404, "not_found", "no such file");
        return;
    }
    for (const char *c = name; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '%') { /* %: an undecoded %00 (http.c) */
            reply_error(r, 404, "not_found", "no such file");
            return;
        }
    }
    snprintf(path, sizeof(path), "%s/%s", r->srv->web_dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        reply_error(r, 404, "not_found", "no such file");
        return;
    }
    r->resp_fd = fd;
    r->resp_fd_size = (uint64_t)sb.st_size;
    r->resp_type = mime_type(name);
    r->status = 200;
}

static void h_index(request *r)
{
    serve_file(r, "index.html");
}

static void h_static(request *r)
{
    serve_file(r, r->params[0]);
}

/* ---- collections ---------------------------------------------------------------------------- */

static void h_collections_list(request *r)
{
    mien_collection_info *cs = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_list(r->srv->store, &cs, &n, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, collection_json(&cs[i]));
    }
    mien_free(cs);
    reply_json(r, 200, json_pack("{s:o}", "collections", arr));
}

static void h_collections_create(request *r)
{
    json_t *name, *prof, *desc;
    mien_profile profile = MIEN_PROFILE_FAST;
    mien_collection_info info;
    mien_error err;
    mien_status st;
    if (!body_json(r)) {
        return;
    }
    name = json_object_get(r->json, "name");
    prof = json_object_get(r->json, "profile");
    desc = json_object_get(r->json, "description");
    if (!json_is_string(name)) {
        reply_error(r, 400, "bad_request", "\"name\" (a string) is required");
        return;
    }
    if (prof != NULL && !json_is_null(prof) &&
        (!json_is_string(prof) || !parse_profile(json_string_value(prof), &profile))) {
        reply_error(r, 400, "bad_request", "\"profile\" is \"fast\" or \"accurate\"");
        return;
    }
    if (desc != NULL && !json_is_null(desc) && !json_is_string(desc)) {
        reply_error(r, 400, "bad_request", "\"description\" must be a string");
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_create(r->srv->store, json_string_value(name), profile, r->srv->engine,
                                json_is_string(desc) ? json_string_value(desc) : NULL, &err);
    if (st == MIEN_OK) {
        st = mien_collection_get(r->srv->store, json_string_value(name), &info, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    reply_json(r, 201, collection_json(&info));
}

static void h_collection_get(request *r)
{
    mien_collection_info info;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_get(r->srv->store, r->params[0], &info, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    reply_json(r, 200, collection_json(&info));
}

static void h_collection_drop(request *r)
{
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_drop(r->srv->store, r->params[0], &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:s}", "dropped", r->params[0]));
}

static void h_subjects(request *r)
{
    mien_subject_info *ss = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_subject_list(r->srv->store, r->params[0], &ss, &n, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:o}", "subject", ss[i].subject,
                                             "display_name", ss[i].display_name, "faces",
                                             (json_int_t)ss[i].faces, "created_at",
                                             time_json(ss[i].created_at)));
    }
    mien_free(ss);
    reply_json(r, 200, json_pack("{s:o}", "subjects", arr));
}

static void h_erase(request *r)
{
    mien_erasure e;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_erase_subject(r->srv->store, r->params[0], r->params[1], &e, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:s,s:I,s:I}", "subject", r->params[1], "faces_deleted",
                                 (json_int_t)e.faces_deleted, "crops_deleted",
                                 (json_int_t)e.crops_deleted));
}

/* ---- detect ----------------------------------------------------------------------------------- */

static const char *const ONE_IMAGE[] = {"image"};
static const char *const TWO_IMAGES[] = {"a", "b"};

static bool p_detect(request *r)
{
    bool bad = false;
    double min_score = 0;
    query_flag(r, Q_SMALL_FACES, &bad);
    if (bad) {
        reply_error(r, 400, "bad_request", "small_faces is 0 or 1");
        return false;
    }
    if (query(r, Q_MIN_SCORE) != NULL && !parse_double(query(r, Q_MIN_SCORE), 0.01, 1.0,
                                                       &min_score)) {
        reply_error(r, 400, "bad_request", "min_score wants a number in 0.01..1");
        return false;
    }
    return body_images(r, ONE_IMAGE, 1);
}

static void j_detect(mien_session *s, void *arg)
{
    request *r = arg;
    mien_detect_options o = mien_detect_options_default();
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    bool bad = false;
    double min_score = 0;
    mien_image *img = decode_image(r, 0, "");
    if (img == NULL) {
        goto done;
    }
    o.small_faces = query_flag(r, Q_SMALL_FACES, &bad);
    if (parse_double(query(r, Q_MIN_SCORE), 0.01, 1.0, &min_score)) {
        o.min_score = (float)min_score;
    }
    st = detect_timed(r, s, img, &o, &faces, &n, &err);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, face_json(&faces[i]));
    }
    reply_json(r, 200, json_pack("{s:i,s:i,s:o}", "width", mien_image_original_width(img),
                                 "height", mien_image_original_height(img), "faces", arr));
done:
    mien_faces_free(faces);
    mien_image_free(img);
    job_done(r);
}

/* ---- compare ---------------------------------------------------------------------------------- */

/* The compare options: query first, then JSON members. False (replied 400) when invalid. */
static bool compare_options(request *r, mien_profile *profile, double *fmr)
{
    const char *p = query(r, Q_PROFILE), *f = query(r, Q_FMR);
    char fbuf[64];
    *profile = MIEN_PROFILE_FAST;
    *fmr = DEFAULT_COMPARE_FMR;
    if (r->json != NULL) {
        json_t *jp = json_object_get(r->json, "profile"), *jf = json_object_get(r->json, "fmr");
        if (p == NULL && json_is_string(jp)) {
            p = json_string_value(jp);
        }
        if (f == NULL && json_is_number(jf)) {
            snprintf(fbuf, sizeof(fbuf), "%.17g", json_number_value(jf));
            f = fbuf;
        }
    }
    if (p != NULL && !parse_profile(p, profile)) {
        reply_error(r, 400, "bad_request", "profile is fast or accurate");
        return false;
    }
    if (f != NULL && !parse_double(f, 1e-6, 1.0, fmr)) {
        reply_error(r, 400, "bad_request", "fmr wants a rate in 1e-6..1");
        return false;
    }
    return true;
}

static bool p_compare(request *r)
{
    mien_profile p;
    double f;
    return body_images(r, TWO_IMAGES, 2) && compare_options(r, &p, &f);
}

/* Decodes image k, finds its most prominent face and embeds it. Replies (422 no_face, ...)
 * and returns false on failure. */
static bool template_of(request *r, mien_session *s, int k, const char *which, mien_profile p,
                        mien_template **t, mien_face *face)
{
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    int pick;
    bool ok = false;
    mien_image *img = decode_image(r, k, which);
    if (img == NULL) {
        return false;
    }
    st = detect_timed(r, s, img, NULL, &faces, &n, &err);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    if (n == 0) {
        reply_error(r, 422, "no_face", "%s%sno face found", which, which[0] ? ": " : "");
        goto done;
    }
    pick = mien_faces_prominent(faces, n, img);
    *face = faces[pick];
    st = embed_timed(r, s, img, &faces[pick], p, t, &err);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    ok = true;
done:
    mien_faces_free(faces);
    mien_image_free(img);
    return ok;
}

static void j_compare(mien_session *s, void *arg)
{
    request *r = arg;
    mien_profile profile;
    double fmr_target, fmr = 1.0;
    mien_template *t[2] = {NULL, NULL};
    mien_face face[2];
    float sim = 0, threshold = 0;
    mien_error err;
    compare_options(r, &profile, &fmr_target); /* checked in p_compare */
    if (!template_of(r, s, 0, "image a", profile, &t[0], &face[0]) ||
        !template_of(r, s, 1, "image b", profile, &t[1], &face[1])) {
        goto done;
    }
    mien_status st = mien_template_compare(t[0], t[1], &sim, &err);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    if (mien_similarity_fmr(profile, sim, &fmr) != MIEN_OK ||
        mien_threshold_for_fmr(profile, fmr_target, &threshold) != MIEN_OK) {
        reply_error(r, 500, "internal", "profile %s is not calibrated", profile_name(profile));
        goto done;
    }
    reply_json(r, 200,
               json_pack("{s:o,s:f,s:o,s:f,s:b,s:s,s:o,s:o}", "similarity",
                         json_real(round(sim * 1e6) / 1e6), "fmr", fmr, "threshold",
                         json_real(round(threshold * 1e6) / 1e6), "at_fmr", fmr_target,
                         "same_person", sim >= threshold, "profile", profile_name(profile),
                         "face_a", face_json(&face[0]), "face_b", face_json(&face[1])));
done:
    mien_template_free(t[0]);
    mien_template_free(t[1]);
    job_done(r);
}

/* ---- enrol and search ------------------------------------------------------------------------- */

/* Looks the collection {c} up (its profile into r->profile); replies 404 when absent. */
static bool collection_profile(request *r)
{
    mien_collection_info info;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_get(r->srv->store, r->params[0], &info, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        return false;
    }
    r->profile = info.profile;
    return true;
}

static bool p_enrol(request *r)
{
    bool bad = false;
    int face = 0;
    query_flag(r, Q_FORCE, &bad);
    query_flag(r, Q_CROP, &bad);
    if (bad) {
        reply_error(r, 400, "bad_request", "force and crop are 0 or 1");
        return false;
    }
    if (query(r, Q_FACE) != NULL && !parse_int(query(r, Q_FACE), 0, 100000, &face)) {
        reply_error(r, 400, "bad_request", "face wants a face number (0, 1, ...)");
        return false;
    }
    if (query(r, Q_DISPLAY_NAME) != NULL && strlen(query(r, Q_DISPLAY_NAME)) > 127) {
        reply_error(r, 400, "bad_request", "display_name is at most 127 bytes");
        return false;
    }
    return body_images(r, ONE_IMAGE, 1) && collection_profile(r);
}

static void j_enrol(mien_session *s, void *arg)
{
    static const char *const klass[] = {"low", "medium", "high"};
    request *r = arg;
    mien_face *faces = NULL;
    size_t n = 0;
    mien_template *t = NULL;
    uint8_t *crop = NULL, sha[32];
    mien_error err;
    mien_status st;
    bool bad = false, force = query_flag(r, Q_FORCE, &bad), crops = query_flag(r, Q_CROP, &bad);
    int face_index = -1, pick;
    int64_t face_id = 0;
    mien_image *img = decode_image(r, 0, "");
    if (img == NULL) {
        goto done;
    }
    if (query(r, Q_FACE) != NULL) {
        parse_int(query(r, Q_FACE), 0, 100000, &face_index);
    }
    st = detect_timed(r, s, img, NULL, &faces, &n, &err);
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    /* The choice is strict (cmd_enroll.c): every later search trusts an enrolment. */
    if (n == 0) {
        reply_error(r, 422, "no_face", "no face found");
        goto done;
    }
    if (face_index >= 0 && (size_t)face_index >= n) {
        reply_error(r, 422, "no_face", "no face %d (found %zu)", face_index, n);
        goto done;
    }
    if (n > 1 && face_index < 0 && !force) {
        reply_error(r, 422, "several_faces",
                    "%zu faces: say which with face=N, or force=1 for the most prominent", n);
        goto done;
    }
    pick = face_index >= 0 ? face_index : mien_faces_prominent(faces, n, img);
    if (faces[pick].quality.klass == MIEN_QUALITY_LOW && !force) {
        const mien_quality *q = &faces[pick].quality;
        reply_error(r, 422, "low_quality",
                    "low quality (interocular %.0f px, sharpness %.0f, yaw %.0f, pitch %.0f); "
                    "force=1 to enrol anyway",
                    q->interocular_px, q->sharpness, q->yaw, q->pitch);
        goto done;
    }
    st = embed_timed(r, s, img, &faces[pick], r->profile, &t, &err);
    if (st == MIEN_OK && crops) {
        crop = malloc(CHIP_BYTES);
        st = crop == NULL ? MIEN_ERR_NOMEM : mien_face_chip(img, &faces[pick], crop, &err);
    }
    if (st == MIEN_OK) {
        st = mien_sha256(r->image[0], r->image_len[0], sha);
    }
    if (st != MIEN_OK) {
        if (st == MIEN_ERR_NOMEM) {
            snprintf(err.message, sizeof(err.message), "out of memory");
        }
        reply_status(r, st, &err);
        goto done;
    }
    {
        mien_enrollment e = {.subject = r->params[1],
                             .display_name = query(r, Q_DISPLAY_NAME),
                             .template_ = t,
                             .quality = &faces[pick].quality,
                             .image_sha256 = sha,
                             .crop_rgb = crop};
        double t0 = now_s();
        pthread_mutex_lock(&r->srv->store_lock);
        st = mien_enroll(r->srv->store, r->params[0], &e, &face_id, &err);
        pthread_mutex_unlock(&r->srv->store_lock);
        metrics_inference(r->srv->metrics, "store", now_s() - t0);
    }
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    (void)klass;
    reply_json(r, 201, json_pack("{s:s,s:I,s:o}", "subject", r->params[1], "face_id",
                                 (json_int_t)face_id, "face", face_json(&faces[pick])));
done:
    free(crop);
    mien_template_free(t);
    mien_faces_free(faces);
    mien_image_free(img);
    job_done(r);
}

static bool p_search(request *r)
{
    int top = 10;
    double fmr = DEFAULT_SEARCH_FMR;
    if (query(r, Q_TOP) != NULL && !parse_int(query(r, Q_TOP), 1, 10000, &top)) {
        reply_error(r, 400, "bad_request", "top wants 1..10000");
        return false;
    }
    if (query(r, Q_FMR) != NULL && !parse_double(query(r, Q_FMR), 1e-6, 1.0, &fmr)) {
        reply_error(r, 400, "bad_request", "fmr wants a rate in 1e-6..1");
        return false;
    }
    return body_images(r, ONE_IMAGE, 1) && collection_profile(r);
}

static void j_search(mien_session *s, void *arg)
{
    request *r = arg;
    mien_search_options so = mien_search_options_default();
    mien_template *t = NULL;
    mien_candidate *c = NULL;
    mien_face face;
    size_t n = 0;
    mien_error err;
    mien_status st;
    int top = 10;
    so.max_fmr = DEFAULT_SEARCH_FMR;
    if (query(r, Q_TOP) != NULL) {
        parse_int(query(r, Q_TOP), 1, 10000, &top);
    }
    so.top_k = top;
    if (query(r, Q_FMR) != NULL) {
        parse_double(query(r, Q_FMR), 1e-6, 1.0, &so.max_fmr);
    }
    if (!template_of(r, s, 0, "", r->profile, &t, &face)) {
        goto done;
    }
    {
        double t0 = now_s();
        pthread_mutex_lock(&r->srv->store_lock);
        st = mien_search(r->srv->store, r->params[0], t, &so, &c, &n, &err);
        pthread_mutex_unlock(&r->srv->store_lock);
        metrics_inference(r->srv->metrics, "search", now_s() - t0);
    }
    if (st != MIEN_OK) {
        reply_status(r, st, &err);
        goto done;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        json_array_append_new(arr, json_pack("{s:I,s:s,s:o,s:f,s:I}", "rank", (json_int_t)(k + 1),
                                             "subject", c[k].subject, "similarity",
                                             json_real(round(c[k].similarity * 1e6) / 1e6),
                                             "fmr", c[k].fmr, "face_id",
                                             (json_int_t)c[k].face_id));
    }
    reply_json(r, 200, json_pack("{s:o,s:o}", "face", face_json(&face), "candidates", arr));
done:
    mien_free(c);
    mien_template_free(t);
    job_done(r);
}

/* ---- the table ---------------------------------------------------------------------------------- */

/* In openapi.yaml's order; --print-routes prints it. */
const route server_route_table[] = {
    {"GET", "/", NULL, h_index, NULL, NULL},
    {"GET", "/static/{file}", NULL, h_static, NULL, NULL},
    {"GET", "/healthz", NULL, h_healthz, NULL, NULL},
    {"GET", "/readyz", NULL, h_readyz, NULL, NULL},
    {"GET", "/metrics", NULL, h_metrics, NULL, NULL},
    {"POST", "/v1/detect", "detect", NULL, p_detect, j_detect},
    {"POST", "/v1/compare", "compare", NULL, p_compare, j_compare},
    {"GET", "/v1/collections", "collections.read", h_collections_list, NULL, NULL},
    {"POST", "/v1/collections", "collections.write", h_collections_create, NULL, NULL},
    {"GET", "/v1/collections/{c}", "collections.read", h_collection_get, NULL, NULL},
    {"DELETE", "/v1/collections/{c}", "collections.write", h_collection_drop, NULL, NULL},
    {"POST", "/v1/collections/{c}/subjects/{s}/faces", "enrol", NULL, p_enrol, j_enrol},
    {"GET", "/v1/collections/{c}/subjects", "subjects.read", h_subjects, NULL, NULL},
    {"DELETE", "/v1/collections/{c}/subjects/{s}", "erase", h_erase, NULL, NULL},
    {"POST", "/v1/collections/{c}/search", "search", NULL, p_search, j_search},
};
const size_t server_route_count = sizeof(server_route_table) / sizeof(server_route_table[0]);
