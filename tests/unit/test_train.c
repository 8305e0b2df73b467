/*
 * test_train.c -- unit tests of the training layer without PyTorch:
 * config parsing and its errors, shards and the data loader, the schedule,
 * AdamW against a hand computation, whole-model gradients against central
 * finite differences (llama untied/tied with GQA, gpt2), checkpoints
 * (round trip, corruption, newest-file pick) and atomic writes.
 * tests/train/ compares the same pieces against PyTorch autograd.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "train/train.h"

static char tmpdir[256];

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ------------------------------------------------------------------ config */

static void test_config(void)
{
    sg_train_config *c = sg_train_config_new();
    sg_error err = {0};
    const char *good = "# comment\n\n  arch = gpt2 \r\nn_layer=3\nlr = 1e-3\ntrain_data = a b.bin\nseed = 18446744073709551615\n"
                       "tied_embeddings = yes\nexport_dtype = f16\nval_data =\n";
    CHECK(sg_train_config_parse(c, good, strlen(good), "good.txt", &err) == SG_OK);
    CHECK(c->arch == SG_ARCH_GPT2 && c->n_layer == 3 && fabs(c->lr - 1e-3) < 1e-15);
    CHECK(!strcmp(c->train_data, "a b.bin") && c->seed == UINT64_MAX && c->tied_embeddings && c->export_f16 == 1);
    CHECK(c->val_data[0] == 0 && c->n_embd == 64);
    CHECK(sg_train_config_set(c, "n_layer", "5", &err) == SG_OK && c->n_layer == 5);
    CHECK(sg_train_config_check(c, &err) == SG_OK);

    struct { const char *text, *want; } bad[] = {
        {"lr = 1e-3x\n", "bad.txt:1: 'lr' must be a number"},
        {"\n\nn_head = 0\n", "bad.txt:3: 'n_head' must be an integer in [1, 1024]"},
        {"seed = -1\n", "'seed' must be a non-negative integer"},
        {"n_embd = 99999999999999999999\n", "'n_embd' must be an integer"},
        {"lr = nan\n", "'lr' must be a number"},
        {"lr = inf\n", "'lr' must be a number"},
        {"= 3\n", "missing key"},
        {"novalue\n", "expected 'key = value'"},
        {"what = 1\n", "unknown key 'what'"},
        {"arch = llama2\n", "'arch' must be llama or gpt2"},
        {"quiet = 2\n", "must be true or false"},
        {"export_dtype = q4\n", "must be f32 or f16"},
        {"train_data = a\x01b\n", "control byte"},
        {"a\0b = 1\n", "NUL byte"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sg_train_config *d = sg_train_config_new();
        size_t len = i == sizeof bad / sizeof bad[0] - 1 ? 8 : strlen(bad[i].text);
        sg_status s = sg_train_config_parse(d, bad[i].text, len, "bad.txt", &err);
        CHECK_MSG(s != SG_OK && strstr(err.msg, bad[i].want) && !strchr(err.msg, '\n'), "case %zu: %s", i, err.msg);
        sg_train_config_free(d);
    }
    char longline[3000];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "init = ", 7);
    CHECK(sg_train_config_parse(c, longline, sizeof longline, "long.txt", &err) != SG_OK && strstr(err.msg, "longer"));
    CHECK(sg_train_config_set(c, "n_ff", "-3", &err) != SG_OK && strstr(err.msg, "option --n_ff"));

    /* cross-key checks */
    sg_train_config *e = sg_train_config_new();
    CHECK(sg_train_config_check(e, &err) != SG_OK && strstr(err.msg, "train_data"));
    strcpy(e->train_data, "x.bin");
    e->n_head = 3;
    CHECK(sg_train_config_check(e, &err) != SG_OK && strstr(err.msg, "divisible"));
    e->n_head = 4;
    e->min_lr = 1;
    CHECK(sg_train_config_check(e, &err) != SG_OK && strstr(err.msg, "min_lr"));
    e->min_lr = 0;
    strcpy(e->resume, "auto");
    CHECK(sg_train_config_check(e, &err) != SG_OK && strstr(err.msg, "out_dir"));
    sg_train_config_free(e);
    sg_train_config_free(c);
}

/* -------------------------------------------------------------------- data */

