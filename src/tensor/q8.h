/*
 * q8.h -- the 8-bit-activation numerics mode ("q8 activations", opt-in).
 *
 * For quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) the activations x are
 * quantized on the fly, per token and per block of 32 values, to int8 with
 * one float scale (Q8_0-style, symmetric):
 *     d = max|x| / 127,  q = round(x / d) in [-127, 127]   (d = 0: q = 0)
 * and the weight products become exact integer dot products per block,
 * scaled once per block in float32 (AVX-512 VNNI vpdpbusd, AVX2
 * maddubs/madd, or portable C). Approximate (like llama.cpp), not the exact
 * FP32 default.
 *
 * Batch invariance by construction: each output y[t][r] is computed by the
 * same sequence of float32 operations whatever the number of tokens and
 * whichever register tile (rows x tokens) it lands in. The kernels are one
 * micro-kernel instantiated for every tile shape; per (row, token) pair it
 * runs, for every step of 64 (AVX-512) or 32 (AVX2) values:
 *     I   = exact int32 lanes of sum_i w_i q_i        (integer: order-free)
 *     acc = fma(float(I), DW * DX, acc)               (DW: the weight's per-lane
 *                                                      scale, DX: the activation's)
 * (Q4_K: acc = fma(-DMIN*M, FX, acc) after each super-block), then one fixed
 * horizontal sum. Which tile a pair is in only changes which other pairs
 * are interleaved with it, never its own operations.
 *
 * Activation layout (sg_q8_act), for n tokens of `cols` values (cols % 32 == 0):
 *     q[t*cols + i]      int8   quantized values
 *     d[t*nb + b]        float  scale of block b (nb = cols/32)
 *     s32[t*nb + b]      int32  -sum of the block's 32 q
 *     s16[t*2nb + h]     int32  -sum of each half-block's 16 q
 *     fx[t*nb + b]       float  d * sum of the block's q (Q4_K mins)
 *     dv[t*ns*16 + 16s + l]  float  per-lane d of 64-value step s (ns = ceil(cols/64)):
 *                         lanes 0-7 block 2s, 8-15 block 2s+1 (0 past the end)
 *     sv[t*ns*16 + 16s + l]  int32  s32 of block 2s in lane 0, of 2s+1 in lane 8, else 0
 * (dv and sv are the AVX-512 kernels' per-token vectors, laid out once per token.)
 */
#ifndef SG_TENSOR_Q8_H
#define SG_TENSOR_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/dtype.h"

typedef struct sg_q8_act {
    int64_t cols;
    int8_t *q;
    float *d;
    int32_t *s32;
    int32_t *s16;
    float *fx;
    float *dv;
    int32_t *sv;
} sg_q8_act;

/* Bytes of scratch sg_q8_act_init needs for n tokens of cols values. */
size_t sg_q8_act_bytes(int64_t n, int64_t cols);
/* Lay out act over mem (64-byte aligned, sg_q8_act_bytes(n, cols) bytes). */
void sg_q8_act_init(sg_q8_act *act, void *mem, int64_t n, int64_t cols);
/* Quantize tokens [t0, t1) of x[n, cols] into act, with the active family's
 * quantizer. Every family's quantizer gives the same bytes (the scalar one,
 * sg_q8_quantize_ref, is the definition: same float32 operations), and
 * each token's result does not depend on the others. */
void sg_q8_quantize(sg_q8_act *act, const float *x, int64_t t0, int64_t t1);
void sg_q8_quantize_ref(sg_q8_act *act, const float *x, int64_t t0, int64_t t1);
/* Fill token t's lane vectors (dv, sv) from its d and s32 (family quantizers). */
void sg_q8_lane_vectors(sg_q8_act *act, int64_t t);

/* y[t * ldy + r] = dot(W row r, token t) (+ bias[r]) for r < nr, t in [t0, t1):
 * w points at row 0, rows are row_bytes apart. cols % 256 == 0 for K-quants. */
typedef void (*sg_q8_gemm_fn)(const void *w, size_t row_bytes, int64_t nr, const sg_q8_act *act, int64_t t0,
                              int64_t t1, float *y, int64_t ldy, const float *bias);

/* Does the mode cover this weight type? (Q8_0, Q4_0, Q4_K, Q6_K) */
bool sg_q8_supported(sg_dtype t);
/* The kernel of the active family (sg_isa_active; AVX-512 needs VNNI too,
 * else the AVX2 one runs), or NULL when t is not supported. */
sg_q8_gemm_fn sg_q8_gemm(sg_dtype t);
/* The kernel of a given family (tests); NULL when unusable here. */
sg_q8_gemm_fn sg_q8_gemm_isa(sg_isa isa, sg_dtype t);
/* Name of the family sg_q8_gemm uses: "avx512-vnni", "avx2" or "ref". */
const char *sg_q8_kernels(void);

/* Family kernels (kernels_q8_*.c, q8.c). Rows are NULL-free only when compiled. */
typedef struct sg_q8_family {
    sg_q8_gemm_fn gemm[SG_DTYPE_COUNT];
    void (*quantize)(sg_q8_act *act, const float *x, int64_t t0, int64_t t1); /* NULL: the scalar one */
} sg_q8_family;
extern const sg_q8_family sg_q8_ref_family;
extern const sg_q8_family sg_q8_avx2_family;
extern const sg_q8_family sg_q8_avx512_family;

#endif
