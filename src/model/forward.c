/*
 * forward.c -- the transformer forward pass over a flat batch of tokens.
 *
 * One call processes n tokens, each with its own sequence id and position:
 * a prompt, one decoding step for sixteen sequences, or a mix, all take the
 * same path. Per layer:
 *
 *   xb = norm(x)                              x  (n, E)
 *   q, k, v = xb Wq^T, xb Wk^T, xb Wv^T (+b)  q  (n, H*D), k/v (n, KV*D)
 *   [qwen3] per-head RMSNorm of q and k
 *   RoPE(q, k) at each token's position
 *   cache[seq][pos] = k, v
 *   att = softmax(q K^T / sqrt(D)) V over the token's own sequence, j <= pos
 *   x += att Wo^T (+bo)
 *   xb = norm(x)
 *   x += down(silu(gate(xb)) * up(xb))        (GPT-2: down(gelu(up(xb))))
 *
 * then the final norm and the output projection for the tokens that asked
 * for logits. Activations are float32; weights stay in their stored dtype
 * (see tensor/matmul.h). Every buffer is carved at context creation, so the
 * per-token loop allocates nothing.
 *
 * The KV cache is paged (model/kvcache.h): each sequence maps positions to
 * fixed-size blocks of a shared pool, so sequences take memory as they grow
 * and may share a prompt prefix copy-on-write.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kvcache.h"
#include "model/model.h"

struct sg_ctx {
    sg_model *m;
    sg_pool *pool;
    sg_mm *mm;
    int n_ctx, n_seq, n_batch, n_threads;

    sg_kvcache kv;
    int *seq_len_tmp;         /* [n_seq] scratch for validation            */
    int *seq_lo, *seq_hi;     /* [n_seq] positions a batch writes, [lo, hi) */

    /* activations, [n_batch][...] */
    float *x, *xb, *q, *k, *v, *att, *tmp, *ff_a, *ff_b, *qkv;
    float *rope_cs;   /* [n_batch][rope_dim/2][2] cos, sin   */
    double *inv_freq; /* [rope_dim/2]                         */
    float *scores;    /* [n_threads][n_ctx]                   */
    int32_t *out_rows;/* [n_batch] batch index of each output */

    float *logits;    /* [n_logits][n_vocab] */
    int n_logits, cap_logits;

    /* the batch being processed (valid during sg_forward) */
    const sg_batch *b;
    int layer;
};

sg_ctx_params sg_ctx_default_params(void)
{
    sg_ctx_params p = {.n_ctx = 0, .n_seq_max = 1, .n_batch = 512, .n_threads = 0, .n_kv_blocks = 0,
                       .batch_invariant = false, .q8_activations = false};
    return p;
}

int sg_ctx_n_ctx(const sg_ctx *c)
{
    return c->n_ctx;
}

int sg_ctx_n_batch(const sg_ctx *c)
{
    return c->n_batch;
}

static void *alloc_floats(size_t n, bool *ok)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        *ok = false;
        return NULL;
    }
    return p;
}

