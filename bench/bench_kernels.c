/*
 * bench_kernels.c -- throughput of the weight products, next to the
 * machine's memory bandwidth measured in the same run.
 *
 *   bench_kernels [--quick] [--sweep]
 *
 * For two weight shapes (896 x 4864: a Qwen2-0.5B FFN projection;
 * 151936 x 896: its output head) in every dtype, with pools of 1 and 2
 * threads (or --threads N,M):
 *   decode  n = 1: GB/s of weight bytes streamed. For the small shape the
 *           "cold" figure rotates through enough copies (>= 256 MiB) that W
 *           comes from DRAM as in a real multi-layer model; "warm" repeats
 *           one copy (it may sit in L2/L3).
 *   prompt  n = 512: GFLOP/s (2 * n * rows * cols per call).
 * plus STREAM-style read and copy bandwidth over 256 MiB arrays, so the
 * decode figures can be read as a fraction of what memory delivers.
 *
 * --sweep times both regimes (forced with sg_mm_set_decode_max) at small n on
 * the cold small shape, to place the decode/prompt crossover per dtype.
 * Benchmarks print figures; they assert nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/f16.h"
#include "tensor/matmul.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float rndf(void) /* [-1, 1) */
{
    return (float)(rnd() >> 40) * (1.0f / 8388608.0f) - 1.0f;
}

/* nb blocks of random valid data of type t: plain floats in [-1, 1),
 * quantized blocks with random quant bytes and f16 scales near 0.01. */
static uint8_t *make_blocks(sg_dtype t, size_t nb)
{
    const sg_dtype_traits *tr = sg_dtype_traits_of(t);
    size_t bb = tr->block_bytes;
    uint8_t *p = aligned_alloc(64, (nb * bb + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i + 8 <= nb * bb; i += 8) {
        uint64_t r = rnd();
        memcpy(p + i, &r, 8);
    }
    for (size_t b = 0; b < nb; b++) {
        uint8_t *q = p + b * bb;
        uint16_t d = sg_f32_to_f16(0.01f * (1.0f + 0.5f * rndf()));
        switch (t) {
        case SG_F32: {
            float v = rndf();
            memcpy(q, &v, 4);
            break;
        }
        case SG_F16: d = sg_f32_to_f16(rndf()), memcpy(q, &d, 2); break;
        case SG_BF16: d = sg_f32_to_bf16(rndf()), memcpy(q, &d, 2); break;
        case SG_Q6_K: memcpy(q + 208, &d, 2); break;
        case SG_Q4_K:
            memcpy(q, &d, 2);
            memcpy(q + 2, &d, 2); /* dmin */
            break;
        default: memcpy(q, &d, 2); break;
        }
    }
    return p;
}

/* ------------------------------------------------------------ memory bandwidth */

typedef struct {
    const uint64_t *a;
    uint64_t *b;
    size_t words; /* per task */
    uint64_t sums[64];
} bw_job;

static void read_task(void *arg, int task, int thread)
{
    bw_job *j = arg;
    const uint64_t *a = j->a + (size_t)task * j->words;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < j->words; i += 4) {
        s0 += a[i];
        s1 += a[i + 1];
        s2 += a[i + 2];
        s3 += a[i + 3];
    }
    j->sums[task & 63] += s0 ^ s1 ^ s2 ^ s3;
}

static void copy_task(void *arg, int task, int thread)
{
    bw_job *j = arg;
    memcpy(j->b + (size_t)task * j->words, j->a + (size_t)task * j->words, j->words * 8);
}

/* Read and copy GB/s over 256 MiB arrays with every thread of the pool.
 * Copy counts bytes read + written (STREAM convention). */
