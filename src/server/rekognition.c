/* rekognition.c — the Amazon Rekognition-compatible face API (rekognition.h,
 * docs/rekognition.md): AWS JSON 1.1 over `POST /`, requests signed with AWS Signature
 * Version 4 by a mien API key, the face operations mapped onto the public mien API, errors in
 * Rekognition's shape.
 *
 * How Rekognition's concepts land on mien's:
 *   collection       a mien collection; its policy (purposes, legal basis, consent, retention,
 *                    review) comes from X-Mien-* headers on CreateCollection, since
 *                    Rekognition's has no such fields.
 *   ExternalImageId  the subject (the person) the face is enrolled under; without one, each
 *                    indexed face becomes a subject of its own, "rekognition/<ImageId>/<n>" ('/'
 *                    cannot occur in an ExternalImageId, so the two never collide). A face's
 *                    UserId is its subject.
 *   user             a subject whose id is a valid UserId: an ExternalImageId, or CreateUser's
 *                    (a subject without faces). The "rekognition/..." subjects are the faces
 *                    that belong to no user: never listed or matched as users. AssociateFaces
 *                    moves such a face into the user (mien_face_move: re-sealed, audited) and
 *                    erases the subject it leaves; DisassociateFaces and DeleteUser move faces
 *                    out into "rekognition/<FaceId>" (the users API section below).
 *   FaceId           a UUID (RFC 9562 version 8, "custom") that encodes the store's face id
 *                    and a tag of the collection: face_uuid() below.
 *   ImageId          a version-8 UUID made of the SHA-256 of the image bytes.
 *   Similarity       0..100, a monotone function of mien's calibrated false-match rate that
 *                    puts Rekognition's default threshold 80 at FMR 1e-4 and its recommended
 *                    99 at FMR 1e-6: similarity_percent() below.
 * Every operation that touches personal data carries a mien_context: the actor is the key's
 * id, the purpose X-Mien-Purpose, the case X-Mien-Case-Ref. Searches and compares must send
 * both (InvalidParameterException naming them, and an audited refusal, otherwise); the other
 * operations fall back to the collection's first declared purpose and "rekognition:<request
 * id>". Every X-Mien-* header must be among the signed ones, so that nobody on the way can
 * change why a search is made. Searches go through mien_search, so they are audited, bounded
 * by the collection's caps (MaxFaces and FaceMatchThreshold are lowered to them) and open a
 * review, whose id is returned in the X-Mien-Review-Id header.
 *
 * Threads: srv_rekognition_prepare runs in an HTTP thread; operations without inference answer
 * there (store calls under the store mutex, as api.c), the others run on an inference worker
 * with its session. A call's state (rek_call) lives until the request completes. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "body.h"
#include "rekognition.h"
#include "service.h"
#include "sigv4.h"

#define TARGET_PREFIX "RekognitionService."
#define CONTENT_TYPE "application/x-amz-json-1.1"
#define SERVICE "rekognition" /* the credential scope's service: the AWS SDKs' signing name */
/* AWS refuses a signed request more than 15 minutes from its X-Amz-Date (General Reference,
 * "Elements of an AWS API request signature": protects against replay). */
#define CLOCK_SKEW_S (15 * 60)
#define HEADERS_MAX 128          /* request headers looked at for the signature */
/* Rekognition's limits: IndexFaces MaxFaces 1..100, DetectFaces and CompareFaces look at the
 * 100 largest faces; DeleteFaces takes 1..4096 ids; list pages hold at most 4096. */
#define FACES_MAX 100
/* Room on the stack for one aligned chip (mien_face_chip_side: 112 today, 150 for the dlib
 * model's chips), so that a brightness measure allocates nothing. */
#define CHIP_SIDE_MAX 160
#define DELETE_IDS_MAX 4096
#define PAGE_MAX 4096
#define LIST_FACES_DEFAULT 1000  /* ListFaces without MaxResults */
#define SEARCH_MAX_FACES_DEFAULT 100
/* The similarity scale (docs/rekognition.md "Similarity"): Rekognition's default threshold
 * (80) is mien's 1:1 default FMR (1e-4, the CLI's and /v1/compare's), its recommendation for
 * sensitive uses (99) the lowest FMR the calibration states (1e-6, docs/calibration.md); each
 * decade of FMR in between is 9.5 points, FMR 1 is 42, and the ends are linear in the cosine
 * (99 → 100 up to a cosine of 1, 42 → 0 down to -1). */
#define SIM_DEFAULT 80.0
#define SIM_STRICT 99.0
#define FMR_AT_DEFAULT 1e-4
#define FMR_AT_STRICT 1e-6
#define SIM_PER_DECADE ((SIM_STRICT - SIM_DEFAULT) / 2.0) /* log10(1e-4) - log10(1e-6) = 2 */
#define SIM_AT_FMR_ONE (SIM_DEFAULT - 4.0 * SIM_PER_DECADE) /* 42 */
/* Quality.Sharpness (0..100) = 100·v/(v + 60) of mien's Laplacian variance v: 60 is the floor
 * of mien's "high" class (about LFW's 5th percentile, docs/quality.md), so it maps to 50. */
#define SHARPNESS_HALF 60.0
/* The collection-tag domain of FaceIds (face_uuid). */
#define FACE_TAG_DOMAIN "mien/rekognition/collection"
/* Subjects made for faces indexed without an ExternalImageId start with this. */
#define AUTO_SUBJECT_PREFIX "rekognition/"

/* ---- errors in Rekognition's shape ------------------------------------------------------ */

/* One list for the type names and HTTP statuses (Rekognition API reference, "Errors"; the
 * AWS SDKs pick the exception class from __type). */
#define REK_ERROR_MAP(XX)                                            \
    XX(ACCESS_DENIED, "AccessDeniedException", 400)                  \
    XX(INVALID_SIGNATURE, "InvalidSignatureException", 400)          \
    XX(INVALID_PARAMETER, "InvalidParameterException", 400)          \
    XX(INVALID_IMAGE, "InvalidImageFormatException", 400)            \
    XX(IMAGE_TOO_LARGE, "ImageTooLargeException", 400)               \
    XX(NOT_FOUND, "ResourceNotFoundException", 400)                  \
    XX(EXISTS, "ResourceAlreadyExistsException", 400)                \
    XX(CONFLICT, "ConflictException", 400)                           \
    XX(PAGINATION, "InvalidPaginationTokenException", 400)           \
    XX(UNKNOWN_OPERATION, "UnknownOperationException", 400)          \
    XX(SERIALIZATION, "SerializationException", 400)                 \
    XX(THROTTLING, "ThrottlingException", 500)                       \
    XX(INTERNAL, "InternalServerError", 500)

typedef enum rek_error {
#define REK_ERROR_GEN(id, type, status) REK_##id,
    REK_ERROR_MAP(REK_ERROR_GEN)
#undef REK_ERROR_GEN
} rek_error;

static const struct {
    const char *type;
    int status;
} REK_ERRORS[] = {
#define REK_ERROR_GEN(id, type, status) [REK_##id] = {type, status},
    REK_ERROR_MAP(REK_ERROR_GEN)
#undef REK_ERROR_GEN
};

/* ---- a call's state ----------------------------------------------------------------------- */

struct rek_op;

typedef struct rek_call {
    const struct rek_op *op;
    mien_key_info key;             /* the signing key */
    /* the SigV4 header checked on the headers (authenticate_headers), for the signature
       checked once the body is in (authenticate_body) */
    sigv4_credential cred;
    char amz_date[17];
    uint8_t signing_key[SIGV4_KEY_BYTES]; /* wiped after use and at free */
    char region[64];               /* of the credential scope (ARNs repeat it) */
    char review_id[33];            /* X-Mien-Review-Id ("" when none) */
    /* X-Mien-* headers, "" when absent (docs/rekognition.md "Headers") */
    char purpose[64], case_ref[128], consent_ref[128];
    char purposes[256], legal_basis[256], consent[32], retention_days[32], review[32];
    char verification_only[16], profile[16], description[256], max_fmr[32], max_candidates[16];
    char case_default[64];         /* "rekognition:<request id>" */
    /* the collection the operation names, looked up in the HTTP thread */
    char collection[64];
    mien_collection_info coll;
    /* images from the body (base64-decoded; owned) */
    uint8_t *image[2];
    size_t image_len[2];
    uint8_t image_sha256[2][32];
} rek_call;

typedef struct rek_op {
    route rt;           /* "POST", the metrics label, the role action */
    const char *name;   /* after "RekognitionService." */
    void (*run)(request *r, rek_call *c);  /* answers in the HTTP thread, or */
    bool (*prepare)(request *r, rek_call *c); /* checks before queueing (false: replied) */
    void (*job)(mien_session *s, request *r, rek_call *c); /* on a worker */
} rek_op;

void srv_rekognition_call_free(rek_call *c)
{
    if (c == NULL) {
        return;
    }
    free(c->image[0]);
    free(c->image[1]);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

/* ---- replies ------------------------------------------------------------------------------ */

static void set_headers(request *r, rek_call *c)
{
    r->hdr_name[0] = "x-amzn-RequestId";
    r->hdr_value[0] = r->request_id;
    r->hdr_name[1] = NULL;
    if (c != NULL && c->review_id[0] != '\0') {
        r->hdr_name[1] = "X-Mien-Review-Id";
        r->hdr_value[1] = c->review_id;
    }
}

/* Sets the response to obj (stolen) as AWS JSON 1.1 with `status`. */
static void reply(request *r, int status, json_t *obj)
{
    srv_reply_serialised(r, status, obj, CONTENT_TYPE,
                         "{\"__type\":\"InternalServerError\",\"message\":\"out of memory\"}");
    set_headers(r, r->rek);
}

static void reply_ok(request *r, json_t *obj)
{
    reply(r, 200, obj != NULL ? obj : json_object());
}

static void rek_fail(request *r, rek_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* {"__type": TYPE, "message": ...} with the type's status. */
static void rek_fail(request *r, rek_error e, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e == REK_INTERNAL) { /* the detail may name the database or a file: to the log */
        srv_log_failure(r, REK_ERRORS[e].status, REK_ERRORS[e].type, msg);
        snprintf(msg, sizeof(msg), SRV_FAILED_MESSAGE, r->request_id);
    }
    reply(r, REK_ERRORS[e].status,
          json_pack("{s:s,s:s}", "__type", REK_ERRORS[e].type, "message", msg));
    if (r->rek != NULL) {
        r->rek->review_id[0] = '\0';
    }
    set_headers(r, r->rek);
}

/* The Rekognition errors of the library's statuses that a caller can cause; any other status
 * is an InternalServerError (logged). */
static const struct {
    mien_status st;
    rek_error e;
} REK_OF_STATUS[] = {
    {MIEN_ERR_NOT_FOUND, REK_NOT_FOUND},
    {MIEN_ERR_EXISTS, REK_EXISTS},
    {MIEN_ERR_ARG, REK_INVALID_PARAMETER},
    {MIEN_ERR_FORBIDDEN, REK_ACCESS_DENIED},
};

/* The Rekognition error a library status stands for, with err's message. */
static void rek_fail_status(request *r, mien_status st, const mien_error *err)
{
    const char *msg = err != NULL && err->message[0] ? err->message : mien_strerror(st);
    if (st == MIEN_ERR_IMAGE) {
        rek_fail(r, strstr(msg, "over the limit") != NULL ? REK_IMAGE_TOO_LARGE : REK_INVALID_IMAGE,
                 "%s", msg);
        return;
    }
    for (size_t i = 0; i < sizeof(REK_OF_STATUS) / sizeof(REK_OF_STATUS[0]); i++) {
        if (REK_OF_STATUS[i].st == st) {
            rek_fail(r, REK_OF_STATUS[i].e, "%s", msg);
            return;
        }
    }
    rek_fail(r, REK_INTERNAL, "%s (%s)", msg, mien_strerror(st));
}

void srv_rekognition_reply_throttled(request *r)
{
    rek_fail(r, REK_THROTTLING, "the inference queue is full; retry in a second");
}

/* ---- small helpers ------------------------------------------------------------------------- */

static const char *header(request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Copies header `name` into out[cap] ("" when absent). False (replied) when longer. */
static bool copy_header(request *r, const char *name, char *out, size_t cap)
{
    const char *v = header(r, name);
    out[0] = '\0';
    if (v == NULL) {
        return true;
    }
    if (strlen(v) >= cap) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s is longer than %zu bytes", name, cap - 1);
        return false;
    }
    memcpy(out, v, strlen(v) + 1);
    return true;
}

static void uuid_text(const uint8_t b[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* Parses 8-4-4-4-12 hex (either case) into b[16]. */
static bool uuid_parse(const char *s, uint8_t b[16])
{
    static const int dash[4] = {8, 13, 18, 23};
    int k = 0;
    if (s == NULL || strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (s[dash[i]] != '-') {
            return false;
        }
    }
    for (int i = 0; i < 36; i += 2) {
        if (s[i] == '-') {
            i--;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1])) {
            return false;
        }
        char hex[3] = {s[i], s[i + 1], '\0'};
        b[k++] = (uint8_t)strtoul(hex, NULL, 16);
    }
    return k == 16;
}

/* The 6-byte tag of a collection in its FaceIds: SHA-256(FACE_TAG_DOMAIN "\0" name)[0..5]. */
static void collection_tag(const char *name, uint8_t tag[6])
{
    uint8_t buf[sizeof(FACE_TAG_DOMAIN) + 64], h[32];
    size_t n = strlen(name);
    if (n > 63) {
        n = 63;
    }
    memcpy(buf, FACE_TAG_DOMAIN, sizeof(FACE_TAG_DOMAIN)); /* the NUL included */
    memcpy(buf + sizeof(FACE_TAG_DOMAIN), name, n);
    mien_sha256(buf, sizeof(FACE_TAG_DOMAIN) + n, h);
    memcpy(tag, h, 6);
}

/* The FaceId of face `face_id` (>= 0) of `collection`, a version-8 UUID:
 *   bytes 0..5   the collection's tag (a FaceId from another collection is not found here)
 *   byte 6       0x80 (version 8), byte 7 0 (reserved)
 *   byte 8       0x80 | face_id bits 56..61 (variant 10), bytes 9..15 face_id bits 0..55
 * so face 42 of any collection ends in "-8000-80000000002a"... with its tag in front. */
static void face_uuid(const char *collection, int64_t face_id, char out[37])
{
    uint8_t b[16];
    uint64_t id = (uint64_t)face_id;
    collection_tag(collection, b);
    b[6] = 0x80;
    b[7] = 0x00;
    b[8] = (uint8_t)(0x80 | ((id >> 56) & 0x3f));
    for (int i = 0; i < 7; i++) {
        b[15 - i] = (uint8_t)(id >> (8 * i));
    }
    uuid_text(b, out);
}

/* The face id a FaceId of `collection` encodes; false for a malformed FaceId or one of
 * another collection. */
static bool face_uuid_parse(const char *collection, const char *text, int64_t *face_id)
{
    uint8_t b[16], tag[6];
    uint64_t id = 0;
    if (!uuid_parse(text, b) || b[6] != 0x80 || b[7] != 0 || (b[8] & 0xc0) != 0x80) {
        return false;
    }
    collection_tag(collection, tag);
    if (memcmp(b, tag, 6) != 0) {
        return false;
    }
    id = (uint64_t)(b[8] & 0x3f) << 56;
    for (int i = 0; i < 7; i++) {
        id |= (uint64_t)b[15 - i] << (8 * i);
    }
    *face_id = (int64_t)id;
    return true;
}

/* ImageId: the first 16 bytes of the image's SHA-256 as a version-8 UUID. */
static void image_uuid(const uint8_t sha[32], char out[37])
{
    uint8_t b[16];
    memcpy(b, sha, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x80);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    uuid_text(b, out);
}

/* "mien/<profile>/<model a>[+<model b>]": FaceModelVersion and IndexFacesModelVersion. */
static void model_version(const mien_collection_info *ci, char *out, size_t cap)
{
    snprintf(out, cap, "mien/%s/%s%s%s", mien_profile_name(ci->profile), ci->model_a,
             ci->model_b[0] ? "+" : "", ci->model_b);
}

/* Whether `item` is one of the comma-separated `list` (spaces around items ignored). */
static bool listed(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        size_t len = strcspn(p, ",");
        size_t t = len;
        while (t > 0 && p[t - 1] == ' ') {
            t--;
        }
        if (t == n && n > 0 && strncmp(p, item, n) == 0) {
            return true;
        }
        p += len;
    }
    return false;
}

