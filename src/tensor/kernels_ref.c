/*
 * kernels_ref.c -- portable scalar kernels: the definition of every dtype.
 *
 * to_float here IS the dequantization contract. Its float32 arithmetic is
 * fixed operation by operation so that independent dequantizers (the numpy
 * one in tools/, the SIMD kernels) agree bit for bit:
 *
 *   Q8_0  y = d * q                        d: f16 -> f32 (exact)
 *   Q4_0  y = d * (q - 8)
 *   Q4_K  y = (d * sc) * q - (dmin * m)    two rounded products, then one
 *                                          rounded subtraction (never an FMA)
 *   Q6_K  y = (d * sc) * (q - 32)
 *
 * Every product above is exact in float32: d has 11 significant bits, sc
 * at most 7, q at most 5, so d*sc*q needs at most 23 bits. The only
 * rounding in any format is Q4_K's final subtraction. Hence the order of the
 * products does not matter, and an FMA contraction of d1*q - m1 (which
 * GCC outside ISO mode or clang may emit) rounds the same exact value once:
 * the bits cannot change. test_dtype checks both facts on random blocks
 * spanning the whole finite f16 range. We still switch STDC FP_CONTRACT off
 * where the compiler honours the pragma, so the code says what it means.
 *
 * dot() dequantizes one block at a time into a small buffer and accumulates
 * in double: slow but accurate, which is what a reference (and the fallback
 * on CPUs without a SIMD path) should be.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "tensor/kernels.h"

#include "base/f16.h"

/* ------------------------------------------------------------ to_float */

void sg_ref_to_float_f32(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void sg_ref_to_float_f16(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = sg_f16_to_f32(sg_rd_u16(p + 2 * i));
}

void sg_ref_to_float_bf16(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = sg_bf16_to_f32(sg_rd_u16(p + 2 * i));
}

/* Q8_0 block: d (f16) | 32 x int8. */
void sg_ref_to_float_q8_0(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK8_0, b += SG_Q8_0_BYTES, dst += SG_QK8_0) {
        float d = sg_f16_to_f32(sg_rd_u16(b));
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < SG_QK8_0; j++) dst[j] = d * (float)qs[j];
    }
}

/* Q4_0 block: d (f16) | 16 bytes; byte j holds value j (low nibble) and
 * value j + 16 (high nibble), both offset by 8. */
void sg_ref_to_float_q4_0(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK4_0, b += SG_Q4_0_BYTES, dst += SG_QK4_0) {
        float d = sg_f16_to_f32(sg_rd_u16(b));
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)((qs[j] & 0xF) - 8);
            dst[j + 16] = d * (float)((qs[j] >> 4) - 8);
        }
    }
}

/* Q4_K super-block: d | dmin | scales[12] | qs[128]. Chunk c (64 values)
 * uses qs[32c .. 32c+31]: low nibbles are sub-block 2c, high nibbles 2c+1. */
void sg_ref_to_float_q4_k(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q4_K_BYTES) {
        float d = sg_f16_to_f32(sg_rd_u16(b));
        float dmin = sg_f16_to_f32(sg_rd_u16(b + 2));
        uint8_t sc[8], m[8];
        sg_q4_k_scales(b + 4, sc, m);
        const uint8_t *qs = b + 16;
        for (int c = 0; c < 4; c++, qs += 32) {
            float d1 = d * (float)sc[2 * c], m1 = dmin * (float)m[2 * c];
            float d2 = d * (float)sc[2 * c + 1], m2 = dmin * (float)m[2 * c + 1];
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)(qs[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (float)(qs[l] >> 4) - m2;
        }
    }
}

/* Q6_K super-block: ql[128] | qh[64] | scales[16] (int8) | d. Each half of
 * 128 values uses 64 bytes of ql, 32 of qh and 8 scales; value l + 32k of
 * the half takes 4 low bits from ql (nibble k/2 of byte l + 32(k%2)) and 2
 * high bits from bits 2k..2k+1 of qh[l]; its scale is sc[l/16 + 2k]. */
void sg_ref_to_float_q6_k(const void *src, float *dst, int64_t n)
{
    const uint8_t *b = src;
    for (int64_t i = 0; i < n; i += SG_QK_K, b += SG_Q6_K_BYTES) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = sg_f16_to_f32(sg_rd_u16(b + 208));
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, dst += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                dst[l] = (d * (float)sc[is]) * (float)q1;
                dst[l + 32] = (d * (float)sc[is + 2]) * (float)q2;
                dst[l + 64] = (d * (float)sc[is + 4]) * (float)q3;
                dst[l + 96] = (d * (float)sc[is + 6]) * (float)q4;
            }
        }
    }
}

/* ------------------------------------------------------------ dot */

/* sum_i w_i x_i over a block dequantized into w[], in double. */
static double dot_block(const float *w, const float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)w[i] * (double)x[i];
    return s;
}

float sg_ref_dot_f32(const void *row, const float *x, int64_t n)
{
    const float *w = row;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)w[i] * (double)x[i];
    return (float)s;
}

float sg_ref_dot_f16(const void *row, const float *x, int64_t n)
{
    const uint8_t *p = row;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)sg_f16_to_f32(sg_rd_u16(p + 2 * i)) * (double)x[i];
    return (float)s;
}

float sg_ref_dot_bf16(const void *row, const float *x, int64_t n)
{
    const uint8_t *p = row;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)sg_bf16_to_f32(sg_rd_u16(p + 2 * i)) * (double)x[i];
    return (float)s;
}

/* Dot of a row of blocks: dequantize each block with `deq`, accumulate in double. */
static float dot_blocks(void (*deq)(const void *, float *, int64_t), int qk, size_t bytes, const void *row,
                        const float *x, int64_t n)
{
    float w[SG_QK_K];
    const uint8_t *b = row;
    double s = 0;
    for (int64_t i = 0; i < n; i += qk, b += bytes) {
        deq(b, w, qk);
        s += dot_block(w, x + i, qk);
    }
    return (float)s;
}

float sg_ref_dot_q8_0(const void *row, const float *x, int64_t n)
{
    return dot_blocks(sg_ref_to_float_q8_0, SG_QK8_0, SG_Q8_0_BYTES, row, x, n);
}

float sg_ref_dot_q4_0(const void *row, const float *x, int64_t n)
{
    return dot_blocks(sg_ref_to_float_q4_0, SG_QK4_0, SG_Q4_0_BYTES, row, x, n);
}

float sg_ref_dot_q4_k(const void *row, const float *x, int64_t n)
{
    return dot_blocks(sg_ref_to_float_q4_k, SG_QK_K, SG_Q4_K_BYTES, row, x, n);
}

float sg_ref_dot_q6_k(const void *row, const float *x, int64_t n)
{
    return dot_blocks(sg_ref_to_float_q6_k, SG_QK_K, SG_Q6_K_BYTES, row, x, n);
}
