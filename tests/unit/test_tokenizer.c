/*
 * test_tokenizer.c -- tokenizer properties that need no outside data.
 *
 * Vocabularies are made here: a byte-level BPE trained on a generated
 * multi-script corpus (which also checks that training is deterministic)
 * and a small SentencePiece vocabulary written with the GGUF writer.
 * Checked: decode(encode(s)) == s for random Unicode from many scripts (and,
 * for byte-level BPE, for arbitrary bytes: invalid UTF-8, NULs); special
 * tokens only with PARSE_SPECIAL; BOS insertion; the streaming decoder
 * emits only complete UTF-8 and replaces the impossible; hostile inputs
 * (1 MB word, 100k emoji, special-token look-alikes) finish and round-trip;
 * a vocabulary with tokens but no merges loads.
 */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "formats/gguf_write.h"
#include "stargate.h"
#include "test.h"
#include "tokenizer/tokenizer.h"

static unsigned long long rng = 0x1234567887654321ull;

/* Code point ranges of many scripts. */
static const uint32_t scripts[][2] = {
    {0x41, 0x7A},       {0xC0, 0x17F},     {0x391, 0x3C9},     {0x410, 0x44F},     {0x5D0, 0x5EA},
    {0x627, 0x64A},     {0x905, 0x939},    {0xE01, 0xE2E},     {0x1780, 0x17B3},   {0x3041, 0x3096},
    {0x4E00, 0x4FFF},   {0xAC00, 0xAD00},  {0x1F600, 0x1F64F}, {0x1F300, 0x1F5FF}, {0x300, 0x36F},
    {0x30, 0x39},       {0x20, 0x2F},      {0x2000, 0x206F},   {0xFF01, 0xFF5E},   {0x10400, 0x1044F},
};

static size_t put_utf8(uint32_t cp, char *o)
{
    return sg_utf8_put(cp, o);
}

/* Random valid UTF-8 text of about n bytes: words from random scripts,
 * spaces, newlines, tabs. */
static size_t random_text(char *out, size_t n)
{
    size_t o = 0;
    while (o + 8 < n) {
        unsigned r = (unsigned)(sg_test_rng(&rng) % 20);
        if (r < 3) {
            out[o++] = " \n\t  "[sg_test_rng(&rng) % 5];
            continue;
        }
        const uint32_t *s = scripts[sg_test_rng(&rng) % (sizeof scripts / sizeof *scripts)];
        int len = 1 + (int)(sg_test_rng(&rng) % 6);
        for (int k = 0; k < len && o + 8 < n; k++) {
            uint32_t cp = s[0] + (uint32_t)(sg_test_rng(&rng) % (s[1] - s[0] + 1));
            o += put_utf8(cp, out + o);
        }
    }
    return o;
}

static bool roundtrip(const sg_tokenizer *t, const char *s, size_t n, unsigned flags)
{
    int32_t *ids;
    size_t k;
    sg_error err = {0};
    if (sg_tokenize(t, s, n, flags, &ids, &k, &err)) {
        fprintf(stderr, "tokenize: %s\n", err.msg);
        return false;
    }
    char *txt;
    size_t len;
    bool ok = sg_detokenize(t, ids, k, 0, &txt, &len, &err) == SG_OK && len == n && !memcmp(txt, s, n);
    if (!ok) fprintf(stderr, "roundtrip failed for %zu bytes (%zu tokens)\n", n, k);
    free(ids);
    free(txt);
    return ok;
}

static char dir[64];

