/*
 * gguf_write.c -- GGUF v3 writer (see gguf_write.h).
 *
 * Layout written: "GGUF", u32 version 3, u64 n_tensors, u64 n_kv, then each
 * pair as u64-length key, u32 type, value; strings are u64 length + bytes,
 * arrays u32 element type + u64 count + elements; then each tensor info as
 * name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset; zero padding
 * to the alignment, and the data, each tensor padded likewise. All
 * little-endian (the only byte order stargate targets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf_write.h"
#include "base/afile.h"

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need) nc *= 2;
    uint8_t *b = realloc(*buf, nc);
    if (!b) return false;
    *buf = b;
    *cap = nc;
    return true;
}

static void put(sg_gguf_writer *w, const void *p, size_t n)
{
    if (w->oom) return;
    if (!grow(&w->buf, &w->cap, w->n + n)) {
        w->oom = true;
        return;
    }
    if (n) memcpy(w->buf + w->n, p, n);
    w->n += n;
}

static void put_u32(sg_gguf_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(sg_gguf_writer *w, uint64_t v) { put(w, &v, 8); }

static void put_string(sg_gguf_writer *w, const char *s, size_t n)
{
    put_u64(w, n);
    put(w, s, n);
}

static void key(sg_gguf_writer *w, const char *k, uint32_t type)
{
    put_string(w, k, strlen(k));
    put_u32(w, type);
    w->n_kv++;
}

/* A `general.alignment` pair sets the file's alignment (0 or absurd: ignored). */
static void note_align(sg_gguf_writer *w, const char *k, uint64_t v)
{
    if (!strcmp(k, "general.alignment") && v > 0 && v <= 65536) w->align = v;
}

void sg_gguf_w_str(sg_gguf_writer *w, const char *k, const char *val)
{
    key(w, k, SG_GGUF_STRING);
    put_string(w, val, strlen(val));
}

void sg_gguf_w_u32(sg_gguf_writer *w, const char *k, uint32_t val)
{
    key(w, k, SG_GGUF_UINT32);
    put_u32(w, val);
    note_align(w, k, val);
}

void sg_gguf_w_u64(sg_gguf_writer *w, const char *k, uint64_t val)
{
    key(w, k, SG_GGUF_UINT64);
    put_u64(w, val);
    note_align(w, k, val);
}

void sg_gguf_w_i32(sg_gguf_writer *w, const char *k, int32_t val)
{
    key(w, k, SG_GGUF_INT32);
    put(w, &val, 4);
}

void sg_gguf_w_f32(sg_gguf_writer *w, const char *k, float val)
{
    key(w, k, SG_GGUF_FLOAT32);
    put(w, &val, 4);
}

void sg_gguf_w_bool(sg_gguf_writer *w, const char *k, bool val)
{
    key(w, k, SG_GGUF_BOOL);
    uint8_t b = val;
    put(w, &b, 1);
}

void sg_gguf_w_str_array(sg_gguf_writer *w, const char *k, const char *const *strs, const size_t *lens, size_t n)
{
    key(w, k, SG_GGUF_ARRAY);
    put_u32(w, SG_GGUF_STRING);
    put_u64(w, n);
    for (size_t i = 0; i < n; i++) put_string(w, strs[i], lens ? lens[i] : strlen(strs[i]));
}

void sg_gguf_w_i32_array(sg_gguf_writer *w, const char *k, const int32_t *v, size_t n)
{
    key(w, k, SG_GGUF_ARRAY);
    put_u32(w, SG_GGUF_INT32);
    put_u64(w, n);
    put(w, v, n * 4);
}

void sg_gguf_w_f32_array(sg_gguf_writer *w, const char *k, const float *v, size_t n)
{
    key(w, k, SG_GGUF_ARRAY);
    put_u32(w, SG_GGUF_FLOAT32);
    put_u64(w, n);
    put(w, v, n * 4);
}

