/*
 * sampler.c -- from a logits vector to the next token.
 *
 * The chain, in llama.cpp's default order:
 *
 *   penalties -> logit bias -> top-k -> top-p -> min-p -> temperature -> draw
 *
 *   penalties    over the tokens of the penalty window (the last
 *                penalty_last_n accepted tokens), each distinct token once:
 *                repetition l > 0 ? l / r : l * r (llama.cpp / HF), then
 *                l -= count * frequency + presence (OpenAI).
 *   logit bias   l += bias; bias <= -100 (OpenAI's "ban") sets l = -inf.
 *   top-k        keep the k largest logits.
 *   top-p        over the survivors' temperature-1 softmax, keep the shortest
 *                prefix (largest first) whose mass reaches p.
 *   min-p        keep tokens whose probability is >= min_p times the top
 *                token's, i.e. l >= max + ln(min_p).
 *   temperature  p_i ~ exp((l_i - max) / T) over the survivors; T <= 0 is
 *                greedy. Each truncation keeps at least min_keep tokens.
 *
 * "Largest first" is a total order: larger logit, then lower id. Because
 * top-k, top-p and min-p all keep a prefix of that order, the survivors are
 * the prefix of length min(k, n_p, n_minp) (at least min_keep), where n_p is
 * computed against the mass of the top-k set. That is what lets us avoid
 * sorting the vocabulary:
 *
 *   - small k (<= 256, the default 40): one pass keeps a min-heap of the k
 *     best (a vector compare against the heap's worst skips almost every
 *     block of 16 logits), the k are sorted, top-p / min-p walk them.
 *   - top-k off: the full softmax mass Z is needed, one vectorized exp pass.
 *     Then the 64 best are selected as above; if their cumulative mass
 *     reaches p*Z (or min-p ends inside them) we are done -- the usual case
 *     for real, peaked logits.
 *   - otherwise (flat logits, huge k): a histogram. The bucket of a logit
 *     is (max - l) * 64 / ln 2 (64 buckets per octave of probability), each
 *     bucket carries a count and a mass. Walking the buckets finds the one bucket
 *     where each cut falls; only that bucket's members are sorted.
 *
 * The final draw takes u in [0, 1) from xoshiro256** (seeded through
 * splitmix64), and walks the survivors' weights exp((l - max) / T) until
 * their running sum exceeds u * sum. Exponentials and sums come from
 * vecmath.h, bit-identical on every instruction set, so a seed reproduces.
 *
 * Log-probabilities reported with a token are the log-softmax of the
 * ORIGINAL logits (before penalties, bias, truncation, temperature): the
 * model's own distribution, which is what OpenAI's API reports.
 *
 * Nothing is allocated per token: sg_sampler_new sizes every scratch array
 * for the vocabulary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer/vecmath.h"
#include "stargate.h"

#define HEAP_K_MAX 256  /* top-k up to this uses the heap path          */
#define FAST_N 64       /* candidates tried before the histogram path */
#define N_BUCKET 8192   /* histogram buckets over max - l in [0, 88.7)  */
#define KEY_SCALE 92.332482616893656f /* buckets per logit: 64 per octave of e */

struct sg_sampler {
    sg_sampler_params p;
    int n_vocab;
    sg_logit_bias *bias; /* owned copy of p.logit_bias */
    uint64_t seed;       /* resolved seed (never SG_SAMPLER_SEED_RANDOM) */
    uint64_t rng[4];     /* xoshiro256** state */

    /* penalty window: ring of the last `win` accepted tokens, the count of
     * each token in it, and the list of distinct tokens (with each one's
     * index in that list) so that penalties touch only those. */
    int32_t *ring;
    int win, ring_len, ring_head;
    int32_t *count;
    int32_t *uniq, *uniq_pos;
    int n_uniq;

    /* per-token scratch, all n_vocab long */
    float *work;   /* logits after penalties and bias */
    float *ex;     /* exp(work - max), then the survivors' weights */
    float *cl;     /* candidate logits */
    int32_t *cid;  /* candidate ids */
    uint16_t *key; /* histogram bucket of each token */
    uint32_t *bcount;
    double *bmass;
    float *tl;     /* members of one bucket, sorted (gather_bucket) */
    int32_t *tid;
    uint32_t gb;   /* which bucket tl/tid hold (UINT32_MAX: none) */
    int gn;
    double *bsum;  /* block sums of the draw's weights */
    float top_l[SG_MAX_LOGPROBS];
    int32_t top_id[SG_MAX_LOGPROBS];
};

