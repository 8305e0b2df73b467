/*
 * config.c -- the training config: a text file of `key = value` lines.
 *
 * The format is deliberately the simplest that diffs and comments well:
 *
 *   # a comment (only at the start of a line)
 *   arch       = llama
 *   n_layer    = 4
 *   train_data = data/train.json
 *
 * Blank lines are ignored, keys are the fields of sg_train_config listed in
 * the table below (one row each: name, type, limits, default, meaning), a
 * value is the rest of the line with surrounding blanks trimmed, and a later
 * line overrides an earlier one -- which is also how `stargate train CONFIG
 * --key value` overrides work (sg_train_config_set). Every error is one line
 * naming the file, line and key at fault.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

typedef enum { K_INT, K_U64, K_FLOAT, K_BOOL, K_STR, K_ARCH, K_DTYPE, K_NAN } key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t off;
    double lo, hi; /* numeric limits (inclusive) */
    const char *help;
} key_def;

#define F(field) offsetof(sg_train_config, field)

static const key_def keys[] = {
    {"arch", K_ARCH, F(arch), 0, 0, "llama | gpt2 (llama)"},
    {"init", K_STR, F(init), 0, 0, "model to fine-tune (GGUF file or HF directory); empty: from scratch"},
    {"vocab_size", K_INT, F(vocab_size), 0, 1 << 24, "vocabulary size (from the data manifest when 0)"},
    {"n_embd", K_INT, F(n_embd), 1, 1 << 16, "hidden size (64)"},
    {"n_layer", K_INT, F(n_layer), 1, 1024, "layers (2)"},
    {"n_head", K_INT, F(n_head), 1, 1024, "query heads (4)"},
    {"n_head_kv", K_INT, F(n_head_kv), 0, 1024, "key/value heads, GQA when < n_head (0: n_head)"},
    {"head_dim", K_INT, F(head_dim), 0, 4096, "head dimension (0: n_embd / n_head)"},
    {"n_ff", K_INT, F(n_ff), 0, 1 << 20, "feed-forward size (0: 4*n_embd gpt2, 8/3*n_embd rounded up to 32 llama)"},
    {"n_ctx", K_INT, F(n_ctx), 0, 1 << 20, "context length recorded in exports; gpt2 position table (0: seq_len)"},
    {"norm_eps", K_FLOAT, F(norm_eps), 1e-12, 1, "RMSNorm/LayerNorm epsilon (1e-5)"},
    {"rope_theta", K_FLOAT, F(rope_theta), 1, 1e9, "RoPE base (10000)"},
    {"tied_embeddings", K_BOOL, F(tied_embeddings), 0, 0, "llama: output projection = token embedding (false)"},
    {"init_std", K_FLOAT, F(init_std), 0, 10, "std of the normal init (0.02); wo/w_down get std/sqrt(2*n_layer)"},
    {"train_data", K_STR, F(train_data), 0, 0, "training tokens: a shard (.bin) or a manifest (.json)"},
    {"val_data", K_STR, F(val_data), 0, 0, "validation tokens (shard or manifest); empty: none"},
    {"tokenizer", K_STR, F(tokenizer), 0, 0,
     "GGUF whose tokenizer.* metadata the GGUF export carries (default: the data manifest's, else a GGUF init)"},
    {"sft_data", K_STR, F(sft_data), 0, 0, "finetune: JSONL conversations ({\"messages\": [...]} per line)"},
    {"sft_val_data", K_STR, F(sft_val_data), 0, 0, "finetune: validation conversations (JSONL); empty: none"},
    {"sft_template", K_STR, F(sft_template), 0, 0, "finetune: Jinja chat template file (default: the model's, else ChatML)"},
    {"sft_pack", K_BOOL, F(sft_pack), 0, 0, "finetune: pack several conversations per sequence, document-masked (true)"},
    {"seq_len", K_INT, F(seq_len), 1, 1 << 16, "tokens per sequence (64)"},
    {"batch_size", K_INT, F(batch_size), 1, 1 << 16, "sequences per micro-batch per process (4)"},
    {"grad_accum", K_INT, F(grad_accum), 1, 1 << 16, "micro-batches per optimizer step per process (1)"},
    {"max_steps", K_INT, F(max_steps), 0, 1 << 30, "optimizer steps (100)"},
    {"warmup_steps", K_INT, F(warmup_steps), 0, 1 << 30, "linear warmup steps (0)"},
    {"lr", K_FLOAT, F(lr), 0, 10, "peak learning rate (3e-4)"},
    {"min_lr", K_FLOAT, F(min_lr), 0, 10, "learning rate at the end of the cosine (0)"},
    {"weight_decay", K_FLOAT, F(weight_decay), 0, 10, "AdamW decoupled weight decay, matrices only (0.1)"},
    {"beta1", K_FLOAT, F(beta1), 0, 0.999999, "AdamW beta1 (0.9)"},
    {"beta2", K_FLOAT, F(beta2), 0, 0.999999999, "AdamW beta2 (0.95)"},
    {"adam_eps", K_FLOAT, F(adam_eps), 0, 1, "AdamW epsilon (1e-8)"},
    {"grad_clip", K_FLOAT, F(grad_clip), 0, 1e9, "clip the global gradient norm to this (1.0; 0: off)"},
    {"seed", K_U64, F(seed), 0, 0, "seed of the init RNG (1337)"},
    {"threads", K_INT, F(threads), 0, 1024, "compute threads per process (0: physical cores)"},
    {"log_every", K_INT, F(log_every), 1, 1 << 30, "progress line every N steps (1)"},
    {"val_every", K_INT, F(val_every), 0, 1 << 30, "validation loss every N steps (0: off)"},
    {"val_batches", K_INT, F(val_batches), 1, 1 << 20, "micro-batches per validation (4)"},
    {"sample_every", K_INT, F(sample_every), 0, 1 << 30, "greedy sample every N steps (0: off)"},
    {"sample_tokens", K_INT, F(sample_tokens), 1, 1 << 16, "tokens per sample (16)"},
    {"out_dir", K_STR, F(out_dir), 0, 0, "directory for checkpoints and train.log; empty: none"},
    {"checkpoint_every", K_INT, F(checkpoint_every), 0, 1 << 30, "checkpoint every N steps (0: only at the end)"},
    {"halt_after", K_INT, F(halt_after), 0, 1 << 30, "stop (with a checkpoint) after N steps of this run (0: off)"},
    {"resume", K_STR, F(resume), 0, 0, "checkpoint to resume from, or 'auto' (newest in out_dir)"},
    {"export_gguf", K_STR, F(export_gguf), 0, 0, "write the final model as a GGUF file"},
    {"export_hf", K_STR, F(export_hf), 0, 0, "write the final model as an HF directory"},
    {"export_dtype", K_DTYPE, F(export_f16), 0, 0, "f32 | f16 (f32)"},
    {"dump_grads", K_STR, F(dump_grads), 0, 0, "testing: safetensors of the first step's gradients"},
    {"dump_logits", K_STR, F(dump_logits), 0, 0, "testing: f32 logits of training sequence 0 after training"},
    {"quiet", K_BOOL, F(quiet), 0, 0, "no progress lines (false)"},
    {"dist_timeout", K_FLOAT, F(dist_timeout), 0, 1e9,
     "MPI: a process waiting this many seconds for the others in an all-reduce exits with an error (1800; 0: off)"},
    {"on_nan", K_NAN, F(on_nan_skip), 0, 0, "non-finite loss or gradient: stop (error naming the step) | skip the batch (stop)"},
};

