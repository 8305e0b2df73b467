/*
 * safetensors.h -- Hugging Face safetensors reader, single file or sharded.
 *
 * A file is: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {...}}, then the byte buffer the offsets index.
 * A sharded model has model.safetensors.index.json whose "weight_map" maps
 * each tensor name to its shard file.
 *
 * Validation: header length within the file, JSON well-formed, dtype known,
 * shape product * element size == end - begin (overflow-checked), offsets in
 * bounds and non-overlapping, names unique across shards.
 */
#ifndef SG_FORMATS_SAFETENSORS_H
#define SG_FORMATS_SAFETENSORS_H

#include "base/error.h"
#include "base/file.h"

#define SG_ST_MAX_DIMS 8

typedef struct sg_st_tensor {
    char *name;              /* NUL-terminated copy                                  */
    int dtype;               /* sg_dtype (SG_F32/F16/BF16), or -1 for other stored dtypes */
    char dtype_str[12];      /* as written in the file, e.g. "F32", "I64"             */
    int n_dims;
    int64_t shape[SG_ST_MAX_DIMS]; /* row-major: shape[n_dims-1] is contiguous        */
    uint64_t nbytes;
    const void *data;        /* into the mapping of its shard                        */
    int shard;               /* index into files[]                                   */
} sg_st_tensor;

typedef struct sg_safetensors {
    int n_files;
    sg_mapped_file *files;   /* empty mapping entries when parsed from buffers */
    size_t n_tensors;
    sg_st_tensor *tensors;
    /* Built by the parser: tensors sorted by name, for binary search in
     * sg_safetensors_find. */
    const sg_st_tensor **sorted;
} sg_safetensors;

/* Limits the parser enforces. */
#define SG_ST_MAX_HEADER (100u * 1024u * 1024u) /* bytes of JSON header */
#define SG_ST_MAX_NAME 65536u                   /* bytes in a tensor name */

/* Open a model directory: model.safetensors.index.json when present (loads
 * every shard it names), else model.safetensors. */
sg_status sg_safetensors_open_dir(sg_safetensors *st, const char *dir, sg_error *err);

/* Open a single .safetensors file. */
sg_status sg_safetensors_open_file(sg_safetensors *st, const char *path, sg_error *err);

/* Parse one caller-owned buffer as a single-file model (fuzzing entry point). */
sg_status sg_safetensors_parse(sg_safetensors *st, const void *data, size_t size, const char *label,
                               sg_error *err);

void sg_safetensors_close(sg_safetensors *st);

const sg_st_tensor *sg_safetensors_find(const sg_safetensors *st, const char *name);

#endif
