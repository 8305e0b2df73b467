/*
 * simd.h -- a minimal float-vector vocabulary for the CPU kernels.
 *
 * The dtype kernels (kernels_simd.inc) are written once against the names
 * below and compiled for whichever instruction set the build targets:
 *
 *   AVX-512F            SG_VL = 16 float lanes (__m512 / __m512i)
 *   AVX2 + FMA + F16C   SG_VL = 8  float lanes (__m256 / __m256i)
 *   AArch64 NEON        SG_VL = 4  float lanes (float32x4_t / int32x4_t)
 *   anything else       SG_VL undefined: only the portable scalar kernels
 *                       (kernels_ref.c) are built and used.
 *
 * Every operation works on VL lanes of 32 bits: sg_vf holds floats, sg_vi
 * holds int32. Quantized weights are widened from bytes straight into int32
 * lanes (vi_u8/vi_i8), unpacked with shifts and masks, converted to float and
 * fused with the activations; nothing is ever staged through memory.
 *
 * Runtime dispatch (one binary, several ISAs): kernels_simd.inc is compiled
 * once per family (kernels_avx2.c, kernels_avx512.c, kernels_neon.c) with
 * that family's flags, and dtype.c picks the traits row at startup.
 */
#ifndef SG_TENSOR_SIMD_H
#define SG_TENSOR_SIMD_H

#include <stdint.h>

#if defined(__AVX512F__)
/* ------------------------------------------------------------ AVX-512F */
#include <immintrin.h>
#define SG_VL 16
#define SG_SIMD_NAME "avx512"
typedef __m512 sg_vf;
typedef __m512i sg_vi;

static inline sg_vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline sg_vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline sg_vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, sg_vf v) { _mm512_storeu_ps(p, v); }
static inline sg_vf vf_add(sg_vf a, sg_vf b) { return _mm512_add_ps(a, b); }
static inline sg_vf vf_sub(sg_vf a, sg_vf b) { return _mm512_sub_ps(a, b); }
static inline sg_vf vf_mul(sg_vf a, sg_vf b) { return _mm512_mul_ps(a, b); }
/* a * b + c, one rounding */
static inline sg_vf vf_fma(sg_vf a, sg_vf b, sg_vf c) { return _mm512_fmadd_ps(a, b, c); }
/* a * b - c, one rounding */
static inline sg_vf vf_fms(sg_vf a, sg_vf b, sg_vf c) { return _mm512_fmsub_ps(a, b, c); }
static inline float vf_hsum(sg_vf v) { return _mm512_reduce_add_ps(v); }
/* VL halves / bfloat16s -> float (exact) */
static inline sg_vf vf_f16(const void *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline sg_vf vf_bf16(const void *p)
{
    __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
/* VL bytes, zero- or sign-extended to int32 */
static inline sg_vi vi_u8(const void *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)); }
static inline sg_vi vi_i8(const void *p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }
static inline sg_vi vi_set1(int32_t a) { return _mm512_set1_epi32(a); }
static inline sg_vi vi_and(sg_vi a, sg_vi b) { return _mm512_and_si512(a, b); }
static inline sg_vi vi_or(sg_vi a, sg_vi b) { return _mm512_or_si512(a, b); }
static inline sg_vi vi_sub(sg_vi a, sg_vi b) { return _mm512_sub_epi32(a, b); }
#define vi_srl(a, k) _mm512_srli_epi32((a), (k))
#define vi_sll(a, k) _mm512_slli_epi32((a), (k))
static inline sg_vf vi_to_vf(sg_vi a) { return _mm512_cvtepi32_ps(a); }

#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
/* ------------------------------------------------------------ AVX2 + FMA + F16C */
#include <immintrin.h>
#define SG_VL 8
#define SG_SIMD_NAME "avx2"
typedef __m256 sg_vf;
typedef __m256i sg_vi;

