/* test_store.c — the store on its own (src/store/: store_sql.c over store_sqlite.c and
 * store_postgres.c, store.c, seal.c): schema and migrations, collections, subjects and
 * faces, erasure down to the file bytes, corrupt and foreign files, a full disk, and SIGKILL
 * at random moments during a bulk enrolment.
 *
 * The tests run against the backend tests/store_target.h picks: SQLite by default, PostgreSQL
 * with $MIEN_TEST_STORE=postgres://... (CTest's store_postgres). Checks of SQLite's files and
 * PRAGMAs skip there with a visible line; the PostgreSQL counterparts of the corrupt, foreign
 * and newer-schema checks are in test_store_postgres.c (store_pg_identity).
 *
 * Templates here are synthetic bytes (the store never looks inside them), so no test needs
 * the models. Every test works in its own mkdtemp() folder under /tmp (and, on PostgreSQL,
 * its own database) and removes it. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/seal.h"
#include "store/store.h"
#include "store/store_postgres.h"
#include "store/store_sqlite.h"
#include "store_target.h"
#include "test.h"

#define TEMPLATE_LEN (44 + 192 * 4) /* the size of a `fast` template's bytes */
#define CHIP_LEN (112 * 112 * 3)

/* ---- helpers -------------------------------------------------------------------------- */

static uint32_t lcg_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Deterministic pseudo-random bytes from `seed` (splitmix64: no short cycles in any byte,
 * unlike the low bits of an LCG, so a 24-byte piece of one buffer never turns up in another). */
static void fill_bytes(uint8_t *buf, size_t n, uint32_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (size_t j = 0; j < 8 && i + j < n; j++) {
            buf[i + j] = (uint8_t)(z >> (8 * j));
        }
    }
}

/* A template whose first 4 bytes carry `k` (tests read it back from scans). */
static void make_template(uint8_t *buf, uint32_t k)
{
    fill_bytes(buf, TEMPLATE_LEN, k + 1000u);
    memcpy(buf, &k, sizeof(k));
}

static void make_digest(uint8_t d[32], uint32_t k)
{
    fill_bytes(d, 32, k + 777777u);
}


/* 1 when file `path` holds `needle[n]` anywhere in its raw bytes; 0 when not or absent. */
static int file_has(const char *path, const void *needle, size_t n)
{
    size_t size = 0;
    unsigned char *data = test_read_file(path, &size);
    if (data == NULL) {
        return 0;
    }
    int found = memmem(data, size, needle, n) != NULL;
    free(data);
    return found;
}

/* 1 when PATH, PATH-wal or PATH-shm holds needle[n] (the name of the first is printed). */
static int db_files_have(const char *path, const void *needle, size_t n, const char *what)
{
    static const char *const SUFFIX[] = {"", "-wal", "-shm"};
    char p[512];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, SUFFIX[i]);
        if (file_has(p, needle, n)) {
            fprintf(stderr, "  %s found in %s\n", what, p);
            return 1;
        }
    }
    return 0;
}

/* One enrolment as gallery.c does it: begin, subject, face, commit (rollback on failure). */
static mien_status enrol(store_db *s, int64_t coll, const char *subject,
                         const store_face_new *f, int64_t *face_id, mien_error *err)
{
    int64_t sid;
    mien_status st = s->ops->begin(s, err);
    if (st != MIEN_OK) {
        return st;
    }
    st = s->ops->subject_ensure(s, coll, subject, NULL, NULL, 0, &sid, err);
    if (st == MIEN_OK) {
        st = seal_face_insert(s, coll, sid, subject, f, face_id, err);
    }
    if (st == MIEN_OK) {
        st = s->ops->commit(s, err);
    }
    if (st != MIEN_OK) {
        s->ops->rollback(s);
    }
    return st;
}

static mien_status make_collection(store_db *s, const char *name, mien_profile profile,
                                   int64_t *id, mien_error *err)
{
    store_collection c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.profile = profile;
    snprintf(c.model_a, sizeof(c.model_a), "mfn-test-1");
    snprintf(c.model_b, sizeof(c.model_b), "%s",
             profile == MIEN_PROFILE_ACCURATE ? "arc-test-1" : "");
    snprintf(c.description, sizeof(c.description), "made by %s", "test_store.c");
    mien_status st = s->ops->collection_create(s, &c, err);
    *id = c.id;
    return st;
}

/* Collects scanned rows: face ids, the k of each template, and the byte comparison. */
typedef struct scan_log {
    size_t n;
    int64_t ids[1024];
    uint32_t ks[1024];
    char subjects[1024][32];
    int bad; /* rows whose bytes do not match make_template(k) */
    int stop_after; /* > 0: fail with MIEN_ERR_INTERNAL after that many rows */
} scan_log;

