/*
 * cache.c -- the local model cache: layout, manifests, listing, removal and
 * the MODEL-name resolver (layout in stargate.h and docs/ARCHITECTURE.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pull/pull.h"

sg_status cache_home(char *out, size_t n, sg_error *err)
{
    const char *h = getenv("STARGATE_HOME");
    int w;
    if (h && *h) w = snprintf(out, n, "%s", h);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home) return sg_fail(err, SG_ERR_INVALID, "neither STARGATE_HOME nor HOME is set");
        w = snprintf(out, n, "%s/.cache/stargate", home);
    }
    if (w < 0 || (size_t)w >= n) return sg_fail(err, SG_ERR_INVALID, "cache path too long");
    while (w > 1 && out[w - 1] == '/') out[--w] = 0;
    return SG_OK;
}

sg_status sg_cache_dir(char *out, size_t n, sg_error *err)
{
    char home[3800];
    sg_status st = cache_home(home, sizeof home, err);
    if (st) return st;
    int w = snprintf(out, n, "%s/models", home);
    if (w < 0 || (size_t)w >= n) return sg_fail(err, SG_ERR_INVALID, "cache path too long");
    return SG_OK;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool cache_repo_dir(const char *repo, char *out, size_t n)
{
    const char *slash = strchr(repo, '/');
    if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/') || strlen(repo) > 200) return false;
    for (const char *p = repo; *p; p++)
        if (p != slash && !name_char(*p)) return false;
    /* "..", "." and names starting with '-' or '.' are not repository names */
    if (repo[0] == '.' || repo[0] == '-' || slash[1] == '.' || slash[1] == '-') return false;
    if (strstr(repo, "--")) return false; /* keeps owner--name unambiguous */
    int w = snprintf(out, n, "%.*s--%s", (int)(slash - repo), repo, slash + 1);
    return w > 0 && (size_t)w < n;
}

bool cache_valid_revision(const char *rev)
{
    if (!rev || !*rev || strlen(rev) > 100 || rev[0] == '.' || rev[0] == '-' || strstr(rev, "..") ||
        strstr(rev, "--"))
        return false;
    for (const char *p = rev; *p; p++)
        if (!name_char(*p) && *p != '/') return false;
    return rev[strlen(rev) - 1] != '/';
}

sg_status cache_mkdirs_for(const char *path, sg_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return sg_fail(err, SG_ERR_INVALID, "path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST) {
            int e = errno;
            *p = '/';
            return sg_fail(err, SG_ERR_IO, "cannot create %s: %s", tmp, strerror(e));
        }
        *p = '/';
    }
    return SG_OK;
}

/* ---------------------------------------------------------------- manifest */

