/*
 * kernels_neon.c -- the AArch64 NEON kernel family (sg_neon_*): 4 float
 * lanes, the kernels of kernels_simd.inc on simd.h's NEON vocabulary.
 *
 * NEON (Advanced SIMD, with FMA and half-precision conversion) is part of
 * the AArch64 baseline, so this file needs no extra flags and dtype.c uses
 * it by default on AArch64 (SG_CPU=ref still caps it). CMakeLists.txt
 * compiles it only for aarch64/arm64 targets; compiled anywhere else it
 * yields an empty row, like the x86 families off x86. Correctness is tested
 * under qemu-aarch64 (tests/unit/neon).
 */
#define SG_FAM neon
#define SG_FAM_VL 4
#include "tensor/kernels_simd.inc"
