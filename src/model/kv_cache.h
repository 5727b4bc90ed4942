/* Per-layer K/V storage. Global layers keep every position; sliding-window layers keep a
 * ring just large enough for the window plus one batch, so their memory does not grow
 * with the context. */
#ifndef G4_MODEL_KV_CACHE_H
#define G4_MODEL_KV_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "cpu/attention.h"
#include "cpu/quant.h"
#include "model/gemma4.h"

typedef struct kv_layer {
    uint8_t *k;          /* cap rows of row_bytes: position p at row p % cap */
    uint8_t *v;
    int64_t cap;
    int64_t n_head_kv;
    int64_t head_dim;
    size_t head_bytes;   /* one head's head_dim elements in the cache type */
    size_t row_bytes;    /* n_head_kv * head_bytes */
} kv_layer;

typedef struct kv_cache {
    g4_type type;             /* F32, F16 or Q8_0 */
    const cpu_type_ops *ops;  /* the type's kernels: K dots, V rows back to f32 */
    kv_layer *layers;
    uint32_t n_layer;
    int64_t n_ctx;
    int64_t n_pos;       /* positions 0..n_pos-1 are stored */
    int64_t window;
    int64_t ring_cap;    /* rows of each sliding-window ring */
    int64_t ring_oldest; /* oldest position the rings still hold */
} kv_cache;

/* True for the types a cache can hold: F32, F16 and Q8_0. */
bool kv_cache_type_valid(g4_type type);
g4_status kv_cache_init(kv_cache *kv, const gemma4_model *model, int64_t n_ctx,
                        int64_t n_batch, g4_type type, g4_err *err);
void kv_cache_free(kv_cache *kv);
uint64_t kv_cache_bytes(const gemma4_model *model, int64_t n_ctx, int64_t n_batch,
                        g4_type type);
/* Stores one position's K and V (n_head_kv * head_dim floats each), converted. */
void kv_cache_store(const kv_cache *kv, const kv_layer *layer, int64_t pos, const float *k,
                    const float *v);
/* Points attention at one layer's K/V rings: k, v, cap, row_bytes, head_bytes, kv_ops. */
void kv_cache_attention_source(const kv_cache *kv, const kv_layer *layer, attention_args *args);
/* Records that positions up to last_pos were written (the rings overwrote older ones). */
void kv_cache_mark_written(kv_cache *kv, int64_t last_pos);
/* Drops positions >= n_keep. Fails when a sliding ring no longer holds the window
 * that position n_keep needs. */
g4_status kv_cache_truncate(kv_cache *kv, int64_t n_keep, g4_err *err);

#endif
