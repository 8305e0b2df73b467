/*
 * fuzz_train_config.c -- libFuzzer target for the training config parser
 * (sg_train_config_parse, src/train/config.c).
 *
 * Each input is parsed as a whole config file. Success or failure, nothing
 * may crash, leak or trip a sanitizer; on failure the message must be one
 * non-empty line naming the file; on success the cross-key checks run too
 * and every string field must be NUL-terminated within its buffer.
 *
 * Build and short run: cmake -DCMAKE_C_COMPILER=clang -DSG_FUZZ=ON, then
 * `ctest -L fuzz` (SG_FUZZ_SECONDS per target, default 30).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_train_config *c = sg_train_config_new();
    REQUIRE(c);
    sg_error err = {0};
    sg_status st = sg_train_config_parse(c, (const char *)data, size, "fuzz.txt", &err);
    if (st != SG_OK) {
        REQUIRE(err.code == st && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, "fuzz.txt"));
    } else {
        const char *strs[] = {c->init, c->train_data, c->val_data, c->out_dir, c->resume,
                              c->export_gguf, c->export_hf, c->dump_grads, c->dump_logits};
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) REQUIRE(memchr(strs[i], 0, SG_TCFG_STR));
        REQUIRE(c->n_layer >= 1 && c->n_head >= 1 && c->seq_len >= 1 && c->batch_size >= 1);
        st = sg_train_config_check(c, &err);
        REQUIRE(st == SG_OK || (err.msg[0] && !strchr(err.msg, '\n')));
    }
    sg_train_config_free(c);
    return 0;
}
