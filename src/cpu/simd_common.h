/* What every SIMD kernel file (compiled with at least AVX2 + F16C) shares: forced inlining
 * and unaligned scalar loads from packed weight blocks. */
#ifndef G4_CPU_SIMD_COMMON_H
#define G4_CPU_SIMD_COMMON_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE uint16_t load_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static ALWAYS_INLINE float load_half(const uint8_t *p)
{
    return _cvtsh_ss(load_u16(p));
}

static ALWAYS_INLINE float load_f32(const uint8_t *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif
