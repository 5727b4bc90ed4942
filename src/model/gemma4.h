/* Gemma 4 ("gemma4" GGUF architecture, the 12B "unified" text decoder): hyper-parameters
 * and weights read from GGUF metadata, and the forward pass over a batch of inputs. */
#ifndef G4_MODEL_GEMMA4_H
#define G4_MODEL_GEMMA4_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "cpu/matmul.h"

#define GEMMA4_MAX_LAYERS 256

typedef struct gemma4_hparams {
    uint32_t n_embd;
    uint32_t n_layer;
    uint32_t n_head;
    uint32_t n_vocab;
    uint32_t n_ctx_train;
    uint32_t head_dim_full;   /* global layers */
    uint32_t head_dim_swa;    /* sliding-window layers */
    uint32_t window;          /* sliding window, the current token included */
    float rope_base_full;
    float rope_base_swa;
    float rms_eps;
    float final_softcap;      /* 0 = none */
    float embd_scale;         /* sqrt(n_embd), applied to token embeddings only */
    uint32_t n_ff[GEMMA4_MAX_LAYERS];
    uint32_t n_head_kv[GEMMA4_MAX_LAYERS];
    bool sliding[GEMMA4_MAX_LAYERS];
} gemma4_hparams;

typedef struct gemma4_layer {
    bool sliding;
    uint32_t head_dim;
    uint32_t n_head_kv;
    uint32_t n_ff;
    float *attn_norm, *attn_q_norm, *attn_k_norm, *post_attention_norm, *ffn_norm,
        *post_ffw_norm;
    float output_scale;
    matmul_weight attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down;
    bool has_v;                  /* false on global layers: V is the raw K projection */
} gemma4_layer;

typedef struct gemma4_model {
    gemma4_hparams hp;
    gemma4_layer *layers;
    matmul_weight token_embd;
    matmul_weight output;        /* the LM head: token_embd unless output.weight exists */
    float *output_norm;
    float *rope_freqs;           /* head_dim_full / 2 divisors of the global layers' angles,
                                    or NULL */
    int32_t *suppressed;         /* token ids whose logits are forced to -inf */
    uint32_t n_suppressed;
} gemma4_model;

/* Reads and validates hyper-parameters and weights (views into the mapped file). */
g4_status gemma4_load(const gguf_file *file, bool exact_math, gemma4_model *model,
                      g4_err *err);
void gemma4_free(gemma4_model *model);

/* Weight bytes and a per-type tensor census, for `g4 info`. */
uint64_t gemma4_weight_bytes(const gemma4_model *model);

#endif
