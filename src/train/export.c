/*
 * export.c -- write a trained model where stargate (and llama.cpp, and
 * transformers) can load it: a GGUF file or a Hugging Face directory.
 *
 * Both exports first build a list of named tensors in the target's own
 * conventions, then serialize it:
 *   GGUF (llama.cpp names, see model/load.c): blk.N.attn_q.weight, ...;
 *     llama Q/K rows are permuted for interleaved-pair RoPE exactly as
 *     llama.cpp's converter (and tools/gen_model.py) does, since the loader
 *     applies adjacent-pair RoPE to llama-architecture GGUFs; GPT-2's Q, K, V
 *     are fused into attn_qkv. 1-D tensors are always F32.
 *   HF: transformers' names (model.layers.N.self_attn.q_proj.weight, ...,
 *     GPT-2's h.N.attn.c_attn.weight) in safetensors, GPT-2's Conv1D
 *     matrices transposed to [in, out], plus config.json.
 * Files are written atomically (base/afile.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "base/f16.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "train/train.h"

typedef struct xt {
    char name[96];
    int n_dims;
    int64_t rows, cols; /* 1-D: rows = 1 */
    float *data;        /* owned, row-major [rows][cols] */
} xt;

typedef struct xlist {
    xt *t;
    int n, cap;
    bool oom;
} xlist;

static void xlist_free(xlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->t[i].data);
    free(l->t);
}

/* Append a tensor; returns its data buffer (rows*cols floats) or NULL. */
static float *add(xlist *l, int n_dims, int64_t rows, int64_t cols, const char *fmt, ...) SG_PRINTF(5, 6);
static float *add(xlist *l, int n_dims, int64_t rows, int64_t cols, const char *fmt, ...)
{
    if (l->oom) return NULL;
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 64;
        xt *nt = realloc(l->t, (size_t)nc * sizeof *nt);
        if (!nt) {
            l->oom = true;
            return NULL;
        }
        l->t = nt;
        l->cap = nc;
    }
    xt *t = &l->t[l->n];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->n_dims = n_dims;
    t->rows = rows;
    t->cols = cols;
    t->data = malloc((size_t)(rows * cols) * sizeof(float));
    if (!t->data) {
        l->oom = true;
        return NULL;
    }
    l->n++;
    return t->data;
}

static void copy(float *dst, const float *src, size_t n)
{
    if (dst) memcpy(dst, src, n * sizeof(float));
}

