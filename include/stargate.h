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
    bool batch_invariant; /* every token's numbers independent of the batch it is
                           * in (same kernels for any batch size); a server sets
                           * this so batching never changes results            */
    bool q8_activations; /* quantize activations to 8 bits for quantized weights (faster, approximate, as llama.cpp); default false: exact FP32 */
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

/* ---------------------------------------------------------------- sampling */

/* Turning logits into the next token (src/infer/sampler.c). The chain runs in
 * llama.cpp's default order:
 *
 *   penalties -> logit bias -> top-k -> top-p -> min-p -> temperature -> draw
 *
 * top-p and min-p see the temperature-1 distribution of the survivors of the
 * steps before them; temperature only reshapes the final survivors.
 * temperature <= 0 is greedy (argmax, lowest id on ties). The draw uses the
 * sampler's own xoshiro256** generator, so one seed and one logits vector give
 * the same token on every platform. sg_sampler_sample allocates nothing. */

#define SG_SAMPLER_SEED_RANDOM UINT64_MAX /* seed from the clock and /dev/urandom */
#define SG_MAX_LOGPROBS 20                /* most alternatives reported per token */

/* One logit bias: added to token's logit after the penalties. A bias of
 * -100 or less (OpenAI's "ban") or -INFINITY removes the token. */
typedef struct sg_logit_bias {
    int32_t token;
    float bias;
} sg_logit_bias;

typedef struct sg_sampler_params {
    uint64_t seed;           /* PRNG seed; SG_SAMPLER_SEED_RANDOM (default) picks one  */
    float temperature;       /* <= 0: greedy (default 0.8)                              */
    int top_k;               /* <= 0: off (default 40)                                  */
    float top_p;             /* >= 1: off (default 0.95)                                */
    float min_p;             /* <= 0: off (default 0.05), relative to the top token     */
    int min_keep;            /* truncation keeps at least this many tokens (default 1)  */
    int penalty_last_n;      /* window of accepted tokens the penalties see (default 64;
                                0: penalties off; -1: every accepted token)            */
    float repeat_penalty;    /* llama.cpp/HF: logit > 0 ? l / r : l * r (1: off)        */
    float frequency_penalty; /* OpenAI: l -= count * f (0: off)                          */
    float presence_penalty;  /* OpenAI: l -= (count > 0) * p (0: off)                    */
    const sg_logit_bias *logit_bias; /* copied by sg_sampler_new                        */
    int n_logit_bias;
    int n_logprobs;          /* alternatives to report in sg_sample_info (0..20)         */
} sg_sampler_params;

/* What sg_sampler_sample reports about its choice. Log-probabilities are the
 * log-softmax of the ORIGINAL logits (the model's distribution, as OpenAI's
 * API reports it), before penalties, bias, truncation and temperature. */
typedef struct sg_sample_info {
    int32_t token;
    float logprob;
    int n_top;                               /* = params.n_logprobs            */
    int32_t top_token[SG_MAX_LOGPROBS];      /* best first (lowest id on ties) */
    float top_logprob[SG_MAX_LOGPROBS];
} sg_sample_info;

typedef struct sg_sampler sg_sampler;

sg_sampler_params sg_sampler_default_params(void);
/* NULL when the parameters are invalid (n_vocab < 1, bias token out of range,
 * NaN values, n_logprobs outside 0..20) or memory runs out. */
sg_sampler *sg_sampler_new(const sg_sampler_params *p, int n_vocab);
/* Pick the next token from n_vocab logits; fills *info when non-NULL.
 * Returns -1 when no token is possible (every logit -inf or NaN). Does not
 * record the token: call sg_sampler_accept with the token actually used. */
int32_t sg_sampler_sample(sg_sampler *s, const float *logits, sg_sample_info *info);
/* Record a token in the penalty window (prompt tokens too, if they should
 * count; ids outside the vocabulary are ignored). */
