/*
 * json_constrain.c -- placeholder (see the full version below when enabled).
 */
#include <stdlib.h>

#include "serve/serve.h"

struct srv_jsonc {
    int n_vocab;
};

srv_jsonc *srv_jsonc_new(const srv_text *t, int n_vocab)
{
    (void)t;
    srv_jsonc *j = calloc(1, sizeof *j);
    if (j) j->n_vocab = n_vocab;
    return j;
}
void srv_jsonc_free(srv_jsonc *j) { free(j); }
void srv_jsonc_mask(srv_jsonc *j, float *logits) { (void)j; (void)logits; }
void srv_jsonc_accept(srv_jsonc *j, int32_t token) { (void)j; (void)token; }
bool srv_jsonc_done(const srv_jsonc *j) { (void)j; return false; }
