/*
 * api.c -- OpenAI request bodies in, validated parameters out.
 *
 * srv_parse_request() is a pure function of the body bytes (and the
 * vocabulary size): no server state, no I/O, so the fuzzer can call it
 * directly. Every way a body can be wrong ends in an srv_error with the HTTP
 * status and the OpenAI "error" object fields ({"message", "type", "param",
 * "code"}) a client expects:
 *
 *   not JSON / not an object / nested too deep  400 invalid_request_error
 *   a field of the wrong type or out of range    400, param = the field
 *   n != 1, unknown response_format type         400
 *
 * Field names follow OpenAI's API reference; top_k, min_p and
 * repetition_penalty are accepted as vLLM and llama.cpp accept them. Fields
 * we do not know are ignored, as OpenAI-compatible servers do.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/serve.h"

#define SRV_MAX_DEPTH 64 /* JSON nesting accepted before cJSON recurses */

void srv_error_set(srv_error *e, int status, const char *type, const char *param, const char *code,
                   const char *fmt, ...)
{
    e->status = status;
    e->retry_after = 0;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

char *srv_error_json(const srv_error *e)
{
    cJSON *root = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(o, "message", e->message);
    cJSON_AddStringToObject(o, "type", e->type ? e->type : "invalid_request_error");
    if (e->param[0])
        cJSON_AddStringToObject(o, "param", e->param);
    else
        cJSON_AddNullToObject(o, "param");
    if (e->code)
        cJSON_AddStringToObject(o, "code", e->code);
    else
        cJSON_AddNullToObject(o, "code");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

bool srv_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        int k;
        unsigned min;
        if ((c & 0xE0) == 0xC0) k = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0) k = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0) k = 3, min = 0x10000, c &= 0x07;
        else return false;
        if (i + (size_t)k >= n) return false;
        for (int j = 1; j <= k; j++) {
            if ((s[i + (size_t)j] & 0xC0) != 0x80) return false;
            c = (c << 6) | (s[i + (size_t)j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
        i += (size_t)k + 1;
    }
    return true;
}

/* Does the body escape a NUL character (\u0000)? cJSON would cut the string
 * there silently; we refuse instead. */
static bool has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++) {
        if (s[i] != '\\' || s[i + 1] != 'u' || memcmp(s + i + 2, "0000", 4)) continue;
        size_t k = 0; /* backslashes before this one: odd means it is escaped itself */
        while (k < i && s[i - 1 - k] == '\\') k++;
        if (k % 2 == 0) return true;
    }
    return false;
}

/* Deepest nesting of brackets outside strings; stops counting past limit.
 * cJSON recurses once per level, so we refuse deep bodies before parsing. */
static int json_depth(const char *s, size_t n, int limit)
{
    int d = 0, maxd = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++d > maxd) maxd = d;
            if (maxd > limit) return maxd;
        } else if (c == ']' || c == '}') {
            d--;
        }
    }
    return maxd;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Field readers: absent or null leaves *out unchanged and succeeds. */

static bool get_number(const cJSON *root, const char *name, double lo, double hi, double *out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_type", "'%s' must be a number", name);
        return false;
    }
    if (v->valuedouble < lo || v->valuedouble > hi) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_value", "'%s' is %g; it must be in [%g, %g]",
                      name, v->valuedouble, lo, hi);
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static bool get_int(const cJSON *root, const char *name, double lo, double hi, double *out, srv_error *e)
{
    double d = *out;
    if (!get_number(root, name, lo, hi, &d, e)) return false;
    if (d != floor(d)) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_type", "'%s' must be an integer", name);
        return false;
    }
    *out = d;
    return true;
}

static bool get_bool(const cJSON *root, const char *name, bool *out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsBool(v)) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_type", "'%s' must be a boolean", name);
        return false;
    }
    *out = cJSON_IsTrue(v);
    return true;
}

