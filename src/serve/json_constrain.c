/*
 * json_constrain.c -- response_format {"type": "json_object"}: the output is
 * kept a prefix of one valid JSON object (RFC 8259) by masking, before each
 * sampling step, every token whose bytes the JSON grammar cannot accept next.
 *
 * The grammar is a byte-level pushdown automaton: a lexical mode (value
 * expected, inside a string, inside a number, after a value, ...) plus a
 * stack of open containers. A token is allowed when the automaton accepts
 * all of its bytes from the current state; the check runs on a copy of the
 * state, so masking costs one short simulation per vocabulary entry (the
 * token texts are looked up once per server, in text.c). Control tokens are
 * never allowed, end-of-generation only once the object is complete (the
 * scheduler stops the request at that point anyway). Runs of whitespace are
 * capped so a model cannot pad forever; nesting is capped at 64.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

#define JC_MAX_DEPTH 64
#define JC_MAX_WS 4

typedef enum mode {
    M_START = 0,    /* before the top-level '{'                      */
    M_VALUE,        /* a value is expected                           */
    M_KEY_OR_END,   /* after '{': a key or '}'                       */
    M_KEY,          /* after ',' in an object: a key                 */
    M_COLON,        /* after a key                                   */
    M_AFTER,        /* after a value: ',' or a closing bracket       */
    M_VALUE_OR_END, /* after '[': a value or ']'                     */
    M_STR,          /* inside a string                               */
    M_ESC,          /* after a backslash                             */
    M_HEX,          /* inside \uXXXX                                 */
    M_NUM,          /* inside a number (sub-state in num)            */
    M_LIT,          /* inside true/false/null                        */
    M_DONE,         /* the top-level object is closed                */
} mode;

