/*
 * export_hf.c -- write a byte-level BPE vocabulary (a GGUF's tokenizer.ggml.*
 * keys) as Hugging Face tokenizer.json + tokenizer_config.json.
 *
 * This is how a vocabulary travels with a model exported to a Hugging Face
 * directory (stargate train's export_hf): the pre-tokenizer becomes Split
 * steps with the family's regexes (behaviour Isolated) followed by a ByteLevel
 * step that only maps bytes (use_regex false); the model is BPE over the
 * byte-level alphabet with the GGUF's merges; control and user-defined tokens
 * become added_tokens. tokenizer_config.json carries bos/eos, add_bos_token
 * and the chat template. Both files are written atomically. SentencePiece
 * vocabularies are refused with a clear error (not needed by the trainer yet).
 */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/afile.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

/* path <- text and a newline, atomically (base/afile.c). */
static sg_status write_atomic(const char *path, const char *text, sg_error *err)
{
    sg_afile a;
    sg_status st = sg_afile_open(&a, path, err);
    if (st) return st;
    sg_afile_write(&a, text, strlen(text));
    sg_afile_write(&a, "\n", 1);
    return sg_afile_commit(&a, err);
}

static cJSON *str_n(const sg_gguf_str *s)
{
    char *c = malloc((size_t)s->len + 1);
    if (!c) return NULL;
    memcpy(c, s->ptr, (size_t)s->len);
    c[s->len] = 0;
    cJSON *j = cJSON_CreateString(c);
    free(c);
    return j;
}

/* The string array `key` of g, or NULL. */
static const sg_gguf_kv *str_array(const sg_gguf *g, const char *key)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    return kv && kv->type == SG_GGUF_ARRAY && kv->v.arr.type == SG_GGUF_STRING ? kv : NULL;
}

static int32_t token_type(const sg_gguf_kv *types, uint64_t i)
{
    if (!types || types->type != SG_GGUF_ARRAY || i >= types->v.arr.n) return 1;
    if (types->v.arr.type != SG_GGUF_INT32 && types->v.arr.type != SG_GGUF_UINT32) return 1;
    int32_t t;
    memcpy(&t, types->v.arr.data + 4 * i, 4);
    return t;
}

