/*
 * model.h -- the in-memory model: normalized config plus named weights.
 *
 * Whatever the file format, a loaded model is the same struct: a config in
 * one vocabulary (sg_config) and, per layer, the weight matrices and vectors
 * the forward pass needs. Matrices keep their stored dtype and point into the
 * file mapping; 1-D tensors (norms, biases) are float32, converted once at
 * load time when stored otherwise. Tensors that need reshaping (GPT-2's HF
 * Conv1D weights are stored transposed) are the only copies.
 */
#ifndef SG_MODEL_MODEL_H
#define SG_MODEL_MODEL_H

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "tensor/matmul.h"

typedef struct sg_layer {
    const float *attn_norm, *attn_norm_b; /* [n_embd]                          */
    sg_weight wq, wk, wv, wo;             /* [n_head*hd, n_embd], [n_kv*hd, n_embd] x2, [n_embd, n_head*hd] */
    sg_weight wqkv;                       /* GPT-2 fused [3*n_embd, n_embd] (data NULL otherwise) */
    const float *bq, *bk, *bv, *bo, *bqkv;/* optional biases                     */
    const float *q_norm, *k_norm;         /* qwen3: [head_dim]                   */
    const float *ffn_norm, *ffn_norm_b;   /* [n_embd]                            */
    sg_weight w_gate, w_up, w_down;       /* [n_ff, n_embd] x2, [n_embd, n_ff]   */
    const float *b_up, *b_down;           /* GPT-2                               */
} sg_layer;

enum { SG_FORMAT_GGUF = 1, SG_FORMAT_SAFETENSORS = 2 };

struct sg_model {
    sg_config cfg;
    int format;
    char *path;
    char *name;
    char *tokenizer_kind;
    char *chat_template; /* NULL when the model ships none */

    sg_gguf gguf;
    sg_safetensors st;

    sg_weight tok_embd; /* [n_vocab, n_embd]            */
    sg_weight pos_embd; /* GPT-2: [n_ctx_train, n_embd] */
    sg_weight output;   /* [n_vocab, n_embd]            */
    const float *out_norm, *out_norm_b;
    float *rope_freq_factors; /* [rope_dim/2]: inv_freq is divided by these (llama3), or NULL */
    sg_layer *layers;

    uint64_t n_params;
    uint64_t params_by_dtype[SG_DTYPE_COUNT];
    uint64_t weight_bytes;

    void **owned; /* buffers converted or transposed at load time */
    int n_owned, cap_owned;
};

/* Fill cfg from a GGUF's metadata. */
sg_status sg_config_from_gguf(const sg_gguf *g, sg_config *cfg, sg_error *err);
/* Fill cfg from a Hugging Face config.json text; `path` names it in errors. */
sg_status sg_config_from_hf_json(const char *json, const char *path, sg_config *cfg, sg_error *err);
/* Check the config for impossible values (shared by both formats). */
sg_status sg_config_validate(const sg_config *cfg, const char *path, sg_error *err);

/* Inverse frequency of pair i (0 <= i < rope_dim/2), in double, before scaling. */
double sg_rope_inv_freq(const sg_config *cfg, int i);
/* Llama 3.1 per-frequency factors computed from the config (HF rule). */
void sg_rope_llama3_factors(const sg_config *cfg, float *factors);

#endif
