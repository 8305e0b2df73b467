/*
 * fuzz_vocab.c -- libFuzzer target for the vocabulary loaders.
 *
 * Inputs starting with "GGUF" are parsed as a GGUF file and loaded as a
 * tokenizer from its tokenizer.ggml.* metadata; anything else is loaded as
 * a Hugging Face tokenizer.json. A load may fail (with a one-line message
 * naming the file) but never crash or leak; a loaded tokenizer must encode
 * and decode a fixed text with every id in range.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "stargate.h"
#include "tokenizer/tokenizer.h"
#include "fuzz.h"

/* Exercise a loaded tokenizer. */
static void use(sg_tokenizer *t)
{
    static const char text[] = "Hello <|endoftext|> world 333 \xF0\x9F\xA6\x99 \xff \xE2\x96\x81x";
    for (unsigned flags = 0; flags < 4; flags++) {
        int32_t *ids;
        size_t k;
        if (sg_tokenize(t, text, sizeof text - 1, flags, &ids, &k, NULL) != SG_OK) continue;
        for (size_t i = 0; i < k; i++) REQUIRE(ids[i] >= 0 && ids[i] < sg_tokenizer_n_vocab(t));
        char *out;
        size_t len;
        REQUIRE(sg_detokenize(t, ids, k, SG_DETOK_SPECIAL, &out, &len, NULL) == SG_OK);
        free(out);
        free(ids);
    }
    size_t l;
    sg_token_text(t, sg_token_bos(t), &l);
    sg_token_is_eog(t, sg_token_eos(t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_error err = {0};
    if (size >= 4 && !memcmp(data, "GGUF", 4)) {
        sg_gguf g;
        if (sg_gguf_parse(&g, data, size, "fuzz.gguf", &err) != SG_OK) return 0;
        sg_tokenizer *t;
        if (sg_tok_from_gguf(&g, "fuzz.gguf", &t, &err) == SG_OK) {
            use(t);
            sg_tokenizer_free(t);
        } else REQUIRE(err.msg[0] && !strchr(err.msg, '\n'));
        sg_gguf_close(&g);
        return 0;
    }
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = 0;
    sg_tokenizer *t = calloc(1, sizeof *t);
    t->path = strdup("fuzz.json");
    t->bos = t->eos = t->unk = t->pad = t->eot = t->eom = -1;
    if (sg_tok_load_hf(t, json, NULL, "fuzz.json", &err) == SG_OK) use(t);
    sg_tokenizer_free(t);
    free(json);
    return 0;
}
