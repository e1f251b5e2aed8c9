/* alloc_count.c — a counting allocator for the "no allocation per inference" test.
 *
 * The test executable defines malloc & co., which (ELF symbol interposition) every library
 * in the process then calls, oneDNN and libgomp included; each forwards to glibc's own
 * __libc_* entry points after bumping one atomic counter. While attribution is on, each
 * allocation's call stack (backtrace + dladdr, neither of which allocates once warm) says
 * whether it came from inside libdnnl, so mien's own allocations can be told from oneDNN's.
 * Sanitizer builds leave malloc to the sanitizer runtime and report -1. */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stddef.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
long test_alloc_count(void)
{
    return -1;
}

long test_alloc_count_in_onednn(void)
{
    return -1;
}

void test_alloc_attribute(int on)
{
    (void)on;
}
#else

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static atomic_long allocations, onednn_allocations;
static atomic_int attributing;
static void *onednn_base; /* load address of libdnnl, set by test_alloc_attribute(1) */
static _Thread_local int in_hook;

long test_alloc_count(void)
{
    return atomic_load(&allocations);
}

long test_alloc_count_in_onednn(void)
{
    return atomic_load(&onednn_allocations);
}

void test_alloc_attribute(int on)
{
    if (on) {
        Dl_info info;
        void *frames[4];
        void *sym = dlsym(RTLD_DEFAULT, "dnnl_primitive_execute");
        if (sym == NULL || dladdr(sym, &info) == 0) {
            return;
        }
        onednn_base = info.dli_fbase;
        in_hook = 1;
        backtrace(frames, 4); /* the first call loads libgcc_s (and allocates) */
        in_hook = 0;
    }
    atomic_store(&attributing, on);
}

/* Counts one allocation; while attributing, also whether libdnnl is on the stack. */
static void count(void)
{
    atomic_fetch_add(&allocations, 1);
    if (atomic_load(&attributing) && !in_hook) {
        void *frames[16];
        int n;
        in_hook = 1;
        n = backtrace(frames, 16);
        for (int i = 0; i < n; i++) {
            Dl_info info;
            if (dladdr(frames[i], &info) != 0 && info.dli_fbase == onednn_base) {
                atomic_fetch_add(&onednn_allocations, 1);
                break;
            }
        }
        in_hook = 0;
    }
}

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    void *p;
    count();
    p = __libc_memalign(align, size);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void free(void *p)
{
    __libc_free(p);
}
#endif
