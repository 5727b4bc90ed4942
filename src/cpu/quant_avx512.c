/* AVX-512 kernels (F, BW, VL, DQ, VNNI). Integer dot products use vpdpbusd, which
 * multiplies unsigned bytes by signed bytes: weights are turned into unsigned codes
 * (q + offset) and the offset is taken back out with the activation sums. Each integer
 * block dot is then scaled in f32 and accumulated per lane; lanes are summed at the end.
 *
 * Speed notes (Zen 5): vpdpbusd, vmulps and vfmadd share two pipes, and the kernels are
 * bound by total instruction throughput, so the Q4_0/Q8_0 activations are rearranged
 * once per call (q32_act_step) to take that work out of the inner loops; matrix-vector
 * kernels prefetch the next tile's rows, which doubles their memory throughput. */
#include <immintrin.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "cpu/quant.h"
#include "cpu/simd_common.h"

/* (a & mask) | b in one instruction. */
static ALWAYS_INLINE __m512i and_or(__m512i a, __m512i mask, __m512i b)
{
    return _mm512_ternarylogic_epi32(a, b, mask, 0xEC);
}

static ALWAYS_INLINE __m512i dot_u8_s8(__m512i codes, __m512i acts)
{
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, acts);
}

static ALWAYS_INLINE __m512i broadcast_256(const uint8_t *p)
{
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

static ALWAYS_INLINE __m512i mask_bytes(int byte)
{
    return _mm512_set1_epi8((char)byte);
}

/* Weight rows are read a tile at a time, each row sequentially; the hardware prefetcher
 * alone leaves a matrix-vector product well short of memory bandwidth, so each read of
 * `bytes` weights also prefetches the same place rows_ahead rows further on (the next
 * tile's rows). Prefetches past the end of the matrix are harmless. Only a tile's first
 * pass over its rows prefetches (t->stream): later column groups reuse the rows from cache
 * and the prefetches would only take load slots. */
static ALWAYS_INLINE void prefetch_ahead(const cpu_micro_tile *t, const uint8_t *weights,
                                         size_t bytes, int rows_ahead)
{
    const char *ahead = (const char *)weights + (size_t)rows_ahead * t->row_stride;
    for (size_t offset = 0; offset < bytes; offset += 64)
        _mm_prefetch(ahead + offset, _MM_HINT_T0);
}

/* Stores the horizontal sums of acc[r][c] for the tile's real rows. */
static ALWAYS_INLINE void store_tile(const cpu_micro_tile *t, __m512 acc[][CPU_TILE_MAX_COLS],
                                     int rows, int cols)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows && r < t->n_rows; r++)
            t->out[(size_t)c * t->out_stride + (size_t)r] = _mm512_reduce_add_ps(acc[r][c]);
}

/* ---- float weights x f32 activations --------------------------------------------------------- */

/* 16 weights from element i as f32. A tail step (mask != all) reads only the masked lanes
 * and zeroes the rest; full steps use plain loads, because GCC does not keep accumulators
 * in registers across masked-load builtins. */
static ALWAYS_INLINE __m512 load_float_weights(const uint8_t *row, int64_t i,
                                               float_weights kind, __mmask16 mask)
{
    const bool full = mask == 0xffff;
    switch (kind) {
    case WEIGHTS_F32:
        return full ? _mm512_loadu_ps(row + 4 * i) : _mm512_maskz_loadu_ps(mask, row + 4 * i);
    case WEIGHTS_F16:
    case WEIGHTS_BF16:
        break;
    }
    __m256i halves = full ? _mm256_loadu_si256((const __m256i *)(row + 2 * i))
                          : _mm256_maskz_loadu_epi16(mask, row + 2 * i);
    if (kind == WEIGHTS_F16)
        return _mm512_cvtph_ps(halves);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(halves), 16));
}

static ALWAYS_INLINE __m512 load_f32_acts(const float *act, int64_t i, __mmask16 mask)
{
    return mask == 0xffff ? _mm512_loadu_ps(act + i) : _mm512_maskz_loadu_ps(mask, act + i);
}

static ALWAYS_INLINE void float_step(const cpu_micro_tile *t, __m512 acc[][CPU_TILE_MAX_COLS],
                                     int cols, float_weights kind, int64_t i, __mmask16 mask)
{
    __m512 w[4];
    for (int r = 0; r < 4; r++) {
        size_t bytes = 16 * float_weight_bytes(kind);
        if (t->stream)
            prefetch_ahead(t, t->rows[r] + (size_t)i * float_weight_bytes(kind), bytes, 4);
        w[r] = load_float_weights(t->rows[r], i, kind, mask);
    }
    for (int c = 0; c < cols; c++) {
        const float *act = (const float *)(t->acts + (size_t)c * t->act_stride);
        __m512 x = load_f32_acts(act, i, mask);
        for (int r = 0; r < 4; r++)
            acc[r][c] = _mm512_fmadd_ps(w[r], x, acc[r][c]);
    }
}

static ALWAYS_INLINE void float_micro(const cpu_micro_tile *t, int cols, float_weights kind)
{
    __m512 acc[4][CPU_TILE_MAX_COLS];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= t->n; i += 16)
        float_step(t, acc, cols, kind, i, 0xffff);
    if (i < t->n)
        float_step(t, acc, cols, kind, i, (__mmask16)((1u << (t->n - i)) - 1));
    store_tile(t, acc, 4, cols);
}

/* ---- Q4_0 / Q8_0 weights x Q8_0 activations ------------------------------------------------
 * Two 32-weight blocks fill one register: lanes 0-7 hold block b, lanes 8-15 block b + 1. */