sg_status sg_ctx_new(sg_model *m, const sg_ctx_params *pp, sg_ctx **out, sg_error *err)
{
    *out = NULL;
    sg_ctx_params p = pp ? *pp : sg_ctx_default_params();
    const sg_config *c = &m->cfg;
    if (p.n_ctx <= 0) p.n_ctx = c->n_ctx_train < 4096 ? c->n_ctx_train : 4096;
    if (c->arch == SG_ARCH_GPT2 && p.n_ctx > c->n_ctx_train) p.n_ctx = c->n_ctx_train; /* learned positions */
    if (p.n_seq_max <= 0) p.n_seq_max = 1;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_ctx > (1 << 22) || p.n_seq_max > 4096 || p.n_batch > (1 << 16))
        return sg_fail(err, SG_ERR_INVALID, "context parameters out of range (ctx %d, seqs %d, batch %d)", p.n_ctx,
                       p.n_seq_max, p.n_batch);
    sg_ctx *x = calloc(1, sizeof *x);
    if (!x) return sg_fail(err, SG_ERR_NOMEM, "out of memory creating context");
    x->m = m;
    x->n_ctx = p.n_ctx;
    x->n_seq = p.n_seq_max;
    x->n_batch = p.n_batch;
    x->pool = sg_pool_new(p.n_threads);
    x->n_threads = sg_pool_size(x->pool);
    int64_t E = c->n_embd, Q = (int64_t)c->n_head * c->head_dim, KV = (int64_t)c->n_head_kv * c->head_dim;
    int64_t F = c->n_ff, B = p.n_batch;
    int64_t max_cols = E > Q ? E : Q;
    if (F > max_cols) max_cols = F;
    x->mm = sg_mm_new(x->pool, max_cols);
    if (x->mm && p.batch_invariant) sg_mm_set_decode_max(x->mm, INT64_MAX);
    if (x->mm && p.q8_activations) sg_mm_set_q8(x->mm, true);

    bool ok = true;
    if (p.n_kv_blocks < 0 || sg_kvcache_init(&x->kv, c->n_layer, (int)KV, x->n_seq, x->n_ctx, p.n_kv_blocks, err)) {
        if (p.n_kv_blocks < 0) sg_fail(err, SG_ERR_INVALID, "negative KV block count %d", p.n_kv_blocks);
        sg_ctx_free(x);
        return err ? err->code : SG_ERR_NOMEM;
    }
    x->seq_len_tmp = calloc((size_t)x->n_seq, sizeof(int));
    x->seq_lo = calloc((size_t)x->n_seq, sizeof(int));
    x->seq_hi = calloc((size_t)x->n_seq, sizeof(int));
    x->x = alloc_floats((size_t)(B * E), &ok);
    x->xb = alloc_floats((size_t)(B * E), &ok);
    x->q = alloc_floats((size_t)(B * Q), &ok);
    x->k = alloc_floats((size_t)(B * KV), &ok);
    x->v = alloc_floats((size_t)(B * KV), &ok);
    x->att = alloc_floats((size_t)(B * Q), &ok);
    x->tmp = alloc_floats((size_t)(B * E), &ok);
    x->ff_a = alloc_floats((size_t)(B * F), &ok);
    x->ff_b = alloc_floats((size_t)(B * F), &ok);
    if (c->arch == SG_ARCH_GPT2) x->qkv = alloc_floats((size_t)(B * 3 * E), &ok);
    int half = c->rope_dim / 2;
    x->rope_cs = alloc_floats((size_t)(B * (half > 0 ? half : 1) * 2), &ok);
    x->inv_freq = calloc((size_t)(half > 0 ? half : 1), sizeof(double));
    x->scores = alloc_floats((size_t)x->n_threads * (size_t)x->n_ctx, &ok);
    x->out_rows = calloc((size_t)B, sizeof(int32_t));
    if (!ok || !x->seq_lo || !x->seq_hi || !x->seq_len_tmp || !x->inv_freq || !x->out_rows || !x->mm) {
        sg_ctx_free(x);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory creating context");
    }
    for (int i = 0; i < half; i++) {
        double f = sg_rope_inv_freq(c, i);
        if (m->rope_freq_factors) f /= m->rope_freq_factors[i];
        if (c->rope_scaling == SG_ROPE_SCALING_LINEAR) f /= c->rope_factor;
        x->inv_freq[i] = f;
    }
    *out = x;
    return SG_OK;
}

void sg_ctx_free(sg_ctx *x)
{
    if (!x) return;
    sg_mm_free(x->mm);
    sg_pool_free(x->pool);
    sg_kvcache_free(&x->kv);
    free(x->seq_len_tmp);
    free(x->seq_lo);
    free(x->seq_hi);
    free(x->x);
    free(x->xb);
    free(x->q);
    free(x->k);
    free(x->v);
    free(x->att);
    free(x->tmp);
    free(x->ff_a);
    free(x->ff_b);
    free(x->qkv);
    free(x->rope_cs);
    free(x->inv_freq);
    free(x->scores);
    free(x->out_rows);
    free(x->logits);
    free(x);
}

