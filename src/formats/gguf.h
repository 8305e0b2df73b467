/*
 * gguf.h -- GGUF v2/v3 reader (llama.cpp's single-file model format).
 *
 * Layout (little-endian): magic "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv key/value pairs (string key, u32 type, value), n_tensors tensor infos
 * (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset), then
 * padding to `general.alignment` (default 32) and the tensor data section.
 * Strings are u64 length + bytes (no NUL). Arrays are u32 element type,
 * u64 count, elements.
 *
 * The parser validates everything before anyone trusts it: lengths against
 * the file size, types, dimension products against overflow, offsets aligned,
 * in bounds and non-overlapping. Keys and tensor names are copied NUL-
 * terminated; string values point into the mapping (sg_gguf_str).
 */
#ifndef SG_FORMATS_GGUF_H
#define SG_FORMATS_GGUF_H

#include "base/error.h"
#include "base/file.h"

typedef enum sg_gguf_type {
    SG_GGUF_UINT8 = 0,
    SG_GGUF_INT8 = 1,
    SG_GGUF_UINT16 = 2,
    SG_GGUF_INT16 = 3,
    SG_GGUF_UINT32 = 4,
    SG_GGUF_INT32 = 5,
    SG_GGUF_FLOAT32 = 6,
    SG_GGUF_BOOL = 7,
    SG_GGUF_STRING = 8,
    SG_GGUF_ARRAY = 9,
    SG_GGUF_UINT64 = 10,
    SG_GGUF_INT64 = 11,
    SG_GGUF_FLOAT64 = 12,
    SG_GGUF_TYPE_COUNT
} sg_gguf_type;

/* A string inside the mapping: not NUL-terminated. */
typedef struct sg_gguf_str {
    const char *ptr;
    uint64_t len;
} sg_gguf_str;

typedef struct sg_gguf_kv {
    char *key;            /* NUL-terminated copy */
    sg_gguf_type type;
    union {
        uint64_t u64;     /* UINT8/16/32/64 and BOOL (0/1) widened         */
        int64_t i64;      /* INT8/16/32/64 widened                         */
        double f64;       /* FLOAT32/64 widened                            */
        sg_gguf_str str;  /* STRING                                        */
        struct {          /* ARRAY                                         */
            sg_gguf_type type; /* element type (never ARRAY: nested arrays are rejected) */
            uint64_t n;
            const uint8_t *data;  /* raw little-endian elements (numeric types) */
            sg_gguf_str *strs;    /* STRING arrays: n entries (owned table)     */
        } arr;
    } v;
} sg_gguf_kv;

/* ggml type ids stored in GGUF tensor infos (subset we name). */
enum {
    SG_GGML_F32 = 0,
    SG_GGML_F16 = 1,
    SG_GGML_Q4_0 = 2,
    SG_GGML_Q8_0 = 8,
    SG_GGML_Q4_K = 12,
    SG_GGML_Q6_K = 14,
    SG_GGML_BF16 = 30,
};

typedef struct sg_gguf_tensor {
    char *name;          /* NUL-terminated copy                                 */
    uint32_t n_dims;     /* 1..4                                                */
    uint64_t ne[4];      /* ggml order: ne[0] is the contiguous (row) dimension; unused = 1 */
    uint32_t ggml_type;  /* raw type id from the file                            */
    int dtype;           /* sg_dtype, or -1 when the ggml type is not supported  */
    uint64_t offset;     /* relative to the data section                         */
    uint64_t nbytes;     /* 0 when dtype == -1                                    */
    const void *data;    /* into the mapping; NULL when dtype == -1               */
} sg_gguf_tensor;

typedef struct sg_gguf {
    sg_mapped_file file;   /* empty when parsed from a caller's buffer */
    const char *name;      /* for messages: the path or a caller-given label */
    uint32_t version;
    uint64_t n_kv;
    sg_gguf_kv *kv;
    uint64_t n_tensors;
    sg_gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;  /* file offset of the data section */
    /* Lookup indexes built by the parser (sorted by key / name, for binary
     * search in sg_gguf_find and sg_gguf_find_tensor). */
    const sg_gguf_kv **kv_sorted;
    const sg_gguf_tensor **tensors_sorted;
} sg_gguf;

/* Limits the parser enforces. */
#define SG_GGUF_MAX_NAME 65536u /* bytes in a key or tensor name */
#define SG_GGUF_MAX_DIMS 4

/* Map and parse a file. On failure everything is released and *g is zeroed. */
sg_status sg_gguf_open(sg_gguf *g, const char *path, sg_error *err);

/* Parse a caller-owned buffer (must outlive g); `label` names it in errors.
 * This is the fuzzing entry point. */
sg_status sg_gguf_parse(sg_gguf *g, const void *data, size_t size, const char *label, sg_error *err);

void sg_gguf_close(sg_gguf *g);

const sg_gguf_kv *sg_gguf_find(const sg_gguf *g, const char *key);
const sg_gguf_tensor *sg_gguf_find_tensor(const sg_gguf *g, const char *name);

/* Typed getters: return SG_ERR_MISSING when absent (err untouched, so callers
 * can fall back to defaults), SG_ERR_FORMAT when present with an incompatible
 * type or out of range (err filled, naming file and key). Any integer type is
 * accepted for integer getters when its value fits; FLOAT32/64 for floats. */
sg_status sg_gguf_get_u32(const sg_gguf *g, const char *key, uint32_t *out, sg_error *err);
sg_status sg_gguf_get_f32(const sg_gguf *g, const char *key, float *out, sg_error *err);
sg_status sg_gguf_get_bool(const sg_gguf *g, const char *key, bool *out, sg_error *err);
sg_status sg_gguf_get_str(const sg_gguf *g, const char *key, sg_gguf_str *out, sg_error *err);

/* Name of a GGUF value type ("uint32", "string", ...). */
const char *sg_gguf_type_name(sg_gguf_type t);
/* Name of a ggml tensor type id ("f32", "q4_K", ... or "unknown"). */
const char *sg_ggml_type_name(uint32_t ggml_type);

/* Block geometry of a ggml type id: elements per block and bytes per block.
 * Returns false for ids the reader does not know (then outputs are untouched). */
bool sg_ggml_type_size(uint32_t ggml_type, uint32_t *block_size, uint32_t *block_bytes);

#endif
