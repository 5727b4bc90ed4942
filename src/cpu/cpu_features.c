/* Run-time instruction-set detection and the choice of kernel table. */
#include "cpu/cpu_features.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static bool bit(unsigned reg, int index)
{
    return (reg >> index) & 1u;
}

/* XCR0: which register states the OS saves on context switches. */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static cpu_isa detect_x86(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return CPU_ISA_SCALAR;
    bool osxsave = bit(c, 27), avx = bit(c, 28), fma = bit(c, 12), f16c = bit(c, 29);
    if (!osxsave || !avx || !fma || !f16c)
        return CPU_ISA_SCALAR;
    uint64_t xcr0 = read_xcr0();
    const uint64_t ymm_state = 0x6;   /* SSE + AVX */
    const uint64_t zmm_state = 0xe6;  /* plus opmask, ZMM0-15 upper halves, ZMM16-31 */
    if ((xcr0 & ymm_state) != ymm_state)
        return CPU_ISA_SCALAR;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !bit(b, 5) /* AVX2 */)
        return CPU_ISA_SCALAR;
    bool avx512 = bit(b, 16) /* F */ && bit(b, 17) /* DQ */ && bit(b, 30) /* BW */ &&
                  bit(b, 31) /* VL */ && bit(c, 11) /* VNNI */;
    if (avx512 && (xcr0 & zmm_state) == zmm_state)
        return CPU_ISA_AVX512;
    return CPU_ISA_AVX2;
}
#endif

static bool detect_bf16(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && bit(a, 5) /* AVX512_BF16 */;
#else
    return false;
#endif
}

bool cpu_has_avx512_bf16(void)
{
    static atomic_int cached = -1;
    int has = atomic_load_explicit(&cached, memory_order_relaxed);
    if (has < 0) {
        const char *wanted = getenv("G4_CPU_BF16");
        has = cpu_isa_detect() == CPU_ISA_AVX512 && detect_bf16() &&
              !(wanted && strcmp(wanted, "0") == 0);
        atomic_store_explicit(&cached, has, memory_order_relaxed);
    }
    return has;
}

cpu_isa cpu_isa_supported(void)
{
    static atomic_int cached = -1; /* racing first calls compute the same value */
    int isa = atomic_load_explicit(&cached, memory_order_relaxed);
    if (isa < 0) {
#if defined(__x86_64__) || defined(__i386__)
        isa = (int)detect_x86();
#else
        isa = CPU_ISA_SCALAR;
#endif
        atomic_store_explicit(&cached, isa, memory_order_relaxed);
    }
    return (cpu_isa)isa;
}

static cpu_isa isa_from_environment(cpu_isa supported)
{
    const char *wanted = getenv("G4_CPU_ISA");
    if (!wanted)
        return supported;
    for (int isa = 0; isa < (int)supported; isa++)
        if (strcmp(wanted, cpu_isa_name((cpu_isa)isa)) == 0)
            return (cpu_isa)isa;
    return supported;
}

cpu_isa cpu_isa_detect(void)
{
    static atomic_int cached = -1;
    int isa = atomic_load_explicit(&cached, memory_order_relaxed);
    if (isa < 0) {
        isa = (int)isa_from_environment(cpu_isa_supported());
        atomic_store_explicit(&cached, isa, memory_order_relaxed);
    }
    return (cpu_isa)isa;
}

const char *cpu_isa_name(cpu_isa isa)
{
    switch (isa) {
    case CPU_ISA_SCALAR: return "scalar";
    case CPU_ISA_AVX2: return "avx2";
    case CPU_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

const cpu_type_ops *cpu_type_ops_for(g4_type type, cpu_isa isa)
{
    switch (isa) {
    case CPU_ISA_SCALAR: return cpu_scalar_ops(type);
#if defined(__x86_64__) || defined(__i386__)
    case CPU_ISA_AVX2: return cpu_avx2_ops(type);
    case CPU_ISA_AVX512: return cpu_avx512_ops(type);
#else
    default: return NULL;
#endif
    }
    return NULL;
}

const cpu_type_ops *cpu_type_ops_best(g4_type type)
{
    return cpu_type_ops_for(type, cpu_isa_detect());
}

size_t cpu_act_row_bytes(g4_type act_type, int64_t n)
{
    switch (act_type) {
    case G4_TYPE_F32: return (size_t)n * sizeof(float);
    case G4_TYPE_BF16: return (size_t)n * sizeof(uint16_t);
    case G4_TYPE_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    case G4_TYPE_Q8_K: return (size_t)(n / QK_K) * sizeof(block_q8_K);
    default: return 0;
    }
}
