/* sigv4.c — AWS Signature Version 4, the verifier's half (sigv4.h). The four tasks of the
 * signing process as AWS documents them, applied to what the server received:
 *   1. canonical request: METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n HASH(body)
 *   2. string to sign: "AWS4-HMAC-SHA256" \n X-Amz-Date \n scope \n HASH(canonical request)
 *   3. signing key: an HMAC chain from "AWS4" + secret over date, region, service
 *   4. signature: hex(HMAC(signing key, string to sign)), compared in constant time.
 * The canonicalisation rules (URI normalisation for every service but S3, percent-encoding of
 * everything outside RFC 3986's unreserved set with uppercase hex, sorted query, header values
 * trimmed and their inner runs of spaces collapsed, repeated headers joined with commas) are
 * pinned by the published test suite in tests/server/test_sigv4.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "sigv4.h"
#include "strbuf.h"

#define SCOPE_TERMINATOR "aws4_request"
#define MAX_SEGMENTS 256 /* path segments kept while normalising; more → treated as malformed */

/* Percent-encodes s[n] as SigV4 wants: RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~)
 * stay, every other byte becomes %XX with uppercase hex; '/' stays when keep_slash. */
static void sb_uri_encode(srv_buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            srv_buf_chr(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            srv_buf_add(b, e, 3);
        }
    }
}

/* ---- task 1: the canonical request ----------------------------------------------------- */

/* The canonical URI of `path` (AWS: normalise per RFC 3986 for every service but S3, then
 * encode each segment): empty and "." segments dropped, ".." removes the segment before it,
 * a trailing slash kept. False when the path has more than MAX_SEGMENTS segments. */
static bool canonical_uri(srv_buf *b, const char *path)
{
    const char *seg[MAX_SEGMENTS];
    size_t seg_len[MAX_SEGMENTS];
    size_t n = 0, plen = strlen(path);
    const char *p = path;
    bool trailing = plen > 0 && (path[plen - 1] == '/' ||
                                 (plen >= 2 && strcmp(path + plen - 2, "/.") == 0) ||
                                 (plen >= 3 && strcmp(path + plen - 3, "/..") == 0));
    while (*p != '\0') {
        size_t len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* an empty or "." segment */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (n > 0) {
                n--;
            }
        } else {
            if (n == MAX_SEGMENTS) {
                return false;
            }
            seg[n] = p;
            seg_len[n] = len;
            n++;
        }
        p += len;
        if (*p == '/') {
            p++;
        }
    }
    srv_buf_chr(b, '/');
    for (size_t i = 0; i < n; i++) {
        sb_uri_encode(b, seg[i], seg_len[i], false);
        if (i + 1 < n || trailing) {
            srv_buf_chr(b, '/');
        }
    }
    return true;
}

typedef struct encoded_pair {
    char *name, *value;
} encoded_pair;

static int pair_cmp(const void *a, const void *b)
{
    const encoded_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    srv_buf b = {0};
    sb_uri_encode(&b, s, strlen(s), false);
    return srv_buf_finish(&b, NULL);
}

/* name=value pairs, each encoded, sorted by name then value, joined with '&'. */
static bool canonical_query(srv_buf *b, const sigv4_pair *q, size_t n)
{
    encoded_pair *e;
    bool ok = true;
    if (n == 0) {
        return true;
    }
    e = calloc(n, sizeof(*e));
    if (e == NULL) {
        return false;
    }
    for (size_t i = 0; i < n && ok; i++) {
        e[i].name = encode_dup(q[i].name != NULL ? q[i].name : "");
        e[i].value = encode_dup(q[i].value != NULL ? q[i].value : "");
        ok = e[i].name != NULL && e[i].value != NULL;
    }
    if (ok) {
        qsort(e, n, sizeof(*e), pair_cmp);
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                srv_buf_chr(b, '&');
            }
            srv_buf_str(b, e[i].name);
            srv_buf_chr(b, '=');
            srv_buf_str(b, e[i].value);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    return ok;
}

/* Appends value trimmed, with every inner run of spaces and tabs turned into one space. */
static void sb_header_value(srv_buf *b, const char *v)
{
    bool pending_space = false, started = false;
    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            pending_space = started;
            continue;
        }
        if (pending_space) {
            srv_buf_chr(b, ' ');
            pending_space = false;
        }
        srv_buf_chr(b, *v);
        started = true;
    }
}

