/* Weight block formats (ggml-compatible) and the CPU kernels that use them:
 * dequantization, activation quantization and tiled dot products, one table per
 * instruction set, chosen at run time. */
#ifndef G4_CPU_QUANT_H
#define G4_CPU_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/tensor_type.h"
#include "cpu/cpu_features.h"

/* ---- block layouts ----------------------------------------------------------------------
 * All fields are byte arrays so that blocks may sit at any address (rows and strides need
 * no alignment); multi-byte fields are little-endian and read with memcpy. */

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef struct block_q4_0 {
    uint8_t d[2];           /* fp16 scale */
    uint8_t qs[QK4_0 / 2];  /* w[j] = ((qs[j] & 15) - 8) * d, w[j + 16] = ((qs[j] >> 4) - 8) * d */
} block_q4_0;

typedef struct block_q8_0 {
    uint8_t d[2]; /* fp16 scale */
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct block_q4_K {
    uint8_t d[2];    /* fp16 scale of the sub-block scales */
    uint8_t dmin[2]; /* fp16 scale of the sub-block mins */
    uint8_t scales[12]; /* 8 x (6-bit scale, 6-bit min), see quant_unpack_k_scales */
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct block_q5_K {
    uint8_t d[2];
    uint8_t dmin[2];
    uint8_t scales[12];
    uint8_t qh[QK_K / 8]; /* fifth bit: bit 2k / 2k+1 of qh[l] for chunk k */
    uint8_t qs[QK_K / 2];
} block_q5_K;

typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];    /* low 4 bits */
    uint8_t qh[QK_K / 4];    /* high 2 bits */
    int8_t scales[QK_K / 16]; /* one per 16 weights */
    uint8_t d[2];
} block_q6_K;

/* Activation format for the K-quants. */
typedef struct block_q8_K {
    uint8_t d[4]; /* f32 scale */
    int8_t qs[QK_K];
    uint8_t bsums[QK_K / 16 * 2]; /* int16 sums of each 16 quants */
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "Q4_0 block size");
_Static_assert(sizeof(block_q8_0) == 34, "Q8_0 block size");
_Static_assert(sizeof(block_q4_K) == 144, "Q4_K block size");
_Static_assert(sizeof(block_q5_K) == 176, "Q5_K block size");
_Static_assert(sizeof(block_q6_K) == 210, "Q6_K block size");
_Static_assert(sizeof(block_q8_K) == 292, "Q8_K block size");

/* ---- kernel tables ------------------------------------------------------------------------ */

typedef struct cpu_type_ops {
    g4_type type;     /* weight type */
    g4_type act_type; /* G4_TYPE_F32 (for F32/F16/BF16 weights), G4_TYPE_Q8_0 or G4_TYPE_Q8_K */
    /* Dequantizes n weights (n a multiple of the block size). */
    void (*to_float)(const void *row, float *out, int64_t n);
    /* Quantizes n activations into act_type; NULL when act_type is F32. */
    void (*quantize_act)(const float *x, void *out, int64_t n);
    /* out[c * out_stride + r] = dot(weight row r, activation c) for r < n_rows, c < n_cols.
     * rows: n_rows weight rows, row_stride bytes apart; acts: n_cols activation rows in
     * act_type format, act_stride bytes apart; n elements each (a multiple of the block
     * size). Any n_rows, n_cols >= 1: the kernels block them internally so that each
     * decoded weight block is reused across several activation columns. */
    void (*dot_tile)(int64_t n, const void *rows, size_t row_stride, int n_rows,
                     const void *acts, size_t act_stride, int n_cols, float *out,
                     size_t out_stride);
    /* The same product for many columns (at least CPU_WIDE_MIN_COLS), activations given as
     * bf16 rows, when a faster way exists for them; else NULL. scratch: the calling
     * thread's CPU_WIDE_SCRATCH_BYTES, 64-byte aligned. */
    void (*dot_tile_wide)(int64_t n, const void *rows, size_t row_stride, int n_rows,
                          const void *acts, size_t act_stride, int n_cols, float *out,
                          size_t out_stride, void *scratch);
} cpu_type_ops;

/* Kernels of a weight type (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) for an
 * instruction set; NULL if the type is unsupported. Every instruction set supports every
 * type (falling back to portable code where it has nothing faster). */
const cpu_type_ops *cpu_type_ops_for(g4_type type, cpu_isa isa);
/* The same for cpu_isa_detect(). */
const cpu_type_ops *cpu_type_ops_best(g4_type type);
/* Bytes of one activation row of n elements in act_type (F32, BF16, Q8_0 or Q8_K); 0 for
 * other types. */
size_t cpu_act_row_bytes(g4_type act_type, int64_t n);

/* ---- internals shared by the kernel files ------------------------------------------------ */

/* The tables of each instruction set (cpu_type_ops_for picks among them). */
const cpu_type_ops *cpu_scalar_ops(g4_type type);
const cpu_type_ops *cpu_avx2_ops(g4_type type);
const cpu_type_ops *cpu_avx512_ops(g4_type type);
/* The entry of table[0..count) for type, or NULL. */
const cpu_type_ops *cpu_ops_find(const cpu_type_ops *table, size_t count, g4_type type);

