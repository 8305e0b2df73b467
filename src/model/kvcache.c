/*
 * kvcache.c -- block pool, per-sequence block tables, sharing, copy-on-write.
 */
#include "model/kvcache.h"

#include <stdlib.h>
#include <string.h>

sg_status sg_kvcache_init(sg_kvcache *kv, int n_layer, int kv_dim, int n_seq, int n_ctx, int n_blocks, sg_error *err)
{
    memset(kv, 0, sizeof *kv);
    kv->n_layer = n_layer;
    kv->kv_dim = kv_dim;
    kv->n_seq = n_seq;
    kv->n_ctx = n_ctx;
    kv->blocks_per_seq = (n_ctx + SG_KV_BLOCK - 1) / SG_KV_BLOCK;
    if (n_blocks <= 0) n_blocks = kv->blocks_per_seq * n_seq; /* worst case: every sequence full */
    kv->n_blocks = n_blocks;
    size_t floats = (size_t)n_layer * (size_t)n_blocks * SG_KV_BLOCK * (size_t)kv_dim;
    void *k = NULL, *v = NULL;
    if (posix_memalign(&k, 64, floats * sizeof(float)) || posix_memalign(&v, 64, floats * sizeof(float))) {
        free(k);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory for the KV cache (%zu MiB)", floats * 2 * sizeof(float) >> 20);
    }
    kv->k = k;
    kv->v = v;
    kv->table = malloc((size_t)n_seq * (size_t)kv->blocks_per_seq * sizeof(int32_t));
    kv->ref = calloc((size_t)n_blocks, sizeof(int32_t));
    kv->free_list = malloc((size_t)n_blocks * sizeof(int32_t));
    kv->len = calloc((size_t)n_seq, sizeof(int));
    if (!kv->table || !kv->ref || !kv->free_list || !kv->len) {
        sg_kvcache_free(kv);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory for the KV cache tables");
    }
    for (size_t i = 0; i < (size_t)n_seq * (size_t)kv->blocks_per_seq; i++) kv->table[i] = -1;
    /* pop order 0, 1, 2, ... keeps early sequences in low memory */
    for (int i = 0; i < n_blocks; i++) kv->free_list[i] = n_blocks - 1 - i;
    kv->n_free = n_blocks;
    return SG_OK;
}

void sg_kvcache_free(sg_kvcache *kv)
{
    free(kv->k);
    free(kv->v);
    free(kv->table);
    free(kv->ref);
    free(kv->free_list);
    free(kv->len);
    memset(kv, 0, sizeof *kv);
}

static void release(sg_kvcache *kv, int32_t b)
{
    if (--kv->ref[b] == 0) kv->free_list[kv->n_free++] = b;
}

bool sg_kvcache_own_block(sg_kvcache *kv, int seq, int bi)
{
    int32_t *slot = &kv->table[(size_t)seq * kv->blocks_per_seq + (size_t)bi];
    if (*slot >= 0 && kv->ref[*slot] == 1) return true;
    if (kv->n_free == 0) return false;
    int32_t nb = kv->free_list[--kv->n_free];
    kv->ref[nb] = 1;
    if (*slot >= 0) { /* copy-on-write: the block is shared with another sequence */
        size_t row = (size_t)SG_KV_BLOCK * (size_t)kv->kv_dim * sizeof(float);
        for (int l = 0; l < kv->n_layer; l++) {
            memcpy(sg_kv_k(kv, l, nb, 0), sg_kv_k(kv, l, *slot, 0), row);
            memcpy(sg_kv_v(kv, l, nb, 0), sg_kv_v(kv, l, *slot, 0), row);
        }
        release(kv, *slot);
    }
    *slot = nb;
    return true;
}

void sg_kvcache_truncate(sg_kvcache *kv, int seq, int pos)
{
    if (pos < 0) pos = 0;
    if (kv->len[seq] > pos) kv->len[seq] = pos;
    int keep = (pos + SG_KV_BLOCK - 1) / SG_KV_BLOCK;
    int32_t *t = &kv->table[(size_t)seq * kv->blocks_per_seq];
    for (int b = keep; b < kv->blocks_per_seq; b++)
        if (t[b] >= 0) {
            release(kv, t[b]);
            t[b] = -1;
        }
}

int sg_kvcache_blocks_needed(const sg_kvcache *kv, int seq, int from, int to)
{
    const int32_t *t = &kv->table[(size_t)seq * kv->blocks_per_seq];
    int n = 0;
    if (to <= from) return 0;
    for (int b = from / SG_KV_BLOCK; b <= (to - 1) / SG_KV_BLOCK; b++)
        if (t[b] < 0 || kv->ref[t[b]] > 1) n++;
    return n;
}
