/* test_gallery.c — galleries through the public API (src/gallery/gallery.c): collections,
 * enrolment, 1:N search, erasure, bad input, and "index and store agree" (a reopened store
 * answers exactly as the handle that enrolled). Faces come from the face-api sample photos;
 * every test works on its own store and removes it: an SQLite file in a mkdtemp() folder under
 * /tmp, or a fresh PostgreSQL database with $MIEN_TEST_STORE=postgres://...
 * (tests/store_target.h; CTest's store_postgres). */
#include <stdint.h>
#include <unistd.h>

#include "store_target.h"
#include "test.h"

/* The store a test works on (store_target.h): ts.uri for mien_store_open. */
typedef test_store tmp_store;

static int tmp_store_make(tmp_store *t)
{
    return test_store_make(t);
}

static void tmp_store_remove(tmp_store *t)
{
    test_store_remove(t); /* the database, its -wal/-shm, key file and audit head */
}

static const char *const names[3] = {"alice", "bob", "carol"};

/* Enrols t[0..2] as alice, bob, carol in collection `coll`; digests made unique per face
 * (the sample's digest with the last byte set to the face number). */
static mien_status enrol_three(mien_store *s, const char *coll, mien_template **t,
                               const uint8_t sha[32], mien_error *err)
{
    for (int i = 0; i < 3; i++) {
        uint8_t d[32];
        mien_enrollment e;
        mien_status st;
        memcpy(d, sha, 32);
        d[31] = (uint8_t)i;
        memset(&e, 0, sizeof(e));
        e.subject = names[i];
        e.template_ = t[i];
        e.image_sha256 = d;
        st = mien_enroll(s, coll, &e, &TEST_CTX, NULL, err);
        if (st != MIEN_OK) {
            return st;
        }
    }
    return MIEN_OK;
}

TEST(gallery_sha256)
{
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t out[32];
    ASSERT_OK(mien_sha256("abc", 3, out), NULL); /* FIPS 180-4 example B.1 */
    ASSERT_TRUE(memcmp(out, abc, 32) == 0);
    ASSERT_OK(mien_sha256(NULL, 0, out), NULL);
    ASSERT_STATUS(mien_sha256(NULL, 3, out), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_sha256("abc", 3, NULL), MIEN_ERR_ARG, NULL);
    return 0;
}

/* Enrol three faces of sample1 as three subjects; each face finds its own subject at rank 1
 * with similarity ~1 and a tiny FMR; a face of another photo gets only candidates within the
 * FMR asked for; listing and counts follow. */
