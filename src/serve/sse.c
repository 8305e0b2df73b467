/*
 * sse.c -- OpenAI response bodies: whole responses and stream chunks.
 *
 * A stream is a sequence of Server-Sent Events, each `data: <json>\n\n`,
 * ended by `data: [DONE]\n\n`, as OpenAI sends them:
 *
 *   chat:        first chunk  delta {"role":"assistant","content":""}
 *                per token    delta {"content":"..."} (or "reasoning_content")
 *                last chunk   delta {} and finish_reason
 *                usage chunk  choices [] and usage (stream_options.include_usage;
 *                             every other chunk then carries "usage": null)
 *   completions: per token    {"text":"..."}; last chunk finish_reason
 *
 * Log-probabilities follow the two OpenAI shapes: chat's
 * {"content":[{"token","logprob","bytes","top_logprobs"}]} and the legacy
 * completions' {"tokens","token_logprobs","top_logprobs","text_offset"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/sse.h"

/* Text as clients see it: valid UTF-8 kept, invalid bytes as U+FFFD, NUL
 * bytes dropped. out has room for 3n + 1 bytes; returns the length. */
static size_t clean_text(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            k = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            if (!k || i + k > n || !srv_utf8_valid(s + i, k)) {
                memcpy(out + o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
                continue;
            }
        } else if (c == 0) {
            i++;
            continue;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = 0;
    return o;
}

/* A token's text for JSON. */
static cJSON *token_string(const char *s, size_t n)
{
    char *b = malloc(n * 3 + 1);
    if (!b) return cJSON_CreateString("");
    clean_text(s, n, b);
    cJSON *j = cJSON_CreateString(b);
    free(b);
    return j;
}

static cJSON *bytes_array(const char *s, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((unsigned char)s[i]));
    return a;
}

/* Chat: one entry of logprobs.content. */
static cJSON *chat_lp(const srv_text *t, const srv_lp *lp)
{
    char buf[32];
    size_t n;
    const char *s = srv_text_piece(t, lp->token, buf, sizeof buf, &n);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "token", token_string(s, n));
    cJSON_AddNumberToObject(o, "logprob", lp->logprob);
    cJSON_AddItemToObject(o, "bytes", bytes_array(s, n));
    cJSON *top = cJSON_AddArrayToObject(o, "top_logprobs");
    for (int i = 0; i < lp->n_top; i++) {
        char b2[32];
        size_t k;
        const char *ts = srv_text_piece(t, lp->top_token[i], b2, sizeof b2, &k);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "token", token_string(ts, k));
        cJSON_AddNumberToObject(e, "logprob", lp->top_logprob[i]);
        cJSON_AddItemToObject(e, "bytes", bytes_array(ts, k));
        cJSON_AddItemToArray(top, e);
    }
    return o;
}

/* Completions: append one token to the four parallel arrays. */
static void cmpl_lp(const srv_text *t, cJSON *o, const srv_lp *lp, size_t text_offset)
{
    char buf[32];
    size_t n;
    const char *s = srv_text_piece(t, lp->token, buf, sizeof buf, &n);
    cJSON_AddItemToArray(cJSON_GetObjectItem(o, "tokens"), token_string(s, n));
    cJSON_AddItemToArray(cJSON_GetObjectItem(o, "token_logprobs"), cJSON_CreateNumber(lp->logprob));
    cJSON *top = cJSON_CreateObject();
    for (int i = 0; i < lp->n_top; i++) {
        char b2[32];
        size_t k;
        const char *ts = srv_text_piece(t, lp->top_token[i], b2, sizeof b2, &k);
        cJSON *key = token_string(ts, k);
        if (!cJSON_GetObjectItemCaseSensitive(top, key->valuestring))
            cJSON_AddNumberToObject(top, key->valuestring, lp->top_logprob[i]);
        cJSON_Delete(key);
    }
    cJSON_AddItemToArray(cJSON_GetObjectItem(o, "top_logprobs"), top);
    cJSON_AddItemToArray(cJSON_GetObjectItem(o, "text_offset"), cJSON_CreateNumber((double)text_offset));
}

static cJSON *cmpl_lp_new(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddArrayToObject(o, "tokens");
    cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON_AddArrayToObject(o, "top_logprobs");
    cJSON_AddArrayToObject(o, "text_offset");
    return o;
}

static cJSON *head(const srv_resp_info *ri, bool chunk)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ri->id);
    cJSON_AddStringToObject(o, "object",
                            ri->kind == SRV_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                 : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)ri->created);
    cJSON_AddStringToObject(o, "model", ri->model);
    cJSON_AddStringToObject(o, "system_fingerprint", "stargate-" SG_VERSION_STRING);
    if (ri->conversation_id) cJSON_AddStringToObject(o, "conversation_id", ri->conversation_id);
    return o;
}

static cJSON *usage(const srv_req *r)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", r->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", r->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", r->n_prompt + r->n_gen);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", r->n_cached);
    return u;
}

/* The text of events [a, b) of one kind, as a new C string: exactly what
 * the stream's chunks carried, concatenated (each event is whole UTF-8). */
static char *gather(const srv_req *r, int a, int b, bool reasoning)
{
    size_t n = 0;
    for (int i = a; i < b; i++)
        if (r->ev[i].reasoning == reasoning) n += r->ev[i].len;
    char *s = malloc(n * 3 + 1);
    if (!s) return NULL;
    size_t o = 0;
    for (int i = a; i < b; i++)
        if (r->ev[i].reasoning == reasoning) o += clean_text(r->text + r->ev[i].off, r->ev[i].len, s + o);
    s[o] = 0;
    return s;
}