/* The first item of a comma-separated list into out[cap] ("" when empty). */
static void first_item(const char *list, char *out, size_t cap)
{
    while (*list == ' ' || *list == ',') {
        list++;
    }
    size_t n = strcspn(list, ",");
    while (n > 0 && list[n - 1] == ' ') {
        n--;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, list, n);
    out[n] = '\0';
}

/* The audit context of this call: the key's id; X-Mien-Purpose, else default_purpose; the
 * case X-Mien-Case-Ref, else "rekognition:<request id>". Strings borrowed from c and
 * purpose_buf, which must outlive ctx. */
static mien_context call_context(rek_call *c, const char *default_purpose,
                                 const uint8_t *input_sha256)
{
    mien_context ctx = {
        .actor = c->key.id,
        .purpose = c->purpose[0] != '\0' ? c->purpose : default_purpose,
        .case_ref = c->case_ref[0] != '\0' ? c->case_ref : c->case_default,
        .input_sha256 = input_sha256,
    };
    return ctx;
}

/* The audit context of a search or a compare: the key's id and the X-Mien-Purpose and
 * X-Mien-Case-Ref headers as sent, "" when absent (the library refuses, and audits, a search
 * without them; identification never runs on an assumed purpose or a made-up case). */
static mien_context identify_context(rek_call *c, const uint8_t *input_sha256)
{
    mien_context ctx = {.actor = c->key.id, .purpose = c->purpose, .case_ref = c->case_ref,
                        .input_sha256 = input_sha256};
    return ctx;
}

/* Whether the call sent both accountability headers a search or compare needs. */
static bool accountable(const rek_call *c)
{
    return c->purpose[0] != '\0' && c->case_ref[0] != '\0';
}

/* InvalidParameterException naming the headers a search or compare lacks; `purposes` lists
 * what X-Mien-Purpose may be. */
static void fail_unaccountable(request *r, const rek_call *c, const char *purposes)
{
    rek_fail(r, REK_INVALID_PARAMETER,
             "%s needs the headers X-Mien-Purpose (why: one of %s) and X-Mien-Case-Ref (the "
             "case, ticket or file it is done for), sent and signed; missing: %s%s%s "
             "(docs/rekognition.md)", c->op != NULL ? c->op->name : "this operation",
             purposes[0] != '\0' ? purposes : "the declared purposes",
             c->purpose[0] == '\0' ? "X-Mien-Purpose" : "",
             c->purpose[0] == '\0' && c->case_ref[0] == '\0' ? ", " : "",
             c->case_ref[0] == '\0' ? "X-Mien-Case-Ref" : "");
}

/* ---- the similarity scale -------------------------------------------------------------------- */

/* Rekognition-style similarity (0..100) of a subject's aggregate score `sim` under `rule` over
 * n faces, profile p (file comment): the scale follows the aggregate's own calibration. */
static double aggregate_percent(mien_profile p, mien_aggregate rule, size_t n, float sim)
{
    float t_strict = 1.0f, t_one = -1.0f;
    double fmr = 1.0, s;
    if (mien_aggregate_threshold(p, rule, n, FMR_AT_STRICT, &t_strict) != MIEN_OK ||
        mien_aggregate_threshold(p, rule, n, 1.0, &t_one) != MIEN_OK) {
        return 0.0; /* an uncalibrated profile: no claim at all */
    }
    if (sim >= t_strict) {
        s = t_strict < 1.0f ? SIM_STRICT + (100.0 - SIM_STRICT) * ((double)sim - t_strict) /
                                               (1.0 - t_strict)
                            : 100.0;
    } else if (sim < t_one) {
        s = SIM_AT_FMR_ONE * ((double)sim + 1.0) / ((double)t_one + 1.0);
    } else {
        mien_aggregate_fmr(p, rule, n, sim, &fmr);
        s = SIM_DEFAULT - SIM_PER_DECADE * (log10(fmr) - log10(FMR_AT_DEFAULT));
    }
    return s < 0.0 ? 0.0 : s > 100.0 ? 100.0 : s;
}

/* The same for one face's similarity (the single-face table). */
static double similarity_percent(mien_profile p, float sim)
{
    return aggregate_percent(p, MIEN_AGGREGATE_BEST, 1, sim);
}

/* A face match of a face search: its similarity (percent) and its Face object. */
typedef struct face_hit {
    double percent;
    json_t *face;
} face_hit;

static int face_hit_cmp(const void *a, const void *b)
{
    const face_hit *x = a, *y = b;
    return (x->percent < y->percent) - (x->percent > y->percent);
}

/* The false-match rate at which a search must cut to return every face at or above `percent`
 * (clamped to the calibrated 1e-6 .. 1; the caller still filters on similarity_percent). */
static double fmr_for_percent(double percent)
{
    double f = pow(10.0, log10(FMR_AT_DEFAULT) - (percent - SIM_DEFAULT) / SIM_PER_DECADE);
    return f < FMR_AT_STRICT ? FMR_AT_STRICT : f > 1.0 ? 1.0 : f;
}

/* ---- the signature -------------------------------------------------------------------------- */

typedef struct header_list {
    sigv4_pair h[HEADERS_MAX];
    size_t n;
    bool overflow;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_list *hl = cls;
    (void)kind;
    if (hl->n == HEADERS_MAX) {
        hl->overflow = true;
        return MHD_NO;
    }
    hl->h[hl->n].name = key;
    hl->h[hl->n].value = value != NULL ? value : "";
    hl->n++;
    return MHD_YES;
}

/* Whether token `name` is one of the ';'-separated `list`. */
static bool signed_header(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ";");
        if (len == n && strncmp(p, name, n) == 0) {
            return true;
        }
        p += len;
        if (*p == ';') {
            p++;
        }
    }
    return false;
}

static const char SIG_MISMATCH[] =
    "The request signature does not match, or the access key is unknown or revoked "
    "(sign with a mien key: access key id = the key's id, secret = its AWS secret from "
    "`mien keys create`)";

/* Whether every X-Mien-* header of hl is among the signed ones (`list`); replies
 * AccessDeniedException naming the first that is not. The purpose, case and consent they carry
 * are what the audit log records, so they must come from the key's holder as sent: the AWS
 * SDKs sign every header a middleware adds before signing. */
static bool mien_headers_signed(request *r, const header_list *hl, const char *list)
{
    static const char prefix[] = "x-mien-";
    for (size_t i = 0; i < hl->n; i++) {
        const char *name = hl->h[i].name;
        char lower[64];
        size_t n = strlen(name);
        if (strncasecmp(name, prefix, sizeof(prefix) - 1) != 0) {
            continue;
        }
        for (size_t k = 0; k < n && k + 1 < sizeof(lower); k++) {
            lower[k] = (char)tolower((unsigned char)name[k]);
        }
        lower[n < sizeof(lower) ? n : sizeof(lower) - 1] = '\0';
        if (n >= sizeof(lower) || !signed_header(list, lower)) {
            rek_fail(r, REK_ACCESS_DENIED, "the header %.63s is not signed: SignedHeaders must "
                     "include every X-Mien- header sent (the AWS SDKs sign the headers a "
                     "middleware adds at the build step; docs/rekognition.md)", name);
            return false;
        }
    }
    return true;
}

/* The half of the SigV4 check that needs no body, made on the request's headers before any
 * of the body is read (issue 13 item 7): the Authorization header's form, X-Amz-Date within
 * 15 minutes, the credential scope, the signed headers, and the key — it exists and is not
 * revoked (the library derives its signing key, kept in c for authenticate_body). Replies
 * AccessDeniedException (one message for an unknown key, a revoked key and, later, a wrong
 * secret: keys.c's rule) or InvalidSignatureException (stale X-Amz-Date: the AWS SDKs correct
 * their clock from the Date header and retry) and returns false otherwise. */
static bool authenticate_headers(request *r, rek_call *c)
{
    char why[160];
    int64_t t = 0;
    mien_error err;
    mien_status st;
    const char *authz = header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *amz_date = header(r, "X-Amz-Date");
    if (authz == NULL) {
        rek_fail(r, REK_ACCESS_DENIED, "missing Authorization: sign requests with AWS Signature "
                                       "Version 4 and a mien key (docs/rekognition.md)");
        return false;
    }
    if (header(r, "X-Amz-Security-Token") != NULL) {
        rek_fail(r, REK_ACCESS_DENIED, "session tokens are not supported: use a mien key's "
                                       "access key id and secret access key");
        return false;
    }
    if (!srv_sigv4_parse_authorization(authz, &c->cred, why, sizeof(why))) {
        rek_fail(r, REK_ACCESS_DENIED, "%s", why);
        return false;
    }
    if (amz_date == NULL || !srv_sigv4_parse_amz_date(amz_date, &t)) {
        rek_fail(r, REK_ACCESS_DENIED, "X-Amz-Date (YYYYMMDDTHHMMSSZ) is missing or malformed");
        return false;
    }
    int64_t now = (int64_t)time(NULL);
    if (t < now - CLOCK_SKEW_S || t > now + CLOCK_SKEW_S) {
        rek_fail(r, REK_INVALID_SIGNATURE,
                 "Signature expired: %s is more than 15 minutes from the server's time", amz_date);
        return false;
    }
    if (strncmp(amz_date, c->cred.date, 8) != 0 || strcmp(c->cred.service, SERVICE) != 0) {
        rek_fail(r, REK_ACCESS_DENIED, "the credential scope must be <X-Amz-Date's day>/<region>/"
                                       SERVICE "/aws4_request");
        return false;
    }
    if (!signed_header(c->cred.signed_headers, "host") ||
        !signed_header(c->cred.signed_headers, "x-amz-date") ||
        !signed_header(c->cred.signed_headers, "x-amz-target")) {
        rek_fail(r, REK_ACCESS_DENIED, "SignedHeaders must include host, x-amz-date and "
                                       "x-amz-target");
        return false;
    }
    snprintf(c->amz_date, sizeof(c->amz_date), "%s", amz_date); /* parsed: 16 characters */
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_key_sigv4_signing_key(r->srv->store, c->cred.access_key, c->cred.date,
                                    c->cred.region, c->cred.service, c->signing_key, &c->key,
                                    &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st == MIEN_ERR_NOT_FOUND || st == MIEN_ERR_ARG) {
        rek_fail(r, REK_ACCESS_DENIED, "%s", SIG_MISMATCH);
        return false;
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* The other half, once the body is in: the signature over the canonical request, whose
 * payload hash is the body's. On success the key becomes the request's actor; otherwise
 * replies AccessDeniedException and returns false. The signing key is wiped either way. */
static bool authenticate_body(request *r, rek_call *c)
{
    header_list hl = {.n = 0};
    sigv4_request req;
    char why[160], payload[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
    char *creq = NULL, *sts = NULL;
    const char *content_sha = header(r, "X-Amz-Content-Sha256");
    bool ok = false;
    srv_sigv4_sha256_hex(r->body != NULL ? r->body : (const uint8_t *)"", r->body_len, payload);
    if (content_sha != NULL && strcasecmp(content_sha, payload) != 0) {
        rek_fail(r, REK_ACCESS_DENIED, "X-Amz-Content-Sha256 does not match the body");
        goto done;
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, &hl);
    if (hl.overflow) {
        rek_fail(r, REK_ACCESS_DENIED, "more than %d headers", HEADERS_MAX);
        goto done;
    }
    if (!mien_headers_signed(r, &hl, c->cred.signed_headers)) {
        goto done;
    }
    req = (sigv4_request){.method = "POST", .path = "/", .query = NULL, .n_query = 0,
                          .headers = hl.h, .n_headers = hl.n, .payload_sha256_hex = payload};
    creq = srv_sigv4_canonical_request(&req, c->cred.signed_headers, why, sizeof(why));
    sts = creq != NULL ? srv_sigv4_string_to_sign(c->amz_date, &c->cred, creq) : NULL;
    if (sts == NULL) {
        if (creq == NULL && why[0] != '\0') {
            rek_fail(r, REK_ACCESS_DENIED, "%s", why);
        } else {
            rek_fail(r, REK_INTERNAL, "out of memory");
        }
        goto done;
    }
    srv_sigv4_signature(c->signing_key, sts, sig);
    if (!srv_sigv4_signature_equal(sig, c->cred.signature)) {
        rek_fail(r, REK_ACCESS_DENIED, "%s", SIG_MISMATCH);
        goto done;
    }
    snprintf(c->region, sizeof(c->region), "%s", c->cred.region);
    snprintf(r->actor, sizeof(r->actor), "%s", c->key.id);
    r->role = c->key.role;
    ok = true;
done:
    sodium_memzero(c->signing_key, sizeof(c->signing_key));
    free(creq);
    free(sts);
    return ok;
}

/* ---- parameters ------------------------------------------------------------------------------ */

/* Member `name` of the body: a string of 1..max bytes when present; NULL when absent (and not
 * required). False (replied InvalidParameterException) otherwise. */
static bool param_string(request *r, const char *name, bool required, size_t max,
                         const char **out)
{
    json_t *v = json_object_get(r->json, name);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            rek_fail(r, REK_INVALID_PARAMETER, "%s is required", name);
            return false;
        }
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s must be a string of 1..%zu bytes", name, max);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Member `name`: an integer in lo..hi, def when absent. */
static bool param_int(request *r, const char *name, long lo, long hi, long def, long *out)
{
    json_t *v = json_object_get(r->json, name);
    *out = def;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s must be an integer in %ld..%ld", name, lo, hi);
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

/* Member `name`: a number in lo..hi, def when absent. */
static bool param_number(request *r, const char *name, double lo, double hi, double def,
                         double *out)
{
    json_t *v = json_object_get(r->json, name);
    *out = def;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s must be a number in %g..%g", name, lo, hi);
        return false;
    }
    *out = json_number_value(v);
    return true;
}

/* CollectionId: Rekognition's [a-zA-Z0-9_.\-]+ (up to 255), within mien's 63 characters. */
static bool param_collection(request *r, rek_call *c)
{
    const char *id;
    if (!param_string(r, "CollectionId", true, 255, &id)) {
        return false;
    }
    for (const char *p = id; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
            rek_fail(r, REK_INVALID_PARAMETER, "CollectionId must match [a-zA-Z0-9_.\\-]+");
            return false;
        }
    }
    if (strlen(id) > 63) {
        rek_fail(r, REK_INVALID_PARAMETER, "mien collection ids are at most 63 characters");
        return false;
    }
    snprintf(c->collection, sizeof(c->collection), "%s", id);
    return true;
}

/* An ExternalImageId or UserId (a person: a mien subject): Rekognition's [a-zA-Z0-9_.\-:]+,
 * within mien's 127 bytes. So it never holds the '/' of the subjects made for faces that
 * belong to no user (AUTO_SUBJECT_PREFIX). False when replied. */
static bool person_id_ok(request *r, const char *name, const char *id)
{
    for (const char *p = id; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr("_.-:", *p) == NULL) {
            rek_fail(r, REK_INVALID_PARAMETER, "%s must match [a-zA-Z0-9_.\\-:]+", name);
            return false;
        }
    }
    if (strlen(id) > 127) {
        rek_fail(r, REK_INVALID_PARAMETER, "mien subjects (%s) are at most 127 characters",
                 name);
        return false;
    }
    return true;
}

/* UserId: required, a person_id_ok. */
static bool param_user(request *r, const char **out)
{
    return param_string(r, "UserId", true, 128, out) && person_id_ok(r, "UserId", *out);
}

/* Looks c->collection up into c->coll; replies ResourceNotFoundException when absent. */
static bool lookup_collection(request *r, rek_call *c)
{
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_collection_get(r->srv->store, c->collection, &c->coll, &err));
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

typedef enum quality_filter { QF_NONE, QF_AUTO, QF_LOW, QF_MEDIUM, QF_HIGH } quality_filter;

/* QualityFilter: NONE, AUTO, LOW, MEDIUM or HIGH; def when absent. */
static bool param_quality(request *r, quality_filter def, quality_filter *out)
{
    static const char *const names[] = {"NONE", "AUTO", "LOW", "MEDIUM", "HIGH"};
    const char *v;
    *out = def;
    if (!param_string(r, "QualityFilter", false, 16, &v)) {
        return false;
    }
    if (v == NULL) {
        return true;
    }
    for (int k = 0; k < 5; k++) {
        if (strcmp(v, names[k]) == 0) {
            *out = (quality_filter)k;
            return true;
        }
    }
    rek_fail(r, REK_INVALID_PARAMETER, "QualityFilter is NONE, AUTO, LOW, MEDIUM or HIGH");
    return false;
}

/* Attributes / DetectionAttributes: each "DEFAULT", "ALL" or one of Rekognition's attribute
 * names. mien computes the DEFAULT set only; asking for age, gender or emotions by name is
 * refused (never inferred), the other appearance attributes are accepted and omitted. */
static bool param_attributes(request *r, const char *name)
{
    static const char *const known[] = {"DEFAULT", "ALL", "BEARD", "EYE_DIRECTION",
                                        "EYEGLASSES", "EYES_OPEN", "FACE_OCCLUDED",
                                        "MOUTH_OPEN", "MUSTACHE", "SMILE", "SUNGLASSES"};
    static const char *const never[] = {"AGE_RANGE", "GENDER", "EMOTIONS"};
    json_t *v = json_object_get(r->json, name), *item;
    size_t i;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_array(v)) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s must be a list of attribute names", name);
        return false;
    }
    json_array_foreach(v, i, item) {
        const char *s = json_is_string(item) ? json_string_value(item) : "";
        bool ok = false;
        for (size_t k = 0; k < sizeof(never) / sizeof(never[0]); k++) {
            if (strcmp(s, never[k]) == 0) {
                rek_fail(r, REK_INVALID_PARAMETER,
                         "mien never infers age, gender or emotion (%s): docs/rekognition.md", s);
                return false;
            }
        }
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            ok = ok || strcmp(s, known[k]) == 0;
        }
        if (!ok) {
            rek_fail(r, REK_INVALID_PARAMETER, "%s: unknown attribute '%.64s'", name, s);
            return false;
        }
    }
    return true;
}