void sg_kv_truncate(sg_ctx *c, int seq, int pos)
{
    for (int s = 0; s < c->n_seq; s++)
        if (seq < 0 || s == seq) sg_kvcache_truncate(&c->kv, s, pos);
}

int sg_kv_len(const sg_ctx *c, int seq)
{
    return seq >= 0 && seq < c->n_seq ? c->kv.len[seq] : 0;
}

sg_status sg_kv_share(sg_ctx *c, int src, int dst, int n_pos, sg_error *err)
{
    sg_kvcache *kv = &c->kv;
    if (src < 0 || src >= c->n_seq || dst < 0 || dst >= c->n_seq || src == dst)
        return sg_fail(err, SG_ERR_INVALID, "cannot share sequence %d into %d", src, dst);
    if (n_pos < 0 || n_pos > kv->len[src])
        return sg_fail(err, SG_ERR_INVALID, "cannot share %d positions of sequence %d (it has %d)", n_pos, src, kv->len[src]);
    sg_kvcache_truncate(kv, dst, 0);
    for (int b = 0; b < (n_pos + SG_KV_BLOCK - 1) / SG_KV_BLOCK; b++) {
        int32_t blk = kv->table[(size_t)src * kv->blocks_per_seq + (size_t)b];
        kv->table[(size_t)dst * kv->blocks_per_seq + (size_t)b] = blk;
        kv->ref[blk]++;
    }
    kv->len[dst] = n_pos;
    return SG_OK;
}

void sg_kv_usage(const sg_ctx *c, int *used_blocks, int *total_blocks)
{
    if (used_blocks) *used_blocks = c->kv.n_blocks - c->kv.n_free;
    if (total_blocks) *total_blocks = c->kv.n_blocks;
}

const float *sg_ctx_logits(const sg_ctx *c, int i)
{
    if (i < 0 || i >= c->n_logits) return NULL;
    return c->logits + (size_t)i * (size_t)c->m->cfg.n_vocab;
}

int sg_ctx_n_logits(const sg_ctx *c)
{
    return c->n_logits;
}

/* ------------------------------------------------------------- row ops */

/* out = x / sqrt(mean(x^2) + eps) * w ; x, out (n) */
static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}

/* out = (x - mean) / sqrt(var + eps) * w + b ; x, out (n) */
static void layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += ((double)x[i] - mean) * ((double)x[i] - mean);
    var /= n;
    float r = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
    for (int i = 0; i < n; i++) out[i] = (x[i] - mu) * r * w[i] + b[i];
}

static void norm_rows(const sg_ctx *c, float *out, const float *x, const float *w, const float *b, int n)
{
    const sg_config *cfg = &c->m->cfg;
    int E = cfg->n_embd;
    for (int i = 0; i < n; i++) {
        if (cfg->arch == SG_ARCH_GPT2) layernorm(out + (size_t)i * E, x + (size_t)i * E, w, b, E, cfg->norm_eps);
        else rmsnorm(out + (size_t)i * E, x + (size_t)i * E, w, E, cfg->norm_eps);
    }
}

/* Rotate one head vector (head_dim) by the token's angles. NEOX pairs
 * (i, i + rope_dim/2); INTERLEAVED pairs (2i, 2i+1). */
static void rope_head(float *h, const float *cs, int rope_dim, sg_rope_style style)
{
    int half = rope_dim / 2;
    for (int i = 0; i < half; i++) {
        float co = cs[2 * i], si = cs[2 * i + 1];
        int a = style == SG_ROPE_NEOX ? i : 2 * i;
        int b = style == SG_ROPE_NEOX ? i + half : 2 * i + 1;
        float x0 = h[a], x1 = h[b];
        h[a] = x0 * co - x1 * si;
        h[b] = x0 * si + x1 * co;
    }
}

/* ------------------------------------------------------------- attention */

/* Task = (token i, query head h): softmax(q k^T / sqrt(D)) v over the
 * token's sequence, keys j in (pos - window, pos]. */
