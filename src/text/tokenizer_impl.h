/* Inside the tokenizer: the loaded tables and the helpers its source files share. */
#ifndef G4_TEXT_TOKENIZER_IMPL_H
#define G4_TEXT_TOKENIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/tokenizer.h"

/* The GGUF token_type values. */
typedef enum token_kind {
    TOKEN_NORMAL = 1,
    TOKEN_UNKNOWN = 2,
    TOKEN_CONTROL = 3,
    TOKEN_USER_DEFINED = 4,
    TOKEN_UNUSED = 5,
    TOKEN_BYTE = 6,
} token_kind;

/* Token text -> id: open addressing over the ids, texts compared in the tokenizer's arena. */
typedef struct text_table {
    int32_t *slots; /* -1 = empty */
    size_t mask;
    const char *arena;
    const uint32_t *start; /* text of id i is arena[start[i] .. start[i + 1]) */
} text_table;

/* (left id, right id) -> (rank, merged id). */
typedef struct merge_slot {
    uint64_t key; /* MERGE_EMPTY_KEY when unused */
    int32_t rank;
    int32_t result;
} merge_slot;

typedef struct merge_table {
    merge_slot *slots;
    size_t mask;
} merge_table;

/* One token that the special-token pass may split out of the text. */
typedef struct special_candidate {
    const char *text;
    uint32_t len;
    int32_t id;
    bool needs_parse_special; /* CONTROL and UNKNOWN tokens */
} special_candidate;

/* Candidates sorted by text, so that the ones sharing a prefix form a range. */
typedef struct special_matcher {
    special_candidate *candidates;
    size_t count;
    uint32_t first_begin[256], first_end[256]; /* range of candidates starting with a byte */
} special_matcher;

struct tokenizer {
    int32_t n_vocab;
    char *arena;
    uint32_t *start;
    uint8_t *kind; /* token_kind per id, after the corrections described in tokenizer.h */
    text_table vocab;
    merge_table merges;
    special_matcher matcher;
    int32_t byte_token[256]; /* id of <0xXX>, or -1 */
    int32_t char_token[256]; /* id of the one-byte text, or -1 */
    tokenizer_specials specials;
};

/* A growing list of token ids. */
typedef struct id_list {
    int32_t *ids;
    size_t count, cap;
} id_list;

bool id_list_push(id_list *list, int32_t id);

static inline const char *token_text(const tokenizer *tok, int32_t id, size_t *len)
{
    *len = tok->start[id + 1] - tok->start[id];
    return tok->arena + tok->start[id];
}

/* ---- token_tables.c ---- */
g4_status text_table_init(text_table *table, size_t n_entries, const char *arena,
                          const uint32_t *start, g4_err *err);
void text_table_free(text_table *table);
/* Adds id under its text; returns the id already there when the text is taken, else -1. */
int32_t text_table_insert(text_table *table, int32_t id);
/* Id of the text a followed by b (b may be empty), or -1. */
int32_t text_table_find2(const text_table *table, const char *a, size_t a_len, const char *b,
                         size_t b_len);

g4_status merge_table_init(merge_table *table, size_t n_entries, g4_err *err);
void merge_table_free(merge_table *table);
/* Returns false when the pair is already there (the earlier, lower rank wins). */
bool merge_table_insert(merge_table *table, int32_t left, int32_t right, int32_t rank,
                        int32_t result);
bool merge_table_find(const merge_table *table, int32_t left, int32_t right, int32_t *rank,
                      int32_t *result);

/* ---- special_split.c ---- */
g4_status special_matcher_build(special_matcher *matcher, const tokenizer *tok, g4_err *err);
void special_matcher_free(special_matcher *matcher);

/* A special token found in the text. */
typedef struct special_match {
    size_t pos;
    uint32_t len;
    int32_t id;
} special_match;

/* The special tokens to split out of text, in text order and not overlapping, chosen the way
 * llama.cpp does: longest token text first, each taking its leftmost free occurrences.
 * *matches is malloc'd (NULL when none). */
g4_status special_split(const tokenizer *tok, const char *text, size_t len, bool parse_special,
                        special_match **matches, size_t *n_matches);

/* ---- bpe.c ---- */
typedef struct bpe_symbol {
    int32_t id;  /* token of the symbol's text, or -1 */
    int32_t prev, next;
    uint32_t start, len; /* bytes of the chunk; len 0 once merged into its left neighbour */
} bpe_symbol;

/* The merge table is too big for the caches, but text repeats its pairs: a small
 * direct-mapped cache of recent lookups (misses included) answers most of them. */
#define BPE_PAIR_CACHE_BITS 12
#define BPE_PAIR_CACHE_SIZE ((size_t)1 << BPE_PAIR_CACHE_BITS)

typedef struct bpe_pair_cache_entry {
    uint64_t key; /* (left << 32 | right), or UINT64_MAX when empty */
    int32_t rank; /* -1: no such merge */
    int32_t result;
} bpe_pair_cache_entry;

/* Scratch memory reused across the chunks of one encode call. */
typedef struct bpe_work {
    bpe_symbol *symbols;
    uint64_t *heap; /* (rank << 32 | left symbol index), smallest first */
    size_t cap, heap_count;
    bpe_pair_cache_entry *pair_cache;
} bpe_work;

void bpe_work_free(bpe_work *work);
/* Splits a chunk (no newlines mixed with other text) into characters, merges them by rank
 * and appends the resulting ids, byte-fallback tokens for symbols outside the vocabulary. */
g4_status bpe_encode_chunk(const tokenizer *tok, bpe_work *work, const char *chunk,
                           size_t len, id_list *out);

#endif
