/* kernels.c — hand-written CPU kernels (see kernels.h), one function per kernel, compiled
 * for several instruction sets with GCC's target attribute and chosen per call by the
 * process's ISA level, base_isa_active() (cheap: two atomic loads), so that a cap
 * (MIEN_MAX_ISA) keeps the AVX-512 kernels from running on a machine that has them. */
#include "nn/kernels.h"

#include <string.h>

#include "base/cpu.h"

int64_t nn_kernel_prelu_period(int64_t channels)
{
    return channels % 16 == 0 ? channels : 16 * channels;
}

static void prelu_plain(float *x, int64_t n, const float *slope, int64_t period)
{
    for (int64_t i = 0; i < n; i += period) {
        int64_t len = n - i < period ? n - i : period;
        for (int64_t k = 0; k < len; k++) {
            x[i + k] = x[i + k] < 0.0f ? x[i + k] * slope[k] : x[i + k];
        }
    }
}

uint16_t nn_kernel_f32_to_bf16(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((u >> 16) | 0x40u); /* NaN: keep it a (quiet) NaN */
    }
    u += 0x7fffu + ((u >> 16) & 1u); /* round half to even on the dropped 16 bits */
    return (uint16_t)(u >> 16);
}

static void prelu_bf16_plain(const float *x, uint16_t *out, int64_t n, const float *slope,
                             int64_t period)
{
    for (int64_t i = 0; i < n; i += period) {
        int64_t len = n - i < period ? n - i : period;
        for (int64_t k = 0; k < len; k++) {
            float v = x[i + k];
            out[i + k] = nn_kernel_f32_to_bf16(v < 0.0f ? v * slope[k] : v);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* PReLU of the up to 16 floats at row (`left` of them remain in the row), with slopes
 * slope[0..15]: *live gets the mask of the lanes that exist. Inlined into both AVX-512
 * loops below. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
prelu16_avx512(const float *row, const float *slope, int64_t left, __mmask16 *live)
{
    *live = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(*live, row);
    __mmask16 neg = _mm512_mask_cmp_ps_mask(*live, v, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(v, neg, v, _mm512_loadu_ps(slope));
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void
prelu_bf16_avx512(const float *x, uint16_t *out, int64_t n, const float *slope, int64_t period)
{
    for (int64_t i = 0; i < n; i += period) {
        int64_t len = n - i < period ? n - i : period;
        for (int64_t k = 0; k < len; k += 16) {
            __mmask16 live;
            __m512 v = prelu16_avx512(x + i + k, slope + k, len - k, &live);
            _mm256_mask_storeu_epi16(out + i + k, live, (__m256i)_mm512_cvtneps_pbh(v));
        }
    }
}

__attribute__((target("avx512f"))) static void prelu_avx512(float *x, int64_t n,
                                                             const float *slope, int64_t period)
{
    for (int64_t i = 0; i < n; i += period) {
        int64_t len = n - i < period ? n - i : period;
        for (int64_t k = 0; k < len; k += 16) {
            __mmask16 live;
            __m512 v = prelu16_avx512(x + i + k, slope + k, len - k, &live);
            _mm512_mask_storeu_ps(x + i + k, live, v);
        }
    }
}

__attribute__((target("avx2"))) static void prelu_avx2(float *x, int64_t n, const float *slope,
                                                        int64_t period)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += period) {
        int64_t len = n - i < period ? n - i : period, k = 0;
        float *row = x + i;
        for (; k + 8 <= len; k += 8) {
            __m256 v = _mm256_loadu_ps(row + k);
            __m256 scaled = _mm256_mul_ps(v, _mm256_loadu_ps(slope + k));
            __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
            _mm256_storeu_ps(row + k, _mm256_blendv_ps(v, scaled, neg));
        }
        for (; k < len; k++) {
            row[k] = row[k] < 0.0f ? row[k] * slope[k] : row[k];
        }
    }
}
#endif

/* Each kernel runs at base_isa_level(want). There are no SSE4.1 kernels: MIEN_ISA_SSE41 (like
 * MIEN_ISA_C) runs the portable C loops. */

mien_isa nn_kernel_prelu_nhwc_bf16_isa(mien_isa want, const float *x, uint16_t *out, int64_t n,
                                       const float *slope, int64_t period)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* AVX512-BF16 with BW and VL: all part of MIEN_ISA_AVX512_BF16 (cpu.h) */
    if (base_isa_level(want) >= MIEN_ISA_AVX512_BF16) {
        prelu_bf16_avx512(x, out, n, slope, period);
        return MIEN_ISA_AVX512_BF16;
    }
#else
    (void)want;
#endif
    prelu_bf16_plain(x, out, n, slope, period);
    return MIEN_ISA_C;
}

void nn_kernel_prelu_nhwc_bf16(const float *x, uint16_t *out, int64_t n, const float *slope,
                               int64_t period)
{
    nn_kernel_prelu_nhwc_bf16_isa(MIEN_ISA_AUTO, x, out, n, slope, period);
}

mien_isa nn_kernel_prelu_nhwc_isa(mien_isa want, float *x, int64_t n, const float *slope,
                                  int64_t period)
{
#if defined(__x86_64__) && defined(__GNUC__)
    mien_isa level = base_isa_level(want);
    if (level >= MIEN_ISA_AVX512) {
        prelu_avx512(x, n, slope, period);
        return MIEN_ISA_AVX512;
    }
    if (level >= MIEN_ISA_AVX2) {
        prelu_avx2(x, n, slope, period);
        return MIEN_ISA_AVX2;
    }
#else
    (void)want;
#endif
    prelu_plain(x, n, slope, period);
    return MIEN_ISA_C;
}

void nn_kernel_prelu_nhwc(float *x, int64_t n, const float *slope, int64_t period)
{
    nn_kernel_prelu_nhwc_isa(MIEN_ISA_AUTO, x, n, slope, period);
}
