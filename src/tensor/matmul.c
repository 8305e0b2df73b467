/*
 * matmul.c -- y[n, rows] = x[n, cols] . W[rows, cols]^T (+ bias) on the pool.
 *
 * Two regimes, picked per call from n (tokens) and W's dtype:
 *
 *  decode (n <= decode_max_n(dtype)): memory-bound. W's rows are cut into
 *    chunks of a few dozen rows, many more chunks than threads so the
 *    pool's dynamic scheduling balances them. For each row the dtype's
 *    dot kernel runs once per token while the row is hot in L1, so W is
 *    streamed from memory exactly once.
 *
 *  prompt (larger n): compute-bound. W's rows are cut into tiles of up to
 *    MM_TILE_ROWS rows (sgemm is markedly faster with 128 columns of output
 *    than with 32); a task walks its tile in column chunks of at most MM_KC
 *    values, dequantizes each [tile_rows, kc] piece into the thread's
 *    scratch and accumulates it with single-threaded OpenBLAS sgemm:
 *        y[:, r0:r0+nr] (+)= x[:, k0:k0+kc] . Wpiece[nr, kc]^T
 *    The piece (128 x 1024 floats = 512 KiB) stays in L2 between being
 *    written and being packed by sgemm, and scratch does not grow with
 *    cols. F32 weights skip the scratch: one sgemm reads W in place.
 *    When there are too few tiles to keep every thread busy, tiles shrink
 *    (down to 16 rows) and then the tokens are split as well.
 *
 * OpenBLAS is told once to run single-threaded (openblas_set_num_threads(1)):
 * our pool threads call sgemm concurrently; with one BLAS thread, Debian's
 * pthread build runs each call in its caller on its own packing buffers
 * (bench_kernels shows prompt throughput doubling from 1 to 2 threads).
 *
 * sg_mm_run never allocates: sg_mm_new makes MM_TILE_ROWS * MM_KC floats of
 * scratch per pool thread, 64-byte aligned.
 *
 *  q8 (sg_mm_set_q8, opt-in): for Q8_0/Q4_0/Q4_K/Q6_K weights both regimes
 *    are replaced by one: x is quantized per token to int8 blocks
 *    (tensor/q8.h; on the pool when n >= 16), then each task takes a chunk
 *    of W's rows (multiples of 4, ~16 chunks per thread) for all n tokens and
 *    the integer kernels tile rows x tokens in registers. Each output's float
 *    operations do not depend on n or the tile, so this path is
 *    batch-invariant whatever set_decode_max says. Its activation buffer
 *    grows to the largest n * cols seen (the one allocation, on growth only;
 *    if it fails the call takes the FP32 path).
 */
#include "tensor/matmul.h"

#include <assert.h>
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/q8.h"

#define MM_ALIGN 64
#define MM_TILE_ROWS 128     /* rows of W per prompt task (at most)            */
#define MM_MIN_TILE_ROWS 16  /* ... when shrinking tiles for balance           */
#define MM_KC 1024           /* columns per dequantized piece (multiple of 256) */
#define MM_MIN_TOKEN_CHUNK 64 /* tokens per prompt task when tokens are split  */
#define MM_DECODE_ROWS_MIN 8 /* rows per decode task                           */
#define MM_DECODE_ROWS_MAX 256

struct sg_mm {
    sg_pool *pool;
    int n_threads;
    int64_t max_cols;
    int64_t decode_max;    /* < 0: per-dtype default (decode_max_n)         */
    float *scratch;        /* n_threads pieces of MM_TILE_ROWS * MM_KC floats */
    bool q8;               /* 8-bit activations for quantized weights         */
    void *q8buf;           /* quantized activations (sg_q8_act), q8_bytes      */
    size_t q8_bytes;
};

/* Largest n for which the dot-product (decode) regime is used. Measured on
 * Zen 5 (AVX-512, one thread, 896 x 4864): a dot costs ~0.03 ns per weight
 * per token, while the sgemm path costs ~1.3 ms before it multiplies
 * anything (dequantizing the tiles and OpenBLAS packing them), so the
 * crossover sits where n dots cost that much: n ~ 8 for f32 and the
 * K-quants (slower dots), ~10-12 for the others. */