/* Bytes of one scalar element of type t. */
static size_t scalar_size(sg_gguf_type t)
{
    switch (t) {
    case SG_GGUF_UINT8: case SG_GGUF_INT8: case SG_GGUF_BOOL: return 1;
    case SG_GGUF_UINT16: case SG_GGUF_INT16: return 2;
    case SG_GGUF_UINT32: case SG_GGUF_INT32: case SG_GGUF_FLOAT32: return 4;
    default: return 8;
    }
}

void sg_gguf_w_kv(sg_gguf_writer *w, const sg_gguf_kv *kv)
{
    key(w, kv->key, (uint32_t)kv->type);
    switch (kv->type) {
    case SG_GGUF_STRING: put_string(w, kv->v.str.ptr, (size_t)kv->v.str.len); break;
    case SG_GGUF_ARRAY:
        put_u32(w, (uint32_t)kv->v.arr.type);
        put_u64(w, kv->v.arr.n);
        if (kv->v.arr.type == SG_GGUF_STRING)
            for (uint64_t i = 0; i < kv->v.arr.n; i++)
                put_string(w, kv->v.arr.strs[i].ptr, (size_t)kv->v.arr.strs[i].len);
        else
            put(w, kv->v.arr.data, (size_t)kv->v.arr.n * scalar_size(kv->v.arr.type));
        break;
    case SG_GGUF_FLOAT32: {
        float f = (float)kv->v.f64;
        put(w, &f, 4);
        break;
    }
    case SG_GGUF_FLOAT64: put(w, &kv->v.f64, 8); break;
    case SG_GGUF_INT8: case SG_GGUF_INT16: case SG_GGUF_INT32: case SG_GGUF_INT64:
        put(w, &kv->v.i64, scalar_size(kv->type)); /* little-endian: the low bytes */
        break;
    default:
        put(w, &kv->v.u64, scalar_size(kv->type));
        if (kv->type != SG_GGUF_BOOL) note_align(w, kv->key, kv->v.u64);
        break;
    }
}

/* ------------------------------------------------------------ tensor infos */

static void tput(sg_gguf_writer *w, const void *p, size_t n)
{
    if (w->oom) return;
    if (!grow(&w->tbuf, &w->tcap, w->tn + n)) {
        w->oom = true;
        return;
    }
    memcpy(w->tbuf + w->tn, p, n);
    w->tn += n;
}

static void tput_u64(sg_gguf_writer *w, uint64_t v) { tput(w, &v, 8); }

void sg_gguf_w_tensor(sg_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t ggml_type,
                      uint64_t nbytes)
{
    if (w->oom) return;
    if (w->n_tensors == w->tlist_cap) {
        size_t nc = w->tlist_cap ? 2 * w->tlist_cap : 64;
        size_t *no = realloc(w->toff, nc * sizeof *no);
        if (no) w->toff = no;
        uint64_t *ns = realloc(w->tsize, nc * sizeof *ns);
        if (ns) w->tsize = ns;
        if (!no || !ns) {
            w->oom = true;
            return;
        }
        w->tlist_cap = nc;
    }
    size_t nl = strlen(name);
    tput_u64(w, nl);
    tput(w, name, nl);
    tput(w, &n_dims, 4);
    for (uint32_t d = 0; d < n_dims; d++) tput_u64(w, ne[d]);
    tput(w, &ggml_type, 4);
    w->toff[w->n_tensors] = w->tn;
    w->tsize[w->n_tensors] = nbytes;
    tput_u64(w, 0); /* the offset, laid out by sg_gguf_writer_header */
    if (!w->oom) w->n_tensors++;
}