static bool check_string(const cJSON *v, const char *param, srv_error *e)
{
    if (!srv_utf8_valid(v->valuestring, strlen(v->valuestring))) {
        srv_error_set(e, 400, "invalid_request_error", param, "invalid_encoding",
                      "'%s' is not valid UTF-8 (or contains a NUL character)", param);
        return false;
    }
    return true;
}

static bool get_string(const cJSON *root, const char *name, char **out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsString(v)) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_type", "'%s' must be a string", name);
        return false;
    }
    if (!check_string(v, name, e)) return false;
    free(*out);
    *out = xstrdup(v->valuestring);
    return *out != NULL;
}

/* Message content: a string, or an array of {"type":"text","text":...}
 * parts (concatenated). */
static bool get_content(const cJSON *v, int idx, char **out, srv_error *e)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%d].content", idx);
    if (!v || cJSON_IsNull(v)) {
        *out = xstrdup("");
        return *out != NULL;
    }
    if (cJSON_IsString(v)) {
        if (!check_string(v, param, e)) return false;
        *out = xstrdup(v->valuestring);
        return *out != NULL;
    }
    if (!cJSON_IsArray(v)) {
        srv_error_set(e, 400, "invalid_request_error", param, "invalid_type",
                      "'%s' must be a string or an array of text parts", param);
        return false;
    }
    size_t len = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, v)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") ||
            !cJSON_IsString(text)) {
            srv_error_set(e, 400, "invalid_request_error", param, "invalid_type",
                          "'%s': only parts {\"type\": \"text\", \"text\": ...} are supported", param);
            return false;
        }
        if (!check_string(text, param, e)) return false;
        len += strlen(text->valuestring);
    }
    char *s = malloc(len + 1);
    if (!s) return false;
    size_t o = 0;
    cJSON_ArrayForEach(part, v)
    {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        size_t k = strlen(t);
        memcpy(s + o, t, k);
        o += k;
    }
    s[o] = 0;
    *out = s;
    return true;
}

static bool parse_messages(const cJSON *root, srv_request_params *p, srv_error *e)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!msgs) {
        srv_error_set(e, 400, "invalid_request_error", "messages", "missing_required_parameter",
                      "'messages' is required");
        return false;
    }
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
        srv_error_set(e, 400, "invalid_request_error", "messages", "invalid_type",
                      "'messages' must be a non-empty array");
        return false;
    }
    int n = cJSON_GetArraySize(msgs);
    if (n > SRV_MAX_MESSAGES) {
        srv_error_set(e, 400, "invalid_request_error", "messages", "invalid_value",
                      "%d messages; at most %d are accepted", n, SRV_MAX_MESSAGES);
        return false;
    }
    p->messages = calloc((size_t)n, sizeof *p->messages);
    if (!p->messages) return false;
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        char param[64];
        snprintf(param, sizeof param, "messages[%d].role", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            srv_error_set(e, 400, "invalid_request_error", param, "invalid_type",
                          "'%s' must be a string in a message object", param);
            return false;
        }
        const char *r = role->valuestring;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "developer") &&
            strcmp(r, "tool")) {
            srv_error_set(e, 400, "invalid_request_error", param, "invalid_value",
                          "'%s' must be one of system, developer, user, assistant, tool", param);
            return false;
        }
        p->messages[i].role = xstrdup(r);
        p->n_messages = i + 1;
        if (!p->messages[i].role) return false;
        if (!get_content(cJSON_GetObjectItemCaseSensitive(m, "content"), i, &p->messages[i].content, e))
            return false;
        i++;
    }
    return true;
}

