/* runner.c — runs the tests of tests/test_list.h (all, or those named on the command
 * line, or those whose name contains $MIEN_TEST_FILTER) and ends with the line
 * "N passed, N failed, N skipped" that CI reads. Exit status 0 only if none failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_list.h"

#define DECLARE_TEST(name) int test_##name(void);
TEST_LIST(DECLARE_TEST)

typedef struct test_entry {
    const char *name;
    int (*fn)(void);
} test_entry;

static const test_entry TESTS[] = {
#define ENTRY(name) {#name, test_##name},
    TEST_LIST(ENTRY)
};

static int selected(const char *name, int argc, char **argv)
{
    const char *filter = getenv("MIEN_TEST_FILTER");
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], name) == 0) {
                return 1;
            }
        }
        return 0;
    }
    return filter == NULL || strstr(name, filter) != NULL;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *isa = getenv("MIEN_MAX_ISA");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (isa != NULL && isa[0] != '\0') { /* the ISA matrix (make test-isa): one level a run */
        mien_isa cap;
        mien_error err;
        if (mien_isa_parse(isa, &cap, &err) != MIEN_OK || mien_set_max_isa(cap, &err) != MIEN_OK) {
            fprintf(stderr, "MIEN_MAX_ISA: %s\n", err.message);
            return 2;
        }
    }
    printf("ISA: mien's kernels at %s (CPU: %s, cap: %s)\n", mien_isa_name(mien_isa_active()),
           mien_isa_name(mien_isa_cpu()), isa != NULL && isa[0] ? isa : "none");
    for (size_t i = 0; i < sizeof(TESTS) / sizeof(TESTS[0]); i++) {
        if (!selected(TESTS[i].name, argc, argv)) {
            continue;
        }
        printf("test %s ...\n", TESTS[i].name);
        int rc = TESTS[i].fn();
        fflush(stderr);
        if (rc == 0) {
            printf("  ok %s\n", TESTS[i].name);
            passed++;
        } else if (rc == TEST_SKIP) {
            printf("  skipped %s\n", TESTS[i].name);
            skipped++;
        } else {
            printf("  FAILED %s\n", TESTS[i].name);
            failed++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
