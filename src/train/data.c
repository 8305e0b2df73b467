/*
 * data.c -- token shards and the deterministic data loader.
 *
 * Training data is a stream of token ids split into shard files (format in
 * train.h: a 64-byte header, then the ids as u16 or u32, then optionally one
 * loss-mask byte per token). A manifest ties shards together:
 *
 *   {"format": "stargate-shards", "version": 1, "vocab_size": 32000,
 *    "shards": [{"path": "train-000.bin", "tokens": 1000000}, ...]}
 *
 * (paths relative to the manifest). The loader sees the concatenation of the
 * shards as one stream and cuts it into windows of seq_len + 1 tokens with
 * stride seq_len: window w holds tokens [w*T, w*T + T], inputs are its first
 * T tokens, targets its last T. Sequence number g of the run uses window
 * g mod n_windows, so the order is fixed by the data alone; the trainer gives
 * each (step, micro-batch, rank) its own block of sequence numbers (see
 * trainer.c), which makes every rank's slice deterministic and the position
 * in the stream a single integer to checkpoint.
 *
 * A batch is tokens + targets + a per-target loss weight: pretraining
 * shards carry no mask (all ones); SFT shards will carry 0 for prompt tokens
 * and 1 for answer tokens, and packing several conversations into a window is
 * a matter of writing them one after another into the stream.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train/train.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t token_at(const sg_shard *s, uint64_t i)
{
    const uint8_t *p = s->tokens + i * (uint64_t)s->token_bytes;
    return s->token_bytes == 2 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : rd32(p);
}

/* Map and validate one shard; expect_tokens (0: any) from the manifest. */
static sg_status shard_open(sg_shard *s, const char *path, uint64_t expect_tokens, uint32_t *vocab, sg_error *err)
{
    memset(s, 0, sizeof *s);
    sg_status st = sg_file_map(&s->file, path, err);
    if (st) return st;
    const uint8_t *p = s->file.data;
    size_t size = s->file.size;
    if (size < SG_SHARD_HEADER || memcmp(p, SG_SHARD_MAGIC, 8))
        return sg_fail(err, SG_ERR_FORMAT, "%s: not a stargate token shard (bad magic)", path);
    uint32_t version = rd32(p + 8), tb = rd32(p + 12), flags = rd32(p + 24), v = rd32(p + 28);
    uint64_t n = rd64(p + 16);
    if (version != 1) return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: shard version %u (supported: 1)", path, version);
    if (tb != 2 && tb != 4) return sg_fail(err, SG_ERR_FORMAT, "%s: token size %u bytes (must be 2 or 4)", path, tb);
    if (flags & ~(SG_SHARD_HAS_MASK | SG_SHARD_HAS_DOCS) || (flags & SG_SHARD_HAS_DOCS && !(flags & SG_SHARD_HAS_MASK)))
        return sg_fail(err, SG_ERR_FORMAT, "%s: unknown flags 0x%x", path, flags);
    uint64_t per = tb + ((flags & SG_SHARD_HAS_MASK) ? 1 : 0);
    if (n > (size - SG_SHARD_HEADER) / per || SG_SHARD_HEADER + n * per != size)
        return sg_fail(err, SG_ERR_FORMAT, "%s: header says %llu tokens but the file has %zu bytes", path,
                       (unsigned long long)n, size);
    if (expect_tokens && n != expect_tokens)
        return sg_fail(err, SG_ERR_FORMAT, "%s: has %llu tokens, the manifest says %llu", path, (unsigned long long)n,
                       (unsigned long long)expect_tokens);
    s->n_tokens = n;
    s->token_bytes = (int)tb;
    s->tokens = p + SG_SHARD_HEADER;
    if (flags & SG_SHARD_HAS_MASK) {
        s->mask = s->tokens + n * tb;
        s->docs = flags & SG_SHARD_HAS_DOCS;
        unsigned mx = s->docs ? 3 : 1;
        for (uint64_t i = 0; i < n; i++)
            if (s->mask[i] > mx)
                return sg_fail(err, SG_ERR_FORMAT, "%s: mask byte %llu is %u (must be 0..%u)", path,
                               (unsigned long long)i, s->mask[i], mx);
    }
    if (v && *vocab && v != *vocab)
        return sg_fail(err, SG_ERR_FORMAT, "%s: vocab_size %u differs from %u", path, v, *vocab);
    if (v) *vocab = v;
    return SG_OK;
}

