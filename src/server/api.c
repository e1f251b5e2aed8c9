/* api.c — the routes of `mien serve` (openapi.yaml): what each one reads, what it answers.
 * Handlers that need no inference answer in the HTTP thread (store calls under the store
 * mutex are short); detect, compare, enrol, search and verify are checked in the HTTP thread
 * (`prepare`: parameters, body, collection, purpose) and then run as a job on an inference
 * worker with that worker's session (`job`), which ends by resuming the suspended connection.
 *
 * Accountability (docs/responsible-use.md, issue "Accountability by design"): every call
 * that touches personal data passes the library a mien_context whose actor is the API key's
 * id; search and verify declare a purpose the collection allows (checked with
 * mien_check_purpose before any inference is spent, refusals audited by the library);
 * compare, which has no collection, checks its purpose against the server's list and is
 * audited here with mien_audit_append; expired subjects are purged periodically. */
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
#include "service.h"

#define DEFAULT_COMPARE_FMR 1e-4   /* the CLI's compare default */
#define DEFAULT_VERIFY_FMR 1e-4    /* mien_verify's default (max_fmr 0) */
/* Compare's purposes when --compare-purposes is not given: a 1:1 check that two photos show
 * the same person, the use compare exists for (docs/responsible-use.md). */
#define DEFAULT_COMPARE_PURPOSES "identity_verification"
/* Grouping photos' purposes when --group-purposes is not given: sorting one's own photos by
 * person, what photo managers group faces for (docs/grouping.md). */
#define DEFAULT_GROUP_PURPOSES "photo_organisation"
/* Expired subjects are purged at start and then hourly: retention is counted in days, so an
 * hour late is well inside any retention period, and an empty purge is one indexed query. */
#define DEFAULT_PURGE_INTERVAL_S 3600
#define PURPOSE_MAX 63             /* bytes of one purpose ([a-z0-9_.-]), as collections' */
#define CASE_REF_MAX 127           /* bytes of a case reference (the audit log's field) */
#define DURATION_MAX_S (100LL * 365 * 86400) /* retention at most 100 years (the library's) */
/* Reals in JSON answers: 7 significant digits are more than the models resolve. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

/* ---- replies ------------------------------------------------------------------------ */

void srv_reply_serialised(request *r, int status, json_t *obj, const char *type,
                          const char *oom_body)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_FLAGS) : NULL;
    json_decref(obj);
    free(r->resp);
    if (text == NULL) {
        r->resp = strdup(oom_body);
        r->resp_len = r->resp != NULL ? strlen(oom_body) : 0;
        r->status = 500;
    } else {
        r->resp = text;
        r->resp_len = strlen(text);
        r->status = status;
    }
    r->resp_type = type;
}

void srv_reply_json(request *r, int status, json_t *obj)
{
    srv_reply_serialised(r, status, obj, "application/json",
                         "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
}

void srv_reply_error(request *r, int status, const char *code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status >= 500 && status != 503) {
        srv_log_failure(r, status, code, msg);
        snprintf(msg, sizeof(msg), SRV_FAILED_MESSAGE, r->request_id);
    }
    srv_reply_json(r, status, json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message",
                                        msg, "request_id", r->request_id));
    if (status == 503) {
        r->hdr_name[0] = "Retry-After";
        r->hdr_value[0] = "1";
    } else if (status == 401) {
        r->hdr_name[0] = "WWW-Authenticate";
        r->hdr_value[0] = "Bearer realm=\"mien\"";
    }
}

void srv_log_failure(const request *r, int status, const char *code, const char *detail)
{
    fprintf(stderr, "mien serve: request %s: %s %s: %d %s: %s\n", r->request_id, r->method,
            r->route != NULL ? r->route->pattern : "?", status, code, detail);
}

void srv_reply_status(request *r, mien_status st, const mien_error *err)
{
    const char *msg = err != NULL && err->message[0] ? err->message : mien_strerror(st);
    const char *code = NULL;
    int status = mien_http_status(st, &code);
    if (status == 500) { /* logged by srv_reply_error, the body says only that the server failed */
        srv_reply_error(r, 500, code, "%s (%s)", msg, mien_strerror(st));
    } else {
        srv_reply_error(r, status, code, "%s", msg);
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
    const mien_quality *q = &f->quality;
    json_t *lm = json_array();
    for (int j = 0; j < 5; j++) {
        json_array_append_new(lm, json_pack("[oo]", real1(f->landmarks[j][0]),
                                            real1(f->landmarks[j][1])));
    }
    return json_pack("{s:[oooo],s:o,s:o,s:{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}}", "box",
                     real1(f->box[0]), real1(f->box[1]), real1(f->box[2]), real1(f->box[3]),
                     "score", real4(f->score), "landmarks", lm, "quality", "class",
                     mien_quality_class_name(q->klass), "interocular_px",
                     real1(q->interocular_px), "sharpness", real1(q->sharpness), "yaw",
                     real1(q->yaw), "pitch", real1(q->pitch), "roll", real1(q->roll),
                     "detector_score", real4(q->detector_score), "landmark_score",
                     real4(q->landmark_score));
}

static json_t *time_json(int64_t unix_s)
{
    char out[32];
    if (mien_time_format(unix_s, out, sizeof(out)) != MIEN_OK) {
        snprintf(out, sizeof(out), "%lld", (long long)unix_s);
    }
    return json_string(out);
}

/* A comma-separated list as a JSON array of its non-empty items. */
static json_t *list_json(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            json_array_append_new(arr, json_stringn(p, n));
        }
        p += n + (p[n] == ',');
    }
    return arr;
}

/* Whether `item` is one of the comma-separated `list`. */
static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    if (n == 0) {
        return false;
    }
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, item, n) == 0) {
            return true;
        }
        p += len + (p[len] == ',');
    }
    return false;
}

/* Lower-case hex of a 32-byte digest into out[65]. */
static void hex32(const uint8_t d[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

/* COLLECTION, with its policy. */
static json_t *collection_json(const mien_collection_info *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:o,s:s,s:s,s:I,s:s,s:b,s:f,s:i}",
                     "name",
                     c->name, "profile", mien_profile_name(c->profile), "model_a", c->model_a,
                     "model_b", c->model_b, "description", c->description, "created_at",
                     time_json(c->created_at), "subjects", (json_int_t)c->subjects, "faces",
                     (json_int_t)c->faces, "purposes", list_json(c->purposes), "legal_basis",
                     c->legal_basis, "consent", mien_consent_name(c->consent), "retention_s",
                     (json_int_t)c->retention_s, "review", mien_review_mode_name(c->review),
                     "verification_only", c->verification_only != 0, "max_fmr", c->max_fmr,
                     "max_candidates", c->max_candidates);
}

/* REVIEW. */
static json_t *review_json(const mien_review_info *v)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:I,s:o,s:I}", "id", v->id, "collection",
                     v->collection, "status", v->status, "required", v->required,
                     "confirmations", v->confirmations, "confirmed_rank", v->confirmed_rank,
                     "candidates", (json_int_t)v->candidates, "created_at",
                     time_json(v->created_at), "search_seq", (json_int_t)v->search_seq);
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

/* s as a number in [lo, hi] into *out: a whole decimal number when `whole`, else anything
 * strtod reads; false for anything else (trailing text, overflow, NaN). */
static bool parse_number(const char *s, bool whole, double lo, double hi, double *out)
{
    char *end = NULL;
    double v;
    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    v = whole ? (double)strtol(s, &end, 10) : strtod(s, &end);
    if (*end != '\0' || errno != 0 || !(v >= lo && v <= hi)) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    return parse_number(s, false, lo, hi, out);
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    double v;
    if (!parse_number(s, true, (double)lo, (double)hi, &v)) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* Whether s[len] is UTF-8 without control characters (what the audit log stores). */
static bool text_ok(const char *s, size_t len)
{
    json_t *t;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return false;
        }
    }
    t = json_stringn(s, len); /* NULL for bytes that are not UTF-8 */
    json_decref(t);
    return t != NULL;
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
        srv_reply_error(r, 415, "unsupported_media_type",
                        "send JSON with Content-Type: application/json (got '%s')",
                        r->content_type[0] ? r->content_type : "none");
        return false;
    }
    r->json = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->json == NULL) {
        srv_reply_error(r, 400, "bad_request", "malformed JSON: %s (line %d, column %d)", jerr.text,
                        jerr.line, jerr.column);
        return false;
    }
    if (!json_is_object(r->json)) {
        srv_reply_error(r, 400, "bad_request", "the JSON body must be an object");
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
        srv_reply_error(r, 400, "bad_request", "no image in the request body");
        return false;
    }
    if (strncasecmp(ct, "image/", 6) == 0 || media_is(ct, "application/octet-stream")) {
        if (n != 1) {
            srv_reply_error(r, 415, "unsupported_media_type",
                            "two images are needed: send multipart/form-data fields a and b, or "
                            "JSON {\"a\":\"<base64>\",\"b\":\"<base64>\"}");
            return false;
        }
        if (r->body_len == 0) {
            srv_reply_error(r, 400, "bad_request", "the request body is empty");
            return false;
        }
        r->image[0] = r->body;
        r->image_len[0] = r->body_len;
        return true;
    }
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        char boundary[80];
        if (!srv_multipart_boundary(ct, boundary, sizeof(boundary))) {
            srv_reply_error(r, 400, "bad_request", "multipart/form-data without a usable boundary");
            return false;
        }
        for (int k = 0; k < n; k++) {
            if (!srv_multipart_field(r->body, r->body_len, boundary, names[k], &r->image[k],
                                     &r->image_len[k]) ||
                r->image_len[k] == 0) {
                srv_reply_error(r, 400, "bad_request", "no (non-empty) multipart field '%s'",
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
                srv_reply_error(r, 400, "bad_request",
                                "JSON member '%s' (a base64 string) is missing",
                                names[k]);
                return false;
            }
            if (!srv_base64_decode(json_string_value(v), json_string_length(v), &r->image_owned[k],
                                   &r->image_len[k]) ||
                r->image_len[k] == 0) {
                srv_reply_error(r, 400, "bad_request", "JSON member '%s' is not valid base64",
                                names[k]);
                return false;
            }
            r->image[k] = r->image_owned[k];
        }
        return true;
    }
    srv_reply_error(r, 415, "unsupported_media_type",
                    "send an image as image/*, application/octet-stream, multipart/form-data or "
                    "JSON with base64 (got '%s')",
                    ct[0] ? ct : "no Content-Type");
    return false;
}

