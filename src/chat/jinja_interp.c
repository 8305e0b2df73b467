/*
 * jinja_interp.c -- evaluating a template tree.
 *
 * Scopes follow Jinja2: the template has one top-level scope (a `set` inside
 * an `if` changes it), every iteration of a for loop gets a fresh child
 * scope (assignments there never survive the iteration; that is what
 * namespace() is for), a macro call gets a child of the top-level scope.
 * Names are looked up through the scopes, then the render's variables
 * (messages, bos_token ...), then the globals (range, namespace, ...).
 *
 * Undefined behaves like Jinja2's default Undefined, which transformers
 * uses: a missing variable, attribute or item is Undefined; it prints as
 * nothing, is false, iterates as empty and has length 0, but arithmetic on
 * it, or taking an attribute or item of it, is an error.
 *
 * Every function returns 0 or -1; on -1 the first error is in rt->msg,
 * prefixed with the template line. Work is bounded: each node evaluated is
 * a step (rt->max_steps), the depth of evaluation (expressions, statements
 * and macro calls together) is bounded by rt->max_depth, output and strings
 * by rt->max_output, and live memory by rt->bud.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

static int exec_body(tpl_rt *rt, tscope *sc, const tpl_node *body, sbuf *out);
static int eval(tpl_rt *rt, tscope *sc, const tpl_node *n, tv *out);

int tpl_fail(tpl_rt *rt, sg_status code, const char *fmt, ...)
{
    if (rt->failed) return -1;
    rt->failed = true;
    rt->code = code;
    char m[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(rt->msg, sizeof rt->msg, "template line %d: %s", rt->line, m);
    return -1;
}

bool tpl_step(tpl_rt *rt)
{
    if (rt->failed) return false;
    if (++rt->steps > rt->max_steps) {
        tpl_fail(rt, SG_ERR_INVALID, "template ran more than %llu steps (endless loop?)", (unsigned long long)rt->max_steps);
        return false;
    }
    if (rt->bud.over) {
        tpl_fail(rt, SG_ERR_NOMEM, "template used more than %zu MiB of memory", rt->bud.limit >> 20);
        return false;
    }
    return true;
}

static int undefined_error(tpl_rt *rt, tv u)
{
    if (u.u.hint) return tpl_fail(rt, SG_ERR_INVALID, "'%s' is undefined", u.u.hint);
    return tpl_fail(rt, SG_ERR_INVALID, "undefined value used");
}

/* Append text to an output buffer, within the output limit. */
static int out_put(tpl_rt *rt, sbuf *b, const char *s, size_t n)
{
    if (b->n + n > rt->max_output)
        return tpl_fail(rt, SG_ERR_INVALID, "template output exceeds %zu bytes", rt->max_output);
    sb_put(b, s, n);
    return 0;
}

int tpl_to_str(tpl_rt *rt, tv v, tv *out)
{
    if (v.t == TV_STR) {
        *out = tv_ref(v);
        return 0;
    }
    sbuf b = {0};
    if (!tv_write_str(&b, v)) {
        sb_free(&b);
        return tpl_fail(rt, SG_ERR_UNSUPPORTED, "cannot convert a %s value to a string", tv_type_name(v));
    }
    if (b.n > rt->max_output) {
        sb_free(&b);
        return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
    }
    *out = sb_to_str(&b, &rt->bud);
    return 0;
}

tv *targ(const targs *a, int i, const char *name)
{
    if (i >= 0 && i < a->npos) return &a->pos[i];
    if (name)
        for (int k = 0; k < a->nkw; k++)
            if (!strcmp(a->kwn[k], name)) return &a->kw[k];
    return NULL;
}

/* ------------------------------------------------------------ scopes */

static tv lookup(tpl_rt *rt, tscope *sc, const char *name)
{
    for (; sc; sc = sc->parent)
        if (sc->vars) {
            tv *v = tdict_get_str(sc->vars, name);
            if (v) return tv_ref(*v);
        }
    tv *v = tdict_get_str(rt->context, name);
    if (v) return tv_ref(*v);
    int g = tpl_global_id(name);
    if (g >= 0) return tv_func(g);
    return tv_undef(name);
}

static void scope_set(tpl_rt *rt, tscope *sc, const char *name, tv v)
{
    if (!sc->vars) sc->vars = TDICT(tv_dict(&rt->bud, false));
    tdict_set(sc->vars, tv_cstr(&rt->bud, name), v);
}

static void scope_drop(tscope *sc)
{
    if (sc->vars) tv_unref((tv){TV_DICT, {.o = &sc->vars->h}});
    sc->vars = NULL;
}

/* ------------------------------------------------------------ access */

static int loop_attr(tpl_rt *rt, tloop *l, const char *name, const char *hint, tv *out)
{
    int64_t i = l->i, n = l->n;
    if (!strcmp(name, "index")) *out = tv_int(i + 1);
    else if (!strcmp(name, "index0")) *out = tv_int(i);
    else if (!strcmp(name, "revindex")) *out = tv_int(n - i);
    else if (!strcmp(name, "revindex0")) *out = tv_int(n - i - 1);
    else if (!strcmp(name, "first")) *out = tv_bool(i == 0);
    else if (!strcmp(name, "last")) *out = tv_bool(i == n - 1);
    else if (!strcmp(name, "length")) *out = tv_int(n);
    else if (!strcmp(name, "depth")) *out = tv_int(l->depth);
    else if (!strcmp(name, "depth0")) *out = tv_int(l->depth - 1);
    else if (!strcmp(name, "previtem")) *out = i > 0 ? tv_ref(l->items->v[i - 1]) : tv_undef("previtem");
    else if (!strcmp(name, "nextitem")) *out = i + 1 < n ? tv_ref(l->items->v[i + 1]) : tv_undef("nextitem");
    else {
        tv self = {TV_LOOP, {.o = &l->h}};
        int m = tpl_method_id(self, name);
        *out = m >= 0 ? tv_method(&rt->bud, tv_ref(self), m) : tv_undef(hint);
    }
    return 0;
}

