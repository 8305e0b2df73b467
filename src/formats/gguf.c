/*
 * gguf.c -- GGUF v2/v3 reader.
 *
 * Design. The whole file is a byte buffer (a read-only mapping, or a caller's
 * buffer when fuzzing). A small cursor (`rd`) walks it; every read first asks
 * need() whether that many bytes remain, so no read can leave the buffer, and
 * every count is compared with the bytes left *before* anything is allocated:
 * an entry of each kind has a minimum encoded size, so a count larger than
 * remaining / minimum is a lie and the file is rejected without a large
 * malloc. Arrays of entries (kvs, tensors) grow geometrically while they are
 * read, so memory follows what the file really contains.
 *
 * Parsing runs in passes over what was read:
 *   1. header (magic, version, counts),
 *   2. key/value pairs (nested arrays rejected, strings point into the buffer),
 *   3. sorted key index -> duplicate keys rejected, general.alignment checked,
 *   4. tensor infos (dims, type, element count and byte size overflow-checked),
 *   5. sorted name index -> duplicate tensor names rejected,
 *   6. data section placement: every tensor aligned, inside the file, and no
 *      two tensors overlapping (sorted by offset, neighbours compared).
 * Each failure is one line "<name>: <problem>" and releases everything: the
 * partially filled sg_gguf is always in a state sg_gguf_close can free.
 *
 * Tensors whose ggml type is known but not computed by stargate (q5_K, iq*,
 * ...) parse with dtype -1, nbytes 0 and data NULL; their true size is still
 * used for the bounds and overlap checks. Unknown type ids are rejected.
 */
#include "formats/gguf.h"

#include <inttypes.h>
#include <math.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest possible encodings, used to bound counts against bytes left:
 * a kv is key length (8) + >= 1 key byte + type (4) + >= 1 value byte;
 * a tensor info is name length (8) + >= 1 name byte + n_dims (4) + >= 1 dim
 * (8) + type (4) + offset (8). */
#define MIN_KV_BYTES 14u
#define MIN_TENSOR_INFO_BYTES 33u
#define DEFAULT_ALIGNMENT 32u

/* ------------------------------------------------------------ type tables */

typedef struct ggml_type_info {
    const char *name; /* NULL: not a type id we know */
    uint32_t block_size;
    uint32_t block_bytes;
    int dtype; /* sg_dtype, or -1 when stargate does not compute with it */
} ggml_type_info;

/* ggml type ids as stored in GGUF files. Ids 4, 5, 31-33 and 36-38 were
 * removed from the format by ggml and are unknown here. */