/* Image member `name` ({"Bytes": base64}) into c->image[k] with its SHA-256. S3Object is
 * refused: mien has no access to S3. */
static bool param_image(request *r, rek_call *c, const char *name, int k)
{
    json_t *img = json_object_get(r->json, name), *bytes;
    if (!json_is_object(img)) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s is required (an object with Bytes)", name);
        return false;
    }
    if (json_object_get(img, "S3Object") != NULL) {
        rek_fail(r, REK_INVALID_PARAMETER,
                 "%s.S3Object is not supported: mien reads no S3 buckets; send the image itself "
                 "in %s.Bytes", name, name);
        return false;
    }
    bytes = json_object_get(img, "Bytes");
    if (!json_is_string(bytes)) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s.Bytes (the image, base64) is required", name);
        return false;
    }
    if (!srv_base64_decode(json_string_value(bytes), json_string_length(bytes), &c->image[k],
                           &c->image_len[k])) {
        rek_fail(r, REK_INVALID_PARAMETER, "%s.Bytes is not valid base64", name);
        return false;
    }
    if (c->image_len[k] == 0) {
        rek_fail(r, REK_INVALID_IMAGE, "%s.Bytes is empty", name);
        return false;
    }
    mien_sha256(c->image[k], c->image_len[k], c->image_sha256[k]);
    return true;
}

/* ---- faces as Rekognition describes them ----------------------------------------------------- */

/* Decodes image k (timed as "decode"); replies InvalidImageFormatException or
 * ImageTooLargeException and returns NULL on failure. */
static mien_image *decode_image(request *r, rek_call *c, int k)
{
    mien_image *img = NULL;
    mien_error err;
    mien_status st = srv_decode(r->srv, c->image[k], c->image_len[k], &img, &err);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return NULL;
    }
    return img;
}

/* Decodes image k and detects its faces; *order (owned by the caller, free()) lists them
 * largest first (Rekognition works on the largest faces). False when replied. */
static bool faces_by_area(request *r, rek_call *c, mien_session *s, int k, mien_image **img,
                          mien_face **faces, size_t *n, size_t **order)
{
    mien_error err;
    mien_status st;
    *faces = NULL;
    *order = NULL;
    *n = 0;
    if ((*img = decode_image(r, c, k)) == NULL) {
        return false;
    }
    st = srv_detect(r->srv, s, *img, NULL, faces, n, &err);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    *order = calloc(*n + 1, sizeof(**order));
    if (*order == NULL) {
        rek_fail(r, REK_INTERNAL, "out of memory");
        return false;
    }
    mien_faces_by_area(*faces, *n, *order);
    return true;
}

static json_t *bbox_json(const mien_face *f, const mien_image *img)
{
    double w = mien_image_original_width(img), h = mien_image_original_height(img);
    return json_pack("{s:f,s:f,s:f,s:f}", "Width", (f->box[2] - f->box[0]) / w, "Height",
                     (f->box[3] - f->box[1]) / h, "Left", f->box[0] / w, "Top", f->box[1] / h);
}

/* Mean luma (BT.601 integer weights, as the sharpness measure) of the face's aligned chip, as
 * 0..100; -1 when the chip cannot be made. */
static double brightness(const mien_image *img, const mien_face *f)
{
    uint8_t rgb[CHIP_SIDE_MAX * CHIP_SIDE_MAX * 3];
    size_t pixels = (size_t)mien_face_chip_side() * (size_t)mien_face_chip_side();
    uint64_t sum = 0;
    if (pixels * 3 > sizeof(rgb) || mien_face_chip(img, f, rgb, NULL) != MIEN_OK) {
        return -1.0;
    }
    for (size_t i = 0; i < pixels; i++) {
        sum += (77u * rgb[3 * i] + 150u * rgb[3 * i + 1] + 29u * rgb[3 * i + 2]) >> 8;
    }
    return 100.0 * (double)sum / ((double)pixels * 255.0);
}

/* FaceDetail / ComparedFace: BoundingBox, Confidence, Landmarks, Pose, Quality — what mien
 * computes; never age, gender or emotions (docs/rekognition.md). */
static json_t *face_detail_json(const mien_image *img, const mien_face *f)
{
    static const char *const types[5] = {"eyeLeft", "eyeRight", "nose", "mouthLeft",
                                         "mouthRight"};
    double w = mien_image_original_width(img), h = mien_image_original_height(img);
    json_t *lm = json_array(), *quality;
    double b = brightness(img, f), v = f->quality.sharpness;
    for (int j = 0; j < 5; j++) {
        json_array_append_new(lm, json_pack("{s:s,s:f,s:f}", "Type", types[j], "X",
                                            f->landmarks[j][0] / w, "Y", f->landmarks[j][1] / h));
    }
    quality = json_pack("{s:f}", "Sharpness", v > 0 ? 100.0 * v / (v + SHARPNESS_HALF) : 0.0);
    if (b >= 0) {
        json_object_set_new(quality, "Brightness", json_real(b));
    }
    return json_pack("{s:o,s:f,s:o,s:{s:f,s:f,s:f},s:o}", "BoundingBox", bbox_json(f, img),
                     "Confidence", 100.0 * f->score, "Landmarks", lm, "Pose", "Roll",
                     (double)f->quality.roll, "Yaw", (double)f->quality.yaw, "Pitch",
                     (double)f->quality.pitch, "Quality", quality);
}

/* Whether face f passes quality filter q (mien's classes, docs/quality.md: AUTO and MEDIUM
 * keep medium and high, HIGH only high, LOW and NONE everything). */
static bool quality_passes(const mien_face *f, quality_filter q)
{
    switch (q) {
    case QF_NONE:
    case QF_LOW:
        return true;
    case QF_AUTO:
    case QF_MEDIUM:
        return f->quality.klass >= MIEN_QUALITY_MEDIUM;
    case QF_HIGH:
        return f->quality.klass == MIEN_QUALITY_HIGH;
    }
    return true;
}

/* Rekognition's reasons why f fails filter q, from the rule of the class it missed
 * (docs/quality.md), "LOW_FACE_QUALITY" always. */
static json_t *quality_reasons(const mien_face *f, quality_filter q)
{
    const mien_quality *m = &f->quality;
    bool high = q == QF_HIGH && m->klass != MIEN_QUALITY_LOW; /* missed "high", not "medium" */
    json_t *a = json_array();
    if (m->interocular_px < (high ? 40.0f : 20.0f)) {
        json_array_append_new(a, json_string("SMALL_BOUNDING_BOX"));
    }
    if (fabsf(m->yaw) > (high ? 20.0f : 45.0f) || fabsf(m->pitch) > (high ? 20.0f : 35.0f)) {
        json_array_append_new(a, json_string("EXTREME_POSE"));
    }
    if (m->sharpness < (high ? 60.0f : 15.0f)) {
        json_array_append_new(a, json_string("LOW_SHARPNESS"));
    }
    if (m->landmark_score < (high ? 0.9f : 0.5f) || (high && m->detector_score < 0.9f)) {
        json_array_append_new(a, json_string("LOW_CONFIDENCE"));
    }
    json_array_append_new(a, json_string("LOW_FACE_QUALITY"));
    return a;
}

/* Whether subject names a person, a Rekognition user: not one of the subjects made for the
 * faces that belong to no user (docs/rekognition.md "Users"). */
static bool is_user(const char *subject)
{
    return strncmp(subject, AUTO_SUBJECT_PREFIX, strlen(AUTO_SUBJECT_PREFIX)) != 0;
}

/* The subject of a face that belongs to no user, moved out of one (DisassociateFaces,
 * DeleteUser): "rekognition/<FaceId>" — never an ExternalImageId (no '/'), never an
 * IndexFaces one ("rekognition/<ImageId>/<n>" has a second '/'). */
static void loose_subject(const char *collection, int64_t face_id, char out[64])
{
    char id[37];
    face_uuid(collection, face_id, id);
    snprintf(out, 64, AUTO_SUBJECT_PREFIX "%s", id);
}

/* Face (a stored face): FaceId, ExternalImageId (unless the subject was made for a face
 * indexed without one), UserId, IndexFacesModelVersion. */
static json_t *stored_face_json(const char *collection, int64_t face_id, const char *subject,
                                const char *version)
{
    char id[37];
    json_t *o;
    face_uuid(collection, face_id, id);
    o = json_pack("{s:s,s:s}", "FaceId", id, "IndexFacesModelVersion", version);
    if (is_user(subject)) {
        json_object_set_new(o, "ExternalImageId", json_string(subject));
        json_object_set_new(o, "UserId", json_string(subject));
    }
    return o;
}

/* ---- collections (HTTP thread) --------------------------------------------------------------- */

/* The caps of a new collection from X-Mien-Max-Fmr (a rate in 1e-6..1) and
 * X-Mien-Max-Candidates (1..10000); absent: the library's defaults. False when replied. */
static bool caps_from_headers(request *r, const rek_call *c, mien_collection_policy *p)
{
    char *end = NULL;
    if (c->max_fmr[0] != '\0') {
        errno = 0;
        p->max_fmr = strtod(c->max_fmr, &end);
        if (*end != '\0' || errno != 0 || !(p->max_fmr >= 1e-6 && p->max_fmr <= 1.0)) {
            rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Max-Fmr is a rate in 1e-6..1");
            return false;
        }
    }
    if (c->max_candidates[0] != '\0') {
        errno = 0;
        long n = strtol(c->max_candidates, &end, 10);
        if (*end != '\0' || errno != 0 || n < 1 || n > 10000) {
            rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Max-Candidates is 1..10000");
            return false;
        }
        p->max_candidates = (int)n;
    }
    return true;
}

/* The collection's policy from the X-Mien-* headers (docs/rekognition.md "CreateCollection").
 * False (replied InvalidParameterException) when a header is malformed or the purposes or the
 * legal basis are missing: mien creates no collection without a declared purpose. */
