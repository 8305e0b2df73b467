/*
 * kernels_avx512.c -- the AVX-512 kernel family (sg_avx512_*): 16 float
 * lanes; needs AVX-512 F/BW/VL plus AVX2/FMA/F16C.
 *
 * CMakeLists.txt compiles this file with those flags whatever SG_NATIVE
 * says; dtype.c only calls it when the CPU (and the OS, for the zmm state)
 * reports them.
 */
#define SG_FAM avx512
#define SG_FAM_VL 16
#include "tensor/kernels_simd.inc"