/* dst [cols][rows] = src [rows][cols]^T */
static void transpose(float *dst, const float *src, int64_t rows, int64_t cols)
{
    if (!dst) return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

/* llama.cpp's Q/K permutation: row h*D + 2i + j <- row h*D + j*D/2 + i */
static void permute_rows(float *dst, const float *src, int n_head, int D, int64_t cols)
{
    if (!dst) return;
    int half = D / 2;
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(dst + ((size_t)h * D + 2 * i + j) * cols, src + ((size_t)h * D + (size_t)j * half + i) * cols,
                       (size_t)cols * sizeof(float));
}

static const float *P(const sg_tmodel *m, const float *data, int p)
{
    return data + m->off[p];
}

static void gguf_list(const sg_tmodel *m, const float *w, xlist *l)
{
    const sg_tshape *s = &m->s;
    int64_t C = s->C, QD = (int64_t)s->H * s->D, KVD = (int64_t)s->KV * s->D, F = s->F;
    bool g = s->arch == SG_ARCH_GPT2;
    copy(add(l, 2, s->V, C, "token_embd.weight"), P(m, w, P_WTE), (size_t)(s->V * C));
    if (g) copy(add(l, 2, s->maxT, C, "position_embd.weight"), P(m, w, P_WPE), (size_t)(s->maxT * C));
    for (int i = 0; i < s->L; i++) {
        copy(add(l, 1, 1, C, "blk.%d.attn_norm.weight", i), P(m, w, P_LN1W) + i * C, (size_t)C);
        if (g) {
            copy(add(l, 1, 1, C, "blk.%d.attn_norm.bias", i), P(m, w, P_LN1B) + i * C, (size_t)C);
            float *qkv = add(l, 2, 3 * C, C, "blk.%d.attn_qkv.weight", i);
            if (qkv) {
                copy(qkv, P(m, w, P_WQ) + i * C * C, (size_t)(C * C));
                copy(qkv + C * C, P(m, w, P_WK) + i * C * C, (size_t)(C * C));
                copy(qkv + 2 * C * C, P(m, w, P_WV) + i * C * C, (size_t)(C * C));
            }
            float *b = add(l, 1, 1, 3 * C, "blk.%d.attn_qkv.bias", i);
            if (b) {
                copy(b, P(m, w, P_BQ) + i * C, (size_t)C);
                copy(b + C, P(m, w, P_BK) + i * C, (size_t)C);
                copy(b + 2 * C, P(m, w, P_BV) + i * C, (size_t)C);
            }
        } else {
            permute_rows(add(l, 2, QD, C, "blk.%d.attn_q.weight", i), P(m, w, P_WQ) + i * QD * C, s->H, s->D, C);
            permute_rows(add(l, 2, KVD, C, "blk.%d.attn_k.weight", i), P(m, w, P_WK) + i * KVD * C, s->KV, s->D, C);
            copy(add(l, 2, KVD, C, "blk.%d.attn_v.weight", i), P(m, w, P_WV) + i * KVD * C, (size_t)(KVD * C));
        }
        copy(add(l, 2, C, QD, "blk.%d.attn_output.weight", i), P(m, w, P_WO) + i * C * QD, (size_t)(C * QD));
        if (g) copy(add(l, 1, 1, C, "blk.%d.attn_output.bias", i), P(m, w, P_BO) + i * C, (size_t)C);
        copy(add(l, 1, 1, C, "blk.%d.ffn_norm.weight", i), P(m, w, P_LN2W) + i * C, (size_t)C);
        if (g) copy(add(l, 1, 1, C, "blk.%d.ffn_norm.bias", i), P(m, w, P_LN2B) + i * C, (size_t)C);
        if (!g) copy(add(l, 2, F, C, "blk.%d.ffn_gate.weight", i), P(m, w, P_WGATE) + i * F * C, (size_t)(F * C));
        copy(add(l, 2, F, C, "blk.%d.ffn_up.weight", i), P(m, w, P_WUP) + i * F * C, (size_t)(F * C));
        if (g) copy(add(l, 1, 1, F, "blk.%d.ffn_up.bias", i), P(m, w, P_BUP) + i * F, (size_t)F);
        copy(add(l, 2, C, F, "blk.%d.ffn_down.weight", i), P(m, w, P_WDOWN) + i * C * F, (size_t)(C * F));
        if (g) copy(add(l, 1, 1, C, "blk.%d.ffn_down.bias", i), P(m, w, P_BDOWN) + i * C, (size_t)C);
    }
    copy(add(l, 1, 1, C, "output_norm.weight"), P(m, w, P_LNFW), (size_t)C);
    if (g) copy(add(l, 1, 1, C, "output_norm.bias"), P(m, w, P_LNFB), (size_t)C);
    if (!s->tied) copy(add(l, 2, s->V, C, "output.weight"), P(m, w, P_HEAD), (size_t)(s->V * C));
}

static void hf_list(const sg_tmodel *m, const float *w, xlist *l)
{
    const sg_tshape *s = &m->s;
    int64_t C = s->C, QD = (int64_t)s->H * s->D, KVD = (int64_t)s->KV * s->D, F = s->F;
    if (s->arch == SG_ARCH_GPT2) {
        copy(add(l, 2, s->V, C, "wte.weight"), P(m, w, P_WTE), (size_t)(s->V * C));
        copy(add(l, 2, s->maxT, C, "wpe.weight"), P(m, w, P_WPE), (size_t)(s->maxT * C));
        for (int i = 0; i < s->L; i++) {
            copy(add(l, 1, 1, C, "h.%d.ln_1.weight", i), P(m, w, P_LN1W) + i * C, (size_t)C);
            copy(add(l, 1, 1, C, "h.%d.ln_1.bias", i), P(m, w, P_LN1B) + i * C, (size_t)C);
            float *qkv = add(l, 2, C, 3 * C, "h.%d.attn.c_attn.weight", i); /* Conv1D [in, out] */
            if (qkv)
                for (int64_t r = 0; r < C; r++)
                    for (int64_t o = 0; o < C; o++) {
                        qkv[r * 3 * C + o] = P(m, w, P_WQ)[i * C * C + o * C + r];
                        qkv[r * 3 * C + C + o] = P(m, w, P_WK)[i * C * C + o * C + r];
                        qkv[r * 3 * C + 2 * C + o] = P(m, w, P_WV)[i * C * C + o * C + r];
                    }
            float *b = add(l, 1, 1, 3 * C, "h.%d.attn.c_attn.bias", i);
            if (b) {
                copy(b, P(m, w, P_BQ) + i * C, (size_t)C);
                copy(b + C, P(m, w, P_BK) + i * C, (size_t)C);
                copy(b + 2 * C, P(m, w, P_BV) + i * C, (size_t)C);
            }
            transpose(add(l, 2, C, C, "h.%d.attn.c_proj.weight", i), P(m, w, P_WO) + i * C * C, C, C);
            copy(add(l, 1, 1, C, "h.%d.attn.c_proj.bias", i), P(m, w, P_BO) + i * C, (size_t)C);
            copy(add(l, 1, 1, C, "h.%d.ln_2.weight", i), P(m, w, P_LN2W) + i * C, (size_t)C);
            copy(add(l, 1, 1, C, "h.%d.ln_2.bias", i), P(m, w, P_LN2B) + i * C, (size_t)C);
            transpose(add(l, 2, C, F, "h.%d.mlp.c_fc.weight", i), P(m, w, P_WUP) + i * F * C, F, C);
            copy(add(l, 1, 1, F, "h.%d.mlp.c_fc.bias", i), P(m, w, P_BUP) + i * F, (size_t)F);
            transpose(add(l, 2, F, C, "h.%d.mlp.c_proj.weight", i), P(m, w, P_WDOWN) + i * C * F, C, F);
            copy(add(l, 1, 1, C, "h.%d.mlp.c_proj.bias", i), P(m, w, P_BDOWN) + i * C, (size_t)C);
        }
        copy(add(l, 1, 1, C, "ln_f.weight"), P(m, w, P_LNFW), (size_t)C);
        copy(add(l, 1, 1, C, "ln_f.bias"), P(m, w, P_LNFB), (size_t)C);
        return;
    }
    copy(add(l, 2, s->V, C, "model.embed_tokens.weight"), P(m, w, P_WTE), (size_t)(s->V * C));
    for (int i = 0; i < s->L; i++) {
        const char *pre = "model.layers.";
        copy(add(l, 1, 1, C, "%s%d.input_layernorm.weight", pre, i), P(m, w, P_LN1W) + i * C, (size_t)C);
        copy(add(l, 2, QD, C, "%s%d.self_attn.q_proj.weight", pre, i), P(m, w, P_WQ) + i * QD * C, (size_t)(QD * C));
        copy(add(l, 2, KVD, C, "%s%d.self_attn.k_proj.weight", pre, i), P(m, w, P_WK) + i * KVD * C, (size_t)(KVD * C));
        copy(add(l, 2, KVD, C, "%s%d.self_attn.v_proj.weight", pre, i), P(m, w, P_WV) + i * KVD * C, (size_t)(KVD * C));
        copy(add(l, 2, C, QD, "%s%d.self_attn.o_proj.weight", pre, i), P(m, w, P_WO) + i * C * QD, (size_t)(C * QD));
        copy(add(l, 1, 1, C, "%s%d.post_attention_layernorm.weight", pre, i), P(m, w, P_LN2W) + i * C, (size_t)C);
        copy(add(l, 2, F, C, "%s%d.mlp.gate_proj.weight", pre, i), P(m, w, P_WGATE) + i * F * C, (size_t)(F * C));
        copy(add(l, 2, F, C, "%s%d.mlp.up_proj.weight", pre, i), P(m, w, P_WUP) + i * F * C, (size_t)(F * C));
        copy(add(l, 2, C, F, "%s%d.mlp.down_proj.weight", pre, i), P(m, w, P_WDOWN) + i * C * F, (size_t)(C * F));
    }
    copy(add(l, 1, 1, C, "model.norm.weight"), P(m, w, P_LNFW), (size_t)C);
    if (!s->tied) copy(add(l, 2, s->V, C, "lm_head.weight"), P(m, w, P_HEAD), (size_t)(s->V * C));
}

/* Where write_data's bytes go: an sg_afile (safetensors) or an sg_gguf_file. */
typedef void (*sink_fn)(void *dst, const void *p, size_t n);
static void to_afile(void *dst, const void *p, size_t n)
{
    sg_afile_write(dst, p, n);
}
static void to_gguf(void *dst, const void *p, size_t n)
{
    sg_gguf_file_write(dst, p, n);
}

/* Write n floats as f32 or f16 (little-endian hosts only, as the readers). */
static void write_data(sink_fn out, void *dst, const float *x, size_t n, bool f16)
{
    if (!f16) {
        out(dst, x, n * sizeof(float));
        return;
    }
    uint16_t buf[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < k; j++) buf[j] = sg_f32_to_f16(x[i + j]);
        out(dst, buf, k * 2);
    }
}