void sg_sampler_accept(sg_sampler *s, int32_t token);
/* Forget the penalty window and reseed the generator with the original seed. */
void sg_sampler_reset(sg_sampler *s);
void sg_sampler_free(sg_sampler *s);

/* Streaming stop strings (src/infer/stop.c). Feed detokenized text pieces;
 * each call gives back the text that is safe to show now and holds back any
 * suffix that could still become a stop string. The first stop string to
 * complete in the stream ends it (earliest end, then earliest start: the
 * result does not depend on how the text is cut into pieces); the text before
 * it is returned and the stop string itself never is. Returned pointers stay
 * valid until the next call on the matcher. */
typedef struct sg_stop sg_stop;

/* NULL on out of memory; empty strings in stops are ignored. */
sg_stop *sg_stop_new(const char *const *stops, int n_stops);
/* Returns true when a stop string completed (now or earlier); *out, *out_len
 * is the text to emit. After a stop, every call emits nothing. */
bool sg_stop_push(sg_stop *s, const char *piece, size_t len, const char **out, size_t *out_len);
/* End of generation: the held-back text (nothing after a stop). */
void sg_stop_flush(sg_stop *s, const char **out, size_t *out_len);
/* Index of the stop string that matched (in the array given to sg_stop_new), or -1. */
int sg_stop_which(const sg_stop *s);
void sg_stop_reset(sg_stop *s);
void sg_stop_free(sg_stop *s);

/* The generation loop (src/infer/generate.c), tokenizer-agnostic: prefill the
 * prompt in chunks of the context's n_batch, then sample / call back / decode
 * one token at a time on one sequence. */
typedef enum sg_finish {
    SG_FINISH_ERROR = 0,  /* sg_forward failed; see the error                   */
    SG_FINISH_CALLBACK,   /* on_token asked to stop (e.g. a stop string)         */
    SG_FINISH_EOG,        /* an end-of-generation token was sampled               */
    SG_FINISH_LENGTH,     /* max_tokens generated                                 */
    SG_FINISH_CONTEXT,    /* the sequence filled the context                      */
} sg_finish;

/* Called with each generated token (not with end-of-generation tokens) and,
 * when asked for, its log-probabilities; return false to stop. */
typedef bool (*sg_on_token)(void *ud, int32_t token, const sg_sample_info *info);

typedef struct sg_generate_params {
    int seq;               /* sequence id (default 0)                                */
    int max_tokens;        /* <= 0: no limit but the context (default 0)             */
    const int32_t *eog;    /* end-of-generation token ids (may be NULL)              */
    int n_eog;
    bool want_logprobs;    /* pass sg_sample_info to on_token (else NULL)            */
    bool accept_prompt;    /* feed prompt tokens to the penalty window (default false) */
} sg_generate_params;

sg_generate_params sg_generate_default_params(void);

/* Generate on sequence p->seq, continuing its cached positions with the
 * n_prompt >= 1 prompt tokens. Each sampled token goes to the sampler's
 * penalty window. *n_generated (may be NULL) counts tokens passed to on_token.
 * Returns why generation ended; SG_FINISH_ERROR fills err. */
sg_finish sg_generate(sg_ctx *c, sg_sampler *s, const int32_t *prompt, int n_prompt, const sg_generate_params *p,
                      sg_on_token on_token, void *ud, int *n_generated, sg_error *err);
const char *sg_finish_name(sg_finish f);

/* --------------------------------------------------------------- tokenizer */

/* Text <-> token ids for every major open-weights vocabulary family
 * (src/tokenizer/): byte-level BPE (GPT-2, Llama 3, Qwen2, DeepSeek, Falcon,
 * MPT, StarCoder, ...) and SentencePiece BPE with byte fallback (Llama 2,
 * Mistral v1, Phi-3), loaded from GGUF metadata (tokenizer.ggml.*) or a
 * Hugging Face tokenizer.json. A tokenizer is immutable once loaded: one may
 * serve many threads. Invalid UTF-8 input is encoded losslessly as byte
 * tokens; decoding gives back the exact bytes. */