#undef F

sg_train_config *sg_train_config_new(void)
{
    sg_train_config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->arch = SG_ARCH_LLAMA;
    c->n_embd = 64;
    c->n_layer = 2;
    c->n_head = 4;
    c->norm_eps = 1e-5;
    c->rope_theta = 10000;
    c->init_std = 0.02;
    c->seq_len = 64;
    c->batch_size = 4;
    c->grad_accum = 1;
    c->max_steps = 100;
    c->lr = 3e-4;
    c->weight_decay = 0.1;
    c->beta1 = 0.9;
    c->beta2 = 0.95;
    c->adam_eps = 1e-8;
    c->grad_clip = 1.0;
    c->seed = 1337;
    c->log_every = 1;
    c->val_batches = 4;
    c->sample_tokens = 16;
    c->sft_pack = true;
    c->dist_timeout = 1800;
    return c;
}

void sg_train_config_free(sg_train_config *c)
{
    free(c);
}

void sg_train_config_print_keys(FILE *f)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) fprintf(f, "  %-17s %s\n", keys[i].name, keys[i].help);
}

/* Print at most 40 bytes of a value, with control bytes as '?', so messages stay one line. */
static const char *shown(const char *v, char *buf, size_t n)
{
    size_t k = 0;
    for (; v[k] && k + 1 < n && k < 40; k++) buf[k] = (unsigned char)v[k] < 32 ? '?' : v[k];
    buf[k] = 0;
    if (v[k] && k + 4 < n) strcpy(buf + k, "...");
    return buf;
}