static mien_status log_row(void *ctx, const store_face_row *row)
{
    scan_log *log = ctx;
    uint8_t want[TEMPLATE_LEN];
    uint32_t k = 0;
    if (log->stop_after > 0 && log->n == (size_t)log->stop_after) {
        return MIEN_ERR_INTERNAL;
    }
    if (log->n >= 1024 || row->template_len != TEMPLATE_LEN) {
        log->bad++;
        return MIEN_OK;
    }
    memcpy(&k, row->template_bytes, sizeof(k));
    make_template(want, k);
    if (memcmp(want, row->template_bytes, TEMPLATE_LEN) != 0) {
        log->bad++;
    }
    log->ids[log->n] = row->face_id;
    log->ks[log->n] = k;
    snprintf(log->subjects[log->n], sizeof(log->subjects[0]), "%s", row->external_id);
    log->n++;
    return MIEN_OK;
}

/* Raw SQLite query returning one integer (or -1), for checks behind the store's back. */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(store_schema_reopen)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t id;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    const char *path = ts.path;

    ASSERT_OK(store_db_open(ts.uri, test_keyring(), &s, &err), &err);
    ASSERT_OK(make_collection(s, "people", MIEN_PROFILE_FAST, &id, &err), &err);
    s->ops->close(s);
    if (!test_store_sqlite_only("user_version, application_id, sqlite_master, WAL")) {
        ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), STORE_SQLITE_SCHEMA_VERSION);
        ASSERT_EQ_INT(raw_int(path, "PRAGMA application_id"), STORE_SQLITE_APPLICATION_ID);
        ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                    " AND name IN ('collections', 'subjects', 'faces', 'crops')"),
                      4);
        /* WAL is persistent in the file header (bytes 18-19 = 2). */
        ASSERT_EQ_INT(raw_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    }

    /* Reopening migrates nothing and keeps the data. */
    for (int i = 0; i < 2; i++) {
        store_collection c;
        ASSERT_OK(store_db_open(test_store_is_pg() ? ts.uri : path, test_keyring(), &s, &err),
                  &err);
        ASSERT_OK(s->ops->collection_get(s, "people", &c, &err), &err);
        ASSERT_EQ_INT(c.id, id);
        s->ops->close(s);
    }
    if (!test_store_sqlite_only("user_version after reopening")) {
        ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), STORE_SQLITE_SCHEMA_VERSION);
    } else {
        ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT version FROM mien_schema"),
                      STORE_POSTGRES_SCHEMA_VERSION);
        ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM mien_schema"), 1);
    }
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM collections"), 1);
    test_store_remove(&ts);
    return 0;
}