/* The codes are q + offset, unsigned. */
static ALWAYS_INLINE int q32_offset(q32_weights kind)
{
    return kind == WEIGHTS_Q4_0 ? 8 : 128;
}

/* 16 unsigned byte codes as floats. */
static ALWAYS_INLINE __m512 codes_to_float(__m128i codes)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes));
}

/* The 32 weights of a Q4_0 ((code - 8) * d) or Q8_0 (q * d) block as floats: halves[0]
 * holds elements 0-15, halves[1] 16-31. */
static ALWAYS_INLINE void q32_block_floats(const uint8_t *block, q32_weights kind,
                                           __m512 halves[2])
{
    __m512 d = _mm512_set1_ps(load_half(block));
    if (kind == WEIGHTS_Q4_0) {
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
        __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
        __m512 eight = _mm512_set1_ps(8.0f);
        halves[0] = _mm512_mul_ps(_mm512_sub_ps(codes_to_float(lo), eight), d);
        halves[1] = _mm512_mul_ps(_mm512_sub_ps(codes_to_float(hi), eight), d);
        return;
    }
    for (int h = 0; h < 2; h++) {
        __m128i q = _mm_loadu_si128((const __m128i *)(block + 2 + 16 * h));
        halves[h] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
    }
}

/* How a step reads its two blocks. TWO_BLOCKS_WIDE takes each block pair with one or two
 * wide loads that read past the pair (up to 80 bytes from its start), so it is used only
 * where at least two more blocks follow; the row's last blocks use TWO_BLOCKS / ONE_BLOCK
 * (the odd last block, with zeros in place of the second). */
typedef enum pair_reach { ONE_BLOCK, TWO_BLOCKS, TWO_BLOCKS_WIDE } pair_reach;

typedef struct q32_pair {
    __m512i quants; /* unsigned codes (weights) or signed quants (activations) */
    __m512 scales;  /* lanes 0-7: scale of block 0, lanes 8-15: of block 1 */
} q32_pair;

/* Word (16-bit) indices into a block pair: 18-byte Q4_0 blocks are 9 words (scale, then 8
 * words of nibbles), 34-byte Q8_0 blocks 17 (scale, then 16 words of quants). */
static const uint16_t q4_0_nibble_words[32] = {1,  2,  3,  4,  5,  6,  7,  8,  1,  2,  3,
                                               4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15,
                                               16, 17, 10, 11, 12, 13, 14, 15, 16, 17};
static const uint16_t q4_0_scale_words[32] = {0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9};
static const uint16_t q8_0_quant_words[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                              12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23,
                                              24, 25, 26, 27, 28, 29, 30, 31, 32, 33};
static const uint16_t q8_0_scale_words[32] = {0,  0,  0,  0,  0,  0,  0,  0,
                                              17, 17, 17, 17, 17, 17, 17, 17};

static ALWAYS_INLINE __m512i load_512(const void *p)
{
    return _mm512_loadu_si512(p);
}

/* The fp16 scales picked by a word permutation, as 16 floats. */
static ALWAYS_INLINE __m512 permuted_scales(const uint16_t *words, __m512i pair)
{
    __m512i halves = _mm512_permutexvar_epi16(load_512(words), pair);
    return _mm512_cvtph_ps(_mm512_castsi512_si256(halves));
}

static ALWAYS_INLINE __m512 pair_scales(const uint8_t *block, size_t block_bytes, bool two)
{
    __m128i halves = _mm_cvtsi32_si128(load_u16(block));
    if (two)
        halves = _mm_insert_epi16(halves, load_u16(block + block_bytes), 1);
    const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_cvtph_ps(halves)));
}

static ALWAYS_INLINE q32_pair q8_0_pair(const uint8_t *block, pair_reach reach)
{
    q32_pair pair;
    if (reach == TWO_BLOCKS_WIDE) {
        __m512i head = load_512(block);
        __m512i tail = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(block + 64)));
        pair.quants = _mm512_permutex2var_epi16(head, load_512(q8_0_quant_words), tail);
        pair.scales = permuted_scales(q8_0_scale_words, head);
        return pair;
    }
    bool two = reach == TWO_BLOCKS;
    __m256i lo = _mm256_loadu_si256((const __m256i *)(block + 2));
    __m256i hi = two ? _mm256_loadu_si256((const __m256i *)(block + sizeof(block_q8_0) + 2))
                     : _mm256_setzero_si256();
    pair.quants = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    pair.scales = pair_scales(block, sizeof(block_q8_0), two);
    return pair;
}

/* Q4_0 codes: each block's 16 bytes appear twice, keeping low nibbles (weights 0-15), then
 * high nibbles (16-31). */
static ALWAYS_INLINE q32_pair q4_0_pair(const uint8_t *block, pair_reach reach)
{
    q32_pair pair;
    __m512i packed;
    if (reach == TWO_BLOCKS_WIDE) {
        __m512i head = load_512(block);
        packed = _mm512_permutexvar_epi16(load_512(q4_0_nibble_words), head);
        pair.scales = permuted_scales(q4_0_scale_words, head);
    } else {
        bool two = reach == TWO_BLOCKS;
        __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(block + 2)));
        __m256i hi = two ? _mm256_broadcastsi128_si256(_mm_loadu_si128(
                               (const __m128i *)(block + sizeof(block_q4_0) + 2)))
                         : _mm256_setzero_si256();
        packed = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        pair.scales = pair_scales(block, sizeof(block_q4_0), two);
    }
    const __m512i shifts = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
    pair.quants = _mm512_and_si512(_mm512_srlv_epi64(packed, shifts), mask_bytes(0x0f));
    return pair;
}

