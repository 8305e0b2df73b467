/*
 * cmd_logits.c -- `stargate logits` and `stargate generate`: run the model on
 * token ids. `logits` writes raw little-endian float32 logits ([1, n_vocab]
 * for the last token, [n_tokens, n_vocab] with --all); `--batch N` sets the
 * tokens per forward call, so `--batch 1` walks the prompt through the KV
 * cache one token at a time (used to check incremental decoding equals full
 * recomputation). `generate` prints the greedy continuation's ids.
 * Both take text instead of ids with --prompt/-p (encoded with the model's
 * tokenizer, BOS as its metadata says); `generate -p` then prints text,
 * streamed through the UTF-8-safe decoder, and stops at end of generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct run_opts {
    const char *model, *tokens, *prompt, *out;
    bool all, q8;
    int batch, threads, n_predict, n_ctx;
    cli_sampling samp; /* generate only */
} run_opts;

/* Parses the options both commands share; returns -1 on success, else the exit code. */
static int parse(int argc, char **argv, run_opts *o, bool gen)
{
    memset(o, 0, sizeof *o);
    o->batch = 512;
    o->n_predict = 16;
    cli_sampling_init(&o->samp, true); /* generate is greedy unless asked otherwise */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int sr = gen ? cli_sampling_arg(&o->samp, argc, argv, &i) : 0;
        if (sr < 0) return 2;
        if (sr > 0) continue;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(o->model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--tokens")) {
            if (!(o->tokens = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--prompt") || !strcmp(a, "-p")) {
            if (!(o->prompt = cli_value(argc, argv, &i))) return 2;
        } else if (!gen && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            if (!(o->out = cli_value(argc, argv, &i))) return 2;
        } else if (!gen && !strcmp(a, "--all")) {
            o->all = true;
        } else if (!strcmp(a, "--batch") || !strcmp(a, "-b")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 1, 65536, &o->batch)) return 2;
        } else if (!strcmp(a, "--q8")) {
            o->q8 = true;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1024, &o->threads)) return 2;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 22, &o->n_ctx)) return 2;
        } else if (gen && (!strcmp(a, "-n") || !strcmp(a, "--n-predict"))) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 22, &o->n_predict)) return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            if (gen)
                printf("usage: stargate generate -m MODEL (--tokens \"1 2 3\" | -p TEXT) [-n N] [-t THREADS] [--ctx N] [--batch N]\n"
                       "                         [--q8 (8-bit activations for quantized weights)]\n"
                       "                         [sampling flags]\n"
                       "  prints the continuation (greedy unless --temp is given): N token ids on one line,\n"
                       "  or text with -p, streamed as it is generated, ending at the model's end of generation\n\n%s",
                       cli_sampling_help());
            else
                printf("usage: stargate logits -m MODEL (--tokens \"1 2 3\" | -p TEXT) [--all] [--batch N] [-t THREADS] [--ctx N] [--q8] -o FILE\n"
                       "  writes raw little-endian float32 logits: [1, n_vocab], or [n_tokens, n_vocab] with --all\n");
            return 0;
        } else {
            cli_error("unknown option '%s'", a);
            return 2;
        }
    }
    if (!o->model) return cli_error("missing -m MODEL");
    if (!(o->model = cli_model(o->model))) return 1;
    if (!o->tokens && !o->prompt) return cli_error("missing --tokens \"ID ID ...\" or --prompt TEXT");
    if (o->tokens && o->prompt) return cli_error("--tokens and --prompt exclude each other");
    if (!gen && !o->out) return cli_error("missing -o FILE");
    return -1;
}

/* Feed toks[0..n) to sequence 0 from position pos0, `batch` tokens per call.
 * When all_logits, each token's logits are passed to sink. */
typedef int (*logits_sink)(void *ud, const float *logits, int n_vocab);