static bool parse_prompt(const cJSON *root, int n_vocab, srv_request_params *p, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!v) {
        srv_error_set(e, 400, "invalid_request_error", "prompt", "missing_required_parameter",
                      "'prompt' is required");
        return false;
    }
    /* A batch of prompts (["a","b"] or [[1,2],[3]]) is several choices; we
     * accept one: a string, [string] or an array of token ids. */
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1 && !cJSON_IsNumber(v->child)) v = v->child;
    if (cJSON_IsString(v)) {
        if (!check_string(v, "prompt", e)) return false;
        p->prompt_text = xstrdup(v->valuestring);
        return p->prompt_text != NULL;
    }
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        int n = cJSON_GetArraySize(v), i = 0;
        p->prompt_ids = malloc((size_t)n * sizeof *p->prompt_ids);
        if (!p->prompt_ids) return false;
        const cJSON *t;
        cJSON_ArrayForEach(t, v)
        {
            if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) || t->valuedouble < 0 ||
                t->valuedouble >= n_vocab) {
                srv_error_set(e, 400, "invalid_request_error", "prompt", "invalid_value",
                              "prompt[%d] is not a token id in [0, %d)", i, n_vocab);
                return false;
            }
            p->prompt_ids[i++] = (int32_t)t->valuedouble;
        }
        p->n_prompt_ids = n;
        return true;
    }
    srv_error_set(e, 400, "invalid_request_error", "prompt", "invalid_type",
                  "'prompt' must be a string or a non-empty array of token ids (one prompt per request)");
    return false;
}

static bool parse_stop(const cJSON *root, srv_request_params *p, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!v || cJSON_IsNull(v)) return true;
    int n = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 0) {
        srv_error_set(e, 400, "invalid_request_error", "stop", "invalid_type",
                      "'stop' must be a string or an array of strings");
        return false;
    }
    if (n > SRV_MAX_STOPS) {
        srv_error_set(e, 400, "invalid_request_error", "stop", "invalid_value",
                      "%d stop strings; at most %d are accepted", n, SRV_MAX_STOPS);
        return false;
    }
    p->stops = calloc((size_t)(n ? n : 1), sizeof *p->stops);
    if (!p->stops) return false;
    const cJSON *s = cJSON_IsString(v) ? v : v->child;
    for (int i = 0; i < n; i++, s = s->next) {
        if (!cJSON_IsString(s)) {
            srv_error_set(e, 400, "invalid_request_error", "stop", "invalid_type", "stop[%d] must be a string", i);
            return false;
        }
        if (!check_string(s, "stop", e)) return false;
        if (strlen(s->valuestring) > SRV_MAX_STOP_LEN) {
            srv_error_set(e, 400, "invalid_request_error", "stop", "invalid_value",
                          "stop[%d] is %zu bytes long; at most %d are accepted", i, strlen(s->valuestring),
                          SRV_MAX_STOP_LEN);
            return false;
        }
        p->stops[i] = xstrdup(s->valuestring);
        p->n_stops = i + 1;
        if (!p->stops[i]) return false;
    }
    return true;
}

static bool parse_bias(const cJSON *root, int n_vocab, srv_request_params *p, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "logit_bias");
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsObject(v)) {
        srv_error_set(e, 400, "invalid_request_error", "logit_bias", "invalid_type",
                      "'logit_bias' must be an object mapping token ids to numbers");
        return false;
    }
    int n = cJSON_GetArraySize(v);
    if (n > SRV_MAX_BIAS) {
        srv_error_set(e, 400, "invalid_request_error", "logit_bias", "invalid_value",
                      "%d logit_bias entries; at most %d are accepted", n, SRV_MAX_BIAS);
        return false;
    }
    p->bias = calloc((size_t)(n ? n : 1), sizeof *p->bias);
    if (!p->bias) return false;
    const cJSON *b;
    cJSON_ArrayForEach(b, v)
    {
        char *end;
        long id = strtol(b->string, &end, 10);
        if (end == b->string || *end || id < 0 || id >= n_vocab) {
            srv_error_set(e, 400, "invalid_request_error", "logit_bias", "invalid_value",
                          "logit_bias key '%.32s' is not a token id in [0, %d)", b->string, n_vocab);
            return false;
        }
        if (!cJSON_IsNumber(b) || b->valuedouble < -100 || b->valuedouble > 100) {
            srv_error_set(e, 400, "invalid_request_error", "logit_bias", "invalid_value",
                          "logit_bias[%ld] must be a number in [-100, 100]", id);
            return false;
        }
        p->bias[p->n_bias].token = (int32_t)id;
        p->bias[p->n_bias].bias = (float)b->valuedouble;
        p->n_bias++;
    }
    p->sp.logit_bias = p->bias;
    p->sp.n_logit_bias = p->n_bias;
    return true;
}