static void write_file(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(s, 1, n, f);
        fclose(f);
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* Train twice on the same corpus: same bytes; returns the loaded tokenizer. */
static sg_tokenizer *trained(void)
{
    char corpus[600], out1[600], out2[600];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(out1, sizeof out1, "%s/a.gguf", dir);
    snprintf(out2, sizeof out2, "%s/b.gguf", dir);
    size_t n = 200000;
    char *text = malloc(n);
    size_t len = random_text(text, n);
    /* some repeated words so that merges have something to learn */
    for (size_t i = 0; i + 40 < len; i += 997) memcpy(text + i, " the quick brown fox said l'été ", 33);
    write_file(corpus, text, len);
    free(text);
    sg_train_params p = {.input = corpus, .output = out1, .vocab_size = 600};
    sg_error err = {0};
    CHECK_MSG(sg_tokenizer_train(&p, &err) == SG_OK, "%s", err.msg);
    p.output = out2;
    CHECK(sg_tokenizer_train(&p, &err) == SG_OK);
    size_t n1, n2;
    char *a = slurp(out1, &n1), *b = slurp(out2, &n2);
    CHECK(a && b && n1 == n2 && n1 > 1000 && !memcmp(a, b, n1));
    free(a);
    free(b);
    sg_tokenizer *t = NULL;
    CHECK_MSG(sg_tokenizer_load(out1, &t, &err) == SG_OK, "%s", err.msg);
    if (t) CHECK(sg_tokenizer_n_vocab(t) == 600);
    return t;
}

static void test_bytelevel(sg_tokenizer *t)
{
    char buf[4096];
    for (int i = 0; i < 300; i++) {
        size_t n = random_text(buf, 64 + sg_test_rng(&rng) % 3000);
        CHECK(roundtrip(t, buf, n, 0));
    }
    /* any bytes at all: invalid UTF-8, NULs, lone continuation bytes */
    for (int i = 0; i < 200; i++) {
        size_t n = 1 + sg_test_rng(&rng) % 200;
        for (size_t k = 0; k < n; k++) buf[k] = (char)sg_test_rng(&rng);
        CHECK(roundtrip(t, buf, n, 0));
    }
    CHECK(roundtrip(t, "", 0, 0));
    CHECK(roundtrip(t, "a\0b\xff\xfe\xc0\x80", 8, 0));
    /* the trained vocabulary learned the repeated words */
    int32_t *ids;
    size_t k;
    CHECK(sg_tokenize(t, " the quick brown fox", 20, 0, &ids, &k, NULL) == SG_OK && k <= 5);
    free(ids);
}

static void test_special(sg_tokenizer *t)
{
    int32_t eot = sg_token_eos(t);
    CHECK(eot == 599 && sg_token_is_eog(t, eot) && sg_token_get_type(t, eot) == SG_TOKEN_CONTROL);
    CHECK(!strcmp(sg_token_text(t, eot, NULL), "<|endoftext|>"));
    const char *s = "hi<|endoftext|>there";
    int32_t *ids;
    size_t n;
    CHECK(sg_tokenize(t, s, strlen(s), SG_TOKENIZE_PARSE_SPECIAL, &ids, &n, NULL) == SG_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= ids[i] == eot;
    CHECK(found);
    free(ids);
    CHECK(sg_tokenize(t, s, strlen(s), 0, &ids, &n, NULL) == SG_OK);
    found = false;
    for (size_t i = 0; i < n; i++) found |= ids[i] == eot;
    CHECK(!found); /* untrusted text: no control token */
    free(ids);
    CHECK(roundtrip(t, s, strlen(s), 0));
    /* look-alikes everywhere */
    char buf[20000];
    size_t o = 0;
    while (o + 20 < sizeof buf) {
        static const char *const parts[] = {"<|endoftext|", "<|", "|>", "<|endoftext|>", "<", "endoftext"};
        const char *p = parts[sg_test_rng(&rng) % 6];
        memcpy(buf + o, p, strlen(p));
        o += strlen(p);
    }
    CHECK(roundtrip(t, buf, o, 0));
    /* decode renders control tokens only on request */
    int32_t two[2] = {eot, 'a' - 33 + 0};
    char *txt;
    size_t len;
    CHECK(sg_detokenize(t, two, 1, 0, &txt, &len, NULL) == SG_OK && len == 0);
    free(txt);
    CHECK(sg_detokenize(t, two, 1, SG_DETOK_SPECIAL, &txt, &len, NULL) == SG_OK && len == 13);
    free(txt);
    CHECK(sg_detokenize(t, (int32_t[]){1000}, 1, 0, &txt, &len, NULL) == SG_ERR_INVALID);
}

/* Streamed pieces are always valid UTF-8 and concatenate to the text. */
static void test_stream(sg_tokenizer *t)
{
    const char *s = "a\xF0\x9F\xA6\x99 b \xE4\xBD\xA0\xE5\xA5\xBD \xC3\xA9t\xC3\xA9";
    int32_t *ids;
    size_t n;
    CHECK(sg_tokenize(t, s, strlen(s), 0, &ids, &n, NULL) == SG_OK);
    sg_detok_stream *ds = sg_detok_stream_new(t, 0);
    char out[256];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t l;
        CHECK(sg_detok_stream_push(ds, ids[i], &p, &l, NULL) == SG_OK);
        for (size_t k = 0; k < l;) {
            uint32_t cp;
            int q = sg_utf8_seq((const uint8_t *)p + k, l - k, &cp);
            CHECK(q > 0);
            k += q > 0 ? (size_t)q : l;
        }
        memcpy(out + o, p, l);
        o += l;
    }
    size_t l;
    sg_detok_stream_flush(ds, &l);
    CHECK(l == 0 && o == strlen(s) && !memcmp(out, s, o));
    sg_detok_stream_free(ds);
    free(ids);
    /* impossible bytes become U+FFFD; an unfinished character is held, then replaced at the end */
    ds = sg_detok_stream_new(t, 0);
    const char *p;
    int32_t b_ff = t->byte_id[0xFF], b_e4 = t->byte_id[0xE4], b_bd = t->byte_id[0xBD];
    CHECK(sg_detok_stream_push(ds, b_ff, &p, &l, NULL) == SG_OK && l == 3 && !memcmp(p, "\xEF\xBF\xBD", 3));
    CHECK(sg_detok_stream_push(ds, b_e4, &p, &l, NULL) == SG_OK && l == 0);
    CHECK(sg_detok_stream_push(ds, b_bd, &p, &l, NULL) == SG_OK && l == 0);
    p = sg_detok_stream_flush(ds, &l);
    CHECK(l == 3 && !memcmp(p, "\xEF\xBF\xBD", 3));
    sg_detok_stream_free(ds);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Hostile inputs finish quickly and round-trip. */
static void test_hostile(sg_tokenizer *t)
{
    size_t n = 1 << 20;
    char *buf = malloc(n * 4 + 16);
    for (size_t i = 0; i < n; i++) buf[i] = "abcdefghij"[i % 10]; /* one 1 MB word */
    double t0 = now_s();
    CHECK(roundtrip(t, buf, n, 0));
    size_t o = 0;
    for (int i = 0; i < 100000; i++) o += put_utf8(0x1F600, buf + o); /* 100k emoji, one piece */
    CHECK(roundtrip(t, buf, o, 0));
    memset(buf, ' ', n); /* 1 MB of spaces */
    CHECK(roundtrip(t, buf, n, 0));
    for (size_t i = 0; i < n; i++) buf[i] = (char)(i * 7); /* bytes of every kind */
    CHECK(roundtrip(t, buf, n, 0));
    double dt = now_s() - t0;
    CHECK_MSG(dt < 30, "hostile inputs took %.1f s", dt);
    free(buf);
}

/* A small SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, pieces. */
static sg_tokenizer *spm_vocab(void)
{
    static const char *const pieces[] = {"\xE2\x96\x81", "\xE2\x96\x81t", "h", "e", "he", "\xE2\x96\x81the", "\xE2\x96\x81th",
                                         "t", "a", ("\xE2\x96\x81" "a"), "\xE2\x96\x81\xE2\x96\x81", "o", "s", "\xC3\xA9"};
    int np = (int)(sizeof pieces / sizeof *pieces), n = 3 + 256 + np;
    const char **texts = malloc((size_t)n * sizeof *texts);
    char(*bytes)[8] = malloc(256 * 8);
    int32_t *types = malloc((size_t)n * sizeof *types);
    texts[0] = "<unk>", texts[1] = "<s>", texts[2] = "</s>";
    types[0] = SG_TOKEN_UNKNOWN, types[1] = types[2] = SG_TOKEN_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 8, "<0x%02X>", b);
        texts[3 + b] = bytes[b];
        types[3 + b] = SG_TOKEN_BYTE;
    }
    for (int i = 0; i < np; i++) {
        texts[259 + i] = pieces[i];
        types[259 + i] = SG_TOKEN_NORMAL;
    }
    sg_gguf_writer w = {0};
    sg_gguf_w_str(&w, "tokenizer.ggml.model", "llama");
    sg_gguf_w_str_array(&w, "tokenizer.ggml.tokens", texts, NULL, (size_t)n);
    sg_gguf_w_i32_array(&w, "tokenizer.ggml.token_type", types, (size_t)n);
    /* scores: longer pieces score higher; written as int32 numbers (any numeric array loads) */
    int32_t *scores = malloc((size_t)n * sizeof *scores);
    for (int i = 0; i < n; i++) scores[i] = i >= 259 ? (int32_t)strlen(texts[i]) * 10 - i : 0;
    sg_gguf_w_i32_array(&w, "tokenizer.ggml.scores", scores, (size_t)n);
    char path[600];
    snprintf(path, sizeof path, "%s/spm.gguf", dir);
    sg_error err = {0};
    CHECK_MSG(sg_gguf_writer_save(&w, path, &err) == SG_OK, "%s", err.msg);
    sg_gguf_writer_free(&w);
    free(texts);
    free(bytes);
    free(types);
    free(scores);
    sg_tokenizer *t = NULL;
    CHECK_MSG(sg_tokenizer_load(path, &t, &err) == SG_OK, "%s", err.msg);
    return t;
}