/* ------------------------------------------------------------------ PRNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman & Vigna): 64 random bits. */
static uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform double in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static void rng_seed(uint64_t s[4], uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&x);
}

/* A fresh seed for SG_SAMPLER_SEED_RANDOM: /dev/urandom, else the clock. */
static uint64_t random_seed(void)
{
    uint64_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&v, sizeof v, 1, f) != 1) v = 0;
        fclose(f);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v ^= (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
    if (v == SG_SAMPLER_SEED_RANDOM) v = 0;
    return v;
}

/* --------------------------------------------------------- candidate order */

/* Is candidate a worse than b? (smaller logit, then larger id) */
static inline int worse(float la, int32_t ia, float lb, int32_t ib)
{
    return (la < lb) | ((la == lb) & (ia > ib)); /* no branches: the outcome is a coin flip */
}

/* Restore the min-heap (worst at the root) below node i. */
static void sift_down(float *l, int32_t *id, int n, int i)
{
    float x = l[i];
    int32_t xi = id[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n) c += worse(l[c + 1], id[c + 1], l[c], id[c]);
        if (!worse(l[c], id[c], x, xi)) break;
        l[i] = l[c];
        id[i] = id[c];
        i = c;
    }
    l[i] = x;
    id[i] = xi;
}

/* Sort candidates best first: heapsort, in place, no allocation. */
static void sort_desc(float *l, int32_t *id, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(l, id, n, i);
    for (int end = n - 1; end > 0; end--) {
        float tl = l[0];
        int32_t ti = id[0];
        l[0] = l[end];
        id[0] = id[end];
        l[end] = tl;
        id[end] = ti;
        sift_down(l, id, end, 0);
    }
}

/* The n best of x[0..V) into (l, id), sorted best first; returns
 * min(n, V). One pass with a min-heap of the n best seen so far; blocks of
 * 16 with nothing above the heap's worst are skipped with one compare.
 * Equal logits need no test: later ids lose ties. NaNs are never taken. */
static int select_top(const float *x, int V, int n, float *l, int32_t *id)
{
    if (n > V) n = V;
    int h = 0, i = 0;
    for (; i < V && h < n; i++) {
        if (x[i] != x[i]) continue;
        l[h] = x[i];
        id[h] = i;
        h++;
    }
    if (h < n) { /* NaNs kept the heap short: it holds every other token */
        sort_desc(l, id, h);
        return h;
    }
    for (int j = n / 2 - 1; j >= 0; j--) sift_down(l, id, n, j);
    for (; i < V && (i & 15); i++)
        if (x[i] > l[0]) {
            l[0] = x[i];
            id[0] = i;
            sift_down(l, id, n, 0);
        }
    for (; i + 16 <= V; i += 16) {
        if (!sg_vany_gt16(x + i, l[0])) continue;
        for (int j = i; j < i + 16; j++)
            if (x[j] > l[0]) {
                l[0] = x[j];
                id[0] = j;
                sift_down(l, id, n, 0);
            }
    }
    for (; i < V; i++)
        if (x[i] > l[0]) {
            l[0] = x[i];
            id[0] = i;
            sift_down(l, id, n, 0);
        }
    sort_desc(l, id, n);
    return n;
}

/* ------------------------------------------------------------- lifecycle */

sg_sampler_params sg_sampler_default_params(void)
{
    sg_sampler_params p;
    memset(&p, 0, sizeof p);
    p.seed = SG_SAMPLER_SEED_RANDOM;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.min_keep = 1;
    p.penalty_last_n = 64;
    p.repeat_penalty = 1.0f;
    return p;
}

static int bad_float(float f) { return f != f; }

