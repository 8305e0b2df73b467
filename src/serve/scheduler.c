/*
 * scheduler.c -- continuous batching: one engine thread owns the sg_ctx.
 *
 * Scheduling is per iteration (Orca, vLLM): between two forward steps new
 * requests join the batch and finished ones leave it. Each step is ONE
 * sg_forward call holding
 *
 *   - one token for every sequence that is decoding, then
 *   - chunks of prompts still being prefilled, oldest first, until the
 *     step's token budget (n_batch) is used,
 *
 * so a long prompt is prefilled over several steps while the others keep
 * decoding. A request's state is just two counters over its token array
 * (prompt, then generated tokens): n_toks tokens known, n_kv of them in the
 * KV cache. The step feeds toks[n_kv .. ] and samples when the chunk reaches
 * n_toks. Decoding is the case n_toks - n_kv == 1.
 *
 * Memory. Sequences live in slots (the context's sequence ids). The KV pool
 * is smaller than slots x context: when sg_forward refuses a step ("KV cache
 * full", nothing changed), the scheduler first drops the caches idle slots
 * keep for prefix reuse, then preempts the youngest running sequence: its
 * cache is freed and it goes back to the head of the queue with its
 * generated tokens appended to its prompt (recomputation). With
 * batch_invariant contexts the recomputed logits are bit-identical, so
 * preemption never changes an answer.
 *
 * Prefix reuse. A finished sequence leaves its tokens and cache in its slot.
 * A new request takes the free slot whose cached tokens share the longest
 * prefix with its prompt (truncating the rest), or shares the prefix of a
 * running sequence with sg_kv_share (copy-on-write blocks): a system prompt
 * common to many requests is computed once.
 *
 * Cancellation. A handler whose client went away sets r->cancelled; the next
 * step frees the sequence's cache at once (no prefix kept).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve.h"

typedef struct slot {
    srv_req *r;        /* running request, or NULL when free            */
    int32_t *cache;    /* free slot: tokens whose K/V the cache holds   */
    int n_cache;
    uint64_t last_used;
} slot;

struct srv_sched {
    sg_ctx *ctx;
    const srv_text *text;
    srv_metrics *m;
    int n_slots, n_batch, n_ctx, n_vocab, queue_max;
    slot *slots;
    int32_t *btok, *bpos, *bseq, *bslot, *bcount;
    int8_t *bwant;
    float *scratch;

    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_req *head, *tail;  /* pending queue                 */
    int n_queued, n_running;
    bool stopping, exit;
    bool hold;             /* after a preemption: admit nothing until a request ends */
    atomic_int kv_used, kv_total; /* published after each step for /metrics */
    double deadline;
    uint64_t admit_counter, use_counter;
};

double srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------- requests */

