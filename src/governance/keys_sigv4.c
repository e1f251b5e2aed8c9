/* keys_sigv4.c — AWS Signature Version 4 credentials for mien API keys, so that code written
 * for Amazon Rekognition can call `mien serve` with an AWS SDK (docs/rekognition.md).
 *
 * SigV4 is symmetric: the verifier recomputes an HMAC keyed with the client's secret access
 * key, so it must be able to obtain that secret, while the store keeps only a hash of each
 * API key's secret (keys.c). Instead of storing a second, recoverable secret per key, mien
 * derives it:
 *
 *   secret access key = base64url(HMAC-SHA-256(K, "mien:sigv4/v1" || 0x00 || id || ":" ||
 *                                                hex(secret_hash)))        (43 characters)
 *
 * where K is the store's subject key (keyring.h: kept in the key file beside the database,
 * never in it) and secret_hash the key's stored BLAKE2b hash. keyring_subject_hash computes
 * exactly this HMAC over "collection\0subject"; "mien:sigv4/v1" can never be a collection name
 * ([A-Za-z0-9_.-]), so no audit pseudonym can ever equal a SigV4 secret (HMAC-SHA-256 is a
 * PRF: distinct inputs give independent outputs). The access key id is the key's id.
 *
 * Consequences, by design:
 *   - nothing new is stored: no schema change, and every key, old or new, has AWS credentials;
 *   - the database alone yields no secret (K is in the key file), the key file alone neither
 *     (it lacks the hashes); both together do — as both together open every template;
 *   - revoking the key revokes its AWS credentials (every verification reads the key row);
 *   - the secret access key is handed out only to someone who presents the whole API key
 *     (mien_key_aws_secret), e.g. `mien keys create` right after creating it; the server gets
 *     only the date-, region- and service-scoped signing key (mien_key_sigv4_signing_key), as
 *     AWS's own services do.
 * Losing or replacing the key file changes every AWS secret (and loses every template).
 *
 * Thread safety: as keys.c (a store handle belongs to one thread at a time).
 * @test governance/test_keys_sigv4.c, tests/rekognition/test_rekognition.sh */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "store/handle.h"
#include "store/store.h"

#define SIGV4_DOMAIN "mien:sigv4/v1" /* the HMAC's "collection" part: see the file comment */
#define SCOPE_TERMINATOR "aws4_request"

_Static_assert(sodium_base64_ENCODED_LEN(KEYRING_HASH_BYTES,
                                         sodium_base64_VARIANT_URLSAFE_NO_PADDING) <=
                   MIEN_AWS_SECRET_MAX,
               "a derived secret fits MIEN_AWS_SECRET_MAX");

/* The same answer for every way a key can be unusable (keys.c: no detail about why). */
#define INVALID_KEY "invalid API key"

/* Looks key `id` up and checks that it is valid; *k filled. MIEN_ERR_NOT_FOUND for an unknown,
 * revoked or malformed id; store failures as themselves. */
static mien_status valid_key(store_db *gs, const char *id, store_key *k, mien_error *err)
{
    mien_status st;
    if (id == NULL || strlen(id) != MIEN_KEY_ID_LEN) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, INVALID_KEY);
    }
    for (size_t i = 0; i < MIEN_KEY_ID_LEN; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return base_error_set(err, MIEN_ERR_NOT_FOUND, INVALID_KEY);
        }
    }
    st = gs->ops->key_get(gs, id, k, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, INVALID_KEY);
    }
    if (st != MIEN_OK) {
        return st;
    }
    if (k->revoked_at != 0 || (unsigned)k->role > (unsigned)MIEN_ROLE_AUDIT) {
        sodium_memzero(k, sizeof(*k));
        return base_error_set(err, MIEN_ERR_NOT_FOUND, INVALID_KEY);
    }
    return MIEN_OK;
}

