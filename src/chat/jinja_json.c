/*
 * jinja_json.c -- JSON text to template values and back.
 *
 * Why not cJSON here: cJSON keeps every number as a double, so 1 and 1.0
 * become the same value and 2^63-1 loses digits, while Python's json module
 * (which transformers feeds the template through) keeps ints exact and
 * prints 1.0 as "1.0". The `tojson` output must match Python byte for byte,
 * so the engine reads and writes JSON itself, the way json.loads and
 * json.dumps(ensure_ascii=False) do: object order is kept, a repeated key
 * keeps its first position and its last value, strings are checked UTF-8.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

#define JSON_MAX_DEPTH 512

typedef struct jp {
    const char *s;
    size_t n, i;
    tpl_budget *bud;
    char *msg;
    size_t msgsz;
    int depth;
} jp;

static bool jfail(jp *p, const char *what)
{
    snprintf(p->msg, p->msgsz, "JSON: %s at byte %zu", what, p->i);
    return false;
}

static void skip_ws(jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static bool parse_string(jp *p, tv *out)
{
    sbuf b = {0};
    p->i++; /* opening quote */
    for (;;) {
        if (p->i >= p->n) {
            sb_free(&b);
            return jfail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            sb_free(&b);
            return jfail(p, "control character in string");
        }
        if (c == '\\') {
            if (p->i + 1 >= p->n) {
                sb_free(&b);
                return jfail(p, "unterminated string");
            }
            char e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
            case '"': sb_putc(&b, '"'); break;
            case '\\': sb_putc(&b, '\\'); break;
            case '/': sb_putc(&b, '/'); break;
            case 'b': sb_putc(&b, '\b'); break;
            case 'f': sb_putc(&b, '\f'); break;
            case 'n': sb_putc(&b, '\n'); break;
            case 'r': sb_putc(&b, '\r'); break;
            case 't': sb_putc(&b, '\t'); break;
            case 'u': {
                int u = p->i + 4 <= p->n ? hex4(p->s + p->i) : -1;
                if (u < 0) {
                    sb_free(&b);
                    return jfail(p, "bad \\u escape");
                }
                p->i += 4;
                uint32_t cp = (uint32_t)u;
                if (cp >= 0xD800 && cp < 0xDC00 && p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                    int lo = hex4(p->s + p->i + 2);
                    if (lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                        p->i += 6;
                    }
                }
                if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* lone surrogate: not encodable */
                utf8_put(&b, cp);
                break;
            }
            default:
                p->i -= 1;
                sb_free(&b);
                return jfail(p, "bad escape");
            }
            continue;
        }
        /* copy one UTF-8 character, checking it is well formed */
        size_t j = p->i;
        uint32_t cp = utf8_next(p->s, p->n, &j);
        if ((c >= 0x80 && j == p->i + 1) || (cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF ||
            (j - p->i == 2 && cp < 0x80) || (j - p->i == 3 && cp < 0x800) || (j - p->i == 4 && cp < 0x10000)) {
            sb_free(&b);
            return jfail(p, "invalid UTF-8");
        }
        sb_put(&b, p->s + p->i, j - p->i);
        p->i = j;
    }
    *out = sb_to_str(&b, p->bud);
    return true;
}

static bool parse_number(jp *p, tv *out)
{
    size_t st = p->i;
    bool is_float = false;
    if (p->s[p->i] == '-') p->i++;
    if (p->i < p->n && p->s[p->i] == 'I') { /* -Infinity */
        if (p->n - p->i >= 8 && !memcmp(p->s + p->i, "Infinity", 8)) {
            p->i += 8;
            *out = tv_float(-INFINITY);
            return true;
        }
        return jfail(p, "bad number");
    }
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return jfail(p, "bad number");
    if (p->s[p->i] == '0') p->i++;
    else
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    if (p->i < p->n && p->s[p->i] == '.') {
        is_float = true;
        p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return jfail(p, "bad number");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        is_float = true;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return jfail(p, "bad number");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    char tmp[64];
    size_t len = p->i - st;
    char *num = len < sizeof tmp ? tmp : sg_xmalloc(len + 1);
    memcpy(num, p->s + st, len);
    num[len] = 0;
    bool ok = true;
    if (is_float) {
        *out = tv_float(strtod(num, NULL));
    } else {
        char *end;
        long long v = strtoll(num, &end, 10);
        bool neg = num[0] == '-';
        if ((v == LLONG_MAX && !neg) || (v == LLONG_MIN && neg)) {
            /* strtoll saturates: check whether the text really is the limit */
            const char *lim = neg ? "-9223372036854775808" : "9223372036854775807";
            if (strcmp(num, lim)) ok = false;
        }
        if (ok) *out = tv_int(v);
    }
    if (num != tmp) free(num);
    if (!ok) {
        p->i = st;
        return jfail(p, "integer out of the 64-bit range");
    }
    return true;
}

static bool parse_value(jp *p, tv *out);

static bool parse_array(jp *p, tv *out)
{
    p->i++;
    tv l = tv_list(p->bud, 0);
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        *out = l;
        return true;
    }
    for (;;) {
        tv e;
        if (!parse_value(p, &e)) {
            tv_unref(l);
            return false;
        }
        tlist_push(TLIST(l), e);
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            *out = l;
            return true;
        }
        tv_unref(l);
        return jfail(p, "expected ',' or ']'");
    }
}

