/* Loading the tokenizer from GGUF metadata, and token -> bytes. */
#include "text/tokenizer_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "text/utf8.h"

/* The tokens the engine refers to by role. All but the newline are protocol tokens, which
 * the reference tokenizer always treats as special (see tokenizer.h). */
static const struct {
    const char *text;
    size_t offset;
} SPECIAL_TEXTS[] = {
    {"<pad>", offsetof(tokenizer_specials, pad)},
    {"<eos>", offsetof(tokenizer_specials, eos)},
    {"<bos>", offsetof(tokenizer_specials, bos)},
    {"<unk>", offsetof(tokenizer_specials, unk)},
    {"<|turn>", offsetof(tokenizer_specials, turn_open)},
    {"<turn|>", offsetof(tokenizer_specials, turn_close)},
    {"<|channel>", offsetof(tokenizer_specials, channel_open)},
    {"<channel|>", offsetof(tokenizer_specials, channel_close)},
    {"<|think|>", offsetof(tokenizer_specials, think)},
    {"<|tool>", offsetof(tokenizer_specials, tool_open)},
    {"<tool|>", offsetof(tokenizer_specials, tool_close)},
    {"<|tool_call>", offsetof(tokenizer_specials, tool_call_open)},
    {"<tool_call|>", offsetof(tokenizer_specials, tool_call_close)},
    {"<|tool_response>", offsetof(tokenizer_specials, tool_response_open)},
    {"<tool_response|>", offsetof(tokenizer_specials, tool_response_close)},
    {"<|\"|>", offsetof(tokenizer_specials, string_delim)},
    {"<|image>", offsetof(tokenizer_specials, image_open)},
    {"<|image|>", offsetof(tokenizer_specials, image_soft)},
    {"<image|>", offsetof(tokenizer_specials, image_close)},
    {"<|audio>", offsetof(tokenizer_specials, audio_open)},
    {"<|audio|>", offsetof(tokenizer_specials, audio_soft)},
    {"<audio|>", offsetof(tokenizer_specials, audio_close)},
    {"<|video|>", offsetof(tokenizer_specials, video_soft)},
    {"\n", offsetof(tokenizer_specials, newline)},
};

#define N_SPECIAL_TEXTS (sizeof SPECIAL_TEXTS / sizeof SPECIAL_TEXTS[0])

static int32_t lookup_cstr(const tokenizer *tok, const char *text)
{
    return tokenizer_lookup(tok, text, strlen(text));
}

/* 0..255 for a "<0xXX>" text, else -1. */
static int parse_byte_token(const char *text, size_t len)
{
    if (len != 6 || memcmp(text, "<0x", 3) != 0 || text[5] != '>')
        return -1;
    int value = 0;
    for (int i = 3; i < 5; i++) {
        char c = text[i];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* ---- reading the metadata ---- */

static g4_status check_model(const gguf_file *file, g4_err *err)
{
    gguf_str model;
    g4_status status = gguf_get_str(file, "tokenizer.ggml.model", &model, err);
    if (status != G4_OK)
        return status;
    if (!gguf_str_eq(model, "gemma4"))
        return g4_fail(err, G4_ERR_UNSUPPORTED, "tokenizer.ggml.model is \"%.*s\", not \"gemma4\"",
                       (int)(model.len > 64 ? 64 : model.len), model.ptr);
    return G4_OK;
}

static g4_status find_array(const gguf_file *file, const char *key, bool strings,
                            const gguf_kv **out, g4_err *err)
{
    const gguf_kv *kv = gguf_find(file, key);
    if (!kv)
        return g4_fail(err, G4_ERR_FORMAT, "%s is missing", key);
    if (kv->type != GGUF_ARRAY || (strings != (kv->elem_type == GGUF_STRING)))
        return g4_fail(err, G4_ERR_FORMAT, "%s is not an array of %s", key,
                       strings ? "strings" : "integers");
    *out = kv;
    return G4_OK;
}

/* Copies the token texts into one arena, so the tokenizer outlives the file. */
static g4_status copy_texts(tokenizer *tok, const gguf_kv *tokens, g4_err *err)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < tokens->count; i++)
        total += tokens->strings[i].len;
    if (total > UINT32_MAX)
        return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.tokens holds %llu bytes of text",
                       (unsigned long long)total);
    tok->arena = malloc(total ? (size_t)total : 1);
    tok->start = malloc((tokens->count + 1) * sizeof *tok->start);
    if (!tok->arena || !tok->start)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the vocabulary");
    uint32_t at = 0;
    for (uint64_t i = 0; i < tokens->count; i++) {
        const gguf_str *s = &tokens->strings[i];
        tok->start[i] = at;
        if (s->len > 0)
            memcpy(tok->arena + at, s->ptr, s->len);
        at += (uint32_t)s->len;
    }
    tok->start[tokens->count] = at;
    return G4_OK;
}

