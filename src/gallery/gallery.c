/* gallery.c — the public face of galleries (mien.h "stores, collections, enrolment,
 * search"): a mien_store wraps one backend store (store.h; SQLite by default) and keeps, per
 * collection, the in-memory search index (index.h) loaded on the collection's first search.
 *
 * The database is the source of truth (DESIGN.md §6). Every write runs in one store
 * transaction (begin → … → commit, rollback on any failure), and the loaded index is changed
 * only after the commit succeeded: an enrolment adds its face, an erasure removes the
 * subject's faces, a drop forgets the whole cache entry. If the index cannot follow (out of
 * memory after a commit), the entry is dropped and reloaded from the store on the next
 * search, so that index and store never disagree within a handle. Another handle (another
 * process) writing the same file is seen when this handle is reopened.
 *
 * The cache also maps the store's subject ids to the caller's external ids (the scan rows
 * carry both), so that search results name subjects without a query per candidate.
 *
 * A handle belongs to one thread at a time (mien.h); nothing here locks. @test
 * gallery/test_gallery.c */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "base/error.h"
#include "base/keyring.h"
#include "face/face.h"
#include "gallery/index.h"
#include "store/handle.h"
#include "store/seal.h"
#include "store/store.h"
#include "governance/governance.h"

#define DEFAULT_TOP_K 10           /* mien.h: top_k 0 → 10 */
#define DEFAULT_MAX_FMR 1e-3       /* mien.h: max_fmr 0 → 1e-3 */
#define MAX_TOP_K 10000            /* a review list longer than this is a misuse */

/* One subject of a loaded collection: the store's id and the caller's id. */
typedef struct subject_name {
    int64_t id;
    char *external_id; /* owned */
} subject_name;

/* A collection whose index is loaded. */
typedef struct coll_cache {
    int64_t id;
    char name[STORE_NAME_MAX];
    mien_profile profile;
    store_collection col;  /* as when loaded: profile and model ids (counts not kept) */
    gallery_index *index;    /* owned */
    subject_name *subjects;  /* owned, sorted by id */
    size_t n_subjects, cap_subjects;
    int64_t cursor;          /* the audit entry up to which this index reflects the store */
} coll_cache;

/* The collections whose index this handle has loaded (store/handle.h mien_store.cache). */
typedef struct gallery_cache {
    coll_cache **colls;    /* owned */
    size_t n_colls, cap_colls;
} gallery_cache;

static const gallery_cache NO_CACHE; /* what a handle that loaded nothing has */

/* The handle's loaded collections (NO_CACHE before the first load). */
static const gallery_cache *loaded(const mien_store *s)
{
    return s->cache != NULL ? s->cache : &NO_CACHE;
}

static bool store_ok(const mien_store *s)
{
    return store_handle_ok(s);
}

/* ---- the cache ------------------------------------------------------------------------ */

static void cache_free(coll_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t k = 0; k < c->n_subjects; k++) {
        free(c->subjects[k].external_id);
    }
    free(c->subjects);
    gallery_index_free(c->index);
    free(c);
}

/* The loaded collection `collection_id`, or NULL. */
static coll_cache *cache_find(const mien_store *s, int64_t collection_id)
{
    const gallery_cache *g = loaded(s);
    for (size_t k = 0; k < g->n_colls; k++) {
        if (g->colls[k]->id == collection_id) {
            return g->colls[k];
        }
    }
    return NULL;
}

/* The loaded collection named `name`, or NULL. */
static coll_cache *cache_find_name(const mien_store *s, const char *name)
{
    const gallery_cache *g = loaded(s);
    for (size_t k = 0; k < g->n_colls; k++) {
        if (strcmp(g->colls[k]->name, name) == 0) {
            return g->colls[k];
        }
    }
    return NULL;
}

/* Forgets collection `collection_id` (no-op if not loaded). */
static void cache_drop(mien_store *s, int64_t collection_id)
{
    gallery_cache *g = s->cache;
    for (size_t k = 0; g != NULL && k < g->n_colls; k++) {
        if (g->colls[k]->id == collection_id) {
            cache_free(g->colls[k]);
            g->colls[k] = g->colls[--g->n_colls];
            return;
        }
    }
}

