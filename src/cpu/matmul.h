/* Matrix products with weights in their GGUF block format: Y[t][o] = sum_i W[o][i] X[t][i].
 * Activations are converted once per product to the format the weight type's kernel reads
 * (8-bit blocks for quantized weights), then output rows are computed in tiles spread
 * over the thread pool. */
#ifndef G4_CPU_MATMUL_H
#define G4_CPU_MATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"
#include "core/threadpool.h"
#include "cpu/quant.h"

typedef struct matmul_weight {
    const void *data;       /* n_out rows of n_in elements in `type` */
    g4_type type;
    int64_t n_in;
    int64_t n_out;
    size_t row_bytes;
    const cpu_type_ops *ops;
    bool exact;             /* dequantize to f32 and multiply in f32 (verification mode) */
} matmul_weight;

/* Describes a 2-D GGUF tensor [n_in, n_out] as a weight; fails for unsupported types. */
g4_status matmul_weight_init(matmul_weight *w, const gguf_tensor *tensor, bool exact,
                             g4_err *err);

/* Buffers a product needs, sized once for the largest one. */
typedef struct matmul_scratch {
    void *acts;             /* activations converted for the kernels */
    size_t acts_bytes;
    void *per_thread;       /* each thread's share: dequantized weight tiles (exact mode)
                               or the bf16 kernels' scratch */
    size_t bytes_per_thread;
} matmul_scratch;

g4_status matmul_scratch_init(matmul_scratch *s, int64_t max_in, int64_t max_tokens,
                              int n_threads, g4_err *err);
void matmul_scratch_free(matmul_scratch *s);
/* Bytes matmul_scratch_init allocates. */
uint64_t matmul_scratch_bytes(int64_t max_in, int64_t max_tokens, int n_threads);

/* y[t * n_out + o] for t < n_tokens. x is n_tokens rows of w->n_in floats. */
void matmul(threadpool *pool, matmul_scratch *s, const matmul_weight *w, const float *x,
            int64_t n_tokens, float *y);
/* Several products of the same input (all weights have the same n_in and activation
 * format): x is converted once and all outputs are computed in one dispatch. */
void matmul_shared_input(threadpool *pool, matmul_scratch *s, const matmul_weight *const *ws,
                         float *const *ys, int n_weights, const float *x, int64_t n_tokens);

/* Dequantizes row `row` of the weight into out (n_in floats). */
void matmul_weight_row(const matmul_weight *w, int64_t row, float *out);

#endif
