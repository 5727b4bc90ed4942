/* The Gemma 4 tokenizer against llama.cpp's test vectors and the Hugging Face reference
 * (tests/data/reference-public.gguf), decoding, the streaming UTF-8 decoder, hostile input
 * and malformed vocabularies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "harness.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- helpers ---- */

typedef struct byte_buf {
    char *data;
    size_t len, cap;
} byte_buf;

static void buf_append(byte_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            abort();
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Concatenated token bytes. */
static byte_buf decode_all(const tokenizer *tok, const int32_t *ids, size_t n, bool show_special)
{
    byte_buf out = {0};
    buf_append(&out, "", 0);
    for (size_t i = 0; i < n; i++) {
        char piece[256];
        int len = tokenizer_token_bytes(tok, ids[i], show_special, piece, sizeof piece);
        if (len < 0 || len > (int)sizeof piece)
            abort();
        buf_append(&out, piece, (size_t)len);
    }
    return out;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Encodes text as the references do (no BOS, special text parsed), compares with the
 * expected ids and checks that decoding gives the text back. */
static void check_case(const tokenizer *tok, const char *label, const char *text, size_t len,
                       const int32_t *expected, size_t n_expected)
{
    int32_t *ids;
    size_t n;
    g4_err err = {0};
    g4_status status = tokenizer_encode(tok, text, len, false, true, &ids, &n, &err);
    CHECK_MSG(status == G4_OK, "%s: %s", label, err.msg);
    if (status != G4_OK)
        return;
    bool same = n == n_expected && (n == 0 || memcmp(ids, expected, n * sizeof *ids) == 0);
    CHECK_MSG(same, "%s: ids differ from the reference", label);
    if (!same) {
        print_ids("expected", expected, n_expected);
        print_ids("got     ", ids, n);
    }
    byte_buf back = decode_all(tok, ids, n, true);
    CHECK_MSG(back.len == len && memcmp(back.data, text, len) == 0, "%s: decode differs", label);
    free(back.data);
    free(ids);
}

static int32_t *kv_ids(const gguf_kv *kv, size_t *n)
{
    *n = (size_t)kv->count;
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    for (size_t i = 0; i < *n; i++) {
        int64_t v = -1;
        gguf_array_i64(kv, i, &v, NULL);
        ids[i] = (int32_t)v;
    }
    return ids;
}

/* ---- 1. llama.cpp's vectors ---- */

static char *find_bytes(char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    for (size_t i = 0; i + needle_len <= hay_len; i++) {
        if (memcmp(hay + i, needle, needle_len) == 0)
            return hay + i;
    }
    return NULL;
}

static void test_llama_vectors(const tokenizer *tok)
{
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t inp_len, out_len;
    char *inp = test_read_file(test_data_path("tokenizer/ggml-vocab-gemma-4.gguf.inp"), &inp_len);
    char *out = test_read_file(test_data_path("tokenizer/ggml-vocab-gemma-4.gguf.out"), &out_len);
    CHECK(inp && out);
    if (!inp || !out) {
        free(inp);
        free(out);
        return;
    }
    int n_cases = 0;
    char *text = inp, *line = out;
    for (;;) {
        char *end = find_bytes(text, inp_len - (size_t)(text - inp), sep, sizeof sep - 1);
        size_t text_len = end ? (size_t)(end - text) : inp_len - (size_t)(text - inp);
        char *line_end = strchr(line, '\n');
        if (line_end)
            *line_end = '\0';
        int32_t expected[512];
        size_t n_expected = 0;
        for (char *p = line, *q; n_expected < 512; p = q) {
            long v = strtol(p, &q, 10);
            if (q == p)
                break;
            expected[n_expected++] = (int32_t)v;
        }
        char label[64];
        snprintf(label, sizeof label, "llama.cpp vector %d", n_cases);
        check_case(tok, label, text, text_len, expected, n_expected);
        n_cases++;
        if (!end || !line_end)
            break;
        text = end + sizeof sep - 1;
        line = line_end + 1;
    }
    CHECK_MSG(n_cases == 46, "%d vectors", n_cases);
    free(inp);
    free(out);
}

/* ---- 2. and 3. the Hugging Face reference ---- */

static void test_reference_strings(const tokenizer *tok, const gguf_file *ref)
{
    const gguf_kv *strings = gguf_find(ref, "tokenize.strings");
    const gguf_kv *ids_kv = gguf_find(ref, "tokenize.ids");
    const gguf_kv *offsets_kv = gguf_find(ref, "tokenize.offsets");
    CHECK(strings && ids_kv && offsets_kv);
    if (!strings || !ids_kv || !offsets_kv)
        return;
    size_t n_ids, n_offsets;
    int32_t *ids = kv_ids(ids_kv, &n_ids);
    int32_t *offsets = kv_ids(offsets_kv, &n_offsets);
    CHECK(n_offsets == strings->count + 1);
    for (size_t i = 0; i < strings->count && i + 1 < n_offsets; i++) {
        char label[64];
        snprintf(label, sizeof label, "tokenize.strings[%zu]", i);
        size_t begin = (size_t)offsets[i], end = (size_t)offsets[i + 1];
        CHECK(begin <= end && end <= n_ids);
        check_case(tok, label, strings->strings[i].ptr, strings->strings[i].len, ids + begin,
                   end - begin);
    }
    free(ids);
    free(offsets);
}

static void test_reference_chats(const tokenizer *tok, const gguf_file *ref)
{
    static const char *const names[] = {"hello",   "system_multiturn", "thinking",
                                        "tools",   "unicode",          "no_generation_prompt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[128], label[128];
        snprintf(key, sizeof key, "chat.%s.rendered", names[i]);
        const gguf_kv *rendered = gguf_find(ref, key);
        snprintf(key, sizeof key, "chat.%s.ids", names[i]);
        const gguf_kv *ids_kv = gguf_find(ref, key);
        CHECK_MSG(rendered && ids_kv, "chat case %s missing", names[i]);
        if (!rendered || !ids_kv)
            continue;
        size_t n;
        int32_t *ids = kv_ids(ids_kv, &n);
        snprintf(label, sizeof label, "chat.%s", names[i]);
        check_case(tok, label, rendered->strings[0].ptr, rendered->strings[0].len, ids, n);
        free(ids);
    }
}

/* The model's input ids with each expanded <|image>, N x <|image|>, <image|> (and the same
 * for audio) folded back into the one placeholder the rendered prompt holds. */
static size_t fold_placeholders(const tokenizer *tok, int32_t *ids, size_t n)
{
    const tokenizer_specials *s = tokenizer_get_specials(tok);
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        int32_t soft = ids[r] == s->image_open ? s->image_soft
                       : ids[r] == s->audio_open ? s->audio_soft
                                                 : -1;
        int32_t close = soft == s->image_soft ? s->image_close : s->audio_close;
        if (soft >= 0) {
            while (r + 1 < n && ids[r + 1] == soft)
                r++;
            if (r + 1 < n && ids[r + 1] == close)
                r++;
            ids[w++] = soft;
        } else {
            ids[w++] = ids[r];
        }
    }
    return w;
}

static void test_reference_multimodal(const tokenizer *tok, const gguf_file *ref)
{
    const gguf_kv *cases = gguf_find(ref, "reference.cases");
    CHECK(cases && cases->elem_type == GGUF_STRING);
    int n_checked = 0;
    for (uint64_t i = 0; cases && i < cases->count; i++) {
        char key[128], label[128];
        gguf_str name = cases->strings[i];
        snprintf(key, sizeof key, "mm.%.*s.rendered", (int)name.len, name.ptr);
        const gguf_kv *rendered = gguf_find(ref, key);
        snprintf(key, sizeof key, "case.%.*s.input_ids", (int)name.len, name.ptr);
        const gguf_kv *ids_kv = gguf_find(ref, key);
        if (!rendered || !ids_kv)
            continue;
        size_t n;
        int32_t *ids = kv_ids(ids_kv, &n);
        n = fold_placeholders(tok, ids, n);
        snprintf(label, sizeof label, "mm.%.*s", (int)name.len, name.ptr);
        check_case(tok, label, rendered->strings[0].ptr, rendered->strings[0].len, ids, n);
        free(ids);
        n_checked++;
    }
    CHECK_MSG(n_checked == 4, "%d multimodal cases", n_checked);
}

/* ---- 4. decoding, specials, streaming ---- */

static void test_specials(const tokenizer *tok)
{
    const tokenizer_specials *s = tokenizer_get_specials(tok);
    CHECK(tokenizer_vocab_size(tok) == 262144);
    CHECK(s->pad == 0 && s->eos == 1 && s->bos == 2 && s->unk == 3);
    CHECK(s->tool_open == 46 && s->tool_close == 47);
    CHECK(s->tool_call_open == 48 && s->tool_call_close == 49);
    CHECK(s->tool_response_open == 50 && s->tool_response_close == 51);
    CHECK(s->string_delim == 52 && s->think == 98);
    CHECK(s->channel_open == 100 && s->channel_close == 101);
    CHECK(s->turn_open == 105 && s->turn_close == 106 && s->newline == 107);
    CHECK(s->image_open == 255999 && s->audio_open == 256000);
    CHECK(s->image_soft == 258880 && s->audio_soft == 258881);
    CHECK(s->image_close == 258882 && s->audio_close == 258883 && s->video_soft == 258884);

    CHECK(tokenizer_is_eog(tok, 1) && tokenizer_is_eog(tok, 106) && tokenizer_is_eog(tok, 50));
    CHECK(!tokenizer_is_eog(tok, 212) && !tokenizer_is_eog(tok, 2) && !tokenizer_is_eog(tok, 0));
    CHECK(!tokenizer_is_eog(tok, -1) && !tokenizer_is_eog(tok, 262144));

    CHECK(tokenizer_lookup(tok, "<bos>", 5) == 2);
    CHECK(tokenizer_lookup(tok, "</s>", 4) == 212);
    CHECK(tokenizer_lookup(tok, "no such token, surely", 21) == -1);
    CHECK(tokenizer_lookup(tok, "", 0) == -1);
}

static void check_piece(const tokenizer *tok, int32_t id, bool show_special, const char *want,
                        size_t want_len)
{
    char buf[64];
    int len = tokenizer_token_bytes(tok, id, show_special, buf, sizeof buf);
    CHECK_MSG(len == (int)want_len && memcmp(buf, want, want_len) == 0, "token %d (special %d)",
              id, show_special);
}

static void test_token_bytes(const tokenizer *tok)
{
    check_piece(tok, tokenizer_lookup(tok, "<0x41>", 6), false, "A", 1);
    check_piece(tok, tokenizer_lookup(tok, "<0xE2>", 6), false, "\xE2", 1);
    check_piece(tok, tokenizer_lookup(tok, "<0x00>", 6), false, "\0", 1);
    check_piece(tok, 138, false, "  ", 2);                  /* "▁▁" */
    check_piece(tok, 236743, false, " ", 1);                /* "▁" */
    check_piece(tok, 105, false, "", 0);                    /* <|turn>: control */
    check_piece(tok, 105, true, "<|turn>", 7);
    check_piece(tok, 2, false, "", 0);
    check_piece(tok, 2, true, "<bos>", 5);
    check_piece(tok, 100, false, "<|channel>", 10);         /* user-defined: always shown */
    check_piece(tok, 212, false, "</s>", 4);                /* ordinary text */
    check_piece(tok, 107, false, "\n", 1);

    /* The length is returned even when it does not fit; nothing is written past cap. */
    char buf[8] = "xxxxxxx";
    CHECK(tokenizer_token_bytes(tok, 100, false, buf, 3) == 10);
    CHECK(memcmp(buf, "<|cxxxx", 7) == 0);
    CHECK(tokenizer_token_bytes(tok, 100, false, NULL, 0) == 10);
    CHECK(tokenizer_token_bytes(tok, -1, true, buf, sizeof buf) == -1);
    CHECK(tokenizer_token_bytes(tok, 262144, true, buf, sizeof buf) == -1);
}

static void expect_ids(const tokenizer *tok, const char *text, bool add_bos, bool parse_special,
                       const int32_t *want, size_t n_want)
{
    int32_t *ids;
    size_t n;
    CHECK(tokenizer_encode(tok, text, strlen(text), add_bos, parse_special, &ids, &n, NULL) ==
          G4_OK);
    bool same = n == n_want && memcmp(ids, want, n * sizeof *ids) == 0;
    CHECK_MSG(same, "encoding \"%s\"", text);
    if (!same)
        print_ids("got", ids, n);
    free(ids);
}

static void test_encode_options(const tokenizer *tok)
{
    expect_ids(tok, "Hello", true, true, (const int32_t[]){2, 9259}, 2);
    expect_ids(tok, "<|turn>user", false, true, (const int32_t[]){105, 2364}, 2);
    /* Without parse_special control text is plain text, user-defined tokens still split. */
    int32_t *ids;
    size_t n;
    CHECK(tokenizer_encode(tok, "<|turn><bos>", 12, false, false, &ids, &n, NULL) == G4_OK);
    bool any_special = false;
    for (size_t i = 0; i < n; i++)
        any_special |= ids[i] == 105 || ids[i] == 2;
    CHECK(n > 2 && !any_special);
    free(ids);
    expect_ids(tok, "<|channel></s>", false, false, (const int32_t[]){100, 212}, 2);
    /* A character outside the vocabulary falls back to its bytes. */
    int32_t plane16[4];
    const char *bytes[4] = {"<0xF4>", "<0x8F>", "<0xBF>", "<0xBF>"};
    for (int i = 0; i < 4; i++)
        plane16[i] = tokenizer_lookup(tok, bytes[i], 6);
    expect_ids(tok, "\xF4\x8F\xBF\xBF", false, true, plane16, 4);
}

static void test_stream_decoder(const tokenizer *tok)
{
    /* An emoji sent as four byte tokens comes out whole, only with its last byte. */
    static const char *const byte_texts[4] = {"<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"};
    utf8_stream stream;
    utf8_stream_init(&stream);
    char out[UTF8_STREAM_MAX_OUT(64)];
    for (int i = 0; i < 4; i++) {
        char piece[16];
        int len = tokenizer_token_bytes(tok, tokenizer_lookup(tok, byte_texts[i], 6), false,
                                        piece, sizeof piece);
        CHECK(len == 1);
        size_t got = utf8_stream_feed(&stream, piece, (size_t)len, out);
        if (i < 3)
            CHECK_MSG(got == 0, "emitted %zu bytes after byte %d", got, i);
        else
            CHECK(got == 4 && memcmp(out, "\xF0\x9F\xA6\x99", 4) == 0);
    }
    CHECK(utf8_stream_flush(&stream, out) == 0);

    /* Text around a split character, and the split in the middle of a longer feed. */
    size_t got = utf8_stream_feed(&stream, "ab\xE2\x82", 4, out);
    CHECK(got == 2 && memcmp(out, "ab", 2) == 0);
    got = utf8_stream_feed(&stream, "\xAC!", 2, out);
    CHECK(got == 4 && memcmp(out, "\xE2\x82\xAC!", 4) == 0);

    /* Ill-formed input becomes U+FFFD, one per maximal subpart. */
    got = utf8_stream_feed(&stream, "\xE2\x82", 2, out);
    CHECK(got == 0);
    got = utf8_stream_feed(&stream, "A\xFF\xC0\xAF", 4, out);
    CHECK(got == 13 && memcmp(out, UTF8_REPLACEMENT "A" UTF8_REPLACEMENT UTF8_REPLACEMENT
                                       UTF8_REPLACEMENT, 13) == 0);
    got = utf8_stream_feed(&stream, "\xED\xA0\x80", 3, out); /* a surrogate */
    CHECK(got == 9);
    got = utf8_stream_feed(&stream, "\xF0\x9F", 2, out);
    CHECK(got == 0);
    CHECK(utf8_stream_flush(&stream, out) == 3 && memcmp(out, UTF8_REPLACEMENT, 3) == 0);
    CHECK(utf8_stream_flush(&stream, out) == 0);

    CHECK(utf8_valid_prefix("a\xC3\xA9\xE2\x82", 5) == 3);
    char enc[4];
    CHECK(utf8_encode(0x20AC, enc) == 3 && memcmp(enc, "\xE2\x82\xAC", 3) == 0);
    CHECK(utf8_encode(0xD800, enc) == 0 && utf8_encode(0x110000, enc) == 0);
    CHECK(utf8_encode(0x1F999, enc) == 4);
}

/* ---- 5. hostile input ---- */

/* Encodes and checks the bytes come back; returns the seconds encoding took. */
static double check_round_trip(const tokenizer *tok, const char *label, const char *text,
                               size_t len, size_t *n_tokens)
{
    int32_t *ids;
    size_t n;
    double t0 = now_seconds();
    g4_status status = tokenizer_encode(tok, text, len, false, false, &ids, &n, NULL);
    double seconds = now_seconds() - t0;
    CHECK_MSG(status == G4_OK, "%s: encode failed", label);
    if (status != G4_OK)
        return seconds;
    byte_buf back = decode_all(tok, ids, n, false);
    CHECK_MSG(back.len == len && memcmp(back.data, text, len) == 0, "%s: round trip", label);
    if (n_tokens)
        *n_tokens = n;
    free(back.data);
    free(ids);
    return seconds;
}

static char *repeated(char c, size_t n)
{
    char *s = malloc(n);
    memset(s, c, n);
    return s;
}

static void test_hostile(const tokenizer *tok)
{
    int32_t *ids = (int32_t *)1;
    size_t n = 7;
    CHECK(tokenizer_encode(tok, "", 0, false, true, &ids, &n, NULL) == G4_OK);
    CHECK(ids == NULL && n == 0);
    CHECK(tokenizer_encode(tok, NULL, 0, true, true, &ids, &n, NULL) == G4_OK);
    CHECK(n == 1 && ids[0] == 2);
    free(ids);

    static const char invalid[] = "ok \xFF\xFE \xC3( \xE2\x82 \xED\xA0\x80 \xF4\x90\x80\x80 "
                                  "\xC0\xAF end \xF0\x9F\x98";
    check_round_trip(tok, "invalid UTF-8", invalid, sizeof invalid - 1, NULL);
    static const char nul[] = "a\0b\0\0 <|turn>\0";
    check_round_trip(tok, "embedded NUL", nul, sizeof nul - 1, NULL);

    size_t big = 1 << 20, n_tokens = 0;
    char *as = repeated('a', big);
    double t = check_round_trip(tok, "1 MiB of 'a'", as, big, &n_tokens);
    printf("  1 MiB of 'a': %zu tokens in %.3f s\n", n_tokens, t);
    free(as);
    char *newlines = repeated('\n', 100000);
    t = check_round_trip(tok, "100k newlines", newlines, 100000, &n_tokens);
    printf("  100k newlines: %zu tokens in %.3f s\n", n_tokens, t);
    free(newlines);
    char *spaces = repeated(' ', big);
    t = check_round_trip(tok, "1 MiB of spaces", spaces, big, &n_tokens);
    printf("  1 MiB of spaces: %zu tokens in %.3f s\n", n_tokens, t);
    free(spaces);

    /* Random bytes: mostly invalid UTF-8, with special-token text mixed in. */
    char *noise = malloc(big);
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (char)(x >> 16);
    }
    for (size_t i = 0; i + 16 < big; i += 4099)
        memcpy(noise + i, "<|tool_call><b>", 15);
    t = check_round_trip(tok, "1 MiB of random bytes", noise, big, &n_tokens);
    printf("  1 MiB of random bytes: %zu tokens in %.3f s\n", n_tokens, t);
    free(noise);

    byte_buf specials = {0};
    for (int i = 0; i < 100000; i++)
        buf_append(&specials, "<|image|><|channel>", 19);
    double t0 = now_seconds();
    CHECK(tokenizer_encode(tok, specials.data, specials.len, false, true, &ids, &n, NULL) == G4_OK);
    printf("  200k special tokens: %zu tokens in %.3f s\n", n, now_seconds() - t0);
    CHECK(n == 200000);
    free(ids);
    free(specials.data);
}