static const ggml_type_info ggml_types[] = {
    [0] = {"f32", 1, 4, SG_F32},
    [1] = {"f16", 1, 2, SG_F16},
    [2] = {"q4_0", 32, 18, SG_Q4_0},
    [3] = {"q4_1", 32, 20, -1},
    [6] = {"q5_0", 32, 22, -1},
    [7] = {"q5_1", 32, 24, -1},
    [8] = {"q8_0", 32, 34, SG_Q8_0},
    [9] = {"q8_1", 32, 36, -1},
    [10] = {"q2_K", 256, 84, -1},
    [11] = {"q3_K", 256, 110, -1},
    [12] = {"q4_K", 256, 144, SG_Q4_K},
    [13] = {"q5_K", 256, 176, -1},
    [14] = {"q6_K", 256, 210, SG_Q6_K},
    [15] = {"q8_K", 256, 292, -1},
    [16] = {"iq2_xxs", 256, 66, -1},
    [17] = {"iq2_xs", 256, 74, -1},
    [18] = {"iq3_xxs", 256, 98, -1},
    [19] = {"iq1_s", 256, 50, -1},
    [20] = {"iq4_nl", 32, 18, -1},
    [21] = {"iq3_s", 256, 110, -1},
    [22] = {"iq2_s", 256, 82, -1},
    [23] = {"iq4_xs", 256, 136, -1},
    [24] = {"i8", 1, 1, -1},
    [25] = {"i16", 1, 2, -1},
    [26] = {"i32", 1, 4, -1},
    [27] = {"i64", 1, 8, -1},
    [28] = {"f64", 1, 8, -1},
    [29] = {"iq1_m", 256, 56, -1},
    [30] = {"bf16", 1, 2, SG_BF16},
    [34] = {"tq1_0", 256, 54, -1},
    [35] = {"tq2_0", 256, 66, -1},
    [39] = {"mxfp4", 32, 17, -1},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

static const ggml_type_info *ggml_type(uint32_t id)
{
    if (id >= N_GGML_TYPES || !ggml_types[id].name) return NULL;
    return &ggml_types[id];
}

const char *sg_ggml_type_name(uint32_t ggml_type_id)
{
    const ggml_type_info *t = ggml_type(ggml_type_id);
    return t ? t->name : "unknown";
}

bool sg_ggml_type_size(uint32_t ggml_type_id, uint32_t *block_size, uint32_t *block_bytes)
{
    const ggml_type_info *t = ggml_type(ggml_type_id);
    if (!t) return false;
    if (block_size) *block_size = t->block_size;
    if (block_bytes) *block_bytes = t->block_bytes;
    return true;
}

const char *sg_gguf_type_name(sg_gguf_type t)
{
    static const char *const names[SG_GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32",  "float32",
        "bool",  "string", "array", "uint64", "int64", "float64",
    };
    return (unsigned)t < SG_GGUF_TYPE_COUNT ? names[t] : "unknown";
}

/* Encoded size of a scalar value type; 0 for STRING/ARRAY (variable). */
static uint64_t scalar_size(sg_gguf_type t)
{
    switch (t) {
    case SG_GGUF_UINT8:
    case SG_GGUF_INT8:
    case SG_GGUF_BOOL: return 1;
    case SG_GGUF_UINT16:
    case SG_GGUF_INT16: return 2;
    case SG_GGUF_UINT32:
    case SG_GGUF_INT32:
    case SG_GGUF_FLOAT32: return 4;
    case SG_GGUF_UINT64:
    case SG_GGUF_INT64:
    case SG_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* ----------------------------------------------------------------- cursor */

typedef struct rd {
    const uint8_t *base;
    size_t size;
    size_t pos;
    const char *name; /* file label for messages */
    sg_error *err;
    char what[160];   /* what is being read, for truncation messages */
} rd;

/* Succeed when n more bytes can be read at the cursor. */
static sg_status need(rd *r, uint64_t n)
{
    if (n > r->size - r->pos)
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: truncated file: %s needs %" PRIu64 " bytes at offset %zu but the file ends at %zu",
                       r->name, r->what, n, r->pos, r->size);
    return SG_OK;
}

/* Little-endian loads at an offset known to be in bounds. */
static uint64_t load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Read an n-byte (1, 2, 4 or 8) little-endian unsigned integer. */
static sg_status read_uint(rd *r, unsigned n, uint64_t *out)
{
    sg_status st = need(r, n);
    if (st) return st;
    *out = load_le(r->base + r->pos, n);
    r->pos += n;
    return SG_OK;
}

static sg_status read_u32(rd *r, uint32_t *out)
{
    uint64_t v = 0;
    sg_status st = read_uint(r, 4, &v);
    *out = (uint32_t)v;
    return st;
}

static sg_status read_u64(rd *r, uint64_t *out)
{
    return read_uint(r, 8, out);
}

static size_t left(const rd *r)
{
    return r->size - r->pos;
}

/* Read a GGUF string (u64 length + bytes) as a view into the buffer. */
static sg_status read_str(rd *r, sg_gguf_str *out)
{
    uint64_t len;
    sg_status st = read_u64(r, &len);
    if (st) return st;
    if (len > left(r))
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: %s: string length %" PRIu64 " exceeds the %zu bytes left in the file", r->name,
                       r->what, len, left(r));
    out->ptr = (const char *)r->base + r->pos;
    out->len = len;
    r->pos += (size_t)len;
    return SG_OK;
}

/* Read a key or tensor name: 1..SG_GGUF_MAX_NAME bytes without NULs, copied
 * NUL-terminated into a new heap string. `kind` is "key" or "tensor name". */
static sg_status read_name(rd *r, const char *kind, char **out)
{
    size_t at = r->pos;
    uint64_t len;
    sg_status st = read_u64(r, &len);
    if (st) return st;
    if (len == 0) return sg_fail(r->err, SG_ERR_FORMAT, "%s: empty %s at offset %zu", r->name, kind, at);
    if (len > SG_GGUF_MAX_NAME)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: %s at offset %zu has length %" PRIu64 " (limit %u)", r->name,
                       kind, at, len, SG_GGUF_MAX_NAME);
    if ((st = need(r, len))) return st;
    const char *src = (const char *)r->base + r->pos;
    if (memchr(src, 0, (size_t)len))
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: %s at offset %zu contains a NUL byte", r->name, kind, at);
    char *p = malloc((size_t)len + 1);
    if (!p) return sg_fail(r->err, SG_ERR_NOMEM, "%s: out of memory", r->name);
    memcpy(p, src, (size_t)len);
    p[len] = 0;
    r->pos += (size_t)len;
    *out = p;
    return SG_OK;
}

