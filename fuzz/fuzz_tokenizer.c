/* libFuzzer target for the tokenizer: any bytes tokenize (with and without special-token
 * parsing), every id is in the vocabulary, and the ids' bytes give back the input (with
 * U+2581, SentencePiece's space marker, read back as a space, as Gemma decodes it). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gguf.h"
#include "text/tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tokenizer *vocab;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gguf_file *file = NULL;
    if (gguf_open(G4_TEST_DATA "/tiny-gemma4u-q4_0.gguf", &file, NULL) != G4_OK ||
        tokenizer_load(file, &vocab, NULL) != G4_OK)
        abort();
    gguf_close(file);
    return 0;
}

/* The input as decoding gives it back: every U+2581 becomes ' '. */
static size_t expected_text(const uint8_t *data, size_t size, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < size; i++) {
        if (i + 2 < size && data[i] == 0xE2 && data[i + 1] == 0x96 && data[i + 2] == 0x81) {
            out[len++] = ' ';
            i += 2;
        } else {
            out[len++] = (char)data[i];
        }
    }
    return len;
}

static void round_trip(const uint8_t *data, size_t size, bool parse_special)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizer_encode(vocab, (const char *)data, size, false, parse_special, &ids, &n,
                         NULL) != G4_OK)
        abort();
    char *text = malloc(size + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[512];
        int got = tokenizer_token_bytes(vocab, ids[i], true, piece, sizeof piece);
        if (got < 0 || (size_t)got > sizeof piece || len + (size_t)got > size)
            abort();
        memcpy(text + len, piece, (size_t)got);
        len += (size_t)got;
    }
    char *want = malloc(size + 1);
    size_t want_len = expected_text(data, size, want);
    if (len != want_len || (len && memcmp(text, want, len) != 0))
        abort();
    free(want);
    free(text);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(data, size, true);
    round_trip(data, size, false);
    return 0;
}
