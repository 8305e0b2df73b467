/*
 * tenancy.c -- what turns the OpenAI server into country deployments:
 * authentication and per-key limits, the choice of deployment, stored
 * conversations, people's rights endpoints, and the housekeeping thread
 * (instance heartbeat, interrupted-answer sweep, retention).
 *
 * Auth modes, decided at start-up:
 *   - keys exist in the store: every /v1 request needs a valid Bearer key;
 *   - no key yet and the server listens on loopback: local mode, requests
 *     act as tenant "local", user "local" whatever key they send (announced);
 *     it ends for good as soon as a key is created (checked per request);
 *   - no key yet on another address: a first key is created for tenant
 *     "default" and printed once;
 *   - --no-auth: local mode whatever the store holds (announced).
 * Keys never reach a log: only their public prefix is ever printed.
 *
 * Every store call passes the principal's user id; the store answers
 * "missing" for rows of anyone else, so another tenant's ids behave exactly
 * like ids that do not exist.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "serve/http.h"

#define LOCAL_NAME "local"
#define STALE_SECONDS 15 /* STARGATE_STALE_SECONDS overrides it (tests) */
#define HOUSE_PERIOD 5
#define RETENTION_PERIOD 3600

static atomic_bool local_mode; /* see above; one server per process */

static int stale_seconds(void)
{
    const char *v = getenv("STARGATE_STALE_SECONDS");
    int n = v ? atoi(v) : 0;
    return n > 0 && n < 3600 ? n : STALE_SECONDS;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static bool loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "localhost");
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ------------------------------------------------------- authentication */

static bool local_principal(srv_server *S, srv_principal *who)
{
    memset(who, 0, sizeof *who);
    who->user_id = S->local_user_id;
    who->tenant_id = S->local_tenant_id;
    copy(who->tenant, sizeof who->tenant, LOCAL_NAME);
    copy(who->user, sizeof who->user, LOCAL_NAME);
    return true;
}

bool srv_authenticate(srv_server *S, struct MHD_Connection *c, srv_principal *who, srv_error *e)
{
    memset(who, 0, sizeof *who);
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *key = NULL;
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        key = h + 7;
        while (*key == ' ') key++;
        if (!*key) key = NULL;
    }
    if (S->auth_off) return local_principal(S, who);
    if (atomic_load(&local_mode)) {
        /* no key exists: whatever a client sends (OpenAI clients always send
         * one, often a placeholder such as "none") acts as user local */
        bool any = true;
        sg_error err = {0};
        if (sg_store_has_keys(S->store, &any, &err) == SG_OK && !any) return local_principal(S, who);
        atomic_store(&local_mode, false); /* a key exists now: auth for good */
    }
    if (!key) {
        srv_error_set(e, 401, "invalid_request_error", NULL, "invalid_api_key",
                      "You didn't provide an API key. Send it in the Authorization header: "
                      "'Authorization: Bearer sk-sg-...'. Keys are made with 'stargate admin key create'.");
        return false;
    }
    sg_error err = {0};
    sg_status st = sg_store_key_verify(S->store, key, &who->key, &err);
    if (st != SG_OK) {
        char shown[24];
        size_t n = strlen(key);
        snprintf(shown, sizeof shown, "%.*s", n > 18 ? 18 : (int)n, key); /* the public prefix at most */
        if (st == SG_ERR_MISSING)
            srv_error_set(e, 401, "invalid_request_error", NULL, "invalid_api_key",
                          "Incorrect API key provided: %s...; it is unknown, revoked, or its account is disabled.",
                          shown);
        else
            srv_error_set(e, 503, "server_error", NULL, NULL, "the store cannot check keys now: %s", err.msg);
        return false;
    }
    who->keyed = true;
    who->user_id = who->key.user_id;
    who->tenant_id = who->key.tenant_id;
    copy(who->tenant, sizeof who->tenant, who->key.tenant);
    copy(who->user, sizeof who->user, who->key.user);
    sg_tenant t = {0};
    if (sg_store_tenant_get_id(S->store, who->tenant_id, &t, &err) == SG_OK) {
        copy(who->deployment, sizeof who->deployment, t.deployment);
        sg_tenant_free(&t);
    }
    int retry = 0;
    st = sg_store_limit_take(S->store, &who->key, now_s(), &retry, &err);
    if (st != SG_OK) {
        if (retry > 0) {
            srv_error_set(e, 429, "requests", NULL, "rate_limit_exceeded",
                          "Rate limit reached for key %s: %s. Retry after %d s.", who->key.prefix, err.msg,
                          retry);
            e->retry_after = retry;
        } else {
            srv_error_set(e, 503, "server_error", NULL, NULL, "the store cannot check limits now: %s", err.msg);
        }
        srv_principal_free(who);
        return false;
    }
    return true;
}