/* obj.name; hint names the result when it is undefined and must outlive the
 * render (a tree string or NULL). */
static int getattr_hint(tpl_rt *rt, tv obj, const char *name, const char *hint, tv *out)
{
    if (obj.t == TV_UNDEF) return undefined_error(rt, obj);
    if (obj.t == TV_LOOP) return loop_attr(rt, TLOOP(obj), name, hint, out);
    int m = tpl_method_id(obj, name);
    if (m >= 0) {
        *out = tv_method(&rt->bud, tv_ref(obj), m);
        return 0;
    }
    if (tpl_method_unsafe(obj, name)) {
        *out = tv_undef(hint);
        return 0;
    }
    if (obj.t == TV_DICT || obj.t == TV_NS) {
        tv *v = tdict_get_str(TDICT(obj), name);
        *out = v ? tv_ref(*v) : tv_undef(hint);
        return 0;
    }
    *out = tv_undef(hint);
    return 0;
}

int tpl_getattr(tpl_rt *rt, tv obj, const char *name, tv *out)
{
    return getattr_hint(rt, obj, name, NULL, out);
}

/* Code point i of a UTF-8 string, as a new string (i already in range). */
static tv str_char(tpl_rt *rt, tstr *s, int64_t idx)
{
    size_t i = 0;
    for (int64_t k = 0; k < idx; k++) utf8_next(s->s, s->len, &i);
    size_t st = i;
    utf8_next(s->s, s->len, &i);
    return tv_str(&rt->bud, s->s + st, i - st);
}

int tpl_getitem(tpl_rt *rt, tv obj, tv key, tv *out)
{
    if (obj.t == TV_UNDEF) return undefined_error(rt, obj);
    if (obj.t == TV_DICT) {
        if (tv_hashable(key)) {
            tv *v = tdict_get(TDICT(obj), key);
            if (v) {
                *out = tv_ref(*v);
                return 0;
            }
        }
    } else if ((obj.t == TV_LIST && !TLIST(obj)->iter) || obj.t == TV_STR) {
        if (key.t == TV_INT || key.t == TV_BOOL) {
            int64_t i = key.t == TV_BOOL ? key.u.b : key.u.i;
            int64_t n = obj.t == TV_LIST ? (int64_t)TLIST(obj)->n : (int64_t)utf8_count(TSTR(obj)->s, TSTR(obj)->len);
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                *out = obj.t == TV_LIST ? tv_ref(TLIST(obj)->v[i]) : str_char(rt, TSTR(obj), i);
                return 0;
            }
            *out = tv_undef(NULL);
            return 0;
        }
    }
    if (key.t == TV_STR) return tpl_getattr(rt, obj, TSTR(key)->s, out);
    *out = tv_undef(NULL);
    return 0;
}

/* Python's slice.indices(): clamp start/stop for a sequence of length n. */
static int slice_bounds(tpl_rt *rt, tv a, tv b, tv c, int64_t n, int64_t *start, int64_t *stop, int64_t *step)
{
    tv parts[3] = {a, b, c};
    int64_t val[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        if (parts[k].t == TV_NONE) continue;
        if (parts[k].t != TV_INT && parts[k].t != TV_BOOL)
            return tpl_fail(rt, SG_ERR_INVALID, "slice indices must be integers or None");
        val[k] = parts[k].t == TV_BOOL ? parts[k].u.b : parts[k].u.i;
        given[k] = true;
    }
    *step = val[2];
    if (*step == 0) return tpl_fail(rt, SG_ERR_INVALID, "slice step cannot be zero");
    int64_t lo = *step < 0 ? -1 : 0, hi = *step < 0 ? n - 1 : n;
    for (int k = 0; k < 2; k++) {
        int64_t v;
        if (!given[k]) {
            v = k == 0 ? (*step < 0 ? hi : lo) : (*step < 0 ? lo : hi);
        } else {
            v = val[k];
            if (v < 0) {
                v += n;
                if (v < lo) v = lo;
            } else if (v > hi) {
                v = hi;
            }
        }
        if (k == 0) *start = v;
        else *stop = v;
    }
    return 0;
}

static int do_slice(tpl_rt *rt, tv obj, tv a, tv b, tv c, tv *out)
{
    if (obj.t == TV_UNDEF) return undefined_error(rt, obj);
    int64_t start, stop, step;
    if (obj.t == TV_LIST && !TLIST(obj)->iter) {
        tlist *l = TLIST(obj);
        if (slice_bounds(rt, a, b, c, (int64_t)l->n, &start, &stop, &step)) return -1;
        tv r = tv_list(&rt->bud, 0);
        TLIST(r)->tuple = l->tuple;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) tlist_push(TLIST(r), tv_ref(l->v[i]));
        *out = r;
        return 0;
    }
    if (obj.t == TV_STR) {
        tstr *s = TSTR(obj);
        size_t ncp = utf8_count(s->s, s->len);
        size_t *off = sg_xmalloc((ncp + 1) * sizeof *off);
        size_t i = 0, k = 0;
        while (i < s->len) {
            off[k++] = i;
            utf8_next(s->s, s->len, &i);
        }
        ncp = k;
        off[ncp] = s->len;
        if (slice_bounds(rt, a, b, c, (int64_t)ncp, &start, &stop, &step)) {
            free(off);
            return -1;
        }
        sbuf r = {0};
        for (int64_t j = start; step > 0 ? j < stop : j > stop; j += step) sb_put(&r, s->s + off[j], off[j + 1] - off[j]);
        free(off);
        *out = sb_to_str(&r, &rt->bud);
        return 0;
    }
    *out = tv_undef(NULL);
    return 0;
}