static g4_status read_kinds(tokenizer *tok, const gguf_kv *types, g4_err *err)
{
    tok->kind = malloc((size_t)tok->n_vocab);
    if (!tok->kind)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the token types");
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        int64_t type;
        g4_status status = gguf_array_i64(types, (uint64_t)id, &type, err);
        if (status != G4_OK)
            return status;
        if (type < TOKEN_NORMAL || type > TOKEN_BYTE)
            return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.token_type[%d] is %lld", id,
                           (long long)type);
        size_t len;
        const char *text = token_text(tok, id, &len);
        if (type == TOKEN_BYTE && parse_byte_token(text, len) < 0)
            return g4_fail(err, G4_ERR_FORMAT, "byte token %d is not of the form <0xXX>", id);
        tok->kind[id] = (uint8_t)type;
    }
    return G4_OK;
}

static g4_status build_vocab_table(tokenizer *tok, g4_err *err)
{
    g4_status status =
        text_table_init(&tok->vocab, (size_t)tok->n_vocab, tok->arena, tok->start, err);
    if (status != G4_OK)
        return status;
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (tok->start[id + 1] == tok->start[id])
            continue; /* an empty text can never be matched */
        int32_t other = text_table_insert(&tok->vocab, id);
        if (other >= 0)
            return g4_fail(err, G4_ERR_FORMAT, "tokens %d and %d have the same text", other, id);
    }
    return G4_OK;
}

/* Merge "A B" (split at the first space after the first byte) joins tokens A and B into the
 * token AB; its rank is its index. produced[AB] records that BPE can make AB. */
static g4_status read_merge(tokenizer *tok, gguf_str merge, uint64_t rank, uint8_t *produced,
                            g4_err *err)
{
    const char *space = merge.len > 1 ? memchr(merge.ptr + 1, ' ', merge.len - 1) : NULL;
    if (!space)
        return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.merges[%llu] has no space",
                       (unsigned long long)rank);
    size_t left_len = (size_t)(space - merge.ptr);
    const char *right = space + 1;
    size_t right_len = merge.len - left_len - 1;
    int32_t left_id = text_table_find2(&tok->vocab, merge.ptr, left_len, NULL, 0);
    int32_t right_id = text_table_find2(&tok->vocab, right, right_len, NULL, 0);
    int32_t result = text_table_find2(&tok->vocab, merge.ptr, left_len, right, right_len);
    if (left_id < 0 || right_id < 0 || result < 0)
        return g4_fail(err, G4_ERR_FORMAT,
                       "tokenizer.ggml.merges[%llu] (\"%.*s\") names a text that is not a token",
                       (unsigned long long)rank, (int)(merge.len > 64 ? 64 : merge.len),
                       merge.ptr);
    merge_table_insert(&tok->merges, left_id, right_id, (int32_t)rank, result);
    produced[result] = 1;
    return G4_OK;
}

static g4_status read_merges(tokenizer *tok, const gguf_kv *merges, uint8_t *produced,
                             g4_err *err)
{
    if (merges->count > INT32_MAX)
        return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.merges has too many entries");
    g4_status status = merge_table_init(&tok->merges, (size_t)merges->count, err);
    for (uint64_t i = 0; status == G4_OK && i < merges->count; i++)
        status = read_merge(tok, merges->strings[i], i, produced, err);
    return status;
}

/* ---- the corrections to the token types (tokenizer.h) ---- */

static void find_specials(tokenizer *tok)
{
    for (size_t i = 0; i < N_SPECIAL_TEXTS; i++) {
        int32_t id = lookup_cstr(tok, SPECIAL_TEXTS[i].text);
        memcpy((char *)&tok->specials + SPECIAL_TEXTS[i].offset, &id, sizeof id);
        bool protocol = strcmp(SPECIAL_TEXTS[i].text, "\n") != 0;
        if (id >= 0 && protocol && tok->kind[id] == TOKEN_NORMAL)
            tok->kind[id] = TOKEN_CONTROL;
    }
}

static bool has_two_characters(const char *text, size_t len)
{
    size_t first;
    if (len == 0)
        return false;
    if (utf8_scan(text, len, &first) != UTF8_VALID)
        first = 1;
    return first < len;
}

static void correct_kinds(tokenizer *tok, const uint8_t *produced)
{
    find_specials(tok);
    /* In Gemma 4 </s> is ordinary text (llama.cpp also turns it back into NORMAL). */
    int32_t end_s = lookup_cstr(tok, "</s>");
    if (end_s >= 0 && tok->kind[end_s] == TOKEN_CONTROL)
        tok->kind[end_s] = TOKEN_NORMAL;
    /* A token BPE can never build must come from matching its text whole. */
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        size_t len;
        const char *text = token_text(tok, id, &len);
        if (tok->kind[id] == TOKEN_NORMAL && !produced[id] && has_two_characters(text, len))
            tok->kind[id] = TOKEN_USER_DEFINED;
    }
}

