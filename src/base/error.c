/* error.c — status strings (generated from MIEN_STATUS_MAP) and mien_error filling. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *mien_strerror(mien_status status)
{
    /* A switch without default: -Wswitch flags any code that lacks a string. */
    switch (status) {
#define MIEN_STRERROR_GEN(name, num, msg) \
    case MIEN_##name:                     \
        return msg;
        MIEN_STATUS_MAP(MIEN_STRERROR_GEN)
#undef MIEN_STRERROR_GEN
    }
    return "unknown status";
}

mien_status base_error_set(mien_error *err, mien_status code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

void base_error_clear(mien_error *err)
{
    if (err != NULL) {
        err->code = MIEN_OK;
        err->message[0] = '\0';
    }
}
