/* Element-wise loops of the decoder that the compiler does not vectorize by itself
 * (reductions, exp, conversions), one table per instruction set, chosen at run time. The
 * tables agree to rounding: the same polynomial for exp, the same rounding for
 * conversions; only the order of additions in reductions differs. */
#ifndef G4_CPU_VEC_H
#define G4_CPU_VEC_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu_features.h"

typedef struct cpu_vec_ops {
    /* sum of x[i]^2, accumulated in double */
    double (*sum_squares)(const float *x, int64_t n);
    /* y[i] = x[i] * s * gamma[i], or x[i] * s when gamma is NULL; y may equal x */
    void (*scale)(float *y, const float *x, float s, const float *gamma, int64_t n);
    /* largest x[i] (-inf for n = 0) */
    float (*max)(const float *x, int64_t n);
    /* x[i] = exp(x[i] - shift) for x[i] <= shift; returns the sum, accumulated in double */
    double (*exp_shifted)(float *x, int64_t n, float shift);
    /* y[i] += a * x[i] */
    void (*axpy)(float *restrict y, float a, const float *restrict x, int64_t n);
    /* out[c * out_stride + d] += sum_j p[c * p_stride + j] * v[j * dim + d] for c < n_out,
     * j < n_v, d < dim: probabilities of a block of queries times a chunk of value rows */
    void (*mix_rows)(float *out, size_t out_stride, const float *p, size_t p_stride,
                     int n_out, const float *v, int n_v, int64_t dim);
    /* gate[i] = gelu_tanh(gate[i]) * up[i] */
    void (*gelu_mul)(float *gate, const float *up, int64_t n);
    /* out[i] = x[i] rounded to nearest even bf16 / IEEE half */
    void (*to_bf16)(const float *x, uint16_t *out, int64_t n);
    void (*to_half)(const float *x, uint16_t *out, int64_t n);
} cpu_vec_ops;

const cpu_vec_ops *cpu_vec_ops_for(cpu_isa isa);
/* The table for cpu_isa_detect(). */
const cpu_vec_ops *cpu_vec_ops_best(void);

/* ---- shared with the SIMD tables ---------------------------------------------------------- */

/* exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2/2, then a degree-6 polynomial in r
 * (relative error about 2e-7). These constants are what every table uses. */
#define VEC_EXP_CLAMP (-87.0f)
#define VEC_LOG2E 1.44269504f
#define VEC_LN2_HI 0.693145752f
#define VEC_LN2_LO 1.42860677e-6f
#define VEC_EXP_C6 0.00138878031f
#define VEC_EXP_C5 0.00833335147f
#define VEC_EXP_C4 0.0416666418f
#define VEC_EXP_C3 0.166666672f
/* gelu_tanh(g) = g / (1 + exp(-2u)), u = sqrt(2/pi) (g + 0.044715 g^3) */
#define VEC_GELU_SQRT_2_OVER_PI 0.7978845608028654f
#define VEC_GELU_CUBIC 0.044715f

const cpu_vec_ops *cpu_vec_avx512_ops(void);

#endif
