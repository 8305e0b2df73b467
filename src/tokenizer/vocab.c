/*
 * vocab.c -- the vocabulary tables every loader fills and every engine reads.
 *
 * Token texts live in one arena (each NUL-terminated, so sg_token_text can
 * hand them out), the decoded bytes of every token in a second arena, and
 * a single open-addressing hash map (ids in slots, keys compared against the
 * arena) finds a token by its stored text. BPE merges are keyed by the ids
 * of their halves, so the merge loop never builds strings. Also here: GPT-2's
 * byte <-> unicode alphabet, UTF-8 helpers, the list of special tokens
 * matched in text and the end-of-generation set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------------ utf8 */

/* Length of the valid UTF-8 sequence at s (rejects overlongs, surrogates and
 * code points above U+10FFFF), or 0 when invalid or cut short. */
int sg_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
    else return 0;
    if (n < (size_t)len) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

size_t sg_utf8_put(uint32_t cp, char *out)
{
    uint8_t *o = (uint8_t *)out;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------ byte-level alphabet */

/* GPT-2 maps the 188 printable bytes (! .. ~, ¡ .. ¬, ® .. ÿ) to themselves
 * and the other 68 bytes, in increasing order, to U+0100, U+0101, ... */
static bool bytelevel_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t sg_bytelevel_cp(uint8_t b)
{
    if (bytelevel_printable(b)) return b;
    uint32_t k = 0;
    for (unsigned i = 0; i < b; i++)
        if (!bytelevel_printable(i)) k++;
    return 256 + k;
}

int sg_bytelevel_byte(uint32_t cp)
{
    if (cp < 256) return bytelevel_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t k = cp - 256;
    for (unsigned i = 0; i < 256; i++)
        if (!bytelevel_printable(i) && k-- == 0) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------- maps */

/* 64-bit hash of a byte string: 8 bytes per multiply, then a final mix. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

static const char *tok_text(const sg_tokenizer *t, uint32_t id, size_t *len)
{
    *len = t->toff[id + 1] - t->toff[id] - 1;
    return t->text + t->toff[id];
}

int32_t sg_strmap_get(const sg_tokenizer *t, const char *s, size_t len)
{
    if (!t->map.slot) return -1;
    for (uint32_t i = (uint32_t)hash_bytes(s, len) & t->map.mask;; i = (i + 1) & t->map.mask) {
        uint32_t v = t->map.slot[i];
        if (!v) return -1;
        size_t l;
        const char *x = tok_text(t, v - 1, &l);
        if (l == len && !memcmp(x, s, len)) return (int32_t)(v - 1);
    }
}

/* Insert id under its own text unless an earlier id has the same text. */
static void strmap_put(sg_tokenizer *t, uint32_t id)
{
    size_t len;
    const char *s = tok_text(t, id, &len);
    for (uint32_t i = (uint32_t)hash_bytes(s, len) & t->map.mask;; i = (i + 1) & t->map.mask) {
        uint32_t v = t->map.slot[i];
        if (!v) {
            t->map.slot[i] = id + 1;
            return;
        }
        size_t l;
        const char *x = tok_text(t, v - 1, &l);
        if (l == len && !memcmp(x, s, len)) return;
    }
}

static uint32_t pair_hash(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 32 ^ k);
}

bool sg_pairmap_get(const sg_pairmap *m, uint32_t l, uint32_t r, uint32_t *rank, uint32_t *res)
{
    if (!m->key) return false;
    uint64_t k = ((uint64_t)l << 32 | r) + 1;
    for (uint32_t i = pair_hash(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->key[i] == k) {
            *rank = m->rank[i];
            *res = m->res[i];
            return true;
        }
        if (!m->key[i]) return false;
    }
}

sg_status sg_tok_merges_reserve(sg_tokenizer *t, size_t n, sg_error *err)
{
    size_t cap = 16;
    while (cap < 2 * n + 16) cap *= 2;
    if (cap > (1u << 30)) return sg_fail(err, SG_ERR_FORMAT, "%s: too many merges (%zu)", t->path, n);
    sg_pairmap *m = &t->merges;
    m->key = calloc(cap, sizeof *m->key);
    m->rank = malloc(cap * sizeof *m->rank);
    m->res = malloc(cap * sizeof *m->res);
    if (!m->key || !m->rank || !m->res) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory for merges", t->path);
    m->mask = (uint32_t)(cap - 1);
    m->n = 0;
    return SG_OK;
}

bool sg_tok_add_merge(sg_tokenizer *t, const char *l, size_t ll, const char *r, size_t rl)
{
    sg_pairmap *m = &t->merges;
    if (!m->key || (size_t)m->n * 2 + 2 > (size_t)m->mask) return false;
    int32_t a = sg_strmap_get(t, l, ll), b = sg_strmap_get(t, r, rl);
    if (a < 0 || b < 0 || ll + rl > 4096) return false;
    char buf[4096];
    memcpy(buf, l, ll);
    memcpy(buf + ll, r, rl);
    int32_t c = sg_strmap_get(t, buf, ll + rl);
    if (c < 0) return false;
    uint32_t rank = m->n;
    uint64_t k = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    for (uint32_t i = pair_hash(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->key[i] == k) return false; /* duplicate: the first rank wins */
        if (!m->key[i]) {
            m->key[i] = k;
            m->rank[i] = rank;
            m->res[i] = (uint32_t)c;
            m->n++;
            return true;
        }
    }
}

/* --------------------------------------------------------------- building */

/* Decoded bytes of one token into out (capacity >= 4 * len + 4); returns n. */
static size_t decode_token(const sg_tokenizer *t, const char *s, size_t len, int type, char *out)
{
    if (type == SG_TOKEN_CONTROL || type == SG_TOKEN_UNKNOWN || type == SG_TOKEN_USER_DEFINED ||
        t->model == SG_TOKM_NONE) {
        if (t->model != SG_TOKM_BPE && type == SG_TOKEN_USER_DEFINED) goto spaces; /* ▁ in SPM added tokens */
        memcpy(out, s, len);
        return len;
    }
    if (t->model == SG_TOKM_BPE) {
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            int k = sg_utf8_seq((const uint8_t *)s + i, len - i, &cp);
            int b = k ? sg_bytelevel_byte(cp) : -1;
            if (b >= 0) out[o++] = (char)b;
            else { /* outside the alphabet: keep as is */
                size_t n = k ? (size_t)k : 1;
                memcpy(out + o, s + i, n);
                o += n;
                i += n;
                continue;
            }
            i += (size_t)k;
        }
        return o;
    }
    if (type == SG_TOKEN_BYTE && len == 6 && !memcmp(s, "<0x", 3) && s[5] == '>') {
        unsigned v = 0;
        for (int i = 3; i < 5; i++) {
            char c = s[i];
            v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                   : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
        }
        out[0] = (char)v;
        return 1;
    }
spaces:;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (i + 3 <= len && !memcmp(s + i, "\xE2\x96\x81", 3)) {
            out[o++] = ' ';
            i += 3;
        } else out[o++] = s[i++];
    }
    return o;
}

