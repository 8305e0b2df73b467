/*
 * error.h -- status codes and one-line error messages.
 *
 * Functions that can fail on input take an `sg_error *err` (may be NULL) and
 * return an sg_status. sg_fail() formats the message and returns the code, so
 * a failure site is one line: `return sg_fail(err, SG_ERR_FORMAT, "%s: ...", path);`
 */
#ifndef SG_BASE_ERROR_H
#define SG_BASE_ERROR_H

#include "stargate.h"

#if defined(__GNUC__)
#define SG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SG_PRINTF(a, b)
#endif

/* Fill err (when non-NULL) with code and a printf-formatted message; returns code. */
sg_status sg_fail(sg_error *err, sg_status code, const char *fmt, ...) SG_PRINTF(3, 4);

/* Reset err to SG_OK with an empty message. */
void sg_error_clear(sg_error *err);

/* Allocation helpers that never return NULL silently: on failure they return
 * NULL and the caller reports SG_ERR_NOMEM. sg_xmalloc aborts (programmer-level
 * OOM in tiny fixed allocations only). */
void *sg_xmalloc(size_t n);
void *sg_xcalloc(size_t n, size_t size);

/* Overflow-checked size arithmetic: returns false on overflow. */
static inline bool sg_mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool sg_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

#endif
