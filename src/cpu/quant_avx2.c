/* AVX2 kernels (with FMA and F16C), for CPUs without AVX-512. Integer dot products use
 * vpmaddubsw (unsigned x signed bytes -> pairs of int16) and vpmaddwd (-> int32); every
 * operand stays small enough that the int16 step cannot saturate. */
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "core/half.h"
#include "cpu/quant.h"
#include "cpu/simd_common.h"

enum { ROWS = 2, COLS = 4 }; /* tile of the float and Q4_0/Q8_0 kernels (16 registers) */

static ALWAYS_INLINE __m256i load_256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

static ALWAYS_INLINE __m256i mask_bytes(int byte)
{
    return _mm256_set1_epi8((char)byte);
}

static ALWAYS_INLINE float horizontal_sum(__m256 v)
{
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

static ALWAYS_INLINE int horizontal_sum_i32(__m256i v)
{
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4e));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xb1));
    return _mm_cvtsi128_si32(sum);
}

/* Sums of adjacent int16 pairs, as int32. */
static ALWAYS_INLINE __m256i pair_sums(__m256i v)
{
    return _mm256_madd_epi16(v, _mm256_set1_epi16(1));
}

/* As in the AVX-512 kernels: a tile's first pass over its rows prefetches the same place
 * rows_ahead rows further on (the next tile's rows); the hardware prefetcher alone falls
 * short. */
static ALWAYS_INLINE void prefetch_ahead(const cpu_micro_tile *t, const uint8_t *weights,
                                         size_t bytes, int rows_ahead)
{
    const char *ahead = (const char *)weights + (size_t)rows_ahead * t->row_stride;
    for (size_t offset = 0; offset < bytes; offset += 64)
        _mm_prefetch(ahead + offset, _MM_HINT_T0);
}

static ALWAYS_INLINE void store_tile(const cpu_micro_tile *t, __m256 acc[][COLS], int rows,
                                     int cols)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows && r < t->n_rows; r++)
            t->out[(size_t)c * t->out_stride + (size_t)r] = horizontal_sum(acc[r][c]);
}

/* ---- float weights x f32 activations --------------------------------------------------------- */

static ALWAYS_INLINE __m256 load_float_weights(const uint8_t *row, int64_t i, float_weights kind)
{
    switch (kind) {
    case WEIGHTS_F32:
        return _mm256_loadu_ps((const float *)row + i);
    case WEIGHTS_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
    case WEIGHTS_BF16:
        break;
    }
    __m256i halves = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(halves, 16));
}

static ALWAYS_INLINE void float_step(const cpu_micro_tile *t, __m256 acc[][COLS], int cols,
                                     float_weights kind, int64_t i)
{
    __m256 w[ROWS];
    for (int r = 0; r < ROWS; r++) {
        size_t weight_bytes = kind == WEIGHTS_F32 ? 4 : 2;
        if (t->stream)
            prefetch_ahead(t, t->rows[r] + (size_t)i * weight_bytes, 8 * weight_bytes, ROWS);
        w[r] = load_float_weights(t->rows[r], i, kind);
    }
    for (int c = 0; c < cols; c++) {
        const float *act = (const float *)(t->acts + (size_t)c * t->act_stride);
        __m256 x = _mm256_loadu_ps(act + i);
        for (int r = 0; r < ROWS; r++)
            acc[r][c] = _mm256_fmadd_ps(w[r], x, acc[r][c]);
    }
}

