/* Loading the MTP drafter, checking it against its target, and one draft step. */
#include "model/drafter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/attention.h"
#include "cpu/ops.h"
#include "model/gguf_weights.h"

#define ARCH "gemma4-assistant"

static g4_status read_optional_f32(const gguf_file *f, const char *key, float fallback,
                                   float *out, g4_err *err)
{
    *out = fallback;
    return gguf_find(f, key) ? gguf_get_f32(f, key, out, err) : G4_OK;
}

static g4_status read_sizes(const gguf_file *f, drafter_model *d, g4_err *err)
{
    uint32_t key_len, key_len_swa;
    g4_status st;
    if ((st = gguf_get_u32(f, ARCH ".embedding_length", &d->n_embd, err)) ||
        (st = gguf_get_u32(f, ARCH ".embedding_length_out", &d->n_embd_out, err)) ||
        (st = gguf_get_u32(f, ARCH ".block_count", &d->n_layer, err)) ||
        (st = gguf_get_u32(f, ARCH ".attention.head_count", &d->n_head, err)) ||
        (st = weights_read_head_dims(f, ARCH, &key_len, &key_len_swa, err)) ||
        (st = gguf_get_u32(f, ARCH ".attention.sliding_window", &d->window, err)) ||
        (st = gguf_get_f32(f, ARCH ".attention.layer_norm_rms_epsilon", &d->rms_eps, err)) ||
        (st = read_optional_f32(f, ARCH ".rope.freq_base", 10000.0f, &d->rope_base_full,
                                err)) ||
        (st = read_optional_f32(f, ARCH ".rope.freq_base_swa", 10000.0f, &d->rope_base_swa,
                                err)))
        return st;
    d->head_dim_full = key_len;
    d->head_dim_swa = key_len_swa;
    if (d->n_layer == 0 || d->n_layer > GEMMA4_MAX_LAYERS || d->n_embd == 0 ||
        d->n_head == 0 || d->window == 0 || !(d->rms_eps > 0.0f) ||
        !(d->rope_base_full > 0.0f) || !(d->rope_base_swa > 0.0f) || key_len == 0 ||
        key_len_swa == 0 || key_len % 2 || key_len_swa % 2)
        return g4_fail(err, G4_ERR_FORMAT, "drafter hyper-parameters are out of range");
    if (d->n_embd_out == d->n_embd)
        return g4_fail(err, G4_ERR_FORMAT, "embedding_length_out equals embedding_length "
                       "(%u): not an MTP drafter", d->n_embd);
    uint32_t nextn = d->n_layer;
    if (gguf_find(f, ARCH ".nextn_predict_layers") &&
        (st = gguf_get_u32(f, ARCH ".nextn_predict_layers", &nextn, err)))
        return st;
    if (nextn != d->n_layer)
        return g4_fail(err, G4_ERR_FORMAT, "nextn_predict_layers (%u) must equal block_count "
                       "(%u)", nextn, d->n_layer);
    return G4_OK;
}

/* The last target layer of each kind: the drafter's sliding layers read the last sliding
 * one, its global layers the last global one. */
static g4_status pick_source(const gemma4_model *target, bool sliding, uint32_t *source,
                             g4_err *err)
{
    for (uint32_t l = target->hp.n_layer; l-- > 0;)
        if (target->layers[l].sliding == sliding) {
            *source = l;
            return G4_OK;
        }
    return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter reads the target's last %s layer, "
                   "but the model has none", sliding ? "sliding-window" : "global");
}