static int lock_manifest(const char *modeldir, sg_error *err)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/.locks/manifest.lock", modeldir);
    if (cache_mkdirs_for(p, err)) return -1;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sg_fail(err, SG_ERR_IO, "cannot open %s: %s", p, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) && errno == EINTR) {}
    return fd;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (64u << 20)) break;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static cJSON *manifest_load(const char *modeldir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/manifest.json", modeldir);
    size_t n;
    char *s = read_all(p, &n);
    if (!s) return NULL;
    cJSON *j = cJSON_ParseWithLength(s, n);
    free(s);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static sg_status manifest_save(const char *modeldir, cJSON *m, sg_error *err)
{
    char p[4200], tmp[4300];
    snprintf(p, sizeof p, "%s/manifest.json", modeldir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    char *s = cJSON_Print(m);
    if (!s) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(s);
        return sg_fail(err, SG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    size_t len = strlen(s);
    bool ok = fwrite(s, 1, len, f) == len && fputc('\n', f) != EOF;
    ok = (fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    free(s);
    if (!ok || rename(tmp, p)) {
        int e = errno;
        unlink(tmp);
        return sg_fail(err, SG_ERR_IO, "cannot write %s: %s", p, strerror(e));
    }
    return SG_OK;
}

static const cJSON *json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v : NULL;
}

sg_status cache_manifest_add(const char *modeldir, const char *repo, const char *revision, const char *commit,
                             const manifest_file *files, int n, sg_error *err)
{
    int lk = lock_manifest(modeldir, err);
    if (lk < 0) return err ? err->code : SG_ERR_IO;
    sg_status st = SG_OK;
    cJSON *m = manifest_load(modeldir);
    if (!m) m = cJSON_CreateObject();
    if (!m) goto nomem;
    cJSON_DeleteItemFromObjectCaseSensitive(m, "repo");
    if (!cJSON_AddStringToObject(m, "repo", repo)) goto nomem;
    cJSON *revs = cJSON_GetObjectItemCaseSensitive(m, "revisions");
    if (!cJSON_IsObject(revs)) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "revisions");
        if (!(revs = cJSON_AddObjectToObject(m, "revisions"))) goto nomem;
    }
    cJSON *r = cJSON_GetObjectItemCaseSensitive(revs, revision);
    if (!cJSON_IsObject(r)) {
        cJSON_DeleteItemFromObjectCaseSensitive(revs, revision);
        if (!(r = cJSON_AddObjectToObject(revs, revision))) goto nomem;
    }
    if (commit && *commit) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "commit");
        if (!cJSON_AddStringToObject(r, "commit", commit)) goto nomem;
    }
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_DeleteItemFromObjectCaseSensitive(r, "pulled_at");
    if (!cJSON_AddStringToObject(r, "pulled_at", when)) goto nomem;
    cJSON *fl = cJSON_GetObjectItemCaseSensitive(r, "files");
    if (!cJSON_IsArray(fl)) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "files");
        if (!(fl = cJSON_AddArrayToObject(r, "files"))) goto nomem;
    }
    for (int i = 0; i < n; i++) {
        int idx = 0;
        cJSON *e, *found = NULL;
        cJSON_ArrayForEach(e, fl)
        {
            const cJSON *p = json_str(e, "path");
            if (p && !strcmp(p->valuestring, files[i].path)) {
                found = e;
                break;
            }
            idx++;
        }
        if (found) cJSON_DeleteItemFromArray(fl, idx);
        cJSON *o = cJSON_CreateObject();
        if (!o) goto nomem;
        cJSON_AddItemToArray(fl, o);
        if (!cJSON_AddStringToObject(o, "path", files[i].path) ||
            !cJSON_AddNumberToObject(o, "size", (double)files[i].size) ||
            !cJSON_AddStringToObject(o, "sha256", files[i].sha256))
            goto nomem;
    }
    st = manifest_save(modeldir, m, err);
    goto out;
nomem:
    st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
out:
    cJSON_Delete(m);
    close(lk);
    return st;
}

/* ---------------------------------------------------------------- names */

typedef struct model_name {
    char repo[256];
    char revision[128]; /* "" = main */
    char file[512];     /* "" = none */
    char dir[256];      /* owner--name */
} model_name;

/* "owner/name[@rev][:file]"; false when it is not one. */
static bool parse_name(const char *s, model_name *mn)
{
    memset(mn, 0, sizeof *mn);
    const char *slash = strchr(s, '/');
    if (!slash) return false;
    const char *colon = strchr(slash, ':');
    size_t rl = colon ? (size_t)(colon - s) : strlen(s);
    if (colon) {
        if (!colon[1] || strlen(colon + 1) >= sizeof mn->file) return false;
        strcpy(mn->file, colon + 1);
    }
    if (rl >= sizeof mn->repo) return false;
    memcpy(mn->repo, s, rl);
    mn->repo[rl] = 0;
    char *at = strchr(mn->repo, '@');
    if (at) {
        *at = 0;
        if (!cache_valid_revision(at + 1) || strlen(at + 1) >= sizeof mn->revision) return false;
        strcpy(mn->revision, at + 1);
    }
    return cache_repo_dir(mn->repo, mn->dir, sizeof mn->dir);
}

static void rev_dirname(const char *rev, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = rev; *p && k + 3 < n; p++) {
        if (*p == '/') {
            out[k++] = '-';
            out[k++] = '-';
        } else out[k++] = *p;
    }
    out[k] = 0;
}

