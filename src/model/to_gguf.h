/*
 * to_gguf.h -- `stargate quantize HF_DIR OUT.gguf TYPE`: a Hugging Face
 * directory (config.json + safetensors + tokenizer.json) as a GGUF file in
 * llama.cpp's conventions, its matrices re-encoded as for GGUF input.
 */
#ifndef SG_MODEL_TO_GGUF_H
#define SG_MODEL_TO_GGUF_H

#include "stargate.h"

sg_status sg_quantize_hf(const char *dir, const char *out_path, const char *type, int n_threads,
                         sg_quantize_stats *stats, sg_error *err);

#endif