/* Unpacks the 12-byte 6-bit (scale, min) pairs of Q4_K/Q5_K into scale[8] and min[8]. */
void quant_unpack_k_scales(const uint8_t packed[12], uint8_t scale[8], uint8_t min[8]);

/* The same four bytes at a time, for the SIMD kernels: words[0..1] hold the 8 scales and
 * words[2..3] the 8 mins, in memory order on a little-endian host. */
static inline void quant_unpack_k_scale_words(const uint8_t packed[12], uint32_t words[4])
{
    uint32_t lo, mid, hi; /* bytes 0-3: scale[0..3] + top bits of scale[4..7], 4-7: the
                             same for the mins, 8-11: low bits of scale/min[4..7] */
    memcpy(&lo, packed, 4);
    memcpy(&mid, packed + 4, 4);
    memcpy(&hi, packed + 8, 4);
    words[0] = lo & 0x3f3f3f3fu;
    words[1] = (hi & 0x0f0f0f0fu) | ((lo >> 2) & 0x30303030u);
    words[2] = mid & 0x3f3f3f3fu;
    words[3] = ((hi >> 4) & 0x0f0f0f0fu) | ((mid >> 2) & 0x30303030u);
}

/* Portable kernels the SIMD tables fall back on. */
void quant_scalar_to_float_f32(const void *row, float *out, int64_t n);
void quant_scalar_to_float_q4_K(const void *row, float *out, int64_t n);
void quant_scalar_to_float_q5_K(const void *row, float *out, int64_t n);
void quant_scalar_to_float_q6_K(const void *row, float *out, int64_t n);

/* The activation scale the quantizers use for a block whose largest magnitude is amax:
 * d = amax / 127 and its inverse (0 for an all-zero block). Shared so that the SIMD
 * quantizers produce the same bytes as the portable ones. */
static inline float quant_act_inverse_scale(float amax)
{
    return amax > 0.0f ? 127.0f / amax : 0.0f;
}

/* ---- tiling ---------------------------------------------------------------------------------
 * The SIMD dot_tile functions split the output into micro-tiles of up to rows_per_tile rows
 * x cols_per_tile columns, computed with all accumulators in registers. Columns are walked in
 * chunks whose activations fit in L2, and every weight row group is reused across a chunk. */

enum { CPU_TILE_MAX_ROWS = 4, CPU_TILE_MAX_COLS = 8 };

/* From this many activation columns on, products use dot_tile_wide where a type has it:
 * on AVX-512 with BF16, Q4_0/Q8_0 weights (scaled) rounded to bf16 against bf16
 * activations, so each product is within 2^-9 of the exact one with those activations. */
enum { CPU_WIDE_MIN_COLS = 16 };

/* dot_tile_wide converts up to CPU_WIDE_ROWS weight rows x CPU_WIDE_SPAN elements at a
 * time into its scratch (256 KiB: a share of L2). */
enum { CPU_WIDE_ROWS = 64, CPU_WIDE_SPAN = 2048 };
#define CPU_WIDE_SCRATCH_BYTES ((size_t)CPU_WIDE_ROWS * CPU_WIDE_SPAN * sizeof(uint16_t))

/* Activation bytes of one column chunk: a share of L2. With few columns (a decode step
 * verifying drafted tokens) the Q4_0/Q8_0 kernels' expanded activations are kept to a
 * share of L1 instead: a tile's weights are then re-read from L2 for each chunk, which is
 * cheaper than the micro-kernels reading every activation from L2. */
enum { CPU_TILE_CHUNK_BYTES = 384 * 1024, CPU_TILE_L1_CHUNK_BYTES = 32 * 1024 };

typedef struct cpu_micro_tile {
    int64_t n;
    const uint8_t *rows[CPU_TILE_MAX_ROWS]; /* rows past n_rows repeat the last real one */
    size_t row_stride;
    int n_rows;                             /* rows to store */
    const uint8_t *acts;
    size_t act_stride;
    float *out;
    size_t out_stride;
    bool stream; /* the first pass over these rows: prefetch the next tile's rows */
} cpu_micro_tile;

/* Computes rows_per_tile x nc outputs; table entry nc - 1 handles nc columns. */
typedef void (*cpu_micro_kernel)(const cpu_micro_tile *tile);

typedef struct cpu_tiling {
    int rows_per_tile;
    int cols_per_tile;
    size_t act_block_bytes; /* activation bytes per act_block_elems elements */
    int act_block_elems;
    cpu_micro_kernel by_cols[CPU_TILE_MAX_COLS];
} cpu_tiling;

void cpu_tile_run(const cpu_tiling *tiling, int64_t n, const void *rows, size_t row_stride,
                  int n_rows, const void *acts, size_t act_stride, int n_cols, float *out,
                  size_t out_stride);

#endif
