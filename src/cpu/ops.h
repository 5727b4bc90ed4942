/* Element-wise and per-row operations of the decoder, in f32. */
#ifndef G4_CPU_OPS_H
#define G4_CPU_OPS_H

#include <stdint.h>

/* out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * gamma, for n_rows rows of dim floats.
 * gamma may be NULL (weightless). out may equal x. */
void rmsnorm_rows(float *out, const float *x, const float *gamma, int64_t n_rows,
                  int64_t dim, float eps);

/* out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta (population variance), for
 * n_rows rows of dim floats. out may equal x. */
void layernorm_rows(float *out, const float *x, const float *gamma, const float *beta,
                    int64_t n_rows, int64_t dim, float eps);

/* Rotation angles for one position: theta_i = pos * base^(-2i/head_dim) / divisors[i]
 * (divisors may be NULL), for i < head_dim / 2. */
void rope_angles(float *cos_out, float *sin_out, int64_t pos, int64_t head_dim, float base,
                 const float *divisors);

/* NEOX rotation of n_heads consecutive head vectors: pairs (i, i + head_dim/2). */
void rope_apply(float *x, int64_t n_heads, int64_t head_dim, const float *cos_t,
                const float *sin_t);

/* gate[i] = gelu_tanh(gate[i]) * up[i]. */
void gelu_mul(float *gate, const float *up, int64_t n);

/* x[i] = cap * tanh(x[i] / cap). */
void softcap(float *x, int64_t n, float cap);

/* x[i] += y[i] */
void add_rows(float *x, const float *y, int64_t n);
void scale_rows(float *x, float s, int64_t n);

#endif
