/* The Gemma 4 decoder on an NVIDIA GPU: the weights uploaded once in their GGUF types, an
 * f16 KV cache on the device, and a forward pass with the contract of gemma4_forward
 * (inputs already embedded, n inputs at positions n_pos.., optional bidirectional image
 * blocks) that returns the final residual stream or logits to the host. A plain C API; the
 * implementation is CUDA C++ (the .cu files beside it), built when CMake finds nvcc (G4_CUDA). */
#ifndef G4_CUDA_CUDA_BACKEND_H
#define G4_CUDA_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "cpu/attention.h"
#include "cuda/cuda_impl.h"
#include "model/gemma4.h"

/* True when a CUDA driver and at least one device are present; otherwise false with the
 * reason in err (never a crash on a machine without a GPU). */
bool cuda_available(g4_err *err);
g4_status cuda_device_query(int device, cuda_device_info *info, g4_err *err);

/* What a state is sized for: up to n_ctx positions, at most n_batch inputs per call. */
typedef struct cuda_state_sizes {
    int64_t n_ctx;
    int64_t n_batch;
} cuda_state_sizes;

/* Device memory a model and one state need, planned before anything is allocated. */
typedef struct cuda_memory_plan {
    uint64_t weight_bytes;     /* every weight in its GGUF type, norms as f32 */
    uint64_t kv_bytes;         /* f16 K and V of every layer */
    uint64_t activation_bytes; /* work buffers for n_batch inputs */
    uint64_t scratch_bytes;    /* f16 tiles of the prefill matmuls, cuBLAS workspace */
} cuda_memory_plan;

/* Arithmetic only (no device needed); fails only when out of host memory. */
g4_status cuda_plan_memory(const gemma4_model *m, const cuda_state_sizes *sizes,
                           cuda_memory_plan *plan, g4_err *err);
uint64_t cuda_plan_total(const cuda_memory_plan *plan);
/* G4_OK when the plan fits in free_bytes (with a safety margin); otherwise an error that
 * gives every part of the plan and the free memory in MiB. */
g4_status cuda_plan_check(const cuda_memory_plan *plan, uint64_t free_bytes, g4_err *err);

typedef struct cuda_model cuda_model;
typedef struct cuda_state cuda_state;

/* Uploads every weight of m to `device` in its GGUF type. sizes is the largest state the
 * caller will make: the upload fails with the plan's numbers when weights plus that state
 * do not fit. Weight types: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K (others fail
 * clearly). */
g4_status cuda_model_upload(const gemma4_model *m, int device, const cuda_state_sizes *sizes,
                            cuda_model **out, g4_err *err);
void cuda_model_free(cuda_model *cm);

g4_status cuda_state_new(cuda_model *cm, const cuda_state_sizes *sizes, cuda_state **out,
                         g4_err *err);
void cuda_state_free(cuda_state *st);
/* Positions stored in the state's KV cache. */
int64_t cuda_state_n_pos(const cuda_state *st);
/* Drops positions >= n_keep; fails when a sliding-window ring no longer holds what
 * position n_keep needs. */
g4_status cuda_state_truncate(cuda_state *st, int64_t n_keep, g4_err *err);

/* One forward call. */
typedef struct cuda_batch {
    const float *x;                 /* host [n][n_embd]: embedded inputs */
    int64_t n;                      /* 1 .. n_batch */
    const attention_span *spans;    /* per input, or NULL: bidirectional blocks */
    bool blocks_all_layers;         /* see gemma4_blocks.all_layers */
    float *hidden;                  /* optional host [n][n_embd]: final residual stream */
    float *logits;                  /* optional host [n_logits][n_vocab] */
    int64_t n_logits;               /* logits of the last n_logits inputs (<= n) */
} cuda_batch;

/* Runs the batch at positions n_pos .. n_pos + n - 1 and appends its K/V. Logits are
 * soft-capped with the suppressed tokens at -inf, as gemma4_logits makes them. A single
 * input without blocks runs as a CUDA graph captured on first use. */
g4_status cuda_forward(cuda_state *st, const cuda_batch *batch, g4_err *err);

#endif
