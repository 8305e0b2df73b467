/*
 * train.c -- training a byte-level BPE vocabulary on a corpus.
 *
 *   corpus --GPT-4 (cl100k) split--> unique words with counts
 *          --> symbols = bytes --> repeat: merge the most frequent adjacent pair
 *
 * The loop is the standard incremental one: pair counts (weighted by word
 * frequency) live in a hash map, each pair keeps the list of words it occurs
 * in, and a max-heap orders pairs by count. Merging a pair rewrites only the
 * words on its list and adjusts the counts of the pairs around each
 * occurrence. After a merge the counts of existing pairs only go down, so
 * the heap is lazy: a popped entry whose count is stale is pushed back with
 * the current count. Cost: O(n) to split and count, then O(m log m) heap
 * work plus the lengths of the rewritten words; no pass over the whole
 * corpus per merge.
 *
 * Deterministic: ties go to the smaller (left id, right id); iteration order
 * of hash tables never decides anything. A merge whose concatenation already
 * is a token reuses that id (two paths to the same bytes), as Hugging Face's
 * trainer does.
 *
 * Output: a vocabulary-only GGUF (tokenizer.ggml.model "gpt2", pre
 * "llama-bpe" = the cl100k split it was trained with, tokens in GPT-2's byte
 * alphabet, merges, token types, special tokens appended as control tokens,
 * the first special being BOS and EOS), written atomically.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "formats/gguf_write.h"
#include "tokenizer/tokenizer.h"

/* ----------------------------------------------------------- word counting */

typedef struct wslot {
    uint64_t hash;
    uint32_t off, len; /* into the corpus text */
    uint32_t word;     /* index + 1; 0 = empty  */
} wslot;

typedef struct counter {
    const char *text;
    wslot *slots;
    size_t mask, n;
    uint32_t *woff, *wlen;
    int64_t *freq;
    size_t cap;
    bool oom;
} counter;

