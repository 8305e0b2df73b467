/*
 * layers.c -- forward and backward of every layer, in pairs (llm.c style).
 *
 * Shapes: B sequences of T tokens, N = B*T rows; C hidden, H query heads and
 * KV key/value heads of D dimensions, F feed-forward, V vocabulary. Every
 * tensor is row-major float32. Backward functions ADD into the gradients of
 * their inputs and parameters (+=), so a residual stream's gradient and the
 * gradients of parameters used twice (tied embeddings) and of several
 * micro-batches (accumulation) add up without extra buffers.
 *
 * Matrix products are tiles of single-threaded OpenBLAS sgemm on the shared
 * sg_pool (as tensor/matmul.c does for inference); attention and the
 * cross-entropy run their rows on the same pool.
 * Every reduction has a fixed order, so results do not depend on thread
 * timing: a run is deterministic for a given seed, thread count and world
 * size.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "train/train.h"

/* --------------------------------------------------------------- encoder */

/* out (B,T,C) = wte[inp] (+ wpe[t] for GPT-2) */
void encoder_forward(float *out, const int32_t *inp, const int32_t *pos, const float *wte, const float *wpe, int B,
                     int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *e = wte + (size_t)inp[b * T + t] * C;
            if (wpe) {
                const float *p = wpe + (size_t)pos[b * T + t] * C;
                for (int i = 0; i < C; i++) o[i] = e[i] + p[i];
            } else {
                memcpy(o, e, (size_t)C * sizeof(float));
            }
        }
}

void encoder_backward(float *dwte, float *dwpe, const float *dout, const int32_t *inp, const int32_t *pos, int B, int T,
                      int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *e = dwte + (size_t)inp[b * T + t] * C;
            for (int i = 0; i < C; i++) e[i] += d[i];
            if (dwpe) {
                float *p = dwpe + (size_t)pos[b * T + t] * C;
                for (int i = 0; i < C; i++) p[i] += d[i];
            }
        }
}

/* --------------------------------------------------------------- RMSNorm */

/* out (N,C) = inp * rstd * w, rstd (N) = 1 / sqrt(mean(inp^2) + eps) */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)x[i] * x[i];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        for (int i = 0; i < C; i++) o[i] = x[i] * r * w[i];
        rstd[n] = r;
    }
}

/* dx = r * g - r^3 / C * x * sum(g * x), g = w * dout; dw += dout * x * r */
void rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w, const float *rstd,
                      int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n];
        double gx = 0;
        for (int i = 0; i < C; i++) gx += (double)w[i] * dy[i] * x[i];
        float k = (float)(gx * r * r * r / C);
        for (int i = 0; i < C; i++) {
            dx[i] += r * w[i] * dy[i] - k * x[i];
            dw[i] += dy[i] * x[i] * r;
        }
    }
}

/* ------------------------------------------------------------- LayerNorm */

/* out (N,C) = (inp - mean) * rstd * w + b */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, int N,
                       int C, float eps)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        double mu = 0, var = 0;
        for (int i = 0; i < C; i++) mu += x[i];
        mu /= C;
        for (int i = 0; i < C; i++) var += ((double)x[i] - mu) * ((double)x[i] - mu);
        var /= C;
        float r = (float)(1.0 / sqrt(var + eps)), m = (float)mu;
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * r * w[i] + b[i];
        mean[n] = m;
        rstd[n] = r;
    }
}

/* xhat = (x - mean) * rstd; g = w * dout;
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dw += dout * xhat; db += dout */
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], r = rstd[n];
        double sg = 0, sgx = 0;
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * r, g = w[i] * dy[i];
            sg += g;
            sgx += (double)g * xh;
        }
        float mg = (float)(sg / C), mgx = (float)(sgx / C);
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * r, g = w[i] * dy[i];
            dx[i] += r * (g - mg - xh * mgx);
            dw[i] += dy[i] * xh;
            db[i] += dy[i];
        }
    }
}

/* ---------------------------------------------------------------- matmul */

/* The products run as tiles on the shared pool, each tile one
 * single-threaded cblas_sgemm (OpenBLAS is set to one thread): rows of the
 * output for out and dinp, rows of dW for the weight gradient. Tiles are a
 * function of the shape and the thread count only, so every element is
 * computed the same way on every run. */
typedef struct mm_job {
    float *out;
    const float *a, *b;
    int M, N, K, rows_per_task;
    bool trans_a, trans_b;
    float beta;
    int lda, ldb, ldc;
} mm_job;

