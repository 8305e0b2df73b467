/*
 * test_gguf.c -- unit tests of the GGUF reader (src/formats/gguf.c).
 *
 * Files are built in memory with a tiny writer (gb_*): key/value pairs and
 * tensor infos are appended to two byte buffers, and gb_finish() lays out
 * header, kvs, infos, alignment padding and a data section of patterned
 * bytes. Valid files check that every value type, array type, tensor type and
 * alignment parses to the right fields; then each malformation is built by
 * changing one thing and must be rejected with the right status and a one-line
 * message naming the file and the problem. Every parse runs on a heap copy of
 * exactly the bytes given, so AddressSanitizer catches any over-read.
 */
#include "formats/gguf.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

/* ------------------------------------------------------------ byte buffer */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_le(buf *b, uint64_t v, int n)
{
    uint8_t tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    put(b, tmp, (size_t)n);
}
static void put_u32(buf *b, uint32_t v) { put_le(b, v, 4); }
static void put_u64(buf *b, uint64_t v) { put_le(b, v, 8); }
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

/* ----------------------------------------------------------- GGUF writer */

typedef struct gb {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    buf kv, ti;
    uint64_t alignment;     /* used for auto offsets and padding */
    uint64_t data_len;      /* bytes of data section written      */
    uint64_t next_offset;   /* next auto offset                   */
} gb;

static gb gb_new(void)
{
    gb g = {.version = 3, .alignment = 32};
    return g;
}
static void gb_free(gb *g)
{
    free(g->kv.p);
    free(g->ti.p);
}

/* A key/value pair with raw value bytes. */
static void gb_kv_raw(gb *g, const char *key, uint32_t type, const void *val, size_t n)
{
    put_str(&g->kv, key);
    put_u32(&g->kv, type);
    put(&g->kv, val, n);
    g->n_kv++;
}
static void gb_kv_num(gb *g, const char *key, uint32_t type, uint64_t bits, int n)
{
    put_str(&g->kv, key);
    put_u32(&g->kv, type);
    put_le(&g->kv, bits, n);
    g->n_kv++;
}
static void gb_kv_u32(gb *g, const char *key, uint32_t v) { gb_kv_num(g, key, SG_GGUF_UINT32, v, 4); }
static void gb_kv_str(gb *g, const char *key, const char *s)
{
    put_str(&g->kv, key);
    put_u32(&g->kv, SG_GGUF_STRING);
    put_str(&g->kv, s);
    g->n_kv++;
}
static void gb_kv_f32(gb *g, const char *key, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    gb_kv_num(g, key, SG_GGUF_FLOAT32, u, 4);
}

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* A tensor info. offset UINT64_MAX means "next aligned offset"; the data
 * section grows to cover the tensor when its type's size is known. */
static void gb_tensor(gb *g, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset)
{
    uint32_t bs = 1, bb = 1;
    uint64_t nel = 1;
    for (uint32_t i = 0; i < n_dims && i < 8; i++) nel *= ne[i];
    bool known = sg_ggml_type_size(type, &bs, &bb);
    uint64_t nbytes = known ? nel / bs * bb : 0;
    if (offset == UINT64_MAX) offset = g->next_offset;
    put_str(&g->ti, name);
    put_u32(&g->ti, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) put_u64(&g->ti, ne[i]);
    put_u32(&g->ti, type);
    put_u64(&g->ti, offset);
    g->n_tensors++;
    if (known && offset + nbytes > g->data_len && nbytes < (1u << 24)) g->data_len = offset + nbytes;
    if (known && nbytes < (1u << 24)) g->next_offset = round_up(offset + nbytes, g->alignment);
}
static void gb_tensor2(gb *g, const char *name, uint64_t ne0, uint64_t ne1, uint32_t type)
{
    uint64_t ne[2] = {ne0, ne1};
    gb_tensor(g, name, ne1 ? 2 : 1, ne, type, UINT64_MAX);
}

/* Lay out the file into out (fresh buffer). */
static buf gb_finish(const gb *g)
{
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, g->version);
    put_u64(&b, g->n_tensors);
    put_u64(&b, g->n_kv);
    put(&b, g->kv.p, g->kv.n);
    put(&b, g->ti.p, g->ti.n);
    size_t data_start = round_up(b.n, g->alignment);
    while (b.n < data_start) put_le(&b, 0, 1);
    for (uint64_t i = 0; i < g->data_len; i++) put_le(&b, (uint8_t)(i * 7 + 1), 1);
    return b;
}

/* -------------------------------------------------------------- helpers */

/* Parse exactly n bytes from a private heap copy (so over-reads are caught). */
static sg_status parse_copy(sg_gguf *g, const uint8_t *p, size_t n, sg_error *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    sg_status st = sg_gguf_parse(g, copy, n, "t.gguf", err);
    if (st == SG_OK) sg_gguf_close(g); /* copy dies below; the callers only need the status */
    free(copy);
    return st;
}

