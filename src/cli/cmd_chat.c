/*
 * cmd_chat.c -- `stargate chat -m MODEL`: an interactive terminal chat.
 *
 * Each turn renders the whole conversation with the model's own chat
 * template (ChatML when it ships none), tokenizes it, and reuses the KV cache
 * for the longest prefix it shares with what is already cached, so only the
 * new part is computed. The answer streams as it is generated: token ids go
 * through the UTF-8-safe streaming decoder, then the stop-string matcher,
 * then the <think> splitter (reasoning is shown dimmed on a terminal and is
 * not kept in the history, as reasoning models' templates expect).
 *
 * Input: a line is a message; a line ending in '\' continues on the next
 * line; a block between lines of three double quotes (""") is one message.
 * Commands: /reset, /save FILE, /system TEXT, /exit (or Ctrl-D).
 * Ctrl-C stops the answer being generated, not the program.
 */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "deploy/deploy.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct chat {
    sg_model *m;
    sg_tokenizer *tok;
    sg_ctx *ctx;
    sg_template *tmpl;
    cli_sampling samp;
    cJSON *messages;   /* the conversation, OpenAI message objects */
    char *system;      /* current system prompt (owned), or NULL */
    int32_t *cached;   /* tokens whose K/V sit in the cache for sequence 0 */
    int n_cached, cap_cached;
    int32_t *eog;
    int n_eog;
    int max_tokens;
    bool tty;
    /* per answer */
    sg_detok_stream *ds;
    sg_stop *stop;
    sg_reasoning *reason;
    char *answer;
    size_t answer_len, answer_cap;
    int32_t *gen;
    int n_gen, cap_gen;
    int rc;
} chat;

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 256);
        while (nc < *len + n + 1) nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return false;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return true;
}

static bool push_token(int32_t **arr, int *n, int *cap, int32_t t)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        int32_t *na = realloc(*arr, sizeof *na * (size_t)nc);
        if (!na) return false;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = t;
    return true;
}

/* Show a reasoning/content delta: reasoning dimmed on a terminal. */
static void show(chat *c, const sg_reasoning_delta *d)
{
    if (d->reasoning_len) {
        if (c->tty) fputs("\033[2m", stdout);
        fwrite(d->reasoning, 1, d->reasoning_len, stdout);
        if (c->tty) fputs("\033[0m", stdout);
    }
    if (d->content_len) {
        fwrite(d->content, 1, d->content_len, stdout);
        append(&c->answer, &c->answer_len, &c->answer_cap, d->content, d->content_len);
    }
    fflush(stdout);
}

/* Text after the stop matcher goes through the reasoning splitter. */
static void emit(chat *c, const char *s, size_t n)
{
    if (n == 0) return;
    sg_reasoning_delta d;
    sg_reasoning_feed(c->reason, s, n, &d);
    show(c, &d);
}

static bool chat_on_token(void *ud, int32_t t, const sg_sample_info *info)
{
    chat *c = ud;
    (void)info;
    push_token(&c->gen, &c->n_gen, &c->cap_gen, t);
    const char *piece, *out = NULL;
    size_t pl, ol = 0;
    sg_error err = {0};
    if (sg_detok_stream_push(c->ds, t, &piece, &pl, &err)) {
        c->rc = cli_error_from(&err);
        return false;
    }
    bool stopped = pl && sg_stop_push(c->stop, piece, pl, &out, &ol);
    emit(c, out, ol);
    return !stopped && !interrupted;
}

/* Render the conversation (+ generation prompt) and tokenize it. */
static int render(chat *c, int32_t **ids, size_t *n, char **prompt_out)
{
    sg_error err = {0};
    char *conv = cJSON_PrintUnformatted(c->messages);
    size_t bl = 0, el = 0;
    int32_t bos = sg_token_bos(c->tok), eos = sg_token_eos(c->tok);
    const char *bt = bos >= 0 ? sg_token_text(c->tok, bos, &bl) : NULL;
    const char *et = eos >= 0 ? sg_token_text(c->tok, eos, &el) : NULL;
    char *bs = bt ? strndup(bt, bl) : NULL, *es = et ? strndup(et, el) : NULL;
    char *ctxj = NULL, *prompt = NULL;
    int rc = 0;
    if (!conv) rc = cli_error("out of memory");
    else if (sg_chat_context(conv, NULL, true, bs, es, &ctxj, &err) ||
             sg_template_apply(c->tmpl, ctxj, NULL, &prompt, &err) ||
             sg_tokenize(c->tok, prompt, strlen(prompt), SG_TOKENIZE_PARSE_SPECIAL, ids, n, &err))
        rc = cli_error_from(&err);
    free(conv);
    free(bs);
    free(es);
    free(ctxj);
    if (rc == 0 && prompt_out) *prompt_out = prompt;
    else free(prompt);
    return rc;
}

