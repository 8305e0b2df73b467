/*
 * quantize.c -- row encoders (quantize.h) and `stargate quantize`:
 * a GGUF file with float (or any readable) matrices to one with
 * Q8_0 / Q4_0 / Q4_K_M / F16 / BF16 / F32 matrices.
 *
 * File level (sg_quantize_gguf):
 *  - every key/value pair is copied unchanged except general.file_type and
 *    general.quantization_version, which are rewritten (llama.cpp's
 *    LLAMA_FTYPE numbering: F32 0, F16 1, Q4_0 2, Q8_0 7, Q4_K_M 15,
 *    BF16 32; quantization version 2);
 *  - tensors keep their names, shapes and order; only matrices (2+ dims,
 *    name ending in ".weight") change type, vectors (norms, biases,
 *    rope_freqs) are copied as stored;
 *  - Q4_K_M is llama.cpp's mix: Q4_K everywhere, Q6_K for the output head
 *    (output.weight, or token_embd.weight when the head is tied) and for
 *    attn_v / ffn_down in the layers where use_more_bits(i, n_layer) holds
 *    (the first and last eighth, and every third layer between). Q4_0 also
 *    gets Q6_K for the output head, as llama.cpp does. A K-quant needs rows
 *    that are a multiple of 256 values; rows that are not (Qwen2.5-0.5B's
 *    hidden size is 896) fall back to Q4_0 for Q4_K and to Q8_0 for Q6_K
 *    (llama.cpp falls back to Q5_0 / Q8_0; stargate has no Q5_0);
 *  - the output is streamed through formats/gguf_write.c's sg_gguf_file
 *    (OUT.tmp.PID, fsync'd and renamed over OUT: readers never see a
 *    partial file), one re-encoded tensor in memory at a time.
 * sg_quantize_write is the part that does not care where the tensors come
 * from; model/to_gguf.c feeds it a Hugging Face directory's.
 * Rows are encoded in parallel on an sg_pool.
 */
#include "tensor/quantize.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/f16.h"
#include "base/pool.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "tensor/kernels.h"

/* ------------------------------------------------------------ row encoders */

static int iround(float v)
{
    return (int)lrintf(v);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void put_f16(uint8_t *p, float v)
{
    uint16_t h = sg_f32_to_f16(v);
    memcpy(p, &h, 2);
}

static void q8_0_row(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += SG_QK8_0, x += SG_QK8_0, b += SG_Q8_0_BYTES) {
        float amax = 0;
        for (int j = 0; j < SG_QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        put_f16(b, amax / 127.0f);
        float d = sg_f16_to_f32(sg_rd_u16(b)), id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < SG_QK8_0; j++) b[2 + j] = (uint8_t)(int8_t)clampi(iround(x[j] * id), -127, 127);
    }
}