static bool policy_from_headers(request *r, rek_call *c, mien_collection_policy *p,
                                mien_profile *profile)
{
    memset(p, 0, sizeof(*p));
    *profile = MIEN_PROFILE_FAST;
    if (c->purposes[0] == '\0' || c->legal_basis[0] == '\0') {
        rek_fail(r, REK_INVALID_PARAMETER,
                 "mien creates a collection only with a declared purpose and legal basis: send "
                 "the headers X-Mien-Purposes (e.g. \"access_control\") and X-Mien-Legal-Basis "
                 "(docs/rekognition.md), or create it with `mien collection create`");
        return false;
    }
    p->purposes = c->purposes;
    p->legal_basis = c->legal_basis;
    p->consent = MIEN_CONSENT_REQUIRED;
    if (c->consent[0] != '\0' && mien_consent_parse(c->consent, &p->consent) != MIEN_OK) {
        rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Consent is required or not_needed");
        return false;
    }
    if (c->retention_days[0] != '\0') {
        char *end = NULL;
        errno = 0;
        long days = strtol(c->retention_days, &end, 10);
        if (*end != '\0' || errno != 0 || days < 1 || days > 36500) {
            rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Retention-Days is 1..36500");
            return false;
        }
        p->retention_s = (int64_t)days * 86400;
    }
    p->review = MIEN_REVIEW_ONE;
    if (c->review[0] != '\0' && mien_review_mode_parse(c->review, &p->review) != MIEN_OK) {
        rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Review is one, two_person or none");
        return false;
    }
    if (strcmp(c->verification_only, "true") == 0) {
        p->verification_only = 1;
    } else if (c->verification_only[0] != '\0' && strcmp(c->verification_only, "false") != 0) {
        rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Verification-Only is true or false");
        return false;
    }
    if (c->profile[0] != '\0' && mien_profile_parse(c->profile, profile) != MIEN_OK) {
        rek_fail(r, REK_INVALID_PARAMETER, "X-Mien-Profile is fast or accurate");
        return false;
    }
    return caps_from_headers(r, c, p);
}

static void collection_arn(const rek_call *c, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "aws:rekognition:%s:mien:collection/%s", c->region, name);
}

