/* Portable kernels: the reference every SIMD kernel is tested against, and the fallback
 * for machines without AVX2. Dot products sum each block exactly in integers (or each
 * product exactly in double for float weights) and accumulate in double, so they are as
 * accurate as the formats allow. Also the plumbing the SIMD files share. */
#include "cpu/quant.h"

#include <math.h>
#include <string.h>

#include "core/half.h"

static float read_half(const uint8_t bytes[2])
{
    uint16_t h;
    memcpy(&h, bytes, sizeof h);
    return g4_half_to_f32(h);
}

static float read_f32(const uint8_t bytes[4])
{
    float f;
    memcpy(&f, bytes, sizeof f);
    return f;
}

static void write_half(uint8_t bytes[2], float f)
{
    uint16_t h = g4_f32_to_half(f);
    memcpy(bytes, &h, sizeof h);
}

void quant_unpack_k_scales(const uint8_t packed[12], uint8_t scale[8], uint8_t min[8])
{
    for (int j = 0; j < 4; j++) {
        scale[j] = packed[j] & 63;
        min[j] = packed[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        scale[j] = (uint8_t)((packed[j + 4] & 15) | ((packed[j - 4] >> 6) << 4));
        min[j] = (uint8_t)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

/* ---- dequantization ------------------------------------------------------------------------ */

void quant_scalar_to_float_f32(const void *row, float *out, int64_t n)
{
    memcpy(out, row, (size_t)n * sizeof *out);
}

static void to_float_f16(const void *row, float *out, int64_t n)
{
    const uint8_t *bytes = row;
    for (int64_t i = 0; i < n; i++)
        out[i] = read_half(bytes + 2 * i);
}

static void to_float_bf16(const void *row, float *out, int64_t n)
{
    const uint8_t *bytes = row;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, bytes + 2 * i, sizeof h);
        out[i] = g4_bf16_to_f32(h);
    }
}

static void to_float_q4_0(const void *row, float *out, int64_t n)
{
    const block_q4_0 *blocks = row;
    for (int64_t b = 0; b < n / QK4_0; b++, out += QK4_0) {
        float d = read_half(blocks[b].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            out[j] = (float)((blocks[b].qs[j] & 15) - 8) * d;
            out[j + QK4_0 / 2] = (float)((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

static void to_float_q8_0(const void *row, float *out, int64_t n)
{
    const block_q8_0 *blocks = row;
    for (int64_t b = 0; b < n / QK8_0; b++, out += QK8_0) {
        float d = read_half(blocks[b].d);
        for (int j = 0; j < QK8_0; j++)
            out[j] = (float)blocks[b].qs[j] * d;
    }
}

/* The 256 codes of a Q4_K or Q5_K block in element order (qh: the Q5_K fifth bits, NULL
 * for Q4_K). */
static void k_block_codes(const uint8_t *qs, const uint8_t *qh, uint8_t codes[QK_K])
{
    for (int chunk = 0; chunk < 4; chunk++, qs += 32, codes += 64) {
        for (int l = 0; l < 32; l++) {
            int fifth_lo = qh ? ((qh[l] >> (2 * chunk)) & 1) << 4 : 0;
            int fifth_hi = qh ? ((qh[l] >> (2 * chunk + 1)) & 1) << 4 : 0;
            codes[l] = (uint8_t)((qs[l] & 15) | fifth_lo);
            codes[l + 32] = (uint8_t)((qs[l] >> 4) | fifth_hi);
        }
    }
}

/* One Q4_K or Q5_K block. The SIMD versions compute (d * scale) * q - (dmin * min) in this
 * order, so results match bit for bit. */
static void k_block_to_float(const uint8_t d_half[2], const uint8_t dmin_half[2],
                             const uint8_t *packed_scales, const uint8_t *qs,
                             const uint8_t *qh, float *out)
{
    float d = read_half(d_half), dmin = read_half(dmin_half);
    uint8_t scale[8], min[8], codes[QK_K];
    quant_unpack_k_scales(packed_scales, scale, min);
    k_block_codes(qs, qh, codes);
    for (int e = 0; e < QK_K; e++)
        out[e] = d * scale[e / 32] * (float)codes[e] - dmin * min[e / 32];
}

void quant_scalar_to_float_q4_K(const void *row, float *out, int64_t n)
{
    const block_q4_K *blocks = row;
    for (int64_t b = 0; b < n / QK_K; b++, out += QK_K)
        k_block_to_float(blocks[b].d, blocks[b].dmin, blocks[b].scales, blocks[b].qs, NULL,
                         out);
}

void quant_scalar_to_float_q5_K(const void *row, float *out, int64_t n)
{
    const block_q5_K *blocks = row;
    for (int64_t b = 0; b < n / QK_K; b++, out += QK_K)
        k_block_to_float(blocks[b].d, blocks[b].dmin, blocks[b].scales, blocks[b].qs,
                         blocks[b].qh, out);
}

/* The 6-bit quant of element e (0..255) of a Q6_K block, before subtracting 32. */
static int q6_K_code(const block_q6_K *block, int e)
{
    int half = e / 128, l = e % 32, quarter = (e % 128) / 32;
    const uint8_t *ql = block->ql + 64 * half;
    const uint8_t *qh = block->qh + 32 * half;
    int low = quarter & 1 ? ql[l + 32] : ql[l];
    low = quarter >= 2 ? low >> 4 : low & 15;
    return low | (((qh[l] >> (2 * quarter)) & 3) << 4);
}

/* Element e of a Q6_K block uses scales[e / 16]. */
void quant_scalar_to_float_q6_K(const void *row, float *out, int64_t n)
{
    const block_q6_K *blocks = row;
    for (int64_t b = 0; b < n / QK_K; b++, out += QK_K) {
        const block_q6_K *block = &blocks[b];
        float d = read_half(block->d);
        for (int e = 0; e < QK_K; e++)
            out[e] = d * (float)block->scales[e / 16] * (float)(q6_K_code(block, e) - 32);
    }
}

/* ---- activation quantization --------------------------------------------------------------- */

static float max_abs(const float *x, int count)
{
    float amax = 0.0f;
    for (int i = 0; i < count; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    return amax;
}

static void quantize_q8_0(const float *x, void *out, int64_t n)
{
    block_q8_0 *blocks = out;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = max_abs(x, QK8_0);
        float inverse = quant_act_inverse_scale(amax);
        write_half(blocks[b].d, amax / 127.0f);
        for (int j = 0; j < QK8_0; j++)
            blocks[b].qs[j] = (int8_t)lrintf(x[j] * inverse);
    }
}

static void quantize_q8_K(const float *x, void *out, int64_t n)
{
    block_q8_K *blocks = out;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        block_q8_K *block = &blocks[b];
        float amax = max_abs(x, QK_K);
        float inverse = quant_act_inverse_scale(amax);
        float d = amax / 127.0f;
        memcpy(block->d, &d, sizeof d);
        for (int group = 0; group < QK_K / 16; group++) {
            int16_t sum = 0;
            for (int j = 16 * group; j < 16 * group + 16; j++) {
                block->qs[j] = (int8_t)lrintf(x[j] * inverse);
                sum = (int16_t)(sum + block->qs[j]);
            }
            memcpy(block->bsums + 2 * group, &sum, sizeof sum);
        }
    }
}

/* ---- dot products of one weight row with one activation row ------------------------------- */

typedef float (*row_dot_fn)(int64_t n, const uint8_t *row, const uint8_t *act);

static float dot_f32(int64_t n, const uint8_t *row, const uint8_t *act)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)read_f32(row + 4 * i) * read_f32(act + 4 * i);
    return (float)sum;
}

static float dot_f16(int64_t n, const uint8_t *row, const uint8_t *act)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)read_half(row + 2 * i) * read_f32(act + 4 * i);
    return (float)sum;
}

static float dot_bf16(int64_t n, const uint8_t *row, const uint8_t *act)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, row + 2 * i, sizeof h);
        sum += (double)g4_bf16_to_f32(h) * read_f32(act + 4 * i);
    }
    return (float)sum;
}

