/*
 * jinja.h -- internals of the chat-template engine (a Jinja2 subset).
 *
 * Chat templates are small Jinja2 programs shipped with models. The engine
 * reproduces, byte for byte, what Python's Jinja2 renders with the settings
 * Hugging Face transformers uses (trim_blocks, lstrip_blocks, loop controls,
 * the default lenient Undefined, a tojson without HTML escaping). It is split
 * the way the data flows:
 *
 *   jinja_lexer.c    source text -> tokens (data, tag delimiters, names, ...),
 *                    applying Jinja's whitespace control
 *   jinja_parser.c   tokens -> a tree of tpl_node (statements, expressions)
 *   jinja_value.c    the value model: Python-like none/bool/int/float/str/
 *                    list/tuple/dict plus namespace, loop, macro, method;
 *                    refcounted, with Python's str(), repr(), ==, <, truth
 *   jinja_json.c     JSON text <-> values (ints and floats kept apart, as
 *                    Python's json module does)
 *   jinja_interp.c   evaluates the tree: scopes, loops, macros, limits
 *   jinja_filters.c  filters, tests, methods of str/dict/list, globals
 *   template.c       the public sg_template_* / sg_chat_* API
 *
 * Values are passed by value as a small tagged struct (tv); strings,
 * containers and other objects are refcounted heap objects. Every object
 * created while rendering is charged to the render's memory budget so a
 * template cannot exhaust memory; allocation failure aborts (the budget keeps
 * requests far below what the machine has).
 */
#ifndef SG_CHAT_JINJA_H
#define SG_CHAT_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "stargate.h"

/* ------------------------------------------------------------ values */

typedef enum tv_type {
    TV_UNDEF, /* Jinja's Undefined: prints empty, false, iterates as empty */
    TV_NONE,
    TV_BOOL,
    TV_INT,
    TV_FLOAT,
    TV_STR,
    TV_LIST,   /* list, tuple, or a one-shot iterator (tlist flags) */
    TV_DICT,
    TV_NS,     /* namespace(): a dict whose attributes can be assigned */
    TV_LOOP,   /* the `loop` variable of a for loop */
    TV_FUNC,   /* a global function (range, namespace, raise_exception...) */
    TV_MACRO,  /* a {% macro %} or the `caller` of a {% call %} block */
    TV_METHOD, /* a method bound to its object: 'a b'.split, d.items ... */
} tv_type;

typedef struct tpl_budget {
    size_t used, limit; /* bytes charged by live objects; limit 0 = none */
    bool over;          /* sticky: the limit was passed */
} tpl_budget;

typedef struct tobj {
    int64_t rc;
    size_t charged;     /* bytes charged to bud */
    tpl_budget *bud;    /* NULL for objects made while compiling */
} tobj;

typedef struct tv {
    tv_type t;
    union {
        bool b;
        int64_t i;
        double f;
        tobj *o;
        const char *hint; /* TV_UNDEF: the missing name, for messages (may be NULL) */
        int fn;           /* TV_FUNC: builtin id */
    } u;
} tv;

typedef struct tstr {
    tobj h;
    size_t len;
    bool safe;          /* a markupsafe.Markup (from |safe or |escape): "+" escapes plain operands */
    char s[];           /* UTF-8, NUL-terminated */
} tstr;

typedef struct tlist {
    tobj h;
    size_t n, cap;
    bool tuple;         /* prints as (a, b) and never equals a list */
    bool iter;          /* a Python iterator/generator: true when tested, no len() */
    bool consumed;      /* an iterator already walked: further walks are empty */
    tv *v;
} tlist;

typedef struct tdict { /* insertion-ordered, like Python's dict */
    tobj h;
    size_t n, cap;
    tv *k, *v;
} tdict;

typedef struct tloop {
    tobj h;
    int64_t i, n;       /* 0-based index, length */
    tlist *items;       /* for previtem / nextitem */
    int depth;
} tloop;