static bool is_gguf(const char *p)
{
    size_t n = strlen(p);
    return n > 5 && !strcmp(p + n - 5, ".gguf");
}

static bool is_safetensors(const char *p)
{
    size_t n = strlen(p);
    return n > 12 && !strcmp(p + n - 12, ".safetensors") && !strchr(p, '/');
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---------------------------------------------------------------- listing */

typedef struct list_buf {
    sg_cached_model *v;
    int n, cap;
} list_buf;

static sg_cached_model *list_push(list_buf *b)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        sg_cached_model *nv = realloc(b->v, (size_t)cap * sizeof *nv);
        if (!nv) return NULL;
        b->v = nv;
        b->cap = cap;
    }
    sg_cached_model *m = &b->v[b->n++];
    memset(m, 0, sizeof *m);
    return m;
}

static int cmp_model(const void *a, const void *b)
{
    return strcmp(((const sg_cached_model *)a)->name, ((const sg_cached_model *)b)->name);
}

/* The entries of one revision of one manifest. */
static bool list_revision(list_buf *b, const char *models, const char *dir, const char *repo, const char *rev,
                          const cJSON *r)
{
    char rd[256], base[4800];
    rev_dirname(rev, rd, sizeof rd);
    snprintf(base, sizeof base, "%s/%s/%s", models, dir, rd);
    char shown[400];
    if (strcmp(rev, "main")) snprintf(shown, sizeof shown, "%s@%s", repo, rev);
    else snprintf(shown, sizeof shown, "%s", repo);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(r, "files");
    uint64_t st_bytes = 0;
    bool has_st = false, has_config = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const cJSON *p = json_str(e, "path");
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(e, "size");
        if (!p || !hub_safe_path(p->valuestring)) continue;
        char fp[5400];
        snprintf(fp, sizeof fp, "%s/%s", base, p->valuestring);
        if (!file_exists(fp)) continue;
        uint64_t bytes = cJSON_IsNumber(sz) && sz->valuedouble > 0 ? (uint64_t)sz->valuedouble : 0;
        if (is_gguf(p->valuestring)) {
            sg_cached_model *m = list_push(b);
            if (!m) return false;
            snprintf(m->name, sizeof m->name, "%s:%s", shown, p->valuestring);
            snprintf(m->format, sizeof m->format, "gguf");
            m->bytes = bytes;
            if (snprintf(m->path, sizeof m->path, "%s", fp) >= (int)sizeof m->path) b->n--; /* too long to use */
        } else {
            st_bytes += bytes;
            if (is_safetensors(p->valuestring)) has_st = true;
            if (!strcmp(p->valuestring, "config.json")) has_config = true;
        }
    }
    if (has_st && has_config) {
        sg_cached_model *m = list_push(b);
        if (!m) return false;
        snprintf(m->name, sizeof m->name, "%s", shown);
        snprintf(m->format, sizeof m->format, "safetensors");
        m->bytes = st_bytes;
        if (snprintf(m->path, sizeof m->path, "%s", base) >= (int)sizeof m->path) b->n--;
    }
    return true;
}

sg_status sg_cache_list(sg_cached_model **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    char models[4096];
    sg_status st = sg_cache_dir(models, sizeof models, err);
    if (st) return st;
    DIR *d = opendir(models);
    if (!d) return errno == ENOENT ? SG_OK : sg_fail(err, SG_ERR_IO, "cannot read %s: %s", models, strerror(errno));
    list_buf b = {0};
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char md[4400];
        snprintf(md, sizeof md, "%s/%s", models, de->d_name);
        cJSON *m = manifest_load(md);
        if (!m) continue;
        const cJSON *repo = json_str(m, "repo");
        const cJSON *revs = cJSON_GetObjectItemCaseSensitive(m, "revisions");
        char want[256];
        bool ok = true;
        if (repo && cache_repo_dir(repo->valuestring, want, sizeof want) && !strcmp(want, de->d_name)) {
            const cJSON *r;
            cJSON_ArrayForEach(r, revs)
            {
                if (r->string && cache_valid_revision(r->string) &&
                    !(ok = list_revision(&b, models, de->d_name, repo->valuestring, r->string, r)))
                    break;
            }
        }
        cJSON_Delete(m);
        if (!ok) {
            closedir(d);
            free(b.v);
            return sg_fail(err, SG_ERR_NOMEM, "out of memory");
        }
    }
    closedir(d);
    if (b.n) qsort(b.v, (size_t)b.n, sizeof *b.v, cmp_model);
    *out = b.v;
    *n = b.n;
    return SG_OK;
}

