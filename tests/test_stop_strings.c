#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "text/rng.h"
#include "text/stop_strings.h"

/* What a whole stream produced: everything emitted (flush included) and whether it stopped. */
typedef struct outcome {
    char *text;
    size_t len;
    bool stopped;
    bool consistent; /* every feed succeeded, nothing came after the stop, and less than
                      * the longest stop was ever held back */
} outcome;

static size_t longest_len(const char *const *stops, size_t n_stops)
{
    size_t longest = 0;
    for (size_t i = 0; i < n_stops; i++)
        if (stops[i] && strlen(stops[i]) > longest)
            longest = strlen(stops[i]);
    return longest;
}

static void collect(outcome *o, const stop_result *res, bool was_stopped)
{
    if (was_stopped && res->emit_len > 0)
        o->consistent = false;
    memcpy(o->text + o->len, res->emit, res->emit_len);
    o->len += res->emit_len;
    o->stopped = res->stopped;
}

/* Feeds text in pieces of the given lengths (cycled; {0} = all at once), then flushes. */
static outcome run_stream(const char *const *stops, size_t n_stops, const char *text,
                          size_t len, const size_t *piece_lens, size_t n_piece_lens)
{
    outcome o = {.text = malloc(len + 1), .consistent = true};
    stop_matcher *m = stop_matcher_new(stops, n_stops);
    CHECK(m != NULL && o.text != NULL);
    if (!m || !o.text)
        return o;
    size_t longest = longest_len(stops, n_stops);
    size_t fed = 0;
    for (size_t piece = 0; fed < len; piece++) {
        size_t n = piece_lens[piece % n_piece_lens];
        if (n == 0 || n > len - fed)
            n = len - fed;
        stop_result res;
        bool was_stopped = o.stopped;
        if (stop_matcher_feed(m, text + fed, n, &res) != G4_OK)
            o.consistent = false;
        fed += n;
        collect(&o, &res, was_stopped);
        if (!o.stopped && longest > 0 && fed - o.len >= longest)
            o.consistent = false;
        if (!o.stopped && longest == 0 && fed != o.len)
            o.consistent = false;
    }
    stop_result res;
    stop_matcher_flush(m, &res);
    collect(&o, &res, o.stopped);
    stop_matcher_free(m);
    o.text[o.len] = '\0';
    return o;
}

static bool outcome_is(outcome o, const char *expected, bool stopped)
{
    bool ok = o.text && o.consistent && o.stopped == stopped && o.len == strlen(expected) &&
              memcmp(o.text, expected, o.len) == 0;
    if (!ok)
        fprintf(stderr, "    got \"%s\" (stopped %d, consistent %d), expected \"%s\" (%d)\n",
                o.text ? o.text : "(null)", o.stopped, o.consistent, expected, stopped);
    free(o.text);
    return ok;
}

static const size_t whole[] = {0};
static const size_t bytes[] = {1};

static void test_stop_split_into_bytes(void)
{
    const char *stops[] = {"<end>"};
    const char *text = "hello <en<end>d> world";
    CHECK(outcome_is(run_stream(stops, 1, text, strlen(text), bytes, 1), "hello <en", true));
    CHECK(outcome_is(run_stream(stops, 1, text, strlen(text), whole, 1), "hello <en", true));
}

static void test_false_starts(void)
{
    const char *stops[] = {"abc"};
    const char *text = "abacaababc!";
    const size_t pieces[] = {2};
    CHECK(outcome_is(run_stream(stops, 1, text, strlen(text), pieces, 1), "abacaab", true));
    CHECK(outcome_is(run_stream(stops, 1, text, strlen(text), bytes, 1), "abacaab", true));

    /* "ab" is held until "ac" shows it was no stop. */
    stop_matcher *m = stop_matcher_new(stops, 1);
    stop_result res;
    CHECK(stop_matcher_feed(m, "xab", 3, &res) == G4_OK);
    CHECK(res.emit_len == 1 && memcmp(res.emit, "x", 1) == 0 && !res.stopped);
    CHECK(stop_matcher_feed(m, "ac", 2, &res) == G4_OK);
    CHECK(res.emit_len == 4 && memcmp(res.emit, "abac", 4) == 0 && !res.stopped);
    stop_matcher_free(m);
}

static void test_stops_sharing_prefixes(void)
{
    const char *prefix_pair[] = {"abc", "ab"};
    const char *text = "xxabcyy";
    CHECK(outcome_is(run_stream(prefix_pair, 2, text, strlen(text), bytes, 1), "xx", true));
    CHECK(outcome_is(run_stream(prefix_pair, 2, text, strlen(text), whole, 1), "xx", true));

    /* "bc" ends before "abcd" does, so it wins however the text is split. */
    const char *nested[] = {"abcd", "bc"};
    CHECK(outcome_is(run_stream(nested, 2, "zabcd", 5, bytes, 1), "za", true));
    CHECK(outcome_is(run_stream(nested, 2, "zabcd", 5, whole, 1), "za", true));

    const char *siblings[] = {"abc", "abd"};
    CHECK(outcome_is(run_stream(siblings, 2, "ababd", 5, bytes, 1), "ab", true));
}

