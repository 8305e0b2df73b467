/*
 * kernels_simd.c -- vector kernels for every dtype, written once against
 * simd.h (SG_VL = 16 on AVX-512, 8 on AVX2) and compiled only when simd.h
 * recognizes the target.
 *
 * dot(row, x, n): dequantize in registers and fuse with x. Bytes are widened
 * straight into int32 lanes, nibbles and high bits are unpacked with
 * shifts/masks, converted to float and multiplied into several independent
 * float32 accumulators (long FMA latency chains would otherwise bound the
 * loop; one decoded row of 4864 values is ~300 vectors). Per-block sums are
 * scaled once per block where the format allows it (Q8_0, Q4_0). Everything
 * stays in float32; activations are never quantized. Each loop step
 * prefetches the weight bytes it will need SG_PREFETCH_AHEAD bytes later
 * (rows are contiguous, so this also warms the start of the next row).
 *
 * to_float(src, dst, n): the same unpacking, but each value must equal the
 * scalar reference bit for bit (see kernels_ref.c): the same float32
 * operations on the same operands (all products are exact; Q4_K's final
 * subtraction is the only rounding).
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "tensor/kernels.h"

#if SG_HAVE_SIMD

#include "base/f16.h"

#define VL SG_VL

/* ------------------------------------------------------------ plain floats */

/* dst[n] = src[n]; f32 rows are copied. */
void sg_simd_to_float_f32(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void sg_simd_to_float_f16(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    int64_t i = 0;
    for (; i + VL <= n; i += VL) vf_store(dst + i, vf_f16(p + 2 * i));
    for (; i < n; i++) dst[i] = sg_f16_to_f32(sg_rd_u16(p + 2 * i));
}

void sg_simd_to_float_bf16(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    int64_t i = 0;
    for (; i + VL <= n; i += VL) vf_store(dst + i, vf_bf16(p + 2 * i));
    for (; i < n; i++) dst[i] = sg_bf16_to_f32(sg_rd_u16(p + 2 * i));
}

/* The three plain-float dots share one shape: 4 accumulators over 4*VL
 * elements per step, then single vectors, then a scalar tail (n need not be
 * a multiple of VL). LOAD(i) yields the VL weights starting at element i,
 * LOAD_ADDR(i) names the stored element i (for prefetching). */
#define PLAIN_DOT(LOAD, SCALAR)                                                                    \
    sg_vf a0 = vf_zero(), a1 = vf_zero(), a2 = vf_zero(), a3 = vf_zero();                          \
    int64_t i = 0;                                                                                 \
    for (; i + 4 * VL <= n; i += 4 * VL) {                                                         \
        SG_PREFETCH(&LOAD_ADDR(i), (4 * VL * (int)sizeof(LOAD_ADDR(0)) + 63) / 64);                \
        a0 = vf_fma(LOAD(i), vf_load(x + i), a0);                                                  \
        a1 = vf_fma(LOAD(i + VL), vf_load(x + i + VL), a1);                                        \
        a2 = vf_fma(LOAD(i + 2 * VL), vf_load(x + i + 2 * VL), a2);                                \
        a3 = vf_fma(LOAD(i + 3 * VL), vf_load(x + i + 3 * VL), a3);                                \
    }                                                                                              \
    for (; i + VL <= n; i += VL) a0 = vf_fma(LOAD(i), vf_load(x + i), a0);                         \
    float s = vf_hsum(vf_add(vf_add(a0, a1), vf_add(a2, a3)));                                     \
    for (; i < n; i++) s += SCALAR(i) * x[i];                                                      \
    return s;

float sg_simd_dot_f32(const void *row, const float *x, int64_t n)
{
    const float *w = row;
#define LD(i) vf_load(w + (i))
#define LOAD_ADDR(i) w[i]
#define SC(i) w[i]
    PLAIN_DOT(LD, SC)
#undef LD
#undef LOAD_ADDR
#undef SC
}

float sg_simd_dot_f16(const void *row, const float *x, int64_t n)
{
    const uint8_t *p = row;
#define LD(i) vf_f16(p + 2 * (i))
#define LOAD_ADDR(i) ((const uint16_t *)p)[i]
#define SC(i) sg_f16_to_f32(sg_rd_u16(p + 2 * (i)))
    PLAIN_DOT(LD, SC)
#undef LD
#undef LOAD_ADDR
#undef SC
}

float sg_simd_dot_bf16(const void *row, const float *x, int64_t n)
{
    const uint8_t *p = row;
#define LD(i) vf_bf16(p + 2 * (i))
#define LOAD_ADDR(i) ((const uint16_t *)p)[i]
#define SC(i) sg_bf16_to_f32(sg_rd_u16(p + 2 * (i)))
    PLAIN_DOT(LD, SC)
#undef LD
#undef LOAD_ADDR
#undef SC
}

/* ------------------------------------------------------------ Q8_0 */

void sg_simd_to_float_q8_0(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK8_0, b += SG_Q8_0_BYTES, dst += SG_QK8_0) {
        sg_vf d = vf_set1(sg_f16_to_f32(sg_rd_u16(b)));
        for (int k = 0; k < SG_QK8_0; k += VL) vf_store(dst + k, vf_mul(d, vi_to_vf(vi_i8(b + 2 + k))));
    }
}

