/*
 * kernels_q8_avx2.c -- 8-bit-activation kernels, AVX2 (maddubs + madd).
 *
 * The AVX-512 file's scheme (see its header and q8.h) on 8 int32 lanes, one
 * activation block of 32 values per step. AVX2 has no vpdpbusd; the exact
 * integer lanes come from vpmaddubsw (unsigned x signed bytes -> int16 pair
 * sums) then vpmaddwd with ones (-> int32, 4 values per lane):
 *   Q8_0: signed weights, so |w| x (x with w's sign): |w| <= 128, |x| <= 127,
 *         a pair sum is at most 32512 (no int16 saturation);
 *   Q4_0, Q4_K, Q6_K: unsigned 4/6-bit values (pair sums <= 16002), offsets
 *         removed by XC = -offset * sum(x) in one lane per block / sub-block.
 * Per pair and step: acc = fma(cvt(I), DW * DX, acc); Q4_K adds its mins per
 * super-block; one fixed horizontal sum at the end. Register tiles are
 * NR <= 2 rows x NT <= 4 tokens (16 ymm registers), all shapes running the
 * same per-pair operations, so results do not depend on the batch.
 */
#include "tensor/q8.h"

#include "tensor/kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "base/f16.h"

#define AI __attribute__((always_inline)) static inline
#define NRM 2
#define NTM 4

typedef struct {
    __m256i w;
    __m256 dw;
} rowstep;

typedef struct {
    __m256i x, xc;
    __m256 dx;
} tokstep;

/* Fixed-order horizontal sum of 8 lanes. */
AI float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AI rowstep prep_q8_0(const uint8_t *row, int64_t blk)
{
    const uint8_t *b = row + blk * SG_Q8_0_BYTES;
    rowstep s;
    s.w = _mm256_loadu_si256((const __m256i *)(b + 2));
    s.dw = _mm256_set1_ps(sg_f16_to_f32(sg_rd_u16(b)));
    return s;
}

AI rowstep prep_q4_0(const uint8_t *row, int64_t blk)
{
    const uint8_t *b = row + blk * SG_Q4_0_BYTES;
    __m128i v = _mm_loadu_si128((const __m128i *)(b + 2));
    rowstep s;
    s.w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
    s.dw = _mm256_set1_ps(sg_f16_to_f32(sg_rd_u16(b)));
    return s;
}

/* Q4_K sub-block c (0..7) of a super-block; sm = [d * sc (8), -dmin * m (8)]. */
AI rowstep prep_q4_k(const uint8_t *sb, int c, const float *sm)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(sb + 16 + 32 * (c / 2)));
    rowstep s;
    s.w = _mm256_and_si256(c % 2 ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0x0F));
    s.dw = _mm256_set1_ps(sm[c]);
    return s;
}

AI void scales_q4_k(const uint8_t *sb, float *sm)
{
    uint64_t sc, m;
    sg_q4_k_scales_packed(sb + 4, &sc, &m);
    __m256 fs = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc)));
    __m256 fm = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)m)));
    _mm256_store_ps(sm, _mm256_mul_ps(_mm256_set1_ps(sg_f16_to_f32(sg_rd_u16(sb))), fs));
    _mm256_store_ps(sm + 8, _mm256_mul_ps(_mm256_set1_ps(-sg_f16_to_f32(sg_rd_u16(sb + 2))), fm));
}

/* Q6_K values 32c .. 32c+31 of a super-block (c = 4 half + k: ql[l + 32(k%2)]
 * nibble k/2, qh[l] bits 2k..2k+1); ds = d * sc per 16-value sub-block. */
