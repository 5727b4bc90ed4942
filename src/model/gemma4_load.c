/* Reading Gemma 4 hyper-parameters and weights from GGUF, refusing variants we do not run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gemma4.h"
#include "model/gguf_weights.h"

#define ARCH "gemma4"

/* Reads a u32 that is either a scalar or an array of n_layer values into per_layer. */
static g4_status read_per_layer_u32(const gguf_file *f, const char *key, uint32_t n_layer,
                                    uint32_t *per_layer, g4_err *err)
{
    int64_t values[GEMMA4_MAX_LAYERS];
    g4_status st = weights_read_per_layer(f, key, n_layer, values, err);
    bool array = st == G4_OK && gguf_find(f, key)->type == GGUF_ARRAY; /* a scalar is a u32 */
    for (uint32_t l = 0; st == G4_OK && l < n_layer; l++) {
        if (array && (values[l] <= 0 || values[l] > UINT32_MAX))
            return g4_fail(err, G4_ERR_FORMAT, "metadata '%s'[%u] = %lld is out of range", key,
                           l, (long long)values[l]);
        per_layer[l] = (uint32_t)values[l];
    }
    return st;
}

static g4_status read_sliding_pattern(const gguf_file *f, gemma4_hparams *hp, g4_err *err)
{
    const char *key = ARCH ".attention.sliding_window_pattern";
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return g4_fail(err, G4_ERR_FORMAT, "metadata key '%s' is missing", key);
    if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_BOOL || kv->count != hp->n_layer)
        return g4_fail(err, G4_ERR_FORMAT, "metadata '%s' must be %u booleans", key,
                       hp->n_layer);
    for (uint32_t l = 0; l < hp->n_layer; l++)
        hp->sliding[l] = kv->value[l] != 0;
    return G4_OK;
}

/* Keys whose presence with a non-trivial value marks a Gemma 4 variant we do not run. */
static g4_status refuse_unsupported_variants(const gguf_file *f, g4_err *err)
{
    static const struct { const char *key; const char *what; } variants[] = {
        {ARCH ".embedding_length_per_layer_input", "per-layer embeddings"},
        {ARCH ".attention.shared_kv_layers", "KV sharing between layers"},
        {ARCH ".expert_count", "mixture of experts"},
        {ARCH ".expert_feed_forward_length", "mixture of experts"},
        {ARCH ".attn_logit_softcapping", "attention logit soft-capping"},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        if (!gguf_find(f, variants[i].key))
            continue;
        uint32_t v = 0;
        float fv = 0.0f;
        if (gguf_get_u32(f, variants[i].key, &v, NULL) != G4_OK &&
            gguf_get_f32(f, variants[i].key, &fv, NULL) != G4_OK)
            return g4_fail(err, G4_ERR_FORMAT, "metadata '%s' has an unexpected type",
                           variants[i].key);
        if (v != 0 || fv != 0.0f)
            return g4_fail(err, G4_ERR_UNSUPPORTED,
                           "this Gemma 4 variant uses %s (%s), which g4 does not support yet",
                           variants[i].what, variants[i].key);
    }
    if (gguf_find_tensor(f, "per_layer_token_embd.weight"))
        return g4_fail(err, G4_ERR_UNSUPPORTED,
                       "this Gemma 4 variant has per-layer embeddings, which g4 does not "
                       "support yet");
    return G4_OK;
}