/* acc + d * sum_k q_k x_k over one block (b: 34 bytes, x: 32 floats). */
static inline sg_vf q8_0_block(const uint8_t *b, const float *x, sg_vf acc)
{
    sg_vf s = vf_mul(vi_to_vf(vi_i8(b + 2)), vf_load(x));
    for (int k = VL; k < SG_QK8_0; k += VL) s = vf_fma(vi_to_vf(vi_i8(b + 2 + k)), vf_load(x + k), s);
    return vf_fma(vf_set1(sg_f16_to_f32(sg_rd_u16(b))), s, acc);
}

float sg_simd_dot_q8_0(const void *row, const float *x, int64_t n)
{
    const uint8_t *b = row;
    int64_t nb = n / SG_QK8_0, ib = 0;
    sg_vf a0 = vf_zero(), a1 = vf_zero();
    for (; ib + 2 <= nb; ib += 2, b += 2 * SG_Q8_0_BYTES, x += 2 * SG_QK8_0) {
        SG_PREFETCH(b, 2);
        a0 = q8_0_block(b, x, a0);
        a1 = q8_0_block(b + SG_Q8_0_BYTES, x + SG_QK8_0, a1);
    }
    if (ib < nb) a0 = q8_0_block(b, x, a0);
    return vf_hsum(vf_add(a0, a1));
}

/* ------------------------------------------------------------ Q4_0 */

void sg_simd_to_float_q4_0(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    const sg_vi m4 = vi_set1(0xF), o8 = vi_set1(8);
    for (int64_t i = 0; i < n; i += SG_QK4_0, b += SG_Q4_0_BYTES, dst += SG_QK4_0) {
        sg_vf d = vf_set1(sg_f16_to_f32(sg_rd_u16(b)));
        for (int k = 0; k < 16; k += VL) {
            sg_vi v = vi_u8(b + 2 + k);
            vf_store(dst + k, vf_mul(d, vi_to_vf(vi_sub(vi_and(v, m4), o8))));
            vf_store(dst + 16 + k, vf_mul(d, vi_to_vf(vi_sub(vi_srl(v, 4), o8))));
        }
    }
}

/* acc + d * sum_k (q_k - 8) x_k over one block (b: 18 bytes, x: 32 floats). */
static inline sg_vf q4_0_block(const uint8_t *b, const float *x, sg_vf acc)
{
    const sg_vi m4 = vi_set1(0xF), o8 = vi_set1(8);
    sg_vf s = vf_zero();
    for (int k = 0; k < 16; k += VL) {
        sg_vi v = vi_u8(b + 2 + k);
        s = vf_fma(vi_to_vf(vi_sub(vi_and(v, m4), o8)), vf_load(x + k), s);
        s = vf_fma(vi_to_vf(vi_sub(vi_srl(v, 4), o8)), vf_load(x + 16 + k), s);
    }
    return vf_fma(vf_set1(sg_f16_to_f32(sg_rd_u16(b))), s, acc);
}

float sg_simd_dot_q4_0(const void *row, const float *x, int64_t n)
{
    const uint8_t *b = row;
    int64_t nb = n / SG_QK4_0, ib = 0;
    sg_vf a0 = vf_zero(), a1 = vf_zero();
    for (; ib + 2 <= nb; ib += 2, b += 2 * SG_Q4_0_BYTES, x += 2 * SG_QK4_0) {
        SG_PREFETCH(b, 1);
        a0 = q4_0_block(b, x, a0);
        a1 = q4_0_block(b + SG_Q4_0_BYTES, x + SG_QK4_0, a1);
    }
    if (ib < nb) a0 = q4_0_block(b, x, a0);
    return vf_hsum(vf_add(a0, a1));
}

/* ------------------------------------------------------------ Q4_K */

/* Per-sub-block float scales of a Q4_K super-block:
 * ds[s] = d * sc[s], dm[s] = dmin * m[s] (the products the contract names). */
static inline void q4_k_scales(const uint8_t *b, float ds[8], float dm[8])
{
    uint64_t sc, m;
    sg_q4_k_scales_packed(b + 4, &sc, &m);
    sg_scale8_u8(sc, sg_f16_to_f32(sg_rd_u16(b)), ds);
    sg_scale8_u8(m, sg_f16_to_f32(sg_rd_u16(b + 2)), dm);
}

void sg_simd_to_float_q4_k(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    const sg_vi m4 = vi_set1(0xF);
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q4_K_BYTES, dst += SG_QK_K) {
        float ds[8], dm[8];
        q4_k_scales(b, ds, dm);
        const uint8_t *qs = b + 16;
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            sg_vf d1 = vf_set1(ds[2 * c]), m1 = vf_set1(dm[2 * c]);
            sg_vf d2 = vf_set1(ds[2 * c + 1]), m2 = vf_set1(dm[2 * c + 1]);
#pragma GCC unroll 4
            for (int k = 0; k < 32; k += VL) {
                sg_vi v = vi_u8(qs + 32 * c + k);
                /* y = d1 * q - m1 (the product is exact, the subtraction rounds) */
                vf_store(dst + 64 * c + k, vf_sub(vf_mul(d1, vi_to_vf(vi_and(v, m4))), m1));
                vf_store(dst + 64 * c + 32 + k, vf_sub(vf_mul(d2, vi_to_vf(vi_srl(v, 4))), m2));
            }
        }
    }
}

