/* error.h — filling a mien_error: the one way every layer reports what failed.
 *
 * base_error_set() writes the code and a printf-style message into `err` (when not NULL)
 * and returns the code, so a failure path reads `return base_error_set(err, ...);`. */
#ifndef MIEN_BASE_ERROR_H
#define MIEN_BASE_ERROR_H

#include "mien.h"

#if defined(__GNUC__)
#define BASE_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#define BASE_PRINTF(fmt_idx, args_idx)
#endif

/* Sets err->code = code and err->message to the formatted text (truncated to fit).
 * Returns `code`. err may be NULL. @test base/test_error.c */
mien_status base_error_set(mien_error *err, mien_status code, const char *fmt, ...)
    BASE_PRINTF(3, 4);

/* Clears err to MIEN_OK and an empty message; err may be NULL. */
void base_error_clear(mien_error *err);

#endif