static sg_status add_shard(sg_data *d, const char *path, uint64_t expect, sg_error *err)
{
    sg_shard *ns = realloc(d->shards, (size_t)(d->n_shards + 1) * sizeof *ns);
    if (!ns) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    d->shards = ns;
    sg_shard *s = &d->shards[d->n_shards];
    sg_status st = shard_open(s, path, expect, &d->vocab_size, err);
    d->n_shards++; /* closed by sg_data_close even on failure */
    if (st) return st;
    s->start = d->n_tokens;
    d->n_tokens += s->n_tokens;
    if (s->docs) d->docs = true;
    return SG_OK;
}

static sg_status open_manifest(sg_data *d, const char *path, sg_error *err)
{
    char *text = NULL;
    sg_status st = sg_file_read_all(path, &text, NULL, err);
    if (st) return st;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return sg_fail(err, SG_ERR_FORMAT, "%s: not valid JSON", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(root, "shards");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(root, "vocab_size");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "tokenizer");
    if (cJSON_IsString(tok) && tok->valuestring[0]) d->tokenizer = strdup(tok->valuestring);
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "stargate-shards")) {
        st = sg_fail(err, SG_ERR_FORMAT, "%s: 'format' must be \"stargate-shards\"", path);
        goto done;
    }
    if (vocab) {
        if (!cJSON_IsNumber(vocab) || vocab->valuedouble < 1 || vocab->valuedouble > (1 << 24) ||
            vocab->valuedouble != (double)(int)vocab->valuedouble) {
            st = sg_fail(err, SG_ERR_FORMAT, "%s: 'vocab_size' must be an integer in [1, 16777216]", path);
            goto done;
        }
        d->vocab_size = (uint32_t)vocab->valuedouble;
    }
    if (!cJSON_IsArray(shards) || cJSON_GetArraySize(shards) == 0) {
        st = sg_fail(err, SG_ERR_FORMAT, "%s: 'shards' must be a non-empty array", path);
        goto done;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, shards) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *sn = cJSON_GetObjectItemCaseSensitive(e, "tokens");
        if (!cJSON_IsString(sp) || !sp->valuestring[0]) {
            st = sg_fail(err, SG_ERR_FORMAT, "%s: shard %d has no 'path'", path, i);
            goto done;
        }
        uint64_t expect = 0;
        if (sn) {
            if (!cJSON_IsNumber(sn) || sn->valuedouble < 0 || sn->valuedouble > 9.0e15) {
                st = sg_fail(err, SG_ERR_FORMAT, "%s: shard %d: 'tokens' must be a non-negative integer", path, i);
                goto done;
            }
            expect = (uint64_t)sn->valuedouble;
        }
        char *full;
        if (sp->valuestring[0] == '/' || !slash) full = strdup(sp->valuestring);
        else {
            full = malloc(dirlen + strlen(sp->valuestring) + 2);
            if (full) sprintf(full, "%.*s/%s", (int)dirlen, path, sp->valuestring);
        }
        if (!full) {
            st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        st = add_shard(d, full, expect, err);
        free(full);
        if (st) goto done;
        i++;
    }
done:
    cJSON_Delete(root);
    return st;
}

sg_status sg_data_open(sg_data *d, const char *path, int seq_len, sg_error *err)
{
    memset(d, 0, sizeof *d);
    d->path = strdup(path);
    d->seq_len = seq_len;
    size_t n = strlen(path);
    sg_status st = (n > 5 && !strcmp(path + n - 5, ".json")) ? open_manifest(d, path, err) : add_shard(d, path, 0, err);
    if (st) {
        sg_data_close(d);
        return st;
    }
    if (d->n_tokens < (uint64_t)seq_len + 1) {
        st = sg_fail(err, SG_ERR_INVALID, "%s: %llu tokens, need at least seq_len + 1 = %d", path,
                     (unsigned long long)d->n_tokens, seq_len + 1);
        sg_data_close(d);
        return st;
    }
    d->n_windows = (d->n_tokens - 1) / (uint64_t)seq_len;
    for (int s = 0; s < d->n_shards; s++)
        for (uint64_t i = 0; i < d->shards[s].n_tokens; i++) {
            uint32_t t = token_at(&d->shards[s], i);
            if (t > d->max_token) d->max_token = t;
        }
    if (d->vocab_size && d->max_token >= d->vocab_size) {
        st = sg_fail(err, SG_ERR_FORMAT, "%s: token id %u is outside the vocabulary of %u", path, d->max_token,
                     d->vocab_size);
        sg_data_close(d);
        return st;
    }
    return SG_OK;
}

