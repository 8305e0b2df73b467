/*
 * load.c -- bind a GGUF file or a Hugging Face directory to an sg_model.
 *
 * Tensors are looked up by role (attention Q weight of layer 3, ...) through
 * a per-format name table, their shapes are checked against the config, and
 * they are bound in place when the stored dtype is one the kernels consume.
 * Conversions at load time are limited to small 1-D tensors (norms, biases,
 * stored as f16/bf16) and GPT-2's transposed Conv1D matrices in HF files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/f16.h"
#include "model/model.h"

/* A tensor found in either format, in row-major terms: rows x cols (1-D: rows = 1). */
typedef struct found_tensor {
    const char *name;
    int dtype; /* sg_dtype or -1 */
    const char *dtype_name;
    int n_dims;
    int64_t rows, cols;
    const void *data;
} found_tensor;

static void *own(sg_model *m, void *p)
{
    if (m->n_owned == m->cap_owned) {
        m->cap_owned = m->cap_owned ? 2 * m->cap_owned : 64;
        void **n = realloc(m->owned, (size_t)m->cap_owned * sizeof *n);
        if (!n) {
            free(p);
            return NULL;
        }
        m->owned = n;
    }
    m->owned[m->n_owned++] = p;
    return p;
}

static bool find_tensor(const sg_model *m, const char *name, found_tensor *ft)
{
    memset(ft, 0, sizeof *ft);
    if (m->format == SG_FORMAT_GGUF) {
        const sg_gguf_tensor *t = sg_gguf_find_tensor(&m->gguf, name);
        if (!t) return false;
        ft->name = t->name;
        ft->dtype = t->dtype;
        ft->dtype_name = sg_ggml_type_name(t->ggml_type);
        ft->n_dims = (int)t->n_dims;
        ft->cols = (int64_t)t->ne[0];
        ft->rows = (int64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        ft->data = t->data;
        return true;
    }
    const sg_st_tensor *t = sg_safetensors_find(&m->st, name);
    if (!t) {
        /* GPT-2 checkpoints exist with and without the "transformer." prefix */
        char alt[256];
        snprintf(alt, sizeof alt, "transformer.%s", name);
        t = sg_safetensors_find(&m->st, alt);
        if (!t) return false;
    }
    ft->name = t->name;
    ft->dtype = t->dtype;
    ft->dtype_name = t->dtype_str;
    ft->n_dims = t->n_dims;
    if (t->n_dims == 1) {
        ft->rows = 1;
        ft->cols = t->shape[0];
    } else {
        ft->cols = t->shape[t->n_dims - 1];
        ft->rows = 1;
        for (int i = 0; i < t->n_dims - 1; i++) ft->rows *= t->shape[i];
    }
    ft->data = t->data;
    return true;
}

static void count_params(sg_model *m, const found_tensor *ft)
{
    uint64_t n = (uint64_t)ft->rows * (uint64_t)ft->cols;
    m->n_params += n;
    if (ft->dtype >= 0) {
        m->params_by_dtype[ft->dtype] += n;
        m->weight_bytes += sg_dtype_row_bytes((sg_dtype)ft->dtype, ft->cols) * (uint64_t)ft->rows;
    }
}

static const char *model_path(const sg_model *m)
{
    return m->path;
}

/* Bind a matrix of shape [rows, cols]; `required` false allows absence. */
static sg_status bind_matrix(sg_model *m, const char *name, int64_t rows, int64_t cols, bool required, sg_weight *w,
                             sg_error *err)
{
    memset(w, 0, sizeof *w);
    found_tensor ft;
    if (!find_tensor(m, name, &ft)) {
        if (!required) return SG_OK;
        return sg_fail(err, SG_ERR_MISSING, "%s: missing tensor '%s'", model_path(m), name);
    }
    if (ft.n_dims != 2 || ft.rows != rows || ft.cols != cols)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has shape [%lld, %lld] (%d dims), expected [%lld, %lld]",
                       model_path(m), name, (long long)ft.rows, (long long)ft.cols, ft.n_dims, (long long)rows,
                       (long long)cols);
    if (ft.dtype < 0)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype %s", model_path(m), name,
                       ft.dtype_name);
    count_params(m, &ft);
    w->dtype = (sg_dtype)ft.dtype;
    w->rows = rows;
    w->cols = cols;
    w->data = ft.data;
    return SG_OK;
}

/* Bind a matrix stored transposed ([cols, rows] on disk), as GPT-2's HF
 * Conv1D weights are: copy it once into row-major [rows, cols]. */
