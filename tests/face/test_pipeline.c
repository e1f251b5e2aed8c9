/* test_pipeline.c — the face pipeline through the public API on the face-api sample photos


 * (test images shipped in a pinned npm package, MIT): detection, landmarks, quality,
 * templates, close-ups, pictures without faces, and misuse. */
#include <limits.h>

#include "test.h"

TEST(pipeline_detect_samples)
{
    test_fixture f;
    mien_error err;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    for (int k = 1; k <= 6; k++) {
        mien_image *img = test_load_sample(k);
        mien_face *faces = NULL;
        size_t n = 0;
        ASSERT_TRUE(img != NULL);
        ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
        printf("  sample%d.jpg: %dx%d, %zu faces\n", k, mien_image_width(img),
               mien_image_height(img), n);
        ASSERT_TRUE(n >= 2); /* every sample is a group photo */
        for (size_t i = 0; i < n; i++) {
            const mien_face *fc = &faces[i];
            float w = fc->box[2] - fc->box[0];
            ASSERT_TRUE(fc->score >= 0.5f && fc->score <= 1.0f);
            ASSERT_TRUE(i == 0 || fc->score <= faces[i - 1].score); /* best first */
            /* landmarks inside (a margin around) the box, eyes above the mouth */
            for (int j = 0; j < 5; j++) {
                ASSERT_TRUE(fc->landmarks[j][0] > fc->box[0] - 0.2f * w);
                ASSERT_TRUE(fc->landmarks[j][0] < fc->box[2] + 0.2f * w);
            }
            ASSERT_TRUE(fc->landmarks[0][0] < fc->landmarks[1][0]);
            ASSERT_TRUE(fc->landmarks[0][1] < fc->landmarks[3][1]);
            ASSERT_TRUE(fc->quality.interocular_px > 5.0f);
            ASSERT_TRUE(fc->quality.landmark_score >= 0.0f && fc->quality.landmark_score <= 1.0f);
            ASSERT_TRUE(fc->quality.klass <= MIEN_QUALITY_HIGH);
        }
        ASSERT_TRUE(mien_faces_prominent(faces, n, img) >= 0);
        mien_faces_free(faces);
        mien_image_free(img);
    }
    test_fixture_close(&f);
    return 0;
}

/* The same face embedded twice is identical; different people in one photo are far apart;
 * the same person's face in a slightly shifted crop stays close. */