TEST(store_uri_schemes)
{
    char dir[64], uri[160];
    store_db *s = (store_db *)&s;
    mien_error err;
    const keyring *k = test_keyring();
    /* PostgreSQL URIs go to the PostgreSQL store: nothing listens on port 1, so the connection
     * is refused (MIEN_ERR_IO), and the message does not echo the password. */
    ASSERT_STATUS(store_db_open("postgres://u:secret@127.0.0.1:1/x", k, &s, &err),
                  MIEN_ERR_IO, &err);
    ASSERT_TRUE(s == NULL);
    ASSERT_CONTAINS(err.message, "PostgreSQL");
    ASSERT_TRUE(strstr(err.message, "secret") == NULL);
    ASSERT_STATUS(store_db_open("postgresql://127.0.0.1:1/x", k, &s, &err), MIEN_ERR_IO,
                  &err);
    ASSERT_CONTAINS(err.message, "PostgreSQL");
    ASSERT_STATUS(store_db_open("mysql://db/x", k, &s, &err), MIEN_ERR_UNSUPPORTED, &err);
    ASSERT_CONTAINS(err.message, "mysql");
    ASSERT_STATUS(store_db_open("", k, &s, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(store_db_open("sqlite:", k, &s, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(store_db_open("/nonexistent-dir-mien/x.db", k, &s, &err), MIEN_ERR_IO,
                  &err);

    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(uri, sizeof(uri), "sqlite://%s/g.db", dir);
    ASSERT_OK(store_db_open(uri, test_keyring(), &s, &err), &err);
    s->ops->close(s);
    snprintf(uri, sizeof(uri), "%s/g.db", dir);
    ASSERT_EQ_INT(raw_int(uri, "PRAGMA application_id"), STORE_SQLITE_APPLICATION_ID);
    test_remove_dir(dir);
    return 0;
}

TEST(store_collections)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t a, b, sid, fid;
    uint8_t tpl[TEMPLATE_LEN];
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, test_keyring(), &s, &err), &err);

    ASSERT_OK(make_collection(s, "beta", MIEN_PROFILE_ACCURATE, &b, &err), &err);
    ASSERT_OK(make_collection(s, "alpha", MIEN_PROFILE_FAST, &a, &err), &err);
    ASSERT_TRUE(a != b && a > 0 && b > 0);
    ASSERT_STATUS(make_collection(s, "alpha", MIEN_PROFILE_ACCURATE, &fid, &err), MIEN_ERR_EXISTS,
                  &err);
    ASSERT_CONTAINS(err.message, "alpha");

    store_collection c;
    ASSERT_STATUS(s->ops->collection_get(s, "nope", &c, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "nope");
    ASSERT_OK(s->ops->collection_get(s, "beta", &c, &err), &err);
    ASSERT_EQ_INT(c.id, b);
    ASSERT_STR_EQ(c.name, "beta");
    ASSERT_EQ_INT(c.profile, MIEN_PROFILE_ACCURATE);
    ASSERT_STR_EQ(c.model_a, "mfn-test-1");
    ASSERT_STR_EQ(c.model_b, "arc-test-1");
    ASSERT_STR_EQ(c.description, "made by test_store.c");
    ASSERT_TRUE(c.created_at > 1600000000);
    ASSERT_EQ_INT(c.subjects, 0);
    ASSERT_EQ_INT(c.faces, 0);

    /* Counts: two subjects, three faces in alpha. */
    for (int i = 0; i < 3; i++) {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl)};
        make_template(tpl, (uint32_t)i);
        ASSERT_OK(enrol(s, a, i == 0 ? "ann" : "bob", &f, &fid, &err), &err);
    }
    ASSERT_OK(s->ops->collection_get(s, "alpha", &c, &err), &err);
    ASSERT_EQ_INT(c.subjects, 2);
    ASSERT_EQ_INT(c.faces, 3);
    ASSERT_STR_EQ(c.model_b, "");

    store_collection *list = NULL;
    size_t n = 0;
    ASSERT_OK(s->ops->collection_list(s, &list, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    ASSERT_STR_EQ(list[0].name, "alpha");
    ASSERT_EQ_INT(list[0].faces, 3);
    ASSERT_STR_EQ(list[1].name, "beta");
    free(list);

    ASSERT_OK(s->ops->collection_drop(s, b, &err), &err);
    ASSERT_STATUS(s->ops->collection_drop(s, b, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(s->ops->collection_drop(s, a, &err), &err);
    ASSERT_OK(s->ops->collection_list(s, &list, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    free(list);
    /* The cascade took subjects and faces; the dropped id takes no new subject. */
    ASSERT_STATUS(s->ops->subject_ensure(s, a, "ann", NULL, NULL, 0, &sid, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_EQ_INT(sid, 0);
    s->ops->close(s);
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT (SELECT count(*) FROM subjects) +"
                                            " (SELECT count(*) FROM faces)"),
                  0);
    test_store_remove(&ts);
    return 0;
}

TEST(store_subjects_faces)
{
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t a, b, ann, ann2, bob, other, fid;
    uint8_t tpl[TEMPLATE_LEN], d0[32], d1[32];
    static uint8_t crop[CHIP_LEN];
    bool found;
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(store_db_open(ts.uri, test_keyring(), &s, &err), &err);
    ASSERT_OK(make_collection(s, "a", MIEN_PROFILE_FAST, &a, &err), &err);
    ASSERT_OK(make_collection(s, "b", MIEN_PROFILE_FAST, &b, &err), &err);

    ASSERT_OK(s->ops->subject_ensure(s, a, "ann", "Ann A.", NULL, 0, &ann, &err), &err);
    ASSERT_OK(s->ops->subject_ensure(s, a, "ann", "ignored", NULL, 0, &ann2, &err), &err);
    ASSERT_EQ_INT(ann, ann2);
    ASSERT_OK(s->ops->subject_ensure(s, a, "bob", NULL, NULL, 0, &bob, &err), &err);
    ASSERT_TRUE(bob != ann);
    ASSERT_OK(s->ops->subject_ensure(s, b, "ann", NULL, NULL, 0, &other, &err), &err);
    ASSERT_TRUE(other != ann);
    ASSERT_STATUS(s->ops->subject_ensure(s, 9999, "ann", NULL, NULL, 0, &other, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(s->ops->subject_ensure(s, a, "", NULL, NULL, 0, &other, &err), MIEN_ERR_ARG,
                  &err);

    /* Two faces of ann (one with quality, digest and crop), one of bob. */
    mien_quality q = {.interocular_px = 61.5f, .sharpness = 120.0f, .yaw = 3.0f, .pitch = -2.0f,
                      .roll = 1.0f, .detector_score = 0.99f, .landmark_score = 0.98f,
                      .klass = MIEN_QUALITY_HIGH};
    make_digest(d0, 0);
    make_digest(d1, 1);
    fill_bytes(crop, sizeof(crop), 5);
    int64_t ids[3];
    for (uint32_t k = 0; k < 3; k++) {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl)};
        make_template(tpl, k);
        if (k == 0) {
            f.quality = &q;
            f.image_sha256 = d0;
            f.crop_rgb = crop;
            f.crop_len = sizeof(crop);
        }
        ASSERT_OK(seal_face_insert(s, a, k < 2 ? ann : bob, k < 2 ? "ann" : "bob", &f, &ids[k],
                                   &err), &err);
        ASSERT_TRUE(ids[k] > 0);
    }
    /* Refusals: subject of another collection, wrong crop size, no template. */
    {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl)};
        ASSERT_STATUS(seal_face_insert(s, b, ann, "ann", &f, &fid, &err), MIEN_ERR_NOT_FOUND, &err);
        f.crop_rgb = crop;
        f.crop_len = 100;
        ASSERT_STATUS(seal_face_insert(s, a, ann, "ann", &f, &fid, &err), MIEN_ERR_ARG, &err);
        f.crop_rgb = NULL;
        f.template_len = 0;
        ASSERT_STATUS(seal_face_insert(s, a, ann, "ann", &f, &fid, &err), MIEN_ERR_ARG, &err);
        ASSERT_EQ_INT(fid, 0);
    }
    /* A rolled-back transaction leaves nothing. */
    {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl),
                              .image_sha256 = d1};
        make_template(tpl, 99);
        ASSERT_OK(s->ops->begin(s, &err), &err);
        ASSERT_OK(s->ops->subject_ensure(s, a, "carl", NULL, NULL, 0, &other, &err), &err);
        ASSERT_OK(seal_face_insert(s, a, other, "carl", &f, &fid, &err), &err);
        s->ops->rollback(s);
        ASSERT_OK(s->ops->face_exists(s, a, "carl", d1, &found, &err), &err);
        ASSERT_TRUE(!found);
    }

    ASSERT_OK(s->ops->face_exists(s, a, "ann", d0, &found, &err), &err);
    ASSERT_TRUE(found);
    ASSERT_OK(s->ops->face_exists(s, a, "ann", d1, &found, &err), &err);
    ASSERT_TRUE(!found);
    ASSERT_OK(s->ops->face_exists(s, a, "bob", d0, &found, &err), &err);
    ASSERT_TRUE(!found);
    ASSERT_OK(s->ops->face_exists(s, b, "ann", d0, &found, &err), &err);
    ASSERT_TRUE(!found);

    static scan_log log;
    memset(&log, 0, sizeof(log));
    ASSERT_OK(seal_face_scan(s, a, log_row, &log, &err), &err);
    ASSERT_EQ_INT(log.n, 3);
    ASSERT_EQ_INT(log.bad, 0);
    for (size_t i = 0; i < log.n; i++) {
        ASSERT_EQ_INT(log.ids[i], ids[log.ks[i]]);
        ASSERT_STR_EQ(log.subjects[i], log.ks[i] < 2 ? "ann" : "bob");
    }
    memset(&log, 0, sizeof(log));
    log.stop_after = 1;
    ASSERT_STATUS(seal_face_scan(s, a, log_row, &log, &err), MIEN_ERR_INTERNAL, &err);
    memset(&log, 0, sizeof(log));
    ASSERT_OK(seal_face_scan(s, b, log_row, &log, &err), &err);
    ASSERT_EQ_INT(log.n, 0);

    store_subject *subjects = NULL;
    size_t n = 0;
    ASSERT_OK(s->ops->subject_list(s, a, &subjects, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    ASSERT_STR_EQ(subjects[0].external_id, "ann");
    ASSERT_STR_EQ(subjects[0].display_name, "Ann A.");
    ASSERT_EQ_INT(subjects[0].faces, 2);
    ASSERT_STR_EQ(subjects[1].external_id, "bob");
    ASSERT_STR_EQ(subjects[1].display_name, "");
    ASSERT_EQ_INT(subjects[1].faces, 1);
    free(subjects);
    s->ops->close(s);

    /* Quality and crop went to their columns. */
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT quality_class FROM faces"
                                            " WHERE image_sha256 IS NOT NULL"),
                  MIEN_QUALITY_HIGH);
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM faces"
                                            " WHERE quality_class IS NULL"),
                  2);
    /* Sealed at rest (base/keyring.h): the crop column holds ciphertext and its overhead. */
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT length(rgb) FROM crops"),
                  CHIP_LEN + KEYRING_SEAL_OVERHEAD);
    test_store_remove(&ts);
    return 0;
}