enum { N_MINUS = 1, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

typedef struct jstate {
    unsigned char mode, num, lit_pos, hex, ws, depth;
    bool key;            /* the string being read is an object key */
    const char *lit;     /* "true", "false", "null"                */
    char stack[JC_MAX_DEPTH];
} jstate;

struct srv_jsonc {
    const srv_text *t;
    int n_vocab;
    jstate s;
};

static bool num_can_end(int n)
{
    return n == N_ZERO || n == N_INT || n == N_FRAC || n == N_EXP;
}

/* After a complete value: where the automaton goes. */
static void value_done(jstate *s)
{
    s->mode = s->depth == 0 ? M_DONE : M_AFTER;
}

static bool push(jstate *s, char c)
{
    if (s->depth >= JC_MAX_DEPTH) return false;
    s->stack[s->depth++] = c;
    s->mode = c == '{' ? M_KEY_OR_END : M_VALUE_OR_END;
    return true;
}

static bool pop(jstate *s, char c)
{
    if (!s->depth || s->stack[s->depth - 1] != (c == '}' ? '{' : '[')) return false;
    s->depth--;
    value_done(s);
    return true;
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Start of a value (M_VALUE / M_VALUE_OR_END). */
static bool value_start(jstate *s, unsigned char c)
{
    switch (c) {
    case '{': return push(s, '{');
    case '[': return push(s, '[');
    case '"': s->mode = M_STR, s->key = false; return true;
    case '-': s->mode = M_NUM, s->num = N_MINUS; return true;
    case '0': s->mode = M_NUM, s->num = N_ZERO; return true;
    case 't': s->mode = M_LIT, s->lit = "true", s->lit_pos = 1; return true;
    case 'f': s->mode = M_LIT, s->lit = "false", s->lit_pos = 1; return true;
    case 'n': s->mode = M_LIT, s->lit = "null", s->lit_pos = 1; return true;
    default:
        if (c >= '1' && c <= '9') {
            s->mode = M_NUM, s->num = N_INT;
            return true;
        }
        return false;
    }
}

static bool step(jstate *s, unsigned char c)
{
    if (s->mode != M_STR && s->mode != M_ESC && s->mode != M_HEX && s->mode != M_NUM && s->mode != M_LIT &&
        s->mode != M_DONE && is_ws(c))
        return ++s->ws <= JC_MAX_WS;
    if (s->mode != M_NUM) s->ws = 0;
    switch ((mode)s->mode) {
    case M_START: return c == '{' && push(s, '{');
    case M_VALUE: return value_start(s, c);
    case M_VALUE_OR_END: return c == ']' ? pop(s, ']') : value_start(s, c);
    case M_KEY_OR_END:
        if (c == '}') return pop(s, '}');
        /* fall through */
    case M_KEY:
        if (c != '"') return false;
        s->mode = M_STR, s->key = true;
        return true;
    case M_COLON:
        if (c != ':') return false;
        s->mode = M_VALUE;
        return true;
    case M_AFTER:
        if (c == ',') {
            s->mode = s->stack[s->depth - 1] == '{' ? M_KEY : M_VALUE;
            return true;
        }
        if (c == '}' || c == ']') return pop(s, (char)c);
        return false;
    case M_STR:
        if (c == '"') {
            if (s->key) s->mode = M_COLON;
            else value_done(s);
            return true;
        }
        if (c == '\\') {
            s->mode = M_ESC;
            return true;
        }
        return c >= 0x20;
    case M_ESC:
        if (c == 'u') {
            s->mode = M_HEX, s->hex = 0;
            return true;
        }
        if (!strchr("\"\\/bfnrt", c) || !c) return false;
        s->mode = M_STR;
        return true;
    case M_HEX:
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
        if (++s->hex == 4) s->mode = M_STR;
        return true;
    case M_NUM: {
        bool digit = c >= '0' && c <= '9';
        switch (s->num) {
        case N_MINUS:
            if (c == '0') return s->num = N_ZERO, true;
            return digit ? (s->num = N_INT, true) : false;
        case N_ZERO:
        case N_INT:
            if (digit && s->num == N_INT) return true;
            if (c == '.') return s->num = N_DOT, true;
            if (c == 'e' || c == 'E') return s->num = N_E, true;
            break;
        case N_DOT: return digit ? (s->num = N_FRAC, true) : false;
        case N_FRAC:
            if (digit) return true;
            if (c == 'e' || c == 'E') return s->num = N_E, true;
            break;
        case N_E:
            if (c == '+' || c == '-') return s->num = N_ESIGN, true;
            return digit ? (s->num = N_EXP, true) : false;
        case N_ESIGN: return digit ? (s->num = N_EXP, true) : false;
        case N_EXP:
            if (digit) return true;
            break;
        }
        if (!num_can_end(s->num)) return false;
        value_done(s); /* the number ends; c belongs to what follows */
        return step(s, c);
    }
    case M_LIT:
        if ((unsigned char)s->lit[s->lit_pos] != c) return false;
        if (!s->lit[++s->lit_pos]) value_done(s);
        return true;
    case M_DONE: return false;
    }
    return false;
}

srv_jsonc *srv_jsonc_new(const srv_text *t, int n_vocab)
{
    srv_jsonc *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->t = t;
    j->n_vocab = n_vocab;
    j->s.mode = M_START;
    return j;
}

void srv_jsonc_free(srv_jsonc *j)
{
    free(j);
}

void srv_jsonc_mask(srv_jsonc *j, float *logits)
{
    for (int id = 0; id < j->n_vocab; id++) {
        if (logits[id] == -INFINITY) continue;
        size_t n;
        const char *p = srv_text_token_bytes(j->t, id, &n);
        bool ok = p && n > 0;
        if (ok) {
            jstate s = j->s;
            for (size_t i = 0; i < n && ok; i++) ok = step(&s, (unsigned char)p[i]);
        }
        if (!ok) logits[id] = -INFINITY;
    }
}

void srv_jsonc_accept(srv_jsonc *j, int32_t token)
{
    size_t n;
    const char *p = srv_text_token_bytes(j->t, token, &n);
    for (size_t i = 0; p && i < n; i++)
        if (!step(&j->s, (unsigned char)p[i])) break;
}

bool srv_jsonc_done(const srv_jsonc *j)
{
    return j->s.mode == M_DONE;
}

bool srv_jsonc_valid_prefix(const char *s, size_t n, bool *complete)
{
    jstate st = {.mode = M_START};
    for (size_t i = 0; i < n; i++)
        if (!step(&st, (unsigned char)s[i])) return false;
    if (complete) *complete = st.mode == M_DONE;
    return true;
}