/* Position of subject `id` in c->subjects (binary search); *found says if it is there. */
static size_t subject_pos(const coll_cache *c, int64_t id, bool *found)
{
    size_t lo = 0, hi = c->n_subjects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->subjects[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < c->n_subjects && c->subjects[lo].id == id;
    return lo;
}

/* Records subject `id` ↔ `external_id` (no-op when known). MIEN_ERR_NOMEM only. New ids are
 * usually the largest (the store allocates them increasing), so this is an append. */
static mien_status subject_remember(coll_cache *c, int64_t id, const char *external_id)
{
    bool found;
    size_t pos = subject_pos(c, id, &found);
    char *copy;
    if (found) {
        return MIEN_OK;
    }
    if (c->n_subjects == c->cap_subjects) {
        size_t cap = c->cap_subjects ? 2 * c->cap_subjects : 64;
        subject_name *grown = realloc(c->subjects, cap * sizeof(*grown));
        if (grown == NULL) {
            return MIEN_ERR_NOMEM;
        }
        c->subjects = grown;
        c->cap_subjects = cap;
    }
    copy = strdup(external_id);
    if (copy == NULL) {
        return MIEN_ERR_NOMEM;
    }
    memmove(&c->subjects[pos + 1], &c->subjects[pos], (c->n_subjects - pos) * sizeof(*c->subjects));
    c->subjects[pos].id = id;
    c->subjects[pos].external_id = copy;
    c->n_subjects++;
    return MIEN_OK;
}

/* The store id of external subject `external_id`, or -1 when not loaded. */
static int64_t subject_id_of(const coll_cache *c, const char *external_id)
{
    for (size_t k = 0; k < c->n_subjects; k++) {
        if (strcmp(c->subjects[k].external_id, external_id) == 0) {
            return c->subjects[k].id;
        }
    }
    return -1;
}

static void subject_forget(coll_cache *c, int64_t id)
{
    bool found;
    size_t pos = subject_pos(c, id, &found);
    if (!found) {
        return;
    }
    free(c->subjects[pos].external_id);
    memmove(&c->subjects[pos], &c->subjects[pos + 1],
            (c->n_subjects - pos - 1) * sizeof(*c->subjects));
    c->n_subjects--;
}

/* Frees every loaded collection (mien_store_close, through mien_store.cache_free). */
static void cache_release(gallery_cache *g)
{
    for (size_t k = 0; k < g->n_colls; k++) {
        cache_free(g->colls[k]);
    }
    free(g->colls);
    free(g);
}

/* The handle's cache with room for one more collection (made on first use); NULL when out
 * of memory. */
static gallery_cache *cache_room(mien_store *s)
{
    if (s->cache == NULL) {
        s->cache = calloc(1, sizeof(*s->cache));
        if (s->cache == NULL) {
            return NULL;
        }
        s->cache_free = cache_release;
    }
    gallery_cache *g = s->cache;
    if (g->n_colls == g->cap_colls) {
        size_t cap = g->cap_colls ? 2 * g->cap_colls : 4;
        coll_cache **grown = realloc(g->colls, cap * sizeof(*grown));
        if (grown == NULL) {
            return NULL;
        }
        g->colls = grown;
        g->cap_colls = cap;
    }
    return g;
}

/* What face_scan's callback needs. */
typedef struct load_ctx {
    coll_cache *c;
    mien_error *err;
} load_ctx;

/* Adds one stored face to the index being loaded. A template that does not decode, or that
 * belongs to another profile or index size, is a corrupt store (MIEN_ERR_STORE). */
static mien_status load_row(void *ctx, const store_face_row *row)
{
    load_ctx *lc = ctx;
    mien_template *t = NULL;
    float vec[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    mien_status st = mien_template_deserialize(row->template_bytes, row->template_len, &t, NULL);
    if (st != MIEN_OK || mien_template_profile(t) != lc->c->profile ||
        gallery_index_vector(t, vec, &dim) != MIEN_OK ||
        dim != gallery_index_dim(lc->c->index)) {
        mien_template_free(t);
        return base_error_set(lc->err, MIEN_ERR_STORE,
                              "collection '%s': face %lld has a malformed template",
                              lc->c->name, (long long)row->face_id);
    }
    mien_template_free(t);
    mien_quality pose = {.yaw = row->yaw, .pitch = row->pitch};
    st = gallery_index_add_weighted(lc->c->index, row->face_id, row->subject_id, vec,
                                    mien_aggregate_weight(row->has_pose ? &pose : NULL),
                                    lc->err);
    if (st == MIEN_OK) {
        st = subject_remember(lc->c, row->subject_id, row->external_id);
        if (st != MIEN_OK) {
            base_error_set(lc->err, st, "out of memory loading collection '%s'", lc->c->name);
        }
    }
    return st;
}

/* Loads collection `col` (its index dimension `dim`) from the store into the cache;
 * *out is the cache entry, owned by the handle. */
static mien_status cache_load(mien_store *s, const store_collection *col, int dim,
                              coll_cache **out, mien_error *err)
{
    coll_cache *c;
    load_ctx lc;
    mien_status st;
    *out = NULL;
    gallery_cache *g = cache_room(s);
    if (g == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    c->id = col->id;
    c->profile = col->profile;
    c->col = *col;
    snprintf(c->name, sizeof(c->name), "%s", col->name);
    st = gallery_index_new(dim, &c->index, err);
    if (st != MIEN_OK) {
        goto fail;
    }
    /* The cursor is read before the scan: a change committed in between is both scanned and
     * replayed by cache_sync(), which skips what it already has. */
    uint8_t head[32];
    st = s->store->ops->audit_last(s->store, &c->cursor, head, err);
    if (st != MIEN_OK) {
        goto fail;
    }
    lc.c = c;
    lc.err = err;
    st = seal_face_scan(s->store, col->id, load_row, &lc, err);
    if (st != MIEN_OK) {
        goto fail;
    }
    g->colls[g->n_colls++] = c;
    *out = c;
    return MIEN_OK;
fail:
    cache_free(c);
    return st;
}

/* ---- following changes made by other handles (another process on the same SQLite file,
 * another node on the same PostgreSQL database) ---------------------------------------------
 * Every change to a collection is an audit entry committed with it, numbered in commit order
 * (the chain is appended under the store's write serialisation). So the audit log doubles as
 * the change feed: a loaded collection keeps the number of the last entry it reflects, and
 * before it answers it replays the newer ones that concern it — an enrolment by reading the
 * face back from the store, an erasure or purge by dropping the subject (named by its keyed
 * hash), a drop by forgetting the index. */

/* One change to a loaded collection, read from the audit log (sync_row) and applied after the
 * scan (cache_sync): applying it reads the store (face_get), and no store operation may run
 * inside a scan's callback — PostgreSQL streams the scan on the handle's one connection, and a
 * second statement there would silently end the scan (store.h). */
typedef struct sync_change {
    int64_t face_id;  /* enrol: the face to read back; 0 for an erasure */
    char hash[65];    /* erase, purge: the subject's keyed hash */
} sync_change;

typedef struct sync_ctx {
    mien_store *s;
    coll_cache *c;
    bool dropped;
    int64_t last;
    sync_change *changes; /* owned */
    size_t n, cap;
    int64_t face_coll;    /* face_get's answer: the face's collection */
    mien_error *err;
} sync_ctx;

/* Adds a face read back from the store, unless the index has it already. */
static mien_status sync_face_row(void *ctx, const store_face_row *row)
{
    sync_ctx *sc = ctx;
    /* only a face of this very collection (a recreated one of the same name has another id) */
    if (sc->face_coll != sc->c->id || gallery_index_has_face(sc->c->index, row->face_id)) {
        return MIEN_OK;
    }
    return load_row(&(load_ctx){sc->c, sc->err}, row);
}

static void sync_erase(sync_ctx *sc, const char *hash)
{
    for (size_t k = 0; k < sc->c->n_subjects; k++) {
        char h[65];
        governance_subject_hash(sc->s->store, sc->c->name, sc->c->subjects[k].external_id, h);
        if (strcmp(h, hash) == 0) {
            int64_t sid = sc->c->subjects[k].id;
            size_t removed = 0;
            if (gallery_index_remove_subject(sc->c->index, sid, &removed, NULL) != MIEN_OK) {
                sc->dropped = true; /* reload */
            } else {
                subject_forget(sc->c, sid);
            }
            return;
        }
    }
}

/* Notes one audit entry (store_audit_fn): the changes to this collection are kept for
 * cache_sync to apply once the scan is over. */
static mien_status sync_row(void *ctx, const store_audit_row *row)
{
    sync_ctx *sc = ctx;
    sc->last = row->seq;
    if (sc->dropped || strcmp(row->collection, sc->c->name) != 0 ||
        strcmp(row->outcome, "ok") != 0) {
        return MIEN_OK;
    }
    /* A row mien did not write (inserted into the database without the key file) changes
     * nothing here; `mien audit verify` names it. */
    if (!governance_entry_authentic(sc->s->store, row)) {
        return MIEN_OK;
    }
    if (strcmp(row->action, "collection.drop") == 0) {
        sc->dropped = true;
        return MIEN_OK;
    }
    bool enrol = strcmp(row->action, "enrol") == 0;
    if (!enrol && strcmp(row->action, "erase") != 0 && strcmp(row->action, "purge") != 0) {
        return MIEN_OK;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 16;
        sync_change *grown = realloc(sc->changes, cap * sizeof(*grown));
        if (grown == NULL) {
            return base_error_set(sc->err, MIEN_ERR_NOMEM, "out of memory following changes");
        }
        sc->changes = grown;
        sc->cap = cap;
    }
    sync_change *ch = &sc->changes[sc->n];
    memset(ch, 0, sizeof(*ch));
    json_t *result = json_loads(row->result, 0, NULL);
    if (enrol) {
        ch->face_id = (int64_t)json_integer_value(json_object_get(result, "face_id"));
        sc->n += ch->face_id > 0;
    } else {
        const char *hash = json_string_value(json_object_get(result, "subject"));
        if (hash != NULL) {
            snprintf(ch->hash, sizeof(ch->hash), "%s", hash);
            sc->n++;
        }
    }
    json_decref(result);
    return MIEN_OK;
}

/* Applies the changes sync_row noted, in log order. */
static mien_status sync_apply(sync_ctx *sc)
{
    mien_status st = MIEN_OK;
    for (size_t k = 0; st == MIEN_OK && !sc->dropped && k < sc->n; k++) {
        const sync_change *ch = &sc->changes[k];
        if (ch->face_id > 0) {
            sc->face_coll = 0;
            st = seal_face_get(sc->s->store, ch->face_id, &sc->face_coll,
                                             sync_face_row, sc, sc->err);
            if (st == MIEN_ERR_NOT_FOUND) {
                st = MIEN_OK; /* erased since; its erasure comes later in the log */
            }
        } else {
            sync_erase(sc, ch->hash);
        }
    }
    return st;
}

/* Brings loaded collection *c up to date with the store; sets *c to NULL when it was dropped
 * (or had to be reloaded) meanwhile. */
static mien_status cache_sync(mien_store *s, coll_cache **c, mien_error *err)
{
    int64_t head = 0;
    uint8_t hash[32];
    mien_status st = s->store->ops->audit_last(s->store, &head, hash, err);
    if (st != MIEN_OK || head <= (*c)->cursor) {
        return st;
    }
    sync_ctx sc = {.s = s, .c = *c, .last = (*c)->cursor, .err = err};
    st = s->store->ops->audit_scan(s->store, (*c)->cursor + 1, 0, 0, sync_row, &sc, err);
    if (st == MIEN_OK) {
        st = sync_apply(&sc);
    }
    free(sc.changes);
    if (st != MIEN_OK || sc.dropped) {
        cache_drop(s, (*c)->id); /* reloaded from the store when next needed */
        *c = NULL;
        return st;
    }
    (*c)->cursor = sc.last;
    return MIEN_OK;
}

/* After a local action recorded as audit entry `seq`: when nothing else was recorded since
 * the cache's cursor, the cache (which followed the action itself) is current up to seq. */
static void cache_advance(mien_store *s, int64_t collection_id, int64_t seq)
{
    coll_cache *c = cache_find(s, collection_id);
    if (c != NULL && seq == c->cursor + 1) {
        c->cursor = seq;
    }
}

/* ---- argument checks ------------------------------------------------------------------ */

/* Collection names: [A-Za-z0-9_.-], 1..63 characters (store.h). */
static bool name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL) {
        return false;
    }
    for (const char *p = name; *p; p++, n++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return n >= 1 && n < STORE_NAME_MAX;
}

/* Subject ids: 1..127 bytes, no control characters. */
static bool subject_ok(const char *subject)
{
    size_t n;
    if (subject == NULL) {
        return false;
    }
    n = strlen(subject);
    if (n < 1 || n >= STORE_SUBJECT_MAX) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)subject[k];
        if (ch < 0x20 || ch == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Looks collection `name` up (MIEN_ERR_NOT_FOUND with its name when absent). */
static mien_status collection_lookup(mien_store *s, const char *name, store_collection *out,
                                     mien_error *err)
{
    mien_status st;
    if (!name_ok(name)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "collection name must be 1..63 characters of [A-Za-z0-9_.-]");
    }
    st = s->store->ops->collection_get(s->store, name, out, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        return base_error_set(err, st, "no collection '%s'", name);
    }
    return st;
}

/* MIEN_OK when template t may live in (or search) collection c; MIEN_ERR_ARG naming the
 * difference otherwise. */
static mien_status template_fits(const store_collection *c, const mien_template *t,
                                 mien_error *err)
{
    const char *ma = mien_template_model(t, 0), *mb = mien_template_model(t, 1);
    if (mien_template_profile(t) != c->profile) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "profile mismatch: collection %s is %s, template is %s", c->name,
                              mien_profile_name(c->profile), mien_profile_name(mien_template_profile(t)));
    }
    if (strcmp(ma, c->model_a) != 0 || strcmp(mb, c->model_b) != 0) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "model mismatch: collection %s is locked to models %s%s%s, "
                              "the template was made by %s%s%s",
                              c->name, c->model_a, c->model_b[0] ? "+" : "", c->model_b, ma,
                              mb[0] ? "+" : "", mb);
    }
    return MIEN_OK;
}

