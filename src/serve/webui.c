/*
 * webui.c -- looks up the embedded web chat files (table generated from web/
 * by cmake/webui_embed.cmake into generated/webui_data.c).
 */
#include "serve/webui.h"

#include <string.h>

const srv_asset *srv_webui_find(const char *path)
{
    if (!path || path[0] != '/') {
        return NULL;
    }
    size_t n = strcspn(path, "?#");
    if (n == 1) {
        path = "/index.html";
        n = strlen(path);
    }
    for (size_t i = 0; i < srv_webui_count; i++) {
        const srv_asset *a = &srv_webui_assets[i];
        if (strlen(a->path) == n && memcmp(a->path, path, n) == 0) {
            return a;
        }
    }
    return NULL;
}
