/*
 * gguf_write.h -- the one GGUF v3 writer: vocabularies (`stargate tokenizer
 * train`), `stargate quantize`, the trainer's GGUF export.
 *
 * A file is described first, in memory: key/value pairs are serialized into
 * a growing buffer as they are added (sg_gguf_w_*), tensor infos (name,
 * dims, ggml type, byte size) likewise; the data offsets are laid out when
 * the header is produced, each tensor starting at a multiple of the file's
 * alignment (32, or the `general.alignment` pair when one was added).
 * Allocation failures are sticky (oom) and reported when the file is saved.
 *
 * The tensor data itself never needs to be in memory at once: an
 * sg_gguf_file streams it. sg_gguf_file_open creates "PATH.tmp.PID" in the
 * target's directory and writes the header; the caller then writes each
 * tensor's bytes in order (any number of sg_gguf_file_write calls) and ends
 * each with sg_gguf_file_end_tensor (alignment padding); sg_gguf_file_commit
 * checks that each tensor got exactly its announced bytes, fsyncs, renames over PATH
 * and fsyncs the directory (sg_afile, base/afile.c, the one atomic file
 * writer), so a reader sees the old file or the whole new one.
 * sg_gguf_file_abort removes the temporary file.
 */
#ifndef SG_FORMATS_GGUF_WRITE_H
#define SG_FORMATS_GGUF_WRITE_H

#include "base/error.h"
#include "formats/gguf.h"

#define SG_GGUF_DEFAULT_ALIGN 32

typedef struct sg_gguf_writer {
    uint8_t *buf; /* serialized key/value pairs */
    size_t n, cap;
    uint64_t n_kv;
    bool oom;
    uint8_t *tbuf; /* serialized tensor infos, offsets patched when the header is made */
    size_t tn, tcap;
    uint64_t n_tensors;
    size_t *toff;    /* [n_tensors] where each info's offset field is in tbuf */
    uint64_t *tsize; /* [n_tensors] data bytes of each tensor */
    size_t tlist_cap;
    uint64_t align; /* 0: SG_GGUF_DEFAULT_ALIGN */
} sg_gguf_writer;

void sg_gguf_w_str(sg_gguf_writer *w, const char *key, const char *val);
void sg_gguf_w_u32(sg_gguf_writer *w, const char *key, uint32_t val);
void sg_gguf_w_bool(sg_gguf_writer *w, const char *key, bool val);
void sg_gguf_w_i32(sg_gguf_writer *w, const char *key, int32_t val);
void sg_gguf_w_u64(sg_gguf_writer *w, const char *key, uint64_t val);
void sg_gguf_w_f32(sg_gguf_writer *w, const char *key, float val);
/* Array of n strings (lens[i] bytes each; lens NULL: NUL-terminated). */
void sg_gguf_w_str_array(sg_gguf_writer *w, const char *key, const char *const *strs, const size_t *lens, size_t n);
void sg_gguf_w_i32_array(sg_gguf_writer *w, const char *key, const int32_t *v, size_t n);
void sg_gguf_w_f32_array(sg_gguf_writer *w, const char *key, const float *v, size_t n);
/* A pair as the reader parsed it, under its own key (the reader widens
 * scalars to 64 bits; they are narrowed back to their stored type). */
void sg_gguf_w_kv(sg_gguf_writer *w, const sg_gguf_kv *kv);

/* Announce a tensor: ne[0] is the row length; nbytes its data size. */
void sg_gguf_w_tensor(sg_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t ggml_type,
                      uint64_t nbytes);
/* The alignment the file will use. */
uint64_t sg_gguf_writer_align(const sg_gguf_writer *w);
/* Header bytes (magic .. padding before the data section) into a malloc'ed
 * buffer; *data_bytes gets the size of the data section that must follow. */
sg_status sg_gguf_writer_header(const sg_gguf_writer *w, uint8_t **out, size_t *n, uint64_t *data_bytes,
                                sg_error *err);

/* Write a file with no tensors atomically; frees nothing. */
sg_status sg_gguf_writer_save(const sg_gguf_writer *w, const char *path, sg_error *err);
void sg_gguf_writer_free(sg_gguf_writer *w);

typedef struct sg_gguf_file {
    struct sg_afile *a; /* the atomic replacement (base/afile.c) */
    uint64_t align, pos, start;
    uint64_t *sizes; /* announced size of each tensor */
    uint64_t n_tensors, i;
    bool bad; /* a tensor's bytes differed from its announced size */
} sg_gguf_file;

sg_status sg_gguf_file_open(sg_gguf_file *f, const sg_gguf_writer *w, const char *path, sg_error *err);
void sg_gguf_file_write(sg_gguf_file *f, const void *p, size_t n);
void sg_gguf_file_end_tensor(sg_gguf_file *f);
/* Finish (frees f's state whatever the result; the temporary file is gone). */
sg_status sg_gguf_file_commit(sg_gguf_file *f, sg_error *err);
void sg_gguf_file_abort(sg_gguf_file *f);

#endif
