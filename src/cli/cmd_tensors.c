/*
 * cmd_tensors.c -- `stargate tensors MODEL [--name NAME -o FILE]`: list the
 * tensors of a GGUF file or HF directory (name, dtype, shape), or write one
 * tensor dequantized to raw little-endian float32 in its stored order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "tensor/dtype.h"

static int dump(const char *name, int dtype, const void *data, uint64_t n_elems, const char *out)
{
    if (dtype < 0) return cli_error("tensor '%s' has a dtype stargate cannot convert", name);
    const sg_dtype_traits *tr = sg_dtype_traits_of((sg_dtype)dtype);
    if (n_elems % (uint64_t)tr->block_size) return cli_error("tensor '%s': size is not a whole number of blocks", name);
    FILE *f = fopen(out, "wb");
    if (!f) return cli_error("%s: cannot open for writing", out);
    enum { CHUNK = 1 << 16 }; /* a multiple of every block size */
    float *buf = malloc(CHUNK * sizeof(float));
    int rc = buf ? 0 : cli_error("out of memory");
    const uint8_t *p = data;
    for (uint64_t i = 0; !rc && i < n_elems; i += CHUNK) {
        uint64_t k = n_elems - i < CHUNK ? n_elems - i : CHUNK;
        tr->to_float(p, buf, (int64_t)k);
        p += (k / (uint64_t)tr->block_size) * tr->block_bytes;
        if (fwrite(buf, sizeof(float), (size_t)k, f) != (size_t)k) rc = cli_error("%s: write failed", out);
    }
    free(buf);
    if (fclose(f) != 0 && !rc) rc = cli_error("%s: write failed", out);
    return rc;
}

int cmd_tensors(int argc, char **argv)
{
    const char *model = NULL, *name = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name")) {
            if (!(name = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(argv[i], "-o")) {
            if (!(out = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: stargate tensors MODEL [--name NAME -o FILE]\n");
            return 0;
        } else if (argv[i][0] == '-' || model) {
            return cli_error("unexpected argument '%s'", argv[i]);
        } else {
            model = argv[i];
        }
    }
    if (!model) return cli_error("missing MODEL");
    if (!!name != !!out) return cli_error("--name and -o go together");
    sg_error err = {0};
    int rc = 0;
    bool found = false;
    FILE *o = stdout;
    if (sg_path_is_dir(model)) {
        sg_safetensors st;
        if (sg_safetensors_open_dir(&st, model, &err)) return cli_error_from(&err);
        for (size_t i = 0; i < st.n_tensors && !rc; i++) {
            const sg_st_tensor *t = &st.tensors[i];
            uint64_t n = 1;
            for (int d = 0; d < t->n_dims; d++) n *= (uint64_t)t->shape[d];
            if (name) {
                if (strcmp(name, t->name)) continue;
                found = true;
                rc = dump(t->name, t->dtype, t->data, n, out);
                continue;
            }
            fprintf(o, "%-48s %-5s [", t->name, t->dtype_str);
            for (int d = 0; d < t->n_dims; d++) fprintf(o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
            fprintf(o, "]\n");
        }
        sg_safetensors_close(&st);
    } else {
        sg_gguf g;
        if (sg_gguf_open(&g, model, &err)) return cli_error_from(&err);
        for (uint64_t i = 0; i < g.n_tensors && !rc; i++) {
            const sg_gguf_tensor *t = &g.tensors[i];
            uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
            if (name) {
                if (strcmp(name, t->name)) continue;
                found = true;
                rc = dump(t->name, t->dtype, t->data, n, out);
                continue;
            }
            /* shown in row-major order, like PyTorch: [rows, cols] */
            fprintf(o, "%-48s %-5s [", t->name, sg_ggml_type_name(t->ggml_type));
            for (int d = (int)t->n_dims - 1; d >= 0; d--)
                fprintf(o, d == (int)t->n_dims - 1 ? "%llu" : ", %llu", (unsigned long long)t->ne[d]);
            fprintf(o, "]\n");
        }
        sg_gguf_close(&g);
    }
    if (name && !found && !rc) rc = cli_error("%s: no tensor named '%s'", model, name);
    return rc;
}
