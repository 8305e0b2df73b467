/*
 * sampling.c -- the sampling flags `generate` and `chat` share.
 *
 *   --temp T  --top-k K  --top-p P  --min-p P  --seed S
 *   --repeat-penalty R  --repeat-last-n N  --presence-penalty P  --frequency-penalty F
 *   --logit-bias ID=BIAS (repeatable)  --stop TEXT (repeatable)
 *
 * cli_sampling_arg() consumes one flag (and its value) if it is one of these.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_sampling_init(cli_sampling *s, bool greedy_default)
{
    memset(s, 0, sizeof *s);
    s->p = sg_sampler_default_params();
    if (greedy_default) s->p.temperature = 0.0f;
}

void cli_sampling_free(cli_sampling *s)
{
    free(s->bias);
    free(s->stops);
    memset(s, 0, sizeof *s);
}

static bool parse_float(const char *opt, const char *v, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        cli_error("option %s: '%s' is not a number in [%g, %g]", opt, v, (double)lo, (double)hi);
        return false;
    }
    *out = (float)d;
    return true;
}

int cli_sampling_arg(cli_sampling *s, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    sg_sampler_params *p = &s->p;
#define FLOAT(name, field, lo, hi)                                                                                     \
    if (!strcmp(a, name)) {                                                                                            \
        if (!(v = cli_value(argc, argv, i)) || !parse_float(a, v, lo, hi, &p->field)) return -1;                       \
        return 1;                                                                                                      \
    }
    FLOAT("--temp", temperature, 0.0f, 100.0f)
    FLOAT("--top-p", top_p, 0.0f, 1.0f)
    FLOAT("--min-p", min_p, 0.0f, 1.0f)
    FLOAT("--repeat-penalty", repeat_penalty, 0.0f, 100.0f)
    FLOAT("--presence-penalty", presence_penalty, -2.0f, 2.0f)
    FLOAT("--frequency-penalty", frequency_penalty, -2.0f, 2.0f)
#undef FLOAT
    if (!strcmp(a, "--top-k")) {
        if (!(v = cli_value(argc, argv, i)) || !cli_int(a, v, 0, 1 << 24, &p->top_k)) return -1;
        return 1;
    }
    if (!strcmp(a, "--repeat-last-n")) {
        if (!(v = cli_value(argc, argv, i)) || !cli_int(a, v, -1, 1 << 24, &p->penalty_last_n)) return -1;
        return 1;
    }
    if (!strcmp(a, "--seed")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-') {
            cli_error("option --seed: '%s' is not a non-negative integer", v);
            return -1;
        }
        p->seed = seed;
        return 1;
    }
    if (!strcmp(a, "--logit-bias")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        char *end;
        errno = 0;
        long id = strtol(v, &end, 10);
        float bias;
        if (errno || end == v || *end != '=' || id < 0 || id > INT32_MAX || !parse_float(a, end + 1, -__builtin_inff(), 1e30f, &bias)) {
            if (*end != '=' || id < 0) cli_error("option --logit-bias: '%s' is not ID=BIAS", v);
            return -1;
        }
        sg_logit_bias *nb = realloc(s->bias, sizeof *nb * (size_t)(s->n_bias + 1));
        if (!nb) return cli_error("out of memory"), -1;
        s->bias = nb;
        s->bias[s->n_bias++] = (sg_logit_bias){.token = (int32_t)id, .bias = bias};
        p->logit_bias = s->bias;
        p->n_logit_bias = s->n_bias;
        return 1;
    }
    if (!strcmp(a, "--stop")) {
        if (!(v = cli_value(argc, argv, i))) return -1;
        const char **ns = realloc(s->stops, sizeof *ns * (size_t)(s->n_stops + 1));
        if (!ns) return cli_error("out of memory"), -1;
        s->stops = ns;
        s->stops[s->n_stops++] = v;
        return 1;
    }
    return 0;
}

const char *cli_sampling_help(void)
{
    return "sampling:\n"
           "  --temp T               temperature (0: greedy)\n"
           "  --top-k K              keep the K most likely tokens (0: off)\n"
           "  --top-p P              keep the smallest set with probability >= P (1: off)\n"
           "  --min-p P              drop tokens below P x the top probability (0: off)\n"
           "  --repeat-penalty R     divide/multiply logits of recent tokens by R (1: off)\n"
           "  --repeat-last-n N      window of recent tokens for the penalties (default 64, -1: all)\n"
           "  --presence-penalty P   subtract P from tokens already generated\n"
           "  --frequency-penalty F  subtract F x count from tokens already generated\n"
           "  --logit-bias ID=BIAS   add BIAS to token ID's logit (repeatable; -inf bans)\n"
           "  --seed S               make sampling reproducible\n"
           "  --stop TEXT            stop before TEXT (repeatable; never printed)\n";
}