/* Fills the parameters `keys` that the query string lacks from the body: a JSON body's string
 * or number members, or a multipart body's fields, of the same names (srv_query_names). A
 * value in the query wins. Replies 400 and returns false when a value is not text or a
 * number, has a NUL byte, or is longer than REQUEST_PARAM_MAX - 1 bytes. Call after the body
 * was read (body_images or body_json). */
static bool body_params(request *r, const query_key *keys, size_t n)
{
    char boundary[80];
    bool multipart = strncasecmp(r->content_type, "multipart/form-data", 19) == 0 &&
                     srv_multipart_boundary(r->content_type, boundary, sizeof(boundary));
    for (size_t i = 0; i < n; i++) {
        query_key k = keys[i];
        const char *name = srv_query_names[k];
        char *dst = r->query[k];
        if (r->has_query[k]) {
            continue;
        }
        if (r->json != NULL) {
            json_t *v = json_object_get(r->json, name);
            if (v == NULL || json_is_null(v)) {
                continue;
            }
            if (json_is_string(v)) {
                size_t len = json_string_length(v);
                if (len >= REQUEST_PARAM_MAX || strlen(json_string_value(v)) != len) {
                    srv_reply_error(r, 400, "bad_request", "\"%s\" is at most %d bytes of text",
                                    name, REQUEST_PARAM_MAX - 1);
                    return false;
                }
                memcpy(dst, json_string_value(v), len + 1);
            } else if (json_is_integer(v)) {
                snprintf(dst, REQUEST_PARAM_MAX, "%lld", (long long)json_integer_value(v));
            } else if (json_is_real(v)) {
                snprintf(dst, REQUEST_PARAM_MAX, "%.17g", json_real_value(v));
            } else {
                srv_reply_error(r, 400, "bad_request", "\"%s\" must be a string", name);
                return false;
            }
            r->has_query[k] = true;
        } else if (multipart) {
            const uint8_t *data;
            size_t len;
            if (!srv_multipart_field(r->body, r->body_len, boundary, name, &data, &len)) {
                continue;
            }
            if (len >= REQUEST_PARAM_MAX || memchr(data, 0, len) != NULL) {
                srv_reply_error(r, 400, "bad_request", "multipart field '%s' is at most %d bytes "
                                "of text", name, REQUEST_PARAM_MAX - 1);
                return false;
            }
            memcpy(dst, data, len);
            dst[len] = '\0';
            r->has_query[k] = true;
        }
    }
    return true;
}

/* Who acts, for the library: the key's id and the input's digest (may be NULL); routes that
 * declare no purpose (create, drop, enrol, erase) pass no purpose or case. */
static mien_context actor_context(const request *r, const uint8_t *input_sha256)
{
    mien_context ctx = {.actor = r->actor[0] != '\0' ? r->actor : NULL,
                        .input_sha256 = input_sha256};
    return ctx;
}

/* Who acts and why: actor_context with the purpose and case reference the request declared
 * (NULL when absent), for search, verify and compare. */
static mien_context request_context(const request *r, const uint8_t *input_sha256)
{
    mien_context ctx = actor_context(r, input_sha256);
    ctx.purpose = query(r, Q_PURPOSE);
    ctx.case_ref = query(r, Q_CASE_REF);
    return ctx;
}

/* SHA-256 of each of the n images into r->image_sha256 (for the audit log: the digest, never
 * the image). */
static void digest_images(request *r, int n)
{
    for (int k = 0; k < n; k++) {
        if (mien_sha256(r->image[k], r->image_len[k], r->image_sha256[k]) != MIEN_OK) {
            memset(r->image_sha256[k], 0, 32); /* not reached: image[k] is set */
        }
    }
}

/* Replies with the error st maps to (srv_reply_status) and returns true when st is a failure;
 * false, replying nothing, for MIEN_OK. */
static bool reply_failed(request *r, mien_status st, const mien_error *err)
{
    if (st == MIEN_OK) {
        return false;
    }
    srv_reply_status(r, st, err);
    return true;
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
    mien_image *img = NULL;
    mien_error err;
    mien_status st = srv_decode(r->srv, r->image[k], r->image_len[k], &img, &err);
    if (st != MIEN_OK) {
        if (st == MIEN_ERR_IMAGE) {
            srv_reply_error(r, 422, "bad_image", "%s%s%s", which, which[0] ? ": " : "",
                            err.message);
        } else {
            srv_reply_status(r, st, &err);
        }
        return NULL;
    }
    return img;
}

/* ---- service routes ------------------------------------------------------------------------ */

static void h_healthz(request *r)
{
    srv_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Ready when the models are loaded, the workers run and the store's database answers now
 * (mien_store_ping: a PostgreSQL store reconnects by itself once the server is back, so a node
 * goes from 503 back to 200 without a restart; docs/deploy.md). The ping holds the store lock
 * for one round trip, in the MHD thread like the other inline routes. The route needs no key,
 * so the reason it gives is generic; the store's own message (which names the database's host
 * and user) goes to the server's log, once when the database stops answering and once when it
 * is back. */
static void h_readyz(request *r)
{
    server *srv = r->srv;
    bool models = srv->engine != NULL, store = srv->store != NULL;
    mien_error err = {.code = MIEN_OK, .message = ""};
    const char *reason = !models ? "the models are not loaded"
                         : !store ? "the store is not open"
                         : srv->pool == NULL ? "the inference workers are not running"
                                             : NULL;
    if (reason == NULL) {
        pthread_mutex_lock(&srv->store_lock);
        mien_status st = mien_store_ping(srv->store, &err);
        if (st != MIEN_OK && !srv->store_down) {
            fprintf(stderr, "mien serve: not ready: %s (%s)\n", err.message, mien_strerror(st));
        } else if (st == MIEN_OK && srv->store_down) {
            fprintf(stderr, "mien serve: ready again: the store's database answers\n");
        }
        srv->store_down = st != MIEN_OK;
        pthread_mutex_unlock(&srv->store_lock);
        if (st != MIEN_OK) {
            store = false;
            reason = st == MIEN_ERR_IO ? "the store's database does not answer (details in the "
                                         "server's log)"
                                       : "the store failed (details in the server's log)";
        }
    }
    if (reason == NULL) {
        srv_reply_json(r, 200, json_pack("{s:s,s:b,s:b,s:b}", "status", "ready", "ready", 1,
                                     "models", models, "store", store));
        return;
    }
    srv_reply_json(r, 503, json_pack("{s:s,s:b,s:b,s:b,s:s}", "status", "not ready", "ready", 0,
                                 "models", models, "store", store, "reason", reason));
}

/* Prometheus text. It needs a key with the audit role (or admin): it names every collection
 * and counts its faces under the store lock, which is neither for anyone on the network to
 * read nor to trigger at will (issue 13 item 6; a scrape config with a key: docs/deploy.md). */
static void h_metrics(request *r)
{
    server *srv = r->srv;
    mien_collection_info *cs = NULL;
    size_t n = 0;
    mien_error err;
    pthread_mutex_lock(&srv->store_lock);
    if (mien_collection_list(srv->store, &cs, &n, &err) == MIEN_OK) {
        srv_metrics_collections_reset(srv->metrics);
        for (size_t i = 0; i < n; i++) {
            srv_metrics_collection_faces(srv->metrics, cs[i].name, cs[i].faces);
        }
    }
    pthread_mutex_unlock(&srv->store_lock);
    mien_free(cs);
    free(r->resp);
    r->resp = srv_metrics_render(srv->metrics, &r->resp_len);
    if (r->resp == NULL) {
        srv_reply_error(r, 500, "internal", "out of memory");
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
        srv_reply_error(r, 404, "not_found", "no such file");
        return;
    }
    for (const char *c = name; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '%') { /* %: an undecoded %00 (http.c) */
            srv_reply_error(r, 404, "not_found", "no such file");
            return;
        }
    }
    snprintf(path, sizeof(path), "%s/%s", r->srv->web_dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        srv_reply_error(r, 404, "not_found", "no such file");
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
    SRV_LOCKED(r->srv, st, mien_collection_list(r->srv->store, &cs, &n, &err));
    if (reply_failed(r, st, &err)) {
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, collection_json(&cs[i]));
    }
    mien_free(cs);
    srv_reply_json(r, 200, json_pack("{s:o}", "collections", arr));
}

/* The policy members of a collection's JSON (docs/api.md "POST /v1/collections") into *p;
 * purposes[cap] holds the list's text. Replies 400 and returns false when one is missing or
 * malformed (the library checks the values themselves). */
/* The caps of a new collection's policy: "max_fmr" (a rate in 1e-6..1) and "max_candidates"
 * (1..10000), each optional (the library's defaults, 1e-2 and 50). */
static bool caps_from_json(request *r, mien_collection_policy *p)
{
    json_t *mf = json_object_get(r->json, "max_fmr");
    json_t *mc = json_object_get(r->json, "max_candidates");
    if (mf != NULL && !json_is_null(mf)) {
        if (!json_is_number(mf) || !(json_number_value(mf) >= 1e-6 &&
                                     json_number_value(mf) <= 1.0)) {
            srv_reply_error(r, 400, "bad_request", "\"max_fmr\" is a rate in 1e-6..1");
            return false;
        }
        p->max_fmr = json_number_value(mf);
    }
    if (mc != NULL && !json_is_null(mc)) {
        if (!json_is_integer(mc) || json_integer_value(mc) < 1 ||
            json_integer_value(mc) > 10000) {
            srv_reply_error(r, 400, "bad_request", "\"max_candidates\" is 1..10000");
            return false;
        }
        p->max_candidates = (int)json_integer_value(mc);
    }
    return true;
}

