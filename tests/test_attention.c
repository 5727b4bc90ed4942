/* Attention against a direct computation of its mask rule: causal, the sliding window,
 * and bidirectional blocks (an image's soft tokens see each other, later ones included),
 * either bounded by the window (Gemma 4's rule, spec multimodal.md §5.5) or not
 * (transformers' forward), over a ring-buffer KV cache. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/tensor_type.h"
#include "cpu/attention.h"
#include "harness.h"

enum { HEADS = 4, KV_HEADS = 2, DIM = 32 };

static float frand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

typedef struct mask_rule {
    int64_t pos0, window;
    const attention_span *blocks; /* per query, or NULL */
    bool windowed;
} mask_rule;

/* Whether the query at position q sees the key at position k. */
static bool allowed(const mask_rule *r, int64_t q, int64_t k)
{
    const attention_span *b = r->blocks ? &r->blocks[q - r->pos0] : NULL;
    bool in_block = b && b->first >= 0 && k >= b->first && k <= b->last;
    bool in_window = r->window <= 0 || k > q - r->window;
    if (r->windowed)
        return (k <= q || in_block) && in_window;
    return (k <= q && in_window) || in_block;
}

static void naive(const float *q, const float *k, const float *v, int64_t n,
                  const mask_rule *r, float *out)
{
    int64_t pos0 = r->pos0;
    int64_t total = pos0 + n;
    float *p = malloc((size_t)total * sizeof(float));
    for (int64_t t = 0; t < n; t++)
        for (int64_t h = 0; h < HEADS; h++) {
            int64_t kh = h / (HEADS / KV_HEADS);
            const float *qv = q + (t * HEADS + h) * DIM;
            double max = -INFINITY, sum = 0;
            for (int64_t j = 0; j < total; j++) {
                double s = 0;
                for (int d = 0; d < DIM; d++)
                    s += qv[d] * k[(j * KV_HEADS + kh) * DIM + d];
                p[j] = allowed(r, pos0 + t, j) ? (float)s : -INFINITY;
                max = fmax(max, p[j]);
            }
            for (int64_t j = 0; j < total; j++)
                sum += p[j] = isinf(p[j]) ? 0.0f : (float)exp(p[j] - max);
            float *o = out + (t * HEADS + h) * DIM;
            for (int d = 0; d < DIM; d++) {
                double acc = 0;
                for (int64_t j = 0; j < total; j++)
                    acc += p[j] * v[(j * KV_HEADS + kh) * DIM + d];
                o[d] = (float)(acc / sum);
            }
        }
    free(p);
}

/* A cache type and the error allowed against the direct computation, which uses the
 * cached (rounded) K and V: the Q8_0 kernels also round the queries to 8 bits. */
typedef struct kv_format {
    g4_type type;
    double tolerance;
} kv_format;

static const kv_format formats[] = {
    {G4_TYPE_F32, 1e-4}, {G4_TYPE_F16, 1e-4}, {G4_TYPE_Q8_0, 2e-2}};

/* Positions 0..total-1 of src into a ring of cap rows in the cache type, and src
 * replaced by the values the cache holds. */
static void fill_ring(const cpu_type_ops *ops, float *src, int64_t total, int64_t cap,
                      uint8_t *ring, size_t head_bytes)
{
    for (int64_t j = 0; j < total; j++)
        for (int64_t h = 0; h < KV_HEADS; h++) {
            float *x = src + (j * KV_HEADS + h) * DIM;
            uint8_t *out = ring + ((size_t)(j % cap) * KV_HEADS + (size_t)h) * head_bytes;
            if (ops->type == G4_TYPE_F16)
                for (int d = 0; d < DIM; d++)
                    ((uint16_t *)out)[d] = g4_f32_to_half(x[d]);
            else if (ops->type == G4_TYPE_Q8_0)
                ops->quantize_act(x, out, DIM);
            else
                memcpy(out, x, DIM * sizeof(float));
            ops->to_float(out, x, DIM);
        }
}

static size_t head_bytes_of(g4_type type)
{
    return type == G4_TYPE_Q8_0 ? cpu_act_row_bytes(G4_TYPE_Q8_0, DIM)
           : type == G4_TYPE_F16 ? DIM * sizeof(uint16_t)
                                 : DIM * sizeof(float);
}

