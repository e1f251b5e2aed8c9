/* errors.c — the CLI's error messages as a person reads them: the file named once (the library
 * already names it in mien_image_load's messages), the library's option fields replaced by the
 * environment variable that changes them, and the status of the last failure kept so that
 * `--json` can answer with the HTTP API's code for it (main.c). Public API only. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What a library message names (a field of mien_image_options) and what a person changes
 * instead. The CLI reads these variables in cli_image_options. */
static const struct {
    const char *field, *remedy;
} REMEDIES[] = {
    {"(mien_image_options.max_pixels)", "(raise it with $MIEN_MAX_PIXELS)"},
    {"(mien_image_options.max_bytes)", "(raise it with $MIEN_MAX_IMAGE_BYTES)"},
    {"(mien_image_options.max_memory)", "(raise it with $MIEN_MAX_DECODE_MEMORY, in bytes)"},
};

static mien_status last_status = MIEN_OK;

void cli_error_text(const char *what, const char *message, char *out, size_t cap)
{
    size_t len = what != NULL ? strlen(what) : 0;
    size_t used = 0;
    if (what != NULL && !(strncmp(message, what, len) == 0 && message[len] == ':')) {
        used = (size_t)snprintf(out, cap, "%s: ", what);
    }
    while (*message != '\0' && used + 1 < cap) {
        size_t k = 0, n = sizeof(REMEDIES) / sizeof(REMEDIES[0]);
        while (k < n && strncmp(message, REMEDIES[k].field, strlen(REMEDIES[k].field)) != 0) {
            k++;
        }
        if (k < n) {
            used += (size_t)snprintf(out + used, cap - used, "%s", REMEDIES[k].remedy);
            message += strlen(REMEDIES[k].field);
        } else {
            out[used++] = *message++;
        }
    }
    out[used < cap ? used : cap - 1] = '\0';
}

const char *cli_error_unnamed(const char *what, const char *message)
{
    size_t len = strlen(what);
    return strncmp(message, what, len) == 0 && strncmp(message + len, ": ", 2) == 0
               ? message + len + 2
               : message;
}

void cli_error(const char *cmd, const char *what, mien_status st, const mien_error *err)
{
    char text[sizeof(err->message) + 256];
    cli_error_text(what, err != NULL && err->message[0] ? err->message : mien_strerror(st), text,
                   sizeof(text));
    cli_note_status(st);
    fprintf(stderr, "mien%s%s: %s\n", cmd != NULL ? " " : "", cmd != NULL ? cmd : "", text);
}

void cli_note_status(mien_status st)
{
    if (st != MIEN_OK) {
        last_status = st;
    }
}

mien_status cli_last_status(void)
{
    return last_status;
}

/* $NAME as a positive number, or `fallback` when unset; a value that is not one is reported
 * and ignored (the limit stays the library's). */
static long long env_limit(const char *name, long long fallback)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long n;
    if (v == NULL || v[0] == '\0') {
        return fallback;
    }
    n = strtoll(v, &end, 10);
    if (*end != '\0' || n <= 0) {
        fprintf(stderr, "mien: %s is '%s', not a positive number: ignored\n", name, v);
        return fallback;
    }
    return n;
}

mien_image_options cli_image_options(void)
{
    mien_image_options o = mien_image_options_faces();
    o.max_pixels = (int64_t)env_limit("MIEN_MAX_PIXELS", (long long)o.max_pixels);
    o.max_bytes = (size_t)env_limit("MIEN_MAX_IMAGE_BYTES", (long long)o.max_bytes);
    o.max_memory = (size_t)env_limit("MIEN_MAX_DECODE_MEMORY", (long long)o.max_memory);
    return o;
}