static void q4_0_row(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += SG_QK4_0, x += SG_QK4_0, b += SG_Q4_0_BYTES) {
        float m = 0;
        for (int j = 0; j < SG_QK4_0; j++)
            if (fabsf(x[j]) > fabsf(m)) m = x[j];
        put_f16(b, m / -8.0f); /* m itself maps to q = 0, i.e. -8 */
        float d = sg_f16_to_f32(sg_rd_u16(b)), id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < 16; j++) {
            int lo = clampi(iround(x[j] * id) + 8, 0, 15), hi = clampi(iround(x[j + 16] * id) + 8, 0, 15);
            b[2 + j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* Fit x[k] ~ s * q[k] - mn over one Q4_K sub-block of 32 values, q in 0..15,
 * mn >= 0: start from the min/max range, then alternate rounding q and a
 * least-squares (s, mn) for those q; keep the best squared error. */
static void q4_k_fit(const float *x, float *s_out, float *mn_out)
{
    float lo = x[0], hi = x[0];
    for (int k = 1; k < 32; k++) {
        lo = fminf(lo, x[k]);
        hi = fmaxf(hi, x[k]);
    }
    if (lo > 0) lo = 0;
    if (hi <= lo) {
        *s_out = 0;
        *mn_out = -lo;
        return;
    }
    float s = (hi - lo) / 15.0f, off = lo, best_s = s, best_off = off, best_err = FLT_MAX;
    for (int it = 0; it < 6; it++) {
        double sq = 0, sqq = 0, sx = 0, sqx = 0, err = 0;
        int q[32];
        for (int k = 0; k < 32; k++) {
            q[k] = s > 0 ? clampi(iround((x[k] - off) / s), 0, 15) : 0;
            float e = s * (float)q[k] + off - x[k];
            err += (double)e * e;
            sq += q[k];
            sqq += (double)q[k] * q[k];
            sx += x[k];
            sqx += (double)q[k] * x[k];
        }
        if (err < best_err) {
            best_err = (float)err;
            best_s = s;
            best_off = off;
        }
        double det = 32 * sqq - sq * sq;
        if (det <= 0) break;
        double ns = (32 * sqx - sq * sx) / det, noff = (sx - ns * sq) / 32;
        if (noff > 0) { /* the min is stored as a subtraction: off <= 0 */
            noff = 0;
            ns = sqq > 0 ? sqx / sqq : 0;
        }
        if (ns <= 0) break;
        s = (float)ns;
        off = (float)noff;
    }
    *s_out = best_s;
    *mn_out = -best_off;
}

static void q4_k_row(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += SG_QK_K, x += SG_QK_K, b += SG_Q4_K_BYTES) {
        float s[8], mn[8], smax = 0, mmax = 0;
        for (int j = 0; j < 8; j++) {
            q4_k_fit(x + 32 * j, &s[j], &mn[j]);
            smax = fmaxf(smax, s[j]);
            mmax = fmaxf(mmax, mn[j]);
        }
        put_f16(b, smax / 63.0f);
        put_f16(b + 2, mmax / 63.0f);
        float d = sg_f16_to_f32(sg_rd_u16(b)), dmin = sg_f16_to_f32(sg_rd_u16(b + 2));
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = (uint8_t)(d > 0 ? clampi(iround(s[j] / d), 0, 63) : 0);
            m[j] = (uint8_t)(dmin > 0 ? clampi(iround(mn[j] / dmin), 0, 63) : 0);
        }
        /* pack: the inverse of sg_q4_k_scales */
        uint8_t *p = b + 4;
        for (int j = 0; j < 4; j++) {
            p[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
            p[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
            p[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
        }
        /* values against the stored scales: y = (d sc) q - (dmin m) */
        uint8_t q[256];
        for (int j = 0; j < 8; j++) {
            float ds = d * (float)sc[j], dm = dmin * (float)m[j];
            for (int k = 0; k < 32; k++)
                q[32 * j + k] = (uint8_t)(ds > 0 ? clampi(iround((x[32 * j + k] + dm) / ds), 0, 15) : 0);
        }
        uint8_t *qs = b + 16;
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 32; k++) qs[32 * c + k] = (uint8_t)(q[64 * c + k] | q[64 * c + 32 + k] << 4);
    }
}

/* Best s for x[k] ~ s * q[k], q in -32..31, over one Q6_K sub-block of 16. */
static float q6_k_fit(const float *x)
{
    float m = 0;
    for (int k = 0; k < 16; k++)
        if (fabsf(x[k]) > fabsf(m)) m = x[k];
    if (m == 0) return 0;
    float s = m / -32.0f, best_s = s, best_err = FLT_MAX;
    for (int it = 0; it < 4; it++) {
        double sqq = 0, sqx = 0, err = 0;
        for (int k = 0; k < 16; k++) {
            int q = clampi(iround(x[k] / s), -32, 31);
            float e = s * (float)q - x[k];
            err += (double)e * e;
            sqq += (double)q * q;
            sqx += (double)q * x[k];
        }
        if (err < best_err) {
            best_err = (float)err;
            best_s = s;
        }
        if (sqq <= 0) break;
        s = (float)(sqx / sqq);
        if (s == 0) break;
    }
    return best_s;
}

static void q6_k_row(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += SG_QK_K, x += SG_QK_K, b += SG_Q6_K_BYTES) {
        float s[16], big = 0;
        for (int j = 0; j < 16; j++) {
            s[j] = q6_k_fit(x + 16 * j);
            if (fabsf(s[j]) > fabsf(big)) big = s[j];
        }
        int8_t *scales = (int8_t *)(b + 192);
        float d = 0;
        if (big != 0) {
            put_f16(b + 208, big / -128.0f);
            d = sg_f16_to_f32(sg_rd_u16(b + 208));
        } else {
            put_f16(b + 208, 0.0f);
        }
        for (int j = 0; j < 16; j++) scales[j] = (int8_t)(d != 0 ? clampi(iround(s[j] / d), -128, 127) : 0);
        uint8_t q[256];
        for (int j = 0; j < 16; j++) {
            float e = d * (float)scales[j];
            for (int k = 0; k < 16; k++)
                q[16 * j + k] = (uint8_t)(e != 0 ? clampi(iround(x[16 * j + k] / e), -32, 31) + 32 : 32);
        }
        /* layout (see q6_k_unpack_half): in each half of 128, value l + 32k
         * has its low nibble in ql[l + 32 (k % 2)] (nibble k / 2) and its
         * high two bits at bits 2k of qh[l] */
        for (int half = 0; half < 2; half++) {
            uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
            const uint8_t *v = q + 128 * half;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((v[l] & 0xF) | (v[l + 64] & 0xF) << 4);
                ql[l + 32] = (uint8_t)((v[l + 32] & 0xF) | (v[l + 96] & 0xF) << 4);
                qh[l] = (uint8_t)((v[l] >> 4) | (v[l + 32] >> 4) << 2 | (v[l + 64] >> 4) << 4 | (v[l + 96] >> 4) << 6);
            }
        }
    }
}

