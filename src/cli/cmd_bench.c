/*
 * cmd_bench.c -- `stargate bench -m MODEL [-p 512] [-n 128] [-t N] [-r 3]`:
 * prompt-processing and decoding speed on random token ids.
 *
 * Prompt: one sequence of -p tokens in batches of --batch (default 512).
 * Decode: -n single-token steps after a short prompt, through the KV cache.
 * Each phase runs -r times after one warm-up; the best run is reported, with
 * the weight bytes read per decoded token (the memory-bound limit's numerator).
 *
 * Decode reads every weight once per token, so its ceiling is the machine's
 * memory read bandwidth: the same run measures it (STREAM-style: THREADS
 * threads each sum their slice of a 512 MiB buffer, best of 3) and prints
 * the decode's effective GB/s next to it, with the implied ceiling in tokens/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "base/pool.h"
#include "cli.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_slice;

static void *bw_read(void *arg)
{
    bw_slice *s = arg;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = 0; i + 4 <= s->n; i += 4) {
        a0 += s->p[i];
        a1 += s->p[i + 1];
        a2 += s->p[i + 2];
        a3 += s->p[i + 3];
    }
    s->sum = a0 + a1 + a2 + a3;
    return NULL;
}

/* Read bandwidth in GB/s with `threads` threads over a 512 MiB buffer; 0 on failure. */
static double read_bandwidth(int threads)
{
    const size_t bytes = (size_t)512 << 20, n = bytes / 8;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page */
    bw_slice sl[64];
    pthread_t th[64];
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        for (int k = 0; k < threads; k++) {
            size_t a = n / (size_t)threads * (size_t)k, b = k + 1 == threads ? n : n / (size_t)threads * (size_t)(k + 1);
            sl[k] = (bw_slice){buf + a, b - a, 0};
            if (k > 0 && pthread_create(&th[k], NULL, bw_read, &sl[k])) sl[k].n = 0;
        }
        bw_read(&sl[0]);
        for (int k = 1; k < threads; k++)
            if (sl[k].n) pthread_join(th[k], NULL);
        double dt = now_s() - t0;
        for (int k = 0; k < threads; k++) sink += sl[k].sum;
        if (dt < best) best = dt;
    }
    (void)sink;
    free(buf);
    return bytes / best / 1e9;
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
    bool invariant = false, q8 = false;
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
        } else if (!strcmp(a, "--q8")) {
            q8 = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--batch 512] [--batch-invariant] [--q8]\n"
                   "  prompt tokens/s, decode tokens/s, and decode's GB/s of weights next to the read bandwidth\n"
                   "  measured in the same run (SG_CPU=ref|avx2|avx512|neon caps the kernel family)\n");
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
    p.q8_activations = q8;
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
    printf("model: %s (%s, %.1f M params, %.1f MiB of weights), threads %d, kernels %s\n", model,
           sg_arch_name(c->arch), info.n_params / 1e6, info.bytes / 1048576.0, threads, sg_cpu_kernels());
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
        if (!rc) {
            int bw_threads = sg_physical_cores();
            double gbs = info.bytes * (double)n_gen / best / 1e9;
            double bw = read_bandwidth(p.n_threads > 0 ? p.n_threads : bw_threads);
            printf("decode: %d tokens in %.3f s = %.2f tokens/s (%.2f GB/s of weights read)\n", n_gen, best,
                   n_gen / best, gbs);
            if (bw > 0)
                printf("memory: %.2f GB/s read bandwidth measured now (%d threads); decode at %.0f %% of it, "
                       "ceiling %.1f tokens/s\n",
                       bw, p.n_threads > 0 ? p.n_threads : bw_threads, 100.0 * gbs / bw, bw * 1e9 / info.bytes);
        }
    }
    free(toks);
    sg_ctx_free(ctx);
    sg_model_free(m);
    return rc;
}
