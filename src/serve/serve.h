/*
 * serve.h -- the OpenAI-compatible HTTP server, internal interfaces.
 *
 * Threads and data flow:
 *
 *   libmicrohttpd, one thread per connection (http.c)
 *     body ─► srv_parse_request (api.c, pure) ─► prompt tokens (text.c)
 *          ─► srv_submit ─────────────────► pending queue
 *                                               │
 *   engine thread (scheduler.c) owns sg_ctx ◄───┘
 *     loop: admit pending into free slots (prefix reuse with sg_kv_share)
 *           ─► one sg_forward over every running sequence: a decode token
 *              each, plus chunks of prompts still being prefilled
 *           ─► sample ─► detokenize ─► stop strings ─► srv_req events
 *                                               │
 *   handler thread waits on the request's condvar ◄┘ ─► JSON or SSE chunks
 *
 * A request is reference-counted: the handler and the engine each hold one
 * reference. The handler marks it cancelled when the client goes away; the
 * engine then frees its sequence before the next step.
 */
#ifndef SG_SERVE_H
#define SG_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stargate.h"

/* ------------------------------------------------------------ server API */

typedef struct srv_params {
    const char *model_path;
    const char *host;        /* default 127.0.0.1                                 */
    int port;                /* default 8080; 0 picks a free port                 */
    int parallel;            /* sequences decoded together (default 4)            */
    int n_ctx;               /* positions per sequence (0: min(model, 4096))      */
    int n_threads;           /* compute threads (0: physical cores)               */
    int n_batch;             /* tokens per forward step (default 256)             */
    int n_kv_blocks;         /* 0: a quarter of worst case, at least one full ctx */
    int queue_max;           /* waiting requests before 503 (default 256)         */
    size_t body_max;         /* request body limit in bytes (default 4 MiB)       */
    int http_timeout;        /* idle connection timeout, seconds (default 30)     */
    int max_connections;     /* default 512                                        */
    int grace_seconds;       /* shutdown: in-flight requests may finish (default 10) */
    const char *alias;       /* model id in the API (default: file name)           */
    const char *port_file;   /* write the bound port here once listening (tests)   */
    bool quiet;
    bool batch_invariant;    /* default true: batching never changes results    */
    bool q8_activations;     /* 8-bit activations for quantized weights (default false) */
    /* deployments (issue 6) */
    const char *db_url;      /* store: SQLite file or postgresql:// URL (default:
                                $STARGATE_HOME/stargate.db)                        */
    const char *deploy_dir;  /* deployment profiles (*.json); NULL: none          */
    bool no_auth;            /* local mode even when keys exist (announced)        */
    bool log_requests;       /* one log line per request (tenant, deployment,
                                tokens); with the user's text redacted as the
                                deployment says                                 */
} srv_params;

srv_params srv_default_params(void);
/* Load the model, listen, serve until SIGINT/SIGTERM; 0 on clean exit. */
int srv_run(const srv_params *p, sg_error *err);

/* ------------------------------------------------------------- requests */

typedef enum srv_kind { SRV_CHAT = 0, SRV_COMPLETION = 1 } srv_kind;

#define SRV_MAX_STOPS 64
#define SRV_MAX_STOP_LEN 512
#define SRV_MAX_MESSAGES 4096
#define SRV_MAX_BIAS 1024

typedef struct srv_message {
    char *role;     /* system, user, assistant, developer, tool */
    char *content;  /* text parts concatenated                  */
} srv_message;

/* A validated request, everything the scheduler needs, no JSON left. */
typedef struct srv_request_params {
    srv_kind kind;
    char *model;
    srv_message *messages; /* chat */
    int n_messages;
    char *prompt_text;     /* completion with a string prompt  */
    int32_t *prompt_ids;   /* completion with token ids         */
    int n_prompt_ids;
    int max_tokens;        /* -1: up to the context             */
    bool stream, include_usage, echo;
    bool logprobs;
    int top_logprobs;
    bool json_mode;        /* response_format json_object        */
    char **stops;
    int n_stops;
    sg_sampler_params sp;  /* logit_bias points into bias[]      */
    sg_logit_bias *bias;
    int n_bias;
    char *user;
    char *conversation_id; /* continue a stored conversation      */
    unsigned set;          /* SRV_SET_* fields the body gave       */
} srv_request_params;