typedef struct sg_tokenizer sg_tokenizer;

/* Token types, as GGUF tokenizer.ggml.token_type numbers them. */
typedef enum sg_token_type {
    SG_TOKEN_NORMAL = 1,
    SG_TOKEN_UNKNOWN = 2,
    SG_TOKEN_CONTROL = 3,      /* <s>, <|im_end|>: matched in text only with SG_TOKENIZE_PARSE_SPECIAL */
    SG_TOKEN_USER_DEFINED = 4, /* added tokens: always matched before pre-tokenization */
    SG_TOKEN_UNUSED = 5,
    SG_TOKEN_BYTE = 6,         /* SentencePiece <0xXX> byte fallback */
} sg_token_type;

/* sg_tokenize flags. */
#define SG_TOKENIZE_ADD_SPECIAL 1u   /* add BOS (and EOS) where the vocabulary's metadata says so   */
#define SG_TOKENIZE_PARSE_SPECIAL 2u /* control tokens written in the text become their ids; without
                                      * it they are plain text (untrusted user content)             */
/* sg_detokenize / sg_detok_stream flags. */
#define SG_DETOK_SPECIAL 1u          /* render control tokens as their text (default: omit them)    */

/* Load a tokenizer from a .gguf (model or vocabulary only), a Hugging Face
 * model directory (tokenizer.json + tokenizer_config.json) or a
 * tokenizer.json file. */
sg_status sg_tokenizer_load(const char *path, sg_tokenizer **out, sg_error *err);
/* The tokenizer of a loaded model (GGUF metadata or the HF directory's files). */
sg_status sg_tokenizer_from_model(const sg_model *m, sg_tokenizer **out, sg_error *err);
void sg_tokenizer_free(sg_tokenizer *t);

int sg_tokenizer_n_vocab(const sg_tokenizer *t);
/* e.g. "byte-level BPE (pre: llama-bpe)", "SentencePiece BPE". */
const char *sg_tokenizer_kind(const sg_tokenizer *t);
int32_t sg_token_bos(const sg_tokenizer *t); /* -1 when the vocabulary has none */
int32_t sg_token_eos(const sg_tokenizer *t); /* -1 when the vocabulary has none */
/* Whether SG_TOKENIZE_ADD_SPECIAL adds BOS / EOS for this vocabulary. */
bool sg_tokenizer_adds_bos(const sg_tokenizer *t);
bool sg_tokenizer_adds_eos(const sg_tokenizer *t);
/* End of generation: EOS, EOT, EOM and the chat-turn enders the vocabulary
 * has (<|eot_id|>, <|im_end|>, <|end|>, <|end_of_text|>, <end_of_turn>, ...). */
bool sg_token_is_eog(const sg_tokenizer *t, int32_t id);
sg_token_type sg_token_get_type(const sg_tokenizer *t, int32_t id); /* 0 when out of range */
/* The token's text as the vocabulary stores it (NUL-terminated; "" when out of
 * range). bos_token/eos_token of a chat template are sg_token_text(t, bos). */
const char *sg_token_text(const sg_tokenizer *t, int32_t id, size_t *len);
/* The bytes the token decodes to (control tokens: their text); may be any
 * bytes, not necessarily complete UTF-8. NULL when out of range. */
const char *sg_token_piece(const sg_tokenizer *t, int32_t id, size_t *len);

/* Encode text[0..len) into a new array *ids (free() it) of *n ids. */
sg_status sg_tokenize(const sg_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                      size_t *n, sg_error *err);
/* Decode ids into a new NUL-terminated string *text (free() it) of *len bytes.
 * SentencePiece's leading dummy-prefix space is removed. Exact bytes: the
 * inverse of sg_tokenize on any input (invalid UTF-8 included). */
sg_status sg_detokenize(const sg_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text,
                        size_t *len, sg_error *err);