static void collection_to_info(const store_collection *g, mien_collection_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", g->name);
    out->profile = g->profile;
    memcpy(out->model_a, g->model_a, sizeof(out->model_a));
    memcpy(out->model_b, g->model_b, sizeof(out->model_b));
    out->model_a[sizeof(out->model_a) - 1] = '\0';
    out->model_b[sizeof(out->model_b) - 1] = '\0';
    snprintf(out->description, sizeof(out->description), "%s", g->description);
    out->created_at = g->created_at;
    out->subjects = g->subjects;
    out->faces = g->faces;
    snprintf(out->purposes, sizeof(out->purposes), "%s", g->purposes);
    snprintf(out->legal_basis, sizeof(out->legal_basis), "%s", g->legal_basis);
    out->consent = (mien_consent)g->consent;
    out->retention_s = g->retention_s;
    out->review = (mien_review_mode)g->review;
    out->verification_only = g->verification_only;
}

/* The collection `name`, from the loaded cache when it is there (*cache, may be NULL). */
static mien_status collection_current(mien_store *store, const char *name, store_collection *c,
                                      coll_cache **cache, mien_error *err)
{
    *cache = name_ok(name) ? cache_find_name(store, name) : NULL;
    if (*cache != NULL) {
        mien_status st = cache_sync(store, cache, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    if (*cache != NULL) {
        *c = (*cache)->col;
        return MIEN_OK;
    }
    return collection_lookup(store, name, c, err);
}

void mien_free(void *p)
{
    free(p);
}

/* ---- collections ---------------------------------------------------------------------- */

mien_status mien_collection_create(mien_store *store, const char *name, mien_profile profile,
                                   const mien_engine *engine, const char *description,
                                   const mien_collection_policy *policy, const mien_context *ctx,
                                   mien_error *err)
{
    store_collection c;
    const char *ma, *mb;
    mien_status st;
    if (!store_ok(store) || engine == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_create: NULL store or engine");
    }
    if (!name_ok(name)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "collection name must be 1..63 characters of [A-Za-z0-9_.-]");
    }
    if (profile != MIEN_PROFILE_FAST && profile != MIEN_PROFILE_ACCURATE) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown profile %d", (int)profile);
    }
    if (description != NULL && strlen(description) >= sizeof(c.description)) {
        return base_error_set(err, MIEN_ERR_ARG, "description longer than %zu bytes",
                              sizeof(c.description) - 1);
    }
    ma = mien_engine_model_id(engine, 0);
    mb = profile == MIEN_PROFILE_ACCURATE ? mien_engine_model_id(engine, 1) : "";
    if (ma[0] == '\0' || (profile == MIEN_PROFILE_ACCURATE && mb[0] == '\0')) {
        return base_error_set(err, MIEN_ERR_ARG, "the engine has no embedder model ids");
    }
    memset(&c, 0, sizeof(c));
    st = governance_policy_set(policy, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.profile = profile;
    snprintf(c.model_a, sizeof(c.model_a), "%s", ma);
    snprintf(c.model_b, sizeof(c.model_b), "%s", mb);
    snprintf(c.description, sizeof(c.description), "%s", description ? description : "");
    store_db *g = store->store;
    st = g->ops->begin(g, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = g->ops->collection_create(g, &c, err);
    if (st == MIEN_ERR_EXISTS) {
        base_error_set(err, st, "collection '%s' already exists", name);
    }
    if (st == MIEN_OK) {
        /* The policy, a review opt-out included, is on the record from the first moment. */
        json_t *result = governance_policy_json(&c);
        json_object_set_new(result, "profile", json_string(mien_profile_name(profile)));
        st = governance_record_tx(g, ctx, "collection.create", name, NULL, "ok", result, NULL,
                                  NULL, err);
    }
    st = governance_tx_end(g, st, err);
    return st == MIEN_OK ? governance_after_commit(g, err) : st;
}

mien_status mien_collection_get(mien_store *store, const char *name, mien_collection_info *out,
                                mien_error *err)
{
    store_collection c;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_get: NULL argument");
    }
    /* A loaded collection answers from memory (its counts are those of the index this handle
     * keeps in step with the store); asking the database counts every face, a scan per call. */
    coll_cache *cache;
    st = collection_current(store, name, &c, &cache, err);
    if (st == MIEN_OK && cache != NULL) {
        c.subjects = (int64_t)cache->n_subjects;
        c.faces = (int64_t)gallery_index_size(cache->index);
    }
    if (st == MIEN_OK) {
        collection_to_info(&c, out);
    }
    return st;
}

/* A list's out-parameters cleared and checked (`what` names the call). */
static mien_status list_start(const mien_store *store, void **out, size_t *count,
                              const char *what, mien_error *err)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (!store_ok(store) || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "%s: NULL argument", what);
    }
    return MIEN_OK;
}

