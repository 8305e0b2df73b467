/*
 * cmd_tokenize.c -- `stargate tokenize`, `stargate detokenize` and
 * `stargate tokenizer train`.
 *
 *   tokenize -m MODEL_OR_VOCAB [--ids] [--no-bos] [--special] [--stats] [-f FILE]
 *       reads UTF-8 text (stdin, or FILE) and prints one "id<TAB>piece" line
 *       per token (pieces escaped: \n \t \\ \xNN), or with --ids the ids on
 *       one line; --stats prints only bytes, tokens, bytes/token and speed.
 *   detokenize -m MODEL_OR_VOCAB [--special]
 *       reads ids (spaces, commas, newlines) from stdin and prints the text.
 *   tokenizer train --input CORPUS --vocab-size N -o OUT.gguf [--special TOK]...
 *       trains a byte-level BPE vocabulary (GPT-4 split) into a GGUF file.
 *
 * MODEL_OR_VOCAB is a .gguf (model or vocabulary only), a Hugging Face
 * directory or a tokenizer.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Read all of f into a heap buffer. */
static char *read_stream(FILE *f, size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap + 1);
    if (!b) return NULL;
    for (;;) {
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        size_t k = fread(b + len, 1, cap - len, f);
        len += k;
        if (k == 0) break;
    }
    b[len] = 0;
    *n = len;
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Print a piece with control and non-UTF-8 bytes escaped. */
static void print_piece(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\x%02X", c);
        else if (c < 0x80) putchar(c);
        else { /* keep complete UTF-8 sequences, escape stray bytes */
            int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            bool ok = len && i + (size_t)len <= n;
            for (int k = 1; ok && k < len; k++) ok = ((unsigned char)p[i + (size_t)k] & 0xC0) == 0x80;
            if (ok) {
                fwrite(p + i, 1, (size_t)len, stdout);
                i += (size_t)len - 1;
            } else printf("\\x%02X", c);
        }
    }
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *file = NULL;
    bool ids_only = false, no_bos = false, special = false, stats = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(file = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--ids")) ids_only = true;
        else if (!strcmp(a, "--no-bos")) no_bos = true;
        else if (!strcmp(a, "--special")) special = true;
        else if (!strcmp(a, "--stats")) stats = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate tokenize -m MODEL_OR_VOCAB [--ids] [--no-bos] [--special] [--stats] [-f FILE]\n"
                   "  reads UTF-8 text from stdin (or FILE); prints 'id<TAB>piece' per token,\n"
                   "  --ids: the ids on one line; --no-bos: no BOS/EOS even where the vocabulary adds them;\n"
                   "  --special: control tokens written in the text (<|im_end|>) become their ids;\n"
                   "  --stats: bytes, tokens, bytes per token and encoding speed only\n");
            return 0;
        } else {
            cli_error("unknown option '%s'", a);
            return 2;
        }
    }
    if (!model) return cli_error("missing -m MODEL_OR_VOCAB");
    if (!(model = cli_model(model))) return 1;
    sg_tokenizer *t;
    sg_error err = {0};
    if (sg_tokenizer_load(model, &t, &err)) return cli_error_from(&err);
    FILE *in = file ? fopen(file, "rb") : stdin;
    if (!in) {
        sg_tokenizer_free(t);
        return cli_error("%s: cannot open", file);
    }
    size_t n;
    char *text = read_stream(in, &n);
    if (file) fclose(in);
    if (!text) {
        sg_tokenizer_free(t);
        return cli_error("out of memory reading the input");
    }
    unsigned flags = (no_bos ? 0 : SG_TOKENIZE_ADD_SPECIAL) | (special ? SG_TOKENIZE_PARSE_SPECIAL : 0);
    int32_t *ids;
    size_t n_ids;
    double t0 = now_s();
    sg_status s = sg_tokenize(t, text, n, flags, &ids, &n_ids, &err);
    double dt = now_s() - t0;
    int rc = 0;
    if (s) rc = cli_error_from(&err);
    else if (stats) {
        printf("bytes %zu tokens %zu bytes/token %.4f time %.3f s speed %.2f MB/s (%s)\n", n, n_ids,
               n_ids ? (double)n / (double)n_ids : 0.0, dt, dt > 0 ? (double)n / dt / 1e6 : 0.0, sg_tokenizer_kind(t));
    } else if (ids_only) {
        for (size_t i = 0; i < n_ids; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    } else {
        for (size_t i = 0; i < n_ids; i++) {
            size_t pl;
            const char *p = sg_token_piece(t, ids[i], &pl);
            printf("%d\t", ids[i]);
            print_piece(p, pl);
            printf("\n");
        }
    }
    if (!s) free(ids);
    free(text);
    sg_tokenizer_free(t);
    return rc;
}

int cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL;
    bool special = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--special")) special = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate detokenize -m MODEL_OR_VOCAB [--special] < ids\n"
                   "  reads token ids from stdin and prints the text; --special renders control tokens\n");
            return 0;
        } else {
            cli_error("unknown option '%s'", a);
            return 2;
        }
    }
    if (!model) return cli_error("missing -m MODEL_OR_VOCAB");
    if (!(model = cli_model(model))) return 1;
    size_t n;
    char *in = read_stream(stdin, &n);
    if (!in) return cli_error("out of memory reading the input");
    int32_t *ids;
    int n_ids = 0;
    bool any = false;
    for (const char *p = in; *p; p++) any |= *p >= '0' && *p <= '9';
    if (!any) {
        free(in);
        return 0; /* no ids: no text */
    }
    if (!cli_tokens(in, &ids, &n_ids)) {
        free(in);
        return 2;
    }
    free(in);
    sg_tokenizer *t;
    sg_error err = {0};
    if (sg_tokenizer_load(model, &t, &err)) {
        free(ids);
        return cli_error_from(&err);
    }
    char *text;
    size_t len;
    int rc = 0;
    if (sg_detokenize(t, ids, (size_t)n_ids, special ? SG_DETOK_SPECIAL : 0, &text, &len, &err)) rc = cli_error_from(&err);
    else {
        fwrite(text, 1, len, stdout);
        free(text);
    }
    free(ids);
    sg_tokenizer_free(t);
    return rc;
}

/* `stargate tokenizer train ...` */
int cmd_tokenizer(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "train")) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            printf("usage: stargate tokenizer train --input CORPUS --vocab-size N -o OUT.gguf [--special TOKEN]... [-q]\n");
            return 0;
        }
        return cli_error("usage: stargate tokenizer train --input CORPUS --vocab-size N -o OUT.gguf");
    }
    sg_train_params p = {.verbose = true};
    const char *specials[64];
    int n_specials = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--input") || !strcmp(a, "-i")) {
            if (!(p.input = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(p.output = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--vocab-size")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 257, 1 << 22, &p.vocab_size)) return 2;
        } else if (!strcmp(a, "--special")) {
            if (!(v = cli_value(argc, argv, &i))) return 2;
            if (n_specials == 64) return cli_error("at most 64 --special tokens");
            specials[n_specials++] = v;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) p.verbose = false;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate tokenizer train --input CORPUS --vocab-size N -o OUT.gguf [--special TOKEN]... [-q]\n"
                   "  byte-level BPE with the GPT-4 split; the first special token (default <|endoftext|>) is BOS/EOS\n");
            return 0;
        } else {
            cli_error("unknown option '%s'", a);
            return 2;
        }
    }
    if (!p.input) return cli_error("missing --input CORPUS");
    if (!p.output) return cli_error("missing -o OUT.gguf");
    if (!p.vocab_size) return cli_error("missing --vocab-size N");
    if (n_specials) {
        p.specials = specials;
        p.n_specials = n_specials;
    }
    sg_error err = {0};
    double t0 = now_s();
    if (sg_tokenizer_train(&p, &err)) return cli_error_from(&err);
    fprintf(stderr, "wrote %s (%d tokens) in %.2f s\n", p.output, p.vocab_size, now_s() - t0);
    return 0;
}