static void test_stop_at_start(void)
{
    const char *stops[] = {"STOP"};
    CHECK(outcome_is(run_stream(stops, 1, "STOP and more", 13, bytes, 1), "", true));
    CHECK(outcome_is(run_stream(stops, 1, "STOP and more", 13, whole, 1), "", true));
}

static void test_no_stops(void)
{
    const char *text = "nothing stops this";
    CHECK(outcome_is(run_stream(NULL, 0, text, strlen(text), bytes, 1), text, false));
    const char *empty_ones[] = {"", NULL};
    CHECK(outcome_is(run_stream(empty_ones, 2, text, strlen(text), bytes, 1), text, false));
}

static void test_flush_hands_back_held_tail(void)
{
    const char *stops[] = {"<end>"};
    stop_matcher *m = stop_matcher_new(stops, 1);
    stop_result res;
    CHECK(stop_matcher_feed(m, "bye <en", 7, &res) == G4_OK);
    CHECK(res.emit_len == 4 && memcmp(res.emit, "bye ", 4) == 0);
    stop_matcher_flush(m, &res);
    CHECK(res.emit_len == 3 && memcmp(res.emit, "<en", 3) == 0 && !res.stopped);
    stop_matcher_flush(m, &res);
    CHECK(res.emit_len == 0);
    /* A flushed matcher starts afresh. */
    CHECK(stop_matcher_feed(m, "d><end>", 7, &res) == G4_OK);
    CHECK(res.emit_len == 2 && memcmp(res.emit, "d>", 2) == 0 && res.stopped);
    stop_matcher_free(m);
}

static void test_nothing_after_stop(void)
{
    const char *stops[] = {"."};
    stop_matcher *m = stop_matcher_new(stops, 1);
    stop_result res;
    CHECK(stop_matcher_feed(m, "one. two", 8, &res) == G4_OK);
    CHECK(res.stopped && res.emit_len == 3 && memcmp(res.emit, "one", 3) == 0);
    CHECK(stop_matcher_feed(m, "three", 5, &res) == G4_OK);
    CHECK(res.stopped && res.emit_len == 0);
    stop_matcher_flush(m, &res);
    CHECK(res.stopped && res.emit_len == 0);
    stop_matcher_free(m);
}

static void test_long_stream(void)
{
    size_t len = 1u << 20;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++)
        text[i] = "</answer"[i % 8]; /* always almost the stop, never all of it */
    const char *stops[] = {"</answer>", "<|end|>"};
    const size_t pieces[] = {3, 1, 7, 4096, 2};
    outcome o = run_stream(stops, 2, text, len, pieces, 5);
    CHECK(o.consistent && !o.stopped && o.len == len && memcmp(o.text, text, len) == 0);
    free(o.text);
    free(text);
}

/* The stop a byte-by-byte reader meets first: the earliest end, then the earliest start. */
static size_t reference_emit_len(const char *const *stops, size_t n_stops, const char *text,
                                 size_t len, bool *stopped)
{
    for (size_t end = 1; end <= len; end++) {
        size_t start = end;
        for (size_t i = 0; i < n_stops; i++) {
            size_t n = strlen(stops[i]);
            if (n <= end && n > 0 && memcmp(text + end - n, stops[i], n) == 0 && end - n < start)
                start = end - n;
        }
        if (start < end) {
            *stopped = true;
            return start;
        }
    }
    *stopped = false;
    return len;
}

/* Random text over a tiny alphabet, so that partial and overlapping matches abound. */
static void test_any_split_matches_reference(void)
{
    const char *stops[] = {"abca", "cc", "bab", "aaab"};
    g4_rng rng;
    g4_rng_seed(&rng, 7);
    for (int round = 0; round < 300; round++) {
        char text[64];
        size_t len = 1 + g4_rng_next(&rng) % (sizeof text - 1);
        for (size_t i = 0; i < len; i++)
            text[i] = "abc"[g4_rng_next(&rng) % 3];
        size_t n_stops = 1 + (size_t)round % 4;
        bool stopped;
        size_t expected_len = reference_emit_len(stops, n_stops, text, len, &stopped);
        char expected[64];
        memcpy(expected, text, expected_len);
        expected[expected_len] = '\0';
        size_t pieces[4];
        for (int i = 0; i < 4; i++)
            pieces[i] = 1 + g4_rng_next(&rng) % 5;
        CHECK(outcome_is(run_stream(stops, n_stops, text, len, pieces, 4), expected, stopped));
        CHECK(outcome_is(run_stream(stops, n_stops, text, len, bytes, 1), expected, stopped));
        CHECK(outcome_is(run_stream(stops, n_stops, text, len, whole, 1), expected, stopped));
    }
}

int main(void)
{
    test_stop_split_into_bytes();
    test_false_starts();
    test_stops_sharing_prefixes();
    test_stop_at_start();
    test_no_stops();
    test_flush_hands_back_held_tail();
    test_nothing_after_stop();
    test_long_stream();
    test_any_split_matches_reference();
    return test_finish("test_stop_strings");
}
