#include "text/stop_strings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct stop_string {
    char *text;
    size_t len;
} stop_string;

struct stop_matcher {
    stop_string *stops;
    size_t n_stops;
    size_t longest;    /* length of the longest stop string */
    char *buf;         /* text handed back by the last call, then the held tail */
    size_t len;
    size_t cap;
    size_t handed_out; /* bytes at the front of buf the last call handed back */
    bool stopped;
};

static bool add_stop(stop_matcher *m, const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len);
    if (!copy)
        return false;
    memcpy(copy, text, len);
    m->stops[m->n_stops++] = (stop_string){copy, len};
    if (len > m->longest)
        m->longest = len;
    return true;
}

stop_matcher *stop_matcher_new(const char *const *stops, size_t n_stops)
{
    stop_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->stops = calloc(n_stops > 0 ? n_stops : 1, sizeof *m->stops);
    bool ok = m->stops != NULL;
    for (size_t i = 0; ok && i < n_stops; i++)
        if (stops[i] && stops[i][0] != '\0')
            ok = add_stop(m, stops[i]);
    /* Allocated up front so that emit is never NULL, even for an empty result. */
    m->cap = m->longest + 64;
    m->buf = ok ? malloc(m->cap) : NULL;
    if (!m->buf) {
        stop_matcher_free(m);
        return NULL;
    }
    return m;
}

void stop_matcher_free(stop_matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_stops; i++)
        free(m->stops[i].text);
    free(m->stops);
    free(m->buf);
    free(m);
}

/* The text handed back last time stayed valid until now; drop it. */
static void discard_handed_out(stop_matcher *m)
{
    if (m->handed_out == 0)
        return;
    memmove(m->buf, m->buf + m->handed_out, m->len - m->handed_out);
    m->len -= m->handed_out;
    m->handed_out = 0;
}

static bool reserve(stop_matcher *m, size_t extra)
{
    if (extra <= m->cap - m->len)
        return true;
    if (extra > SIZE_MAX / 2 - m->len)
        return false;
    size_t cap = m->cap * 2 > m->len + extra ? m->cap * 2 : m->len + extra;
    char *grown = realloc(m->buf, cap);
    if (!grown)
        return false;
    m->buf = grown;
    m->cap = cap;
    return true;
}

/* Hands back the first n bytes of the buffer. */
static void hand_out(stop_matcher *m, size_t n, stop_result *res)
{
    m->handed_out = n;
    *res = (stop_result){.emit = m->buf, .emit_len = n, .stopped = m->stopped};
}

/* The first occurrence of needle in haystack, if any. */
static bool find_bytes(const char *haystack, size_t haystack_len, const char *needle,
                       size_t needle_len, size_t *at)
{
    if (needle_len > haystack_len)
        return false;
    const char *last = haystack + (haystack_len - needle_len);
    for (const char *p = haystack; p <= last; p++) {
        p = memchr(p, needle[0], (size_t)(last - p) + 1);
        if (!p)
            return false;
        if (memcmp(p, needle, needle_len) == 0) {
            *at = (size_t)(p - haystack);
            return true;
        }
    }
    return false;
}

/* Where the stop that ends first begins (on a tie, the longer stop, which begins first). */
static bool find_first_stop(const stop_matcher *m, size_t *start)
{
    bool found = false;
    size_t best_start = 0, best_end = 0;
    for (size_t i = 0; i < m->n_stops; i++) {
        const stop_string *stop = &m->stops[i];
        size_t at;
        if (!find_bytes(m->buf, m->len, stop->text, stop->len, &at))
            continue;
        size_t end = at + stop->len;
        if (!found || end < best_end || (end == best_end && at < best_start)) {
            found = true;
            best_start = at;
            best_end = end;
        }
    }
    *start = best_start;
    return found;
}

/* The longest tail of the buffer that is the beginning of some stop (but not all of it):
 * it may still become a stop, so it is held back. */
static size_t held_tail_len(const stop_matcher *m)
{
    size_t tail = m->longest > 0 ? m->longest - 1 : 0;
    if (tail > m->len)
        tail = m->len;
    for (; tail > 0; tail--) {
        const char *suffix = m->buf + m->len - tail;
        for (size_t i = 0; i < m->n_stops; i++)
            if (m->stops[i].len > tail && memcmp(suffix, m->stops[i].text, tail) == 0)
                return tail;
    }
    return 0;
}

g4_status stop_matcher_feed(stop_matcher *m, const char *text, size_t len, stop_result *res)
{
    discard_handed_out(m);
    if (m->stopped || len == 0) {
        hand_out(m, 0, res);
        return G4_OK;
    }
    if (!reserve(m, len)) {
        hand_out(m, 0, res);
        return G4_ERR_NO_MEMORY;
    }
    memcpy(m->buf + m->len, text, len);
    m->len += len;
    size_t stop_start;
    if (find_first_stop(m, &stop_start)) {
        m->stopped = true;
        m->len = stop_start; /* the stop and what follows it are never emitted */
        hand_out(m, stop_start, res);
    } else {
        hand_out(m, m->len - held_tail_len(m), res);
    }
    return G4_OK;
}

void stop_matcher_flush(stop_matcher *m, stop_result *res)
{
    discard_handed_out(m);
    hand_out(m, m->len, res);
}
