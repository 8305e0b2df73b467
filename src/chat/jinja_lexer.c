/*
 * jinja_lexer.c -- template source to tokens, with Jinja2's whitespace rules.
 *
 * Outside tags everything is data. A tag opens with {{ (output), {% (block)
 * or {# (comment). Whitespace around tags follows Jinja2 as transformers
 * configures it, and the details matter for byte-identical prompts:
 *
 *   - newlines in the source are normalized to \n, and one trailing newline
 *     of the whole template is dropped (keep_trailing_newline=False);
 *   - {%- {{- {#- strip all whitespace (newlines too) before the tag;
 *     -%} -}} -#} strip all whitespace after it;
 *   - lstrip_blocks: spaces and tabs between the start of a line and a
 *     {% or {# tag are removed, unless the tag is written {%+;
 *   - trim_blocks: the first newline after %} or #} is removed, unless the
 *     tag is closed with +%};
 *   - inside a tag, }} and %} only close it when brackets are balanced, so
 *     {{ {'a': {'b': 1}} }} works;
 *   - {% raw %}...{% endraw %} is data.
 *
 * String literals are unescaped the way Python's "unicode-escape" codec
 * does (\n, \t, \xhh, \uXXXX, octal, unknown escapes kept as written).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

typedef struct lx {
    const char *s;
    size_t n, p;
    int line;
    bool line_starting; /* the previous match ended with a newline */
    tpl_toks *out;
    sg_error *err;
    char *bal;          /* expected closing brackets inside the current tag */
    size_t nbal, capbal;
} lx;

static sg_status lfail(lx *l, const char *fmt, ...) SG_PRINTF(2, 3);
static sg_status lfail(lx *l, const char *fmt, ...)
{
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return sg_fail(l->err, SG_ERR_FORMAT, "template line %d: %s", l->line, m);
}

static void emit(lx *l, tpl_tok_type t, const char *text, size_t len, int line)
{
    tpl_toks *o = l->out;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        tpl_tok *nv = realloc(o->v, o->cap * sizeof *nv);
        if (!nv) abort();
        o->v = nv;
    }
    tpl_tok *k = &o->v[o->n++];
    memset(k, 0, sizeof *k);
    k->type = t;
    k->line = line;
    if (text) {
        k->text = sg_xmalloc(len + 1);
        memcpy(k->text, text, len);
        k->text[len] = 0;
        k->len = len;
    }
}

static int count_nl(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++) c += s[i] == '\n';
    return c;
}

/* Length of the Python-whitespace character at s[i..n), 0 when none. */
static size_t space_at(const char *s, size_t n, size_t i)
{
    if (i >= n) return 0;
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) return py_isspace(c) ? 1 : 0;
    size_t j = i;
    uint32_t cp = utf8_next(s, n, &j);
    return py_isspace(cp) ? j - i : 0;
}

static size_t skip_spaces(lx *l, size_t p)
{
    size_t k;
    while ((k = space_at(l->s, l->n, p))) {
        if (l->s[p] == '\n') l->line++;
        p += k;
    }
    return p;
}

/* Length of text once trailing whitespace is stripped (str.rstrip()). */
static size_t rstrip_len(const char *t, size_t n)
{
    size_t i = 0, keep = 0;
    while (i < n) {
        size_t k = space_at(t, n, i);
        if (k) {
            i += k;
        } else {
            utf8_next(t, n, &i);
            keep = i;
        }
    }
    return keep;
}

/* Data before a tag, with the tag's whitespace control applied. */
static void emit_data(lx *l, const char *t, size_t n, char mod, bool lstrip_ok)
{
    int line = l->line;
    l->line += count_nl(t, n);
    size_t keep = n;
    if (mod == '-') {
        keep = rstrip_len(t, n);
    } else if (mod != '+' && lstrip_ok) {
        size_t lpos = n;
        while (lpos > 0 && t[lpos - 1] != '\n') lpos--;
        if ((lpos > 0 || l->line_starting) && lpos < n) {
            size_t i = lpos, k;
            while ((k = space_at(t, n, i))) i += k;
            if (i == n) keep = lpos;
        }
    }
    if (keep) emit(l, TK_DATA, t, keep, line);
}

