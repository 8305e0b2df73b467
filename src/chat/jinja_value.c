/*
 * jinja_value.c -- the template engine's value model.
 *
 * Templates are written against Python objects, so the values here follow
 * Python: int and float compare equal across types, bool is a number, a
 * tuple never equals a list, dicts keep insertion order, str() of a list is
 * its repr() with quoted strings, and so on. Floats print as Python's
 * repr() does (the shortest text that reads back to the same double).
 *
 * Heap values (strings, lists, dicts, namespaces, loop objects, macros,
 * bound methods) are refcounted. Freeing is iterative (a worklist), so a
 * value nested a million levels deep cannot overflow the C stack. Each
 * object charges its size to the render's tpl_budget.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

/* Deepest nesting str()/repr()/== walk before giving up (Python's own
 * recursion limit is about the same). */
#define TV_MAX_NEST 1000

/* ------------------------------------------------------------ objects */

static void charge(tobj *o, size_t n)
{
    if (!o->bud) return;
    o->bud->used += n;
    o->charged += n;
    if (o->bud->limit && o->bud->used > o->bud->limit) o->bud->over = true;
}

static void *obj_new(tpl_budget *b, size_t size)
{
    tobj *o = sg_xcalloc(1, size);
    o->rc = 1;
    o->bud = b;
    charge(o, size);
    return o;
}

/* Reference counts are atomic: a compiled template is shared by every thread
 * that renders it (the server's handler threads), and rendering takes and
 * drops references to the template's constant values. Only the thread that
 * drops a count to zero touches the object afterwards. */
static inline void rc_inc(tobj *o)
{
    __atomic_fetch_add(&o->rc, 1, __ATOMIC_RELAXED);
}

static inline int64_t rc_dec(tobj *o)
{
    return __atomic_sub_fetch(&o->rc, 1, __ATOMIC_ACQ_REL);
}

tv tv_ref(tv v)
{
    if (tv_is_obj(v)) rc_inc(v.u.o);
    return v;
}

/* Drop one reference of v; objects that reach zero go on the worklist. */
static void drop(tv v, tobj ***work, size_t *n, size_t *cap)
{
    if (!tv_is_obj(v)) return;
    if (rc_dec(v.u.o) > 0) return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        tobj **w = realloc(*work, *cap * sizeof **work);
        if (!w) abort();
        *work = w;
    }
    (*work)[(*n)++] = v.u.o;
    /* remember the type: stash it in rc (now 0) as a negative tag */
    v.u.o->rc = -(int64_t)v.t;
}

void tv_unref(tv v)
{
    if (!tv_is_obj(v) || rc_dec(v.u.o) > 0) return;
    tobj **work = NULL;
    size_t n = 0, cap = 0;
    v.u.o->rc = 1; /* re-dropped below through the common path */
    drop(v, &work, &n, &cap);
    while (n) {
        tobj *o = work[--n];
        tv_type t = (tv_type)(-o->rc);
        if (t == TV_LIST) {
            tlist *l = (tlist *)o;
            for (size_t i = 0; i < l->n; i++) drop(l->v[i], &work, &n, &cap);
            free(l->v);
        } else if (t == TV_DICT || t == TV_NS) {
            tdict *d = (tdict *)o;
            for (size_t i = 0; i < d->n; i++) {
                drop(d->k[i], &work, &n, &cap);
                drop(d->v[i], &work, &n, &cap);
            }
            free(d->k);
            free(d->v);
        } else if (t == TV_LOOP) {
            tloop *lp = (tloop *)o;
            if (lp->items) drop((tv){TV_LIST, {.o = &lp->items->h}}, &work, &n, &cap);
        } else if (t == TV_METHOD) {
            drop(((tmethod *)o)->self, &work, &n, &cap);
        }
        if (o->bud) o->bud->used -= o->charged;
        free(o);
    }
    free(work);
}

tv tv_str(tpl_budget *b, const char *s, size_t n)
{
    tstr *x = obj_new(b, sizeof(tstr) + n + 1);
    x->len = n;
    if (n && s) memcpy(x->s, s, n); /* s == NULL: the caller fills it */
    x->s[n] = 0;
    tv v = {TV_STR, {.o = &x->h}};
    return v;
}

tv tv_cstr(tpl_budget *b, const char *s)
{
    return tv_str(b, s, strlen(s));
}

tv tv_list(tpl_budget *b, size_t cap)
{
    tlist *l = obj_new(b, sizeof *l);
    if (cap) {
        l->v = sg_xmalloc(cap * sizeof *l->v);
        l->cap = cap;
        charge(&l->h, cap * sizeof *l->v);
    }
    tv v = {TV_LIST, {.o = &l->h}};
    return v;
}