static void test_data(void)
{
    sg_error err = {0};
    uint32_t toks[40];
    uint8_t mask[40];
    for (int i = 0; i < 40; i++) toks[i] = (uint32_t)(i * 7 % 40), mask[i] = (uint8_t)(i % 3 != 0);
    CHECK(sg_shard_write(tmp("a.bin"), toks, NULL, 25, 40, &err) == SG_OK);
    CHECK(sg_shard_write(tmp("b.bin"), toks + 25, mask + 25, 15, 40, &err) == SG_OK);
    uint32_t big[3] = {1, 70000, 5};
    CHECK(sg_shard_write(tmp("c.bin"), big, NULL, 3, 0, &err) == SG_OK);
    CHECK(sg_shard_write(tmp("d.bin"), big, NULL, 3, 100, &err) != SG_OK && strstr(err.msg, "outside"));

    FILE *f = fopen(tmp("m.json"), "w");
    fprintf(f, "{\"format\": \"stargate-shards\", \"version\": 1, \"vocab_size\": 40,\n"
               " \"shards\": [{\"path\": \"a.bin\", \"tokens\": 25}, {\"path\": \"b.bin\"}]}\n");
    fclose(f);
    sg_data d;
    CHECK(sg_data_open(&d, tmp("m.json"), 8, &err) == SG_OK);
    CHECK(d.n_tokens == 40 && d.n_windows == 4 && d.vocab_size == 40 && d.max_token == 39);
    int32_t inp[16], tgt[16];
    float m[16];
    /* sequences 3 and 4: window 3 (tokens 24..32, across the shard boundary), then window 0 */
    sg_data_fill(&d, 3, 2, inp, tgt, m, NULL);
    for (int t = 0; t < 8; t++) {
        CHECK(inp[t] == (int32_t)toks[24 + t] && tgt[t] == (int32_t)toks[25 + t]);
        CHECK(m[t] == (float)mask[25 + t]); /* shard b has a mask, the target's weight */
        CHECK(inp[8 + t] == (int32_t)toks[t] && tgt[8 + t] == (int32_t)toks[t + 1] && m[8 + t] == 1.0f);
    }
    sg_data_close(&d);

    sg_data e;
    CHECK(sg_data_open(&e, tmp("c.bin"), 2, &err) == SG_OK && e.shards[0].token_bytes == 4 && e.max_token == 70000);
    sg_data_close(&e);
    CHECK(sg_data_open(&e, tmp("a.bin"), 25, &err) != SG_OK && strstr(err.msg, "need at least"));
    /* truncated shard */
    f = fopen(tmp("a.bin"), "r+");
    CHECK(ftruncate(fileno(f), 70) == 0);
    fclose(f);
    CHECK(sg_data_open(&e, tmp("a.bin"), 4, &err) != SG_OK && strstr(err.msg, "header says"));
    CHECK(sg_data_open(&e, tmp("m.json"), 4, &err) != SG_OK && strstr(err.msg, "a.bin"));
    f = fopen(tmp("n.json"), "w");
    fprintf(f, "{\"format\": \"stargate-shards\", \"shards\": []}");
    fclose(f);
    CHECK(sg_data_open(&e, tmp("n.json"), 4, &err) != SG_OK && strstr(err.msg, "non-empty"));
    CHECK(sg_data_open(&e, tmp("missing.bin"), 4, &err) != SG_OK && strstr(err.msg, "missing.bin"));
}

/* --------------------------------------------------------------- optimizer */