/* Set one key from its text value; `where` prefixes messages ("file:line"). */
static sg_status set_key(sg_train_config *c, const char *key, const char *val, const char *where, sg_error *err)
{
    const key_def *k = NULL;
    char sk[48], sv[48];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].name, key)) k = &keys[i];
    if (!k) return sg_fail(err, SG_ERR_INVALID, "%s: unknown key '%s'", where, shown(key, sk, sizeof sk));
    void *field = (char *)c + k->off;
    char *end;
    switch (k->type) {
    case K_INT:
    case K_U64: {
        errno = 0;
        if (k->type == K_U64) {
            if (*val == '-' || !*val) goto bad_int;
            unsigned long long v = strtoull(val, &end, 10);
            if (errno || *end) goto bad_int;
            *(uint64_t *)field = v;
            return SG_OK;
        }
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end || v < (long long)k->lo || v > (long long)k->hi)
            return sg_fail(err, SG_ERR_INVALID, "%s: '%s' must be an integer in [%.0f, %.0f], got '%s'", where, k->name,
                           k->lo, k->hi, shown(val, sv, sizeof sv));
        *(int *)field = (int)v;
        return SG_OK;
    bad_int:
        return sg_fail(err, SG_ERR_INVALID, "%s: '%s' must be a non-negative integer, got '%s'", where, k->name,
                       shown(val, sv, sizeof sv));
    }
    case K_FLOAT: {
        errno = 0;
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v) || v < k->lo || v > k->hi)
            return sg_fail(err, SG_ERR_INVALID, "%s: '%s' must be a number in [%g, %g], got '%s'", where, k->name, k->lo,
                           k->hi, shown(val, sv, sizeof sv));
        *(double *)field = v;
        return SG_OK;
    }
    case K_BOOL:
        if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes")) *(bool *)field = true;
        else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no")) *(bool *)field = false;
        else
            return sg_fail(err, SG_ERR_INVALID, "%s: '%s' must be true or false, got '%s'", where, k->name,
                           shown(val, sv, sizeof sv));
        return SG_OK;
    case K_STR:
        if (strlen(val) >= SG_TCFG_STR)
            return sg_fail(err, SG_ERR_INVALID, "%s: value of '%s' is longer than %d bytes", where, k->name,
                           SG_TCFG_STR - 1);
        for (const char *p = val; *p; p++)
            if ((unsigned char)*p < 32)
                return sg_fail(err, SG_ERR_INVALID, "%s: value of '%s' contains a control byte", where, k->name);
        strcpy((char *)field, val);
        return SG_OK;
    case K_ARCH:
        if (!strcmp(val, "llama")) *(int *)field = SG_ARCH_LLAMA;
        else if (!strcmp(val, "gpt2")) *(int *)field = SG_ARCH_GPT2;
        else
            return sg_fail(err, SG_ERR_INVALID, "%s: 'arch' must be llama or gpt2, got '%s'", where,
                           shown(val, sv, sizeof sv));
        return SG_OK;
    case K_DTYPE:
        if (!strcmp(val, "f32")) *(int *)field = 0;
        else if (!strcmp(val, "f16")) *(int *)field = 1;
        else
            return sg_fail(err, SG_ERR_INVALID, "%s: 'export_dtype' must be f32 or f16, got '%s'", where,
                           shown(val, sv, sizeof sv));
        return SG_OK;
    case K_NAN:
        if (!strcmp(val, "stop")) *(bool *)field = false;
        else if (!strcmp(val, "skip")) *(bool *)field = true;
        else
            return sg_fail(err, SG_ERR_INVALID, "%s: 'on_nan' must be stop or skip, got '%s'", where,
                           shown(val, sv, sizeof sv));
        return SG_OK;
    }
    return sg_fail(err, SG_ERR_INVALID, "%s: bad key table", where);
}