static ALWAYS_INLINE q32_pair q32_weight_pair(const uint8_t *block, q32_weights kind,
                                              pair_reach reach)
{
    if (kind == WEIGHTS_Q4_0)
        return q4_0_pair(block, reach);
    q32_pair pair = q8_0_pair(block, reach);
    pair.quants = _mm512_xor_si512(pair.quants, mask_bytes(0x80));
    return pair;
}

/* The activations of one step (two blocks) as the micro-kernels use them. dot_tile builds
 * these once per column, so the kernels reuse them across all weight rows. */
typedef struct q32_act_step {
    __m512i quants; /* the 64 signed quants */
    __m512i start;  /* per dpbusd lane: -offset * (sum of its 4 quants) */
    __m512 scales;  /* per lane: scale of its block */
} q32_act_step;

static ALWAYS_INLINE q32_act_step q32_prepare_step(const uint8_t *block, q32_weights kind,
                                                   pair_reach reach)
{
    q32_pair a = q8_0_pair(block, reach);
    /* starting each lane at -offset * sum(a) makes the dot one of q, not of q + offset */
    __m512i offset_dot = dot_u8_s8(mask_bytes(q32_offset(kind)), a.quants);
    return (q32_act_step){a.quants, _mm512_sub_epi32(_mm512_setzero_si512(), offset_dot),
                          a.scales};
}

/* Calls step(b, reach) for each pair of blocks b, b + 1 (the last may be a single block). */
#define FOR_EACH_PAIR(n_blocks, b, reach, step)                                              \
    do {                                                                                      \
        int64_t b = 0;                                                                        \
        for (; b + 4 <= (n_blocks); b += 2) {                                                 \
            const pair_reach reach = TWO_BLOCKS_WIDE;                                         \
            step;                                                                             \
        }                                                                                     \
        if (b + 2 <= (n_blocks)) {                                                            \
            const pair_reach reach = TWO_BLOCKS;                                              \
            step;                                                                             \
            b += 2;                                                                           \
        }                                                                                     \
        if (b < (n_blocks)) {                                                                 \
            const pair_reach reach = ONE_BLOCK;                                               \
            step;                                                                             \
        }                                                                                     \
    } while (0)

static ALWAYS_INLINE void q32_prepare_column(const uint8_t *act, int64_t n_blocks,
                                             q32_weights kind, q32_act_step *steps)
{
    FOR_EACH_PAIR(n_blocks, b, reach,
                  steps[b / 2] = q32_prepare_step(act + (size_t)b * sizeof(block_q8_0), kind,
                                                  reach));
}

static ALWAYS_INLINE void q32_step(const cpu_micro_tile *t, __m512 acc[][CPU_TILE_MAX_COLS],
                                   int cols, q32_weights kind, int64_t b, pair_reach reach)
{
    const size_t wbytes = q32_block_bytes(kind);
    q32_pair w[4];
    for (int r = 0; r < 4; r++) {
        const uint8_t *block = t->rows[r] + (size_t)b * wbytes;
        if (t->stream)
            prefetch_ahead(t, block, 2 * wbytes, 4);
        w[r] = q32_weight_pair(block, kind, reach);
    }
    for (int c = 0; c < cols; c++) {
        const q32_act_step *a = (const q32_act_step *)(t->acts + (size_t)c * t->act_stride) + b / 2;
        for (int r = 0; r < 4; r++) {
            __m512i dot = _mm512_dpbusd_epi32(a->start, w[r].quants, a->quants);
            __m512 scale = _mm512_mul_ps(w[r].scales, a->scales);
            acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[r][c]);
        }
    }
}

/* The tile's activations are q32_act_step arrays (see q32_dot_tile). */
static ALWAYS_INLINE void q32_micro(const cpu_micro_tile *t, int cols, q32_weights kind)
{
    __m512 acc[4][CPU_TILE_MAX_COLS];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = _mm512_setzero_ps();
    FOR_EACH_PAIR(t->n / 32, b, reach, q32_step(t, acc, cols, kind, b, reach));
    store_tile(t, acc, 4, cols);
}

/* Prepares the activations of up to a cache-sized chunk of columns at a time, then runs
 * the micro-kernels over all rows against that chunk. */
static ALWAYS_INLINE void q32_dot_tile(q32_weights kind, const cpu_tiling *tiling, int64_t n,
                                       const void *rows, size_t row_stride, int n_rows,
                                       const void *acts, size_t act_stride, int n_cols,
                                       float *out, size_t out_stride)
{
    int64_t n_blocks = n / 32, n_steps = (n_blocks + 1) / 2;
    size_t column_bytes = (size_t)n_steps * sizeof(q32_act_step);
    size_t budget = n_cols < CPU_WIDE_MIN_COLS ? CPU_TILE_L1_CHUNK_BYTES : CPU_TILE_CHUNK_BYTES;
    size_t chunk_cols = column_bytes ? budget / column_bytes : (size_t)n_cols;
    if (chunk_cols < (size_t)tiling->cols_per_tile)
        chunk_cols = (size_t)tiling->cols_per_tile;
    if (chunk_cols > (size_t)n_cols)
        chunk_cols = (size_t)n_cols;
    /* column_bytes is a multiple of 64, as aligned_alloc wants; + 64 keeps it non-zero */
    q32_act_step *steps = aligned_alloc(64, chunk_cols * column_bytes + 64);
    if (!steps) {
        const cpu_type_ops *portable = cpu_scalar_ops(kind == WEIGHTS_Q4_0 ? G4_TYPE_Q4_0
                                                                           : G4_TYPE_Q8_0);
        portable->dot_tile(n, rows, row_stride, n_rows, acts, act_stride, n_cols, out,
                           out_stride);
        return;
    }
    for (int c0 = 0; c0 < n_cols; c0 += (int)chunk_cols) {
        int cols = n_cols - c0 < (int)chunk_cols ? n_cols - c0 : (int)chunk_cols;
        for (int c = 0; c < cols; c++)
            q32_prepare_column((const uint8_t *)acts + (size_t)(c0 + c) * act_stride, n_blocks,
                               kind, steps + (size_t)c * (size_t)n_steps);
        cpu_tile_run(tiling, n, rows, row_stride, n_rows, steps, column_bytes, cols,
                     out + (size_t)c0 * out_stride, out_stride);
    }
    free(steps);
}

