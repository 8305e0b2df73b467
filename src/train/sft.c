/*
 * sft.c -- supervised fine-tuning data: JSONL conversations to a token shard
 * with a loss mask on the assistant tokens, packed with document starts.
 *
 * Each input line is {"messages": [{"role": ..., "content": ...}, ...], ...}
 * (or a bare list of messages); other keys (e.g. "tools") are passed to the
 * template as transformers' apply_chat_template does (sg_chat_context).
 *
 * Which tokens are trained (the method): for a conversation of n messages,
 *   F   = render(messages[0..n-1], add_generation_prompt = false)
 * and for every assistant message i
 *   P_i = render(messages[0..i-1], add_generation_prompt = true)
 *   E_i = render(messages[0..i],   add_generation_prompt = false)
 * The template must be prefix-stable: P_i is a prefix of E_i and E_i of F
 * (ChatML, Qwen2.5, Llama 3, Gemma are; templates that rewrite earlier turns,
 * e.g. dropping the reasoning of past assistant turns, are refused with the
 * message index). The bytes [len(P_i), len(E_i)) of F are assistant i's
 * answer as the template writes it: content, end-of-turn token and whatever
 * separator follows ("<|im_end|>\n"). F is cut at those boundaries and each
 * piece tokenized on its own (control tokens parsed: the text is the
 * template's); in an answer piece the tokens up to and including the first
 * end-of-generation token (sg_token_is_eog: <|im_end|>, <|eot_id|>, EOS, ...)
 * have loss weight 1 and the rest 0 (the "\n" after <|im_end|> is not
 * trained: the model stops at the end token); everything else weighs 0. So
 * exactly each answer's content and its end token are learned. When the
 * vocabulary adds BOS and the render does not begin with it, BOS is
 * prepended (weight 0).
 *
 * Packing: the loader cuts the stream into windows of seq_len + 1 tokens
 * with stride seq_len (data.c), so the stream is laid out in bins of
 * seq_len tokens: conversations go into the current bin while they fit
 * (first fit, in input order), the rest of a bin is padding (EOS, or id 0,
 * weight 0, its own document), and each conversation's first token carries
 * the document-start bit, so the trainer's attention never crosses from one
 * conversation into another and positions restart at 0 (identical to
 * training each conversation alone). Conversations longer than seq_len are
 * truncated to seq_len tokens (counted and reported). With pack = false each
 * conversation gets its own bin. One last padding token closes the stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "model/model.h"
#include "train/train.h"

typedef struct tokbuf {
    uint32_t *ids;
    uint8_t *mask;
    size_t n, cap;
} tokbuf;

static bool tb_push(tokbuf *b, uint32_t id, uint8_t m)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 4096;
        uint32_t *ni = realloc(b->ids, nc * sizeof *ni);
        if (!ni) return false;
        b->ids = ni;
        uint8_t *nm = realloc(b->mask, nc);
        if (!nm) return false;
        b->mask = nm;
        b->cap = nc;
    }
    b->ids[b->n] = id;
    b->mask[b->n++] = m;
    return true;
}

typedef struct sft_ctx {
    const sg_tokenizer *tok;
    const sg_template *tmpl;
    const char *bos_text, *eos_text;
    int32_t pad;
    const char *path;
    long line;
} sft_ctx;

/* Render root with its messages cut to the first n (agp: generation prompt). */
static sg_status render_prefix(const sft_ctx *c, cJSON *root, cJSON *msgs, int n, bool agp, char **out, sg_error *err)
{
    cJSON *cut = cJSON_CreateArray();
    if (!cut) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(cut, cJSON_Duplicate(cJSON_GetArrayItem(msgs, i), true));
    cJSON *obj = cJSON_Duplicate(root, true);
    if (!obj) {
        cJSON_Delete(cut);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    }
    cJSON_ReplaceItemInObjectCaseSensitive(obj, "messages", cut);
    char *conv = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!conv) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    char *ctx = NULL;
    sg_status st = sg_chat_context(conv, NULL, agp, c->bos_text, c->eos_text, &ctx, err);
    free(conv);
    if (!st) st = sg_template_apply(c->tmpl, ctx, NULL, out, err);
    free(ctx);
    return st;
}

