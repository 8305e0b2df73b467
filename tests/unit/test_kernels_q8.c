/*
 * test_kernels_q8.c -- the 8-bit-activation mode (src/tensor/q8.c, kernels_q8_*.c).
 *
 *  - quantizer: d = max|x|/127, |q| <= 127, block sums, integer inputs with
 *    max 127 are kept exactly;
 *  - exact integer part: weights with scale 1 and integer activations make
 *    every kernel's output an exact integer, which each usable family
 *    (ref, avx2, avx512-vnni) must reproduce exactly;
 *  - random rows (encoded by sg_quantize_row) against the scalar reference:
 *    within 1e-5 of sum |w_i x_i| (float32 accumulation vs double);
 *  - batch invariance: a token's outputs computed alone equal, bit for bit,
 *    its outputs in batches of 2, 3, 7, 16 and 33 tokens and with the rows
 *    split differently, for every family and weight type; and the same
 *    through sg_mm_run on a 2-thread pool in q8 mode.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/f16.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/q8.h"
#include "tensor/quantize.h"
#include "test.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ull;

static const sg_dtype k_types[] = {SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};

static int urand(int n)
{
    return (int)((sg_test_rng(&rng) >> 33) % (unsigned long long)n);
}

static void *act_new(sg_q8_act *a, int64_t n, int64_t cols)
{
    void *mem = aligned_alloc(64, sg_q8_act_bytes(n, cols));
    if (mem) sg_q8_act_init(a, mem, n, cols);
    return mem;
}

static void test_quantizer(void)
{
    const int64_t cols = 96;
    float x[96];
    sg_q8_act a;
    void *mem = act_new(&a, 1, cols);
    CHECK(mem != NULL);
    if (!mem) return;
    for (int i = 0; i < 96; i++) x[i] = sg_test_randf(&rng) * (i < 32 ? 1.0f : 1000.0f);
    for (int i = 64; i < 96; i++) x[i] = 0.0f; /* zero block */
    sg_q8_quantize(&a, x, 0, 1);
    int bad = 0;
    for (int b = 0; b < 3; b++) {
        float amax = 0;
        int32_t s = 0, s0 = 0;
        for (int i = 0; i < 32; i++) {
            amax = fabsf(x[32 * b + i]) > amax ? fabsf(x[32 * b + i]) : amax;
            s += a.q[32 * b + i];
            s0 += i < 16 ? a.q[32 * b + i] : 0;
            bad += a.q[32 * b + i] < -127;
            /* |x - d q| <= d / 2 */
            bad += fabs((double)x[32 * b + i] - (double)a.d[b] * a.q[32 * b + i]) > 0.5001 * a.d[b] + 1e-30;
        }
        bad += a.d[b] != amax / 127.0f;
        bad += a.s32[b] != -s || a.s16[2 * b] != -s0 || a.s16[2 * b + 1] != -(s - s0);
        bad += a.fx[b] != a.d[b] * (float)s;
    }
    CHECK(a.d[2] == 0.0f && a.q[70] == 0);
    CHECK_MSG(bad == 0, "%d quantizer mismatches", bad);
    /* integers with a block maximum of 127 are kept exactly (d = 1) */
    for (int i = 0; i < 96; i++) x[i] = (float)(urand(255) - 127);
    x[0] = x[32] = x[64] = 127.0f;
    sg_q8_quantize(&a, x, 0, 1);
    bad = 0;
    for (int i = 0; i < 96; i++) bad += a.q[i] != (int8_t)x[i];
    CHECK(bad == 0 && a.d[0] == 1.0f && a.d[1] == 1.0f && a.d[2] == 1.0f);
    free(mem);
    /* the active family's quantizer writes the reference's bytes (ties at .5,
     * zero blocks, large and tiny values; an odd number of blocks) */
    const int64_t n = 3, c2 = 1056;
    float *xs = malloc(sizeof(float) * (size_t)(n * c2));
    sg_q8_act r, v;
    void *m1 = act_new(&r, n, c2), *m2 = act_new(&v, n, c2);
    CHECK(xs && m1 && m2);
    if (!xs || !m1 || !m2) return;
    memset(m1, 0, sg_q8_act_bytes(n, c2));
    memset(m2, 0x55, sg_q8_act_bytes(n, c2));
    for (int64_t i = 0; i < n * c2; i++) {
        int64_t blk = i / 32;
        xs[i] = blk % 5 == 0   ? (float)(urand(254) - 127) + 0.5f /* ties (max 127.5 -> scale != 1) */
                : blk % 5 == 1 ? 0.0f
                : blk % 5 == 2 ? sg_test_randf(&rng) * 1e-30f
                               : sg_test_randf(&rng) * 3e4f;
        if (blk % 5 == 0 && i % 32 == 7) xs[i] = 127.0f;
    }
    for (int64_t i = 0; i < n * c2; i += 160) xs[i] = 127.0f; /* some tie blocks with scale exactly 1 */
    sg_q8_quantize_ref(&r, xs, 0, n);
    sg_q8_quantize(&v, xs, 0, n);
    size_t nb = (size_t)(n * c2 / 32), nv = (size_t)(n * ((c2 + 63) / 64) * 16);
    CHECK_MSG(!memcmp(r.q, v.q, (size_t)(n * c2)) && !memcmp(r.d, v.d, 4 * nb) && !memcmp(r.s32, v.s32, 4 * nb) &&
                  !memcmp(r.s16, v.s16, 8 * nb) && !memcmp(r.fx, v.fx, 4 * nb) && !memcmp(r.dv, v.dv, 4 * nv) &&
                  !memcmp(r.sv, v.sv, 4 * nv),
              "%s quantizer differs from the reference", sg_q8_kernels());
    free(xs);
    free(m1);
    free(m2);
}

