/* Text helpers shared by the chat renderer and reply parser: a growable byte buffer and
 * the few Python string operations the chat template relies on (strip, upper, lower). */
#ifndef G4_TEXT_CHAT_TEXT_H
#define G4_TEXT_CHAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. A failed allocation sets failed and later appends do nothing,
 * so callers check once at the end. */
typedef struct chat_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} chat_buf;

void chat_buf_put(chat_buf *buf, const char *bytes, size_t n);
void chat_buf_puts(chat_buf *buf, const char *str);
/* Hands over the NUL-terminated contents (NULL if an allocation failed) and resets buf. */
char *chat_buf_take(chat_buf *buf);
void chat_buf_free(chat_buf *buf);

/* A view of bytes that need not be NUL-terminated. */
typedef struct chat_span {
    const char *ptr;
    size_t len;
} chat_span;

chat_span chat_span_of(const char *str);
bool chat_span_eq(chat_span span, const char *str);
/* Position of needle in hay at or after from, or hay.len when absent. */
size_t chat_span_find(chat_span hay, size_t from, const char *needle);
/* Python's str.strip(): removes Unicode whitespace from both ends. */
chat_span chat_strip(chat_span text);

/* Decodes one UTF-8 sequence at text[*pos] and advances *pos. Invalid bytes decode as
 * themselves (one byte each) so that nothing is ever skipped. */
uint32_t chat_utf8_next(chat_span text, size_t *pos);

/* Python's str.upper() / str.lower() for ASCII, Latin-1, basic Greek and Cyrillic (and
 * ß -> SS); other characters are kept as they are. */
void chat_put_upper(chat_buf *buf, chat_span text);
void chat_put_lower(chat_buf *buf, chat_span text);

#endif
