/*
 * cmd_perplexity.c -- `stargate perplexity -m MODEL -f TEXT [--ctx 512]
 * [--chunks N] [--kl-base MODEL2] [--tokenizer VOCAB] [-t N] [--batch N]`.
 *
 * The text is tokenized (with the model's tokenizer, or --tokenizer's), cut
 * into consecutive chunks of --ctx tokens, and each chunk is run from an
 * empty cache. As llama.cpp's perplexity does, only the second half of each
 * chunk is scored (every scored token has at least ctx/2 tokens of context):
 *   PPL = exp(mean over scored i of -log softmax(logits_i)[tok_{i+1}]).
 * With --kl-base, MODEL2 (the reference, e.g. the F32 or BF16 model) runs the
 * same chunks, and the scored positions also give
 *   KL(P_base || P) = sum_v p_base(v) (log p_base(v) - log p(v)) (mean, max),
 *   the fraction of positions whose top token agrees, and the relative L2
 *   difference of the logits ||l - l_base|| / ||l_base|| (mean),
 * which is how quantization (or a fast-arithmetic mode) is measured.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
    sg_model *m;
    sg_ctx *c;
    float *logits; /* [ctx, n_vocab] of the current chunk */
} pp_model;

static int pp_open(pp_model *p, const char *path, int threads, int ctx, int batch, bool fast)
{
    sg_error err = {0};
    if (sg_model_load(path, &p->m, &err)) return cli_error_from(&err);
    sg_ctx_params cp = sg_ctx_default_params();
    cp.n_threads = threads;
    cp.n_ctx = ctx;
    cp.n_batch = batch;
    cp.q8_activations = fast;
    if (sg_ctx_new(p->m, &cp, &p->c, &err)) return cli_error_from(&err);
    int nv = sg_model_config(p->m)->n_vocab;
    p->logits = malloc(sizeof(float) * (size_t)nv * (size_t)ctx);
    if (!p->logits) return cli_error("out of memory for %d x %d logits", ctx, nv);
    return 0;
}

static void pp_close(pp_model *p)
{
    free(p->logits);
    if (p->c) sg_ctx_free(p->c);
    if (p->m) sg_model_free(p->m);
}

/* Logits of every token of one chunk into p->logits. */
static int pp_run(pp_model *p, const int32_t *toks, int n, int batch)
{
    int nv = sg_model_config(p->m)->n_vocab;
    sg_kv_truncate(p->c, -1, 0);
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)batch), *seq = calloc((size_t)batch, sizeof(int32_t));
    int8_t *want = malloc((size_t)batch);
    if (!pos || !seq || !want) {
        free(pos);
        free(seq);
        free(want);
        return cli_error("out of memory");
    }
    memset(want, 1, (size_t)batch);
    int rc = 0;
    for (int i0 = 0; i0 < n && !rc; i0 += batch) {
        int nb = n - i0 < batch ? n - i0 : batch;
        for (int i = 0; i < nb; i++) pos[i] = i0 + i;
        sg_batch b = {.n_tokens = nb, .token = toks + i0, .pos = pos, .seq = seq, .want_logits = want};
        sg_error err = {0};
        if (sg_forward(p->c, &b, &err)) {
            rc = cli_error_from(&err);
            break;
        }
        for (int i = 0; i < nb; i++)
            memcpy(p->logits + (size_t)(i0 + i) * nv, sg_ctx_logits(p->c, i), sizeof(float) * (size_t)nv);
    }
    free(pos);
    free(seq);
    free(want);
    return rc;
}

/* log-sum-exp of n logits */
static double lse(const float *l, int n)
{
    float mx = l[0];
    for (int i = 1; i < n; i++) mx = l[i] > mx ? l[i] : mx;
    double s = 0;
    for (int i = 0; i < n; i++) s += exp((double)l[i] - mx);
    return mx + log(s);
}

