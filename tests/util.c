/* util.c — paths, files and fixed inputs shared by the tests. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

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

int test_fixture_open(test_fixture *f)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_error err;
    opt.models_dir = test_models_dir();
    f->engine = NULL;
    f->session = NULL;
    if (mien_engine_new(&opt, &f->engine, &err) != MIEN_OK ||
        mien_session_new(f->engine, &f->session, &err) != MIEN_OK) {
        fprintf(stderr, "  %s\n", err.message);
        mien_engine_free(f->engine);
        f->engine = NULL;
        return -1;
    }
    return 0;
}

void test_fixture_close(test_fixture *f)
{
    mien_session_free(f->session);
    mien_engine_free(f->engine);
}

mien_image *test_load_sample(int k)
{
    char path[PATH_MAX + 32];
    mien_image *img = NULL;
    mien_error err;
    snprintf(path, sizeof(path), "%s/samples/sample%d.jpg", test_models_dir(), k);
    if (mien_image_load(path, NULL, &img, &err) != MIEN_OK) {
        fprintf(stderr, "  %s: %s\n", path, err.message);
        return NULL;
    }
    return img;
}

int test_temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/mien-test-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

void test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[4096 + 256];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}
