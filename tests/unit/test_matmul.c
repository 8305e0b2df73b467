/*
 * test_matmul.c -- sg_mm_run and sg_weight_row against a double-precision
 * reference built from the scalar dequantization.
 *
 * For every dtype: random W with awkward row counts (1, 7, 33, 100) and a
 * few column counts (multiples of the block size; odd for plain floats),
 * n = 1, 2, 3, 7 (decode regime), 64, 100, 200 (prompt regime, 200 also
 * splits tokens across tasks), with and without bias, on pools of 1 and 3
 * threads, and with each regime forced for every n. Relative L2 error of y
 * must stay within 1e-5. Rows wider than one dequantized piece (1501 and
 * 2304 columns) check the column-split accumulation.
 */
#include <stdint.h>

#include "base/f16.h"
#include "tensor/matmul.h"
#include "test.h"

static unsigned long long rng = 0x2545F4914F6CDD1Dull;

/* A random half of moderate magnitude (|v| in [2^-8, 2^2)). */
static uint16_t rand_f16_mid(void)
{
    uint16_t sign = (uint16_t)((sg_test_rng(&rng) >> 40) & 1) << 15;
    uint16_t exp = (uint16_t)(7 + (sg_test_rng(&rng) >> 40) % 10);
    return (uint16_t)(sign | exp << 10 | ((uint16_t)(sg_test_rng(&rng) >> 20) & 0x3ff));
}

/* rows x cols random weights of type t (random quant bytes, sane scales). */
static void *rand_weight(sg_dtype t, int64_t rows, int64_t cols)
{
    size_t rb = sg_dtype_row_bytes(t, cols), bb = sg_dtype_traits_of(t)->block_bytes;
    uint8_t *p = malloc(rb * (size_t)rows);
    int64_t nb = rows * cols / sg_dtype_traits_of(t)->block_size;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *q = p + (size_t)b * bb;
        float v = sg_test_randf(&rng);
        uint16_t h = rand_f16_mid(), h2 = rand_f16_mid();
        switch (t) {
        case SG_F32: memcpy(q, &v, 4); break;
        case SG_F16: h = sg_f32_to_f16(v), memcpy(q, &h, 2); break;
        case SG_BF16: h = sg_f32_to_bf16(v), memcpy(q, &h, 2); break;
        default:
            for (size_t i = 0; i < bb; i++) q[i] = (uint8_t)(sg_test_rng(&rng) >> 32);
            if (t == SG_Q6_K) memcpy(q + 208, &h, 2);
            else memcpy(q, &h, 2);
            if (t == SG_Q4_K) memcpy(q + 2, &h2, 2);
        }
    }
    return p;
}

/* y[n, rows] vs the double-precision product of the reference dequantization.
 * Returns the relative L2 error ||y - y_ref|| / ||y_ref||, except where y_ref
 * nearly cancels (one or two outputs summing to ~0): there the float32
 * rounding of the terms dominates, and the error is measured against
 * ||(|bias| + sum_c |w x|)|| instead, with a 10x tighter bar. */
static double check_one(sg_mm *mm, sg_dtype t, int64_t rows, int64_t cols, int64_t n, int with_bias)
{
    void *data = rand_weight(t, rows, cols);
    sg_weight w = {.dtype = t, .rows = rows, .cols = cols, .data = data};
    float *x = malloc(sizeof(float) * (size_t)(n * cols));
    float *y = malloc(sizeof(float) * (size_t)(n * rows));
    float *wf = malloc(sizeof(float) * (size_t)(rows * cols));
    float *bias = with_bias ? malloc(sizeof(float) * (size_t)rows) : NULL;
    for (int64_t i = 0; i < n * cols; i++) x[i] = sg_test_randf(&rng);
    for (int64_t r = 0; bias && r < rows; r++) bias[r] = sg_test_randf(&rng);
    for (int64_t i = 0; i < n * rows; i++) y[i] = NAN; /* every output must be written */
    sg_mm_run(mm, &w, x, n, y, bias);
    sg_to_float_ref(t, data, wf, rows * cols);

    double num = 0, den = 0, den_mag = 0;
    int row_bad = 0;
    float *got = malloc(sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        sg_weight_row(&w, r, got);
        row_bad += memcmp(got, wf + r * cols, sizeof(float) * (size_t)cols) != 0;
    }
    free(got);
    for (int64_t tk = 0; tk < n; tk++) {
        for (int64_t r = 0; r < rows; r++) {
            double s = bias ? bias[r] : 0, mag = fabs(s);
            for (int64_t c = 0; c < cols; c++) {
                s += (double)wf[r * cols + c] * x[tk * cols + c];
                mag += fabs((double)wf[r * cols + c] * x[tk * cols + c]);
            }
            double d = (double)y[tk * rows + r] - s;
            num += isnan(d) ? INFINITY : d * d;
            den += s * s;
            den_mag += mag * mag;
        }
    }
    CHECK_MSG(row_bad == 0, "%s sg_weight_row differs from reference dequantization", sg_dtype_name(t));
    free(data);
    free(x);
    free(y);
    free(wf);
    free(bias);
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    double rel_mag = den_mag > 0 ? sqrt(num / den_mag) : sqrt(num);
    return rel <= 1e-5 || rel_mag > 1e-6 ? rel : rel_mag * 10;
}

