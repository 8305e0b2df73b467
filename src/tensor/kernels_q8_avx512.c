/*
 * kernels_q8_avx512.c -- 8-bit-activation kernels, AVX-512 + VNNI (vpdpbusd).
 *
 * See q8.h for the numerics. One micro-kernel, micro(), computes a register
 * tile of NR (<= 4) weight rows x NT (<= 4) tokens over the whole row; it is
 * instantiated for all 16 shapes, and the per-(row, token) operations are
 * the same in every shape, so outputs do not depend on the tiling (batch
 * invariance by construction; test_kernels_q8 checks it bit for bit).
 *
 * Per step of 64 values (two activation blocks of 32):
 *   per row:   W  = 64 unsigned weight bytes (Q8_0: q + 128; Q4_0, Q4_K:
 *                   nibbles; Q6_K: 6-bit values), DW = per-lane weight scale
 *   per token: X  = 64 int8 activations, DX = per-lane activation scale,
 *              XC = per-lane int32 offset correction (from the block sums)
 *   per pair:  acc = fma(cvt(vpdpbusd(XC, W, X)), DW * DX, acc)
 * vpdpbusd multiplies unsigned by signed bytes and adds groups of 4 into
 * int32 lanes: lane l holds values 4l..4l+3, so lanes 0-7 cover the first
 * block and 8-15 the second. The offsets the unsigned weights carry
 * (Q8_0 +128, Q4_0 +8, Q6_K +32) are removed exactly by XC = -offset * sum(x)
 * in one lane per block (or per 16-value sub-block for Q6_K). Q4_K's mins
 * are a float term per super-block: acc = fma(-dmin*m, d_x*sum(x), acc).
 * Every integer is exact (|lane| < 2^20), hence the float inputs are too.
 */
#include "tensor/q8.h"

#include "tensor/kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include "base/f16.h"

#define AI __attribute__((always_inline)) static inline

AI __m512 dw2(float d0, float d1)
{
    /* insertf64x4 (AVX-512F) rather than insertf32x8, which needs AVX-512DQ */
    __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(_mm256_set1_ps(d0)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_set1_ps(d1)), 1));
}

/* Row data of one step (weights and their scales). */
typedef struct {
    __m512i w;
    __m512 dw;
} rowstep;

/* Weights stream from memory when decoding: fetch PF bytes ahead (rows are
 * contiguous, so this runs into the next tile's rows at a row's end). */
#define PF 4096
AI void pf(const uint8_t *p)
{
    __builtin_prefetch(p + PF, 0, 3);
}

AI rowstep prep_q8_0(const uint8_t *row, int64_t k, int full)
{
    const uint8_t *b = row + (k / 32) * SG_Q8_0_BYTES;
    pf(b);
    pf(b + 64);
    __m256i lo = _mm256_loadu_si256((const __m256i *)(b + 2));
    __m256i hi = full ? _mm256_loadu_si256((const __m256i *)(b + SG_Q8_0_BYTES + 2)) : _mm256_setzero_si256();
    rowstep s;
    s.w = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8((char)0x80));
    s.dw = dw2(sg_f16_to_f32(sg_rd_u16(b)), full ? sg_f16_to_f32(sg_rd_u16(b + SG_Q8_0_BYTES)) : 0.0f);
    return s;
}

AI rowstep prep_q4_0(const uint8_t *row, int64_t k, int full)
{
    const uint8_t *b = row + (k / 32) * SG_Q4_0_BYTES;
    pf(b);
    __m128i lo = _mm_loadu_si128((const __m128i *)(b + 2));
    __m128i hi = full ? _mm_loadu_si128((const __m128i *)(b + SG_Q4_0_BYTES + 2)) : _mm_setzero_si128();
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(lo, lo)), _mm256_set_m128i(hi, hi), 1);
    rowstep s;
    /* 128-bit lanes [lo, lo>>4, hi, hi>>4]: values in natural order */
    s.w = _mm512_and_si512(_mm512_mask_srli_epi16(t, 0xFF00FF00u, t, 4), _mm512_set1_epi8(0x0F));
    s.dw = dw2(sg_f16_to_f32(sg_rd_u16(b)), full ? sg_f16_to_f32(sg_rd_u16(b + SG_Q4_0_BYTES)) : 0.0f);
    return s;
}

