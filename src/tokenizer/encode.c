/*
 * encode.c -- text to token ids.
 *
 * 1. Special and added tokens are cut out of the text first, leftmost-longest
 *    (Hugging Face's added-vocabulary rule): user-defined tokens always,
 *    control tokens only with SG_TOKENIZE_PARSE_SPECIAL, so untrusted text
 *    that merely looks like "<|im_end|>" stays plain text.
 * 2. Each remaining fragment goes to the vocabulary's engine:
 *    - byte-level BPE: the pre-tokenizer splits it into pieces; each piece
 *      starts as one symbol per byte and adjacent pairs merge lowest rank
 *      first (a binary heap of (rank, position) over a linked list of symbols:
 *      O(k log k) for a piece of k bytes, however long). Results for short
 *      pieces are cached per call, since natural text repeats words.
 *    - SentencePiece BPE: spaces become U+2581 (plus one in front when the
 *      vocabulary adds a dummy prefix), the symbols are UTF-8 characters and
 *      the bigram whose concatenation is the highest-scoring token merges
 *      first (ties: leftmost); leftover symbols that are not tokens become
 *      <0xXX> byte tokens.
 *    - BPE with byte fallback (HF tokenizer.json of SentencePiece models):
 *      same text preparation, character symbols (byte tokens for characters
 *      outside the vocabulary) merged by rank.
 * 3. BOS/EOS are added when asked for and the vocabulary's metadata says so.
 * Scratch memory belongs to the call, so tokenizers are shared read-only.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------- call state */

#define CACHE_MAX_WORD 48
#define CACHE_SLOTS (1u << 15)

typedef struct cache_slot {
    uint64_t hash;
    uint32_t key, ids;     /* offsets into the arenas */
    uint16_t klen, nids;   /* klen 0: empty slot       */
} cache_slot;

typedef struct spm_bigram {
    float score;
    uint32_t left, right, size;
} spm_bigram;

typedef struct enc {
    const sg_tokenizer *t;
    int32_t *out;
    size_t n, cap;
    bool oom;
    /* symbols */
    int32_t *sid, *prev, *next;
    uint32_t *start, *len;
    size_t sym_cap;
    uint64_t *heap; /* BPE: rank << 32 | left position */
    spm_bigram *sheap;
    size_t heap_n, heap_cap;
    char *buf; /* escaped SentencePiece text / byte-level word */
    size_t buf_cap;
    /* word cache (byte-level BPE) */
    cache_slot *cache;
    char *ckeys;
    int32_t *cids;
    size_t ckeys_n, ckeys_cap, cids_n, cids_cap, cache_used;
} enc;

static void push(enc *e, int32_t id)
{
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 256;
        int32_t *v = realloc(e->out, nc * sizeof *v);
        if (!v) {
            e->oom = true;
            return;
        }
        e->out = v;
        e->cap = nc;
    }
    e->out[e->n++] = id;
}

/* Grow a buffer to hold at least n elements of size sz; false on OOM. */
static bool grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < n) nc *= 2;
    void *q = realloc(*p, nc * sz);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static bool symbols(enc *e, size_t n)
{
    if (n <= e->sym_cap) return true;
    size_t nc = e->sym_cap ? e->sym_cap : 64;
    while (nc < n) nc *= 2;
    int32_t *a = realloc(e->sid, nc * sizeof *a);
    if (a) e->sid = a;
    int32_t *b = realloc(e->prev, nc * sizeof *b);
    if (b) e->prev = b;
    int32_t *c = realloc(e->next, nc * sizeof *c);
    if (c) e->next = c;
    uint32_t *d = realloc(e->start, nc * sizeof *d);
    if (d) e->start = d;
    uint32_t *f = realloc(e->len, nc * sizeof *f);
    if (f) e->len = f;
    if (!a || !b || !c || !d || !f) return false;
    e->sym_cap = nc;
    return true;
}

/* ------------------------------------------------------------ BPE engine */

static void heap_push(enc *e, uint64_t v)
{
    if (e->heap_n == e->heap_cap && !grow((void **)&e->heap, &e->heap_cap, e->heap_n + 1, sizeof *e->heap)) {
        e->oom = true;
        return;
    }
    size_t i = e->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (e->heap[p] <= v) break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = v;
}

