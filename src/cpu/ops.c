#include "cpu/ops.h"

#include <math.h>

void rmsnorm_rows(float *out, const float *x, const float *gamma, int64_t n_rows,
                  int64_t dim, float eps)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * dim;
        float *yr = out + r * dim;
        double sum = 0.0;
        for (int64_t i = 0; i < dim; i++)
            sum += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(sum / (double)dim + eps));
        if (gamma) {
            for (int64_t i = 0; i < dim; i++)
                yr[i] = xr[i] * inv * gamma[i];
        } else {
            for (int64_t i = 0; i < dim; i++)
                yr[i] = xr[i] * inv;
        }
    }
}

void layernorm_rows(float *out, const float *x, const float *gamma, const float *beta,
                    int64_t n_rows, int64_t dim, float eps)
{
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * dim;
        float *yr = out + r * dim;
        double sum = 0.0, sum_sq = 0.0;
        for (int64_t i = 0; i < dim; i++)
            sum += xr[i];
        double mean = sum / (double)dim;
        for (int64_t i = 0; i < dim; i++)
            sum_sq += ((double)xr[i] - mean) * ((double)xr[i] - mean);
        float inv = (float)(1.0 / sqrt(sum_sq / (double)dim + eps));
        float mean_f = (float)mean;
        for (int64_t i = 0; i < dim; i++)
            yr[i] = (xr[i] - mean_f) * inv * gamma[i] + beta[i];
    }
}

void rope_angles(float *cos_out, float *sin_out, int64_t pos, int64_t head_dim, float base,
                 const float *divisors)
{
    int64_t half = head_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        double inv_freq = pow((double)base, -2.0 * (double)i / (double)head_dim);
        double theta = (double)pos * inv_freq;
        if (divisors)
            theta /= (double)divisors[i];
        cos_out[i] = (float)cos(theta);
        sin_out[i] = (float)sin(theta);
    }
}

void rope_apply(float *x, int64_t n_heads, int64_t head_dim, const float *cos_t,
                const float *sin_t)
{
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            float a = v[i], c = v[i + half];
            v[i] = a * cos_t[i] - c * sin_t[i];
            v[i + half] = a * sin_t[i] + c * cos_t[i];
        }
    }
}

/* exp(x) for x <= 0 by range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial
 * (relative error about 2e-7), written branch-free so that loops over it vectorize. */
static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    float n = floorf(x * 1.44269504f + 0.5f);
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
                     r * (0.00833335147f + r * 0.00138878031f)))));
    union { float f; int32_t i; } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}

/* gelu_tanh(g) = 0.5 g (1 + tanh(u)) = g / (1 + exp(-2u)), u = sqrt(2/pi)(g + 0.044715 g^3),
 * evaluated with exp of a non-positive argument on either side to stay finite. */
static inline float gelu_tanh(float g)
{
    float u = 0.7978845608028654f * (g + 0.044715f * g * g * g);
    float e = exp_nonpositive(-2.0f * fabsf(u));
    float sigmoid = u >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    return g * sigmoid;
}

void gelu_mul(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        gate[i] = gelu_tanh(gate[i]) * up[i];
}

void softcap(float *x, int64_t n, float cap)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = cap * tanhf(x[i] / cap);
}

void add_rows(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += y[i];
}

void scale_rows(float *x, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= s;
}