AI rowstep prep_q6_k(const uint8_t *sb, int c, const float *ds)
{
    const int half = c / 4, k = c % 4;
    __m256i l = _mm256_loadu_si256((const __m256i *)(sb + 64 * half + 32 * (k % 2)));
    __m256i h = _mm256_loadu_si256((const __m256i *)(sb + 128 + 32 * half));
    __m256i nib = k / 2 ? _mm256_srli_epi16(l, 4) : l;
    __m256i hs = k == 0 ? _mm256_slli_epi16(h, 4) : k == 1 ? _mm256_slli_epi16(h, 2) : k == 2 ? h : _mm256_srli_epi16(h, 2);
    rowstep s;
    s.w = _mm256_or_si256(_mm256_and_si256(nib, _mm256_set1_epi8(0x0F)), _mm256_and_si256(hs, _mm256_set1_epi8(0x30)));
    s.dw = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(ds[2 * c])), _mm_set1_ps(ds[2 * c + 1]), 1);
    return s;
}

AI void scales_q6_k(const uint8_t *sb, float *ds)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(sb + 192));
    __m256 d = _mm256_set1_ps(sg_f16_to_f32(sg_rd_u16(sb + 208)));
    _mm256_store_ps(ds, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))));
    _mm256_store_ps(ds + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)))));
}

AI tokstep tok_step(const int dt, const sg_q8_act *a, int64_t ti, int64_t blk)
{
    const int64_t cols = a->cols, nb = cols / 32;
    tokstep s;
    s.x = _mm256_loadu_si256((const __m256i *)(a->q + ti * cols + 32 * blk));
    s.dx = _mm256_set1_ps(a->d[ti * nb + blk]);
    if (dt == SG_Q4_0) {
        s.xc = _mm256_setr_epi32(a->s32[ti * nb + blk] * 8, 0, 0, 0, 0, 0, 0, 0);
    } else if (dt == SG_Q6_K) {
        const int32_t *h = a->s16 + ti * 2 * nb + 2 * blk;
        s.xc = _mm256_setr_epi32(h[0] * 32, 0, 0, 0, h[1] * 32, 0, 0, 0);
    } else {
        s.xc = _mm256_setzero_si256();
    }
    return s;
}

/* exact int32 lanes of one step for one pair */
AI __m256i idot(const int dt, __m256i w, const tokstep *ts)
{
    const __m256i ones = _mm256_set1_epi16(1);
    if (dt == SG_Q8_0)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(ts->x, w)), ones);
    return _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(w, ts->x), ones), ts->xc);
}

#define PAIRS(NR, NT, rs, blk)                                                                                     \
    _Pragma("GCC unroll 4") for (int u = 0; u < NT; u++)                                                          \
    {                                                                                                              \
        tokstep ts = tok_step(dt, a, t + u, blk);                                                                  \
        _Pragma("GCC unroll 2") for (int r = 0; r < NR; r++)                                                       \
        {                                                                                                          \
            __m256 p = _mm256_cvtepi32_ps(idot(dt, rs[r].w, &ts));                                                 \
            acc[r][u] = _mm256_fmadd_ps(p, _mm256_mul_ps(rs[r].dw, ts.dx), acc[r][u]);                             \
        }                                                                                                          \
    }

