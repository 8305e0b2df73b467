/*
 * tmodel.c -- the trainable model: parameter layout, init, import, and the
 * whole-model forward and backward passes built from layers.c.
 *
 * Parameters (and, in the same layout, gradients and both AdamW moments)
 * are one float array; each named tensor is a slice, per-layer tensors
 * stacked [L][rows][cols] as in llm.c. Activations of a micro-batch are
 * another single block, carved for the current (B, T) by acts_layout().
 *
 *   llama: x = wte[tok]
 *          per layer: h = rmsnorm(x); q,k,v = h Wq^T, h Wk^T, h Wv^T;
 *                     RoPE(q, k) rotate-half; a = attention (causal, GQA);
 *                     x += a Wo^T; h = rmsnorm(x);
 *                     x += (silu(h Wg^T) * h Wu^T) Wd^T
 *          logits = rmsnorm(x) Whead^T   (Whead = wte when tied)
 *   gpt2:  x = wte[tok] + wpe[t]; LayerNorm; q,k,v with biases (HF's fused
 *          c_attn split into three); no RoPE; x += a Wo^T + bo; LayerNorm;
 *          x += gelu(h Wu^T + bu) Wd^T + bd; logits = layernorm(x) wte^T
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/train.h"

static const char *const param_names[P_COUNT] = {
    "wte", "wpe", "ln1_w", "ln1_b", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo",
    "ln2_w", "ln2_b", "w_gate", "w_up", "b_up", "w_down", "b_down", "lnf_w", "lnf_b", "head",
};

const char *sg_tparam_name(int p)
{
    return p >= 0 && p < P_COUNT ? param_names[p] : "?";
}

bool sg_tparam_decays(int p)
{
    switch (p) {
    case P_WTE: case P_WPE: case P_WQ: case P_WK: case P_WV: case P_WO:
    case P_WGATE: case P_WUP: case P_WDOWN: case P_HEAD: return true;
    default: return false;
    }
}

void sg_tparam_shape(const sg_tshape *s, int p, int64_t *rows, int64_t *cols, bool *per_layer)
{
    bool g = s->arch == SG_ARCH_GPT2;
    int64_t C = s->C, QD = (int64_t)s->H * s->D, KVD = (int64_t)s->KV * s->D, F = s->F;
    int64_t r = 0, c = 0;
    bool pl = true;
    switch (p) {
    case P_WTE: r = s->V, c = C, pl = false; break;
    case P_WPE: if (g) r = s->maxT, c = C; pl = false; break;
    case P_LN1W: case P_LN2W: r = 1, c = C; break;
    case P_LN1B: case P_LN2B: case P_BO: case P_BDOWN: if (g) r = 1, c = C; break;
    case P_WQ: r = QD, c = C; break;
    case P_WK: case P_WV: r = KVD, c = C; break;
    case P_BQ: if (g) r = 1, c = QD; break;
    case P_BK: case P_BV: if (g) r = 1, c = KVD; break;
    case P_WO: r = C, c = QD; break;
    case P_WGATE: if (!g) r = F, c = C; break;
    case P_WUP: r = F, c = C; break;
    case P_BUP: if (g) r = 1, c = F; break;
    case P_WDOWN: r = C, c = F; break;
    case P_LNFW: r = 1, c = C; pl = false; break;
    case P_LNFB: if (g) r = 1, c = C; pl = false; break;
    case P_HEAD: if (!s->tied) r = s->V, c = C; pl = false; break;
    }
    *rows = r;
    *cols = c;
    *per_layer = pl;
}

sg_status sg_tshape_check(const sg_tshape *s, sg_error *err)
{
    if (s->arch != SG_ARCH_LLAMA && s->arch != SG_ARCH_GPT2)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "training supports llama and gpt2");
    if (s->V < 1 || s->C < 1 || s->L < 1 || s->H < 1 || s->KV < 1 || s->D < 1 || s->F < 1 || s->maxT < 1)
        return sg_fail(err, SG_ERR_INVALID, "model shape has a non-positive size");
    if (s->H % s->KV) return sg_fail(err, SG_ERR_INVALID, "n_head %d is not a multiple of n_head_kv %d", s->H, s->KV);
    if (s->arch == SG_ARCH_LLAMA && s->D % 2) return sg_fail(err, SG_ERR_INVALID, "head_dim %d must be even", s->D);
    if (s->arch == SG_ARCH_GPT2 && (s->KV != s->H || s->H * s->D != s->C || !s->tied))
        return sg_fail(err, SG_ERR_INVALID, "gpt2 needs n_head_kv = n_head, head_dim = n_embd / n_head, tied embeddings");
    return SG_OK;
}

/* ------------------------------------------------------------ activations */