/* Inserts `faces` faces (templates k0.., crops on the first) of subject `id`. */
static mien_status enrol_many(store_db *s, int64_t coll, const char *id, uint32_t k0,
                              int faces, const uint8_t *crop, mien_error *err)
{
    uint8_t tpl[TEMPLATE_LEN], d[32];
    int64_t fid;
    for (int i = 0; i < faces; i++) {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl),
                              .image_sha256 = d};
        make_template(tpl, k0 + (uint32_t)i);
        make_digest(d, k0 + (uint32_t)i);
        if (i == 0 && crop != NULL) {
            f.crop_rgb = crop;
            f.crop_len = CHIP_LEN;
        }
        mien_status st = enrol(s, coll, id, &f, &fid, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    return MIEN_OK;
}

TEST(store_erase_leaves_no_bytes)
{
    static const char *const VICTIMS[2] = {"erase-me-4f2a9c", "erase-me-too-77b1e0"};
    char name[64];
    test_store ts;
    store_db *s = NULL;
    mien_error err;
    int64_t coll, faces, crops;
    static uint8_t crop[CHIP_LEN];
    uint8_t tpl[TEMPLATE_LEN], d[32];
    ASSERT_TRUE(test_store_make(&ts) == 0);
    const char *path = ts.path;
    /* PostgreSQL keeps dead row versions until VACUUM, and copies in its WAL: erasure there
     * removes the rows, not the bytes (docs/deploy.md, "Erasure"). */
    bool files = !test_store_sqlite_only("byte greps of the database files");
    ASSERT_OK(store_db_open(ts.uri, test_keyring(), &s, &err), &err);
    ASSERT_OK(make_collection(s, "c", MIEN_PROFILE_FAST, &coll, &err), &err);

    /* 300 other subjects around the victims, so that their rows and index entries sit in the
     * middle of multi-page b-trees. Victim v has faces 100000*(v+1) .. +2, a crop on the first. */
    fill_bytes(crop, sizeof(crop), 4242);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "%s-keep-%04d", i % 2 ? "erase-me" : "stay", i);
        const uint8_t *c = i % 50 == 0 ? crop : NULL;
        ASSERT_OK(enrol_many(s, coll, name, (uint32_t)i, 1, c, &err), &err);
        if (i == 150 || i == 151) {
            int v = i - 150;
            ASSERT_OK(enrol_many(s, coll, VICTIMS[v], 100000u * (uint32_t)(v + 1), 3, crop, &err),
                      &err);
        }
    }
    /* Positive control: the subject id and the image digest are in the files now. The
     * template is not, even before erasure: templates are sealed at rest. */
    make_template(tpl, 100000u);
    make_digest(d, 100000u);
    if (files) {
        ASSERT_TRUE(!db_files_have(path, tpl, sizeof(tpl), "template (sealed at rest)"));
        ASSERT_TRUE(!db_files_have(path, tpl + 400, 24, "template piece (sealed at rest)"));
        ASSERT_TRUE(db_files_have(path, d, sizeof(d), "image digest (control)"));
        ASSERT_TRUE(db_files_have(path, VICTIMS[0], strlen(VICTIMS[0]), "subject id (control)"));
    }

    /* Victim 0 erased on its own, victim 1 inside the caller's transaction. */
    ASSERT_OK(s->ops->subject_erase(s, coll, VICTIMS[0], &faces, &crops, &err), &err);
    ASSERT_EQ_INT(faces, 3);
    ASSERT_EQ_INT(crops, 1);
    ASSERT_OK(s->ops->begin(s, &err), &err);
    ASSERT_OK(s->ops->subject_erase(s, coll, VICTIMS[1], &faces, &crops, &err), &err);
    ASSERT_OK(s->ops->commit(s, &err), &err);
    ASSERT_EQ_INT(faces, 3);
    ASSERT_STATUS(s->ops->subject_erase(s, coll, VICTIMS[0], &faces, &crops, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_EQ_INT(faces, 0);

    /* The raw bytes, with the store still open and again after close. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t v = 0; files && v < 2; v++) {
            ASSERT_TRUE(!db_files_have(path, VICTIMS[v], strlen(VICTIMS[v]), VICTIMS[v]));
            for (uint32_t k = 0; k < 3; k++) {
                make_template(tpl, 100000u * (v + 1) + k);
                make_digest(d, 100000u * (v + 1) + k);
                /* The whole template, and a 24-byte piece of it (a partial remnant). */
                ASSERT_TRUE(!db_files_have(path, tpl, sizeof(tpl), "template"));
                ASSERT_TRUE(!db_files_have(path, tpl + 400, 24, "template piece"));
                ASSERT_TRUE(!db_files_have(path, d, sizeof(d), "image digest"));
            }
        }
        if (pass == 0) {
            /* Crops are shared with kept subjects here, so only the counts are checked. */
            static scan_log log;
            memset(&log, 0, sizeof(log));
            ASSERT_OK(seal_face_scan(s, coll, log_row, &log, &err), &err);
            ASSERT_EQ_INT(log.n, 300);
            ASSERT_EQ_INT(log.bad, 0);
            s->ops->close(s);
        }
    }
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM crops"), 6);
    ASSERT_EQ_INT(test_store_query_int(&ts, "SELECT count(*) FROM subjects"
                                            " WHERE external_id LIKE 'erase-me-%'"),
                  150);
    test_store_remove(&ts);
    return 0;
}