/* Make room for `want` elements of `elsize` bytes in arr (capacity *cap),
 * zeroing new slots; returns the (possibly moved) array, or NULL when out of
 * memory (arr is then still valid). Capacity doubles, so a lying count costs
 * nothing until entries are actually read. */
static void *grow(void *arr, uint64_t *cap, uint64_t want, size_t elsize)
{
    if (want <= *cap) return arr;
    uint64_t ncap = *cap ? *cap * 2 : 16;
    if (ncap < want) ncap = want;
    uint64_t bytes;
    if (!sg_mul_ok(ncap, elsize, &bytes) || bytes > SIZE_MAX) return NULL;
    char *p = realloc(arr, (size_t)bytes);
    if (!p) return NULL;
    memset(p + *cap * elsize, 0, (size_t)((ncap - *cap) * elsize));
    *cap = ncap;
    return p;
}

/* ------------------------------------------------------------------ values */

/* Read a scalar of type t into the kv union. */
static sg_status read_scalar(rd *r, sg_gguf_type t, sg_gguf_kv *kv)
{
    uint64_t raw;
    unsigned n = (unsigned)scalar_size(t);
    sg_status st = read_uint(r, n, &raw);
    if (st) return st;
    switch (t) {
    case SG_GGUF_INT8: kv->v.i64 = (int8_t)raw; break;
    case SG_GGUF_INT16: kv->v.i64 = (int16_t)raw; break;
    case SG_GGUF_INT32: kv->v.i64 = (int32_t)raw; break;
    case SG_GGUF_INT64: kv->v.i64 = (int64_t)raw; break;
    case SG_GGUF_FLOAT32: {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        kv->v.f64 = f;
        break;
    }
    case SG_GGUF_FLOAT64: memcpy(&kv->v.f64, &raw, 8); break;
    case SG_GGUF_BOOL:
        if (raw > 1)
            return sg_fail(r->err, SG_ERR_FORMAT, "%s: key '%s': bool value %" PRIu64 " is not 0 or 1", r->name,
                           kv->key, raw);
        kv->v.u64 = raw;
        break;
    default: kv->v.u64 = raw; break;
    }
    return SG_OK;
}

/* Read an array value: element type, count, elements. Numeric elements stay
 * in the buffer; string elements get an owned table of views. */