static uint64_t heap_pop(enc *e)
{
    uint64_t top = e->heap[0], v = e->heap[--e->heap_n];
    size_t i = 0, n = e->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && e->heap[c + 1] < e->heap[c]) c++;
        if (e->heap[c] >= v) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n) e->heap[i] = v;
    return top;
}

/* Queue the pair starting at symbol i when it has a merge. */
static void bpe_try(enc *e, int32_t i)
{
    if (i < 0) return;
    int32_t j = e->next[i];
    if (j < 0 || e->sid[i] < 0 || e->sid[j] < 0) return;
    uint32_t rank, res;
    if (sg_pairmap_get(&e->t->merges, (uint32_t)e->sid[i], (uint32_t)e->sid[j], &rank, &res))
        heap_push(e, (uint64_t)rank << 32 | (uint32_t)i);
}

/* Merge symbols sid[0..n) (linked list set up by the caller) and emit them.
 * Symbols with sid -1 (bytes or characters without a token) never merge and
 * come out as the unknown token, or nothing when the vocabulary has none. */
static void bpe_merge_emit(enc *e, size_t n)
{
    const sg_tokenizer *t = e->t;
    e->heap_n = 0;
    for (size_t i = 0; i + 1 < n; i++) bpe_try(e, (int32_t)i);
    while (e->heap_n) {
        uint64_t top = heap_pop(e);
        int32_t i = (int32_t)(uint32_t)top, j;
        uint32_t rank = (uint32_t)(top >> 32), r2, res;
        if (e->sid[i] < 0 || (j = e->next[i]) < 0) continue; /* dead or last */
        if (!sg_pairmap_get(&t->merges, (uint32_t)e->sid[i], (uint32_t)e->sid[j], &r2, &res) || r2 != rank)
            continue; /* stale: the pair at i changed since it was queued */
        e->sid[i] = (int32_t)res;
        e->sid[j] = -2;
        e->next[i] = e->next[j];
        if (e->next[j] >= 0) e->prev[e->next[j]] = i;
        bpe_try(e, e->prev[i]);
        bpe_try(e, i);
    }
    for (int32_t i = 0; i >= 0; i = e->next[i]) {
        if (e->sid[i] >= 0) push(e, e->sid[i]);
        else if (t->unk >= 0) push(e, t->unk);
    }
}

/* Find or add a cache slot for word w; returns the slot or NULL (not cacheable). */
static cache_slot *cache_find(enc *e, const char *w, size_t n, uint64_t h, bool *hit)
{
    *hit = false;
    if (n > CACHE_MAX_WORD) return NULL;
    if (!e->cache) {
        e->cache = calloc(CACHE_SLOTS, sizeof *e->cache);
        if (!e->cache) return NULL;
    }
    for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        cache_slot *s = &e->cache[i];
        if (!s->klen) return e->cache_used < CACHE_SLOTS / 2 ? s : NULL;
        if (s->hash == h && s->klen == n && !memcmp(e->ckeys + s->key, w, n)) {
            *hit = true;
            return s;
        }
    }
}

static uint64_t word_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h | 1;
}

