/* body.c — multipart/form-data and base64 readers (body.h). Both work on untrusted bytes
 * with explicit lengths; tests/server/test_body.c fuzzes them a little. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"

#define BOUNDARY_MAX 70 /* RFC 2046 §5.1.1 */

bool srv_multipart_boundary(const char *content_type, char *out, size_t cap)
{
    const char *p, *b;
    size_t n = 0;
    if (content_type == NULL || strncasecmp(content_type, "multipart/form-data", 19) != 0) {
        return false;
    }
    for (p = content_type + 19; *p != '\0'; p++) {
        if (strncasecmp(p, "boundary=", 9) == 0 && (p[-1] == ';' || p[-1] == ' ')) {
            break;
        }
    }
    if (*p == '\0') {
        return false;
    }
    b = p + 9;
    if (*b == '"') {
        b++;
        while (b[n] != '\0' && b[n] != '"') {
            n++;
        }
        if (b[n] != '"') {
            return false;
        }
    } else {
        while (b[n] != '\0' && b[n] != ';' && b[n] != ' ' && b[n] != '\t') {
            n++;
        }
    }
    if (n == 0 || n > BOUNDARY_MAX || n + 1 > cap) {
        return false;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

/* First occurrence of needle[nlen] in hay[hlen], or NULL. */
static const uint8_t *find(const uint8_t *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen) {
        return NULL;
    }
    return memmem(hay, hlen, needle, nlen);
}

/* Whether the part headers head[len] carry Content-Disposition: form-data; name="name". */
static bool part_named(const uint8_t *head, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    const uint8_t *end = head + len;
    const uint8_t *line = head;
    while (line < end) {
        const uint8_t *eol = find(line, (size_t)(end - line), "\r\n", 2);
        size_t llen = eol != NULL ? (size_t)(eol - line) : (size_t)(end - line);
        if (llen > 20 && strncasecmp((const char *)line, "content-disposition:", 20) == 0) {
            /* look for name="NAME" (or name=NAME) as a parameter, not inside filename= */
            for (size_t i = 20; i + 5 <= llen; i++) {
                if (strncasecmp((const char *)line + i, "name=", 5) == 0 &&
                    (line[i - 1] == ';' || line[i - 1] == ' ' || line[i - 1] == '\t')) {
                    size_t v = i + 5;
                    bool quoted = v < llen && line[v] == '"';
                    if (quoted) {
                        v++;
                    }
                    if (v + nlen <= llen && memcmp(line + v, name, nlen) == 0) {
                        size_t after = v + nlen;
                        if (quoted ? (after < llen && line[after] == '"')
                                   : (after == llen || line[after] == ';' ||
                                      line[after] == ' ')) {
                            return true;
                        }
                    }
                    return false;
                }
            }
        }
        if (eol == NULL) {
            break;
        }
        line = eol + 2;
    }
    return false;
}

bool srv_multipart_field(const uint8_t *body, size_t len, const char *boundary, const char *name,
                         const uint8_t **data, size_t *size)
{
    return srv_multipart_fields(body, len, boundary, name, data, size, 1) == 1;
}

size_t srv_multipart_fields(const uint8_t *body, size_t len, const char *boundary,
                            const char *name, const uint8_t **data, size_t *size, size_t max)
{
    size_t found = 0;
    char delim[BOUNDARY_MAX + 5]; /* "\r\n--" + boundary */
    size_t blen = strlen(boundary);
    const uint8_t *p, *end;
    if (blen == 0 || blen > BOUNDARY_MAX || body == NULL) {
        return found;
    }
    end = body + len;
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen);
    /* The first delimiter may open the body without the leading CRLF. */
    if (len >= blen + 2 && memcmp(body, delim + 2, blen + 2) == 0) {
        p = body + blen + 2;
    } else {
        const uint8_t *d = find(body, len, delim, blen + 4);
        if (d == NULL) {
            return found;
        }
        p = d + blen + 4;
    }
    for (;;) {
        const uint8_t *head, *head_end, *next;
        /* after a delimiter: "--" closes the body, else optional blanks then CRLF */
        if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-') {
            return found;
        }
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n') {
            return found;
        }
        head = p + 2;
        head_end = find(head, (size_t)(end - head), "\r\n\r\n", 4);
        if (head_end == NULL) {
            /* a part with no headers at all starts with the blank line */
            if ((size_t)(end - head) >= 2 && head[0] == '\r' && head[1] == '\n') {
                head_end = head - 2;
            } else {
                return found;
            }
        }
        next = find(head_end + 4, (size_t)(end - (head_end + 4)), delim, blen + 4);
        if (next == NULL) {
            return found;
        }
        if (head_end >= head && part_named(head, (size_t)(head_end - head), name)) {
            data[found] = head_end + 4;
            size[found] = (size_t)(next - (head_end + 4));
            if (++found == max) {
                return found;
            }
        }
        p = next + blen + 4;
    }
}

/* Value of a base64 character, or -1. Both alphabets (RFC 4648 §4 and §5). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

bool srv_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t *buf;
    size_t n = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;
    *out = NULL;
    *out_len = 0;
    if (text == NULL) {
        return false;
    }
    if (len > 5 && memcmp(text, "data:", 5) == 0) {
        const char *comma = memchr(text, ',', len);
        if (comma == NULL || comma - text < 7 || memcmp(comma - 7, ";base64", 7) != 0) {
            return false;
        }
        len -= (size_t)(comma + 1 - text);
        text = comma + 1;
    }
    buf = malloc(len / 4 * 3 + 3);
    if (buf == NULL) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int v;
        if (isspace(c)) {
            continue;
        }
        if (c == '=') {
            pad++;
            continue;
        }
        v = b64_value(c);
        if (v < 0 || pad > 0) { /* a stray character, or data after padding */
            free(buf);
            return false;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* leftover bits: 0 (complete), 2 (one byte + "=="), 4 (two bytes + "="); 6 is an error;
     * leftover bits must be zero; padding, when present, must complete the quantum */
    if (bits == 6 || pad > 2 || (acc & ((1u << bits) - 1u)) != 0 ||
        (pad > 0 && (size_t)bits / 2 != pad)) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = n;
    return true;
}