static sg_status read_array(rd *r, sg_gguf_kv *kv)
{
    uint32_t et;
    uint64_t n;
    sg_status st = read_u32(r, &et);
    if (st || (st = read_u64(r, &n))) return st;
    if (et == SG_GGUF_ARRAY)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: key '%s' is a nested array (arrays of arrays are not supported)",
                       r->name, kv->key);
    if (et >= SG_GGUF_TYPE_COUNT)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: key '%s': invalid array element type %" PRIu32, r->name,
                       kv->key, et);
    kv->v.arr.type = (sg_gguf_type)et;
    kv->v.arr.data = r->base + r->pos;
    if (et != SG_GGUF_STRING) {
        uint64_t esize = scalar_size((sg_gguf_type)et);
        if (n > left(r) / esize)
            return sg_fail(r->err, SG_ERR_FORMAT,
                           "%s: key '%s': array of %" PRIu64 " %s values does not fit in the %zu bytes left",
                           r->name, kv->key, n, sg_gguf_type_name((sg_gguf_type)et), left(r));
        if (et == SG_GGUF_BOOL) {
            for (uint64_t i = 0; i < n; i++)
                if (r->base[r->pos + i] > 1)
                    return sg_fail(r->err, SG_ERR_FORMAT, "%s: key '%s': bool element %" PRIu64 " is not 0 or 1",
                                   r->name, kv->key, i);
        }
        kv->v.arr.n = n;
        r->pos += (size_t)(n * esize);
        return SG_OK;
    }
    /* Strings: each takes at least its 8-byte length. Validate all lengths in
     * a first pass, then allocate exactly n views and fill them. */
    if (n > left(r) / 8)
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: key '%s': array of %" PRIu64 " strings does not fit in the %zu bytes left", r->name,
                       kv->key, n, left(r));
    size_t start = r->pos;
    sg_gguf_str s;
    for (uint64_t i = 0; i < n; i++) {
        snprintf(r->what, sizeof r->what, "element %" PRIu64 " of array '%s'", i, kv->key);
        if ((st = read_str(r, &s))) return st;
    }
    if (n > 0) {
        kv->v.arr.strs = malloc((size_t)n * sizeof *kv->v.arr.strs);
        if (!kv->v.arr.strs) return sg_fail(r->err, SG_ERR_NOMEM, "%s: out of memory", r->name);
        r->pos = start;
        for (uint64_t i = 0; i < n; i++) read_str(r, &kv->v.arr.strs[i]); /* cannot fail: validated */
    }
    kv->v.arr.n = n;
    return SG_OK;
}

/* Read one key/value pair into kv (zeroed on entry). */
static sg_status read_kv(rd *r, uint64_t index, sg_gguf_kv *kv)
{
    snprintf(r->what, sizeof r->what, "key #%" PRIu64, index);
    sg_status st = read_name(r, "key", &kv->key);
    if (st) return st;
    snprintf(r->what, sizeof r->what, "value of key '%.100s'", kv->key);
    uint32_t type;
    if ((st = read_u32(r, &type))) return st;
    if (type >= SG_GGUF_TYPE_COUNT)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: key '%s' has invalid value type %" PRIu32, r->name, kv->key,
                       type);
    kv->type = (sg_gguf_type)type;
    if (type == SG_GGUF_STRING) return read_str(r, &kv->v.str);
    if (type == SG_GGUF_ARRAY) return read_array(r, kv);
    return read_scalar(r, kv->type, kv);
}

/* ------------------------------------------------------------ lookups */