static bool policy_from_json(request *r, mien_collection_policy *p, char *purposes, size_t cap)
{
    json_t *pu = json_object_get(r->json, "purposes");
    json_t *lb = json_object_get(r->json, "legal_basis");
    json_t *co = json_object_get(r->json, "consent");
    json_t *re = json_object_get(r->json, "retention");
    json_t *rv = json_object_get(r->json, "review");
    json_t *vo = json_object_get(r->json, "verification_only");
    memset(p, 0, sizeof(*p));
    purposes[0] = '\0';
    if (json_is_string(pu)) {
        snprintf(purposes, cap, "%s", json_string_value(pu));
    } else if (json_is_array(pu)) {
        size_t k, used = 0;
        json_t *item;
        json_array_foreach(pu, k, item) {
            if (!json_is_string(item) || used + json_string_length(item) + 2 > cap) {
                srv_reply_error(r, 400, "bad_request", "\"purposes\" is an array of short strings");
                return false;
            }
            used += (size_t)snprintf(purposes + used, cap - used, "%s%s", used ? "," : "",
                                     json_string_value(item));
        }
    } else if (pu != NULL && !json_is_null(pu)) {
        srv_reply_error(r, 400, "bad_request", "\"purposes\" is an array of strings or a "
                        "comma-separated string");
        return false;
    }
    if (purposes[0] == '\0') {
        srv_reply_error(r, 400, "bad_request", "\"purposes\" is required: what the collection may "
                        "be used for, e.g. [\"access_control\"]");
        return false;
    }
    p->purposes = purposes;
    if (!json_is_string(lb) || json_string_length(lb) == 0) {
        srv_reply_error(r, 400, "bad_request", "\"legal_basis\" (a string) is required, e.g. "
                        "\"consent, GDPR Art. 9(2)(a)\"");
        return false;
    }
    p->legal_basis = json_string_value(lb);
    p->consent = MIEN_CONSENT_REQUIRED;
    if (co != NULL && !json_is_null(co)) {
        if (!json_is_string(co) ||
            mien_consent_parse(json_string_value(co), &p->consent) != MIEN_OK) {
            srv_reply_error(r, 400, "bad_request", "\"consent\" is \"required\" or \"not_needed\"");
            return false;
        }
    }
    if (json_is_integer(re) && json_integer_value(re) >= 0 &&
        json_integer_value(re) <= DURATION_MAX_S) {
        p->retention_s = (int64_t)json_integer_value(re);
    } else if (json_is_string(re)) {
        if (mien_duration_parse(json_string_value(re), &p->retention_s) != MIEN_OK) {
            srv_reply_error(r, 400, "bad_request", "\"retention\" is seconds or a duration such as "
                            "\"365d\", \"12h\" (at most 100 years)");
            return false;
        }
    } else if (re != NULL && !json_is_null(re)) {
        srv_reply_error(r, 400, "bad_request", "\"retention\" is seconds (0: one year) or a "
                        "duration such as \"365d\"");
        return false;
    }
    p->review = MIEN_REVIEW_ONE;
    if (rv != NULL && !json_is_null(rv)) {
        if (!json_is_string(rv) ||
            mien_review_mode_parse(json_string_value(rv), &p->review) != MIEN_OK) {
            srv_reply_error(r, 400, "bad_request", "\"review\" is \"one\", \"two_person\" or "
                            "\"none\"");
            return false;
        }
    }
    if (vo != NULL && !json_is_null(vo) && !json_is_boolean(vo)) {
        srv_reply_error(r, 400, "bad_request", "\"verification_only\" is true or false");
        return false;
    }
    p->verification_only = json_is_true(vo);
    return caps_from_json(r, p);
}

static void h_collections_create(request *r)
{
    json_t *name, *prof, *desc;
    mien_profile profile = MIEN_PROFILE_FAST;
    mien_collection_info info;
    mien_collection_policy policy;
    mien_context ctx = actor_context(r, NULL);
    char purposes[512];
    mien_error err;
    mien_status st;
    if (!body_json(r)) {
        return;
    }
    name = json_object_get(r->json, "name");
    prof = json_object_get(r->json, "profile");
    desc = json_object_get(r->json, "description");
    if (!json_is_string(name)) {
        srv_reply_error(r, 400, "bad_request", "\"name\" (a string) is required");
        return;
    }
    if (prof != NULL && !json_is_null(prof) &&
        (!json_is_string(prof) ||
         mien_profile_parse(json_string_value(prof), &profile) != MIEN_OK)) {
        srv_reply_error(r, 400, "bad_request", "\"profile\" is \"fast\" or \"accurate\"");
        return;
    }
    if (desc != NULL && !json_is_null(desc) && !json_is_string(desc)) {
        srv_reply_error(r, 400, "bad_request", "\"description\" must be a string");
        return;
    }
    if (!policy_from_json(r, &policy, purposes, sizeof(purposes))) {
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_create(r->srv->store, json_string_value(name), profile, r->srv->engine,
                                json_is_string(desc) ? json_string_value(desc) : NULL, &policy,
                                &ctx, &err);
    if (st == MIEN_OK) {
        st = mien_collection_get(r->srv->store, json_string_value(name), &info, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 201, collection_json(&info));
}

static void h_collection_get(request *r)
{
    mien_collection_info info;
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_collection_get(r->srv->store, r->params[0], &info, &err));
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, collection_json(&info));
}

static void h_collection_drop(request *r)
{
    mien_context ctx = actor_context(r, NULL);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_collection_drop(r->srv->store, r->params[0], &ctx, &err));
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, json_pack("{s:s}", "dropped", r->params[0]));
}

static void h_subjects(request *r)
{
    mien_subject_info *ss = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    mien_context ctx = actor_context(r, NULL);
    st = mien_subject_list(r->srv->store, r->params[0], &ctx, &ss, &n, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (reply_failed(r, st, &err)) {
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:o,s:o,s:s}", "subject",
                                             ss[i].subject, "display_name", ss[i].display_name,
                                             "faces", (json_int_t)ss[i].faces, "created_at",
                                             time_json(ss[i].created_at), "expires_at",
                                             time_json(ss[i].expires_at), "consent_ref",
                                             ss[i].consent_ref));
    }
    mien_free(ss);
    srv_reply_json(r, 200, json_pack("{s:o}", "subjects", arr));
}

/* The answer is the erasure receipt: what was deleted, when, and the audit entry (number and
 * hash) that records it, so the receipt can be checked against the chain. */
static void h_erase(request *r)
{
    mien_context ctx = actor_context(r, NULL);
    mien_erasure e;
    mien_error err;
    mien_status st;
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_erase_subject(r->srv->store, r->params[0], r->params[1], &ctx, &e, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:o,s:I,s:s}", "subject",
                                 r->params[1], "faces_deleted", (json_int_t)e.faces_deleted,
                                 "crops_deleted", (json_int_t)e.crops_deleted,
                                 "reviews_deleted", (json_int_t)e.reviews_deleted,
                                 "collection", r->params[0], "subject_hash", e.subject_hash,
                                 "erased_at", time_json(e.erased_at), "audit_seq",
                                 (json_int_t)e.audit_seq, "audit_hash", e.audit_hash));
}

/* A face given to another subject (?to=SUBJECT; purpose and case_ref recorded when given):
 * mien_face_move re-seals its template and crop for that subject, which is made when new,
 * and audits the move. The answer says how many faces the subject it left still has (0: erase
 * it with DELETE .../subjects/{s} when it was that one face's). */
static void h_face_move(request *r)
{
    const char *to = query(r, Q_TO);
    char *end = NULL;
    int64_t left = 0;
    mien_error err;
    mien_status st;
    errno = 0;
    long long id = strtoll(r->params[1], &end, 10);
    if (end == r->params[1] || *end != '\0' || errno != 0 || id <= 0) {
        srv_reply_error(r, 404, "not_found", "a face id is a positive integer (the face_id of "
                                             "the enrolment)");
        return;
    }
    if (to == NULL || to[0] == '\0') {
        srv_reply_error(r, 400, "bad_request", "to=SUBJECT names the subject the face moves to");
        return;
    }
    mien_context ctx = request_context(r, NULL);
    SRV_LOCKED(r->srv, st, mien_face_move(r->srv->store, r->params[0], (int64_t)id, to, &ctx,
                                          &left, &err));
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, json_pack("{s:s,s:I,s:s,s:I}", "collection", r->params[0], "face_id",
                                     (json_int_t)id, "subject", to, "faces_left",
                                     (json_int_t)left));
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
        srv_reply_error(r, 400, "bad_request", "small_faces is 0 or 1");
        return false;
    }
    if (query(r, Q_MIN_SCORE) != NULL && !parse_double(query(r, Q_MIN_SCORE), 0.01, 1.0,
                                                       &min_score)) {
        srv_reply_error(r, 400, "bad_request", "min_score wants a number in 0.01..1");
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
    st = srv_detect(r->srv, s, img, &o, &faces, &n, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, face_json(&faces[i]));
    }
    srv_reply_json(r, 200, json_pack("{s:i,s:i,s:o}", "width", mien_image_original_width(img),
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
    if (p != NULL && mien_profile_parse(p, profile) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request", "profile is fast or accurate");
        return false;
    }
    if (f != NULL && !parse_double(f, 1e-6, 1.0, fmr)) {
        srv_reply_error(r, 400, "bad_request", "fmr wants a rate in 1e-6..1");
        return false;
    }
    return true;
}

static const query_key PURPOSE_PARAMS[] = {Q_PURPOSE, Q_CASE_REF};

/* Appends the audit entry of a request that has no collection (compare, grouping photos):
 * `action`, `outcome` "ok" or "refused", `result` (stolen), the input digest `sha` (may be
 * NULL). The purpose is recorded only when it is well formed (a refused malformed one is
 * named in the reason instead). *seq may be NULL. */
static mien_status audit_request(request *r, const char *action, const char *outcome,
                                 json_t *result, const uint8_t *sha, int64_t *seq,
                                 mien_error *err)
{
    const char *purpose = query(r, Q_PURPOSE), *case_ref = query(r, Q_CASE_REF);
    mien_context ctx = request_context(r, sha);
    mien_status st;
    if (purpose != NULL && (strlen(purpose) > PURPOSE_MAX || !text_ok(purpose, strlen(purpose)))) {
        ctx.purpose = NULL;
    }
    if (case_ref != NULL && (strlen(case_ref) > CASE_REF_MAX ||
                             !text_ok(case_ref, strlen(case_ref)))) {
        ctx.case_ref = NULL;
    }
    char *text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    if (text == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return MIEN_ERR_NOMEM;
    }
    mien_audit_event ev = {.action = action, .collection = NULL, .outcome = outcome,
                           .result = text};
    SRV_LOCKED(r->srv, st, mien_audit_append(r->srv->store, &ev, &ctx, seq, err));
    free(text);
    return st;
}

/* Appends compare's audit entry: audit_request with the two images' digests added. */
static mien_status compare_audit(request *r, const char *outcome, json_t *result, int64_t *seq,
                                 mien_error *err)
{
    char a[65], b[65];
    hex32(r->image_sha256[0], a);
    hex32(r->image_sha256[1], b);
    json_object_set_new(result, "a_sha256", json_string(a));
    json_object_set_new(result, "b_sha256", json_string(b));
    return audit_request(r, "compare", outcome, result, r->image_sha256[0], seq, err);
}

/* Refuses a compare with `status` and the reason, after recording the refusal (a refusal
 * that cannot be recorded still stands, and says so). */
static void compare_refuse(request *r, int status, const char *code, const char *reason)
{
    mien_error err;
    if (compare_audit(r, "refused", json_pack("{s:s}", "reason", reason), NULL, &err) !=
        MIEN_OK) {
        /* the store's words may name the database or a file: to the log, not the client */
        srv_log_failure(r, status, "refusal_not_audited", err.message);
        srv_reply_error(r, status, code, "%s (and the refusal could not be audited; the server's "
                        "log has the detail under request id %s)", reason, r->request_id);
        return;
    }
    srv_reply_error(r, status, code, "%s", reason);
}

typedef void (*refuse_fn)(request *r, int status, const char *code, const char *reason);

/* The purpose of a request without a collection, checked against the server's `list` (which
 * stands in for a collection's): no purpose → 400, a malformed case reference → 400, a
 * purpose not on the list → 403, each refused through `refuse` (which audits it). `what`
 * names the request in the reasons ("a compare"). */
static bool purpose_listed(request *r, const char *what, const char *list, refuse_fn refuse)
{
    char reason[512];
    const char *purpose = query(r, Q_PURPOSE), *case_ref = query(r, Q_CASE_REF);
    if (purpose == NULL || purpose[0] == '\0') {
        snprintf(reason, sizeof(reason), "%s declares its purpose (this server allows: %s)",
                 what, list);
        refuse(r, 400, "bad_request", reason);
        return false;
    }
    if (case_ref != NULL && (strlen(case_ref) > CASE_REF_MAX ||
                             !text_ok(case_ref, strlen(case_ref)))) {
        snprintf(reason, sizeof(reason), "case_ref is at most %d bytes of UTF-8 text",
                 CASE_REF_MAX);
        refuse(r, 400, "bad_request", reason);
        return false;
    }
    if (!list_has(list, purpose)) {
        snprintf(reason, sizeof(reason), "purpose '%.63s' is not one this server allows "
                 "%s for (%s)", purpose, what + 2, list);
        refuse(r, 403, "forbidden", reason);
        return false;
    }
    return true;
}

/* Compare has no collection to declare purposes: the server's list (--compare-purposes)
 * stands in for it. No purpose → 400, one not on the list → 403, both audited. */
static bool p_compare(request *r)
{
    mien_profile p;
    double f;
    if (!body_images(r, TWO_IMAGES, 2) || !compare_options(r, &p, &f) ||
        !body_params(r, PURPOSE_PARAMS, 2)) {
        return false;
    }
    digest_images(r, 2);
    return purpose_listed(r, "a compare", r->srv->compare_purposes, compare_refuse);
}

/* Audits a refusal of `action` ("enrol", "search", "verify") on collection {c} that the front
 * end makes between finding the faces and calling the library (mien_record_refusal): every
 * refusal is one entry. `subject` may be NULL. A refusal that cannot be recorded still
 * stands; the failure is logged. */
static void refusal_audit(request *r, const char *action, const char *subject,
                          mien_refusal reason, size_t faces)
{
    mien_context ctx = request_context(r, r->image_sha256[0]);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_record_refusal(r->srv->store, r->params[0], action, subject,
                                               reason, faces, &ctx, NULL, &err));
    if (st != MIEN_OK) {
        fprintf(stderr, "mien serve: a refused %s (%s) could not be audited: %s\n", action,
                mien_refusal_name(reason), err.message);
    }
}

