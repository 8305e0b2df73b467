/*
 * pull.c -- sg_pull: list a hub repository, choose the files of a model,
 * download each to <file>.part (resuming with Range), check its size and
 * sha256, rename it into place, and record it in the manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pull/pull.h"

#define LISTING_MAX (64u << 20)

typedef struct puller {
    http_client *h;
    const char *repo, *rev;
    char rev_esc[256];
    char revdir[4500];
    char modeldir[4400];
    bool progress;
    char commit[64];
    manifest_file *done;
    int n_done;
} puller;

static bool has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* {endpoint}/{repo}/resolve/{revision}/{path}, each path segment escaped. */
static char *resolve_url(puller *p, const char *path)
{
    size_t cap = strlen(http_endpoint(p->h)) + strlen(p->repo) + strlen(p->rev_esc) + 3 * strlen(path) + 32;
    char *u = malloc(cap);
    if (!u) return NULL;
    int w = snprintf(u, cap, "%s/%s/resolve/%s/", http_endpoint(p->h), p->repo, p->rev_esc);
    size_t k = (size_t)w;
    for (const char *c = path; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                     strchr("-._~/", ch);
        if (plain) u[k++] = (char)ch;
        else k += (size_t)snprintf(u + k, cap - k, "%%%02X", ch);
    }
    u[k] = 0;
    return u;
}

static sg_status list_repo(puller *p, hub_listing *l, sg_error *err)
{
    char *url = malloc(4096);
    if (!url) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    snprintf(url, 4096, "%s/api/models/%s/tree/%s?recursive=true", http_endpoint(p->h), p->repo, p->rev_esc);
    sg_status st = SG_OK;
    for (int page = 0; page < 1000; page++) {
        http_hub_meta meta = {0};
        char *body;
        size_t len;
        long status;
        if ((st = http_get_mem(p->h, url, LISTING_MAX, &body, &len, &status, &meta, err))) break;
        if (status != 200) {
            free(body);
            st = http_status_error(p->h, status, &meta, p->repo, NULL, p->rev, err);
            break;
        }
        st = hub_parse_listing(body, len, l, err);
        free(body);
        if (st || !meta.next[0]) break;
        snprintf(url, 4096, "%s", meta.next);
    }
    free(url);
    return st;
}

static void flat(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) out[k++] = *s == '/' ? '%' : *s;
    out[k] = 0;
}

static int lock_file(puller *p, const char *path, sg_error *err)
{
    char f1[256], f2[600], lp[5200];
    flat(p->rev, f1, sizeof f1);
    flat(path, f2, sizeof f2);
    if (snprintf(lp, sizeof lp, "%s/.locks/%s%%%s.lock", p->modeldir, f1, f2) >= (int)sizeof lp) {
        sg_fail(err, SG_ERR_INVALID, "%s: path too long", path);
        return -1;
    }
    if (cache_mkdirs_for(lp, err)) return -1;
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sg_fail(err, SG_ERR_IO, "cannot open %s: %s", lp, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (p->progress) fprintf(stderr, "  %s: another pull is downloading it, waiting\n", path);
        while (flock(fd, LOCK_EX) && errno == EINTR) {}
    }
    return fd;
}

static sg_status record(puller *p, const char *path, uint64_t size, const char *sha, sg_error *err)
{
    manifest_file *nd = realloc(p->done, (size_t)(p->n_done + 1) * sizeof *nd);
    if (!nd) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    p->done = nd;
    manifest_file *m = &nd[p->n_done++];
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    m->size = size;
    snprintf(m->sha256, sizeof m->sha256, "%s", sha);
    return SG_OK;
}