static int cmp_kv(const void *a, const void *b)
{
    return strcmp((*(const sg_gguf_kv *const *)a)->key, (*(const sg_gguf_kv *const *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const sg_gguf_tensor *const *)a)->name, (*(const sg_gguf_tensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const sg_gguf_tensor *x = *(const sg_gguf_tensor *const *)a, *y = *(const sg_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Build the sorted key index and reject duplicate keys. */
static sg_status index_kvs(sg_gguf *g, sg_error *err)
{
    if (g->n_kv == 0) return SG_OK;
    g->kv_sorted = malloc((size_t)g->n_kv * sizeof *g->kv_sorted);
    if (!g->kv_sorted) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", g->name);
    for (uint64_t i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    for (uint64_t i = 1; i < g->n_kv; i++)
        if (strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key) == 0)
            return sg_fail(err, SG_ERR_FORMAT, "%s: duplicate key '%s'", g->name, g->kv_sorted[i]->key);
    return SG_OK;
}

/* Build the sorted tensor-name index and reject duplicate names. */
static sg_status index_tensors(sg_gguf *g, sg_error *err)
{
    if (g->n_tensors == 0) return SG_OK;
    g->tensors_sorted = malloc((size_t)g->n_tensors * sizeof *g->tensors_sorted);
    if (!g->tensors_sorted) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", g->name);
    for (uint64_t i = 0; i < g->n_tensors; i++) g->tensors_sorted[i] = &g->tensors[i];
    qsort(g->tensors_sorted, (size_t)g->n_tensors, sizeof *g->tensors_sorted, cmp_tensor_name);
    for (uint64_t i = 1; i < g->n_tensors; i++)
        if (strcmp(g->tensors_sorted[i - 1]->name, g->tensors_sorted[i]->name) == 0)
            return sg_fail(err, SG_ERR_FORMAT, "%s: duplicate tensor name '%s'", g->name,
                           g->tensors_sorted[i]->name);
    return SG_OK;
}

const sg_gguf_kv *sg_gguf_find(const sg_gguf *g, const char *key)
{
    size_t lo = 0, hi = g->kv_sorted ? (size_t)g->n_kv : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, g->kv_sorted[mid]->key);
        if (c == 0) return g->kv_sorted[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const sg_gguf_tensor *sg_gguf_find_tensor(const sg_gguf *g, const char *name)
{
    size_t lo = 0, hi = g->tensors_sorted ? (size_t)g->n_tensors : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, g->tensors_sorted[mid]->name);
        if (c == 0) return g->tensors_sorted[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------- tensors */

/* Format a tensor's dimensions as "[a, b, c]" for messages. */
static const char *dims_str(const sg_gguf_tensor *t, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < t->n_dims && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRIu64, i ? ", " : "", t->ne[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Read one tensor info and check everything that does not depend on where
 * the data section starts: dimensions, type, element count, byte size and
 * alignment of the offset. nbytes holds the true byte size for now. */
static sg_status read_tensor_info(rd *r, uint64_t index, uint64_t alignment, sg_gguf_tensor *t)
{
    snprintf(r->what, sizeof r->what, "tensor info #%" PRIu64, index);
    sg_status st = read_name(r, "tensor name", &t->name);
    if (st) return st;
    snprintf(r->what, sizeof r->what, "info of tensor '%.100s'", t->name);
    if ((st = read_u32(r, &t->n_dims))) return st;
    if (t->n_dims < 1 || t->n_dims > SG_GGUF_MAX_DIMS)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: tensor '%s' has %" PRIu32 " dimensions (must be 1 to %d)",
                       r->name, t->name, t->n_dims, SG_GGUF_MAX_DIMS);
    for (int i = 0; i < SG_GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < t->n_dims; i++)
        if ((st = read_u64(r, &t->ne[i]))) return st;
    if ((st = read_u32(r, &t->ggml_type)) || (st = read_u64(r, &t->offset))) return st;

    char dims[128];
    uint64_t nel = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        if (t->ne[i] == 0)
            return sg_fail(r->err, SG_ERR_FORMAT, "%s: tensor '%s' has an empty dimension: ne = %s", r->name,
                           t->name, dims_str(t, dims, sizeof dims));
        if (!sg_mul_ok(nel, t->ne[i], &nel) || nel > (uint64_t)INT64_MAX)
            return sg_fail(r->err, SG_ERR_FORMAT, "%s: tensor '%s' dimensions %s overflow the element count",
                           r->name, t->name, dims_str(t, dims, sizeof dims));
    }
    const ggml_type_info *ti = ggml_type(t->ggml_type);
    if (!ti)
        return sg_fail(r->err, SG_ERR_UNSUPPORTED, "%s: unknown ggml type %" PRIu32 " in tensor '%s'", r->name,
                       t->ggml_type, t->name);
    if (t->ne[0] % ti->block_size)
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: tensor '%s' row length %" PRIu64 " is not a multiple of the %s block size %" PRIu32,
                       r->name, t->name, t->ne[0], ti->name, ti->block_size);
    if (!sg_mul_ok(nel / ti->block_size, ti->block_bytes, &t->nbytes))
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: tensor '%s' dimensions %s overflow the byte size", r->name,
                       t->name, dims_str(t, dims, sizeof dims));
    if (t->offset % alignment)
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: tensor '%s' offset %" PRIu64 " is not a multiple of the alignment %" PRIu64, r->name,
                       t->name, t->offset, alignment);
    t->dtype = ti->dtype;
    return SG_OK;
}

/* Place every tensor in the data section: in bounds and not overlapping.
 * Then set data pointers, and hide the size of tensors stargate cannot use. */
static sg_status place_tensors(sg_gguf *g, const uint8_t *base, size_t size, sg_error *err)
{
    if (g->n_tensors == 0) return SG_OK;
    if (g->data_offset > size)
        return sg_fail(err, SG_ERR_FORMAT,
                       "%s: data section starts at offset %" PRIu64 ", past the end of the file (size %zu)", g->name,
                       g->data_offset, size);
    uint64_t room = size - g->data_offset;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const sg_gguf_tensor *t = &g->tensors[i];
        if (t->offset > room || t->nbytes > room - t->offset)
            return sg_fail(err, SG_ERR_FORMAT,
                           "%s: tensor '%s' data [offset %" PRIu64 ", size %" PRIu64
                           "] extends past end of file (size %zu, data section at %" PRIu64 ")",
                           g->name, t->name, t->offset, t->nbytes, size, g->data_offset);
    }
    const sg_gguf_tensor **by_off = malloc((size_t)g->n_tensors * sizeof *by_off);
    if (!by_off) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", g->name);
    for (uint64_t i = 0; i < g->n_tensors; i++) by_off[i] = &g->tensors[i];
    qsort(by_off, (size_t)g->n_tensors, sizeof *by_off, cmp_tensor_offset);
    for (uint64_t i = 1; i < g->n_tensors; i++) {
        const sg_gguf_tensor *a = by_off[i - 1], *b = by_off[i];
        if (a->offset + a->nbytes > b->offset) { /* no overflow: both are within the file */
            sg_status st = sg_fail(err, SG_ERR_FORMAT,
                                   "%s: tensors '%s' [offset %" PRIu64 ", size %" PRIu64 "] and '%s' [offset %" PRIu64
                                   ", size %" PRIu64 "] overlap",
                                   g->name, a->name, a->offset, a->nbytes, b->name, b->offset, b->nbytes);
            free(by_off);
            return st;
        }
    }
    free(by_off);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        sg_gguf_tensor *t = &g->tensors[i];
        if (t->dtype < 0) {
            t->nbytes = 0;
            t->data = NULL;
        } else {
            t->data = base + g->data_offset + t->offset;
        }
    }
    return SG_OK;
}

/* ------------------------------------------------------------------ parse */

/* Check the magic and version; read the two counts. */
static sg_status read_header(rd *r, sg_gguf *g)
{
    if (r->size < 4)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: not a GGUF file (truncated: only %zu bytes)", r->name, r->size);
    if (memcmp(r->base, "GGUF", 4) != 0)
        return sg_fail(r->err, SG_ERR_FORMAT, "%s: not a GGUF file (bad magic %02x %02x %02x %02x, expected \"GGUF\")",
                       r->name, r->base[0], r->base[1], r->base[2], r->base[3]);
    r->pos = 4;
    snprintf(r->what, sizeof r->what, "the header");
    sg_status st = read_u32(r, &g->version);
    if (st) return st;
    if (g->version != 2 && g->version != 3) {
        uint32_t v = g->version;
        uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
        if (swapped >= 1 && swapped <= 3)
            return sg_fail(r->err, SG_ERR_UNSUPPORTED,
                           "%s: big-endian GGUF file (version %" PRIu32 " byte-swapped) is not supported", r->name,
                           swapped);
        return sg_fail(r->err, SG_ERR_UNSUPPORTED,
                       "%s: unsupported GGUF version %" PRIu32 " (only versions 2 and 3 are supported)", r->name,
                       v);
    }
    if ((st = read_u64(r, &g->n_tensors)) || (st = read_u64(r, &g->n_kv))) return st;
    if (g->n_kv > left(r) / MIN_KV_BYTES)
        return sg_fail(r->err, SG_ERR_FORMAT,
                       "%s: header claims %" PRIu64
                       " key/value pairs but only %zu bytes follow (truncated or corrupt file)",
                       r->name, g->n_kv, left(r));
    /* n_tensors is bounded once the kvs are read, before any tensor info. */
    return SG_OK;
}

/* Validate general.alignment (when present) and store the alignment. */
static sg_status read_alignment(sg_gguf *g, sg_error *err)
{
    g->alignment = DEFAULT_ALIGNMENT;
    uint32_t a;
    sg_status st = sg_gguf_get_u32(g, "general.alignment", &a, err);
    if (st == SG_ERR_MISSING) return SG_OK;
    if (st) return st;
    if (a == 0 || (a & (a - 1)))
        return sg_fail(err, SG_ERR_FORMAT, "%s: general.alignment %" PRIu32 " is not a nonzero power of two", g->name,
                       a);
    g->alignment = a;
    return SG_OK;
}

/* The whole parse; on failure the caller releases g. */
static sg_status parse(sg_gguf *g, const uint8_t *base, size_t size, sg_error *err)
{
    rd r = {.base = base, .size = size, .name = g->name, .err = err};
    sg_status st = read_header(&r, g);
    /* The counts from the header become g's counts only as entries are read,
     * so that sg_gguf_close frees exactly what exists. */
    uint64_t n_kv = g->n_kv, n_tensors = g->n_tensors, cap = 0;
    g->n_kv = g->n_tensors = 0;
    if (st) return st;

    for (uint64_t i = 0; i < n_kv; i++) {
        sg_gguf_kv *kv = grow(g->kv, &cap, i + 1, sizeof *kv);
        if (!kv) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", g->name);
        g->kv = kv;
        g->n_kv = i + 1; /* counted before it is filled, so close() frees partial entries */
        if ((st = read_kv(&r, i, &g->kv[i]))) return st;
    }
    if ((st = index_kvs(g, err)) || (st = read_alignment(g, err))) return st;

    cap = 0;
    if (n_tensors > left(&r) / MIN_TENSOR_INFO_BYTES)
        return sg_fail(err, SG_ERR_FORMAT,
                       "%s: header claims %" PRIu64
                       " tensors but only %zu bytes follow the key/value pairs (truncated or corrupt file)",
                       g->name, n_tensors, left(&r));
    for (uint64_t i = 0; i < n_tensors; i++) {
        sg_gguf_tensor *t = grow(g->tensors, &cap, i + 1, sizeof *t);
        if (!t) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", g->name);
        g->tensors = t;
        g->n_tensors = i + 1;
        if ((st = read_tensor_info(&r, i, g->alignment, &g->tensors[i]))) return st;
    }
    if ((st = index_tensors(g, err))) return st;

    /* r.pos <= size, and alignment <= 2^31, so this cannot overflow. */
    g->data_offset = ((uint64_t)r.pos + g->alignment - 1) / g->alignment * g->alignment;
    return place_tensors(g, base, size, err);
}

/* Names in messages come from the file and may hold any byte: replace
 * control characters so that a message stays one printable line. */
static void scrub_message(sg_error *err)
{
    if (!err) return;
    for (unsigned char *p = (unsigned char *)err->msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
}

sg_status sg_gguf_parse(sg_gguf *g, const void *data, size_t size, const char *label, sg_error *err)
{
    memset(g, 0, sizeof *g);
    g->name = strdup(label ? label : "<buffer>");
    if (!g->name) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label ? label : "<buffer>");
    sg_status st = parse(g, data, data ? size : 0, err);
    if (st) {
        scrub_message(err);
        sg_gguf_close(g);
    }
    return st;
}

sg_status sg_gguf_open(sg_gguf *g, const char *path, sg_error *err)
{
    memset(g, 0, sizeof *g);
    sg_mapped_file f;
    sg_status st = sg_file_map(&f, path, err);
    if (st) return st;
    if ((st = sg_gguf_parse(g, f.data, f.size, path, err))) {
        sg_file_unmap(&f);
        return st;
    }
    g->file = f;
    return SG_OK;
}

void sg_gguf_close(sg_gguf *g)
{
    if (!g) return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        if (g->kv[i].type == SG_GGUF_ARRAY) free(g->kv[i].v.arr.strs);
    }
    free(g->kv);
    for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->tensors);
    free(g->kv_sorted);
    free(g->tensors_sorted);
    free((void *)g->name); /* always a heap copy made by sg_gguf_parse */
    if (g->file.path || g->file.data) sg_file_unmap(&g->file);
    memset(g, 0, sizeof *g);
}

