/*
 * cmd_template.c -- `stargate template`: render a model's chat template.
 *
 *   stargate template -m MODEL --messages conversation.json [--add-generation-prompt]
 *                     [--tools tools.json] [--template FILE] [--bos S] [--eos S] [--now UNIX]
 *
 * Prints the prompt exactly as rendered (no newline added). The template is
 * the model's own (GGUF tokenizer.chat_template, tokenizer_config.json or
 * chat_template.jinja), --template FILE, or ChatML when the model ships
 * none. bos_token/eos_token come from the model's tokenizer metadata (see
 * special_tokens below), or --bos/--eos. strftime_now() uses --now or the
 * SG_TEMPLATE_NOW environment variable when set, so renders can be pinned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cli.h"
#include "formats/gguf.h"
#include <cJSON.h>

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* A GGUF integer key as a token id; -1 when absent or not an integer. */
static int64_t gguf_id(const sg_gguf *g, const char *key)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    if (!kv) return -1;
    switch (kv->type) {
    case SG_GGUF_UINT8:
    case SG_GGUF_UINT16:
    case SG_GGUF_UINT32:
    case SG_GGUF_UINT64: return kv->v.u64 > INT32_MAX ? -1 : (int64_t)kv->v.u64;
    case SG_GGUF_INT8:
    case SG_GGUF_INT16:
    case SG_GGUF_INT32:
    case SG_GGUF_INT64: return kv->v.i64;
    default: return -1;
    }
}

/* tokenizer_config.json's "bos_token": a string or {"content": "..."}. */
static char *hf_token(const cJSON *root, const char *key)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(t)) t = cJSON_GetObjectItemCaseSensitive(t, "content");
    return cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
}

/* The BOS/EOS strings of a model (NULL when unknown). Kept in one place so
 * it can move to the tokenizer API once that exists: GGUF
 * tokenizer.ggml.{bos,eos}_token_id indexing tokenizer.ggml.tokens, or HF
 * tokenizer_config.json bos_token/eos_token. */
static void special_tokens(const sg_model *m, char **bos, char **eos)
{
    const char *path = sg_model_path(m);
    *bos = *eos = NULL;
    if (!path) return;
    if (sg_path_is_dir(path)) {
        char *p = sg_path_join(path, "tokenizer_config.json"), *txt = NULL;
        if (sg_file_read_all(p, &txt, NULL, NULL) == SG_OK) {
            cJSON *root = cJSON_Parse(txt);
            if (root) {
                *bos = hf_token(root, "bos_token");
                *eos = hf_token(root, "eos_token");
            }
            cJSON_Delete(root);
        }
        free(txt);
        free(p);
        return;
    }
    sg_gguf g;
    if (sg_gguf_open(&g, path, NULL)) return;
    const sg_gguf_kv *toks = sg_gguf_find(&g, "tokenizer.ggml.tokens");
    if (toks && toks->type == SG_GGUF_ARRAY && toks->v.arr.type == SG_GGUF_STRING && toks->v.arr.strs) {
        int64_t b = gguf_id(&g, "tokenizer.ggml.bos_token_id"), e = gguf_id(&g, "tokenizer.ggml.eos_token_id");
        if (b >= 0 && (uint64_t)b < toks->v.arr.n) *bos = dup_n(toks->v.arr.strs[b].ptr, (size_t)toks->v.arr.strs[b].len);
        if (e >= 0 && (uint64_t)e < toks->v.arr.n) *eos = dup_n(toks->v.arr.strs[e].ptr, (size_t)toks->v.arr.strs[e].len);
    }
    sg_gguf_close(&g);
}

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: stargate template [-m MODEL] --messages FILE [--add-generation-prompt]\n"
            "                         [--tools FILE] [--template FILE] [--bos S] [--eos S] [--now UNIX]\n"
            "\n"
            "Render a conversation with the model's chat template and print the prompt.\n"
            "  --messages FILE   a JSON list of messages, or {\"messages\": [...], \"tools\": [...], extra vars}\n"
            "                    (\"-\" reads standard input)\n"
            "  --tools FILE      a JSON list of tool definitions (overrides \"tools\" in --messages)\n"
            "  --template FILE   use this Jinja template instead of the model's (then -m is optional)\n"
            "  --bos S, --eos S  bos_token / eos_token (default: the model's)\n"
            "  --now UNIX        time for strftime_now() (default: $SG_TEMPLATE_NOW, else the clock)\n"
            "Without a template of its own a model gets ChatML.\n");
    return rc;
}

