/* Block formats, fp16/bf16 conversions and the CPU kernels of every instruction set the
 * machine has, checked against hand-computed values and the portable reference. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "cpu/quant.h"
#include "harness.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Uniform in [-1, 1). */
static float rng_float(void)
{
    return (float)((double)(rng_next() >> 40) / (double)(1ull << 23) - 1.0);
}

static void put_half(uint8_t *p, float f)
{
    uint16_t h = g4_f32_to_half(f);
    memcpy(p, &h, sizeof h);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static int isa_count(void)
{
    return (int)cpu_isa_supported() + 1;
}

static uint64_t row_bytes(g4_type type, int64_t n)
{
    switch (type) {
    case G4_TYPE_F32: return (uint64_t)n * 4;
    case G4_TYPE_F16:
    case G4_TYPE_BF16: return (uint64_t)n * 2;
    case G4_TYPE_Q4_0: return (uint64_t)n / 32 * sizeof(block_q4_0);
    case G4_TYPE_Q8_0: return (uint64_t)n / 32 * sizeof(block_q8_0);
    case G4_TYPE_Q4_K: return (uint64_t)n / 256 * sizeof(block_q4_K);
    case G4_TYPE_Q5_K: return (uint64_t)n / 256 * sizeof(block_q5_K);
    case G4_TYPE_Q6_K: return (uint64_t)n / 256 * sizeof(block_q6_K);
    default: return 0;
    }
}

static int64_t block_elems(g4_type type)
{
    switch (type) {
    case G4_TYPE_Q4_0:
    case G4_TYPE_Q8_0: return 32;
    case G4_TYPE_Q4_K:
    case G4_TYPE_Q5_K:
    case G4_TYPE_Q6_K: return 256;
    default: return 1;
    }
}

static const g4_type all_types[] = {G4_TYPE_F32,  G4_TYPE_F16,  G4_TYPE_BF16, G4_TYPE_Q4_0,
                                    G4_TYPE_Q8_0, G4_TYPE_Q4_K, G4_TYPE_Q5_K, G4_TYPE_Q6_K};
enum { N_TYPES = sizeof all_types / sizeof all_types[0] };

/* Random weights in the type's format: random quant bytes, scales kept small and finite. */
static void fill_weights(g4_type type, uint8_t *row, int64_t n)
{
    uint64_t bytes = row_bytes(type, n);
    for (uint64_t i = 0; i < bytes; i++)
        row[i] = (uint8_t)rng_next();
    switch (type) {
    case G4_TYPE_F32:
        for (int64_t i = 0; i < n; i++) {
            float f = rng_float();
            memcpy(row + 4 * i, &f, 4);
        }
        return;
    case G4_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            put_half(row + 2 * i, rng_float());
        return;
    case G4_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            put_u16(row + 2 * i, g4_f32_to_bf16(rng_float()));
        return;
    case G4_TYPE_Q4_0:
    case G4_TYPE_Q8_0:
        for (uint64_t off = 0; off < bytes; off += row_bytes(type, 32))
            put_half(row + off, 0.01f + 0.05f * fabsf(rng_float()));
        return;
    case G4_TYPE_Q4_K:
    case G4_TYPE_Q5_K:
        for (uint64_t off = 0; off < bytes; off += row_bytes(type, 256)) {
            put_half(row + off, 0.001f + 0.01f * fabsf(rng_float()));
            put_half(row + off + 2, 0.001f + 0.01f * fabsf(rng_float()));
        }
        return;
    case G4_TYPE_Q6_K:
        for (uint64_t off = 0; off < bytes; off += sizeof(block_q6_K))
            put_half(row + off + offsetof(block_q6_K, d), 0.001f + 0.01f * fabsf(rng_float()));
        return;
    default: return;
    }
}

/* Activations with a spread of magnitudes across blocks, and a zero block. */
static void fill_activations(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float block_scale = (float)(1 + (i / 32) % 7) * 0.5f;
        x[i] = rng_float() * block_scale;
    }
    if (n >= 64)
        memset(x + 32, 0, 32 * sizeof *x);
}

/* ---- fp16 / bf16 ----------------------------------------------------------------------------- */

static int half_is_nan(uint16_t h)
{
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
}