/* The last n % 8 elements, through zero-padded copies. */
static ALWAYS_INLINE void float_tail(const cpu_micro_tile *t, __m256 acc[][COLS], int cols,
                                     float_weights kind, int64_t i)
{
    size_t left = (size_t)(t->n - i);
    size_t weight_bytes = kind == WEIGHTS_F32 ? 4 : 2;
    uint8_t rows[ROWS][32] = {{0}};
    float acts[COLS][8] = {{0}};
    cpu_micro_tile padded = *t;
    for (int r = 0; r < ROWS; r++) {
        memcpy(rows[r], t->rows[r] + (size_t)i * weight_bytes, left * weight_bytes);
        padded.rows[r] = rows[r];
    }
    for (int c = 0; c < cols; c++)
        memcpy(acts[c], (const float *)(t->acts + (size_t)c * t->act_stride) + i,
               left * sizeof(float));
    padded.acts = (const uint8_t *)acts;
    padded.act_stride = sizeof acts[0];
    float_step(&padded, acc, cols, kind, 0);
}

static ALWAYS_INLINE void float_micro(const cpu_micro_tile *t, int cols, float_weights kind)
{
    __m256 acc[ROWS][COLS];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= t->n; i += 8)
        float_step(t, acc, cols, kind, i);
    if (i < t->n)
        float_tail(t, acc, cols, kind, i);
    store_tile(t, acc, ROWS, cols);
}

/* ---- Q4_0 / Q8_0 weights x Q8_0 activations: one 32-weight block per register ---------------- */

typedef struct q32_block {
    __m256i codes; /* Q4_0: q + 8; Q8_0: |q| */
    __m256i signs; /* Q8_0: q, whose signs move onto the activations */
    float scale;
} q32_block;

static ALWAYS_INLINE q32_block q32_load_weights(const uint8_t *block, q32_weights kind)
{
    q32_block w;
    w.scale = load_half(block);
    if (kind == WEIGHTS_Q4_0) {
        /* the 16 bytes twice: low nibbles are weights 0-15, high nibbles 16-31 */
        __m256i packed = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(block + 2)));
        __m256i shifted = _mm256_srlv_epi64(packed, _mm256_set_epi64x(4, 4, 0, 0));
        w.codes = _mm256_and_si256(shifted, mask_bytes(0x0f));
        w.signs = w.codes;
    } else {
        w.signs = load_256(block + 2);
        w.codes = _mm256_abs_epi8(w.signs);
    }
    return w;
}

static ALWAYS_INLINE void q32_step(const cpu_micro_tile *t, __m256 acc[][COLS], int cols,
                                   q32_weights kind, int64_t b)
{
    const size_t wbytes = kind == WEIGHTS_Q4_0 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    q32_block w[ROWS];
    for (int r = 0; r < ROWS; r++) {
        if (t->stream)
            prefetch_ahead(t, t->rows[r] + (size_t)b * wbytes, wbytes, ROWS);
        w[r] = q32_load_weights(t->rows[r] + (size_t)b * wbytes, kind);
    }
    for (int c = 0; c < cols; c++) {
        const uint8_t *block = t->acts + (size_t)c * t->act_stride + (size_t)b * sizeof(block_q8_0);
        __m256i a = load_256(block + 2);
        float a_scale = load_half(block);
        /* Q4_0: the codes carry +8; 8 * (pair sums of a) takes it back out */
        __m256i offset = _mm256_maddubs_epi16(mask_bytes(8), a);
        for (int r = 0; r < ROWS; r++) {
            __m256i products =
                kind == WEIGHTS_Q4_0
                    ? _mm256_sub_epi16(_mm256_maddubs_epi16(w[r].codes, a), offset)
                    : _mm256_maddubs_epi16(w[r].codes, _mm256_sign_epi8(a, w[r].signs));
            __m256 dot = _mm256_cvtepi32_ps(pair_sums(products));
            acc[r][c] = _mm256_fmadd_ps(dot, _mm256_set1_ps(w[r].scale * a_scale), acc[r][c]);
        }
    }
}

static ALWAYS_INLINE void q32_micro(const cpu_micro_tile *t, int cols, q32_weights kind)
{
    __m256 acc[ROWS][COLS];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < cols; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < t->n / 32; b++)
        q32_step(t, acc, cols, kind, b);
    store_tile(t, acc, ROWS, cols);
}