enum {
    SRV_SET_TEMPERATURE = 1u << 0,
    SRV_SET_TOP_P = 1u << 1,
    SRV_SET_TOP_K = 1u << 2,
    SRV_SET_MIN_P = 1u << 3,
    SRV_SET_MAX_TOKENS = 1u << 4,
};

/* An OpenAI-style error: HTTP status and the "error" object's fields. */
typedef struct srv_error {
    int status;
    const char *type;  /* invalid_request_error, server_error, ... */
    char param[64];
    const char *code;  /* may be NULL */
    char message[512];
    int retry_after;   /* 429/503: Retry-After seconds (0: 1) */
} srv_error;

void srv_error_set(srv_error *e, int status, const char *type, const char *param, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* {"error":{...}} as a malloc'd string. */
char *srv_error_json(const srv_error *e);

/* Parse and validate a request body (pure: no server state). n_vocab bounds
 * token ids and logit_bias keys. Returns false with *e filled. */
bool srv_parse_request(srv_kind kind, const char *body, size_t len, int n_vocab, srv_request_params *out,
                       srv_error *e);
void srv_request_params_free(srv_request_params *p);
/* Valid UTF-8 without NUL bytes? */
bool srv_utf8_valid(const char *s, size_t n);

/* ----------------------------------------------------- text and prompts */

typedef struct srv_text srv_text;

sg_status srv_text_new(sg_model *m, srv_text **out, sg_error *err);
void srv_text_free(srv_text *t);
bool srv_text_has_tokenizer(const srv_text *t);
bool srv_text_reasoning(const srv_text *t); /* template opens a <think> block */
/* Encode text; special = control tokens in the text become their ids. */
sg_status srv_text_encode(const srv_text *t, const char *s, size_t n, bool special, int32_t **ids, int *n_ids,
                          sg_error *err);
/* A completion's text prompt: BOS (and EOS) where the vocabulary's metadata
 * asks for them, as llama.cpp's and vLLM's servers do; text stays text. */
sg_status srv_text_encode_prompt(const srv_text *t, const char *s, size_t n, int32_t **ids, int *n_ids,
                                 sg_error *err);
/* Render chat messages into prompt tokens (template scaffold parsed with
 * special tokens, message contents never). */
sg_status srv_text_chat(const srv_text *t, const srv_message *msgs, int n, int32_t **ids, int *n_ids,
                        bool *in_reasoning, sg_error *err);
bool srv_text_is_eog(const srv_text *t, int32_t id);
/* The bytes a token adds to the output; NULL for control tokens and when
 * there is no tokenizer (JSON mode allows only these tokens). */
const char *srv_text_token_bytes(const srv_text *t, int32_t id, size_t *len);
/* The bytes of one token (for logprobs); buf is used when nothing is stored. */
const char *srv_text_piece(const srv_text *t, int32_t id, char *buf, size_t cap, size_t *len);

typedef struct srv_detok srv_detok;
srv_detok *srv_detok_new(const srv_text *t);
/* Complete UTF-8 text produced by this token (may be empty). */
const char *srv_detok_push(srv_detok *d, int32_t id, size_t *len);
const char *srv_detok_flush(srv_detok *d, size_t *len);
void srv_detok_free(srv_detok *d);

/* --------------------------------------------------------- token events */

typedef struct srv_lp {
    int32_t token;
    float logprob;
    int n_top;
    int32_t top_token[SG_MAX_LOGPROBS];
    float top_logprob[SG_MAX_LOGPROBS];
} srv_lp;

/* One step of output: text (content or reasoning) and, when asked, the
 * log-probabilities of the token that produced it. */
typedef struct srv_event {
    size_t off, len;   /* into srv_req.text                  */
    bool reasoning;
    int lp;            /* index into srv_req.lps, -1: none  */
} srv_event;

typedef enum srv_state { SRV_QUEUED = 0, SRV_RUNNING, SRV_DONE } srv_state;

typedef struct srv_req {
    atomic_int refs;
    atomic_bool cancelled;     /* handler: the client went away            */
    srv_request_params p;
    uint64_t id;
    double t_arrival, t_first, t_last;

    /* engine-side state (engine thread only) */
    int32_t *toks;             /* prompt, then generated tokens             */
    int n_toks, cap_toks, n_prompt;
    int n_kv;                  /* positions of toks in the KV cache         */
    int slot;                  /* -1 when not running                       */
    int n_gen, n_cached;
    uint64_t admit_seq;
    sg_sampler *sampler;
    srv_detok *detok;
    sg_stop *stop;
    sg_reasoning *rs;          /* chat: <think> splitter                    */
    struct srv_jsonc *jc;      /* JSON mode constraint, or NULL             */

    /* shared with the handler, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_state state;
    char *text;
    size_t text_len, text_cap;
    srv_event *ev;
    int n_ev, cap_ev;
    srv_lp *lps;
    int n_lps, cap_lps;
    const char *finish;        /* "stop", "length", NULL while running      */
    int err_status;            /* non-zero: failed (HTTP status)            */
    char err_msg[256];

    struct srv_req *next;      /* pending queue link                         */
} srv_req;

void srv_req_unref(srv_req *r);
/* A finished request that never reaches the engine (a policy refusal): its
 * whole output is `text`, with finish_reason `finish`. Takes *p's contents. */
srv_req *srv_req_canned(srv_request_params *p, int n_prompt, const char *text, const char *finish);
/* The content (reasoning=false) or reasoning text of a request's events, as
 * a malloc'd string. Call with r->mu held or after the request is done. */
char *srv_req_gather(const srv_req *r, bool reasoning);

/* --------------------------------------------------------- the scheduler */

typedef struct srv_metrics srv_metrics;
typedef struct srv_sched srv_sched;

typedef struct srv_sched_params {
    int parallel, n_batch, queue_max;
} srv_sched_params;

sg_status srv_sched_new(sg_ctx *ctx, const srv_text *text, srv_metrics *m, const srv_sched_params *p,
                        srv_sched **out, sg_error *err);
sg_status srv_sched_start(srv_sched *s, int n_vocab, sg_error *err);
/* A request ready to queue; takes the contents of *p and the malloc'd prompt
 * (even on failure). NULL with *e filled on bad sampling parameters or OOM. */
srv_req *srv_sched_request(srv_sched *s, srv_request_params *p, int32_t *prompt, int n_prompt, int max_tokens,
                           bool in_reasoning, srv_error *e);
/* Queue a request (takes a reference). false: queue full or stopping. */
bool srv_sched_submit(srv_sched *s, srv_req *r);
/* Stop admitting; fail queued requests; running ones get `grace` seconds. */
void srv_sched_drain(srv_sched *s, double grace);
void srv_sched_free(srv_sched *s); /* joins the engine thread */
void srv_sched_load(srv_sched *s, int *queued, int *running);
void srv_sched_kv(srv_sched *s, int *used, int *total); /* as of the last step */

/* ------------------------------------------------------------- metrics */

srv_metrics *srv_metrics_new(void);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, int status);
void srv_metrics_tokens(srv_metrics *m, int prompt, int generated, int cached);
void srv_metrics_ttft(srv_metrics *m, double s);
void srv_metrics_itl(srv_metrics *m, double s);
void srv_metrics_duration(srv_metrics *m, double s);
void srv_metrics_preempt(srv_metrics *m);
/* Prometheus text exposition into a malloc'd string. */
char *srv_metrics_render(srv_metrics *m, int queued, int running, int kv_used, int kv_total);

/* --------------------------------------------------- JSON mode (logits) */

typedef struct srv_jsonc srv_jsonc;
/* A JSON-object acceptor over the vocabulary's token texts. */
srv_jsonc *srv_jsonc_new(const srv_text *t, int n_vocab);
void srv_jsonc_free(srv_jsonc *j);
/* Set logits of tokens that cannot continue valid JSON to -inf; EOG only
 * when the object is complete. */
void srv_jsonc_mask(srv_jsonc *j, float *logits);
void srv_jsonc_accept(srv_jsonc *j, int32_t token);
bool srv_jsonc_done(const srv_jsonc *j);
/* Is s[0..n) a prefix of one JSON object (*complete: the whole object)? */
bool srv_jsonc_valid_prefix(const char *s, size_t n, bool *complete);

double srv_now(void);

#endif