/* Replies to a failed mien_face_find / mien_embed_face: 422 no_face with the library's words
 * ("no face found", "no face N (found M)") when there was no face (face N), audited as
 * `action`'s refusal ("compare": compare's own entry; "enrol", "search", "verify": the
 * collection's, `subject` may be NULL), else the status's reply. `which` names the image (""
 * for the only one). */
static void embed_face_failed(request *r, const char *action, const char *subject,
                              const char *which, mien_status st, const mien_face_pick *pick,
                              mien_error *err)
{
    const char *sep = which[0] ? ": " : "";
    char reason[600];
    if (st != MIEN_ERR_NOT_FOUND || pick->index >= 0) {
        srv_reply_status(r, st, err);
        return;
    }
    snprintf(reason, sizeof(reason), "%s%s%s", which, sep, err->message);
    if (strcmp(action, "compare") == 0) {
        compare_refuse(r, 422, "no_face", reason);
        return;
    }
    refusal_audit(r, action, subject, MIEN_REFUSAL_NO_FACE, pick->count);
    srv_reply_error(r, 422, "no_face", "%s", reason);
}

/* Decodes image k, finds its most prominent face and embeds it. Replies (422 no_face, ...,
 * audited as `action`'s refusal of `subject`: embed_face_failed) and returns false on
 * failure. */
static bool template_of(request *r, mien_session *s, const char *action, const char *subject,
                        int k, const char *which, mien_profile p, mien_template **t,
                        mien_face *face)
{
    mien_face_pick pick;
    mien_error err;
    mien_status st;
    mien_image *img = decode_image(r, k, which);
    if (img == NULL) {
        return false;
    }
    st = srv_embed_face(r->srv, s, img, MIEN_FACE_PROMINENT, p, &pick, t, &err);
    if (st == MIEN_OK) {
        *face = pick.faces[pick.index];
    } else {
        embed_face_failed(r, action, subject, which, st, &pick, &err);
    }
    mien_faces_free(pick.faces);
    mien_image_free(img);
    return st == MIEN_OK;
}

