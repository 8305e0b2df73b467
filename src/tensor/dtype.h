/*
 * dtype.h -- the dtype traits table (one row per sg_dtype).
 *
 * Adding a weight type means adding a row here plus its kernels: the model
 * code only ever asks the table to dequantize rows or to take dot products
 * of a stored weight row with a float vector.
 *
 * Block layouts (GGUF, little-endian, f16 = IEEE half):
 *   Q8_0 (32 values, 34 bytes):  f16 d; int8 qs[32];            x = d * q
 *   Q4_0 (32 values, 18 bytes):  f16 d; u8 qs[16];              x[j] = d * ((qs[j] & 15) - 8),
 *                                                               x[j+16] = d * ((qs[j] >> 4) - 8)
 *   Q4_K (256 values, 144 bytes): f16 d; f16 dmin; u8 scales[12]; u8 qs[128];
 *        8 sub-blocks of 32 with 6-bit scale sc and min m (packed in scales[]);
 *        x = d * sc * q - dmin * m, q a 4-bit nibble
 *   Q6_K (256 values, 210 bytes): u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d;
 *        16 sub-blocks of 16; x = d * scales[s] * (q - 32), q 6 bits (4 low in ql, 2 high in qh)
 */
#ifndef SG_TENSOR_DTYPE_H
#define SG_TENSOR_DTYPE_H

#include "stargate.h"

typedef struct sg_dtype_traits {
    const char *name;      /* "f32", "f16", "bf16", "q8_0", "q4_0", "q4_K", "q6_K" */
    int64_t block_size;    /* elements per block (1 for plain floats)          */
    size_t block_bytes;    /* bytes per block                                  */
    /* Dequantize n elements (n % block_size == 0) to float. */
    void (*to_float)(const void *src, float *dst, int64_t n);
    /* Dot product of a stored row of n elements with a float vector x. */
    float (*dot)(const void *row, const float *x, int64_t n);
} sg_dtype_traits;

const sg_dtype_traits *sg_dtype_traits_of(sg_dtype t);

/* Bytes occupied by n elements of type t (n % block_size == 0). */
static inline size_t sg_dtype_row_bytes(sg_dtype t, int64_t n)
{
    const sg_dtype_traits *tr = sg_dtype_traits_of(t);
    return (size_t)(n / tr->block_size) * tr->block_bytes;
}

/* Kernel families (instruction sets), picked at run time: see dtype.c. */
typedef enum sg_isa { SG_ISA_REF, SG_ISA_AVX2, SG_ISA_AVX512, SG_ISA_NEON, SG_ISA_COUNT } sg_isa;
const char *sg_isa_name(sg_isa isa);          /* "ref", "avx2", "avx512", "neon"    */
bool sg_isa_usable(sg_isa isa);               /* compiled in and run by this CPU    */
sg_isa sg_isa_active(void);                   /* the family the traits table uses   */
/* The traits row of t in family isa (tests, benchmarks); NULL when unusable. */
const sg_dtype_traits *sg_dtype_traits_isa(sg_isa isa, sg_dtype t);

/* Scalar reference versions (portable C, used by tests to check the SIMD ones). */
void sg_to_float_ref(sg_dtype t, const void *src, float *dst, int64_t n);
float sg_dot_ref(sg_dtype t, const void *row, const float *x, int64_t n);

#endif