/* The message is one line, names the file and contains `word`. */
static bool msg_ok(const sg_error *e, const char *word)
{
    return strstr(e->msg, "t.gguf") && strstr(e->msg, word) && !strchr(e->msg, '\n');
}

/* Expect b to be rejected with `code` and a message containing `word`. */
#define EXPECT_FAIL(bufp, code, word)                                                                              \
    do {                                                                                                           \
        sg_error e_ = {0};                                                                                         \
        sg_gguf g_;                                                                                                \
        sg_status st_ = parse_copy(&g_, (bufp)->p, (bufp)->n, &e_);                                               \
        CHECK_MSG(st_ == (code), "status %d, want %d (%s)", st_, code, e_.msg);                                  \
        CHECK_MSG(msg_ok(&e_, word), "message '%s' lacks '%s'", e_.msg, word);                                    \
        CHECK(g_.kv == NULL && g_.tensors == NULL && g_.name == NULL);                                             \
    } while (0)

static void minimal(gb *g)
{
    gb_kv_str(g, "general.architecture", "llama");
    gb_tensor2(g, "w", 32, 2, SG_GGML_F32);
}

/* ---------------------------------------------------------------- tests */

/* Every value type, every array type, every supported tensor type. */
static void test_valid_all_types(void)
{
    gb g = gb_new();
    gb_kv_str(&g, "general.architecture", "llama");
    gb_kv_num(&g, "u8", SG_GGUF_UINT8, 200, 1);
    gb_kv_num(&g, "i8", SG_GGUF_INT8, (uint8_t)-5, 1);
    gb_kv_num(&g, "u16", SG_GGUF_UINT16, 60000, 2);
    gb_kv_num(&g, "i16", SG_GGUF_INT16, (uint16_t)-300, 2);
    gb_kv_u32(&g, "u32", 4000000000u);
    gb_kv_num(&g, "i32", SG_GGUF_INT32, (uint32_t)-70000, 4);
    gb_kv_num(&g, "i32pos", SG_GGUF_INT32, 70000, 4);
    gb_kv_f32(&g, "f32", 0.5f);
    gb_kv_num(&g, "bool", SG_GGUF_BOOL, 1, 1);
    gb_kv_num(&g, "u64", SG_GGUF_UINT64, UINT64_C(1) << 40, 8);
    gb_kv_num(&g, "u64small", SG_GGUF_UINT64, 7, 8);
    gb_kv_num(&g, "i64", SG_GGUF_INT64, (uint64_t)INT64_C(-9), 8);
    double dv = -2.25;
    uint64_t du;
    memcpy(&du, &dv, 8);
    gb_kv_num(&g, "f64", SG_GGUF_FLOAT64, du, 8);
    double big = 1e300;
    memcpy(&du, &big, 8);
    gb_kv_num(&g, "f64big", SG_GGUF_FLOAT64, du, 8);
    gb_kv_str(&g, "empty", "");
    /* numeric arrays of every element type: 3 elements each */
    static const uint32_t et[] = {SG_GGUF_UINT8,   SG_GGUF_INT8,  SG_GGUF_UINT16, SG_GGUF_INT16, SG_GGUF_UINT32,
                                  SG_GGUF_INT32,   SG_GGUF_FLOAT32, SG_GGUF_BOOL, SG_GGUF_UINT64, SG_GGUF_INT64,
                                  SG_GGUF_FLOAT64};
    static const int es[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 8, 8};
    for (size_t i = 0; i < sizeof et / sizeof et[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "arr.%s", sg_gguf_type_name(et[i]));
        buf v = {0};
        put_u32(&v, et[i]);
        put_u64(&v, 3);
        for (int k = 0; k < 3; k++) put_le(&v, et[i] == SG_GGUF_BOOL ? (uint64_t)(k & 1) : (uint64_t)(k + 1), es[i]);
        gb_kv_raw(&g, key, SG_GGUF_ARRAY, v.p, v.n);
        free(v.p);
    }
    buf sa = {0};
    put_u32(&sa, SG_GGUF_STRING);
    put_u64(&sa, 3);
    put_str(&sa, "<s>");
    put_str(&sa, "");
    put_str(&sa, "hello");
    gb_kv_raw(&g, "tokenizer.ggml.tokens", SG_GGUF_ARRAY, sa.p, sa.n);
    free(sa.p);
    buf ea = {0};
    put_u32(&ea, SG_GGUF_STRING);
    put_u64(&ea, 0);
    gb_kv_raw(&g, "arr.empty", SG_GGUF_ARRAY, ea.p, ea.n);
    free(ea.p);

    gb_tensor2(&g, "t.f32", 4, 3, SG_GGML_F32);
    gb_tensor2(&g, "t.f16", 8, 0, SG_GGML_F16);
    gb_tensor2(&g, "t.bf16", 2, 2, SG_GGML_BF16);
    gb_tensor2(&g, "t.q8_0", 64, 2, SG_GGML_Q8_0);
    gb_tensor2(&g, "t.q4_0", 32, 1, SG_GGML_Q4_0);
    gb_tensor2(&g, "t.q4_K", 256, 2, SG_GGML_Q4_K);
    gb_tensor2(&g, "t.q6_K", 512, 1, SG_GGML_Q6_K);
    gb_tensor2(&g, "t.q5_K", 256, 1, 13);
    uint64_t ne4[4] = {2, 3, 4, 5};
    gb_tensor(&g, "t.4d", 4, ne4, SG_GGML_F32, UINT64_MAX);
    buf b = gb_finish(&g);

    sg_gguf f;
    sg_error e = {0};
    sg_status st = sg_gguf_parse(&f, b.p, b.n, "t.gguf", &e);
    CHECK_MSG(st == SG_OK, "%s", e.msg);
    if (st != SG_OK) goto out;
    CHECK(f.version == 3);
    CHECK(f.n_kv == g.n_kv);
    CHECK(f.n_tensors == 9);
    CHECK(f.alignment == 32);
    CHECK(f.data_offset % 32 == 0);
    CHECK(f.data_offset + g.data_len == b.n);

    const sg_gguf_kv *kv = sg_gguf_find(&f, "u8");
    CHECK(kv && kv->type == SG_GGUF_UINT8 && kv->v.u64 == 200);
    CHECK((kv = sg_gguf_find(&f, "i8")) && kv->v.i64 == -5);
    CHECK((kv = sg_gguf_find(&f, "u16")) && kv->v.u64 == 60000);
    CHECK((kv = sg_gguf_find(&f, "i16")) && kv->v.i64 == -300);
    CHECK((kv = sg_gguf_find(&f, "i32")) && kv->v.i64 == -70000);
    CHECK((kv = sg_gguf_find(&f, "u64")) && kv->v.u64 == UINT64_C(1) << 40);
    CHECK((kv = sg_gguf_find(&f, "i64")) && kv->v.i64 == -9);
    CHECK((kv = sg_gguf_find(&f, "f64")) && kv->v.f64 == -2.25);
    CHECK((kv = sg_gguf_find(&f, "bool")) && kv->v.u64 == 1);
    CHECK(sg_gguf_find(&f, "nope") == NULL);
    CHECK(sg_gguf_find(&f, "") == NULL);

    /* getters */
    uint32_t u = 0;
    float fl = 0;
    bool bo = false;
    sg_gguf_str s = {0};
    CHECK(sg_gguf_get_u32(&f, "u8", &u, &e) == SG_OK && u == 200);
    CHECK(sg_gguf_get_u32(&f, "u32", &u, &e) == SG_OK && u == 4000000000u);
    CHECK(sg_gguf_get_u32(&f, "i32pos", &u, &e) == SG_OK && u == 70000);
    CHECK(sg_gguf_get_u32(&f, "u64small", &u, &e) == SG_OK && u == 7);
    sg_error e2 = {.code = SG_OK, .msg = "untouched"};
    CHECK(sg_gguf_get_u32(&f, "missing.key", &u, &e2) == SG_ERR_MISSING);
    CHECK(strcmp(e2.msg, "untouched") == 0);
    CHECK(sg_gguf_get_f32(&f, "missing.key", &fl, &e2) == SG_ERR_MISSING);
    CHECK(sg_gguf_get_bool(&f, "missing.key", &bo, &e2) == SG_ERR_MISSING);
    CHECK(sg_gguf_get_str(&f, "missing.key", &s, &e2) == SG_ERR_MISSING);
    CHECK(strcmp(e2.msg, "untouched") == 0);
    CHECK(sg_gguf_get_u32(&f, "i32", &u, &e) == SG_ERR_FORMAT && msg_ok(&e, "'i32'") && strstr(e.msg, "range"));
    CHECK(sg_gguf_get_u32(&f, "u64", &u, &e) == SG_ERR_FORMAT && msg_ok(&e, "range"));
    CHECK(sg_gguf_get_u32(&f, "f32", &u, &e) == SG_ERR_FORMAT && msg_ok(&e, "float32"));
    CHECK(sg_gguf_get_u32(&f, "general.architecture", &u, &e) == SG_ERR_FORMAT && msg_ok(&e, "string"));
    CHECK(sg_gguf_get_f32(&f, "f32", &fl, &e) == SG_OK && fl == 0.5f);
    CHECK(sg_gguf_get_f32(&f, "f64", &fl, &e) == SG_OK && fl == -2.25f);
    CHECK(sg_gguf_get_f32(&f, "f64big", &fl, &e) == SG_ERR_FORMAT && msg_ok(&e, "range"));
    CHECK(sg_gguf_get_f32(&f, "u32", &fl, &e) == SG_ERR_FORMAT && msg_ok(&e, "'u32'"));
    CHECK(sg_gguf_get_bool(&f, "bool", &bo, &e) == SG_OK && bo);
    CHECK(sg_gguf_get_bool(&f, "u8", &bo, &e) == SG_ERR_FORMAT && msg_ok(&e, "bool"));
    CHECK(sg_gguf_get_str(&f, "general.architecture", &s, &e) == SG_OK && s.len == 5 &&
          memcmp(s.ptr, "llama", 5) == 0);
    CHECK(sg_gguf_get_str(&f, "empty", &s, &e) == SG_OK && s.len == 0);
    CHECK(sg_gguf_get_str(&f, "u8", &s, &e) == SG_ERR_FORMAT && msg_ok(&e, "expected a string"));

    /* arrays */
    for (size_t i = 0; i < sizeof et / sizeof et[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "arr.%s", sg_gguf_type_name(et[i]));
        kv = sg_gguf_find(&f, key);
        CHECK_MSG(kv && kv->type == SG_GGUF_ARRAY && kv->v.arr.type == et[i] && kv->v.arr.n == 3, "%s", key);
        if (kv && et[i] != SG_GGUF_BOOL) CHECK(kv->v.arr.data[0] == 1 && kv->v.arr.data[es[i]] == 2);
        if (kv) CHECK(kv->v.arr.strs == NULL);
    }
    kv = sg_gguf_find(&f, "tokenizer.ggml.tokens");
    CHECK(kv && kv->type == SG_GGUF_ARRAY && kv->v.arr.type == SG_GGUF_STRING && kv->v.arr.n == 3);
    if (kv && kv->v.arr.strs) {
        CHECK(kv->v.arr.strs[0].len == 3 && memcmp(kv->v.arr.strs[0].ptr, "<s>", 3) == 0);
        CHECK(kv->v.arr.strs[1].len == 0);
        CHECK(kv->v.arr.strs[2].len == 5 && memcmp(kv->v.arr.strs[2].ptr, "hello", 5) == 0);
    }
    kv = sg_gguf_find(&f, "arr.empty");
    CHECK(kv && kv->v.arr.n == 0 && kv->v.arr.strs == NULL);

    /* tensors */
    static const struct {
        const char *name;
        int dtype;
        uint64_t nbytes;
    } want[] = {
        {"t.f32", SG_F32, 48},   {"t.f16", SG_F16, 16},    {"t.bf16", SG_BF16, 8},  {"t.q8_0", SG_Q8_0, 136},
        {"t.q4_0", SG_Q4_0, 18}, {"t.q4_K", SG_Q4_K, 288}, {"t.q6_K", SG_Q6_K, 420}, {"t.q5_K", -1, 0},
        {"t.4d", SG_F32, 480},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sg_gguf_tensor *t = sg_gguf_find_tensor(&f, want[i].name);
        CHECK_MSG(t && t->dtype == want[i].dtype && t->nbytes == want[i].nbytes, "%s", want[i].name);
        if (!t) continue;
        CHECK(t->offset % 32 == 0);
        if (t->dtype >= 0)
            CHECK(t->data == b.p + f.data_offset + t->offset);
        else
            CHECK(t->data == NULL);
    }
    const sg_gguf_tensor *t = sg_gguf_find_tensor(&f, "t.f32");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 4 && t->ne[1] == 3 && t->ne[2] == 1 && t->ne[3] == 1);
    CHECK(t && t->ggml_type == SG_GGML_F32 && t->offset == 0);
    CHECK(t && ((const uint8_t *)t->data)[0] == 1 && ((const uint8_t *)t->data)[1] == 8);
    t = sg_gguf_find_tensor(&f, "t.f16");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 8 && t->ne[1] == 1);
    t = sg_gguf_find_tensor(&f, "t.4d");
    CHECK(t && t->n_dims == 4 && t->ne[3] == 5);
    CHECK(sg_gguf_find_tensor(&f, "t.q5") == NULL);
    sg_gguf_close(&f);