/* One assistant turn for the conversation as it stands. */
static int answer(chat *c)
{
    int32_t *ids = NULL;
    size_t n = 0;
    char *prompt = NULL;
    int rc = render(c, &ids, &n, &prompt);
    if (rc) return rc;
    int n_ctx = sg_ctx_n_ctx(c->ctx);
    if (n == 0 || (int)n >= n_ctx) {
        free(ids);
        free(prompt);
        return cli_error("the conversation is %zu tokens; the context holds %d (use /reset)", n, n_ctx);
    }
    /* reuse the cached prefix; always recompute at least the last token */
    int keep = 0;
    while (keep < c->n_cached && keep < (int)n - 1 && c->cached[keep] == ids[keep]) keep++;
    sg_kv_truncate(c->ctx, 0, keep);
    c->n_cached = keep;

    c->ds = sg_detok_stream_new(c->tok, 0);
    c->stop = sg_stop_new(c->samp.stops, c->samp.n_stops);
    c->reason = sg_reasoning_new(sg_reasoning_prompt_opens(prompt));
    c->answer_len = 0;
    c->n_gen = 0;
    c->rc = 0;
    if (!c->ds || !c->stop || !c->reason) rc = cli_error("out of memory");
    sg_sampler *smp = rc ? NULL : sg_sampler_new(&c->samp.p, sg_model_config(c->m)->n_vocab);
    if (!rc && !smp) rc = cli_error("invalid sampling settings");
    if (!rc) {
        sg_generate_params gp = sg_generate_default_params();
        gp.max_tokens = c->max_tokens;
        gp.eog = c->eog;
        gp.n_eog = c->n_eog;
        interrupted = 0;
        sg_error err = {0};
        sg_finish f = sg_generate(c->ctx, smp, ids + keep, (int)n - keep, &gp, chat_on_token, c, NULL, &err);
        if (f == SG_FINISH_ERROR) rc = cli_error_from(&err);
        else if (c->rc) rc = c->rc;
        /* drain the decoder, the stop matcher and the splitter */
        size_t pl, ol = 0;
        const char *rest = sg_detok_stream_flush(c->ds, &pl), *out = NULL;
        bool stopped = pl && sg_stop_push(c->stop, rest, pl, &out, &ol);
        emit(c, out, ol);
        if (!stopped) {
            ol = 0;
            sg_stop_flush(c->stop, &out, &ol);
            emit(c, out, ol);
        }
        sg_reasoning_delta d;
        sg_reasoning_finish(c->reason, &d);
        show(c, &d);
        if (interrupted) printf(" [stopped]");
        if (f == SG_FINISH_LENGTH) printf(" [max tokens]");
        if (f == SG_FINISH_CONTEXT) printf(" [context full]");
        printf("\n");
        /* what the cache now holds: prompt + generated tokens that were fed */
        int kv = sg_kv_len(c->ctx, 0);
        for (size_t i = (size_t)keep; i < n; i++) push_token(&c->cached, &c->n_cached, &c->cap_cached, ids[i]);
        for (int i = 0; i < c->n_gen && c->n_cached < kv; i++)
            push_token(&c->cached, &c->n_cached, &c->cap_cached, c->gen[i]);
        if (c->n_cached > kv) c->n_cached = kv;
        /* the assistant's answer joins the history (without its reasoning) */
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddStringToObject(msg, "content", c->answer ? c->answer : "");
        cJSON_AddItemToArray(c->messages, msg);
    }
    sg_sampler_free(smp);
    sg_detok_stream_free(c->ds);
    sg_stop_free(c->stop);
    sg_reasoning_free(c->reason);
    c->ds = NULL;
    c->stop = NULL;
    c->reason = NULL;
    free(ids);
    free(prompt);
    return rc;
}

static void reset(chat *c)
{
    cJSON_Delete(c->messages);
    c->messages = cJSON_CreateArray();
    if (c->system) {
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "system");
        cJSON_AddStringToObject(msg, "content", c->system);
        cJSON_AddItemToArray(c->messages, msg);
    }
}

