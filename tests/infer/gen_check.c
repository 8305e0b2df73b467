/*
 * gen_check.c -- the generation loop (src/infer/generate.c) on a real model.
 *
 *   gen_check MODEL "PROMPT IDS" "EXPECTED IDS"
 *
 * EXPECTED IDS is what `stargate generate` printed for the prompt (greedy).
 * Checks, each on a fresh context:
 *   - greedy generation through sg_generate gives exactly those ids, with
 *     prefill in one batch and in chunks of 3 (n_batch = 3);
 *   - max_tokens stops with LENGTH, a callback returning false with
 *     CALLBACK, an end-of-generation id with EOG (not reported), a small
 *     context with CONTEXT after n_ctx - n_prompt + 1 tokens;
 *   - a second call continues the same sequence: prompt + first half, then
 *     the next ids, equals the one-call result;
 *   - sampling with a seed is reproducible end to end, and logprobs reach
 *     the callback.
 * Prints one line per check; exit 0 when all pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stargate.h"

static int fails;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fails++;                                                                               \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static int parse_ids(const char *s, int32_t *out, int cap)
{
    int n = 0;
    char *end;
    while (n < cap) {
        long v = strtol(s, &end, 10);
        if (end == s) break;
        out[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

typedef struct collect {
    int32_t ids[512];
    int n, stop_after;
    int n_info;
    float last_logprob;
} collect;

static bool on_token(void *ud, int32_t token, const sg_sample_info *info)
{
    collect *c = ud;
    if (c->n < 512) c->ids[c->n++] = token;
    if (info) {
        c->n_info++;
        c->last_logprob = info->logprob;
    }
    return !(c->stop_after > 0 && c->n >= c->stop_after);
}

/* One generation on a fresh context. */
static sg_finish gen(sg_model *m, int n_ctx, int n_batch, const sg_sampler_params *sp, const int32_t *prompt, int np,
                     const sg_generate_params *gp, collect *c, int *n_gen)
{
    sg_ctx_params cp = sg_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = 2;
    sg_ctx *ctx;
    sg_error err = {0};
    if (sg_ctx_new(m, &cp, &ctx, &err)) {
        printf("FAIL context: %s\n", err.msg);
        exit(1);
    }
    sg_sampler *s = sg_sampler_new(sp, sg_model_config(m)->n_vocab);
    sg_finish f = sg_generate(ctx, s, prompt, np, gp, on_token, c, n_gen, &err);
    if (f == SG_FINISH_ERROR) printf("generate error: %s\n", err.msg);
    sg_sampler_free(s);
    sg_ctx_free(ctx);
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gen_check MODEL \"PROMPT IDS\" \"EXPECTED IDS\"\n");
        return 2;
    }
    int32_t prompt[256], want[256];
    int np = parse_ids(argv[2], prompt, 256), nw = parse_ids(argv[3], want, 256);
    if (np < 1 || nw < 6) {
        fprintf(stderr, "gen_check: need a prompt and at least 6 expected ids\n");
        return 2;
    }
    sg_model *m;
    sg_error err = {0};
    if (sg_model_load(argv[1], &m, &err)) {
        printf("FAIL load: %s\n", err.msg);
        return 1;
    }
    sg_sampler_params greedy = sg_sampler_default_params();
    greedy.temperature = 0;
    sg_generate_params gp = sg_generate_default_params();
    int n_gen;

    /* greedy == stargate generate, one batch and chunks of 3 */
    for (int nb = 512; nb >= 3; nb = nb == 512 ? 3 : 0) {
        collect c = {0};
        gp.max_tokens = nw;
        sg_finish f = gen(m, np + nw + 8, nb, &greedy, prompt, np, &gp, &c, &n_gen);
        EXPECT(f == SG_FINISH_LENGTH && n_gen == nw, "n_batch %d: finish %s, %d tokens", nb, sg_finish_name(f), n_gen);
        EXPECT(c.n == nw && !memcmp(c.ids, want, (size_t)nw * sizeof *want), "n_batch %d: ids differ", nb);
        printf("greedy, n_batch %d: %d ids equal stargate generate\n", nb, c.n);
    }

    /* a callback stop */
    collect c3 = {.stop_after = 3};
    gp.max_tokens = 0;
    sg_finish f = gen(m, np + nw + 8, 512, &greedy, prompt, np, &gp, &c3, &n_gen);
    EXPECT(f == SG_FINISH_CALLBACK && n_gen == 3 && c3.n == 3, "callback: %s, %d", sg_finish_name(f), n_gen);
    printf("callback stop after 3: %s\n", sg_finish_name(f));

    /* an end-of-generation id: the first expected id not seen before it */
    int j = 1;
    while (j < nw) {
        int seen = 0;
        for (int i = 0; i < j; i++) seen |= want[i] == want[j];
        if (!seen) break;
        j++;
    }
    if (j < nw) {
        collect ce = {0};
        gp.eog = &want[j];
        gp.n_eog = 1;
        f = gen(m, np + nw + 8, 512, &greedy, prompt, np, &gp, &ce, &n_gen);
        EXPECT(f == SG_FINISH_EOG && n_gen == j && ce.n == j, "eog: %s, %d tokens, want %d", sg_finish_name(f), n_gen, j);
        printf("end-of-generation id %d: %s after %d tokens\n", want[j], sg_finish_name(f), n_gen);
        gp.eog = NULL;
        gp.n_eog = 0;
    }

    /* a full context: n_ctx - n_prompt fed tokens, plus the last one reported */
    collect cc = {0};
    f = gen(m, np + 4, 512, &greedy, prompt, np, &gp, &cc, &n_gen);
    EXPECT(f == SG_FINISH_CONTEXT && n_gen == 5 && !memcmp(cc.ids, want, 5 * sizeof *want), "context: %s, %d",
           sg_finish_name(f), n_gen);
    printf("context of %d: %s after %d tokens\n", np + 4, sg_finish_name(f), n_gen);

    /* continuing a sequence: prompt -> 3 tokens; then feed them and go on */
    {
        sg_ctx_params cp = sg_ctx_default_params();
        cp.n_ctx = np + nw + 8;
        cp.n_threads = 2;
        sg_ctx *ctx;
        if (sg_ctx_new(m, &cp, &ctx, &err)) return 1;
        sg_sampler *s = sg_sampler_new(&greedy, sg_model_config(m)->n_vocab);
        collect a = {0}, b = {0};
        gp.max_tokens = 3;
        sg_generate(ctx, s, prompt, np, &gp, on_token, &a, NULL, &err);
        /* the third token was reported, not fed: it is the next prompt */
        gp.max_tokens = nw - 3;
        f = sg_generate(ctx, s, &a.ids[2], 1, &gp, on_token, &b, &n_gen, &err);
        EXPECT(f == SG_FINISH_LENGTH && sg_kv_len(ctx, 0) == np + nw - 1, "continue: %s, kv %d", sg_finish_name(f),
               sg_kv_len(ctx, 0));
        EXPECT(a.n == 3 && !memcmp(a.ids, want, 3 * sizeof *want) && b.n == nw - 3 &&
                   !memcmp(b.ids, want + 3, (size_t)(nw - 3) * sizeof *want),
               "continued ids differ");
        printf("continued generation: %d + %d ids equal\n", a.n, b.n);
        /* a prompt that does not fit is an error */
        int32_t big[64] = {0};
        f = sg_generate(ctx, s, big, 64, &gp, on_token, &b, NULL, &err);
        EXPECT(f == SG_FINISH_ERROR && err.code == SG_ERR_INVALID, "overflow: %s", sg_finish_name(f));
        sg_sampler_free(s);
        sg_ctx_free(ctx);
    }

    /* sampling: a seed reproduces, logprobs arrive */
    sg_sampler_params sp = sg_sampler_default_params();
    sp.seed = 7;
    sp.temperature = 1.5f;
    sp.top_k = 0;
    sp.n_logprobs = 3;
    gp.max_tokens = 16;
    gp.want_logprobs = true;
    collect s1 = {0}, s2 = {0};
    gen(m, np + 24, 512, &sp, prompt, np, &gp, &s1, &n_gen);
    gen(m, np + 24, 512, &sp, prompt, np, &gp, &s2, &n_gen);
    EXPECT(s1.n == 16 && s2.n == 16 && !memcmp(s1.ids, s2.ids, sizeof s1.ids), "seeded runs differ");
    EXPECT(s1.n_info == 16 && s1.last_logprob <= 0, "logprobs: %d, %g", s1.n_info, s1.last_logprob);
    printf("seed 7, T 1.5: two runs equal (%d %d %d ...)\n", s1.ids[0], s1.ids[1], s1.ids[2]);

    sg_model_free(m);
    printf("%s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
