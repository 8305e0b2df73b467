/*
 * to_gguf.c -- a Hugging Face directory to GGUF (see to_gguf.h).
 *
 * The model loader does the reading: sg_model_load on the directory gives
 * the normalized config, every weight bound to its role with shape and
 * dtype checked (GPT-2's Conv1D matrices already transposed to [out, in],
 * vectors as f32), the chat template and the tokenizer's files. This file
 * only names things the way llama.cpp's convert_hf_to_gguf.py does:
 *  - general.architecture llama (also for mistral), qwen2, qwen3 or gpt2 and
 *    the <arch>.* hyper-parameters config.c reads back (context_length,
 *    embedding_length, block_count, feed_forward_length, attention.*,
 *    rope.*, vocab_size; linear rope scaling as rope.scaling.*, Llama 3.1's
 *    as the rope_freqs.weight tensor of per-frequency factors);
 *  - tensors token_embd / blk.N.attn_q ... / output_norm / output; a tied
 *    model has no output.weight, except GPT-2, whose converter always
 *    writes a copy (as llama.cpp's does);
 *  - for llama-family models (llama, mistral) Q and K rows are permuted
 *    from HF's rotate-half layout to GGUF's interleaved pairs, exactly what
 *    config.c's SG_ROPE_INTERLEAVED undoes when such a GGUF is loaded;
 *    qwen2/qwen3 GGUFs keep rotate-half (NEOX), so nothing moves;
 *  - the tokenizer (tokenizer/to_gguf.c) and tokenizer.chat_template.
 * Then sg_quantize_write re-encodes and writes, as for GGUF input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/to_gguf.h"
#include "tensor/quantize.h"
#include "tokenizer/to_gguf.h"

typedef struct tlist {
    sg_qtensor *t;
    char (*names)[96];
    size_t n, cap;
    bool oom;
} tlist;

static sg_qtensor *push(tlist *l, const char *name)
{
    if (l->oom) return NULL;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        sg_qtensor *nt = realloc(l->t, nc * sizeof *nt);
        if (nt) l->t = nt;
        char(*nn)[96] = realloc(l->names, nc * sizeof *nn);
        if (nn) l->names = nn;
        if (!nt || !nn) {
            l->oom = true;
            return NULL;
        }
        l->cap = nc;
    }
    snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
    sg_qtensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    return t;
}

/* A matrix; head_rows > 0 permutes its rows (Q/K of llama-family models). */
static void mat(tlist *l, const char *name, const sg_weight *w, int64_t head_rows)
{
    if (!w->data) return;
    sg_qtensor *t = push(l, name);
    if (!t) return;
    *t = (sg_qtensor){.n_dims = 2, .ne = {(uint64_t)w->cols, (uint64_t)w->rows, 1, 1}, .dtype = w->dtype,
                      .ggml_type = sg_quantize_ggml_type(w->dtype), .data = w->data,
                      .nbytes = (uint64_t)w->rows * sg_dtype_row_bytes(w->dtype, w->cols), .head_rows = head_rows};
}

static void vec(tlist *l, const char *name, const float *v, int64_t n)
{
    if (!v) return;
    sg_qtensor *t = push(l, name);
    if (!t) return;
    *t = (sg_qtensor){.n_dims = 1, .ne = {(uint64_t)n, 1, 1, 1}, .dtype = SG_F32, .ggml_type = SG_GGML_F32,
                      .data = v, .nbytes = (uint64_t)n * 4};
}

/* Every tensor of m in GGUF naming and order (llama.cpp's converter's). */
static void list_tensors(const sg_model *m, tlist *l)
{
    const sg_config *c = &m->cfg;
    bool gpt2 = c->arch == SG_ARCH_GPT2, permute = c->arch == SG_ARCH_LLAMA || c->arch == SG_ARCH_MISTRAL;
    int64_t E = c->n_embd, F = c->n_ff, Q = (int64_t)c->n_head * c->head_dim, KV = (int64_t)c->n_head_kv * c->head_dim;
    char nm[96];
    mat(l, "token_embd.weight", &m->tok_embd, 0);
    if (gpt2) mat(l, "position_embd.weight", &m->pos_embd, 0);
    if (m->rope_freq_factors) vec(l, "rope_freqs.weight", m->rope_freq_factors, c->rope_dim / 2);
    for (int i = 0; i < c->n_layer; i++) {
        const sg_layer *L = &m->layers[i];
#define NAME(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, i), nm)
        vec(l, NAME("attn_norm.weight"), L->attn_norm, E);
        vec(l, NAME("attn_norm.bias"), L->attn_norm_b, E);
        if (gpt2) {
            mat(l, NAME("attn_qkv.weight"), &L->wqkv, 0);
            vec(l, NAME("attn_qkv.bias"), L->bqkv, 3 * E);
        } else {
            mat(l, NAME("attn_q.weight"), &L->wq, permute ? c->head_dim : 0);
            mat(l, NAME("attn_k.weight"), &L->wk, permute ? c->head_dim : 0);
            mat(l, NAME("attn_v.weight"), &L->wv, 0);
            vec(l, NAME("attn_q.bias"), L->bq, Q);
            vec(l, NAME("attn_k.bias"), L->bk, KV);
            vec(l, NAME("attn_v.bias"), L->bv, KV);
            vec(l, NAME("attn_q_norm.weight"), L->q_norm, c->head_dim);
            vec(l, NAME("attn_k_norm.weight"), L->k_norm, c->head_dim);
        }
        mat(l, NAME("attn_output.weight"), &L->wo, 0);
        vec(l, NAME("attn_output.bias"), L->bo, E);
        vec(l, NAME("ffn_norm.weight"), L->ffn_norm, E);
        vec(l, NAME("ffn_norm.bias"), L->ffn_norm_b, E);
        mat(l, NAME("ffn_gate.weight"), &L->w_gate, 0);
        mat(l, NAME("ffn_up.weight"), &L->w_up, 0);
        vec(l, NAME("ffn_up.bias"), L->b_up, F);
        mat(l, NAME("ffn_down.weight"), &L->w_down, 0);
        vec(l, NAME("ffn_down.bias"), L->b_down, E);
#undef NAME
    }
    vec(l, "output_norm.weight", m->out_norm, E);
    vec(l, "output_norm.bias", m->out_norm_b, E);
    if (gpt2 || m->output.data != m->tok_embd.data) mat(l, "output.weight", &m->output, 0);
    for (size_t i = 0; i < l->n; i++) l->t[i].name = l->names[i];
}

