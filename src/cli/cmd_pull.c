/*
 * cmd_pull.c -- `stargate pull REPO[@REV][:FILE]`: download a model from the
 * Hugging Face hub into the local cache (src/pull/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char PULL_USAGE[] =
    "usage: stargate pull REPO[:FILE] [--revision REV] [-q]\n"
    "\n"
    "Downloads a model from the Hugging Face hub into the local cache\n"
    "($STARGATE_HOME, default ~/.cache/stargate): REPO:FILE one file (a GGUF, or a\n"
    "glob such as '*Q4_K_M.gguf'), REPO alone a safetensors model (config, tokenizer,\n"
    "weights). Downloads resume where they stopped and are checked against the hub's\n"
    "sha256. Prints the local path. Environment: HF_TOKEN (gated models),\n"
    "HF_ENDPOINT (default https://huggingface.co).\n";

int cmd_pull(int argc, char **argv)
{
    const char *spec = NULL, *rev = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(PULL_USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--revision") || !strcmp(a, "-r")) {
            if (!(rev = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' || spec) {
            cli_error("unexpected argument '%s'", a);
            return 2;
        } else {
            spec = a;
        }
    }
    if (!spec) {
        fputs(PULL_USAGE, stderr);
        return 2;
    }
    char repo[512], file[512];
    file[0] = 0;
    const char *colon = strchr(spec, ':');
    size_t rl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (rl >= sizeof repo || (colon && strlen(colon + 1) >= sizeof file)) return cli_error("'%.100s': name too long", spec);
    memcpy(repo, spec, rl);
    repo[rl] = 0;
    if (colon) strcpy(file, colon + 1);
    char *at = strchr(repo, '@');
    if (at) {
        *at = 0;
        if (rev && strcmp(rev, at + 1)) return cli_error("two revisions given: '%s' and '%s'", at + 1, rev);
        rev = at + 1;
    }
    sg_pull_params p = {.repo = repo, .file = file[0] ? file : NULL, .revision = rev, .progress = !quiet};
    char path[4096];
    sg_error err = {0};
    if (sg_pull(&p, path, sizeof path, &err)) return cli_error_from(&err);
    printf("%s\n", path);
    return 0;
}
