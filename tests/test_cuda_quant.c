/* The CUDA kernels' weight readers (src/cuda/cuda_quant.cuh), run on the host, against the
 * CPU's scalar dequantization (the reference of every kernel) for every type the GPU
 * takes: random blocks with sane scales, several rows, every element compared. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/tensor_type.h"
#include "cpu/quant.h"
#include "cuda/cuda_impl.h"
#include "harness.h"

enum { N_IN = 512, N_ROWS = 3 };

static uint32_t rng_state = 12345u;

static uint32_t next_random(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static float random_float(float scale)
{
    return scale * ((float)(next_random() % 20001) / 10000.0f - 1.0f);
}

static void put_half(uint8_t *p, float f)
{
    uint16_t h = g4_f32_to_half(f);
    memcpy(p, &h, 2);
}

/* Random codes; every block's f16 scales (at the type's offsets) set to small finite values. */
static void fill_row(g4_type type, uint8_t *row, size_t row_bytes)
{
    const g4_type_layout *layout = g4_type_get_layout(type);
    for (size_t i = 0; i < row_bytes; i++)
        row[i] = (uint8_t)next_random();
    for (size_t b = 0; b < row_bytes / layout->block_bytes; b++) {
        uint8_t *block = row + b * layout->block_bytes;
        uint16_t h;
        switch (type) {
        case G4_TYPE_Q4_0:
        case G4_TYPE_Q8_0:
            put_half(block, random_float(0.05f));
            break;
        case G4_TYPE_Q4_K:
        case G4_TYPE_Q5_K:
            put_half(block, random_float(0.01f));
            put_half(block + 2, random_float(0.01f));
            break;
        case G4_TYPE_Q6_K:
            put_half(block + 208, random_float(0.01f));
            break;
        case G4_TYPE_F16:
            put_half(block, random_float(4.0f));
            break;
        case G4_TYPE_BF16:
            h = g4_f32_to_bf16(random_float(4.0f));
            memcpy(block, &h, 2);
            break;
        default: { /* F32 */
            float f = random_float(4.0f);
            memcpy(block, &f, 4);
        }
        }
    }
}

static void check_type(g4_type type)
{
    size_t row_bytes = (size_t)g4_type_row_bytes(type, N_IN);
    uint8_t *rows = aligned_alloc(64, N_ROWS * row_bytes + 64);
    float want[N_IN], got[N_IN];
    const cpu_type_ops *ops = cpu_scalar_ops(type);
    CHECK_MSG(rows && ops, "%s: no CPU reference", g4_type_name(type));
    if (!rows || !ops) {
        free(rows);
        return;
    }
    fill_row(type, rows, N_ROWS * row_bytes);
    double worst = 0.0;
    for (int r = 0; r < N_ROWS; r++) {
        const uint8_t *row = rows + r * row_bytes;
        ops->to_float(row, want, N_IN);
        CHECK(cu_dequant_row_host(type, row, N_IN, got));
        for (int i = 0; i < N_IN; i++) {
            double d = fabs((double)got[i] - want[i]) / (fabs(want[i]) + 1.0);
            worst = d > worst ? d : worst;
        }
    }
    CHECK_MSG(worst <= 1e-6, "%s: difference %.2e", g4_type_name(type), worst);
    free(rows);
}

int main(void)
{
    const g4_type types[] = {G4_TYPE_Q4_0, G4_TYPE_Q8_0, G4_TYPE_Q4_K, G4_TYPE_Q5_K,
                             G4_TYPE_Q6_K, G4_TYPE_F16,  G4_TYPE_BF16, G4_TYPE_F32};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        check_type(types[i]);
    float out[N_IN];
    uint8_t row[N_IN] = {0};
    CHECK(!cu_dequant_row_host(G4_TYPE_Q4_1, row, 32, out));
    CHECK(!cu_dequant_row_host(G4_TYPE_Q8_0, row, 48, out));
    return test_finish("test_cuda_quant");
}