/* A row of `cols` values of type t with every scale 1 (or small integers),
 * so that every product the kernels form is an integer. */
static void int_row(sg_dtype t, uint8_t *row, int64_t cols)
{
    const uint16_t one = 0x3C00; /* f16 1.0 */
    switch (t) {
    case SG_Q8_0:
        for (int64_t b = 0; b < cols / 32; b++, row += SG_Q8_0_BYTES) {
            memcpy(row, &one, 2);
            for (int i = 0; i < 32; i++) row[2 + i] = (uint8_t)(int8_t)(urand(255) - 127);
        }
        break;
    case SG_Q4_0:
        for (int64_t b = 0; b < cols / 32; b++, row += SG_Q4_0_BYTES) {
            memcpy(row, &one, 2);
            for (int i = 0; i < 16; i++) row[2 + i] = (uint8_t)urand(256);
        }
        break;
    case SG_Q4_K:
        for (int64_t b = 0; b < cols / 256; b++, row += SG_Q4_K_BYTES) {
            memcpy(row, &one, 2);
            memcpy(row + 2, &one, 2);
            for (int i = 0; i < 8; i++) row[4 + i] = (uint8_t)urand(4); /* 6-bit scales/mins 0..3 */
            for (int i = 0; i < 4; i++) row[12 + i] = (uint8_t)(urand(4) | urand(4) << 4);
            for (int i = 0; i < 128; i++) row[16 + i] = (uint8_t)urand(256);
        }
        break;
    default: /* Q6_K */
        for (int64_t b = 0; b < cols / 256; b++, row += SG_Q6_K_BYTES) {
            for (int i = 0; i < 192; i++) row[i] = (uint8_t)urand(256);
            for (int i = 0; i < 16; i++) row[192 + i] = (uint8_t)(int8_t)(urand(7) - 3);
            memcpy(row + 208, &one, 2);
        }
        break;
    }
}

static int64_t cols_of(sg_dtype t, int big)
{
    if (t == SG_Q4_K || t == SG_Q6_K) return big ? 1024 : 256;
    return big ? 1056 : 96; /* an odd number of 32-blocks: the half step */
}