/* ------------------------------------------------------------------ GGUF */

/* "<arch>.<k>" (or k alone when arch is empty) as a u32 / f32 pair. */
static void kv_u32(sg_gguf_writer *w, const char *arch, const char *k, uint32_t v)
{
    char key[128];
    snprintf(key, sizeof key, "%s%s%s", arch, *arch ? "." : "", k);
    sg_gguf_w_u32(w, key, v);
}
static void kv_f32(sg_gguf_writer *w, const char *arch, const char *k, float v)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, k);
    sg_gguf_w_f32(w, key, v);
}

sg_status sg_export_gguf(const sg_tmodel *m, const float *data, const char *path, bool f16, const char *tokenizer,
                         sg_error *err)
{
    sg_gguf tg;
    bool have_tok = false;
    if (tokenizer && tokenizer[0]) {
        sg_status ts = sg_gguf_open(&tg, tokenizer, err);
        if (ts) return ts;
        have_tok = true;
        if (!sg_gguf_find(&tg, "tokenizer.ggml.tokens")) {
            sg_gguf_close(&tg);
            return sg_fail(err, SG_ERR_FORMAT, "%s: no tokenizer.ggml.tokens to copy into the export", tokenizer);
        }
    }
    const sg_tshape *s = &m->s;
    xlist l = {0};
    gguf_list(m, data, &l);
    if (l.oom) {
        xlist_free(&l);
        if (have_tok) sg_gguf_close(&tg);
        return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    }
    bool g = s->arch == SG_ARCH_GPT2;
    const char *arch = g ? "gpt2" : "llama";
    sg_gguf_writer h = {0};
    sg_gguf_w_str(&h, "general.architecture", arch);
    sg_gguf_w_str(&h, "general.name", "stargate-trained");
    kv_u32(&h, "", "general.alignment", SG_GGUF_DEFAULT_ALIGN);
    kv_u32(&h, "", "general.file_type", f16 ? 1 : 0);
    kv_u32(&h, arch, "context_length", (uint32_t)s->maxT);
    kv_u32(&h, arch, "embedding_length", (uint32_t)s->C);
    kv_u32(&h, arch, "block_count", (uint32_t)s->L);
    kv_u32(&h, arch, "feed_forward_length", (uint32_t)s->F);
    kv_u32(&h, arch, "attention.head_count", (uint32_t)s->H);
    kv_u32(&h, arch, "vocab_size", (uint32_t)s->V);
    if (g) {
        kv_f32(&h, arch, "attention.layer_norm_epsilon", s->eps);
    } else {
        kv_u32(&h, arch, "attention.head_count_kv", (uint32_t)s->KV);
        kv_f32(&h, arch, "attention.layer_norm_rms_epsilon", s->eps);
        kv_f32(&h, arch, "rope.freq_base", s->theta);
        kv_u32(&h, arch, "rope.dimension_count", (uint32_t)s->D);
        kv_u32(&h, arch, "attention.key_length", (uint32_t)s->D);
        kv_u32(&h, arch, "attention.value_length", (uint32_t)s->D);
    }
    if (have_tok) {
        for (uint64_t i = 0; i < tg.n_kv; i++)
            if (!strncmp(tg.kv[i].key, "tokenizer.", 10)) sg_gguf_w_kv(&h, &tg.kv[i]);
        sg_gguf_close(&tg);
    }
    for (int i = 0; i < l.n; i++) {
        const xt *t = &l.t[i];
        bool half = f16 && t->n_dims == 2;
        uint64_t ne[2] = {(uint64_t)t->cols, (uint64_t)t->rows};
        sg_gguf_w_tensor(&h, t->name, (uint32_t)t->n_dims, ne, half ? SG_GGML_F16 : SG_GGML_F32,
                         (uint64_t)(t->rows * t->cols) * (half ? 2 : 4));
    }
    sg_gguf_file a;
    sg_status st = sg_gguf_file_open(&a, &h, path, err);
    if (!st) {
        for (int i = 0; i < l.n; i++) {
            const xt *t = &l.t[i];
            write_data(to_gguf, &a, t->data, (size_t)(t->rows * t->cols), f16 && t->n_dims == 2);
            sg_gguf_file_end_tensor(&a);
        }
        st = sg_gguf_file_commit(&a, err);
    }
    sg_gguf_writer_free(&h);
    xlist_free(&l);
    return st;
}