/* Writes `n` bytes of `data` at `offset` of `path` (or truncates there when data is NULL). */
static int patch_file(const char *path, long offset, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        return -1;
    }
    int rc = data == NULL ? ftruncate(fd, offset)
                          : (pwrite(fd, data, n, offset) == (ssize_t)n ? 0 : -1);
    close(fd);
    return rc;
}

/* A closed store with 120 faces at `path`. */
static int make_filled(const char *path)
{
    store_db *s = NULL;
    int64_t coll;
    mien_error err;
    if (store_db_open(path, test_keyring(), &s, &err) != MIEN_OK) {
        return -1;
    }
    int rc = make_collection(s, "c", MIEN_PROFILE_FAST, &coll, &err) == MIEN_OK &&
                     enrol_many(s, coll, "someone", 0, 120, NULL, &err) == MIEN_OK
                 ? 0
                 : -1;
    s->ops->close(s);
    return rc;
}

TEST(store_corrupt_file)
{
    char dir[64], path[128];
    store_db *s = (store_db *)&s;
    mien_error err;
    uint8_t junk[16384];
    struct stat sb;
    if (test_store_sqlite_only("damaged SQLite files (PostgreSQL: store_pg_identity)")) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);

    /* Garbage from the first byte; the file is left as it was. */
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    fill_bytes(junk, sizeof(junk), 3);
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_INT(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    fclose(f);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_TRUE(s == NULL);
    ASSERT_CONTAINS(err.message, "database is corrupt");
    ASSERT_TRUE(file_has(path, junk, sizeof(junk)));

    /* A real store cut in the middle. */
    snprintf(path, sizeof(path), "%s/cut.db", dir);
    ASSERT_TRUE(make_filled(path) == 0);
    ASSERT_TRUE(stat(path, &sb) == 0 && sb.st_size > 16 * 4096);
    ASSERT_TRUE(patch_file(path, (long)(sb.st_size / 2), NULL, 0) == 0);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "database is corrupt");

    /* A real store with one page in the middle overwritten: only quick_check sees it. */
    snprintf(path, sizeof(path), "%s/page.db", dir);
    ASSERT_TRUE(make_filled(path) == 0);
    ASSERT_TRUE(stat(path, &sb) == 0);
    ASSERT_TRUE(patch_file(path, (long)(sb.st_size / 4096 / 2) * 4096, junk, 4096) == 0);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "database is corrupt");
    test_remove_dir(dir);
    return 0;
}