static void test_exact_integers(void)
{
    for (size_t ti = 0; ti < sizeof k_types / sizeof k_types[0]; ti++) {
        sg_dtype t = k_types[ti];
        const int64_t cols = t == SG_Q4_K || t == SG_Q6_K ? 256 : 224, rows = 6, n = 5;
        size_t rb = sg_dtype_row_bytes(t, cols);
        uint8_t *w = malloc(rb * rows);
        float *x = malloc(sizeof(float) * (size_t)(n * cols)), *y = malloc(sizeof(float) * (size_t)(n * rows));
        sg_q8_act a;
        void *mem = act_new(&a, n, cols);
        CHECK(w && x && y && mem);
        if (!w || !x || !y || !mem) return;
        for (int64_t r = 0; r < rows; r++) int_row(t, w + r * rb, cols);
        for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(urand(255) - 127);
        for (int64_t i = 0; i < n * cols; i += 32) x[i + urand(32)] = urand(2) ? 127.0f : -127.0f;
        sg_q8_quantize(&a, x, 0, n);
        /* exact value from dequantized weights (integers here) in int64 */
        float *wf = malloc(sizeof(float) * (size_t)cols);
        double *exact = malloc(sizeof(double) * (size_t)(n * rows));
        CHECK(wf && exact);
        if (!wf || !exact) return;
        for (int64_t r = 0; r < rows; r++) {
            sg_to_float_ref(t, w + r * rb, wf, cols);
            for (int64_t u = 0; u < n; u++) {
                int64_t s = 0;
                for (int64_t i = 0; i < cols; i++) s += (int64_t)wf[i] * (int64_t)a.q[u * cols + i];
                exact[u * rows + r] = (double)s;
            }
        }
        for (int isa = 0; isa < SG_ISA_COUNT; isa++) {
            sg_q8_gemm_fn g = sg_q8_gemm_isa((sg_isa)isa, t);
            if (!g) continue;
            g(w, rb, rows, &a, 0, n, y, rows, NULL);
            int bad = 0;
            for (int64_t i = 0; i < n * rows; i++) bad += (double)y[i] != exact[i];
            CHECK_MSG(bad == 0, "%s %s: %d of %d outputs not the exact integer", sg_dtype_name(t),
                      sg_isa_name((sg_isa)isa), bad, (int)(n * rows));
        }
        free(wf);
        free(exact);
        free(w);
        free(x);
        free(y);
        free(mem);
    }
}

static void randn(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < 4; k++) s += sg_test_randf(&rng);
        x[i] = s * scale * (urand(50) == 0 ? 10.0f : 1.0f);
    }
}

/* A random matrix of type t (rows x cols) encoded by the row encoders. */
static uint8_t *rand_weights(sg_dtype t, int64_t rows, int64_t cols)
{
    size_t rb = sg_dtype_row_bytes(t, cols);
    uint8_t *w = malloc(rb * (size_t)rows);
    float *f = malloc(sizeof(float) * (size_t)cols);
    if (w && f)
        for (int64_t r = 0; r < rows; r++) {
            randn(f, cols, 0.05f);
            sg_quantize_row(t, f, w + r * rb, cols);
        }
    free(f);
    return w;
}