out:
    free(b.p);
    gb_free(&g);
}

static void test_names(void)
{
    CHECK(strcmp(sg_gguf_type_name(SG_GGUF_UINT32), "uint32") == 0);
    CHECK(strcmp(sg_gguf_type_name(SG_GGUF_FLOAT64), "float64") == 0);
    CHECK(strcmp(sg_gguf_type_name((sg_gguf_type)99), "unknown") == 0);
    CHECK(strcmp(sg_ggml_type_name(0), "f32") == 0);
    CHECK(strcmp(sg_ggml_type_name(12), "q4_K") == 0);
    CHECK(strcmp(sg_ggml_type_name(13), "q5_K") == 0);
    CHECK(strcmp(sg_ggml_type_name(30), "bf16") == 0);
    CHECK(strcmp(sg_ggml_type_name(4), "unknown") == 0);
    CHECK(strcmp(sg_ggml_type_name(1000), "unknown") == 0);
    uint32_t bs = 0, bb = 0;
    CHECK(sg_ggml_type_size(14, &bs, &bb) && bs == 256 && bb == 210);
    CHECK(sg_ggml_type_size(8, &bs, &bb) && bs == 32 && bb == 34);
    CHECK(!sg_ggml_type_size(5, &bs, &bb));
}

/* Custom alignment 64 and version 2; and a file without tensors. */
static void test_alignment_and_versions(void)
{
    gb g = gb_new();
    g.version = 2;
    g.alignment = 64;
    gb_kv_u32(&g, "general.alignment", 64);
    gb_tensor2(&g, "a", 3, 0, SG_GGML_F32); /* 12 bytes, next at 64 */
    gb_tensor2(&g, "b", 32, 0, SG_GGML_Q8_0);
    buf b = gb_finish(&g);
    sg_gguf f;
    sg_error e = {0};
    CHECK_MSG(sg_gguf_parse(&f, b.p, b.n, "t.gguf", &e) == SG_OK, "%s", e.msg);
    CHECK(f.version == 2 && f.alignment == 64 && f.data_offset % 64 == 0);
    const sg_gguf_tensor *t = sg_gguf_find_tensor(&f, "b");
    CHECK(t && t->offset == 64 && t->data == b.p + f.data_offset + 64);
    sg_gguf_close(&f);
    free(b.p);
    gb_free(&g);

    /* alignment given with another integer type is accepted when in range */
    g = gb_new();
    g.alignment = 16;
    gb_kv_num(&g, "general.alignment", SG_GGUF_UINT64, 16, 8);
    gb_tensor2(&g, "a", 3, 0, SG_GGML_F32);
    gb_tensor2(&g, "b", 3, 0, SG_GGML_F32);
    b = gb_finish(&g);
    CHECK_MSG(sg_gguf_parse(&f, b.p, b.n, "t.gguf", &e) == SG_OK, "%s", e.msg);
    CHECK(f.alignment == 16 && sg_gguf_find_tensor(&f, "b")->offset == 16);
    sg_gguf_close(&f);
    free(b.p);
    gb_free(&g);

    /* no kvs, no tensors */
    g = gb_new();
    b = gb_finish(&g);
    CHECK(sg_gguf_parse(&f, b.p, b.n, "t.gguf", &e) == SG_OK);
    CHECK(f.n_kv == 0 && f.n_tensors == 0 && sg_gguf_find(&f, "x") == NULL && sg_gguf_find_tensor(&f, "x") == NULL);
    sg_gguf_close(&f);
    free(b.p);
    gb_free(&g);
}

