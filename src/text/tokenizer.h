/* The Gemma 4 tokenizer: SentencePiece-style BPE over raw UTF-8 with byte fallback, read
 * from the tokenizer.ggml.* metadata of a GGUF file (spec text-decoder.md §5).
 *
 * Encoding: special-token text is split out first (longest token first), then every other
 * fragment has ' ' replaced by U+2581, is cut into runs of newlines and runs of everything
 * else, and each run is merged by BPE rank; symbols the vocabulary lacks become <0xXX> byte
 * tokens. Bytes that are not valid UTF-8 are never replaced: each becomes its own byte token,
 * so decoding gives back exactly the bytes that were encoded.
 *
 * Which tokens are split out as specials. The file's token types decide first: CONTROL and
 * UNKNOWN tokens only with parse_special, USER_DEFINED ones always. Two corrections make the
 * result the reference tokenizer's whatever the converter wrote:
 *  - the Gemma 4 protocol tokens (<|turn>, <turn|>, <|think|>, <|tool>, ... the texts of
 *    tokenizer_specials) are CONTROL even where the file says NORMAL, and </s> is ordinary
 *    text (NORMAL) even where it says CONTROL;
 *  - a NORMAL token of two or more characters that no merge produces can only ever appear
 *    by matching its text literally (it is an "added token", e.g. </s>, <b>, <unused0>), so
 *    it is split out like a USER_DEFINED token.
 *
 * A loaded tokenizer is read-only: any number of threads may encode and decode at once. */
#ifndef G4_TEXT_TOKENIZER_H
#define G4_TEXT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gguf.h"

typedef struct tokenizer tokenizer;

/* Reads tokenizer.ggml.* from a GGUF (model must be "gemma4"; tokens, token_type and merges
 * are required; their lengths must match, every merge must join two tokens into a third).
 * The tokenizer copies what it needs: the file may be closed afterwards. */
g4_status tokenizer_load(const gguf_file *file, tokenizer **out, g4_err *err);
void tokenizer_free(tokenizer *tok);

int32_t tokenizer_vocab_size(const tokenizer *tok);
/* Exact token text -> id, or -1. */
int32_t tokenizer_lookup(const tokenizer *tok, const char *text, size_t len);

/* Tokenizes len bytes of text (any bytes: NUL and invalid UTF-8 are byte-fallback tokens).
 * With add_bos one <bos> is prepended; with parse_special the text of CONTROL tokens becomes
 * those tokens. *ids is malloc'd (free it; NULL when *n_ids is 0). */
g4_status tokenizer_encode(const tokenizer *tok, const char *text, size_t len, bool add_bos,
                           bool parse_special, int32_t **ids, size_t *n_ids, g4_err *err);

/* The bytes of one token: CONTROL/UNKNOWN/UNUSED tokens give their text only when
 * show_special (else nothing), USER_DEFINED ones always their text, byte tokens <0xXX> the
 * single byte, NORMAL tokens their text with U+2581 turned back into ' '. Returns the length
 * (which may exceed cap; nothing is written beyond cap), or -1 for an id out of range. */
int tokenizer_token_bytes(const tokenizer *tok, int32_t id, bool show_special, char *buf,
                          size_t cap);

/* End of generation: <eos>, <turn|> and <|tool_response>, found by their text. </s> is not. */
bool tokenizer_is_eog(const tokenizer *tok, int32_t id);

/* Ids looked up by their text at load; -1 when the vocabulary lacks the token. */
typedef struct tokenizer_specials {
    int32_t pad, eos, bos, unk, turn_open, turn_close, channel_open, channel_close, think,
        tool_open, tool_close, tool_call_open, tool_call_close, tool_response_open,
        tool_response_close, string_delim, image_open, image_soft, image_close, audio_open,
        audio_soft, audio_close, video_soft, newline;
} tokenizer_specials;

const tokenizer_specials *tokenizer_get_specials(const tokenizer *tok);

#endif
