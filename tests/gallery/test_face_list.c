/* test_face_list.c — the faces of a collection one by one (src/gallery/face_list.c):
 * mien_face_list in ascending id with subjects, mien_face_template giving back the enrolled
 * template, refusals for unknown faces and collections, and the list after an erasure. Needs
 * the models (sample 1's three faces). Runs on the store of tests/store_target.h (SQLite, or
 * PostgreSQL in CTest's store_postgres). */
#include <stdint.h>

#include "store_target.h"
#include "test.h"

/* @test face_list.c mien_face_list, mien_face_template */
TEST(face_list_and_template)
{
    test_fixture f;
    mien_template *t[3] = {NULL, NULL, NULL}, *back = NULL;
    test_store ts;
    mien_store *s = NULL;
    mien_face_record *fs = NULL, rec;
    size_t n = 0;
    int64_t ids[3];
    float sim = 0;
    mien_erasure e;
    mien_error err;
    static const char *const who[3] = {"alice", "alice", "bob"};
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_EQ_INT(test_fixture_open(&f), 0);
    ASSERT_EQ_INT(test_sample_templates(&f, 1, MIEN_PROFILE_FAST, 3, t, NULL), 3);
    ASSERT_TRUE(test_store_make(&ts) == 0);
    ASSERT_OK(test_open_store(ts.uri, &s, &err), &err);
    ASSERT_OK(mien_collection_create(s, "people", MIEN_PROFILE_FAST, f.engine, NULL,
                                     &TEST_POLICY, &TEST_CTX, &err), &err);
    ASSERT_OK(mien_face_list(s, "people", &fs, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    mien_free(fs);
    for (int k = 0; k < 3; k++) {
        mien_enrollment en = {.subject = who[k], .template_ = t[k]};
        ASSERT_OK(mien_enroll(s, "people", &en, &TEST_CTX, &ids[k], &err), &err);
    }
    ASSERT_OK(mien_face_list(s, "people", &fs, &n, &err), &err);
    ASSERT_EQ_INT(n, 3);
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ_INT(fs[k].face_id, ids[k]);
        ASSERT_STR_EQ(fs[k].subject, who[k]);
    }
    ASSERT_TRUE(fs[0].face_id < fs[1].face_id && fs[1].face_id < fs[2].face_id);
    mien_free(fs);
    ASSERT_OK(mien_face_template(s, "people", ids[2], &rec, &back, &err), &err);
    ASSERT_STR_EQ(rec.subject, "bob");
    ASSERT_EQ_INT(rec.face_id, ids[2]);
    ASSERT_OK(mien_template_compare(back, t[2], &sim, &err), &err);
    ASSERT_NEAR(sim, 1.0, 1e-5);
    mien_template_free(back);
    back = NULL;
    ASSERT_STATUS(mien_face_template(s, "people", ids[2] + 100, &rec, &back, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_TRUE(back == NULL);
    ASSERT_STR_EQ(rec.subject, "");
    ASSERT_STATUS(mien_face_list(s, "nobody", &fs, &n, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_TRUE(fs == NULL && n == 0);
    ASSERT_STATUS(mien_face_template(s, "nobody", ids[0], NULL, &back, &err), MIEN_ERR_NOT_FOUND,
                  &err);
    ASSERT_STATUS(mien_face_list(NULL, "people", &fs, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_OK(mien_erase_subject(s, "people", "alice", &TEST_CTX, &e, &err), &err);
    ASSERT_OK(mien_face_list(s, "people", &fs, &n, &err), &err);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STR_EQ(fs[0].subject, "bob");
    mien_free(fs);
    mien_store_close(s);
    test_store_remove(&ts);
    for (int k = 0; k < 3; k++) {
        mien_template_free(t[k]);
    }
    test_fixture_close(&f);
    return 0;
}
