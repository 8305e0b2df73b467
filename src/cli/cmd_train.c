/*
 * cmd_train.c -- `stargate train CONFIG [--key value ...]`.
 *
 * CONFIG is a text file of `key = value` lines (configs/README.md); each
 * `--key value` after it overrides that key, so one file serves several runs
 * (`--lr 1e-3 --out_dir runs/b`). `--keys` lists every key with its meaning
 * and default. Under mpirun every process runs this same command; rank 0
 * prints.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The training config type is opaque to the CLI; the key list lives in the library. */
void sg_train_config_print_keys(FILE *f);

static void usage(FILE *f)
{
    fprintf(f, "usage: stargate train CONFIG [--key value ...]\n"
               "       stargate train --keys        list the config keys\n"
               "  CONFIG: `key = value` lines; --key value overrides a key (e.g. --max_steps 10).\n"
               "  Data-parallel: mpirun -np N stargate train CONFIG\n");
}

int cmd_train(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--keys")) {
        printf("config keys (key = value, one per line; '#' starts a comment line):\n");
        sg_train_config_print_keys(stdout);
        return 0;
    }
    sg_train_config *c = sg_train_config_new();
    if (!c) return cli_error("out of memory");
    sg_error err = {0};
    int rc = 0;
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
        if (sg_train_config_set(c, a + 2, v, &err)) {
            rc = cli_error_from(&err);
            goto done;
        }
    }
    if (sg_train_run(c, &err)) rc = cli_error_from(&err);
done:
    sg_train_config_free(c);
    return rc;
}