static void j_compare(mien_session *s, void *arg)
{
    request *r = arg;
    mien_profile profile;
    double fmr_target, fmr = 1.0;
    mien_template *t[2] = {NULL, NULL};
    mien_face face[2];
    float sim = 0, threshold = 0;
    int64_t seq = 0;
    mien_error err;
    compare_options(r, &profile, &fmr_target); /* checked in p_compare */
    if (!template_of(r, s, "compare", NULL, 0, "image a", profile, &t[0], &face[0]) ||
        !template_of(r, s, "compare", NULL, 1, "image b", profile, &t[1], &face[1])) {
        goto done;
    }
    mien_status st = mien_template_compare(t[0], t[1], &sim, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    if (mien_similarity_fmr(profile, sim, &fmr) != MIEN_OK ||
        mien_threshold_for_fmr(profile, fmr_target, &threshold) != MIEN_OK) {
        srv_reply_error(r, 500, "internal", "profile %s is not calibrated",
                        mien_profile_name(profile));
        goto done;
    }
    /* No answer without its record: a compare that cannot be audited is not given. */
    st = compare_audit(r, "ok",
                       json_pack("{s:f,s:f,s:f,s:b,s:s}", "similarity", round(sim * 1e6) / 1e6,
                                 "fmr", fmr, "at_fmr", fmr_target, "same_person",
                                 sim >= threshold, "profile", mien_profile_name(profile)),
                       &seq, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    srv_reply_json(r, 200,
                   json_pack("{s:o,s:f,s:o,s:f,s:b,s:s,s:o,s:o,s:I}", "similarity",
                         json_real(round(sim * 1e6) / 1e6), "fmr", fmr, "threshold",
                         json_real(round(threshold * 1e6) / 1e6), "at_fmr", fmr_target,
                         "same_person", sim >= threshold, "profile", mien_profile_name(profile),
                         "face_a", face_json(&face[0]), "face_b", face_json(&face[1]),
                         "audit_seq", (json_int_t)seq));
done:
    mien_template_free(t[0]);
    mien_template_free(t[1]);
    job_done(r);
}

/* ---- grouping ------------------------------------------------------------------------------ */

#define GROUP_MAX_IMAGES 1000   /* photos in one request; the body's size limit comes first */
#define GROUP_MAX_FACE_IDS 10000

/* What POST /v1/group groups: photos (multipart fields "image", or JSON "images": base64), or
 * enrolled faces (JSON "collection" and "face_ids"). */
typedef struct group_call {
    size_t n;                 /* photos */
    const uint8_t **img;      /* n photos' bytes, borrowed from the body or owned[k] */
    size_t *len;
    uint8_t **owned;          /* base64-decoded photos */
    uint8_t digest[32];       /* SHA-256 over the photos' SHA-256s, in order: the audit's */
    char collection[64];      /* "" for photos */
    int64_t *face_ids;
    size_t n_ids;
} group_call;

void srv_group_call_free(group_call *g)
{
    for (size_t k = 0; g != NULL && g->owned != NULL && k < g->n; k++) {
        free(g->owned[k]);
    }
    if (g != NULL) {
        free(g->img);
        free(g->len);
        free(g->owned);
        free(g->face_ids);
        free(g);
    }
}

/* Room for n photos in r->group; replies 413 beyond GROUP_MAX_IMAGES (500 out of memory). */
static bool group_alloc(request *r, size_t n)
{
    group_call *g = r->group;
    if (n > GROUP_MAX_IMAGES) {
        srv_reply_error(r, 413, "too_large", "at most %d photos in one grouping",
                        GROUP_MAX_IMAGES);
        return false;
    }
    g->img = calloc(n + 1, sizeof(*g->img));
    g->len = calloc(n + 1, sizeof(*g->len));
    g->owned = calloc(n + 1, sizeof(*g->owned));
    if (g->img == NULL || g->len == NULL || g->owned == NULL) {
        srv_reply_error(r, 500, "internal", "out of memory");
        return false;
    }
    g->n = n;
    return true;
}

/* The photos of a multipart body: every field called "image" (a file input with
 * `multiple`), found in one pass over the body. */
static bool group_multipart(request *r)
{
    char boundary[80];
    size_t n;
    if (!srv_multipart_boundary(r->content_type, boundary, sizeof(boundary))) {
        srv_reply_error(r, 400, "bad_request", "multipart/form-data without a usable boundary");
        return false;
    }
    if (!group_alloc(r, GROUP_MAX_IMAGES)) { /* room for one more: group_alloc's n + 1 */
        return false;
    }
    n = srv_multipart_fields(r->body, r->body_len, boundary, "image", r->group->img,
                             r->group->len, GROUP_MAX_IMAGES + 1);
    if (n > GROUP_MAX_IMAGES) {
        srv_reply_error(r, 413, "too_large", "at most %d photos in one grouping",
                        GROUP_MAX_IMAGES);
        return false;
    }
    r->group->n = n;
    for (size_t k = 0; k < n; k++) {
        if (r->group->len[k] == 0) {
            srv_reply_error(r, 400, "bad_request", "multipart field 'image' number %zu is empty",
                            k + 1);
            return false;
        }
    }
    return true;
}

/* The photos of a JSON body: "images", an array of base64 strings. */
static bool group_json_images(request *r, json_t *arr)
{
    size_t n = json_array_size(arr);
    if (!json_is_array(arr)) {
        srv_reply_error(r, 400, "bad_request", "\"images\" is an array of base64 strings");
        return false;
    }
    if (!group_alloc(r, n)) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_array_get(arr, k);
        group_call *g = r->group;
        if (!json_is_string(v) ||
            !srv_base64_decode(json_string_value(v), json_string_length(v), &g->owned[k],
                               &g->len[k]) ||
            g->len[k] == 0) {
            srv_reply_error(r, 400, "bad_request", "\"images\"[%zu] is not a base64 string of "
                            "an image", k);
            return false;
        }
        g->img[k] = g->owned[k];
    }
    return true;
}

/* The enrolled faces of a JSON body: "collection" and "face_ids" (whole numbers). */
static bool group_json_faces(request *r, json_t *ids)
{
    group_call *g = r->group;
    json_t *c = json_object_get(r->json, "collection");
    size_t n = json_array_size(ids);
    if (!json_is_string(c) || json_string_length(c) == 0 ||
        json_string_length(c) >= sizeof(g->collection)) {
        srv_reply_error(r, 400, "bad_request", "\"face_ids\" need \"collection\", the name of "
                        "their collection");
        return false;
    }
    if (!json_is_array(ids) || n > GROUP_MAX_FACE_IDS) {
        srv_reply_error(r, 400, "bad_request", "\"face_ids\" is an array of at most %d face ids",
                        GROUP_MAX_FACE_IDS);
        return false;
    }
    snprintf(g->collection, sizeof(g->collection), "%s", json_string_value(c));
    if ((g->face_ids = calloc(n + 1, sizeof(*g->face_ids))) == NULL) {
        srv_reply_error(r, 500, "internal", "out of memory");
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_array_get(ids, k);
        if (!json_is_integer(v)) {
            srv_reply_error(r, 400, "bad_request", "\"face_ids\"[%zu] is not a face id", k);
            return false;
        }
        g->face_ids[k] = (int64_t)json_integer_value(v);
    }
    g->n_ids = n;
    return true;
}

/* The body: photos or enrolled faces, into r->group. Replies and returns false when it is
 * neither. */
static bool group_body(request *r)
{
    if ((r->group = calloc(1, sizeof(*r->group))) == NULL) {
        srv_reply_error(r, 500, "internal", "out of memory");
        return false;
    }
    if (strncasecmp(r->content_type, "multipart/form-data", 19) == 0) {
        return group_multipart(r);
    }
    if (!media_is(r->content_type, "application/json")) {
        srv_reply_error(r, 415, "unsupported_media_type",
                        "send the photos as multipart/form-data fields 'image', or JSON "
                        "{\"images\":[\"<base64>\",...]} or {\"collection\":\"C\","
                        "\"face_ids\":[...]} (got '%s')",
                        r->content_type[0] ? r->content_type : "no Content-Type");
        return false;
    }
    if (!body_json(r)) {
        return false;
    }
    if (json_object_get(r->json, "face_ids") != NULL) {
        return group_json_faces(r, json_object_get(r->json, "face_ids"));
    }
    if (json_object_get(r->json, "images") != NULL) {
        return group_json_images(r, json_object_get(r->json, "images"));
    }
    srv_reply_error(r, 400, "bad_request", "nothing to group: send \"images\" or "
                    "\"collection\" and \"face_ids\"");
    return false;
}

/* The grouping's options from the parameters: fmr, method, profile (photos). False (replied
 * 400) when one is invalid. */
static bool group_options(request *r, mien_group_options *o, mien_profile *profile)
{
    const char *m = query(r, Q_METHOD), *f = query(r, Q_FMR), *p = query(r, Q_PROFILE);
    *o = mien_group_options_default();
    o->threads = 1; /* the workers already share the cores */
    *profile = MIEN_PROFILE_FAST;
    if (f != NULL && !parse_double(f, 1e-6, 1.0, &o->max_fmr)) {
        srv_reply_error(r, 400, "bad_request", "fmr wants a rate in 1e-6..1");
        return false;
    }
    if (m != NULL && mien_group_method_parse(m, &o->method) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request", "method is chinese_whispers or components");
        return false;
    }
    if (p != NULL && mien_profile_parse(p, profile) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request", "profile is fast or accurate");
        return false;
    }
    return true;
}

/* Refuses a grouping of photos with `status` and the reason, after recording the refusal. */
static void group_refuse(request *r, int status, const char *code, const char *reason)
{
    mien_error err;
    if (audit_request(r, "group", "refused", json_pack("{s:s}", "reason", reason),
                      r->group->digest, NULL, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: a refused grouping could not be audited: %s\n",
                err.message);
        srv_reply_error(r, status, code, "%s (and the refusal could not be audited: %s)",
                        reason, err.message);
        return;
    }
    srv_reply_error(r, status, code, "%s", reason);
}

/* SHA-256 over the photos' own digests, in order: one digest that names the whole input. */
static void group_digest(group_call *g)
{
    uint8_t *all = malloc(32 * (g->n + 1));
    memset(g->digest, 0, sizeof(g->digest));
    if (all == NULL) {
        return; /* the audit entry then names no input */
    }
    for (size_t k = 0; k < g->n; k++) {
        mien_sha256(g->img[k], g->len[k], all + 32 * k);
    }
    mien_sha256(all, 32 * g->n, g->digest);
    free(all);
}

static const query_key GROUP_PARAMS[] = {Q_PURPOSE, Q_CASE_REF, Q_FMR, Q_METHOD, Q_PROFILE};

/* Photos: the server's --group-purposes stand in for a collection's, refusals audited here.
 * Enrolled faces: the collection's purposes, checked by the library (mien_check_purpose,
 * refusals audited there). No photo at all → 400. */
static bool p_group(request *r)
{
    mien_group_options o;
    mien_profile p;
    if (!group_body(r) ||
        !body_params(r, GROUP_PARAMS, sizeof(GROUP_PARAMS) / sizeof(GROUP_PARAMS[0])) ||
        !group_options(r, &o, &p)) {
        return false;
    }
    if (r->group->collection[0] != '\0') {
        mien_context ctx = request_context(r, NULL);
        mien_error err;
        mien_status st;
        SRV_LOCKED(r->srv, st, mien_check_purpose(r->srv->store, r->group->collection,
                                                  "group", &ctx, &err));
        return !reply_failed(r, st, &err);
    }
    group_digest(r->group);
    if (!purpose_listed(r, "a grouping", r->srv->group_purposes, group_refuse)) {
        return false;
    }
    if (r->group->n == 0) {
        srv_reply_error(r, 400, "bad_request", "no photos to group");
        return false;
    }
    return true;
}

/* One face found in the photos: which photo, which face of it, its box, its template. */
typedef struct group_face {
    size_t image, face;
    mien_face f;
    mien_template *t;
} group_face;

/* Every face of photo k, detected and embedded, appended to faces[*n] (room for *cap). Replies
 * (422 bad_image naming the photo, ...) and returns false on failure. */
static bool group_faces_of(request *r, mien_session *s, size_t k, mien_profile p,
                           group_face **faces, size_t *n, size_t *cap)
{
    mien_image *img = NULL;
    mien_face *found = NULL;
    mien_detect_options dopt = mien_detect_options_default();
    size_t count = 0;
    mien_error err;
    mien_status st = srv_decode(r->srv, r->group->img[k], r->group->len[k], &img, &err);
    if (st != MIEN_OK) {
        if (st == MIEN_ERR_IMAGE) {
            srv_reply_error(r, 422, "bad_image", "photo %zu: %s", k + 1, err.message);
        } else {
            srv_reply_status(r, st, &err);
        }
        return false;
    }
    st = srv_detect(r->srv, s, img, &dopt, &found, &count, &err);
    for (size_t i = 0; st == MIEN_OK && i < count; i++) {
        if (*n == *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 64;
            group_face *grown = realloc(*faces, grown_cap * sizeof(*grown));
            if (grown == NULL) {
                st = MIEN_ERR_NOMEM;
                snprintf(err.message, sizeof(err.message), "out of memory");
                break;
            }
            *faces = grown;
            *cap = grown_cap;
        }
        (*faces)[*n] = (group_face){.image = k, .face = i, .f = found[i]};
        st = srv_embed(r->srv, s, img, &found[i], p, &(*faces)[*n].t, &err);
        *n += st == MIEN_OK;
    }
    mien_faces_free(found);
    mien_image_free(img);
    return !reply_failed(r, st, &err);
}

/* A face of the answer: photo and box, or the enrolled face's id. */
static json_t *group_face_json(const request *r, const group_face *faces, size_t i)
{
    if (faces == NULL) {
        return json_pack("{s:I}", "face_id", (json_int_t)r->group->face_ids[i]);
    }
    const mien_face *f = &faces[i].f;
    return json_pack("{s:I,s:I,s:[oooo]}", "image", (json_int_t)faces[i].image, "face",
                     (json_int_t)faces[i].face, "box", real1(f->box[0]), real1(f->box[1]),
                     real1(f->box[2]), real1(f->box[3]));
}

/* The answer: people (largest first, each with its representative and faces) and the messy
 * group. faces NULL: enrolled faces, named by id. */
static json_t *group_json(const request *r, const mien_grouping *g, const group_face *faces)
{
    json_t *people = json_array(), *messy = json_array();
    for (size_t c = 0; c < g->clusters; c++) {
        json_t *members = json_array();
        for (size_t i = 0; i < g->n; i++) {
            if (g->labels[i] == (long)c) {
                json_array_append_new(members, group_face_json(r, faces, i));
            }
        }
        json_array_append_new(people,
                              json_pack("{s:I,s:I,s:o,s:o}", "person", (json_int_t)(c + 1),
                                        "size", (json_int_t)g->sizes[c], "representative",
                                        group_face_json(r, faces, g->representatives[c]),
                                        "faces", members));
    }
    for (size_t i = 0; i < g->n; i++) {
        if (g->labels[i] < 0) {
            json_array_append_new(messy, group_face_json(r, faces, i));
        }
    }
    return json_pack("{s:o,s:o,s:I,s:s,s:f,s:o}", "people", people, "messy", messy, "faces",
                     (json_int_t)g->n, "method", mien_group_method_name(g->method), "max_fmr",
                     g->max_fmr, "threshold", json_real(round(g->threshold * 1e4) / 1e4));
}

/* Enrolled faces: the library checks, groups and audits. */
static void group_enrolled(request *r, const mien_group_options *o)
{
    mien_context ctx = request_context(r, NULL);
    mien_grouping g;
    mien_error err;
    mien_status st = srv_group_faces(r->srv, r->group->collection, r->group->face_ids,
                                     r->group->n_ids, o, &ctx, &g, &err);
    if (!reply_failed(r, st, &err)) {
        json_t *ans = group_json(r, &g, NULL);
        json_object_set_new(ans, "collection", json_string(r->group->collection));
        srv_reply_json(r, 200, ans);
    }
    mien_grouping_free(&g);
}

/* Photos: every face embedded, grouped, the grouping audited, then answered. Nothing is
 * stored: the faces' templates are freed with the request. */
static void group_photos(request *r, mien_session *s, const mien_group_options *o,
                         mien_profile p)
{
    group_face *faces = NULL;
    const mien_template **t = NULL;
    size_t n = 0, cap = 0, k;
    mien_grouping g = {0};
    mien_error err;
    mien_status st;
    int64_t seq = 0;
    for (k = 0; k < r->group->n; k++) {
        if (!group_faces_of(r, s, k, p, &faces, &n, &cap)) {
            goto done;
        }
    }
    if (n < 2) {
        srv_reply_error(r, 422, n == 0 ? "no_face" : "too_few_faces",
                        "grouping needs at least two faces; %zu found in %zu photo%s", n,
                        r->group->n, r->group->n == 1 ? "" : "s");
        goto done;
    }
    if ((t = malloc(n * sizeof(*t))) == NULL) {
        srv_reply_error(r, 500, "internal", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = faces[i].t;
    }
    st = srv_group(r->srv, t, n, o, &g, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    /* No answer without its record: a grouping that cannot be audited is not given. */
    st = audit_request(r, "group", "ok",
                       json_pack("{s:I,s:I,s:I,s:I,s:f,s:s,s:s}", "images",
                                 (json_int_t)r->group->n, "faces", (json_int_t)n, "clusters",
                                 (json_int_t)g.clusters, "messy", (json_int_t)g.messy,
                                 "max_fmr", g.max_fmr, "method",
                                 mien_group_method_name(g.method), "profile",
                                 mien_profile_name(p)),
                       r->group->digest, &seq, &err);
    if (!reply_failed(r, st, &err)) {
        json_t *ans = group_json(r, &g, faces);
        json_object_set_new(ans, "images", json_integer((json_int_t)r->group->n));
        json_object_set_new(ans, "profile", json_string(mien_profile_name(p)));
        json_object_set_new(ans, "audit_seq", json_integer(seq));
        srv_reply_json(r, 200, ans);
    }
done:
    mien_grouping_free(&g);
    free(t);
    for (size_t i = 0; i < n; i++) {
        mien_template_free(faces[i].t);
    }
    free(faces);
}

static void j_group(mien_session *s, void *arg)
{
    request *r = arg;
    mien_group_options o;
    mien_profile p;
    group_options(r, &o, &p); /* checked in p_group */
    if (r->group->collection[0] != '\0') {
        group_enrolled(r, &o);
    } else {
        group_photos(r, s, &o, p);
    }
    job_done(r);
}

/* ---- enrol and search ------------------------------------------------------------------------- */

/* Looks the collection {c} up (its profile into r->profile, the whole of it into *out, which
 * may be NULL); replies 404 when absent. */
static bool collection_profile(request *r, mien_collection_info *out)
{
    mien_collection_info info;
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_collection_get(r->srv->store, r->params[0], &info, &err));
    if (reply_failed(r, st, &err)) {
        return false;
    }
    r->profile = info.profile;
    if (out != NULL) {
        *out = info;
    }
    return true;
}

/* Whether the collection {c} lets `action` ("search", "verify") run for the request's purpose
 * and case (mien_check_purpose, which audits a refusal); replies 400 (no purpose or case),
 * 403 (a purpose the collection does not allow, or a search on a verification-only one) or
 * 404 and returns false otherwise. Runs before any inference is queued. */
static bool purpose_allowed(request *r, const char *action)
{
    mien_context ctx = request_context(r, r->image_sha256[0]);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_check_purpose(r->srv->store, r->params[0], action, &ctx, &err));
    if (reply_failed(r, st, &err)) {
        return false;
    }
    return true;
}

static const query_key ENROL_PARAMS[] = {Q_CONSENT_REF, Q_EXPIRES_AT};

static bool p_enrol(request *r)
{
    bool bad = false;
    int face = 0;
    query_flag(r, Q_FORCE, &bad);
    query_flag(r, Q_CROP, &bad);
    if (bad) {
        srv_reply_error(r, 400, "bad_request", "force and crop are 0 or 1");
        return false;
    }
    if (query(r, Q_FACE) != NULL && !parse_int(query(r, Q_FACE), 0, 100000, &face)) {
        srv_reply_error(r, 400, "bad_request", "face wants a face number (0, 1, ...)");
        return false;
    }
    if (query(r, Q_DISPLAY_NAME) != NULL && strlen(query(r, Q_DISPLAY_NAME)) > 127) {
        srv_reply_error(r, 400, "bad_request", "display_name is at most 127 bytes");
        return false;
    }
    mien_collection_info info;
    int64_t expires_at = 0;
    if (!body_images(r, ONE_IMAGE, 1) || !body_params(r, ENROL_PARAMS, 2) ||
        !collection_profile(r, &info)) {
        return false;
    }
    if (query(r, Q_EXPIRES_AT) != NULL &&
        mien_time_parse(query(r, Q_EXPIRES_AT), 0, &expires_at) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request", "expires_at is unix seconds or a UTC time "
                        "YYYY-MM-DDTHH:MM:SSZ");
        return false;
    }
    digest_images(r, 1);
    /* mien_enroll's checks that need no face (consent above all), before the inference: the
     * library audits the refusal, as it would have in mien_enroll. */
    mien_enrollment e = {.subject = r->params[1],
                         .display_name = query(r, Q_DISPLAY_NAME),
                         .image_sha256 = r->image_sha256[0],
                         .consent_ref = query(r, Q_CONSENT_REF),
                         .expires_at = query(r, Q_EXPIRES_AT) != NULL ? expires_at : 0};
    mien_context ctx = actor_context(r, r->image_sha256[0]);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_enroll_check(r->srv->store, info.name, &e, &ctx, &err));
    return !reply_failed(r, st, &err);
}

