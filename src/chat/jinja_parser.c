/*
 * jinja_parser.c -- tokens to a tree, with Jinja2's grammar and precedence.
 *
 * Recursive descent, one function per precedence level, loosest first:
 *
 *   a if cond else b      parse_condexpr
 *   or / and / not        parse_or, parse_and, parse_not
 *   == != < <= > >= in    parse_compare (chains like a < b < c)
 *   + -                   parse_math1
 *   ~                     parse_concat
 *   * / // %              parse_math2
 *   **                    parse_pow (left associative, as in Jinja)
 *   - + (unary)           parse_unary, then postfix (.x [i] (args)) and
 *                         filters / tests (x|f(...) is t ...), which bind
 *                         tighter than every binary operator
 *
 * Statements: if/elif/else, for (with "if" filter and else), set (plain,
 * namespace attribute, tuple, block form), macro, call, filter, with,
 * break/continue, and transformers' {% generation %}. Tags Jinja has but
 * chat templates do not use (extends, block, include, import...) are
 * rejected with an error naming the line. Filters and tests are resolved
 * here, so an unknown one fails when the template is compiled.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

/* Deepest nesting of statements plus expressions (real templates use < 20). */
#define PARSE_MAX_DEPTH 300

typedef struct ps {
    const tpl_toks *t;
    size_t i;
    tpl_tree *tree;
    sg_error *err;
    bool failed;
    sg_status code;
    int depth;
    int loops; /* enclosing for loops (break/continue need one) */
} ps;

typedef struct nvec {
    tpl_node **v;
    char **names;
    int n, cap;
} nvec;

static void *track(ps *p, void *ptr)
{
    tpl_tree *t = p->tree;
    if (t->nallocs == t->capallocs) {
        t->capallocs = t->capallocs ? t->capallocs * 2 : 64;
        void **na = realloc(t->allocs, t->capallocs * sizeof *na);
        if (!na) abort();
        t->allocs = na;
    }
    t->allocs[t->nallocs++] = ptr;
    return ptr;
}

static tpl_node *mk(ps *p, tpl_kind k, int line)
{
    tpl_node *n = sg_xcalloc(1, sizeof *n);
    tpl_tree *t = p->tree;
    if (t->nnodes == t->capnodes) {
        t->capnodes = t->capnodes ? t->capnodes * 2 : 64;
        tpl_node **nn = realloc(t->nodes, t->capnodes * sizeof *nn);
        if (!nn) abort();
        t->nodes = nn;
    }
    t->nodes[t->nnodes++] = n;
    n->kind = (uint8_t)k;
    n->line = line;
    return n;
}

static char *pdup(ps *p, const char *s)
{
    size_t n = strlen(s);
    char *d = track(p, sg_xmalloc(n + 1));
    memcpy(d, s, n + 1);
    return d;
}

static void nv_push(nvec *v, tpl_node *n, char *name)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        tpl_node **nn = realloc(v->v, (size_t)v->cap * sizeof *nn);
        char **nm = realloc(v->names, (size_t)v->cap * sizeof *nm);
        if (!nn || !nm) abort();
        v->v = nn;
        v->names = nm;
    }
    v->v[v->n] = n;
    v->names[v->n] = name;
    v->n++;
}

/* Hand a vector's arrays to the node (kids, and names when with_names). */
static void nv_give(ps *p, nvec *v, tpl_node *n, bool with_names)
{
    n->nkids = v->n;
    n->kids = v->v ? track(p, v->v) : NULL;
    if (with_names && v->names) n->names = track(p, v->names);
    else free(v->names);
    memset(v, 0, sizeof *v);
}

static void nv_free(nvec *v)
{
    free(v->v);
    free(v->names);
    memset(v, 0, sizeof *v);
}

static const tpl_tok *cur(ps *p) { return &p->t->v[p->i]; }
static const tpl_tok *peek(ps *p) { return &p->t->v[p->i + 1 < p->t->n ? p->i + 1 : p->i]; }
static void adv(ps *p) { if (p->i + 1 < p->t->n) p->i++; }

static bool is_op(ps *p, const char *op) { return cur(p)->type == TK_OP && !strcmp(cur(p)->text, op); }
static bool is_name(ps *p, const char *nm) { return cur(p)->type == TK_NAME && !strcmp(cur(p)->text, nm); }

static const char *describe(const tpl_tok *t)
{
    switch (t->type) {
    case TK_EOF: return "end of template";
    case TK_DATA: return "template data";
    case TK_VAR_BEGIN: return "'{{'";
    case TK_VAR_END: return "'}}'";
    case TK_BLOCK_BEGIN: return "'{%'";
    case TK_BLOCK_END: return "'%}'";
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "float";
    default: return t->text;
    }
}