/* ---- malformed vocabularies ---- */

typedef struct vocab_spec {
    const char *model;
    const char *const *tokens;
    size_t n_tokens;
    const int32_t *types;
    size_t n_types;
    const char *const *merges;
    size_t n_merges;
} vocab_spec;

static g4_status load_spec(const vocab_spec *spec, g4_err *err)
{
    gguf_writer *w;
    if (gguf_writer_new(&w, err) != G4_OK)
        return G4_ERR_INTERNAL;
    gguf_str views[16];
    gguf_writer_add_str(w, "tokenizer.ggml.model", spec->model);
    for (size_t i = 0; i < spec->n_tokens; i++)
        views[i] = (gguf_str){spec->tokens[i], strlen(spec->tokens[i])};
    gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", views, spec->n_tokens);
    gguf_writer_add_array(w, "tokenizer.ggml.token_type", GGUF_I32, spec->types, spec->n_types);
    if (spec->merges) {
        for (size_t i = 0; i < spec->n_merges; i++)
            views[i] = (gguf_str){spec->merges[i], strlen(spec->merges[i])};
        gguf_writer_add_str_array(w, "tokenizer.ggml.merges", views, spec->n_merges);
    }
    void *data;
    uint64_t size;
    g4_status status = gguf_writer_write_memory(w, &data, &size, err);
    gguf_writer_free(w);
    if (status != G4_OK)
        return G4_ERR_INTERNAL;
    gguf_file *file;
    tokenizer *tok = NULL;
    status = gguf_open_memory(data, size, &file, err);
    if (status == G4_OK) {
        status = tokenizer_load(file, &tok, err);
        gguf_close(file);
    }
    /* The tokenizer keeps no pointer into the file. */
    if (tok) {
        int32_t *ids;
        size_t n;
        CHECK(tokenizer_encode(tok, "ab a", 4, false, true, &ids, &n, NULL) == G4_OK);
        free(ids);
    }
    tokenizer_free(tok);
    free(data);
    return status;
}

