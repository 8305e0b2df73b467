/*
 * cmd_finetune.c -- `stargate finetune CONFIG [--show N] [--key value ...]`.
 *
 * Supervised fine-tuning of the model `init` on the JSONL conversations of
 * `sft_data` (one {"messages": [...]} per line): the library renders them
 * with the model's chat template, trains on the assistant tokens only and
 * packs conversations into sequences with document masking (src/train/sft.c
 * describes the method). Every other key is a `stargate train` key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: stargate finetune CONFIG [--show N] [--key value ...]\n"
               "  CONFIG: `stargate train` keys plus init = MODEL, sft_data = CONVERSATIONS.jsonl,\n"
               "          out_dir = DIR (optional: sft_val_data, sft_template, sft_pack).\n"
               "  Each JSONL line: {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}, ...]}.\n"
               "  The loss covers the assistant answers and their end-of-turn token only.\n"
               "  --show N: print the first N conversations as rendered, trained tokens inside \xc2\xab\xc2\xbb.\n");
}

int cmd_finetune(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    sg_train_config *c = sg_train_config_new();
    if (!c) return cli_error("out of memory");
    sg_error err = {0};
    int rc = 0, show = 0;
    if (sg_train_config_load(c, argv[1], &err)) {
        rc = cli_error_from(&err);
        goto done;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || !a[2]) {
            rc = cli_error("expected --key value, got '%s'", a);
            goto done;
        }
        const char *v = cli_value(argc, argv, &i);
        if (!v) {
            rc = 2;
            goto done;
        }
        if (!strcmp(a, "--show")) {
            char *e;
            long n = strtol(v, &e, 10);
            if (*e || n < 0 || n > 1000000) {
                rc = cli_error("option --show: expected a count, got '%s'", v);
                goto done;
            }
            show = (int)n;
            continue;
        }
        if (sg_train_config_set(c, a + 2, v, &err)) {
            rc = cli_error_from(&err);
            goto done;
        }
    }
    if (sg_finetune_run(c, show, &err)) rc = cli_error_from(&err);
done:
    sg_train_config_free(c);
    return rc;
}
