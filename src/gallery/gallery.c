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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "gallery/index.h"
#include "gallery/store.h"

#define STORE_MAGIC 0x6d53544fu /* "mSTO" */
#define CHIP_BYTES (112 * 112 * 3) /* mien_face_chip: the ArcFace 112×112 RGB template */
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
    char name[GALLERY_NAME_MAX];
    mien_profile profile;
    gallery_collection col;  /* as when loaded: profile and model ids (counts not kept) */
    gallery_index *index;    /* owned */
    subject_name *subjects;  /* owned, sorted by id */
    size_t n_subjects, cap_subjects;
} coll_cache;

struct mien_store {
    uint32_t magic;
    gallery_store *store;  /* owned */
    coll_cache **colls;    /* owned, loaded collections */
    size_t n_colls, cap_colls;
};

static bool store_ok(const mien_store *s)
{
    return s != NULL && s->magic == STORE_MAGIC && s->store != NULL;
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
    for (size_t k = 0; k < s->n_colls; k++) {
        if (s->colls[k]->id == collection_id) {
            return s->colls[k];
        }
    }
    return NULL;
}

/* The loaded collection named `name`, or NULL. */
static coll_cache *cache_find_name(const mien_store *s, const char *name)
{
    for (size_t k = 0; k < s->n_colls; k++) {
        if (strcmp(s->colls[k]->name, name) == 0) {
            return s->colls[k];
        }
    }
    return NULL;
}