static g4_status read_hparams(const gguf_file *f, gemma4_hparams *hp, g4_err *err)
{
    g4_status st;
    if ((st = weights_check_architecture(f, ARCH, "a Gemma 4 model", err)) != G4_OK ||
        (st = refuse_unsupported_variants(f, err)) != G4_OK)
        return st;
    uint32_t key_len, key_len_swa;
    if ((st = gguf_get_u32(f, ARCH ".embedding_length", &hp->n_embd, err)) ||
        (st = gguf_get_u32(f, ARCH ".block_count", &hp->n_layer, err)) ||
        (st = gguf_get_u32(f, ARCH ".context_length", &hp->n_ctx_train, err)) ||
        (st = gguf_get_u32(f, ARCH ".attention.head_count", &hp->n_head, err)) ||
        (st = weights_read_head_dims(f, ARCH, &key_len, &key_len_swa, err)) ||
        (st = gguf_get_u32(f, ARCH ".attention.sliding_window", &hp->window, err)) ||
        (st = gguf_get_f32(f, ARCH ".attention.layer_norm_rms_epsilon", &hp->rms_eps, err)))
        return st;
    if (hp->n_layer == 0 || hp->n_layer > GEMMA4_MAX_LAYERS)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "block_count %u is outside 1..%d",
                       hp->n_layer, GEMMA4_MAX_LAYERS);
    hp->head_dim_full = key_len;
    hp->head_dim_swa = key_len_swa;
    hp->rope_base_full = 10000.0f;
    hp->rope_base_swa = 10000.0f;
    hp->final_softcap = 0.0f;
    if (gguf_find(f, ARCH ".rope.freq_base") &&
        (st = gguf_get_f32(f, ARCH ".rope.freq_base", &hp->rope_base_full, err)))
        return st;
    if (gguf_find(f, ARCH ".rope.freq_base_swa") &&
        (st = gguf_get_f32(f, ARCH ".rope.freq_base_swa", &hp->rope_base_swa, err)))
        return st;
    if (gguf_find(f, ARCH ".final_logit_softcapping") &&
        (st = gguf_get_f32(f, ARCH ".final_logit_softcapping", &hp->final_softcap, err)))
        return st;
    if ((st = read_per_layer_u32(f, ARCH ".feed_forward_length", hp->n_layer, hp->n_ff, err)) ||
        (st = read_per_layer_u32(f, ARCH ".attention.head_count_kv", hp->n_layer,
                                 hp->n_head_kv, err)) ||
        (st = read_sliding_pattern(f, hp, err)))
        return st;
    hp->embd_scale = sqrtf((float)hp->n_embd);
    return G4_OK;
}

/* Every dimension must be positive and heads must divide evenly into KV groups. */
static g4_status check_hparams(const gemma4_hparams *hp, g4_err *err)
{
    if (hp->n_embd == 0 || hp->n_head == 0 || hp->head_dim_full == 0 ||
        hp->head_dim_swa == 0 || hp->head_dim_full % 2 || hp->head_dim_swa % 2 ||
        hp->window == 0 || !(hp->rms_eps > 0.0f) || !(hp->rope_base_full > 0.0f) ||
        !(hp->rope_base_swa > 0.0f) || !(hp->final_softcap >= 0.0f))
        return g4_fail(err, G4_ERR_FORMAT, "model hyper-parameters are out of range");
    for (uint32_t l = 0; l < hp->n_layer; l++)
        if (hp->n_head % hp->n_head_kv[l] != 0)
            return g4_fail(err, G4_ERR_FORMAT, "layer %u: %u heads do not split into %u KV "
                           "heads", l, hp->n_head, hp->n_head_kv[l]);
    return G4_OK;
}

static g4_status load_layer_vectors(const gguf_file *f, uint32_t l, gemma4_layer *ly,
                                    const gemma4_hparams *hp, g4_err *err)
{
    char name[96];
    struct { const char *suffix; uint64_t n; float **dst; } vectors[] = {
        {"attn_norm", hp->n_embd, &ly->attn_norm},
        {"attn_q_norm", ly->head_dim, &ly->attn_q_norm},
        {"attn_k_norm", ly->head_dim, &ly->attn_k_norm},
        {"post_attention_norm", hp->n_embd, &ly->post_attention_norm},
        {"ffn_norm", hp->n_embd, &ly->ffn_norm},
        {"post_ffw_norm", hp->n_embd, &ly->post_ffw_norm},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        snprintf(name, sizeof name, "blk.%u.%s.weight", l, vectors[i].suffix);
        g4_status st = weights_load_vector(f, name, vectors[i].n, vectors[i].dst, err);
        if (st != G4_OK)
            return st;
    }
    ly->output_scale = 1.0f;
    snprintf(name, sizeof name, "blk.%u.layer_output_scale.weight", l);
    if (gguf_find_tensor(f, name)) {
        float *scale = NULL;
        g4_status st = weights_load_vector(f, name, 1, &scale, err);
        if (st != G4_OK)
            return st;
        ly->output_scale = scale[0];
        free(scale);
    }
    return G4_OK;
}

