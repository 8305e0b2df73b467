/*
 * q8.c -- 8-bit activations: quantizer, scalar reference kernels, dispatch.
 *
 * The reference kernels compute every block's integer dot product exactly
 * (int64) and accumulate the scaled block terms in double: the definition
 * the vector kernels (kernels_q8_avx512.c, kernels_q8_avx2.c) are tested
 * against, and the fallback on CPUs without them. Each output is computed
 * on its own, so this family is trivially batch-invariant too.
 */
#include "tensor/q8.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/f16.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include "tensor/kernels.h"

#define QB 32 /* activation block */

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

size_t sg_q8_act_bytes(int64_t n, int64_t cols)
{
    size_t nb = (size_t)(n * (cols / QB)), nv = (size_t)(n * ((cols + 63) / 64) * 16);
    return align64((size_t)(n * cols)) + 4 * align64(nb * 4) + align64(2 * nb * 4) + 2 * align64(nv * 4) + 64;
}

void sg_q8_act_init(sg_q8_act *act, void *mem, int64_t n, int64_t cols)
{
    size_t nb = (size_t)(n * (cols / QB));
    uint8_t *p = mem;
    act->cols = cols;
    act->q = (int8_t *)p;
    p += align64((size_t)(n * cols));
    act->d = (float *)p;
    p += align64(nb * 4);
    act->s32 = (int32_t *)p;
    p += align64(nb * 4);
    act->fx = (float *)p;
    p += align64(nb * 4);
    act->s16 = (int32_t *)p;
    p += align64(2 * nb * 4);
    size_t nv = (size_t)(n * ((cols + 63) / 64) * 16);
    act->dv = (float *)p;
    p += align64(nv * 4);
    act->sv = (int32_t *)p;
}

void sg_q8_lane_vectors(sg_q8_act *act, int64_t t)
{
    const int64_t cols = act->cols, nb = cols / QB, ns = (cols + 63) / 64;
    float *dv = act->dv + t * ns * 16;
    int32_t *sv = act->sv + t * ns * 16;
    for (int64_t b = 0; b < 2 * ns; b++) {
        bool in = b < nb;
        for (int l = 0; l < 8; l++) {
            dv[8 * b + l] = in ? act->d[t * nb + b] : 0.0f;
            sv[8 * b + l] = in && l == 0 ? act->s32[t * nb + b] : 0;
        }
    }
}

void sg_q8_quantize_ref(sg_q8_act *act, const float *x, int64_t t0, int64_t t1)
{
    const int64_t cols = act->cols, nb = cols / QB;
    for (int64_t t = t0; t < t1; t++) {
        const float *xt = x + t * cols;
        int8_t *q = act->q + t * cols;
        for (int64_t b = 0; b < nb; b++, xt += QB, q += QB) {
            float amax = 0.0f;
            for (int i = 0; i < QB; i++) {
                float a = fabsf(xt[i]);
                amax = a > amax ? a : amax;
            }
            float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            int32_t s[2] = {0, 0};
            for (int i = 0; i < QB; i++) {
                float v = nearbyintf(xt[i] * id);
                v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
                q[i] = (int8_t)v;
                s[i / 16] += q[i];
            }
            act->d[t * nb + b] = d;
            act->s32[t * nb + b] = -(s[0] + s[1]);
            act->s16[t * 2 * nb + 2 * b] = -s[0];
            act->s16[t * 2 * nb + 2 * b + 1] = -s[1];
            act->fx[t * nb + b] = d * (float)(s[0] + s[1]);
        }
        sg_q8_lane_vectors(act, t);
    }
}

bool sg_q8_supported(sg_dtype t)
{
    return t == SG_Q8_0 || t == SG_Q4_0 || t == SG_Q4_K || t == SG_Q6_K;
}

/* ------------------------------------------------------------ reference */

static double ref_q8_0(const uint8_t *w, const int8_t *q, const float *d, int64_t cols)
{
    double acc = 0;
    for (int64_t b = 0; b < cols / QB; b++, w += SG_Q8_0_BYTES, q += QB) {
        const int8_t *wq = (const int8_t *)(w + 2);
        int64_t s = 0;
        for (int i = 0; i < QB; i++) s += (int64_t)wq[i] * q[i];
        acc += (double)sg_f16_to_f32(sg_rd_u16(w)) * (double)d[b] * (double)s;
    }
    return acc;
}

static double ref_q4_0(const uint8_t *w, const int8_t *q, const float *d, int64_t cols)
{
    double acc = 0;
    for (int64_t b = 0; b < cols / QB; b++, w += SG_Q4_0_BYTES, q += QB) {
        int64_t s = 0;
        for (int i = 0; i < 16; i++) s += (int64_t)((w[2 + i] & 0xF) - 8) * q[i] + (int64_t)((w[2 + i] >> 4) - 8) * q[i + 16];
        acc += (double)sg_f16_to_f32(sg_rd_u16(w)) * (double)d[b] * (double)s;
    }
    return acc;
}

