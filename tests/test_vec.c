/* The element-wise loops (cpu/vec.h) of every instruction set this machine runs: against
 * the mathematical functions in double precision, and conversions bit for bit against the
 * portable rounding of core/half.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/half.h"
#include "cpu/cpu_features.h"
#include "cpu/vec.h"
#include "harness.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_bits(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rng_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_bits() % 1000001) / 1000000.0f;
}

/* Lengths that leave every remainder of a 16-lane loop, and model-sized rows. */
static const int64_t lengths[] = {0, 1, 7, 15, 16, 17, 33, 256, 3840};
enum { N_LENGTHS = sizeof lengths / sizeof lengths[0], MAX_N = 3840 };

static void check_reductions(const cpu_vec_ops *vec, const char *isa)
{
    float x[MAX_N];
    for (int l = 0; l < N_LENGTHS; l++) {
        int64_t n = lengths[l];
        double squares = 0.0;
        float max = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            x[i] = rng_uniform(-30.0f, 30.0f);
            squares += (double)x[i] * x[i];
            max = x[i] > max ? x[i] : max;
        }
        CHECK_MSG(fabs(vec->sum_squares(x, n) - squares) <= 1e-12 * squares,
                  "%s sum_squares n=%lld", isa, (long long)n);
        CHECK_MSG(vec->max(x, n) == max, "%s max n=%lld", isa, (long long)n);
    }
}

/* exp of x - shift for x <= shift within 4e-7 relative, the sum within 1e-6. */
static void check_exp(const cpu_vec_ops *vec, const char *isa)
{
    float x[MAX_N], before[MAX_N];
    for (int l = 0; l < N_LENGTHS; l++) {
        int64_t n = lengths[l];
        for (int64_t i = 0; i < n; i++)
            x[i] = before[i] = rng_uniform(-100.0f, 3.0f);
        double want_sum = 0.0;
        for (int64_t i = 0; i < n; i++)
            want_sum += exp((double)before[i] - 3.0);
        double sum = vec->exp_shifted(x, n, 3.0f);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
            double want = exp((double)(before[i] - 3.0f));
            /* below e^-87 the argument is clamped: the result is tiny, not accurate */
            bad += before[i] - 3.0f > -87.0f ? !(fabs(x[i] - want) <= 4e-7 * want)
                                             : !(x[i] >= 0.0f && x[i] < 1e-37f);
        }
        CHECK_MSG(bad == 0, "%s exp_shifted n=%lld: %d wrong", isa, (long long)n, bad);
        CHECK_MSG(fabs(sum - want_sum) <= 1e-6 * want_sum + 1e-30, "%s exp sum n=%lld", isa,
                  (long long)n);
    }
}

static void check_gelu(const cpu_vec_ops *vec, const char *isa)
{
    float gate[MAX_N], up[MAX_N], g0[MAX_N];
    for (int l = 0; l < N_LENGTHS; l++) {
        int64_t n = lengths[l];
        for (int64_t i = 0; i < n; i++) {
            gate[i] = g0[i] = rng_uniform(-12.0f, 12.0f);
            up[i] = rng_uniform(-3.0f, 3.0f);
        }
        vec->gelu_mul(gate, up, n);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
            double g = g0[i];
            double want = 0.5 * g * (1.0 + tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) *
                          up[i];
            bad += !(fabs(gate[i] - want) <= 1e-6 * fabs(g * up[i]) + 1e-30);
        }
        CHECK_MSG(bad == 0, "%s gelu_mul n=%lld: %d wrong", isa, (long long)n, bad);
    }
}

static void check_linear(const cpu_vec_ops *vec, const char *isa)
{
    float x[MAX_N], y[MAX_N], gamma[MAX_N], y0[MAX_N];
    for (int l = 0; l < N_LENGTHS; l++) {
        int64_t n = lengths[l];
        for (int64_t i = 0; i < n + 1 && i < MAX_N; i++) {
            x[i] = rng_uniform(-2.0f, 2.0f);
            y[i] = y0[i] = rng_uniform(-2.0f, 2.0f);
            gamma[i] = rng_uniform(0.5f, 1.5f);
        }
        vec->axpy(y, 0.375f, x, n);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) /* fused or not: within one rounding */
            bad += !(fabsf(y[i] - (y0[i] + 0.375f * x[i])) <= 2.5e-7f);
        if (n < MAX_N)
            bad += y[n] != y0[n]; /* nothing past the end */
        CHECK_MSG(bad == 0, "%s axpy n=%lld: %d wrong", isa, (long long)n, bad);
        vec->scale(y, x, 1.25f, gamma, n);
        bad = 0;
        for (int64_t i = 0; i < n; i++)
            bad += y[i] != x[i] * 1.25f * gamma[i];
        vec->scale(y, x, 0.5f, NULL, n);
        for (int64_t i = 0; i < n; i++)
            bad += y[i] != x[i] * 0.5f;
        CHECK_MSG(bad == 0, "%s scale n=%lld: %d wrong", isa, (long long)n, bad);
    }
}

