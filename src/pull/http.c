/*
 * http.c -- HTTPS downloads from the Hugging Face hub with libcurl.
 *
 * Redirects are followed here, not by libcurl, so that the Authorization
 * header (HF_TOKEN) goes only to the hub's own origin (scheme, host, port of
 * the endpoint) and never to the CDN the hub redirects file downloads to, and
 * so that the hub's own response headers (X-Repo-Commit, X-Linked-Etag,
 * X-Linked-Size, X-Error-Code) are read from the response that carries them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pull/pull.h"

struct http_client {
    CURL *c;
    char *endpoint;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    char origin[600];
};

static bool url_origin(const char *url, char *out, size_t n)
{
    CURLU *u = curl_url();
    if (!u) return false;
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
              !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
              !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (ok) {
        int w = snprintf(out, n, "%s://%s:%s", scheme, host, port);
        ok = w > 0 && (size_t)w < n;
        for (char *p = out; ok && *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

sg_status http_client_new(const char *endpoint, const char *token, http_client **out, sg_error *err)
{
    static bool inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) return sg_fail(err, SG_ERR_IO, "libcurl: global init failed");
        inited = true;
    }
    http_client *h = calloc(1, sizeof *h);
    if (!h) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    if (!(h->endpoint = strdup(endpoint))) goto nomem;
    size_t el = strlen(h->endpoint);
    while (el > 0 && h->endpoint[el - 1] == '/') h->endpoint[--el] = 0;
    if (strncmp(h->endpoint, "http://", 7) && strncmp(h->endpoint, "https://", 8)) {
        http_client_free(h);
        return sg_fail(err, SG_ERR_INVALID, "HF_ENDPOINT '%.200s' is not an http(s) URL", endpoint);
    }
    if (!url_origin(h->endpoint, h->origin, sizeof h->origin)) {
        http_client_free(h);
        return sg_fail(err, SG_ERR_INVALID, "HF_ENDPOINT '%.200s' is not a valid URL", endpoint);
    }
    if (token && *token) {
        for (const char *p = token; *p; p++)
            if ((unsigned char)*p < 0x21 || *p == 0x7f) {
                http_client_free(h);
                return sg_fail(err, SG_ERR_INVALID, "HF_TOKEN contains whitespace or control characters");
            }
        size_t n = strlen(token) + 32;
        if (!(h->auth = malloc(n))) goto nomem;
        snprintf(h->auth, n, "Authorization: Bearer %s", token);
    }
    if (!(h->c = curl_easy_init())) {
        http_client_free(h);
        return sg_fail(err, SG_ERR_IO, "libcurl: cannot create a handle");
    }
    *out = h;
    return SG_OK;
nomem:
    http_client_free(h);
    return sg_fail(err, SG_ERR_NOMEM, "out of memory");
}

void http_client_free(http_client *h)
{
    if (!h) return;
    if (h->c) curl_easy_cleanup(h->c);
    free(h->endpoint);
    if (h->auth) {
        memset(h->auth, 0, strlen(h->auth));
        free(h->auth);
    }
    free(h);
}

const char *http_endpoint(const http_client *h) { return h->endpoint; }
bool http_has_token(const http_client *h) { return h->auth != NULL; }

/* ---------------------------------------------------------------- one transfer */

typedef struct xfer {
    http_hub_meta *meta;
    bool hub;  /* this hop is the hub's origin: read its metadata headers */
    long code; /* status of the response being received */
    /* memory sink */
    char *mem;
    size_t len, cap, max;
    bool overflow;
    /* file sink */
    bool is_file;
    int fd;
    uint64_t from, off;
    bool started, bad_range;
    int64_t cr_start; /* Content-Range start of a 206, -1 when absent */
    int werrno;
    /* progress */
    const char *label;
    uint64_t total, got;
    double t0, last;
    bool tty;
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void copy_value(char *dst, size_t n, const char *v, size_t vl)
{
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    while (vl && *v == ' ') v++, vl--;
    if (vl >= 2 && !strncmp(v, "W/", 2)) v += 2, vl -= 2;
    if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') v++, vl -= 2;
    if (vl >= n) vl = n - 1;
    memcpy(dst, v, vl);
    dst[vl] = 0;
}

static bool header_is(const char *line, size_t n, const char *name, const char **val, size_t *vl)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k)) return false;
    *val = line + k + 1;
    *vl = n - k - 1;
    return true;
}