/* Q4_K: chunk c (64 values) of a super-block; sm = [d * sc (8), -dmin * m (8)]. */
AI rowstep prep_q4_k(const uint8_t *sb, int c, const float *sm)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(sb + 16 + 32 * c));
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(v), v, 1);
    if (c < 3) pf(sb + 64 * c);
    rowstep s;
    s.w = _mm512_and_si512(_mm512_mask_srli_epi16(t, 0xFFFF0000u, t, 4), _mm512_set1_epi8(0x0F));
    const __m512i idx = _mm512_set_epi32(2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1,
                                         2 * c + 1, 2 * c + 1, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c);
    s.dw = _mm512_permutexvar_ps(idx, _mm512_load_ps(sm));
    return s;
}

/* Q4_K super-block scales: sm[0..7] = d * sc[s], sm[8..15] = -(dmin * m[s]) (exact products). */
AI void scales_q4_k(const uint8_t *sb, float *sm)
{
    uint64_t sc, m;
    sg_q4_k_scales_packed(sb + 4, &sc, &m);
    __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x((long long)m, (long long)sc)));
    __m512 d = dw2(sg_f16_to_f32(sg_rd_u16(sb)), -sg_f16_to_f32(sg_rd_u16(sb + 2)));
    _mm512_store_ps(sm, _mm512_mul_ps(d, f));
}

/* Q6_K: chunk c of a super-block; ds = d * sc per 16-value sub-block. */
AI rowstep prep_q6_k(const uint8_t *sb, int c, const float *ds)
{
    int half = c / 2, j = c % 2;
    pf(sb + 64 * c);
    __m512i l = _mm512_loadu_si512(sb + 64 * half);
    __m256i h256 = _mm256_loadu_si256((const __m256i *)(sb + 128 + 32 * half));
    __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(h256), h256, 1);
    __m512i nib, hs;
    if (j == 0) {
        nib = l;
        hs = _mm512_mask_slli_epi16(_mm512_slli_epi16(h, 4), 0xFFFF0000u, h, 2);
    } else {
        nib = _mm512_srli_epi16(l, 4);
        hs = _mm512_mask_srli_epi16(h, 0xFFFF0000u, h, 2);
    }
    rowstep s;
    s.w = _mm512_or_si512(_mm512_and_si512(nib, _mm512_set1_epi8(0x0F)), _mm512_and_si512(hs, _mm512_set1_epi8(0x30)));
    const int b = 4 * c;
    const __m512i idx = _mm512_set_epi32(b + 3, b + 3, b + 3, b + 3, b + 2, b + 2, b + 2, b + 2, b + 1, b + 1, b + 1,
                                         b + 1, b, b, b, b);
    s.dw = _mm512_permutexvar_ps(idx, _mm512_load_ps(ds));
    return s;
}

/* Q6_K super-block scales: ds[s] = d * sc[s] (exact). */
AI void scales_q6_k(const uint8_t *sb, float *ds)
{
    __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(sb + 192))));
    _mm512_store_ps(ds, _mm512_mul_ps(_mm512_set1_ps(sg_f16_to_f32(sg_rd_u16(sb + 208))), f));
}

#define NRM 4
#define NTM 4

/* Token side of one step at value k: activations, scales, offset correction. */
typedef struct {
    __m512i x, xc;
    __m512 dx;
} tokstep;

AI tokstep tok_step(const int dt, const sg_q8_act *a, int64_t ti, int64_t k, int full)
{
    const int64_t cols = a->cols, nb = cols / 32, blk = k / 32;
    const int8_t *xq = a->q + ti * cols + k;
    const int64_t v = (ti * ((cols + 63) / 64) + k / 64) * 16;
    tokstep s;
    s.x = full ? _mm512_loadu_si512(xq) : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, xq);
    s.dx = _mm512_load_ps(a->dv + v);
    if (dt == SG_Q8_0 || dt == SG_Q4_0) {
        __m512i xc = _mm512_load_si512(a->sv + v);
        s.xc = dt == SG_Q8_0 ? _mm512_slli_epi32(xc, 7) : _mm512_slli_epi32(xc, 3);
    } else if (dt == SG_Q6_K) {
        const __m512i idx = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
        __m128i s4 = _mm_loadu_si128((const __m128i *)(a->s16 + ti * 2 * nb + 2 * blk));
        s.xc = _mm512_slli_epi32(_mm512_maskz_permutexvar_epi32(0x1111, idx, _mm512_castsi128_si512(s4)), 5);
    } else {
        s.xc = _mm512_setzero_si512();
    }
    return s;
}