/* Tokenize text[0..len) and append; answer: weight 1 up to the first EOG. */
static sg_status add_piece(const sft_ctx *c, const char *text, size_t len, bool answer, bool *first, tokbuf *out,
                           size_t *n_trained, sg_error *err)
{
    if (!len) return SG_OK;
    int32_t *ids = NULL;
    size_t n = 0;
    sg_status st = sg_tokenize(c->tok, text, len, SG_TOKENIZE_PARSE_SPECIAL, &ids, &n, err);
    if (st) return st;
    bool open = answer;
    for (size_t i = 0; i < n; i++) {
        uint8_t m = open ? 1 : 0;
        if (open && sg_token_is_eog(c->tok, ids[i])) open = false;
        if (*first) m |= 2, *first = false;
        *n_trained += m & 1;
        if (!tb_push(out, (uint32_t)ids[i], m)) {
            free(ids);
            return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        }
    }
    free(ids);
    return SG_OK;
}

/* One conversation line to tokens + weights (bit 1 on its first token). */
static sg_status one_conversation(const sft_ctx *c, const char *line, tokbuf *out, size_t *n_trained, sg_error *err)
{
    cJSON *root = cJSON_Parse(line);
    if (!root) return sg_fail(err, SG_ERR_FORMAT, "%s:%ld: not valid JSON", c->path, c->line);
    if (cJSON_IsArray(root)) {
        cJSON *obj = cJSON_CreateObject();
        if (!obj) {
            cJSON_Delete(root);
            return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        }
        cJSON_AddItemToObject(obj, "messages", root);
        root = obj;
    }
    sg_status st = SG_OK;
    char *full = NULL, **pre = NULL, **end = NULL;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    int n = cJSON_IsArray(msgs) ? cJSON_GetArraySize(msgs) : -1;
    if (n <= 0) {
        st = sg_fail(err, SG_ERR_FORMAT, "%s:%ld: expected {\"messages\": [...]} with at least one message", c->path,
                     c->line);
        goto done;
    }
    int n_answers = 0;
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_GetArrayItem(msgs, i);
        cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role)) {
            st = sg_fail(err, SG_ERR_FORMAT, "%s:%ld: message %d has no string 'role'", c->path, c->line, i);
            goto done;
        }
        n_answers += !strcmp(role->valuestring, "assistant");
    }
    if (!n_answers) {
        st = sg_fail(err, SG_ERR_FORMAT, "%s:%ld: no assistant message to learn from", c->path, c->line);
        goto done;
    }
    if ((st = render_prefix(c, root, msgs, n, false, &full, err))) goto done;
    pre = calloc((size_t)n, sizeof *pre);
    end = calloc((size_t)n, sizeof *end);
    if (!pre || !end) {
        st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t flen = strlen(full), cur = 0;
    bool first = true;
    int32_t bos = sg_token_bos(c->tok);
    if (sg_tokenizer_adds_bos(c->tok) && bos >= 0) {
        size_t bl = c->bos_text ? strlen(c->bos_text) : 0;
        if (!bl || flen < bl || memcmp(full, c->bos_text, bl)) {
            if (!tb_push(out, (uint32_t)bos, 2)) {
                st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
                goto done;
            }
            first = false;
        }
    }
    for (int i = 0; i < n; i++) {
        cJSON *role = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, i), "role");
        if (strcmp(role->valuestring, "assistant")) continue;
        if ((st = render_prefix(c, root, msgs, i, true, &pre[i], err))) goto done;
        if ((st = render_prefix(c, root, msgs, i + 1, false, &end[i], err))) goto done;
        size_t pl = strlen(pre[i]), el = strlen(end[i]);
        if (pl < cur || pl > el || memcmp(end[i], pre[i], pl) || el > flen || memcmp(full, end[i], el)) {
            st = sg_fail(err, SG_ERR_UNSUPPORTED,
                         "%s:%ld: the chat template is not prefix-stable at message %d (rendering the conversation "
                         "up to it is not a prefix of the whole), so the assistant tokens cannot be located",
                         c->path, c->line, i);
            goto done;
        }
        if ((st = add_piece(c, full + cur, pl - cur, false, &first, out, n_trained, err))) goto done;
        if ((st = add_piece(c, full + pl, el - pl, true, &first, out, n_trained, err))) goto done;
        cur = el;
    }
    st = add_piece(c, full + cur, flen - cur, false, &first, out, n_trained, err);
