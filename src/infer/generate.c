/*
 * generate.c -- the generation loop, with no knowledge of text.
 *
 *   prompt ──► sg_forward in chunks of n_batch (logits of the last token only)
 *          ──► loop: sample ─► accept into the penalty window
 *                    ─► end-of-generation token?  stop (EOG, not reported)
 *                    ─► on_token(id, logprobs)     false: stop (CALLBACK)
 *                    ─► max_tokens reached?        stop (LENGTH)
 *                    ─► context full?              stop (CONTEXT)
 *                    ─► sg_forward(token at the next position)
 *
 * The last reported token is never fed back (nobody needs its logits), as in
 * `stargate generate`. Text concerns -- streaming detokenization, stop
 * strings, chat templates -- live in the callback the CLI and server pass.
 */
#include <stdlib.h>

#include "base/error.h"
#include "stargate.h"

sg_generate_params sg_generate_default_params(void)
{
    sg_generate_params p = {0};
    return p;
}

const char *sg_finish_name(sg_finish f)
{
    switch (f) {
    case SG_FINISH_ERROR: return "error";
    case SG_FINISH_CALLBACK: return "stop";
    case SG_FINISH_EOG: return "eog";
    case SG_FINISH_LENGTH: return "length";
    case SG_FINISH_CONTEXT: return "context";
    }
    return "?";
}

/* Feed toks[0..n) to sequence seq from position pos0, n_batch at a time;
 * only the very last token asks for logits. */
static sg_status prefill(sg_ctx *c, const int32_t *toks, int n, int seq, int pos0, sg_error *err)
{
    int nb = sg_ctx_n_batch(c);
    if (nb > n) nb = n;
    int32_t *pos = malloc((size_t)nb * sizeof *pos), *sq = malloc((size_t)nb * sizeof *sq);
    int8_t *want = malloc((size_t)nb);
    sg_status st = SG_OK;
    if (!pos || !sq || !want) st = sg_fail(err, SG_ERR_NOMEM, "generate: out of memory");
    for (int i0 = 0; st == SG_OK && i0 < n; i0 += nb) {
        int m = n - i0 < nb ? n - i0 : nb;
        for (int i = 0; i < m; i++) {
            pos[i] = pos0 + i0 + i;
            sq[i] = seq;
            want[i] = i0 + i == n - 1;
        }
        sg_batch b = {.n_tokens = m, .token = toks + i0, .pos = pos, .seq = sq, .want_logits = want};
        st = sg_forward(c, &b, err);
    }
    free(pos);
    free(sq);
    free(want);
    return st;
}

static bool is_eog(const sg_generate_params *p, int32_t t)
{
    for (int i = 0; i < p->n_eog; i++)
        if (p->eog[i] == t) return true;
    return false;
}

sg_finish sg_generate(sg_ctx *c, sg_sampler *s, const int32_t *prompt, int n_prompt, const sg_generate_params *p,
                      sg_on_token on_token, void *ud, int *n_generated, sg_error *err)
{
    sg_generate_params dp = sg_generate_default_params();
    if (!p) p = &dp;
    if (n_generated) *n_generated = 0;
    if (!c || !s || !prompt || n_prompt < 1 || !on_token || (p->n_eog > 0 && !p->eog)) {
        sg_fail(err, SG_ERR_INVALID, "generate: needs a context, a sampler, a callback and at least one prompt token");
        return SG_FINISH_ERROR;
    }
    int seq = p->seq, n_ctx = sg_ctx_n_ctx(c);
    int pos = sg_kv_len(c, seq);
    if (pos < 0 || pos + n_prompt > n_ctx) {
        sg_fail(err, SG_ERR_INVALID, "generate: %d prompt tokens after %d cached do not fit the context of %d",
                n_prompt, pos < 0 ? 0 : pos, n_ctx);
        return SG_FINISH_ERROR;
    }
    if (p->accept_prompt)
        for (int i = 0; i < n_prompt; i++) sg_sampler_accept(s, prompt[i]);
    if (prefill(c, prompt, n_prompt, seq, pos, err) != SG_OK) return SG_FINISH_ERROR;
    pos += n_prompt;

    sg_sample_info info;
    int n = 0;
    for (;;) {
        const float *logits = sg_ctx_logits(c, 0);
        if (!logits) {
            sg_fail(err, SG_ERR_INVALID, "generate: the forward pass returned no logits");
            return SG_FINISH_ERROR;
        }
        int32_t t = sg_sampler_sample(s, logits, p->want_logprobs ? &info : NULL);
        if (t < 0) {
            sg_fail(err, SG_ERR_INVALID, "generate: no token can be sampled (every logit is -inf or NaN)");
            return SG_FINISH_ERROR;
        }
        sg_sampler_accept(s, t);
        if (is_eog(p, t)) return SG_FINISH_EOG;
        bool go = on_token(ud, t, p->want_logprobs ? &info : NULL);
        n++;
        if (n_generated) *n_generated = n;
        if (!go) return SG_FINISH_CALLBACK;
        if (p->max_tokens > 0 && n >= p->max_tokens) return SG_FINISH_LENGTH;
        if (pos >= n_ctx) return SG_FINISH_CONTEXT;
        int32_t sq = seq;
        sg_batch b = {.n_tokens = 1, .token = &t, .pos = &pos, .seq = &sq, .want_logits = NULL};
        if (sg_forward(c, &b, err) != SG_OK) return SG_FINISH_ERROR;
        pos++;
    }
}