static void test_bad_vocabularies(void)
{
    static const char *const tokens[] = {"a", "b", "ab", "\xE2\x96\x81", "<0x61>"};
    static const int32_t types[] = {1, 1, 1, 1, 6};
    static const char *const merges[] = {"a b"};
    vocab_spec good = {"gemma4", tokens, 5, types, 5, merges, 1};
    g4_err err = {0};
    CHECK_MSG(load_spec(&good, &err) == G4_OK, "%s", err.msg);

    vocab_spec s = good;
    s.n_types = 4;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "token_type") != NULL, "%s", err.msg);

    s = good;
    s.model = "llama";
    CHECK(load_spec(&s, &err) == G4_ERR_UNSUPPORTED);

    s = good;
    s.merges = NULL;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);

    static const char *const bad_merges[] = {"a c"};
    s = good;
    s.merges = bad_merges;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);

    static const char *const no_space[] = {"ab"};
    s = good;
    s.merges = no_space;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);

    static const char *const dup_tokens[] = {"a", "b", "ab", "a", "<0x61>"};
    s = good;
    s.tokens = dup_tokens;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);

    static const int32_t bad_types[] = {1, 1, 1, 1, 9};
    s = good;
    s.types = bad_types;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);

    static const int32_t byte_type_on_text[] = {6, 1, 1, 1, 6};
    s = good;
    s.types = byte_type_on_text;
    CHECK(load_spec(&s, &err) == G4_ERR_FORMAT);
}