/* Floats of activations for (B, T); with p != NULL, also set the pointers. */
static size_t acts_layout(const sg_tmodel *m, int B, int T, float *base, sg_acts *a)
{
    const sg_tshape *s = &m->s;
    size_t N = (size_t)B * T, L = (size_t)s->L, C = (size_t)s->C, QD = (size_t)s->H * s->D;
    size_t KVD = (size_t)s->KV * s->D, F = (size_t)s->F, V = (size_t)s->V;
    size_t off = 0;
    bool gate = s->arch == SG_ARCH_LLAMA;
#define CARVE(field, n)                                                                                            \
    do {                                                                                                           \
        if (base) a->field = base + off;                                                                           \
        off += ((n) + 15) & ~(size_t)15;                                                                           \
    } while (0)
    CARVE(encoded, N * C);
    CARVE(ln1, L * N * C);
    CARVE(ln1_mean, L * N);
    CARVE(ln1_rstd, L * N);
    CARVE(q, L * N * QD);
    CARVE(k, L * N * KVD);
    CARVE(v, L * N * KVD);
    CARVE(att, L * (size_t)B * s->H * T * T);
    CARVE(atty, L * N * QD);
    CARVE(res1, L * N * C);
    CARVE(ln2, L * N * C);
    CARVE(ln2_mean, L * N);
    CARVE(ln2_rstd, L * N);
    CARVE(fc_gate, gate ? L * N * F : 0);
    CARVE(fc_up, L * N * F);
    CARVE(fc_act, L * N * F);
    CARVE(res2, L * N * C);
    CARVE(lnf, N * C);
    CARVE(lnf_mean, N);
    CARVE(lnf_rstd, N);
    CARVE(logits, N * V);
    CARVE(losses, N);
    return off;
}

static size_t dacts_layout(const sg_tmodel *m, int B, int T, float *base, sg_dacts *d)
{
    const sg_tshape *s = &m->s;
    size_t N = (size_t)B * T, C = (size_t)s->C, QD = (size_t)s->H * s->D, KVD = (size_t)s->KV * s->D, F = (size_t)s->F;
    size_t off = 0;
    sg_dacts *a = d;
    CARVE(dres, N * C);
    CARVE(dln, N * C);
    CARVE(dq, N * QD);
    CARVE(dk, N * KVD);
    CARVE(dv, N * KVD);
    CARVE(datty, N * QD);
    CARVE(dgate, N * F);
    CARVE(dup, N * F);
    CARVE(dact, N * F);
#undef CARVE
    return off;
}

static float *alloc_f32(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) return NULL;
    return p;
}

sg_status sg_tmodel_new(sg_tmodel *m, const sg_tshape *s, int Bmax, int Tmax, int n_threads, sg_error *err)
{
    memset(m, 0, sizeof *m);
    sg_status st = sg_tshape_check(s, err);
    if (st) return st;
    m->s = *s;
    size_t off = 0;
    for (int p = 0; p < P_COUNT; p++) {
        int64_t r, c;
        bool pl;
        sg_tparam_shape(s, p, &r, &c, &pl);
        m->off[p] = off;
        m->len[p] = (size_t)r * (size_t)c * (pl ? (size_t)s->L : 1);
        off += m->len[p];
    }
    m->n_params = off;
    m->Bmax = Bmax;
    m->Tmax = Tmax;
    m->params = alloc_f32(off);
    m->grads = alloc_f32(off);
    m->adam_m = alloc_f32(off);
    m->adam_v = alloc_f32(off);
    m->act_mem = alloc_f32(acts_layout(m, Bmax, Tmax, NULL, NULL));
    m->dact_mem = alloc_f32(dacts_layout(m, Bmax, Tmax, NULL, NULL));
    m->pool = sg_pool_new(n_threads);
    m->n_threads = m->pool ? sg_pool_size(m->pool) : 1;
    m->scratch = alloc_f32((size_t)m->n_threads * (size_t)Tmax * 64); /* attention: ATT_BLOCK x Tmax per thread */
    m->rope_cs = alloc_f32((size_t)Tmax * (size_t)(s->D / 2 > 0 ? s->D / 2 : 1) * 2);
    m->pos = malloc((size_t)Bmax * (size_t)Tmax * sizeof *m->pos);
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || !m->act_mem || !m->dact_mem || !m->pool ||
        !m->scratch || !m->rope_cs || !m->pos) {
        sg_tmodel_free(m);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory for a model of %zu parameters (batch %d x %d)", off, Bmax,
                       Tmax);
    }
    memset(m->params, 0, off * sizeof(float));
    memset(m->grads, 0, off * sizeof(float));
    memset(m->adam_m, 0, off * sizeof(float));
    memset(m->adam_v, 0, off * sizeof(float));
    if (s->arch == SG_ARCH_LLAMA) rope_table(m->rope_cs, Tmax, s->D, s->theta);
    return SG_OK;
}

