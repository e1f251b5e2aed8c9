/* store.c — store_db_open(): picks the store backend from the URI (store.h), and hands it
 * the keyring that seal.h seals with.
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
#include "store/seal.h"
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
    size_t scheme = scheme_length(uri);
    mien_status st;
    if (file != NULL) {
        st = store_sqlite_open(file, out, err);
    } else if ((scheme == 8 && strncmp(uri, "postgres", 8) == 0) ||
               (scheme == 10 && strncmp(uri, "postgresql", 10) == 0)) {
        /* Its messages do not echo the URI: it may carry a password. */
        st = store_postgres_open(uri, keys, out, err);
    } else {
        return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                              "unknown store scheme \"%.*s\" (use sqlite:PATH or a path)",
                              (int)scheme, uri);
    }
    if (st != MIEN_OK) {
        return st;
    }
    (*out)->keys = keys;
    /* A file from schema 2 holds its templates in plaintext, and the migration to schema 3
     * (in the backend, which never seals) leaves them so: seal them here. In a sealed file
     * this finds none; it runs at every open, not once, so that a crash between the
     * migration's commit and the sealing's leaves nothing in plaintext. It reads under a
     * deferred lock (blob_rewrite's own transaction): an open does not wait for a writer. */
    if (file != NULL && keys != NULL) {
        st = seal_rewrite_all(*out, true, NULL, err);
        if (st != MIEN_OK) {
            (*out)->ops->close(*out);
            *out = NULL;
        }
    }
    return st;
}