sg_status sg_tokenizer_write_hf(const char *vocab_gguf, const char *dir, sg_error *err)
{
    sg_gguf g;
    sg_status s = sg_gguf_open(&g, vocab_gguf, err);
    if (s) return s;
    cJSON *tok = NULL, *cfg = NULL;
    char *a = NULL, *b = NULL, *p1 = NULL, *p2 = NULL;
    sg_gguf_str model, pre = {"gpt-2", 5};
    if (sg_gguf_get_str(&g, "tokenizer.ggml.model", &model, NULL) != SG_OK || model.len != 4 ||
        memcmp(model.ptr, "gpt2", 4) != 0) {
        s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: only byte-level BPE (gpt2) vocabularies export to tokenizer.json",
                    vocab_gguf);
        goto done;
    }
    sg_gguf_get_str(&g, "tokenizer.ggml.pre", &pre, NULL);
    char pre_name[64];
    snprintf(pre_name, sizeof pre_name, "%.*s", (int)(pre.len < 63 ? pre.len : 63), pre.ptr);
    const char *pats[SG_PRETOK_MAX];
    int n_pats = sg_pretok_named_patterns(pre_name, pats, SG_PRETOK_MAX);
    const sg_gguf_kv *tokens = str_array(&g, "tokenizer.ggml.tokens"), *merges = str_array(&g, "tokenizer.ggml.merges");
    const sg_gguf_kv *types = sg_gguf_find(&g, "tokenizer.ggml.token_type");
    if (n_pats < 0 || !tokens) {
        s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: %s", vocab_gguf,
                    !tokens ? "no tokenizer.ggml.tokens" : "pre-tokenizer has no tokenizer.json form");
        goto done;
    }

    tok = cJSON_CreateObject();
    cJSON_AddStringToObject(tok, "version", "1.0");
    cJSON_AddNullToObject(tok, "truncation");
    cJSON_AddNullToObject(tok, "padding");
    cJSON *added = cJSON_AddArrayToObject(tok, "added_tokens");
    for (uint64_t i = 0; i < tokens->v.arr.n; i++) {
        int32_t t = token_type(types, i);
        if (t != SG_TOKEN_CONTROL && t != SG_TOKEN_USER_DEFINED) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", (double)i);
        cJSON_AddItemToObject(e, "content", str_n(&tokens->v.arr.strs[i]));
        cJSON_AddFalseToObject(e, "single_word");
        cJSON_AddFalseToObject(e, "lstrip");
        cJSON_AddFalseToObject(e, "rstrip");
        cJSON_AddFalseToObject(e, "normalized");
        cJSON_AddBoolToObject(e, "special", t == SG_TOKEN_CONTROL);
        cJSON_AddItemToArray(added, e);
    }
    cJSON_AddNullToObject(tok, "normalizer");
    cJSON *pt = cJSON_AddObjectToObject(tok, "pre_tokenizer");
    cJSON_AddStringToObject(pt, "type", "Sequence");
    cJSON *steps = cJSON_AddArrayToObject(pt, "pretokenizers");
    for (int i = 0; i < n_pats; i++) {
        cJSON *sp = cJSON_CreateObject();
        cJSON_AddStringToObject(sp, "type", "Split");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(sp, "pattern"), "Regex", pats[i]);
        cJSON_AddStringToObject(sp, "behavior", "Isolated");
        cJSON_AddFalseToObject(sp, "invert");
        cJSON_AddItemToArray(steps, sp);
    }
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddFalseToObject(bl, "add_prefix_space");
    cJSON_AddTrueToObject(bl, "trim_offsets");
    cJSON_AddFalseToObject(bl, "use_regex");
    cJSON_AddItemToArray(steps, bl);
    cJSON_AddNullToObject(tok, "post_processor");
    cJSON *dec = cJSON_AddObjectToObject(tok, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON_AddTrueToObject(dec, "add_prefix_space");
    cJSON_AddTrueToObject(dec, "trim_offsets");
    cJSON_AddTrueToObject(dec, "use_regex");
    cJSON *m = cJSON_AddObjectToObject(tok, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddNullToObject(m, "continuing_subword_prefix");
    cJSON_AddNullToObject(m, "end_of_word_suffix");
    cJSON_AddFalseToObject(m, "fuse_unk");
    cJSON_AddFalseToObject(m, "byte_fallback");
    cJSON_AddFalseToObject(m, "ignore_merges");
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
    for (uint64_t i = 0; i < tokens->v.arr.n; i++) {
        const sg_gguf_str *t = &tokens->v.arr.strs[i];
        char *key = malloc((size_t)t->len + 1);
        if (!key) break;
        memcpy(key, t->ptr, (size_t)t->len);
        key[t->len] = 0;
        cJSON_AddNumberToObject(vocab, key, (double)i);
        free(key);
    }
    cJSON *ml = cJSON_AddArrayToObject(m, "merges");
    for (uint64_t i = 0; merges && i < merges->v.arr.n; i++) cJSON_AddItemToArray(ml, str_n(&merges->v.arr.strs[i]));

    cfg = cJSON_CreateObject();
    uint32_t bos = UINT32_MAX, eos = UINT32_MAX;
    bool add_bos = false;
    sg_gguf_get_u32(&g, "tokenizer.ggml.bos_token_id", &bos, NULL);
    sg_gguf_get_u32(&g, "tokenizer.ggml.eos_token_id", &eos, NULL);
    sg_gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &add_bos, NULL);
    if (bos < tokens->v.arr.n) cJSON_AddItemToObject(cfg, "bos_token", str_n(&tokens->v.arr.strs[bos]));
    else cJSON_AddNullToObject(cfg, "bos_token");
    if (eos < tokens->v.arr.n) cJSON_AddItemToObject(cfg, "eos_token", str_n(&tokens->v.arr.strs[eos]));
    else cJSON_AddNullToObject(cfg, "eos_token");
    cJSON_AddBoolToObject(cfg, "add_bos_token", add_bos);
    cJSON_AddFalseToObject(cfg, "add_eos_token");
    cJSON_AddStringToObject(cfg, "tokenizer_class", "PreTrainedTokenizerFast");
    sg_gguf_str tmpl;
    if (sg_gguf_get_str(&g, "tokenizer.chat_template", &tmpl, NULL) == SG_OK)
        cJSON_AddItemToObject(cfg, "chat_template", str_n(&tmpl));

    a = cJSON_Print(tok);
    b = cJSON_Print(cfg);
    p1 = sg_path_join(dir, "tokenizer.json");
    p2 = sg_path_join(dir, "tokenizer_config.json");
    if (!a || !b) s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
    if (!s) s = write_atomic(p1, a, err);
    if (!s) s = write_atomic(p2, b, err);
done:
    cJSON_Delete(tok);
    cJSON_Delete(cfg);
    free(a);
    free(b);
    free(p1);
    free(p2);
    sg_gguf_close(&g);
    return s;
}