char *srv_req_gather(const srv_req *r, bool reasoning)
{
    return gather(r, 0, r->n_ev, reasoning);
}

static char *print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *srv_format_response(const srv_resp_info *ri, const srv_req *r)
{
    cJSON *o = head(ri, false);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    char *content = gather(r, 0, r->n_ev, false);
    if (ri->kind == SRV_CHAT) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", content ? content : "");
        bool any = ri->reasoning;
        for (int i = 0; i < r->n_ev && !any; i++) any = r->ev[i].reasoning && r->ev[i].len;
        if (any) {
            char *rs = gather(r, 0, r->n_ev, true);
            cJSON_AddStringToObject(m, "reasoning_content", rs ? rs : "");
            free(rs);
        }
        if (r->p.logprobs) {
            cJSON *lp = cJSON_AddObjectToObject(c, "logprobs");
            cJSON *arr = cJSON_AddArrayToObject(lp, "content");
            for (int i = 0; i < r->n_lps; i++) cJSON_AddItemToArray(arr, chat_lp(ri->text, &r->lps[i]));
        } else {
            cJSON_AddNullToObject(c, "logprobs");
        }
    } else {
        cJSON_AddStringToObject(c, "text", content ? content : "");
        if (r->p.logprobs) {
            cJSON *lp = cmpl_lp_new();
            size_t off = 0;
            for (int i = 0; i < r->n_ev; i++) {
                if (r->ev[i].lp >= 0) cmpl_lp(ri->text, lp, &r->lps[r->ev[i].lp], off);
                off += r->ev[i].len;
            }
            cJSON_AddItemToObject(c, "logprobs", lp);
        } else {
            cJSON_AddNullToObject(c, "logprobs");
        }
    }
    free(content);
    cJSON_AddStringToObject(c, "finish_reason", r->finish ? r->finish : "stop");
    cJSON_AddItemToObject(o, "usage", usage(r));
    return print(o);
}

/* Append "data: <json>\n\n" to the buffer. */
static bool sse_append(srv_buf *b, char *json)
{
    if (!json) return false;
    bool ok = srv_buf_add(b, "data: ", 6) && srv_buf_add(b, json, strlen(json)) && srv_buf_add(b, "\n\n", 2);
    free(json);
    return ok;
}

static cJSON *chunk_choice(cJSON *o, const srv_resp_info *ri)
{
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    if (ri->include_usage) cJSON_AddNullToObject(o, "usage");
    return c;
}

bool srv_format_role_chunk(const srv_resp_info *ri, srv_buf *b)
{
    if (ri->kind != SRV_CHAT) return true;
    cJSON *o = head(ri, true);
    cJSON *c = chunk_choice(o, ri);
    cJSON *d = cJSON_AddObjectToObject(c, "delta");
    cJSON_AddStringToObject(d, "role", "assistant");
    cJSON_AddStringToObject(d, "content", "");
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddNullToObject(c, "finish_reason");
    return sse_append(b, print(o));
}

bool srv_format_event_chunk(const srv_resp_info *ri, const srv_req *r, int i, size_t text_offset, srv_buf *b)
{
    const srv_event *ev = &r->ev[i];
    cJSON *o = head(ri, true);
    cJSON *c = chunk_choice(o, ri);
    char *txt = malloc(ev->len + 1);
    if (!txt) {
        cJSON_Delete(o);
        return false;
    }
    memcpy(txt, r->text + ev->off, ev->len);
    txt[ev->len] = 0;
    if (ri->kind == SRV_CHAT) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        cJSON_AddStringToObject(d, ev->reasoning ? "reasoning_content" : "content", txt);
        if (ev->lp >= 0) {
            cJSON *lp = cJSON_AddObjectToObject(c, "logprobs");
            cJSON *arr = cJSON_AddArrayToObject(lp, "content");
            cJSON_AddItemToArray(arr, chat_lp(ri->text, &r->lps[ev->lp]));
        } else {
            cJSON_AddNullToObject(c, "logprobs");
        }
    } else {
        cJSON_AddStringToObject(c, "text", txt);
        if (ev->lp >= 0) {
            cJSON *lp = cmpl_lp_new();
            cmpl_lp(ri->text, lp, &r->lps[ev->lp], text_offset);
            cJSON_AddItemToObject(c, "logprobs", lp);
        } else {
            cJSON_AddNullToObject(c, "logprobs");
        }
    }
    free(txt);
    cJSON_AddNullToObject(c, "finish_reason");
    return sse_append(b, print(o));
}

bool srv_format_final_chunks(const srv_resp_info *ri, const srv_req *r, srv_buf *b)
{
    bool ok = true;
    if (r->err_status) {
        srv_error e;
        srv_error_set(&e, r->err_status, r->err_status >= 500 ? "server_error" : "invalid_request_error", NULL,
                      NULL, "%s", r->err_msg);
        ok = sse_append(b, srv_error_json(&e));
    } else {
        cJSON *o = head(ri, true);
        cJSON *c = chunk_choice(o, ri);
        if (ri->kind == SRV_CHAT)
            cJSON_AddObjectToObject(c, "delta");
        else
            cJSON_AddStringToObject(c, "text", "");
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", r->finish ? r->finish : "stop");
        ok = sse_append(b, print(o));
        if (ok && ri->include_usage) {
            cJSON *u = head(ri, true);
            cJSON_AddArrayToObject(u, "choices");
            cJSON_AddItemToObject(u, "usage", usage(r));
            ok = sse_append(b, print(u));
        }
    }
    return ok && srv_buf_add(b, "data: [DONE]\n\n", 14);
}

bool srv_buf_add(srv_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *g = realloc(b->s, nc);
        if (!g) return false;
        b->s = g;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return true;
}