static void *pfail(ps *p, sg_status code, const char *fmt, ...) SG_PRINTF(3, 4);
static void *pfail(ps *p, sg_status code, const char *fmt, ...)
{
    if (p->failed) return NULL;
    p->failed = true;
    p->code = code;
    char m[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    sg_fail(p->err, code, "template line %d: %s", cur(p)->line, m);
    return NULL;
}

static bool expect_op(ps *p, const char *op)
{
    if (is_op(p, op)) {
        adv(p);
        return true;
    }
    pfail(p, SG_ERR_FORMAT, "expected '%s', got %s", op, describe(cur(p)));
    return false;
}

static bool expect_end(ps *p)
{
    if (cur(p)->type == TK_BLOCK_END) {
        adv(p);
        return true;
    }
    pfail(p, SG_ERR_FORMAT, "expected end of statement '%%}', got %s", describe(cur(p)));
    return false;
}

static const char *expect_ident(ps *p)
{
    if (cur(p)->type != TK_NAME) return pfail(p, SG_ERR_FORMAT, "expected a name, got %s", describe(cur(p)));
    const char *s = cur(p)->text;
    adv(p);
    return s;
}

static bool enter(ps *p)
{
    if (++p->depth > PARSE_MAX_DEPTH) {
        pfail(p, SG_ERR_UNSUPPORTED, "template nested too deeply (more than %d levels)", PARSE_MAX_DEPTH);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ expressions */

static tpl_node *parse_expression(ps *p, bool with_condexpr);
static tpl_node *parse_tuple(ps *p, bool with_condexpr, const char *extra_end, bool explicit_parens);
static tpl_node *parse_unary(ps *p, bool with_filter);
static tpl_node *parse_postfix(ps *p, tpl_node *n);
static tpl_node *parse_primary(ps *p);

/* (args, key=value, ...) after the '(' has been seen. */
static bool parse_call_args(ps *p, tpl_node *n)
{
    nvec v = {0};
    bool kw_seen = false, need_comma = false;
    if (!expect_op(p, "(")) return false;
    while (!is_op(p, ")")) {
        if (need_comma) {
            if (!expect_op(p, ",")) goto fail;
            if (is_op(p, ")")) break;
        }
        if (is_op(p, "*") || is_op(p, "**")) {
            pfail(p, SG_ERR_UNSUPPORTED, "*args and **kwargs in calls are not supported");
            goto fail;
        }
        char *kw = NULL;
        if (cur(p)->type == TK_NAME && peek(p)->type == TK_OP && !strcmp(peek(p)->text, "=")) {
            kw = pdup(p, cur(p)->text);
            adv(p);
            adv(p);
            kw_seen = true;
        } else if (kw_seen) {
            pfail(p, SG_ERR_FORMAT, "invalid syntax for function call expression (positional argument after keyword)");
            goto fail;
        }
        tpl_node *a = parse_expression(p, true);
        if (!a) goto fail;
        nv_push(&v, a, kw);
        need_comma = true;
    }
    adv(p);
    nv_give(p, &v, n, true);
    return true;
fail:
    nv_free(&v);
    return false;
}

static tpl_node *parse_filter(ps *p, tpl_node *in, bool start_inline)
{
    while (is_op(p, "|") || start_inline) {
        if (!start_inline) adv(p);
        start_inline = false;
        int line = cur(p)->line;
        const char *nm = expect_ident(p);
        if (!nm) return NULL;
        char name[128];
        snprintf(name, sizeof name, "%s", nm);
        while (is_op(p, ".")) {
            adv(p);
            const char *more = expect_ident(p);
            if (!more) return NULL;
            size_t l = strlen(name);
            snprintf(name + l, sizeof name - l, ".%s", more);
        }
        tpl_node *f = mk(p, N_FILTER, line);
        f->a = in;
        f->name = pdup(p, name);
        f->op = tpl_filter_id(name);
        if (f->op < 0) return pfail(p, SG_ERR_UNSUPPORTED, "unknown filter '%s'", name);
        if (is_op(p, "(") && !parse_call_args(p, f)) return NULL;
        in = f;
    }
    return in;
}

static tpl_node *parse_test(ps *p, tpl_node *in)
{
    int line = cur(p)->line;
    adv(p); /* is */
    bool neg = false;
    if (is_name(p, "not")) {
        adv(p);
        neg = true;
    }
    const char *nm = expect_ident(p);
    if (!nm) return NULL;
    char name[128];
    snprintf(name, sizeof name, "%s", nm);
    while (is_op(p, ".")) {
        adv(p);
        const char *more = expect_ident(p);
        if (!more) return NULL;
        size_t l = strlen(name);
        snprintf(name + l, sizeof name - l, ".%s", more);
    }
    tpl_node *t = mk(p, N_TEST, line);
    t->a = in;
    t->neg = neg;
    t->name = pdup(p, name);
    t->op = tpl_test_id(name);
    if (t->op < 0) return pfail(p, SG_ERR_UNSUPPORTED, "unknown test '%s'", name);
    const tpl_tok *c = cur(p);
    if (is_op(p, "(")) {
        if (!parse_call_args(p, t)) return NULL;
    } else if ((c->type == TK_NAME || c->type == TK_STRING || c->type == TK_INT || c->type == TK_FLOAT || is_op(p, "[") ||
                is_op(p, "{")) &&
               !is_name(p, "else") && !is_name(p, "or") && !is_name(p, "and")) {
        if (is_name(p, "is")) return pfail(p, SG_ERR_FORMAT, "you cannot chain multiple tests with is");
        tpl_node *arg = parse_primary(p);
        if (arg) arg = parse_postfix(p, arg);
        if (!arg) return NULL;
        tpl_node **k = track(p, sg_xmalloc(sizeof *k));
        k[0] = arg;
        t->kids = k;
        t->nkids = 1;
    }
    return t;
}

static tpl_node *parse_filter_expr(ps *p, tpl_node *n)
{
    while (n) {
        if (is_op(p, "|")) n = parse_filter(p, n, false);
        else if (is_name(p, "is")) n = parse_test(p, n);
        else if (is_op(p, "(")) {
            tpl_node *c = mk(p, N_CALL, cur(p)->line);
            c->a = n;
            n = parse_call_args(p, c) ? c : NULL;
        } else break;
    }
    return n;
}

/* Inside [...]: an index or a slice a:b:c. */
static tpl_node *parse_subscribed(ps *p)
{
    int line = cur(p)->line;
    tpl_node *args[3] = {NULL, NULL, NULL};
    if (is_op(p, ":")) {
        adv(p);
    } else {
        tpl_node *e = parse_expression(p, true);
        if (!e || !is_op(p, ":")) return e;
        adv(p);
        args[0] = e;
    }
    if (!is_op(p, ":") && !is_op(p, "]") && !is_op(p, ",")) {
        if (!(args[1] = parse_expression(p, true))) return NULL;
    }
    if (is_op(p, ":")) {
        adv(p);
        if (!is_op(p, "]") && !is_op(p, ",")) {
            if (!(args[2] = parse_expression(p, true))) return NULL;
        }
    }
    tpl_node *s = mk(p, N_SLICE, line);
    s->b = args[0];
    s->c = args[1];
    s->d = args[2];
    return s;
}

static tpl_node *parse_postfix(ps *p, tpl_node *n)
{
    while (n) {
        int line = cur(p)->line;
        if (is_op(p, ".")) {
            adv(p);
            if (cur(p)->type == TK_NAME) {
                tpl_node *a = mk(p, N_ATTR, line);
                a->a = n;
                a->name = pdup(p, cur(p)->text);
                adv(p);
                n = a;
            } else if (cur(p)->type == TK_INT) {
                tpl_node *k = mk(p, N_CONST, line);
                k->val = tv_int(cur(p)->ival);
                adv(p);
                tpl_node *g = mk(p, N_ITEM, line);
                g->a = n;
                g->b = k;
                n = g;
            } else {
                return pfail(p, SG_ERR_FORMAT, "expected a name or number after '.', got %s", describe(cur(p)));
            }
        } else if (is_op(p, "[")) {
            adv(p);
            nvec v = {0};
            while (!is_op(p, "]")) {
                if (v.n && !expect_op(p, ",")) {
                    nv_free(&v);
                    return NULL;
                }
                if (is_op(p, "]")) break;
                tpl_node *s = parse_subscribed(p);
                if (!s) {
                    nv_free(&v);
                    return NULL;
                }
                nv_push(&v, s, NULL);
            }
            adv(p);
            if (v.n == 0) {
                nv_free(&v);
                return pfail(p, SG_ERR_FORMAT, "expected an index inside []");
            }
            tpl_node *key;
            if (v.n == 1) {
                key = v.v[0];
                nv_free(&v);
            } else {
                for (int i = 0; i < v.n; i++)
                    if (v.v[i]->kind == N_SLICE) {
                        nv_free(&v);
                        return pfail(p, SG_ERR_UNSUPPORTED, "a slice inside a tuple subscript is not supported");
                    }
                key = mk(p, N_TUPLE, line);
                nv_give(p, &v, key, false);
            }
            if (key->kind == N_SLICE) {
                key->a = n;
                n = key;
            } else {
                tpl_node *g = mk(p, N_ITEM, line);
                g->a = n;
                g->b = key;
                n = g;
            }
        } else if (is_op(p, "(")) {
            tpl_node *c = mk(p, N_CALL, line);
            c->a = n;
            if (!parse_call_args(p, c)) return NULL;
            n = c;
        } else {
            break;
        }
    }
    return n;
}

static tpl_node *parse_primary(ps *p)
{
    if (!enter(p)) return NULL;
    const tpl_tok *t = cur(p);
    tpl_node *n = NULL;
    if (t->type == TK_NAME) {
        const char *s = t->text;
        n = mk(p, N_CONST, t->line);
        if (!strcmp(s, "true") || !strcmp(s, "True")) n->val = tv_bool(true);
        else if (!strcmp(s, "false") || !strcmp(s, "False")) n->val = tv_bool(false);
        else if (!strcmp(s, "none") || !strcmp(s, "None")) n->val = tv_none();
        else {
            n->kind = N_NAME;
            n->name = pdup(p, s);
        }
        adv(p);
    } else if (t->type == TK_STRING) {
        sbuf b = {0};
        int line = t->line;
        while (cur(p)->type == TK_STRING) { /* 'a' 'b' is 'ab' */
            sb_put(&b, cur(p)->text, cur(p)->len);
            adv(p);
        }
        n = mk(p, N_CONST, line);
        n->val = sb_to_str(&b, NULL);
    } else if (t->type == TK_INT || t->type == TK_FLOAT) {
        n = mk(p, N_CONST, t->line);
        n->val = t->type == TK_INT ? tv_int(t->ival) : tv_float(t->fval);
        adv(p);
    } else if (is_op(p, "(")) {
        adv(p);
        n = parse_tuple(p, true, NULL, true);
        if (n && !expect_op(p, ")")) n = NULL;
    } else if (is_op(p, "[") || is_op(p, "{")) {
        bool dict = is_op(p, "{");
        const char *close = dict ? "}" : "]";
        n = mk(p, dict ? N_DICT : N_LIST, t->line);
        adv(p);
        nvec v = {0};
        while (!is_op(p, close)) {
            if (v.n && !expect_op(p, ",")) goto fail;
            if (is_op(p, close)) break;
            tpl_node *e = parse_expression(p, true);
            if (!e) goto fail;
            nv_push(&v, e, NULL);
            if (dict) {
                if (!expect_op(p, ":")) goto fail;
                if (!(e = parse_expression(p, true))) goto fail;
                nv_push(&v, e, NULL);
            }
        }
        adv(p);
        nv_give(p, &v, n, false);
        goto done;
    fail:
        nv_free(&v);
        n = NULL;
    } else {
        pfail(p, SG_ERR_FORMAT, "unexpected %s", describe(t));
    }
done:
    p->depth--;
    return n;
}

static tpl_node *parse_unary(ps *p, bool with_filter)
{
    if (!enter(p)) return NULL;
    tpl_node *n;
    int line = cur(p)->line;
    if (is_op(p, "-") || is_op(p, "+")) {
        int op = cur(p)->text[0];
        adv(p);
        tpl_node *x = parse_unary(p, false);
        if (!x) {
            p->depth--;
            return NULL;
        }
        n = mk(p, N_UNARY, line);
        n->op = op;
        n->a = x;
    } else {
        n = parse_primary(p);
    }
    n = parse_postfix(p, n);
    if (with_filter) n = parse_filter_expr(p, n);
    p->depth--;
    return n;
}

static tpl_node *binary(ps *p, int op, tpl_node *a, tpl_node *b, int line)
{
    if (!a || !b) return NULL;
    tpl_node *n = mk(p, N_BINARY, line);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static tpl_node *parse_pow(ps *p)
{
    tpl_node *n = parse_unary(p, true);
    while (n && is_op(p, "**")) {
        int line = cur(p)->line;
        adv(p);
        n = binary(p, OP_POW, n, parse_unary(p, true), line);
    }
    return n;
}

static tpl_node *parse_math2(ps *p)
{
    tpl_node *n = parse_pow(p);
    for (;;) {
        int op = is_op(p, "*") ? OP_MUL : is_op(p, "/") ? OP_DIV : is_op(p, "//") ? OP_FLOORDIV : is_op(p, "%") ? OP_MOD : 0;
        if (!n || !op) return n;
        int line = cur(p)->line;
        adv(p);
        n = binary(p, op, n, parse_pow(p), line);
    }
}

static tpl_node *parse_concat(ps *p)
{
    tpl_node *n = parse_math2(p);
    while (n && is_op(p, "~")) {
        int line = cur(p)->line;
        adv(p);
        n = binary(p, OP_CONCAT, n, parse_math2(p), line);
    }
    return n;
}

static tpl_node *parse_math1(ps *p)
{
    tpl_node *n = parse_concat(p);
    for (;;) {
        int op = is_op(p, "+") ? OP_ADD : is_op(p, "-") ? OP_SUB : 0;
        if (!n || !op) return n;
        int line = cur(p)->line;
        adv(p);
        n = binary(p, op, n, parse_concat(p), line);
    }
}

static tpl_node *parse_compare(ps *p)
{
    int line = cur(p)->line;
    tpl_node *first = parse_math1(p);
    if (!first) return NULL;
    nvec v = {0};
    int *ops = NULL, nops = 0;
    for (;;) {
        int op = is_op(p, "==") ? OP_EQ : is_op(p, "!=") ? OP_NE : is_op(p, "<") ? OP_LT : is_op(p, "<=") ? OP_LE
               : is_op(p, ">") ? OP_GT : is_op(p, ">=") ? OP_GE : 0;
        if (op) {
            adv(p);
        } else if (is_name(p, "in")) {
            op = OP_IN;
            adv(p);
        } else if (is_name(p, "not") && peek(p)->type == TK_NAME && !strcmp(peek(p)->text, "in")) {
            op = OP_NOTIN;
            adv(p);
            adv(p);
        } else {
            break;
        }
        tpl_node *x = parse_math1(p);
        if (!x) {
            nv_free(&v);
            free(ops);
            return NULL;
        }
        nv_push(&v, x, NULL);
        int *no = realloc(ops, (size_t)(nops + 1) * sizeof *no);
        if (!no) abort();
        ops = no;
        ops[nops++] = op;
    }
    if (!v.n) return first;
    tpl_node *n = mk(p, N_COMPARE, line);
    n->a = first;
    nv_give(p, &v, n, false);
    n->ops = track(p, ops);
    return n;
}

static tpl_node *parse_not(ps *p)
{
    if (is_name(p, "not")) {
        int line = cur(p)->line;
        adv(p);
        if (!enter(p)) return NULL;
        tpl_node *x = parse_not(p);
        p->depth--;
        if (!x) return NULL;
        tpl_node *n = mk(p, N_UNARY, line);
        n->op = '!';
        n->a = x;
        return n;
    }
    return parse_compare(p);
}

static tpl_node *parse_and(ps *p)
{
    tpl_node *n = parse_not(p);
    while (n && is_name(p, "and")) {
        int line = cur(p)->line;
        adv(p);
        tpl_node *b = parse_not(p);
        if (!b) return NULL;
        tpl_node *x = mk(p, N_AND, line);
        x->a = n;
        x->b = b;
        n = x;
    }
    return n;
}

static tpl_node *parse_or(ps *p)
{
    tpl_node *n = parse_and(p);
    while (n && is_name(p, "or")) {
        int line = cur(p)->line;
        adv(p);
        tpl_node *b = parse_and(p);
        if (!b) return NULL;
        tpl_node *x = mk(p, N_OR, line);
        x->a = n;
        x->b = b;
        n = x;
    }
    return n;
}

static tpl_node *parse_condexpr(ps *p)
{
    tpl_node *n = parse_or(p);
    while (n && is_name(p, "if")) {
        int line = cur(p)->line;
        adv(p);
        tpl_node *test = parse_or(p);
        if (!test) return NULL;
        tpl_node *alt = NULL;
        if (is_name(p, "else")) {
            adv(p);
            if (!enter(p)) return NULL;
            alt = parse_condexpr(p);
            p->depth--;
            if (!alt) return NULL;
        }
        tpl_node *c = mk(p, N_COND, line);
        c->a = n;
        c->b = test;
        c->c = alt;
        n = c;
    }
    return n;
}

static tpl_node *parse_expression(ps *p, bool with_condexpr)
{
    if (!enter(p)) return NULL;
    tpl_node *n = with_condexpr ? parse_condexpr(p) : parse_or(p);
    p->depth--;
    return n;
}

static bool tuple_end(ps *p, const char *extra_end)
{
    const tpl_tok *t = cur(p);
    return t->type == TK_VAR_END || t->type == TK_BLOCK_END || t->type == TK_EOF || is_op(p, ")") ||
           (extra_end && is_name(p, extra_end));
}

/* a, b, c -> tuple; a single expression stays itself. */
static tpl_node *parse_tuple(ps *p, bool with_condexpr, const char *extra_end, bool explicit_parens)
{
    int line = cur(p)->line;
    nvec v = {0};
    bool is_tuple = false;
    for (;;) {
        if (v.n && !expect_op(p, ",")) goto fail;
        if (tuple_end(p, extra_end)) break;
        tpl_node *e = parse_expression(p, with_condexpr);
        if (!e) goto fail;
        nv_push(&v, e, NULL);
        if (is_op(p, ",")) is_tuple = true;
        else break;
    }
    if (!is_tuple) {
        if (v.n) {
            tpl_node *e = v.v[0];
            nv_free(&v);
            return e;
        }
        if (!explicit_parens) {
            nv_free(&v);
            return pfail(p, SG_ERR_FORMAT, "expected an expression, got %s", describe(cur(p)));
        }
    }
    tpl_node *t = mk(p, N_TUPLE, line);
    nv_give(p, &v, t, false);
    return t;
fail:
    nv_free(&v);
    return NULL;
}

/* ------------------------------------------------------------ statements */

static tpl_node *parse_body(ps *p, const char *const *ends);

/* for/set targets: a name, or names separated by commas (optionally in
 * parentheses); with_ns also allows ns.attr. */
static tpl_node *parse_target(ps *p, bool with_ns, const char *extra_end)
{
    int line = cur(p)->line;
    if (with_ns && cur(p)->type == TK_NAME && peek(p)->type == TK_OP && !strcmp(peek(p)->text, ".")) {
        tpl_node *n = mk(p, N_ATTR, line);
        tpl_node *base = mk(p, N_NAME, line);
        base->name = pdup(p, cur(p)->text);
        adv(p);
        adv(p);
        const char *attr = expect_ident(p);
        if (!attr) return NULL;
        n->a = base;
        n->name = pdup(p, attr);
        return n;
    }
    nvec v = {0};
    bool paren = false, is_tuple = false;
    if (is_op(p, "(")) {
        paren = true;
        adv(p);
    }
    for (;;) {
        if (cur(p)->type != TK_NAME) {
            nv_free(&v);
            return pfail(p, SG_ERR_FORMAT, "can't assign to %s", describe(cur(p)));
        }
        const char *nm = cur(p)->text;
        if (!strcmp(nm, "true") || !strcmp(nm, "false") || !strcmp(nm, "none") || !strcmp(nm, "True") ||
            !strcmp(nm, "False") || !strcmp(nm, "None")) {
            nv_free(&v);
            return pfail(p, SG_ERR_FORMAT, "can't assign to '%s'", nm);
        }
        tpl_node *n = mk(p, N_NAME, cur(p)->line);
        n->name = pdup(p, nm);
        adv(p);
        nv_push(&v, n, NULL);
        if (!is_op(p, ",")) break;
        adv(p);
        is_tuple = true;
        if ((paren && is_op(p, ")")) || (extra_end && is_name(p, extra_end)) || is_op(p, "=")) break;
    }
    if (paren && !expect_op(p, ")")) {
        nv_free(&v);
        return NULL;
    }
    if (!is_tuple && !paren) {
        tpl_node *n = v.v[0];
        nv_free(&v);
        return n;
    }
    tpl_node *t = mk(p, N_TUPLE, line);
    nv_give(p, &v, t, false);
    return t;
}

/* Expect "{% endNAME %}" where the parser stopped (at the name). */
static bool expect_endtag(ps *p, const char *end)
{
    if (!is_name(p, end)) {
        pfail(p, SG_ERR_FORMAT, "expected '%s'", end);
        return false;
    }
    adv(p);
    return expect_end(p);
}

static tpl_node *parse_for(ps *p, int line)
{
    tpl_node *n = mk(p, N_FOR, line);
    if (!(n->a = parse_target(p, false, "in"))) return NULL;
    if (!is_name(p, "in")) return pfail(p, SG_ERR_FORMAT, "expected 'in' in for loop, got %s", describe(cur(p)));
    adv(p);
    if (!(n->b = parse_tuple(p, false, "recursive", false))) return NULL;
    if (is_name(p, "if")) {
        adv(p);
        if (!(n->e = parse_expression(p, true))) return NULL;
    }
    if (is_name(p, "recursive")) return pfail(p, SG_ERR_UNSUPPORTED, "recursive for loops are not supported");
    if (!expect_end(p)) return NULL;
    static const char *const ends1[] = {"endfor", "else", NULL}, *const ends2[] = {"endfor", NULL};
    p->loops++;
    n->c = parse_body(p, ends1);
    p->loops--;
    if (!n->c) return NULL;
    if (is_name(p, "else")) {
        adv(p);
        if (!expect_end(p)) return NULL;
        if (!(n->d = parse_body(p, ends2))) return NULL;
    }
    return expect_endtag(p, "endfor") ? n : NULL;
}

static tpl_node *parse_if(ps *p, int line)
{
    tpl_node *n = mk(p, N_IF, line);
    if (!(n->a = parse_tuple(p, false, NULL, false)) || !expect_end(p)) return NULL;
    static const char *const ends[] = {"elif", "else", "endif", NULL}, *const ends2[] = {"endif", NULL};
    if (!(n->b = parse_body(p, ends))) return NULL;
    if (is_name(p, "elif")) {
        int l2 = cur(p)->line;
        adv(p);
        n->c = parse_if(p, l2); /* consumes the endif */
        return n->c ? n : NULL;
    }
    if (is_name(p, "else")) {
        adv(p);
        if (!expect_end(p) || !(n->c = parse_body(p, ends2))) return NULL;
    }
    return expect_endtag(p, "endif") ? n : NULL;
}

static tpl_node *parse_set(ps *p, int line)
{
    tpl_node *target = parse_target(p, true, NULL);
    if (!target) return NULL;
    if (is_op(p, "=")) {
        adv(p);
        tpl_node *n = mk(p, N_SET, line);
        n->a = target;
        if (!(n->b = parse_tuple(p, true, NULL, false)) || !expect_end(p)) return NULL;
        return n;
    }
    if (target->kind != N_NAME) return pfail(p, SG_ERR_FORMAT, "expected '=' in set");
    tpl_node *n = mk(p, N_SETBLOCK, line);
    n->a = target;
    if (is_op(p, "|")) { /* {% set x | filter %}: the chain is applied to the body */
        tpl_node *chain = parse_filter(p, NULL, false);
        if (!chain) return NULL;
        n->d = chain;
    }
    if (!expect_end(p)) return NULL;
    static const char *const ends[] = {"endset", NULL};
    if (!(n->b = parse_body(p, ends))) return NULL;
    return expect_endtag(p, "endset") ? n : NULL;
}

/* (a, b=default, ...) of a macro or a call block's caller. */
static bool parse_params(ps *p, tpl_node *n)
{
    nvec v = {0};
    bool had_default = false;
    if (!expect_op(p, "(")) return false;
    while (!is_op(p, ")")) {
        if (v.n && !expect_op(p, ",")) goto fail;
        if (is_op(p, ")")) break;
        const char *nm = expect_ident(p);
        if (!nm) goto fail;
        tpl_node *a = mk(p, N_NAME, cur(p)->line);
        a->name = pdup(p, nm);
        if (is_op(p, "=")) {
            adv(p);
            if (!(a->b = parse_expression(p, true))) goto fail;
            had_default = true;
        } else if (had_default) {
            pfail(p, SG_ERR_FORMAT, "non-default argument follows default argument");
            goto fail;
        }
        nv_push(&v, a, NULL);
    }
    adv(p);
    nv_give(p, &v, n, false);
    return true;
fail:
    nv_free(&v);
    return false;
}

static tpl_node *parse_macro(ps *p, int line)
{
    tpl_node *n = mk(p, N_MACRO, line);
    const char *nm = expect_ident(p);
    if (!nm) return NULL;
    n->name = pdup(p, nm);
    if (!parse_params(p, n) || !expect_end(p)) return NULL;
    static const char *const ends[] = {"endmacro", NULL};
    int loops = p->loops;
    p->loops = 0;
    n->c = parse_body(p, ends);
    p->loops = loops;
    if (!n->c) return NULL;
    return expect_endtag(p, "endmacro") ? n : NULL;
}

static tpl_node *parse_callblock(ps *p, int line)
{
    tpl_node *n = mk(p, N_CALLBLOCK, line);
    if (is_op(p, "(") && !parse_params(p, n)) return NULL;
    tpl_node *call = parse_expression(p, true);
    if (!call) return NULL;
    if (call->kind != N_CALL) return pfail(p, SG_ERR_FORMAT, "expected a call after {%% call %%}");
    n->a = call;
    if (!expect_end(p)) return NULL;
    static const char *const ends[] = {"endcall", NULL};
    int loops = p->loops;
    p->loops = 0;
    n->c = parse_body(p, ends);
    p->loops = loops;
    if (!n->c) return NULL;
    return expect_endtag(p, "endcall") ? n : NULL;
}

static tpl_node *parse_filterblock(ps *p, int line)
{
    tpl_node *n = mk(p, N_FILTERBLOCK, line);
    if (!(n->d = parse_filter(p, NULL, true)) || !expect_end(p)) return NULL;
    static const char *const ends[] = {"endfilter", NULL};
    if (!(n->c = parse_body(p, ends))) return NULL;
    return expect_endtag(p, "endfilter") ? n : NULL;
}

static tpl_node *parse_with(ps *p, int line)
{
    tpl_node *n = mk(p, N_WITH, line);
    nvec v = {0};
    while (cur(p)->type != TK_BLOCK_END) {
        if (v.n && !expect_op(p, ",")) goto fail;
        tpl_node *s = mk(p, N_SET, cur(p)->line);
        if (!(s->a = parse_target(p, false, NULL)) || !expect_op(p, "=") || !(s->b = parse_expression(p, true))) goto fail;
        nv_push(&v, s, NULL);
    }
    nv_give(p, &v, n, false);
    adv(p);
    static const char *const ends[] = {"endwith", NULL};
    if (!(n->c = parse_body(p, ends))) return NULL;
    return expect_endtag(p, "endwith") ? n : NULL;
fail:
    nv_free(&v);
    return NULL;
}

static tpl_node *parse_statement(ps *p)
{
    const tpl_tok *t = cur(p);
    int line = t->line;
    if (t->type != TK_NAME) return pfail(p, SG_ERR_FORMAT, "expected a statement name after '{%%', got %s", describe(t));
    const char *k = t->text;
    adv(p);
    if (!strcmp(k, "for")) return parse_for(p, line);
    if (!strcmp(k, "if")) return parse_if(p, line);
    if (!strcmp(k, "set")) return parse_set(p, line);
    if (!strcmp(k, "macro")) return parse_macro(p, line);
    if (!strcmp(k, "call")) return parse_callblock(p, line);
    if (!strcmp(k, "filter")) return parse_filterblock(p, line);
    if (!strcmp(k, "with")) return parse_with(p, line);
    if (!strcmp(k, "break") || !strcmp(k, "continue")) {
        if (!p->loops) {
            p->i--;
            return pfail(p, SG_ERR_FORMAT, "'%s' outside of a for loop", k);
        }
        tpl_node *n = mk(p, k[0] == 'b' ? N_BREAK : N_CONTINUE, line);
        return expect_end(p) ? n : NULL;
    }
    if (!strcmp(k, "generation")) { /* transformers' assistant-mask marker: renders its body */
        static const char *const ends[] = {"endgeneration", NULL};
        if (!expect_end(p)) return NULL;
        tpl_node *w = mk(p, N_WITH, line); /* its own scope, like the CallBlock transformers makes */
        if (!(w->c = parse_body(p, ends))) return NULL;
        return expect_endtag(p, "endgeneration") ? w : NULL;
    }
    p->i--;
    static const char *const known[] = {"extends", "block", "include", "import", "from", "autoescape", "do", "trans", NULL};
    for (int i = 0; known[i]; i++)
        if (!strcmp(k, known[i])) return pfail(p, SG_ERR_UNSUPPORTED, "the '%s' tag is not supported in chat templates", k);
    return pfail(p, SG_ERR_FORMAT, "unknown tag '%s'", k);
}

static bool is_end(ps *p, const char *const *ends)
{
    for (int i = 0; ends && ends[i]; i++)
        if (is_name(p, ends[i])) return true;
    return false;
}

/* Statements and output up to "{% <one of ends>" (left at the name) or EOF. */
static tpl_node *parse_body(ps *p, const char *const *ends)
{
    if (!enter(p)) return NULL;
    tpl_node *body = mk(p, N_BODY, cur(p)->line);
    nvec v = {0};
    for (;;) {
        const tpl_tok *t = cur(p);
        tpl_node *n = NULL;
        if (t->type == TK_EOF) {
            if (ends) {
                pfail(p, SG_ERR_FORMAT, "unexpected end of template: missing {%% %s %%}", ends[0]);
                goto fail;
            }
            break;
        } else if (t->type == TK_DATA) {
            n = mk(p, N_TEXT, t->line);
            n->val = tv_str(NULL, t->text, t->len);
            adv(p);
        } else if (t->type == TK_VAR_BEGIN) {
            adv(p);
            n = mk(p, N_OUTPUT, t->line);
            if (!(n->a = parse_tuple(p, true, NULL, false))) goto fail;
            if (cur(p)->type != TK_VAR_END) {
                pfail(p, SG_ERR_FORMAT, "expected '}}', got %s", describe(cur(p)));
                goto fail;
            }
            adv(p);
        } else if (t->type == TK_BLOCK_BEGIN) {
            adv(p);
            if (is_end(p, ends)) break;
            if (!(n = parse_statement(p))) goto fail;
        } else {
            pfail(p, SG_ERR_FORMAT, "unexpected %s", describe(t));
            goto fail;
        }
        nv_push(&v, n, NULL);
    }
    nv_give(p, &v, body, false);
    p->depth--;
    return body;
fail:
    nv_free(&v);
    p->depth--;
    return NULL;
}

sg_status tpl_parse(const tpl_toks *toks, tpl_tree *out, sg_error *err)
{
    memset(out, 0, sizeof *out);
    ps p = {.t = toks, .tree = out, .err = err};
    out->root = parse_body(&p, NULL);
    if (!out->root) {
        sg_status code = p.failed ? p.code : sg_fail(err, SG_ERR_FORMAT, "template: parse error");
        tpl_tree_free(out);
        return code;
    }
    return SG_OK;
}

void tpl_tree_free(tpl_tree *t)
{
    for (size_t i = 0; i < t->nnodes; i++) {
        tv_unref(t->nodes[i]->val); /* string constants */
        free(t->nodes[i]);
    }
    for (size_t i = 0; i < t->nallocs; i++) free(t->allocs[i]);
    free(t->nodes);
    free(t->allocs);
    memset(t, 0, sizeof *t);
}
