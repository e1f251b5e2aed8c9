/* cpu.h — the instruction-set level mien's own kernels run at, and the process's cap on it.
 *
 * mien dispatches its hand-written kernels (resize, warp, PReLU, the gallery scans, the
 * bfloat16 conversions) by CPUID, and oneDNN dispatches its own. Both can be capped to a
 * named level (mien_isa in mien.h) so that one machine can test and measure every lower
 * ISA: an AVX-512 machine can run the whole suite as an AVX2-only server would. The cap is
 * process-wide, as oneDNN's is (dnnl_set_max_cpu_isa), and is set at most once, before
 * the first kernel runs; a different level needs another process. It is the one mutable
 * global of the library, guarded by a mutex.
 *
 * Levels are cumulative: MIEN_ISA_AVX2 means AVX2 + FMA, MIEN_ISA_AVX512 adds AVX-512
 * F/CD/BW/DQ/VL (oneDNN's avx512_core), MIEN_ISA_AVX512_BF16 adds AVX512-BF16 and VNNI.
 * A kernel that needs a feature beyond its level's (VNNI for the int8 scan at
 * MIEN_ISA_AVX512) still checks that feature itself. @test base/test_cpu.c */
#ifndef MIEN_BASE_CPU_H
#define MIEN_BASE_CPU_H

#include <stdbool.h>

#include "mien.h"

/* The best level this CPU (and the OS's saved register state) supports; never AUTO or
 * NATIVE. Cheap after the first call. */
mien_isa base_isa_cpu(void);

/* The level mien's own kernels run at now: the CPU's best, lowered to the cap if one is
 * set. Cheap: one atomic load. */
mien_isa base_isa_active(void);

/* True when kernels of `level` may run: level <= base_isa_active(). */
bool base_isa_allows(mien_isa level);

/* The level a kernel asked to run at `want` runs at: `want` lowered to base_isa_active();
 * MIEN_ISA_AUTO and MIEN_ISA_NATIVE mean that level itself. */
mien_isa base_isa_level(mien_isa want);

/* The cap set for this process, or MIEN_ISA_NATIVE when none was. */
mien_isa base_isa_cap(void);

/* Sets the process's cap to `cap` (MIEN_ISA_C … MIEN_ISA_NATIVE). `apply`, when not NULL,
 * is called first under the same lock, to set the cap of a library below (oneDNN); if it
 * fails, nothing is set. Setting the level already set is a no-op returning MIEN_OK; a
 * different level once one is set is MIEN_ERR_ARG, naming both. */
mien_status base_isa_set_cap(mien_isa cap, mien_status (*apply)(mien_isa, mien_error *),
                             mien_error *err);

/* "c", "sse41", "avx2", "avx512", "avx512_bf16", "native" ("auto" for AUTO). */
const char *base_isa_name(mien_isa isa);

/* Parses a level name (case-insensitive; "avx512bf16", "avx512-bf16", "none" and "" for
 * native are accepted too). False for an unknown name. */
bool base_isa_parse(const char *name, mien_isa *out);

#endif