sg_sampler *sg_sampler_new(const sg_sampler_params *p, int n_vocab)
{
    if (!p || n_vocab < 1 || p->n_logprobs < 0 || p->n_logprobs > SG_MAX_LOGPROBS || p->n_logit_bias < 0 ||
        (p->n_logit_bias > 0 && !p->logit_bias) || p->penalty_last_n < -1 || bad_float(p->temperature) ||
        bad_float(p->top_p) || bad_float(p->min_p) || bad_float(p->repeat_penalty) ||
        !(p->repeat_penalty > 0) || bad_float(p->frequency_penalty) || bad_float(p->presence_penalty))
        return NULL;
    for (int i = 0; i < p->n_logit_bias; i++)
        if (p->logit_bias[i].token < 0 || p->logit_bias[i].token >= n_vocab || bad_float(p->logit_bias[i].bias))
            return NULL;
    sg_sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = n_vocab;
    if (s->p.min_keep < 1) s->p.min_keep = 1;
    s->win = p->penalty_last_n < 0 ? n_vocab : p->penalty_last_n; /* -1: counts only, never evicted */
    size_t V = (size_t)n_vocab;
    s->work = malloc(V * sizeof *s->work);
    s->ex = malloc(V * sizeof *s->ex);
    s->cl = malloc(V * sizeof *s->cl);
    s->cid = malloc(V * sizeof *s->cid);
    s->key = malloc(V * sizeof *s->key);
    s->count = calloc(V, sizeof *s->count);
    s->uniq_pos = malloc(V * sizeof *s->uniq_pos);
    s->uniq = malloc(V * sizeof *s->uniq);
    s->bcount = malloc(N_BUCKET * sizeof *s->bcount);
    s->bmass = malloc(N_BUCKET * sizeof *s->bmass);
    s->tl = malloc(V * sizeof *s->tl);
    s->tid = malloc(V * sizeof *s->tid);
    s->bsum = malloc((V / SG_EXP_BLOCK + 1) * sizeof *s->bsum);
    if (p->penalty_last_n > 0) s->ring = malloc((size_t)s->win * sizeof *s->ring);
    if (p->n_logit_bias > 0) {
        s->bias = malloc((size_t)p->n_logit_bias * sizeof *s->bias);
        if (s->bias) memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    }
    s->p.logit_bias = s->bias;
    if (!s->work || !s->ex || !s->cl || !s->cid || !s->key || !s->count || !s->uniq_pos || !s->uniq || !s->bcount ||
        !s->bmass || !s->tl || !s->tid || !s->bsum || (p->penalty_last_n > 0 && !s->ring) || (p->n_logit_bias > 0 && !s->bias)) {
        sg_sampler_free(s);
        return NULL;
    }
    s->seed = p->seed == SG_SAMPLER_SEED_RANDOM ? random_seed() : p->seed;
    rng_seed(s->rng, s->seed);
    return s;
}

void sg_sampler_free(sg_sampler *s)
{
    if (!s) return;
    free(s->work);
    free(s->ex);
    free(s->cl);
    free(s->cid);
    free(s->key);
    free(s->count);
    free(s->uniq_pos);
    free(s->uniq);
    free(s->bcount);
    free(s->bmass);
    free(s->tl);
    free(s->tid);
    free(s->bsum);
    free(s->ring);
    free(s->bias);
    free(s);
}

void sg_sampler_reset(sg_sampler *s)
{
    for (int i = 0; i < s->n_uniq; i++) s->count[s->uniq[i]] = 0;
    s->n_uniq = s->ring_len = s->ring_head = 0;
    rng_seed(s->rng, s->seed);
}

/* ------------------------------------------------------------- penalties */

static int penalties_on(const sg_sampler *s)
{
    return s->p.penalty_last_n != 0 &&
           (s->p.repeat_penalty != 1.0f || s->p.frequency_penalty != 0.0f || s->p.presence_penalty != 0.0f);
}

static void count_add(sg_sampler *s, int32_t t)
{
    if (s->count[t]++ == 0) {
        s->uniq_pos[t] = s->n_uniq;
        s->uniq[s->n_uniq++] = t;
    }
}

static void count_remove(sg_sampler *s, int32_t t)
{
    if (--s->count[t] == 0) { /* swap-remove from the distinct list */
        int at = s->uniq_pos[t];
        int32_t last = s->uniq[--s->n_uniq];
        s->uniq[at] = last;
        s->uniq_pos[last] = at;
    }
}

void sg_sampler_accept(sg_sampler *s, int32_t token)
{
    if (!s || token < 0 || token >= s->n_vocab || s->p.penalty_last_n == 0) return;
    if (s->p.penalty_last_n > 0) {
        if (s->ring_len == s->win) { /* evict the oldest */
            count_remove(s, s->ring[s->ring_head]);
            s->ring[s->ring_head] = token;
            s->ring_head = (s->ring_head + 1) % s->win;
        } else {
            s->ring[(s->ring_head + s->ring_len++) % s->win] = token;
        }
    }
    count_add(s, token);
}

