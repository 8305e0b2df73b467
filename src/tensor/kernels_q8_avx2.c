/*
 * kernels_q8_avx2.c -- 8-bit-activation kernels, AVX2 (not written yet: the
 * family row is empty and q8.c falls back to the scalar reference).
 */
#include "tensor/q8.h"

const sg_q8_family sg_q8_avx2_family = {{0}};