/* ---------------------------------------------------------------- resolve */

static bool has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

static bool file_match(const char *pattern, const char *path)
{
    if (!strcmp(pattern, path)) return true;
    if (!has_glob(pattern)) return false;
    if (!fnmatch(pattern, path, 0)) return true;
    const char *slash = strrchr(path, '/');
    return slash && !strchr(pattern, '/') && !fnmatch(pattern, slash + 1, 0);
}

sg_status sg_resolve_model(const char *name, char *out_path, size_t n, sg_error *err)
{
    struct stat sb;
    if (!name || !*name) return sg_fail(err, SG_ERR_INVALID, "empty model name");
    if (stat(name, &sb) == 0 || name[0] == '/' || name[0] == '.') {
        if (strlen(name) >= n) return sg_fail(err, SG_ERR_INVALID, "%.200s: path too long", name);
        strcpy(out_path, name);
        return SG_OK;
    }
    model_name mn;
    if (!parse_name(name, &mn)) { /* not a pulled-model name: the loaders say what is wrong */
        if (strlen(name) >= n) return sg_fail(err, SG_ERR_INVALID, "%.200s: path too long", name);
        strcpy(out_path, name);
        return SG_OK;
    }
    char models[4096], md[4400];
    sg_status st = sg_cache_dir(models, sizeof models, err);
    if (st) return st;
    snprintf(md, sizeof md, "%s/%s", models, mn.dir);
    cJSON *m = manifest_load(md);
    if (!m && !strpbrk(name, ":@")) {
        /* "dir/file" whose directory exists: a missing file, for the loader to report */
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", name);
        char *sl = strrchr(parent, '/');
        if (sl) *sl = 0;
        if (stat(parent, &sb) == 0 && strlen(name) < n) {
            strcpy(out_path, name);
            return SG_OK;
        }
    }
    if (!m)
        return sg_fail(err, SG_ERR_MISSING, "%s: no such file, and not a pulled model (stargate pull %s)", name,
                       mn.repo);
    const char *rev = mn.revision[0] ? mn.revision : "main";
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "revisions"), rev);
    list_buf b = {0};
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(m);
        return sg_fail(err, SG_ERR_MISSING, "%s: revision %s was not pulled (stargate pull %s@%s)", name, rev,
                       mn.repo, rev);
    }
    if (!list_revision(&b, models, mn.dir, mn.repo, rev, r)) {
        cJSON_Delete(m);
        free(b.v);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    }
    cJSON_Delete(m);
    /* candidates: GGUF entries matching the file pattern, or the safetensors model */
    int pick = -1, matches = 0, ggufs = 0;
    char choices[1024] = "";
    for (int i = 0; i < b.n; i++) {
        bool g = !strcmp(b.v[i].format, "gguf");
        const char *file = g ? strrchr(b.v[i].name, ':') + 1 : NULL;
        if (g) {
            ggufs++;
            size_t cl = strlen(choices);
            if (cl < sizeof choices - 2) snprintf(choices + cl, sizeof choices - cl, "%s%s", cl ? ", " : "", file);
        }
        bool ok = mn.file[0] ? (g && file_match(mn.file, file)) : !g;
        if (ok) {
            matches++;
            pick = i;
        }
    }
    if (!mn.file[0] && matches == 0 && ggufs == 1) {
        for (int i = 0; i < b.n; i++)
            if (!strcmp(b.v[i].format, "gguf")) pick = i, matches = 1;
    }
    if (matches == 1) {
        const char *p = b.v[pick].path;
        if (strlen(p) >= n) st = sg_fail(err, SG_ERR_INVALID, "%.200s: path too long", p);
        else strcpy(out_path, p);
    } else if (matches > 1 || (!mn.file[0] && ggufs > 1)) {
        st = sg_fail(err, SG_ERR_INVALID, "%s is ambiguous: name a file with %s:FILE, one of: %s", name, mn.repo,
                     choices);
    } else if (mn.file[0]) {
        st = sg_fail(err, SG_ERR_MISSING, "%s: no pulled file '%s' (pulled: %s)", name, mn.file,
                     choices[0] ? choices : "no GGUF file");
    } else {
        st = sg_fail(err, SG_ERR_MISSING, "%s: nothing loadable was pulled (stargate pull %s)", name, mn.repo);
    }
    free(b.v);
    return st;
}

