/* test_time.c — the one parser of times and durations (src/base/time.c): the forms users
 * type, the edges (leap second refused, impossible dates, the end of a day), and text that
 * must not parse (signs and spaces sscanf would take, offsets, fractions). */
#include "test.h"

TEST(time_parse_forms)
{
    int64_t t = -1;
    ASSERT_OK(mien_time_parse("1714567890", false, &t), NULL);
    ASSERT_EQ_INT(t, 1714567890);
    ASSERT_OK(mien_time_parse("0", false, &t), NULL);
    ASSERT_EQ_INT(t, 0);
    ASSERT_OK(mien_time_parse("2024-05-01", false, &t), NULL);
    ASSERT_EQ_INT(t, 1714521600);
    ASSERT_OK(mien_time_parse("2024-05-01", true, &t), NULL); /* the end of that day */
    ASSERT_EQ_INT(t, 1714521600 + 86399);
    ASSERT_OK(mien_time_parse("2024-05-01T12:34", false, &t), NULL);
    ASSERT_EQ_INT(t, 1714521600 + 12 * 3600 + 34 * 60);
    ASSERT_OK(mien_time_parse("2024-05-01T12:34:56Z", true, &t), NULL); /* a time: no day end */
    ASSERT_EQ_INT(t, 1714521600 + 12 * 3600 + 34 * 60 + 56);
    ASSERT_OK(mien_time_parse("2024-05-01 12:34:56", false, &t), NULL);
    ASSERT_EQ_INT(t, 1714521600 + 12 * 3600 + 34 * 60 + 56);
    ASSERT_OK(mien_time_parse("2024-02-29T23:59:59", false, &t), NULL); /* a leap day */
    ASSERT_OK(mien_time_parse("1970-01-01T00:00:00Z", false, &t), NULL);
    ASSERT_EQ_INT(t, 0);
    ASSERT_OK(mien_time_parse("999999999999", false, &t), NULL); /* 12 digits: the longest */
    return 0;
}

TEST(time_parse_refused)
{
    static const char *const bad[] = {
        "", "2024-05-01T23:59:60Z", /* a leap second: unix time has none */
        "2016-12-31T23:59:60",      /* even a real one */
        "2024-04-31", "2023-02-29", "2024-13-01", "2024-00-10", "2024-05-00", "1969-12-31",
        "2024-05-01T24:00", "2024-05-01T12:60", "2024-5-01", "+024-05-01", " 2024-05-01",
        "2024-05-01T 1:00", "2024-05-01T12:34:56+02:00", "2024-05-01T12:34:56.5Z",
        "2024-05-01T12", "2024-05-01Z", "2024-05-01x", "2024-05-01T12:34:5",
        "1234567890123", "-1", "12a", "2024-05-01T12:34ZZ"};
    int64_t t = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mien_time_parse(bad[i], false, &t) != MIEN_ERR_ARG) {
            TEST_FAIL_("\"%s\" parsed as %lld", bad[i], (long long)t);
        }
    }
    ASSERT_EQ_INT(t, 42); /* untouched */
    ASSERT_STATUS(mien_time_parse(NULL, false, &t), MIEN_ERR_ARG, NULL);
    ASSERT_STATUS(mien_time_parse("0", false, NULL), MIEN_ERR_ARG, NULL);
    return 0;
}

TEST(time_format)
{
    char out[21];
    int64_t t = 0;
    ASSERT_OK(mien_time_format(1714521600 + 45296, out, sizeof(out)), NULL);
    ASSERT_STR_EQ(out, "2024-05-01T12:34:56Z");
    ASSERT_OK(mien_time_parse(out, false, &t), NULL);
    ASSERT_EQ_INT(t, 1714521600 + 45296);
    ASSERT_STATUS(mien_time_format(0, out, 20), MIEN_ERR_ARG, NULL); /* no room for the NUL */
    ASSERT_STR_EQ(out, "");
    ASSERT_STATUS(mien_time_format(0, NULL, 0), MIEN_ERR_ARG, NULL);
    return 0;
}

TEST(time_duration_parse)
{
    int64_t s = 7;
    ASSERT_OK(mien_duration_parse("30", &s), NULL);
    ASSERT_EQ_INT(s, 30);
    ASSERT_OK(mien_duration_parse("30s", &s), NULL);
    ASSERT_EQ_INT(s, 30);
    ASSERT_OK(mien_duration_parse("2h", &s), NULL);
    ASSERT_EQ_INT(s, 7200);
    ASSERT_OK(mien_duration_parse("30d", &s), NULL);
    ASSERT_EQ_INT(s, 30 * 86400);
    ASSERT_OK(mien_duration_parse("36500d", &s), NULL); /* 100 years: the longest */
    s = 7;
    static const char *const bad[] = {"", "0", "0d", "030d", "-1d", "+1d", " 1d", "1 d",
                                      "1m", "1dd", "36501d", "99999999999999999999", "d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mien_duration_parse(bad[i], &s) != MIEN_ERR_ARG) {
            TEST_FAIL_("\"%s\" parsed as %lld", bad[i], (long long)s);
        }
    }
    ASSERT_EQ_INT(s, 7);
    ASSERT_STATUS(mien_duration_parse(NULL, &s), MIEN_ERR_ARG, NULL);
    return 0;
}

TEST(time_now_ms_monotonic)
{
    double a = mien_now_ms(), b = mien_now_ms();
    ASSERT_TRUE(a > 0 && b >= a);
    return 0;
}
