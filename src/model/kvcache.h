/*
 * kvcache.h -- a paged key/value cache shared by many sequences.
 *
 * Memory is a pool of fixed-size blocks (SG_KV_BLOCK positions each, per
 * layer, for K and V). Each sequence owns a block table mapping its position
 * p to block table[p / SG_KV_BLOCK], slot p % SG_KV_BLOCK, so memory is taken
 * as sequences grow instead of being reserved for the longest possible one.
 *
 * Blocks are reference-counted: sg_kv_share() lets a new sequence start with
 * another's prefix (a shared system prompt is computed once), and a write
 * into a shared block first copies it (copy-on-write), so sharing is never
 * visible to the math.
 */
#ifndef SG_MODEL_KVCACHE_H
#define SG_MODEL_KVCACHE_H

#include "base/error.h"

#define SG_KV_BLOCK 16

typedef struct sg_kvcache {
    int n_layer, kv_dim, n_seq, n_ctx;
    int n_blocks, blocks_per_seq;
    float *k, *v;        /* [n_layer][n_blocks][SG_KV_BLOCK][kv_dim]                */
    int32_t *table;      /* [n_seq][blocks_per_seq] block ids, -1 when absent       */
    int32_t *ref;        /* [n_blocks] reference counts                              */
    int32_t *free_list;  /* stack of free block ids                                  */
    int n_free;
    int *len;            /* [n_seq] cached positions                                  */
} sg_kvcache;

sg_status sg_kvcache_init(sg_kvcache *kv, int n_layer, int kv_dim, int n_seq, int n_ctx, int n_blocks, sg_error *err);
void sg_kvcache_free(sg_kvcache *kv);

/* Row of layer l, block b, slot s: kv_dim floats. */
static inline float *sg_kv_k(const sg_kvcache *kv, int l, int b, int s)
{
    return kv->k + (((size_t)l * kv->n_blocks + (size_t)b) * SG_KV_BLOCK + (size_t)s) * (size_t)kv->kv_dim;
}
static inline float *sg_kv_v(const sg_kvcache *kv, int l, int b, int s)
{
    return kv->v + (((size_t)l * kv->n_blocks + (size_t)b) * SG_KV_BLOCK + (size_t)s) * (size_t)kv->kv_dim;
}

/* Make block `bi` of sequence `seq` present and exclusively owned (allocate
 * or copy-on-write). Returns false when the pool is exhausted. */
bool sg_kvcache_own_block(sg_kvcache *kv, int seq, int bi);

/* Drop positions >= pos of a sequence, releasing whole blocks past it. */
void sg_kvcache_truncate(sg_kvcache *kv, int seq, int pos);

/* Blocks that writing positions [from, to) of seq would newly need
 * (absent, or shared and so copied on write). */
int sg_kvcache_blocks_needed(const sg_kvcache *kv, int seq, int from, int to);

#endif