void tlist_push(tlist *l, tv v)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        tv *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) abort();
        charge(&l->h, (nc - l->cap) * sizeof *nv);
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
}

tv tv_dict(tpl_budget *b, bool ns)
{
    tdict *d = obj_new(b, sizeof *d);
    tv v = {ns ? TV_NS : TV_DICT, {.o = &d->h}};
    return v;
}

tv *tdict_get(const tdict *d, tv k)
{
    for (size_t i = 0; i < d->n; i++)
        if (tv_eq(d->k[i], k)) return &d->v[i];
    return NULL;
}

tv *tdict_get_str(const tdict *d, const char *k)
{
    size_t n = strlen(k);
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == TV_STR && TSTR(d->k[i])->len == n && !memcmp(TSTR(d->k[i])->s, k, n)) return &d->v[i];
    return NULL;
}

void tdict_set(tdict *d, tv k, tv v)
{
    tv *old = tdict_get(d, k);
    if (old) { /* Python keeps the first key object and position */
        tv_unref(*old);
        *old = v;
        tv_unref(k);
        return;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 4;
        tv *nk = realloc(d->k, nc * sizeof *nk);
        if (!nk) abort();
        d->k = nk;
        tv *nv = realloc(d->v, nc * sizeof *nv);
        if (!nv) abort();
        d->v = nv;
        charge(&d->h, 2 * (nc - d->cap) * sizeof *nv);
        d->cap = nc;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
}

tv tv_loop(tpl_budget *b, tlist *items, int depth)
{
    tloop *l = obj_new(b, sizeof *l);
    l->items = items;
    rc_inc(&items->h);
    l->n = (int64_t)items->n;
    l->depth = depth;
    tv v = {TV_LOOP, {.o = &l->h}};
    return v;
}

tv tv_macro(tpl_budget *b, const tpl_node *node, uint64_t frame)
{
    tmacro *m = obj_new(b, sizeof *m);
    m->node = node;
    m->frame = frame;
    tv v = {TV_MACRO, {.o = &m->h}};
    return v;
}

tv tv_method(tpl_budget *b, tv self, int id)
{
    tmethod *m = obj_new(b, sizeof *m);
    m->self = self;
    m->id = id;
    tv v = {TV_METHOD, {.o = &m->h}};
    return v;
}

/* ------------------------------------------------------------ semantics */

bool tv_is_number(tv v)
{
    return v.t == TV_INT || v.t == TV_FLOAT || v.t == TV_BOOL;
}

double tv_num(tv v)
{
    return v.t == TV_FLOAT ? v.u.f : v.t == TV_INT ? (double)v.u.i : v.t == TV_BOOL ? (double)v.u.b : 0.0;
}

bool tv_truthy(tv v)
{
    switch (v.t) {
    case TV_UNDEF:
    case TV_NONE: return false;
    case TV_BOOL: return v.u.b;
    case TV_INT: return v.u.i != 0;
    case TV_FLOAT: return v.u.f != 0.0;
    case TV_STR: return TSTR(v)->len != 0;
    case TV_LIST: return TLIST(v)->iter || TLIST(v)->n != 0;
    case TV_DICT: return TDICT(v)->n != 0;
    default: return true;
    }
}

const char *tv_type_name(tv v)
{
    switch (v.t) {
    case TV_UNDEF: return "Undefined";
    case TV_NONE: return "NoneType";
    case TV_BOOL: return "bool";
    case TV_INT: return "int";
    case TV_FLOAT: return "float";
    case TV_STR: return "str";
    case TV_LIST: return TLIST(v)->iter ? "generator" : TLIST(v)->tuple ? "tuple" : "list";
    case TV_DICT: return "dict";
    case TV_NS: return "Namespace";
    case TV_LOOP: return "LoopContext";
    case TV_FUNC: return "function";
    case TV_MACRO: return "Macro";
    case TV_METHOD: return "builtin_function_or_method";
    }
    return "object";
}

static bool num_eq(tv a, tv b)
{
    if (a.t != TV_FLOAT && b.t != TV_FLOAT) {
        int64_t x = a.t == TV_BOOL ? a.u.b : a.u.i, y = b.t == TV_BOOL ? b.u.b : b.u.i;
        return x == y;
    }
    return tv_num(a) == tv_num(b);
}

static bool eq_depth(tv a, tv b, int depth)
{
    if (tv_is_number(a) && tv_is_number(b)) return num_eq(a, b);
    if (a.t != b.t || depth > TV_MAX_NEST) return false;
    switch (a.t) {
    case TV_UNDEF:
    case TV_NONE: return true;
    case TV_STR: return TSTR(a)->len == TSTR(b)->len && !memcmp(TSTR(a)->s, TSTR(b)->s, TSTR(a)->len);
    case TV_LIST: {
        tlist *x = TLIST(a), *y = TLIST(b);
        if (x == y) return true;
        if (x->iter || y->iter || x->tuple != y->tuple || x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++)
            if (!eq_depth(x->v[i], y->v[i], depth + 1)) return false;
        return true;
    }
    case TV_DICT: {
        tdict *x = TDICT(a), *y = TDICT(b);
        if (x == y) return true;
        if (x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++) {
            tv *o = tdict_get(y, x->k[i]);
            if (!o || !eq_depth(x->v[i], *o, depth + 1)) return false;
        }
        return true;
    }
    case TV_FUNC: return a.u.fn == b.u.fn;
    default: return a.u.o == b.u.o;
    }
}

bool tv_eq(tv a, tv b)
{
    return eq_depth(a, b, 0);
}

bool tv_hashable(tv v)
{
    if (v.t == TV_DICT) return false;
    if (v.t == TV_LIST) {
        tlist *l = TLIST(v);
        if (!l->tuple) return l->iter;
        for (size_t i = 0; i < l->n; i++)
            if (!tv_hashable(l->v[i])) return false;
    }
    return true;
}

int tv_lt(tv a, tv b, bool *lt)
{
    if (tv_is_number(a) && tv_is_number(b)) {
        if (a.t != TV_FLOAT && b.t != TV_FLOAT) {
            int64_t x = a.t == TV_BOOL ? a.u.b : a.u.i, y = b.t == TV_BOOL ? b.u.b : b.u.i;
            *lt = x < y;
        } else {
            *lt = tv_num(a) < tv_num(b);
        }
        return 0;
    }
    if (a.t == TV_STR && b.t == TV_STR) {
        /* UTF-8 byte order is code point order */
        size_t n = TSTR(a)->len < TSTR(b)->len ? TSTR(a)->len : TSTR(b)->len;
        int c = memcmp(TSTR(a)->s, TSTR(b)->s, n);
        *lt = c < 0 || (c == 0 && TSTR(a)->len < TSTR(b)->len);
        return 0;
    }
    if (a.t == TV_LIST && b.t == TV_LIST && !TLIST(a)->iter && !TLIST(b)->iter &&
        TLIST(a)->tuple == TLIST(b)->tuple) {
        tlist *x = TLIST(a), *y = TLIST(b);
        for (size_t i = 0; i < x->n && i < y->n; i++) {
            if (tv_eq(x->v[i], y->v[i])) continue;
            return tv_lt(x->v[i], y->v[i], lt);
        }
        *lt = x->n < y->n;
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ sbuf */

void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->n + n + 1) nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) abort();
        b->p = p;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

void sb_putc(sbuf *b, char c)
{
    sb_put(b, &c, 1);
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = sg_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

tv sb_to_str(sbuf *b, tpl_budget *bud)
{
    tv v = tv_str(bud, b->p ? b->p : "", b->n);
    sb_free(b);
    return v;
}

/* ------------------------------------------------------------ UTF-8 */

uint32_t utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i;
    uint32_t c = p[0];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || (size_t)len > left) {
        *i += 1;
        return c;
    }
    for (int k = 1; k < len; k++)
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return c;
        }
    if (len == 2) c = ((c & 0x1F) << 6) | (p[1] & 0x3F);
    else if (len == 3) c = ((c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    else if (len == 4) c = ((c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    *i += (size_t)len;
    return c;
}

void utf8_put(sbuf *b, uint32_t cp)
{
    char t[4];
    if (cp < 0x80) {
        t[0] = (char)cp;
        sb_put(b, t, 1);
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, t, 4);
    }
}

/* Characters as utf8_next walks them (a stray byte counts as one). */
size_t utf8_count(const char *s, size_t n)
{
    size_t c = 0, i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) i++;
        else utf8_next(s, n, &i);
        c++;
    }
    return c;
}

