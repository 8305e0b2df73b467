/*
 * jinja_filters.c -- filters, tests, methods and global functions.
 *
 * Each behaves like its Jinja2 3.1 (filters, tests, globals) or Python 3
 * (str/dict/list methods) original, including the odd corners templates
 * trip on: `items`, `map`, `select*`, `reject*` and `unique` return one-shot
 * iterators (always true, no length), `trim`/`strip` strip Unicode
 * whitespace, `round` rounds half to even, `title` splits words on
 * "-", whitespace and brackets, `tojson` is transformers' json.dumps
 * (ensure_ascii=False, no HTML escaping, key order kept). The sandbox
 * transformers uses makes mutating methods (list.append, dict.update...)
 * unsafe: they resolve to an undefined that fails when called.
 *
 * Every name is resolved to an id once, when the template is compiled.
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wctype.h>

#include "chat/jinja.h"

/* ------------------------------------------------------------ helpers */

static int bad_arg(tpl_rt *rt, const char *fn, const char *what)
{
    return tpl_fail(rt, SG_ERR_INVALID, "%s(): %s", fn, what);
}

static bool is_int(const tv *v) { return v && (v->t == TV_INT || v->t == TV_BOOL); }
static int64_t as_int(const tv *v) { return v->t == TV_BOOL ? v->u.b : v->u.i; }

/* Optional int argument; returns -1 (after failing) when not an int. */
static int opt_int(tpl_rt *rt, const tv *v, int64_t def, int64_t *out, const char *fn)
{
    if (!v || v->t == TV_NONE) {
        *out = def;
        return 0;
    }
    if (!is_int(v)) return bad_arg(rt, fn, "expected an integer argument");
    *out = as_int(v);
    return 0;
}

static bool opt_bool(const tv *v, bool def)
{
    return v ? tv_truthy(*v) : def;
}

/* Unicode case mapping through a C.UTF-8 locale object (the process
 * locale is left alone); ASCII when the locale is missing. */
static locale_t case_locale;
static pthread_once_t case_once = PTHREAD_ONCE_INIT;
static void case_init(void)
{
    case_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t cp_upper(uint32_t c)
{
    if (c < 0x80) return (uint32_t)toupper((int)c);
    pthread_once(&case_once, case_init);
    return case_locale ? (uint32_t)towupper_l((wint_t)c, case_locale) : c;
}

static uint32_t cp_lower(uint32_t c)
{
    if (c < 0x80) return (uint32_t)tolower((int)c);
    pthread_once(&case_once, case_init);
    return case_locale ? (uint32_t)towlower_l((wint_t)c, case_locale) : c;
}

static bool cp_isalpha(uint32_t c)
{
    if (c < 0x80) return isalpha((int)c);
    pthread_once(&case_once, case_init);
    return case_locale ? iswalpha_l((wint_t)c, case_locale) : false;
}

static bool cp_isupper(uint32_t c) { return cp_lower(c) != c; }
static bool cp_islower(uint32_t c) { return cp_upper(c) != c; }

enum { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_PYTITLE };

/* str.upper/lower/capitalize/title (Python's title: a letter after a
 * non-letter starts a word). */
static tv change_case(tpl_rt *rt, const tstr *s, int mode)
{
    sbuf b = {0};
    size_t i = 0;
    bool first = true, prev_alpha = false;
    while (i < s->len) {
        uint32_t c = utf8_next(s->s, s->len, &i);
        switch (mode) {
        case CASE_UPPER: c = cp_upper(c); break;
        case CASE_LOWER: c = cp_lower(c); break;
        case CASE_CAPITALIZE: c = first ? cp_upper(c) : cp_lower(c); break;
        case CASE_PYTITLE: {
            bool alpha = cp_isalpha(c);
            c = prev_alpha ? cp_lower(c) : cp_upper(c);
            prev_alpha = alpha;
            break;
        }
        }
        first = false;
        utf8_put(&b, c);
    }
    return sb_to_str(&b, &rt->bud);
}

/* Jinja's title filter: words start after runs of "-", whitespace, "(",
 * "{", "[", "<"; each piece gets its first char upper, the rest lower. */
static tv jinja_title(tpl_rt *rt, const tstr *s)
{
    sbuf b = {0};
    size_t i = 0;
    bool at_start = true;
    while (i < s->len) {
        uint32_t c = utf8_next(s->s, s->len, &i);
        bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
        if (sep) {
            utf8_put(&b, c);
            at_start = true;
            continue;
        }
        utf8_put(&b, at_start ? cp_upper(c) : cp_lower(c));
        at_start = false;
    }
    return sb_to_str(&b, &rt->bud);
}

/* Does code point c occur in the set `chars` (NULL: Python whitespace)? */
static bool in_set(uint32_t c, const tstr *chars)
{
    if (!chars) return py_isspace(c);
    size_t i = 0;
    while (i < chars->len)
        if (utf8_next(chars->s, chars->len, &i) == c) return true;
    return false;
}

/* str.strip / lstrip / rstrip */
static tv strip(tpl_rt *rt, const tstr *s, const tstr *chars, bool left, bool right)
{
    size_t st = 0, en = s->len, i = 0;
    if (left) {
        while (i < s->len) {
            size_t k = i;
            if (!in_set(utf8_next(s->s, s->len, &k), chars)) break;
            i = k;
        }
        st = i;
    }
    if (right) {
        size_t keep = st;
        i = st;
        while (i < s->len) {
            uint32_t c = utf8_next(s->s, s->len, &i);
            if (!in_set(c, chars)) keep = i;
        }
        en = keep;
    }
    return tv_str(&rt->bud, s->s + st, en - st);
}

/* Python str.splitlines() boundaries; returns the length of the line break
 * at s[i] (0 when none). */
static size_t line_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\r') return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
    if (c == '\n' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
    if (c >= 0x80) {
        size_t k = i;
        uint32_t cp = utf8_next(s, n, &k);
        if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) return k - i;
    }
    return 0;
}

static tv splitlines(tpl_rt *rt, const tstr *s, bool keepends)
{
    tv l = tv_list(&rt->bud, 0);
    size_t st = 0, i = 0;
    while (i < s->len) {
        size_t k = line_break(s->s, s->len, i);
        if (k) {
            tlist_push(TLIST(l), tv_str(&rt->bud, s->s + st, (keepends ? i + k : i) - st));
            i += k;
            st = i;
        } else {
            i++;
        }
    }
    if (st < s->len) tlist_push(TLIST(l), tv_str(&rt->bud, s->s + st, s->len - st));
    return l;
}

/* str.split(sep=None, maxsplit=-1) and rsplit */
static int split(tpl_rt *rt, const tstr *s, const tv *sepv, int64_t maxsplit, bool from_right, tv *out)
{
    tv l = tv_list(&rt->bud, 0);
    if (sepv && sepv->t != TV_NONE) {
        if (sepv->t != TV_STR) {
            tv_unref(l);
            return bad_arg(rt, "split", "must be str or None");
        }
        const tstr *sep = TSTR(*sepv);
        if (!sep->len) {
            tv_unref(l);
            return bad_arg(rt, "split", "empty separator");
        }
        if (!from_right) {
            size_t st = 0;
            const char *hit;
            while ((maxsplit < 0 || maxsplit-- > 0) && (hit = memmem(s->s + st, s->len - st, sep->s, sep->len))) {
                tlist_push(TLIST(l), tv_str(&rt->bud, s->s + st, (size_t)(hit - s->s) - st));
                st = (size_t)(hit - s->s) + sep->len;
            }
            tlist_push(TLIST(l), tv_str(&rt->bud, s->s + st, s->len - st));
        } else {
            /* collect from the right, then reverse */
            size_t en = s->len;
            while (maxsplit < 0 || maxsplit-- > 0) {
                size_t found = (size_t)-1;
                for (size_t k = en >= sep->len ? en - sep->len + 1 : 0; k-- > 0;)
                    if (!memcmp(s->s + k, sep->s, sep->len)) {
                        found = k;
                        break;
                    }
                if (found == (size_t)-1) break;
                tlist_push(TLIST(l), tv_str(&rt->bud, s->s + found + sep->len, en - found - sep->len));
                en = found;
            }
            tlist_push(TLIST(l), tv_str(&rt->bud, s->s, en));
            tlist *x = TLIST(l);
            for (size_t a = 0, b = x->n ? x->n - 1 : 0; a < b; a++, b--) {
                tv t = x->v[a];
                x->v[a] = x->v[b];
                x->v[b] = t;
            }
        }
        *out = l;
        return 0;
    }
    /* whitespace runs */
    size_t i = 0;
    if (!from_right) {
        while (i < s->len) {
            size_t k = i;
            while (k < s->len) {
                size_t j = k;
                if (!py_isspace(utf8_next(s->s, s->len, &j))) break;
                k = j;
            }
            i = k;
            if (i >= s->len) break;
            if (maxsplit >= 0 && (int64_t)TLIST(l)->n >= maxsplit) {
                /* the rest, with its trailing whitespace stripped */
                size_t keep = i, j = i;
                while (j < s->len) {
                    uint32_t c = utf8_next(s->s, s->len, &j);
                    if (!py_isspace(c)) keep = j;
                }
                tlist_push(TLIST(l), tv_str(&rt->bud, s->s + i, keep - i));
                break;
            }
            size_t st = i;
            while (i < s->len) {
                size_t j = i;
                if (py_isspace(utf8_next(s->s, s->len, &j))) break;
                i = j;
            }
            tlist_push(TLIST(l), tv_str(&rt->bud, s->s + st, i - st));
        }
        *out = l;
        return 0;
    }
    tv_unref(l);
    return tpl_fail(rt, SG_ERR_UNSUPPORTED, "rsplit() without a separator is not supported");
}

