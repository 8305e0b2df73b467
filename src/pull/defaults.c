/*
 * defaults.c -- the default assistant and the example deployments that ship
 * inside the binary (cmake/embed_defaults.cmake puts their bytes in with
 * .incbin).
 *
 * On first use they are written under $STARGATE_HOME:
 *   default/stargate-mini.gguf   the model (rewritten when the binary carries
 *                                a different one; atomic: temp + rename)
 *   deployments/NAME.json        the examples, written only when the
 *                                directory does not exist yet, so that an
 *                                operator's edits are never overwritten
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/afile.h"
#include "base/error.h"
#include "pull/pull.h"

#if SG_HAVE_DEFAULT_MODEL
extern const unsigned char sg_embedded_model[], sg_embedded_model_end[];
#endif

typedef struct embedded_file {
    const char *name;
    const unsigned char *data;
    uint64_t len;
} embedded_file;
extern const embedded_file sg_embedded_deployments[];

#if SG_HAVE_DEFAULT_MODEL
/* Does path hold exactly these bytes? */
static bool same_file(const char *path, const unsigned char *data, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool same = false;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == len) {
        if (len == 0) {
            same = true;
        } else {
            void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m != MAP_FAILED) {
                same = memcmp(m, data, len) == 0;
                munmap(m, len);
            }
        }
    }
    close(fd);
    return same;
}
#endif

/* Write bytes to path atomically (base/afile.c). */
static sg_status write_atomic(const char *path, const unsigned char *data, size_t len, sg_error *err)
{
    sg_afile a;
    sg_status st = sg_afile_open(&a, path, err);
    if (st) return st;
    sg_afile_write(&a, data, len);
    return sg_afile_commit(&a, err);
}

bool sg_default_model_available(void)
{
#if SG_HAVE_DEFAULT_MODEL
    return (uintptr_t)sg_embedded_model_end > (uintptr_t)sg_embedded_model;
#else
    return false;
#endif
}

sg_status sg_default_model(char *out, size_t n, sg_error *err)
{
#if SG_HAVE_DEFAULT_MODEL
    char home[4096];
    if (cache_home(home, sizeof home, err) != SG_OK) return err ? err->code : SG_ERR_IO;
    int k = snprintf(out, n, "%s/default/stargate-mini.gguf", home);
    if (k < 0 || (size_t)k >= n) return sg_fail(err, SG_ERR_INVALID, "path too long: %.200s", home);
    size_t len = (size_t)(sg_embedded_model_end - sg_embedded_model);
    if (same_file(out, sg_embedded_model, len)) return SG_OK;
    if (cache_mkdirs_for(out, err) != SG_OK) return err ? err->code : SG_ERR_IO;
    return write_atomic(out, sg_embedded_model, len, err);
#else
    (void)out, (void)n;
    return sg_fail(err, SG_ERR_MISSING,
                   "this build carries no default model (models/stargate-mini.gguf was absent when it was built); "
                   "give a model with -m");
#endif
}

sg_status sg_default_deployments(char *out, size_t n, bool *written, sg_error *err)
{
    char home[4096];
    if (written) *written = false;
    if (cache_home(home, sizeof home, err) != SG_OK) return err ? err->code : SG_ERR_IO;
    int k = snprintf(out, n, "%s/deployments", home);
    if (k < 0 || (size_t)k >= n) return sg_fail(err, SG_ERR_INVALID, "path too long: %.200s", home);
    struct stat st;
    if (stat(out, &st) == 0) return SG_OK; /* the operator's: never overwritten */
    if (!sg_embedded_deployments[0].name)
        return sg_fail(err, SG_ERR_MISSING, "this build carries no example deployments");
    char tmpdir[4200];
    snprintf(tmpdir, sizeof tmpdir, "%s.tmp.%d", out, (int)getpid());
    char probe[4300];
    snprintf(probe, sizeof probe, "%s/x", tmpdir);
    if (cache_mkdirs_for(probe, err) != SG_OK) return err ? err->code : SG_ERR_IO;
    for (const embedded_file *f = sg_embedded_deployments; f->name; f++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", tmpdir, f->name);
        if (write_atomic(path, f->data, (size_t)f->len, err) != SG_OK) return err ? err->code : SG_ERR_IO;
    }
    if (rename(tmpdir, out) != 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) { /* another process won the race */
            for (const embedded_file *f = sg_embedded_deployments; f->name; f++) {
                char path[4400];
                snprintf(path, sizeof path, "%s/%s", tmpdir, f->name);
                unlink(path);
            }
            rmdir(tmpdir);
            return SG_OK;
        }
        return sg_fail(err, SG_ERR_IO, "cannot create %.300s: %s", out, strerror(errno));
    }
    if (written) *written = true;
    return SG_OK;
}