/* Python's str.isspace(): ASCII whitespace, the information separators
 * 0x1c-0x1f, and the Unicode space characters. */
bool py_isspace(uint32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* Python's str.isprintable(), closely enough for repr(): control and
 * format characters, separators other than ' ', private use. */
static bool py_isprintable(uint32_t c)
{
    if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
    if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF) return false;
    if ((c >= 0xD800 && c <= 0xF8FF) || (c >= 0xFFF9 && c <= 0xFFFB) || c == 0xFFFE || c == 0xFFFF) return false;
    if (c >= 0xF0000) return false;
    return true;
}

/* ------------------------------------------------------------ printing */

void tpl_html_escape(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&#34;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_putc(b, s[i]);
        }
    }
}

void tpl_write_float(sbuf *b, double f)
{
    if (isnan(f)) {
        sb_puts(b, "nan");
        return;
    }
    if (isinf(f)) {
        sb_puts(b, f < 0 ? "-inf" : "inf");
        return;
    }
    /* shortest %.*e that reads back exactly */
    char t[40];
    for (int p = 0; p < 17; p++) {
        snprintf(t, sizeof t, "%.*e", p, f);
        if (strtod(t, NULL) == f) break;
    }
    char digits[24];
    int nd = 0;
    const char *q = t;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    if (neg) sb_putc(b, '-');
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++) sb_putc(b, i < nd ? digits[i] : '0');
            sb_putc(b, '.');
            if (nd > exp + 1) sb_put(b, digits + exp + 1, (size_t)(nd - exp - 1));
            else sb_putc(b, '0');
        } else {
            sb_puts(b, "0.");
            for (int i = 0; i < -exp - 1; i++) sb_putc(b, '0');
            sb_put(b, digits, (size_t)nd);
        }
        return;
    }
    sb_putc(b, digits[0]);
    if (nd > 1) {
        sb_putc(b, '.');
        sb_put(b, digits + 1, (size_t)(nd - 1));
    }
    sb_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void write_str_repr(sbuf *b, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char quote = has_sq && !has_dq ? '"' : '\'';
    sb_putc(b, quote);
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        uint32_t c = utf8_next(s, n, &i);
        if (c == (uint32_t)quote || c == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)c);
        } else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c == '\t') sb_puts(b, "\\t");
        else if (!py_isprintable(c)) {
            if (c < 0x100) sb_printf(b, "\\x%02x", c);
            else if (c < 0x10000) sb_printf(b, "\\u%04x", c);
            else sb_printf(b, "\\U%08x", c);
        } else sb_put(b, s + start, i - start);
    }
    sb_putc(b, quote);
}

