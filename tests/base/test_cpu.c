/* test_cpu.c — ISA levels and the process's cap (base/cpu.h): names, order, and that every
 * CPUID dispatch of mien's own kernels (resize and warp, the gallery scans, PReLU) follows
 * the cap. The cap is process-wide and set once, so the runner sets it from $MIEN_MAX_ISA
 * before any test; the test that sets one itself does so in a child process when the runner
 * set none, so that the tests after it still run uncapped. */
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/error.h"
#include "gallery/index.h"
#include "image/image.h"
#include "nn/kernels.h"
#include "test.h"

TEST(cpu_isa_names)
{
    static const struct {
        const char *name;
        mien_isa isa;
    } aliases[] = {{"C", MIEN_ISA_C},          {"SSE41", MIEN_ISA_SSE41},
                   {"sse4.1", MIEN_ISA_SSE41}, {"Avx2", MIEN_ISA_AVX2},
                   {"avx512_core", MIEN_ISA_AVX512}, {"avx512bf16", MIEN_ISA_AVX512_BF16},
                   {"avx512-bf16", MIEN_ISA_AVX512_BF16}, {"none", MIEN_ISA_NATIVE},
                   {"", MIEN_ISA_NATIVE}};
    static const char *const bad[] = {"avx", "avx3", "sse4", "native ", " c", "avx512_vnni"};
    mien_isa got;
    mien_error err;
    for (int i = MIEN_ISA_AUTO; i <= MIEN_ISA_NATIVE; i++) {
        const char *name = base_isa_name((mien_isa)i);
        ASSERT_TRUE(strcmp(name, "unknown") != 0);
        ASSERT_TRUE(base_isa_parse(name, &got));
        ASSERT_EQ_INT(got, i);
        ASSERT_STR_EQ(mien_isa_name((mien_isa)i), name);
        for (int j = MIEN_ISA_AUTO; j < i; j++) { /* one name per level */
            ASSERT_TRUE(strcmp(base_isa_name((mien_isa)j), name) != 0);
        }
    }
    ASSERT_STR_EQ(base_isa_name(MIEN_ISA_AVX512_BF16), "avx512_bf16");
    ASSERT_STR_EQ(base_isa_name((mien_isa)(MIEN_ISA_NATIVE + 1)), "unknown");
    ASSERT_STR_EQ(base_isa_name((mien_isa)-1), "unknown");
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        ASSERT_TRUE(base_isa_parse(aliases[i].name, &got));
        ASSERT_EQ_INT(got, aliases[i].isa);
    }
    got = MIEN_ISA_AVX2;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_TRUE(!base_isa_parse(bad[i], &got));
        ASSERT_STATUS(mien_isa_parse(bad[i], &got, &err), MIEN_ERR_ARG, &err);
        ASSERT_CONTAINS(err.message, "avx512_bf16"); /* it lists the names */
    }
    ASSERT_EQ_INT(got, MIEN_ISA_AVX2); /* untouched by a failed parse */
    ASSERT_TRUE(!base_isa_parse(NULL, &got));
    ASSERT_STATUS(mien_isa_parse(NULL, &got, &err), MIEN_ERR_ARG, &err);
    return 0;
}

/* Levels are cumulative, lowest first; the active level is the CPU's, lowered to the cap. */
TEST(cpu_isa_levels)
{
    const mien_isa cpu = base_isa_cpu(), active = base_isa_active(), cap = base_isa_cap();
    ASSERT_TRUE(MIEN_ISA_AUTO < MIEN_ISA_C && MIEN_ISA_C < MIEN_ISA_SSE41);
    ASSERT_TRUE(MIEN_ISA_SSE41 < MIEN_ISA_AVX2 && MIEN_ISA_AVX2 < MIEN_ISA_AVX512);
    ASSERT_TRUE(MIEN_ISA_AVX512 < MIEN_ISA_AVX512_BF16 && MIEN_ISA_AVX512_BF16 < MIEN_ISA_NATIVE);
    ASSERT_TRUE(cpu >= MIEN_ISA_C && cpu <= MIEN_ISA_AVX512_BF16); /* never AUTO or NATIVE */
    ASSERT_TRUE(cap >= MIEN_ISA_C && cap <= MIEN_ISA_NATIVE);
    ASSERT_TRUE(active >= MIEN_ISA_C && active <= cpu && active <= cap);
    ASSERT_EQ_INT(active, cap < cpu ? cap : cpu);
    ASSERT_EQ_INT(mien_isa_active(), active);
    ASSERT_EQ_INT(mien_isa_cpu(), cpu);
    for (int l = MIEN_ISA_C; l <= MIEN_ISA_NATIVE; l++) {
        ASSERT_EQ_INT(base_isa_allows((mien_isa)l), l <= (int)active);
        /* a kernel asked for level l runs at l, lowered to the active level */
        ASSERT_EQ_INT(base_isa_level((mien_isa)l), l <= (int)active ? l : (int)active);
    }
    ASSERT_EQ_INT(base_isa_level(MIEN_ISA_AUTO), active);
    fprintf(stderr, "  CPU %s, cap %s, active %s\n", base_isa_name(cpu), base_isa_name(cap),
            base_isa_name(active));
    return 0;
}

/* Every dispatch of mien's own kernels runs at the level its kernels need and the process
 * allows, not above: with MIEN_MAX_ISA=avx2 the resize, the scans and PReLU run AVX2 on an
 * AVX-512 machine; with c or sse41 (no SSE4.1 kernels) they run the portable code. */