static sg_status fetch_one(puller *p, const hub_file *f, sg_error *err)
{
    char final[5000], part[5100];
    if (snprintf(final, sizeof final, "%s/%s", p->revdir, f->path) >= (int)sizeof final)
        return sg_fail(err, SG_ERR_INVALID, "%s: path too long", f->path);
    snprintf(part, sizeof part, "%s.part", final);
    sg_status st = cache_mkdirs_for(final, err);
    if (st) return st;
    int lk = lock_file(p, f->path, err);
    if (lk < 0) return err ? err->code : SG_ERR_IO;
    char want[65] = "", got[65];
    snprintf(want, sizeof want, "%s", f->sha256);
    uint64_t size = f->size;
    bool size_known = f->has_size;
    int fd = -1;
    char *url = NULL;

    struct stat sb;
    if (stat(final, &sb) == 0 && S_ISREG(sb.st_mode) && (!size_known || (uint64_t)sb.st_size == size)) {
        if (!sg_sha256_file(final, got)) {
            st = sg_fail(err, SG_ERR_IO, "cannot read %s: %s", final, strerror(errno));
            goto out;
        }
        if (!want[0] || !strcmp(want, got)) {
            if (p->progress) fprintf(stderr, "  %s: up to date\n", f->path);
            st = record(p, f->path, (uint64_t)sb.st_size, got, err);
            goto out;
        }
    }
    fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = sg_fail(err, SG_ERR_IO, "cannot create %s: %s", part, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb)) {
        st = sg_fail(err, SG_ERR_IO, "cannot stat %s: %s", part, strerror(errno));
        goto out;
    }
    uint64_t from = (uint64_t)sb.st_size;
    if (size_known && from > size) {
        if (ftruncate(fd, 0)) {
            st = sg_fail(err, SG_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
            goto out;
        }
        from = 0;
    }
    if (!(url = resolve_url(p, f->path))) {
        st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!(size_known && from == size && size > 0)) {
        if (from && p->progress) fprintf(stderr, "  %s: resuming at byte %llu\n", f->path, (unsigned long long)from);
        for (int attempt = 0;; attempt++) {
            http_hub_meta meta = {0};
            long status;
            uint64_t end;
            st = http_get_file(p->h, url, fd, from, size, p->progress ? f->path : NULL, &status, &end, &meta, err);
            if (st) {
                if (err && end > 0) {
                    char msg[sizeof err->msg];
                    snprintf(msg, sizeof msg, "%s", err->msg);
                    snprintf(err->msg, sizeof err->msg,
                             "%s: download interrupted (%.300s); %llu bytes kept in %s.part: run the same pull again to resume",
                             f->path, msg, (unsigned long long)end, f->path);
                }
                goto out;
            }
            if (status == 416 && from > 0 && attempt == 0) { /* stale partial file: start over */
                if (ftruncate(fd, 0)) {
                    st = sg_fail(err, SG_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                    goto out;
                }
                from = 0;
                continue;
            }
            if (status / 100 != 2) {
                st = http_status_error(p->h, status, &meta, p->repo, f->path, p->rev, err);
                if (end == 0) unlink(part);
                goto out;
            }
            if (meta.commit[0] && !p->commit[0]) snprintf(p->commit, sizeof p->commit, "%s", meta.commit);
            if (!want[0]) hub_sha256_hex(meta.linked_etag, want); /* LFS files only: a git sha1 is not one */
            if (!size_known && meta.linked_size) size = meta.linked_size, size_known = true;
            break;
        }
    }
    if (fstat(fd, &sb)) {
        st = sg_fail(err, SG_ERR_IO, "cannot stat %s: %s", part, strerror(errno));
        goto out;
    }
    if (size_known && (uint64_t)sb.st_size != size) {
        unlink(part);
        st = sg_fail(err, SG_ERR_FORMAT, "%s: size mismatch (expected %llu bytes, got %llu): deleted the partial download",
                     f->path, (unsigned long long)size, (unsigned long long)sb.st_size);
        goto out;
    }
    if (!sg_sha256_file(part, got)) {
        st = sg_fail(err, SG_ERR_IO, "cannot read %s: %s", part, strerror(errno));
        goto out;
    }
    if (want[0] && strcmp(want, got)) {
        unlink(part);
        st = sg_fail(err, SG_ERR_FORMAT,
                     "%s: checksum mismatch (sha256 %.12s..., the hub says %.12s...): deleted the partial download; pull again",
                     f->path, got, want);
        goto out;
    }
    if (fsync(fd) || rename(part, final)) {
        st = sg_fail(err, SG_ERR_IO, "cannot move %s into place: %s", part, strerror(errno));
        goto out;
    }
    st = record(p, f->path, (uint64_t)sb.st_size, got, err);
out:
    free(url);
    if (fd >= 0) close(fd);
    close(lk);
    return st;
}

/* ---------------------------------------------------------------- choosing files */

static bool top_level(const char *p) { return !strchr(p, '/'); }

static void list_ggufs(const hub_listing *l, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < l->n && k + 8 < n; i++)
        if (ends_with(l->files[i].path, ".gguf"))
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? ", " : "", l->files[i].path);
    if (k + 8 >= n) snprintf(out + n - 8, 8, ", ...");
}