void srv_req_unref(srv_req *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    srv_request_params_free(&r->p);
    free(r->toks);
    sg_sampler_free(r->sampler);
    srv_detok_free(r->detok);
    sg_stop_free(r->stop);
    srv_jsonc_free(r->jc);
    sg_reasoning_free(r->rs);
    free(r->text);
    free(r->ev);
    free(r->lps);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

/* A new request holding *p's contents (one reference, not queued). */
static srv_req *req_new(srv_request_params *p, uint64_t id)
{
    srv_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    atomic_init(&r->refs, 1);
    atomic_init(&r->cancelled, false);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->p = *p;
    memset(p, 0, sizeof *p);
    r->id = id;
    r->slot = -1;
    r->t_arrival = srv_now();
    return r;
}

srv_req *srv_req_canned(srv_request_params *p, int n_prompt, const char *text, const char *finish)
{
    static atomic_uint_fast64_t next_id = (uint_fast64_t)1 << 62; /* apart from the engine's ids */
    size_t n = strlen(text);
    char *t = malloc(n + 1);
    srv_event *ev = calloc(1, sizeof *ev);
    srv_req *r = t && ev ? req_new(p, atomic_fetch_add(&next_id, 1)) : NULL;
    if (!r) {
        free(t), free(ev);
        srv_request_params_free(p);
        return NULL;
    }
    r->n_prompt = n_prompt;
    memcpy(t, text, n + 1);
    r->text = t;
    r->text_len = n;
    r->text_cap = n + 1;
    ev->len = n;
    ev->lp = -1;
    r->ev = ev;
    r->n_ev = n ? 1 : 0;
    r->cap_ev = 1;
    r->finish = finish;
    r->state = SRV_DONE;
    r->t_first = r->t_last = r->t_arrival;
    return r;
}

srv_req *srv_sched_request(srv_sched *s, srv_request_params *p, int32_t *prompt, int n_prompt, int max_tokens,
                           bool in_reasoning, srv_error *e)
{
    static atomic_uint_fast64_t next_id = 1;
    srv_req *r = req_new(p, atomic_fetch_add(&next_id, 1));
    if (!r) goto oom;
    r->toks = prompt;
    r->n_toks = r->n_prompt = n_prompt;
    r->cap_toks = n_prompt + max_tokens;
    int32_t *g = realloc(r->toks, (size_t)r->cap_toks * sizeof *g);
    if (!g) goto oom;
    r->toks = g;
    r->p.max_tokens = max_tokens;
    r->sampler = sg_sampler_new(&r->p.sp, s->n_vocab);
    if (!r->sampler) {
        srv_error_set(e, 400, "invalid_request_error", NULL, NULL, "invalid sampling parameters");
        srv_req_unref(r);
        return NULL;
    }
    r->detok = srv_detok_new(s->text);
    r->stop = sg_stop_new((const char *const *)r->p.stops, r->p.n_stops);
    if (!r->detok || !r->stop) goto oom;
    if (r->p.json_mode && !(r->jc = srv_jsonc_new(s->text, s->n_vocab))) goto oom;
    if (r->p.kind == SRV_CHAT && !(r->rs = sg_reasoning_new(in_reasoning))) goto oom;
    return r;
oom:
    if (r) {
        r->toks = r->toks ? r->toks : prompt;
        srv_req_unref(r);
    } else {
        free(prompt);
        srv_request_params_free(p);
    }
    srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    return NULL;
}

/* Append an output event (under r->mu). */
static void emit(srv_req *r, const char *txt, size_t len, bool reasoning, const sg_sample_info *info)
{
    if (!len && !info) return;
    pthread_mutex_lock(&r->mu);
    bool ok = true;
    if (r->text_len + len + 1 > r->text_cap) {
        size_t nc = (r->text_len + len + 1) * 2;
        char *g = realloc(r->text, nc);
        if (g) r->text = g, r->text_cap = nc;
        else ok = false;
    }
    if (ok && r->n_ev == r->cap_ev) {
        int nc = r->cap_ev * 2 + 16;
        srv_event *g = realloc(r->ev, (size_t)nc * sizeof *g);
        if (g) r->ev = g, r->cap_ev = nc;
        else ok = false;
    }
    if (ok && info && r->n_lps == r->cap_lps) {
        int nc = r->cap_lps * 2 + 16;
        srv_lp *g = realloc(r->lps, (size_t)nc * sizeof *g);
        if (g) r->lps = g, r->cap_lps = nc;
        else ok = false;
    }
    if (ok) {
        srv_event *ev = &r->ev[r->n_ev++];
        ev->off = r->text_len;
        ev->len = len;
        ev->reasoning = reasoning;
        ev->lp = -1;
        memcpy(r->text + r->text_len, txt, len);
        r->text_len += len;
        r->text[r->text_len] = 0;
        if (info) {
            srv_lp *lp = &r->lps[r->n_lps];
            lp->token = info->token;
            lp->logprob = info->logprob;
            lp->n_top = info->n_top;
            memcpy(lp->top_token, info->top_token, sizeof lp->top_token);
            memcpy(lp->top_logprob, info->top_logprob, sizeof lp->top_logprob);
            ev->lp = r->n_lps++;
        }
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Route text after stop strings: reasoning (<think> ... </think>, chat
 * only) or content. The token's log-probabilities go with the last event. */
static void route(srv_req *r, const char *txt, size_t len, const sg_sample_info *info, bool final)
{
    if (!r->rs) {
        emit(r, txt, len, false, info);
        return;
    }
    sg_reasoning_delta d = {0};
    if (len) sg_reasoning_feed(r->rs, txt, len, &d);
    if (final) {
        emit(r, d.reasoning, d.reasoning_len, true, NULL);
        emit(r, d.content, d.content_len, false, NULL);
        sg_reasoning_finish(r->rs, &d);
    }
    bool has_content = d.content_len > 0;
    emit(r, d.reasoning, d.reasoning_len, true, has_content ? NULL : info);
    emit(r, d.content, d.content_len, false, has_content ? info : NULL);
}

static void push_text(srv_req *r, const char *piece, size_t len, const sg_sample_info *info)
{
    const char *out = "";
    size_t n = 0;
    /* an empty piece changes nothing (and sg_stop_push would hand memmem a
     * NULL buffer while nothing is held: UBSan flags it in src/infer/stop.c) */
    if (len) sg_stop_push(r->stop, piece, len, &out, &n);
    route(r, out, n, info, false);
}

/* Final text: the detokenizer's and the stop matcher's held-back bytes. */
static void flush_text(srv_req *r)
{
    size_t n;
    const char *s = srv_detok_flush(r->detok, &n);
    if (n) push_text(r, s, n, NULL);
    sg_stop_flush(r->stop, &s, &n);
    route(r, s, n, NULL, true);
}

/* Mark a request finished and wake its handler (any thread). */
static void complete(srv_sched *s, srv_req *r, const char *reason, int status, const char *msg)
{
    if (!status && r->n_gen + r->n_prompt > 0) flush_text(r);
    pthread_mutex_lock(&r->mu);
    r->finish = reason;
    r->err_status = status;
    if (msg) snprintf(r->err_msg, sizeof r->err_msg, "%s", msg);
    r->state = SRV_DONE;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (!status) {
        srv_metrics_tokens(s->m, r->n_prompt, r->n_gen, r->n_cached);
        srv_metrics_duration(s->m, srv_now() - r->t_arrival);
    }
}

/* ---------------------------------------------------------------- slots */

static int lcp(const int32_t *a, int na, const int32_t *b, int nb)
{
    int n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* Free slot i; keep its cache for prefix reuse unless told to drop it. */
static void release(srv_sched *s, int i, bool keep)
{
    slot *sl = &s->slots[i];
    srv_req *r = sl->r;
    sl->r = NULL;
    sl->n_cache = 0;
    if (keep && r && r->n_kv > 0) {
        memcpy(sl->cache, r->toks, (size_t)r->n_kv * sizeof *r->toks);
        sl->n_cache = r->n_kv;
    } else {
        sg_kv_truncate(s->ctx, i, 0);
    }
    sl->last_used = ++s->use_counter;
    if (r) r->slot = -1;
    pthread_mutex_lock(&s->mu);
    s->n_running--;
    pthread_mutex_unlock(&s->mu);
}

static void finish(srv_sched *s, srv_req *r, const char *reason, int status, const char *msg)
{
    bool keep = !status && !atomic_load(&r->cancelled);
    s->hold = false;
    if (r->slot >= 0) release(s, r->slot, keep);
    complete(s, r, reason, status, msg);
    srv_req_unref(r);
}

/* Put r in a free slot, reusing the longest cached prefix of its tokens. */
static void admit(srv_sched *s, srv_req *r)
{
    int cap = r->n_toks - 1; /* at least one token is computed: its logits */
    int best = -1, best_len = -1;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->r) continue;
        int l = lcp(sl->cache, sl->n_cache, r->toks, cap);
        if (l > best_len || (l == best_len && sl->last_used < s->slots[best].last_used)) best = i, best_len = l;
    }
    int src = -1, src_len = 0;
    for (int i = 0; i < s->n_slots; i++) {
        srv_req *o = s->slots[i].r;
        if (!o) continue;
        int l = lcp(o->toks, o->n_kv, r->toks, cap);
        if (l > src_len) src = i, src_len = l;
    }
    slot *sl = &s->slots[best];
    int reuse = best_len;
    if (src >= 0 && src_len > best_len + 15) { /* worth at least one block */
        if (sg_kv_share(s->ctx, src, best, src_len, NULL) == SG_OK)
            reuse = src_len;
        else
            sg_kv_truncate(s->ctx, best, 0), reuse = 0;
    } else {
        sg_kv_truncate(s->ctx, best, reuse);
    }
    sl->n_cache = 0;
    sl->r = r;
    r->slot = best;
    r->n_kv = reuse;
    if (r->n_gen == 0) r->n_cached = reuse;
    r->admit_seq = ++s->admit_counter;
    pthread_mutex_lock(&r->mu); /* the handler reads state under r->mu */
    r->state = SRV_RUNNING;
    pthread_mutex_unlock(&r->mu);
    s->n_running++; /* under s->mu (admission runs with the lock held) */
}

/* ------------------------------------------------------------- sampling */

static bool accept_token(srv_sched *s, srv_req *r, const float *logits)
{
    sg_sample_info info;
    bool want_lp = r->p.logprobs;
    if (r->jc) {
        memcpy(s->scratch, logits, (size_t)s->n_vocab * sizeof *logits);
        srv_jsonc_mask(r->jc, s->scratch);
        logits = s->scratch;
    }
    int32_t t = sg_sampler_sample(r->sampler, logits, want_lp ? &info : NULL);
    if (t < 0) {
        finish(s, r, NULL, 500, "no token can be sampled (every logit is -inf or NaN)");
        return false;
    }
    sg_sampler_accept(r->sampler, t);
    double now = srv_now();
    if (r->n_gen == 0) {
        r->t_first = now;
        srv_metrics_ttft(s->m, now - r->t_arrival);
    } else {
        srv_metrics_itl(s->m, now - r->t_last);
    }
    r->t_last = now;
    if (srv_text_is_eog(s->text, t) && !r->jc) {
        finish(s, r, "stop", 0, NULL);
        return false;
    }
    r->toks[r->n_toks++] = t;
    r->n_gen++;
    if (r->jc) srv_jsonc_accept(r->jc, t);
    size_t n;
    const char *piece = srv_detok_push(r->detok, t, &n);
    push_text(r, piece, n, want_lp ? &info : NULL);
    if (sg_stop_which(r->stop) >= 0 || (r->jc && srv_jsonc_done(r->jc))) {
        finish(s, r, "stop", 0, NULL);
        return false;
    }
    if (r->n_gen >= r->p.max_tokens || r->n_toks >= s->n_ctx) {
        finish(s, r, "length", 0, NULL);
        return false;
    }
    return true;
}

/* --------------------------------------------------------------- a step */

/* Drop idle prefix caches; true when any blocks were freed. */
static bool evict_idle(srv_sched *s)
{
    bool any = false;
    for (int i = 0; i < s->n_slots; i++)
        if (!s->slots[i].r && sg_kv_len(s->ctx, i) > 0) {
            sg_kv_truncate(s->ctx, i, 0);
            s->slots[i].n_cache = 0;
            any = true;
        }
    return any;
}

/* Preempt the youngest running request back to the queue head. */
static bool preempt(srv_sched *s)
{
    int v = -1, n_run = 0;
    for (int i = 0; i < s->n_slots; i++) {
        srv_req *r = s->slots[i].r;
        if (!r) continue;
        n_run++;
        if (v < 0 || r->admit_seq > s->slots[v].r->admit_seq) v = i;
    }
    if (n_run < 2) return false;
    srv_req *r = s->slots[v].r;
    release(s, v, false);
    r->n_kv = 0;
    pthread_mutex_lock(&r->mu);
    r->state = SRV_QUEUED;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_lock(&s->mu);
    r->next = s->head;
    s->head = r;
    if (!s->tail) s->tail = r;
    s->n_queued++;
    pthread_mutex_unlock(&s->mu);
    srv_metrics_preempt(s->m);
    s->hold = true;
    return true;
}

static void step(srv_sched *s)
{
    double now = srv_now();
    /* the shutdown flag and deadline are set by srv_sched_drain under s->mu */
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping;
    double deadline = s->deadline;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_slots; i++) {
        srv_req *r = s->slots[i].r;
        if (!r) continue;
        if (atomic_load(&r->cancelled))
            finish(s, r, NULL, 499, "client disconnected");
        else if (stopping && now > deadline)
            finish(s, r, NULL, 503, "the server is shutting down");
    }

    /* order: decoding sequences first, then prefills oldest first */
    int order[4096], n_order = 0;
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].r) order[n_order++] = i;
    if (!n_order) return;
    for (int a = 1; a < n_order; a++) { /* insertion sort by (prefill?, admit_seq) */
        int x = order[a], b = a - 1;
        srv_req *rx = s->slots[x].r;
        uint64_t kx = ((uint64_t)(rx->n_toks - rx->n_kv > 1) << 63) | rx->admit_seq;
        while (b >= 0) {
            srv_req *rb = s->slots[order[b]].r;
            uint64_t kb = ((uint64_t)(rb->n_toks - rb->n_kv > 1) << 63) | rb->admit_seq;
            if (kb <= kx) break;
            order[b + 1] = order[b];
            b--;
        }
        order[b + 1] = x;
    }
    int nb = 0, n_entries = 0;
    for (int k = 0; k < n_order && nb < s->n_batch; k++) {
        int i = order[k];
        srv_req *r = s->slots[i].r;
        int take = r->n_toks - r->n_kv;
        if (take > s->n_batch - nb) take = s->n_batch - nb;
        for (int j = 0; j < take; j++) {
            s->btok[nb + j] = r->toks[r->n_kv + j];
            s->bpos[nb + j] = r->n_kv + j;
            s->bseq[nb + j] = i;
            s->bwant[nb + j] = 0;
        }
        nb += take;
        if (r->n_kv + take == r->n_toks) s->bwant[nb - 1] = 1;
        s->bslot[n_entries] = i;
        s->bcount[n_entries++] = take;
    }
    sg_batch b = {.n_tokens = nb, .token = s->btok, .pos = s->bpos, .seq = s->bseq, .want_logits = s->bwant};
    sg_error err = {0};
    if (sg_forward(s->ctx, &b, &err) != SG_OK) {
        if (err.code == SG_ERR_NOMEM && !strncmp(err.msg, "KV cache full", 13)) {
            if (evict_idle(s) || preempt(s)) return; /* retry next step */
        }
        fprintf(stderr, "stargate: forward step failed: %s\n", err.msg);
        for (int k = 0; k < n_entries; k++) {
            srv_req *r = s->slots[s->bslot[k]].r;
            if (r) finish(s, r, NULL, 500, err.msg);
        }
        return;
    }
    int li = 0;
    for (int k = 0; k < n_entries; k++) {
        srv_req *r = s->slots[s->bslot[k]].r;
        r->n_kv += s->bcount[k];
        if (r->n_kv == r->n_toks) accept_token(s, r, sg_ctx_logits(s->ctx, li++));
    }
}

