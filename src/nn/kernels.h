/* kernels.h — the few hand-written CPU kernels the executor uses where oneDNN 2.6 has none
 * or a slow one. Each dispatches at run time on the process's ISA level (base/cpu.h: the
 * CPU's best, lowered by MIEN_MAX_ISA): AVX-512, AVX2, portable C. */
#ifndef MIEN_NN_KERNELS_H
#define MIEN_NN_KERNELS_H

#include <stdint.h>

#include "mien.h"

/* PReLU in place on a channels-last tensor of n floats: x[i] < 0 is multiplied by
 * slope[i % period], where `slope` holds the per-channel slopes repeated so that `period`
 * is a multiple of both the channel count and 16 (nn_kernel_prelu_period()). oneDNN 2.6
 * has no JIT PReLU post-op for convolutions (it falls to `ref:any`), and its stand-alone
 * PReLU runs at about a quarter of L2 bandwidth on channels-last data; this loop runs at
 * cache speed. @test nn/test_kernels.c */
void nn_kernel_prelu_nhwc(float *x, int64_t n, const float *slope, int64_t period);

/* The period for `channels` channels: channels if a multiple of 16, else 16 × channels. */
int64_t nn_kernel_prelu_period(int64_t channels);

/* As nn_kernel_prelu_nhwc, out of place, storing the result as bfloat16 (round to nearest
 * even, as oneDNN's reorders and vcvtneps2bf16 do): out[i] = bf16(prelu(x[i])). This is the
 * PReLU before a convolution that runs in bfloat16 (nn_precision): it saves the float32
 * store and the separate f32→bf16 reorder pass over the activations. `out` holds n
 * bfloat16 values (the upper 16 bits of the float32 pattern). One difference between the
 * paths: the AVX512-BF16 one (vcvtneps2bf16) flushes subnormal results to ±0, as oneDNN's
 * AVX512-BF16 reorders do, where nn_kernel_f32_to_bf16 rounds them. @test nn/test_kernels.c */
void nn_kernel_prelu_nhwc_bf16(const float *x, uint16_t *out, int64_t n, const float *slope,
                               int64_t period);

/* Test hooks: the kernels above at `want` (MIEN_ISA_AUTO: the process's level), lowered to
 * base_isa_active() when above it, so that tests can hold each path to the others. They
 * return the level that ran: MIEN_ISA_C, MIEN_ISA_AVX2 or MIEN_ISA_AVX512 for the float32
 * PReLU; MIEN_ISA_C or MIEN_ISA_AVX512_BF16 for the bfloat16 one. @test nn/test_kernels.c */
mien_isa nn_kernel_prelu_nhwc_isa(mien_isa want, float *x, int64_t n, const float *slope,
                                  int64_t period);
mien_isa nn_kernel_prelu_nhwc_bf16_isa(mien_isa want, const float *x, uint16_t *out, int64_t n,
                                       const float *slope, int64_t period);

/* One float32 to bfloat16, round to nearest even (NaN stays a quiet NaN). */
uint16_t nn_kernel_f32_to_bf16(float v);

#endif