static sg_status bind_matrix_transposed(sg_model *m, const char *name, int64_t rows, int64_t cols, sg_weight *w,
                                        sg_error *err)
{
    sg_weight t;
    sg_status s = bind_matrix(m, name, cols, rows, true, &t, err);
    if (s) return s;
    if (t.dtype != SG_F32 && t.dtype != SG_F16 && t.dtype != SG_BF16)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tensor '%s': transposed weights must be f32/f16/bf16", model_path(m), name);
    size_t es = t.dtype == SG_F32 ? 4 : 2;
    uint8_t *dst = malloc((size_t)rows * (size_t)cols * es);
    if (!dst || !own(m, dst)) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory transposing '%s'", model_path(m), name);
    const uint8_t *src = t.data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) memcpy(dst + ((size_t)r * (size_t)cols + (size_t)c) * es, src + ((size_t)c * (size_t)rows + (size_t)r) * es, es);
    *w = t;
    w->rows = rows;
    w->cols = cols;
    w->data = dst;
    return SG_OK;
}

/* Bind a vector of n floats (converted to f32 when stored as f16/bf16). */
static sg_status bind_vector(sg_model *m, const char *name, int64_t n, bool required, const float **out, sg_error *err)
{
    *out = NULL;
    found_tensor ft;
    if (!find_tensor(m, name, &ft)) {
        if (!required) return SG_OK;
        return sg_fail(err, SG_ERR_MISSING, "%s: missing tensor '%s'", model_path(m), name);
    }
    if (ft.rows * ft.cols != n || ft.n_dims != 1)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has %lld elements in %d dims, expected a vector of %lld",
                       model_path(m), name, (long long)(ft.rows * ft.cols), ft.n_dims, (long long)n);
    if (ft.dtype != SG_F32 && ft.dtype != SG_F16 && ft.dtype != SG_BF16)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype %s for a vector", model_path(m),
                       name, ft.dtype_name);
    count_params(m, &ft);
    if (ft.dtype == SG_F32 && ((uintptr_t)ft.data % 4) == 0) {
        *out = ft.data;
        return SG_OK;
    }
    float *v = malloc((size_t)n * sizeof(float));
    if (!v || !own(m, v)) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", model_path(m));
    const uint8_t *p = ft.data;
    for (int64_t i = 0; i < n; i++) {
        if (ft.dtype == SG_F32) memcpy(&v[i], p + 4 * i, 4);
        else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            v[i] = ft.dtype == SG_F16 ? sg_f16_to_f32(h) : sg_bf16_to_f32(h);
        }
    }
    *out = v;
    return SG_OK;
}

/* ------------------------------------------------------------ name tables */

/* Tensor roles and their names in each format: prefix + layer + suffix. */
typedef enum {
    R_ATTN_NORM, R_ATTN_NORM_B, R_WQ, R_BQ, R_WK, R_BK, R_WV, R_BV, R_WO, R_BO, R_WQKV, R_BQKV,
    R_Q_NORM, R_K_NORM, R_FFN_NORM, R_FFN_NORM_B, R_GATE, R_UP, R_B_UP, R_DOWN, R_B_DOWN, R_COUNT
} role;

static const char *const gguf_names[R_COUNT] = {
    ".attn_norm.weight", ".attn_norm.bias", ".attn_q.weight", ".attn_q.bias",
    ".attn_k.weight", ".attn_k.bias", ".attn_v.weight", ".attn_v.bias",
    ".attn_output.weight", ".attn_output.bias", ".attn_qkv.weight", ".attn_qkv.bias",
    ".attn_q_norm.weight", ".attn_k_norm.weight", ".ffn_norm.weight", ".ffn_norm.bias",
    ".ffn_gate.weight", ".ffn_up.weight", ".ffn_up.bias", ".ffn_down.weight",
    ".ffn_down.bias",
};

static const char *const hf_names[R_COUNT] = {
    ".input_layernorm.weight", NULL,
    ".self_attn.q_proj.weight", ".self_attn.q_proj.bias",
    ".self_attn.k_proj.weight", ".self_attn.k_proj.bias",
    ".self_attn.v_proj.weight", ".self_attn.v_proj.bias",
    ".self_attn.o_proj.weight", ".self_attn.o_proj.bias", NULL, NULL,
    ".self_attn.q_norm.weight", ".self_attn.k_norm.weight",
    ".post_attention_layernorm.weight", NULL,
    ".mlp.gate_proj.weight", ".mlp.up_proj.weight", NULL,
    ".mlp.down_proj.weight", NULL,
};

