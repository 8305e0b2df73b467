/*
 * cmd_models.c -- `stargate models [rm NAME...]` and `stargate rm NAME...`:
 * the local model cache (src/pull/cache.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char MODELS_USAGE[] =
    "usage: stargate models             list pulled models: name, format, size, path\n"
    "       stargate models rm NAME...  remove owner/name (every file), owner/name:FILE\n"
    "       stargate rm NAME...         the same\n"
    "Names are those of `stargate models`; any command taking MODEL accepts them.\n";

static void human(char *out, size_t n, uint64_t b)
{
    if (b >= 1073741824ull) snprintf(out, n, "%.2f GiB", (double)b / 1073741824.0);
    else if (b >= 1048576ull) snprintf(out, n, "%.1f MiB", (double)b / 1048576.0);
    else if (b >= 1024ull) snprintf(out, n, "%.1f KiB", (double)b / 1024.0);
    else snprintf(out, n, "%llu B", (unsigned long long)b);
}

int cmd_rm(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(MODELS_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        sg_error err = {0};
        int n = 0;
        if (sg_cache_remove(argv[i], &n, &err)) rc = cli_error_from(&err);
        else printf("removed %s (%d file%s)\n", argv[i], n, n == 1 ? "" : "s");
    }
    return rc;
}

int cmd_models(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "rm") || !strcmp(argv[1], "remove"))) return cmd_rm(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(MODELS_USAGE, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "ls") && strcmp(argv[1], "list")) {
        cli_error("unexpected argument '%s' (stargate models [rm NAME])", argv[1]);
        return 2;
    }
    sg_error err = {0};
    sg_cached_model *m;
    int n;
    if (sg_cache_list(&m, &n, &err)) return cli_error_from(&err);
    char dir[4096];
    if (sg_cache_dir(dir, sizeof dir, &err)) {
        free(m);
        return cli_error_from(&err);
    }
    if (n == 0) {
        printf("no models in %s (stargate pull REPO[:FILE])\n", dir);
        return 0;
    }
    int w = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(m[i].name) > w) w = (int)strlen(m[i].name);
    printf("%-*s  %-11s  %10s  %s\n", w, "NAME", "FORMAT", "SIZE", "PATH");
    for (int i = 0; i < n; i++) {
        char sz[32];
        human(sz, sizeof sz, m[i].bytes);
        printf("%-*s  %-11s  %10s  %s\n", w, m[i].name, m[i].format, sz, m[i].path);
    }
    free(m);
    return 0;
}