/* /save FILE: the conversation as {"messages": [...]}, written atomically. */
static void save(chat *c, const char *path)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(root, "messages", c->messages);
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!txt || !tmp) {
        cli_error("out of memory");
    } else {
        snprintf(tmp, pl + 16, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        bool ok = f && fputs(txt, f) >= 0 && fputc('\n', f) != EOF;
        if (f) { /* flush, sync and close whatever happened before, then judge */
            bool flushed = fflush(f) == 0;
            bool synced = fsync(fileno(f)) == 0;
            bool closed = fclose(f) == 0;
            ok = ok && flushed && synced && closed;
        }
        if (ok && rename(tmp, path) == 0) printf("saved %d messages to %s\n", cJSON_GetArraySize(c->messages), path);
        else {
            remove(tmp);
            cli_error("%s: cannot write: %s", path, strerror(errno));
        }
    }
    free(tmp);
    free(txt);
}

/* Reads one message (continuation lines, """ blocks); NULL at end of input. */
static char *read_message(chat *c)
{
    char *buf = NULL, line[4096];
    size_t len = 0, cap = 0;
    bool block = false, cont = false;
    for (;;) {
        if (c->tty || isatty(STDIN_FILENO)) fputs(block || cont ? ". " : "> ", stdout);
        fflush(stdout);
        errno = 0;
        if (!fgets(line, sizeof line, stdin)) {
            if (errno == EINTR && interrupted) { /* Ctrl-C at the prompt */
                clearerr(stdin);
                interrupted = 0;
                printf("\n(Ctrl-C stops an answer; /exit or Ctrl-D quits)\n");
                continue;
            }
            if (len) return buf; /* last message without newline */
            free(buf);
            return NULL;
        }
        size_t n = strlen(line);
        bool full = n && line[n - 1] == '\n';
        if (full) line[--n] = 0;
        if (!block && len == 0 && !strcmp(line, "\"\"\"")) {
            block = true;
            continue;
        }
        if (block && !strcmp(line, "\"\"\"")) return buf ? buf : strdup("");
        cont = false;
        if (!block && full && n && line[n - 1] == '\\') {
            line[--n] = 0;
            cont = true;
        }
        if (!append(&buf, &len, &cap, line, n)) {
            free(buf);
            return NULL;
        }
        if (!full) continue; /* a line longer than the buffer: keep reading it */
        if (block || cont) {
            append(&buf, &len, &cap, "\n", 1);
            continue;
        }
        return buf;
    }
}

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: stargate chat [-m MODEL] [--system TEXT | --deployment ID [--deployments DIR]]\n"
            "                     [-n MAX_TOKENS] [--ctx N] [-t THREADS] [sampling flags]\n"
            "  an interactive chat that streams the answer as it is generated.\n"
            "  without -m: the default assistant shipped in the binary (stargate-mini).\n"
            "  --deployment ID: that deployment's system prompt (from --deployments DIR, else\n"
            "  $STARGATE_HOME/deployments, else the examples shipped in the binary).\n"
            "  a line ending in '\\' continues on the next line; \"\"\" starts and ends a multi-line block.\n"
            "  commands: /reset  /save FILE  /system TEXT  /exit (or Ctrl-D). Ctrl-C stops the answer.\n\n%s",
            cli_sampling_help());
    return rc;
}

