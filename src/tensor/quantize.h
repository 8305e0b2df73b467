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
 * sg_quantize_gguf (quantize.c) applies these to every matrix of a GGUF file;
 * sg_quantize_write is its engine, shared with `stargate quantize` of a
 * Hugging Face directory (model/to_gguf.c): given the output's metadata and
 * a list of source tensors in GGUF naming, it picks each matrix's type
 * (the file type's mix), adds general.file_type and
 * general.quantization_version, and streams the file out atomically.
 */
#ifndef SG_TENSOR_QUANTIZE_H
#define SG_TENSOR_QUANTIZE_H

#include "formats/gguf_write.h"
#include "stargate.h"
#include "tensor/dtype.h"

/* Encode n floats as dtype t into dst (sg_dtype_row_bytes(t, n) bytes). */
void sg_quantize_row(sg_dtype t, const float *x, void *dst, int64_t n);

#define SG_QUANT_TYPES "f32, f16, bf16, q8_0, q4_0, q4_K_M"

/* The ggml type id of a dtype. */
uint32_t sg_quantize_ggml_type(sg_dtype t);

/* llama.cpp's file type (LLAMA_FTYPE) of a TYPE name, or -1. */
int sg_quantize_ftype(const char *type);

/* A source tensor: ne[0] is the row length, unused ne are 1; data holds
 * ne[1]*ne[2]*ne[3] rows of dtype (ggml_type is written when the type is
 * kept). head_rows > 0: the rows are in Hugging Face's rotate-half order
 * within each head of head_rows rows and are written in GGUF's interleaved
 * order (llama.cpp's Q/K permutation: output row h*D + 2i + j is input row
 * h*D + j*D/2 + i). */
typedef struct sg_qtensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    sg_dtype dtype;
    uint32_t ggml_type;
    const void *data;
    uint64_t nbytes;
    int64_t head_rows;
} sg_qtensor;

/* Write out_path: w's pairs + file type keys, then the n tensors re-encoded
 * for ftype (matrices; vectors keep their type). w gains the tensor infos. */
sg_status sg_quantize_write(sg_gguf_writer *w, const sg_qtensor *ts, size_t n, int ftype, int n_threads,
                            const char *out_path, sg_quantize_stats *stats, sg_error *err);

#endif
