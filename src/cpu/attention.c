#include "cpu/attention.h"

#include <string.h>

#include "cpu/vec.h"

int64_t attention_scratch_floats(int64_t max_keys, int64_t max_head_dim)
{
    /* scores, the block's queries in the K type's activation format (at most f32), a chunk
     * of V rows as f32 */
    return (int64_t)ATTENTION_QUERY_BLOCK * (max_keys + ATTENTION_QUERY_BLOCK) +
           (int64_t)ATTENTION_QUERY_BLOCK * max_head_dim +
           (int64_t)ATTENTION_VALUE_CHUNK * max_head_dim;
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

/* The work of one (head, block of queries) item. */
typedef struct query_block {
    int64_t head, q0, lo, n_keys;
    int n_q;
    float *scores;  /* [n_q][n_keys] */
    void *queries;  /* the queries in the K type's activation format */
    float *v_rows;  /* ATTENTION_VALUE_CHUNK V rows as f32 */
} query_block;

static const uint8_t *kv_head(const attention_args *a, const uint8_t *base, int64_t pos,
                              int64_t head)
{
    int64_t kv_head = head / (a->n_head / a->n_head_kv);
    return base + (size_t)(pos % a->cap) * a->row_bytes + (size_t)kv_head * a->head_bytes;
}

/* The block's queries of this head as the K kernels read them: f32 rows in place, or
 * converted into qb->queries. */
static const void *block_queries(const attention_args *a, const query_block *qb,
                                 size_t *stride)
{
    const float *q = a->q + (qb->q0 * a->n_head + qb->head) * a->head_dim;
    *stride = (size_t)(a->n_head * a->head_dim) * sizeof(float);
    if (!a->kv_ops->quantize_act)
        return q;
    size_t bytes = cpu_act_row_bytes(a->kv_ops->act_type, a->head_dim);
    for (int c = 0; c < qb->n_q; c++)
        a->kv_ops->quantize_act(q + (int64_t)c * a->n_head * a->head_dim,
                                (uint8_t *)qb->queries + (size_t)c * bytes, a->head_dim);
    *stride = bytes;
    return qb->queries;
}

/* scores[c][j] = q_c · k_(lo + j), walking the ring in at most two contiguous runs. */
static void block_scores(const attention_args *a, const query_block *qb)
{
    size_t q_stride;
    const void *q = block_queries(a, qb, &q_stride);
    int64_t done = 0;
    while (done < qb->n_keys) {
        int64_t slot = (qb->lo + done) % a->cap;
        int64_t run = a->cap - slot;
        if (run > qb->n_keys - done)
            run = qb->n_keys - done;
        a->kv_ops->dot_tile(a->head_dim, kv_head(a, a->k, qb->lo + done, qb->head),
                            a->row_bytes, (int)run, q, q_stride, qb->n_q, qb->scores + done,
                            (size_t)qb->n_keys);
        done += run;
    }
}

/* Masks and normalizes one query's scores into probabilities (0 outside its keys). */
static void softmax_visible(const cpu_vec_ops *vec, float *scores, int64_t n_keys,
                            int64_t from, int64_t to)
{
    int64_t n = to - from + 1;
    float *visible = scores + from;
    double sum = vec->exp_shifted(visible, n, vec->max(visible, n));
    vec->scale(visible, visible, (float)(1.0 / sum), NULL, n);
    memset(scores, 0, (size_t)from * sizeof *scores);
    memset(scores + to + 1, 0, (size_t)(n_keys - to - 1) * sizeof *scores);
}

/* out_c = sum_j p_cj v_j, reading (and dequantizing) each V row once for the block. */
static void block_values(const attention_args *a, const query_block *qb,
                         const cpu_vec_ops *vec)
{
    float *out = a->out + (qb->q0 * a->n_head + qb->head) * a->head_dim;
    size_t out_stride = (size_t)(a->n_head * a->head_dim);
    for (int c = 0; c < qb->n_q; c++)
        memset(out + (size_t)c * out_stride, 0, (size_t)a->head_dim * sizeof(float));
    for (int64_t j0 = 0; j0 < qb->n_keys; j0 += ATTENTION_VALUE_CHUNK) {
        int n_v = (int)(qb->n_keys - j0 < ATTENTION_VALUE_CHUNK ? qb->n_keys - j0
                                                                 : ATTENTION_VALUE_CHUNK);
        for (int j = 0; j < n_v; j++)
            a->kv_ops->to_float(kv_head(a, a->v, qb->lo + j0 + j, qb->head),
                                qb->v_rows + (int64_t)j * a->head_dim, a->head_dim);
        vec->mix_rows(out, out_stride, qb->scores + j0, (size_t)qb->n_keys, qb->n_q, qb->v_rows,
                      n_v, a->head_dim);
    }
}

static void attention_item(const attention_args *a, int64_t item, float *scratch)
{
    int64_t n_blocks = (a->n_tokens + ATTENTION_QUERY_BLOCK - 1) / ATTENTION_QUERY_BLOCK;
    query_block qb = {.head = item / n_blocks, .q0 = (item % n_blocks) * ATTENTION_QUERY_BLOCK};
    qb.n_q = (int)(a->n_tokens - qb.q0 < ATTENTION_QUERY_BLOCK ? a->n_tokens - qb.q0
                                                                : ATTENTION_QUERY_BLOCK);
    qb.lo = first_visible(a, qb.q0);
    int64_t hi = last_visible(a, qb.q0);
    for (int c = 1; c < qb.n_q; c++) {
        int64_t first = first_visible(a, qb.q0 + c), last = last_visible(a, qb.q0 + c);
        qb.lo = first < qb.lo ? first : qb.lo;
        hi = last > hi ? last : hi;
    }
    qb.n_keys = hi - qb.lo + 1;
    qb.scores = scratch;
    qb.queries = scratch + (int64_t)ATTENTION_QUERY_BLOCK * qb.n_keys;
    qb.v_rows = (float *)qb.queries + (int64_t)ATTENTION_QUERY_BLOCK * a->head_dim;
    block_scores(a, &qb);
    const cpu_vec_ops *vec = cpu_vec_ops_best();
    for (int c = 0; c < qb.n_q; c++)
        softmax_visible(vec, qb.scores + (int64_t)c * qb.n_keys, qb.n_keys,
                        first_visible(a, qb.q0 + c) - qb.lo, last_visible(a, qb.q0 + c) - qb.lo);
    block_values(a, &qb, vec);
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