TEST(gallery_enrol_search)
{
    test_fixture f;
    tmp_store ts;
    mien_store *s = NULL;
    mien_template *t[3] = {NULL, NULL, NULL}, *other[4] = {NULL, NULL, NULL, NULL};
    uint8_t sha[32];
    mien_error err;
    mien_collection_info info, *cs = NULL;
    mien_subject_info *subs = NULL;
    mien_candidate *c = NULL;
    mien_search_options so = mien_search_options_default();
    size_t n = 0, n_other;
    int64_t fid = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(tmp_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    n_other = test_sample_templates(&f, 2, MIEN_PROFILE_FAST, 4, other, NULL);
    ASSERT_TRUE(n_other >= 1);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "people", MIEN_PROFILE_FAST, f.engine, "test", &TEST_POLICY, &TEST_CTX, &err),
              &err);
    ASSERT_OK(mien_collection_get(s, "people", &info, &err), &err);
    ASSERT_STR_EQ(info.name, "people");
    ASSERT_EQ_INT(info.profile, MIEN_PROFILE_FAST);
    ASSERT_STR_EQ(info.model_a, mien_engine_model_id(f.engine, 0));
    ASSERT_STR_EQ(info.model_b, "");
    ASSERT_STR_EQ(info.description, "test");
    ASSERT_EQ_INT(info.subjects, 0);
    ASSERT_OK(enrol_three(s, "people", t, sha, &err), &err);
    ASSERT_OK(mien_collection_get(s, "people", &info, &err), &err);
    ASSERT_EQ_INT(info.subjects, 3);
    ASSERT_EQ_INT(info.faces, 3);
    ASSERT_OK(mien_collection_list(s, &cs, &n, &err), &err);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STR_EQ(cs[0].name, "people");
    mien_free(cs);
    ASSERT_OK(mien_subject_list(s, "people", &TEST_CTX, &subs, &n, &err), &err);
    ASSERT_EQ_INT(n, 3);
    for (size_t k = 0; k < n; k++) {
        ASSERT_EQ_INT(subs[k].faces, 1);
    }
    mien_free(subs);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(test_search(s, "people", t[i], NULL, &c, &n, &err), &err);
        ASSERT_TRUE(n >= 1);
        ASSERT_STR_EQ(c[0].subject, names[i]);
        ASSERT_NEAR(c[0].similarity, 1.0, 1e-4);
        ASSERT_TRUE(c[0].fmr <= 1e-5);
        ASSERT_TRUE(c[0].face_id > 0);
        for (size_t k = 0; k < n; k++) {
            ASSERT_TRUE(c[k].fmr <= 1e-3); /* the default max_fmr */
        }
        mien_free(c);
    }
    /* Faces of another photo: candidates, if any, only within the FMR asked for; with
     * max_fmr = 1 every subject comes back, ranked. */
    so.max_fmr = 1e-4;
    for (size_t i = 0; i < n_other; i++) {
        ASSERT_OK(test_search(s, "people", other[i], &so, &c, &n, &err), &err);
        for (size_t k = 0; k < n; k++) {
            ASSERT_TRUE(c[k].fmr <= 1e-4);
            ASSERT_TRUE(k == 0 || c[k].similarity <= c[k - 1].similarity);
        }
        mien_free(c);
    }
    so.max_fmr = 1.0;
    ASSERT_OK(test_search(s, "people", other[0], &so, &c, &n, &err), &err);
    ASSERT_EQ_INT(n, 3);
    ASSERT_TRUE(c[0].similarity >= c[1].similarity && c[1].similarity >= c[2].similarity);
    mien_free(c);
    so.top_k = 2;
    ASSERT_OK(test_search(s, "people", other[0], &so, &c, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    mien_free(c);
    /* exact and approximate (built on demand) agree at rank 1 */
    so = mien_search_options_default();
    so.mode = MIEN_SEARCH_EXACT;
    ASSERT_OK(test_search(s, "people", t[1], &so, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    mien_free(c);
    so.mode = MIEN_SEARCH_APPROXIMATE;
    ASSERT_OK(test_search(s, "people", t[1], &so, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    mien_free(c);
    /* a second face for an existing subject is allowed (another image) */
    {
        uint8_t d[32];
        mien_enrollment e = {.subject = "alice", .template_ = t[0], .image_sha256 = d};
        memset(d, 7, sizeof(d));
        ASSERT_OK(mien_enroll(s, "people", &e, &TEST_CTX, &fid, &err), &err);
        ASSERT_TRUE(fid > 0);
        ASSERT_OK(mien_collection_get(s, "people", &info, &err), &err);
        ASSERT_EQ_INT(info.subjects, 3);
        ASSERT_EQ_INT(info.faces, 4);
    }
    mien_store_close(s);
    for (size_t i = 0; i < 3; i++) {
        mien_template_free(t[i]);
    }
    for (size_t i = 0; i < n_other; i++) {
        mien_template_free(other[i]);
    }
    tmp_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}

/* Erasure: the subject leaves search and listing at once (index in step), a second erasure
 * is NOT_FOUND, and enrolment after the index was loaded is searchable at once. */
TEST(gallery_erase)
{
    test_fixture f;
    tmp_store ts;
    mien_store *s = NULL;
    mien_template *t[3] = {NULL, NULL, NULL};
    uint8_t sha[32];
    mien_error err;
    mien_erasure er;
    mien_subject_info *subs = NULL;
    mien_candidate *c = NULL;
    mien_search_options so = mien_search_options_default();
    size_t n = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(tmp_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "c", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err), &err);
    /* enrol alice, load the index by a search, then enrol the others: found at once */
    {
        mien_enrollment e = {.subject = "alice", .template_ = t[0]};
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, NULL, &err), &err);
        ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err);
        mien_free(c);
        e.subject = "bob";
        e.template_ = t[1];
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, NULL, &err), &err);
        e.subject = "carol";
        e.template_ = t[2];
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, NULL, &err), &err);
    }
    ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    mien_free(c);
    ASSERT_OK(mien_erase_subject(s, "c", "bob", &TEST_CTX, &er, &err), &err);
    ASSERT_EQ_INT(er.faces_deleted, 1);
    ASSERT_EQ_INT(er.crops_deleted, 0);
    so.max_fmr = 1.0;
    ASSERT_OK(test_search(s, "c", t[1], &so, &c, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    for (size_t k = 0; k < n; k++) {
        ASSERT_TRUE(strcmp(c[k].subject, "bob") != 0);
    }
    mien_free(c);
    ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    ASSERT_TRUE(c == NULL);
    ASSERT_OK(mien_subject_list(s, "c", &TEST_CTX, &subs, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    mien_free(subs);
    ASSERT_STATUS(mien_erase_subject(s, "c", "bob", &TEST_CTX, &er, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "bob");
    ASSERT_EQ_INT(er.faces_deleted, 0);
    /* drop: gone from the store and the cache */
    ASSERT_OK(mien_collection_drop(s, "c", &TEST_CTX, &err), &err);
    ASSERT_STATUS(test_search(s, "c", t[0], NULL, &c, &n, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(mien_collection_create(s, "c", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err), &err);
    ASSERT_OK(test_search(s, "c", t[0], NULL, &c, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    mien_store_close(s);
    for (size_t i = 0; i < 3; i++) {
        mien_template_free(t[i]);
    }
    tmp_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}

/* Bad input: clear errors, nothing half-written. */
TEST(gallery_bad_input)
{
    test_fixture f;
    tmp_store ts;
    mien_store *s = NULL;
    mien_template *t[3] = {NULL, NULL, NULL}, *acc = NULL, *foreign = NULL;
    uint8_t sha[32];
    mien_error err;
    mien_collection_info info;
    mien_candidate *c = NULL;
    mien_subject_info *subs = NULL;
    mien_search_options so = mien_search_options_default();
    size_t n = 7;
    int done = -1;
    char long_id[200];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(tmp_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_ACCURATE, 1, &acc, NULL), 1);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "fast1", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err), &err);
    /* duplicate collection, bad names, bad profile */
    ASSERT_STATUS(mien_collection_create(s, "fast1", MIEN_PROFILE_ACCURATE, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err),
                  MIEN_ERR_EXISTS, &err);
    ASSERT_CONTAINS(err.message, "fast1");
    ASSERT_STATUS(mien_collection_create(s, "no spaces", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_collection_create(s, "", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_collection_create(s, "x", (mien_profile)7, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_collection_create(s, "x", MIEN_PROFILE_FAST, NULL, NULL, &TEST_POLICY, &TEST_CTX, &err),
                  MIEN_ERR_ARG, &err);
    /* unknown collection, everywhere */
    {
        mien_enrollment e = {.subject = "a", .template_ = t[0]};
        ASSERT_STATUS(mien_enroll(s, "nope", &e, &TEST_CTX, NULL, &err), MIEN_ERR_NOT_FOUND, &err);
        ASSERT_CONTAINS(err.message, "nope");
    }
    ASSERT_STATUS(mien_collection_get(s, "nope", &info, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_collection_drop(s, "nope", &TEST_CTX, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(test_search(s, "nope", t[0], NULL, &c, &n, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_TRUE(c == NULL && n == 0);
    ASSERT_STATUS(mien_subject_list(s, "nope", &TEST_CTX, &subs, &n, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_enrolled(s, "nope", "a", sha, &done, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_EQ_INT(done, 0);
    /* profile mismatch, both ways round */
    {
        mien_enrollment e = {.subject = "a", .template_ = acc};
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        ASSERT_CONTAINS(err.message, "profile mismatch: collection fast1 is fast, template is "
                                     "accurate");
        ASSERT_STATUS(test_search(s, "fast1", acc, NULL, &c, &n, &err), MIEN_ERR_ARG, &err);
        ASSERT_CONTAINS(err.message, "profile mismatch");
    }
    /* a template of other models (its model id rewritten in the bytes) */
    {
        uint8_t bytes[4096];
        size_t len = 0;
        mien_enrollment e = {.subject = "a"};
        ASSERT_OK(mien_template_serialize(t[0], bytes, sizeof(bytes), &len), NULL);
        bytes[8] ^= 0x01; /* the first byte of model A's id (pipeline.c's layout) */
        ASSERT_OK(mien_template_deserialize(bytes, len, &foreign, &err), &err);
        e.template_ = foreign;
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        ASSERT_CONTAINS(err.message, "model mismatch");
        ASSERT_CONTAINS(err.message, mien_engine_model_id(f.engine, 0));
        ASSERT_CONTAINS(err.message, mien_template_model(foreign, 0));
    }
    /* subject ids */
    memset(long_id, 'x', sizeof(long_id));
    long_id[128] = '\0';
    {
        mien_enrollment e = {.subject = long_id, .template_ = t[0]};
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        e.subject = "";
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        e.subject = "tab\there";
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        e.subject = NULL;
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
        long_id[127] = '\0'; /* 127 bytes: the longest allowed */
        e.subject = long_id;
        ASSERT_OK(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), &err);
        ASSERT_OK(mien_erase_subject(s, "fast1", long_id, &TEST_CTX, NULL, &err), &err);
    }
    /* the same image twice for one subject */
    {
        mien_enrollment e = {.subject = "a", .template_ = t[0], .image_sha256 = sha};
        ASSERT_OK(mien_enrolled(s, "fast1", "a", sha, &done, &err), &err);
        ASSERT_EQ_INT(done, 0);
        ASSERT_OK(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), &err);
        ASSERT_OK(mien_enrolled(s, "fast1", "a", sha, &done, &err), &err);
        ASSERT_EQ_INT(done, 1);
        ASSERT_STATUS(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), MIEN_ERR_EXISTS, &err);
        ASSERT_CONTAINS(err.message, "already enrolled");
        /* ... is another subject's business, and without a digest no duplicate is known */
        e.subject = "b";
        ASSERT_OK(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), &err);
        e.image_sha256 = NULL;
        ASSERT_OK(mien_enroll(s, "fast1", &e, &TEST_CTX, NULL, &err), &err);
    }
    ASSERT_OK(mien_collection_get(s, "fast1", &info, &err), &err);
    ASSERT_EQ_INT(info.subjects, 2); /* nothing half-written by the refusals */
    ASSERT_EQ_INT(info.faces, 3);
    /* search options */
    so.top_k = -1;
    ASSERT_STATUS(test_search(s, "fast1", t[0], &so, &c, &n, &err), MIEN_ERR_ARG, &err);
    so = mien_search_options_default();
    so.max_fmr = 2.0;
    ASSERT_STATUS(test_search(s, "fast1", t[0], &so, &c, &n, &err), MIEN_ERR_ARG, &err);
    so = mien_search_options_default();
    so.mode = (mien_search_mode)9;
    ASSERT_STATUS(test_search(s, "fast1", t[0], &so, &c, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(test_search(NULL, "fast1", t[0], NULL, &c, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(test_search(s, "fast1", NULL, NULL, &c, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_erase_subject(s, "fast1", "", &TEST_CTX, NULL, &err), MIEN_ERR_ARG, &err);
    mien_store_close(s);
    mien_store_close(NULL);
    mien_free(NULL);
    /* a corrupt database file */
    if (!test_store_sqlite_only("a corrupt SQLite file")) {
        FILE *fp = fopen(ts.path, "r+b");
        ASSERT_TRUE(fp != NULL);
        for (int k = 0; k < 100; k++) {
            fputs("not a database ", fp);
        }
        fclose(fp);
        s = NULL;
        ASSERT_STATUS(test_open_store(ts.uri, &s, &err), MIEN_ERR_STORE, &err);
        ASSERT_TRUE(s == NULL);
    }
    for (size_t i = 0; i < 3; i++) {
        mien_template_free(t[i]);
    }
    mien_template_free(acc);
    mien_template_free(foreign);
    tmp_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}

/* Index and store agree: a reopened store (index rebuilt from the database) answers every
 * search exactly as the handle that enrolled and erased (index kept in step); the default
 * store comes from $MIEN_STORE. */
TEST(gallery_reopen)
{
    test_fixture f;
    tmp_store ts;
    mien_store *s = NULL;
    mien_template *t[3] = {NULL, NULL, NULL}, *other[4] = {NULL, NULL, NULL, NULL};
    mien_template *probes[7];
    uint8_t sha[32];
    mien_error err;
    mien_candidate *before[7], *after;
    size_t n_before[7], n = 0, n_other, n_probes = 0;
    mien_search_options so = mien_search_options_default();
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(tmp_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    n_other = test_sample_templates(&f, 2, MIEN_PROFILE_FAST, 4, other, NULL);
    for (size_t i = 0; i < 3; i++) {
        probes[n_probes++] = t[i];
    }
    for (size_t i = 0; i < n_other; i++) {
        probes[n_probes++] = other[i];
    }
    so.max_fmr = 1.0;
    ASSERT_TRUE(setenv("MIEN_STORE", ts.uri, 1) == 0);
    ASSERT_OK(test_open_store(NULL, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "c", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err), &err);
    ASSERT_OK(test_search(s, "c", t[0], &so, &after, &n, &err), &err); /* loads, empty */
    ASSERT_EQ_INT(n, 0);
    ASSERT_OK(enrol_three(s, "c", t, sha, &err), &err);
    if (n_other > 0) {
        mien_enrollment e = {.subject = "dave", .template_ = other[0]};
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, NULL, &err), &err);
    }
    ASSERT_OK(mien_erase_subject(s, "c", "carol", &TEST_CTX, NULL, &err), &err);
    for (size_t i = 0; i < n_probes; i++) {
        ASSERT_OK(test_search(s, "c", probes[i], &so, &before[i], &n_before[i], &err), &err);
    }
    mien_store_close(s);
    ASSERT_OK(test_open_store(NULL, &s, &err), &err);
    ASSERT_TRUE(unsetenv("MIEN_STORE") == 0);
    for (size_t i = 0; i < n_probes; i++) {
        ASSERT_OK(test_search(s, "c", probes[i], &so, &after, &n, &err), &err);
        ASSERT_EQ_INT(n, n_before[i]);
        for (size_t k = 0; k < n; k++) {
            ASSERT_STR_EQ(after[k].subject, before[i][k].subject);
            ASSERT_EQ_INT(after[k].face_id, before[i][k].face_id);
            ASSERT_NEAR(after[k].similarity, before[i][k].similarity, 1e-6);
            ASSERT_NEAR(after[k].fmr, before[i][k].fmr, 1e-12);
        }
        mien_free(after);
        mien_free(before[i]);
    }
    mien_store_close(s);
    for (size_t i = 0; i < 3; i++) {
        mien_template_free(t[i]);
    }
    for (size_t i = 0; i < n_other; i++) {
        mien_template_free(other[i]);
    }
    tmp_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}

/* A face moved to another subject (mien_face_move): re-sealed for it (a reopened store loads
 * it, a copy opens its crop), searched under its new subject by this handle and by another
 * that had the collection loaded; subjects made empty (mien_subject_create) and by a move;
 * a subject as the probe (mien_search_subject) never finds itself. */
TEST(gallery_face_move)
{
    test_fixture f;
    tmp_store ts, ts2;
    mien_store *s = NULL, *s2 = NULL, *copy = NULL;
    mien_template *t[3] = {NULL, NULL, NULL};
    uint8_t sha[32];
    mien_error err;
    mien_candidate *c = NULL;
    mien_search_result r;
    mien_search_options so = mien_search_options_default();
    mien_face_record rec;
    mien_template *back = NULL;
    mien_copy_report rep;
    size_t n = 0, chip = (size_t)mien_face_chip_side() * (size_t)mien_face_chip_side() * 3;
    int64_t face_a = 0, face_b = 0, left = -1;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_TRUE(tmp_store_make(&ts) == 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, sha), 3);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "c", MIEN_PROFILE_FAST, f.engine, NULL, &TEST_POLICY, &TEST_CTX, &err), &err);
    uint8_t *crop = malloc(chip);
    ASSERT_TRUE(crop != NULL);
    memset(crop, 77, chip);
    {
        mien_enrollment e = {.subject = "alice", .template_ = t[0]};
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, &face_a, &err), &err);
        e.subject = "loose/1";
        e.template_ = t[1];
        e.crop_rgb = crop;
        ASSERT_OK(mien_enroll(s, "c", &e, &TEST_CTX, &face_b, &err), &err);
    }
    ASSERT_OK(mien_subject_create(s, "c", "bob", NULL, &TEST_CTX, &err), &err);
    ASSERT_STATUS(mien_subject_create(s, "c", "bob", NULL, &TEST_CTX, &err), MIEN_ERR_EXISTS, &err);
    ASSERT_STATUS(mien_subject_create(s, "c", "", NULL, &TEST_CTX, &err), MIEN_ERR_ARG, &err);
    /* a second handle with the collection loaded, to follow the move through the audit log */
    ASSERT_OK(test_open_store(ts.uri, &s2, &err), &err);
    ASSERT_OK(test_search(s2, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "loose/1");
    mien_free(c);
    ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err); /* s loads it too */
    mien_free(c);
    /* bob has no face yet: nothing to search with */
    ASSERT_STATUS(mien_search_subject(s, "c", "bob", NULL, &TEST_CTX, &r, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_OK(mien_face_move(s, "c", face_b, "bob", &TEST_CTX, &left, &err), &err);
    ASSERT_EQ_INT(left, 0);
    ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    ASSERT_EQ_INT(c[0].face_id, face_b);
    mien_free(c);
    ASSERT_OK(test_search(s2, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    mien_free(c);
    ASSERT_OK(mien_face_template(s, "c", face_b, &rec, &back, &err), &err);
    ASSERT_STR_EQ(rec.subject, "bob");
    mien_template_free(back);
    /* to its own subject: nothing happens; to a face of no such id: not found */
    ASSERT_OK(mien_face_move(s, "c", face_b, "bob", &TEST_CTX, &left, &err), &err);
    ASSERT_EQ_INT(left, 1);
    ASSERT_STATUS(mien_face_move(s, "c", face_b + 1000, "bob", &TEST_CTX, NULL, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STATUS(mien_face_move(s, "nope", face_b, "bob", &TEST_CTX, NULL, &err), MIEN_ERR_NOT_FOUND, &err);
    /* a subject as the probe: bob's face finds alice (at any FMR), never bob */
    so.max_fmr = 1.0;
    ASSERT_OK(mien_search_subject(s, "c", "bob", &so, &TEST_CTX, &r, &err), &err);
    ASSERT_EQ_INT(r.count, 1);
    ASSERT_STR_EQ(r.candidates[0].subject, "alice");
    ASSERT_EQ_INT(r.candidates[0].face_id, face_a);
    ASSERT_TRUE(r.audit_seq > 0);
    mien_search_result_free(&r);
    /* a reopened handle loads bob's face: it opens only under bob */
    mien_store_close(s);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(test_search(s, "c", t[1], NULL, &c, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_STR_EQ(c[0].subject, "bob");
    mien_free(c);
    /* to a new subject: made, with the old one's consent and expiry */
    ASSERT_OK(mien_face_move(s, "c", face_b, "carol", &TEST_CTX, &left, &err), &err);
    ASSERT_EQ_INT(left, 0);
    {
        mien_subject_info *subs = NULL;
        ASSERT_OK(mien_subject_list(s, "c", &TEST_CTX, &subs, &n, &err), &err);
        ASSERT_EQ_INT(n, 4); /* alice, bob (empty), carol, loose/1 (empty) */
        ASSERT_STR_EQ(subs[2].subject, "carol");
        ASSERT_EQ_INT(subs[2].faces, 1);
        ASSERT_EQ_INT(subs[1].faces, 0);
        mien_free(subs);
    }
    /* a copy of the store opens every template and crop: the crop moved with its face */
    ASSERT_TRUE(tmp_store_make(&ts2) == 0);
    ASSERT_OK(test_open_store(ts2.uri, &copy, &err), &err);
    ASSERT_OK(mien_store_copy(s, copy, &TEST_CTX, &rep, &err), &err);
    ASSERT_EQ_INT(rep.faces, 2);
    ASSERT_EQ_INT(rep.crops, 1);
    mien_store_close(copy);
    tmp_store_remove(&ts2);
    {
        mien_audit_report ar;
        ASSERT_OK(mien_audit_verify(s, &ar, &err), &err);
        ASSERT_TRUE(ar.ok);
    }
    mien_store_close(s);
    mien_store_close(s2);
    free(crop);
    for (size_t i = 0; i < 3; i++) {
        mien_template_free(t[i]);
    }
    tmp_store_remove(&ts);
    test_fixture_close(&f);
    return 0;
}