static void test_half_known_values(void)
{
    CHECK(g4_half_to_f32(0x3c00) == 1.0f);
    CHECK(g4_half_to_f32(0xc000) == -2.0f);
    CHECK(g4_half_to_f32(0x7bff) == 65504.0f);
    CHECK(g4_half_to_f32(0x0400) == 0x1p-14f);
    CHECK(g4_half_to_f32(0x0001) == 0x1p-24f);
    CHECK(g4_half_to_f32(0x03ff) == 1023 * 0x1p-24f);
    CHECK(g4_half_to_f32(0x8001) == -0x1p-24f);
    CHECK(g4_half_to_f32(0x7c00) == INFINITY);
    CHECK(g4_half_to_f32(0xfc00) == -INFINITY);
    CHECK(isnan(g4_half_to_f32(0x7e00)));
    CHECK(signbit(g4_half_to_f32(0x8000)) && g4_half_to_f32(0x8000) == 0.0f);

    CHECK(g4_f32_to_half(1.0f) == 0x3c00);
    CHECK(g4_f32_to_half(-0.0f) == 0x8000);
    CHECK(g4_f32_to_half(0.1f) == 0x2e66); /* 0.0999755859375, the nearest */
    CHECK(g4_f32_to_half(65504.0f) == 0x7bff);
    CHECK(g4_f32_to_half(65519.99f) == 0x7bff);
    CHECK(g4_f32_to_half(65520.0f) == 0x7c00); /* tie with an odd mantissa rounds up to inf */
    CHECK(g4_f32_to_half(1e10f) == 0x7c00);
    CHECK(g4_f32_to_half(-INFINITY) == 0xfc00);
    CHECK(g4_f32_to_half(0x1p-24f) == 0x0001);
    CHECK(g4_f32_to_half(0x1p-25f) == 0x0000);                       /* tie to even zero */
    CHECK(g4_f32_to_half(nextafterf(0x1p-25f, 1.0f)) == 0x0001);
    CHECK(g4_f32_to_half(3 * 0x1p-25f) == 0x0002);                   /* 1.5 ulp: tie to even 2 */
    CHECK(g4_f32_to_half(1e-30f) == 0x0000);
    CHECK(g4_f32_to_half(-1e-45f) == 0x8000);                        /* f32 subnormal */
    CHECK(g4_f32_to_half(1023.5f * 0x1p-24f) == 0x0400);             /* carry into normal */
    CHECK(g4_f32_to_half(1.0f + 0x1p-11f) == 0x3c00);                /* tie, even stays */
    CHECK(g4_f32_to_half(1.0f + 3 * 0x1p-11f) == 0x3c02);            /* tie, odd rounds up */
    uint16_t nan_half = g4_f32_to_half(NAN);
    CHECK(half_is_nan(nan_half) && (nan_half & 0x0200));
    CHECK(half_is_nan(g4_f32_to_half(g4_f32_from_bits(0x7f800001u)))); /* payload below fp16 */
    CHECK(g4_f32_to_half(-NAN) & 0x8000);
}

/* Every fp16 value round-trips; every midpoint between neighbours rounds to even, and
 * just off the midpoint rounds to the nearer one. */
static void test_half_exhaustive(void)
{
    int round_trip_failures = 0, midpoint_failures = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = g4_half_to_f32((uint16_t)h);
        uint16_t back = g4_f32_to_half(f);
        if (half_is_nan((uint16_t)h) ? !half_is_nan(back) || (back & 0x8000) != (h & 0x8000)
                                     : back != h)
            round_trip_failures++;
    }
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float lo = g4_half_to_f32((uint16_t)h), hi = g4_half_to_f32((uint16_t)(h + 1));
        float mid = lo + (hi - lo) * 0.5f; /* exact: 12 significant bits */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (g4_f32_to_half(mid) != even || g4_f32_to_half(-mid) != (even | 0x8000))
            midpoint_failures++;
        if (g4_f32_to_half(nextafterf(mid, 0.0f)) != h ||
            g4_f32_to_half(nextafterf(mid, INFINITY)) != h + 1)
            midpoint_failures++;
    }
    CHECK_MSG(round_trip_failures == 0, "%d fp16 values do not round-trip", round_trip_failures);
    CHECK_MSG(midpoint_failures == 0, "%d fp16 midpoints round wrongly", midpoint_failures);
}

