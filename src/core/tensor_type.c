#include "core/tensor_type.h"

#include <stddef.h>

/* Indexed by ggml type id; entries without a name are ids this reader cannot size. */
static const g4_type_layout type_layouts[G4_TYPE_COUNT] = {
    [G4_TYPE_F32] = {"F32", 1, 4},
    [G4_TYPE_F16] = {"F16", 1, 2},
    [G4_TYPE_Q4_0] = {"Q4_0", 32, 18},
    [G4_TYPE_Q4_1] = {"Q4_1", 32, 20},
    [G4_TYPE_Q5_0] = {"Q5_0", 32, 22},
    [G4_TYPE_Q5_1] = {"Q5_1", 32, 24},
    [G4_TYPE_Q8_0] = {"Q8_0", 32, 34},
    [G4_TYPE_Q8_1] = {"Q8_1", 32, 36},
    [G4_TYPE_Q2_K] = {"Q2_K", 256, 84},
    [G4_TYPE_Q3_K] = {"Q3_K", 256, 110},
    [G4_TYPE_Q4_K] = {"Q4_K", 256, 144},
    [G4_TYPE_Q5_K] = {"Q5_K", 256, 176},
    [G4_TYPE_Q6_K] = {"Q6_K", 256, 210},
    [G4_TYPE_Q8_K] = {"Q8_K", 256, 292},
    [G4_TYPE_I8] = {"I8", 1, 1},
    [G4_TYPE_I16] = {"I16", 1, 2},
    [G4_TYPE_I32] = {"I32", 1, 4},
    [G4_TYPE_I64] = {"I64", 1, 8},
    [G4_TYPE_F64] = {"F64", 1, 8},
    [G4_TYPE_BF16] = {"BF16", 1, 2},
};

const g4_type_layout *g4_type_get_layout(uint32_t type_id)
{
    if (type_id >= G4_TYPE_COUNT || !type_layouts[type_id].name)
        return NULL;
    return &type_layouts[type_id];
}

const char *g4_type_name(uint32_t type_id)
{
    const g4_type_layout *layout = g4_type_get_layout(type_id);
    return layout ? layout->name : "unknown";
}

bool g4_type_row_ok(g4_type type, uint64_t n)
{
    const g4_type_layout *layout = g4_type_get_layout(type);
    return layout && n % layout->block_elems == 0;
}

uint64_t g4_type_row_bytes(g4_type type, uint64_t n)
{
    const g4_type_layout *layout = g4_type_get_layout(type);
    return layout ? n / layout->block_elems * layout->block_bytes : 0;
}

bool g4_type_n_bytes(g4_type type, uint64_t n_elements, uint64_t *n_bytes)
{
    const g4_type_layout *layout = g4_type_get_layout(type);
    if (!layout || n_elements % layout->block_elems != 0)
        return false;
    uint64_t blocks = n_elements / layout->block_elems;
    if (blocks > UINT64_MAX / layout->block_bytes)
        return false;
    *n_bytes = blocks * layout->block_bytes;
    return true;
}
