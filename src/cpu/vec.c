#include "cpu/vec.h"

#include <math.h>

#include "core/half.h"

static double sum_squares(const float *x, int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

static void scale(float *y, const float *x, float s, const float *gamma, int64_t n)
{
    if (gamma) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * s * gamma[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] * s;
    }
}

static float max_of(const float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    return max;
}

static float exp_nonpositive(float x)
{
    x = x < VEC_EXP_CLAMP ? VEC_EXP_CLAMP : x;
    float n = floorf(x * VEC_LOG2E + 0.5f);
    float r = x - n * VEC_LN2_HI - n * VEC_LN2_LO;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (VEC_EXP_C3 + r * (VEC_EXP_C4 +
                     r * (VEC_EXP_C5 + r * VEC_EXP_C6)))));
    return p * g4_f32_from_bits((uint32_t)((int32_t)n + 127) << 23);
}

static double exp_shifted(float *x, int64_t n, float shift)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = exp_nonpositive(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

static void axpy(float *restrict y, float a, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void mix_rows(float *out, size_t out_stride, const float *p, size_t p_stride,
                     int n_out, const float *v, int n_v, int64_t dim)
{
    for (int c = 0; c < n_out; c++)
        for (int j = 0; j < n_v; j++)
            if (p[(size_t)c * p_stride + (size_t)j] != 0.0f)
                axpy(out + (size_t)c * out_stride, p[(size_t)c * p_stride + (size_t)j],
                     v + (size_t)j * (size_t)dim, dim);
}

/* exp of a non-positive argument on either side, so that it stays finite */
static float gelu_tanh(float g)
{
    float u = VEC_GELU_SQRT_2_OVER_PI * (g + VEC_GELU_CUBIC * g * g * g);
    float e = exp_nonpositive(-2.0f * fabsf(u));
    float sigmoid = u >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    return g * sigmoid;
}

static void gelu_mul(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        gate[i] = gelu_tanh(gate[i]) * up[i];
}

static void to_bf16(const float *x, uint16_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = g4_f32_to_bf16(x[i]);
}

static void to_half(const float *x, uint16_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = g4_f32_to_half(x[i]);
}

static const cpu_vec_ops scalar_ops = {sum_squares, scale,    max_of,   exp_shifted, axpy,
                                       mix_rows,    gelu_mul, to_bf16, to_half};

const cpu_vec_ops *cpu_vec_ops_for(cpu_isa isa)
{
#if defined(__x86_64__) || defined(__i386__)
    if (isa == CPU_ISA_AVX512)
        return cpu_vec_avx512_ops();
#else
    (void)isa;
#endif
    return &scalar_ops;
}

const cpu_vec_ops *cpu_vec_ops_best(void)
{
    return cpu_vec_ops_for(cpu_isa_detect());
}