static void test_random_vs_ref(void)
{
    for (size_t ti = 0; ti < sizeof k_types / sizeof k_types[0]; ti++) {
        for (int big = 0; big < 2; big++) {
            sg_dtype t = k_types[ti];
            const int64_t cols = cols_of(t, big), rows = 11, n = 6;
            size_t rb = sg_dtype_row_bytes(t, cols);
            uint8_t *w = rand_weights(t, rows, cols);
            float *x = malloc(sizeof(float) * (size_t)(n * cols)), *y = malloc(sizeof(float) * (size_t)(n * rows));
            float *yr = malloc(sizeof(float) * (size_t)(n * rows)), *wf = malloc(sizeof(float) * (size_t)cols);
            float bias[11];
            sg_q8_act a;
            void *mem = act_new(&a, n, cols);
            CHECK(w && x && y && yr && wf && mem);
            if (!w || !x || !y || !yr || !wf || !mem) return;
            randn(x, n * cols, 1.0f);
            randn(bias, rows, 1.0f);
            sg_q8_quantize(&a, x, 0, n);
            sg_q8_gemm_isa(SG_ISA_REF, t)(w, rb, rows, &a, 0, n, yr, rows, bias);
            /* tolerance: 1e-5 of sum |w_i d q_i| (+ the bias rounding) */
            double tol[11 * 6];
            double relerr_q = 0, relerr_n = 0;
            for (int64_t r = 0; r < rows; r++) {
                sg_to_float_ref(t, w + r * rb, wf, cols);
                for (int64_t u = 0; u < n; u++) {
                    double s = 0, e = 0;
                    for (int64_t i = 0; i < cols; i++) {
                        double dq = (double)a.d[u * (cols / 32) + i / 32] * a.q[u * cols + i];
                        s += fabs((double)wf[i] * dq);
                        e += (double)wf[i] * x[u * cols + i];
                    }
                    tol[u * rows + r] = 1e-5 * s + 1e-6 * fabs(bias[r]);
                    relerr_q += fabs(yr[u * rows + r] - bias[r] - e);
                    relerr_n += s;
                }
            }
            /* 8-bit activations: the reference is close to the float product */
            CHECK_MSG(relerr_q / relerr_n < 0.01, "%s: q8 error %.3g of sum |w x|", sg_dtype_name(t),
                      relerr_q / relerr_n);
            for (int isa = 0; isa < SG_ISA_COUNT; isa++) {
                sg_q8_gemm_fn g = sg_q8_gemm_isa((sg_isa)isa, t);
                if (!g) continue;
                g(w, rb, rows, &a, 0, n, y, rows, bias);
                int bad = 0;
                double worst = 0;
                for (int64_t i = 0; i < n * rows; i++) {
                    double e = fabs((double)y[i] - yr[i]);
                    bad += !(e <= tol[i]);
                    if (e / tol[i] > worst) worst = e / tol[i];
                }
                CHECK_MSG(bad == 0, "%s cols %d %s: %d outputs off the reference (worst %.3g x tolerance)",
                          sg_dtype_name(t), (int)cols, sg_isa_name((sg_isa)isa), bad, worst);
            }
            free(w);
            free(x);
            free(y);
            free(yr);
            free(wf);
            free(mem);
        }
    }
}

static void test_invariance(void)
{
    static const int batches[] = {2, 3, 7, 16, 33};
    const int64_t rows = 37, nmax = 33;
    for (size_t ti = 0; ti < sizeof k_types / sizeof k_types[0]; ti++) {
        sg_dtype t = k_types[ti];
        const int64_t cols = cols_of(t, 1);
        size_t rb = sg_dtype_row_bytes(t, cols);
        uint8_t *w = rand_weights(t, rows, cols);
        float *x = malloc(sizeof(float) * (size_t)(nmax * cols));
        float *y1 = malloc(sizeof(float) * (size_t)(nmax * rows)), *yb = malloc(sizeof(float) * (size_t)(nmax * rows));
        sg_q8_act a;
        void *mem = act_new(&a, nmax, cols);
        CHECK(w && x && y1 && yb && mem);
        if (!w || !x || !y1 || !yb || !mem) return;
        randn(x, nmax * cols, 1.0f);
        sg_q8_quantize(&a, x, 0, nmax);
        for (int isa = 0; isa < SG_ISA_COUNT; isa++) {
            sg_q8_gemm_fn g = sg_q8_gemm_isa((sg_isa)isa, t);
            if (!g) continue;
            /* each token alone, all rows at once */
            for (int64_t u = 0; u < nmax; u++) g(w, rb, rows, &a, u, u + 1, y1, rows, NULL);
            int bad = 0;
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                int nb = batches[bi];
                /* batches of nb tokens starting at 0, 1, ... (different tile positions) */
                for (int64_t t0 = 0; t0 < nmax; t0 += nb) {
                    int64_t t1 = t0 + nb < nmax ? t0 + nb : nmax;
                    g(w, rb, rows, &a, t0, t1, yb, rows, NULL);
                }
                bad += memcmp(y1, yb, sizeof(float) * (size_t)(nmax * rows)) != 0;
                /* rows split at 5 and 22: other row tiles */
                g(w, rb, 5, &a, 0, nb, yb, rows, NULL);
                g(w + 5 * rb, rb, 17, &a, 0, nb, yb + 5, rows, NULL);
                g(w + 22 * rb, rb, rows - 22, &a, 0, nb, yb + 22, rows, NULL);
                bad += memcmp(y1, yb, sizeof(float) * (size_t)(nb * rows)) != 0;
            }
            CHECK_MSG(bad == 0, "%s %s: %d batch layouts differ from single tokens", sg_dtype_name(t),
                      sg_isa_name((sg_isa)isa), bad);
        }
        free(w);
        free(x);
        free(y1);
        free(yb);
        free(mem);
    }
}

