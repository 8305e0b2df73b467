/*
 * test_dtype.c -- the dtype traits table and its kernels.
 *
 *  - f16 / bf16: every one of the 65536 encodings converts exactly (checked
 *    against a from-the-definition decoder, subnormals, inf and NaN
 *    included), and float -> half/bfloat16 rounds to nearest-even at every
 *    midpoint between adjacent encodings.
 *  - quantized types: random valid blocks (random quant bytes, random finite
 *    f16 scales across the whole exponent range) dequantize identically, bit
 *    for bit, in the table's (SIMD) kernel, the scalar reference and an
 *    independent decoder written in this file from the format description.
 *  - dot: the table's kernel agrees with a double-precision dot of the
 *    reference dequantization to 1e-5 of sum|w_i x_i|, for several n
 *    including ones that are not a multiple of the vector width, and for
 *    rows at odd addresses.
 */
#include <stdint.h>

#include "base/f16.h"
#include "tensor/dtype.h"
#include "test.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ull;

/* The kernel family under test: every family this CPU runs is tested in
 * turn (runtime dispatch compiles them all in), the scalar one included. */
static sg_isa g_isa;
static const sg_dtype_traits *fam(sg_dtype t)
{
    return sg_dtype_traits_isa(g_isa, t);
}

static uint8_t rand_u8(void)
{
    return (uint8_t)(sg_test_rng(&rng) >> 32);
}

/* A random finite half: any sign, exponent (subnormals included) and mantissa. */
static uint16_t rand_f16(void)
{
    for (;;) {
        uint16_t h = (uint16_t)(sg_test_rng(&rng) >> 24);
        if (((h >> 10) & 0x1f) != 0x1f) return h;
    }
}

/* A random half of moderate magnitude (|v| in [2^-8, 2^2)) for dot tests. */
static uint16_t rand_f16_mid(void)
{
    uint16_t sign = (uint16_t)(rand_u8() & 1) << 15;
    uint16_t exp = (uint16_t)(7 + rand_u8() % 10);
    return (uint16_t)(sign | exp << 10 | ((uint16_t)sg_test_rng(&rng) & 0x3ff));
}

/* Half -> double straight from the IEEE 754 definition. */
static double half_value(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v;
    if (exp == 0x1f) v = man ? NAN : INFINITY;
    else if (exp == 0) v = ldexp(man, -24);
    else v = ldexp(1024 + man, exp - 25);
    return sign ? -v : v;
}

static void test_f16_exhaustive(void)
{
    static uint16_t all[65536];
    static float simd[65536], ref[65536];
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    fam(SG_F16)->to_float(all, simd, 65536);
    sg_to_float_ref(SG_F16, all, ref, 65536);
    int bad = 0, badnan = 0;
    for (int i = 0; i < 65536; i++) {
        double v = half_value((uint16_t)i);
        float s = sg_f16_to_f32((uint16_t)i);
        if (isnan(v)) {
            badnan += !isnan(s) || !isnan(simd[i]) || !isnan(ref[i]) || !!signbit(simd[i]) != (i >> 15);
        } else {
            bad += (double)s != v || (double)simd[i] != v || (double)ref[i] != v || !!signbit(simd[i]) != (i >> 15);
        }
    }
    CHECK_MSG(bad == 0, "%d finite halves convert wrongly", bad);
    CHECK_MSG(badnan == 0, "%d NaN halves convert wrongly", badnan);
}

/* float -> half: exact values round-trip; at each midpoint between adjacent
 * halves ties go to the even one, and one float ulp either side decides. */
