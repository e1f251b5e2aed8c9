/* test_embed_face.c — choosing a face (mien_faces_choose, mien_faces_by_area: the prominence
 * and largest-box rules on hand-made boxes) and detect → choose → embed in one call
 * (mien_embed_face) against the same steps written out, on the face-api sample photos; and
 * the one builder of model input tensors (face_input_tensor) on a hand-made picture. */
#include "face/catalog.h"
#include "test.h"

/* A face with box (x1, y1, x2, y2); nothing else matters to the rules. */
static mien_face box_face(float x1, float y1, float x2, float y2)
{
    mien_face f;
    memset(&f, 0, sizeof(f));
    f.box[0] = x1;
    f.box[1] = y1;
    f.box[2] = x2;
    f.box[3] = y2;
    return f;
}

TEST(faces_choose_rules)
{
    static uint8_t px[100 * 200 * 3];
    mien_image *img = NULL;
    mien_error err;
    size_t order[4];
    /* 200×100 picture: a big face in the corner, a smaller one at the centre, and a face as
     * big as the first (a tie for the largest) */
    mien_face faces[4] = {box_face(0, 0, 60, 60), box_face(85, 35, 115, 65),
                          box_face(10, 10, 20, 20), box_face(140, 40, 200, 100)};
    ASSERT_OK(mien_image_from_rgb(px, 200, 100, 200 * 3, &img, &err), &err);
    /* prominence: area minus twice the squared centre distance; the central face wins */
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, MIEN_FACE_PROMINENT), 1);
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, MIEN_FACE_PROMINENT),
                  mien_faces_prominent(faces, 4, img));
    /* the largest box, the first of equals */
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, MIEN_FACE_LARGEST), 0);
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, 2), 2);
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, 4), -1);  /* past the end */
    ASSERT_EQ_INT(mien_faces_choose(faces, 4, img, -3), -1); /* no such rule */
    ASSERT_EQ_INT(mien_faces_choose(NULL, 0, img, MIEN_FACE_PROMINENT), -1);
    ASSERT_EQ_INT(mien_faces_choose(faces, 0, img, 0), -1);
    mien_faces_by_area(faces, 4, order); /* largest first, ties in detection order */
    ASSERT_EQ_INT(order[0], 0);
    ASSERT_EQ_INT(order[1], 3);
    ASSERT_EQ_INT(order[2], 1);
    ASSERT_EQ_INT(order[3], 2);
    mien_image_free(img);
    return 0;
}

TEST(faces_chip_and_decode_options)
{
    mien_image_options o = mien_image_options_faces(), d = mien_image_options_default();
    ASSERT_EQ_INT(mien_face_chip_side(), 112); /* today's embedders: the ArcFace template */
    ASSERT_EQ_INT(o.min_side, MIEN_FACE_DECODE_MIN_SIDE);
    ASSERT_EQ_INT(o.max_bytes, d.max_bytes);
    ASSERT_EQ_INT(o.max_pixels, d.max_pixels);
    return 0;
}

/* mien_embed_face gives the template the written-out steps give, for each rule and index:
 * the face the rule chooses among those found, embedded by mien_embed. */
TEST(embed_face_matches_steps)
{
    const int choices[3] = {MIEN_FACE_PROMINENT, MIEN_FACE_LARGEST, 1};
    test_fixture f;
    mien_error err;
    mien_image *img;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    img = test_load_sample(2);
    ASSERT_TRUE(img != NULL);
    for (int k = 0; k < 3; k++) {
        mien_face_pick pick;
        mien_template *a = NULL, *b = NULL;
        float sim = 0;
        ASSERT_OK(mien_embed_face(f.session, img, choices[k], MIEN_PROFILE_FAST, &pick, &a, &err),
                  &err);
        ASSERT_TRUE(pick.count >= 2); /* a group photo */
        ASSERT_EQ_INT(pick.index, mien_faces_choose(pick.faces, pick.count, img, choices[k]));
        {   /* mien_face_find is its first half: the same faces and the same choice */
            mien_face_pick found;
            long embedded;
            mien_stage_times before, after;
            ASSERT_OK(mien_session_stage_times(f.session, &before), NULL);
            ASSERT_OK(mien_face_find(f.session, img, choices[k], &found, &err), &err);
            ASSERT_OK(mien_session_stage_times(f.session, &after), NULL);
            embedded = after.faces_embedded - before.faces_embedded;
            ASSERT_EQ_INT(embedded, 0); /* found, not embedded */
            ASSERT_EQ_INT(found.count, pick.count);
            ASSERT_EQ_INT(found.index, pick.index);
            ASSERT_NEAR(found.faces[found.index].box[0], pick.faces[pick.index].box[0], 1e-6);
            mien_faces_free(found.faces);
        }
        ASSERT_OK(mien_embed(f.session, img, &pick.faces[pick.index], MIEN_PROFILE_FAST, &b, &err),
                  &err);
        ASSERT_OK(mien_template_compare(a, b, &sim, &err), &err);
        ASSERT_NEAR(sim, 1.0, 1e-6);
        mien_template_free(a);
        mien_template_free(b);
        mien_faces_free(pick.faces);
    }
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}

