#include "cpu/ops.h"

#include <math.h>

#include "cpu/vec.h"

void rmsnorm_rows(float *out, const float *x, const float *gamma, int64_t n_rows,
                  int64_t dim, float eps)
{
    const cpu_vec_ops *vec = cpu_vec_ops_best();
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * dim;
        float *yr = out + r * dim;
        double sum = vec->sum_squares(xr, dim);
        vec->scale(yr, xr, (float)(1.0 / sqrt(sum / (double)dim + eps)), gamma, dim);
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

void gelu_mul(float *gate, const float *up, int64_t n)
{
    cpu_vec_ops_best()->gelu_mul(gate, up, n);
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