/* Encode one pre-tokenized piece with byte-level BPE. */
static void bpe_piece(void *ud, const char *w, size_t n)
{
    enc *e = ud;
    const sg_tokenizer *t = e->t;
    if (e->oom) return;
    if (n == 1 && t->byte_id[(uint8_t)w[0]] >= 0) {
        push(e, t->byte_id[(uint8_t)w[0]]);
        return;
    }
    if (t->ignore_merges) { /* the whole piece is a token: emit it (Llama 3) */
        if (!grow((void **)&e->buf, &e->buf_cap, n * 2 + 1, 1)) {
            e->oom = true;
            return;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += sg_utf8_put(sg_bytelevel_cp((uint8_t)w[i]), e->buf + m);
        int32_t id = sg_strmap_get(t, e->buf, m);
        if (id >= 0 && t->type[id] == SG_TOKEN_NORMAL) {
            push(e, id);
            return;
        }
    }
    uint64_t h = word_hash(w, n);
    bool hit;
    cache_slot *slot = cache_find(e, w, n, h, &hit);
    if (hit) {
        for (unsigned k = 0; k < slot->nids; k++) push(e, e->cids[slot->ids + k]);
        return;
    }
    if (!symbols(e, n)) {
        e->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        e->sid[i] = t->byte_id[(uint8_t)w[i]];
        e->prev[i] = (int32_t)i - 1;
        e->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    size_t before = e->n;
    bpe_merge_emit(e, n);
    size_t nids = e->n - before;
    if (slot && !e->oom && nids && nids < 65535 && grow((void **)&e->ckeys, &e->ckeys_cap, e->ckeys_n + n, 1) &&
        grow((void **)&e->cids, &e->cids_cap, e->cids_n + nids, sizeof *e->cids)) {
        memcpy(e->ckeys + e->ckeys_n, w, n);
        if (nids) memcpy(e->cids + e->cids_n, e->out + before, nids * sizeof *e->cids);
        *slot = (cache_slot){h, (uint32_t)e->ckeys_n, (uint32_t)e->cids_n, (uint16_t)n, (uint16_t)nids};
        e->ckeys_n += n;
        e->cids_n += nids;
        e->cache_used++;
    }
}

/* --------------------------------------------------- SentencePiece engine */

/* Max-heap order: higher score first, then the leftmost pair. */
static bool spm_before(const spm_bigram *a, const spm_bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void spm_push(enc *e, spm_bigram v)
{
    if (e->heap_n == e->heap_cap && !grow((void **)&e->sheap, &e->heap_cap, e->heap_n + 1, sizeof *e->sheap)) {
        e->oom = true;
        return;
    }
    size_t i = e->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!spm_before(&v, &e->sheap[p])) break;
        e->sheap[i] = e->sheap[p];
        i = p;
    }
    e->sheap[i] = v;
}

static spm_bigram spm_pop(enc *e)
{
    spm_bigram top = e->sheap[0], v = e->sheap[--e->heap_n];
    size_t i = 0, n = e->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && spm_before(&e->sheap[c + 1], &e->sheap[c])) c++;
        if (!spm_before(&e->sheap[c], &v)) break;
        e->sheap[i] = e->sheap[c];
        i = c;
    }
    if (n) e->sheap[i] = v;
    return top;
}

/* A SentencePiece piece may be formed by merging only if it is a normal or
 * user-defined token (never <s>, <unk> or a byte token). */
static int32_t spm_lookup(const sg_tokenizer *t, const char *s, size_t n)
{
    int32_t id = sg_strmap_get(t, s, n);
    if (id < 0) return -1;
    int ty = t->type[id];
    return ty == SG_TOKEN_NORMAL || ty == SG_TOKEN_USER_DEFINED ? id : -1;
}

static void spm_try(enc *e, int32_t l)
{
    if (l < 0 || e->next[l] < 0) return;
    int32_t r = e->next[l];
    uint32_t size = e->len[l] + e->len[r];
    int32_t id = spm_lookup(e->t, e->buf + e->start[l], size);
    if (id < 0) return;
    float score = e->t->score ? e->t->score[id] : 0.0f;
    spm_push(e, (spm_bigram){score, (uint32_t)l, (uint32_t)r, size});
}

