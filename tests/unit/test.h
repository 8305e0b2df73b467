/*
 * test.h -- a minimal unit-test harness: CHECK() records failures and keeps
 * going, TEST_MAIN prints "N passed, N failed" and sets the exit status.
 */
#ifndef SG_TEST_H
#define SG_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sg_test_pass, sg_test_fail;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            sg_test_pass++;                                                                        \
        } else {                                                                                   \
            sg_test_fail++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            sg_test_pass++;                                                                        \
        } else {                                                                                   \
            sg_test_fail++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g", (double)(a), (double)(b))

#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        __VA_ARGS__;                                                                                  \
        printf("%s: %d passed, %d failed\n", __FILE__, sg_test_pass, sg_test_fail);                \
        return sg_test_fail ? 1 : 0;                                                               \
    }

/* Deterministic xorshift RNG for test data. */
static inline unsigned long long sg_test_rng(unsigned long long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static inline float sg_test_randf(unsigned long long *s) /* uniform in [-1, 1) */
{
    return (float)((sg_test_rng(s) >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

#endif
