/*
 * cmd_bench.c -- `stargate bench -m MODEL [-p 512] [-n 128] [-t N] [-r 3]`:
 * prompt-processing and decoding speed on random token ids.
 *
 * Prompt: one sequence of -p tokens in batches of --batch (default 512).
 * Decode: -n single-token steps after a short prompt, through the KV cache.
 * Each phase runs -r times after one warm-up; the best run is reported, with
 * the weight bytes read per decoded token (the memory-bound limit's numerator).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs n tokens of sequence 0 from position pos0, `batch` at a time. */
static int run(sg_ctx *ctx, const int32_t *toks, int n, int pos0, int batch)
{
    int32_t pos[1024], seq[1024] = {0};
    if (batch > 1024) batch = 1024;
    for (int i0 = 0; i0 < n; i0 += batch) {
        int nb = n - i0 < batch ? n - i0 : batch;
        for (int i = 0; i < nb; i++) pos[i] = pos0 + i0 + i;
        sg_batch b = {.n_tokens = nb, .token = toks + i0, .pos = pos, .seq = seq, .want_logits = NULL};
        sg_error err = {0};
        if (sg_forward(ctx, &b, &err)) return cli_error_from(&err);
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *model = NULL;
    int n_prompt = 512, n_gen = 128, threads = 0, reps = 3, batch = 512;
    bool invariant = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-m")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-p")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 16, &n_prompt)) return 2;
        } else if (!strcmp(a, "-n")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 16, &n_gen)) return 2;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1024, &threads)) return 2;
        } else if (!strcmp(a, "-r")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 1, 100, &reps)) return 2;
        } else if (!strcmp(a, "--batch")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 1, 1024, &batch)) return 2;
        } else if (!strcmp(a, "--batch-invariant")) {
            invariant = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--batch 512] [--batch-invariant]\n");
            return 0;
        } else {
            return cli_error("unknown option '%s'", a);
        }
    }
    if (!model) return cli_error("missing -m MODEL");
    if (!(model = cli_model(model))) return 1;
    sg_error err = {0};
    sg_model *m;
    if (sg_model_load(model, &m, &err)) return cli_error_from(&err);
    const sg_config *c = sg_model_config(m);
    sg_ctx_params p = sg_ctx_default_params();
    p.n_threads = threads;
    p.n_batch = batch;
    p.batch_invariant = invariant;
    p.n_ctx = (n_prompt > n_gen + 16 ? n_prompt : n_gen + 16) + 1;
    sg_ctx *ctx;
    if (sg_ctx_new(m, &p, &ctx, &err)) {
        sg_model_free(m);
        return cli_error_from(&err);
    }
    int nt = n_prompt > n_gen ? n_prompt : n_gen;
    int32_t *toks = malloc((size_t)(nt + 16) * sizeof *toks);
    unsigned s = 12345;
    for (int i = 0; i < nt + 16; i++) {
        s = s * 1103515245u + 12345u;
        toks[i] = (int32_t)((s >> 8) % (unsigned)c->n_vocab);
    }
    sg_model_info info;
    sg_model_get_info(m, &info);
    printf("model: %s (%s, %.1f M params, %.1f MiB of weights), threads %d\n", model, sg_arch_name(c->arch),
           info.n_params / 1e6, info.bytes / 1048576.0, threads);
    int rc = 0;
    if (n_prompt > 0) {
        double best = 1e30;
        for (int r = 0; r <= reps && !rc; r++) {
            sg_kv_truncate(ctx, -1, 0);
            double t0 = now_s();
            rc = run(ctx, toks, n_prompt, 0, batch);
            double dt = now_s() - t0;
            if (r > 0 && dt < best) best = dt; /* run 0 warms up */
        }
        if (!rc) printf("prompt: %d tokens in %.3f s = %.2f tokens/s\n", n_prompt, best, n_prompt / best);
    }
    if (n_gen > 0 && !rc) {
        double best = 1e30;
        for (int r = 0; r <= reps && !rc; r++) {
            sg_kv_truncate(ctx, -1, 0);
            rc = run(ctx, toks, 16, 0, batch);
            double t0 = now_s();
            for (int i = 0; i < n_gen && !rc; i++) rc = run(ctx, toks + 16 + (i % nt), 1, 16 + i, 1);
            double dt = now_s() - t0;
            if (r > 0 && dt < best) best = dt;
        }
        if (!rc)
            printf("decode: %d tokens in %.3f s = %.2f tokens/s (%.2f GB/s of weights read)\n", n_gen, best,
                   n_gen / best, info.bytes * (double)n_gen / best / 1e9);
    }
    free(toks);
    sg_ctx_free(ctx);
    sg_model_free(m);
    return rc;
}