static const char *const hf_gpt2_names[R_COUNT] = {
    ".ln_1.weight", ".ln_1.bias", NULL, NULL, NULL, NULL, NULL, NULL,
    ".attn.c_proj.weight", ".attn.c_proj.bias", ".attn.c_attn.weight", ".attn.c_attn.bias",
    NULL, NULL, ".ln_2.weight", ".ln_2.bias", NULL, ".mlp.c_fc.weight", ".mlp.c_fc.bias",
    ".mlp.c_proj.weight", ".mlp.c_proj.bias",
};

static const char *role_name(const sg_model *m, role r, int layer, char *buf, size_t n)
{
    bool gguf = m->format == SG_FORMAT_GGUF, gpt2 = m->cfg.arch == SG_ARCH_GPT2;
    const char *suffix = gguf ? gguf_names[r] : gpt2 ? hf_gpt2_names[r] : hf_names[r];
    const char *prefix = gguf ? "blk." : gpt2 ? "h." : "model.layers.";
    if (!suffix) return NULL;
    snprintf(buf, n, "%s%d%s", prefix, layer, suffix);
    return buf;
}

static sg_status layer_vec(sg_model *m, role r, int l, int64_t n, bool req, const float **out, sg_error *err)
{
    char nm[160];
    const char *name = role_name(m, r, l, nm, sizeof nm);
    if (!name) {
        *out = NULL;
        return SG_OK;
    }
    return bind_vector(m, name, n, req, out, err);
}

static sg_status layer_mat(sg_model *m, role r, int l, int64_t rows, int64_t cols, bool req, sg_weight *w,
                           sg_error *err)
{
    char nm[160];
    const char *name = role_name(m, r, l, nm, sizeof nm);
    memset(w, 0, sizeof *w);
    if (!name) return SG_OK;
    /* GPT-2 HF Conv1D weights are stored [in, out] */
    if (m->format == SG_FORMAT_SAFETENSORS && m->cfg.arch == SG_ARCH_GPT2)
        return bind_matrix_transposed(m, name, rows, cols, w, err);
    return bind_matrix(m, name, rows, cols, req, w, err);
}

static sg_status bind_layers(sg_model *m, sg_error *err)
{
    const sg_config *c = &m->cfg;
    int64_t E = c->n_embd, Q = (int64_t)c->n_head * c->head_dim, KV = (int64_t)c->n_head_kv * c->head_dim, F = c->n_ff;
    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    if (!m->layers) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", m->path);
    bool gpt2 = c->arch == SG_ARCH_GPT2;
    sg_status s;
    for (int l = 0; l < c->n_layer; l++) {
        sg_layer *L = &m->layers[l];
        if ((s = layer_vec(m, R_ATTN_NORM, l, E, true, &L->attn_norm, err))) return s;
        if ((s = layer_vec(m, R_ATTN_NORM_B, l, E, gpt2, &L->attn_norm_b, err))) return s;
        if ((s = layer_vec(m, R_FFN_NORM, l, E, true, &L->ffn_norm, err))) return s;
        if ((s = layer_vec(m, R_FFN_NORM_B, l, E, gpt2, &L->ffn_norm_b, err))) return s;
        if ((s = layer_mat(m, R_WO, l, E, Q, true, &L->wo, err))) return s;
        if ((s = layer_vec(m, R_BO, l, E, false, &L->bo, err))) return s;
        if ((s = layer_mat(m, R_UP, l, F, E, true, &L->w_up, err))) return s;
        if ((s = layer_mat(m, R_DOWN, l, E, F, true, &L->w_down, err))) return s;
        if (gpt2) {
            if ((s = layer_mat(m, R_WQKV, l, 3 * E, E, true, &L->wqkv, err))) return s;
            if ((s = layer_vec(m, R_BQKV, l, 3 * E, true, &L->bqkv, err))) return s;
            if ((s = layer_vec(m, R_B_UP, l, F, true, &L->b_up, err))) return s;
            if ((s = layer_vec(m, R_B_DOWN, l, E, true, &L->b_down, err))) return s;
            continue;
        }
        if ((s = layer_mat(m, R_WQ, l, Q, E, true, &L->wq, err))) return s;
        if ((s = layer_mat(m, R_WK, l, KV, E, true, &L->wk, err))) return s;
        if ((s = layer_mat(m, R_WV, l, KV, E, true, &L->wv, err))) return s;
        if ((s = layer_vec(m, R_BQ, l, Q, false, &L->bq, err))) return s;
        if ((s = layer_vec(m, R_BK, l, KV, false, &L->bk, err))) return s;
        if ((s = layer_vec(m, R_BV, l, KV, false, &L->bv, err))) return s;
        if ((s = layer_mat(m, R_GATE, l, F, E, true, &L->w_gate, err))) return s;
        bool qk_norm = c->arch == SG_ARCH_QWEN3;
        if ((s = layer_vec(m, R_Q_NORM, l, c->head_dim, qk_norm, &L->q_norm, err))) return s;
        if ((s = layer_vec(m, R_K_NORM, l, c->head_dim, qk_norm, &L->k_norm, err))) return s;
    }
    return SG_OK;
}