uint64_t sg_gguf_writer_align(const sg_gguf_writer *w)
{
    return w->align ? w->align : SG_GGUF_DEFAULT_ALIGN;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

sg_status sg_gguf_writer_header(const sg_gguf_writer *w, uint8_t **out, size_t *n, uint64_t *data_bytes,
                                sg_error *err)
{
    *out = NULL;
    *n = 0;
    if (w->oom) return sg_fail(err, SG_ERR_NOMEM, "out of memory building a GGUF header");
    uint64_t align = sg_gguf_writer_align(w);
    size_t len = (size_t)round_up(24 + (uint64_t)w->n + w->tn, align);
    uint8_t *h = calloc(len, 1);
    if (!h) return sg_fail(err, SG_ERR_NOMEM, "out of memory building a GGUF header");
    uint32_t version = 3;
    memcpy(h, "GGUF", 4);
    memcpy(h + 4, &version, 4);
    memcpy(h + 8, &w->n_tensors, 8);
    memcpy(h + 16, &w->n_kv, 8);
    if (w->n) memcpy(h + 24, w->buf, w->n);
    uint8_t *ti = h + 24 + w->n;
    if (w->tn) memcpy(ti, w->tbuf, w->tn);
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        memcpy(ti + w->toff[i], &off, 8);
        off += round_up(w->tsize[i], align);
    }
    *out = h;
    *n = len;
    if (data_bytes) *data_bytes = off;
    return SG_OK;
}

sg_status sg_gguf_writer_save(const sg_gguf_writer *w, const char *path, sg_error *err)
{
    sg_gguf_file f;
    sg_status s = sg_gguf_file_open(&f, w, path, err);
    return s ? s : sg_gguf_file_commit(&f, err);
}

void sg_gguf_writer_free(sg_gguf_writer *w)
{
    free(w->buf);
    free(w->tbuf);
    free(w->toff);
    free(w->tsize);
    memset(w, 0, sizeof *w);
}

/* ------------------------------------------------------- streaming output */

sg_status sg_gguf_file_open(sg_gguf_file *f, const sg_gguf_writer *w, const char *path, sg_error *err)
{
    memset(f, 0, sizeof *f);
    uint8_t *h;
    size_t hn;
    sg_status s = sg_gguf_writer_header(w, &h, &hn, NULL, err);
    if (s) return s;
    f->align = sg_gguf_writer_align(w);
    f->n_tensors = w->n_tensors;
    f->a = malloc(sizeof *f->a);
    f->sizes = malloc((w->n_tensors ? w->n_tensors : 1) * sizeof *f->sizes);
    if (!f->a || !f->sizes) {
        free(h);
        free(f->a);
        free(f->sizes);
        return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    }
    if (w->n_tensors) memcpy(f->sizes, w->tsize, w->n_tensors * sizeof *f->sizes);
    if ((s = sg_afile_open(f->a, path, err))) {
        free(f->a);
        free(f->sizes);
        memset(f, 0, sizeof *f);
        free(h);
        return s;
    }
    sg_afile_write(f->a, h, hn);
    free(h);
    return SG_OK;
}

void sg_gguf_file_write(sg_gguf_file *f, const void *p, size_t n)
{
    sg_afile_write(f->a, p, n);
    f->pos += n;
}

void sg_gguf_file_end_tensor(sg_gguf_file *f)
{
    static const uint8_t zeros[256];
    if (f->i >= f->n_tensors || f->pos - f->start != f->sizes[f->i]) f->bad = true;
    f->i++;
    uint64_t pad = (f->align - f->pos % f->align) % f->align;
    while (pad) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        sg_gguf_file_write(f, zeros, k);
        pad -= k;
    }
    f->start = f->pos;
}

sg_status sg_gguf_file_commit(sg_gguf_file *f, sg_error *err)
{
    sg_status s;
    if (f->bad || f->i != f->n_tensors) {
        s = sg_fail(err, SG_ERR_INVALID, "%s: tensor data written differs from the %llu tensors announced",
                    f->a->path, (unsigned long long)f->n_tensors);
        sg_afile_abort(f->a);
    } else {
        s = sg_afile_commit(f->a, err);
    }
    free(f->a);
    free(f->sizes);
    memset(f, 0, sizeof *f);
    return s;
}

void sg_gguf_file_abort(sg_gguf_file *f)
{
    if (f->a) sg_afile_abort(f->a);
    free(f->a);
    free(f->sizes);
    memset(f, 0, sizeof *f);
}