/* ----------------------------------------------------------- safetensors */

static sg_status write_safetensors(const xlist *l, const char *path, bool f16, sg_error *err)
{
    cJSON *h = cJSON_CreateObject();
    uint64_t off = 0;
    for (int i = 0; i < l->n; i++) {
        const xt *t = &l->t[i];
        cJSON *e = cJSON_AddObjectToObject(h, t->name);
        cJSON_AddStringToObject(e, "dtype", f16 ? "F16" : "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        if (t->n_dims == 2) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->rows));
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->cols));
        uint64_t nb = (uint64_t)(t->rows * t->cols) * (f16 ? 2 : 4);
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + nb)));
        off += nb;
    }
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    char *text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!text) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    size_t tl = strlen(text);
    uint64_t hl = (tl + 7) / 8 * 8;
    sg_afile a;
    sg_status st = sg_afile_open(&a, path, err);
    if (!st) {
        sg_afile_write(&a, &hl, 8);
        sg_afile_write(&a, text, tl);
        sg_afile_write(&a, "        ", (size_t)(hl - tl));
        for (int i = 0; i < l->n; i++) write_data(to_afile, &a, l->t[i].data, (size_t)(l->t[i].rows * l->t[i].cols), f16);
        st = sg_afile_commit(&a, err);
    }
    free(text);
    return st;
}