/* Every proper prefix of a small valid file fails cleanly. */
static void test_truncation_every_length(void)
{
    gb g = gb_new();
    gb_kv_str(&g, "general.architecture", "llama");
    gb_kv_u32(&g, "llama.block_count", 1);
    buf sa = {0};
    put_u32(&sa, SG_GGUF_STRING);
    put_u64(&sa, 2);
    put_str(&sa, "a");
    put_str(&sa, "bc");
    gb_kv_raw(&g, "tokens", SG_GGUF_ARRAY, sa.p, sa.n);
    free(sa.p);
    buf na = {0};
    put_u32(&na, SG_GGUF_FLOAT32);
    put_u64(&na, 2);
    put_u64(&na, 0);
    gb_kv_raw(&g, "scores", SG_GGUF_ARRAY, na.p, na.n);
    free(na.p);
    gb_tensor2(&g, "x", 8, 0, SG_GGML_F32);
    gb_tensor2(&g, "y", 32, 1, SG_GGML_Q8_0);
    buf b = gb_finish(&g);
    sg_gguf f;
    sg_error e = {0};
    CHECK(parse_copy(&f, b.p, b.n, &e) == SG_OK);
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        e.msg[0] = 0;
        sg_status st = parse_copy(&f, b.p, n, &e);
        if (st != SG_ERR_FORMAT || !msg_ok(&e, "t.gguf")) {
            bad++;
            fprintf(stderr, "truncated to %zu bytes: status %d '%s'\n", n, st, e.msg);
        }
    }
    CHECK(bad == 0);
    /* in the header / kvs the message says truncated; in the data it says past end */
    CHECK(parse_copy(&f, b.p, 10, &e) == SG_ERR_FORMAT && msg_ok(&e, "truncated"));
    size_t infos_end = 24 + g.kv.n + g.ti.n;
    CHECK(parse_copy(&f, b.p, infos_end - 5, &e) == SG_ERR_FORMAT && msg_ok(&e, "truncated") &&
          msg_ok(&e, "tensor 'y'"));
    CHECK(parse_copy(&f, b.p, 30, &e) == SG_ERR_FORMAT && msg_ok(&e, "truncated or corrupt"));
    CHECK(parse_copy(&f, b.p, b.n - 1, &e) == SG_ERR_FORMAT && msg_ok(&e, "extends past end of file"));
    free(b.p);
    gb_free(&g);
}

