/*
 * cmd_info.c -- `stargate info MODEL`: what a checkpoint is.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *rope_style_name(sg_rope_style s)
{
    return s == SG_ROPE_NEOX ? "rotate-half (neox)" : s == SG_ROPE_INTERLEAVED ? "interleaved pairs" : "none";
}

int cmd_info(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: stargate info MODEL\n");
        return argc == 2 ? 0 : 2;
    }
    sg_error err = {0};
    sg_model *m;
    const char *path = cli_model(argv[1]);
    if (!path) return 1;
    if (sg_model_load(path, &m, &err)) return cli_error_from(&err);
    const sg_config *c = sg_model_config(m);
    sg_model_info info;
    sg_model_get_info(m, &info);
    printf("model:          %s\n", argv[1]);
    printf("name:           %s\n", info.name);
    printf("format:         %s\n", info.format);
    printf("architecture:   %s\n", sg_arch_name(c->arch));
    printf("parameters:     %llu (%.2f M)\n", (unsigned long long)info.n_params, info.n_params / 1e6);
    printf("weights:        %.2f MiB\n", info.bytes / 1048576.0);
    printf("dtypes:        ");
    for (int t = 0; t < SG_DTYPE_COUNT; t++)
        if (info.params_by_dtype[t])
            printf(" %s %.1f%%", sg_dtype_name((sg_dtype)t), 100.0 * (double)info.params_by_dtype[t] / (double)info.n_params);
    printf("\n");
    printf("vocab:          %d\n", c->n_vocab);
    printf("hidden:         %d\n", c->n_embd);
    printf("layers:         %d\n", c->n_layer);
    printf("heads:          %d (kv %d, head_dim %d)\n", c->n_head, c->n_head_kv, c->head_dim);
    printf("ffn:            %d\n", c->n_ff);
    printf("context:        %d\n", c->n_ctx_train);
    printf("norm eps:       %g\n", (double)c->norm_eps);
    if (c->rope_style != SG_ROPE_NONE) {
        printf("rope:           %s, theta %g, dims %d", rope_style_name(c->rope_style), (double)c->rope_theta, c->rope_dim);
        if (c->rope_scaling == SG_ROPE_SCALING_LINEAR) printf(", linear scaling x%g", (double)c->rope_factor);
        if (c->rope_scaling == SG_ROPE_SCALING_LLAMA3) printf(", llama3 scaling x%g", (double)c->rope_factor);
        printf("\n");
    }
    if (c->sliding_window) printf("sliding window: %d\n", c->sliding_window);
    printf("tied output:    %s\n", c->tied_embeddings ? "yes" : "no");
    printf("tokenizer:      %s\n", info.tokenizer);
    printf("chat template:  %s\n", info.has_chat_template ? "yes" : "no");
    sg_model_free(m);
    return 0;
}