static uint64_t hbytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static bool counter_grow(counter *c)
{
    size_t ncap = (c->mask + 1) * 2;
    wslot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return false;
    for (size_t i = 0; i <= c->mask; i++) {
        if (!c->slots[i].word) continue;
        size_t j = c->slots[i].hash & (ncap - 1);
        while (ns[j].word) j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->mask = ncap - 1;
    return true;
}

/* Count one pre-tokenized piece. */
static void count_piece(void *ud, const char *s, size_t n)
{
    counter *c = ud;
    if (c->oom || n > UINT32_MAX) return;
    uint64_t h = hbytes(s, n);
    size_t i = h & c->mask;
    for (; c->slots[i].word; i = (i + 1) & c->mask) {
        wslot *w = &c->slots[i];
        if (w->hash == h && w->len == n && !memcmp(c->text + w->off, s, n)) {
            c->freq[w->word - 1]++;
            return;
        }
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4096;
        uint32_t *a = realloc(c->woff, nc * sizeof *a), *b = a ? realloc(c->wlen, nc * sizeof *b) : NULL;
        if (a) c->woff = a;
        if (b) c->wlen = b;
        int64_t *f = b ? realloc(c->freq, nc * sizeof *f) : NULL;
        if (!f) {
            c->oom = true;
            return;
        }
        c->freq = f;
        c->cap = nc;
    }
    c->woff[c->n] = (uint32_t)(s - c->text);
    c->wlen[c->n] = (uint32_t)n;
    c->freq[c->n] = 1;
    c->slots[i] = (wslot){h, (uint32_t)(s - c->text), (uint32_t)n, (uint32_t)++c->n};
    if (c->n * 2 > c->mask && !counter_grow(c)) c->oom = true;
}

/* ------------------------------------------------------------------ pairs */

typedef struct pair {
    int32_t a, b;
    int64_t count;
    int32_t *words; /* words containing the pair (may repeat or be stale) */
    uint32_t nw, cw;
    uint32_t stamp;
} pair;

typedef struct heap_e {
    int64_t count;
    uint32_t p;
} heap_e;

typedef struct trainer {
    pair *pairs;
    size_t n_pairs, cap_pairs;
    uint32_t *slot; /* pair index + 1 */
    size_t mask;
    heap_e *heap;
    size_t hn, hcap;
    bool oom;
} trainer;

static uint64_t pkey(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }
static size_t phash(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ull;
    return (size_t)(k ^ k >> 29);
}

static bool pairs_rehash(trainer *tr)
{
    size_t ncap = (tr->mask + 1) * 2;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return false;
    for (size_t i = 0; i < tr->n_pairs; i++) {
        size_t j = phash(pkey(tr->pairs[i].a, tr->pairs[i].b)) & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = (uint32_t)i + 1;
    }
    free(tr->slot);
    tr->slot = ns;
    tr->mask = ncap - 1;
    return true;
}

/* Index of pair (a, b), created with count 0 when new; -1 on OOM. */
static int64_t pair_get(trainer *tr, int32_t a, int32_t b)
{
    uint64_t k = pkey(a, b);
    size_t i = phash(k) & tr->mask;
    for (; tr->slot[i]; i = (i + 1) & tr->mask) {
        pair *p = &tr->pairs[tr->slot[i] - 1];
        if (p->a == a && p->b == b) return tr->slot[i] - 1;
    }
    if (tr->n_pairs == tr->cap_pairs) {
        size_t nc = tr->cap_pairs ? tr->cap_pairs * 2 : 4096;
        pair *np = realloc(tr->pairs, nc * sizeof *np);
        if (!np) return -1;
        tr->pairs = np;
        tr->cap_pairs = nc;
    }
    size_t idx = tr->n_pairs++;
    tr->pairs[idx] = (pair){.a = a, .b = b};
    tr->slot[i] = (uint32_t)idx + 1;
    if (tr->n_pairs * 2 > tr->mask && !pairs_rehash(tr)) return -1;
    return (int64_t)idx;
}

static void pair_add_word(trainer *tr, pair *p, int32_t w)
{
    if (p->nw && p->words[p->nw - 1] == w) return;
    if (p->nw == p->cw) {
        uint32_t nc = p->cw ? p->cw * 2 : 4;
        int32_t *nw = realloc(p->words, nc * sizeof *nw);
        if (!nw) {
            tr->oom = true;
            return;
        }
        p->words = nw;
        p->cw = nc;
    }
    p->words[p->nw++] = w;
}

/* Heap order: higher count first, then smaller (a, b). */
static bool hbefore(const trainer *tr, heap_e x, heap_e y)
{
    if (x.count != y.count) return x.count > y.count;
    const pair *p = &tr->pairs[x.p], *q = &tr->pairs[y.p];
    if (p->a != q->a) return p->a < q->a;
    return p->b < q->b;
}

static void hpush(trainer *tr, heap_e v)
{
    if (tr->hn == tr->hcap) {
        size_t nc = tr->hcap ? tr->hcap * 2 : 4096;
        heap_e *h = realloc(tr->heap, nc * sizeof *h);
        if (!h) {
            tr->oom = true;
            return;
        }
        tr->heap = h;
        tr->hcap = nc;
    }
    size_t i = tr->hn++;
    while (i > 0 && hbefore(tr, v, tr->heap[(i - 1) / 2])) {
        tr->heap[i] = tr->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    tr->heap[i] = v;
}

static heap_e hpop(trainer *tr)
{
    heap_e top = tr->heap[0], v = tr->heap[--tr->hn];
    size_t i = 0, n = tr->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hbefore(tr, tr->heap[c + 1], tr->heap[c])) c++;
        if (!hbefore(tr, tr->heap[c], v)) break;
        tr->heap[i] = tr->heap[c];
        i = c;
    }
    if (n) tr->heap[i] = v;
    return top;
}

/* ------------------------------------------------------------- vocabulary */

typedef struct vocab {
    char **bytes; /* raw bytes of each token */
    uint32_t *len;
    size_t n, cap;
    uint32_t *slot; /* id + 1 */
    size_t mask;
} vocab;

static int32_t vocab_find(const vocab *v, const char *s, size_t n, size_t *where)
{
    size_t i = hbytes(s, n) & v->mask;
    for (; v->slot[i]; i = (i + 1) & v->mask) {
        uint32_t id = v->slot[i] - 1;
        if (v->len[id] == n && !memcmp(v->bytes[id], s, n)) return (int32_t)id;
    }
    *where = i;
    return -1;
}

