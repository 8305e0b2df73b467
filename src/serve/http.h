/*
 * http.h -- the server object shared by http.c (MHD glue and handlers) and
 * server.c (lifecycle).
 */
#ifndef SG_SERVE_HTTP_H
#define SG_SERVE_HTTP_H

#include <time.h>

#include "serve/serve.h"

struct MHD_Daemon;

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
} srv_server;

sg_status srv_http_start(srv_server *S, sg_error *err);
void srv_http_quiesce(srv_server *S); /* stop accepting connections */
void srv_http_stop(srv_server *S);    /* close all, join their threads */

#endif
