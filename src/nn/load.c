/* load.c — reading a model file and handing it to the ONNX or TFLite loader by content
 * (see load.h for the detection rule). */
#include "nn/load.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "nn/onnx_load.h"
#include "nn/tflite_load.h"

/* Reads the whole regular file `path` into a new buffer (*bytes, malloc'd, freed by the
 * caller) of *size bytes. MIEN_ERR_IO when it cannot be opened, stat'ed or read, or is
 * not a regular file; MIEN_ERR_MODEL when it is empty or over NN_MAX_MODEL_FILE_BYTES. */
static mien_status read_file(const char *path, uint8_t **bytes, size_t *size, mien_error *err)
{
    struct stat st;
    uint8_t *buf;
    size_t n;
    mien_status s;
    FILE *f = fopen(path, "rb");

    *bytes = NULL;
    *size = 0;
    if (f == NULL) {
        return base_error_set(err, MIEN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail_stat;
    }
    if (!S_ISREG(st.st_mode)) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: not a regular file", path);
        goto fail_stat;
    }
    if (st.st_size == 0) {
        s = base_error_set(err, MIEN_ERR_MODEL, "%s: the file is empty", path);
        goto fail_stat;
    }
    if ((uint64_t)st.st_size > NN_MAX_MODEL_FILE_BYTES) {
        s = base_error_set(err, MIEN_ERR_MODEL,
                           "%s: %lld bytes is larger than the %zu MB mien reads", path,
                           (long long)st.st_size, NN_MAX_MODEL_FILE_BYTES >> 20);
        goto fail_stat;
    }
    n = (size_t)st.st_size;
    buf = malloc(n);
    if (buf == NULL) {
        s = base_error_set(err, MIEN_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
        goto fail_stat;
    }
    if (fread(buf, 1, n, f) != n) {
        s = base_error_set(err, MIEN_ERR_IO, "%s: cannot read: %s", path,
                           ferror(f) ? strerror(errno) : "file shrank while reading");
        goto fail_read;
    }
    fclose(f);
    *bytes = buf;
    *size = n;
    return MIEN_OK;

fail_read:
    free(buf);
fail_stat:
    fclose(f);
    return s;
}

mien_status nn_load_file(const char *path, nn_graph **out, mien_error *err)
{
    uint8_t *bytes;
    size_t size;
    mien_status s;

    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "nn_load_file: no output pointer");
    }
    *out = NULL;
    if (path == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "nn_load_file: no path");
    }
    s = read_file(path, &bytes, &size, err);
    if (s != MIEN_OK) {
        return s;
    }
    if (size >= 8 && memcmp(bytes + 4, "TFL3", 4) == 0) {
        s = nn_tflite_load(bytes, size, out, err);
    } else {
        s = nn_onnx_load(bytes, size, out, err);
    }
    free(bytes);
    if (s != MIEN_OK && err != NULL) {
        /* Prefix the loader's message with the file it came from. */
        char msg[sizeof(err->message)];
        memcpy(msg, err->message, sizeof(msg));
        msg[sizeof(msg) - 1] = '\0';
        base_error_set(err, s, "%s: %s", path, msg);
    }
    return s;
}
