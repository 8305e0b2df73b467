/*
 * test_template.c -- the chat-template engine's language, without Python.
 *
 * RENDER_CASES pairs a template with the output Python's Jinja2 gave for it
 * (tools/render_template.py, context CTX_JSON, SG_TEMPLATE_NOW=1722000000,
 * TZ=UTC); ERROR_CASES must fail (Jinja2 raised on each). Then the error
 * messages, the limits that stop runaway templates, compile-once/render-many,
 * sg_chat_context and the ChatML default.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stargate.h"
#include "test.h"

/* generated expectations: Python Jinja2 3.1 (tools/render_template.py), SG_TEMPLATE_NOW=1722000000, TZ=UTC */
static const struct { const char *tpl, *want; } RENDER_CASES[] = {
    {"{{ 'a\\tb\\n' ~ \"c'd\" ~ '\\u00e9\\x41\\101' }}",
     "a\tb\nc'd\303\251AA"},
    {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}",
     "7 9 3 -4 2 3.5 1024 64 4"},
    {"{{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.0 }} {{ 3.0 / 2 }} {{ 1e-7 }} {{ 123456789.125 }} {{ 2.5 // 1 }} {{ -0.0 }}",
     "2.5 0.30000000000000004 1e+20 1.0 1.5 1e-07 123456789.125 2.0 -0.0"},
    {"{{ true }} {{ none }} {{ True and 'x' }} {{ '' or 'y' }} {{ not n }} {{ n > 3 and n < 10 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}",
     "True None x y False True True False"},
    {"{{ [1, 'a', none, true, 1.0, {'k': 'v'}] }} {{ (1, 2) }} {{ (1,) }} {{ {'a': 1, 'b': [2]} }} {{ [] }} {{ \"it's\" }}",
     "[1, 'a', None, True, 1.0, {'k': 'v'}] (1, 2) (1,) {'a': 1, 'b': [2]} [] it's"},
    {"{{ 'abc'[::-1] }} {{ xs[1:] }} {{ xs[-1] }} {{ 'h\303\251llo'[1:3] }} {{ xs[::2] }} {{ xs[5] is defined }} {{ 'abc'[-2:] }}",
     "cba [1, 2] 2 \303\251l [3, 2] False bc"},
    {"{{ 'a' in 'cat' }} {{ 2 in xs }} {{ 'b' in d }} {{ 5 not in xs }} {{ 'z' in missing }}",
     "True True True True False"},
    {"{{ n is odd }} {{ n is even }} {{ n is divisibleby 7 }} {{ d is mapping }} {{ xs is sequence }} {{ s is string }} {{ n is number }} {{ missing is defined }} {{ missing is not defined }} {{ none is none }} {{ true is boolean }} {{ 1 is integer }} {{ 1.0 is float }} {{ missing is iterable }} {{ n is iterable }}",
     "True False True True True True True False True True True True True True False"},
    {"{{ 3 is eq 3 }} {{ 3 is ne 3 }} {{ 3 is lt 4 }} {{ 'a' is in 'abc' }} {{ 'ab' is lower }} {{ 'Ab' is upper }} {{ true is true }} {{ 0 is false }}",
     "True False True True True False True False"},
    {"{{ s|trim }}|{{ s|length }}|{{ s|upper }}|{{ s|lower }}|{{ 'hello world-foo bar'|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ s|replace('l', 'L') }}|{{ s|replace('l', 'L', 1) }}",
     "Hello World|15|  HELLO WORLD  |  hello world  |Hello World-Foo Bar|Hello world|  HeLLo WorLd  |  HeLlo World  "},
    {"{{ xs|sort }} {{ xs|sort(reverse=true) }} {{ ['b', 'A', 'a']|sort }} {{ xs|first }} {{ xs|last }} {{ xs|length }} {{ xs|sum }} {{ xs|max }} {{ xs|min }} {{ [1, 2, 1, 3]|unique|list }} {{ xs|reverse|list }} {{ 'abc'|reverse }}",
     "[1, 2, 3] [3, 2, 1] ['A', 'a', 'b'] 3 2 3 6 3 1 [1, 2, 3] [2, 1, 3] cba"},
    {"{{ xs|join(', ') }} {{ messages|map(attribute='role')|join('/') }} {{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='content')|first }} {{ [0, 1, 2, '']|select|list }} {{ [1, 2, 3, 4]|reject('even')|list }}",
     "3, 1, 2 user/assistant 1 Yo [1, 2] [1, 3]"},
    {"{{ d|tojson }} {{ d|tojson(indent=2) }} {{ '\303\251\"\\n'|tojson }} {{ {'z': 1, 'a': 2}|tojson(sort_keys=true) }} {{ [1, [2, {}], []]|tojson(indent=1) }}",
     "{\"b\": 2, \"a\": [1, 2.5, null, true, \"x\\\"y\"]} {\n  \"b\": 2,\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true,\n    \"x\\\"y\"\n  ]\n} \"\303\251\\\"\\n\" {\"a\": 2, \"z\": 1} [\n 1,\n [\n  2,\n  {}\n ],\n []\n]"},
    {"{{ d|items|list }} {{ d.items()|list }} {{ d.keys()|list }} {{ d.values()|list|length }} {{ d.get('b') }} {{ d.get('zz', 'def') }} {{ d.get('zz') }}",
     "[('b', 2), ('a', [1, 2.5, None, True, 'x\"y'])] [('b', 2), ('a', [1, 2.5, None, True, 'x\"y'])] ['b', 'a'] 2 2 def None"},
    {"{{ missing|default('dflt') }} {{ ''|default('x', true) }} {{ none|d('n') }} {{ n|string ~ '!' }} {{ '42'|int + 1 }} {{ '4.5'|float }} {{ 'x'|int }} {{ 3.7|int }} {{ '0x1A'|int(0, 16) }} {{ -3|abs }} {{ 2.5|round }} {{ 3.14159|round(2) }} {{ 7|round }} {{ 2.5|round(0, 'floor') }}",
     "dflt x None 7! 43 4.5 0 3 26 3 2.0 3.14 7 2.0"},
    {"{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(width='> ', blank=true) }}",
     "a\n  b\n\n  c|  a\n  b|a\n> \n> b"},
    {"{{ '  x y  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ ' a b  c '.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'Hello'.startswith('He') }}|{{ 'Hello'.endswith(('x', 'lo')) }}|{{ 'ab'.upper() }}|{{ 'hello world'.title() }}|{{ 'a-b'.replace('-', '+') }}|{{ 'hello'.find('l') }}|{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a\\nb'.splitlines() }}|{{ '{} and {name}'.format(1, name='x') }}",
     "x y|hi|['a', 'b', 'c']|['a', 'b', '', 'c']|['a', 'b,c']|['a,b', 'c']|True|True|AB|Hello World|a+b|2|2|a-b|['a', 'b']|1 and x"},
    {"{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem.role if loop.previtem is defined else '-' }}/{{ loop.nextitem.role if loop.nextitem else '-' }}/{{ loop.cycle('odd', 'even') }};{% endfor %}",
     "1/0/2/1/True/False/2/-/assistant/odd;2/1/1/0/False/True/2/user/-/even;"},
    {"{% for x in xs if x > 1 %}{{ x }}:{{ loop.length }}{% else %}none{% endfor %}|{% for x in e %}x{% else %}empty{% endfor %}|{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}|{% for c in 'ab' %}{{ c }}{% endfor %}|{% for k in d %}{{ k }}{% endfor %}",
     "3:22:2|empty|b=2;a=[1, 2.5, None, True, 'x\"y'];|ab|ba"},
    {"{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}|{{ range(2, 10, 3)|list }}|{{ range(3, 0, -1)|list }}",
     "0134|[2, 5, 8]|[3, 2, 1]"},
    {"{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }},{% endfor %}{{ x }}|{% set ns = namespace(t=0, s='') %}{% for i in xs %}{% set ns.t = ns.t + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.t }}{{ ns.s }}|{% if true %}{% set y = 5 %}{% endif %}{{ y }}",
     "111,111,1|6312|5"},
    {"{% set a, b = [1, 2] %}{{ a }}{{ b }}|{% set blk %}in {{ n }} block{% endset %}{{ blk|upper }}|{% set t | trim %}  spaced  {% endset %}[{{ t }}]|{% filter upper %}up {{ n }}{% endfilter %}|{% with q = 3 %}{{ q * 2 }}{% endwith %}{{ q is defined }}",
     "12|IN 7 BLOCK|[spaced]|UP 7|6False"},
    {"{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet('Cy', punct='\?') }} {{ greet() }}|{% macro rec(k) %}{{ k }}{% if k > 0 %}{{ rec(k - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}",
     "Hello, Ann! Hi, Bob! Hello, Cy\? Hello, !|3210"},
    {"{% macro box(title) %}[{{ title }}:{{ caller() }}]{% endmacro %}{% call box('T') %}body {{ n }}{% endcall %}|{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(item) each(xs) %}<{{ item }}>{% endcall %}",
     "[T:body 7]|<3><1><2>"},
    {"a\n  {% if true %}\n  b\n  {% endif %}\n  c {{- ' d ' -}} e\n{#- comment -#}\n f {%- if true %} g {% endif -%} \n h\n{% raw %}{{ not }}{% endraw %}\n  {%+ if true %}plus{% endif +%}\nend\n",
     "a\n  b\n  c d ef g h\n{{ not }}  plus\nend"},
    {"{{ 'x' if n > 5 else 'y' }} {{ 'x' if n > 50 }}| {{ ('x' if false) is defined }} {{ 'a' 'b' }} {{ n ~ '' }} {{ [1, 2] + [3] }} {{ 'ab' * 3 }} {{ d['a'][4] }} {{ d.a.4 }} {{ d['zz'] is defined }} {{ messages[0].content }}",
     "x | False ab 7 [1, 2, 3] ababab x\"y x\"y False Hi \303\251"},
    {"{{ '<b>'|e }} {{ '<i>'|safe + '<u>' }} {{ '&'|escape|escape }} {{ ('x'|safe) * 2 }}",
     "&lt;b&gt; <i>&lt;u&gt; &amp; xx"},
    {"{{ strftime_now('%Y-%m-%d %H:%M %b') }}",
     "2024-07-26 13:20 Jul"},
    {"{{ [[1, 2], [3]]|map('length')|list }} {{ ['a', 'B']|map('upper')|list }} {{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ 'one two  three'|wordcount }} {{ 'ab'|center(6) }}|",
     "[2, 1] ['A', 'B'] [[1, 2], [3, 4], [5]] [[1, 2], [3, 0]] [('a', 2), ('b', 1)] 3   ab  |"},
    {"{{ missing }}|{{ missing ~ 'x' }}|{{ missing|length }}|{{ missing|trim }}|{% for x in missing %}x{% endfor %}|{{ missing == missing }}|{{ missing is sequence }}|{{ missing|list }}|{{ d.zz }}|{{ (d.zz or 'alt') }}",
     "|x|0|||True|True|[]||alt"},
};
static const char *const ERROR_CASES[] = {
    /* TemplateAssertionError: No filter named 'nofilter'. */ "{{ x|nofilter }}",
    /* TemplateRuntimeError: No test named 'notatest' found. */ "line1\n{% if true %}\n{{ foo is notatest }}\n{% endif %}",
    /* TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'endfor' o */ "{% for x in xs %}",
    /* TypeError: no loader for this environment specified */ "{% include 'x' %}",
    /* TemplateSyntaxError: unexpected char "'" at 3 */ "{{ 'unterminated }}",
    /* TemplateError: Bad role: user */ "{{ raise_exception('Bad role: ' ~ messages[0].role) }}",
    /* UndefinedError: 'missing' is undefined */ "{{ missing.attr }}",
    /* UndefinedError: 'missing' is undefined */ "{{ 'a' + missing }}",
    /* TypeError: unsupported operand type(s) for +: 'int' and 'str' */ "{{ 1 + 'a' }}",
    /* TypeError: Object of type Undefined is not JSON serializable */ "{{ n|tojson }}{{ missing|tojson }}",
    /* ZeroDivisionError: division by zero */ "{{ 1 / 0 }}",
    /* SecurityError: access to attribute 'append' of 'list' object is unsafe. */ "{% set x = [1] %}{{ x.append(2) }}",
    /* TypeError: object of type 'generator' has no len() */ "{{ n.__class__ }}{{ (xs|selectattr('x'))|length }}",
    /* ValueError: too many values to unpack (expected 2) */ "{% set a, b = [1, 2, 3] %}",
    /* UndefinedError: 'list object' has no attribute 'x' */ "{{ messages.x.y }}",
};
static const char CTX_JSON[] = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi \303\251\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"d\": {\"b\": 2, \"a\": [1, 2.5, null, true, \"x\\\"y\"]}, \"n\": 7, \"s\": \"  Hello World  \", \"xs\": [3, 1, 2], \"e\": []}";