static void test_f16_rounding(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        for (uint32_t sign = 0; sign <= 0x8000; sign += 0x8000) {
            float f = (float)half_value((uint16_t)h);
            if (sign) f = -f;
            bad += sg_f32_to_f16(f) != (uint16_t)(h | sign);
            /* next encoding up; past 0x7bff the exponent pattern continues at 65536 */
            double lo = half_value((uint16_t)h), hi = h + 1 == 0x7c00 ? 65536.0 : half_value((uint16_t)(h + 1));
            float mid = (float)((lo + hi) / 2); /* exact: 12 significant bits */
            if (sign) mid = -mid;
            uint16_t even = (uint16_t)(((h & 1) ? h + 1 : h) | sign);
            bad += sg_f32_to_f16(mid) != even;
            bad += sg_f32_to_f16(nextafterf(mid, sign ? -INFINITY : INFINITY)) != (uint16_t)((h + 1) | sign);
            bad += sg_f32_to_f16(nextafterf(mid, 0.0f)) != (uint16_t)(h | sign);
        }
    }
    CHECK_MSG(bad == 0, "%d f32->f16 rounding errors", bad);
    CHECK(sg_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(sg_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(sg_f32_to_f16(1e10f) == 0x7c00);
    uint16_t qn = sg_f32_to_f16(NAN);
    CHECK((qn & 0x7c00) == 0x7c00 && (qn & 0x3ff) != 0);
    CHECK(sg_f32_to_f16(1e-10f) == 0); /* below half the smallest subnormal */
}

static void test_bf16(void)
{
    static uint16_t all[65536];
    static float simd[65536], ref[65536];
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    fam(SG_BF16)->to_float(all, simd, 65536);
    sg_to_float_ref(SG_BF16, all, ref, 65536);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        uint32_t want = (uint32_t)i << 16;
        bad += sg_f32_as_u32(simd[i]) != want || sg_f32_as_u32(ref[i]) != want;
        bad += sg_f32_as_u32(sg_bf16_to_f32((uint16_t)i)) != want;
    }
    CHECK_MSG(bad == 0, "%d bf16 conversions differ", bad);
    /* rounding at every midpoint of positive and negative finite pairs */
    bad = 0;
    for (uint32_t h = 0; h < 0x7f80; h++) {
        for (uint32_t sign = 0; sign <= 0x8000; sign += 0x8000) {
            uint32_t hs = h | sign;
            bad += sg_f32_to_bf16(sg_u32_as_f32(hs << 16)) != hs;
            float mid = sg_u32_as_f32((hs << 16) | 0x8000); /* exactly halfway */
            bad += sg_f32_to_bf16(mid) != (((h & 1) ? h + 1 : h) | sign);
            bad += sg_f32_to_bf16(sg_u32_as_f32((hs << 16) | 0x8001)) != ((h + 1) | sign);
            bad += sg_f32_to_bf16(sg_u32_as_f32((hs << 16) | 0x7fff)) != hs;
        }
    }
    CHECK_MSG(bad == 0, "%d f32->bf16 rounding errors", bad);
    uint16_t qn = sg_f32_to_bf16(NAN);
    CHECK((qn & 0x7f80) == 0x7f80 && (qn & 0x7f) != 0);
}

/* ---------------------------------------------------------- quantized blocks */

/* Fill nb random valid blocks of type t into buf. `mid` picks moderate
 * scales (dot tests); otherwise scales span every finite half. */
static void rand_blocks(sg_dtype t, uint8_t *buf, int64_t nb, int mid)
{
    size_t bytes = sg_dtype_traits_of(t)->block_bytes;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *p = buf + b * bytes;
        for (size_t i = 0; i < bytes; i++) p[i] = rand_u8();
        uint16_t d = mid ? rand_f16_mid() : rand_f16(), dmin = mid ? rand_f16_mid() : rand_f16();
        switch (t) {
        case SG_Q8_0:
        case SG_Q4_0: memcpy(p, &d, 2); break;
        case SG_Q4_K:
            memcpy(p, &d, 2);
            memcpy(p + 2, &dmin, 2);
            break;
        case SG_Q6_K: memcpy(p + 208, &d, 2); break;
        default: break;
        }
    }
}

static float h2f(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return (float)half_value(h);
}

/* Value i of a row of type t, decoded from the format description alone
 * (element-wise, so it shares no loop structure with the kernels). Products
 * go through volatile temporaries so nothing can be fused. */
