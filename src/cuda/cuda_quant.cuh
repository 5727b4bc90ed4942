/* GGUF weight types on the device: every supported type is read 32 elements at a time
 * ("sub-blocks": a Q4_0/Q8_0 block, an eighth of a K-quant super-block, 32 plain values), so
 * one kernel template serves all of them. Block layouts as in src/cpu/quant.h. The readers
 * also run on the host, where tests/test_cuda_quant.c checks them against the CPU's. */
#ifndef G4_CUDA_CUDA_QUANT_CUH
#define G4_CUDA_CUDA_QUANT_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "core/tensor_type.h"

/* Readers that run on the device and on the host. */
#define CU_HD __host__ __device__ __forceinline__

/* #pragma unroll in code that also compiles for the host (where g++ does not know it) */
#ifdef __CUDA_ARCH__
#define CU_UNROLL _Pragma("unroll")
#else
#define CU_UNROLL
#endif

CU_HD float cu_half_at(const uint8_t *p)
{
    return __half2float(*reinterpret_cast<const __half *>(p));
}

template <int T> struct cu_type;

template <> struct cu_type<G4_TYPE_Q4_0> {
    /* 18 bytes: f16 scale, 16 bytes of nibbles: w[j] = lo(q[j]) - 8, w[j + 16] = hi(q[j]) - 8 */
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const uint8_t *b = row + sub * 18;
        float d = cu_half_at(b);
        const uint16_t *qs = reinterpret_cast<const uint16_t *>(b + 2);
CU_UNROLL
        for (int i = 0; i < 8; i++) {
            uint32_t two = qs[i];
            w[2 * i] = d * (float)((int)(two & 15) - 8);
            w[2 * i + 1] = d * (float)((int)((two >> 8) & 15) - 8);
            w[2 * i + 16] = d * (float)((int)((two >> 4) & 15) - 8);
            w[2 * i + 17] = d * (float)((int)(two >> 12) - 8);
        }
    }
};

template <> struct cu_type<G4_TYPE_Q8_0> {
    /* 34 bytes: f16 scale, 32 int8 */
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const uint8_t *b = row + sub * 34;
        float d = cu_half_at(b);
        const uint16_t *qs = reinterpret_cast<const uint16_t *>(b + 2);
CU_UNROLL
        for (int i = 0; i < 16; i++) {
            uint32_t two = qs[i];
            w[2 * i] = d * (float)(int8_t)(two & 255);
            w[2 * i + 1] = d * (float)(int8_t)(two >> 8);
        }
    }
};

template <> struct cu_type<G4_TYPE_Q6_K> {
    /* 210 bytes per 256: ql[128] low nibbles, qh[64] high 2-bit pairs, int8 scales[16] (one
     * per 16), f16 d. Element e = 128 * upper + 32 * quarter + l takes the low or high nibble
     * of ql[64 * upper + 32 * (quarter & 1) + l] and bits 2 * quarter of qh[32 * upper + l]. */
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const uint8_t *b = row + (sub / 8) * 210;
        int s = (int)(sub % 8), upper = s / 4, quarter = s % 4;
        const uint8_t *ql = b + 64 * upper + 32 * (quarter & 1);
        const uint8_t *qh = b + 128 + 32 * upper;
        const int8_t *scales = reinterpret_cast<const int8_t *>(b + 192) + 2 * s;
        int shift = quarter >= 2 ? 4 : 0, hshift = 2 * quarter;
        float d = cu_half_at(b + 208);
        float d0 = d * (float)scales[0], d1 = d * (float)scales[1];
CU_UNROLL
        for (int l = 0; l < 32; l++) {
            int q = ((ql[l] >> shift) & 15) | (((qh[l] >> hshift) & 3) << 4);
            w[l] = (l < 16 ? d0 : d1) * (float)(q - 32);
        }
    }
};

/* Q4_K and Q5_K: super-blocks of 256 = 8 sub-blocks s with a 6-bit scale and min each
 * (packed in 12 bytes), w = d * scale_s * q - dmin * min_s; sub-block s takes the low (s even)
 * or high (s odd) nibbles of qs[32 * (s / 2) ..], Q5_K adds bit s of qh[l] as the fifth bit. */