/* Whether the enrolment's face may be used: the choice is strict (cmd_enroll.c), every later
 * search trusts an enrolment. Replies 422 several_faces or low_quality, audited, when it may
 * not. */
static bool enrol_choice_ok(request *r, const mien_face_pick *pick, int face_index, bool force)
{
    const mien_quality *q = &pick->faces[pick->index].quality;
    if (pick->count > 1 && face_index < 0 && !force) {
        refusal_audit(r, "enrol", r->params[1], MIEN_REFUSAL_SEVERAL_FACES, pick->count);
        srv_reply_error(r, 422, "several_faces",
                        "%zu faces: say which with face=N, or force=1 for the most prominent",
                        pick->count);
        return false;
    }
    if (q->klass == MIEN_QUALITY_LOW && !force) {
        refusal_audit(r, "enrol", r->params[1], MIEN_REFUSAL_LOW_QUALITY, pick->count);
        srv_reply_error(r, 422, "low_quality",
                        "low quality (interocular %.0f px, sharpness %.0f, yaw %.0f, pitch %.0f); "
                        "force=1 to enrol anyway",
                        q->interocular_px, q->sharpness, q->yaw, q->pitch);
        return false;
    }
    return true;
}

/* The aligned chip of the enrolled face, when crop=1 asked for it (*crop stays NULL
 * otherwise); owned by the caller. */
static mien_status enrol_crop(const mien_image *img, const mien_face *face, bool wanted,
                              uint8_t **crop, mien_error *err)
{
    size_t side = (size_t)mien_face_chip_side();
    if (!wanted) {
        return MIEN_OK;
    }
    *crop = malloc(side * side * 3);
    if (*crop == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return MIEN_ERR_NOMEM;
    }
    return mien_face_chip(img, face, *crop, err);
}

static void j_enrol(mien_session *s, void *arg)
{
    request *r = arg;
    mien_face_pick pick = {NULL, 0, -1};
    mien_template *t = NULL;
    uint8_t *crop = NULL;
    mien_error err;
    mien_status st;
    bool bad = false, force = query_flag(r, Q_FORCE, &bad), crops = query_flag(r, Q_CROP, &bad);
    int face_index = -1;
    int64_t face_id = 0, expires_at = 0;
    mien_context ctx = actor_context(r, r->image_sha256[0]);
    mien_image *img = decode_image(r, 0, "");
    if (img == NULL) {
        goto done;
    }
    if (query(r, Q_FACE) != NULL) {
        parse_int(query(r, Q_FACE), 0, 100000, &face_index);
    }
    st = srv_face_find(r->srv, s, img, face_index >= 0 ? face_index : MIEN_FACE_PROMINENT,
                       &pick, &err);
    if (st != MIEN_OK) {
        embed_face_failed(r, "enrol", r->params[1], "", st, &pick, &err);
        goto done;
    }
    if (!enrol_choice_ok(r, &pick, face_index, force)) {
        goto done; /* before the embedding: a refusal costs none */
    }
    const mien_face *face = &pick.faces[pick.index];
    if ((st = srv_embed(r->srv, s, img, face, r->profile, &t, &err)) != MIEN_OK) {
        srv_reply_status(r, st, &err);
        goto done;
    }
    if ((st = enrol_crop(img, face, crops, &crop, &err)) != MIEN_OK) {
        srv_reply_status(r, st, &err);
        goto done;
    }
    if (query(r, Q_EXPIRES_AT) != NULL) {
        mien_time_parse(query(r, Q_EXPIRES_AT), 0, &expires_at); /* checked in p_enrol */
    }
    mien_enrollment e = {.subject = r->params[1],
                         .display_name = query(r, Q_DISPLAY_NAME),
                         .template_ = t,
                         .quality = &face->quality,
                         .image_sha256 = r->image_sha256[0],
                         .crop_rgb = crop,
                         .consent_ref = query(r, Q_CONSENT_REF),
                         .expires_at = expires_at};
    st = srv_enroll(r->srv, r->params[0], &e, &ctx, &face_id, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    srv_reply_json(r, 201, json_pack("{s:s,s:I,s:o}", "subject", r->params[1], "face_id",
                                     (json_int_t)face_id, "face", face_json(face)));
done:
    free(crop);
    mien_template_free(t);
    mien_faces_free(pick.faces);
    mien_image_free(img);
    job_done(r);
}

/* What search and verify check before any inference: the fmr parameter, one image, the
 * purpose parameters, the collection (its profile) and that it allows `action`'s purpose. */
static bool probe_prepare(request *r, const char *action)
{
    double fmr;
    if (query(r, Q_FMR) != NULL && !parse_double(query(r, Q_FMR), 1e-6, 1.0, &fmr)) {
        srv_reply_error(r, 400, "bad_request", "fmr wants a rate in 1e-6..1");
        return false;
    }
    if (!body_images(r, ONE_IMAGE, 1) || !body_params(r, PURPOSE_PARAMS, 2) ||
        !collection_profile(r, NULL)) {
        return false;
    }
    digest_images(r, 1);
    return purpose_allowed(r, action);
}

static bool p_search(request *r)
{
    int top = 10;
    mien_aggregate rule;
    if (query(r, Q_TOP) != NULL && !parse_int(query(r, Q_TOP), 1, 10000, &top)) {
        srv_reply_error(r, 400, "bad_request", "top wants 1..10000");
        return false;
    }
    if (query(r, Q_AGGREGATE) != NULL &&
        mien_aggregate_parse(query(r, Q_AGGREGATE), &rule) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request",
                        "aggregate wants default, best, mean, quality or top2");
        return false;
    }
    return probe_prepare(r, "search");
}

