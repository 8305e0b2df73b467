/*
 * metrics.c -- counters and histograms for GET /metrics (Prometheus text
 * exposition format 0.0.4).
 *
 * Everything sits behind one mutex: updates are a few per token at most,
 * far below what would make the lock matter. Histograms use fixed bucket
 * bounds in seconds (cumulative counts are computed when rendering).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

static const double ttft_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double itl_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const double dur_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

#define NB_MAX 16
#define N_STATUS 12

typedef struct hist {
    const double *bounds;
    int nb;
    uint64_t count[NB_MAX + 1]; /* last: +Inf */
    uint64_t n;
    double sum;
} hist;

struct srv_metrics {
    pthread_mutex_t mu;
    int status_code[N_STATUS];
    uint64_t status_count[N_STATUS];
    uint64_t prompt_tokens, gen_tokens, cached_tokens, preemptions;
    hist ttft, itl, dur;
};

#define NB(a) ((int)(sizeof(a) / sizeof((a)[0])))

srv_metrics *srv_metrics_new(void)
{
    srv_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->ttft = (hist){.bounds = ttft_bounds, .nb = NB(ttft_bounds)};
    m->itl = (hist){.bounds = itl_bounds, .nb = NB(itl_bounds)};
    m->dur = (hist){.bounds = dur_bounds, .nb = NB(dur_bounds)};
    return m;
}

void srv_metrics_free(srv_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void srv_metrics_request(srv_metrics *m, int status)
{
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < N_STATUS; i++) {
        if (m->status_code[i] == status || m->status_code[i] == 0) {
            m->status_code[i] = status;
            m->status_count[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_tokens(srv_metrics *m, int prompt, int generated, int cached)
{
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += (uint64_t)prompt;
    m->gen_tokens += (uint64_t)generated;
    m->cached_tokens += (uint64_t)cached;
    pthread_mutex_unlock(&m->mu);
}

static void observe(srv_metrics *m, hist *h, double v)
{
    pthread_mutex_lock(&m->mu);
    int i = 0;
    while (i < h->nb && v > h->bounds[i]) i++;
    h->count[i]++;
    h->n++;
    h->sum += v;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_ttft(srv_metrics *m, double s) { observe(m, &m->ttft, s); }
void srv_metrics_itl(srv_metrics *m, double s) { observe(m, &m->itl, s); }
void srv_metrics_duration(srv_metrics *m, double s) { observe(m, &m->dur, s); }

void srv_metrics_preempt(srv_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->preemptions++;
    pthread_mutex_unlock(&m->mu);
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)k + 256;
        char *g = realloc(b->s, nc);
        if (!g) {
            b->oom = true;
            return;
        }
        b->s = g;
        b->cap = nc;
    }
}

static void render_hist(sbuf *b, const char *name, const char *help, const hist *h)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < h->nb; i++) {
        cum += h->count[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
    }
    cum += h->count[h->nb];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum, name,
              h->sum, name, (unsigned long long)h->n);
}

char *srv_metrics_render(srv_metrics *m, int queued, int running, int kv_used, int kv_total)
{
    sbuf b = {.s = malloc(4096), .cap = 4096};
    if (!b.s) return NULL;
    b.s[0] = 0;
    pthread_mutex_lock(&m->mu);
    sb_printf(&b, "# HELP stargate_requests_total HTTP requests answered, by status code.\n"
                  "# TYPE stargate_requests_total counter\n");
    for (int i = 0; i < N_STATUS && m->status_code[i]; i++)
        sb_printf(&b, "stargate_requests_total{status=\"%d\"} %llu\n", m->status_code[i],
                  (unsigned long long)m->status_count[i]);
    sb_printf(&b,
              "# HELP stargate_prompt_tokens_total Prompt tokens of accepted requests.\n"
              "# TYPE stargate_prompt_tokens_total counter\nstargate_prompt_tokens_total %llu\n"
              "# HELP stargate_generation_tokens_total Tokens generated.\n"
              "# TYPE stargate_generation_tokens_total counter\nstargate_generation_tokens_total %llu\n"
              "# HELP stargate_prefix_cache_hit_tokens_total Prompt tokens reused from the KV cache.\n"
              "# TYPE stargate_prefix_cache_hit_tokens_total counter\nstargate_prefix_cache_hit_tokens_total %llu\n"
              "# HELP stargate_preemptions_total Sequences preempted because the KV cache was full.\n"
              "# TYPE stargate_preemptions_total counter\nstargate_preemptions_total %llu\n",
              (unsigned long long)m->prompt_tokens, (unsigned long long)m->gen_tokens,
              (unsigned long long)m->cached_tokens, (unsigned long long)m->preemptions);
    sb_printf(&b,
              "# HELP stargate_queue_depth Requests waiting for a sequence slot.\n"
              "# TYPE stargate_queue_depth gauge\nstargate_queue_depth %d\n"
              "# HELP stargate_running_sequences Sequences being prefilled or decoded.\n"
              "# TYPE stargate_running_sequences gauge\nstargate_running_sequences %d\n"
              "# HELP stargate_kv_cache_blocks_used KV cache blocks in use (16 positions each).\n"
              "# TYPE stargate_kv_cache_blocks_used gauge\nstargate_kv_cache_blocks_used %d\n"
              "# HELP stargate_kv_cache_blocks_total KV cache blocks in the pool.\n"
              "# TYPE stargate_kv_cache_blocks_total gauge\nstargate_kv_cache_blocks_total %d\n"
              "# HELP stargate_kv_cache_usage_ratio Fraction of KV cache blocks in use.\n"
              "# TYPE stargate_kv_cache_usage_ratio gauge\nstargate_kv_cache_usage_ratio %.4f\n",
              queued, running, kv_used, kv_total, kv_total > 0 ? (double)kv_used / kv_total : 0.0);
    render_hist(&b, "stargate_time_to_first_token_seconds", "Time from arrival to the first generated token.",
                &m->ttft);
    render_hist(&b, "stargate_inter_token_latency_seconds", "Time between consecutive generated tokens.", &m->itl);
    render_hist(&b, "stargate_request_duration_seconds", "Time from arrival to the last token.", &m->dur);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
