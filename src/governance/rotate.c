/* rotate.c — mien_store_rotate_data_key(): every template and crop re-sealed under a new data
 * key in one audited transaction, then the old keys removed from the key file.
 *
 * It sits above the store (it writes an audit entry: governance.h) and below the gallery,
 * which never sees sealed bytes. The key file's lock (store/handle.h) is taken exclusively for
 * the rotation, so that no other open handle goes on sealing with a key about to be retired.
 * @test governance/test_accountability.c (rotation), gallery/test_store_copy.c */
#include <stdio.h>
#include <sys/file.h>

#include <jansson.h>

#include "base/error.h"
#include "base/keyring.h"
#include "governance/governance.h"
#include "store/handle.h"
#include "store/seal.h"

static mien_status rotate_locked(mien_store *store, store_db *g, const mien_context *ctx,
                                 int64_t *resealed, mien_error *err)
{
    int64_t n = 0;
    uint32_t key_no = 0;
    /* The new key is in the file before anything is sealed with it; the old ones leave only
     * after the commit, so a crash at any point leaves every blob openable. */
    mien_status st = keyring_add_data_key(store->keys, &key_no, err);
    if (st == MIEN_OK) {
        st = g->ops->begin(g, err);
        if (st == MIEN_OK) {
            st = seal_rewrite_all(g, false, &n, err);
            if (st == MIEN_OK) {
                st = governance_record_tx(g, ctx, "keys.rotate-data", NULL, NULL, "ok",
                                          json_pack("{s:I,s:i}", "resealed", (json_int_t)n,
                                                    "data_key", (int)key_no),
                                          NULL, NULL, err);
            }
            st = governance_tx_end(g, st, err);
        }
    }
    if (st == MIEN_OK) {
        st = keyring_retire_data_keys(store->keys, err);
    }
    if (st == MIEN_OK) {
        st = governance_after_commit(g, err);
    }
    if (st == MIEN_OK && resealed != NULL) {
        *resealed = n;
    }
    return st;
}

mien_status mien_store_rotate_data_key(mien_store *store, const mien_context *ctx,
                                       int64_t *resealed, mien_error *err)
{
    if (resealed != NULL) {
        *resealed = 0;
    }
    if (!store_handle_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_rotate_data_key: NULL store");
    }
    store_db *g = store->store;
    if (flock(store->key_lock, LOCK_EX | LOCK_NB) != 0) {
        return base_error_set(err, MIEN_ERR_FORBIDDEN, "another process has this store open "
                              "(a running `mien serve`?): stop it before rotating the data key, "
                              "or it would go on sealing with the retired key");
    }
    mien_status locked = rotate_locked(store, g, ctx, resealed, err);
    flock(store->key_lock, LOCK_SH); /* back to what every open handle holds */
    return locked;
}