sg_status sg_tok_build_vocab(sg_tokenizer *t, const sg_tok_entry *e, int n, bool has_scores, sg_error *err)
{
    if (n <= 0) return sg_fail(err, SG_ERR_FORMAT, "%s: empty vocabulary", t->path);
    size_t total = 0, maxlen = 0;
    for (int i = 0; i < n; i++) {
        total += e[i].len + 1;
        if (e[i].len > maxlen) maxlen = e[i].len;
    }
    if (total > UINT32_MAX / 4) return sg_fail(err, SG_ERR_FORMAT, "%s: vocabulary texts too large", t->path);
    t->n_vocab = n;
    t->text = malloc(total);
    t->toff = malloc(((size_t)n + 1) * sizeof *t->toff);
    t->dec = malloc(total * 4 + 8);
    t->doff = malloc(((size_t)n + 1) * sizeof *t->doff);
    t->type = malloc((size_t)n);
    t->attr = calloc((size_t)n, 1);
    if (has_scores) t->score = malloc((size_t)n * sizeof *t->score);
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    t->map.slot = calloc(cap, sizeof *t->map.slot);
    t->map.mask = (uint32_t)(cap - 1);
    if (!t->text || !t->toff || !t->dec || !t->doff || !t->type || !t->attr || (has_scores && !t->score) ||
        !t->map.slot)
        return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory for %d tokens", t->path, n);
    size_t o = 0, d = 0;
    for (int i = 0; i < n; i++) {
        int ty = e[i].type;
        if (ty < SG_TOKEN_NORMAL || ty > SG_TOKEN_BYTE) ty = SG_TOKEN_NORMAL;
        t->type[i] = (uint8_t)ty;
        if (has_scores) t->score[i] = e[i].score;
        t->toff[i] = (uint32_t)o;
        if (e[i].len) memcpy(t->text + o, e[i].text, e[i].len);
        o += e[i].len;
        t->text[o++] = 0;
        t->doff[i] = (uint32_t)d;
        d += decode_token(t, e[i].text, e[i].len, ty, t->dec + d);
    }
    t->toff[n] = (uint32_t)o;
    t->doff[n] = (uint32_t)d;
    for (int i = 0; i < n; i++) strmap_put(t, (uint32_t)i);
    for (int b = 0; b < 256; b++) {
        char buf[8];
        size_t len;
        if (t->model == SG_TOKM_BPE) len = sg_utf8_put(sg_bytelevel_cp((uint8_t)b), buf);
        else len = (size_t)snprintf(buf, sizeof buf, "<0x%02X>", b);
        t->byte_id[b] = sg_strmap_get(t, buf, len);
    }
    return SG_OK;
}

