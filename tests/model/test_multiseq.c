/*
 * test_multiseq.c -- several sequences in one batch, prefix sharing and the
 * paged KV cache, on a real (generated) model file given as argv[1].
 *
 *  1. two sequences interleaved in one batch give the logits each gives alone;
 *  2. a sequence that shares another's prefix (sg_kv_share) and continues
 *     differently gives the logits of computing it from scratch, and the
 *     copy-on-write leaves the source sequence intact;
 *  3. a tiny block pool fails with "KV cache full" and works again once
 *     sequences are truncated;
 *  4. in batch-invariant mode, a token's logits are bit-identical whatever
 *     batch it is computed in: interleaved with another sequence, in prompt
 *     chunks of any size, or one token at a time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stargate.h"
#include "../unit/test.h"

static sg_model *model;

static bool invariant;

static sg_ctx *new_ctx(int n_seq, int n_blocks)
{
    sg_ctx_params p = sg_ctx_default_params();
    p.batch_invariant = invariant;
    p.n_ctx = 128;
    p.n_seq_max = n_seq;
    p.n_threads = 2;
    p.n_kv_blocks = n_blocks;
    sg_ctx *c = NULL;
    sg_error e = {0};
    if (sg_ctx_new(model, &p, &c, &e)) {
        fprintf(stderr, "ctx: %s\n", e.msg);
        exit(1);
    }
    return c;
}

/* Run toks[0..n) of one sequence from pos0; copy the last logits to out. */
static sg_status run(sg_ctx *c, int seq, const int32_t *toks, int n, int pos0, float *out)
{
    int32_t pos[256], sq[256];
    for (int i = 0; i < n; i++) {
        pos[i] = pos0 + i;
        sq[i] = seq;
    }
    sg_batch b = {.n_tokens = n, .token = toks, .pos = pos, .seq = sq};
    sg_error e = {0};
    sg_status s = sg_forward(c, &b, &e);
    if (s == SG_OK && out) memcpy(out, sg_ctx_logits(c, 0), sizeof(float) * (size_t)sg_model_config(model)->n_vocab);
    return s;
}

