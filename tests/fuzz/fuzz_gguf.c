/*
 * fuzz_gguf.c -- libFuzzer target for the GGUF reader (sg_gguf_parse).
 *
 * Each input is parsed as a whole GGUF file. On success every key, value,
 * string, array and tensor is touched through the public lookups (so ASan
 * checks that every pointer the parser hands out stays in the input) and
 * the index invariants are asserted; on failure the message must be one
 * non-empty line naming the file. Any crash, leak, sanitizer report or trap
 * is a bug in the parser.
 *
 * Build and short run: cmake -DCMAKE_C_COMPILER=clang -DSG_FUZZ=ON, then
 * `ctest -L fuzz` (30 s per target; SG_FUZZ_SECONDS=N changes it).
 * Longer campaign (from the build directory; Ctrl-C stops it):
 *   cp -r tests/fuzz/corpus/gguf tests/fuzz/gguf-long
 *   tests/fuzz/fuzz_gguf tests/fuzz/gguf-long -dict=<src>/tests/fuzz/gguf.dict \
 *       -max_len=65536 -rss_limit_mb=2048 -jobs=2 -workers=2 -max_total_time=3600
 * Reproduce a crash: tests/fuzz/fuzz_gguf crash-<hash>
 */
#include "formats/gguf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

/* Read every byte of a view so ASan checks it lies inside the input. */
static unsigned touch(const void *p, uint64_t n)
{
    const volatile uint8_t *b = p;
    unsigned acc = 0;
    for (uint64_t i = 0; i < n; i++) acc += b[i];
    return acc;
}

/* Sink for bytes read only to let ASan check them. */
static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_gguf g;
    sg_error err = {0};
    sg_status st = sg_gguf_parse(&g, data, size, "fuzz.gguf", &err);
    if (st != SG_OK) {
        REQUIRE(err.code == st && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, "fuzz.gguf"));
        REQUIRE(g.kv == NULL && g.tensors == NULL && g.name == NULL);
        return 0;
    }
    unsigned acc = 0;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const sg_gguf_kv *kv = &g.kv[i];
        REQUIRE(sg_gguf_find(&g, kv->key) == kv);
        uint32_t u;
        float f;
        bool b;
        sg_gguf_str s;
        sg_error e2;
        sg_status r1 = sg_gguf_get_u32(&g, kv->key, &u, &e2);
        REQUIRE(r1 == SG_OK || r1 == SG_ERR_FORMAT);
        sg_gguf_get_f32(&g, kv->key, &f, &e2);
        sg_gguf_get_bool(&g, kv->key, &b, &e2);
        if (sg_gguf_get_str(&g, kv->key, &s, &e2) == SG_OK) acc += touch(s.ptr, s.len);
        acc += (unsigned)strlen(sg_gguf_type_name(kv->type));
        if (kv->type == SG_GGUF_ARRAY) {
            REQUIRE(kv->v.arr.type != SG_GGUF_ARRAY && kv->v.arr.type < SG_GGUF_TYPE_COUNT);
            if (kv->v.arr.type == SG_GGUF_STRING) {
                for (uint64_t k = 0; k < kv->v.arr.n; k++) acc += touch(kv->v.arr.strs[k].ptr, kv->v.arr.strs[k].len);
            } else if (kv->v.arr.n) {
                acc += touch(kv->v.arr.data, 1);
                REQUIRE(kv->v.arr.data >= data && kv->v.arr.data < data + size);
            }
        }
    }
    REQUIRE(g.alignment && !(g.alignment & (g.alignment - 1)) && g.data_offset % g.alignment == 0);
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const sg_gguf_tensor *t = &g.tensors[i];
        REQUIRE(sg_gguf_find_tensor(&g, t->name) == t);
        REQUIRE(t->n_dims >= 1 && t->n_dims <= 4 && t->offset % g.alignment == 0);
        acc += (unsigned)strlen(sg_ggml_type_name(t->ggml_type));
        if (t->data) {
            REQUIRE(t->dtype >= 0 && t->nbytes > 0);
            const uint8_t *p = t->data;
            REQUIRE(p >= data && p + t->nbytes <= data + size);
            acc += p[0] + p[t->nbytes - 1];
        } else {
            REQUIRE(t->dtype == -1 && t->nbytes == 0);
        }
    }
    REQUIRE(sg_gguf_find(&g, "") == NULL && sg_gguf_find_tensor(&g, "") == NULL);
    sg_gguf_close(&g);
    sink = acc;
    return 0;
}
