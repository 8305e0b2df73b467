/*
 * file.h -- read-only memory-mapped files.
 *
 * Weights are used straight from the mapping whenever their stored dtype is
 * the one the kernels consume, so a 4 GB model costs page cache, not heap.
 */
#ifndef SG_BASE_FILE_H
#define SG_BASE_FILE_H

#include "base/error.h"

typedef struct sg_mapped_file {
    char *path;         /* owned copy of the path, for error messages */
    const uint8_t *data;/* NULL when size == 0                       */
    size_t size;
} sg_mapped_file;

/* Map the whole file read-only. Errors: SG_ERR_IO naming path and errno. */
sg_status sg_file_map(sg_mapped_file *f, const char *path, sg_error *err);
void sg_file_unmap(sg_mapped_file *f);

/* Read a whole (small) file into a NUL-terminated heap buffer. */
sg_status sg_file_read_all(const char *path, char **out, size_t *len, sg_error *err);

/* Join dir and name with '/' into a new heap string. */
char *sg_path_join(const char *dir, const char *name);
bool sg_path_is_dir(const char *path);
bool sg_path_exists(const char *path);

#endif
