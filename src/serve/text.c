/*
 * text.c -- the server's view of text: prompt encoding, chat rendering,
 * streaming detokenization, end-of-generation tokens.
 *
 * It wraps the model's tokenizer (src/tokenizer) when the build has one
 * (SG_SERVE_HAVE_TOKENIZER). Without it the server still works on token ids:
 * text is encoded one byte per token (byte % n_vocab) and token N is shown as
 * "<tN>", which is exactly what the generated test models' dummy vocabulary
 * spells, so every endpoint can be exercised end to end.
 *
 * Chat prompts are rendered with the model's own Jinja chat template
 * (src/chat; ChatML when the model ships none). Message contents must never
 * be able to forge a turn boundary, so the template is rendered with each
 * content replaced by a sentinel; the text between sentinels (the template's
 * scaffold) is encoded with control tokens recognised, the contents without.
 * A template that transforms contents beyond recognition (a sentinel not
 * found exactly once) falls back to rendering the real text and encoding it
 * whole with control tokens, as llama.cpp's server does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "serve/serve.h"

/* The tokenizer is part of the library; the fallback below stays for models
 * without a vocabulary. */
#define SG_SERVE_HAVE_TOKENIZER 1

struct srv_text {
    int n_vocab;
    bool reasoning;
    sg_template *tmpl;
    char *bos, *eos;
#ifdef SG_SERVE_HAVE_TOKENIZER
    sg_tokenizer *tok;
#endif
};

struct srv_detok {
    const srv_text *t;
    char buf[32];
#ifdef SG_SERVE_HAVE_TOKENIZER
    sg_detok_stream *ds;
#endif
};

sg_status srv_text_new(sg_model *m, srv_text **out, sg_error *err)
{
    srv_text *t = calloc(1, sizeof *t);
    if (!t) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    t->n_vocab = sg_model_config(m)->n_vocab;
    const char *tmpl = sg_model_chat_template(m);
    t->reasoning = tmpl && strstr(tmpl, "<think>");
#ifdef SG_SERVE_HAVE_TOKENIZER
    sg_error e2 = {0};
    if (sg_tokenizer_from_model(m, &t->tok, &e2) != SG_OK) {
        /* a model without a vocabulary still serves token ids */
        t->tok = NULL;
    }
    if (t->tok) {
        size_t n;
        int32_t b = sg_token_bos(t->tok), e = sg_token_eos(t->tok);
        if (b >= 0) t->bos = strdup(sg_token_text(t->tok, b, &n));
        if (e >= 0) t->eos = strdup(sg_token_text(t->tok, e, &n));
    }
#endif
    if (sg_template_compile(tmpl ? tmpl : sg_template_chatml, &t->tmpl, &e2) != SG_OK) {
        fprintf(stderr, "stargate: the model's chat template does not compile (%s); using ChatML\n", e2.msg);
        if (sg_template_compile(sg_template_chatml, &t->tmpl, err) != SG_OK) {
            srv_text_free(t);
            return err ? err->code : SG_ERR_INVALID;
        }
    }
    *out = t;
    return SG_OK;
}

void srv_text_free(srv_text *t)
{
    if (!t) return;
#ifdef SG_SERVE_HAVE_TOKENIZER
    sg_tokenizer_free(t->tok);
#endif
    sg_template_free(t->tmpl);
    free(t->bos);
    free(t->eos);
    free(t);
}

bool srv_text_has_tokenizer(const srv_text *t)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    return t->tok != NULL;
#else
    (void)t;
    return false;
#endif
}

bool srv_text_reasoning(const srv_text *t)
{
    return t->reasoning;
}

static sg_status encode(const srv_text *t, const char *s, size_t n, unsigned flags, int32_t **ids, int *n_ids,
                       sg_error *err)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (t->tok) {
        size_t k = 0;
        sg_status st = sg_tokenize(t->tok, s, n, flags, ids, &k, err);
        if (st == SG_OK && k > (size_t)1 << 30) {
            free(*ids);
            return sg_fail(err, SG_ERR_INVALID, "prompt too long");
        }
        *n_ids = (int)k;
        return st;
    }
#endif
    (void)flags;
    if (n > (size_t)1 << 30) return sg_fail(err, SG_ERR_INVALID, "prompt too long");
    int32_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = (int32_t)((unsigned char)s[i] % (unsigned)t->n_vocab);
    *ids = v;
    *n_ids = (int)n;
    return SG_OK;
}

sg_status srv_text_encode(const srv_text *t, const char *s, size_t n, bool special, int32_t **ids, int *n_ids,
                          sg_error *err)
{
    return encode(t, s, n, special ? SG_TOKENIZE_PARSE_SPECIAL : 0, ids, n_ids, err);
}

sg_status srv_text_encode_prompt(const srv_text *t, const char *s, size_t n, int32_t **ids, int *n_ids,
                                 sg_error *err)
{
    return encode(t, s, n, SG_TOKENIZE_ADD_SPECIAL, ids, n_ids, err);
}

/* Append the encoding of s to (*ids, *n, *cap). */
static sg_status append(const srv_text *t, const char *s, bool special, int32_t **ids, int *n, int *cap,
                        sg_error *err)
{
    int32_t *v;
    int k;
    sg_status st = srv_text_encode(t, s, strlen(s), special, &v, &k, err);
    if (st != SG_OK) return st;
    if (*n + k > *cap) {
        int nc = (*n + k) * 2 + 16;
        int32_t *g = realloc(*ids, (size_t)nc * sizeof *g);
        if (!g) {
            free(v);
            return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        }
        *ids = g;
        *cap = nc;
    }
    memcpy(*ids + *n, v, (size_t)k * sizeof *v);
    *n += k;
    free(v);
    return SG_OK;
}

