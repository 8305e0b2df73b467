/*
 * safetensors.c -- Hugging Face safetensors reader (single file or sharded).
 *
 * Design. A shard is an 8-byte little-endian header length N, N bytes of
 * JSON, then the data buffer. The JSON is parsed with cJSON; each entry is
 * checked on its own (dtype, shape, offsets, byte size) and appended to the
 * model's tensor table with a pointer into the shard's mapping. When all
 * shards are in, one sorted index by name rejects duplicates (within a file
 * and across shards) and serves sg_safetensors_find by binary search.
 *
 * Every number from the JSON must be an exact non-negative integer no larger
 * than 2^53 (the largest a double holds exactly), so shape products and
 * offsets are computed in checked 64-bit arithmetic. Offsets of each shard
 * are sorted to reject overlapping tensors; empty tensors overlap nothing.
 *
 * Dtypes stargate computes with (F32, F16, BF16) get their sg_dtype; other
 * dtypes the format defines parse with dtype -1 so that the model loader can
 * decide whether that tensor matters. A dtype string the format does not
 * define is rejected: its size, and so the file's layout, is unknown.
 *
 * A sharded directory has model.safetensors.index.json; its "weight_map"
 * names each tensor's shard. Each distinct shard is opened once, and every
 * tensor the map names must be found in the shard it names.
 *
 * Failures are one line naming the file; everything allocated so far is
 * released (the partially filled sg_safetensors is always closable).
 */
#include "formats/safetensors.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

/* ---------------------------------------------------------------- dtypes */

typedef struct st_dtype_info {
    const char *name;
    unsigned bits; /* per element */
    int dtype;     /* sg_dtype, or -1 */
} st_dtype_info;

static const st_dtype_info st_dtypes[] = {
    {"F32", 32, SG_F32},     {"F16", 16, SG_F16},     {"BF16", 16, SG_BF16},  {"F64", 64, -1},
    {"I64", 64, -1},         {"I32", 32, -1},         {"I16", 16, -1},        {"I8", 8, -1},
    {"U64", 64, -1},         {"U32", 32, -1},         {"U16", 16, -1},        {"U8", 8, -1},
    {"BOOL", 8, -1},         {"F8_E4M3", 8, -1},      {"F8_E5M2", 8, -1},     {"F8_E8M0", 8, -1},
    {"F6_E2M3", 6, -1},      {"F6_E3M2", 6, -1},      {"F4", 4, -1},          {"C64", 64, -1},
};

static const st_dtype_info *st_dtype(const char *s)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(s, st_dtypes[i].name) == 0) return &st_dtypes[i];
    return NULL;
}

/* ------------------------------------------------------------- one shard */

/* Read a JSON number that must be an exact integer in [0, 2^53]. */
static bool json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0.0 && d <= MAX_EXACT_INT) || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

/* Check one header entry and fill t (name already set). buf_len is the size
 * of the shard's data buffer. */
static sg_status parse_entry(const char *label, const cJSON *e, const uint8_t *buf, uint64_t buf_len,
                             sg_st_tensor *t, sg_error *err)
{
    const char *name = t->name;
    if (!cJSON_IsObject(e))
        return sg_fail(err, SG_ERR_FORMAT, "%s: header entry for tensor '%s' is not an object", label, name);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(jd))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has no string \"dtype\"", label, name);
    if (!cJSON_IsArray(js))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has no \"shape\" array", label, name);
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has no \"data_offsets\" array of two integers", label,
                       name);

    const st_dtype_info *dt = st_dtype(jd->valuestring);
    if (!dt)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: tensor '%s' has unknown dtype '%.32s'", label, name,
                       jd->valuestring);
    snprintf(t->dtype_str, sizeof t->dtype_str, "%s", dt->name);
    t->dtype = dt->dtype;

    int nd = cJSON_GetArraySize(js);
    if (nd > SG_ST_MAX_DIMS)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (at most %d are supported)", label,
                       name, nd, SG_ST_MAX_DIMS);
    t->n_dims = nd;
    uint64_t nel = 1;
    bool overflow = false;
    int i = 0;
    for (const cJSON *d = js->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' shape[%d] is not a non-negative integer", label,
                           name, i);
        t->shape[i] = (int64_t)v;
        if (!sg_mul_ok(nel, v, &nel)) overflow = true;
    }
    uint64_t bits;
    if (overflow || !sg_mul_ok(nel, dt->bits, &bits))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' shape overflows the element count", label, name);
    if (bits % 8)
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' of %s does not fill whole bytes", label, name,
                       dt->name);

    uint64_t begin, end;
    if (!json_uint(jo->child, &begin) || !json_uint(jo->child->next, &end))
        return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' data_offsets are not non-negative integers", label,
                       name);
    if (begin > end || end > buf_len)
        return sg_fail(err, SG_ERR_FORMAT,
                       "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] are outside the data buffer of %" PRIu64
                       " bytes",
                       label, name, begin, end, buf_len);
    if (end - begin != bits / 8)
        return sg_fail(err, SG_ERR_FORMAT,
                       "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                       " bytes but its shape and dtype %s need %" PRIu64,
                       label, name, begin, end, end - begin, dt->name, bits / 8);
    t->nbytes = end - begin;
    t->data = buf + begin;
    return SG_OK;
}

