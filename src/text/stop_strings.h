/* Finds stop strings in streamed text.
 *
 * The generator feeds decoded text piece by piece; the matcher hands back what is safe to
 * pass on now: everything except a tail that could still grow into a stop string. Once a
 * stop string occurs, the text before it is handed back, the stop string and anything
 * after it are dropped, and the matcher hands back nothing more. The occurrence that
 * counts is the one that ends first (on a tie, the longer stop), which is the one a
 * byte-by-byte stream would meet first, so the result does not depend on how the text is
 * split into pieces. Only a tail shorter than the longest stop string is held between
 * calls. */
#ifndef G4_TEXT_STOP_STRINGS_H
#define G4_TEXT_STOP_STRINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "g4.h"

typedef struct stop_matcher stop_matcher;

typedef struct stop_result {
    const char *emit; /* text safe to pass on now; valid until the matcher's next call */
    size_t emit_len;
    bool stopped;     /* a stop string has occurred (in this call or an earlier one) */
} stop_result;

/* Copies the stop strings; NULL and empty ones are ignored, and none at all is fine.
 * Returns NULL when out of memory. */
stop_matcher *stop_matcher_new(const char *const *stops, size_t n_stops);
void stop_matcher_free(stop_matcher *m);

/* Appends len bytes of text and reports what to emit. G4_ERR_NO_MEMORY when the text
 * cannot be buffered (nothing is consumed then, and res says emit nothing). */
g4_status stop_matcher_feed(stop_matcher *m, const char *text, size_t len, stop_result *res);

/* At the end of generation: hands back the held tail, which turned out not to be a stop.
 * The matcher is then empty and may be fed again. */
void stop_matcher_flush(stop_matcher *m, stop_result *res);

#endif