/* ---- K-quant weights x Q8_K activations ----------------------------------------------------
 * One weight row at a time: its block is decoded once into 64-weight code vectors and
 * per-lane scales, then reused for up to 8 activation columns. Each code vector k covers
 * elements 64k..64k+63 in order; vpdpbusd lane i sums elements 4i..4i+3 of it. */

typedef struct k_block {
    __m512i codes[4];  /* unsigned codes of the 4 x 64 weights */
    __m512 scales[4];  /* per dpbusd lane: weight scale of that lane's elements */
    __m512 sum_scales; /* per 16-element group: factor of that group's activation sum */
} k_block;

/* Code vector k of Q4_K: low nibbles of qs[32k..] are elements 64k..+31, high nibbles the
 * next 32. */
static ALWAYS_INLINE __m512i q4_K_codes(const uint8_t *qs, int k)
{
    const __m512i shifts = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi64(broadcast_256(qs + 32 * k), shifts),
                            mask_bytes(0x0f));
}

/* Q5_K adds bit 2k (first 32) or 2k+1 (next 32) of qh[l] as bit 4. */
static ALWAYS_INLINE __m512i q5_K_codes(const uint8_t *qs, const uint8_t *qh, int k)
{
    const __m512i nibble_shifts = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    __m512i nibbles = _mm512_srlv_epi64(broadcast_256(qs + 32 * k), nibble_shifts);
    __m512i bit_shifts = _mm512_add_epi64(_mm512_set1_epi64(2 * k),
                                          _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0));
    __m512i high = _mm512_slli_epi64(_mm512_srlv_epi64(broadcast_256(qh), bit_shifts), 4);
    return and_or(nibbles, mask_bytes(0x0f), _mm512_and_si512(high, mask_bytes(0x10)));
}

/* Q4_K/Q5_K: code vector k holds sub-blocks 2k (lanes 0-7) and 2k+1 (lanes 8-15); the
 * activation sum j covers elements 16j..16j+15, in sub-block j / 2. */
static ALWAYS_INLINE void q4_K_q5_K_scales(const uint8_t *bytes, k_block *kb)
{
    const block_q4_K *prefix = (const block_q4_K *)bytes; /* Q5_K starts the same way */
    uint32_t words[4];
    quant_unpack_k_scale_words(prefix->scales, words);
    /* lanes 0-7: d * scale[s], lanes 8-15: -dmin * min[s] */
    __m512 factors = _mm512_castps256_ps512(_mm256_set1_ps(load_half(prefix->d)));
    factors = _mm512_insertf32x8(factors, _mm256_set1_ps(-load_half(prefix->dmin)), 1);
    __m512 scales_mins = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)words))),
        factors);
    for (int k = 0; k < 4; k++) {
        __m512i lanes = _mm512_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
                                         2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k, 2 * k, 2 * k,
                                         2 * k, 2 * k, 2 * k, 2 * k, 2 * k);
        kb->scales[k] = _mm512_permutexvar_ps(lanes, scales_mins);
    }
    const __m512i min_pairs =
        _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    kb->sum_scales = _mm512_permutexvar_ps(min_pairs, scales_mins);
}

/* Q6_K half h: ql[64h..] holds elements 128h + l (low nibble of ql[l]), +32 (low of
 * ql[l+32]), +64 (high of ql[l]), +96 (high of ql[l+32]); qh[32h + l] bits 0-1, 2-3, 4-5,
 * 6-7 are their top two bits. */
static ALWAYS_INLINE void q6_K_half_codes(const block_q6_K *block, int h, __m512i *first,
                                          __m512i *second)
{
    __m512i ql = _mm512_loadu_si512(block->ql + 64 * h);
    __m512i qh = broadcast_256(block->qh + 32 * h);
    const __m512i top_bits = mask_bytes(0x30);
    /* move the needed qh bit pair to bits 4-5 of each byte */
    __m512i high_first = _mm512_and_si512(
        _mm512_sllv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4)), top_bits);
    __m512i high_second = _mm512_and_si512(
        _mm512_srlv_epi64(qh, _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0)), top_bits);
    *first = and_or(ql, mask_bytes(0x0f), high_first);
    *second = and_or(_mm512_srli_epi64(ql, 4), mask_bytes(0x0f), high_second);
}

/* Code vector k holds 16-element groups 4k..4k+3, four lanes each. Codes are q + 32. */
static ALWAYS_INLINE void q6_K_scales(const uint8_t *bytes, k_block *kb)
{
    const block_q6_K *block = (const block_q6_K *)bytes;
    __m512 group_scales = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)block->scales))),
        _mm512_set1_ps(load_half(block->d)));
    for (int k = 0; k < 4; k++) {
        __m512i lanes = _mm512_set_epi32(4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 2,
                                         4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 1, 4 * k + 1,
                                         4 * k + 1, 4 * k + 1, 4 * k, 4 * k, 4 * k, 4 * k);
        kb->scales[k] = _mm512_permutexvar_ps(lanes, group_scales);
    }
    kb->sum_scales = _mm512_mul_ps(group_scales, _mm512_set1_ps(-32.0f));
}

