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
#include <stddef.h>
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
#include "gallery/gallery.h"
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
    uint64_t follow_hashes; /* keyed subject hashes computed following erasures (the test of
                               issue 13 item 11 counts them: gallery_follow_hashes) */
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

/* The index vector (vec: room for GALLERY_INDEX_DIM_MAX floats, *dim of them), the profile
 * and (parts not NULL) the embedder parts of a stored face's template; false when the
 * template does not decode. */
static bool row_vector(const store_face_row *row, float *vec, int *dim, mien_profile *profile,
                       gallery_parts *parts)
{
    mien_template *t = NULL;
    bool ok = mien_template_deserialize(row->template_bytes, row->template_len, &t, NULL) ==
                  MIEN_OK &&
              gallery_index_vector(t, vec, dim) == MIEN_OK &&
              (parts == NULL || gallery_parts_of(t, parts) == MIEN_OK);
    if (ok) {
        *profile = mien_template_profile(t);
    }
    mien_template_free(t);
    return ok;
}

/* Adds one stored face to the index being loaded. A template that does not decode, or that
 * belongs to another profile or index size, is a corrupt store (MIEN_ERR_STORE). */
static mien_status load_row(void *ctx, const store_face_row *row)
{
    load_ctx *lc = ctx;
    float vec[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    mien_profile profile = MIEN_PROFILE_FAST;
    gallery_parts parts;
    if (!row_vector(row, vec, &dim, &profile, &parts) || profile != lc->c->profile ||
        dim != gallery_index_dim(lc->c->index)) {
        return base_error_set(lc->err, MIEN_ERR_STORE,
                              "collection '%s': face %lld has a malformed template",
                              lc->c->name, (long long)row->face_id);
    }
    /* the collection's embedder parts, for the per-embedder mean (aggregate.h): every search
     * of a loaded index has them, a subject's faces as the probe included */
    gallery_index_set_parts(lc->c->index, &parts);
    mien_quality pose = {.yaw = row->yaw, .pitch = row->pitch};
    mien_status st = gallery_index_add_weighted(
        lc->c->index, row->face_id, row->subject_id, vec,
        mien_aggregate_weight(row->has_pose ? &pose : NULL), lc->err);
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

/* A loaded subject by its keyed hash (the name erasures carry in the log). */
typedef struct hash_subject {
    char hash[65];
    int64_t id;
} hash_subject;

typedef struct sync_ctx {
    mien_store *s;
    coll_cache *c;
    bool dropped;
    int64_t last;
    sync_change *changes; /* owned */
    size_t n, cap;
    int64_t face_coll;    /* face_get's answer: the face's collection */
    hash_subject *map;    /* owned; sorted by hash; NULL until the sync's first erasure */
    size_t n_map, cap_map;
    mien_error *err;
} sync_ctx;

/* The keyed hash of loaded subject `external_id`, counted (gallery_follow_hashes). */
static void follow_hash(sync_ctx *sc, const char *external_id, char out[65])
{
    governance_subject_hash(sc->s->store, sc->c->name, external_id, out);
    sc->s->cache->follow_hashes++;
}

static int hash_subject_cmp(const void *a, const void *b)
{
    return strcmp(((const hash_subject *)a)->hash, ((const hash_subject *)b)->hash);
}

/* Position of `hash` in the map (binary search); *found says if it is there. */
static size_t map_pos(const sync_ctx *sc, const char *hash, bool *found)
{
    size_t lo = 0, hi = sc->n_map;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sc->map[mid].hash, hash) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < sc->n_map && strcmp(sc->map[lo].hash, hash) == 0;
    return lo;
}

/* Records subject `id` under its hash in the map (replacing an erased namesake's entry).
 * MIEN_ERR_NOMEM only. */
static mien_status map_put(sync_ctx *sc, const char *external_id, int64_t id)
{
    hash_subject e = {.id = id};
    bool found;
    follow_hash(sc, external_id, e.hash);
    size_t pos = map_pos(sc, e.hash, &found);
    if (!found) {
        if (sc->n_map == sc->cap_map) {
            size_t cap = sc->cap_map ? 2 * sc->cap_map : 64;
            hash_subject *grown = realloc(sc->map, cap * sizeof(*grown));
            if (grown == NULL) {
                return base_error_set(sc->err, MIEN_ERR_NOMEM, "out of memory following "
                                      "changes");
            }
            sc->map = grown;
            sc->cap_map = cap;
        }
        memmove(&sc->map[pos + 1], &sc->map[pos], (sc->n_map - pos) * sizeof(*sc->map));
        sc->n_map++;
    }
    sc->map[pos] = e;
    return MIEN_OK;
}

/* The hash → subject map of every loaded subject, made once per sync at its first erasure:
 * one keyed hash per subject, so that following E erasures costs O(subjects + E) hashes, not
 * O(subjects × E) (issue 13 item 11). Subjects added later in the same sync are put in as
 * they come (sync_face_row). */
static mien_status map_build(sync_ctx *sc)
{
    size_t n = sc->c->n_subjects;
    sc->map = malloc((n > 0 ? n : 1) * sizeof(*sc->map));
    if (sc->map == NULL) {
        return base_error_set(sc->err, MIEN_ERR_NOMEM, "out of memory following changes");
    }
    sc->cap_map = n > 0 ? n : 1;
    for (size_t k = 0; k < n; k++) {
        follow_hash(sc, sc->c->subjects[k].external_id, sc->map[k].hash);
        sc->map[k].id = sc->c->subjects[k].id;
    }
    sc->n_map = n;
    qsort(sc->map, n, sizeof(*sc->map), hash_subject_cmp);
    return MIEN_OK;
}

/* Adds a face read back from the store, unless the index has it already. */
static mien_status sync_face_row(void *ctx, const store_face_row *row)
{
    sync_ctx *sc = ctx;
    /* only a face of this very collection (a recreated one of the same name has another id) */
    if (sc->face_coll != sc->c->id || gallery_index_has_face(sc->c->index, row->face_id)) {
        return MIEN_OK;
    }
    bool known;
    subject_pos(sc->c, row->subject_id, &known);
    mien_status st = load_row(&(load_ctx){sc->c, sc->err}, row);
    if (st == MIEN_OK && !known && sc->map != NULL) {
        st = map_put(sc, row->external_id, row->subject_id); /* a later erasure may name it */
    }
    return st;
}

static mien_status sync_erase(sync_ctx *sc, const char *hash)
{
    bool found;
    if (sc->map == NULL) {
        mien_status st = map_build(sc);
        if (st != MIEN_OK) {
            return st;
        }
    }
    size_t pos = map_pos(sc, hash, &found);
    if (!found) {
        return MIEN_OK; /* not loaded here (never enrolled, or already forgotten) */
    }
    int64_t sid = sc->map[pos].id;
    memmove(&sc->map[pos], &sc->map[pos + 1], (sc->n_map - pos - 1) * sizeof(*sc->map));
    sc->n_map--;
    size_t removed = 0;
    if (gallery_index_remove_subject(sc->c->index, sid, &removed, NULL) != MIEN_OK) {
        sc->dropped = true; /* reload */
    } else {
        subject_forget(sc->c, sid);
    }
    return MIEN_OK;
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
    /* A face moved to another subject: the index is reloaded (moves are rare; a reload is
     * their one simple, exact replay). */
    if (strcmp(row->action, "collection.drop") == 0 || strcmp(row->action, "face.move") == 0) {
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
            st = sync_erase(sc, ch->hash);
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
    free(sc.map);
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
    mien_search_caps caps;
    governance_caps(g, &caps);
    out->max_fmr = caps.max_fmr;
    out->max_candidates = caps.max_candidates;
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

mien_status mien_collection_caps(mien_store *store, const char *collection,
                                 mien_search_caps *out, mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_caps: NULL argument");
    }
    mien_status st = collection_current(store, collection, &c, &cache, err);
    if (st == MIEN_OK) {
        governance_caps(&c, out);
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
    /* Its reviews go with it (they name subjects by hash, their notes may name people; and
     * SQLite may give a later collection the same id). */
    int64_t reviews = 0;
    st = g->ops->review_erase(g, c.id, NULL, &reviews, err);
    if (st == MIEN_OK) {
        st = g->ops->collection_drop(g, c.id, err);
    }
    if (st == MIEN_OK) {
        st = governance_record_tx(g, ctx, "collection.drop", name, NULL, "ok",
                                  json_pack("{s:I,s:I,s:I}", "subjects", (json_int_t)c.subjects,
                                            "faces", (json_int_t)c.faces, "reviews_deleted",
                                            (json_int_t)reviews),
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

/* Records one refused `action` on collection `name` for `reason`, committed and signed
 * before it returns: `subject` (NULL: none known, a bulk run's check) as its keyed hash,
 * `extra` (stolen) the refusal's other facts. Every refusal of the library and of the checks
 * front ends make between finding a face and calling the library is one such entry
 * (docs/responsible-use.md). */
static mien_status refusal_record(store_db *g, const char *name, const char *action,
                                  const char *subject, const char *reason,
                                  const uint8_t *input_sha256, json_t *extra,
                                  const mien_context *ctx, int64_t *seq, mien_error *err)
{
    if (subject != NULL) {
        char hash[65];
        governance_subject_hash(g, name, subject, hash);
        json_object_set_new(extra, "subject", json_string(hash));
    }
    json_object_set_new(extra, "reason", json_string(reason));
    return governance_record(g, ctx, action, name, input_sha256, "refused", extra, seq, err);
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
        refusal_record(s->store, c->name, "enrol", e->subject, "no consent reference",
                       e->image_sha256 != NULL ? e->image_sha256
                                               : (ctx != NULL ? ctx->input_sha256 : NULL),
                       json_object(), ctx, NULL, NULL);
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
        st = seal_face_insert(g, c->id, *subject_id, e->subject, &face, face_id, err);
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

mien_status mien_enroll_check(mien_store *store, const char *collection,
                              const mien_enrollment *e, const mien_context *ctx,
                              mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    int64_t expires_at = 0;
    mien_status st;
    if (!store_ok(store) || e == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enroll_check: NULL store or enrolment");
    }
    if (e->subject != NULL && !subject_ok(e->subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    if (e->display_name != NULL && strlen(e->display_name) >= STORE_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "display name longer than 127 bytes");
    }
    if ((st = collection_current(store, collection, &c, &cache, err)) != MIEN_OK) {
        return st;
    }
    if (e->template_ != NULL && (st = template_fits(&c, e->template_, err)) != MIEN_OK) {
        return st;
    }
    return enrol_policy(store, &c, e, ctx, &expires_at, err);
}

/* The reasons of mien_refusal, as the audit entries and the HTTP error codes spell them. */
static const char *const REFUSAL_NAMES[] = {[MIEN_REFUSAL_NO_FACE] = "no_face",
                                            [MIEN_REFUSAL_SEVERAL_FACES] = "several_faces",
                                            [MIEN_REFUSAL_LOW_QUALITY] = "low_quality"};

const char *mien_refusal_name(mien_refusal reason)
{
    return (unsigned)reason < sizeof(REFUSAL_NAMES) / sizeof(REFUSAL_NAMES[0])
               ? REFUSAL_NAMES[reason]
               : "unknown";
}

mien_status mien_record_refusal(mien_store *store, const char *collection, const char *action,
                                const char *subject, mien_refusal reason, size_t faces,
                                const mien_context *ctx, int64_t *seq, mien_error *err)
{
    store_collection c;
    mien_status st;
    if (seq != NULL) {
        *seq = 0;
    }
    if (!store_ok(store) || action == NULL ||
        (strcmp(action, "enrol") != 0 && strcmp(action, "search") != 0 &&
         strcmp(action, "verify") != 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_record_refusal: action is \"enrol\", "
                              "\"search\" or \"verify\"");
    }
    if (strcmp(mien_refusal_name(reason), "unknown") == 0) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_record_refusal: unknown reason %d",
                              (int)reason);
    }
    if (subject != NULL && !subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    if ((st = collection_lookup(store, collection, &c, err)) != MIEN_OK) {
        return st;
    }
    return refusal_record(store->store, c.name, action, subject, mien_refusal_name(reason),
                          ctx != NULL ? ctx->input_sha256 : NULL,
                          json_pack("{s:I}", "faces", (json_int_t)faces), ctx, seq, err);
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

uint64_t gallery_follow_hashes(const mien_store *s)
{
    return s != NULL && s->cache != NULL ? s->cache->follow_hashes : 0;
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
    /* the reviews that list the subject go too: their notes are free text */
    st = g->ops->review_erase(g, c->id, r->subject_hash, &r->reviews_deleted, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = governance_record_tx(g, ctx, action, c->name, NULL, "ok",
                              json_pack("{s:s,s:I,s:I,s:I}", "subject", r->subject_hash,
                                        "faces_deleted", (json_int_t)r->faces_deleted,
                                        "crops_deleted", (json_int_t)r->crops_deleted,
                                        "reviews_deleted", (json_int_t)r->reviews_deleted),
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
    if (st == MIEN_ERR_STORE && err != NULL && strstr(err->message, "subject") != NULL) {
        /* a subject's row altered behind mien's back (its expiry cleared, say): the purge
         * stops naming it, and the refusal is kept */
        governance_record(g, ctx, "purge", NULL, NULL, "refused",
                          json_pack("{s:s}", "reason", err->message), NULL, NULL);
    }
    if (st == MIEN_OK && n > 0) {
        st = purge_list(store, list, n, ctx, &done, err);
    }
    free(list);
    if (purged != NULL) {
        *purged = done;
    }
    return st;
}

/* ---- subjects without faces, and faces moving between subjects ------------------------ */

/* The subjects of collection c (*out, free()) and, when found, the positions of the subject
 * with store id `id` (*by_id) and of external id `external_id` (*by_name); -1 when absent. */
static mien_status subject_find(mien_store *store, const store_collection *c, int64_t id,
                                const char *external_id, store_subject **out, ptrdiff_t *by_id,
                                ptrdiff_t *by_name, mien_error *err)
{
    size_t n = 0;
    *by_id = *by_name = -1;
    mien_status st = store->store->ops->subject_list(store->store, c->id, out, &n, err);
    for (size_t k = 0; st == MIEN_OK && k < n; k++) {
        if ((*out)[k].id == id) {
            *by_id = (ptrdiff_t)k;
        }
        if (external_id != NULL && strcmp((*out)[k].external_id, external_id) == 0) {
            *by_name = (ptrdiff_t)k;
        }
    }
    return st;
}

mien_status mien_subject_create(mien_store *store, const char *collection, const char *subject,
                                const char *consent_ref, const mien_context *ctx,
                                mien_error *err)
{
    store_collection c;
    store_subject *subs = NULL;
    ptrdiff_t by_id, at;
    int64_t expires_at = 0, id = 0, seq = 0;
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_subject_create: NULL store");
    }
    mien_status st = purge_due(store, err);
    if (st == MIEN_OK) {
        st = subject_lookup(store, collection, subject, &c, err);
    }
    /* the consent rule of an enrolment: a person is on record only with it */
    mien_enrollment e = {.subject = subject, .consent_ref = consent_ref};
    if (st == MIEN_OK) {
        st = enrol_policy(store, &c, &e, ctx, &expires_at, err);
    }
    if (st == MIEN_OK) {
        st = subject_find(store, &c, 0, subject, &subs, &by_id, &at, err);
    }
    free(subs);
    if (st == MIEN_OK && at >= 0) {
        st = base_error_set(err, MIEN_ERR_EXISTS, "subject '%s' of collection '%s' exists",
                            subject, c.name);
    }
    if (st != MIEN_OK) {
        return st;
    }
    store_db *g = store->store;
    const char *consent = consent_ref != NULL && consent_ref[0] ? consent_ref : NULL;
    char hash[65];
    governance_subject_hash(g, c.name, subject, hash);
    st = g->ops->begin(g, err);
    if (st == MIEN_OK) {
        st = g->ops->subject_ensure(g, c.id, subject, NULL, consent, expires_at, &id, err);
    }
    if (st == MIEN_OK) {
        st = governance_record_tx(g, ctx, "subject.create", c.name, NULL, "ok",
                                  json_pack("{s:s,s:s,s:I}", "subject", hash, "consent",
                                            consent != NULL ? "recorded" : "not_needed",
                                            "expires_at", (json_int_t)expires_at),
                                  &seq, NULL, err);
    }
    st = governance_tx_end(g, st, err);
    if (st != MIEN_OK) {
        return st;
    }
    cache_advance(store, c.id, seq); /* no face: the index has nothing to follow */
    return governance_after_commit(g, err);
}

/* What a face's row says of its place (seal_face_get's callback). */
typedef struct face_place {
    int64_t collection_id, subject_id;
} face_place;

static mien_status face_place_row(void *ctx, const store_face_row *row)
{
    ((face_place *)ctx)->subject_id = row->subject_id;
    return MIEN_OK;
}

/* Makes the loaded index (if any) follow a committed move; when it cannot, forgets it. */
static void cache_follow_move(mien_store *s, int64_t collection_id, int64_t face_id,
                              int64_t subject_id, const char *external_id)
{
    coll_cache *c = cache_find(s, collection_id);
    if (c != NULL && (subject_remember(c, subject_id, external_id) != MIEN_OK ||
                      !gallery_index_move_face(c->index, face_id, subject_id))) {
        cache_drop(s, collection_id);
    }
}

/* The move's writes in the caller's transaction: the target subject made when new (with the
 * consent reference and expiry of the subject the face leaves: it was enrolled under them),
 * the face re-sealed for it, the audit entry. */
static mien_status move_in_tx(mien_store *store, const store_collection *c, int64_t face_id,
                              const store_subject *from, const store_subject *to,
                              const char *to_name, const mien_context *ctx, int64_t *to_id,
                              int64_t *seq, mien_error *err)
{
    store_db *g = store->store;
    char from_hash[65], to_hash[65];
    mien_status st = MIEN_OK;
    *to_id = to != NULL ? to->id : 0;
    if (to == NULL) {
        st = g->ops->subject_ensure(g, c->id, to_name, NULL,
                                    from->consent_ref[0] ? from->consent_ref : NULL,
                                    from->expires_at, to_id, err);
    }
    if (st == MIEN_OK) {
        st = seal_face_move(g, face_id, *to_id, to_name, err);
    }
    governance_subject_hash(g, c->name, from->external_id, from_hash);
    governance_subject_hash(g, c->name, to_name, to_hash);
    if (st == MIEN_OK) {
        st = governance_record_tx(g, ctx, "face.move", c->name, NULL, "ok",
                                  json_pack("{s:I,s:s,s:s,s:b}", "face_id", (json_int_t)face_id,
                                            "from", from_hash, "to", to_hash, "new_subject",
                                            to == NULL),
                                  seq, NULL, err);
    }
    return st;
}

mien_status mien_face_move(mien_store *store, const char *collection, int64_t face_id,
                           const char *to_subject, const mien_context *ctx, int64_t *faces_left,
                           mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    store_subject *subs = NULL;
    face_place place = {0, 0};
    ptrdiff_t from = -1, to = -1;
    int64_t to_id = 0, seq = 0;
    if (faces_left != NULL) {
        *faces_left = 0;
    }
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_face_move: NULL store");
    }
    if (!subject_ok(to_subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    mien_status st = purge_due(store, err);
    if (st == MIEN_OK) {
        st = collection_current(store, collection, &c, &cache, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    st = seal_face_get(store->store, face_id, &place.collection_id, face_place_row, &place, err);
    if (st == MIEN_ERR_NOT_FOUND || (st == MIEN_OK && place.collection_id != c.id)) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "collection '%s' has no face %lld",
                              c.name, (long long)face_id);
    }
    if (st == MIEN_OK) {
        st = subject_find(store, &c, place.subject_id, to_subject, &subs, &from, &to, err);
    }
    if (st == MIEN_OK && from < 0) {
        st = base_error_set(err, MIEN_ERR_STORE, "face %lld: its subject is gone",
                            (long long)face_id);
    }
    if (st != MIEN_OK || from == to) { /* already there: nothing to do */
        if (st == MIEN_OK && faces_left != NULL) {
            *faces_left = subs[from].faces;
        }
        free(subs);
        return st;
    }
    store_db *g = store->store;
    st = g->ops->begin(g, err);
    if (st == MIEN_OK) {
        st = move_in_tx(store, &c, face_id, &subs[from], to >= 0 ? &subs[to] : NULL,
                        to_subject, ctx, &to_id, &seq, err);
    }
    st = governance_tx_end(g, st, err);
    if (st == MIEN_OK) {
        cache_follow_move(store, c.id, face_id, to_id, to_subject);
        cache_advance(store, c.id, seq);
        if (faces_left != NULL) {
            *faces_left = subs[from].faces - 1;
        }
        st = governance_after_commit(g, err);
    }
    free(subs);
    return st;
}

/* ---- search --------------------------------------------------------------------------- */

mien_search_options mien_search_options_default(void)
{
    mien_search_options o = {.top_k = 0, .max_fmr = 0, .mode = MIEN_SEARCH_AUTO,
                             .clamp = false};
    return o;
}

mien_status mien_check_purpose(mien_store *store, const char *collection, const char *action,
                               const mien_context *ctx, mien_error *err)
{
    store_collection c;
    coll_cache *cache;
    if (!store_ok(store) || action == NULL ||
        (strcmp(action, "search") != 0 && strcmp(action, "verify") != 0 &&
         strcmp(action, "group") != 0)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_check_purpose: action is \"search\", "
                              "\"verify\" or \"group\"");
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
    if (result != NULL && out->capped) { /* the ask was lowered to the collection's caps */
        json_object_set_new(result, "capped", json_true());
    }
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
    /* top_k and max_fmr 0 stay 0 here: the collection's caps decide what they become
     * (search_limits). */
    *o = opt != NULL ? *opt : mien_search_options_default();
    if (o->top_k < 0 || o->top_k > MAX_TOP_K) {
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

/* Fills o's limits from the collection's caps (defaults for 0, an ask above a cap refused
 * and audited, or lowered with o->clamp) and records them in out. */
static mien_status search_limits(mien_store *store, const store_collection *c,
                                 mien_search_options *o, const mien_context *ctx,
                                 mien_search_result *out, mien_error *err)
{
    static const governance_limits defaults = {DEFAULT_TOP_K, DEFAULT_MAX_FMR};
    governance_limits asked = {o->top_k, o->max_fmr};
    bool capped = false;
    mien_status st = governance_search_limits(store->store, c, &defaults, o->clamp, &asked,
                                              &capped, ctx, err);
    if (st == MIEN_OK) {
        o->top_k = asked.top_k;
        o->max_fmr = asked.max_fmr;
        out->top_k = asked.top_k;
        out->max_fmr = asked.max_fmr;
        out->capped = capped;
    }
    return st;
}

/* What a search looks with, once its checks passed (search_begin). */
typedef struct search_plan {
    mien_search_options o;    /* defaults filled in */
    gallery_search_mode mode;
    store_collection c;
    coll_cache *cache;        /* its loaded index, or NULL until loaded */
    float threshold;          /* the similarity at o.max_fmr */
} search_plan;

/* What every search checks before it looks: options, expiry, the collection, its purpose
 * rule, the collection's caps (recorded in out) and the similarity at max_fmr; *p is the
 * plan. */
static mien_status search_begin(mien_store *store, const char *collection,
                                const mien_search_options *opt, const mien_context *ctx,
                                search_plan *p, mien_search_result *out, mien_error *err)
{
    mien_search_options *o = &p->o;
    store_collection *c = &p->c;
    p->cache = NULL;
    p->mode = GALLERY_SEARCH_AUTO;
    p->threshold = 1.0f;
    mien_status st = search_options(opt, o, &p->mode, err);
    if (st == MIEN_OK) {
        st = purge_due(store, err);
    }
    /* A loaded collection answers from memory: this handle made every change since it was
     * loaded (the database is read again when the handle is reopened). */
    if (st == MIEN_OK) {
        st = collection_current(store, collection, c, &p->cache, err);
    }
    if (st == MIEN_OK) {
        st = governance_check(store->store, c, "search", ctx, err);
    }
    if (st == MIEN_OK && !(o->max_fmr >= 0 && o->max_fmr <= 1)) {
        st = base_error_set(err, MIEN_ERR_ARG, "max_fmr %g is neither 0 (the default) nor a "
                            "rate in (0, 1]", o->max_fmr);
    }
    if (st == MIEN_OK) {
        st = search_limits(store, c, o, ctx, out, err);
    }
    if (st == MIEN_OK &&
        mien_threshold_for_fmr(c->profile, o->max_fmr, &p->threshold) != MIEN_OK) {
        st = base_error_set(err, MIEN_ERR_ARG,
                            "max_fmr %g is outside the calibrated range of profile %s",
                            o->max_fmr, mien_profile_name(c->profile));
    }
    return st;
}

/* The search's audit entry and review, once its candidates are in out. */
static mien_status search_end(mien_store *store, const search_plan *p, const mien_context *ctx,
                              mien_status st, mien_search_result *out, mien_error *err)
{
    if (st == MIEN_OK) {
        st = search_record(store, &p->c, &p->o, ctx, out, err);
        cache_advance(store, p->c.id, out->audit_seq);
    }
    if (st != MIEN_OK) {
        mien_search_result_free(out);
    }
    return st;
}

mien_status mien_search(mien_store *store, const char *collection, const mien_template *probe,
                        const mien_search_options *opt, const mien_context *ctx,
                        mien_search_result *out, mien_error *err)
{
    search_plan p;
    float vec[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || probe == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_search: NULL argument");
    }
    st = search_begin(store, collection, opt, ctx, &p, out, err);
    if (st == MIEN_OK) {
        st = template_fits(&p.c, probe, err);
    }
    if (st != MIEN_OK) {
        return st;
    }
    if (gallery_index_vector(probe, vec, &dim) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG, "the probe template has no index vector");
    }
    if (p.cache == NULL) {
        st = cache_load(store, &p.c, dim, &p.cache, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    gallery_parts parts;
    if (gallery_parts_of(probe, &parts) == MIEN_OK) {
        gallery_index_set_parts(p.cache->index, &parts);
    }
    st = search_index(p.cache, vec, &p.o, p.mode, &out->candidates, &out->count, err);
    return search_end(store, &p, ctx, st, out, err);
}

/* ---- a subject as the probe ------------------------------------------------------------- */

/* The index vectors of one subject's faces (seal_face_scan_subject's callback). */
typedef struct probe_faces {
    float *vec;    /* n vectors of dim floats; owned */
    size_t n, cap;
    int dim;
    mien_error *err;
} probe_faces;

static mien_status probe_face_row(void *ctx, const store_face_row *row)
{
    probe_faces *p = ctx;
    float v[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    mien_profile profile;
    if (!row_vector(row, v, &dim, &profile, NULL) || (p->n > 0 && dim != p->dim)) {
        return base_error_set(p->err, MIEN_ERR_STORE, "face %lld has a malformed template",
                              (long long)row->face_id);
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4;
        float *grown = realloc(p->vec, cap * (size_t)dim * sizeof(float));
        if (grown == NULL) {
            return base_error_set(p->err, MIEN_ERR_NOMEM, "out of memory");
        }
        p->vec = grown;
        p->cap = cap;
    }
    memcpy(p->vec + p->n++ * (size_t)dim, v, (size_t)dim * sizeof(float));
    p->dim = dim;
    return MIEN_OK;
}

/* Merges the candidates cand[n] of one probe face into *all (*n_all): a subject keeps its
 * best similarity over the probe faces; `self` is left out. Each candidate's face list moves
 * into *all or is freed here. */
static mien_status merge_candidates(mien_candidate *cand, size_t n, const char *self,
                                    mien_candidate **all, size_t *n_all, mien_error *err)
{
    for (size_t k = 0; k < n; k++) {
        size_t j = 0;
        if (strcmp(cand[k].subject, self) == 0) {
            candidates_free_faces(&cand[k], 1);
            continue;
        }
        while (j < *n_all && strcmp((*all)[j].subject, cand[k].subject) != 0) {
            j++;
        }
        if (j == *n_all) {
            mien_candidate *grown = realloc(*all, (*n_all + 1) * sizeof(**all));
            if (grown == NULL) {
                candidates_free_faces(cand + k, n - k);
                return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
            }
            *all = grown;
            (*all)[(*n_all)++] = cand[k];
        } else if (cand[k].similarity > (*all)[j].similarity) {
            candidates_free_faces(&(*all)[j], 1);
            (*all)[j] = cand[k];
        } else {
            candidates_free_faces(&cand[k], 1);
        }
    }
    return MIEN_OK;
}

static int candidate_order(const void *a, const void *b)
{
    float x = ((const mien_candidate *)a)->similarity, y = ((const mien_candidate *)b)->similarity;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every probe face searched (top_k + 1: the subject finds itself), merged, best first, cut to
 * top_k. */
static mien_status search_probe_faces(const search_plan *plan, const probe_faces *p,
                                      const char *self, mien_search_result *out, mien_error *err)
{
    mien_search_options wide = plan->o;
    mien_status st = MIEN_OK;
    wide.top_k = plan->o.top_k + 1;
    for (size_t f = 0; st == MIEN_OK && f < p->n; f++) {
        mien_candidate *cand = NULL;
        size_t n = 0;
        st = search_index(plan->cache, p->vec + f * (size_t)p->dim, &wide, plan->mode, &cand,
                          &n, err);
        if (st == MIEN_OK) {
            st = merge_candidates(cand, n, self, &out->candidates, &out->count, err);
        }
        free(cand);
    }
    if (st == MIEN_OK && out->count > 0) {
        qsort(out->candidates, out->count, sizeof(*out->candidates), candidate_order);
        size_t k = (size_t)plan->o.top_k;
        if (out->count > k) {
            candidates_free_faces(out->candidates + k, out->count - k);
            out->count = k;
        }
    }
    return st;
}

mien_status mien_search_subject(mien_store *store, const char *collection, const char *subject,
                                const mien_search_options *opt, const mien_context *ctx,
                                mien_search_result *out, mien_error *err)
{
    search_plan plan;
    probe_faces p = {.err = err};
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_search_subject: NULL argument");
    }
    if (!subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    mien_status st = search_begin(store, collection, opt, ctx, &plan, out, err);
    if (st == MIEN_OK) {
        st = seal_face_scan_subject(store->store, plan.c.id, subject, probe_face_row, &p, err);
    }
    if (st == MIEN_OK && p.n == 0) {
        st = base_error_set(err, MIEN_ERR_NOT_FOUND, "subject '%s' of collection '%s' has no "
                            "face", subject, plan.c.name);
    }
    if (st == MIEN_OK && plan.cache == NULL) {
        st = cache_load(store, &plan.c, p.dim, &plan.cache, err);
    }
    if (st == MIEN_OK && p.dim != gallery_index_dim(plan.cache->index)) {
        st = base_error_set(err, MIEN_ERR_STORE, "subject '%s': templates of another size",
                            subject);
    }
    if (st == MIEN_OK) {
        st = search_probe_faces(&plan, &p, subject, out, err);
        st = search_end(store, &plan, ctx, st, out, err);
    }
    if (p.vec != NULL) { /* templates: zeroed before they go */
        sodium_memzero(p.vec, p.cap * (size_t)p.dim * sizeof(float));
        free(p.vec);
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