static void test_optim(void)
{
    sg_train_config *c = sg_train_config_new();
    c->lr = 1.0;
    c->min_lr = 0.1;
    c->warmup_steps = 4;
    c->max_steps = 14;
    CHECK_NEAR(sg_lr_at(c, 0), 0.25, 1e-12);
    CHECK_NEAR(sg_lr_at(c, 3), 1.0, 1e-12);
    CHECK_NEAR(sg_lr_at(c, 4), 1.0, 1e-12);
    CHECK_NEAR(sg_lr_at(c, 9), 0.55, 1e-12);
    CHECK_NEAR(sg_lr_at(c, 14), 0.1, 1e-12);
    CHECK_NEAR(sg_lr_at(c, 100), 0.1, 1e-12);

    /* AdamW on a 1-parameter-per-tensor model, against the formula */
    sg_tshape s = {.arch = SG_ARCH_LLAMA, .V = 3, .C = 2, .L = 1, .H = 1, .KV = 1, .D = 2, .F = 2, .maxT = 4,
                   .eps = 1e-5f, .theta = 10000, .tied = true};
    sg_tmodel m;
    sg_error err;
    CHECK(sg_tmodel_new(&m, &s, 1, 4, 1, &err) == SG_OK);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] = 0.5f, m.grads[i] = 0.1f;
    c->weight_decay = 0.1;
    c->beta1 = 0.9;
    c->beta2 = 0.95;
    c->adam_eps = 1e-8;
    sg_adamw_step(&m, c, 0.01, 1);
    /* t=1: m = 0.01, v = 0.0005*0.1... update = lr * mhat/(sqrt(vhat)+eps) = lr * sign */
    float w_decay = 0.5f * (1 - 0.01f * 0.1f) - 0.01f * 0.1f / (0.1f + 1e-8f);
    float w_plain = 0.5f - 0.01f * 0.1f / (0.1f + 1e-8f);
    CHECK_NEAR(sg_tp(&m, P_WQ)[0], w_decay, 1e-6);
    CHECK_NEAR(sg_tp(&m, P_LN1W)[0], w_plain, 1e-6);
    double n = sg_grad_norm(&m);
    CHECK_NEAR(n, 0.1 * sqrt((double)m.n_params), 1e-6);
    sg_grad_clip(&m, n, n / 2);
    CHECK_NEAR(sg_grad_norm(&m), n / 2, 1e-5);
    sg_tmodel_free(&m);
    sg_train_config_free(c);
}

/* ------------------------------------------------- gradients vs finite diff */

static double loss_of(sg_tmodel *m, const int32_t *inp, const int32_t *tgt, const float *mask, int B, int T, double norm)
{
    return sg_tmodel_forward(m, inp, tgt, mask, B, T) / norm;
}

static void gradcheck(int arch, bool tied, int KV)
{
    sg_tshape s = {.arch = arch, .V = 13, .C = 8, .L = 2, .H = 2, .KV = KV, .D = 4, .F = 12, .maxT = 6,
                   .eps = 1e-5f, .theta = 10000, .tied = tied || arch == SG_ARCH_GPT2};
    int B = 2, T = 5;
    sg_tmodel m;
    sg_error err;
    CHECK(sg_tmodel_new(&m, &s, B, 6, 2, &err) == SG_OK);
    uint64_t rng = 42;
    sg_tmodel_init_weights(&m, 0.3, &rng);
    for (int p = 0; p < P_COUNT; p++) /* non-trivial norms and biases */
        if (!sg_tparam_decays(p))
            for (size_t i = 0; i < m.len[p]; i++) sg_tp(&m, p)[i] += (float)(0.2 * sg_rng_normal(&rng));
    int32_t inp[10], tgt[10];
    float mask[10];
    for (int i = 0; i < B * T; i++) {
        inp[i] = (int32_t)(sg_rng_next(&rng) % 13);
        tgt[i] = (int32_t)(sg_rng_next(&rng) % 13);
        mask[i] = i % 4 == 3 ? 0.0f : 1.0f;
    }
    double norm = 0;
    for (int i = 0; i < B * T; i++) norm += mask[i];
    memset(m.grads, 0, m.n_params * sizeof(float));
    loss_of(&m, inp, tgt, mask, B, T, norm);
    sg_tmodel_backward(&m, (float)(1.0 / norm));
    int bad = 0, checked = 0;
    for (int p = 0; p < P_COUNT; p++) {
        for (size_t k = 0; k < m.len[p] && k < 6; k++) {
            size_t i = m.off[p] + (k * 7919) % m.len[p];
            float w0 = m.params[i];
            const float h = 1e-2f;
            m.params[i] = w0 + h;
            double lp = loss_of(&m, inp, tgt, mask, B, T, norm);
            m.params[i] = w0 - h;
            double lm = loss_of(&m, inp, tgt, mask, B, T, norm);
            m.params[i] = w0;
            double fd = (lp - lm) / (2 * h), g = m.grads[i];
            checked++;
            if (fabs(fd - g) > 2e-3 + 3e-2 * fabs(g)) {
                bad++;
                fprintf(stderr, "arch %d tied %d: %s[%zu]: backward %.6g, finite difference %.6g\n", arch, tied,
                        sg_tparam_name(p), i - m.off[p], g, fd);
            }
        }
    }
    CHECK_MSG(bad == 0 && checked > 40, "%d of %d gradients off", bad, checked);
    sg_tmodel_free(&m);
}