static void bench_memory(sg_pool *pool, double *read_gbs, double *copy_gbs)
{
    const size_t bytes = (size_t)256 << 20;
    int tasks = 64;
    bw_job j = {.words = bytes / 8 / (size_t)tasks};
    uint64_t *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes);
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    j.a = a;
    j.b = b;
    double best_r = 1e9, best_c = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        sg_pool_run(pool, read_task, &j, tasks);
        double t1 = now();
        sg_pool_run(pool, copy_task, &j, tasks);
        double t2 = now();
        if (t1 - t0 < best_r) best_r = t1 - t0;
        if (t2 - t1 < best_c) best_c = t2 - t1;
    }
    *read_gbs = (double)bytes / best_r * 1e-9;
    *copy_gbs = 2.0 * (double)bytes / best_c * 1e-9;
    if (j.sums[0] == 42) printf(" "); /* keep the reads alive */
    free(a);
    free(b);
}

/* A fixed amount of pure ALU work, to see how many cores the pool really
 * gets (on a shared or oversubscribed machine, 2 threads may not mean 2x). */
static void spin_task(void *arg, int task, int thread)
{
    volatile double *sink = arg;
    double s = 0;
    for (long i = 0; i < 20000000; i++) s += (double)i * 1e-9;
    *sink += s;
}

/* Seconds for 4 tasks of spin_task on the pool. */
static double time_spin(sg_pool *pool)
{
    volatile double sink = 0;
    double t0 = now();
    sg_pool_run(pool, spin_task, (void *)&sink, 4);
    return now() - t0;
}

/* ------------------------------------------------------------ weight products */

typedef struct {
    int64_t rows, cols;
    const char *what;
} shape;

/* Seconds per call of sg_mm_run over `copies` consecutive weight matrices
 * (cycled), n tokens; repeats until min_time has passed. */
static double time_mm(sg_mm *mm, sg_dtype t, const uint8_t *data, int copies, int64_t rows, int64_t cols,
                      const float *x, int64_t n, float *y, double min_time)
{
    size_t wbytes = sg_dtype_row_bytes(t, cols) * (size_t)rows;
    sg_weight w = {.dtype = t, .rows = rows, .cols = cols, .data = data};
    sg_mm_run(mm, &w, x, n, y, NULL); /* warm up: page faults, BLAS buffers */
    long calls = 0;
    double t0 = now(), el;
    do {
        for (int c = 0; c < copies; c++, calls++) {
            w.data = data + (size_t)c * wbytes;
            sg_mm_run(mm, &w, x, n, y, NULL);
        }
        el = now() - t0;
    } while (el < min_time);
    return el / (double)calls;
}

static int parse_threads(const char *s, int out[2])
{
    return sscanf(s, "%d,%d", &out[0], &out[1]) == 2 && out[0] > 0 && out[1] > 0;
}

