/* Between the C side of the CUDA backend (cuda_backend.c: reads gemma4_model, plans memory,
 * keeps the KV cache's positions) and the CUDA side (*.cu). Plain fixed-width types only, so
 * that both C and C++ read it: the model headers (C11 only) stay out of the .cu files. */
#ifndef G4_CUDA_CUDA_IMPL_H
#define G4_CUDA_CUDA_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "core/error.h"

typedef struct cuda_device_info {
    char name[256];
    uint64_t total_bytes;
    uint64_t free_bytes;
    int compute_major, compute_minor;
} cuda_device_info;

/* A weight matrix in host memory: n_out rows of n_in elements in GGUF type `type`. */
typedef struct cu_weight_desc {
    const void *data;
    int type;
    int64_t n_in, n_out;
    uint64_t row_bytes;
} cu_weight_desc;

typedef struct cu_layer_desc {
    bool sliding;
    bool has_v;           /* false: V is the raw K projection */
    int64_t head_dim, n_head_kv, n_ff;
    const float *attn_norm, *attn_q_norm, *attn_k_norm, *post_attention_norm, *ffn_norm,
        *post_ffw_norm;
    float output_scale;
    cu_weight_desc q, k, v, o, gate, up, down;
} cu_layer_desc;

typedef struct cu_model_desc {
    int64_t n_embd, n_layer, n_head, n_vocab, window;
    int64_t head_dim_full, head_dim_swa;
    float rope_base_full, rope_base_swa, rms_eps, final_softcap;
    const float *output_norm;
    const float *rope_freqs;     /* head_dim_full / 2 divisors, or NULL */
    const int32_t *suppressed;
    int64_t n_suppressed;
    cu_weight_desc output;
    const cu_layer_desc *layers; /* n_layer */
    /* the widest of each kind of activation row over the layers */
    int64_t max_q_width, max_kv_width, max_ff, max_in, max_head_dim;
} cu_model_desc;

/* Elements of the f16 weight tile of a prefill matmul (32 MiB: it stays in an H100's L2
 * between its dequantization and the GEMM), and bytes of cuBLAS's workspace. */
enum { CU_TILE_MAX_ELEMS = 16 << 20, CU_CUBLAS_WORKSPACE = 32 << 20 };
/* Inputs up to this many go through the matrix-vector kernels, more through cuBLAS; their
 * attention splits each query's keys over CU_ATTENTION_SPLITS blocks (decode has too few
 * queries to fill the device otherwise). */
enum { CU_MATVEC_MAX_COLS = 8, CU_ATTENTION_SPLITS = 32 };

typedef struct cu_span {
    int64_t first, last;
} cu_span;

typedef struct cu_batch {
    const float *x;
    int64_t n;
    int64_t pos0;
    const cu_span *spans;
    bool blocks_all_layers;
    float *hidden;
    float *logits;
    int64_t n_logits;
} cu_batch;

typedef struct cu_model cu_model;
typedef struct cu_state cu_state;

bool cu_available(g4_err *err);
g4_status cu_device_query(int device, cuda_device_info *info, g4_err *err);
/* Bytes of one weight as uploaded (rounded up to the device alignment). */
uint64_t cu_weight_bytes(const cu_weight_desc *w);
uint64_t cu_vector_bytes(int64_t n_floats);
/* Device bytes of a state's work buffers for n_batch inputs, and of the prefill scratch. */
uint64_t cu_activation_bytes(const cu_model_desc *desc, int64_t n_batch);
uint64_t cu_scratch_bytes(const cu_model_desc *desc);
/* Device bytes of f16 K/V rings of kv_caps[l] rows for every layer. */
uint64_t cu_kv_bytes(const cu_model_desc *desc, const int64_t *kv_caps);
/* One row of a weight dequantized on the host by the device kernels' own readers (for
 * tests); false for unsupported types or n_in not a multiple of 32. */
bool cu_dequant_row_host(int type, const void *row, int64_t n_in, float *out);
/* Uploads the weights; the description's pointers are read, not kept. */
g4_status cu_model_upload(const cu_model_desc *desc, int device, uint64_t weight_bytes,
                          cu_model **out, g4_err *err);
void cu_model_free(cu_model *m);
/* A state for n_batch inputs per call whose layer l keeps kv_caps[l] K/V rows (f16). */
g4_status cu_state_new(cu_model *m, int64_t n_batch, const int64_t *kv_caps, cu_state **out,
                       g4_err *err);
void cu_state_free(cu_state *st);
g4_status cu_forward(cu_state *st, const cu_batch *batch, g4_err *err);

#ifdef __cplusplus
}
#endif

#endif