void sg_quantize_row(sg_dtype t, const float *x, void *dst, int64_t n)
{
    uint8_t *b = dst;
    switch (t) {
    case SG_F32: memcpy(dst, x, (size_t)n * sizeof(float)); break;
    case SG_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = sg_f32_to_f16(x[i]);
            memcpy(b + 2 * i, &h, 2);
        }
        break;
    case SG_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = sg_f32_to_bf16(x[i]);
            memcpy(b + 2 * i, &h, 2);
        }
        break;
    case SG_Q8_0: q8_0_row(x, b, n); break;
    case SG_Q4_0: q4_0_row(x, b, n); break;
    case SG_Q4_K: q4_k_row(x, b, n); break;
    case SG_Q6_K: q6_k_row(x, b, n); break;
    default: break;
    }
}

/* ------------------------------------------------------------ GGUF files */

enum { FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q8_0 = 7, FT_Q4_K_M = 15, FT_BF16 = 32 };

uint32_t sg_quantize_ggml_type(sg_dtype t)
{
    switch (t) {
    case SG_F16: return SG_GGML_F16;
    case SG_BF16: return SG_GGML_BF16;
    case SG_Q8_0: return SG_GGML_Q8_0;
    case SG_Q4_0: return SG_GGML_Q4_0;
    case SG_Q4_K: return SG_GGML_Q4_K;
    case SG_Q6_K: return SG_GGML_Q6_K;
    default: return SG_GGML_F32;
    }
}

/* llama.cpp's rule for the layers that get more bits in the _M mixes. */
static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Layer index of "blk.N.xxx", or -1. */
static int layer_of(const char *name)
{
    if (strncmp(name, "blk.", 4)) return -1;
    char *end;
    long v = strtol(name + 4, &end, 10);
    return end != name + 4 && *end == '.' && v >= 0 && v < 1 << 20 ? (int)v : -1;
}

/* The type of tensor t in the output (its stored type when unchanged);
 * has_output: the file has an output.weight (else token_embd is the head). */