sg_status sg_export_safetensors(const sg_tmodel *m, const float *data, const char *path, bool f16, sg_error *err)
{
    xlist l = {0};
    hf_list(m, data, &l);
    sg_status st = l.oom ? sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path) : write_safetensors(&l, path, f16, err);
    xlist_free(&l);
    return st;
}

static char *hf_config_json(const sg_tshape *s, bool f16)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *archs = cJSON_AddArrayToObject(c, "architectures");
    const char *dt = f16 ? "float16" : "float32";
    if (s->arch == SG_ARCH_GPT2) {
        cJSON_AddItemToArray(archs, cJSON_CreateString("GPT2LMHeadModel"));
        cJSON_AddStringToObject(c, "model_type", "gpt2");
        cJSON_AddNumberToObject(c, "vocab_size", s->V);
        cJSON_AddNumberToObject(c, "n_embd", s->C);
        cJSON_AddNumberToObject(c, "n_layer", s->L);
        cJSON_AddNumberToObject(c, "n_head", s->H);
        cJSON_AddNumberToObject(c, "n_positions", s->maxT);
        cJSON_AddNumberToObject(c, "n_ctx", s->maxT);
        cJSON_AddNumberToObject(c, "n_inner", s->F);
        cJSON_AddNumberToObject(c, "layer_norm_epsilon", s->eps);
        cJSON_AddStringToObject(c, "activation_function", "gelu_new");
        cJSON_AddBoolToObject(c, "tie_word_embeddings", true);
    } else {
        cJSON_AddItemToArray(archs, cJSON_CreateString("LlamaForCausalLM"));
        cJSON_AddStringToObject(c, "model_type", "llama");
        cJSON_AddNumberToObject(c, "vocab_size", s->V);
        cJSON_AddNumberToObject(c, "hidden_size", s->C);
        cJSON_AddNumberToObject(c, "intermediate_size", s->F);
        cJSON_AddNumberToObject(c, "num_hidden_layers", s->L);
        cJSON_AddNumberToObject(c, "num_attention_heads", s->H);
        cJSON_AddNumberToObject(c, "num_key_value_heads", s->KV);
        cJSON_AddNumberToObject(c, "head_dim", s->D);
        cJSON_AddStringToObject(c, "hidden_act", "silu");
        cJSON_AddNumberToObject(c, "max_position_embeddings", s->maxT);
        cJSON_AddNumberToObject(c, "rms_norm_eps", s->eps);
        cJSON_AddNumberToObject(c, "rope_theta", s->theta);
        cJSON_AddBoolToObject(c, "attention_bias", false);
        cJSON_AddBoolToObject(c, "tie_word_embeddings", s->tied);
    }
    cJSON_AddStringToObject(c, "torch_dtype", dt);
    char *text = cJSON_Print(c);
    cJSON_Delete(c);
    return text;
}

