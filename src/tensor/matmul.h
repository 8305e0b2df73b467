/*
 * matmul.h -- the weight products of the forward pass.
 *
 *   y[n, rows] = x[n, cols] . W[rows, cols]^T   (W stored row-major as `dtype`)
 *
 * Two regimes, chosen per call:
 *  - few rows of x (decoding: n small): memory-bound; each thread takes a
 *    slice of W's rows and takes dot products of the stored rows with the
 *    float activations (sg_dtype_traits.dot), reading W exactly once.
 *  - many rows of x (prompt processing): compute-bound; each thread takes a
 *    tile of W's rows, dequantizes it to f32 in its scratch buffer (F32 weights
 *    are used in place) and multiplies with single-threaded BLAS sgemm.
 * All threads come from the shared sg_pool; no allocation happens per call
 * (q8 mode: its activation buffer grows to the largest n seen, then stays).
 */
#ifndef SG_TENSOR_MATMUL_H
#define SG_TENSOR_MATMUL_H

#include "base/pool.h"
#include "tensor/dtype.h"

/* A 2-D weight matrix: `rows` rows of `cols` elements of `dtype`, row-major. */
typedef struct sg_weight {
    sg_dtype dtype;
    int64_t rows;
    int64_t cols;
    const void *data;
} sg_weight;

typedef struct sg_mm sg_mm;

/* Scratch for up to `max_cols` columns on every thread of `pool`. */
sg_mm *sg_mm_new(sg_pool *pool, int64_t max_cols);
void sg_mm_free(sg_mm *mm);
/* The max_cols given to sg_mm_new: the widest W that sg_mm_run accepts. */
int64_t sg_mm_max_cols(const sg_mm *mm);
/* Force the regime (benchmarks, tests): calls with n <= decode_max use the
 * dot-product path, larger n the tiled sgemm path. decode_max < 0 restores
 * the measured per-dtype default. */
void sg_mm_set_decode_max(sg_mm *mm, int64_t decode_max);

/* 8-bit activations (tensor/q8.h) for Q8_0/Q4_0/Q4_K/Q6_K weights: on, every
 * call with such weights quantizes x per token and block of 32 and runs the
 * integer kernels, for any n (they are batch-invariant by construction, so
 * the decode/prompt regimes and set_decode_max no longer apply to them).
 * Other dtypes keep the FP32 paths. Off by default (exact FP32). */
void sg_mm_set_q8(sg_mm *mm, bool on);

/* y[n, w->rows] = x[n, w->cols] . W^T (+ bias[rows] when bias != NULL).
 * x and y are contiguous row-major; w->cols <= max_cols. */
void sg_mm_run(sg_mm *mm, const sg_weight *w, const float *x, int64_t n, float *y, const float *bias);

/* Dequantize row r of w into out[w->cols] (embedding lookup). */
void sg_weight_row(const sg_weight *w, int64_t r, float *out);

#endif
