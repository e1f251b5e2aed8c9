/* strbuf.h — a growing NUL-terminated string, for the server's text builders (the SigV4
 * canonical request and string to sign, the Prometheus metrics page). Appending never
 * reports an error: when memory runs out the buffer is marked failed and later appends are
 * dropped, so a builder checks once, at srv_buf_finish. One buffer belongs to one thread.
 * @test server/test_strbuf.c; also server/test_sigv4.c (the canonical requests) and
 * tests/server/test_serve.sh (/metrics) */
#ifndef MIEN_SERVER_STRBUF_H
#define MIEN_SERVER_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Start from srv_buf b = {0}. */
typedef struct srv_buf {
    char *p;          /* the text, NUL-terminated once anything was added; NULL before */
    size_t len, cap;  /* bytes used (without the NUL) and allocated */
    bool failed;      /* memory ran out: the text is incomplete */
} srv_buf;

/* Appends s[0..n). */
void srv_buf_add(srv_buf *b, const char *s, size_t n);
/* Appends the string s. */
void srv_buf_str(srv_buf *b, const char *s);
/* Appends the character c. */
void srv_buf_chr(srv_buf *b, char c);
/* Appends what printf(fmt, ...) would print. */
void srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (malloc'd: the caller frees it; "" when nothing was added), its length into *len
 * (may be NULL); NULL, the buffer freed, when memory ran out. b is spent either way. */
char *srv_buf_finish(srv_buf *b, size_t *len);

#endif