/* ---------------------------------------------------------------- getters */

/* The value of an integer-typed kv as sign and magnitude, so that every
 * stored integer compares exactly against any range. False for other types. */
static bool kv_integer(const sg_gguf_kv *kv, bool *neg, uint64_t *mag)
{
    switch (kv->type) {
    case SG_GGUF_UINT8:
    case SG_GGUF_UINT16:
    case SG_GGUF_UINT32:
    case SG_GGUF_UINT64:
        *neg = false;
        *mag = kv->v.u64;
        return true;
    case SG_GGUF_INT8:
    case SG_GGUF_INT16:
    case SG_GGUF_INT32:
    case SG_GGUF_INT64:
        *neg = kv->v.i64 < 0;
        *mag = *neg ? 0 - (uint64_t)kv->v.i64 : (uint64_t)kv->v.i64;
        return true;
    default: return false;
    }
}

sg_status sg_gguf_get_u32(const sg_gguf *g, const char *key, uint32_t *out, sg_error *err)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    if (!kv) return SG_ERR_MISSING;
    bool neg;
    uint64_t mag;
    if (!kv_integer(kv, &neg, &mag))
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' has type %s, expected an integer", g->name, key,
                       sg_gguf_type_name(kv->type));
    if (neg || mag > UINT32_MAX)
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' value %s%" PRIu64 " is out of range for uint32", g->name,
                       key, neg ? "-" : "", mag);
    *out = (uint32_t)mag;
    return SG_OK;
}