static void op_create_collection(request *r, rek_call *c)
{
    mien_collection_policy policy;
    mien_profile profile;
    mien_collection_info info;
    mien_context ctx;
    mien_error err;
    mien_status st;
    char arn[160], version[64];
    if (!param_collection(r, c) || !policy_from_headers(r, c, &policy, &profile)) {
        return;
    }
    char first_purpose[64];
    first_item(c->purposes, first_purpose, sizeof(first_purpose));
    ctx = call_context(c, first_purpose, NULL);
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_create(r->srv->store, c->collection, profile, r->srv->engine,
                                c->description[0] ? c->description : NULL, &policy, &ctx, &err);
    if (st == MIEN_OK) {
        st = mien_collection_get(r->srv->store, c->collection, &info, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st == MIEN_ERR_EXISTS) {
        rek_fail(r, REK_EXISTS, "The collection id: %s already exists", c->collection);
        return;
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return;
    }
    collection_arn(c, info.name, arn, sizeof(arn));
    model_version(&info, version, sizeof(version));
    reply_ok(r, json_pack("{s:i,s:s,s:s}", "StatusCode", 200, "CollectionArn", arn,
                          "FaceModelVersion", version));
}

static void op_delete_collection(request *r, rek_call *c)
{
    mien_context ctx;
    mien_error err;
    mien_status st;
    if (!param_collection(r, c)) {
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_get(r->srv->store, c->collection, &c->coll, &err);
    if (st == MIEN_OK) {
        char first_purpose[64];
        first_item(c->coll.purposes, first_purpose, sizeof(first_purpose));
        ctx = call_context(c, first_purpose, NULL);
        st = mien_collection_drop(r->srv->store, c->collection, &ctx, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return;
    }
    reply_ok(r, json_pack("{s:i}", "StatusCode", 200));
}

/* A NextToken of ours: a decimal number (an offset, or the last face id listed). */
static bool param_token(request *r, int64_t *out)
{
    const char *t;
    char *end = NULL;
    *out = 0;
    if (!param_string(r, "NextToken", false, 255, &t)) {
        return false;
    }
    if (t == NULL) {
        return true;
    }
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (*end != '\0' || errno != 0 || v < 0 || !isdigit((unsigned char)t[0])) {
        rek_fail(r, REK_PAGINATION, "NextToken is not a token this server issued");
        return false;
    }
    *out = v;
    return true;
}

/* The page a List* call asks for: NextToken (param_token) and MaxResults (1..limit, default
 * def). False after replying the error. */
typedef struct rek_page {
    int64_t from; /* the token: an offset, or the last face id listed */
    long max;
} rek_page;

static bool param_page(request *r, long limit, long def, rek_page *page)
{
    return param_token(r, &page->from) && param_int(r, "MaxResults", 1, limit, def, &page->max);
}

/* Adds NextToken `token` (what param_token reads back) to answer o when `more` items are
 * left. */
static void with_next_token(json_t *o, bool more, int64_t token)
{
    if (more) {
        char next[32];
        snprintf(next, sizeof(next), "%lld", (long long)token);
        json_object_set_new(o, "NextToken", json_string(next));
    }
}

static void op_list_collections(request *r, rek_call *c)
{
    mien_collection_info *cs = NULL;
    size_t n = 0;
    rek_page page;
    mien_error err;
    mien_status st;
    json_t *ids, *versions, *o;
    char version[64];
    (void)c;
    if (!param_page(r, PAGE_MAX, PAGE_MAX, &page)) {
        return;
    }
    SRV_LOCKED(r->srv, st, mien_collection_list(r->srv->store, &cs, &n, &err));
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return;
    }
    ids = json_array();
    versions = json_array();
    size_t i = (size_t)page.from;
    for (; i < n && (long)json_array_size(ids) < page.max; i++) {
        model_version(&cs[i], version, sizeof(version));
        json_array_append_new(ids, json_string(cs[i].name));
        json_array_append_new(versions, json_string(version));
    }
    o = json_pack("{s:o,s:o}", "CollectionIds", ids, "FaceModelVersions", versions);
    with_next_token(o, i < n, (int64_t)i);
    mien_free(cs);
    reply_ok(r, o);
}

static void op_describe_collection(request *r, rek_call *c)
{
    char arn[160], version[64];
    if (!param_collection(r, c) || !lookup_collection(r, c)) {
        return;
    }
    collection_arn(c, c->coll.name, arn, sizeof(arn));
    model_version(&c->coll, version, sizeof(version));
    reply_ok(r, json_pack("{s:I,s:s,s:s,s:I,s:I}", "FaceCount", (json_int_t)c->coll.faces,
                          "FaceModelVersion", version, "CollectionARN", arn, "CreationTimestamp",
                          (json_int_t)c->coll.created_at, "UserCount",
                          (json_int_t)c->coll.subjects));
}

/* ---- faces in a collection (HTTP thread) ----------------------------------------------------- */

/* The audit entry of a ListFaces ("faces.list": how many faces it handed out, whether it was
 * narrowed to one UserId), as mien_subject_list records its listings: a list of who is
 * enrolled is personal data. False (replied) when it cannot be written: nothing is handed out
 * unrecorded. */
static bool list_faces_audit(request *r, rek_call *c, size_t listed, bool one_user)
{
    char summary[96], first_purpose[64];
    mien_audit_event ev = {.action = "faces.list", .collection = c->collection,
                           .outcome = "ok", .result = summary};
    mien_error err;
    mien_status st;
    snprintf(summary, sizeof(summary), "{\"api\":\"rekognition\",\"faces\":%zu,\"user_id\":%s}",
             listed, one_user ? "true" : "false");
    first_item(c->coll.purposes, first_purpose, sizeof(first_purpose));
    mien_context ctx = call_context(c, first_purpose, NULL);
    SRV_LOCKED(r->srv, st, mien_audit_append(r->srv->store, &ev, &ctx, NULL, &err));
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

static void op_list_faces(request *r, rek_call *c)
{
    mien_face_record *fs = NULL;
    size_t n = 0;
    rek_page page;
    const char *user;
    json_t *ids = json_object_get(r->json, "FaceIds"), *faces, *o;
    int64_t *wanted = NULL;
    size_t n_wanted = 0;
    mien_error err;
    mien_status st;
    char version[64];
    if (!param_collection(r, c) || !param_page(r, PAGE_MAX, LIST_FACES_DEFAULT, &page) ||
        !param_string(r, "UserId", false, 128, &user)) {
        return;
    }
    if (ids != NULL && !json_is_null(ids)) {
        size_t i;
        json_t *v;
        if (!json_is_array(ids) || json_array_size(ids) > PAGE_MAX) {
            rek_fail(r, REK_INVALID_PARAMETER, "FaceIds is a list of at most %d FaceIds",
                     PAGE_MAX);
            return;
        }
        wanted = calloc(json_array_size(ids) + 1, sizeof(*wanted));
        if (wanted == NULL) {
            rek_fail(r, REK_INTERNAL, "out of memory");
            return;
        }
        json_array_foreach(ids, i, v) {
            int64_t id;
            if (json_is_string(v) && face_uuid_parse(c->collection, json_string_value(v), &id)) {
                wanted[n_wanted++] = id;
            }
        }
    }
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_get(r->srv->store, c->collection, &c->coll, &err);
    if (st == MIEN_OK) {
        st = mien_face_list(r->srv->store, c->collection, &fs, &n, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        free(wanted);
        rek_fail_status(r, st, &err);
        return;
    }
    model_version(&c->coll, version, sizeof(version));
    faces = json_array();
    size_t i = 0;
    for (; i < n && (long)json_array_size(faces) < page.max; i++) {
        bool keep = fs[i].face_id > page.from &&
                    (user == NULL || strcmp(user, fs[i].subject) == 0);
        if (keep && ids != NULL && !json_is_null(ids)) {
            keep = false;
            for (size_t k = 0; k < n_wanted && !keep; k++) {
                keep = wanted[k] == fs[i].face_id;
            }
        }
        if (keep) {
            json_array_append_new(faces, stored_face_json(c->collection, fs[i].face_id,
                                                          fs[i].subject, version));
        }
    }
    o = json_pack("{s:o,s:s}", "Faces", faces, "FaceModelVersion", version);
    with_next_token(o, i < n && json_array_size(faces) > 0, i > 0 ? fs[i - 1].face_id : 0);
    free(wanted);
    mien_free(fs);
    if (!list_faces_audit(r, c, json_array_size(faces), user != NULL)) {
        json_decref(o);
        return;
    }
    reply_ok(r, o);
}

/* A user's UserStatus: CREATED until a face is associated with it, then ACTIVE (mien's
 * writes are synchronous: never UPDATING or CREATING). */
static const char *user_status(int64_t faces)
{
    return faces > 0 ? "ACTIVE" : "CREATED";
}

/* ListUsers: the collection's subjects (mien's people) as Rekognition users, by id; the
 * subjects made for faces indexed without an ExternalImageId are left out (their names are
 * not valid UserIds). NextToken is an offset. */
static void op_list_users(request *r, rek_call *c)
{
    mien_subject_info *ss = NULL;
    size_t n = 0;
    rek_page page;
    mien_error err;
    mien_status st;
    json_t *users, *o;
    if (!param_collection(r, c) || !param_page(r, 500, 500, &page)) {
        return;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    mien_context ctx = call_context(c, NULL, NULL);
    st = mien_subject_list(r->srv->store, c->collection, &ctx, &ss, &n, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return;
    }
    users = json_array();
    size_t i = (size_t)page.from;
    for (; i < n && (long)json_array_size(users) < page.max; i++) {
        if (is_user(ss[i].subject)) {
            json_array_append_new(users, json_pack("{s:s,s:s}", "UserId", ss[i].subject,
                                                   "UserStatus", user_status(ss[i].faces)));
        }
    }
    o = json_pack("{s:o}", "Users", users);
    with_next_token(o, i < n, (int64_t)i);
    mien_free(ss);
    reply_ok(r, o);
}

/* Whether FaceIds is a list of 1..DELETE_IDS_MAX strings; replied when not. */
static bool delete_ids_ok(request *r, const json_t *ids)
{
    size_t i;
    json_t *v;
    if (!json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > DELETE_IDS_MAX) {
        rek_fail(r, REK_INVALID_PARAMETER, "FaceIds is a list of 1..%d FaceIds", DELETE_IDS_MAX);
        return false;
    }
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v)) {
            rek_fail(r, REK_INVALID_PARAMETER, "FaceIds holds strings (FaceIds)");
            return false;
        }
    }
    return true;
}

/* Marks in asked[n] the stored faces fs[n] that FaceIds names; want[i] is the face id of
 * FaceIds[i], or -1 when it names no stored face. */
static void mark_asked(const rek_call *c, const json_t *ids, const mien_face_record *fs,
                       size_t n, bool *asked, int64_t *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        int64_t id = -1;
        bool found = false;
        if (face_uuid_parse(c->collection, json_string_value(v), &id)) {
            for (size_t k = 0; k < n; k++) {
                if (fs[k].face_id == id) {
                    asked[k] = true;
                    found = true;
                }
            }
        }
        want[i] = found ? id : -1;
    }
}

/* Erases (under the store lock, held by the caller) each subject whose every face is asked
 * for, marking its faces in done[n] and appending its receipt to receipts. */
static mien_status erase_whole_subjects(request *r, rek_call *c, const mien_face_record *fs,
                                        size_t n, const bool *asked, bool *done,
                                        json_t *receipts, mien_error *err)
{
    char first_purpose[64];
    mien_context ctx;
    first_item(c->coll.purposes, first_purpose, sizeof(first_purpose));
    ctx = call_context(c, first_purpose, NULL);
    for (size_t k = 0; k < n; k++) {
        bool all = asked[k] && !done[k];
        mien_erasure e;
        for (size_t j = 0; j < n && all; j++) {
            all = strcmp(fs[j].subject, fs[k].subject) != 0 || asked[j];
        }
        if (!all) {
            continue;
        }
        mien_status st = mien_erase_subject(r->srv->store, c->collection, fs[k].subject, &ctx,
                                            &e, err);
        if (st != MIEN_OK) {
            return st;
        }
        for (size_t j = 0; j < n; j++) {
            done[j] = done[j] || strcmp(fs[j].subject, fs[k].subject) == 0;
        }
        json_array_append_new(receipts,
                              json_pack("{s:s,s:I,s:I,s:I,s:I,s:s}", "SubjectHash",
                                        e.subject_hash, "FacesDeleted",
                                        (json_int_t)e.faces_deleted, "CropsDeleted",
                                        (json_int_t)e.crops_deleted, "ErasedAt",
                                        (json_int_t)e.erased_at, "AuditSeq",
                                        (json_int_t)e.audit_seq, "AuditHash", e.audit_hash));
    }
    return MIEN_OK;
}

/* DeletedFaces and UnsuccessfulFaceDeletions, in FaceIds' order, and the reply. */
static void delete_reply(request *r, const rek_call *c, const json_t *ids,
                         const mien_face_record *fs, size_t n, const int64_t *want,
                         const bool *done, json_t *receipts)
{
    json_t *deleted = json_array(), *failed = json_array(), *v;
    char uuid[37];
    size_t i;
    json_array_foreach(ids, i, v) {
        size_t k = 0;
        while (k < n && fs[k].face_id != want[i]) {
            k++;
        }
        if (want[i] < 0 || k == n) {
            json_array_append_new(failed, json_pack("{s:s,s:[s]}", "FaceId", json_string_value(v),
                                                    "Reasons", "FACE_NOT_FOUND"));
        } else if (done[k]) {
            face_uuid(c->collection, want[i], uuid);
            json_array_append_new(deleted, json_string(uuid));
        } else {
            face_uuid(c->collection, want[i], uuid);
            json_array_append_new(failed, json_pack("{s:s,s:s,s:[s]}", "FaceId", uuid, "UserId",
                                                    fs[k].subject, "Reasons",
                                                    "ASSOCIATED_TO_AN_EXISTING_USER"));
        }
    }
    reply_ok(r, json_pack("{s:o,s:o,s:o}", "DeletedFaces", deleted, "UnsuccessfulFaceDeletions",
                          failed, "MienErasureReceipts", receipts));
}

/* DeleteFaces. mien erases people, not single faces (mien_erase_subject: templates, crops and
 * index entries in one audited transaction with a receipt): the faces of a subject are deleted
 * when the request names every face that subject has. A face whose subject keeps other faces
 * comes back in UnsuccessfulFaceDeletions with ASSOCIATED_TO_AN_EXISTING_USER (its UserId is
 * the subject); an id this collection does not have, with FACE_NOT_FOUND. The listing and the
 * erasures happen under one hold of the store mutex, so a face enrolled meanwhile through this
 * server is never erased unasked. */
static void op_delete_faces(request *r, rek_call *c)
{
    json_t *ids = json_object_get(r->json, "FaceIds"), *receipts = NULL;
    mien_face_record *fs = NULL;
    size_t n = 0;
    int64_t *want = NULL;
    bool *asked = NULL, *done = NULL;
    mien_error err;
    mien_status st;
    if (!param_collection(r, c) || !delete_ids_ok(r, ids)) {
        return;
    }
    want = calloc(json_array_size(ids), sizeof(*want));
    if (want == NULL) {
        rek_fail(r, REK_INTERNAL, "out of memory");
        return;
    }
    receipts = json_array();
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_collection_get(r->srv->store, c->collection, &c->coll, &err);
    if (st == MIEN_OK) {
        st = mien_face_list(r->srv->store, c->collection, &fs, &n, &err);
    }
    if (st == MIEN_OK && n > 0) {
        asked = calloc(n, sizeof(*asked));
        done = calloc(n, sizeof(*done));
        if (asked == NULL || done == NULL) {
            st = MIEN_ERR_NOMEM;
            snprintf(err.message, sizeof(err.message), "out of memory");
        }
    }
    if (st == MIEN_OK) {
        mark_asked(c, ids, fs, n, asked, want);
        st = erase_whole_subjects(r, c, fs, n, asked, done, receipts, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        json_decref(receipts);
        rek_fail_status(r, st, &err);
    } else {
        delete_reply(r, c, ids, fs, n, want, done, receipts);
    }
    free(want);
    free(asked);
    free(done);
    mien_free(fs);
}

/* ---- search ---------------------------------------------------------------------------------- */

/* Audits a refusal of `action` ("enrol" for IndexFaces, "search") on the call's collection
 * for the picture's faces (mien_record_refusal, under the collection's first purpose when the
 * call names none, as the operation itself): every refusal is one entry. An IndexFaces that
 * indexed nothing (no face, or every face under the quality filter) is such a refusal, though
 * Rekognition answers it with empty FaceRecords. Logged when it cannot be recorded. */
static void face_refusal_audit(request *r, rek_call *c, const char *action, const char *subject,
                               mien_refusal reason, size_t faces)
{
    char purpose[64];
    first_item(c->coll.purposes, purpose, sizeof(purpose));
    mien_context ctx = call_context(c, purpose, c->image_sha256[0]);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_record_refusal(r->srv->store, c->collection, action, subject,
                                               reason, faces, &ctx, NULL, &err));
    if (st != MIEN_OK) {
        fprintf(stderr, "mien serve: a refused %s (%s) could not be audited: %s\n", action,
                mien_refusal_name(reason), err.message);
    }
}

/* Checks, before any inference, that the collection allows a search for this call's purpose
 * (mien_check_purpose: a refusal is audited). */
static bool check_search_purpose(request *r, rek_call *c)
{
    mien_context ctx = identify_context(c, NULL);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_check_purpose(r->srv->store, c->collection, "search", &ctx, &err));
    if (st != MIEN_OK && !accountable(c)) {
        fail_unaccountable(r, c, c->coll.purposes); /* refused and audited by the library */
        return false;
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* How a search for at most `max` answers at or above `percent` asks mien_search: the FMR
 * at that similarity, and room for the face left out (skip) or, for users, for the
 * candidates that are faces of no user (dropped: they are no user's match) — twice as many,
 * and 16 more. The search lowers both to the collection's caps (so.clamp): SDK code that asks
 * for 4096 faces at threshold 0 gets the cap's worth, not the gallery, and the audit entry says
 * the ask was capped. */
static mien_search_options search_options_for(double percent, long max, bool skip, bool users)
{
    mien_search_options so = mien_search_options_default();
    long k = users ? 2 * max + 16 : max + (skip ? 1 : 0);
    so.top_k = (int)(k < 10000 ? k : 10000);
    so.max_fmr = fmr_for_percent(percent);
    so.clamp = true; /* MaxFaces and the threshold lowered to the collection's caps */
    return so;
}

/* A face search's FaceMatches: every face of the candidates whose own similarity reaches
 * `percent` (a subject ranked by its aggregate shows each of its faces that matched), best
 * first, at most max_faces, skip_face_id left out. */
static void append_face_matches(const rek_call *c, const mien_search_result *res,
                                const char *version, double percent, long max_faces,
                                int64_t skip_face_id, json_t *matches)
{
    size_t n = 0, cap = 0;
    for (size_t k = 0; k < res->count; k++) {
        cap += res->candidates[k].n_faces;
    }
    face_hit *hits = cap > 0 ? malloc(cap * sizeof(*hits)) : NULL;
    for (size_t k = 0; hits != NULL && k < res->count; k++) {
        const mien_candidate *cd = &res->candidates[k];
        for (size_t j = 0; j < cd->n_faces; j++) {
            double s = similarity_percent(c->coll.profile, cd->faces[j].similarity);
            if (cd->faces[j].face_id != skip_face_id && s >= percent) {
                hits[n].percent = s;
                hits[n].face = stored_face_json(c->collection, cd->faces[j].face_id,
                                                cd->subject, version);
                n++;
            }
        }
    }
    if (n > 1) {
        qsort(hits, n, sizeof(*hits), face_hit_cmp);
    }
    for (size_t k = 0; k < n; k++) {
        if ((long)k < max_faces) {
            json_array_append_new(matches, json_pack("{s:f,s:o}", "Similarity", hits[k].percent,
                                                     "Face", hits[k].face));
        } else {
            json_decref(hits[k].face);
        }
    }
    free(hits);
}

/* The candidates of res at or above `percent`, at most max: {Similarity, Face}, each face of
 * a candidate that matched on its own (append_face_matches; skip_face_id left out), or for
 * users {Similarity, User}: a user scored by its aggregate, on its own calibrated scale
 * (mien_aggregate), faces of no user being no user's match. */
static json_t *matches_json(const rek_call *c, const mien_search_result *res, double percent,
                            long max, int64_t skip_face_id, bool as_users)
{
    char version[64];
    json_t *matches = json_array();
    model_version(&c->coll, version, sizeof(version));
    if (!as_users) {
        append_face_matches(c, res, version, percent, max, skip_face_id, matches);
        return matches;
    }
    for (size_t k = 0; k < res->count && (long)json_array_size(matches) < max; k++) {
        const mien_candidate *cd = &res->candidates[k];
        double s = aggregate_percent(c->coll.profile, MIEN_AGGREGATE_DEFAULT, cd->n_faces,
                                     cd->similarity);
        if (s >= percent && is_user(cd->subject)) {
            json_array_append_new(matches, json_pack("{s:f,s:{s:s,s:s}}", "Similarity", s,
                                                     "User", "UserId", cd->subject,
                                                     "UserStatus", "ACTIVE"));
        }
    }
    return matches;
}

/* After a search (status st, result res, freed here): the review id into c, the matches
 * (matches_json) into *matches. False when replied (the error). */
static bool search_answer(request *r, rek_call *c, mien_status st, mien_search_result *res,
                          const mien_error *err, double percent, long max, int64_t skip_face_id,
                          bool as_users, json_t **matches)
{
    *matches = NULL;
    if (st != MIEN_OK) {
        rek_fail_status(r, st, err);
        return false;
    }
    snprintf(c->review_id, sizeof(c->review_id), "%s", res->review_id);
    *matches = matches_json(c, res, percent, max, skip_face_id, as_users);
    mien_search_result_free(res);
    return true;
}

/* Runs mien_search for `probe` with threshold `percent` and at most max_faces answers, under
 * the store mutex (search_answer: c->review_id, *matches). */
static bool run_search_as(request *r, rek_call *c, const mien_template *probe, double percent,
                          long max_faces, const uint8_t *sha, int64_t skip_face_id,
                          bool as_users, json_t **matches)
{
    mien_search_options so = search_options_for(percent, max_faces, skip_face_id >= 0,
                                                as_users);
    mien_search_result res;
    mien_error err;
    memset(&res, 0, sizeof(res));
    mien_context ctx = identify_context(c, sha);
    mien_status st = srv_search(r->srv, c->collection, probe, &so, &ctx, &res, &err);
    return search_answer(r, c, st, &res, &err, percent, max_faces, skip_face_id, as_users,
                         matches);
}

static bool run_search(request *r, rek_call *c, const mien_template *probe, double percent,
                       long max_faces, const uint8_t *sha, int64_t skip_face_id,
                       json_t **matches)
{
    return run_search_as(r, c, probe, percent, max_faces, sha, skip_face_id, false, matches);
}

static bool p_search_faces(request *r, rek_call *c)
{
    const char *face;
    long max;
    double thr;
    int64_t id;
    if (!param_collection(r, c) || !param_string(r, "FaceId", true, 36, &face) ||
        !param_int(r, "MaxFaces", 1, PAGE_MAX, SEARCH_MAX_FACES_DEFAULT, &max) ||
        !param_number(r, "FaceMatchThreshold", 0, 100, SIM_DEFAULT, &thr)) {
        return false;
    }
    if (!face_uuid_parse(c->collection, face, &id)) {
        rek_fail(r, REK_INVALID_PARAMETER, "FaceId %s is not a face of collection %s", face,
                 c->collection);
        return false;
    }
    return lookup_collection(r, c) && check_search_purpose(r, c);
}

/* MaxFaces lowered to the collection's candidate cap (mien_search_caps, read with the
 * collection), for the matches SearchFaces adds after its search (the search itself clamps
 * MaxFaces: run_search_as). Rekognition code routinely asks for up to 4096, so an ask above the
 * cap is clamped, never refused (docs/rekognition.md "Caps"). */
static long capped_max(const rek_call *c, long max)
{
    return c->coll.max_candidates > 0 && max > c->coll.max_candidates ? c->coll.max_candidates
                                                                       : max;
}

/* Sorts FaceMatches best first (insertion sort: at most FACES_MAX entries). */
static void sort_matches(json_t *matches)
{
    for (size_t a = 1; a < json_array_size(matches); a++) {
        for (size_t b = a; b > 0; b--) {
            double x = json_real_value(json_object_get(json_array_get(matches, b - 1),
                                                       "Similarity"));
            double y = json_real_value(json_object_get(json_array_get(matches, b),
                                                       "Similarity"));
            if (x >= y) {
                break;
            }
            json_t *tmp = json_incref(json_array_get(matches, b - 1));
            json_array_set(matches, b - 1, json_array_get(matches, b));
            json_array_set_new(matches, b, tmp);
        }
    }
}

/* SearchFaces: the stored face's template is the probe; the face itself never appears among
 * the matches (Rekognition's rule). mien answers per subject (its best face); when the best
 * face of the searched face's own subject is the searched face, the subject's other faces are
 * compared one by one so that they can still be found. */
static void j_search_faces(mien_session *s, request *r, rek_call *c)
{
    const char *face = json_string_value(json_object_get(r->json, "FaceId"));
    long max = SEARCH_MAX_FACES_DEFAULT;
    double thr = SIM_DEFAULT;
    int64_t id = -1;
    mien_template *probe = NULL;
    mien_face_record rec, *fs = NULL;
    size_t n = 0;
    json_t *matches = NULL;
    mien_error err;
    mien_status st;
    char version[64];
    (void)s;
    param_int(r, "MaxFaces", 1, PAGE_MAX, SEARCH_MAX_FACES_DEFAULT, &max);
    param_number(r, "FaceMatchThreshold", 0, 100, SIM_DEFAULT, &thr);
    long asked = max; /* the search lowers it, and its audit entry says so */
    max = capped_max(c, max);
    face_uuid_parse(c->collection, face, &id);
    pthread_mutex_lock(&r->srv->store_lock);
    st = mien_face_template(r->srv->store, c->collection, id, &rec, &probe, &err);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        goto done;
    }
    if (!run_search(r, c, probe, thr, asked, NULL, id, &matches)) {
        goto done;
    }
    /* the searched face's own subject, unless already matched through another face */
    bool own_listed = false;
    size_t k;
    json_t *m;
    json_array_foreach(matches, k, m) {
        json_t *ext = json_object_get(json_object_get(m, "Face"), "UserId");
        own_listed = own_listed || (json_is_string(ext) && strcmp(json_string_value(ext),
                                                                  rec.subject) == 0);
    }
    model_version(&c->coll, version, sizeof(version));
    if (!own_listed && (long)json_array_size(matches) < max) {
        pthread_mutex_lock(&r->srv->store_lock);
        st = mien_face_list(r->srv->store, c->collection, &fs, &n, &err);
        for (size_t j = 0; st == MIEN_OK && j < n; j++) {
            mien_template *t = NULL;
            float sim = 0;
            if (fs[j].face_id == id || strcmp(fs[j].subject, rec.subject) != 0) {
                continue;
            }
            if (mien_face_template(r->srv->store, c->collection, fs[j].face_id, NULL, &t,
                                   &err) == MIEN_OK &&
                mien_template_compare(probe, t, &sim, &err) == MIEN_OK) {
                double pct = similarity_percent(c->coll.profile, sim), fmr = 1.0;
                mien_similarity_fmr(c->coll.profile, sim, &fmr);
                if (pct >= thr && fmr <= c->coll.max_fmr) { /* the search's cap holds here too */
                    json_array_append_new(matches, json_pack(
                        "{s:f,s:o}", "Similarity", pct, "Face",
                        stored_face_json(c->collection, fs[j].face_id, fs[j].subject,
                                         version)));
                }
            }
            mien_template_free(t);
        }
        pthread_mutex_unlock(&r->srv->store_lock);
    }
    sort_matches(matches);
    while ((long)json_array_size(matches) > max) {
        json_array_remove(matches, json_array_size(matches) - 1);
    }
    reply_ok(r, json_pack("{s:s,s:o,s:s}", "SearchedFaceId", face, "FaceMatches", matches,
                          "FaceModelVersion", version));
    matches = NULL;
done:
    json_decref(matches);
    mien_free(fs);
    mien_template_free(probe);
}

/* The parameter names of SearchFacesByImage, and of SearchUsersByImage (users). */
static const char *max_name(bool users)
{
    return users ? "MaxUsers" : "MaxFaces";
}

static const char *threshold_name(bool users)
{
    return users ? "UserMatchThreshold" : "FaceMatchThreshold";
}

static bool p_search_by_image(request *r, rek_call *c, bool users)
{
    long max;
    double thr;
    quality_filter q;
    return param_collection(r, c) && param_image(r, c, "Image", 0) &&
           param_int(r, max_name(users), 1, users ? 500 : PAGE_MAX, SEARCH_MAX_FACES_DEFAULT,
                     &max) &&
           param_number(r, threshold_name(users), 0, 100, SIM_DEFAULT, &thr) &&
           param_quality(r, QF_NONE, &q) && lookup_collection(r, c) &&
           check_search_purpose(r, c);
}

static bool p_search_faces_by_image(request *r, rek_call *c)
{
    return p_search_by_image(r, c, false);
}

static bool p_search_users_by_image(request *r, rek_call *c)
{
    return p_search_by_image(r, c, true);
}

/* SearchFacesByImage and SearchUsersByImage: the largest face of the image is the probe
 * (Rekognition's rule); mien's answer is per person in both. */
static void search_by_image(mien_session *s, request *r, rek_call *c, bool users)
{
    long max;
    double thr;
    quality_filter q;
    mien_face_pick pick = {NULL, 0, -1};
    mien_template *t = NULL;
    json_t *matches = NULL;
    mien_error err;
    mien_status st;
    char version[64];
    mien_image *img = decode_image(r, c, 0);
    param_int(r, max_name(users), 1, users ? 500 : PAGE_MAX, SEARCH_MAX_FACES_DEFAULT, &max);
    param_number(r, threshold_name(users), 0, 100, SIM_DEFAULT, &thr);
    param_quality(r, QF_NONE, &q);
    if (img == NULL) {
        goto done;
    }
    st = srv_face_find(r->srv, s, img, MIEN_FACE_LARGEST, &pick, &err);
    if (st == MIEN_ERR_NOT_FOUND && pick.count == 0) {
        face_refusal_audit(r, c, "search", NULL, MIEN_REFUSAL_NO_FACE, 0);
        rek_fail(r, REK_INVALID_PARAMETER, "There are no faces in the image. Should be at least "
                                           "1.");
        goto done;
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        goto done;
    }
    const mien_face *faces = pick.faces;
    size_t n = pick.count, best = (size_t)pick.index;
    if (!quality_passes(&faces[best], q)) { /* before the embedding: a refusal costs none */
        face_refusal_audit(r, c, "search", NULL, MIEN_REFUSAL_LOW_QUALITY, n);
        rek_fail(r, REK_INVALID_PARAMETER, "the largest face does not meet QualityFilter "
                                           "(mien quality class too low)");
        goto done;
    }
    st = srv_embed(r->srv, s, img, &faces[best], c->coll.profile, &t, &err);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        goto done;
    }
    if (!run_search_as(r, c, t, thr, max, c->image_sha256[0], -1, users, &matches)) {
        goto done;
    }
    model_version(&c->coll, version, sizeof(version));
    if (users) {
        json_t *unsearched = json_array();
        for (size_t i = 0; i < n; i++) {
            if (i != best) {
                json_array_append_new(unsearched, json_pack("{s:o,s:[s]}", "FaceDetails",
                                                            face_detail_json(img, &faces[i]),
                                                            "Reasons", "FACE_NOT_LARGEST"));
            }
        }
        reply_ok(r, json_pack("{s:o,s:s,s:{s:o},s:o}", "UserMatches", matches,
                              "FaceModelVersion", version, "SearchedFace", "FaceDetail",
                              face_detail_json(img, &faces[best]), "UnsearchedFaces",
                              unsearched));
    } else {
        reply_ok(r, json_pack("{s:o,s:f,s:o,s:s}", "SearchedFaceBoundingBox",
                              bbox_json(&faces[best], img), "SearchedFaceConfidence",
                              100.0 * faces[best].score, "FaceMatches", matches,
                              "FaceModelVersion", version));
    }
done:
    mien_template_free(t);
    mien_faces_free(pick.faces);
    mien_image_free(img);
}

static void j_search_faces_by_image(mien_session *s, request *r, rek_call *c)
{
    search_by_image(s, r, c, false);
}

static void j_search_users_by_image(mien_session *s, request *r, rek_call *c)
{
    search_by_image(s, r, c, true);
}

/* ---- the users API: a user is a mien subject (docs/rekognition.md "Users") --------------------
 * Faces that belong to no user are subjects of their own ("rekognition/..."): AssociateFaces
 * moves such a face into the user's subject (mien_face_move: re-sealed, audited) and erases
 * the empty subject it leaves; DisassociateFaces and DeleteUser move a user's faces back out,
 * each into a subject of its own, so that they stay erasable one person at a time. */

#define USER_FACES_MAX 100 /* AssociateFaces, DisassociateFaces: FaceIds 1..100 */
#define ASSOCIATE_THRESHOLD_DEFAULT 75.0 /* Rekognition's UserMatchThreshold for AssociateFaces */

/* The audit context of a users call: the collection's first purpose unless X-Mien-Purpose. */
static mien_context users_context(rek_call *c, char first_purpose[64])
{
    first_item(c->coll.purposes, first_purpose, 64);
    return call_context(c, first_purpose, NULL);
}

/* ClientRequestToken: accepted when well-formed (1..64 bytes), not kept (docs: a retried
 * CreateUser gets ConflictException). */
static bool param_request_token(request *r)
{
    const char *token;
    return param_string(r, "ClientRequestToken", false, 64, &token);
}

/* The parameters every users operation starts with: CollectionId (looked up), UserId. */
static bool users_params(request *r, rek_call *c, const char **user)
{
    return param_collection(r, c) && param_user(r, user) && param_request_token(r) &&
           lookup_collection(r, c);
}

static void op_create_user(request *r, rek_call *c)
{
    const char *user;
    char purpose[64];
    mien_error err;
    mien_status st;
    if (!users_params(r, c, &user)) {
        return;
    }
    mien_context ctx = users_context(c, purpose);
    SRV_LOCKED(r->srv, st, mien_subject_create(r->srv->store, c->collection, user,
                                               c->consent_ref[0] ? c->consent_ref : NULL, &ctx,
                                               &err));
    if (st == MIEN_ERR_EXISTS) {
        rek_fail(r, REK_CONFLICT, "User %s already exists in collection %s", user,
                 c->collection);
    } else if (st == MIEN_ERR_FORBIDDEN) {
        rek_fail(r, REK_ACCESS_DENIED, "collection %s records consent for every person: send "
                                       "the consent reference in X-Mien-Consent-Ref",
                 c->collection);
    } else if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
    } else {
        reply_ok(r, NULL);
    }
}