static void test_header_errors(void)
{
    gb g = gb_new();
    minimal(&g);
    buf b = gb_finish(&g);

    b.p[0] = 'X';
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "magic");
    b.p[0] = 'G';
    static const struct {
        uint32_t v;
        const char *word;
    } versions[] = {{1, "version 1"}, {4, "version 4"}, {0, "version 0"}, {0x03000000u, "big-endian"},
                    {0x02000000u, "big-endian"}};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        uint32_t v = versions[i].v;
        for (int k = 0; k < 4; k++) b.p[4 + k] = (uint8_t)(v >> (8 * k));
        EXPECT_FAIL(&b, SG_ERR_UNSUPPORTED, versions[i].word);
    }
    b.p[4] = 3, b.p[5] = b.p[6] = b.p[7] = 0;

    /* huge counts */
    uint8_t save[8];
    memcpy(save, b.p + 8, 8);
    memset(b.p + 8, 0xff, 8); /* n_tensors */
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "tensors");
    memcpy(b.p + 8, save, 8);
    memcpy(save, b.p + 16, 8);
    memset(b.p + 16, 0xff, 8); /* n_kv */
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "key/value");
    b.p[16] = 2; /* more kvs than written: runs into the tensor infos */
    memset(b.p + 17, 0, 7);
    {
        sg_error e = {0};
        sg_gguf f;
        CHECK(parse_copy(&f, b.p, b.n, &e) != SG_OK && msg_ok(&e, "t.gguf"));
    }
    memcpy(b.p + 16, save, 8);

    /* tiny inputs */
    buf tiny = {.p = b.p, .n = 3};
    EXPECT_FAIL(&tiny, SG_ERR_FORMAT, "not a GGUF file");
    tiny.n = 0;
    EXPECT_FAIL(&tiny, SG_ERR_FORMAT, "not a GGUF file");
    free(b.p);
    gb_free(&g);
}