static void test_spm(sg_tokenizer *t)
{
    int32_t *ids;
    size_t n;
    CHECK(sg_tokenize(t, "the", 3, SG_TOKENIZE_ADD_SPECIAL, &ids, &n, NULL) == SG_OK);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 259 + 5); /* <s> ▁the */
    free(ids);
    CHECK(sg_tokenize(t, "x", 1, 0, &ids, &n, NULL) == SG_OK);
    CHECK(n == 2 && ids[0] == 259 && ids[1] == 3 + 'x'); /* ▁ <0x78> */
    free(ids);
    CHECK(sg_tokenize(t, "", 0, 0, &ids, &n, NULL) == SG_OK && n == 0);
    free(ids);
    char buf[4096];
    for (int i = 0; i < 200; i++) {
        size_t len = random_text(buf, 16 + sg_test_rng(&rng) % 2000);
        CHECK(roundtrip(t, buf, len, 0));
    }
    CHECK(roundtrip(t, "  two leading spaces", 20, 0));
    CHECK(roundtrip(t, "trailing  ", 10, 0));
    CHECK(roundtrip(t, "<s>literal</s>", 14, 0));
    CHECK(roundtrip(t, "\xff\xfe invalid", 10, 0));
}

/* A vocabulary with tokens and no merges (the model generator's) loads. */
static void test_degenerate(void)
{
    const char *texts[4] = {"<t0>", "<t1>", "<t2>", "<t3>"};
    sg_gguf_writer w = {0};
    sg_gguf_w_str(&w, "tokenizer.ggml.model", "gpt2");
    sg_gguf_w_str_array(&w, "tokenizer.ggml.tokens", texts, NULL, 4);
    char path[600];
    snprintf(path, sizeof path, "%s/dummy.gguf", dir);
    CHECK(sg_gguf_writer_save(&w, path, NULL) == SG_OK);
    sg_gguf_writer_free(&w);
    sg_tokenizer *t;
    sg_error err = {0};
    CHECK_MSG(sg_tokenizer_load(path, &t, &err) == SG_OK, "%s", err.msg);
    if (t) {
        int32_t *ids;
        size_t n;
        CHECK(sg_tokenize(t, "hello", 5, SG_TOKENIZE_ADD_SPECIAL, &ids, &n, NULL) == SG_OK && n == 0);
        free(ids);
        CHECK(sg_tokenizer_n_vocab(t) == 4 && sg_token_bos(t) == -1);
        sg_tokenizer_free(t);
    }
    /* errors name the file */
    CHECK(sg_tokenizer_load("/nonexistent/x.gguf", &t, &err) == SG_ERR_IO && strstr(err.msg, "/nonexistent/x.gguf"));
}

static void run(void)
{
    snprintf(dir, sizeof dir, "/tmp/sg_test_tok_%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) return;
    sg_tokenizer *t = trained();
    if (t) {
        test_bytelevel(t);
        test_special(t);
        test_stream(t);
        test_hostile(t);
        sg_tokenizer_free(t);
    }
    sg_tokenizer *s = spm_vocab();
    if (s) {
        test_spm(s);
        sg_tokenizer_free(s);
    }
    test_degenerate();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

TEST_MAIN(run())