/* The collection's faces (*fs, *n: mien_free) and whether `user` is one of its subjects
 * (*exists; with its faces or none). Under the store lock, held by the caller. */
static mien_status user_faces(request *r, rek_call *c, const char *user,
                              const mien_context *ctx, mien_face_record **fs, size_t *n,
                              bool *exists, mien_error *err)
{
    mien_subject_info *ss = NULL;
    size_t ns = 0;
    *exists = false;
    mien_status st = mien_face_list(r->srv->store, c->collection, fs, n, err);
    for (size_t k = 0; st == MIEN_OK && k < *n && !*exists; k++) {
        *exists = strcmp((*fs)[k].subject, user) == 0;
    }
    if (st == MIEN_OK && !*exists) { /* a user without faces: only the subject list has it */
        st = mien_subject_list(r->srv->store, c->collection, ctx, &ss, &ns, err);
        for (size_t k = 0; st == MIEN_OK && k < ns && !*exists; k++) {
            *exists = strcmp(ss[k].subject, user) == 0;
        }
        mien_free(ss);
    }
    return st;
}

/* Moves face `face_id` (now of subject `from`) to subject `to`; a subject of no user left
 * without faces is erased (it was that one face's). Under the store lock. */
static mien_status move_face(request *r, rek_call *c, int64_t face_id, const char *from,
                             const char *to, const mien_context *ctx, mien_error *err)
{
    int64_t left = 0;
    mien_status st = mien_face_move(r->srv->store, c->collection, face_id, to, ctx, &left, err);
    if (st == MIEN_OK && left == 0 && !is_user(from)) {
        st = mien_erase_subject(r->srv->store, c->collection, from, ctx, NULL, err);
    }
    return st;
}

/* DeleteUser: the user's faces stay, each a face of no user again (Rekognition's rule), and
 * the user's subject is erased with its receipt. */
