/*
 * test_gguf_write.c -- the GGUF writer (formats/gguf_write.c) read back by
 * the GGUF reader: every scalar type, arrays, copied pairs (widened by the
 * reader, narrowed back by the writer: a copy of a copy is byte-identical),
 * tensor offsets at the default and at a `general.alignment` of 64, data
 * streamed in pieces with padding, and the failure paths (too few bytes
 * written, abort) leaving neither the target nor a temporary file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/file.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "test.h"

static char dir[256];

static int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* Write a file with three tensors whose data is i-dependent bytes. */
static sg_status write_model(const char *path, uint32_t align)
{
    sg_gguf_writer w = {0};
    sg_gguf_w_str(&w, "general.architecture", "llama");
    if (align) sg_gguf_w_u32(&w, "general.alignment", align);
    sg_gguf_w_u32(&w, "llama.block_count", 7);
    sg_gguf_w_i32(&w, "test.i32", -5);
    sg_gguf_w_u64(&w, "test.u64", 1ull << 40);
    sg_gguf_w_f32(&w, "test.f32", 0.25f);
    sg_gguf_w_bool(&w, "test.bool", true);
    const char *strs[] = {"a", "bc", ""};
    sg_gguf_w_str_array(&w, "test.strs", strs, NULL, 3);
    int32_t iv[] = {1, -2, 3};
    sg_gguf_w_i32_array(&w, "test.i32s", iv, 3);
    float fv[] = {0.5f, -1.5f};
    sg_gguf_w_f32_array(&w, "test.f32s", fv, 2);
    uint64_t ne0[] = {5}, ne1[] = {4, 3}, ne2[] = {33};
    sg_gguf_w_tensor(&w, "a", 1, ne0, SG_GGML_F32, 20);
    sg_gguf_w_tensor(&w, "b.weight", 2, ne1, SG_GGML_F16, 24);
    sg_gguf_w_tensor(&w, "c", 1, ne2, SG_GGML_F32, 132);
    sg_gguf_file f;
    sg_error err = {0};
    sg_status s = sg_gguf_file_open(&f, &w, path, &err);
    CHECK_MSG(s == SG_OK, "%s", err.msg);
    if (!s) {
        uint8_t buf[132];
        uint64_t sizes[] = {20, 24, 132};
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < 132; i++) buf[i] = (uint8_t)(t * 50 + i);
            sg_gguf_file_write(&f, buf, 7); /* in two pieces */
            sg_gguf_file_write(&f, buf + 7, (size_t)sizes[t] - 7);
            sg_gguf_file_end_tensor(&f);
        }
        s = sg_gguf_file_commit(&f, &err);
        CHECK_MSG(s == SG_OK, "%s", err.msg);
    }
    sg_gguf_writer_free(&w);
    return s;
}

static void check_model(const char *path, uint64_t align)
{
    sg_gguf g;
    sg_error err = {0};
    CHECK_MSG(sg_gguf_open(&g, path, &err) == SG_OK, "%s", err.msg);
    if (err.msg[0]) return;
    CHECK(g.alignment == align);
    uint32_t u;
    CHECK(sg_gguf_get_u32(&g, "llama.block_count", &u, NULL) == SG_OK && u == 7);
    const sg_gguf_kv *kv = sg_gguf_find(&g, "test.i32");
    CHECK(kv && kv->type == SG_GGUF_INT32 && kv->v.i64 == -5);
    kv = sg_gguf_find(&g, "test.u64");
    CHECK(kv && kv->type == SG_GGUF_UINT64 && kv->v.u64 == 1ull << 40);
    kv = sg_gguf_find(&g, "test.f32");
    CHECK(kv && kv->type == SG_GGUF_FLOAT32 && kv->v.f64 == 0.25);
    kv = sg_gguf_find(&g, "test.bool");
    CHECK(kv && kv->type == SG_GGUF_BOOL && kv->v.u64 == 1);
    kv = sg_gguf_find(&g, "test.strs");
    CHECK(kv && kv->type == SG_GGUF_ARRAY && kv->v.arr.n == 3 && kv->v.arr.strs[1].len == 2 &&
          !memcmp(kv->v.arr.strs[1].ptr, "bc", 2) && kv->v.arr.strs[2].len == 0);
    kv = sg_gguf_find(&g, "test.f32s");
    float f1 = 0;
    if (kv && kv->v.arr.n == 2) memcpy(&f1, kv->v.arr.data + 4, 4);
    CHECK(kv && kv->v.arr.type == SG_GGUF_FLOAT32 && f1 == -1.5f);
    CHECK(g.n_tensors == 3);
    uint64_t sizes[] = {20, 24, 132}, off = 0;
    for (uint64_t t = 0; t < g.n_tensors && t < 3; t++) {
        const sg_gguf_tensor *x = &g.tensors[t];
        CHECK_MSG(x->offset == off, "tensor %d at %llu, want %llu", (int)t, (unsigned long long)x->offset,
                  (unsigned long long)off);
        CHECK(x->nbytes == sizes[t]);
        const uint8_t *d = x->data;
        bool same = true;
        for (uint64_t i = 0; i < sizes[t]; i++) same &= d[i] == (uint8_t)(t * 50 + i);
        CHECK_MSG(same, "tensor %d data", (int)t);
        off += (sizes[t] + align - 1) / align * align;
    }
    CHECK(g.tensors[1].n_dims == 2 && g.tensors[1].ne[0] == 4 && g.tensors[1].ne[1] == 3);
    sg_gguf_close(&g);
}