template <int BLOCK_BYTES, int QS_OFFSET, bool FIFTH_BIT>
CU_HD void load32_k_quant(const uint8_t *row, int64_t sub, float *w)
{
    const uint8_t *b = row + (sub / 8) * BLOCK_BYTES;
    int s = (int)(sub % 8);
    const uint8_t *packed = b + 4;
    int scale, min;
    if (s < 4) {
        scale = packed[s] & 63;
        min = packed[s + 4] & 63;
    } else {
        scale = (packed[s + 4] & 15) | ((packed[s - 4] >> 6) << 4);
        min = (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4);
    }
    float d = cu_half_at(b) * (float)scale, m = cu_half_at(b + 2) * (float)min;
    const uint8_t *qs = b + QS_OFFSET + 32 * (s / 2);
    int shift = (s & 1) * 4;
CU_UNROLL
    for (int l = 0; l < 32; l++) {
        int q = (qs[l] >> shift) & 15;
        if (FIFTH_BIT)
            q |= ((b[16 + l] >> s) & 1) << 4;
        w[l] = d * (float)q - m;
    }
}

template <> struct cu_type<G4_TYPE_Q4_K> {
    /* 144 bytes: f16 d, f16 dmin, scales[12], qs[128] */
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        load32_k_quant<144, 16, false>(row, sub, w);
    }
};

template <> struct cu_type<G4_TYPE_Q5_K> {
    /* 176 bytes: f16 d, f16 dmin, scales[12], qh[32], qs[128] */
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        load32_k_quant<176, 48, true>(row, sub, w);
    }
};

template <> struct cu_type<G4_TYPE_F32> {
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const float4 *p = reinterpret_cast<const float4 *>(row) + sub * 8;
CU_UNROLL
        for (int i = 0; i < 8; i++) {
            float4 v = p[i];
            w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
        }
    }
};

template <> struct cu_type<G4_TYPE_F16> {
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const __half2 *p = reinterpret_cast<const __half2 *>(row) + sub * 16;
CU_UNROLL
        for (int i = 0; i < 16; i++) {
            float2 v = __half22float2(p[i]);
            w[2 * i] = v.x, w[2 * i + 1] = v.y;
        }
    }
};

template <> struct cu_type<G4_TYPE_BF16> {
    static CU_HD void load32(const uint8_t *row, int64_t sub, float *w)
    {
        const __nv_bfloat162 *p = reinterpret_cast<const __nv_bfloat162 *>(row) + sub * 16;
CU_UNROLL
        for (int i = 0; i < 16; i++) {
            float2 v = __bfloat1622float2(p[i]);
            w[2 * i] = v.x, w[2 * i + 1] = v.y;
        }
    }
};

template <int T> struct cu_type_tag {
    static constexpr int type = T;
};

/* Calls f(cu_type_tag<T>()) for the weight type; false for unsupported types. */
template <class F> static bool cu_by_type(int type, F f)
{
    switch (type) {
    case G4_TYPE_Q4_0: f(cu_type_tag<G4_TYPE_Q4_0>()); return true;
    case G4_TYPE_Q8_0: f(cu_type_tag<G4_TYPE_Q8_0>()); return true;
    case G4_TYPE_Q4_K: f(cu_type_tag<G4_TYPE_Q4_K>()); return true;
    case G4_TYPE_Q5_K: f(cu_type_tag<G4_TYPE_Q5_K>()); return true;
    case G4_TYPE_Q6_K: f(cu_type_tag<G4_TYPE_Q6_K>()); return true;
    case G4_TYPE_F32: f(cu_type_tag<G4_TYPE_F32>()); return true;
    case G4_TYPE_F16: f(cu_type_tag<G4_TYPE_F16>()); return true;
    case G4_TYPE_BF16: f(cu_type_tag<G4_TYPE_BF16>()); return true;
    default: return false;
    }
}

#endif