/* Streaming decoder: push ids one at a time, get back only complete UTF-8
 * characters; bytes of an unfinished character are held until it completes.
 * A byte sequence that can never become valid is emitted as U+FFFD, so the
 * output is always valid UTF-8. */
typedef struct sg_detok_stream sg_detok_stream;
sg_detok_stream *sg_detok_stream_new(const sg_tokenizer *t, unsigned flags);
/* Bytes ready after this id (pointer valid until the next call); invalid ids
 * give SG_ERR_INVALID. */
sg_status sg_detok_stream_push(sg_detok_stream *s, int32_t id, const char **out, size_t *len, sg_error *err);
/* End of stream: held bytes of an incomplete character become U+FFFD. */
const char *sg_detok_stream_flush(sg_detok_stream *s, size_t *len);
void sg_detok_stream_free(sg_detok_stream *s);

/* Train a byte-level BPE vocabulary (src/tokenizer/train.c): GPT-4 (cl100k)
 * split, deterministic, heap + pair index (O(n log n) in the corpus). */
typedef struct sg_train_params {
    const char *input;    /* UTF-8 corpus file                                    */
    const char *output;   /* vocabulary-only .gguf to write (atomically)            */
    int vocab_size;       /* 256 bytes + merges + special tokens                    */
    const char *const *specials; /* NULL: {"<|endoftext|>"}; first is BOS and EOS   */
    int n_specials;
    bool verbose;         /* progress on stderr                                   */
} sg_train_params;

sg_status sg_tokenizer_train(const sg_train_params *p, sg_error *err);

/* Write a byte-level BPE vocabulary (a .gguf with tokenizer.ggml.* keys) into
 * dir as Hugging Face tokenizer.json + tokenizer_config.json (atomically), so
 * a model exported as a Hugging Face directory carries its vocabulary. */
sg_status sg_tokenizer_write_hf(const char *vocab_gguf, const char *dir, sg_error *err);

/* ---------------------------------------------------------------- training */

/* A training run's settings: a text file of `key = value` lines (see
 * configs/README.md; `stargate train --keys` lists every key). */
typedef struct sg_train_config sg_train_config;

sg_train_config *sg_train_config_new(void); /* defaults; NULL when out of memory */
void sg_train_config_free(sg_train_config *c);
/* Parse config text; `name` (the file) prefixes one-line errors "name:LINE: ...". */
sg_status sg_train_config_parse(sg_train_config *c, const char *text, size_t len, const char *name, sg_error *err);
sg_status sg_train_config_load(sg_train_config *c, const char *path, sg_error *err);
/* Override one key (the CLI's --key value). */
sg_status sg_train_config_set(sg_train_config *c, const char *key, const char *value, sg_error *err);
/* Cross-key checks (required keys, divisibility, ...). */
sg_status sg_train_config_check(const sg_train_config *c, sg_error *err);
/* Train: from scratch or from `init`, resuming from a checkpoint when asked,
 * data-parallel over MPI when launched by mpirun. Rank 0 prints progress. */
sg_status sg_train_run(const sg_train_config *c, sg_error *err);
/* Supervised fine-tuning: render the JSONL conversations of `sft_data`
 * (and `sft_val_data`) with the model's chat template, weight the loss on
 * the assistant tokens only, pack them (document-masked) into out_dir's
 * sft-train.bin / sft-val.bin, point train_data/val_data there and train.
 * show > 0 prints that many conversations with the trained spans in «». */
sg_status sg_finetune_run(sg_train_config *c, int show, sg_error *err);

/* Write a token shard (format in src/train/train.h, docs/ARCHITECTURE.md):
 * ids as u16 when vocab_size <= 65536 (and every id fits), else u32; mask
 * (may be NULL) gives each token's loss weight 0/1 as a target in bit 0,
 * and in bit 1 whether the token starts a document (packed fine-tuning
 * data: attention and positions restart there). Atomic. */
sg_status sg_shard_write(const char *path, const uint32_t *tokens, const uint8_t *mask, uint64_t n,
                         uint32_t vocab_size, sg_error *err);