/* ---- K-quant weights x Q8_K activations ----------------------------------------------------
 * One weight row at a time, against up to 4 columns. A block is walked in 8 pieces of 32
 * weights; each piece's codes are multiplied by the activations (vpmaddubsw), then by the
 * piece's int16 scales (vpmaddwd) and summed in int32 per column. */

/* Piece p of Q4_K/Q5_K is sub-block p: nibbles of qs[32 * (p / 2)..], low for even p. */
static ALWAYS_INLINE __m256i q4_K_piece(const uint8_t *qs, int p)
{
    __m256i packed = load_256(qs + 32 * (p / 2));
    __m256i nibbles = _mm256_srl_epi16(packed, _mm_cvtsi32_si128(4 * (p % 2)));
    return _mm256_and_si256(nibbles, mask_bytes(0x0f));
}

/* Q5_K adds bit p of qh[l] as bit 4. */
static ALWAYS_INLINE __m256i q5_K_piece(const uint8_t *qs, const uint8_t *qh, int p)
{
    __m256i high = _mm256_srl_epi16(load_256(qh), _mm_cvtsi32_si128(p));
    high = _mm256_slli_epi16(_mm256_and_si256(high, mask_bytes(1)), 4);
    return _mm256_or_si256(q4_K_piece(qs, p), high);
}

/* Piece p of Q6_K: half h = p / 4 and quarter p % 4 of it, as in the format description:
 * quarters 0/1 take low nibbles of ql[l] / ql[l + 32], quarters 2/3 high nibbles, and bits
 * 2 * quarter of qh[l] give bits 4-5. */
static ALWAYS_INLINE __m256i q6_K_piece(const block_q6_K *block, int p)
{
    int half = p / 4, quarter = p % 4;
    __m256i ql = load_256(block->ql + 64 * half + 32 * (quarter % 2));
    __m256i qh = load_256(block->qh + 32 * half);
    __m256i low = _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(quarter >= 2 ? 4 : 0)),
                                   mask_bytes(0x0f));
    /* bits 2q..2q+1 of each byte to bits 4-5: shift left by 4 - 2q (or right) */
    __m256i high = quarter <= 2 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - 2 * quarter))
                                : _mm256_srli_epi16(qh, 2);
    return _mm256_or_si256(low, _mm256_and_si256(high, mask_bytes(0x30)));
}

/* int16 scales of the 16 products of piece p: all sub-block p (Q4_K/Q5_K); groups 2p
 * (first 8) and 2p + 1 (next 8) for Q6_K. */
static ALWAYS_INLINE __m256i piece_scales(const uint8_t *scale_bytes, int p, k_weights kind)
{
    if (kind != WEIGHTS_Q6_K)
        return _mm256_set1_epi16(scale_bytes[p]);
    const int8_t *scales = (const int8_t *)scale_bytes;
    return _mm256_setr_m128i(_mm_set1_epi16(scales[2 * p]), _mm_set1_epi16(scales[2 * p + 1]));
}

static ALWAYS_INLINE __m256i k_piece_codes(const uint8_t *bytes, k_weights kind, int p)
{
    switch (kind) {
    case WEIGHTS_Q4_K: return q4_K_piece(((const block_q4_K *)bytes)->qs, p);
    case WEIGHTS_Q5_K: break;
    case WEIGHTS_Q6_K: return q6_K_piece((const block_q6_K *)bytes, p);
    }
    const block_q5_K *block = (const block_q5_K *)bytes;
    return q5_K_piece(block->qs, block->qh, p);
}

static ALWAYS_INLINE const block_q8_K *k_act(const cpu_micro_tile *t, int c, int64_t b)
{
    return (const block_q8_K *)(t->acts + (size_t)c * t->act_stride) + b;
}