/* Id of the token with bytes s (added when new); -1 on OOM. */
static int32_t vocab_add(vocab *v, const char *s, size_t n)
{
    size_t where = 0;
    int32_t id = vocab_find(v, s, n, &where);
    if (id >= 0) return id;
    if (v->n == v->cap) {
        size_t nc = v->cap * 2;
        char **b = realloc(v->bytes, nc * sizeof *b);
        if (b) v->bytes = b;
        uint32_t *l = b ? realloc(v->len, nc * sizeof *l) : NULL;
        if (!l) return -1;
        v->len = l;
        v->cap = nc;
    }
    char *c = malloc(n ? n : 1);
    if (!c) return -1;
    memcpy(c, s, n);
    v->bytes[v->n] = c;
    v->len[v->n] = (uint32_t)n;
    v->slot[where] = (uint32_t)v->n + 1;
    return (int32_t)v->n++;
}

/* ------------------------------------------------------------------ train */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Write the trained vocabulary as a GGUF file. */
static sg_status write_vocab(const sg_train_params *p, const vocab *v, char **mtext, size_t n_merges,
                             const char *const *specials, int n_specials, sg_error *err)
{
    size_t n = v->n + (size_t)n_specials;
    char **texts = calloc(n, sizeof *texts);
    int32_t *types = malloc(n * sizeof *types);
    sg_status s = SG_OK;
    if (!texts || !types) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", p->output);
        goto done;
    }
    for (size_t i = 0; i < v->n; i++) {
        texts[i] = malloc((size_t)v->len[i] * 2 + 1);
        if (!texts[i]) {
            s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", p->output);
            goto done;
        }
        size_t o = 0;
        for (uint32_t k = 0; k < v->len[i]; k++) o += sg_utf8_put(sg_bytelevel_cp((uint8_t)v->bytes[i][k]), texts[i] + o);
        texts[i][o] = 0;
        types[i] = SG_TOKEN_NORMAL;
    }
    for (int k = 0; k < n_specials; k++) {
        texts[v->n + (size_t)k] = strdup(specials[k]);
        types[v->n + (size_t)k] = SG_TOKEN_CONTROL;
        if (!texts[v->n + (size_t)k]) {
            s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", p->output);
            goto done;
        }
    }
    sg_gguf_writer w = {0};
    sg_gguf_w_str(&w, "general.name", "stargate-bpe");
    sg_gguf_w_str(&w, "tokenizer.ggml.model", "gpt2");
    sg_gguf_w_str(&w, "tokenizer.ggml.pre", "llama-bpe");
    sg_gguf_w_str_array(&w, "tokenizer.ggml.tokens", (const char *const *)texts, NULL, n);
    sg_gguf_w_i32_array(&w, "tokenizer.ggml.token_type", types, n);
    sg_gguf_w_str_array(&w, "tokenizer.ggml.merges", (const char *const *)mtext, NULL, n_merges);
    if (n_specials) {
        sg_gguf_w_u32(&w, "tokenizer.ggml.bos_token_id", (uint32_t)v->n);
        sg_gguf_w_u32(&w, "tokenizer.ggml.eos_token_id", (uint32_t)v->n);
    }
    sg_gguf_w_bool(&w, "tokenizer.ggml.add_bos_token", false);
    s = sg_gguf_writer_save(&w, p->output, err);
    sg_gguf_writer_free(&w);
done:
    if (texts)
        for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(types);
    return s;
}