static const sg_template_opts PINNED = {.now = 1722000000};

/* Render src with ctx; returns the output (heap) or NULL with err filled. */
static char *render(const char *src, const char *ctx, const sg_template_opts *o, sg_error *err)
{
    sg_template *t;
    char *out = NULL;
    memset(err, 0, sizeof *err);
    if (sg_template_compile(src, &t, err)) return NULL;
    sg_template_apply(t, ctx, o, &out, err);
    sg_template_free(t);
    return out;
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof RENDER_CASES / sizeof RENDER_CASES[0]; i++) {
        sg_error err;
        char *out = render(RENDER_CASES[i].tpl, CTX_JSON, &PINNED, &err);
        CHECK_MSG(out && !strcmp(out, RENDER_CASES[i].want), "case %zu: %s\n  want [%s]\n  got  [%s]", i,
                  RENDER_CASES[i].tpl, RENDER_CASES[i].want, out ? out : err.msg);
        free(out);
    }
    for (size_t i = 0; i < sizeof ERROR_CASES / sizeof ERROR_CASES[0]; i++) {
        sg_error err;
        char *out = render(ERROR_CASES[i], CTX_JSON, &PINNED, &err);
        CHECK_MSG(!out && err.code != SG_OK && !strncmp(err.msg, "template line ", 14), "error case %zu: %s -> %s", i,
                  ERROR_CASES[i], out ? out : err.msg);
        free(out);
    }
}

