/* test_body.c — src/server/body.c: multipart fields and base64, including a small fuzz
 * (random bytes, truncations and mutations of a valid body must never read out of bounds:
 * run under build-asan to see it). */
#include <stdint.h>

#include "server/body.h"
#include "test.h"

TEST(server_multipart)
{
    char b[80];
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.jpg\"\r\n"
                       "Content-Type: image/jpeg\r\n\r\nAAA\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"image\"\r\n\r\nhello\r\nworld"
                       "\r\n--XyZ--\r\n";
    const uint8_t *d = NULL;
    size_t n = 0;
    ASSERT_TRUE(srv_multipart_boundary("multipart/form-data; boundary=XyZ", b, sizeof(b)));
    ASSERT_STR_EQ(b, "XyZ");
    ASSERT_TRUE(srv_multipart_boundary("multipart/form-data; charset=x; boundary=\"q r\"", b,
                                       sizeof(b)));
    ASSERT_STR_EQ(b, "q r");
    ASSERT_TRUE(!srv_multipart_boundary("multipart/form-data", b, sizeof(b)));
    ASSERT_TRUE(!srv_multipart_boundary("image/jpeg; boundary=x", b, sizeof(b)));
    ASSERT_TRUE(!srv_multipart_boundary("multipart/form-data; boundary=", b, sizeof(b)));
    ASSERT_TRUE(srv_multipart_field((const uint8_t *)body, strlen(body), "XyZ", "a", &d, &n));
    ASSERT_EQ_INT(n, 3);
    ASSERT_TRUE(memcmp(d, "AAA", 3) == 0);
    ASSERT_TRUE(srv_multipart_field((const uint8_t *)body, strlen(body), "XyZ", "image", &d, &n));
    ASSERT_EQ_INT(n, 12);
    ASSERT_TRUE(memcmp(d, "hello\r\nworld", 12) == 0);
    ASSERT_TRUE(!srv_multipart_field((const uint8_t *)body, strlen(body), "XyZ", "b", &d, &n));
    ASSERT_TRUE(!srv_multipart_field((const uint8_t *)body, strlen(body), "XyZ", "imag", &d, &n));
    ASSERT_TRUE(!srv_multipart_field((const uint8_t *)body, strlen(body), "Other", "a", &d, &n));
    /* every truncation is refused or answered inside the buffer */
    for (size_t cut = 0; cut < strlen(body); cut++) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, body, cut);
        if (srv_multipart_field(copy, cut, "XyZ", "image", &d, &n)) {
            ASSERT_TRUE(d >= copy && d + n <= copy + cut);
        }
        free(copy);
    }
    /* random mutations and random bytes */
    srand(7);
    for (int it = 0; it < 20000; it++) {
        size_t len = strlen(body);
        uint8_t *copy = malloc(len);
        memcpy(copy, body, len);
        for (int k = 0; k < 1 + it % 4; k++) {
            copy[(size_t)rand() % len] = (uint8_t)(it % 3 == 0 ? rand() : "\r\n-\"X="[rand() % 6]);
        }
        if (srv_multipart_field(copy, len, "XyZ", it % 2 ? "a" : "image", &d, &n)) {
            ASSERT_TRUE(d >= copy && d + n <= copy + len);
        }
        free(copy);
    }
    return 0;
}

/* @test body.c srv_multipart_fields: a repeated name, in order, in one pass, up to max */
TEST(server_multipart_repeated)
{
    const char *body = "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\none\r\n"
                       "--B\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nx\r\n"
                       "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\ntwo!\r\n"
                       "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\r\n--B--\r\n";
    const uint8_t *d[4] = {NULL, NULL, NULL, NULL};
    size_t n[4] = {0, 0, 0, 0};
    ASSERT_EQ_INT(srv_multipart_fields((const uint8_t *)body, strlen(body), "B", "image", d, n,
                                       4),
                  3);
    ASSERT_EQ_INT(n[0], 3);
    ASSERT_TRUE(memcmp(d[0], "one", 3) == 0);
    ASSERT_EQ_INT(n[1], 4);
    ASSERT_TRUE(memcmp(d[1], "two!", 4) == 0);
    ASSERT_EQ_INT(n[2], 0); /* an empty field is found (the route refuses it) */
    ASSERT_EQ_INT(srv_multipart_fields((const uint8_t *)body, strlen(body), "B", "image", d, n,
                                       2),
                  2);
    ASSERT_EQ_INT(srv_multipart_fields((const uint8_t *)body, strlen(body), "B", "purpose", d, n,
                                       4),
                  1);
    ASSERT_EQ_INT(srv_multipart_fields((const uint8_t *)body, strlen(body), "B", "none", d, n,
                                       4),
                  0);
    return 0;
}

TEST(server_base64)
{
    uint8_t *out = NULL;
    size_t n = 0;
    ASSERT_TRUE(srv_base64_decode("aGVsbG8=", 8, &out, &n));
    ASSERT_EQ_INT(n, 5);
    ASSERT_TRUE(memcmp(out, "hello", 5) == 0);
    free(out);
    ASSERT_TRUE(srv_base64_decode("aGVsbG8", 7, &out, &n)); /* padding optional */
    ASSERT_EQ_INT(n, 5);
    free(out);
    ASSERT_TRUE(srv_base64_decode("aGVs\nbG8h", 9, &out, &n));
    ASSERT_EQ_INT(n, 6);
    ASSERT_TRUE(memcmp(out, "hello!", 6) == 0);
    free(out);
    ASSERT_TRUE(srv_base64_decode("data:image/png;base64,/w==", 26, &out, &n));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(out[0], 0xff);
    free(out);
    ASSERT_TRUE(srv_base64_decode("_w", 2, &out, &n)); /* URL-safe */
    ASSERT_EQ_INT(out[0], 0xff);
    free(out);
    ASSERT_TRUE(!srv_base64_decode("aGVsbG8*", 8, &out, &n));
    ASSERT_TRUE(out == NULL);
    ASSERT_TRUE(!srv_base64_decode("a", 1, &out, &n));
    ASSERT_TRUE(!srv_base64_decode("aG=V", 4, &out, &n));
    ASSERT_TRUE(!srv_base64_decode("aGVsbG8==", 9, &out, &n));
    ASSERT_TRUE(!srv_base64_decode("data:x,aaaa", 11, &out, &n));
    srand(11);
    for (int it = 0; it < 20000; it++) {
        char buf[64];
        size_t len = (size_t)(rand() % 64);
        for (size_t k = 0; k < len; k++) {
            buf[k] = "ABCxyz019+/=-_ \n*"[rand() % 17];
        }
        if (srv_base64_decode(buf, len, &out, &n)) {
            ASSERT_TRUE(n <= len);
            free(out);
        }
    }
    return 0;
}