static size_t on_header(char *line, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        const char *sp = memchr(line, ' ', n);
        x->code = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->cr_start = -1;
        return n;
    }
    const char *v;
    size_t vl;
    if (header_is(line, n, "Content-Range", &v, &vl)) {
        char tmp[128];
        copy_value(tmp, sizeof tmp, v, vl);
        if (!strncmp(tmp, "bytes ", 6) && isdigit((unsigned char)tmp[6])) x->cr_start = strtoll(tmp + 6, NULL, 10);
        return n;
    }
    if (!x->hub || !x->meta) return n;
    http_hub_meta *m = x->meta;
    if (header_is(line, n, "X-Repo-Commit", &v, &vl)) copy_value(m->commit, sizeof m->commit, v, vl);
    else if (header_is(line, n, "X-Linked-Etag", &v, &vl)) copy_value(m->linked_etag, sizeof m->linked_etag, v, vl);
    else if (header_is(line, n, "ETag", &v, &vl)) copy_value(m->etag, sizeof m->etag, v, vl);
    else if (header_is(line, n, "X-Error-Code", &v, &vl)) copy_value(m->error_code, sizeof m->error_code, v, vl);
    else if (header_is(line, n, "X-Error-Message", &v, &vl)) copy_value(m->error_msg, sizeof m->error_msg, v, vl);
    else if (header_is(line, n, "X-Linked-Size", &v, &vl)) {
        char tmp[32];
        copy_value(tmp, sizeof tmp, v, vl);
        m->linked_size = strtoull(tmp, NULL, 10);
    } else if (header_is(line, n, "Link", &v, &vl)) {
        /* <URL>; rel="next", <URL>; rel="prev" */
        char tmp[4096];
        copy_value(tmp, sizeof tmp, v, vl);
        for (char *p = tmp; (p = strchr(p, '<'));) {
            char *e = strchr(p, '>');
            if (!e) break;
            char *next_lt = strchr(e, '<');
            char *rel = strstr(e, "rel=\"next\"");
            if (rel && (!next_lt || rel < next_lt) && (size_t)(e - p - 1) < sizeof m->next) {
                memcpy(m->next, p + 1, (size_t)(e - p - 1));
                m->next[e - p - 1] = 0;
                break;
            }
            p = e;
        }
    }
    return n;
}

static void fmt_bytes(char *out, size_t n, double b)
{
    if (b >= 1073741824.0) snprintf(out, n, "%.2f GiB", b / 1073741824.0);
    else if (b >= 1048576.0) snprintf(out, n, "%.1f MiB", b / 1048576.0);
    else if (b >= 1024.0) snprintf(out, n, "%.1f KiB", b / 1024.0);
    else snprintf(out, n, "%.0f B", b);
}

