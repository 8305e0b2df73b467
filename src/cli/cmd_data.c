/*
 * cmd_data.c -- `stargate data prepare`: text to token shards for training.
 *
 *   stargate data prepare --tokenizer T --input FILE [--input FILE ...] --out DIR
 *       [--format text|jsonl] [--field text] [--val-fraction F] [--threads N]
 *       [--shard-tokens N] [--chunk-kb K]
 *
 * Documents: a plain-text file is one document; a JSONL file has one
 * document per line (the string field --field, "text" by default). Each
 * document gets BOS first when the vocabulary's metadata says to add it
 * (tokenizer.ggml.add_bos_token), and EOS after it when the vocabulary has
 * one, so documents are separated in the stream as the tokenizer expects.
 *
 * Streaming and parallel, with bounded memory: the main thread reads the
 * inputs in chunks of about --chunk-kb (cut after a newline, so a chunk
 * holds whole lines; a JSONL line is never split), a batch of 4 x threads
 * chunks at a time; worker threads tokenize the batch's chunks while the
 * main thread reads the next batch; then the main thread appends the
 * batch's tokens in input order. Chunk boundaries depend only on the input
 * bytes, so the output is byte-identical for any --threads. (Plain text
 * tokenized chunk by chunk can differ from tokenizing the whole file at
 * once only at chunk boundaries, which fall after a newline.)
 *
 * Validation: the last --val-fraction of the input bytes goes to the
 * validation set, from the first line that starts at or after that point
 * (a chunk boundary is placed there).
 *
 * Output in DIR: train-NNN.bin (and val-NNN.bin) shards of at most
 * --shard-tokens tokens, in the trainer's shard format (64-byte header, u16
 * ids when the vocabulary has <= 65536 tokens, else u32), written to a
 * temporary name, fsynced and renamed; train.json / val.json manifests
 * listing them with the vocabulary size and the tokenizer's path (the
 * trainer copies that tokenizer into its GGUF export).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/error.h"
#include "cli.h"

typedef struct chunk {
    char *data;
    size_t len;
    bool doc_start, doc_end, val; /* text: first / last chunk of its file */
    bool jsonl;
    long first_line;
    const char *path;
    /* result */
    int32_t *ids;
    size_t n, cap;
    uint64_t docs;
    sg_status st;
    sg_error err;
} chunk;

typedef struct prep {
    const sg_tokenizer *tok;
    const char *field;
    int32_t bos, eos;
    bool add_bos;
} prep;

typedef struct shard_out {
    const char *dir, *prefix;
    int tb;
    uint32_t vocab;
    FILE *f;
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    uint64_t n, limit;
    int index;
    cJSON *list;
    uint64_t total;
} shard_out;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool push(chunk *c, int32_t id)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 1 << 16;
        int32_t *ni = realloc(c->ids, nc * sizeof *ni);
        if (!ni) return false;
        c->ids = ni;
        c->cap = nc;
    }
    c->ids[c->n++] = id;
    return true;
}

static bool append(chunk *c, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!push(c, ids[i])) return false;
    return true;
}

/* Tokenize one document's text (or a piece of one) into c. */
static sg_status add_text(const prep *p, chunk *c, const char *text, size_t len, bool start, bool end)
{
    if (start && p->add_bos && p->bos >= 0 && !push(c, p->bos)) goto oom;
    if (len) {
        int32_t *ids = NULL;
        size_t n = 0;
        sg_status st = sg_tokenize(p->tok, text, len, 0, &ids, &n, &c->err);
        if (st) return st;
        bool ok = append(c, ids, n);
        free(ids);
        if (!ok) goto oom;
    }
    if (end && p->eos >= 0 && !push(c, p->eos)) goto oom;
    if (end) c->docs++;
    return SG_OK;
oom:
    return sg_fail(&c->err, SG_ERR_NOMEM, "out of memory");
}

static sg_status tokenize_chunk(const prep *p, chunk *c)
{
    if (!c->jsonl) return add_text(p, c, c->data, c->len, c->doc_start, c->doc_end);
    size_t i = 0;
    long line = c->first_line;
    while (i < c->len) {
        char *nl = memchr(c->data + i, '\n', c->len - i);
        size_t e = nl ? (size_t)(nl - c->data) : c->len;
        c->data[e] = 0; /* the reader leaves a spare byte after the chunk */
        const char *s = c->data + i;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (*s) {
            cJSON *o = cJSON_Parse(s);
            if (!o) return sg_fail(&c->err, SG_ERR_FORMAT, "%s:%ld: not valid JSON", c->path, line);
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, p->field);
            if (!cJSON_IsString(f)) {
                cJSON_Delete(o);
                return sg_fail(&c->err, SG_ERR_FORMAT, "%s:%ld: no string field '%s'", c->path, line, p->field);
            }
            sg_status st = add_text(p, c, f->valuestring, strlen(f->valuestring), true, true);
            cJSON_Delete(o);
            if (st) return st;
        }
        i = e + 1;
        line++;
    }
    return SG_OK;
}