/* Turns the store's rows[n] (malloc'd; freed here) into a calloc'd array of n public infos
 * (*out; NULL when n is 0, the caller frees with mien_free), one element by convert. */
typedef void (*row_to_info)(const void *row, void *info);

static mien_status rows_to_infos(void *rows, size_t n, size_t row_size, size_t info_size,
                                 row_to_info convert, void **out, size_t *count,
                                 mien_error *err)
{
    char *infos = n > 0 ? calloc(n, info_size) : NULL;
    if (n > 0 && infos == NULL) {
        free(rows);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        convert((const char *)rows + k * row_size, infos + k * info_size);
    }
    free(rows);
    *out = infos;
    *count = n;
    return MIEN_OK;
}

static void collection_row_to_info(const void *row, void *info)
{
    collection_to_info(row, info);
}

static void subject_row_to_info(const void *row, void *info)
{
    const store_subject *g = row;
    mien_subject_info *i = info;
    snprintf(i->subject, sizeof(i->subject), "%s", g->external_id);
    snprintf(i->display_name, sizeof(i->display_name), "%s", g->display_name);
    i->faces = g->faces;
    i->created_at = g->created_at;
    snprintf(i->consent_ref, sizeof(i->consent_ref), "%s", g->consent_ref);
    i->expires_at = g->expires_at;
}