/* Unescape a string literal body like Python's unicode-escape codec. */
static sg_status unescape(lx *l, const char *s, size_t n, sbuf *b)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            sb_putc(b, s[i]);
            continue;
        }
        char e = s[++i];
        switch (e) {
        case '\n': break; /* line continuation */
        case '\\': sb_putc(b, '\\'); break;
        case '\'': sb_putc(b, '\''); break;
        case '"': sb_putc(b, '"'); break;
        case 'a': sb_putc(b, '\a'); break;
        case 'b': sb_putc(b, '\b'); break;
        case 'f': sb_putc(b, '\f'); break;
        case 'n': sb_putc(b, '\n'); break;
        case 'r': sb_putc(b, '\r'); break;
        case 't': sb_putc(b, '\t'); break;
        case 'v': sb_putc(b, '\v'); break;
        case 'x':
        case 'u':
        case 'U': {
            int need = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < need; k++) {
                char c = i + 1 + (size_t)k < n ? s[i + 1 + (size_t)k] : 0;
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) return lfail(l, "truncated \\%c escape in a string", e);
                cp = cp * 16 + (uint32_t)d;
            }
            if (cp > 0x10FFFF) return lfail(l, "%s", "illegal Unicode character in a string");
            if (cp >= 0xD800 && cp < 0xE000) return lfail(l, "%s", "surrogate code point in a string is not supported");
            utf8_put(b, cp);
            i += (size_t)need;
            break;
        }
        case 'N': return lfail(l, "%s", "\\N{...} escapes are not supported");
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = (uint32_t)(e - '0');
                for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++) cp = cp * 8 + (uint32_t)(s[++i] - '0');
                utf8_put(b, cp);
            } else {
                sb_putc(b, '\\');
                sb_putc(b, e);
            }
        }
    }
    return SG_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/* Digits with single '_' separators ("1_000"); returns the end or st. */
static size_t digits(const char *s, size_t n, size_t st)
{
    size_t p = st;
    if (p >= n || !is_digit(s[p])) return st;
    while (p < n && is_digit(s[p])) {
        p++;
        if (p + 1 < n && s[p] == '_' && is_digit(s[p + 1])) p++;
    }
    return p;
}

/* A number at l->p: float when it has a fraction or exponent. */
static sg_status lex_number(lx *l)
{
    const char *s = l->s;
    size_t st = l->p, p = digits(s, l->n, st), q;
    bool is_float = false;
    if (st == 0 || s[st - 1] != '.') {
        q = p;
        if (q < l->n && s[q] == '.' && digits(s, l->n, q + 1) > q + 1) {
            q = digits(s, l->n, q + 1);
            is_float = true;
        }
        if (q < l->n && (s[q] == 'e' || s[q] == 'E')) {
            size_t r = q + 1;
            if (r < l->n && (s[r] == '+' || s[r] == '-')) r++;
            size_t r2 = digits(s, l->n, r);
            if (r2 > r) {
                q = r2;
                is_float = true;
            }
        }
        if (is_float) p = q;
    }
    char buf[128];
    size_t k = 0;
    for (size_t i = st; i < p && k + 1 < sizeof buf; i++)
        if (s[i] != '_') buf[k++] = s[i];
    buf[k] = 0;
    if (p - st >= sizeof buf) return lfail(l, "%s", "number literal too long");
    if (is_float) {
        emit(l, TK_FLOAT, s + st, p - st, l->line);
        l->out->v[l->out->n - 1].fval = strtod(buf, NULL);
    } else {
        int base = 10;
        const char *dg = buf;
        if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X' || buf[1] == 'o' || buf[1] == 'O' || buf[1] == 'b' || buf[1] == 'B')) {
            /* 0x / 0o / 0b literals */
            base = buf[1] == 'x' || buf[1] == 'X' ? 16 : buf[1] == 'o' || buf[1] == 'O' ? 8 : 2;
            size_t e = 2;
            while (s[st + e] && (is_digit(s[st + e]) || (s[st + e] >= 'a' && s[st + e] <= 'f') ||
                                 (s[st + e] >= 'A' && s[st + e] <= 'F') || s[st + e] == '_'))
                e++;
            p = st + e;
            k = 0;
            for (size_t i = st + 2; i < p && k + 1 < sizeof buf; i++)
                if (s[i] != '_') buf[k++] = s[i];
            buf[k] = 0;
            dg = buf;
        } else if (buf[0] == '0' && buf[1]) {
            /* Python rejects 007; Jinja lexes "0" then "07" */
            p = st + 1;
            buf[1] = 0;
        }
        char *end;
        unsigned long long v = strtoull(dg, &end, base);
        if (!*dg || *end || v > INT64_MAX) return lfail(l, "%s", "integer literal out of range or malformed");
        emit(l, TK_INT, s + st, p - st, l->line);
        l->out->v[l->out->n - 1].ival = (int64_t)v;
    }
    l->p = p;
    return SG_OK;
}

