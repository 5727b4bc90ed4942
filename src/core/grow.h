/* Growing malloc'd arrays one element at a time. */
#ifndef G4_CORE_GROW_H
#define G4_CORE_GROW_H

#include <stddef.h>

/* When count == *cap, reallocates items to twice *cap (`first` elements at first) and
 * updates *cap; returns the array to use, or NULL when out of memory (items is then
 * untouched and still owned by the caller). */
void *grow_for_one(void *items, size_t *cap, size_t count, size_t elem_size, size_t first);

#endif