static sg_status bind_globals(sg_model *m, sg_error *err)
{
    const sg_config *c = &m->cfg;
    bool gguf = m->format == SG_FORMAT_GGUF, gpt2 = c->arch == SG_ARCH_GPT2;
    const char *n_emb = gguf ? "token_embd.weight" : gpt2 ? "wte.weight" : "model.embed_tokens.weight";
    const char *n_pos = gguf ? "position_embd.weight" : "wpe.weight";
    const char *n_norm = gguf ? "output_norm.weight" : gpt2 ? "ln_f.weight" : "model.norm.weight";
    const char *n_norm_b = gguf ? "output_norm.bias" : "ln_f.bias";
    const char *n_out = gguf ? "output.weight" : "lm_head.weight";
    sg_status s;
    if ((s = bind_matrix(m, n_emb, c->n_vocab, c->n_embd, true, &m->tok_embd, err))) return s;
    if ((s = bind_vector(m, n_norm, c->n_embd, true, &m->out_norm, err))) return s;
    if (gpt2) {
        if ((s = bind_matrix(m, n_pos, c->n_ctx_train, c->n_embd, true, &m->pos_embd, err))) return s;
        if ((s = bind_vector(m, n_norm_b, c->n_embd, true, &m->out_norm_b, err))) return s;
    }
    /* An untied model must have its output matrix; a tied one may still ship a
     * copy (llama.cpp writes GPT-2's), which we then use. */
    if ((s = bind_matrix(m, n_out, c->n_vocab, c->n_embd, !c->tied_embeddings, &m->output, err))) return s;
    if (!m->output.data) m->output = m->tok_embd;

    /* RoPE frequency factors: GGUF carries Llama 3.1's as a tensor; HF as config. */
    if (c->rope_style != SG_ROPE_NONE) {
        int half = c->rope_dim / 2;
        const float *ff = NULL;
        if (gguf && (s = bind_vector(m, "rope_freqs.weight", half, false, &ff, err))) return s;
        if (ff || c->rope_scaling == SG_ROPE_SCALING_LLAMA3) {
            float *f = malloc((size_t)half * sizeof(float));
            if (!f || !own(m, f)) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", m->path);
            if (ff) memcpy(f, ff, (size_t)half * sizeof(float));
            else sg_rope_llama3_factors(c, f);
            for (int i = 0; i < half; i++)
                if (!(f[i] > 0))
                    return sg_fail(err, SG_ERR_FORMAT, "%s: rope frequency factor %d is not positive", m->path, i);
            m->rope_freq_factors = f;
        }
    }
    return SG_OK;
}

/* ----------------------------------------------------------- entry points */

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static sg_status open_gguf(sg_model *m, const char *path, sg_error *err)
{
    m->format = SG_FORMAT_GGUF;
    sg_status s = sg_gguf_open(&m->gguf, path, err);
    if (s) return s;
    if ((s = sg_config_from_gguf(&m->gguf, &m->cfg, err))) return s;
    sg_gguf_str str;
    if (sg_gguf_get_str(&m->gguf, "general.name", &str, NULL) == SG_OK) m->name = dup_range(str.ptr, (size_t)str.len);
    if (sg_gguf_get_str(&m->gguf, "tokenizer.ggml.model", &str, NULL) == SG_OK) {
        char kind[96];
        const char *what = (str.len == 5 && !memcmp(str.ptr, "llama", 5))  ? "SentencePiece"
                           : (str.len == 4 && !memcmp(str.ptr, "gpt2", 4)) ? "byte-level BPE"
                                                                           : "other";
        snprintf(kind, sizeof kind, "%s (%.*s)", what, (int)(str.len > 32 ? 32 : str.len), str.ptr);
        m->tokenizer_kind = strdup(kind);
    }
    if (sg_gguf_get_str(&m->gguf, "tokenizer.chat_template", &str, NULL) == SG_OK)
        m->chat_template = dup_range(str.ptr, (size_t)str.len);
    return SG_OK;
}