/* ---------------------------------------------------------------- quantization */

typedef struct sg_quantize_stats {
    uint64_t bytes_in, bytes_out; /* tensor data, before and after */
    int n_tensors, n_quantized;   /* tensors, and those whose type changed */
} sg_quantize_stats;

/* Re-encode the matrices of GGUF file in_path as `type` ("q8_0", "q4_0",
 * "q4_K_M", "f16", "bf16", "f32"; case-insensitive) into out_path, written
 * atomically (temporary file, fsync, rename). Metadata and vectors are kept;
 * Q4_K_M is llama.cpp's Q4_K/Q6_K mix. n_threads <= 0: physical cores.
 * stats may be NULL. Details: src/tensor/quantize.c. */
sg_status sg_quantize_gguf(const char *in_path, const char *out_path, const char *type, int n_threads,
                           sg_quantize_stats *stats, sg_error *err);

/* The CPU kernel family chosen at run time ("avx512", "avx2", "ref"). */
const char *sg_cpu_kernels(void);

/* ---------------------------------------------------------------- chat templates */

/* A chat template: the Jinja program a model ships to turn a conversation
 * into its prompt. The engine implements the Jinja2 subset chat templates
 * use and renders byte-identically to Python's Jinja2 as Hugging Face
 * transformers configures it (trim_blocks, lstrip_blocks, loop controls,
 * tojson without HTML escaping, raise_exception, strftime_now). Unsupported
 * constructs and template errors fail with "template line N: ...". A
 * compiled template is read-only while rendering: share it across threads. */
typedef struct sg_template sg_template;

typedef struct sg_template_opts {
    int64_t now;        /* strftime_now() formats this Unix time (local zone); 0 = the clock */
    size_t max_output;  /* bytes of output and of any string; 0 = 64 MiB + 8 x context size */
    uint64_t max_steps; /* evaluation steps; 0 = 50 M + 64 x context size */
    size_t max_memory;  /* bytes of live values; 0 = 256 MiB + 32 x context size */
    int max_depth;      /* nesting of evaluation, macro recursion included; 0 = 500 */
} sg_template_opts;

sg_status sg_template_compile(const char *src, sg_template **out, sg_error *err);
/* Render with the variables of context_json (a JSON object; NULL = none).
 * *out is a NUL-terminated heap string (free()). opts may be NULL. */
sg_status sg_template_apply(const sg_template *t, const char *context_json, const sg_template_opts *opts,
                            char **out, sg_error *err);
void sg_template_free(sg_template *t);
/* Compile, render once and free. */
sg_status sg_template_render(const char *src, const char *context_json, char **out, sg_error *err);

/* The template for models that ship none: ChatML
 * ("<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message, then
 * "<|im_start|>assistant\n" when add_generation_prompt). */
extern const char sg_template_chatml[];

/* The context transformers' apply_chat_template gives a template:
 * conversation_json is a list of messages or an object {"messages": [...],
 * "tools": [...], other variables...}; tools_json (a list, may be NULL)
 * overrides "tools"; bos/eos (may be NULL) become bos_token/eos_token.
 * "tools" is only defined when given. *context_json is a heap string. */
sg_status sg_chat_context(const char *conversation_json, const char *tools_json, bool add_generation_prompt,
                          const char *bos_token, const char *eos_token, char **context_json, sg_error *err);

/* Streaming split of generated text into reasoning (<think>...</think>) and
 * answer. Feed text pieces as they are decoded (tags may be split across
 * pieces); each call gives the new reasoning and content text. A think
 * block is recognized only at the start of the output, or the output
 * starts inside one when the prompt opened it (in_reasoning). Whitespace
 * right after </think> is dropped. */
typedef struct sg_reasoning sg_reasoning;
typedef struct sg_reasoning_delta {
    const char *reasoning; /* valid until the next call on the splitter */
    size_t reasoning_len;
    const char *content;
    size_t content_len;
} sg_reasoning_delta;