static void attention_task(void *arg, int task, int thread)
{
    sg_ctx *c = arg;
    const sg_config *cfg = &c->m->cfg;
    int H = cfg->n_head, D = cfg->head_dim;
    int i = task / H, h = task % H, kvh = h / (H / cfg->n_head_kv);
    int seq = c->b->seq[i], pos = c->b->pos[i];
    int lo = 0;
    if (cfg->sliding_window > 0 && pos - cfg->sliding_window + 1 > 0) lo = pos - cfg->sliding_window + 1;
    const sg_kvcache *kv = &c->kv;
    const int32_t *table = kv->table + (size_t)seq * kv->blocks_per_seq;
    const float *q = c->q + (size_t)i * H * D + (size_t)h * D;
    float *out = c->att + (size_t)i * H * D + (size_t)h * D;
    float *sc = c->scores + (size_t)thread * c->n_ctx;
    float scale = 1.0f / sqrtf((float)D);
    float (*dot)(const void *, const float *, int64_t) = sg_dtype_traits_of(SG_F32)->dot;
    float mx = -INFINITY;
    for (int j = lo; j <= pos; j++) {
        const float *kj = sg_kv_k(kv, c->layer, table[j / SG_KV_BLOCK], j % SG_KV_BLOCK) + (size_t)kvh * D;
        float s = dot(kj, q, D) * scale;
        sc[j] = s;
        if (s > mx) mx = s;
    }
    float sum = 0;
    for (int j = lo; j <= pos; j++) {
        sc[j] = expf(sc[j] - mx);
        sum += sc[j];
    }
    float inv = 1.0f / sum;
    memset(out, 0, (size_t)D * sizeof(float));
    for (int j = lo; j <= pos; j++) {
        const float *vj = sg_kv_v(kv, c->layer, table[j / SG_KV_BLOCK], j % SG_KV_BLOCK) + (size_t)kvh * D;
        float p = sc[j] * inv;
        for (int d = 0; d < D; d++) out[d] += p * vj[d];
    }
}

/* Task = token i: q/k norms (qwen3), RoPE, and the K/V cache write. */
static void qk_prepare_task(void *arg, int i, int thread)
{
    sg_ctx *c = arg;
    const sg_config *cfg = &c->m->cfg;
    const sg_layer *L = &c->m->layers[c->layer];
    int H = cfg->n_head, KVH = cfg->n_head_kv, D = cfg->head_dim, KVD = KVH * D;
    float *q = c->q + (size_t)i * H * D, *k = c->k + (size_t)i * KVD, *v = c->v + (size_t)i * KVD;
    if (L->q_norm)
        for (int h = 0; h < H; h++) rmsnorm(q + h * D, q + h * D, L->q_norm, D, cfg->norm_eps);
    if (L->k_norm)
        for (int h = 0; h < KVH; h++) rmsnorm(k + h * D, k + h * D, L->k_norm, D, cfg->norm_eps);
    if (cfg->rope_style != SG_ROPE_NONE) {
        const float *cs = c->rope_cs + (size_t)i * cfg->rope_dim;
        for (int h = 0; h < H; h++) rope_head(q + h * D, cs, cfg->rope_dim, cfg->rope_style);
        for (int h = 0; h < KVH; h++) rope_head(k + h * D, cs, cfg->rope_dim, cfg->rope_style);
    }
    int p = c->b->pos[i], blk = c->kv.table[(size_t)c->b->seq[i] * c->kv.blocks_per_seq + (size_t)(p / SG_KV_BLOCK)];
    memcpy(sg_kv_k(&c->kv, c->layer, blk, p % SG_KV_BLOCK), k, (size_t)KVD * sizeof(float));
    memcpy(sg_kv_v(&c->kv, c->layer, blk, p % SG_KV_BLOCK), v, (size_t)KVD * sizeof(float));
}

/* ------------------------------------------------------------- FFN */

static inline float silu(float x)
{
    return x / (1.0f + expf(-x));
}

static inline float gelu_tanh(float x)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* ------------------------------------------------------------- forward */

