/*
 * error.c -- one-line error messages and checked allocation.
 */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

sg_status sg_fail(sg_error *err, sg_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void sg_error_clear(sg_error *err)
{
    if (err) {
        err->code = SG_OK;
        err->msg[0] = 0;
    }
}

const char *sg_status_name(sg_status s)
{
    switch (s) {
    case SG_OK: return "ok";
    case SG_ERR_IO: return "i/o error";
    case SG_ERR_FORMAT: return "malformed input";
    case SG_ERR_UNSUPPORTED: return "unsupported";
    case SG_ERR_NOMEM: return "out of memory";
    case SG_ERR_INVALID: return "invalid argument";
    case SG_ERR_MISSING: return "missing";
    }
    return "unknown error";
}

void *sg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "stargate: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *sg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "stargate: out of memory allocating %zu x %zu bytes\n", n, size);
        abort();
    }
    return p;
}