void srv_principal_free(srv_principal *who)
{
    if (who && who->keyed) sg_key_info_free(&who->key);
    if (who) who->keyed = false;
}

/* ---------------------------------------------------------- deployments */

const sg_deployment *srv_pick_deployment(srv_server *S, const srv_principal *who, const char *model)
{
    if (!S->deploys || sg_deploy_count(S->deploys) == 0) return NULL;
    const sg_deployment *d = model ? sg_deploy_find(S->deploys, model) : NULL;
    if (!d && who && who->deployment[0]) d = sg_deploy_find(S->deploys, who->deployment);
    return d ? d : sg_deploy_at(S->deploys, 0);
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Insert (role, content) at position i of p->messages (takes content). */
static bool insert_message(srv_request_params *p, int i, const char *role, char *content)
{
    if (!content) return false;
    srv_message *m = realloc(p->messages, (size_t)(p->n_messages + 1) * sizeof *m);
    char *r = strdup(role);
    if (!m || !r) {
        if (m) p->messages = m;
        free(r);
        free(content);
        return false;
    }
    p->messages = m;
    memmove(m + i + 1, m + i, (size_t)(p->n_messages - i) * sizeof *m);
    m[i].role = r;
    m[i].content = content;
    p->n_messages++;
    return true;
}

bool srv_apply_deployment(const sg_deployment *d, srv_request_params *p)
{
    if (!d) return true;
    if (p->kind == SRV_CHAT && !insert_message(p, 0, "system", sg_deploy_system_message(d))) return false;
    sg_sampler_params *sp = &p->sp;
    if (!(p->set & SRV_SET_TEMPERATURE)) sp->temperature = d->temperature;
    if (!(p->set & SRV_SET_TOP_P)) sp->top_p = d->top_p > 0 ? d->top_p : 1.0f;
    if (!(p->set & SRV_SET_TOP_K)) sp->top_k = d->top_k;
    if (!(p->set & SRV_SET_MIN_P)) sp->min_p = d->min_p;
    if (!(p->set & SRV_SET_MAX_TOKENS) && d->max_tokens > 0) p->max_tokens = d->max_tokens;
    return true;
}

/* --------------------------------------------------------- conversations */

static void store_error(srv_error *e, const sg_error *err, const char *what)
{
    if (err->code == SG_ERR_MISSING)
        srv_error_set(e, 404, "invalid_request_error", NULL, "not_found", "no such %s", what);
    else if (err->code == SG_ERR_INVALID)
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_value", "%s", err->msg);
    else
        srv_error_set(e, 503, "server_error", NULL, NULL, "the store failed: %s", err->msg);
}

bool srv_conversation_begin(srv_server *S, const srv_principal *who, srv_request_params *p, int64_t *msg_id,
                            srv_error *e)
{
    sg_conv conv = {0};
    sg_msg *msgs = NULL;
    int n = 0;
    sg_error err = {0};
    if (sg_store_conv_get(S->store, who->user_id, p->conversation_id, &conv, &msgs, &n, &err) != SG_OK) {
        store_error(e, &err, "conversation");
        return false;
    }
    bool ok = true;
    /* the request's own messages, stored (system prompts of the request are
     * instructions, not conversation content, and are not stored) */
    for (int i = 0; ok && i < p->n_messages; i++) {
        if (!strcmp(p->messages[i].role, "system") || !strcmp(p->messages[i].role, "developer")) continue;
        if (sg_store_msg_add(S->store, who->user_id, conv.id, p->messages[i].role, p->messages[i].content, NULL,
                             SG_MSG_COMPLETE, NULL, &err) != SG_OK) {
            store_error(e, &err, "conversation");
            ok = false;
        }
    }
    /* then the stored history goes in front of them */
    for (int i = 0, at = 0; ok && i < n; i++) {
        if (!strcmp(msgs[i].role, "assistant") && (!msgs[i].content || !msgs[i].content[0])) continue; /* nothing said */
        if (!insert_message(p, at++, msgs[i].role, xstrdup(msgs[i].content ? msgs[i].content : ""))) {
            srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
            ok = false;
        }
    }
    if (ok && !p->model && conv.deployment) p->model = strdup(conv.deployment);
    if (ok && sg_store_msg_add(S->store, who->user_id, conv.id, "assistant", "", NULL, SG_MSG_STREAMING, msg_id,
                               &err) != SG_OK) {
        store_error(e, &err, "conversation");
        ok = false;
    }
    sg_msg_list_free(msgs, n);
    sg_conv_free(&conv);
    return ok;
}

void srv_conversation_end(srv_server *S, int64_t user_id, int64_t msg_id, const srv_req *r)
{
    char *content = srv_req_gather(r, false), *reasoning = srv_req_gather(r, true);
    bool complete = r->state == SRV_DONE && r->finish && !r->err_status;
    sg_error err = {0};
    if (sg_store_msg_finish(S->store, user_id, msg_id, content ? content : "",
                            reasoning && reasoning[0] ? reasoning : NULL,
                            complete ? SG_MSG_COMPLETE : SG_MSG_INTERRUPTED, &err) != SG_OK &&
        !S->p.quiet)
        fprintf(stderr, "stargate: cannot store an answer (message %lld): %s\n", (long long)msg_id, err.msg);
    free(content);
    free(reasoning);
}

void srv_account(srv_server *S, const srv_principal *who, const sg_deployment *d, const srv_req *r)
{
    if (!who->keyed) return;
    sg_error err = {0};
    if (sg_store_usage_add(S->store, &who->key, d ? d->id : "", r->n_prompt, r->n_gen, now_s(), &err) != SG_OK &&
        !S->p.quiet)
        fprintf(stderr, "stargate: cannot record usage for %s: %s\n", who->key.prefix, err.msg);
}

/* ------------------------------------------------------- data endpoints */

static int reply(char **out, int status, cJSON *o)
{
    *out = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *out ? status : 500;
}

static int reply_error(char **out, const srv_error *e)
{
    *out = srv_error_json(e);
    return e->status;
}

static cJSON *conv_json(const sg_conv *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "object", "conversation");
    if (c->deployment) cJSON_AddStringToObject(o, "deployment", c->deployment);
    else cJSON_AddNullToObject(o, "deployment");
    cJSON_AddStringToObject(o, "title", c->title ? c->title : "");
    cJSON_AddNumberToObject(o, "created_at", (double)c->created_at);
    cJSON_AddNumberToObject(o, "updated_at", (double)c->updated_at);
    return o;
}