TEST(pipeline_templates)
{
    test_fixture f;
    mien_error err;
    mien_image *img;
    mien_face *faces = NULL;
    size_t n = 0;
    mien_template *t[3] = {NULL, NULL, NULL}, *acc = NULL;
    float sim;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    img = test_load_sample(1);
    ASSERT_TRUE(img != NULL);
    ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
    ASSERT_TRUE(n >= 2);
    ASSERT_OK(mien_embed(f.session, img, &faces[0], MIEN_PROFILE_FAST, &t[0], &err), &err);
    ASSERT_OK(mien_embed(f.session, img, &faces[0], MIEN_PROFILE_FAST, &t[1], &err), &err);
    ASSERT_OK(mien_embed(f.session, img, &faces[1], MIEN_PROFILE_FAST, &t[2], &err), &err);
    ASSERT_OK(mien_template_compare(t[0], t[1], &sim, &err), &err);
    ASSERT_NEAR(sim, 1.0, 1e-5);
    ASSERT_OK(mien_template_compare(t[0], t[2], &sim, &err), &err);
    printf("  two people in sample1: similarity %.3f\n", sim);
    ASSERT_TRUE(sim < 0.3f);
    /* a template of another profile is refused, with the reason */
    ASSERT_OK(mien_embed(f.session, img, &faces[0], MIEN_PROFILE_ACCURATE, &acc, &err), &err);
    ASSERT_STATUS(mien_template_compare(t[0], acc, &sim, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "profiles");
    {
        const float *v;
        int dim;
        ASSERT_OK(mien_template_vector(acc, 1, &v, &dim), NULL);
        ASSERT_EQ_INT(dim, 512);
        ASSERT_STATUS(mien_template_vector(t[0], 1, &v, &dim), MIEN_ERR_NOT_FOUND, NULL);
    }
    mien_template_free(t[0]);
    ASSERT_STATUS(mien_embed(f.session, img, &faces[0], (mien_profile)7, &t[0], &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_TRUE(t[0] == NULL);
    mien_template_free(t[1]);
    mien_template_free(t[2]);
    mien_template_free(acc);
    mien_faces_free(faces);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}

/* A tight crop (the face fills the frame, as in an ID-photo upload) is still found, with
 * a box close to the one seen in the full photo. */
TEST(pipeline_close_up)
{
    test_fixture f;
    mien_error err;
    mien_image *img, *crop = NULL;
    mien_face *faces = NULL, *cf = NULL;
    size_t n = 0, cn = 0;
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    img = test_load_sample(1);
    ASSERT_TRUE(img != NULL);
    ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    for (size_t i = 0; i < n && i < 3; i++) {
        /* crop inside the face box (15 % off each side): the face fills and overflows the
         * frame, as in an ID-photo upload; UltraFace alone misses these (detect.c) */
        const float *b = faces[i].box;
        float mw = -0.15f * (b[2] - b[0]), mh = -0.15f * (b[3] - b[1]);
        int x0 = (int)(b[0] - mw), y0 = (int)(b[1] - mh), x1 = (int)(b[2] + mw), y1 = (int)(b[3] + mh);
        int W = mien_image_width(img), H = mien_image_height(img);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > W ? W : x1;
        y1 = y1 > H ? H : y1;
        ASSERT_OK(mien_image_from_rgb(mien_image_pixels(img) + ((size_t)y0 * W + x0) * 3,
                                      x1 - x0, y1 - y0, (size_t)W * 3, &crop, &err), &err);
        ASSERT_OK(mien_detect(f.session, crop, NULL, &cf, &cn, &err), &err);
        printf("  face %zu cropped to %dx%d: %zu found\n", i, x1 - x0, y1 - y0, cn);
        ASSERT_EQ_INT(cn, 1);
        {
            /* the crop's best face covers most of the crop */
            float w = cf[0].box[2] - cf[0].box[0], h = cf[0].box[3] - cf[0].box[1];
            ASSERT_TRUE(w > 0.6f * (float)(x1 - x0) && h > 0.6f * (float)(y1 - y0));
        }
        mien_faces_free(cf);
        mien_image_free(crop);
    }
    mien_faces_free(faces);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}

TEST(pipeline_no_face)
{
    test_fixture f;
    mien_error err;
    mien_image *img = NULL;
    mien_face *faces = (mien_face *)1;
    size_t n = 99;
    static uint8_t px[240 * 320 * 3];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    for (int i = 0; i < 240 * 320; i++) { /* a smooth gradient: no face */
        px[i * 3] = (uint8_t)(i % 320 * 255 / 319);
        px[i * 3 + 1] = (uint8_t)(i / 320);
        px[i * 3 + 2] = 128;
    }
    ASSERT_OK(mien_image_from_rgb(px, 320, 240, 320 * 3, &img, &err), &err);
    ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    ASSERT_TRUE(faces == NULL);
    ASSERT_EQ_INT(mien_faces_prominent(faces, n, img), -1);
    ASSERT_STATUS(mien_detect(f.session, NULL, NULL, &faces, &n, &err), MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_detect(NULL, img, NULL, &faces, &n, &err), MIEN_ERR_ARG, &err);
    mien_image_free(img);
    /* a 1×1 picture is valid and has no face */
    ASSERT_OK(mien_image_from_rgb(px, 1, 1, 3, &img, &err), &err);
    ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
    ASSERT_EQ_INT(n, 0);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}

/* Templates survive their byte form exactly; malformed bytes are refused. */
TEST(pipeline_template_bytes)
{
    test_fixture f;
    mien_error err;
    mien_image *img;
    mien_face *faces = NULL;
    size_t n = 0, len = 0;
    uint8_t buf[4096], chip[112 * 112 * 3];
    if (test_models_missing()) {
        return TEST_SKIP;
    }
    ASSERT_TRUE(test_fixture_open(&f) == 0);
    img = test_load_sample(2);
    ASSERT_TRUE(img != NULL);
    ASSERT_OK(mien_detect(f.session, img, NULL, &faces, &n, &err), &err);
    ASSERT_TRUE(n >= 1);
    ASSERT_OK(mien_face_chip(img, &faces[0], chip, &err), &err);
    for (int p = 0; p <= 1; p++) {
        mien_template *t = NULL, *back = NULL;
        float sim;
        ASSERT_OK(mien_embed(f.session, img, &faces[0], (mien_profile)p, &t, &err), &err);
        ASSERT_OK(mien_template_serialize(t, NULL, 0, &len), NULL);
        ASSERT_EQ_INT(len, 44 + (p ? 704 : 192) * 4);
        ASSERT_STATUS(mien_template_serialize(t, buf, len - 1, &len), MIEN_ERR_ARG, NULL);
        ASSERT_OK(mien_template_serialize(t, buf, sizeof(buf), &len), NULL);
        ASSERT_OK(mien_template_deserialize(buf, len, &back, &err), &err);
        ASSERT_OK(mien_template_compare(t, back, &sim, &err), &err);
        ASSERT_NEAR(sim, 1.0, 1e-6);
        ASSERT_STR_EQ(mien_template_model(back, 0), mien_engine_model_id(f.engine, 0));
        mien_template_free(back);
        ASSERT_STATUS(mien_template_deserialize(buf, len - 4, &back, &err), MIEN_ERR_ARG, &err);
        buf[0] = 'X';
        ASSERT_STATUS(mien_template_deserialize(buf, len, &back, &err), MIEN_ERR_ARG, &err);
        ASSERT_TRUE(back == NULL);
        mien_template_free(t);
    }
    mien_faces_free(faces);
    mien_image_free(img);
    test_fixture_close(&f);
    return 0;
}
