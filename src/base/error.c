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

int mien_http_status(mien_status status, const char **code)
{
    static const struct {
        mien_status status;
        int http;
        const char *code;
    } MAP[] = {
        {MIEN_OK, 200, "ok"},
        {MIEN_ERR_NOT_FOUND, 404, "not_found"},
        {MIEN_ERR_EXISTS, 409, "conflict"},
        {MIEN_ERR_ARG, 400, "bad_request"},
        {MIEN_ERR_FORBIDDEN, 403, "forbidden"},
        {MIEN_ERR_IMAGE, 422, "bad_image"},
    };
    for (size_t k = 0; k < sizeof(MAP) / sizeof(MAP[0]); k++) {
        if (MAP[k].status == status) {
            if (code != NULL) {
                *code = MAP[k].code;
            }
            return MAP[k].http;
        }
    }
    if (code != NULL) {
        *code = "internal";
    }
    return 500;
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