static const char *status_name(sg_msg_status s)
{
    return s == SG_MSG_COMPLETE ? "complete" : s == SG_MSG_STREAMING ? "streaming" : "interrupted";
}

static cJSON *deployment_json(const sg_deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", d->id);
    cJSON_AddStringToObject(o, "object", "deployment");
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "language", d->language);
    cJSON_AddStringToObject(o, "locale", d->locale ? d->locale : d->language);
    cJSON_AddStringToObject(o, "dir", d->dir ? d->dir : "ltr");
    cJSON_AddStringToObject(o, "model", d->model_alias);
    cJSON *ui = cJSON_AddObjectToObject(o, "ui");
    const struct {
        const char *k, *v;
    } s[] = {{"greeting", d->ui.greeting},       {"placeholder", d->ui.placeholder}, {"send", d->ui.send},
             {"stop", d->ui.stop},               {"new_chat", d->ui.new_chat},       {"export_data", d->ui.export_data},
             {"delete_chat", d->ui.delete_chat}, {"reasoning", d->ui.reasoning}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i].v) cJSON_AddStringToObject(ui, s[i].k, s[i].v);
    return o;
}

/* Parse a JSON object body; NULL with *e filled. */
static cJSON *parse_body(const char *body, size_t len, srv_error *e)
{
    if (len == 0) return cJSON_CreateObject();
    if (!srv_utf8_valid(body, len)) {
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_json", "the body is not valid UTF-8");
        return NULL;
    }
    cJSON *o = cJSON_ParseWithLength(body, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        srv_error_set(e, 400, "invalid_request_error", NULL, "invalid_json", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* Optional string field (max chars); false with *e filled when wrong. */
static bool body_string(const cJSON *o, const char *name, size_t max, const char **out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        srv_error_set(e, 400, "invalid_request_error", name, "invalid_value", "'%s' must be a string of at most %zu bytes",
                      name, max);
        return false;
    }
    *out = v->valuestring;
    return true;
}

static int conversations(srv_server *S, const srv_principal *who, const char *method, const char *id,
                         const char *body, size_t len, char **out)
{
    srv_error e;
    sg_error err = {0};
    if (!id) {
        if (!strcmp(method, "GET")) {
            sg_conv *cs = NULL;
            int n = 0;
            if (sg_store_conv_list(S->store, who->user_id, &cs, &n, &err) != SG_OK)
                return store_error(&e, &err, "conversation"), reply_error(out, &e);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "object", "list");
            cJSON *data = cJSON_AddArrayToObject(o, "data");
            for (int i = 0; i < n; i++) cJSON_AddItemToArray(data, conv_json(&cs[i]));
            sg_conv_list_free(cs, n);
            return reply(out, 200, o);
        }
        /* POST: a new conversation */
        cJSON *b = parse_body(body, len, &e);
        if (!b) return reply_error(out, &e);
        const char *dep = NULL, *title = NULL;
        if (!body_string(b, "deployment", 64, &dep, &e) || !body_string(b, "title", 512, &title, &e)) {
            cJSON_Delete(b);
            return reply_error(out, &e);
        }
        const sg_deployment *d = NULL;
        if (S->deploys && sg_deploy_count(S->deploys) > 0) {
            d = dep ? sg_deploy_find(S->deploys, dep) : srv_pick_deployment(S, who, NULL);
            if (!d) {
                srv_error_set(&e, 400, "invalid_request_error", "deployment", "invalid_value",
                              "unknown deployment '%.64s'", dep);
                cJSON_Delete(b);
                return reply_error(out, &e);
            }
        }
        char cid[SG_CONV_ID_MAX];
        sg_status st = sg_store_conv_create(S->store, who->user_id, d ? d->id : NULL, title ? title : "", cid, &err);
        cJSON_Delete(b);
        if (st != SG_OK) return store_error(&e, &err, "conversation"), reply_error(out, &e);
        sg_conv c = {0};
        if (sg_store_conv_get(S->store, who->user_id, cid, &c, NULL, NULL, &err) != SG_OK)
            return store_error(&e, &err, "conversation"), reply_error(out, &e);
        cJSON *o = conv_json(&c);
        sg_conv_free(&c);
        return reply(out, 200, o);
    }
    if (strlen(id) >= SG_CONV_ID_MAX) {
        srv_error_set(&e, 404, "invalid_request_error", NULL, "not_found", "no such conversation");
        return reply_error(out, &e);
    }
    if (!strcmp(method, "DELETE")) {
        if (sg_store_conv_delete(S->store, who->user_id, id, &err) != SG_OK)
            return store_error(&e, &err, "conversation"), reply_error(out, &e);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "object", "conversation.deleted");
        cJSON_AddBoolToObject(o, "deleted", 1);
        return reply(out, 200, o);
    }
    if (!strcmp(method, "PATCH")) {
        cJSON *b = parse_body(body, len, &e);
        if (!b) return reply_error(out, &e);
        const char *title = NULL;
        bool okb = body_string(b, "title", 512, &title, &e);
        sg_status st = okb && title ? sg_store_conv_rename(S->store, who->user_id, id, title, &err) : SG_OK;
        cJSON_Delete(b);
        if (!okb) return reply_error(out, &e);
        if (st != SG_OK) return store_error(&e, &err, "conversation"), reply_error(out, &e);
    }
    sg_conv c = {0};
    sg_msg *m = NULL;
    int n = 0;
    if (sg_store_conv_get(S->store, who->user_id, id, &c, &m, &n, &err) != SG_OK)
        return store_error(&e, &err, "conversation"), reply_error(out, &e);
    cJSON *o = conv_json(&c);
    if (!strcmp(method, "GET")) {
        cJSON *arr = cJSON_AddArrayToObject(o, "messages");
        for (int i = 0; i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)m[i].id);
            cJSON_AddStringToObject(x, "role", m[i].role);
            cJSON_AddStringToObject(x, "content", m[i].content ? m[i].content : "");
            if (m[i].reasoning) cJSON_AddStringToObject(x, "reasoning_content", m[i].reasoning);
            else cJSON_AddNullToObject(x, "reasoning_content");
            cJSON_AddStringToObject(x, "status", status_name(m[i].status));
            cJSON_AddNumberToObject(x, "created_at", (double)m[i].created_at);
            cJSON_AddItemToArray(arr, x);
        }
    }
    sg_msg_list_free(m, n);
    sg_conv_free(&c);
    return reply(out, 200, o);
}

