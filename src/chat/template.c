/*
 * template.c -- the public chat-template API: compile once, render many.
 *
 * A compiled sg_template is the parsed tree; it is read-only while
 * rendering, so one template can serve many threads at once. A render
 * parses the context JSON into values, evaluates the tree with limits
 * derived from the context size (real prompts never come near them; an
 * endless loop or runaway recursion stops with an error), and returns the
 * prompt as a heap string.
 *
 * sg_chat_context builds the context transformers' apply_chat_template
 * gives a template (messages, tools, add_generation_prompt, bos_token,
 * eos_token and any extra variables) from a conversation file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

struct sg_template {
    tpl_tree tree;
};

/* The template used when a model ships none: ChatML, as Qwen, Hermes and
 * many fine-tunes use it. */
const char sg_template_chatml[] =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

sg_status sg_template_compile(const char *src, sg_template **out, sg_error *err)
{
    *out = NULL;
    if (!src) return sg_fail(err, SG_ERR_INVALID, "template: no source");
    tpl_toks toks;
    sg_status s = tpl_lex(src, strlen(src), &toks, err);
    if (s) return s;
    sg_template *t = sg_xcalloc(1, sizeof *t);
    s = tpl_parse(&toks, &t->tree, err);
    tpl_toks_free(&toks);
    if (s) {
        free(t);
        return s;
    }
    *out = t;
    return SG_OK;
}

void sg_template_free(sg_template *t)
{
    if (!t) return;
    tpl_tree_free(&t->tree);
    free(t);
}

sg_status sg_template_apply(const sg_template *t, const char *context_json, const sg_template_opts *opts,
                            char **out, sg_error *err)
{
    *out = NULL;
    sg_template_opts o = {0};
    if (opts) o = *opts;
    size_t clen = context_json ? strlen(context_json) : 0;
    tpl_rt rt;
    memset(&rt, 0, sizeof rt);
    rt.max_output = o.max_output ? o.max_output : ((size_t)64 << 20) + 8 * clen;
    rt.max_steps = o.max_steps ? o.max_steps : 50000000ull + 64ull * clen;
    rt.bud.limit = o.max_memory ? o.max_memory : ((size_t)256 << 20) + 32 * clen;
    rt.max_depth = o.max_depth > 0 ? o.max_depth : 500;
    rt.now = o.now;
    tv ctx;
    char msg[200];
    if (!context_json || !*context_json) {
        ctx = tv_dict(&rt.bud, false);
    } else if (!tpl_json_parse(context_json, clen, &rt.bud, &ctx, msg, sizeof msg)) {
        return sg_fail(err, SG_ERR_INVALID, "template context: %s", msg);
    } else if (ctx.t != TV_DICT) {
        tv_unref(ctx);
        return sg_fail(err, SG_ERR_INVALID, "template context: expected a JSON object");
    }
    sbuf b = {0};
    sg_status s = tpl_render(&t->tree, ctx, &rt, &b, err);
    tv_unref(ctx);
    if (s) {
        sb_free(&b);
        return s;
    }
    if (!b.p) sb_put(&b, "", 0);
    *out = b.p;
    return SG_OK;
}

sg_status sg_template_render(const char *src, const char *context_json, char **out, sg_error *err)
{
    sg_template *t;
    *out = NULL;
    sg_status s = sg_template_compile(src, &t, err);
    if (s) return s;
    s = sg_template_apply(t, context_json, NULL, out, err);
    sg_template_free(t);
    return s;
}

/* Check the shape transformers expects: a list of objects with a string role. */
static sg_status check_messages(tv msgs, sg_error *err)
{
    if (msgs.t != TV_LIST) return sg_fail(err, SG_ERR_INVALID, "conversation: \"messages\" must be a list");
    tlist *l = TLIST(msgs);
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].t != TV_DICT) return sg_fail(err, SG_ERR_INVALID, "conversation: message %zu is not an object", i);
        tv *role = tdict_get_str(TDICT(l->v[i]), "role");
        if (!role || role->t != TV_STR)
            return sg_fail(err, SG_ERR_INVALID, "conversation: message %zu has no string \"role\"", i);
    }
    return SG_OK;
}

sg_status sg_chat_context(const char *conversation_json, const char *tools_json, bool add_generation_prompt,
                          const char *bos_token, const char *eos_token, char **context_json, sg_error *err)
{
    *context_json = NULL;
    char msg[200];
    tv conv, ctx = tv_none();
    if (!conversation_json) return sg_fail(err, SG_ERR_INVALID, "conversation: no JSON given");
    if (!tpl_json_parse(conversation_json, strlen(conversation_json), NULL, &conv, msg, sizeof msg))
        return sg_fail(err, SG_ERR_INVALID, "conversation: %s", msg);
    sg_status s = SG_OK;
    if (conv.t == TV_LIST) {
        ctx = tv_dict(NULL, false);
        tdict_set(TDICT(ctx), tv_cstr(NULL, "messages"), tv_ref(conv));
    } else if (conv.t == TV_DICT) {
        ctx = tv_ref(conv);
        if (!tdict_get_str(TDICT(ctx), "messages")) s = sg_fail(err, SG_ERR_INVALID, "conversation: object without \"messages\"");
    } else {
        s = sg_fail(err, SG_ERR_INVALID, "conversation: expected a list of messages or an object with \"messages\"");
    }
    tv_unref(conv);
    if (!s) s = check_messages(*tdict_get_str(TDICT(ctx), "messages"), err);
    if (!s && tools_json) {
        tv tools;
        if (!tpl_json_parse(tools_json, strlen(tools_json), NULL, &tools, msg, sizeof msg)) s = sg_fail(err, SG_ERR_INVALID, "tools: %s", msg);
        else if (tools.t != TV_LIST) {
            tv_unref(tools);
            s = sg_fail(err, SG_ERR_INVALID, "tools: expected a JSON list");
        } else {
            tdict_set(TDICT(ctx), tv_cstr(NULL, "tools"), tools);
        }
    }
    if (!s) {
        tdict_set(TDICT(ctx), tv_cstr(NULL, "add_generation_prompt"), tv_bool(add_generation_prompt));
        if (bos_token) tdict_set(TDICT(ctx), tv_cstr(NULL, "bos_token"), tv_cstr(NULL, bos_token));
        if (eos_token) tdict_set(TDICT(ctx), tv_cstr(NULL, "eos_token"), tv_cstr(NULL, eos_token));
        sbuf b = {0};
        tpl_json_opts o = {0};
        if (!tpl_json_dump(&b, ctx, &o, msg, sizeof msg)) {
            sb_free(&b);
            s = sg_fail(err, SG_ERR_INVALID, "conversation: %s", msg);
        } else {
            *context_json = b.p;
        }
    }
    tv_unref(ctx);
    return s;
}