static void fill_byte_tables(tokenizer *tok)
{
    for (int b = 0; b < 256; b++) {
        static const char hex[] = "0123456789ABCDEF";
        char byte_text[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char c = (char)b;
        tok->byte_token[b] = tokenizer_lookup(tok, byte_text, sizeof byte_text);
        tok->char_token[b] = tokenizer_lookup(tok, &c, 1);
    }
}

/* ---- load ---- */

static g4_status load_tables(tokenizer *tok, const gguf_file *file, g4_err *err)
{
    const gguf_kv *tokens = NULL, *types = NULL, *merges = NULL;
    g4_status status = check_model(file, err);
    if (status == G4_OK)
        status = find_array(file, "tokenizer.ggml.tokens", true, &tokens, err);
    if (status == G4_OK)
        status = find_array(file, "tokenizer.ggml.token_type", false, &types, err);
    if (status == G4_OK)
        status = find_array(file, "tokenizer.ggml.merges", true, &merges, err);
    if (status != G4_OK)
        return status;
    if (tokens->count == 0 || tokens->count > INT32_MAX - 1)
        return g4_fail(err, G4_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries",
                       (unsigned long long)tokens->count);
    if (types->count != tokens->count)
        return g4_fail(err, G4_ERR_FORMAT,
                       "tokenizer.ggml.token_type has %llu entries for %llu tokens",
                       (unsigned long long)types->count, (unsigned long long)tokens->count);
    tok->n_vocab = (int32_t)tokens->count;
    status = copy_texts(tok, tokens, err);
    if (status == G4_OK)
        status = read_kinds(tok, types, err);
    if (status == G4_OK)
        status = build_vocab_table(tok, err);
    if (status != G4_OK)
        return status;
    uint8_t *produced = calloc((size_t)tok->n_vocab, 1);
    if (!produced)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the merges");
    status = read_merges(tok, merges, produced, err);
    if (status == G4_OK)
        correct_kinds(tok, produced);
    free(produced);
    return status;
}

g4_status tokenizer_load(const gguf_file *file, tokenizer **out, g4_err *err)
{
    *out = NULL;
    tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the tokenizer");
    g4_status status = load_tables(tok, file, err);
    if (status == G4_OK) {
        fill_byte_tables(tok);
        status = special_matcher_build(&tok->matcher, tok, err);
    }
    if (status != G4_OK) {
        tokenizer_free(tok);
        if (err)
            g4_fail_context(err, "loading the tokenizer");
        return status;
    }
    *out = tok;
    return G4_OK;
}

void tokenizer_free(tokenizer *tok)
{
    if (!tok)
        return;
    special_matcher_free(&tok->matcher);
    merge_table_free(&tok->merges);
    text_table_free(&tok->vocab);
    free(tok->kind);
    free(tok->start);
    free(tok->arena);
    free(tok);
}

/* ---- queries ---- */

int32_t tokenizer_vocab_size(const tokenizer *tok)
{
    return tok->n_vocab;
}

int32_t tokenizer_lookup(const tokenizer *tok, const char *text, size_t len)
{
    if (!text || len == 0)
        return -1;
    return text_table_find2(&tok->vocab, text, len, NULL, 0);
}

const tokenizer_specials *tokenizer_get_specials(const tokenizer *tok)
{
    return &tok->specials;
}

bool tokenizer_is_eog(const tokenizer *tok, int32_t id)
{
    const tokenizer_specials *s = &tok->specials;
    return id >= 0 && (id == s->eos || id == s->turn_close || id == s->tool_response_open);
}

/* ---- token -> bytes ---- */

static int copy_bytes(const char *text, size_t len, char *buf, size_t cap)
{
    if (buf)
        memcpy(buf, text, len < cap ? len : cap);
    return (int)len;
}

static int copy_with_spaces(const char *text, size_t len, char *buf, size_t cap)
{
    size_t out = 0;
    for (size_t i = 0; i < len; out++) {
        char c = text[i];
        size_t step = 1;
        if (len - i >= 3 && memcmp(text + i, "\xE2\x96\x81", 3) == 0) {
            c = ' ';
            step = 3;
        }
        if (buf && out < cap)
            buf[out] = c;
        i += step;
    }
    return (int)out;
}

int tokenizer_token_bytes(const tokenizer *tok, int32_t id, bool show_special, char *buf,
                          size_t cap)
{
    if (id < 0 || id >= tok->n_vocab)
        return -1;
    size_t len;
    const char *text = token_text(tok, id, &len);
    switch ((token_kind)tok->kind[id]) {
    case TOKEN_NORMAL:
        return copy_with_spaces(text, len, buf, cap);
    case TOKEN_BYTE: {
        char byte = (char)parse_byte_token(text, len);
        return copy_bytes(&byte, 1, buf, cap);
    }
    case TOKEN_USER_DEFINED:
        return copy_bytes(text, len, buf, cap);
    case TOKEN_CONTROL:
    case TOKEN_UNKNOWN:
    case TOKEN_UNUSED:
        return show_special ? copy_bytes(text, len, buf, cap) : 0;
    }
    return 0;
}