/* sg_mm_run in q8 mode on 2 threads: every batch size gives each token the
 * outputs it gets alone, with and without the batch-invariant setting. */
static void test_matmul_q8(void)
{
    static const int batches[] = {1, 2, 3, 7, 16, 33};
    sg_pool *pool = sg_pool_new(2);
    const int64_t rows = 300, nmax = 33;
    for (size_t ti = 0; ti < sizeof k_types / sizeof k_types[0]; ti++) {
        sg_dtype t = k_types[ti];
        const int64_t cols = cols_of(t, 1);
        sg_mm *mm = sg_mm_new(pool, cols);
        uint8_t *w = rand_weights(t, rows, cols);
        float *x = malloc(sizeof(float) * (size_t)(nmax * cols)), *bias = malloc(sizeof(float) * rows);
        float *y1 = malloc(sizeof(float) * (size_t)(nmax * rows)), *yb = malloc(sizeof(float) * (size_t)(nmax * rows));
        CHECK(pool && mm && w && x && bias && y1 && yb);
        if (!pool || !mm || !w || !x || !bias || !y1 || !yb) return;
        randn(x, nmax * cols, 1.0f);
        randn(bias, rows, 1.0f);
        sg_weight W = {t, rows, cols, w};
        sg_mm_set_q8(mm, true);
        for (int64_t u = 0; u < nmax; u++) sg_mm_run(mm, &W, x + u * cols, 1, y1 + u * rows, bias);
        int bad = 0;
        for (int inv = 0; inv < 2; inv++) {
            sg_mm_set_decode_max(mm, inv ? INT64_MAX : -1);
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                for (int64_t t0 = 0; t0 < nmax; t0 += batches[bi]) {
                    int64_t nb = t0 + batches[bi] < nmax ? batches[bi] : nmax - t0;
                    sg_mm_run(mm, &W, x + t0 * cols, nb, yb + t0 * rows, bias);
                }
                bad += memcmp(y1, yb, sizeof(float) * (size_t)(nmax * rows)) != 0;
            }
        }
        CHECK_MSG(bad == 0, "%s: sg_mm_run q8 results depend on the batch (%d)", sg_dtype_name(t), bad);
        /* and they are the active kernel's: same as calling it directly */
        sg_q8_act a;
        void *mem = act_new(&a, nmax, cols);
        CHECK(mem != NULL);
        if (mem) {
            sg_q8_quantize(&a, x, 0, nmax);
            sg_q8_gemm(t)(w, sg_dtype_row_bytes(t, cols), rows, &a, 0, nmax, yb, rows, bias);
            CHECK(memcmp(y1, yb, sizeof(float) * (size_t)(nmax * rows)) == 0);
        }
        /* off again: the exact FP32 path (differs from the q8 one) */
        sg_mm_set_q8(mm, false);
        sg_mm_set_decode_max(mm, -1);
        sg_mm_run(mm, &W, x, nmax, yb, bias);
        CHECK(memcmp(y1, yb, sizeof(float) * (size_t)(nmax * rows)) != 0);
        free(mem);
        free(w);
        free(x);
        free(bias);
        free(y1);
        free(yb);
        sg_mm_free(mm);
    }
    sg_pool_free(pool);
}

TEST_MAIN({
    printf("q8 kernels: %s\n", sg_q8_kernels());
    test_quantizer();
    test_exact_integers();
    test_random_vs_ref();
    test_invariance();
    test_matmul_q8();
})
