/*
 * gguf_write.h -- a small GGUF v3 writer for metadata-only files
 * (vocabularies written by `stargate tokenizer train`).
 *
 * Key/value pairs are serialized into a growing buffer as they are added;
 * sg_gguf_writer_save writes header + pairs atomically (temporary file in the
 * same directory, fsync, rename), so a reader never sees half a file.
 */
#ifndef SG_FORMATS_GGUF_WRITE_H
#define SG_FORMATS_GGUF_WRITE_H

#include "base/error.h"

typedef struct sg_gguf_writer {
    uint8_t *buf;
    size_t n, cap;
    uint64_t n_kv;
    bool oom;
} sg_gguf_writer;

void sg_gguf_w_str(sg_gguf_writer *w, const char *key, const char *val);
void sg_gguf_w_u32(sg_gguf_writer *w, const char *key, uint32_t val);
void sg_gguf_w_bool(sg_gguf_writer *w, const char *key, bool val);
/* Array of n strings (lens[i] bytes each; lens NULL: NUL-terminated). */
void sg_gguf_w_str_array(sg_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens, size_t n);
void sg_gguf_w_i32_array(sg_gguf_writer *w, const char *key, const int32_t *v, size_t n);
/* Write the file (no tensors) atomically; frees nothing. */
sg_status sg_gguf_writer_save(const sg_gguf_writer *w, const char *path, sg_error *err);
void sg_gguf_writer_free(sg_gguf_writer *w);

#endif
