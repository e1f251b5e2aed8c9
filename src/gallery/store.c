/* store.c — gallery_store_open(): picks the store backend from the URI (store.h).
 *
 * "sqlite:PATH" (also "sqlite://PATH") and bare paths go to the SQLite store; "postgres://"
 * and "postgresql://" are reserved for the PostgreSQL backend (DESIGN.md §6), not built yet.
 * A bare path is anything without a "scheme://" prefix, so "./a:b.db" stays a path. */
#include "gallery/store.h"

#include <ctype.h>
#include <string.h>

#include "base/error.h"
#include "gallery/store_sqlite.h"

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

mien_status gallery_store_open(const char *uri, gallery_store **out, mien_error *err)
{
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "gallery_store_open: out is NULL");
    }
    *out = NULL;
    if (uri == NULL || uri[0] == '\0') {
        return base_error_set(err, MIEN_ERR_ARG, "store URI is empty");
    }
    if (strncmp(uri, "sqlite:", 7) == 0) {
        const char *path = uri + 7;
        if (strncmp(path, "//", 2) == 0) {
            path += 2;
        }
        return gallery_sqlite_open(path, out, err);
    }
    size_t scheme = scheme_length(uri);
    if (scheme == 0) {
        return gallery_sqlite_open(uri, out, err);
    }
    if ((scheme == 8 && strncmp(uri, "postgres", 8) == 0) ||
        (scheme == 10 && strncmp(uri, "postgresql", 10) == 0)) {
        /* The URI is not echoed: it may carry a password. */
        return base_error_set(err, MIEN_ERR_UNSUPPORTED, "PostgreSQL store not built yet");
    }
    return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                          "unknown store scheme \"%.*s\" (use sqlite:PATH or a path)",
                          (int)scheme, uri);
}