struct tpl_node;
typedef struct tmacro {
    tobj h;
    const struct tpl_node *node; /* N_MACRO, or N_CALLBLOCK for a caller */
    uint64_t frame;              /* caller: serial of the call frame it belongs to */
} tmacro;

typedef struct tmethod {
    tobj h;
    tv self;
    int id;             /* enum tpl_method */
} tmethod;

#define TSTR(v) ((tstr *)(v).u.o)
#define TLIST(v) ((tlist *)(v).u.o)
#define TDICT(v) ((tdict *)(v).u.o)
#define TLOOP(v) ((tloop *)(v).u.o)
#define TMACRO(v) ((tmacro *)(v).u.o)
#define TMETHOD(v) ((tmethod *)(v).u.o)

static inline tv tv_undef(const char *hint) { tv v = {TV_UNDEF, {.hint = hint}}; return v; }
static inline tv tv_none(void) { tv v = {TV_NONE, {.i = 0}}; return v; }
static inline tv tv_bool(bool b) { tv v = {TV_BOOL, {.b = b}}; return v; }
static inline tv tv_int(int64_t i) { tv v = {TV_INT, {.i = i}}; return v; }
static inline tv tv_float(double f) { tv v = {TV_FLOAT, {.f = f}}; return v; }
static inline tv tv_func(int fn) { tv v = {TV_FUNC, {.fn = fn}}; return v; }
static inline bool tv_is_obj(tv v) { return v.t >= TV_STR && v.t != TV_FUNC; }

tv tv_ref(tv v);
void tv_unref(tv v);

tv tv_str(tpl_budget *b, const char *s, size_t n);
tv tv_cstr(tpl_budget *b, const char *s);
tv tv_list(tpl_budget *b, size_t cap);
void tlist_push(tlist *l, tv v);            /* takes ownership of v */
tv tv_dict(tpl_budget *b, bool ns);
void tdict_set(tdict *d, tv k, tv v);       /* takes ownership of k and v */
tv *tdict_get(const tdict *d, tv k);        /* borrowed, NULL when absent */
tv *tdict_get_str(const tdict *d, const char *k);
tv tv_loop(tpl_budget *b, tlist *items, int depth);
tv tv_macro(tpl_budget *b, const struct tpl_node *node, uint64_t frame);
tv tv_method(tpl_budget *b, tv self, int id); /* takes ownership of self */

/* Python semantics. */
bool tv_truthy(tv v);
bool tv_eq(tv a, tv b);
bool tv_hashable(tv v);
/* a < b: returns -1 (not comparable), else 0 or 1 in *lt. */
int tv_lt(tv a, tv b, bool *lt);
const char *tv_type_name(tv v);     /* Python's type(x).__name__ */
bool tv_is_number(tv v);            /* int, float or bool */
double tv_num(tv v);                /* as float */

/* ------------------------------------------------------------ strings */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_putc(sbuf *b, char c);
void sb_printf(sbuf *b, const char *fmt, ...) SG_PRINTF(2, 3);
void sb_free(sbuf *b);
/* Move the contents into a string value; b is emptied. */
tv sb_to_str(sbuf *b, tpl_budget *bud);

/* markupsafe.escape() of s appended to b. */
void tpl_html_escape(sbuf *b, const char *s, size_t n);

/* Python str(v) / repr(v) appended to b; false for values Python would
 * print as an object address (methods, functions), which we refuse. */
bool tv_write_str(sbuf *b, tv v);
bool tv_write_repr(sbuf *b, tv v);
void tpl_write_float(sbuf *b, double f); /* Python's repr(float) */

/* UTF-8 helpers: decode one code point (invalid bytes decode as themselves). */
uint32_t utf8_next(const char *s, size_t n, size_t *i);
void utf8_put(sbuf *b, uint32_t cp);
size_t utf8_count(const char *s, size_t n);
bool py_isspace(uint32_t cp);

