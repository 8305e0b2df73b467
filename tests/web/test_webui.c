/*
 * test_webui.c -- the embedded web chat files (src/serve/webui.c and the table
 * cmake/webui_embed.cmake generates from web/).
 *
 *   test_webui WEB_DIR
 *
 * Every file of WEB_DIR is embedded byte for byte with its Content-Type and a
 * quoted 16-hex-digit ETag; "/" is index.html; a query string is ignored;
 * unknown, relative and traversal paths are NULL.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/webui.h"

static int fails;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            fails++;                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                  \
            fputc('\n', stderr);                           \
        }                                                  \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void check_file(const char *dir, const char *name, const char *type_prefix)
{
    char url[256], path[4096];
    snprintf(url, sizeof url, "/%s", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const srv_asset *a = srv_webui_find(url);
    CHECK(a != NULL, "%s is embedded", url);
    if (!a) return;
    CHECK(!strncmp(a->content_type, type_prefix, strlen(type_prefix)), "%s: type %s", url, a->content_type);
    size_t len = 0;
    unsigned char *disk = read_file(path, &len);
    CHECK(disk != NULL, "read %s", path);
    if (disk) {
        CHECK(a->len == len && !memcmp(a->data, disk, len), "%s: the embedded bytes are the file's", url);
        free(disk);
    }
    CHECK(a->etag && strlen(a->etag) == 18 && a->etag[0] == '"' && a->etag[17] == '"' &&
              strspn(a->etag + 1, "0123456789abcdef") == 16,
          "%s: ETag %s", url, a->etag ? a->etag : "(null)");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_webui WEB_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    check_file(dir, "index.html", "text/html");
    check_file(dir, "app.js", "text/javascript");
    check_file(dir, "markdown.js", "text/javascript");
    check_file(dir, "style.css", "text/css");
    check_file(dir, "favicon.svg", "image/svg+xml");

    const srv_asset *index = srv_webui_find("/index.html");
    CHECK(srv_webui_find("/") == index, "/ is index.html");
    CHECK(srv_webui_find("/?lang=fr") == index, "/?query is index.html");
    CHECK(srv_webui_find("/app.js?v=2") == srv_webui_find("/app.js"), "a query string is ignored");
    CHECK(srv_webui_find("/app.js#x") == srv_webui_find("/app.js"), "a fragment is ignored");
    CHECK(srv_webui_find("/nope.js") == NULL, "unknown file");
    CHECK(srv_webui_find("app.js") == NULL, "relative path");
    CHECK(srv_webui_find("") == NULL, "empty path");
    CHECK(srv_webui_find(NULL) == NULL, "NULL path");
    CHECK(srv_webui_find("/../web/app.js") == NULL, "traversal");
    CHECK(srv_webui_find("/app.js/") == NULL, "trailing slash");
    CHECK(srv_webui_find("/APP.JS") == NULL, "case matters");
    CHECK(srv_webui_find("/v1/models") == NULL, "API paths are not assets");

    /* distinct contents have distinct ETags; every path is unique */
    for (size_t i = 0; i < srv_webui_count; i++) {
        for (size_t j = i + 1; j < srv_webui_count; j++) {
            CHECK(strcmp(srv_webui_assets[i].path, srv_webui_assets[j].path) != 0, "duplicate path");
            bool same = srv_webui_assets[i].len == srv_webui_assets[j].len &&
                        !memcmp(srv_webui_assets[i].data, srv_webui_assets[j].data, srv_webui_assets[i].len);
            CHECK(same || strcmp(srv_webui_assets[i].etag, srv_webui_assets[j].etag) != 0, "ETag collision %s %s",
                  srv_webui_assets[i].path, srv_webui_assets[j].path);
        }
    }
    if (fails) {
        fprintf(stderr, "%d webui check(s) failed\n", fails);
        return 1;
    }
    printf("webui: %zu embedded files, all checks passed\n", srv_webui_count);
    return 0;
}