static int feed(sg_ctx *ctx, const int32_t *toks, int n, int pos0, int batch, bool all_logits, logits_sink sink,
                void *ud, int n_vocab)
{
    int32_t *pos = malloc((size_t)batch * sizeof *pos), *seq = calloc((size_t)batch, sizeof *seq);
    int8_t *want = malloc((size_t)batch);
    int rc = 0;
    if (!pos || !seq || !want) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (int i0 = 0; i0 < n; i0 += batch) {
        int nb = n - i0 < batch ? n - i0 : batch;
        for (int i = 0; i < nb; i++) {
            pos[i] = pos0 + i0 + i;
            want[i] = all_logits || i0 + i == n - 1;
        }
        sg_batch b = {.n_tokens = nb, .token = toks + i0, .pos = pos, .seq = seq, .want_logits = want};
        sg_error err = {0};
        if (sg_forward(ctx, &b, &err)) {
            rc = cli_error_from(&err);
            goto done;
        }
        for (int k = 0; k < sg_ctx_n_logits(ctx); k++)
            if ((rc = sink(ud, sg_ctx_logits(ctx, k), n_vocab))) goto done;
    }
done:
    free(pos);
    free(seq);
    free(want);
    return rc;
}

/* The ids of the run: --tokens parsed, or --prompt encoded with the model's
 * tokenizer (returned in *tok for decoding the output). */
static bool input_ids(const run_opts *o, int32_t **toks, int *n, sg_tokenizer **tok)
{
    *tok = NULL;
    if (!o->prompt) return cli_tokens(o->tokens, toks, n);
    sg_error err = {0};
    if (sg_tokenizer_load(o->model, tok, &err)) {
        cli_error_from(&err);
        return false;
    }
    size_t k;
    if (sg_tokenize(*tok, o->prompt, strlen(o->prompt), SG_TOKENIZE_ADD_SPECIAL, toks, &k, &err)) {
        cli_error_from(&err);
        sg_tokenizer_free(*tok);
        *tok = NULL;
        return false;
    }
    if (k == 0 || k > (1u << 24)) {
        cli_error("--prompt: the text encodes to %zu tokens", k);
        free(*toks);
        sg_tokenizer_free(*tok);
        *tok = NULL;
        return false;
    }
    *n = (int)k;
    return true;
}

static int write_sink(void *ud, const float *logits, int n_vocab)
{
    FILE *f = ud;
    if (fwrite(logits, sizeof(float), (size_t)n_vocab, f) != (size_t)n_vocab) return cli_error("write failed");
    return 0;
}

static int open_model(const run_opts *o, sg_model **m, sg_ctx **ctx, int n_tokens)
{
    sg_error err = {0};
    if (sg_model_load(o->model, m, &err)) return cli_error_from(&err);
    sg_ctx_params p = sg_ctx_default_params();
    p.n_threads = o->threads;
    p.n_batch = o->batch;
    p.n_ctx = o->n_ctx;
    p.q8_activations = o->q8;
    if (p.n_ctx == 0) { /* enough for the job, at most the model's context */
        int need = n_tokens + o->n_predict;
        p.n_ctx = need < sg_model_config(*m)->n_ctx_train ? need : sg_model_config(*m)->n_ctx_train;
    }
    if (sg_ctx_new(*m, &p, ctx, &err)) {
        sg_model_free(*m);
        return cli_error_from(&err);
    }
    if (n_tokens + 0 > sg_ctx_n_ctx(*ctx)) {
        int c = sg_ctx_n_ctx(*ctx);
        sg_ctx_free(*ctx);
        sg_model_free(*m);
        return cli_error("%d tokens do not fit the context of %d positions", n_tokens, c);
    }
    return 0;
}

int cmd_logits(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o, false);
    if (rc >= 0) return rc;
    int32_t *toks;
    int n;
    sg_tokenizer *tok;
    if (!input_ids(&o, &toks, &n, &tok)) return 2;
    sg_tokenizer_free(tok);
    o.n_predict = 0;
    sg_model *m;
    sg_ctx *ctx;
    if ((rc = open_model(&o, &m, &ctx, n))) {
        free(toks);
        return rc;
    }
    FILE *f = fopen(o.out, "wb");
    if (!f) rc = cli_error("%s: cannot open for writing", o.out);
    else {
        rc = feed(ctx, toks, n, 0, o.batch, o.all, write_sink, f, sg_model_config(m)->n_vocab);
        if (fclose(f) != 0 && !rc) rc = cli_error("%s: write failed", o.out);
        if (rc) remove(o.out);
    }
    sg_ctx_free(ctx);
    sg_model_free(m);
    free(toks);
    return rc;
}