/* Task: rows [r0, r1) of out (M, N) = op(a) (M, K) . op(b) (K, N) + beta out */
static void mm_task(void *arg, int task, int thread)
{
    const mm_job *j = arg;
    int r0 = task * j->rows_per_task, r1 = r0 + j->rows_per_task < j->M ? r0 + j->rows_per_task : j->M;
    const float *a = j->trans_a ? j->a + r0 : j->a + (size_t)r0 * j->lda;
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
                r1 - r0, j->N, j->K, 1.0f, a, j->lda, j->b, j->ldb, j->beta, j->out + (size_t)r0 * j->ldc, j->ldc);
}

static void mm_run(sg_pool *pool, mm_job *j)
{
    int T = sg_pool_size(pool), tasks = T == 1 ? 1 : 4 * T;
    if (tasks > j->M / 16) tasks = j->M / 16 > 0 ? j->M / 16 : 1;
    j->rows_per_task = (j->M + tasks - 1) / tasks;
    sg_pool_run(pool, mm_task, j, (j->M + j->rows_per_task - 1) / j->rows_per_task);
}

/* out (N,OC) = inp (N,IC) . w (OC,IC)^T (+ bias (OC)) */
void matmul_forward(sg_pool *pool, float *out, const float *inp, const float *w, const float *bias, int N, int IC,
                    int OC)
{
    mm_job j = {.out = out, .a = inp, .b = w, .M = N, .N = OC, .K = IC, .trans_b = true, .lda = IC, .ldb = IC,
                .ldc = OC};
    mm_run(pool, &j);
    if (bias)
        for (int n = 0; n < N; n++) {
            float *o = out + (size_t)n * OC;
            for (int k = 0; k < OC; k++) o[k] += bias[k];
        }
}

/* dinp (N,IC) (+)= dout (N,OC) . w (OC,IC); dw (OC,IC) += dout^T . inp;
 * dbias (OC) += column sums of dout */
void matmul_backward(sg_pool *pool, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int IC, int OC, bool accumulate_dinp)
{
    if (dinp) {
        mm_job j = {.out = dinp, .a = dout, .b = w, .M = N, .N = IC, .K = OC, .beta = accumulate_dinp ? 1.0f : 0.0f,
                    .lda = OC, .ldb = IC, .ldc = IC};
        mm_run(pool, &j);
    }
    mm_job g = {.out = dw, .a = dout, .b = inp, .M = OC, .N = IC, .K = N, .trans_a = true, .beta = 1.0f, .lda = OC,
                .ldb = IC, .ldc = IC};
    mm_run(pool, &g);
    if (dbias)
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            for (int k = 0; k < OC; k++) dbias[k] += d[k];
        }
}

/* ------------------------------------------------------------------ RoPE */

/* cs (T, D/2, 2) = cos, sin of t * theta^(-2i/D), angles in double as the
 * inference engine computes them. */
void rope_table(float *cs, int T, int D, double theta)
{
    int half = D / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = (double)t * pow(theta, -2.0 * i / (double)D);
            cs[((size_t)t * half + i) * 2] = (float)cos(a);
            cs[((size_t)t * half + i) * 2 + 1] = (float)sin(a);
        }
}

/* x (N, n_head, D) rotated in place, rotate-half pairs (i, i + D/2), row n
 * at position n mod T:  x0' = x0 c - x1 s,  x1' = x0 s + x1 c */
void rope_forward(float *x, const float *cs, const int32_t *pos, int N, int n_head, int D)
{
    int half = D / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cs + (size_t)pos[n] * half * 2;
        for (int h = 0; h < n_head; h++) {
            float *v = x + ((size_t)n * n_head + h) * D;
            for (int i = 0; i < half; i++) {
                float x0 = v[i], x1 = v[i + half], co = c[2 * i], si = c[2 * i + 1];
                v[i] = x0 * co - x1 * si;
                v[i + half] = x0 * si + x1 * co;
            }
        }
    }
}

/* The transpose of the rotation, in place on the gradient. */
void rope_backward(float *dx, const float *cs, const int32_t *pos, int N, int n_head, int D)
{
    int half = D / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cs + (size_t)pos[n] * half * 2;
        for (int h = 0; h < n_head; h++) {
            float *v = dx + ((size_t)n * n_head + h) * D;
            for (int i = 0; i < half; i++) {
                float d0 = v[i], d1 = v[i + half], co = c[2 * i], si = c[2 * i + 1];
                v[i] = d0 * co + d1 * si;
                v[i + half] = -d0 * si + d1 * co;
            }
        }
    }
}

/* ------------------------------------------------------------- attention */

/* Attention per (sequence, head) as sgemm calls over blocks of ATT_BLOCK
 * query rows: rows [r0, r1) only need keys [0, r1) (causal), so about half
 * of the T x T products are skipped. Softmax and its gradient are row loops
 * over the stored probabilities; a token's row covers keys u0 = t - pos[t]
 * .. t (its document, see sg_tmodel_forward_docs), the rest are exact zeros,
 * which keeps the gradient formulas exact for masked entries. Each task
 * runs single-threaded sgemm calls in a fixed order: deterministic. */
