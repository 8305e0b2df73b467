/*
 * pull.h -- internals of `stargate pull` and the local model cache.
 *
 *   sha256.c    SHA-256 (FIPS 180-4), streaming
 *   hub_json.c  the hub's file listings (tree API, siblings), the shard index
 *   http.c      libcurl GET with hand-followed redirects (Authorization only
 *               to the hub's own origin), Range resume, progress bar
 *   cache.c     $STARGATE_HOME/models layout, manifests, list/rm, resolver
 *   pull.c      sg_pull: choose files, download to .part, verify, rename
 */
#ifndef SG_PULL_H
#define SG_PULL_H

#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

/* ---- sha256.c */
typedef struct sg_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} sg_sha256;

void sg_sha256_init(sg_sha256 *s);
void sg_sha256_update(sg_sha256 *s, const void *data, size_t n);
void sg_sha256_final(sg_sha256 *s, uint8_t out[32]);
/* Lower-case hex digest of a file; false (errno set) when it cannot be read. */
bool sg_sha256_file(const char *path, char hex[65]);

/* ---- hub_json.c */
typedef struct hub_file {
    char *path;        /* repository path, e.g. "model-00001-of-00002.safetensors" */
    uint64_t size;     /* bytes (the LFS object's size for LFS files) */
    bool has_size;
    char sha256[65];   /* lfs.oid without "sha256:", lower-case hex; "" when unknown */
} hub_file;

typedef struct hub_listing {
    hub_file *files;
    int n, cap;
} hub_listing;

/* Append the files of one listing page: the tree API's array of
 * {type, path, size, oid, lfs: {oid, size}} (directories skipped) or the
 * model API's object {siblings: [{rfilename, size?, lfs?}]}. Paths that are
 * not safe relative paths (absolute, "..", backslashes, control bytes) are an
 * error: they name where the file is written. */
sg_status hub_parse_listing(const char *json, size_t len, hub_listing *l, sg_error *err);
void hub_listing_free(hub_listing *l);
const hub_file *hub_listing_find(const hub_listing *l, const char *path);
bool hub_safe_path(const char *p);
/* "sha256:ABC.." / "\"abc..\"" / "abc.." -> 64 lower-case hex digits; false when not one. */
bool hub_sha256_hex(const char *s, char out[65]);

/* model.safetensors.index.json: the distinct shard names of weight_map, in
 * first-seen order (heap array of heap strings). */
sg_status hub_parse_index(const char *json, size_t len, char ***shards, int *n, sg_error *err);

/* ---- http.c */
typedef struct http_hub_meta { /* headers of the hub's own (first) response */
    char commit[64];        /* X-Repo-Commit */
    char linked_etag[96];   /* X-Linked-Etag (sha256 of an LFS file), unquoted */
    char etag[96];          /* ETag, unquoted */
    uint64_t linked_size;   /* X-Linked-Size; 0 when absent */
    char error_code[64];    /* X-Error-Code (RepoNotFound, GatedRepo, EntryNotFound, ...) */
    char error_msg[256];    /* X-Error-Message */
    char next[2048];        /* Link: <...>; rel="next" (paged listings) */
} http_hub_meta;

typedef struct http_client http_client;

/* endpoint: "https://huggingface.co" (no trailing slash); token may be NULL. */
sg_status http_client_new(const char *endpoint, const char *token, http_client **out, sg_error *err);
void http_client_free(http_client *h);
const char *http_endpoint(const http_client *h);
bool http_has_token(const http_client *h);

/* GET url into a heap buffer (NUL-terminated, at most max bytes). *status is
 * the final HTTP status (after redirects). */
sg_status http_get_mem(http_client *h, const char *url, size_t max, char **body, size_t *len, long *status,
                       http_hub_meta *meta, sg_error *err);

/* GET url into fd from byte `from` (Range: bytes=from-; a 200 answer
 * truncates and restarts at 0). *written_to is the file's size afterwards.
 * label != NULL: a progress bar on stderr named label, of total bytes. */
sg_status http_get_file(http_client *h, const char *url, int fd, uint64_t from, uint64_t total, const char *label,
                        long *status, uint64_t *written_to, http_hub_meta *meta, sg_error *err);

/* The one-line error for an HTTP failure of repo (and file, may be NULL). */
sg_status http_status_error(const http_client *h, long status, const http_hub_meta *meta, const char *repo,
                            const char *file, const char *revision, sg_error *err);

/* ---- cache.c */
/* $STARGATE_HOME, else $HOME/.cache/stargate. */
sg_status cache_home(char *out, size_t n, sg_error *err);
/* "owner/name" -> "owner--name"; false when repo is not owner/name of [A-Za-z0-9._-]. */
bool cache_repo_dir(const char *repo, char *out, size_t n);
bool cache_valid_revision(const char *rev);
/* mkdir -p of every directory above path (not path itself). */
sg_status cache_mkdirs_for(const char *path, sg_error *err);

typedef struct manifest_file {
    char path[512];
    uint64_t size;
    char sha256[65];
} manifest_file;

/* Record files (a revision's downloads) in <modeldir>/manifest.json, merging
 * with what is there; atomic (temp + rename) under <modeldir>/.locks/manifest.lock. */
sg_status cache_manifest_add(const char *modeldir, const char *repo, const char *revision, const char *commit,
                             const manifest_file *files, int n, sg_error *err);

#endif
