/* util.c — paths, files and fixed inputs shared by the tests. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/keyring.h"
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
    /* the library reads no environment: $MIEN_PRECISION reaches it as the CLI passes it */
    if (mien_precision_parse(getenv("MIEN_PRECISION"), &opt.precision, &err) != MIEN_OK ||
        mien_engine_new(&opt, &f->engine, &err) != MIEN_OK ||
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

/* ---- accountability helpers ------------------------------------------------------------- */

const mien_collection_policy TEST_POLICY = {
    .purposes = "test",
    .legal_basis = "unit tests on synthetic data",
    .consent = MIEN_CONSENT_NOT_NEEDED,
    .retention_s = 0,
    .review = MIEN_REVIEW_NONE,
    .verification_only = 0,
    /* the unit tests rank every enrolled subject (max_fmr 1); the caps themselves, the
     * defaults included, are tested in gallery/test_caps.c */
    .max_fmr = 1.0,
};

const mien_context TEST_CTX = {.actor = "tester", .purpose = "test", .case_ref = "case-1"};

static char keyring_dir[64];
static keyring *shared_keyring;

static void keyring_cleanup(void)
{
    keyring_free(shared_keyring);
    test_remove_dir(keyring_dir);
}

const struct keyring *test_keyring(void)
{
    if (shared_keyring == NULL && test_temp_dir(keyring_dir, sizeof(keyring_dir)) == 0) {
        char path[128];
        snprintf(path, sizeof(path), "%s/test.key", keyring_dir);
        if (keyring_create(path, &shared_keyring, NULL) == MIEN_OK) {
            atexit(keyring_cleanup);
        }
    }
    return shared_keyring;
}

mien_status test_search(mien_store *s, const char *coll, const mien_template *probe,
                        const mien_search_options *opt, mien_candidate **out, size_t *count,
                        mien_error *err)
{
    mien_search_result r;
    mien_status st = mien_search(s, coll, probe, opt, &TEST_CTX, &r, err);
    for (size_t k = 0; k < r.count; k++) { /* the array alone goes to the caller */
        free(r.candidates[k].faces);
        r.candidates[k].faces = NULL;
    }
    *out = r.candidates;
    *count = r.count;
    return st;
}

/* Templates of the first `want` faces of sample `k` (detector order) in `profile`; the
 * digest of sample k's file into sha (when not NULL). Returns how many were made. */
size_t test_sample_templates(test_fixture *f, int k, mien_profile profile, size_t want,
                               mien_template **out, uint8_t sha[32])
{
    mien_image *img = test_load_sample(k);
    mien_face *faces = NULL;
    size_t n = 0, made = 0;
    if (img == NULL || mien_detect(f->session, img, NULL, &faces, &n, NULL) != MIEN_OK) {
        mien_image_free(img);
        return 0;
    }
    for (size_t i = 0; i < n && made < want; i++) {
        if (mien_embed(f->session, img, &faces[i], profile, &out[made], NULL) == MIEN_OK) {
            made++;
        }
    }
    mien_faces_free(faces);
    mien_image_free(img);
    if (sha != NULL) {
        char path[4200];
        size_t size = 0;
        unsigned char *bytes;
        snprintf(path, sizeof(path), "%s/samples/sample%d.jpg", test_models_dir(), k);
        bytes = test_read_file(path, &size);
        if (bytes == NULL || mien_sha256(bytes, size, sha) != MIEN_OK) {
            made = 0;
        }
        free(bytes);
    }
    return made;
}


int test_file_contains(const char *path, const void *needle, size_t n)
{
    size_t size = 0;
    unsigned char *bytes = test_read_file(path, &size);
    int found = bytes != NULL && n > 0 && size >= n && memmem(bytes, size, needle, n) != NULL;
    free(bytes);
    return found;
}

int test_sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}
