/* The tokenizer's two hash tables: token text -> id and merge pair -> rank. */
#include "text/tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#define MERGE_EMPTY_KEY UINT64_MAX

/* FNV-1a, continued over several pieces, then mixed so that the low bits (the slot) depend
 * on every byte. */
#define FNV_OFFSET 0xcbf29ce484222325ULL

static uint64_t fnv_continue(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Smallest power of two that keeps the table at most half full. */
static size_t table_capacity(size_t n_entries)
{
    size_t cap = 16;
    while (cap < 2 * n_entries)
        cap *= 2;
    return cap;
}

g4_status text_table_init(text_table *table, size_t n_entries, const char *arena,
                          const uint32_t *start, g4_err *err)
{
    size_t cap = table_capacity(n_entries);
    table->slots = malloc(cap * sizeof *table->slots);
    if (!table->slots)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the vocabulary table");
    memset(table->slots, 0xff, cap * sizeof *table->slots);
    table->mask = cap - 1;
    table->arena = arena;
    table->start = start;
    return G4_OK;
}

void text_table_free(text_table *table)
{
    free(table->slots);
    table->slots = NULL;
}

static bool slot_holds(const text_table *table, int32_t id, const char *a, size_t a_len,
                       const char *b, size_t b_len)
{
    const char *text = table->arena + table->start[id];
    size_t len = table->start[id + 1] - table->start[id];
    return len == a_len + b_len && memcmp(text, a, a_len) == 0 &&
           (b_len == 0 || memcmp(text + a_len, b, b_len) == 0);
}

int32_t text_table_find2(const text_table *table, const char *a, size_t a_len, const char *b,
                         size_t b_len)
{
    uint64_t h = mix64(fnv_continue(fnv_continue(FNV_OFFSET, a, a_len), b, b_len));
    for (size_t i = h & table->mask;; i = (i + 1) & table->mask) {
        int32_t id = table->slots[i];
        if (id < 0)
            return -1;
        if (slot_holds(table, id, a, a_len, b, b_len))
            return id;
    }
}

int32_t text_table_insert(text_table *table, int32_t id)
{
    const char *text = table->arena + table->start[id];
    size_t len = table->start[id + 1] - table->start[id];
    uint64_t h = mix64(fnv_continue(FNV_OFFSET, text, len));
    for (size_t i = h & table->mask;; i = (i + 1) & table->mask) {
        int32_t other = table->slots[i];
        if (other < 0) {
            table->slots[i] = id;
            return -1;
        }
        if (slot_holds(table, other, text, len, NULL, 0))
            return other;
    }
}

g4_status merge_table_init(merge_table *table, size_t n_entries, g4_err *err)
{
    size_t cap = table_capacity(n_entries);
    table->slots = malloc(cap * sizeof *table->slots);
    if (!table->slots)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the merge table");
    for (size_t i = 0; i < cap; i++)
        table->slots[i].key = MERGE_EMPTY_KEY;
    table->mask = cap - 1;
    return G4_OK;
}

void merge_table_free(merge_table *table)
{
    free(table->slots);
    table->slots = NULL;
}

static uint64_t pair_key(int32_t left, int32_t right)
{
    return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

bool merge_table_insert(merge_table *table, int32_t left, int32_t right, int32_t rank,
                        int32_t result)
{
    uint64_t key = pair_key(left, right);
    for (size_t i = mix64(key) & table->mask;; i = (i + 1) & table->mask) {
        merge_slot *slot = &table->slots[i];
        if (slot->key == key)
            return false;
        if (slot->key == MERGE_EMPTY_KEY) {
            slot->key = key;
            slot->rank = rank;
            slot->result = result;
            return true;
        }
    }
}

bool merge_table_find(const merge_table *table, int32_t left, int32_t right, int32_t *rank,
                      int32_t *result)
{
    if (left < 0 || right < 0)
        return false;
    uint64_t key = pair_key(left, right);
    for (size_t i = mix64(key) & table->mask;; i = (i + 1) & table->mask) {
        const merge_slot *slot = &table->slots[i];
        if (slot->key == key) {
            *rank = slot->rank;
            *result = slot->result;
            return true;
        }
        if (slot->key == MERGE_EMPTY_KEY)
            return false;
    }
}
