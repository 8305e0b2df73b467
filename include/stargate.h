/*
 * stargate.h -- the public API of libstargate.
 *
 * stargate is an open AI infrastructure stack in C: it loads the open-weights
 * checkpoints people download (GGUF files, Hugging Face safetensors
 * directories), runs them exactly on CPU, and (in later layers) trains,
 * serves and localizes them.
 *
 * Conventions: every name is prefixed sg_. Functions that can fail on input
 * return an sg_status and, when given a non-NULL sg_error, fill it with a
 * one-line message naming the file, field or value at fault.
 *
 * The forward pass works on a flat batch of tokens, each carrying its own
 * sequence id and position; prompt processing, single-token decoding of many
 * sequences, and (later) training micro-batches are all the same call.
 */
#ifndef STARGATE_H
#define STARGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SG_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum sg_status {
    SG_OK = 0,
    SG_ERR_IO = -1,          /* cannot open/read/map a file */
    SG_ERR_FORMAT = -2,      /* malformed file contents */
    SG_ERR_UNSUPPORTED = -3, /* well-formed but not supported (arch, dtype, version) */
    SG_ERR_NOMEM = -4,       /* allocation failed */
    SG_ERR_INVALID = -5,     /* invalid argument from the caller */
    SG_ERR_MISSING = -6,     /* a required tensor/key/file is absent */
} sg_status;

typedef struct sg_error {
    sg_status code;
    char msg[512];
} sg_error;

const char *sg_status_name(sg_status s);

/* ---------------------------------------------------------------- dtypes */

/* Element types of weights. The order is stable (it indexes the traits table). */
typedef enum sg_dtype {
    SG_F32 = 0,
    SG_F16,
    SG_BF16,
    SG_Q8_0, /* GGUF: blocks of 32, f16 scale + 32 x int8                         */
    SG_Q4_0, /* GGUF: blocks of 32, f16 scale + 16 bytes of nibbles (offset 8)    */
    SG_Q4_K, /* GGUF: super-blocks of 256, 8 sub-blocks with 6-bit scales/mins    */
    SG_Q6_K, /* GGUF: super-blocks of 256, 16 sub-blocks with int8 scales          */
    SG_DTYPE_COUNT
} sg_dtype;

const char *sg_dtype_name(sg_dtype t);

/* ---------------------------------------------------------------- models */

typedef enum sg_arch {
    SG_ARCH_LLAMA = 0, /* Llama 2/3/3.1, TinyLlama, SmolLM                 */
    SG_ARCH_QWEN2,     /* QKV bias; DeepSeek-R1-Distill-Qwen                */
    SG_ARCH_QWEN3,     /* per-head Q/K RMSNorm                              */
    SG_ARCH_MISTRAL,   /* GQA, optional sliding window                      */
    SG_ARCH_GPT2,      /* learned positions, LayerNorm, GELU, biases        */
    SG_ARCH_COUNT
} sg_arch;

const char *sg_arch_name(sg_arch a);

typedef enum sg_rope_style {
    SG_ROPE_NONE = 0,    /* no rotary embedding (GPT-2)                          */
    SG_ROPE_NEOX,        /* rotate-half: pairs (i, i + d/2); HF checkpoints       */
    SG_ROPE_INTERLEAVED, /* adjacent pairs (2i, 2i + 1); GGUF llama-arch files    */
} sg_rope_style;

typedef enum sg_rope_scaling {
    SG_ROPE_SCALING_NONE = 0,
    SG_ROPE_SCALING_LINEAR, /* positions divided by factor                      */
    SG_ROPE_SCALING_LLAMA3, /* Llama 3.1 per-frequency scaling                   */
} sg_rope_scaling;

/* Hyper-parameters of a loaded model, normalized across file formats. */
typedef struct sg_config {
    sg_arch arch;
    int n_vocab;
    int n_embd;      /* hidden size                                          */
    int n_layer;
    int n_head;      /* query heads                                          */
    int n_head_kv;   /* key/value heads (GQA when < n_head, MQA when 1)       */
    int head_dim;    /* may differ from n_embd / n_head                      */
    int n_ff;        /* feed-forward hidden size                             */
    int n_ctx_train; /* context length the model was trained with             */
    float norm_eps;  /* RMSNorm or LayerNorm epsilon                          */
    sg_rope_style rope_style;
    float rope_theta;
    int rope_dim;    /* rotated dimensions per head (== head_dim usually)     */
    sg_rope_scaling rope_scaling;
    float rope_factor;
    float rope_low_freq_factor;  /* llama3 scaling */
    float rope_high_freq_factor; /* llama3 scaling */
    int rope_orig_ctx;           /* llama3 scaling: original_max_position_embeddings */
    int sliding_window;          /* 0 = full attention                      */
    bool tied_embeddings;        /* output projection reuses token embeddings */
} sg_config;

