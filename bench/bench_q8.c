/*
 * bench_q8.c -- exact FP32 activations vs 8-bit activations (q8), per weight type.
 *
 *   bench_q8 [--rows 4864] [--cols 896] [-n 128] [-t 1] [--iters N]
 *
 * For Q8_0, Q4_0, Q4_K and Q6_K weights (random rows, encoded by
 * sg_quantize_row; K-quants round cols up to a multiple of 256) it times
 * sg_mm_run with q8 off and on, for n tokens and for one token, and prints
 * GOP/s (2 * rows * cols * n per call) from the best of 5 runs, both in wall
 * time and in process CPU time. On a shared machine the CPU-time column is
 * the steadier one for one thread (it does not count time the scheduler
 * gave to others; memory stalls still count).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/matmul.h"
#include "tensor/q8.h"
#include "tensor/quantize.h"

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float hashf(uint64_t i)
{
    return (float)((i * 2654435761u) % 2000u) / 1000.0f - 1.0f;
}

int main(int argc, char **argv)
{
    int64_t rows = 4864, cols = 896, n = 128;
    int threads = 1, iters = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v && strcmp(a, "-h") && strcmp(a, "--help")) {
            fprintf(stderr, "bench_q8: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--rows")) rows = atoll(v), i++;
        else if (!strcmp(a, "--cols")) cols = atoll(v), i++;
        else if (!strcmp(a, "-n")) n = atoll(v), i++;
        else if (!strcmp(a, "-t")) threads = atoi(v), i++;
        else if (!strcmp(a, "--iters")) iters = atoi(v), i++;
        else {
            printf("usage: bench_q8 [--rows 4864] [--cols 896] [-n 128] [-t 1] [--iters N]\n");
            return !strcmp(a, "-h") || !strcmp(a, "--help") ? 0 : 2;
        }
    }
    if (rows < 1 || cols < 32 || n < 1 || threads < 1) return 2;
    cols = (cols + 31) / 32 * 32;
    sg_pool *pool = sg_pool_new(threads);
    int64_t kcols = (cols + 255) / 256 * 256;
    float *x = malloc(sizeof(float) * (size_t)(n * kcols)), *y = malloc(sizeof(float) * (size_t)(n * rows));
    float *f = malloc(sizeof(float) * (size_t)kcols);
    if (!pool || !x || !y || !f) return 1;
    for (int64_t i = 0; i < n * kcols; i++) x[i] = hashf((uint64_t)i);
    printf("q8 kernels: %s; %lld x %lld weights, %d thread(s)\n", sg_q8_kernels(), (long long)rows, (long long)cols,
           threads);
    printf("%-6s %5s %12s %12s %12s %12s\n", "dtype", "n", "exact wall", "q8 wall", "exact cpu", "q8 cpu");
    static const sg_dtype types[] = {SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        sg_dtype t = types[ti];
        int64_t c = t == SG_Q4_K || t == SG_Q6_K ? kcols : cols;
        size_t rb = sg_dtype_row_bytes(t, c);
        uint8_t *w = malloc(rb * (size_t)rows);
        sg_mm *mm = sg_mm_new(pool, c);
        if (!w || !mm) return 1;
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t i = 0; i < c; i++) f[i] = hashf((uint64_t)(r * 131 + i));
            sg_quantize_row(t, f, w + (size_t)r * rb, c);
        }
        sg_weight W = {t, rows, c, w};
        int64_t ns[2] = {n, 1};
        for (int k = 0; k < 2; k++) {
            double wall[2], cpu[2];
            for (int q = 0; q < 2; q++) {
                sg_mm_set_q8(mm, q);
                int it = iters > 0 ? iters : ns[k] == 1 ? 50 : 3;
                sg_mm_run(mm, &W, x, ns[k], y, NULL);
                wall[q] = cpu[q] = 1e30;
                for (int rep = 0; rep < 5; rep++) {
                    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                    for (int i = 0; i < it; i++) sg_mm_run(mm, &W, x, ns[k], y, NULL);
                    double dw = (clock_s(CLOCK_MONOTONIC) - w0) / it, dc = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / it;
                    if (dw < wall[q]) wall[q] = dw;
                    if (dc < cpu[q]) cpu[q] = dc;
                }
            }
            double ops = 2.0 * (double)rows * (double)c * (double)ns[k] * 1e-9;
            printf("%-6s %5lld %7.1f GOP/s %7.1f GOP/s %7.1f GOP/s %7.1f GOP/s\n", sg_dtype_name(t), (long long)ns[k],
                   ops / wall[0], ops / wall[1], ops / cpu[0], ops / cpu[1]);
        }
        sg_mm_free(mm);
        free(w);
    }
    free(x);
    free(y);
    free(f);
    sg_pool_free(pool);
    return 0;
}
