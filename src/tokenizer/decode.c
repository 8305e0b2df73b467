/*
 * decode.c -- token ids back to text, whole or streamed.
 *
 * Every token's decoded bytes are precomputed at load time (byte-level
 * alphabet undone, U+2581 turned back into spaces, <0xXX> into its byte), so
 * decoding is concatenation. Control tokens are omitted unless
 * SG_DETOK_SPECIAL asks for their text. SentencePiece vocabularies that add
 * a dummy space prefix drop one leading space of the first text piece, like
 * Hugging Face's Strip decoder, so decode(encode(s)) == s.
 *
 * The stream decoder holds back the bytes of an unfinished UTF-8 character
 * until a later token completes it; a sequence that can never complete is
 * replaced by U+FFFD, so every chunk it returns is valid UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int sg_tokenizer_n_vocab(const sg_tokenizer *t) { return t->n_vocab; }
const char *sg_tokenizer_kind(const sg_tokenizer *t) { return t->kind; }
int32_t sg_token_bos(const sg_tokenizer *t) { return t->bos; }
int32_t sg_token_eos(const sg_tokenizer *t) { return t->eos; }
bool sg_tokenizer_adds_bos(const sg_tokenizer *t) { return t->add_bos && t->bos >= 0; }
bool sg_tokenizer_adds_eos(const sg_tokenizer *t) { return t->add_eos && t->eos >= 0; }

bool sg_token_is_eog(const sg_tokenizer *t, int32_t id)
{
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

sg_token_type sg_token_get_type(const sg_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab ? (sg_token_type)t->type[id] : (sg_token_type)0;
}

const char *sg_token_text(const sg_tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = t->toff[id + 1] - t->toff[id] - 1;
    return t->text + t->toff[id];
}

const char *sg_token_piece(const sg_tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->doff[id + 1] - t->doff[id];
    return t->dec + t->doff[id];
}

/* The bytes token id contributes at this point of a decode: NULL/0 for
 * omitted control tokens; *first is cleared once text has been produced. */
static const char *piece_for(const sg_tokenizer *t, int32_t id, unsigned flags, bool *first, size_t *len)
{
    int ty = t->type[id];
    if ((ty == SG_TOKEN_CONTROL || ty == SG_TOKEN_UNKNOWN) && !(flags & SG_DETOK_SPECIAL)) {
        *len = 0;
        return NULL;
    }
    const char *p = t->dec + t->doff[id];
    size_t n = t->doff[id + 1] - t->doff[id];
    if (*first && n) {
        if (t->add_space_prefix && t->model != SG_TOKM_BPE && ty != SG_TOKEN_CONTROL && p[0] == ' ') {
            p++;
            n--;
        }
        *first = false;
    }
    *len = n;
    return p;
}

sg_status sg_detokenize(const sg_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **text, size_t *len,
                        sg_error *err)
{
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return sg_fail(err, SG_ERR_INVALID, "%s: token id %d is outside the vocabulary of %d", t->path,
                           (int)ids[i], t->n_vocab);
        total += t->doff[ids[i] + 1] - t->doff[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory decoding %zu tokens", t->path, n);
    size_t o = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *p = piece_for(t, ids[i], flags, &first, &l);
        if (l) memcpy(out + o, p, l);
        o += l;
    }
    out[o] = 0;
    *text = out;
    *len = o;
    return SG_OK;
}

/* ----------------------------------------------------------------- stream */

struct sg_detok_stream {
    const sg_tokenizer *t;
    unsigned flags;
    bool first;
    char *held; /* bytes of an unfinished character */
    size_t n_held, cap_held;
    char *out;
    size_t cap_out;
};

sg_detok_stream *sg_detok_stream_new(const sg_tokenizer *t, unsigned flags)
{
    sg_detok_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    s->flags = flags;
    s->first = true;
    return s;
}

void sg_detok_stream_free(sg_detok_stream *s)
{
    if (!s) return;
    free(s->held);
    free(s->out);
    free(s);
}

/* Could s[0..n) (n >= 1, not itself a valid character) still become one
 * valid UTF-8 character when more bytes arrive? */
static bool utf8_prefix(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!need || n >= need) return false;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return false;
    if (n >= 2) { /* second-byte limits: no overlongs, surrogates or > U+10FFFF */
        uint8_t d = s[1];
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F))
            return false;
    }
    return true;
}

sg_status sg_detok_stream_push(sg_detok_stream *s, int32_t id, const char **out, size_t *len, sg_error *err)
{
    const sg_tokenizer *t = s->t;
    *out = "";
    *len = 0;
    if (id < 0 || id >= t->n_vocab)
        return sg_fail(err, SG_ERR_INVALID, "%s: token id %d is outside the vocabulary of %d", t->path, (int)id,
                       t->n_vocab);
    size_t l;
    const char *p = piece_for(t, id, s->flags, &s->first, &l);
    size_t need = s->n_held + l;
    if (need + 1 > s->cap_held) {
        size_t nc = need * 2 + 16;
        char *h = realloc(s->held, nc);
        if (!h) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        s->held = h;
        s->cap_held = nc;
    }
    if (l) memcpy(s->held + s->n_held, p, l);
    s->n_held = need;
    if (need * 3 + 4 > s->cap_out) { /* each byte may become a 3-byte U+FFFD */
        size_t nc = need * 3 + 16;
        char *o = realloc(s->out, nc);
        if (!o) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        s->out = o;
        s->cap_out = nc;
    }
    const uint8_t *h = (const uint8_t *)s->held;
    size_t i = 0, o = 0;
    while (i < s->n_held) {
        uint32_t cp;
        int k = sg_utf8_seq(h + i, s->n_held - i, &cp);
        if (k > 0) {
            memcpy(s->out + o, h + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else if (utf8_prefix(h + i, s->n_held - i)) {
            break; /* wait for the rest of the character */
        } else {
            memcpy(s->out + o, "\xEF\xBF\xBD", 3); /* can never be valid */
            o += 3;
            i++;
        }
    }
    memmove(s->held, s->held + i, s->n_held - i);
    s->n_held -= i;
    s->out[o] = 0;
    *out = s->out;
    *len = o;
    return SG_OK;
}

const char *sg_detok_stream_flush(sg_detok_stream *s, size_t *len)
{
    *len = 0;
    if (!s->n_held) return "";
    s->n_held = 0;
    *len = 3;
    return "\xEF\xBF\xBD";
}