AI void micro(const int dt, const int NR, const int NT, const uint8_t *w, size_t row_bytes, const sg_q8_act *a,
              int64_t t, float *y, int64_t ldy, const float *bias)
{
    const int64_t cols = a->cols;
    __m256 acc[NRM][NTM];
#pragma GCC unroll 2
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int u = 0; u < NT; u++) acc[r][u] = _mm256_setzero_ps();
    if (dt == SG_Q4_K || dt == SG_Q6_K) {
        const size_t bb = dt == SG_Q4_K ? SG_Q4_K_BYTES : SG_Q6_K_BYTES;
        _Alignas(32) float sc[NRM][16];
        for (int64_t k0 = 0; k0 < cols; k0 += SG_QK_K) {
            const uint8_t *sb = w + (size_t)(k0 / SG_QK_K) * bb;
#pragma GCC unroll 2
            for (int r = 0; r < NR; r++) {
                if (dt == SG_Q4_K)
                    scales_q4_k(sb + (size_t)r * row_bytes, sc[r]);
                else
                    scales_q6_k(sb + (size_t)r * row_bytes, sc[r]);
            }
#pragma GCC unroll 8
            for (int c = 0; c < 8; c++) {
                rowstep rs[NRM];
#pragma GCC unroll 2
                for (int r = 0; r < NR; r++)
                    rs[r] = dt == SG_Q4_K ? prep_q4_k(sb + (size_t)r * row_bytes, c, sc[r])
                                          : prep_q6_k(sb + (size_t)r * row_bytes, c, sc[r]);
                PAIRS(NR, NT, rs, k0 / 32 + c)
            }
            if (dt == SG_Q4_K) {
#pragma GCC unroll 4
                for (int u = 0; u < NT; u++) {
                    __m256 fx = _mm256_loadu_ps(a->fx + (t + u) * (cols / 32) + k0 / 32);
#pragma GCC unroll 2
                    for (int r = 0; r < NR; r++) acc[r][u] = _mm256_fmadd_ps(_mm256_load_ps(sc[r] + 8), fx, acc[r][u]);
                }
            }
        }
    } else {
        for (int64_t blk = 0; blk < cols / 32; blk++) {
            rowstep rs[NRM];
#pragma GCC unroll 2
            for (int r = 0; r < NR; r++)
                rs[r] = dt == SG_Q8_0 ? prep_q8_0(w + (size_t)r * row_bytes, blk) : prep_q4_0(w + (size_t)r * row_bytes, blk);
            PAIRS(NR, NT, rs, blk)
        }
    }
#pragma GCC unroll 4
    for (int u = 0; u < NT; u++)
#pragma GCC unroll 2
        for (int r = 0; r < NR; r++) y[(t + u) * ldy + r] = hsum8(acc[r][u]) + (bias ? bias[r] : 0.0f);
}

#define CASE(dt, nr, nt)                                                                                        \
    case (nr) * 8 + (nt): micro(dt, nr, nt, w, row_bytes, a, t, y, ldy, bias); break;
#define CASES_NR(dt, nr) CASE(dt, nr, 1) CASE(dt, nr, 2) CASE(dt, nr, 3) CASE(dt, nr, 4)

#define GEMM(name, dt)                                                                                          \
    static __attribute__((noinline)) void tile_##name(int nr, int nt, const uint8_t *w, size_t row_bytes,       \
                                                      const sg_q8_act *a, int64_t t, float *y, int64_t ldy,     \
                                                      const float *bias)                                        \
    {                                                                                                           \
        switch (nr * 8 + nt) {                                                                                  \
            CASES_NR(dt, 1) CASES_NR(dt, 2) default: break;                                                     \
        }                                                                                                       \
    }                                                                                                           \
    static void gemm_##name(const void *w, size_t row_bytes, int64_t nr, const sg_q8_act *a, int64_t t0,        \
                            int64_t t1, float *y, int64_t ldy, const float *bias)                               \
    {                                                                                                           \
        for (int64_t t = t0; t < t1; t += NTM) {                                                                \
            int nt = t1 - t < NTM ? (int)(t1 - t) : NTM;                                                        \
            for (int64_t r = 0; r < nr; r += NRM) {                                                             \
                int n = nr - r < NRM ? (int)(nr - r) : NRM;                                                     \
                tile_##name(n, nt, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, a, t, y + r, ldy,     \
                            bias ? bias + r : NULL);                                                            \
            }                                                                                                   \
        }                                                                                                       \
    }
GEMM(q8_0, SG_Q8_0)
GEMM(q4_0, SG_Q4_0)
GEMM(q4_k, SG_Q4_K)
GEMM(q6_k, SG_Q6_K)

const sg_q8_family sg_q8_avx2_family = {
    {[SG_Q8_0] = gemm_q8_0, [SG_Q4_0] = gemm_q4_0, [SG_Q4_K] = gemm_q4_k, [SG_Q6_K] = gemm_q6_k}, NULL};

#else
const sg_q8_family sg_q8_avx2_family = {{0}, NULL};
#endif