static bool parse_fields(const cJSON *root, srv_kind kind, int n_vocab, srv_request_params *p, srv_error *e)
{
    if (!get_string(root, "model", &p->model, e)) return false;
    static const struct {
        const char *name;
        unsigned bit;
    } given[] = {{"temperature", SRV_SET_TEMPERATURE}, {"top_p", SRV_SET_TOP_P},
                 {"top_k", SRV_SET_TOP_K},             {"min_p", SRV_SET_MIN_P},
                 {"max_tokens", SRV_SET_MAX_TOKENS},   {"max_completion_tokens", SRV_SET_MAX_TOKENS}};
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, given[i].name);
        if (v && !cJSON_IsNull(v)) p->set |= given[i].bit;
    }
    if (kind == SRV_CHAT) {
        if (!get_string(root, "conversation_id", &p->conversation_id, e)) return false;
        if (p->conversation_id && (strlen(p->conversation_id) == 0 || strlen(p->conversation_id) >= 40)) {
            srv_error_set(e, 404, "invalid_request_error", "conversation_id", "not_found",
                          "no such conversation");
            return false;
        }
    }
    if (kind == SRV_CHAT ? !parse_messages(root, p, e) : !parse_prompt(root, n_vocab, p, e)) return false;

    double n = 1;
    if (!get_int(root, "n", 1, 128, &n, e)) return false;
    if (n != 1) {
        srv_error_set(e, 400, "invalid_request_error", "n", "invalid_value",
                      "n = %g is not supported; this server returns one choice per request (n = 1)", n);
        return false;
    }
    double best_of = 1;
    if (!get_int(root, "best_of", 1, 128, &best_of, e)) return false;
    if (best_of != 1) {
        srv_error_set(e, 400, "invalid_request_error", "best_of", "invalid_value", "best_of must be 1");
        return false;
    }

    /* max_completion_tokens (chat, current name) wins over max_tokens. */
    double mt = -1;
    if (!get_int(root, "max_tokens", 1, 1e12, &mt, e)) return false;
    if (!get_int(root, "max_completion_tokens", 1, 1e12, &mt, e)) return false;
    p->max_tokens = mt > 1e9 ? 1000000000 : (int)mt;

    /* OpenAI defaults: temperature 1, top_p 1; no top-k/min-p unless asked. */
    sg_sampler_params *sp = &p->sp;
    *sp = sg_sampler_default_params();
    sp->temperature = 1.0f;
    sp->top_p = 1.0f;
    sp->top_k = 0;
    sp->min_p = 0.0f;
    sp->seed = SG_SAMPLER_SEED_RANDOM;
    double d;
    d = sp->temperature;
    if (!get_number(root, "temperature", 0, 2, &d, e)) return false;
    sp->temperature = (float)d;
    d = sp->top_p;
    if (!get_number(root, "top_p", 0, 1, &d, e)) return false;
    sp->top_p = d <= 0 ? 1e-6f : (float)d;
    d = 0;
    if (!get_int(root, "top_k", -1, 1e9, &d, e)) return false;
    sp->top_k = (int)d;
    d = 0;
    if (!get_number(root, "min_p", 0, 1, &d, e)) return false;
    sp->min_p = (float)d;
    d = 0;
    if (!get_number(root, "presence_penalty", -2, 2, &d, e)) return false;
    sp->presence_penalty = (float)d;
    d = 0;
    if (!get_number(root, "frequency_penalty", -2, 2, &d, e)) return false;
    sp->frequency_penalty = (float)d;
    d = 1;
    if (!get_number(root, "repetition_penalty", 0.01, 100, &d, e)) return false;
    if (!get_number(root, "repeat_penalty", 0.01, 100, &d, e)) return false;
    sp->repeat_penalty = (float)d;
    d = -1;
    if (!get_int(root, "seed", -9.2e18, 9.2e18, &d, e)) return false;
    if (d >= 0) sp->seed = (uint64_t)d;
    else if (d != -1) sp->seed = (uint64_t)(int64_t)d;

    if (!get_bool(root, "stream", &p->stream, e)) return false;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) {
            srv_error_set(e, 400, "invalid_request_error", "stream_options", "invalid_type",
                          "'stream_options' must be an object");
            return false;
        }
        if (!get_bool(so, "include_usage", &p->include_usage, e)) return false;
    }

    /* logprobs: a boolean for chat (with top_logprobs 0..20), an integer
     * 0..5 for completions (the number of alternatives). */
    if (kind == SRV_CHAT) {
        if (!get_bool(root, "logprobs", &p->logprobs, e)) return false;
        double k = 0;
        if (!get_int(root, "top_logprobs", 0, SG_MAX_LOGPROBS, &k, e)) return false;
        p->top_logprobs = (int)k;
        if (k > 0 && !p->logprobs) {
            srv_error_set(e, 400, "invalid_request_error", "top_logprobs", "invalid_value",
                          "'top_logprobs' needs 'logprobs': true");
            return false;
        }
    } else {
        double k = -1;
        if (!get_int(root, "logprobs", 0, 5, &k, e)) return false;
        p->logprobs = k >= 0;
        p->top_logprobs = k > 0 ? (int)k : 0;
        if (!get_bool(root, "echo", &p->echo, e)) return false;
        if (p->echo) {
            srv_error_set(e, 400, "invalid_request_error", "echo", "invalid_value", "echo is not supported");
            return false;
        }
    }
    sp->n_logprobs = p->top_logprobs;

    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    if (rf && !cJSON_IsNull(rf)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
        if (!cJSON_IsObject(rf) || !cJSON_IsString(t)) {
            srv_error_set(e, 400, "invalid_request_error", "response_format", "invalid_type",
                          "'response_format' must be an object with a string 'type'");
            return false;
        }
        if (!strcmp(t->valuestring, "json_object")) {
            p->json_mode = true;
        } else if (strcmp(t->valuestring, "text")) {
            srv_error_set(e, 400, "invalid_request_error", "response_format.type", "invalid_value",
                          "response_format type '%.64s' is not supported (use \"text\" or \"json_object\")",
                          t->valuestring);
            return false;
        }
    }
    if (!parse_stop(root, p, e)) return false;
    if (!parse_bias(root, n_vocab, p, e)) return false;
    if (!get_string(root, "user", &p->user, e)) return false;
    return true;
}

