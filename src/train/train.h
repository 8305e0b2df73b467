/*
 * train.h -- the training layer's internal interfaces.
 *
 * Pieces, one file each (see the top comment of each file):
 *
 *   config.c     the training config (key = value text) and its checks
 *   data.c       token shards, manifests, the deterministic data loader
 *   tmodel.c     the trainable model: parameters, init, import, layout
 *   layers.c     forward/backward pairs of every layer (llm.c style)
 *   optim.c      AdamW, the warmup + cosine schedule, global-norm clipping
 *   (base/afile.c: crash-safe file replacement, temp, fsync, rename, fsync dir)
 *   checkpoint.c weights + AdamW state + RNG + data position, bit-exact resume
 *   export.c     GGUF and Hugging Face (config.json + safetensors) export
 *   dist.c       data parallelism over MPI (a no-op stub without MPI)
 *   trainer.c    the loop: batches, accumulation, all-reduce, eval, samples
 *
 * Everything is float32. Parameters, their gradients and the two AdamW
 * moments share one layout (sg_tmodel.off[]), so the optimizer, the
 * all-reduce and the checkpoint each see one flat array.
 */
#ifndef SG_TRAIN_TRAIN_H
#define SG_TRAIN_TRAIN_H

#include <stdio.h>

#include "base/afile.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "stargate.h"

/* ---------------------------------------------------------------- config */

#define SG_TCFG_STR 1024

struct sg_train_config {
    /* model */
    int arch; /* SG_ARCH_LLAMA or SG_ARCH_GPT2 */
    char init[SG_TCFG_STR];
    int vocab_size, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    double norm_eps, rope_theta, init_std;
    bool tied_embeddings;
    /* data */
    char train_data[SG_TCFG_STR], val_data[SG_TCFG_STR], tokenizer[SG_TCFG_STR];
    char sft_data[SG_TCFG_STR], sft_val_data[SG_TCFG_STR], sft_template[SG_TCFG_STR];
    bool sft_pack;
    int seq_len, batch_size, grad_accum;
    /* optimizer and schedule */
    int max_steps, warmup_steps;
    double lr, min_lr, weight_decay, beta1, beta2, adam_eps, grad_clip;
    /* run */
    uint64_t seed;
    int threads, log_every, val_every, val_batches, sample_every, sample_tokens;
    int checkpoint_every, halt_after;
    double dist_timeout;
    bool quiet, on_nan_skip;
    char out_dir[SG_TCFG_STR], resume[SG_TCFG_STR];
    char export_gguf[SG_TCFG_STR], export_hf[SG_TCFG_STR];
    int export_f16;
    char dump_grads[SG_TCFG_STR], dump_logits[SG_TCFG_STR];
};

/* The list of keys, for help text: one "key  meaning (default)" per line. */
void sg_train_config_print_keys(FILE *f);

/* ------------------------------------------------------------------ data */

/*
 * Shard file (little-endian), 64-byte header then the tokens:
 *   0  "SGTOKENS"            magic
 *   8  u32 version = 1
 *  12  u32 token_bytes       2 (u16 ids) or 4 (u32 ids)
 *  16  u64 n_tokens
 *  24  u32 flags             bit 0: n_tokens mask bytes follow the tokens: bit 0
 *                            of each = loss weight of the token as a target;
 *                            bit 1 (with flag bit 1 only) = the token starts a
 *                            document (packed SFT: attention and positions
 *                            restart there)
 *  28  u32 vocab_size        0 when unknown
 *  32  32 reserved bytes, zero
 */
#define SG_SHARD_MAGIC "SGTOKENS"
#define SG_SHARD_HEADER 64
#define SG_SHARD_HAS_MASK 1u
#define SG_SHARD_HAS_DOCS 2u /* with HAS_MASK: bit 1 of a mask byte marks a document start */

typedef struct sg_shard {
    sg_mapped_file file;
    uint64_t n_tokens, start; /* start: index of its first token in the stream */
    int token_bytes;
    const uint8_t *tokens, *mask; /* mask NULL: every target counts */
    bool docs;                    /* mask bytes carry document starts */
} sg_shard;