static void test_bf16(void)
{
    CHECK(g4_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(g4_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(g4_bf16_to_f32(0xc0a0) == -5.0f);
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x3f808000u)) == 0x3f80); /* tie, even stays */
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x3f818000u)) == 0x3f82); /* tie, odd rounds up */
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x3f808001u)) == 0x3f81);
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x3f807fffu)) == 0x3f80);
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x7f7fffffu)) == 0x7f80); /* FLT_MAX rounds to inf */
    CHECK(g4_f32_to_bf16(INFINITY) == 0x7f80);
    CHECK(g4_f32_to_bf16(-INFINITY) == 0xff80);
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x00000001u)) == 0x0000); /* tiny subnormal */
    CHECK(g4_f32_to_bf16(g4_f32_from_bits(0x00018000u)) == 0x0002); /* subnormal tie, odd */
    uint16_t nan_bf16 = g4_f32_to_bf16(g4_f32_from_bits(0x7f800001u));
    CHECK((nan_bf16 & 0x7f80) == 0x7f80 && (nan_bf16 & 0x7f));
    int failures = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
            continue; /* NaN */
        if (g4_f32_to_bf16(g4_bf16_to_f32((uint16_t)h)) != h)
            failures++;
    }
    CHECK_MSG(failures == 0, "%d bf16 values do not round-trip", failures);
}

/* ---- hand-computed blocks -------------------------------------------------------------------- */

static void check_floats(const float *got, const float *want, int n, const char *what)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < 3)
            fprintf(stderr, "    %s[%d] = %g, want %g\n", what, i, got[i], want[i]);
    CHECK_MSG(bad == 0, "%s: %d of %d values wrong", what, bad, n);
}

static void test_q4_0_block(void)
{
    block_q4_0 block;
    put_half(block.d, 0.5f);
    for (int j = 0; j < 16; j++)
        block.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float want[32], got[32];
    for (int j = 0; j < 16; j++) {
        want[j] = (float)(j - 8) * 0.5f;       /* -4, -3.5, ..., 3.5 */
        want[j + 16] = (float)(7 - j) * 0.5f;  /* 3.5, ..., -4 */
    }
    CHECK(want[0] == -4.0f && want[15] == 3.5f && want[16] == 3.5f && want[31] == -4.0f);
    cpu_type_ops_for(G4_TYPE_Q4_0, CPU_ISA_SCALAR)->to_float(&block, got, 32);
    check_floats(got, want, 32, "q4_0");
}

static void test_q8_0_block(void)
{
    block_q8_0 block;
    put_half(block.d, 0.25f);
    float want[32], got[32];
    for (int j = 0; j < 32; j++) {
        block.qs[j] = (int8_t)(j * 8 - 128);
        want[j] = (float)(j * 8 - 128) * 0.25f;
    }
    CHECK(want[0] == -32.0f && want[31] == 30.0f);
    cpu_type_ops_for(G4_TYPE_Q8_0, CPU_ISA_SCALAR)->to_float(&block, got, 32);
    check_floats(got, want, 32, "q8_0");
}

/* The 12-byte packing of Q4_K/Q5_K, written from the format description. */
static void pack_k_scales(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12])
{
    for (int j = 0; j < 4; j++) {
        packed[j] = (uint8_t)(scale[j] | ((scale[j + 4] >> 4) << 6));
        packed[j + 4] = (uint8_t)(min[j] | ((min[j + 4] >> 4) << 6));
        packed[j + 8] = (uint8_t)((scale[j + 4] & 15) | ((min[j + 4] & 15) << 4));
    }
}

static const uint8_t k_scale[8] = {1, 2, 3, 63, 33, 50, 0, 17};
static const uint8_t k_min[8] = {5, 0, 7, 8, 40, 9, 63, 62};

static void test_k_scale_packing(void)
{
    uint8_t packed[12], scale[8], min[8];
    pack_k_scales(k_scale, k_min, packed);
    quant_unpack_k_scales(packed, scale, min);
    CHECK(memcmp(scale, k_scale, 8) == 0);
    CHECK(memcmp(min, k_min, 8) == 0);
    /* one byte by hand: packed[8] = scale[4] & 15 | (min[4] & 15) << 4 = 1 | 8 << 4 */
    CHECK(packed[8] == 0x81);
    CHECK(packed[0] == (1 | (2 << 6))); /* scale[0] = 1, top bits of scale[4] = 33 >> 4 = 2 */
}

