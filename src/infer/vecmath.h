/*
 * vecmath.h -- the few whole-vocabulary float loops the sampler needs, each
 * in a SIMD form and a scalar form that give bit-identical results.
 *
 * Sampling must be reproducible: one seed and one logits vector must give
 * one token on every machine. Anything that feeds the draw (exponentials,
 * sums) is therefore computed the same way whatever the instruction set:
 *
 *   - sg_expf is Cephes' expf (range reduction by ln 2 in two parts, a
 *     degree-5 polynomial) written with explicit fused multiply-adds; the
 *     vector form performs the very same IEEE operations lane by lane, and
 *     fmaf() is correctly rounded by the C standard, so both agree bit for
 *     bit (relative error ~1e-7, inputs below -87 give exactly 0).
 *   - sums run per block of 256 elements over 16 interleaved float lanes
 *     (element i goes to lane i % 16), the lanes are added in order in
 *     double, then the blocks in order: AVX-512 holds the 16 lanes in one
 *     register, AVX2 in two, the scalar path in an array.
 *
 * Max and compare loops have no rounding, so only speed differs there.
 */
#ifndef SG_INFER_VECMATH_H
#define SG_INFER_VECMATH_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor/simd.h"

/* The vector forms below are written for x86 (16 or 8 lanes); elsewhere
 * (AArch64 NEON included) the scalar forms run, which give the same bits. */
#if defined(SG_VL) && !defined(SG_SIMD_NEON)
#define SGV_SIMD 1
#else
#define SGV_SIMD 0
#endif

#define SG_EXP_LO (-87.0f) /* exp of anything below is reported as 0 */

/* Cephes expf constants */
#define SG_EXP_LOG2E 1.44269504088896341f
#define SG_EXP_C1 0.693359375f
#define SG_EXP_C2 (-2.12194440e-4f)
#define SG_EXP_ROUND 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer */
#define SG_EXP_P0 1.9875691500e-4f
#define SG_EXP_P1 1.3981999507e-3f
#define SG_EXP_P2 8.3334519073e-3f
#define SG_EXP_P3 4.1665795894e-2f
#define SG_EXP_P4 1.6666665459e-1f
#define SG_EXP_P5 5.0000001201e-1f

/* e^x for x <= 88, 0 for x < -87 or NaN. */
static inline float sg_expf(float x)
{
    if (!(x >= SG_EXP_LO)) return 0.0f;
    if (x > 88.0f) x = 88.0f;
    float t = fmaf(x, SG_EXP_LOG2E, SG_EXP_ROUND);
    float n = t - SG_EXP_ROUND;
    float r = fmaf(n, -SG_EXP_C1, x);
    r = fmaf(n, -SG_EXP_C2, r);
    float p = SG_EXP_P0;
    p = fmaf(p, r, SG_EXP_P1);
    p = fmaf(p, r, SG_EXP_P2);
    p = fmaf(p, r, SG_EXP_P3);
    p = fmaf(p, r, SG_EXP_P4);
    p = fmaf(p, r, SG_EXP_P5);
    float r2 = r * r;
    p = fmaf(p, r2, r);
    p = p + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#if SGV_SIMD
#if SG_VL == 16
static inline sg_vf sgv_max(sg_vf x, sg_vf acc) { return _mm512_max_ps(x, acc); } /* NaN x: acc */
static inline sg_vf sgv_min(sg_vf a, sg_vf b) { return _mm512_min_ps(a, b); }
static inline float sgv_hmax(sg_vf v) { return _mm512_reduce_max_ps(v); }
static inline int sgv_any_gt(sg_vf x, sg_vf t) { return _mm512_cmp_ps_mask(x, t, _CMP_GT_OQ) != 0; }
/* x where x >= lo (ordered), else 0 */
static inline sg_vf sgv_keep_ge(sg_vf v, sg_vf x, sg_vf lo)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), v);
}
static inline sg_vf sgv_pow2(sg_vf n)
{
    __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
}
/* NaN -> -inf, +inf -> FLT_MAX */
static inline sg_vf sgv_sanitize(sg_vf x)
{
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    x = _mm512_mask_mov_ps(x, nan, _mm512_set1_ps(-INFINITY));
    return _mm512_min_ps(x, _mm512_set1_ps(FLT_MAX));
}
#else /* SG_VL == 8 */
static inline sg_vf sgv_max(sg_vf x, sg_vf acc) { return _mm256_max_ps(x, acc); }
static inline sg_vf sgv_min(sg_vf a, sg_vf b) { return _mm256_min_ps(a, b); }
static inline float sgv_hmax(sg_vf v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
static inline int sgv_any_gt(sg_vf x, sg_vf t) { return _mm256_movemask_ps(_mm256_cmp_ps(x, t, _CMP_GT_OQ)) != 0; }
static inline sg_vf sgv_keep_ge(sg_vf v, sg_vf x, sg_vf lo)
{
    return _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), v);
}
static inline sg_vf sgv_pow2(sg_vf n)
{
    __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
}
static inline sg_vf sgv_sanitize(sg_vf x)
{
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    x = _mm256_blendv_ps(x, _mm256_set1_ps(-INFINITY), nan);
    return _mm256_min_ps(x, _mm256_set1_ps(FLT_MAX));
}
#endif