sg_status sg_train_config_set(sg_train_config *c, const char *key, const char *value, sg_error *err)
{
    char where[80];
    snprintf(where, sizeof where, "option --%.40s", key);
    return set_key(c, key, value, where, err);
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

sg_status sg_train_config_parse(sg_train_config *c, const char *text, size_t len, const char *name, sg_error *err)
{
    char line[SG_TCFG_STR + 256], where[300];
    size_t i = 0;
    int lineno = 0;
    char nm[64];
    shown(name, nm, sizeof nm);
    while (i < len) {
        lineno++;
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        size_t n = j - i;
        snprintf(where, sizeof where, "%s:%d", nm, lineno);
        if (memchr(text + i, 0, n)) return sg_fail(err, SG_ERR_FORMAT, "%s: NUL byte in the line", where);
        if (n >= sizeof line) return sg_fail(err, SG_ERR_FORMAT, "%s: line longer than %zu bytes", where, sizeof line - 1);
        memcpy(line, text + i, n);
        line[n] = 0;
        i = j + 1;
        char *p = line;
        while (blank(*p)) p++;
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        if (!eq) return sg_fail(err, SG_ERR_FORMAT, "%s: expected 'key = value'", where);
        char *ke = eq;
        while (ke > p && blank(ke[-1])) ke--;
        *ke = 0;
        char *v = eq + 1;
        while (blank(*v)) v++;
        char *ve = v + strlen(v);
        while (ve > v && blank(ve[-1])) ve--;
        *ve = 0;
        if (!*p) return sg_fail(err, SG_ERR_FORMAT, "%s: missing key before '='", where);
        sg_status s = set_key(c, p, v, where, err);
        if (s) return s;
    }
    return SG_OK;
}

sg_status sg_train_config_load(sg_train_config *c, const char *path, sg_error *err)
{
    char *text = NULL;
    size_t len = 0;
    sg_status s = sg_file_read_all(path, &text, &len, err);
    if (s) return s;
    s = sg_train_config_parse(c, text, len, path, err);
    free(text);
    return s;
}

sg_status sg_train_config_check(const sg_train_config *c, sg_error *err)
{
#define BAD(...) return sg_fail(err, SG_ERR_INVALID, __VA_ARGS__)
    if (!c->train_data[0]) BAD("config: 'train_data' is required");
    if (!c->init[0]) {
        int kv = c->n_head_kv ? c->n_head_kv : c->n_head;
        if (c->n_head % kv) BAD("config: n_head %d is not a multiple of n_head_kv %d", c->n_head, kv);
        if (!c->head_dim && c->n_embd % c->n_head)
            BAD("config: n_embd %d is not divisible by n_head %d (set head_dim)", c->n_embd, c->n_head);
        int hd = c->head_dim ? c->head_dim : c->n_embd / c->n_head;
        if (c->arch == SG_ARCH_LLAMA && hd % 2) BAD("config: head dimension %d must be even for RoPE", hd);
        if (c->arch == SG_ARCH_GPT2 && (kv != c->n_head || hd * c->n_head != c->n_embd))
            BAD("config: gpt2 needs n_head_kv = n_head and head_dim = n_embd / n_head");
        if (c->arch == SG_ARCH_GPT2 && c->n_ctx && c->n_ctx < c->seq_len)
            BAD("config: gpt2 n_ctx %d is smaller than seq_len %d", c->n_ctx, c->seq_len);
    }
    if (c->min_lr > c->lr) BAD("config: min_lr %g is larger than lr %g", c->min_lr, c->lr);
    if (c->warmup_steps > c->max_steps && c->max_steps > 0)
        BAD("config: warmup_steps %d exceeds max_steps %d", c->warmup_steps, c->max_steps);
    if (!strcmp(c->resume, "auto") && !c->out_dir[0]) BAD("config: resume = auto needs out_dir");
    if ((c->checkpoint_every || c->halt_after) && !c->out_dir[0])
        BAD("config: checkpoint_every/halt_after need out_dir");
    if ((uint64_t)c->batch_size * (uint64_t)c->seq_len > (1u << 24))
        BAD("config: batch_size * seq_len = %llu tokens is too large", (unsigned long long)c->batch_size * c->seq_len);
#undef BAD
    return SG_OK;
}