/* No face, or no face N: MIEN_ERR_NOT_FOUND with the count, and no template. */
TEST(embed_face_not_found)
{
    test_fixture f;
    mien_error err;
    mien_face_pick pick;
    mien_template *t = (mien_template *)1;
    static uint8_t px[240 * 320 * 3];
    mien_image *img = NULL;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    ASSERT_OK(mien_image_from_rgb(px, 320, 240, 320 * 3, &img, &err), &err);
    ASSERT_STATUS(mien_embed_face(f.session, img, MIEN_FACE_PROMINENT, MIEN_PROFILE_FAST, &pick,
                                  &t, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_STR_EQ(err.message, "no face found");
    ASSERT_TRUE(t == NULL);
    ASSERT_EQ_INT(pick.count, 0);
    ASSERT_EQ_INT(pick.index, -1);
    ASSERT_TRUE(pick.faces == NULL);
    mien_image_free(img);
    img = test_load_sample(1);
    ASSERT_TRUE(img != NULL);
    ASSERT_STATUS(mien_embed_face(f.session, img, 999, MIEN_PROFILE_FAST, &pick, &t, &err),
                  MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "no face 999 (found ");
    ASSERT_TRUE(t == NULL && pick.count >= 2 && pick.index == -1 && pick.faces != NULL);
    mien_faces_free(pick.faces);
    ASSERT_STATUS(mien_face_find(f.session, img, 999, &pick, &err), MIEN_ERR_NOT_FOUND, &err);
    ASSERT_CONTAINS(err.message, "no face 999 (found ");
    ASSERT_TRUE(pick.count >= 2 && pick.index == -1 && pick.faces != NULL);
    mien_faces_free(pick.faces);
    ASSERT_STATUS(mien_face_find(f.session, img, 0, NULL, &err), MIEN_ERR_ARG, &err);
    /* pick may be NULL; out may not; a NULL session or image is refused */
    ASSERT_OK(mien_embed_face(f.session, img, MIEN_FACE_LARGEST, MIEN_PROFILE_FAST, NULL, &t,
                              &err), &err);
    mien_template_free(t);
    ASSERT_STATUS(mien_embed_face(f.session, img, 0, MIEN_PROFILE_FAST, NULL, NULL, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_embed_face(NULL, img, 0, MIEN_PROFILE_FAST, &pick, &t, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_embed_face(f.session, NULL, 0, MIEN_PROFILE_FAST, &pick, &t, &err),
                  MIEN_ERR_ARG, &err);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}

/* A 3×2 picture through each layout: values (x − mean)/std at the places each layout names,
 * with each model's own normalisation. */
TEST(face_input_tensor_layouts)
{
    uint8_t px[2 * 3 * 3];
    image_rgb img = {.w = 3, .h = 2, .data = px};
    float x[18];
    for (int i = 0; i < 18; i++) {
        px[i] = (uint8_t)(10 * i);
    }
    face_input_tensor(FACE_MODEL_EMBEDDER_A, &img, FACE_LAYOUT_HWC, x);
    for (int i = 0; i < 18; i++) {
        ASSERT_NEAR(x[i], (10.0 * i - 127.5) / 128.0, 1e-6);
    }
    face_input_tensor(FACE_MODEL_EMBEDDER_B, &img, FACE_LAYOUT_CHW, x);
    for (int y = 0; y < 2; y++) {
        for (int c = 0; c < 3; c++) {
            for (int k = 0; k < 3; k++) { /* pixel (k, y) channel c */
                ASSERT_NEAR(x[c * 6 + y * 3 + k], (10.0 * ((y * 3 + k) * 3 + c) - 127.0) / 128.0,
                            1e-6);
            }
        }
    }
    face_input_tensor(FACE_MODEL_ONET, &img, FACE_LAYOUT_WHC, x);
    for (int y = 0; y < 2; y++) {
        for (int k = 0; k < 3; k++) {
            for (int c = 0; c < 3; c++) { /* pixel (k, y) at tensor row k, column y */
                ASSERT_NEAR(x[(k * 2 + y) * 3 + c],
                            (10.0 * ((y * 3 + k) * 3 + c) - 127.5) / 128.0, 1e-6);
            }
        }
    }
    /* the chip the API reports is the embedders' input */
    ASSERT_EQ_INT(face_catalog()[FACE_MODEL_EMBEDDER_A].input.width, mien_face_chip_side());
    ASSERT_EQ_INT(face_catalog()[FACE_MODEL_EMBEDDER_B].input.width, mien_face_chip_side());
    return 0;
}