static ALWAYS_INLINE void k_codes(const uint8_t *bytes, k_weights kind, __m512i codes[4])
{
    if (kind == WEIGHTS_Q6_K) {
        const block_q6_K *block = (const block_q6_K *)bytes;
        q6_K_half_codes(block, 0, &codes[0], &codes[1]);
        q6_K_half_codes(block, 1, &codes[2], &codes[3]);
        return;
    }
    for (int k = 0; k < 4; k++) {
        if (kind == WEIGHTS_Q4_K) {
            codes[k] = q4_K_codes(((const block_q4_K *)bytes)->qs, k);
        } else {
            const block_q5_K *block = (const block_q5_K *)bytes;
            codes[k] = q5_K_codes(block->qs, block->qh, k);
        }
    }
}

static ALWAYS_INLINE void k_decode(const uint8_t *block, k_weights kind, k_block *kb)
{
    k_codes(block, kind, kb->codes);
    if (kind == WEIGHTS_Q6_K)
        q6_K_scales(block, kb);
    else
        q4_K_q5_K_scales(block, kb);
}

/* acc += a_d * (sum_k scales_k * dot(codes_k, a_k) + sum_scales . bsums). */
static ALWAYS_INLINE __m512 k_block_dot(const k_block *kb, const block_q8_K *a, __m512 acc)
{
    __m512 a_d = _mm512_set1_ps(load_f32(a->d));
    __m512 sum = _mm512_setzero_ps();
    for (int k = 0; k < 4; k++) {
        __m512i dot = dot_u8_s8(kb->codes[k], _mm512_loadu_si512(a->qs + 64 * k));
        sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), kb->scales[k], sum);
    }
    __m512i bsums = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)a->bsums));
    sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(bsums), kb->sum_scales, sum);
    return _mm512_fmadd_ps(sum, a_d, acc);
}

static ALWAYS_INLINE void k_micro(const cpu_micro_tile *t, int cols, k_weights kind)
{
    __m512 acc[1][CPU_TILE_MAX_COLS];
    for (int c = 0; c < cols; c++)
        acc[0][c] = _mm512_setzero_ps();
    const size_t wbytes = k_block_bytes(kind);
    for (int64_t b = 0; b < t->n / QK_K; b++) {
        k_block kb;
        if (t->stream)
            prefetch_ahead(t, t->rows[0] + (size_t)b * wbytes, wbytes, 2);
        k_decode(t->rows[0] + (size_t)b * wbytes, kind, &kb);
        for (int c = 0; c < cols; c++) {
            const block_q8_K *a = (const block_q8_K *)(t->acts + (size_t)c * t->act_stride) + b;
            acc[0][c] = k_block_dot(&kb, a, acc[0][c]);
        }
    }
    store_tile(t, acc, 1, cols);
}

/* ---- micro-kernel tables and dot_tile -------------------------------------------------------- */

#define MICRO(name, cols, ...)                                                                \
    static void name##_##cols(const cpu_micro_tile *t) { __VA_ARGS__; }

/* name_1 .. name_4 (or _8): kernel(t, cols, kind) for that many columns */
#define MICRO_4(name, kernel, kind)                                                           \
    MICRO(name, 1, kernel(t, 1, kind)) MICRO(name, 2, kernel(t, 2, kind))                     \
    MICRO(name, 3, kernel(t, 3, kind)) MICRO(name, 4, kernel(t, 4, kind))
#define MICRO_8(name, kernel, kind)                                                           \
    MICRO_4(name, kernel, kind) MICRO(name, 5, kernel(t, 5, kind))                            \
    MICRO(name, 6, kernel(t, 6, kind)) MICRO(name, 7, kernel(t, 7, kind))                     \
    MICRO(name, 8, kernel(t, 8, kind))

#define DOT_TILE(name, tiling)                                                                \
    static void name(int64_t n, const void *rows, size_t row_stride, int n_rows,             \
                     const void *acts, size_t act_stride, int n_cols, float *out,            \
                     size_t out_stride)                                                       \
    {                                                                                         \
        cpu_tile_run(&tiling, n, rows, row_stride, n_rows, acts, act_stride, n_cols, out,     \
                     out_stride);                                                             \
    }


MICRO_4(f32, float_micro, WEIGHTS_F32)
MICRO_4(f16, float_micro, WEIGHTS_F16)
MICRO_4(bf16, float_micro, WEIGHTS_BF16)
MICRO_4(q4_0, q32_micro, WEIGHTS_Q4_0)
MICRO_4(q8_0, q32_micro, WEIGHTS_Q8_0)
MICRO_8(q4_K, k_micro, WEIGHTS_Q4_K)
MICRO_8(q5_K, k_micro, WEIGHTS_Q5_K)
MICRO_8(q6_K, k_micro, WEIGHTS_Q6_K)

