/* test_kernels.c — the hand-written kernels against a plain loop, at channel counts that
 * are and are not multiples of the vector width, with ragged tails. */
#include <stdbool.h>

#include "nn/kernels.h"
#include "test.h"

TEST(kernel_prelu_nhwc)
{
    static const int64_t channels[] = {1, 3, 10, 16, 32, 48, 64, 128};
    static const int64_t pixels[] = {1, 7, 33};
    for (size_t ci = 0; ci < sizeof(channels) / sizeof(channels[0]); ci++) {
        for (size_t pi = 0; pi < sizeof(pixels) / sizeof(pixels[0]); pi++) {
            int64_t c = channels[ci], n = c * pixels[pi];
            int64_t period = nn_kernel_prelu_period(c);
            float *x = malloc((size_t)n * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
            float *slope = malloc((size_t)period * sizeof(float));
            ASSERT_TRUE(x != NULL && want != NULL && slope != NULL);
            ASSERT_TRUE(period % c == 0 && period % 16 == 0);
            test_fixed_input(x, (size_t)n);
            for (int64_t k = 0; k < period; k++) {
                slope[k] = 0.05f * (float)(k % c) - 0.3f; /* some slopes negative */
            }
            for (int64_t i = 0; i < n; i++) {
                want[i] = x[i] < 0.0f ? x[i] * slope[i % c] : x[i];
            }
            nn_kernel_prelu_nhwc(x, n, slope, period);
            for (int64_t i = 0; i < n; i++) {
                ASSERT_NEAR(x[i], want[i], 0.0);
            }
            free(x);
            free(want);
            free(slope);
        }
    }
    return 0;
}

/* float32 → bfloat16 rounding: exact values, ties to even, the largest finite, NaN. */
TEST(kernel_f32_to_bf16)
{
    static const struct {
        uint32_t in;
        uint16_t want;
    } cases[] = {
        {0x3f800000u, 0x3f80u}, /* 1.0: exact */
        {0xbf800000u, 0xbf80u}, /* -1.0 */
        {0x3f808000u, 0x3f80u}, /* 1 + 2^-8: a tie, rounds to the even 1.0 */
        {0x3f818000u, 0x3f82u}, /* 1 + 3·2^-8: a tie, rounds up to even */
        {0x3f808001u, 0x3f81u}, /* just above the tie: up */
        {0x3f807fffu, 0x3f80u}, /* just below: down */
        {0x7f7fffffu, 0x7f80u}, /* FLT_MAX rounds to +inf, as RNE must */
        {0x7f800000u, 0x7f80u}, /* +inf */
        {0x00000000u, 0x0000u}, /* +0 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        float v;
        memcpy(&v, &cases[i].in, sizeof(v));
        ASSERT_EQ_INT(nn_kernel_f32_to_bf16(v), cases[i].want);
    }
    ASSERT_TRUE((nn_kernel_f32_to_bf16(NAN) & 0x7f80u) == 0x7f80u &&
                (nn_kernel_f32_to_bf16(NAN) & 0x007fu) != 0);
    return 0;
}

/* The bfloat16-storing PReLU (AVX512-BF16 where the CPU has it) is bit-identical to PReLU in
 * float32 followed by nn_kernel_f32_to_bf16 — the rounding oneDNN's reorders use — at
 * channel counts and lengths with ragged tails (on normal values: see
 * kernel_prelu_isa_paths_agree for subnormals). */
TEST(kernel_prelu_nhwc_bf16)
{
    static const int64_t channels[] = {1, 3, 10, 16, 32, 48, 64, 128};
    static const int64_t pixels[] = {1, 7, 33};
    for (size_t ci = 0; ci < sizeof(channels) / sizeof(channels[0]); ci++) {
        for (size_t pi = 0; pi < sizeof(pixels) / sizeof(pixels[0]); pi++) {
            int64_t c = channels[ci], n = c * pixels[pi];
            int64_t period = nn_kernel_prelu_period(c);
            float *x = malloc((size_t)n * sizeof(float));
            float *slope = malloc((size_t)period * sizeof(float));
            uint16_t *got = malloc((size_t)(n + 1) * sizeof(uint16_t));
            ASSERT_TRUE(x != NULL && got != NULL && slope != NULL);
            test_fixed_input(x, (size_t)n);
            for (int64_t k = 0; k < period; k++) {
                slope[k] = 0.05f * (float)(k % c) - 0.3f;
            }
            got[n] = 0xabcdu; /* a guard: nothing written past n */
            nn_kernel_prelu_nhwc_bf16(x, got, n, slope, period);
            for (int64_t i = 0; i < n; i++) {
                float v = x[i] < 0.0f ? x[i] * slope[i % c] : x[i];
                ASSERT_EQ_INT(got[i], nn_kernel_f32_to_bf16(v));
            }
            ASSERT_EQ_INT(got[n], 0xabcdu);
            free(x);
            free(got);
            free(slope);
        }
    }
    return 0;
}

/* x[i] = a spread of values around 0 with some specials (±0, ±inf, NaN, a subnormal), so
 * that every path's compare-and-blend sees them. */
static void prelu_input(float *x, int64_t n)
{
    static const float specials[] = {-0.0f, 0.0f, INFINITY, -INFINITY, NAN, -1e-40f, 1e-40f};
    test_fixed_input(x, (size_t)n);
    for (int64_t i = 0; i < n; i += 13) {
        x[i] = specials[(i / 13) % (int64_t)(sizeof(specials) / sizeof(specials[0]))];
    }
}

/* Every PReLU path this process may run (the plain C, AVX2 and AVX-512 float32 loops; the
 * plain and AVX512-BF16 bfloat16 stores) gives the plain C loop's bits (but for subnormal
 * results, which the AVX512-BF16 store flushes to zero), at lengths that are
 * not multiples of the period, the channels or the vector width, and at periods of 16 × an
 * odd count. A level above the process's (MIEN_MAX_ISA, or the CPU) runs as the level below:
 * the hook says which ran, and that is never above mien_isa_active(). */
TEST(kernel_prelu_isa_paths_agree)
{
    static const int64_t channels[] = {1, 3, 5, 7, 16, 17, 33, 48, 64};
    static const int64_t lengths[] = {1, 5, 15, 17, 31, 33, 100, 257, 1001};
    static const mien_isa levels[] = {MIEN_ISA_C, MIEN_ISA_SSE41, MIEN_ISA_AVX2, MIEN_ISA_AVX512,
                                      MIEN_ISA_AVX512_BF16, MIEN_ISA_NATIVE, MIEN_ISA_AUTO};
    const mien_isa active = mien_isa_active();
    for (size_t ci = 0; ci < sizeof(channels) / sizeof(channels[0]); ci++) {
        for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
            int64_t c = channels[ci], n = lengths[li] * (1 + c % 3) + c / 2;
            int64_t period = nn_kernel_prelu_period(c);
            float *x = malloc((size_t)n * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
            float *got = malloc((size_t)(n + 1) * sizeof(float));
            float *slope = malloc((size_t)period * sizeof(float));
            uint16_t *b_want = malloc((size_t)n * sizeof(uint16_t));
            uint16_t *b_got = malloc((size_t)(n + 1) * sizeof(uint16_t));
            ASSERT_TRUE(x && want && got && slope && b_want && b_got);
            prelu_input(x, n);
            for (int64_t k = 0; k < period; k++) {
                slope[k] = 0.07f * (float)(k % c) - 0.25f;
            }
            memcpy(want, x, (size_t)n * sizeof(float));
            ASSERT_EQ_INT(nn_kernel_prelu_nhwc_isa(MIEN_ISA_C, want, n, slope, period), MIEN_ISA_C);
            ASSERT_EQ_INT(nn_kernel_prelu_nhwc_bf16_isa(MIEN_ISA_C, x, b_want, n, slope, period),
                          MIEN_ISA_C);
            for (int64_t i = 0; i < n; i++) {
                ASSERT_EQ_INT(b_want[i], nn_kernel_f32_to_bf16(want[i]));
            }
            for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
                mien_isa lv = levels[l], top = lv == MIEN_ISA_AUTO || lv > active ? active : lv;
                memcpy(got, x, (size_t)n * sizeof(float));
                got[n] = 12345.0f; /* guards: nothing written past n */
                mien_isa ran = nn_kernel_prelu_nhwc_isa(lv, got, n, slope, period);
                ASSERT_TRUE(ran <= top);
                ASSERT_EQ_INT(ran, top >= MIEN_ISA_AVX512 ? MIEN_ISA_AVX512
                                   : top >= MIEN_ISA_AVX2 ? MIEN_ISA_AVX2 : MIEN_ISA_C);
                ASSERT_TRUE(memcmp(got, want, (size_t)n * sizeof(float)) == 0);
                ASSERT_TRUE(got[n] == 12345.0f);
                b_got[n] = 0xabcdu;
                ran = nn_kernel_prelu_nhwc_bf16_isa(lv, x, b_got, n, slope, period);
                ASSERT_EQ_INT(ran, top >= MIEN_ISA_AVX512_BF16 ? MIEN_ISA_AVX512_BF16 : MIEN_ISA_C);
                for (int64_t i = 0; i < n; i++) {
                    /* vcvtneps2bf16 flushes subnormal inputs to zero whatever MXCSR says
                     * (as oneDNN's own AVX512-BF16 reorders do): the one difference. */
                    bool flushed = ran == MIEN_ISA_AVX512_BF16 &&
                                   fpclassify(want[i]) == FP_SUBNORMAL &&
                                   b_got[i] == (signbit(want[i]) ? 0x8000u : 0x0000u);
                    if (b_got[i] != b_want[i] && !flushed) {
                        TEST_FAIL_("bf16 PReLU at %s, element %lld of %lld: %04x, plain %04x",
                                   mien_isa_name(ran), (long long)i, (long long)n, b_got[i],
                                   b_want[i]);
                    }
                }
                ASSERT_EQ_INT(b_got[n], 0xabcdu);
            }
            free(x);
            free(want);
            free(got);
            free(slope);
            free(b_want);
            free(b_got);
        }
    }
    return 0;
}