static bool write_val(sbuf *b, tv v, bool repr, int depth)
{
    if (depth > TV_MAX_NEST) return false;
    switch (v.t) {
    case TV_UNDEF:
        if (repr) sb_puts(b, "Undefined");
        return true;
    case TV_NONE: sb_puts(b, "None"); return true;
    case TV_BOOL: sb_puts(b, v.u.b ? "True" : "False"); return true;
    case TV_INT: sb_printf(b, "%lld", (long long)v.u.i); return true;
    case TV_FLOAT: tpl_write_float(b, v.u.f); return true;
    case TV_STR:
        if (repr) write_str_repr(b, TSTR(v)->s, TSTR(v)->len);
        else sb_put(b, TSTR(v)->s, TSTR(v)->len);
        return true;
    case TV_LIST: {
        tlist *l = TLIST(v);
        if (l->iter) return false;
        sb_putc(b, l->tuple ? '(' : '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) sb_puts(b, ", ");
            if (!write_val(b, l->v[i], true, depth + 1)) return false;
        }
        if (l->tuple && l->n == 1) sb_putc(b, ',');
        sb_putc(b, l->tuple ? ')' : ']');
        return true;
    }
    case TV_NS:
        sb_puts(b, "<Namespace ");
        /* fall through */
    case TV_DICT: {
        tdict *d = TDICT(v);
        sb_putc(b, '{');
        for (size_t i = 0; i < d->n; i++) {
            if (i) sb_puts(b, ", ");
            if (!write_val(b, d->k[i], true, depth + 1)) return false;
            sb_puts(b, ": ");
            if (!write_val(b, d->v[i], true, depth + 1)) return false;
        }
        sb_putc(b, '}');
        if (v.t == TV_NS) sb_putc(b, '>');
        return true;
    }
    case TV_LOOP: sb_printf(b, "<LoopContext %lld/%lld>", (long long)TLOOP(v)->i + 1, (long long)TLOOP(v)->n); return true;
    default: return false;
    }
}

bool tv_write_str(sbuf *b, tv v)
{
    return write_val(b, v, false, 0);
}

bool tv_write_repr(sbuf *b, tv v)
{
    return write_val(b, v, true, 0);
}