TEST(store_foreign_database)
{
    char dir[64], path[128];
    store_db *s = (store_db *)&s;
    mien_error err;
    if (test_store_sqlite_only("foreign SQLite files (PostgreSQL: store_pg_identity)")) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);

    /* Somebody else's tables, no application_id: refused and left in rollback-journal mode. */
    snprintf(path, sizeof(path), "%s/other.db", dir);
    ASSERT_EQ_INT(raw_exec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (42)"), SQLITE_OK);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_TRUE(s == NULL);
    ASSERT_CONTAINS(err.message, "not a mien store");
    ASSERT_EQ_INT(raw_int(path, "SELECT journal_mode = 'delete' FROM pragma_journal_mode"), 1);
    ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);

    /* Another application's id on an empty database. */
    snprintf(path, sizeof(path), "%s/app.db", dir);
    ASSERT_EQ_INT(raw_exec(path, "PRAGMA application_id = 305419896"), SQLITE_OK);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "0x12345678");

    /* Our file, from a newer mien. */
    snprintf(path, sizeof(path), "%s/new.db", dir);
    ASSERT_OK(store_db_open(path, test_keyring(), &s, &err), &err);
    s->ops->close(s);
    ASSERT_EQ_INT(raw_exec(path, "PRAGMA user_version = 99"), SQLITE_OK);
    ASSERT_STATUS(store_db_open(path, test_keyring(), &s, &err), MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "newer");
    ASSERT_EQ_INT(raw_int(path, "PRAGMA user_version"), 99);
    test_remove_dir(dir);
    return 0;
}

