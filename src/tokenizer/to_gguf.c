/*
 * to_gguf.c -- a loaded tokenizer.json vocabulary as GGUF metadata.
 *
 * Tokens, types, merges and special ids come from the loaded sg_tokenizer
 * (load.c already resolved tokenizer.json and tokenizer_config.json); the
 * merges are listed by rank as "left right" texts. GGUF names the
 * pre-tokenizer instead of storing its regexes, so the tokenizer.json
 * pre_tokenizer's regexes (Split patterns in order, a ByteLevel step with
 * use_regex standing for GPT-2's pattern) are compared with those of each
 * pre-tokenizer name llama.cpp knows (pretok.c's table); one that matches
 * none is refused rather than guessed. An embedding with more rows than the
 * vocabulary has tokens gets "[PADn]" tokens of type unused, as llama.cpp's
 * converter writes (llama.cpp wants one token per row).
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "tokenizer/to_gguf.h"

/* llama.cpp's spelling of each pre-tokenizer family stargate knows. */
static const char *const pre_names[] = {"gpt-2",          "llama-bpe",   "qwen2",  "gpt-4o",   "deepseek-llm",
                                        "deepseek-coder", "deepseek-v3", "falcon", "starcoder"};

/* Append node's regexes to pats; false when a step has no regex form. */
static bool collect(const cJSON *node, const char **pats, int *n, int max)
{
    if (!node || cJSON_IsNull(node)) return true;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    if (!cJSON_IsString(type)) return false;
    const char *ty = type->valuestring;
    if (!strcmp(ty, "Sequence")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(node, "pretokenizers"))
            if (!collect(e, pats, n, max)) return false;
        return true;
    }
    if (*n >= max) return false;
    if (!strcmp(ty, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(node, "pattern");
        const cJSON *re = pat ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
        const cJSON *inv = cJSON_GetObjectItemCaseSensitive(node, "invert");
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(node, "behavior");
        if (!cJSON_IsString(re) || cJSON_IsTrue(inv) || (cJSON_IsString(beh) && strcmp(beh->valuestring, "Isolated")))
            return false;
        pats[(*n)++] = re->valuestring;
        return true;
    }
    if (!strcmp(ty, "ByteLevel")) {
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(node, "use_regex");
        if (cJSON_IsFalse(ur)) return true;
        const char *g[1];
        if (sg_pretok_named_patterns("gpt-2", g, 1) != 1) return false;
        pats[(*n)++] = g[0];
        return true;
    }
    return false;
}

/* The llama.cpp pre-tokenizer name of dir/tokenizer.json, or NULL. */
static const char *pre_name(const char *dir)
{
    char *p = sg_path_join(dir, "tokenizer.json"), *txt = NULL;
    cJSON *root = NULL;
    const char *found = NULL;
    if (p && sg_file_read_all(p, &txt, NULL, NULL) == SG_OK) root = cJSON_Parse(txt);
    const char *pats[SG_PRETOK_MAX];
    int n = 0;
    if (root && collect(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), pats, &n, SG_PRETOK_MAX) && n > 0)
        for (size_t f = 0; f < sizeof pre_names / sizeof *pre_names && !found; f++) {
            const char *want[SG_PRETOK_MAX];
            int k = sg_pretok_named_patterns(pre_names[f], want, SG_PRETOK_MAX);
            bool same = k == n;
            for (int i = 0; same && i < n; i++) same = !strcmp(want[i], pats[i]);
            if (same) found = pre_names[f];
        }
    cJSON_Delete(root);
    free(txt);
    free(p);
    return found;
}

sg_status sg_tokenizer_to_gguf(const sg_tokenizer *t, const char *dir, int n_vocab, sg_gguf_writer *w, sg_error *err)
{
    if (t->model != SG_TOKM_BPE)
        return sg_fail(err, SG_ERR_UNSUPPORTED,
                       "%s: only byte-level BPE tokenizer.json vocabularies convert to GGUF metadata (this one is %s)",
                       dir, t->kind);
    const char *pre = pre_name(dir);
    if (!pre)
        return sg_fail(err, SG_ERR_UNSUPPORTED,
                       "%s: the tokenizer.json pre-tokenizer matches no name llama.cpp knows (gpt-2, llama-bpe, ...)",
                       dir);
    if (n_vocab < t->n_vocab)
        return sg_fail(err, SG_ERR_FORMAT, "%s: the tokenizer has %d tokens, more than the model's %d", dir,
                       t->n_vocab, n_vocab);
    size_t n = (size_t)n_vocab, nm = t->merges.n;
    char(*pads)[32] = NULL;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    int32_t *types = malloc((n ? n : 1) * sizeof *types);
    char **merges = calloc(nm ? nm : 1, sizeof *merges);
    sg_status s = SG_OK;
    if (!texts || !lens || !types || !merges) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    if (n > (size_t)t->n_vocab && !(pads = malloc((n - (size_t)t->n_vocab) * sizeof *pads))) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (i >= (size_t)t->n_vocab) { /* rows the embedding has beyond the vocabulary */
            char *p = pads[i - (size_t)t->n_vocab];
            snprintf(p, sizeof pads[0], "[PAD%zu]", i);
            texts[i] = p;
            lens[i] = strlen(p);
            types[i] = SG_TOKEN_UNUSED;
            continue;
        }
        texts[i] = t->text + t->toff[i];
        lens[i] = t->toff[i + 1] - t->toff[i] - 1;
        types[i] = t->type[i];
    }
    for (uint32_t i = 0; i <= t->merges.mask && t->merges.key; i++) {
        uint64_t k = t->merges.key[i];
        if (!k || t->merges.rank[i] >= nm) continue;
        uint32_t a = (uint32_t)((k - 1) >> 32), b = (uint32_t)((k - 1) & 0xffffffffu);
        size_t la = lens[a], lb = lens[b];
        char *m = malloc(la + lb + 2);
        if (!m) {
            s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
            goto done;
        }
        memcpy(m, texts[a], la);
        m[la] = ' ';
        memcpy(m + la + 1, texts[b], lb);
        m[la + lb + 1] = 0;
        merges[t->merges.rank[i]] = m;
    }
    for (size_t i = 0; i < nm; i++)
        if (!merges[i]) {
            s = sg_fail(err, SG_ERR_INVALID, "%s: merge ranks are not contiguous", dir);
            goto done;
        }
    sg_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    sg_gguf_w_str(w, "tokenizer.ggml.pre", pre);
    sg_gguf_w_str_array(w, "tokenizer.ggml.tokens", texts, lens, n);
    sg_gguf_w_i32_array(w, "tokenizer.ggml.token_type", types, n);
    sg_gguf_w_str_array(w, "tokenizer.ggml.merges", (const char *const *)merges, NULL, nm);
    const struct {
        const char *key;
        int32_t id;
    } ids[] = {{"tokenizer.ggml.bos_token_id", t->bos}, {"tokenizer.ggml.eos_token_id", t->eos},
               {"tokenizer.ggml.unknown_token_id", t->unk}, {"tokenizer.ggml.padding_token_id", t->pad}};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i].id >= 0) sg_gguf_w_u32(w, ids[i].key, (uint32_t)ids[i].id);
    sg_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos);
    sg_gguf_w_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos);
done:
    if (merges)
        for (size_t i = 0; i < nm; i++) free(merges[i]);
    free(merges);
    free(pads);
    free(texts);
    free(lens);
    free(types);
    return s;
}
