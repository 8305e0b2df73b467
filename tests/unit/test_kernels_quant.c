/*
 * test_kernels_quant.c -- the row encoders of src/tensor/quantize.c.
 *
 *  - on random rows (Gaussian-like, with outliers, all-zero, constant and
 *    one-sign blocks), quantize -> dequantize (scalar reference) stays within
 *    a per-format relative RMS error budget, and never produces non-finite
 *    values;
 *  - Q8_0 and Q4_0 are idempotent: re-encoding a dequantized row gives the
 *    same bytes (the scale is recovered exactly);
 *  - F16/BF16 encoding equals the rounding helpers of base/f16.h.
 * Every usable kernel family dequantizes the encoded rows identically (the
 * encoders only write valid blocks).
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/f16.h"
#include "tensor/quantize.h"
#include "test.h"

static unsigned long long rng = 0x243F6A8885A308D3ull;

/* Sum of 4 uniforms: roughly Gaussian; occasionally an outlier x8. */
static float randg(void)
{
    float s = 0;
    for (int i = 0; i < 4; i++) s += sg_test_randf(&rng);
    if ((sg_test_rng(&rng) >> 40) % 97 == 0) s *= 8;
    return s * 0.02f;
}

static void fill(float *x, int64_t n, int kind)
{
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = randg(); break;
        case 1: x[i] = fabsf(randg()) + 0.01f; break; /* one sign, no zero */
        case 2: x[i] = (i / 32) % 3 == 0 ? 0.0f : randg(); break; /* zero blocks */
        default: x[i] = (i / 64) % 2 ? 0.125f : -3.0f; break; /* constant blocks */
        }
    }
}

static void test_budget(void)
{
    static const struct {
        sg_dtype t;
        double budget; /* relative RMS error */
    } fmt[] = {{SG_Q8_0, 0.01}, {SG_Q4_0, 0.15}, {SG_Q4_K, 0.12}, {SG_Q6_K, 0.035},
               {SG_F16, 1e-3}, {SG_BF16, 5e-3}, {SG_F32, 0}};
    const int64_t n = 4096;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *z = malloc(sizeof(float) * n);
    uint8_t *q = malloc((size_t)n * 4 + 1);
    for (size_t f = 0; f < sizeof fmt / sizeof fmt[0]; f++) {
        sg_dtype t = fmt[f].t;
        double worst = 0;
        int nonfinite = 0, fam_differ = 0;
        for (int kind = 0; kind < 4; kind++) {
            for (int rep = 0; rep < 4; rep++) {
                fill(x, n, kind);
                uint8_t *row = q + (rep & 1); /* odd addresses too */
                sg_quantize_row(t, x, row, n);
                sg_to_float_ref(t, row, y, n);
                double e2 = 0, x2 = 0;
                for (int64_t i = 0; i < n; i++) {
                    nonfinite += !isfinite(y[i]);
                    e2 += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
                    x2 += (double)x[i] * x[i];
                }
                double rel = x2 > 0 ? sqrt(e2 / x2) : sqrt(e2);
                if (rel > worst) worst = rel;
                for (int isa = 0; isa < SG_ISA_COUNT; isa++) {
                    const sg_dtype_traits *tr = sg_dtype_traits_isa((sg_isa)isa, t);
                    if (!tr) continue;
                    tr->to_float(row, z, n);
                    fam_differ += memcmp(y, z, sizeof(float) * (size_t)n) != 0;
                }
            }
        }
        CHECK_MSG(worst <= fmt[f].budget, "%s: relative RMS error %.4g over budget %.3g", sg_dtype_name(t), worst,
                  fmt[f].budget);
        CHECK_MSG(nonfinite == 0, "%s: %d non-finite values", sg_dtype_name(t), nonfinite);
        CHECK_MSG(fam_differ == 0, "%s: kernel families dequantize differently", sg_dtype_name(t));
        printf("  %-5s worst relative RMS error %.4f (budget %.3f)\n", sg_dtype_name(t), worst, fmt[f].budget);
    }
    free(x);
    free(y);
    free(z);
    free(q);
}

static void test_idempotent(void)
{
    const sg_dtype ts[] = {SG_Q8_0, SG_Q4_0};
    const int64_t n = 1024;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    uint8_t *a = malloc((size_t)n * 2), *b = malloc((size_t)n * 2);
    for (size_t k = 0; k < 2; k++) {
        int differ = 0;
        for (int rep = 0; rep < 8; rep++) {
            fill(x, n, rep % 3);
            sg_quantize_row(ts[k], x, a, n);
            sg_to_float_ref(ts[k], a, y, n);
            sg_quantize_row(ts[k], y, b, n);
            differ += memcmp(a, b, sg_dtype_row_bytes(ts[k], n)) != 0;
        }
        CHECK_MSG(differ == 0, "%s: re-encoding a dequantized row changed it (%d rows)", sg_dtype_name(ts[k]), differ);
    }
    free(x);
    free(y);
    free(a);
    free(b);
}

static void test_halves(void)
{
    float x[67];
    uint16_t h[67], bf[67];
    for (int i = 0; i < 67; i++) x[i] = randg() * 1000.0f;
    sg_quantize_row(SG_F16, x, h, 67);
    sg_quantize_row(SG_BF16, x, bf, 67);
    int bad = 0;
    for (int i = 0; i < 67; i++) bad += h[i] != sg_f32_to_f16(x[i]) || bf[i] != sg_f32_to_bf16(x[i]);
    CHECK(bad == 0);
}

TEST_MAIN({
    test_budget();
    test_idempotent();
    test_halves();
})