int tpl_iterate(tpl_rt *rt, tv v, tv *out)
{
    switch (v.t) {
    case TV_UNDEF: *out = tv_list(&rt->bud, 0); return 0;
    case TV_LIST: {
        tlist *l = TLIST(v);
        if (l->iter) {
            if (l->consumed) {
                *out = tv_list(&rt->bud, 0);
                return 0;
            }
            l->consumed = true;
            tv r = tv_list(&rt->bud, l->n);
            for (size_t i = 0; i < l->n; i++) tlist_push(TLIST(r), tv_ref(l->v[i]));
            *out = r;
            return 0;
        }
        *out = tv_ref(v);
        return 0;
    }
    case TV_DICT: {
        tdict *d = TDICT(v);
        tv r = tv_list(&rt->bud, d->n);
        for (size_t i = 0; i < d->n; i++) tlist_push(TLIST(r), tv_ref(d->k[i]));
        *out = r;
        return 0;
    }
    case TV_STR: {
        tstr *s = TSTR(v);
        tv r = tv_list(&rt->bud, 0);
        size_t i = 0;
        while (i < s->len) {
            size_t st = i;
            utf8_next(s->s, s->len, &i);
            tlist_push(TLIST(r), tv_str(&rt->bud, s->s + st, i - st));
        }
        *out = r;
        return 0;
    }
    default: return tpl_fail(rt, SG_ERR_INVALID, "'%s' object is not iterable", tv_type_name(v));
    }
}

/* ------------------------------------------------------------ operators */

static int type_error(tpl_rt *rt, const char *op, tv a, tv b)
{
    if (a.t == TV_UNDEF) return undefined_error(rt, a);
    if (b.t == TV_UNDEF) return undefined_error(rt, b);
    return tpl_fail(rt, SG_ERR_INVALID, "unsupported operand type(s) for %s: '%s' and '%s'", op, tv_type_name(a), tv_type_name(b));
}

static int64_t ival(tv v) { return v.t == TV_BOOL ? v.u.b : v.u.i; }

static int overflow(tpl_rt *rt)
{
    return tpl_fail(rt, SG_ERR_UNSUPPORTED, "integer overflow (values beyond 64 bits are not supported)");
}

/* s * n and l * n */
static int repeat(tpl_rt *rt, tv seq, int64_t times, tv *out)
{
    if (times < 0) times = 0;
    if (seq.t == TV_STR) {
        tstr *s = TSTR(seq);
        if (s->len && (uint64_t)times > rt->max_output / s->len)
            return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
        sbuf b = {0};
        for (int64_t i = 0; i < times; i++) sb_put(&b, s->s, s->len);
        *out = sb_to_str(&b, &rt->bud);
        TSTR(*out)->safe = s->safe;
        return 0;
    }
    tlist *l = TLIST(seq);
    if (l->n && (uint64_t)times > (rt->max_steps - rt->steps) / l->n)
        return tpl_fail(rt, SG_ERR_INVALID, "list repetition too large");
    tv r = tv_list(&rt->bud, 0);
    TLIST(r)->tuple = l->tuple;
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < l->n; k++) tlist_push(TLIST(r), tv_ref(l->v[k]));
    rt->steps += (uint64_t)times * l->n;
    *out = r;
    return 0;
}