/* Per-token output of `generate`: ids, or text through the streaming
 * decoder and the stop-string matcher. */
typedef struct gen_out {
    sg_tokenizer *tok;
    sg_detok_stream *ds;
    sg_stop *stop;
    int k;
    int rc;
} gen_out;

static bool gen_on_token(void *ud, int32_t t, const sg_sample_info *info)
{
    gen_out *g = ud;
    (void)info;
    if (!g->ds) {
        printf(g->k++ ? " %d" : "%d", t);
        fflush(stdout);
        return true;
    }
    const char *piece, *out = NULL;
    size_t pl, ol = 0;
    sg_error err = {0};
    if (sg_detok_stream_push(g->ds, t, &piece, &pl, &err)) {
        g->rc = cli_error_from(&err);
        return false;
    }
    bool stopped = pl && sg_stop_push(g->stop, piece, pl, &out, &ol); /* pl 0: bytes held back */
    if (ol) fwrite(out, 1, ol, stdout);
    fflush(stdout);
    return !stopped;
}

int cmd_generate(int argc, char **argv)
{
    run_opts o;
    int rc = parse(argc, argv, &o, true);
    if (rc >= 0) {
        cli_sampling_free(&o.samp);
        return rc;
    }
    int32_t *toks;
    int n;
    sg_tokenizer *tok;
    if (!input_ids(&o, &toks, &n, &tok)) {
        cli_sampling_free(&o.samp);
        return 2;
    }
    sg_model *m;
    sg_ctx *ctx;
    if ((rc = open_model(&o, &m, &ctx, n))) {
        free(toks);
        sg_tokenizer_free(tok);
        cli_sampling_free(&o.samp);
        return rc;
    }
    gen_out g = {.tok = tok};
    sg_sampler *smp = sg_sampler_new(&o.samp.p, sg_model_config(m)->n_vocab);
    if (tok) {
        g.ds = sg_detok_stream_new(tok, 0);
        g.stop = sg_stop_new(o.samp.stops, o.samp.n_stops);
    }
    int32_t *eog = NULL;
    int n_eog = 0;
    if (!smp || (tok && (!g.ds || !g.stop))) rc = cli_error("out of memory or invalid sampling settings");
    else if (o.n_predict > 0) {
        if (tok) { /* text mode ends at the model's end-of-generation tokens */
            int V = sg_model_config(m)->n_vocab;
            eog = malloc(sizeof *eog * (size_t)V);
            for (int i = 0; eog && i < V; i++)
                if (sg_token_is_eog(tok, i)) eog[n_eog++] = i;
        }
        sg_generate_params gp = sg_generate_default_params();
        gp.max_tokens = o.n_predict;
        gp.eog = eog;
        gp.n_eog = n_eog;
        sg_error err = {0};
        sg_finish f = sg_generate(ctx, smp, toks, n, &gp, gen_on_token, &g, NULL, &err);
        if (f == SG_FINISH_ERROR) rc = cli_error_from(&err);
        else if (g.rc) rc = g.rc;
        if (g.ds) {
            const char *out = NULL;
            size_t ol, pl;
            const char *rest = sg_detok_stream_flush(g.ds, &pl);
            ol = 0;
            if (pl) sg_stop_push(g.stop, rest, pl, &out, &ol);
            if (ol) fwrite(out, 1, ol, stdout);
            sg_stop_flush(g.stop, &out, &ol);
            if (ol) fwrite(out, 1, ol, stdout);
        }
        printf("\n");
    }
    free(eog);
    sg_stop_free(g.stop);
    sg_detok_stream_free(g.ds);
    sg_sampler_free(smp);
    sg_tokenizer_free(tok);
    sg_ctx_free(ctx);
    sg_model_free(m);
    free(toks);
    cli_sampling_free(&o.samp);
    return rc;
}
