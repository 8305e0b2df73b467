/*
 * pretok.c -- pre-tokenizers: the regex splits each vocabulary family
 * applies before BPE, run by PCRE2 (Unicode properties, JIT).
 *
 * A family is a list of patterns applied in order, each one splitting every
 * piece of the previous step into its matches and the gaps between them
 * (Hugging Face's Split with "Isolated" behaviour; a single GPT-2 style
 * pattern is the one-step case). The patterns are those the families'
 * tokenizer.json files and llama.cpp's llama-vocab.cpp list, written in
 * PCRE2 syntax. Patterns are compiled with PCRE2_MATCH_INVALID_UTF, so
 * invalid UTF-8 in the input never matches and ends up in gap pieces that
 * the byte-level engine encodes byte by byte: nothing is lost or replaced.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* GPT-2 (and MPT/GPT-NeoX, OLMo, Phi-2, ...): the original byte-level split. */
static const char *const pat_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Llama 3 / GPT-4 cl100k: case-insensitive contractions, digits in threes. */
const char *const sg_pretok_cl100k = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Qwen2 / Qwen2.5 / DeepSeek-R1-Distill-Qwen: like cl100k, single digits. */
static const char *const pat_qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* GPT-4o (o200k): case-aware words with attached contractions. */
static const char *const pat_gpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* DeepSeek LLM: newlines, then Latin/Greek/Cyrillic/... letter runs given as
 * explicit ranges, ASCII and full-width punctuation, trailing spaces, CJK and
 * Hangul runs, digit runs. */
static const char *const pat_deepseek_llm[] = {
    "[\\r\\n]",
    ("\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
     "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}-\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
     "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
     "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
     "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
     "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
     "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
     "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
     "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}"
     "\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}-\\x{2184}"
     "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}-\\x{2CF3}\\x{A640}-\\x{A66D}"
     "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}"
     "\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
     "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
     "\\x{1E900}-\\x{1E943}]+"),
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
    "\\s+$",
    "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
    "\\p{N}+",
};

/* DeepSeek Coder. */
static const char *const pat_deepseek_coder[] = {
    "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}",
};

/* DeepSeek V3 / R1. */
static const char *const pat_deepseek_v3[] = {
    "\\p{N}{1,3}",
    "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
    ("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
     "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
};

/* Falcon: punctuation runs first, then GPT-2, then digits in threes. */
static const char *const pat_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    "[0-9][0-9][0-9]",
};

/* StarCoder (and Refact, Command R, SmolLM, CodeShell): single digits, then GPT-2. */
static const char *const pat_starcoder[] = {
    "\\p{N}",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
};

typedef struct family {
    const char *names; /* '|'-separated tokenizer.ggml.pre values */
    const char *const *pats;
    int n;
} family;

static const char *const one_gpt2[] = {NULL}, *const one_cl100k[] = {NULL}, *const one_qwen2[] = {NULL},
                         *const one_gpt4o[] = {NULL};

static const family families[] = {
    {"gpt-2|gpt2|default|mpt|olmo|phi-2|jais|jina-es|jina-de|jina-v2-es|jina-v2-de|jina-v2-code|roberta-bpe|"
     "gpt-neox|poro-chat|bloom|stablelm",
     one_gpt2, 1},
    {"llama3|llama-v3|llama-bpe|falcon3|pixtral|dbrx|smaug-bpe|gpt-4|cl100k", one_cl100k, 1},
    {"qwen2|stablelm2|deepseek-r1-qwen|hunyuan|megrez|qwen35|qwen3", one_qwen2, 1},
    {"gpt-4o|llama4|o200k", one_gpt4o, 1},
    {"deepseek-llm", pat_deepseek_llm, 6},
    {"deepseek-coder", pat_deepseek_coder, 5},
    {"deepseek-v3|hunyuan-dense", pat_deepseek_v3, 3},
    {"falcon", pat_falcon, 3},
    {"starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b", pat_starcoder, 2},
};

/* Does '|'-separated list contain name? */
static bool name_in(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !memcmp(p, name, n)) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

sg_status sg_pretok_add_pattern(sg_pretok *p, const char *pattern, size_t len, const char *path, sg_error *err)
{
    return sg_pretok_add(p, pattern, len, SG_SPLIT_ISOLATED, path, err);
}

sg_status sg_pretok_add(sg_pretok *p, const char *pattern, size_t len, unsigned flags, const char *path, sg_error *err)
{
    if (p->n >= SG_PRETOK_MAX) return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: more than %d split patterns", path, SG_PRETOK_MAX);
    if ((flags & SG_SPLIT_BEHAVIOR) > SG_SPLIT_CONTIGUOUS)
        return sg_fail(err, SG_ERR_INVALID, "%s: bad split behaviour %u", path, flags & SG_SPLIT_BEHAVIOR);
    int ec;
    PCRE2_SIZE off;
    uint32_t opts = flags & SG_SPLIT_BYTES ? 0 : PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: split pattern does not compile at offset %zu: %s", path,
                       (size_t)off, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT (unsupported CPU) the interpreter runs it */
    p->flags[p->n] = (uint8_t)flags;
    p->code[p->n++] = re;
    return SG_OK;
}

int sg_pretok_named_patterns(const char *name, const char **pats, int max)
{
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        if (!name_in(families[f].names, name)) continue;
        const char *const *fp = families[f].pats;
        const char *single = fp == one_gpt2 ? pat_gpt2 : fp == one_cl100k ? sg_pretok_cl100k
                             : fp == one_qwen2 ? pat_qwen2 : fp == one_gpt4o ? pat_gpt4o : NULL;
        int n = families[f].n < max ? families[f].n : max;
        for (int i = 0; i < n; i++) pats[i] = single ? single : fp[i];
        return n;
    }
    return -1;
}