static float spec_value(sg_dtype t, const uint8_t *row, int64_t i)
{
    volatile float a, b;
    switch (t) {
    case SG_Q8_0: {
        const uint8_t *blk = row + (i / 32) * 34;
        a = h2f(blk);
        return a * (float)(int8_t)blk[2 + i % 32];
    }
    case SG_Q4_0: {
        const uint8_t *blk = row + (i / 32) * 18;
        int j = (int)(i % 32);
        int q = j < 16 ? (blk[2 + j] & 15) : (blk[2 + j - 16] >> 4);
        a = h2f(blk);
        return a * (float)(q - 8);
    }
    case SG_Q4_K: {
        const uint8_t *blk = row + (i / 256) * 144, *s = blk + 4;
        int v = (int)(i % 256), j = v / 64, sub = v / 32; /* chunk, sub-block */
        int sc, m;
        if (sub < 4) {
            sc = s[sub] & 63;
            m = s[sub + 4] & 63;
        } else {
            sc = (s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4);
            m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
        }
        uint8_t byte = blk[16 + 32 * j + v % 32];
        int q = (v % 64) < 32 ? (byte & 0xF) : (byte >> 4);
        a = h2f(blk) * (float)sc;   /* d1 */
        b = h2f(blk + 2) * (float)m; /* m1 */
        a = a * (float)q;
        return a - b;
    }
    case SG_Q6_K: {
        const uint8_t *blk = row + (i / 256) * 210;
        int v = (int)(i % 256), half = v / 128, w = v % 128, k = w / 32, l = w % 32;
        const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
        const int8_t *sc = (const int8_t *)(blk + 192 + 8 * half);
        int lo = (k & 1) ? ql[l + 32] : ql[l];
        lo = (k < 2) ? (lo & 0xF) : (lo >> 4);
        int q = (lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
        a = h2f(blk + 208) * (float)sc[l / 16 + 2 * k];
        return a * (float)q;
    }
    default: return 0;
    }
}

static const sg_dtype k_quant[] = {SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};

/* to_float (table) == sg_to_float_ref == spec_value, bit for bit. */
static void test_quant_to_float(void)
{
    for (size_t k = 0; k < sizeof k_quant / sizeof k_quant[0]; k++) {
        sg_dtype t = k_quant[k];
        const sg_dtype_traits *tr = fam(t);
        int64_t nbs[] = {1, 2, 3, 7, 40};
        for (size_t c = 0; c < sizeof nbs / sizeof nbs[0]; c++) {
            int64_t nb = nbs[c], n = nb * tr->block_size;
            uint8_t *buf = malloc((size_t)nb * tr->block_bytes + 1);
            float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
            int bad_ref = 0, bad_spec = 0;
            for (int rep = 0; rep < 20; rep++) {
                /* odd address on odd reps: rows in files need not be aligned */
                uint8_t *row = buf + (rep & 1);
                rand_blocks(t, row, nb, 0);
                tr->to_float(row, a, n);
                sg_to_float_ref(t, row, b, n);
                bad_ref += memcmp(a, b, (size_t)n * sizeof(float)) != 0;
                for (int64_t i = 0; i < n; i++) {
                    float s = spec_value(t, row, i);
                    bad_spec += sg_f32_as_u32(s) != sg_f32_as_u32(b[i]);
                }
            }
            CHECK_MSG(bad_ref == 0, "%s nb=%lld: table to_float differs from reference", tr->name, (long long)nb);
            CHECK_MSG(bad_spec == 0, "%s nb=%lld: %d values differ from the format definition", tr->name,
                      (long long)nb, bad_spec);
            free(buf);
            free(a);
            free(b);
        }
    }
}

/* Why bit-exactness does not depend on FMA contraction: every product in
 * the dequantization formulas is exact in float32 (d has 11 significant
 * bits, sc 6 (Q4_K) or 7 (Q6_K), q at most 5), so the only rounding is Q4_K's
 * final subtraction, and a fused d1*q - m1 rounds the same exact value once.
 * Check it over random blocks with scales from the whole finite f16 range. */
static void test_q4_k_products_exact(void)
{
    enum { NB = 64 };
    static uint8_t blk[144 * NB];
    static float y[256 * NB];
    rand_blocks(SG_Q4_K, blk, NB, 0);
    sg_to_float_ref(SG_Q4_K, blk, y, 256 * NB);
    int inexact = 0, differ = 0;
    for (int i = 0; i < 256 * NB; i++) {
        const uint8_t *b = blk + (i / 256) * 144, *s = b + 4;
        int v = i % 256, sub = v / 32;
        int sc = sub < 4 ? (s[sub] & 63) : ((s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4));
        int m = sub < 4 ? (s[sub + 4] & 63) : ((s[sub + 4] >> 4) | ((s[sub] >> 6) << 4));
        uint8_t byte = b[16 + 32 * (v / 64) + v % 32];
        int q = (v % 64) < 32 ? (byte & 0xF) : (byte >> 4);
        volatile float d1 = h2f(b) * (float)sc, m1 = h2f(b + 2) * (float)m, p = d1 * (float)q;
        inexact += (double)d1 != (double)h2f(b) * sc || (double)m1 != (double)h2f(b + 2) * m ||
                   (double)p != (double)d1 * q;
        differ += sg_f32_as_u32(fmaf(d1, (float)q, -m1)) != sg_f32_as_u32(y[i]);
    }
    CHECK_MSG(inexact == 0, "%d Q4_K products are not exact in float32", inexact);
    CHECK_MSG(differ == 0, "%d fused Q4_K values differ from the reference", differ);
}

/* |dot(table) - exact| <= tol * sum|w_i x_i|, exact = double dot of the
 * reference dequantization. Returns the error ratio. */
static double dot_error(sg_dtype t, const void *row, const float *x, int64_t n, float got)
{
    float *w = malloc((size_t)n * sizeof(float));
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
    const sg_dtype all[] = {SG_F32, SG_F16, SG_BF16, SG_Q8_0, SG_Q4_0, SG_Q4_K, SG_Q6_K};
    const int64_t plain_n[] = {1, 3, 7, 8, 15, 17, 31, 33, 63, 65, 100, 257, 1000, 4097, 4864};
    const int64_t blocks[] = {1, 2, 3, 5, 19, 28};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        sg_dtype t = all[k];
        const sg_dtype_traits *tr = fam(t);
        int plain = tr->block_size == 1;
        size_t cnt = plain ? sizeof plain_n / sizeof plain_n[0] : sizeof blocks / sizeof blocks[0];
        double worst = 0, worst_ref = 0;
        for (size_t c = 0; c < cnt; c++) {
            int64_t n = plain ? plain_n[c] : blocks[c] * tr->block_size;
            size_t bytes = sg_dtype_row_bytes(t, n);
            uint8_t *buf = malloc(bytes + 1);
            float *x = malloc((size_t)n * sizeof(float));
            for (int rep = 0; rep < 8; rep++) {
                uint8_t *row = buf + (t == SG_F32 ? 0 : (rep & 1)); /* odd addresses (f32 rows: aligned) */
                for (int64_t i = 0; i < n; i++) x[i] = sg_test_randf(&rng);
                if (plain) {
                    for (int64_t i = 0; i < n; i++) {
                        float v = sg_test_randf(&rng) * 2.0f;
                        uint16_t h = t == SG_F16 ? sg_f32_to_f16(v) : sg_f32_to_bf16(v);
                        if (t == SG_F32) memcpy(row + 4 * i, &v, 4);
                        else memcpy(row + 2 * i, &h, 2);
                    }
                } else {
                    rand_blocks(t, row, n / tr->block_size, 1);
                }
                double e = dot_error(t, row, x, n, tr->dot(row, x, n));
                double er = dot_error(t, row, x, n, sg_dot_ref(t, row, x, n));
                if (e > worst) worst = e;
                if (er > worst_ref) worst_ref = er;
            }
            free(buf);
            free(x);
        }
        CHECK_MSG(worst <= 1e-5, "%s dot: relative error %.3g", tr->name, worst);
        CHECK_MSG(worst_ref <= 1e-6, "%s reference dot: relative error %.3g", tr->name, worst_ref);
        printf("  %-6s %-5s dot: worst error %.2e of sum|w x| (reference %.2e)\n", sg_isa_name(g_isa), tr->name, worst, worst_ref);
    }
}

