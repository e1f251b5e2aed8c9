/* test_strbuf.c — src/server/strbuf.c, the server's growing string: appends of every kind
 * land in order past many doublings, nothing added finishes as "", and a failed buffer
 * finishes as NULL without leaking. */
#include <stdlib.h>
#include <string.h>

#include "server/strbuf.h"
#include "test.h"

TEST(server_strbuf)
{
    srv_buf b = {0};
    size_t len = 0;
    char *s;
    for (int i = 0; i < 1000; i++) {
        srv_buf_printf(&b, "%03d", i % 1000);
    }
    srv_buf_add(&b, "xyz", 2);
    srv_buf_chr(&b, '!');
    srv_buf_str(&b, "end");
    s = srv_buf_finish(&b, &len);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ_INT(len, 3000 + 2 + 1 + 3);
    ASSERT_EQ_INT(strlen(s), len);
    ASSERT_TRUE(memcmp(s, "000001002", 9) == 0);
    ASSERT_STR_EQ(s + 2997, "999xy!end");
    free(s);

    srv_buf empty = {0};
    s = srv_buf_finish(&empty, NULL);
    ASSERT_STR_EQ(s, "");
    free(s);

    srv_buf failed = {0};
    srv_buf_str(&failed, "partial");
    failed.failed = true; /* as after an allocation failure */
    srv_buf_str(&failed, "dropped");
    ASSERT_EQ_INT(failed.len, 7);
    ASSERT_TRUE(srv_buf_finish(&failed, &len) == NULL);
    return 0;
}