#define SENTINEL "\x01sg-content-%d\x01"

/* Render the template over msgs; contents replaced by sentinels when
 * sentinel is true. *out is a heap string. */
static sg_status render(const srv_text *t, const srv_message *msgs, int n, bool sentinel, char **out, sg_error *err)
{
    cJSON *arr = cJSON_CreateArray();
    char buf[48];
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", msgs[i].role);
        snprintf(buf, sizeof buf, SENTINEL, i);
        cJSON_AddStringToObject(m, "content", sentinel ? buf : msgs[i].content);
        cJSON_AddItemToArray(arr, m);
    }
    char *conv = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!conv) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    char *ctx = NULL;
    sg_status st = sg_chat_context(conv, NULL, true, t->bos, t->eos, &ctx, err);
    free(conv);
    if (st == SG_OK) st = sg_template_apply(t->tmpl, ctx, NULL, out, err);
    free(ctx);
    return st;
}

sg_status srv_text_chat(const srv_text *t, const srv_message *msgs, int n, int32_t **ids, int *n_ids,
                        bool *in_reasoning, sg_error *err)
{
    char *prompt = NULL;
    sg_status st = render(t, msgs, n, true, &prompt, err);
    if (st != SG_OK) return st;
    /* every sentinel exactly once, in order? */
    bool split = true;
    const char *p = prompt;
    char buf[48];
    for (int i = 0; i < n && split; i++) {
        snprintf(buf, sizeof buf, SENTINEL, i);
        const char *hit = strstr(p, buf);
        if (!hit || strstr(hit + 1, buf)) split = false;
        else p = hit + strlen(buf);
    }
    int32_t *v = NULL;
    int k = 0, cap = 0;
    if (split) {
        p = prompt;
        for (int i = 0; i <= n && st == SG_OK; i++) {
            const char *hit = NULL;
            if (i < n) {
                snprintf(buf, sizeof buf, SENTINEL, i);
                hit = strstr(p, buf);
            }
            size_t len = hit ? (size_t)(hit - p) : strlen(p);
            char *part = strndup(p, len);
            if (!part) st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
            if (st == SG_OK) st = append(t, part, true, &v, &k, &cap, err);
            free(part);
            if (st == SG_OK && i < n) st = append(t, msgs[i].content, false, &v, &k, &cap, err);
            if (hit) p = hit + strlen(buf);
        }
        /* the real prompt text, for the reasoning check below */
        free(prompt);
        prompt = NULL;
        if (st == SG_OK) st = render(t, msgs, n, false, &prompt, err);
    } else {
        free(prompt);
        prompt = NULL;
        st = render(t, msgs, n, false, &prompt, err);
        if (st == SG_OK) st = append(t, prompt, true, &v, &k, &cap, err);
    }
    if (st == SG_OK) *in_reasoning = sg_reasoning_prompt_opens(prompt);
    free(prompt);
    if (st != SG_OK) {
        free(v);
        return st;
    }
    *ids = v;
    *n_ids = k;
    return SG_OK;
}

const char *srv_text_token_bytes(const srv_text *t, int32_t id, size_t *len)
{
    *len = 0;
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (t->tok && id >= 0 && id < t->n_vocab) {
        sg_token_type ty = sg_token_get_type(t->tok, id);
        if (ty == SG_TOKEN_CONTROL || ty == SG_TOKEN_UNUSED || ty == SG_TOKEN_UNKNOWN) return NULL;
        return sg_token_piece(t->tok, id, len);
    }
#endif
    (void)t;
    (void)id;
    return NULL;
}

bool srv_text_is_eog(const srv_text *t, int32_t id)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (t->tok) return sg_token_is_eog(t->tok, id);
#endif
    (void)t;
    (void)id;
    return false;
}

const char *srv_text_piece(const srv_text *t, int32_t id, char *buf, size_t cap, size_t *len)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (t->tok) {
        const char *p = sg_token_piece(t->tok, id, len);
        if (p) return p;
    }
#endif
    (void)t;
    int k = snprintf(buf, cap, "<t%d>", (int)id);
    *len = k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
    return buf;
}

srv_detok *srv_detok_new(const srv_text *t)
{
    srv_detok *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->t = t;
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (t->tok && !(d->ds = sg_detok_stream_new(t->tok, 0))) {
        free(d);
        return NULL;
    }
#endif
    return d;
}

const char *srv_detok_push(srv_detok *d, int32_t id, size_t *len)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (d->ds) {
        const char *out = NULL;
        if (sg_detok_stream_push(d->ds, id, &out, len, NULL) != SG_OK) {
            *len = 0;
            return "";
        }
        return out ? out : "";
    }
#endif
    return srv_text_piece(d->t, id, d->buf, sizeof d->buf, len);
}

const char *srv_detok_flush(srv_detok *d, size_t *len)
{
#ifdef SG_SERVE_HAVE_TOKENIZER
    if (d->ds) {
        const char *s = sg_detok_stream_flush(d->ds, len);
        return s ? s : "";
    }
#endif
    (void)d;
    *len = 0;
    return "";
}

void srv_detok_free(srv_detok *d)
{
    if (!d) return;
#ifdef SG_SERVE_HAVE_TOKENIZER
    sg_detok_stream_free(d->ds);
#endif
    free(d);
}