static int64_t decode_max_n(sg_dtype t)
{
    switch (t) {
    case SG_F32:
    case SG_Q4_K:
    case SG_Q6_K: return 7;
    case SG_F16:
    case SG_BF16: return 9;
    default: return 11;
    }
}

/* OpenBLAS's thread count is process-wide; set it once. */
static void blas_single_thread(void)
{
    openblas_set_num_threads(1); /* parallelism comes from our pool */
}

sg_mm *sg_mm_new(sg_pool *pool, int64_t max_cols)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (max_cols < 1) max_cols = 1;
    sg_mm *mm = calloc(1, sizeof *mm);
    if (!mm) return NULL;
    mm->pool = pool;
    mm->n_threads = sg_pool_size(pool);
    mm->max_cols = max_cols;
    mm->decode_max = -1;
    mm->scratch = aligned_alloc(MM_ALIGN, sizeof(float) * MM_TILE_ROWS * MM_KC * (size_t)mm->n_threads);
    if (!mm->scratch) {
        free(mm);
        return NULL;
    }
    pthread_once(&once, blas_single_thread);
    return mm;
}

void sg_mm_free(sg_mm *mm)
{
    if (!mm) return;
    free(mm->q8buf);
    free(mm->scratch);
    free(mm);
}

int64_t sg_mm_max_cols(const sg_mm *mm)
{
    return mm->max_cols;
}

void sg_mm_set_decode_max(sg_mm *mm, int64_t decode_max)
{
    mm->decode_max = decode_max;
}

void sg_mm_set_q8(sg_mm *mm, bool on)
{
    mm->q8 = on;
}

/* Everything a task needs; lives on sg_mm_run's stack for one call. */
typedef struct {
    const sg_mm *mm;
    const sg_weight *w;
    const sg_dtype_traits *tr;
    size_t row_bytes;
    const float *x; /* [n, cols]  */
    int64_t n;
    float *y;       /* [n, rows]  */
    const float *bias;
    int64_t rows_per_task; /* decode: rows per chunk; prompt: tile rows */
    int64_t kc;            /* prompt: columns per dequantized piece      */
    int64_t n_tchunks;     /* prompt: token chunks per tile              */
    int64_t tokens_per_chunk;
    sg_q8_act act;         /* q8: the quantized activations              */
    sg_q8_gemm_fn gemm;    /* q8: the kernel                             */
} mm_job;

/* q8 tasks: quantize a chunk of tokens, then one chunk of W's rows for
 * every token (the kernel tiles rows x tokens in registers). */
#define MM_Q8_QTOKENS 8
static void q8_quant_task(void *arg, int task, int thread)
{
    mm_job *j = arg;
    int64_t t0 = (int64_t)task * MM_Q8_QTOKENS, t1 = t0 + MM_Q8_QTOKENS < j->n ? t0 + MM_Q8_QTOKENS : j->n;
    sg_q8_quantize(&j->act, j->x, t0, t1);
}

static void q8_task(void *arg, int task, int thread)
{
    const mm_job *j = arg;
    const sg_weight *w = j->w;
    int64_t r0 = (int64_t)task * j->rows_per_task;
    int64_t nr = r0 + j->rows_per_task < w->rows ? j->rows_per_task : w->rows - r0;
    j->gemm((const uint8_t *)w->data + (size_t)r0 * j->row_bytes, j->row_bytes, nr, &j->act, 0, j->n, j->y + r0,
            w->rows, j->bias ? j->bias + r0 : NULL);
}

