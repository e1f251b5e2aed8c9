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
    static const struct {
        mien_status st;
        int http;
        const char *code;
    } want[] = {{MIEN_ERR_NOT_FOUND, 404, "not_found"}, {MIEN_ERR_EXISTS, 409, "conflict"},
                {MIEN_ERR_ARG, 400, "bad_request"},     {MIEN_ERR_FORBIDDEN, 403, "forbidden"},
                {MIEN_ERR_IMAGE, 422, "bad_image"},     {MIEN_ERR_STORE, 500, "internal"}};
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const char *code = NULL;
        ASSERT_EQ_INT(mien_http_status(want[k].st, &code), want[k].http);
        ASSERT_STR_EQ(code, want[k].code);
    }
    ASSERT_EQ_INT(mien_http_status(MIEN_ERR_IO, NULL), 500);
    return 0;
}