done:
    if (pre)
        for (int i = 0; i < n; i++) free(pre[i]);
    if (end)
        for (int i = 0; i < n; i++) free(end[i]);
    free(pre);
    free(end);
    free(full);
    cJSON_Delete(root);
    return st;
}

/* Print a conversation's tokens with the trained runs inside «». */
static void show_example(const sft_ctx *c, const tokbuf *b, uint64_t index, size_t trained, FILE *f)
{
    fprintf(f, "--- conversation %llu (line %ld): %zu tokens, %zu trained\n", (unsigned long long)index + 1, c->line,
            b->n, trained);
    size_t i = 0;
    while (i < b->n) {
        size_t j = i;
        while (j < b->n && (b->mask[j] & 1) == (b->mask[i] & 1)) j++;
        char *text = NULL;
        size_t len = 0;
        sg_error e = {0};
        if (!sg_detokenize(c->tok, (const int32_t *)(b->ids + i), j - i, SG_DETOK_SPECIAL, &text, &len, &e)) {
            if (b->mask[i] & 1) fputs("\xc2\xab", f);
            fwrite(text, 1, len, f);
            if (b->mask[i] & 1) fputs("\xc2\xbb", f);
            free(text);
        }
        i = j;
    }
    fputs("\n", f);
}

static bool pad_to(tokbuf *b, size_t n, int32_t pad)
{
    bool start = true;
    while (b->n < n) {
        if (!tb_push(b, (uint32_t)pad, start ? 2 : 0)) return false;
        start = false;
    }
    return true;
}