static bool parse_object(jp *p, tv *out)
{
    p->i++;
    tv d = tv_dict(p->bud, false);
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        *out = d;
        return true;
    }
    for (;;) {
        skip_ws(p);
        tv k, v;
        if (p->i >= p->n || p->s[p->i] != '"') {
            tv_unref(d);
            return jfail(p, "expected a string key");
        }
        if (!parse_string(p, &k)) {
            tv_unref(d);
            return false;
        }
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') {
            tv_unref(k);
            tv_unref(d);
            return jfail(p, "expected ':'");
        }
        p->i++;
        if (!parse_value(p, &v)) {
            tv_unref(k);
            tv_unref(d);
            return false;
        }
        tdict_set(TDICT(d), k, v);
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            *out = d;
            return true;
        }
        tv_unref(d);
        return jfail(p, "expected ',' or '}'");
    }
}

static bool word(jp *p, const char *w)
{
    size_t n = strlen(w);
    if (p->n - p->i >= n && !memcmp(p->s + p->i, w, n)) {
        p->i += n;
        return true;
    }
    return false;
}

static bool parse_value(jp *p, tv *out)
{
    skip_ws(p);
    if (p->i >= p->n) return jfail(p, "unexpected end of input");
    if (++p->depth > JSON_MAX_DEPTH) return jfail(p, "nested too deeply");
    bool ok;
    char c = p->s[p->i];
    if (c == '{') ok = parse_object(p, out);
    else if (c == '[') ok = parse_array(p, out);
    else if (c == '"') ok = parse_string(p, out);
    else if (c == '-' || (c >= '0' && c <= '9')) ok = parse_number(p, out);
    else if (word(p, "true")) *out = tv_bool(true), ok = true;
    else if (word(p, "false")) *out = tv_bool(false), ok = true;
    else if (word(p, "null")) *out = tv_none(), ok = true;
    else if (word(p, "NaN")) *out = tv_float(NAN), ok = true;
    else if (word(p, "Infinity")) *out = tv_float(INFINITY), ok = true;
    else ok = jfail(p, "unexpected character");
    p->depth--;
    return ok;
}

bool tpl_json_parse(const char *text, size_t n, tpl_budget *b, tv *out, char *msg, size_t msgsz)
{
    jp p = {text, n, 0, b, msg, msgsz, 0};
    if (!parse_value(&p, out)) return false;
    skip_ws(&p);
    if (p.i != p.n) {
        tv_unref(*out);
        return jfail(&p, "extra data after the value");
    }
    return true;
}

/* ------------------------------------------------------------ dumps */

static void dump_string(sbuf *b, const char *s, size_t n, bool ascii)
{
    sb_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        size_t st = i;
        uint32_t c = utf8_next(s, n, &i);
        switch (c) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        default:
            if (c < 0x20 || (ascii && c >= 0x7F)) {
                if (c >= 0x10000) {
                    uint32_t v = c - 0x10000;
                    sb_printf(b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
                } else {
                    sb_printf(b, "\\u%04x", c);
                }
            } else {
                sb_put(b, s + st, i - st);
            }
        }
    }
    sb_putc(b, '"');
}

