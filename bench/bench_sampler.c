/*
 * bench_sampler.c -- microseconds per sampled token over a full vocabulary.
 *
 *   bench_sampler [-V n_vocab] [-n samples] [-c chain]   (defaults: 151936, 2000, all)
 *
 * Two kinds of logits, 8 vectors of each, used in turn so that the logits
 * come from L3 / memory as they would after a forward pass:
 *
 *   random   N(0, 1) per token: flat, the hard case for top-p (most of the
 *            vocabulary survives, so the histogram path runs).
 *   peaked   N(0, 2) per token plus 30 tokens lifted to 8..16 above the
 *            mean: what a language model's next-token distribution looks like
 *            (a few dozen tokens hold almost all the mass).
 *
 * Chains: greedy; the default chain (T 0.8, top-k 40, top-p 0.95, min-p
 * 0.05) with penalties on (repeat 1.1, frequency 0.1, presence 0.1 over the
 * last 64 accepted tokens); the same with top-k off (top-p and min-p); top-p
 * alone (min-p off: the hard case); and the default chain with 5 logprobs.
 * Each sampled token is accepted, so the penalty window is full and moving.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stargate.h"

/* Thread CPU time: the machine is shared, and sampling is one thread of
 * compute, so time spent descheduled is not counted. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long long rng_state = 88172645463325252ull;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * 0x1.0p-53;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif()); }

enum { N_VEC = 8 };

typedef struct chain {
    const char *name;
    float T, p, minp;
    int k, n_logprobs;
    bool penalties;
} chain;

/* Mean microseconds per sample of chain c over the vectors. */
static double run(const chain *c, float *const *vecs, int V, int n, double *survivor_hint)
{
    sg_sampler_params p = sg_sampler_default_params();
    p.seed = 1234;
    p.temperature = c->T;
    p.top_k = c->k;
    p.top_p = c->p;
    p.min_p = c->minp;
    p.n_logprobs = c->n_logprobs;
    if (c->penalties) {
        p.penalty_last_n = 64;
        p.repeat_penalty = 1.1f;
        p.frequency_penalty = 0.1f;
        p.presence_penalty = 0.1f;
    }
    sg_sampler *s = sg_sampler_new(&p, V);
    if (!s) {
        fprintf(stderr, "bench_sampler: cannot create the sampler\n");
        exit(1);
    }
    for (int i = 0; i < 64; i++) sg_sampler_accept(s, (int32_t)(unif() * V));
    sg_sample_info info;
    long distinct = 0;
    int32_t prev = -1;
    for (int i = 0; i < 20; i++) sg_sampler_sample(s, vecs[i % N_VEC], c->n_logprobs ? &info : NULL); /* warm */
    double t0 = now();
    for (int i = 0; i < n; i++) {
        int32_t t = sg_sampler_sample(s, vecs[i % N_VEC], c->n_logprobs ? &info : NULL);
        sg_sampler_accept(s, t);
        distinct += t != prev;
        prev = t;
    }
    double us = (now() - t0) / n * 1e6;
    *survivor_hint = (double)distinct / n;
    sg_sampler_free(s);
    return us;
}

int main(int argc, char **argv)
{
    int V = 151936, n = 2000, only = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-V")) V = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-c")) only = atoi(argv[i + 1]);
    }
    if (V < 100 || n < 1) {
        fprintf(stderr, "usage: bench_sampler [-V n_vocab >= 100] [-n samples] [-c chain index]\n");
        return 2;
    }
    float *random[N_VEC], *peaked[N_VEC];
    for (int v = 0; v < N_VEC; v++) {
        random[v] = malloc((size_t)V * sizeof(float));
        peaked[v] = malloc((size_t)V * sizeof(float));
        if (!random[v] || !peaked[v]) return 1;
        for (int i = 0; i < V; i++) {
            random[v][i] = (float)gauss();
            peaked[v][i] = (float)(2 * gauss());
        }
        for (int j = 0; j < 30; j++) peaked[v][(int)(unif() * V)] = (float)(8 + 8 * unif());
    }
    const chain chains[] = {
        {"greedy", 0, 1, 0, 0, 0, false},
        {"default (k40 p.95 minp.05 T.8) + penalties", 0.8f, 0.95f, 0.05f, 40, 0, true},
        {"top-k off (p.95 minp.05 T.8) + penalties", 0.8f, 0.95f, 0.05f, 0, 0, true},
        {"top-p only (p.95 T.8) + penalties", 0.8f, 0.95f, 0, 0, 0, true},
        {"default + 5 logprobs", 0.8f, 0.95f, 0.05f, 40, 5, true},
    };
    printf("bench_sampler: n_vocab %d, %d samples per row, mean us/sample (thread CPU time)\n", V, n);
    printf("%-46s %12s %12s\n", "chain", "random", "peaked");
    for (size_t c = 0; c < sizeof chains / sizeof *chains; c++) {
        if (only >= 0 && (size_t)only != c) continue;
        double h1, h2;
        double a = run(&chains[c], random, V, n, &h1), b = run(&chains[c], peaked, V, n, &h2);
        printf("%-46s %12.1f %12.1f\n", chains[c].name, a, b);
    }
    for (int v = 0; v < N_VEC; v++) {
        free(random[v]);
        free(peaked[v]);
    }
    return 0;
}