/* The vector form of sg_expf: the same operations in the same order. */
static inline sg_vf sgv_exp(sg_vf x)
{
    sg_vf lo = vf_set1(SG_EXP_LO);
    sg_vf xc = sgv_min(x, vf_set1(88.0f));
    sg_vf t = vf_fma(xc, vf_set1(SG_EXP_LOG2E), vf_set1(SG_EXP_ROUND));
    sg_vf n = vf_sub(t, vf_set1(SG_EXP_ROUND));
    sg_vf r = vf_fma(n, vf_set1(-SG_EXP_C1), xc);
    r = vf_fma(n, vf_set1(-SG_EXP_C2), r);
    sg_vf p = vf_set1(SG_EXP_P0);
    p = vf_fma(p, r, vf_set1(SG_EXP_P1));
    p = vf_fma(p, r, vf_set1(SG_EXP_P2));
    p = vf_fma(p, r, vf_set1(SG_EXP_P3));
    p = vf_fma(p, r, vf_set1(SG_EXP_P4));
    p = vf_fma(p, r, vf_set1(SG_EXP_P5));
    sg_vf r2 = vf_mul(r, r);
    p = vf_fma(p, r2, r);
    p = vf_add(p, vf_set1(1.0f));
    /* lanes below -87 (or NaN) become 0 and never reach pow2 with a bad n */
    sg_vf n_safe = sgv_keep_ge(n, x, lo);
    return sgv_keep_ge(vf_mul(p, sgv_pow2(n_safe)), x, lo);
}
#endif

/* dst[i] = src[i] with NaN -> -inf and +inf -> FLT_MAX. */
static inline void sg_vcopy_sanitize(float *dst, const float *src, int n)
{
    int i = 0;
#if SGV_SIMD
    for (; i + SG_VL <= n; i += SG_VL) vf_store(dst + i, sgv_sanitize(vf_load(src + i)));
#endif
    for (; i < n; i++) {
        float x = src[i];
        dst[i] = x != x ? -INFINITY : (x > FLT_MAX ? FLT_MAX : x);
    }
}

/* Largest element, ignoring NaNs (-inf when all are NaN or -inf, or n == 0). */
static inline float sg_vmax(const float *x, int n)
{
    float m = -INFINITY;
    int i = 0;
#if SGV_SIMD
    if (n >= SG_VL) {
        sg_vf a0 = vf_set1(-INFINITY), a1 = a0;
        for (; i + 2 * SG_VL <= n; i += 2 * SG_VL) {
            a0 = sgv_max(vf_load(x + i), a0);
            a1 = sgv_max(vf_load(x + i + SG_VL), a1);
        }
        m = sgv_hmax(sgv_max(a0, a1));
    }
#endif
    for (; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

#define SG_EXP_BLOCK 256 /* elements per partial sum of sg_vexp_sum */

/* Sum of 16 lanes (element i in lane i % 16) added in order in double. */
static inline double sg_lanes_sum(const float lane[16])
{
    double s = 0;
    for (int j = 0; j < 16; j++) s += lane[j];
    return s;
}

/* out[i] = x[i] >= lo ? e^((x[i] - sub) * mul) : 0, and the sum of out.
 * Sums are taken per block of SG_EXP_BLOCK elements: within a block over
 * 16 float lanes (element i in lane i % 16), the lanes then added in order
 * in double; bsum[b] (when not NULL) receives block b's sum, and the
 * result is the blocks' sums added in order. Identical on every path. */
static inline double sg_vexp_sum(const float *x, float *out, int n, float sub, float mul, float lo, double *bsum)
{
    double total = 0;
    for (int b0 = 0; b0 < n; b0 += SG_EXP_BLOCK) {
        int b1 = n - b0 < SG_EXP_BLOCK ? n : b0 + SG_EXP_BLOCK, i = b0;
        float lane[16] = {0};
#if SGV_SIMD
        sg_vf acc[16 / SG_VL];
        for (int j = 0; j < 16 / SG_VL; j++) acc[j] = vf_zero();
        sg_vf vs = vf_set1(sub), vm = vf_set1(mul), vlo = vf_set1(lo);
        for (; i + 16 <= b1; i += 16)
            for (int j = 0; j < 16 / SG_VL; j++) {
                sg_vf v = vf_load(x + i + j * SG_VL);
                sg_vf e = sgv_keep_ge(sgv_exp(vf_mul(vf_sub(v, vs), vm)), v, vlo);
                vf_store(out + i + j * SG_VL, e);
                acc[j] = vf_add(acc[j], e);
            }
        for (int j = 0; j < 16 / SG_VL; j++) vf_store(lane + j * SG_VL, acc[j]);
#endif
        for (; i < b1; i++) {
            float e = x[i] >= lo ? sg_expf((x[i] - sub) * mul) : 0.0f;
            out[i] = e;
            lane[i % 16] += e;
        }
        double s = sg_lanes_sum(lane);
        if (bsum) bsum[b0 / SG_EXP_BLOCK] = s;
        total += s;
    }
    return total;
}

/* Block b's sum of w[] recomputed exactly as sg_vexp_sum forms it. */
static inline double sg_block_sum(const float *w, int n, int b)
{
    float lane[16] = {0};
    int b0 = b * SG_EXP_BLOCK, b1 = n - b0 < SG_EXP_BLOCK ? n : b0 + SG_EXP_BLOCK;
    for (int i = b0; i < b1; i++) lane[i % 16] += w[i];
    return sg_lanes_sum(lane);
}

/* Does any of the 16 floats at x exceed t? */
static inline int sg_vany_gt16(const float *x, float t)
{
#if SGV_SIMD
    sg_vf vt = vf_set1(t);
    int any = 0;
    for (int j = 0; j < 16; j += SG_VL) any |= sgv_any_gt(vf_load(x + j), vt);
    return any;
#else
    int any = 0;
    for (int j = 0; j < 16; j++) any |= x[j] > t;
    return any;
#endif
}

#endif