/* ---- speed ---- */

static void report_speed(const tokenizer *tok, const gguf_file *ref)
{
    byte_buf text = {0};
    size_t inp_len;
    char *inp = test_read_file(test_data_path("tokenizer/ggml-vocab-gemma-4.gguf.inp"), &inp_len);
    const gguf_kv *chat = gguf_find(ref, "chat.unicode.rendered");
    const gguf_kv *tools = gguf_find(ref, "chat.tools.rendered");
    while (inp && chat && tools && text.len < (8u << 20)) {
        buf_append(&text, inp, inp_len);
        buf_append(&text, chat->strings[0].ptr, chat->strings[0].len);
        buf_append(&text, tools->strings[0].ptr, tools->strings[0].len);
    }
    free(inp);
    int32_t *ids;
    size_t n;
    double t0 = now_seconds();
    CHECK(tokenizer_encode(tok, text.data, text.len, false, true, &ids, &n, NULL) == G4_OK);
    double seconds = now_seconds() - t0;
    printf("  encode: %.1f MB of mixed text -> %zu tokens in %.3f s = %.1f MB/s\n",
           (double)text.len / 1e6, n, seconds, (double)text.len / 1e6 / seconds);
    free(ids);
    free(text.data);
}

int main(void)
{
    g4_err err = {0};
    gguf_file *model = NULL, *ref = NULL;
    tokenizer *tok = NULL;
    double t0 = now_seconds();
    g4_status status = gguf_open(test_data_path("tiny-gemma4u-bf16.gguf"), &model, &err);
    double t1 = now_seconds();
    if (status == G4_OK)
        status = tokenizer_load(model, &tok, &err);
    double t2 = now_seconds();
    CHECK_MSG(status == G4_OK, "%s", err.msg);
    if (status != G4_OK)
        return test_finish("test_tokenizer");
    printf("  gguf_open %.3f s, tokenizer_load %.3f s\n", t1 - t0, t2 - t1);
    gguf_close(model); /* the tokenizer must not need the file any more */

    status = gguf_open(test_data_path("reference-public.gguf"), &ref, &err);
    CHECK_MSG(status == G4_OK, "%s", err.msg);

    test_llama_vectors(tok);
    if (ref) {
        test_reference_strings(tok, ref);
        test_reference_chats(tok, ref);
        test_reference_multimodal(tok, ref);
    }
    test_specials(tok);
    test_token_bytes(tok);
    test_encode_options(tok);
    test_stream_decoder(tok);
    test_hostile(tok);
    test_bad_vocabularies();
    if (ref)
        report_speed(tok, ref);

    gguf_close(ref);
    tokenizer_free(tok);
    return test_finish("test_tokenizer");
}