/* Forgets collection `collection_id` (no-op if not loaded). */
static void cache_drop(mien_store *s, int64_t collection_id)
{
    for (size_t k = 0; k < s->n_colls; k++) {
        if (s->colls[k]->id == collection_id) {
            cache_free(s->colls[k]);
            s->colls[k] = s->colls[--s->n_colls];
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

/* What face_scan's callback needs. */
typedef struct load_ctx {
    coll_cache *c;
    mien_error *err;
} load_ctx;

/* Adds one stored face to the index being loaded. A template that does not decode, or that
 * belongs to another profile or index size, is a corrupt store (MIEN_ERR_STORE). */
static mien_status load_row(void *ctx, const gallery_face_row *row)
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
    st = gallery_index_add(lc->c->index, row->face_id, row->subject_id, vec, lc->err);
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
static mien_status cache_load(mien_store *s, const gallery_collection *col, int dim,
                              coll_cache **out, mien_error *err)
{
    coll_cache *c;
    load_ctx lc;
    mien_status st;
    *out = NULL;
    if (s->n_colls == s->cap_colls) {
        size_t cap = s->cap_colls ? 2 * s->cap_colls : 4;
        coll_cache **grown = realloc(s->colls, cap * sizeof(*grown));
        if (grown == NULL) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
        s->colls = grown;
        s->cap_colls = cap;
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
    lc.c = c;
    lc.err = err;
    st = s->store->ops->face_scan(s->store, col->id, load_row, &lc, err);
    if (st != MIEN_OK) {
        goto fail;
    }
    s->colls[s->n_colls++] = c;
    *out = c;
    return MIEN_OK;
fail:
    cache_free(c);
    return st;
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
    return n >= 1 && n < GALLERY_NAME_MAX;
}

/* Subject ids: 1..127 bytes, no control characters. */
static bool subject_ok(const char *subject)
{
    size_t n;
    if (subject == NULL) {
        return false;
    }
    n = strlen(subject);
    if (n < 1 || n >= GALLERY_SUBJECT_MAX) {
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

static const char *profile_name(mien_profile p)
{
    return p == MIEN_PROFILE_ACCURATE ? "accurate" : "fast";
}

/* Looks collection `name` up (MIEN_ERR_NOT_FOUND with its name when absent). */
static mien_status collection_lookup(mien_store *s, const char *name, gallery_collection *out,
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
static mien_status template_fits(const gallery_collection *c, const mien_template *t,
                                 mien_error *err)
{
    const char *ma = mien_template_model(t, 0), *mb = mien_template_model(t, 1);
    if (mien_template_profile(t) != c->profile) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "profile mismatch: collection %s is %s, template is %s", c->name,
                              profile_name(c->profile), profile_name(mien_template_profile(t)));
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

static void collection_to_info(const gallery_collection *g, mien_collection_info *out)
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
}

/* ---- stores --------------------------------------------------------------------------- */

mien_status mien_store_open(const char *uri, mien_store **out, mien_error *err)
{
    mien_store *s;
    mien_status st;
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_store_open: NULL out");
    }
    *out = NULL;
    if (uri == NULL) {
        uri = getenv("MIEN_STORE");
    }
    if (uri == NULL || *uri == '\0') {
        uri = "./mien.db";
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    st = gallery_store_open(uri, &s->store, err);
    if (st != MIEN_OK) {
        free(s);
        return st;
    }
    s->magic = STORE_MAGIC;
    *out = s;
    return MIEN_OK;
}

void mien_store_close(mien_store *store)
{
    if (store == NULL) {
        return;
    }
    assert(store->magic == STORE_MAGIC);
    for (size_t k = 0; k < store->n_colls; k++) {
        cache_free(store->colls[k]);
    }
    free(store->colls);
    if (store->store != NULL) {
        store->store->ops->close(store->store);
    }
    store->magic = 0;
    free(store);
}

gallery_store *gallery_store_of(mien_store *store)
{
    return store_ok(store) ? store->store : NULL;
}

void mien_free(void *p)
{
    free(p);
}

/* ---- collections ---------------------------------------------------------------------- */

mien_status mien_collection_create(mien_store *store, const char *name, mien_profile profile,
                                   const mien_engine *engine, const char *description,
                                   mien_error *err)
{
    gallery_collection c;
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
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.profile = profile;
    snprintf(c.model_a, sizeof(c.model_a), "%s", ma);
    snprintf(c.model_b, sizeof(c.model_b), "%s", mb);
    snprintf(c.description, sizeof(c.description), "%s", description ? description : "");
    st = store->store->ops->begin(store->store, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->collection_create(store->store, &c, err);
    if (st == MIEN_ERR_EXISTS) {
        base_error_set(err, st, "collection '%s' already exists", name);
    }
    if (st == MIEN_OK) {
        st = store->store->ops->commit(store->store, err);
    }
    if (st != MIEN_OK) {
        store->store->ops->rollback(store->store);
    }
    return st;
}

mien_status mien_collection_get(mien_store *store, const char *name, mien_collection_info *out,
                                mien_error *err)
{
    gallery_collection c;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store) || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_get: NULL argument");
    }
    /* A loaded collection answers from memory (its counts are those of the index this handle
     * keeps in step); asking the database counts every face, a scan per call. */
    const coll_cache *cache = name_ok(name) ? cache_find_name(store, name) : NULL;
    if (cache != NULL) {
        c = cache->col;
        c.subjects = (int64_t)cache->n_subjects;
        c.faces = (int64_t)gallery_index_size(cache->index);
        collection_to_info(&c, out);
        return MIEN_OK;
    }
    st = collection_lookup(store, name, &c, err);
    if (st == MIEN_OK) {
        collection_to_info(&c, out);
    }
    return st;
}

mien_status mien_collection_list(mien_store *store, mien_collection_info **out, size_t *count,
                                 mien_error *err)
{
    gallery_collection *cs = NULL;
    mien_collection_info *infos;
    size_t n = 0;
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (!store_ok(store) || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_list: NULL argument");
    }
    st = store->store->ops->collection_list(store->store, &cs, &n, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (n == 0) {
        free(cs);
        return MIEN_OK;
    }
    infos = calloc(n, sizeof(*infos));
    if (infos == NULL) {
        free(cs);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        collection_to_info(&cs[k], &infos[k]);
    }
    free(cs);
    *out = infos;
    *count = n;
    return MIEN_OK;
}

mien_status mien_collection_drop(mien_store *store, const char *name, mien_error *err)
{
    gallery_collection c;
    mien_status st;
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_collection_drop: NULL store");
    }
    st = collection_lookup(store, name, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->begin(store->store, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->collection_drop(store->store, c.id, err);
    if (st == MIEN_OK) {
        st = store->store->ops->commit(store->store, err);
    }
    if (st != MIEN_OK) {
        store->store->ops->rollback(store->store);
        return st;
    }
    cache_drop(store, c.id);
    return MIEN_OK;
}

/* ---- enrolment ------------------------------------------------------------------------ */

/* Makes the loaded index (if any) follow a committed enrolment; when it cannot, forgets the
 * index so the next search reloads it from the store. */
static void cache_follow_enrol(mien_store *s, int64_t collection_id, int64_t face_id,
                               int64_t subject_id, const char *external_id,
                               const mien_template *t)
{
    coll_cache *c = cache_find(s, collection_id);
    float vec[GALLERY_INDEX_DIM_MAX];
    int dim = 0;
    if (c == NULL) {
        return;
    }
    if (gallery_index_vector(t, vec, &dim) != MIEN_OK || dim != gallery_index_dim(c->index) ||
        subject_remember(c, subject_id, external_id) != MIEN_OK ||
        gallery_index_add(c->index, face_id, subject_id, vec, NULL) != MIEN_OK) {
        cache_drop(s, collection_id);
    }
}

mien_status mien_enroll(mien_store *store, const char *collection, const mien_enrollment *e,
                        int64_t *face_id, mien_error *err)
{
    gallery_collection c;
    coll_cache *cache;
    gallery_face_new face;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int64_t subject_id = -1, fid = -1;
    mien_status st;
    if (face_id != NULL) {
        *face_id = 0;
    }
    if (!store_ok(store) || e == NULL || e->template_ == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enroll: NULL store, enrolment or template");
    }
    if (!subject_ok(e->subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    if (e->display_name != NULL && strlen(e->display_name) >= GALLERY_SUBJECT_MAX) {
        return base_error_set(err, MIEN_ERR_ARG, "display name longer than 127 bytes");
    }
    /* The collection's row (with its subject and face counts, which cost a scan) is read
     * once; after that the loaded collection answers, and it follows every enrolment, so a
     * bulk import stays linear in the number of faces. */
    cache = cache_find_name(store, collection);
    if (cache != NULL) {
        c = cache->col;
    } else if ((st = collection_lookup(store, collection, &c, err)) != MIEN_OK) {
        return st;
    }
    st = template_fits(&c, e->template_, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (cache == NULL) {
        float vec[GALLERY_INDEX_DIM_MAX];
        int dim = 0;
        if (gallery_index_vector(e->template_, vec, &dim) != MIEN_OK) {
            return base_error_set(err, MIEN_ERR_ARG, "the template has no index vector");
        }
        if ((st = cache_load(store, &c, dim, &cache, err)) != MIEN_OK) {
            return st;
        }
    }
    if (e->image_sha256 != NULL) {
        bool found = false;
        st = store->store->ops->face_exists(store->store, c.id, e->subject, e->image_sha256,
                                            &found, err);
        if (st != MIEN_OK) {
            return st;
        }
        if (found) {
            return base_error_set(err, MIEN_ERR_EXISTS,
                                  "subject '%s' of collection '%s' is already enrolled from "
                                  "this image",
                                  e->subject, collection);
        }
    }
    if (mien_template_serialize(e->template_, NULL, 0, &len) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG, "the template cannot be serialised");
    }
    bytes = malloc(len);
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
    face.crop_len = e->crop_rgb != NULL ? CHIP_BYTES : 0;
    st = store->store->ops->begin(store->store, err);
    if (st != MIEN_OK) {
        free(bytes);
        return st;
    }
    st = store->store->ops->subject_ensure(store->store, c.id, e->subject, e->display_name,
                                           &subject_id, err);
    if (st == MIEN_OK) {
        st = store->store->ops->face_insert(store->store, c.id, subject_id, &face, &fid, err);
    }
    if (st == MIEN_OK) {
        st = store->store->ops->commit(store->store, err);
    }
    free(bytes);
    if (st != MIEN_OK) {
        store->store->ops->rollback(store->store);
        return st;
    }
    cache_follow_enrol(store, c.id, fid, subject_id, e->subject, e->template_);
    if (face_id != NULL) {
        *face_id = fid;
    }
    return MIEN_OK;
}

mien_status mien_enrolled(mien_store *store, const char *collection, const char *subject,
                          const uint8_t image_sha256[32], int *done, mien_error *err)
{
    gallery_collection c;
    bool found = false;
    mien_status st;
    if (done != NULL) {
        *done = 0;
    }
    if (!store_ok(store) || image_sha256 == NULL || done == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_enrolled: NULL argument");
    }
    if (!subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    st = collection_lookup(store, collection, &c, err);
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
                              mien_subject_info **out, size_t *count, mien_error *err)
{
    gallery_collection c;
    gallery_subject *subs = NULL;
    mien_subject_info *infos;
    size_t n = 0;
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (!store_ok(store) || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_subject_list: NULL argument");
    }
    st = collection_lookup(store, collection, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->subject_list(store->store, c.id, &subs, &n, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (n == 0) {
        free(subs);
        return MIEN_OK;
    }
    infos = calloc(n, sizeof(*infos));
    if (infos == NULL) {
        free(subs);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        snprintf(infos[k].subject, sizeof(infos[k].subject), "%s", subs[k].external_id);
        snprintf(infos[k].display_name, sizeof(infos[k].display_name), "%s",
                 subs[k].display_name);
        infos[k].faces = subs[k].faces;
        infos[k].created_at = subs[k].created_at;
    }
    free(subs);
    *out = infos;
    *count = n;
    return MIEN_OK;
}

mien_status mien_erase_subject(mien_store *store, const char *collection, const char *subject,
                               mien_erasure *out, mien_error *err)
{
    gallery_collection c;
    int64_t faces = 0, crops = 0;
    coll_cache *cache;
    mien_status st;
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (!store_ok(store)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_erase_subject: NULL store");
    }
    if (!subject_ok(subject)) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "subject id must be 1..127 bytes without control characters");
    }
    st = collection_lookup(store, collection, &c, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->begin(store->store, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = store->store->ops->subject_erase(store->store, c.id, subject, &faces, &crops, err);
    if (st == MIEN_ERR_NOT_FOUND) {
        base_error_set(err, st, "no subject '%s' in collection '%s'", subject, collection);
    }
    if (st == MIEN_OK) {
        st = store->store->ops->commit(store->store, err);
    }
    if (st != MIEN_OK) {
        store->store->ops->rollback(store->store);
        return st;
    }
    cache = cache_find(store, c.id);
    if (cache != NULL) {
        int64_t sid = subject_id_of(cache, subject);
        size_t removed = 0;
        if (sid >= 0) {
            if (gallery_index_remove_subject(cache->index, sid, &removed, NULL) != MIEN_OK) {
                cache_drop(store, c.id); /* reloaded, without the subject, on the next search */
            } else {
                subject_forget(cache, sid);
            }
        }
    }
    if (out != NULL) {
        out->faces_deleted = faces;
        out->crops_deleted = crops;
    }
    return MIEN_OK;
}

/* ---- search --------------------------------------------------------------------------- */

mien_search_options mien_search_options_default(void)
{
    mien_search_options o = {.top_k = DEFAULT_TOP_K, .max_fmr = DEFAULT_MAX_FMR,
                             .mode = MIEN_SEARCH_AUTO};
    return o;
}

mien_status mien_search(mien_store *store, const char *collection, const mien_template *probe,
                        const mien_search_options *opt, mien_candidate **out, size_t *count,
                        mien_error *err)
{
    mien_search_options o = mien_search_options_default();
    gallery_collection c;
    coll_cache *cache;
    gallery_search_mode mode;
    gallery_hit *hits = NULL;
    mien_candidate *cands = NULL;
    float vec[GALLERY_INDEX_DIM_MAX], threshold = 1.0f;
    int dim = 0;
    size_t n = 0;
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (!store_ok(store) || probe == NULL || out == NULL || count == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_search: NULL argument");
    }
    if (opt != NULL) {
        o = *opt;
        o.top_k = o.top_k == 0 ? DEFAULT_TOP_K : o.top_k;
        o.max_fmr = o.max_fmr == 0 ? DEFAULT_MAX_FMR : o.max_fmr;
    }
    if (o.top_k < 1 || o.top_k > MAX_TOP_K) {
        return base_error_set(err, MIEN_ERR_ARG, "top_k must be 1..%d, not %d", MAX_TOP_K,
                              o.top_k);
    }
    switch (o.mode) {
    case MIEN_SEARCH_AUTO:
        mode = GALLERY_SEARCH_AUTO;
        break;
    case MIEN_SEARCH_EXACT:
        mode = GALLERY_SEARCH_EXACT_F32;
        break;
    case MIEN_SEARCH_APPROXIMATE:
        mode = GALLERY_SEARCH_APPROX;
        break;
    default:
        return base_error_set(err, MIEN_ERR_ARG, "unknown search mode %d", (int)o.mode);
    }
    /* A loaded collection answers from memory: this handle made every change since it was
     * loaded (the database is read again when the handle is reopened). */
    cache = name_ok(collection) ? cache_find_name(store, collection) : NULL;
    if (cache != NULL) {
        c = cache->col;
    } else {
        st = collection_lookup(store, collection, &c, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    st = template_fits(&c, probe, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (!(o.max_fmr > 0 && o.max_fmr <= 1) ||
        mien_threshold_for_fmr(c.profile, o.max_fmr, &threshold) != MIEN_OK) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "max_fmr %g is outside the calibrated range of profile %s",
                              o.max_fmr, profile_name(c.profile));
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
    hits = malloc((size_t)o.top_k * sizeof(*hits));
    if (hits == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    st = gallery_index_search(cache->index, vec, o.top_k, threshold, mode, hits, &n, err);
    if (st == MIEN_ERR_NOT_FOUND && mode == GALLERY_SEARCH_APPROX) {
        /* mien.h: the approximate graph is built on demand. */
        st = gallery_index_build_approx(cache->index, err);
        if (st == MIEN_OK) {
            st = gallery_index_search(cache->index, vec, o.top_k, threshold, mode, hits, &n,
                                      err);
        }
    }
    if (st != MIEN_OK || n == 0) {
        free(hits);
        return st;
    }
    cands = calloc(n, sizeof(*cands));
    if (cands == NULL) {
        free(hits);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        bool found;
        size_t pos = subject_pos(cache, hits[k].subject_id, &found);
        if (!found) { /* every indexed face's subject is mapped: load_row, cache_follow_enrol */
            st = base_error_set(err, MIEN_ERR_INTERNAL, "subject %lld of face %lld unknown",
                                (long long)hits[k].subject_id, (long long)hits[k].face_id);
            free(hits);
            free(cands);
            return st;
        }
        snprintf(cands[k].subject, sizeof(cands[k].subject), "%s",
                 cache->subjects[pos].external_id);
        cands[k].similarity = hits[k].similarity;
        cands[k].face_id = hits[k].face_id;
        if (mien_similarity_fmr(c.profile, hits[k].similarity, &cands[k].fmr) != MIEN_OK) {
            cands[k].fmr = 1.0;
        }
    }
    free(hits);
    *out = cands;
    *count = n;
    return MIEN_OK;
}