#define ATT_BLOCK 64

typedef struct att_job {
    sg_tmodel *m;
    float *out, *att, *dq, *dk, *dv;
    const float *q, *k, *v, *datty, *catt;
    int B, T;
} att_job;

/* Task (b, h): att[b,h,t,u] = softmax_u(q_t . k_u / sqrt(D)) over u0..t,
 * out_t = sum_u att * v_u. Query head h reads key/value head h / (H/KV). */
static void att_fwd_task(void *arg, int task, int thread)
{
    (void)thread;
    const att_job *j = arg;
    const sg_tshape *s = &j->m->s;
    int H = s->H, D = s->D, T = j->T, QD = H * D, KVD = s->KV * D;
    int b = task / H, h = task % H, kh = h / (H / s->KV);
    float scale = 1.0f / sqrtf((float)D);
    const int32_t *pos = j->m->pos + (size_t)b * T;
    const float *Q = j->q + (size_t)b * T * QD + (size_t)h * D;
    const float *K = j->k + (size_t)b * T * KVD + (size_t)kh * D;
    const float *V = j->v + (size_t)b * T * KVD + (size_t)kh * D;
    float *A = j->att + ((size_t)b * H + h) * T * T;
    float *O = j->out + (size_t)b * T * QD + (size_t)h * D;
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, D, scale, Q + (size_t)r0 * QD, QD, K, KVD,
                    0.0f, A + (size_t)r0 * T, T);
        for (int t = r0; t < r1; t++) {
            float *a = A + (size_t)t * T;
            int u0 = t - pos[t];
            float mx = -INFINITY;
            for (int u = u0; u <= t; u++) mx = a[u] > mx ? a[u] : mx;
            float sum = 0;
            for (int u = u0; u <= t; u++) {
                a[u] = expf(a[u] - mx);
                sum += a[u];
            }
            float inv = 1.0f / sum;
            for (int u = 0; u < u0; u++) a[u] = 0;
            for (int u = u0; u <= t; u++) a[u] *= inv;
            for (int u = t + 1; u < T; u++) a[u] = 0;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, D, r1, 1.0f, A + (size_t)r0 * T, T, V, KVD,
                    0.0f, O + (size_t)r0 * QD, QD);
    }
}

/* out (N,H*D), att (B,H,T,T) from q (N,H*D), k, v (N,KV*D) */
void attention_forward(sg_tmodel *m, float *out, float *att, const float *q, const float *k, const float *v, int B,
                       int T)
{
    att_job j = {.m = m, .out = out, .att = att, .q = q, .k = k, .v = v, .B = B, .T = T};
    sg_pool_run(m->pool, att_fwd_task, &j, B * m->s.H);
}

/* Task (b, kv head): every query head of the group, so the task alone
 * writes dk/dv of its key/value head (no races, fixed order). Per block of
 * query rows [r0, r1), keys [0, r1):
 *   dP = dO V^T;  dS = P (dP - rowsum(P dP)) / sqrt(D)
 *   dV += P^T dO;  dQ += dS K;  dK += dS^T Q */
static void att_bwd_task(void *arg, int task, int thread)
{
    const att_job *j = arg;
    const sg_tshape *s = &j->m->s;
    int H = s->H, KV = s->KV, D = s->D, T = j->T, QD = H * D, KVD = KV * D, G = H / KV;
    int b = task / KV, kh = task % KV;
    float scale = 1.0f / sqrtf((float)D);
    float *dS = j->m->scratch + (size_t)thread * j->m->Tmax * ATT_BLOCK;
    const int32_t *pos = j->m->pos + (size_t)b * T;
    const float *K = j->k + (size_t)b * T * KVD + (size_t)kh * D;
    const float *V = j->v + (size_t)b * T * KVD + (size_t)kh * D;
    float *dK = j->dk + (size_t)b * T * KVD + (size_t)kh * D;
    float *dV = j->dv + (size_t)b * T * KVD + (size_t)kh * D;
    for (int h = kh * G; h < (kh + 1) * G; h++) {
        const float *P = j->catt + ((size_t)b * H + h) * T * T;
        const float *dO = j->datty + (size_t)b * T * QD + (size_t)h * D;
        const float *Q = j->q + (size_t)b * T * QD + (size_t)h * D;
        float *dQ = j->dq + (size_t)b * T * QD + (size_t)h * D;
        for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
            int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, n = r1 - r0;
            /* dS (n, r1) with leading dimension r1 */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r1, D, 1.0f, dO + (size_t)r0 * QD, QD, V, KVD,
                        0.0f, dS, r1);
            for (int t = r0; t < r1; t++) {
                const float *p = P + (size_t)t * T;
                float *d = dS + (size_t)(t - r0) * r1;
                int u0 = t - pos[t];
                float sum = 0;
                for (int u = u0; u <= t; u++) sum += p[u] * d[u];
                for (int u = 0; u < u0; u++) d[u] = 0;
                for (int u = u0; u <= t; u++) d[u] = p[u] * (d[u] - sum) * scale;
                for (int u = t + 1; u < r1; u++) d[u] = 0;
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, D, n, 1.0f, P + (size_t)r0 * T, T,
                        dO + (size_t)r0 * QD, QD, 1.0f, dV, KVD);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, D, r1, 1.0f, dS, r1, K, KVD, 1.0f,
                        dQ + (size_t)r0 * QD, QD);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, D, n, 1.0f, dS, r1, Q + (size_t)r0 * QD, QD, 1.0f,
                        dK, KVD);
        }
    }
}

