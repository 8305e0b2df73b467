/*
 * kernels.h -- per-dtype CPU kernels behind the traits table (internal).
 *
 * Families with identical signatures:
 *   sg_ref_*     portable scalar C (kernels_ref.c), always compiled; the
 *                definition of the arithmetic and the fallback on any CPU.
 *   sg_avx2_*    the same operations on 8-lane vectors (kernels_simd.inc
 *                compiled by kernels_avx2.c with AVX2/FMA/F16C flags),
 *   sg_avx512_*  ... on 16-lane vectors (kernels_avx512.c, AVX-512F/BW/VL),
 *   sg_neon_*    ... on 4-lane vectors (kernels_neon.c, AArch64 only).
 * Each family exports an sg_kernel_family row (NULL kernels when its file
 * is compiled for another target; CMake builds only the target's families); dtype.c fills the
 * traits table at first use from the best family the CPU runs
 * (runtime dispatch; SG_CPU=ref|avx2|avx512|neon in the environment caps it).
 *
 *   to_float(src, dst[n], n)  dequantize n values (n % block_size == 0);
 *                             the SIMD version is bit-identical to the ref.
 *   dot(row, x[n], n)         sum_i w_i * x_i with float activations.
 *
 * Quantized blocks are read through byte offsets and memcpy'd scalars, never
 * through struct pointers: rows of mmap'd files need not be 2-byte aligned.
 */
#ifndef SG_TENSOR_KERNELS_H
#define SG_TENSOR_KERNELS_H

#include <stdint.h>
#include <string.h>

#include "stargate.h"
#include "tensor/simd.h"

#if defined(SG_VL)
#define SG_HAVE_SIMD 1
#else
#define SG_HAVE_SIMD 0
#endif

/* Block geometry (GGUF layouts, see dtype.h). */
enum {
    SG_QK8_0 = 32, SG_Q8_0_BYTES = 34,  /* f16 d | i8 qs[32]                         */
    SG_QK4_0 = 32, SG_Q4_0_BYTES = 18,  /* f16 d | u8 qs[16]                         */
    SG_QK_K = 256,                      /* super-block of the K-quants               */
    SG_Q4_K_BYTES = 144,                /* f16 d | f16 dmin | u8 scales[12] | qs[128] */
    SG_Q6_K_BYTES = 210,                /* ql[128] | qh[64] | i8 scales[16] | f16 d  */
};

static inline uint16_t sg_rd_u16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Unpack the 12 packed bytes of a Q4_K super-block into 8 six-bit scales
 * and 8 six-bit mins (sub-block s covers values 32s .. 32s+31). */
static inline void sg_q4_k_scales(const uint8_t *s, uint8_t sc[8], uint8_t m[8])
{
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        m[j] = s[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        sc[j] = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        m[j] = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* The same 8 scales and 8 mins packed one per byte (byte s of *sc is
 * sub-block s's scale; little-endian), computed four at a time. */
static inline void sg_q4_k_scales_packed(const uint8_t *s, uint64_t *sc, uint64_t *m)
{
    uint32_t w0, w1, w2;
    memcpy(&w0, s, 4);
    memcpy(&w1, s + 4, 4);
    memcpy(&w2, s + 8, 4);
    uint32_t sc_lo = w0 & 0x3f3f3f3fu, m_lo = w1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u); /* low 4 | top 2 of s[j] */
    uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
    *sc = sc_lo | (uint64_t)sc_hi << 32;
    *m = m_lo | (uint64_t)m_hi << 32;
}

#define SG_KERNEL_DECLS(fam)                                                                       \
    void sg_##fam##_to_float_f32(const void *src, float *dst, int64_t n);                          \
    void sg_##fam##_to_float_f16(const void *src, float *dst, int64_t n);                          \
    void sg_##fam##_to_float_bf16(const void *src, float *dst, int64_t n);                         \
    void sg_##fam##_to_float_q8_0(const void *src, float *dst, int64_t n);                         \
    void sg_##fam##_to_float_q4_0(const void *src, float *dst, int64_t n);                         \
    void sg_##fam##_to_float_q4_k(const void *src, float *dst, int64_t n);                         \
    void sg_##fam##_to_float_q6_k(const void *src, float *dst, int64_t n);                         \
    float sg_##fam##_dot_f32(const void *row, const float *x, int64_t n);                          \
    float sg_##fam##_dot_f16(const void *row, const float *x, int64_t n);                          \
    float sg_##fam##_dot_bf16(const void *row, const float *x, int64_t n);                         \
    float sg_##fam##_dot_q8_0(const void *row, const float *x, int64_t n);                         \
    float sg_##fam##_dot_q4_0(const void *row, const float *x, int64_t n);                         \
    float sg_##fam##_dot_q4_k(const void *row, const float *x, int64_t n);                         \
    float sg_##fam##_dot_q6_k(const void *row, const float *x, int64_t n);

SG_KERNEL_DECLS(ref)

typedef struct sg_kernel_family {
    const char *name;
    void (*to_float[SG_DTYPE_COUNT])(const void *src, float *dst, int64_t n);
    float (*dot[SG_DTYPE_COUNT])(const void *row, const float *x, int64_t n);
} sg_kernel_family;

extern const sg_kernel_family sg_avx2_family;   /* kernels_avx2.c   (x86-64 builds) */
extern const sg_kernel_family sg_avx512_family; /* kernels_avx512.c (x86-64 builds) */
extern const sg_kernel_family sg_neon_family;   /* kernels_neon.c   (AArch64 builds) */

#endif
