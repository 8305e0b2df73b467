/*
 * gguf_write.c -- GGUF v3 metadata writer (see gguf_write.h).
 *
 * Layout written: "GGUF", u32 version 3, u64 n_tensors (0), u64 n_kv, then
 * each pair as u64-length key, u32 type, value; strings are u64 length +
 * bytes, arrays u32 element type + u64 count + elements, all little-endian
 * (the only byte order stargate targets).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "formats/gguf_write.h"

static void put(sg_gguf_writer *w, const void *p, size_t n)
{
    if (w->oom) return;
    if (w->n + n > w->cap) {
        size_t nc = w->cap ? w->cap : 4096;
        while (nc < w->n + n) nc *= 2;
        uint8_t *b = realloc(w->buf, nc);
        if (!b) {
            w->oom = true;
            return;
        }
        w->buf = b;
        w->cap = nc;
    }
    memcpy(w->buf + w->n, p, n);
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

void sg_gguf_w_str(sg_gguf_writer *w, const char *k, const char *val)
{
    key(w, k, SG_GGUF_STRING);
    put_string(w, val, strlen(val));
}

void sg_gguf_w_u32(sg_gguf_writer *w, const char *k, uint32_t val)
{
    key(w, k, SG_GGUF_UINT32);
    put_u32(w, val);
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

/* Write all of p[0..n) to fd; false on error. */
static bool write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

sg_status sg_gguf_writer_save(const sg_gguf_writer *w, const char *path, sg_error *err)
{
    if (w->oom) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory building the file", path);
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, pl + 16, "%s.tmp%ld", path, (long)getpid() % 100000);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        sg_status s = sg_fail(err, SG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    uint8_t hdr[24];
    uint32_t version = 3;
    uint64_t n_tensors = 0, n_kv = w->n_kv;
    memcpy(hdr, "GGUF", 4);
    memcpy(hdr + 4, &version, 4);
    memcpy(hdr + 8, &n_tensors, 8);
    memcpy(hdr + 16, &n_kv, 8);
    static const uint8_t zeros[32] = {0};
    size_t pad = (32 - (sizeof hdr + w->n) % 32) % 32; /* data section starts aligned, even when empty */
    bool ok = write_all(fd, hdr, sizeof hdr) && write_all(fd, w->buf, w->n) && write_all(fd, zeros, pad) &&
              fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        unlink(tmp);
        sg_status s = sg_fail(err, SG_ERR_IO, "%s: write failed: %s", path, strerror(e));
        free(tmp);
        return s;
    }
    free(tmp);
    return SG_OK;
}

void sg_gguf_writer_free(sg_gguf_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}
