/* Per-layer K/V storage. Global layers keep every position; sliding-window layers keep a
 * ring just large enough for the window plus one batch, so their memory does not grow
 * with the context. */
#ifndef G4_MODEL_KV_CACHE_H
#define G4_MODEL_KV_CACHE_H

#include <stdint.h>

#include "core/error.h"
#include "model/gemma4.h"

typedef struct kv_layer {
    float *k;            /* cap rows of row_floats: position p at row p % cap */
    float *v;
    int64_t cap;
    int64_t row_floats;  /* n_head_kv * head_dim */
} kv_layer;

typedef struct kv_cache {
    kv_layer *layers;
    uint32_t n_layer;
    int64_t n_ctx;
    int64_t n_pos;       /* positions 0..n_pos-1 are stored */
    int64_t window;
    int64_t ring_cap;    /* rows of each sliding-window ring */
    int64_t ring_oldest; /* oldest position the rings still hold */
} kv_cache;

g4_status kv_cache_init(kv_cache *kv, const gemma4_model *model, int64_t n_ctx,
                        int64_t n_batch, g4_err *err);
void kv_cache_free(kv_cache *kv);
uint64_t kv_cache_bytes(const gemma4_model *model, int64_t n_ctx, int64_t n_batch);
float *kv_cache_k_row(const kv_layer *layer, int64_t pos);
float *kv_cache_v_row(const kv_layer *layer, int64_t pos);
/* Records that positions up to last_pos were written (the rings overwrote older ones). */
void kv_cache_mark_written(kv_cache *kv, int64_t last_pos);
/* Drops positions >= n_keep. Fails when a sliding ring no longer holds the window
 * that position n_keep needs. */
g4_status kv_cache_truncate(kv_cache *kv, int64_t n_keep, g4_err *err);

#endif