/* Messages name the line and the construct. */
static void test_messages(void)
{
    static const struct { const char *tpl, *msg; } M[] = {
        {"a\n\n{{ x|nofilter }}", "template line 3: unknown filter 'nofilter'"},
        {"line1\n{% if true %}\n{{ foo is notatest }}\n{% endif %}", "template line 3: unknown test 'notatest'"},
        {"{{ raise_exception('Bad role: ' ~ messages[0].role) }}", "template line 1: Bad role: user"},
        {"\n{% include 'x' %}", "template line 2: the 'include' tag is not supported"},
        {"{% frobnicate %}", "template line 1: unknown tag 'frobnicate'"},
        {"{% for x in xs %}", "missing {% endfor %}"},
        {"{{ missing.attr }}", "'missing' is undefined"},
        {"{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'"},
        {"{% break %}", "'break' outside of a for loop"},
        {"{% set x = [1] %}{{ x.append(2) }}", "'append' is undefined"},
    };
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        sg_error err;
        char *out = render(M[i].tpl, CTX_JSON, NULL, &err);
        CHECK_MSG(!out && strstr(err.msg, M[i].msg), "%s: want '%s', got '%s'", M[i].tpl, M[i].msg, out ? out : err.msg);
        free(out);
    }
}

/* Runaway templates stop with a clear error, quickly. */
static void test_limits(void)
{
    sg_error err;
    char *out;
    sg_template_opts small = {.max_steps = 100000};
    out = render("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}", NULL, &small, &err);
    CHECK_MSG(!out && strstr(err.msg, "step"), "%s", err.msg);
    free(out);
    out = render("{% for i in range(1000000000) %}{% endfor %}", NULL, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "step limit"), "%s", err.msg);
    free(out);
    out = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "recursion"), "%s", err.msg);
    free(out);
    out = render("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", NULL, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "exceeds"), "%s", err.msg);
    free(out);
    sg_template_opts tiny = {.max_output = 10};
    out = render("{% for i in range(100) %}abc{% endfor %}", NULL, &tiny, &err);
    CHECK_MSG(!out && strstr(err.msg, "output exceeds 10 bytes"), "%s", err.msg);
    free(out);
    sg_template_opts mem = {.max_memory = 1 << 20};
    out = render("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i ~ 'xxxxxxxxxxxxxxxx'] %}{% endfor %}", NULL, &mem, &err);
    CHECK_MSG(!out && (strstr(err.msg, "memory") || strstr(err.msg, "steps")), "%s", err.msg);
    free(out);
    /* deep nesting: parentheses, lists, not, filters, statements */
    size_t n = 20000;
    char *deep = malloc(3 * n + 16);
    strcpy(deep, "{{ ");
    for (size_t i = 0; i < n; i++) strcat(deep + 3 + i, "(");
    strcat(deep, "1");
    for (size_t i = 0; i < n; i++) strcat(deep + 4 + n + i, ")");
    strcat(deep, " }}");
    out = render(deep, NULL, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "nested too deeply"), "%s", err.msg);
    free(out);
    char *deep2 = malloc(16 * n + 16);
    deep2[0] = 0;
    size_t len = 0;
    for (size_t i = 0; i < n / 4; i++) len += (size_t)sprintf(deep2 + len, "{%% if 1 %%}");
    out = render(deep2, NULL, NULL, &err);
    CHECK_MSG(!out && err.code != SG_OK, "%s", err.msg);
    free(out);
    /* deeply nested context JSON */
    len = 0;
    len += (size_t)sprintf(deep2 + len, "{\"x\": ");
    for (size_t i = 0; i < n; i++) deep2[len++] = '[';
    deep2[len] = 0;
    out = render("{{ x }}", deep2, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "nested too deeply"), "%s", err.msg);
    free(out);
    free(deep);
    free(deep2);
    /* a structure nested far deeper than printing allows fails cleanly (and frees without recursion) */
    out = render("{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}", NULL, NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "cannot print"), "%s", err.msg);
    free(out);
    /* namespace cycles are broken at the end (LeakSanitizer checks) */
    out = render("{% set ns = namespace() %}{% set ns.me = ns %}{% set ns.l = [ns, {'k': ns}] %}ok", NULL, NULL, &err);
    CHECK(out && !strcmp(out, "ok"));
    free(out);
}