/* ------------------------------------------------------------ JSON */

/* Parse JSON text into a value (objects -> dict, arrays -> list). On error
 * returns false and writes a message (with the byte offset) into msg. */
bool tpl_json_parse(const char *text, size_t n, tpl_budget *b, tv *out, char *msg, size_t msgsz);
/* json.dumps(v, ensure_ascii, indent, separators, sort_keys). indent NULL = none.
 * Returns false and names the offending type in msg when v is not JSON. */
typedef struct tpl_json_opts {
    bool ensure_ascii;
    const char *indent;     /* NULL: one line */
    const char *item_sep;   /* NULL: ", " or "," with indent */
    const char *key_sep;    /* NULL: ": " */
    bool sort_keys;
} tpl_json_opts;
bool tpl_json_dump(sbuf *b, tv v, const tpl_json_opts *o, char *msg, size_t msgsz);

/* ------------------------------------------------------------ lexer */

typedef enum tpl_tok_type {
    TK_EOF,
    TK_DATA,        /* text outside tags */
    TK_VAR_BEGIN,   /* {{ */
    TK_VAR_END,     /* }} */
    TK_BLOCK_BEGIN, /* {% */
    TK_BLOCK_END,   /* %} */
    TK_NAME,
    TK_STRING,      /* text holds the unescaped value */
    TK_INT,
    TK_FLOAT,
    TK_OP,          /* text holds the operator */
} tpl_tok_type;

typedef struct tpl_tok {
    tpl_tok_type type;
    int line;
    char *text;     /* NUL-terminated (heap) for DATA/NAME/STRING/OP */
    size_t len;
    int64_t ival;
    double fval;
} tpl_tok;

typedef struct tpl_toks {
    tpl_tok *v;
    size_t n, cap;
} tpl_toks;

sg_status tpl_lex(const char *src, size_t n, tpl_toks *out, sg_error *err);
void tpl_toks_free(tpl_toks *t);

/* ------------------------------------------------------------ tree */

typedef enum tpl_kind {
    /* statements */
    N_BODY,      /* kids: statements */
    N_TEXT,      /* val: the text */
    N_OUTPUT,    /* a: expression */
    N_IF,        /* a: test, b: body, c: else part (N_BODY or N_IF for elif) */
    N_FOR,       /* a: target, b: iterable, c: body, d: else body, e: filter */
    N_SET,       /* a: target (N_NAME / N_TUPLE of names / N_ATTR on a name), b: value */
    N_SETBLOCK,  /* a: target, b: body, kids: filters (N_FILTER with a = NULL) */
    N_MACRO,     /* name, kids: params (N_NAME, b: default or NULL), c: body */
    N_CALLBLOCK, /* a: the call expression, kids: caller params, c: body */
    N_FILTERBLOCK, /* kids: filters, c: body */
    N_WITH,      /* kids: N_SET assignments, c: body */
    N_BREAK,
    N_CONTINUE,
    /* expressions */
    N_CONST,     /* val */
    N_NAME,      /* name */
    N_ATTR,      /* a: object, name */
    N_ITEM,      /* a: object, b: key */
    N_SLICE,     /* a: object, b/c/d: start/stop/step (each may be NULL) */
    N_CALL,      /* a: callee, kids: args, names[i]: keyword or NULL */
    N_FILTER,    /* a: input, name, op: filter id, kids/names: args */
    N_TEST,      /* a: input, name, op: test id, kids/names: args, neg */
    N_UNARY,     /* op: '!' (not) '-' '+'; a */
    N_BINARY,    /* op: OP_*; a, b */
    N_AND,
    N_OR,
    N_COMPARE,   /* a: first operand, kids: further operands, ops: operators */
    N_COND,      /* a: value, b: test, c: else value (NULL: undefined) */
    N_LIST,      /* kids */
    N_TUPLE,     /* kids */
    N_DICT,      /* kids: key, value, key, value ... */
} tpl_kind;