/* Layer kinds, feed-forward sizes and the target layer each one reads, checked to fit. */
static g4_status plan_layers(const gguf_file *f, const gemma4_model *target, drafter_model *d,
                             g4_err *err)
{
    int64_t sliding[GEMMA4_MAX_LAYERS], n_ff[GEMMA4_MAX_LAYERS], n_kv[GEMMA4_MAX_LAYERS];
    g4_status st;
    if ((st = weights_read_per_layer(f, ARCH ".attention.sliding_window_pattern", d->n_layer,
                                sliding, err)) ||
        (st = weights_read_per_layer(f, ARCH ".feed_forward_length", d->n_layer, n_ff, err)))
        return st;
    bool kv_given = gguf_find(f, ARCH ".attention.head_count_kv") != NULL;
    if (kv_given && (st = weights_read_per_layer(f, ARCH ".attention.head_count_kv", d->n_layer,
                                            n_kv, err)))
        return st;
    for (uint32_t l = 0; l < d->n_layer; l++) {
        drafter_layer *ly = &d->layers[l];
        ly->sliding = sliding[l] != 0;
        ly->head_dim = ly->sliding ? d->head_dim_swa : d->head_dim_full;
        if (n_ff[l] <= 0 || n_ff[l] > UINT32_MAX)
            return g4_fail(err, G4_ERR_FORMAT, "layer %u: feed_forward_length %lld is out of "
                           "range", l, (long long)n_ff[l]);
        ly->n_ff = (uint32_t)n_ff[l];
        if ((st = pick_source(target, ly->sliding, &ly->source, err)))
            return st;
        const gemma4_layer *src = &target->layers[ly->source];
        if (src->head_dim != ly->head_dim || d->n_head % src->n_head_kv != 0 ||
            (kv_given && n_kv[l] != src->n_head_kv))
            return g4_fail(err, G4_ERR_UNSUPPORTED,
                           "drafter layer %u (%u heads of %u) cannot attend to target layer "
                           "%u (%u KV heads of %u)", l, d->n_head, ly->head_dim, ly->source,
                           src->n_head_kv, src->head_dim);
    }
    return G4_OK;
}

static g4_status load_layer(const gguf_file *f, uint32_t l, drafter_model *d, bool exact,
                            g4_err *err)
{
    drafter_layer *ly = &d->layers[l];
    uint64_t q_dim = (uint64_t)d->n_head * ly->head_dim;
    char name[96];
    struct { const char *suffix; uint64_t n; float **dst; } vectors[] = {
        {"attn_norm", d->n_embd, &ly->attn_norm},
        {"attn_q_norm", ly->head_dim, &ly->attn_q_norm},
        {"post_attention_norm", d->n_embd, &ly->post_attention_norm},
        {"ffn_norm", d->n_embd, &ly->ffn_norm},
        {"post_ffw_norm", d->n_embd, &ly->post_ffw_norm},
    };
    struct { const char *suffix; uint64_t n_in, n_out; matmul_weight *dst; } mats[] = {
        {"attn_q", d->n_embd, q_dim, &ly->attn_q},
        {"attn_output", q_dim, d->n_embd, &ly->attn_output},
        {"ffn_gate", d->n_embd, ly->n_ff, &ly->ffn_gate},
        {"ffn_up", d->n_embd, ly->n_ff, &ly->ffn_up},
        {"ffn_down", ly->n_ff, d->n_embd, &ly->ffn_down},
    };
    g4_status st = G4_OK;
    for (size_t i = 0; st == G4_OK && i < sizeof vectors / sizeof vectors[0]; i++) {
        snprintf(name, sizeof name, "blk.%u.%s.weight", l, vectors[i].suffix);
        st = weights_load_vector(f, name, vectors[i].n, vectors[i].dst, err);
    }
    for (size_t i = 0; st == G4_OK && i < sizeof mats / sizeof mats[0]; i++) {
        snprintf(name, sizeof name, "blk.%u.%s.weight", l, mats[i].suffix);
        st = weights_load_matrix(f, name, mats[i].n_in, mats[i].n_out, exact, mats[i].dst,
                                 err);
    }
    float *scale = NULL;
    snprintf(name, sizeof name, "blk.%u.layer_output_scale.weight", l);
    if (st == G4_OK && (st = weights_load_vector(f, name, 1, &scale, err)) == G4_OK)
        ly->output_scale = scale[0];
    free(scale);
    return st;
}