/* One block of one row against cols activation blocks. */
static ALWAYS_INLINE void k_block_step(const cpu_micro_tile *t, __m256 acc[], int cols,
                                       k_weights kind, int64_t b)
{
    const uint8_t *bytes = t->rows[0] + (size_t)b * k_block_bytes(kind);
    if (t->stream)
        prefetch_ahead(t, bytes, k_block_bytes(kind), 2);
    uint32_t words[4]; /* Q4_K/Q5_K: 8 scales then 8 mins */
    const uint8_t *scale_bytes;
    float d, dmin = 0.0f;
    if (kind == WEIGHTS_Q6_K) {
        scale_bytes = (const uint8_t *)((const block_q6_K *)bytes)->scales;
        d = load_half(((const block_q6_K *)bytes)->d);
    } else {
        const block_q4_K *prefix = (const block_q4_K *)bytes; /* Q5_K starts the same */
        quant_unpack_k_scale_words(prefix->scales, words);
        scale_bytes = (const uint8_t *)words;
        d = load_half(prefix->d);
        dmin = load_half(prefix->dmin);
    }
    __m256i sums[COLS];
    for (int c = 0; c < cols; c++)
        sums[c] = _mm256_setzero_si256();
    for (int p = 0; p < 8; p++) {
        __m256i codes = k_piece_codes(bytes, kind, p);
        __m256i scales = piece_scales(scale_bytes, p, kind);
        for (int c = 0; c < cols; c++) {
            __m256i products = _mm256_maddubs_epi16(codes, load_256(k_act(t, c, b)->qs + 32 * p));
            sums[c] = _mm256_add_epi32(sums[c], _mm256_madd_epi16(products, scales));
        }
    }
    /* per 16-element activation sum j: Q4_K/Q5_K min of sub-block j / 2; Q6_K 32 * scale j */
    __m256i sum_factors;
    if (kind == WEIGHTS_Q6_K) {
        sum_factors = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)scale_bytes));
    } else {
        __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(words + 2)));
        sum_factors = _mm256_setr_m128i(_mm_unpacklo_epi16(mins, mins),
                                        _mm_unpackhi_epi16(mins, mins));
    }
    for (int c = 0; c < cols; c++) {
        const block_q8_K *a = k_act(t, c, b);
        float a_d = load_f32(a->d);
        __m256i offsets = _mm256_madd_epi16(load_256(a->bsums), sum_factors);
        if (kind == WEIGHTS_Q6_K) {
            __m256i dot = _mm256_sub_epi32(sums[c], _mm256_slli_epi32(offsets, 5));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * a_d), acc[c]);
        } else {
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[c]), _mm256_set1_ps(d * a_d), acc[c]);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(offsets), _mm256_set1_ps(-dmin * a_d),
                                     acc[c]);
        }
    }
}

static ALWAYS_INLINE void k_micro(const cpu_micro_tile *t, int cols, k_weights kind)
{
    __m256 acc[1][COLS];
    for (int c = 0; c < cols; c++)
        acc[0][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < t->n / QK_K; b++)
        k_block_step(t, acc[0], cols, kind, b);
    store_tile(t, acc, 1, cols);
}

/* ---- micro-kernel tables and dot_tile -------------------------------------------------------- */

/* name_1 .. name_4: kernel(t, cols, kind) for that many columns */
#define MICRO(name, cols, kernel, kind)                                                       \
    static void name##_##cols(const cpu_micro_tile *t) { kernel(t, cols, kind); }
#define MICRO_4(name, kernel, kind)                                                           \
    MICRO(name, 1, kernel, kind) MICRO(name, 2, kernel, kind) MICRO(name, 3, kernel, kind)    \
    MICRO(name, 4, kernel, kind)

#define DOT_TILE(name, rows_per_tile, act_block_bytes, act_block_elems)                       \
    static const cpu_tiling name##_tiling = {rows_per_tile, COLS, act_block_bytes,           \
                                             act_block_elems,                                 \
                                             {name##_1, name##_2, name##_3, name##_4}};       \
    static void dot_tile_##name(int64_t n, const void *rows, size_t row_stride, int n_rows,  \
                                const void *acts, size_t act_stride, int n_cols, float *out,  \
                                size_t out_stride)                                            \
    {                                                                                         \
        cpu_tile_run(&name##_tiling, n, rows, row_stride, n_rows, acts, act_stride, n_cols,   \
                     out, out_stride);                                                        \
    }


