/*
 * optim.c -- AdamW, the learning-rate schedule, global-norm clipping.
 *
 * AdamW follows PyTorch's torch.optim.AdamW (decoupled weight decay,
 * Loshchilov & Hutter) step for step, so the reference loop in
 * tools/train_reference.py can use it unchanged:
 *
 *   p -= lr * wd * p                      (matrices only: no decay on norms/biases)
 *   m  = b1 m + (1 - b1) g
 *   v  = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * Schedule (llm.c's): linear warmup to lr over warmup_steps, then a cosine
 * from lr to min_lr ending at max_steps.
 */
#include <math.h>

#include "train/train.h"

double sg_lr_at(const sg_train_config *c, int step)
{
    if (step < c->warmup_steps) return c->lr * (double)(step + 1) / (double)c->warmup_steps;
    if (step >= c->max_steps || c->max_steps <= c->warmup_steps) return c->min_lr;
    double ratio = (double)(step - c->warmup_steps) / (double)(c->max_steps - c->warmup_steps);
    double coeff = 0.5 * (1.0 + cos(3.14159265358979323846 * ratio));
    return c->min_lr + coeff * (c->lr - c->min_lr);
}

double sg_grad_norm(const sg_tmodel *m)
{
    double ss = 0;
    for (size_t i = 0; i < m->n_params; i++) ss += (double)m->grads[i] * m->grads[i];
    return sqrt(ss);
}

void sg_grad_clip(sg_tmodel *m, double norm, double clip)
{
    if (clip <= 0) return;
    double f = clip / (norm + 1e-6);
    if (f >= 1.0) return;
    float ff = (float)f;
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= ff;
}

void sg_adamw_step(sg_tmodel *m, const sg_train_config *c, double lr, int t)
{
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->adam_eps;
    double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - lr * c->weight_decay);
    for (int p = 0; p < P_COUNT; p++) {
        size_t n = m->len[p], o = m->off[p];
        float *w = m->params + o, *g = m->grads + o, *mm = m->adam_m + o, *vv = m->adam_v + o;
        bool dec = sg_tparam_decays(p) && c->weight_decay > 0;
        for (size_t i = 0; i < n; i++) {
            if (dec) w[i] *= decay;
            mm[i] = b1 * mm[i] + (1.0f - b1) * g[i];
            vv[i] = b2 * vv[i] + (1.0f - b2) * g[i] * g[i];
            float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
            w[i] -= step_size * mm[i] / denom;
        }
    }
}
