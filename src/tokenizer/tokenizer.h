/*
 * tokenizer.h -- internal interface of the tokenizer layer.
 *
 * One struct serves every vocabulary family. A vocabulary is a table of
 * token texts as the file stores them (byte-level BPE texts use GPT-2's
 * byte-to-unicode alphabet, SentencePiece texts use U+2581 for spaces), the
 * decoded bytes of each token, token types and scores, a hash map from text
 * to id, and (for BPE) a merge table keyed by the ids of the two halves.
 *
 * Encoding goes: special/added tokens are cut out of the text first
 * (encode.c), every remaining fragment is split by the family's
 * pre-tokenizer (pretok.c, PCRE2 with JIT), and each piece is merged by one
 * of three engines:
 *   SG_TOKM_BPE      byte-level BPE (GPT-2, Llama 3, Qwen2, DeepSeek, ...):
 *                    initial symbols are the byte tokens, merges by rank;
 *   SG_TOKM_SPM      SentencePiece BPE (Llama 2, Mistral v1, Phi-3): bigram
 *                    merges by token score, byte fallback <0xXX>;
 *   SG_TOKM_CHARBPE  Hugging Face BPE over characters with byte fallback
 *                    (tokenizer.json of Llama 2-style models): merges by rank.
 * The tokenizer is immutable after loading; every encode/decode call keeps
 * its scratch state on its own, so one tokenizer serves many threads.
 */
#ifndef SG_TOKENIZER_TOKENIZER_H
#define SG_TOKENIZER_TOKENIZER_H

#include "base/error.h"
#include "formats/gguf.h"

typedef enum sg_tok_model {
    SG_TOKM_NONE = 0,
    SG_TOKM_BPE = 1,
    SG_TOKM_SPM = 2,
    SG_TOKM_CHARBPE = 3,
} sg_tok_model;

/* Added-token attributes (Hugging Face added_tokens flags). */
enum { SG_TOKA_LSTRIP = 1, SG_TOKA_RSTRIP = 2 };

/* Open-addressing map from byte strings to ids (stores id + 1; 0 = empty). */
typedef struct sg_strmap {
    uint32_t *slot;
    uint32_t mask;
} sg_strmap;

/* Open-addressing map from (left id, right id) to (rank, merged id). */
typedef struct sg_pairmap {
    uint64_t *key; /* (left << 32 | right) + 1; 0 = empty */
    uint32_t *rank;
    uint32_t *res;
    uint32_t mask;
    uint32_t n;
} sg_pairmap;

#define SG_PRETOK_MAX 8

/* What a split step does with its matches (Hugging Face's
 * SplitDelimiterBehavior); zero, the default, is Isolated. */
enum {
    SG_SPLIT_ISOLATED = 0,   /* matches and gaps are pieces of their own      */
    SG_SPLIT_REMOVED = 1,    /* matches are dropped                            */
    SG_SPLIT_MERGED_PREV = 2, /* a match joins the gap before it               */
    SG_SPLIT_MERGED_NEXT = 3, /* a match joins the gap after it                */
    SG_SPLIT_CONTIGUOUS = 4, /* adjacent matches form one piece                */
    SG_SPLIT_BEHAVIOR = 7,   /* mask of the above                              */
    SG_SPLIT_INVERT = 8,     /* the gaps are the matches and vice versa        */
    SG_SPLIT_BYTES = 16,     /* pattern matches bytes, not UTF-8 characters (a
                                step after ByteLevel, which sees one character
                                per byte)                                      */
};

/* A pre-tokenizer: regexes applied one after another, each splitting every
 * piece of the previous step into matches and the gaps between them. */
typedef struct sg_pretok {
    int n;
    void *code[SG_PRETOK_MAX]; /* pcre2_code_8 * */
    uint8_t flags[SG_PRETOK_MAX]; /* SG_SPLIT_* */
    char name[64];
} sg_pretok;

/* How a SentencePiece-style "▁" prefix is added to a text fragment (the
 * fragments are the text between special tokens). */
enum {
    SG_PREFIX_EACH = 0,  /* every fragment (SentencePiece, HF Prepend("▁")) */
    SG_PREFIX_ALWAYS = 1, /* every fragment not already starting with a space (HF Metaspace "always") */
    SG_PREFIX_FIRST = 2, /* only a fragment at the start of the text, likewise (Metaspace "first") */
};

struct sg_tokenizer {
    char *path;
    char kind[128];
    sg_tok_model model;
    int n_vocab;