/* work = logits (sanitized), then penalties and bias on the few tokens they touch. */
static void prepare(sg_sampler *s, const float *logits)
{
    float *w = s->work;
    sg_vcopy_sanitize(w, logits, s->n_vocab);
    if (penalties_on(s)) {
        float rp = s->p.repeat_penalty, fp = s->p.frequency_penalty, pp = s->p.presence_penalty;
        for (int i = 0; i < s->n_uniq; i++) {
            int32_t t = s->uniq[i];
            float l = w[t];
            if (rp != 1.0f) l = l > 0 ? l / rp : l * rp;
            w[t] = l - ((float)s->count[t] * fp + pp);
        }
    }
    for (int i = 0; i < s->p.n_logit_bias; i++) {
        const sg_logit_bias *b = &s->bias[i];
        w[b->token] = b->bias <= -100.0f ? -INFINITY : w[b->token] + b->bias;
        if (w[b->token] != w[b->token]) w[b->token] = -INFINITY; /* +inf + -inf */
    }
}

/* ------------------------------------------------------------ truncation */

/* Survivors of top-p and min-p among n sorted candidates whose
 * temperature-1 mass (relative to exp(-max)) is z. */
static int cut_sorted(const sg_sampler *s, const float *l, int n, float M, double z, float tau)
{
    int keep = n, mk = s->p.min_keep;
    if (s->p.top_p < 1.0f) {
        double target = (double)s->p.top_p * z, cum = 0;
        for (int i = 0; i < n; i++) {
            cum += sg_expf(l[i] - M);
            if (cum >= target && i + 1 >= mk) {
                keep = i + 1;
                break;
            }
        }
    }
    for (int i = mk; i < keep; i++)
        if (l[i] < tau) {
            keep = i;
            break;
        }
    return keep;
}

/* The bucket of logit l when the largest is M: 0 at the top, one bucket
 * per 1/64 of an octave of exp(l - M), the last one for everything below
 * M - 88.7 (whose exponential is 0). Monotone in l. */
static inline uint16_t lkey(float l, float M)
{
    float d = (M - l) * KEY_SCALE;
    d = d < (float)(N_BUCKET - 1) ? d : (float)(N_BUCKET - 1); /* a vector min */
    return (uint16_t)(int32_t)d;
}

/* Members of bucket b, sorted best first, into tl/tid (kept: asking for
 * the same bucket again costs nothing). Returns their count. */
static int gather_bucket(sg_sampler *s, uint32_t b)
{
    if (s->gb == b) return s->gn;
    int n = 0, i = 0, V = s->n_vocab;
    const uint16_t *key = s->key;
    for (; i + 16 <= V; i += 16) { /* skip runs of 16 with one test (vectorizes) */
        int any = 0;
        for (int j = 0; j < 16; j++) any |= key[i + j] == b;
        if (!any) continue;
        for (int j = i; j < i + 16; j++)
            if (key[j] == b) {
                s->tl[n] = s->work[j];
                s->tid[n++] = j;
            }
    }
    for (; i < V; i++)
        if (key[i] == b) {
            s->tl[n] = s->work[i];
            s->tid[n++] = i;
        }
    sort_desc(s->tl, s->tid, n);
    s->gb = b;
    s->gn = n;
    return n;
}

/* Bucket where a prefix of length L ends; *before = tokens in earlier buckets. */
static uint32_t locate_len(const sg_sampler *s, long L, long *before)
{
    long cum = 0;
    uint32_t b = 0;
    for (; b + 1 < N_BUCKET && cum + s->bcount[b] < L; b++) cum += s->bcount[b];
    *before = cum;
    return b;
}

/* Temperature-1 mass of the best L tokens. */
static double prefix_mass(sg_sampler *s, long L)
{
    long before;
    uint32_t b = locate_len(s, L, &before);
    double m = 0;
    for (uint32_t j = 0; j < b; j++) m += s->bmass[j];
    int nb = gather_bucket(s, b);
    for (long j = 0; j < L - before && j < nb; j++) m += s->ex[s->tid[j]];
    return m;
}

