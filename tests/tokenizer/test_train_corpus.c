/*
 * test_train_corpus.c -- training on real French text (tinymoliere.txt from
 * ../shared/fixtures/corpus): an 8k byte-level BPE trained on the first
 * 2,100,000 bytes must train in under 20 s and compress the held-out rest
 * better (more bytes per token) than GPT-2's vocabulary does. Exits 77
 * (SKIP) when the fixtures are absent.
 *
 * usage: test_train_corpus FIXTURES_DIR WORK_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stargate.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static double bytes_per_token(const char *vocab, const char *text, size_t n)
{
    sg_tokenizer *t;
    sg_error err = {0};
    if (sg_tokenizer_load(vocab, &t, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 0;
    }
    int32_t *ids;
    size_t k = 0;
    if (sg_tokenize(t, text, n, 0, &ids, &k, &err) == SG_OK) free(ids);
    sg_tokenizer_free(t);
    return k ? (double)n / (double)k : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    char corpus[1024], gpt2[1024], train[1200], out[1200];
    snprintf(corpus, sizeof corpus, "%s/corpus/tinymoliere.txt", argv[1]);
    snprintf(gpt2, sizeof gpt2, "%s/vocab/ggml-vocab-gpt-2.gguf", argv[1]);
    snprintf(train, sizeof train, "%s/moliere-train.txt", argv[2]);
    snprintf(out, sizeof out, "%s/fr8k.gguf", argv[2]);
    size_t n;
    char *text = slurp(corpus, &n);
    if (!text || n < 2200000) {
        printf("SKIP: %s not found\n", corpus);
        return 77;
    }
    size_t cut = 2100000;
    FILE *f = fopen(train, "wb");
    if (!f || fwrite(text, 1, cut, f) != cut || fclose(f)) return 1;
    sg_train_params p = {.input = train, .output = out, .vocab_size = 8192};
    sg_error err = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (sg_tokenizer_train(&p, &err)) {
        fprintf(stderr, "train: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    double mine = bytes_per_token(out, text + cut, n - cut), theirs = bytes_per_token(gpt2, text + cut, n - cut);
    printf("trained 8192 tokens in %.2f s; held-out bytes/token: trained %.3f, gpt-2 %.3f\n", dt, mine, theirs);
    free(text);
    remove(train);
    return dt < 20 && mine > theirs ? 0 : 1;
}