mien_status mien_collection_list(mien_store *store, mien_collection_info **out, size_t *count,
                                 mien_error *err)
{
    store_collection *cs = NULL;
    size_t n = 0;
    mien_status st = list_start(store, (void **)out, count, "mien_collection_list", err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->collection_list(store->store, &cs, &n, err);
    if (st != MIEN_OK) {
        return st;
    }
    return rows_to_infos(cs, n, sizeof(*cs), sizeof(**out), collection_row_to_info,
                         (void **)out, count, err);
}

mien_status mien_collection_drop(mien_store *store, const char *name, const mien_context *ctx,
                                 mien_error *err)
{
    store_collection c;
    mien_status st;
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_drop: NULL store");
    }
    st = collection_lookup(store, name, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    store_db *g = store->store;
    st = g->ops->begin(g, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = g->ops->collection_drop(g, c.id, err);
    if (st == MIEN_OK) {
        st = governance_record_tx(g, ctx, "collection.drop", name, NULL, "ok",
                                  json_pack("{s:I,s:I}", "subjects", (json_int_t)c.subjects,
                                            "faces", (json_int_t)c.faces),
                                  NULL, NULL, err);
    }
    st = governance_tx_end(g, st, err);
    if (st != MIEN_OK) {
        return st;
    }
    cache_drop(store, c.id);
    return governance_after_commit(g, err);
}

/* Expiry is exact: before anything answers with or adds to a subject (search, verify,
 * subject listings, enrolment), subjects whose time has passed are purged (each audited), so
 * that no answer names someone the store should no longer hold, whatever the periodic
 * purge's interval. One indexed query when nothing expired. */
static mien_status purge_due(mien_store *store, mien_error *err)
{
    static const mien_context purge = {.actor = "purge"};
    return mien_purge_expired(store, &purge, NULL, err);
}

/* ---- enrolment ------------------------------------------------------------------------ */

/* Makes the loaded index (if any) follow a committed enrolment; when it cannot, forgets the
 * index so the next search reloads it from the store. */
static void cache_follow_enrol(mien_store *s, int64_t collection_id, int64_t face_id,
                               int64_t subject_id, const mien_enrollment *e)
{
    const char *external_id = e->subject;
    const mien_template *t = e->template_;
    coll_cache *c = cache_find(s, collection_id);
    float vec[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    if (c == NULL) {
        return;
    }
    if (gallery_index_vector(t, vec, &dim) != MIEN_OK || dim != gallery_index_dim(c->index) ||
        subject_remember(c, subject_id, external_id) != MIEN_OK ||
        gallery_index_add_weighted(c->index, face_id, subject_id, vec,
                                   mien_aggregate_weight(e->quality), NULL) != MIEN_OK) {
        cache_drop(s, collection_id);
    }
}

/* The consent rule of collection c for enrolment e, and e's expiry (*expires_at). */
static mien_status enrol_policy(const mien_store *s, const store_collection *c,
                                const mien_enrollment *e, const mien_context *ctx,
                                int64_t *expires_at, mien_error *err)
{
    int64_t now = store_db_now(s->store);
    size_t consent = e->consent_ref != NULL ? strlen(e->consent_ref) : 0;
    if (consent >= STORE_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "consent reference longer than 127 bytes");
    }
    if (c->consent == MIEN_CONSENT_REQUIRED && consent == 0) {
        base_error_set(err, MIEN_ERR_FORBIDDEN,
                       "collection '%s' enrols people only with their consent: give the "
                       "consent record's reference (consent_ref)", c->name);
        /* Refused enrolments are on the record too (who tried to enrol whom without it). */
        char hash[65];
        governance_subject_hash(s->store, c->name, e->subject, hash);
        governance_record(s->store, ctx, "enrol", c->name, e->image_sha256, "refused",
                          json_pack("{s:s,s:s}", "subject", hash, "reason", "no consent reference"),
                          NULL, NULL);
        return MIEN_ERR_FORBIDDEN;
    }
    if (e->expires_at != 0 && e->expires_at <= now) {
        return base_error_set(err, MIEN_ERR_ARG, "expires_at is in the past");
    }
    *expires_at = e->expires_at != 0 ? e->expires_at : now + c->retention_s;
    return MIEN_OK;
}

/* One enrolment's checks (before any write): id, names, model, policy (*expires_at), and
 * that the subject is not enrolled from this image yet. */
static mien_status enrol_check(mien_store *store, const store_collection *c,
                               const mien_enrollment *e, const mien_context *ctx,
                               int64_t *expires_at, mien_error *err)
{
    if (e->template_ == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enroll: no template");
    }
    if (!subject_ok(e->subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    if (e->display_name != NULL && strlen(e->display_name) >= STORE_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "display name longer than 127 bytes");
    }
    mien_status st = template_fits(c, e->template_, err);
    if (st == MIEN_OK) {
        st = enrol_policy(store, c, e, ctx, expires_at, err);
    }
    if (st == MIEN_OK && e->image_sha256 != NULL) {
        bool found = false;
        st = store->store->ops->face_exists(store->store, c->id, e->subject, e->image_sha256,
                                            &found, err);
        if (st == MIEN_OK && found) {
            st = base_error_set(err, MIEN_ERR_EXISTS,
                                "subject '%s' of collection '%s' is already enrolled from this "
                                "image", e->subject, c->name);
        }
    }
    return st;
}

/* Writes one enrolment (subject, face, audit entry) inside the caller's transaction. */
static mien_status enrol_in_tx(mien_store *store, const store_collection *c,
                               const mien_enrollment *e, int64_t expires_at,
                               const mien_context *ctx, int64_t *subject_id, int64_t *face_id,
                               int64_t *seq, mien_error *err)
{
    store_face_new face;
    size_t len = 0;
    if (mien_template_serialize(e->template_, NULL, 0, &len) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG, "the template cannot be serialised");
    }
    uint8_t *bytes = malloc(len);
    if (bytes == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (mien_template_serialize(e->template_, bytes, len, &len) != MIEN_OK) {
        free(bytes);
        return base_error_set(err, MIEN_ERR_INTERNAL, "template serialisation failed");
    }
    memset(&face, 0, sizeof(face));
    face.template_bytes = bytes;
    face.template_len = len;
    face.quality = e->quality;
    face.image_sha256 = e->image_sha256;
    face.crop_rgb = e->crop_rgb;
    face.crop_len = e->crop_rgb != NULL ? face_chip_bytes() : 0;
    store_db *g = store->store;
    const char *consent = e->consent_ref != NULL && e->consent_ref[0] ? e->consent_ref : NULL;
    mien_status st = g->ops->subject_ensure(g, c->id, e->subject, e->display_name, consent,
                                            expires_at, subject_id, err);
    if (st == MIEN_OK) {
        st = seal_face_insert(g, c->id, *subject_id, &face, face_id, err);
    }
    sodium_memzero(bytes, len);
    free(bytes);
    if (st == MIEN_OK) {
        char hash[65];
        governance_subject_hash(g, c->name, e->subject, hash);
        st = governance_record_tx(
            g, ctx, "enrol", c->name,
            e->image_sha256 != NULL ? e->image_sha256 : (ctx ? ctx->input_sha256 : NULL), "ok",
            json_pack("{s:s,s:I,s:s,s:I}", "subject", hash, "face_id", (json_int_t)*face_id,
                      "consent", consent != NULL ? "recorded" : "not_needed", "expires_at",
                      (json_int_t)expires_at),
            seq, NULL, err);
    }
    return st;
}

mien_status mien_enroll_batch(mien_store *store, const char *collection,
                              const mien_enrollment *e, size_t n, const mien_context *ctx,
                              int64_t *face_ids, mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    mien_status st;
    if (face_ids != NULL) {
        memset(face_ids, 0, n * sizeof(*face_ids));
    }
    if (!store_ok(store) || (e == NULL && n > 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enroll: NULL store or enrolment");
    }
    if (n == 0) {
        return MIEN_OK;
    }
    /* An expired subject enrolled again would otherwise carry its old faces into a new
     * retention period: purge first. */
    if ((st = purge_due(store, err)) != MIEN_OK) {
        return st;
    }
    /* The collection's row (with its subject and face counts, which cost a scan) is read
     * once; after that the loaded collection answers, and it follows every enrolment, so a
     * bulk import stays linear in the number of faces. */
    if ((st = collection_current(store, collection, &c, &cache, err)) != MIEN_OK) {
        return st;
    }
    int64_t *rows = calloc(4 * n, sizeof(*rows)); /* expires_at, subject, face, seq */
    if (rows == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        st = enrol_check(store, &c, &e[k], ctx, &rows[4 * k], err);
    }
    if (st == MIEN_OK && cache == NULL) {
        float vec[GALLERY_INDEX_DIM_MAX];
        int dim = 0;
        st = gallery_index_vector(e[0].template_, vec, &dim) != MIEN_OK
                 ? base_error_set(err, MIEN_ERR_ARG, "the template has no index vector")
                 : cache_load(store, &c, dim, &cache, err);
    }
    if (st == MIEN_OK) {
        st = store->store->ops->begin(store->store, err);
        for (size_t k = 0; st == MIEN_OK && k < n; k++) {
            st = enrol_in_tx(store, &c, &e[k], rows[4 * k], ctx, &rows[4 * k + 1],
                             &rows[4 * k + 2], &rows[4 * k + 3], err);
        }
        st = governance_tx_end(store->store, st, err);
    }
    if (st == MIEN_OK) {
        for (size_t k = 0; k < n; k++) {
            cache_follow_enrol(store, c.id, rows[4 * k + 2], rows[4 * k + 1], &e[k]);
            cache_advance(store, c.id, rows[4 * k + 3]);
            if (face_ids != NULL) {
                face_ids[k] = rows[4 * k + 2];
            }
        }
        st = governance_after_commit(store->store, err);
    }
    free(rows);
    return st;
}

mien_status mien_enroll(mien_store *store, const char *collection, const mien_enrollment *e,
                        const mien_context *ctx, int64_t *face_id, mien_error *err)
{
    if (e == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enroll: NULL enrolment");
    }
    return mien_enroll_batch(store, collection, e, 1, ctx, face_id, err);
}

/* Collection `collection`, for an operation on subject `subject` (its id checked first). */
static mien_status subject_lookup(mien_store *store, const char *collection, const char *subject,
                                  store_collection *c, mien_error *err)
{
    if (!subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    return collection_lookup(store, collection, c, err);
}

mien_status mien_enrolled(mien_store *store, const char *collection, const char *subject,
                          const uint8_t image_sha256[32], int *done, mien_error *err)
{
    store_collection c;
    bool found = false;
    mien_status st;
    if (done != NULL) {
        *done = 0;
    }
    if (!store_ok(store) || image_sha256 == NULL || done == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enrolled: NULL argument");
    }
    st = subject_lookup(store, collection, subject, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->face_exists(store->store, c.id, subject, image_sha256, &found, err);
    if (st == MIEN_OK) {
        *done = found ? 1 : 0;
    }
    return st;
}

mien_status mien_subject_list(mien_store *store, const char *collection,
                              const mien_context *ctx, mien_subject_info **out, size_t *count,
                              mien_error *err)
{
    store_collection c;
    store_subject *subs = NULL;
    size_t n = 0;
    mien_status st = list_start(store, (void **)out, count, "mien_subject_list", err);
    if (st != MIEN_OK) {
        return st;
    }
    st = purge_due(store, err);
    if (st == MIEN_OK) {
        st = collection_lookup(store, collection, &c, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->subject_list(store->store, c.id, &subs, &n, err);
    if (st == MIEN_OK) {
        /* The list is personal data (ids, names, consent references): its reading is on the
         * record, and without a record there is no list. */
        st = governance_record(store->store, ctx, "subjects.list", c.name, NULL, "ok",
                               json_pack("{s:I}", "subjects", (json_int_t)n), NULL, err);
        if (st != MIEN_OK) {
            free(subs);
        }
    }
    if (st != MIEN_OK) {
        return st;
    }
    return rows_to_infos(subs, n, sizeof(*subs), sizeof(**out), subject_row_to_info,
                         (void **)out, count, err);
}

/* Makes the loaded index (if any) forget an erased subject. */
static void cache_follow_erase(mien_store *store, int64_t collection_id, const char *subject)
{
    coll_cache *cache = cache_find(store, collection_id);
    if (cache == NULL) {
        return;
    }
    int64_t sid = subject_id_of(cache, subject);
    size_t removed = 0;
    if (sid >= 0) {
        if (gallery_index_remove_subject(cache->index, sid, &removed, NULL) != MIEN_OK) {
            cache_drop(store, collection_id); /* reloaded, without the subject, next time */
        } else {
            subject_forget(cache, sid);
        }
    }
}

/* Erases `subject` of collection c and records it as `action` ("erase" or "purge") inside
 * the caller's transaction; fills the receipt r. */
static mien_status erase_in_tx(mien_store *store, const store_collection *c, const char *subject,
                               const char *action, const mien_context *ctx, mien_erasure *r,
                               mien_error *err)
{
    store_db *g = store->store;
    uint8_t hash[32];
    memset(r, 0, sizeof(*r));
    mien_status st = g->ops->subject_erase(g, c->id, subject, &r->faces_deleted,
                                           &r->crops_deleted, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        return base_error_set(err, st, "no subject '%s' in collection '%s'", subject, c->name);
    }
    if (st != MIEN_OK) {
        return st;
    }
    governance_subject_hash(g, c->name, subject, r->subject_hash);
    r->erased_at = store_db_now(g);
    st = governance_record_tx(g, ctx, action, c->name, NULL, "ok",
                              json_pack("{s:s,s:I,s:I}", "subject", r->subject_hash,
                                        "faces_deleted", (json_int_t)r->faces_deleted,
                                        "crops_deleted", (json_int_t)r->crops_deleted),
                              &r->audit_seq, hash, err);
    sodium_bin2hex(r->audit_hash, sizeof(r->audit_hash), hash, sizeof(hash));
    return st;
}

mien_status mien_erase_subject(mien_store *store, const char *collection, const char *subject,
                               const mien_context *ctx, mien_erasure *out, mien_error *err)
{
    store_collection c;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_erase_subject: NULL store");
    }
    st = subject_lookup(store, collection, subject, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    mien_erasure r;
    store_db *g = store->store;
    st = g->ops->begin(g, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = governance_tx_end(g, erase_in_tx(store, &c, subject, "erase", ctx, &r, err), err);
    if (st != MIEN_OK) {
        return st;
    }
    cache_follow_erase(store, c.id, subject);
    cache_advance(store, c.id, r.audit_seq);
    if (out != NULL) {
        *out = r;
    }
    return governance_after_commit(g, err);
}

/* Erases the expired subjects list[n] in one transaction (one scrub of the file for all of
 * them, not one per subject); *done counts them. */
static mien_status purge_list(mien_store *store, const store_expired *list, size_t n,
                              const mien_context *ctx, int64_t *done, mien_error *err)
{
    store_db *g = store->store;
    mien_status st = g->ops->begin(g, err);
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        store_collection c;
        mien_erasure r;
        st = collection_lookup(store, list[k].collection, &c, err);
        if (st == MIEN_OK) {
            st = erase_in_tx(store, &c, list[k].external_id, "purge", ctx, &r, err);
        }
        if (st == MIEN_ERR_NOT_FOUND) {
            st = MIEN_OK; /* erased (or its collection dropped) by another process meanwhile */
        }
    }
    st = governance_tx_end(g, st, err);
    if (st != MIEN_OK) {
        return st;
    }
    for (size_t k = 0; k < n; k++) {
        cache_follow_erase(store, list[k].collection_id, list[k].external_id);
    }
    *done = (int64_t)n;
    return governance_after_commit(g, err);
}

mien_status mien_purge_expired(mien_store *store, const mien_context *ctx, int64_t *purged,
                               mien_error *err)
{
    store_expired *list = NULL;
    size_t n = 0;
    int64_t done = 0;
    if (purged != NULL) {
        *purged = 0;
    }
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_purge_expired: NULL store");
    }
    store_db *g = store->store;
    mien_status st = g->ops->subject_expired(g, store_db_now(g), &list, &n, err);
    if (st == MIEN_OK && n > 0) {
        st = purge_list(store, list, n, ctx, &done, err);
    }
    free(list);
    if (purged != NULL) {
        *purged = done;
    }
    return st;
}

/* ---- search --------------------------------------------------------------------------- */

mien_search_options mien_search_options_default(void)
{
    mien_search_options o = {.top_k = DEFAULT_TOP_K, .max_fmr = DEFAULT_MAX_FMR,
                             .mode = MIEN_SEARCH_AUTO};
    return o;
}

mien_status mien_check_purpose(mien_store *store, const char *collection, const char *action,
                               const mien_context *ctx, mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    if (!store_ok(store) || action == NULL ||
        (strcmp(action, "search") != 0 && strcmp(action, "verify") != 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_check_purpose: action is \"search\" or "
                              "\"verify\"");
    }
    mien_status st = collection_current(store, collection, &c, &cache, err);
    return st == MIEN_OK ? governance_check(store->store, &c, action, ctx, err) : st;
}

/* The face scan proposes subjects by their best face; the rule's aggregate then ranks them.
 * Under best-face and top-2 an aggregate never exceeds the best face, so the scan's floor is
 * the lowest of the rule's thresholds. A mean template can score above every one of its
 * faces (a probe between two photos: two faces at cosine c to each other, both at s to the
 * probe, give s·sqrt(2 / (1 + c))), so the scan looks this much lower. At the default FMR
 * (threshold ~0.46 fast) a subject is then missed only if its faces are further apart than
 * cosine ~0.23, below what two photos of one person score (docs/search.md). */
#define MEAN_FLOOR_MARGIN 0.1f
/* Subjects the scan proposes for k wanted: re-ranking by the aggregate may promote a subject
 * from below the k-th place, and a subject of several faces may miss its own (higher or
 * lower) threshold where one below it passes. */
#define AGG_PROPOSE(k) (2 * (k) + 10)

/* The lowest similarity at which a subject of 1..MIEN_CALIBRATED_FACES faces can pass
 * max_fmr under `rule`, lowered by the margin for the mean rules (see above). */
static float scan_floor(mien_profile profile, mien_aggregate rule, double max_fmr)
{
    float floor = 1.0f;
    for (size_t n = 1; n <= MIEN_CALIBRATED_FACES; n++) {
        float t = 1.0f;
        if (mien_aggregate_threshold(profile, rule, n, max_fmr, &t) == MIEN_OK && t < floor) {
            floor = t;
        }
    }
    bool mean = rule == MIEN_AGGREGATE_MEAN || rule == MIEN_AGGREGATE_QUALITY;
    return mean ? floor - MEAN_FLOOR_MARGIN : floor;
}

/* Candidate a before b: higher aggregate, then the lower best face id (deterministic). */
static int candidate_cmp(const void *a, const void *b)
{
    const mien_candidate *x = a, *y = b;
    if (x->similarity != y->similarity) {
        return x->similarity > y->similarity ? -1 : 1;
    }
    return x->face_id < y->face_id ? -1 : (x->face_id > y->face_id ? 1 : 0);
}

/* Frees the face lists of cands[0..n). */
static void candidates_free_faces(mien_candidate *cands, size_t n)
{
    for (size_t k = 0; cands != NULL && k < n; k++) {
        free(cands[k].faces);
        cands[k].faces = NULL;
    }
}

/* Subject hit h as candidate *cd under `rule`: its aggregate, its faces, the FMR for its
 * number of faces. *keep false when the aggregate misses max_fmr's threshold. */
static mien_status candidate_of(const coll_cache *cache, const gallery_hit *h,
                                const float *vec, mien_aggregate rule, double max_fmr,
                                mien_candidate *cd, bool *keep, mien_error *err)
{
    bool found;
    float score = 0.0f, threshold = 1.0f;
    size_t pos = subject_pos(cache, h->subject_id, &found);
    *keep = false;
    if (!found) { /* every indexed face's subject is mapped: load_row, cache_follow_enrol */
        return base_error_set(err, MIEN_ERR_INTERNAL, "subject %lld of face %lld unknown",
                              (long long)h->subject_id, (long long)h->face_id);
    }
    mien_status st = gallery_index_subject(cache->index, vec, h->subject_id, rule, &score,
                                           &cd->faces, &cd->n_faces, err);
    if (st != MIEN_OK) {
        return st;
    }
    (void)mien_aggregate_threshold(cache->profile, rule, cd->n_faces, max_fmr, &threshold);
    if (score < threshold) {
        free(cd->faces);
        memset(cd, 0, sizeof(*cd));
        return MIEN_OK;
    }
    snprintf(cd->subject, sizeof(cd->subject), "%s", cache->subjects[pos].external_id);
    cd->similarity = score;
    cd->face_id = cd->faces[0].face_id;
    if (mien_aggregate_fmr(cache->profile, rule, cd->n_faces, score, &cd->fmr) != MIEN_OK) {
        cd->fmr = 1.0;
    }
    *keep = true;
    return MIEN_OK;
}

/* Ranked candidates of `probe` in the loaded collection under o's aggregation rule: the face
 * scan's subjects re-scored by their aggregate, with its calibrated FMR, and kept when it
 * passes o->max_fmr. *out (calloc'd; each candidate's face list too) and *count. */
static mien_status search_index(coll_cache *cache, const float *vec,
                                const mien_search_options *o, gallery_search_mode mode,
                                mien_candidate **out, size_t *count, mien_error *err)
{
    mien_aggregate rule = gallery_aggregate_rule(o->aggregate);
    int propose = AGG_PROPOSE(o->top_k);
    float floor = scan_floor(cache->profile, rule, o->max_fmr);
    gallery_hit *hits = malloc((size_t)propose * sizeof(*hits));
    mien_candidate *cands = NULL;
    size_t n = 0, kept = 0;
    if (hits == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    mien_status st = gallery_index_search(cache->index, vec, propose, floor, mode, hits, &n,
                                          err);
    if (st == MIEN_ERR_NOT_FOUND && mode == GALLERY_SEARCH_APPROX) {
        /* mien.h: the approximate graph is built on demand. */
        st = gallery_index_build_approx(cache->index, err);
        if (st == MIEN_OK) {
            st = gallery_index_search(cache->index, vec, propose, floor, mode, hits, &n, err);
        }
    }
    if (st == MIEN_OK && n > 0 && (cands = calloc(n, sizeof(*cands))) == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        bool keep = false;
        st = candidate_of(cache, &hits[k], vec, rule, o->max_fmr, &cands[kept], &keep, err);
        kept += keep;
    }
    free(hits);
    if (st != MIEN_OK) {
        candidates_free_faces(cands, kept);
        free(cands);
        return st;
    }
    if (kept > 1) {
        qsort(cands, kept, sizeof(*cands), candidate_cmp);
    }
    if (kept > (size_t)o->top_k) {
        candidates_free_faces(cands + o->top_k, kept - (size_t)o->top_k);
        kept = (size_t)o->top_k;
    }
    *out = cands;
    *count = kept;
    return MIEN_OK;
}

/* The audit summary of a search's candidates: rank, keyed subject hash, similarity, FMR. */
static json_t *candidates_json(const store_db *g, const char *collection,
                               const mien_candidate *c, size_t n)
{
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        char hash[65];
        governance_subject_hash(g, collection, c[k].subject, hash);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:f,s:f,s:I}", "rank",
                                             (json_int_t)(k + 1), "subject", hash,
                                             "similarity", round(c[k].similarity * 1e6) / 1e6,
                                             "fmr", c[k].fmr, "faces",
                                             (json_int_t)c[k].n_faces));
    }
    return arr;
}

/* Records the search (and opens its review) in one transaction; fills out's review fields. */
static mien_status search_record(mien_store *store, const store_collection *c,
                                 const mien_search_options *o, const mien_context *ctx,
                                 mien_search_result *out, mien_error *err)
{
    store_db *g = store->store;
    int required = governance_review_required(c, out->count);
    json_t *cands = candidates_json(g, c->name, out->candidates, out->count);
    if (required > 0) {
        governance_review_new_id(out->review_id);
    }
    json_t *result = json_pack("{s:O,s:i,s:f,s:s,s:i,s:s}", "candidates", cands, "top_k",
                               o->top_k, "max_fmr", o->max_fmr, "review", out->review_id,
                               "reviews_required", required, "aggregate",
                               mien_aggregate_name(gallery_aggregate_rule(o->aggregate)));
    mien_status st = g->ops->begin(g, err);
    if (st != MIEN_OK) {
        json_decref(cands);
        json_decref(result);
        return st;
    }
    st = governance_record_tx(g, ctx, "search", c->name, ctx != NULL ? ctx->input_sha256 : NULL,
                              "ok", result, &out->audit_seq, NULL, err);
    if (st == MIEN_OK && required > 0) {
        st = governance_review_open(g, c, out->review_id, out->audit_seq, json_incref(cands),
                                    out->count, err);
    }
    json_decref(cands);
    st = governance_tx_end(g, st, err);
    if (st != MIEN_OK) {
        out->review_id[0] = '\0';
        return st;
    }
    out->reviews_required = required;
    return governance_after_commit(g, err);
}

static mien_status search_options(const mien_search_options *opt, mien_search_options *o,
                                  gallery_search_mode *mode, mien_error *err)
{
    *o = mien_search_options_default();
    if (opt != NULL) {
        *o = *opt;
        o->top_k = o->top_k == 0 ? DEFAULT_TOP_K : o->top_k;
        o->max_fmr = o->max_fmr == 0 ? DEFAULT_MAX_FMR : o->max_fmr;
    }
    if (o->top_k < 1 || o->top_k > MAX_TOP_K) {
        return base_error_set(err, MIEN_ERR_ARG, "top_k must be 1..%d, not %d", MAX_TOP_K,
                              o->top_k);
    }
    if (o->aggregate < MIEN_AGGREGATE_DEFAULT || o->aggregate > MIEN_AGGREGATE_TOP2) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown aggregation rule %d",
                              (int)o->aggregate);
    }
    switch (o->mode) {
    case MIEN_SEARCH_AUTO:
        *mode = GALLERY_SEARCH_AUTO;
        return MIEN_OK;
    case MIEN_SEARCH_EXACT:
        *mode = GALLERY_SEARCH_EXACT_F32;
        return MIEN_OK;
    case MIEN_SEARCH_APPROXIMATE:
        *mode = GALLERY_SEARCH_APPROX;
        return MIEN_OK;
    default:
        return base_error_set(err, MIEN_ERR_ARG, "unknown search mode %d", (int)o->mode);
    }
}

mien_status mien_search(mien_store *store, const char *collection, const mien_template *probe,
                        const mien_search_options *opt, const mien_context *ctx,
                        mien_search_result *out, mien_error *err)
{
    mien_search_options o;
    store_collection c;
    coll_cache *cache;
    gallery_search_mode mode = GALLERY_SEARCH_AUTO;
    float vec[GALLERY_INDEX_DIM_MAX], threshold = 1.0f;
    int dim = 0;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || probe == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_search: NULL argument");
    }
    st = search_options(opt, &o, &mode, err);
    if (st == MIEN_OK) {
        st = purge_due(store, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    /* A loaded collection answers from memory: this handle made every change since it was
     * loaded (the database is read again when the handle is reopened). */
    st = collection_current(store, collection, &c, &cache, err);
    if (st == MIEN_OK) {
        st = governance_check(store->store, &c, "search", ctx, err);
    }
    if (st == MIEN_OK) {
        st = template_fits(&c, probe, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    if (!(o.max_fmr > 0 && o.max_fmr <= 1) ||
        mien_threshold_for_fmr(c.profile, o.max_fmr, &threshold) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "max_fmr %g is outside the calibrated range of profile %s",
                              o.max_fmr, mien_profile_name(c.profile));
    }
    if (gallery_index_vector(probe, vec, &dim) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG, "the probe template has no index vector");
    }
    if (cache == NULL) {
        st = cache_load(store, &c, dim, &cache, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    gallery_parts parts;
    if (gallery_parts_of(probe, &parts) == MIEN_OK) {
        gallery_index_set_parts(cache->index, &parts);
    }
    st = search_index(cache, vec, &o, mode, &out->candidates, &out->count, err);
    if (st == MIEN_OK) {
        st = search_record(store, &c, &o, ctx, out, err);
        cache_advance(store, c.id, out->audit_seq);
    }
    if (st != MIEN_OK) {
        mien_search_result_free(out);
    }
    return st;
}

void mien_search_result_free(mien_search_result *result)
{
    if (result != NULL) {
        candidates_free_faces(result->candidates, result->count);
        free(result->candidates);
        memset(result, 0, sizeof(*result));
    }
}

/* ---- 1:1 verification against an enrolled subject --------------------------------------- */

/* The subject's faces as verify reads them from the store: index vectors, similarities to
 * the probe and weights, for the aggregate (aggregate.h). */
typedef struct verify_ctx {
    const mien_template *probe;
    float *vecs;    /* faces × GALLERY_INDEX_DIM_MAX, owned */
    float *sims, *weights;
    size_t faces, cap;
    mien_error *err;
} verify_ctx;

static void verify_ctx_free(verify_ctx *v)
{
    if (v->vecs != NULL) {
        sodium_memzero(v->vecs, v->cap * GALLERY_INDEX_DIM_MAX * sizeof(float));
    }
    free(v->vecs);
    free(v->sims);
    free(v->weights);
}

/* Room for one more face in v. */
static mien_status verify_room(verify_ctx *v)
{
    if (v->faces < v->cap) {
        return MIEN_OK;
    }
    size_t cap = v->cap == 0 ? 8 : 2 * v->cap;
    float *vecs = calloc(cap * GALLERY_INDEX_DIM_MAX, sizeof(float));
    float *sims = realloc(v->sims, cap * sizeof(float));
    if (sims != NULL) {
        v->sims = sims;
    }
    float *weights = realloc(v->weights, cap * sizeof(float));
    if (weights != NULL) {
        v->weights = weights;
    }
    if (vecs == NULL || sims == NULL || weights == NULL) {
        free(vecs);
        return base_error_set(v->err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (v->vecs != NULL) {
        memcpy(vecs, v->vecs, v->faces * GALLERY_INDEX_DIM_MAX * sizeof(float));
        sodium_memzero(v->vecs, v->cap * GALLERY_INDEX_DIM_MAX * sizeof(float));
        free(v->vecs);
    }
    v->vecs = vecs;
    v->cap = cap;
    return MIEN_OK;
}

static mien_status verify_row(void *ctx, const store_face_row *row)
{
    verify_ctx *v = ctx;
    mien_template *t = NULL;
    float sim = -1.0f;
    int dim = 0;
    mien_status st = verify_room(v);
    if (st == MIEN_OK) {
        st = mien_template_deserialize(row->template_bytes, row->template_len, &t, v->err);
    }
    if (st == MIEN_OK) {
        st = mien_template_compare(v->probe, t, &sim, v->err);
    }
    if (st == MIEN_OK &&
        gallery_index_vector(t, v->vecs + v->faces * GALLERY_INDEX_DIM_MAX, &dim) != MIEN_OK) {
        st = base_error_set(v->err, MIEN_ERR_STORE, "face %lld has a malformed template",
                            (long long)row->face_id);
    }
    mien_template_free(t);
    if (st == MIEN_OK) {
        mien_quality pose = {.yaw = row->yaw, .pitch = row->pitch};
        v->sims[v->faces] = sim;
        v->weights[v->faces] = mien_aggregate_weight(row->has_pose ? &pose : NULL);
        v->faces++;
    }
    return st;
}

/* The default rule's aggregate of v's faces against the probe. */
static float verify_score(const verify_ctx *v)
{
    float q[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    gallery_parts parts;
    const float *rows[64], **faces = v->faces <= 64 ? rows : malloc(v->faces * sizeof(*faces));
    float score = v->sims[0];
    if (faces != NULL && gallery_index_vector(v->probe, q, &dim) == MIEN_OK &&
        gallery_parts_of(v->probe, &parts) == MIEN_OK) {
        for (size_t i = 0; i < v->faces; i++) {
            faces[i] = v->vecs + i * GALLERY_INDEX_DIM_MAX;
        }
        score = gallery_aggregate_score(MIEN_AGGREGATE_DEFAULT, &parts, q, faces, v->sims,
                                        v->weights, v->faces);
    } else { /* out of memory: the best face, the one rule that needs no vectors */
        for (size_t i = 1; i < v->faces; i++) {
            score = v->sims[i] > score ? v->sims[i] : score;
        }
    }
    if (faces != rows) {
        free(faces);
    }
    return score;
}

mien_status mien_verify(mien_store *store, const char *collection, const char *subject,
                        const mien_template *probe, double max_fmr, const mien_context *ctx,
                        mien_verification *out, mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || probe == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_verify: NULL argument");
    }
    if (!subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    max_fmr = max_fmr == 0 ? 1e-4 : max_fmr;
    if (!(max_fmr > 0 && max_fmr <= 1)) {
        return base_error_set(err, MIEN_ERR_ARG, "max_fmr must be in (0, 1]");
    }
    mien_status st = purge_due(store, err);
    if (st == MIEN_OK) {
        st = collection_current(store, collection, &c, &cache, err);
    }
    if (st == MIEN_OK) {
        st = governance_check(store->store, &c, "verify", ctx, err);
    }
    if (st == MIEN_OK) {
        st = template_fits(&c, probe, err);
    }
    verify_ctx v = {.probe = probe, .err = err};
    if (st == MIEN_OK) {
        st = seal_face_scan_subject(store->store, c.id, subject, verify_row, &v,
                                                  err);
    }
    char hash[65];
    governance_subject_hash(store->store, c.name, subject, hash);
    if (st == MIEN_OK && v.faces == 0) {
        /* An attempt to verify someone who is not enrolled is recorded too. */
        governance_record(store->store, ctx, "verify", c.name,
                          ctx != NULL ? ctx->input_sha256 : NULL, "ok",
                          json_pack("{s:s,s:b}", "subject", hash, "enrolled", 0), NULL, NULL);
        st = base_error_set(err, MIEN_ERR_NOT_FOUND, "no subject '%s' in collection '%s'",
                            subject, c.name);
    }
    if (st != MIEN_OK) {
        verify_ctx_free(&v);
        return st;
    }
    out->similarity = verify_score(&v);
    out->n_faces = v.faces;
    verify_ctx_free(&v);
    if (mien_aggregate_fmr(c.profile, MIEN_AGGREGATE_DEFAULT, out->n_faces, out->similarity,
                           &out->fmr) != MIEN_OK) {
        out->fmr = 1.0;
    }
    out->accepted = out->fmr <= max_fmr;
    st = governance_record(store->store, ctx, "verify", c.name,
                             ctx != NULL ? ctx->input_sha256 : NULL, "ok",
                             json_pack("{s:s,s:f,s:f,s:f,s:b,s:I,s:s}", "subject", hash,
                                       "similarity", round(out->similarity * 1e6) / 1e6, "fmr",
                                       out->fmr, "max_fmr", max_fmr, "accepted", out->accepted,
                                       "faces", (json_int_t)out->n_faces, "aggregate",
                                       mien_aggregate_name(
                                           gallery_aggregate_rule(MIEN_AGGREGATE_DEFAULT))),
                             &out->audit_seq, err);
    if (st != MIEN_OK && st != MIEN_ERR_STORE) {
        memset(out, 0, sizeof(*out)); /* not recorded: no answer */
    }
    return st;
}