/* -------------------------------------------------------------- checkpoint */

static void test_checkpoint(void)
{
    sg_tshape s = {.arch = SG_ARCH_LLAMA, .V = 7, .C = 4, .L = 1, .H = 2, .KV = 1, .D = 2, .F = 6, .maxT = 4,
                   .eps = 1e-5f, .theta = 10000, .tied = false};
    sg_tmodel a, b;
    sg_error err;
    CHECK(sg_tmodel_new(&a, &s, 1, 4, 1, &err) == SG_OK && sg_tmodel_new(&b, &s, 1, 4, 1, &err) == SG_OK);
    uint64_t rng = 7;
    sg_tmodel_init_weights(&a, 0.02, &rng);
    for (size_t i = 0; i < a.n_params; i++) a.adam_m[i] = (float)i, a.adam_v[i] = (float)(2 * i);
    sg_train_state st = {.step = 12, .data_pos = 1ull << 40, .rng = UINT64_MAX - 3, .tokens = 12345}, st2 = {0};
    CHECK(sg_checkpoint_save(&a, &st, tmp("ckpt-00000012.bin"), &err) == SG_OK);
    CHECK(sg_checkpoint_load(&b, &st2, tmp("ckpt-00000012.bin"), &err) == SG_OK);
    CHECK(st2.step == 12 && st2.data_pos == st.data_pos && st2.rng == st.rng && st2.tokens == 12345);
    CHECK(!memcmp(a.params, b.params, a.n_params * 4) && !memcmp(a.adam_m, b.adam_m, a.n_params * 4) &&
          !memcmp(a.adam_v, b.adam_v, a.n_params * 4));
    st.step = 9;
    CHECK(sg_checkpoint_save(&a, &st, tmp("ckpt-00000009.bin"), &err) == SG_OK);
    FILE *f = fopen(tmp("ckpt-123.bin"), "w"); /* not a checkpoint name: ignored */
    fclose(f);
    char latest[600];
    CHECK(sg_checkpoint_latest(tmpdir, latest, sizeof latest) && strstr(latest, "ckpt-00000012.bin"));
    /* corruption: one flipped bit */
    f = fopen(tmp("ckpt-00000012.bin"), "r+");
    fseek(f, 100, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(ch ^ 4, f);
    fclose(f);
    CHECK(sg_checkpoint_load(&b, &st2, tmp("ckpt-00000012.bin"), &err) != SG_OK && strstr(err.msg, "checksum"));
    /* a model of another shape is refused */
    sg_tmodel c;
    s.F = 8;
    CHECK(sg_tmodel_new(&c, &s, 1, 4, 1, &err) == SG_OK);
    CHECK(sg_checkpoint_load(&c, &st2, tmp("ckpt-00000009.bin"), &err) != SG_OK);
    sg_tmodel_free(&c);
    sg_tmodel_free(&a);
    sg_tmodel_free(&b);

    /* an aborted atomic write leaves the old file alone and no temp file */
    sg_afile af;
    CHECK(sg_afile_open(&af, tmp("ckpt-00000009.bin"), &err) == SG_OK);
    sg_afile_write(&af, "junk", 4);
    sg_afile_abort(&af);
    struct stat sb;
    CHECK(stat(tmp("ckpt-00000009.bin"), &sb) == 0 && sb.st_size > 100);
    CHECK(sg_afile_open(&af, "/nonexistent-dir/x.bin", &err) != SG_OK && strstr(err.msg, "nonexistent"));
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

TEST_MAIN({
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sg_test_train.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_config();
    test_data();
    test_optim();
    gradcheck(SG_ARCH_LLAMA, false, 1);
    gradcheck(SG_ARCH_LLAMA, true, 2);
    gradcheck(SG_ARCH_GPT2, true, 2);
    test_checkpoint();
    cleanup();
})