sg_status sg_gguf_get_f32(const sg_gguf *g, const char *key, float *out, sg_error *err)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    if (!kv) return SG_ERR_MISSING;
    if (kv->type != SG_GGUF_FLOAT32 && kv->type != SG_GGUF_FLOAT64)
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' has type %s, expected a float", g->name, key,
                       sg_gguf_type_name(kv->type));
    double d = kv->v.f64;
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' value %g is out of range for float32", g->name, key, d);
    *out = (float)d;
    return SG_OK;
}

sg_status sg_gguf_get_bool(const sg_gguf *g, const char *key, bool *out, sg_error *err)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    if (!kv) return SG_ERR_MISSING;
    if (kv->type != SG_GGUF_BOOL)
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' has type %s, expected a bool", g->name, key,
                       sg_gguf_type_name(kv->type));
    *out = kv->v.u64 != 0;
    return SG_OK;
}

sg_status sg_gguf_get_str(const sg_gguf *g, const char *key, sg_gguf_str *out, sg_error *err)
{
    const sg_gguf_kv *kv = sg_gguf_find(g, key);
    if (!kv) return SG_ERR_MISSING;
    if (kv->type != SG_GGUF_STRING)
        return sg_fail(err, SG_ERR_FORMAT, "%s: key '%s' has type %s, expected a string", g->name, key,
                       sg_gguf_type_name(kv->type));
    *out = kv->v.str;
    return SG_OK;
}
