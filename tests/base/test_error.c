/* test_error.c — every status has its own message; base_error_set fills and returns. */
#include "base/error.h"
#include "test.h"

TEST(error_strings)
{
    mien_error err;
    ASSERT_STR_EQ(mien_strerror(MIEN_OK), "success");
    ASSERT_STR_EQ(mien_strerror((mien_status)9999), "unknown status");
    for (int s = MIEN_OK; s <= MIEN_ERR_EXISTS; s++) {
        for (int t = s + 1; t <= MIEN_ERR_EXISTS; t++) {
            ASSERT_TRUE(strcmp(mien_strerror((mien_status)s), mien_strerror((mien_status)t)) != 0);
        }
    }
    ASSERT_EQ_INT(base_error_set(&err, MIEN_ERR_MODEL, "node %s: %d", "conv1", 7), MIEN_ERR_MODEL);
    ASSERT_EQ_INT(err.code, MIEN_ERR_MODEL);
    ASSERT_STR_EQ(err.message, "node conv1: 7");
    ASSERT_EQ_INT(base_error_set(NULL, MIEN_ERR_IO, "x"), MIEN_ERR_IO);
    return 0;
}

/* The HTTP status of each failure: the server answers and the CLI's --json errors use it. */
TEST(error_http_status)
{
    const char *code = NULL;
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_NOT_FOUND, &code), 404);
    ASSERT_STR_EQ(code, "not_found");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_EXISTS, &code), 409);
    ASSERT_STR_EQ(code, "conflict");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_ARG, &code), 400);
    ASSERT_STR_EQ(code, "bad_request");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_FORBIDDEN, &code), 403);
    ASSERT_STR_EQ(code, "forbidden");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_IMAGE, &code), 422);
    ASSERT_STR_EQ(code, "bad_image");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_STORE, &code), 500);
    ASSERT_STR_EQ(code, "internal");
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_IO, NULL), 500);
    return 0;
}