/* Four accumulators (two per nibble half) keep the FMA chains short; the
 * loops are unrolled so they stay in registers. */
float sg_simd_dot_q4_k(const void *row, const float *x, int64_t n)
{
    const uint8_t *b = row;
    const sg_vi m4 = vi_set1(0xF);
    sg_vf acc[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q4_K_BYTES, x += SG_QK_K) {
        SG_PREFETCH(b, 3);
        float ds[8], dm[8];
        q4_k_scales(b, ds, dm);
        const uint8_t *qs = b + 16;
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
#pragma GCC unroll 4
            for (int k = 0; k < 32; k += VL) {
                int a = 2 * ((k / VL) & 1);
                sg_vi v = vi_u8(qs + 32 * c + k);
                /* w = d1 * q - m1, formed in the register and fused with x */
                sg_vf w1 = vf_fms(vf_set1(ds[2 * c]), vi_to_vf(vi_and(v, m4)), vf_set1(dm[2 * c]));
                sg_vf w2 = vf_fms(vf_set1(ds[2 * c + 1]), vi_to_vf(vi_srl(v, 4)), vf_set1(dm[2 * c + 1]));
                acc[a] = vf_fma(w1, vf_load(x + 64 * c + k), acc[a]);
                acc[a + 1] = vf_fma(w2, vf_load(x + 64 * c + 32 + k), acc[a + 1]);
            }
        }
    }
    return vf_hsum(vf_add(vf_add(acc[0], acc[1]), vf_add(acc[2], acc[3])));
}

/* ------------------------------------------------------------ Q6_K */

/* Unpack one 128-value half of a Q6_K super-block (ql: 64 bytes, qh: 32)
 * into q[v] = value v - 32 as int8, 32 bytes at a time. Value l + 32k takes
 * nibble k/2 of ql[l + 32(k%2)] and bits 2k..2k+1 of qh[l]; the 16-bit
 * shifts move bits across bytes, which the masks then drop. */
static inline void q6_k_unpack_half(const uint8_t *ql, const uint8_t *qh, int8_t q[128])
{
    const sg_vb m4 = vb_set1(0x0F), m30 = vb_set1(0x30), o32 = vb_set1(32);
    sg_vb l0 = vb_load(ql), l1 = vb_load(ql + 32), h = vb_load(qh);
    vb_store(q, vb_sub8(vb_or(vb_and(l0, m4), vb_and(vb_sll16(h, 4), m30)), o32));
    vb_store(q + 32, vb_sub8(vb_or(vb_and(l1, m4), vb_and(vb_sll16(h, 2), m30)), o32));
    vb_store(q + 64, vb_sub8(vb_or(vb_and(vb_srl16(l0, 4), m4), vb_and(h, m30)), o32));
    vb_store(q + 96, vb_sub8(vb_or(vb_and(vb_srl16(l1, 4), m4), vb_and(vb_srl16(h, 2), m30)), o32));
}

void sg_simd_to_float_q6_k(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q6_K_BYTES) {
        float s[16]; /* d * scale of each sub-block of 16 values */
        sg_scale16_i8((const int8_t *)(b + 192), sg_f16_to_f32(sg_rd_u16(b + 208)), s);
        for (int half = 0; half < 2; half++, dst += 128) {
            int8_t q[128];
            q6_k_unpack_half(b + 64 * half, b + 128 + 32 * half, q);
#pragma GCC unroll 16
            for (int v = 0; v < 128; v += VL)
                vf_store(dst + v, vf_mul(vf_set1(s[8 * half + v / 16]), vi_to_vf(vi_i8(q + v))));
        }
    }
}

float sg_simd_dot_q6_k(const void *row, const float *x, int64_t n)
{
    const uint8_t *b = row;
    sg_vf acc[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q6_K_BYTES) {
        SG_PREFETCH(b, 4);
        float s[16];
        sg_scale16_i8((const int8_t *)(b + 192), sg_f16_to_f32(sg_rd_u16(b + 208)), s);
        for (int half = 0; half < 2; half++, x += 128) {
            int8_t q[128];
            q6_k_unpack_half(b + 64 * half, b + 128 + 32 * half, q);
#pragma GCC unroll 16
            for (int v = 0; v < 128; v += VL) {
                int a = (v / VL) & 3;
                sg_vf w = vf_mul(vi_to_vf(vi_i8(q + v)), vf_set1(s[8 * half + v / 16]));
                acc[a] = vf_fma(w, vf_load(x + v), acc[a]);
            }
        }
    }
    return vf_hsum(vf_add(vf_add(acc[0], acc[1]), vf_add(acc[2], acc[3])));
}

#else
typedef int sg_kernels_simd_empty; /* ISO C forbids an empty translation unit */
#endif