char *srv_sigv4_canonical_request(const sigv4_request *req, const char *signed_headers, char *why,
                                  size_t why_cap)
{
    srv_buf b = {0};
    const char *sh = signed_headers;
    if (why_cap > 0) {
        why[0] = '\0';
    }
    srv_buf_str(&b, req->method);
    srv_buf_chr(&b, '\n');
    if (!canonical_uri(&b, req->path != NULL && req->path[0] != '\0' ? req->path : "/")) {
        snprintf(why, why_cap, "the path has too many segments");
        free(b.p);
        return NULL;
    }
    srv_buf_chr(&b, '\n');
    if (!canonical_query(&b, req->query, req->n_query)) {
        free(b.p);
        return NULL;
    }
    srv_buf_chr(&b, '\n');
    while (*sh != '\0') {
        size_t len = strcspn(sh, ";");
        if (len > 0) {
            bool found = false;
            srv_buf_add(&b, sh, len);
            srv_buf_chr(&b, ':');
            for (size_t i = 0; i < req->n_headers; i++) {
                const sigv4_pair *h = &req->headers[i];
                if (strlen(h->name) == len && strncasecmp(h->name, sh, len) == 0) {
                    if (found) {
                        srv_buf_chr(&b, ',');
                    }
                    sb_header_value(&b, h->value != NULL ? h->value : "");
                    found = true;
                }
            }
            if (!found) {
                snprintf(why, why_cap, "the signed header '%.*s' is not in the request",
                         (int)(len < 64 ? len : 64), sh);
                free(b.p);
                return NULL;
            }
            srv_buf_chr(&b, '\n');
        }
        sh += len;
        if (*sh == ';') {
            sh++;
        }
    }
    srv_buf_chr(&b, '\n');
    srv_buf_str(&b, signed_headers);
    srv_buf_chr(&b, '\n');
    srv_buf_str(&b, req->payload_sha256_hex);
    return srv_buf_finish(&b, NULL);
}

/* ---- tasks 2 to 4 ---------------------------------------------------------------------- */

void srv_sigv4_sha256_hex(const void *data, size_t n, char hex[SIGV4_HEX_LEN + 1])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, n);
    sodium_bin2hex(hex, SIGV4_HEX_LEN + 1, h, sizeof(h));
}

char *srv_sigv4_string_to_sign(const char *amz_date, const sigv4_credential *cred,
                               const char *canonical_request)
{
    char hex[SIGV4_HEX_LEN + 1];
    srv_buf b = {0};
    srv_sigv4_sha256_hex(canonical_request, strlen(canonical_request), hex);
    srv_buf_str(&b, SIGV4_ALGORITHM "\n");
    srv_buf_str(&b, amz_date);
    srv_buf_chr(&b, '\n');
    srv_buf_str(&b, cred->date);
    srv_buf_chr(&b, '/');
    srv_buf_str(&b, cred->region);
    srv_buf_chr(&b, '/');
    srv_buf_str(&b, cred->service);
    srv_buf_str(&b, "/" SCOPE_TERMINATOR "\n");
    srv_buf_str(&b, hex);
    return srv_buf_finish(&b, NULL);
}

static void hmac(const uint8_t *key, size_t key_len, const char *msg,
                 uint8_t out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void srv_sigv4_signing_key(const char *secret, const char *date, const char *region,
                           const char *service, uint8_t out[SIGV4_KEY_BYTES])
{
    size_t n = strlen(secret);
    uint8_t k[crypto_auth_hmacsha256_BYTES];
    uint8_t *first = malloc(n + 4);
    if (first == NULL) { /* a key nobody can match: the request is refused, never accepted */
        randombytes_buf(out, SIGV4_KEY_BYTES);
        return;
    }
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret, n);
    hmac(first, n + 4, date, k);
    sodium_memzero(first, n + 4);
    free(first);
    hmac(k, sizeof(k), region, k);
    hmac(k, sizeof(k), service, k);
    hmac(k, sizeof(k), SCOPE_TERMINATOR, out);
    sodium_memzero(k, sizeof(k));
}

void srv_sigv4_signature(const uint8_t key[SIGV4_KEY_BYTES], const char *string_to_sign,
                         char hex[SIGV4_HEX_LEN + 1])
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    hmac(key, SIGV4_KEY_BYTES, string_to_sign, mac);
    sodium_bin2hex(hex, SIGV4_HEX_LEN + 1, mac, sizeof(mac));
}

bool srv_sigv4_signature_equal(const char *a, const char *b)
{
    if (strnlen(a, SIGV4_HEX_LEN + 1) != SIGV4_HEX_LEN ||
        strnlen(b, SIGV4_HEX_LEN + 1) != SIGV4_HEX_LEN) {
        return false;
    }
    return sodium_memcmp(a, b, SIGV4_HEX_LEN) == 0;
}

/* ---- parsing --------------------------------------------------------------------------- */

