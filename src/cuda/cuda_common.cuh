/* Shared by the CUDA sources: the device-side model and state, error checks, and the
 * kernels' launchers (each enqueues on a stream and never synchronizes). */
#ifndef G4_CUDA_CUDA_COMMON_CUH
#define G4_CUDA_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/cuda_impl.h"

/* Records a failed CUDA call in err and returns its status from the enclosing function. */
#define CU_TRY(call, err)                                                                  \
    do {                                                                                   \
        cudaError_t cu_try_rc = (call);                                                    \
        if (cu_try_rc != cudaSuccess)                                                      \
            return g4_fail((err), G4_ERR_INTERNAL, "CUDA: %s: %s", #call,                 \
                           cudaGetErrorString(cu_try_rc));                                 \
    } while (0)

/* A weight on the device, in its GGUF type. */
struct cu_weight {
    const uint8_t *data;
    int type;
    int64_t n_in, n_out;
    size_t row_bytes;
};

struct cu_layer {
    bool sliding, has_v;
    int64_t head_dim, n_head_kv, n_ff;
    const float *attn_norm, *attn_q_norm, *attn_k_norm, *post_attention_norm, *ffn_norm,
        *post_ffw_norm;
    float output_scale;
    cu_weight q, k, v, o, gate, up, down;
};

struct cu_model {
    int device;
    cu_model_desc dims;  /* hyper-parameters; its pointers are not used after upload */
    cu_layer *layers;    /* host array of device weights */
    cu_weight output;
    const float *output_norm, *rope_freqs;
    const int32_t *suppressed;
    uint8_t *arena;      /* one allocation holding every weight */
    uint64_t tile_bytes; /* f16 tile of the largest prefill weight chunk */
};

struct cu_kv_layer {
    __half *k, *v;       /* cap rows of n_head_kv * head_dim */
    int64_t cap;
};

struct cu_state {
    cu_model *m;
    int64_t n_batch;
    cudaStream_t stream;
    cublasHandle_t blas;
    cu_kv_layer *kv;     /* host array, n_layer */
    uint8_t *kv_arena, *act_arena, *scratch_arena;
    /* activations */
    float *x, *h, *branch, *q, *k, *v, *attn, *gate, *up, *logits;
    float *attn_partial; /* per (input, head, split): max, sum, unnormalized output */
    __half *act16;       /* a matmul's input as f16 (prefill) */
    __half *tile;        /* dequantized weight rows (prefill) */
    void *blas_workspace;
    int64_t *pos0;       /* device: position of the batch's first input */
    cu_span *spans;      /* device: per input */
    cudaGraphExec_t decode_graph; /* one input, no blocks: the layers as a graph */
};

/* y[t][o] = sum_i W[o][i] x[t][i] for t < n (x, y device f32). */
g4_status cu_matmul(cu_state *st, const cu_weight *w, const float *x, int64_t n, float *y,
                    g4_err *err);
bool cu_weight_type_supported(int type);

/* out[r] = x[r] / rms(x[r]) * gamma (gamma may be NULL), rows of dim. */
void cu_rmsnorm(cudaStream_t s, float *out, const float *x, const float *gamma, int64_t rows,
                int64_t dim, float eps);
/* x[r] = (x[r] + rmsnorm(branch[r]) * gamma) * scale. */
void cu_norm_add(cudaStream_t s, float *x, const float *branch, const float *gamma,
                 int64_t rows, int64_t dim, float eps, float scale);
void cu_geglu(cudaStream_t s, float *gate, const float *up, int64_t n);
void cu_logits_finish(cudaStream_t s, float *logits, int64_t rows, int64_t vocab, float cap,
                      const int32_t *suppressed, int64_t n_suppressed);

/* Per-head norms and RoPE of q (in place), and the normed, rotated K and normed V of every
 * input stored into the layer's f16 ring at positions pos0 + t. */
void cu_prepare_qkv(cudaStream_t s, const cu_model *m, const cu_layer *ly,
                    const cu_kv_layer *kv, float *q, const float *k, const float *v,
                    int64_t n, const int64_t *pos0);

typedef struct cu_attention_args {
    const float *q;
    float *out;
    const cu_kv_layer *kv;
    int64_t n, n_head, n_head_kv, head_dim;
    const int64_t *pos0;     /* device */
    int64_t window;          /* 0: none */
    const cu_span *spans;    /* device, or NULL */
    bool blocks_windowed;
    float *partial;          /* CU_ATTENTION_SPLITS * (head_dim + 2) floats per (input, head),
                                used when n <= CU_MATVEC_MAX_COLS */
} cu_attention_args;

void cu_attention(cudaStream_t s, const cu_attention_args *a);

#endif