#define TILING_4(name, act_block_bytes, act_block_elems)                                      \
    static const cpu_tiling name##_tiling = {                                                \
        4, 4, act_block_bytes, act_block_elems, {name##_1, name##_2, name##_3, name##_4}};   \
    DOT_TILE(dot_tile_##name, name##_tiling)
#define TILING_8(name)                                                                        \
    static const cpu_tiling name##_tiling = {                                                \
        1, 8, sizeof(block_q8_K), QK_K,                                                      \
        {name##_1, name##_2, name##_3, name##_4, name##_5, name##_6, name##_7, name##_8}};   \
    DOT_TILE(dot_tile_##name, name##_tiling)

TILING_4(f32, sizeof(float), 1)
TILING_4(f16, sizeof(float), 1)
TILING_4(bf16, sizeof(float), 1)

/* ---- Q4_0 / Q8_0 weights x many columns, through bf16 ------------------------------------
 * With many activation columns (prefill) the integer kernels are bound by the per-block
 * scaling (dpbusd, convert, multiply, add for every 64 products). Here the weights are
 * dequantized, scale applied, to bf16 once, and vdpbf16ps against the bf16 activation rows
 * does 32 products per instruction with nothing else in the inner loop. The dot length is
 * cut into spans of CPU_WIDE_SPAN elements: a span of up to CPU_WIDE_ROWS rows is
 * dequantized into the caller's scratch (it stays in L2), then every column sweeps it,
 * SPAN_COLS columns at a time, whose span stays in L1 while all the rows pass. */

enum { SPAN_ROWS = 4, SPAN_COLS = 6 };

/* 32 bf16 values of one block, scale applied. */
static ALWAYS_INLINE __m512bh block_to_bf16(const uint8_t *block, q32_weights kind)
{
    __m512 halves[2];
    q32_block_floats(block, kind, halves);
    return _mm512_cvtne2ps_pbh(halves[1], halves[0]);
}

/* Elements [k0, k0 + span) of a row of blocks to bf16. */
static ALWAYS_INLINE void span_to_bf16(const uint8_t *row, q32_weights kind, int64_t k0,
                                       int64_t span, __m512bh *out)
{
    size_t bytes = q32_block_bytes(kind);
    for (int64_t b = 0; b < span / 32; b++)
        out[b] = block_to_bf16(row + (size_t)(k0 / 32 + b) * bytes, kind);
}

/* Asks for elements [k0, k0 + span) of a row of blocks ahead of their conversion: rows
 * are read a span at a time, a stride the hardware prefetcher does not follow at once. */
static ALWAYS_INLINE void prefetch_span(const uint8_t *row, q32_weights kind, int64_t k0,
                                        int64_t span)
{
    const uint8_t *start = row + (size_t)(k0 / 32) * q32_block_bytes(kind);
    for (size_t offset = 0; offset < (size_t)(span / 32) * q32_block_bytes(kind); offset += 64)
        _mm_prefetch((const char *)start + offset, _MM_HINT_T0);
}

static ALWAYS_INLINE __m512bh load_bf16(const uint8_t *p)
{
    return (__m512bh)_mm512_loadu_si512(p);
}

/* The horizontal sums of a, b, c and d, in that order. */
static ALWAYS_INLINE __m128 sum_each4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    /* each 128-bit lane: a0+a2, b0+b2, a1+a3, b1+b3 (and the same for c, d) */
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    /* each 128-bit lane: its share of the sums of a, b, c, d */
    __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
    __m512 abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                                _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
    __m256 half = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
    return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
}

/* SPAN_ROWS rows of a span (w, blocks apart) against cols activation columns from element
 * k0; writes n_rows of them into out, adding unless first. */
static ALWAYS_INLINE void span_micro(const __m512bh *w, int64_t blocks, const uint8_t *acts,
                                     size_t act_stride, int64_t k0, int cols, int n_rows,
                                     float *out, size_t out_stride, bool first)
{
    __m512 acc[SPAN_ROWS][SPAN_COLS];
    for (int r = 0; r < SPAN_ROWS; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = _mm512_setzero_ps();
    const uint8_t *a = acts + (size_t)k0 * sizeof(uint16_t);
    for (int64_t b = 0; b < blocks; b++) {
        __m512bh x[SPAN_COLS];
        for (int c = 0; c < cols; c++)
            x[c] = load_bf16(a + (size_t)c * act_stride + (size_t)b * 64);
        for (int r = 0; r < SPAN_ROWS; r++) {
            __m512bh row = w[(int64_t)r * blocks + b];
            for (int c = 0; c < cols; c++)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], row, x[c]);
        }
    }
    __mmask8 rows = (__mmask8)((1u << n_rows) - 1);
    for (int c = 0; c < cols; c++) {
        float *o = out + (size_t)c * out_stride;
        __m128 sums = sum_each4(acc[0][c], acc[1][c], acc[2][c], acc[3][c]);
        if (!first)
            sums = _mm_add_ps(sums, _mm_maskz_loadu_ps(rows, o));
        _mm_mask_storeu_ps(o, rows, sums);
    }
}

static void span_micro_cols(const __m512bh *w, int64_t blocks, const uint8_t *acts,
                            size_t act_stride, int64_t k0, int cols, int n_rows, float *out,
                            size_t out_stride, bool first)
{
#define SPAN_MICRO(k)                                                                             span_micro(w, blocks, acts, act_stride, k0, k, n_rows, out, out_stride, first)
    _Static_assert(SPAN_COLS == 6 && SPAN_ROWS == 4, "one case per column count; sum_each4");
    switch (cols) {
    case 1: SPAN_MICRO(1); return;
    case 2: SPAN_MICRO(2); return;
    case 3: SPAN_MICRO(3); return;
    case 4: SPAN_MICRO(4); return;
    case 5: SPAN_MICRO(5); return;
    default: SPAN_MICRO(SPAN_COLS); return;
    }
#undef SPAN_MICRO
}

/* Up to CPU_WIDE_ROWS rows against all columns, span by span. */
static void q32_bf16_row_group(q32_weights kind, int64_t n, const uint8_t *rows,
                               size_t row_stride, int n_rows, const uint8_t *acts,
                               size_t act_stride, int n_cols, float *out, size_t out_stride,
                               __m512bh *w)
{
    int padded = (n_rows + SPAN_ROWS - 1) / SPAN_ROWS * SPAN_ROWS;
    for (int64_t k0 = 0; k0 < n; k0 += CPU_WIDE_SPAN) {
        int64_t span = n - k0 < CPU_WIDE_SPAN ? n - k0 : CPU_WIDE_SPAN, blocks = span / 32;
        for (int r = 0; r < padded; r++) { /* rows past the end repeat the last real one */
            prefetch_span(rows + (size_t)(r + 2 < n_rows ? r + 2 : n_rows - 1) * row_stride,
                          kind, k0, span);
            span_to_bf16(rows + (size_t)(r < n_rows ? r : n_rows - 1) * row_stride, kind, k0,
                         span, w + (int64_t)r * blocks);
        }
        for (int c0 = 0; c0 < n_cols; c0 += SPAN_COLS)
            for (int r0 = 0; r0 < n_rows; r0 += SPAN_ROWS)
                span_micro_cols(w + (int64_t)r0 * blocks, blocks,
                                acts + (size_t)c0 * act_stride, act_stride, k0,
                                n_cols - c0 < SPAN_COLS ? n_cols - c0 : SPAN_COLS,
                                n_rows - r0 < SPAN_ROWS ? n_rows - r0 : SPAN_ROWS,
                                out + (size_t)c0 * out_stride + (size_t)r0, out_stride,
                                k0 == 0);
    }
}

static void q32_bf16_dot_tile(q32_weights kind, int64_t n, const void *rows, size_t row_stride,
                              int n_rows, const void *acts, size_t act_stride, int n_cols,
                              float *out, size_t out_stride, void *scratch)
{
    for (int r0 = 0; r0 < n_rows; r0 += CPU_WIDE_ROWS)
        q32_bf16_row_group(kind, n, (const uint8_t *)rows + (size_t)r0 * row_stride,
                           row_stride, n_rows - r0 < CPU_WIDE_ROWS ? n_rows - r0 : CPU_WIDE_ROWS,
                           acts, act_stride, n_cols, out + r0, out_stride, scratch);
}

#define Q32_TILING(name, kind)                                                               \
    static const cpu_tiling name##_tiling = {                                                \
        4, 4, sizeof(q32_act_step), 64, {name##_1, name##_2, name##_3, name##_4}};           \
    static void dot_tile_##name(int64_t n, const void *rows, size_t row_stride, int n_rows,  \
                                const void *acts, size_t act_stride, int n_cols, float *out,  \
                                size_t out_stride)                                            \
    {                                                                                         \
        q32_dot_tile(kind, &name##_tiling, n, rows, row_stride, n_rows, acts, act_stride,     \
                     n_cols, out, out_stride);                                                \
    }                                                                                         \
    static void dot_tile_wide_##name(int64_t n, const void *rows, size_t row_stride,          \
                                     int n_rows, const void *acts, size_t act_stride,         \
                                     int n_cols, float *out, size_t out_stride,               \
                                     void *scratch)                                           \
    {                                                                                         \
        q32_bf16_dot_tile(kind, n, rows, row_stride, n_rows, acts, act_stride, n_cols, out,   \
                          out_stride, scratch);                                               \
    }

Q32_TILING(q4_0, WEIGHTS_Q4_0)
Q32_TILING(q8_0, WEIGHTS_Q8_0)
TILING_8(q4_K)
TILING_8(q5_K)
TILING_8(q6_K)

/* ---- activation quantization ---------------------------------------------------------------
 * Same arithmetic as the portable quantizers (x * inverse, rounded to nearest even), so the
 * bytes match exactly. */

static ALWAYS_INLINE __m512i round_to_int(__m512 x, __m512 inverse)
{
    return _mm512_cvtps_epi32(_mm512_mul_ps(x, inverse));
}

static ALWAYS_INLINE __m512 abs_max(__m512 amax, __m512 x)
{
    return _mm512_max_ps(amax, _mm512_abs_ps(x));
}

static void quantize_q8_0(const float *x, void *out, int64_t n)
{
    block_q8_0 *blocks = out;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(abs_max(_mm512_abs_ps(lo), hi));
        __m512 inverse = _mm512_set1_ps(quant_act_inverse_scale(amax));
        uint16_t d = g4_f32_to_half(amax / 127.0f);
        memcpy(blocks[b].d, &d, sizeof d);
        _mm_storeu_si128((__m128i *)blocks[b].qs, _mm512_cvtsepi32_epi8(round_to_int(lo, inverse)));
        _mm_storeu_si128((__m128i *)(blocks[b].qs + 16),
                         _mm512_cvtsepi32_epi8(round_to_int(hi, inverse)));
    }
}