/* The per-pair operations of one step: the same in every tile shape. */
#define PAIRS(NR, NT, rs, k, full)                                                                                 \
    _Pragma("GCC unroll 4") for (int u = 0; u < NT; u++)                                                          \
    {                                                                                                              \
        tokstep ts = tok_step(dt, a, t + u, k, full);                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)                                                       \
        {                                                                                                          \
            __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(ts.xc, rs[r].w, ts.x));                              \
            acc[r][u] = _mm512_fmadd_ps(p, _mm512_mul_ps(rs[r].dw, ts.dx), acc[r][u]);                             \
        }                                                                                                          \
    }

/* The micro-kernel: rows w[0..NR), tokens t..t+NT. dt, NR, NT are constants
 * at every call site, so each instantiation keeps acc in registers. */
AI void micro(const int dt, const int NR, const int NT, const uint8_t *w, size_t row_bytes, const sg_q8_act *a,
              int64_t t, float *y, int64_t ldy, const float *bias)
{
    const int64_t cols = a->cols;
    __m512 acc[NRM][NTM];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int u = 0; u < NT; u++) acc[r][u] = _mm512_setzero_ps();
    if (dt == SG_Q4_K || dt == SG_Q6_K) {
        const size_t bb = dt == SG_Q4_K ? SG_Q4_K_BYTES : SG_Q6_K_BYTES;
        _Alignas(64) float sc[NRM][16];
        for (int64_t k0 = 0; k0 < cols; k0 += SG_QK_K) {
            const uint8_t *sb = w + (size_t)(k0 / SG_QK_K) * bb;
#pragma GCC unroll 4
            for (int r = 0; r < NR; r++) {
                if (dt == SG_Q4_K)
                    scales_q4_k(sb + (size_t)r * row_bytes, sc[r]);
                else
                    scales_q6_k(sb + (size_t)r * row_bytes, sc[r]);
            }
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                rowstep rs[NRM];
#pragma GCC unroll 4
                for (int r = 0; r < NR; r++)
                    rs[r] = dt == SG_Q4_K ? prep_q4_k(sb + (size_t)r * row_bytes, c, sc[r])
                                          : prep_q6_k(sb + (size_t)r * row_bytes, c, sc[r]);
                PAIRS(NR, NT, rs, k0 + 64 * c, 1)
            }
            if (dt == SG_Q4_K) { /* mins: acc += -(dmin * m) * (d_x * sum x), per sub-block lane */
#pragma GCC unroll 4
                for (int u = 0; u < NT; u++) {
                    __m512 fx = _mm512_zextps256_ps512(_mm256_loadu_ps(a->fx + (t + u) * (cols / 32) + k0 / 32));
#pragma GCC unroll 4
                    for (int r = 0; r < NR; r++)
                        acc[r][u] = _mm512_fmadd_ps(_mm512_zextps256_ps512(_mm256_load_ps(sc[r] + 8)), fx, acc[r][u]);
                }
            }
        }
    } else {
        for (int64_t k = 0; k < cols; k += 64) {
            const int full = k + 64 <= cols;
            rowstep rs[NRM];
#pragma GCC unroll 4
            for (int r = 0; r < NR; r++)
                rs[r] = dt == SG_Q8_0 ? prep_q8_0(w + (size_t)r * row_bytes, k, full)
                                      : prep_q4_0(w + (size_t)r * row_bytes, k, full);
            PAIRS(NR, NT, rs, k, full)
        }
    }
#pragma GCC unroll 4
    for (int u = 0; u < NT; u++)
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++)
            y[(t + u) * ldy + r] = _mm512_reduce_add_ps(acc[r][u]) + (bias ? bias[r] : 0.0f);
}

#define CASE(dt, nr, nt)                                                                                        \
    case (nr) * 8 + (nt): micro(dt, nr, nt, w, row_bytes, a, t, y, ldy, bias); break;
#define CASES_NR(dt, nr) CASE(dt, nr, 1) CASE(dt, nr, 2) CASE(dt, nr, 3) CASE(dt, nr, 4)