typedef struct batch_job {
    const prep *p;
    chunk *chunks;
    int n, next, n_threads;
    pthread_mutex_t mu;
} batch_job;

static void *worker(void *arg)
{
    batch_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int k = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (k >= j->n) return NULL;
        chunk *c = &j->chunks[k];
        c->st = tokenize_chunk(j->p, c);
    }
}

/* ------------------------------------------------------------------ shards */

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int shard_finish(shard_out *o)
{
    if (!o->f) return 0;
    uint8_t h[64] = {0};
    memcpy(h, "SGTOKENS", 8);
    wr32(h + 8, 1);
    wr32(h + 12, (uint32_t)o->tb);
    wr32(h + 16, (uint32_t)o->n);
    wr32(h + 20, (uint32_t)(o->n >> 32));
    wr32(h + 28, o->vocab);
    bool ok = fseek(o->f, 0, SEEK_SET) == 0 && fwrite(h, 1, 64, o->f) == 64 && fflush(o->f) == 0 &&
              fsync(fileno(o->f)) == 0;
    if (fclose(o->f) != 0) ok = false;
    o->f = NULL;
    if (!ok || rename(o->tmp, o->path) != 0) {
        int e = errno;
        unlink(o->tmp);
        return cli_error("%s: write failed: %s", o->path, strerror(e));
    }
    cJSON *e = cJSON_CreateObject();
    const char *base = strrchr(o->path, '/');
    cJSON_AddStringToObject(e, "path", base ? base + 1 : o->path);
    cJSON_AddNumberToObject(e, "tokens", (double)o->n);
    cJSON_AddItemToArray(o->list, e);
    o->total += o->n;
    o->index++;
    return 0;
}

static int shard_put(shard_out *o, const int32_t *ids, size_t n)
{
    uint8_t buf[8192];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!o->f) {
            snprintf(o->path, sizeof o->path, "%s/%s-%03d.bin", o->dir, o->prefix, o->index);
            snprintf(o->tmp, sizeof o->tmp, "%s/%s-%03d.bin.tmp.%ld", o->dir, o->prefix, o->index, (long)getpid());
            o->f = fopen(o->tmp, "wb");
            static const uint8_t zeros[64];
            if (!o->f || fwrite(zeros, 1, 64, o->f) != 64)
                return cli_error("%s: cannot create: %s", o->tmp, strerror(errno));
            o->n = 0;
        }
        uint32_t v = (uint32_t)ids[i];
        if (o->tb == 2) {
            buf[k++] = (uint8_t)v;
            buf[k++] = (uint8_t)(v >> 8);
        } else {
            wr32(buf + k, v);
            k += 4;
        }
        o->n++;
        bool full = o->n == o->limit;
        if (k + 4 > sizeof buf || i + 1 == n || full) {
            if (fwrite(buf, 1, k, o->f) != k) return cli_error("%s: write failed: %s", o->tmp, strerror(errno));
            k = 0;
        }
        if (full && shard_finish(o)) return 1;
    }
    return 0;
}

static int write_manifest(shard_out *o, const char *tok_path)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s.json", o->dir, o->prefix);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "stargate-shards");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddNumberToObject(root, "vocab_size", o->vocab);
    char abs[PATH_MAX];
    cJSON_AddStringToObject(root, "tokenizer", realpath(tok_path, abs) ? abs : tok_path);
    cJSON_AddItemToObject(root, "shards", o->list);
    o->list = NULL;
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = false;
    free(text);
    if (!ok || rename(tmp, path) != 0) return cli_error("%s: cannot write", path);
    return 0;
}

/* ------------------------------------------------------------------ reader */

typedef struct reader {
    char **paths;
    int n_paths, cur;
    FILE *f;
    bool jsonl_all, jsonl_cur, file_fresh;
    long line;
    uint64_t pos, total, val_at; /* bytes read over all files; val from val_at */
    size_t chunk;
    char *carry;
    size_t carry_len, carry_cap;
} reader;