static g4_status load_layer_matrices(const gguf_file *f, uint32_t l, gemma4_layer *ly,
                                     const gemma4_hparams *hp, bool exact, g4_err *err)
{
    char name[96];
    uint64_t q_dim = (uint64_t)hp->n_head * ly->head_dim;
    uint64_t kv_dim = (uint64_t)ly->n_head_kv * ly->head_dim;
    snprintf(name, sizeof name, "blk.%u.attn_v.weight", l);
    ly->has_v = gguf_find_tensor(f, name) != NULL;
    struct { const char *suffix; uint64_t n_in, n_out; matmul_weight *dst; } mats[] = {
        {"attn_q", hp->n_embd, q_dim, &ly->attn_q},
        {"attn_k", hp->n_embd, kv_dim, &ly->attn_k},
        {"attn_v", hp->n_embd, kv_dim, &ly->attn_v},
        {"attn_output", q_dim, hp->n_embd, &ly->attn_output},
        {"ffn_gate", hp->n_embd, ly->n_ff, &ly->ffn_gate},
        {"ffn_up", hp->n_embd, ly->n_ff, &ly->ffn_up},
        {"ffn_down", ly->n_ff, hp->n_embd, &ly->ffn_down},
    };
    for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
        if (mats[i].dst == &ly->attn_v && !ly->has_v)
            continue;
        snprintf(name, sizeof name, "blk.%u.%s.weight", l, mats[i].suffix);
        g4_status st = weights_load_matrix(f, name, mats[i].n_in, mats[i].n_out, exact,
                                           mats[i].dst, err);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

static g4_status load_layer(const gguf_file *f, uint32_t l, gemma4_model *m, bool exact,
                            g4_err *err)
{
    const gemma4_hparams *hp = &m->hp;
    gemma4_layer *ly = &m->layers[l];
    ly->sliding = hp->sliding[l];
    ly->head_dim = ly->sliding ? hp->head_dim_swa : hp->head_dim_full;
    ly->n_head_kv = hp->n_head_kv[l];
    ly->n_ff = hp->n_ff[l];
    g4_status st = load_layer_vectors(f, l, ly, hp, err);
    if (st == G4_OK)
        st = load_layer_matrices(f, l, ly, hp, exact, err);
    if (st == G4_OK && !ly->has_v && ly->sliding)
        st = g4_fail(err, G4_ERR_FORMAT, "tensor 'blk.%u.attn_v.weight' is missing", l);
    return st;
}

static g4_status load_suppressed_tokens(const gguf_file *f, gemma4_model *m, g4_err *err)
{
    /* The 12B's tied head leaks <image|>/<audio|> (258882/258883) unless they are
     * suppressed; files without the key still get those two, when in range. */
    static const int32_t fallback[] = {258882, 258883};
    const gguf_kv *kv = gguf_find(f, "tokenizer.ggml.suppress_tokens");
    uint64_t n = kv ? kv->count : 2;
    if (kv && kv->type != GGUF_ARRAY)
        return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.suppress_tokens is not an array");
    m->suppressed = calloc(n ? n : 1, sizeof(int32_t));
    if (!m->suppressed)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        int64_t id = fallback[i];
        if (kv && gguf_array_i64(kv, i, &id, err) != G4_OK)
            return g4_fail_context(err, "tokenizer.ggml.suppress_tokens");
        if (id >= 0 && id < (int64_t)m->hp.n_vocab)
            m->suppressed[m->n_suppressed++] = (int32_t)id;
    }
    return G4_OK;
}

