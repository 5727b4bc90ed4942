/* AVX-512 versions of the cpu_vec_ops loops: 16 floats at a time, the tail under a mask. */
#include <immintrin.h>
#include <math.h>

#include "cpu/simd_common.h"
#include "cpu/vec.h"

static ALWAYS_INLINE __mmask16 tail_mask(int64_t left)
{
    if (left <= 0)
        return 0;
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

static ALWAYS_INLINE __m512 load_tail(const float *x, int64_t left)
{
    return _mm512_maskz_loadu_ps(tail_mask(left), x);
}

static ALWAYS_INLINE double sum_pd(__m512d v)
{
    return _mm512_reduce_add_pd(v);
}

static double sum_squares(const float *x, int64_t n)
{
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = load_tail(x + i, n - i);
        __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        lo = _mm512_fmadd_pd(a, a, lo);
        hi = _mm512_fmadd_pd(b, b, hi);
    }
    return sum_pd(_mm512_add_pd(lo, hi));
}

static void scale(float *y, const float *x, float s, const float *gamma, int64_t n)
{
    __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sv);
        if (gamma)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, gamma + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static float max_of(const float *x, int64_t n)
{
    __m512 max = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16)
        {
        __mmask16 m = tail_mask(n - i);
        max = _mm512_mask_max_ps(max, m, max, _mm512_maskz_loadu_ps(m, x + i));
    }
    return _mm512_reduce_max_ps(max);
}

/* The same steps as the portable exp_nonpositive, 16 lanes at once. */
static ALWAYS_INLINE __m512 exp_nonpositive(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(VEC_EXP_CLAMP));
    __m512 n = _mm512_roundscale_ps(
        _mm512_fmadd_ps(x, _mm512_set1_ps(VEC_LOG2E), _mm512_set1_ps(0.5f)),
        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(VEC_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(VEC_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(VEC_EXP_C6), _mm512_set1_ps(VEC_EXP_C5));
    p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(VEC_EXP_C4));
    p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(VEC_EXP_C3));
    p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n),
                                                      _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

static double exp_shifted(float *x, int64_t n, float shift)
{
    __m512 sv = _mm512_set1_ps(shift);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 e = _mm512_maskz_mov_ps(
            m, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), sv)));
        _mm512_mask_storeu_ps(x + i, m, e);
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    return sum_pd(_mm512_add_pd(lo, hi));
}

static void axpy(float *restrict y, float a, const float *restrict x, int64_t n)
{
    __m512 av = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i),
                                   _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

enum { MIX_ROWS = 4, MIX_VECTORS = 4 }; /* a tile: 4 outputs x 64 elements in registers */

/* Elements [d0, d0 + 64) of rows outputs, accumulated over all n_v value rows. */
static ALWAYS_INLINE void mix_tile(float *out, size_t out_stride, const float *p,
                                   size_t p_stride, int rows, const float *v, int n_v,
                                   int64_t dim, int64_t d0)
{
    __mmask16 m[MIX_VECTORS];
    __m512 acc[MIX_ROWS][MIX_VECTORS];
    for (int k = 0; k < MIX_VECTORS; k++)
        m[k] = tail_mask(dim - d0 - 16 * k);
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < MIX_VECTORS; k++)
            acc[r][k] = _mm512_maskz_loadu_ps(m[k], out + (size_t)r * out_stride + d0 + 16 * k);
    for (int j = 0; j < n_v; j++) {
        __m512 x[MIX_VECTORS];
        for (int k = 0; k < MIX_VECTORS; k++)
            x[k] = _mm512_maskz_loadu_ps(m[k], v + (size_t)j * (size_t)dim + d0 + 16 * k);
        for (int r = 0; r < rows; r++) {
            __m512 weight = _mm512_set1_ps(p[(size_t)r * p_stride + (size_t)j]);
            for (int k = 0; k < MIX_VECTORS; k++)
                acc[r][k] = _mm512_fmadd_ps(weight, x[k], acc[r][k]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < MIX_VECTORS; k++)
            _mm512_mask_storeu_ps(out + (size_t)r * out_stride + d0 + 16 * k, m[k], acc[r][k]);
}

static void mix_rows(float *out, size_t out_stride, const float *p, size_t p_stride,
                     int n_out, const float *v, int n_v, int64_t dim)
{
    for (int c0 = 0; c0 < n_out; c0 += MIX_ROWS) {
        float *o = out + (size_t)c0 * out_stride;
        const float *pc = p + (size_t)c0 * p_stride;
        for (int64_t d0 = 0; d0 < dim; d0 += 16 * MIX_VECTORS) {
            switch (n_out - c0) {
            case 1: mix_tile(o, out_stride, pc, p_stride, 1, v, n_v, dim, d0); break;
            case 2: mix_tile(o, out_stride, pc, p_stride, 2, v, n_v, dim, d0); break;
            case 3: mix_tile(o, out_stride, pc, p_stride, 3, v, n_v, dim, d0); break;
            default: mix_tile(o, out_stride, pc, p_stride, MIX_ROWS, v, n_v, dim, d0); break;
            }
        }
    }
}

/* g * sigmoid(2u) with e = exp(-2|u|): 1 / (1 + e) for u >= 0, e / (1 + e) below. */
static ALWAYS_INLINE __m512 gelu_tanh(__m512 g)
{
    __m512 g3 = _mm512_mul_ps(_mm512_mul_ps(g, g), g);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(VEC_GELU_SQRT_2_OVER_PI),
                             _mm512_fmadd_ps(_mm512_set1_ps(VEC_GELU_CUBIC), g3, g));
    __m512 e = exp_nonpositive(_mm512_mul_ps(_mm512_set1_ps(-2.0f), _mm512_abs_ps(u)));
    __m512 numerator = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_GE_OQ), e, _mm512_set1_ps(1.0f));
    __m512 sigmoid = _mm512_div_ps(numerator, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    return _mm512_mul_ps(g, sigmoid);
}

static void gelu_mul(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(gelu_tanh(_mm512_maskz_loadu_ps(m, gate + i)),
                                 _mm512_maskz_loadu_ps(m, up + i));
        _mm512_mask_storeu_ps(gate + i, m, v);
    }
}

/* Round to nearest even on the bits (as g4_f32_to_bf16); NaNs truncated and quieted. */
static void to_bf16(const float *x, uint16_t *out, int64_t n)
{
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512i bits = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i));
        __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
        __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, abs_mask), inf);
        rounded = _mm512_mask_or_epi32(rounded, nan, bits, _mm512_set1_epi32(0x400000));
        _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16)));
    }
}

static void to_half(const float *x, uint16_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(out + i, m, h);
    }
}

static const cpu_vec_ops avx512_ops = {sum_squares, scale,    max_of,   exp_shifted, axpy,
                                       mix_rows,    gelu_mul, to_bf16, to_half};

const cpu_vec_ops *cpu_vec_avx512_ops(void)
{
    return &avx512_ops;
}