static void test_kv_errors(void)
{
    buf b;
    gb g;

    /* huge string length in a value */
    g = gb_new();
    put_str(&g.kv, "general.name");
    put_u32(&g.kv, SG_GGUF_STRING);
    put_u64(&g.kv, UINT64_C(1) << 62);
    g.n_kv = 1;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "string length");
    free(b.p);
    gb_free(&g);

    /* huge key length, key beyond the cap, empty key, key with NUL */
    g = gb_new();
    put_u64(&g.kv, UINT64_MAX);
    put_u64(&g.kv, 0);
    put_u64(&g.kv, 0);
    g.n_kv = 1;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "length");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    {
        char *longkey = malloc(SG_GGUF_MAX_NAME + 2);
        memset(longkey, 'k', SG_GGUF_MAX_NAME + 1);
        longkey[SG_GGUF_MAX_NAME + 1] = 0;
        gb_kv_u32(&g, longkey, 1);
        free(longkey);
    }
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "limit");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_kv_u32(&g, "", 1);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "empty key");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    put_u64(&g.kv, 3);
    put(&g.kv, "a\0b", 3);
    put_u32(&g.kv, SG_GGUF_UINT8);
    put_le(&g.kv, 1, 1);
    g.n_kv = 1;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "NUL");
    free(b.p);
    gb_free(&g);

    /* bad value types */
    g = gb_new();
    gb_kv_num(&g, "k", 13, 0, 4);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "invalid value type 13");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_kv_num(&g, "k", 0xffffffffu, 0, 4);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "invalid value type");
    free(b.p);
    gb_free(&g);
    /* names from the file with control characters: the message stays one line */
    g = gb_new();
    gb_kv_num(&g, "bad\nkey\r", 13, 0, 4);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "key 'bad?key?'");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_kv_num(&g, "flag", SG_GGUF_BOOL, 2, 1);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "bool");
    free(b.p);
    gb_free(&g);

    /* arrays: nested, bad element type, huge counts, bool element */
    static const struct {
        uint32_t et;
        uint64_t n;
        const char *word;
    } arrs[] = {
        {SG_GGUF_ARRAY, 1, "nested"},
        {SG_GGUF_TYPE_COUNT, 1, "invalid array element type"},
        {SG_GGUF_UINT32, UINT64_C(1) << 61, "does not fit"},
        {SG_GGUF_UINT8, UINT64_MAX, "does not fit"},
        {SG_GGUF_FLOAT64, UINT64_MAX / 4, "does not fit"},
        {SG_GGUF_STRING, UINT64_MAX, "does not fit"},
        {SG_GGUF_STRING, 1000, "does not fit"},
    };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        g = gb_new();
        buf v = {0};
        put_u32(&v, arrs[i].et);
        put_u64(&v, arrs[i].n);
        put_u64(&v, 0); /* a few bytes after, to make counts plausible where they should be */
        put_u64(&v, 0);
        gb_kv_raw(&g, "arr", SG_GGUF_ARRAY, v.p, v.n);
        free(v.p);
        b = gb_finish(&g);
        EXPECT_FAIL(&b, SG_ERR_FORMAT, arrs[i].word);
        free(b.p);
        gb_free(&g);
    }
    g = gb_new();
    {
        buf v = {0};
        put_u32(&v, SG_GGUF_BOOL);
        put_u64(&v, 2);
        put_le(&v, 1, 1);
        put_le(&v, 5, 1);
        gb_kv_raw(&g, "flags", SG_GGUF_ARRAY, v.p, v.n);
        free(v.p);
    }
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "bool element 1");
    free(b.p);
    gb_free(&g);
    /* a huge string inside a string array */
    g = gb_new();
    {
        buf v = {0};
        put_u32(&v, SG_GGUF_STRING);
        put_u64(&v, 2);
        put_str(&v, "ok");
        put_u64(&v, UINT64_C(1) << 63);
        gb_kv_raw(&g, "strs", SG_GGUF_ARRAY, v.p, v.n);
        free(v.p);
    }
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "element 1 of array 'strs'");
    free(b.p);
    gb_free(&g);

    /* duplicate keys */
    g = gb_new();
    gb_kv_u32(&g, "a", 1);
    gb_kv_u32(&g, "b", 1);
    gb_kv_str(&g, "a", "again");
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "duplicate key 'a'");
    free(b.p);
    gb_free(&g);

    /* bad alignment values and type */
    static const uint32_t bad_align[] = {0, 48, 3, 0x80000001u};
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        g = gb_new();
        gb_kv_u32(&g, "general.alignment", bad_align[i]);
        minimal(&g);
        b = gb_finish(&g);
        EXPECT_FAIL(&b, SG_ERR_FORMAT, "power of two");
        free(b.p);
        gb_free(&g);
    }
    g = gb_new();
    gb_kv_str(&g, "general.alignment", "32");
    minimal(&g);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "general.alignment");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_kv_num(&g, "general.alignment", SG_GGUF_UINT64, UINT64_C(1) << 40, 8);
    minimal(&g);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "range");
    free(b.p);
    gb_free(&g);
}