sg_status sg_export_hf(const sg_tmodel *m, const float *data, const char *dir, bool f16, const char *tokenizer,
                       sg_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return sg_fail(err, SG_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    char *st_path = sg_path_join(dir, "model.safetensors"), *cfg_path = sg_path_join(dir, "config.json");
    char *text = hf_config_json(&m->s, f16);
    sg_status st = SG_OK;
    if (!st_path || !cfg_path || !text) st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
    if (!st) st = sg_export_safetensors(m, data, st_path, f16, err);
    if (!st) {
        sg_afile a;
        st = sg_afile_open(&a, cfg_path, err);
        if (!st) {
            sg_afile_write(&a, text, strlen(text));
            sg_afile_write(&a, "\n", 1);
            st = sg_afile_commit(&a, err);
        }
    }
    if (!st && tokenizer && tokenizer[0]) {
        sg_error te = {0};
        sg_status ts = sg_tokenizer_write_hf(tokenizer, dir, &te);
        if (ts == SG_ERR_UNSUPPORTED) /* e.g. a SentencePiece vocabulary: the weights still export */
            fprintf(stderr, "stargate: warning: %s: no tokenizer.json written: %s\n", dir, te.msg);
        else if (ts) st = sg_fail(err, ts, "%s", te.msg);
    }
    free(text);
    free(st_path);
    free(cfg_path);
    return st;
}
