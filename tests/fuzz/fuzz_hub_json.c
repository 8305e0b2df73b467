/*
 * fuzz_hub_json.c -- libFuzzer target for the hub's JSON (src/pull/hub_json.c):
 * file listings (tree API array, siblings object) and the safetensors shard
 * index. Every path accepted must be a safe relative path.
 */
#include <stdlib.h>
#include <string.h>

#include "pull/pull.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_error err;
    hub_listing l = {0};
    if (hub_parse_listing((const char *)data, size, &l, &err) == SG_OK) {
        for (int i = 0; i < l.n; i++) {
            if (!hub_safe_path(l.files[i].path) || hub_listing_find(&l, l.files[i].path) == NULL) abort();
            if (l.files[i].sha256[0] && strlen(l.files[i].sha256) != 64) abort();
        }
    }
    hub_listing_free(&l);
    char **shards;
    int n;
    if (hub_parse_index((const char *)data, size, &shards, &n, &err) == SG_OK) {
        for (int i = 0; i < n; i++) {
            if (!hub_safe_path(shards[i])) abort();
            free(shards[i]);
        }
        free(shards);
    }
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = 0;
        char hex[65];
        (void)hub_sha256_hex(s, hex);
        (void)hub_safe_path(s);
        free(s);
    }
    return 0;
}
