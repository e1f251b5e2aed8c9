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