static int arith(tpl_rt *rt, int op, tv a, tv b, tv *out)
{
    static const char *const names[] = {"", "+", "-", "*", "/", "//", "%", "**"};
    bool num = tv_is_number(a) && tv_is_number(b);
    bool ints = num && a.t != TV_FLOAT && b.t != TV_FLOAT;
    int64_t x = ints ? ival(a) : 0, y = ints ? ival(b) : 0, r;
    double fx = tv_num(a), fy = tv_num(b);
    switch (op) {
    case OP_ADD:
        if (ints) {
            if (__builtin_add_overflow(x, y, &r)) return overflow(rt);
            *out = tv_int(r);
        } else if (num) {
            *out = tv_float(fx + fy);
        } else if (a.t == TV_STR && b.t == TV_STR && TSTR(a)->safe != TSTR(b)->safe) {
            /* Markup + str and str + Markup escape the plain side */
            sbuf cat = {0};
            for (int k = 0; k < 2; k++) {
                tstr *part = TSTR(k ? b : a);
                if (part->safe) sb_put(&cat, part->s, part->len);
                else tpl_html_escape(&cat, part->s, part->len);
            }
            if (cat.n > rt->max_output) {
                sb_free(&cat);
                return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
            }
            *out = sb_to_str(&cat, &rt->bud);
            TSTR(*out)->safe = true;
        } else if (a.t == TV_STR && b.t == TV_STR) {
            size_t n = TSTR(a)->len + TSTR(b)->len;
            if (n > rt->max_output) return tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
            tstr *s = (tstr *)tv_str(&rt->bud, NULL, n).u.o;
            memcpy(s->s, TSTR(a)->s, TSTR(a)->len);
            memcpy(s->s + TSTR(a)->len, TSTR(b)->s, TSTR(b)->len);
            s->safe = TSTR(a)->safe;
            *out = (tv){TV_STR, {.o = &s->h}};
        } else if (a.t == TV_LIST && b.t == TV_LIST && !TLIST(a)->iter && !TLIST(b)->iter && TLIST(a)->tuple == TLIST(b)->tuple) {
            tv l = tv_list(&rt->bud, TLIST(a)->n + TLIST(b)->n);
            TLIST(l)->tuple = TLIST(a)->tuple;
            for (size_t i = 0; i < TLIST(a)->n; i++) tlist_push(TLIST(l), tv_ref(TLIST(a)->v[i]));
            for (size_t i = 0; i < TLIST(b)->n; i++) tlist_push(TLIST(l), tv_ref(TLIST(b)->v[i]));
            rt->steps += TLIST(l)->n / 16;
            *out = l;
        } else if (a.t == TV_STR && b.t != TV_UNDEF) {
            return tpl_fail(rt, SG_ERR_INVALID, "can only concatenate str (not \"%s\") to str", tv_type_name(b));
        } else {
            return type_error(rt, "+", a, b);
        }
        return 0;
    case OP_SUB:
    case OP_MUL:
        if (op == OP_MUL && !num) {
            if ((a.t == TV_STR || (a.t == TV_LIST && !TLIST(a)->iter)) && (b.t == TV_INT || b.t == TV_BOOL)) return repeat(rt, a, ival(b), out);
            if ((b.t == TV_STR || (b.t == TV_LIST && !TLIST(b)->iter)) && (a.t == TV_INT || a.t == TV_BOOL)) return repeat(rt, b, ival(a), out);
        }
        if (!num) return type_error(rt, names[op], a, b);
        if (ints) {
            bool ov = op == OP_SUB ? __builtin_sub_overflow(x, y, &r) : __builtin_mul_overflow(x, y, &r);
            if (ov) return overflow(rt);
            *out = tv_int(r);
        } else {
            *out = tv_float(op == OP_SUB ? fx - fy : fx * fy);
        }
        return 0;
    case OP_DIV:
        if (!num) return type_error(rt, "/", a, b);
        if (fy == 0.0) return tpl_fail(rt, SG_ERR_INVALID, "division by zero");
        *out = tv_float(ints ? (double)x / (double)y : fx / fy);
        return 0;
    case OP_FLOORDIV:
    case OP_MOD:
        if (!num) {
            if (op == OP_MOD && a.t == TV_STR)
                return tpl_fail(rt, SG_ERR_UNSUPPORTED, "printf-style string formatting with %% is not supported");
            return type_error(rt, names[op], a, b);
        }
        if (ints) {
            if (y == 0) return tpl_fail(rt, SG_ERR_INVALID, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) {
                if (op == OP_MOD) {
                    *out = tv_int(0);
                    return 0;
                }
                return overflow(rt);
            }
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q -= 1;
                m += y;
            }
            *out = tv_int(op == OP_FLOORDIV ? q : m);
        } else {
            if (fy == 0.0) return tpl_fail(rt, SG_ERR_INVALID, "float division by zero");
            /* Python's float divmod */
            double m = fmod(fx, fy), d = (fx - m) / fy;
            if (m != 0.0) {
                if ((fy < 0) != (m < 0)) {
                    m += fy;
                    d -= 1.0;
                }
            } else {
                m = copysign(0.0, fy);
            }
            double q = d != 0.0 ? floor(d) : copysign(0.0, fx / fy);
            if (d != 0.0 && d - q > 0.5) q += 1.0;
            *out = tv_float(op == OP_FLOORDIV ? q : m);
        }
        return 0;
    case OP_POW:
        if (!num) return type_error(rt, "**", a, b);
        if (ints && y >= 0) {
            int64_t acc = 1, base = x;
            int64_t e = y;
            while (e) {
                if (e & 1) {
                    if (__builtin_mul_overflow(acc, base, &acc)) return overflow(rt);
                }
                e >>= 1;
                if (e && __builtin_mul_overflow(base, base, &base)) return overflow(rt);
            }
            *out = tv_int(acc);
        } else {
            if (fx == 0.0 && fy < 0) return tpl_fail(rt, SG_ERR_INVALID, "0.0 cannot be raised to a negative power");
            *out = tv_float(pow(fx, fy));
        }
        return 0;
    }
    return tpl_fail(rt, SG_ERR_INVALID, "bad operator");
}

/* a in b (Python) */
static int contains(tpl_rt *rt, tv item, tv seq, bool *res)
{
    *res = false;
    switch (seq.t) {
    case TV_STR:
        if (item.t != TV_STR)
            return tpl_fail(rt, SG_ERR_INVALID, "'in <string>' requires string as left operand, not %s", tv_type_name(item));
        *res = TSTR(item)->len == 0 || memmem(TSTR(seq)->s, TSTR(seq)->len, TSTR(item)->s, TSTR(item)->len) != NULL;
        return 0;
    case TV_LIST: {
        tv l;
        if (tpl_iterate(rt, seq, &l)) return -1;
        for (size_t i = 0; i < TLIST(l)->n && !*res; i++) *res = tv_eq(TLIST(l)->v[i], item);
        tv_unref(l);
        return 0;
    }
    case TV_DICT:
        if (!tv_hashable(item)) return tpl_fail(rt, SG_ERR_INVALID, "unhashable type: '%s'", tv_type_name(item));
        *res = tdict_get(TDICT(seq), item) != NULL;
        return 0;
    case TV_UNDEF: return 0;
    default: return tpl_fail(rt, SG_ERR_INVALID, "argument of type '%s' is not iterable", tv_type_name(seq));
    }
}