/* The drafter's head must cover the target's vocabulary, token for token when the file
 * carries its tokenizer. */
static g4_status check_vocabulary(const gguf_file *f, const gguf_file *target_file,
                                  const gemma4_model *target, const drafter_model *d,
                                  g4_err *err)
{
    if (d->n_vocab != target->hp.n_vocab)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter has %u tokens but the model has "
                       "%u", d->n_vocab, target->hp.n_vocab);
    const gguf_kv *mine = gguf_find(f, "tokenizer.ggml.tokens");
    const gguf_kv *theirs = gguf_find(target_file, "tokenizer.ggml.tokens");
    if (!mine || !theirs)
        return G4_OK;
    if (mine->type != GGUF_ARRAY || mine->elem_type != GGUF_STRING ||
        mine->count != theirs->count)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter's vocabulary differs from the "
                       "model's");
    for (uint64_t i = 0; i < mine->count; i++)
        if (mine->strings[i].len != theirs->strings[i].len ||
            memcmp(mine->strings[i].ptr, theirs->strings[i].ptr, mine->strings[i].len) != 0)
            return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter's vocabulary differs from "
                           "the model's at token %llu", (unsigned long long)i);
    return G4_OK;
}

static g4_status load_globals(const gguf_file *f, drafter_model *d, bool exact, g4_err *err)
{
    const gguf_tensor *embd = weights_find(f, "token_embd.weight", err);
    if (!embd)
        return G4_ERR_FORMAT;
    if (embd->n_dims != 2 || embd->ne[0] != d->n_embd || embd->ne[1] > INT32_MAX)
        return g4_fail(err, G4_ERR_FORMAT, "tensor 'token_embd.weight' has shape [%llu, %llu], "
                       "expected [%u, vocab]", (unsigned long long)embd->ne[0],
                       (unsigned long long)embd->ne[1], d->n_embd);
    d->n_vocab = (uint32_t)embd->ne[1];
    g4_status st;
    if ((st = matmul_weight_init(&d->head, embd, exact, err)) ||
        (st = weights_load_matrix(f, "nextn.pre_projection.weight", 2 * (uint64_t)d->n_embd_out,
                                  d->n_embd, exact, &d->pre_projection, err)) ||
        (st = weights_load_matrix(f, "nextn.post_projection.weight", d->n_embd, d->n_embd_out,
                                  exact, &d->post_projection, err)) ||
        (st = weights_load_vector(f, "output_norm.weight", d->n_embd, &d->output_norm, err)))
        return st;
    if (gguf_find_tensor(f, "rope_freqs.weight"))
        return weights_load_vector(f, "rope_freqs.weight", d->head_dim_full / 2,
                                   &d->rope_freqs, err);
    return G4_OK;
}

static g4_status check_target_fit(const gemma4_model *target, const drafter_model *d,
                                  g4_err *err)
{
    if (d->n_embd_out != target->hp.n_embd)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter is made for a model of width %u "
                       "(embedding_length_out) but this model's hidden size is %u",
                       d->n_embd_out, target->hp.n_embd);
    if (d->window != target->hp.window)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the drafter's sliding window (%u) differs "
                       "from the model's (%u)", d->window, target->hp.window);
    return G4_OK;
}

