#include "text/utf8.h"

#include <stdbool.h>
#include <string.h>

/* Length of the sequence a lead byte starts and the allowed range of the byte after it
 * (Unicode table 3-7); false for bytes that cannot start a sequence. */
static bool lead_byte_info(unsigned char b, size_t *need, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        *need = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        *need = 3;
        if (b == 0xE0)
            *lo = 0xA0; /* no overlongs */
        else if (b == 0xED)
            *hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        *need = 4;
        if (b == 0xF0)
            *lo = 0x90; /* no overlongs */
        else if (b == 0xF4)
            *hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return false;
    }
    return true;
}

utf8_scan_result utf8_scan(const char *s, size_t n, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t need;
    unsigned char lo, hi;
    *len = 1;
    if (u[0] < 0x80)
        return UTF8_VALID;
    if (!lead_byte_info(u[0], &need, &lo, &hi))
        return UTF8_INVALID;
    for (size_t i = 1; i < need; i++) {
        *len = i;
        if (i == n)
            return UTF8_INCOMPLETE;
        if (u[i] < lo || u[i] > hi)
            return UTF8_INVALID;
        lo = 0x80;
        hi = 0xBF;
    }
    *len = need;
    return UTF8_VALID;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
    size_t pos = 0, len;
    while (pos < n && utf8_scan(s + pos, n - pos, &len) == UTF8_VALID)
        pos += len;
    return pos;
}

int utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}

void utf8_stream_init(utf8_stream *stream)
{
    stream->n_pending = 0;
}

static size_t put_replacement(char *out)
{
    memcpy(out, UTF8_REPLACEMENT, 3);
    return 3;
}

/* Completes the held-back tail with bytes from the input, one at a time. Returns how many
 * input bytes it used; the tail is empty afterwards unless the input ran out first. */
static size_t finish_pending(utf8_stream *stream, const char *bytes, size_t len, char *out,
                             size_t *written)
{
    size_t used = 0, seq_len;
    while (stream->n_pending > 0 && used < len) {
        stream->pending[stream->n_pending++] = (unsigned char)bytes[used++];
        utf8_scan_result r =
            utf8_scan((const char *)stream->pending, stream->n_pending, &seq_len);
        if (r == UTF8_VALID) {
            memcpy(out + *written, stream->pending, seq_len);
            *written += seq_len;
            stream->n_pending = 0;
        } else if (r == UTF8_INVALID) {
            /* The byte just added broke the sequence: replace what came before it and
             * look at that byte again as the start of something new. */
            *written += put_replacement(out + *written);
            stream->n_pending = 0;
            used--;
        }
    }
    return used;
}

size_t utf8_stream_feed(utf8_stream *stream, const char *bytes, size_t len, char *out)
{
    size_t written = 0;
    size_t pos = finish_pending(stream, bytes, len, out, &written);
    while (pos < len) {
        size_t seq_len;
        utf8_scan_result r = utf8_scan(bytes + pos, len - pos, &seq_len);
        if (r == UTF8_VALID) {
            memcpy(out + written, bytes + pos, seq_len);
            written += seq_len;
        } else if (r == UTF8_INVALID) {
            written += put_replacement(out + written);
        } else {
            memcpy(stream->pending, bytes + pos, seq_len);
            stream->n_pending = seq_len;
        }
        pos += seq_len;
    }
    return written;
}

size_t utf8_stream_flush(utf8_stream *stream, char *out)
{
    if (stream->n_pending == 0)
        return 0;
    stream->n_pending = 0;
    return put_replacement(out);
}
