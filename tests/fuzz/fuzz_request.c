/*
 * fuzz_request.c -- libFuzzer target for the OpenAI request validator
 * (src/serve/api.c): any bytes as a chat or a completions body. The
 * validator must return a clean error or clean parameters, never crash,
 * leak or read out of bounds; the error object must always render.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

/* api.c takes its sampler defaults from src/infer, which this target does
 * not link; the values do not matter to the validator. */
sg_sampler_params sg_sampler_default_params(void)
{
    sg_sampler_params p;
    memset(&p, 0, sizeof p);
    p.seed = SG_SAMPLER_SEED_RANDOM;
    p.min_keep = 1;
    p.penalty_last_n = 64;
    p.repeat_penalty = 1.0f;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    srv_kind kind = (data[0] & 1) ? SRV_COMPLETION : SRV_CHAT;
    srv_request_params p;
    srv_error e;
    if (srv_parse_request(kind, (const char *)data + 1, size - 1, 1000, &p, &e)) {
        /* touch everything the server reads */
        size_t n = 0;
        for (int i = 0; i < p.n_messages; i++) n += strlen(p.messages[i].role) + strlen(p.messages[i].content);
        for (int i = 0; i < p.n_stops; i++) n += strlen(p.stops[i]);
        for (int i = 0; i < p.n_prompt_ids; i++)
            if (p.prompt_ids[i] < 0 || p.prompt_ids[i] >= 1000) abort();
        for (int i = 0; i < p.n_bias; i++)
            if (p.bias[i].token < 0 || p.bias[i].token >= 1000) abort();
        if (p.top_logprobs < 0 || p.top_logprobs > SG_MAX_LOGPROBS) abort();
        (void)n;
        srv_request_params_free(&p);
    } else {
        if (e.status < 400 || e.status > 599) abort();
        char *j = srv_error_json(&e);
        if (!j) abort();
        free(j);
    }
    return 0;
}