static int cmp_data(const void *a, const void *b)
{
    const sg_st_tensor *x = *(const sg_st_tensor *const *)a, *y = *(const sg_st_tensor *const *)b;
    const uint8_t *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

/* Reject overlapping byte ranges among tensors [first, n_tensors), which all
 * live in one shard's buffer. */
static sg_status check_overlap(const sg_safetensors *st, size_t first, const char *label, sg_error *err)
{
    size_t n = st->n_tensors - first, k = 0;
    if (n < 2) return SG_OK;
    const sg_st_tensor **v = malloc(n * sizeof *v);
    if (!v) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label);
    for (size_t i = first; i < st->n_tensors; i++)
        if (st->tensors[i].nbytes) v[k++] = &st->tensors[i];
    qsort(v, k, sizeof *v, cmp_data);
    sg_status rc = SG_OK;
    for (size_t i = 1; i < k; i++) {
        const uint8_t *a_end = (const uint8_t *)v[i - 1]->data + v[i - 1]->nbytes;
        if (a_end > (const uint8_t *)v[i]->data) {
            rc = sg_fail(err, SG_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data buffer", label,
                         v[i - 1]->name, v[i]->name);
            break;
        }
    }
    free(v);
    return rc;
}

/* Parse one shard's bytes and append its tensors (tagged `shard`). */
static sg_status parse_shard(sg_safetensors *st, int shard, const uint8_t *data, size_t size, const char *label,
                             sg_error *err)
{
    if (size < 8)
        return sg_fail(err, SG_ERR_FORMAT, "%s: truncated safetensors file (%zu bytes, the header length needs 8)",
                       label, size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)data[i] << (8 * i);
    if (hlen > size - 8)
        return sg_fail(err, SG_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds the file size (%zu bytes)", label,
                       hlen, size);
    if (hlen > SG_ST_MAX_HEADER)
        return sg_fail(err, SG_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds the limit of %u bytes", label,
                       hlen, SG_ST_MAX_HEADER);
    const char *json = (const char *)data + 8;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root)
        return sg_fail(err, SG_ERR_FORMAT, "%s: header is not valid JSON (error near byte %td of the header)",
                       label, end ? end - json : (ptrdiff_t)0);
    sg_status rc = SG_OK;
    for (const char *p = end; p && p < json + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
            rc = sg_fail(err, SG_ERR_FORMAT, "%s: header has trailing bytes after the JSON object", label);
            goto done;
        }
    }
    if (!cJSON_IsObject(root)) {
        rc = sg_fail(err, SG_ERR_FORMAT, "%s: header is not a JSON object", label);
        goto done;
    }
    const uint8_t *buf = data + 8 + hlen;
    uint64_t buf_len = size - 8 - hlen;
    size_t first = st->n_tensors;
    /* Room for every entry of this shard (one may be __metadata__; +1 so that
     * an empty header never asks realloc for 0 bytes). */
    size_t n_entries = (size_t)cJSON_GetArraySize(root);
    sg_st_tensor *grown = realloc(st->tensors, (first + n_entries + 1) * sizeof *grown);
    if (!grown) {
        rc = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label);
        goto done;
    }
    st->tensors = grown;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        size_t len = strlen(e->string);
        if (len == 0 || len > SG_ST_MAX_NAME) {
            rc = sg_fail(err, SG_ERR_FORMAT, "%s: tensor name of length %zu (must be 1 to %u bytes)", label, len,
                         SG_ST_MAX_NAME);
            goto done;
        }
        sg_st_tensor *t = &st->tensors[st->n_tensors++];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(e->string))) {
            rc = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label);
            goto done;
        }
        t->shard = shard;
        t->dtype = -1;
        if ((rc = parse_entry(label, e, buf, buf_len, t, err))) goto done;
    }
    rc = check_overlap(st, first, label, err);