/* dq (N,H*D), dk, dv (N,KV*D) += gradients through attention; they must be
 * zeroed (or hold other contributions) before the call. */
void attention_backward(sg_tmodel *m, float *dq, float *dk, float *dv, const float *datty, const float *att,
                        const float *q, const float *k, const float *v, int B, int T)
{
    att_job j = {.m = m, .dq = dq, .dk = dk, .dv = dv, .datty = datty, .catt = att, .q = q, .k = k, .v = v,
                 .B = B, .T = T};
    sg_pool_run(m->pool, att_bwd_task, &j, B * m->s.KV);
}

/* ------------------------------------------------------------ activations */

static inline float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* out = silu(gate) * up, silu(x) = x * sigmoid(x); (n) each */
void swiglu_forward(float *out, const float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* dgate = dout * up * sig (1 + g (1 - sig)); dup = dout * silu(g) (overwrite) */
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], sg = sigmoidf(g);
        dgate[i] = dout[i] * up[i] * sg * (1.0f + g * (1.0f - sg));
        dup[i] = dout[i] * g * sg;
    }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* out = 0.5 x (1 + tanh(k (x + 0.044715 x^3)))  (GPT-2's gelu_new) */
void gelu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

/* dinp = dout * (0.5 (1 + th) + 0.5 x (1 - th^2) k (1 + 3 * 0.044715 x^2)) (overwrite) */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
        float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = dout[i] * d;
    }
}

/* ---------------------------------------------------------- cross-entropy */

typedef struct ce_job {
    float *logits, *losses;
    const int32_t *tgt;
    const float *mask;
    float scale;
    int V;
} ce_job;

/* Row n: logits -> probabilities in place; loss = logsumexp - logit[target]. */
static void ce_fwd_task(void *arg, int n, int thread)
{
    const ce_job *j = arg;
    float *l = j->logits + (size_t)n * j->V;
    float mx = -INFINITY;
    for (int i = 0; i < j->V; i++)
        if (l[i] > mx) mx = l[i];
    double sum = 0;
    float lt = l[j->tgt[n]];
    for (int i = 0; i < j->V; i++) {
        l[i] = expf(l[i] - mx);
        sum += l[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < j->V; i++) l[i] *= inv;
    j->losses[n] = (float)(log(sum) + mx - lt);
}

/* losses (N) and probabilities (N,V) in place of logits; returns sum(mask * loss). */
double crossentropy_forward(sg_tmodel *m, float *losses, float *logits, const int32_t *tgt, const float *mask, int N,
                            int V)
{
    ce_job j = {.logits = logits, .losses = losses, .tgt = tgt, .V = V};
    sg_pool_run(m->pool, ce_fwd_task, &j, N);
    double total = 0;
    for (int n = 0; n < N; n++) total += (double)(mask ? mask[n] : 1.0f) * losses[n];
    return total;
}

static void ce_bwd_task(void *arg, int n, int thread)
{
    const ce_job *j = arg;
    float *p = j->logits + (size_t)n * j->V;
    float w = (j->mask ? j->mask[n] : 1.0f) * j->scale;
    for (int i = 0; i < j->V; i++) p[i] *= w;
    p[j->tgt[n]] -= w;
}

/* probabilities -> dlogits in place: (p - onehot(target)) * mask * scale */
void crossentropy_backward(sg_tmodel *m, float *logits, const int32_t *tgt, const float *mask, float scale, int N,
                           int V)
{
    ce_job j = {.logits = logits, .tgt = tgt, .mask = mask, .scale = scale, .V = V};
    sg_pool_run(m->pool, ce_bwd_task, &j, N);
}
