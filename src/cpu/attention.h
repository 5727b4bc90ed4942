/* Causal (optionally sliding-window) multi-head attention over a ring-buffer KV cache,
 * with grouped KV heads and scale 1.0 (Gemma 4 folds the scale into its Q/K norms). */
#ifndef G4_CPU_ATTENTION_H
#define G4_CPU_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "cpu/quant.h"

/* Queries handled together, and value rows converted to f32 at a time. */
enum { ATTENTION_QUERY_BLOCK = 16, ATTENTION_VALUE_CHUNK = 32 };

/* Positions [first, last] of a query's bidirectional block (an image's soft tokens);
 * first = -1 when the query is in none. */
typedef struct attention_span {
    int64_t first, last;
} attention_span;

typedef struct attention_args {
    const float *q;          /* [n_tokens][n_head][head_dim] */
    float *out;              /* [n_tokens][n_head][head_dim] */
    int64_t n_tokens;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t head_dim;
    /* K and V: rings of cap rows of row_bytes, position p at row p % cap, head h of a row
     * at h * head_bytes, in the type of kv_ops (F32, F16 or Q8_0) */
    const uint8_t *k;
    const uint8_t *v;
    int64_t cap;
    size_t row_bytes;
    size_t head_bytes;
    const cpu_type_ops *kv_ops;
    int64_t pos0;            /* position of the first query */
    int64_t window;          /* 0: all earlier keys; else keys with p - t < window */
    /* Optional, per query: its block's keys are visible as well, later ones included;
     * NULL = plain causal. With blocks_windowed the window still hides block keys older
     * than its reach; without, the whole block stays visible. */
    const attention_span *blocks;
    bool blocks_windowed;
    float *scratch;          /* per thread: attention_scratch_floats() floats */
    int64_t scratch_per_thread;
} attention_args;

/* Scratch floats one thread needs for queries that see at most max_keys keys. */
int64_t attention_scratch_floats(int64_t max_keys, int64_t max_head_dim);

void attention(threadpool *pool, const attention_args *args);

#endif