static void quantize_q8_K(const float *x, void *out, int64_t n)
{
    block_q8_K *blocks = out;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m512 amax_lanes = _mm512_setzero_ps();
        for (int g = 0; g < QK_K / 16; g++)
            amax_lanes = abs_max(amax_lanes, _mm512_loadu_ps(x + 16 * g));
        float amax = _mm512_reduce_max_ps(amax_lanes);
        __m512 inverse = _mm512_set1_ps(quant_act_inverse_scale(amax));
        float d = amax / 127.0f;
        memcpy(blocks[b].d, &d, sizeof d);
        for (int g = 0; g < QK_K / 16; g++) {
            __m512i q = round_to_int(_mm512_loadu_ps(x + 16 * g), inverse);
            _mm_storeu_si128((__m128i *)(blocks[b].qs + 16 * g), _mm512_cvtsepi32_epi8(q));
            int16_t sum = (int16_t)_mm512_reduce_add_epi32(q);
            memcpy(blocks[b].bsums + 2 * g, &sum, sizeof sum);
        }
    }
}

/* ---- dequantization (bit-exact with the portable versions) ----------------------------------- */

static void to_float_f16(const void *row, float *out, int64_t n)
{
    const uint8_t *bytes = row;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, load_float_weights(bytes, i, WEIGHTS_F16, 0xffff));
    if (i < n) {
        __mmask16 mask = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, mask, load_float_weights(bytes, i, WEIGHTS_F16, mask));
    }
}