static void op_delete_user(request *r, rek_call *c)
{
    const char *user;
    char purpose[64], loose[64];
    mien_face_record *fs = NULL;
    size_t n = 0;
    bool exists = false;
    mien_error err;
    if (!users_params(r, c, &user)) {
        return;
    }
    mien_context ctx = users_context(c, purpose);
    pthread_mutex_lock(&r->srv->store_lock);
    mien_status st = user_faces(r, c, user, &ctx, &fs, &n, &exists, &err);
    for (size_t k = 0; st == MIEN_OK && exists && k < n; k++) {
        if (strcmp(fs[k].subject, user) == 0) {
            loose_subject(c->collection, fs[k].face_id, loose);
            st = move_face(r, c, fs[k].face_id, user, loose, &ctx, &err);
        }
    }
    if (st == MIEN_OK && exists) {
        st = mien_erase_subject(r->srv->store, c->collection, user, &ctx, NULL, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    mien_free(fs);
    if (st == MIEN_OK && !exists) {
        rek_fail(r, REK_NOT_FOUND, "no user %s in collection %s", user, c->collection);
    } else if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
    } else {
        reply_ok(r, NULL);
    }
}

/* FaceIds: 1..USER_FACES_MAX strings. False when replied. */
static bool user_face_ids(request *r, json_t **ids)
{
    size_t i;
    json_t *v;
    *ids = json_object_get(r->json, "FaceIds");
    if (!json_is_array(*ids) || json_array_size(*ids) == 0 ||
        json_array_size(*ids) > USER_FACES_MAX) {
        rek_fail(r, REK_INVALID_PARAMETER, "FaceIds is a list of 1..%d FaceIds", USER_FACES_MAX);
        return false;
    }
    json_array_foreach(*ids, i, v) {
        if (!json_is_string(v)) {
            rek_fail(r, REK_INVALID_PARAMETER, "FaceIds holds strings (FaceIds)");
            return false;
        }
    }
    return true;
}

/* The record of the face a FaceId names in fs[n], or NULL. */
static const mien_face_record *face_named(const rek_call *c, const char *face,
                                          const mien_face_record *fs, size_t n)
{
    int64_t id = -1;
    if (!face_uuid_parse(c->collection, face, &id)) {
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        if (fs[k].face_id == id) {
            return &fs[k];
        }
    }
    return NULL;
}

/* {FaceId, [UserId,] [Confidence,] Reasons: [reason]} of an unsuccessful (dis)association. */
static json_t *unsuccessful(const char *face, const char *user, double confidence,
                            const char *reason)
{
    json_t *o = json_pack("{s:s,s:[s]}", "FaceId", face, "Reasons", reason);
    if (user != NULL) {
        json_object_set_new(o, "UserId", json_string(user));
    }
    if (confidence >= 0) {
        json_object_set_new(o, "Confidence", json_real(confidence));
    }
    return o;
}

/* Rekognition's similarity of face f to user's faces (mien_verify: audited, the collection's
 * rule for a subject's several faces) into *pct. Under the store lock. */
static mien_status user_similarity(request *r, rek_call *c, const char *user, int64_t face_id,
                                   const mien_context *ctx, double *pct, mien_error *err)
{
    mien_template *t = NULL;
    mien_verification v;
    mien_status st = mien_face_template(r->srv->store, c->collection, face_id, NULL, &t, err);
    if (st == MIEN_OK) {
        st = mien_verify(r->srv->store, c->collection, user, t, 1.0, ctx, &v, err);
    }
    mien_template_free(t);
    *pct = st == MIEN_OK ? similarity_percent(c->coll.profile, v.similarity) : 0.0;
    return st;
}

/* One FaceId of an AssociateFaces: moved into the user (appended to done) or not (to failed,
 * with the reason). had_faces: the user has a face already (UserMatchThreshold then applies,
 * Rekognition's rule). Under the store lock. */
static mien_status associate_one(request *r, rek_call *c, const char *user, const char *face,
                                 const mien_face_record *f, bool had_faces, double thr,
                                 const mien_context *ctx, json_t *done, json_t *failed,
                                 mien_error *err)
{
    double pct = 0;
    mien_status st = MIEN_OK;
    if (f == NULL) {
        json_array_append_new(failed, unsuccessful(face, NULL, -1, "FACE_NOT_FOUND"));
        return MIEN_OK;
    }
    if (strcmp(f->subject, user) == 0) { /* already the user's */
        json_array_append_new(done, json_pack("{s:s}", "FaceId", face));
        return MIEN_OK;
    }
    if (is_user(f->subject)) {
        json_array_append_new(failed, unsuccessful(face, f->subject, -1,
                                                   "ASSOCIATED_TO_A_DIFFERENT_USER"));
        return MIEN_OK;
    }
    if (had_faces && (st = user_similarity(r, c, user, f->face_id, ctx, &pct, err)) == MIEN_OK &&
        pct < thr) {
        json_array_append_new(failed, unsuccessful(face, user, pct, "LOW_MATCH_CONFIDENCE"));
        return MIEN_OK;
    }
    if (st == MIEN_OK) {
        st = move_face(r, c, f->face_id, f->subject, user, ctx, err);
    }
    if (st == MIEN_OK) {
        json_array_append_new(done, json_pack("{s:s}", "FaceId", face));
    }
    return st;
}

/* The (dis)association's answer, or the error. */
static void users_reply(request *r, mien_status st, const mien_error *err, bool exists,
                        const rek_call *c, const char *user, const char *done_name,
                        json_t *done, const char *failed_name, json_t *failed, int64_t faces)
{
    if (st == MIEN_OK && !exists) {
        rek_fail(r, REK_NOT_FOUND, "no user %s in collection %s", user, c->collection);
    } else if (st != MIEN_OK) {
        rek_fail_status(r, st, err);
    } else {
        reply_ok(r, json_pack("{s:O,s:O,s:s}", done_name, done, failed_name, failed,
                              "UserStatus", user_status(faces)));
    }
}

/* How many of fs[n] are user's. */
static int64_t faces_of(const mien_face_record *fs, size_t n, const char *user)
{
    int64_t count = 0;
    for (size_t k = 0; k < n; k++) {
        count += strcmp(fs[k].subject, user) == 0;
    }
    return count;
}

static void op_associate_faces(request *r, rek_call *c)
{
    const char *user;
    json_t *ids, *v, *done = json_array(), *failed = json_array();
    double thr;
    char purpose[64];
    mien_face_record *fs = NULL;
    size_t n = 0, i;
    bool exists = false;
    mien_error err;
    mien_status st = MIEN_OK;
    if (!users_params(r, c, &user) || !user_face_ids(r, &ids) ||
        !param_number(r, "UserMatchThreshold", 0, 100, ASSOCIATE_THRESHOLD_DEFAULT, &thr)) {
        goto done;
    }
    mien_context ctx = users_context(c, purpose);
    pthread_mutex_lock(&r->srv->store_lock);
    st = user_faces(r, c, user, &ctx, &fs, &n, &exists, &err);
    bool had_faces = faces_of(fs, n, user) > 0;
    json_array_foreach(ids, i, v) {
        if (st != MIEN_OK || !exists) {
            break;
        }
        const char *face = json_string_value(v);
        size_t before = json_array_size(done);
        st = associate_one(r, c, user, face, face_named(c, face, fs, n), had_faces, thr, &ctx,
                           done, failed, &err);
        /* the first face makes the user; every later one must match it */
        had_faces = had_faces || json_array_size(done) > before;
    }
    mien_free(fs);
    fs = NULL;
    n = 0;
    if (st == MIEN_OK && exists) { /* the user's faces now, for UserStatus */
        st = mien_face_list(r->srv->store, c->collection, &fs, &n, &err);
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    users_reply(r, st, &err, exists, c, user, "AssociatedFaces", done,
                "UnsuccessfulFaceAssociations", failed, faces_of(fs, n, user));
done:
    mien_free(fs);
    json_decref(done);
    json_decref(failed);
}

static void op_disassociate_faces(request *r, rek_call *c)
{
    const char *user;
    json_t *ids, *v, *done = json_array(), *failed = json_array();
    char purpose[64], loose[64];
    mien_face_record *fs = NULL;
    size_t n = 0, i;
    bool exists = false;
    int64_t left = 0;
    mien_error err;
    mien_status st = MIEN_OK;
    if (!users_params(r, c, &user) || !user_face_ids(r, &ids)) {
        goto done;
    }
    mien_context ctx = users_context(c, purpose);
    pthread_mutex_lock(&r->srv->store_lock);
    st = user_faces(r, c, user, &ctx, &fs, &n, &exists, &err);
    left = faces_of(fs, n, user);
    json_array_foreach(ids, i, v) {
        const char *face = json_string_value(v);
        const mien_face_record *f = face_named(c, face, fs, n);
        if (st != MIEN_OK || !exists) {
            break;
        }
        if (f == NULL) {
            json_array_append_new(failed, unsuccessful(face, NULL, -1, "FACE_NOT_FOUND"));
        } else if (strcmp(f->subject, user) != 0) {
            json_array_append_new(failed, unsuccessful(face, is_user(f->subject) ? f->subject
                                                                                 : NULL,
                                                       -1, "ASSOCIATED_TO_A_DIFFERENT_USER"));
        } else {
            loose_subject(c->collection, f->face_id, loose);
            st = mien_face_move(r->srv->store, c->collection, f->face_id, loose, &ctx, &left,
                                &err);
            if (st == MIEN_OK) {
                json_array_append_new(done, json_pack("{s:s}", "FaceId", face));
            }
        }
    }
    pthread_mutex_unlock(&r->srv->store_lock);
    users_reply(r, st, &err, exists, c, user, "DisassociatedFaces", done,
                "UnsuccessfulFaceDisassociations", failed, left);
done:
    mien_free(fs);
    json_decref(done);
    json_decref(failed);
}

/* SearchUsers: UserId or FaceId, exactly one. */
static bool p_search_users(request *r, rek_call *c)
{
    const char *user, *face;
    long max;
    double thr;
    int64_t id;
    if (!param_collection(r, c) || !param_string(r, "UserId", false, 128, &user) ||
        !param_string(r, "FaceId", false, 36, &face) ||
        !param_int(r, "MaxUsers", 1, 500, SEARCH_MAX_FACES_DEFAULT, &max) ||
        !param_number(r, "UserMatchThreshold", 0, 100, SIM_DEFAULT, &thr)) {
        return false;
    }
    if ((user == NULL) == (face == NULL)) {
        rek_fail(r, REK_INVALID_PARAMETER, "SearchUsers takes a UserId or a FaceId (one)");
        return false;
    }
    if (user != NULL && !person_id_ok(r, "UserId", user)) {
        return false;
    }
    if (face != NULL && !face_uuid_parse(c->collection, face, &id)) {
        rek_fail(r, REK_INVALID_PARAMETER, "FaceId %s is not a face of collection %s", face,
                 c->collection);
        return false;
    }
    return lookup_collection(r, c) && check_search_purpose(r, c);
}

/* SearchUsers: by FaceId, the stored face is the probe (its own user is a match); by UserId,
 * the user's faces are (mien_search_subject: the user is never its own match). Audited and
 * reviewed as every search. */
static void j_search_users(mien_session *s, request *r, rek_call *c)
{
    const char *user = json_string_value(json_object_get(r->json, "UserId"));
    const char *face = json_string_value(json_object_get(r->json, "FaceId"));
    long max = SEARCH_MAX_FACES_DEFAULT;
    double thr = SIM_DEFAULT;
    int64_t id = -1;
    mien_template *probe = NULL;
    json_t *matches = NULL, *o;
    mien_error err;
    mien_status st;
    char version[64];
    (void)s;
    param_int(r, "MaxUsers", 1, 500, SEARCH_MAX_FACES_DEFAULT, &max);
    param_number(r, "UserMatchThreshold", 0, 100, SIM_DEFAULT, &thr);
    if (face != NULL) {
        face_uuid_parse(c->collection, face, &id);
        SRV_LOCKED(r->srv, st, mien_face_template(r->srv->store, c->collection, id, NULL, &probe,
                                                  &err));
        if (st != MIEN_OK) {
            rek_fail_status(r, st, &err);
            goto done;
        }
        if (!run_search_as(r, c, probe, thr, max, NULL, -1, true, &matches)) {
            goto done;
        }
    } else {
        mien_search_options so = search_options_for(thr, max, false, true);
        mien_search_result res;
        mien_context ctx = identify_context(c, NULL);
        memset(&res, 0, sizeof(res));
        /* a user unknown or without faces: ResourceNotFoundException (rek_fail_status) */
        st = srv_search_subject(r->srv, c->collection, user, &so, &ctx, &res, &err);
        if (!search_answer(r, c, st, &res, &err, thr, max, -1, true, &matches)) {
            goto done;
        }
    }
    model_version(&c->coll, version, sizeof(version));
    o = json_pack("{s:o,s:s}", "UserMatches", matches, "FaceModelVersion", version);
    matches = NULL;
    if (face != NULL) {
        json_object_set_new(o, "SearchedFace", json_pack("{s:s}", "FaceId", face));
    } else {
        json_object_set_new(o, "SearchedUser", json_pack("{s:s}", "UserId", user));
    }
    reply_ok(r, o);
done:
    json_decref(matches);
    mien_template_free(probe);
}

/* ---- IndexFaces ------------------------------------------------------------------------------ */

static bool p_index_faces(request *r, rek_call *c)
{
    const char *ext;
    long max;
    quality_filter q;
    if (!param_collection(r, c) || !param_image(r, c, "Image", 0) ||
        !param_string(r, "ExternalImageId", false, 255, &ext) ||
        !param_int(r, "MaxFaces", 1, FACES_MAX, FACES_MAX, &max) ||
        !param_quality(r, QF_AUTO, &q) || !param_attributes(r, "DetectionAttributes")) {
        return false;
    }
    if (ext != NULL && !person_id_ok(r, "ExternalImageId", ext)) {
        return false;
    }
    if (!lookup_collection(r, c)) {
        return false;
    }
    /* mien_enroll's checks that need no face, before the inference; the library audits a
     * missing consent reference as mien_enroll would. */
    char first_purpose[64];
    first_item(c->coll.purposes, first_purpose, sizeof(first_purpose));
    mien_enrollment e = {.subject = ext, .consent_ref = c->consent_ref[0] ? c->consent_ref : NULL};
    mien_context ctx = call_context(c, first_purpose, c->image_sha256[0]);
    mien_error err;
    mien_status st;
    SRV_LOCKED(r->srv, st, mien_enroll_check(r->srv->store, c->collection, &e, &ctx, &err));
    if (st == MIEN_ERR_FORBIDDEN) {
        rek_fail(r, REK_ACCESS_DENIED, "%s: send the consent reference in X-Mien-Consent-Ref",
                 err.message);
        return false;
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* IndexFaces. A mien subject is a person: with an ExternalImageId, one face (the largest that
 * passes the quality filter) is enrolled under it, and the image's other faces are reported
 * as UnindexedFaces (EXCEEDS_MAX_FACES) — several people under one id would merge them.
 * Without one, up to MaxFaces faces are enrolled, each as a subject of its own. */
static void j_index_faces(mien_session *s, request *r, rek_call *c)
{
    const char *ext = json_string_value(json_object_get(r->json, "ExternalImageId"));
    long max = FACES_MAX;
    quality_filter q = QF_AUTO;
    mien_face *faces = NULL;
    size_t n = 0, *order = NULL, indexed = 0;
    json_t *records = NULL, *unindexed = NULL;
    mien_error err;
    mien_status st;
    char version[64], image_id[37], first_purpose[64];
    mien_image *img = NULL;
    param_int(r, "MaxFaces", 1, FACES_MAX, FACES_MAX, &max);
    param_quality(r, QF_AUTO, &q);
    if (ext != NULL) {
        max = 1;
    }
    if (!faces_by_area(r, c, s, 0, &img, &faces, &n, &order)) {
        goto done;
    }
    model_version(&c->coll, version, sizeof(version));
    image_uuid(c->image_sha256[0], image_id);
    first_item(c->coll.purposes, first_purpose, sizeof(first_purpose));
    records = json_array();
    unindexed = json_array();
    for (size_t i = 0; i < n && i < FACES_MAX; i++) {
        const mien_face *f = &faces[order[i]];
        mien_template *t = NULL;
        int64_t face_id = 0;
        char subject[128], face_id_text[37];
        if (!quality_passes(f, q)) {
            json_array_append_new(unindexed, json_pack("{s:o,s:o}", "Reasons",
                                                       quality_reasons(f, q), "FaceDetail",
                                                       face_detail_json(img, f)));
            continue;
        }
        if ((long)indexed >= max) {
            json_array_append_new(unindexed, json_pack("{s:[s],s:o}", "Reasons",
                                                       "EXCEEDS_MAX_FACES", "FaceDetail",
                                                       face_detail_json(img, f)));
            continue;
        }
        if (ext != NULL) {
            snprintf(subject, sizeof(subject), "%s", ext);
        } else {
            snprintf(subject, sizeof(subject), AUTO_SUBJECT_PREFIX "%s/%zu", image_id,
                     indexed + 1);
        }
        st = srv_embed(r->srv, s, img, f, c->coll.profile, &t, &err);
        if (st == MIEN_OK) {
            mien_enrollment e = {.subject = subject,
                                 .template_ = t,
                                 .quality = &f->quality,
                                 .image_sha256 = c->image_sha256[0],
                                 .consent_ref = c->consent_ref[0] ? c->consent_ref : NULL};
            mien_context ctx = call_context(c, first_purpose, c->image_sha256[0]);
            st = srv_enroll(r->srv, c->collection, &e, &ctx, &face_id, &err);
        }
        mien_template_free(t);
        if (st != MIEN_OK) {
            rek_fail_status(r, st, &err);
            goto done;
        }
        indexed++;
        face_uuid(c->collection, face_id, face_id_text);
        json_t *face = json_pack("{s:s,s:o,s:s,s:f,s:s}", "FaceId", face_id_text, "BoundingBox",
                                 bbox_json(f, img), "ImageId", image_id, "Confidence",
                                 100.0 * f->score, "IndexFacesModelVersion", version);
        if (ext != NULL) {
            json_object_set_new(face, "ExternalImageId", json_string(ext));
            json_object_set_new(face, "UserId", json_string(ext));
        }
        json_array_append_new(records, json_pack("{s:o,s:o}", "Face", face, "FaceDetail",
                                                 face_detail_json(img, f)));
    }
    if (indexed == 0) {
        face_refusal_audit(r, c, "enrol", ext, n == 0 ? MIEN_REFUSAL_NO_FACE
                                                       : MIEN_REFUSAL_LOW_QUALITY, n);
    }
    reply_ok(r, json_pack("{s:o,s:s,s:o}", "FaceRecords", records, "FaceModelVersion", version,
                          "UnindexedFaces", unindexed));
    records = unindexed = NULL;
done:
    json_decref(records);
    json_decref(unindexed);
    free(order);
    mien_faces_free(faces);
    mien_image_free(img);
}

/* ---- DetectFaces and CompareFaces ------------------------------------------------------------ */

static bool p_detect_faces(request *r, rek_call *c)
{
    return param_image(r, c, "Image", 0) && param_attributes(r, "Attributes");
}

static void j_detect_faces(mien_session *s, request *r, rek_call *c)
{
    mien_face *faces = NULL;
    size_t n = 0, *order = NULL;
    json_t *details;
    mien_image *img = NULL;
    if (!faces_by_area(r, c, s, 0, &img, &faces, &n, &order)) {
        goto done;
    }
    details = json_array();
    for (size_t i = 0; i < n && i < FACES_MAX; i++) {
        json_array_append_new(details, face_detail_json(img, &faces[order[i]]));
    }
    reply_ok(r, json_pack("{s:o}", "FaceDetails", details));
done:
    free(order);
    mien_faces_free(faces);
    mien_image_free(img);
}

/* Whether the compare declares its purpose and case (X-Mien-Purpose, X-Mien-Case-Ref) and the
 * purpose is one of the server's compare purposes; a refusal is audited and replied
 * (InvalidParameterException naming the missing headers, AccessDeniedException for a purpose
 * not accepted). */
static bool compare_purpose_ok(request *r, rek_call *c)
{
    bool declared = accountable(c);
    mien_context ctx = identify_context(c, NULL);
    mien_audit_event ev = {.action = "compare", .collection = NULL, .outcome = "refused",
                           .result = declared ? "{\"reason\":\"purpose not allowed\"}"
                                              : "{\"reason\":\"no purpose or case declared\"}"};
    if (declared && listed(r->srv->compare_purposes, c->purpose)) {
        return true;
    }
    pthread_mutex_lock(&r->srv->store_lock);
    mien_audit_append(r->srv->store, &ev, &ctx, NULL, NULL);
    pthread_mutex_unlock(&r->srv->store_lock);
    if (!declared) {
        fail_unaccountable(r, c, r->srv->compare_purposes);
    } else {
        rek_fail(r, REK_ACCESS_DENIED, "purpose '%s' is not one compare accepts here (%s)",
                 c->purpose, r->srv->compare_purposes);
    }
    return false;
}

static bool p_compare_faces(request *r, rek_call *c)
{
    double thr;
    quality_filter q;
    return param_image(r, c, "SourceImage", 0) && param_image(r, c, "TargetImage", 1) &&
           param_number(r, "SimilarityThreshold", 0, 100, SIM_DEFAULT, &thr) &&
           param_quality(r, QF_NONE, &q) && compare_purpose_ok(r, c);
}

/* Appends a CompareFaces audit entry (as /v1/compare's): `outcome`, both images' digests and
 * `members` (the rest of the result object's members, JSON text without braces), under the
 * compare's purpose. */
static mien_status compare_append(request *r, rek_call *c, const char *outcome,
                                  const char *members, mien_error *err)
{
    char summary[400], hex_a[65], hex_b[65];
    mien_audit_event ev = {.action = "compare", .collection = NULL, .outcome = outcome,
                           .result = summary};
    mien_status st;
    sodium_bin2hex(hex_a, sizeof(hex_a), c->image_sha256[0], 32);
    sodium_bin2hex(hex_b, sizeof(hex_b), c->image_sha256[1], 32);
    snprintf(summary, sizeof(summary),
             "{\"api\":\"rekognition\",\"a_sha256\":\"%s\",\"b_sha256\":\"%s\",%s}", hex_a,
             hex_b, members);
    mien_context ctx = identify_context(c, c->image_sha256[0]); /* checked in p_compare_faces */
    SRV_LOCKED(r->srv, st, mien_audit_append(r->srv->store, &ev, &ctx, NULL, err));
    return st;
}

/* Audits a refused CompareFaces, `reason` a static text; logged when it cannot be recorded. */
static void compare_refused(request *r, rek_call *c, const char *reason)
{
    char members[128];
    mien_error err;
    snprintf(members, sizeof(members), "\"reason\":\"%s\"", reason);
    if (compare_append(r, c, "refused", members, &err) != MIEN_OK) {
        fprintf(stderr, "mien serve: a refused CompareFaces could not be audited: %s\n",
                err.message);
    }
}

/* The probe of a CompareFaces: the source's largest face, embedded with `profile`, into
 * *probe (the caller frees it and pick->faces). False when replied (and audited): no face,
 * or the face fails QualityFilter q. */
static bool compare_source(request *r, rek_call *c, mien_session *s, const mien_image *src,
                           mien_profile profile, quality_filter q, mien_face_pick *pick,
                           mien_template **probe)
{
    mien_error err;
    mien_status st = srv_face_find(r->srv, s, src, MIEN_FACE_LARGEST, pick, &err);
    if (st == MIEN_ERR_NOT_FOUND && pick->count == 0) {
        compare_refused(r, c, "no_face: source");
        rek_fail(r, REK_INVALID_PARAMETER, "There are no faces in the source image.");
        return false;
    }
    if (st == MIEN_OK && !quality_passes(&pick->faces[pick->index], q)) {
        compare_refused(r, c, "low_quality: source");
        rek_fail(r, REK_INVALID_PARAMETER, "the source's largest face does not meet "
                                           "QualityFilter");
        return false; /* before the embedding: a refusal costs none */
    }
    if (st == MIEN_OK) {
        st = srv_embed(r->srv, s, src, &pick->faces[pick->index], profile, probe, &err);
    }
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* What CompareFaces found among the target's faces. */
typedef struct compare_tally {
    json_t *matches, *unmatched; /* FaceMatches and UnmatchedFaces (owned) */
    size_t n_matches;
    double best_pct;             /* the best similarity, percent */
} compare_tally;

/* Embeds each of the target's (up to FACES_MAX) largest faces that pass q and compares it to
 * probe: at or above thr percent a match, else unmatched. False when replied. */
static bool compare_targets(request *r, mien_session *s, const mien_image *dst,
                            const mien_face *tf, size_t nt, const mien_template *probe,
                            mien_profile profile, double thr, quality_filter q,
                            compare_tally *out)
{
    size_t *order = calloc(nt + 1, sizeof(*order));
    mien_error err;
    mien_status st = MIEN_OK;
    if (order == NULL) {
        rek_fail(r, REK_INTERNAL, "out of memory");
        return false;
    }
    mien_faces_by_area(tf, nt, order);
    for (size_t i = 0; i < nt && i < FACES_MAX && st == MIEN_OK; i++) {
        const mien_face *f = &tf[order[i]];
        mien_template *t = NULL;
        float sim = -1.0f;
        if (!quality_passes(f, q)) {
            continue; /* filtered out: neither matched nor unmatched (Rekognition) */
        }
        st = srv_embed(r->srv, s, dst, f, profile, &t, &err);
        if (st == MIEN_OK) {
            st = mien_template_compare(probe, t, &sim, &err);
        }
        mien_template_free(t);
        if (st != MIEN_OK) {
            break;
        }
        double pct = similarity_percent(profile, sim);
        if (pct >= thr) {
            json_array_append_new(out->matches, json_pack("{s:f,s:o}", "Similarity", pct, "Face",
                                                          face_detail_json(dst, f)));
            out->n_matches++;
        } else {
            json_array_append_new(out->unmatched, face_detail_json(dst, f));
        }
        out->best_pct = pct > out->best_pct ? pct : out->best_pct;
    }
    free(order);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* The audit entry of a CompareFaces (as /v1/compare's): both images' digests, counts, the
 * best similarity; no face, no template. False when replied. */
static bool compare_audit(request *r, rek_call *c, size_t nt, const compare_tally *tally,
                          double thr)
{
    char members[160];
    mien_error err;
    snprintf(members, sizeof(members),
             "\"target_faces\":%zu,\"matches\":%zu,\"best_similarity\":%.3f,"
             "\"threshold\":%.3f",
             nt, tally->n_matches, tally->best_pct, thr);
    mien_status st = compare_append(r, c, "ok", members, &err);
    if (st != MIEN_OK) {
        rek_fail_status(r, st, &err);
        return false;
    }
    return true;
}

/* CompareFaces: the largest face of the source against each of the target's (up to 100)
 * largest faces, with the profile of X-Mien-Profile (default fast). Audited as "compare". */
static void j_compare_faces(mien_session *s, request *r, rek_call *c)
{
    double thr = SIM_DEFAULT;
    quality_filter q = QF_NONE;
    mien_profile profile = MIEN_PROFILE_FAST;
    mien_image *src = NULL, *dst = NULL;
    mien_face_pick pick = {NULL, 0, -1};
    mien_face *tf = NULL;
    size_t nt = 0;
    mien_template *probe = NULL;
    compare_tally tally = {json_array(), json_array(), 0, 0};
    mien_error err;
    mien_status st;
    mien_profile_parse(c->profile, &profile); /* anything else: fast */
    param_number(r, "SimilarityThreshold", 0, 100, SIM_DEFAULT, &thr);
    param_quality(r, QF_NONE, &q);
    if ((src = decode_image(r, c, 0)) == NULL || (dst = decode_image(r, c, 1)) == NULL ||
        !compare_source(r, c, s, src, profile, q, &pick, &probe)) {
        goto done;
    }
    if ((st = srv_detect(r->srv, s, dst, NULL, &tf, &nt, &err)) != MIEN_OK) {
        rek_fail_status(r, st, &err);
        goto done;
    }
    if (!compare_targets(r, s, dst, tf, nt, probe, profile, thr, q, &tally) ||
        !compare_audit(r, c, nt, &tally, thr)) {
        goto done;
    }
    sort_matches(tally.matches);
    const mien_face *best = &pick.faces[pick.index];
    reply_ok(r, json_pack("{s:{s:o,s:f},s:o,s:o}", "SourceImageFace", "BoundingBox",
                          bbox_json(best, src), "Confidence", 100.0 * best->score,
                          "FaceMatches", tally.matches, "UnmatchedFaces", tally.unmatched));
    tally.matches = tally.unmatched = NULL;
done:
    json_decref(tally.matches);
    json_decref(tally.unmatched);
    mien_template_free(probe);
    mien_faces_free(pick.faces);
    mien_faces_free(tf);
    mien_image_free(src);
    mien_image_free(dst);
}

/* ---- the operation table --------------------------------------------------------------------- */

#define OP_INLINE(name, action, fn) \
    {{"POST", "/ RekognitionService." name, action, NULL, NULL, NULL}, name, fn, NULL, NULL}
#define OP_JOB(name, action, prep, job) \
    {{"POST", "/ RekognitionService." name, action, NULL, NULL, NULL}, name, NULL, prep, job}

static const rek_op OPS[] = {
    OP_INLINE("CreateCollection", "collections.write", op_create_collection),
    OP_INLINE("DeleteCollection", "collections.write", op_delete_collection),
    OP_INLINE("ListCollections", "collections.read", op_list_collections),
    OP_INLINE("DescribeCollection", "collections.read", op_describe_collection),
    OP_JOB("IndexFaces", "enrol", p_index_faces, j_index_faces),
    OP_INLINE("ListFaces", "subjects.read", op_list_faces),
    OP_INLINE("DeleteFaces", "erase", op_delete_faces),
    OP_JOB("SearchFaces", "search", p_search_faces, j_search_faces),
    OP_JOB("SearchFacesByImage", "search", p_search_faces_by_image, j_search_faces_by_image),
    OP_JOB("CompareFaces", "compare", p_compare_faces, j_compare_faces),
    OP_JOB("DetectFaces", "detect", p_detect_faces, j_detect_faces),
    OP_INLINE("ListUsers", "subjects.read", op_list_users),
    OP_JOB("SearchUsersByImage", "search", p_search_users_by_image, j_search_users_by_image),
    OP_INLINE("CreateUser", "enrol", op_create_user),
    OP_INLINE("DeleteUser", "erase", op_delete_user),
    OP_INLINE("AssociateFaces", "enrol", op_associate_faces),
    OP_INLINE("DisassociateFaces", "enrol", op_disassociate_faces),
    OP_JOB("SearchUsers", "search", p_search_users, j_search_users),
};

/* Requests that fail before their operation is known are counted under this label. */
static const route GENERIC_ROUTE = {"POST", "/ RekognitionService", "rekognition", NULL, NULL,
                                    NULL};

bool srv_rekognition_is_call(struct MHD_Connection *conn, const char *method, const char *url)
{
    return strcmp(method, "POST") == 0 && strcmp(url, "/") == 0 &&
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target") != NULL;
}

static void run_job(mien_session *s, void *arg)
{
    request *r = arg;
    rek_call *c = r->rek;
    c->op->job(s, r, c);
    r->state = REQ_READY;
    MHD_resume_connection(r->conn);
}

/* Copies the X-Mien-* headers into c; false (replied) when one is too long. */
static bool copy_mien_headers(request *r, rek_call *c)
{
    return copy_header(r, "X-Mien-Purpose", c->purpose, sizeof(c->purpose)) &&
           copy_header(r, "X-Mien-Case-Ref", c->case_ref, sizeof(c->case_ref)) &&
           copy_header(r, "X-Mien-Consent-Ref", c->consent_ref, sizeof(c->consent_ref)) &&
           copy_header(r, "X-Mien-Purposes", c->purposes, sizeof(c->purposes)) &&
           copy_header(r, "X-Mien-Legal-Basis", c->legal_basis, sizeof(c->legal_basis)) &&
           copy_header(r, "X-Mien-Consent", c->consent, sizeof(c->consent)) &&
           copy_header(r, "X-Mien-Retention-Days", c->retention_days,
                       sizeof(c->retention_days)) &&
           copy_header(r, "X-Mien-Review", c->review, sizeof(c->review)) &&
           copy_header(r, "X-Mien-Verification-Only", c->verification_only,
                       sizeof(c->verification_only)) &&
           copy_header(r, "X-Mien-Profile", c->profile, sizeof(c->profile)) &&
           copy_header(r, "X-Mien-Description", c->description, sizeof(c->description)) &&
           copy_header(r, "X-Mien-Max-Fmr", c->max_fmr, sizeof(c->max_fmr)) &&
           copy_header(r, "X-Mien-Max-Candidates", c->max_candidates, sizeof(c->max_candidates));
}

bool srv_rekognition_begin(request *r)
{
    rek_call *c = calloc(1, sizeof(*c));
    r->route = &GENERIC_ROUTE;
    if (c == NULL) {
        rek_fail(r, REK_INTERNAL, "out of memory");
        return false;
    }
    r->rek = c;
    snprintf(c->case_default, sizeof(c->case_default), "rekognition:%s", r->request_id);
    return authenticate_headers(r, c);
}

bool srv_rekognition_prepare(request *r)
{
    const char *target = header(r, "X-Amz-Target");
    json_error_t jerr;
    rek_call *c = r->rek;
    if (!authenticate_body(r, c)) {
        return false;
    }
    if (strncmp(target, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0) {
        const char *name = target + strlen(TARGET_PREFIX);
        for (size_t k = 0; k < sizeof(OPS) / sizeof(OPS[0]); k++) {
            if (strcmp(name, OPS[k].name) == 0) {
                c->op = &OPS[k];
            }
        }
    }
    if (c->op == NULL) {
        rek_fail(r, REK_UNKNOWN_OPERATION,
                 "mien does not implement %.80s (its Rekognition-compatible operations: "
                 "docs/rekognition.md)", target);
        return false;
    }
    r->route = &c->op->rt;
    if (!mien_role_allows(c->key.role, c->op->rt.action)) {
        rek_fail(r, REK_ACCESS_DENIED, "a %s key may not call %s", mien_role_name(c->key.role),
                 c->op->name);
        return false;
    }
    if (r->body_len == 0) {
        r->json = json_object();
    } else {
        r->json = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (r->json == NULL) {
            rek_fail(r, REK_SERIALIZATION, "malformed JSON body: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
            return false;
        }
    }
    if (!json_is_object(r->json)) {
        rek_fail(r, REK_SERIALIZATION, "the JSON body must be an object");
        return false;
    }
    if (!copy_mien_headers(r, c)) {
        return false;
    }
    if (c->op->run != NULL) {
        c->op->run(r, c);
        return false;
    }
    if (!c->op->prepare(r, c)) {
        return false;
    }
    r->job.fn = run_job;
    r->job.arg = r;
    return true;
}
