/* test.h — the tiny assertion kit of mien's test runner.
 *
 * A test is `int test_NAME(void)` listed in tests/test_list.h; it returns 0 on pass,
 * TEST_SKIP (with a printed reason) when data it needs is absent, and anything else on
 * failure. Each ASSERT prints file, line, the expression and both values, then fails. */
#ifndef MIEN_TEST_H
#define MIEN_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mien.h"

#define TEST_SKIP 77

#define TEST(name) int test_##name(void)

#define TEST_FAIL_(fmt, ...)                                                           \
    do {                                                                               \
        fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);        \
        return 1;                                                                      \
    } while (0)

#define ASSERT_TRUE(expr)                                                              \
    do {                                                                               \
        if (!(expr)) {                                                                 \
            TEST_FAIL_("assertion failed: %s", #expr);                                 \
        }                                                                              \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                            \
    do {                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                            \
        if (a_ != b_) {                                                                \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                      \
        }                                                                              \
    } while (0)

#define ASSERT_NEAR(a, b, tol)                                                         \
    do {                                                                               \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                 \
        if (!(fabs(a_ - b_) <= t_)) {                                                  \
            TEST_FAIL_("%s ~ %s: %.9g vs %.9g (tolerance %g)", #a, #b, a_, b_, t_);    \
        }                                                                              \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                            \
    do {                                                                               \
        const char *a_ = (a), *b_ = (b);                                               \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                         \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",       \
                       b_ ? b_ : "(null)");                                            \
        }                                                                              \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                   \
    do {                                                                               \
        const char *h_ = (hay), *n_ = (needle);                                        \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                                    \
            TEST_FAIL_("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);      \
        }                                                                              \
    } while (0)

/* Expects `expr` (a mien_status) to equal `code`; prints both names and err's message. */
#define ASSERT_STATUS(expr, code, errp)                                                \
    do {                                                                               \
        mien_status s_ = (expr);                                                       \
        if (s_ != (code)) {                                                            \
            const mien_error *e_ = (errp);                                             \
            TEST_FAIL_("%s: got %s (%d), want %s; message: %s", #expr,                 \
                       mien_strerror(s_), (int)s_, mien_strerror(code),                \
                       e_ != NULL ? e_->message : "");                                 \
        }                                                                              \
    } while (0)

#define ASSERT_OK(expr, errp) ASSERT_STATUS(expr, MIEN_OK, errp)

/* Path helpers (tests/util.c). test_models_dir(): $MIEN_MODELS, else
 * MIEN_SOURCE_DIR/models. test_path(buf, size, rel): MIEN_SOURCE_DIR/rel. */
const char *test_models_dir(void);
const char *test_path(char *buf, size_t size, const char *rel);
/* Reads a whole file into a malloc'd buffer (*size bytes); NULL if unreadable. */
unsigned char *test_read_file(const char *path, size_t *size);
/* True (and prints why) when the models folder is absent: the caller returns TEST_SKIP. */
int test_models_missing(void);
/* Fills x[n] with the reference bench's fixed inputs: s = (1103515245u*s + 12345u) &
 * 0x7fffffff from s = 1; x = s / 2^30 - 1 (reference/bin/bench.js). */
void test_fixed_input(float *x, size_t n);

/* An engine on test_models_dir() and one session on it (tests/util.c); 0 on success, -1
 * (with the reason printed) otherwise. test_fixture_close() frees both. */
typedef struct test_fixture {
    mien_engine *engine;
    mien_session *session;
} test_fixture;
int test_fixture_open(test_fixture *f);
void test_fixture_close(test_fixture *f);
/* test_models_dir()/samples/sampleK.jpg decoded at full size; NULL (reason printed) if not. */
mien_image *test_load_sample(int k);

/* A new empty directory /tmp/mien-test-XXXXXX (name in dir[size]); 0 on success. */
int test_temp_dir(char *dir, size_t size);
/* Removes every file in `dir` (not recursive), then dir. */
void test_remove_dir(const char *dir);

/* Templates of the first `want` faces of sample `k` (detector order) in `profile`; the
 * digest of sample k's file into sha (when not NULL). Returns how many were made. */
size_t test_sample_templates(test_fixture *f, int k, mien_profile profile, size_t want,
                             mien_template **out, uint8_t sha[32]);
/* Whether the file at `path` contains needle[n] anywhere (0 when it cannot be read). */
int test_file_contains(const char *path, const void *needle, size_t n);

/* Runs `sql` on the SQLite file at `path` behind the store's back (what an older build, or
 * someone with the file, writes); the SQLite result code. */
int test_sqlite_exec(const char *path, const char *sql);

/* A keyring for store tests (tests/util.c): created once per process in a temp folder,
 * removed at exit. Borrowed. */
struct keyring;
const struct keyring *test_keyring(void);
/* The policy tests give collections unless they test policies: purpose "test", no consent
 * needed, no review. And a context with purpose "test", case "case-1", actor "tester". */
extern const mien_collection_policy TEST_POLICY;
extern const mien_context TEST_CTX;
/* mien_search with TEST_CTX, handing the candidates over as an array (free with mien_free):
 * the shape the gallery tests were written for. */
mien_status test_search(mien_store *s, const char *coll, const mien_template *probe,
                        const mien_search_options *opt, mien_candidate **out, size_t *count,
                        mien_error *err);

/* A packed ONNX model using the unknown operator "FancyOp" (tests/nn/test_onnx_load.c);
 * malloc'd, caller frees. */
unsigned char *test_onnx_unknown_op_model(size_t *size);

/* Heap allocations (malloc, calloc, realloc, aligned) made by any thread since the process
 * started, counted by tests/alloc_count.c; -1 when counting is unavailable (sanitizer
 * builds, whose runtime owns malloc). */
long test_alloc_count(void);
/* Of those, the ones made with libdnnl on the call stack, counted while attribution is on
 * (test_alloc_attribute(1); slow: a backtrace per allocation). -1 in sanitizer builds. */
long test_alloc_count_in_onednn(void);
void test_alloc_attribute(int on);

#endif