static const char *const OPS[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]",
                                  "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";", NULL};

static void bal_push(lx *l, char c)
{
    if (l->nbal == l->capbal) {
        l->capbal = l->capbal ? l->capbal * 2 : 16;
        char *nb = realloc(l->bal, l->capbal);
        if (!nb) abort();
        l->bal = nb;
    }
    l->bal[l->nbal++] = c;
}

/* Tokens inside {{ }} or {% %} up to the closing delimiter. */
static sg_status lex_tag(lx *l, bool block)
{
    const char *s = l->s;
    l->nbal = 0;
    for (;;) {
        size_t p = l->p;
        if (p >= l->n) return lfail(l, "%s", block ? "unexpected end of template: missing %}" : "unexpected end of template: missing }}");
        if (l->nbal == 0) {
            size_t e = 0;
            bool strip = false, trim = false;
            if (block) {
                if (!strncmp(s + p, "+%}", 3)) e = 3;
                else if (!strncmp(s + p, "-%}", 3)) e = 3, strip = true;
                else if (!strncmp(s + p, "%}", 2)) e = 2, trim = true;
            } else {
                if (!strncmp(s + p, "-}}", 3)) e = 3, strip = true;
                else if (!strncmp(s + p, "}}", 2)) e = 2;
            }
            if (e) {
                emit(l, block ? TK_BLOCK_END : TK_VAR_END, NULL, 0, l->line);
                p += e;
                if (strip) p = skip_spaces(l, p);
                if (trim && p < l->n && s[p] == '\n') {
                    p++;
                    l->line++;
                }
                l->p = p;
                l->line_starting = s[p - 1] == '\n';
                return SG_OK;
            }
        }
        size_t sp = space_at(s, l->n, p);
        if (sp) {
            l->p = skip_spaces(l, p);
            continue;
        }
        char c = s[p];
        if (is_digit(c)) {
            sg_status st = lex_number(l);
            if (st) return st;
            continue;
        }
        if (is_name0(c)) {
            size_t q = p;
            while (q < l->n && (is_name0(s[q]) || is_digit(s[q]))) q++;
            emit(l, TK_NAME, s + p, q - p, l->line);
            l->p = q;
            continue;
        }
        if (c == '\'' || c == '"') {
            size_t q = p + 1;
            while (q < l->n && s[q] != c) q += s[q] == '\\' && q + 1 < l->n ? 2 : 1;
            if (q >= l->n) return lfail(l, "%s", "unterminated string literal");
            sbuf b = {0};
            sg_status st = unescape(l, s + p + 1, q - p - 1, &b);
            if (st) {
                sb_free(&b);
                return st;
            }
            emit(l, TK_STRING, b.p ? b.p : "", b.n, l->line);
            sb_free(&b);
            l->line += count_nl(s + p, q - p);
            l->p = q + 1;
            continue;
        }
        int k;
        for (k = 0; OPS[k]; k++)
            if (!strncmp(s + p, OPS[k], strlen(OPS[k]))) break;
        if (!OPS[k]) {
            char ch[8];
            size_t j = p;
            utf8_next(s, l->n, &j);
            snprintf(ch, sizeof ch, "%.*s", (int)(j - p), s + p);
            return lfail(l, "unexpected character '%s'", ch);
        }
        const char *op = OPS[k];
        if (op[0] == '(' || op[0] == '[' || op[0] == '{') bal_push(l, op[0] == '(' ? ')' : op[0] == '[' ? ']' : '}');
        else if (op[0] == ')' || op[0] == ']' || op[0] == '}') {
            if (!l->nbal) return lfail(l, "unexpected '%s'", op);
            if (l->bal[--l->nbal] != op[0]) {
                char m[32];
                snprintf(m, sizeof m, "'%s', expected '%c'", op, l->bal[l->nbal]);
                return lfail(l, "unexpected %s", m);
            }
        }
        emit(l, TK_OP, op, strlen(op), l->line);
        l->p = p + strlen(op);
    }
}