static inline sg_vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline sg_vf vf_set1(float a) { return _mm256_set1_ps(a); }
static inline sg_vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, sg_vf v) { _mm256_storeu_ps(p, v); }
static inline sg_vf vf_add(sg_vf a, sg_vf b) { return _mm256_add_ps(a, b); }
static inline sg_vf vf_sub(sg_vf a, sg_vf b) { return _mm256_sub_ps(a, b); }
static inline sg_vf vf_mul(sg_vf a, sg_vf b) { return _mm256_mul_ps(a, b); }
static inline sg_vf vf_fma(sg_vf a, sg_vf b, sg_vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline sg_vf vf_fms(sg_vf a, sg_vf b, sg_vf c) { return _mm256_fmsub_ps(a, b, c); }
static inline float vf_hsum(sg_vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline sg_vf vf_f16(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline sg_vf vf_bf16(const void *p)
{
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
static inline sg_vi vi_u8(const void *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
static inline sg_vi vi_i8(const void *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
static inline sg_vi vi_set1(int32_t a) { return _mm256_set1_epi32(a); }
static inline sg_vi vi_and(sg_vi a, sg_vi b) { return _mm256_and_si256(a, b); }
static inline sg_vi vi_or(sg_vi a, sg_vi b) { return _mm256_or_si256(a, b); }
static inline sg_vi vi_sub(sg_vi a, sg_vi b) { return _mm256_sub_epi32(a, b); }
#define vi_srl(a, k) _mm256_srli_epi32((a), (k))
#define vi_sll(a, k) _mm256_slli_epi32((a), (k))
static inline sg_vf vi_to_vf(sg_vi a) { return _mm256_cvtepi32_ps(a); }

#elif defined(__aarch64__) && defined(__ARM_NEON)
/* ------------------------------------------------------------ AArch64 NEON (baseline on every AArch64 CPU) */
#include <arm_neon.h>
#include <string.h>
#define SG_VL 4
#define SG_SIMD_NAME "neon"
#define SG_SIMD_NEON 1
typedef float32x4_t sg_vf;
typedef int32x4_t sg_vi;

/* Weight bytes are loaded as bytes (vld1_u8 / memcpy): rows of mmap'd files
 * need not be 2-byte aligned, and a load never reads past the VL values. */
static inline sg_vf vf_zero(void) { return vdupq_n_f32(0.0f); }
static inline sg_vf vf_set1(float a) { return vdupq_n_f32(a); }
static inline sg_vf vf_load(const float *p) { return vld1q_f32(p); }
static inline void vf_store(float *p, sg_vf v) { vst1q_f32(p, v); }
static inline sg_vf vf_add(sg_vf a, sg_vf b) { return vaddq_f32(a, b); }
static inline sg_vf vf_sub(sg_vf a, sg_vf b) { return vsubq_f32(a, b); }
static inline sg_vf vf_mul(sg_vf a, sg_vf b) { return vmulq_f32(a, b); }
/* a * b + c, one rounding */
static inline sg_vf vf_fma(sg_vf a, sg_vf b, sg_vf c) { return vfmaq_f32(c, a, b); }
/* a * b - c, one rounding (-c + a * b; the negation is exact) */
static inline sg_vf vf_fms(sg_vf a, sg_vf b, sg_vf c) { return vfmaq_f32(vnegq_f32(c), a, b); }
static inline float vf_hsum(sg_vf v) { return vaddvq_f32(v); }
/* 4 halves / bfloat16s -> float (exact; FCVTL keeps subnormals, inf and NaN) */
static inline sg_vf vf_f16(const void *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8((const uint8_t *)p)));
}
static inline sg_vf vf_bf16(const void *p)
{
    return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8((const uint8_t *)p)), 16));
}
/* 4 bytes, zero- or sign-extended to int32 */
static inline uint8x8_t sg_neon_ld4(const void *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return vreinterpret_u8_u32(vdup_n_u32(w));
}
static inline sg_vi vi_u8(const void *p)
{
    return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(sg_neon_ld4(p)))));
}
static inline sg_vi vi_i8(const void *p)
{
    return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u8(sg_neon_ld4(p)))));
}
static inline sg_vi vi_set1(int32_t a) { return vdupq_n_s32(a); }
static inline sg_vi vi_and(sg_vi a, sg_vi b) { return vandq_s32(a, b); }
static inline sg_vi vi_or(sg_vi a, sg_vi b) { return vorrq_s32(a, b); }
static inline sg_vi vi_sub(sg_vi a, sg_vi b) { return vsubq_s32(a, b); }
/* logical shifts by a constant */
#define vi_srl(a, k) vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(a), (k)))
#define vi_sll(a, k) vshlq_n_s32((a), (k))
static inline sg_vf vi_to_vf(sg_vi a) { return vcvtq_f32_s32(a); }

#endif

#if defined(SG_VL)
/* ------------------------------------------------------------ common to every vector path */

/* Software prefetch distance for streaming weights. The hardware
 * prefetchers alone deliver about half of DRAM bandwidth to the dot
 * kernels on long rows (bench: f16 896x4864 decode 14 -> 30 GB/s with it). */
#define SG_PREFETCH_AHEAD 4096
/* Prefetch the `lines` cache lines SG_PREFETCH_AHEAD bytes past p. */
#define SG_PREFETCH(p, lines)                                                                      \
    do {                                                                                           \
        for (int pf_ = 0; pf_ < (lines); pf_++)                                                    \
            __builtin_prefetch((const char *)(p) + SG_PREFETCH_AHEAD + 64 * pf_, 0, 3);            \
    } while (0)
#endif

#if defined(SG_VL) && !defined(SG_SIMD_NEON)
/* ------------------------------------------------------------ common to both x86 paths */
/*
 * 32-byte integer vectors (AVX2, also present on every AVX-512 CPU) for
 * unpacking quantized bytes 32 at a time, and 8-lane scale conversion. */