static int compare(tpl_rt *rt, int op, tv a, tv b, bool *res)
{
    switch (op) {
    case OP_EQ: *res = tv_eq(a, b); return 0;
    case OP_NE: *res = !tv_eq(a, b); return 0;
    case OP_IN: return contains(rt, a, b, res);
    case OP_NOTIN:
        if (contains(rt, a, b, res)) return -1;
        *res = !*res;
        return 0;
    default: break;
    }
    if (a.t == TV_UNDEF) return undefined_error(rt, a);
    if (b.t == TV_UNDEF) return undefined_error(rt, b);
    bool lt;
    const char *sym = op == OP_LT ? "<" : op == OP_LE ? "<=" : op == OP_GT ? ">" : ">=";
    tv x = op == OP_GT || op == OP_LE ? b : a, y = op == OP_GT || op == OP_LE ? a : b;
    /* a > b is b < a; a <= b is not (b < a); a >= b is not (a < b) */
    if (tv_lt(x, y, &lt))
        return tpl_fail(rt, SG_ERR_INVALID, "'%s' not supported between instances of '%s' and '%s'", sym, tv_type_name(a), tv_type_name(b));
    if ((op == OP_LE || op == OP_GE) && tv_is_number(a) && tv_is_number(b) && (isnan(tv_num(a)) || isnan(tv_num(b)))) {
        *res = false;
        return 0;
    }
    *res = op == OP_LT || op == OP_GT ? lt : !lt;
    return 0;
}

/* ------------------------------------------------------------ calls */

static void args_free(targs *a)
{
    for (int i = 0; i < a->npos; i++) tv_unref(a->pos[i]);
    for (int i = 0; i < a->nkw; i++) tv_unref(a->kw[i]);
    free(a->pos);
    free(a->kw);
    free(a->kwn);
    memset(a, 0, sizeof *a);
}

/* Evaluate the argument nodes of n (kids + names) into a. */
static int eval_args(tpl_rt *rt, tscope *sc, const tpl_node *n, targs *a, int extra)
{
    memset(a, 0, sizeof *a);
    int total = n->nkids + extra;
    a->pos = sg_xcalloc((size_t)total + 1, sizeof *a->pos);
    a->kw = sg_xcalloc((size_t)total + 1, sizeof *a->kw);
    a->kwn = sg_xcalloc((size_t)total + 1, sizeof *a->kwn);
    for (int i = 0; i < n->nkids; i++) {
        tv v;
        if (eval(rt, sc, n->kids[i], &v)) {
            args_free(a);
            return -1;
        }
        if (n->names && n->names[i]) {
            a->kwn[a->nkw] = n->names[i];
            a->kw[a->nkw++] = v;
        } else {
            a->pos[a->npos++] = v;
        }
    }
    return 0;
}

static const tframe *find_frame(tpl_rt *rt, uint64_t serial)
{
    for (const tframe *f = rt->frames; f; f = f->up)
        if (f->serial == serial) return f;
    return NULL;
}

/* Call a macro (or a call block's caller) with a: renders its body. */
static int call_macro(tpl_rt *rt, tmacro *m, const targs *a, tv *out)
{
    const tpl_node *def = m->node;
    tscope ms = {rt->root, NULL};
    const char *what = def->kind == N_MACRO ? def->name : "caller";
    if (def->kind == N_CALLBLOCK) {
        const tframe *f = find_frame(rt, m->frame);
        if (!f) return tpl_fail(rt, SG_ERR_INVALID, "caller() used outside of its {%% call %%} block");
        ms.parent = f->scope;
    }
    if (a->npos > def->nkids)
        return tpl_fail(rt, SG_ERR_INVALID, "macro '%s' takes not more than %d argument(s)", what, def->nkids);
    int rc = 0;
    for (int k = 0; k < a->nkw; k++) {
        bool known = !strcmp(a->kwn[k], "caller") && def->kind == N_MACRO;
        for (int i = 0; i < def->nkids && !known; i++) known = !strcmp(def->kids[i]->name, a->kwn[k]);
        if (!known) return tpl_fail(rt, SG_ERR_INVALID, "macro '%s' takes no keyword argument '%s'", what, a->kwn[k]);
        if (!strcmp(a->kwn[k], "caller")) scope_set(rt, &ms, "caller", tv_ref(a->kw[k]));
    }
    for (int i = 0; i < def->nkids && !rc; i++) {
        const tpl_node *p = def->kids[i];
        tv *given = i < a->npos ? &a->pos[i] : NULL;
        for (int k = 0; k < a->nkw && !given; k++)
            if (!strcmp(a->kwn[k], p->name)) given = &a->kw[k];
        tv v;
        if (given) v = tv_ref(*given);
        else if (p->b) rc = eval(rt, &ms, p->b, &v);
        else v = tv_undef(p->name);
        if (!rc) scope_set(rt, &ms, p->name, v);
    }
    sbuf b = {0};
    if (!rc) rc = exec_body(rt, &ms, def->c, &b);
    scope_drop(&ms);
    if (rc) {
        sb_free(&b);
        return -1;
    }
    *out = sb_to_str(&b, &rt->bud);
    return 0;
}

int tpl_call_value(tpl_rt *rt, tv fn, const targs *a, tv *out)
{
    switch (fn.t) {
    case TV_FUNC: return tpl_global_call(rt, fn.u.fn, a, out);
    case TV_MACRO: return call_macro(rt, TMACRO(fn), a, out);
    case TV_METHOD: return tpl_method_call(rt, TMETHOD(fn), a, out);
    case TV_UNDEF: return undefined_error(rt, fn);
    default: return tpl_fail(rt, SG_ERR_INVALID, "'%s' object is not callable", tv_type_name(fn));
    }
}

/* Apply a chain of N_FILTER nodes whose innermost input is `in`. */
static int apply_filters(tpl_rt *rt, tscope *sc, const tpl_node *f, tv in, tv *out)
{
    tv x;
    if (f->a) {
        if (apply_filters(rt, sc, f->a, in, &x)) return -1;
    } else {
        x = tv_ref(in);
    }
    targs a;
    if (eval_args(rt, sc, f, &a, 0)) {
        tv_unref(x);
        return -1;
    }
    rt->line = f->line;
    int rc = tpl_filter_call(rt, f->op, x, &a, out);
    args_free(&a);
    tv_unref(x);
    return rc;
}

/* ------------------------------------------------------------ expressions */