static float dot_q4_0(int64_t n, const uint8_t *row, const uint8_t *act)
{
    const block_q4_0 *w = (const block_q4_0 *)row;
    const block_q8_0 *a = (const block_q8_0 *)act;
    double sum = 0.0;
    for (int64_t b = 0; b < n / QK4_0; b++) {
        int isum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            isum += ((w[b].qs[j] & 15) - 8) * a[b].qs[j];
            isum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + QK4_0 / 2];
        }
        sum += (double)read_half(w[b].d) * read_half(a[b].d) * isum;
    }
    return (float)sum;
}

static float dot_q8_0(int64_t n, const uint8_t *row, const uint8_t *act)
{
    const block_q8_0 *w = (const block_q8_0 *)row;
    const block_q8_0 *a = (const block_q8_0 *)act;
    double sum = 0.0;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        int isum = 0;
        for (int j = 0; j < QK8_0; j++)
            isum += w[b].qs[j] * a[b].qs[j];
        sum += (double)read_half(w[b].d) * read_half(a[b].d) * isum;
    }
    return (float)sum;
}

/* Q4_K and Q5_K share everything but the codes: sum over sub-blocks s of
 * d*scale[s]*dot(q, a) - dmin*min[s]*sum(a), times the activation scale. */
static double k_quant_block_dot(const uint8_t codes[QK_K], float d, float dmin,
                                const uint8_t packed_scales[12], const block_q8_K *a)
{
    uint8_t scale[8], min[8];
    quant_unpack_k_scales(packed_scales, scale, min);
    int scaled_dot = 0, scaled_sum = 0;
    for (int s = 0; s < 8; s++) {
        int dot = 0, sum = 0;
        for (int j = 32 * s; j < 32 * s + 32; j++) {
            dot += codes[j] * a->qs[j];
            sum += a->qs[j];
        }
        scaled_dot += scale[s] * dot;
        scaled_sum += min[s] * sum;
    }
    return (double)read_f32(a->d) * ((double)d * scaled_dot - (double)dmin * scaled_sum);
}

