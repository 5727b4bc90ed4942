/* UTF-8 helpers: strict validation of one sequence, and a streaming decoder that turns the
 * bytes of generated tokens into text that is always complete, valid UTF-8. */
#ifndef G4_TEXT_UTF8_H
#define G4_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef enum utf8_scan_result {
    UTF8_VALID,      /* a complete, well-formed sequence */
    UTF8_INCOMPLETE, /* well-formed so far, but the input ends before the sequence does */
    UTF8_INVALID,    /* ill-formed: overlong, surrogate, above U+10FFFF, or a stray byte */
} utf8_scan_result;

/* Looks at the sequence starting at s[0] (n >= 1 bytes available) and sets *len to its length
 * (VALID), to the bytes seen so far (INCOMPLETE), or to the length of the maximal ill-formed
 * subpart, at least 1 (INVALID), which is what one U+FFFD replaces (Unicode 3.9, "substitution
 * of maximal subparts"). */
utf8_scan_result utf8_scan(const char *s, size_t n, size_t *len);

/* Number of bytes of the longest prefix of s that is complete, valid UTF-8. */
size_t utf8_valid_prefix(const char *s, size_t n);

/* Encodes a scalar value (<= 0x10FFFF, not a surrogate) into out; returns 1..4, or 0 for a
 * value that has no UTF-8 form. */
int utf8_encode(uint32_t cp, char out[4]);

#define UTF8_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Streaming decoder for detokenization. Feed it the bytes of each token as they come; it
 * writes out only complete characters and holds back an incomplete tail (at most 3 bytes)
 * until later bytes complete it. Ill-formed bytes are not passed through: each maximal
 * ill-formed subpart becomes one U+FFFD, so the output is always valid UTF-8. */
typedef struct utf8_stream {
    unsigned char pending[4];
    size_t n_pending;
} utf8_stream;

/* The most bytes one feed of n input bytes (or a flush, n = 0) can write. */
#define UTF8_STREAM_MAX_OUT(n) (3 * ((n) + 4))

void utf8_stream_init(utf8_stream *stream);
/* Writes the text completed by these bytes to out (room for UTF8_STREAM_MAX_OUT(len) bytes)
 * and returns how many bytes it wrote. */
size_t utf8_stream_feed(utf8_stream *stream, const char *bytes, size_t len, char *out);
/* At the end of the stream: a held-back incomplete tail becomes one U+FFFD. Returns the
 * bytes written to out (0 or 3) and leaves the stream empty. */
size_t utf8_stream_flush(utf8_stream *stream, char *out);

#endif
