/* test_draw.c — src/cli/draw.c, the annotated pictures of `mien detect --draw` (and of
 * identify): the picture written decodes back at the input's size, differs from the input
 * on the box's outline, its points and its label, and nowhere far from the face; the output
 * names of --draw DIR/. The command itself is run by tests/cli/test_cli.sh. */
#include "cli/cli.h"
#include "test.h"

enum { W = 200, H = 150, GREY = 128 };

static mien_image *grey(void)
{
    static uint8_t rgb[W * H * 3];
    mien_image *img = NULL;
    mien_error err;
    memset(rgb, GREY, sizeof(rgb));
    return mien_image_from_rgb(rgb, W, H, W * 3, &img, &err) == MIEN_OK ? img : NULL;
}

/* The colour of pixel (x, y) of img, as r<<16|g<<8|b. */
static long px(const mien_image *img, int x, int y)
{
    const uint8_t *p = mien_image_pixels(img) + ((size_t)y * W + (size_t)x) * 3;
    return (long)p[0] << 16 | (long)p[1] << 8 | p[2];
}

static const long G = (long)GREY << 16 | GREY << 8 | GREY;

/* One face, box (60,50)-(140,130), eyes at y 80, nose (100,95), mouth at y 112. */
static mien_face face(void)
{
    mien_face f = {.box = {60, 50, 140, 130}, .score = 0.99f,
                   .landmarks = {{85, 80}, {115, 80}, {100, 95}, {88, 112}, {112, 112}}};
    return f;
}

TEST(cli_draw_faces_marks_the_face)
{
    char dir[64], path[160];
    const char *labels[] = {"unknown"};
    mien_face f = face();
    mien_image *img = grey(), *back = NULL;
    mien_error err;
    ASSERT_TRUE(img != NULL);
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/a.png", dir);
    ASSERT_OK(cli_draw_faces(img, &f, 1, labels, path, &err), &err);
    ASSERT_OK(mien_image_load(path, NULL, &back, &err), &err);
    ASSERT_EQ_INT(mien_image_width(back), W);
    ASSERT_EQ_INT(mien_image_height(back), H);
    /* the outline, red for "unknown", on all four sides */
    ASSERT_EQ_INT(px(back, 60, 90), 235L << 16 | 60 << 8 | 40);
    ASSERT_TRUE(px(back, 139, 90) != G && px(back, 100, 50) != G && px(back, 100, 129) != G);
    /* the points */
    ASSERT_TRUE(px(back, 85, 80) != G && px(back, 100, 95) != G && px(back, 112, 112) != G);
    /* inside the box, off the points: untouched; and far from the face */
    ASSERT_EQ_INT(px(back, 75, 100), G);
    ASSERT_EQ_INT(px(back, 5, 145), G);
    ASSERT_EQ_INT(px(back, 195, 5), G);
    /* the label's band above the box */
    ASSERT_TRUE(px(back, 62, 45) != G);
    mien_image_free(back);
    /* the input is not drawn on */
    ASSERT_EQ_INT(px(img, 60, 90), G);

    snprintf(path, sizeof(path), "%s/b.jpg", dir);
    ASSERT_OK(cli_draw_faces(img, &f, 1, NULL, path, &err), &err);
    ASSERT_OK(mien_image_load(path, NULL, &back, &err), &err);
    ASSERT_EQ_INT(mien_image_width(back), W);
    ASSERT_EQ_INT(mien_image_height(back), H);
    {
        const uint8_t *p = mien_image_pixels(back) + ((size_t)90 * W + 61) * 3;
        ASSERT_TRUE(p[1] > 170 && p[0] < 100); /* green: a face without "unknown" */
    }
    mien_image_free(back);

    snprintf(path, sizeof(path), "%s/c.gif", dir);
    ASSERT_STATUS(cli_draw_faces(img, &f, 1, NULL, path, &err), MIEN_ERR_ARG, &err);
    snprintf(path, sizeof(path), "%s/missing/d.png", dir);
    ASSERT_STATUS(cli_draw_faces(img, &f, 1, NULL, path, &err), MIEN_ERR_IO, &err);
    ASSERT_CONTAINS(err.message, "cannot write");
    mien_image_free(img);
    test_remove_dir(dir);
    return 0;
}

TEST(cli_draw_target_names)
{
    char dir[64], arg[80], out[256];
    cli_draw_target d;
    mien_error err;
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    snprintf(arg, sizeof(arg), "%s/pictures/", dir);
    ASSERT_OK(cli_draw_target_open(&d, arg, 3, &err), &err);
    ASSERT_TRUE(d.dir);
    ASSERT_OK(cli_draw_target_path(&d, "a/photo.jpg", out, sizeof(out), &err), &err);
    ASSERT_TRUE(strstr(out, "/pictures/photo.jpg") != NULL);
    ASSERT_OK(cli_draw_target_path(&d, "b/photo.jpg", out, sizeof(out), &err), &err);
    ASSERT_TRUE(strstr(out, "/pictures/photo-2.jpg") != NULL);
    ASSERT_OK(cli_draw_target_path(&d, "c/x.webp", out, sizeof(out), &err), &err);
    ASSERT_TRUE(strstr(out, "/pictures/x.jpg") != NULL);
    ASSERT_OK(cli_draw_target_path(&d, "y.PNG", out, sizeof(out), &err), &err);
    ASSERT_TRUE(strstr(out, "/pictures/y.PNG") != NULL);
    cli_draw_target_close(&d);
    snprintf(arg, sizeof(arg), "%s/pictures", dir); /* a folder without its slash */
    ASSERT_OK(cli_draw_target_open(&d, arg, 2, &err), &err);
    ASSERT_TRUE(d.dir);
    cli_draw_target_close(&d);
    test_remove_dir(arg);

    snprintf(arg, sizeof(arg), "%s/one.png", dir);
    ASSERT_OK(cli_draw_target_open(&d, arg, 1, &err), &err);
    ASSERT_OK(cli_draw_target_path(&d, "z/photo.jpg", out, sizeof(out), &err), &err);
    ASSERT_STR_EQ(out, arg);
    cli_draw_target_close(&d);
    ASSERT_STATUS(cli_draw_target_open(&d, arg, 2, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, "--draw DIR/");
    snprintf(arg, sizeof(arg), "%s/one.tiff", dir);
    ASSERT_STATUS(cli_draw_target_open(&d, arg, 1, &err), MIEN_ERR_ARG, &err);
    test_remove_dir(dir);
    return 0;
}