g4_status drafter_load(const gguf_file *file, const gguf_file *target_file,
                       const gemma4_model *target, bool exact_math, drafter_model *d,
                       g4_err *err)
{
    memset(d, 0, sizeof *d);
    g4_status st = weights_check_architecture(file, ARCH, "a Gemma 4 MTP drafter", err);
    if (st == G4_OK)
        st = read_sizes(file, d, err);
    if (st == G4_OK)
        st = check_target_fit(target, d, err);
    if (st == G4_OK && !(d->layers = calloc(d->n_layer, sizeof *d->layers)))
        st = g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    if (st == G4_OK)
        st = plan_layers(file, target, d, err);
    if (st == G4_OK)
        st = load_globals(file, d, exact_math, err);
    if (st == G4_OK)
        st = check_vocabulary(file, target_file, target, d, err);
    for (uint32_t l = 0; st == G4_OK && l < d->n_layer; l++)
        st = load_layer(file, l, d, exact_math, err);
    if (st != G4_OK)
        drafter_free(d);
    return st;
}

void drafter_free(drafter_model *d)
{
    for (uint32_t l = 0; d->layers && l < d->n_layer; l++) {
        drafter_layer *ly = &d->layers[l];
        float *vectors[] = {ly->attn_norm, ly->attn_q_norm, ly->post_attention_norm,
                            ly->ffn_norm, ly->post_ffw_norm};
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
            free(vectors[i]);
    }
    free(d->layers);
    free(d->output_norm);
    free(d->rope_freqs);
    memset(d, 0, sizeof *d);
}

/* ---- one draft step ------------------------------------------------------------------ */

typedef struct drafter_dims {
    int64_t q_width, ff, head_dim, max_in;
} drafter_dims;

static drafter_dims dims_of(const drafter_model *d)
{
    drafter_dims m = {.head_dim = d->head_dim_full > d->head_dim_swa ? d->head_dim_full
                                                                       : d->head_dim_swa};
    for (uint32_t l = 0; l < d->n_layer; l++) {
        int64_t q = (int64_t)d->n_head * d->layers[l].head_dim;
        m.q_width = q > m.q_width ? q : m.q_width;
        m.ff = d->layers[l].n_ff > m.ff ? d->layers[l].n_ff : m.ff;
    }
    int64_t candidates[] = {2 * (int64_t)d->n_embd_out, d->n_embd, m.q_width, m.ff};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        m.max_in = candidates[i] > m.max_in ? candidates[i] : m.max_in;
    return m;
}

static float *alloc_floats(int64_t n, bool *ok)
{
    float *p = aligned_alloc(64, ((size_t)n * sizeof(float) + 63) / 64 * 64);
    if (!p)
        *ok = false;
    return p;
}

g4_status drafter_state_init(drafter_state *st, const drafter_model *d, int64_t n_ctx,
                             int n_threads, g4_err *err)
{
    memset(st, 0, sizeof *st);
    drafter_dims m = dims_of(d);
    bool ok = true;
    st->z = alloc_floats(d->n_embd, &ok);
    st->h = alloc_floats(d->n_embd, &ok);
    st->branch = alloc_floats(d->n_embd, &ok);
    st->q = alloc_floats(m.q_width, &ok);
    st->attn = alloc_floats(m.q_width, &ok);
    st->gate = alloc_floats(m.ff, &ok);
    st->up = alloc_floats(m.ff, &ok);
    st->rope_cos = alloc_floats(m.head_dim, &ok);
    st->rope_sin = alloc_floats(m.head_dim, &ok);
    st->scores_per_thread = attention_scratch_floats(n_ctx, m.head_dim);
    st->scores = alloc_floats(st->scores_per_thread * n_threads, &ok);
    g4_status status = ok ? G4_OK : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the "
                                            "drafter's buffers");
    if (status == G4_OK)
        status = matmul_scratch_init(&st->mm, m.max_in, 1, n_threads, err);
    if (status != G4_OK)
        drafter_state_free(st);
    return status;
}

void drafter_state_free(drafter_state *st)
{
    float *buffers[] = {st->z, st->h, st->branch, st->q, st->attn, st->gate, st->up,
                        st->rope_cos, st->rope_sin, st->scores};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        free(buffers[i]);
    matmul_scratch_free(&st->mm);
    memset(st, 0, sizeof *st);
}

