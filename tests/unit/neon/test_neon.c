/*
 * test_neon.c -- the AArch64 NEON kernel family against the scalar reference.
 *
 * Built by run_neon_tests.sh with aarch64-linux-gnu-gcc -static from
 * src/tensor/dtype.c, kernels_ref.c and kernels_neon.c only, and run under
 * qemu-aarch64 (user mode): correctness, not speed. Checks
 *  - dispatch: NEON is usable, the x86 families are not, and the traits
 *    table holds the NEON kernels (argv[1] = "neon"), or the scalar ones
 *    when SG_CPU=ref caps the choice (argv[1] = "ref");
 *  - to_float, every dtype: bit-identical to the reference (all 65536 f16
 *    and bf16 encodings; random quantized blocks with scales across the
 *    whole finite f16 range, rows at odd addresses);
 *  - dot, every dtype: within 1e-5 of sum|w_i x_i| of a double-precision
 *    dot of the reference dequantization (the x86 tests' tolerance), for
 *    lengths that are not multiples of the vector width and odd addresses.
 */
#include <stdint.h>

#include "base/f16.h"
#include "tensor/dtype.h"
#include "tensor/kernels.h"
#include "test.h"

#if !defined(__aarch64__)
#error "test_neon.c is built for AArch64 (run_neon_tests.sh)"
#endif

static unsigned long long rng = 0x6A09E667F3BCC909ull;

static const sg_dtype k_all[] = {SG_F32, SG_F16, SG_BF16, SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
#define N_ALL (sizeof k_all / sizeof k_all[0])

static uint8_t rand_u8(void)
{
    return (uint8_t)(sg_test_rng(&rng) >> 32);
}

/* any finite half (subnormals included) */
static uint16_t rand_f16(void)
{
    for (;;) {
        uint16_t h = (uint16_t)(sg_test_rng(&rng) >> 24);
        if (((h >> 10) & 0x1f) != 0x1f) return h;
    }
}

/* a half with |v| in [2^-8, 2^2) (dot tests) */
static uint16_t rand_f16_mid(void)
{
    uint16_t sign = (uint16_t)(rand_u8() & 1) << 15;
    uint16_t exp = (uint16_t)(7 + rand_u8() % 10);
    return (uint16_t)(sign | exp << 10 | ((uint16_t)sg_test_rng(&rng) & 0x3ff));
}

/* nb random valid blocks of quantized type t; scales from the whole finite
 * range, or moderate ones when mid is set */
static void rand_blocks(sg_dtype t, uint8_t *buf, int64_t nb, int mid)
{
    size_t bytes = sg_dtype_traits_of(t)->block_bytes;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *p = buf + b * bytes;
        for (size_t i = 0; i < bytes; i++) p[i] = rand_u8();
        uint16_t d = mid ? rand_f16_mid() : rand_f16(), dmin = mid ? rand_f16_mid() : rand_f16();
        if (t == SG_Q6_K) {
            memcpy(p + 208, &d, 2);
        } else {
            memcpy(p, &d, 2);
            if (t == SG_Q4_K) memcpy(p + 2, &dmin, 2);
        }
    }
}

/* Fill a row of n values of plain type t with random values in [-2, 2). */
static void rand_plain(sg_dtype t, uint8_t *row, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float v = sg_test_randf(&rng) * 2.0f;
        uint16_t h = t == SG_F16 ? sg_f32_to_f16(v) : sg_f32_to_bf16(v);
        if (t == SG_F32) memcpy(row + 4 * i, &v, 4);
        else memcpy(row + 2 * i, &h, 2);
    }
}

/* ------------------------------------------------------------ dispatch */

static void test_dispatch(const char *expect)
{
    int want_neon = strcmp(expect, "neon") == 0;
    printf("  active family: %s (expected %s)\n", sg_cpu_kernels(), expect);
    CHECK(sg_isa_usable(SG_ISA_REF));
    CHECK(sg_isa_usable(SG_ISA_NEON));
    CHECK(!sg_isa_usable(SG_ISA_AVX2));
    CHECK(!sg_isa_usable(SG_ISA_AVX512));
    CHECK(strcmp(sg_isa_name(SG_ISA_NEON), "neon") == 0);
    CHECK(sg_isa_active() == (want_neon ? SG_ISA_NEON : SG_ISA_REF));
    CHECK(strcmp(sg_cpu_kernels(), expect) == 0);
    CHECK(sg_dtype_traits_isa(SG_ISA_AVX2, SG_F32) == NULL);
    for (size_t k = 0; k < N_ALL; k++) {
        sg_dtype t = k_all[k];
        const sg_dtype_traits *tr = sg_dtype_traits_of(t), *neon = sg_dtype_traits_isa(SG_ISA_NEON, t);
        CHECK(tr != NULL && neon != NULL);
        if (!tr || !neon) continue;
        /* the NEON row holds the NEON kernels, the active row the expected family's */
        CHECK(neon->dot == sg_neon_family.dot[t] && neon->to_float == sg_neon_family.to_float[t]);
        CHECK(neon->dot != NULL && neon->to_float != NULL);
        CHECK(strcmp(neon->name, sg_dtype_name(t)) == 0 && neon->block_bytes == tr->block_bytes);
        if (want_neon) CHECK(tr->dot == neon->dot && tr->to_float == neon->to_float);
        else CHECK(tr->dot != neon->dot && tr->to_float != neon->to_float);
    }
}

/* ------------------------------------------------------------ to_float */

/* bits equal, or both NaN with the same sign (FCVTL quiets signalling NaNs) */
static int same_value(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && !!signbit(a) == !!signbit(b);
    return sg_f32_as_u32(a) == sg_f32_as_u32(b);
}

