/*
 * load.c -- tokenizers from GGUF metadata and from Hugging Face files.
 *
 * GGUF (llama.cpp's tokenizer.ggml.* keys): model "gpt2" is byte-level BPE
 * with `merges` and a pre-tokenizer named by `pre`; model "llama" is
 * SentencePiece with `scores`; token_type marks control, user-defined and
 * byte tokens; bos/eos/unknown/padding/eot/eom ids, add_bos_token,
 * add_eos_token and add_space_prefix set the insertion rules. A GGUF with
 * tokens but no merges (the generator's dummy vocabularies) is a valid,
 * degenerate vocabulary whose bytes never merge.
 *
 * Hugging Face: tokenizer.json's BPE model (vocab, merges, ignore_merges,
 * byte_fallback), added_tokens (special -> control, others user-defined,
 * lstrip/rstrip kept), the pre-tokenizer (ByteLevel, Split patterns with
 * their behaviour and invert, Digits, Punctuation, in sequence; unknown
 * kinds are refused) and, from tokenizer_config.json,
 * bos/eos tokens and add_bos_token/add_eos_token. ByteLevel models become
 * byte-level BPE; SentencePiece-converted ones (byte_fallback, U+2581
 * normalizer or Metaspace) become character BPE with byte fallback: a
 * Prepend("▁") normalizer puts "▁" before every fragment, Metaspace's
 * prepend_scheme ("always", "first", "never") only where the fragment does
 * not start with a space, and its `split` starts a piece at every "▁".
 * tests/tokenizer/run_json_conformance.py checks all this on the real
 * vocabularies (tools/vocab_to_tokenizer_json.py).
 *
 * Every string is copied: the tokenizer outlives the file it came from.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "tokenizer/tokenizer.h"

static sg_tokenizer *tok_new(const char *path)
{
    sg_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->path = strdup(path ? path : "(tokenizer)");
    t->bos = t->eos = t->unk = t->pad = t->eot = t->eom = -1;
    if (!t->path) {
        free(t);
        return NULL;
    }
    return t;
}

void sg_tokenizer_free(sg_tokenizer *t)
{
    if (!t) return;
    sg_pretok_free(&t->pre);
    free(t->path);
    free(t->text);
    free(t->toff);
    free(t->dec);
    free(t->doff);
    free(t->type);
    free(t->attr);
    free(t->score);
    free(t->map.slot);
    free(t->merges.key);
    free(t->merges.rank);
    free(t->merges.res);
    free(t->special);
    free(t->eog);
    free(t);
}

/* ------------------------------------------------------------------- GGUF */

/* Element i of a numeric GGUF array as a double (0 for non-numeric types). */
static double arr_num(const sg_gguf_kv *kv, uint64_t i)
{
    const uint8_t *p = kv->v.arr.data;
    switch (kv->v.arr.type) {
    case SG_GGUF_INT8: return (int8_t)p[i];
    case SG_GGUF_UINT8: return p[i];
    case SG_GGUF_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case SG_GGUF_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case SG_GGUF_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case SG_GGUF_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case SG_GGUF_FLOAT32: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case SG_GGUF_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case SG_GGUF_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case SG_GGUF_FLOAT64: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    default: return 0;
    }
}

static bool arr_numeric(const sg_gguf_kv *kv)
{
    return kv && kv->type == SG_GGUF_ARRAY && kv->v.arr.type != SG_GGUF_STRING && kv->v.arr.type != SG_GGUF_BOOL;
}

static void get_id(const sg_gguf *g, const char *key, int32_t *out)
{
    uint32_t v;
    if (sg_gguf_get_u32(g, key, &v, NULL) == SG_OK) *out = v > INT32_MAX ? -1 : (int32_t)v;
}

static void get_flag(const sg_gguf *g, const char *key, bool *out)
{
    bool v;
    if (sg_gguf_get_bool(g, key, &v, NULL) == SG_OK) *out = v;
}