/* regime: -1 the default choice, 0 always tiled sgemm, 1 always dot products */
static void test_all(int threads, int regime)
{
    const sg_dtype types[] = {SG_F32, SG_F16, SG_BF16, SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
    const int64_t rows_list[] = {1, 7, 33, 100};
    const int64_t n_list[] = {1, 2, 3, 7, 64, 100, 200};
    sg_pool *pool = sg_pool_new(threads);
    sg_mm *mm = sg_mm_new(pool, 2304);
    CHECK(mm != NULL && sg_mm_max_cols(mm) == 2304);
    if (regime >= 0) sg_mm_set_decode_max(mm, regime ? 1 << 30 : 0);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        sg_dtype t = types[k];
        int64_t bs = sg_dtype_traits_of(t)->block_size;
        int64_t cols_list[2] = {bs == 1 ? 37 : (bs == 32 ? 96 : 256), bs == 1 ? 300 : 512};
        double worst = 0;
        for (size_t ri = 0; ri < 4; ri++)
            for (size_t ci = 0; ci < 2; ci++)
                for (size_t ni = 0; ni < sizeof n_list / sizeof n_list[0]; ni++)
                    for (int b = 0; b < 2; b++) {
                        double e = check_one(mm, t, rows_list[ri], cols_list[ci], n_list[ni], b);
                        CHECK_MSG(e <= 1e-5,
                                  "%s rows=%lld cols=%lld n=%lld bias=%d threads=%d regime=%d: rel L2 %.3g",
                                  sg_dtype_name(t), (long long)rows_list[ri], (long long)cols_list[ci],
                                  (long long)n_list[ni], b, threads, regime, e);
                        if (e > worst) worst = e;
                    }
        printf("  %-5s threads=%d regime=%-6s worst relative L2 error %.2e\n", sg_dtype_name(t), threads,
               regime < 0 ? "auto" : regime ? "dot" : "sgemm", worst);
    }
    sg_mm_free(mm);
    sg_pool_free(pool);
}

/* Wide rows: the prompt regime dequantizes and multiplies them in column
 * pieces (accumulating sgemm); check the pieces add up. */
static void test_wide(int threads)
{
    const sg_dtype types[] = {SG_F32, SG_F16, SG_BF16, SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
    const int64_t n_list[] = {3, 9, 64, 130};
    sg_pool *pool = sg_pool_new(threads);
    sg_mm *mm = sg_mm_new(pool, 2304);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        sg_dtype t = types[k];
        int64_t cols = sg_dtype_traits_of(t)->block_size == 1 ? 1501 : 2304;
        for (size_t ni = 0; ni < sizeof n_list / sizeof n_list[0]; ni++) {
            double e = check_one(mm, t, 33, cols, n_list[ni], 1);
            CHECK_MSG(e <= 1e-5, "%s wide cols=%lld n=%lld threads=%d: rel L2 %.3g", sg_dtype_name(t), (long long)cols,
                      (long long)n_list[ni], threads, e);
        }
    }
    sg_mm_free(mm);
    sg_pool_free(pool);
}

TEST_MAIN({
    test_wide(1);
    test_wide(2);
    test_all(1, -1);
    test_all(3, -1);
    test_all(3, 0);
    test_all(3, 1);
})