static void test_q4_K_block(void)
{
    block_q4_K block;
    put_half(block.d, 1.0f);
    put_half(block.dmin, 0.5f);
    pack_k_scales(k_scale, k_min, block.scales);
    for (int i = 0; i < 128; i++)
        block.qs[i] = (uint8_t)((i % 16) | ((15 - i % 16) << 4));
    float got[256];
    cpu_type_ops_for(G4_TYPE_Q4_K, CPU_ISA_SCALAR)->to_float(&block, got, 256);
    /* element 0: sub-block 0, q = 0: 1*1*0 - 0.5*5 */
    CHECK(got[0] == -2.5f);
    /* element 33: high nibble of qs[1] = 14, sub-block 1: 1*2*14 - 0.5*0 */
    CHECK(got[33] == 28.0f);
    /* element 64 + 3: low nibble of qs[35] = 3, sub-block 2: 1*3*3 - 0.5*7 */
    CHECK(got[67] == 5.5f);
    /* element 192 + 32 + 5: high nibble of qs[101] = 15 - 5 = 10, sub-block 7: 17*10 - 31 */
    CHECK(got[229] == 139.0f);
    float want[256];
    for (int e = 0; e < 256; e++) {
        int chunk = e / 64, l = e % 32, high = (e % 64) >= 32, s = 2 * chunk + high;
        uint8_t byte = block.qs[32 * chunk + l];
        int q = high ? byte >> 4 : byte & 15;
        want[e] = (float)k_scale[s] * (float)q - 0.5f * (float)k_min[s];
    }
    check_floats(got, want, 256, "q4_K");
}

static void test_q5_K_block(void)
{
    block_q5_K block;
    put_half(block.d, 0.5f);
    put_half(block.dmin, 0.25f);
    pack_k_scales(k_scale, k_min, block.scales);
    for (int i = 0; i < 128; i++)
        block.qs[i] = (uint8_t)(i * 7);
    for (int l = 0; l < 32; l++)
        block.qh[l] = (uint8_t)(l * 37 + 11);
    float got[256];
    cpu_type_ops_for(G4_TYPE_Q5_K, CPU_ISA_SCALAR)->to_float(&block, got, 256);
    /* element 0: qs[0] = 0, qh[0] = 11 = 0b1011, bit 0 set: q = 16, 0.5*1*16 - 0.25*5 */
    CHECK(got[0] == 6.75f);
    /* element 32 + 1: qs[1] = 7 high nibble 0, qh[1] = 48 = 0b110000, bit 1 clear: q = 0,
     * sub-block 1: 0 - 0.25*0 */
    CHECK(got[33] == 0.0f);
    /* element 192 + 2: qs[98] = 686 & 255 = 174 = 0xae, low nibble 14; qh[2] = 85 =
     * 0b01010101, bit 6 set: q = 30, sub-block 6: 0.5*0*30 - 0.25*63 */
    CHECK(got[194] == -15.75f);
    float want[256];
    for (int e = 0; e < 256; e++) {
        int chunk = e / 64, l = e % 32, high = (e % 64) >= 32, s = 2 * chunk + high;
        uint8_t byte = block.qs[32 * chunk + l];
        int q = (high ? byte >> 4 : byte & 15) | (((block.qh[l] >> s) & 1) << 4);
        want[e] = 0.5f * (float)k_scale[s] * (float)q - 0.25f * (float)k_min[s];
    }
    check_floats(got, want, 256, "q5_K");
}

static void test_q6_K_block(void)
{
    block_q6_K block;
    for (int i = 0; i < 128; i++)
        block.ql[i] = (uint8_t)(i * 13 + 5);
    for (int i = 0; i < 64; i++)
        block.qh[i] = (uint8_t)(i * 29 + 3);
    for (int i = 0; i < 16; i++)
        block.scales[i] = (int8_t)(i * 17 - 128);
    put_half(block.d, 0.125f);
    float got[256];
    cpu_type_ops_for(G4_TYPE_Q6_K, CPU_ISA_SCALAR)->to_float(&block, got, 256);
    /* element 0: ql[0] = 5 low 5, qh[0] = 3 bits 0-1 = 3: q = 53 - 32 = 21, scale -128 */
    CHECK(got[0] == 0.125f * -128.0f * 21.0f);
    /* element 96 + 1: ql[33] = 434 & 255 = 178 = 0xb2 high 11, qh[1] = 32 bits 6-7 = 0:
     * q = 11 - 32 = -21, scale[6] = -26 */
    CHECK(got[97] == 0.125f * -26.0f * -21.0f);
    /* The reference layout, as two halves of 128. */
    float want[256];
    const uint8_t *ql = block.ql, *qh = block.qh;
    const int8_t *sc = block.scales;
    float *y = want;
    for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, y += 128) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = 0.125f * (float)sc[is] * (float)q1;
            y[l + 32] = 0.125f * (float)sc[is + 2] * (float)q2;
            y[l + 64] = 0.125f * (float)sc[is + 4] * (float)q3;
            y[l + 96] = 0.125f * (float)sc[is + 6] * (float)q4;
        }
    }
    check_floats(got, want, 256, "q6_K");
}

