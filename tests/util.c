/* util.c — paths, files and fixed inputs shared by the tests. */
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"

const char *test_models_dir(void)
{
    static char buf[4096]; /* tests are single-threaded */
    const char *env = getenv("MIEN_MODELS");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return test_path(buf, sizeof(buf), "models");
}

const char *test_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", MIEN_SOURCE_DIR, rel);
    return buf;
}

unsigned char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n;
    *size = 0;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        } else if (data != NULL) {
            *size = (size_t)n;
        }
    }
    fclose(f);
    return data;
}

int test_models_missing(void)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/MobileFaceNet.tflite", test_models_dir());
    if (stat(p, &st) != 0) {
        printf("  skip: models not found in %s (run scripts/setup)\n", test_models_dir());
        return 1;
    }
    return 0;
}

void test_fixed_input(float *x, size_t n)
{
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = (1103515245u * s + 12345u) & 0x7fffffffu;
        x[i] = (float)(s / 1073741824.0 - 1.0);
    }
}