MICRO_4(f32, float_micro, WEIGHTS_F32)
MICRO_4(f16, float_micro, WEIGHTS_F16)
MICRO_4(bf16, float_micro, WEIGHTS_BF16)
MICRO_4(q4_0, q32_micro, WEIGHTS_Q4_0)
MICRO_4(q8_0, q32_micro, WEIGHTS_Q8_0)
MICRO_4(q4_K, k_micro, WEIGHTS_Q4_K)
MICRO_4(q5_K, k_micro, WEIGHTS_Q5_K)
MICRO_4(q6_K, k_micro, WEIGHTS_Q6_K)

DOT_TILE(f32, ROWS, sizeof(float), 1)
DOT_TILE(f16, ROWS, sizeof(float), 1)
DOT_TILE(bf16, ROWS, sizeof(float), 1)
DOT_TILE(q4_0, ROWS, sizeof(block_q8_0), QK8_0)
DOT_TILE(q8_0, ROWS, sizeof(block_q8_0), QK8_0)
DOT_TILE(q4_K, 1, sizeof(block_q8_K), QK_K)
DOT_TILE(q5_K, 1, sizeof(block_q8_K), QK_K)
DOT_TILE(q6_K, 1, sizeof(block_q8_K), QK_K)

/* ---- activation quantization (same bytes as the portable quantizers) ------------------------- */

static ALWAYS_INLINE __m256 abs_ps(__m256 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}

static ALWAYS_INLINE float max_abs_32(const float *x)
{
    __m256 m = abs_ps(_mm256_loadu_ps(x));
    for (int i = 8; i < 32; i += 8)
        m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    return _mm_cvtss_f32(m4);
}

/* 32 values times inverse, rounded to nearest even, as int32 in 4 registers. */
static ALWAYS_INLINE void round_32(const float *x, float inverse, __m256i q[4])
{
    __m256 scale = _mm256_set1_ps(inverse);
    for (int i = 0; i < 4; i++)
        q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), scale));
}

/* Packs 4 x 8 int32 (each within int8) into 32 bytes in order. */
static ALWAYS_INLINE void store_packed_32(int8_t *out, const __m256i q[4])
{
    __m256i words = _mm256_packs_epi32(q[0], q[1]); /* lanes interleave: fixed below */
    __m256i words_hi = _mm256_packs_epi32(q[2], q[3]);
    __m256i bytes = _mm256_packs_epi16(words, words_hi);
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)out, bytes);
}

static void quantize_q8_0(const float *x, void *out, int64_t n)
{
    block_q8_0 *blocks = out;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = max_abs_32(x);
        uint16_t d = g4_f32_to_half(amax / 127.0f);
        memcpy(blocks[b].d, &d, sizeof d);
        __m256i q[4];
        round_32(x, quant_act_inverse_scale(amax), q);
        store_packed_32(blocks[b].qs, q);
    }
}

static void quantize_q8_K(const float *x, void *out, int64_t n)
{
    block_q8_K *blocks = out;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f;
        for (int i = 0; i < QK_K; i += 32) {
            float piece = max_abs_32(x + i);
            amax = piece > amax ? piece : amax;
        }
        float d = amax / 127.0f, inverse = quant_act_inverse_scale(amax);
        memcpy(blocks[b].d, &d, sizeof d);
        for (int i = 0; i < QK_K; i += 32) {
            __m256i q[4];
            round_32(x + i, inverse, q);
            store_packed_32(blocks[b].qs + i, q);
            int16_t sums[2] = {(int16_t)horizontal_sum_i32(_mm256_add_epi32(q[0], q[1])),
                               (int16_t)horizontal_sum_i32(_mm256_add_epi32(q[2], q[3]))};
            memcpy(blocks[b].bsums + i / 8, sums, sizeof sums);
        }
    }
}

