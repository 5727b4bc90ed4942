#include "cpu/attention.h"

#include <math.h>
#include <string.h>

#include "cpu/quant.h"

int64_t attention_scratch_floats(int64_t max_keys)
{
    return (int64_t)ATTENTION_QUERY_BLOCK * (max_keys + ATTENTION_QUERY_BLOCK);
}

/* A query sees one contiguous run of keys: its window (or everything before it) joined
 * with its block, which always contains the query itself. */
static int64_t first_visible(const attention_args *a, int64_t query)
{
    int64_t pos = a->pos0 + query;
    int64_t first = a->window <= 0 || pos < a->window ? 0 : pos - a->window + 1;
    const attention_span *block = a->blocks ? &a->blocks[query] : NULL;
    if (block && block->first >= 0 && !a->blocks_windowed && block->first < first)
        return block->first;
    return first;
}

static int64_t last_visible(const attention_args *a, int64_t query)
{
    int64_t pos = a->pos0 + query;
    const attention_span *block = a->blocks ? &a->blocks[query] : NULL;
    if (block && block->first >= 0 && block->last > pos)
        return block->last;
    return pos;
}

/* scores[c][j] = q_c · k_(lo + j) for the block's queries, walking the ring in at most
 * two contiguous runs. */
static void block_scores(const attention_args *a, int64_t head, int64_t q0, int n_q,
                         int64_t lo, int64_t n_keys, float *scores)
{
    const cpu_type_ops *f32 = cpu_type_ops_best(G4_TYPE_F32);
    int64_t group = a->n_head / a->n_head_kv;
    int64_t kv_head = head / group;
    int64_t row = a->n_head_kv * a->head_dim;
    size_t q_stride = (size_t)(a->n_head * a->head_dim) * sizeof(float);
    const float *q = a->q + q0 * a->n_head * a->head_dim + head * a->head_dim;
    int64_t done = 0;
    while (done < n_keys) {
        int64_t slot = (lo + done) % a->cap;
        int64_t run = a->cap - slot;
        if (run > n_keys - done)
            run = n_keys - done;
        f32->dot_tile(a->head_dim, a->k + slot * row + kv_head * a->head_dim,
                      (size_t)row * sizeof(float), (int)run, q, q_stride, n_q, scores + done,
                      (size_t)n_keys);
        done += run;
    }
}

/* Masks, normalizes and applies one query's scores to the values. */
static void query_output(const attention_args *a, int64_t head, int64_t query, int64_t lo,
                         float *scores)
{
    int64_t from = first_visible(a, query) - lo, to = last_visible(a, query) - lo;
    float max = -INFINITY;
    for (int64_t j = from; j <= to; j++)
        max = scores[j] > max ? scores[j] : max;
    double sum = 0.0;
    for (int64_t j = from; j <= to; j++) {
        scores[j] = expf(scores[j] - max);
        sum += scores[j];
    }
    float inv = (float)(1.0 / sum);
    int64_t group = a->n_head / a->n_head_kv;
    int64_t row = a->n_head_kv * a->head_dim;
    const float *v = a->v + (head / group) * a->head_dim;
    float *out = a->out + (query * a->n_head + head) * a->head_dim;
    memset(out, 0, (size_t)a->head_dim * sizeof(float));
    for (int64_t j = from; j <= to; j++) {
        const float *vr = v + ((lo + j) % a->cap) * row;
        float p = scores[j] * inv;
        for (int64_t d = 0; d < a->head_dim; d++)
            out[d] += p * vr[d];
    }
}

static void attention_item(const attention_args *a, int64_t item, float *scratch)
{
    int64_t n_blocks = (a->n_tokens + ATTENTION_QUERY_BLOCK - 1) / ATTENTION_QUERY_BLOCK;
    int64_t head = item / n_blocks;
    int64_t q0 = (item % n_blocks) * ATTENTION_QUERY_BLOCK;
    int n_q = (int)(a->n_tokens - q0 < ATTENTION_QUERY_BLOCK ? a->n_tokens - q0
                                                              : ATTENTION_QUERY_BLOCK);
    int64_t lo = first_visible(a, q0), hi = last_visible(a, q0);
    for (int c = 1; c < n_q; c++) {
        int64_t first = first_visible(a, q0 + c), last = last_visible(a, q0 + c);
        lo = first < lo ? first : lo;
        hi = last > hi ? last : hi;
    }
    int64_t n_keys = hi - lo + 1;
    block_scores(a, head, q0, n_q, lo, n_keys, scratch);
    for (int c = 0; c < n_q; c++)
        query_output(a, head, q0 + c, lo, scratch + (int64_t)c * n_keys);
}

static void attention_worker(void *ctx, int thread, int n_threads)
{
    const attention_args *a = ctx;
    int64_t n_blocks = (a->n_tokens + ATTENTION_QUERY_BLOCK - 1) / ATTENTION_QUERY_BLOCK;
    float *scratch = a->scratch + (int64_t)thread * a->scratch_per_thread;
    for (int64_t item = thread; item < a->n_head * n_blocks; item += n_threads)
        attention_item(a, item, scratch);
}

void attention(threadpool *pool, const attention_args *args)
{
    threadpool_run(pool, attention_worker, (void *)args);
}