static int check_dispatch(mien_isa active)
{
    float x[37], slope[16];
    uint16_t b[37];
    for (int i = 0; i < 37; i++) {
        x[i] = (float)(i - 18);
    }
    for (int i = 0; i < 16; i++) {
        slope[i] = 0.25f;
    }
    ASSERT_EQ_INT(image_isa_best(), active >= MIEN_ISA_AVX512 ? IMAGE_ISA_AVX512
                                    : active >= MIEN_ISA_AVX2 ? IMAGE_ISA_AVX2
                                                              : IMAGE_ISA_BASE);
    ASSERT_EQ_INT(gallery_index_isa(GALLERY_ISA_BEST),
                  active >= MIEN_ISA_AVX512 ? GALLERY_ISA_AVX512
                  : active >= MIEN_ISA_AVX2 ? GALLERY_ISA_AVX2 : GALLERY_ISA_SCALAR);
    /* an explicit request above the process's level is lowered to it */
    ASSERT_EQ_INT(gallery_index_isa(GALLERY_ISA_AVX512), gallery_index_isa(GALLERY_ISA_BEST));
    ASSERT_EQ_INT(gallery_index_isa(GALLERY_ISA_SCALAR), GALLERY_ISA_SCALAR);
    ASSERT_EQ_INT(nn_kernel_prelu_nhwc_isa(MIEN_ISA_NATIVE, x, 37, slope, 16),
                  active >= MIEN_ISA_AVX512 ? MIEN_ISA_AVX512
                  : active >= MIEN_ISA_AVX2 ? MIEN_ISA_AVX2 : MIEN_ISA_C);
    ASSERT_EQ_INT(nn_kernel_prelu_nhwc_bf16_isa(MIEN_ISA_AUTO, x, b, 37, slope, 16),
                  active >= MIEN_ISA_AVX512_BF16 ? MIEN_ISA_AVX512_BF16 : MIEN_ISA_C);
    return 0;
}

TEST(cpu_isa_dispatch_follows_cap)
{
    return check_dispatch(base_isa_active());
}

static int apply_calls;
static mien_isa apply_level;

static mien_status apply_fails(mien_isa cap, mien_error *err)
{
    apply_calls++;
    apply_level = cap;
    return base_error_set(err, MIEN_ERR_BACKEND, "the library below refuses %s",
                          base_isa_name(cap));
}

static mien_status apply_counts(mien_isa cap, mien_error *err)
{
    (void)err;
    apply_calls++;
    apply_level = cap;
    return MIEN_OK;
}

/* With `cap` set: the same level again is a no-op (the library below is not asked again), a
 * different one or an unknown one is MIEN_ERR_ARG naming both, and nothing changes. */
static int check_cap_is_set(mien_isa cap)
{
    const mien_isa active = base_isa_active();
    const mien_isa other = cap == MIEN_ISA_AVX2 ? MIEN_ISA_AVX512 : MIEN_ISA_AVX2;
    mien_error err;
    apply_calls = 0;
    ASSERT_OK(base_isa_set_cap(cap, apply_counts, &err), &err);
    ASSERT_EQ_INT(apply_calls, 0);
    ASSERT_STATUS(base_isa_set_cap(other, apply_counts, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(apply_calls, 0);
    ASSERT_CONTAINS(err.message, base_isa_name(cap));
    ASSERT_CONTAINS(err.message, base_isa_name(other));
    ASSERT_STATUS(base_isa_set_cap((mien_isa)(MIEN_ISA_NATIVE + 1), NULL, &err), MIEN_ERR_ARG,
                  &err);
    ASSERT_STATUS(base_isa_set_cap(MIEN_ISA_AUTO, NULL, &err), MIEN_ERR_ARG, &err);
    ASSERT_EQ_INT(base_isa_cap(), cap);
    ASSERT_EQ_INT(base_isa_active(), active);
    return 0;
}

/* In a process with no cap yet: a failing `apply` leaves none set; then avx2 is set once,
 * the library below is told, and the dispatches follow. */
static int first_cap_child(void)
{
    mien_error err;
    apply_calls = 0;
    ASSERT_STATUS(base_isa_set_cap(MIEN_ISA_AVX512, apply_fails, &err), MIEN_ERR_BACKEND,
                  &err);
    ASSERT_EQ_INT(apply_calls, 1);
    ASSERT_EQ_INT(apply_level, MIEN_ISA_AVX512);
    ASSERT_EQ_INT(base_isa_cap(), MIEN_ISA_NATIVE);
    ASSERT_EQ_INT(base_isa_active(), base_isa_cpu());
    ASSERT_OK(base_isa_set_cap(MIEN_ISA_AVX2, apply_counts, &err), &err);
    ASSERT_EQ_INT(apply_calls, 2);
    ASSERT_EQ_INT(apply_level, MIEN_ISA_AVX2);
    ASSERT_EQ_INT(base_isa_cap(), MIEN_ISA_AVX2);
    ASSERT_EQ_INT(base_isa_active(), base_isa_cpu() < MIEN_ISA_AVX2 ? base_isa_cpu()
                                                                    : MIEN_ISA_AVX2);
    if (check_dispatch(base_isa_active()) != 0 || check_cap_is_set(MIEN_ISA_AVX2) != 0) {
        return 1;
    }
    return 0;
}

TEST(cpu_isa_set_cap_once)
{
    const char *env = getenv("MIEN_MAX_ISA");
    if (base_isa_cap() != MIEN_ISA_NATIVE || (env != NULL && env[0] != '\0')) {
        return check_cap_is_set(base_isa_cap()); /* the runner set it */
    }
    /* None set: setting one here would cap every test after this one, so a child does. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        _exit(first_cap_child()); /* _exit: not the parent's atexit clean-ups */
    }
    int status = 0;
    ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    ASSERT_EQ_INT(base_isa_cap(), MIEN_ISA_NATIVE); /* this process is still uncapped */
    return 0;
}