typedef struct sg_data {
    char *path;
    sg_shard *shards;
    int n_shards;
    uint64_t n_tokens;
    uint32_t vocab_size; /* declared by the manifest/shards, 0 unknown */
    char *tokenizer;     /* the manifest's "tokenizer" (stargate data prepare), or NULL */
    uint32_t max_token;  /* largest id present */
    bool docs;           /* some shard marks document starts */
    int seq_len;
    uint64_t n_windows; /* sequences of seq_len + 1 tokens, stride seq_len */
} sg_data;

sg_status sg_data_open(sg_data *d, const char *path, int seq_len, sg_error *err);
void sg_data_close(sg_data *d);
/* Sequences first .. first + n - 1 of the stream (window index = sequence
 * index mod n_windows): inp[n*T] = tokens, tgt[n*T] = next tokens,
 * mask[n*T] = weight of each target (1 unless the shard has a mask),
 * pos[n*T] (may be NULL) = position of each input token in its document:
 * t, or with document starts (SG_SHARD_HAS_DOCS) the distance to the last
 * document start at or before it in the window. */
void sg_data_fill(const sg_data *d, uint64_t first, int n, int32_t *inp, int32_t *tgt, float *mask, int32_t *pos);

/* ------------------------------------------------------------------ sft */

typedef struct sg_sft_opts {
    const char *model;         /* GGUF / HF model: tokenizer and chat template */
    const char *template_path; /* Jinja file overriding the model's template (NULL/empty: the model's, else ChatML) */
    const char *input;         /* JSONL conversations                            */
    const char *output;        /* shard to write                                 */
    int seq_len;
    bool pack;
    int show;      /* print the first `show` conversations with trained spans in «» */
    FILE *show_to;
} sg_sft_opts;

typedef struct sg_sft_stats {
    uint64_t conversations, truncated, tokens, trained, sequences;
} sg_sft_stats;

/* Render, tokenize, mask and pack conversations (method in sft.c). */
sg_status sg_sft_prepare(const sg_sft_opts *o, sg_sft_stats *stats, sg_error *err);

/* --------------------------------------------------------------- model */

typedef struct sg_tshape {
    int arch; /* SG_ARCH_LLAMA or SG_ARCH_GPT2 */
    int V, C, L, H, KV, D, F;
    int maxT; /* context length (GPT-2: learned positions) */
    float eps, theta;
    bool tied;
} sg_tshape;

/* Parameter tensors. Per-layer ones are stacked: [L][rows][cols]. Absent
 * ones (by architecture) have zero size. */
enum {
    P_WTE, P_WPE, P_LN1W, P_LN1B, P_WQ, P_BQ, P_WK, P_BK, P_WV, P_BV, P_WO, P_BO,
    P_LN2W, P_LN2B, P_WGATE, P_WUP, P_BUP, P_WDOWN, P_BDOWN, P_LNFW, P_LNFB, P_HEAD, P_COUNT
};

/* Shape of one tensor of parameter p (per layer when per_layer); rows == 0
 * when the architecture has no such parameter. Vectors have rows == 1. */
void sg_tparam_shape(const sg_tshape *s, int p, int64_t *rows, int64_t *cols, bool *per_layer);
/* Whether AdamW applies weight decay to p (matrices yes, norms/biases no). */
bool sg_tparam_decays(int p);
const char *sg_tparam_name(int p);

/* Activations of one micro-batch, carved from one block for the current
 * (B, T); N = B*T. Per-layer ones are [L][...]. */
typedef struct sg_acts {
    float *encoded;                    /* (N, C)        */
    float *ln1, *ln1_mean, *ln1_rstd;  /* (L,N,C) (L,N) (L,N) */
    float *q, *k, *v;                  /* (L,N,H*D) (L,N,KV*D) x2, q/k after RoPE */
    float *att;                        /* (L,B,H,T,T) softmax probabilities */
    float *atty;                       /* (L,N,H*D)     */
    float *res1;                       /* (L,N,C)       */
    float *ln2, *ln2_mean, *ln2_rstd;  /* (L,N,C) (L,N) (L,N) */
    float *fc_gate, *fc_up, *fc_act;   /* (L,N,F)       */
    float *res2;                       /* (L,N,C)       */
    float *lnf, *lnf_mean, *lnf_rstd;  /* (N,C) (N) (N) */
    float *logits;                     /* (N,V): logits, then probs, then dlogits */
    float *losses;                     /* (N)           */
} sg_acts;