static void fmt_eta(char *out, size_t n, double s)
{
    if (!(s >= 0) || s > 359999) {
        snprintf(out, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw(xfer *x, bool final)
{
    double t = now_s(), el = t - x->t0;
    if (!final && (!x->tty || t - x->last < 0.2)) return;
    x->last = t;
    double speed = (double)x->got / (el > 1e-3 ? el : 1e-3);
    char done[32], tot[32], sp[32], eta[32];
    fmt_bytes(done, sizeof done, (double)x->off);
    fmt_bytes(tot, sizeof tot, (double)x->total);
    fmt_bytes(sp, sizeof sp, speed);
    if (!x->tty) {
        if (final) fprintf(stderr, "  %s: %s in %.1f s (%s/s)\n", x->label, done, el, sp);
        return;
    }
    int pct = x->total ? (int)(100.0 * (double)x->off / (double)x->total) : 0;
    if (pct > 100) pct = 100;
    char bar[26];
    int fill = pct / 4;
    for (int i = 0; i < 25; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[25] = 0;
    fmt_eta(eta, sizeof eta, speed > 0 && x->total >= x->off ? (double)(x->total - x->off) / speed : -1);
    fprintf(stderr, "\r  %-30.30s %3d%% [%s] %s / %s  %s/s  ETA %s\033[K", x->label, pct, bar, done, tot, sp,
            final ? "0:00" : eta);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (x->code < 200 || x->code >= 300) return n; /* redirect or error body: dropped */
    if (!x->is_file) {
        if (x->len + n + 1 > x->max) {
            x->overflow = true;
            return 0;
        }
        if (x->len + n + 1 > x->cap) {
            size_t cap = x->cap ? x->cap : 65536;
            while (cap < x->len + n + 1) cap *= 2;
            char *nm2 = realloc(x->mem, cap);
            if (!nm2) {
                x->overflow = true;
                return 0;
            }
            x->mem = nm2;
            x->cap = cap;
        }
        memcpy(x->mem + x->len, p, n);
        x->len += n;
        x->mem[x->len] = 0;
        return n;
    }
    if (!x->started) {
        x->started = true;
        if (x->code == 206) {
            if (x->cr_start != (int64_t)x->from) {
                x->bad_range = true;
                return 0;
            }
            x->off = x->from;
        } else {
            if (ftruncate(x->fd, 0)) {
                x->werrno = errno;
                return 0;
            }
            x->off = 0;
        }
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(x->fd, p + done, n - done, (off_t)(x->off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            x->werrno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    x->off += n;
    x->got += n;
    if (x->label) draw(x, false);
    return n;
}

static sg_status perform(http_client *h, const char *url0, xfer *x, long *status, sg_error *err)
{
    char *url = strdup(url0);
    if (!url) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    sg_status st = SG_OK;
    for (int hop = 0;; hop++) {
        if (hop > 10) {
            st = sg_fail(err, SG_ERR_IO, "%.200s: too many redirects", url0);
            break;
        }
        char origin[600];
        if (!url_origin(url, origin, sizeof origin)) {
            st = sg_fail(err, SG_ERR_IO, "bad URL '%.200s'", url);
            break;
        }
        bool same = !strcmp(origin, h->origin);
        CURL *c = h->c;
        curl_easy_reset(c);
        struct curl_slist *hd = NULL;
        if (same && h->auth) hd = curl_slist_append(hd, h->auth);
        char ebuf[CURL_ERROR_SIZE] = "";
        char range[48];
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "stargate/" SG_VERSION_STRING);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
        if (x->is_file && x->from) {
            snprintf(range, sizeof range, "%llu-", (unsigned long long)x->from);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        x->hub = same;
        x->code = 0;
        x->cr_start = -1;
        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(hd);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK) {
            if (x->werrno) st = sg_fail(err, SG_ERR_IO, "cannot write the download: %s", strerror(x->werrno));
            else if (x->overflow) st = sg_fail(err, SG_ERR_FORMAT, "%.200s: response too large", url);
            else if (x->bad_range)
                st = sg_fail(err, SG_ERR_IO, "%.200s: the server answered the wrong byte range", url);
            else {
                char host[600];
                if (!url_origin(url, host, sizeof host)) snprintf(host, sizeof host, "the server");
                st = sg_fail(err, SG_ERR_IO, "%s: %s%s%s", host, curl_easy_strerror(rc), ebuf[0] ? ": " : "", ebuf);
            }
            break;
        }
        if (code >= 300 && code < 400 && code != 304) {
            char *loc = NULL;
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
            if (!loc) {
                st = sg_fail(err, SG_ERR_IO, "%.200s: HTTP %ld redirect without a Location", url, code);
                break;
            }
            char *nu = strdup(loc);
            if (!nu) {
                st = sg_fail(err, SG_ERR_NOMEM, "out of memory");
                break;
            }
            free(url);
            url = nu;
            continue;
        }
        *status = code;
        break;
    }
    free(url);
    return st;
}

sg_status http_get_mem(http_client *h, const char *url, size_t max, char **body, size_t *len, long *status,
                       http_hub_meta *meta, sg_error *err)
{
    xfer x = {.meta = meta, .max = max};
    *body = NULL;
    *len = 0;
    *status = 0;
    sg_status st = perform(h, url, &x, status, err);
    if (st) {
        free(x.mem);
        return st;
    }
    if (!x.mem && !(x.mem = calloc(1, 1))) return sg_fail(err, SG_ERR_NOMEM, "out of memory");
    *body = x.mem;
    *len = x.len;
    return SG_OK;
}

sg_status http_get_file(http_client *h, const char *url, int fd, uint64_t from, uint64_t total, const char *label,
                        long *status, uint64_t *written_to, http_hub_meta *meta, sg_error *err)
{
    xfer x = {.meta = meta, .is_file = true, .fd = fd, .from = from, .off = from, .label = label, .total = total};
    x.t0 = x.last = now_s();
    x.tty = isatty(2);
    *status = 0;
    sg_status st = perform(h, url, &x, status, err);
    if (label && x.tty && x.got) fputc('\n', stderr);
    else if (label && !st && *status / 100 == 2) draw(&x, true);
    *written_to = x.off;
    return st;
}

sg_status http_status_error(const http_client *h, long status, const http_hub_meta *meta, const char *repo,
                            const char *file, const char *revision, sg_error *err)
{
    const char *code = meta ? meta->error_code : "";
    bool tok = http_has_token(h);
    if (status == 403 || !strcmp(code, "GatedRepo")) {
        if (tok)
            return sg_fail(err, SG_ERR_INVALID,
                           "%s: gated repository: accept its terms at %s/%s with the account of HF_TOKEN", repo,
                           h->endpoint, repo);
        return sg_fail(err, SG_ERR_INVALID, "%s: repository not found or gated: set HF_TOKEN", repo);
    }
    if (status == 404 && !strcmp(code, "EntryNotFound") && file)
        return sg_fail(err, SG_ERR_MISSING, "%s: no file '%s' at revision %s", repo, file, revision);
    if (status == 404 && !strcmp(code, "RevisionNotFound"))
        return sg_fail(err, SG_ERR_MISSING, "%s: no revision '%s'", repo, revision);
    if (status == 401 || (status == 404 && (!file || !strcmp(code, "RepoNotFound")))) {
        if (tok)
            return sg_fail(err, SG_ERR_MISSING, "%s: repository not found, or HF_TOKEN has no access to it", repo);
        return sg_fail(err, SG_ERR_MISSING, "%s: repository not found or gated: set HF_TOKEN", repo);
    }
    if (status == 404) return sg_fail(err, SG_ERR_MISSING, "%s: '%s' not found at revision %s", repo, file, revision);
    return sg_fail(err, SG_ERR_IO, "%s: HTTP %ld from %s%s%s", repo, status, h->endpoint,
                   meta && meta->error_msg[0] ? ": " : "", meta ? meta->error_msg : "");
}