/* Length of the shortest prefix whose mass reaches target (V if none). */
static long prefix_len_for_mass(sg_sampler *s, double target)
{
    double cum = 0;
    long before = 0;
    for (uint32_t b = 0; b < N_BUCKET; b++) {
        if (cum + s->bmass[b] >= target && s->bcount[b] > 0) {
            int nb = gather_bucket(s, b);
            for (int j = 0; j < nb; j++) {
                cum += s->ex[s->tid[j]];
                if (cum >= target) return before + j + 1;
            }
            return before + nb;
        }
        cum += s->bmass[b];
        before += s->bcount[b];
    }
    return s->n_vocab;
}

/* The general path: a histogram of the logits by lkey, each bucket with its
 * count and its mass from ex[] (= exp(work - M)). Finds the prefix length
 * that top-k (k, 0: off), top-p and min-p (tau) leave and returns it; the
 * last survivor in the order is tl[*at] (sorted bucket members in tl/tid). */
static long cut_by_buckets(sg_sampler *s, int k, float tau, float M, int *at)
{
    int V = s->n_vocab;
    s->gb = UINT32_MAX;
    for (int i = 0; i < V; i++) s->key[i] = lkey(s->work[i], M); /* vectorizes */
    memset(s->bcount, 0, N_BUCKET * sizeof *s->bcount);
    memset(s->bmass, 0, N_BUCKET * sizeof *s->bmass);
    for (int i = 0; i < V; i++) {
        s->bcount[s->key[i]]++;
        s->bmass[s->key[i]] += s->ex[i];
    }
    long L = k > 0 ? k : V;
    if (s->p.top_p < 1.0f) {
        double z = 0;
        if (k > 0) z = prefix_mass(s, k);
        else
            for (uint32_t b = 0; b < N_BUCKET; b++) z += s->bmass[b];
        long n_p = prefix_len_for_mass(s, (double)s->p.top_p * z);
        if (n_p < L) L = n_p;
    }
    if (tau > -INFINITY) { /* tokens >= tau: the buckets above tau's, and part of its own */
        uint32_t kt = lkey(tau, M);
        long n_minp = 0;
        for (uint32_t b = 0; b < kt; b++) n_minp += s->bcount[b];
        int nb = gather_bucket(s, kt);
        for (int j = 0; j < nb && s->tl[j] >= tau; j++) n_minp++;
        if (n_minp < L) L = n_minp;
    }
    if (L < s->p.min_keep) L = s->p.min_keep;
    if (L > V) L = V;
    long before;
    uint32_t B = locate_len(s, L, &before);
    gather_bucket(s, B);
    *at = (int)(L - before - 1);
    return L;
}

/* ------------------------------------------------------------------ draw */

/* Index i < n drawn with probability w[i] / sum(w), where bsum holds the
 * block sums of w made by sg_vexp_sum: the block is found from the sums,
 * then scanned. The sum is positive (the top token weighs 1). */
static int draw(sg_sampler *s, const float *w, int n)
{
    int nb = (n + SG_EXP_BLOCK - 1) / SG_EXP_BLOCK, b = 0;
    double W = 0, cum = 0;
    for (int j = 0; j < nb; j++) W += s->bsum[j];
    double target = rng_uniform(s->rng) * W;
    while (b < nb - 1 && (cum + s->bsum[b] <= target || s->bsum[b] == 0)) cum += s->bsum[b++];
    while (b > 0 && s->bsum[b] == 0) cum -= s->bsum[--b]; /* rounding ran past the last weight */
    int i0 = b * SG_EXP_BLOCK, i1 = n - i0 < SG_EXP_BLOCK ? n : i0 + SG_EXP_BLOCK, last = i0;
    for (int i = i0; i < i1; i++) {
        if (w[i] > 0) last = i;
        cum += w[i];
        if (cum > target && w[i] > 0) return i;
    }
    return last;
}

/* Truncate and draw with temperature > 0. Survivors end up either as a
 * short list (cl/cid, n of them) or as a cut over the whole vocabulary:
 * every token at or above (cut_l, cut_id) in the order. */
