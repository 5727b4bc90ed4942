#include "model/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/vec.h"

static int64_t layer_capacity(const gemma4_layer *ly, int64_t window, int64_t n_ctx,
                              int64_t n_batch)
{
    if (!ly->sliding)
        return n_ctx;
    int64_t ring = window - 1 + n_batch;
    return ring < n_ctx ? ring : n_ctx;
}

bool kv_cache_type_valid(g4_type type)
{
    return type == G4_TYPE_F32 || type == G4_TYPE_F16 || type == G4_TYPE_Q8_0;
}

/* Bytes of n elements in the cache type (n a multiple of 32). */
static size_t elements_bytes(g4_type type, int64_t n)
{
    switch (type) {
    case G4_TYPE_F16: return (size_t)n * sizeof(uint16_t);
    case G4_TYPE_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    default: return (size_t)n * sizeof(float);
    }
}

uint64_t kv_cache_bytes(const gemma4_model *model, int64_t n_ctx, int64_t n_batch,
                        g4_type type)
{
    uint64_t total = 0;
    for (uint32_t l = 0; l < model->hp.n_layer; l++) {
        const gemma4_layer *ly = &model->layers[l];
        uint64_t cap = (uint64_t)layer_capacity(ly, model->hp.window, n_ctx, n_batch);
        total += 2 * cap * ly->n_head_kv * elements_bytes(type, ly->head_dim);
    }
    return total;
}

g4_status kv_cache_init(kv_cache *kv, const gemma4_model *model, int64_t n_ctx,
                        int64_t n_batch, g4_type type, g4_err *err)
{
    memset(kv, 0, sizeof *kv);
    if (!kv_cache_type_valid(type))
        return g4_fail(err, G4_ERR_INVALID_ARG, "a KV cache holds f32, f16 or q8_0, not %s",
                       g4_type_name(type));
    kv->type = type;
    kv->ops = cpu_type_ops_best(type);
    kv->n_layer = model->hp.n_layer;
    kv->n_ctx = n_ctx;
    kv->window = model->hp.window;
    kv->ring_cap = n_ctx;
    kv->layers = calloc(kv->n_layer, sizeof *kv->layers);
    if (!kv->layers)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the KV cache");
    for (uint32_t l = 0; l < kv->n_layer; l++) {
        const gemma4_layer *ly = &model->layers[l];
        kv_layer *kl = &kv->layers[l];
        kl->cap = layer_capacity(ly, kv->window, n_ctx, n_batch);
        kl->n_head_kv = ly->n_head_kv;
        kl->head_dim = ly->head_dim;
        kl->head_bytes = elements_bytes(type, ly->head_dim);
        kl->row_bytes = (size_t)ly->n_head_kv * kl->head_bytes;
        if (kl->cap < kv->ring_cap)
            kv->ring_cap = kl->cap;
        size_t bytes = (size_t)kl->cap * kl->row_bytes;
        kl->k = malloc(bytes);
        kl->v = malloc(bytes);
        if (!kl->k || !kl->v) {
            kv_cache_free(kv);
            return g4_fail(err, G4_ERR_NO_MEMORY,
                           "out of memory for the KV cache (%llu MiB for %lld tokens)",
                           (unsigned long long)(kv_cache_bytes(model, n_ctx, n_batch, type) >> 20),
                           (long long)n_ctx);
        }
    }
    return G4_OK;
}

void kv_cache_free(kv_cache *kv)
{
    for (uint32_t l = 0; kv->layers && l < kv->n_layer; l++) {
        free(kv->layers[l].k);
        free(kv->layers[l].v);
    }
    free(kv->layers);
    memset(kv, 0, sizeof *kv);
}

/* One row of n_head_kv heads in the cache type; Q8_0 quantizes each head on its own. */
static void store_row(const kv_cache *kv, const kv_layer *layer, const float *x, uint8_t *out)
{
    switch (kv->type) {
    case G4_TYPE_F16:
        cpu_vec_ops_best()->to_half(x, (uint16_t *)out, layer->n_head_kv * layer->head_dim);
        return;
    case G4_TYPE_Q8_0:
        for (int64_t h = 0; h < layer->n_head_kv; h++)
            kv->ops->quantize_act(x + h * layer->head_dim, out + h * layer->head_bytes,
                                  layer->head_dim);
        return;
    default:
        memcpy(out, x, layer->row_bytes);
        return;
    }
}

void kv_cache_store(const kv_cache *kv, const kv_layer *layer, int64_t pos, const float *k,
                    const float *v)
{
    size_t offset = (size_t)(pos % layer->cap) * layer->row_bytes;
    store_row(kv, layer, k, layer->k + offset);
    store_row(kv, layer, v, layer->v + offset);
}

void kv_cache_attention_source(const kv_cache *kv, const kv_layer *layer, attention_args *args)
{
    args->k = layer->k;
    args->v = layer->v;
    args->cap = layer->cap;
    args->row_bytes = layer->row_bytes;
    args->head_bytes = layer->head_bytes;
    args->kv_ops = kv->ops;
}

void kv_cache_mark_written(kv_cache *kv, int64_t last_pos)
{
    int64_t oldest = last_pos - kv->ring_cap + 1;
    if (oldest > kv->ring_oldest)
        kv->ring_oldest = oldest;
    kv->n_pos = last_pos + 1;
}

g4_status kv_cache_truncate(kv_cache *kv, int64_t n_keep, g4_err *err)
{
    if (n_keep < 0 || n_keep > kv->n_pos)
        return g4_fail(err, G4_ERR_INVALID_ARG, "cannot keep %lld of %lld cached tokens",
                       (long long)n_keep, (long long)kv->n_pos);
    /* The next query at n_keep needs keys from n_keep - window + 1 on. */
    int64_t needed_from = n_keep - kv->window + 1;
    if (needed_from > 0 && needed_from < kv->ring_oldest)
        return g4_fail(err, G4_ERR_INVALID_ARG,
                       "the sliding-window cache no longer holds the tokens before "
                       "position %lld", (long long)n_keep);
    kv->n_pos = n_keep;
    return G4_OK;
}