static void to_float_bf16(const void *row, float *out, int64_t n)
{
    const uint8_t *bytes = row;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, load_float_weights(bytes, i, WEIGHTS_BF16, 0xffff));
    if (i < n) {
        __mmask16 mask = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, mask, load_float_weights(bytes, i, WEIGHTS_BF16, mask));
    }
}

/* A row of Q4_0 or Q8_0 blocks as floats. */
static ALWAYS_INLINE void q32_to_float(const void *row, float *out, int64_t n,
                                       q32_weights kind)
{
    const uint8_t *bytes = row;
    for (int64_t b = 0; b < n / 32; b++, bytes += q32_block_bytes(kind), out += 32) {
        __m512 halves[2];
        q32_block_floats(bytes, kind, halves);
        _mm512_storeu_ps(out, halves[0]);
        _mm512_storeu_ps(out + 16, halves[1]);
    }
}

static void to_float_q4_0(const void *row, float *out, int64_t n)
{
    q32_to_float(row, out, n, WEIGHTS_Q4_0);
}

static void to_float_q8_0(const void *row, float *out, int64_t n)
{
    q32_to_float(row, out, n, WEIGHTS_Q8_0);
}

/* Element e of a K-quant block: Q4_K/Q5_K use sub-block e / 32, Q6_K group e / 16. */
static ALWAYS_INLINE void k_to_float(const void *row, float *out, int64_t n, k_weights kind)
{
    const uint8_t *bytes = row;
    const size_t wbytes = k_block_bytes(kind);
    for (int64_t b = 0; b < n / QK_K; b++, bytes += wbytes, out += QK_K) {
        __m512i code_vectors[4];
        k_codes(bytes, kind, code_vectors);
        uint8_t codes[QK_K];
        memcpy(codes, code_vectors, sizeof codes);
        if (kind == WEIGHTS_Q6_K) {
            const block_q6_K *block = (const block_q6_K *)bytes;
            float d = load_half(block->d);
            for (int g = 0; g < QK_K / 16; g++) {
                __m128i group = _mm_loadu_si128((const __m128i *)(codes + 16 * g));
                __m512 q = _mm512_sub_ps(codes_to_float(group), _mm512_set1_ps(32.0f));
                __m512 scale = _mm512_set1_ps(d * block->scales[g]);
                _mm512_storeu_ps(out + 16 * g, _mm512_mul_ps(scale, q));
            }
            continue;
        }
        const block_q4_K *prefix = (const block_q4_K *)bytes; /* Q5_K starts the same way */
        float d = load_half(prefix->d), dmin = load_half(prefix->dmin);
        uint8_t scale[8], min[8];
        quant_unpack_k_scales(prefix->scales, scale, min);
        for (int g = 0; g < QK_K / 16; g++) {
            __m128i group = _mm_loadu_si128((const __m128i *)(codes + 16 * g));
            __m512 w = _mm512_mul_ps(_mm512_set1_ps(d * scale[g / 2]), codes_to_float(group));
            _mm512_storeu_ps(out + 16 * g, _mm512_sub_ps(w, _mm512_set1_ps(dmin * min[g / 2])));
        }
    }
}

static void to_float_q4_K(const void *row, float *out, int64_t n)
{
    k_to_float(row, out, n, WEIGHTS_Q4_K);
}

static void to_float_q5_K(const void *row, float *out, int64_t n)
{
    k_to_float(row, out, n, WEIGHTS_Q5_K);
}

static void to_float_q6_K(const void *row, float *out, int64_t n)
{
    k_to_float(row, out, n, WEIGHTS_Q6_K);
}

/* The table, with the kernels for many columns (wide_*) where the CPU has AVX512_BF16. */
#define AVX512_OPS(wide_q4_0, wide_q8_0)                                                     \
    {                                                                                         \
        {G4_TYPE_F32, G4_TYPE_F32, quant_scalar_to_float_f32, NULL, dot_tile_f32, NULL},      \
        {G4_TYPE_F16, G4_TYPE_F32, to_float_f16, NULL, dot_tile_f16, NULL},                   \
        {G4_TYPE_BF16, G4_TYPE_F32, to_float_bf16, NULL, dot_tile_bf16, NULL},                \
        {G4_TYPE_Q4_0, G4_TYPE_Q8_0, to_float_q4_0, quantize_q8_0, dot_tile_q4_0, wide_q4_0}, \
        {G4_TYPE_Q8_0, G4_TYPE_Q8_0, to_float_q8_0, quantize_q8_0, dot_tile_q8_0, wide_q8_0}, \
        {G4_TYPE_Q4_K, G4_TYPE_Q8_K, to_float_q4_K, quantize_q8_K, dot_tile_q4_K, NULL},      \
        {G4_TYPE_Q5_K, G4_TYPE_Q8_K, to_float_q5_K, quantize_q8_K, dot_tile_q5_K, NULL},      \
        {G4_TYPE_Q6_K, G4_TYPE_Q8_K, to_float_q6_K, quantize_q8_K, dot_tile_q6_K, NULL},      \
    }

static const cpu_type_ops avx512_ops[] = AVX512_OPS(NULL, NULL);
static const cpu_type_ops avx512_bf16_ops[] = AVX512_OPS(dot_tile_wide_q4_0, dot_tile_wide_q8_0);

const cpu_type_ops *cpu_avx512_ops(g4_type type)
{
    if (cpu_has_avx512_bf16())
        return cpu_ops_find(avx512_bf16_ops, sizeof avx512_bf16_ops / sizeof avx512_bf16_ops[0],
                            type);
    return cpu_ops_find(avx512_ops, sizeof avx512_ops / sizeof avx512_ops[0], type);
}
