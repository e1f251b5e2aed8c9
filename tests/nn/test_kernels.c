/* test_kernels.c — the hand-written kernels against a plain loop, at channel counts that
 * are and are not multiples of the vector width, with ragged tails. */
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
 * channel counts and lengths with ragged tails. */
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
