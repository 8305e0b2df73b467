/*
 * simd.h -- a minimal float-vector vocabulary for the CPU kernels.
 *
 * The dtype kernels (kernels_simd.c) are written once against the names
 * below and compiled for whichever instruction set the build targets:
 *
 *   AVX-512F            SG_VL = 16 float lanes (__m512 / __m512i)
 *   AVX2 + FMA + F16C   SG_VL = 8  float lanes (__m256 / __m256i)
 *   anything else       SG_VL undefined: only the portable scalar kernels
 *                       (kernels_ref.c) are built and used.
 *
 * Every operation works on VL lanes of 32 bits: sg_vf holds floats, sg_vi
 * holds int32. Quantized weights are widened from bytes straight into int32
 * lanes (vi_u8/vi_i8), unpacked with shifts and masks, converted to float and
 * fused with the activations; nothing is ever staged through memory.
 *
 * Runtime dispatch (one binary, several ISAs) would compile kernels_simd.c
 * once per target with different flags and pick the traits row at startup;
 * the kernels themselves need no change for that.
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

#endif

#if defined(SG_VL)
/* ------------------------------------------------------------ common to both x86 paths */

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

#endif