sg_status sg_tok_load_gguf(sg_tokenizer *t, const sg_gguf *g, sg_error *err)
{
    sg_gguf_str model;
    sg_status s = sg_gguf_get_str(g, "tokenizer.ggml.model", &model, err);
    if (s == SG_ERR_MISSING) return sg_fail(err, s, "%s: no tokenizer (tokenizer.ggml.model is absent)", t->path);
    if (s) return s;
    if (model.len == 4 && !memcmp(model.ptr, "gpt2", 4)) t->model = SG_TOKM_BPE;
    else if (model.len == 5 && !memcmp(model.ptr, "llama", 5)) t->model = SG_TOKM_SPM;
    else
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tokenizer model '%.*s' is not supported (gpt2, llama are)",
                       t->path, (int)(model.len > 40 ? 40 : model.len), model.ptr);
    const sg_gguf_kv *tokens = sg_gguf_find(g, "tokenizer.ggml.tokens");
    if (!tokens) return sg_fail(err, SG_ERR_MISSING, "%s: tokenizer.ggml.tokens is absent", t->path);
    if (tokens->type != SG_GGUF_ARRAY || tokens->v.arr.type != SG_GGUF_STRING)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tokenizer.ggml.tokens is not an array of strings", t->path);
    uint64_t n = tokens->v.arr.n;
    if (n == 0 || n > (1u << 24)) return sg_fail(err, SG_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", t->path, (unsigned long long)n);
    const sg_gguf_kv *types = sg_gguf_find(g, "tokenizer.ggml.token_type");
    const sg_gguf_kv *scores = sg_gguf_find(g, "tokenizer.ggml.scores");
    if (types && (!arr_numeric(types) || types->v.arr.n != n))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tokenizer.ggml.token_type is not %llu numbers", t->path, (unsigned long long)n);
    if (scores && (!arr_numeric(scores) || scores->v.arr.n != n))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tokenizer.ggml.scores is not %llu numbers", t->path, (unsigned long long)n);
    sg_tok_entry *e = malloc(n * sizeof *e);
    if (!e) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", t->path);
    for (uint64_t i = 0; i < n; i++) {
        e[i].text = tokens->v.arr.strs[i].ptr;
        e[i].len = (size_t)tokens->v.arr.strs[i].len;
        e[i].type = types ? (int)arr_num(types, i) : SG_TOKEN_NORMAL;
        e[i].score = scores ? (float)arr_num(scores, i) : 0.0f;
    }
    s = sg_tok_build_vocab(t, e, (int)n, scores != NULL, err);
    free(e);
    if (s) return s;

    if (t->model == SG_TOKM_SPM) {
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_bos = true;
        t->add_space_prefix = true;
    }
    get_id(g, "tokenizer.ggml.bos_token_id", &t->bos);
    get_id(g, "tokenizer.ggml.eos_token_id", &t->eos);
    get_id(g, "tokenizer.ggml.unknown_token_id", &t->unk);
    get_id(g, "tokenizer.ggml.padding_token_id", &t->pad);
    get_id(g, "tokenizer.ggml.eot_token_id", &t->eot);
    get_id(g, "tokenizer.ggml.eom_token_id", &t->eom);
    get_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
    get_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos);
    get_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);

    if (t->model == SG_TOKM_BPE) {
        char pre[64] = "default";
        sg_gguf_str ps;
        if (sg_gguf_get_str(g, "tokenizer.ggml.pre", &ps, NULL) == SG_OK && ps.len && ps.len < sizeof pre) {
            memcpy(pre, ps.ptr, (size_t)ps.len);
            pre[ps.len] = 0;
        }
        if (sg_pretok_init_named(&t->pre, pre, t->path, NULL) != SG_OK) {
            /* a family this build does not know: the GPT-2 split is the closest general rule */
            sg_pretok_free(&t->pre);
            if ((s = sg_pretok_init_named(&t->pre, "gpt-2", t->path, err))) return s;
            snprintf(t->pre.name, sizeof t->pre.name, "%.40s?", pre);
        }
        t->ignore_merges = !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3") || !strcmp(pre, "llama-bpe") ||
                           !strcmp(pre, "falcon3");
        const sg_gguf_kv *merges = sg_gguf_find(g, "tokenizer.ggml.merges");
        if (merges && (merges->type != SG_GGUF_ARRAY || merges->v.arr.type != SG_GGUF_STRING))
            return sg_fail(err, SG_ERR_FORMAT, "%s: tokenizer.ggml.merges is not an array of strings", t->path);
        uint64_t nm = merges ? merges->v.arr.n : 0;
        if ((s = sg_tok_merges_reserve(t, (size_t)nm, err))) return s;
        for (uint64_t i = 0; i < nm; i++) {
            const char *m = merges->v.arr.strs[i].ptr;
            size_t len = (size_t)merges->v.arr.strs[i].len;
            const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
            if (!sp) continue; /* malformed entry: skipped, as a merge that can never apply */
            sg_tok_add_merge(t, m, (size_t)(sp - m), sp + 1, len - (size_t)(sp - m) - 1);
        }
    }
    /* Phi-3 style chat markers swallow the whitespace after them (llama.cpp does the same) */
    sg_gguf_str arch;
    if (sg_gguf_get_str(g, "general.architecture", &arch, NULL) == SG_OK && arch.len == 4 && !memcmp(arch.ptr, "phi3", 4)) {
        static const char *const rs[] = {"<|end|>", "<|endoftext|>"};
        for (int k = 0; k < 2; k++) {
            int32_t id = sg_strmap_get(t, rs[k], strlen(rs[k]));
            if (id >= 0) t->attr[id] |= SG_TOKA_RSTRIP;
        }
    }
    return sg_tok_finish(t, err);
}