done:
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------ name index */

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const sg_st_tensor *const *)a)->name, (*(const sg_st_tensor *const *)b)->name);
}

/* Sort tensors by name for find, and reject duplicate names. `label` names
 * the file or directory for the message. */
static sg_status build_index(sg_safetensors *st, const char *label, sg_error *err)
{
    if (st->n_tensors == 0) return SG_OK;
    st->sorted = malloc(st->n_tensors * sizeof *st->sorted);
    if (!st->sorted) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label);
    for (size_t i = 0; i < st->n_tensors; i++) st->sorted[i] = &st->tensors[i];
    qsort(st->sorted, st->n_tensors, sizeof *st->sorted, cmp_name);
    for (size_t i = 1; i < st->n_tensors; i++) {
        const sg_st_tensor *a = st->sorted[i - 1], *b = st->sorted[i];
        if (strcmp(a->name, b->name) == 0) {
            if (a->shard == b->shard)
                return sg_fail(err, SG_ERR_FORMAT, "%s: duplicate tensor name '%s'", label, b->name);
            return sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' appears in two shards (%s and %s)", label, b->name,
                           st->files[a->shard].path ? st->files[a->shard].path : "?",
                           st->files[b->shard].path ? st->files[b->shard].path : "?");
        }
    }
    return SG_OK;
}

const sg_st_tensor *sg_safetensors_find(const sg_safetensors *st, const char *name)
{
    size_t lo = 0, hi = st->sorted ? st->n_tensors : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->sorted[mid]->name);
        if (c == 0) return st->sorted[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* ------------------------------------------------------------ entry points */

void sg_safetensors_close(sg_safetensors *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    free(st->sorted);
    for (int i = 0; i < st->n_files; i++) sg_file_unmap(&st->files[i]);
    free(st->files);
    memset(st, 0, sizeof *st);
}

/* Release a failed parse and make its message one printable line: names in
 * messages come from the file and may hold any byte. Returns rc. */
static sg_status fail_cleanup(sg_safetensors *st, sg_status rc, sg_error *err)
{
    sg_safetensors_close(st);
    if (err)
        for (unsigned char *p = (unsigned char *)err->msg; *p; p++)
            if (*p < 0x20 || *p == 0x7f) *p = '?';
    return rc;
}

/* Allocate the files table for n shards (zeroed entries). */
static sg_status alloc_files(sg_safetensors *st, int n, const char *label, sg_error *err)
{
    st->files = calloc((size_t)(n > 0 ? n : 1), sizeof *st->files);
    if (!st->files) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", label);
    st->n_files = n;
    return SG_OK;
}

sg_status sg_safetensors_parse(sg_safetensors *st, const void *data, size_t size, const char *label,
                               sg_error *err)
{
    memset(st, 0, sizeof *st);
    if (!label) label = "<buffer>";
    sg_status rc = alloc_files(st, 1, label, err);
    if (!rc) rc = parse_shard(st, 0, data, data ? size : 0, label, err);
    if (!rc) rc = build_index(st, label, err);
    return rc ? fail_cleanup(st, rc, err) : SG_OK;
}

sg_status sg_safetensors_open_file(sg_safetensors *st, const char *path, sg_error *err)
{
    memset(st, 0, sizeof *st);
    sg_status rc = alloc_files(st, 1, path, err);
    if (!rc) rc = sg_file_map(&st->files[0], path, err);
    if (!rc) rc = parse_shard(st, 0, st->files[0].data, st->files[0].size, path, err);
    if (!rc) rc = build_index(st, path, err);
    return rc ? fail_cleanup(st, rc, err) : SG_OK;
}

/* A shard name from an index must stay inside the model directory. */
static bool safe_relative_path(const char *s)
{
    if (!*s || s[0] == '/') return false;
    for (const char *p = s; *p;) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        p += n + (q ? 1 : 0);
        if (q && !*p) return false; /* trailing slash */
    }
    return true;
}