/* str.replace(old, new, count) */
static tv replace(tpl_rt *rt, const tstr *s, const tstr *old, const tstr *rep, int64_t count)
{
    sbuf b = {0};
    if (!old->len) { /* insert between every character */
        size_t i = 0;
        int64_t done = 0;
        if (count != 0) {
            sb_put(&b, rep->s, rep->len);
            done++;
        }
        while (i < s->len) {
            size_t st = i;
            utf8_next(s->s, s->len, &i);
            sb_put(&b, s->s + st, i - st);
            if (count < 0 || done < count) {
                sb_put(&b, rep->s, rep->len);
                done++;
            }
        }
        return sb_to_str(&b, &rt->bud);
    }
    size_t st = 0;
    const char *hit;
    int64_t done = 0;
    while ((count < 0 || done < count) && (hit = memmem(s->s + st, s->len - st, old->s, old->len))) {
        sb_put(&b, s->s + st, (size_t)(hit - s->s) - st);
        sb_put(&b, rep->s, rep->len);
        st = (size_t)(hit - s->s) + old->len;
        done++;
    }
    sb_put(&b, s->s + st, s->len - st);
    return sb_to_str(&b, &rt->bud);
}

static bool starts_with(const tstr *s, const tstr *p) { return p->len <= s->len && !memcmp(s->s, p->s, p->len); }
static bool ends_with(const tstr *s, const tstr *p) { return p->len <= s->len && !memcmp(s->s + s->len - p->len, p->s, p->len); }

/* startswith/endswith accept a string or a tuple of strings. */
static int affix(tpl_rt *rt, const tstr *s, const tv *arg, bool end, tv *out)
{
    if (!arg) return bad_arg(rt, end ? "endswith" : "startswith", "takes at least 1 argument");
    if (arg->t == TV_STR) {
        *out = tv_bool(end ? ends_with(s, TSTR(*arg)) : starts_with(s, TSTR(*arg)));
        return 0;
    }
    if (arg->t == TV_LIST && TLIST(*arg)->tuple) {
        bool r = false;
        for (size_t i = 0; i < TLIST(*arg)->n; i++) {
            tv e = TLIST(*arg)->v[i];
            if (e.t != TV_STR) return bad_arg(rt, end ? "endswith" : "startswith", "tuple for must only contain str");
            r = r || (end ? ends_with(s, TSTR(e)) : starts_with(s, TSTR(e)));
        }
        *out = tv_bool(r);
        return 0;
    }
    return bad_arg(rt, end ? "endswith" : "startswith", "first arg must be str or a tuple of str");
}

/* Python len(); -1 after failing for values without one. */
static int length(tpl_rt *rt, tv v, int64_t *n)
{
    switch (v.t) {
    case TV_UNDEF: *n = 0; return 0;
    case TV_STR: *n = (int64_t)utf8_count(TSTR(v)->s, TSTR(v)->len); return 0;
    case TV_LIST:
        if (!TLIST(v)->iter) {
            *n = (int64_t)TLIST(v)->n;
            return 0;
        }
        break;
    case TV_DICT: *n = (int64_t)TDICT(v)->n; return 0;
    case TV_LOOP: *n = TLOOP(v)->n; return 0;
    default: break;
    }
    return tpl_fail(rt, SG_ERR_INVALID, "object of type '%s' has no len()", tv_type_name(v));
}

/* Look up a dotted attribute path the way Jinja's make_attrgetter does
 * (digit parts are integer indexes). */
static int attr_path(tpl_rt *rt, tv item, const tv *attr, tv *out)
{
    if (is_int(attr)) return tpl_getitem(rt, item, *attr, out);
    if (!attr || attr->t != TV_STR) return bad_arg(rt, "attribute", "expected a string");
    const char *p = TSTR(*attr)->s;
    tv cur = tv_ref(item);
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        bool digits = n > 0;
        for (size_t k = 0; k < n; k++) digits = digits && isdigit((unsigned char)p[k]);
        tv key = digits ? tv_int(strtoll(p, NULL, 10)) : tv_str(&rt->bud, p, n);
        tv next;
        int rc = tpl_getitem(rt, cur, key, &next);
        tv_unref(key);
        tv_unref(cur);
        if (rc) return -1;
        cur = next;
        if (!dot) break;
        p = dot + 1;
    }
    *out = cur;
    return 0;
}

/* Python's rounding of a double to ndigits decimals (half to even on the
 * exact binary value, as round() does). */
static double py_round(double x, int64_t nd)
{
    if (!isfinite(x) || nd > 300) return x;
    if (nd < -300) return 0.0 * x;
    char buf[512];
    if (nd >= 0) {
        snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
        return strtod(buf, NULL);
    }
    double p = pow(10.0, (double)-nd), y = x / p, r = nearbyint(y);
    return r * p;
}

/* Parse a Python float literal (float("...")): whitespace around, sign,
 * digits with "_", inf/nan. */
static bool parse_py_float(const tstr *s, double *out)
{
    size_t st = 0, en = s->len;
    while (st < en && py_isspace((unsigned char)s->s[st])) st++;
    while (en > st && py_isspace((unsigned char)s->s[en - 1])) en--;
    if (st == en) return false;
    char *buf = sg_xmalloc(en - st + 1);
    size_t k = 0;
    bool ok = true;
    for (size_t i = st; i < en; i++) {
        char c = s->s[i];
        if (c == '_') { /* only between digits */
            if (i == st || i + 1 == en || !isdigit((unsigned char)s->s[i - 1]) || !isdigit((unsigned char)s->s[i + 1])) ok = false;
            continue;
        }
        buf[k++] = c;
    }
    buf[k] = 0;
    const char *b = buf + (buf[0] == '+' || buf[0] == '-');
    bool word = !strcasecmp(b, "inf") || !strcasecmp(b, "infinity") || !strcasecmp(b, "nan");
    ok = ok && (word || (strspn(b, "0123456789.eE+-") == strlen(b) && strpbrk(b, "0123456789")));
    char *end = NULL;
    if (ok) *out = strtod(buf, &end);
    ok = ok && end && !*end;
    free(buf);
    return ok;
}