sg_status sg_pretok_init_named(sg_pretok *p, const char *name, const char *path, sg_error *err)
{
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        if (!name_in(families[f].names, name)) continue;
        const char *const *pats = families[f].pats;
        const char *single = pats == one_gpt2 ? pat_gpt2 : pats == one_cl100k ? sg_pretok_cl100k
                             : pats == one_qwen2 ? pat_qwen2 : pats == one_gpt4o ? pat_gpt4o : NULL;
        for (int i = 0; i < families[f].n; i++) {
            const char *s = single ? single : pats[i];
            sg_status st = sg_pretok_add_pattern(p, s, strlen(s), path, err);
            if (st) return st;
        }
        snprintf(p->name, sizeof p->name, "%s", name);
        return SG_OK;
    }
    return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unknown pre-tokenizer '%.40s'", path, name);
}

void sg_pretok_free(sg_pretok *p)
{
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->code[i]);
    p->n = 0;
}

/* State of one split call: one match block and, if a pattern needs more
 * than PCRE2's default JIT stack, a bigger one. */
typedef struct split_run {
    const sg_pretok *p;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *js;
    sg_piece_fn fn;
    void *ud;
} split_run;

static void split_level(split_run *r, int k, const char *s, size_t n);

/* Pieces of one split step on their way to the next level, combined as the
 * step's behaviour says (the fold of Hugging Face's
 * NormalizedString::split): `pend` is the piece not handed on yet. */
typedef struct split_acc {
    unsigned behavior;
    size_t a, b;  /* pending piece [a, b) */
    bool have;    /* a piece is pending */
    bool lone;    /* it is a single match that has absorbed nothing (MergedWithNext) */
    bool prev;    /* the last segment was a match */
} split_acc;

static void acc_flush(split_run *r, int k, const char *s, split_acc *q)
{
    if (q->have) split_level(r, k + 1, s + q->a, q->b - q->a);
    q->have = false;
}

/* Segment [a, b) of the text; is_match after inversion. */
static void acc_seg(split_run *r, int k, const char *s, split_acc *q, size_t a, size_t b, bool is_match)
{
    switch (q->behavior) {
    case SG_SPLIT_REMOVED:
        if (!is_match) split_level(r, k + 1, s + a, b - a);
        return;
    case SG_SPLIT_MERGED_PREV:
        if (is_match && !q->prev && q->have) q->b = b;
        else {
            acc_flush(r, k, s, q);
            *q = (split_acc){q->behavior, a, b, true, false, false};
        }
        break;
    case SG_SPLIT_MERGED_NEXT:
        if (q->have && q->lone && !is_match) {
            q->b = b;
            acc_flush(r, k, s, q);
        } else {
            acc_flush(r, k, s, q);
            *q = (split_acc){q->behavior, a, b, true, is_match, false};
        }
        break;
    case SG_SPLIT_CONTIGUOUS:
        if (is_match == q->prev && q->have) q->b = b;
        else {
            acc_flush(r, k, s, q);
            *q = (split_acc){q->behavior, a, b, true, false, false};
        }
        break;
    default: /* Isolated */
        split_level(r, k + 1, s + a, b - a);
        return;
    }
    q->prev = is_match;
}

/* Split s[0..n) with pattern k and hand the pieces to level k + 1. */
static void split_level(split_run *r, int k, const char *s, size_t n)
{
    if (n == 0) return;
    if (k == r->p->n) {
        r->fn(r->ud, s, n);
        return;
    }
    const pcre2_code *re = r->p->code[k];
    unsigned fl = r->p->flags[k];
    bool inv = fl & SG_SPLIT_INVERT;
    split_acc q = {.behavior = fl & SG_SPLIT_BEHAVIOR};
    size_t pos = 0, start = 0;
    while (start < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, start, 0, r->md, r->mc);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !r->js) {
            r->js = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
            r->mc = pcre2_match_context_create(NULL);
            if (r->js && r->mc) {
                pcre2_jit_stack_assign(r->mc, NULL, r->js);
                continue;
            }
        }
        if (rc < 0) break; /* no more matches (or a resource limit): the rest is one gap */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t a = ov[0], b = ov[1];
        if (b <= a) { /* empty match: step over one character, keep it in the gap */
            uint32_t cp;
            int l = fl & SG_SPLIT_BYTES ? 1 : sg_utf8_seq((const uint8_t *)s + a, n - a, &cp);
            start = a + (l > 0 ? (size_t)l : 1);
            continue;
        }
        if (a > pos) acc_seg(r, k, s, &q, pos, a, inv);
        acc_seg(r, k, s, &q, a, b, !inv);
        pos = start = b;
    }
    if (pos < n) acc_seg(r, k, s, &q, pos, n, inv);
    acc_flush(r, k, s, &q);
}

sg_status sg_pretok_split(const sg_pretok *p, const char *text, size_t n, sg_piece_fn fn, void *ud, sg_error *err)
{
    if (p->n == 0) {
        if (n) fn(ud, text, n);
        return SG_OK;
    }
    split_run r = {.p = p, .fn = fn, .ud = ud};
    r.md = pcre2_match_data_create(1, NULL);
    if (!r.md) return sg_fail(err, SG_ERR_NOMEM, "out of memory for the pre-tokenizer");
    split_level(&r, 0, text, n);
    pcre2_match_data_free(r.md);
    if (r.mc) pcre2_match_context_free(r.mc);
    if (r.js) pcre2_jit_stack_free(r.js);
    return SG_OK;
}