sg_status sg_sft_prepare(const sg_sft_opts *o, sg_sft_stats *stats, sg_error *err)
{
    memset(stats, 0, sizeof *stats);
    sg_model *model = NULL;
    sg_tokenizer *tok = NULL;
    sg_template *tmpl = NULL;
    char *src_owned = NULL;
    FILE *in = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    tokbuf all = {0}, one = {0};
    sg_status st = sg_model_load(o->model, &model, err);
    if (st) return st;
    if ((st = sg_tokenizer_from_model(model, &tok, err))) goto done;
    const char *src = sg_model_chat_template(model);
    if (o->template_path && o->template_path[0]) {
        if ((st = sg_file_read_all(o->template_path, &src_owned, NULL, err))) goto done;
        src = src_owned;
    }
    if (!src) src = sg_template_chatml;
    if ((st = sg_template_compile(src, &tmpl, err))) goto done;
    sft_ctx c = {.tok = tok, .tmpl = tmpl, .path = o->input};
    int32_t bos = sg_token_bos(tok), eos = sg_token_eos(tok);
    c.bos_text = bos >= 0 ? sg_token_text(tok, bos, NULL) : NULL;
    c.eos_text = eos >= 0 ? sg_token_text(tok, eos, NULL) : NULL;
    c.pad = eos >= 0 ? eos : 0;
    in = fopen(o->input, "r");
    if (!in) {
        st = sg_fail(err, SG_ERR_IO, "%s: cannot open", o->input);
        goto done;
    }
    size_t T = (size_t)o->seq_len;
    ssize_t got;
    while ((got = getline(&line, &line_cap, in)) >= 0) {
        c.line++;
        size_t k = 0;
        while (k < (size_t)got && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n')) k++;
        if (k == (size_t)got) continue; /* blank line */
        one.n = 0;
        size_t trained = 0;
        if ((st = one_conversation(&c, line, &one, &trained, err))) goto done;
        if (o->show_to && stats->conversations < (uint64_t)o->show)
            show_example(&c, &one, stats->conversations, trained, o->show_to);
        if (one.n > T) {
            trained = 0;
            one.n = T;
            for (size_t i = 0; i < T; i++) trained += one.mask[i] & 1;
            stats->truncated++;
        }
        size_t used = all.n % T;
        if (used && (!o->pack || used + one.n > T) && !pad_to(&all, all.n + (T - used), c.pad)) goto oom;
        for (size_t i = 0; i < one.n; i++)
            if (!tb_push(&all, one.ids[i], one.mask[i])) goto oom;
        stats->conversations++;
        stats->trained += trained;
    }
    if (!stats->conversations) {
        st = sg_fail(err, SG_ERR_INVALID, "%s: no conversations", o->input);
        goto done;
    }
    if (all.n % T && !pad_to(&all, all.n + (T - all.n % T), c.pad)) goto oom;
    if (!tb_push(&all, (uint32_t)c.pad, 2)) goto oom;
    stats->tokens = all.n;
    stats->sequences = all.n / T;
    st = sg_shard_write(o->output, all.ids, all.mask, all.n, (uint32_t)sg_tokenizer_n_vocab(tok), err);
    goto done;
oom:
    st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", o->input);
done:
    if (in) fclose(in);
    free(line);
    free(all.ids);
    free(all.mask);
    free(one.ids);
    free(one.mask);
    free(src_owned);
    sg_template_free(tmpl);
    sg_tokenizer_free(tok);
    sg_model_free(model);
    return st;
}

/* Under mpirun every process prepares the same shard (atomic renames of
 * identical content), only rank 0 talks. */
static bool lead_process(void)
{
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = getenv("PMI_RANK");
    return !r || atoi(r) == 0;
}

sg_status sg_finetune_run(sg_train_config *c, int show, sg_error *err)
{
    if (!c->init[0]) return sg_fail(err, SG_ERR_INVALID, "finetune: 'init' (the model to fine-tune) is required");
    if (!c->sft_data[0]) return sg_fail(err, SG_ERR_INVALID, "finetune: 'sft_data' (JSONL conversations) is required");
    if (!c->out_dir[0]) return sg_fail(err, SG_ERR_INVALID, "finetune: 'out_dir' is required (the packed data goes there)");
    if (mkdir(c->out_dir, 0777) != 0 && errno != EEXIST)
        return sg_fail(err, SG_ERR_IO, "%s: cannot create directory: %s", c->out_dir, strerror(errno));
    bool lead = lead_process();
    const char *inputs[2] = {c->sft_data, c->sft_val_data};
    const char *names[2] = {"sft-train.bin", "sft-val.bin"};
    char *dests[2] = {c->train_data, c->val_data};
    for (int k = 0; k < 2; k++) {
        if (!inputs[k][0]) continue;
        char out[2 * SG_TCFG_STR];
        snprintf(out, sizeof out, "%s/%s", c->out_dir, names[k]);
        if (strlen(out) >= SG_TCFG_STR) return sg_fail(err, SG_ERR_INVALID, "%s: path too long", out);
        sg_sft_opts o = {.model = c->init, .template_path = c->sft_template, .input = inputs[k], .output = out,
                         .seq_len = c->seq_len, .pack = c->sft_pack, .show = k == 0 && lead ? show : 0,
                         .show_to = stdout};
        sg_sft_stats s;
        sg_status st = sg_sft_prepare(&o, &s, err);
        if (st) return st;
        if (lead && !c->quiet) {
            printf("finetune: %s: %llu conversations -> %llu sequences of %d tokens (%s), %llu tokens trained "
                   "(%.1f%%)%s\n",
                   inputs[k], (unsigned long long)s.conversations, (unsigned long long)s.sequences, c->seq_len,
                   c->sft_pack ? "packed, document-masked" : "one per sequence", (unsigned long long)s.trained,
                   100.0 * (double)s.trained / (double)(s.tokens ? s.tokens : 1), "");
            if (s.truncated)
                printf("finetune: warning: %llu conversations longer than seq_len %d were truncated\n",
                       (unsigned long long)s.truncated, c->seq_len);
            fflush(stdout);
        }
        if (snprintf(dests[k], SG_TCFG_STR, "%s", out) >= SG_TCFG_STR)
            return sg_fail(err, SG_ERR_INVALID, "finetune: shard path too long: %s", out);
    }
    if (!c->tokenizer[0]) snprintf(c->tokenizer, SG_TCFG_STR, "%s", c->init);
    return sg_train_run(c, err);
}