/* Parse a Python int literal in base (int("...", base)). */
static bool parse_py_int(const tstr *s, int64_t base, int64_t *out)
{
    size_t i = 0, n = s->len;
    while (i < n && py_isspace((unsigned char)s->s[i])) i++;
    while (n > i && py_isspace((unsigned char)s->s[n - 1])) n--;
    bool neg = false;
    if (i < n && (s->s[i] == '+' || s->s[i] == '-')) neg = s->s[i++] == '-';
    if (i + 1 < n && s->s[i] == '0') {
        char p = (char)tolower((unsigned char)s->s[i + 1]);
        if ((p == 'x' && (base == 16 || base == 0)) || (p == 'o' && (base == 8 || base == 0)) || (p == 'b' && (base == 2 || base == 0))) {
            base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
            i += 2;
        }
    }
    if (base == 0) base = 10;
    if (i >= n || base < 2 || base > 36) return false;
    uint64_t v = 0;
    bool any = false;
    for (; i < n; i++) {
        char c = s->s[i];
        if (c == '_' && any && i + 1 < n && s->s[i + 1] != '_') continue;
        int d = isdigit((unsigned char)c) ? c - '0' : isalpha((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : 99;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        any = true;
    }
    if (!any || v > (uint64_t)INT64_MAX + (neg ? 1 : 0)) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static tv iter_of(tv list)
{
    TLIST(list)->iter = true;
    return list;
}

/* ------------------------------------------------------------ tests */

enum {
    T_DEFINED, T_UNDEFINED, T_NONE, T_BOOLEAN, T_FALSE, T_TRUE, T_INTEGER, T_FLOAT, T_NUMBER, T_STRING,
    T_MAPPING, T_ITERABLE, T_SEQUENCE, T_CALLABLE, T_SAMEAS, T_LOWER, T_UPPER, T_EVEN, T_ODD,
    T_DIVISIBLEBY, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_IN, T_FILTER, T_TEST, T_ESCAPED,
};

static const struct { const char *name; int id; } TESTS[] = {
    {"defined", T_DEFINED}, {"undefined", T_UNDEFINED}, {"none", T_NONE}, {"boolean", T_BOOLEAN},
    {"false", T_FALSE}, {"true", T_TRUE}, {"integer", T_INTEGER}, {"float", T_FLOAT}, {"number", T_NUMBER},
    {"string", T_STRING}, {"mapping", T_MAPPING}, {"iterable", T_ITERABLE}, {"sequence", T_SEQUENCE},
    {"callable", T_CALLABLE}, {"sameas", T_SAMEAS}, {"lower", T_LOWER}, {"upper", T_UPPER}, {"even", T_EVEN},
    {"odd", T_ODD}, {"divisibleby", T_DIVISIBLEBY}, {"eq", T_EQ}, {"equalto", T_EQ}, {"==", T_EQ},
    {"ne", T_NE}, {"!=", T_NE}, {"lt", T_LT}, {"lessthan", T_LT}, {"<", T_LT}, {"le", T_LE}, {"<=", T_LE},
    {"gt", T_GT}, {"greaterthan", T_GT}, {">", T_GT}, {"ge", T_GE}, {">=", T_GE}, {"in", T_IN},
    {"filter", T_FILTER}, {"test", T_TEST}, {"escaped", T_ESCAPED}, {NULL, 0},
};

int tpl_test_id(const char *name)
{
    for (int i = 0; TESTS[i].name; i++)
        if (!strcmp(TESTS[i].name, name)) return TESTS[i].id;
    return -1;
}

static int modulo_is(tpl_rt *rt, tv v, tv d, bool *out)
{
    if (!tv_is_number(v) || !tv_is_number(d))
        return tpl_fail(rt, SG_ERR_INVALID, "unsupported operand type(s) for %%: '%s' and '%s'", tv_type_name(v), tv_type_name(d));
    if (v.t != TV_FLOAT && d.t != TV_FLOAT) {
        int64_t y = as_int(&d);
        if (y == 0) return tpl_fail(rt, SG_ERR_INVALID, "integer division or modulo by zero");
        *out = y == -1 || as_int(&v) % y == 0;
        return 0;
    }
    if (tv_num(d) == 0.0) return tpl_fail(rt, SG_ERR_INVALID, "float modulo");
    *out = fmod(tv_num(v), tv_num(d)) == 0.0;
    return 0;
}

int tpl_test_call(tpl_rt *rt, int id, tv v, const targs *a, bool *out)
{
    tv *x = targ(a, 0, NULL);
    bool r = false;
    switch (id) {
    case T_DEFINED: r = v.t != TV_UNDEF; break;
    case T_UNDEFINED: r = v.t == TV_UNDEF; break;
    case T_NONE: r = v.t == TV_NONE; break;
    case T_BOOLEAN: r = v.t == TV_BOOL; break;
    case T_FALSE: r = v.t == TV_BOOL && !v.u.b; break;
    case T_TRUE: r = v.t == TV_BOOL && v.u.b; break;
    case T_INTEGER: r = v.t == TV_INT; break;
    case T_FLOAT: r = v.t == TV_FLOAT; break;
    case T_NUMBER: r = tv_is_number(v); break;
    case T_STRING: r = v.t == TV_STR; break;
    case T_MAPPING: r = v.t == TV_DICT; break;
    case T_ITERABLE: r = v.t == TV_UNDEF || v.t == TV_STR || v.t == TV_LIST || v.t == TV_DICT || v.t == TV_LOOP; break;
    case T_SEQUENCE: r = v.t == TV_UNDEF || v.t == TV_STR || (v.t == TV_LIST && !TLIST(v)->iter) || v.t == TV_DICT; break;
    case T_CALLABLE: r = v.t == TV_FUNC || v.t == TV_MACRO || v.t == TV_METHOD || v.t == TV_UNDEF; break;
    case T_ESCAPED: r = false; break;
    case T_SAMEAS:
        if (!x) return bad_arg(rt, "sameas", "missing argument");
        if (tv_is_obj(v) || tv_is_obj(*x)) r = tv_is_obj(v) && tv_is_obj(*x) && v.u.o == x->u.o;
        else r = v.t == x->t && tv_eq(v, *x);
        break;
    case T_LOWER:
    case T_UPPER: {
        tv s;
        if (tpl_to_str(rt, v, &s)) return -1;
        bool cased = false, ok = true;
        size_t i = 0;
        while (i < TSTR(s)->len) {
            uint32_t c = utf8_next(TSTR(s)->s, TSTR(s)->len, &i);
            if (cp_isupper(c) || cp_islower(c)) {
                cased = true;
                if (id == T_LOWER ? cp_isupper(c) : cp_islower(c)) ok = false;
            }
        }
        tv_unref(s);
        r = cased && ok;
        break;
    }
    case T_EVEN:
    case T_ODD:
        if (modulo_is(rt, v, tv_int(2), &r)) return -1;
        if (id == T_ODD) r = !r;
        break;
    case T_DIVISIBLEBY:
        if (!x) return bad_arg(rt, "divisibleby", "missing argument");
        if (modulo_is(rt, v, *x, &r)) return -1;
        break;
    case T_EQ:
    case T_NE:
        if (!x) return bad_arg(rt, "eq", "missing argument");
        r = tv_eq(v, *x) == (id == T_EQ);
        break;
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE: {
        if (!x) return bad_arg(rt, "comparison test", "missing argument");
        if (v.t == TV_UNDEF || x->t == TV_UNDEF) return tpl_fail(rt, SG_ERR_INVALID, "undefined value compared");
        bool lt;
        tv l = id == T_GT || id == T_LE ? *x : v, rr = id == T_GT || id == T_LE ? v : *x;
        if (tv_lt(l, rr, &lt))
            return tpl_fail(rt, SG_ERR_INVALID, "comparison not supported between instances of '%s' and '%s'", tv_type_name(v), tv_type_name(*x));
        r = id == T_LT || id == T_GT ? lt : !lt;
        break;
    }
    case T_IN: {
        if (!x) return bad_arg(rt, "in", "missing argument");
        if (x->t == TV_STR) {
            if (v.t != TV_STR) return tpl_fail(rt, SG_ERR_INVALID, "'in <string>' requires string as left operand");
            r = memmem(TSTR(*x)->s, TSTR(*x)->len, TSTR(v)->s, TSTR(v)->len) != NULL || TSTR(v)->len == 0;
        } else if (x->t == TV_DICT) {
            r = tv_hashable(v) && tdict_get(TDICT(*x), v);
        } else {
            tv l;
            if (tpl_iterate(rt, *x, &l)) return -1;
            for (size_t i = 0; i < TLIST(l)->n && !r; i++) r = tv_eq(TLIST(l)->v[i], v);
            tv_unref(l);
        }
        break;
    }
    case T_FILTER: r = v.t == TV_STR && tpl_filter_id(TSTR(v)->s) >= 0; break;
    case T_TEST: r = v.t == TV_STR && tpl_test_id(TSTR(v)->s) >= 0; break;
    default: return tpl_fail(rt, SG_ERR_INVALID, "internal: bad test id");
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ filters */

enum {
    F_ABS, F_ATTR, F_BATCH, F_CAPITALIZE, F_CENTER, F_LENGTH, F_DEFAULT, F_DICTSORT, F_ESCAPE, F_FIRST,
    F_FLOAT, F_INDENT, F_INT, F_ITEMS, F_JOIN, F_LAST, F_LIST, F_LOWER, F_MAP, F_MAX, F_MIN, F_REJECT,
    F_REJECTATTR, F_REPLACE, F_REVERSE, F_ROUND, F_SAFE, F_SELECT, F_SELECTATTR, F_SORT, F_STRING, F_SUM,
    F_TITLE, F_TOJSON, F_TRIM, F_UNIQUE, F_UPPER, F_WORDCOUNT,
};

static const struct { const char *name; int id; } FILTERS[] = {
    {"abs", F_ABS}, {"attr", F_ATTR}, {"batch", F_BATCH}, {"capitalize", F_CAPITALIZE}, {"center", F_CENTER},
    {"count", F_LENGTH}, {"length", F_LENGTH}, {"d", F_DEFAULT}, {"default", F_DEFAULT},
    {"dictsort", F_DICTSORT}, {"e", F_ESCAPE}, {"escape", F_ESCAPE}, {"first", F_FIRST}, {"float", F_FLOAT},
    {"indent", F_INDENT}, {"int", F_INT}, {"items", F_ITEMS}, {"join", F_JOIN}, {"last", F_LAST},
    {"list", F_LIST}, {"lower", F_LOWER}, {"map", F_MAP}, {"max", F_MAX}, {"min", F_MIN},
    {"reject", F_REJECT}, {"rejectattr", F_REJECTATTR}, {"replace", F_REPLACE}, {"reverse", F_REVERSE},
    {"round", F_ROUND}, {"safe", F_SAFE}, {"select", F_SELECT}, {"selectattr", F_SELECTATTR},
    {"sort", F_SORT}, {"string", F_STRING}, {"sum", F_SUM}, {"title", F_TITLE}, {"tojson", F_TOJSON},
    {"trim", F_TRIM}, {"unique", F_UNIQUE}, {"upper", F_UPPER}, {"wordcount", F_WORDCOUNT}, {NULL, 0},
};

int tpl_filter_id(const char *name)
{
    for (int i = 0; FILTERS[i].name; i++)
        if (!strcmp(FILTERS[i].name, name)) return FILTERS[i].id;
    return -1;
}

/* select/reject/selectattr/rejectattr */
static int select_reject(tpl_rt *rt, tv in, const targs *a, bool keep_if, bool by_attr, tv *out)
{
    tv r = iter_of(tv_list(&rt->bud, 0));
    if (!tv_truthy(in)) {
        *out = r;
        return 0;
    }
    int off = by_attr ? 1 : 0;
    tv *attr = by_attr ? targ(a, 0, NULL) : NULL;
    if (by_attr && !attr) {
        tv_unref(r);
        return bad_arg(rt, keep_if ? "selectattr" : "rejectattr", "missing parameter for attribute name");
    }
    tv *testname = targ(a, off, NULL);
    int tid = -1;
    if (testname) {
        if (testname->t != TV_STR || (tid = tpl_test_id(TSTR(*testname)->s)) < 0) {
            tv_unref(r);
            return tpl_fail(rt, SG_ERR_UNSUPPORTED, "unknown test in select/reject");
        }
    }
    targs rest = {a->pos + off + 1, a->npos > off + 1 ? a->npos - off - 1 : 0, a->kwn, a->kw, a->nkw};
    tv items;
    if (tpl_iterate(rt, in, &items)) {
        tv_unref(r);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
        if (!tpl_step(rt)) {
            rc = -1;
            break;
        }
        tv item = TLIST(items)->v[i], x;
        if (by_attr) rc = attr_path(rt, item, attr, &x);
        else x = tv_ref(item);
        if (rc) break;
        bool ok;
        if (tid >= 0) rc = tpl_test_call(rt, tid, x, &rest, &ok);
        else ok = tv_truthy(x);
        tv_unref(x);
        if (!rc && ok == keep_if) tlist_push(TLIST(r), tv_ref(item));
    }
    tv_unref(items);
    if (rc) {
        tv_unref(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* Sort a list of values (stable), by key values when keys != NULL. */
static int sort_values(tpl_rt *rt, tv *v, tv *keys, size_t n, bool reverse)
{
    /* insertion sort on an index keeps it stable; lists in prompts are short */
    for (size_t i = 1; i < n; i++) {
        tv x = v[i], kx = keys ? keys[i] : x;
        size_t j = i;
        while (j > 0) {
            tv ky = keys ? keys[j - 1] : v[j - 1];
            bool lt;
            if (tv_lt(reverse ? ky : kx, reverse ? kx : ky, &lt))
                return tpl_fail(rt, SG_ERR_INVALID, "'<' not supported between instances of '%s' and '%s'", tv_type_name(kx), tv_type_name(ky));
            if (!lt) break;
            v[j] = v[j - 1];
            if (keys) keys[j] = keys[j - 1];
            j--;
        }
        v[j] = x;
        if (keys) keys[j] = kx;
        if (!tpl_step(rt)) return -1;
    }
    return 0;
}

/* Key used by sort/unique/min/max: attribute path, lowercased strings. */
static int sort_key(tpl_rt *rt, tv item, const tv *attr, bool case_sensitive, tv *out)
{
    tv k;
    if (attr && attr->t != TV_NONE) {
        if (attr_path(rt, item, attr, &k)) return -1;
    } else {
        k = tv_ref(item);
    }
    if (!case_sensitive && k.t == TV_STR) {
        tv l = change_case(rt, TSTR(k), CASE_LOWER);
        tv_unref(k);
        k = l;
    }
    *out = k;
    return 0;
}

static int f_tojson(tpl_rt *rt, tv in, const targs *a, tv *out)
{
    tpl_json_opts o = {0};
    tv *ea = targ(a, -1, "ensure_ascii"), *ind = targ(a, 0, "indent"), *sep = targ(a, -1, "separators"), *sk = targ(a, -1, "sort_keys");
    o.ensure_ascii = ea && tv_truthy(*ea);
    o.sort_keys = sk && tv_truthy(*sk);
    char spaces[256];
    if (ind && ind->t != TV_NONE) {
        if (ind->t == TV_STR) {
            o.indent = TSTR(*ind)->s;
        } else if (is_int(ind)) {
            int64_t k = as_int(ind);
            if (k < 0) k = 0;
            if (k >= (int64_t)sizeof spaces) return bad_arg(rt, "tojson", "indent too large");
            memset(spaces, ' ', (size_t)k);
            spaces[k] = 0;
            o.indent = spaces;
        } else {
            return bad_arg(rt, "tojson", "indent must be an int or a string");
        }
    }
    if (sep && sep->t != TV_NONE) {
        if (sep->t != TV_LIST || sep->u.o == NULL || TLIST(*sep)->n != 2 || TLIST(*sep)->v[0].t != TV_STR || TLIST(*sep)->v[1].t != TV_STR)
            return bad_arg(rt, "tojson", "separators must be a pair of strings");
        o.item_sep = TSTR(TLIST(*sep)->v[0])->s;
        o.key_sep = TSTR(TLIST(*sep)->v[1])->s;
    }
    sbuf b = {0};
    char msg[200];
    if (!tpl_json_dump(&b, in, &o, msg, sizeof msg)) {
        sb_free(&b);
        if (in.t == TV_UNDEF) return tpl_fail(rt, SG_ERR_INVALID, "%s", msg);
        return tpl_fail(rt, SG_ERR_INVALID, "%s", msg);
    }
    if (b.n > rt->max_output) {
        sb_free(&b);
        return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
    }
    *out = sb_to_str(&b, &rt->bud);
    return 0;
}

static int f_indent(tpl_rt *rt, tv in, const targs *a, tv *out)
{
    tv *w = targ(a, 0, "width");
    bool first = opt_bool(targ(a, 1, "first"), false), blank = opt_bool(targ(a, 2, "blank"), false);
    sbuf ind = {0};
    if (w && w->t == TV_STR) sb_put(&ind, TSTR(*w)->s, TSTR(*w)->len);
    else {
        int64_t k = 4;
        if (opt_int(rt, w, 4, &k, "indent")) return -1;
        for (int64_t i = 0; i < k && i < (int64_t)rt->max_output; i++) sb_putc(&ind, ' ');
    }
    tv s;
    if (tpl_to_str(rt, in, &s)) {
        sb_free(&ind);
        return -1;
    }
    /* s + "\n", split into lines; join with "\n" + indent */
    sbuf tmp = {0};
    sb_put(&tmp, TSTR(s)->s, TSTR(s)->len);
    sb_putc(&tmp, '\n');
    tv_unref(s);
    tstr *ts = TSTR(sb_to_str(&tmp, &rt->bud));
    tv lines = splitlines(rt, ts, false);
    tv_unref((tv){TV_STR, {.o = &ts->h}});
    tlist *l = TLIST(lines);
    sbuf r = {0};
    if (first) sb_put(&r, ind.p ? ind.p : "", ind.n);
    for (size_t i = 0; i < l->n; i++) {
        tstr *line = TSTR(l->v[i]);
        if (i) {
            sb_putc(&r, '\n');
            if (blank || line->len) sb_put(&r, ind.p ? ind.p : "", ind.n);
        }
        sb_put(&r, line->s, line->len);
        if (r.n > rt->max_output) break;
    }
    tv_unref(lines);
    sb_free(&ind);
    if (r.n > rt->max_output) {
        sb_free(&r);
        return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
    }
    *out = sb_to_str(&r, &rt->bud);
    return 0;
}

static int f_map(tpl_rt *rt, tv in, const targs *a, tv *out)
{
    tv items;
    if (tpl_iterate(rt, in, &items)) return -1;
    tv r = iter_of(tv_list(&rt->bud, TLIST(items)->n));
    tv *attr = targ(a, -1, "attribute"), *def = targ(a, -1, "default");
    int fid = -1;
    targs rest = {0};
    if (!attr) {
        tv *fname = targ(a, 0, NULL);
        if (!fname || fname->t != TV_STR || (fid = tpl_filter_id(TSTR(*fname)->s)) < 0) {
            tv_unref(items);
            tv_unref(r);
            return tpl_fail(rt, SG_ERR_UNSUPPORTED, "map(): expected attribute= or a known filter name");
        }
        rest = (targs){a->pos + 1, a->npos - 1, a->kwn, a->kw, a->nkw};
    }
    int rc = 0;
    for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
        if (!tpl_step(rt)) {
            rc = -1;
            break;
        }
        tv x, item = TLIST(items)->v[i];
        if (attr) {
            rc = attr_path(rt, item, attr, &x);
            if (!rc && def && x.t == TV_UNDEF) x = tv_ref(*def);
        } else {
            rc = tpl_filter_call(rt, fid, item, &rest, &x);
        }
        if (!rc) tlist_push(TLIST(r), x);
    }
    tv_unref(items);
    if (rc) {
        tv_unref(r);
        return -1;
    }
    *out = r;
    return 0;
}


int tpl_filter_call(tpl_rt *rt, int id, tv in, const targs *a, tv *out)
{
    tv s, items;
    int64_t n = 0;
    int rc = 0;
    if (!tpl_step(rt)) return -1;
    switch (id) {
    case F_ABS:
        if (in.t == TV_INT || in.t == TV_BOOL) {
            int64_t x = as_int(&in);
            if (x == INT64_MIN) return tpl_fail(rt, SG_ERR_UNSUPPORTED, "integer overflow");
            *out = tv_int(x < 0 ? -x : x);
        } else if (in.t == TV_FLOAT) *out = tv_float(fabs(in.u.f));
        else return tpl_fail(rt, SG_ERR_INVALID, "bad operand type for abs(): '%s'", tv_type_name(in));
        return 0;
    case F_ATTR: {
        tv *nm = targ(a, 0, "name");
        if (!nm || nm->t != TV_STR) return bad_arg(rt, "attr", "expected an attribute name");
        return tpl_getattr(rt, in, TSTR(*nm)->s, out);
    }
    case F_BATCH: {
        int64_t size = 0;
        if (opt_int(rt, targ(a, 0, "linecount"), 1, &size, "batch")) return -1;
        if (size <= 0) return bad_arg(rt, "batch", "linecount must be positive");
        tv *fill = targ(a, 1, "fill_with");
        if (tpl_iterate(rt, in, &items)) return -1;
        tv r = iter_of(tv_list(&rt->bud, 0)), cur = tv_none();
        for (size_t i = 0; i < TLIST(items)->n; i++) {
            if (cur.t == TV_NONE) cur = tv_list(&rt->bud, 0);
            tlist_push(TLIST(cur), tv_ref(TLIST(items)->v[i]));
            if ((int64_t)TLIST(cur)->n == size) {
                tlist_push(TLIST(r), cur);
                cur = tv_none();
            }
        }
        if (cur.t != TV_NONE) {
            if (fill && fill->t != TV_NONE)
                while ((int64_t)TLIST(cur)->n < size) tlist_push(TLIST(cur), tv_ref(*fill));
            tlist_push(TLIST(r), cur);
        }
        tv_unref(items);
        *out = r;
        return 0;
    }
    case F_CAPITALIZE:
    case F_LOWER:
    case F_UPPER:
    case F_TITLE:
        if (tpl_to_str(rt, in, &s)) return -1;
        *out = id == F_TITLE ? jinja_title(rt, TSTR(s)) : change_case(rt, TSTR(s), id == F_LOWER ? CASE_LOWER : id == F_UPPER ? CASE_UPPER : CASE_CAPITALIZE);
        tv_unref(s);
        return 0;
    case F_CENTER: {
        int64_t w = 0;
        if (opt_int(rt, targ(a, 0, "width"), 80, &w, "center")) return -1;
        if (tpl_to_str(rt, in, &s)) return -1;
        int64_t len = (int64_t)utf8_count(TSTR(s)->s, TSTR(s)->len);
        if (w > (int64_t)rt->max_output) w = (int64_t)rt->max_output;
        if (w <= len) {
            *out = s;
            return 0;
        }
        int64_t pad = w - len, left = pad / 2 + (pad & w & 1);
        sbuf b = {0};
        for (int64_t i = 0; i < left; i++) sb_putc(&b, ' ');
        sb_put(&b, TSTR(s)->s, TSTR(s)->len);
        for (int64_t i = 0; i < pad - left; i++) sb_putc(&b, ' ');
        tv_unref(s);
        *out = sb_to_str(&b, &rt->bud);
        return 0;
    }
    case F_LENGTH:
        if (length(rt, in, &n)) return -1;
        *out = tv_int(n);
        return 0;
    case F_DEFAULT: {
        tv *def = targ(a, 0, "default_value");
        bool boolean = opt_bool(targ(a, 1, "boolean"), false);
        if (in.t == TV_UNDEF || (boolean && !tv_truthy(in))) *out = def ? tv_ref(*def) : tv_cstr(&rt->bud, "");
        else *out = tv_ref(in);
        return 0;
    }
    case F_DICTSORT: {
        if (in.t != TV_DICT) return bad_arg(rt, "dictsort", "expected a mapping");
        bool cs = opt_bool(targ(a, 0, "case_sensitive"), false), rev = opt_bool(targ(a, 2, "reverse"), false);
        tv *by = targ(a, 1, "by");
        bool by_value = by && by->t == TV_STR && !strcmp(TSTR(*by)->s, "value");
        tdict *d = TDICT(in);
        tv r = tv_list(&rt->bud, d->n);
        tv *keys = sg_xcalloc(d->n + 1, sizeof *keys);
        for (size_t i = 0; i < d->n && !rc; i++) {
            tv pair = tv_list(&rt->bud, 2);
            TLIST(pair)->tuple = true;
            tlist_push(TLIST(pair), tv_ref(d->k[i]));
            tlist_push(TLIST(pair), tv_ref(d->v[i]));
            tlist_push(TLIST(r), pair);
            rc = sort_key(rt, by_value ? d->v[i] : d->k[i], NULL, cs, &keys[i]);
        }
        if (!rc) rc = sort_values(rt, TLIST(r)->v, keys, TLIST(r)->n, rev);
        for (size_t i = 0; i < d->n; i++) tv_unref(keys[i]);
        free(keys);
        if (rc) {
            tv_unref(r);
            return -1;
        }
        *out = r;
        return 0;
    }
    case F_ESCAPE:
    case F_SAFE: {
        if (in.t == TV_STR && TSTR(in)->safe) {
            *out = tv_ref(in);
            return 0;
        }
        if (tpl_to_str(rt, in, &s)) return -1;
        sbuf b = {0};
        if (id == F_ESCAPE) tpl_html_escape(&b, TSTR(s)->s, TSTR(s)->len);
        else sb_put(&b, TSTR(s)->s, TSTR(s)->len);
        tv_unref(s);
        *out = sb_to_str(&b, &rt->bud);
        TSTR(*out)->safe = true;
        return 0;
    }
    case F_FIRST:
    case F_LAST:
        if (id == F_LAST && in.t == TV_LIST && TLIST(in)->iter)
            return tpl_fail(rt, SG_ERR_INVALID, "'generator' object is not reversible");
        if (tpl_iterate(rt, in, &items)) return -1;
        if (TLIST(items)->n == 0) *out = tv_undef(id == F_FIRST ? "first" : "last");
        else *out = tv_ref(TLIST(items)->v[id == F_FIRST ? 0 : TLIST(items)->n - 1]);
        tv_unref(items);
        return 0;
    case F_FLOAT: {
        tv *def = targ(a, 0, "default");
        double f;
        if (tv_is_number(in)) *out = tv_float(tv_num(in));
        else if (in.t == TV_STR && parse_py_float(TSTR(in), &f)) *out = tv_float(f);
        else *out = def ? tv_ref(*def) : tv_float(0.0);
        return 0;
    }
    case F_INDENT: return f_indent(rt, in, a, out);
    case F_INT: {
        tv *def = targ(a, 0, "default");
        int64_t base = 10, v = 0;
        if (opt_int(rt, targ(a, 1, "base"), 10, &base, "int")) return -1;
        double f;
        if (in.t == TV_INT || in.t == TV_BOOL) {
            *out = tv_int(as_int(&in));
        } else if (in.t == TV_FLOAT) {
            if (!isfinite(in.u.f)) return tpl_fail(rt, SG_ERR_INVALID, "cannot convert float %s to integer", isnan(in.u.f) ? "NaN" : "infinity");
            if (fabs(in.u.f) >= 9.2e18) return tpl_fail(rt, SG_ERR_UNSUPPORTED, "integer overflow");
            *out = tv_int((int64_t)in.u.f);
        } else if (in.t == TV_STR && parse_py_int(TSTR(in), base, &v)) {
            *out = tv_int(v);
        } else if (in.t == TV_STR && parse_py_float(TSTR(in), &f) && isfinite(f) && fabs(f) < 9.2e18) {
            *out = tv_int((int64_t)f);
        } else {
            *out = def ? tv_ref(*def) : tv_int(0);
        }
        return 0;
    }
    case F_ITEMS: {
        tv r = iter_of(tv_list(&rt->bud, 0));
        if (in.t == TV_UNDEF) {
            *out = r;
            return 0;
        }
        if (in.t != TV_DICT) {
            tv_unref(r);
            return tpl_fail(rt, SG_ERR_INVALID, "Can only get item pairs from a mapping.");
        }
        for (size_t i = 0; i < TDICT(in)->n; i++) {
            tv pair = tv_list(&rt->bud, 2);
            TLIST(pair)->tuple = true;
            tlist_push(TLIST(pair), tv_ref(TDICT(in)->k[i]));
            tlist_push(TLIST(pair), tv_ref(TDICT(in)->v[i]));
            tlist_push(TLIST(r), pair);
        }
        *out = r;
        return 0;
    }
    case F_JOIN: {
        tv *d = targ(a, 0, "d"), *attr = targ(a, 1, "attribute");
        tv sep;
        if (d) {
            if (tpl_to_str(rt, *d, &sep)) return -1;
        } else {
            sep = tv_cstr(&rt->bud, "");
        }
        if (tpl_iterate(rt, in, &items)) {
            tv_unref(sep);
            return -1;
        }
        sbuf b = {0};
        for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
            tv x;
            if (attr && attr->t != TV_NONE) rc = attr_path(rt, TLIST(items)->v[i], attr, &x);
            else x = tv_ref(TLIST(items)->v[i]);
            if (rc) break;
            if (i) sb_put(&b, TSTR(sep)->s, TSTR(sep)->len);
            if (!tv_write_str(&b, x)) rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "join(): cannot convert a %s to a string", tv_type_name(x));
            tv_unref(x);
            if (!rc && b.n > rt->max_output) rc = tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
        }
        tv_unref(items);
        tv_unref(sep);
        if (rc) {
            sb_free(&b);
            return -1;
        }
        *out = sb_to_str(&b, &rt->bud);
        return 0;
    }
    case F_LIST: {
        if (tpl_iterate(rt, in, &items)) return -1;
        tv r = tv_list(&rt->bud, TLIST(items)->n);
        for (size_t i = 0; i < TLIST(items)->n; i++) tlist_push(TLIST(r), tv_ref(TLIST(items)->v[i]));
        tv_unref(items);
        *out = r;
        return 0;
    }
    case F_MAP: return f_map(rt, in, a, out);
    case F_MAX:
    case F_MIN: {
        bool cs = opt_bool(targ(a, 0, "case_sensitive"), false);
        tv *attr = targ(a, 1, "attribute");
        if (tpl_iterate(rt, in, &items)) return -1;
        tlist *l = TLIST(items);
        if (!l->n) {
            tv_unref(items);
            *out = tv_undef(id == F_MAX ? "max" : "min");
            return 0;
        }
        size_t best = 0;
        tv bk;
        if (sort_key(rt, l->v[0], attr, cs, &bk)) {
            tv_unref(items);
            return -1;
        }
        for (size_t i = 1; i < l->n && !rc; i++) {
            tv k;
            bool lt;
            if ((rc = sort_key(rt, l->v[i], attr, cs, &k))) break;
            if (tv_lt(id == F_MAX ? bk : k, id == F_MAX ? k : bk, &lt)) rc = tpl_fail(rt, SG_ERR_INVALID, "values are not comparable");
            else if (lt) {
                tv_unref(bk);
                bk = tv_ref(k);
                best = i;
            }
            tv_unref(k);
        }
        tv_unref(bk);
        if (!rc) *out = tv_ref(l->v[best]);
        tv_unref(items);
        return rc;
    }
    case F_REJECT: return select_reject(rt, in, a, false, false, out);
    case F_REJECTATTR: return select_reject(rt, in, a, false, true, out);
    case F_SELECT: return select_reject(rt, in, a, true, false, out);
    case F_SELECTATTR: return select_reject(rt, in, a, true, true, out);
    case F_REPLACE: {
        tv *old = targ(a, 0, "old"), *rep = targ(a, 1, "new");
        int64_t count = 0;
        if (!old || !rep) return bad_arg(rt, "replace", "expected old and new");
        if (opt_int(rt, targ(a, 2, "count"), -1, &count, "replace")) return -1;
        tv so, sn;
        if (tpl_to_str(rt, in, &s)) return -1;
        if (tpl_to_str(rt, *old, &so)) {
            tv_unref(s);
            return -1;
        }
        if (tpl_to_str(rt, *rep, &sn)) {
            tv_unref(s);
            tv_unref(so);
            return -1;
        }
        *out = replace(rt, TSTR(s), TSTR(so), TSTR(sn), count);
        tv_unref(s);
        tv_unref(so);
        tv_unref(sn);
        if (TSTR(*out)->len > rt->max_output) {
            tv_unref(*out);
            return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
        }
        return 0;
    }
    case F_REVERSE: {
        if (in.t == TV_STR) {
            tv l;
            if (tpl_iterate(rt, in, &l)) return -1;
            sbuf b = {0};
            for (size_t i = TLIST(l)->n; i-- > 0;) sb_put(&b, TSTR(TLIST(l)->v[i])->s, TSTR(TLIST(l)->v[i])->len);
            tv_unref(l);
            *out = sb_to_str(&b, &rt->bud);
            return 0;
        }
        bool was_iter = in.t == TV_LIST && TLIST(in)->iter;
        if (tpl_iterate(rt, in, &items)) return -1;
        tv r = tv_list(&rt->bud, TLIST(items)->n);
        for (size_t i = TLIST(items)->n; i-- > 0;) tlist_push(TLIST(r), tv_ref(TLIST(items)->v[i]));
        tv_unref(items);
        if (!was_iter) iter_of(r); /* reversed() gives an iterator; list(gen) reversed gives a list */
        *out = r;
        return 0;
    }
    case F_ROUND: {
        int64_t prec = 0;
        if (opt_int(rt, targ(a, 0, "precision"), 0, &prec, "round")) return -1;
        tv *m = targ(a, 1, "method");
        const char *method = m && m->t == TV_STR ? TSTR(*m)->s : "common";
        if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
            return tpl_fail(rt, SG_ERR_INVALID, "method must be common, ceil or floor");
        if (!tv_is_number(in)) return tpl_fail(rt, SG_ERR_INVALID, "type %s doesn't define __round__ method", tv_type_name(in));
        if (!strcmp(method, "common")) {
            if (in.t != TV_FLOAT) { /* round(int, n) stays an int */
                int64_t x = as_int(&in);
                if (prec < 0) {
                    int64_t p = 1;
                    for (int64_t k = 0; k < -prec && p <= INT64_MAX / 10; k++) p *= 10;
                    int64_t q = x / p, r = x % p;
                    if (r < 0) {
                        r += p;
                        q -= 1;
                    }
                    if (2 * r > p || (2 * r == p && (q & 1))) q += 1;
                    x = q * p;
                }
                *out = tv_int(x);
            } else {
                *out = tv_float(py_round(in.u.f, prec));
            }
        } else {
            double p = pow(10.0, (double)prec), x = tv_num(in) * p;
            *out = tv_float((method[0] == 'c' ? ceil(x) : floor(x)) / p);
        }
        return 0;
    }
    case F_STRING: return tpl_to_str(rt, in, out);
    case F_SORT: {
        bool rev = opt_bool(targ(a, 0, "reverse"), false), cs = opt_bool(targ(a, 1, "case_sensitive"), false);
        tv *attr = targ(a, 2, "attribute");
        if (tpl_iterate(rt, in, &items)) return -1;
        tlist *l = TLIST(items);
        tv r = tv_list(&rt->bud, l->n);
        tv *keys = sg_xcalloc(l->n + 1, sizeof *keys);
        for (size_t i = 0; i < l->n && !rc; i++) {
            tlist_push(TLIST(r), tv_ref(l->v[i]));
            rc = sort_key(rt, l->v[i], attr, cs, &keys[i]);
        }
        if (!rc) rc = sort_values(rt, TLIST(r)->v, keys, TLIST(r)->n, rev);
        for (size_t i = 0; i < l->n; i++) tv_unref(keys[i]);
        free(keys);
        tv_unref(items);
        if (rc) {
            tv_unref(r);
            return -1;
        }
        *out = r;
        return 0;
    }
    case F_SUM: {
        tv *attr = targ(a, 0, "attribute"), *start = targ(a, 1, "start");
        tv acc = start ? tv_ref(*start) : tv_int(0);
        if (tpl_iterate(rt, in, &items)) {
            tv_unref(acc);
            return -1;
        }
        for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
            tv x, y;
            if (attr && attr->t != TV_NONE) rc = attr_path(rt, TLIST(items)->v[i], attr, &x);
            else x = tv_ref(TLIST(items)->v[i]);
            if (rc) break;
            if (tv_is_number(acc) && tv_is_number(x)) {
                if (acc.t != TV_FLOAT && x.t != TV_FLOAT) {
                    int64_t r;
                    if (__builtin_add_overflow(as_int(&acc), as_int(&x), &r)) rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "integer overflow");
                    else y = tv_int(r);
                } else {
                    y = tv_float(tv_num(acc) + tv_num(x));
                }
            } else {
                rc = tpl_fail(rt, SG_ERR_INVALID, "unsupported operand type(s) for +: '%s' and '%s'", tv_type_name(acc), tv_type_name(x));
            }
            tv_unref(x);
            if (!rc) {
                tv_unref(acc);
                acc = y;
            }
        }
        tv_unref(items);
        if (rc) {
            tv_unref(acc);
            return -1;
        }
        *out = acc;
        return 0;
    }
    case F_TOJSON: return f_tojson(rt, in, a, out);
    case F_TRIM: {
        tv *chars = targ(a, 0, "chars");
        if (chars && chars->t != TV_NONE && chars->t != TV_STR) return bad_arg(rt, "trim", "chars must be a string");
        if (tpl_to_str(rt, in, &s)) return -1;
        *out = strip(rt, TSTR(s), chars && chars->t == TV_STR ? TSTR(*chars) : NULL, true, true);
        TSTR(*out)->safe = TSTR(s)->safe;
        tv_unref(s);
        return 0;
    }
    case F_UNIQUE: {
        bool cs = opt_bool(targ(a, 0, "case_sensitive"), false);
        tv *attr = targ(a, 1, "attribute");
        if (tpl_iterate(rt, in, &items)) return -1;
        tv r = iter_of(tv_list(&rt->bud, 0)), seen = tv_list(&rt->bud, 0);
        for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
            tv k;
            if ((rc = sort_key(rt, TLIST(items)->v[i], attr, cs, &k))) break;
            bool dup = false;
            for (size_t j = 0; j < TLIST(seen)->n && !dup; j++) dup = tv_eq(TLIST(seen)->v[j], k);
            if (!tpl_step(rt)) rc = -1;
            if (dup) {
                tv_unref(k);
                continue;
            }
            tlist_push(TLIST(seen), k);
            tlist_push(TLIST(r), tv_ref(TLIST(items)->v[i]));
        }
        tv_unref(seen);
        tv_unref(items);
        if (rc) {
            tv_unref(r);
            return -1;
        }
        *out = r;
        return 0;
    }
    case F_WORDCOUNT: {
        if (tpl_to_str(rt, in, &s)) return -1;
        int64_t words = 0;
        bool inw = false;
        size_t i = 0;
        while (i < TSTR(s)->len) {
            uint32_t c = utf8_next(TSTR(s)->s, TSTR(s)->len, &i);
            bool w = c == '_' || (c < 0x80 ? isalnum((int)c) : cp_isalpha(c));
            if (w && !inw) words++;
            inw = w;
        }
        tv_unref(s);
        *out = tv_int(words);
        return 0;
    }
    default: return tpl_fail(rt, SG_ERR_INVALID, "internal: bad filter id");
    }
}

/* ------------------------------------------------------------ methods */

enum {
    M_STRIP, M_LSTRIP, M_RSTRIP, M_SPLIT, M_RSPLIT, M_STARTSWITH, M_ENDSWITH, M_UPPER, M_LOWER, M_TITLE,
    M_CAPITALIZE, M_REPLACE, M_FIND, M_RFIND, M_COUNT, M_JOIN, M_SPLITLINES, M_ISDIGIT, M_ISALPHA,
    M_ISSPACE, M_ISUPPER, M_ISLOWER, M_FORMAT, M_INDEX, M_ITEMS, M_KEYS, M_VALUES, M_GET, M_CYCLE,
};

static const struct { const char *name; int id; } STR_METHODS[] = {
    {"strip", M_STRIP}, {"lstrip", M_LSTRIP}, {"rstrip", M_RSTRIP}, {"split", M_SPLIT}, {"rsplit", M_RSPLIT},
    {"startswith", M_STARTSWITH}, {"endswith", M_ENDSWITH}, {"upper", M_UPPER}, {"lower", M_LOWER},
    {"title", M_TITLE}, {"capitalize", M_CAPITALIZE}, {"replace", M_REPLACE}, {"find", M_FIND},
    {"rfind", M_RFIND}, {"count", M_COUNT}, {"join", M_JOIN}, {"splitlines", M_SPLITLINES},
    {"isdigit", M_ISDIGIT}, {"isalpha", M_ISALPHA}, {"isspace", M_ISSPACE}, {"isupper", M_ISUPPER},
    {"islower", M_ISLOWER}, {"format", M_FORMAT}, {"index", M_INDEX}, {NULL, 0},
};

int tpl_method_id(tv self, const char *name)
{
    switch (self.t) {
    case TV_STR:
        for (int i = 0; STR_METHODS[i].name; i++)
            if (!strcmp(STR_METHODS[i].name, name)) return STR_METHODS[i].id;
        return -1;
    case TV_DICT:
        if (!strcmp(name, "items")) return M_ITEMS;
        if (!strcmp(name, "keys")) return M_KEYS;
        if (!strcmp(name, "values")) return M_VALUES;
        if (!strcmp(name, "get")) return M_GET;
        return -1;
    case TV_LIST:
        if (TLIST(self)->iter) return -1;
        if (!strcmp(name, "index")) return M_INDEX;
        if (!strcmp(name, "count")) return M_COUNT;
        return -1;
    case TV_LOOP: return !strcmp(name, "cycle") ? M_CYCLE : -1;
    default: return -1;
    }
}

bool tpl_method_unsafe(tv self, const char *name)
{
    static const char *const dict_mut[] = {"pop", "popitem", "setdefault", "update", "clear", NULL};
    static const char *const list_mut[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", NULL};
    const char *const *t = self.t == TV_DICT ? dict_mut : self.t == TV_LIST ? list_mut : NULL;
    for (int i = 0; t && t[i]; i++)
        if (!strcmp(t[i], name)) return true;
    return false;
}

/* str.format with {} / {0} / {name} fields and no format specs. */
static int str_format(tpl_rt *rt, const tstr *f, const targs *a, tv *out)
{
    sbuf b = {0};
    int auto_ix = 0;
    for (size_t i = 0; i < f->len; i++) {
        char c = f->s[i];
        if ((c == '{' || c == '}') && i + 1 < f->len && f->s[i + 1] == c) {
            sb_putc(&b, c);
            i++;
            continue;
        }
        if (c == '}') {
            sb_free(&b);
            return bad_arg(rt, "format", "single '}' encountered in format string");
        }
        if (c != '{') {
            sb_putc(&b, c);
            continue;
        }
        const char *end = memchr(f->s + i, '}', f->len - i);
        if (!end) {
            sb_free(&b);
            return bad_arg(rt, "format", "expected '}' before end of string");
        }
        size_t fl = (size_t)(end - (f->s + i + 1));
        char field[64];
        if (fl >= sizeof field || memchr(f->s + i + 1, ':', fl) || memchr(f->s + i + 1, '!', fl) || memchr(f->s + i + 1, '.', fl) || memchr(f->s + i + 1, '[', fl)) {
            sb_free(&b);
            return tpl_fail(rt, SG_ERR_UNSUPPORTED, "format(): only {}, {N} and {name} fields are supported");
        }
        memcpy(field, f->s + i + 1, fl);
        field[fl] = 0;
        tv *v = NULL;
        if (!fl) v = targ(a, auto_ix++, NULL);
        else if (isdigit((unsigned char)field[0])) v = targ(a, atoi(field), NULL);
        else v = targ(a, -1, field);
        if (!v) {
            sb_free(&b);
            return tpl_fail(rt, SG_ERR_INVALID, "format(): missing argument for field {%s}", field);
        }
        if (!tv_write_str(&b, *v)) {
            sb_free(&b);
            return tpl_fail(rt, SG_ERR_UNSUPPORTED, "format(): cannot convert a %s to a string", tv_type_name(*v));
        }
        i = (size_t)(end - f->s);
    }
    *out = sb_to_str(&b, &rt->bud);
    return 0;
}

static tv dict_view(tpl_rt *rt, const tdict *d, int which)
{
    tv r = tv_list(&rt->bud, d->n);
    for (size_t i = 0; i < d->n; i++) {
        if (which == M_KEYS) tlist_push(TLIST(r), tv_ref(d->k[i]));
        else if (which == M_VALUES) tlist_push(TLIST(r), tv_ref(d->v[i]));
        else {
            tv pair = tv_list(&rt->bud, 2);
            TLIST(pair)->tuple = true;
            tlist_push(TLIST(pair), tv_ref(d->k[i]));
            tlist_push(TLIST(pair), tv_ref(d->v[i]));
            tlist_push(TLIST(r), pair);
        }
    }
    return r;
}

static int str_is(tpl_rt *rt, const tstr *s, int id, tv *out)
{
    bool r = s->len > 0, cased = false;
    size_t i = 0;
    while (i < s->len) {
        uint32_t c = utf8_next(s->s, s->len, &i);
        switch (id) {
        case M_ISDIGIT: r = r && c < 0x80 && isdigit((int)c); break;
        case M_ISALPHA: r = r && cp_isalpha(c); break;
        case M_ISSPACE: r = r && py_isspace(c); break;
        case M_ISUPPER:
            if (cp_islower(c)) r = false;
            if (cp_isupper(c)) cased = true;
            break;
        case M_ISLOWER:
            if (cp_isupper(c)) r = false;
            if (cp_islower(c)) cased = true;
            break;
        }
    }
    if (id == M_ISUPPER || id == M_ISLOWER) r = r && cased;
    (void)rt;
    *out = tv_bool(r);
    return 0;
}

int tpl_method_call(tpl_rt *rt, tmethod *m, const targs *a, tv *out)
{
    tv self = m->self;
    tv *x = targ(a, 0, NULL), *y = targ(a, 1, NULL);
    if (!tpl_step(rt)) return -1;
    if (self.t == TV_STR) {
        tstr *s = TSTR(self);
        switch (m->id) {
        case M_STRIP:
        case M_LSTRIP:
        case M_RSTRIP:
            if (x && x->t != TV_NONE && x->t != TV_STR) return bad_arg(rt, "strip", "arg must be None or str");
            *out = strip(rt, s, x && x->t == TV_STR ? TSTR(*x) : NULL, m->id != M_RSTRIP, m->id != M_LSTRIP);
            return 0;
        case M_SPLIT:
        case M_RSPLIT: {
            int64_t ms = -1;
            if (opt_int(rt, targ(a, 1, "maxsplit"), -1, &ms, "split")) return -1;
            return split(rt, s, targ(a, 0, "sep"), ms, m->id == M_RSPLIT, out);
        }
        case M_STARTSWITH: return affix(rt, s, x, false, out);
        case M_ENDSWITH: return affix(rt, s, x, true, out);
        case M_UPPER: *out = change_case(rt, s, CASE_UPPER); return 0;
        case M_LOWER: *out = change_case(rt, s, CASE_LOWER); return 0;
        case M_TITLE: *out = change_case(rt, s, CASE_PYTITLE); return 0;
        case M_CAPITALIZE: *out = change_case(rt, s, CASE_CAPITALIZE); return 0;
        case M_REPLACE: {
            int64_t count = 0;
            if (!x || !y || x->t != TV_STR || y->t != TV_STR) return bad_arg(rt, "replace", "expected two strings");
            if (opt_int(rt, targ(a, 2, "count"), -1, &count, "replace")) return -1;
            *out = replace(rt, s, TSTR(*x), TSTR(*y), count);
            if (TSTR(*out)->len > rt->max_output) {
                tv_unref(*out);
                return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
            }
            return 0;
        }
        case M_FIND:
        case M_RFIND:
        case M_INDEX:
        case M_COUNT: {
            if (!x || x->t != TV_STR) return bad_arg(rt, "find", "must be str");
            const tstr *sub = TSTR(*x);
            int64_t found = -1, count = 0;
            for (size_t k = 0; k + sub->len <= s->len; k++) {
                if (memcmp(s->s + k, sub->s, sub->len)) continue;
                if (m->id == M_COUNT) {
                    count++;
                    if (sub->len) k += sub->len - 1;
                    continue;
                }
                found = (int64_t)utf8_count(s->s, k);
                if (m->id != M_RFIND) break;
            }
            if (m->id == M_COUNT) *out = tv_int(sub->len ? count : (int64_t)utf8_count(s->s, s->len) + 1);
            else if (m->id == M_INDEX && found < 0) return tpl_fail(rt, SG_ERR_INVALID, "substring not found");
            else *out = tv_int(found);
            return 0;
        }
        case M_JOIN: {
            if (!x) return bad_arg(rt, "join", "takes exactly one argument");
            tv items;
            if (tpl_iterate(rt, *x, &items)) return -1;
            sbuf b = {0};
            int rc = 0;
            for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
                tv e = TLIST(items)->v[i];
                if (e.t != TV_STR) rc = tpl_fail(rt, SG_ERR_INVALID, "sequence item %zu: expected str instance, %s found", i, tv_type_name(e));
                else {
                    if (i) sb_put(&b, s->s, s->len);
                    sb_put(&b, TSTR(e)->s, TSTR(e)->len);
                    if (b.n > rt->max_output) rc = tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
                }
            }
            tv_unref(items);
            if (rc) {
                sb_free(&b);
                return -1;
            }
            *out = sb_to_str(&b, &rt->bud);
            return 0;
        }
        case M_SPLITLINES: *out = splitlines(rt, s, opt_bool(targ(a, 0, "keepends"), false)); return 0;
        case M_ISDIGIT:
        case M_ISALPHA:
        case M_ISSPACE:
        case M_ISUPPER:
        case M_ISLOWER: return str_is(rt, s, m->id, out);
        case M_FORMAT: return str_format(rt, s, a, out);
        }
    } else if (self.t == TV_DICT) {
        tdict *d = TDICT(self);
        if (m->id == M_GET) {
            if (!x) return bad_arg(rt, "get", "expected at least 1 argument");
            tv *v = tv_hashable(*x) ? tdict_get(d, *x) : NULL;
            if (!tv_hashable(*x)) return tpl_fail(rt, SG_ERR_INVALID, "unhashable type: '%s'", tv_type_name(*x));
            *out = v ? tv_ref(*v) : y ? tv_ref(*y) : tv_none();
            return 0;
        }
        *out = dict_view(rt, d, m->id);
        return 0;
    } else if (self.t == TV_LIST) {
        tlist *l = TLIST(self);
        if (!x) return bad_arg(rt, m->id == M_INDEX ? "index" : "count", "takes exactly one argument");
        int64_t count = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (!tv_eq(l->v[i], *x)) continue;
            if (m->id == M_INDEX) {
                *out = tv_int((int64_t)i);
                return 0;
            }
            count++;
        }
        if (m->id == M_INDEX) return tpl_fail(rt, SG_ERR_INVALID, "value is not in list");
        *out = tv_int(count);
        return 0;
    } else if (self.t == TV_LOOP && m->id == M_CYCLE) {
        if (a->npos == 0) return bad_arg(rt, "loop.cycle", "no items for cycling given");
        *out = tv_ref(a->pos[TLOOP(self)->i % a->npos]);
        return 0;
    }
    return tpl_fail(rt, SG_ERR_INVALID, "internal: bad method");
}

/* ------------------------------------------------------------ globals */

enum { G_RANGE, G_NAMESPACE, G_DICT, G_RAISE, G_STRFTIME };

int tpl_global_id(const char *name)
{
    if (!strcmp(name, "range")) return G_RANGE;
    if (!strcmp(name, "namespace")) return G_NAMESPACE;
    if (!strcmp(name, "dict")) return G_DICT;
    if (!strcmp(name, "raise_exception")) return G_RAISE;
    if (!strcmp(name, "strftime_now")) return G_STRFTIME;
    return -1;
}

int tpl_global_call(tpl_rt *rt, int id, const targs *a, tv *out)
{
    switch (id) {
    case G_RANGE: {
        int64_t v[3] = {0, 0, 1};
        if (a->npos < 1 || a->npos > 3 || a->nkw) return bad_arg(rt, "range", "expected 1 to 3 integer arguments");
        for (int i = 0; i < a->npos; i++) {
            if (!is_int(&a->pos[i])) return bad_arg(rt, "range", "arguments must be integers");
        }
        if (a->npos == 1) v[1] = as_int(&a->pos[0]);
        else {
            v[0] = as_int(&a->pos[0]);
            v[1] = as_int(&a->pos[1]);
            if (a->npos == 3) v[2] = as_int(&a->pos[2]);
        }
        if (v[2] == 0) return bad_arg(rt, "range", "arg 3 must not be zero");
        double count = ceil(((double)v[1] - (double)v[0]) / (double)v[2]);
        if (count < 0) count = 0;
        if (count > (double)(rt->max_steps - rt->steps))
            return tpl_fail(rt, SG_ERR_INVALID, "range() of %.0f items exceeds the step limit of the template", count);
        tv r = tv_list(&rt->bud, (size_t)count);
        for (int64_t k = 0; k < (int64_t)count; k++) tlist_push(TLIST(r), tv_int(v[0] + k * v[2]));
        rt->steps += (uint64_t)count / 16;
        *out = r;
        return 0;
    }
    case G_NAMESPACE:
    case G_DICT: {
        tv d = tv_dict(&rt->bud, id == G_NAMESPACE);
        if (a->npos > 1) {
            tv_unref(d);
            return bad_arg(rt, id == G_DICT ? "dict" : "namespace", "expected at most 1 positional argument");
        }
        if (a->npos == 1) {
            tv src = a->pos[0];
            if (src.t == TV_DICT || src.t == TV_NS) {
                for (size_t i = 0; i < TDICT(src)->n; i++) tdict_set(TDICT(d), tv_ref(TDICT(src)->k[i]), tv_ref(TDICT(src)->v[i]));
            } else {
                tv items;
                if (tpl_iterate(rt, src, &items)) {
                    tv_unref(d);
                    return -1;
                }
                for (size_t i = 0; i < TLIST(items)->n; i++) {
                    tv p = TLIST(items)->v[i];
                    if (p.t != TV_LIST || TLIST(p)->n != 2 || !tv_hashable(TLIST(p)->v[0])) {
                        tv_unref(items);
                        tv_unref(d);
                        return bad_arg(rt, "dict", "sequence elements must be key/value pairs");
                    }
                    tdict_set(TDICT(d), tv_ref(TLIST(p)->v[0]), tv_ref(TLIST(p)->v[1]));
                }
                tv_unref(items);
            }
        }
        for (int i = 0; i < a->nkw; i++) tdict_set(TDICT(d), tv_cstr(&rt->bud, a->kwn[i]), tv_ref(a->kw[i]));
        if (id == G_NAMESPACE) tlist_push(rt->namespaces, tv_ref(d));
        *out = d;
        return 0;
    }
    case G_RAISE: {
        tv *msg = targ(a, 0, "message");
        tv s;
        if (!msg) return tpl_fail(rt, SG_ERR_INVALID, "raise_exception() called without a message");
        if (tpl_to_str(rt, *msg, &s)) return -1;
        tpl_fail(rt, SG_ERR_INVALID, "%s", TSTR(s)->s);
        tv_unref(s);
        return -1;
    }
    case G_STRFTIME: {
        tv *fmt = targ(a, 0, "format");
        if (!fmt || fmt->t != TV_STR) return bad_arg(rt, "strftime_now", "expected a format string");
        time_t t = rt->now ? (time_t)rt->now : time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        size_t cap = TSTR(*fmt)->len * 8 + 64;
        char *buf = sg_xmalloc(cap);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        size_t n = TSTR(*fmt)->len ? strftime(buf, cap, TSTR(*fmt)->s, &tm) : 0; /* the template's format */
#pragma GCC diagnostic pop
        *out = tv_str(&rt->bud, buf, n);
        free(buf);
        return 0;
    }
    }
    return tpl_fail(rt, SG_ERR_INVALID, "internal: bad global");
}