sg_status sg_tokenizer_train(const sg_train_params *p, sg_error *err)
{
    static const char *const default_specials[] = {"<|endoftext|>"};
    const char *const *specials = p->specials ? p->specials : default_specials;
    int n_specials = p->specials ? p->n_specials : 1;
    if (!p->input || !p->output) return sg_fail(err, SG_ERR_INVALID, "tokenizer train: input and output are required");
    if (p->vocab_size < 256 + n_specials || p->vocab_size > (1 << 22))
        return sg_fail(err, SG_ERR_INVALID, "tokenizer train: vocabulary size %d is outside [%d, %d]", p->vocab_size,
                       256 + n_specials, 1 << 22);
    double t0 = now_s();
    sg_mapped_file f;
    sg_status s = sg_file_map(&f, p->input, err);
    if (s) return s;
    if (f.size > UINT32_MAX) {
        sg_file_unmap(&f);
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: corpus larger than 4 GiB", p->input);
    }
    sg_pretok pre = {0};
    counter c = {.text = (const char *)f.data, .mask = 4095};
    trainer tr = {.mask = 4095};
    vocab v = {.cap = 1024, .mask = 0};
    int32_t *sym = NULL;
    uint32_t *soff = NULL, *stamp = NULL;
    char **mtext = NULL;
    size_t n_merges = 0;
    c.slots = calloc(c.mask + 1, sizeof *c.slots);
    tr.slot = calloc(tr.mask + 1, sizeof *tr.slot);
    size_t vslots = 16;
    while (vslots < 4 * (size_t)p->vocab_size) vslots *= 2;
    v.mask = vslots - 1;
    v.slot = calloc(vslots, sizeof *v.slot);
    v.bytes = malloc(v.cap * sizeof *v.bytes);
    v.len = malloc(v.cap * sizeof *v.len);
    mtext = calloc((size_t)p->vocab_size, sizeof *mtext);
    if (!c.slots || !tr.slot || !v.slot || !v.bytes || !v.len || !mtext) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", p->input);
        goto done;
    }
    if ((s = sg_pretok_init_named(&pre, "llama-bpe", p->input, err))) goto done;
    if ((s = sg_pretok_split(&pre, (const char *)f.data, f.size, count_piece, &c, err))) goto done;
    if (c.oom) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory counting words", p->input);
        goto done;
    }
    for (int b = 0; b < 256; b++) {
        char ch = (char)b;
        if (vocab_add(&v, &ch, 1) < 0) {
            s = sg_fail(err, SG_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    /* symbols of every unique word, and the initial pair counts */
    size_t total = 0;
    for (size_t w = 0; w < c.n; w++) total += c.wlen[w];
    sym = malloc((total + 1) * sizeof *sym);
    soff = malloc((c.n + 1) * sizeof *soff);
    stamp = calloc(c.n + 1, sizeof *stamp);
    if (!sym || !soff || !stamp) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", p->input);
        goto done;
    }
    size_t o = 0;
    for (size_t w = 0; w < c.n; w++) {
        soff[w] = (uint32_t)o;
        const uint8_t *src = f.data + c.woff[w];
        for (uint32_t k = 0; k < c.wlen[w]; k++) sym[o + k] = src[k];
        for (uint32_t k = 0; k + 1 < c.wlen[w]; k++) {
            int64_t pi = pair_get(&tr, sym[o + k], sym[o + k + 1]);
            if (pi < 0) {
                tr.oom = true;
                break;
            }
            tr.pairs[pi].count += c.freq[w];
            pair_add_word(&tr, &tr.pairs[pi], (int32_t)w);
        }
        o += c.wlen[w];
    }
    for (size_t i = 0; i < tr.n_pairs && !tr.oom; i++) hpush(&tr, (heap_e){tr.pairs[i].count, (uint32_t)i});
    if (p->verbose)
        fprintf(stderr, "train: %zu bytes, %zu unique words, %zu pairs (%.2f s)\n", f.size, c.n, tr.n_pairs, now_s() - t0);

    size_t target = (size_t)p->vocab_size - (size_t)n_specials;
    uint32_t merge_no = 0;
    uint32_t *touched = NULL;
    size_t n_touched = 0, cap_touched = 0;
    while (v.n < target && n_merges < (size_t)p->vocab_size && tr.hn && !tr.oom) {
        heap_e top = hpop(&tr);
        pair *pp = &tr.pairs[top.p];
        if (top.count != pp->count) { /* stale: counts only decrease, so push back the current one */
            if (pp->count > 0) hpush(&tr, (heap_e){pp->count, top.p});
            continue;
        }
        if (pp->count <= 0) break;
        int32_t a = pp->a, b = pp->b;
        uint32_t pidx = top.p;
        /* the new token's bytes */
        size_t la = v.len[a], lb = v.len[b];
        char *nb = malloc(la + lb);
        if (!nb) {
            tr.oom = true;
            break;
        }
        memcpy(nb, v.bytes[a], la);
        memcpy(nb + la, v.bytes[b], lb);
        int32_t z = vocab_add(&v, nb, la + lb);
        free(nb);
        if (z < 0) {
            tr.oom = true;
            break;
        }
        /* the merge's text in the file: "A B" in the byte alphabet */
        size_t mt = 0;
        char *m = malloc((la + lb) * 2 + 2);
        if (!m) {
            tr.oom = true;
            break;
        }
        for (size_t k = 0; k < la; k++) mt += sg_utf8_put(sg_bytelevel_cp((uint8_t)v.bytes[a][k]), m + mt);
        m[mt++] = ' ';
        for (size_t k = 0; k < lb; k++) mt += sg_utf8_put(sg_bytelevel_cp((uint8_t)v.bytes[b][k]), m + mt);
        m[mt] = 0;
        mtext[n_merges++] = m;
        merge_no++;
        n_touched = 0;
        /* rewrite every word that contains the pair */
        uint32_t nw = pp->nw;
        for (uint32_t wi = 0; wi < nw && !tr.oom; wi++) {
            int32_t w = tr.pairs[pidx].words[wi];
            if (stamp[w] == merge_no) continue;
            stamp[w] = merge_no;
            int32_t *q = sym + soff[w];
            uint32_t len = c.wlen[w];
            int64_t fw = c.freq[w];
            bool has = false;
            for (uint32_t k = 0; k + 1 < len; k++)
                if (q[k] == a && q[k + 1] == b) {
                    has = true;
                    break;
                }
            if (!has) continue;
            for (uint32_t k = 0; k + 1 < len; k++) {
                int64_t pi = pair_get(&tr, q[k], q[k + 1]);
                if (pi < 0) tr.oom = true;
                else tr.pairs[pi].count -= fw;
            }
            uint32_t nl = 0;
            for (uint32_t k = 0; k < len;) {
                if (k + 1 < len && q[k] == a && q[k + 1] == b) {
                    q[nl++] = z;
                    k += 2;
                } else q[nl++] = q[k++];
            }
            c.wlen[w] = len = nl;
            for (uint32_t k = 0; k + 1 < len; k++) {
                int64_t pi = pair_get(&tr, q[k], q[k + 1]);
                if (pi < 0) {
                    tr.oom = true;
                    break;
                }
                pair *np = &tr.pairs[pi];
                np->count += fw;
                if (q[k] == z || q[k + 1] == z) {
                    pair_add_word(&tr, np, w);
                    if (np->stamp != merge_no) {
                        np->stamp = merge_no;
                        if (n_touched == cap_touched) {
                            cap_touched = cap_touched ? cap_touched * 2 : 256;
                            uint32_t *nt = realloc(touched, cap_touched * sizeof *nt);
                            if (!nt) {
                                tr.oom = true;
                                break;
                            }
                            touched = nt;
                        }
                        touched[n_touched++] = (uint32_t)pi;
                    }
                }
            }
        }
        for (size_t k = 0; k < n_touched; k++)
            if (tr.pairs[touched[k]].count > 0) hpush(&tr, (heap_e){tr.pairs[touched[k]].count, touched[k]});
        if (p->verbose && merge_no % 1000 == 0)
            fprintf(stderr, "train: %u merges, vocabulary %zu (%.2f s)\n", merge_no, v.n, now_s() - t0);
    }
    free(touched);
    if (tr.oom) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory while training", p->input);
        goto done;
    }
    if (p->verbose)
        fprintf(stderr, "train: %zu merges, %zu tokens + %d special (%.2f s)\n", n_merges, v.n, n_specials, now_s() - t0);
    s = write_vocab(p, &v, mtext, n_merges, specials, n_specials, err);
done:
    sg_pretok_free(&pre);
    sg_file_unmap(&f);
    free(c.slots);
    free(c.woff);
    free(c.wlen);
    free(c.freq);
    for (size_t i = 0; i < tr.n_pairs; i++) free(tr.pairs[i].words);
    free(tr.pairs);
    free(tr.slot);
    free(tr.heap);
    for (size_t i = 0; i < v.n; i++) free(v.bytes[i]);
    free(v.bytes);
    free(v.len);
    free(v.slot);
    if (mtext)
        for (size_t i = 0; i < n_merges; i++) free(mtext[i]);
    free(mtext);
    free(sym);
    free(soff);
    free(stamp);
    return s;
}