/* out += P V for blocks of queries of every remainder, against double sums; the padding
 * between output rows stays untouched. */
static void check_mix_rows(const cpu_vec_ops *vec, const char *isa)
{
    enum { MAX_OUT = 6, MAX_V = 33, MAX_DIM = 256, PAD = 5 };
    static const int64_t dims[] = {1, 17, 64, 100, 256};
    static float out[MAX_OUT * (MAX_DIM + PAD)], before[MAX_OUT * (MAX_DIM + PAD)];
    static float p[MAX_OUT * MAX_V], v[MAX_V * MAX_DIM];
    int bad = 0;
    for (int di = 0; di < 5; di++)
        for (int n_out = 1; n_out <= MAX_OUT; n_out++)
            for (int n_v = 0; n_v <= MAX_V; n_v += 11) {
                int64_t dim = dims[di];
                size_t stride = (size_t)dim + PAD;
                for (size_t i = 0; i < (size_t)n_out * stride; i++)
                    out[i] = before[i] = rng_uniform(-1.0f, 1.0f);
                for (int i = 0; i < n_out * n_v; i++)
                    p[i] = i % 7 == 0 ? 0.0f : rng_uniform(0.0f, 1.0f);
                for (int64_t i = 0; i < n_v * dim; i++)
                    v[i] = rng_uniform(-4.0f, 4.0f);
                vec->mix_rows(out, stride, p, (size_t)n_v, n_out, v, n_v, dim);
                for (int c = 0; c < n_out; c++) {
                    for (int64_t d = 0; d < dim; d++) {
                        double want = before[(size_t)c * stride + (size_t)d];
                        for (int j = 0; j < n_v; j++)
                            want += (double)p[c * n_v + j] * v[(int64_t)j * dim + d];
                        bad += !(fabs(out[(size_t)c * stride + (size_t)d] - want) <= 1e-5);
                    }
                    for (size_t d = (size_t)dim; d < stride; d++)
                        bad += out[(size_t)c * stride + d] != before[(size_t)c * stride + d];
                }
            }
    CHECK_MSG(bad == 0, "%s mix_rows: %d wrong", isa, bad);
}

/* Every special class: zeros, subnormals, ties, the largest values, infinities, NaNs. */
static float conversion_input(int i)
{
    static const uint32_t special[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu,
                                       0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0x477ff000u,
                                       0x477fefffu, 0x33000000u, 0x33000001u, 0x7f800000u,
                                       0xff800000u, 0x7fc00001u, 0xffa00000u, 0x387fe000u};
    if (i < (int)(sizeof special / sizeof special[0]))
        return g4_f32_from_bits(special[i]);
    return g4_f32_from_bits(rng_bits() << 8 ^ rng_bits());
}

static void check_conversions(const cpu_vec_ops *vec, const char *isa)
{
    enum { N = 4099 };
    static float x[N];
    static uint16_t got[N + 1];
    for (int i = 0; i < N; i++)
        x[i] = conversion_input(i);
    int bad = 0;
    got[N] = 0x1234;
    vec->to_bf16(x, got, N);
    for (int i = 0; i < N; i++)
        bad += got[i] != g4_f32_to_bf16(x[i]);
    bad += got[N] != 0x1234;
    CHECK_MSG(bad == 0, "%s to_bf16: %d differ", isa, bad);
    bad = 0;
    vec->to_half(x, got, N);
    for (int i = 0; i < N; i++)
        bad += got[i] != g4_f32_to_half(x[i]);
    bad += got[N] != 0x1234;
    CHECK_MSG(bad == 0, "%s to_half: %d differ", isa, bad);
}

int main(void)
{
    for (int isa = CPU_ISA_SCALAR; isa <= (int)cpu_isa_supported(); isa++) {
        const cpu_vec_ops *vec = cpu_vec_ops_for((cpu_isa)isa);
        const char *name = cpu_isa_name((cpu_isa)isa);
        printf("checking %s element-wise loops\n", name);
        check_reductions(vec, name);
        check_exp(vec, name);
        check_gelu(vec, name);
        check_linear(vec, name);
        check_mix_rows(vec, name);
        check_conversions(vec, name);
    }
    return test_finish("test_vec");
}