static double ref_q4_k(const uint8_t *w, const int8_t *q, const float *d, int64_t cols)
{
    double acc = 0;
    for (int64_t i0 = 0; i0 < cols; i0 += SG_QK_K, w += SG_Q4_K_BYTES) {
        float dd = sg_f16_to_f32(sg_rd_u16(w)), dmin = sg_f16_to_f32(sg_rd_u16(w + 2));
        uint8_t sc[8], m[8];
        sg_q4_k_scales(w + 4, sc, m);
        for (int s = 0; s < 8; s++) {
            const uint8_t *qs = w + 16 + 32 * (s / 2);
            const int8_t *qa = q + i0 + 32 * s;
            int64_t dot = 0, sum = 0;
            for (int l = 0; l < 32; l++) {
                int n = s % 2 ? qs[l] >> 4 : qs[l] & 0xF;
                dot += (int64_t)n * qa[l];
                sum += qa[l];
            }
            double dx = d[(i0 + 32 * s) / QB];
            acc += (double)(dd * (float)sc[s]) * dx * (double)dot - (double)(dmin * (float)m[s]) * dx * (double)sum;
        }
    }
    return acc;
}

static double ref_q6_k(const uint8_t *w, const int8_t *q, const float *d, int64_t cols)
{
    double acc = 0;
    for (int64_t i0 = 0; i0 < cols; i0 += SG_QK_K, w += SG_Q6_K_BYTES) {
        const int8_t *sc = (const int8_t *)(w + 192);
        float dd = sg_f16_to_f32(sg_rd_u16(w + 208));
        int8_t v[SG_QK_K];
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = w + 64 * half, *qh = w + 128 + 32 * half;
            for (int l = 0; l < 32; l++) {
                v[128 * half + l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                v[128 * half + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                v[128 * half + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                v[128 * half + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        for (int s = 0; s < 16; s++) {
            int64_t dot = 0;
            for (int l = 0; l < 16; l++) dot += (int64_t)v[16 * s + l] * q[i0 + 16 * s + l];
            acc += (double)(dd * (float)sc[s]) * (double)d[(i0 + 16 * s) / QB] * (double)dot;
        }
    }
    return acc;
}

#define REF_GEMM(name, fn)                                                                                    \
    static void name(const void *w, size_t row_bytes, int64_t nr, const sg_q8_act *act, int64_t t0, int64_t t1, \
                     float *y, int64_t ldy, const float *bias)                                                \
    {                                                                                                         \
        const int64_t cols = act->cols, nb = cols / QB;                                                       \
        for (int64_t t = t0; t < t1; t++)                                                                     \
            for (int64_t r = 0; r < nr; r++) {                                                                \
                float v = (float)fn((const uint8_t *)w + (size_t)r * row_bytes, act->q + t * cols,           \
                                    act->d + t * nb, cols);                                                   \
                y[t * ldy + r] = v + (bias ? bias[r] : 0.0f);                                                 \
            }                                                                                                 \
    }
REF_GEMM(ref_gemm_q8_0, ref_q8_0)
REF_GEMM(ref_gemm_q4_0, ref_q4_0)
REF_GEMM(ref_gemm_q4_k, ref_q4_k)
REF_GEMM(ref_gemm_q6_k, ref_q6_k)

const sg_q8_family sg_q8_ref_family = {
    {[SG_Q8_0] = ref_gemm_q8_0, [SG_Q4_0] = ref_gemm_q4_0, [SG_Q4_K] = ref_gemm_q4_k, [SG_Q6_K] = ref_gemm_q6_k},
    sg_q8_quantize_ref};

/* ------------------------------------------------------------ dispatch */

/* AVX-512 VNNI (cpuid leaf 7, ecx bit 11): the AVX-512 family's q8 kernels
 * need it on top of F/BW/VL. */
static bool cpu_vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (c >> 11) & 1u;
#else
    return false;
#endif
}

static const sg_q8_family *k_fam;
static const char *k_name = "ref";
static pthread_once_t k_once = PTHREAD_ONCE_INIT;

static const sg_q8_family *family_isa(sg_isa isa, const char **name)
{
    if (isa == SG_ISA_AVX512 && sg_isa_usable(SG_ISA_AVX512) && cpu_vnni() && sg_q8_avx512_family.gemm[SG_Q8_0]) {
        if (name) *name = "avx512-vnni";
        return &sg_q8_avx512_family;
    }
    if (isa >= SG_ISA_AVX2 && sg_isa_usable(SG_ISA_AVX2) && sg_q8_avx2_family.gemm[SG_Q8_0]) {
        if (name) *name = "avx2";
        return &sg_q8_avx2_family;
    }
    if (name) *name = "ref";
    return &sg_q8_ref_family;
}

static void pick(void)
{
    k_fam = family_isa(sg_isa_active(), &k_name);
}

void sg_q8_quantize(sg_q8_act *act, const float *x, int64_t t0, int64_t t1)
{
    pthread_once(&k_once, pick);
    (k_fam->quantize ? k_fam->quantize : sg_q8_quantize_ref)(act, x, t0, t1);
}

sg_q8_gemm_fn sg_q8_gemm(sg_dtype t)
{
    pthread_once(&k_once, pick);
    return sg_q8_supported(t) ? k_fam->gemm[t] : NULL;
}

sg_q8_gemm_fn sg_q8_gemm_isa(sg_isa isa, sg_dtype t)
{
    if (!sg_q8_supported(t) || !sg_isa_usable(isa)) return NULL;
    if (isa == SG_ISA_REF) return sg_q8_ref_family.gemm[t];
    const char *name = NULL;
    const sg_q8_family *f = family_isa(isa, &name);
    /* the exact family asked for, not a fallback */
    if ((isa == SG_ISA_AVX512 && f != &sg_q8_avx512_family) || (isa == SG_ISA_AVX2 && f != &sg_q8_avx2_family))
        return NULL;
    return f->gemm[t];
}

const char *sg_q8_kernels(void)
{
    pthread_once(&k_once, pick);
    return k_name;
}