TEST(store_disk_full)
{
    char dir[64], path[128], name[32], check[128];
    store_db *s = NULL;
    mien_error err;
    int64_t coll, applied, fid;
    static uint8_t crop[CHIP_LEN];
    uint8_t tpl[TEMPLATE_LEN], d[32];
    bool found;
    if (test_store_sqlite_only("a full disk (SQLite's max_page_count; PostgreSQL's disk_full, "
                               "SQLSTATE 53100, maps to the same message)")) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(path, sizeof(path), "%s/g.db", dir);
    ASSERT_OK(store_db_open(path, test_keyring(), &s, &err), &err);
    ASSERT_OK(make_collection(s, "c", MIEN_PROFILE_FAST, &coll, &err), &err);
    ASSERT_OK(enrol_many(s, coll, "first", 0, 5, NULL, &err), &err);
    ASSERT_OK(store_sqlite_set_max_pages(s, 1, &applied, &err), &err);
    ASSERT_OK(store_sqlite_set_max_pages(s, applied + 40, &applied, &err), &err);

    /* Each enrolment: a new subject and a face with a crop (~10 pages). */
    fill_bytes(crop, sizeof(crop), 9);
    int ok = 0;
    mien_status st = MIEN_OK;
    for (uint32_t k = 100; k < 200 && st == MIEN_OK; k++) {
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl),
                              .image_sha256 = d, .crop_rgb = crop, .crop_len = sizeof(crop)};
        make_template(tpl, k);
        make_digest(d, k);
        snprintf(name, sizeof(name), "full-%u", k);
        st = enrol(s, coll, name, &f, &fid, &err);
        ok += st == MIEN_OK;
    }
    ASSERT_STATUS(st, MIEN_ERR_STORE, &err);
    ASSERT_CONTAINS(err.message, "disk full");
    ASSERT_TRUE(ok >= 1 && ok < 100);

    /* Nothing half-written: the failed enrolment's subject and face are absent. */
    snprintf(name, sizeof(name), "full-%u", 100u + (unsigned)ok);
    make_digest(d, 100u + (uint32_t)ok);
    ASSERT_OK(s->ops->face_exists(s, coll, name, d, &found, &err), &err);
    ASSERT_TRUE(!found);
    store_collection c;
    ASSERT_OK(s->ops->collection_get(s, "c", &c, &err), &err);
    ASSERT_EQ_INT(c.subjects, 1 + ok);
    ASSERT_EQ_INT(c.faces, 5 + ok);
    ASSERT_OK(store_sqlite_integrity(s, check, sizeof(check), &err), &err);
    ASSERT_STR_EQ(check, "ok");
    s->ops->close(s);

    /* The cap was per connection: reopened, the store takes the face. */
    ASSERT_OK(store_db_open(path, test_keyring(), &s, &err), &err);
    ASSERT_OK(enrol_many(s, coll, name, 100u + (uint32_t)ok, 1, crop, &err), &err);
    ASSERT_OK(s->ops->collection_get(s, "c", &c, &err), &err);
    ASSERT_EQ_INT(c.faces, 5 + ok + 1);
    s->ops->close(s);
    test_remove_dir(dir);
    return 0;
}

/* ---- crash safety ------------------------------------------------------------------------ */

#define CRASH_FACES 250
#define CRASH_ROUNDS 5

typedef struct crash_record {
    uint32_t k;
    int64_t face_id;
} crash_record;

/* The child: enrols faces 0..CRASH_FACES-1 (skipping those already there, as a resumed bulk
 * enrolment does), reporting each on `fd` once its commit has returned. Never returns. */
static void crash_child(const char *path, int fd)
{
    store_db *s;
    store_collection c;
    uint8_t tpl[TEMPLATE_LEN], d[32];
    char subject[32];
    if (store_db_open(path, test_keyring(), &s, NULL) != MIEN_OK) {
        _exit(2);
    }
    if (s->ops->collection_get(s, "crash", &c, NULL) != MIEN_OK) {
        _exit(3);
    }
    for (uint32_t k = 0; k < CRASH_FACES; k++) {
        bool found;
        store_face_new f = {.template_bytes = tpl, .template_len = sizeof(tpl),
                              .image_sha256 = d};
        crash_record r = {.k = k};
        snprintf(subject, sizeof(subject), "subject-%02u", k % 40);
        make_template(tpl, k);
        make_digest(d, k);
        if (s->ops->face_exists(s, c.id, subject, d, &found, NULL) != MIEN_OK) {
            _exit(4);
        }
        if (found) {
            continue;
        }
        if (enrol(s, c.id, subject, &f, &r.face_id, NULL) != MIEN_OK) {
            _exit(5);
        }
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
            _exit(6);
        }
    }
    s->ops->close(s);
    _exit(0);
}