/* ---- tables ---------------------------------------------------------------------------------- */

static void test_tables(void)
{
    CHECK(cpu_isa_detect() <= cpu_isa_supported());
    CHECK(strcmp(cpu_isa_name(CPU_ISA_SCALAR), "scalar") == 0);
    CHECK(strcmp(cpu_isa_name(CPU_ISA_AVX2), "avx2") == 0);
    CHECK(strcmp(cpu_isa_name(CPU_ISA_AVX512), "avx512") == 0);
    CHECK(cpu_type_ops_for(G4_TYPE_Q4_1, CPU_ISA_SCALAR) == NULL);
    CHECK(cpu_type_ops_best(G4_TYPE_I32) == NULL);
    CHECK(cpu_act_row_bytes(G4_TYPE_F32, 64) == 256);
    CHECK(cpu_act_row_bytes(G4_TYPE_Q8_0, 64) == 68);
    CHECK(cpu_act_row_bytes(G4_TYPE_Q8_K, 512) == 584);
    CHECK(cpu_act_row_bytes(G4_TYPE_Q4_0, 64) == 0);
    for (int isa = 0; isa < isa_count(); isa++) {
        for (int t = 0; t < N_TYPES; t++) {
            const cpu_type_ops *ops = cpu_type_ops_for(all_types[t], (cpu_isa)isa);
            CHECK_MSG(ops && ops->type == all_types[t] && ops->to_float && ops->dot_tile,
                      "%s %s", cpu_isa_name((cpu_isa)isa), g4_type_name(all_types[t]));
            if (!ops)
                continue;
            int float_weights = all_types[t] == G4_TYPE_F32 || all_types[t] == G4_TYPE_F16 ||
                                all_types[t] == G4_TYPE_BF16;
            g4_type want_act = float_weights                   ? G4_TYPE_F32
                               : block_elems(all_types[t]) == 32 ? G4_TYPE_Q8_0
                                                                 : G4_TYPE_Q8_K;
            CHECK(ops->act_type == want_act);
            CHECK((ops->quantize_act == NULL) == float_weights);
        }
    }
}

/* ---- every instruction set against the portable kernels -------------------------------------- */

static void test_to_float(g4_type type, cpu_isa isa, int64_t n)
{
    uint8_t *row = malloc(row_bytes(type, n));
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    fill_weights(type, row, n);
    cpu_type_ops_for(type, CPU_ISA_SCALAR)->to_float(row, want, n);
    cpu_type_ops_for(type, isa)->to_float(row, got, n);
    CHECK_MSG(memcmp(want, got, (size_t)n * sizeof *got) == 0, "to_float %s %s n=%lld",
              g4_type_name(type), cpu_isa_name(isa), (long long)n);
    free(row);
    free(want);
    free(got);
}

/* The activation row as floats, whatever its format. */
static void act_to_float(g4_type act_type, const uint8_t *act, float *out, int64_t n)
{
    if (act_type == G4_TYPE_F32) {
        memcpy(out, act, (size_t)n * sizeof *out);
    } else if (act_type == G4_TYPE_Q8_0) {
        cpu_type_ops_for(G4_TYPE_Q8_0, CPU_ISA_SCALAR)->to_float(act, out, n);
    } else {
        const block_q8_K *blocks = (const block_q8_K *)act;
        for (int64_t i = 0; i < n; i++) {
            float d;
            memcpy(&d, blocks[i / 256].d, sizeof d);
            out[i] = d * (float)blocks[i / 256].qs[i % 256];
        }
    }
}