typedef struct sg_model sg_model;

/* Summary of a model for `stargate info`. */
typedef struct sg_model_info {
    const char *format;         /* "gguf" or "safetensors"                       */
    const char *name;           /* general.name or directory name (may be "")    */
    uint64_t n_params;          /* total parameters (elements of all tensors)    */
    uint64_t params_by_dtype[SG_DTYPE_COUNT];
    uint64_t bytes;             /* bytes of weight data                          */
    const char *tokenizer;      /* e.g. "gpt2 (byte-level BPE)", "llama (SentencePiece)", "none" */
    bool has_chat_template;
} sg_model_info;

/* Load a model from a .gguf file or a Hugging Face directory (config.json +
 * model.safetensors or model.safetensors.index.json). Weights are mmap'd
 * wherever their stored dtype is used directly. */
sg_status sg_model_load(const char *path, sg_model **out, sg_error *err);
void sg_model_free(sg_model *m);
const sg_config *sg_model_config(const sg_model *m);
void sg_model_get_info(const sg_model *m, sg_model_info *info);
/* The Jinja chat template the model ships (GGUF tokenizer.chat_template, HF
 * tokenizer_config.json "chat_template" or chat_template.jinja), or NULL. */
const char *sg_model_chat_template(const sg_model *m);
/* The path the model was loaded from. */
const char *sg_model_path(const sg_model *m);

/* ------------------------------------------------------- inference context */

typedef struct sg_ctx_params {
    int n_ctx;     /* positions per sequence in the KV cache (0: min(model, 4096)) */
    int n_seq_max; /* sequences the cache can hold at once (default 1)             */
    int n_batch;   /* maximum tokens per sg_forward call (default 512)             */
    int n_threads; /* compute threads (0: number of physical cores)                */
    int n_kv_blocks; /* KV cache blocks of 16 positions shared by all sequences
                      * (0: enough for every sequence at full length)           */
} sg_ctx_params;

sg_ctx_params sg_ctx_default_params(void);

typedef struct sg_ctx sg_ctx;

sg_status sg_ctx_new(sg_model *m, const sg_ctx_params *p, sg_ctx **out, sg_error *err);
void sg_ctx_free(sg_ctx *c);
int sg_ctx_n_ctx(const sg_ctx *c);
int sg_ctx_n_batch(const sg_ctx *c);

/* A flat batch of tokens. Token i belongs to sequence seq[i] at position
 * pos[i]; positions of one sequence must continue its cache contiguously
 * (pos <= current length of that sequence). When want_logits is NULL only the
 * last token produces logits; otherwise token i produces logits iff
 * want_logits[i] != 0. */
typedef struct sg_batch {
    int n_tokens;
    const int32_t *token;
    const int32_t *pos;
    const int32_t *seq;
    const int8_t *want_logits;
} sg_batch;

sg_status sg_forward(sg_ctx *c, const sg_batch *b, sg_error *err);

/* Logits of the i-th token that asked for them in the last sg_forward call,
 * n_vocab floats; NULL when out of range. */
const float *sg_ctx_logits(const sg_ctx *c, int i);
int sg_ctx_n_logits(const sg_ctx *c);

/* Forget cached positions >= pos of sequence seq (seq < 0: every sequence). */
void sg_kv_truncate(sg_ctx *c, int seq, int pos);
/* Number of cached positions of a sequence. */
int sg_kv_len(const sg_ctx *c, int seq);
/* Start sequence dst with the first n_pos cached positions of src, sharing
 * the cache blocks (copy-on-write): a common prompt prefix is computed once. */
sg_status sg_kv_share(sg_ctx *c, int src, int dst, int n_pos, sg_error *err);
/* KV cache blocks in use and in total. */
void sg_kv_usage(const sg_ctx *c, int *used_blocks, int *total_blocks);

#ifdef __cplusplus
}
#endif
#endif /* STARGATE_H */