static void test_context(void)
{
    sg_error err = {0};
    char *out;
    out = render("{{ x }}", "{\"x\": ", NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "template context: JSON"), "%s", err.msg);
    free(out);
    out = render("{{ x }}", "[1]", NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "expected a JSON object"), "%s", err.msg);
    free(out);
    out = render("{{ a }} {{ b }} {{ c|tojson }} {{ d }}", "{\"a\": 1.0, \"b\": 9223372036854775807, \"c\": {\"z\": 1e400, \"y\": \"\\ud83d\\ude00\\u00e9\"}, \"d\": -0}", NULL, &err);
    CHECK_MSG(out && !strcmp(out, "1.0 9223372036854775807 {\"z\": Infinity, \"y\": \"\xf0\x9f\x98\x80\xc3\xa9\"} 0"), "%s", out ? out : err.msg);
    free(out);
    out = render("{{ a }}", "{\"a\": 9223372036854775808}", NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "64-bit"), "%s", err.msg);
    free(out);
    out = render("{{ a }}", "{\"a\": \"\xff\"}", NULL, &err);
    CHECK_MSG(!out && strstr(err.msg, "UTF-8"), "%s", err.msg);
    free(out);

    /* compile once, render many */
    sg_template *t;
    CHECK(sg_template_compile("{% for m in messages %}[{{ m.role }}]{% endfor %}", &t, &err) == SG_OK);
    for (int i = 0; i < 3; i++) {
        char ctx[128];
        snprintf(ctx, sizeof ctx, "{\"messages\": [%s{\"role\": \"r%d\"}]}", i ? "{\"role\": \"u\"}, " : "", i);
        out = NULL;
        CHECK(sg_template_apply(t, ctx, NULL, &out, &err) == SG_OK);
        char want[64];
        snprintf(want, sizeof want, "%s[r%d]", i ? "[u]" : "", i);
        CHECK_MSG(out && !strcmp(out, want), "%s vs %s", out, want);
        free(out);
    }
    sg_template_free(t);

    /* sg_chat_context: list or object, tools, extra variables */
    char *ctx = NULL;
    CHECK(sg_chat_context("[{\"role\": \"user\", \"content\": \"hi\"}]", NULL, true, "<s>", "</s>", &ctx, &err) == SG_OK);
    CHECK_MSG(ctx && !strcmp(ctx, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}"), "%s", ctx);
    free(ctx);
    ctx = NULL;
    CHECK(sg_chat_context("{\"messages\": [{\"role\": \"user\", \"content\": 1.5}], \"date_string\": \"x\"}", "[{\"type\": \"function\"}]", false, NULL, NULL, &ctx, &err) == SG_OK);
    CHECK_MSG(ctx && !strcmp(ctx, "{\"messages\": [{\"role\": \"user\", \"content\": 1.5}], \"date_string\": \"x\", \"tools\": [{\"type\": \"function\"}], \"add_generation_prompt\": false}"), "%s", ctx);
    free(ctx);
    static const char *const bad[] = {"", "{", "42", "{\"msgs\": []}", "[1]", "[{\"content\": \"no role\"}]", "{\"messages\": {}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctx = NULL;
        CHECK_MSG(sg_chat_context(bad[i], NULL, false, NULL, NULL, &ctx, &err) != SG_OK && !ctx && strstr(err.msg, "conversation"), "%s: %s", bad[i], err.msg);
    }
    CHECK(sg_chat_context("[]", "{}", false, NULL, NULL, &ctx, &err) != SG_OK && strstr(err.msg, "tools"));

    /* the ChatML default */
    CHECK(sg_chat_context("[{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"U\"}]", NULL, true, "", "", &ctx, &err) == SG_OK);
    out = NULL;
    CHECK(sg_template_render(sg_template_chatml, ctx, &out, &err) == SG_OK);
    CHECK_MSG(out && !strcmp(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"), "%s", out);
    free(out);
    free(ctx);
}

/* Whitespace control corner cases (outputs from Python's Jinja2). */
static void test_whitespace(void)
{
    static const struct { const char *tpl, *want; } W[] = {
        {"x\r\ny\rz\n", "x\ny\nz"},                           /* newlines normalized, one trailing dropped */
        {"a\n\n", "a\n"},
        {"  {% if true %}x{% endif %}  \n", "x  "},          /* lstrip before a tag, trailing text kept */
        {"  {{ 'v' }}\n", "  v"},                              /* no lstrip before {{ */
        {"  {# c #}\nA", "A"},                                 /* comments lstrip and trim too */
        {"{% if true %}\n\n{% endif %}", "\n"},               /* trim_blocks removes one newline */
        {"a {%- if true -%} \n b {%- endif %}", "ab"},
        {"{{ {'a': {'b': 1}} }}", "{'a': {'b': 1}}"},         /* }} inside braces */
        {"{% raw %} {{ x }} {% endraw %}", " {{ x }} "},
        {"\t {%- if true %}y{% endif %}", "y"},
    };
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
        sg_error err;
        char *out = render(W[i].tpl, NULL, NULL, &err);
        CHECK_MSG(out && !strcmp(out, W[i].want), "case %zu: want [%s] got [%s]", i, W[i].want, out ? out : err.msg);
        free(out);
    }
}

TEST_MAIN({
    setenv("TZ", "UTC", 1);
    tzset();
    test_cases();
    test_messages();
    test_limits();
    test_context();
    test_whitespace();
})