static void test_table(void)
{
    struct {
        sg_dtype t;
        const char *name;
        int64_t bs;
        size_t bytes;
    } want[] = {{SG_F32, "f32", 1, 4},        {SG_F16, "f16", 1, 2},          {SG_BF16, "bf16", 1, 2},
                {SG_Q8_0, "q8_0", 32, 34},    {SG_Q4_0, "q4_0", 32, 18},      {SG_Q4_K, "q4_K", 256, 144},
                {SG_Q6_K, "q6_K", 256, 210}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sg_dtype_traits *tr = sg_dtype_traits_of(want[i].t);
        CHECK(tr != NULL);
        if (!tr) continue;
        CHECK(strcmp(tr->name, want[i].name) == 0);
        CHECK(strcmp(sg_dtype_name(want[i].t), want[i].name) == 0);
        CHECK(tr->block_size == want[i].bs && tr->block_bytes == want[i].bytes);
        CHECK(tr->to_float && tr->dot);
        CHECK(sg_dtype_row_bytes(want[i].t, 4 * 256) == (size_t)(4 * 256 / want[i].bs) * want[i].bytes);
    }
    CHECK(sg_dtype_traits_of(SG_DTYPE_COUNT) == NULL);
    CHECK(sg_dtype_traits_of((sg_dtype)-1) == NULL);
    CHECK(strcmp(sg_dtype_name(SG_DTYPE_COUNT), "unknown") == 0);
}

TEST_MAIN({
    test_table();
    test_f16_rounding();
    test_q4_k_products_exact();
    printf("  kernel family in use: %s\n", sg_isa_name(sg_isa_active()));
    CHECK(sg_isa_usable(SG_ISA_REF));
    CHECK(sg_isa_usable(sg_isa_active()));
    for (int isa = 0; isa < SG_ISA_COUNT; isa++) {
        if (!sg_isa_usable((sg_isa)isa)) {
            printf("  family %s: not usable on this CPU/build\n", sg_isa_name((sg_isa)isa));
            continue;
        }
        g_isa = (sg_isa)isa;
        test_f16_exhaustive();
        test_bf16();
        test_quant_to_float();
        test_dots();
    }
})
