/*
 * f16.h -- IEEE half and bfloat16 conversions (exact, round-to-nearest-even).
 */
#ifndef SG_BASE_F16_H
#define SG_BASE_F16_H

#include <stdint.h>
#include <string.h>
#if defined(__F16C__)
#include <immintrin.h>
#endif

static inline float sg_u32_as_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline uint32_t sg_f32_as_u32(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* half -> float, exact for every input including subnormals, inf and NaN. */
static inline float sg_f16_to_f32(uint16_t h)
{
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return sg_u32_as_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return sg_u32_as_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return sg_u32_as_f32(sign | ((exp + 112u) << 23) | (man << 13));
#endif
}

/* float -> half, round to nearest even. */
static inline uint16_t sg_f32_to_f16(float f)
{
    uint32_t x = sg_f32_as_u32(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow -> inf */
    if (ax < 0x38800000u) {                                  /* subnormal or zero */
        float v = sg_u32_as_f32(ax) * 16777216.0f;           /* scale by 2^24 */
        uint32_t m = (uint32_t)v;
        float r = v - (float)m;
        if (r > 0.5f || (r == 0.5f && (m & 1))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t e = (ax >> 23) - 112u;
    uint32_t m = ax & 0x7fffffu;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static inline float sg_bf16_to_f32(uint16_t b)
{
    return sg_u32_as_f32((uint32_t)b << 16);
}

/* float -> bfloat16, round to nearest even (NaN kept quiet). */
static inline uint16_t sg_f32_to_bf16(float f)
{
    uint32_t x = sg_f32_as_u32(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

#endif