static bool file_match(const char *pattern, const char *path)
{
    if (!fnmatch(pattern, path, 0)) return true;
    const char *slash = strrchr(path, '/');
    return slash && !strchr(pattern, '/') && !fnmatch(pattern, slash + 1, 0);
}

static sg_status pull_single(puller *p, const hub_listing *l, const char *file, char *out, size_t n, sg_error *err)
{
    const hub_file *pick = NULL;
    char names[700];
    if (has_glob(file)) {
        int k = 0;
        size_t w = 0;
        names[0] = 0;
        for (int i = 0; i < l->n; i++) {
            if (!file_match(file, l->files[i].path)) continue;
            pick = &l->files[i];
            if (w + 8 < sizeof names) w += (size_t)snprintf(names + w, sizeof names - w, "%s%s", k ? ", " : "", pick->path);
            k++;
        }
        if (k > 1)
            return sg_fail(err, SG_ERR_INVALID, "%s: '%s' matches %d files (%s): name one with %s:FILE", p->repo, file,
                           k, names, p->repo);
    } else {
        pick = hub_listing_find(l, file);
    }
    if (!pick) {
        list_ggufs(l, names, sizeof names);
        return sg_fail(err, SG_ERR_MISSING, "%s: no file %s '%s' at revision %s%s%s", p->repo,
                       has_glob(file) ? "matches" : "named", file, p->rev, names[0] ? "; GGUF files: " : "", names);
    }
    if (p->progress) fprintf(stderr, "pulling %s:%s (%s)\n", p->repo, pick->path, p->rev);
    sg_status st = fetch_one(p, pick, err);
    if (!st && out) snprintf(out, n, "%s/%s", p->revdir, pick->path);
    return st;
}

static const char *const OPTIONAL_FILES[] = {
    "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "chat_template.jinja",    "tokenizer.model",
};

static sg_status pull_safetensors(puller *p, const hub_listing *l, char *out, size_t n, sg_error *err)
{
    const hub_file *config = hub_listing_find(l, "config.json");
    const hub_file *index = hub_listing_find(l, "model.safetensors.index.json");
    int n_st = 0;
    for (int i = 0; i < l->n; i++) n_st += top_level(l->files[i].path) && ends_with(l->files[i].path, ".safetensors");
    if (!config || (!n_st && !index)) {
        char names[700];
        list_ggufs(l, names, sizeof names);
        if (names[0])
            return sg_fail(err, SG_ERR_INVALID, "%s has GGUF files, pick one: stargate pull %s:FILE with FILE one of: %s",
                           p->repo, p->repo, names);
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s has neither a safetensors model (config.json + *.safetensors) nor GGUF files",
                       p->repo);
    }
    if (p->progress) fprintf(stderr, "pulling %s (%s, safetensors)\n", p->repo, p->rev);
    sg_status st = fetch_one(p, config, err);
    for (size_t i = 0; !st && i < sizeof OPTIONAL_FILES / sizeof *OPTIONAL_FILES; i++) {
        const hub_file *f = hub_listing_find(l, OPTIONAL_FILES[i]);
        if (f) st = fetch_one(p, f, err);
    }
    if (st) return st;
    if (index) {
        if ((st = fetch_one(p, index, err))) return st;
        char ip[5000];
        snprintf(ip, sizeof ip, "%s/%s", p->revdir, index->path);
        FILE *fi = fopen(ip, "rb");
        if (!fi) return sg_fail(err, SG_ERR_IO, "cannot open %s: %s", ip, strerror(errno));
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
            if (len + 65536 > cap) {
                cap = cap ? 2 * cap : 131072;
                char *nb = cap <= LISTING_MAX ? realloc(buf, cap) : NULL;
                if (!nb) {
                    free(buf);
                    fclose(fi);
                    return sg_fail(err, SG_ERR_FORMAT, "%s: too large", ip);
                }
                buf = nb;
            }
            size_t r = fread(buf + len, 1, cap - len, fi);
            len += r;
            if (!r) break;
        }
        fclose(fi);
        char **shards;
        int ns;
        st = hub_parse_index(buf, len, &shards, &ns, err);
        free(buf);
        if (st) return st;
        for (int i = 0; i < ns && !st; i++) {
            const hub_file *f = hub_listing_find(l, shards[i]);
            if (!f) st = sg_fail(err, SG_ERR_MISSING, "%s: shard '%s' of the index is not in the repository", p->repo, shards[i]);
            else st = fetch_one(p, f, err);
        }
        for (int i = 0; i < ns; i++) free(shards[i]);
        free(shards);
    } else {
        const hub_file *single = hub_listing_find(l, "model.safetensors");
        for (int i = 0; i < l->n && !st; i++) {
            const hub_file *f = &l->files[i];
            if (single ? f == single : (top_level(f->path) && ends_with(f->path, ".safetensors")))
                st = fetch_one(p, f, err);
        }
    }
    if (!st && out) snprintf(out, n, "%s", p->revdir);
    return st;
}

