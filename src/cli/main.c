/*
 * main.c -- the `stargate` command: dispatch to subcommands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' '; /* one line, always */
    fprintf(stderr, "stargate: error: %s\n", msg);
    return 1;
}

int cli_error_from(const sg_error *err)
{
    return cli_error("%s", err->msg[0] ? err->msg : sg_status_name(err->code));
}

bool cli_int(const char *opt, const char *val, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max) {
        cli_error("option %s: '%s' is not an integer in [%d, %d]", opt, val, min, max);
        return false;
    }
    *out = (int)v;
    return true;
}

bool cli_tokens(const char *s, int32_t **out, int *n)
{
    size_t cap = 16;
    int k = 0;
    int32_t *t = malloc(cap * sizeof *t);
    if (!t) return false;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) {
            cli_error("--tokens: '%.32s' is not a token id", p);
            free(t);
            return false;
        }
        if ((size_t)k == cap) {
            cap *= 2;
            int32_t *nt = realloc(t, cap * sizeof *t);
            if (!nt) {
                free(t);
                return false;
            }
            t = nt;
        }
        t[k++] = (int32_t)v;
        p = end;
    }
    if (k == 0) {
        free(t);
        cli_error("--tokens: no token ids given");
        return false;
    }
    *out = t;
    *n = k;
    return true;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

const char *cli_model(const char *name)
{
    static char path[4096];
    if (!name) return NULL;
    sg_error err = {0};
    if (sg_resolve_model(name, path, sizeof path, &err)) {
        cli_error_from(&err);
        return NULL;
    }
    return path;
}

static void usage(FILE *f)
{
    fprintf(f,
            "stargate %s -- open AI infrastructure: run, serve and train open-weights language models\n"
            "\n"
            "usage: stargate COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  info MODEL                         architecture, sizes, dtypes, tokenizer, template\n"
            "  logits -m MODEL --tokens \"1 2 3\" [--all] [--batch N] [-t N] -o FILE\n"
            "                                     write raw float32 logits (last token or all)\n"
            "  generate -m MODEL (-p TEXT | --tokens \"1 2 3\") [-n N] [sampling flags]\n"
            "                                     continuation (greedy unless --temp), streamed\n"
            "  chat -m MODEL [--system TEXT] [sampling flags]\n"
            "                                     interactive terminal chat with the model's template\n"
            "  tensors MODEL [--name NAME -o FILE] list tensors, or dump one as float32\n"
            "  bench -m MODEL [-p 512] [-n 128] [-t N] [--batch B]\n"
            "                                     prompt and decode speed in tokens/s, decode GB/s vs the machine's\n"
            "  quantize IN.gguf OUT.gguf TYPE [-t N]\n"
            "                                     re-encode matrices: q8_0, q4_0, q4_K_M, f16, bf16\n"
            "  perplexity -m MODEL -f TEXT [--ctx 512] [--kl-base MODEL2] [-t N]\n"
            "                                     perplexity of a text; KL divergence to another model\n"
            "  serve -m MODEL [--port 8080] [--parallel N] [--ctx N] [-t N]\n"
            "                                     OpenAI-compatible HTTP server (see serve --help)\n"
            "  template -m MODEL --messages FILE [--add-generation-prompt] [--tools FILE] [--template FILE]\n"
            "                                     render a conversation with the chat template\n"
            "  train CONFIG [--key value ...]     train or fine-tune (llama, gpt2); mpirun for data-parallel\n"
            "  finetune CONFIG [--show N]         supervised fine-tuning on JSONL conversations (chat template)\n"
            "  data prepare --tokenizer T --input FILE --out DIR\n"
            "                                     tokenize text / JSONL into training shards\n"
            "  tokenize -m MODEL [--ids] [--no-bos] [--special] [--stats] < text\n"
            "                                     token ids (and pieces) of UTF-8 text\n"
            "  detokenize -m MODEL [--special] < ids\n"
            "                                     text of token ids\n"
            "  tokenizer train --input CORPUS --vocab-size N -o OUT.gguf\n"
            "                                     train a byte-level BPE vocabulary\n"
            "  pull REPO[:FILE] [--revision REV]  download a model from the Hugging Face hub\n"
            "  models [rm NAME]                   list (or remove) pulled models\n"
            "  admin [--db URL] COMMAND ...       tenants, users, API keys, conversations, export/erase, audit\n"
            "\n"
            "MODEL is a .gguf file, a Hugging Face directory (config.json + *.safetensors),\n"
            "or a pulled model's name (owner/name, owner/name:FILE; see stargate models).\n"
            "Run 'stargate COMMAND --help' for a command's options.\n",
            SG_VERSION_STRING);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("stargate %s\n", SG_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "logits")) return cmd_logits(argc - 1, argv + 1);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "tensors")) return cmd_tensors(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "quantize")) return cmd_quantize(argc - 1, argv + 1);
    if (!strcmp(cmd, "perplexity")) return cmd_perplexity(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "template")) return cmd_template(argc - 1, argv + 1);
    if (!strcmp(cmd, "chat")) return cmd_chat(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "detokenize")) return cmd_detokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenizer")) return cmd_tokenizer(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "finetune")) return cmd_finetune(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return cmd_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "pull")) return cmd_pull(argc - 1, argv + 1);
    if (!strcmp(cmd, "models")) return cmd_models(argc - 1, argv + 1);
    if (!strcmp(cmd, "rm")) return cmd_rm(argc - 1, argv + 1);
    if (!strcmp(cmd, "admin")) return cmd_admin(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'stargate --help')", cmd);
    return 2;
}