/* Gradient scratch of one layer at a time. */
typedef struct sg_dacts {
    float *dres;                  /* (N,C) gradient of the residual stream */
    float *dln;                   /* (N,C)   */
    float *dq, *dk, *dv, *datty;  /* (N,H*D) (N,KV*D) x2 (N,H*D) */
    float *dgate, *dup, *dact;    /* (N,F)   */
} sg_dacts;

typedef struct sg_tmodel {
    sg_tshape s;
    size_t off[P_COUNT], len[P_COUNT]; /* offset/length in floats of each parameter */
    size_t n_params;
    float *params, *grads, *adam_m, *adam_v; /* n_params each */

    int Bmax, Tmax, B, T;
    float *act_mem, *dact_mem;
    sg_acts a;
    sg_dacts d;
    float *rope_cs;   /* (Tmax, D/2, 2): cos, sin of pos * inv_freq */
    float *scratch;   /* (n_threads, Tmax) */
    sg_pool *pool;
    int n_threads;

    /* the current micro-batch (valid between forward and backward) */
    const int32_t *inp, *tgt;
    const float *mask;
    int32_t *pos; /* (Bmax*Tmax) position of each token within its document:
                   * t unpacked; with packed documents attention of token t
                   * covers t - pos[t] .. t only (document masking) */
} sg_tmodel;

static inline float *sg_tp(const sg_tmodel *m, int p)
{
    return m->params + m->off[p];
}
static inline float *sg_tg(const sg_tmodel *m, int p)
{
    return m->grads + m->off[p];
}

sg_status sg_tshape_check(const sg_tshape *s, sg_error *err);
sg_status sg_tmodel_new(sg_tmodel *m, const sg_tshape *s, int Bmax, int Tmax, int n_threads, sg_error *err);
void sg_tmodel_free(sg_tmodel *m);
/* GPT-2 style init: N(0, std), residual projections (wo, w_down) std/sqrt(2L),
 * norm weights 1, biases 0. `rng` is advanced. */
void sg_tmodel_init_weights(sg_tmodel *m, double std, uint64_t *rng);
/* The shape of a model stargate loaded (fine-tuning); errors for what the
 * trainer does not support (biases in llama, rope scaling, sliding window). */
sg_status sg_tshape_from_model(const sg_model *src, sg_tshape *s, sg_error *err);
/* Copy (dequantize) src's weights into m's parameters. */
void sg_tmodel_import(sg_tmodel *m, const sg_model *src);

/* Forward pass over B sequences of T tokens: inp (B*T). With tgt, the
 * cross-entropy of every position is computed and sum(mask * loss) returned
 * (mask NULL: all ones); logits are left in a.logits (probabilities once
 * tgt is given). */
double sg_tmodel_forward(sg_tmodel *m, const int32_t *inp, const int32_t *tgt, const float *mask, int B, int T);
/* The same with per-token document positions pos (B*T; NULL: 0..T-1 in
 * every row): RoPE / learned positions use pos, and attention does not cross
 * document starts (pos == 0). */
double sg_tmodel_forward_docs(sg_tmodel *m, const int32_t *inp, const int32_t *pos, const int32_t *tgt,
                              const float *mask, int B, int T);
/* Backward pass of the last forward (which had targets): adds the gradient
 * of scale * sum(mask * loss) to m->grads. */
void sg_tmodel_backward(sg_tmodel *m, float scale);

/* ------------------------------------------------------------- layers */

/* pos (B*T): position of each token in its document (t when unpacked). */
void encoder_forward(float *out, const int32_t *inp, const int32_t *pos, const float *wte, const float *wpe, int B,
                     int T, int C);
void encoder_backward(float *dwte, float *dwpe, const float *dout, const int32_t *inp, const int32_t *pos, int B, int T,
                      int C);
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C, float eps);
void rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w, const float *rstd,
                      int N, int C);
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, int N,
                       int C, float eps);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int N, int C);
void matmul_forward(sg_pool *pool, float *out, const float *inp, const float *w, const float *bias, int N, int IC,
                    int OC);
void matmul_backward(sg_pool *pool, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int IC, int OC, bool accumulate_dinp);
void rope_table(float *cs, int T, int D, double theta);
void rope_forward(float *x, const float *cs, const int32_t *pos, int N, int n_head, int D);
void rope_backward(float *dx, const float *cs, const int32_t *pos, int N, int n_head, int D);
void attention_forward(sg_tmodel *m, float *out, float *att, const float *q, const float *k, const float *v, int B,
                       int T);