static void check_rule(threadpool *pool, int64_t n, const mask_rule *r, const kv_format *fmt,
                       const char *label)
{
    int64_t pos0 = r->pos0, window = r->window;
    int64_t total = pos0 + n, cap = window > 0 ? window - 1 + n : total;
    unsigned seed = (unsigned)(pos0 * 31 + n * 7 + window);
    const cpu_type_ops *ops = cpu_type_ops_best(fmt->type);
    size_t head_bytes = head_bytes_of(fmt->type), row_bytes = KV_HEADS * head_bytes;
    size_t qn = (size_t)(n * HEADS * DIM), kn = (size_t)(total * KV_HEADS * DIM);
    float *q = malloc(qn * sizeof(float)), *k = malloc(kn * sizeof(float));
    float *v = malloc(kn * sizeof(float)), *want = malloc(qn * sizeof(float));
    float *got = malloc(qn * sizeof(float));
    uint8_t *kr = malloc((size_t)cap * row_bytes), *vr = malloc((size_t)cap * row_bytes);
    for (size_t i = 0; i < qn; i++)
        q[i] = frand(&seed);
    for (size_t i = 0; i < kn; i++) {
        k[i] = frand(&seed);
        v[i] = frand(&seed);
    }
    fill_ring(ops, k, total, cap, kr, head_bytes);
    fill_ring(ops, v, total, cap, vr, head_bytes);
    int64_t per_thread = attention_scratch_floats(cap, DIM);
    float *scratch = malloc((size_t)(per_thread * threadpool_size(pool)) * sizeof(float));
    attention_args a = {.q = q, .out = got, .n_tokens = n, .n_head = HEADS,
                        .n_head_kv = KV_HEADS, .head_dim = DIM, .k = kr, .v = vr, .cap = cap,
                        .row_bytes = row_bytes, .head_bytes = head_bytes, .kv_ops = ops,
                        .pos0 = pos0, .window = window, .blocks = r->blocks,
                        .blocks_windowed = r->windowed, .scratch = scratch,
                        .scratch_per_thread = per_thread};
    attention(pool, &a);
    naive(q, k, v, n, r, want);
    double worst = 0;
    for (size_t i = 0; i < qn; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    CHECK_MSG(worst < fmt->tolerance, "%s, %s cache: max |diff| %.2e", label,
              g4_type_name(fmt->type), worst);
    free(q), free(k), free(v), free(want), free(got), free(kr), free(vr), free(scratch);
}

/* Checks a batch of n queries at pos0 under both block rules. */
static void check_case(threadpool *pool, int64_t pos0, int64_t n, int64_t window,
                       const attention_span *blocks, const char *label)
{
    char name[128];
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        mask_rule r = {pos0, window, blocks, true};
        snprintf(name, sizeof name, "%s (windowed blocks)", label);
        check_rule(pool, n, &r, &formats[f], name);
        r.windowed = false;
        snprintf(name, sizeof name, "%s (whole blocks)", label);
        check_rule(pool, n, &r, &formats[f], name);
    }
}

/* Spans for a batch at pos0 with one block covering batch indices [from, to]. */
static void one_block(attention_span *spans, int64_t n, int64_t pos0, int64_t from, int64_t to)
{
    for (int64_t i = 0; i < n; i++)
        spans[i] = i >= from && i <= to ? (attention_span){pos0 + from, pos0 + to}
                                        : (attention_span){-1, -1};
}

int main(void)
{
    threadpool *pool = threadpool_new(2);
    attention_span spans[64];
    check_case(pool, 0, 40, 0, NULL, "causal");
    check_case(pool, 13, 20, 8, NULL, "sliding window, ring");
    one_block(spans, 40, 0, 5, 30);
    check_case(pool, 0, 40, 0, spans, "block, no window");
    one_block(spans, 40, 10, 3, 37);
    check_case(pool, 10, 40, 16, spans, "block longer than the window");
    one_block(spans, 33, 50, 0, 20);
    check_case(pool, 50, 33, 12, spans, "block at the batch start, ring wrapped");
    for (int64_t i = 0; i < 64; i++) /* two blocks back to back: frames of a video */
        spans[i] = i < 20   ? (attention_span){20, 39}
                   : i < 40 ? (attention_span){40, 59}
                            : (attention_span){-1, -1};
    check_case(pool, 20, 50, 24, spans, "two adjacent blocks");
    threadpool_free(pool);
    return test_finish("test_attention");
}
