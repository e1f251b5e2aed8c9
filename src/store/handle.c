/* handle.c — opening and closing the public store handle (mien.h "stores"): the key file
 * found or created, its shared lock taken, the backend opened with its keys (store.h), and the
 * options a front end passes (clock, audit head) applied. The library reads no environment:
 * the CLI and the server turn $MIEN_STORE, $MIEN_KEY_FILE, $MIEN_NOW and $MIEN_AUDIT_HEAD into
 * the URI and mien_store_options. @test gallery/test_gallery.c,
 * governance/test_accountability.c */
#include "store/handle.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/error.h"

#define STORE_HANDLE_MAGIC 0x6d53544fu /* "mSTO" */

bool store_handle_ok(const mien_store *s)
{
    return s != NULL && s->magic == STORE_HANDLE_MAGIC && s->store != NULL;
}

/* Where this node keeps the signed head of a shared store's audit chain (mien.h
 * mien_store_options.audit_head), replacing the backend's default. */
static mien_status audit_head_set(store_db *db, const char *path, mien_error *err)
{
    int n = snprintf(db->audit_head_path, sizeof(db->audit_head_path), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(db->audit_head_path)) {
        return base_error_set(err, MIEN_ERR_ARG, "audit head path is too long");
    }
    return MIEN_OK;
}

/* The key file for `uri` into out[PATH_MAX] (mien.h mien_store_options.key_file). */
static mien_status key_file_for(const char *uri, const mien_store_options *opt, char *out,
                                mien_error *err)
{
    const char *file = store_db_file(uri);
    int n;
    if (opt != NULL && opt->key_file != NULL && opt->key_file[0] != '\0') {
        n = snprintf(out, PATH_MAX, "%s", opt->key_file);
    } else if (file != NULL && strcmp(file, ":memory:") != 0) {
        n = snprintf(out, PATH_MAX, "%s.key", file);
    } else {
        return base_error_set(err, MIEN_ERR_ARG, "this store needs a key file: set "
                              "MIEN_KEY_FILE (templates are encrypted at rest)");
    }
    if (n < 0 || n >= PATH_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "key file path too long");
    }
    return MIEN_OK;
}

/* Loads the key file, creating it when absent and allowed. */
static mien_status keys_load(mien_store *s, const mien_store_options *opt, mien_error *err)
{
    mien_status st = keyring_load(s->key_file, &s->keys, err);
    if (st == MIEN_ERR_NOT_FOUND && opt->create_key) {
        st = keyring_create(s->key_file, &s->keys, err);
        s->key_created = st == MIEN_OK;
    } else if (st == MIEN_ERR_NOT_FOUND) {
        base_error_set(err, st, "key file %s does not exist (it holds the keys that encrypt "
                       "templates; restore it, or let mien create one for a new store)",
                       s->key_file);
    }
    return st;
}

/* A key file made just now for a store that already has an audit log would seal new
 * templates under a key the old ones were not sealed with: the real key file was lost or
 * moved. Refuse, and take the new file away again. */
static mien_status keys_match_store(mien_store *s, mien_error *err)
{
    int64_t seq = 0;
    uint8_t hash[32];
    if (!s->key_created) {
        return MIEN_OK;
    }
    mien_status st = s->store->ops->audit_last(s->store, &seq, hash, err);
    if (st == MIEN_OK && seq > 0) {
        remove(s->key_file);
        s->key_created = 0;
        st = base_error_set(err, MIEN_ERR_NOT_FOUND,
                            "key file %s is missing, but the store already holds data sealed "
                            "with its keys: restore the key file (or point MIEN_KEY_FILE at it)",
                            s->key_file);
    }
    return st;
}

/* Every open handle holds a shared flock on "<key file>.lock" until it closes. A data-key
 * rotation needs it exclusively: a running `mien serve` that kept sealing with a key the
 * rotation retired would write templates nobody can open after its restart. */
static mien_status key_lock_take(mien_store *s, mien_error *err)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s.lock", s->key_file);
    s->key_lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->key_lock < 0) {
        return base_error_set(err, MIEN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    int rc;
    while ((rc = flock(s->key_lock, LOCK_SH)) != 0 && errno == EINTR) {
    }
    return rc == 0 ? MIEN_OK
                   : base_error_set(err, MIEN_ERR_IO, "cannot lock %s: %s", path,
                                    strerror(errno));
}

mien_status mien_store_open_with(const char *uri, const mien_store_options *opt,
                                 mien_store **out, mien_error *err)
{
    static const mien_store_options defaults = {.create_key = true};
    mien_store *s;
    mien_status st;
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_open: NULL out");
    }
    *out = NULL;
    opt = opt != NULL ? opt : &defaults;
    if (uri == NULL || *uri == '\0') {
        uri = "./mien.db";
    }
    if (opt->must_exist && store_db_file(uri) != NULL && access(store_db_file(uri), F_OK) != 0) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND,
                              "no store at %s (nothing was created; check --store or "
                              "$MIEN_STORE)", store_db_file(uri));
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    st = key_file_for(uri, opt, s->key_file, err);
    s->key_lock = -1;
    if (st == MIEN_OK) {
        st = keys_load(s, opt, err);
    }
    if (st == MIEN_OK) {
        st = key_lock_take(s, err);
    }
    if (st == MIEN_OK) {
        st = store_db_open(uri, s->keys, &s->store, err);
    }
    if (st == MIEN_OK) {
        st = keys_match_store(s, err);
    }
    if (st != MIEN_OK) {
        if (s->store != NULL) {
            s->store->ops->close(s->store);
        }
        if (s->key_created) {
            remove(s->key_file); /* nothing was sealed with it */
        }
        keyring_free(s->keys);
        if (s->key_lock >= 0) {
            close(s->key_lock);
        }
        free(s);
        return st;
    }
    s->magic = STORE_HANDLE_MAGIC;
    s->store->clock = opt->now;
    if (opt->audit_head != NULL && opt->audit_head[0] != '\0' && store_db_file(uri) == NULL) {
        st = audit_head_set(s->store, opt->audit_head, err);
        if (st != MIEN_OK) {
            mien_store_close(s);
            return st;
        }
    }
    *out = s;
    return MIEN_OK;
}

mien_status mien_store_open(const char *uri, mien_store **out, mien_error *err)
{
    return mien_store_open_with(uri, NULL, out, err);
}

mien_status mien_store_ping(mien_store *store, mien_error *err)
{
    if (!store_handle_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_ping: NULL store");
    }
    return store->store->ops->ping(store->store, err);
}

bool mien_store_key_created(const mien_store *store)
{
    return store_handle_ok(store) && store->key_created;
}

const char *mien_store_key_file(const mien_store *store)
{
    return store_handle_ok(store) ? store->key_file : "";
}

void mien_store_set_clock(mien_store *store, int64_t unix_s)
{
    if (store_handle_ok(store)) {
        store->store->clock = unix_s;
    }
}

int64_t mien_store_now(const mien_store *store)
{
    return store_db_now(store_handle_ok(store) ? store->store : NULL);
}

void mien_store_close(mien_store *store)
{
    if (store == NULL) {
        return;
    }
    assert(store->magic == STORE_HANDLE_MAGIC);
    if (store->cache != NULL) {
        store->cache_free(store->cache);
    }
    if (store->store != NULL) {
        store->store->ops->close(store->store);
    }
    keyring_free(store->keys);
    if (store->key_lock >= 0) {
        close(store->key_lock); /* releases the shared lock */
    }
    store->magic = 0;
    free(store);
}

store_db *store_db_of(mien_store *store)
{
    return store_handle_ok(store) ? store->store : NULL;
}

