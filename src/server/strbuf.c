/* strbuf.c — the server's growing string (strbuf.h). It grows by doubling from 256 bytes,
 * so a builder's appends cost amortised O(1) whatever their sizes. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Makes room for n more bytes and the NUL; false (the buffer marked failed) when memory
 * runs out or the size would overflow. */
static bool reserve(srv_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    if (b->failed || n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    if (b->len + n + 1 <= b->cap) {
        return true;
    }
    while (cap < b->len + n + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void srv_buf_add(srv_buf *b, const char *s, size_t n)
{
    if (reserve(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    }
}

void srv_buf_str(srv_buf *b, const char *s)
{
    srv_buf_add(b, s, strlen(s));
}

void srv_buf_chr(srv_buf *b, char c)
{
    srv_buf_add(b, &c, 1);
}

void srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (reserve(b, (size_t)n)) {
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
    }
}

char *srv_buf_finish(srv_buf *b, size_t *len)
{
    char *text = b->p;
    if (!b->failed && text == NULL) {
        text = strdup(""); /* nothing added: the empty string */
    }
    if (b->failed || text == NULL) {
        free(b->p);
        return NULL;
    }
    if (len != NULL) {
        *len = b->len;
    }
    return text;
}
