/*
 * hub_json.c -- the Hugging Face hub's JSON: file listings and the
 * safetensors shard index. Input comes from the network: every field is
 * checked, and every path must be a safe relative path before it names a
 * file in the cache.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pull/pull.h"

bool hub_safe_path(const char *p)
{
    if (!p || !*p || *p == '/' || strlen(p) > 400) return false;
    const char *seg = p;
    for (const char *c = p;; c++) {
        if (*c == '/' || *c == 0) {
            size_t n = (size_t)(c - seg);
            if (n == 0) return false; /* "a//b", trailing "/" */
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return false;
            if (*c == 0) break;
            seg = c + 1;
            continue;
        }
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f || u == '\\') return false;
    }
    return true;
}

bool hub_sha256_hex(const char *s, char out[65])
{
    if (!s) return false;
    if (!strncmp(s, "W/", 2)) s += 2;
    if (*s == '"') s++;
    if (!strncmp(s, "sha256:", 7)) s += 7;
    for (int i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)s[i])) return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    if (s[64] && s[64] != '"') return false;
    out[64] = 0;
    return true;
}

void hub_listing_free(hub_listing *l)
{
    for (int i = 0; i < l->n; i++) free(l->files[i].path);
    free(l->files);
    memset(l, 0, sizeof *l);
}

const hub_file *hub_listing_find(const hub_listing *l, const char *path)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->files[i].path, path)) return &l->files[i];
    return NULL;
}

static bool json_size(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d < 9.007199254740992e15) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

/* One entry of either shape; 0 = added or skipped (directory), else an error. */
static sg_status add_entry(hub_listing *l, const cJSON *e, const char *path_key, sg_error *err)
{
    if (!cJSON_IsObject(e)) return sg_fail(err, SG_ERR_FORMAT, "hub listing: an entry is not an object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "file"))) return SG_OK; /* directory */
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, path_key);
    if (!cJSON_IsString(path)) return sg_fail(err, SG_ERR_FORMAT, "hub listing: an entry has no \"%s\"", path_key);
    if (!hub_safe_path(path->valuestring))
        return sg_fail(err, SG_ERR_FORMAT, "hub listing: unsafe file path '%.80s'", path->valuestring);
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->files[i].path, path->valuestring)) return SG_OK; /* repeated across pages */
    hub_file f = {0};
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
    if (size) {
        if (!json_size(size, &f.size))
            return sg_fail(err, SG_ERR_FORMAT, "hub listing: bad size for '%.80s'", path->valuestring);
        f.has_size = true;
    }
    const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(e, "lfs");
    if (lfs && !cJSON_IsNull(lfs)) {
        if (!cJSON_IsObject(lfs)) return sg_fail(err, SG_ERR_FORMAT, "hub listing: bad lfs for '%.80s'", path->valuestring);
        const cJSON *oid = cJSON_GetObjectItemCaseSensitive(lfs, "oid");
        if (!cJSON_IsString(oid)) {
            oid = cJSON_GetObjectItemCaseSensitive(lfs, "sha256"); /* siblings with blobs=true */
        }
        if (!cJSON_IsString(oid) || !hub_sha256_hex(oid->valuestring, f.sha256))
            return sg_fail(err, SG_ERR_FORMAT, "hub listing: bad lfs oid for '%.80s'", path->valuestring);
        const cJSON *lsize = cJSON_GetObjectItemCaseSensitive(lfs, "size");
        if (lsize) {
            if (!json_size(lsize, &f.size))
                return sg_fail(err, SG_ERR_FORMAT, "hub listing: bad lfs size for '%.80s'", path->valuestring);
            f.has_size = true;
        }
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        if (cap > 1000000) return sg_fail(err, SG_ERR_FORMAT, "hub listing: too many files");
        hub_file *nf = realloc(l->files, (size_t)cap * sizeof *nf);
        if (!nf) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        l->files = nf;
        l->cap = cap;
    }
    if (!(f.path = strdup(path->valuestring))) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    l->files[l->n++] = f;
    return SG_OK;
}

sg_status hub_parse_listing(const char *json, size_t len, hub_listing *l, sg_error *err)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return sg_fail(err, SG_ERR_FORMAT, "hub listing: not JSON");
    sg_status st = SG_OK;
    const cJSON *arr = root;
    const char *key = "path";
    if (cJSON_IsObject(root)) {
        arr = cJSON_GetObjectItemCaseSensitive(root, "siblings");
        key = "rfilename";
    }
    if (!cJSON_IsArray(arr)) {
        st = sg_fail(err, SG_ERR_FORMAT, "hub listing: expected a list of files");
    } else {
        const cJSON *e;
        cJSON_ArrayForEach(e, arr)
        {
            if ((st = add_entry(l, e, key, err))) break;
        }
    }
    cJSON_Delete(root);
    return st;
}

sg_status hub_parse_index(const char *json, size_t len, char ***shards, int *n, sg_error *err)
{
    *shards = NULL;
    *n = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return sg_fail(err, SG_ERR_FORMAT, "model.safetensors.index.json: not JSON");
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    sg_status st = SG_OK;
    char **out = NULL;
    int k = 0, cap = 0;
    if (!cJSON_IsObject(map)) {
        st = sg_fail(err, SG_ERR_FORMAT, "model.safetensors.index.json: no weight_map object");
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (!cJSON_IsString(e) || !hub_safe_path(e->valuestring)) {
            st = sg_fail(err, SG_ERR_FORMAT, "model.safetensors.index.json: bad shard name for '%.80s'",
                         e->string ? e->string : "?");
            goto done;
        }
        bool seen = false;
        for (int i = 0; i < k && !seen; i++) seen = !strcmp(out[i], e->valuestring);
        if (seen) continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 8;
            char **no = realloc(out, (size_t)cap * sizeof *no);
            if (!no) {
                st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
                goto done;
            }
            out = no;
        }
        if (!(out[k] = strdup(e->valuestring))) {
            st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
            goto done;
        }
        k++;
    }
    if (k == 0) st = sg_fail(err, SG_ERR_FORMAT, "model.safetensors.index.json: weight_map is empty");
done:
    cJSON_Delete(root);
    if (st) {
        for (int i = 0; i < k; i++) free(out[i]);
        free(out);
        return st;
    }
    *shards = out;
    *n = k;
    return SG_OK;
}
