/* cpu.c — CPUID levels and the process-wide cap (cpu.h). */
#include "base/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>

#include "base/error.h"

/* The cap, or 0 (MIEN_ISA_AUTO) while none is set. The library's only mutable global:
 * oneDNN's own cap is process-wide and set once, so mien's must be too (cpu.h). */
static _Atomic int isa_cap_level;
static pthread_mutex_t isa_cap_lock = PTHREAD_MUTEX_INITIALIZER;

static mien_isa detect(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 state (XCR0) */
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                  __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("avx512vnni")) {
        return MIEN_ISA_AVX512_BF16;
    }
    if (avx512) {
        return MIEN_ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return MIEN_ISA_AVX2;
    }
    if (__builtin_cpu_supports("sse4.1")) {
        return MIEN_ISA_SSE41;
    }
#endif
    return MIEN_ISA_C;
}

mien_isa base_isa_cpu(void)
{
    static _Atomic int cached; /* 0 until detected: a cache of a constant, not state */
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v == 0) {
        v = (int)detect();
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return (mien_isa)v;
}

mien_isa base_isa_cap(void)
{
    int cap = atomic_load_explicit(&isa_cap_level, memory_order_acquire);
    return cap == 0 ? MIEN_ISA_NATIVE : (mien_isa)cap;
}

mien_isa base_isa_active(void)
{
    mien_isa cpu = base_isa_cpu(), cap = base_isa_cap();
    return cap < cpu ? cap : cpu;
}

bool base_isa_allows(mien_isa level)
{
    return level <= base_isa_active();
}

mien_isa base_isa_level(mien_isa want)
{
    mien_isa active = base_isa_active();
    return want == MIEN_ISA_AUTO || want > active ? active : want;
}

mien_status base_isa_set_cap(mien_isa cap, mien_status (*apply)(mien_isa, mien_error *),
                             mien_error *err)
{
    mien_status st = MIEN_OK;
    int now;
    if (cap < MIEN_ISA_C || cap > MIEN_ISA_NATIVE) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown ISA level %d", (int)cap);
    }
    pthread_mutex_lock(&isa_cap_lock);
    now = atomic_load_explicit(&isa_cap_level, memory_order_acquire);
    if (now != 0 && now != (int)cap) {
        st = base_error_set(err, MIEN_ERR_ARG,
                            "the ISA cap of this process is already '%s'; it is process-wide "
                            "and set once, so '%s' needs another process",
                            base_isa_name((mien_isa)now), base_isa_name(cap));
    } else if (now == 0 && (apply == NULL || (st = apply(cap, err)) == MIEN_OK)) {
        atomic_store_explicit(&isa_cap_level, (int)cap, memory_order_release);
    }
    pthread_mutex_unlock(&isa_cap_lock);
    return st;
}

/* Names as MIEN_MAX_ISA takes them, by level. */
static const char *const ISA_NAMES[] = {
    [MIEN_ISA_AUTO] = "auto",     [MIEN_ISA_C] = "c",
    [MIEN_ISA_SSE41] = "sse41",   [MIEN_ISA_AVX2] = "avx2",
    [MIEN_ISA_AVX512] = "avx512", [MIEN_ISA_AVX512_BF16] = "avx512_bf16",
    [MIEN_ISA_NATIVE] = "native",
};

const char *base_isa_name(mien_isa isa)
{
    return isa >= MIEN_ISA_AUTO && isa <= MIEN_ISA_NATIVE ? ISA_NAMES[isa] : "unknown";
}

bool base_isa_parse(const char *name, mien_isa *out)
{
    static const struct {
        const char *name;
        mien_isa isa;
    } aliases[] = {{"", MIEN_ISA_NATIVE},          {"none", MIEN_ISA_NATIVE},
                   {"sse4.1", MIEN_ISA_SSE41},     {"sse4_1", MIEN_ISA_SSE41},
                   {"avx512bf16", MIEN_ISA_AVX512_BF16}, {"avx512-bf16", MIEN_ISA_AVX512_BF16},
                   {"avx512_core", MIEN_ISA_AVX512}, {"avx512_core_bf16", MIEN_ISA_AVX512_BF16}};
    if (name == NULL) {
        return false;
    }
    for (int i = MIEN_ISA_AUTO; i <= MIEN_ISA_NATIVE; i++) {
        if (strcasecmp(name, ISA_NAMES[i]) == 0) {
            *out = (mien_isa)i;
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcasecmp(name, aliases[i].name) == 0) {
            *out = aliases[i].isa;
            return true;
        }
    }
    return false;
}
