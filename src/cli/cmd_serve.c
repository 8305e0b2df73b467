/*
 * cmd_serve.c -- `stargate serve`: the OpenAI-compatible HTTP server.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "serve/serve.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: stargate serve [-m MODEL] [options]\n"
               "\n"
               "Without -m: the default assistant shipped in the binary (stargate-mini), with the\n"
               "example deployments (written to $STARGATE_HOME/deployments on first start).\n"
               "Deployments: --deployments DIR, else $STARGATE_HOME/deployments when it exists.\n"
               "Web chat at http://HOST:PORT/. Keys: stargate admin key create --tenant NAME.\n"
               "\n"
               "OpenAI-compatible HTTP API with streaming and continuous batching:\n"
               "  POST /v1/chat/completions, POST /v1/completions, GET /v1/models,\n"
               "  GET /health, GET /metrics (Prometheus)\n"
               "\n"
               "options:\n"
               "  --host ADDR            IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N               TCP port (default 8080; 0 picks a free one)\n"
               "  --parallel N           sequences decoded together (default 4)\n"
               "  --ctx N                positions per sequence (default min(model, 4096))\n"
               "  --batch N              tokens per forward step, prefill chunk budget (default 256)\n"
               "  --threads N, -t N      compute threads (default: physical cores)\n"
               "  --kv-blocks N          KV cache blocks of 16 positions (default: a quarter of\n"
               "                         parallel x ctx, at least one full context)\n"
               "  --queue N              waiting requests before 503 (default 256)\n"
               "  --max-body BYTES       request body limit (default 4194304)\n"
               "  --timeout S            idle connection timeout in seconds (default 30)\n"
               "  --max-connections N    concurrent connections (default 512)\n"
               "  --grace S              shutdown: seconds in-flight requests may finish (default 10)\n"
               "  --alias NAME           model id reported by the API (default: file name)\n"
               "  --port-file FILE       write the bound port to FILE once listening\n"
               "  --quiet                no log lines\n"
               "  --db URL               the store: a SQLite file, or postgresql://... to share one\n"
               "                         store between replicas (default $STARGATE_HOME/stargate.db)\n"
               "  --deployments DIR      deployment profiles (*.json; see docs/DEPLOYMENTS.md)\n"
               "  --no-auth              local mode: no API key is checked, even when keys exist\n"
               "  --log-requests         a log line per request (user text redacted per deployment)\n"
               "  --no-batch-invariant   faster batched matmuls (BLAS) for prompt chunks; a token's\n"
               "                         logits then depend on the batch it is in (default: off)\n"
               "  --q8                   8-bit activations for quantized weights: faster, approximate\n"
               "                         (as llama.cpp), still batch-invariant (default: exact FP32)\n"
               "\n"
               "SIGINT/SIGTERM stop accepting, let in-flight requests finish, and exit 0.\n");
}

int cmd_serve(int argc, char **argv)
{
    srv_params p = srv_default_params();
    int body = (int)p.body_max;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
#define VAL()                                         \
    do {                                              \
        if (!(v = cli_value(argc, argv, &i))) return 2; \
    } while (0)
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); p.model_path = v; }
        else if (!strcmp(a, "--host")) { VAL(); p.host = v; }
        else if (!strcmp(a, "--port")) { VAL(); if (!cli_int(a, v, 0, 65535, &p.port)) return 2; }
        else if (!strcmp(a, "--parallel") || !strcmp(a, "-np")) { VAL(); if (!cli_int(a, v, 1, 1024, &p.parallel)) return 2; }
        else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) { VAL(); if (!cli_int(a, v, 16, 1 << 22, &p.n_ctx)) return 2; }
        else if (!strcmp(a, "--batch") || !strcmp(a, "-b")) { VAL(); if (!cli_int(a, v, 1, 1 << 16, &p.n_batch)) return 2; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { VAL(); if (!cli_int(a, v, 0, 1024, &p.n_threads)) return 2; }
        else if (!strcmp(a, "--kv-blocks")) { VAL(); if (!cli_int(a, v, 0, 1 << 24, &p.n_kv_blocks)) return 2; }
        else if (!strcmp(a, "--queue")) { VAL(); if (!cli_int(a, v, 0, 1 << 20, &p.queue_max)) return 2; }
        else if (!strcmp(a, "--max-body")) { VAL(); if (!cli_int(a, v, 1024, 1 << 30, &body)) return 2; }
        else if (!strcmp(a, "--timeout")) { VAL(); if (!cli_int(a, v, 1, 86400, &p.http_timeout)) return 2; }
        else if (!strcmp(a, "--max-connections")) { VAL(); if (!cli_int(a, v, 1, 65536, &p.max_connections)) return 2; }
        else if (!strcmp(a, "--grace")) { VAL(); if (!cli_int(a, v, 0, 3600, &p.grace_seconds)) return 2; }
        else if (!strcmp(a, "--alias")) { VAL(); p.alias = v; }
        else if (!strcmp(a, "--port-file")) { VAL(); p.port_file = v; }
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) p.quiet = true;
        else if (!strcmp(a, "--no-batch-invariant")) p.batch_invariant = false;
        else if (!strcmp(a, "--q8")) p.q8_activations = true;
        else if (!strcmp(a, "--db")) { VAL(); p.db_url = v; }
        else if (!strcmp(a, "--deployments")) { VAL(); p.deploy_dir = v; }
        else if (!strcmp(a, "--no-auth")) p.no_auth = true;
        else if (!strcmp(a, "--log-requests")) p.log_requests = true;
        else {
            cli_error("serve: unknown option '%s' (try 'stargate serve --help')", a);
            return 2;
        }
#undef VAL
    }
    sg_error err = {0};
    static char model_buf[4096], deploy_buf[4096];
    bool default_model = !p.model_path;
    if (default_model) {
        /* the assistant shipped in the binary, with the example deployments */
        if (sg_default_model(model_buf, sizeof model_buf, &err) != SG_OK) return cli_error_from(&err);
        p.model_path = model_buf;
        if (!p.alias) p.alias = "stargate-mini";
    } else if (!(p.model_path = cli_model(p.model_path))) {
        return 1;
    }
    if (!p.deploy_dir) {
        /* $STARGATE_HOME/deployments when it exists; the examples are put
         * there the first time the default model is served */
        bool written = false;
        sg_status st = default_model ? sg_default_deployments(deploy_buf, sizeof deploy_buf, &written, &err)
                                     : SG_ERR_MISSING;
        if (st == SG_OK) {
            p.deploy_dir = deploy_buf;
            if (written && !p.quiet)
                fprintf(stderr, "stargate: wrote the example deployments to %s (edit them there)\n", deploy_buf);
        } else if (!default_model) {
            char home[4096];
            const char *h = getenv("STARGATE_HOME");
            const char *u = getenv("HOME");
            if (h && *h) snprintf(home, sizeof home, "%s/deployments", h);
            else snprintf(home, sizeof home, "%s/.cache/stargate/deployments", u ? u : ".");
            struct stat sb;
            if (stat(home, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                snprintf(deploy_buf, sizeof deploy_buf, "%s", home);
                p.deploy_dir = deploy_buf;
            }
        }
    }
    p.body_max = (size_t)body;
    if (srv_run(&p, &err) != 0) return cli_error_from(&err);
    return 0;
}
