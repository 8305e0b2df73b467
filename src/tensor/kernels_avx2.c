/*
 * kernels_avx2.c -- the AVX2 + FMA + F16C kernel family (sg_avx2_*).
 *
 * CMakeLists.txt compiles this file with -mavx2 -mfma -mf16c (and
 * -mno-avx512f, so a -march=native build on an AVX-512 machine still gets
 * the 8-lane code here); dtype.c only calls it when the CPU reports those
 * features. Elsewhere (non-x86, or flags not applied) it compiles to the
 * `compiled` flag alone.
 */
#define SG_FAM avx2
#define SG_FAM_VL 8
#include "tensor/kernels_simd.inc"
