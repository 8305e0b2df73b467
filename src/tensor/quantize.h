/*
 * quantize.h -- float rows to stored weight rows (the inverse of to_float).
 *
 * sg_quantize_row(t, x, dst, n) encodes n floats (n % block_size == 0) as
 * dtype t in the GGUF block layouts of dtype.h. Dequantizing the result with
 * the traits table gives the weights the model will use; the encoders choose
 * scales to keep that close to x:
 *
 *   Q8_0  d = max|x| / 127, q = round(x / d)
 *   Q4_0  d = -m / 8 where m is the value of largest magnitude, q = round(x / d) + 8
 *   Q4_K  per sub-block of 32: x ~ s * q - mn (q in 0..15) fitted by
 *         alternating rounding and least squares; the 8 scales and mins are
 *         then stored as 6-bit multiples of d = max s / 63, dmin = max mn / 63
 *         and q re-rounded against the stored values
 *   Q6_K  per sub-block of 16: x ~ s * q (q in -32..31), same alternation;
 *         scales stored as int8 multiples of one f16 d
 *   F16 / BF16 round to nearest even; F32 copies.
 *
 * sg_quantize_gguf (quantize.c) applies these to every matrix of a GGUF file.
 */
#ifndef SG_TENSOR_QUANTIZE_H
#define SG_TENSOR_QUANTIZE_H

#include "tensor/dtype.h"

/* Encode n floats as dtype t into dst (sg_dtype_row_bytes(t, n) bytes). */
void sg_quantize_row(sg_dtype t, const float *x, void *dst, int64_t n);

#endif