void sg_data_close(sg_data *d)
{
    for (int i = 0; i < d->n_shards; i++) sg_file_unmap(&d->shards[i].file);
    free(d->shards);
    free(d->path);
    free(d->tokenizer);
    memset(d, 0, sizeof *d);
}

/* Token, mask and document start at stream index i (binary search over
 * shard starts). */
static uint32_t stream_at(const sg_data *d, uint64_t i, float *mask, bool *start)
{
    int lo = 0, hi = d->n_shards - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->shards[mid].start <= i) lo = mid;
        else hi = mid - 1;
    }
    const sg_shard *s = &d->shards[lo];
    uint64_t k = i - s->start;
    if (mask) *mask = s->mask ? (float)(s->mask[k] & 1) : 1.0f;
    if (start) *start = s->docs && (s->mask[k] & 2);
    return token_at(s, k);
}

void sg_data_fill(const sg_data *d, uint64_t first, int n, int32_t *inp, int32_t *tgt, float *mask, int32_t *pos)
{
    int T = d->seq_len;
    for (int b = 0; b < n; b++) {
        uint64_t w = (first + (uint64_t)b) % d->n_windows, base = w * (uint64_t)T;
        int doc = 0; /* index of the current document's first token in the row */
        for (int t = 0; t < T; t++) {
            size_t o = (size_t)b * T + t;
            bool start = false;
            inp[o] = (int32_t)stream_at(d, base + t, NULL, &start);
            tgt[o] = (int32_t)stream_at(d, base + t + 1, mask ? &mask[o] : NULL, NULL);
            if (start) doc = t;
            if (pos) pos[o] = t - doc;
        }
    }
}

sg_status sg_shard_write(const char *path, const uint32_t *tokens, const uint8_t *mask, uint64_t n,
                         uint32_t vocab_size, sg_error *err)
{
    uint32_t mx = 0;
    for (uint64_t i = 0; i < n; i++)
        if (tokens[i] > mx) mx = tokens[i];
    if (vocab_size && mx >= vocab_size)
        return sg_fail(err, SG_ERR_INVALID, "%s: token id %u is outside the vocabulary of %u", path, mx, vocab_size);
    int tb = (vocab_size ? vocab_size <= 65536 : mx < 65536) ? 2 : 4;
    uint8_t h[SG_SHARD_HEADER] = {0};
    memcpy(h, SG_SHARD_MAGIC, 8);
    wr32(h + 8, 1);
    wr32(h + 12, (uint32_t)tb);
    wr64(h + 16, n);
    bool docs = false;
    for (uint64_t i = 0; mask && i < n && !docs; i++) docs = mask[i] & 2;
    wr32(h + 24, mask ? SG_SHARD_HAS_MASK | (docs ? SG_SHARD_HAS_DOCS : 0) : 0);
    wr32(h + 28, vocab_size);
    sg_afile a;
    sg_status st = sg_afile_open(&a, path, err);
    if (st) return st;
    sg_afile_write(&a, h, sizeof h);
    uint8_t buf[4096];
    size_t k = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (tb == 2) {
            buf[k++] = (uint8_t)tokens[i];
            buf[k++] = (uint8_t)(tokens[i] >> 8);
        } else {
            wr32(buf + k, tokens[i]);
            k += 4;
        }
        if (k + 4 > sizeof buf || i + 1 == n) {
            sg_afile_write(&a, buf, k);
            k = 0;
        }
    }
    if (mask) {
        for (uint64_t i = 0; i < n; i++)
            if (mask[i] > 3) {
                sg_afile_abort(&a);
                return sg_fail(err, SG_ERR_INVALID, "%s: mask value %u at %llu (must be 0..3)", path, mask[i], (unsigned long long)i);
            }
        sg_afile_write(&a, mask, (size_t)n);
    }
    return sg_afile_commit(&a, err);
}