/* Encode e->buf[0..n) (already escaped) with SentencePiece BPE. */
static void spm_encode(enc *e, size_t n)
{
    const sg_tokenizer *t = e->t;
    if (!symbols(e, n)) {
        e->oom = true;
        return;
    }
    size_t k = 0;
    for (size_t off = 0; off < n; k++) {
        uint32_t cp;
        int l = sg_utf8_seq((const uint8_t *)e->buf + off, n - off, &cp);
        if (l <= 0) l = 1; /* an invalid byte is a symbol of its own (becomes <0xXX>) */
        e->start[k] = (uint32_t)off;
        e->len[k] = (uint32_t)l;
        e->prev[k] = (int32_t)k - 1;
        off += (size_t)l;
        e->next[k] = off < n ? (int32_t)k + 1 : -1;
    }
    e->heap_n = 0;
    for (size_t i = 0; i + 1 < k; i++) spm_try(e, (int32_t)i);
    while (e->heap_n && !e->oom) {
        spm_bigram b = spm_pop(e);
        uint32_t l = b.left, r = b.right;
        if (e->len[l] == 0 || e->len[r] == 0 || e->len[l] + e->len[r] != b.size || e->next[l] != (int32_t)r) continue;
        e->len[l] += e->len[r];
        e->len[r] = 0;
        e->next[l] = e->next[r];
        if (e->next[r] >= 0) e->prev[e->next[r]] = (int32_t)l;
        spm_try(e, e->prev[l]);
        spm_try(e, (int32_t)l);
    }
    for (int32_t i = k ? 0 : -1; i >= 0; i = e->next[i]) {
        const char *s = e->buf + e->start[i];
        int32_t id = spm_lookup(t, s, e->len[i]);
        if (id >= 0) {
            push(e, id);
            continue;
        }
        for (uint32_t j = 0; j < e->len[i]; j++) { /* byte fallback */
            int32_t b = t->byte_id[(uint8_t)s[j]];
            if (b >= 0) push(e, b);
            else if (t->unk >= 0) {
                push(e, t->unk); /* no byte tokens: one <unk> for the whole symbol */
                break;
            }
        }
    }
}

/* Character-level BPE with byte fallback over src[0..n). */
static void charbpe_encode(enc *e, const char *src, size_t n)
{
    const sg_tokenizer *t = e->t;
    if (!symbols(e, n)) {
        e->oom = true;
        return;
    }
    size_t k = 0;
    for (size_t off = 0; off < n;) {
        uint32_t cp;
        int l = sg_utf8_seq((const uint8_t *)src + off, n - off, &cp);
        if (l <= 0) l = 1;
        int32_t id = sg_strmap_get(t, src + off, (size_t)l);
        if (id >= 0) e->sid[k++] = id;
        else
            for (int j = 0; j < l; j++) e->sid[k++] = t->byte_id[(uint8_t)src[off + (size_t)j]];
        off += (size_t)l;
    }
    if (!k) return;
    for (size_t i = 0; i < k; i++) {
        e->prev[i] = (int32_t)i - 1;
        e->next[i] = i + 1 < k ? (int32_t)i + 1 : -1;
    }
    bpe_merge_emit(e, k);
}

/* Escape a fragment SentencePiece-style into e->buf: ' ' -> U+2581, with one
 * in front when `prefix`. Returns the length (0 with e->oom on failure). */
static size_t spm_escape(enc *e, const char *s, size_t n, bool prefix)
{
    if (!grow((void **)&e->buf, &e->buf_cap, 3 * n + 4, 1)) {
        e->oom = true;
        return 0;
    }
    size_t m = 0;
    if (prefix) {
        memcpy(e->buf, "\xE2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(e->buf + m, "\xE2\x96\x81", 3);
            m += 3;
        } else e->buf[m++] = s[i];
    }
    return m;
}

/* Does the "▁" prefix go in front of fragment s[0..n)? at_start: it begins
 * the text. */
static bool wants_prefix(const sg_tokenizer *t, const char *s, size_t n, bool at_start)
{
    if (!t->add_space_prefix) return false;
    if (t->prefix_mode == SG_PREFIX_EACH) return true;
    if (t->prefix_mode == SG_PREFIX_FIRST && !at_start) return false;
    return !(s[0] == ' ' || (n >= 3 && !memcmp(s, "\xE2\x96\x81", 3))); /* Metaspace: not when one is there */
}

