/* time.c — the clocks and the time texts every front end shares: a monotonic clock for
 * durations, and the one parser of the points in time and durations that users type
 * (`mien audit export --from`, `enroll --expires`, the HTTP API's expires_at, from, to and
 * retention). The CLI and the server each had their own parser, and they had drifted (one
 * took a leap second, one took "+5" for a year); this is the stricter of the two.
 *
 * Points in time are UTC: unix seconds ("1714567890"), a date "YYYY-MM-DD", or
 * "YYYY-MM-DDTHH:MM[:SS][Z]" (ISO 8601 extended format, RFC 3339's subset without offsets or
 * fractions; a space may stand for the 'T', as RFC 3339 section 5.6 allows). A leap second
 * (":60") is refused: unix time has no such second, and timegm() would silently turn it into
 * the next minute's first. @test base/test_time.c */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mien.h"

/* Unix seconds of more than 12 digits are beyond the year 33658: not a time anyone means. */
#define UNIX_DIGITS_MAX 12
/* Durations stop at 100 years: a retention nobody means longer (the store's limit too). */
#define DURATION_MAX_S (100LL * 365 * 86400)

double mien_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Exactly n decimal digits at s into *out (no sign, no space: sscanf's %d takes both). */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "THH:MM[:SS][Z]" (or with a space for the T) at s into h, mi, sec; false for anything else. */
static bool parse_clock(const char *s, int *h, int *mi, int *sec)
{
    if ((*s != 'T' && *s != ' ') || !digits(s + 1, 2, h) || s[3] != ':' ||
        !digits(s + 4, 2, mi)) {
        return false;
    }
    s += 6;
    if (*s == ':') {
        if (!digits(s + 1, 2, sec)) {
            return false;
        }
        s += 3;
    }
    s += *s == 'Z';
    return *s == '\0';
}

mien_status mien_time_parse(const char *text, bool end_of_day, int64_t *unix_s)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t len = text != NULL ? strlen(text) : 0;
    if (len == 0 || unix_s == NULL) {
        return MIEN_ERR_ARG;
    }
    if (strspn(text, "0123456789") == len) {
        if (len > UNIX_DIGITS_MAX) {
            return MIEN_ERR_ARG;
        }
        *unix_s = strtoll(text, NULL, 10);
        return MIEN_OK;
    }
    if (len < 10 || !digits(text, 4, &y) || text[4] != '-' || !digits(text + 5, 2, &mo) ||
        text[7] != '-' || !digits(text + 8, 2, &d)) {
        return MIEN_ERR_ARG;
    }
    if (text[10] == '\0') {
        if (end_of_day) {
            h = 23;
            mi = 59;
            sec = 59;
        }
    } else if (!parse_clock(text + 10, &h, &mi, &sec)) {
        return MIEN_ERR_ARG;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) {
        return MIEN_ERR_ARG;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) { /* timegm normalises 31 April to 1 May */
        return MIEN_ERR_ARG;
    }
    *unix_s = (int64_t)t;
    return MIEN_OK;
}

mien_status mien_time_format(int64_t unix_s, char *out, size_t cap)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (out == NULL || cap == 0) {
        return MIEN_ERR_ARG;
    }
    if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        out[0] = '\0';
        return MIEN_ERR_ARG;
    }
    return MIEN_OK;
}

mien_status mien_duration_parse(const char *text, int64_t *seconds)
{
    char *end = NULL;
    long long n, unit = 1;
    if (text == NULL || seconds == NULL || *text < '1' || *text > '9') {
        return MIEN_ERR_ARG;
    }
    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno != 0) {
        return MIEN_ERR_ARG;
    }
    if (*end == 'h') {
        unit = 3600;
        end++;
    } else if (*end == 'd') {
        unit = 86400;
        end++;
    } else if (*end == 's') {
        end++;
    }
    if (*end != '\0' || n > DURATION_MAX_S / unit) {
        return MIEN_ERR_ARG;
    }
    *seconds = (int64_t)(n * unit);
    return MIEN_OK;
}