static sg_status validate_batch(sg_ctx *c, const sg_batch *b, sg_error *err)
{
    const sg_config *cfg = &c->m->cfg;
    if (b->n_tokens <= 0 || b->n_tokens > c->n_batch)
        return sg_fail(err, SG_ERR_INVALID, "batch of %d tokens (allowed 1..%d)", b->n_tokens, c->n_batch);
    if (!b->token || !b->pos || !b->seq) return sg_fail(err, SG_ERR_INVALID, "batch without token/pos/seq arrays");
    memcpy(c->seq_len_tmp, c->kv.len, (size_t)c->n_seq * sizeof(int));
    for (int s = 0; s < c->n_seq; s++) c->seq_lo[s] = c->seq_hi[s] = 0;
    for (int i = 0; i < b->n_tokens; i++) {
        int t = b->token[i], s = b->seq[i], p = b->pos[i];
        if (t < 0 || t >= cfg->n_vocab)
            return sg_fail(err, SG_ERR_INVALID, "token id %d at batch index %d is out of range (vocabulary %d)", t, i,
                           cfg->n_vocab);
        if (s < 0 || s >= c->n_seq)
            return sg_fail(err, SG_ERR_INVALID, "sequence id %d out of range (context has %d)", s, c->n_seq);
        if (p < 0 || p >= c->n_ctx)
            return sg_fail(err, SG_ERR_INVALID, "position %d out of range (context length %d)", p, c->n_ctx);
        if (p > c->seq_len_tmp[s])
            return sg_fail(err, SG_ERR_INVALID, "position %d of sequence %d skips cached positions (cached %d)", p, s,
                           c->seq_len_tmp[s]);
        c->seq_len_tmp[s] = p + 1;
        if (c->seq_hi[s] == 0 || p < c->seq_lo[s]) c->seq_lo[s] = p;
        if (p + 1 > c->seq_hi[s]) c->seq_hi[s] = p + 1;
    }
    /* enough free KV blocks? (conservative: blocks a rewrite frees are not counted) */
    int need = 0;
    for (int s = 0; s < c->n_seq; s++)
        if (c->seq_hi[s] > 0) need += sg_kvcache_blocks_needed(&c->kv, s, c->seq_lo[s], c->seq_hi[s]);
    if (need > c->kv.n_free)
        return sg_fail(err, SG_ERR_NOMEM, "KV cache full: the batch needs %d blocks of %d positions, %d are free", need,
                       SG_KV_BLOCK, c->kv.n_free);
    return SG_OK;
}

static void layer_forward(sg_ctx *c, int l, int n)
{
    const sg_config *cfg = &c->m->cfg;
    const sg_layer *L = &c->m->layers[l];
    int E = cfg->n_embd, Q = cfg->n_head * cfg->head_dim, KVD = cfg->n_head_kv * cfg->head_dim, F = cfg->n_ff;
    c->layer = l;

    /* attention */
    norm_rows(c, c->xb, c->x, L->attn_norm, L->attn_norm_b, n);
    if (L->wqkv.data) {
        sg_mm_run(c->mm, &L->wqkv, c->xb, n, c->qkv, L->bqkv);
        for (int i = 0; i < n; i++) {
            const float *r = c->qkv + (size_t)i * 3 * E;
            memcpy(c->q + (size_t)i * Q, r, (size_t)E * sizeof(float));
            memcpy(c->k + (size_t)i * KVD, r + E, (size_t)E * sizeof(float));
            memcpy(c->v + (size_t)i * KVD, r + 2 * E, (size_t)E * sizeof(float));
        }
    } else {
        sg_mm_run(c->mm, &L->wq, c->xb, n, c->q, L->bq);
        sg_mm_run(c->mm, &L->wk, c->xb, n, c->k, L->bk);
        sg_mm_run(c->mm, &L->wv, c->xb, n, c->v, L->bv);
    }
    sg_pool_run(c->pool, qk_prepare_task, c, n);
    sg_pool_run(c->pool, attention_task, c, n * cfg->n_head);
    sg_mm_run(c->mm, &L->wo, c->att, n, c->tmp, L->bo);
    for (size_t i = 0; i < (size_t)n * E; i++) c->x[i] += c->tmp[i];

    /* feed-forward */
    norm_rows(c, c->xb, c->x, L->ffn_norm, L->ffn_norm_b, n);
    if (cfg->arch == SG_ARCH_GPT2) {
        sg_mm_run(c->mm, &L->w_up, c->xb, n, c->ff_a, L->b_up);
        for (size_t i = 0; i < (size_t)n * F; i++) c->ff_a[i] = gelu_tanh(c->ff_a[i]);
    } else {
        sg_mm_run(c->mm, &L->w_gate, c->xb, n, c->ff_a, NULL);
        sg_mm_run(c->mm, &L->w_up, c->xb, n, c->ff_b, NULL);
        for (size_t i = 0; i < (size_t)n * F; i++) c->ff_a[i] = silu(c->ff_a[i]) * c->ff_b[i];
    }
    sg_mm_run(c->mm, &L->w_down, c->ff_a, n, c->tmp, L->b_down);
    for (size_t i = 0; i < (size_t)n * E; i++) c->x[i] += c->tmp[i];
}