/* Texts that end a generated turn in the common chat formats. */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<|end_of_text|>", "<end_of_turn>",
    "<|return|>", "<|call|>", "<EOT>", "<|END_OF_TURN_TOKEN|>", ("<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"),
    "</s>",
};

/* Sort key of a special token: scans try, at each position, the candidates
 * with that first byte, longest first. */
typedef struct special_key {
    uint8_t first;
    uint32_t len;
    int32_t id;
} special_key;

static int cmp_special(const void *a, const void *b)
{
    const special_key *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

sg_status sg_tok_finish(sg_tokenizer *t, sg_error *err)
{
    int n = t->n_vocab;
    for (int32_t *id = &t->bos; id <= &t->eom; id++)
        if (*id >= n || *id < -1) *id = -1;
    t->special = malloc((size_t)n * sizeof *t->special);
    t->eog = malloc(((size_t)n + 4) * sizeof *t->eog);
    if (!t->special || !t->eog) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", t->path);
    t->n_special = 0;
    for (int i = 0; i < n; i++) {
        int ty = t->type[i];
        size_t len;
        tok_text(t, (uint32_t)i, &len);
        if (len && (ty == SG_TOKEN_CONTROL || ty == SG_TOKEN_USER_DEFINED || ty == SG_TOKEN_UNKNOWN))
            t->special[t->n_special++] = i;
    }
    special_key *keys = malloc(((size_t)t->n_special + 1) * sizeof *keys);
    if (!keys) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", t->path);
    for (int k = 0; k < t->n_special; k++) {
        size_t len;
        const char *s = tok_text(t, (uint32_t)t->special[k], &len);
        keys[k] = (special_key){(uint8_t)s[0], (uint32_t)len, t->special[k]};
    }
    qsort(keys, (size_t)t->n_special, sizeof *keys, cmp_special);
    for (int k = 0; k < t->n_special; k++) t->special[k] = keys[k].id;
    free(keys);
    memset(t->special_first, 0, sizeof t->special_first);
    for (int k = 0; k < t->n_special; k++) t->special_first[(uint8_t)t->text[t->toff[t->special[k]]]] = 1;

    /* SentencePiece: an ASCII character inside no longer token is always a
     * symbol of its own, so no merge crosses it and the text can be encoded
     * in independent chunks around it (small heaps instead of one huge one) */
    memset(t->spm_isolated, 0, sizeof t->spm_isolated);
    if (t->model == SG_TOKM_SPM) {
        uint8_t seen[128] = {0};
        for (int i = 0; i < n; i++) {
            if (t->type[i] != SG_TOKEN_NORMAL && t->type[i] != SG_TOKEN_USER_DEFINED) continue;
            size_t len;
            const char *s = tok_text(t, (uint32_t)i, &len);
            if (len > 1)
                for (size_t k = 0; k < len; k++)
                    if ((uint8_t)s[k] < 128) seen[(uint8_t)s[k]] = 1;
        }
        for (int c = 1; c < 128; c++) t->spm_isolated[c] = !seen[c] && c != ' ';
    }
    t->n_eog = 0;
    int32_t fixed[3] = {t->eos, t->eot, t->eom};
    for (int k = 0; k < 3; k++)
        if (fixed[k] >= 0) t->eog[t->n_eog++] = fixed[k];
    for (size_t k = 0; k < sizeof eog_texts / sizeof *eog_texts; k++) {
        int32_t id = sg_strmap_get(t, eog_texts[k], strlen(eog_texts[k]));
        if (id < 0 || (t->type[id] != SG_TOKEN_CONTROL && t->type[id] != SG_TOKEN_USER_DEFINED)) continue;
        if (!strcmp(eog_texts[k], "</s>") && t->eos >= 0 && t->eos != id) continue; /* only when it is EOS */
        bool dup = false;
        for (int j = 0; j < t->n_eog; j++) dup |= t->eog[j] == id;
        if (!dup) t->eog[t->n_eog++] = id;
    }
    const char *m = t->model == SG_TOKM_BPE ? "byte-level BPE"
                    : t->model == SG_TOKM_SPM ? "SentencePiece BPE"
                    : t->model == SG_TOKM_CHARBPE ? "BPE with byte fallback"
                                                  : "none";
    if (t->model == SG_TOKM_BPE)
        snprintf(t->kind, sizeof t->kind, "%s (pre: %s, %u merges)", m, t->pre.name, t->merges.n);
    else if (t->model == SG_TOKM_CHARBPE) snprintf(t->kind, sizeof t->kind, "%s (%u merges)", m, t->merges.n);
    else snprintf(t->kind, sizeof t->kind, "%s", m);
    return SG_OK;
}
