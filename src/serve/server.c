/*
 * server.c -- the server's lifecycle: load, listen, wait for a signal, drain.
 *
 * SIGINT and SIGTERM are blocked in every thread (the mask is set before any
 * thread starts) and taken synchronously by the main thread with sigwait(),
 * so no code runs in signal context. Shutdown order:
 *
 *   1. stop accepting connections (MHD_quiesce_daemon); /health says 503
 *   2. queued requests get 503; running ones may finish for grace seconds,
 *      then are cut (the engine ends them with an error)
 *   3. close connections and join their threads (MHD_stop_daemon)
 *   4. join the engine thread, free the context and the model; exit 0
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/http.h"

srv_params srv_default_params(void)
{
    srv_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8080;
    p.parallel = 4;
    p.n_batch = 256;
    p.queue_max = 256;
    p.body_max = (size_t)4 << 20;
    p.http_timeout = 30;
    p.max_connections = 512;
    p.grace_seconds = 10;
    p.batch_invariant = true;
    return p;
}

static void fail(sg_error *err, sg_status code, const char *msg)
{
    if (!err) return;
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static void server_free(srv_server *S)
{
    srv_http_stop(S);
    srv_sched_free(S->sched);
    srv_tenancy_stop(S); /* after every handler is gone: they use the store */
    srv_text_free(S->text);
    srv_metrics_free(S->metrics);
    sg_ctx_free(S->ctx);
    sg_model_free(S->model);
}

int srv_run(const srv_params *pp, sg_error *err)
{
    srv_server S;
    memset(&S, 0, sizeof S);
    S.p = *pp;
    atomic_init(&S.stopping, false);
    atomic_init(&S.active_streams, 0);
    if (S.p.parallel < 1 || S.p.parallel > 1024) {
        fail(err, SG_ERR_INVALID, "--parallel must be in [1, 1024]");
        return 1;
    }

    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);

    if (sg_model_load(S.p.model_path, &S.model, err) != SG_OK) goto fail;
    const sg_config *cfg = sg_model_config(S.model);
    S.n_vocab = cfg->n_vocab;
    int n_ctx = S.p.n_ctx > 0 ? S.p.n_ctx : (cfg->n_ctx_train > 0 && cfg->n_ctx_train < 4096 ? cfg->n_ctx_train : 4096);
    int n_batch = S.p.n_batch > 0 ? S.p.n_batch : 256;
    if (n_batch < S.p.parallel) n_batch = S.p.parallel;
    /* KV pool: a quarter of the worst case (every slot at full length), at
     * least one full-length sequence plus a block per slot; the scheduler
     * preempts when it runs out. */
    int per_seq = (n_ctx + 15) / 16;
    int blocks = S.p.n_kv_blocks;
    if (blocks <= 0) {
        long long quarter = (long long)per_seq * S.p.parallel / 4;
        long long floor_ = (long long)per_seq + S.p.parallel + 1;
        blocks = (int)(quarter > floor_ ? quarter : floor_);
    }
    sg_ctx_params cp = sg_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_seq_max = S.p.parallel;
    cp.n_batch = n_batch;
    cp.n_threads = S.p.n_threads;
    cp.n_kv_blocks = blocks;
    cp.batch_invariant = S.p.batch_invariant;
    cp.q8_activations = S.p.q8_activations;
    if (sg_ctx_new(S.model, &cp, &S.ctx, err) != SG_OK) goto fail;
    S.n_ctx = sg_ctx_n_ctx(S.ctx);
    if (srv_text_new(S.model, &S.text, err) != SG_OK) goto fail;
    if (!(S.metrics = srv_metrics_new())) {
        fail(err, SG_ERR_NOMEM, "out of memory");
        goto fail;
    }
    srv_sched_params sp = {.parallel = S.p.parallel, .n_batch = n_batch, .queue_max = S.p.queue_max};
    if (srv_sched_new(S.ctx, S.text, S.metrics, &sp, &S.sched, err) != SG_OK) goto fail;
    if (srv_sched_start(S.sched, S.n_vocab, err) != SG_OK) goto fail;

    const char *id = S.p.alias;
    if (!id) {
        const char *slash = strrchr(S.p.model_path, '/');
        id = slash && slash[1] ? slash + 1 : S.p.model_path;
    }
    snprintf(S.model_id, sizeof S.model_id, "%s", id);
    S.created = time(NULL);
    if (srv_tenancy_start(&S, err) != SG_OK) goto fail;
    if (srv_http_start(&S, err) != SG_OK) goto fail;

    int kv_total;
    sg_kv_usage(S.ctx, NULL, &kv_total);
    if (!S.p.quiet)
        fprintf(stderr,
                "stargate: serving %s on http://%s:%d (parallel %d, context %d, batch %d, KV blocks %d, "
                "tokenizer %s)\n",
                S.model_id, S.p.host, S.port, S.p.parallel, S.n_ctx, n_batch, kv_total,
                srv_text_has_tokenizer(S.text) ? "yes" : "none: byte prompts, <tN> output");
    if (!S.p.quiet)
        fprintf(stderr, "stargate: web chat: open http://%s:%d/ in a browser\n",
                strcmp(S.p.host, "0.0.0.0") ? S.p.host : "127.0.0.1", S.port);
    if (S.p.port_file) {
        FILE *f = fopen(S.p.port_file, "w");
        if (f) {
            fprintf(f, "%d\n", S.port);
            fclose(f);
        }
    }

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    if (!S.p.quiet) fprintf(stderr, "stargate: %s: finishing in-flight requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&S.stopping, true);
    srv_http_quiesce(&S);
    srv_sched_drain(S.sched, S.p.grace_seconds);
    double until = srv_now() + S.p.grace_seconds + 5;
    for (;;) {
        int q, run;
        srv_sched_load(S.sched, &q, &run);
        if ((q == 0 && run == 0 && atomic_load(&S.active_streams) == 0) || srv_now() > until) break;
        usleep(20000);
    }
    server_free(&S);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!S.p.quiet) fprintf(stderr, "stargate: stopped\n");
    return 0;

fail:
    server_free(&S);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 1;
}