static const char *actor_of(const srv_principal *who, char *buf, size_t cap)
{
    snprintf(buf, cap, "user:%s/%s%s%s", who->tenant, who->user, who->keyed ? " key:" : "",
             who->keyed ? who->key.prefix : "");
    return buf;
}

int srv_data_request(srv_server *S, const srv_principal *who, const char *method, const char *url,
                     const char *body, size_t len, char **out)
{
    srv_error e;
    sg_error err = {0};
    char actor[256];
    if (!strcmp(url, "/v1/deployments")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "list");
        const sg_deployment *def = srv_pick_deployment(S, who, NULL);
        if (def) cJSON_AddStringToObject(o, "default", def->id);
        else cJSON_AddNullToObject(o, "default");
        cJSON *data = cJSON_AddArrayToObject(o, "data");
        for (int i = 0; S->deploys && i < sg_deploy_count(S->deploys); i++)
            cJSON_AddItemToArray(data, deployment_json(sg_deploy_at(S->deploys, i)));
        return reply(out, 200, o);
    }
    if (!strcmp(url, "/v1/me")) {
        if (!strcmp(method, "DELETE")) {
            if (sg_store_user_erase(S->store, who->user_id, actor_of(who, actor, sizeof actor), &err) != SG_OK)
                return store_error(&e, &err, "user"), reply_error(out, &e);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "object", "user.deleted");
            cJSON_AddBoolToObject(o, "deleted", 1);
            return reply(out, 200, o);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tenant", who->tenant);
        cJSON_AddStringToObject(o, "user", who->user);
        if (who->keyed) cJSON_AddStringToObject(o, "key", who->key.prefix);
        else cJSON_AddNullToObject(o, "key");
        cJSON_AddBoolToObject(o, "local_mode", !who->keyed);
        const sg_deployment *d = srv_pick_deployment(S, who, NULL);
        if (d) cJSON_AddStringToObject(o, "deployment", d->id);
        else cJSON_AddNullToObject(o, "deployment");
        return reply(out, 200, o);
    }
    if (!strcmp(url, "/v1/me/export")) {
        char *json = NULL;
        if (sg_store_user_export(S->store, who->user_id, actor_of(who, actor, sizeof actor), &json, &err) != SG_OK)
            return store_error(&e, &err, "user"), reply_error(out, &e);
        *out = json;
        return 200;
    }
    if (!strcmp(url, "/v1/conversations")) return conversations(S, who, method, NULL, body, len, out);
    if (!strncmp(url, "/v1/conversations/", 18) && url[18] && !strchr(url + 18, '/'))
        return conversations(S, who, method, url + 18, body, len, out);
    srv_error_set(&e, 404, "invalid_request_error", NULL, "not_found", "unknown route %.200s %.200s", method, url);
    return reply_error(out, &e);
}