typedef __m256i sg_vb;
static inline sg_vb vb_load(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline void vb_store(void *p, sg_vb v) { _mm256_storeu_si256((__m256i *)p, v); }
static inline sg_vb vb_set1(int8_t a) { return _mm256_set1_epi8(a); }
static inline sg_vb vb_and(sg_vb a, sg_vb b) { return _mm256_and_si256(a, b); }
static inline sg_vb vb_or(sg_vb a, sg_vb b) { return _mm256_or_si256(a, b); }
static inline sg_vb vb_sub8(sg_vb a, sg_vb b) { return _mm256_sub_epi8(a, b); }
/* shifts of 16-bit lanes: callers mask off the bits that cross bytes */
#define vb_srl16(a, k) _mm256_srli_epi16((a), (k))
#define vb_sll16(a, k) _mm256_slli_epi16((a), (k))

/* out[i] = d * (float)byte i of `bytes` (little-endian), i < 8. */
static inline void sg_scale8_u8(uint64_t bytes, float d, float out[8])
{
    __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)bytes)));
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_set1_ps(d), v));
}

/* out[i] = d * (float)p[i] for 16 signed bytes. */
static inline void sg_scale16_i8(const int8_t *p, float d, float out[16])
{
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
    __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(b, b)));
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_set1_ps(d), lo));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(_mm256_set1_ps(d), hi));
}
#endif

#if defined(SG_SIMD_NEON)
/* ------------------------------------------------------------ the same helpers on NEON */

/* 32 bytes as two q registers, for unpacking quantized bytes 32 at a time. */
typedef struct {
    uint8x16_t lo, hi;
} sg_vb;
static inline sg_vb vb_load(const void *p)
{
    const uint8_t *b = p;
    return (sg_vb){vld1q_u8(b), vld1q_u8(b + 16)};
}
static inline void vb_store(void *p, sg_vb v)
{
    uint8_t *b = p;
    vst1q_u8(b, v.lo);
    vst1q_u8(b + 16, v.hi);
}
static inline sg_vb vb_set1(int8_t a) { return (sg_vb){vdupq_n_u8((uint8_t)a), vdupq_n_u8((uint8_t)a)}; }
static inline sg_vb vb_and(sg_vb a, sg_vb b) { return (sg_vb){vandq_u8(a.lo, b.lo), vandq_u8(a.hi, b.hi)}; }
static inline sg_vb vb_or(sg_vb a, sg_vb b) { return (sg_vb){vorrq_u8(a.lo, b.lo), vorrq_u8(a.hi, b.hi)}; }
/* byte-wise wrapping subtraction */
static inline sg_vb vb_sub8(sg_vb a, sg_vb b) { return (sg_vb){vsubq_u8(a.lo, b.lo), vsubq_u8(a.hi, b.hi)}; }
/* shifts of 16-bit lanes (as on x86: callers mask off the bits that cross
 * bytes); vshlq_u16 shifts left by a positive count, right by a negative one */
static inline uint8x16_t sg_neon_shl16(uint8x16_t a, int k)
{
    return vreinterpretq_u8_u16(vshlq_u16(vreinterpretq_u16_u8(a), vdupq_n_s16((int16_t)k)));
}
static inline sg_vb vb_srl16(sg_vb a, int k) { return (sg_vb){sg_neon_shl16(a.lo, -k), sg_neon_shl16(a.hi, -k)}; }
static inline sg_vb vb_sll16(sg_vb a, int k) { return (sg_vb){sg_neon_shl16(a.lo, k), sg_neon_shl16(a.hi, k)}; }

/* out[i] = d * (float)byte i of `bytes` (little-endian), i < 8. */
static inline void sg_scale8_u8(uint64_t bytes, float d, float out[8])
{
    uint16x8_t w = vmovl_u8(vcreate_u8(bytes));
    float32x4_t vd = vdupq_n_f32(d);
    vst1q_f32(out, vmulq_f32(vd, vcvtq_f32_u32(vmovl_u16(vget_low_u16(w)))));
    vst1q_f32(out + 4, vmulq_f32(vd, vcvtq_f32_u32(vmovl_high_u16(w))));
}

/* out[i] = d * (float)p[i] for 16 signed bytes. */
static inline void sg_scale16_i8(const int8_t *p, float d, float out[16])
{
    int8x16_t b = vld1q_s8(p);
    int16x8_t lo = vmovl_s8(vget_low_s8(b)), hi = vmovl_high_s8(b);
    float32x4_t vd = vdupq_n_f32(d);
    vst1q_f32(out, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)))));
    vst1q_f32(out + 4, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(lo))));
    vst1q_f32(out + 8, vmulq_f32(vd, vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)))));
    vst1q_f32(out + 12, vmulq_f32(vd, vcvtq_f32_s32(vmovl_high_s16(hi))));
}
#endif

#endif
