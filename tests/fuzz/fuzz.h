/*
 * fuzz.h -- what the libFuzzer targets share: the invariant check.
 */
#ifndef SG_FUZZ_H
#define SG_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: report it and stop the fuzzer. */
#define REQUIRE(c)                                                                                                 \
    do {                                                                                                           \
        if (!(c)) {                                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);                              \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

#endif