static void test_tensor_errors(void)
{
    buf b;
    gb g;
    uint64_t ne[5] = {32, 2, 1, 1, 1};

    /* n_dims 0 and 5 */
    g = gb_new();
    gb_tensor(&g, "w", 0, ne, SG_GGML_F32, 0);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "0 dimensions");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_tensor(&g, "w", 5, ne, SG_GGML_F32, 0);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "5 dimensions");
    free(b.p);
    gb_free(&g);

    /* zero and overflowing dims */
    g = gb_new();
    gb_tensor2(&g, "w", 32, 0, SG_GGML_F32);
    gb_tensor(&g, "z", 2, (uint64_t[]){4, 0}, SG_GGML_F32, UINT64_MAX);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "'z' has an empty dimension");
    free(b.p);
    gb_free(&g);
    static const uint64_t big[][4] = {
        {UINT64_C(1) << 32, UINT64_C(1) << 32, 1, 1},
        {UINT64_C(1) << 63, 1, 1, 1},
        {UINT64_MAX, 1, 1, 1},
        {UINT64_C(1) << 16, UINT64_C(1) << 16, UINT64_C(1) << 16, UINT64_C(1) << 16},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        g = gb_new();
        gb_tensor(&g, "huge", 4, big[i], SG_GGML_F32, 0);
        b = gb_finish(&g);
        EXPECT_FAIL(&b, SG_ERR_FORMAT, "overflow");
        free(b.p);
        gb_free(&g);
    }
    /* element count fits but byte size overflows */
    g = gb_new();
    gb_tensor(&g, "wide", 1, (uint64_t[]){UINT64_C(1) << 62}, SG_GGML_F32, 0);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "overflow");
    free(b.p);
    gb_free(&g);
    /* sane but enormous: past end of file */
    g = gb_new();
    gb_tensor(&g, "big", 2, (uint64_t[]){1u << 20, 1u << 20}, SG_GGML_F32, 0);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "extends past end of file");
    free(b.p);
    gb_free(&g);

    /* misaligned offset */
    g = gb_new();
    gb_tensor(&g, "w", 1, ne, SG_GGML_F32, 4);
    g.data_len = 256;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "alignment");
    free(b.p);
    gb_free(&g);

    /* out of bounds: offset past the end, and data cut short */
    g = gb_new();
    gb_tensor2(&g, "a", 32, 0, SG_GGML_F32);
    gb_tensor(&g, "b", 1, ne, SG_GGML_F32, 1024);
    g.data_len = 128;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "'b' data [offset 1024, size 128] extends past end of file");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_tensor(&g, "b", 1, ne, SG_GGML_F32, UINT64_MAX - 31);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "extends past end of file");
    free(b.p);
    gb_free(&g);

    /* overlap: second tensor starts inside the first */
    g = gb_new();
    gb_tensor(&g, "first", 1, (uint64_t[]){64}, SG_GGML_F32, 0);
    gb_tensor(&g, "second", 1, (uint64_t[]){8}, SG_GGML_F32, 224);
    gb_tensor(&g, "third", 1, (uint64_t[]){8}, SG_GGML_F32, 64);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "overlap");
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "'first'");
    free(b.p);
    gb_free(&g);
    /* same offset: also overlap; an unsupported-type tensor still counts */
    g = gb_new();
    gb_tensor(&g, "a", 1, (uint64_t[]){256}, 13 /* q5_K */, 0);
    gb_tensor(&g, "b", 1, (uint64_t[]){8}, SG_GGML_F32, 160);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "overlap");
    free(b.p);
    gb_free(&g);

    /* unknown ggml types */
    static const uint32_t unk[] = {4, 5, 31, 36, 40, 1000, 0xffffffffu};
    for (size_t i = 0; i < sizeof unk / sizeof unk[0]; i++) {
        g = gb_new();
        gb_tensor(&g, "blk.0.w", 1, ne, unk[i], 0);
        g.data_len = 4096;
        b = gb_finish(&g);
        char word[64];
        snprintf(word, sizeof word, "unknown ggml type %u in tensor 'blk.0.w'", unk[i]);
        EXPECT_FAIL(&b, SG_ERR_UNSUPPORTED, word);
        free(b.p);
        gb_free(&g);
    }
    /* row length not a multiple of the block size */
    g = gb_new();
    gb_tensor(&g, "q", 2, (uint64_t[]){100, 2}, SG_GGML_Q4_K, 0);
    g.data_len = 4096;
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "block size 256");
    free(b.p);
    gb_free(&g);

    /* duplicate tensor names; empty name */
    g = gb_new();
    gb_tensor2(&g, "dup", 8, 0, SG_GGML_F32);
    gb_tensor2(&g, "other", 8, 0, SG_GGML_F32);
    gb_tensor2(&g, "dup", 8, 0, SG_GGML_F32);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "duplicate tensor name 'dup'");
    free(b.p);
    gb_free(&g);
    g = gb_new();
    gb_tensor2(&g, "", 8, 0, SG_GGML_F32);
    b = gb_finish(&g);
    EXPECT_FAIL(&b, SG_ERR_FORMAT, "empty tensor name");
    free(b.p);
    gb_free(&g);

    /* more tensors claimed than infos present */
    g = gb_new();
    gb_tensor2(&g, "w", 8, 0, SG_GGML_F32);
    g.n_tensors = 2;
    g.data_len = 64;
    b = gb_finish(&g);
    {
        sg_error e = {0};
        sg_gguf f;
        CHECK(parse_copy(&f, b.p, b.n, &e) == SG_ERR_FORMAT && msg_ok(&e, "t.gguf"));
    }
    free(b.p);
    gb_free(&g);
}