static void j_search(mien_session *s, void *arg)
{
    request *r = arg;
    mien_search_options so = mien_search_options_default();
    mien_template *t = NULL;
    mien_search_result res;
    mien_face face;
    mien_error err;
    mien_status st;
    mien_context ctx = request_context(r, r->image_sha256[0]);
    memset(&res, 0, sizeof(res));
    /* top and fmr left out stay 0: the library's defaults within the collection's caps; asked
     * above a cap, the library refuses (403, audited) */
    if (query(r, Q_TOP) != NULL) {
        parse_int(query(r, Q_TOP), 1, 10000, &so.top_k);
    }
    if (query(r, Q_FMR) != NULL) {
        parse_double(query(r, Q_FMR), 1e-6, 1.0, &so.max_fmr);
    }
    if (query(r, Q_AGGREGATE) != NULL) {
        mien_aggregate_parse(query(r, Q_AGGREGATE), &so.aggregate); /* checked in p_search */
    }
    if (!template_of(r, s, "search", NULL, 0, "", r->profile, &t, &face)) {
        goto done;
    }
    st = srv_search(r->srv, r->params[0], t, &so, &ctx, &res, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    const mien_candidate *c = res.candidates;
    json_t *arr = json_array();
    for (size_t k = 0; k < res.count; k++) {
        json_t *faces = json_array();
        for (size_t j = 0; j < c[k].n_faces; j++) {
            json_array_append_new(faces, json_pack("{s:I,s:o}", "face_id",
                                                   (json_int_t)c[k].faces[j].face_id,
                                                   "similarity",
                                                   json_real(round(c[k].faces[j].similarity *
                                                                   1e6) / 1e6)));
        }
        json_array_append_new(arr, json_pack("{s:I,s:s,s:o,s:f,s:I,s:o}", "rank",
                                             (json_int_t)(k + 1), "subject", c[k].subject,
                                             "similarity",
                                             json_real(round(c[k].similarity * 1e6) / 1e6),
                                             "fmr", c[k].fmr, "face_id",
                                             (json_int_t)c[k].face_id, "faces", faces));
    }
    /* The candidates await a person's review, unless the collection opted out (or there is
     * nothing to review). */
    json_t *review = res.review_id[0] != '\0'
                         ? json_pack("{s:s,s:i,s:s}", "id", res.review_id, "required",
                                     res.reviews_required, "status", "pending")
                         : json_null();
    srv_reply_json(r, 200, json_pack("{s:o,s:o,s:s,s:o,s:I,s:i,s:f}", "face", face_json(&face),
                                     "candidates", arr, "aggregate",
                                     mien_aggregate_name(so.aggregate == MIEN_AGGREGATE_DEFAULT
                                                             ? MIEN_AGGREGATE_DEFAULT_RULE
                                                             : so.aggregate),
                                     "review", review, "audit_seq", (json_int_t)res.audit_seq,
                                     "top", res.top_k, "fmr", res.max_fmr));
done:
    mien_search_result_free(&res);
    mien_template_free(t);
    job_done(r);
}

/* ---- verify (1:1 against an enrolled subject) ------------------------------------------ */

static bool p_verify(request *r)
{
    return probe_prepare(r, "verify");
}

static void j_verify(mien_session *s, void *arg)
{
    request *r = arg;
    mien_template *t = NULL;
    mien_verification v;
    mien_face face;
    mien_error err;
    mien_status st;
    double fmr = DEFAULT_VERIFY_FMR;
    mien_context ctx = request_context(r, r->image_sha256[0]);
    if (query(r, Q_FMR) != NULL) {
        parse_double(query(r, Q_FMR), 1e-6, 1.0, &fmr); /* checked in p_verify */
    }
    if (!template_of(r, s, "verify", r->params[1], 0, "", r->profile, &t, &face)) {
        goto done;
    }
    st = srv_verify(r->srv, r->params[0], r->params[1], t, fmr, &ctx, &v, &err);
    if (reply_failed(r, st, &err)) {
        goto done;
    }
    srv_reply_json(r, 200, json_pack("{s:s,s:o,s:f,s:f,s:b,s:I,s:o,s:I}", "subject",
                                     r->params[1], "similarity",
                                     json_real(round(v.similarity * 1e6) / 1e6), "fmr", v.fmr,
                                     "at_fmr", fmr, "accepted", v.accepted != 0, "faces",
                                     (json_int_t)v.n_faces, "face", face_json(&face),
                                     "audit_seq", (json_int_t)v.audit_seq));
done:
    mien_template_free(t);
    job_done(r);
}

/* ---- reviews -------------------------------------------------------------------------- */

/* A REVIEW with its decisions ("decisions": who decided what, oldest first; in two-person
 * mode who confirmed so far), read under the store lock. */
static json_t *review_json_decided(server *srv, const mien_review_info *v, mien_error *err,
                                   mien_status *st)
{
    mien_review_decision_info *d = NULL;
    size_t n = 0;
    SRV_LOCKED(srv, *st, mien_review_decisions(srv->store, v->id, &d, &n, err));
    if (*st != MIEN_OK) {
        return NULL;
    }
    json_t *list = json_array();
    for (size_t k = 0; k < n; k++) {
        json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:s,s:o,s:I}", "reviewer",
                                              d[k].reviewer, "decision",
                                              mien_decision_name(d[k].decision), "rank",
                                              d[k].rank, "note", d[k].note, "time",
                                              time_json(d[k].time), "audit_seq",
                                              (json_int_t)d[k].audit_seq));
    }
    mien_free(d);
    json_t *j = review_json(v);
    json_object_set_new(j, "decisions", list);
    return j;
}

static void h_review_get(request *r)
{
    mien_review_info v;
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_review_get(r->srv->store, r->params[0], &v, &err));
    json_t *j = st == MIEN_OK ? review_json_decided(r->srv, &v, &err, &st) : NULL;
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, j);
}

/* The review queue: ?status=pending|confirmed|rejected|disputed (default pending; "all" for
 * every status) and ?collection=C (default every collection), oldest first, each REVIEW with
 * its decisions. */
static void h_review_list(request *r)
{
    static const char *const statuses[] = {"pending", "confirmed", "rejected", "disputed",
                                           "all"};
    const char *status = query(r, Q_STATUS) != NULL ? query(r, Q_STATUS) : "pending";
    const char *coll = query(r, Q_COLLECTION);
    bool known = false;
    for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
        known = known || strcmp(status, statuses[k]) == 0;
    }
    if (!known) {
        srv_reply_error(r, 400, "bad_request", "\"status\" is pending, confirmed, rejected, "
                        "disputed or all");
        return;
    }
    mien_review_info *list = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_review_list(r->srv->store, coll != NULL && coll[0] ? coll : NULL,
                                            strcmp(status, "all") == 0 ? NULL : status, &list,
                                            &n, &err));
    json_t *arr = json_array();
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        json_t *j = review_json_decided(r->srv, &list[k], &err, &st);
        if (j != NULL) {
            json_array_append_new(arr, j);
        }
    }
    mien_free(list);
    if (reply_failed(r, st, &err)) {
        json_decref(arr);
        return;
    }
    srv_reply_json(r, 200, json_pack("{s:o}", "reviews", arr));
}

/* {"decision":"confirm","rank":R,"note":"..."} or {"decision":"reject"}; the reviewer is the
 * key. The same key twice → 403 (two-person review needs two people), a closed review →
 * 409, an unknown one → 404 (mien_review_decide). */