/* ---------------------------------------------------------- housekeeping */

static void retention(srv_server *S)
{
    for (int i = 0; S->deploys && i < sg_deploy_count(S->deploys); i++) {
        const sg_deployment *d = sg_deploy_at(S->deploys, i);
        if (d->retention_days <= 0) continue;
        int n = 0;
        sg_error err = {0};
        if (sg_store_retention_sweep(S->store, d->id, now_s() - (int64_t)d->retention_days * 86400, &n, &err) !=
                SG_OK &&
            !S->p.quiet)
            fprintf(stderr, "stargate: retention sweep of %s failed: %s\n", d->id, err.msg);
        else if (n > 0 && !S->p.quiet)
            fprintf(stderr, "stargate: retention: deleted %d conversation(s) of %s older than %d days\n", n, d->id,
                    d->retention_days);
    }
}

static void *house_main(void *arg)
{
    srv_server *S = arg;
    int64_t last_retention = now_s();
    pthread_mutex_lock(&S->house_mu);
    while (!S->house_quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += stale_seconds() < HOUSE_PERIOD ? 1 : HOUSE_PERIOD;
        pthread_cond_timedwait(&S->house_cv, &S->house_mu, &ts);
        if (S->house_quit) break;
        pthread_mutex_unlock(&S->house_mu);
        sg_error err = {0};
        int n = 0;
        sg_store_instance_heartbeat(S->store, S->instance_id, now_s(), &err);
        sg_store_sweep_interrupted(S->store, now_s(), stale_seconds(), &n, &err);
        if (now_s() - last_retention >= RETENTION_PERIOD) {
            retention(S);
            last_retention = now_s();
        }
        pthread_mutex_lock(&S->house_mu);
    }
    pthread_mutex_unlock(&S->house_mu);
    return NULL;
}

