/*
 * cli.h -- shared helpers for the subcommands: errors, option values,
 * token lists. Each subcommand lives in its own cmd_*.c file and only parses
 * arguments and prints; the work happens in libstargate.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stdio.h>

#include "stargate.h"

/* Print "stargate: error: MSG" on one line of stderr; returns 1 (the exit code). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error_from(const sg_error *err);

/* Parse a non-negative int option value; returns false (after printing) when bad. */
bool cli_int(const char *opt, const char *val, int min, int max, int *out);

/* Parse "1 2 3" (spaces/commas) into a heap array; returns false on bad input. */
bool cli_tokens(const char *s, int32_t **out, int *n);

/* Returns argv[i+1] or prints "option X needs a value". */
const char *cli_value(int argc, char **argv, int *i);

/* Sampling flags shared by `generate` and `chat` (sampling.c). */
typedef struct cli_sampling {
    sg_sampler_params p;
    sg_logit_bias *bias;
    int n_bias;
    const char **stops; /* point into argv */
    int n_stops;
} cli_sampling;

void cli_sampling_init(cli_sampling *s, bool greedy_default);
void cli_sampling_free(cli_sampling *s);
/* 1: argv[*i] was a sampling flag (consumed with its value), 0: not one, -1: bad value (printed). */
int cli_sampling_arg(cli_sampling *s, int argc, char **argv, int *i);
const char *cli_sampling_help(void);

/* A MODEL argument as a local path: a pulled model's name ("owner/name",
 * "owner/name:FILE") resolves into the cache, a path stays as is. NULL stays
 * NULL; on failure prints the error and returns NULL. (static storage) */
const char *cli_model(const char *name);

int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_tensors(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_admin(int argc, char **argv);

#endif