/* ------------------------------------------------------------ Hugging Face */

static const cJSON *jget(const cJSON *o, const char *k) { return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

static bool jtrue(const cJSON *o, const char *k, bool dflt)
{
    const cJSON *v = jget(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* Text of a token given as a string or as {"content": ...}. */
static const char *token_content(const cJSON *v)
{
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = jget(v, "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* SG_SPLIT_* behaviour of a Split/Punctuation node (default: Isolated). */
static unsigned split_behavior(const cJSON *pt)
{
    const cJSON *b = jget(pt, "behavior");
    if (!cJSON_IsString(b)) return SG_SPLIT_ISOLATED;
    static const struct { const char *name; unsigned v; } bs[] = {
        {"Removed", SG_SPLIT_REMOVED},          {"Isolated", SG_SPLIT_ISOLATED},
        {"MergedWithPrevious", SG_SPLIT_MERGED_PREV}, {"MergedWithNext", SG_SPLIT_MERGED_NEXT},
        {"Contiguous", SG_SPLIT_CONTIGUOUS},
    };
    for (size_t i = 0; i < sizeof bs / sizeof *bs; i++)
        if (!strcmp(b->valuestring, bs[i].name)) return bs[i].v;
    return 99; /* unknown: sg_pretok_add refuses it */
}

/* Append the regex split(s) one pre-tokenizer node stands for. Steps after a
 * ByteLevel step see one character per byte of the text (GPT-2's alphabet):
 * Digits and Punctuation there match bytes (Falcon's Digits splits "Â½" into
 * "Â" and "½"); a Split there is run on the text itself, which is the same
 * for the ASCII patterns real files use ("[0-9][0-9][0-9]"). */
static sg_status hf_pretok(sg_tokenizer *t, const cJSON *pt, bool *after_bl, sg_error *err)
{
    const cJSON *type = jget(pt, "type");
    if (!cJSON_IsString(type)) return SG_OK;
    const char *ty = type->valuestring;
    sg_status s = SG_OK;
    if (!strcmp(ty, "Sequence")) {
        const cJSON *it;
        cJSON_ArrayForEach(it, jget(pt, "pretokenizers")) if ((s = hf_pretok(t, it, after_bl, err))) return s;
    } else if (!strcmp(ty, "ByteLevel")) {
        if (jtrue(pt, "use_regex", true)) {
            sg_pretok tmp = {0};
            if ((s = sg_pretok_init_named(&tmp, "gpt-2", t->path, err))) return s;
            if (t->pre.n >= SG_PRETOK_MAX) {
                sg_pretok_free(&tmp);
                return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: pre-tokenizer too long", t->path);
            }
            t->pre.flags[t->pre.n] = SG_SPLIT_ISOLATED;
            t->pre.code[t->pre.n++] = tmp.code[0];
        }
        *after_bl = true;
    } else if (!strcmp(ty, "Split")) {
        const cJSON *pat = jget(pt, "pattern");
        const cJSON *re = jget(pat, "Regex"), *str = jget(pat, "String");
        unsigned fl = split_behavior(pt) | (jtrue(pt, "invert", false) ? SG_SPLIT_INVERT : 0);
        if (cJSON_IsString(re)) s = sg_pretok_add(&t->pre, re->valuestring, strlen(re->valuestring), fl, t->path, err);
        else if (cJSON_IsString(str)) {
            char q[512];
            int n = snprintf(q, sizeof q, "\\Q%s\\E", str->valuestring);
            if (n < 0 || (size_t)n >= sizeof q || strstr(str->valuestring, "\\E"))
                return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: split string too long", t->path);
            s = sg_pretok_add(&t->pre, q, (size_t)n, fl, t->path, err);
        }
    } else if (!strcmp(ty, "Digits")) { /* Rust's char::is_numeric: \p{N} */
        unsigned fl = jtrue(pt, "individual_digits", false) ? SG_SPLIT_ISOLATED : SG_SPLIT_CONTIGUOUS;
        const char *p = *after_bl ? "[0-9\\xB2\\xB3\\xB9\\xBC-\\xBE]" : "\\p{N}";
        s = sg_pretok_add(&t->pre, p, strlen(p), fl | (*after_bl ? SG_SPLIT_BYTES : 0), t->path, err);
    } else if (!strcmp(ty, "Punctuation")) { /* ASCII punctuation or a P* category */
        const char *p = *after_bl ? "[!-/:-@\\[-`{-~\\xA1\\xA7\\xAB\\xB6\\xB7\\xBB\\xBF]" : "[\\p{P}\\$\\+<=>\\^~\\|`]";
        s = sg_pretok_add(&t->pre, p, strlen(p), split_behavior(pt) | (*after_bl ? SG_SPLIT_BYTES : 0), t->path, err);
    } else if (strcmp(ty, "Metaspace"))
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: pre-tokenizer '%.32s' is not supported", t->path, ty);
    return s;
}

/* The first node of type ty in a normalizer/pre-tokenizer tree. */
static const cJSON *find_node(const cJSON *j, const char *ty)
{
    if (!j || cJSON_IsString(j)) return NULL;
    const cJSON *type = jget(j, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, ty)) return j;
    const cJSON *c, *r;
    cJSON_ArrayForEach(c, j) if ((r = find_node(c, ty))) return r;
    return NULL;
}

/* Does a normalizer/pre-tokenizer/decoder tree mention s anywhere? */
static bool json_mentions(const cJSON *j, const char *s)
{
    if (!j) return false;
    if (cJSON_IsString(j)) return strstr(j->valuestring, s) != NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, j) if (json_mentions(c, s)) return true;
    return false;
}

sg_status sg_tok_load_hf(sg_tokenizer *t, const char *json, const char *config_json, const char *path, sg_error *err)
{
    sg_status s = SG_OK;
    cJSON *root = cJSON_Parse(json), *cfg = config_json ? cJSON_Parse(config_json) : NULL;
    sg_tok_entry *e = NULL;
    if (!root) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: not valid JSON", path);
        goto done;
    }
    const cJSON *model = jget(root, "model"), *vocab = jget(model, "vocab"), *type = jget(model, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "BPE")) {
        s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tokenizer model '%.32s' is not supported (BPE is)", path, type->valuestring);
        goto done;
    }
    if (!cJSON_IsObject(vocab)) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: model.vocab is missing", path);
        goto done;
    }
    const cJSON *added = jget(root, "added_tokens"), *it;
    int n = 0;
    cJSON_ArrayForEach(it, vocab) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 24)) {
            s = sg_fail(err, SG_ERR_FORMAT, "%s: model.vocab entry has a bad id", path);
            goto done;
        }
        if ((int)it->valuedouble + 1 > n) n = (int)it->valuedouble + 1;
    }
    cJSON_ArrayForEach(it, added) {
        const cJSON *id = jget(it, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < (1 << 24) && (int)id->valuedouble + 1 > n)
            n = (int)id->valuedouble + 1;
    }
    if (n == 0) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: empty vocabulary", path);
        goto done;
    }
    e = calloc((size_t)n, sizeof *e);
    char *pads = calloc((size_t)n, 16);
    if (!e || !pads) {
        free(pads);
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    cJSON_ArrayForEach(it, vocab) {
        int id = (int)it->valuedouble;
        e[id].text = it->string;
        e[id].len = strlen(it->string);
        e[id].type = SG_TOKEN_NORMAL;
    }
    cJSON_ArrayForEach(it, added) {
        const cJSON *id = jget(it, "id");
        const char *c = token_content(it);
        if (!cJSON_IsNumber(id) || !c || id->valuedouble < 0) continue;
        int k = (int)id->valuedouble;
        e[k].text = c;
        e[k].len = strlen(c);
        e[k].type = jtrue(it, "special", false) ? SG_TOKEN_CONTROL : SG_TOKEN_USER_DEFINED;
    }
    for (int i = 0; i < n; i++)
        if (!e[i].text) { /* holes in the id space */
            e[i].len = (size_t)snprintf(pads + 16 * (size_t)i, 16, "[PAD%d]", i);
            e[i].text = pads + 16 * (size_t)i;
            e[i].type = SG_TOKEN_UNUSED;
        }
    const cJSON *pre = jget(root, "pre_tokenizer"), *norm = jget(root, "normalizer"), *dec = jget(root, "decoder");
    bool bytelevel = json_mentions(pre, "ByteLevel") || json_mentions(dec, "ByteLevel");
    t->model = bytelevel ? SG_TOKM_BPE : SG_TOKM_CHARBPE;
    if (!bytelevel)
        for (int i = 0; i < n; i++)
            if (e[i].type == SG_TOKEN_NORMAL && e[i].len == 6 && !memcmp(e[i].text, "<0x", 3) && e[i].text[5] == '>')
                e[i].type = SG_TOKEN_BYTE;
    s = sg_tok_build_vocab(t, e, n, false, err);
    free(pads);
    if (s) goto done;
    cJSON_ArrayForEach(it, added) {
        const cJSON *id = jget(it, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= n) continue;
        int k = (int)id->valuedouble;
        t->attr[k] = (uint8_t)((jtrue(it, "lstrip", false) ? SG_TOKA_LSTRIP : 0) | (jtrue(it, "rstrip", false) ? SG_TOKA_RSTRIP : 0));
    }
    if (bytelevel) {
        bool after_bl = false;
        if ((s = hf_pretok(t, pre, &after_bl, err))) goto done;
        snprintf(t->pre.name, sizeof t->pre.name, "tokenizer.json, %d pattern%s", t->pre.n, t->pre.n == 1 ? "" : "s");
        t->ignore_merges = jtrue(model, "ignore_merges", false);
    } else {
        /* Llama 2: normalizer Prepend("▁") + Replace(" ", "▁"); Gemma: Replace only;
         * transformers >= 4.38 (legacy=False), Mistral: pre-tokenizer Metaspace */
        const cJSON *prep = find_node(norm, "Prepend"), *ms = find_node(pre, "Metaspace");
        const cJSON *pv = jget(prep, "prepend");
        t->add_space_prefix = cJSON_IsString(pv) && !strcmp(pv->valuestring, "\xE2\x96\x81");
        t->prefix_mode = SG_PREFIX_EACH;
        if (ms) {
            const cJSON *scheme = jget(ms, "prepend_scheme"), *rep = jget(ms, "replacement");
            if (cJSON_IsString(rep) && strcmp(rep->valuestring, "\xE2\x96\x81")) {
                s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: Metaspace replacement '%.16s' is not supported (U+2581 is)", path,
                            rep->valuestring);
                goto done;
            }
            if (cJSON_IsString(scheme)) { /* tokenizers >= 0.15 */
                t->add_space_prefix = strcmp(scheme->valuestring, "never") != 0;
                t->prefix_mode = !strcmp(scheme->valuestring, "first") ? SG_PREFIX_FIRST : SG_PREFIX_ALWAYS;
            } else { /* older files: add_prefix_space */
                t->add_space_prefix = jtrue(ms, "add_prefix_space", true);
                t->prefix_mode = SG_PREFIX_ALWAYS;
            }
            t->metaspace_split = jtrue(ms, "split", true);
        }
    }
    const cJSON *merges = jget(model, "merges");
    if ((s = sg_tok_merges_reserve(t, (size_t)cJSON_GetArraySize(merges), err))) goto done;
    cJSON_ArrayForEach(it, merges) {
        if (cJSON_IsString(it)) {
            const char *m = it->valuestring, *sp = m[0] ? strchr(m + 1, ' ') : NULL;
            if (sp) sg_tok_add_merge(t, m, (size_t)(sp - m), sp + 1, strlen(sp + 1));
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2) {
            const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
            if (cJSON_IsString(a) && cJSON_IsString(b))
                sg_tok_add_merge(t, a->valuestring, strlen(a->valuestring), b->valuestring, strlen(b->valuestring));
        }
    }
    /* special ids and insertion rules: tokenizer_config.json, else the post-processor */
    const char *bos = token_content(jget(cfg, "bos_token")), *eos = token_content(jget(cfg, "eos_token"));
    const char *unk = token_content(jget(cfg, "unk_token")), *pad = token_content(jget(cfg, "pad_token"));
    if (!unk) unk = token_content(jget(model, "unk_token"));
    if (bos) t->bos = sg_strmap_get(t, bos, strlen(bos));
    if (eos) t->eos = sg_strmap_get(t, eos, strlen(eos));
    if (unk) t->unk = sg_strmap_get(t, unk, strlen(unk));
    if (pad) t->pad = sg_strmap_get(t, pad, strlen(pad));
    const cJSON *single = jget(jget(root, "post_processor"), "single"), *first = cJSON_GetArrayItem(single, 0);
    const cJSON *first_special = jget(jget(first, "SpecialToken"), "id");
    bool pp_bos = false;
    if (cJSON_IsString(first_special)) {
        int32_t id = sg_strmap_get(t, first_special->valuestring, strlen(first_special->valuestring));
        if (id >= 0) {
            pp_bos = true;
            if (t->bos < 0) t->bos = id;
        }
    }
    t->add_bos = jtrue(cfg, "add_bos_token", pp_bos);
    t->add_eos = jtrue(cfg, "add_eos_token", false);
    s = sg_tok_finish(t, err);