static float dot_q4_K(int64_t n, const uint8_t *row, const uint8_t *act)
{
    const block_q4_K *w = (const block_q4_K *)row;
    const block_q8_K *a = (const block_q8_K *)act;
    double sum = 0.0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        uint8_t codes[QK_K];
        k_block_codes(w[b].qs, NULL, codes);
        sum += k_quant_block_dot(codes, read_half(w[b].d), read_half(w[b].dmin), w[b].scales,
                                 &a[b]);
    }
    return (float)sum;
}

static float dot_q5_K(int64_t n, const uint8_t *row, const uint8_t *act)
{
    const block_q5_K *w = (const block_q5_K *)row;
    const block_q8_K *a = (const block_q8_K *)act;
    double sum = 0.0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        uint8_t codes[QK_K];
        k_block_codes(w[b].qs, w[b].qh, codes);
        sum += k_quant_block_dot(codes, read_half(w[b].d), read_half(w[b].dmin), w[b].scales,
                                 &a[b]);
    }
    return (float)sum;
}

static float dot_q6_K(int64_t n, const uint8_t *row, const uint8_t *act)
{
    const block_q6_K *w = (const block_q6_K *)row;
    const block_q8_K *a = (const block_q8_K *)act;
    double sum = 0.0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int scaled_dot = 0;
        for (int group = 0; group < QK_K / 16; group++) {
            int dot = 0;
            for (int e = 16 * group; e < 16 * group + 16; e++)
                dot += (q6_K_code(&w[b], e) - 32) * a[b].qs[e];
            scaled_dot += w[b].scales[group] * dot;
        }
        sum += (double)read_half(w[b].d) * read_f32(a[b].d) * scaled_dot;
    }
    return (float)sum;
}

static void tile_from_row_dots(row_dot_fn dot, int64_t n, const void *rows, size_t row_stride,
                               int n_rows, const void *acts, size_t act_stride, int n_cols,
                               float *out, size_t out_stride)
{
    for (int c = 0; c < n_cols; c++) {
        const uint8_t *act = (const uint8_t *)acts + (size_t)c * act_stride;
        for (int r = 0; r < n_rows; r++)
            out[(size_t)c * out_stride + (size_t)r] =
                dot(n, (const uint8_t *)rows + (size_t)r * row_stride, act);
    }
}

#define SCALAR_DOT_TILE(name)                                                                 \
    static void dot_tile_##name(int64_t n, const void *rows, size_t row_stride, int n_rows,   \
                                const void *acts, size_t act_stride, int n_cols, float *out,  \
                                size_t out_stride)                                            \
    {                                                                                         \
        tile_from_row_dots(dot_##name, n, rows, row_stride, n_rows, acts, act_stride, n_cols, \
                           out, out_stride);                                                  \
    }