/* Encode one fragment of plain text (no special tokens inside). */
static sg_status fragment(enc *e, const char *s, size_t n, bool at_start, sg_error *err)
{
    const sg_tokenizer *t = e->t;
    if (n == 0) return SG_OK;
    if (t->model == SG_TOKM_BPE) return sg_pretok_split(&t->pre, s, n, bpe_piece, e, err);
    size_t m = spm_escape(e, s, n, wants_prefix(t, s, n, at_start));
    if (e->oom) return SG_OK;
    if (t->model == SG_TOKM_SPM) { /* chunks end after characters no merge can cross */
        char *whole = e->buf;
        size_t whole_cap = e->buf_cap, a = 0;
        e->buf = NULL;
        e->buf_cap = 0;
        for (size_t i = 0; i < m && !e->oom; i++) {
            uint8_t c = (uint8_t)whole[i];
            if (i + 1 < m && !(c < 128 && t->spm_isolated[c])) continue;
            if (!grow((void **)&e->buf, &e->buf_cap, i + 1 - a, 1)) {
                e->oom = true;
                break;
            }
            memcpy(e->buf, whole + a, i + 1 - a);
            spm_encode(e, i + 1 - a);
            a = i + 1;
        }
        free(e->buf);
        e->buf = whole;
        e->buf_cap = whole_cap;
    }
    else if (t->model == SG_TOKM_CHARBPE && !t->metaspace_split) charbpe_encode(e, e->buf, m);
    else if (t->model == SG_TOKM_CHARBPE) { /* Metaspace split: every "▁" starts a piece */
        size_t a = 0;
        for (size_t i = 1; i <= m && !e->oom; i++) {
            if (i < m && !(i + 3 <= m && !memcmp(e->buf + i, "\xE2\x96\x81", 3))) continue;
            charbpe_encode(e, e->buf + a, i - a);
            a = i;
        }
    }
    return SG_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The special token starting at text[i], longest first, or -1. */
static int32_t special_at(const sg_tokenizer *t, const char *s, size_t n, size_t i, bool parse_special)
{
    /* the list is sorted by first byte: binary search the first candidate */
    uint8_t c = (uint8_t)s[i];
    int lo = 0, hi = t->n_special;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if ((uint8_t)t->text[t->toff[t->special[mid]]] < c) lo = mid + 1;
        else hi = mid;
    }
    for (int k = lo; k < t->n_special; k++) {
        int32_t id = t->special[k];
        const char *x = t->text + t->toff[id];
        if ((uint8_t)x[0] != c) break;
        if (!parse_special && t->type[id] != SG_TOKEN_USER_DEFINED) continue;
        size_t l = t->toff[id + 1] - t->toff[id] - 1;
        if (l <= n - i && !memcmp(x, s + i, l)) return id;
    }
    return -1;
}

static void enc_free(enc *e)
{
    free(e->sid);
    free(e->prev);
    free(e->next);
    free(e->start);
    free(e->len);
    free(e->heap);
    free(e->sheap);
    free(e->buf);
    free(e->cache);
    free(e->ckeys);
    free(e->cids);
}

sg_status sg_tokenize(const sg_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n,
                      sg_error *err)
{
    *ids = NULL;
    *n = 0;
    if (!t || (!text && len)) return sg_fail(err, SG_ERR_INVALID, "sg_tokenize: no tokenizer or text");
    if (t->model == SG_TOKM_NONE) return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: vocabulary has no tokenizer model", t->path);
    enc e = {.t = t};
    sg_status st = SG_OK;
    bool add = flags & SG_TOKENIZE_ADD_SPECIAL, parse = flags & SG_TOKENIZE_PARSE_SPECIAL;
    if (add && t->add_bos && t->bos >= 0) push(&e, t->bos);
    size_t frag = 0;
    for (size_t i = 0; i < len && !st && !e.oom;) {
        int32_t id = t->special_first[(uint8_t)text[i]] ? special_at(t, text, len, i, parse) : -1;
        if (id < 0) {
            i++;
            continue;
        }
        size_t end = i;
        if (t->attr[id] & SG_TOKA_LSTRIP)
            while (end > frag && is_space(text[end - 1])) end--;
        st = fragment(&e, text + frag, end - frag, frag == 0, err);
        push(&e, id);
        i += t->toff[id + 1] - t->toff[id] - 1;
        if (t->attr[id] & SG_TOKA_RSTRIP)
            while (i < len && is_space(text[i])) i++;
        frag = i;
    }
    if (!st && !e.oom && frag < len) st = fragment(&e, text + frag, len - frag, frag == 0, err);
    if (add && t->add_eos && t->eos >= 0) push(&e, t->eos);
    enc_free(&e);
    if (!st && e.oom) st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory while tokenizing %zu bytes", t->path, len);
    if (st) {
        free(e.out);
        return st;
    }
    *ids = e.out ? e.out : malloc(sizeof(int32_t));
    *n = e.n;
    return SG_OK;
}