static char *read_arg_file(const char *path, const char *what)
{
    char *txt = NULL;
    sg_error err = {0};
    if (!strcmp(path, "-")) {
        size_t n = 0, cap = 1 << 16;
        txt = malloc(cap);
        for (size_t k; txt && (k = fread(txt + n, 1, cap - n - 1, stdin)) > 0;) {
            n += k;
            if (n + 1 == cap) {
                char *t = realloc(txt, cap *= 2);
                if (!t) free(txt);
                txt = t;
            }
        }
        if (txt) txt[n] = 0;
        return txt;
    }
    if (sg_file_read_all(path, &txt, NULL, &err)) {
        cli_error("%s: %s", what, err.msg);
        return NULL;
    }
    return txt;
}

int cmd_template(int argc, char **argv)
{
    const char *model = NULL, *messages = NULL, *tools = NULL, *tfile = NULL, *bos_arg = NULL, *eos_arg = NULL;
    bool agp = false;
    long long now = 0;
    const char *env_now = getenv("SG_TEMPLATE_NOW");
    if (env_now && *env_now) now = strtoll(env_now, NULL, 10);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout, 0);
        if (!strcmp(a, "--add-generation-prompt")) {
            agp = true;
            continue;
        }
        const char **dst = !strcmp(a, "-m") || !strcmp(a, "--model") ? &model : !strcmp(a, "--messages") ? &messages
                           : !strcmp(a, "--tools") ? &tools : !strcmp(a, "--template") ? &tfile
                           : !strcmp(a, "--bos") ? &bos_arg : !strcmp(a, "--eos") ? &eos_arg : NULL;
        if (dst) {
            if (!(*dst = cli_value(argc, argv, &i))) return 2;
            continue;
        }
        if (!strcmp(a, "--now")) {
            const char *v = cli_value(argc, argv, &i);
            char *end;
            if (!v) return 2;
            errno = 0;
            now = strtoll(v, &end, 10);
            if (errno || *end || end == v) return cli_error("--now: '%s' is not a Unix time", v), 2;
            continue;
        }
        cli_error("template: unknown option '%s'", a);
        return usage(stderr, 2);
    }
    if (!messages || (!model && !tfile)) return usage(stderr, 2);
    if (model && !(model = cli_model(model))) return 1;

    int rc = 1;
    sg_error err = {0};
    sg_model *m = NULL;
    char *src = NULL, *conv = NULL, *tools_txt = NULL, *bos = NULL, *eos = NULL, *ctx = NULL, *out = NULL;
    sg_template *t = NULL;
    if (model && sg_model_load(model, &m, &err)) {
        cli_error_from(&err);
        goto done;
    }
    if (tfile) {
        if (!(src = read_arg_file(tfile, "--template"))) goto done;
    } else if (sg_model_chat_template(m)) {
        src = strdup(sg_model_chat_template(m));
    } else {
        fprintf(stderr, "stargate: note: %s has no chat template; using ChatML\n", model);
        src = strdup(sg_template_chatml);
    }
    if (m) special_tokens(m, &bos, &eos);
    if (!(conv = read_arg_file(messages, "--messages"))) goto done;
    if (tools && !(tools_txt = read_arg_file(tools, "--tools"))) goto done;
    if (sg_chat_context(conv, tools_txt, agp, bos_arg ? bos_arg : bos ? bos : "", eos_arg ? eos_arg : eos ? eos : "", &ctx, &err) ||
        sg_template_compile(src, &t, &err)) {
        cli_error_from(&err);
        goto done;
    }
    sg_template_opts opts = {.now = now};
    if (sg_template_apply(t, ctx, &opts, &out, &err)) {
        cli_error_from(&err);
        goto done;
    }
    fwrite(out, 1, strlen(out), stdout);
    rc = fflush(stdout) ? 1 : 0;
done:
    sg_template_free(t);
    free(out);
    free(ctx);
    free(bos);
    free(eos);
    free(tools_txt);
    free(conv);
    free(src);
    sg_model_free(m);
    return rc;
}
