/*
 * http.c -- libmicrohttpd glue: routing, limits, handlers.
 *
 * Threading model: MHD_USE_THREAD_PER_CONNECTION. Each connection has its
 * own thread, so a handler may block while its request is generated (a
 * non-streaming answer waits on the request's condvar; a stream's content
 * callback waits for the next token). The alternative, one polling thread
 * with suspend/resume, saves threads but needs a wake-up path from the
 * engine per token and loses disconnect detection while suspended; with a
 * connection limit (--max-connections) the thread count is bounded anyway,
 * and the engine thread, not HTTP, is what is scarce.
 *
 * Disconnects: waits are 100 ms slices; between slices the handler peeks at
 * the socket (recv MSG_PEEK) and a closed peer cancels the request, which
 * makes the engine free the sequence at its next step. A stream's write
 * failing has the same effect through the response's free callback.
 *
 * Limits: bodies over body_max get 413 (from Content-Length at once, or when
 * a chunked upload crosses it; the rest is discarded, never stored); slow
 * clients are cut by MHD's connection timeout; the number of connections is
 * capped; the queue is bounded (503 with Retry-After).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "serve/http.h"
#include "serve/sse.h"
#include "serve/webui.h"

typedef enum route {
    R_NONE = 0,
    R_HEALTH,
    R_MODELS,
    R_METRICS,
    R_CHAT,
    R_COMPLETIONS,
    R_DATA,   /* deployments, conversations, me: tenancy.c */
    R_ASSET,  /* the web chat's files */
} route;

typedef struct conn {
    route rt;
    bool responded;
    bool too_big;
    bool authed;
    srv_principal who;
    char *body;
    size_t len, cap;
} conn;

typedef struct stream {
    srv_server *S;
    srv_req *r;
    int64_t user_id, msg_id; /* stored answer (msg_id 0: none) */
    bool persisted;
    char conv_id[SG_CONV_ID_MAX];
    bool keyed;               /* usage is accounted to who.key at the end */
    srv_principal who;
    const sg_deployment *dep;
    struct MHD_Connection *c;
    srv_resp_info ri;
    srv_buf out;
    size_t off;
    int ev_read;
    size_t text_off;
    bool started, done;
} stream;