static int argmax(const float *l, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

int cmd_perplexity(int argc, char **argv)
{
    const char *model = NULL, *text = NULL, *base = NULL, *vocab = NULL;
    int ctx = 512, chunks = 0, threads = 0, batch = 0;
    bool q8 = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(text = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--kl-base")) {
            if (!(base = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--tokenizer")) {
            if (!(vocab = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 4, 1 << 20, &ctx)) return 2;
        } else if (!strcmp(a, "--chunks")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 20, &chunks)) return 2;
        } else if (!strcmp(a, "--batch") || !strcmp(a, "-b")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 1, 1 << 16, &batch)) return 2;
        } else if (!strcmp(a, "--q8")) {
            q8 = true;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1024, &threads)) return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate perplexity -m MODEL -f TEXT [--ctx 512] [--chunks N] [--kl-base MODEL2]\n"
                   "                           [--tokenizer VOCAB] [-t THREADS] [--batch N] [--q8]\n"
                   "  perplexity over consecutive chunks of --ctx tokens (second half of each scored);\n"
                   "  --kl-base: also KL(base || model), top-1 agreement and relative logit error vs MODEL2\n"
                   "  --q8: 8-bit activations for MODEL's quantized weights (MODEL2 stays exact FP32)\n");
            return 0;
        } else {
            return cli_error("unknown option '%s'", a);
        }
    }
    if (!model || !text) return cli_error("usage: stargate perplexity -m MODEL -f TEXT [--ctx N] [--kl-base MODEL2]");
    if (batch <= 0) batch = ctx < 512 ? ctx : 512;

    pp_model pm = {0}, pb = {0};
    sg_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    char *buf = NULL;
    int rc = pp_open(&pm, model, threads, ctx, batch, q8);
    if (!rc && base) rc = pp_open(&pb, base, threads, ctx, batch, false);
    sg_error err = {0};
    if (!rc) {
        sg_status s = vocab ? sg_tokenizer_load(vocab, &tok, &err) : sg_tokenizer_from_model(pm.m, &tok, &err);
        if (s) rc = cli_error_from(&err);
    }
    size_t len = 0, n_ids = 0;
    if (!rc && !(buf = read_file(text, &len))) rc = cli_error("%s: cannot read", text);
    if (!rc && sg_tokenize(tok, buf, len, SG_TOKENIZE_ADD_SPECIAL, &ids, &n_ids, &err)) rc = cli_error_from(&err);
    int nv = pm.m ? sg_model_config(pm.m)->n_vocab : 0;
    if (!rc && base && sg_model_config(pb.m)->n_vocab != nv) rc = cli_error("--kl-base: vocabulary sizes differ");
    int n_chunks = (int)(n_ids / (size_t)ctx);
    if (!rc && chunks > 0 && chunks < n_chunks) n_chunks = chunks;
    if (!rc && n_chunks < 1) rc = cli_error("%s: %zu tokens, fewer than --ctx %d", text, n_ids, ctx);
    if (!rc) {
        for (size_t i = 0; i < n_ids; i++)
            if (ids[i] < 0 || ids[i] >= nv) {
                rc = cli_error("token id %d outside the model's vocabulary (%d)", ids[i], nv);
                break;
            }
    }
    if (!rc)
        printf("%s: %zu tokens, %d chunks of %d (scoring the second half of each)\n", text, n_ids, n_chunks, ctx);
    double nll = 0, kl = 0, kl_max = 0, rel = 0;
    long n_scored = 0, top_same = 0;
    int first = ctx / 2;
    for (int c = 0; c < n_chunks && !rc; c++) {
        const int32_t *t = ids + (size_t)c * ctx;
        rc = pp_run(&pm, t, ctx, batch);
        if (!rc && base) rc = pp_run(&pb, t, ctx, batch);
        for (int i = first; i < ctx - 1 && !rc; i++) {
            const float *l = pm.logits + (size_t)i * nv;
            double lz = lse(l, nv);
            nll += lz - l[t[i + 1]];
            n_scored++;
            if (base) {
                const float *lb = pb.logits + (size_t)i * nv;
                double lzb = lse(lb, nv), k = 0, d2 = 0, b2 = 0;
                for (int v = 0; v < nv; v++) {
                    double lpb = lb[v] - lzb, lp = l[v] - lz;
                    k += exp(lpb) * (lpb - lp);
                    d2 += ((double)l[v] - lb[v]) * ((double)l[v] - lb[v]);
                    b2 += (double)lb[v] * lb[v];
                }
                kl += k;
                if (k > kl_max) kl_max = k;
                rel += b2 > 0 ? sqrt(d2 / b2) : 0;
                top_same += argmax(l, nv) == argmax(lb, nv);
            }
        }
        if (!rc) {
            printf("[%d] %.4f", c + 1, exp(nll / (double)n_scored));
            fflush(stdout);
        }
    }
    if (!rc) {
        printf("\nperplexity: %.4f over %ld tokens\n", exp(nll / (double)n_scored), n_scored);
        if (base)
            printf("vs %s: KL divergence mean %.6f max %.6f, top-1 agreement %.2f %%, relative logit error %.3e\n",
                   base, kl / (double)n_scored, kl_max, 100.0 * (double)top_same / (double)n_scored,
                   rel / (double)n_scored);
    }
    free(ids);
    free(buf);
    if (tok) sg_tokenizer_free(tok);
    pp_close(&pb);
    pp_close(&pm);
    return rc;
}