void attention_backward(sg_tmodel *m, float *dq, float *dk, float *dv, const float *datty, const float *att,
                        const float *q, const float *k, const float *v, int B, int T);
void swiglu_forward(float *out, const float *gate, const float *up, size_t n);
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n);
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
double crossentropy_forward(sg_tmodel *m, float *losses, float *logits, const int32_t *tgt, const float *mask, int N,
                            int V);
void crossentropy_backward(sg_tmodel *m, float *logits, const int32_t *tgt, const float *mask, float scale, int N,
                           int V);

/* ------------------------------------------------------------ optimizer */

/* Learning rate of step (0-based): linear warmup over warmup steps to lr,
 * then cosine to min_lr at max_steps (min_lr afterwards). */
double sg_lr_at(const sg_train_config *c, int step);
/* Global L2 norm of all gradients (double accumulation). */
double sg_grad_norm(const sg_tmodel *m);
/* Scale gradients so their norm is at most clip (PyTorch's rule:
 * factor clip / (norm + 1e-6) when that is < 1). */
void sg_grad_clip(sg_tmodel *m, double norm, double clip);
/* One AdamW update (t = 1-based step count for bias correction). */
void sg_adamw_step(sg_tmodel *m, const sg_train_config *c, double lr, int t);

/* ----------------------------------------------------------------- rng */

uint64_t sg_rng_next(uint64_t *s);   /* splitmix64 */
double sg_rng_normal(uint64_t *s);   /* Box-Muller, one draw per call */

/* -------------------------------------------------------------- atomic */

/* sg_afile (atomic file replacement) and sg_fnv1a: base/afile.h */

/* ---------------------------------------------------------- checkpoint */

typedef struct sg_train_state {
    int step;           /* optimizer steps done                    */
    uint64_t data_pos;  /* next training sequence index            */
    uint64_t rng;       /* RNG state                               */
    uint64_t tokens;    /* training tokens consumed                */
} sg_train_state;

sg_status sg_checkpoint_save(const sg_tmodel *m, const sg_train_state *st, const char *path, sg_error *err);
/* Reads a checkpoint into m (whose shape must match) and st. */
sg_status sg_checkpoint_load(sg_tmodel *m, sg_train_state *st, const char *path, sg_error *err);
/* The path of the newest ckpt-*.bin in dir into out (false when none). */
bool sg_checkpoint_latest(const char *dir, char *out, size_t n);

/* --------------------------------------------------------------- export */

/* data: m->params or m->grads (same layout). f16: 2-D tensors as F16.
 * tokenizer (may be NULL): a GGUF whose tokenizer.* keys are copied in, so
 * the export tokenizes and chats on its own. */
sg_status sg_export_gguf(const sg_tmodel *m, const float *data, const char *path, bool f16, const char *tokenizer,
                         sg_error *err);
/* tokenizer (a vocabulary .gguf, may be NULL/empty) is written beside the
 * weights as tokenizer.json + tokenizer_config.json. */
sg_status sg_export_hf(const sg_tmodel *m, const float *data, const char *dir, bool f16, const char *tokenizer,
                       sg_error *err);
/* One safetensors file of the HF-named tensors (gradient dumps). */
sg_status sg_export_safetensors(const sg_tmodel *m, const float *data, const char *path, bool f16, sg_error *err);

/* -------------------------------------------------------------- distributed */

typedef struct sg_dist {
    int rank, world;
    bool mpi;
} sg_dist;

/* MPI_Init when launched by mpirun (OMPI_COMM_WORLD_SIZE / PMI_SIZE set),
 * else a world of one. */
sg_status sg_dist_init(sg_dist *d, sg_error *err);
void sg_dist_allreduce_f32(const sg_dist *d, float *buf, size_t n);
void sg_dist_allreduce_f64(const sg_dist *d, double *buf, int n);
/* True when `bad` is true on any rank (collective). */
bool sg_dist_any(const sg_dist *d, bool bad);
void sg_dist_abort(const sg_dist *d, int code);
/* A collective waiting more than `seconds` ends the process with a message
 * (watchdog thread; <= 0: off). */
void sg_dist_set_timeout(const sg_dist *d, double seconds);
bool sg_dist_have_mpi(void);

#endif