static void h_review_decide(request *r)
{
    json_t *d, *rank, *note;
    mien_review_decision decision;
    mien_review_info v;
    mien_error err;
    mien_status st;
    int rk = 0;
    if (!body_json(r)) {
        return;
    }
    d = json_object_get(r->json, "decision");
    rank = json_object_get(r->json, "rank");
    note = json_object_get(r->json, "note");
    if (!json_is_string(d) || mien_decision_parse(json_string_value(d), &decision) != MIEN_OK) {
        srv_reply_error(r, 400, "bad_request", "\"decision\" is \"confirm\" (with \"rank\") or "
                        "\"reject\"");
        return;
    }
    if (decision == MIEN_DECISION_CONFIRM) {
        if (!json_is_integer(rank) || json_integer_value(rank) < 1 ||
            json_integer_value(rank) > 100000) {
            srv_reply_error(r, 400, "bad_request", "a confirmation names the candidate: \"rank\" "
                            "(1 for the first)");
            return;
        }
        rk = (int)json_integer_value(rank);
    }
    if (note != NULL && !json_is_null(note) && !json_is_string(note)) {
        srv_reply_error(r, 400, "bad_request", "\"note\" must be a string");
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_review_decide(r->srv->store, r->params[0], r->actor, decision, rk,
                            json_is_string(note) ? json_string_value(note) : NULL, &v, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (reply_failed(r, st, &err)) {
        return;
    }
    json_t *j = review_json_decided(r->srv, &v, &err, &st);
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, j);
}

/* ---- retention: purging expired subjects ----------------------------------------------- */

/* Erases every subject whose expires_at has passed, under the store lock, as `actor`. */
static mien_status purge_now(server *srv, const char *actor, int64_t *purged, mien_error *err)
{
    mien_context ctx = {.actor = actor};
    mien_status st;
    pthread_mutex_lock(&srv->store_lock);
    st = mien_purge_expired(srv->store, &ctx, purged, err);
    pthread_mutex_unlock(&srv->store_lock);
    return st;
}

/* One periodic purge, reported on stdout (a count) or stderr (a failure, retried next time). */
static void purge_report(server *srv)
{
    int64_t n = 0;
    mien_error err;
    if (purge_now(srv, "purge", &n, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: purging expired subjects failed (retried in %d s): %s\n",
                srv->cfg.purge_interval_s, err.message);
    } else if (n > 0) {
        printf("mien serve: purged %lld expired subject%s\n", (long long)n, n == 1 ? "" : "s");
        fflush(stdout);
    }
}

/* The purge thread: every cfg.purge_interval_s seconds until srv_governance_stop. */
static void *purge_main(void *arg)
{
    server *srv = arg;
    pthread_mutex_lock(&srv->purge_mu);
    while (!srv->purge_stop) {
        struct timespec until;
        int rc = 0;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += srv->cfg.purge_interval_s;
        while (!srv->purge_stop && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&srv->purge_cv, &srv->purge_mu, &until);
        }
        if (srv->purge_stop) {
            break;
        }
        pthread_mutex_unlock(&srv->purge_mu);
        purge_report(srv);
        pthread_mutex_lock(&srv->purge_mu);
    }
    pthread_mutex_unlock(&srv->purge_mu);
    return NULL;
}

/* Normalises a comma-separated purpose list into out[cap] (items of [a-z0-9_.-]{1,63},
 * spaces and empty items dropped); false when an item is malformed or none is left. */
static bool purposes_normalise(const char *in, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = in; *p != '\0';) {
        size_t n;
        p += strspn(p, " ,");
        n = strcspn(p, " ,");
        if (n == 0) {
            continue;
        }
        if (n > PURPOSE_MAX || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.-") < n ||
            used + n + 2 > cap) {
            return false;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)n, p);
        p += n;
    }
    return used > 0;
}

bool srv_governance_start(server *srv)
{
    const char *list = srv->cfg.compare_purposes != NULL ? srv->cfg.compare_purposes
                                                         : DEFAULT_COMPARE_PURPOSES;
    pthread_condattr_t ca;
    int64_t n = 0;
    mien_error err;
    const char *group = srv->cfg.group_purposes != NULL ? srv->cfg.group_purposes
                                                        : DEFAULT_GROUP_PURPOSES;
    if (!purposes_normalise(list, srv->compare_purposes, sizeof(srv->compare_purposes))) {
        fprintf(stderr, "mien serve: --compare-purposes wants purposes of [a-z0-9_.-] (at most "
                "%d characters each) separated by commas, got '%s'\n", PURPOSE_MAX, list);
        return false;
    }
    if (!purposes_normalise(group, srv->group_purposes, sizeof(srv->group_purposes))) {
        fprintf(stderr, "mien serve: --group-purposes wants purposes of [a-z0-9_.-] (at most "
                "%d characters each) separated by commas, got '%s'\n", PURPOSE_MAX, group);
        return false;
    }
    if (srv->cfg.purge_interval_s == 0) {
        srv->cfg.purge_interval_s = DEFAULT_PURGE_INTERVAL_S;
    }
    if (purge_now(srv, "purge", &n, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: cannot purge expired subjects: %s\n", err.message);
        return false;
    }
    if (n > 0) {
        printf("mien serve: purged %lld expired subject%s\n", (long long)n, n == 1 ? "" : "s");
    }
    if (srv->cfg.purge_interval_s < 0) {
        return true;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->purge_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&srv->purge_mu, NULL);
    srv->purge_stop = false;
    if (pthread_create(&srv->purge_thread, NULL, purge_main, srv) != 0) {
        fprintf(stderr, "mien serve: cannot start the purge thread\n");
        pthread_cond_destroy(&srv->purge_cv);
        pthread_mutex_destroy(&srv->purge_mu);
        return false;
    }
    srv->purge_started = true;
    return true;
}

void srv_governance_stop(server *srv)
{
    if (!srv->purge_started) {
        return;
    }
    pthread_mutex_lock(&srv->purge_mu);
    srv->purge_stop = true;
    pthread_cond_signal(&srv->purge_cv);
    pthread_mutex_unlock(&srv->purge_mu);
    pthread_join(srv->purge_thread, NULL);
    pthread_cond_destroy(&srv->purge_cv);
    pthread_mutex_destroy(&srv->purge_mu);
    srv->purge_started = false;
}

/* POST /v1/purge: the periodic purge, now, as the calling key. */
static void h_purge(request *r)
{
    int64_t n = 0;
    mien_error err;
    mien_status st = purge_now(r->srv, r->actor, &n, &err);
    if (reply_failed(r, st, &err)) {
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    int64_t now = mien_store_now(r->srv->store);
    pthread_mutex_unlock(&r->srv->store_lock);
    srv_reply_json(r, 200, json_pack("{s:I,s:o}", "purged", (json_int_t)n, "at", time_json(now)));
}

/* ---- the audit log -------------------------------------------------------------------- */

static void h_audit_verify(request *r)
{
    mien_audit_report rep;
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_audit_verify(r->srv->store, &rep, &err));
    if (reply_failed(r, st, &err)) {
        return;
    }
    srv_reply_json(r, 200, json_pack("{s:b,s:I,s:I,s:I,s:s,s:s}", "ok", rep.ok != 0, "entries",
                                 (json_int_t)rep.entries, "first_bad", (json_int_t)rep.first_bad,
                                 "head_seq", (json_int_t)rep.head_seq, "problem", rep.problem,
                                 "public_key", rep.public_key));
}

static int export_line(void *ctx, const char *line)
{
    FILE *f = ctx;
    return fputs(line, f) < 0 || fputc('\n', f) == EOF;
}

/* NDJSON, one entry a line, oldest first. The lines go to an unlinked temporary file, sent
 * from there: memory stays flat however long the window. */
static void h_audit_export(request *r)
{
    int64_t from = 0, to = 0;
    mien_error err;
    mien_status st;
    FILE *f;
    long size;
    if ((query(r, Q_FROM) != NULL && mien_time_parse(query(r, Q_FROM), false, &from) != MIEN_OK) ||
        (query(r, Q_TO) != NULL && mien_time_parse(query(r, Q_TO), true, &to) != MIEN_OK)) {
        srv_reply_error(r, 400, "bad_request", "from and to are unix seconds, YYYY-MM-DD or "
                        "YYYY-MM-DDTHH:MM:SSZ");
        return;
    }
    if (to != 0 && from > to) {
        srv_reply_error(r, 400, "bad_request", "from is after to");
        return;
    }
    f = tmpfile();
    if (f == NULL) {
        srv_reply_error(r, 500, "internal", "cannot make a temporary file: %s", strerror(errno));
        return;
    }
    SRV_LOCKED(r->srv, st, mien_audit_export(r->srv->store, from, to, export_line, f, &err));
    if (st != MIEN_OK) {
        fclose(f);
        srv_reply_status(r, st, &err);
        return;
    }
    if (fflush(f) != 0 || ferror(f) || (size = ftell(f)) < 0) {
        fclose(f);
        srv_reply_error(r, 500, "internal", "cannot write the export: %s", strerror(errno));
        return;
    }
    if (size == 0) {
        fclose(f);
        free(r->resp);
        r->resp = strdup("");
        r->resp_len = 0;
        if (r->resp == NULL) {
            srv_reply_error(r, 500, "internal", "out of memory");
            return;
        }
    } else {
        r->resp_fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
        fclose(f);
        if (r->resp_fd < 0) {
            srv_reply_error(r, 500, "internal", "cannot send the export: %s", strerror(errno));
            return;
        }
        r->resp_fd_size = (uint64_t)size;
    }
    r->status = 200;
    r->resp_type = "application/x-ndjson";
}

/* ---- the table ---------------------------------------------------------------------------------- */

/* In openapi.yaml's order; --print-routes prints it. */
const route srv_route_table[] = {
    {"GET", "/", NULL, h_index, NULL, NULL},
    {"GET", "/static/{file}", NULL, h_static, NULL, NULL},
    {"GET", "/healthz", NULL, h_healthz, NULL, NULL},
    {"GET", "/readyz", NULL, h_readyz, NULL, NULL},
    {"GET", "/metrics", "audit", h_metrics, NULL, NULL},
    {"POST", "/v1/detect", "detect", NULL, p_detect, j_detect},
    {"POST", "/v1/compare", "compare", NULL, p_compare, j_compare},
    {"POST", "/v1/group", "search", NULL, p_group, j_group},
    {"GET", "/v1/collections", "collections.read", h_collections_list, NULL, NULL},
    {"POST", "/v1/collections", "collections.write", h_collections_create, NULL, NULL},
    {"GET", "/v1/collections/{c}", "collections.read", h_collection_get, NULL, NULL},
    {"DELETE", "/v1/collections/{c}", "collections.write", h_collection_drop, NULL, NULL},
    {"POST", "/v1/collections/{c}/subjects/{s}/faces", "enrol", NULL, p_enrol, j_enrol},
    {"GET", "/v1/collections/{c}/subjects", "subjects.read", h_subjects, NULL, NULL},
    {"POST", "/v1/collections/{c}/faces/{f}/move", "enrol", h_face_move, NULL, NULL},
    {"DELETE", "/v1/collections/{c}/subjects/{s}", "erase", h_erase, NULL, NULL},
    {"POST", "/v1/collections/{c}/search", "search", NULL, p_search, j_search},
    {"POST", "/v1/collections/{c}/subjects/{s}/verify", "search", NULL, p_verify, j_verify},
    {"GET", "/v1/reviews", "review", h_review_list, NULL, NULL},
    {"GET", "/v1/reviews/{id}", "review", h_review_get, NULL, NULL},
    {"POST", "/v1/reviews/{id}", "review", h_review_decide, NULL, NULL},
    {"POST", "/v1/purge", "collections.write", h_purge, NULL, NULL},
    {"GET", "/v1/audit/verify", "audit", h_audit_verify, NULL, NULL},
    {"GET", "/v1/audit/export", "audit", h_audit_export, NULL, NULL},
};
const size_t srv_route_count = sizeof(srv_route_table) / sizeof(srv_route_table[0]);
