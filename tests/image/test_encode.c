/* test_encode.c — mien_image_encode and mien_image_save: PNG round-trips exactly, JPEG
 * within its loss, the format follows the extension, and a bad name or place is refused
 * with a message saying which. */
#include <sys/stat.h>

#include "test.h"

/* A w×h picture whose every pixel differs from its neighbours: a mix-up of rows, columns
 * or channels shows. */
static mien_image *pattern(int w, int h)
{
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    mien_image *img = NULL;
    mien_error err;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = (uint8_t)(x * 255 / (w - 1));
            p[1] = (uint8_t)(y * 255 / (h - 1));
            p[2] = (uint8_t)((x + y) * 4);
        }
    }
    if (mien_image_from_rgb(rgb, w, h, (size_t)w * 3, &img, &err) != MIEN_OK) {
        img = NULL;
    }
    free(rgb);
    return img;
}

/* Mean absolute difference of two pictures of the same size. */
static double mean_diff(const mien_image *a, const mien_image *b)
{
    size_t n = (size_t)mien_image_width(a) * (size_t)mien_image_height(a) * 3;
    const uint8_t *pa = mien_image_pixels(a), *pb = mien_image_pixels(b);
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        sum += abs((int)pa[k] - (int)pb[k]);
    }
    return sum / (double)n;
}

TEST(image_encode_round_trip)
{
    mien_image *img = pattern(37, 23), *back = NULL;
    uint8_t *bytes = NULL;
    size_t size = 0;
    mien_error err;
    ASSERT_TRUE(img != NULL);
    ASSERT_OK(mien_image_encode(img, MIEN_IMAGE_PNG, 0, &bytes, &size, &err), &err);
    ASSERT_TRUE(size > 8 && memcmp(bytes, "\x89PNG", 4) == 0);
    ASSERT_OK(mien_image_decode(bytes, size, NULL, &back, &err), &err);
    mien_free(bytes);
    ASSERT_EQ_INT(mien_image_width(back), 37);
    ASSERT_EQ_INT(mien_image_height(back), 23);
    ASSERT_TRUE(memcmp(mien_image_pixels(back), mien_image_pixels(img), 37 * 23 * 3) == 0);
    mien_image_free(back);

    ASSERT_OK(mien_image_encode(img, MIEN_IMAGE_JPEG, 95, &bytes, &size, &err), &err);
    ASSERT_TRUE(size > 4 && bytes[0] == 0xFF && bytes[1] == 0xD8);
    ASSERT_OK(mien_image_decode(bytes, size, NULL, &back, &err), &err);
    mien_free(bytes);
    ASSERT_EQ_INT(mien_image_width(back), 37);
    ASSERT_EQ_INT(mien_image_height(back), 23);
    ASSERT_TRUE(mean_diff(img, back) < 4.0);
    mien_image_free(back);

    ASSERT_STATUS(mien_image_encode(img, MIEN_IMAGE_JPEG, 0, &bytes, &size, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_TRUE(bytes == NULL);
    ASSERT_STATUS(mien_image_encode(img, (mien_image_format)7, 90, &bytes, &size, &err),
                  MIEN_ERR_ARG, &err);
    ASSERT_STATUS(mien_image_encode(NULL, MIEN_IMAGE_PNG, 0, &bytes, &size, &err), MIEN_ERR_ARG,
                  &err);
    mien_image_free(img);
    return 0;
}

TEST(image_save_by_extension)
{
    char dir[64], path[160];
    mien_image *img = pattern(16, 12), *back = NULL;
    mien_image_format format;
    mien_error err;
    int rc = 1;
    ASSERT_TRUE(img != NULL);
    ASSERT_EQ_INT(test_temp_dir(dir, sizeof(dir)), 0);
    ASSERT_OK(mien_image_format_of_path("a/b.JPEG", &format, &err), &err);
    ASSERT_EQ_INT(format, MIEN_IMAGE_JPEG);
    ASSERT_OK(mien_image_format_of_path("b.Png", &format, &err), &err);
    ASSERT_EQ_INT(format, MIEN_IMAGE_PNG);
    ASSERT_STATUS(mien_image_format_of_path("x.png/photo", &format, &err), MIEN_ERR_ARG, &err);

    snprintf(path, sizeof(path), "%s/out.PNG", dir);
    ASSERT_OK(mien_image_save(img, path, &err), &err);
    ASSERT_OK(mien_image_load(path, NULL, &back, &err), &err);
    ASSERT_TRUE(memcmp(mien_image_pixels(back), mien_image_pixels(img), 16 * 12 * 3) == 0);
    mien_image_free(back);

    snprintf(path, sizeof(path), "%s/out.bmp", dir);
    ASSERT_STATUS(mien_image_save(img, path, &err), MIEN_ERR_ARG, &err);
    ASSERT_CONTAINS(err.message, ".jpg, .jpeg or .png");
    snprintf(path, sizeof(path), "%s/no/such/folder/out.jpg", dir);
    ASSERT_STATUS(mien_image_save(img, path, &err), MIEN_ERR_IO, &err);
    ASSERT_CONTAINS(err.message, "cannot write");
    ASSERT_CONTAINS(err.message, path);
    rc = 0;
    mien_image_free(img);
    snprintf(path, sizeof(path), "%s/out.PNG", dir);
    remove(path);
    test_remove_dir(dir);
    return rc;
}