/* Open a sharded model from its index file (already known to exist). */
static sg_status open_index(sg_safetensors *st, const char *dir, const char *index_path, sg_error *err)
{
    char *text = NULL;
    size_t len = 0;
    sg_status rc = sg_file_read_all(index_path, &text, &len, err);
    if (rc) return rc;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    const char **shards = NULL;
    int n_shards = 0;
    if (!root) {
        rc = sg_fail(err, SG_ERR_FORMAT, "%s: not valid JSON", index_path);
        goto done;
    }
    if (!cJSON_IsObject(map) || !map->child) {
        rc = sg_fail(err, SG_ERR_FORMAT, "%s: no \"weight_map\" object with at least one tensor", index_path);
        goto done;
    }
    /* Distinct shard names, in order of first appearance. */
    int n_entries = cJSON_GetArraySize(map);
    shards = malloc((size_t)n_entries * sizeof *shards);
    if (!shards) {
        rc = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", index_path);
        goto done;
    }
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !safe_relative_path(e->valuestring)) {
            rc = sg_fail(err, SG_ERR_FORMAT, "%s: weight_map entry for '%s' is not a shard file name in the directory",
                         index_path, e->string);
            goto done;
        }
        int k = 0;
        while (k < n_shards && strcmp(shards[k], e->valuestring) != 0) k++;
        if (k == n_shards) shards[n_shards++] = e->valuestring;
    }
    if ((rc = alloc_files(st, n_shards, index_path, err))) goto done;
    for (int k = 0; k < n_shards; k++) {
        char *path = sg_path_join(dir, shards[k]);
        if (!sg_path_exists(path)) {
            rc = sg_fail(err, SG_ERR_MISSING, "%s: shard '%s' named in model.safetensors.index.json is missing",
                         path, shards[k]);
            free(path);
            goto done;
        }
        rc = sg_file_map(&st->files[k], path, err);
        if (!rc) rc = parse_shard(st, k, st->files[k].data, st->files[k].size, path, err);
        free(path);
        if (rc) goto done;
    }
    if ((rc = build_index(st, dir, err))) goto done;
    /* Every tensor the index names must be in the shard it names. */
    for (const cJSON *e = map->child; e; e = e->next) {
        const sg_st_tensor *t = sg_safetensors_find(st, e->string);
        if (!t) {
            rc = sg_fail(err, SG_ERR_MISSING, "%s: tensor '%s' listed in weight_map is missing from shard %s",
                         index_path, e->string, e->valuestring);
            goto done;
        }
        if (strcmp(shards[t->shard], e->valuestring) != 0) {
            rc = sg_fail(err, SG_ERR_FORMAT, "%s: tensor '%s' is in shard %s, not %s as weight_map says", index_path,
                         e->string, shards[t->shard], e->valuestring);
            goto done;
        }
    }
done:
    free(shards);
    cJSON_Delete(root);
    return rc;
}

sg_status sg_safetensors_open_dir(sg_safetensors *st, const char *dir, sg_error *err)
{
    memset(st, 0, sizeof *st);
    if (!sg_path_is_dir(dir)) return sg_fail(err, SG_ERR_IO, "%s: not a directory", dir);
    char *index = sg_path_join(dir, "model.safetensors.index.json");
    char *single = sg_path_join(dir, "model.safetensors");
    sg_status rc;
    if (sg_path_exists(index)) {
        rc = open_index(st, dir, index, err);
        if (rc) fail_cleanup(st, rc, err);
    } else if (sg_path_exists(single)) {
        rc = sg_safetensors_open_file(st, single, err);
    } else {
        rc = sg_fail(err, SG_ERR_MISSING, "%s: no model.safetensors or model.safetensors.index.json", dir);
    }
    free(index);
    free(single);
    return rc;
}