/* mkdir -p of the directory part of path */
static void make_parent(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return;
    *slash = 0;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
    mkdir(buf, 0700);
}

static sg_status ensure_local(srv_server *S, sg_error *err)
{
    sg_tenant t = {0};
    if (sg_store_tenant_get(S->store, LOCAL_NAME, &t, err) != SG_OK) {
        if (sg_store_tenant_create(S->store, LOCAL_NAME, NULL, &S->local_tenant_id, err) != SG_OK) return err->code;
    } else {
        S->local_tenant_id = t.id;
        sg_tenant_free(&t);
    }
    sg_user u = {0};
    if (sg_store_user_get(S->store, LOCAL_NAME, LOCAL_NAME, &u, err) == SG_OK) {
        S->local_user_id = u.id;
        sg_user_free(&u);
        return SG_OK;
    }
    return sg_store_user_create(S->store, LOCAL_NAME, LOCAL_NAME, &S->local_user_id, err);
}

sg_status srv_tenancy_start(srv_server *S, sg_error *err)
{
    char path[PATH_MAX];
    const char *url = S->p.db_url;
    if (!url) {
        url = sg_store_default_path(path, sizeof path);
        make_parent(url);
    }
    if (sg_store_open(url, &S->store, err) != SG_OK) return err->code;
    if (S->p.deploy_dir && sg_deploy_load_dir(S->p.deploy_dir, &S->deploys, err) != SG_OK) return err->code;

    bool any = false;
    if (sg_store_has_keys(S->store, &any, err) != SG_OK) return err->code;
    S->auth_off = S->p.no_auth;
    atomic_store(&local_mode, false);
    if (S->auth_off || (!any && loopback(S->p.host))) {
        if (ensure_local(S, err) != SG_OK) return err->code;
        atomic_store(&local_mode, !S->auth_off);
        if (!S->p.quiet)
            fprintf(stderr,
                    S->auth_off ? "stargate: --no-auth: LOCAL MODE, no API key is checked; every request acts as "
                                  "user 'local'\n"
                                : "stargate: no API key exists yet: local mode on loopback (requests without a key "
                                  "act as user 'local'); 'stargate admin key create --tenant NAME' turns keys on\n");
    } else if (!any) {
        /* listening beyond loopback with no key: make the first one */
        const char *dep = S->deploys && sg_deploy_count(S->deploys) ? sg_deploy_at(S->deploys, 0)->id : NULL;
        int64_t tid;
        sg_tenant t = {0};
        if (sg_store_tenant_get(S->store, "default", &t, err) == SG_OK) sg_tenant_free(&t);
        else if (sg_store_tenant_create(S->store, "default", dep, &tid, err) != SG_OK) return err->code;
        char key[SG_KEY_MAX];
        sg_key_info ki = {0};
        sg_key_limits lim = {0};
        if (sg_store_key_create(S->store, "default", NULL, &lim, key, &ki, err) != SG_OK) return err->code;
        fprintf(stderr,
                "stargate: first start: created tenant 'default' and its first API key (shown once, keep it):\n"
                "\n    %s\n\n",
                key);
        explicit_bzero(key, sizeof key);
        sg_key_info_free(&ki);
    }
    if (sg_store_instance_register(S->store, now_s(), &S->instance_id, err) != SG_OK) return err->code;
    sg_store_set_instance(S->store, S->instance_id);
    int n = 0;
    sg_error e2 = {0};
    if (sg_store_sweep_interrupted(S->store, now_s(), stale_seconds(), &n, &e2) == SG_OK && n > 0 && !S->p.quiet)
        fprintf(stderr, "stargate: %d answer(s) cut by an earlier stop are marked interrupted\n", n);
    retention(S);
    pthread_mutex_init(&S->house_mu, NULL);
    pthread_cond_init(&S->house_cv, NULL);
    if (pthread_create(&S->house, NULL, house_main, S) != 0) {
        err->code = SG_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "cannot start the housekeeping thread");
        return SG_ERR_NOMEM;
    }
    S->house_started = true;
    if (!S->p.quiet)
        fprintf(stderr, "stargate: store: %s (%s, schema %d); deployments: %d\n",
                S->p.db_url ? "given by --db" : url, sg_store_backend(S->store), sg_store_schema_version(S->store),
                S->deploys ? sg_deploy_count(S->deploys) : 0);
    return SG_OK;
}

void srv_tenancy_stop(srv_server *S)
{
    if (S->house_started) {
        pthread_mutex_lock(&S->house_mu);
        S->house_quit = true;
        pthread_cond_broadcast(&S->house_cv);
        pthread_mutex_unlock(&S->house_mu);
        pthread_join(S->house, NULL);
        S->house_started = false;
        pthread_mutex_destroy(&S->house_mu);
        pthread_cond_destroy(&S->house_cv);
    }
    if (S->store && S->instance_id) {
        sg_error err = {0};
        sg_store_instance_end(S->store, S->instance_id, &err);
    }
    sg_store_close(S->store);
    S->store = NULL;
    sg_deploy_free(S->deploys);
    S->deploys = NULL;
}