sg_status sg_pull(const sg_pull_params *pp, char *out_path, size_t n, sg_error *err)
{
    puller p = {.repo = pp->repo, .rev = pp->revision ? pp->revision : "main", .progress = pp->progress};
    char dir[256], home[3800];
    if (!pp->repo || !cache_repo_dir(pp->repo, dir, sizeof dir))
        return sg_fail(err, SG_ERR_INVALID, "'%s' is not a repository name (owner/name)", pp->repo ? pp->repo : "");
    if (!cache_valid_revision(p.rev)) return sg_fail(err, SG_ERR_INVALID, "'%s' is not a revision name", p.rev);
    if (pp->file && (!*pp->file || strlen(pp->file) > 400))
        return sg_fail(err, SG_ERR_INVALID, "bad file name '%.100s'", pp->file);
    size_t k = 0;
    for (const char *c = p.rev; *c; c++) {
        if (*c == '/') k += (size_t)snprintf(p.rev_esc + k, sizeof p.rev_esc - k, "%%2F");
        else p.rev_esc[k++] = *c;
    }
    p.rev_esc[k] = 0;
    sg_status st = cache_home(home, sizeof home, err);
    if (st) return st;
    snprintf(p.modeldir, sizeof p.modeldir, "%s/models/%s", home, dir);
    char rd[256];
    k = 0;
    for (const char *c = p.rev; *c && k + 3 < sizeof rd; c++) {
        if (*c == '/') rd[k++] = '-', rd[k++] = '-';
        else rd[k++] = *c;
    }
    rd[k] = 0;
    if (snprintf(p.revdir, sizeof p.revdir, "%s/%s", p.modeldir, rd) >= (int)sizeof p.revdir)
        return sg_fail(err, SG_ERR_INVALID, "cache path too long");

    const char *endpoint = pp->endpoint ? pp->endpoint : getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = "https://huggingface.co";
    const char *token = pp->token ? pp->token : getenv("HF_TOKEN");
    if ((st = http_client_new(endpoint, token, &p.h, err))) return st;
    hub_listing l = {0};
    if (!(st = list_repo(&p, &l, err))) {
        if (pp->file) st = pull_single(&p, &l, pp->file, out_path, n, err);
        else st = pull_safetensors(&p, &l, out_path, n, err);
    }
    if (!st && p.n_done) st = cache_manifest_add(p.modeldir, p.repo, p.rev, p.commit, p.done, p.n_done, err);
    hub_listing_free(&l);
    free(p.done);
    http_client_free(p.h);
    return st;
}
