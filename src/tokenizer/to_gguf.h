/*
 * to_gguf.h -- a Hugging Face tokenizer as GGUF tokenizer.ggml.* metadata
 * (`stargate quantize HF_DIR ...`; the inverse of export_hf.c).
 */
#ifndef SG_TOKENIZER_TO_GGUF_H
#define SG_TOKENIZER_TO_GGUF_H

#include "formats/gguf_write.h"
#include "tokenizer/tokenizer.h"

/* Add to w the tokenizer.ggml.* pairs llama.cpp and stargate read for t,
 * loaded from dir/tokenizer.json: model, pre (the llama.cpp name whose
 * regexes the tokenizer.json pre-tokenizer uses), tokens, token_type,
 * merges, special ids, add_bos/add_eos; n_vocab tokens (the model's
 * embedding rows; those beyond t's vocabulary are "[PADn]", unused).
 * Byte-level BPE only (others: SG_ERR_UNSUPPORTED, w unchanged). */
sg_status sg_tokenizer_to_gguf(const sg_tokenizer *t, const char *dir, int n_vocab, sg_gguf_writer *w,
                               sg_error *err);

#endif
