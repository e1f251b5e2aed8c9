/* body.h — reading request bodies without trusting them: multipart/form-data fields
 * (RFC 7578) and base64 text (RFC 4648). Every function is bounded by the lengths given;
 * nothing is read past them and nothing is NUL-terminated unless said. */
#ifndef MIEN_SERVER_BODY_H
#define MIEN_SERVER_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The boundary parameter of a multipart form-data Content-Type ("...; boundary=X", quotes
 * removed) into out[cap]; false when absent, empty, longer than 70 characters (RFC 2046) or
 * not a multipart form-data type. */
bool srv_multipart_boundary(const char *content_type, char *out, size_t cap);

/* Finds the field called `name` in body[len] (a multipart body with `boundary`). On success
 * *data and *size point into body (borrowed) and true is returned; false when the body is
 * malformed or has no such field. */
bool srv_multipart_field(const uint8_t *body, size_t len, const char *boundary, const char *name,
                         const uint8_t **data, size_t *size);

/* Every field called `name`, in order, in one pass: a form may repeat a name, as a file input
 * with `multiple` does (POST /v1/group's photos). data[k] and size[k] (room for max) receive
 * the first `max` of them; returns how many were found (a malformed body ends the scan). */
size_t srv_multipart_fields(const uint8_t *body, size_t len, const char *boundary,
                            const char *name, const uint8_t **data, size_t *size, size_t max);

/* Decodes base64 text[len] (standard or URL-safe alphabet, padding optional, ASCII
 * whitespace ignored, an optional "data:...;base64," prefix skipped) into a malloc'd *out
 * (caller frees) of *out_len bytes. False (nothing allocated) on any other character, a
 * misplaced '=', a dangling 6 bits, or out of memory. */
bool srv_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len);

#endif