/* sg_gguf_open maps a file; close unmaps it; missing files are I/O errors. */
static void test_open_file(void)
{
    char dir[] = "/tmp/sg_test_gguf_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    gb g = gb_new();
    minimal(&g);
    buf b = gb_finish(&g);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp) fclose(fp);

    sg_gguf f;
    sg_error e = {0};
    CHECK_MSG(sg_gguf_open(&f, path, &e) == SG_OK, "%s", e.msg);
    CHECK(f.name && strcmp(f.name, path) == 0);
    CHECK(f.file.data != NULL && f.file.size == b.n);
    const sg_gguf_tensor *t = sg_gguf_find_tensor(&f, "w");
    CHECK(t && t->data == f.file.data + f.data_offset);
    sg_gguf_close(&f);
    CHECK(f.file.data == NULL && f.name == NULL);

    /* a bad file on disk: message names the path */
    b.p[0] = 'g';
    fp = fopen(path, "wb");
    CHECK(fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp) fclose(fp);
    CHECK(sg_gguf_open(&f, path, &e) == SG_ERR_FORMAT && strstr(e.msg, path) && strstr(e.msg, "magic"));
    CHECK(f.file.data == NULL && f.kv == NULL);
    /* empty file */
    fp = fopen(path, "wb");
    if (fp) fclose(fp);
    CHECK(sg_gguf_open(&f, path, &e) == SG_ERR_FORMAT && strstr(e.msg, path));
    unlink(path);
    CHECK(sg_gguf_open(&f, path, &e) == SG_ERR_IO && strstr(e.msg, path));
    rmdir(dir);
    free(b.p);
    gb_free(&g);
}

TEST_MAIN({
    test_names();
    test_valid_all_types();
    test_alignment_and_versions();
    test_truncation_every_length();
    test_header_errors();
    test_kv_errors();
    test_tensor_errors();
    test_open_file();
})
