/* What every SIMD kernel file (compiled with at least AVX2 + F16C) shares: forced inlining,
 * unaligned scalar loads from packed weight blocks, and the weight kinds the generic
 * micro-kernels are instantiated for. */
#ifndef G4_CPU_SIMD_COMMON_H
#define G4_CPU_SIMD_COMMON_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/quant.h"

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

typedef enum float_weights { WEIGHTS_F32, WEIGHTS_F16, WEIGHTS_BF16 } float_weights;
typedef enum q32_weights { WEIGHTS_Q4_0, WEIGHTS_Q8_0 } q32_weights;
typedef enum k_weights { WEIGHTS_Q4_K, WEIGHTS_Q5_K, WEIGHTS_Q6_K } k_weights;

static ALWAYS_INLINE size_t float_weight_bytes(float_weights kind)
{
    return kind == WEIGHTS_F32 ? 4 : 2;
}

static ALWAYS_INLINE size_t q32_block_bytes(q32_weights kind)
{
    return kind == WEIGHTS_Q4_0 ? sizeof(block_q4_0) : sizeof(block_q8_0);
}

static ALWAYS_INLINE size_t k_block_bytes(k_weights kind)
{
    switch (kind) {
    case WEIGHTS_Q4_K: return sizeof(block_q4_K);
    case WEIGHTS_Q5_K: return sizeof(block_q5_K);
    case WEIGHTS_Q6_K: break;
    }
    return sizeof(block_q6_K);
}

#endif