static sg_dtype pick_type(const sg_qtensor *t, bool has_output, int ftype, int n_layer)
{
    if (t->n_dims < 2 || !ends_with(t->name, ".weight")) return t->dtype;
    bool head = !strcmp(t->name, "output.weight") || (!strcmp(t->name, "token_embd.weight") && !has_output);
    sg_dtype want;
    switch (ftype) {
    case FT_F32: want = SG_F32; break;
    case FT_F16: want = SG_F16; break;
    case FT_BF16: want = SG_BF16; break;
    case FT_Q8_0: want = SG_Q8_0; break;
    case FT_Q4_0: want = head ? SG_Q6_K : SG_Q4_0; break;
    default: { /* Q4_K_M */
        int il = layer_of(t->name);
        bool more = il >= 0 && (ends_with(t->name, ".attn_v.weight") || ends_with(t->name, ".ffn_down.weight")) &&
                    use_more_bits(il, n_layer);
        want = head || more ? SG_Q6_K : SG_Q4_K;
    }
    }
    int64_t cols = (int64_t)t->ne[0];
    if (cols % sg_dtype_traits_of(want)->block_size) {
        if (want == SG_Q4_K) want = SG_Q4_0;
        else if (want == SG_Q6_K) want = SG_Q8_0;
        if (cols % sg_dtype_traits_of(want)->block_size) want = SG_F16; /* rows of odd lengths */
    }
    return want;
}

/* One tensor's rows, encoded in parallel. */
typedef struct {
    const sg_dtype_traits *src;
    const uint8_t *in;
    size_t in_row;
    sg_dtype dst;
    uint8_t *out;
    size_t out_row;
    int64_t cols, rows, rows_per_task;
    int64_t head_rows; /* > 0: output row r comes from the rotate-half row of its head (see quantize.h) */
    float *scratch;    /* cols floats per thread */
} q_job;

/* The input row of output row r: llama.cpp's Q/K permutation puts row
 * h*D + 2i + j of the interleaved layout at row h*D + j*D/2 + i of HF's. */
static int64_t src_row(const q_job *j, int64_t r)
{
    if (j->head_rows <= 0) return r;
    int64_t D = j->head_rows, h = r / D, k = r % D;
    return h * D + (k % 2) * (D / 2) + k / 2;
}

static void q_task(void *arg, int task, int thread)
{
    const q_job *j = arg;
    float *x = j->scratch + (size_t)thread * (size_t)j->cols;
    int64_t r1 = (task + 1) * j->rows_per_task < j->rows ? (task + 1) * j->rows_per_task : j->rows;
    for (int64_t r = task * j->rows_per_task; r < r1; r++) {
        j->src->to_float(j->in + (size_t)src_row(j, r) * j->in_row, x, j->cols);
        sg_quantize_row(j->dst, x, j->out + (size_t)r * j->out_row, j->cols);
    }
}

int sg_quantize_ftype(const char *type)
{
    static const struct {
        const char *name;
        int ft;
    } names[] = {{"f32", FT_F32}, {"f16", FT_F16}, {"bf16", FT_BF16}, {"q8_0", FT_Q8_0},
                 {"q4_0", FT_Q4_0}, {"q4_k_m", FT_Q4_K_M}, {"q4_k", FT_Q4_K_M}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(type, names[i].name)) return names[i].ft;
    return -1;
}

sg_status sg_quantize_write(sg_gguf_writer *w, const sg_qtensor *ts, size_t n, int ftype, int n_threads,
                            const char *out_path, sg_quantize_stats *stats, sg_error *err)
{
    int n_layer = 0;
    bool has_output = false;
    for (size_t i = 0; i < n; i++) {
        int il = layer_of(ts[i].name);
        if (il + 1 > n_layer) n_layer = il + 1;
        has_output |= !strcmp(ts[i].name, "output.weight");
    }
    sg_status st = SG_OK;
    sg_dtype *types = calloc(n ? n : 1, sizeof *types);
    sg_gguf_file f = {0};
    bool open = false;
    sg_pool *pool = NULL;
    float *scratch = NULL;
    uint8_t *out = NULL;
    if (!types) {
        st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t max_out = 0, max_cols = 1;
    sg_gguf_w_u32(w, "general.file_type", (uint32_t)ftype);
    sg_gguf_w_u32(w, "general.quantization_version", 2);
    for (size_t i = 0; i < n; i++) {
        const sg_qtensor *t = &ts[i];
        types[i] = pick_type(t, has_output, ftype, n_layer);
        int64_t cols = (int64_t)t->ne[0];
        uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        uint64_t size = types[i] == t->dtype ? t->nbytes : rows * sg_dtype_row_bytes(types[i], cols);
        uint32_t gt = types[i] == t->dtype ? t->ggml_type : sg_quantize_ggml_type(types[i]);
        sg_gguf_w_tensor(w, t->name, t->n_dims, t->ne, gt, size);
        if (size > max_out) max_out = size;
        if ((uint64_t)cols > max_cols) max_cols = (uint64_t)cols;
        if (stats) {
            stats->bytes_in += t->nbytes;
            stats->bytes_out += size;
            stats->n_tensors++;
            stats->n_quantized += types[i] != t->dtype;
        }
    }
    pool = sg_pool_new(n_threads);
    scratch = pool ? malloc(sizeof(float) * (size_t)max_cols * (size_t)sg_pool_size(pool)) : NULL;
    out = malloc(max_out ? (size_t)max_out : 1);
    if (!pool || !scratch || !out) {
        st = sg_fail(err, SG_ERR_NOMEM, "out of memory (%llu bytes for one tensor)", (unsigned long long)max_out);
        goto done;
    }
    if ((st = sg_gguf_file_open(&f, w, out_path, err))) goto done;
    open = true;
    for (size_t i = 0; i < n; i++) {
        const sg_qtensor *t = &ts[i];
        const void *data = t->data;
        size_t size = (size_t)t->nbytes;
        if (types[i] != t->dtype || t->head_rows > 0) {
            int64_t cols = (int64_t)t->ne[0], rows = (int64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
            q_job j = {.src = sg_dtype_traits_of(t->dtype), .in = t->data,
                       .in_row = sg_dtype_row_bytes(t->dtype, cols), .dst = types[i], .out = out,
                       .out_row = sg_dtype_row_bytes(types[i], cols), .cols = cols, .rows = rows,
                       .rows_per_task = 16, .head_rows = t->head_rows, .scratch = scratch};
            sg_pool_run(pool, q_task, &j, (int)((rows + 15) / 16));
            data = out;
            size = (size_t)rows * j.out_row;
        }
        sg_gguf_file_write(&f, data, size);
        sg_gguf_file_end_tensor(&f);
    }
    open = false;
    st = sg_gguf_file_commit(&f, err);
done:
    if (open) sg_gguf_file_abort(&f);
    sg_pool_free(pool);
    free(scratch);
    free(out);
    free(types);
    return st;
}

sg_status sg_quantize_gguf(const char *in_path, const char *out_path, const char *type, int n_threads,
                           sg_quantize_stats *stats, sg_error *err)
{
    int ftype = sg_quantize_ftype(type);
    if (ftype < 0) return sg_fail(err, SG_ERR_INVALID, "unknown quantization type '%s' (%s)", type, SG_QUANT_TYPES);
    sg_gguf g;
    sg_status st = sg_gguf_open(&g, in_path, err);
    if (st) return st;
    sg_gguf_writer w = {0};
    sg_qtensor *ts = calloc(g.n_tensors ? g.n_tensors : 1, sizeof *ts);
    if (!ts) st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; !st && i < g.n_tensors; i++) {
        const sg_gguf_tensor *t = &g.tensors[i];
        if (t->dtype < 0)
            st = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tensor %s has type %s, which stargate cannot read", in_path,
                         t->name, sg_ggml_type_name(t->ggml_type));
        ts[i] = (sg_qtensor){.name = t->name, .n_dims = t->n_dims, .ne = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]},
                             .dtype = (sg_dtype)t->dtype, .ggml_type = t->ggml_type, .data = t->data,
                             .nbytes = t->nbytes};
    }
    if (!st) {
        for (uint64_t i = 0; i < g.n_kv; i++)
            if (strcmp(g.kv[i].key, "general.file_type") && strcmp(g.kv[i].key, "general.quantization_version"))
                sg_gguf_w_kv(&w, &g.kv[i]);
        st = sg_quantize_write(&w, ts, (size_t)g.n_tensors, ftype, n_threads, out_path, stats, err);
    }
    sg_gguf_writer_free(&w);
    free(ts);
    sg_gguf_close(&g);
    return st;
}
