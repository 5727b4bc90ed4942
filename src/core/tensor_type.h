/* Tensor element types (ggml numbering, as stored in GGUF files) and their block layout. */
#ifndef G4_CORE_TENSOR_TYPE_H
#define G4_CORE_TENSOR_TYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum g4_type {
    G4_TYPE_F32 = 0,
    G4_TYPE_F16 = 1,
    G4_TYPE_Q4_0 = 2,
    G4_TYPE_Q4_1 = 3,
    G4_TYPE_Q5_0 = 6,
    G4_TYPE_Q5_1 = 7,
    G4_TYPE_Q8_0 = 8,
    G4_TYPE_Q8_1 = 9,
    G4_TYPE_Q2_K = 10,
    G4_TYPE_Q3_K = 11,
    G4_TYPE_Q4_K = 12,
    G4_TYPE_Q5_K = 13,
    G4_TYPE_Q6_K = 14,
    G4_TYPE_Q8_K = 15,
    G4_TYPE_I8 = 24,
    G4_TYPE_I16 = 25,
    G4_TYPE_I32 = 26,
    G4_TYPE_I64 = 27,
    G4_TYPE_F64 = 28,
    G4_TYPE_BF16 = 30,
    G4_TYPE_COUNT = 40, /* ids at or above this are unknown */
} g4_type;

typedef struct g4_type_layout {
    const char *name;
    uint32_t block_elems; /* elements per block (1 for plain types) */
    uint32_t block_bytes; /* bytes per block */
} g4_type_layout;

/* Layout of a known type id, or NULL for ids this reader cannot size. */
const g4_type_layout *g4_type_get_layout(uint32_t type_id);
const char *g4_type_name(uint32_t type_id);
/* Bytes of a row of n elements; n must be a multiple of the block size
 * (g4_type_row_ok checks that). */
uint64_t g4_type_row_bytes(g4_type type, uint64_t n);
bool g4_type_row_ok(g4_type type, uint64_t n);
/* Bytes of n_elements elements, for a known type and a whole number of blocks; false
 * otherwise or when the size does not fit 64 bits. */
bool g4_type_n_bytes(g4_type type, uint64_t n_elements, uint64_t *n_bytes);

#endif
