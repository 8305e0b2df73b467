/*
 * dtype.c -- the dtype traits table: names, block geometry and kernels.
 *
 * One row per sg_dtype. The kernels come from one family with the same
 * signatures (kernels.h), picked at run time (first use of the table) from
 * what the CPU supports: on x86-64 AVX-512 (F/BW/VL) > AVX2+FMA+F16C > the
 * portable scalar reference; on AArch64 NEON (baseline there) > the scalar
 * reference. Every family of the target is compiled into every binary with
 * its own target flags, so an SG_NATIVE=OFF build still runs the vector
 * kernels. SG_CPU=ref|avx2|avx512|neon in the environment caps the choice
 * (tests and benchmarks; a family the CPU lacks is never chosen; on AArch64
 * SG_CPU=ref is the only cap that changes anything).
 *
 * sg_to_float_ref / sg_dot_ref always run the scalar reference, so tests can
 * hold the table's kernels against it; sg_dtype_traits_isa gives any usable
 * family's row for the same purpose.
 */
#include "tensor/dtype.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"

static const struct {
    const char *name;
    int64_t block_size;
    size_t block_bytes;
} k_geom[SG_DTYPE_COUNT] = {
    [SG_F32] = {"f32", 1, 4},
    [SG_F16] = {"f16", 1, 2},
    [SG_BF16] = {"bf16", 1, 2},
    [SG_Q8_0] = {"q8_0", SG_QK8_0, SG_Q8_0_BYTES},
    [SG_Q4_0] = {"q4_0", SG_QK4_0, SG_Q4_0_BYTES},
    [SG_Q4_K] = {"q4_K", SG_QK_K, SG_Q4_K_BYTES},
    [SG_Q6_K] = {"q6_K", SG_QK_K, SG_Q6_K_BYTES},
};

static const sg_kernel_family k_ref_family = {
    "ref",
    {[SG_F32] = sg_ref_to_float_f32, [SG_F16] = sg_ref_to_float_f16, [SG_BF16] = sg_ref_to_float_bf16,
     [SG_Q8_0] = sg_ref_to_float_q8_0, [SG_Q4_0] = sg_ref_to_float_q4_0, [SG_Q4_K] = sg_ref_to_float_q4_k,
     [SG_Q6_K] = sg_ref_to_float_q6_k},
    {[SG_F32] = sg_ref_dot_f32, [SG_F16] = sg_ref_dot_f16, [SG_BF16] = sg_ref_dot_bf16, [SG_Q8_0] = sg_ref_dot_q8_0,
     [SG_Q4_0] = sg_ref_dot_q4_0, [SG_Q4_K] = sg_ref_dot_q4_k, [SG_Q6_K] = sg_ref_dot_q6_k},
};

/* The family of isa, or NULL when this build has none (CMake compiles the
 * x86 families only for x86-64 and NEON only for AArch64). */
static const sg_kernel_family *family_of(sg_isa isa)
{
    switch (isa) {
    case SG_ISA_REF: return &k_ref_family;
#if defined(__x86_64__)
    case SG_ISA_AVX2: return &sg_avx2_family;
    case SG_ISA_AVX512: return &sg_avx512_family;
#endif
#if defined(__aarch64__)
    case SG_ISA_NEON: return &sg_neon_family;
#endif
    default: return NULL;
    }
}

/* rows[isa][dtype]; rows of unusable families stay zero */
static sg_dtype_traits k_rows[SG_ISA_COUNT][SG_DTYPE_COUNT];
static bool k_usable[SG_ISA_COUNT];
static sg_isa k_active = SG_ISA_REF;
static pthread_once_t k_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0: which register states the OS saves (AVX needs bits 1-2, AVX-512 5-7). */
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

/* Does this CPU (and OS) run the kernel family? Read from cpuid directly:
 * gcc and clang disagree on __builtin_cpu_supports' feature names. */
static bool cpu_has(sg_isa isa)
{
#if defined(__x86_64__) || defined(__i386__)
    if (isa == SG_ISA_REF) return true;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(osxsave && avx && fma && f16c)) return false;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return false; /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
    switch (isa) {
    case SG_ISA_AVX2: return avx2;
    case SG_ISA_AVX512: return avx2 && avx512f && avx512bw && avx512vl && (xcr0 & 0xe6) == 0xe6;
    default: return false;
    }
#elif defined(__aarch64__)
    /* Advanced SIMD (with FMA and f16 conversion) is part of ARMv8-A: every
     * AArch64 CPU runs the NEON family, nothing to ask the CPU. */
    return isa == SG_ISA_REF || isa == SG_ISA_NEON;
#else
    return isa == SG_ISA_REF;
#endif
}

static void init_tables(void)
{
    sg_isa cap = SG_ISA_COUNT;
    const char *env = getenv("SG_CPU");
    if (env && *env) {
        for (int i = 0; i < SG_ISA_COUNT; i++)
            if (!strcmp(env, sg_isa_name((sg_isa)i))) cap = (sg_isa)(i + 1);
    }
    for (int i = 0; i < SG_ISA_COUNT; i++) {
        const sg_kernel_family *f = family_of((sg_isa)i);
        k_usable[i] = f != NULL && f->dot[SG_F32] != NULL && cpu_has((sg_isa)i);
        if (!k_usable[i]) continue;
        for (int t = 0; t < SG_DTYPE_COUNT; t++)
            k_rows[i][t] = (sg_dtype_traits){k_geom[t].name, k_geom[t].block_size, k_geom[t].block_bytes,
                                             f->to_float[t], f->dot[t]};
        if (i < (int)cap) k_active = (sg_isa)i;
    }
}

static void ensure_init(void)
{
    pthread_once(&k_once, init_tables);
}

const char *sg_isa_name(sg_isa isa)
{
    static const char *names[SG_ISA_COUNT] = {"ref", "avx2", "avx512", "neon"};
    return (unsigned)isa < SG_ISA_COUNT ? names[isa] : "unknown";
}

bool sg_isa_usable(sg_isa isa)
{
    ensure_init();
    return (unsigned)isa < SG_ISA_COUNT && k_usable[isa];
}

sg_isa sg_isa_active(void)
{
    ensure_init();
    return k_active;
}

const sg_dtype_traits *sg_dtype_traits_isa(sg_isa isa, sg_dtype t)
{
    if ((unsigned)t >= SG_DTYPE_COUNT || !sg_isa_usable(isa)) return NULL;
    return &k_rows[isa][t];
}

/* The traits row of t, or NULL when t is not a valid dtype. */
const sg_dtype_traits *sg_dtype_traits_of(sg_dtype t)
{
    if ((unsigned)t >= SG_DTYPE_COUNT) return NULL;
    ensure_init();
    return &k_rows[k_active][t];
}

const char *sg_dtype_name(sg_dtype t)
{
    if ((unsigned)t >= SG_DTYPE_COUNT) return "unknown";
    return k_geom[t].name;
}

void sg_to_float_ref(sg_dtype t, const void *src, float *dst, int64_t n)
{
    if ((unsigned)t < SG_DTYPE_COUNT) k_ref_family.to_float[t](src, dst, n);
}

float sg_dot_ref(sg_dtype t, const void *row, const float *x, int64_t n)
{
    return (unsigned)t < SG_DTYPE_COUNT ? k_ref_family.dot[t](row, x, n) : 0.0f;
}

const char *sg_cpu_kernels(void)
{
    return sg_isa_name(sg_isa_active());
}
