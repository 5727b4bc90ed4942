/* Text -> token ids: special tokens first, then spaces to U+2581, newline runs apart from
 * the rest, and BPE on each run (spec text-decoder.md §5.3). */
#include "text/tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

/* Keeps every offset inside a chunk (at most three times the input) within 32 bits. */
#define TOKENIZER_MAX_TEXT ((size_t)1 << 30)

static const char SPACE_MARK[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 */

bool id_list_push(id_list *list, int32_t id)
{
    int32_t *grown = grow_for_one(list->ids, &list->cap, list->count, sizeof *grown, 64);
    if (!grown)
        return false;
    list->ids = grown;
    list->ids[list->count++] = id;
    return true;
}

typedef struct encode_work {
    char *normalized;
    size_t normalized_cap;
    bpe_work bpe;
} encode_work;

static void encode_work_free(encode_work *work)
{
    free(work->normalized);
    bpe_work_free(&work->bpe);
}

/* Copies text into work->normalized with every ' ' replaced by U+2581. */
static bool replace_spaces(encode_work *work, const char *text, size_t len, size_t *out_len)
{
    if (3 * len > work->normalized_cap) {
        char *grown = realloc(work->normalized, 3 * len);
        if (!grown)
            return false;
        work->normalized = grown;
        work->normalized_cap = 3 * len;
    }
    char *dst = work->normalized;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(dst, SPACE_MARK, sizeof SPACE_MARK);
            dst += sizeof SPACE_MARK;
        } else {
            *dst++ = text[i];
        }
    }
    *out_len = (size_t)(dst - work->normalized);
    return true;
}

/* End of the run of newlines, or of non-newlines, that starts at pos. */
static size_t run_end(const char *s, size_t len, size_t pos)
{
    if (s[pos] != '\n') {
        const char *nl = memchr(s + pos, '\n', len - pos);
        return nl ? (size_t)(nl - s) : len;
    }
    while (pos < len && s[pos] == '\n')
        pos++;
    return pos;
}

/* Encodes text that holds no special tokens. */
static g4_status encode_plain(const tokenizer *tok, encode_work *work, const char *text,
                              size_t len, id_list *out)
{
    size_t n;
    if (len == 0)
        return G4_OK;
    if (!replace_spaces(work, text, len, &n))
        return G4_ERR_NO_MEMORY;
    const char *s = work->normalized;
    for (size_t pos = 0; pos < n;) {
        size_t end = run_end(s, n, pos);
        /* A run of newlines that is a token is taken whole (llama.cpp, PR 21343). */
        int32_t id = s[pos] == '\n' ? text_table_find2(&tok->vocab, s + pos, end - pos, NULL, 0)
                                    : -1;
        g4_status status = id >= 0 ? (id_list_push(out, id) ? G4_OK : G4_ERR_NO_MEMORY)
                                   : bpe_encode_chunk(tok, &work->bpe, s + pos, end - pos, out);
        if (status != G4_OK)
            return status;
        pos = end;
    }
    return G4_OK;
}

/* Encodes the stretches between the special tokens and the tokens themselves, in order. */
static g4_status encode_around_specials(const tokenizer *tok, const char *text, size_t len,
                                        const special_match *matches, size_t n_matches,
                                        id_list *out)
{
    encode_work work = {0};
    g4_status status = G4_OK;
    size_t pos = 0;
    for (size_t i = 0; status == G4_OK && i <= n_matches; i++) {
        size_t end = i < n_matches ? matches[i].pos : len;
        status = encode_plain(tok, &work, text + pos, end - pos, out);
        if (status == G4_OK && i < n_matches) {
            if (!id_list_push(out, matches[i].id))
                status = G4_ERR_NO_MEMORY;
            pos = end + matches[i].len;
        }
    }
    encode_work_free(&work);
    return status;
}

g4_status tokenizer_encode(const tokenizer *tok, const char *text, size_t len, bool add_bos,
                           bool parse_special, int32_t **ids, size_t *n_ids, g4_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (!text && len > 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "tokenize: no text");
    if (len > TOKENIZER_MAX_TEXT)
        return g4_fail(err, G4_ERR_INVALID_ARG, "tokenize: text of %zu bytes is over the %zu limit",
                       len, TOKENIZER_MAX_TEXT);
    if (add_bos && tok->specials.bos < 0)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "tokenize: the vocabulary has no <bos>");

    id_list out = {0};
    special_match *matches = NULL;
    size_t n_matches = 0;
    g4_status status = G4_OK;
    if (add_bos && !id_list_push(&out, tok->specials.bos))
        status = G4_ERR_NO_MEMORY;
    if (status == G4_OK && len > 0)
        status = special_split(tok, text, len, parse_special, &matches, &n_matches);
    if (status == G4_OK && len > 0)
        status = encode_around_specials(tok, text, len, matches, n_matches, &out);
    free(matches);
    if (status != G4_OK) {
        free(out.ids);
        return g4_fail(err, status, "tokenize: out of memory for %zu bytes of text", len);
    }
    if (out.count == 0) {
        free(out.ids);
        out.ids = NULL;
    }
    *ids = out.ids;
    *n_ids = out.count;
    return G4_OK;
}