static void dump_float(sbuf *b, double f)
{
    if (isnan(f)) sb_puts(b, "NaN");
    else if (isinf(f)) sb_puts(b, f < 0 ? "-Infinity" : "Infinity");
    else tpl_write_float(b, f);
}

static void newline_indent(sbuf *b, const tpl_json_opts *o, int level)
{
    sb_putc(b, '\n');
    for (int i = 0; i < level; i++) sb_puts(b, o->indent);
}

/* Index order of a dict's keys, sorted when sort_keys (by string value). */
static size_t *key_order(const tdict *d, bool sort)
{
    size_t *ix = sg_xmalloc((d->n ? d->n : 1) * sizeof *ix);
    for (size_t i = 0; i < d->n; i++) ix[i] = i;
    if (sort) /* insertion sort: stable, and dicts in prompts are small */
        for (size_t i = 1; i < d->n; i++) {
            size_t x = ix[i], j = i;
            bool lt = false;
            while (j > 0 && tv_lt(d->k[x], d->k[ix[j - 1]], &lt) == 0 && lt) {
                ix[j] = ix[j - 1];
                j--;
            }
            ix[j] = x;
        }
    return ix;
}

static bool dump(sbuf *b, tv v, const tpl_json_opts *o, int level, char *msg, size_t msgsz)
{
    if (level > JSON_MAX_DEPTH) {
        snprintf(msg, msgsz, "tojson: value nested too deeply");
        return false;
    }
    const char *isep = o->item_sep ? o->item_sep : o->indent ? "," : ", ";
    const char *ksep = o->key_sep ? o->key_sep : ": ";
    switch (v.t) {
    case TV_NONE: sb_puts(b, "null"); return true;
    case TV_BOOL: sb_puts(b, v.u.b ? "true" : "false"); return true;
    case TV_INT: sb_printf(b, "%lld", (long long)v.u.i); return true;
    case TV_FLOAT: dump_float(b, v.u.f); return true;
    case TV_STR: dump_string(b, TSTR(v)->s, TSTR(v)->len, o->ensure_ascii); return true;
    case TV_LIST: {
        tlist *l = TLIST(v);
        if (l->iter) break;
        if (l->n == 0) {
            sb_puts(b, "[]");
            return true;
        }
        sb_putc(b, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) sb_puts(b, isep);
            if (o->indent) newline_indent(b, o, level + 1);
            if (!dump(b, l->v[i], o, level + 1, msg, msgsz)) return false;
        }
        if (o->indent) newline_indent(b, o, level);
        sb_putc(b, ']');
        return true;
    }
    case TV_DICT: {
        tdict *d = TDICT(v);
        if (d->n == 0) {
            sb_puts(b, "{}");
            return true;
        }
        size_t *ix = key_order(d, o->sort_keys);
        sb_putc(b, '{');
        for (size_t j = 0; j < d->n; j++) {
            size_t i = ix[j];
            if (j) sb_puts(b, isep);
            if (o->indent) newline_indent(b, o, level + 1);
            tv k = d->k[i];
            if (k.t == TV_STR) dump_string(b, TSTR(k)->s, TSTR(k)->len, o->ensure_ascii);
            else if (k.t == TV_INT) sb_printf(b, "\"%lld\"", (long long)k.u.i);
            else if (k.t == TV_BOOL) sb_puts(b, k.u.b ? "\"true\"" : "\"false\"");
            else if (k.t == TV_NONE) sb_puts(b, "\"null\"");
            else if (k.t == TV_FLOAT) {
                sb_putc(b, '"');
                dump_float(b, k.u.f);
                sb_putc(b, '"');
            } else {
                free(ix);
                snprintf(msg, msgsz, "tojson: keys must be str, int, float, bool or None, not %s", tv_type_name(k));
                return false;
            }
            sb_puts(b, ksep);
            if (!dump(b, d->v[i], o, level + 1, msg, msgsz)) {
                free(ix);
                return false;
            }
        }
        free(ix);
        if (o->indent) newline_indent(b, o, level);
        sb_putc(b, '}');
        return true;
    }
    default: break;
    }
    snprintf(msg, msgsz, "Object of type %s is not JSON serializable", tv_type_name(v));
    return false;
}

bool tpl_json_dump(sbuf *b, tv v, const tpl_json_opts *o, char *msg, size_t msgsz)
{
    return dump(b, v, o, 0, msg, msgsz);
}
