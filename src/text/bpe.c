/* Byte-pair merging of one chunk: the characters form a linked list and a min-heap holds the
 * mergeable neighbour pairs keyed by (rank, left position), so the lowest rank merges first
 * and equal ranks go left to right, in O(n log n) for any input. */
#include "text/tokenizer_impl.h"

#include <stdlib.h>

#include "text/utf8.h"

void bpe_work_free(bpe_work *work)
{
    free(work->symbols);
    free(work->heap);
    free(work->pair_cache);
    *work = (bpe_work){0};
}

static bool ensure_pair_cache(bpe_work *work)
{
    if (work->pair_cache)
        return true;
    work->pair_cache = malloc(BPE_PAIR_CACHE_SIZE * sizeof *work->pair_cache);
    if (!work->pair_cache)
        return false;
    for (size_t i = 0; i < BPE_PAIR_CACHE_SIZE; i++)
        work->pair_cache[i].key = UINT64_MAX;
    return true;
}

/* Room for n symbols and for every heap entry they can produce: n - 1 pairs at the start
 * and at most two new ones per merge. */
static bool bpe_reserve(bpe_work *work, size_t n)
{
    if (n <= work->cap)
        return true;
    if (n > SIZE_MAX / (3 * sizeof *work->heap))
        return false;
    bpe_symbol *symbols = realloc(work->symbols, n * sizeof *symbols);
    if (!symbols)
        return false;
    work->symbols = symbols;
    uint64_t *heap = realloc(work->heap, 3 * n * sizeof *heap);
    if (!heap)
        return false;
    work->heap = heap;
    work->cap = n;
    return true;
}

static void heap_sift_down(uint64_t *heap, size_t count, size_t i)
{
    uint64_t item = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= count)
            break;
        if (child + 1 < count && heap[child + 1] < heap[child])
            child++;
        if (heap[child] >= item)
            break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = item;
}

static void heap_push(bpe_work *work, uint64_t item)
{
    uint64_t *heap = work->heap;
    size_t i = work->heap_count++;
    while (i > 0 && heap[(i - 1) / 2] > item) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = item;
}

static uint64_t heap_pop(bpe_work *work)
{
    uint64_t top = work->heap[0];
    work->heap[0] = work->heap[--work->heap_count];
    heap_sift_down(work->heap, work->heap_count, 0);
    return top;
}

/* One symbol per UTF-8 character; a byte that does not start a valid character is a symbol
 * of its own (no merge involves it, so it ends up as a byte token). */
static size_t split_characters(const tokenizer *tok, const char *chunk, size_t len,
                               bpe_symbol *symbols)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        unsigned char c = (unsigned char)chunk[pos];
        size_t char_len = 1;
        if (c >= 0x80 && utf8_scan(chunk + pos, len - pos, &char_len) != UTF8_VALID)
            char_len = 1;
        symbols[n] = (bpe_symbol){
            .id = char_len == 1 ? tok->char_token[c]
                                : text_table_find2(&tok->vocab, chunk + pos, char_len, NULL, 0),
            .prev = (int32_t)n - 1,
            .next = (int32_t)n + 1,
            .start = (uint32_t)pos,
            .len = (uint32_t)char_len,
        };
        pos += char_len;
    }
    symbols[n - 1].next = -1;
    return n;
}

static bool cached_merge(const tokenizer *tok, bpe_work *work, int32_t left_id, int32_t right_id,
                         int32_t *rank, int32_t *result)
{
    if (left_id < 0 || right_id < 0)
        return false;
    uint64_t key = (uint64_t)(uint32_t)left_id << 32 | (uint32_t)right_id;
    uint64_t slot = (key * 0x9E3779B97F4A7C15ULL) >> (64 - BPE_PAIR_CACHE_BITS);
    bpe_pair_cache_entry *e = &work->pair_cache[slot];
    if (e->key != key) {
        e->key = key;
        if (!merge_table_find(&tok->merges, left_id, right_id, &e->rank, &e->result)) {
            e->rank = -1;
            e->result = -1;
        }
    }
    *rank = e->rank;
    *result = e->result;
    return e->rank >= 0;
}

static bool pair_rank(const tokenizer *tok, bpe_work *work, int32_t left, int32_t *rank,
                      int32_t *result)
{
    const bpe_symbol *l = &work->symbols[left];
    return l->next >= 0 &&
           cached_merge(tok, work, l->id, work->symbols[l->next].id, rank, result);
}

static void consider_pair(const tokenizer *tok, bpe_work *work, int32_t left)
{
    int32_t rank, result;
    if (left >= 0 && pair_rank(tok, work, left, &rank, &result))
        heap_push(work, (uint64_t)rank << 32 | (uint32_t)left);
}

static void seed_heap(const tokenizer *tok, bpe_work *work, size_t n)
{
    int32_t rank, result;
    work->heap_count = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (pair_rank(tok, work, (int32_t)i, &rank, &result))
            work->heap[work->heap_count++] = (uint64_t)rank << 32 | i;
    }
    for (size_t i = work->heap_count / 2; i-- > 0;)
        heap_sift_down(work->heap, work->heap_count, i);
}

/* A heap entry is stale when its left symbol was merged away or its neighbour changed; the
 * pair's rank identifies the pair, so comparing the current rank is the whole check. */
static void merge_all(const tokenizer *tok, bpe_work *work)
{
    bpe_symbol *symbols = work->symbols;
    while (work->heap_count > 0) {
        uint64_t top = heap_pop(work);
        int32_t rank = (int32_t)(top >> 32), left = (int32_t)(uint32_t)top;
        int32_t current_rank, result;
        bpe_symbol *l = &symbols[left];
        if (l->len == 0 || !pair_rank(tok, work, left, &current_rank, &result) ||
            current_rank != rank)
            continue;
        bpe_symbol *r = &symbols[l->next];
        l->id = result;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            symbols[r->next].prev = left;
        consider_pair(tok, work, l->prev);
        consider_pair(tok, work, left);
    }
}

static bool emit_symbols(const tokenizer *tok, const bpe_symbol *symbols, const char *chunk,
                         id_list *out)
{
    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const bpe_symbol *s = &symbols[i];
        if (s->id >= 0) {
            if (!id_list_push(out, s->id))
                return false;
            continue;
        }
        for (uint32_t b = 0; b < s->len; b++) {
            int32_t byte_id = tok->byte_token[(unsigned char)chunk[s->start + b]];
            if (byte_id >= 0 && !id_list_push(out, byte_id))
                return false;
        }
    }
    return true;
}

g4_status bpe_encode_chunk(const tokenizer *tok, bpe_work *work, const char *chunk,
                           size_t len, id_list *out)
{
    if (len == 0)
        return G4_OK;
    if (!ensure_pair_cache(work) || !bpe_reserve(work, len))
        return G4_ERR_NO_MEMORY;
    size_t n = split_characters(tok, chunk, len, work->symbols);
    seed_heap(tok, work, n);
    merge_all(tok, work);
    return emit_symbols(tok, work->symbols, chunk, out) ? G4_OK : G4_ERR_NO_MEMORY;
}
