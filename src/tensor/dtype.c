/*
 * dtype.c -- the dtype traits table: names, block geometry and kernels.
 *
 * One row per sg_dtype. The kernels come from one of two families with the
 * same signatures (kernels.h): the SIMD family when simd.h recognized the
 * target at compile time (AVX-512F or AVX2+FMA+F16C), the portable scalar
 * reference otherwise. Runtime CPU dispatch would fill this table at startup
 * from several separately compiled SIMD families; callers never see which.
 *
 * sg_to_float_ref / sg_dot_ref always run the scalar reference, so tests can
 * hold the table's kernels against it.
 */
#include "tensor/dtype.h"

#include "tensor/kernels.h"

#if SG_HAVE_SIMD
#define K(fn) sg_simd_##fn
#else
#define K(fn) sg_ref_##fn
#endif

static const sg_dtype_traits k_traits[SG_DTYPE_COUNT] = {
    [SG_F32] = {"f32", 1, 4, K(to_float_f32), K(dot_f32)},
    [SG_F16] = {"f16", 1, 2, K(to_float_f16), K(dot_f16)},
    [SG_BF16] = {"bf16", 1, 2, K(to_float_bf16), K(dot_bf16)},
    [SG_Q8_0] = {"q8_0", SG_QK8_0, SG_Q8_0_BYTES, K(to_float_q8_0), K(dot_q8_0)},
    [SG_Q4_0] = {"q4_0", SG_QK4_0, SG_Q4_0_BYTES, K(to_float_q4_0), K(dot_q4_0)},
    [SG_Q4_K] = {"q4_K", SG_QK_K, SG_Q4_K_BYTES, K(to_float_q4_k), K(dot_q4_k)},
    [SG_Q6_K] = {"q6_K", SG_QK_K, SG_Q6_K_BYTES, K(to_float_q6_k), K(dot_q6_k)},
};

static const sg_dtype_traits k_ref[SG_DTYPE_COUNT] = {
    [SG_F32] = {"f32", 1, 4, sg_ref_to_float_f32, sg_ref_dot_f32},
    [SG_F16] = {"f16", 1, 2, sg_ref_to_float_f16, sg_ref_dot_f16},
    [SG_BF16] = {"bf16", 1, 2, sg_ref_to_float_bf16, sg_ref_dot_bf16},
    [SG_Q8_0] = {"q8_0", SG_QK8_0, SG_Q8_0_BYTES, sg_ref_to_float_q8_0, sg_ref_dot_q8_0},
    [SG_Q4_0] = {"q4_0", SG_QK4_0, SG_Q4_0_BYTES, sg_ref_to_float_q4_0, sg_ref_dot_q4_0},
    [SG_Q4_K] = {"q4_K", SG_QK_K, SG_Q4_K_BYTES, sg_ref_to_float_q4_k, sg_ref_dot_q4_k},
    [SG_Q6_K] = {"q6_K", SG_QK_K, SG_Q6_K_BYTES, sg_ref_to_float_q6_k, sg_ref_dot_q6_k},
};

/* The traits row of t, or NULL when t is not a valid dtype. */
const sg_dtype_traits *sg_dtype_traits_of(sg_dtype t)
{
    if ((unsigned)t >= SG_DTYPE_COUNT) return NULL;
    return &k_traits[t];
}

const char *sg_dtype_name(sg_dtype t)
{
    if ((unsigned)t >= SG_DTYPE_COUNT) return "unknown";
    return k_traits[t].name;
}

void sg_to_float_ref(sg_dtype t, const void *src, float *dst, int64_t n)
{
    if ((unsigned)t < SG_DTYPE_COUNT) k_ref[t].to_float(src, dst, n);
}

float sg_dot_ref(sg_dtype t, const void *row, const float *x, int64_t n)
{
    return (unsigned)t < SG_DTYPE_COUNT ? k_ref[t].dot(row, x, n) : 0.0f;
}