/* The q8 path; false when it does not apply (or its buffer cannot grow). */
static bool q8_run(sg_mm *mm, mm_job *j)
{
    const sg_weight *w = j->w;
    if (!sg_q8_supported(w->dtype) || !(j->gemm = sg_q8_gemm(w->dtype))) return false;
    size_t need = sg_q8_act_bytes(j->n, w->cols);
    if (need > mm->q8_bytes) {
        size_t sz = (need + 4095) & ~(size_t)4095;
        void *p = aligned_alloc(MM_ALIGN, sz);
        if (!p) return false;
        free(mm->q8buf);
        mm->q8buf = p;
        mm->q8_bytes = sz;
    }
    sg_q8_act_init(&j->act, mm->q8buf, j->n, w->cols);
    if (j->n >= 2 * MM_Q8_QTOKENS && mm->n_threads > 1)
        sg_pool_run(mm->pool, q8_quant_task, j, (int)((j->n + MM_Q8_QTOKENS - 1) / MM_Q8_QTOKENS));
    else
        sg_q8_quantize(&j->act, j->x, 0, j->n);
    /* row chunks: multiples of 4 rows, ~16 per thread (balance on a busy
     * machine, as the decode regime), 8..256 rows */
    int64_t T = mm->n_threads, c = w->rows / (T * 16);
    c = c < 8 ? 8 : c > 256 ? 256 : c;
    c = (c + 3) & ~(int64_t)3;
    j->rows_per_task = c;
    sg_pool_run(mm->pool, q8_task, j, (int)((w->rows + c - 1) / c));
    return true;
}

/* Decode task: rows [r0, r1) of W, all n tokens per row.
 * y[t, r] = dot(W[r, :], x[t, :]) (+ bias[r]). Tokens go in blocks of
 * MM_DECODE_TOKENS so that, when the batch-invariant mode sends a whole
 * prompt through here, a block of x stays in L2 while the rows stream by.
 * Each output is one call of the dtype's dot kernel whatever n is, which is
 * what makes a token's result independent of the batch it came in. */
#define MM_DECODE_TOKENS 16
static void decode_task(void *arg, int task, int thread)
{
    const mm_job *j = arg;
    const sg_weight *w = j->w;
    int64_t r0 = (int64_t)task * j->rows_per_task;
    int64_t r1 = r0 + j->rows_per_task < w->rows ? r0 + j->rows_per_task : w->rows;
    float (*dot)(const void *, const float *, int64_t) = j->tr->dot;
    for (int64_t t0 = 0; t0 < j->n; t0 += MM_DECODE_TOKENS) {
        int64_t t1 = t0 + MM_DECODE_TOKENS < j->n ? t0 + MM_DECODE_TOKENS : j->n;
        const uint8_t *row = (const uint8_t *)w->data + (size_t)r0 * j->row_bytes;
        for (int64_t r = r0; r < r1; r++, row += j->row_bytes) {
            float b = j->bias ? j->bias[r] : 0.0f;
            for (int64_t t = t0; t < t1; t++) j->y[t * w->rows + r] = dot(row, j->x + t * w->cols, w->cols) + b;
        }
    }
}

/* Prompt task: tile (task / n_tchunks) of W's rows times token chunk
 * (task % n_tchunks) of x:  y[t0:t0+nt, r0:r0+nr] = x[t0:t0+nt, :] . Wtile^T
 * (+ bias), accumulated over column pieces of kc values. */
static void prompt_task(void *arg, int task, int thread)
{
    const mm_job *j = arg;
    const sg_weight *w = j->w;
    const int64_t rows = w->rows, cols = w->cols;
    int64_t tile = task / j->n_tchunks, tc = task % j->n_tchunks;
    int64_t r0 = tile * j->rows_per_task;
    int64_t nr = r0 + j->rows_per_task < rows ? j->rows_per_task : rows - r0;
    int64_t t0 = tc * j->tokens_per_chunk;
    int64_t nt = t0 + j->tokens_per_chunk < j->n ? j->tokens_per_chunk : j->n - t0;
    const float *x = j->x + t0 * cols;
    float *y = j->y + t0 * rows + r0;
    if (w->dtype == SG_F32) {
        const float *wt = (const float *)w->data + r0 * cols;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nt, (int)nr, (int)cols, 1.0f, x, (int)cols, wt,
                    (int)cols, 0.0f, y, (int)rows);
    } else {
        float *piece = j->mm->scratch + (size_t)thread * MM_TILE_ROWS * MM_KC; /* [nr, kc] */
        const uint8_t *wrow = (const uint8_t *)w->data + (size_t)r0 * j->row_bytes;
        for (int64_t k0 = 0; k0 < cols; k0 += j->kc) {
            int64_t kc = k0 + j->kc < cols ? j->kc : cols - k0;
            size_t off = (size_t)(k0 / j->tr->block_size) * j->tr->block_bytes;
            for (int64_t r = 0; r < nr; r++) j->tr->to_float(wrow + (size_t)r * j->row_bytes + off, piece + r * kc, kc);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nt, (int)nr, (int)kc, 1.0f, x + k0, (int)cols,
                        piece, (int)kc, k0 ? 1.0f : 0.0f, y, (int)rows);
        }
    }
    if (j->bias) {
        const float *b = j->bias + r0;
        for (int64_t t = 0; t < nt; t++, y += rows)
            for (int64_t r = 0; r < nr; r++) y[r] += b[r];
    }
}

