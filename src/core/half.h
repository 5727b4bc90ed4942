/* IEEE half (fp16) and bfloat16 <-> f32 conversions in portable C.
 *
 * f32 -> 16-bit conversions round to nearest, ties to even; NaNs stay NaNs (quieted, sign
 * kept); values too large for fp16 become infinity. The SIMD kernels use hardware
 * conversions, which give the same results. */
#ifndef G4_CORE_HALF_H
#define G4_CORE_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint32_t g4_f32_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static inline float g4_f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float g4_half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) /* infinity or NaN (payload kept) */
        return g4_f32_from_bits(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0) /* normal: rebias 15 -> 127 */
        return g4_f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
    /* zero or subnormal: mantissa * 2^-24 is exact in f32 */
    float magnitude = (float)mantissa * 0x1p-24f;
    return sign ? -magnitude : magnitude;
}

/* Shifts right by 1..31 bits, rounding to nearest with ties to even. */
static inline uint32_t g4_shift_right_round_even(uint32_t value, unsigned shift)
{
    uint32_t kept = value >> shift;
    uint32_t rest = value & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (kept & 1)))
        kept++;
    return kept;
}

static inline uint16_t g4_f32_to_half(float f)
{
    uint32_t bits = g4_f32_bits(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    if (magnitude >= 0x477ff000u) /* 65520 and above round to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (magnitude >= 0x38800000u) { /* fp16 normal range, 2^-14 and above */
        uint32_t rebased = magnitude - 0x38000000u; /* exponent 127 -> 15 */
        return (uint16_t)(sign | g4_shift_right_round_even(rebased, 13));
    }
    uint32_t exponent = magnitude >> 23;
    if (exponent < 102) /* below 2^-25: rounds to zero (2^-25 itself ties to even zero) */
        return sign;
    /* fp16 subnormal: significand * 2^(exponent-150) in units of 2^-24; a carry into
     * 0x400 correctly yields the smallest normal. */
    uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    return (uint16_t)(sign | g4_shift_right_round_even(significand, 126 - exponent));
}

static inline float g4_bf16_to_f32(uint16_t h)
{
    return g4_f32_from_bits((uint32_t)h << 16);
}

static inline uint16_t g4_f32_to_bf16(float f)
{
    uint32_t bits = g4_f32_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) /* NaN: truncate and force quiet */
        return (uint16_t)((bits >> 16) | 0x40u);
    /* Rounding that carries out of the mantissa correctly bumps the exponent, up to inf. */
    uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(rounded >> 16);
}

#endif