enum tpl_binop {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN,
};

typedef struct tpl_node {
    uint8_t kind;
    int op;
    bool neg;
    int line;
    struct tpl_node *a, *b, *c, *d, *e;
    struct tpl_node **kids;
    char **names;      /* keyword names of call args (NULL entries: positional) */
    int *ops;          /* N_COMPARE operators */
    int nkids;
    char *name;
    tv val;
} tpl_node;

typedef struct tpl_tree {
    tpl_node *root;
    tpl_node **nodes;  /* every node */
    size_t nnodes, capnodes;
    void **allocs;     /* every array and string the nodes point to */
    size_t nallocs, capallocs;
} tpl_tree;

sg_status tpl_parse(const tpl_toks *toks, tpl_tree *out, sg_error *err);
void tpl_tree_free(tpl_tree *t);

/* ------------------------------------------------------------ runtime */

typedef struct tscope {
    struct tscope *parent;
    tdict *vars;       /* created on first assignment */
} tscope;

typedef struct tframe { /* an active {% call %}: lets caller() find its scope */
    struct tframe *up;
    uint64_t serial;
    tscope *scope;
} tframe;

typedef struct tpl_rt {
    tpl_budget bud;
    uint64_t steps, max_steps;
    size_t max_output;
    int depth, max_depth;
    int line;          /* line of the node being evaluated */
    bool failed;
    sg_status code;
    char msg[400];
    int ctl;           /* 1: break, 2: continue pending */
    int64_t now;       /* strftime_now time; 0 = current */
    tdict *context;    /* the render's variables */
    tscope *root;      /* template-level scope */
    tframe *frames;
    uint64_t serial;
    tlist *namespaces; /* every namespace made, emptied at the end (cycles) */
} tpl_rt;

/* Record an error (first one wins); returns -1. */
int tpl_fail(tpl_rt *rt, sg_status code, const char *fmt, ...) SG_PRINTF(3, 4);

/* Arguments of a filter, test, method or function call. */
typedef struct targs {
    tv *pos;
    int npos;
    const char **kwn;
    tv *kw;
    int nkw;
} targs;
/* The i-th positional or the named keyword argument (borrowed), or NULL. */
tv *targ(const targs *a, int i, const char *name);

/* Filters, tests, methods, globals (jinja_filters.c). Ids are looked up at
 * parse time so an unknown filter or test is a compile error. */
int tpl_filter_id(const char *name);
int tpl_test_id(const char *name);
int tpl_global_id(const char *name);
int tpl_method_id(tv self, const char *name); /* -1: not a method */
bool tpl_method_unsafe(tv self, const char *name);
int tpl_filter_call(tpl_rt *rt, int id, tv in, const targs *a, tv *out);
int tpl_test_call(tpl_rt *rt, int id, tv in, const targs *a, bool *out);
int tpl_method_call(tpl_rt *rt, tmethod *m, const targs *a, tv *out);
int tpl_global_call(tpl_rt *rt, int id, const targs *a, tv *out);

/* Interpreter helpers the filters use. */
int tpl_getattr(tpl_rt *rt, tv obj, const char *name, tv *out);
int tpl_getitem(tpl_rt *rt, tv obj, tv key, tv *out);
/* Materialize anything Python can iterate into a new list (dict -> keys). */
int tpl_iterate(tpl_rt *rt, tv v, tv *out_list);
int tpl_to_str(tpl_rt *rt, tv v, tv *out); /* Python str() */
int tpl_call_value(tpl_rt *rt, tv fn, const targs *a, tv *out);
bool tpl_step(tpl_rt *rt);                  /* count a step; false when over */

/* Render a compiled tree with ctx (a dict) into out. */
sg_status tpl_render(const tpl_tree *t, tv ctx, tpl_rt *rt, sbuf *out, sg_error *err);

#endif
