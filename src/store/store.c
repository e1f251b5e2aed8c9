/* store.c — store_db_open(): picks the store backend from the URI (store.h).
 *
 * "sqlite:PATH" (also "sqlite://PATH") and bare paths go to the SQLite store; "postgres://"
 * and "postgresql://" (libpq connection URIs) to the PostgreSQL store (store_postgres.c).
 * A bare path is anything without a "scheme://" prefix, so "./a:b.db" stays a path. */
#include "store/store.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "base/error.h"
#include "store/store_postgres.h"
#include "store/store_sqlite.h"

/* Length of the "scheme" in "scheme://...", or 0 when `uri` does not start with one
 * (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). */
static size_t scheme_length(const char *uri)
{
    size_t n = 0;
    if (!isalpha((unsigned char)uri[0])) {
        return 0;
    }
    while (isalnum((unsigned char)uri[n]) || uri[n] == '+' || uri[n] == '-' || uri[n] == '.') {
        n++;
    }
    return strncmp(uri + n, "://", 3) == 0 ? n : 0;
}

int64_t store_db_now(const store_db *s)
{
    return s != NULL && s->clock != 0 ? s->clock : (int64_t)time(NULL);
}

void store_seal_ad(store_blob kind, int64_t collection_id, int64_t subject_id,
                     uint8_t ad[STORE_SEAL_AD_LEN])
{
    static const char tag[2][14] = {"mien/template", "mien/crop"};
    uint64_t coll = (uint64_t)collection_id, subj = (uint64_t)subject_id;
    memset(ad, 0, STORE_SEAL_AD_LEN);
    memcpy(ad, tag[kind == STORE_BLOB_CROP], strlen(tag[kind == STORE_BLOB_CROP]));
    for (int i = 0; i < 8; i++) {
        ad[13 + i] = (uint8_t)(coll >> (8 * i));
        ad[21 + i] = (uint8_t)(subj >> (8 * i));
    }
}

static mien_status no_key(const char *where, mien_error *err)
{
    return base_error_set(err, MIEN_ERR_ARG, "%s: no data key: templates are encrypted at rest "
                          "and this store was opened without its key file", where);
}

mien_status store_seal(const store_db *s, const char *where, store_blob kind,
                         int64_t collection_id, int64_t subject_id, const uint8_t *plain, size_t n,
                         uint8_t **out, mien_error *err)
{
    uint8_t ad[STORE_SEAL_AD_LEN];
    *out = NULL;
    if (s->keys == NULL) {
        return no_key(where, err);
    }
    uint8_t *sealed = malloc(n + KEYRING_SEAL_OVERHEAD);
    if (sealed == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "sealing %zu bytes", n);
    }
    store_seal_ad(kind, collection_id, subject_id, ad);
    mien_status status = keyring_seal(s->keys, plain, n, ad, sizeof(ad), sealed, err);
    if (status != MIEN_OK) {
        free(sealed);
        return status;
    }
    *out = sealed;
    return MIEN_OK;
}

mien_status store_unseal(const store_db *s, const char *where, store_blob kind,
                           int64_t collection_id, int64_t subject_id, const uint8_t *sealed,
                           size_t n, uint8_t **buf, size_t *cap, size_t *plain_len,
                           mien_error *err)
{
    uint8_t ad[STORE_SEAL_AD_LEN];
    if (s->keys == NULL) {
        return no_key(where, err);
    }
    if (!keyring_is_sealed(sealed, n, NULL)) {
        return base_error_set(err, MIEN_ERR_STORE, "%s: a stored %s is not sealed (damaged row?)",
                              where, kind == STORE_BLOB_CROP ? "crop" : "template");
    }
    size_t need = n - KEYRING_SEAL_OVERHEAD;
    if (need > *cap) {
        uint8_t *more = realloc(*buf, need);
        if (more == NULL) {
            return base_error_set(err, MIEN_ERR_NOMEM, "opening %zu bytes", n);
        }
        *buf = more;
        *cap = need;
    }
    store_seal_ad(kind, collection_id, subject_id, ad);
    *plain_len = need;
    return keyring_open(s->keys, sealed, n, ad, sizeof(ad), *buf, err);
}

const char *store_db_file(const char *uri)
{
    if (uri == NULL) {
        return NULL;
    }
    if (strncmp(uri, "sqlite:", 7) == 0) {
        return strncmp(uri + 7, "//", 2) == 0 ? uri + 9 : uri + 7;
    }
    return scheme_length(uri) == 0 ? uri : NULL;
}

mien_status store_db_open(const char *uri, const keyring *keys, store_db **out,
                               mien_error *err)
{
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "store_db_open: out is NULL");
    }
    *out = NULL;
    if (uri == NULL || uri[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "store URI is empty");
    }
    const char *file = store_db_file(uri);
    if (file != NULL) {
        return store_sqlite_open(file, keys, out, err);
    }
    size_t scheme = scheme_length(uri);
    if ((scheme == 8 && strncmp(uri, "postgres", 8) == 0) ||
        (scheme == 10 && strncmp(uri, "postgresql", 10) == 0)) {
        /* Its messages do not echo the URI: it may carry a password. */
        return store_postgres_open(uri, keys, out, err);
    }
    return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                          "unknown store scheme \"%.*s\" (use sqlite:PATH or a path)",
                          (int)scheme, uri);
}