static int eval_inner(tpl_rt *rt, tscope *sc, const tpl_node *n, tv *out)
{
    tv a, b;
    int rc = 0;
    switch (n->kind) {
    case N_CONST: *out = tv_ref(n->val); return 0;
    case N_NAME: *out = lookup(rt, sc, n->name); return 0;
    case N_ATTR:
        if (eval(rt, sc, n->a, &a)) return -1;
        rt->line = n->line;
        rc = getattr_hint(rt, a, n->name, n->name, out);
        tv_unref(a);
        return rc;
    case N_ITEM:
        if (eval(rt, sc, n->a, &a)) return -1;
        if (eval(rt, sc, n->b, &b)) {
            tv_unref(a);
            return -1;
        }
        rt->line = n->line;
        rc = tpl_getitem(rt, a, b, out);
        tv_unref(a);
        tv_unref(b);
        return rc;
    case N_SLICE: {
        tv parts[3] = {tv_none(), tv_none(), tv_none()};
        const tpl_node *pn[3] = {n->b, n->c, n->d};
        if (eval(rt, sc, n->a, &a)) return -1;
        for (int k = 0; k < 3 && !rc; k++)
            if (pn[k]) rc = eval(rt, sc, pn[k], &parts[k]);
        if (!rc) {
            rt->line = n->line;
            rc = do_slice(rt, a, parts[0], parts[1], parts[2], out);
        }
        for (int k = 0; k < 3; k++) tv_unref(parts[k]);
        tv_unref(a);
        return rc;
    }
    case N_CALL: {
        if (eval(rt, sc, n->a, &a)) return -1;
        targs args;
        if (eval_args(rt, sc, n, &args, 0)) {
            tv_unref(a);
            return -1;
        }
        rt->line = n->line;
        rc = tpl_call_value(rt, a, &args, out);
        args_free(&args);
        tv_unref(a);
        return rc;
    }
    case N_FILTER: {
        if (eval(rt, sc, n->a, &a)) return -1;
        tpl_node shallow = *n; /* the input is already evaluated */
        shallow.a = NULL;
        rc = apply_filters(rt, sc, &shallow, a, out);
        tv_unref(a);
        return rc;
    }
    case N_TEST: {
        if (eval(rt, sc, n->a, &a)) return -1;
        targs args;
        if (eval_args(rt, sc, n, &args, 0)) {
            tv_unref(a);
            return -1;
        }
        bool r = false;
        rt->line = n->line;
        rc = tpl_test_call(rt, n->op, a, &args, &r);
        args_free(&args);
        tv_unref(a);
        *out = tv_bool(n->neg ? !r : r);
        return rc;
    }
    case N_UNARY:
        if (eval(rt, sc, n->a, &a)) return -1;
        rt->line = n->line;
        if (n->op == '!') *out = tv_bool(!tv_truthy(a));
        else if (a.t == TV_INT || a.t == TV_BOOL) {
            int64_t x = ival(a);
            if (n->op == '-' && x == INT64_MIN) rc = overflow(rt);
            else *out = tv_int(n->op == '-' ? -x : x);
        } else if (a.t == TV_FLOAT) *out = tv_float(n->op == '-' ? -a.u.f : a.u.f);
        else if (a.t == TV_UNDEF) rc = undefined_error(rt, a);
        else rc = tpl_fail(rt, SG_ERR_INVALID, "bad operand type for unary %c: '%s'", n->op, tv_type_name(a));
        tv_unref(a);
        return rc;
    case N_BINARY:
        if (eval(rt, sc, n->a, &a)) return -1;
        if (eval(rt, sc, n->b, &b)) {
            tv_unref(a);
            return -1;
        }
        rt->line = n->line;
        if (n->op == OP_CONCAT) {
            sbuf s = {0};
            if (!tv_write_str(&s, a) || !tv_write_str(&s, b)) {
                rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "cannot convert a %s value to a string", tv_type_name(tv_write_str(&s, a) ? b : a));
                sb_free(&s);
            } else if (s.n > rt->max_output) {
                rc = tpl_fail(rt, SG_ERR_INVALID, "string exceeds %zu bytes", rt->max_output);
                sb_free(&s);
            } else {
                *out = sb_to_str(&s, &rt->bud);
            }
        } else {
            rc = arith(rt, n->op, a, b, out);
        }
        tv_unref(a);
        tv_unref(b);
        return rc;
    case N_AND:
    case N_OR:
        if (eval(rt, sc, n->a, &a)) return -1;
        if (tv_truthy(a) == (n->kind == N_OR)) {
            *out = a;
            return 0;
        }
        tv_unref(a);
        return eval(rt, sc, n->b, out);
    case N_COMPARE: {
        if (eval(rt, sc, n->a, &a)) return -1;
        bool res = true;
        for (int i = 0; i < n->nkids && res; i++) {
            if (eval(rt, sc, n->kids[i], &b)) {
                tv_unref(a);
                return -1;
            }
            rt->line = n->line;
            rc = compare(rt, n->ops[i], a, b, &res);
            tv_unref(a);
            a = b;
            if (rc) break;
        }
        tv_unref(a);
        *out = tv_bool(res);
        return rc;
    }
    case N_COND:
        if (eval(rt, sc, n->b, &a)) return -1;
        rc = tv_truthy(a);
        tv_unref(a);
        if (rc) return eval(rt, sc, n->a, out);
        if (n->c) return eval(rt, sc, n->c, out);
        *out = tv_undef(NULL);
        return 0;
    case N_LIST:
    case N_TUPLE: {
        tv l = tv_list(&rt->bud, (size_t)n->nkids);
        TLIST(l)->tuple = n->kind == N_TUPLE;
        for (int i = 0; i < n->nkids; i++) {
            if (eval(rt, sc, n->kids[i], &a)) {
                tv_unref(l);
                return -1;
            }
            tlist_push(TLIST(l), a);
        }
        *out = l;
        return 0;
    }
    case N_DICT: {
        tv d = tv_dict(&rt->bud, false);
        for (int i = 0; i + 1 < n->nkids; i += 2) {
            if (eval(rt, sc, n->kids[i], &a)) {
                tv_unref(d);
                return -1;
            }
            if (!tv_hashable(a)) {
                rt->line = n->line;
                tpl_fail(rt, SG_ERR_INVALID, "unhashable type: '%s'", tv_type_name(a));
                tv_unref(a);
                tv_unref(d);
                return -1;
            }
            if (eval(rt, sc, n->kids[i + 1], &b)) {
                tv_unref(a);
                tv_unref(d);
                return -1;
            }
            tdict_set(TDICT(d), a, b);
        }
        *out = d;
        return 0;
    }
    default: return tpl_fail(rt, SG_ERR_INVALID, "internal: bad expression node %d", n->kind);
    }
}

