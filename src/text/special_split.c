/* Splitting special-token text out of the input before BPE.
 *
 * llama.cpp tries the special tokens one at a time, longest text first, and lets each take
 * every occurrence (left to right, not overlapping) in the text the earlier ones left. Doing
 * that literally costs (number of specials) x (text length); here every occurrence of every
 * candidate is found in one pass over the text instead, the occurrences are sorted in the
 * order llama.cpp would try them, and each is taken if its bytes are still free. */
#include "text/tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

static bool is_candidate(const tokenizer *tok, int32_t id, bool *needs_parse_special)
{
    *needs_parse_special = tok->kind[id] == TOKEN_CONTROL || tok->kind[id] == TOKEN_UNKNOWN;
    bool kind_ok = *needs_parse_special || tok->kind[id] == TOKEN_USER_DEFINED;
    return kind_ok && tok->start[id + 1] > tok->start[id];
}

/* Byte order, and a text before every longer text it is a prefix of. */
static int compare_candidate_text(const void *pa, const void *pb)
{
    const special_candidate *a = pa, *b = pb;
    uint32_t common = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->text, b->text, common);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

static void index_first_bytes(special_matcher *matcher)
{
    memset(matcher->first_begin, 0, sizeof matcher->first_begin);
    memset(matcher->first_end, 0, sizeof matcher->first_end);
    for (size_t i = matcher->count; i-- > 0;) {
        unsigned char c = (unsigned char)matcher->candidates[i].text[0];
        if (matcher->first_end[c] == 0)
            matcher->first_end[c] = (uint32_t)i + 1;
        matcher->first_begin[c] = (uint32_t)i;
    }
}

g4_status special_matcher_build(special_matcher *matcher, const tokenizer *tok, g4_err *err)
{
    bool needs;
    size_t count = 0;
    for (int32_t id = 0; id < tok->n_vocab; id++)
        count += is_candidate(tok, id, &needs);
    matcher->count = 0;
    matcher->candidates = malloc((count ? count : 1) * sizeof *matcher->candidates);
    if (!matcher->candidates)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the special tokens");
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (!is_candidate(tok, id, &needs))
            continue;
        size_t len;
        special_candidate *c = &matcher->candidates[matcher->count++];
        c->text = token_text(tok, id, &len);
        c->len = (uint32_t)len;
        c->id = id;
        c->needs_parse_special = needs;
    }
    qsort(matcher->candidates, matcher->count, sizeof *matcher->candidates,
          compare_candidate_text);
    index_first_bytes(matcher);
    return G4_OK;
}

void special_matcher_free(special_matcher *matcher)
{
    free(matcher->candidates);
    matcher->candidates = NULL;
    matcher->count = 0;
}

/* An occurrence of a candidate, with the rank of its token in llama.cpp's trying order. */
typedef struct occurrence {
    uint64_t order; /* longer text first, then lower id */
    size_t pos;
    uint32_t len;
    int32_t id;
} occurrence;

typedef struct occurrence_list {
    occurrence *items;
    size_t count, cap;
} occurrence_list;

static bool occurrence_push(occurrence_list *list, const special_candidate *c, size_t pos)
{
    occurrence *grown = grow_for_one(list->items, &list->cap, list->count, sizeof *grown, 64);
    if (!grown)
        return false;
    list->items = grown;
    occurrence *o = &list->items[list->count++];
    o->order = (uint64_t)(UINT32_MAX - c->len) << 32 | (uint32_t)c->id;
    o->pos = pos;
    o->len = c->len;
    o->id = c->id;
    return true;
}

/* First index in [lo, hi) whose byte at depth is >= c (upper = false) or > c (upper = true);
 * every candidate there is longer than depth. */
static size_t bound_at_depth(const special_candidate *cands, size_t lo, size_t hi, size_t depth,
                             unsigned char c, bool upper)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        unsigned char b = (unsigned char)cands[mid].text[depth];
        if (b < c || (upper && b == c))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Records every candidate whose text starts at text[pos]. The candidates in [lo, hi) share
 * the depth bytes matched so far; those exactly depth long come first. */
static bool find_at(const special_matcher *matcher, const char *text, size_t len, size_t pos,
                    bool parse_special, occurrence_list *out)
{
    const special_candidate *cands = matcher->candidates;
    unsigned char first = (unsigned char)text[pos];
    size_t lo = matcher->first_begin[first], hi = matcher->first_end[first];
    for (size_t depth = 1; lo < hi; depth++) {
        for (; lo < hi && cands[lo].len == depth; lo++) {
            if ((parse_special || !cands[lo].needs_parse_special) &&
                !occurrence_push(out, &cands[lo], pos))
                return false;
        }
        if (pos + depth == len)
            break;
        unsigned char next = (unsigned char)text[pos + depth];
        lo = bound_at_depth(cands, lo, hi, depth, next, false);
        hi = bound_at_depth(cands, lo, hi, depth, next, true);
    }
    return true;
}

static int compare_trying_order(const void *pa, const void *pb)
{
    const occurrence *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int compare_text_order(const void *pa, const void *pb)
{
    const special_match *a = pa, *b = pb;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Takes the occurrences whose bytes are free, in trying order. Earlier ones are at least as
 * long, so one that overlaps the current occurrence covers its first or its last byte:
 * checking those two is enough. */
static g4_status take_free_occurrences(const occurrence_list *found, size_t len,
                                       special_match **matches, size_t *n_matches)
{
    uint8_t *taken = calloc(len, 1);
    special_match *chosen = malloc(found->count * sizeof *chosen);
    if (!taken || !chosen) {
        free(taken);
        free(chosen);
        return G4_ERR_NO_MEMORY;
    }
    size_t n = 0;
    for (size_t i = 0; i < found->count; i++) {
        const occurrence *o = &found->items[i];
        if (taken[o->pos] || taken[o->pos + o->len - 1])
            continue;
        memset(taken + o->pos, 1, o->len);
        chosen[n++] = (special_match){.pos = o->pos, .len = o->len, .id = o->id};
    }
    free(taken);
    qsort(chosen, n, sizeof *chosen, compare_text_order);
    *matches = chosen;
    *n_matches = n;
    return G4_OK;
}

g4_status special_split(const tokenizer *tok, const char *text, size_t len, bool parse_special,
                        special_match **matches, size_t *n_matches)
{
    const special_matcher *matcher = &tok->matcher;
    occurrence_list found = {0};
    *matches = NULL;
    *n_matches = 0;
    for (size_t pos = 0; pos < len; pos++) {
        unsigned char c = (unsigned char)text[pos];
        if (matcher->first_begin[c] == matcher->first_end[c])
            continue;
        if (!find_at(matcher, text, len, pos, parse_special, &found)) {
            free(found.items);
            return G4_ERR_NO_MEMORY;
        }
    }
    if (found.count == 0)
        return G4_OK;
    qsort(found.items, found.count, sizeof *found.items, compare_trying_order);
    g4_status status = take_free_occurrences(&found, len, matches, n_matches);
    free(found.items);
    return status;
}