void sg_tmodel_free(sg_tmodel *m)
{
    free(m->params);
    free(m->grads);
    free(m->adam_m);
    free(m->adam_v);
    free(m->act_mem);
    free(m->dact_mem);
    free(m->scratch);
    free(m->rope_cs);
    free(m->pos);
    if (m->pool) sg_pool_free(m->pool);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ init */

uint64_t sg_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sg_rng_normal(uint64_t *s)
{
    double u1 = ((double)(sg_rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(sg_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void sg_tmodel_init_weights(sg_tmodel *m, double std, uint64_t *rng)
{
    double resid = std / sqrt(2.0 * m->s.L);
    for (int p = 0; p < P_COUNT; p++) {
        float *w = sg_tp(m, p);
        size_t n = m->len[p];
        if (p == P_LN1W || p == P_LN2W || p == P_LNFW) {
            for (size_t i = 0; i < n; i++) w[i] = 1.0f;
        } else if (sg_tparam_decays(p)) {
            double sd = (p == P_WO || p == P_WDOWN) ? resid : std;
            for (size_t i = 0; i < n; i++) w[i] = (float)(sd * sg_rng_normal(rng));
        } else {
            memset(w, 0, n * sizeof(float));
        }
    }
}

/* --------------------------------------------------------------- import */

sg_status sg_tshape_from_model(const sg_model *src, sg_tshape *s, sg_error *err)
{
    const sg_config *c = &src->cfg;
    const char *path = src->path;
    memset(s, 0, sizeof *s);
    bool gpt2 = c->arch == SG_ARCH_GPT2;
    if (!gpt2 && c->arch != SG_ARCH_LLAMA && c->arch != SG_ARCH_MISTRAL)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: training supports llama, mistral and gpt2 models, not %s", path,
                       sg_arch_name(c->arch));
    if (c->sliding_window > 0)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: training does not support sliding-window attention", path);
    if (c->rope_scaling != SG_ROPE_SCALING_NONE || src->rope_freq_factors)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: training does not support RoPE scaling yet", path);
    if (!gpt2 && c->rope_dim != c->head_dim)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: training needs RoPE over the whole head (rope_dim %d, head_dim %d)",
                       path, c->rope_dim, c->head_dim);
    for (int l = 0; l < c->n_layer && !gpt2; l++) {
        const sg_layer *L = &src->layers[l];
        if (L->bq || L->bk || L->bv || L->bo || L->q_norm || L->k_norm)
            return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: training does not support attention biases or q/k norms", path);
    }
    s->arch = gpt2 ? SG_ARCH_GPT2 : SG_ARCH_LLAMA;
    s->V = c->n_vocab;
    s->C = c->n_embd;
    s->L = c->n_layer;
    s->H = c->n_head;
    s->KV = c->n_head_kv;
    s->D = c->head_dim;
    s->F = c->n_ff;
    s->maxT = c->n_ctx_train;
    s->eps = c->norm_eps;
    s->theta = c->rope_theta;
    s->tied = gpt2 || src->output.data == src->tok_embd.data;
    return sg_tshape_check(s, err);
}

/* rows [r0, r0 + n) of w into out (n, cols), dequantized */
static void copy_rows(float *out, const sg_weight *w, int64_t r0, int64_t n)
{
    for (int64_t r = 0; r < n; r++) sg_weight_row(w, r0 + r, out + r * w->cols);
}

/* GGUF llama files store Q/K rows permuted for interleaved RoPE: stored row
 * h*D + 2i + j holds rotate-half row h*D + j*D/2 + i. Undo it in place. */
static void unpermute_rows(float *w, int n_head, int D, int cols, float *tmp)
{
    int half = D / 2;
    for (int h = 0; h < n_head; h++) {
        float *blk = w + (size_t)h * D * cols;
        memcpy(tmp, blk, (size_t)D * cols * sizeof(float));
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(blk + (size_t)(j * half + i) * cols, tmp + (size_t)(2 * i + j) * cols, (size_t)cols * sizeof(float));
    }
}

void sg_tmodel_import(sg_tmodel *m, const sg_model *src)
{
    const sg_tshape *s = &m->s;
    size_t C = (size_t)s->C, QD = (size_t)s->H * s->D, KVD = (size_t)s->KV * s->D, F = (size_t)s->F;
    copy_rows(sg_tp(m, P_WTE), &src->tok_embd, 0, s->V);
    if (s->arch == SG_ARCH_GPT2) copy_rows(sg_tp(m, P_WPE), &src->pos_embd, 0, s->maxT);
    if (!s->tied) copy_rows(sg_tp(m, P_HEAD), &src->output, 0, s->V);
    memcpy(sg_tp(m, P_LNFW), src->out_norm, C * sizeof(float));
    if (s->arch == SG_ARCH_GPT2) memcpy(sg_tp(m, P_LNFB), src->out_norm_b, C * sizeof(float));
    float *tmp = malloc((size_t)s->D * C * sizeof(float));
    for (int l = 0; l < s->L; l++) {
        const sg_layer *L = &src->layers[l];
        memcpy(sg_tp(m, P_LN1W) + l * C, L->attn_norm, C * sizeof(float));
        memcpy(sg_tp(m, P_LN2W) + l * C, L->ffn_norm, C * sizeof(float));
        copy_rows(sg_tp(m, P_WO) + l * C * QD, &L->wo, 0, (int64_t)C);
        copy_rows(sg_tp(m, P_WUP) + l * F * C, &L->w_up, 0, (int64_t)F);
        copy_rows(sg_tp(m, P_WDOWN) + l * C * F, &L->w_down, 0, (int64_t)C);
        if (s->arch == SG_ARCH_GPT2) {
            copy_rows(sg_tp(m, P_WQ) + l * QD * C, &L->wqkv, 0, (int64_t)C);
            copy_rows(sg_tp(m, P_WK) + l * KVD * C, &L->wqkv, (int64_t)C, (int64_t)C);
            copy_rows(sg_tp(m, P_WV) + l * KVD * C, &L->wqkv, 2 * (int64_t)C, (int64_t)C);
            memcpy(sg_tp(m, P_BQ) + l * C, L->bqkv, C * sizeof(float));
            memcpy(sg_tp(m, P_BK) + l * C, L->bqkv + C, C * sizeof(float));
            memcpy(sg_tp(m, P_BV) + l * C, L->bqkv + 2 * C, C * sizeof(float));
            memcpy(sg_tp(m, P_LN1B) + l * C, L->attn_norm_b, C * sizeof(float));
            memcpy(sg_tp(m, P_LN2B) + l * C, L->ffn_norm_b, C * sizeof(float));
            memcpy(sg_tp(m, P_BO) + l * C, L->bo, C * sizeof(float));
            memcpy(sg_tp(m, P_BUP) + l * F, L->b_up, F * sizeof(float));
            memcpy(sg_tp(m, P_BDOWN) + l * C, L->b_down, C * sizeof(float));
        } else {
            float *wq = sg_tp(m, P_WQ) + l * QD * C, *wk = sg_tp(m, P_WK) + l * KVD * C;
            copy_rows(wq, &L->wq, 0, (int64_t)QD);
            copy_rows(wk, &L->wk, 0, (int64_t)KVD);
            copy_rows(sg_tp(m, P_WV) + l * KVD * C, &L->wv, 0, (int64_t)KVD);
            copy_rows(sg_tp(m, P_WGATE) + l * F * C, &L->w_gate, 0, (int64_t)F);
            if (src->cfg.rope_style == SG_ROPE_INTERLEAVED && tmp) {
                unpermute_rows(wq, s->H, s->D, (int)C, tmp);
                unpermute_rows(wk, s->KV, s->D, (int)C, tmp);
            }
        }
    }
    free(tmp);
}

/* --------------------------------------------------------------- forward */

double sg_tmodel_forward(sg_tmodel *m, const int32_t *inp, const int32_t *tgt, const float *mask, int B, int T)
{
    return sg_tmodel_forward_docs(m, inp, NULL, tgt, mask, B, T);
}

double sg_tmodel_forward_docs(sg_tmodel *m, const int32_t *inp, const int32_t *pos, const int32_t *tgt,
                              const float *mask, int B, int T)
{
    const sg_tshape *s = &m->s;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int p = pos ? pos[b * T + t] : t;
            m->pos[b * T + t] = p >= 0 && p <= t ? p : t; /* a document cannot start before the row */
        }
    sg_acts *a = &m->a;
    acts_layout(m, B, T, m->act_mem, a);
    m->B = B;
    m->T = T;
    m->inp = inp;
    m->tgt = tgt;
    m->mask = mask;
    int N = B * T, C = s->C, QD = s->H * s->D, KVD = s->KV * s->D, F = s->F;
    bool gpt2 = s->arch == SG_ARCH_GPT2;
    size_t NC = (size_t)N * C, NQ = (size_t)N * QD, NKV = (size_t)N * KVD, NF = (size_t)N * F;
    size_t att_sz = (size_t)B * s->H * T * T;

    encoder_forward(a->encoded, inp, m->pos, sg_tp(m, P_WTE), gpt2 ? sg_tp(m, P_WPE) : NULL, B, T, C);
    for (int l = 0; l < s->L; l++) {
        const float *x = l == 0 ? a->encoded : a->res2 + (l - 1) * NC;
        float *ln1 = a->ln1 + l * NC, *ln1_mean = a->ln1_mean + (size_t)l * N, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        float *q = a->q + l * NQ, *k = a->k + l * NKV, *v = a->v + l * NKV, *att = a->att + l * att_sz;
        float *atty = a->atty + l * NQ, *res1 = a->res1 + l * NC, *ln2 = a->ln2 + l * NC;
        float *ln2_mean = a->ln2_mean + (size_t)l * N, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        float *fc_up = a->fc_up + l * NF, *fc_act = a->fc_act + l * NF, *res2 = a->res2 + l * NC;
        size_t lC = (size_t)l * C, lQ = (size_t)l * QD, lKV = (size_t)l * KVD, lF = (size_t)l * F;

        if (gpt2) layernorm_forward(ln1, ln1_mean, ln1_rstd, x, sg_tp(m, P_LN1W) + lC, sg_tp(m, P_LN1B) + lC, N, C, s->eps);
        else rmsnorm_forward(ln1, ln1_rstd, x, sg_tp(m, P_LN1W) + lC, N, C, s->eps);
        matmul_forward(m->pool, q, ln1, sg_tp(m, P_WQ) + lQ * C, gpt2 ? sg_tp(m, P_BQ) + lQ : NULL, N, C, QD);
        matmul_forward(m->pool, k, ln1, sg_tp(m, P_WK) + lKV * C, gpt2 ? sg_tp(m, P_BK) + lKV : NULL, N, C, KVD);
        matmul_forward(m->pool, v, ln1, sg_tp(m, P_WV) + lKV * C, gpt2 ? sg_tp(m, P_BV) + lKV : NULL, N, C, KVD);
        if (!gpt2) {
            rope_forward(q, m->rope_cs, m->pos, N, s->H, s->D);
            rope_forward(k, m->rope_cs, m->pos, N, s->KV, s->D);
        }
        attention_forward(m, atty, att, q, k, v, B, T);
        matmul_forward(m->pool, res1, atty, sg_tp(m, P_WO) + lC * QD, gpt2 ? sg_tp(m, P_BO) + lC : NULL, N, QD, C);
        for (size_t i = 0; i < NC; i++) res1[i] += x[i];

        if (gpt2) layernorm_forward(ln2, ln2_mean, ln2_rstd, res1, sg_tp(m, P_LN2W) + lC, sg_tp(m, P_LN2B) + lC, N, C, s->eps);
        else rmsnorm_forward(ln2, ln2_rstd, res1, sg_tp(m, P_LN2W) + lC, N, C, s->eps);
        if (gpt2) {
            matmul_forward(m->pool, fc_up, ln2, sg_tp(m, P_WUP) + lF * C, sg_tp(m, P_BUP) + lF, N, C, F);
            gelu_forward(fc_act, fc_up, NF);
        } else {
            float *fc_gate = a->fc_gate + l * NF;
            matmul_forward(m->pool, fc_gate, ln2, sg_tp(m, P_WGATE) + lF * C, NULL, N, C, F);
            matmul_forward(m->pool, fc_up, ln2, sg_tp(m, P_WUP) + lF * C, NULL, N, C, F);
            swiglu_forward(fc_act, fc_gate, fc_up, NF);
        }
        matmul_forward(m->pool, res2, fc_act, sg_tp(m, P_WDOWN) + lC * F, gpt2 ? sg_tp(m, P_BDOWN) + lC : NULL, N, F, C);
        for (size_t i = 0; i < NC; i++) res2[i] += res1[i];
    }
    const float *xL = a->res2 + (size_t)(s->L - 1) * NC;
    if (gpt2) layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, xL, sg_tp(m, P_LNFW), sg_tp(m, P_LNFB), N, C, s->eps);
    else rmsnorm_forward(a->lnf, a->lnf_rstd, xL, sg_tp(m, P_LNFW), N, C, s->eps);
    const float *head = s->tied ? sg_tp(m, P_WTE) : sg_tp(m, P_HEAD);
    matmul_forward(m->pool, a->logits, a->lnf, head, NULL, N, C, s->V);
    if (!tgt) return 0;
    return crossentropy_forward(m, a->losses, a->logits, tgt, mask, N, s->V);
}

/* -------------------------------------------------------------- backward */

void sg_tmodel_backward(sg_tmodel *m, float scale)
{
    const sg_tshape *s = &m->s;
    int B = m->B, T = m->T, N = B * T, C = s->C, QD = s->H * s->D, KVD = s->KV * s->D, F = s->F;
    bool gpt2 = s->arch == SG_ARCH_GPT2;
    sg_acts *a = &m->a;
    sg_dacts *d = &m->d;
    dacts_layout(m, B, T, m->dact_mem, d);
    size_t NC = (size_t)N * C, NQ = (size_t)N * QD, NKV = (size_t)N * KVD, NF = (size_t)N * F;
    size_t att_sz = (size_t)B * s->H * T * T;

    crossentropy_backward(m, a->logits, m->tgt, m->mask, scale, N, s->V);
    const float *head = s->tied ? sg_tp(m, P_WTE) : sg_tp(m, P_HEAD);
    float *dhead = s->tied ? sg_tg(m, P_WTE) : sg_tg(m, P_HEAD);
    matmul_backward(m->pool, d->dln, dhead, NULL, a->logits, a->lnf, head, N, C, s->V, false);
    memset(d->dres, 0, NC * sizeof(float));
    const float *xL = a->res2 + (size_t)(s->L - 1) * NC;
    if (gpt2)
        layernorm_backward(d->dres, sg_tg(m, P_LNFW), sg_tg(m, P_LNFB), d->dln, xL, sg_tp(m, P_LNFW), a->lnf_mean,
                           a->lnf_rstd, N, C);
    else rmsnorm_backward(d->dres, sg_tg(m, P_LNFW), d->dln, xL, sg_tp(m, P_LNFW), a->lnf_rstd, N, C);

    for (int l = s->L - 1; l >= 0; l--) {
        const float *x = l == 0 ? a->encoded : a->res2 + (l - 1) * NC;
        const float *ln1 = a->ln1 + l * NC, *ln1_mean = a->ln1_mean + (size_t)l * N, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        const float *q = a->q + l * NQ, *k = a->k + l * NKV, *v = a->v + l * NKV, *att = a->att + l * att_sz;
        const float *atty = a->atty + l * NQ, *res1 = a->res1 + l * NC, *ln2 = a->ln2 + l * NC;
        const float *ln2_mean = a->ln2_mean + (size_t)l * N, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        const float *fc_up = a->fc_up + l * NF, *fc_act = a->fc_act + l * NF;
        size_t lC = (size_t)l * C, lQ = (size_t)l * QD, lKV = (size_t)l * KVD, lF = (size_t)l * F;

        /* feed-forward: res2 = res1 + act Wd^T (+bd) */
        matmul_backward(m->pool, d->dact, sg_tg(m, P_WDOWN) + lC * F, gpt2 ? sg_tg(m, P_BDOWN) + lC : NULL, d->dres, fc_act,
                        sg_tp(m, P_WDOWN) + lC * F, N, F, C, false);
        if (gpt2) {
            gelu_backward(d->dup, fc_up, d->dact, NF);
            matmul_backward(m->pool, d->dln, sg_tg(m, P_WUP) + lF * C, sg_tg(m, P_BUP) + lF, d->dup, ln2,
                            sg_tp(m, P_WUP) + lF * C, N, C, F, false);
            layernorm_backward(d->dres, sg_tg(m, P_LN2W) + lC, sg_tg(m, P_LN2B) + lC, d->dln, res1,
                               sg_tp(m, P_LN2W) + lC, ln2_mean, ln2_rstd, N, C);
        } else {
            const float *fc_gate = a->fc_gate + l * NF;
            swiglu_backward(d->dgate, d->dup, d->dact, fc_gate, fc_up, NF);
            matmul_backward(m->pool, d->dln, sg_tg(m, P_WGATE) + lF * C, NULL, d->dgate, ln2, sg_tp(m, P_WGATE) + lF * C, N,
                            C, F, false);
            matmul_backward(m->pool, d->dln, sg_tg(m, P_WUP) + lF * C, NULL, d->dup, ln2, sg_tp(m, P_WUP) + lF * C, N, C, F,
                            true);
            rmsnorm_backward(d->dres, sg_tg(m, P_LN2W) + lC, d->dln, res1, sg_tp(m, P_LN2W) + lC, ln2_rstd, N, C);
        }

        /* attention: res1 = x + atty Wo^T (+bo) */
        matmul_backward(m->pool, d->datty, sg_tg(m, P_WO) + lC * QD, gpt2 ? sg_tg(m, P_BO) + lC : NULL, d->dres, atty,
                        sg_tp(m, P_WO) + lC * QD, N, QD, C, false);
        memset(d->dq, 0, NQ * sizeof(float));
        memset(d->dk, 0, NKV * sizeof(float));
        memset(d->dv, 0, NKV * sizeof(float));
        attention_backward(m, d->dq, d->dk, d->dv, d->datty, att, q, k, v, B, T);
        if (!gpt2) {
            rope_backward(d->dq, m->rope_cs, m->pos, N, s->H, s->D);
            rope_backward(d->dk, m->rope_cs, m->pos, N, s->KV, s->D);
        }
        matmul_backward(m->pool, d->dln, sg_tg(m, P_WQ) + lQ * C, gpt2 ? sg_tg(m, P_BQ) + lQ : NULL, d->dq, ln1,
                        sg_tp(m, P_WQ) + lQ * C, N, C, QD, false);
        matmul_backward(m->pool, d->dln, sg_tg(m, P_WK) + lKV * C, gpt2 ? sg_tg(m, P_BK) + lKV : NULL, d->dk, ln1,
                        sg_tp(m, P_WK) + lKV * C, N, C, KVD, true);
        matmul_backward(m->pool, d->dln, sg_tg(m, P_WV) + lKV * C, gpt2 ? sg_tg(m, P_BV) + lKV : NULL, d->dv, ln1,
                        sg_tp(m, P_WV) + lKV * C, N, C, KVD, true);
        if (gpt2)
            layernorm_backward(d->dres, sg_tg(m, P_LN1W) + lC, sg_tg(m, P_LN1B) + lC, d->dln, x, sg_tp(m, P_LN1W) + lC,
                               ln1_mean, ln1_rstd, N, C);
        else rmsnorm_backward(d->dres, sg_tg(m, P_LN1W) + lC, d->dln, x, sg_tp(m, P_LN1W) + lC, ln1_rstd, N, C);
    }
    encoder_backward(sg_tg(m, P_WTE), gpt2 ? sg_tg(m, P_WPE) : NULL, d->dres, m->inp, m->pos, B, T, C);
}