sg_reasoning *sg_reasoning_new(bool in_reasoning);
void sg_reasoning_feed(sg_reasoning *r, const char *piece, size_t n, sg_reasoning_delta *d);
/* End of output: release text held back as a possible partial tag. */
void sg_reasoning_finish(sg_reasoning *r, sg_reasoning_delta *d);
void sg_reasoning_free(sg_reasoning *r);
/* Does a rendered prompt end inside an open <think> block? */
bool sg_reasoning_prompt_opens(const char *prompt);

/* ---------------------------------------------------------------- model cache */

/* `stargate pull` downloads models from the Hugging Face hub ($HF_ENDPOINT,
 * default https://huggingface.co; $HF_TOKEN sent as a Bearer token to the
 * hub's own host only) into a local cache:
 *
 *   $STARGATE_HOME (default ~/.cache/stargate)/models/<owner>--<name>/
 *       manifest.json            repo, and per revision: commit, pulled_at,
 *                                files [{path, size, sha256}]
 *       <revision>/<path>        the files as the repository names them
 *       <revision>/<path>.part   a download in progress (resumed by Range)
 *       .locks/                  flock(2) files: one per file, one for the manifest
 *
 * A file is downloaded to .part, its size and the hub's sha256 (LFS oid or
 * X-Linked-Etag) checked, then renamed into place. A model is named
 * "owner/name" (the safetensors model, or the only GGUF file pulled),
 * "owner/name:FILE" (FILE may be a glob), with "@REVISION" after the name
 * when it is not "main". */
typedef struct sg_pull_params {
    const char *repo;     /* "owner/name" */
    const char *file;     /* a file or a glob ("*Q4_K_M.gguf"); NULL: the safetensors model */
    const char *revision; /* NULL: "main" */
    const char *endpoint; /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *token;    /* NULL: $HF_TOKEN when set */
    bool progress;        /* progress bars and notes on stderr */
} sg_pull_params;

/* Download (or find up to date) and record in the cache; out_path (may be
 * NULL) gets the local path: the GGUF file, or the safetensors directory. */
sg_status sg_pull(const sg_pull_params *p, char *out_path, size_t n, sg_error *err);

typedef struct sg_cached_model {
    char name[640];  /* "owner/name", "owner/name:file.gguf", "owner/name@rev..." */
    char format[16]; /* "gguf" or "safetensors" */
    uint64_t bytes;
    char path[4096];
} sg_cached_model;

/* The cache's models directory ($STARGATE_HOME/models). */
sg_status sg_cache_dir(char *out, size_t n, sg_error *err);
/* Every pulled model, sorted by name; *out is a heap array (free()). */
sg_status sg_cache_list(sg_cached_model **out, int *n, sg_error *err);
/* Remove "owner/name" (every revision), "owner/name@rev" or
 * "owner/name[@rev]:FILE" (one file or glob). *n_removed: files removed. */
sg_status sg_cache_remove(const char *name, int *n_removed, sg_error *err);
/* MODEL arguments: an existing path is returned as is; otherwise a pulled
 * model's name (as above) gives its local path. */
sg_status sg_resolve_model(const char *name_or_path, char *out_path, size_t n, sg_error *err);

/* The default assistant shipped inside the binary (models/stargate-mini.gguf
 * at build time): written once to $STARGATE_HOME/default/stargate-mini.gguf
 * (again when the binary carries a different one); out_path gets its path.
 * SG_ERR_MISSING when this build carries none. */
bool sg_default_model_available(void);
sg_status sg_default_model(char *out_path, size_t n, sg_error *err);
/* The example deployments shipped inside the binary, written to
 * $STARGATE_HOME/deployments when that directory does not exist (never over
 * an existing one); out_path gets the directory, *written whether this call
 * created it. */
sg_status sg_default_deployments(char *out_path, size_t n, bool *written, sg_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STARGATE_H */