/* Blocks free now plus those idle prefix caches hold (an estimate: shared
 * blocks are counted once per holder). */
static int kv_room_blocks(srv_sched *s)
{
    int used, total;
    sg_kv_usage(s->ctx, &used, &total);
    int room = total - used;
    for (int i = 0; i < s->n_slots; i++)
        if (!s->slots[i].r) room += (sg_kv_len(s->ctx, i) + 15) / 16;
    return room;
}

static void *engine(void *arg)
{
    srv_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->exit && !s->head && s->n_running == 0) pthread_cond_wait(&s->cv, &s->mu);
        if (s->exit && !s->head && s->n_running == 0) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        int n_free = s->n_slots - s->n_running;
        if (s->hold && s->n_running > 0) n_free = 0;
        int kv_room = kv_room_blocks(s);
        while (s->head && n_free > 0) {
            srv_req *r = s->head;
            /* admit only what the KV pool can take (the first one always) */
            int need = (r->n_toks + 15) / 16 + 1;
            if (s->n_running > 0 && need > kv_room && !atomic_load(&r->cancelled)) break;
            kv_room -= need;
            s->head = r->next;
            if (!s->head) s->tail = NULL;
            r->next = NULL;
            s->n_queued--;
            if (atomic_load(&r->cancelled)) {
                pthread_mutex_unlock(&s->mu);
                complete(s, r, NULL, 499, "client disconnected");
                srv_req_unref(r);
                pthread_mutex_lock(&s->mu);
                continue;
            }
            admit(s, r);
            n_free--;
        }
        pthread_mutex_unlock(&s->mu);
        step(s);
        int used, total;
        sg_kv_usage(s->ctx, &used, &total);
        atomic_store(&s->kv_used, used);
        atomic_store(&s->kv_total, total);
    }
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

