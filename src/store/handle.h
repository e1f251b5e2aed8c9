/* handle.h — the public store handle (mien.h mien_store) as the layers inside the library see
 * it: one backend store (store.h), the keyring that seals its templates, and the shared lock on
 * the key file that a data-key rotation needs exclusively.
 *
 * The handle lives in the store layer so that every layer above it (governance/, gallery/)
 * reaches the backend through store_db_of() without depending on one another. What the gallery
 * layer keeps per handle (its loaded indexes) hangs off `cache`, owned and freed by that layer:
 * the store never looks inside. @test gallery/test_gallery.c, governance/test_accountability.c */
#ifndef MIEN_STORE_HANDLE_H
#define MIEN_STORE_HANDLE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/keyring.h"
#include "mien.h"
#include "store/store.h"

struct gallery_cache; /* gallery.c: the loaded collections */

struct mien_store {
    uint32_t magic;        /* STORE_HANDLE_MAGIC while open */
    store_db *store;       /* owned */
    keyring *keys;         /* owned; the store borrows it */
    int key_created;       /* opening created the key file */
    int key_lock;          /* fd of "<key file>.lock", shared-locked while open (rotation) */
    char key_file[PATH_MAX];
    struct gallery_cache *cache;                   /* owned by gallery.c; NULL until used */
    void (*cache_free)(struct gallery_cache *c);   /* set with cache; called at close */
};

/* The backend store behind a public handle (gallery.c), for later layers that keep their own
 * tables in the same store (governance/keys.c). Borrowed: valid until mien_store_close(). NULL
 * for NULL or a handle that is not an open mien_store. */
store_db *store_db_of(mien_store *store);


/* Whether s is an open handle (not NULL, not closed). */
bool store_handle_ok(const mien_store *s);

#endif