/* ---- dequantization (bit-exact with the portable versions) ----------------------------------- */

static void to_float_16bit(const void *row, float *out, int64_t n, float_weights kind)
{
    const uint8_t *bytes = row;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, load_float_weights(bytes, i, kind));
    for (; i < n; i++)
        out[i] = kind == WEIGHTS_F16 ? load_half(bytes + 2 * i)
                                     : g4_bf16_to_f32(load_u16(bytes + 2 * i));
}

static void to_float_f16(const void *row, float *out, int64_t n)
{
    to_float_16bit(row, out, n, WEIGHTS_F16);
}

static void to_float_bf16(const void *row, float *out, int64_t n)
{
    to_float_16bit(row, out, n, WEIGHTS_BF16);
}

static ALWAYS_INLINE void store_scaled_bytes(float *out, __m128i eight_bytes, bool is_signed,
                                             float offset, float scale)
{
    __m256i wide =
        is_signed ? _mm256_cvtepi8_epi32(eight_bytes) : _mm256_cvtepu8_epi32(eight_bytes);
    __m256 q = _mm256_sub_ps(_mm256_cvtepi32_ps(wide), _mm256_set1_ps(offset));
    _mm256_storeu_ps(out, _mm256_mul_ps(q, _mm256_set1_ps(scale)));
}

static void to_float_q4_0(const void *row, float *out, int64_t n)
{
    const block_q4_0 *blocks = row;
    for (int64_t b = 0; b < n / QK4_0; b++, out += QK4_0) {
        q32_block w = q32_load_weights((const uint8_t *)&blocks[b], WEIGHTS_Q4_0);
        uint8_t codes[32];
        _mm256_storeu_si256((__m256i *)codes, w.codes);
        for (int j = 0; j < 32; j += 8)
            store_scaled_bytes(out + j, _mm_loadl_epi64((const __m128i *)(codes + j)), false,
                               8.0f, w.scale);
    }
}

static void to_float_q8_0(const void *row, float *out, int64_t n)
{
    const block_q8_0 *blocks = row;
    for (int64_t b = 0; b < n / QK8_0; b++, out += QK8_0) {
        float scale = load_half(blocks[b].d);
        for (int j = 0; j < 32; j += 8)
            store_scaled_bytes(out + j, _mm_loadl_epi64((const __m128i *)(blocks[b].qs + j)),
                               true, 0.0f, scale);
    }
}

static const cpu_type_ops avx2_ops[] = {
    {G4_TYPE_F32, G4_TYPE_F32, quant_scalar_to_float_f32, NULL, dot_tile_f32, NULL},
    {G4_TYPE_F16, G4_TYPE_F32, to_float_f16, NULL, dot_tile_f16, NULL},
    {G4_TYPE_BF16, G4_TYPE_F32, to_float_bf16, NULL, dot_tile_bf16, NULL},
    {G4_TYPE_Q4_0, G4_TYPE_Q8_0, to_float_q4_0, quantize_q8_0, dot_tile_q4_0, NULL},
    {G4_TYPE_Q8_0, G4_TYPE_Q8_0, to_float_q8_0, quantize_q8_0, dot_tile_q8_0, NULL},
    {G4_TYPE_Q4_K, G4_TYPE_Q8_K, quant_scalar_to_float_q4_K, quantize_q8_K, dot_tile_q4_K, NULL},
    {G4_TYPE_Q5_K, G4_TYPE_Q8_K, quant_scalar_to_float_q5_K, quantize_q8_K, dot_tile_q5_K, NULL},
    {G4_TYPE_Q6_K, G4_TYPE_Q8_K, quant_scalar_to_float_q6_K, quantize_q8_K, dot_tile_q6_K, NULL},
};

const cpu_type_ops *cpu_avx2_ops(g4_type type)
{
    return cpu_ops_find(avx2_ops, sizeof avx2_ops / sizeof avx2_ops[0], type);
}