/* ---------------------------------------------------------------- remove */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) ? -1 : 0;
}

sg_status sg_cache_remove(const char *name, int *n_removed, sg_error *err)
{
    *n_removed = 0;
    model_name mn;
    if (!parse_name(name, &mn)) return sg_fail(err, SG_ERR_INVALID, "'%s' is not a model name (owner/name[:FILE])", name);
    char models[4096], md[4400];
    sg_status st = sg_cache_dir(models, sizeof models, err);
    if (st) return st;
    snprintf(md, sizeof md, "%s/%s", models, mn.dir);
    struct stat sb;
    if (stat(md, &sb)) return sg_fail(err, SG_ERR_MISSING, "%s: not in the cache (stargate models)", mn.repo);
    if (!mn.revision[0] && !mn.file[0]) { /* the whole model */
        cJSON *m = manifest_load(md);
        const cJSON *r, *revs = m ? cJSON_GetObjectItemCaseSensitive(m, "revisions") : NULL;
        cJSON_ArrayForEach(r, revs)
        {
            *n_removed += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "files"));
        }
        cJSON_Delete(m);
        if (nftw(md, rm_one, 16, FTW_DEPTH | FTW_PHYS))
            return sg_fail(err, SG_ERR_IO, "cannot remove %s: %s", md, strerror(errno));
        return SG_OK;
    }
    int lk = lock_manifest(md, err);
    if (lk < 0) return err ? err->code : SG_ERR_IO;
    cJSON *m = manifest_load(md);
    const char *rev = mn.revision[0] ? mn.revision : "main";
    cJSON *revs = m ? cJSON_GetObjectItemCaseSensitive(m, "revisions") : NULL;
    cJSON *r = cJSON_GetObjectItemCaseSensitive(revs, rev);
    char rd[256], base[4800];
    rev_dirname(rev, rd, sizeof rd);
    snprintf(base, sizeof base, "%s/%s", md, rd);
    if (!cJSON_IsObject(r)) {
        st = sg_fail(err, SG_ERR_MISSING, "%s: revision %s is not in the cache", mn.repo, rev);
        goto out;
    }
    cJSON *files = cJSON_GetObjectItemCaseSensitive(r, "files");
    if (!mn.file[0]) { /* one revision */
        *n_removed = cJSON_GetArraySize(files);
        if (file_exists(base) && nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS)) {
            st = sg_fail(err, SG_ERR_IO, "cannot remove %s: %s", base, strerror(errno));
            goto out;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(revs, rev);
    } else {
        for (int i = cJSON_GetArraySize(files) - 1; i >= 0; i--) {
            const cJSON *p = json_str(cJSON_GetArrayItem(files, i), "path");
            if (!p || !file_match(mn.file, p->valuestring) || !hub_safe_path(p->valuestring)) continue;
            char fp[5400];
            snprintf(fp, sizeof fp, "%s/%s", base, p->valuestring);
            if (unlink(fp) && errno != ENOENT) {
                st = sg_fail(err, SG_ERR_IO, "cannot remove %s: %s", fp, strerror(errno));
                goto out;
            }
            cJSON_DeleteItemFromArray(files, i);
            ++*n_removed;
        }
        if (*n_removed == 0) {
            st = sg_fail(err, SG_ERR_MISSING, "%s: no pulled file matches '%s'", mn.repo, mn.file);
            goto out;
        }
    }
    st = manifest_save(md, m, err);
out:
    cJSON_Delete(m);
    close(lk);
    return st;
}