    char *text;     /* stored texts, each NUL-terminated         */
    uint32_t *toff; /* [n_vocab + 1] offsets into text (len = toff[i+1]-toff[i]-1) */
    char *dec;      /* decoded bytes of each token                */
    uint32_t *doff; /* [n_vocab + 1]                              */
    uint8_t *type;  /* sg_token_type per token                    */
    uint8_t *attr;  /* SG_TOKA_* per token                        */
    float *score;   /* SentencePiece scores (NULL when absent)    */

    sg_strmap map;      /* stored text -> id                      */
    sg_pairmap merges;  /* BPE / CHARBPE                          */
    int32_t byte_id[256]; /* token of a raw byte, -1 when none     */

    int32_t *special; /* control, user-defined and unknown tokens, matched in text */
    int n_special;
    uint8_t special_first[256]; /* first bytes of special texts   */

    uint8_t spm_isolated[128]; /* SPM: ASCII bytes no multi-character token contains */
    sg_pretok pre;
    bool ignore_merges;    /* Llama 3: a piece that is a token is emitted whole */
    bool add_space_prefix; /* SentencePiece: a space before the text           */
    uint8_t prefix_mode;   /* SG_PREFIX_*, when add_space_prefix               */
    bool metaspace_split;  /* BPE with byte fallback: pieces start at each "▁" (HF Metaspace split) */
    bool add_bos, add_eos;
    int32_t bos, eos, unk, pad, eot, eom;
    int32_t *eog;
    int n_eog;
};

/* ---- vocab.c: tables shared by the loaders ---- */

/* One token as a loader hands it over (text need not be NUL-terminated). */
typedef struct sg_tok_entry {
    const char *text;
    size_t len;
    int type;
    float score;
} sg_tok_entry;

/* Allocate the tables for n tokens from entries; fills text, dec, type,
 * score (when has_scores), map, byte_id. The model kind must be set first. */
sg_status sg_tok_build_vocab(sg_tokenizer *t, const sg_tok_entry *e, int n, bool has_scores, sg_error *err);
/* Add merge "left right" (rank = call order). Merges naming unknown tokens
 * are skipped (returns false). */
bool sg_tok_add_merge(sg_tokenizer *t, const char *l, size_t ll, const char *r, size_t rl);
sg_status sg_tok_merges_reserve(sg_tokenizer *t, size_t n, sg_error *err);
/* After the vocabulary, merges and special ids are known: special token list,
 * end-of-generation set, kind string. */
sg_status sg_tok_finish(sg_tokenizer *t, sg_error *err);

int32_t sg_strmap_get(const sg_tokenizer *t, const char *s, size_t len);
bool sg_pairmap_get(const sg_pairmap *m, uint32_t l, uint32_t r, uint32_t *rank, uint32_t *res);

/* GPT-2's byte <-> unicode alphabet. */
uint32_t sg_bytelevel_cp(uint8_t b);
int sg_bytelevel_byte(uint32_t cp); /* -1 when cp is not in the alphabet */

/* ---- utf8 helpers (vocab.c) ---- */
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid/incomplete. */
int sg_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp);
size_t sg_utf8_put(uint32_t cp, char *out);

/* ---- pretok.c ---- */
/* Compile the split of a family named as GGUF tokenizer.ggml.pre names it.
 * Unknown names fail with SG_ERR_UNSUPPORTED. */
sg_status sg_pretok_init_named(sg_pretok *p, const char *name, const char *path, sg_error *err);
/* The split patterns of a named family (at most max); -1 when the name is unknown. */
int sg_pretok_named_patterns(const char *name, const char **pats, int max);
/* Compile caller-given patterns (Hugging Face Split pre-tokenizers):
 * Isolated, or as flags (SG_SPLIT_*) say. */
sg_status sg_pretok_add_pattern(sg_pretok *p, const char *pattern, size_t len, const char *path, sg_error *err);
sg_status sg_pretok_add(sg_pretok *p, const char *pattern, size_t len, unsigned flags, const char *path, sg_error *err);
void sg_pretok_free(sg_pretok *p);
/* The GPT-4 (cl100k) split pattern, used for training. */
extern const char *const sg_pretok_cl100k;

/* Call fn(ud, start, len) for every piece of text[0..n) in order. */
typedef void (*sg_piece_fn)(void *ud, const char *s, size_t n);
sg_status sg_pretok_split(const sg_pretok *p, const char *text, size_t n, sg_piece_fn fn, void *ud, sg_error *err);

/* ---- loaders ---- */
sg_status sg_tok_load_gguf(sg_tokenizer *t, const sg_gguf *g, sg_error *err);
/* A new tokenizer from an already parsed GGUF (the model loader's mapping). */
sg_status sg_tok_from_gguf(const sg_gguf *g, const char *path, sg_tokenizer **out, sg_error *err);
sg_status sg_tok_load_hf(sg_tokenizer *t, const char *json, const char *config_json, const char *path, sg_error *err);

#endif