/* Starts crash_child; *fd receives the read end of its pipe. */
static pid_t crash_start(const char *path, int *fd)
{
    int p[2];
    if (pipe(p) != 0) {
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        crash_child(path, p[1]);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

static int read_record(int fd, crash_record *r)
{
    size_t got = 0;
    while (got < sizeof(*r)) {
        ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

/* Opens the store and checks it: integrity ok, every reported face there with its bytes,
 * each k at most once; *count receives the number of faces. */
static int crash_verify(const char *path, const crash_record *reported, size_t n_reported,
                        size_t *count)
{
    store_db *s;
    store_collection c;
    mien_error err;
    char check[128];
    static scan_log log;
    static uint8_t seen[CRASH_FACES];
    memset(&log, 0, sizeof(log));
    memset(seen, 0, sizeof(seen));
    ASSERT_OK(store_db_open(path, test_keyring(), &s, &err), &err);
    if (!test_store_is_pg()) {
        ASSERT_OK(store_sqlite_integrity(s, check, sizeof(check), &err), &err);
        ASSERT_STR_EQ(check, "ok");
    }
    ASSERT_OK(s->ops->collection_get(s, "crash", &c, &err), &err);
    ASSERT_OK(seal_face_scan(s, c.id, log_row, &log, &err), &err);
    s->ops->close(s);
    ASSERT_EQ_INT(log.bad, 0);
    ASSERT_EQ_INT(c.faces, log.n);
    for (size_t i = 0; i < log.n; i++) {
        ASSERT_TRUE(log.ks[i] < CRASH_FACES);
        ASSERT_EQ_INT(seen[log.ks[i]], 0);
        seen[log.ks[i]] = 1;
    }
    for (size_t i = 0; i < n_reported; i++) {
        size_t j = 0;
        while (j < log.n && log.ids[j] != reported[i].face_id) {
            j++;
        }
        if (j == log.n || log.ks[j] != reported[i].k) {
            TEST_FAIL_("face %lld (k %u) reported committed but missing",
                       (long long)reported[i].face_id, reported[i].k);
        }
    }
    *count = log.n;
    return 0;
}

TEST(store_crash_safety)
{
    char path[640], name[16];
    test_store ts;
    uint32_t seed = 20240611u; /* fixed: the kill points are the same on every run */
    static crash_record reported[CRASH_FACES];
    ASSERT_TRUE(test_store_make(&ts) == 0);
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        store_db *s;
        mien_error err;
        int64_t coll;
        int fd, status;
        size_t n = 0, count = 0;
        /* One store per round: DIR/crash-N.db, or database <test>_crash-N. */
        snprintf(name, sizeof(name), "crash-%d", round);
        ASSERT_TRUE(test_store_make_more(&ts, name, path, sizeof(path)) == 0);
        ASSERT_OK(store_db_open(path, test_keyring(), &s, &err), &err);
        ASSERT_OK(make_collection(s, "crash", MIEN_PROFILE_FAST, &coll, &err), &err);
        s->ops->close(s);

        /* Killed after 10..240 reported commits, plus 0..2 ms so the kill lands anywhere in
         * the next enrolment (its fsync included). */
        size_t kill_after = 10 + lcg_next(&seed) % 231;
        unsigned delay_us = lcg_next(&seed) % 2000;
        pid_t pid = crash_start(path, &fd);
        ASSERT_TRUE(pid > 0);
        while (n < kill_after && read_record(fd, &reported[n]) == 0) {
            n++;
        }
        usleep(delay_us);
        kill(pid, SIGKILL);
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        /* Records the child wrote before dying were committed too. */
        while (n < CRASH_FACES && read_record(fd, &reported[n]) == 0) {
            n++;
        }
        close(fd);
        ASSERT_EQ_INT(n >= kill_after, 1);
        if (crash_verify(path, reported, n, &count) != 0) {
            return 1;
        }
        ASSERT_TRUE(count >= n);
        size_t after_kill = count;
        printf("  round %d: killed after %zu reported commits (+%u us), %zu faces on disk\n",
               round, n, delay_us, count);

        /* The re-run resumes and completes the job. */
        pid = crash_start(path, &fd);
        ASSERT_TRUE(pid > 0);
        size_t m = 0;
        while (n + m < CRASH_FACES && read_record(fd, &reported[n + m]) == 0) {
            m++;
        }
        close(fd);
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (crash_verify(path, reported, n + m, &count) != 0) {
            return 1;
        }
        ASSERT_EQ_INT(count, CRASH_FACES);
        ASSERT_EQ_INT(m, CRASH_FACES - after_kill);
    }
    test_store_remove(&ts);
    return 0;
}

/* mien_store_options.must_exist: a SQLite store that is not there is NOT_FOUND, and the open
 * creates nothing (no database, no key file, no lock); one that is there opens. */
TEST(store_must_exist)
{
    char dir[64], uri[128], path[160];
    mien_store *s = NULL;
    mien_error err;
    mien_store_options o = {.must_exist = true};
    struct stat st;
    ASSERT_TRUE(test_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(uri, sizeof(uri), "sqlite:%s/none.db", dir);
    ASSERT_STATUS(mien_store_open_with(uri, &o, &s, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "no store at");
    ASSERT_TRUE(s == NULL);
    snprintf(path, sizeof(path), "%s/none.db", dir);
    ASSERT_TRUE(stat(path, &st) != 0);
    snprintf(path, sizeof(path), "%s/none.db.key", dir);
    ASSERT_TRUE(stat(path, &st) != 0);
    ASSERT_OK(mien_store_open(uri, &s, &err), &err); /* made by a command that writes */
    mien_store_close(s);
    ASSERT_OK(mien_store_open_with(uri, &o, &s, &err), &err);
    mien_store_close(s);
    test_remove_dir(dir);
    return 0;
}