/* Copies s[n] into out[cap] (NUL-terminated); false when it does not fit or is empty. */
static bool copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* Splits "AKID/DATE/REGION/SERVICE/aws4_request" into cred. */
static bool parse_scope(const char *s, size_t n, sigv4_credential *cred, char *why,
                        size_t why_cap)
{
    const char *part[5];
    size_t len[5];
    size_t k = 0;
    const char *p = s, *end = s + n;
    while (k < 5) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        part[k] = p;
        len[k] = (size_t)((slash != NULL ? slash : end) - p);
        k++;
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    if (k != 5 || part[4] + len[4] != end) {
        snprintf(why, why_cap, "Credential is not ACCESS_KEY/DATE/REGION/SERVICE/aws4_request");
        return false;
    }
    if (!copy_part(cred->access_key, sizeof(cred->access_key), part[0], len[0]) ||
        len[1] != 8 || !copy_part(cred->date, sizeof(cred->date), part[1], len[1]) ||
        !copy_part(cred->region, sizeof(cred->region), part[2], len[2]) ||
        !copy_part(cred->service, sizeof(cred->service), part[3], len[3]) ||
        len[4] != strlen(SCOPE_TERMINATOR) || memcmp(part[4], SCOPE_TERMINATOR, len[4]) != 0) {
        snprintf(why, why_cap, "malformed credential scope in Credential");
        return false;
    }
    for (size_t i = 0; i < 8; i++) {
        if (!isdigit((unsigned char)cred->date[i])) {
            snprintf(why, why_cap, "the credential scope's date is not YYYYMMDD");
            return false;
        }
    }
    return true;
}

bool srv_sigv4_parse_authorization(const char *value, sigv4_credential *out, char *why,
                                   size_t why_cap)
{
    const size_t alen = strlen(SIGV4_ALGORITHM);
    bool have_cred = false, have_sh = false, have_sig = false;
    const char *p;
    memset(out, 0, sizeof(*out));
    if (why_cap > 0) {
        why[0] = '\0';
    }
    if (value == NULL || strncmp(value, SIGV4_ALGORITHM, alen) != 0 || value[alen] != ' ') {
        snprintf(why, why_cap, "Authorization must start with \"" SIGV4_ALGORITHM " \"");
        return false;
    }
    p = value + alen;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        size_t n = strcspn(p, ", ");
        const char *eq = memchr(p, '=', n);
        if (eq == NULL) {
            snprintf(why, why_cap, "Authorization has a part without '='");
            return false;
        }
        size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
        const char *v = eq + 1;
        if (klen == 10 && memcmp(p, "Credential", 10) == 0 && !have_cred) {
            if (!parse_scope(v, vlen, out, why, why_cap)) {
                return false;
            }
            have_cred = true;
        } else if (klen == 13 && memcmp(p, "SignedHeaders", 13) == 0 && !have_sh) {
            if (!copy_part(out->signed_headers, sizeof(out->signed_headers), v, vlen)) {
                snprintf(why, why_cap, "SignedHeaders is empty or too long");
                return false;
            }
            for (const char *c = out->signed_headers; *c != '\0'; c++) {
                if (isupper((unsigned char)*c) || (unsigned char)*c <= ' ' || *c == ':') {
                    snprintf(why, why_cap, "SignedHeaders must be lowercase header names "
                                           "separated by ';'");
                    return false;
                }
            }
            have_sh = true;
        } else if (klen == 9 && memcmp(p, "Signature", 9) == 0 && !have_sig) {
            if (vlen != SIGV4_HEX_LEN) {
                snprintf(why, why_cap, "Signature is not 64 hex characters");
                return false;
            }
            for (size_t i = 0; i < vlen; i++) {
                if (!isxdigit((unsigned char)v[i])) {
                    snprintf(why, why_cap, "Signature is not 64 hex characters");
                    return false;
                }
            }
            memcpy(out->signature, v, vlen);
            out->signature[vlen] = '\0';
            have_sig = true;
        } else {
            snprintf(why, why_cap, "Authorization has an unknown or repeated part '%.*s'",
                     (int)(klen < 32 ? klen : 32), p);
            return false;
        }
        p += n;
    }
    if (!have_cred || !have_sh || !have_sig) {
        snprintf(why, why_cap, "Authorization lacks %s",
                 !have_cred ? "Credential" : !have_sh ? "SignedHeaders" : "Signature");
        return false;
    }
    return true;
}

bool srv_sigv4_parse_amz_date(const char *text, int64_t *unix_s)
{
    struct tm tm = {0}, back;
    time_t t;
    if (text == NULL || strlen(text) != 16 || text[8] != 'T' || text[15] != 'Z') {
        return false;
    }
    for (int i = 0; i < 15; i++) {
        if (i != 8 && !isdigit((unsigned char)text[i])) {
            return false;
        }
    }
    int v[6];
    static const int at[6] = {0, 4, 6, 9, 11, 13}, len[6] = {4, 2, 2, 2, 2, 2};
    for (int k = 0; k < 6; k++) {
        int x = 0;
        for (int i = 0; i < len[k]; i++) {
            x = x * 10 + (text[at[k] + i] - '0');
        }
        v[k] = x;
    }
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    t = timegm(&tm);
    if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_year != v[0] - 1900 ||
        back.tm_mon != v[1] - 1 || back.tm_mday != v[2] || back.tm_hour != v[3] ||
        back.tm_min != v[4] || back.tm_sec != v[5]) {
        return false;
    }
    *unix_s = (int64_t)t;
    return true;
}
