/*
 * afile.h -- replace a file so that a crash leaves the old or the new one
 * (afile.c): write to a temp file in the same directory, then flush, fsync,
 * rename over the target and fsync the directory. Used by every write that
 * matters: checkpoints, exports, GGUF files, the embedded defaults.
 */
#ifndef SG_BASE_AFILE_H
#define SG_BASE_AFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stargate.h"

typedef struct sg_afile {
    FILE *f;
    char *path, *tmp;
    bool failed;
    uint64_t hash; /* FNV-1a 64 of everything written */
} sg_afile;

sg_status sg_afile_open(sg_afile *a, const char *path, sg_error *err);
void sg_afile_write(sg_afile *a, const void *p, size_t n);
/* Flush, fsync, rename over path, fsync the directory. Frees a. */
sg_status sg_afile_commit(sg_afile *a, sg_error *err);
/* Remove the temp file. Frees a. */
void sg_afile_abort(sg_afile *a);
uint64_t sg_fnv1a(uint64_t h, const void *p, size_t n);
#define SG_FNV_INIT 0xcbf29ce484222325ull

#endif