/* Copy every pair of src (sg_gguf_w_kv) into a metadata-only file. */
static void copy_pairs(const char *src, const char *dst)
{
    sg_gguf g;
    sg_error err = {0};
    CHECK_MSG(sg_gguf_open(&g, src, &err) == SG_OK, "%s", err.msg);
    if (err.msg[0]) return;
    sg_gguf_writer w = {0};
    for (uint64_t i = 0; i < g.n_kv; i++) sg_gguf_w_kv(&w, &g.kv[i]);
    CHECK_MSG(sg_gguf_writer_save(&w, dst, &err) == SG_OK, "%s", err.msg);
    sg_gguf_writer_free(&w);
    sg_gguf_close(&g);
}

static void test_copies(void)
{
    char a[300], b[300], c[300];
    snprintf(a, sizeof a, "%s/m64.gguf", dir);
    snprintf(b, sizeof b, "%s/copy1.gguf", dir);
    snprintf(c, sizeof c, "%s/copy2.gguf", dir);
    copy_pairs(a, b);
    copy_pairs(b, c);
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    CHECK(sg_file_read_all(b, &x, &nx, NULL) == SG_OK && sg_file_read_all(c, &y, &ny, NULL) == SG_OK);
    CHECK(x && y && nx == ny && !memcmp(x, y, nx));
    CHECK(nx % 64 == 0); /* the copied general.alignment pads the (empty) data section */
    free(x);
    free(y);
    sg_gguf g;
    CHECK(sg_gguf_open(&g, b, NULL) == SG_OK);
    const sg_gguf_kv *kv = sg_gguf_find(&g, "test.i32");
    CHECK(kv && kv->type == SG_GGUF_INT32 && kv->v.i64 == -5);
    sg_gguf_close(&g);
}

static void test_failures(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/bad.gguf", dir);
    int before = count_files();
    sg_gguf_writer w = {0};
    uint64_t ne[] = {8};
    sg_gguf_w_tensor(&w, "t", 1, ne, SG_GGML_F32, 32);
    sg_gguf_file f;
    sg_error err = {0};
    CHECK(sg_gguf_file_open(&f, &w, p, &err) == SG_OK);
    float x[4] = {0};
    sg_gguf_file_write(&f, x, sizeof x); /* 16 of the 32 announced bytes */
    sg_gguf_file_end_tensor(&f);
    CHECK(sg_gguf_file_commit(&f, &err) == SG_ERR_INVALID);
    CHECK(strstr(err.msg, "announced") != NULL);
    CHECK(!sg_path_exists(p) && count_files() == before);
    CHECK(sg_gguf_file_open(&f, &w, p, &err) == SG_OK);
    sg_gguf_file_abort(&f);
    CHECK(!sg_path_exists(p) && count_files() == before);
    sg_gguf_writer_free(&w);
    /* a directory that does not exist */
    sg_gguf_writer e = {0};
    CHECK(sg_gguf_writer_save(&e, "/nonexistent-dir/x.gguf", &err) == SG_ERR_IO);
    sg_gguf_writer_free(&e);
}

static void run(void)
{
    snprintf(dir, sizeof dir, "/tmp/sg_test_gguf_write.XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char p[300];
    snprintf(p, sizeof p, "%s/m32.gguf", dir);
    if (write_model(p, 0) == SG_OK) check_model(p, 32);
    snprintf(p, sizeof p, "%s/m64.gguf", dir);
    if (write_model(p, 64) == SG_OK) check_model(p, 64);
    test_copies();
    test_failures();
    const char *names[] = {"m32.gguf", "m64.gguf", "copy1.gguf", "copy2.gguf"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    CHECK(count_files() == 0);
    rmdir(dir);
}

TEST_MAIN(run())
