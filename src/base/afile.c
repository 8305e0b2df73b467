/*
 * afile.c -- replace a file so that a crash leaves the old or the new one.
 *
 * The content goes to "PATH.tmp.PID" in the same directory; commit flushes
 * it, fsyncs it, renames it over PATH (atomic on POSIX file systems) and
 * fsyncs the directory so the rename itself is durable. Until the rename,
 * PATH still holds the previous good file; a crash before it leaves only a
 * stray temp file, which the next successful write of the same PID's name
 * or a cleanup may remove. Every byte written also feeds an FNV-1a hash,
 * which checkpoints store as their trailing checksum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/afile.h"
#include "base/error.h"

uint64_t sg_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

sg_status sg_afile_open(sg_afile *a, const char *path, sg_error *err)
{
    memset(a, 0, sizeof *a);
    a->hash = SG_FNV_INIT;
    a->path = strdup(path);
    a->tmp = malloc(strlen(path) + 32);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    }
    sprintf(a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        sg_status s = sg_fail(err, SG_ERR_IO, "%s: cannot create: %s", a->tmp, strerror(errno));
        free(a->path);
        free(a->tmp);
        return s;
    }
    return SG_OK;
}

void sg_afile_write(sg_afile *a, const void *p, size_t n)
{
    if (a->failed || n == 0) return;
    a->hash = sg_fnv1a(a->hash, p, n);
    if (fwrite(p, 1, n, a->f) != n) a->failed = true;
}

static void fsync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

sg_status sg_afile_commit(sg_afile *a, sg_error *err)
{
    sg_status s = SG_OK;
    int e = 0;
    if (a->failed || fflush(a->f) != 0) e = errno ? errno : EIO;
    if (!e && fsync(fileno(a->f)) != 0) e = errno;
    if (fclose(a->f) != 0 && !e) e = errno;
    a->f = NULL;
    if (!e && rename(a->tmp, a->path) != 0) e = errno;
    if (e) {
        s = sg_fail(err, SG_ERR_IO, "%s: write failed: %s", a->path, strerror(e));
        remove(a->tmp);
    } else {
        fsync_dir(a->path);
    }
    free(a->path);
    free(a->tmp);
    return s;
}

void sg_afile_abort(sg_afile *a)
{
    if (a->f) fclose(a->f);
    remove(a->tmp);
    free(a->path);
    free(a->tmp);
}