static void kv_u32(sg_gguf_writer *w, const char *arch, const char *k, int v)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, k);
    sg_gguf_w_u32(w, key, (uint32_t)v);
}

static void kv_f32(sg_gguf_writer *w, const char *arch, const char *k, float v)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, k);
    sg_gguf_w_f32(w, key, v);
}

/* general.* and <arch>.* pairs for m. */
static void model_kv(const sg_model *m, sg_gguf_writer *w)
{
    const sg_config *c = &m->cfg;
    const char *arch = c->arch == SG_ARCH_MISTRAL ? "llama" : sg_arch_name(c->arch);
    sg_gguf_w_str(w, "general.architecture", arch);
    sg_gguf_w_str(w, "general.name", m->name ? m->name : "model");
    sg_gguf_w_u32(w, "general.alignment", SG_GGUF_DEFAULT_ALIGN);
    kv_u32(w, arch, "context_length", c->n_ctx_train);
    kv_u32(w, arch, "embedding_length", c->n_embd);
    kv_u32(w, arch, "block_count", c->n_layer);
    kv_u32(w, arch, "feed_forward_length", c->n_ff);
    kv_u32(w, arch, "attention.head_count", c->n_head);
    if (c->arch == SG_ARCH_GPT2) {
        kv_f32(w, arch, "attention.layer_norm_epsilon", c->norm_eps);
    } else {
        kv_u32(w, arch, "attention.head_count_kv", c->n_head_kv);
        kv_f32(w, arch, "attention.layer_norm_rms_epsilon", c->norm_eps);
        kv_f32(w, arch, "rope.freq_base", c->rope_theta);
        kv_u32(w, arch, "rope.dimension_count", c->rope_dim);
        kv_u32(w, arch, "attention.key_length", c->head_dim);
        kv_u32(w, arch, "attention.value_length", c->head_dim);
        if (c->sliding_window) kv_u32(w, arch, "attention.sliding_window", c->sliding_window);
        if (c->rope_scaling == SG_ROPE_SCALING_LINEAR) {
            char key[128];
            snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
            sg_gguf_w_str(w, key, "linear");
            kv_f32(w, arch, "rope.scaling.factor", c->rope_factor);
        }
    }
    kv_u32(w, arch, "vocab_size", c->n_vocab);
}

sg_status sg_quantize_hf(const char *dir, const char *out_path, const char *type, int n_threads,
                         sg_quantize_stats *stats, sg_error *err)
{
    int ftype = sg_quantize_ftype(type);
    if (ftype < 0) return sg_fail(err, SG_ERR_INVALID, "unknown quantization type '%s' (%s)", type, SG_QUANT_TYPES);
    sg_model *m = NULL;
    sg_status s = sg_model_load(dir, &m, err);
    if (s) return s;
    sg_tokenizer *tok = NULL;
    sg_gguf_writer w = {0};
    tlist l = {0};
    model_kv(m, &w);
    char *tj = sg_path_join(dir, "tokenizer.json");
    if (!tj) s = sg_fail(err, SG_ERR_NOMEM, "out of memory");
    else if (sg_path_exists(tj)) {
        if (!(s = sg_tokenizer_load(dir, &tok, err))) s = sg_tokenizer_to_gguf(tok, dir, m->cfg.n_vocab, &w, err);
    } else {
        fprintf(stderr, "stargate: warning: %s has no tokenizer.json; the GGUF carries no vocabulary\n", dir);
    }
    free(tj);
    if (!s && m->chat_template) sg_gguf_w_str(&w, "tokenizer.chat_template", m->chat_template);
    if (!s) {
        list_tensors(m, &l);
        if (l.oom) s = sg_fail(err, SG_ERR_NOMEM, "out of memory");
    }
    if (!s) s = sg_quantize_write(&w, l.t, l.n, ftype, n_threads, out_path, stats, err);
    free(l.t);
    free(l.names);
    sg_gguf_writer_free(&w);
    sg_tokenizer_free(tok);
    sg_model_free(m);
    return s;
}