static void hf_tokenizer_info(sg_model *m, const char *dir)
{
    char *p = sg_path_join(dir, "tokenizer.json");
    char *txt = NULL;
    if (sg_file_read_all(p, &txt, NULL, NULL) == SG_OK) {
        cJSON *root = cJSON_Parse(txt);
        const cJSON *model = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;
        const cJSON *type = model ? cJSON_GetObjectItemCaseSensitive(model, "type") : NULL;
        char kind[96];
        snprintf(kind, sizeof kind, "tokenizer.json (%.48s)", cJSON_IsString(type) ? type->valuestring : "unknown");
        m->tokenizer_kind = strdup(kind);
        cJSON_Delete(root);
    }
    free(txt);
    free(p);
    p = sg_path_join(dir, "tokenizer_config.json");
    if (sg_file_read_all(p, &txt, NULL, NULL) == SG_OK) {
        cJSON *root = cJSON_Parse(txt);
        const cJSON *t = root ? cJSON_GetObjectItemCaseSensitive(root, "chat_template") : NULL;
        if (cJSON_IsString(t)) m->chat_template = strdup(t->valuestring);
        /* newer files ship a list of named templates: take "default" */
        const cJSON *e;
        if (cJSON_IsArray(t)) cJSON_ArrayForEach(e, t) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
            const cJSON *tt = cJSON_GetObjectItemCaseSensitive(e, "template");
            if (cJSON_IsString(nm) && cJSON_IsString(tt) && !strcmp(nm->valuestring, "default") && !m->chat_template)
                m->chat_template = strdup(tt->valuestring);
        }
        cJSON_Delete(root);
    }
    free(txt);
    free(p);
    p = sg_path_join(dir, "chat_template.jinja");
    if (!m->chat_template && sg_file_read_all(p, &txt, NULL, NULL) == SG_OK) m->chat_template = txt;
    free(p);
}

static sg_status open_hf(sg_model *m, const char *dir, sg_error *err)
{
    m->format = SG_FORMAT_SAFETENSORS;
    char *cfg_path = sg_path_join(dir, "config.json");
    char *json = NULL;
    sg_status s = sg_file_read_all(cfg_path, &json, NULL, err);
    if (s == SG_OK) s = sg_config_from_hf_json(json, cfg_path, &m->cfg, err);
    free(json);
    free(cfg_path);
    if (s) return s;
    if ((s = sg_safetensors_open_dir(&m->st, dir, err))) return s;
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    m->name = strdup(base);
    hf_tokenizer_info(m, dir);
    return SG_OK;
}

sg_status sg_model_load(const char *path, sg_model **out, sg_error *err)
{
    *out = NULL;
    sg_model *m = calloc(1, sizeof *m);
    if (!m) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    m->path = strdup(path);
    sg_status s;
    if (sg_path_is_dir(path)) s = open_hf(m, path, err);
    else if (!sg_path_exists(path)) s = sg_fail(err, SG_ERR_IO, "%s: no such file or directory", path);
    else s = open_gguf(m, path, err);
    if (s == SG_OK) s = bind_globals(m, err);
    if (s == SG_OK) s = bind_layers(m, err);
    if (s != SG_OK) {
        sg_model_free(m);
        return s;
    }
    *out = m;
    return SG_OK;
}

void sg_model_free(sg_model *m)
{
    if (!m) return;
    if (m->format == SG_FORMAT_GGUF) sg_gguf_close(&m->gguf);
    if (m->format == SG_FORMAT_SAFETENSORS) sg_safetensors_close(&m->st);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m->path);
    free(m->name);
    free(m->tokenizer_kind);
    free(m->chat_template);
    free(m);
}

const sg_config *sg_model_config(const sg_model *m)
{
    return &m->cfg;
}

const char *sg_model_chat_template(const sg_model *m)
{
    return m->chat_template;
}

const char *sg_model_path(const sg_model *m)
{
    return m->path;
}

void sg_model_get_info(const sg_model *m, sg_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->format = m->format == SG_FORMAT_GGUF ? "gguf" : "safetensors";
    info->name = m->name ? m->name : "";
    info->n_params = m->n_params;
    memcpy(info->params_by_dtype, m->params_by_dtype, sizeof info->params_by_dtype);
    info->bytes = m->weight_bytes;
    info->tokenizer = m->tokenizer_kind ? m->tokenizer_kind : "none";
    info->has_chat_template = m->chat_template != NULL;
}