/* One gemm per dtype: tokens in groups of NTM, rows in groups of NRM; a lone
 * token (decoding) goes row by row, which streams weights from memory
 * faster than 4 interleaved rows (measured: ~15 % less time on Q8_0). The
 * per-pair operations are the same either way. */
#define GEMM(name, dt)                                                                                          \
    static __attribute__((noinline)) void tile_##name(int nr, int nt, const uint8_t *w, size_t row_bytes,       \
                                                      const sg_q8_act *a, int64_t t, float *y, int64_t ldy,     \
                                                      const float *bias)                                        \
    {                                                                                                           \
        switch (nr * 8 + nt) {                                                                                  \
            CASES_NR(dt, 1) CASES_NR(dt, 2) CASES_NR(dt, 3) CASES_NR(dt, 4) default: break;                     \
        }                                                                                                       \
    }                                                                                                           \
    static void gemm_##name(const void *w, size_t row_bytes, int64_t nr, const sg_q8_act *a, int64_t t0,        \
                            int64_t t1, float *y, int64_t ldy, const float *bias)                               \
    {                                                                                                           \
        for (int64_t t = t0; t < t1; t += NTM) {                                                                \
            int nt = t1 - t < NTM ? (int)(t1 - t) : NTM;                                                        \
            const int nrm = nt == 1 ? 1 : NRM;                                                                  \
            for (int64_t r = 0; r < nr; r += nrm) {                                                             \
                int n = nr - r < nrm ? (int)(nr - r) : nrm;                                                     \
                tile_##name(n, nt, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, a, t, y + r, ldy,     \
                            bias ? bias + r : NULL);                                                            \
            }                                                                                                   \
        }                                                                                                       \
    }
GEMM(q8_0, SG_Q8_0)
GEMM(q4_0, SG_Q4_0)
GEMM(q4_k, SG_Q4_K)
GEMM(q6_k, SG_Q6_K)

/* The activation quantizer of q8.c (sg_q8_quantize_ref) on 16 lanes: the same
 * float32 operations (max of |x|, d = amax / 127, id = 127 / amax, x * id
 * rounded to nearest even, clamped), hence the same bytes. */
static void quantize(sg_q8_act *act, const float *x, int64_t t0, int64_t t1)
{
    const int64_t cols = act->cols, nb = cols / 32;
    const __m512 lim = _mm512_set1_ps(127.0f);
    for (int64_t t = t0; t < t1; t++) {
        const float *xt = x + t * cols;
        int8_t *q = act->q + t * cols;
        for (int64_t b = 0; b < nb; b++, xt += 32, q += 32) {
            __m512 v0 = _mm512_loadu_ps(xt), v1 = _mm512_loadu_ps(xt + 16);
            float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            __m512 s = _mm512_set1_ps(id);
            __m512 r0 = _mm512_roundscale_ps(_mm512_mul_ps(v0, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512 r1 = _mm512_roundscale_ps(_mm512_mul_ps(v1, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512i i0 = _mm512_cvtps_epi32(_mm512_max_ps(_mm512_min_ps(r0, lim), _mm512_sub_ps(_mm512_setzero_ps(), lim)));
            __m512i i1 = _mm512_cvtps_epi32(_mm512_max_ps(_mm512_min_ps(r1, lim), _mm512_sub_ps(_mm512_setzero_ps(), lim)));
            _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(i0));
            _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(i1));
            int32_t s0 = _mm512_reduce_add_epi32(i0), s1 = _mm512_reduce_add_epi32(i1);
            act->d[t * nb + b] = d;
            act->s32[t * nb + b] = -(s0 + s1);
            act->s16[t * 2 * nb + 2 * b] = -s0;
            act->s16[t * 2 * nb + 2 * b + 1] = -s1;
            act->fx[t * nb + b] = d * (float)(s0 + s1);
        }
        sg_q8_lane_vectors(act, t);
    }
}

const sg_q8_family sg_q8_avx512_family = {
    {[SG_Q8_0] = gemm_q8_0, [SG_Q4_0] = gemm_q4_0, [SG_Q4_K] = gemm_q4_k, [SG_Q6_K] = gemm_q6_k}, quantize};

#else
const sg_q8_family sg_q8_avx512_family = {{0}, NULL};
#endif
