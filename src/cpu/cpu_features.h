/* Which SIMD instruction set the kernels may use on this machine. */
#ifndef G4_CPU_CPU_FEATURES_H
#define G4_CPU_CPU_FEATURES_H

#include <stdbool.h>

typedef enum cpu_isa {
    CPU_ISA_SCALAR, /* portable C */
    CPU_ISA_AVX2,   /* AVX2 + FMA + F16C */
    CPU_ISA_AVX512, /* AVX-512 F/BW/VL/DQ + VNNI, with AVX2 + FMA + F16C */
} cpu_isa;

#define CPU_ISA_COUNT 3

/* The best instruction set that both the CPU (CPUID) and the OS (XGETBV: saved register
 * state) support; computed once. The environment variable G4_CPU_ISA=scalar|avx2|avx512
 * lowers it, never raises it (for comparing kernels). */
cpu_isa cpu_isa_detect(void);
/* What the CPU supports, ignoring G4_CPU_ISA. */
cpu_isa cpu_isa_supported(void);
const char *cpu_isa_name(cpu_isa isa);
/* Whether the AVX-512 kernels may also use AVX512_BF16 (vdpbf16ps): the CPU has it, the
 * selected set is AVX-512, and G4_CPU_BF16=0 does not turn it off (for comparing kernels). */
bool cpu_has_avx512_bf16(void);

#endif
