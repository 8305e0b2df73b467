/*
 * cmd_quantize.c -- `stargate quantize IN OUT.gguf TYPE [-t N]`: re-encode
 * a GGUF model's matrices (sg_quantize_gguf, src/tensor/quantize.c), or
 * convert a Hugging Face directory to GGUF with its matrices encoded the
 * same way (sg_quantize_hf, src/model/to_gguf.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "cli.h"
#include "model/to_gguf.h"

int cmd_quantize(int argc, char **argv)
{
    const char *pos[3] = {0};
    int n_pos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_int(a, v, 0, 1024, &threads)) return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: stargate quantize IN OUT.gguf TYPE [-t THREADS]\n"
                   "  IN:   a GGUF file, or a Hugging Face directory (config.json, safetensors,\n"
                   "        tokenizer.json): converted to GGUF as llama.cpp's converter names it\n"
                   "  TYPE: q8_0, q4_0, q4_K_M (Q4_K with Q6_K for the output head and half of\n"
                   "        attn_v/ffn_down), f16, bf16, f32. Matrices change type; vectors and\n"
                   "        metadata are copied. OUT is written atomically.\n");
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return cli_error("unknown option '%s'", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            return cli_error("unexpected argument '%s'", a);
        }
    }
    if (n_pos != 3) return cli_error("usage: stargate quantize IN OUT.gguf TYPE [-t THREADS]");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sg_quantize_stats st = {0};
    sg_error err = {0};
    sg_status s = sg_path_is_dir(pos[0]) ? sg_quantize_hf(pos[0], pos[1], pos[2], threads, &st, &err)
                                         : sg_quantize_gguf(pos[0], pos[1], pos[2], threads, &st, &err);
    if (s) return cli_error_from(&err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("%s -> %s (%s): %d tensors, %d re-encoded, %.1f MiB -> %.1f MiB in %.1f s\n", pos[0], pos[1], pos[2],
           st.n_tensors, st.n_quantized, st.bytes_in / 1048576.0, st.bytes_out / 1048576.0, dt);
    return 0;
}
