/*
 * fuzz_safetensors.c -- libFuzzer target for the safetensors reader
 * (sg_safetensors_parse).
 *
 * Each input is parsed as one .safetensors file. On success every tensor is
 * looked up by name and the first and last byte of its data are read (ASan
 * checks they lie inside the input), and the shape/size invariants are
 * asserted; on failure the message must be one non-empty line naming the
 * file. Any crash, leak, sanitizer report or trap is a bug in the parser.
 *
 * Build and short run: cmake -DCMAKE_C_COMPILER=clang -DSG_FUZZ=ON, then
 * `ctest -L fuzz` (30 s per target; SG_FUZZ_SECONDS=N changes it).
 * Longer campaign (from the build directory; Ctrl-C stops it):
 *   cp -r tests/fuzz/corpus/safetensors tests/fuzz/st-long
 *   tests/fuzz/fuzz_safetensors tests/fuzz/st-long -dict=<src>/tests/fuzz/safetensors.dict \
 *       -max_len=65536 -rss_limit_mb=2048 -jobs=2 -workers=2 -max_total_time=3600
 * Reproduce a crash: tests/fuzz/fuzz_safetensors crash-<hash>
 */
#include "formats/safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

/* Sink for bytes read only to let ASan check them. */
static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_safetensors st;
    sg_error err = {0};
    sg_status rc = sg_safetensors_parse(&st, data, size, "fuzz.safetensors", &err);
    if (rc != SG_OK) {
        REQUIRE(err.code == rc && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, "fuzz.safetensors"));
        REQUIRE(st.tensors == NULL && st.files == NULL && st.n_tensors == 0);
        return 0;
    }
    unsigned acc = 0;
    REQUIRE(st.n_files == 1);
    for (size_t i = 0; i < st.n_tensors; i++) {
        const sg_st_tensor *t = &st.tensors[i];
        REQUIRE(sg_safetensors_find(&st, t->name) == t);
        REQUIRE(t->n_dims >= 0 && t->n_dims <= SG_ST_MAX_DIMS && t->shard == 0);
        REQUIRE(t->dtype >= -1 && t->dtype < SG_DTYPE_COUNT && t->dtype_str[0]);
        for (int d = 0; d < t->n_dims; d++) REQUIRE(t->shape[d] >= 0);
        if (t->nbytes) {
            const uint8_t *p = t->data;
            REQUIRE(p >= data && p + t->nbytes <= data + size);
            acc += p[0] + p[t->nbytes - 1];
        }
    }
    REQUIRE(sg_safetensors_find(&st, "") == NULL);
    sg_safetensors_close(&st);
    sink = acc;
    return 0;
}
