#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_for_one(void *items, size_t *cap, size_t count, size_t elem_size, size_t first)
{
    if (count < *cap)
        return items;
    size_t want = *cap ? 2 * *cap : first;
    if (want < *cap || want > SIZE_MAX / elem_size)
        return NULL;
    void *grown = realloc(items, want * elem_size);
    if (grown)
        *cap = want;
    return grown;
}