static g4_status load_globals(const gguf_file *f, gemma4_model *m, bool exact, g4_err *err)
{
    const gguf_tensor *embd = weights_find(f, "token_embd.weight", err);
    if (!embd)
        return G4_ERR_FORMAT;
    if (embd->n_dims != 2 || embd->ne[0] != m->hp.n_embd || embd->ne[1] > INT32_MAX)
        return g4_fail(err, G4_ERR_FORMAT, "tensor 'token_embd.weight' has shape [%llu, %llu], "
                       "expected [%u, vocab]", (unsigned long long)embd->ne[0],
                       (unsigned long long)embd->ne[1], m->hp.n_embd);
    m->hp.n_vocab = (uint32_t)embd->ne[1];
    g4_status st = matmul_weight_init(&m->token_embd, embd, exact, err);
    if (st != G4_OK)
        return st;
    m->output = m->token_embd;
    if (gguf_find_tensor(f, "output.weight") &&
        (st = weights_load_matrix(f, "output.weight", m->hp.n_embd, m->hp.n_vocab, exact,
                                  &m->output, err)))
        return st;
    if ((st = weights_load_vector(f, "output_norm.weight", m->hp.n_embd, &m->output_norm, err)))
        return st;
    if (gguf_find_tensor(f, "rope_freqs.weight") &&
        (st = weights_load_vector(f, "rope_freqs.weight", m->hp.head_dim_full / 2,
                                  &m->rope_freqs, err)))
        return st;
    return load_suppressed_tokens(f, m, err);
}

g4_status gemma4_load(const gguf_file *file, bool exact_math, gemma4_model *model,
                      g4_err *err)
{
    memset(model, 0, sizeof *model);
    g4_status st = read_hparams(file, &model->hp, err);
    if (st == G4_OK)
        st = check_hparams(&model->hp, err);
    if (st == G4_OK)
        st = load_globals(file, model, exact_math, err);
    if (st == G4_OK) {
        model->layers = calloc(model->hp.n_layer, sizeof *model->layers);
        if (!model->layers)
            st = g4_fail(err, G4_ERR_NO_MEMORY, "out of memory");
    }
    for (uint32_t l = 0; st == G4_OK && l < model->hp.n_layer; l++)
        st = load_layer(file, l, model, exact_math, err);
    if (st != G4_OK)
        gemma4_free(model);
    return st;
}

void gemma4_free(gemma4_model *model)
{
    for (uint32_t l = 0; model->layers && l < model->hp.n_layer; l++) {
        gemma4_layer *ly = &model->layers[l];
        free(ly->attn_norm);
        free(ly->attn_q_norm);
        free(ly->attn_k_norm);
        free(ly->post_attention_norm);
        free(ly->ffn_norm);
        free(ly->post_ffw_norm);
    }
    free(model->layers);
    free(model->output_norm);
    free(model->rope_freqs);
    free(model->suppressed);
    memset(model, 0, sizeof *model);
}

uint64_t gemma4_weight_bytes(const gemma4_model *model)
{
    const matmul_weight *w = &model->token_embd;
    uint64_t total = (uint64_t)w->row_bytes * (uint64_t)w->n_out;
    for (uint32_t l = 0; l < model->hp.n_layer; l++) {
        const gemma4_layer *ly = &model->layers[l];
        const matmul_weight *mats[] = {&ly->attn_q, &ly->attn_k, &ly->attn_v,
                                       &ly->attn_output, &ly->ffn_gate, &ly->ffn_up,
                                       &ly->ffn_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            if (mats[i]->data)
                total += (uint64_t)mats[i]->row_bytes * (uint64_t)mats[i]->n_out;
    }
    return total;
}