/* Quantizing matches the portable bytes; decoding stays within half a step of the input. */
static void test_quantize_act(g4_type act_type, cpu_isa isa, int64_t n)
{
    const cpu_type_ops *ops = cpu_type_ops_for(act_type == G4_TYPE_Q8_0 ? G4_TYPE_Q8_0
                                                                        : G4_TYPE_Q6_K, isa);
    const cpu_type_ops *ref = cpu_type_ops_for(ops->type, CPU_ISA_SCALAR);
    size_t bytes = cpu_act_row_bytes(act_type, n);
    float *x = malloc((size_t)n * sizeof *x), *back = malloc((size_t)n * sizeof *back);
    uint8_t *want = malloc(bytes), *got = malloc(bytes);
    fill_activations(x, n);
    ref->quantize_act(x, want, n);
    ops->quantize_act(x, got, n);
    CHECK_MSG(memcmp(want, got, bytes) == 0, "quantize %s %s", g4_type_name(act_type),
              cpu_isa_name(isa));
    act_to_float(act_type, got, back, n);
    int64_t block = act_type == G4_TYPE_Q8_0 ? 32 : 256;
    int bad = 0;
    for (int64_t b = 0; b < n / block; b++) {
        float amax = 0.0f;
        for (int64_t i = b * block; i < (b + 1) * block; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        float step = amax / 127.0f;
        /* Q8_0 stores the step as fp16: up to 127 quants times its relative error 2^-11 */
        float bound = act_type == G4_TYPE_Q8_0 ? step * (0.5f + 127.0f / 2048.0f) + 1e-6f * amax
                                               : step * 0.5f * (1.0f + 1e-5f);
        for (int64_t i = b * block; i < (b + 1) * block; i++)
            bad += fabsf(back[i] - x[i]) > bound;
    }
    CHECK_MSG(bad == 0, "quantize %s %s: %d values off", g4_type_name(act_type),
              cpu_isa_name(isa), bad);
    if (act_type == G4_TYPE_Q8_K) {
        const block_q8_K *blocks = (const block_q8_K *)got;
        int sums_wrong = 0;
        for (int64_t b = 0; b < n / 256; b++)
            for (int g = 0; g < 16; g++) {
                int16_t sum, want_sum = 0;
                memcpy(&sum, blocks[b].bsums + 2 * g, sizeof sum);
                for (int j = 0; j < 16; j++)
                    want_sum = (int16_t)(want_sum + blocks[b].qs[16 * g + j]);
                sums_wrong += sum != want_sum;
            }
        CHECK(sums_wrong == 0);
    }
    free(x);
    free(back);
    free(want);
    free(got);
}

typedef struct dot_case {
    int64_t n;
    int n_rows, n_cols;
    size_t row_pad, act_pad, out_pad; /* extra bytes / floats between rows */
} dot_case;

static double worst_relative_error[N_TYPES];

static int type_index(g4_type type)
{
    for (int t = 0; t < N_TYPES; t++)
        if (all_types[t] == type)
            return t;
    return 0;
}

/* sum |w| |x| of one output: the scale the rounding error is measured against. */
static double dot_magnitude(const float *w, const float *x, int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += fabs((double)w[i] * x[i]);
    return sum;
}

/* dot_tile_wide on bf16 activation rows against the exact dot of the dequantized weights
 * with those activations: rounding each scaled weight to bf16 costs at most 2^-9. */
static void check_wide(const cpu_type_ops *ops, const dot_case *k, const uint8_t *rows,
                       size_t row_stride, const float *w_f, const float *x_raw)
{
    size_t out_stride = (size_t)k->n_rows + k->out_pad;
    float *got = malloc((size_t)k->n_cols * out_stride * sizeof *got);
    size_t n_act = (size_t)k->n_cols * (size_t)k->n;
    uint16_t *acts = malloc(n_act * sizeof *acts);
    float *x_bf16 = malloc(n_act * sizeof *x_bf16);
    for (size_t i = 0; i < n_act; i++) {
        acts[i] = g4_f32_to_bf16(x_raw[i]);
        x_bf16[i] = g4_bf16_to_f32(acts[i]);
    }
    void *scratch = aligned_alloc(64, CPU_WIDE_SCRATCH_BYTES);
    for (size_t i = 0; i < (size_t)k->n_cols * out_stride; i++)
        got[i] = -12345.0f;
    ops->dot_tile_wide(k->n, rows, row_stride, k->n_rows, acts, (size_t)k->n * sizeof *acts,
                       k->n_cols, got, out_stride, scratch);
    int bad = 0;
    for (int c = 0; c < k->n_cols; c++) {
        const float *x = x_bf16 + (size_t)c * (size_t)k->n;
        for (int r = 0; r < k->n_rows; r++) {
            const float *w = w_f + (size_t)r * (size_t)k->n;
            double exact = 0;
            for (int64_t i = 0; i < k->n; i++)
                exact += (double)w[i] * x[i];
            double error = fabs(got[(size_t)c * out_stride + (size_t)r] - exact) /
                           (dot_magnitude(w, x, k->n) + 1e-30);
            bad += !(error <= 1.0 / 512 + 2e-6);
        }
        for (size_t r = (size_t)k->n_rows; r < out_stride; r++)
            bad += got[(size_t)c * out_stride + r] != -12345.0f;
    }
    CHECK_MSG(bad == 0, "dot_tile_wide %s n=%lld rows=%d cols=%d: %d wrong",
              g4_type_name(ops->type), (long long)k->n, k->n_rows, k->n_cols, bad);
    free(scratch);
    free(acts);
    free(x_bf16);
    free(got);
}

static void test_dot_case(g4_type type, cpu_isa isa, dot_case k)
{
    const cpu_type_ops *ops = cpu_type_ops_for(type, isa);
    const cpu_type_ops *ref = cpu_type_ops_for(type, CPU_ISA_SCALAR);
    size_t row_stride = row_bytes(type, k.n) + k.row_pad;
    size_t act_stride = cpu_act_row_bytes(ops->act_type, k.n) + k.act_pad;
    size_t out_stride = (size_t)k.n_rows + k.out_pad;
    uint8_t *rows = calloc((size_t)k.n_rows, row_stride);
    uint8_t *acts = calloc((size_t)k.n_cols, act_stride);
    float *x = malloc((size_t)k.n * sizeof *x);
    float *want = calloc((size_t)k.n_cols * out_stride, sizeof *want);
    float *got = calloc((size_t)k.n_cols * out_stride, sizeof *got);
    float *w_f = malloc((size_t)k.n_rows * (size_t)k.n * sizeof *w_f);
    float *x_f = malloc((size_t)k.n_cols * (size_t)k.n * sizeof *x_f);
    float *x_raw = malloc((size_t)k.n_cols * (size_t)k.n * sizeof *x_raw);
    for (int r = 0; r < k.n_rows; r++) {
        fill_weights(type, rows + (size_t)r * row_stride, k.n);
        ref->to_float(rows + (size_t)r * row_stride, w_f + (size_t)r * (size_t)k.n, k.n);
    }
    for (int c = 0; c < k.n_cols; c++) {
        uint8_t *act = acts + (size_t)c * act_stride;
        fill_activations(x, k.n);
        memcpy(x_raw + (size_t)c * (size_t)k.n, x, (size_t)k.n * sizeof *x);
        if (ops->quantize_act)
            ref->quantize_act(x, act, k.n);
        else
            memcpy(act, x, (size_t)k.n * sizeof *x);
        act_to_float(ops->act_type, act, x_f + (size_t)c * (size_t)k.n, k.n);
    }
    for (size_t i = 0; i < (size_t)k.n_cols * out_stride; i++)
        want[i] = got[i] = -12345.0f; /* padding must stay untouched */
    ref->dot_tile(k.n, rows, row_stride, k.n_rows, acts, act_stride, k.n_cols, want, out_stride);
    ops->dot_tile(k.n, rows, row_stride, k.n_rows, acts, act_stride, k.n_cols, got, out_stride);
    /* both sides sum exact block products (or exact f32 products) in f32 or better: what
     * remains is accumulation rounding, well below this for these lengths */
    double tolerance = 2e-6;
    int bad = 0;
    for (int c = 0; c < k.n_cols; c++) {
        for (int r = 0; r < k.n_rows; r++) {
            size_t at = (size_t)c * out_stride + (size_t)r;
            double magnitude = dot_magnitude(w_f + (size_t)r * (size_t)k.n,
                                             x_f + (size_t)c * (size_t)k.n, k.n);
            double error = fabs((double)got[at] - want[at]) / (magnitude + 1e-30);
            if (error > worst_relative_error[type_index(type)])
                worst_relative_error[type_index(type)] = error;
            if (!(error <= tolerance) && bad++ < 3)
                fprintf(stderr, "    r=%d c=%d got %.9g want %.9g (|w||x| %.3g)\n", r, c,
                        got[at], want[at], magnitude);
        }
        for (size_t r = (size_t)k.n_rows; r < out_stride; r++)
            bad += got[(size_t)c * out_stride + r] != -12345.0f;
    }
    CHECK_MSG(bad == 0, "dot_tile %s %s n=%lld rows=%d cols=%d: %d wrong", g4_type_name(type),
              cpu_isa_name(isa), (long long)k.n, k.n_rows, k.n_cols, bad);
    if (ops->dot_tile_wide && k.n_cols >= CPU_WIDE_MIN_COLS)
        check_wide(ops, &k, rows, row_stride, w_f, x_raw);
    free(x_raw);
    free(rows);
    free(acts);
    free(x);
    free(want);
    free(got);
    free(w_f);
    free(x_f);
}

static void test_dot_shapes(g4_type type, cpu_isa isa)
{
    int64_t unit = block_elems(type);
    /* every tile remainder, with odd byte strides */
    int64_t small_n = unit == 1 ? 37 : unit == 32 ? 96 : 512;
    for (int n_rows = 1; n_rows <= 9; n_rows++)
        for (int n_cols = 1; n_cols <= 9; n_cols++)
            test_dot_case(type, isa, (dot_case){small_n, n_rows, n_cols, 3, 5, 2});
    /* lengths: single block, odd block counts, float tails */
    int64_t lengths_float[] = {1, 15, 16, 17, 100, 256, 1000};
    int64_t lengths_block[] = {1, 2, 3, 5, 8, 15};
    for (int i = 0; i < 7; i++) {
        int64_t n = unit == 1 ? lengths_float[i] : (i < 6 ? lengths_block[i] * unit : 0);
        if (n > 0)
            test_dot_case(type, isa, (dot_case){n, 5, 3, 0, 0, 0});
    }
    /* a model-sized row, and enough columns to cross the kernels' cache-sized column chunks */
    int64_t long_n = unit == 1 ? 1024 : 3840 - 3840 % unit;
    test_dot_case(type, isa, (dot_case){long_n, 6, 1, 0, 0, 0});
    test_dot_case(type, isa, (dot_case){long_n, 9, 101, 1, 0, 1});
    test_dot_case(type, isa, (dot_case){small_n, 7, CPU_WIDE_MIN_COLS + 3, 3, 5, 2});
    /* the wide kernels' remainders: two spans and a partial one, more rows than one
     * group, columns that do not fill the last micro-tile */
    if (unit == 32)
        test_dot_case(type, isa,
                      (dot_case){2 * CPU_WIDE_SPAN + 3 * unit, CPU_WIDE_ROWS + 6, 23, 0, 0, 0});
}

static void test_isa(cpu_isa isa)
{
    printf("checking %s kernels\n", cpu_isa_name(isa));
    for (int t = 0; t < N_TYPES; t++) {
        int64_t unit = block_elems(all_types[t]);
        test_to_float(all_types[t], isa, unit == 1 ? 1000 : 7 * unit);
        test_to_float(all_types[t], isa, unit == 1 ? 13 : unit);
        test_dot_shapes(all_types[t], isa);
    }
    test_quantize_act(G4_TYPE_Q8_0, isa, 32 * 33);
    test_quantize_act(G4_TYPE_Q8_K, isa, 256 * 5);
}

int main(void)
{
    test_half_known_values();
    test_half_exhaustive();
    test_bf16();
    test_q4_0_block();
    test_q8_0_block();
    test_k_scale_packing();
    test_q4_K_block();
    test_q5_K_block();
    test_q6_K_block();
    test_tables();
    for (int isa = 0; isa < isa_count(); isa++)
        test_isa((cpu_isa)isa);
    for (int isa = isa_count(); isa < CPU_ISA_COUNT; isa++)
        printf("skipped %s kernels: not supported by this CPU\n", cpu_isa_name((cpu_isa)isa));
    for (int t = 0; t < N_TYPES; t++)
        printf("  %-5s worst dot error relative to sum|w||x|: %.2g\n",
               g4_type_name(all_types[t]), worst_relative_error[t]);
    return test_finish("test_quant");
}
