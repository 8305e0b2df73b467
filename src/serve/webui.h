/*
 * webui.h -- the web chat's files (everything in web/), embedded in the binary.
 *
 * cmake/webui_embed.cmake turns every file of web/ into a byte array at build
 * time (generated/webui_data.c, rebuilt when a web file changes), with its
 * Content-Type and a strong ETag (a hash of the content computed then). The
 * table is constant: safe to read from any thread.
 */
#ifndef SG_SERVE_WEBUI_H
#define SG_SERVE_WEBUI_H

#include <stddef.h>

typedef struct srv_asset {
    const char *path;          /* URL path, e.g. "/app.js"                        */
    const char *content_type;  /* e.g. "text/javascript; charset=utf-8"          */
    const unsigned char *data; /* the file's bytes (not NUL-terminated)           */
    size_t len;
    const char *etag;          /* quoted strong validator, e.g. "\"0123abcd...\"" */
} srv_asset;

/* The asset served at a URL path: "/" is index.html; a query string ("?v=1")
 * is ignored. NULL when there is none (or path is NULL). */
const srv_asset *srv_webui_find(const char *path);

/* Every embedded asset (generated table), for listings and tests. */
extern const srv_asset srv_webui_assets[];
extern const size_t srv_webui_count;

#endif
