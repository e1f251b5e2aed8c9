/* sigv4.h — AWS Signature Version 4 (AWS General Reference, "Signature Version 4 signing
 * process"; the published test suite aws-sig-v4-test-suite), the verifier's half: parse an
 * Authorization header, rebuild the canonical request and the string to sign from what was
 * received, and compute the signature a given signing key makes. The Rekognition-compatible
 * API (rekognition.c) checks requests with it; the signing key comes from the library
 * (mien_key_sigv4_signing_key), so this file never sees a secret except in tests.
 *
 * Pure functions over their arguments: no global state, safe from any thread. Hashes and
 * MACs are libsodium's (crypto_hash_sha256, crypto_auth_hmacsha256). @test
 * server/test_sigv4.c */
#ifndef MIEN_SERVER_SIGV4_H
#define MIEN_SERVER_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_KEY_BYTES 32 /* HMAC-SHA-256 output: kSigning */
#define SIGV4_HEX_LEN 64   /* a SHA-256 or HMAC-SHA-256 as lowercase hex, without the NUL */

/* A header or a query parameter. Headers: names in any case, values as received (one entry
 * per occurrence: a repeated header is several entries, in the order received). Query
 * parameters: names and values decoded (not percent-encoded). */
typedef struct sigv4_pair {
    const char *name;
    const char *value;
} sigv4_pair;

/* What a verifier received. */
typedef struct sigv4_request {
    const char *method;              /* "POST" */
    const char *path;                /* the path without the query, not percent-encoded */
    const sigv4_pair *query;         /* n_query decoded parameters */
    size_t n_query;
    const sigv4_pair *headers;       /* n_headers headers */
    size_t n_headers;
    const char *payload_sha256_hex;  /* SIGV4_HEX_LEN lowercase hex of SHA-256(body) */
} sigv4_request;

/* The parts of an "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=HEX" header. */
typedef struct sigv4_credential {
    char access_key[129];
    char date[9];               /* YYYYMMDD */
    char region[64];
    char service[64];
    char signed_headers[1024];  /* "content-type;host;x-amz-date", as sent */
    char signature[SIGV4_HEX_LEN + 1];
} sigv4_credential;

/* Parses an Authorization header value into *out. False with a reason in why[why_cap] (for
 * the client: it names the part that is wrong, never a secret) when it is not a well-formed
 * SigV4 header: another algorithm, a missing or repeated part, a scope that does not end in
 * "aws4_request", a signed-header list that is empty or not lowercase, or a signature that is
 * not 64 hex characters. */
bool srv_sigv4_parse_authorization(const char *value, sigv4_credential *out, char *why,
                                   size_t why_cap);

/* The canonical request (task 1) of `req` for the signed headers "a;b;c": method, canonical
 * URI (dot segments and repeated slashes removed, each segment percent-encoded once as RFC
 * 3986 unreserved), canonical query (encoded, sorted by name then value), canonical headers
 * (lowercase name, values trimmed with inner runs of spaces collapsed, repeated headers joined
 * with ',' in received order), the signed header list and the payload hash. Returns a
 * malloc'd string (caller frees); NULL when a signed header is absent from the request (why
 * says which) or memory runs out. */
char *srv_sigv4_canonical_request(const sigv4_request *req, const char *signed_headers, char *why,
                                  size_t why_cap);

/* The string to sign (task 2): algorithm, the request time amz_date ("YYYYMMDDTHHMMSSZ"), the
 * credential scope DATE/REGION/SERVICE/aws4_request and the hex SHA-256 of the canonical
 * request. malloc'd (caller frees); NULL when out of memory. */
char *srv_sigv4_string_to_sign(const char *amz_date, const sigv4_credential *cred,
                               const char *canonical_request);

/* kSigning (task 3) = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"). The library derives the same key for a mien API key
 * (mien_key_sigv4_signing_key); this one exists for tests and clients. */
void srv_sigv4_signing_key(const char *secret, const char *date, const char *region,
                           const char *service, uint8_t out[SIGV4_KEY_BYTES]);

/* hex(HMAC-SHA-256(key, string_to_sign)) into hex[SIGV4_HEX_LEN + 1] (task 4). */
void srv_sigv4_signature(const uint8_t key[SIGV4_KEY_BYTES], const char *string_to_sign,
                         char hex[SIGV4_HEX_LEN + 1]);

/* hex(SHA-256(data[n])) into hex[SIGV4_HEX_LEN + 1]. */
void srv_sigv4_sha256_hex(const void *data, size_t n, char hex[SIGV4_HEX_LEN + 1]);

/* Parses an X-Amz-Date value ("20150830T123600Z", ISO 8601 basic, UTC) into unix seconds.
 * False for anything else, impossible dates included. */
bool srv_sigv4_parse_amz_date(const char *text, int64_t *unix_s);

/* Whether two signatures (hex text) are equal, in time that does not depend on where they
 * differ (sodium_memcmp). False when either is not SIGV4_HEX_LEN characters. */
bool srv_sigv4_signature_equal(const char *a, const char *b);

#endif