static int eval(tpl_rt *rt, tscope *sc, const tpl_node *n, tv *out)
{
    rt->line = n->line;
    if (!tpl_step(rt)) return -1;
    if (++rt->depth > rt->max_depth) {
        rt->depth--;
        return tpl_fail(rt, SG_ERR_INVALID, "template recursion deeper than %d levels", rt->max_depth);
    }
    int rc = eval_inner(rt, sc, n, out);
    rt->depth--;
    return rc;
}

/* ------------------------------------------------------------ statements */

/* Bind an assignment target (name or tuple of names) in sc. */
static int assign(tpl_rt *rt, tscope *sc, const tpl_node *target, tv v)
{
    if (target->kind == N_NAME) {
        scope_set(rt, sc, target->name, v);
        return 0;
    }
    if (target->kind == N_ATTR) {
        tv ns = lookup(rt, sc, target->a->name);
        if (ns.t != TV_NS) {
            tv_unref(ns);
            tv_unref(v);
            return tpl_fail(rt, SG_ERR_INVALID, "cannot assign attribute on non-namespace object");
        }
        tdict_set(TDICT(ns), tv_cstr(&rt->bud, target->name), v);
        tv_unref(ns);
        return 0;
    }
    tv l;
    int rc = tpl_iterate(rt, v, &l);
    tv_unref(v);
    if (rc) return -1;
    if ((int)TLIST(l)->n != target->nkids) {
        int got = (int)TLIST(l)->n;
        tv_unref(l);
        if (got > target->nkids) return tpl_fail(rt, SG_ERR_INVALID, "too many values to unpack (expected %d)", target->nkids);
        return tpl_fail(rt, SG_ERR_INVALID, "not enough values to unpack (expected %d, got %d)", target->nkids, got);
    }
    for (int i = 0; i < target->nkids && !rc; i++) rc = assign(rt, sc, target->kids[i], tv_ref(TLIST(l)->v[i]));
    tv_unref(l);
    return rc;
}

static int exec_for(tpl_rt *rt, tscope *sc, const tpl_node *n, sbuf *out)
{
    tv it, items;
    if (eval(rt, sc, n->b, &it)) return -1;
    rt->line = n->line;
    int rc = tpl_iterate(rt, it, &items);
    tv_unref(it);
    if (rc) return -1;
    if (n->e) { /* for x in xs if cond: filter first, so loop.length counts kept items */
        tv kept = tv_list(&rt->bud, 0);
        for (size_t i = 0; i < TLIST(items)->n && !rc; i++) {
            tscope fs = {sc, NULL};
            tv c;
            rc = assign(rt, &fs, n->a, tv_ref(TLIST(items)->v[i]));
            if (!rc) rc = eval(rt, &fs, n->e, &c);
            if (!rc) {
                if (tv_truthy(c)) tlist_push(TLIST(kept), tv_ref(TLIST(items)->v[i]));
                tv_unref(c);
            }
            scope_drop(&fs);
        }
        tv_unref(items);
        items = kept;
        if (rc) {
            tv_unref(items);
            return -1;
        }
    }
    tlist *l = TLIST(items);
    if (l->n == 0) {
        tv_unref(items);
        return n->d ? exec_body(rt, sc, n->d, out) : 0;
    }
    tv loop = tv_loop(&rt->bud, l, 1);
    for (size_t i = 0; i < l->n && !rc; i++) {
        TLOOP(loop)->i = (int64_t)i;
        tscope is = {sc, NULL};
        rc = assign(rt, &is, n->a, tv_ref(l->v[i]));
        if (!rc) {
            scope_set(rt, &is, "loop", tv_ref(loop));
            rc = exec_body(rt, &is, n->c, out);
        }
        scope_drop(&is);
        if (rt->ctl == 1) {
            rt->ctl = 0;
            break;
        }
        rt->ctl = 0;
    }
    tv_unref(loop);
    tv_unref(items);
    return rc;
}

static int exec_callblock(tpl_rt *rt, tscope *sc, const tpl_node *n, sbuf *out)
{
    const tpl_node *call = n->a;
    tv fn;
    if (eval(rt, sc, call->a, &fn)) return -1;
    targs a;
    if (eval_args(rt, sc, call, &a, 1)) {
        tv_unref(fn);
        return -1;
    }
    tframe f = {rt->frames, ++rt->serial, sc};
    rt->frames = &f;
    a.kwn[a.nkw] = "caller";
    a.kw[a.nkw++] = tv_macro(&rt->bud, n, f.serial);
    tv r;
    rt->line = n->line;
    int rc = tpl_call_value(rt, fn, &a, &r);
    rt->frames = f.up;
    args_free(&a);
    tv_unref(fn);
    if (rc) return -1;
    sbuf tmp = {0};
    bool ok = tv_write_str(&tmp, r);
    tv_unref(r);
    if (ok) rc = out_put(rt, out, tmp.p ? tmp.p : "", tmp.n);
    else rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "cannot print the result of the call");
    sb_free(&tmp);
    return rc;
}