static int64_t cdiv(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* y[n, rows] = x[n, cols] . W^T (+ bias). See the top of the file. */
void sg_mm_run(sg_mm *mm, const sg_weight *w, const float *x, int64_t n, float *y, const float *bias)
{
    const sg_dtype_traits *tr = sg_dtype_traits_of(w->dtype);
    assert(tr && w->cols % tr->block_size == 0 && w->cols <= mm->max_cols);
    if (n <= 0 || w->rows <= 0) return;
    int64_t T = mm->n_threads;
    mm_job j = {.mm = mm, .w = w, .tr = tr, .row_bytes = sg_dtype_row_bytes(w->dtype, w->cols),
                .x = x, .n = n, .y = y, .bias = bias, .n_tchunks = 1, .tokens_per_chunk = n};
    if (mm->q8 && q8_run(mm, &j)) return;

    if (n <= (mm->decode_max >= 0 ? mm->decode_max : decode_max_n(w->dtype))) {
        /* ~16 chunks per thread for balance, within [ROWS_MIN, ROWS_MAX] rows */
        int64_t c = w->rows / (T * 16);
        if (c < MM_DECODE_ROWS_MIN) c = MM_DECODE_ROWS_MIN;
        if (c > MM_DECODE_ROWS_MAX) c = MM_DECODE_ROWS_MAX;
        if (T == 1) c = w->rows;
        j.rows_per_task = c;
        sg_pool_run(mm->pool, decode_task, &j, (int)cdiv(w->rows, c));
        return;
    }

    /* tiles of MM_TILE_ROWS rows, halved while there are fewer than 4 per thread */
    int64_t tile_rows = MM_TILE_ROWS;
    while (tile_rows / 2 >= MM_MIN_TILE_ROWS && cdiv(w->rows, tile_rows) < 4 * T) tile_rows /= 2;
    int64_t n_tiles = cdiv(w->rows, tile_rows);
    /* still fewer than 2 tiles per thread: split the tokens too */
    if (n_tiles < 2 * T && n >= 2 * MM_MIN_TOKEN_CHUNK) {
        int64_t want = cdiv(2 * T, n_tiles), most = n / MM_MIN_TOKEN_CHUNK;
        j.n_tchunks = want < most ? want : most;
        j.tokens_per_chunk = cdiv(n, j.n_tchunks);
        j.n_tchunks = cdiv(n, j.tokens_per_chunk);
    }
    /* column pieces: equal sizes of at most MM_KC, whole blocks */
    int64_t n_k = cdiv(w->cols, MM_KC), bs = tr->block_size;
    j.kc = cdiv(cdiv(w->cols, n_k), bs) * bs;
    j.rows_per_task = tile_rows;
    sg_pool_run(mm->pool, prompt_task, &j, (int)(n_tiles * j.n_tchunks));
}

/* out[cols] = row r of w, dequantized. */
void sg_weight_row(const sg_weight *w, int64_t r, float *out)
{
    const sg_dtype_traits *tr = sg_dtype_traits_of(w->dtype);
    tr->to_float((const uint8_t *)w->data + (size_t)r * sg_dtype_row_bytes(w->dtype, w->cols), out, w->cols);
}