/* The derived secret access key of k (file comment) into out[MIEN_AWS_SECRET_MAX]. */
static void derive_secret(const keyring *ring, const store_key *k,
                          char out[MIEN_AWS_SECRET_MAX])
{
    char subject[MIEN_KEY_ID_LEN + 1 + 2 * STORE_KEY_HASH_LEN + 1];
    uint8_t mac[KEYRING_HASH_BYTES];
    memcpy(subject, k->id, MIEN_KEY_ID_LEN);
    subject[MIEN_KEY_ID_LEN] = ':';
    sodium_bin2hex(subject + MIEN_KEY_ID_LEN + 1, 2 * STORE_KEY_HASH_LEN + 1, k->secret_hash,
                   STORE_KEY_HASH_LEN);
    keyring_subject_hash(ring, SIGV4_DOMAIN, subject, mac);
    sodium_bin2base64(out, MIEN_AWS_SECRET_MAX, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(mac, sizeof(mac));
}

/* MIEN_ERR_NOT_FOUND when the store has no key file: its subject key is what derives every
 * AWS secret (file comment). */
static mien_status need_key_file(const store_db *gs, mien_error *err)
{
    if (gs->keys == NULL) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND,
                              "the store has no key file: AWS credentials cannot be derived");
    }
    return MIEN_OK;
}

/* valid_key, then the key's derived secret into secret[MIEN_AWS_SECRET_MAX] (untouched on
 * failure). The store has a key file (need_key_file); the caller wipes *k. */
static mien_status key_secret(store_db *gs, const char *id, store_key *k,
                              char secret[MIEN_AWS_SECRET_MAX], mien_error *err)
{
    mien_status st = valid_key(gs, id, k, err);
    if (st == MIEN_OK) {
        derive_secret(gs->keys, k, secret);
    }
    return st;
}

static void key_to_info(const store_key *k, mien_key_info *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, k->id, MIEN_KEY_ID_LEN);
    out->role = k->role;
    snprintf(out->label, sizeof(out->label), "%s", k->label);
    out->created_at = k->created_at;
    out->revoked_at = k->revoked_at;
}

/* @test governance/test_keys_sigv4.c (sigv4_secret_round_trip) */
mien_status mien_key_aws_secret(mien_store *store, const char *key_text,
                                char secret[MIEN_AWS_SECRET_MAX], mien_error *err)
{
    store_db *gs = store_db_of(store);
    mien_key_info info;
    store_key k;
    mien_status st;
    if (secret != NULL) {
        secret[0] = '\0';
    }
    if (gs == NULL || key_text == NULL || secret == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_key_aws_secret: no store, key or buffer");
    }
    st = need_key_file(gs, err);
    if (st == MIEN_OK) {
        st = mien_key_verify(store, key_text, &info, err);
    }
    if (st == MIEN_OK) {
        st = key_secret(gs, info.id, &k, secret, err);
    }
    sodium_memzero(&k, sizeof(k));
    return st;
}

static void hmac_step(const uint8_t *key, size_t key_len, const char *msg, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

/* Whether s is 1..63 bytes of printable ASCII without '/' (a credential scope part). */
static bool scope_part_ok(const char *s)
{
    size_t n = 0;
    if (s == NULL) {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        if (n >= 63 || s[n] <= ' ' || s[n] > '~' || s[n] == '/') {
            return false;
        }
    }
    return n > 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
 * (AWS General Reference, "Calculate the signature for AWS Signature Version 4").
 * @test governance/test_keys_sigv4.c (sigv4_signing_key_matches) */
mien_status mien_key_sigv4_signing_key(mien_store *store, const char *id, const char *date,
                                       const char *region, const char *service,
                                       uint8_t out[32], mien_key_info *info, mien_error *err)
{
    store_db *gs = store_db_of(store);
    char secret[MIEN_AWS_SECRET_MAX];
    uint8_t first[4 + MIEN_AWS_SECRET_MAX], k[32];
    store_key key;
    size_t n;
    mien_status st;
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    if (out != NULL) {
        memset(out, 0, 32);
    }
    if (gs == NULL || out == NULL || date == NULL || strlen(date) != 8 ||
        !scope_part_ok(region) || !scope_part_ok(service)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "mien_key_sigv4_signing_key: no store or output, or a malformed "
                              "date (YYYYMMDD), region or service");
    }
    st = need_key_file(gs, err);
    if (st == MIEN_OK) {
        st = key_secret(gs, id, &key, secret, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    n = strlen(secret);
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret, n);
    hmac_step(first, 4 + n, date, k);
    hmac_step(k, sizeof(k), region, k);
    hmac_step(k, sizeof(k), service, k);
    hmac_step(k, sizeof(k), SCOPE_TERMINATOR, out);
    if (info != NULL) {
        key_to_info(&key, info);
    }
    sodium_memzero(first, sizeof(first));
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(&key, sizeof(key));
    return MIEN_OK;
}