static int exec_stmt(tpl_rt *rt, tscope *sc, const tpl_node *n, sbuf *out)
{
    tv v;
    int rc = 0;
    switch (n->kind) {
    case N_TEXT: return out_put(rt, out, TSTR(n->val)->s, TSTR(n->val)->len);
    case N_OUTPUT: {
        if (eval(rt, sc, n->a, &v)) return -1;
        rt->line = n->line;
        if (v.t == TV_STR) {
            rc = out_put(rt, out, TSTR(v)->s, TSTR(v)->len);
        } else {
            sbuf tmp = {0};
            if (!tv_write_str(&tmp, v)) rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "cannot print a %s value", tv_type_name(v));
            else rc = out_put(rt, out, tmp.p ? tmp.p : "", tmp.n);
            sb_free(&tmp);
        }
        tv_unref(v);
        return rc;
    }
    case N_BODY: return exec_body(rt, sc, n, out);
    case N_IF:
        if (eval(rt, sc, n->a, &v)) return -1;
        rc = tv_truthy(v);
        tv_unref(v);
        if (rc) return exec_body(rt, sc, n->b, out);
        if (n->c) return n->c->kind == N_IF ? exec_stmt(rt, sc, n->c, out) : exec_body(rt, sc, n->c, out);
        return 0;
    case N_FOR: return exec_for(rt, sc, n, out);
    case N_SET:
        if (eval(rt, sc, n->b, &v)) return -1;
        rt->line = n->line;
        return assign(rt, sc, n->a, v);
    case N_SETBLOCK: {
        sbuf b = {0};
        if (exec_body(rt, sc, n->b, &b)) {
            sb_free(&b);
            return -1;
        }
        v = sb_to_str(&b, &rt->bud);
        if (n->d) {
            tv f;
            rc = apply_filters(rt, sc, n->d, v, &f);
            tv_unref(v);
            if (rc) return -1;
            v = f;
        }
        return assign(rt, sc, n->a, v);
    }
    case N_FILTERBLOCK: {
        sbuf b = {0};
        if (exec_body(rt, sc, n->c, &b)) {
            sb_free(&b);
            return -1;
        }
        tv s = sb_to_str(&b, &rt->bud), f;
        rc = apply_filters(rt, sc, n->d, s, &f);
        tv_unref(s);
        if (rc) return -1;
        sbuf tmp = {0};
        if (!tv_write_str(&tmp, f)) rc = tpl_fail(rt, SG_ERR_UNSUPPORTED, "cannot print a %s value", tv_type_name(f));
        else rc = out_put(rt, out, tmp.p ? tmp.p : "", tmp.n);
        sb_free(&tmp);
        tv_unref(f);
        return rc;
    }
    case N_MACRO: scope_set(rt, sc, n->name, tv_macro(&rt->bud, n, 0)); return 0;
    case N_CALLBLOCK: return exec_callblock(rt, sc, n, out);
    case N_WITH: {
        tscope ws = {sc, NULL};
        for (int i = 0; i < n->nkids && !rc; i++) {
            rc = eval(rt, sc, n->kids[i]->b, &v);
            if (!rc) rc = assign(rt, &ws, n->kids[i]->a, v);
        }
        if (!rc) rc = exec_body(rt, &ws, n->c, out);
        scope_drop(&ws);
        return rc;
    }
    case N_BREAK: rt->ctl = 1; return 0;
    case N_CONTINUE: rt->ctl = 2; return 0;
    default: return tpl_fail(rt, SG_ERR_INVALID, "internal: bad statement node %d", n->kind);
    }
}

static int exec_body(tpl_rt *rt, tscope *sc, const tpl_node *body, sbuf *out)
{
    rt->line = body->line;
    if (!tpl_step(rt)) return -1;
    if (++rt->depth > rt->max_depth) {
        rt->depth--;
        return tpl_fail(rt, SG_ERR_INVALID, "template recursion deeper than %d levels", rt->max_depth);
    }
    int rc = 0;
    for (int i = 0; i < body->nkids && !rc && !rt->ctl; i++) {
        rt->line = body->kids[i]->line;
        if (!tpl_step(rt)) {
            rc = -1;
            break;
        }
        rc = exec_stmt(rt, sc, body->kids[i], out);
    }
    rt->depth--;
    return rc;
}

sg_status tpl_render(const tpl_tree *t, tv ctx, tpl_rt *rt, sbuf *out, sg_error *err)
{
    tscope root = {NULL, NULL};
    rt->root = &root;
    rt->context = TDICT(ctx);
    rt->namespaces = TLIST(tv_list(&rt->bud, 0));
    int rc = exec_body(rt, &root, t->root, out);
    scope_drop(&root);
    /* namespaces may reference themselves: empty them to break cycles */
    tlist *ns = rt->namespaces;
    for (size_t i = 0; i < ns->n; i++) {
        tdict *d = TDICT(ns->v[i]);
        size_t n = d->n;
        tv *k = d->k, *v = d->v;
        d->n = d->cap = 0;
        d->k = d->v = NULL;
        for (size_t j = 0; j < n; j++) {
            tv_unref(k[j]);
            tv_unref(v[j]);
        }
        free(k);
        free(v);
    }
    tv_unref((tv){TV_LIST, {.o = &ns->h}});
    rt->root = NULL;
    if (rc || rt->failed) return sg_fail(err, rt->code ? rt->code : SG_ERR_INVALID, "%s", rt->msg);
    return SG_OK;
}