static int32_t sample_chain(sg_sampler *s, float M)
{
    int V = s->n_vocab;
    int k = s->p.top_k > 0 && s->p.top_k < V ? s->p.top_k : 0;
    if (k > 0 && k < s->p.min_keep) k = s->p.min_keep < V ? s->p.min_keep : 0;
    bool use_p = s->p.top_p < 1.0f;
    float tau = s->p.min_p > 0 ? M + logf(s->p.min_p) : -INFINITY;
    float T = s->p.temperature < 1e-6f ? 1e-6f : s->p.temperature;
    int n = -1;                   /* list survivors, or -1: a cut */
    float cut_l = -INFINITY;      /* the cut: l > cut_l, or l == cut_l and id <= cut_id */
    const int32_t *ties = NULL;   /* sorted tokens after the cut that may tie with it */
    const float *ties_l = NULL;
    int n_ties = 0;
    if (k > 0 && k <= HEAP_K_MAX) {
        n = select_top(s->work, V, k, s->cl, s->cid);
        double z = 0;
        if (use_p)
            for (int i = 0; i < n; i++) z += sg_expf(s->cl[i] - M);
        n = cut_sorted(s, s->cl, n, M, z, tau);
    } else if (k == 0 && !use_p) { /* min-p alone (or nothing): a threshold */
        long n_minp = 0;
        if (tau > -INFINITY)
            for (int i = 0; i < V; i++) n_minp += s->work[i] >= tau;
        if (tau > -INFINITY && n_minp < s->p.min_keep) n = select_top(s->work, V, s->p.min_keep, s->cl, s->cid);
        else cut_l = tau;
    } else {
        double z = sg_vexp_sum(s->work, s->ex, V, M, 1.0f, -INFINITY, NULL);
        if (k == 0) { /* try the best FAST_N first */
            int nf = select_top(s->work, V, FAST_N, s->cl, s->cid);
            int c = cut_sorted(s, s->cl, nf, M, z, tau);
            if (c < nf || nf == V) n = c;
        }
        if (n < 0) {
            int at;
            cut_by_buckets(s, k, tau, M, &at);
            cut_l = s->tl[at];
            ties = s->tid + at + 1;
            ties_l = s->tl + at + 1;
            n_ties = s->gn - at - 1;
        }
    }
    if (n == 1) return s->cid[0];
    if (n > 1) {
        sg_vexp_sum(s->cl, s->ex, n, M, 1.0f / T, -INFINITY, s->bsum);
        return s->cid[draw(s, s->ex, n)];
    }
    /* the cut: weights over the whole vocabulary, 0 below it; tokens equal
     * to the cut logit but after it in id order are zeroed afterwards */
    sg_vexp_sum(s->work, s->ex, V, M, 1.0f / T, cut_l, s->bsum);
    for (int j = 0; j < n_ties && ties_l[j] == cut_l; j++) {
        s->ex[ties[j]] = 0;
        s->bsum[ties[j] / SG_EXP_BLOCK] = sg_block_sum(s->ex, V, ties[j] / SG_EXP_BLOCK);
    }
    return draw(s, s->ex, V);
}

/* ------------------------------------------------------------- sampling */

/* Log-softmax of the original logits: the chosen token and the n best. */
static void fill_info(sg_sampler *s, const float *logits, int32_t token, sg_sample_info *info)
{
    int V = s->n_vocab;
    float M = sg_vmax(logits, V);
    double lse = M;
    if (M > -INFINITY && M < INFINITY) lse = M + log(sg_vexp_sum(logits, s->ex, V, M, 1.0f, -INFINITY, NULL));
    info->token = token;
    info->logprob = token >= 0 ? (float)(logits[token] - lse) : -INFINITY;
    int n = s->p.n_logprobs;
    info->n_top = n > 0 ? select_top(logits, V, n, s->top_l, s->top_id) : 0;
    for (int i = 0; i < info->n_top; i++) {
        info->top_token[i] = s->top_id[i];
        info->top_logprob[i] = (float)(s->top_l[i] - lse);
    }
}

int32_t sg_sampler_sample(sg_sampler *s, const float *logits, sg_sample_info *info)
{
    int32_t token = -1;
    prepare(s, logits);
    float M = sg_vmax(s->work, s->n_vocab);
    if (M > -INFINITY) {
        if (s->p.temperature <= 0) {
            select_top(s->work, s->n_vocab, 1, s->cl, s->cid); /* lowest id among the largest */
            token = s->cid[0];
        } else {
            token = sample_chain(s, M);
        }
    }
    if (info) fill_info(s, logits, token, info);
    return token;
}