static double rel(const float *a, const float *b, int n)
{
    double d = 0, r = 0;
    for (int i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return sqrt(d / r);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 77;
    sg_error e = {0};
    if (sg_model_load(argv[1], &model, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    int V = sg_model_config(model)->n_vocab;
    float *a = malloc(sizeof(float) * V), *b = malloc(sizeof(float) * V), *x = malloc(sizeof(float) * V),
          *y = malloc(sizeof(float) * V);
    int32_t A[40], B[40];
    for (int i = 0; i < 40; i++) {
        A[i] = (i * 7 + 3) % V;
        B[i] = (i * 11 + 5) % V;
    }

    /* 1. interleaved batch == alone */
    sg_ctx *c1 = new_ctx(1, 0);
    CHECK(run(c1, 0, A, 23, 0, a) == SG_OK);
    sg_kv_truncate(c1, 0, 0);
    CHECK(run(c1, 0, B, 19, 0, b) == SG_OK);
    sg_ctx_free(c1);
    sg_ctx *c2 = new_ctx(2, 0);
    int32_t tok[42], pos[42], seq[42];
    int8_t want[42] = {0};
    int n = 0;
    for (int i = 0; i < 23 || i < 19; i++) {
        if (i < 23) tok[n] = A[i], pos[n] = i, seq[n] = 0, want[n] = i == 22, n++;
        if (i < 19) tok[n] = B[i], pos[n] = i, seq[n] = 1, want[n] = i == 18, n++;
    }
    sg_batch bb = {.n_tokens = n, .token = tok, .pos = pos, .seq = seq, .want_logits = want};
    CHECK(sg_forward(c2, &bb, &e) == SG_OK);
    CHECK(sg_ctx_n_logits(c2) == 2);
    /* outputs come in batch order: B's last token (index 36) precedes A's (index 43 - 1) */
    double ra = rel(sg_ctx_logits(c2, 1), a, V), rb = rel(sg_ctx_logits(c2, 0), b, V);
    CHECK_MSG(ra < 1e-5 && rb < 1e-5, "interleaved vs alone: %g %g", ra, rb);
    sg_ctx_free(c2);

    /* 2. prefix sharing with copy-on-write: seq 1 = A[0..21) + B[0..10) */
    int32_t AB[31];
    memcpy(AB, A, 21 * sizeof(int32_t));
    memcpy(AB + 21, B, 10 * sizeof(int32_t));
    sg_ctx *c3 = new_ctx(2, 0);
    CHECK(run(c3, 0, AB, 31, 0, x) == SG_OK); /* from scratch */
    sg_kv_truncate(c3, 0, 0);
    CHECK(run(c3, 0, A, 30, 0, NULL) == SG_OK);  /* source: A[0..30) */
    CHECK(sg_kv_share(c3, 0, 1, 21, &e) == SG_OK); /* 21: mid-block, so the next write copies */
    CHECK(sg_kv_len(c3, 1) == 21);
    CHECK(run(c3, 1, B, 10, 21, y) == SG_OK);
    double rs = rel(y, x, V);
    CHECK_MSG(rs < 1e-5, "shared prefix vs scratch: %g", rs);
    CHECK(run(c3, 0, A + 30, 1, 30, y) == SG_OK); /* source continues untouched */
    sg_ctx *c4 = new_ctx(1, 0);
    CHECK(run(c4, 0, A, 31, 0, x) == SG_OK);
    double rc = rel(y, x, V);
    CHECK_MSG(rc < 1e-5, "source after copy-on-write: %g", rc);
    sg_ctx_free(c4);
    CHECK(sg_kv_share(c3, 0, 1, 99, &e) == SG_ERR_INVALID);
    sg_ctx_free(c3);

    /* 3. exhaustion: 4 blocks of 16 positions */
    sg_ctx *c5 = new_ctx(2, 4);
    int used, total;
    CHECK(run(c5, 0, A, 40, 0, NULL) == SG_OK); /* 3 blocks */
    sg_kv_usage(c5, &used, &total);
    CHECK(used == 3 && total == 4);
    memset(&e, 0, sizeof e);
    int32_t p2[30], s2[30];
    for (int i = 0; i < 30; i++) p2[i] = i, s2[i] = 1;
    sg_batch big = {.n_tokens = 30, .token = B, .pos = p2, .seq = s2};
    CHECK(sg_forward(c5, &big, &e) == SG_ERR_NOMEM && strstr(e.msg, "KV cache full"));
    CHECK(sg_kv_len(c5, 1) == 0 && sg_kv_len(c5, 0) == 40); /* a refused batch changes nothing */
    sg_kv_truncate(c5, 0, 10);
    sg_kv_usage(c5, &used, &total);
    CHECK(used == 1);
    CHECK(sg_forward(c5, &big, &e) == SG_OK);
    sg_ctx_free(c5);

    /* 4. batch invariance: bit-identical logits across batch compositions */
    invariant = true;
    sg_ctx *c6 = new_ctx(2, 0);
    CHECK(run(c6, 0, A, 23, 0, a) == SG_OK); /* whole prompt in one batch */
    sg_kv_truncate(c6, -1, 0);
    for (int i = 0; i < 23; i += 5) /* chunks of 5 */
        CHECK(run(c6, 0, A + i, i + 5 <= 23 ? 5 : 23 - i, i, x) == SG_OK);
    CHECK_MSG(!memcmp(a, x, sizeof(float) * (size_t)V), "chunked prefill differs in batch-invariant mode");
    sg_kv_truncate(c6, -1, 0);
    for (int i = 0; i < 23; i++) CHECK(run(c6, 0, A + i, 1, i, y) == SG_OK); /* token by token */
    CHECK_MSG(!memcmp(a, y, sizeof(float) * (size_t)V), "token-by-token differs in batch-invariant mode");
    sg_kv_truncate(c6, -1, 0);
    CHECK(run(c6, 1, B, 19, 0, b) == SG_OK);
    sg_kv_truncate(c6, -1, 0);
    sg_batch bi = {.n_tokens = n, .token = tok, .pos = pos, .seq = seq, .want_logits = want};
    CHECK(sg_forward(c6, &bi, &e) == SG_OK);
    CHECK_MSG(!memcmp(sg_ctx_logits(c6, 1), a, sizeof(float) * (size_t)V) &&
                  !memcmp(sg_ctx_logits(c6, 0), b, sizeof(float) * (size_t)V),
              "interleaved batch differs in batch-invariant mode");
    sg_ctx_free(c6);

    free(a);
    free(b);
    free(x);
    free(y);
    sg_model_free(model);
    printf("test_multiseq: %d passed, %d failed\n", sg_test_pass, sg_test_fail);
    return sg_test_fail ? 1 : 0;
}
