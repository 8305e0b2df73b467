/*
 * test_q8_model.c -- the 8-bit-activation mode through the whole model
 * (sg_ctx_params.q8_activations), on generated Q8_0 / Q4_0 model files:
 *
 *  - batch invariance end to end: the logits of every position of a prompt
 *    fed as one batch equal, bit for bit, those of the same prompt fed in
 *    chunks of 1, 2, 3 and 5 tokens (q8 mode without the batch_invariant
 *    setting: the mode alone gives it);
 *  - the mode is really on and stays close to the exact FP32 logits
 *    (relative L2 difference > 0 and < 5 %).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stargate.h"

static int fails;
#define CHECK_MSG(c, ...)                                                                                    \
    do {                                                                                                     \
        if (!(c)) {                                                                                          \
            fails++;                                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);                            \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
        }                                                                                                    \
    } while (0)

enum { NTOK = 21 };

/* Logits of every position of tok[0..NTOK), fed in chunks of `chunk` tokens. */
static int run(sg_model *m, bool q8, int chunk, float *out, int V)
{
    sg_ctx_params p = sg_ctx_default_params();
    p.n_threads = 2;
    p.n_ctx = 64;
    p.q8_activations = q8;
    sg_ctx *c;
    sg_error e = {0};
    if (sg_ctx_new(m, &p, &c, &e)) return fprintf(stderr, "%s\n", e.msg), -1;
    int32_t tok[NTOK], pos[NTOK], seq[NTOK];
    int8_t want[NTOK];
    for (int i = 0; i < NTOK; i++) tok[i] = (i * 37 + 11) % V, pos[i] = i, seq[i] = 0, want[i] = 1;
    for (int t0 = 0; t0 < NTOK; t0 += chunk) {
        int n = t0 + chunk < NTOK ? chunk : NTOK - t0;
        sg_batch b = {.n_tokens = n, .token = tok + t0, .pos = pos + t0, .seq = seq + t0, .want_logits = want + t0};
        if (sg_forward(c, &b, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            sg_ctx_free(c);
            return -1;
        }
        for (int i = 0; i < n; i++) memcpy(out + (size_t)(t0 + i) * V, sg_ctx_logits(c, i), sizeof(float) * V);
    }
    sg_ctx_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 77;
    for (int f = 1; f < argc; f++) {
        sg_model *m;
        sg_error e = {0};
        if (sg_model_load(argv[f], &m, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        int V = sg_model_config(m)->n_vocab;
        size_t sz = sizeof(float) * (size_t)V * NTOK;
        float *one = malloc(sz), *ch = malloc(sz), *ex = malloc(sz);
        if (!one || !ch || !ex) return 1;
        CHECK_MSG(run(m, true, NTOK, one, V) == 0, "%s", argv[f]);
        static const int chunks[] = {1, 2, 3, 5};
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            CHECK_MSG(run(m, true, chunks[k], ch, V) == 0, "%s", argv[f]);
            CHECK_MSG(memcmp(one, ch, sz) == 0, "%s: q8 logits of a %d-token batch differ from chunks of %d", argv[f],
                      NTOK, chunks[k]);
        }
        CHECK_MSG(run(m, false, NTOK, ex, V) == 0, "%s", argv[f]);
        double d = 0, r = 0;
        for (size_t i = 0; i < (size_t)V * NTOK; i++) {
            d += ((double)one[i] - ex[i]) * ((double)one[i] - ex[i]);
            r += (double)ex[i] * ex[i];
        }
        double rel = sqrt(d / r);
        printf("%s: q8 vs exact logits, relative L2 %.3g\n", argv[f], rel);
        CHECK_MSG(rel > 0 && rel < 0.05, "%s: q8 vs exact relative L2 %g", argv[f], rel);
        free(one);
        free(ch);
        free(ex);
        sg_model_free(m);
    }
    printf("test_q8_model: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