/* {% raw %}: find {% endraw %}, emit the text between as data. */
static sg_status lex_raw(lx *l)
{
    const char *s = l->s;
    for (size_t q = l->p; q + 1 < l->n; q++) {
        if (s[q] != '{' || s[q + 1] != '%') continue;
        size_t r = q + 2;
        char mod = 0;
        if (r < l->n && (s[r] == '-' || s[r] == '+')) mod = s[r++];
        while (space_at(s, l->n, r)) r += space_at(s, l->n, r);
        if (strncmp(s + r, "endraw", 6)) continue;
        r += 6;
        while (space_at(s, l->n, r)) r += space_at(s, l->n, r);
        size_t e = 0;
        bool strip = false, trim = false;
        if (!strncmp(s + r, "+%}", 3)) e = 3;
        else if (!strncmp(s + r, "-%}", 3)) e = 3, strip = true;
        else if (!strncmp(s + r, "%}", 2)) e = 2, trim = true;
        if (!e) continue;
        emit_data(l, s + l->p, q - l->p, mod, true);
        l->line += count_nl(s + q, r + e - q);
        r += e;
        if (strip) r = skip_spaces(l, r);
        if (trim && r < l->n && s[r] == '\n') {
            r++;
            l->line++;
        }
        l->p = r;
        l->line_starting = s[r - 1] == '\n';
        return SG_OK;
    }
    return lfail(l, "%s", "missing end of raw directive");
}

/* At a {% tag: is it "{% raw %}"? Returns the end of the opening tag or 0. */
static size_t raw_begin(lx *l, size_t p)
{
    const char *s = l->s;
    size_t r = p + 2;
    if (r < l->n && (s[r] == '-' || s[r] == '+')) r++;
    while (space_at(s, l->n, r)) r += space_at(s, l->n, r);
    if (strncmp(s + r, "raw", 3)) return 0;
    r += 3;
    while (space_at(s, l->n, r)) r += space_at(s, l->n, r);
    if (!strncmp(s + r, "-%}", 3)) {
        r += 3;
        while (space_at(s, l->n, r)) r += space_at(s, l->n, r);
        return r;
    }
    if (!strncmp(s + r, "%}", 2)) return r + 2;
    return 0;
}

sg_status tpl_lex(const char *src, size_t n, tpl_toks *out, sg_error *err)
{
    /* newlines -> \n; drop one trailing newline */
    char *s = sg_xmalloc(n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\r') {
            s[m++] = '\n';
            if (i + 1 < n && src[i + 1] == '\n') i++;
        } else {
            s[m++] = src[i];
        }
    }
    if (m && s[m - 1] == '\n') m--;
    s[m] = 0;
    memset(out, 0, sizeof *out);
    lx l = {.s = s, .n = m, .line = 1, .line_starting = true, .out = out, .err = err};
    sg_status st = SG_OK;
    while (l.p < m) {
        size_t q = l.p;
        while (q + 1 < m && !(s[q] == '{' && (s[q + 1] == '{' || s[q + 1] == '%' || s[q + 1] == '#'))) q++;
        if (q + 1 >= m) {
            emit_data(&l, s + l.p, m - l.p, 0, false);
            break;
        }
        char kind = s[q + 1];
        char mod = q + 2 < m && (s[q + 2] == '-' || s[q + 2] == '+') ? s[q + 2] : 0;
        size_t rawend = kind == '%' ? raw_begin(&l, q) : 0;
        emit_data(&l, s + l.p, q - l.p, mod, kind != '{');
        if (rawend) {
            l.line += count_nl(s + q, rawend - q);
            l.p = rawend;
            l.line_starting = s[rawend - 1] == '\n';
            if ((st = lex_raw(&l))) break;
            continue;
        }
        size_t body = q + 2 + (mod ? 1 : 0);
        if (kind == '#') {
            const char *e = NULL;
            for (size_t k = body; k + 1 < m; k++)
                if (s[k] == '#' && s[k + 1] == '}') {
                    e = s + k;
                    break;
                }
            if (!e) {
                st = lfail(&l, "%s", "missing end of comment tag");
                break;
            }
            size_t ep = (size_t)(e - s), after = ep + 2;
            l.line += count_nl(s + q, ep - q);
            char emod = ep > body ? s[ep - 1] : 0;
            if (emod == '-') after = skip_spaces(&l, after);
            else if (emod != '+' && after < m && s[after] == '\n') {
                after++;
                l.line++;
            }
            l.p = after;
            l.line_starting = s[after - 1] == '\n';
            continue;
        }
        emit(&l, kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, NULL, 0, l.line);
        l.p = body;
        l.line_starting = false;
        if ((st = lex_tag(&l, kind == '%'))) break;
    }
    if (st == SG_OK) emit(&l, TK_EOF, NULL, 0, l.line);
    free(l.bal);
    free(s);
    if (st) tpl_toks_free(out);
    return st;
}

void tpl_toks_free(tpl_toks *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].text);
    free(t->v);
    memset(t, 0, sizeof *t);
}