/* Keys a sliding layer's query at pos sees: the last window + 1 cached positions, as in
 * the reference (Hugging Face transformers; llama.cpp's rule sees window - 1, which only
 * changes acceptance), or fewer when the target's ring no longer holds them. */
static int64_t sliding_reach(const kv_cache *kv, int64_t pos, int64_t window)
{
    int64_t held = pos - kv->ring_oldest;
    return held < window + 1 ? held : window + 1;
}

static void attention_sublayer(const drafter_model *d, drafter_state *st, threadpool *pool,
                               const kv_cache *kv, const drafter_layer *ly)
{
    int64_t pos = kv->n_pos;
    rmsnorm_rows(st->h, st->z, ly->attn_norm, 1, d->n_embd, d->rms_eps);
    matmul(pool, &st->mm, &ly->attn_q, st->h, 1, st->q);
    rmsnorm_rows(st->q, st->q, ly->attn_q_norm, d->n_head, ly->head_dim, d->rms_eps);
    rope_angles(st->rope_cos, st->rope_sin, pos, ly->head_dim,
                ly->sliding ? d->rope_base_swa : d->rope_base_full,
                ly->sliding ? NULL : d->rope_freqs);
    rope_apply(st->q, d->n_head, ly->head_dim, st->rope_cos, st->rope_sin);
    const kv_layer *kl = &kv->layers[ly->source];
    /* The query's own position is not cached: it attends as if it sat at pos - 1, which
     * sees exactly the positions before pos. */
    attention_args args = {
        .q = st->q,
        .out = st->attn,
        .n_tokens = 1,
        .n_head = d->n_head,
        .n_head_kv = kl->n_head_kv,
        .head_dim = ly->head_dim,
        .pos0 = pos - 1,
        .window = ly->sliding ? sliding_reach(kv, pos, d->window) : 0,
        .scratch = st->scores,
        .scratch_per_thread = st->scores_per_thread,
    };
    kv_cache_attention_source(kv, kl, &args);
    attention(pool, &args);
    matmul(pool, &st->mm, &ly->attn_output, st->attn, 1, st->branch);
    rmsnorm_rows(st->branch, st->branch, ly->post_attention_norm, 1, d->n_embd, d->rms_eps);
    add_rows(st->z, st->branch, d->n_embd);
}

static void mlp_sublayer(const drafter_model *d, drafter_state *st, threadpool *pool,
                         const drafter_layer *ly)
{
    rmsnorm_rows(st->h, st->z, ly->ffn_norm, 1, d->n_embd, d->rms_eps);
    matmul(pool, &st->mm, &ly->ffn_gate, st->h, 1, st->gate);
    matmul(pool, &st->mm, &ly->ffn_up, st->h, 1, st->up);
    gelu_mul(st->gate, st->up, ly->n_ff);
    matmul(pool, &st->mm, &ly->ffn_down, st->gate, 1, st->branch);
    rmsnorm_rows(st->branch, st->branch, ly->post_ffw_norm, 1, d->n_embd, d->rms_eps);
    add_rows(st->z, st->branch, d->n_embd);
}

void drafter_step(const drafter_model *d, drafter_state *st, threadpool *pool,
                  const kv_cache *kv, const float *input, float *logits, float *g_next)
{
    matmul(pool, &st->mm, &d->pre_projection, input, 1, st->z);
    for (uint32_t l = 0; l < d->n_layer; l++) {
        const drafter_layer *ly = &d->layers[l];
        attention_sublayer(d, st, pool, kv, ly);
        mlp_sublayer(d, st, pool, ly);
        scale_rows(st->z, ly->output_scale, d->n_embd);
    }
    rmsnorm_rows(st->h, st->z, d->output_norm, 1, d->n_embd, d->rms_eps);
    matmul(pool, &st->mm, &d->head, st->h, 1, logits);
    matmul(pool, &st->mm, &d->post_projection, st->h, 1, g_next);
}
