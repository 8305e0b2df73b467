/*
 * http.h -- the server object shared by http.c (MHD glue and handlers) and
 * server.c (lifecycle).
 */
#ifndef SG_SERVE_HTTP_H
#define SG_SERVE_HTTP_H

#include <time.h>

#include "deploy/deploy.h"
#include "serve/serve.h"
#include "store/store.h"

struct MHD_Daemon;
struct MHD_Connection;

typedef struct srv_server {
    srv_params p;
    sg_model *model;
    sg_ctx *ctx;
    srv_text *text;
    srv_metrics *metrics;
    srv_sched *sched;
    struct MHD_Daemon *daemon;
    char model_id[256];
    int n_vocab, n_ctx, port;
    time_t created;
    atomic_bool stopping;
    atomic_int active_streams; /* streams whose last bytes are not yet sent */

    /* deployments: the store (always open), the profiles (may be empty) */
    sg_store *store;
    sg_deploy_set *deploys;
    int64_t instance_id;
    int64_t local_user_id, local_tenant_id; /* local mode's principal */
    bool auth_off;                          /* --no-auth */
    pthread_t house;                        /* heartbeat and sweeps    */
    bool house_started, house_quit; /* house_quit under house_mu */
    pthread_mutex_t house_mu;
    pthread_cond_t house_cv;
} srv_server;

/* Who is asking: a verified key's tenant and user, or local mode. */
typedef struct srv_principal {
    bool keyed;                 /* authenticated by a key (limits apply) */
    sg_key_info key;            /* when keyed                             */
    int64_t user_id, tenant_id;
    char tenant[72], user[136];
    char deployment[40];        /* the tenant's default deployment or ""  */
} srv_principal;

/* tenancy.c: authentication, limits, deployments, conversations, rights. */
/* Fills *who from the Authorization header; false with *e filled (401, 429). */
bool srv_authenticate(srv_server *S, struct MHD_Connection *c, srv_principal *who, srv_error *e);
void srv_principal_free(srv_principal *who);
/* The deployment a request uses (by model, else the tenant's, else the
 * first); NULL when the server has none. */
const sg_deployment *srv_pick_deployment(srv_server *S, const srv_principal *who, const char *model);
/* Applies the deployment to a chat request: system message first, sampling
 * defaults for the fields the body left out. false: out of memory. */
bool srv_apply_deployment(const sg_deployment *d, srv_request_params *p);
/* Prepends a stored conversation's messages and stores the request's new
 * user messages; creates the assistant message (streaming) in *msg_id. */
bool srv_conversation_begin(srv_server *S, const srv_principal *who, srv_request_params *p, int64_t *msg_id,
                            srv_error *e);
/* Stores the answer's final text: complete, or interrupted when cut. */
void srv_conversation_end(srv_server *S, int64_t user_id, int64_t msg_id, const srv_req *r);
/* Usage accounting after a request (keyed principals). */
void srv_account(srv_server *S, const srv_principal *who, const sg_deployment *d, const srv_req *r);
/* Data endpoints: GET/POST /v1/conversations, GET/PATCH/DELETE
 * /v1/conversations/{id}, GET /v1/me, GET /v1/me/export, DELETE /v1/me,
 * GET /v1/deployments. Returns the HTTP status and a malloc'd JSON body. */
int srv_data_request(srv_server *S, const srv_principal *who, const char *method, const char *url,
                     const char *body, size_t len, char **out);
/* Start-up: open the store, load profiles, pick the auth mode, register
 * this instance, start the housekeeping thread. Shutdown: the reverse. */
sg_status srv_tenancy_start(srv_server *S, sg_error *err);
void srv_tenancy_stop(srv_server *S);

sg_status srv_http_start(srv_server *S, sg_error *err);
void srv_http_quiesce(srv_server *S); /* stop accepting connections */
void srv_http_stop(srv_server *S);    /* close all, join their threads */

#endif