sg_status srv_sched_new(sg_ctx *ctx, const srv_text *text, srv_metrics *m, const srv_sched_params *p,
                        srv_sched **out, sg_error *err)
{
    srv_sched *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->ctx = ctx;
    s->text = text;
    s->m = m;
    s->n_slots = p->parallel;
    s->n_batch = sg_ctx_n_batch(ctx);
    s->n_ctx = sg_ctx_n_ctx(ctx);
    s->queue_max = p->queue_max;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (s->n_slots > 4096) s->n_slots = 4096;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    if (!s->slots) goto oom;
    for (int i = 0; i < s->n_slots; i++)
        if (!(s->slots[i].cache = malloc((size_t)s->n_ctx * sizeof(int32_t)))) goto oom;
    size_t nb = (size_t)s->n_batch;
    s->btok = malloc(nb * sizeof(int32_t));
    s->bpos = malloc(nb * sizeof(int32_t));
    s->bseq = malloc(nb * sizeof(int32_t));
    s->bslot = malloc((size_t)s->n_slots * sizeof(int32_t));
    s->bcount = malloc((size_t)s->n_slots * sizeof(int32_t));
    s->bwant = malloc(nb);
    if (!s->btok || !s->bpos || !s->bseq || !s->bslot || !s->bcount || !s->bwant) goto oom;
    *out = s;
    return SG_OK;
oom:
    srv_sched_free(s);
    if (err) {
        err->code = SG_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory for the scheduler");
    }
    return SG_ERR_NOMEM;
}