static void test_halves_exhaustive(void)
{
    static uint8_t all[2 * 65536 + 1];
    static float neon[65536], ref[65536];
    for (int odd = 0; odd < 2; odd++) {
        for (int i = 0; i < 65536; i++) memcpy(all + odd + 2 * i, &(uint16_t){(uint16_t)i}, 2);
        const sg_dtype ts[] = {SG_F16, SG_BF16};
        for (int k = 0; k < 2; k++) {
            sg_dtype_traits_isa(SG_ISA_NEON, ts[k])->to_float(all + odd, neon, 65536);
            sg_to_float_ref(ts[k], all + odd, ref, 65536);
            int bad = 0;
            for (int i = 0; i < 65536; i++) bad += !same_value(neon[i], ref[i]);
            /* bf16 is a bit pattern shift: NaNs too must match exactly */
            if (ts[k] == SG_BF16) bad += memcmp(neon, ref, sizeof neon) != 0;
            CHECK_MSG(bad == 0, "%s (offset %d): %d of 65536 encodings convert differently", sg_dtype_name(ts[k]),
                      odd, bad);
        }
    }
}

static void test_to_float(void)
{
    for (size_t k = 0; k < N_ALL; k++) {
        sg_dtype t = k_all[k];
        const sg_dtype_traits *tr = sg_dtype_traits_isa(SG_ISA_NEON, t);
        int plain = tr->block_size == 1;
        const int64_t counts[] = {1, 2, 3, 7, 40}; /* blocks, or values x 37 for plain types */
        int bad = 0, rows = 0;
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int64_t n = plain ? counts[c] * 37 : counts[c] * tr->block_size;
            size_t bytes = sg_dtype_row_bytes(t, n);
            uint8_t *buf = malloc(bytes + 1);
            float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
            if (!buf || !a || !b) {
                CHECK(!"out of memory");
                return;
            }
            for (int rep = 0; rep < 20; rep++, rows++) {
                uint8_t *row = buf + (t == SG_F32 ? 0 : (rep & 1));
                if (plain) rand_plain(t, row, n);
                else rand_blocks(t, row, n / tr->block_size, 0);
                tr->to_float(row, a, n);
                sg_to_float_ref(t, row, b, n);
                bad += memcmp(a, b, (size_t)n * sizeof(float)) != 0;
            }
            free(buf);
            free(a);
            free(b);
        }
        CHECK_MSG(bad == 0, "%s: %d of %d rows dequantize differently from the reference", tr->name, bad, rows);
        printf("  neon %-5s to_float: %d rows bit-identical to the reference\n", tr->name, rows - bad);
    }
}

/* ------------------------------------------------------------ dot */

/* |got - exact| / sum|w_i x_i|, exact = double dot of the reference dequantization */
static double dot_error(sg_dtype t, const void *row, const float *x, int64_t n, float got)
{
    float *w = malloc((size_t)n * sizeof(float));
    if (!w) return INFINITY;
    sg_to_float_ref(t, row, w, n);
    double exact = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) {
        exact += (double)w[i] * x[i];
        mag += fabs((double)w[i] * x[i]);
    }
    free(w);
    return mag > 0 ? fabs((double)got - exact) / mag : fabs((double)got - exact);
}

static void test_dots(void)
{
    const int64_t plain_n[] = {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 63, 65, 100, 257, 1000, 4097, 4864};
    const int64_t blocks[] = {1, 2, 3, 5, 19, 28};
    for (size_t k = 0; k < N_ALL; k++) {
        sg_dtype t = k_all[k];
        const sg_dtype_traits *tr = sg_dtype_traits_isa(SG_ISA_NEON, t);
        int plain = tr->block_size == 1;
        size_t cnt = plain ? sizeof plain_n / sizeof plain_n[0] : sizeof blocks / sizeof blocks[0];
        double worst = 0, worst_ref = 0;
        int nonfinite = 0;
        for (size_t c = 0; c < cnt; c++) {
            int64_t n = plain ? plain_n[c] : blocks[c] * tr->block_size;
            uint8_t *buf = malloc(sg_dtype_row_bytes(t, n) + 1);
            float *x = malloc((size_t)n * sizeof(float));
            if (!buf || !x) {
                CHECK(!"out of memory");
                return;
            }
            for (int rep = 0; rep < 8; rep++) {
                uint8_t *row = buf + (t == SG_F32 ? 0 : (rep & 1)); /* odd addresses (f32 rows: aligned) */
                for (int64_t i = 0; i < n; i++) x[i] = sg_test_randf(&rng);
                if (plain) rand_plain(t, row, n);
                else rand_blocks(t, row, n / tr->block_size, 1);
                float got = tr->dot(row, x, n);
                nonfinite += !isfinite(got);
                double e = dot_error(t, row, x, n, got);
                double er = dot_error(t, row, x, n, sg_dot_ref(t, row, x, n));
                if (e > worst) worst = e;
                if (er > worst_ref) worst_ref = er;
            }
            free(buf);
            free(x);
        }
        CHECK_MSG(nonfinite == 0, "%s dot: %d non-finite results", tr->name, nonfinite);
        CHECK_MSG(worst <= 1e-5, "%s dot: relative error %.3g", tr->name, worst);
        CHECK_MSG(worst_ref <= 1e-6, "%s reference dot: relative error %.3g", tr->name, worst_ref);
        printf("  neon %-5s dot: worst error %.2e of sum|w x| (reference %.2e)\n", tr->name, worst, worst_ref);
    }
}

int main(int argc, char **argv)
{
    const char *expect = argc > 1 ? argv[1] : "neon";
    test_dispatch(expect);
    test_halves_exhaustive();
    test_to_float();
    test_dots();
    printf("%s: %d passed, %d failed\n", __FILE__, sg_test_pass, sg_test_fail);
    return sg_test_fail ? 1 : 0;
}
