#include "text/chat_text.h"

#include <stdlib.h>
#include <string.h>

static bool buf_reserve(chat_buf *buf, size_t extra)
{
    if (buf->failed)
        return false;
    if (extra < buf->cap - buf->len)
        return true;
    if (extra > SIZE_MAX / 2 - buf->len) {
        buf->failed = true;
        return false;
    }
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap - buf->len <= extra)
        cap *= 2;
    char *grown = realloc(buf->data, cap);
    if (!grown) {
        buf->failed = true;
        return false;
    }
    buf->data = grown;
    buf->cap = cap;
    return true;
}

void chat_buf_put(chat_buf *buf, const char *bytes, size_t n)
{
    if (n == 0 || !buf_reserve(buf, n))
        return;
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
}

void chat_buf_puts(chat_buf *buf, const char *str)
{
    chat_buf_put(buf, str, strlen(str));
}

char *chat_buf_take(chat_buf *buf)
{
    char *data = NULL;
    if (buf_reserve(buf, 1)) {
        buf->data[buf->len] = '\0';
        data = buf->data;
        buf->data = NULL;
    }
    chat_buf_free(buf);
    return data;
}

void chat_buf_free(chat_buf *buf)
{
    free(buf->data);
    *buf = (chat_buf){0};
}

chat_span chat_span_of(const char *str)
{
    return (chat_span){str, strlen(str)};
}

bool chat_span_eq(chat_span span, const char *str)
{
    size_t n = strlen(str);
    return span.len == n && memcmp(span.ptr, str, n) == 0;
}

size_t chat_span_find(chat_span hay, size_t from, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || hay.len < n)
        return hay.len;
    for (size_t i = from; i <= hay.len - n; i++) {
        const char *hit = memchr(hay.ptr + i, needle[0], hay.len - n + 1 - i);
        if (!hit)
            break;
        i = (size_t)(hit - hay.ptr);
        if (memcmp(hit, needle, n) == 0)
            return i;
    }
    return hay.len;
}

uint32_t chat_utf8_next(chat_span text, size_t *pos)
{
    const unsigned char *s = (const unsigned char *)text.ptr + *pos;
    size_t left = text.len - *pos;
    unsigned char lead = s[0];
    size_t n = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3
             : (lead & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left) {
        *pos += 1;
        return lead;
    }
    uint32_t cp = n == 1 ? lead : lead & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *pos += 1;
            return lead;
        }
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    *pos += n;
    return cp;
}

static void put_utf8(chat_buf *buf, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    chat_buf_put(buf, out, n);
}

/* The characters for which Python's str.isspace() is true. */
static bool is_python_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 ||
           cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Start of the UTF-8 sequence that ends at end (exclusive). */
static size_t utf8_last_start(chat_span text, size_t end)
{
    size_t start = end - 1;
    while (start > 0 && end - start < 4 && ((unsigned char)text.ptr[start] & 0xC0) == 0x80)
        start--;
    return start;
}

chat_span chat_strip(chat_span text)
{
    size_t begin = 0;
    while (begin < text.len) {
        size_t next = begin;
        if (!is_python_space(chat_utf8_next(text, &next)))
            break;
        begin = next;
    }
    size_t end = text.len;
    while (end > begin) {
        size_t start = utf8_last_start(text, end);
        size_t next = start;
        uint32_t cp = chat_utf8_next(text, &next);
        if (next != end || !is_python_space(cp))
            break;
        end = start;
    }
    return (chat_span){text.ptr + begin, end - begin};
}

static uint32_t to_upper(uint32_t cp)
{
    if ((cp >= 'a' && cp <= 'z') || (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) ||
        (cp >= 0x3B1 && cp <= 0x3CB && cp != 0x3C2) || (cp >= 0x430 && cp <= 0x44F))
        return cp - 0x20;
    if (cp >= 0x450 && cp <= 0x45F)
        return cp - 0x50;
    switch (cp) {
    case 0xB5: return 0x39C;
    case 0xFF: return 0x178;
    case 0x3C2: return 0x3A3;
    default: return cp;
    }
}

static uint32_t to_lower(uint32_t cp)
{
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
        (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F))
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    return cp == 0x178 ? 0xFF : cp;
}

static void put_mapped(chat_buf *buf, chat_span text, uint32_t (*map)(uint32_t))
{
    for (size_t pos = 0; pos < text.len;) {
        size_t start = pos;
        uint32_t cp = chat_utf8_next(text, &pos);
        uint32_t mapped = map(cp);
        if (mapped == cp)
            chat_buf_put(buf, text.ptr + start, pos - start); /* keeps invalid bytes as is */
        else
            put_utf8(buf, mapped);
    }
}

void chat_put_upper(chat_buf *buf, chat_span text)
{
    /* Python upper-cases the German sharp s to two letters. */
    for (size_t pos = 0; pos < text.len;) {
        size_t sharp_s = chat_span_find(text, pos, "\xC3\x9F");
        put_mapped(buf, (chat_span){text.ptr + pos, sharp_s - pos}, to_upper);
        if (sharp_s == text.len)
            break;
        chat_buf_puts(buf, "SS");
        pos = sharp_s + 2;
    }
}

void chat_put_lower(chat_buf *buf, chat_span text)
{
    put_mapped(buf, text, to_lower);
}