static bool is_jsonl(const char *p)
{
    size_t n = strlen(p);
    return (n > 6 && !strcmp(p + n - 6, ".jsonl")) || (n > 5 && !strcmp(p + n - 5, ".json"));
}

static void count_lines(chunk *c, long *line)
{
    for (size_t i = 0; i < c->len; i++) *line += c->data[i] == '\n';
}

/* Make the carry hold at least n bytes (fewer at the end of the file). */
static int fill(reader *r, size_t n)
{
    if (r->carry_cap < n + 1) {
        size_t nc = n + 1 > 2 * r->carry_cap ? n + 1 : 2 * r->carry_cap;
        char *nb = realloc(r->carry, nc);
        if (!nb) return cli_error("out of memory"), -1;
        r->carry = nb;
        r->carry_cap = nc;
    }
    while (r->carry_len < n) {
        size_t got = fread(r->carry + r->carry_len, 1, n - r->carry_len, r->f);
        r->carry_len += got;
        if (!got) break;
    }
    if (ferror(r->f)) return cli_error("%s: read error", r->paths[r->cur]), -1;
    return 0;
}

static bool cont_byte(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

/* Next chunk: 1 got one, 0 end of input, -1 error (reported). */
static int read_chunk(reader *r, chunk *c)
{
    memset(c, 0, sizeof *c);
    for (;;) {
        if (!r->f) {
            if (r->cur >= r->n_paths) return 0;
            r->f = fopen(r->paths[r->cur], "rb");
            if (!r->f) return cli_error("%s: cannot open: %s", r->paths[r->cur], strerror(errno)), -1;
            r->jsonl_cur = r->jsonl_all || is_jsonl(r->paths[r->cur]);
            r->file_fresh = true;
            r->line = 1;
            r->carry_len = 0;
        }
        /* up to r->chunk bytes; a chunk that reaches val_at ends there */
        size_t want = r->chunk;
        bool split = r->pos < r->val_at && r->pos + want >= r->val_at;
        if (split) want = (size_t)(r->val_at - r->pos);
        if (want == 0) want = 1;
        if (fill(r, want + 4) < 0) return -1;
        size_t avail = r->carry_len < want ? r->carry_len : want, cut = avail;
        bool at_eof = r->carry_len <= want;
        if (avail == 0) {
            fclose(r->f);
            r->f = NULL;
            bool fresh = r->file_fresh;
            r->cur++;
            if (fresh || r->jsonl_cur) continue; /* empty file, or JSONL: nothing to close */
            /* the text document ends here: an empty closing chunk carries its EOS */
            c->data = malloc(1);
            if (!c->data) return cli_error("out of memory"), -1;
            c->doc_end = true;
            c->val = r->pos >= r->val_at;
            c->path = r->paths[r->cur - 1];
            return 1;
        }
        size_t k = avail;
        while (k > 0 && r->carry[k - 1] != '\n') k--;
        if (at_eof) {
            cut = avail;
        } else if (split || (!k && r->jsonl_cur)) {
            /* to the end of the line holding the chunk's last byte: the validation
             * split falls after a newline; a JSONL line is never cut (a text line
             * stops growing at 16 chunks) */
            size_t from = avail - 1;
            for (;;) {
                char *nl = memchr(r->carry + from, '\n', r->carry_len - from);
                if (nl) {
                    cut = (size_t)(nl - r->carry) + 1;
                    break;
                }
                from = r->carry_len;
                if (!r->jsonl_cur && from >= 16 * r->chunk) {
                    cut = from;
                    while (cut > 1 && cont_byte(r->carry[cut])) cut--;
                    break;
                }
                if (fill(r, 2 * r->carry_len + 1) < 0) return -1;
                if (r->carry_len == from) {
                    cut = from;
                    break;
                }
            }
        } else if (k) {
            while (k < r->carry_len && (r->carry[k] == '\n' || r->carry[k] == '\r')) k++; /* whole newline runs */
            cut = k;
        } else {
            while (cut > 1 && cont_byte(r->carry[cut])) cut--; /* whole characters */
        }
        c->data = malloc(cut + 1);
        if (!c->data) return cli_error("out of memory"), -1;
        memcpy(c->data, r->carry, cut);
        c->data[cut] = 0;
        c->len = cut;
        memmove(r->carry, r->carry + cut, r->carry_len - cut);
        r->carry_len -= cut;
        c->jsonl = r->jsonl_cur;
        c->path = r->paths[r->cur];
        c->first_line = r->line;
        c->val = r->pos >= r->val_at;
        c->doc_start = r->file_fresh;
        r->file_fresh = false;
        r->pos += cut;
        count_lines(c, &r->line);
        return 1;
    }
}

/* -------------------------------------------------------------------- main */

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stargate data prepare --tokenizer T --input FILE [--input FILE ...] --out DIR\n"
            "           [--format text|jsonl] [--field text] [--val-fraction F] [--threads N]\n"
            "           [--shard-tokens N] [--chunk-kb K]\n"
            "  Tokenizes text into token shards + train.json (and val.json) manifests for `stargate train`.\n"
            "  T: a GGUF vocabulary (stargate tokenizer train), a GGUF model or an HF directory.\n"
            "  text: each file is one document; jsonl (default for .jsonl/.json): one document per line,\n"
            "  its string field --field (text). BOS/EOS around documents as the vocabulary's metadata says.\n"
            "  --val-fraction F: the last F of the input bytes become the validation set (0).\n"
            "  --threads N: tokenizer threads (0: online CPUs). --shard-tokens: tokens per shard (100000000).\n");
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "prepare")) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    const char *tok_path = NULL, *out = NULL, *field = "text", *format = NULL;
    double val_fraction = 0;
    long threads = 0, chunk_kb = 1024;
    unsigned long long shard_tokens = 100000000ull;
    char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs) return cli_error("out of memory");
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(inputs);
            return 0;
        }
        const char *v = cli_value(argc, argv, &i);
        if (!v) {
            free(inputs);
            return 2;
        }
        char *e = NULL;
        if (!strcmp(a, "--tokenizer")) tok_path = v;
        else if (!strcmp(a, "--input")) inputs[n_inputs++] = (char *)v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--field")) field = v;
        else if (!strcmp(a, "--format")) {
            if (strcmp(v, "text") && strcmp(v, "jsonl")) {
                free(inputs);
                return cli_error("option --format: expected text or jsonl, got '%s'", v);
            }
            format = v;
        } else if (!strcmp(a, "--val-fraction")) {
            val_fraction = strtod(v, &e);
            if (*e || !(val_fraction >= 0 && val_fraction < 1)) {
                free(inputs);
                return cli_error("option --val-fraction: expected a number in [0, 1), got '%s'", v);
            }
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--chunk-kb")) {
            long n = strtol(v, &e, 10);
            if (*e || n < 0 || n > 1 << 20 || (n == 0 && a[2] == 'c')) {
                free(inputs);
                return cli_error("option %s: expected a count, got '%s'", a, v);
            }
            *(a[2] == 't' ? &threads : &chunk_kb) = n;
        } else if (!strcmp(a, "--shard-tokens")) {
            shard_tokens = strtoull(v, &e, 10);
            if (*e || shard_tokens < 1) {
                free(inputs);
                return cli_error("option --shard-tokens: expected a count, got '%s'", v);
            }
        } else {
            free(inputs);
            return cli_error("unknown option '%s' (see stargate data prepare --help)", a);
        }
    }
    if (!tok_path || !out || !n_inputs) {
        free(inputs);
        usage(stderr);
        return 2;
    }
    if (threads == 0) threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    sg_error err = {0};
    sg_tokenizer *tok = NULL;
    if (sg_tokenizer_load(tok_path, &tok, &err)) {
        free(inputs);
        return cli_error_from(&err);
    }
    reader r = {.paths = inputs, .n_paths = n_inputs, .jsonl_all = format && !strcmp(format, "jsonl"),
                .chunk = (size_t)chunk_kb << 10};
    if (format && !strcmp(format, "text")) r.jsonl_all = false;
    for (int i = 0; i < n_inputs; i++) {
        struct stat sb;
        if (stat(inputs[i], &sb) != 0) {
            rc = cli_error("%s: %s", inputs[i], strerror(errno));
            goto done;
        }
        r.total += (uint64_t)sb.st_size;
        if (format && !strcmp(format, "text") && is_jsonl(inputs[i])) r.jsonl_all = false;
    }
    bool force_text = format && !strcmp(format, "text");
    r.val_at = val_fraction > 0 ? (uint64_t)((double)r.total * (1 - val_fraction)) : UINT64_MAX;
    if (make_dirs(out) != 0) {
        rc = cli_error("%s: cannot create directory: %s", out, strerror(errno));
        goto done;
    }
    prep p = {.tok = tok, .field = field, .bos = sg_token_bos(tok), .eos = sg_token_eos(tok),
              .add_bos = sg_tokenizer_adds_bos(tok)};
    uint32_t vocab = (uint32_t)sg_tokenizer_n_vocab(tok);
    shard_out so[2] = {{.dir = out, .prefix = "train", .tb = vocab <= 65536 ? 2 : 4, .vocab = vocab,
                        .limit = shard_tokens, .list = cJSON_CreateArray()},
                       {.dir = out, .prefix = "val", .tb = vocab <= 65536 ? 2 : 4, .vocab = vocab,
                        .limit = shard_tokens, .list = cJSON_CreateArray()}};
    int per_batch = 4 * (int)threads;
    chunk *cur = calloc((size_t)per_batch, sizeof *cur), *next = calloc((size_t)per_batch, sizeof *next);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    if (!cur || !next || !th) {
        rc = cli_error("out of memory");
        goto done2;
    }
    double t0 = now_s(), t_print = t0;
    uint64_t docs = 0;
    int n_cur = 0, n_next = 0, got = 1;
    while (n_cur < per_batch && (got = read_chunk(&r, &cur[n_cur])) == 1) {
        if (force_text) cur[n_cur].jsonl = false;
        n_cur++;
    }
    if (got < 0) {
        rc = 1;
        goto done2;
    }
    while (n_cur > 0) {
        batch_job j = {.p = &p, .chunks = cur, .n = n_cur, .n_threads = (int)threads};
        pthread_mutex_init(&j.mu, NULL);
        int started = 0;
        for (; started < threads && started < n_cur; started++)
            if (pthread_create(&th[started], NULL, worker, &j) != 0) break;
        if (!started) worker(&j);
        /* read the next batch meanwhile */
        n_next = 0;
        while (got == 1 && n_next < per_batch && (got = read_chunk(&r, &next[n_next])) == 1) {
            if (force_text) next[n_next].jsonl = false;
            n_next++;
        }
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        pthread_mutex_destroy(&j.mu);
        if (got < 0) rc = 1;
        for (int i = 0; i < n_cur && !rc; i++) {
            chunk *c = &cur[i];
            if (c->st) rc = cli_error_from(&c->err);
            else rc = shard_put(&so[c->val ? 1 : 0], c->ids, c->n);
            docs += c->docs;
        }
        for (int i = 0; i < n_cur; i++) {
            free(cur[i].data);
            free(cur[i].ids);
        }
        if (rc) {
            for (int i = 0; i < n_next; i++) free(next[i].data);
            goto done2;
        }
        chunk *sw = cur;
        cur = next;
        next = sw;
        n_cur = n_next;
        double t = now_s();
        if (t - t_print >= 1.0) {
            uint64_t toks = so[0].total + so[0].n + so[1].total + so[1].n;
            fprintf(stderr, "prepare: %.1f / %.1f MB, %.2f MB/s, %.2f M tokens\n", r.pos / 1e6, r.total / 1e6,
                    r.pos / 1e6 / (t - t0), toks / 1e6);
            t_print = t;
        }
    }
    for (int k = 0; k < 2 && !rc; k++) rc = shard_finish(&so[k]);
    if (!rc) {
        if (!so[0].total) {
            rc = cli_error("no training tokens (empty input, or --val-fraction took everything)");
            goto done2;
        }
        rc = write_manifest(&so[0], tok_path);
        if (!rc && so[1].total) rc = write_manifest(&so[1], tok_path);
    }
    if (!rc) {
        double dt = now_s() - t0;
        printf("prepare: %.2f MB in %.2f s (%.2f MB/s, %ld threads): %llu documents, %llu train tokens in %d "
               "shard%s, %llu val tokens; vocabulary %u\n",
               r.total / 1e6, dt, r.total / 1e6 / (dt > 0 ? dt : 1e-9), threads, (unsigned long long)docs,
               (unsigned long long)so[0].total, so[0].index, so[0].index == 1 ? "" : "s",
               (unsigned long long)so[1].total, vocab);
        printf("prepare: wrote %s/train.json%s\n", out, so[1].total ? " and val.json" : "");
    }
done2:
    for (int k = 0; k < 2; k++) {
        if (so[k].f) {
            fclose(so[k].f);
            unlink(so[k].tmp);
        }
        cJSON_Delete(so[k].list);
    }
    free(cur);
    free(next);
    free(th);
done:
    if (r.f) fclose(r.f);
    free(r.carry);
    sg_tokenizer_free(tok);
    free(inputs);
    return rc;
}
