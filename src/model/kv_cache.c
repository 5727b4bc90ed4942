#include "model/kv_cache.h"

#include <stdlib.h>
#include <string.h>

static int64_t layer_capacity(const gemma4_layer *ly, int64_t window, int64_t n_ctx,
                              int64_t n_batch)
{
    if (!ly->sliding)
        return n_ctx;
    int64_t ring = window - 1 + n_batch;
    return ring < n_ctx ? ring : n_ctx;
}

uint64_t kv_cache_bytes(const gemma4_model *model, int64_t n_ctx, int64_t n_batch)
{
    uint64_t total = 0;
    for (uint32_t l = 0; l < model->hp.n_layer; l++) {
        const gemma4_layer *ly = &model->layers[l];
        uint64_t cap = (uint64_t)layer_capacity(ly, model->hp.window, n_ctx, n_batch);
        total += 2 * cap * ly->n_head_kv * ly->head_dim * sizeof(float);
    }
    return total;
}

g4_status kv_cache_init(kv_cache *kv, const gemma4_model *model, int64_t n_ctx,
                        int64_t n_batch, g4_err *err)
{
    memset(kv, 0, sizeof *kv);
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
        kl->row_floats = (int64_t)ly->n_head_kv * ly->head_dim;
        if (kl->cap < kv->ring_cap)
            kv->ring_cap = kl->cap;
        size_t bytes = (size_t)kl->cap * (size_t)kl->row_floats * sizeof(float);
        kl->k = malloc(bytes);
        kl->v = malloc(bytes);
        if (!kl->k || !kl->v) {
            kv_cache_free(kv);
            return g4_fail(err, G4_ERR_NO_MEMORY,
                           "out of memory for the KV cache (%llu MiB for %lld tokens)",
                           (unsigned long long)(kv_cache_bytes(model, n_ctx, n_batch) >> 20),
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

float *kv_cache_k_row(const kv_layer *layer, int64_t pos)
{
    return layer->k + (pos % layer->cap) * layer->row_floats;
}

float *kv_cache_v_row(const kv_layer *layer, int64_t pos)
{
    return layer->v + (pos % layer->cap) * layer->row_floats;
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