static enum MHD_Result respond_ra(srv_server *S, struct MHD_Connection *c, int status, const char *ctype, char *body,
                                  int retry_after)
{
    if (!body) {
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        status = 500;
        ctype = "application/json";
        if (!body) return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    if (status == 503 || status == 429) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", retry_after > 0 ? retry_after : 1);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    srv_metrics_request(S->metrics, status);
    return ret;
}

static enum MHD_Result respond(srv_server *S, struct MHD_Connection *c, int status, const char *ctype, char *body)
{
    return respond_ra(S, c, status, ctype, body, 0);
}

static enum MHD_Result respond_error(srv_server *S, struct MHD_Connection *c, const srv_error *e)
{
    return respond_ra(S, c, e->status, "application/json", srv_error_json(e), e->retry_after);
}

static enum MHD_Result respond_json(srv_server *S, struct MHD_Connection *c, int status, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return respond(S, c, status, "application/json", s);
}

/* Has the peer closed its end? (Pipelined bytes count as alive.) */
static bool client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    char b;
    ssize_t k = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Wait up to 100 ms for news on r; call with r->mu held. */
static void wait_slice(srv_req *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

static void resp_info(srv_server *S, srv_req *r, srv_resp_info *ri)
{
    memset(ri, 0, sizeof *ri);
    ri->kind = r->p.kind;
    snprintf(ri->id, sizeof ri->id, "%s-%llu", r->p.kind == SRV_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)r->id);
    ri->created = time(NULL);
    ri->model = S->model_id;
    ri->text = S->text;
    ri->reasoning = srv_text_reasoning(S->text);
    ri->include_usage = r->p.include_usage;
}

/* ----------------------------------------------------------- streaming */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    srv_req *r = st->r;
    for (;;) {
        if (st->off < st->out.len) {
            size_t n = st->out.len - st->off < max ? st->out.len - st->off : max;
            memcpy(buf, st->out.s + st->off, n);
            st->off += n;
            return (ssize_t)n;
        }
        if (st->done) return MHD_CONTENT_READER_END_OF_STREAM;
        st->out.len = st->off = 0;
        if (!st->started) {
            st->started = true;
            if (!srv_format_role_chunk(&st->ri, &st->out)) return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        pthread_mutex_lock(&r->mu);
        while (st->ev_read == r->n_ev && r->state != SRV_DONE) {
            wait_slice(r);
            if (st->ev_read == r->n_ev && r->state != SRV_DONE && client_gone(st->c)) {
                pthread_mutex_unlock(&r->mu);
                atomic_store(&r->cancelled, true);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        }
        bool ok = true;
        for (; ok && st->ev_read < r->n_ev; st->ev_read++) {
            ok = srv_format_event_chunk(&st->ri, r, st->ev_read, st->text_off, &st->out);
            st->text_off += r->ev[st->ev_read].len;
        }
        bool finished = ok && r->state == SRV_DONE;
        if (finished) {
            ok = srv_format_final_chunks(&st->ri, r, &st->out);
            st->done = true;
        }
        pthread_mutex_unlock(&r->mu);
        /* the answer is stored before the client sees its end: what a client
         * saw complete is complete in the store */
        if (finished && st->msg_id && !st->persisted) {
            srv_conversation_end(st->S, st->user_id, st->msg_id, r);
            st->persisted = true;
        }
        if (!ok) {
            atomic_store(&r->cancelled, true);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls)
{
    stream *st = cls;
    if (!st->done) atomic_store(&st->r->cancelled, true);
    if (st->msg_id && !st->persisted) { /* cut: keep what was said, marked interrupted */
        pthread_mutex_lock(&st->r->mu);
        srv_conversation_end(st->S, st->user_id, st->msg_id, st->r);
        pthread_mutex_unlock(&st->r->mu);
    }
    if (st->keyed) {
        if (st->done) srv_account(st->S, &st->who, st->dep, st->r);
        srv_principal_free(&st->who);
    }
    atomic_fetch_sub(&st->S->active_streams, 1);
    srv_req_unref(st->r);
    free(st->out.s);
    free(st);
}

/* ------------------------------------------------------------ generation */

/* Queue a 200 event stream (headers for SSE through proxies too). */
static enum MHD_Result queue_sse(srv_server *S, struct MHD_Connection *c, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    srv_metrics_request(S->metrics, 200);
    return ret;
}

static enum MHD_Result fail_request(srv_server *S, struct MHD_Connection *c, srv_request_params *p, int32_t *ids,
                                    int64_t user_id, int64_t msg_id, const srv_error *e)
{
    free(ids);
    srv_request_params_free(p);
    if (msg_id) { /* the stored answer will never come */
        sg_error err = {0};
        sg_store_msg_finish(S->store, user_id, msg_id, "", NULL, SG_MSG_INTERRUPTED, &err);
    }
    return respond_error(S, c, e);
}

/* One log line per request, when asked; the user's last message redacted
 * when the deployment says so. Keys are never logged, only their prefix. */
static void log_request(srv_server *S, const srv_principal *who, const sg_deployment *d, const srv_request_params *p,
                        const char *what)
{
    if (!S->p.log_requests || S->p.quiet) return;
    const char *text = "";
    for (int i = p->n_messages - 1; i >= 0; i--)
        if (!strcmp(p->messages[i].role, "user")) {
            text = p->messages[i].content;
            break;
        }
    if (p->prompt_text) text = p->prompt_text;
    size_t n = strlen(text);
    if (n > 200) n = 200;
    while (n > 0 && n < strlen(text) && ((unsigned char)text[n] & 0xC0) == 0x80) n--; /* whole characters */
    char *shown = d && d->redact_logs ? sg_redact_pii(text, n) : strndup(text, n);
    fprintf(stderr, "stargate: %s tenant=%s user=%s key=%s deployment=%s text=\"%s\"\n", what, who->tenant,
            who->user, who->keyed ? who->key.prefix : "-", d ? d->id : "-", shown ? shown : "");
    free(shown);
}

static enum MHD_Result handle_generate(srv_server *S, struct MHD_Connection *c, const srv_principal *who,
                                       srv_kind kind, const char *body, size_t len)
{
    srv_request_params p;
    srv_error e;
    if (!srv_parse_request(kind, body, len, S->n_vocab, &p, &e)) return respond_error(S, c, &e);

    /* a stored conversation: history in front, the new messages stored, the
     * answer's row created (streaming) */
    int64_t msg_id = 0;
    if (p.conversation_id && !srv_conversation_begin(S, who, &p, &msg_id, &e)) {
        srv_request_params_free(&p);
        return respond_error(S, c, &e);
    }
    char conv_id[SG_CONV_ID_MAX] = "";
    if (p.conversation_id) snprintf(conv_id, sizeof conv_id, "%s", p.conversation_id);

    const sg_deployment *dep = srv_pick_deployment(S, who, p.model);
    if (!srv_apply_deployment(dep, &p)) {
        srv_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        return fail_request(S, c, &p, NULL, who->user_id, msg_id, &e);
    }
    log_request(S, who, dep, &p, kind == SRV_CHAT ? "chat" : "completion");

    /* the deployment's policy answers some requests itself */
    const char *last_user = NULL;
    for (int i = p.n_messages - 1; i >= 0 && !last_user; i--)
        if (!strcmp(p.messages[i].role, "user")) last_user = p.messages[i].content;
    if (!last_user) last_user = p.prompt_text;
    int rule = -1;
    if (dep && last_user && sg_deploy_refuses(dep, last_user, strlen(last_user), &rule)) {
        if (!S->p.quiet && S->p.log_requests)
            fprintf(stderr, "stargate: deployment %s: policy rule %d refused a request\n", dep->id, rule);
        bool stream_mode = p.stream;
        srv_req *r = srv_req_canned(&p, 0, dep->refusal, "content_filter");
        if (!r) {
            srv_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
            return fail_request(S, c, &p, NULL, who->user_id, msg_id, &e);
        }
        if (msg_id) srv_conversation_end(S, who->user_id, msg_id, r);
        srv_resp_info ri;
        resp_info(S, r, &ri);
        ri.conversation_id = conv_id[0] ? conv_id : NULL;
        ri.model = dep->model_alias;
        if (!stream_mode) {
            enum MHD_Result ret = respond(S, c, 200, "application/json", srv_format_response(&ri, r));
            srv_req_unref(r);
            return ret;
        }
        srv_buf out = {0};
        bool ok = srv_format_role_chunk(&ri, &out) && (r->n_ev == 0 || srv_format_event_chunk(&ri, r, 0, 0, &out)) &&
                  srv_format_final_chunks(&ri, r, &out);
        srv_req_unref(r);
        if (!ok) {
            free(out.s);
            return MHD_NO;
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(out.len, out.s, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(out.s);
            return MHD_NO;
        }
        return queue_sse(S, c, resp);
    }

    int32_t *ids = NULL;
    int n = 0;
    sg_error err = {0};
    sg_status st = SG_OK;
    bool in_reasoning = false;
    if (kind == SRV_CHAT) {
        st = srv_text_chat(S->text, p.messages, p.n_messages, &ids, &n, &in_reasoning, &err);
    } else if (p.prompt_text) {
        st = srv_text_encode_prompt(S->text, p.prompt_text, strlen(p.prompt_text), &ids, &n, &err);
    } else {
        ids = p.prompt_ids;
        n = p.n_prompt_ids;
        p.prompt_ids = NULL;
        p.n_prompt_ids = 0;
    }
    const char *param = kind == SRV_CHAT ? "messages" : "prompt";
    if (st != SG_OK) {
        srv_error_set(&e, 400, "invalid_request_error", param, NULL, "cannot tokenize the prompt: %s", err.msg);
        return fail_request(S, c, &p, ids, who->user_id, msg_id, &e);
    }
    if (n == 0) {
        srv_error_set(&e, 400, "invalid_request_error", param, "invalid_value", "the prompt is empty");
        return fail_request(S, c, &p, ids, who->user_id, msg_id, &e);
    }
    if (n >= S->n_ctx) {
        srv_error_set(&e, 400, "invalid_request_error", param, "context_length_exceeded",
                      "This model's maximum context length is %d tokens. However, your prompt has %d tokens, "
                      "which leaves no room for a completion.",
                      S->n_ctx, n);
        return fail_request(S, c, &p, ids, who->user_id, msg_id, &e);
    }
    int mt = p.max_tokens;
    if (mt < 0) {
        mt = S->n_ctx - n;
    } else if ((long long)n + mt > S->n_ctx) {
        if (!(p.set & SRV_SET_MAX_TOKENS)) { /* a deployment's default: fit it */
            mt = S->n_ctx - n;
        } else {
            srv_error_set(&e, 400, "invalid_request_error", "max_tokens", "context_length_exceeded",
                          "This model's maximum context length is %d tokens. However, you requested %lld tokens "
                          "(%d in the prompt, %d for the completion). Please reduce the prompt or max_tokens.",
                          S->n_ctx, (long long)n + mt, n, mt);
            return fail_request(S, c, &p, ids, who->user_id, msg_id, &e);
        }
    }
    if (p.json_mode && !srv_text_has_tokenizer(S->text)) {
        srv_error_set(&e, 400, "invalid_request_error", "response_format", NULL,
                      "response_format json_object needs the model's tokenizer, and this model has none");
        return fail_request(S, c, &p, ids, who->user_id, msg_id, &e);
    }
    bool stream_mode = p.stream;
    /* From here the request may legitimately be silent for longer than the
     * idle timeout (queued, or a long prefill before the first token): the
     * timeout guards the header/body phase (slow clients), our own socket
     * checks guard the rest. on_completed restores it for the next request. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    srv_req *r = srv_sched_request(S->sched, &p, ids, n, mt, in_reasoning, &e);
    if (!r) return fail_request(S, c, &p, NULL, who->user_id, msg_id, &e);
    if (!srv_sched_submit(S->sched, r)) {
        srv_req_unref(r);
        srv_error_set(&e, 503, "server_error", NULL, "overloaded",
                      atomic_load(&S->stopping) ? "the server is shutting down"
                                                : "the server is overloaded: too many requests are queued; retry later");
        return fail_request(S, c, &p, NULL, who->user_id, msg_id, &e);
    }

    if (stream_mode) {
        stream *sm = calloc(1, sizeof *sm);
        if (!sm) {
            atomic_store(&r->cancelled, true);
            srv_req_unref(r);
            return MHD_NO;
        }
        atomic_fetch_add(&S->active_streams, 1);
        sm->S = S;
        sm->r = r;
        sm->c = c;
        sm->user_id = who->user_id;
        sm->msg_id = msg_id;
        resp_info(S, r, &sm->ri);
        if (dep) sm->ri.model = dep->model_alias; /* the deployment answers, by its model id */
        if (conv_id[0]) {
            snprintf(sm->conv_id, sizeof sm->conv_id, "%s", conv_id);
            sm->ri.conversation_id = sm->conv_id;
        }
        if (who->keyed) { /* usage is counted when the stream ends */
            sm->keyed = true;
            sm->who = *who;
            sm->who.key.prefix = sm->who.key.prefix ? strdup(sm->who.key.prefix) : NULL;
            sm->who.key.tenant = sm->who.key.tenant ? strdup(sm->who.key.tenant) : NULL;
            sm->who.key.user = sm->who.key.user ? strdup(sm->who.key.user) : NULL;
        }
        sm->dep = dep;
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, sm,
                                                                      stream_free);
        if (!resp) {
            stream_free(sm);
            return MHD_NO;
        }
        return queue_sse(S, c, resp);
    }

    /* non-streaming: wait for the end, watching the client */
    pthread_mutex_lock(&r->mu);
    while (r->state != SRV_DONE) {
        wait_slice(r);
        if (r->state != SRV_DONE && client_gone(c)) {
            atomic_store(&r->cancelled, true);
            if (msg_id) srv_conversation_end(S, who->user_id, msg_id, r);
            pthread_mutex_unlock(&r->mu);
            srv_req_unref(r);
            srv_metrics_request(S->metrics, 499);
            return MHD_NO; /* close the connection */
        }
    }
    pthread_mutex_unlock(&r->mu);
    /* done: the engine no longer touches r */
    if (msg_id) srv_conversation_end(S, who->user_id, msg_id, r);
    srv_account(S, who, dep, r);
    enum MHD_Result ret;
    if (r->err_status) {
        srv_error_set(&e, r->err_status, r->err_status >= 500 ? "server_error" : "invalid_request_error", NULL,
                      NULL, "%s", r->err_msg);
        ret = respond_error(S, c, &e);
    } else {
        srv_resp_info ri;
        resp_info(S, r, &ri);
        ri.conversation_id = conv_id[0] ? conv_id : NULL;
        if (dep) ri.model = dep->model_alias;
        ret = respond(S, c, 200, "application/json", srv_format_response(&ri, r));
    }
    srv_req_unref(r);
    return ret;
}

/* ----------------------------------------------------------------- GETs */

static enum MHD_Result handle_models(srv_server *S, struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", S->model_id);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)S->created);
    cJSON_AddStringToObject(m, "owned_by", "stargate");
    cJSON_AddNumberToObject(m, "max_model_len", S->n_ctx);
    cJSON_AddItemToArray(data, m);
    /* each deployment is a model id too (its system prompt, policy and
     * defaults over the served model) */
    for (int i = 0; S->deploys && i < sg_deploy_count(S->deploys); i++) {
        const sg_deployment *d = sg_deploy_at(S->deploys, i);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", d->model_alias);
        cJSON_AddStringToObject(x, "object", "model");
        cJSON_AddNumberToObject(x, "created", (double)S->created);
        cJSON_AddStringToObject(x, "owned_by", "stargate");
        cJSON_AddStringToObject(x, "root", S->model_id);
        cJSON_AddNumberToObject(x, "max_model_len", S->n_ctx);
        cJSON_AddItemToArray(data, x);
    }
    return respond_json(S, c, 200, o);
}

static enum MHD_Result handle_metrics(srv_server *S, struct MHD_Connection *c)
{
    int q, run, used, total;
    srv_sched_load(S->sched, &q, &run);
    srv_sched_kv(S->sched, &used, &total);
    return respond(S, c, 200, "text/plain; version=0.0.4", srv_metrics_render(S->metrics, q, run, used, total));
}

/* ---------------------------------------------------------------- MHD */

/* The route of a URL and the methods it takes ("GET,POST"). */
static route find_route(const char *url, const char **methods)
{
    static const struct {
        const char *path, *methods;
        route rt;
        bool prefix;
    } routes[] = {
        {"/health", "GET", R_HEALTH, false},
        {"/v1/models", "GET", R_MODELS, false},
        {"/metrics", "GET", R_METRICS, false},
        {"/v1/chat/completions", "POST", R_CHAT, false},
        {"/v1/completions", "POST", R_COMPLETIONS, false},
        {"/v1/deployments", "GET", R_DATA, false},
        {"/v1/me", "GET,DELETE", R_DATA, false},
        {"/v1/me/export", "GET", R_DATA, false},
        {"/v1/conversations", "GET,POST", R_DATA, false},
        {"/v1/conversations/", "GET,PATCH,DELETE", R_DATA, true},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        bool hit = routes[i].prefix ? !strncmp(url, routes[i].path, strlen(routes[i].path)) &&
                                          url[strlen(routes[i].path)] && !strchr(url + strlen(routes[i].path), '/')
                                    : !strcmp(url, routes[i].path);
        if (hit) {
            *methods = routes[i].methods;
            return routes[i].rt;
        }
    }
    if (srv_webui_find(url)) {
        *methods = "GET";
        return R_ASSET;
    }
    return R_NONE;
}

/* Is method one of "A,B,C"? */
static bool method_in(const char *method, const char *list)
{
    size_t n = strlen(method);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t k = comma ? (size_t)(comma - p) : strlen(p);
        if (k == n && !strncmp(p, method, n)) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

static enum MHD_Result handle_asset(srv_server *S, struct MHD_Connection *c, const char *url)
{
    const srv_asset *a = srv_webui_find(url);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool same = a->etag && inm && !strcmp(inm, a->etag);
    struct MHD_Response *r = MHD_create_response_from_buffer(same ? 0 : a->len, same ? NULL : (void *)a->data,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->content_type);
    if (a->etag) MHD_add_response_header(r, "ETag", a->etag);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result ret = MHD_queue_response(c, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    srv_metrics_request(S->metrics, same ? 304 : 200);
    return ret;
}

static enum MHD_Result handle_data(srv_server *S, struct MHD_Connection *c, const srv_principal *who,
                                   const char *method, const char *url, const char *body, size_t len)
{
    char *out = NULL;
    int status = srv_data_request(S, who, method, url, body, len, &out);
    return respond(S, c, status, "application/json", out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    srv_server *S = cls;
    conn *cs = *con_cls;
    srv_error e;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        *con_cls = cs;
        const char *methods = NULL;
        cs->rt = find_route(url, &methods);
        bool head_ok = cs->rt != R_NONE && method_in("GET", methods) && !strcmp(method, "HEAD");
        if (cs->rt == R_NONE) {
            cs->responded = true;
            srv_error_set(&e, 404, "invalid_request_error", NULL, "not_found", "unknown route %.200s %.200s",
                          method, url);
            return respond_error(S, c, &e);
        }
        if (!method_in(method, methods) && !head_ok) {
            cs->responded = true;
            srv_error_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed",
                          "%.200s takes %s, not %.32s", url, methods, method);
            char *body = srv_error_json(&e);
            if (!body) return MHD_NO;
            struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
            if (!r) {
                free(body);
                return MHD_NO;
            }
            MHD_add_response_header(r, "Content-Type", "application/json");
            MHD_add_response_header(r, "Allow", methods);
            enum MHD_Result ret = MHD_queue_response(c, 405, r);
            MHD_destroy_response(r);
            srv_metrics_request(S->metrics, 405);
            return ret;
        }
        if (!strncmp(url, "/v1/", 4)) {
            if (!srv_authenticate(S, c, &cs->who, &e)) {
                cs->responded = true;
                return respond_error(S, c, &e);
            }
            cs->authed = true;
        }
        if (!strcmp(method, "POST") || !strcmp(method, "PATCH")) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > S->p.body_max) {
                cs->responded = true;
                srv_error_set(&e, 413, "invalid_request_error", NULL, "request_too_large",
                              "the request body is %.24s bytes; the limit is %zu", cl, S->p.body_max);
                return respond_error(S, c, &e);
            }
        }
        return MHD_YES;
    }
    if (cs->responded) { /* discard the rest of a refused upload */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (cs->too_big || cs->len + n > S->p.body_max) {
            cs->too_big = true;
            free(cs->body);
            cs->body = NULL;
            cs->len = cs->cap = 0;
            return MHD_YES;
        }
        if (cs->len + n + 1 > cs->cap) {
            size_t nc = (cs->len + n + 1) * 2;
            if (nc > S->p.body_max + 1) nc = S->p.body_max + 1;
            char *g = realloc(cs->body, nc);
            if (!g) return MHD_NO;
            cs->body = g;
            cs->cap = nc;
        }
        memcpy(cs->body + cs->len, upload, n);
        cs->len += n;
        return MHD_YES;
    }
    cs->responded = true;
    if (cs->too_big) {
        srv_error_set(&e, 413, "invalid_request_error", NULL, "request_too_large",
                      "the request body is over the limit of %zu bytes", S->p.body_max);
        return respond_error(S, c, &e);
    }
    const char *body = cs->body ? cs->body : "";
    switch (cs->rt) {
    case R_HEALTH:
        if (atomic_load(&S->stopping)) {
            srv_error_set(&e, 503, "server_error", NULL, NULL, "the server is shutting down");
            return respond_error(S, c, &e);
        }
        return respond(S, c, 200, "application/json", strdup("{\"status\":\"ok\"}"));
    case R_MODELS: return handle_models(S, c);
    case R_METRICS: return handle_metrics(S, c);
    case R_CHAT: return handle_generate(S, c, &cs->who, SRV_CHAT, body, cs->len);
    case R_COMPLETIONS: return handle_generate(S, c, &cs->who, SRV_COMPLETION, body, cs->len);
    case R_DATA: return handle_data(S, c, &cs->who, method, url, body, cs->len);
    case R_ASSET: return handle_asset(S, c, url);
    case R_NONE: break;
    }
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    srv_server *S = cls;
    (void)toe;
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)S->p.http_timeout);
    conn *cs = *con_cls;
    if (!cs) return;
    if (cs->authed) srv_principal_free(&cs->who);
    free(cs->body);
    free(cs);
    *con_cls = NULL;
}

sg_status srv_http_start(srv_server *S, sg_error *err)
{
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)S->p.port);
    if (inet_pton(AF_INET, S->p.host, &addr.sin_addr) != 1) {
        err->code = SG_ERR_INVALID;
        snprintf(err->msg, sizeof err->msg, "--host '%s' is not an IPv4 address", S->p.host);
        return SG_ERR_INVALID;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
    if (!S->p.quiet) flags |= MHD_USE_ERROR_LOG;
    S->daemon = MHD_start_daemon(flags, (uint16_t)S->p.port, NULL, NULL, on_request, S, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)S->p.http_timeout, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)S->p.max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, S,
                                 MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_END);
    if (!S->daemon) {
        err->code = SG_ERR_IO;
        snprintf(err->msg, sizeof err->msg, "cannot listen on %s:%d (%s)", S->p.host, S->p.port, strerror(errno));
        return SG_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(S->daemon, MHD_DAEMON_INFO_BIND_PORT);
    S->port = di ? di->port : S->p.port;
    return SG_OK;
}

void srv_http_quiesce(srv_server *S)
{
    if (S->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(S->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
}

void srv_http_stop(srv_server *S)
{
    if (S->daemon) MHD_stop_daemon(S->daemon);
    S->daemon = NULL;
}