sg_status srv_sched_start(srv_sched *s, int n_vocab, sg_error *err)
{
    s->n_vocab = n_vocab;
    s->scratch = malloc((size_t)n_vocab * sizeof(float));
    if (!s->scratch || pthread_create(&s->th, NULL, engine, s)) {
        if (err) {
            err->code = SG_ERR_NOMEM;
            snprintf(err->msg, sizeof err->msg, "cannot start the engine thread");
        }
        return SG_ERR_NOMEM;
    }
    s->started = true;
    int used, total;
    sg_kv_usage(s->ctx, &used, &total);
    atomic_store(&s->kv_used, used);
    atomic_store(&s->kv_total, total);
    return SG_OK;
}

bool srv_sched_submit(srv_sched *s, srv_req *r)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->n_queued >= s->queue_max) {
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    atomic_fetch_add(&r->refs, 1);
    r->next = NULL;
    if (s->tail) s->tail->next = r;
    else s->head = r;
    s->tail = r;
    s->n_queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

void srv_sched_drain(srv_sched *s, double grace)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    s->deadline = srv_now() + grace;
    srv_req *r = s->head;
    s->head = s->tail = NULL;
    s->n_queued = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    while (r) {
        srv_req *next = r->next;
        complete(s, r, NULL, 503, "the server is shutting down");
        srv_req_unref(r);
        r = next;
    }
}

void srv_sched_load(srv_sched *s, int *queued, int *running)
{
    pthread_mutex_lock(&s->mu);
    *queued = s->n_queued;
    *running = s->n_running;
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_kv(srv_sched *s, int *used, int *total)
{
    *used = atomic_load(&s->kv_used);
    *total = atomic_load(&s->kv_total);
}

void srv_sched_free(srv_sched *s)
{
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->exit = true;
        s->stopping = true;
        s->deadline = 0;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    while (s->head) { /* requests submitted after drain began */
        srv_req *r = s->head;
        s->head = r->next;
        complete(s, r, NULL, 503, "the server is shutting down");
        srv_req_unref(r);
    }
    if (s->slots)
        for (int i = 0; i < s->n_slots; i++) free(s->slots[i].cache);
    free(s->slots);
    free(s->btok);
    free(s->bpos);
    free(s->bseq);
    free(s->bslot);
    free(s->bcount);
    free(s->bwant);
    free(s->scratch);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
