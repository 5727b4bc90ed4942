/* The Gemma 4 decoder forward pass over a batch of already-embedded inputs. */
#ifndef G4_MODEL_GEMMA4_FORWARD_H
#define G4_MODEL_GEMMA4_FORWARD_H

#include "core/threadpool.h"
#include "cpu/attention.h"
#include "cpu/matmul.h"
#include "model/gemma4.h"
#include "model/kv_cache.h"

/* Everything a sequence needs besides the weights: its KV cache and work buffers sized
 * for n_batch inputs at a time. */
typedef struct gemma4_state {
    kv_cache kv;
    int64_t n_batch;
    float *h;            /* [n_batch][n_embd] normed input of a sub-block */
    float *branch;       /* [n_batch][n_embd] output of a sub-block before the residual */
    float *q;            /* [n_batch][n_head * max head_dim] */
    float *k;            /* [n_batch][max kv width] */
    float *v;
    float *attn;         /* [n_batch][n_head * max head_dim] */
    float *gate;         /* [n_batch][max n_ff] */
    float *up;
    float *rope_cos;     /* [2][n_batch][max head_dim / 2]: sliding, then global layers */
    float *rope_sin;
    int64_t rope_half_dim; /* row length of the rope tables */
    float *scores;       /* attention scratch for every thread */
    int64_t scores_per_thread;
    matmul_scratch mm;
} gemma4_state;

/* What a state is sized for. */
typedef struct gemma4_state_sizes {
    int64_t n_ctx;
    int64_t n_batch;
    g4_type kv_type; /* F32, F16 or Q8_0 */
    int n_threads;
} gemma4_state_sizes;

g4_status gemma4_state_init(gemma4_state *st, const gemma4_model *model,
                            const gemma4_state_sizes *sizes, g4_err *err);
void gemma4_state_free(gemma4_state *st);
/* Bytes gemma4_state_init allocates. */
uint64_t gemma4_state_bytes(const gemma4_model *model, const gemma4_state_sizes *sizes);

/* Rows of token embeddings scaled by sqrt(n_embd). Ids must be valid. */
void gemma4_embed_tokens(const gemma4_model *model, const int32_t *ids, int64_t n, float *x);

/* The bidirectional blocks (images, video frames) of one pass and how they attend. */
typedef struct gemma4_blocks {
    const attention_span *spans; /* per input; NULL: no input is in a block */
    /* false (Gemma 4's rule): blocks on sliding layers only, bounded by the window;
     * true (Hugging Face transformers' forward): blocks on every layer, not bounded. */
    bool all_layers;
} gemma4_blocks;

/* Runs n <= n_batch inputs x ([n][n_embd], overwritten with the final residual stream)
 * at positions kv.n_pos .. kv.n_pos + n - 1 and appends their K/V. blocks (optional)
 * widens the attention of bidirectional blocks. capture (optional,
 * [n_layer + 1][n][n_embd]) receives the residual stream after the embedding and after
 * every layer. */
void gemma4_forward(const gemma4_model *model, gemma4_state *st, threadpool *pool, float *x,
                    int64_t n, const gemma4_blocks *blocks, float *capture);

/* One sequence's part of a batched pass: n consecutive rows of x at positions
 * kv->n_pos .. kv->n_pos + n - 1 of its own cache, with its own image blocks (optional). */
typedef struct gemma4_seq {
    kv_cache *kv;
    int64_t n;
    const gemma4_blocks *blocks;
} gemma4_seq;

/* gemma4_forward over the rows of several sequences at once: the weight matmuls run once
 * over all rows (at most work->n_batch), attention runs per sequence over its cache.
 * work provides the buffers; its scratch must cover the longest context among seqs.
 * gemma4_forward is the one-sequence case with work's own cache. */
void gemma4_forward_batch(const gemma4_model *model, gemma4_state *work, threadpool *pool,
                          float *x, const gemma4_seq *seqs, int n_seqs, float *capture);

/* Final norm (in place on x rows) and LM head: logits [n][n_vocab], soft-capped, with the
 * suppressed tokens at -inf. */
void gemma4_logits(const gemma4_model *model, gemma4_state *st, threadpool *pool, float *x,
                   int64_t n, float *logits);

#endif
