/* Attention against a direct computation of its mask rule: causal, the sliding window,
 * and bidirectional blocks (an image's soft tokens see each other, later ones included),
 * either bounded by the window (Gemma 4's rule, spec multimodal.md §5.5) or not
 * (transformers' forward), over a ring-buffer KV cache. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Copies positions 0..total-1 of k/v into a ring of cap rows. */
static void fill_ring(const float *src, int64_t total, int64_t cap, float *ring)
{
    int64_t row = KV_HEADS * DIM;
    for (int64_t j = total > cap ? total - cap : 0; j < total; j++)
        memcpy(ring + (j % cap) * row, src + j * row, (size_t)row * sizeof(float));
}

static void check_rule(threadpool *pool, int64_t n, const mask_rule *r, const char *label)
{
    int64_t pos0 = r->pos0, window = r->window;
    int64_t total = pos0 + n, cap = window > 0 ? window - 1 + n : total;
    unsigned seed = (unsigned)(pos0 * 31 + n * 7 + window);
    size_t qn = (size_t)(n * HEADS * DIM), kn = (size_t)(total * KV_HEADS * DIM);
    float *q = malloc(qn * sizeof(float)), *k = malloc(kn * sizeof(float));
    float *v = malloc(kn * sizeof(float)), *want = malloc(qn * sizeof(float));
    float *got = malloc(qn * sizeof(float));
    float *kr = malloc((size_t)(cap * KV_HEADS * DIM) * sizeof(float));
    float *vr = malloc((size_t)(cap * KV_HEADS * DIM) * sizeof(float));
    for (size_t i = 0; i < qn; i++)
        q[i] = frand(&seed);
    for (size_t i = 0; i < kn; i++) {
        k[i] = frand(&seed);
        v[i] = frand(&seed);
    }
    fill_ring(k, total, cap, kr);
    fill_ring(v, total, cap, vr);
    int64_t per_thread = attention_scratch_floats(cap);
    float *scratch = malloc((size_t)(per_thread * threadpool_size(pool)) * sizeof(float));
    attention_args a = {.q = q, .out = got, .n_tokens = n, .n_head = HEADS,
                        .n_head_kv = KV_HEADS, .head_dim = DIM, .k = kr, .v = vr, .cap = cap,
                        .pos0 = pos0, .window = window, .blocks = r->blocks,
                        .blocks_windowed = r->windowed, .scratch = scratch,
                        .scratch_per_thread = per_thread};
    attention(pool, &a);
    naive(q, k, v, n, r, want);
    double worst = 0;
    for (size_t i = 0; i < qn; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    CHECK_MSG(worst < 1e-4, "%s: max |diff| %.2e", label, worst);
    free(q), free(k), free(v), free(want), free(got), free(kr), free(vr), free(scratch);
}

/* Checks a batch of n queries at pos0 under both block rules. */
static void check_case(threadpool *pool, int64_t pos0, int64_t n, int64_t window,
                       const attention_span *blocks, const char *label)
{
    char name[128];
    mask_rule r = {pos0, window, blocks, true};
    snprintf(name, sizeof name, "%s (windowed blocks)", label);
    check_rule(pool, n, &r, name);
    r.windowed = false;
    snprintf(name, sizeof name, "%s (whole blocks)", label);
    check_rule(pool, n, &r, name);
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