int cmd_chat(int argc, char **argv)
{
    chat c;
    memset(&c, 0, sizeof c);
    cli_sampling_init(&c.samp, false);
    const char *model = NULL, *deployment = NULL, *deploy_dir = NULL;
    int threads = 0, n_ctx = 0, rc = 0;
    c.max_tokens = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int sr = cli_sampling_arg(&c.samp, argc, argv, &i);
        if (sr < 0) return 2;
        if (sr > 0) continue;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--deployment")) {
            if (!(deployment = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--deployments")) {
            if (!(deploy_dir = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--system")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            free(c.system);
            c.system = strdup(v);
        } else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 24, &c.max_tokens)) return 2;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1 << 22, &n_ctx)) return 2;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1024, &threads)) return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return usage(stdout, 0);
        } else {
            cli_error("unknown option '%s'", a);
            return 2;
        }
    }
    sg_error err = {0};
    static char model_buf[4096], dir_buf[4096];
    if (!model) {
        if (sg_default_model(model_buf, sizeof model_buf, &err) != SG_OK) return cli_error_from(&err);
        model = model_buf;
    } else if (!(model = cli_model(model))) {
        return 1;
    }
    if (deployment) {
        bool written;
        if (!deploy_dir) {
            if (sg_default_deployments(dir_buf, sizeof dir_buf, &written, &err) != SG_OK) return cli_error_from(&err);
            deploy_dir = dir_buf;
        }
        sg_deploy_set *ds = NULL;
        if (sg_deploy_load_dir(deploy_dir, &ds, &err) != SG_OK) return cli_error_from(&err);
        const sg_deployment *d = sg_deploy_find(ds, deployment);
        if (!d) {
            sg_deploy_free(ds);
            return cli_error("no deployment '%s' in %s", deployment, deploy_dir);
        }
        free(c.system);
        c.system = sg_deploy_system_message(d);
        sg_deploy_free(ds);
    }
    if (sg_model_load(model, &c.m, &err) || sg_tokenizer_from_model(c.m, &c.tok, &err)) {
        rc = cli_error_from(&err);
        goto done;
    }
    const char *src = sg_model_chat_template(c.m);
    if (!src) fprintf(stderr, "stargate: %s ships no chat template; using ChatML\n", model);
    if (sg_template_compile(src ? src : sg_template_chatml, &c.tmpl, &err)) {
        rc = cli_error_from(&err);
        goto done;
    }
    sg_ctx_params p = sg_ctx_default_params();
    p.n_threads = threads;
    p.n_ctx = n_ctx;
    if (sg_ctx_new(c.m, &p, &c.ctx, &err)) {
        rc = cli_error_from(&err);
        goto done;
    }
    int V = sg_model_config(c.m)->n_vocab;
    c.eog = malloc(sizeof *c.eog * (size_t)V);
    for (int i = 0; c.eog && i < V; i++)
        if (sg_token_is_eog(c.tok, i)) c.eog[c.n_eog++] = i;
    c.tty = isatty(STDOUT_FILENO);
    reset(&c);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a read at the prompt returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (c.tty) printf("stargate chat with %s (context %d). /exit or Ctrl-D quits.\n", model, sg_ctx_n_ctx(c.ctx));

    char *msg;
    while ((msg = read_message(&c))) {
        if (!strcmp(msg, "/exit") || !strcmp(msg, "/quit")) {
            free(msg);
            break;
        } else if (!strcmp(msg, "/reset")) {
            reset(&c);
            sg_kv_truncate(c.ctx, 0, 0);
            c.n_cached = 0;
            printf("(conversation cleared)\n");
        } else if (!strncmp(msg, "/save", 5) && (msg[5] == ' ' || !msg[5])) {
            if (msg[5] && msg[6]) save(&c, msg + 6);
            else cli_error("usage: /save FILE");
        } else if (!strncmp(msg, "/system", 7) && (msg[7] == ' ' || !msg[7])) {
            free(c.system);
            c.system = msg[7] && msg[8] ? strdup(msg + 8) : NULL;
            cJSON *first = cJSON_GetArrayItem(c.messages, 0);
            const cJSON *role = first ? cJSON_GetObjectItemCaseSensitive(first, "role") : NULL;
            if (cJSON_IsString(role) && !strcmp(role->valuestring, "system")) cJSON_DeleteItemFromArray(c.messages, 0);
            if (c.system) {
                cJSON *sm = cJSON_CreateObject();
                cJSON_AddStringToObject(sm, "role", "system");
                cJSON_AddStringToObject(sm, "content", c.system);
                cJSON_InsertItemInArray(c.messages, 0, sm);
            }
            printf("(system prompt %s)\n", c.system ? "set" : "cleared");
        } else if (msg[0] == '/' && msg[1] && !strchr(msg, ' ') && !strchr(msg, '\n')) {
            cli_error("unknown command %s (commands: /reset /save FILE /system TEXT /exit)", msg);
        } else {
            cJSON *um = cJSON_CreateObject();
            cJSON_AddStringToObject(um, "role", "user");
            cJSON_AddStringToObject(um, "content", msg);
            cJSON_AddItemToArray(c.messages, um);
            if (answer(&c)) /* keep the session going; drop the message that failed */
                cJSON_DeleteItemFromArray(c.messages, cJSON_GetArraySize(c.messages) - 1);
        }
        free(msg);
    }
    if (c.tty) printf("\n");
done:
    cJSON_Delete(c.messages);
    free(c.system);
    free(c.cached);
    free(c.eog);
    free(c.answer);
    free(c.gen);
    sg_template_free(c.tmpl);
    sg_ctx_free(c.ctx);
    sg_tokenizer_free(c.tok);
    sg_model_free(c.m);
    cli_sampling_free(&c.samp);
    return rc;
}