done:
    free(e);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return s;
}

/* -------------------------------------------------------------- public API */

/* Read dir/tokenizer.json (+ tokenizer_config.json beside it). */
static sg_status load_hf_file(sg_tokenizer *t, const char *json_path, const char *dir, sg_error *err)
{
    char *json = NULL, *cfg = NULL;
    sg_status s = sg_file_read_all(json_path, &json, NULL, err);
    if (s) return s;
    char *cp = sg_path_join(dir, "tokenizer_config.json");
    if (cp && sg_path_exists(cp)) sg_file_read_all(cp, &cfg, NULL, NULL);
    free(cp);
    s = sg_tok_load_hf(t, json, cfg, json_path, err);
    free(json);
    free(cfg);
    return s;
}

sg_status sg_tokenizer_load(const char *path, sg_tokenizer **out, sg_error *err)
{
    *out = NULL;
    if (!path) return sg_fail(err, SG_ERR_INVALID, "sg_tokenizer_load: no path");
    sg_tokenizer *t = tok_new(path);
    if (!t) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    sg_status s;
    size_t pl = strlen(path);
    if (sg_path_is_dir(path)) {
        char *j = sg_path_join(path, "tokenizer.json");
        if (!j) s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
        else if (!sg_path_exists(j)) s = sg_fail(err, SG_ERR_MISSING, "%s: no tokenizer.json in this directory", path);
        else s = load_hf_file(t, j, path, err);
        free(j);
    } else if (!sg_path_exists(path)) {
        s = sg_fail(err, SG_ERR_IO, "%s: no such file or directory", path);
    } else if (pl >= 5 && !strcmp(path + pl - 5, ".json")) {
        char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) *slash = 0;
        s = dir ? load_hf_file(t, path, slash ? dir : ".", err) : sg_fail(err, SG_ERR_NOMEM, "out of memory");
        free(dir);
    } else {
        sg_gguf g;
        s = sg_gguf_open(&g, path, err);
        if (!s) {
            s = sg_tok_load_gguf(t, &g, err);
            sg_gguf_close(&g);
        }
    }
    if (s) {
        sg_tokenizer_free(t);
        return s;
    }
    *out = t;
    return SG_OK;
}

/* Build from an already parsed GGUF (the model loader's). */
sg_status sg_tok_from_gguf(const sg_gguf *g, const char *path, sg_tokenizer **out, sg_error *err)
{
    *out = NULL;
    sg_tokenizer *t = tok_new(path);
    if (!t) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    sg_status s = sg_tok_load_gguf(t, g, err);
    if (s) {
        sg_tokenizer_free(t);
        return s;
    }
    *out = t;
    return SG_OK;
}
