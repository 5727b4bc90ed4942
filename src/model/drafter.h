/* Gemma 4's MTP drafter ("gemma4-assistant" GGUF): a small decoder with no K/V of its own
 * that attends into the target's KV cache and proposes the next tokens from a constant
 * query position (spec §7.1-7.3). */
#ifndef G4_MODEL_DRAFTER_H
#define G4_MODEL_DRAFTER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "core/threadpool.h"
#include "cpu/matmul.h"
#include "model/gemma4.h"
#include "model/kv_cache.h"

typedef struct drafter_layer {
    bool sliding;
    uint32_t head_dim;
    uint32_t n_ff;
    uint32_t source;   /* the target layer whose cached K/V this layer attends to */
    float *attn_norm, *attn_q_norm, *post_attention_norm, *ffn_norm, *post_ffw_norm;
    float output_scale;
    matmul_weight attn_q, attn_output, ffn_gate, ffn_up, ffn_down;
} drafter_layer;

typedef struct drafter_model {
    uint32_t n_embd;     /* the drafter's own width */
    uint32_t n_embd_out; /* the target's width: inputs and g_next */
    uint32_t n_layer;
    uint32_t n_head;
    uint32_t n_vocab;
    uint32_t window;
    uint32_t head_dim_full, head_dim_swa;
    float rope_base_full, rope_base_swa;
    float rms_eps;
    drafter_layer *layers;
    matmul_weight head;            /* token_embd: used only as the tied LM head */
    matmul_weight pre_projection;  /* [2 n_embd_out] -> [n_embd] */
    matmul_weight post_projection; /* [n_embd] -> [n_embd_out] */
    float *output_norm;
    float *rope_freqs;             /* divisors of the global layer's angles, or NULL */
} drafter_model;

/* Reads a drafter and checks that it fits the target: architecture, widths, vocabulary
 * and the target layers its attention reads. Weights are views into the file. */
g4_status drafter_load(const gguf_file *file, const gguf_file *target_file,
                       const gemma4_model *target, bool exact_math, drafter_model *d,
                       g4_err *err);
void drafter_free(drafter_model *d);

/* Work buffers of one sequence's draft steps. */
typedef struct drafter_state {
    float *z, *h, *branch, *q, *attn, *gate, *up;
    float *rope_cos, *rope_sin; /* [2][max head_dim / 2]: sliding, then global */
    float *scores;
    int64_t scores_per_thread;
    matmul_scratch mm;
} drafter_state;

/* A state for caches of up to n_ctx positions. */
g4_status drafter_state_init(drafter_state *st, const drafter_model *d, int64_t n_ctx,
                             int n_threads, g4_err *err);
void drafter_state_free(drafter_state *st);

/* One draft step (spec §7.3). input holds 2 * n_embd_out floats: the target's scaled
 * embedding of the last token, then the target-width state g (the target's final-normed
 * hidden state, or the previous step's g_next). The query sits at position kv->n_pos
 * (>= 1) and sees the cached positions before it: all of them on the global layer, the
 * last window + 1 on the sliding ones. Writes logits [n_vocab] (no soft-cap) and g_next
 * [n_embd_out]. */
void drafter_step(const drafter_model *d, drafter_state *st, threadpool *pool,
                  const kv_cache *kv, const float *input, float *logits, float *g_next);

#endif