sg_status sg_forward(sg_ctx *c, const sg_batch *b, sg_error *err)
{
    sg_model *m = c->m;
    const sg_config *cfg = &m->cfg;
    sg_status s = validate_batch(c, b, err);
    if (s) return s;
    int n = b->n_tokens, E = cfg->n_embd;

    /* which tokens produce logits */
    int n_out = 0;
    for (int i = 0; i < n; i++)
        if (b->want_logits ? b->want_logits[i] != 0 : i == n - 1) c->out_rows[n_out++] = i;
    if (n_out > c->cap_logits) {
        float *nl = realloc(c->logits, (size_t)n_out * (size_t)cfg->n_vocab * sizeof(float));
        if (!nl) return sg_fail(err, SG_ERR_NOMEM, "out of memory for %d x %d logits", n_out, cfg->n_vocab);
        c->logits = nl;
        c->cap_logits = n_out;
    }
    /* commit cache positions: rewrites truncate, every written block is owned */
    for (int i = 0; i < n; i++) {
        int sq = b->seq[i], p = b->pos[i];
        if (p < c->kv.len[sq]) sg_kvcache_truncate(&c->kv, sq, p);
        bool owned = sg_kvcache_own_block(&c->kv, sq, p / SG_KV_BLOCK);
        (void)owned; /* guaranteed by validate_batch's count */
        c->kv.len[sq] = p + 1;
    }
    c->b = b;

    /* embeddings (+ learned positions) */
    for (int i = 0; i < n; i++) {
        float *xi = c->x + (size_t)i * E;
        sg_weight_row(&m->tok_embd, b->token[i], xi);
        if (m->pos_embd.data) {
            sg_weight_row(&m->pos_embd, b->pos[i], c->tmp);
            for (int j = 0; j < E; j++) xi[j] += c->tmp[j];
        }
    }
    /* RoPE angles per token, in double precision */
    int half = cfg->rope_dim / 2;
    if (cfg->rope_style != SG_ROPE_NONE)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < half; j++) {
                double a = (double)b->pos[i] * c->inv_freq[j];
                c->rope_cs[((size_t)i * half + j) * 2] = (float)cos(a);
                c->rope_cs[((size_t)i * half + j) * 2 + 1] = (float)sin(a);
            }

    for (int l = 0; l < cfg->n_layer; l++) layer_forward(c, l, n);

    /* final norm + output projection, only for rows that want logits */
    for (int k = 0; k < n_out; k++)
        memcpy(c->tmp + (size_t)k * E, c->x + (size_t)c->out_rows[k] * E, (size_t)E * sizeof(float));
    if (n_out > 0) {
        norm_rows(c, c->xb, c->tmp, m->out_norm, m->out_norm_b, n_out);
        sg_mm_run(c->mm, &m->output, c->xb, n_out, c->logits, NULL);
    }
    c->n_logits = n_out;
    c->b = NULL;
    return SG_OK;
}