SCALAR_DOT_TILE(f32)
SCALAR_DOT_TILE(f16)
SCALAR_DOT_TILE(bf16)
SCALAR_DOT_TILE(q4_0)
SCALAR_DOT_TILE(q8_0)
SCALAR_DOT_TILE(q4_K)
SCALAR_DOT_TILE(q5_K)
SCALAR_DOT_TILE(q6_K)

static const cpu_type_ops scalar_ops[] = {
    {G4_TYPE_F32, G4_TYPE_F32, quant_scalar_to_float_f32, NULL, dot_tile_f32, NULL},
    {G4_TYPE_F16, G4_TYPE_F32, to_float_f16, NULL, dot_tile_f16, NULL},
    {G4_TYPE_BF16, G4_TYPE_F32, to_float_bf16, NULL, dot_tile_bf16, NULL},
    {G4_TYPE_Q4_0, G4_TYPE_Q8_0, to_float_q4_0, quantize_q8_0,
     dot_tile_q4_0, NULL},
    {G4_TYPE_Q8_0, G4_TYPE_Q8_0, to_float_q8_0, quantize_q8_0,
     dot_tile_q8_0, NULL},
    {G4_TYPE_Q4_K, G4_TYPE_Q8_K, quant_scalar_to_float_q4_K, quantize_q8_K,
     dot_tile_q4_K, NULL},
    {G4_TYPE_Q5_K, G4_TYPE_Q8_K, quant_scalar_to_float_q5_K, quantize_q8_K,
     dot_tile_q5_K, NULL},
    {G4_TYPE_Q6_K, G4_TYPE_Q8_K, quant_scalar_to_float_q6_K, quantize_q8_K,
     dot_tile_q6_K, NULL},
};

const cpu_type_ops *cpu_ops_find(const cpu_type_ops *table, size_t count, g4_type type)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].type == type)
            return &table[i];
    return NULL;
}

const cpu_type_ops *cpu_scalar_ops(g4_type type)
{
    return cpu_ops_find(scalar_ops, sizeof scalar_ops / sizeof scalar_ops[0], type);
}

/* ---- tiling shared by the SIMD kernels ------------------------------------------------------- */

static int cols_per_chunk(const cpu_tiling *tiling, int64_t n)
{
    size_t act_bytes = (size_t)(n / tiling->act_block_elems) * tiling->act_block_bytes;
    size_t cols = CPU_TILE_CHUNK_BYTES / (act_bytes ? act_bytes : 1);
    cols -= cols % (size_t)tiling->cols_per_tile;
    if (cols < (size_t)tiling->cols_per_tile)
        cols = (size_t)tiling->cols_per_tile;
    return cols > 65536 ? 65536 : (int)cols;
}

void cpu_tile_run(const cpu_tiling *tiling, int64_t n, const void *rows, size_t row_stride,
                  int n_rows, const void *acts, size_t act_stride, int n_cols, float *out,
                  size_t out_stride)
{
    const uint8_t *row_bytes = rows, *act_bytes = acts;
    int chunk = cols_per_chunk(tiling, n);
    for (int c0 = 0; c0 < n_cols; c0 += chunk) {
        int c_end = n_cols - c0 > chunk ? c0 + chunk : n_cols;
        for (int r0 = 0; r0 < n_rows; r0 += tiling->rows_per_tile) {
            cpu_micro_tile tile = {.n = n, .row_stride = row_stride, .act_stride = act_stride,
                                   .out_stride = out_stride};
            tile.n_rows = n_rows - r0 < tiling->rows_per_tile ? n_rows - r0
                                                                 : tiling->rows_per_tile;
            for (int i = 0; i < tiling->rows_per_tile; i++) {
                int r = i < tile.n_rows ? r0 + i : r0 + tile.n_rows - 1;
                tile.rows[i] = row_bytes + (size_t)r * row_stride;
            }
            for (int c = c0; c < c_end; c += tiling->cols_per_tile) {
                int nc = c_end - c < tiling->cols_per_tile ? c_end - c : tiling->cols_per_tile;
                tile.acts = act_bytes + (size_t)c * act_stride;
                tile.stream = c == 0;
                tile.out = out + (size_t)c * out_stride + (size_t)r0;
                tiling->by_cols[nc - 1](&tile);
            }
        }
    }
}