bool srv_parse_request(srv_kind kind, const char *body, size_t len, int n_vocab, srv_request_params *out,
                       srv_error *e)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->max_tokens = -1;
    if (json_depth(body, len, SRV_MAX_DEPTH) > SRV_MAX_DEPTH) {
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_json",
                      "the request body is nested more than %d levels deep", SRV_MAX_DEPTH);
        return false;
    }
    if (has_nul_escape(body, len)) {
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_value",
                      "the request contains a NUL character (\\u0000), which is not accepted in text");
        return false;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_json",
                      "the request body is not valid JSON");
        return false;
    }
    bool ok = false;
    if (!cJSON_IsObject(root)) {
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_json",
                      "the request body must be a JSON object");
    } else {
        e->status = 0;
        ok = parse_fields(root, kind, n_vocab, out, e);
        if (!ok && e->status == 0)
            srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory while reading the request");
    }
    cJSON_Delete(root);
    if (!ok) srv_request_params_free(out);
    return ok;
}

void srv_request_params_free(srv_request_params *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_messages; i++) {
        free(p->messages[i].role);
        free(p->messages[i].content);
    }
    free(p->messages);
    for (int i = 0; i < p->n_stops; i++) free(p->stops[i]);
    free(p->stops);
    free(p->model);
    free(p->prompt_text);
    free(p->prompt_ids);
    free(p->bias);
    free(p->user);
    free(p->conversation_id);
    memset(p, 0, sizeof *p);
}