int main(int argc, char **argv)
{
    int quick = 0, sweep = 0, threads[2] = {1, 2};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--sweep")) sweep = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && parse_threads(argv[i + 1], threads)) i++;
        else {
            fprintf(stderr, "usage: %s [--quick] [--sweep] [--threads N,M]\n", argv[0]);
            return 2;
        }
    }
    const double min_time = quick ? 0.1 : 0.4;
    const shape shapes[] = {{896, 4864, "ffn_down 896x4864"}, {151936, 896, "output 151936x896"}};
    const sg_dtype types[] = {SG_F32, SG_F16, SG_BF16, SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
    const int64_t n_prompt = 512, max_cols = 4864;

    sg_pool *pools[2];
    sg_mm *mms[2];
    double spin[2];
    printf("# stargate kernel benchmark (%s)\n", quick ? "quick" : "full");
    for (int p = 0; p < 2; p++) {
        pools[p] = sg_pool_new(threads[p]);
        mms[p] = sg_mm_new(pools[p], max_cols);
        double rd, cp;
        bench_memory(pools[p], &rd, &cp);
        spin[p] = time_spin(pools[p]);
        printf("memory, %d thread(s): read %.1f GB/s, copy %.1f GB/s\n", threads[p], rd, cp);
    }
    printf("cpu check: ALU-only work runs %.2fx faster on %d threads than on %d (ideal %.2fx; less means the\n"
           "           machine is busy and multi-thread figures below are not meaningful)\n",
           spin[0] / spin[1], threads[1], threads[0], (double)threads[1] / threads[0]);

    float *x = malloc(sizeof(float) * (size_t)(n_prompt * max_cols));
    float *y = malloc(sizeof(float) * (size_t)(n_prompt * 151936));
    for (int64_t i = 0; i < n_prompt * max_cols; i++) x[i] = rndf();

    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        printf("\n%s  (decode: GB/s of weights, n=1; prompt: GFLOP/s, n=%lld)\n", sh->what, (long long)n_prompt);
        printf("%-5s %9s |", "dtype", "W MiB");
        for (int p = 0; p < 2; p++) {
            if (s == 0) printf(" dec-cold dec-warm  prompt (%dT) |", threads[p]);
            else printf(" decode  prompt (%dT) |", threads[p]);
        }
        printf("\n");
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            sg_dtype t = types[k];
            const sg_dtype_traits *tr = sg_dtype_traits_of(t);
            if (sh->cols % tr->block_size) { /* e.g. 896 columns in 256-value super-blocks */
                printf("%-5s   (%lld columns are not whole %lld-value blocks)\n", tr->name, (long long)sh->cols,
                       (long long)tr->block_size);
                continue;
            }
            size_t wbytes = sg_dtype_row_bytes(t, sh->cols) * (size_t)sh->rows;
            int copies = 1;
            if (s == 0) copies = (int)(((size_t)256 << 20) / wbytes + 1);
            uint8_t *data = make_blocks(t, (size_t)copies * (wbytes / tr->block_bytes));
            printf("%-5s %9.1f |", tr->name, (double)wbytes / (1 << 20));
            fflush(stdout);
            for (int p = 0; p < 2; p++) {
                double dec = time_mm(mms[p], t, data, copies, sh->rows, sh->cols, x, 1, y, min_time);
                printf(" %8.1f", (double)wbytes / dec * 1e-9);
                if (s == 0) {
                    double warm = time_mm(mms[p], t, data, 1, sh->rows, sh->cols, x, 1, y, min_time);
                    printf(" %8.1f", (double)wbytes / warm * 1e-9);
                }
                double pr = time_mm(mms[p], t, data, 1, sh->rows, sh->cols, x, n_prompt, y,
                                    s == 0 ? min_time : (quick ? 0.0 : 1.0));
                printf(" %12.1f |", 2.0 * (double)n_prompt * (double)sh->rows * (double)sh->cols / pr * 1e-9);
                fflush(stdout);
            }
            printf("\n");
            free(data);
        }
    }

    if (sweep) {
        const shape *sh = &shapes[0];
        const int64_t ns[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
        for (int p = 0; p < 2; p++) {
            printf("\ncrossover, %s cold, %d thread(s): microseconds per call, dot regime / sgemm regime\n",
                   sh->what, threads[p]);
            printf("%-5s", "n");
            for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) printf(" %13lld", (long long)ns[i]);
            printf("\n");
            for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
                sg_dtype t = types[k];
                const sg_dtype_traits *tr = sg_dtype_traits_of(t);
                size_t wbytes = sg_dtype_row_bytes(t, sh->cols) * (size_t)sh->rows;
                int copies = (int)(((size_t)256 << 20) / wbytes + 1);
                uint8_t *data = make_blocks(t, (size_t)copies * (wbytes / tr->block_bytes));
                printf("%-5s", tr->name);
                for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
                    sg_mm_set_decode_max(mms[p], 1 << 30);
                    double a = time_mm(mms[p], t, data, copies, sh->rows, sh->cols, x, ns[i], y, min_time / 2);
                    sg_mm_set_decode_max(mms[p], 0);
                    double b = time_mm(mms[p], t, data, copies, sh->rows, sh->cols, x, ns[i], y, min_time / 2);
                    printf(" %6.0f/%-6.0f", a * 1e6, b * 1e6);
                    fflush(stdout);
                }
                sg_mm_set_decode_max(mms[p], -1);
                printf("\n");
                free(data);
            }
        }
    }

    for (int p = 0; p < 2; p++) {
        sg_mm_free(mms[p]);
        sg_pool_free(pools[p]);
    }
    free(x);
    free(y);
    return 0;
}
