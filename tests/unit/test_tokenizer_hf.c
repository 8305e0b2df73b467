/* test_tokenizer_hf.c -- a vocabulary trained by stargate, written as Hugging
 * Face tokenizer.json + tokenizer_config.json, tokenizes and decodes exactly
 * like the GGUF it came from (specials, Unicode, digits, whitespace runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stargate.h"
#include "test.h"

static void same(const sg_tokenizer *a, const sg_tokenizer *b, const char *text, unsigned flags)
{
    int32_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    sg_error e = {0};
    CHECK(sg_tokenize(a, text, strlen(text), flags, &x, &nx, &e) == SG_OK);
    CHECK(sg_tokenize(b, text, strlen(text), flags, &y, &ny, &e) == SG_OK);
    CHECK_MSG(nx == ny && (nx == 0 || !memcmp(x, y, nx * sizeof *x)), "'%s': %zu vs %zu tokens", text, nx, ny);
    char *t = NULL;
    size_t tl;
    CHECK(sg_detokenize(b, y, ny, SG_DETOK_SPECIAL, &t, &tl, &e) == SG_OK);
    CHECK_MSG(t && tl == strlen(text) && !memcmp(t, text, tl), "round trip of '%s'", text);
    free(t);
    free(x);
    free(y);
}

TEST_MAIN({
    char dir[] = "/tmp/sg-tokhf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char corpus[64], vocab[64];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.gguf", dir);
    FILE *f = fopen(corpus, "w");
    for (int i = 0; i < 300; i++)
        fprintf(f, "Bonjour %d, ça va très bien ! The quick brown fox's 12345 jumps.\n  Guten Tag — 日本語 😀\n", i);
    fclose(f);
    const char *specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    sg_train_params tp = {.input = corpus, .output = vocab, .vocab_size = 400, .specials = specials, .n_specials = 3};
    sg_error e = {0};
    CHECK(sg_tokenizer_train(&tp, &e) == SG_OK);
    CHECK_MSG(sg_tokenizer_write_hf(vocab, dir, &e) == SG_OK, "%s", e.msg);
    sg_tokenizer *g = NULL, *h = NULL;
    CHECK(sg_tokenizer_load(vocab, &g, &e) == SG_OK);
    CHECK_MSG(sg_tokenizer_load(dir, &h, &e) == SG_OK, "%s", e.msg);
    if (g && h) {
        CHECK(sg_tokenizer_n_vocab(g) == sg_tokenizer_n_vocab(h));
        CHECK(sg_token_bos(g) == sg_token_bos(h) && sg_token_eos(g) == sg_token_eos(h));
        const char *texts[] = {"Bonjour 42, ça va ?", "The quick brown fox's 12345 jumps.", "  leading   spaces\n\n",
                               "日本語 😀 mixed écrits", "<|im_start|>user\nHi<|im_end|>\n", "", "x"};
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            same(g, h, texts[i], 0);
            same(g, h, texts[i], SG_TOKENIZE_PARSE_SPECIAL);
            same(g, h, texts[i], SG_TOKENIZE_ADD_SPECIAL);
        }
    }
    sg_tokenizer_free(g);
    sg_tokenizer_free(h);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
})
